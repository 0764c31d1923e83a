"""The experiment scripts run the paper's protocol.

Each script runs under ``sh`` with ``PYTHON`` pointing at a recorder, so no
Python process starts: the test reads back every command the script would
run, parses it with the real command's parser, and (for the sweeps) expands
it into the settings the command would run, with the spec's defaults.
"""
import os
import shlex
import subprocess
import sys
from collections import Counter

import pytest

from _foundation_helpers import tool_module

from openselfsup.lowshot import spec as S
from openselfsup.lowshot.sweep_settings import cli_specs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPTS = os.path.join(REPO, 'wsi_workdir', 'scripts')
CLIS = ('wsi_workdir/extract.py', 'wsi_workdir/tools/generate_task.py',
        'wsi_workdir/dict_construction.py',
        'wsi_workdir/distributed_meta_test.py', 'wsi_workdir/sweep.py',
        'wsi_workdir/summarize.py', 'wsi_workdir/ablation.py')


def _parser(rel):
    return tool_module(rel).parse_args


PARSERS = {rel: _parser(rel) for rel in CLIS}


#: a recording PYTHON's first line: ``-c ...openselfsup.lowshot...`` (the
#: scripts' queries of the library, ``held_class``) runs the real
#: interpreter
_LIBRARY_QUERIES = (f'case "$1 $2" in "-c "*openselfsup.lowshot.*) '
                    f'exec {sys.executable} "$@" ;; esac\n')


def _recording_python(tmp_path, log):
    """A PYTHON (its path) that appends each command line to ``log`` and
    runs nothing, but for the library's own queries (``_LIBRARY_QUERIES``)."""
    recorder = tmp_path / 'python'
    recorder.write_text(f'#!/bin/sh\n{_LIBRARY_QUERIES}'
                        f'printf "%s\\n" "$*" >> {log}\n')
    recorder.chmod(0o755)
    return recorder


def _record(tmp_path, script, env=None, args=()):
    """Run ``script`` with a PYTHON that records its arguments; parse each
    command with the real CLI (a bad flag fails the test). The library's
    own small queries (``-c ...openselfsup.lowshot...``: the held-out class
    a model's name says, ``held_class`` of ``_env.sh``) run for real,
    unrecorded."""
    log = tmp_path / f'{script}.log'
    recorder = _recording_python(tmp_path, log)
    full_env = {k: v for k, v in os.environ.items()
                if k not in ('NUM_TASK', 'SEED', 'SHOTS', 'OUT_SHOTS',
                             'OUT_HOMO_SHOTS', 'RECOMPUTE')}
    full_env.update(PYTHON=str(recorder), WORKDIR='wd', **(env or {}))
    subprocess.run(['sh', os.path.join(SCRIPTS, script), *args], cwd=REPO,
                   env=full_env, check=True, capture_output=True)
    commands = []
    for line in log.read_text().splitlines():
        argv = shlex.split(line)
        if argv[0] == '-u':
            argv = argv[1:]
        commands.append((argv[0], vars(PARSERS[argv[0]](argv[1:]))))
    return commands


def _settings(args):
    """The RunSpecs a recorded sweep.py command runs (as its main does)."""
    import argparse
    return cli_specs(argparse.Namespace(**args))


def test_near_domain_protocol(tmp_path):
    """One process per family; the paper's 9 held-out classes x 3
    classifiers x 3 shots x 2 modes, on the <family>_wo_<c> features, with
    the published defaults (1000 tasks, K 16, M 2000, 100 aug shots)."""
    cmds = _record(tmp_path, 'near_domain.sh')
    sweeps = [a for s, a in cmds if s.endswith('sweep.py')]
    assert len(sweeps) == 2 and len(cmds) == 3
    specs = [sp for a in sweeps for sp in _settings(a)]
    assert len(specs) == 2 * 9 * 3 * 3 * 2 == len(set(specs))
    assert all(sp.model == f'{sp.model[:3]}_wo_{sp.novel_class}'
               and sp.task == 'near' and sp.num_task == 1000 for sp in specs)
    assert Counter(sp.shots for sp in specs) == {1: 108, 5: 108, 10: 108}
    latent = [sp for sp in specs if sp.latent]
    assert {(sp.num_prototypes, sp.num_shift_vectors, sp.num_aug_shots)
            for sp in latent} == {(16, 2000, 100)}
    assert all(sp.variant == '' for sp in specs)
    assert cmds[-1][0] == 'wsi_workdir/summarize.py'


def test_mixture_and_out_domain_protocol(tmp_path):
    mix = [sp for s, a in _record(tmp_path, 'mixture_domain.sh', {
        'NUM_TASK': '300'}) if s.endswith('sweep.py') for sp in _settings(a)]
    assert len(mix) == 2 * 3 * 3 * 2 and {sp.task for sp in mix} == {
        'mixture'} and {sp.num_task for sp in mix} == {300}
    assert {sp.model for sp in mix} == {'clp', 'fsp'}
    assert all(sp.novel_class is None for sp in mix)
    cmds = _record(tmp_path, 'out_domain.sh', {'MODELS': 'clp',
                                               'DEVICE': 'cuda'})
    sweeps = [a for s, a in cmds if s.endswith('sweep.py')]
    assert len(sweeps) == 1 and sweeps[0]['device'] == 'cuda'
    out = _settings(sweeps[0])
    # the published shots: hetero 1/5/10/50/100, homo 5/10/50/100
    assert sorted({(sp.task, sp.shots) for sp in out}) == sorted(
        [('out', s) for s in (1, 5, 10, 50, 100)]
        + [('out_homo', s) for s in (5, 10, 50, 100)])
    assert Counter(sp.task for sp in out) == {'out': 30, 'out_homo': 24}


def test_out_shots_and_out_homo_shots_choose_one_list_each(tmp_path):
    """OUT_SHOTS was passed as --shots to both out and out_homo, so
    OUT_SHOTS="1 5" also ran (and drew) homo 1-shot, which the published
    scripts never ran (their homo 1-shot store was never drawn and the run
    failed); OUT_SHOTS now chooses the hetero shots and OUT_HOMO_SHOTS the
    homo ones, each list the published one when unset."""
    runs = iter(range(100))

    def fresh():  # a recorder log of its own for each run
        d = tmp_path / str(next(runs))
        d.mkdir()
        return d

    def settings(env):
        cmds = _record(fresh(), 'out_domain.sh', {'MODELS': 'clp', **env})
        specs = [sp for s, a in cmds if s.endswith('sweep.py')
                 for sp in _settings(a)]
        return {t: sorted({sp.shots for sp in specs if sp.task == t})
                for t in ('out', 'out_homo')}

    def stores(env):
        # None: no --num_shots, generate_task.py's default, the published
        # shots (test_generate_task_without_num_shots_draws_the_published_
        # shots)
        cmds = _record(fresh(), 'generate_mixture_and_out_domain_tasks.sh',
                       env)
        return {a['mode']: a['num_shots'] for s, a in cmds
                if a.get('task') == 'out'}
    assert settings({'OUT_SHOTS': '1 5'}) == {'out': [1, 5],
                                              'out_homo': [5, 10, 50, 100]}
    assert stores({'OUT_SHOTS': '1 5'}) == {'hetero': [1, 5], 'homo': None}
    both = {'OUT_SHOTS': '10', 'OUT_HOMO_SHOTS': '5 50'}
    assert settings(both) == {'out': [10], 'out_homo': [5, 50]}
    assert stores(both) == {'hetero': [10], 'homo': [5, 50]}
    assert settings({'OUT_HOMO_SHOTS': '100'}) == {
        'out': [1, 5, 10, 50, 100], 'out_homo': [100]}


