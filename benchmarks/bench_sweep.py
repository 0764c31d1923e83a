"""Near-domain sweep of one model at paper scale, against the per-task loop.

Writes the paper-scale fixture (NCT train 100,000 x 512, NCT test 20,000,
L2-normalised; :mod:`benchmarks.fixtures`), makes the task stores (1000
tasks per novel class and shots) and the base dictionaries (one per novel
class, leaving it out) once, then times in one run, in-process:

1. the linear-mode sweep (all novel classes x shots 1/5/10 x Ridge,
   logistic regression, nearest centroid) through ``run_sweep`` (the
   library call of ``wsi_workdir/sweep.py``, without process start-up:
   ``bench_scripts.py`` times the scripts as users run them);
2. the Ridge sweep with analytic latent augmentation
   (``latent_aug_expected``, A = 100);
2b. with ``--sampled``: the sweep with sampled latent augmentation (Ridge,
   logistic regression, nearest centroid, A = 100 drawn shifts), the
   paper's protocol (the GPU target of the performance issue);
3. the per-task scikit-learn loop on a process pool over all cores, on a
   SAMPLE of tasks (``--loop_tasks`` per shots and classifier, novel class
   0): per setting, one pool start-up plus the sample's task time scaled
   to ``--num_task`` tasks, times the number of novel classes; for the
   analytic row the loop is
   the original's sampled latent augmentation (A = 100, materialised).

All novel classes read one feature set (``--model_template '{model}'``):
the work per setting is the real one, only the 9 feature files of the
``clp_wo_<c>`` models are not loaded (about 0.5 s each). Mean F1 is printed
in percent (the results store fractions).

    python -m benchmarks.bench_sweep --output benchmarks/results/sweep.json
    python -m benchmarks.bench_sweep --device cuda --sampled --threads 0 \\
        --skip loop --output benchmarks/results/sweep_cuda.json
"""
import os
import sys

import torch

if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))

from benchmarks._common import (add_output, count, machine, novel_class,
                                parse, parser, peak_rss_mib, run_main, save)
from benchmarks.fixtures import ensure_task_store, prepare_near
from benchmarks.sklearn_loop import sklearn_loop
from openselfsup.lowshot.dictionary import load_dictionary
from openselfsup.lowshot.features import load_features
from openselfsup.lowshot.meta_test import make_augmenter
from openselfsup.lowshot.parallel import resolve_threads
from openselfsup.lowshot.spec import TaskSpec
from openselfsup.lowshot.sweep import run_sweep
from openselfsup.lowshot.sweep_settings import sweep_specs
from openselfsup.utils.device import resolve_device

CLFS = ('Ridge', 'logistic_regression', 'nearest_centroid')


