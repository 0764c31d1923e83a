"""Helpers for the foundation tests: small configs derived from the demos."""
import contextlib
import errno
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from _config_text import PARSE_ONLY
from mmengine.config import Config

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLP_DEMO = os.path.join(REPO, 'configs', 'demo', 'clp_r18_demo.py')
FSP_DEMO = os.path.join(REPO, 'configs', 'demo', 'fsp_r18_demo.py')


def copied_run(trained, work):
    """A copy of the work dir ``trained`` at ``work``, as a run of its own
    there would have left it: ``last_checkpoint`` (the path MMEngine's
    ``--resume`` reads) names the copy's checkpoint. ``work``."""
    shutil.copytree(trained, work)
    last = os.path.join(work, 'last_checkpoint')
    with open(last) as f:
        text = f.read()
    with open(last, 'w') as f:
        f.write(text.replace(str(trained), str(work)))
    return work


def small_config(base: str, out: str, nct_root: str, n_images: int = 16,
                 batch: int = 8, epochs: int = 1, crop: int = 32,
                 ann_file: str = None, workers: int = 0,
                 temperature: float = None, weak_views: bool = False,
                 lr: float = None, ckpt_interval: int = 1, **top) -> str:
    """Write a tiny variant of a demo config to ``out`` and return its path.

    ``n_images`` images spread over the list, ``batch`` total batch,
    ``crop`` px crops, ResNet-18 with base_channels 8, checkpoint every
    epoch. For CLP: ``temperature`` (with loss weight 2T), ``weak_views``
    (crop scale (0.6, 1) and flip only), ``lr``.
    """
    cfg = Config.fromfile(base)
    cfg.total_batch_size = batch
    loader = cfg.train_dataloader
    loader.batch_size = batch
    loader.num_workers = workers
    loader.persistent_workers = workers > 0
    loader.dataset.data_root = nct_root
    if ann_file is not None:
        loader.dataset.ann_file = ann_file
    # spread over the list (it is sorted by class): every class present
    with open(os.path.join(nct_root, loader.dataset.ann_file)) as f:
        n_list = sum(1 for line in f if line.strip())
    loader.dataset.indices = [i * n_list // n_images
                              for i in range(min(n_images, n_list))]
    for t in loader.dataset.pipeline:
        views = t.get('transforms', [[t]])
        for view in views:
            for v in (view if isinstance(view, list) else [view]):
                if v.get('type') == 'RandomResizedCrop':
                    v['scale'] = crop
    cfg.model.backbone.base_channels = 8
    cfg.model.backbone.stem_channels = 8
    if cfg.model.type == 'MoCoV3':
        cfg.model.neck.in_channels = 64
    else:
        cfg.model.head.in_channels = 64
    if temperature is not None:
        cfg.model.head.temperature = temperature
        cfg.model.head.loss.loss_weight = 2 * temperature
    if weak_views:
        loader.dataset.pipeline[1].transforms = [[
            dict(type='RandomResizedCrop', scale=crop,
                 crop_ratio_range=(0.6, 1.), backend='pillow'),
            dict(type='RandomFlip', prob=0.5)]]
    if lr is not None:
        cfg.optim_wrapper.optimizer.lr = lr
    cfg.train_cfg.max_epochs = epochs
    cfg.param_scheduler[0].pop('T_max', None)
    cfg.param_scheduler[0]['end'] = epochs
    if 'milestones' in cfg.param_scheduler[0]:
        cfg.param_scheduler[0]['milestones'] = [epochs + 1]
    cfg.default_hooks.checkpoint.interval = ckpt_interval
    cfg.default_hooks.logger.interval = 1
    cfg.vis_backends = [dict(type='LocalVisBackend')]
    cfg.visualizer.vis_backends = cfg.vis_backends
    for k, v in top.items():
        cfg[k] = v
    cfg.dump(out)
    return out


def checkpoint_tensors(value, key=''):
    """Every tensor in a loaded checkpoint (nested dicts, lists, tuples),
    as ``(path, tensor)``: what two runs that should agree bit for bit
    compare."""
    import torch
    if isinstance(value, torch.Tensor):
        yield key, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from checkpoint_tensors(v, f'{key}.{k}')
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from checkpoint_tensors(v, f'{key}.{i}')


