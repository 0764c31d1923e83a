# NCT_train features: the base set for dictionaries and near-domain support
_base_ = './_base_/nct.py'
dataset = dict(ann_file='meta/train_labeled.txt')