def test_evaluate_encoder_takes_the_out_domain_shot_lists(tmp_path):
    """evaluate_encoder.sh ignored OUT_SHOTS and OUT_HOMO_SHOTS (SHOTS went
    to every domain, homo 1-shot included), then SHOTS still reached
    out_homo where OUT_HOMO_SHOTS was unset: SHOTS="1 5" DOMAINS="near
    out_homo" ran homo 1-shot, never run by the published scripts. Now, as
    in the domain scripts, SHOTS is the near and mixture list, OUT_SHOTS the
    out one and OUT_HOMO_SHOTS the out_homo one, each unset the published
    list; demo_lowshot.sh sets its short ones (homo: 5)."""
    def settings(d, env, script='evaluate_encoder.sh', args=('enc', '-')):
        d = tmp_path / d
        d.mkdir()
        cmds = _record(d, script, env, args=args)
        specs = [sp for s, a in cmds if s.endswith('sweep.py')
                 for sp in _settings(a)]
        return {t: sorted({sp.shots for sp in specs if sp.task == t})
                for t in dict.fromkeys(sp.task for sp in specs)}
    assert settings('a', {'DOMAINS': 'mixture out out_homo', 'SHOTS': '1 5',
                          'OUT_HOMO_SHOTS': '5 10'}) == {
        'mixture': [1, 5], 'out': [1, 5, 10, 50, 100], 'out_homo': [5, 10]}
    # (an OUT_HOMO_SHOTS beside DOMAINS without out_homo is refused:
    # test_unread_shots_settings_outside_the_chain_are_refused)
    assert settings('b', {'DOMAINS': 'mixture out', 'OUT_SHOTS': '50'}) == {
        'mixture': [1, 5, 10], 'out': [50]}
    assert settings('c', {'DOMAINS': 'near out_homo', 'SHOTS': '1 5'}) == {
        'near': [1, 5], 'out_homo': [5, 10, 50, 100]}
    demo = {'near': [1, 5], 'mixture': [1, 5], 'out': [1, 5],
            'out_homo': [5]}
    assert settings('d', {'DOMAINS': 'near mixture out out_homo'},
                    'demo_lowshot.sh', ('random',)) == demo
    # (a SHOTS beside DOMAINS=out_homo alone is refused: test_num_shots_is_
    # refused_with_the_scripts_own_shots_settings)
    assert settings('e', {'DOMAINS': 'out_homo', 'OUT_HOMO_SHOTS': '10'},
                    'demo_lowshot.sh', ('random',)) == {'out_homo': [10]}


def test_the_scripts_read_the_shots_rule_of_the_library(tmp_path):
    """Which shots setting gives each domain its shots was written in
    three places of the shell (_env.sh's shots_read and
    check_shots_settings, evaluate_encoder.sh) beside the library's
    FLAG_SETTINGS, and the domains beside spec.TASKS. The shell now reads
    the two lines script_settings.shell_rules() writes, and each domain
    given alone takes the setting DOMAIN_SHOTS names. Reference: the
    library's table and the commands the script runs."""
    from openselfsup.lowshot import script_settings as SS
    with open(os.path.join(SCRIPTS, '_env.sh')) as f:
        assert SS.shell_rules() in f.read()
    assert list(SS.DOMAIN_SHOTS) == list(S.TASKS)
    for task, setting in SS.DOMAIN_SHOTS.items():
        d = tmp_path / task
        d.mkdir()
        cmds = _record(d, 'evaluate_encoder.sh',
                       {'DOMAINS': task, setting: '7'}, args=('enc', '-'))
        shots = {sp.task: sp.shots for s, a in cmds
                 if s.endswith('sweep.py') for sp in _settings(a)}
        assert shots == {task: 7}, (task, setting)


@pytest.mark.parametrize('setting', ['SHOTS', 'OUT_SHOTS', 'OUT_HOMO_SHOTS'])
def test_demo_takes_an_empty_shots_setting_as_unset(tmp_path, setting):
    """demo_lowshot.sh set its own OUT_SHOTS and OUT_HOMO_SHOTS over an
    empty one in the environment, which then counted as given:
    ``OUT_SHOTS= DOMAINS=near`` was refused ("OUT_SHOTS is set, but this
    script, with DOMAINS="near", reads SHOTS"), while an empty SHOTS with
    DOMAINS=out ran. Each empty one is now unset, as every script takes an
    empty list setting (docs/refusals.md), and runs as without it.
    Reference: the commands of the run without it."""
    domain = {'SHOTS': 'out', 'OUT_SHOTS': 'near',
              'OUT_HOMO_SHOTS': 'mixture'}[setting]  # (one that reads none)
    runs = []
    for i, extra in enumerate(({}, {setting: ''})):
        d = tmp_path / str(i)
        d.mkdir()
        runs.append(_record(d, 'demo_lowshot.sh',
                            {'DOMAINS': domain, **extra}, args=('random',)))
    assert runs[0] == runs[1]


def test_extraction_and_task_scripts(tmp_path):
    near = _record(tmp_path, 'extract_near_domain_feats.sh',
                   {'NOVEL_CLASSES': '0 78'})
    # one process for every encoder: its sets paired config / output / data
    # root / checkpoint, each encoder's sets with its own checkpoint
    assert len(near) == 1
    (_, a), = near
    models = [(f, c) for f in ('clp', 'fsp') for c in (0, 78)]
    assert a['output'] == [f'wd/extracted_feats/{f}_wo_{c}/{n}.npy'
                           for f, c in models for n in ('NCT_train', 'NCT_test')]
    assert a['config'] == ['configs/extraction/nct_train.py',
                           'configs/extraction/nct_test.py'] * 4
    assert a['data_root'] == ['data/NCT'] * 8
    dirs = {'clp': 'work_dirs/wsi_selfsup/moco_v3/r18_bs256_ep200',
            'fsp': 'work_dirs/classification/nct/r18_bs512_ep100'}
    epochs = {'clp': 200, 'fsp': 100}
    assert a['pretrained'] == [f'{dirs[f]}_wo_{c}/epoch_{epochs[f]}.pth'
                               for f, c in models for _ in range(2)]
    assert a['cfg_options'] is None
    assert a['normalise']  # the protocol's default
    mix = _record(tmp_path, 'extract_mixture_and_out_domain_feats.sh',
                  {'EXTRACT_OPTS': 'model.backbone.base_channels=16',
                   'DATA': '/mydata'})
    assert len(mix) == 1
    (_, a), = mix
    names = ('NCT_train', 'LC', 'PAIP_train', 'PAIP_test')
    assert a['output'] == [f'wd/extracted_feats/{f}/{n}.npy'
                           for f in ('clp', 'fsp') for n in names]
    assert [os.path.basename(c) for c in a['config']] == [
        'nct_train.py', 'lc.py', 'paip_train.py', 'paip_test.py'] * 2
    assert all(os.path.isfile(os.path.join(REPO, c)) for c in a['config'])
    assert a['data_root'] == ['/mydata/NCT', '/mydata/LC25000',
                              '/mydata/PAIP19', '/mydata/PAIP19'] * 2
    assert a['cfg_options'] == ['model.backbone.base_channels=16']
    assert a['pretrained'] == [f'{dirs[f]}_all/epoch_{epochs[f]}.pth'
                               for f in ('clp', 'fsp') for _ in names]
    # one checkpoint for every model: given once (so with EXTRACT_SOURCE)
    (tmp_path / 'same').mkdir()
    (_, a), = _record(tmp_path / 'same',
                      'extract_mixture_and_out_domain_feats.sh',
                      {'EXTRACT_SOURCE': 'timm:resnet18',
                       'EXTRACT_WEIGHTS': 'w.safetensors'})
    assert a['weights'] == 'w.safetensors' and a['pretrained'] is None
    assert len(a['output']) == 8
    # MODEL CHECKPOINT pairs that do not pair, or different checkpoints
    # with an external model, stop the script with one line
    for call, env in (('extract_models "LC" clp', {}),
                      ('extract_models "LC"', {}),
                      ('extract_models "LC" clp a.pth fsp b.pth',
                       {'EXTRACT_SOURCE': 'timm:resnet18'}),
                      ('extract_models "LC" clp a.pth fsp random', {})):
        out = subprocess.run(['sh', '-c', f'. {SCRIPTS}/_help.sh; '
                              f'. {SCRIPTS}/_env.sh; {call}'],
                             cwd=REPO, capture_output=True, text=True,
                             env=dict(os.environ, PYTHON='false', **env))
        assert out.returncode == 2 and len(out.stderr.splitlines()) == 1
        assert out.stderr.startswith('error: sh: extract_models')
        assert not out.stdout
    # a data root in EXTRACT_OPTS wins over DATA (no --data-root then);
    # blank EXTRACT_OPTS pass no --cfg-options
    (tmp_path / 'root').mkdir()
    (tmp_path / 'blank').mkdir()
    (_, a), = _record(tmp_path / 'root', 'extract_near_domain_feats.sh',
                      {'NOVEL_CLASSES': '0', 'MODELS': 'clp',
                       'EXTRACT_OPTS': 'dataset.data_root=/x/NCT  '
                                       'model.backbone.depth=50'})
    assert a['data_root'] is None and a['cfg_options'] == [
        'dataset.data_root=/x/NCT', 'model.backbone.depth=50']
    (_, a), = _record(tmp_path / 'blank', 'extract_near_domain_feats.sh',
                      {'NOVEL_CLASSES': '0', 'MODELS': 'clp',
                       'EXTRACT_OPTS': '   '})
    assert a['cfg_options'] is None and a['data_root'] == ['data/NCT'] * 2

    gen = [a for _, a in _record(tmp_path, 'generate_near_domain_tasks.sh')]
    assert len(gen) == 1
    assert sorted(gen[0]['novel_class']) == list(range(9))
    # no --num_shots: the tool's published default (1 5 10 for near,
    # test_generate_task_without_num_shots_draws_the_published_shots)
    assert gen[0]['num_shots'] is None and gen[0]['num_task'] == 1000
    gen = [a for _, a in _record(tmp_path,
                                 'generate_mixture_and_out_domain_tasks.sh')]
    # each store's shots left to the tool (its published default)
    assert [(a['task'], a['mode'], a['num_shots']) for a in gen] == [
        ('mixture', 'hetero', None), ('out', 'hetero', None),
        ('out', 'homo', None)]
    assert not any(a['overwrite'] for a in gen)


