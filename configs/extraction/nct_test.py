# NCT_test features: near-domain queries
_base_ = './_base_/nct.py'
dataset = dict(ann_file='meta/test_labeled.txt')
