import json
import os
import re
import stat
import time

import numpy as np
import pytest
from _io_helpers import folder_by_hand

from openselfsup.utils import atomic_path, save_json, save_npy


def test_atomic_write_replaces_and_keeps_umask_mode(tmp_path):
    path = tmp_path / 'sub' / 'a.npy'
    save_npy(str(path), np.arange(3))
    assert np.array_equal(np.load(path), np.arange(3))
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o666 & ~mask
    save_json(str(tmp_path / 'b.json'), {'x': np.float32(1.5),
                                         'y': np.arange(2)})
    assert json.load(open(tmp_path / 'b.json')) == {'x': 1.5, 'y': [0, 1]}


def test_interrupted_write_leaves_old_file_and_no_temp(tmp_path):
    path = tmp_path / 'r.txt'
    path.write_text('old')
    with pytest.raises(RuntimeError):
        with atomic_path(str(path)) as tmp:
            open(tmp, 'w').write('half')
            raise RuntimeError('killed')
    assert path.read_text() == 'old'
    assert os.listdir(tmp_path) == ['r.txt']


def _dead_pid():
    import subprocess
    import sys
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    return dead.pid


def test_a_temporary_records_its_host_and_pid(tmp_path, monkeypatch):
    """The name of atomic_path's temporary holds the writer's pid and its
    host, the host name made filename-safe."""
    import socket
    monkeypatch.setattr(socket, 'gethostname', lambda: 'gpu-7.cluster.org')
    with atomic_path(str(tmp_path / 'a.npz')) as tmp:
        name = os.path.basename(tmp)
    assert name.startswith(f'.a.npz.{os.getpid()}@gpu-7_cluster_org.')
    assert name.endswith('.tmp.npz')


def test_temporaries_of_another_host_are_left(tmp_path, monkeypatch):
    """A work dir on a shared file system: another host's temporary is
    left whatever its pid (alive or dead here means nothing) while it is
    younger than ELSEWHERE_STALE_S, removed when older; this host's is
    removed when its writer is gone; a name without a host (written before
    hosts were recorded) is judged by its pid alone."""
    import socket

    from openselfsup.utils.io import remove_stale_temporaries
    monkeypatch.setattr(socket, 'gethostname', lambda: 'here')
    dead, live = _dead_pid(), os.getppid()
    names = {  # name: removed?
        f'.a.pth.{dead}@here.x1.tmp.pth': True,
        f'.a.pth.{live}@here.x2.tmp.pth': False,
        f'.a.pth.{dead}@there.x3.tmp.pth': False,
        f'.a.pth.{live}@there.x4.tmp.pth': False,
        f'.a.pth.{dead}@here-2.x5.tmp.pth': False,
        f'.a.pth.{dead}.x6.tmp.pth': True,
        f'.a.pth.{live}.x7.tmp.pth': False,
        f'.b.pth.{dead}@here.x8.tmp.pth': False,  # another file's
    }
    from openselfsup.utils.io import ELSEWHERE_STALE_S
    # another host's, untouched for longer than a writer ever leaves its
    # file (a requeued job's killed save, the job now on this host): removed
    old = time.time() - ELSEWHERE_STALE_S - 60
    names.update({f'.a.pth.{dead}@there.x9.tmp.pth': True,
                  f'.a.pth.{live}@there.x10.tmp.pth': True})
    for name in names:
        (tmp_path / name).write_bytes(b'PK half')
        if name.endswith(('x9.tmp.pth', 'x10.tmp.pth')):
            os.utime(tmp_path / name, (old, old))
    assert remove_stale_temporaries(str(tmp_path / 'a.pth')) == 4
    assert sorted(os.listdir(tmp_path)) == sorted(
        n for n, removed in names.items() if not removed)
    # the wildcard form (AtomicRunner: every checkpoint's) by the same rule
    assert remove_stale_temporaries(str(tmp_path / '*.pth')) == 1
    assert not (tmp_path / f'.b.pth.{dead}@here.x8.tmp.pth').exists()


def test_a_long_target_name_gets_a_temporary_that_fits(tmp_path,
                                                     monkeypatch):
    """A target name near the file system's limit (255 bytes here) is
    written atomically: its temporary, named after the target, would be
    too long, and holds the beginning of its name, a digest of the whole
    and the extension instead; every writer (any pid, any host) gives a
    target the same such name, and another target's whose beginning is the
    same a different one. A target too long itself is one line, nothing
    written."""
    import socket

    from openselfsup.utils import InputError
    from openselfsup.utils.io import remove_stale_temporaries
    name_max = os.pathconf(tmp_path, 'PC_NAME_MAX')
    # the longest host name a temporary records
    monkeypatch.setattr(socket, 'gethostname', lambda: 'h' * 80)
    target = tmp_path / ('é' + 'a' * (name_max - 6) + '.npy')  # é: 2 bytes
    assert len(os.fsencode(target.name)) == name_max
    seen = []
    with atomic_path(str(target)) as tmp:
        seen.append(os.path.basename(tmp))
        np.save(tmp, np.arange(3))
    assert np.array_equal(np.load(target), np.arange(3))
    assert os.listdir(tmp_path) == [target.name]
    tmp_name, = seen
    assert len(os.fsencode(tmp_name)) <= name_max
    assert tmp_name.startswith('.é' + 'a' * 100)
    assert re.search(rf'~[0-9a-f]{{16}}\.npy\.{os.getpid()}@h{{63}}\.'
                     r'\w{8}\.tmp\.npy$', tmp_name), tmp_name
    # the same target from a writer that died, and another target whose
    # name begins alike: its temporary differs
    stem = tmp_name[1:tmp_name.index(f'.{os.getpid()}@')]
    twin = tmp_path / (target.name[:-5] + 'b.npy')
    with atomic_path(str(twin)) as tmp:
        twin_stem = os.path.basename(tmp)[1:].split(f'.{os.getpid()}@')[0]
        assert twin_stem != stem and len(twin_stem) == len(stem)
        # a host with a shorter name: the same stem
        monkeypatch.setattr(socket, 'gethostname', lambda: 'here')
        dead = tmp_path / f'.{stem}.{_dead_pid()}@here.dead.tmp.npy'
        live = tmp_path / f'.{stem}.{os.getppid()}@here.live.tmp.npy'
        twins_dead = tmp_path / f'.{twin_stem}.{_dead_pid()}@here' \
            '.dead.tmp.npy'
        for leftover in (dead, live, twins_dead):
            leftover.write_bytes(b'half')
        with atomic_path(str(target)) as again:
            assert os.path.basename(again).startswith(f'.{stem}.')
            np.save(again, np.arange(4))
        assert not dead.exists() and live.exists() and twins_dead.exists()
        assert remove_stale_temporaries(str(twin)) == 1
        assert remove_stale_temporaries(str(tmp_path / '*.npy')) == 0
        np.save(tmp, np.arange(5))
    assert np.array_equal(np.load(target), np.arange(4))
    assert np.array_equal(np.load(twin), np.arange(5))
    live.unlink()
    # a killed writer's temporary of a long name goes with '*.npy' too
    dead.write_bytes(b'half')
    assert remove_stale_temporaries(str(tmp_path / '*.npy')) == 1
    too_long = tmp_path / ('a' * (name_max - 3) + '.npy')
    with pytest.raises(InputError, match='cannot write here .*too long'):
        save_npy(str(too_long), np.arange(3))
    assert sorted(os.listdir(tmp_path)) == sorted([target.name, twin.name])


def test_array_sha1_is_the_digest_artefacts_recorded():
    """Provenance JSONs on disk hold array_sha1 digests: they must stay
    sha1(dtype, shape, C-order bytes) for every kind of array."""
    import hashlib

    from openselfsup.utils import array_sha1
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(50, 8)).astype(np.float32),
              np.arange(7, dtype=np.int64), np.arange(12.).reshape(3, 4).T,
              np.arange(20)[::3], np.zeros((3, 0)), np.array(5.0),
              np.array([True, False])]
    for a in arrays:
        want = hashlib.sha1(f'{a.dtype.str}{a.shape}'.encode()
                            + np.ascontiguousarray(a).tobytes()).hexdigest()
        assert array_sha1(a) == want, (a.dtype, a.shape)


