#!/usr/bin/env python
"""Batched meta-test engine vs the per-task scikit-learn loop, same machine.

For each classifier and mode (linear, latent_aug) this times, on the same
tasks and the same augmented sets:

- ``batched``: :func:`openselfsup.lowshot.meta_test.meta_test` (torch, CPU, or
  CUDA with ``--device cuda``; then the device's peak memory is in the JSON);
- ``loop``: one scikit-learn fit/predict per task (``RidgeClassifier()``,
  ``LogisticRegression(max_iter=1000)``, ``NearestCentroid()``) on a process
  pool with one single-threaded worker per core, the way the original
  distributed its tasks.

Every measurement runs in a fresh process, so its peak memory (``ru_maxrss``
above the RSS after loading the data) is its own; for the loop the largest
worker's peak is reported too. Data: synthetic class-structured 512-d
features, 5-way tasks with 15 queries per class, a base dictionary with 16
prototypes and 2000 shift vectors per prototype.

The loop is :func:`benchmarks.sklearn_loop.sklearn_loop` (also used by
``bench_sweep.py``).

Example (the full run, then a quick look)::

    python -m benchmarks.bench_meta_test --loop-tasks 200 --threads 2 \\
        --repeat 3 --output benchmarks/results/meta_test.json
    python -m benchmarks.bench_meta_test --num-task 100 --loop-tasks 20
"""
import argparse
import json
import os
import resource
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, ROOT)

from benchmarks._common import (  # noqa: E402
    add_output, count, machine, parse, parser, run_child, run_main, save)

CLFS = ('Ridge', 'logistic_regression', 'nearest_centroid')
MODES = ('linear', 'latent_aug')


def _rss_kib() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') // 1024


def make_data(path: str, dim: int, num_task: int, shots: int,
              seed: int) -> None:
    """Features, tasks and a base dictionary, saved to ``path`` (.npz).

    5-way tasks with ``shots`` support and 15 queries per class, support
    from one pool and queries from another (:func:`benchmarks.fixtures.
    make_store`: the domains of the run spec are 9-, 5- and 3-way on fixed
    feature sets).
    """
    from benchmarks.fixtures import make_store
    from openselfsup.lowshot.dictionary import build_dictionary
    rng = np.random.default_rng(seed)
    ways = 5
    centers = rng.normal(size=(ways, dim)) * 0.12 + 1.0

    def pool(per):
        y = np.repeat(np.arange(ways), per)
        x = np.abs(centers[y] + rng.normal(size=(len(y), dim)) * 0.5)
        return x.astype(np.float32), y
    sup, sup_y = pool(400)
    qry, qry_y = pool(200)
    base, base_y = pool(800)
    store = make_store(sup_y, qry_y, ways, shots, num_task, seed=seed)
    dic = build_dictionary(base, base_y, 16, 2000, seed)
    np.savez(path, sup=sup, qry=qry, support_idx=store.support_idx,
             query_idx=store.query_idx, support_labels=store.support_labels,
             query_labels=store.query_labels, classes=store.classes,
             prototypes=dic.prototypes.astype(np.float32),
             shift_bank=dic.shift_bank)


def _load(path):
    from openselfsup.lowshot.tasks import TaskStore
    z = dict(np.load(path))
    store = TaskStore(z['support_idx'], z['query_idx'], z['support_labels'],
                      z['query_labels'], z['classes'], 0,
                      z['support_idx'].shape[1] // len(z['classes']), 15,
                      'bench', '', 'support', 'query', -1, '')
    return z, store


def _augmenter(z, num_aug_shots, seed=0):
    import torch
    from openselfsup.lowshot.augment import LatentAugmenter
    return LatentAugmenter(torch.from_numpy(z['prototypes']),
                           torch.from_numpy(z['shift_bank']), num_aug_shots,
                           seed)


# ---------------------------------------------------------------- loop side
def run_loop(path, mode, clf, num_aug_shots, num_task, workers):
    """The per-task loop (:mod:`benchmarks.sklearn_loop`) on the first
    ``num_task`` tasks, with the engine's augmenter (the same draws)."""
    from benchmarks.sklearn_loop import sklearn_loop
    z, store = _load(path)
    aug = _augmenter(z, num_aug_shots) if mode == 'latent_aug' else None
    base = _rss_kib()
    r = sklearn_loop(z['sup'], z['qry'], store, clf, aug,
                     tasks=range(num_task), processes=workers)
    return {'startup_s': r['startup_s'], 'time_s': r['task_s'],
            'f1': (100 * r['f1'].mean(0)).tolist(),
            'peak_extra_mib': (resource.getrusage(resource.RUSAGE_SELF)
                               .ru_maxrss - base) / 1024,
            'worker_peak_mib': r['worker_peak_mib']}


