"""LARS (lr 0.3, wd 1.5e-6, momentum 0.9) over every parameter, cosine
over 200 epochs, as the ICLR-22 CLP configs.

Published behaviour (OpenSelfSup v0.3 ``LARS``, ``lr_config =
dict(policy='CosineAnnealing', min_lr=0.)``, no ``paramwise_options``):

- one parameter group: BatchNorm and bias parameters get weight decay and
  LARS adaptation like every other parameter;
- the local learning rate of a parameter whose norm is 0 is 0, so every
  BatchNorm shift (zero at initialisation) stays at 0: ``OpenSelfSupLARS``
  (mmpretrain's ``LARS`` would give it the full learning rate instead);
- LARS coefficient eta 0.001, no warm-up;
- the cosine is stepped once per epoch (mmcv's ``by_epoch`` default), to 0.
"""
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='OpenSelfSupLARS', lr=0.3, weight_decay=1.5e-6,
                   momentum=0.9, eta=0.001))

max_epochs = 200
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0.,
         by_epoch=True, begin=0, end=max_epochs),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)

# GPU speed (openselfsup.apis.fast_path): 'auto' = bfloat16 autocast and
# channels-last on a GPU, float32 / default layout on the CPU. The published
# runs were float32: amp='off' channels_last=False.
amp = 'auto'
channels_last = 'auto'
# True, the name of a torch.compile mode (on the command line:
# --cfg-options compile_encoders=max-autotune-no-cudagraphs) or a dict of
# torch.compile arguments (in a child config:
# compile_encoders = dict(_delete_=True, mode=...)): the forward of the
# backbone and neck (and of a momentum encoder's) through torch.compile,
# compiled at the first steps; not measured on a GPU yet, see
# docs/pretraining.md.
compile_encoders = False