def test_load_npy_says_why_a_file_is_not_an_array(tmp_path):
    """A text file saved as .npy got numpy's advice to allow pickles; a
    folder where a file belongs read as 'not found'. Each is one line."""
    import numpy as np

    from openselfsup.utils.checkpoint import check_checkpoint_file
    from openselfsup.utils import InputError, load_npy
    good = tmp_path / 'good.npy'
    np.save(good, np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(load_npy(str(good)),
                                  np.arange(6.0).reshape(2, 3))
    text = tmp_path / 'text.npy'
    text.write_text('0.1 0.2\n0.3 0.4\n')
    objects = tmp_path / 'objects.npy'
    np.save(objects, np.array([{'a': 1}], dtype=object), allow_pickle=True)
    for path, words in ((text, 'not a .npy file of numbers'),
                        (objects, 'not a .npy file of numbers'),
                        (tmp_path, 'is a folder, not a features file'),
                        (tmp_path / 'none.npy', 'none.npy: features not found')):
        with pytest.raises(InputError, match=words) as info:
            load_npy(str(path), 'features')
        assert '\n' not in str(info.value)
        assert 'allow_pickle' not in str(info.value)
    with pytest.raises(InputError, match='is a folder, not a checkpoint '
                       'file'):
        check_checkpoint_file(str(tmp_path))
    # the import's --paths file (a folder read as 'not found' before)
    from openselfsup.apis.import_features import read_paths_file
    with pytest.raises(InputError, match=f'^--paths {tmp_path}: is a '
                       'folder, not a paths file$'):
        read_paths_file(str(tmp_path))


def test_ctrl_c_turned_into_another_error_still_reads_interrupted(capsys):
    """MMEngine's config formatting catches everything, Ctrl-C included,
    and raises SyntaxError: a Ctrl-C at that moment was a traceback. Any
    error raised while handling a Ctrl-C is 'interrupted' (exit 130);
    other errors still propagate."""
    from mmengine.config import Config

    from openselfsup.utils import run_cli

    def formatting(argv):
        try:
            raise KeyboardInterrupt
        except BaseException:  # what a bare except in a library does
            raise SyntaxError('Failed to format the config file')
    assert run_cli(formatting) == 130
    assert capsys.readouterr().err == 'interrupted\n'

    def plain(argv):
        raise SyntaxError('a real one')
    with pytest.raises(SyntaxError):
        run_cli(plain)
    # the library case itself: yapf interrupted inside Config.pretty_text
    import unittest.mock as mock
    cfg = Config(dict(a=1))
    with mock.patch('mmengine.config.config.FormatCode',
                    side_effect=KeyboardInterrupt):
        assert run_cli(lambda argv: cfg.pretty_text) == 130


def test_a_set_interrupted_while_written_keeps_every_old_file(tmp_path):
    """Ctrl-C in the middle of writing a list set (train, test, classes)
    must not leave a new train list beside the old test list."""
    from _io_helpers import ctrl_c_when_writing
    from openselfsup.datasets.list_files import write_list_set
    meta = tmp_path / 'meta'
    write_list_set(str(meta), {'train': [('a.png', 0)],
                               'test': [('b.png', 1)]}, ['x', 'y'], 'data')
    before = {p.name: p.read_text() for p in meta.iterdir()}
    calls = []

    def third(path):  # the third file of the set
        if path.startswith(str(meta)):
            calls.append(path)
        return len(calls) == 3

    with ctrl_c_when_writing(third), pytest.raises(KeyboardInterrupt):
        write_list_set(str(meta), {'train': [('b.png', 1)],
                                   'test': [('a.png', 0)]},
                       ['x', 'y'], 'data')
    assert {p.name: p.read_text() for p in meta.iterdir()} == before


def test_save_set_moves_every_file_in_together(tmp_path):
    from openselfsup.utils import save_set
    a, b, c, d = (str(tmp_path / n) for n in ('a.json', 'b.npy', 'c.md',
                                               'd.png'))
    save_set({a: {'x': np.float32(1)}, b: np.arange(3), c: 'text',
              d: b'\x89PNG'})
    assert json.load(open(a)) == {'x': 1.0}
    assert np.load(b).tolist() == [0, 1, 2]
    assert open(c).read() == 'text' and open(d, 'rb').read() == b'\x89PNG'
    with pytest.raises(RuntimeError):
        from openselfsup.utils import atomic_paths
        with atomic_paths([a, c]) as (ta, tc):
            open(ta, 'w').write('{}')
            raise RuntimeError('killed')
    assert json.load(open(a)) == {'x': 1.0}
    assert sorted(os.listdir(tmp_path)) == ['a.json', 'b.npy', 'c.md',
                                            'd.png']


def test_a_folder_where_a_file_of_a_set_goes_is_one_line_nothing_moved(
        tmp_path):
    """A folder where one file of a set goes (``meta/train_labeled.txt/``):
    one line before anything moves. It was an IsADirectoryError traceback
    from the renames, after the files before it had been moved in: a new
    ``train.txt`` beside the old lists."""
    from openselfsup.utils import InputError, atomic_path, save_set
    a, b = str(tmp_path / 'a.txt'), str(tmp_path / 'b.txt')
    open(a, 'w').write('old a')
    os.mkdir(b)
    with pytest.raises(InputError, match=f'^{b}: is a folder where a file '
                       'goes; move it away or delete it \\(nothing '
                       'written\\)$'):
        save_set({a: 'new a', b: 'new b'})
    assert open(a).read() == 'old a' and os.path.isdir(b)
    assert sorted(os.listdir(tmp_path)) == ['a.txt', 'b.txt']
    with pytest.raises(InputError, match='is a folder where a file goes'):
        with atomic_path(b) as tmp:
            open(tmp, 'w').write('x')
    assert os.listdir(b) == [] and sorted(os.listdir(tmp_path)) == [
        'a.txt', 'b.txt']
    # a link to a folder is replaced, its target kept, as before
    target = tmp_path / 'target'
    target.mkdir()
    os.rmdir(b)
    os.symlink(target, b)
    save_set({a: 'new a', b: 'new b'})
    assert open(b).read() == 'new b' and not os.path.islink(b)
    assert target.is_dir()


def test_ctrl_c_while_a_set_is_moved_in_comes_after_the_last_file(tmp_path):
    """A Ctrl-C between the renames of a set is acted upon after the last
    one. The test sets Python's Ctrl-C handler itself: a pytest started
    as a background job of a non-interactive shell (``pytest ... &`` in a
    script, beside other work; nohup) inherits SIGINT ignored, which
    ``signals_held`` rightly keeps ignored, and the test failed there
    ('DID NOT RAISE'), every run. The signal is raised in this thread
    (``raise_signal``): ``os.kill`` of the process may be taken by another
    thread of it (BLAS's, torch's), and acted upon late."""
    import signal
    from openselfsup.utils import io
    a, b = str(tmp_path / 'a.txt'), str(tmp_path / 'b.txt')
    real_replace = os.replace

    def replace(src, dst):  # Ctrl-C arrives after the first rename
        real_replace(src, dst)
        if dst == a:
            signal.raise_signal(signal.SIGINT)

    io.os.replace = replace
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            io.save_set({a: 'new a', b: 'new b'})
    finally:
        io.os.replace = real_replace
        signal.signal(signal.SIGINT, handler)
    assert open(a).read() == 'new a' and open(b).read() == 'new b'


def test_signals_held_come_once_after_the_body_to_the_handler_restored():
    """signals_held: a signal sent in the body reaches the handler that was
    set only after the body (once, however often it came), and that handler
    is set again; a signal not held is not delayed."""
    import signal

    from openselfsup.utils.io import signals_held
    seen = []

    def handler(signum, frame):
        seen.append(signum)
    old = {s: signal.signal(s, handler)
           for s in (signal.SIGUSR1, signal.SIGUSR2)}
    try:
        with signals_held([signal.SIGUSR1]):
            os.kill(os.getpid(), signal.SIGUSR1)
            os.kill(os.getpid(), signal.SIGUSR1)
            os.kill(os.getpid(), signal.SIGUSR2)
            assert seen == [signal.SIGUSR2]
            assert signal.getsignal(signal.SIGUSR1) is not handler
        assert seen == [signal.SIGUSR2, signal.SIGUSR1]
        assert signal.getsignal(signal.SIGUSR1) is handler
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def test_a_full_disk_while_a_set_is_written_is_one_line(tmp_path,
                                                        monkeypatch):
    """As for one file (save_npy): ENOSPC while the features of a set are
    written is an InputError naming the file, not a traceback, and no
    file of the set changes."""
    import errno

    from openselfsup.utils import InputError, save_set
    a, b = str(tmp_path / 'feats.npy'), str(tmp_path / 'feats.json')
    save_set({a: np.zeros(2), b: {'old': 1}})

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, 'No space left on device')

    monkeypatch.setattr(np, 'save', full)
    with pytest.raises(InputError, match='feats.npy: cannot write'):
        save_set({b: {'new': 1}, a: np.ones(2)})
    monkeypatch.undo()
    assert json.load(open(b)) == {'old': 1}
    assert np.load(a).tolist() == [0.0, 0.0]
    assert sorted(os.listdir(tmp_path)) == ['feats.json', 'feats.npy']


def test_locked_takes_turns_and_leaves_no_lock_file(tmp_path):
    from openselfsup.utils import InputError, locked
    target = str(tmp_path / 'sub' / 'shared.npy')
    lock = tmp_path / 'sub' / '.shared.npy.lock'
    with locked(target):
        assert lock.exists()
        # another holder (a second open file, as another process's)
        with pytest.raises(InputError, match='busy here'):
            with locked(target, busy='busy here'):
                pass
    assert not lock.exists()
    lock.write_text('')  # a killed holder's file: taken over
    with locked(target, busy='busy here'):
        pass
    assert os.listdir(tmp_path / 'sub') == []


def test_locked_names_its_holder_and_a_killed_one_does_not_block(
        tmp_path):
    """The process a ``busy`` lock turns away learns who holds it: the
    holder's pid@host and start, which it wrote into the lock file (a
    second training run into a work dir names the first). A holder killed
    with SIGKILL leaves its lock file, but the OS has released its lock:
    the next process takes it at once and records itself."""
    import datetime
    import subprocess
    import sys

    from openselfsup.utils import InputError, locked
    target = str(tmp_path / 'run')
    lock = tmp_path / '.run.lock'
    code = ('import sys, time\n'
            'from openselfsup.utils import locked\n'
            'with locked(sys.argv[1]):\n'
            '    print("held", flush=True)\n'
            '    time.sleep(120)\n')
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        os.environ.get('PYTHONPATH')])))
    start = datetime.datetime.now().replace(microsecond=0)
    proc = subprocess.Popen([sys.executable, '-c', code, target], env=env,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline() == 'held\n'
        with pytest.raises(InputError) as info:
            with locked(target, busy=lambda holder: f'in use: {holder}'):
                pass
        m = re.fullmatch(r'in use: (\d+)@(\S+) since (\S+ \S+)( \S+)?',
                         str(info.value))
        assert m, str(info.value)
        assert int(m.group(1)) == proc.pid
        since = datetime.datetime.strptime(m.group(3), '%Y-%m-%d %H:%M:%S')
        assert start <= since <= datetime.datetime.now()
        with pytest.raises(InputError, match='^busy here$'):  # as before
            with locked(target, busy='busy here'):
                pass
    finally:
        proc.kill()  # SIGKILL: no clean-up of its own
        proc.wait()
    assert lock.exists()  # the killed holder's, with its line
    assert lock.read_text().startswith(f'{proc.pid}@')
    with locked(target, busy='busy here'):
        assert lock.read_text().startswith(f'{os.getpid()}@')
    assert not lock.exists()


@pytest.mark.parametrize('err', ['ENOSYS', 'ENOLCK', 'EOPNOTSUPP'])
def test_locked_on_a_file_system_without_flock_runs_unlocked(
        tmp_path, monkeypatch, err):
    """Lustre mounted noflock (ENOSYS), NFS without its lock daemon
    (ENOLCK): every extraction into a workdir went through locked() and
    stopped with an OSError traceback; the body runs unlocked, as where
    fcntl is missing, and leaves no lock file. Other errors still raise."""
    import errno
    import fcntl

    from openselfsup.utils import locked

    def no_flock(fd, op):
        raise OSError(getattr(errno, err), os.strerror(getattr(errno, err)))

    monkeypatch.setattr(fcntl, 'flock', no_flock)
    ran = []
    with locked(str(tmp_path / 'shared.npy'), busy='busy'):
        ran.append(True)
    assert ran and os.listdir(tmp_path) == []

    def broken(fd, op):
        raise OSError(errno.EIO, 'I/O error')

    monkeypatch.setattr(fcntl, 'flock', broken)
    with pytest.raises(OSError, match='I/O error'):
        with locked(str(tmp_path / 'shared.npy')):
            pass


def _refuse_writes(monkeypatch, refused):
    """``os.open`` with a write mode (or O_CREAT) on a path for which
    ``refused(path)`` holds raises EACCES, as for a user without write
    permission there (root, which these tests may run as, is not stopped
    by permission bits). Returns the (path, flags) of every open."""
    import errno
    opens = []
    real_open = os.open

    def fake_open(path, flags, *args, **kwargs):
        opens.append((os.fspath(path), flags))
        writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT
        if flags & writes and refused(os.fspath(path)):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES),
                                  path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, 'open', fake_open)
    return opens


