"""F1 of Ridge: linear, sampled latent augmentation, and its analytic limit.

On the paper-scale fixture (near domain, novel class 0, the ``clp``
dictionary K=16, M=2000 leaving the novel class out, as the protocol
requires), the same tasks for every column; sampled latent
augmentation (A = 100 shots) with two seeds shows its sampling spread.
Prints a Markdown table (mean F1 over classes and tasks, 95% half-width)
and the time of each column.

    python -m benchmarks.compare_latent_aug --workdir /tmp/paper_bench \\
        --num_task 200
"""
import os
import sys
import time

if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))

from benchmarks._common import (add_output, count, machine, novel_class,
                                parse, parser, run_main, save)
from benchmarks.fixtures import (ensure_dictionary, ensure_task_store,
                                 make_paper_workdir)
from openselfsup.lowshot.dictionary import load_dictionary
from openselfsup.lowshot.features import load_features
from openselfsup.lowshot.meta_test import make_augmenter, meta_test
from openselfsup.lowshot.metrics import summarize
from openselfsup.lowshot.spec import DictionarySpec, TaskSpec


def main(argv=None):
    p = parser(__doc__)
    p.add_argument('--workdir', default='/tmp/paper_bench',
                   help='low-shot workdir of the fixture, task stores and '
                   'dictionary (made on the first run, reused after; '
                   'shared with bench_sweep)')
    p.add_argument('--num_task', type=count, default=200,
                   help='the first tasks of the 1000-task stores (at most '
                   '1000)')
    p.add_argument('--novel_class', type=novel_class, default=0,
                   help='the NCT class held out (near domain)')
    p.add_argument('--shots', type=count, nargs='+', default=[1, 5, 10],
                   help='support features per class, one table row each')
    p.add_argument('--num_aug_shots', type=count, default=100,
                   help='A, shots per support feature after augmentation')
    p.add_argument('--threads', type=int, default=0,
                   help='CPU worker threads of the engine (default: 0 = one '
                   'per available core)')
    add_output(p)
    args = parse(p, argv)
    wd = args.workdir
    make_paper_workdir(wd, ['clp'], names=['NCT_train', 'NCT_test'])
    dic = load_dictionary(ensure_dictionary(
        wd, DictionarySpec('clp', args.novel_class)))
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
        store = ensure_task_store(wd, TaskSpec(
            'near', s, 1000, novel_class=args.novel_class))
        store = store.head(args.num_task)
        cells = []
        for name, mode, aug in cols:
            t0 = time.perf_counter()
            f1, _ = meta_test(sup, qry, store, 'Ridge', mode=mode,
                              augmenter=aug, threads=args.threads)
            times[name] += time.perf_counter() - t0
            sm = summarize(f1)  # fractions; the table prints percent
            mean, ci = 100 * sm['average_mean'], 100 * sm['average_ci']
            out['rows'].append({'shots': s, 'column': name, 'mean': mean,
                                'ci': ci})
            cells.append(f'{mean:.2f} ± {ci:.2f}')
        lines.append(f'| {s} | ' + ' | '.join(cells) + ' |')
    lines.append('| time (s) | ' + ' | '.join(f'{times[c[0]]:.1f}'
                                               for c in cols) + ' |')
    out['times_s'] = times
    print(f'Ridge F1 (%), near domain, novel class {args.novel_class}, '
          f'{args.num_task} tasks, A = {args.num_aug_shots}')
    print('\n'.join(lines))
    save(args.output, out)


if __name__ == '__main__':
    run_main(main)
