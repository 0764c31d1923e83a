"""Atomic output files: write to a temporary file beside the target, then rename.

An interrupted run never leaves a half-written file that a later step would
trust: either the old file (or none) is there, or the complete new one.

Temporary files are named ``.<target>.<pid>@<host>.<random>.tmp<ext>``
(a target name too long for that within the file system's name limit is
cut short there and ends in a digest of the whole name and the extension:
:func:`_temporary_stem`); the next write of the same target removes those
of this host whose process is gone (a killed writer's leftovers), and
another host's (a work dir on a shared file system: a pid there means
nothing here) only once untouched for an hour
(:func:`remove_stale_temporaries`). With ``exclusive=True`` the finished
file is moved in only if the target is still absent (``os.link``, atomic
on POSIX file systems): of two runs that make the same file at once,
exactly one wins and the other gets :class:`FileExistsError`.

Files that belong together (a list set, a report's Markdown, JSON and plot,
features with their labels and provenance) go through :func:`atomic_paths`:
every one is written to its temporary first and they are moved in together
at the end, so an interruption while they are written leaves the old set
whole, never new files beside old ones. Their renames run under
:func:`signals_held`, which other steps that must not stop half-way (the
runner's clean-up of a failed start) use too.

Files that several runs write alike (the low-shot workdir's labels, shared
by every model) are checked and written in turn with :func:`locked`: a
check of what is on disk still holds when the files move in. With
``busy`` it keeps one run at a time in a folder (a training work dir, a
sweep's), the process turned away told who holds it (pid@host and since
when, written into the lock file).
"""
import contextlib
import errno
import hashlib
import json
import math
import os
import re
import signal
import socket
import tempfile
import threading
import time
from contextlib import contextmanager
from typing import (Any, Callable, Dict, Iterator, List, Optional, Sequence,
                    Tuple, Union)

import numpy as np

from .errors import InputError
from .once import read_once


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _host() -> str:
    """This machine's name as temporaries record it: the host name with
    every character but letters, digits, ``_`` and ``-`` made ``_``, at
    most 63 of them."""
    return re.sub(r'[^A-Za-z0-9_-]', '_', socket.gethostname())[:63] or '_'


def _cannot_write(path: str, exc: OSError) -> InputError:
    """The one line for an output ``path`` the OS refused (``exc``)."""
    return InputError(f'{path}: cannot write here ({exc.strerror or exc})')


#: another host's temporary untouched for this long (seconds) is taken for
#: a dead writer's: a writer changes its file as it writes, and renames it
#: as soon as it is complete
ELSEWHERE_STALE_S = 3600


#: bytes of a temporary's name besides its target's name and extension:
#: ``.``, ``.<pid>`` (10 digits: any 32-bit pid), ``@<host>`` (63
#: characters at most, :func:`_host`), mkstemp's ``.<8 characters>`` and
#: ``.tmp``; the same for every writer, so that every writer and every
#: clean-up give one target the same stem whatever their pid and host
_TEMPORARY_OVERHEAD = 1 + 11 + 64 + 9 + 4

#: hex digits of the whole name that a cut-short stem ends in
_STEM_DIGEST = 16


def _name_max(directory: str) -> int:
    """The longest file name (bytes) in ``directory``: ``PC_NAME_MAX``
    where the system says, else 255."""
    try:
        return os.pathconf(directory, 'PC_NAME_MAX')
    except (AttributeError, ValueError, OSError):  # not POSIX; not known
        return 255


def _temporary_stem(base: str, directory: str) -> str:
    """What a temporary's name holds of the target's name ``base`` (in
    ``directory``): ``base`` itself, or, where a temporary named after it
    would be longer than the file system allows, its beginning, ``~``, a
    digest of all of it and its extension (``<dir>/*.pth`` still matches
    the temporaries of every ``.pth`` file). Two targets whose beginnings
    agree get different stems."""
    ext = os.path.splitext(base)[1]
    room = _name_max(directory) - _TEMPORARY_OVERHEAD - len(os.fsencode(ext))
    if len(os.fsencode(base)) <= room:
        return base
    digest = hashlib.sha256(os.fsencode(base)).hexdigest()[:_STEM_DIGEST]
    end = f'~{digest}{ext}'
    head = base[:max(room - len(end), 0)]
    while head and len(os.fsencode(head + end)) > room:  # multi-byte chars
        head = head[:-1]
    return head + end