def test_the_extraction_scripts_keep_the_nct_train_both_write(tmp_path):
    """extract_near_domain_feats.sh with NOVEL_CLASSES none and
    extract_mixture_and_out_domain_feats.sh both extract <family>/NCT_train
    from <family>_all (the same features, byte for byte): the second
    extracted it again, 80,000 images on the real data. Each now passes
    extract.py ``--reuse`` with that set's output, and no other (a rerun
    extracts the other sets again, as before). Reference: the outputs of
    the commands, parsed by extract.py's parser."""
    for script, env in [
            ('extract_near_domain_feats.sh', {'NOVEL_CLASSES': '7 none 8'}),
            ('extract_near_domain_feats.sh', {'NOVEL_CLASSES': '7'}),
            ('extract_mixture_and_out_domain_feats.sh', {})]:
        d = tmp_path / f'{script}_{len(env.get("NOVEL_CLASSES", ""))}'
        d.mkdir()
        (cmd, args), = _record(d, script, {'MODELS': 'clp fsp', **env})
        shared = [o for o in args['output']
                  if o in ('wd/extracted_feats/clp/NCT_train.npy',
                           'wd/extracted_feats/fsp/NCT_train.npy')]
        if env.get('NOVEL_CLASSES') == '7':
            assert shared == [] and args['reuse'] is False, args['reuse']
        else:
            assert len(shared) == 2 and args['reuse'] == shared


def test_checkpoint_paths_are_the_train_work_dirs():
    out = subprocess.run(
        ['sh', '-c', f'. {SCRIPTS}/_help.sh; . {SCRIPTS}/_env.sh; '
         'checkpoint clp wo_7; '
         'checkpoint fsp wo_7; checkpoint fsp all'],
        cwd=REPO, capture_output=True, text=True, check=True,
        env=dict(os.environ, CLP_DIR='', FSP_DIR='', CLP_CKPT='', FSP_CKPT=''))
    assert out.stdout.split() == [
        'work_dirs/wsi_selfsup/moco_v3/r18_bs256_ep200_wo_7/epoch_200.pth',
        'work_dirs/classification/nct/r18_bs512_ep100_wo_7/epoch_100.pth',
        'work_dirs/classification/nct/r18_bs512_ep100_all/epoch_100.pth']


@pytest.mark.parametrize('script', sorted(
    f for f in os.listdir(SCRIPTS) if f.endswith('.sh')))
def test_scripts_parse_as_posix_sh(script):
    subprocess.run(['sh', '-n', os.path.join(SCRIPTS, script)], check=True)


RUNNABLE = sorted(f for f in os.listdir(SCRIPTS)
                  if f.endswith('.sh') and not f.startswith('_'))


@pytest.mark.parametrize('script', RUNNABLE)
def test_scripts_explain_themselves_and_refuse_stray_arguments(tmp_path,
                                                               script):
    """``--help`` printed nothing and started the work (or took --help as
    the checkpoint); a script that takes no arguments ignored them. Now
    --help prints the script's header comment and runs nothing; an
    argument to a script without any is one line, exit 2."""
    env = dict(os.environ, PYTHON=str(tmp_path / 'no-python'))
    for flag in ('--help', '-h'):
        out = subprocess.run(['sh', os.path.join(SCRIPTS, script), flag],
                             cwd=REPO, env=env, capture_output=True,
                             text=True)
        assert out.returncode == 0, out.stderr
        header = open(os.path.join(SCRIPTS, script)).read().splitlines()[1]
        assert out.stdout.splitlines()[0] == header[2:]
        assert '_env.sh' in out.stdout.splitlines()[-1]
    if script in ('demo_lowshot.sh', 'evaluate_encoder.sh'):
        return  # these take arguments
    out = subprocess.run(['sh', os.path.join(SCRIPTS, script), 'clp'],
                         cwd=REPO, env=env, capture_output=True, text=True)
    assert out.returncode == 2 and out.stdout == ''
    assert out.stderr.strip() == (
        f'error: {os.path.join(SCRIPTS, script)}: takes no arguments, got '
        "'clp' (settings are environment variables; see "
        f'{os.path.join(SCRIPTS, script)} --help)')



def test_a_refused_value_with_a_newline_is_one_line(tmp_path):
    """A refused value holding a newline (an argument, a setting) was
    echoed as given, the refusal then two lines; the newline is now
    written as ``\\n`` (``refuse`` of ``_help.sh``, as sh runs it)."""
    env = dict(os.environ, PYTHON=str(tmp_path / 'no-python'))
    for script, arg, says in [
            ('ablation.sh', 'cl\np', "takes no arguments, got 'cl\\np'"),
            ('demo_lowshot.sh', '--a\nb',
             "'--a\\nb' is not an argument of this script")]:
        path = os.path.join(SCRIPTS, script)
        out = subprocess.run(['sh', path, arg], cwd=REPO, env=env,
                             capture_output=True, text=True)
        assert (out.returncode, out.stdout) == (2, ''), out
        assert len(out.stderr.splitlines()) == 1, out.stderr
        assert out.stderr.startswith(f'error: {path}: {says}'), out.stderr


@pytest.mark.parametrize('script', RUNNABLE)
def test_scripts_run_from_another_folder_say_where_to_run(tmp_path, script):
    """The scripts' paths are the repository root's: run from another
    folder (``cd wsi_workdir``), one stopped at its first command with
    python's "can't open file". Now one line before any command; --help
    still works from anywhere."""
    log = tmp_path / 'calls'
    recorder = tmp_path / 'python'
    recorder.write_text(f'#!/bin/sh\necho "$*" >> {log}\nexit 0\n')
    recorder.chmod(0o755)
    args = {'demo_lowshot.sh': ['ckpt.pth'],
            'evaluate_encoder.sh': ['clp', 'ckpt.pth', 'wd']}.get(script, [])
    path = os.path.join(SCRIPTS, script)
    for cwd in (tmp_path, os.path.join(REPO, 'wsi_workdir')):
        out = subprocess.run(['sh', path, *args], cwd=cwd,
                             env=dict(os.environ, PYTHON=str(recorder)),
                             capture_output=True, text=True)
        assert out.returncode == 2 and out.stdout == '', out
        assert out.stderr.splitlines() == [
            f'error: {path}: run the scripts from the repository root (the '
            'folder holding wsi_workdir/ and configs/); the current folder '
            f'{cwd} is not it'], out.stderr
        assert not log.exists()
        assert subprocess.run(['sh', path, '--help'], cwd=cwd,
                              capture_output=True).returncode == 0


