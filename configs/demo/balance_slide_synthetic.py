# Small, CPU-sized version of configs/balance/balance_hipt_isup.py on the
# synthetic slides of
#   python tools/prepare_data/make_crossmodal.py --out data/balance
# The published recipe (triplet + MSE on the raw grade, batch 1 with 16-step
# accumulation, AdamW) on a 32/32/48-wide local-global HIPT at random
# initialisation (no checkpoint), a hashed bag-of-words report embedding of
# the slide width (48-d: no projection, no download), and a learning rate of
# 1e-3 instead of 1e-5 so that a few CPU epochs move the model.
_base_ = ['../balance/balance_hipt_isup.py']

data_root = 'data/balance/slides'
feat_dim = 32
model = dict(
    backbone=dict(embed_dim_patch=feat_dim, embed_dim_region=32,
                  embed_dim_slide=48, region_depth=2, region_heads=2,
                  dropout=0.1, checkpoint=None),
    head=dict(in_channels=48),
    text_encoder=dict(_delete_=True, type='HashedBagOfWords', dim=48,
                      bigrams=True))
train_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, feat_dim=feat_dim))
val_dataloader = dict(
    num_workers=0, persistent_workers=False,
    dataset=dict(data_root=data_root, feat_dim=feat_dim))
test_dataloader = val_dataloader
optim_wrapper = dict(optimizer=dict(lr=1e-3))
max_epochs = 6
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(logger=dict(interval=40))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(vis_backends=vis_backends)
sweep = dict(baseline_epochs=10)
