"""SGD (lr 0.5, momentum 0.9, weight decay 0), x0.1 at epochs 30/60/90, 100
epochs, as the ICLR-22 FSP configs (``optimizer = dict(type='SGD', lr=0.5,
momentum=0.9, weight_decay=0.)``, ``lr_config = dict(policy='step',
step=[30, 60, 90])``)."""
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=0.))

max_epochs = 100
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60, 90],
         gamma=0.1),
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
