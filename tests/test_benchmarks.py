"""The benchmarks' command lines (benchmarks/*.py): every command the docs
name still parses, ``--help`` shows every default, bad input is one line
before any work. Their numbers are in benchmarks/RESULTS.md, not tested."""
import argparse
import glob
import importlib
import json
import os
import re
import shlex

import pytest
import torch

from openselfsup.utils import InputError, run_cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
#: the benchmarks a user runs with ``python -m benchmarks.<name>``
COMMANDS = ('bench_dictionary', 'bench_extract', 'bench_meta_test',
            'bench_pretrain', 'bench_scripts', 'bench_startup', 'bench_sweep',
            'bench_synthetic', 'bench_tasks', 'bench_threads',
            'compare_latent_aug', 'fixtures', 'grad_precision',
            'paip_query_repeats')


def worktrees_under(folder) -> list:
    """The git worktrees registered under ``folder`` (a test's own
    ``tmp_path``): the other tests of an xdist run add and remove worktrees
    of their own meanwhile, so the whole list is not compared."""
    from benchmarks.bench_startup import git
    return [line for line in git('worktree', 'list', '--porcelain')
            .splitlines() if line.startswith('worktree ')
            and str(folder) in line]



class _Parsed(Exception):
    """Raised in place of running a benchmark once its flags are parsed."""


@pytest.fixture
def parse_only(monkeypatch):
    """``parsed(name, argv)``: the parser and namespace of ``python -m
    benchmarks.<name> argv``, nothing run (a refused flag: SystemExit)."""
    original = argparse.ArgumentParser.parse_args

    def parse_args(self, args=None, namespace=None):
        raise _Parsed(self, original(self, args, namespace))
    monkeypatch.setattr(argparse.ArgumentParser, 'parse_args', parse_args)

    def parsed(name, argv):
        module = importlib.import_module(f'benchmarks.{name}')
        with pytest.raises(_Parsed) as got:
            module.main(argv)
        return got.value.args
    return parsed


def _documented_commands():
    """(file, name, argv) of every ``python -m benchmarks.<name> ...`` in
    the docs and in gpu_run.sh (continued lines joined, comments cut)."""
    files = [os.path.join(REPO, 'benchmarks', f) for f in (
        'RESULTS.md', 'README.md', 'gpu_run.sh')] + [
        os.path.join(REPO, f) for f in ('README.md', 'GETTING_STARTED.md')
    ] + sorted(glob.glob(os.path.join(REPO, 'docs', '*.md')))
    found = []
    for path in files:
        text = re.sub(r'\\\n\s*', ' ', open(path).read())
        array = re.search(r'SCRIPT_ARGS=\(([^)]*)\)', text)
        if array:  # gpu_run.sh's arguments of bench_scripts
            text = text.replace('"${SCRIPT_ARGS[@]}"', array.group(1))
        for m in re.finditer(r'python -m benchmarks\.(\w+)([^`\n|;)]*)',
                             text):
            args = re.sub(r'\s\d?>.*', '', m.group(2))  # a redirection
            argv = shlex.split(args.replace('"$OUT', '"/tmp'), comments=True)
            found.append((os.path.relpath(path, REPO), m.group(1), argv))
    return found


def test_documented_commands_still_parse(parse_only):
    """Every benchmark command RESULTS.md, the READMEs, the docs and
    gpu_run.sh name exists and takes those flags and values (parsed only:
    a renamed or removed flag fails here, not in a user's shell)."""
    commands = _documented_commands()
    names = {name for _, name, _ in commands}
    assert {'bench_scripts', 'bench_threads', 'bench_startup', 'bench_sweep',
            'bench_meta_test', 'bench_tasks', 'bench_dictionary',
            'bench_extract', 'bench_pretrain', 'compare_latent_aug'} <= names
    for where, name, argv in commands:
        try:
            parse_only(name, argv)
        except SystemExit:
            pytest.fail(f'{where}: python -m benchmarks.{name} '
                        f'{shlex.join(argv)} is refused')


def test_help_formatter_shows_defaults_once():
    """``(default: X)`` after an option's help, written by hand here: a 0
    (equal to False, not a flag), a list, not where the help says it, not
    after a flag that is off or an option without a value. (An option
    without help shows none: argparse formats no help there.)"""
    from benchmarks._common import parser
    p = parser('doc')
    p.add_argument('--zero', type=int, default=0, help='zero')
    p.add_argument('--many', nargs='+', default=[1, 5], help='many')
    p.add_argument('--said', default=3, help='three (default: three)')
    p.add_argument('--flag', action='store_true', help='flag')
    p.add_argument('--unset', default=None, help='unset')
    text = ' '.join(p.format_help().split()) + ' '
    assert '--zero ZERO zero (default: 0)' in text
    assert '--many MANY [MANY ...] many (default: 1 5)' in text
    assert '--said SAID three (default: three) ' in text
    assert '--flag flag ' in text and '--unset UNSET unset ' in text
    assert text.count('default') == 3


@pytest.mark.parametrize('name', COMMANDS)
def test_every_option_explained_with_its_default(name, parse_only):
    """Each benchmark's ``--help``: every option has a help text, and says
    its default unless it is a flag that is off or has none."""
    p, _ = parse_only(name, [])
    formatter = p._get_formatter()
    for action in p._actions:
        if isinstance(action, argparse._HelpAction) or \
                action.help == argparse.SUPPRESS:
            continue
        assert action.help, f'{name} {action.option_strings}: no help'
        if action.default is not None and action.default is not False:
            assert 'default' in formatter._get_help_string(action), \
                f'{name} {action.option_strings}: default not said'


@pytest.mark.parametrize('argv, flag', [
    (['--num_task', '0'], '--num_task'), (['--shots', '-1'], '--shots'),
    (['--num_task', 'many'], '--num_task')])
def test_counts_below_one_refused_by_argparse(argv, flag, capsys):
    from benchmarks import bench_tasks
    with pytest.raises(SystemExit) as exit_:
        bench_tasks.main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert f'argument {flag}: expected a whole number >= 1' in err