# ------------------------------------------------------------- batched side
def run_batched(path, mode, clf, num_aug_shots, num_task, threads, head,
                device='cpu', float32=False):
    import torch
    from openselfsup.lowshot.meta_test import meta_test
    z, store = _load(path)
    store = store.head(num_task)
    aug = _augmenter(z, num_aug_shots) if mode == 'latent_aug' else None
    base = _rss_kib()
    t0 = time.perf_counter()
    f1, counts = meta_test(z['sup'], z['qry'], store, clf, mode=mode,
                           augmenter=aug, device=device, threads=threads,
                           dtype=torch.float32 if float32 else torch.float64)
    elapsed = time.perf_counter() - t0  # meta_test copies F1 to the host
    r = {'time_s': elapsed, 'f1': (100 * f1[:head].mean(0)).tolist(),
         'convergence': counts,
         'peak_extra_mib': (resource.getrusage(resource.RUSAGE_SELF)
                            .ru_maxrss - base) / 1024}
    if device == 'cuda':  # the device's own peak, beside the host's
        r['cuda_peak_mib'] = torch.cuda.max_memory_allocated() / 2 ** 20
    return r


def _measure(args, kind, mode, clf, num_task):
    """Run one measurement in a fresh interpreter; return its JSON."""
    spec = json.dumps({'kind': kind, 'mode': mode, 'clf': clf,
                       'num_task': num_task, 'data': args.data_path,
                       'num_aug_shots': args.num_aug_shots,
                       'workers': args.workers, 'threads': args.threads,
                       'device': args.device, 'float32': args.float32,
                       'head': args.head})
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [ROOT] + [x for x in [os.environ.get('PYTHONPATH')] if x]))
    out = run_child([sys.executable, '-m', 'benchmarks.bench_meta_test',
                     '--measure', spec], cwd=ROOT, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = parser(__doc__)
    p.add_argument('--num-task', type=count, default=1000,
                   help='tasks for the batched engine (default: %(default)s)')
    p.add_argument('--loop-tasks', type=count, default=None,
                   help='tasks actually run by the loop; its time is scaled '
                   'to --num-task (default: all)')
    p.add_argument('--num-shots', type=count, default=5,
                   help='support features per class')
    p.add_argument('--dim', type=count, default=512, help='feature width')
    p.add_argument('--num-aug-shots', type=count, default=100,
                   help='latent_aug: shots per support feature after '
                   'augmentation (A)')
    p.add_argument('--workers', type=count, default=os.cpu_count(),
                   help='loop processes (default: all cores, %(default)s)')
    p.add_argument('--device', default='cpu', choices=('cpu', 'cuda'),
                   help='device of the engine (default: %(default)s); the '
                   'loop always runs on the CPU cores')
    p.add_argument('--threads', type=int, default=0,
                   help='CPU worker threads of the engine (default: 0 = '
                   'one per available core, the CLIs\' default)')
    p.add_argument('--float32', action='store_true',
                   help='the engine in float32, as the CLIs\' --float32 '
                   '(default: float64)')
    p.add_argument('--clf', nargs='+', default=list(CLFS), choices=CLFS,
                   help='classifiers timed')
    p.add_argument('--mode', nargs='+', default=list(MODES), choices=MODES,
                   help='modes timed (latent_aug: sampled shifts)')
    p.add_argument('--seed', type=int, default=0,
                   help='seed of the features, tasks and dictionary')
    p.add_argument('--repeat', type=count, default=1,
                   help='fresh-process runs of each side, alternating '
                   'engine and loop; the table shows the median time of '
                   'each side, the JSON every run (default: %(default)s)')
    add_output(p)
    p.add_argument('--measure', help=argparse.SUPPRESS)
    args = parse(p, argv)
    if args.measure:
        s = json.loads(args.measure)
        if s['kind'] == 'batched':
            r = run_batched(s['data'], s['mode'], s['clf'],
                            s['num_aug_shots'], s['num_task'], s['threads'],
                            s['head'], s['device'], s['float32'])
        else:
            r = run_loop(s['data'], s['mode'], s['clf'], s['num_aug_shots'],
                         s['num_task'], s['workers'])
        from openselfsup.utils import json_text
        print(json_text(r, indent=None))
        return 0
    from openselfsup.lowshot.parallel import resolve_threads
    from openselfsup.utils.device import resolve_device
    resolve_device(args.device)  # no GPU: one line here, not in a child
    resolve_threads(args.threads)
    loop_tasks = min(args.loop_tasks or args.num_task, args.num_task)
    args.head = loop_tasks  # F1 columns compare the same tasks
    out = {'machine': machine(), 'args': {k: v for k, v in vars(args).items()
                                          if k != 'measure'}, 'rows': []}
    out['machine']['engine_threads'] = args.threads  # 0: one per core
    with tempfile.TemporaryDirectory() as tmp:
        args.data_path = os.path.join(tmp, 'data.npz')
        make_data(args.data_path, args.dim, args.num_task, args.num_shots,
                  args.seed)
        print(f'{args.num_task} tasks, 5-way {args.num_shots}-shot, 15 '
              f'queries/class, {args.dim}-d, aug shots {args.num_aug_shots};'
              f' loop: {args.workers} processes on {loop_tasks} tasks'
              + (f', time scaled x{args.num_task / loop_tasks:g}'
                 if loop_tasks < args.num_task else '')
              + f'; engine: {args.device}, --threads {args.threads}'
              + (', float32' if args.float32 else '') + '; '
              f'{os.cpu_count()} cores')
        if args.repeat > 1:
            print(f'times: median of {args.repeat} fresh-process runs per '
                  'side (engine and loop alternating)')
        print('F1 b/l: mean F1 (%) of batched / loop on the tasks both ran; '
              'peak MiB: batched process / loop parent / largest worker, '
              'above the RSS after loading the data')
        head = (f'{"mode":<11}{"classifier":<21}{"batched s":>10}'
                f'{"loop s":>10}{"speed-up":>9}{"F1 b/l":>13}'
                f'{"peak MiB b":>11}{"loop/worker":>13}')
        print(head)
        print('-' * len(head))
        for mode in args.mode:
            for clf in args.clf:
                runs = []
                for _ in range(max(1, args.repeat)):  # alternate the sides
                    b = _measure(args, 'batched', mode, clf, args.num_task)
                    lp = _measure(args, 'loop', mode, clf, loop_tasks)
                    # pool start-up once, task time scaled to --num-task
                    runs.append((b, lp, lp['startup_s'] + lp['time_s']
                                 * (args.num_task / loop_tasks)))
                engine_s = float(np.median([r[0]['time_s'] for r in runs]))
                loop_s = float(np.median([r[2] for r in runs]))
                b, lp, _ = runs[-1]
                f1b = np.mean(b['f1'])
                f1l = np.mean(lp['f1'])
                print(f'{mode:<11}{clf:<21}{engine_s:>10.2f}'
                      f'{loop_s:>10.2f}{loop_s / engine_s:>8.1f}x'
                      f'{f1b:>7.1f}/{f1l:<5.1f}'
                      f'{b["peak_extra_mib"]:>11.0f}'
                      f'{lp["peak_extra_mib"]:>7.0f}/'
                      f'{lp["worker_peak_mib"]:<5.0f}', flush=True)
                stopped = {k: v for k, v in b['convergence'].items() if v}
                if stopped:  # tasks on max_iter, a failed line search, SVD
                    print(f'  engine: {stopped} of {args.num_task} tasks')
                out['rows'].append({
                    'mode': mode, 'clf': clf, 'engine_tasks': args.num_task,
                    'loop_tasks': loop_tasks, 'engine_s': engine_s,
                    'loop_startup_s': lp['startup_s'],
                    'loop_task_s_measured': lp['time_s'],
                    'loop_s_scaled': loop_s, 'speed_up': loop_s / engine_s,
                    'engine_s_runs': [r[0]['time_s'] for r in runs],
                    'loop_s_scaled_runs': [r[2] for r in runs],
                    'engine_f1': b['f1'], 'loop_f1': lp['f1'],
                    'engine_convergence': b['convergence'],
                    'engine_peak_extra_mib': b['peak_extra_mib'],
                    'engine_cuda_peak_mib': b.get('cuda_peak_mib'),
                    'loop_parent_peak_extra_mib': lp['peak_extra_mib'],
                    'loop_worker_peak_mib': lp['worker_peak_mib']})
    out['load_average_end'] = machine()['load_average']
    print(f'load average at start {out["machine"]["load_average"]}, at end '
          f'{out["load_average_end"]}')
    save(args.output, out)
    return 0


if __name__ == '__main__':
    run_main(main)
