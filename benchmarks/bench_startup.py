#!/usr/bin/env python
"""Start-up of the low-shot and training commands, and of one meta-test
run as a process.

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
5. The training-side commands as users run them, each a fresh ``python
   <tool>`` process with PYTHONPATH and cwd the checkout: in this
   checkout and, with ``--against COMMIT``, in a temporary git worktree
   of COMMIT (removed at the end, on a failure or Ctrl-C too), interleaved
   ``--repeat`` times: ``extract_backbone_weights.py`` on a missing
   checkpoint (its refusal) and on a tiny one, ``train.py`` on the FSP
   demo config with ``--cfg-options train_cfg.max_epoch=3`` (the typo's
   refusal), a whole tiny FSP training (the demo config at 32 px, width
   8, 2 epochs of 18 synthetic NCT images, a checkpoint each epoch) into a
   fresh ``--work-dir``, ``balance_sweep.py`` on a missing config (its
   refusal) and on the synthetic balance demo config with ``--cfg-options
   train_cfg.max_epoch=3`` (the typo's refusal; its ``custom_imports``
   name the model stack), ``make_attribute_embeddings.py`` on the HLSS
   demo config with a Hugging Face text encoder folder (a random tiny
   BERT and an unread weights file of ``HF_EXTRA_MB`` MB, the folder
   hashed by its files). The tiny data, config and checkpoint (1 epoch)
   are written once, with this checkout, and both read the same files.
   Median per command and checkout, and the ratio against / this. Each
   command must end with its exit status (a refusal 2, a run 0), else
   the part fails with the child's stderr; a command the older checkout
   fails is reported, not timed there.
6. The light paths, commands that check their flags or print their help
   and compute nothing, as users and scripts run them, compared as part 5
   compares (``--against COMMIT`` too), with the CPU time (user and
   system) of each process beside its wall time, and the heavy packages
   each passing command imports in each checkout: ``sweep.py --check``
   as ``evaluate_encoder.sh`` runs it before it extracts features (every
   domain, its default settings), passing and refusing ``NUM_TASK=0``,
   and ``--help`` of ``tools/train.py``, ``tools/balance_sweep.py``,
   ``tools/knn_eval.py`` and ``tools/make_attribute_embeddings.py``.
7. The quick start's training as ``tools/quickstart.sh`` runs it: the CLP
   demo config on the synthetic NCT at 64 px, shortened to
   ``QUICKSTART_EPOCHS`` epochs, in the environment the checkout's
   ``tools/quickstart.sh`` gives its commands (read by running the script
   with a stand-in ``python`` that writes its environment down and stops
   it; since 03142650 the script sets ``OMP_WAIT_POLICY=PASSIVE``),
   compared as part 5 compares (``--against COMMIT``), wall and CPU time.
8. The OpenMP wait policy of the commands users run outside the quick
   start: ``demo_lowshot.sh`` with its defaults (the five feature sets of
   the demo encoder at its random initialisation, dictionary, 30 tasks
   per setting, summary), the quick start's training as ``tools/train.py``
   runs it in one process (``QUICKSTART_EPOCHS`` epochs) and the meta-test
   engine timed in-process (threads one per core), each with
   ``OMP_WAIT_POLICY`` unset and ``PASSIVE``, interleaved ``--repeat``
   times, on the machine as it is and with one busy process started by
   the benchmark: fastest and median wall and CPU time, unset / PASSIVE,
   and whether the features, task stores, dictionaries, results, summary
   table, logged losses, weights and F1 were the same under both.

    python -m benchmarks.bench_startup --output benchmarks/results/startup.json
    python -m benchmarks.bench_startup --skip help process extract near \\
        light --against 699c1d2 --output benchmarks/results/startup_train.json
    python -m benchmarks.bench_startup --skip help process extract near \\
        train --against ce8c832f --output benchmarks/results/startup_light.json
    python -m benchmarks.bench_startup --skip help process extract near \\
        train light quickstart --repeat 3 \\
        --output benchmarks/results/startup_omp_policy.json
"""
import contextlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from typing import List, Optional

import numpy as np

if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))

from benchmarks._common import (ChildFailed, add_output, contention, count,
                                describe, git, load_average, machine, parse,
                                parser, run_child, run_main, save)
from openselfsup.utils import InputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMANDS = ('wsi_workdir/distributed_meta_test.py', 'wsi_workdir/sweep.py',
            'wsi_workdir/dict_construction.py',
            'wsi_workdir/tools/generate_task.py', 'wsi_workdir/summarize.py',
            'wsi_workdir/extract.py')
#: packages whose import is worth naming (the training stack first)
HEAVY = ('mmengine', 'mmpretrain', 'mmcv', 'torch', 'torchvision', 'scipy',
         'sklearn', 'faiss', 'matplotlib', 'PIL', 'tqdm')


