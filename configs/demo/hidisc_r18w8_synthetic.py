# HiDisc demo: the HLSS demo's data, augmentations and schedule with the
# paper HiDisc model's structure (configs/hlss/hidisc_r50_b10p_opensrh.py:
# a ResNet from scratch, global average pooling, one Linear to 128 shared by
# the three levels) on a small backbone: ResNet-18 at base width 8 (feature
# 64) instead of ResNet-50 (2048), so that it trains on CPU in minutes.
_base_ = ['./hlss_rn50w8_synthetic.py']

model = dict(
    _delete_=True,
    type='HLSS',
    data_preprocessor=dict(type='SelfSupDataPreprocessor'),
    backbone=dict(type='ResNet', depth=18, base_channels=8, stem_channels=16,
                  out_indices=(3, ), zero_init_residual=False),
    neck=dict(type='GlobalAveragePooling'),
    heads=dict(type='MLPHead', in_channels=64, out_channels=128),
    loss=dict(type='HiDiscLoss', temperature=0.07,
              weights=dict(patient=1.0, slide=1.0, patch=1.0)))
