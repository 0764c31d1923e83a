"""How a command's process ends: every script enters through ``run_cli``,
whose exit freezes the heap (``freeze_heap_at_exit``: the interpreter's
shutdown then skips its collections over the model stack, 1 to 3 s a
command) and loses nothing: the exit status, the log file's last line, the
checkpoint and the other exit handlers are as before."""
import ast
import gc
import glob
import os
import subprocess
import sys

import pytest

from _foundation_helpers import (FSP_DEMO, REPO, small_config,
                                 start_up_freezing, stream_writes)
from openselfsup.utils import InputError, Terminated, errors, run_cli

#: the folders of the commands users run, and the entry each goes through
#: (the benchmarks through ``run_main`` / ``not_a_command`` of
#: ``benchmarks/_common.py``, both ``run_cli``)
_ENTRIES = {'tools': ('run_cli',), 'wsi_workdir': ('run_cli',),
            'benchmarks': ('run_main', 'not_a_command', 'run_cli')}
#: the one command left to end as Python ends it: the published code's way
#: of running a setting, the baseline of bench_scripts, which imports
#: nothing of this project
_AS_PUBLISHED = {'benchmarks/original_setting.py'}

#: a ``sitecustomize`` the child imports at its start: its exit handler,
#: registered before any other, runs last and writes what it finds then
_PROBE = '''import atexit, gc, os


def _report():
    with open(os.environ['EXIT_PROBE'], 'w') as f:
        f.write(f'{gc.get_freeze_count()}\\n')


atexit.register(_report)
'''


def _main_calls(path):
    """The names called in ``path``'s ``if __name__ == '__main__':``
    block (None: the file has none)."""
    tree = ast.parse(open(path).read())
    for node in tree.body:
        if isinstance(node, ast.If) and '__main__' in ast.unparse(node.test):
            return {n.func.id for n in ast.walk(node)
                    if isinstance(n, ast.Call) and
                    isinstance(n.func, ast.Name)}
    return None


def test_every_command_enters_through_run_cli():
    """Each script of tools/, wsi_workdir/ and benchmarks/ that runs as a
    command calls its ``main`` through ``run_cli`` (or a benchmark's
    ``run_main``), where the heap is frozen for the exit: a script that
    called ``main`` itself would pay the shutdown's collections again."""
    seen, missing = [], []
    for folder, entries in _ENTRIES.items():
        for path in sorted(glob.glob(os.path.join(REPO, folder, '**', '*.py'),
                                     recursive=True)):
            calls = _main_calls(path)
            if calls is None:
                continue
            seen.append(os.path.relpath(path, REPO))
            if not calls & set(entries) and seen[-1] not in _AS_PUBLISHED:
                missing.append((seen[-1], sorted(calls)))
    assert len(seen) > 30 and 'tools/train.py' in seen, seen
    assert missing == [], missing


def _run(args, tmp_path, cwd=None):
    """``python <args>`` from the checkout with the exit probe; (exit
    status, stdout, stderr, the freeze count the probe found last)."""
    (tmp_path / 'probe').mkdir(exist_ok=True)
    (tmp_path / 'probe' / 'sitecustomize.py').write_text(_PROBE)
    out = tmp_path / 'probe.txt'
    env = dict(os.environ, EXIT_PROBE=str(out), PYTHONPATH=os.pathsep.join(
        filter(None, [str(tmp_path / 'probe'), REPO,
                      os.environ.get('PYTHONPATH')])))
    p = subprocess.run([sys.executable, os.path.join(REPO, args[0]),
                        *args[1:]], cwd=cwd or str(tmp_path), env=env,
                       capture_output=True, text=True, timeout=600)
    frozen = int(out.read_text()) if out.exists() else None
    return p.returncode, p.stdout, p.stderr, frozen


def test_a_refusal_exits_with_its_status_the_heap_frozen(tmp_path):
    """A low-shot command's refusal: its one line and exit status 2 as
    before, and the exit handler run last finds the heap frozen (0 before
    ``freeze_heap_at_exit``: the shutdown walked every object)."""
    afile = tmp_path / 'afile'
    afile.write_text('')
    rc, out, err, frozen = _run(['wsi_workdir/summarize.py', '--workdir',
                                 str(afile)], tmp_path)
    assert rc == 2 and err.splitlines() == [
        f'error: --workdir {afile} is a file, not a directory'], err
    assert frozen is not None and frozen > 0, frozen


