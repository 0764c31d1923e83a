# HLSS (Watawana et al., MICCAI 2024) as published (github.com/Hasindri/HLSS:
# train_hlss_KL.py with config/train_hlss_attr3levels.yaml) on OpenSRH.
#
# Model: the image tower of open_clip's CLIP RN50-quickgelu (CC12M weights),
# normalised 1024-d embedding = the kNN feature; three heads Linear(1024, 128),
# one per level, whose rows start as the CLIP text embeddings of the level's
# 128 attributes (zero bias); the frozen CLIP text tower embeds them once at
# build time. HiDisc loss (SupCon, T = 0.07) at patient, slide and patch
# level; the text-alignment KL logged, not trained.
# Data: 32 patients x 2 slides x 2 patches x 2 views per batch, patients
# balanced per class, SRH patches resized to 224 x 224, values in [0, 1]
# (no mean / std), the HiDisc augmentations (p = 0.5 each).
# Schedule: AdamW lr 1e-3 (torch defaults otherwise), 40000 epochs, linear
# warm-up over the first 10% of the steps, then half a cosine to 0.
#
# Weights: as published, both towers start from open_clip's RN50-quickgelu
# CC12M checkpoint, read from checkpoints/rn50-quickgelu-cc12m-f000538c.pt
# (download it there, or point both at another copy:
#   --cfg-options model.backbone.pretrained=P model.text_encoder.pretrained=P
# ); a missing file stops the run with one line. pretrained=None (both keys)
# starts the towers at random initialisation (one warning line), as the demo.
# Data: data_root = the OpenSRH release (meta/opensrh.json,
# meta/train_val_split.json, the patches); or layout='metadata' with a
# metadata.json / split.json pair (see docs/hlss.md).
_base_ = ['../_base_/default_runtime.py', '../_base_/hlss_attributes.py']

data_root = 'data/opensrh'
layout = 'opensrh'
loader = dict(type='LoadHistoPatch', mode='srh')  # mode='rgb' for H&E
clip = dict(model_name='RN50-quickgelu',
            pretrained='checkpoints/rn50-quickgelu-cc12m-f000538c.pt',
            model_cfg=dict())
embed_dim = 1024
image_size = 224  # SRH patches (300 px) are resized to this, as published

train_pipeline = [
    loader,
    dict(type='ToUnitTensor', size=image_size),
    dict(type='MultiView', num_views=2,  # V = 2
         transforms=[[dict(type='HiDiscAugment', crop_size=image_size)]]),
    dict(type='PackInputs'),
]
eval_pipeline = [loader, dict(type='ToUnitTensor', size=image_size),
                 dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=32,  # patients per GPU, as published
    num_workers=8,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(type='HierarchicalPatientDataset', data_root=data_root,
                 layout=layout, split_name='train', num_slides=2,
                 num_patches=2, class_balance=True,
                 pipeline=train_pipeline))

knn_eval = dict(
    bank=dict(type='HierarchicalPatchDataset', data_root=data_root,
              layout=layout, split_name='train', pipeline=eval_pipeline),
    query=dict(type='HierarchicalPatchDataset', data_root=data_root,
               layout=layout, split_name='val', pipeline=eval_pipeline),
    k=200, temperature=0.07, aggregation='l1_softmax', batch_size=128,
    num_workers=8)

model = dict(
    type='HLSS',
    data_preprocessor=dict(type='SelfSupDataPreprocessor'),  # no mean / std
    backbone=dict(type='OpenCLIPImageTower', **clip),
    text_encoder=dict(type='OpenCLIPText', **clip),
    # embeddings_file: a precomputed [128, 1024] .npy per level (see
    # tools/make_attribute_embeddings.py) instead of the text tower
    heads=dict(
        patient=dict(type='TextInitHead', in_channels=embed_dim,
                     attributes={{_base_.patient_attributes}},
                     embeddings_file=None, align_mode='log'),
        slide=dict(type='TextInitHead', in_channels=embed_dim,
                   attributes={{_base_.slide_attributes}},
                   embeddings_file=None, align_mode='log'),
        patch=dict(type='TextInitHead', in_channels=embed_dim,
                   attributes={{_base_.patch_attributes}},
                   embeddings_file=None, align_mode='log')),
    loss=dict(type='HiDiscLoss', temperature=0.07,
              weights=dict(patient=1.0, slide=1.0, patch=1.0)))

max_epochs = 40000
warmup_epochs = 4000  # 10% of the steps
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.01))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-6, by_epoch=True, begin=0,
         end=warmup_epochs, convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs,
         eta_min=0, by_epoch=True, begin=warmup_epochs, end=max_epochs,
         convert_to_iter_based=True),
]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(logger=dict(interval=10),
                     checkpoint=dict(interval=400))  # every 400 epochs
auto_scale_lr = dict(base_batch_size=32, enable=False)

# kNN during training (not in the published run, which evaluates saved
# checkpoints): every 5000 iterations and after the last
custom_hooks = [dict(type='KNNEvalHook', interval=5000, **knn_eval)]
