# Small, CPU-sized version of configs/balance/balance_vit_captions.py on the
# synthetic captioned images of
#   python tools/prepare_data/make_crossmodal.py --out data/balance
# The published recipe (CLIP-InfoNCE + BCE, AdamW, wd 1e-3, the class token
# feeding head and alignment, lower blocks frozen) on a 4-block, 48-wide timm
# ViT on 32 px images at random initialisation (no checkpoint, first block
# frozen), a hashed bag-of-words caption embedding of the ViT width (48-d:
# no projection, no download), batch 32, lr 1e-3, no early stopping.
_base_ = ['../balance/balance_vit_captions.py']

data_root = 'data/balance/images'
num_classes = 6
model = dict(
    backbone=dict(checkpoint=None, frozen_blocks=1, img_size=32,
                  patch_size=8, embed_dim=48, depth=4, num_heads=3),
    head=dict(in_channels=48, num_outputs=num_classes),
    text_encoder=dict(_delete_=True, type='HashedBagOfWords', dim=48))
meta_keys = ('sample_idx', 'img_id', 'captions')
train_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow',
         color_type='color_ignore_orientation'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=('target', ), meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow',
         color_type='color_ignore_orientation'),
    dict(type='PackInputs', algorithm_keys=('target', ), meta_keys=meta_keys),
]
dataset = dict(classes='classes.txt', filename_tmpl='{}', img_suffix='.png',
               data_root=data_root, data_prefix=dict(img_path='images'))
train_dataloader = dict(
    batch_size=32, num_workers=0, persistent_workers=False,
    dataset=dict(**dataset, ann_file='train.json', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=0, persistent_workers=False,
    dataset=dict(**dataset, ann_file='val.json', pipeline=test_pipeline))
test_dataloader = val_dataloader
# the demo's lr goes with its batch of 32 (--auto-scale-lr; the captions
# config's base is its 64)
auto_scale_lr = dict(base_batch_size=32)
optim_wrapper = dict(optimizer=dict(lr=1e-3))
max_epochs = 4
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
custom_hooks = [dict(type='ValidateBeforeTrainHook'),
                dict(type='NegativeTextPoolHook')]
default_hooks = dict(logger=dict(interval=5))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(vis_backends=vis_backends)
sweep = dict(baseline_epochs=8)