@pytest.mark.parametrize('value', ['-1', 'two', '0', '3'])
def test_bench_pretrain_profile_steps_refused_below_zero(value, parse_only,
                                                         capsys):
    """``--profile STEPS`` (0: no profiled run) took any integer: ``-1``
    ran the whole benchmark and then a profiled run whose profile never
    started (a traceback at the end); argparse refuses it now, as it
    refuses a count below 1."""
    if value.isdigit():
        _, args = parse_only('bench_pretrain', ['--profile', value])
        assert args.profile == int(value)
        return
    with pytest.raises(SystemExit) as exit_:
        parse_only('bench_pretrain', ['--profile', value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.endswith('argument --profile: expected a whole number >= 0, '
                        f'got {value!r}'), err


@pytest.mark.parametrize('name, flag, value, bound', [
    ('bench_pretrain', '--seconds', '0', '>'),
    ('bench_threads', '--max_run_s', 'inf', '>'),
    ('bench_threads', '--max_run_s', 'soon', '>'),
    ('bench_threads', '--min_sample_s', '-0.5', '>=')])
def test_seconds_refused_by_argparse(name, flag, value, bound, parse_only,
                                     capsys):
    """A number of seconds that is not one, not finite, or not above 0
    (``--min_sample_s``: below 0) is argparse's one line (docs/refusals.md
    lists it)."""
    with pytest.raises(SystemExit) as exit_:
        parse_only(name, [flag, value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.endswith(f'argument {flag}: expected a number of seconds '
                        f'{bound} 0, got {value!r}'), err


@pytest.mark.parametrize('name, argv', [
    ('bench_meta_test', ['--clf', 'svm']),
    ('bench_startup', ['--skip', 'everything'])])
def test_a_value_outside_the_choices_refused_by_argparse(name, argv,
                                                         parse_only, capsys):
    with pytest.raises(SystemExit) as exit_:
        parse_only(name, argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert f'argument {argv[0]}: invalid choice: {argv[1]!r}' in err, err


@pytest.mark.parametrize('name', ['bench_extract', 'bench_scripts'])
def test_bad_device_name_is_one_line_before_any_work(name, monkeypatch,
                                                     capsys):
    """The benchmarks whose ``--device`` takes any word refuse one that
    names no device, in one line, before any work (on a GPU machine
    too)."""
    module = importlib.import_module(f'benchmarks.{name}')

    def no_work(*args, **kwargs):
        raise AssertionError('the benchmark ran')
    for part in ('loading_rate', 'prepare', 'machine'):
        if hasattr(module, part):
            monkeypatch.setattr(module, part, no_work)
    assert run_cli(module.main, ['--device', 'gpu']) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "error: --device must be cpu, cuda or cuda:N, got 'gpu'"]


@pytest.mark.parametrize('name, flag, part', [
    ('compare_latent_aug', '--novel_class', 'make_paper_workdir'),
    ('bench_sweep', '--novel_classes', 'prepare_near'),
    ('bench_scripts', '--novel_classes', 'prepare')])
@pytest.mark.parametrize('value', ['9', '-1', 'x', '77'])
def test_bad_novel_class_refused_before_the_fixture(name, flag, part, value,
                                                    monkeypatch, capsys):
    """A novel class that names no NCT class was refused by the task
    store's or dictionary's spec, after the paper-scale fixture (366 MB)
    was written; argparse refuses it now, in one line, before any work.
    (0..8 and 78 are what ``held_out`` takes.)"""
    module = importlib.import_module(f'benchmarks.{name}')

    def no_work(*args, **kwargs):
        raise AssertionError('the fixture was written')
    monkeypatch.setattr(module, part, no_work)
    with pytest.raises(SystemExit) as exit_:
        module.main([flag, '0', value] if flag.endswith('es')
                    else [flag, value])
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.endswith(f'argument {flag}: expected a novel class 0..8 or '
                        f'78 (classes 7 and 8), got {value!r}'), err


@pytest.mark.parametrize('value', ['0', '8', '78'])
def test_novel_classes_taken(value, parse_only):
    for name, flag in (('compare_latent_aug', '--novel_class'),
                       ('bench_sweep', '--novel_classes'),
                       ('bench_scripts', '--novel_classes')):
        _, args = parse_only(name, [flag, value])
        got = getattr(args, flag[2:])
        assert got == (int(value) if name == 'compare_latent_aug'
                       else [int(value)])


def test_output_checked_before_any_work(tmp_path, monkeypatch, capsys):
    """An ``--output`` that is a folder is one line, before the tasks are
    drawn (it was a traceback after the whole run)."""
    from benchmarks import bench_tasks

    def no_work(*args, **kwargs):
        raise AssertionError('the benchmark ran')
    monkeypatch.setattr(bench_tasks, 'sample_tasks', no_work)
    assert run_cli(bench_tasks.main, ['--output', str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f'error: {tmp_path}: is a folder; give a file name']


def test_save_is_atomic(tmp_path):
    """A JSON that cannot be written leaves the previous one as it was."""
    from benchmarks._common import save
    path = tmp_path / 'out' / 'r.json'
    save(str(path), {'x': 1.5, 'nan': float('nan')})
    assert json.loads(path.read_text()) == {'x': 1.5, 'nan': None}
    with pytest.raises(Exception):
        save(str(path), {'x': object()})
    assert json.loads(path.read_text()) == {'x': 1.5, 'nan': None}
    assert os.listdir(path.parent) == ['r.json']


@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU is there')
@pytest.mark.parametrize('name, argv', [
    ('bench_extract', ['--device', 'cuda']),
    ('bench_meta_test', ['--device', 'cuda']),
    ('bench_sweep', ['--device', 'cuda']),
    ('bench_scripts', ['--device', 'cuda'])])
def test_no_gpu_is_one_line_before_any_work(name, argv, monkeypatch, capsys):
    module = importlib.import_module(f'benchmarks.{name}')

    def no_work(*args, **kwargs):
        raise AssertionError('the benchmark ran')
    for part in ('loading_rate', 'make_data', 'prepare_near', 'prepare'):
        if hasattr(module, part):
            monkeypatch.setattr(module, part, no_work)
    assert run_cli(module.main, argv) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        'error: --device cuda asked for, but torch sees no GPU']


def test_bench_threads_saved_run_refused_in_one_line(tmp_path, capsys):
    from benchmarks import bench_threads
    missing = tmp_path / 'none.json'
    other = tmp_path / 'tasks.json'
    other.write_text(json.dumps({'store_read_s': 0.1}))
    for argv, line in (
            (['--summarise', str(missing)],
             f'error: bench_threads output not found: {missing}'),
            (['--recheck', str(missing)],
             f'error: bench_threads output not found: {missing}'),
            (['--summarise', str(other)],
             f'error: {other}: not the --output of bench_threads (no list '
             'of "cells")')):
        assert run_cli(bench_threads.main, argv) == 2
        captured = capsys.readouterr()
        assert captured.err.strip().splitlines() == [line]
        assert captured.out == ''  # refused before anything is measured


@pytest.mark.parametrize('argv, shots, widths, max_run_s', [
    (['--quick'], [1, 10], [128, 512], 1.0),
    (['--quick', '--widths', '64', '--max_run_s', '2'], [1, 10], [64], 2.0),
    ([], [1, 10, 100], [128, 512, 2048], 3.0),
    (['--shots', '5'], [5], [128, 512, 2048], 3.0)])
def test_bench_threads_quick_keeps_given_flags(argv, shots, widths,
                                               max_run_s, monkeypatch):
    """``--quick`` fills the grid flags not given (it replaced them:
    ``--quick --widths 64`` measured widths 128 and 512)."""
    from benchmarks import bench_threads
    seen = []
    monkeypatch.setattr(bench_threads, 'grid',
                        lambda args, *rest: seen.append(args))
    bench_threads.main(argv + ['--conditions', 'idle'])
    (args,) = seen
    assert (args.shots, args.widths, args.max_run_s) == \
        (shots, widths, max_run_s)


@pytest.mark.parametrize('num_task, loop_tasks, aug_loop_tasks', [
    (5, 40, 6), (5, 3, 9), (50, 40, 6)])
def test_bench_sweep_loop_sample_at_most_every_task(
        num_task, loop_tasks, aug_loop_tasks, monkeypatch):
    """bench_sweep's loop sample (``--loop_tasks``, ``--aug_loop_tasks``)
    is at most ``--num_task``: the loop solves only tasks the store has,
    and its task time is scaled by num_task / sample, so an unclamped
    sample of 40 out of 5 tasks would ask for tasks 5..39 and scale by
    5/40. Stand-in loop, fixture and features: no work."""
    from types import SimpleNamespace

    from benchmarks import bench_sweep
    calls = []

    def loop(sup, qry, store, clf, augmenter=None, tasks=None):
        calls.append((augmenter is not None, list(tasks)))
        return {'startup_s': 1.0, 'task_s': 2.0}
    monkeypatch.setattr(bench_sweep, 'sklearn_loop', loop)
    monkeypatch.setattr(bench_sweep, 'prepare_near', lambda *a: (
        {'fixture_s': 0, 'task_stores_s': 0, 'dictionaries_s': 0},
        {('clp', 0): 'dictionary'}))
    monkeypatch.setattr(bench_sweep, 'load_features',
                        lambda *a: SimpleNamespace(features=None))
    for part in ('ensure_task_store', 'load_dictionary', 'make_augmenter'):
        monkeypatch.setattr(bench_sweep, part, lambda *a, **k: 'stand-in')
    out = {}
    monkeypatch.setattr(bench_sweep, 'save', lambda path, data:
                        out.update(data))
    bench_sweep.main(['--num_task', str(num_task), '--loop_tasks',
                      str(loop_tasks), '--aug_loop_tasks',
                      str(aug_loop_tasks), '--novel_classes', '0',
                      '--shots', '1', '--skip', 'linear', 'analytic'])
    linear, aug = min(loop_tasks, num_task), min(aug_loop_tasks, num_task)
    assert calls == [(False, list(range(linear)))] * 3 + \
        [(True, list(range(aug)))]
    scaled = out['loop_seconds_per_setting_scaled']
    assert scaled['linear Ridge 1'] == 1.0 + 2.0 * num_task / linear
    assert scaled['latent_aug Ridge 1'] == 1.0 + 2.0 * num_task / aug
    assert (out['args']['loop_tasks'], out['args']['aug_loop_tasks']) == \
        (linear, aug)


#: the one line of ``python -m benchmarks.<part>``, a shared part
PART_LINES = {
    'sklearn_loop': 'error: benchmarks.sklearn_loop is a part of '
    'bench_meta_test and bench_sweep, not a command: see python -m '
    'benchmarks.bench_meta_test --help',
    '_common': 'error: benchmarks._common is a part of bench_dictionary, '
    'bench_extract, bench_meta_test, bench_pretrain, bench_scripts, '
    'bench_startup, bench_sweep, bench_synthetic, bench_tasks, '
    'bench_threads, compare_latent_aug, grad_precision and '
    'paip_query_repeats, not a '
    'command: see python -m '
    'benchmarks.bench_dictionary --help'}


@pytest.mark.parametrize('part', sorted(PART_LINES))
@pytest.mark.parametrize('argv', [['--help'], []])
def test_a_part_run_as_a_command_says_it_is_one(part, argv, monkeypatch,
                                                capsys):
    """``python -m benchmarks.sklearn_loop --help`` (and ``_common``)
    printed nothing and exited 0: sklearn_loop is the loop of
    bench_meta_test and bench_sweep, _common the command line of every
    benchmark, not benchmarks, and each says so in one line naming the
    benchmarks to run (run here as ``python -m`` runs it, in this
    process)."""
    import runpy
    import sys
    monkeypatch.setattr(sys, 'argv', [f'{part}.py'] + argv)
    monkeypatch.delitem(sys.modules, f'benchmarks.{part}', raising=False)
    with pytest.raises(SystemExit) as exit_:
        runpy.run_module(f'benchmarks.{part}', run_name='__main__')
    assert exit_.value.code == 2
    out, err = capsys.readouterr()
    assert out == '' and err.splitlines() == [PART_LINES[part]]


def test_common_names_every_benchmark():
    """_common's line names every benchmark: the files that run a
    ``main`` as a command, but fixtures (which writes the features the
    others share)."""
    from benchmarks._common import BENCHMARKS
    found = sorted(os.path.basename(p)[:-3] for p in glob.glob(
        os.path.join(REPO, 'benchmarks', '*.py'))
        if 'run_main(main)' in open(p).read())
    assert list(BENCHMARKS) == [n for n in found if n != 'fixtures']
    assert list(BENCHMARKS) == [n for n in COMMANDS if n != 'fixtures']


@pytest.mark.parametrize('name', sorted(
    os.path.basename(p)[:-3] for p in glob.glob(
        os.path.join(REPO, 'benchmarks', '*.py'))
    if not p.endswith('__init__.py')))
def test_runs_as_a_file(name, monkeypatch, capsys):
    """``python benchmarks/<name>.py --help`` (a file, not ``-m``) was a
    ModuleNotFoundError for ``benchmarks`` in all but bench_meta_test and
    bench_scripts: run here as Python runs a file, in this process, with
    the file's folder first on the path, the checkout nowhere on it and
    no ``benchmarks`` imported; a benchmark prints its usage, a part
    says it is one."""
    import runpy
    import sys
    path = os.path.join(REPO, 'benchmarks', f'{name}.py')
    checkout = os.path.realpath(REPO)
    monkeypatch.setattr(sys, 'path', [os.path.dirname(path)] + [
        p for p in sys.path if os.path.realpath(p or '.') != checkout])
    monkeypatch.setattr(sys, 'argv', [path, '--help'])
    imported = {k: v for k, v in sys.modules.items()
                if k == 'benchmarks' or k.startswith('benchmarks.')}
    for k in imported:
        del sys.modules[k]
    try:
        with pytest.raises(SystemExit) as exit_:
            runpy.run_path(path, run_name='__main__')
    finally:
        for k in [k for k in sys.modules
                  if k == 'benchmarks' or k.startswith('benchmarks.')]:
            del sys.modules[k]
        sys.modules.update(imported)
    out, err = capsys.readouterr()
    if name in PART_LINES:
        assert exit_.value.code == 2 and err.splitlines() == \
            [PART_LINES[name]]
    else:
        assert exit_.value.code == 0, err
        assert out.startswith(f'usage: {name}.py ') and err == ''


def test_bench_startup_wall_says_why_a_child_failed(capfd):
    """bench_startup's timed child failing was a bare CalledProcessError
    (its stderr went to /dev/null): the failure names the command, its
    exit status and the last 12 lines of its stderr (here 1200 lines, as
    many as ``-X importtime`` writes); a child that succeeds shows
    nothing."""
    import shlex
    import subprocess
    import sys

    from benchmarks import bench_startup
    from benchmarks._common import ChildFailed
    cmd = [sys.executable, '-c', 'import sys; [print("line", i, file='
           'sys.stderr) for i in range(1200)]; sys.exit(3)']
    with pytest.raises(ChildFailed) as got:
        bench_startup.wall(cmd)
    assert isinstance(got.value, subprocess.CalledProcessError)
    assert (got.value.returncode, got.value.cmd) == (3, cmd)
    assert str(got.value).splitlines() == [
        f'{shlex.join(cmd)} exited with status 3; the last 12 of its 1200 '
        'lines of stderr:'] + [f'  line {i}' for i in range(1188, 1200)]
    few = [sys.executable, '-c', 'raise SystemExit("a\\nb")']
    with pytest.raises(ChildFailed) as got:
        bench_startup.wall(few)
    assert str(got.value).splitlines() == [
        f'{shlex.join(few)} exited with status 1; its 2 lines of stderr:',
        '  a', '  b']
    quiet = [sys.executable, '-c', 'raise SystemExit(4)']
    with pytest.raises(ChildFailed, match=re.escape(
            f'{shlex.join(quiet)} exited with status 4; nothing on its '
            'stderr')):
        bench_startup.wall(quiet)
    # the import report of a child that fails: its 12 last lines
    with pytest.raises(ChildFailed) as got:
        bench_startup.imported([sys.executable, '-c',
                                'import json; raise SystemExit("no")'])
    lines = str(got.value).splitlines()
    assert got.value.cmd[1:3] == ['-X', 'importtime'] and len(lines) == 13
    assert 'exited with status 1; the last 12 of its' in lines[0]
    assert lines[-1] == '  no' and lines[-2].startswith('  import time:')
    capfd.readouterr()
    seconds = bench_startup.wall([sys.executable, '-c', 'import sys; '
                                  'print("a warning", file=sys.stderr)'])
    assert 0 < seconds < 60
    assert capfd.readouterr() == ('', '')


def test_bench_startup_wall_checks_the_expected_status():
    """A timed refusal must be one: ``wall(expect=2)`` of a child that
    exits 0 or 1 is a ChildFailed naming its status and the one expected;
    one that exits 2 is timed."""
    import shlex
    import sys

    from benchmarks import bench_startup
    from benchmarks._common import ChildFailed
    for code in (0, 1):
        cmd = [sys.executable, '-c', f'raise SystemExit({code})']
        with pytest.raises(ChildFailed) as got:
            bench_startup.wall(cmd, expect=2)
        assert str(got.value) == (f'{shlex.join(cmd)} exited with status '
                                  f'{code}, not 2; nothing on its stderr')
    assert bench_startup.wall([sys.executable, '-c', 'raise SystemExit(2)'],
                              expect=2) > 0


def _train_part(monkeypatch, tmp_path, commands):
    """bench_startup with :data:`TRAIN_COMMANDS` replaced by ``commands``
    and the tiny training's files (a real training, ~10 s) stood in for
    by paths in ``tmp_path/marks``; skipped outside a git checkout."""
    from benchmarks import bench_startup
    if bench_startup.describe() is None:
        pytest.skip('not a git checkout: no worktree of a commit')
    marks = str(tmp_path / 'marks')
    monkeypatch.setattr(bench_startup, 'tiny_training', lambda root: {
        'missing': marks, 'config': marks + '/c.py',
        'checkpoint': marks + '/e.pth'})
    monkeypatch.setattr(bench_startup, 'TRAIN_COMMANDS', commands)
    return bench_startup


def test_bench_startup_train_part_against_a_commit(tmp_path, monkeypatch):
    """The training commands' part on its smallest settings, real
    processes: balance_sweep.py's refusal of a missing config, in this
    checkout and in a git worktree of HEAD (a commit of this checkout),
    once each after the untimed check run: each refuses in the same line,
    the ratio is that of the medians, and the worktree (folder and git's
    record) is gone after."""
    from benchmarks.bench_startup import TRAIN_COMMANDS
    bench_startup = _train_part(monkeypatch, tmp_path, [
        c for c in TRAIN_COMMANDS
        if c[0] == 'balance_sweep.py, missing config'])
    head = bench_startup.resolve_commit('HEAD')
    r = bench_startup.train_startup(str(tmp_path), head, 1)
    assert r['checkouts']['against'] == {'commit': head}
    row, = r['commands']
    assert row['expected_status'] == 2
    assert row['this']['said'] == row['against']['said'] == \
        f'error: {tmp_path}/marks/balance.py: config file not found'
    for key in ('this', 'against'):
        assert len(row[key]['runs_s']) == 1
        assert row[key]['median_s'] == row[key]['runs_s'][0] > 0
    assert row['against_over_this'] == \
        row['against']['median_s'] / row['this']['median_s']
    assert not (tmp_path / 'against').exists()
    assert worktrees_under(tmp_path) == []


def test_bench_startup_light_part_times_cpu_and_names_imports(
        tmp_path, monkeypatch):
    """The light paths' part on its smallest settings, real processes:
    ``train.py --help`` in this checkout and in a git worktree of HEAD,
    once each: each row has the CPU time of its run beside its wall time
    (the ratio that of the CPU medians), the heavy packages it imports
    (none: its --help loads no model stack; the reference is
    ``imported`` run here on the same command), and the table prints
    both times; the worktree is gone after."""
    import sys

    from benchmarks import bench_startup
    if bench_startup.describe() is None:
        pytest.skip('not a git checkout: no worktree of a commit')
    monkeypatch.setattr(bench_startup, 'LIGHT_COMMANDS', [
        ('train.py --help', ['tools/train.py', '--help'], 0)])
    head = bench_startup.resolve_commit('HEAD')
    r = bench_startup.light_startup(str(tmp_path), head, 1)
    row, = r['commands']
    want = bench_startup.imported([sys.executable, 'tools/train.py',
                                   '--help'])
    for key in ('this', 'against'):
        assert len(row[key]['cpu_s']) == 1 and row[key]['cpu_s'][0] > 0
        assert row[key]['median_cpu_s'] == row[key]['cpu_s'][0]
        assert row[key]['imports'] == want
    assert row['cpu_against_over_this'] == \
        row['against']['median_cpu_s'] / row['this']['median_cpu_s']
    lines = bench_startup.checkouts_table(
        r | {'load_before': [1.0] * 3, 'load_after': [1.0] * 3}, 1,
        'light paths', cpu=True)
    assert lines[2].split() == ['command', 'wall', 'CPU']
    assert lines[3].split() == [head[:7], 'this', 'old/new'] * 2
    assert lines[4].split()[-3:] == [
        f'{row["this"]["median_cpu_s"]:.2f}', 's',
        f'{row["cpu_against_over_this"]:.2f}x']
    assert not (tmp_path / 'against').exists()


#: a fake training command's refusal: its line, exit status 2
REFUSE = 'print("error: refused", file=sys.stderr); sys.exit(2)'
#: a fake training command: a refusal on its first run in a checkout (the
#: untimed check), then exit status 0
REFUSES_ONCE = (
    'import os, sys; mark = os.path.join(sys.argv[1], os.getcwd()'
    '.replace(os.sep, "_")); ran = os.path.exists(mark); '
    f'open(mark, "w").close(); sys.exit(0) if ran else None; {REFUSE}')


@pytest.mark.parametrize('where', ['check', 'no error line', 'timed',
                                   'ctrl-c'])
def test_bench_startup_train_part_fails_loudly_and_removes_its_worktree(
        where, tmp_path, monkeypatch):
    """A command of this checkout that ends with another exit status than
    the expected one (here a refusal that ran: 0, not 2), in the untimed
    check run or in a timed one, or with a refusal's status but no
    ``error:`` line (python's own 2 for a missing script), fails the part
    with a ChildFailed that says so, rather than being timed; that, or a
    Ctrl-C while timing, leaves no worktree of --against behind."""
    from benchmarks._common import ChildFailed
    code = {'check': ['-c', 'raise SystemExit(0)'],
            'no error line': ['tools/no_such_tool.py'],
            'timed': ['-c', REFUSES_ONCE, '{missing}'],
            'ctrl-c': ['-c', f'import sys; {REFUSE}']}[where]
    bench_startup = _train_part(monkeypatch, tmp_path, [('fake', code, 2)])
    (tmp_path / 'marks').mkdir()
    if where == 'ctrl-c':
        def interrupted(*args, **kwargs):
            raise KeyboardInterrupt
        monkeypatch.setattr(bench_startup, 'wall', interrupted)
    with pytest.raises(KeyboardInterrupt if where == 'ctrl-c'
                       else ChildFailed) as got:
        bench_startup.train_startup(str(tmp_path),
                                    bench_startup.resolve_commit('HEAD'), 2)
    if where == 'no error line':
        assert (got.value.returncode, got.value.expected) == (2, 2)
        head, tail = str(got.value).splitlines()
        assert head.endswith(' exited with status 2 without an error: line '
                             'last (not a refusal); its 1 lines of stderr:')
        assert "can't open file" in tail and 'no_such_tool.py' in tail
    elif where != 'ctrl-c':
        assert (got.value.returncode, got.value.expected) == (0, 2)
        assert str(got.value).endswith(
            ' exited with status 0, not 2; nothing on its stderr')
    assert not (tmp_path / 'against').exists()
    assert worktrees_under(tmp_path) == []


def test_bench_startup_train_part_reports_what_the_older_checkout_fails(
        tmp_path, monkeypatch):
    """A command that the --against checkout ends with another exit status
    (its config refused, a traceback) is reported in the JSON and under
    the table, and not timed there; this checkout's runs are."""
    from benchmarks.bench_startup import ROOT, check_run, checkouts_table
    fails_there = (f'import os, sys; here = os.environ["PYTHONPATH"] == '
                   f'{ROOT!r}; print("error: no such key" if here else '
                   f'"Traceback\\nKeyError: x", file=sys.stderr); '
                   f'sys.exit(2 if here else 1)')
    bench_startup = _train_part(monkeypatch, tmp_path, [
        ('the fake', ['-c', fails_there], 2)])
    head = bench_startup.resolve_commit('HEAD')
    r = bench_startup.train_startup(str(tmp_path), head, 2)
    row, = r['commands']
    assert row['against'] == {'failed': 'exit status 1, not 2: KeyError: x'}
    assert len(row['this']['runs_s']) == 2 and row['this']['said'] == \
        'error: no such key'
    assert row['against_over_this'] is None
    lines = checkouts_table(r | {'load_before': [1.0] * 3,
                                 'load_after': [2.0] * 3}, 2)
    assert lines[0].endswith(f' against {head[:7]},')
    assert lines[1] == 'median of 2 interleaved fresh processes, load ' \
        '1.0->2.0:'
    assert lines[2].split() == ['command', head[:7], 'this', 'old/new']
    assert lines[3].split()[:3] == ['the', 'fake', '-']
    assert lines[3].endswith(f'{row["this"]["median_s"]:>8.2f} s')
    assert lines[4:] == [f'  {head[:7]} fails "the fake": exit status 1, '
                         'not 2: KeyError: x']
    # a tool the older checkout does not have: python's own status 2
    assert check_run(2, "python: can't open file 'a.py': [Errno 2]", 2) == \
        "exit status 2 without an error: line: python: can't open file " \
        "'a.py': [Errno 2]"
    assert check_run(2, 'usage: x.py\nx.py: error: argument --y', 2) is None
    assert check_run(0, 'a warning', 0) is None


@pytest.mark.parametrize('argv, line', [
    (['--against', 'no-such-commit'], '--against no-such-commit: not a '
     'commit of the git checkout '),
    (['--against', 'HEAD', '--skip', 'help', 'process', 'extract', 'near',
      'train', 'light', 'quickstart'], '--against HEAD is for the train, '
     'light and quickstart parts, which --skip leaves out')])
def test_bench_startup_against_refused_before_any_work(argv, line,
                                                       monkeypatch, capsys):
    """An --against that names no commit is one line before anything is
    written or measured (it was found after the tiny training), as is one
    given with the train, light and quickstart parts skipped (it measured
    nothing)."""
    from benchmarks import bench_startup

    def work(*args):
        raise AssertionError('worked before refusing')
    monkeypatch.setattr(bench_startup, 'machine', work)
    assert run_cli(bench_startup.main, ['--skip', 'help', 'process',
                                        'extract', 'near'] + argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f'error: {line}')


def test_fixtures_help_writes_nothing(tmp_path, monkeypatch, capsys):
    """``python -m benchmarks.fixtures --help`` prints its usage (it wrote
    366 MB of features into a folder named ``--help``)."""
    from benchmarks import fixtures
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        fixtures.main(['--help'])
    assert exit_.value.code == 0
    assert 'workdir' in capsys.readouterr().out
    assert os.listdir(tmp_path) == []


def test_failed_script_names_its_log(tmp_path):
    """bench_scripts: near_domain.sh failing (here: no features in the
    workdir) is one line naming the script's log, not a
    CalledProcessError."""
    from benchmarks import bench_scripts
    log = tmp_path / 'near.txt'
    with pytest.raises(InputError, match=re.escape(f'its output: {log}')):
        bench_scripts.run_script(str(tmp_path / 'wd'), 'linear', [0], [1], 5,
                                 str(log))
    assert log.stat().st_size > 0


@pytest.mark.parametrize('recipe', ['clp', 'fsp'])
def test_bench_pretrain_end_to_end_options_accepted(recipe, monkeypatch):
    """(b)'s ``--cfg-options`` are all taken by the recipe's config: the
    ``vis_backends`` variable among them was refused (an override that
    changes nothing), so (b) failed on every machine, the GPU's too."""
    from benchmarks import bench_pretrain
    from openselfsup.config import load_config
    monkeypatch.chdir(REPO)
    config = bench_pretrain.RECIPES[recipe]['config']
    cfg = load_config(config, bench_pretrain.train_options(
        recipe, '/data/NCT', 'meta/bench.txt', 2, 'auto', 8, False))
    assert cfg.train_dataloader.dataset.ann_file == 'meta/bench.txt'
    assert cfg.visualizer.vis_backends == [dict(type='LocalVisBackend')]
    assert cfg.total_batch_size == 8
    # the one-epoch run's schedule is not warned of inside the table (the
    # recipe's milestones 30, 60, 90 / cosine over 200 epochs were)
    from openselfsup.apis.train import schedule_notes
    assert cfg.train_cfg.max_epochs == 1 and schedule_notes(cfg) == []


def test_bench_pretrain_compile_encoders_runs_b_compiled(tmp_path,
                                                          monkeypatch,
                                                          capsys):
    """``--compile-encoders`` adds one (b) run with ``compile_encoders``
    set (stand-in end_to_end, no GPU), printed and kept in the JSON beside
    the uncompiled run; its config options are taken by the recipe's
    config (the key set to True), and without the flag there is no such
    run or key."""
    from benchmarks import bench_pretrain
    recorded = _stand_in_end_to_end(monkeypatch, tmp_path)
    for flag in ([], ['--compile-encoders']):
        recorded.clear()
        out = tmp_path / 'out.json'
        rc = run_cli(bench_pretrain.main, [
            '--end-to-end-on-cpu', '--recipes', 'fsp', '--batch', '8',
            '--augment_on', 'auto', '--skip', 'ceiling', 'cpu_path',
            'step_ops', '--output', str(out)] + flag)
        printed = capsys.readouterr().out
        assert rc == 0
        saved = json.loads(out.read_text())['fsp']
        # (recipe, augment_on, compile_encoders)
        assert [c[:2] + c[-2:-1] for c in recorded] == [
            ('fsp', 'auto', False)] + ([('fsp', 'auto', True)] if flag
                                       else [])
        assert ('end_to_end_compile_encoders' in saved) == bool(flag)
        assert ('fsp (b) compile_encoders ' in printed) == bool(flag)
    _option_reaches_the_config('compile_encoders', 'auto')


def _stand_in_step_ops(monkeypatch, tmp_path, before) -> dict:
    """bench_pretrain without a GPU, no images written, its ``step_ops``
    a stand-in that calls ``before(recipe)`` (to raise) and returns the
    op counts returned here; the part's other traces (fake-tensor copies,
    the views' bytes: 4-6 s a recipe; the bfloat16 count on the CPU:
    minutes) left out."""
    from benchmarks import bench_pretrain
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(bench_pretrain, 'make_images',
                        lambda root, num: (str(tmp_path), {}))
    ops = {'views': {'device': 3, 'host': 1}}

    def step_ops(recipe, batch, computation='per_group_calls'):
        before(recipe)
        return ops
    monkeypatch.setattr(bench_pretrain, 'step_ops', step_ops)
    monkeypatch.setattr(bench_pretrain, 'step_copies', lambda *a: None)
    monkeypatch.setattr(bench_pretrain, 'views_h2d_bytes', lambda *a: None)
    monkeypatch.setattr(bench_pretrain, 'step_ops_bf16', lambda *a: None)
    return ops


@pytest.mark.parametrize('failing', [(), ('fsp', ), ('clp', 'fsp')])
def test_bench_pretrain_status_says_a_part_failed(failing, tmp_path,
                                                  monkeypatch, capsys):
    """A part of bench_pretrain that raises is printed ('<part> FAILED:'
    and its traceback) and the other parts still run, but the exit status
    was 0 all the same: gpu_run.sh, which marks a stage by its status, took
    the runs whose (b) failed on every machine (d676e0b) for successes. The
    status is 1 and the last line names each failed part, with every other
    figure and the error still in the JSON. (Stand-in ``step_ops``, the
    part that runs without a GPU; no images written.)"""
    from benchmarks import bench_pretrain

    def fails(recipe):
        if recipe in failing:
            raise RuntimeError(f'stand-in failure of {recipe}')
    ops = _stand_in_step_ops(monkeypatch, tmp_path, fails)
    output = tmp_path / 'out.json'
    capsys.readouterr()
    rc = run_cli(bench_pretrain.main, [
        '--skip', 'ceiling', 'end_to_end', 'cpu_path', '--output',
        str(output)])
    out, err = capsys.readouterr()
    saved = json.loads(output.read_text())
    last = (err.splitlines() or [''])[-1]
    # the data path skipped: the first line said 'data path only'
    assert out.splitlines()[0].endswith(
        '; GPU: none (measuring the step op counts)'), out
    for recipe in ('clp', 'fsp'):
        if recipe in failing:
            assert saved[recipe]['step_ops_error'] == \
                f'RuntimeError: stand-in failure of {recipe}'
            assert f'{recipe} step_ops' in last, err
        else:
            assert saved[recipe]['step_ops'] == ops
            assert 'step_ops_error' not in saved[recipe]
            assert f'{recipe} step_ops' not in last, err
    assert rc == (1 if failing else 0), (out, err)
    assert last.startswith('bench_pretrain: FAILED') == bool(failing), err
    assert saved['complete'] is True  # the run went to its end


def test_bench_pretrain_a_run_cut_short_keeps_the_recipes_done(
        tmp_path, monkeypatch):
    """A run ended in its second recipe (a lent GPU's call at its time
    limit, here a KeyboardInterrupt in FSP's part) leaves the JSON of
    the recipes done before: it was written only at the end, so such a
    run brought nothing back. (Stand-in ``step_ops``, no images.)"""
    from benchmarks import bench_pretrain

    def cut(recipe):
        if recipe == 'fsp':
            raise KeyboardInterrupt
    ops = _stand_in_step_ops(monkeypatch, tmp_path, cut)
    output = tmp_path / 'out.json'
    with pytest.raises(KeyboardInterrupt):
        bench_pretrain.main(['--skip', 'ceiling', 'end_to_end', 'cpu_path',
                             '--output', str(output)])
    saved = json.loads(output.read_text())
    # FSP's entry is there, empty: saved as its first part began
    assert saved['clp']['step_ops'] == ops and saved['fsp'] == {}


def _stand_in_ceiling(monkeypatch, tmp_path, stop) -> list:
    """bench_pretrain on a stand-in GPU, no images written, its views'
    rate 1 img/s and its (a) a stand-in ``compute_ceiling`` whose variant
    raises ``stop(variant)`` where that is not None; returns the list of
    variants it was called with."""
    from benchmarks import bench_pretrain
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'get_device_name', lambda *a: 'stand-in')
    monkeypatch.setattr(bench_pretrain, 'make_images',
                        lambda root, num: (str(tmp_path), {}))
    monkeypatch.setattr(bench_pretrain, 'batched_rate', lambda *a: 1.0)
    calls = []

    def compute_ceiling(recipe, steps, warmup, batch, device, size,
                        variants, compile_options=None):
        (variant, ) = variants
        calls.append(variant)
        if stop(variant) is not None:
            raise stop(variant)
        return {bench_pretrain.variant_name(*variant): dict(
            images_per_s=100.0, step_s=1.0, synced_images_per_s=90.0,
            synced_step_s=1.1, host_s=0.5, memory_gib=1.0)}
    monkeypatch.setattr(bench_pretrain, 'compute_ceiling', compute_ceiling)
    return calls


def test_bench_pretrain_a_failing_ceiling_variant_keeps_the_others(
        tmp_path, monkeypatch, capsys):
    """(a)'s variants are run one at a time: one that raises (GhostBN's
    grouped view, never run on a GPU before this test was written, say)
    is reported as its own failed part, the exit status 1, and every
    other variant's figures are printed and kept (one call for all
    variants lost them all). Stand-ins for the GPU's parts; no images
    written."""
    from benchmarks import bench_pretrain
    calls = _stand_in_ceiling(
        monkeypatch, tmp_path, lambda v: RuntimeError('stand-in failure')
        if v[2] == 'grouped_view' else None)
    output = tmp_path / 'out.json'
    rc = run_cli(bench_pretrain.main, [
        '--recipes', 'clp', '--skip', 'end_to_end', 'cpu_path', 'step_ops',
        '--output', str(output)])
    out, err = capsys.readouterr()
    saved = json.loads(output.read_text())['clp']
    assert calls == list(bench_pretrain.VARIANTS)
    kept = [bench_pretrain.variant_name(*v) for v in bench_pretrain.VARIANTS
            if v[2] != 'grouped_view']
    assert list(saved['ceiling']) == kept and len(kept) == 6
    assert all(f'clp (a) {k} ' in out for k in kept), out
    failed = sorted(k for k in saved if k.endswith('_error'))
    assert failed == [f'ceiling amp=bf16 channels_last={cl} '
                      'ghost_bn=grouped_view_error' for cl in (False, True)]
    assert rc == 1 and 'ghost_bn=grouped_view' in err.splitlines()[-1]


def test_bench_pretrain_a_run_cut_in_its_first_parts_keeps_them(
        tmp_path, monkeypatch, capsys):
    """A run cut inside a recipe (a lent GPU's call at its time limit,
    here a KeyboardInterrupt in CLP's third (a) variant) leaves the JSON
    and the printed rows of every part that ended: the JSON was written
    after each recipe and (a)'s rows printed after its last variant, so
    a cut in CLP, the first recipe, brought back neither (review r178).
    And a cut in the very first part still leaves a JSON (the machine,
    the commit)."""
    from benchmarks import bench_pretrain
    cut_at = bench_pretrain.VARIANTS[2]
    calls = _stand_in_ceiling(monkeypatch, tmp_path, lambda v: (
        KeyboardInterrupt() if v == cut_at else None))
    output = tmp_path / 'out.json'
    with pytest.raises(KeyboardInterrupt):
        bench_pretrain.main(['--skip', 'end_to_end', 'cpu_path', 'step_ops',
                             '--output', str(output)])
    out = capsys.readouterr().out
    done = [bench_pretrain.variant_name(*v)
            for v in bench_pretrain.VARIANTS[:2]]
    assert calls == list(bench_pretrain.VARIANTS[:3])
    saved = json.loads(output.read_text())
    assert list(saved['clp']['ceiling']) == done and 'fsp' not in saved
    rows = [ln for ln in out.splitlines() if ln.startswith('clp (a) ')]
    assert len(rows) == 2 and all(
        row.startswith(f'clp (a) {k} ') for row, k in zip(rows, done)), out
    os.remove(output)

    def first(*args):
        raise KeyboardInterrupt
    monkeypatch.setattr(bench_pretrain, 'step_ops', first)
    with pytest.raises(KeyboardInterrupt):
        bench_pretrain.main(['--skip', 'end_to_end', 'cpu_path', 'ceiling',
                             '--output', str(output)])
    saved = json.loads(output.read_text())
    assert saved['clp'] == {} and saved['machine'] and 'commit' in saved
    assert 'complete' not in saved
    # cut in the data path, the recipe's first part with its own save
    os.remove(output)
    monkeypatch.setattr(bench_pretrain, 'worker_rates', first)
    with pytest.raises(KeyboardInterrupt):
        bench_pretrain.main(['--skip', 'end_to_end', 'ceiling', 'step_ops',
                             '--output', str(output)])
    assert json.loads(output.read_text())['clp'] == {}


def _option_reaches_the_config(key: str, augment_on: str) -> None:
    """``bench_pretrain.train_options``' argument ``key``, False and True,
    is that key of the CLP recipe's config it gives."""
    from benchmarks import bench_pretrain
    from openselfsup.config import load_config
    for value in (False, True):
        cfg = load_config(bench_pretrain.RECIPES['clp']['config'],
                          bench_pretrain.train_options(
                              'clp', '/data/NCT', 'meta/bench.txt', 2,
                              augment_on, 8, False, **{key: value}))
        assert cfg.get(key, False) is value


def _stand_in_end_to_end(monkeypatch, tmp_path) -> list:
    """bench_pretrain without a GPU, writing no images, its (b) runs a
    stand-in that returns fixed figures; the list returned records each
    run's ``(recipe, augment_on, compile_views, prefetch_views,
    compile_encoders, reuse_batch_memory)``."""
    from benchmarks import bench_pretrain
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(bench_pretrain, 'make_images',
                        lambda root, num: (str(tmp_path), {}))
    calls = []

    def end_to_end(recipe, nct, augment_on, *args):
        calls.append((recipe, augment_on) + tuple(args[-4:]))
        return dict(images_per_s=2.0, step_s=4.0, data_wait_s=0.0,
                    data_wait_share=0.0)
    monkeypatch.setattr(bench_pretrain, 'end_to_end', end_to_end)
    return calls


def test_bench_pretrain_runs_one_path_once_without_a_gpu(tmp_path,
                                                          monkeypatch,
                                                          capsys):
    """Without a GPU, (b)'s augment_on=auto is the per-image path, as
    augment_on=cpu: both were run and printed as two paths. It runs once,
    its row says the path it took, and the line for the other says why it
    did not run. (Stand-in end_to_end; no images written.)"""
    from benchmarks import bench_pretrain
    from openselfsup.apis import fast_path
    recorded = _stand_in_end_to_end(monkeypatch, tmp_path)
    rc = run_cli(bench_pretrain.main, [
        '--end-to-end-on-cpu', '--recipes', 'fsp', '--batch', '8',
        '--skip', 'ceiling', 'cpu_path', 'step_ops', '--output',
        str(tmp_path / 'out.json')])
    out = capsys.readouterr().out
    assert rc == 0
    # the first line says what the run measures: (b) on the CPU (it said
    # 'data path only', a part this run skipped)
    assert out.splitlines()[0].endswith(
        '; GPU: none (measuring (b) on the CPU)'), out
    # the path apply_fast_path takes for each value without a GPU
    assert {a: fast_path.resolved_augment_on(a, False)
            for a in ('auto', 'cpu')} == {'auto': 'cpu', 'cpu': 'cpu'}
    assert [call[:2] for call in recorded] == [('fsp', 'auto')]
    assert 'fsp (b) augment_on=auto (cpu) ' in out
    assert 'fsp (b) augment_on=cpu: not run, the path of augment_on=auto ' \
        'here (cpu, no GPU)' in out
    saved = json.loads((tmp_path / 'out.json').read_text())['fsp']
    assert saved['end_to_end_auto']['augment_on_resolved'] == 'cpu'
    assert 'end_to_end_cpu' not in saved



def test_bench_pretrain_times_compiled_views_beside_eager_on_the_cpu(
        tmp_path, monkeypatch, capsys):
    """``--compile-views`` timed the compiled views on the GPU only, alone:
    the H100's 359.6 img/s (against 8,178 eager, two lines apart) hid that
    each timed batch compiled anew. The data path part now times them on
    1 CPU thread too, beside the eager views in the same process, for a
    recipe with something to compile (CLP, not FSP), and prints the ratio
    and the graphs compiled in the warm-up and while timed (kept in the
    JSON). (Stand-in rates; no images written.)"""
    from benchmarks import bench_pretrain
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    monkeypatch.setattr(bench_pretrain, 'make_images',
                        lambda root, num: (str(tmp_path), {}))
    monkeypatch.setattr(bench_pretrain, 'worker_rates', lambda *a: dict(
        per_image_views=1.0, per_image_views_per_cpu_s=1.0,
        decode_only=4.0, decode_only_per_cpu_s=4.0))
    calls = []

    def batched_rate(recipe, nct, device, batch, iters,
                     compile_views=False, stats=None):
        calls.append((recipe, device, compile_views))
        if stats is not None:
            stats.update(warmup_s=2.5, graphs_compiled_in_warmup=4,
                         graphs_compiled_while_timed=0)
        return 30.0 if compile_views else 20.0
    monkeypatch.setattr(bench_pretrain, 'batched_rate', batched_rate)
    assert run_cli(bench_pretrain.main, [
        '--compile-views', '--skip', 'ceiling', 'end_to_end', 'step_ops',
        '--output', str(tmp_path / 'out.json')]) == 0
    out = capsys.readouterr().out
    assert calls == [('clp', 'cpu', False), ('clp', 'cpu', True),
                     ('fsp', 'cpu', False)]
    assert 'clp: batched views on 1 CPU thread, compile_views      30.0 ' \
        'img/s (1.50x eager); 4 graphs compiled in the warm-up (2.5 s), ' \
        '0 while timed' in out, out
    assert 'fsp: batched views on 1 CPU thread, compile_views' not in out
    saved = json.loads((tmp_path / 'out.json').read_text())
    assert saved['clp']['batched_views_cpu_1thread_compiled'] == dict(
        images_per_s=30.0, warmup_s=2.5, graphs_compiled_in_warmup=4,
        graphs_compiled_while_timed=0)
    assert 'batched_views_cpu_1thread_compiled' not in saved['fsp']


def test_bench_pretrain_prefetch_views_runs_beside_the_serial_views(
        tmp_path, monkeypatch, capsys):
    """``--prefetch-views`` adds a (b) run with ``prefetch_views=True``
    on the batched views, printed as its own row; without a GPU the
    serial batched views (``augment_on=device``) run beside it, the
    default path being the per-image one there. (Stand-in end_to_end.)"""
    from benchmarks import bench_pretrain
    calls = _stand_in_end_to_end(monkeypatch, tmp_path)
    rc = run_cli(bench_pretrain.main, [
        '--end-to-end-on-cpu', '--prefetch-views', '--recipes', 'clp',
        '--batch', '8', '--skip', 'ceiling', 'cpu_path', 'step_ops',
        '--output', str(tmp_path / 'out.json')])
    out = capsys.readouterr().out
    assert rc == 0
    # (recipe, augment_on, compile_views, prefetch_views, compile_encoders,
    # reuse_batch_memory)
    assert calls == [('clp', 'auto', False, False, False, False),
                     ('clp', 'device', False, False, False, False),
                     ('clp', 'device', False, True, False, False)]
    assert 'clp (b) augment_on=device ' in out
    assert 'clp (b) prefetch_views ' in out
    saved = json.loads((tmp_path / 'out.json').read_text())['clp']
    assert saved['end_to_end_prefetch']['augment_on_resolved'] == 'device'
    _option_reaches_the_config('prefetch_views', 'device')


def test_bench_pretrain_reuse_batch_memory_runs_beside_the_serial_views(
        tmp_path, monkeypatch, capsys):
    """``--reuse-batch-memory`` adds a (b) run with
    ``reuse_batch_memory=True`` on the batched views (its own row and JSON
    entry, the key in its config), the serial batched views beside it
    without a GPU; with ``--prefetch-views`` also, each alone and one run
    with both (its own row). (Stand-in end_to_end.)"""
    from benchmarks import bench_pretrain
    calls = _stand_in_end_to_end(monkeypatch, tmp_path)
    for flags, rows in ((['--reuse-batch-memory'], [
            ('clp', 'device', False, False, False, True)]),
            (['--reuse-batch-memory', '--prefetch-views'], [
                ('clp', 'device', False, True, False, False),
                ('clp', 'device', False, False, False, True),
                ('clp', 'device', False, True, False, True)])):
        calls.clear()
        rc = run_cli(bench_pretrain.main, [
            '--end-to-end-on-cpu', '--recipes', 'clp', '--batch', '8',
            '--skip', 'ceiling', 'cpu_path', 'step_ops',
            '--output', str(tmp_path / 'out.json')] + flags)
        out = capsys.readouterr().out
        assert rc == 0
        # (recipe, augment_on, compile_views, prefetch_views,
        # compile_encoders, reuse_batch_memory)
        assert calls == [('clp', 'auto', False, False, False, False),
                         ('clp', 'device', False, False, False, False)] + \
            rows
        assert 'clp (b) reuse_batch_memory ' in out
        saved = json.loads((tmp_path / 'out.json').read_text())['clp']
        assert saved['end_to_end_reuse_batch_memory'][
            'augment_on_resolved'] == 'device'
        both = len(flags) == 2
        assert ('clp (b) prefetch_views+reuse_batch ' in out) == both, out
        assert ('end_to_end_prefetch_reuse' in saved) == both
    _option_reaches_the_config('reuse_batch_memory', 'device')


def test_bench_pretrain_names_what_its_write_time_covers(tmp_path,
                                                         monkeypatch):
    """The time of writing the synthetic images was ``images_written_s``,
    read as the images the parts measure; it also timed the 9 NCT test
    images no part reads (and the list files). The field says it times the
    whole synthetic NCT layout, and the JSON holds what it wrote per split,
    here checked against the image files on disk."""
    from benchmarks import bench_pretrain
    monkeypatch.chdir(REPO)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    real, on_disk = bench_pretrain.make_images, []

    def make_images(root, num):
        made = real(root, num)
        on_disk.append(sum(f.endswith('.tif') for _, _, files in os.walk(root)
                           for f in files))
        return made
    monkeypatch.setattr(bench_pretrain, 'make_images', make_images)
    output = tmp_path / 'out.json'
    assert run_cli(bench_pretrain.main, [
        '--recipes', 'fsp', '--images', '10', '--skip', 'ceiling',
        'end_to_end', 'cpu_path', 'step_ops', '--output', str(output)]) == 0
    saved = json.loads(output.read_text())
    assert 'images_written_s' not in saved
    assert saved['synthetic_nct_written_s'] > 0
    # 10 rounded up to 2 per class, 1 test image per class
    assert saved['synthetic_nct_images'] == {'NCT train': 18, 'NCT test': 9}
    assert on_disk == [27]


def test_gpu_run_fails_when_a_stage_fails(tmp_path):
    """``gpu_run.sh`` piped each stage to ``tee`` / ``tail``, so a failing
    CUDA test left its exit status 0 and only the log told; a stage whose
    command fails is named at the end and the status is 1, a misspelt
    stage is refused before anything runs (stand-in ``python`` and
    ``nvidia-smi``: no GPU needed)."""
    import subprocess
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir()
    (bin_dir / 'python').write_text(
        '#!/bin/sh\necho "$@" >> "$OUT/calls"\n'
        'case "$*" in *"$FAIL"*) exit 3;; esac\nexit 0\n')
    (bin_dir / 'nvidia-smi').write_text('#!/bin/sh\necho GPU 0\n')
    for f in bin_dir.iterdir():
        f.chmod(0o755)

    runs = []

    def run(fail, *stages):     # fail: a word of the failing command only
        runs.append(stages)
        out = tmp_path / f'out{len(runs)}'
        env = dict(os.environ, OUT=str(out), FAIL=fail,
                   PATH=f'{bin_dir}{os.pathsep}{os.environ["PATH"]}')
        p = subprocess.run(['bash', os.path.join(REPO, 'benchmarks',
                                                 'gpu_run.sh'), *stages],
                           cwd=tmp_path, env=env, capture_output=True,
                           text=True)
        calls = (out / 'calls').read_text() if (out / 'calls').exists() \
            else ''
        return p.returncode, p.stdout.splitlines()[-1:], calls
    rc, last, calls = run('pytest -q', 'tests', 'meta')
    assert rc == 1 and last[0].endswith(': FAILED: tests'), last
    assert 'bench_meta_test' in calls      # the next stage still ran
    rc, last, _ = run('-m benchmarks.bench_extract', 'meta', 'extract',
                      'pretrain')
    assert rc == 1 and last[0].endswith(': FAILED: extract'), last
    rc, last, _ = run('nothing fails', 'meta', 'pretrain')
    assert rc == 0 and 'FAILED' not in last[0], last
    # pretrain's output filter (grep -v, '|| true' for output it filters
    # all of) keeps bench_pretrain's status (1 when a part failed)
    rc, last, _ = run('-m benchmarks.bench_pretrain', 'pretrain', 'meta')
    assert rc == 1 and last[0].endswith(': FAILED: pretrain'), last
    rc, _, calls = run('nothing fails', 'meta', 'pretrian')
    assert rc == 2 and calls == ''
    # the script's setup, run in the background during the tests, failing
    # was seen only as the script stage failing after it (here the stand-in
    # script succeeds: only the setup's status can fail the run)
    rc, last, calls = run('--prepare_only', 'tests', 'script')
    assert '--prepare_only' in calls and 'bench_scripts' in calls
    assert rc == 1 and last[0].endswith(': FAILED: script-prepare'), last
    rc, last, _ = run('nothing fails', 'tests', 'script')
    assert rc == 0 and 'FAILED' not in last[0], last


def test_bench_pretrain_says_what_a_run_without_a_gpu_measured():
    """The last line named 'the data path alone' also where (b) ran on the
    CPU or the data path was skipped; it names the parts that ran."""
    from benchmarks.bench_pretrain import no_gpu_line
    head = 'no GPU on this machine: measured '
    tail = ('; the (a) and (b) figures need a GPU (bash benchmarks/'
            'gpu_run.sh pretrain)')
    assert no_gpu_line([], False) == \
        head + 'the data path, the step op counts' + tail
    # (b) measured on the CPU: the line said the (b) figures need a GPU
    # right after them
    assert no_gpu_line(['cpu_path'], True) == \
        head + "the step op counts, (b) on the CPU; (a) and a GPU's (b) " \
        'figures need a GPU (bash benchmarks/gpu_run.sh pretrain)'
    assert no_gpu_line(['end_to_end'], True) == \
        head + 'the data path, the step op counts' + tail
    assert no_gpu_line(['cpu_path', 'step_ops'], False) == \
        head + 'nothing (every part skipped)' + tail


def test_run_child_says_why_in_its_last_lines(capfd):
    """bench_meta_test's and bench_scripts' measured child that failed
    wrote its whole stderr (pages of progress bars and warnings) above a
    bare CalledProcessError: now a ChildFailed naming the command, its
    status and its stderr's last 12 lines, nothing else written; one that
    succeeds returns its captured output."""
    import shlex
    import subprocess
    import sys

    from benchmarks._common import ChildFailed, run_child
    cmd = [sys.executable, '-c', 'import sys; print("out"); [print("w", i, '
           'file=sys.stderr) for i in range(300)]; sys.exit(5)']
    capfd.readouterr()
    with pytest.raises(ChildFailed) as got:
        run_child(cmd)
    assert isinstance(got.value, subprocess.CalledProcessError)
    assert (got.value.returncode, got.value.stdout) == (5, 'out\n')
    assert str(got.value).splitlines() == [
        f'{shlex.join(cmd)} exited with status 5; the last 12 of its 300 '
        'lines of stderr:'] + [f'  w {i}' for i in range(288, 300)]
    assert capfd.readouterr() == ('', '')
    ok = run_child([sys.executable, '-c', 'print("fine")'])
    assert (ok.returncode, ok.stdout) == (0, 'fine\n')


def test_paip_query_repeats_counts_sets_naming_an_image_twice(tmp_path):
    """The share the protocol page quotes: by hand on three sets, then a
    tiny run of the command on the shipped lists (each side's query sets
    hold 15 rows of one class)."""
    import numpy as np

    from benchmarks.paip_query_repeats import main, repeated_share
    image = np.array([5, 5, 6, 7])  # rows 0 and 1: one image
    assert repeated_share(np.array([[0, 1], [0, 2], [2, 3]]), image) == \
        pytest.approx(1 / 3)
    out = tmp_path / 'r.json'
    main(['--num_task', '20', '--output', str(out)])
    res = json.load(open(out))
    assert res['query_sets'] == 60
    for side in ('published_with_replacement',
                 'project_without_replacement'):
        assert 0 <= res[side] <= 1


def test_bench_synthetic_compares_the_bytes_both_checkouts_wrote(
        tmp_path, monkeypatch):
    """bench_synthetic's part, real processes in this checkout and a git
    worktree of HEAD: a command that writes the same file in both is
    'same bytes', one whose file names its checkout is not; every run is
    timed (wall and CPU), every output folder and the worktree are gone
    after."""
    from benchmarks import bench_startup, bench_synthetic
    if bench_startup.describe() is None:
        pytest.skip('not a git checkout: no worktree of a commit')
    write = ('import os, sys; out = sys.argv[2]; open(os.path.join(out, '
             '"f"), "w").write({})')
    monkeypatch.setattr(bench_synthetic, 'COMMANDS', {
        'same': ['-c', write.format('"x"')],
        'differs': ['-c', write.format('os.getcwd()')]})
    head = bench_synthetic.resolve_commit('HEAD')
    r = bench_synthetic.generators(str(tmp_path), ['same', 'differs'], head,
                                   2)
    rows = r['commands']
    assert (rows['same']['same_bytes'], rows['differs']['same_bytes']) == \
        (True, False)
    for row in rows.values():
        assert row['files'] == 1
        for key in ('this', 'against'):
            assert len(row[key]['runs_s']) == len(row[key]['cpu_s']) == 2
            assert row[key]['median_s'] > 0 and row[key]['median_cpu_s'] > 0
        assert row['against_over_this'] == \
            row['against']['median_s'] / row['this']['median_s']
    assert os.listdir(tmp_path) == []
    assert worktrees_under(tmp_path) == []


def test_bench_startup_reads_the_quickstart_environment(monkeypatch):
    """Part 7 times the quick start's training in the environment the
    checkout's tools/quickstart.sh gives its commands: the OpenMP wait
    policy the script sets (a user's own kept), with the checkout on
    PYTHONPATH and the caller's PATH, and the script stopped before it
    wrote anything."""
    from benchmarks import bench_startup
    monkeypatch.delenv('OMP_WAIT_POLICY', raising=False)
    before = sorted(os.listdir(bench_startup.ROOT))
    env = bench_startup.quickstart_env(bench_startup.ROOT)
    assert env['OMP_WAIT_POLICY'] == 'PASSIVE'
    assert env['PYTHONPATH'] == bench_startup.ROOT
    assert env['PATH'] == os.environ['PATH']
    monkeypatch.setenv('OMP_WAIT_POLICY', 'ACTIVE')
    assert bench_startup.quickstart_env(
        bench_startup.ROOT)['OMP_WAIT_POLICY'] == 'ACTIVE'
    assert sorted(os.listdir(bench_startup.ROOT)) == before


def test_bench_startup_policy_env_sets_or_removes_the_wait_policy(
        monkeypatch):
    """Part 8 runs each command with OMP_WAIT_POLICY unset ('default',
    even where the caller set one) or PASSIVE, the checkout on PYTHONPATH
    and DATA the synthetic data."""
    from benchmarks import bench_startup
    monkeypatch.setenv('OMP_WAIT_POLICY', 'ACTIVE')
    unset = bench_startup.policy_env('default', '/d')
    assert 'OMP_WAIT_POLICY' not in unset
    passive = bench_startup.policy_env('PASSIVE', '/d')
    assert passive['OMP_WAIT_POLICY'] == 'PASSIVE'
    for env in (unset, passive):
        assert env['PYTHONPATH'] == bench_startup.ROOT
        assert env['DATA'] == '/d'


def _lowshot_run(out, elapsed, f1, features):
    """A low-shot workdir as part 8 compares it: one result JSON (its
    timing, sweep record and paths under ``out``), a features file and
    its provenance (its date), a summary table naming ``out``, a sweep
    record and a plot."""
    os.makedirs(os.path.join(out, 'results', 'clp'))
    os.makedirs(os.path.join(out, 'sweeps'))
    with open(os.path.join(out, 'results', 'clp', 'r.json'), 'w') as f:
        json.dump({'per_task_f1': f1, 'execution': {'elapsed_s': elapsed},
                   'sweeps': [{'id': str(elapsed)}],
                   'files': {'path': os.path.join(out, 'f.npy')}}, f)
    with open(os.path.join(out, 'f.npy'), 'wb') as f:
        f.write(features)
    with open(os.path.join(out, 'f.json'), 'w') as f:
        json.dump({'date': f'2026-12-06T10:0{elapsed:.0f}:00+00:00',
                   'outputs': {'features': os.path.join(out, 'f.npy')}}, f)
    with open(os.path.join(out, 'summary.md'), 'w') as f:
        f.write(f'| {out} | 0.5 |\n')
    with open(os.path.join(out, 'sweeps', 's.json'), 'w') as f:
        json.dump({'elapsed_s': elapsed}, f)
    with open(os.path.join(out, 'plot.png'), 'wb') as f:
        f.write(str(elapsed).encode())


def test_bench_startup_lowshot_outcome_differs_in_results_not_timings(
        tmp_path):
    """Two runs in other folders that differ only in their timings, sweep
    records, provenance dates and plots have the same outcome; a changed
    F1 or features file is another outcome."""
    from benchmarks.bench_startup import lowshot_outcome
    runs = {}
    for name, elapsed, f1, feats in (('a', 1.0, [[0.5]], b'x'),
                                     ('b', 2.0, [[0.5]], b'x'),
                                     ('f1', 1.0, [[0.25]], b'x'),
                                     ('feats', 1.0, [[0.5]], b'y')):
        out = str(tmp_path / name)
        _lowshot_run(out, elapsed, f1, feats)
        runs[name] = lowshot_outcome(out)
    assert sorted(runs['a']) == ['f.json', 'f.npy', 'results/clp/r.json',
                                 'summary.md']
    assert runs['a'] == runs['b']
    assert runs['f1'] != runs['a'] and runs['feats'] != runs['a']
    assert runs['f1']['f.npy'] == runs['a']['f.npy']
    assert runs['feats']['results/clp/r.json'] == \
        runs['a']['results/clp/r.json']


def test_bench_startup_training_outcome_reads_losses_and_weights(tmp_path):
    """A training's outcome: every loss its log wrote, in order, and the
    weights of its last checkpoint (a changed weight is another)."""
    from benchmarks import bench_startup
    epochs = bench_startup.QUICKSTART_EPOCHS
    outcomes = []
    for w in (1.0, 1.0, 2.0):
        out = tmp_path / f'run{len(outcomes)}'
        (out / '20260101_000000').mkdir(parents=True)
        (out / '20260101_000000' / '20260101_000000.log').write_text(
            'Epoch(train) [1][1/2] lr: 1e-01 loss: 13.25 time: 0.2\n'
            'Epoch(train) [1][2/2] lr: 1e-01 loss: 12.5  time: 0.3\n')
        torch.save({'state_dict': {'w': torch.full((2,), w)}},
                   out / f'epoch_{epochs}.pth')
        outcomes.append(bench_startup.training_outcome(str(out)))
    assert outcomes[0]['losses'] == ['13.25', '12.5']
    assert outcomes[0] == outcomes[1]
    assert outcomes[2]['weights_sha1'] != outcomes[0]['weights_sha1']


def test_contention_runs_one_busy_process_for_the_block_only():
    """The benchmarks' contended condition: one CPU-bound process runs
    while the block runs (it has used CPU time by then) and is ended
    after it, a failing block too; without ``busy`` there is none."""
    from benchmarks._common import contention
    with contention(False) as hog:
        assert hog is None
    with pytest.raises(ZeroDivisionError):
        with contention(True) as hog:
            assert hog.poll() is None
            with open(f'/proc/{hog.pid}/stat') as f:
                utime = int(f.read().rsplit(')', 1)[1].split()[11])
            assert utime > 0
            1 / 0
    assert hog.poll() is not None


def test_bench_pretrain_loop_split_attributes_a_hook_and_the_wait(
        tmp_path, monkeypatch):
    """(b)'s loop outside the model step (``end_to_end``'s ``loop``): a
    hook made to take 6 s more per step is found under its name, not in
    the loop's rest, a data loader made to wait 5 s more per batch in
    its wait, and a batch that takes 4 s to free in the free; the step
    is the one MMEngine's IterTimerHook times, and the CLP views' avoided
    work (moving the data samples) is timed. A real CPU run of the CLP
    recipe at 32 px crops, ResNet-18 width 8.

    The delays are counted on a fake clock, not slept: the benchmark's
    timers (``time.perf_counter``) and MMEngine's IterTimerHook
    (``time.time``) read the real clock plus the delays made so far, so a
    part holds its delay exactly and its real time besides. Delays of 4 to
    6 s, each part allowed ``margin`` (3 s) of real time over its delay,
    less than the shortest delay: a delay counted in another part than its
    own, or a batch freed twice in one step, still exceeds it, while a
    loaded machine's real times (decoding, hooks: well under a second a
    step) do not. (The delays were slept, 40 to 60 ms with margins of 35
    ms: a loaded machine's decoding put the data wait 0.30 s over its
    0.05 s.)"""
    import time
    from types import SimpleNamespace

    import numpy as np
    from mmengine.hooks import ParamSchedulerHook
    from mmengine.hooks import iter_timer_hook

    from benchmarks import bench_pretrain
    monkeypatch.chdir(tmp_path)
    small = tmp_path / 'small.py'
    base = os.path.join(REPO, bench_pretrain.RECIPES['clp']['config'])
    small.write_text(
        f'_base_ = [{base!r}]\n'
        'model = dict(backbone=dict(base_channels=8, stem_channels=8), '
        'neck=dict(in_channels=64))\n')
    monkeypatch.setitem(bench_pretrain.RECIPES, 'clp', dict(
        bench_pretrain.RECIPES['clp'], config=str(small)))
    options = bench_pretrain.train_options
    monkeypatch.setattr(bench_pretrain, 'train_options', lambda *a: dict(
        options(*a), **{
            'train_dataloader.dataset.pipeline.1.transforms.0.0.scale': 32,
            'train_dataloader.persistent_workers': False}))
    after = ParamSchedulerHook.after_train_iter

    hook_s, wait_s, free_s, margin = 6.0, 5.0, 4.0, 3.0
    delayed = [0.0]  # the fake delays so far, in seconds

    def sleep(seconds):
        delayed[0] += seconds
    for module, name in ((bench_pretrain, 'perf_counter'),
                         (iter_timer_hook, 'time')):
        real = getattr(time, name)
        clock = {k: getattr(time, k) for k in dir(time)
                 if not k.startswith('_')}
        clock[name] = lambda _real=real: _real() + delayed[0]
        monkeypatch.setattr(module, 'time', SimpleNamespace(**clock))

    def slow_hook(self, *a, **k):
        sleep(hook_s)
        return after(self, *a, **k)
    monkeypatch.setattr(ParamSchedulerHook, 'after_train_iter', slow_hook)
    from torch.utils.data.dataloader import _SingleProcessDataLoaderIter
    next_data = _SingleProcessDataLoaderIter._next_data

    class SlowToFree:
        def __del__(self):
            sleep(free_s)

    def slow_data(self):
        sleep(wait_s)
        return dict(next_data(self), slow_to_free=SlowToFree())
    monkeypatch.setattr(_SingleProcessDataLoaderIter, '_next_data',
                        slow_data)
    nct, _ = bench_pretrain.make_images(str(tmp_path / 'data'), 32)
    res = bench_pretrain.end_to_end('clp', nct, 'device', 4, 2, 0,
                                    str(tmp_path / 'w'), 32)
    loop = res['loop']
    assert loop['steps'] == 4
    assert hook_s <= loop['hooks']['after_train_iter:ParamSchedulerHook'] \
        < hook_s + margin
    assert loop['hooks_s'] >= hook_s
    assert wait_s <= loop['data_wait_s'] < wait_s + margin  # + decoding
    # a batch is freed when the step after it asks for its batch
    assert free_s <= loop['batch_free_s'] < free_s + margin
    assert abs(loop['loop_s']) < margin
    assert loop['outside_model_step_s'] == pytest.approx(
        loop['batch_free_s'] + loop['hooks_s'] + loop['loop_s'])
    # the cycle is the step IterTimerHook times (each its own clock)
    assert loop['step_s'] == pytest.approx(res['step_s'], rel=0.1)
    parts = ('batch_free_s', 'data_wait_s', 'train_step_host_s',
             'device_wait_s',
             'hooks_s', 'loop_s')
    assert sum(loop[k] for k in parts) == pytest.approx(loop['step_s'])
    assert loop['device_wait_s'] < 0.005  # the CPU: nothing queued
    assert loop['avoided']['data_samples_to_device'] > 0
    assert np.isfinite(loop['train_step_host_s'])


@pytest.mark.parametrize('given,named', [
    (['--device', 'cuda'], '--device'), (['--images', '7'], '--images'),
    (['--images', '7', '--device', 'cpu'], '--images or --device')])
def test_grad_precisions_variance_part_refuses_the_steps_options(given,
                                                                named):
    """``grad_precision --ghost-bn-variance`` runs on the CPU at its own
    shape: ``--device cuda`` or ``--images`` with it were taken without a
    word and recorded in its JSON beside CPU figures (review r180); now
    one line before anything runs."""
    from benchmarks import grad_precision
    with pytest.raises(InputError, match=f'^--ghost-bn-variance takes no '
                       f'{named}: it runs on the CPU'):
        grad_precision.main(['--ghost-bn-variance', *given])


def test_grad_precisions_empty_device_is_refused():
    """``--device ''`` reaches the device check, which refuses it (review
    r181: the step took it as the default, the CPU, once the default
    became None)."""
    from benchmarks import grad_precision
    with pytest.raises(InputError, match="--device must be cpu, cuda or "
                       "cuda:N, got ''"):
        grad_precision.main(['--device', '', '--images', '1'])
