"""Write synthetic histology data in the NCT-CRC-HE-100K-NONORM, LC25000 and PAIP19 layouts.

The layouts and labels of the published protocol, smaller: NCT is one
NONORM pool per class split into train and test lists; PAIP19 patches are
<slide>/<label>/<x>+<y>+<label>.png, split by slide (the first
--paip-train-slides slide IDs in sorted order train, as the published
split's first 15). Sizes and counts must be at least 1, the seed an
integer in [0, 2^63); the same seed writes the same bytes.

Example (the quick start's data, 64 px):
    python tools/prepare_data/make_synthetic.py --out data --size 64
"""
import argparse
import os
import sys

from openselfsup.datasets.synthetic import DOMAINS, SyntheticSpec, make_synthetic
from openselfsup.datasets.synthetic.layouts import WRITTEN
from openselfsup.utils import (RawDefaultsHelpFormatter, check_filled,
                               run_cli)


def parse_args(argv):
    d = SyntheticSpec()
    p = argparse.ArgumentParser(
        description=__doc__, epilog=WRITTEN,
        formatter_class=RawDefaultsHelpFormatter)
    p.add_argument('--out', default='data', help='output root directory')
    p.add_argument('--size', type=int, default=d.size,
                   help='patch width and height in px')
    p.add_argument('--nct-train', type=int, default=d.nct_train,
                   help='NCT training images per class')
    p.add_argument('--nct-test', type=int, default=d.nct_test,
                   help='NCT test images per class')
    p.add_argument('--lc', type=int, default=d.lc,
                   help='LC25000 images per class')
    p.add_argument('--paip-train-slides', type=int,
                   default=d.paip_train_slides,
                   help='PAIP19 training slides (the first slide IDs)')
    p.add_argument('--paip-test-slides', type=int,
                   default=d.paip_test_slides, help='PAIP19 test slides')
    p.add_argument('--paip-per-class', type=int, default=d.paip_per_class,
                   help='PAIP19 patches per class per slide')
    p.add_argument('--domains', nargs='+', default=list(DOMAINS),
                   choices=DOMAINS, help='domains to write')
    p.add_argument('--seed', type=int, default=d.seed, help='random seed')
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    # the folder a printed way out (too few samples) did not know
    check_filled(a.out, 'DATA', '--out ',
                 'the folder the data was read from (it holds NCT, LC25000 '
                 'and PAIP19)')
    spec = SyntheticSpec(size=a.size, nct_train=a.nct_train,
                         nct_test=a.nct_test, lc=a.lc,
                         paip_train_slides=a.paip_train_slides,
                         paip_test_slides=a.paip_test_slides,
                         paip_per_class=a.paip_per_class, seed=a.seed,
                         domains=a.domains)
    counts = make_synthetic(a.out, spec)
    for name, n in counts.items():
        print(f'{name:14s} {n:7d} images')
    print(f'written under {os.path.join(a.out, "")}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