def test_demo_takes_extract_opts_from_the_environment_too(tmp_path):
    """demo_lowshot.sh set EXTRACT_OPTS from its third argument alone, so
    EXTRACT_OPTS in the environment (how _env.sh and the other scripts
    take it) was dropped without a word when the argument was left out;
    the argument, where given, still decides."""
    opt = 'model.backbone.base_channels=16'
    for env, args, want in (
            ({'EXTRACT_OPTS': opt}, ('ckpt.pth',), opt),
            ({'EXTRACT_OPTS': opt}, ('ckpt.pth', 'wd',
                                     'model.backbone.depth=34'),
             'model.backbone.depth=34')):
        here = tmp_path / str(len(args))
        here.mkdir()
        cmds = _record(here, 'demo_lowshot.sh', env=env, args=args)
        extract = [a for s, a in cmds if s.endswith('extract.py')]
        assert extract and all(a['cfg_options'] and
                               a['cfg_options'][-1] == want
                               for a in extract), extract

def test_demo_chain_commands(tmp_path):
    cmds = _record(tmp_path, 'demo_lowshot.sh', args=(
        'ckpt.pth', 'demo_wd', 'model.backbone.base_channels=16'))
    scripts = [s.split('/')[-1] for s, _ in cmds]
    # the sweep's settings checked (--check) before the extraction
    assert scripts == ['sweep.py', 'extract.py', 'sweep.py', 'summarize.py']
    check, cmds = cmds[0][1], cmds[1:]
    # (phrasing a refusal as the script's line: --as_script "$0")
    assert check['as_script'].endswith('/scripts/demo_lowshot.sh')
    assert check['check'] and \
        dict(check, check=False, as_script=None) == cmds[1][1]
    assert len(cmds[0][1]['output']) == 5
    sweep = cmds[1][1]
    specs = _settings(sweep)
    assert {sp.task for sp in specs} == {'near', 'mixture', 'out'}
    assert len(specs) == 3 * 3 * 2 * 2  # domains x classifiers x shots x modes
    assert all(sp.novel_class is None and sp.model == 'clp'
               and sp.num_task == 30 for sp in specs)
    assert {(sp.num_prototypes, sp.num_aug_shots) for sp in specs
            if sp.latent} == {(8, 10)}
    assert all(a['workdir'] == 'demo_wd' for s, a in cmds
               if not s.endswith('extract.py'))
    assert all(all(o.startswith('demo_wd/extracted_feats/clp/')
                   for o in a['output']) and
               a['cfg_options'][-1] == 'model.backbone.base_channels=16'
               for s, a in cmds if s.endswith('extract.py'))
    assert all(a['pretrained'] == ['ckpt.pth'] for s, a in cmds
               if s.endswith('extract.py'))


def test_ablation_scripts(tmp_path):
    """extract_ablation_feats.sh: NCT train/test and AUG_TIMES augmented
    copies of the wo_78 encoder; ablation.sh: one process with the
    published parts (image part bounded by the copies extracted)."""
    cmds = _record(tmp_path, 'extract_ablation_feats.sh', {'AUG_TIMES': '9'})
    assert [os.path.basename(o) for _, a in cmds for o in a['output']] == [
        'NCT_train.npy', 'NCT_test.npy', 'NCT_aug.npy']
    assert all('/clp_wo_78/' in o for _, a in cmds for o in a['output'])
    assert cmds[-1][1]['aug_times'] == 9
    assert cmds[-1][1]['config'] == ['configs/extraction/nct_aug.py']
    cmds = _record(tmp_path, 'ablation.sh', {'IMAGE': '4 9'})
    assert len(cmds) == 1 and cmds[0][0] == 'wsi_workdir/ablation.py'
    args = cmds[0][1]
    assert args['model'] == 'clp_wo_78' and args['image'] == [4, 9]
    assert args['num_task'] == 300 and args['num_shots'] == 5
    assert args['prototypes'] == [2, 4, 8, 16, 32, 64, 128, 256]


#: evaluate_encoder.sh's settings of the runs on imported-style features:
#: both a plain mode and a latent one (dictionaries), the near domain alone
_EVALUATE_ENV = dict(NUM_TASK='2', SHOTS='1', CLFS='Ridge',
                     MODES='linear latent_aug', DOMAINS='near',
                     NUM_PROTOTYPES='4', NUM_SHIFT_VECTORS='20',
                     NUM_AUG_SHOTS='3', OMP_NUM_THREADS='1')


