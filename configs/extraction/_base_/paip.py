# PAIP19 patches, lists under data/PAIP19/meta; the slide id is the first
# path component (out-domain "homo" tasks draw support from one slide)
_base_ = './r18_extract.py'
dataset = dict(
    data_root='data/PAIP19',
    classes=('normal', 'viable_tumor', 'non_viable_tumor'),
    num_classes=3)
slide_id_from_path = True
