# LC25000 features: mixture-domain tasks (colon and lung, 5 classes)
_base_ = './_base_/r18_extract.py'
dataset = dict(
    data_root='data/LC25000',
    ann_file='meta/img_list_labeled.txt',
    classes=('colon_aca', 'colon_n', 'lung_aca', 'lung_n', 'lung_scc'),
    num_classes=5)