def run_tool(args, cwd=None, timeout=300, env_extra=None, first=None):
    """Run a script of tools/ in a subprocess; return (rc, stdout, stderr).

    Without ``cwd`` the script runs in a fresh temporary folder, removed
    after: a config's default work dir (``work_dirs/<config>``, relative)
    lands there, not among the runs a user keeps in the checkout (the
    demo's is the quick start's). ``first`` (an import statement such as
    :data:`MODEL_STACK_IMPORT`; a Python script only): the subprocess is a
    fork of an interpreter that ran it (:func:`forked_python_c`), the
    script run as ``__main__``, for a test that needs the script's own
    process but not a cold start (the environment the modules of
    ``first`` read as they are imported is this process's, not
    ``env_extra``)."""
    env = dict(_checkout_env(None), **(env_extra or {}))
    cmd = ([sys.executable] if args[0].endswith('.py') else ['bash']) + \
        [os.path.join(REPO, args[0])] + list(args[1:])
    with contextlib.ExitStack() as stack:
        if cwd is None:
            cwd = stack.enter_context(
                tempfile.TemporaryDirectory(prefix='run_tool_'))
        if first is not None:
            assert cmd[0] == sys.executable, 'a fork runs Python'
            return forked_python_c(first, AS_MAIN, cmd[1:], env, cwd,
                                   timeout)
        p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True,
                           text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


#: ``python -c AS_MAIN SCRIPT ARGS...`` runs SCRIPT with ARGS as
#: ``python SCRIPT ARGS...`` does: as ``__main__``, ``sys.argv`` the
#: script's and its arguments, its folder first on sys.path
AS_MAIN = ('import os, runpy, sys\n'
            'sys.argv = sys.argv[1:]\n'
            'sys.path[0] = os.path.dirname(os.path.realpath(sys.argv[0]))\n'
            'runpy.run_path(sys.argv[0], run_name="__main__")\n')


def sigterm_once_blocked(cmd, marker, group=False, when_blocked=None,
                         wait=240, first=None):
    """Run ``cmd`` (a driver that touches ``marker`` where it blocks; this
    checkout on PYTHONPATH), wait until it blocks, call ``when_blocked``
    (if given), then send it SIGTERM (with ``group``, to its process
    group, as torchrun does). ``first``: ``cmd`` (``python SCRIPT
    ARGS...``) runs in a fork of an interpreter that ran it
    (:func:`forked_popen`), not a cold start. Returns (exit status,
    stderr, ``when_blocked``'s value)."""
    import signal
    env = _checkout_env(None)
    if first is not None:
        assert cmd[0] == sys.executable, 'a fork runs Python'
        proc = forked_popen(first, AS_MAIN, cmd[1:], env, session=group)
    else:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True,
                                start_new_session=group)

    def stderr():
        return proc.output()[1] if first is not None else proc.stderr.read()
    try:
        deadline = time.time() + wait
        while not os.path.exists(marker):
            assert proc.poll() is None, stderr()[-3000:]
            assert time.time() < deadline, 'the run never blocked'
            time.sleep(0.1)
        seen = when_blocked() if when_blocked is not None else None
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
        if first is not None:
            proc.wait(60)
            err = stderr()
        else:
            err = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, err, seen


def run_advice(command, path, new, env_extra=None):
    """Run a refusal's advised Python command (``... torch.load(FILE, ...)
    ...; torch.save(c, NEW)``) on ``path``, writing ``new``, as its user
    does: ``python -c`` in an interpreter of its own, nothing this process
    imported or registered (as this project's pickling hook) there to help
    it; the tests' own classes importable, as a user's are to them.

    The interpreter is a fork of one that ran the command's first
    statement and nothing else (:func:`_advice_server`), not a cold
    start: importing torch took 2 s of a start (some 40 s a command on the
    shared machine), ``import torch, openselfsup.engine`` (the commands
    that read this project's files) some 2 s more. Where the command does
    not begin with that import, the fork's interpreter imported torch
    alone (the first import of every advised command). ``env_extra``:
    variables torch reads when it loads a file
    (TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD), set in the fork; others get a
    cold start."""
    run_python_c(command.replace('FILE', repr(str(path))).replace(
        'NEW', repr(str(new))), env_extra)


def run_python_c(code, env_extra=None, cwd=None):
    """``python -c code`` in the folder ``cwd`` (default: this process's),
    in an interpreter of its own as :func:`run_advice` says; asserts its
    exit status 0."""
    env_extra = dict(env_extra or {})
    if set(env_extra) <= {'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'}:
        first = _ENGINE_IMPORT if code.startswith(
            _ENGINE_IMPORT + ';') else 'import torch'
        rc, _, stderr = forked_python_c(
            first, code, env=dict(os.environ, PYTHONPATH=_advice_path(),
                                  **env_extra), cwd=cwd)
    else:
        env = dict(os.environ, PYTHONPATH=_advice_path(), **env_extra)
        p = subprocess.run([sys.executable, '-c', code], env=env, text=True,
                           capture_output=True, timeout=120, cwd=cwd)
        rc, stderr = p.returncode, p.stderr
    assert rc == 0, (code, stderr[-2000:])


