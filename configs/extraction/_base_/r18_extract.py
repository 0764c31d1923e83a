# Feature extraction with a ResNet-18: the global-average-pooled output of the
# last stage (512-d at the standard width). Every extraction config inherits
# this; a narrower demo encoder is matched with --cfg-options, e.g.
#   --cfg-options model.backbone.stem_channels=16 model.backbone.base_channels=16
# and a different input size with dataset.pipeline.1.scale=64.
default_scope = 'openselfsup'

model = dict(
    type='ImageClassifier',
    # widths spelled out so that --cfg-options can match a narrow encoder
    backbone=dict(type='ResNet', depth=18, stem_channels=64,
                  base_channels=64, out_indices=(3, ),
                  norm_cfg=dict(type='BN')),
    neck=dict(type='GlobalAveragePooling'),
    head=None,
    # the normalisation used in pre-training (ImageNet statistics, RGB)
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        to_rgb=True))

# the model's input size; the test pipeline resizes every patch to it
input_size = 224
# decoded and resized with Pillow, as the pre-training pipelines decode
test_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow',
         color_type='color_ignore_orientation'),
    dict(type='Resize', scale=input_size, backend='pillow',
         interpolation='bilinear'),
    dict(type='PackInputs'),
]

dataset = dict(
    type='ImageList',
    data_prefix='data',
    require_labels=True,
    check='exists',
    test_mode=True,
    pipeline=test_pipeline)
