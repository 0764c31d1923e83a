"""F1 of Ridge: linear, sampled latent augmentation, and its analytic limit.

On the paper-scale fixture (near domain, novel class 0, the ``clp``
dictionary K=16, M=2000), the same tasks for every column; sampled latent
augmentation (A = 100 shots) with two seeds shows its sampling spread.
Prints a Markdown table (mean F1 over classes and tasks, 95% half-width)
and the time of each column.

    python -m benchmarks.compare_latent_aug --workdir /tmp/paper_bench \\
        --num_task 200
"""
import argparse
import time

import torch

from benchmarks._common import machine, save
from benchmarks.fixtures import make_paper_workdir
from openselfsup.lowshot import paths
from openselfsup.lowshot.dictionary import construct_dictionary, \
    load_dictionary
from openselfsup.lowshot.engine import make_augmenter, meta_test
from openselfsup.lowshot.features import load_features
from openselfsup.lowshot.metrics import summarize
from openselfsup.lowshot.tasks import generate_task_store
import os


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--workdir', default='/tmp/paper_bench')
    p.add_argument('--num_task', type=int, default=200)
    p.add_argument('--novel_class', type=int, default=0)
    p.add_argument('--shots', type=int, nargs='+', default=[1, 5, 10])
    p.add_argument('--num_aug_shots', type=int, default=100)
    p.add_argument('--threads', type=int, default=0,
                   help='torch threads of the engine (default: 0 = torch '
                   'default, one per core)')
    p.add_argument('--output', default=None)
    args = p.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    wd = args.workdir
    make_paper_workdir(wd, ['clp'], names=['NCT_train', 'NCT_test'])
    dpath = paths.dictionary_path(wd, 'clp', 'NCT_train', 16, 2000, 0)
    if not os.path.isfile(dpath):
        construct_dictionary(wd, 'clp')
    dic = load_dictionary(dpath)
    sup = load_features(wd, 'clp', 'NCT_train').features
    qry = load_features(wd, 'clp', 'NCT_test').features
    cols = [('linear', 'linear', None),
            ('latent_aug seed 0', 'latent_aug',
             make_augmenter(dic, 'latent_aug', args.num_aug_shots, 0)),
            ('latent_aug seed 1', 'latent_aug',
             make_augmenter(dic, 'latent_aug', args.num_aug_shots, 1)),
            ('latent_aug_expected', 'latent_aug_expected',
             make_augmenter(dic, 'latent_aug_expected', args.num_aug_shots))]
    out = {'machine': machine(), 'args': vars(args), 'rows': []}
    lines = ['| shots | ' + ' | '.join(c[0] for c in cols) + ' |',
             '|---|' + '---|' * len(cols)]
    times = {c[0]: 0.0 for c in cols}
    for s in args.shots:
        store, _ = generate_task_store(wd, 'near', s, 1000, 0,
                                       novel_class=args.novel_class)
        store = store.head(args.num_task)
        cells = []
        for name, mode, aug in cols:
            t0 = time.perf_counter()
            f1 = meta_test(sup, qry, store, 'Ridge', mode, aug)
            times[name] += time.perf_counter() - t0
            sm = summarize(f1)
            out['rows'].append({'shots': s, 'column': name,
                                'mean': sm['average_mean'],
                                'ci': sm['average_ci']})
            cells.append(f'{sm["average_mean"]:.2f} ± {sm["average_ci"]:.2f}')
        lines.append(f'| {s} | ' + ' | '.join(cells) + ' |')
    lines.append('| time (s) | ' + ' | '.join(f'{times[c[0]]:.1f}'
                                               for c in cols) + ' |')
    out['times_s'] = times
    print(f'Ridge F1 (%), near domain, novel class {args.novel_class}, '
          f'{args.num_task} tasks, A = {args.num_aug_shots}')
    print('\n'.join(lines))
    save(args.output, out)


if __name__ == '__main__':
    main()
