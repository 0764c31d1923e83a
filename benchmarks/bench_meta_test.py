"""Meta-test: the batched engine against the per-task scikit-learn loop.

1000 tasks of 5-way 5-shot (15 queries per class) on 512-d features (the
paper-scale LC25000 fixture), per classifier and mode, in one run on one
machine: the engine on CPU (and CUDA when present) and the loop on a process
pool over all cores. ``latent_aug`` (A = 100) is heavy for both sides, so it
runs on the first ``--aug_tasks`` tasks and both times are scaled to
``--num_task`` (printed as such); ``latent_aug_expected`` is the analytic
mode (Ridge, nearest centroid), compared with the sampled loop.
Peak memory: resident set of this process; CUDA: max allocated.

    python -m benchmarks.bench_meta_test --output benchmarks/results/meta_test.json
"""
import argparse
import os
import time

import numpy as np
import torch

from benchmarks._common import machine, peak_rss_mib, save
from benchmarks.fixtures import make_paper_workdir
from benchmarks.sklearn_loop import sklearn_loop
from openselfsup.lowshot import paths
from openselfsup.lowshot.dictionary import construct_dictionary, \
    load_dictionary
from openselfsup.lowshot.engine import make_augmenter, meta_test
from openselfsup.lowshot.features import load_features
from openselfsup.lowshot.tasks import generate_task_store

CLFS = ('Ridge', 'logistic_regression', 'nearest_centroid')


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--workdir', default='/tmp/paper_bench')
    p.add_argument('--num_task', type=int, default=1000)
    p.add_argument('--aug_tasks', type=int, default=50,
                   help='tasks actually run in latent_aug (scaled)')
    p.add_argument('--shots', type=int, default=5)
    p.add_argument('--modes', nargs='+',
                   default=['linear', 'latent_aug', 'latent_aug_expected'])
    p.add_argument('--threads', type=int, default=1,
                   help='torch threads of the engine (0: torch default)')
    p.add_argument('--output', default=None)
    args = p.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    wd, T = args.workdir, args.num_task
    make_paper_workdir(wd, ['clp'], names=['NCT_train', 'LC'])
    dpath = paths.dictionary_path(wd, 'clp', 'NCT_train', 16, 2000, 0)
    if not os.path.isfile(dpath):
        construct_dictionary(wd, 'clp')
    dic = load_dictionary(dpath)
    feats = load_features(wd, 'clp', 'LC').features
    store, _ = generate_task_store(wd, 'mixture', args.shots, T, 0)
    devices = ['cpu'] + (['cuda'] if torch.cuda.is_available() else [])
    out = {'machine': machine(), 'args': vars(args), 'rows': []}
    print(f'{T} tasks, 5-way {args.shots}-shot, 512-d; loop: scikit-learn '
          f'per task on {os.cpu_count()} processes')
    print(f'{"mode":<20} {"classifier":<20} {"tasks run":>9} '
          f'{"engine s":>9} {"loop s":>8} {"ratio":>7} {"F1 eng/loop":>13} '
          f'{"peak MiB":>9}')
    for mode in args.modes:
        run = T if mode != 'latent_aug' else min(args.aug_tasks, T)
        sub = store.head(run)
        for clf in CLFS:
            if mode == 'latent_aug_expected' and clf == 'logistic_regression':
                continue
            aug = None if mode == 'linear' else make_augmenter(
                dic, mode, 100, 0)
            row = {'mode': mode, 'clf': clf, 'tasks_run': run,
                   'scaled_to': T}
            for dev in devices:
                if dev == 'cuda':
                    torch.cuda.reset_peak_memory_stats()
                meta_test(feats, feats, sub.head(min(run, 5)), clf, mode,
                          aug, dev)  # warm-up
                t0 = time.perf_counter()
                f1 = meta_test(feats, feats, sub, clf, mode, aug, dev)
                if dev == 'cuda':
                    torch.cuda.synchronize()
                    row['cuda_peak_mib'] = \
                        torch.cuda.max_memory_allocated() / 2 ** 20
                row[f'engine_{dev}_s'] = (time.perf_counter() - t0) * T / run
                row[f'engine_{dev}_f1'] = float(f1.mean())
            # the loop: sampled augmentation where the engine's is analytic
            loop_aug = None if mode == 'linear' else make_augmenter(
                dic, 'latent_aug', 100, 0)
            loop_run = run if mode != 'latent_aug_expected' else \
                min(args.aug_tasks, T)
            f1_loop, sec = sklearn_loop(feats, feats, store.head(loop_run),
                                        clf, loop_aug)
            row['loop_s'] = sec * T / loop_run
            row['loop_f1'] = float(f1_loop.mean())
            row['peak_rss_mib'] = peak_rss_mib()
            out['rows'].append(row)
            for dev in devices:
                print(f'{mode:<20} {clf + ("" if dev == "cpu" else " cuda"):<20}'
                      f' {run:>9} {row[f"engine_{dev}_s"]:9.2f} '
                      f'{row["loop_s"]:8.1f} '
                      f'{row["loop_s"] / row[f"engine_{dev}_s"]:6.1f}x '
                      f'{row[f"engine_{dev}_f1"]:6.2f}/{row["loop_f1"]:6.2f} '
                      f'{row.get("cuda_peak_mib", row["peak_rss_mib"]):9.0f}')
    save(args.output, out)


if __name__ == '__main__':
    main()
