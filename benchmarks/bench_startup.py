#!/usr/bin/env python
"""Start-up of the low-shot commands, and of one meta-test run as a process.

1. ``--help`` of every command under ``wsi_workdir/`` (median wall time of
   ``--repeat`` fresh processes), beside a bare interpreter, ``import numpy``
   and ``import torch`` (torch's own import, the floor of any command that
   computes with it); and which heavy packages each command imports
   (``python -X importtime``): the low-shot commands must import none of
   the training stack (mmengine, mmpretrain, mmcv).
2. One meta-test as users run it: ``distributed_meta_test.py`` on 1000 tasks
   of 9-way 10-shot near-domain linear Ridge (paper-scale fixture, 100,000 x
   512 support pool), with the default ``--threads`` and ``--threads 1``,
   on the machine as it is and with ONE competing CPU-bound process started
   by the benchmark (``python -c 'while True: pass'``, same niceness). Wall
   time of the process against the solve time its result JSON records
   (``execution.elapsed_s``); the rest is start-up, loading and checking
   the inputs, and writing the result.
3. The extraction step of the experiment scripts as users run it: the five
   feature sets of one encoder (NCT train / test, LC25000, PAIP19 train /
   test of the synthetic data, 64 px, the quick start's width-16 ResNet-18
   at its seeded random initialisation, on the CPU) as five
   ``extract.py`` processes, one per set (what the scripts ran before
   da09c20), and as one process with the five sets (what they run now),
   interleaved ``--repeat`` times; the outputs of the two are compared.
4. The near-domain extraction script as users run it,
   ``sh wsi_workdir/scripts/extract_near_domain_feats.sh`` with its
   defaults (CLP and FSP x 9 held-out classes: 18 encoders, NCT train and
   test each), on the synthetic data with 18 width-16 checkpoints (each a
   seeded random initialisation saved as backbone weights): the script as
   it is (one process for the 18 encoders) against the same ``extract``
   call per encoder, 18 processes (the script before this part was
   written), ``--near_repeat`` times each; the features are compared.

    python -m benchmarks.bench_startup --output benchmarks/results/startup.json
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))

from benchmarks._common import (ChildFailed, add_output, count,
                                load_average, machine, parse, parser,
                                run_main, save)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMANDS = ('wsi_workdir/distributed_meta_test.py', 'wsi_workdir/sweep.py',
            'wsi_workdir/dict_construction.py',
            'wsi_workdir/tools/generate_task.py', 'wsi_workdir/summarize.py',
            'wsi_workdir/extract.py')
#: packages whose import is worth naming (the training stack first)
HEAVY = ('mmengine', 'mmpretrain', 'mmcv', 'torch', 'torchvision', 'scipy',
         'sklearn', 'faiss', 'matplotlib', 'PIL', 'tqdm')


def wall(cmd, env=None, cwd=ROOT, expect: int = 0) -> float:
    """Wall time of ``cmd`` run from ``cwd`` (the repository root). Its
    stdout goes to /dev/null and its stderr to an unnamed file made before
    the clock starts and read only if it failed: this process only waits
    while the child is timed (a pipe would be read as the child writes). A
    failure, an exit status other than ``expect`` (a refusal's is 2), is a
    :class:`ChildFailed` naming the command, its exit status and the last
    lines of its stderr."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        code = subprocess.run(cmd, cwd=cwd, env=env,
                              stdout=subprocess.DEVNULL,
                              stderr=err).returncode
        seconds = time.perf_counter() - t0
        if code != expect:
            err.seek(0)
            raise ChildFailed(code, cmd, stderr=err.read(), expected=expect)
    return seconds


def imported(cmd) -> list:
    """Heavy top-level packages ``cmd`` (a python command) imports."""
    run = subprocess.run([cmd[0], '-X', 'importtime'] + cmd[1:], cwd=ROOT,
                         capture_output=True, text=True)
    if run.returncode:
        raise ChildFailed(run.returncode, run.args, stderr=run.stderr)
    out = run.stderr
    names = {m.group(1).split('.')[0] for m in re.finditer(
        r'^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)', out, re.M)}
    return [h for h in HEAVY if h in names]


