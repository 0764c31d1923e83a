# NCT-CRC-HE-100K (train) / CRC-VAL-HE-7K (test), lists under data/NCT/meta
_base_ = './r18_extract.py'
# the published label order (openselfsup/classes.py)
nct_classes = ('BACK', 'ADI', 'DEB', 'LYM', 'MUC', 'MUS', 'NORM', 'STR', 'TUM')
dataset = dict(data_root='data/NCT', classes=nct_classes, num_classes=9)