#: the imports of a run's model stack (torch, MMEngine, mmpretrain's
#: models and this project's): the first statement of the interpreter
#: that the tests' training and build commands are forked from. With
#: them the third-party modules every run imports later, which register
#: nothing: MMEngine's Visualizer makes a matplotlib figure, its
#: ``collect_env`` imports ``torch.utils.cpp_extension`` (setuptools,
#: distutils); some 150 modules, each fork imported them anew (a py-spy
#: profile of the largest test files: 3.4% of their CPU time in the
#: forks' imports)
MODEL_STACK_IMPORT = ('import torch, torch.distributed, mmpretrain.models, '
                      'openselfsup.apis.train, openselfsup.models, '
                      'matplotlib.figure, matplotlib.backends.backend_agg, '
                      'torch.utils.cpp_extension')


def forked_python_c(first, code, argv=(), env=None, cwd=None, timeout=300):
    """``python -c code *argv`` with the environment ``env`` (default:
    this process's, this checkout first on PYTHONPATH, as ``run_tool``
    gives) in the folder ``cwd`` (default: this process's), in a process
    of its own that is a fork of an interpreter that ran ``first`` (an
    import statement; :func:`_advice_server`) and nothing else: for a
    command that needs a process of its own (its registries, process
    group, signal handlers, loggers, the modules the user's config
    imports), not a cold start (some 5 s of torch's and the model stack's
    imports on the shared machine). Not for what a start itself does:
    the modules it loads (:func:`loaded_modules`), what is read as a
    module is imported (the environment of ``first``'s imports is this
    process's). The warnings shown while ``first`` ran are the first
    lines of the command's stderr, as a fresh interpreter prints them;
    torch's and numpy's global random states are reseeded, as a fresh
    process's are its own (the string hash seed is the server's).
    An uncaught exception's traceback has the server's frame of the
    command (``File "<string>"``, ``in <module>``) above the command's
    own (and ``run_tool``'s scripts runpy's frames): compare its last
    line and the command's frames, not the whole. A command still
    running after ``timeout`` seconds is killed (that fork alone) and
    ``subprocess.TimeoutExpired`` raised, as ``subprocess.run`` does.

    Returns:
        (exit status, stdout, stderr)
    """
    return _advice_server(first).run(code, _checkout_env(env),
                                     cwd or os.getcwd(), argv, timeout)


def forked_popen(first, code, argv=(), env=None, cwd=None, session=False):
    """``python -c code *argv`` as :func:`forked_python_c` runs it, not
    waited for, as ``subprocess.Popen`` starts it (``session``: its
    ``start_new_session``): its :class:`Forked` (``pid``, ``poll``,
    ``wait``, ``kill``, ``output``)."""
    return _advice_server(first).start(code, _checkout_env(env),
                                       cwd or os.getcwd(), argv, session)


def _checkout_env(env):
    """``env``, or this process's environment with this checkout first on
    PYTHONPATH where None (:func:`_checkout_path`)."""
    if env is not None:
        return env
    return dict(os.environ, PYTHONPATH=_checkout_path())


def _checkout_path(*folders):
    """PYTHONPATH with this checkout, then ``folders``, before this
    process's own entries; no empty entry (a fresh interpreter would put
    its folder on sys.path for one, a fork does not; ``python -c`` puts
    it there anyway)."""
    return os.pathsep.join(filter(None, [REPO, *folders,
                                         os.environ.get('PYTHONPATH')]))


def _advice_path():
    """PYTHONPATH of an advised command: the tests' own classes importable
    too, as a user's are to them."""
    return _checkout_path(os.path.join(REPO, 'tests'))


#: the first statement of the advised commands that read this project's
#: files (its loaders registered with torch's unpickler)
_ENGINE_IMPORT = 'import torch, openselfsup.engine'