def test_locked_takes_another_users_lock_file_read_only(tmp_path,
                                                       monkeypatch):
    """A lock file left by another user's run (0644, theirs): opening it
    for writing is refused, and every extraction into a shared workdir
    said 'cannot write here' although the folder is writable. flock needs
    no write access: the lock is taken through a read-only descriptor, and
    it still excludes another holder."""
    import fcntl

    from openselfsup.utils import InputError, locked
    target = str(tmp_path / 'shared.npy')
    lock = str(tmp_path / '.shared.npy.lock')
    with open(lock, 'w'):
        pass
    os.chmod(lock, 0o444)
    opens = _refuse_writes(monkeypatch, lambda p: p == lock)
    with locked(target):
        assert (lock, os.O_RDONLY) in opens
        # the lock is held: another open file of it (as another process's)
        # cannot take it, through locked() or flock itself
        with pytest.raises(InputError, match='busy here'):
            with locked(target, busy='busy here'):
                pass
        other = os.open(lock, os.O_RDONLY)
        try:
            with pytest.raises(BlockingIOError):
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
        finally:
            os.close(other)
    # released and removed at the end, as a lock file of one's own
    assert os.listdir(tmp_path) == []


def test_locked_refuses_a_folder_it_cannot_write(tmp_path, monkeypatch):
    """The read-only lock is only for another user's lock file in a
    folder this user can write: where no file can be created there (the
    outputs could not be written either) the refusal stays, one line
    naming the output, even though the lock file itself could be read."""
    from openselfsup.utils import InputError, locked
    target = str(tmp_path / 'shared.npy')
    lock = tmp_path / '.shared.npy.lock'
    lock.write_text('')
    _refuse_writes(monkeypatch, lambda p: p.startswith(str(tmp_path)))
    ran = []
    with pytest.raises(InputError, match=re.escape(
            f'{target}: cannot write here (Permission denied)')):
        with locked(target):
            ran.append(True)
    assert not ran and os.listdir(tmp_path) == [lock.name]


def test_locked_names_a_lock_file_it_cannot_open(tmp_path, monkeypatch):
    """Another user's lock file that this user may not even read (0600)
    or, on NFS (flock emulated by a write lock), not write: one line
    naming the lock file to remove."""
    import errno
    import fcntl

    from openselfsup.utils import InputError, locked
    target = str(tmp_path / 'shared.npy')
    lock = str(tmp_path / '.shared.npy.lock')
    with open(lock, 'w'):
        pass
    real_open = os.open

    def unreadable(path, flags, *args, **kwargs):
        if os.fspath(path) == lock:
            raise PermissionError(errno.EACCES, 'Permission denied', path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, 'open', unreadable)
    with pytest.raises(InputError, match=re.escape(
            f'{target}: cannot take the lock {lock} (Permission denied)')):
        with locked(target):
            pass
    monkeypatch.undo()
    _refuse_writes(monkeypatch, lambda p: p == lock)
    real_flock = fcntl.flock

    def nfs_flock(fd, op):  # NFS: an exclusive lock needs a writable file
        if op & fcntl.LOCK_EX and fcntl.fcntl(
                fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY:
            raise OSError(errno.EBADF, os.strerror(errno.EBADF))
        return real_flock(fd, op)

    monkeypatch.setattr(fcntl, 'flock', nfs_flock)
    with pytest.raises(InputError, match=re.escape(
            f'cannot take the lock {lock} (this file system locks only')):
        with locked(target):
            pass
    assert os.listdir(tmp_path) == ['.shared.npy.lock']


def test_sigterm_raises_while_active_and_is_reported_in_one_line(capsys):
    """terminate_raises: SIGTERM is a Terminated while active() holds (so
    the except/finally clean-ups run), run_cli reports it as one line and
    exit 143 (128 + SIGTERM); restore() puts the default action back, and
    leaves a handler set since, or set before, alone."""
    import signal
    import time

    from openselfsup.utils import Terminated, run_cli, terminate_raises
    import gc
    gc.collect()  # runners of earlier tests: collected, the default action
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    chld = signal.getsignal(signal.SIGCHLD)
    restore = terminate_raises(lambda: True)
    try:
        cleaned = []
        with pytest.raises(Terminated):
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # the signal interrupts it
            finally:
                cleaned.append(True)
        assert cleaned == [True]

        def main(argv):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
        # run_cli lets this process's children die quietly (torch's
        # SIGCHLD handler: the DataLoader workers SIGTERM ended with it)
        signal.signal(signal.SIGCHLD, lambda *a: None)
        assert run_cli(main) == 143
        assert capsys.readouterr().err == 'terminated (SIGTERM)\n'
        assert signal.getsignal(signal.SIGCHLD) == signal.SIG_DFL
    finally:
        restore()
        signal.signal(signal.SIGCHLD, chld)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL

    def theirs(signum, frame):
        pass
    signal.signal(signal.SIGTERM, theirs)
    try:
        terminate_raises(lambda: True)()  # theirs stays theirs
        assert signal.getsignal(signal.SIGTERM) is theirs
        restore()  # an earlier, spent restore leaves theirs too
        assert signal.getsignal(signal.SIGTERM) is theirs
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def test_a_sigterm_acted_upon_in_a_finaliser_is_not_lost():
    """A SIGTERM whose handler runs while Python is in a finaliser (a
    ``__del__``, a ``weakref.finalize`` callback the garbage collector
    calls: MMEngine's and torch's objects have them) raised its Terminated
    there, where Python prints 'Exception ignored in' and drops it: the
    signal was lost and the run went on to its end, exit 0 (a lambda sweep
    given SIGTERM during its second run trained every run). It is acted
    upon again in the main flow: a Terminated there, the clean-ups run."""
    import gc
    import signal
    import sys
    import time

    from openselfsup.utils import Terminated, terminate_raises
    gc.collect()  # runners of earlier tests: collected, the default action
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    hook = sys.unraisablehook
    ran = []

    class Finalised:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):  # the handler runs here, in __del__
                pass
            ran.append(True)  # not reached: the Terminated left __del__

    restore = terminate_raises(lambda: True)
    try:
        cleaned = []
        with pytest.raises(Terminated):
            try:
                Finalised()  # collected at once: __del__ runs
                time.sleep(5)  # the signal, acted upon again, ends it
            finally:
                cleaned.append(True)
        assert cleaned == [True] and ran == []
    finally:
        restore()
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert sys.unraisablehook is hook  # restore() puts it back too


def _run_python(code: str, timeout: float):
    """``python -c code`` with this checkout first on PYTHONPATH, its
    output captured as text."""
    import subprocess
    import sys
    path = os.pathsep.join(filter(None, [os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))), os.environ.get('PYTHONPATH')]))
    return subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=timeout,
                          env=dict(os.environ, PYTHONPATH=path))


def test_sigterm_ends_the_process_when_inactive_in_a_child_or_a_thread():
    """Once active() is false, in a forked child (a DataLoader worker) and
    when asked from a thread other than the main one (no handler set),
    SIGTERM ends the process as its default action does."""
    import signal
    code = '''
import os, signal, sys, threading, time
from openselfsup.utils import terminate_raises
state = {"on": True}
restore = terminate_raises(lambda: state["on"])
pid = os.fork()
if pid == 0:  # the child: the parent's clean-up is not its own
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)
    os._exit(0)
_, status = os.waitpid(pid, 0)
assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM
got = []
t = threading.Thread(target=lambda: got.append(terminate_raises(lambda: 1)))
t.start(); t.join()
got[0]()  # a no-op
assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
state["on"] = False
os.kill(os.getpid(), signal.SIGTERM)
time.sleep(5)
print("survived")
'''
    out = _run_python(code, timeout=60)
    assert out.returncode == -signal.SIGTERM, out.stderr
    assert 'survived' not in out.stdout


def test_json_is_standard_with_null_for_nan_and_inf(tmp_path):
    """Python's json writes NaN and Infinity, which are not JSON (jq and
    JavaScript's JSON.parse refuse the file): every non-finite float,
    however nested and of whatever type, is written null, by save_json and
    save_set alike; finite numbers to the text json writes for them; a
    file written before, with NaN, still reads."""
    import math

    from _io_helpers import strict_json

    from openselfsup.utils import load_json, save_set
    nan, inf = float('nan'), float('inf')
    obj = {'a': nan, 'b': [1.5, -inf, {'c': (inf, 2, None)}],
           'd': np.float32('nan'), 'e': np.array([[0.25, np.nan]]),
           'f': np.float64(-np.inf), 'g': 'NaN', 'h': [np.int64(3), True]}
    want = {'a': None, 'b': [1.5, None, {'c': [None, 2, None]}], 'd': None,
            'e': [[0.25, None]], 'f': None, 'g': 'NaN', 'h': [3, True]}
    a, b = str(tmp_path / 'a.json'), str(tmp_path / 'b.json')
    save_json(a, obj)
    save_set({b: obj})
    for path in (a, b):
        assert strict_json(open(path).read()) == want
    # finite numbers: json's own text for them, as before
    finite = {'x': 0.1 + 0.2, 'y': [1e-05, 3, np.float32(0.1)],
              'z': np.arange(3), 'w': (-0.0, 1e300)}
    save_json(a, finite)
    assert open(a).read() == json.dumps(
        {'x': 0.1 + 0.2, 'y': [1e-05, 3, float(np.float32(0.1))],
         'z': [0, 1, 2], 'w': [-0.0, 1e300]}, indent=2) + '\n'
    # a non-finite number that gets past the conversion (a key) is refused
    # loudly, nothing written
    with pytest.raises(ValueError):
        save_json(str(tmp_path / 'c.json'), {nan: 1})
    assert sorted(os.listdir(tmp_path)) == ['a.json', 'b.json']
    # a file written before this: NaN and Infinity read back as floats
    with open(b, 'w') as f:
        json.dump({'x': nan, 'y': [-inf]}, f)
    old = load_json(b)
    assert math.isnan(old['x']) and old['y'] == [-inf]


