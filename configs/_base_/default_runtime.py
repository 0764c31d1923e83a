"""Runtime shared by every training config: hooks, logging, seeds.

``runner_type = 'AtomicRunner'`` (openselfsup.engine.runner) writes every
checkpoint to a temporary file and renames it, and resumes from the newest
readable checkpoint when ``last_checkpoint`` names a missing or corrupt one.
``CheckpointHook`` is the project's (openselfsup.engine.checkpoint_hook): it
removes the checkpoints beyond ``max_keep_ckpts`` only after the new one and
``last_checkpoint`` are written (MMEngine's removes them first).

``total_batch_size``: when a config sets it, ``openselfsup.apis.train``
sets the per-process batch to ``total_batch_size // world_size`` (and fails
if it does not divide), so the total batch is the same on 1 CPU, 1 GPU or 8
GPUs; the learning rate is therefore never rescaled.
"""
default_scope = 'openselfsup'
runner_type = 'AtomicRunner'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='VisualizationHook', enable=False),
)

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    # without a GPU, openselfsup.apis.train runs one process without a
    # process group (and refuses several)
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [
    dict(type='LocalVisBackend'),
    dict(type='TensorboardVisBackend'),
]
# mmpretrain's UniversalVisualizer, its matplotlib figure made when it
# first draws (a training run draws none: about 1 s less of each start);
# scoped, as a config under default_scope = 'mmpretrain' finds it too
visualizer = dict(type='openselfsup.LazyFigureVisualizer',
                  vis_backends=vis_backends)

# the log line (and the scalars the visualiser writes): every term a model
# logs beside its losses (balanced tuning's task / contrastive, HLSS's
# kl_<level>) averaged over the same last `window_size` iterations as the
# losses (`--cfg-options log_processor.window_size=N` sets it for all), and
# each evaluation's results as that evaluation gave them
# (openselfsup.engine.TermsLogProcessor; MMEngine's own showed the terms at
# their last value and an evaluation's task_loss as the mean of the last 10
# evaluations)
log_processor = dict(type='TermsLogProcessor', window_size=10)

log_level = 'INFO'
load_from = None
resume = False

# every run is reproducible from config + seed; set deterministic=True for
# bit-exact cuDNN (slower)
randomness = dict(seed=0, diff_rank_seed=True, deterministic=False)
