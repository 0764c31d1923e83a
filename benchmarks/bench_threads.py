#!/usr/bin/env python
"""The default ``--threads`` against 1 and 2 threads over a grid of shapes.

Each cell is one meta-test (:func:`openselfsup.lowshot.meta_test.meta_test`,
called in this process: a cell takes milliseconds to seconds, so process
start-up would hide the engine's own time; ``bench_startup.py`` times whole
``distributed_meta_test.py`` processes): ways x shots x feature width x mode
(linear, sampled latent augmentation with 100 augmentation shots) x
classifier, timed with ``threads=None`` (the CLIs' default: one per
available core), ``threads=1`` and ``threads=2``, the three interleaved
(rotating order) ``--repeat`` times; one sample repeats the meta-test back
to back for ``--min_sample_s`` at least. A cell's time per setting is its
fastest sample (the least disturbed by other jobs on the machine; the
medians are printed beside). Verdict per cell: default within 5% of the
best of {1, 2}. Each cell also records the plan every setting ran
(threads x tasks per chunk, from ``meta_test(plan=...)``): where the
default ran the plan of one of them (on 2 cores it IS ``--threads 2``),
the verdict compares it with the setting that ran another plan
(:func:`verdict`), and the two identical runs measure the machine's noise.
``--summarise FILE`` prints the verdict of a saved run.

Conditions: ``idle`` (nothing started by the benchmark; the machine's load
average is printed) and ``contended``: the benchmark starts ONE competing
CPU-bound process (``python -c 'while True: pass'``, same niceness) for the
whole grid and stops it afterwards.

Tasks per cell: 1000 (the protocol's count, what a user runs) unless a
single-threaded run would take more than ``--max_run_s`` (estimated from 8
tasks, 2 for large ones), then as many as fit in it (at least
``--min_tasks``). Cells whose per-task training set exceeds ``--max_train``
elements are skipped (by default only 9-way 100-shot latent_aug at width
2048: 90,000 x 2048 per task). Features: class-structured, L2-normalised
(:func:`benchmarks.fixtures.make_features`), 400 support and 100 query rows
per class; the dictionary has K = 16 prototypes and ``--shift_vectors``
shift vectors (the draws' cost does not depend on M).

    python -m benchmarks.bench_threads --output benchmarks/results/threads.json
    python -m benchmarks.bench_threads --quick     # a smaller grid
"""
import itertools
import os
import sys
import time

import numpy as np

if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))

from benchmarks._common import (add_output, contention, count,
                                load_average, machine, parse, parser,
                                run_main, save, seconds, seconds_or_zero)

CLFS = ('Ridge', 'logistic_regression', 'nearest_centroid')
SETTINGS = (('default', None), ('1', 1), ('2', 2))
TOLERANCE = 1.05
#: the grid flags and what --quick sets where they are not given
GRID_DEFAULTS = {'shots': [1, 10, 100], 'widths': [128, 512, 2048],
                 'max_run_s': 3.0}
QUICK = {'shots': [1, 10], 'widths': [128, 512], 'max_run_s': 1.0}


class Pools:
    """Support / query pools and a dictionary of one width (built once)."""

    def __init__(self, width: int, shift_vectors: int, seed: int = 0):
        import torch
        from benchmarks.fixtures import make_features
        from openselfsup.lowshot.augment import LatentAugmenter
        from openselfsup.lowshot.dictionary import build_dictionary
        self.sup_y = np.repeat(np.arange(9), 400)
        self.qry_y = np.repeat(np.arange(9), 100)
        name = f'grid{width}'
        self.sup = make_features(self.sup_y, 'NCT', name, seed, width)
        self.qry = make_features(self.qry_y, 'NCT', name, seed + 1, width)
        dic = build_dictionary(self.sup, self.sup_y, 16, shift_vectors, seed)
        self.aug = LatentAugmenter(
            torch.from_numpy(dic.prototypes.astype(np.float32)),
            torch.from_numpy(dic.shift_bank), 100, seed)

    def store(self, ways: int, shots: int, num_task: int):
        from benchmarks.fixtures import make_store
        return make_store(self.sup_y, self.qry_y, ways, shots, num_task)


def run(pools, store, clf, mode, threads, calls: int = 1,
        plan: dict = None) -> float:
    """Seconds per meta-test, over ``calls`` back-to-back calls (``plan``
    receives the threads and chunk size the run chose)."""
    from openselfsup.lowshot.meta_test import meta_test
    t0 = time.perf_counter()
    for _ in range(calls):
        meta_test(pools.sup, pools.qry, store, clf, mode=mode,
                  augmenter=pools.aug if mode == 'latent_aug' else None,
                  threads=threads, plan=plan)
    return (time.perf_counter() - t0) / calls


