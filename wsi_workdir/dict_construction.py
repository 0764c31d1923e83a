#!/usr/bin/env python
"""Build the base dictionary (prototypes, covariances, shift bank) of a model.

k-means with K prototypes on every base feature (NCT train without the
novel class), as the published code (faiss would otherwise train on a
subsample of 256 points per centroid); per cluster the mean, the covariance
and M shift vectors drawn from N(0, cov). The file name records K, M, the
seed and the excluded class, and the file records the features' digest:
meta-tests refuse a dictionary of other features or another novel class.
An existing dictionary is reused if it belongs to the current features,
never replaced without --overwrite.

Reads <workdir>/extracted_feats/<model>/<features>.npy; writes
<workdir>/dictionaries/<model>/<features>_K<K>_M<M>_seed<S>_<wo<c>|all>.npz
(wo<c>: the --novel_class left out; all: none), which the meta-test of
--mode latent_aug reads.

Example (writes <workdir>/dictionaries/clp_wo_7/NCT_train_K16_M2000_seed0_wo7.npz)::

    python wsi_workdir/dict_construction.py --model clp_wo_7 --novel_class 7
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from openselfsup.lowshot import spec as S  # noqa: E402
from openselfsup.lowshot.paths import DEFAULT_WORKDIR  # noqa: E402
from openselfsup.utils import run_cli  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    S.add_arguments(p, ['model', 'novel_class', 'num_prototypes',
                        'num_shift_vectors'], required=['model'],
                    command='dictionary')
    p.add_argument('--seed', '--dict_seed', dest='dict_seed', type=int,
                   default=S.default('dict_seed'),
                   help='seed of k-means and the shift draws (default: '
                   '%(default)s)')
    p.add_argument('--features', default='NCT_train',
                   help='base feature set (default: %(default)s, the one '
                   'the meta-test reads, as published; a dictionary of '
                   'another set is built for your own use, no low-shot '
                   'run reads it)')
    p.add_argument('--workdir', default=DEFAULT_WORKDIR,
                   help='low-shot work directory (default: %(default)s)')
    p.add_argument('--overwrite', action='store_true',
                   help='build it again even if the file exists (without '
                   'it, an existing dictionary of the current features is '
                   'reused and one of other features refused)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    dspec = S.DictionarySpec(args.model, args.novel_class, args.features,
                             args.num_prototypes, args.num_shift_vectors,
                             args.dict_seed)
    from openselfsup.lowshot.dictionary import (check_dictionary,
                                                construct_dictionary,
                                                load_dictionary)
    path = dspec.path(args.workdir)
    if os.path.exists(path) and not args.overwrite:
        from openselfsup.lowshot.features import load_features
        check_dictionary(load_dictionary(
            path, dspec.command(args.workdir)), dspec, load_features(
            args.workdir, dspec.model, dspec.features),
            workdir=args.workdir)
        print(f'reusing {path}')
        return
    dic = construct_dictionary(args.workdir, dspec, replace=args.overwrite)
    print(f'wrote {dic.path}: K={dic.prototypes.shape[0]} prototypes from '
          f'{int(dic.counts.sum())} base features (classes '
          f'{list(dic.excluded) or "none"} left out), '
          f'M={dic.shift_bank.shape[1]} shift vectors each')
    if dspec.features != 'NCT_train':
        print(f'note: the meta-test reads NCT_train dictionaries only; this '
              f'{dspec.features} dictionary is not read by any low-shot run')


if __name__ == '__main__':
    sys.exit(run_cli(main))
