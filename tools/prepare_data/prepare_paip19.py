"""Write PAIP19 list files from patches cut from the PAIP 2019 slides.

Expected: one folder per slide, with the class in the file name or as a
sub-folder (classes: normal, viable_tumor, non_viable_tumor):
    data/PAIP19/data/<slide_id>/<slide_id>_<cls>_<n>.png
    data/PAIP19/data/<slide_id>/<cls>/*.png
then run
    python tools/prepare_data/prepare_paip19.py --root data/PAIP19 \\
        --test-slides 01_01_0005 01_01_0006
It writes data/PAIP19/meta/paip_{train,test}[_labeled].txt and classes.txt;
the split is by slide (never a slide in both).
"""
import argparse
import sys

from openselfsup.utils import run_cli


def main(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--root', default='data/PAIP19', help='PAIP19 directory')
    p.add_argument('--test-slides', nargs='+',
                   help='slide ids of the test split')
    p.add_argument('--test-fraction', type=float, default=1 / 3,
                   help='without --test-slides: fraction of slides drawn '
                   'for test')
    p.add_argument('--seed', type=int, default=0,
                   help='seed of the --test-fraction draw')
    a = p.parse_args(argv)
    from openselfsup.datasets.prepare import prepare_paip19
    counts = prepare_paip19(a.root, a.test_slides, a.test_fraction, a.seed)
    for name, n in counts.items():
        print(f'{name:14s} {n:7d} patches')
    print(f'lists written under {a.root}/meta/')


if __name__ == '__main__':
    sys.exit(run_cli(main))
