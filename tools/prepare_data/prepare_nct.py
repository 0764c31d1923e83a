"""Write NCT list files: the published NONORM split, or the official sets.

Default (the published protocol): extract NCT-CRC-HE-100K-NONORM.zip
(https://zenodo.org/record/1214456) so that
    data/NCT/data/NCT-CRC-HE-100K-NONORM/<CLS>/*.tif   (or data/NCT/data/<CLS>/*.tif)
then run
    python tools/prepare_data/prepare_nct.py --root data/NCT
It writes the published 80,000 / 20,000 split (shipped with the package,
in its order; labels BACK 0, ADI 1, DEB 2, LYM 3, MUC 4, MUS 5, NORM 6,
STR 7, TUM 8) as data/NCT/meta/{train,test,wo_<c>_train}[_labeled].txt and
classes.txt. If images of the split are missing it says how many, names
the first and writes nothing. The NCT releases share file names, so the
folder's name says which it is: images in data/NCT/data/<CLS>/ name none
and are taken as NONORM, assumed (the output says so, with where the
stain-normalised release goes instead); the release taken and why are
printed and recorded in data/NCT/meta/lists.json.

--split official: NCT-CRC-HE-100K (train) and CRC-VAL-HE-7K (test):
    data/NCT/data/NCT-CRC-HE-100K/<CLS>/*.tif
    data/NCT/data/CRC-VAL-HE-7K/<CLS>/*.tif
"""
import argparse
import os
import sys

from openselfsup.utils import run_cli


def main(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--root', default='data/NCT',
                   help='the dataset\'s folder: images under ROOT/data, lists '
                   'written to ROOT/meta (default: %(default)s)')
    p.add_argument('--split', choices=['published', 'official'],
                   help='published: the NONORM images split as published '
                   '(default when NONORM images are found); official: '
                   'NCT-CRC-HE-100K train, CRC-VAL-HE-7K test')
    p.add_argument('--split-lists', nargs=2, metavar=('TRAIN', 'TEST'),
                   help='split the NONORM images by these two list files '
                   '("[...]/<CLS>/<file> [label]" per line, .gz accepted) '
                   'instead of the published split')
    a = p.parse_args(argv)
    from openselfsup.datasets.prepare import prepare_nct
    print('\n'.join(prepare_nct(a.root, a.split, a.split_lists).lines()))
    print(f'lists written under {os.path.join(a.root, "meta", "")}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