def test_a_training_run_ends_whole_the_heap_frozen(tmp_path, synthetic_root):
    """tools/train.py, a tiny FSP run: exit status 0, its checkpoint
    written, the log file ending on the last line the console showed
    (logging's flush and close run at exit, after the freeze), and the
    exit handler registered first (run last) still runs and finds the
    heap frozen."""
    nct = os.path.join(synthetic_root, 'NCT') + '/'
    cfg = small_config(FSP_DEMO, str(tmp_path / 'fsp.py'), nct, n_images=4,
                       batch=4, ann_file='meta/train_labeled.txt')
    work = tmp_path / 'work'
    rc, out, err, frozen = _run(['tools/train.py', cfg, '--work-dir',
                                 str(work)], tmp_path)
    assert rc == 0, err[-3000:]
    assert (work / 'epoch_1.pth').is_file()
    logged = [ln for ln in (out + err).splitlines() if ' - mmengine - ' in ln]
    log, = glob.glob(str(work / '*' / '*.log'))
    with open(log) as f:
        lines = f.read().splitlines()
    # the same record: the file's date has the year, the console's not
    assert logged and lines[-1].split(' ', 1)[1] == \
        logged[-1].split(' ', 1)[1], (lines[-3:], logged[-3:])
    assert frozen is not None and frozen > 0, frozen


@pytest.mark.parametrize('raised, line', [
    (InputError('list not found'), 'error: list not found'),
    (MemoryError('numpy: 8 TiB'), 'error: out of memory (numpy: 8 TiB); '
     'give smaller counts or sizes'),
    (Terminated(), 'terminated (SIGTERM)'),
    (KeyboardInterrupt(), 'interrupted')])
def test_a_commands_line_is_one_write_with_its_newline(monkeypatch, raised,
                                                       line):
    """Each line ``run_cli`` says reaches stderr in one write, its newline
    in it: under ``PYTHONUNBUFFERED=1`` (set here and in CI) each write is
    a write of its own to the pipe, and ``print`` wrote the line and its
    newline apart, so two ranks of a distributed run refusing at once in
    torchrun's one stderr ran their lines together now and then
    (``test_ranks_that_find_other_checkpoints_to_resume_refuse`` failed
    once in 7 runs: 'error: ... can readerror: ...')."""
    def main(argv):
        raise raised
    writes = stream_writes(monkeypatch)
    monkeypatch.setattr(errors, 'freeze_heap_at_exit', lambda: None)
    run_cli(main, [])
    assert writes == [line + '\n']


#: a command of its own: imports a module that collects as it is imported
#: (a full collection inside an import, as the start-up's), collects with
#: a reference cycle alive, drops it and collects; then says its work
#: begins, and imports another collecting module with a second cycle
#: alive, dropped and collected after; prints what it found
_COLLECTING = '''import gc, sys, weakref
from openselfsup.utils import run_cli
from openselfsup.utils.errors import work_begins


class Node:
    pass


def cycle():
    node = Node()
    node.me = node
    return node, weakref.ref(node)


def main(argv=None):
    import collecting_a
    walked = {id(o) for o in gc.get_objects()}
    print(id(collecting_a.__dict__) in walked, gc.get_freeze_count() > 0)
    node, ref = cycle()
    gc.collect()  # outside an import: freezes nothing
    del node
    gc.collect()
    print(ref() is None)
    kept = Node()
    work_begins()  # frozen once more: what is alive now
    print(id(kept) not in {id(o) for o in gc.get_objects()})
    collecting_a.node, ref = cycle()
    import collecting_b
    del collecting_a.node
    gc.collect()
    print(ref() is None)


if __name__ == '__main__':
    sys.exit(run_cli(main, freeze_start_up=True))
'''


