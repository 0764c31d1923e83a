# PAIP_test features: out-domain queries
_base_ = './_base_/paip.py'
dataset = dict(ann_file='meta/paip_test_labeled.txt')