def train_size(ways, shots, width, mode) -> int:
    """Elements of one task's (materialised) training set."""
    return ways * shots * (100 if mode == 'latent_aug' else 1) * width


def measure_cell(pools, ways, shots, clf, mode, args,
                 num_task: int = None) -> dict:
    """Choose the task count (unless given), then time the settings
    interleaved."""
    probe = 2 if train_size(ways, shots, pools.sup.shape[1], mode) > 5e6 \
        else 8
    t = run(pools, pools.store(ways, shots, probe), clf, mode, 1)  # warm-up
    t = min(t, run(pools, pools.store(ways, shots, probe), clf, mode, 1))
    per_task = t / probe  # an overestimate: fixed costs included
    if num_task is None:
        num_task = 1000 if per_task * 1000 <= args.max_run_s else int(
            np.clip(args.max_run_s / per_task, args.min_tasks, 1000))
    store = pools.store(ways, shots, num_task)
    # one sample lasts --min_sample_s at least (back-to-back calls): a
    # sample of a few ms measures the scheduler's tick, not the engine
    calls = int(np.clip(np.ceil(args.min_sample_s
                                / max(per_task * num_task, 1e-4)), 1, 200))
    times = {name: [] for name, _ in SETTINGS}
    plans = {name: {} for name, _ in SETTINGS}
    for r in range(args.repeat):
        order = SETTINGS[r % 3:] + SETTINGS[:r % 3]
        for name, threads in order:
            times[name].append(run(pools, store, clf, mode, threads, calls,
                                   plans[name]))
    cell = {'ways': ways, 'shots': shots, 'width': pools.sup.shape[1],
            'mode': mode, 'clf': clf, 'num_task': num_task,
            'repeats': args.repeat, 'calls_per_sample': calls,
            'median_s': {k: float(np.median(v)) for k, v in times.items()},
            'min_s': {k: float(np.min(v)) for k, v in times.items()},
            'runs_s': times, 'plans': plans,
            # where each setting's time went (its last meta-test)
            'thread_time': {k: p.pop('thread_time', None)
                            for k, p in plans.items()}}
    cell.update(verdict(cell))
    return cell


def anatomy(cell: dict) -> str:
    """One line: the CPU time per task of one and two threads, and the
    share of the two threads' lifetime they waited for a CPU (another
    process on the cores) or slept (the GIL, the queue)."""
    tt, n = cell['thread_time'], cell['num_task']
    one, two = tt['1'], tt['2']
    text = (f'      where the time went: CPU per task '
            f'{1e6 * one["cpu_s"] / n:.0f} us (1 thread), '
            f'{1e6 * two["cpu_s"] / n:.0f} us (2 threads, '
            f'x{two["cpu_s"] / one["cpu_s"]:.2f})')
    if two['cpu_wait_s'] is not None:
        slept = two['wall_s'] - two['cpu_s'] - two['cpu_wait_s']
        text += (f'; the 2 threads waited for a CPU '
                 f'{100 * two["cpu_wait_s"] / two["wall_s"]:.0f}% and slept '
                 f'{100 * max(0.0, slept) / two["wall_s"]:.0f}% of their time')
    return text


def verdict(cell: dict) -> dict:
    """Default against the best of {1, 2} threads, on the fastest samples.

    ``default_over_best`` divides by the faster of the two as measured.
    Where the default ran the same plan as one of them (on 2 cores the
    default IS ``--threads 2``), that setting is the default run again: the
    best of {1, 2} is then the default itself or the other setting, so the
    verdict ``default_over_other`` compares the default with the settings
    that ran another plan (1.0 when none did: the same work three times),
    and ``noise`` is the default over its identical twin (medians).
    """
    low, med = cell['min_s'], cell['median_s']
    plans = {k: (p['threads'], p['chunk_size'])
             for k, p in cell['plans'].items()}
    same = [k for k in ('1', '2') if plans[k] == plans['default']]
    other = [k for k in ('1', '2') if k not in same]
    best = min(('1', '2'), key=low.get)
    return {
        'default_over_best': low['default'] / low[best],
        'default_over_best_median': med['default'] / min(med['1'], med['2']),
        'same_plan_as': same,
        'default_over_other': (low['default'] / min(low[k] for k in other)
                               if other and same else
                               low['default'] / low[best] if not same
                               else 1.0),
        'noise': (med['default'] / med[same[0]] - 1) if same else None,
        'two_over_one': low['2'] / low['1']}