#: the server's loop: it runs its first argument (an advised command's
#: first import), then per line of JSON ({id, code, argv, env, cwd,
#: stdout, stderr, session}), a fork runs ``code`` as ``python -c code
#: *argv`` does (``__main__`` a module of its own, sys.argv ['-c',
#: *argv], the interpreter's own exit at its end: the functions
#: registered with ``atexit``, the threads joined, an uncaught
#: exception's traceback) with the environment ``env`` (the caller's
#: whole one: nothing of the server's start stays; its PYTHONPATH's
#: folders on sys.path in place of the server's) in the folder ``cwd``
#: (the caller's), its stdout and stderr into the named files, in a
#: session of its own where ``session`` is true (as Popen's
#: start_new_session); the server says ``started ID PID`` at once and
#: ``ended ID STATUS`` (Popen's returncode) when the fork has ended, and
#: takes the next request meanwhile. The warnings shown while ``first``
#: ran are not printed by the server but kept, as Python formats them,
#: and written first into each fork's stderr, as a fresh interpreter
#: prints them; a fork reseeds torch's and numpy's global random states
#: (where ``first`` imported them) as a fresh process has its own. The
#: objects ``first`` made are frozen out of the cyclic collector
#: (``gc.freeze``, as meant for a server that forks)
_SERVER = r"""
import gc, json, os, select, sys, types, warnings


def shown_at_start(message, category, filename, lineno, file=None,
                   line=None):
    at_start.append(warnings.formatwarning(message, category, filename,
                                           lineno, line))


at_start, shown = [], warnings.showwarning
warnings.showwarning = shown_at_start
exec(sys.argv[1], {'__name__': '__main__', '__builtins__': __builtins__})
# yapf's formatting of config texts skipped, its parse kept
# (tests/_config_text.py)
exec(sys.argv[2], {'__name__': '__main__', '__builtins__': __builtins__})
# the imports' objects out of the cyclic collector: a fork's collections
# and its exit no longer touch (and so copy) every page of them (a fork's
# exit took 3.4 s, 1.1 s after, on the shared machine)
gc.freeze()
if warnings.showwarning is shown_at_start:  # not one the imports set
    warnings.showwarning = shown


def folders(path):
    return [os.path.abspath(p) for p in path.split(os.pathsep) if p]


def as_started(env, cwd, argv):
    # a fork as a fresh process started with the environment env in the
    # folder cwd with sys.argv argv (a fork of a fork too: the tests' own
    # forking programs run in a fork call it)
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    given = folders(env.get('PYTHONPATH', ''))
    sys.path[1:] = given + [p for p in sys.path[1:]
                            if p not in started and p not in given]
    sys.argv = argv
    # a fresh process's seeds, not the server's: torch's and numpy's
    # global generators (Python's random reseeds itself at a fork; the
    # string hash seed is the server's, fixed at its start)
    if 'torch' in sys.modules:
        sys.modules['torch'].seed()
    if 'numpy' in sys.modules:
        sys.modules['numpy'].random.seed()
    sys.stderr.write(''.join(at_start))
    sys.stderr.flush()


def reap(block):
    while children:
        try:
            pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        print('ended', children.pop(pid), os.waitstatus_to_exitcode(status),
              flush=True)


started = folders(os.environ.get('PYTHONPATH', ''))
code, children, pending = None, {}, b''
while code is None:
    ready = select.select([0], [], [], 0.02 if children else None)[0]
    reap(False)
    if not ready:
        continue
    chunk = os.read(0, 1 << 16)
    if not chunk:  # the caller has gone: its commands end first
        reap(True)
        break
    pending += chunk
    while code is None and b'\n' in pending:
        line, pending = pending.split(b'\n', 1)
        req = json.loads(line)
        pid = os.fork()
        if pid:
            children[pid] = req['id']
            print('started', req['id'], pid, flush=True)
            continue
        if req['session']:
            os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, 0)
        os.dup2(os.open(req['stdout'], os.O_WRONLY | os.O_TRUNC), 1)
        os.dup2(os.open(req['stderr'], os.O_WRONLY | os.O_TRUNC), 2)
        as_started(req['env'], req['cwd'], ['-c', *req['argv']])
        code = compile(req['code'], '<string>', 'exec')
if code is not None:  # the fork: the command, then the interpreter's exit
    sys.modules['__main__'] = main = types.ModuleType('__main__')
    exec(code, vars(main))
"""


