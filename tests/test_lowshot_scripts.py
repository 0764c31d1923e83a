"""The experiment scripts run the paper's protocol with the documented flags.

Each script runs under ``sh`` with ``PYTHON`` pointing at a recorder, so no
Python process starts: the test reads back every command the script would
run and parses it with the flags the low-shot issue documents.
"""
import argparse
import importlib.util
import os
import shlex
import subprocess
from collections import Counter

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(REPO, 'wsi_workdir', 'scripts')


def _parsers():
    """The command lines of the issue, as argparse parsers (exit on error)."""
    extract = argparse.ArgumentParser()
    for flag in ('--config', '--pretrained', '--output'):
        extract.add_argument(flag, required=True)
    extract.add_argument('--batch-size', type=int)
    extract.add_argument('--device', choices=['cpu', 'cuda'])
    extract.add_argument('--cfg-options', nargs='+')

    gen = argparse.ArgumentParser()
    gen.add_argument('--task', choices=['near', 'mixture', 'out'],
                     required=True)
    gen.add_argument('--mode', choices=['hetero', 'homo'])
    gen.add_argument('--num_shots', type=int, required=True)
    gen.add_argument('--num_task', type=int, required=True)
    gen.add_argument('--novel_class', type=int)
    gen.add_argument('--model')
    gen.add_argument('--seed', type=int)
    gen.add_argument('--workdir')
    gen.add_argument('--initialization', action='store_true')
    gen.add_argument('--overwrite', action='store_true')

    dic = argparse.ArgumentParser()
    dic.add_argument('--model', required=True)
    dic.add_argument('--novel_class', type=int)
    dic.add_argument('--features')
    dic.add_argument('--num_prototypes', type=int)
    dic.add_argument('--num_shift_vectors', type=int)
    dic.add_argument('--seed', type=int)
    dic.add_argument('--workdir')

    meta = argparse.ArgumentParser()
    meta.add_argument('--task', choices=['near', 'mixture', 'out', 'out_homo'],
                      required=True)
    meta.add_argument('--num_task', type=int, required=True)
    meta.add_argument('--num_shots', type=int, required=True)
    meta.add_argument('--mode', choices=['linear', 'latent_aug'],
                      required=True)
    meta.add_argument('--model', required=True)
    meta.add_argument('--novel_class', type=int)
    meta.add_argument('--clf', required=True, choices=[
        'Ridge', 'logistic_regression', 'nearest_centroid'])
    meta.add_argument('--num_aug_shots', type=int)
    meta.add_argument('--num_prototypes', type=int)
    # the dictionary's M and seed, so that a non-default dictionary is found
    meta.add_argument('--num_shift_vectors', type=int)
    meta.add_argument('--dict_seed', type=int)
    meta.add_argument('--device', choices=['cpu', 'cuda'])
    meta.add_argument('--seed', type=int)
    meta.add_argument('--workdir')
    meta.add_argument('--output')

    sweep = argparse.ArgumentParser()
    sweep.add_argument('--model', required=True)
    sweep.add_argument('--task', choices=['near', 'mixture', 'out',
                                          'out_homo'])
    sweep.add_argument('--novel_classes', nargs='+')
    sweep.add_argument('--model_template')
    sweep.add_argument('--shots', type=int, nargs='+')
    sweep.add_argument('--clfs', nargs='+', choices=[
        'Ridge', 'logistic_regression', 'nearest_centroid'])
    sweep.add_argument('--modes', nargs='+', choices=['linear', 'latent_aug'])
    for flag in ('--num_task', '--num_aug_shots', '--num_prototypes',
                 '--num_shift_vectors', '--dict_seed', '--seed',
                 '--task_seed'):
        sweep.add_argument(flag, type=int)
    sweep.add_argument('--device', choices=['cpu', 'cuda'])
    sweep.add_argument('--workdir')
    sweep.add_argument('--write_results', action='store_true')

    summ = argparse.ArgumentParser()
    summ.add_argument('--workdir')
    return {'wsi_workdir/extract.py': extract,
            'wsi_workdir/tools/generate_task.py': gen,
            'wsi_workdir/dict_construction.py': dic,
            'wsi_workdir/distributed_meta_test.py': meta,
            'wsi_workdir/sweep.py': sweep,
            'wsi_workdir/summarize.py': summ}