def _evaluate_encoder(w):
    """evaluate_encoder.sh on the features of MODEL ``enc`` under ``w``
    (ENCODER ``-``), with ``_EVALUATE_ENV`` and the default novel classes;
    its stdout (asserting its exit status 0)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ('SEED', 'OUT_SHOTS', 'OUT_HOMO_SHOTS', 'MODELS',
                        'NOVEL_CLASSES', 'RECOMPUTE')}
    env.update(_EVALUATE_ENV)
    proc = subprocess.run(
        ['sh', os.path.join(SCRIPTS, 'evaluate_encoder.sh'), 'enc', '-', w],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.fixture(scope='module')
def evaluated_workdir(tmp_path_factory):
    """(workdir, stdout) of one evaluate_encoder.sh run on imported-style
    features of an 8-dimensional encoder (seed 0): shared by the tests of
    its summary and of a rerun on another encoder (each run starts two
    interpreters, the sweep's and the summary's, seconds each); a test
    that runs it again does so in a copy."""
    import sys
    sys.path.insert(0, os.path.join(REPO, 'tests'))
    from lowshot_data import make_workdir
    w = str(tmp_path_factory.mktemp('evaluated') / 'w')
    make_workdir(w, 'enc', dim=8, seed=0)
    return w, _evaluate_encoder(w)


def test_evaluate_encoder_runs_to_its_summary(evaluated_workdir):
    """evaluate_encoder.sh with its default novel classes, for real on
    imported-style features: one encoder of all classes, nine near-domain
    results per cell, summarised as a row per novel class and mode (the
    summary refused the second result of a cell before)."""
    import json
    from openselfsup.lowshot import paths
    w, stdout = evaluated_workdir
    with open(paths.summary_path(w, 'json')) as f:
        table = json.load(f)
    assert [(r['mode'], r['novel_row']) for r in table['rows']] == \
        [(m, c) for m in ('linear', 'latent_aug') for c in range(9)]
    assert '| enc (novel 8) | linear | Ridge |' in stdout


@pytest.mark.parametrize('script,args,bad', [
    # a flag after the arguments was ignored: the protocol's 1000 tasks ran
    ('evaluate_encoder.sh', ('mine', '-', 'wd', '--num_task', '5'),
     "'--num_task'"),
    ('evaluate_encoder.sh', ('mine', '-', 'wd', 'extra'), '4 arguments'),
    # a flag in WORKDIR's place became the workdir ('--workdir --num_task')
    ('demo_lowshot.sh', ('random', '--num_task', '5'), "'--num_task'"),
    ('demo_lowshot.sh', ('random', 'wd', 'opts', 'more'), '4 arguments'),
    ('evaluate_encoder.sh', ('--model', 'mine', '-'), "'--model'"),
])
def test_scripts_with_arguments_refuse_flags_and_extra_ones(tmp_path, script,
                                                           args, bad):
    """The scripts that take arguments took a flag (--num_task 5: settings
    are environment variables) as a path, or ignored it after the last
    argument, and ran; refused with one line, nothing run."""
    env = dict(os.environ, PYTHON=str(tmp_path / 'no-python'))
    out = subprocess.run(['sh', os.path.join(SCRIPTS, script), *args],
                         cwd=REPO, env=env, capture_output=True, text=True)
    assert out.returncode == 2 and out.stdout == '', out.stdout
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and bad in lines[0], out.stderr
    assert 'environment variables' in lines[0]


@pytest.mark.slow  # one extract.py start-up (7 s of imports)
def test_a_width_refusal_in_a_script_says_how_the_script_takes_options(
        tmp_path, synthetic_root):
    """demo_lowshot.sh on a narrow encoder without its width options: for
    real, extract.py's refusal named ``--cfg-options model.backbone...``,
    which the script takes as its third argument, CONFIG_OPTS; the line
    now says so (one line, extract.py's own words first)."""
    import sys

    import torch
    from mmpretrain.models import ResNet
    ckpt = tmp_path / 'narrow.pth'
    torch.save({'state_dict': {
        f'backbone.{k}': v for k, v in ResNet(
            depth=18, base_channels=8, stem_channels=8).state_dict().items()}},
        str(ckpt))
    env = dict(os.environ, PYTHON=sys.executable, DATA=synthetic_root,
               PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    env.pop('OPENSELFSUP_CFG_OPTIONS_AS', None)
    out = subprocess.run(
        ['sh', os.path.join(SCRIPTS, 'demo_lowshot.sh'), str(ckpt),
         str(tmp_path / 'wd')], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=300)
    assert out.returncode == 2, out.stderr[-2000:]
    errors = [l for l in out.stderr.splitlines() if l.startswith('error:')]
    assert len(errors) == 1, out.stderr[-2000:]
    assert errors[0].endswith(
        '--cfg-options model.backbone.stem_channels=8 '
        'model.backbone.base_channels=8 (demo_lowshot.sh takes them as its '
        'third argument, CONFIG_OPTS, one quoted string: sh '
        f'{os.path.join(SCRIPTS, "demo_lowshot.sh")} CKPT WORKDIR '
        '"KEY=VALUE ...")'), errors[0]
    assert not os.path.exists(tmp_path / 'wd' / 'results')


def test_the_scripts_say_how_they_take_extract_options(tmp_path):
    """The other scripts take extract.py's --cfg-options in EXTRACT_OPTS;
    extract.py alone is told so (sweep.py and the others run without)."""
    log = tmp_path / 'env.log'
    recorder = tmp_path / 'python'
    recorder.write_text(
        f'#!/bin/sh\nprintf "%s|%s\\n" "$2" "$OPENSELFSUP_CFG_OPTIONS_AS" '
        f'>> {log}\n')
    recorder.chmod(0o755)
    env = dict(os.environ, PYTHON=str(recorder), WORKDIR='wd')
    env.pop('OPENSELFSUP_CFG_OPTIONS_AS', None)
    for script, args in (('evaluate_encoder.sh', ('enc', 'ckpt.pth')),
                         ('extract_near_domain_feats.sh', ()),
                         ('demo_lowshot.sh', ('ckpt.pth',))):
        log.write_text('')
        subprocess.run(['sh', os.path.join(SCRIPTS, script), *args],
                       cwd=REPO, env=env, check=True, capture_output=True)
        said = dict(line.split('|', 1)
                    for line in log.read_text().splitlines())
        how = ('demo_lowshot.sh takes them as its third argument'
               if script == 'demo_lowshot.sh' else
               f'{script} takes them in the environment: EXTRACT_OPTS='
               f'"KEY=VALUE ..." sh {os.path.join(SCRIPTS, script)}')
        assert said.pop('wsi_workdir/extract.py').startswith(how), script
        assert set(said.values()) <= {''}, said


def test_run_cli_adds_how_a_script_takes_cfg_options(capsys, monkeypatch):
    """The line a script's command refuses with ends with how the script
    takes --cfg-options where it names them and the script says how; run
    directly, or naming none, the line is the command's own."""
    from openselfsup.utils import InputError, run_cli

    def refuse(message):
        def main(argv):
            raise InputError(message)
        assert run_cli(main, []) == 2
        return capsys.readouterr().err

    monkeypatch.delenv('OPENSELFSUP_CFG_OPTIONS_AS', raising=False)
    assert refuse('x: e.g. --cfg-options a=1') == \
        'error: x: e.g. --cfg-options a=1\n'
    monkeypatch.setenv('OPENSELFSUP_CFG_OPTIONS_AS', 'here: OPTS="a=1"')
    assert refuse('x: e.g. --cfg-options a=1') == \
        'error: x: e.g. --cfg-options a=1 (here: OPTS="a=1")\n'
    assert refuse('x: not found') == 'error: x: not found\n'


def test_ablation_features_refuse_a_library_model(tmp_path):
    """extract_ablation_feats.sh with EXTRACT_SOURCE extracted NCT train
    and test with the timm / open_clip model, then passed its weights as
    --pretrained of the config's encoder to the augmented copies' command
    (--aug_times takes the config's random pipeline: extract.py refuses
    it with --model-source), which failed after the first extraction's
    work. Refused now, before any command, in one line."""
    log = tmp_path / 'commands.log'
    recorder = tmp_path / 'python'
    recorder.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\n')
    recorder.chmod(0o755)
    env = dict(os.environ, PYTHON=str(recorder), WORKDIR='wd',
               EXTRACT_SOURCE='timm:vit_small_patch16_224',
               EXTRACT_WEIGHTS='vit.safetensors')
    out = subprocess.run(['sh', os.path.join(SCRIPTS,
                                             'extract_ablation_feats.sh')],
                         cwd=REPO, env=env, capture_output=True, text=True)
    assert not log.exists(), log.read_text()
    assert out.returncode == 2 and out.stdout == '', out.stdout
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and 'EXTRACT_SOURCE' in lines[0], out.stderr


def test_evaluate_encoder_extracts_the_sets_its_settings_read(tmp_path):
    """evaluate_encoder.sh extracted NCT_train (the base set of the latent
    modes' dictionary) for every run: with MODES=linear on the mixture or
    out domain no setting reads it, and on the real data it is 80,000 of
    the images. The sets extracted are those the sweep's settings read
    (support, query, the dictionary's base set), for each MODES."""
    runs = iter(range(100))

    def extracted_and_read(env):
        d = tmp_path / str(next(runs))
        d.mkdir()
        cmds = _record(d, 'evaluate_encoder.sh', env, args=('enc', 'c.pth'))
        outputs = [a['output'] for s, a in cmds if s.endswith('extract.py')]
        assert len(outputs) == 1
        got = sorted(os.path.basename(o)[:-4] for o in outputs[0])
        read = set()
        for sp in (sp for s, a in cmds if s.endswith('sweep.py')
                   for sp in _settings(a)):
            read |= {sp.setting.support_set, sp.setting.query_set}
            if sp.dictionary is not None:
                read.add(sp.dictionary.features)
        return got, sorted(read)
    for env in ({'DOMAINS': 'mixture out', 'MODES': 'linear'},
                {'DOMAINS': 'out', 'MODES': 'linear'},
                {'DOMAINS': 'mixture', 'MODES': 'linear latent_aug'},
                {'DOMAINS': 'mixture', 'MODES': 'latent_aug_expected',
                 'CLFS': 'Ridge'},
                {'DOMAINS': 'near', 'MODES': 'linear'},
                {'DOMAINS': 'near mixture out out_homo'}):
        got, read = extracted_and_read(env)
        assert got == read, env


@pytest.mark.parametrize('script, model, name, value, line', [
    ('evaluate_encoder.sh', 'enc', 'NUM_TASK', '0',
     '--num_task must be a positive number, got 0'),
    ('evaluate_encoder.sh', 'enc', 'MODES', 'latent',
     "argument --modes: invalid choice: 'latent' (choose from 'linear', "
     "'latent_aug', 'latent_aug_expected')"),
    ('evaluate_encoder.sh', 'a/b', 'MODEL', 'a/b',
     "--model 'a/b': a plain name such as clp or clp_wo_7 (a folder name: "
     'no /, not . or ..)'),
    ('evaluate_encoder.sh', 'enc', 'SHOTS', '0',
     '--mixture_shots 0: shot counts must be at least 1'),
    # the value as the user gave it: it was echoed "1 0", its blanks
    # collapsed by the shell's split into the flag's values
    ('evaluate_encoder.sh', 'enc', 'SHOTS', '1  0',
     '--mixture_shots 0: shot counts must be at least 1'),
    ('evaluate_encoder.sh', 'enc', 'NUM_TASK', ' 0',
     '--num_task must be a positive number, got 0'),
    ('demo_lowshot.sh', None, 'NOVEL', '9',
     '--novel_class 9 is out of range; expected 0..8 or 78 (classes 7 and '
     '8)')])
def test_evaluate_encoder_refuses_a_bad_setting_before_extracting(
        tmp_path, script, model, name, value, line):
    """evaluate_encoder.sh (and demo_lowshot.sh, which runs it) passed its
    settings to sweep.py only after extracting every feature set, so a
    bad one (NUM_TASK=0, MODES=latent) was refused after the extraction
    (1.5 min on the synthetic data at 224 px; hours on the real data), and
    a MODEL that is no plain name (a/b) after its features were written
    under extracted_feats/a/b/, outside the layout. Now ``sweep.py
    --check`` refuses it first: nothing extracted, nothing written (PYTHON
    records each command, then runs it). Its refusal came alone, naming a
    flag the user never typed (SHOTS=0: "error: --mixture_shots 0: ...",
    argparse's with its usage lines); it is now one line of the script
    naming the setting and its value, then the check's own line (written
    here by hand)."""
    import sys
    log = tmp_path / 'commands.log'
    python = tmp_path / 'python'
    python.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\n'
                      f'exec {sys.executable} "$@"\n')
    python.chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if k not in ('NUM_TASK', 'MODES', 'SHOTS', 'CLFS', 'DOMAINS',
                        'NOVEL', 'MODEL')}
    w = tmp_path / 'w'
    env.update(PYTHON=str(python), DOMAINS='mixture', CLFS='Ridge')
    if script == 'demo_lowshot.sh':
        env['DOMAINS'] = 'near'
    if name != 'MODEL':
        env[name] = value
    path = os.path.join(SCRIPTS, script)
    args = [str(tmp_path / 'c.pth'), str(w)]
    out = subprocess.run(['sh', path] + ([model] if model else []) + args,
                         cwd=REPO, env=env, capture_output=True, text=True)
    assert out.returncode == 2, (out.stdout, out.stderr)
    assert out.stderr == (
        f'error: {path}: {name}="{value}" is refused by the sweep\'s check '
        "of this script's settings (sweep.py --check, before any "
        f'extraction): {line}\n'), out.stderr
    assert 'extract.py' not in log.read_text(), log.read_text()
    assert not w.exists()


