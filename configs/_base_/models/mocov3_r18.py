"""MoCo-v3 with a ResNet-18 (CLP), as the ICLR-22 code builds it.

Published model (``configs/wsi_selfsup/moco_v3/*`` and
``openselfsup/models/{moco_v3,necks}.py`` of
TencentAILabHealthcare/Few-shot-WSI):

- ResNet-18 with plain BatchNorm (per GPU: 32 images), PyTorch's default
  initialisation (the published ``MOCOv3`` never calls ``init_weights``),
  no zero-initialised residual BatchNorm;
- projector 512-1024-1024-256 (3 layers) and predictor 256-1024-256 (2 layers),
  ``NonLinearNeckSimCLR``: linear layers without bias, a BatchNorm after
  every linear layer *including the last of both*, affine; SyncBN across
  GPUs (statistics over the whole batch);
- loss ``2T * CE(q @ k.T / T)`` per GPU over its 32 images, keys not
  gathered, temperature 1, summed over both view orders;
- key encoder momentum 0.996 rising to 1 along a cosine over iterations: in
  mmpretrain's CosineEMA convention (weight of the *new* parameters) that
  is ``base_momentum=0.004`` falling to 0.

``group_size`` (32, the published images per GPU) is the group of the
contrastive loss (:class:`openselfsup.models.GroupMoCoV3Head`) and of the
backbone's BatchNorm statistics (:class:`openselfsup.models.GhostBatchNorm2d`),
so one GPU with the total batch of 256 reproduces the eight published ones.
``--cfg-options model.head.group_size=None`` gives mmpretrain's gathered
loss instead.
"""
temperature = 1.0
group_size = 32
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
        norm_cfg=dict(type='GhostBN', group_size=group_size),
        zero_init_residual=False,
        init_cfg=None),
    neck=dict(
        type='NonLinearNeck',
        in_channels=512,
        hid_channels=1024,
        out_channels=256,
        num_layers=3,
        with_bias=False,
        with_last_bn=True,
        with_last_bn_affine=True,
        with_last_bias=False,
        with_avg_pool=True,
        norm_cfg=dict(type='SyncBN')),
    head=dict(
        type='GroupMoCoV3Head',
        group_size=group_size,
        predictor=dict(
            type='NonLinearNeck',
            in_channels=256,
            hid_channels=1024,
            out_channels=256,
            num_layers=2,
            with_bias=False,
            with_last_bn=True,
            with_last_bn_affine=True,
            with_last_bias=False,
            with_avg_pool=False,
            norm_cfg=dict(type='SyncBN')),
        loss=dict(type='CrossEntropyLoss', loss_weight=2 * temperature),
        temperature=temperature))