def remove_stale_temporaries(path: str) -> int:
    """Remove temporary files of ``path`` left by writers that died.

    A temporary is removed when it was written on this host (the host name
    in it is this one's) by a process that is gone. Another host's (a work
    dir on a shared file system, or a container with its own pids: the pid
    means nothing here) is removed once untouched for
    :data:`ELSEWHERE_STALE_S` (a Slurm job requeued on another node after
    a kill during a save: that save's partial checkpoint), and left while
    younger (its writer may be writing it now). A name without a host
    (written before names recorded it) is judged by its pid alone, as then.
    A long target's temporaries are found by their cut-short name
    (:func:`_temporary_stem`), which no other target's shares.

    Args:
        path (str): the target file whose temporaries to look for; a ``*``
            in its name stands for any characters (``<dir>/*.pth``: the
            temporaries of every ``.pth`` file there).

    Returns:
        int: number of files removed.
    """
    return len(stale_temporaries_removed(path))


def stale_temporaries_removed(path: str, elsewhere: bool = True,
                              own: bool = False
                              ) -> List[Tuple[str, int, int]]:
    """:func:`remove_stale_temporaries`, returning ``(path, pid, bytes)``
    of each temporary removed (its writer's pid as its name records it,
    its size when removed), for a caller that says what it removed.
    ``elsewhere``: False leaves every other host's temporary, whatever
    its age (only this host can tell that a writer is gone). ``own``:
    True counts one of this host that names this process's pid as an
    earlier process's, gone (the pid reused: pid 1 of a container with a
    fixed host name), for a caller that has written none there and that
    no other run may write beside (a run's start, holding its work dir's
    lock, before its first save); False leaves it (this process may be
    writing it now)."""
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    if '*' not in base:
        base = _temporary_stem(base, directory)
    pattern = re.compile(re.escape(f'.{base}.').replace(r'\*', '.*')
                         + r'(\d+)(?:@([A-Za-z0-9_-]+))?\..*\.tmp')
    here = _host()
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    now = time.time()
    for name in names:
        m = pattern.match(name)
        if not m:
            continue
        full = os.path.join(directory, name)
        pid = int(m.group(1))
        if m.group(2) in (None, here):
            stale = own if pid == os.getpid() else not _pid_alive(pid)
        elif not elsewhere:
            stale = False
        else:
            try:
                stale = now - os.stat(full).st_mtime > ELSEWHERE_STALE_S
            except OSError:
                stale = False
        if stale:
            try:
                size = os.stat(full).st_size
                os.remove(full)
                removed.append((full, pid, size))
            except OSError:
                pass
    return removed


def _check_file_name(path: str) -> None:
    """Refuse a file's ``path`` that ends in a separator (``out/r.json/``,
    ``out/``): the rename onto it failed after the work, a traceback, with
    its folder made."""
    if path.endswith(tuple(s for s in (os.sep, os.altsep) if s)):
        raise InputError(f'{path}: ends in {path[-1]!r}, a folder\'s name; '
                         'give a file name (nothing written)')


