# NCT-CRC-HE-100K-NONORM, the published 80,000 / 20,000 split (train / test),
# lists under data/NCT/meta (tools/prepare_data/prepare_nct.py); labels in the
# published order, as openselfsup.classes.NCT_CLASSES
_base_ = './r18_extract.py'
nct_classes = ('BACK', 'ADI', 'DEB', 'LYM', 'MUC', 'MUS', 'NORM', 'STR', 'TUM')
dataset = dict(data_root='data/NCT', classes=nct_classes, num_classes=9)
