# Balanced cross-modal tuning, slides (ISUP grade 0-5) with reports.
#
# A hierarchical local-global slide model (region transformer, slide
# transformer, gated attention pooling) on precomputed region features
# [M, 64, D] (one <case_id>.pt per case) with a regression head on the grade,
# tuned toward a frozen text encoder of the pathology reports:
#     L = balance * L_contrastive + (1 - balance) * MSE(grade / 5)
# L_contrastive is CLIP-InfoNCE here; the triplet variant (margin 2, negative
# = the report of a case with another grade) is
#     contrastive_loss=dict(type='CrossModalTripletLoss', margin=2.0)
# Data: {case_id: {"label": grade, "report": text}} and features/.
#
# ---- runtime: configs/_base_/balance_runtime.py ------------------------
_base_ = ['../_base_/balance_runtime.py']

# ---- model ----------------------------------------------------------------
feat_dim = 768          # width of the precomputed patch features
model = dict(
    type='BalancedCrossModal',
    balance=0.5,
    backbone=dict(type='LocalGlobalSlideTransformer', in_channels=feat_dim,
                  embed_dims=192, patches_per_region=64, region_layers=2,
                  slide_layers=2, num_heads=4, attn_hidden=128, dropout=0.1),
    head=dict(type='LinearTaskHead', in_channels=192, num_outputs=1,
              activation='identity', output_scale=5.0,
              loss=dict(type='GradeMSELoss', scale=5.0)),
    text_encoder=dict(type='SentenceTransformerText'),
    contrastive_loss=dict(type='CLIPInfoNCELoss', temperature=0.07),
    data_preprocessor=dict(type='BaseDataPreprocessor'))

# ---- data -----------------------------------------------------------------
data_root = 'data/balance/slides'
pipeline = [
    dict(type='LoadRegionFeatures'),
    dict(type='PackInputs', input_key='feats', algorithm_keys=('target', ),
         meta_keys=('sample_idx', 'case_id', 'captions')),
]
dataset = dict(type='SlideReports', data_root=data_root, feat_dim=feat_dim,
               patches_per_region=64, num_grades=6,
               data_prefix=dict(feat_path='features'), pipeline=pipeline)
train_dataloader = dict(
    batch_size=16, num_workers=2, persistent_workers=True, drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**dataset, ann_file='train.json'))
val_dataloader = dict(
    batch_size=32, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**dataset, ann_file='val.json'))
val_evaluator = dict(type='CrossModalMetric', task='grade', num_grades=6,
                     ks=(1, 5, 10))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# ---- schedule -------------------------------------------------------------
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-4, weight_decay=0.01),
    accumulative_counts=1)
max_epochs = 20
param_scheduler = [dict(type='CosineAnnealingLR', by_epoch=True,
                        T_max=max_epochs, convert_to_iter_based=True)]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs,
                 val_interval=max_epochs)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=16, enable=False)

sweep = dict(baseline_epochs=20, cls_metric='kappa', ret_metric='ret_kappa')
