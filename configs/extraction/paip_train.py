# PAIP_train features: out-domain support
_base_ = './_base_/paip.py'
dataset = dict(ann_file='meta/paip_train_labeled.txt')