def _pairwise_twice(values, key):
    """given_twice by brute force: every pair (i < j) with one key; the
    keys in the order of their first value, each with all its values."""
    keys = [key(v) for v in values]
    repeated = []
    for i in range(len(values)):
        for j in range(i + 1, len(values)):
            if keys[i] == keys[j] and keys[i] not in repeated:
                repeated.append(keys[i])
    return [[v for v, k in zip(values, keys) if k == r] for r in repeated]


def test_given_twice_agrees_with_a_pairwise_loop():
    from openselfsup.utils import given_twice
    rng = np.random.default_rng(0)
    keys = [None, lambda v: v % 3, lambda v: -v, lambda v: str(v)[:1]]
    for trial in range(400):
        n = int(rng.integers(0, 12))
        values = [int(v) for v in rng.integers(0, int(rng.integers(1, 20)),
                                               n)]
        if trial % 5 == 0:  # None and strings, as the list flags hold
            values = [None if v % 4 == 0 else f'v{v % 5}' for v in values]
            key = None
        else:
            key = keys[trial % len(keys)]
        want = _pairwise_twice(values, key or (lambda v: v))
        assert given_twice(values, key) == want, (values, trial)
    assert given_twice([]) == [] and given_twice([1, 2, 3]) == []


def test_check_distinct_names_the_flag_and_each_value_once():
    from openselfsup.utils import InputError, check_distinct
    check_distinct('--shots', [1, 5, 10])  # distinct: nothing raised
    with pytest.raises(InputError) as exc:
        check_distinct('--shots', [1, 5, 1, 5, 1, 10], why='once each')
    assert str(exc.value) == '--shots: 1, 5 given twice (once each)'
    # values of one key written differently are each shown, once
    with pytest.raises(InputError) as exc:
        check_distinct('--output', ['out/a.npy', './out/a.npy', 'out/a.npy'],
                       key=os.path.normpath)
    assert str(exc.value) == '--output: out/a.npy and ./out/a.npy given twice'


def test_remove_set_removes_the_files_that_are_there(tmp_path):
    """remove_set (a report describing files about to be replaced) removes
    the paths that exist, dangling links too, leaves the rest of the
    folder, and returns what it removed, in order."""
    from openselfsup.utils import remove_set
    a, b, gone, keep = (str(tmp_path / n) for n in ('a.json', 'b.md',
                                                    'c.png', 'keep.txt'))
    for p in (a, b, keep):
        open(p, 'w').close()
    link = str(tmp_path / 'link.png')
    os.symlink(str(tmp_path / 'nowhere'), link)
    assert remove_set([b, gone, a, link]) == [b, a, link]
    assert sorted(os.listdir(tmp_path)) == ['keep.txt']
    assert remove_set([a, b]) == []


#: the start of a process of its own testing terminate_raises: its
#: imports and ``raises()``, whether a SIGTERM sent to itself raised
#: Terminated (where it does not, the signal ends the process)
_SIGTERM_RAISES = '''
import itertools, os, signal, sys, time
from openselfsup.utils import Terminated, terminate_raises

def raises():
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the signal interrupts it
    except Terminated:
        return True
    return False
'''


def test_an_ended_terminate_handler_stands_for_the_default_action():
    """A terminate_raises handler left installed after its active() ended
    (a runner built and never trained, its restore never called) made
    every later terminate_raises a no-op; it is replaced as the default
    action is. One still active is joined: a call made while it is set
    keeps SIGTERM raising after the first caller's active() has ended
    (it was a no-op: the first's end gave SIGTERM its default action,
    and the later caller's run ended where it stood), and its restore
    leaves the first's handler. In a process of its own: where SIGTERM
    does not raise, it ends the process."""
    code = _SIGTERM_RAISES + '''
alive, on = [True], [True]
terminate_raises(lambda: alive[0])  # its restore is never called
first = signal.getsignal(signal.SIGTERM)
joined = terminate_raises(lambda: on[0])  # the first is active: joined
assert signal.getsignal(signal.SIGTERM) is first
alive[0] = False  # the first caller's run has ended, the joined one's not
assert raises()
on[0] = False
joined()  # the first's caller is left: its handler stays, ended
assert signal.getsignal(signal.SIGTERM) is first
restore = terminate_raises(lambda: True)  # replaces the ended handler
assert signal.getsignal(signal.SIGTERM) is not first
assert raises()
restore()
assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
print("done")
'''
    out = _run_python(code, timeout=60)
    assert out.returncode == 0 and out.stdout == 'done\n', \
        (out.returncode, out.stderr[-2000:])


def test_a_restore_ends_its_own_call_and_the_last_one_the_handler():
    """Calls made while one handler is set and active join it: SIGTERM
    raises while any caller's active() holds, each restore (once, however
    often called) ends its own call only, in any order, and the last one
    out puts the default action and the unraisable hook back. The
    reference: a count of the calls not yet restored. In a process of
    its own: where SIGTERM does not raise, it ends the process."""
    code = _SIGTERM_RAISES + '''
hook = sys.unraisablehook

for order in itertools.permutations(range(3)):
    on = [True, True, True]
    restores = [terminate_raises(lambda i=i: on[i]) for i in range(3)]
    handler = signal.getsignal(signal.SIGTERM)
    left = 3
    for i in order:
        on[i] = False  # its caller's run has ended
        if any(on):  # another's still on: SIGTERM raises
            assert raises(), order
        restores[i]()
        restores[i]()  # again: ends no other call
        left -= 1
        now = signal.getsignal(signal.SIGTERM)
        assert (now is handler) == (left > 0), (order, i)
        assert (sys.unraisablehook is hook) == (left == 0), (order, i)
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
print("done")
'''
    out = _run_python(code, timeout=120)
    assert out.returncode == 0 and out.stdout == 'done\n', \
        (out.returncode, out.stderr[-2000:])


def test_each_restore_puts_back_the_unraisable_hook_it_stands_for():
    """A handler whose callers' active() have all ended, their restores
    not yet called (a runner dropped, not yet collected), is replaced by
    the next terminate_raises as SIGTERM's default action is, but its
    unraisable hook was kept as the hook to put back: where its restore
    came first (the collector took the runner while the later run went
    on), the later handler's restore put that hook back, and nothing took
    it off again (it forwarded, but stayed; r135). Now an ended handler's
    hook stands for the one it replaced, as the handler stands for the
    default action. The reference: SIGTERM's default action, back once
    the handler set last has restored; the original hook is back exactly
    then, in every order of the restores."""
    import gc
    import itertools
    import signal
    import sys

    from openselfsup.utils import terminate_raises
    gc.collect()  # runners of earlier tests: collected, the default action
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    hook = sys.unraisablehook
    try:
        for order in itertools.permutations(range(3)):
            on = [True, True, True]
            restores = []
            for i in range(3):
                if i:  # the one before has ended, its restore not called
                    on[i - 1] = False
                restores.append(terminate_raises(lambda i=i: on[i]))
                assert signal.getsignal(signal.SIGTERM) != signal.SIG_DFL
            done = set()
            for i in order:
                restores[i]()
                done.add(i)
                default = signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
                assert default == (2 in done), (order, i)
                assert (sys.unraisablehook is hook) == default, (order, i)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        sys.unraisablehook = hook


def test_a_sigterm_as_the_handler_is_set_leaves_no_handler_behind():
    """A SIGTERM acted upon right after terminate_raises set its handler
    (at the next call, before the caller held the restore) raised
    Terminated out of terminate_raises with the handler left set, for a
    caller that had gone; one at a join (a call made while another
    caller's handler is on) left the call among the callers, so that the
    other's restore, the last, kept the handler. Injected at those points
    (the signal sent from the handler's install; from the restore's
    making, which comes before the join; and as the join appends the
    call to the handler's callers, acted upon before the append returns:
    r152, the first two alone never reached the join's own clean-up): the
    reference is SIGTERM's default action and the unraisable hook back
    once every caller that got a restore has called it. In a process of
    its own: where SIGTERM does not raise, it ends the process."""
    code = _SIGTERM_RAISES + '''
import openselfsup.utils.errors as errors
hook = sys.unraisablehook
real_signal, real_ender = signal.signal, errors._ender

def send():  # a SIGTERM to this process, acted upon at once
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(5)

def terminated():  # terminate_raises raised Terminated
    try:
        terminate_raises(lambda: True)
    except Terminated:
        return True
    return False

def sending(signum, handler):  # the signal comes as the handler is set
    old = real_signal(signum, handler)
    if getattr(handler, 'terminate_callers', None) is not None:
        send()
    return old

signal.signal = sending
assert terminated()
signal.signal = real_signal
assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
assert sys.unraisablehook is hook

first = terminate_raises(lambda: True)

def ender(handler, call):  # the signal comes as the second call joins
    restore = real_ender(handler, call)
    send()
    return restore

errors._ender = ender
assert terminated()
errors._ender = real_ender

handler = signal.getsignal(signal.SIGTERM)
held = handler.terminate_callers  # the list the handler reads


class Sending(list):
    """The handler's callers seen through (the handler and the first
    call's restore hold that list): the signal comes as a call is
    appended, once it is in."""

    def append(self, call):
        held.append(call)
        send()

    def __iter__(self):
        return iter(held)

    def __len__(self):
        return len(held)

    def __delitem__(self, i):
        del held[i]


handler.terminate_callers = Sending()
assert terminated()
handler.terminate_callers = held
first()
assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
assert sys.unraisablehook is hook
print("done")
'''
    out = _run_python(code, timeout=60)
    assert out.returncode == 0 and out.stdout == 'done\n', \
        (out.returncode, out.stdout, out.stderr[-2000:])