class _AdviceServer:
    """An interpreter that ran ``first`` (an import statement), forked
    once per command; the commands may run at the same time."""

    def __init__(self, first):
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, '-c', _SERVER, first, PARSE_ONLY],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.stderr,
            start_new_session=True,
            env=dict(os.environ, PYTHONPATH=_advice_path()))
        self.first = first
        self.said = {'started': {}, 'ended': {}}
        self.unread = b''
        self.count = 0

    def hear(self, timeout):
        """Read what the server says within ``timeout`` seconds into
        ``said``; False where it said nothing. Where it has ended, it is
        killed and forgotten (:meth:`kill`), so that the next command
        gets a fresh one."""
        import select
        fd = self.proc.stdout.fileno()
        if not select.select([fd], [], [], max(timeout, 0))[0]:
            return False
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            self.kill()
            self.stderr.seek(0)
            raise AssertionError('the advice server ended; its stderr '
                                 'ends:\n' + self.stderr.read()[-2000:]
                                 .decode(errors='replace'))
        *lines, self.unread = (self.unread + chunk).split(b'\n')
        for line in lines:
            kind, key, value = line.decode().split()
            self.said[kind][int(key)] = int(value)
        return True

    def start(self, code, env, cwd, argv=(), session=False):
        """``code`` (with the arguments ``argv``) in a fork with the
        environment ``env`` in the folder ``cwd`` (in a session of its own
        with ``session``), not waited for: its :class:`Forked`."""
        import json
        self.count += 1
        key = self.count
        out = tempfile.NamedTemporaryFile('r', suffix='.out')
        err = tempfile.NamedTemporaryFile('r', suffix='.err')
        self.proc.stdin.write(json.dumps(dict(
            id=key, code=code, argv=list(argv), env=env, cwd=str(cwd),
            stdout=out.name, stderr=err.name, session=session)).encode()
            + b'\n')
        self.proc.stdin.flush()
        deadline = time.monotonic() + 300
        while key not in self.said['started']:
            if not self.hear(deadline - time.monotonic()):
                self.kill()
                raise AssertionError('the advice server started no fork in '
                                     '300 s')
        return Forked(self, key, self.said['started'].pop(key), out, err)

    def run(self, code, env, cwd, argv=(), timeout=300):
        """``code`` as :meth:`start` runs it, waited for; (exit status,
        stdout, stderr). One still running after ``timeout`` seconds is
        killed and ``subprocess.TimeoutExpired`` raised, as
        ``subprocess.run`` does. Where no status comes back (the server
        ended, or none within 60 s of the kill) the server and its forks
        are killed and forgotten, so that the next command gets a fresh
        one and does not read this one's status."""
        forked = self.start(code, env, cwd, argv)
        try:
            forked.wait(timeout)
        except subprocess.TimeoutExpired:
            forked.kill()
            try:
                forked.wait(60)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError('the advice server gave no exit '
                                     'status in 60 s of a kill')
            forked.output()
            raise subprocess.TimeoutExpired(
                [sys.executable, '-c', code, *argv], timeout)
        return forked.returncode, *forked.output()

    def kill(self):
        """End the server and its forks (its process group; a fork in a
        session of its own is its caller's to end) and drop it from
        ``_ADVICE``."""
        import signal
        if _ADVICE.get(self.first) is self:
            del _ADVICE[self.first]
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=60)

    def close(self):
        if self.proc.poll() is not None:
            return
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:  # a fork left running
            self.kill()


class Forked:
    """A command running in a fork of an :class:`_AdviceServer`, as
    ``subprocess.Popen`` gives one: its ``pid``, ``poll``, ``wait``,
    ``returncode``, ``send_signal``, ``kill``; its stdout and stderr read
    from their files (:meth:`output`)."""

    def __init__(self, server, key, pid, out, err):
        self.server, self.key, self.pid = server, key, pid
        self.out, self.err = out, err
        self.returncode = None

    def poll(self):
        if self.returncode is None:
            while self.key not in self.server.said['ended'] and \
                    self.server.hear(0):
                pass
            if self.key in self.server.said['ended']:
                self.returncode = self.server.said['ended'].pop(self.key)
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            left = 60 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                raise subprocess.TimeoutExpired(['fork', str(self.pid)],
                                                timeout)
            self.server.hear(min(left, 60))
        return self.returncode

    def send_signal(self, sig):
        if self.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self):
        import signal
        self.send_signal(signal.SIGKILL)

    def output(self):
        """(stdout, stderr), the files closed (removed)."""
        try:
            return self.out.read(), self.err.read()
        finally:
            self.out.close()
            self.err.close()


_ADVICE = {}


def _advice_server(first):
    """The session's :class:`_AdviceServer` that ran ``first``, started at
    its first use and ended at the interpreter's exit."""
    if first not in _ADVICE or _ADVICE[first].proc.poll() is not None:
        import atexit
        _ADVICE[first] = _AdviceServer(first)
        atexit.register(_ADVICE[first].close)
    return _ADVICE[first]


_TOOLS = {}
#: the scripts whose ``__main__`` keeps a failed allocation's traceback
_TRACEBACK_ON_MEMORY = ('tools/train.py', 'tools/balance_sweep.py')