def test_evaluate_encoder_keeps_features_over_other_shot_lists(tmp_path):
    """evaluate_encoder.sh run again with another shot list extracted
    every feature set again (a full pass over NCT train, 80,000 images on
    the real data), though features do not depend on the shots: its
    extract.py now gets --reuse, which keeps a set of the same encoder,
    images and settings (tests/test_extract.py), in both runs; the
    extraction-only scripts extract as before."""
    def extract_args(d, script, env, args):
        d.mkdir()
        cmds = _record(d, script, env, args=args)
        (got, ) = [a for s, a in cmds if s.endswith('extract.py')]
        return got
    for i, shots in enumerate(('1 5', '10')):
        got = extract_args(tmp_path / str(i), 'evaluate_encoder.sh',
                           {'SHOTS': shots}, ('enc', 'c.pth'))
        assert got['reuse'] is True and got['pretrained'] == ['c.pth']
    demo = extract_args(tmp_path / 'demo', 'demo_lowshot.sh', {},
                        ('random', ))
    assert demo['reuse'] is True and demo['random_init']
    near = extract_args(tmp_path / 'near', 'extract_near_domain_feats.sh',
                        {'MODELS': 'clp'}, ())
    assert near['reuse'] is False


def test_novel_classes_none_runs_through_the_near_domain_scripts(tmp_path):
    """NOVEL_CLASSES=none (near-domain tasks without a novel class, which
    sweep.py and evaluate_encoder.sh take) stopped
    generate_near_domain_tasks.sh on argparse's "invalid int value:
    'none'" and made extract_near_domain_feats.sh look for the checkpoint
    r18_bs256_ep200_wo_none. Each script now reads it: the store without a
    novel class, the family's model of all classes (its _all checkpoint,
    features under its own name, which near_domain.sh's sweep reads for
    those tasks). The reference: the commands parsed by the real CLIs."""
    env = {'NOVEL_CLASSES': 'none 7', 'MODELS': 'clp'}
    for d in ('gen', 'ext', 'near'):
        (tmp_path / d).mkdir()
    (_, gen), = _record(tmp_path / 'gen', 'generate_near_domain_tasks.sh',
                        env)
    assert gen['novel_class'] == [None, 7]
    (_, ext), = _record(tmp_path / 'ext', 'extract_near_domain_feats.sh',
                        env)
    run = 'work_dirs/wsi_selfsup/moco_v3/r18_bs256_ep200_{}/epoch_200.pth'
    assert list(zip(ext['output'], ext['pretrained'])) == [
        (f'wd/extracted_feats/{m}/{n}.npy', run.format(c))
        for m, c in (('clp', 'all'), ('clp_wo_7', 'wo_7'))
        for n in ('NCT_train', 'NCT_test')]
    (_, near), = [c for c in _record(tmp_path / 'near', 'near_domain.sh',
                                     env) if c[0] == 'wsi_workdir/sweep.py']
    assert {(s.model, s.novel_class) for s in _settings(near)} == {
        ('clp', None), ('clp_wo_7', 7)}


@pytest.mark.parametrize('model, novel, expected', [
    ('clp_wo_7', None, 7), ('clp_wo_78', None, 78), ('clp_wo_7', 'none', None),
    ('clp_wo_7', '7', 7), ('clp', None, None), ('clp_wo_x', None, None),
    ('clp_wo_7_b', None, None)])
def test_demo_scores_a_held_out_model_on_its_own_class(tmp_path, model,
                                                        novel, expected):
    """demo_lowshot.sh passed ``--novel_classes none`` on the user's behalf
    (``NOVEL_CLASSES=${NOVEL:-none}``), so ``MODEL=clp_wo_7`` ran
    near-domain tasks of no novel class, exit 0, which
    distributed_meta_test.py refuses. NOVEL unset now takes the class a
    ``<family>_wo_<c>`` name holds out (the published pairing); NOVEL=none
    is the run without one on purpose; another name runs without one,
    as before. The reference: the sweep's settings as the real CLI parses
    them, against the class written here by hand."""
    env = {'MODEL': model, 'DOMAINS': 'near', 'SHOTS': '5'}
    if novel is not None:
        env['NOVEL'] = novel
    sweeps = [a for s, a in _record(tmp_path, 'demo_lowshot.sh', env,
                                    args=('random', ))
              if s == 'wsi_workdir/sweep.py']
    assert sweeps and all(
        {(s.model, s.novel_class) for s in _settings(a)} == {
            (model, expected)} for a in sweeps)


#: model names as split_model_name reads them or not: leading zeros, a
#: pair, no NCT class, a word, a suffix after the class, the suffix twice
#: (a suffix that is no class id, clp_wo_99: the next test)
HELD_NAMES = ('clp_wo_7', 'clp_wo_07', 'fsp_wo_78', 'fsp_wo_078',
              'fsp_wo_LYM', 'clp_wo_3_seed1', 'my_wo_net_wo_3',
              'clp', 'clp_wo_', 'clp_wo_7x')


def _novel_words(tmp_path, script, env, args):
    """The ``--novel_classes`` words of each sweep command ``script``
    runs, as the recorded command line holds them (not parsed: the
    sweep's parser refuses some of the names' classes, ``99``)."""
    log = tmp_path / 'sweeps.log'
    full = {k: v for k, v in os.environ.items()
            if k not in ('NOVEL', 'NOVEL_CLASSES', 'MODEL', 'SHOTS')}
    full.update(PYTHON=str(_recording_python(tmp_path, log)), WORKDIR='wd',
                DOMAINS='near',
                SHOTS='5', **env)
    subprocess.run(['sh', os.path.join(SCRIPTS, script), *args], cwd=REPO,
                   env=full, check=True, capture_output=True)
    words = []
    for line in log.read_text().splitlines():
        argv = shlex.split(line)
        if 'wsi_workdir/sweep.py' in argv:
            at = argv.index('--novel_classes') + 1
            end = next((i for i in range(at, len(argv))
                        if argv[i].startswith('--')), len(argv))
            words.append(argv[at:end])
    return words


@pytest.mark.parametrize('model', HELD_NAMES)
def test_the_scripts_read_a_model_names_class_as_the_library(tmp_path,
                                                             model):
    """demo_lowshot.sh read a ``<family>_wo_<c>`` name's class in the shell
    (``${MODEL##*_wo_}``) beside the library's reader, split_model_name:
    ``clp_wo_07`` gave the sweep ``--novel_classes 07`` where every command
    reads class ``7``. The scripts now ask the library (``held_class`` of
    _env.sh, spec.script_novel_class), so the class each script passes
    for a name it defaults (demo_lowshot.sh without NOVEL,
    evaluate_encoder.sh without NOVEL_CLASSES) is split_model_name's, word
    for word; a name that says none runs as before (demo: none,
    evaluate_encoder.sh: 0..8)."""
    from openselfsup.classes import split_model_name
    held = split_model_name(model)[1]
    for d in ('demo', 'enc'):
        (tmp_path / d).mkdir()
    demo = _novel_words(tmp_path / 'demo', 'demo_lowshot.sh',
                        {'MODEL': model}, ('random',))
    assert demo and all(w == [held or 'none'] for w in demo), demo
    enc = _novel_words(tmp_path / 'enc', 'evaluate_encoder.sh', {},
                       (model, '-'))
    assert enc == [[held] if held else list('012345678')], enc