def wall(cmd, env=None, cwd=ROOT, expect: int = 0,
         cpu: Optional[list] = None) -> float:
    """Wall time of ``cmd`` run from ``cwd`` (the repository root). Its
    stdout goes to /dev/null and its stderr to an unnamed file made before
    the clock starts and read only if it failed: this process only waits
    while the child is timed (a pipe would be read as the child writes). A
    failure, an exit status other than ``expect`` (a refusal's is 2), is a
    :class:`ChildFailed` naming the command, its exit status and the last
    lines of its stderr. ``cpu`` (a list, optional) receives the CPU
    seconds (user and system) of the child and of the children it waited
    for."""
    with tempfile.TemporaryFile() as err:
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        code = subprocess.run(cmd, cwd=cwd, env=env,
                              stdout=subprocess.DEVNULL,
                              stderr=err).returncode
        seconds = time.perf_counter() - t0
        if cpu is not None:
            now = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(now.ru_utime - used.ru_utime
                       + now.ru_stime - used.ru_stime)
        if code != expect:
            err.seek(0)
            raise ChildFailed(code, cmd, stderr=err.read(), expected=expect)
    return seconds


def imported(cmd, cwd=ROOT, env=None) -> list:
    """Heavy top-level packages ``cmd`` (a python command, run from
    ``cwd`` with ``env``) imports."""
    out = run_child([cmd[0], '-X', 'importtime'] + cmd[1:], cwd=cwd,
                    env=env).stderr
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


#: part 5: the tiny FSP training of the training commands: the demo
#: config (``configs/demo/fsp_r18_demo.py``, as it is in this checkout)
#: at 32 px crops, width 8, batch 8 of 18 synthetic NCT images (2
#: iterations an epoch), this many epochs, a checkpoint each epoch
TINY_EPOCHS = 2

#: part 5: MB of the unread weights file in the text encoder folder of
#: ``make_attribute_embeddings.py`` (a Hugging Face download ships the
#: weights in several formats, the model reads one; BioClinicalBERT's
#: ``pytorch_model.bin`` is 436 MB): every file of the folder is hashed
#: (``folder_sha1``), once per level before efa7f1a, once after
HF_EXTRA_MB = 440

#: part 5: the training-side commands, (what, the arguments after
#: ``python``, the exit status each must end with: a refusal 2, a run 0);
#: ``{missing}`` is a folder that does not exist, ``{checkpoint}`` the
#: tiny training's checkpoint after 1 epoch, ``{config}`` the tiny config
#: (one file for both checkouts), ``{fresh}`` an empty folder made for
#: each run
TRAIN_COMMANDS = (
    ('extract_backbone_weights.py, missing checkpoint',
     ['tools/extract_backbone_weights.py', '{missing}/epoch_1.pth',
      '{fresh}/backbone.pth'], 2),
    ('extract_backbone_weights.py, tiny checkpoint',
     ['tools/extract_backbone_weights.py', '{checkpoint}',
      '{fresh}/backbone.pth'], 0),
    ('train.py demo config, --cfg-options typo',
     ['tools/train.py', 'configs/demo/fsp_r18_demo.py', '--cfg-options',
      'train_cfg.max_epoch=3'], 2),
    (f'train.py tiny FSP, {TINY_EPOCHS} epochs',
     ['tools/train.py', '{config}', '--work-dir', '{fresh}'], 0),
    ('balance_sweep.py, missing config',
     ['tools/balance_sweep.py', '{missing}/balance.py'], 2),
    ('balance_sweep.py demo config, --cfg-options typo',
     ['tools/balance_sweep.py', 'configs/demo/balance_vit_tiny_synthetic.py',
      '--cfg-options', 'train_cfg.max_epoch=3'], 2),
    (f'make_attribute_embeddings.py, HF text folder (+{HF_EXTRA_MB} MB)',
     ['tools/make_attribute_embeddings.py', '{hlss_hf}', '--out', '{fresh}'],
     0),
)


#: part 6: the light paths, commands that check their flags or print
#: their help and compute nothing, as the scripts and users run them:
#: ``sweep.py --check`` as ``evaluate_encoder.sh`` runs it (its defaults:
#: every domain, novel classes 0..8, the three classifiers, linear and
#: latent_aug, ``--as_script``) before it extracts features, passing and
#: refusing (``NUM_TASK=0``), and ``--help`` of ``tools/train.py``,
#: ``tools/balance_sweep.py``, ``tools/knn_eval.py`` and
#: ``tools/make_attribute_embeddings.py`` (``{missing}``: a folder that
#: does not exist; ``{{model}}``: the template's own field, as the script
#: passes it)
LIGHT_SWEEP_CHECK = [
    'wsi_workdir/sweep.py', '--model', 'enc', '--task', 'near', 'mixture',
    'out', 'out_homo', '--novel_classes', *map(str, range(9)), '--clfs',
    'Ridge', 'logistic_regression', 'nearest_centroid', '--modes', 'linear',
    'latent_aug', '--device', 'cpu', '--workdir', '{missing}',
    '--model_template', '{{model}}', '--check', '--as_script',
    'wsi_workdir/scripts/evaluate_encoder.sh']
