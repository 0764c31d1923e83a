"""FSP: supervised ResNet-18 on all nine NCT-CRC-HE-100K classes.

100 epochs, total batch 512 (per-GPU batch = 512 / number of GPUs), SGD
lr 0.5 momentum 0.9, x0.1 at epochs 30, 60 and 90. The ``wo_<c>`` configs
beside this one change only the list file; those lists keep the original
labels, so the classifier keeps nine outputs.
"""
_base_ = [
    '../../_base_/models/r18_linear_cls.py',
    '../../_base_/datasets/nct_supervised.py',
    '../../_base_/schedules/sgd_steps_100e.py',
    '../../_base_/default_runtime.py',
]