def help_times(repeat: int) -> list:
    py = sys.executable
    rows = [('python -c pass', [py, '-c', 'pass']),
            ('python -c "import numpy"', [py, '-c', 'import numpy']),
            ('python -c "import torch"', [py, '-c', 'import torch'])]
    rows += [(f'python {c} --help', [py, c, '--help']) for c in COMMANDS]
    out = []
    for name, cmd in rows:
        wall(cmd)  # page cache warm, as for a user's second command
        times = [wall(cmd) for _ in range(repeat)]
        out.append({'command': name, 'median_s': float(np.median(times)),
                    'runs_s': times, 'imports': imported(cmd)})
    return out


def meta_test_process(wd: str, threads, repeat: int) -> dict:
    """Wall and solve time of distributed_meta_test.py (median runs)."""
    res = os.path.join(wd, 'startup_result.json')
    cmd = [sys.executable, 'wsi_workdir/distributed_meta_test.py', '--task',
           'near', '--num_shots', '10', '--clf', 'Ridge', '--mode', 'linear',
           '--model', 'clp_wo_0', '--novel_class', '0', '--workdir', wd,
           '--output', res]
    if threads is not None:
        cmd += ['--threads', str(threads)]
    walls, solves = [], []
    for _ in range(repeat):
        walls.append(wall(cmd))
        with open(res) as f:
            solves.append(json.load(f)['execution']['elapsed_s'])
    return {'threads': 'default' if threads is None else threads,
            'wall_s': float(np.median(walls)),
            'solve_s': float(np.median(solves)), 'walls_s': walls,
            'solves_s': solves}


#: (config, data folder, feature set) of the five sets an encoder needs
EXTRACT_SETS = (('nct_train', 'NCT', 'NCT_train'),
                ('nct_test', 'NCT', 'NCT_test'), ('lc', 'LC25000', 'LC'),
                ('paip_train', 'PAIP19', 'PAIP_train'),
                ('paip_test', 'PAIP19', 'PAIP_test'))
#: the quick start's demo encoder (width 16, 64 px input)
DEMO_OPTS = ['model.backbone.base_channels=16',
             'model.backbone.stem_channels=16', 'dataset.pipeline.1.scale=64']


def synthetic_data(root: str) -> str:
    """``root/data``: the synthetic data at 64 px, written on first use."""
    data = os.path.join(root, 'data')
    if not os.path.isdir(data):
        wall([sys.executable, 'tools/prepare_data/make_synthetic.py',
              '--out', data, '--size', '64'])  # untimed: a failure said
    return data


def medians(runs: dict) -> dict:
    """Per way, the median of its wall times and the times themselves."""
    return {k: {'median_s': float(np.median(v)), 'runs_s': v}
            for k, v in runs.items()}


def with_load(part, *args) -> dict:
    """``part(*args)``'s result with the load average before and after."""
    load0 = load_average()
    r = part(*args)
    r.update(load_before=load0, load_after=load_average())
    return r


def extract_processes(root: str, repeat: int) -> dict:
    """Wall time of the five feature sets as five processes and as one
    (median of ``repeat`` interleaved runs), and whether they wrote the
    same features."""
    data = synthetic_data(root)
    base = [sys.executable, 'wsi_workdir/extract.py', '--random-init',
            '--no-progress', '--device', 'cpu', '--cfg-options', *DEMO_OPTS]

    def triple(cfg, folder, name, wd):
        return ['--config', f'configs/extraction/{cfg}.py', '--data-root',
                os.path.join(data, folder), '--output',
                os.path.join(wd, 'extracted_feats', 'm', f'{name}.npy')]
    one, five = os.path.join(root, 'one'), os.path.join(root, 'five')
    runs = {'five processes': [], 'one process': []}
    for _ in range(repeat):
        t0 = time.perf_counter()
        for s in EXTRACT_SETS:
            wall(base + triple(*s, five))
        runs['five processes'].append(time.perf_counter() - t0)
        runs['one process'].append(wall(base + [
            a for s in EXTRACT_SETS for a in triple(*s, one)]))
    same = all(np.array_equal(
        np.load(os.path.join(one, 'extracted_feats', 'm', f'{n}.npy')),
        np.load(os.path.join(five, 'extracted_feats', 'm', f'{n}.npy')))
        for _, _, n in EXTRACT_SETS)
    return medians(runs) | {'same_features': bool(same)}