LIGHT_COMMANDS = (
    ("sweep.py --check (evaluate_encoder.sh's)", LIGHT_SWEEP_CHECK, 0),
    ('sweep.py --check, NUM_TASK=0 refused',
     LIGHT_SWEEP_CHECK + ['--num_task', '0'], 2),
    ('train.py --help', ['tools/train.py', '--help'], 0),
    ('balance_sweep.py --help', ['tools/balance_sweep.py', '--help'], 0),
    ('knn_eval.py --help', ['tools/knn_eval.py', '--help'], 0),
    ('make_attribute_embeddings.py --help',
     ['tools/make_attribute_embeddings.py', '--help'], 0),
)


def tiny_fsp_config(nct_root: str, path: str) -> str:
    """Write the tiny FSP training config (:data:`TINY_EPOCHS`) reading
    the synthetic NCT at ``nct_root`` to ``path``, whole (no ``_base_``:
    an older checkout reads the same settings); return ``path``."""
    from mmengine.config import Config
    cfg = Config.fromfile(os.path.join(ROOT, 'configs/demo/fsp_r18_demo.py'))
    cfg.crop_size = 32
    loader = cfg.train_dataloader
    for pipeline in (cfg.train_pipeline, loader.dataset.pipeline):
        pipeline[1].scale = cfg.crop_size
    cfg.total_batch_size = loader.batch_size = 8
    cfg.data_root = loader.dataset.data_root = nct_root
    cfg.model.backbone.base_channels = cfg.model.backbone.stem_channels = 8
    cfg.model.head.in_channels = 64
    cfg.max_epochs = cfg.train_cfg.max_epochs = TINY_EPOCHS
    cfg.param_scheduler[0].milestones = [1]
    cfg.default_hooks.checkpoint.interval = 1
    cfg.default_hooks.logger.interval = 1
    cfg.dump(path)
    return path


def hf_text_config(root: str) -> str:
    """The HLSS demo config (this checkout's) with a Hugging Face text
    encoder folder as ``model.text_encoder`` (``HFMeanPoolText``): a
    random 1-layer BERT of width 8 written here with transformers
    (nothing downloaded) and an unread ``tf_model.h5`` of
    :data:`HF_EXTRA_MB` MB beside its ``model.safetensors``; the config's
    path under ``root``."""
    import torch
    import transformers
    text = os.path.join(root, 'hf_text')
    os.makedirs(text)
    vocab = os.path.join(text, 'vocab.txt')
    with open(vocab, 'w') as f:
        f.write('\n'.join(('[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]',
                           'dense', 'cells', 'tumor')) + '\n')
    transformers.BertTokenizer(vocab).save_pretrained(text)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        transformers.BertModel(transformers.BertConfig(
            vocab_size=8, hidden_size=8, num_hidden_layers=1,
            num_attention_heads=2, intermediate_size=16,
            max_position_embeddings=64)).save_pretrained(text)
    block = np.random.default_rng(0).bytes(1 << 20)
    with open(os.path.join(text, 'tf_model.h5'), 'wb') as f:
        for _ in range(HF_EXTRA_MB):
            f.write(block)
    path = os.path.join(root, 'hlss_hf_text.py')
    base = os.path.join(ROOT, 'configs/demo/hlss_rn50w8_synthetic.py')
    with open(path, 'w') as f:
        f.write(f'_base_ = [{base!r}]\nmodel = dict(text_encoder=dict('
                f"_delete_=True, type='HFMeanPoolText', path={text!r}))\n")
    return path


def checkout_env(path: str) -> dict:
    """This environment with ``PYTHONPATH`` the checkout at ``path`` alone:
    a command run there imports that checkout's openselfsup."""
    return dict(os.environ, PYTHONPATH=path)


def tiny_training(root: str) -> dict:
    """The files the training commands read, written once under ``root``
    with this checkout (untimed; a failure is said): the synthetic NCT
    (32 px, 2 training images a class), the tiny config and its checkpoint
    after 1 epoch; the ``{...}`` of :data:`TRAIN_COMMANDS`."""
    data = os.path.join(root, 'data')
    wall([sys.executable, 'tools/prepare_data/make_synthetic.py', '--out',
          data, '--size', '32', '--nct-train', '2', '--nct-test', '1',
          '--domains', 'nct'], checkout_env(ROOT))
    config = tiny_fsp_config(os.path.join(data, 'NCT'),
                             os.path.join(root, 'tiny_fsp.py'))
    run = os.path.join(root, 'checkpoint')
    wall([sys.executable, 'tools/train.py', config, '--work-dir', run,
          '--cfg-options', 'train_cfg.max_epochs=1'], checkout_env(ROOT))
    return {'missing': os.path.join(root, 'missing'), 'config': config,
            'hlss_hf': hf_text_config(root),
            'checkpoint': os.path.join(run, 'epoch_1.pth')}