def tool_module(name: str):
    """The script ``name`` of the checkout (``tools/train.py``) as a
    module, imported once a session (not as ``__main__``)."""
    import importlib.util
    if name not in _TOOLS:
        spec = importlib.util.spec_from_file_location(
            '_tool_' + re.sub(r'\W', '_', name), os.path.join(REPO, name))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _TOOLS[name] = module
    return _TOOLS[name]


def run_tool_here(args, capfd, cwd=None):
    """``run_tool`` in this process: a ``tools/*.py`` script's ``main`` with
    ``args[1:]``, under ``run_cli`` as the script's ``__main__`` calls it
    (the training ones: ``memory_line=False``), in the folder ``cwd``
    (default: a fresh temporary one); no interpreter start, no second
    import of the model stack.
    For a refusal whose line and exit status are what is checked; what
    needs a fresh interpreter (the modules a start loads, signals, a lock
    another process holds) and one run per command line stay
    ``run_tool``'s. ``capfd``: pytest's fixture (the output is read at the
    file descriptors: MMEngine's logger writes to the stream it found).

    Returns:
        (exit status, stdout, stderr), as ``run_tool``.
    """
    from openselfsup.utils import run_cli
    name = args[0]
    capfd.readouterr()
    with tempfile.TemporaryDirectory(prefix='run_tool_') as fresh, \
            contextlib.chdir(cwd or fresh):
        code = run_cli(tool_module(name).main, list(args[1:]),
                       memory_line=name not in _TRACEBACK_ON_MEMORY)
    out, err = capfd.readouterr()
    return code, out, err


def loaded_modules(argv, watch, cwd=REPO, first=None):
    """Run a script (``argv``, path relative to the repository) as
    ``__main__`` in a fresh process; return (exit status, stdout, stderr
    lines that are not warnings, the imported modules that are one of
    ``watch`` (dotted names) or inside one, sorted). ``cwd``: the folder
    it runs in (a config's default work dir is relative to it; relative
    arguments too). ``first`` (an import statement such as
    :data:`MODEL_STACK_IMPORT`): the process is a fork of an interpreter
    that ran it (:func:`forked_python_c`), for a test that needs the
    script's own process but not what a cold start imports (``watch``
    empty)."""
    import ast
    assert first is None or not watch, 'a fork imported first'
    argv = [os.path.join(REPO, argv[0])] + list(argv[1:])
    code = (
        'import runpy, sys\n'
        f'sys.argv = {list(argv)!r}\n'
        f'watch = {tuple(watch)!r}\n'
        'code = 0\n'
        'try:\n'
        '    runpy.run_path(sys.argv[0], run_name="__main__")\n'
        'except SystemExit as e:\n'
        '    code = e.code\n'
        'print("\\nLOADED", sorted(m for m in sys.modules if any(\n'
        '      m == w or m.startswith(w + ".") for w in watch)))\n'
        'sys.exit(code)\n')
    if first is not None:
        rc, stdout, stderr = forked_python_c(first, code, cwd=cwd)
    else:
        out = subprocess.run([sys.executable, '-c', code], cwd=cwd,
                             capture_output=True, text=True, timeout=300,
                             env=_checkout_env(None))
        rc, stdout, stderr = out.returncode, out.stdout, out.stderr
    head, _, loaded = stdout.rpartition('\nLOADED ')
    assert loaded, stderr[-2000:]
    return rc, head, error_lines(stderr), ast.literal_eval(loaded.strip())


_WARNING = re.compile(r'^\S.*:\d+: \w*Warning: ')


def error_lines(stderr: str):
    """Lines of stderr that are not Python warnings.

    A warning is ``path:line: SomeWarning: text`` followed by its indented
    source line (mmcv-lite warns on import; Python 3.12 warns about
    mmpretrain's regexes when it compiles them).
    """
    out, skip_source = [], False
    for ln in stderr.splitlines():
        if _WARNING.match(ln):
            skip_source = True
            continue
        if skip_source and ln.startswith(' '):
            skip_source = False
            continue
        skip_source = False
        if ln.strip():
            out.append(ln)
    return out


def stream_writes(monkeypatch, stream: str = 'stderr') -> list:
    """The list that each write to ``sys.stderr`` (or ``sys.<stream>``) is
    appended to, from now
    to the test's end: a line said in one write, its newline in it, is one
    item (``utils.errors.say``). ``print`` writes a line and its newline
    apart, and under ``PYTHONUNBUFFERED=1`` (CI's) each is a write of its
    own to the pipe, where another process's line (a rank of the run) can
    land between them."""
    writes = []

    class Recorded:
        def write(self, text):
            writes.append(text)
            return len(text)

        def flush(self):
            pass
    monkeypatch.setattr(sys, stream, Recorded())
    return writes


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # no request lines on stderr
        pass