def check_writable(path: str) -> None:
    """Fail early, with one line, if the file ``path`` cannot be written
    (:func:`check_writable_dir` of its directory; nothing is created).

    Raises:
        InputError: ``path`` is a folder or ends in a separator, or its
            directory cannot be created or written.
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        raise InputError(f'{path}: is a folder; give a file name')
    _check_file_name(path)
    check_writable_dir(os.path.dirname(os.path.abspath(os.fspath(path))))


def check_replaceable(path: str, keys: Sequence[str], what: str,
                      also: Sequence[str] = (),
                      flag: str = '--output', given: bool = True,
                      what_path: Optional[str] = None,
                      own: Optional[Callable[[], bool]] = None) -> None:
    """Refuse to write over a file this command did not write: an
    ``--output`` naming a user's own file (``notes.md``, ``paper.json``)
    replaced it without a word.

    ``path`` is the JSON the command writes; an existing one is its own when
    it reads as a JSON object holding every key of ``keys``. ``also`` are
    the files written in one set with it (a report's ``.md`` and ``.png``):
    an existing one is replaced only beside its own JSON. A symbolic link
    is not judged: the write replaces the link, not its target. ``flag``
    is the option the refusal says to change (``--out-dir`` of a command
    that names its files itself); ``given`` is false where the user gave
    none and ``path`` is the command's default (the line then says to pass
    one, not to give "another"). ``what_path`` is what ``path`` itself is
    when ``what`` names the set it describes (a feature set's provenance
    JSON), used when ``path`` is the file refused. ``own``, where given,
    judges instead of ``keys`` whether the existing files are the
    command's (a file that is not JSON: backbone weights).

    Raises:
        InputError: the first of ``path`` and ``also`` that is a folder,
            else that exists and is not the command's own.
    """
    def own_json() -> bool:
        data = json_object_or_none(path)
        return data is not None and all(k in data for k in keys)

    fix = (f'give another {flag} or delete it first' if given else
           f'pass {flag} to write elsewhere, or move it away first')
    # a folder in the way failed the write at the end, after the work
    # (a knn_<ckpt>.txt or report.md made as a folder)
    for p in (path, *also):
        if os.path.isdir(p) and not os.path.islink(p):
            raise InputError(f'{p}: is a folder; {fix}')
    # a symbolic link is replaced, its target left as it is: nothing lost
    existing = [p for p in (path, *also)
                if os.path.isfile(p) and not os.path.islink(p)]
    if existing and not (own or own_json)():
        if existing[0] == path and what_path:
            what = what_path
        raise InputError(f'{existing[0]}: exists and is not {what}; {fix}')


@contextmanager
def atomic_path(path: str, exclusive: bool = False) -> Iterator[str]:
    """Yield a temporary path beside ``path``; move it onto ``path`` on success.

    The temporary file keeps ``path``'s extension (numpy and torch look at it).
    If the body raises, the temporary file is removed and ``path`` is untouched.

    Args:
        path (str): the final file path. Its directory is created if missing.
        exclusive (bool): move the file in only if ``path`` does not exist
            yet; otherwise raise :class:`FileExistsError` (and remove the
            temporary file).

    Raises:
        InputError: the directory cannot be written, or the disk is full.
        FileExistsError: ``exclusive`` and ``path`` appeared meanwhile.
    """
    path = os.fspath(path)
    with _temporary(path) as tmp, _disk_errors(path):
        yield tmp
        # mkstemp creates 0600; give the result the mode a plain open() would
        os.chmod(tmp, 0o666 & ~_umask())
        _move_in(tmp, path, exclusive)


@contextmanager
def _disk_errors(path: str) -> Iterator[None]:
    """A full disk, a read-only or forbidden place while ``path`` is
    written: one :class:`InputError` line naming it."""
    try:
        yield
    except OSError as exc:
        if not isinstance(exc, FileExistsError) and exc.errno in (
                errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EROFS):
            raise InputError(f'{path}: cannot write ({exc.strerror})'
                             ) from None
        raise


@contextmanager
def signals_held(signals: Sequence[int] = (signal.SIGINT, signal.SIGTERM)
                 ) -> Iterator[None]:
    """Hold ``signals`` (SIGINT and SIGTERM) back for the body and act on
    them right after (Ctrl-C cannot stop a set of renames half-way). The
    handlers are swapped, not the signal mask: another thread (torch's,
    BLAS's) would take a masked signal for the process. A no-op outside the
    main thread, where handlers cannot be set."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: List[int] = []
    old = {}
    for sig in signals:
        handler = signal.getsignal(sig)
        if handler is None:  # set outside Python: left alone
            continue
        old[sig] = handler
        signal.signal(sig, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(caught):
            handler = old[sig]
            if callable(handler):
                handler(sig, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(sig)


@contextmanager
def atomic_paths(paths: Sequence[str]) -> Iterator[List[str]]:
    """:func:`atomic_path` for a set of files that belong together.

    Yields one temporary path per file (each beside its target, with its
    extension); only when the body has finished are they moved onto their
    targets, one after the other with Ctrl-C (SIGINT, SIGTERM) held back, so
    an interruption leaves either every old file or every new one (only a
    SIGKILL or a crash within those few renames can mix them). If the body
    raises, every temporary is removed and no target changes.

    Args:
        paths (sequence[str]): the final file paths, distinct.

    Raises:
        InputError: a directory cannot be written, or the disk is full.
    """
    paths = [os.fspath(p) for p in paths]
    if len({os.path.abspath(p) for p in paths}) != len(paths):
        raise ValueError(f'atomic_paths: a path given twice: {paths}')
    with contextlib.ExitStack() as stack:
        tmps = [stack.enter_context(_temporary(p)) for p in paths]
        yield tmps
        mode = 0o666 & ~_umask()
        with signals_held():
            for tmp in tmps:
                os.chmod(tmp, mode)
            for tmp, path in zip(tmps, paths):
                _move_in(tmp, path, exclusive=False)


@contextmanager
def _temporary(path: str) -> Iterator[str]:
    """A temporary file beside ``path`` (:func:`atomic_path`'s naming),
    removed on the way out if it is still there."""
    _check_file_name(path)  # before its folder is made
    directory = os.path.dirname(os.path.abspath(path))
    base = os.path.basename(path)
    _, ext = os.path.splitext(base)
    if os.path.isdir(path) and not os.path.islink(path):
        # the rename onto it failed at the end: a traceback, after the
        # files of the set before it had been moved in (a link to a
        # folder is replaced, its target kept)
        raise InputError(f'{path}: is a folder where a file goes; move it '
                         'away or delete it (nothing written)')
    try:
        os.makedirs(directory, exist_ok=True)
        if len(os.fsencode(base)) > _name_max(directory):
            # as the rename would say, but before anything is written
            raise OSError(errno.ENAMETOOLONG, os.strerror(errno.ENAMETOOLONG))
        remove_stale_temporaries(path)
        fd, tmp = tempfile.mkstemp(
            prefix=f'.{_temporary_stem(base, directory)}.{os.getpid()}'
                   f'@{_host()}.', suffix=f'.tmp{ext}', dir=directory)
    except OSError as exc:
        raise _cannot_write(path, exc) from None
    os.close(fd)
    try:
        yield tmp
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


#: errno of flock on a file system that has no such locks
_NO_FLOCK = frozenset(e for e in (getattr(errno, n, None) for n in (
    'ENOLCK', 'ENOSYS', 'EOPNOTSUPP', 'ENOTSUP')) if e is not None)


def lock_file(path: str) -> str:
    """The lock file :func:`locked` takes for ``path``:
    ``<dir>/.<name>.lock``."""
    path = os.fspath(path)
    return os.path.join(os.path.dirname(os.path.abspath(path)),
                        f'.{os.path.basename(path)}.lock')


@contextmanager
def locked(path: str, busy: Union[str, Callable[[str], str], None] = None
           ) -> Iterator[None]:
    """Run the body in turn with every other process that locks ``path``:
    an exclusive advisory lock (``fcntl.flock``) on ``.<name>.lock`` beside
    it, released when the body ends or the process dies. For a check of
    files on disk that must still hold when this process writes them (two
    runs writing one shared file), or, with ``busy``, for one run at a
    time in a folder. The lock file is removed at the end (a killed
    holder's is taken over by the next); a waiter that gets the lock of a
    file removed meanwhile opens the new one. Where ``fcntl`` is missing
    (Windows), or the file system has no ``flock`` (Lustre mounted
    ``noflock``: ENOSYS; NFS without its lock daemon: ENOLCK), the body
    runs unlocked. A lock file left by another user that this user may not
    open for writing is locked through a read-only descriptor, when the
    folder is writable to this user.

    The holder writes ``<pid>@<host> since <local time>`` into the lock
    file once it has the lock (:func:`_write_holder`; not through a
    read-only descriptor, whose file keeps its earlier holder's line), for
    the ``busy`` message of the process it turns away.

    Args:
        path (str): the file the lock stands for (its folder is created).
        busy (str or callable, optional): do not wait: if another process
            holds the lock, raise :class:`InputError` with this message,
            or with ``busy(holder)``, ``holder`` the line the holder wrote
            (:func:`_read_holder`).

    Raises:
        InputError: the lock file cannot be created there, or (another
            user's) cannot be locked; ``busy``.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover (not POSIX)
        yield
        return
    path = os.fspath(path)
    lock = lock_file(path)
    while True:
        fd = _open_lock(path, lock)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (fcntl.LOCK_NB if busy else 0))
            held = os.fstat(fd)
            now = os.stat(lock)
        except FileNotFoundError:  # removed by the holder before us
            os.close(fd)
            continue
        except BlockingIOError:  # held, and busy: not waited for
            holder = _read_holder(fd)
            os.close(fd)
            raise InputError(busy(holder) if callable(busy) else busy
                             ) from None
        except OSError as exc:
            os.close(fd)
            if exc.errno == errno.EBADF:
                # a read-only descriptor (another user's lock file) where
                # flock is a write lock: NFS, which emulates it by fcntl's
                raise InputError(_foreign_lock(
                    path, lock, 'this file system locks only a file open '
                    'for writing')) from None
            if exc.errno not in _NO_FLOCK:
                raise
            fd = None  # a file system without flock: unlocked
            break
        except BaseException:
            os.close(fd)
            raise
        if (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino):
            break
        os.close(fd)  # a new lock file replaced the one we waited on
    if fd is None:  # as where fcntl is missing
        with contextlib.suppress(OSError):
            os.remove(lock)
        yield
        return
    try:
        _write_holder(fd)
        yield
    finally:
        try:  # removed while held: a waiter on it opens a new one
            os.remove(lock)
        except OSError:
            pass
        os.close(fd)


def lock_holder(path: str) -> Optional[str]:
    """Who holds :func:`locked`'s lock on ``path`` now: the line the
    holder wrote (:func:`_read_holder`), None where no process holds it
    (or there is no lock file, or no ``flock`` here). Creates nothing:
    the lock file is opened read-only and, if free, released at once."""
    try:
        import fcntl
        fd = os.open(lock_file(path), os.O_RDONLY)
    except (ImportError, OSError):
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_holder(fd)
    except OSError:  # no flock on this file system: nothing to tell
        return None
    finally:
        os.close(fd)  # (releases the lock where it was taken)
    return None


def _write_holder(fd: int) -> None:
    """Record this process in :func:`locked`'s lock file ``fd`` (held):
    ``<pid>@<host> since <local time>``, one line, written in one call
    over the earlier holder's (a killed one's) and then cut to its length:
    a reader sees the whole line, or none yet, or it followed by the end
    of a longer earlier one, never half of it. Nothing where ``fd`` is
    read-only (another user's lock file) or the disk refuses."""
    line = (f'{os.getpid()}@{_host()} since '
            f'{time.strftime("%Y-%m-%d %H:%M:%S %Z").strip()}\n').encode()
    try:
        os.pwrite(fd, line, 0)
        os.ftruncate(fd, len(line))
    except OSError:
        pass


#: how long (seconds) a process that :func:`locked` turns away waits for
#: the holder's line when the lock file has none yet (the holder has just
#: taken the lock)
_HOLDER_WAIT_S = 0.5


def _read_holder(fd: int) -> str:
    """The line :func:`_write_holder` wrote in the lock file ``fd`` (held
    by another process), or ``'holder not recorded'``."""
    deadline = time.monotonic() + _HOLDER_WAIT_S
    while True:
        try:
            data = os.pread(fd, 512, 0)
        except OSError:
            data = b''
        line, newline, _ = data.partition(b'\n')
        if newline:
            return line.decode(errors='replace').strip() or \
                'holder not recorded'
        if time.monotonic() >= deadline:
            return 'holder not recorded'
        time.sleep(0.05)


def _open_lock(path: str, lock: str) -> int:
    """A descriptor of :func:`locked`'s lock file ``lock`` (created, with
    its folder, if missing): open for writing or, where that is refused
    on a lock file left by another user (0644) in a folder this user can
    write (the outputs can go there), read-only: ``flock`` takes its lock
    on either.

    Raises:
        InputError: the folder cannot be written (one line, ``path``:
            cannot write here); the lock file cannot be opened at all.
    """
    directory = os.path.dirname(lock)
    for _ in range(2):
        try:
            os.makedirs(directory, exist_ok=True)
            return os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        except PermissionError as exc:
            refused = exc
        except OSError as exc:  # a read-only file system, a file in the way
            raise _cannot_write(path, exc) from None
        try:
            check_writable_dir(directory)
        except InputError:  # the outputs could not be written either
            raise _cannot_write(path, refused) from None
        try:
            return os.open(lock, os.O_RDONLY)
        except FileNotFoundError:  # removed by its holder: create ours
            continue
        except OSError as exc:  # not readable either (0600)
            raise InputError(_foreign_lock(path, lock, exc.strerror)
                             ) from None
    # refused twice, and no lock file in the way: creating it is refused
    raise _cannot_write(path, refused)


def _foreign_lock(path: str, lock: str, why: str) -> str:
    """:func:`locked`'s line for a lock file it cannot lock (``why``)."""
    return (f'{path}: cannot take the lock {lock} ({why}); it was left by '
            'another user: remove it once no run of theirs writes here')


def _move_in(tmp: str, path: str, exclusive: bool) -> None:
    """Rename ``tmp`` onto ``path`` (:func:`atomic_path`'s rules)."""
    with _disk_errors(path):
        if exclusive:
            os.link(tmp, path)  # fails if path exists: no silent replace
            os.remove(tmp)
        else:
            os.replace(tmp, path)


def save_npy(path: str, array: np.ndarray) -> None:
    """Save one array to ``path`` (``.npy``) atomically."""
    with atomic_path(path) as tmp:
        _write_npy(tmp, array)


def save_torch(path: str, obj: Any) -> None:
    """``torch.save`` ``obj`` to ``path`` atomically, through an open file.
    Given a path, torch names the folder inside its zip after the file it
    writes, here the temp file (a pid and a random suffix), so the same
    object written twice differed in its bytes and SHA-256 (each rerun of
    the quick start wrote another ``backbone.pth`` of the same weights,
    whose features were then extracted again); through a file object the
    folder is always ``archive/``."""
    import torch
    with atomic_path(path) as tmp, open(tmp, 'wb') as f:
        torch.save(obj, f)


def _write_npy(tmp: str, array: np.ndarray) -> None:
    with open(tmp, 'wb') as f:
        np.save(f, array)


#: the file every synthetic-data generator marks the folder it writes with
#: (:mod:`openselfsup.datasets.synthetic.ownership`): here, on the ground
#: floor, so that the low-shot toolkit tells the generator's data from
#: real data by it too (:func:`openselfsup.lowshot.tasks.
#: more_samples_way_out`)
SYNTHETIC_MARKER = 'SYNTHETIC.json'

#: the checkout's root folder (configs/, tools/, wsi_workdir/), where the
#: commands' relative example paths (``configs/...``, the default
#: ``wsi_workdir/workdir``) lie
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def script(*parts: str) -> str:
    """The checkout's file at ``parts`` under the repository root
    (``'wsi_workdir', 'extract.py'``; none: the root itself), absolute and
    quoted for the shell, as every printed command names its script and
    config, so that it runs from any folder as printed (h177: they were
    relative, ``python wsi_workdir/extract.py --config
    configs/extraction/...``, while their paths were absolute, so they ran
    from the root alone, and the lines did not say so). Here, on the
    ground floor, so that every layer's lines name them alike (the kNN
    refusal of :mod:`openselfsup.config` as the low-shot toolkit's,
    which reads it as :func:`openselfsup.lowshot.paths.script`)."""
    import shlex
    return shlex.quote(os.path.join(REPO_ROOT, *parts))


def from_root(command: str, folder: Optional[str] = None) -> str:
    """``cd <root> && command``: a printed command of the checkout's shell
    scripts (``sh wsi_workdir/scripts/<name>.sh ...``), which run from the
    repository root alone (``_env.sh`` refuses another folder: their
    commands' paths are the root's), so that it runs from any folder as
    printed (the root named as :func:`script` names it); it was printed
    relative to the root, with no word of where to run it.

    ``folder`` (absolute): the folder to run it in instead of the root,
    for a command whose relative paths are the folder it was typed in,
    and not only its flags' (``tools/balance_sweep.py --resume``: its
    config and work dir, and the data roots of the config and of its
    ``--cfg-options``, the current folder's), quoted alike."""
    import shlex
    where = script() if folder is None else shlex.quote(folder)
    return f'cd {where} && {command}'


def read_from_root(*names: str) -> str:
    """What a line says of the placeholders ``names`` (``CKPT``,
    ``NEW_WORKDIR``) of the :func:`from_root` command it prints, which
    a user fills in with paths: after its ``cd``, a relative path is the
    root's, not the folder they typed it in, so they are to be given
    absolute."""
    one = len(names) == 1
    return (f'{" and ".join(names)} {"is" if one else "are"} read from the '
            f'root there: give {"it" if one else "them"} absolute')


def missing_note(path: str, guess: Optional[str] = None) -> str:
    """What a ``path`` that is not there may have meant, for its 'not
    found' line, or ``''``: a file's path ending in a separator
    (``configs/x.py/``: the file is there, the line said it was not);
    for a relative path, that it was taken relative to the current folder
    and, where the checkout's root is another folder and holds it (``cd
    wsi_workdir`` before a command whose paths are the root's), that one.

    Relative paths are the current folder's in every command, as in
    MMEngine's; run from another folder, a command said only 'not found',
    or that the default workdir held no features. ``guess``: the caller's
    ``did you mean ...?`` (a folder's, :func:`close_entry`), in place of
    the closest entry of the same extension."""
    path = os.fspath(path)
    bare = path.rstrip(os.sep + (os.altsep or ''))
    if bare and bare != path and os.path.isfile(bare):
        return f'{bare} is a file: drop the {path[len(bare):]!r} at the end'
    if not path or os.path.lexists(path):
        return ''
    if guess is None:
        guess = _close_name(bare)
    if os.path.isabs(path):
        return guess
    try:
        cwd = os.getcwd()
    except OSError:  # the current folder was deleted under the command
        return 'relative to the current folder, which no longer exists'
    note = f'relative to the current folder {cwd}'
    there = os.path.join(REPO_ROOT, path)
    if os.path.realpath(cwd) != os.path.realpath(REPO_ROOT) \
            and os.path.exists(there):
        note += (f'; the checkout has {there}: run from {REPO_ROOT}, or '
                 'give that path')
    return note + (f'; {guess}' if guess else '')


def with_missing_note(line: str, path: str, hint: str = '') -> str:
    """A 'not found' ``line`` of ``path`` with, in parentheses after it,
    ``hint`` (what the path should hold, or how to make it) and
    :func:`missing_note`'s note, those there are: every missing-path line
    says the same of a relative path."""
    notes = '; '.join(n for n in (hint, missing_note(path)) if n)
    return line + (f' ({notes})' if notes else '')


def _close_name(path: str) -> str:
    """``did you mean <folder>/<name>?`` for the entry of ``path``'s
    folder, of the same extension, closest to its name (difflib ratio at
    least 0.85: ``_al.py`` for ``_all.py``, ``iter_30.pth`` for
    ``iter_300.pth``), or ``''``."""
    ext = os.path.splitext(path)[1]
    return close_entry(path, lambda p: os.path.splitext(p)[1] == ext)


def close_entry(path: str, keep: Callable[[str], bool],
                cutoff: float = 0.85, as_name: bool = False) -> str:
    """``did you mean <folder>/<name>?`` for the entry of ``path``'s
    folder (but ``path`` itself and hidden ones) that ``keep`` (given its
    path) takes, closest to ``path``'s name (difflib ratio at least
    ``cutoff``; 0: the closest of those ``keep`` takes), or ``''``;
    ``as_name``: ``did you mean <name>?`` (a ``--model`` named by its
    folder's name)."""
    import difflib
    folder, name = os.path.split(os.path.normpath(path))
    try:
        names = [n for n in os.listdir(folder or '.')
                 if n != name and not n.startswith('.')
                 and keep(os.path.join(folder, n))]
    except OSError:  # no such folder, or not readable
        return ''
    close = difflib.get_close_matches(name, names, n=1, cutoff=cutoff)
    if not close:
        return ''
    near = close[0] if as_name else os.path.join(folder, close[0])
    return f'did you mean {near}?'


def check_file(path: str, noun: str, flag: str = '',
               hint: str = '') -> None:
    """Refuse a ``path`` that is a folder or missing where a ``noun`` file
    belongs, in one line (``flag``, e.g. ``--paths``, before the path;
    ``hint``, what the file should be or the command that makes it, in
    parentheses after a missing one's line, as the low-shot features'
    ``make it with: ...``, and :func:`missing_note`)."""
    where = f'{flag} {path}' if flag else str(path)
    if os.path.isdir(path):
        raise InputError(f'{where}: is a folder, not a {noun} file')
    if not os.path.isfile(path):
        raise InputError(with_missing_note(f'{where}: {noun} not found',
                                           path, hint))


def load_npy(path: str, what: str = 'array') -> np.ndarray:
    """``np.load`` a ``.npy`` file (never unpickling), or say in one line
    why not: a folder, a missing file, a file that is not a ``.npy`` of
    numbers (numpy would advise ``allow_pickle=True`` for a text file),
    or a zip archive (a ``torch.save`` file or an ``.npz`` renamed
    ``.npy``: ``np.load`` returned its archive, and the callers stopped on
    a traceback, ``'NpzFile' object has no attribute 'ndim'``)."""
    from .errors import first_line
    check_file(path, what)
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as exc:  # truncated, not .npy, pickled objects
        why = ('not a .npy file of numbers: a text file, or pickled '
               'objects' if 'pickle' in str(exc) else first_line(exc))
        raise InputError(f'{path}: cannot read {what} ({why})') from None
    if not isinstance(arr, np.ndarray):
        arr.close()
        raise InputError(f'{path}: cannot read {what} (a zip archive, as '
                         'torch.save and np.savez write, not a .npy file)')
    return arr


def save_npz(path: str, exclusive: bool = False, **arrays: np.ndarray) -> None:
    """Save named arrays to ``path`` (``.npz``, uncompressed) atomically.

    Args:
        exclusive (bool): see :func:`atomic_path`.
    """
    with atomic_path(path, exclusive=exclusive) as tmp:
        with open(tmp, 'wb') as f:
            np.savez(f, **arrays)


def to_jsonable(obj: Any) -> Any:
    """``obj`` as standard JSON holds it: numpy scalars and arrays as
    Python numbers and lists, tuples as lists, and every float that is NaN
    or infinite (the ``nan`` metrics of a model that diverged, a CI over
    one task) as ``None``, written ``null``. Python's ``json`` would write
    ``NaN`` and ``Infinity``, which are not JSON: ``jq``, JavaScript's
    ``JSON.parse`` and other strict parsers refuse such a file. Containers
    are copied (a dict keeps its order); anything else is returned as it
    is (``json`` refuses what it cannot write). Every finite number is
    written as before, to the same text."""
    if isinstance(obj, dict):
        return {k: to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def json_text(obj: Any, indent: Optional[int] = 2) -> str:
    """``obj`` as standard JSON text (:func:`to_jsonable`): the one
    serialisation of every JSON the project writes. ``allow_nan=False``:
    a non-finite number that got past :func:`to_jsonable` (a NaN dict key)
    raises ``ValueError`` instead of writing ``NaN``."""
    return json.dumps(to_jsonable(obj), indent=indent, allow_nan=False)


def save_json(path: str, obj: Any, indent: int = 2) -> None:
    """Save a JSON-serialisable object to ``path`` atomically, as standard
    JSON (:func:`json_text`: numpy scalars and arrays as Python numbers
    and lists, NaN and infinities as ``null``)."""
    with atomic_path(path) as tmp:
        _write_json(tmp, obj, indent)


def _write_json(tmp: str, obj: Any, indent: int = 2) -> None:
    text = json_text(obj, indent)
    with open(tmp, 'w') as f:
        f.write(text + '\n')



def json_object_or_none(path: str) -> Optional[dict]:
    """The JSON object a file holds, or None where it cannot be read, is
    not JSON or holds another type: for judging whose a file is, where any
    other file is simply not one's own."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def load_json(path: str, what: str = 'JSON file') -> Any:
    """Read a JSON file; a missing or broken file is one line. A file
    written before :func:`json_text` wrote ``null`` for them may hold
    ``NaN`` and ``Infinity``: they read as floats, as they always did.

    Args:
        path (str): the file.
        what (str): what it is, for the message.

    Raises:
        InputError: missing, a folder, unreadable or not valid JSON.
    """
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        raise InputError(f'{what} not found: {path}') from None
    except IsADirectoryError:
        # it said 'not a readable ... (IsADirectoryError: [Errno 21] Is a
        # directory: ...)', the path twice
        article = 'an' if what[:1].lower() in 'aeiou' else 'a'
        raise InputError(f'{path}: is a folder, not {article} {what}') \
            from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f'{path}: not a readable {what} '
                         f'({type(exc).__name__}: {exc})'.splitlines()[0]
                         ) from None


def save_text(path: str, text: str) -> None:
    """Save a text file atomically."""
    with atomic_path(path) as tmp:
        _write_text(tmp, text)


def _write_text(tmp: str, text: str) -> None:
    with open(tmp, 'w') as f:
        f.write(text)


def save_set(files: Dict[str, Any]) -> None:
    """Write several files that belong together (:func:`atomic_paths`):
    all of them or, if interrupted, none.

    Args:
        files (dict[str, object]): path -> content, written by its type: a
            ``np.ndarray`` as ``.npy``, ``bytes`` as they are, ``str`` as
            text, anything else as JSON (as :func:`save_json`).
    """
    with atomic_paths(list(files)) as tmps:
        for tmp, (path, content) in zip(tmps, files.items()):
            with _disk_errors(path):  # a full disk: one line, as save_npy
                _write_content(tmp, content)


def remove_set(paths: Sequence[str]) -> List[str]:
    """Remove the files of ``paths`` that are there, all of them or none
    (Ctrl-C held back, as :func:`save_set` moves a set in): a report or
    index that describes files about to be replaced, so that an
    interrupted rerun cannot leave it beside files it no longer describes.

    Returns:
        list[str]: the paths removed (those that were there), in order.
    """
    there = [p for p in paths if os.path.lexists(p)]
    if there:
        with signals_held():
            for path in there:
                os.remove(path)
    return there


def _write_content(tmp: str, content: Any) -> None:
    """Write one file of :func:`save_set` by the type of ``content``."""
    if isinstance(content, np.ndarray):
        _write_npy(tmp, content)
    elif isinstance(content, bytes):
        with open(tmp, 'wb') as f:
            f.write(content)
    elif isinstance(content, str):
        _write_text(tmp, content)
    else:
        _write_json(tmp, content)


def check_writable_dir(path: str) -> None:
    """Check, before any work, that files can be written in directory ``path``.

    Nothing is created: the nearest existing directory on the way to
    ``path`` gets a temporary probe file, removed at once (this also catches
    read-only file systems and holds for the root user, whom permission bits
    do not stop).

    Args:
        path (str): the output directory (it need not exist yet).

    Raises:
        InputError: a path component is a file, or the directory cannot be
            written.
    """
    target = os.path.abspath(os.fspath(path))
    probe = target
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        raise InputError(f'{path}: cannot write there, {probe} is a file, '
                         'not a directory')
    try:
        fd, tmp = tempfile.mkstemp(prefix='.write-test-', dir=probe)
        os.close(fd)
        os.remove(tmp)
    except OSError as exc:
        raise InputError(f'{path}: output directory is not writable '
                         f'({exc.strerror or exc})') from None


def read_json_object(path: str) -> dict:
    """Read a JSON file whose top level is an object, or raise InputError
    (the annotation files of the cross-modal datasets; without torch: the
    launchers' check of their splits reads them too). Within a
    :func:`~openselfsup.utils.once.reading_once` scope (a run's start,
    :func:`openselfsup.apis.train.train`: the check of its splits, then
    its training set built from the same fold), parsed once per version
    of the file: every caller gets the same object, to read, not to
    change."""
    return read_once('json object', path, _read_json_object)


def _read_json_object(path: str) -> dict:
    """:func:`read_json_object`'s read of the file."""
    obj = load_json(path, 'annotation file')
    if not isinstance(obj, dict) or not obj:
        raise InputError(f'{path}: expected a non-empty JSON object '
                         '{id: {...}}')
    return obj