def resolve_commit(commit: str, repo: str = ROOT) -> str:
    """The full hash of ``commit`` in ``repo``, else one line (before any
    work: a typo was otherwise found after the tiny training)."""
    try:
        return git('rev-parse', '--verify', '--quiet', f'{commit}^{{commit}}',
                   repo=repo)
    except (ChildFailed, OSError):  # OSError: no git
        raise InputError(f'--against {commit}: not a commit of the git '
                         f'checkout {repo}') from None


@contextlib.contextmanager
def worktree(commit: str, where: str, repo: str = ROOT):
    """A detached git worktree of ``commit`` at ``where`` (a path git
    makes), removed with git's record of it on the way out, a failure or
    Ctrl-C included."""
    git('worktree', 'add', '--detach', '--quiet', where, commit, repo=repo)
    try:
        yield where
    finally:
        try:
            git('worktree', 'remove', '--force', where, repo=repo)
        except ChildFailed:  # its folder already gone: forget it
            shutil.rmtree(where, ignore_errors=True)
            git('worktree', 'prune', repo=repo)


@contextlib.contextmanager
def checkouts(root: str, against: Optional[str]):
    """``{'this': ROOT}`` and, with ``against`` (a commit), ``'against'``:
    a git worktree of it made under ``root`` (:func:`worktree`), removed
    on the way out; each checked to import its own openselfsup
    (:func:`imports_its_own`)."""
    with contextlib.ExitStack() as stack:
        paths = {'this': ROOT}
        if against:
            paths['against'] = stack.enter_context(
                worktree(against, os.path.join(root, 'against')))
        for path in paths.values():
            imports_its_own(path)
        yield paths


def imports_its_own(path: str) -> None:
    """Refuse, in one line, an environment where python run with
    :func:`checkout_env` ``(path)`` imports openselfsup from elsewhere
    (both checkouts would then measure the same code)."""
    out = subprocess.run(
        [sys.executable, '-c',
         'import openselfsup; print(openselfsup.__file__)'], cwd=path,
        env=checkout_env(path), capture_output=True, text=True)
    if out.returncode:
        raise ChildFailed(out.returncode, out.args, stderr=out.stderr)
    found = os.path.realpath(out.stdout.strip())
    if not found.startswith(os.path.realpath(path) + os.sep):
        raise InputError(f'python with PYTHONPATH={path} imports openselfsup '
                         f'from {found}, not from that checkout')


def train_command(args, files: dict, root: str) -> list:
    """``python`` and ``args`` of :data:`TRAIN_COMMANDS` with the files
    filled in, ``{fresh}`` a new empty folder under ``root``."""
    fresh = tempfile.mkdtemp(dir=root, prefix='run_')
    return [sys.executable] + [a.format(fresh=fresh, **files) for a in args]


def last_line(text: str) -> str:
    """The last line of ``text`` that is not blank ('' if none)."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ''


#: the last stderr line of a refusal: the tools' ``error: ...``, or
#: argparse's ``prog: error: ...``
REFUSAL = re.compile(r'(\S+: )?error: ')


def check_run(code: int, stderr: str, expect: int) -> Optional[str]:
    """None if a run ended as ``expect`` says: that exit status and, for a
    refusal (not 0), an ``error:`` line last (python's own status 2, for a
    script that is not there, is none); else what it did instead."""
    said = last_line(stderr)
    if code != expect:
        return f'exit status {code}, not {expect}: {said}'
    if expect and not REFUSAL.match(said):
        return f'exit status {code} without an error: line: {said}'
    return None


def train_startup(root: str, against: Optional[str], repeat: int) -> dict:
    """:func:`checkouts_startup` of :data:`TRAIN_COMMANDS` on the tiny
    training's files (:func:`tiny_training`, written under ``root``)."""
    return checkouts_startup(TRAIN_COMMANDS, tiny_training(root), root,
                             against, repeat)


def light_startup(root: str, against: Optional[str], repeat: int) -> dict:
    """:func:`checkouts_startup` of :data:`LIGHT_COMMANDS` (``{missing}``
    a folder under ``root`` that is not made), with the heavy packages
    each command that passes imports in each checkout."""
    return checkouts_startup(LIGHT_COMMANDS,
                             {'missing': os.path.join(root, 'missing')},
                             root, against, repeat, imports=True)


#: part 7: epochs of the quick start's CLP demo training (15 in the script)
QUICKSTART_EPOCHS = 2
#: part 7: the quick start's training (``{nct}``: the synthetic NCT at 64
#: px, as the script writes it; ``{fresh}`` as in part 5)
QUICKSTART_COMMANDS = (
    (f'train.py CLP demo (quick start), {QUICKSTART_EPOCHS} epochs',
     ['tools/train.py', 'configs/demo/clp_r18_demo.py', '--work-dir',
      '{fresh}', '--cfg-options', f'train_cfg.max_epochs={QUICKSTART_EPOCHS}',
      'train_dataloader.dataset.data_root={nct}'], 0),
)