@contextlib.contextmanager
def scope_setting_module(folder, monkeypatch, name: str,
                         scope: str = 'openselfsup'):
    """A module ``name`` in ``folder`` (put on ``sys.path``) whose import
    makes ``scope`` MMEngine's current scope, as a ``custom_imports``
    module of a ``default_scope = None`` config may; the module forgotten
    and MMEngine's scopes as they were after the block."""
    from mmengine.registry import DefaultScope
    (folder / f'{name}.py').write_text(
        'from mmengine.registry import init_default_scope\n'
        f'init_default_scope({scope!r})\n')
    monkeypatch.syspath_prepend(str(folder))
    kept = DefaultScope._instance_dict.copy()
    try:
        yield name
    finally:
        sys.modules.pop(name, None)
        DefaultScope._instance_dict = kept


@contextlib.contextmanager
def start_up_freezing():
    """The start-up freezing registered in this process while the body
    runs, as ``run_cli(..., freeze_start_up=True)`` registers it for a
    command (``errors.freeze_imports_once_collected``); taken out after
    where the body left it (not by ``work_begins``: its freeze would
    freeze this test process's heap)."""
    import gc

    from openselfsup.utils import errors
    errors.freeze_imports_once_collected()
    try:
        yield
    finally:
        if errors._freeze_after_imports in gc.callbacks:
            gc.callbacks.remove(errors._freeze_after_imports)