def plan_text(cell: dict) -> str:
    """``default 2x250, 1: 1x1000, 2: 2x250`` (threads x tasks per chunk);
    one plan when the three settings ran the same work."""
    p = {k: f'{v["threads"]}x{v["chunk_size"]}'
         for k, v in cell['plans'].items()}
    if len(set(p.values())) == 1:
        return f'all {p["default"]}'
    return f'default {p["default"]}, 1: {p["1"]}, 2: {p["2"]}'


def grid(args, condition: str, out: list, cells=None) -> None:
    """Measure ``cells`` (``(width, ways, shots, mode, clf, num_task)``,
    ``num_task`` None to choose it; default: the grid of ``args``)."""
    print(f'\n== {condition}: load average {load_average()}', flush=True)
    head = (f'{"ways":>4}{"shots":>6}{"width":>6} {"mode":<11}{"clf":<20}'
            f'{"tasks":>6}{"default ms":>11}{"1 thr ms":>9}{"2 thr ms":>9}'
            f'{"def/best":>9}{"(median)":>9}{"verdict":>8}'
            '  plan (threads x chunk)')
    print(head)
    if cells is None:
        cells = [(width, *rest, None) for width in args.widths
                 for rest in itertools.product(args.ways, args.shots,
                                               args.modes, args.clfs)]
    pools = {}
    for width, ways, shots, mode, clf, num_task in cells:
        if train_size(ways, shots, width, mode) > args.max_train:
            print(f'{ways:>4}{shots:>6}{width:>6} {mode:<11}{clf:<20}'
                  '  skipped: training set above --max_train')
            continue
        if width not in pools:
            pools = {width: Pools(width, args.shift_vectors)}
        c = measure_cell(pools[width], ways, shots, clf, mode, args,
                         num_task)
        c['condition'] = condition
        c['load_average'] = load_average()
        out.append(c)
        m = c['min_s']
        flag = '' if c['default_over_other'] <= TOLERANCE else '  > 5%'
        print(f'{ways:>4}{shots:>6}{width:>6} {mode:<11}{clf:<20}'
              f'{c["num_task"]:>6}{1e3 * m["default"]:>11.1f}'
              f'{1e3 * m["1"]:>9.1f}{1e3 * m["2"]:>9.1f}'
              f'{c["default_over_best"]:>9.3f}'
              f'{c["default_over_best_median"]:>9.3f}'
              f'{c["default_over_other"]:>8.3f}  '
              f'{plan_text(c)}{flag}', flush=True)
        if args.anatomy:
            print(anatomy(c), flush=True)
    print(f'load average at the end of {condition}: {load_average()}')


def main(argv=None):
    p = parser(__doc__)
    p.add_argument('--ways', type=count, nargs='+', default=[2, 9],
                   help='classes per task')
    p.add_argument('--shots', type=count, nargs='+', default=None,
                   help='support features per class (default: 1 10 100; '
                   '--quick: 1 10)')
    p.add_argument('--widths', type=count, nargs='+', default=None,
                   help='feature widths (default: 128 512 2048; --quick: '
                   '128 512)')
    p.add_argument('--modes', nargs='+', default=['linear', 'latent_aug'],
                   choices=['linear', 'latent_aug'],
                   help='latent_aug: sampled shifts, 100 augmentation shots')
    p.add_argument('--clfs', nargs='+', default=list(CLFS), choices=CLFS,
                   help='classifiers')
    p.add_argument('--conditions', nargs='+', default=['idle', 'contended'],
                   choices=['idle', 'contended'],
                   help='contended: with one competing CPU-bound process')
    p.add_argument('--max_run_s', type=seconds, default=None,
                   help='cells run 1000 tasks (the protocol\'s count) unless '
                   'a single-thread run would take longer than this; then '
                   'as many tasks as fit (at least --min_tasks) (default: '
                   '3; --quick: 1)')
    p.add_argument('--min_tasks', type=count, default=4,
                   help='fewest tasks of a cell (see --max_run_s)')
    p.add_argument('--max_train', type=float, default=5e7,
                   help='skip cells whose per-task training set (rows after '
                   'augmentation x width) is larger (default 5e7: all but '
                   '9-way 100-shot latent_aug at width 2048, 90,000 x 2048)')
    p.add_argument('--repeat', type=count, default=5,
                   help='interleaved samples per setting')
    p.add_argument('--min_sample_s', type=seconds_or_zero, default=0.3,
                   help='a sample repeats the meta-test back to back until '
                   'it lasts this long (short cells are otherwise at the '
                   'mercy of single scheduler ticks)')
    p.add_argument('--shift_vectors', type=count, default=500,
                   help='M of the dictionary of each width')
    p.add_argument('--quick', action='store_true',
                   help='a smaller grid: shots 1 10, widths 128 512, runs up '
                   'to 1 s, where those flags are not given')
    p.add_argument('--anatomy', action='store_true',
                   help='print under each cell where the time of one and '
                   'two threads went: CPU time per task, and the share of '
                   'their time the two threads waited for a CPU or slept '
                   '(the GIL); from the kernel\'s per-thread counts')
    add_output(p)
    p.add_argument('--recheck', metavar='JSON',
                   help='measure again, with this run\'s --repeat, only the '
                   'cells over 5%% of a saved run (same task counts; a '
                   'second look at cells that may be noise: both runs are '
                   'reported)')
    p.add_argument('--summarise', metavar='JSON',
                   help='print the verdict of a saved run (its --output) and '
                   'measure nothing')
    args = parse(p, argv)
    if args.summarise:
        summarise(load_run(args.summarise))
        return
    for key, value in (QUICK if args.quick else GRID_DEFAULTS).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    first = load_run(args.recheck) if args.recheck else None
    from openselfsup.lowshot.parallel import resolve_threads
    out = {'machine': machine(), 'args': vars(args),
           'default_threads': resolve_threads(None), 'cells': []}
    print(f'default --threads here: {out["default_threads"]} (one per '
          f'available core); {os.cpu_count()} cores')
    todo = {cond: None for cond in args.conditions}
    if first is not None:  # the cells over 5% of a saved run, again
        # the cells as the saved run built them (its pools and skips)
        for key in ('shift_vectors', 'max_train'):
            if key in first.get('args', {}):
                setattr(args, key, first['args'][key])
        out['args'] = vars(args)
        todo = {}
        for c in first['cells']:
            if verdict(c)['default_over_other'] > TOLERANCE:
                todo.setdefault(c['condition'], []).append(
                    (c['width'], c['ways'], c['shots'], c['mode'], c['clf'],
                     c['num_task']))
        out['recheck_of'] = args.recheck
        print(f'{sum(map(len, todo.values()))} cell(s) over 5% in '
              f'{args.recheck}, measured again with --repeat {args.repeat}')
    for cond, cells in todo.items():
        with contention(cond == 'contended') as hog:
            if hog is not None:
                print('started one competing CPU-bound process (pid '
                      f"{hog.pid}: python -c 'while True: pass')")
            grid(args, cond, out['cells'], cells)
    summarise(out)
    out['load_average_end'] = load_average()
    save(args.output, out)


