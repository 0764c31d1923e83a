"""A refusal of one rank of a distributed run, once the process group is
up (``engine.agreed_refusals``): two CPU processes (gloo) under torchrun,
started as ``tools/dist_train.sh`` starts them (its ``torchrun`` wrapper,
``tools/train.py --launcher pytorch``). Rank 1 alone refuses where each
rank reads its node's files itself: in ``load_or_resume`` (the initial
weights' lists, the checkpoint to resume), in the training set's build and
``check_steps`` (its node's lists), in the ``Pretrained`` init files'
check, and in the resume's checks once MMEngine has loaded the checkpoint
(the epoch length, the seed the training set drew with): rank 0 went on
to its next collective and waited there, ending in gloo's ``Connection
closed by peer`` traceback after rank 1's line. The two processes
torchrun starts run the entry in forks of an interpreter that imported
the model stack (:func:`torchrun_script`), except in one test, where
they are the cold starts dist_train.sh makes."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

from _foundation_helpers import (FSP_DEMO, MODEL_STACK_IMPORT, REPO,
                                 copied_run, error_lines, forked_popen,
                                 save_two_ways, small_config,
                                 zip_members_sha1)

#: what a CPU-only machine lacks, stood in for in a training process of
#: two (the launcher's GPU check, which dist_train.sh's processes pass
#: with one GPU each, and torch.cuda.set_device), and, by the test's
#: variables, rank 1 refusing (or dying) where it reads its node's files
#: (the initial weights' lists, the training set, its steps, a Pretrained
#: file) and rank 0's failed start's clean-up made slow; ``RANK`` set
STAND_INS = r'''
import importlib, linecache, os, runpy, sys, time
import torch
torch.cuda.set_device = lambda device: None
train = importlib.import_module('openselfsup.apis.train')
train.check_gpu_count = lambda n: None
cuda = torch.cuda.is_available


def available():
    # prepare_config's refusal of several processes without GPUs
    f = sys._getframe(1)
    line = linecache.getline(f.f_code.co_filename, f.f_lineno).strip()
    return (f.f_code.co_name == 'prepare_config' and
            line.startswith('if not torch.cuda.is_available()')) or cuda()


torch.cuda.is_available = available
from openselfsup.engine import runner
from openselfsup.utils import InputError
rank, how = os.environ['RANK'], os.environ.get('RANK1_DOES')
if rank == '1' and how in ('refuse', 'crash'):
    def lists(*args, **kwargs):
        if how == 'crash':
            os._exit(3)
        raise InputError('/nodes/1/NCT/meta/train.txt: list file not found')
    runner.initial_weight_lists = lists
if rank == '1' and how in ('refuse_data', 'short_data'):
    # rank 1's node: its copy of the training list missing, or shorter
    from openselfsup.datasets.image_list import ImageList
    if how == 'refuse_data':
        def missing(self):
            raise InputError(
                '/nodes/1/NCT/meta/train_labeled.txt: list file not found')
        ImageList.load_data_list = missing
    else:
        ImageList.__len__ = lambda self: 1
if rank == '1' and how == 'unread_meta':
    # rank 1's node: the checkpoint to resume not read ahead of the
    # training set's build (as an s3:// path, a file it does not parse)
    def unparsed(path):
        raise ValueError(f'{path}: not parsed')
    runner.checkpoint_meta = unparsed
if rank == '1' and how == 'refuse_epoch_length':
    # the resume's check of the epoch length, refusing on rank 1 alone
    def other_length(self, checkpoint):
        raise InputError('--resume from /nodes/1/w/epoch_1.pth: its run '
                         'trained 1 iterations an epoch, this one would '
                         'train 2')
    runner.AtomicRunner._check_epoch_length = other_length
if rank == '1' and how == 'refuse_pretrained':
    # a Pretrained init_cfg's file its node does not see
    def unseen(self):
        raise InputError('model.backbone.init_cfg (Pretrained, '
                         '/nodes/1/r18.pth): no such file')
    runner.AtomicRunner._check_pretrained_inits = unseen
if rank == '1' and os.environ.get('RANK1_NODE_LOCAL'):
    # rank 1's node: a work dir of its own, where rank 0's checkpoints
    # never arrive (MMEngine writes them on rank 0 alone): none there, or
    # the checkpoint the variable names (another run's), found by
    # apis.train's search before the group forms and by the runner's
    found = os.environ['RANK1_NODE_LOCAL']
    found = None if found == 'none' else found
    runner.find_resumable_checkpoint = lambda *args, **kwargs: found
    train.find_resumable_checkpoint = lambda *args, **kwargs: found
if rank == '1' and os.environ.get('RANK1_CWD'):
    # rank 1's node: the same relative paths, its own files there
    os.chdir(os.environ['RANK1_CWD'])
if rank == '0' and os.environ.get('RANK0_SLOW_CLEAN_UP'):
    discard = runner.AtomicRunner._discard

    def slow(self):
        time.sleep(1)
        discard(self)
    runner.AtomicRunner._discard = slow
'''

#: the training processes' entry: a script (``tools/train.py``) run as
#: torchrun runs it, with :data:`STAND_INS`
ENTRY = STAND_INS + r'''
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name='__main__')
'''

#: torchrun's own log lines (``W1206 07:50:23.317000 14805 ...]``): its
#: note of OMP_NUM_THREADS, its SIGTERM to the process left
TORCH_LOG = re.compile(r'[IWE]\d{4} \d')

#: dist_train.sh's last command
TORCHRUN = ('import sys\n'
            'from openselfsup.apis.train import torchrun\n'
            'from openselfsup.utils import run_cli\n'
            'sys.exit(run_cli(torchrun, sys.argv[1:]))\n')


def _two_processes(tmp_path, synthetic_root, *args, config=None,
                   cold=False, **env):
    """Train a one-epoch FSP config of 8 images on two gloo processes;
    ``args``: train.py's further arguments; ``config``: the config's
    further settings; ``cold``, ``env``: :func:`torchrun_script`'s.
    (exit status, stderr)."""
    cfg = two_process_config(tmp_path, synthetic_root, config)
    return _torchrun(tmp_path, cfg, *args, cold=cold, **env)


def two_process_config(tmp_path, synthetic_root, config=None):
    """The path of a one-epoch FSP config of 8 images, a total batch of 8,
    for two gloo processes (its model wrapper set for the CPU), written
    in ``tmp_path``; ``config``: its further settings."""
    config = dict(config or {})
    dist_cfg = dict(backend='gloo', **config.pop('dist_cfg', {}))
    return small_config(
        FSP_DEMO, str(tmp_path / 'cfg.py'),
        os.path.join(synthetic_root, 'NCT') + os.sep, n_images=8, batch=8,
        ann_file='meta/train_labeled.txt',
        env_cfg=dict(dist_cfg=dist_cfg),
        model_wrapper_cfg=dict(type='MMDistributedDataParallel',
                               device_ids=None), **config)


def _torchrun(tmp_path, cfg, *args, cold=False, **env):
    """Train the config ``cfg`` on two gloo processes (its model wrapper
    and process group set for the CPU), work dir ``tmp_path/w``, as
    :func:`_two_processes`. (exit status, stderr)."""
    rc, _, err = torchrun_script(
        tmp_path, os.path.join(REPO, 'tools', 'train.py'), cfg,
        '--launcher', 'pytorch', '--work-dir', str(tmp_path / 'w'), *args,
        cold=cold, **env)
    return rc, err


#: the longest path of a Unix socket, in bytes (``sun_path``'s 108, its
#: closing NUL aside)
SOCKET_PATH_BYTES = 107


def socket_path(tmp_path):
    """A path for a Unix socket, ``s`` in a fresh folder (the socket's
    name is not one a socket bound before, left by a run killed or not
    removed, holds: ``bind`` would fail, 'Address already in use') in
    ``tmp_path`` where the path fits in :data:`SOCKET_PATH_BYTES`, else in
    the temporary folder; the caller removes that folder, socket and all.
    A clear error where neither fits."""
    for where in (tmp_path, None):
        folder = tempfile.mkdtemp(prefix='workers_', dir=where)
        sock = os.path.join(folder, 's')
        if len(os.fsencode(sock)) <= SOCKET_PATH_BYTES:
            return sock
        os.rmdir(folder)
    raise RuntimeError(f'{sock}: a Unix socket\'s path is at most '
                       f'{SOCKET_PATH_BYTES} bytes (TMPDIR shorter)')


def torchrun_script(tmp_path, script, *args, cold=False, **env):
    """Run the Python file ``script`` with ``args`` in two processes
    under torchrun (dist_train.sh's wrapper, one machine, its standalone
    rendezvous) with :data:`STAND_INS`, in the folder ``tmp_path``;
    ``env``: the entry's variables. The launcher is a fork of the tests'
    server that imported the model stack (its cold start, some 2 s of
    torch's imports before the processes start, is not what is tested).
    torchrun starts the two processes as it does; each runs the entry in
    a fork of an interpreter that imported the model stack
    (:data:`WORKER_PROXY`), or, with ``cold``, itself, a fresh interpreter
    (some 10 s of two cold imports of the model stack on the shared
    machine, most of a refusal's run). (exit status, stdout, stderr)."""
    import signal
    entry = tmp_path / 'entry.py'
    entry.write_text(ENTRY)
    variables = {k: v for k, v in os.environ.items() if k not in (
        'RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT')}
    variables.update(env, PYTHONPATH=REPO)
    factory = None
    if not cold:
        sock = socket_path(tmp_path)
        factory = forked_popen(MODEL_STACK_IMPORT, WORKER_FACTORY, [sock],
                               variables, str(tmp_path))
        proxy = tmp_path / 'proxy.py'
        proxy.write_text(WORKER_PROXY.format(sock=sock, entry=str(entry)))
        entry = proxy
    p = forked_popen(
        MODEL_STACK_IMPORT, TORCHRUN,
        ['--nnodes=1', '--nproc_per_node=2', '--standalone',
         '--local_addr=127.0.0.1', str(entry), str(script), *args],
        variables, str(tmp_path))
    try:
        p.wait(TORCHRUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        # a SIGTERM: torchrun ends its workers, each in a session of its
        # own, as it goes; a SIGKILL ended torchrun alone and left a hung
        # worker running (review r176)
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(60)
        finally:
            p.kill()
            p.output()
        raise
    finally:
        if factory is not None:  # its workers have ended with their proxies
            factory.kill()
            factory.wait(60)
            factory_err = factory.output()[1]
            shutil.rmtree(os.path.dirname(sock), ignore_errors=True)
    out, err = p.output()
    if factory is not None:
        assert 'Traceback' not in factory_err, factory_err[-3000:]
    return p.returncode, out, err


#: the program of the two processes torchrun starts (``python -u
#: proxy.py ARGS...``) where they are not cold starts: it hands its
#: standard streams, environment, folder and arguments to
#: :data:`WORKER_FACTORY` (at the Unix socket ``{sock}``), which forks a
#: process that runs ``{entry}`` as ``python -u {entry} ARGS...`` does;
#: it passes on the signals it gets (torchrun's SIGTERM to its session)
#: to that process's session and exits as it did (the same status, or
#: killed by the same signal). Only the standard library: a start of
#: some 30 ms.
WORKER_PROXY = r'''
import json, os, signal, socket, sys, time
conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
for _ in range(1200):  # the factory binds the socket as it starts
    try:
        conn.connect({sock!r})
        break
    except (FileNotFoundError, ConnectionRefusedError):
        time.sleep(0.05)
socket.send_fds(conn, [b'x'], [0, 1, 2])
conn.sendall(json.dumps(dict(
    env=dict(os.environ), cwd=os.getcwd(),
    argv=[{entry!r}, *sys.argv[1:]])).encode() + b'\n')
said = conn.makefile('rb')
pid = int(said.readline())


def pass_on(sig, frame):
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:  # its session not yet made
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT,
            signal.SIGUSR1, signal.SIGUSR2):
    signal.signal(sig, pass_on)
status = int(said.readline())
if status < 0:
    try:
        signal.signal(-status, signal.SIG_DFL)
    except OSError:  # SIGKILL, SIGSTOP: never caught
        pass
    os.kill(os.getpid(), -status)
os._exit(status)
'''

#: a fork of the tests' server that imported the model stack (``python -c
#: WORKER_FACTORY SOCKET``): per :data:`WORKER_PROXY` that connects at the
#: Unix socket SOCKET, a fork that runs the entry as ``python -u`` does in
#: a fresh process (``__main__`` a module of its own, the interpreter's
#: exit at its end, in a session of its own as torchrun starts its
#: processes) with the proxy's standard streams, environment (torch's
#: thread count from its OMP_NUM_THREADS, which torchrun sets and OpenMP
#: reads as it loads), folder and arguments, as the server's own forks
#: start (``as_started``: the warnings the server's imports showed first
#: on its stderr, torch's and numpy's generators reseeded); its pid, then
#: its exit status, said to the proxy. A fork whose proxy has gone
#: (killed) is killed; a proxy gone before its request is let go.
WORKER_FACTORY = r'''
import io, json, os, select, signal, socket, sys, types
# the server's as_started (_foundation_helpers._SERVER), in the frame
# that runs this program
frame = sys._getframe()
while 'as_started' not in frame.f_globals:
    frame = frame.f_back
as_started = frame.f_globals['as_started']
listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
listener.bind(sys.argv[1])
listener.listen(8)
proxies, forks, job = {}, {}, None
while job is None:
    ready = select.select([listener, *proxies], [], [], 0.02)[0]
    while forks:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        conn = forks.pop(pid)
        try:
            conn.sendall(b'%d\n' % os.waitstatus_to_exitcode(status))
        except OSError:
            pass
        del proxies[conn]
        conn.close()
    for conn in ready:
        if conn is listener:
            conn, _ = listener.accept()
            proxies[conn] = None
            continue
        if conn not in proxies:  # closed above
            continue
        if proxies[conn] is not None:  # its proxy has gone
            try:
                os.killpg(proxies[conn], signal.SIGKILL)
            except ProcessLookupError:
                pass
            continue
        _, fds, _, _ = socket.recv_fds(conn, 1, 3)
        req, more = b'', None
        while more != b'' and not req.endswith(b'\n'):
            more = conn.recv(1 << 16)
            req += more
        if not req.endswith(b'\n'):  # its proxy has gone before its request
            for fd in fds:
                os.close(fd)
            del proxies[conn]
            conn.close()
            continue
        req = json.loads(req)
        pid = os.fork()
        if pid:
            for fd in fds:
                os.close(fd)
            proxies[conn], forks[pid] = pid, conn
            conn.sendall(b'%d\n' % pid)
            continue
        os.setsid()
        listener.close()
        for other in proxies:
            other.close()
        for i, fd in enumerate(fds):
            os.dup2(fd, i)
            os.close(fd)
        for i, name in ((1, 'stdout'), (2, 'stderr')):  # python -u
            setattr(sys, name, io.TextIOWrapper(
                open(i, 'wb', buffering=0, closefd=False),
                encoding=getattr(sys, name).encoding,
                errors=getattr(sys, name).errors, write_through=True))
        as_started(req['env'], req['cwd'], req['argv'])
        sys.path[0] = os.path.dirname(os.path.realpath(sys.argv[0]))
        if os.environ.get('OMP_NUM_THREADS'):
            import torch
            torch.set_num_threads(int(os.environ['OMP_NUM_THREADS']))
        with open(sys.argv[0]) as f:
            job = compile(f.read(), sys.argv[0], 'exec')
        break
sys.modules['__main__'] = main = types.ModuleType('__main__')
main.__file__ = sys.argv[0]
exec(job, vars(main))
'''


#: how long :func:`torchrun_script` waits for torchrun
TORCHRUN_TIMEOUT_S = 300


@pytest.fixture(scope='module')
def plain_run(tmp_path_factory, synthetic_root):
    """One plain run of :func:`_two_processes`, once per test process:
    (its work dir, exit status, stderr), for the tests that read its
    stderr or resume its checkpoint (:func:`trained_once`): a two-process
    training is the costliest part of each."""
    base = tmp_path_factory.mktemp('trained_once')
    rc, err = _two_processes(base, synthetic_root)
    return base / 'w', rc, err


@pytest.fixture(scope='module')
def trained_once(plain_run):
    """The work dir of :func:`plain_run` (its ``epoch_1.pth``), for the
    tests that resume it (each a copy: :func:`_copy_of`)."""
    work, rc, err = plain_run
    assert rc == 0 and (work / 'epoch_1.pth').is_file(), err[-3000:]
    return work


@pytest.mark.slow
def test_a_started_run_says_its_warnings_on_rank_0_alone(plain_run):
    """tools/train.py's own warnings (the tiny FSP config's schedule
    warning), said on stderr once the run has begun and again after its
    last line (test_cli_messages.py), by rank 0 alone, as its log is: the
    other rank says nothing extra into the launcher's one stderr (the
    plain run the resume tests share: its stderr is only read here)."""
    _, rc, err = plain_run
    assert rc == 0, err[-3000:]
    warning = ('warning: param_scheduler.0.milestones 2 lie at or beyond '
               'train_cfg.max_epochs 1: those learning-rate steps never '
               'come (set the milestones too)')
    lines = [ln for ln in error_lines(err) if not TORCH_LOG.match(ln)]
    assert lines == [warning, '1 warning(s) said as training began '
                     '(repeated):', warning], lines


def _copy_of(trained, tmp_path):
    """A copy of the :func:`trained_once` work dir at ``tmp_path/w``, as
    the plain run would have left it there: ``last_checkpoint`` (the path
    MMEngine's ``--resume`` reads) names the copy's checkpoint."""
    return copied_run(trained, tmp_path / 'w')


def _both_refuse(err, own, rank=1):
    """Whether the lines of a run are those of rank ``rank`` refusing
    with ``own`` and the other rank saying it, then torchrun's line (the
    first to exit, status 2 each), and nothing else. Read as text, not
    line by line: the two ranks print at one moment, after the barrier,
    and ``print`` wrote a line and its newline apart, so their lines ran
    together in the pipe now and then (``run_cli`` now writes each line
    in one write: ``utils.errors.say``)."""
    text = '\n'.join(ln for ln in error_lines(err) if not TORCH_LOG.match(ln))
    said = [f'error: rank {rank} refused this run: {own}', f'error: {own}']
    for line in said:  # the peer's first: it holds the other's words
        if text.count(line) != 1:
            return False
        text = text.replace(line, '')
    last = re.fullmatch(r'\s*error: training process [01] exited with '
                        r'status 2 \(1 more failed after it\); its message '
                        r'is above\s*', text)
    return last is not None


@pytest.mark.slow
@pytest.mark.parametrize('slow_clean_up', [False, True])
def test_a_refusal_of_one_rank_is_said_by_every_rank(tmp_path, synthetic_root,
                                                     slow_clean_up):
    """Rank 1's own line, rank 0's line naming rank 1 and quoting it (rank
    0 learned it through the agreement's collective), both exit status 2,
    no traceback, nothing left in the work dir. Rank 0's failed start's
    clean-up slowed: rank 1 waits for it before it exits (torchrun
    SIGTERMs the others once one has exited, and rank 0 said 'terminated
    (SIGTERM)' instead of its line). The plain case's two processes are
    cold starts, as dist_train.sh's are (the other tests' are forks:
    :func:`torchrun_script`)."""
    env = dict(RANK1_DOES='refuse')
    if slow_clean_up:
        env['RANK0_SLOW_CLEAN_UP'] = '1'
    rc, err = _two_processes(tmp_path, synthetic_root,
                             cold=not slow_clean_up, **env)
    own = '/nodes/1/NCT/meta/train.txt: list file not found'
    assert rc == 2 and 'Traceback' not in err, err[-3000:]
    # torchrun's line last: the first to exit, each with status 2
    assert _both_refuse(err, own), err[-3000:]
    # the failed start's clean-up: no log folder, dump or checkpoint (the
    # work dir itself may stay, empty: it is removed by the rank that made
    # it, where it is empty when that rank looks, before or after rank 0
    # removed the log folder)
    left = [os.path.join(d, n) for d, dirs, files in os.walk(tmp_path / 'w')
            for n in dirs + files]
    assert left == [], left


@pytest.mark.slow
@pytest.mark.parametrize('how', ['refuse_data', 'short_data',
                                 'refuse_pretrained'])
def test_a_refusal_of_one_rank_before_the_resume_is_agreed(
        tmp_path, synthetic_root, how):
    """Rank 1 alone refuses where it builds the training set (its node's
    list missing), where the run checks it has a training step (its
    node's list shorter: one image, no batch of 4 per process), or where
    it reads a ``Pretrained`` init's file (which MMEngine's broadcast of
    the initialised weights follows): rank 0 went on to its next
    collective and ended in gloo's ``Connection closed by peer``
    traceback after rank 1's line. Now each rank says its line, status 2
    each, no traceback."""
    rc, err = _two_processes(tmp_path, synthetic_root, RANK1_DOES=how)
    own = {
        'refuse_data':
            '/nodes/1/NCT/meta/train_labeled.txt: list file not found',
        'short_data':
            f'{tmp_path / "cfg.py"}: the training list has 1 sample(s), 1 '
            'per process on 2 processes, fewer than one batch of 4 per '
            'process, and the short batch is dropped: no training step '
            'would run (lower total_batch_size, or train on more images)',
        'refuse_pretrained':
            'model.backbone.init_cfg (Pretrained, /nodes/1/r18.pth): no '
            'such file'}[how]
    assert rc == 2 and 'Traceback' not in err, err[-3000:]
    assert 'Connection closed by peer' not in err, err[-3000:]
    assert _both_refuse(err, own), err[-3000:]


@pytest.mark.slow
def test_a_refusal_before_mmengines_own_barrier_is_agreed_at_once(
        tmp_path, synthetic_root):
    """``load_from torchvision://``: MMEngine's ``load_from_http`` holds a
    barrier; rank 1 refusing where it reads the initial weights' lists
    waited in the agreement's all-reduce while rank 0 waited in that
    barrier, both until the group's timeout (review r157: gloo's
    'Timed out' traceback). Now the checks are agreed on before
    MMEngine's load: both lines, well before the timeout."""
    hub = tmp_path / 'th' / 'hub' / 'checkpoints'
    hub.mkdir(parents=True)
    import torch
    torch.save({'fc.weight': torch.zeros(2, 2)},
               hub / 'resnet18-f37072fd.pth')  # torchvision's file name
    rc, err = _two_processes(
        tmp_path, synthetic_root, RANK1_DOES='refuse',
        TORCH_HOME=str(tmp_path / 'th'),
        config=dict(load_from='torchvision://resnet18',
                    # the agreement's lines come in seconds; a minute
                    # keeps a rank starved on CI's 2 loaded cores from
                    # timing out, and a regression still ends the test
                    dist_cfg=dict(timeout=60)))
    own = '/nodes/1/NCT/meta/train.txt: list file not found'
    assert rc == 2 and 'Traceback' not in err, err[-3000:]
    assert _both_refuse(err, own), err[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize('rank1_finds', ['none', 'another'])
def test_ranks_that_find_other_checkpoints_to_resume_refuse(
        tmp_path, synthetic_root, trained_once, rank1_finds):
    """``--resume`` of a work dir not shared between nodes: rank 0 found
    the epoch-1 checkpoint, rank 1 none on its node, or another file (an
    earlier run's copy); rank 0 resumed and rank 1 trained from scratch
    (or from its file), DDP averaging the gradients of other weights, and
    rank 0 wrote checkpoints of that (review r157). apis.train's own
    search, each rank's before the group forms, lets each go on with what
    it found (its checks of that file pass on each rank); the runner's
    agreement refuses: every rank refuses in one line naming the work
    dir and what each found, and nothing more is written."""
    work = _copy_of(trained_once, tmp_path)
    before = sorted(os.listdir(work))
    found = 'none'
    if rank1_finds == 'another':
        found = tmp_path / 'node1' / 'epoch_1.pth'
        found.parent.mkdir()
        found.write_bytes((work / 'epoch_1.pth').read_bytes())
    rc, err = _two_processes(tmp_path, synthetic_root, '--resume',
                             RANK1_NODE_LOCAL=str(found))
    lines = [ln for ln in error_lines(err) if not TORCH_LOG.match(ln)]
    line = (f'error: --resume: the processes do not find the same '
            f'checkpoint to resume in {work} (rank 0: '
            f'{work / "epoch_1.pth"}; rank 1: {found}): --work-dir must be a '
            'folder every node shares (the checkpoints are written on '
            'rank 0\'s node), or give --resume CHECKPOINT that every node '
            'can read')
    assert rc == 2 and 'Traceback' not in err, err[-3000:]
    assert lines[:2] == [line, line], lines
    assert sorted(os.listdir(work)) == before


@pytest.mark.slow
def test_a_resume_refused_on_one_ranks_epoch_length_is_agreed(
        tmp_path, synthetic_root, trained_once):
    """The resume's check of the epoch length (``_check_epoch_length``,
    once MMEngine has loaded the checkpoint: each rank's loop of its
    node's lists) refusing on rank 1 alone: rank 0 went on to the first
    training step and waited there. Now it is agreed on with the drawn
    seed's check (one round): both lines, status 2 each, no traceback."""
    _copy_of(trained_once, tmp_path)
    rc, err = _two_processes(tmp_path, synthetic_root, '--resume',
                             RANK1_DOES='refuse_epoch_length')
    own = ('--resume from /nodes/1/w/epoch_1.pth: its run trained 1 '
           'iterations an epoch, this one would train 2')
    assert rc == 2 and 'Traceback' not in err, err[-3000:]
    assert _both_refuse(err, own), err[-3000:]


@pytest.mark.slow
def test_a_resume_refused_on_one_ranks_drawn_seed_is_agreed(tmp_path):
    """A HiDisc run of seed 1000 (a class-balanced training set), resumed
    on two processes under ``randomness.seed`` 7 where rank 1 alone could
    not read the checkpoint ahead of its training set's build (its node:
    the set built with the run's 7, rank 0's with the checkpoint's 1000):
    rank 1 refused once MMEngine had loaded the checkpoint
    (``_check_drawn_seed``), rank 0 went on to the first training step
    and waited there, until gloo's ``Connection closed by peer`` or the
    group's timeout. Now both ranks say rank 1's line, status 2 each,
    no traceback, well within the group's timeout; nothing written."""
    from mmengine.config import Config

    from test_hlss_data import HIDISC_DEMO, uneven_options

    def config(seed, iters):
        cfg = Config.fromfile(os.path.join(REPO, HIDISC_DEMO))
        cfg.merge_from_dict(dict(
            uneven_options(tmp_path, seed, iters),
            **{'env_cfg.dist_cfg': dict(backend='gloo', timeout=60),
               'model_wrapper_cfg': dict(type='MMDistributedDataParallel',
                                         device_ids=None)}))
        path = tmp_path / f'cfg_{seed}.py'
        cfg.dump(str(path))
        return str(path)

    rc, err = _torchrun(tmp_path, config(1000, 1))
    work = tmp_path / 'w'
    assert rc == 0 and (work / 'iter_1.pth').is_file(), err[-3000:]
    before = sorted(os.listdir(work))
    rc, err = _torchrun(tmp_path, config(7, 2), '--resume',
                        RANK1_DOES='unread_meta')
    own = (f'--resume from {work / "iter_1.pth"}: its run drew the patients '
           'its class-balanced training set (train_dataloader.dataset) '
           "repeats with seed 1000 (meta['dataset_seed']), this run built "
           'the set with seed 7, as the checkpoint could not be read before '
           'the set was built: it would train on other patients than the '
           'run it continues; resume from a local copy of the checkpoint '
           'that reads, or under the seed it records: --cfg-options '
           'randomness.seed=1000')
    assert rc == 2 and 'Traceback' not in err, err[-3000:]
    assert _both_refuse(err, own), err[-3000:]
    assert sorted(os.listdir(work)) == before


@pytest.mark.slow
def test_ranks_that_resume_other_files_at_one_path_refuse(
        tmp_path, synthetic_root, trained_once):
    """``--resume ckpt/epoch_1.pth`` where each node holds a file of its
    own at that path (rank 1 runs in another folder, holding another
    run's checkpoint there): the agreement compared the paths alone, and
    rank 1 resumed another run's weights, DDP averaging the gradients of
    both. Now every rank refuses in one line naming the path and what
    differs (the run and its save time, told from each file's meta read
    here), nothing written; a byte copy of the file there resumes."""
    import torch
    _copy_of(trained_once, tmp_path)
    for node in (tmp_path, tmp_path / 'node1'):
        (node / 'ckpt').mkdir(parents=True)
    shutil.copy(tmp_path / 'w' / 'epoch_1.pth', tmp_path / 'ckpt')
    saved = torch.load(tmp_path / 'ckpt' / 'epoch_1.pth',
                       weights_only=False)
    meta = dict(saved['meta'])
    # another run's epoch 1, saved at another time
    saved['meta'].update(experiment_name='other_run',
                         time='20261105_101010')
    torch.save(saved, tmp_path / 'node1' / 'ckpt' / 'epoch_1.pth')
    before = sorted(os.listdir(tmp_path / 'w'))
    rc, err = _two_processes(tmp_path, synthetic_root, '--resume',
                             os.path.join('ckpt', 'epoch_1.pth'),
                             RANK1_CWD=str(tmp_path / 'node1'))
    assert rc == 2 and 'Traceback' not in err, err[-3000:]
    # each rank's line (printed at one moment: they may run together)
    text = '\n'.join(ln for ln in error_lines(err)
                     if not TORCH_LOG.match(ln))
    said = re.findall(r'error: --resume from .*?every node reads', text)
    assert len(said) == 2 and said[0] == said[1], text
    line = said[0]
    assert line.startswith(
        f'error: --resume from {os.path.join("ckpt", "epoch_1.pth")}: the '
        "processes' nodes hold other files at that path ("), line
    assert f'run (rank 0: {meta["experiment_name"]}; rank 1: other_run)' \
        in line and f'saved (rank 0: {meta["time"]}; rank 1: ' \
        '20261105_101010)' in line, line
    assert 'iteration (' not in line and 'epoch (' not in line, line
    assert line.endswith(
        "): --work-dir must be a folder every node shares (the checkpoints "
        "are written on rank 0's node), or give --resume CHECKPOINT of one "
        'file that every node reads'), line
    assert sorted(os.listdir(tmp_path / 'w')) == before
    # the same bytes on each node: resumed
    shutil.copy(tmp_path / 'ckpt' / 'epoch_1.pth',
                tmp_path / 'node1' / 'ckpt')
    rc, err = _two_processes(tmp_path, synthetic_root, '--resume',
                             os.path.join('ckpt', 'epoch_1.pth'),
                             '--work-dir', str(tmp_path / 'w2'),
                             RANK1_CWD=str(tmp_path / 'node1'))
    assert rc == 0 and 'refused' not in err, err[-3000:]


@pytest.mark.slow
def test_ranks_that_load_other_files_at_one_load_from_path_refuse(
        tmp_path, synthetic_root, trained_once):
    """A new run's ``load_from init/epoch_1.pth`` (no ``--resume``) where
    rank 1's node holds another file at that path (the same run's meta,
    one weight changed: a stale or damaged copy): each rank loaded its
    own node's file after DDP had broadcast rank 0's initial weights
    (MMEngine's load broadcasts nothing), so the ranks trained other
    weights under averaged gradients, exit 0. Now both ranks refuse in
    one line naming the path and the contents that differ (each rank's
    digest: the reference, each member's CRC-32 by zlib), nothing
    written; a byte copy on each node trains."""
    import torch

    from openselfsup.utils.checkpoint import load_checkpoint_file
    for node in (tmp_path, tmp_path / 'node1'):
        (node / 'init').mkdir(parents=True)
    own = tmp_path / 'init' / 'epoch_1.pth'
    other = tmp_path / 'node1' / 'init' / 'epoch_1.pth'
    shutil.copy(trained_once / 'epoch_1.pth', own)
    # (as the run reads it: a plain torch.load's objects are refused)
    saved = load_checkpoint_file(str(own))
    weights = saved['state_dict']
    name = next(k for k, v in weights.items() if v.is_floating_point())
    weights[name] = weights[name] + 1
    torch.save(saved, other)
    load_from = os.path.join('init', 'epoch_1.pth')
    rc, err = _two_processes(tmp_path, synthetic_root, '--cfg-options',
                             f'load_from={load_from}',
                             RANK1_CWD=str(tmp_path / 'node1'))
    assert rc == 2 and 'Traceback' not in err, err[-3000:]
    text = '\n'.join(ln for ln in error_lines(err)
                     if not TORCH_LOG.match(ln))
    said = re.findall(r'error: load_from .*?the same copy on each node\)',
                      text)
    assert len(said) == 2 and said[0] == said[1], text
    contents = f'contents (rank 0: {zip_members_sha1(own)[:12]}; rank 1: ' \
        f'{zip_members_sha1(other)[:12]})'
    assert said[0] == (
        f'error: load_from {load_from}: the processes\' nodes hold other '
        f'files at that path ({contents}): each process would start from '
        'its own node\'s weights; give load_from one file that every node '
        'reads (in a folder every node shares, or the same copy on each '
        'node)'), said[0]
    left = [os.path.join(d, n) for d, dirs, files in os.walk(tmp_path / 'w')
            for n in dirs + files]
    assert left == [], left
    # the same bytes on each node: trained
    shutil.copy(own, other)
    rc, err = _two_processes(tmp_path, synthetic_root, '--cfg-options',
                             f'load_from={load_from}',
                             RANK1_CWD=str(tmp_path / 'node1'))
    assert rc == 0 and 'refused' not in err, err[-3000:]
    assert (tmp_path / 'w' / 'epoch_1.pth').is_file()


def _loads_compared(paths, resume=True, at='ckpt/iter_301.pth'):
    """Each rank's ``(path, facts)`` of the agreement of ``--resume``
    (``resume``) or of a new run's ``load_from``, as ``load_or_resume``
    carries it (``AtomicRunner._agree_on_load``), for rank K reading
    ``paths[K]`` as its node's file at ``at`` (or ``at[K]``, a list: the
    path each rank is given; None: no file there, no facts); whether the
    agreement finds them differing (its own comparison: the digest each
    rank carries) and its line."""
    from openselfsup.engine.agreed_refusals import RefusalAgreement
    from openselfsup.engine.runner import (AtomicRunner, resumed_file_facts,
                                           saved_checkpoint)

    def facts(path):
        if path is None:
            return None
        if resume:  # read whole, as the resume checks it
            return resumed_file_facts(str(path), saved_checkpoint(str(path)))
        return resumed_file_facts(str(path))
    ats = at if isinstance(at, list) else [at] * len(paths)
    found = [(at, facts(path)) for at, path in zip(ats, paths)]

    class Run:
        work_dir = 'w'
        _resume = resume
        _loads_differ = AtomicRunner._loads_differ
        _agree_on_load = AtomicRunner._agree_on_load
        _resumes_differ = AtomicRunner._resumes_differ
        _load_froms_differ = AtomicRunner._load_froms_differ
    digests = set()
    for at, facts_read in found:
        run, agreement = Run(), RefusalAgreement()
        run._load_from = at
        run._agree_on_load(agreement, facts_read)
        digests.add(agreement.digest())
    differ = AtomicRunner._resumes_differ if resume else \
        AtomicRunner._load_froms_differ
    return len(digests) > 1, differ(Run(), found)


def test_a_resume_of_one_object_saved_two_ways_agrees(tmp_path):
    """One checkpoint saved by ``torch.save(obj, path)`` on one node and
    through a buffer (MMEngine's saver: the zip's folder ``archive/``, not
    the file's name) on the other: review r169, the ranks were refused as
    holding other files (the directory's digest, of the members' full
    names, and the file's size differed). Now they agree; a changed
    weight, the meta alike, is told apart by the contents alone."""
    import torch
    state = {'meta': {'iter': 301, 'epoch': 1, 'time': '20261206_101010',
                      'experiment_name': 'run', 'seed': 3},
             'state_dict': {'w': torch.arange(6.)}}
    save_two_ways(state, tmp_path / 'iter_301.pth', tmp_path / 'saved.pth')
    differ, _ = _loads_compared([tmp_path / 'iter_301.pth',
                                   tmp_path / 'saved.pth'])
    assert not differ
    state['state_dict']['w'][2] = -1.
    torch.save(state, tmp_path / 'other.pth')
    differ, _ = _loads_compared([tmp_path / 'iter_301.pth',
                                   tmp_path / 'other.pth'])
    assert differ


@pytest.mark.parametrize('resume', [True, False])
def test_files_of_one_meta_and_other_weights_refuse(tmp_path, resume):
    """Two files at one path of the same meta, other weights, resumed
    (``--resume``) or loaded by a new run (``load_from``): the
    contents fact alone tells them apart (no test held it: the facts
    without it passed them, review r169), zips (each one's directory
    digest: the reference, its members' CRC-32s by zlib) and legacy files
    alike (same tensor shapes, other values: no zip directory, the digest
    None, and they agreed; now each file's SHA-1, hashlib's of its bytes).
    The line names the contents, each rank's 12 hex digits, and no other
    fact, in the words of the flag that loads the file."""
    import hashlib

    import torch

    def zip_reference(path):
        return zip_members_sha1(path)[:12]

    def file_reference(path):
        return hashlib.sha1(path.read_bytes()).hexdigest()[:12]
    meta = {'iter': 301, 'epoch': 1, 'time': '20261206_101010',
            'experiment_name': 'run', 'seed': 3}
    fix = ('--work-dir must be a folder every node shares (the '
           'checkpoints are written on rank 0\'s node), or give --resume '
           'CHECKPOINT of one file that every node reads') if resume else (
        "each process would start from its own node's weights; give "
        'load_from one file that every node reads (in a folder every node '
        'shares, or the same copy on each node)')
    for legacy, reference in ((False, zip_reference),
                              (True, file_reference)):
        paths = []
        for rank, value in enumerate((1., 2.)):
            path = tmp_path / f'{legacy}_{rank}.pth'
            torch.save({'meta': meta,
                        'state_dict': {'w': torch.full((6,), value)}},
                       path, _use_new_zipfile_serialization=not legacy)
            paths.append(path)
        assert paths[0].stat().st_size == paths[1].stat().st_size
        differ, line = _loads_compared(paths, resume)
        assert differ, legacy
        assert line == (
            f'{"--resume from" if resume else "load_from"} '
            'ckpt/iter_301.pth: the processes\' nodes hold '
            f'other files at that path (contents (rank 0: '
            f'{reference(paths[0])}; rank 1: {reference(paths[1])})): '
            f'{fix}'), line


def _own_copy_other(tmp_path, **changed):
    """A checkpoint of run ``run`` at iteration 301 (``own.pth``), its byte
    copy (``copy.pth``) and a file of the same weights whose meta has
    ``changed`` (``other.pth``), in ``tmp_path``."""
    import torch
    state = {'meta': {'iter': 301, 'epoch': 1, 'time': '20261206_101010',
                      'experiment_name': 'run', 'seed': 3},
             'state_dict': {'w': torch.arange(6.)}}
    own, copy, other = (tmp_path / f'{n}.pth' for n in ('own', 'copy',
                                                        'other'))
    torch.save(state, own)
    shutil.copy(own, copy)
    state['meta'].update(changed)
    torch.save(state, other)
    return own, copy, other


def test_a_load_from_that_differs_between_nodes_is_said_so(tmp_path):
    """A new run's ``load_from`` compared as a resume's, its meta read
    without torch (``checkpoint_meta``: the facts those of the resume's
    whole read): a byte copy on each node agrees; files of another run
    and save time are named by those and their contents; a file that a
    node lacks names each fact, None there; other paths on the ranks,
    and a URL's download in a work dir not shared, are said in a
    ``load_from``'s words."""
    from openselfsup.engine.runner import (resumed_file_facts,
                                           saved_checkpoint)
    own, copy, other = _own_copy_other(tmp_path, experiment_name='other_run',
                                       time='20261105_101010')
    assert resumed_file_facts(str(own)) == \
        resumed_file_facts(str(own), saved_checkpoint(str(own)))
    differ, _ = _loads_compared([own, copy], resume=False)
    assert not differ
    fix = ("each process would start from its own node's weights; give "
           'load_from one file that every node reads (in a folder every '
           'node shares, or the same copy on each node)')
    ref = zip_members_sha1(own)[:12]
    differ, line = _loads_compared([own, other], resume=False)
    assert differ
    assert line == (
        'load_from ckpt/iter_301.pth: the processes\' nodes hold other '
        f'files at that path (contents (rank 0: {ref}; rank 1: '
        f'{zip_members_sha1(other)[:12]}), run (rank 0: run; rank 1: '
        'other_run), saved (rank 0: 20261206_101010; rank 1: '
        f'20261105_101010)): {fix}'), line
    differ, line = _loads_compared([own, None], resume=False)
    assert differ
    assert line == (
        'load_from ckpt/iter_301.pth: the processes\' nodes hold other '
        f'files at that path (contents (rank 0: {ref}; rank 1: None), '
        'iteration (rank 0: 301; rank 1: None), epoch (rank 0: 1; rank 1: '
        'None), run (rank 0: run; rank 1: None), saved (rank 0: '
        '20261206_101010; rank 1: None), seed (rank 0: 3; rank 1: None)): '
        f'{fix}'), line
    download = os.path.join('w', 'url_downloads', '1a2b_epoch_10.pth')
    differ, line = _loads_compared([own, other], resume=False, at=download)
    assert line.startswith(f'load_from {download}: ') and line.endswith(
        "each process would start from its own node's weights; --work-dir "
        "must be a folder every node shares (rank 0 downloaded the URL "
        'into it)'), line
    from openselfsup.engine.runner import AtomicRunner

    class Run:
        work_dir = 'w'
        _loads_differ = AtomicRunner._loads_differ
    found = [('a.pth', resumed_file_facts(str(own))), ('b.pth', None)]
    assert AtomicRunner._load_froms_differ(Run(), found) == (
        'load_from: the processes load other files (rank 0: a.pth; rank 1: '
        f'b.pth) that differ (contents (rank 0: {ref}; rank 1: None), '
        'iteration (rank 0: 301; rank 1: None), epoch (rank 0: 1; rank 1: '
        'None), run (rank 0: run; rank 1: None), saved (rank 0: '
        '20261206_101010; rank 1: None), seed (rank 0: 3; rank 1: None)): '
        'give every process the same load_from, one file that every node '
        'reads (or the same copy on each node)')
    found = [('s3://a.pth', None), ('s3://b.pth', None)]
    assert AtomicRunner._load_froms_differ(Run(), found) == (
        'load_from: the processes load other files (rank 0: s3://a.pth; '
        'rank 1: s3://b.pth): give every process the same load_from, one '
        'file that every node reads (or the same copy on each node)')


def test_byte_copies_at_other_load_from_paths_agree(tmp_path):
    """Review r172: ranks given other ``load_from`` paths (each node's
    config) of byte copies of one file were refused as loading other
    files, though each would start from the same weights. A new run's
    ``load_from`` is agreed on by its file's facts: copies at other paths
    agree; other files at other paths are refused, naming each rank's
    path and the facts that differ; the same paths of another run's file
    are refused as before; ``--resume``, whose path names the run's
    checkpoints to come, still refuses other paths of one file."""
    own, copy, other = _own_copy_other(tmp_path, experiment_name='other_run')
    at = ['/n0/init.pth', '/n1/init.pth']
    differ, _ = _loads_compared([own, copy], resume=False, at=at)
    assert not differ
    differ, line = _loads_compared([own, other], resume=False, at=at)
    assert differ
    assert line == (
        'load_from: the processes load other files (rank 0: /n0/init.pth; '
        'rank 1: /n1/init.pth) that differ (contents (rank 0: '
        f'{zip_members_sha1(own)[:12]}; rank 1: '
        f'{zip_members_sha1(other)[:12]}), run (rank 0: run; rank 1: '
        'other_run)): give every process the same load_from, one file that '
        'every node reads (or the same copy on each node)'), line
    differ, _ = _loads_compared([own, other], resume=False)
    assert differ
    differ, line = _loads_compared([own, copy], resume=True, at=at)
    assert differ
    assert line.startswith('--resume: the processes do not find the same '
                           'checkpoint to resume in w (rank 0: '
                           '/n0/init.pth; rank 1: /n1/init.pth)'), line


@pytest.fixture(scope='module')
def meta_object_digests(tmp_path_factory):
    """Two checkpoints whose meta holds a numpy scalar (a seed: 3 in
    ``own.pth``, 4 in ``other.pth``) and a tensor (an epoch), and the
    digests of ``own.pth``'s facts read in a fresh interpreter (its own
    memory layout: a fork of this process would place its objects at
    this process's addresses), as a resume reads it and as a
    ``load_from`` does: (own, other, {resume: digest}). One interpreter
    for both readings: its cold start (the model stack's imports) is the
    cost."""
    import numpy as np
    import torch
    state = {'meta': {'iter': 301, 'epoch': torch.tensor(1),
                      'time': '20261206_101010', 'experiment_name': 'run',
                      'seed': np.int64(3)},
             'state_dict': {'w': torch.arange(6.)}}
    folder = tmp_path_factory.mktemp('meta_objects')
    own, other = folder / 'own.pth', folder / 'other.pth'
    torch.save(state, own)
    state['meta']['seed'] = np.int64(4)
    torch.save(state, other)
    code = ('import sys\n'
            'from openselfsup.engine.agreed_refusals import _digest\n'
            'from openselfsup.engine.runner import (resumed_file_facts, '
            'saved_checkpoint)\n'
            'path = sys.argv[1]\n'
            'for read in (saved_checkpoint(path), None):\n'
            '    print(_digest(resumed_file_facts(path, read)))\n')
    p = subprocess.run([sys.executable, '-c', code, str(own)],
                       capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, PYTHONPATH=REPO))
    assert p.returncode == 0, p.stderr[-3000:]
    resumed, loaded = p.stdout.split()
    return own, other, {True: resumed, False: loaded}


@pytest.mark.parametrize('resume', [True, False])
def test_meta_values_of_objects_are_the_same_facts_in_every_process(
        meta_object_digests, resume):
    """A checkpoint whose meta holds a numpy scalar (a seed) and a tensor
    (an epoch): review r172, ``checkpoint_meta`` read each as a
    placeholder whose ``repr`` named its memory address, so the facts of
    one file digested other in each process and a valid two-process
    ``load_from`` of it was refused. Read with torch (a resume's) such a
    value is its number (``.item()``: a file of another seed differs in
    the seed too); read without torch (a ``load_from``'s) it is 'an
    object' (named, not left out: review r173, a missing name was said as
    None), and a file of another seed differs by its contents: the digest
    of one file's facts is the same in two processes (this one and a
    fresh interpreter), the facts are the ones written by hand."""
    from openselfsup.engine.agreed_refusals import _digest
    from openselfsup.engine.runner import (resumed_file_facts,
                                           saved_checkpoint)
    own, other, digests = meta_object_digests
    facts = resumed_file_facts(
        str(own), saved_checkpoint(str(own)) if resume else None)
    assert digests[resume] == str(_digest(facts)), digests
    epoch, seed = (1, 3) if resume else ('an object', 'an object')
    assert facts == (('contents', zip_members_sha1(own)[:12]),
                     ('iteration', 301), ('epoch', epoch), ('run', 'run'),
                     ('saved', '20261206_101010'), ('seed', seed),
                     ('training set seed', None)), facts
    differ, line = _loads_compared([own, other], resume)
    assert differ
    assert 'contents (rank 0: ' in line, line
    assert ('seed (rank 0: 3; rank 1: 4)' in line) == resume, line
    assert 'None' not in line, line


@pytest.mark.slow
def test_a_peer_that_dies_at_the_agreement_keeps_gloos_error(
        tmp_path, synthetic_root):
    """Rank 1 ends (os._exit(3), as the out-of-memory killer would leave
    it: nothing said) where it would have refused: rank 0's wait in the
    agreement's collective ends in gloo's own error, the peer's address
    in it, never a refusal line; torchrun reports rank 1's status.
    torchrun ends rank 0 (SIGTERM) once rank 1 has exited, at times
    before rank 0 has printed gloo's error (1 run of 10 on the loaded
    cores): where rank 0 said an error it is gloo's, never a refusal."""
    rc, err = _two_processes(tmp_path, synthetic_root, RANK1_DOES='crash')
    assert rc == 3, err[-3000:]
    assert 'refused' not in err, err[-3000:]
    said = [ln for ln in err.splitlines()
            if ln.startswith('[rank0]: ') and 'Error: ' in ln]
    assert all('gloo' in ln and '[127.0.0.1]:' in ln and (
        'Connection closed by peer' in ln or
        'Connection reset by peer' in ln) for ln in said), err[-3000:]
    assert len(said) <= 1, err[-3000:]
    assert error_lines(err)[-1] == (
        'error: training process 1 exited with status 3 (1 more failed '
        'after it); its message is above'), err[-3000:]


def _agreeing(rank, world, port, refusing, out):
    """One rank of a gloo group of ``world`` inside ``refusals_agreed``,
    raising its own InputError where its rank is in ``refusing``; its
    outcome (the line raised, or 'went on') into ``out``."""
    import torch
    import torch.distributed as dist

    from openselfsup.engine.agreed_refusals import refusals_agreed
    from openselfsup.utils import InputError
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        with refusals_agreed():
            if rank in refusing:
                raise InputError(f'list of rank {rank} not found')
        out[rank] = 'went on'
    except InputError as exc:
        out[rank] = str(exc)
    finally:
        dist.destroy_process_group()


def _peer_dies(rank, world, port, when, out):
    """Rank 1 of a gloo group of two refusing inside ``refusals_agreed``,
    as a run's process does (``ends_its_process_group`` around it), while
    rank 0 dies ``when`` 'in' the agreed checks (an exception of its own)
    or 'after' the agreement (``os._exit`` in its clean-up); rank 1's
    outcome (its exception's type and line) into ``out``."""
    import time

    import torch
    import torch.distributed as dist

    from openselfsup.engine.agreed_refusals import refusals_agreed
    from openselfsup.engine.runner import ends_its_process_group
    from openselfsup.utils import InputError
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    try:
        with ends_its_process_group():
            dist.init_process_group('gloo', rank=rank, world_size=world)
            try:
                with refusals_agreed():
                    if rank == 1:
                        raise InputError('list of rank 1 not found')
                    if when == 'in':
                        time.sleep(1)
                        raise ValueError('rank 0 crashed')
            except InputError:
                if rank == 0:
                    os._exit(9)
                time.sleep(1)  # rank 0 gone before rank 1's barrier
                raise
    except BaseException as exc:  # noqa: BLE001 (the outcome told)
        out[rank] = f'{type(exc).__name__}: {exc}'


@pytest.mark.slow
@pytest.mark.parametrize('when', ['in', 'after'])
def test_a_refusing_rank_says_its_line_when_its_peer_dies(when):
    """Rank 0 dies in the agreed checks (its round never comes) or after
    the agreement (rank 1 waits for it at the barrier before it exits):
    rank 1's collective fails, and its line was gloo's traceback (review
    r157, harness.py A and C); now its own refusal, nothing said of the
    peer."""
    import torch.multiprocessing as mp

    from _foundation_helpers import free_port
    out = mp.Manager().dict()
    ctx = mp.start_processes(_peer_dies, args=(2, free_port(), when, out),
                             nprocs=2, join=False, start_method='fork')
    for process in ctx.processes:
        process.join(120)
    assert out.get(1) == 'InputError: list of rank 1 not found', dict(out)


@pytest.mark.slow
@pytest.mark.parametrize('refusing', [(), (2,), (1, 2)])
def test_every_rank_says_the_refusals_of_the_others(refusing):
    """Three gloo processes: none refusing, all go on; one or two, each
    refusing rank raises its own line, each other rank the first refusing
    rank's line quoted, with how many more refused (written by hand here,
    not by the function that words it)."""
    import torch.multiprocessing as mp

    from _foundation_helpers import free_port
    out = mp.Manager().dict()
    mp.start_processes(_agreeing, args=(3, free_port(), refusing, out),
                       nprocs=3, join=True, start_method='fork')
    expected = {
        (): ['went on'] * 3,
        (2,): ['rank 2 refused this run: list of rank 2 not found'] * 2 +
              ['list of rank 2 not found'],
        (1, 2): ['rank 1 refused this run (1 more rank refused it too): '
                 'list of rank 1 not found', 'list of rank 1 not found',
                 'list of rank 2 not found']}[refusing]
    assert [out[r] for r in range(3)] == expected


def test_a_refusal_reworded_for_a_url_stays_agreed(tmp_path):
    """A run's guard rewords a refusal that names a URL's download
    (``discard_on_failure``: the URL given, not the file): the line it
    raises instead is still one every rank knows of, so that the ranks
    wait for each other before they exit (it was a new InputError,
    unmarked)."""
    from openselfsup.engine.agreed_refusals import (is_agreed_refusal,
                                                    mark_agreed)
    from openselfsup.engine.runner import discard_on_failure
    from openselfsup.utils import InputError
    path = str(tmp_path / '.downloads' / 'epoch_1.pth')
    url = 'https://example.org/epoch_1.pth'

    class Run:
        _url_named = (path, url)
    with pytest.raises(InputError) as raised:
        with discard_on_failure(Run()):
            raise mark_agreed(InputError(
                f'rank 1 refused this run: --resume: rank 1 does not see '
                f'{path}'))
    assert str(raised.value) == ('rank 1 refused this run: --resume: rank 1 '
                                 f'does not see {url}')
    assert is_agreed_refusal(raised.value)


def _says_then_exits(rank, port, said):
    """One rank of a gloo group of two, run as a command runs
    (``run_cli``) inside ``ends_its_process_group``, rank 1 refusing in
    the agreed checks; rank 1's stderr slow (its line written a second
    after it is printed, into the file ``said``), as a loaded machine
    delays a rank between its clean-up and its line."""
    import time

    import torch
    import torch.distributed as dist

    from openselfsup.engine.agreed_refusals import refusals_agreed
    from openselfsup.engine.runner import ends_its_process_group
    from openselfsup.utils import InputError, run_cli

    class Slow:
        def write(self, text):
            time.sleep(1)
            with open(said, 'a') as f:
                f.write(text)

        def flush(self):
            pass
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    if rank == 1:
        sys.stderr = Slow()

    def main(argv):
        with ends_its_process_group():
            dist.init_process_group('gloo', rank=rank, world_size=2)
            with refusals_agreed():
                if rank == 1:
                    raise InputError('list of rank 1 not found')
    sys.exit(run_cli(main, []))


@pytest.mark.slow
def test_no_rank_exits_before_every_rank_has_said_its_line(tmp_path):
    """Rank 1 slow to print its line after the run's clean-up: rank 0
    exits only once rank 1's line is out (both met at a barrier before
    either printed, and rank 0 exited while rank 1 was still on its way
    to its line: under torchrun, which ends the others once one process
    has exited, that line was lost), both with the refusal's status."""
    import torch.multiprocessing as mp

    from _foundation_helpers import free_port
    said = tmp_path / 'said'
    ctx = mp.start_processes(_says_then_exits, args=(free_port(), str(said)),
                             nprocs=2, join=False, start_method='fork')
    ctx.processes[0].join(120)
    # rank 0 gone: rank 1's line must be written already
    written = said.read_text() if said.exists() else ''
    ctx.processes[1].join(120)
    assert 'error: list of rank 1 not found' in written, written
    assert [p.exitcode for p in ctx.processes] == [2, 2]


def test_socket_paths_are_fresh_and_fit(tmp_path):
    """:func:`socket_path`: a fresh name per call in ``tmp_path`` (a
    test's second torchrun took the first one's, whose socket was left
    there: 'Address already in use'), in the temporary folder where
    ``tmp_path``'s is too long, by its bytes."""
    sock = socket_path(tmp_path)
    assert os.path.dirname(os.path.dirname(sock)) == str(tmp_path)
    assert socket_path(tmp_path) != sock
    # a socket's path there of 107 characters, more bytes
    tail = os.path.join('', 'workers_12345678', 's')
    n = SOCKET_PATH_BYTES - len(str(tmp_path / tail)) - 1
    deep = tmp_path / ('\u00e9' * n)
    deep.mkdir()
    assert len(str(deep / tail)) == SOCKET_PATH_BYTES
    far = socket_path(deep)
    assert not far.startswith(str(deep))
    assert len(os.fsencode(far)) <= SOCKET_PATH_BYTES
    shutil.rmtree(os.path.dirname(far))


def test_the_worker_proxy_exits_as_its_process_did(tmp_path):
    """:data:`WORKER_PROXY` and :data:`WORKER_FACTORY` alone (plain
    interpreters, ``as_started`` a stand-in that takes the folder and
    arguments): each proxy exits as its process did, killed by SIGKILL
    (it exited 1 with OSError's traceback: SIGKILL's action cannot be
    set), by SIGTERM, or exiting 3, where a proxy has first connected
    and gone before its request (the factory waited on its request for
    ever: no proxy after it was answered)."""
    import socket
    import time
    sock = socket_path(tmp_path)
    stand_in = ('import os, sys\n'
                'def as_started(env, cwd, argv):\n'
                '    os.chdir(cwd)\n'
                '    sys.argv = argv\n')
    env = {k: v for k, v in os.environ.items() if k != 'OMP_NUM_THREADS'}
    factory = subprocess.Popen(
        [sys.executable, '-c', stand_in + WORKER_FACTORY, sock], env=env)
    try:
        gone = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        for _ in range(200):
            try:
                gone.connect(sock)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                time.sleep(0.05)
        gone.close()
        for code, status in (('os.kill(os.getpid(), 9)', -9),
                             ('os.kill(os.getpid(), 15)', -15),
                             ('sys.exit(3)', 3)):
            entry = tmp_path / 'entry.py'
            entry.write_text(f'import os, sys\n{code}\n')
            proxy = tmp_path / 'proxy.py'
            proxy.write_text(WORKER_PROXY.format(sock=sock,
                                                 entry=str(entry)))
            p = subprocess.run([sys.executable, str(proxy)], cwd=tmp_path,
                               capture_output=True, text=True, timeout=20)
            assert (p.returncode, p.stderr) == (status, ''), code
    finally:
        factory.kill()
        factory.wait()
        shutil.rmtree(os.path.dirname(sock))
