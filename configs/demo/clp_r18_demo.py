"""CLP demo: the MoCo-v3 recipe of
``wsi_selfsup/moco_v3/r18_bs256_ep200_all.py`` shrunk to pre-train on a CPU
in a couple of minutes (the quick start's 64 px synthetic NCT: 540 images,
16 steps of 32 per epoch; a 2-epoch run measured 0.2-0.25 s per step on 2
CPU cores).

What is shrunk, everything else is the full recipe:

- images: 64 px crops (RandomResizedCrop 64) instead of 224;
- network: ResNet-18 with ``base_channels=16`` (widths 16-32-64-128 instead
  of 64-128-256-512), projector 128-256-256-64 (3 layers), predictor 64-256-64;
- total batch 32 instead of 256 (one contrastive and BatchNorm group of
  32, as one GPU of the published run); LARS lr 0.6 (the demo's short
  schedule needs a larger step), cosine over 15 epochs instead of 200;
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

# the paper's views (and the base's pipeline), at the demo's crop size
view_pipeline = _base_.view_pipeline
view_pipeline[0].scale = crop_size
train_pipeline = _base_.train_pipeline
train_pipeline[1].transforms = [view_pipeline]
train_dataloader = dict(
    batch_size=total_batch_size,
    num_workers=2,
    pin_memory=False,
    dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(optimizer=dict(lr=0.6))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.,
         by_epoch=True, begin=0, end=max_epochs),
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=5),
                     checkpoint=dict(interval=5))
