"""MoCo-v3 with a ResNet-18 (CLP), mmpretrain's MoCoV3 + MoCoV3Head.

Projector 512-1024-256 (3 layers), predictor 256-1024-256 (2 layers),
temperature 1. Key-encoder momentum 0.996 rising to 1 along a cosine: in
mmpretrain's CosineEMA convention (weight of the *new* parameters) that is
``base_momentum=0.004`` falling to ``end_momentum=0``.
"""
temperature = 1.0
model = dict(
    type='MoCoV3',
    base_momentum=0.004,
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=18,
        norm_cfg=dict(type='BN'),
        zero_init_residual=False),
    neck=dict(
        type='NonLinearNeck',
        in_channels=512,
        hid_channels=1024,
        out_channels=256,
        num_layers=3,
        with_bias=False,
        with_last_bn=True,
        with_last_bn_affine=False,
        with_last_bias=False,
        with_avg_pool=True),
    head=dict(
        type='MoCoV3Head',
        predictor=dict(
            type='NonLinearNeck',
            in_channels=256,
            hid_channels=1024,
            out_channels=256,
            num_layers=2,
            with_bias=False,
            with_last_bn=False,
            with_last_bn_affine=False,
            with_last_bias=False,
            with_avg_pool=False),
        loss=dict(type='CrossEntropyLoss', loss_weight=2 * temperature),
        temperature=temperature))

# BN -> SyncBN when launched on several GPUs (projector statistics over the
# whole batch, as MoCo-v3 needs); plain BN on one process.
sync_bn = 'torch'