def test_the_scripts_ask_their_own_repositorys_library(tmp_path):
    """r85: ``held_class`` ran ``python -m openselfsup.classes``, which
    finds the package only where the current folder is on sys.path (not
    under PYTHONSAFEPATH=1) or a package is installed: without one, the
    script stopped on python's "No module named 'openselfsup'", and
    another copy first on the path (an installed release, another
    checkout) answered for this one. It now puts the repository root
    from the script's place first, as the wsi_workdir/*.py commands do.
    Here another ``openselfsup`` that fails to import is first on
    PYTHONPATH and the current folder is not searched; the class read is
    the library's, split_model_name's."""
    from openselfsup.classes import split_model_name
    shadow = tmp_path / 'shadow' / 'openselfsup'
    shadow.mkdir(parents=True)
    (shadow / '__init__.py').write_text(
        "raise ImportError('another openselfsup')\n")
    env = {'PYTHONPATH': str(shadow.parent), 'PYTHONSAFEPATH': '1'}
    words = _novel_words(tmp_path, 'evaluate_encoder.sh', env,
                         ('clp_wo_07', '-'))
    assert words == [[split_model_name('clp_wo_07')[1]]], words


def _run_unset(tmp_path, script, args, env, domains):
    """Run ``script`` with ``args`` under a recording PYTHON, the novel
    class and model settings unset but for ``env``, on ``domains`` with
    5 shots: ``(log of the commands, the completed process)``."""
    log = tmp_path / 'all.log'
    full = {k: v for k, v in os.environ.items()
            if k not in ('NOVEL', 'NOVEL_CLASSES', 'MODEL', 'SHOTS')}
    full.update(PYTHON=str(_recording_python(tmp_path, log)), WORKDIR='wd',
                DOMAINS=domains, SHOTS='5', **env)
    return log, subprocess.run(
        ['sh', os.path.join(SCRIPTS, script), *args], cwd=REPO, env=full,
        capture_output=True, text=True)


@pytest.mark.parametrize('script, args, env, variable', [
    ('demo_lowshot.sh', ('random', ), {'MODEL': 'clp_wo_99'}, 'NOVEL'),
    ('evaluate_encoder.sh', ('clp_wo_99', '-'), {}, 'NOVEL_CLASSES'),
    ('evaluate_encoder.sh', ('clp_wo_99', 'c.pth'), {}, 'NOVEL_CLASSES')])
def test_a_suffix_that_is_no_class_stops_the_script_naming_model(
        tmp_path, script, args, env, variable):
    """r85: the scripts' reader printed 99 for ``clp_wo_99``, which the
    library reads as no held-out class (model_held_out: None), so both
    scripts defaulted to a class every command refuses, the error blaming
    NOVEL_CLASSES="99" the user never gave (with ENCODER ``-`` a bare
    ``--novel_class 99 is out of range``). Now one line naming MODEL, the
    variable the script takes and the library's ways out (``none``, or a
    folder named for the class held out), before any command runs; the
    way out given (``none``) runs. The reference: the meta-test's own
    refusal of the name, run for real, gives the same ways out."""
    log, done = _run_unset(tmp_path, script, args, env, 'near')
    err = done.stderr.strip()
    assert done.returncode == 2 and '\n' not in err, err
    assert err.startswith('error: MODEL clp_wo_99 is named as the encoder '
                          'trained without class 99, but 99 is no novel '
                          f'class id (0..8, or 78 for 7 and 8) and no '
                          f'{variable} is given'), err
    assert not log.exists()  # nothing ran
    meta = subprocess.run(
        [sys.executable, 'wsi_workdir/distributed_meta_test.py', '--task',
         'near', '--num_shots', '5', '--model', 'clp_wo_99', '--workdir',
         str(tmp_path / 'none')], cwd=REPO,
        capture_output=True, text=True)
    way = meta.stderr.split('; give --novel_class ')[1].strip()
    # r92: a script's settings are environment variables and its folder
    # the MODEL given: "give NOVEL_CLASSES none" became "set ...=none"
    assert way.startswith('none to ') and ', or name its feature folder ' \
        '<family>_wo_<c> ' in way, way
    assert err.endswith(f'; set {variable}=' + way.replace(
        'name its feature folder <family>', 'set MODEL=<family>')), \
        (err, way)
    # the way out, given: the script runs with it
    if args[-1] != 'c.pth':
        words = _novel_words(tmp_path, script, {**env, variable: 'none'},
                             args)
        assert words and all(w == ['none'] for w in words), words


@pytest.mark.parametrize('script, args, env', [
    ('demo_lowshot.sh', ('random', ), {'MODEL': 'clp_wo_99'}),
    ('evaluate_encoder.sh', ('clp_wo_99', '-'), {})])
def test_a_suffix_that_is_no_class_runs_domains_without_a_novel_class(
        tmp_path, script, args, env):
    """r92: the novel class is the near domain's alone (the sweep is given
    --novel_classes for near only), yet ``clp_wo_99`` with the variable
    unset was refused with ``DOMAINS=mixture`` too (rc 2; rc 0 before
    r85). Without near the name is not asked: the script runs the sweep
    of the domains given, and no sweep command names a novel class."""
    log, done = _run_unset(tmp_path, script, args, env, 'mixture')
    assert done.returncode == 0, done.stderr
    sweeps = [shlex.split(line) for line in log.read_text().splitlines()
              if 'wsi_workdir/sweep.py' in line]
    assert sweeps, log.read_text()
    for argv in sweeps:
        assert argv[argv.index('--task') + 1:][:1] == ['mixture'], argv
        assert '--novel_classes' not in argv, argv


@pytest.mark.parametrize('model, given, expected', [
    ('clp_wo_7', None, {7}), ('clp_wo_78', None, {78}),
    ('clp_wo_07', None, {7}), ('clp_wo_7', 'none', {None}),
    ('clp_wo_7', '7 none', {7, None}), ('enc', None, set(range(9))),
    ('clp_wo_7x', None, set(range(9)))])
def test_evaluate_encoder_pairs_a_held_out_model_with_its_class(
        tmp_path, model, given, expected):
    """evaluate_encoder.sh run on a ``<family>_wo_<c>`` model with
    NOVEL_CLASSES unset passed the default 0..8, and the sweep refused the
    first class other than c (the near-domain runs of a ``_wo_c`` model
    pair with novel class c). NOVEL_CLASSES unset now defaults to c for
    such a model (as demo_lowshot.sh does); one given is kept; another
    name keeps 0..8. The reference: the settings the real sweep CLI
    expands, against the classes written here by hand."""
    env = {'DOMAINS': 'near', 'SHOTS': '5'}
    if given is not None:
        env['NOVEL_CLASSES'] = given
    sweeps = [a for s, a in _record(tmp_path, 'evaluate_encoder.sh', env,
                                    args=(model, 'c.pth'))
              if s == 'wsi_workdir/sweep.py']
    assert len(sweeps) == 2  # the check before extracting, and the run
    for a in sweeps:
        assert {(s.model, s.novel_class) for s in _settings(a)} == {
            (model, c) for c in expected}


