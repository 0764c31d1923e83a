"""FSP demo: the supervised recipe of
``classification/nct/r18_bs512_ep100_all.py`` shrunk to train on a CPU in
a minute or two (the quick start's 64 px synthetic NCT).

What is shrunk, everything else is the full recipe:

- images: 64 px crops (RandomResizedCrop 64) instead of 224;
- network: ResNet-18 with ``base_channels=16`` (128-d features instead of
  512), same GAP + linear head over the 9 NCT classes;
- total batch 32 instead of 512, so the backbone's BatchNorm statistics
  are over one group of 32 images, not 128 (``bn_group_size`` stays 128;
  the run's log says so); SGD lr 0.05 (instead of 0.5, for the smaller
  batch), steps at epochs 6/8/9 of 10 instead of 30/60/90 of 100;
- 2 data-loading workers, checkpoint every 5 epochs.
"""
_base_ = '../classification/nct/r18_bs512_ep100_all.py'

crop_size = 64
total_batch_size = 32
max_epochs = 10

model = dict(
    backbone=dict(base_channels=16, stem_channels=16),
    head=dict(in_channels=128))

# the recipe's pipeline at the demo's crop size
train_pipeline = _base_.train_pipeline
train_pipeline[1].scale = crop_size
train_dataloader = dict(
    batch_size=total_batch_size,
    num_workers=2,
    pin_memory=False,
    dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[6, 8, 9], gamma=0.1),
]
train_cfg = dict(max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=5),
                     checkpoint=dict(interval=5))
