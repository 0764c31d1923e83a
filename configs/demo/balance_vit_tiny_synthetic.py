# Small, CPU-sized version of configs/balance/balance_vit_captions.py on the
# synthetic captioned images of
#   python tools/prepare_data/make_crossmodal.py --out data/balance
# A 2-layer, 32-wide ViT on 32 px images; hashed bag-of-words text embedding
# (no download).
_base_ = ['../balance/balance_vit_captions.py']

data_root = 'data/balance/images'
num_classes = 6
model = dict(
    backbone=dict(_delete_=True, type='VisionTransformer',
                  arch=dict(embed_dims=32, num_layers=2, num_heads=2,
                            feedforward_channels=64),
                  img_size=32, patch_size=8, out_type='cls_token'),
    head=dict(in_channels=32, num_outputs=num_classes),
    text_encoder=dict(_delete_=True, type='HashedBagOfWords', dim=64))
meta_keys = ('sample_idx', 'img_id', 'captions')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=('target', ), meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='PackInputs', algorithm_keys=('target', ), meta_keys=meta_keys),
]
train_dataloader = dict(
    batch_size=32, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=0.01))
max_epochs = 4
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True,
                        T_max=max_epochs, convert_to_iter_based=True)]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(logger=dict(interval=5))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(vis_backends=vis_backends)
sweep = dict(baseline_epochs=8, cls_metric='mAP', ret_metric='i2t_R@5')
