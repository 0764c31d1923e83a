"""NCT-CRC-HE-100K with labels (FSP): 9 classes, labelled list files.

``wo_<c>`` lists keep the original labels, so ``num_classes`` stays 9.
"""
data_root = 'data/NCT/'
train_list = 'meta/train_labeled.txt'
num_classes = 9
crop_size = 224
total_batch_size = 512

data_preprocessor = dict(
    num_classes=num_classes,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow',
         color_type='color_ignore_orientation'),
    dict(type='RandomResizedCrop', scale=crop_size, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]

# Where the views are made (openselfsup.apis.fast_path): 'auto' = batched
# on the GPU when training on one (workers only decode), else this pipeline
# in the workers; 'cpu' = always this pipeline (as published); 'device' =
# always batched on the training device, a CPU included.
augment_on = 'auto'
# True: the batched views' jitter blends and blur passes through torch.compile
# (fused GPU kernels, compiled at the first batches; not measured on a GPU
# yet, see docs/pretraining.md). Needs the batched views.
compile_views = False
# True: the next batch's views made on a side thread (a side CUDA stream)
# while the current step runs (not measured on a GPU yet, see
# docs/pretraining.md). Needs the batched views.
prefetch_views = False
# True: the data-loader workers collate each batch into shared-memory slots
# reused from batch to batch (none allocated or freed per batch; the same
# batches; not measured on a GPU yet, see docs/pretraining.md). Needs the
# batched views.
reuse_batch_memory = False

train_dataloader = dict(
    batch_size=total_batch_size,  # per process; set from total_batch_size
    num_workers=8,
    persistent_workers=True,
    pin_memory=True,
    drop_last=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'),
    dataset=dict(
        type='ImageList',
        data_root=data_root,
        ann_file=train_list,
        data_prefix='data/',
        num_classes=num_classes,
        require_labels=True,
        pipeline=train_pipeline))