def test_once_says_each_key_the_first_time_only():
    """``utils.Once``, the one 'warn once per process' of the HLSS split
    warning and of open_clip's random-initialisation warning: true for a
    key's first ask only, each key on its own, each instance its own."""
    from openselfsup.utils import Once
    said, other = Once(), Once()
    asks = [('a.json', 'x'), ('a.json', 'x'), ('a.json', 'y'),
            ('a.json', 'x'), ('b.json', 'x')]
    seen = []  # the reference: a key is new until it has been asked
    want = []
    for key in asks:
        want.append(key not in seen)
        seen.append(key)
    assert [said(key) for key in asks] == want == \
        [True, False, True, False, True]
    assert other(('a.json', 'x'))  # another instance: another record


def test_config_sha1_of_a_set_is_the_same_in_every_process():
    """A set in a config section (``levels={'patient', 'slide'}``) was
    hashed by its repr, whose order follows the process's string hashes
    (PYTHONHASHSEED): the same model's ``model_config_sha1`` differed from
    one knn_eval.py run to the next, its own baseline refused as another
    model's (and a balance sweep's record of the value differed too). Its
    elements in sorted order: one digest in every process, that of the
    set's elements written in sorted order here."""
    import subprocess
    import sys

    from openselfsup.utils import config_sha1, plain_value
    code = ('from openselfsup.utils.fingerprint import config_sha1; '
            "print(config_sha1(dict(type='X', levels={'patient', 'slide', "
            "'patch', 'tumour', 'cell'}, fixed=frozenset({3, 1, 2}))))")
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))
    digests = {subprocess.run(
        [sys.executable, '-c', code], env=dict(env, PYTHONHASHSEED=seed),
        capture_output=True, text=True, check=True).stdout.strip()
        for seed in ('1', '2', '3')}
    want = config_sha1(dict(
        type='X', levels='set({"cell", "patch", "patient", "slide", '
        '"tumour"})', fixed='frozenset({1, 2, 3})'))
    assert digests == {want}
    assert plain_value({'b', 'a'}) == 'set({"a", "b"})'
    assert plain_value(set()) == 'set({})'


class _Box:
    """An object without its own repr: ``<_Box object at 0x...>``."""

    def __init__(self, **attrs):
        self.__dict__.update(attrs)


class _Slotted:
    """An object whose repr is an address and that has no ``vars()``."""
    __slots__ = ('a',)


def _scale(x, factor=1):
    return x * factor


def test_config_sha1_of_mixed_keys_and_objects_is_one_digest():
    """A dict of int and str keys made config_sha1 raise TypeError from
    json's sort (a traceback); an object whose repr is a memory address
    (an instance, a functools.partial of a function) was hashed by that
    address, so equal settings had another digest for each object (in
    each process: a baseline refused as another model's). Keys are sorted
    by their JSON text (the text written here by hand), an object is its
    type and its attributes (other attributes: another digest), and an
    object with neither a repr nor attributes is refused in one line
    naming the key."""
    import functools
    import hashlib

    from openselfsup.utils import InputError, config_sha1, plain_value

    def sha1(text):
        return hashlib.sha1(text.encode()).hexdigest()
    mixed = {1: 'a', 'b': 2, 'n': {'10': 'y', 2: 'x'}}
    assert config_sha1(mixed) == sha1(
        '{"1": "a", "b": 2, "n": {"10": "y", "2": "x"}}')
    assert config_sha1({'n': {2: 'x', '10': 'y'}, 'b': 2, 1: 'a'}) == \
        config_sha1(mixed)
    # str keys only: the text json.dumps(sort_keys=True) wrote, as before
    plain = {'b': [1, {'y': None, 'x': 1.5}], 'a': True}
    assert config_sha1(plain) == sha1(json.dumps(plain, sort_keys=True))
    box = f'{__name__}._Box'
    assert plain_value(_Box(b=[1, 2], a=1)) == \
        f'{box}({{"a": 1, "b": [1, 2]}})'
    part = functools.partial(_scale, factor=2)
    assert plain_value(part) == (
        'functools.partial({"args": [], "func": "' + __name__ +
        '._scale", "keywords": {"factor": 2}})')
    # other objects of the same settings (kept: other addresses)
    same = [dict(act=functools.partial(_scale, factor=2),
                 box=_Box(a=1, b=[1, 2])) for _ in range(3)]
    digests = {config_sha1(node) for node in same}
    assert len(digests) == 1
    assert config_sha1(dict(act=functools.partial(_scale, factor=3),
                            box=_Box(a=1, b=[1, 2]))) not in digests
    assert config_sha1(dict(act=part, box=_Box(a=2, b=[1, 2]))) \
        not in digests
    with pytest.raises(InputError) as err:
        config_sha1(dict(backbone=dict(gen=_Slotted())), 'model')
    assert str(err.value) == (
        f'model.backbone.gen: a {__name__}._Slotted object has no '
        'fingerprint (its repr is a memory address, another in every '
        'process, and it has no attributes to read); give it as '
        'dict(type=...) or a plain value')


def test_files_sample_sha1_reads_a_spread_sample_not_the_names(tmp_path):
    """The digest of up to ``count`` files spread evenly over the list
    (first and last included): the same bytes under other names keep it,
    a changed byte in a sampled file changes it, a missing one is None."""
    import hashlib

    from openselfsup.utils import files_sample_sha1
    files = []
    for i in range(7):
        f = tmp_path / f'a{i}.png'
        f.write_bytes(bytes([i]) * 10)
        files.append(str(f))
    ref = hashlib.sha1()
    for i in (0, 3, 6):   # linspace(0, 6, 3)
        ref.update(f'{i}:'.encode())
        ref.update(hashlib.sha1(bytes([i]) * 10).hexdigest().encode())
    assert files_sample_sha1(files, count=3) == ref.hexdigest()
    moved = tmp_path / 'moved'
    moved.mkdir()
    copies = []
    for i, f in enumerate(files):
        c = moved / f'b{i}.png'
        c.write_bytes(open(f, 'rb').read())
        copies.append(str(c))
    assert files_sample_sha1(copies, count=3) == ref.hexdigest()
    with open(copies[1], 'wb') as f:   # not sampled
        f.write(b'other')
    assert files_sample_sha1(copies, count=3) == ref.hexdigest()
    with open(copies[3], 'wb') as f:   # sampled
        f.write(b'other')
    assert files_sample_sha1(copies, count=3) != ref.hexdigest()
    os.remove(copies[6])
    assert files_sample_sha1(copies, count=3) is None
    assert files_sample_sha1([], count=3) is None


def test_a_plot_holds_a_legend_wider_than_its_figure():
    """figure_png saves what is drawn: a legend wider than the figure (a
    one-domain low-shot summary's four columns in its 4 inches) was cut at
    the figure's edges."""
    import io

    from PIL import Image

    from openselfsup.utils.plot import figure_png, subplots
    fig, ax = subplots(figsize=(2, 1))
    for k in range(4):
        ax.plot([0, 1], [k, k], label=f'a rather long curve label {k}')
    legend = fig.legend(ncol=4, loc='lower center')
    fig.canvas.draw()
    need = legend.get_window_extent().width / fig.dpi * 100  # px at 100 dpi
    width = Image.open(io.BytesIO(figure_png(fig, dpi=100))).size[0]
    assert width >= need > 2 * 100


def test_a_figure_without_pyplot_is_the_png_pyplot_draws():
    """The plots are drawn on a Figure of the Agg canvas, not through
    pyplot (whose import the reporting commands paid): the same drawing
    made through ``pyplot.subplots`` and ``pyplot.get_cmap``, the way
    every plot was made before, gives the same PNG bytes (shared axes,
    error bars, a colormap's colours, a legend, a figure text, a figure
    size and dpi)."""
    import matplotlib

    from openselfsup.utils.plot import colormap, figure_png, subplots
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    def draw(make, cmap, dpi=90):
        fig, axes = make(1, 2, figsize=(5, 2.5), dpi=dpi, sharey=True,
                         squeeze=False)
        for i, ax in enumerate(axes[0]):
            ax.bar([0, 1, 2], [30 + 10 * i, 55, 80], 0.4,
                   yerr=[[5, 10, 2], [5, 4, 20]], color=cmap(i),
                   label=f'model {i}')
            ax.plot([0, 1, 2], [20, 60, 90], 'o-', color=cmap(i + 2))
            ax.set_title(f'panel {i}')
        fig.legend(ncol=2, loc='lower center')
        fig.text(0.01, 0.01, 'a note under the plot', fontsize=7)
        # the figure's own dpi shows only through a layout made at it (as
        # the balance sweep's plot, dpi=120 and tight_layout)
        fig.tight_layout()
        return figure_png(fig, dpi=100, title='same')

    ref = plt.subplots
    try:
        want = draw(ref, plt.get_cmap('tab10'))
    finally:
        plt.close('all')
    got = draw(subplots, colormap('tab10'))
    assert got[:8] == b'\x89PNG\r\n\x1a\n' and len(got) > 1000
    assert got == want
    # the comparison sees a change of one colour, and of the figure's dpi
    assert draw(subplots, colormap('tab20')) != want
    assert draw(subplots, colormap('tab10'), dpi=72) != want


def test_read_json_object_says_what_is_wrong_in_one_line(tmp_path):
    """The cross-modal annotation reader is load_json's, with its one-line
    refusals, and refuses a top level that is not a non-empty object."""
    from openselfsup.utils import InputError
    from openselfsup.utils.io import read_json_object
    path = tmp_path / 'ann.json'
    for text, says in ((None, 'annotation file not found: '),
                       ('{"a": ', 'not a readable annotation file'),
                       ('[1, 2]', 'expected a non-empty JSON object'),
                       ('{}', 'expected a non-empty JSON object')):
        if text is not None:
            path.write_text(text)
        with pytest.raises(InputError, match=says) as err:
            read_json_object(str(path))
        assert '\n' not in str(err.value)
    path.write_text('{"c1": {"label": 0}}')
    assert read_json_object(str(path)) == {'c1': {'label': 0}}