def test_a_family_without_features_stops_the_script_before_any_sweep(
        tmp_path):
    """MODELS="clp fsp" without fsp's features: mixture_domain.sh ran clp's
    whole sweep (hours at paper scale) and only then stopped on fsp's
    missing LC features. Every family's feature sets are now checked
    (by the first family's sweep, sweep.py --check_models) before any
    store or result is written: the one line names
    fsp's file, and nothing is written (no results, no task stores)."""
    import sys
    sys.path.insert(0, os.path.join(REPO, 'tests'))
    from lowshot_data import make_workdir
    from openselfsup.lowshot import paths
    w = str(tmp_path / 'w')
    make_workdir(w, 'clp', dim=8)
    env = {k: v for k, v in os.environ.items()
           if k not in ('NUM_TASK', 'SHOTS', 'SEED', 'OUT_SHOTS',
                        'OUT_HOMO_SHOTS')}
    env.update(MODELS='clp fsp', NUM_TASK='2', SHOTS='1', CLFS='Ridge',
               MODES='linear', WORKDIR=w, OMP_NUM_THREADS='1')
    out = subprocess.run(['sh', os.path.join(SCRIPTS, 'mixture_domain.sh')],
                         cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 2, (out.stdout, out.stderr)
    last = out.stderr.strip().splitlines()[-1]
    assert paths.features_path(w, 'fsp', 'LC') in last, out.stderr
    assert not os.path.exists(paths.results_dir(w)), out.stdout
    assert not os.path.exists(os.path.join(w, 'tasks')), out.stdout


def test_evaluate_encoder_runs_again_on_another_encoder(tmp_path,
                                                        evaluated_workdir):
    """evaluate_encoder.sh run again on another encoder (features extracted
    again into the same MODEL, as the script's help says it does): the
    sweep refused the base dictionary it had made itself from the replaced
    NCT_train ('built from other features than the current ...'), one
    novel class per rerun, so the rerun never completed in the latent
    modes. The sweep now builds its own dictionaries again, a line each;
    the reference: the dictionary build_dictionary makes from the new
    features. The first run is ``evaluated_workdir``'s, run again here in
    a copy of its workdir."""
    import shutil
    import sys
    sys.path.insert(0, os.path.join(REPO, 'tests'))
    import numpy as np
    from lowshot_data import make_workdir
    from openselfsup.lowshot import paths
    from openselfsup.lowshot.dictionary import (build_dictionary,
                                                load_dictionary)
    first, first_out = evaluated_workdir
    w = str(tmp_path / 'w')
    shutil.copytree(first, w)
    make_workdir(w, 'enc', dim=12, seed=1)  # another encoder
    again = _evaluate_encoder(w)
    from openselfsup.lowshot.spec import DictionarySpec
    feats = np.load(paths.features_path(w, 'enc', 'NCT_train'))
    labels = np.load(paths.labels_path(w, 'NCT_train'))
    for c in range(9):
        spec = DictionarySpec('enc', c, num_prototypes=4,
                              num_shift_vectors=20)
        path = spec.path(w)
        assert f'note: built {path} again: the sweep had made it from ' \
            'other features than the current ' in again, again
        assert spec.path(first) not in first_out
        dic = load_dictionary(path)
        ref = build_dictionary(feats, labels, 4, 20, 0, (c,))
        np.testing.assert_allclose(dic.prototypes, ref.prototypes,
                                   rtol=1e-6)
        np.testing.assert_allclose(dic.shift_bank, ref.shift_bank,
                                   rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('script', ['near_domain.sh', 'mixture_domain.sh',
                                    'out_domain.sh'])
def test_the_domain_scripts_start_one_sweep_process_per_family(tmp_path,
                                                                 script):
    """The early check of every family's feature sets ran one more
    sweep.py process per family of MODELS before the sweeps (a torch
    start-up each, ~1.3 s: near_domain.sh linear on tiny features +20%).
    Now the first family's sweep checks the later families' sets itself
    (--check_models): one process per family, no other. Reference: the
    recorded commands; the settings the first sweep checks for fsp are
    those fsp's own sweep runs (cli_specs of its command)."""
    cmds = _record(tmp_path, script, {'MODELS': 'clp fsp', 'NUM_TASK': '5'})
    assert [s for s, _ in cmds] == ['wsi_workdir/sweep.py'] * 2 + [
        'wsi_workdir/summarize.py']
    (_, clp), (_, fsp) = cmds[:2]
    assert (clp['model'], fsp['model']) == ('clp', 'fsp')
    assert (clp['check_models'], fsp['check_models']) == (['fsp'], None)
    import argparse
    from openselfsup.lowshot.sweep_settings import other_models_specs
    assert other_models_specs(argparse.Namespace(**clp), ['fsp']) == \
        _settings(fsp)


# a fake PYTHON: its --check (sweep.py --check) as FAKE says, any other
# command recorded on stdout
_FAKE_CHECK = r'''#!/bin/sh
case "$*" in *--check*) ;; *) echo "RAN: $*"; exit 0 ;; esac
case $FAKE in
ok) echo "check-stdout-line"; echo "warning: a note" >&2; exit 0 ;;
refusal) echo "warning: before the refusal" >&2
    as=$(printf '%s\n' "$@" | sed -n '/^--as_script$/{n;p;q;}')
    echo "error: $as: the check's line in the script's terms" >&2
    echo "stdout of the check"; exit 2 ;;
traceback) echo "stdout of the check"
    printf 'Traceback (most recent call last):\n  File "x", line 1\n' >&2
    echo "KeyError: 'error: --near_shots'" >&2; exit 1 ;;
esac
'''


@pytest.mark.parametrize('shell', ['sh', 'bash'])
@pytest.mark.parametrize('fake', ['ok', 'refusal', 'traceback'])
def test_check_refusal_keeps_stdout_warnings_and_tracebacks(tmp_path, shell,
                                                            fake):
    """check_refusal (_env.sh) opened its fd 3 inside the command
    substitution, so the check's stdout was captured with its stderr: a
    check that printed on stdout had that line taken for its refusal's
    last line (the refusal passed as raw lines, no line of the script),
    and a traceback's stdout went to stderr; the lines before a refusal
    (warnings) were dropped. Now stdout stays stdout, a traceback passes
    with its exit code, a warning before the refusal is kept; under dash
    (sh) and bash. Reference: the fake check's own lines. The refusal is
    phrased by the check itself (sweep.py --as_script "$0", whose lines
    test_evaluate_encoder_refuses_a_bad_setting_before_extracting pins):
    the script passes the check its path and the check's lines as they
    are (it re-parsed them in shell, check_refusal)."""
    python = tmp_path / 'python'
    python.write_text(_FAKE_CHECK)
    python.chmod(0o755)
    env = {k: v for k, v in os.environ.items()
           if k not in ('NUM_TASK', 'MODES', 'SHOTS', 'CLFS', 'DOMAINS',
                        'MODELS', 'OUT_SHOTS', 'OUT_HOMO_SHOTS', 'SEED')}
    env.update(PYTHON=str(python), DOMAINS='near', SHOTS='0', FAKE=fake)
    path = os.path.join(SCRIPTS, 'evaluate_encoder.sh')
    out = subprocess.run([shell, path, 'm', 'c.pth', str(tmp_path / 'w')],
                         cwd=REPO, env=env, capture_output=True, text=True)
    if fake == 'ok':
        assert out.returncode == 0, out.stderr
        assert 'check-stdout-line' in out.stdout.splitlines()
        assert out.stderr == 'warning: a note\n', out.stderr
    elif fake == 'refusal':
        assert out.returncode == 2, (out.stdout, out.stderr)
        assert out.stdout == 'stdout of the check\n', out.stdout
        assert out.stderr == (
            'warning: before the refusal\n'
            f"error: {path}: the check's line in the script's terms\n"), \
            out.stderr
    else:
        assert out.returncode == 1, (out.stdout, out.stderr)
        assert out.stdout == 'stdout of the check\n', out.stdout
        assert out.stderr == ('Traceback (most recent call last):\n'
                              '  File "x", line 1\n'
                              "KeyError: 'error: --near_shots'\n"), out.stderr


@pytest.mark.parametrize('script,args', [
    ('near_domain.sh', ()), ('mixture_domain.sh', ()),
    ('out_domain.sh', ()), ('evaluate_encoder.sh', ('enc', '-')),
    ('demo_lowshot.sh', ('random',))])
def test_the_scripts_reuse_current_results_unless_recompute(tmp_path, script,
                                                             args):
    """The sweeps the scripts run reuse the settings whose results are
    current (sweep.py's default: a script run again after an
    interruption goes on where it stopped); RECOMPUTE=1 gives every sweep
    ``--recompute``, its check too; the script's --help says both. The
    reference: each recorded sweep.py command as sweep.py's parser reads
    it."""
    for env, want in (({}, False), ({'RECOMPUTE': '1'}, True)):
        d = tmp_path / str(want)
        d.mkdir()
        sweeps = [a for s, a in _record(d, script, env, args=args)
                  if s.endswith('sweep.py')]
        assert sweeps and all(a['recompute'] is want for a in sweeps)
    out = subprocess.run(['sh', os.path.join(SCRIPTS, script), '--help'],
                         cwd=REPO, capture_output=True, text=True).stdout
    assert 'RECOMPUTE' in out and 'reused' in out, out
