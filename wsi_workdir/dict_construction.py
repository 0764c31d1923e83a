#!/usr/bin/env python
"""Build the base dictionary (prototypes, covariances, shift bank) of a model.

Example::

    python wsi_workdir/dict_construction.py --model clp_wo_7 --novel_class 7
"""
import argparse
import sys

from openselfsup.lowshot.dictionary import construct_dictionary
from openselfsup.lowshot.paths import DEFAULT_WORKDIR, FEATURE_NAMES
from openselfsup.utils import run_cli


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--model', required=True,
                   help='model name, e.g. clp, fsp, clp_wo_7')
    p.add_argument('--novel_class', type=int, default=None,
                   help='class(es) left out of the base set (0..8, 78 = 7+8)')
    p.add_argument('--features', default='NCT_train', choices=FEATURE_NAMES,
                   help='base feature set (default: %(default)s)')
    p.add_argument('--num_prototypes', type=int, default=16,
                   help='k-means clusters K (default: %(default)s)')
    p.add_argument('--num_shift_vectors', type=int, default=2000,
                   help='shift vectors per cluster M (default: %(default)s)')
    p.add_argument('--seed', type=int, default=0,
                   help='seed of k-means and the shift draws')
    p.add_argument('--workdir', default=DEFAULT_WORKDIR,
                   help='low-shot work directory (default: %(default)s)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    out = construct_dictionary(args.workdir, args.model, args.novel_class,
                               args.features, args.num_prototypes,
                               args.num_shift_vectors, args.seed)
    print(f'wrote {out}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