def test_check_replaceable_judges_each_file_of_a_set(tmp_path):
    """The one output check: a JSON with the command's keys is its own
    (its ``also`` files with it); a user's file, a report beside no JSON
    of the command's, and a folder in the way (a write failed there after
    the work) are refused in one line; a link is not judged; ``own``
    judges a file that is not JSON."""
    from openselfsup.utils import InputError
    from openselfsup.utils.io import check_replaceable
    out, md = tmp_path / 'r.json', tmp_path / 'r.md'

    def refused(says, **kw):
        with pytest.raises(InputError) as err:
            check_replaceable(str(out), ('table',), 'a summary', **kw)
        assert str(err.value) == says

    check_replaceable(str(out), ('table',), 'a summary', also=(str(md),))
    md.write_text('my notes')  # beside no JSON of ours
    refused(f'{md}: exists and is not a summary; give another --output or '
            'delete it first', also=(str(md),))
    out.write_text(json.dumps({'table': 1}))  # ours: both replaceable
    check_replaceable(str(out), ('table',), 'a summary', also=(str(md),))
    out.write_text(json.dumps({'other': 1}))
    refused(f'{out}: exists and is not a summary; pass --out-dir to write '
            'elsewhere, or move it away first', also=(str(md),),
            flag='--out-dir', given=False)
    os.remove(out)
    os.remove(md)
    md.mkdir()
    refused(f'{md}: is a folder; give another --output or delete it first',
            also=(str(md),))
    os.rmdir(md)
    os.symlink(tmp_path / 'elsewhere.md', md)  # a link: replaced, not judged
    check_replaceable(str(out), ('table',), 'a summary', also=(str(md),))
    out.write_bytes(b'\x00weights')
    check_replaceable(str(out), (), 'weights', own=lambda: True)
    refused(f'{out}: exists and is not a summary; give another --output or '
            'delete it first', own=lambda: False)


def test_a_file_output_ending_in_a_separator_is_refused_first(tmp_path):
    """``--output out/r.json/`` (or ``out/``) passed the up-front checks;
    the rename at the end failed, a NotADirectoryError traceback after the
    work, with ``out/`` made. Refused in one line, nothing made."""
    from openselfsup.utils import (InputError, atomic_path, check_writable,
                                   save_json)
    for path in (f'{tmp_path}/new/r.json/', f'{tmp_path}/new/',
                 f'{tmp_path}/r.json/'):
        line = (f"{path}: ends in '/', a folder's name; give a file name "
                '(nothing written)')
        with pytest.raises(InputError) as info:
            check_writable(path)
        assert str(info.value) == line
        with pytest.raises(InputError) as info:
            save_json(path, {'a': 1})
        assert str(info.value) == line
        with pytest.raises(InputError):
            with atomic_path(path):
                raise AssertionError('not reached')
    assert os.listdir(tmp_path) == []


def test_a_path_not_found_says_what_it_may_have_meant(tmp_path,
                                                     monkeypatch):
    """From another folder, a relative path said only 'not found' (and the
    default workdir 'holds no features of any model (--workdir?)'); a
    file's path ending in '/' said 'not found' of a file that is there.
    The line says what a relative path is taken against and where the
    checkout holds it; and the file without the '/'."""
    from openselfsup.config import load_config
    from openselfsup.lowshot import paths
    from openselfsup.utils import InputError, check_file, io
    checkout = tmp_path / 'checkout'
    (checkout / 'configs').mkdir(parents=True)
    (checkout / 'configs' / 'a.py').write_text('x = 1\n')
    (checkout / 'wsi_workdir' / 'workdir').mkdir(parents=True)
    monkeypatch.setattr(io, 'REPO_ROOT', str(checkout))
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with pytest.raises(InputError) as info:
        load_config('configs/a.py')
    assert str(info.value) == (
        f'configs/a.py: config file not found (relative to the current '
        f'folder {elsewhere}; the checkout has {checkout}/configs/a.py: '
        f'run from {checkout}, or give that path)')
    with pytest.raises(InputError) as info:
        check_file('b.pth', 'checkpoint')
    assert str(info.value) == ('b.pth: checkpoint not found (relative to '
                               f'the current folder {elsewhere})')
    assert paths.workdir_nearby('wsi_workdir/workdir', 'extracted_feats',
                                'features') == (
        f'; wsi_workdir/workdir: relative to the current folder '
        f'{elsewhere}; the checkout has {checkout}/wsi_workdir/workdir: run '
        f'from {checkout}, or give that path')
    # from the checkout itself, or with an absolute path: no note
    monkeypatch.chdir(checkout)
    with pytest.raises(InputError) as info:
        load_config('configs/b.py')
    assert str(info.value) == ('configs/b.py: config file not found '
                               f'(relative to the current folder {checkout})')
    with pytest.raises(InputError) as info:
        check_file(str(elsewhere / 'b.pth'), 'checkpoint')
    assert str(info.value) == f'{elsewhere}/b.pth: checkpoint not found'
    # a trailing '/' on a file that is there
    for given in ('configs/a.py/', f'{checkout}/configs/a.py/'):
        with pytest.raises(InputError) as info:
            load_config(given)
        assert str(info.value) == (
            f'{given}: config file not found ({given[:-1]} is a file: drop '
            "the '/' at the end)")
    # the current folder deleted under the command: os.getcwd() raised
    # FileNotFoundError, a traceback in place of the 'not found' line
    gone = tmp_path / 'gone'
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    with pytest.raises(InputError) as info:
        check_file('b.pth', 'checkpoint')
    assert str(info.value) == ('b.pth: checkpoint not found (relative to '
                               'the current folder, which no longer exists)')


def test_a_path_not_found_names_a_close_name_beside_it(tmp_path,
                                                      monkeypatch):
    """A typo in a path (`..._ep200_al.py` for `_all.py`, `iter_30.pth` for
    the run's `iter_300.pth`) said only 'not found'. The line names the
    closest file of the same extension in the folder, where one is close;
    a name nothing resembles gets no guess."""
    from openselfsup.config import load_config
    from openselfsup.utils import InputError, check_file
    (tmp_path / 'configs').mkdir()
    (tmp_path / 'configs' / 'r18_bs256_ep200_all.py').write_text('x = 1\n')
    (tmp_path / 'configs' / 'r18_bs256_ep200_all.txt').write_text('')
    run = tmp_path / 'work'
    run.mkdir()
    (run / 'iter_300.pth').write_bytes(b'')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as info:
        load_config('configs/r18_bs256_ep200_al.py')
    assert str(info.value) == (
        'configs/r18_bs256_ep200_al.py: config file not found (relative to '
        f'the current folder {tmp_path}; did you mean '
        'configs/r18_bs256_ep200_all.py?)')
    with pytest.raises(InputError) as info:
        check_file(str(run / 'iter_30.pth'), 'checkpoint')
    assert str(info.value) == (f'{run}/iter_30.pth: checkpoint not found '
                               f'(did you mean {run}/iter_300.pth?)')
    with pytest.raises(InputError) as info:
        check_file(str(run / 'epoch_200.pth'), 'checkpoint')
    assert str(info.value) == f'{run}/epoch_200.pth: checkpoint not found'


def test_folder_sha1_reads_linked_folders_and_links_to_nothing(tmp_path):
    """A model folder's digest against one made by hand from its files'
    SHA-1s: a linked subfolder (a sentence-transformers ``1_Pooling``
    linked from elsewhere) counts by its files, so another pooling saved
    there is another folder; a link back up (a loop) ends; a link to
    nothing counts by its target, no traceback."""
    import hashlib

    from openselfsup.utils.fingerprint import file_sha1, folder_sha1
    shared = tmp_path / 'shared_pool'
    shared.mkdir()
    (shared / 'config.json').write_text('{"pooling_mode_mean_tokens": true}')
    model = tmp_path / 'model'
    model.mkdir()
    (model / 'weights.bin').write_bytes(b'w' * 10)
    (model / '1_Pooling').symlink_to(shared, target_is_directory=True)
    (model / 'loop').mkdir()
    (model / 'loop' / 'up').symlink_to(model, target_is_directory=True)
    (model / 'pytorch_model.bin').symlink_to(tmp_path / 'gone')

    def by_hand():
        h = hashlib.sha1()
        for rel, what in [
                ('1_Pooling/config.json',
                 file_sha1(shared / 'config.json')),
                ('pytorch_model.bin', f'link to {tmp_path / "gone"}'),
                ('weights.bin', file_sha1(model / 'weights.bin'))]:
            h.update(f'{rel}\0{what}\n'.encode())
        return h.hexdigest()

    before = folder_sha1(str(model))
    assert before == by_hand()
    (shared / 'config.json').write_text('{"pooling_mode_cls_token": true}')
    assert folder_sha1(str(model)) == by_hand() != before


def test_folder_sha1_links_that_cannot_be_followed(tmp_path):
    """A link that loops onto itself (``x -> x``, errno ELOOP) or points
    through a file (``y -> weights.bin/y``, ENOTDIR) reads nothing, as a
    link to nothing: it counts by its target (a digest made by hand from
    hashlib), twice in a row (the kept digest), no traceback (before, the
    kept digest's signature stat'ed it and raised OSError)."""
    import hashlib

    from openselfsup.utils.fingerprint import folder_sha1
    model = tmp_path / 'model'
    model.mkdir()
    (model / 'weights.bin').write_bytes(b'w' * 10)
    (model / 'x').symlink_to('x')
    (model / 'y').symlink_to('weights.bin/y')
    h = hashlib.sha1()
    for rel, what in [('weights.bin', hashlib.sha1(b'w' * 10).hexdigest()),
                      ('x', 'link to x'), ('y', 'link to weights.bin/y')]:
        h.update(f'{rel}\0{what}\n'.encode())
    assert folder_sha1(str(model)) == h.hexdigest()
    assert folder_sha1(str(model)) == h.hexdigest()


