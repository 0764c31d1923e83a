"""Supervised ResNet-18 (FSP), as the ICLR-22 code builds it.

Published model (``configs/classification/nct/*``, OpenSelfSup
``Classification`` + ``ClsHead``): ResNet-18, global average pooling, one
linear layer over the 9 NCT classes, cross-entropy. Initialisation: Kaiming
normal (``mode='fan_in'``) for convolutions, BatchNorm weight 1 and bias 0,
**no zero-initialised residual BatchNorm** (mmpretrain's ResNet default is
True), linear layer normal with std 0.01. Plain BatchNorm per GPU over 128
images (4 GPUs x 128 = 512): ``bn_group_size`` reproduces that on fewer
GPUs (:class:`openselfsup.models.GhostBatchNorm2d`).
"""
bn_group_size = 128
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        num_classes=9,
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet', depth=18, num_stages=4, out_indices=(3, ),
        style='pytorch', zero_init_residual=False,
        norm_cfg=dict(type='GhostBN', group_size=bn_group_size),
        init_cfg=[
            dict(type='Kaiming', layer=['Conv2d'], mode='fan_in',
                 nonlinearity='relu', distribution='normal'),
            dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']),
        ]),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=9,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, ),
        init_cfg=dict(type='Normal', layer='Linear', std=0.01, bias=0.)))
