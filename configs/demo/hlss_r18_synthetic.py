# HLSS demo: trains on CPU in a minute or two on the synthetic hierarchical
# data (32 px), then kNN evaluation. Make the data first:
#   python tools/prepare_data/make_synthetic_hierarchical.py --out data/hier32 --size 32
# Tiny ResNet-18 (base width 8, feature 64); text from the shared
# deterministic hashed bag-of-words encoder (width 32), so no download.
_base_ = ['../hlss/hlss_r50_b32p_hierarchical.py']

data_root = 'data/hier32'
metadata = f'{data_root}/metadata.json'
split = f'{data_root}/split.json'
loader = dict(type='LoadHistoPatch', mode='rgb')
view = [
    dict(type='RandomResizedCrop', scale=32, crop_ratio_range=(0.4, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomFlip', prob=0.5, direction='vertical'),
    # stain augmentation: without it the patient / slide losses are solved
    # by the synthetic stain shifts alone (no hue: mmcv-lite 2.2 adjust_hue
    # overflows uint8 under numpy 2)
    dict(type='RandomApply',
         transforms=[dict(type='ColorJitter', brightness=0.4, contrast=0.4,
                          saturation=0.4)], prob=0.8),
    dict(type='RandomGrayscale', prob=0.2, keep_channels=True),
]
train_pipeline = [loader, dict(type='MultiView', num_views=2,
                               transforms=[view]),
                  dict(type='PackInputs')]
eval_pipeline = [loader, dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=6, num_workers=0, persistent_workers=False,
    dataset=dict(metadata=metadata, split=split, class_balance=True,
                 pipeline=train_pipeline))
knn_eval = dict(
    bank=dict(type='HierarchicalPatchDataset', metadata=metadata,
              split=split, split_name='train', pipeline=eval_pipeline),
    query=dict(type='HierarchicalPatchDataset', metadata=metadata,
               split=split, split_name='val', pipeline=eval_pipeline),
    # k=200 in the paper config; the demo bank holds only ~150 patches, so
    # k=200 would vote with the whole bank
    k=20, temperature=0.07, batch_size=64, num_workers=0)

text_encoder = dict(type='HashedBagOfWords', dim=32)
# backbone feature 64 -> Linear(64, 32) + ReLU -> attribute layer [K, 32]
# (embeddings_file=None: set it to a precomputed [8, 32] .npy per level to
# skip the encoder)
head = dict(in_channels=64, text_width=32, encoder=text_encoder,
            embeddings_file=None)
model = dict(
    backbone=dict(type='ResNet', depth=18, base_channels=8,
                  stem_channels=16, out_indices=(3, )),
    heads=dict(patient=head, slide=head, patch=head))

# Demo schedule (not the paper's): with strong augmentation on 32 px
# patches, two views of a patch start out no more alike under a random
# network than two different patches, so every level's loss first falls to
# log(N - 1) (all embeddings alike, N = 48 views) and only then starts to
# separate positives. With 60 iterations at lr 1e-3 the run ended in that
# phase (kNN at chance); 300 iterations at lr 3e-3 leave it after ~100.
max_iters = 300
warmup_iters = 30
optim_wrapper = dict(optimizer=dict(lr=3e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='CosineAnnealingLR', T_max=max_iters - warmup_iters,
         eta_min=0, by_epoch=False, begin=warmup_iters, end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(interval=max_iters))
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(vis_backends=vis_backends)
custom_hooks = [dict(type='KNNEvalHook', interval=max_iters, **knn_eval)]
