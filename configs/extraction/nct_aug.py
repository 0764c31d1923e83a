# NCT_aug features (the augmentation ablation): image-augmented copies of the
# NCT training images, as the published extract_feats_NCT_aug config:
# RandomResizedCrop 224 scale (0.8, 1), horizontal flip, colour jitter
# 0.4/0.4/0.4, hue 0.2, with p 0.8. `wsi_workdir/extract.py --aug_times N`
# extracts N seeded copies into one NCT_aug.npy (copy-major: rows
# c*N_train .. (c+1)*N_train - 1 are copy c of NCT_train, in its order).
_base_ = './_base_/nct.py'
aug_pipeline = [
    dict(type='LoadImageFromFile', imdecode_backend='pillow',
         color_type='color_ignore_orientation'),
    dict(type='RandomResizedCrop', scale={{_base_.input_size}},
         crop_ratio_range=(0.8, 1.0), backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomApply',
         transforms=[dict(type='HueWrapColorJitter', brightness=0.4,
                          contrast=0.4, saturation=0.4, hue=0.2)],
         prob=0.8),
    dict(type='PackInputs'),
]
dataset = dict(ann_file='meta/train_labeled.txt', pipeline=aug_pipeline)