def test_a_commands_start_up_freezes_what_its_imports_leave(tmp_path):
    """A command's process that asks for it (``run_cli(...,
    freeze_start_up=True)``): a full collection inside an import freezes
    what survived it, so the
    collections after no longer walk the imported modules
    (``gc.get_objects`` lists what they walk); a collection outside an
    import freezes nothing (a reference cycle alive there is collected
    once dropped), and once the work begins (``work_begins``, which
    freezes what is alive then) one inside an import freezes nothing
    either. ``run_cli`` without it registers nothing: a test or a
    notebook keeps its collector."""
    script = tmp_path / 'collecting.py'
    script.write_text(_COLLECTING)
    for name in ('collecting_a', 'collecting_b'):
        (tmp_path / f'{name}.py').write_text(
            'import gc\nSTUFF = [{} for _ in range(1000)]\ngc.collect()\n')
    p = subprocess.run([sys.executable, str(script)], capture_output=True,
                       text=True, timeout=120, env=dict(
                           os.environ, PYTHONPATH=os.pathsep.join(filter(
                               None, [REPO, os.environ.get('PYTHONPATH')]))))
    assert p.returncode == 0, p.stderr[-3000:]
    assert p.stdout.split() == ['False'] + ['True'] * 4, p.stdout

    def main(argv):
        return 0
    before = list(gc.callbacks)
    assert run_cli(main, []) == 0
    assert gc.callbacks == before
    assert errors._freeze_after_imports not in gc.callbacks


def test_a_training_runs_work_begins_before_its_runner(tmp_path,
                                                       synthetic_root,
                                                       monkeypatch):
    """``train()`` ends the start-up's freezing (``work_begins``) before
    it builds the runner: a collection inside a lazy import while the run
    goes on must not freeze the runner, its model or a DDP wrapper in
    reference cycles (``ends_its_process_group`` collects the wrapper).
    The freezing registered here as a command's ``run_cli`` registers it;
    the runner's class is asked, at its build, whether it is still
    registered."""
    from mmengine.runner import Runner
    from openselfsup.apis.train import train
    nct = os.path.join(synthetic_root, 'NCT') + '/'
    cfg = small_config(FSP_DEMO, str(tmp_path / 'fsp.py'), nct, n_images=4,
                       batch=4, ann_file='meta/train_labeled.txt')
    registered = []
    built = Runner.from_cfg.__func__

    def from_cfg(cls, cfg):
        registered.append(errors._freeze_after_imports in gc.callbacks)
        return built(cls, cfg)
    monkeypatch.setattr(Runner, 'from_cfg', classmethod(from_cfg))
    with start_up_freezing():
        train(cfg, work_dir=str(tmp_path / 'work'))
    assert registered == [False]


def test_a_benchmark_keeps_its_collector():
    """``benchmarks/_common.run_main``, the entry of every benchmark,
    asks for no start-up freezing: a benchmark builds and drops models
    itself, with no run's start to end the freezing."""
    from benchmarks import _common
    seen = []

    def main(argv=None):
        seen.append(errors._freeze_after_imports in gc.callbacks)
        return 0
    with pytest.raises(SystemExit) as e:
        _common.run_main(main)
    assert e.value.code == 0 and seen == [False]
    assert errors._freeze_after_imports not in gc.callbacks


#: the commands that ask for the start-up freezing: those whose work
#: begins where ``work_begins`` is called (a runner, a model); a command
#: that never reached it would freeze at its work's lazy imports too
_FREEZING = {'tools/train.py', 'tools/balance_sweep.py', 'tools/knn_eval.py',
             'wsi_workdir/extract.py'}


def test_the_commands_that_build_a_runner_or_model_freeze_their_start_up():
    """Each script's ``__main__`` block passes ``freeze_start_up=True`` to
    ``run_cli`` exactly for the commands whose work begins at a
    ``work_begins`` call (review r208: the low-shot commands, the
    summaries and the converters never reach one, and freezing through
    their work kept a cycle's 200 MB tensor to the exit)."""
    asking = set()
    for folder in _ENTRIES:
        for path in glob.glob(os.path.join(REPO, folder, '**', '*.py'),
                              recursive=True):
            tree = ast.parse(open(path).read())
            for node in tree.body:
                if isinstance(node, ast.If) and \
                        '__main__' in ast.unparse(node.test) and \
                        'freeze_start_up=True' in ast.unparse(node):
                    asking.add(os.path.relpath(path, REPO))
    assert asking == _FREEZING
