"""CLP: MoCo-v3 ResNet-18 on all nine NCT-CRC-HE-100K classes.

200 epochs, total batch 256 (per-GPU batch = 256 / number of GPUs),
LARS lr 0.3 with a cosine schedule. The ``wo_<c>`` configs beside this one
change only the list file (class ``c`` held out as the novel class).
"""
_base_ = [
    '../../_base_/models/mocov3_r18.py',
    '../../_base_/datasets/nct_selfsup_2view.py',
    '../../_base_/schedules/lars_coslr_200e.py',
    '../../_base_/default_runtime.py',
]
