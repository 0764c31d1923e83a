"""Write NCT list files from the real NCT-CRC-HE-100K and CRC-VAL-HE-7K.

Extract both zips (https://zenodo.org/record/1214456) so that
    data/NCT/data/NCT-CRC-HE-100K/<CLS>/*.tif
    data/NCT/data/CRC-VAL-HE-7K/<CLS>/*.tif
then run
    python tools/prepare_data/prepare_nct.py --root data/NCT
It writes data/NCT/meta/{train,test,wo_<c>_train}[_labeled].txt and
classes.txt, exactly as tools/prepare_data/make_synthetic.py does.
"""
import argparse
import sys

from openselfsup.utils import run_cli


def main(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--root', default='data/NCT', help='NCT directory')
    a = p.parse_args(argv)
    from openselfsup.datasets.prepare import prepare_nct
    for name, n in prepare_nct(a.root).items():
        print(f'{name:14s} {n:7d} images')
    print(f'lists written under {a.root}/meta/')


if __name__ == '__main__':
    sys.exit(run_cli(main))
