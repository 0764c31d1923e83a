# PAIP19 patches, lists under data/PAIP19/meta; the first path component is
# the slide id (out-domain "homo" tasks draw support from one slide)
_base_ = './r18_extract.py'
dataset = dict(
    data_root='data/PAIP19',
    classes=('normal', 'viable_tumor', 'non_viable_tumor'),
    num_classes=3)