def main(argv=None):
    p = parser(__doc__)
    p.add_argument('--workdir', default='/tmp/paper_bench',
                   help='low-shot workdir of the fixture, task stores and '
                   'dictionaries (made on the first run, reused after)')
    p.add_argument('--num_task', type=count, default=1000,
                   help='tasks per setting')
    p.add_argument('--novel_classes', type=novel_class, nargs='+',
                   default=list(range(9)),
                   help='NCT classes held out, one setting each')
    p.add_argument('--shots', type=count, nargs='+', default=[1, 5, 10],
                   help='support features per class')
    p.add_argument('--loop_tasks', type=count, default=40,
                   help='tasks per (shots, classifier) in the loop sample')
    p.add_argument('--aug_loop_tasks', type=count, default=6,
                   help='tasks per shots in the latent_aug loop sample')
    p.add_argument('--skip', nargs='*', default=[],
                   choices=['linear', 'analytic', 'loop'],
                   help='parts not to run (default: none)')
    p.add_argument('--sampled', action='store_true',
                   help='also the sampled latent_aug sweep (all classifiers)')
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'],
                   help='device of the engine (the loop is always CPU)')
    p.add_argument('--threads', type=int, default=0,
                   help='CPU worker threads of the engine (default: 0 = one '
                   'per available core, the CLIs\' default)')
    add_output(p)
    args = parse(p, argv)
    wd, T, novels = args.workdir, args.num_task, args.novel_classes
    # a sample is at most every task (as bench_meta_test's and
    # bench_scripts' samples)
    args.loop_tasks = min(args.loop_tasks, T)
    args.aug_loop_tasks = min(args.aug_loop_tasks, T)
    resolve_device(args.device)
    resolve_threads(args.threads)
    out = {'machine': machine(), 'args': vars(args)}

    setup, dict_paths = prepare_near(wd, {c: ['clp'] for c in novels},
                                     args.shots, T)
    out.update(setup)
    print(f'setup: fixture {out["fixture_s"]:.1f} s, task stores '
          f'{out["task_stores_s"]:.1f} s, dictionaries '
          f'{out["dictionaries_s"]:.1f} s (made once, reused by every sweep)')

    common = dict(novel_classes=novels, shots=args.shots, num_task=T,
                  model_template='{model}')
    if args.device == 'cuda':
        torch.cuda.reset_peak_memory_stats()

    def sweep(clfs, mode):
        specs = sweep_specs('clp', 'near', clfs=clfs, modes=[mode], **common)
        return run_sweep(wd, specs, args.device, threads=args.threads,
                         log=None)
    sweeps = {}
    if 'linear' not in args.skip:
        sweeps['linear'] = sweep(list(CLFS), 'linear')
    if 'analytic' not in args.skip:
        sweeps['analytic'] = sweep(['Ridge'], 'latent_aug_expected')
    if args.sampled:
        sweeps['sampled'] = sweep(list(CLFS), 'latent_aug')
    for k, sw in sweeps.items():
        out[f'{k}_sweep'] = {
            'elapsed_s': sw['elapsed_s'], 'settings': sw['num_settings'],
            'per_setting_s': {f'{r["clf"]} {r["num_shots"]}-shot novel '
                              f'{r["novel_class"]}': r['elapsed_s']
                              for r in sw['settings']},
            'mean_f1_percent': {f'{r["clf"]} {r["num_shots"]}-shot novel '
                                f'{r["novel_class"]}': 100 * r['average_mean']
                                for r in sw['settings']}}

    loop = {}
    if 'loop' not in args.skip:
        sup = load_features(wd, 'clp', 'NCT_train').features
        qry = load_features(wd, 'clp', 'NCT_test').features
        for s in args.shots:
            store = ensure_task_store(wd, TaskSpec(
                'near', s, T, novel_class=novels[0]))
            for clf in CLFS:
                r = sklearn_loop(sup, qry, store, clf,
                                 tasks=range(args.loop_tasks))
                loop[f'linear {clf} {s}'] = r['startup_s'] + r['task_s'] \
                    * T / args.loop_tasks
            aug = make_augmenter(load_dictionary(dict_paths['clp', novels[0]]),
                                 'latent_aug', 100)
            r = sklearn_loop(sup, qry, store, 'Ridge', aug,
                             tasks=range(args.aug_loop_tasks))
            loop[f'latent_aug Ridge {s}'] = r['startup_s'] + r['task_s'] \
                * T / args.aug_loop_tasks
        # one pool start-up per setting, task time scaled to T tasks
        out['loop_seconds_per_setting_scaled'] = loop

    print(f'\nnear-domain sweep at paper scale: {len(novels)} novel classes x '
          f'shots {args.shots} x {T} tasks; loop = per-task scikit-learn on '
          f'a pool of all cores, measured on {args.loop_tasks} '
          f'({args.aug_loop_tasks} for latent_aug) tasks per shots and '
          'classifier, SCALED to the full sweep')
    print(f'{"sweep":<34} {"engine s":>9} {"loop s (scaled)":>16} '
          f'{"ratio":>7}')
    rows = []
    for key, clfs, loop_key in (('linear', CLFS, 'linear'),
                                ('analytic', ('Ridge',), 'latent_aug'),
                                ('sampled', CLFS, None)):
        if key not in sweeps:
            continue
        eng = sweeps[key]['elapsed_s']['total']
        scaled = None
        if loop and loop_key:
            scaled = sum(loop[f'{loop_key} {c} {s}'] for c in clfs
                         for s in args.shots) * len(novels)
        name = {'linear': 'linear, all classifiers',
                'analytic': 'Ridge latent_aug_expected vs sampled',
                'sampled': 'sampled latent_aug, all classifiers'}[key]
        ratio = f'{scaled / eng:7.1f}x' if scaled else '      -'
        loop_txt = f'{scaled:16.0f}' if scaled else f'{"-":>16}'
        print(f'{name:<34} {eng:9.1f} {loop_txt} {ratio}')
        rows.append({'sweep': name, 'engine_s': eng, 'loop_scaled_s': scaled})
        for clf in clfs:
            t = sum(r['elapsed_s'] for r in sweeps[key]['settings']
                    if r['clf'] == clf)
            print(f'  {clf:<32} {t:9.1f}')
    total = sum(sw['elapsed_s']['total'] for sw in sweeps.values())
    print(f'{"all sweeps above, wall time":<34} {total:9.1f} '
          f'({total / 60:.1f} min, engine on {args.device})')
    out['rows'] = rows
    out['all_sweeps_s'] = total
    if args.device == 'cuda':
        out['cuda_peak_allocated_mib'] = \
            torch.cuda.max_memory_allocated() / 2 ** 20
        out['cuda_device'] = torch.cuda.get_device_name()
        print(f'CUDA peak allocated {out["cuda_peak_allocated_mib"]:.0f} MiB '
              f'on {out["cuda_device"]}')
    out['peak_rss_mib'] = peak_rss_mib()
    print(f'peak RSS {out["peak_rss_mib"]:.0f} MiB; load average now '
          f'{machine()["load_average"]}')
    save(args.output, out)


if __name__ == '__main__':
    run_main(main)
