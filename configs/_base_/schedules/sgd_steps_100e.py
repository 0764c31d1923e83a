"""SGD (lr 0.5, momentum 0.9, wd 1e-4), x0.1 at epochs 30/60/90, 100 epochs."""
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=1e-4))

max_epochs = 100
param_scheduler = [
    dict(type='MultiStepLR', by_epoch=True, milestones=[30, 60, 90],
         gamma=0.1),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