def test_folder_sha1_reads_a_folder_once_per_version(tmp_path, monkeypatch):
    """An HLSS model's three TextInitHeads each check the text encoder
    folder (``text_encoder_identity``): the folder's files are read once in
    the process, not three times; a file rewritten with the same size
    afterwards (its times set back as they were: the status change time
    still moves) gives the new digest, and so does one rewritten just
    after a call (within the file system's time resolution), never the
    kept one."""
    import os
    import time

    from openselfsup.models.heads.attribute_heads import text_encoder_identity
    from openselfsup.utils import fingerprint, once
    folder = tmp_path / 'text'
    (folder / '1_Pooling').mkdir(parents=True)
    (folder / 'model.safetensors').write_bytes(b'a' * 64)
    (folder / 'config.json').write_text('{"hidden_size": 8}')
    (folder / '1_Pooling' / 'config.json').write_text('{"mean": true}')
    # a folder saved a while ago; the file system here keeps ns times
    monkeypatch.setattr(once, 'RECENT_NS', 10 ** 8, raising=False)
    time.sleep(0.15)
    reads = []
    real = fingerprint._file_digest
    monkeypatch.setattr(fingerprint, '_file_digest',
                        lambda path, *a, **k: reads.append(path) or
                        real(path, *a, **k))
    cfg = dict(type='SentenceTransformerText', path=str(folder))
    ids = [text_encoder_identity(cfg) for _ in range(3)]
    assert ids[0] == ids[1] == ids[2]
    assert ids[0]['path']['sha1'] == folder_by_hand(folder)
    assert len(reads) == 3, reads  # each file once
    weights = folder / 'model.safetensors'
    st = os.stat(weights)
    weights.write_bytes(b'b' * 64)
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert os.stat(weights).st_mtime_ns == st.st_mtime_ns
    new = fingerprint.folder_sha1(str(folder))
    assert new == folder_by_hand(folder) != ids[0]['path']['sha1']
    weights.write_bytes(b'c' * 64)  # at once: within the time resolution
    assert fingerprint.folder_sha1(str(folder)) == folder_by_hand(folder)
    assert fingerprint.folder_sha1(str(folder)) != new


def test_a_folder_hashed_by_hlss_and_the_sweep_is_read_once(tmp_path,
                                                            monkeypatch):
    """An HLSS build (``text_encoder_identity``: ``folder_sha1(path)``)
    and the balance sweep's records (``named_file_digests`` with
    ``file_sha1_kept``) hash one text encoder folder: in one process its
    files are read once, whichever comes first (before, each kept its own
    digest of the folder, by ``file_sha1`` and ``file_sha1_kept``, and
    every file was read twice), to the digest made by hand."""
    from openselfsup.config import named_file_digests
    from openselfsup.models.heads.attribute_heads import text_encoder_identity
    from openselfsup.utils import fingerprint, once
    folder = tmp_path / 'text'
    (folder / '1_Pooling').mkdir(parents=True)
    (folder / 'model.safetensors').write_bytes(b'a' * 64)
    (folder / 'config.json').write_text('{"hidden_size": 8}')
    (folder / '1_Pooling' / 'config.json').write_text('{"mean": true}')
    monkeypatch.setattr(once, 'RECENT_NS', 10 ** 8)
    time.sleep(0.15)  # saved a while ago
    reads = []
    real = fingerprint._file_digest
    monkeypatch.setattr(fingerprint, '_file_digest',
                        lambda path, *a, **k: reads.append(path) or
                        real(path, *a, **k))

    def hlss():
        return text_encoder_identity(dict(type='SentenceTransformerText',
                                          path=str(folder)))['path']['sha1']

    def sweep():
        return named_file_digests(
            dict(model=dict(text_encoder=dict(path=str(folder)))),
            digest=fingerprint.file_sha1_kept)['model.text_encoder.path']

    for first, then in ((hlss, sweep), (sweep, hlss)):
        fingerprint._KEPT.clear()
        reads.clear()
        assert first() == then() == folder_by_hand(folder)
        assert sorted(reads) == sorted(
            str(p) for p in folder.rglob('*') if p.is_file()), reads


@pytest.mark.parametrize('ahead', [0, 60, -60])
def test_kept_digests_judge_recent_files_by_the_file_systems_clock(
        tmp_path, monkeypatch, ahead):
    """A file changed less than RECENT_NS before a call may be rewritten
    with the same size and times within the file system's time resolution
    (a clock tick; 1-2 s on ext3 / HFS+ / FAT), which no signature shows:
    its digest is not kept, each call reads it again; once older than
    RECENT_NS, one read per file (``ahead=0``). Whether a file was changed
    less than RECENT_NS before a call is judged by the clock of the file
    system that stamps its times (an NFS server's), read as the time of a
    file created there, not by this process's: with the process clock a minute ahead, files written just
    now were taken as old and their digest kept (a same-size rewrite
    within the time resolution would keep it); a minute behind, files
    older than RECENT_NS were read again on every call. No file is left
    in the folder. Where no file can be created (in the temporary folder
    nor in the folder), the file system's clock is not known: files
    changed less than UNKNOWN_CLOCK_NS (an hour) before by this process's
    clock are read on each call, older ones once (before, the process
    clock was taken as the file system's without a word: a minute ahead,
    the digests of files just written were kept). Reads counted against
    the files written here."""
    import hashlib
    from types import SimpleNamespace

    from openselfsup.utils import fingerprint, once
    folder = tmp_path / 'text'
    folder.mkdir()
    for name in ('config.json', 'model.safetensors'):
        (folder / name).write_bytes(name.encode())
    reads = []
    real = fingerprint._file_digest
    monkeypatch.setattr(fingerprint, '_file_digest',
                        lambda path, *a, **k: reads.append(path) or
                        real(path, *a, **k))
    # every call of the first three within RECENT_NS of the writes, at
    # half the minute the process clock is ahead (1 s: a machine loaded by
    # other jobs ran the three past it, and the last ones kept the
    # digests); then a tenth of a second, which a wait of 0.15 s passes
    monkeypatch.setattr(once, 'RECENT_NS', 30 * 10 ** 9)
    process_ns = time.time_ns
    monkeypatch.setattr(time, 'time_ns',
                        lambda: process_ns() + ahead * 10 ** 9)

    def calls():
        reads.clear()
        for _ in range(3):
            assert fingerprint.folder_sha1(str(folder)) == \
                folder_by_hand(folder)
            assert fingerprint.file_sha1_kept(str(folder / 'config.json')) \
                == hashlib.sha1(b'config.json').hexdigest()
        assert sorted(os.listdir(folder)) == ['config.json',
                                              'model.safetensors']
        return len(reads)

    assert calls() == 3 * 3  # written just now: read on each call
    monkeypatch.setattr(once, 'RECENT_NS', 10 ** 8)
    time.sleep(0.15)
    assert calls() == 3  # older than RECENT_NS: read once

    # no file can be made there nor in the temporary folder: no clock
    import tempfile

    def refused(*args, **kwargs):
        raise PermissionError(13, 'Permission denied')
    monkeypatch.setattr(once, 'tempfile', SimpleNamespace(
        mkstemp=refused, gettempdir=tempfile.gettempdir))
    fingerprint._KEPT.clear()
    for name in ('config.json', 'model.safetensors'):  # just written
        (folder / name).write_bytes(name.encode())
    assert calls() == 3 * 3
    time.sleep(0.15)
    assert calls() == 3 * 3  # older than RECENT_NS, not than the margin
    # an hour later (a shared folder's files, changed long before): once
    # (their status change time moves with any utime, so the clock moves)
    monkeypatch.setattr(time, 'time_ns', lambda: process_ns() + ahead *
                        10 ** 9 + once.UNKNOWN_CLOCK_NS + 120 * 10 ** 9)
    assert calls() == 3


@pytest.mark.parametrize('where', ['temporary folder', 'folder'])
def test_the_clock_probe_leaves_the_folder_as_it_was(tmp_path, monkeypatch,
                                                     where):
    """The file system's clock is read as the time of a file created and
    removed: in the folder hashed, that left it modified now (its
    modification time moved on each probe: a folder of a model saved a
    year ago read as changed today). It is made in the temporary folder
    where that is on the folder's file system (as here), else in the
    folder, whose modification and access times are set back; the time
    read is the new file's, compared with the times of the files written
    before it (the reference: they are no later)."""
    import tempfile
    from types import SimpleNamespace

    from openselfsup.utils import fingerprint, once
    folder = tmp_path / 'text'
    folder.mkdir()
    (folder / 'config.json').write_text('{}')
    written = os.stat(folder / 'config.json').st_mtime_ns
    old = (10 ** 18, 9 * 10 ** 17)  # atime, mtime: years ago
    os.utime(folder, ns=old)
    made = []
    real = tempfile.mkstemp

    def mkstemp(*args, **kwargs):
        made.append(kwargs['dir'])
        return real(*args, **kwargs)
    scratch = tempfile.gettempdir() if where == 'temporary folder' \
        else str(tmp_path / 'no temporary folder')
    monkeypatch.setattr(once, 'tempfile', SimpleNamespace(
        mkstemp=mkstemp, gettempdir=lambda: scratch))
    now = once._file_system_now(str(folder))
    assert made == [scratch if where == 'temporary folder' else str(folder)]
    assert now >= written
    st = os.stat(folder)
    assert (st.st_atime_ns, st.st_mtime_ns) == old
    # (reading the folder may set its access time: relatime)
    assert os.listdir(folder) == ['config.json']
    assert fingerprint.folder_sha1(str(folder)) == folder_by_hand(folder)
    assert os.stat(folder).st_mtime_ns == old[1]


def test_text_tower_weights_digest_follows_a_same_size_copy(tmp_path):
    """A text tower's weights file (``OpenCLIPText`` ``pretrained``) is
    hashed once per version in a process; another file of the same size
    copied over it with its times (``cp -p``) is another version: its
    SHA-256 (hashlib's, the reference) is recorded, not the kept one
    (before, the digest was kept by size and modification time alone)."""
    import hashlib
    import os
    import shutil

    from openselfsup.models.heads.attribute_heads import text_encoder_identity
    weights = tmp_path / 'rn50.pt'
    weights.write_bytes(b'a' * 256)
    other = tmp_path / 'other.pt'
    other.write_bytes(b'b' * 256)
    os.utime(other, ns=(os.stat(weights).st_atime_ns,
                        os.stat(weights).st_mtime_ns))
    cfg = dict(type='OpenCLIPText', pretrained=str(weights))
    first = text_encoder_identity(cfg)['pretrained']['sha256']
    assert first == hashlib.sha256(b'a' * 256).hexdigest()
    shutil.copy2(other, weights)  # cp -p: the bytes and the times
    assert os.stat(weights).st_mtime_ns == os.stat(other).st_mtime_ns
    assert text_encoder_identity(cfg)['pretrained']['sha256'] == \
        hashlib.sha256(b'b' * 256).hexdigest()


@pytest.mark.parametrize('digest', ['list_entries_sha1',
                                    'json_content_sha1', 'file_sha1_kept'])