@contextlib.contextmanager
def served(folder, monkeypatch):
    """Serve the files of ``folder`` over HTTP on 127.0.0.1 (a thread of
    this process) while the body runs; yields the base URL
    (``http://127.0.0.1:PORT``). ``monkeypatch`` takes the proxy variables
    out of the environment (this process's and its subprocesses')."""
    for proxy in ('http_proxy', 'HTTP_PROXY', 'all_proxy', 'ALL_PROXY'):
        monkeypatch.delenv(proxy, raising=False)
    server = http.server.ThreadingHTTPServer(
        ('127.0.0.1', 0), functools.partial(_QuietHandler,
                                            directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f'http://127.0.0.1:{server.server_port}'
    finally:
        server.shutdown()
        server.server_close()


#: the sockets :func:`free_port` keeps bound, one a port it gave, for as
#: long as this process runs
_PICKED_PORTS = []


def free_port(ports: range = None) -> int:
    """A TCP port that no program listens on now, as the
    system picks one (bound to port 0), or, given ``ports``, one of them
    (a Slurm job's port range) that no socket holds, tried at random
    (skips the test where 200 tries found none): for a rendezvous a test
    starts (torchrun's ``--master_port``, gloo's ``MASTER_PORT``), never
    a fixed one such as torchrun's 29500, which another run on the
    machine (another pytest-xdist worker, another user's training) may
    hold. This process keeps the port bound, not listened on, until it
    ends (:func:`keep_port`): a rendezvous (torch's TCPStore, which binds
    with ``SO_REUSEADDR``) still binds and listens on it, and so does a
    test that takes it (:func:`listening_socket`), while no other
    program's port 0, outgoing connection or plain bind takes it in the
    seconds before that (let go at once, it was taken so between pick and
    bind: another xdist worker's gloo or ``free_port``)."""
    if ports is None:
        return keep_port(0)
    import random

    import pytest
    rng = random.Random()
    for _ in range(200):
        port = keep_port(rng.choice(ports))
        if port is not None:
            return port
    pytest.skip(f'no free port from {ports.start} to {ports.stop - 1}')


def keep_port(port: int):
    """``port`` (0: one the system picks) kept bound by this process on
    every IPv4 address (``0.0.0.0``: a hold of 127.0.0.1 alone let a bind
    of another local address take it, gloo's device listener where the
    host name resolves to the machine's network address, and a rendezvous
    on the port was then refused, r184) until it ends, as
    :func:`free_port` gives it; None where a
    socket holds it. Bound without ``SO_REUSEADDR``, which is refused
    where any socket holds the port (another process's kept one too), and
    then given it, so that a rendezvous binds it after (a port kept so
    shares it with a later bind of ``SO_REUSEADDR`` alone, and never with
    a listening socket)."""
    import socket
    sock = socket.socket()
    try:
        sock.bind(('0.0.0.0', port))
    except OSError as exc:
        sock.close()
        if exc.errno != errno.EADDRINUSE:
            raise
        return None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    _PICKED_PORTS.append(sock)
    return sock.getsockname()[1]


def listening_socket(port: int, host: str = '127.0.0.1'):
    """A socket listening on ``port`` of ``host``: a test taking the port
    (a rendezvous on it is then refused). Bound with ``SO_REUSEADDR``, as
    a rendezvous binds, so that it takes a port this process keeps
    (:func:`free_port`), where a plain bind is refused."""
    import socket
    sock = socket.socket()
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen()
    except BaseException:
        sock.close()
        raise
    return sock


@contextlib.contextmanager
def held_port(port: int):
    """``port`` of this machine listened on (every address) while the body
    runs, or left to the program that holds it (taken either way): for a
    test of a fixed port's refusal (torch's and MMEngine's 29500), or of
    a port :func:`free_port` gave this process. The
    tests that hold a port take turns on it, through a file lock in the
    machine's temporary folder: a test that found the port held by
    another's (the other xdist worker's, or another pytest session's on
    the machine: review r180, a lock in the session's own folder missed
    those), which let it go while the body ran, saw it free there."""
    import fcntl
    # one file for every port (none left per port), opened for reading:
    # flock needs no write access, so another user's runs, which find it
    # made by the first, take turns too (review r181)
    lock = os.open(os.path.join(tempfile.gettempdir(),
                                'openselfsup_tests_ports.lock'),
                   os.O_RDONLY | os.O_CREAT, 0o666)
    with os.fdopen(lock), contextlib.ExitStack() as held:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            held.enter_context(listening_socket(port, '0.0.0.0'))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
        yield


def worker_warnings_shown(body):
    """``(body(), torch's warnings of its DataLoaders' worker counts that
    body showed)``, every warning shown."""
    import warnings
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter('always')
        out = body()
    return out, [str(w.message) for w in seen
                 if 'worker processes' in str(w.message)]


def worker_log_lines(work):
    """The log lines of the run in ``work`` that note a loader's
    ``num_workers``."""
    import glob
    log, = glob.glob(str(work / '*' / '*.log'))
    return [ln for ln in open(log) if 'num_workers=' in ln
            and ' WARNING ' in ln]


def mixed_size_list(nct_root: str, ann: str, count: int, folder):
    """An image list of the first ``count`` images of the list ``ann``
    under ``nct_root`` (absolute paths), the last one replaced by an 8x8
    copy in a folder of its class under ``folder`` (a ``pathlib.Path``).

    Returns:
        tuple: the list file, the 8x8 image, the other images' size.
    """
    from PIL import Image
    with open(os.path.join(nct_root, ann)) as f:
        lines = [ln.split() for ln in f if ln.strip()][:count]
    entries = [[os.path.join(nct_root, 'data', ln[0])] + ln[1:]
               for ln in lines]
    odd = folder / 'odd' / lines[-1][0]
    odd.parent.mkdir(parents=True)
    with Image.open(entries[-1][0]) as im:
        size = im.size
        im.convert('RGB').resize((8, 8)).save(odd, format='TIFF')
    entries[-1][0] = str(odd)
    listed = folder / 'mixed.txt'
    listed.write_text(''.join(' '.join(e) + '\n' for e in entries))
    return listed, odd, size


def save_two_ways(obj, path, buffered):
    """``obj`` saved as ``torch.save(obj, path)`` (the zip's folder named
    after the file) and through a buffer, as MMEngine's saver writes, to
    ``buffered`` (its folder ``archive/``); both folders checked."""
    import io
    import zipfile

    import torch
    torch.save(obj, path)
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    with open(buffered, 'wb') as f:
        f.write(buffer.getvalue())
    for file, folder in ((path, os.path.splitext(os.path.basename(path))[0]),
                         (buffered, 'archive')):
        with zipfile.ZipFile(file) as zf:
            assert zf.namelist()[0].startswith(f'{folder}/'), file


def zip_members_sha1(path) -> str:
    """The reference of ``utils.checkpoint_files.zip_directory_digest``:
    each member of the zip ``path`` read whole, its name without its
    first folder, zlib's CRC-32 of its bytes and its length, hashed."""
    import hashlib
    import zipfile
    import zlib
    digest = hashlib.sha1()
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            data = zf.read(name)
            digest.update(f'{name.split("/", 1)[1]}\0{zlib.crc32(data)}\0'
                          f'{len(data)}\n'.encode())
    return digest.hexdigest()
