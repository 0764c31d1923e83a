# Small, CPU-sized version of configs/balance/balance_hlgs_isup.py on the
# synthetic slides of
#   python tools/prepare_data/make_crossmodal.py --out data/balance
# 32-d region features, 1-layer 32-wide transformers, hashed bag-of-words
# report embedding (no download).
_base_ = ['../balance/balance_hlgs_isup.py']

data_root = 'data/balance/slides'
feat_dim = 32
model = dict(
    backbone=dict(in_channels=feat_dim, embed_dims=32, region_layers=1,
                  slide_layers=1, num_heads=2, attn_hidden=16, dropout=0.0),
    head=dict(in_channels=32),
    text_encoder=dict(_delete_=True, type='HashedBagOfWords', dim=64,
                      bigrams=True))
train_dataloader = dict(
    batch_size=16, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, feat_dim=feat_dim))
val_dataloader = dict(
    batch_size=32, num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, feat_dim=feat_dim))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=1e-3))
max_epochs = 6
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True,
                        T_max=max_epochs, convert_to_iter_based=True)]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(logger=dict(interval=5))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(vis_backends=vis_backends)
sweep = dict(baseline_epochs=10, cls_metric='kappa', ret_metric='ret_kappa')