def test_a_kept_digest_of_a_link_to_nothing_names_the_link(tmp_path,
                                                           digest):
    """A kept digest (file_digest_kept: a list's entries, a JSON file's
    value, a file's bytes) of a link to nothing says the path it was
    given, the link, not the link's target (it read the file by its real
    path, and the reader's line named the target the user never wrote).
    Reference: the link's path and its target, as made here."""
    from openselfsup.datasets.list_files import list_entries_sha1
    from openselfsup.utils import InputError, fingerprint
    link = tmp_path / 'train.txt'
    target = tmp_path / 'gone' / 'train.txt'
    os.symlink(target, link)
    call, error = {
        'list_entries_sha1': (list_entries_sha1, InputError),
        'json_content_sha1': (fingerprint.json_content_sha1,
                              FileNotFoundError),
        'file_sha1_kept': (fingerprint.file_sha1_kept,
                           FileNotFoundError)}[digest]
    with pytest.raises(error) as raised:
        call(str(link))
    line = str(raised.value)
    assert str(link) in line and str(target) not in line, line


def test_read_once_reads_a_file_once_per_version_within_a_scope(
        tmp_path, monkeypatch):
    """utils.read_once, the one 'each input file read once per command'
    of the kNN commands' metadata and the low-shot report's inputs,
    against a reader that counts its calls by hand: each call reads
    outside a scope; within one, an unchanged file is read once, again
    once written over (another size and time; the same size and times
    through a rename, another inode), each kind of reading on its own; a
    scope within another shares the outer's; a new scope reads again; a
    reader that raises, or a file that is not there, keeps nothing. The
    files are taken as changed long enough before (the file system's
    clock a minute ahead): a file changed just before its read is
    another test's."""
    from _io_helpers import written_long_ago

    from openselfsup.utils import read_once, reading_once
    written_long_ago(monkeypatch)
    path = tmp_path / 'a.txt'
    path.write_text('one')
    calls = []

    def reader(p):
        calls.append(p)
        with open(p) as f:
            return f.read()

    def read(kind='text'):
        return read_once(kind, str(path), reader)

    assert [read(), read()] == ['one', 'one'] and len(calls) == 2
    with reading_once():
        assert [read(), read(), read()] == ['one'] * 3 and len(calls) == 3
        assert read('other kind') == 'one' and len(calls) == 4
        with reading_once():  # shares the outer's
            assert read() == 'one' and len(calls) == 4
        assert read() == 'one' and len(calls) == 4
        st = os.stat(path)
        path.write_text('three')  # another size
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))
        assert [read(), read()] == ['three', 'three'] and len(calls) == 5
        # the same size and times, written by a rename (a new inode)
        st = os.stat(path)
        other = tmp_path / 'b.txt'
        other.write_text('THREE')
        os.utime(other, ns=(st.st_atime_ns, st.st_mtime_ns))
        os.replace(other, path)
        assert os.stat(path).st_size == st.st_size
        assert [read(), read()] == ['THREE', 'THREE'] and len(calls) == 6
    with reading_once():  # another command: read again
        assert [read(), read()] == ['THREE', 'THREE'] and len(calls) == 7
        missing = str(tmp_path / 'missing.txt')
        for _ in range(2):
            with pytest.raises(FileNotFoundError):
                read_once('text', missing, reader)
        assert len(calls) == 9

        def failing(p):
            calls.append(p)
            raise ValueError('unreadable')
        for _ in range(2):
            with pytest.raises(ValueError):
                read_once('failing', str(path), failing)
        assert len(calls) == 11
    with pytest.raises(RuntimeError):  # left by an exception
        with reading_once():
            assert read() == 'THREE' and len(calls) == 12
            raise RuntimeError
    assert read() == 'THREE' and len(calls) == 13


def test_read_once_keeps_no_read_of_a_file_changed_just_before_it(
        tmp_path, monkeypatch):
    """Within a ``reading_once`` scope, a file changed less than RECENT_NS
    before its read (by the file system's clock) may be rewritten in
    place at the same size within the file system's time resolution and
    keep all its times: what was read of it is not kept, the next call
    reads the file as it is (before, the first read was given again: a
    training run's start trained the fold its data check had parsed and
    recorded the fold rewritten since); once older than RECENT_NS, one
    read, as the kept digests (one rule, ``once.settled``). The file
    system's clock and the file's times held (os.stat) by hand; the
    reference: the file's contents as written."""
    from _io_helpers import held_times

    from openselfsup.utils import once, read_once, reading_once
    path = tmp_path / 'fold.json'
    path.write_text('one')
    written = os.stat(path)
    held_times(monkeypatch, path)
    clock = [max(written.st_mtime_ns, written.st_ctime_ns) + 1]
    monkeypatch.setattr(once, '_file_system_now', lambda folder: clock[0])
    calls = []

    def read():
        return read_once('text', str(path),
                         lambda p: calls.append(p) or open(p).read())

    with reading_once():
        assert read() == 'one' and len(calls) == 1
        path.write_text('two')  # in place, the same size and times
        assert os.stat(path).st_mtime_ns == written.st_mtime_ns
        assert read() == 'two' and len(calls) == 2
        assert read() == 'two' and len(calls) == 3  # still recent
        clock[0] += once.RECENT_NS  # RECENT_NS later: kept
        assert [read(), read()] == ['two', 'two'] and len(calls) == 4


def test_a_kept_file_digest_resolves_its_path_once(tmp_path, monkeypatch):
    """``file_digest_kept`` (the lambda sweep's digests of every run's
    lists and checkpoints, a training run's record of its data files)
    takes the real path of the file once per call, where it took it twice
    (``_file_kept`` again), on a first call and on a kept one alike; the
    digest is the link's target's (hashlib's, the reference), also when
    kept. Counted through ``os.path.realpath``."""
    import hashlib

    from _io_helpers import written_long_ago

    from openselfsup.utils import fingerprint
    written_long_ago(monkeypatch)
    target = tmp_path / 'weights.bin'
    target.write_bytes(b'w' * 32)
    link = tmp_path / 'link.bin'
    os.symlink(target, link)
    resolved, real = [], os.path.realpath
    monkeypatch.setattr(os.path, 'realpath',
                        lambda p, *a, **k: resolved.append(p) or
                        real(p, *a, **k))
    reads = []

    def digest(p):
        reads.append(p)
        with open(p, 'rb') as f:
            return hashlib.sha1(f.read()).hexdigest()
    for _ in range(2):
        resolved.clear()
        assert fingerprint.file_digest_kept(str(link), digest) == \
            hashlib.sha1(b'w' * 32).hexdigest()
        assert resolved == [str(link)], resolved
    assert reads == [str(target)]  # kept on the second call


def test_the_device_check_takes_the_strings_torch_device_takes(monkeypatch):
    """``check_device`` (``sweep.py --check``, without making the device)
    passes a ``cuda:N`` string exactly where ``torch.device`` takes it, on
    a machine torch is told has 12 GPUs (r142: ``cuda:00`` and a digit of
    another script passed the check and failed after the sweep loaded its
    inputs); ``cpu:0``, which torch takes, stays refused."""
    import torch

    from openselfsup.utils import InputError
    from openselfsup.utils.device import check_device, resolve_device
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: 12)
    for text in ('cpu', 'cuda', 'cuda:0', 'cuda:1', 'cuda:10', 'cuda:00',
                 'cuda:01', 'cuda:', 'cuda:-1', 'cuda:x', 'cuda:\u0663',
                 'cuda: 1', 'cuda:1 ', ' cuda', 'CPU', 'cuda:1.0'):
        try:
            torch.device(text)
            takes = True
        except RuntimeError:
            takes = False
        try:
            assert check_device(text) == text
            passed = True
        except InputError as exc:
            assert str(exc).startswith('--device must be cpu, cuda or '
                                       f'cuda:N, got {text!r}'), exc
            passed = False
        assert passed == takes, text
        if passed:
            assert resolve_device(text) == torch.device(text)
    with pytest.raises(InputError, match='refused|must be'):
        check_device('cpu:0')
    with pytest.raises(InputError, match='12 GPU'):
        check_device('cuda:12')


def test_load_json_of_a_folder_says_it_is_a_folder(tmp_path):
    """A folder given where a JSON file is read is one line naming the
    path once and that it is a folder (it was 'not a readable JSON file
    (IsADirectoryError: [Errno 21] Is a directory: ...)', the path
    twice), as the list and config readers say it."""
    from openselfsup.utils import InputError, load_json
    folder = tmp_path / 'results.json'
    folder.mkdir()
    with pytest.raises(InputError) as err:
        load_json(str(folder), 'result file')
    assert str(err.value) == f'{folder}: is a folder, not a result file'
    # review r156: 'not a annotation file'
    with pytest.raises(InputError) as err:
        load_json(str(folder), 'annotation file')
    assert str(err.value) == f'{folder}: is a folder, not an annotation file'


def _cleaned_up_by_hand(body, clean):
    """The reference: what ``AtomicRunner.train`` wrote by hand before
    ``cleaned_up`` (h298)."""
    try:
        out = body()
    except BaseException:
        try:
            clean()
        except Exception:  # noqa: BLE001
            pass
        raise
    clean()
    return out


@pytest.mark.parametrize('clean_raises', [None, OSError, StopIteration,
                                          KeyboardInterrupt])
@pytest.mark.parametrize('body_raises', [None, ValueError, StopIteration,
                                         KeyboardInterrupt, SystemExit])
def test_cleaned_up_ends_as_the_hand_written_clean_up(body_raises,
                                                      clean_raises):
    """``cleaned_up`` raises what the hand-written try / except it
    replaced raised, the clean-up called once, for every pair of
    outcomes (a generator's context manager turned a clean-up's
    StopIteration after the body into a RuntimeError, r185)."""
    from openselfsup.utils.errors import cleaned_up

    def outcome(run):
        calls = []

        def body():
            if body_raises:
                raise body_raises('body')
            return 'done'

        def clean():
            calls.append(1)
            if clean_raises:
                raise clean_raises('clean')
        try:
            got = run(body, clean)
        except BaseException as exc:  # noqa: BLE001 (compared)
            got = (type(exc), str(exc))
        return got, len(calls)

    def with_helper(body, clean):
        with cleaned_up(clean):
            return body()
    assert outcome(with_helper) == outcome(_cleaned_up_by_hand)