def load_run(path: str) -> dict:
    """A saved run of this benchmark (its ``--output``), or one line
    saying why not."""
    from openselfsup.utils import InputError, load_json
    saved = load_json(path, 'bench_threads output')
    if not isinstance(saved, dict) or not isinstance(saved.get('cells'),
                                                     list):
        raise InputError(f'{path}: not the --output of bench_threads (no '
                         'list of "cells")')
    return saved


def summarise(out: dict) -> None:
    """Print the verdict per condition (and record the counts in ``out``)."""
    print('\nsummary: default within 5% of the best of --threads 1 and 2, on '
          'the fastest sample of each (verdict: against the settings that '
          'ran another plan; as measured against both in brackets):')
    if out['cells'] == [] and out.get('recheck_of'):
        print('  nothing to measure again')
    for cond in dict.fromkeys(c['condition'] for c in out['cells']):
        cells = [{**c, **verdict(c)} for c in out['cells']
                 if c['condition'] == cond]
        bad = [c for c in cells if c['default_over_other'] > TOLERANCE]
        raw = [c for c in cells if c['default_over_best'] > TOLERANCE]
        worst = max(cells, key=lambda c: c['default_over_other'])
        print(f'  {cond}: {len(cells) - len(bad)} of {len(cells)} cells '
              f'within 5% ({len(cells) - len(raw)}); worst '
              f'{worst["default_over_other"]:.3f} ({worst["ways"]}-way '
              f'{worst["shots"]}-shot {worst["width"]}-d {worst["mode"]} '
              f'{worst["clf"]}, {worst["num_task"]} tasks, '
              f'{plan_text(worst)})')
        for c in bad:
            print(f'    over 5%: {c["ways"]}-way {c["shots"]}-shot '
                  f'{c["width"]}-d {c["mode"]} {c["clf"]}: '
                  f'{c["default_over_other"]:.3f} ({plan_text(c)})')
        noise = [abs(c['noise']) for c in cells if c['noise'] is not None]
        if noise:
            print(f'    the default and its identical setting (same plan) '
                  f'differ by {100 * np.median(noise):.1f}% in the median '
                  f'cell, {100 * max(noise):.1f}% at most (medians): the '
                  'noise of this machine')
        out[f'{cond}_cells_over_5pct'] = len(bad)
        out[f'{cond}_cells_over_5pct_as_measured'] = len(raw)


if __name__ == '__main__':
    run_main(main)