def _real_parsers():
    """``parse_args`` of each CLI present in this checkout (by script path)."""
    found = {}
    for rel in _parsers():
        path = os.path.join(REPO, rel)
        if not os.path.isfile(path):
            continue
        spec = importlib.util.spec_from_file_location(
            'cli_' + os.path.basename(rel)[:-3], path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        if hasattr(module, 'parse_args'):
            found[rel] = module.parse_args
    return found


def _record(tmp_path, script, env=None, args=()):
    """Run ``script`` with a PYTHON that records its arguments; parse them."""
    log = tmp_path / f'{script}.log'
    recorder = tmp_path / 'python'
    recorder.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\n')
    recorder.chmod(0o755)
    full_env = dict(os.environ, PYTHON=str(recorder), WORKDIR='wd',
                    **(env or {}))
    subprocess.run(['sh', os.path.join(SCRIPTS, script), *args], cwd=REPO,
                   env=full_env, check=True, capture_output=True)
    parsers = _parsers()
    commands = []
    for line in log.read_text().splitlines():
        argv = shlex.split(line)
        if argv[0] == '-u':
            argv = argv[1:]
        commands.append((argv[0], vars(parsers[argv[0]].parse_args(argv[1:]))))
    return commands


def test_commands_parse_with_the_real_clis(tmp_path):
    """Every command of every script is accepted by the CLI it calls."""
    real = _real_parsers()
    if len(real) < len(_parsers()):
        pytest.skip('not every low-shot CLI is in this checkout: '
                    + ', '.join(sorted(set(_parsers()) - set(real))))
    lines = []
    for script in ('extract_near_domain_feats.sh',
                   'extract_mixture_and_out_domain_feats.sh',
                   'generate_near_domain_tasks.sh',
                   'generate_mixture_and_out_domain_tasks.sh',
                   'near_domain.sh', 'mixture_domain.sh', 'out_domain.sh'):
        _record(tmp_path, script, {'NOVEL_CLASSES': '7 78'})
        lines += (tmp_path / f'{script}.log').read_text().splitlines()
    _record(tmp_path, 'demo_lowshot.sh', args=('ckpt.pth', 'wd', 'a=1'))
    lines += (tmp_path / 'demo_lowshot.sh.log').read_text().splitlines()
    seen = set()
    for line in lines:
        argv = shlex.split(line)
        argv = argv[1:] if argv[0] == '-u' else argv
        real[argv[0]](argv[1:])  # exits (fails the test) on a bad flag
        seen.add(argv[0])
    assert seen == set(_parsers())


def test_checkpoint_paths_are_the_train_work_dirs():
    out = subprocess.run(
        ['sh', '-c', f'. {SCRIPTS}/_env.sh; checkpoint clp wo_7; '
         'checkpoint fsp wo_7; checkpoint fsp all'],
        cwd=REPO, capture_output=True, text=True, check=True,
        env=dict(os.environ, CLP_DIR='', FSP_DIR='', CLP_CKPT='', FSP_CKPT=''))
    assert out.stdout.split() == [
        'work_dirs/wsi_selfsup/moco_v3/r18_bs256_ep200_wo_7/epoch_200.pth',
        'work_dirs/classification/nct/r18_bs512_ep100_wo_7/epoch_100.pth',
        'work_dirs/classification/nct/r18_bs512_ep100_all/epoch_100.pth']


def test_near_domain_protocol(tmp_path):
    cmds = _record(tmp_path, 'near_domain.sh')
    meta = [a for s, a in cmds if s.endswith('distributed_meta_test.py')]
    dicts = [a for s, a in cmds if s.endswith('dict_construction.py')]
    # CLP and FSP x 9 held-out classes x 3 classifiers x 3 shots x 2 modes
    assert len(meta) == 2 * 9 * 3 * 3 * 2
    assert len({(a['model'], a['clf'], a['num_shots'], a['mode'])
                for a in meta}) == len(meta)
    assert all(a['model'] == f'{a["model"][:3]}_wo_{a["novel_class"]}'
               and a['task'] == 'near' and a['num_task'] == 1000
               for a in meta)
    assert Counter(a['num_shots'] for a in meta) == {1: 108, 5: 108, 10: 108}
    assert sorted((a['model'], a['novel_class']) for a in dicts) == sorted(
        (f'{f}_wo_{c}', c) for f in ('clp', 'fsp') for c in range(9))
    assert cmds[-1][0] == 'wsi_workdir/summarize.py'


def test_mixture_and_out_domain_protocol(tmp_path):
    mix = [a for s, a in _record(tmp_path, 'mixture_domain.sh', {
        'NUM_TASK': '300'}) if s.endswith('distributed_meta_test.py')]
    assert len(mix) == 2 * 3 * 3 * 2 and {a['task'] for a in mix} == {
        'mixture'} and {a['num_task'] for a in mix} == {300}
    assert {a['model'] for a in mix} == {'clp', 'fsp'}
    assert all(a['novel_class'] is None for a in mix)
    out = [a for s, a in _record(tmp_path, 'out_domain.sh', {
        'MODELS': 'clp', 'DEVICE': 'cuda'})
        if s.endswith('distributed_meta_test.py')]
    assert Counter(a['task'] for a in out) == {'out': 18, 'out_homo': 18}
    assert {a['device'] for a in out} == {'cuda'}


def test_extraction_and_task_scripts(tmp_path):
    near = _record(tmp_path, 'extract_near_domain_feats.sh',
                   {'NOVEL_CLASSES': '0 78'})
    outputs = sorted(a['output'] for _, a in near)
    assert outputs == sorted(
        f'wd/extracted_feats/{f}_wo_{c}/{n}.npy' for f in ('clp', 'fsp')
        for c in (0, 78) for n in ('NCT_train', 'NCT_test'))
    for _, a in near:
        assert os.path.isfile(os.path.join(REPO, a['config']))
        assert a['cfg_options'] == ['dataset.data_root=data/NCT']
    mix = _record(tmp_path, 'extract_mixture_and_out_domain_feats.sh',
                  {'EXTRACT_OPTS': 'model.backbone.base_channels=16'})
    assert sorted(os.path.basename(a['output']) for _, a in mix) == sorted(
        2 * ['NCT_train.npy', 'LC.npy', 'PAIP_train.npy', 'PAIP_test.npy'])
    assert all(a['pretrained'].endswith('_all/epoch_100.pth') or
               a['pretrained'].endswith('_all/epoch_200.pth') for _, a in mix)
    assert all(a['cfg_options'][-1] == 'model.backbone.base_channels=16'
               for _, a in mix)

    gen = [a for _, a in _record(tmp_path, 'generate_near_domain_tasks.sh')]
    assert sorted((a['novel_class'], a['num_shots']) for a in gen) == sorted(
        (c, s) for c in range(9) for s in (1, 5, 10))
    gen = [a for _, a in _record(tmp_path,
                                 'generate_mixture_and_out_domain_tasks.sh')]
    assert sorted((a['task'], a['mode'] or '', a['num_shots'])
                  for a in gen) == sorted(
        (t, m, s) for t, m in (('mixture', ''), ('out', 'hetero'),
                               ('out', 'homo')) for s in (1, 5, 10))
    assert not any(a['overwrite'] for a in gen)


@pytest.mark.parametrize('script', sorted(
    f for f in os.listdir(SCRIPTS) if f.endswith('.sh')))
def test_scripts_parse_as_posix_sh(script):
    subprocess.run(['sh', '-n', os.path.join(SCRIPTS, script)], check=True)


def test_demo_chain_commands(tmp_path):
    cmds = _record(tmp_path, 'demo_lowshot.sh', args=(
        'ckpt.pth', 'demo_wd', 'model.backbone.base_channels=16'))
    scripts = [s.split('/')[-1] for s, _ in cmds]
    assert scripts[:5] == ['extract.py'] * 5
    assert scripts[-1] == 'summarize.py'
    assert scripts[5:-1] == ['dict_construction.py'] + ['sweep.py'] * 3
    # one sweep per domain: 3 classifiers x 1/5 shots x linear/latent_aug,
    # results written where the summary reads them
    sweeps = [a for s, a in cmds if s.endswith('sweep.py')]
    assert [a['task'] for a in sweeps] == ['near', 'mixture', 'out']
    for a in sweeps:
        assert a['clfs'] == ['Ridge', 'logistic_regression',
                             'nearest_centroid']
        assert a['shots'] == [1, 5] and a['modes'] == ['linear', 'latent_aug']
        assert a['novel_classes'] == ['none'] and a['write_results']
        assert a['model_template'] == '{model}' and a['num_task'] == 30
    assert all(a['workdir'] == 'demo_wd' for s, a in cmds
               if not s.endswith('extract.py'))
    assert all(a['output'].startswith('demo_wd/extracted_feats/clp/') and
               a['cfg_options'][-1] == 'model.backbone.base_channels=16'
               for s, a in cmds if s.endswith('extract.py'))
    assert all(a['pretrained'] == 'ckpt.pth' for s, a in cmds
               if s.endswith('extract.py'))