def quickstart_env(path: str) -> dict:
    """The environment ``tools/quickstart.sh`` of the checkout at ``path``
    gives its commands (with :func:`checkout_env`'s PYTHONPATH): the script
    run with a stand-in ``python`` first on PATH that writes its
    environment down and exits, which stops the script (``set -e``) before
    its first command writes anything."""
    with tempfile.TemporaryDirectory(prefix='quickstart_env_') as t:
        stand_in = os.path.join(t, 'python')
        seen = os.path.join(t, 'env.json')
        with open(stand_in, 'w') as f:
            f.write(f'#!{sys.executable}\nimport json, os, sys\n'
                    f'json.dump(dict(os.environ), open({seen!r}, "w"))\n'
                    'sys.exit(3)\n')
        os.chmod(stand_in, 0o755)
        env = dict(checkout_env(path), PATH=t + os.pathsep +
                   os.environ.get('PATH', ''))
        wall(['bash', 'tools/quickstart.sh'], env, path, expect=3)
        with open(seen) as f:
            got = json.load(f)
    return dict(got, PATH=os.environ.get('PATH', ''),
                PYTHONPATH=checkout_env(path)['PYTHONPATH'])


def quickstart_startup(root: str, against: Optional[str],
                       repeat: int) -> dict:
    """:func:`checkouts_startup` of :data:`QUICKSTART_COMMANDS` on the
    synthetic data at 64 px (written under ``root``), each checkout's
    commands in its quick start's environment (:func:`quickstart_env`)."""
    files = {'nct': os.path.join(synthetic_data(root), 'NCT')}
    return checkouts_startup(QUICKSTART_COMMANDS, files, root, against,
                             repeat, env_of=quickstart_env)


def checkouts_startup(commands, files: dict, root: str,
                      against: Optional[str], repeat: int,
                      imports: bool = False, env_of=checkout_env) -> dict:
    """Wall and CPU time of each of ``commands`` (as
    :data:`TRAIN_COMMANDS`, ``files`` their ``{...}``) as users run it, a
    fresh process with PYTHONPATH and cwd the checkout, in this checkout
    and, with ``against`` (a commit), in a git worktree of it made under
    ``root`` and removed at the end; ``repeat`` runs each, interleaved
    (the checkouts alternate which goes first). An untimed first run of
    each (the page cache warm, as for a user's second command) checks its
    exit status (:func:`check_run`): one of this checkout's that is not as
    expected is a :class:`ChildFailed`; one of ``against``'s is reported
    (``failed``) and that command not timed there. Every timed run must
    end with the expected status too. With ``imports``, each checkout's
    row of a command expected to pass also names the heavy packages it
    imports (:func:`imported`, untimed). ``env_of(path)`` is the
    environment of a command run in the checkout at ``path``
    (:func:`checkout_env` unless given)."""
    runs = os.path.join(root, 'runs')
    os.makedirs(runs)
    with checkouts(root, against) as paths:
        envs = {key: env_of(path) for key, path in paths.items()}
        rows = []
        for name, args, expect in commands:
            row = {'command': name, 'argv': ['python', *args],
                   'expected_status': expect}
            for key, path in paths.items():
                cmd = train_command(args, files, runs)
                check = subprocess.run(cmd, cwd=path, env=envs[key],
                                       stdout=subprocess.DEVNULL,
                                       stderr=subprocess.PIPE, text=True)
                failed = check_run(check.returncode, check.stderr, expect)
                if failed is None:  # a refusal's line, to compare
                    row[key] = {'runs_s': [], 'cpu_s': [], 'said': last_line(
                        check.stderr) if expect else None}
                    if imports and not expect:
                        row[key]['imports'] = imported(
                            cmd, path, envs[key])
                elif key == 'this':
                    raise ChildFailed(check.returncode, cmd,
                                      stderr=check.stderr, expected=expect)
                else:
                    row[key] = {'failed': failed}
            rows.append(row)
        for i in range(repeat):
            order = list(paths.items())[::-1 if i % 2 else 1]
            for row, (_, args, expect) in zip(rows, commands):
                for key, path in order:
                    if 'runs_s' in row[key]:
                        row[key]['runs_s'].append(wall(
                            train_command(args, files, runs),
                            envs[key], path, expect,
                            cpu=row[key]['cpu_s']))
    return checkouts_result(rows, paths, against)


def checkouts_result(rows, paths, against: Optional[str]) -> dict:
    """The result of a side-by-side run of ``rows`` (each command's row:
    per checkout of ``paths`` its ``runs_s`` and ``cpu_s``, or a
    ``failed`` entry): each checkout's median wall and CPU time, the
    ratios against / this where both were timed, and the checkouts (this
    one's commit, ``against``)."""
    for row in rows:
        for key in paths:
            if 'runs_s' in row[key]:
                row[key]['median_s'] = float(np.median(row[key]['runs_s']))
                row[key]['median_cpu_s'] = float(np.median(
                    row[key]['cpu_s']))
        timed = 'median_s' in row.get('against', {})
        row['against_over_this'] = (
            row['against']['median_s'] / row['this']['median_s']
            if timed else None)
        row['cpu_against_over_this'] = (
            row['against']['median_cpu_s'] / row['this']['median_cpu_s']
            if timed else None)
    return {'checkouts': {'this': {'path': ROOT, 'commit': describe()}} | (
        {'against': {'commit': against}} if against else {}),
        'commands': rows}


