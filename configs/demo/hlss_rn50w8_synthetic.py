# HLSS demo: the paper config (configs/hlss/hlss_clip-rn50_b32p_opensrh.py)
# with its model family shrunk, on the synthetic hierarchical data (32 px),
# trained on CPU in about a minute, then kNN evaluation. Make the data first:
#   python tools/prepare_data/make_synthetic_hierarchical.py --out data/hier32 --size 32
# and run with OMP_NUM_THREADS=1 (on 32 px images torch's intra-op threads
# only add waiting; see GETTING_STARTED.md).
# Model: open_clip's RN50-quickgelu shrunk: the image tower keeps RN50's
# structure (a ModifiedResNet: 3-conv stem, bottleneck stages, attention
# pooling) with one bottleneck per stage instead of 3, 4, 6, 3, at width 8
# instead of 64 and 32 px input, embedding width 64 instead of 1024; the
# text tower has 1 layer of width 64 (12 of 512) and 32 tokens (77). Both at
# random initialisation (no download; one warning line says so), so the
# heads' text rows come from a random text tower: the demo shows that the
# chain works, not what CLIP's text brings. Heads Linear(64, 128) from the
# same 128 attributes per level as the paper config.
_base_ = ['../hlss/hlss_clip-rn50_b32p_opensrh.py']

data_root = 'data/hier32'
layout = 'metadata'
metadata = f'{data_root}/metadata.json'
split = f'{data_root}/split.json'
loader = dict(type='LoadHistoPatch', mode='rgb')
image_size = 32
embed_dim = 64
clip = dict(
    model_name='RN50-quickgelu', pretrained=None,
    model_cfg=dict(embed_dim=embed_dim,
                   vision_cfg=dict(image_size=image_size,
                                   layers=[1, 1, 1, 1], width=8),
                   text_cfg=dict(context_length=32, width=64, heads=2,
                                 layers=1)))

# The published augmentations (p = 0.5 each) without random_solarize: its
# threshold 0.2 suits dark SRH patches but inverts about 95% of the pixel
# values of these bright H&E-like ones, and with it the demo's losses fall
# to log(N - 1) = 3.85 (N = 48 views: all embeddings alike) within the first
# 50 iterations and stay there to the last (docs/hlss.md).
train_pipeline = [
    loader,
    dict(type='ToUnitTensor'),
    dict(type='MultiView', num_views=2,
         transforms=[[dict(type='HiDiscAugment', crop_size=image_size,
                           skip=['random_solarize'])]]),
    dict(type='PackInputs'),
]
eval_pipeline = [loader, dict(type='ToUnitTensor'), dict(type='PackInputs')]
data = dict(data_root=data_root, layout=layout, metadata=metadata,
            split=split)

# one loader worker: DataLoader workers run torch single-threaded, which
# suits the many small tensor ops of the augmentations
train_dataloader = dict(
    batch_size=6, num_workers=1, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(pipeline=train_pipeline, **data))
# the demo's lr goes with its 6 patients per batch (--auto-scale-lr)
auto_scale_lr = dict(base_batch_size=6)
knn_eval = dict(
    bank=dict(type='HierarchicalPatchDataset', split_name='train',
              pipeline=eval_pipeline, **data),
    query=dict(type='HierarchicalPatchDataset', split_name='val',
               pipeline=eval_pipeline, **data),
    # k=200 in the paper config; the demo bank holds only ~150 patches, so
    # k=200 would vote with the whole bank
    k=20, temperature=0.07, aggregation='l1_softmax', batch_size=64,
    num_workers=0)

model = dict(
    backbone=dict(type='OpenCLIPImageTower', **clip),
    text_encoder=dict(type='OpenCLIPText', **clip),
    heads=dict(patient=dict(in_channels=embed_dim),
               slide=dict(in_channels=embed_dim),
               patch=dict(in_channels=embed_dim)))

# Demo schedule (not the paper's): 300 iterations, linear warm-up over 30,
# then cosine, at lr 3e-3
max_iters = 300
warmup_iters = 30
optim_wrapper = dict(optimizer=dict(lr=3e-3))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-2, by_epoch=False, begin=0,
         end=warmup_iters),
    dict(type='CosineAnnealingLR', T_max=max_iters - warmup_iters,
         eta_min=0, by_epoch=False, begin=warmup_iters, end=max_iters),
]
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop',
                 max_iters=max_iters)
# a log line every 50 iterations, and one more at the iteration that equals
# the loader's length (3 here: 18 training patients, 6 per batch): MMEngine's
# LoggerHook logs there as the end of an epoch, iteration-based loop or not
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(by_epoch=False, interval=max_iters))
log_processor = dict(by_epoch=False, window_size=10)
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(vis_backends=vis_backends)
custom_hooks = [dict(type='KNNEvalHook', interval=max_iters, **knn_eval)]
