"""NCT-CRC-HE-100K, unlabelled, two augmented views per image (CLP).

Views as the ICLR-22 code (torchvision on PIL images, the same pipeline
twice per image): RandomResizedCrop 224 scale (0.2, 1) (ratio 3/4-4/3,
bilinear), horizontal flip (p 0.5), colour jitter brightness, contrast,
saturation 0.4 and hue 0.4 in random order (p 0.8), grayscale as
Pillow's ``convert('L')`` (p 0.2),
Gaussian blur sigma uniform in (0.1, 2) (PIL, p 0.5), solarisation at 128
(p 0.2); then ImageNet mean/std. Paths are relative to the working directory
(``data/NCT/...``) as in the original code.
"""
data_root = 'data/NCT/'
train_list = 'meta/train.txt'
crop_size = 224
total_batch_size = 256

data_preprocessor = dict(
    type='SelfSupDataPreprocessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

view_pipeline = [
    dict(type='RandomResizedCrop', scale=crop_size,
         crop_ratio_range=(0.2, 1.), backend='pillow'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomApply',
         transforms=[dict(type='HueWrapColorJitter', brightness=0.4,
                          contrast=0.4, saturation=0.4, hue=0.4)],
         prob=0.8),
    # torchvision's RandomGrayscale on PIL: convert('L'), rounded (not
    # mmpretrain's RandomGrayscale, which truncates)
    dict(type='PillowGrayscale', prob=0.2),
    dict(type='GaussianBlur', magnitude_range=(0.1, 2.0),
         magnitude_std='inf', prob=0.5),
    dict(type='Solarize', thr=128, prob=0.2),
]
train_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow',
         color_type='color_ignore_orientation'),
    dict(type='MultiView', num_views=2, transforms=[view_pipeline]),
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
        pipeline=train_pipeline))