def checkouts_table(r: dict, repeat: int,
                    what: str = 'training-side commands',
                    cpu: bool = False) -> List[str]:
    """The printed lines of :func:`checkouts_startup`'s result ``r`` (with
    its load average): the median wall time of each command (``what``),
    and with ``cpu`` its median CPU time too, per checkout and against /
    this."""
    this = r['checkouts']['this']['commit'] or 'this checkout'
    against = r['checkouts'].get('against', {}).get('commit')
    old = against[:7] if against else None
    lines = [f'{what} as users run them, python <tool> '
             f'with PYTHONPATH and cwd the checkout: this checkout ({this})'
             + (f' against {old}' if old else '') + ',',
             f'median of {repeat} interleaved fresh processes, load '
             f'{r["load_before"][0]:.1f}->{r["load_after"][0]:.1f}:']
    head = (f'{old:>10}' if old else '') + f'{"this":>10}' + (
        '   old/new' if old else '')
    lines.append(f'  {"command":<50}' + (
        f'{"wall":^{len(head)}}{"CPU":^{len(head)}}' if cpu else ''))
    lines[-1] = lines[-1].rstrip()
    if not cpu:
        lines[-1] += head
    else:
        lines.append(f'  {"":<50}{head}{head}')
    notes = []
    for row in r['commands']:
        line = f'  {row["command"]:<50}'
        for median, ratio in (('median_s', 'against_over_this'),
                              ('median_cpu_s', 'cpu_against_over_this')
                              )[:2 if cpu else 1]:
            if old:
                a = row['against']
                line += (f'{a[median]:>8.2f} s' if median in a
                         else f'{"-":>10}')
            line += f'{row["this"][median]:>8.2f} s'
            if row.get(ratio) is not None:
                line += f'{row[ratio]:>9.2f}x'
            elif old:
                line += f'{"":>10}'
        if old and 'failed' in row['against']:
            notes.append(f'  {old} fails "{row["command"]}": '
                         f'{row["against"]["failed"]}')
        lines.append(line.rstrip())
    return lines + notes


#: part 8: the OpenMP wait policies compared ('default': the variable
#: unset, the OpenMP runtime's own choice)
WAIT_POLICIES = ('default', 'PASSIVE')
#: part 8: whole processes as users run them, on the synthetic data at 64
#: px (``{data}``; ``{out}`` a fresh folder per run): the low-shot demo
#: script with its default settings (the five feature sets of the demo
#: encoder at its random initialisation, the dictionary, 30 tasks per
#: setting of every classifier and mode, the summary) and the quick
#: start's training as ``tools/train.py`` runs it in one process
POLICY_COMMANDS = (
    ('demo_lowshot.sh random (extract, sweep, summary)',
     ['sh', 'wsi_workdir/scripts/demo_lowshot.sh', 'random', '{out}',
      ' '.join(DEMO_OPTS)], 'lowshot'),
    (f'train.py CLP demo, {QUICKSTART_EPOCHS} epochs',
     [sys.executable, 'tools/train.py', 'configs/demo/clp_r18_demo.py',
      '--work-dir', '{out}', '--cfg-options',
      f'train_cfg.max_epochs={QUICKSTART_EPOCHS}',
      'train_dataloader.dataset.data_root={data}/NCT'], 'training'),
)
#: part 8: meta-test cells timed in-process (classifier, mode, shots,
#: tasks) on 9-way tasks of a 512-wide pool, threads one per core
ENGINE_CELLS = (('Ridge', 'linear', 10, 1000),
                ('nearest_centroid', 'linear', 1, 1000),
                ('logistic_regression', 'linear', 5, 300),
                ('Ridge', 'latent_aug', 5, 30))
#: part 8: the child that times :data:`ENGINE_CELLS` (after a warm-up
#: call each) and prints, per cell, wall and CPU seconds and the F1's sha1
ENGINE_CHILD = r"""
import hashlib, json, sys, time
from benchmarks.bench_threads import Pools
from openselfsup.lowshot.meta_test import meta_test
pools = Pools(512, 2000)
out = []
for clf, mode, shots, tasks in json.loads(sys.argv[1]):
    store = pools.store(9, shots, tasks)
    def solve():
        return meta_test(pools.sup, pools.qry, store, clf, mode=mode,
                         augmenter=None if mode == 'linear'
                         else pools.aug)[0]
    solve()
    t0, c0 = time.perf_counter(), time.process_time()
    f1 = solve()
    out.append([time.perf_counter() - t0, time.process_time() - c0,
                hashlib.sha1(f1.tobytes()).hexdigest()])
print(json.dumps(out))
"""


def policy_env(policy: str, data: str) -> dict:
    """This checkout's environment (:func:`checkout_env`) with the OpenMP
    wait ``policy`` (the variable removed for 'default') and ``DATA`` the
    synthetic data."""
    env = {k: v for k, v in checkout_env(ROOT).items()
           if k != 'OMP_WAIT_POLICY'}
    if policy != 'default':
        env['OMP_WAIT_POLICY'] = policy
    return dict(env, DATA=data)