#: the near-domain script before it took every encoder in one process
NEAR_PER_ENCODER = (
    '. wsi_workdir/scripts/_env.sh; for family in $MODELS; do '
    'for c in $NOVEL_CLASSES; do ckpt=$(checkpoint "$family" "wo_$c"); '
    'extract "${family}_wo_$c" "$ckpt" NCT_train NCT_test; done; done')


def near_domain_script(root: str, repeat: int) -> dict:
    """Wall time of the shipped near-domain extraction script against one
    extract.py process per encoder (``repeat`` interleaved runs each), and
    whether they wrote the same features."""
    import torch

    from openselfsup.apis.extract import build_random_extractor
    from openselfsup.config import load_config, parse_cfg_options
    data = synthetic_data(root)
    cfg = load_config(os.path.join(ROOT, 'configs/extraction/nct_train.py'),
                      parse_cfg_options(DEMO_OPTS[:2]))
    dirs = {'clp': ('moco', 'r18_bs256_ep200', 'epoch_200.pth'),
            'fsp': ('sup', 'r18_bs512_ep100', 'epoch_100.pth')}
    seed = 0
    for family, (folder, name, file) in dirs.items():
        for c in range(9):
            path = os.path.join(root, folder, f'{name}_wo_{c}', file)
            if not os.path.isfile(path):
                os.makedirs(os.path.dirname(path), exist_ok=True)
                model = build_random_extractor(cfg, seed)
                torch.save({'state_dict': model.backbone.state_dict()}, path)
            seed += 1
    env = dict(os.environ, DATA=data, CLP_DIR=os.path.join(root, 'moco'),
               FSP_DIR=os.path.join(root, 'sup'),
               EXTRACT_OPTS=' '.join(DEMO_OPTS), PYTHON=sys.executable)
    for key in ('MODELS', 'NOVEL_CLASSES', 'EXTRACT_SOURCE', 'DEVICE',
                'EXTRACT_BATCH'):
        env.pop(key, None)
    runs = {'one process per encoder': [], 'the script (one process)': []}
    wds = {k: os.path.join(root, w) for k, w in zip(runs, ('each', 'one'))}
    for _ in range(repeat):
        runs['one process per encoder'].append(wall(
            ['sh', '-c', NEAR_PER_ENCODER],
            dict(env, WORKDIR=wds['one process per encoder'])))
        runs['the script (one process)'].append(wall(
            ['sh', 'wsi_workdir/scripts/extract_near_domain_feats.sh'],
            dict(env, WORKDIR=wds['the script (one process)'])))
    feats = [os.path.join('extracted_feats', f'{f}_wo_{c}', f'{n}.npy')
             for f in dirs for c in range(9) for n in ('NCT_train', 'NCT_test')]
    same = all(np.array_equal(*(np.load(os.path.join(wd, f))
                                for wd in wds.values())) for f in feats)
    return medians(runs) | {'same_features': bool(same),
                            'feature_sets': len(feats)}


