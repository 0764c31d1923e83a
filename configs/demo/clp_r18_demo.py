"""CLP demo: the MoCo-v3 recipe of
``wsi_selfsup/moco_v3/r18_bs256_ep200_all.py`` shrunk to pre-train on a CPU
in a couple of minutes (the quick start's 64 px synthetic NCT: 540 images,
16 steps of 32 per epoch; a 2-epoch run measured 0.2-0.25 s per step on 2
CPU cores).

What is shrunk, everything else is the full recipe:

- images: 64 px crops (RandomResizedCrop 64) instead of 224;
- network: ResNet-18 with ``base_channels=16`` (widths 16-32-64-128 instead
  of 64-128-256-512), projector 128-256-64 (3 layers), predictor 64-256-64;
- total batch 32 instead of 256; LARS lr 0.6 (the demo's short schedule
  needs a larger step), cosine over 15 epochs instead of 200;
- 2 data-loading workers, checkpoint every 5 epochs.
"""
_base_ = '../wsi_selfsup/moco_v3/r18_bs256_ep200_all.py'

crop_size = 64
total_batch_size = 32
max_epochs = 15

model = dict(
    backbone=dict(base_channels=16, stem_channels=16),
    neck=dict(in_channels=128, hid_channels=256, out_channels=64),
    head=dict(predictor=dict(in_channels=64, hid_channels=256,
                             out_channels=64)))

view_pipeline = [
    dict(type='RandomResizedCrop', scale=crop_size,
         crop_ratio_range=(0.2, 1.), backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomApply',
         transforms=[dict(type='HueWrapColorJitter', brightness=0.4, contrast=0.4,
                          saturation=0.4, hue=0.4)],
         prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.2989)),
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0),
         magnitude_std='inf', prob=0.5),
    dict(type='Solarize', thr=128, prob=0.2),
]
train_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
    dict(type='PackInputs'),
]
train_dataloader = dict(
    batch_size=total_batch_size,
    num_workers=2,
    pin_memory=False,
    dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(optimizer=dict(lr=0.6))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True, begin=0,
         end=max_epochs, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=5),
                     checkpoint=dict(interval=5))