def _drop_volatile(value, out: str):
    """A result's or provenance's JSON without what differs between any
    two runs (a result's timings and sweep records, a provenance's date),
    ``out`` written as ``{out}``."""
    if isinstance(value, dict):
        return {k: _drop_volatile(v, out) for k, v in value.items()
                if k not in ('execution', 'sweeps', 'date')}
    if isinstance(value, list):
        return [_drop_volatile(v, out) for v in value]
    return value.replace(out, '{out}') if isinstance(value, str) else value


def lowshot_outcome(out: str) -> dict:
    """sha1 of each outcome of a low-shot run in ``out``: the bytes of
    its features, labels, task stores and dictionaries, its result and
    provenance JSONs less :func:`_drop_volatile`'s parts, and the summary
    table."""
    import hashlib
    digest = {}
    for folder, _, names in os.walk(out):
        for name in names:
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, out)
            if rel.startswith('sweeps') or name.endswith('.png'):
                continue
            with open(path, 'rb') as f:
                data = f.read()
            if name.endswith('.json'):
                data = json.dumps(_drop_volatile(json.loads(data), out),
                                  sort_keys=True).encode()
            elif name.endswith('.md'):
                data = data.replace(out.encode(), b'{out}')
            digest[rel] = hashlib.sha1(data).hexdigest()
    return digest


def training_outcome(out: str) -> dict:
    """The losses a training run in ``out`` logged (every ``loss: x`` of
    its log, in order) and the sha1 of its last checkpoint's weights."""
    import hashlib

    import torch
    logs = [os.path.join(d, n) for d, _, ns in os.walk(out) for n in ns
            if n.endswith('.log')]
    with open(logs[0]) as f:
        losses = re.findall(r'\bloss: (\S+)', f.read())
    ckpt = torch.load(os.path.join(out, f'epoch_{QUICKSTART_EPOCHS}.pth'),
                      map_location='cpu', weights_only=False)
    h = hashlib.sha1()
    for k, v in sorted(ckpt['state_dict'].items()):
        h.update(k.encode() + v.numpy().tobytes())
    return {'losses': losses, 'weights_sha1': h.hexdigest()}


def policy_startup(root: str, repeat: int) -> dict:
    """Part 8: each of :data:`POLICY_COMMANDS` and the in-process
    meta-test (:data:`ENGINE_CHILD`) under each of :data:`WAIT_POLICIES`,
    interleaved (A B, B A, ...) ``repeat`` times, on the machine as it is
    ('idle') and with one busy process (:func:`contention`): wall and CPU
    time of each run, and whether every outcome
    (:func:`lowshot_outcome`, :func:`training_outcome`, the engine's F1)
    was the same under both policies."""
    data = synthetic_data(root)
    outcome_of = {'lowshot': lowshot_outcome, 'training': training_outcome}
    result = {}
    for cond in ('idle', 'contended'):
        def timed(**row):
            return dict(row, outcomes=set(), **{
                k: {p: [] for p in WAIT_POLICIES}
                for k in ('runs_s', 'cpu_s')})
        rows = [timed(command=name) for name, _, _ in POLICY_COMMANDS]
        engine = [timed(cell=list(c)) for c in ENGINE_CELLS]
        load0 = load_average()
        with contention(cond == 'contended'):
            for i in range(repeat):
                order = WAIT_POLICIES[::-1 if i % 2 else 1]
                for row, (_, args, kind) in zip(rows, POLICY_COMMANDS):
                    for policy in order:
                        out = os.path.join(root, f'{cond}_{policy}_{i}')
                        cmd = [a.format(out=out, data=data) for a in args]
                        row['runs_s'][policy].append(wall(
                            cmd, policy_env(policy, data),
                            cpu=row['cpu_s'][policy]))
                        row['outcomes'].add(json.dumps(
                            outcome_of[kind](out), sort_keys=True))
                        shutil.rmtree(out)
                for policy in order:
                    got = json.loads(run_child(
                        [sys.executable, '-c', ENGINE_CHILD,
                         json.dumps(ENGINE_CELLS)], cwd=ROOT,
                        env=policy_env(policy, data)).stdout)
                    for cell, (w, c, sha) in zip(engine, got):
                        cell['runs_s'][policy].append(w)
                        cell['cpu_s'][policy].append(c)
                        cell['outcomes'].add(sha)
        for row in rows + engine:
            row['same_outcome'] = len(row.pop('outcomes')) == 1
            for key in ('runs_s', 'cpu_s'):
                for p in WAIT_POLICIES:
                    v = row[key][p]
                    row.setdefault('min_' + key, {})[p] = float(min(v))
                    row.setdefault('median_' + key, {})[p] = float(
                        np.median(v))
        result[cond] = {'commands': rows, 'engine': engine,
                        'load_before': load0, 'load_after': load_average()}
    return result