def main(argv=None):
    p = parser(__doc__)
    p.add_argument('--workdir', default='/tmp/bench_scripts',
                   help='paper-scale fixture (shared with bench_scripts)')
    p.add_argument('--repeat', type=count, default=5,
                   help='fresh processes per command (parts 1 and 3; part '
                   '2: repeat // 2 + 1)')
    p.add_argument('--skip', nargs='*', default=[],
                   choices=['help', 'process', 'extract', 'near'],
                   help='parts not to run: help (1. above), process (2.), '
                   'extract (3.), near (4.) (default: none)')
    p.add_argument('--near_repeat', type=count, default=1,
                   help='runs of each way in the near-domain script part '
                   '(each about two minutes on 2 cores)')
    p.add_argument('--extract_root', default='/tmp/bench_extract_processes',
                   help='synthetic data and features of the extraction part')
    add_output(p)
    args = parse(p, argv)
    out = {'machine': machine(), 'args': vars(args)}
    if 'help' not in args.skip:
        out['help'] = help_times(args.repeat)
        torch_s = next(r['median_s'] for r in out['help']
                       if 'import torch' in r['command'])
        print(f'--help start-up, median of {args.repeat} fresh processes '
              f'(load {load_average()}):')
        for r in out['help']:
            print(f'  {r["command"]:<58}{r["median_s"]:6.2f} s'
                  + (f'  (torch + {r["median_s"] - torch_s:.2f} s)'
                     if 'torch' in r['imports'] and 'wsi_workdir' in
                     r['command'] else '')
                  + f'  imports: {", ".join(r["imports"]) or "-"}')
    if 'process' not in args.skip:
        from benchmarks.fixtures import ensure_task_store, make_paper_workdir
        from openselfsup.lowshot.spec import TaskSpec
        wd = os.path.abspath(args.workdir)
        make_paper_workdir(wd, ['clp_wo_0'], names=['NCT_train', 'NCT_test'])
        ensure_task_store(wd, TaskSpec('near', 10, 1000, novel_class=0))
        out['process'] = []
        reps = max(1, args.repeat // 2 + 1)
        for cond in ('as is', 'contended'):
            hog = None
            if cond == 'contended':
                hog = subprocess.Popen([sys.executable, '-c',
                                        'while True: pass'])
                time.sleep(1.0)
            try:
                load0 = load_average()
                for threads in (None, 1):
                    r = meta_test_process(wd, threads, reps)
                    r.update(condition=cond, load_before=load0,
                             load_after=load_average())
                    out['process'].append(r)
            finally:
                if hog is not None:
                    hog.terminate()
                    hog.wait()
        print(f'\ndistributed_meta_test.py, 1000 tasks 9-way 10-shot linear '
              f'Ridge, 100,000 x 512 pool, median of {reps} processes:')
        print(f'  {"condition":<38}{"--threads":>10}{"process s":>10}'
              f'{"solve s":>9}{"rest s":>8}')
        for r in out['process']:
            cond = r['condition'] + (' (1 busy process started here)'
                                     if r['condition'] == 'contended' else '')
            print(f'  {cond:<38}{str(r["threads"]):>10}{r["wall_s"]:>10.2f}'
                  f'{r["solve_s"]:>9.2f}{r["wall_s"] - r["solve_s"]:>8.2f}'
                  f'   load {r["load_before"][0]:.1f}->'
                  f'{r["load_after"][0]:.1f}')
    if 'extract' not in args.skip:
        r = out['extract'] = with_load(
            extract_processes, os.path.abspath(args.extract_root),
            args.repeat)
        five, one = r['five processes'], r['one process']
        print(f'\nextraction of the five feature sets of one encoder '
              f'(synthetic 64 px, width-16 ResNet-18, CPU), median of '
              f'{args.repeat} interleaved runs, load '
              f'{r["load_before"][0]:.1f}->{r["load_after"][0]:.1f}:')
        print(f'  five extract.py processes  {five["median_s"]:6.1f} s')
        print(f'  one extract.py process     {one["median_s"]:6.1f} s   '
              f'{five["median_s"] / one["median_s"]:.2f}x faster; same '
              f'features: {r["same_features"]}')
    if 'near' not in args.skip:
        r = out['near'] = with_load(
            near_domain_script, os.path.abspath(args.extract_root),
            args.near_repeat)
        each, one = (r['one process per encoder'],
                     r['the script (one process)'])
        print(f'\nextract_near_domain_feats.sh, defaults: 18 encoders x '
              f'NCT train / test (synthetic 64 px, width-16 ResNet-18, CPU), '
              f'median of {args.near_repeat}, load '
              f'{r["load_before"][0]:.1f}->{r["load_after"][0]:.1f}:')
        print(f'  one extract.py process per encoder  {each["median_s"]:6.1f} s')
        print(f'  the script: one process             {one["median_s"]:6.1f} s'
              f'   {each["median_s"] / one["median_s"]:.2f}x faster; same '
              f'features: {r["same_features"]}')
    out['load_average_end'] = load_average()
    save(args.output, out)


if __name__ == '__main__':
    run_main(main)