def policy_table(r: dict, repeat: int) -> List[str]:
    """The printed lines of :func:`policy_startup`'s result ``r``: per
    condition and command, the fastest and median wall and CPU time under
    each policy and default / PASSIVE of the medians, and whether the
    outcomes were the same."""
    a, b = WAIT_POLICIES
    lines = [f'OpenMP wait policy, {a} (unset) against {b}, '
             f'{repeat} interleaved runs each (fastest / median):']
    for cond in ('idle', 'contended'):
        c = r[cond]
        lines.append(f'  {cond}' + (' (1 busy process started here)' if
                                    cond == 'contended' else '')
                     + f', load {c["load_before"][0]:.1f}->'
                     f'{c["load_after"][0]:.1f}:')
        lines.append(f'    {"":<52}{"wall " + a:>15}{"wall " + b:>15}'
                     f'{"ratio":>7}{"CPU " + a:>15}{"CPU " + b:>15}'
                     f'{"ratio":>7}  same')
        for row in c['commands'] + c['engine']:
            name = row.get('command') or 'in-process meta_test {} {} ' \
                '{}-shot x{}'.format(*row['cell'])
            line = f'    {name:<52}'
            for key in ('runs_s', 'cpu_s'):
                for p in WAIT_POLICIES:
                    line += (f'{row["min_" + key][p]:>7.2f}/'
                             f'{row["median_" + key][p]:<7.2f}')
                median = row['median_' + key]
                line += f'{median[a] / median[b]:>6.2f}x'
            lines.append(line + f'  {row["same_outcome"]}')
    return lines


def main(argv=None):
    p = parser(__doc__)
    p.add_argument('--workdir', default='/tmp/bench_scripts',
                   help='paper-scale fixture (shared with bench_scripts)')
    p.add_argument('--repeat', type=count, default=5,
                   help='fresh processes per command (parts 1, 3, 5, 6, 7 '
                   'and 8; part 2: repeat // 2 + 1)')
    p.add_argument('--skip', nargs='*', default=[],
                   choices=['help', 'process', 'extract', 'near', 'train',
                            'light', 'quickstart', 'policy'],
                   help='parts not to run: help (1. above), process (2.), '
                   'extract (3.), near (4.), train (5.), light (6.), '
                   'quickstart (7.), policy (8.) '
                   '(default: none)')
    p.add_argument('--against', metavar='COMMIT',
                   help='parts 5, 6 and 7: also measure the training '
                   'commands, the light paths and the quick start\'s '
                   'training in a temporary git worktree of '
                   'COMMIT (an older commit), interleaved with this '
                   'checkout (default: this checkout alone)')
    p.add_argument('--near_repeat', type=count, default=1,
                   help='runs of each way in the near-domain script part '
                   '(each about two minutes on 2 cores)')
    p.add_argument('--extract_root', default='/tmp/bench_extract_processes',
                   help='synthetic data and features of the extraction part')
    add_output(p)
    args = parse(p, argv)
    if args.against and {'train', 'light', 'quickstart'} <= set(args.skip):
        raise InputError(f'--against {args.against} is for the train, '
                         'light and quickstart parts, which --skip leaves '
                         'out')
    against = resolve_commit(args.against) if args.against else None
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
            with contention(cond == 'contended'):
                load0 = load_average()
                for threads in (None, 1):
                    r = meta_test_process(wd, threads, reps)
                    r.update(condition=cond, load_before=load0,
                             load_after=load_average())
                    out['process'].append(r)
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
    if 'train' not in args.skip:
        with tempfile.TemporaryDirectory(prefix='bench_startup_train_') as t:
            r = out['train'] = with_load(train_startup, t, against,
                                         args.repeat)
        print()
        print('\n'.join(checkouts_table(r, args.repeat)))
    if 'light' not in args.skip:
        with tempfile.TemporaryDirectory(prefix='bench_startup_light_') as t:
            r = out['light'] = with_load(light_startup, t, against,
                                         args.repeat)
        print()
        print('\n'.join(checkouts_table(r, args.repeat, 'light paths', True)))
        for row in r['commands']:
            for key in ('against', 'this'):
                if 'imports' in row.get(key, {}):
                    print(f'  {row["command"]}, {key}: imports '
                          f'{", ".join(row[key]["imports"]) or "-"}')
    if 'quickstart' not in args.skip:
        with tempfile.TemporaryDirectory(prefix='bench_startup_qs_') as t:
            r = out['quickstart'] = with_load(quickstart_startup, t, against,
                                              args.repeat)
        print()
        print('\n'.join(checkouts_table(r, args.repeat,
                                        "the quick start's training", True)))
    if 'policy' not in args.skip:
        with tempfile.TemporaryDirectory(prefix='bench_startup_omp_') as t:
            r = out['policy'] = policy_startup(t, args.repeat)
        print()
        print('\n'.join(policy_table(r, args.repeat)))
    out['load_average_end'] = load_average()
    save(args.output, out)


if __name__ == '__main__':
    run_main(main)
