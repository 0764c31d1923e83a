"""Say a thing once per process; read a file once per command; tell one
version of a file from another, and whether what is read of it may be
kept for that version (:func:`settled`: also of the digests kept per
version of a file, :mod:`.fingerprint`)."""
import contextlib
import contextvars
import os
import tempfile
import time
from typing import (Callable, Hashable, Iterable, Iterator, Optional,
                    TypeVar)

T = TypeVar('T')


class Once:
    """The keys a message has been given for in this process, so that a
    warning that a loop or a rebuild would repeat is said the first time
    only (the HLSS split file's shared or repeated patients, an open_clip
    model built without weights).

    ``_SAID = Once()`` at module level, then ``if _SAID(key): print_log(
    ...)``; a test that counts the lines puts a new instance in its place.
    """

    def __init__(self):
        self._seen = set()

    def __call__(self, key: Hashable) -> bool:
        """True the first time ``key`` is asked, False every time after."""
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


#: what :func:`read_once` read in the command now running
#: (:func:`reading_once`): ``{(kind, absolute path, device, inode, size,
#: modification and change times in ns): the reader's result}``; None
#: outside one (each call reads the file)
_READ: contextvars.ContextVar = contextvars.ContextVar(
    'openselfsup_read_once', default=None)


@contextlib.contextmanager
def reading_once() -> Iterator[None]:
    """The scope of one command (``with reading_once():``, or
    ``@reading_once()`` on its function) within which :func:`read_once`
    reads each input file once while it is the same, unchanged file, not
    once per caller, record or result: the kNN commands' metadata
    (``knn_eval_checkpoint``, ``summarize_knn``), the low-shot report's
    features, labels and task stores (``summarize``, ``--compare``). One
    entered within another shares the outer's; leaving the outer one
    (also by an exception) forgets what was read, so a file written again
    between two commands of one process is read again, whatever its
    times. A thread started within it reads as outside one (a thread
    starts with a context of its own)."""
    token = None if _READ.get() is not None else _READ.set({})
    try:
        yield
    finally:
        if token is not None:
            _READ.reset(token)


def file_version(st: os.stat_result) -> tuple:
    """What tells one version of a file from another by its ``os.stat``
    result ``st``: device, inode, size and the times of its last write and
    change in nanoseconds (any write, truncation or replacement changes
    one; a rewrite in place at the same size within the filesystem's
    timestamp resolution does not). The key of :func:`read_once`, of the
    checkpoint completeness cache and of the folder signatures."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns,
            st.st_ctime_ns)


def stat_version(path: str) -> Optional[tuple]:
    """:func:`file_version` of ``path``, or None where it cannot be read
    by ``os.stat`` (absent, no permission to its folder, a name
    ``os.stat`` refuses): the one stat of a file's version, of
    :func:`read_once` and of the kept digests' signatures
    (:mod:`.fingerprint`)."""
    try:
        return file_version(os.stat(path))
    except (OSError, ValueError):
        return None


#: how recent a file's modification (or status change) time may be for
#: what is read of it to be kept for its version (:func:`settled`: the
#: digests kept, :mod:`.fingerprint`, and :func:`read_once`'s reads):
#: a file rewritten within the file system's time resolution (a clock
#: tick on Linux, 1 s on ext3 / HFS+, 2 s on FAT) with the same size
#: could keep its times, so what was read then is read again on the
#: next call (git's "racily clean" entries)
RECENT_NS = 3 * 10 ** 9

#: where the file system's clock cannot be read (:func:`_file_system_now`
#: is None: a shared model folder of another user, on another file system
#: than the temporary folder), a file counts as changed recently unless
#: it is older than :data:`RECENT_NS` plus this margin by this process's
#: clock: files of a shared folder, changed days before, are read once;
#: a file written there just now is read on each call while the two
#: clocks differ by less than an hour
UNKNOWN_CLOCK_NS = 3600 * 10 ** 9


def settled(folder: str, versions: Iterable[tuple]) -> bool:
    """Whether what is read now of the files of ``versions`` (their
    :func:`file_version`, taken before this call), in ``folder``, may be
    kept for those versions: each was last written and changed at least
    :data:`RECENT_NS` before now, by the clock of the file system that
    stamps their times (:func:`_file_system_now`; where that clock cannot
    be read, by this process's less :data:`UNKNOWN_CLOCK_NS`). A file
    changed more recently may be rewritten in place at the same size
    within the file system's time resolution and keep all its times, a
    version no stat tells from the one read (git's "racily clean"
    entries): what was read of it is read again on the next call. The
    one rule of what is kept per version of a file: the digests
    (:func:`~openselfsup.utils.fingerprint._kept`) and
    :func:`read_once`'s reads. Ask it after taking the versions and
    before the read, so that a file written during the read is another
    version, or too recent to keep."""
    versions = list(versions)
    if not versions:
        return True
    now = _file_system_now(folder)
    if now is None:
        now = time.time_ns() - UNKNOWN_CLOCK_NS
    return all(max(v[3], v[4]) < now - RECENT_NS for v in versions)


def _file_system_now(folder: str) -> Optional[int]:
    """The time now, in ns, by the clock of the file system ``folder`` is
    on: the modification time of a hidden file created there and removed
    (git's racy-clean test compares with its index file's time alike).
    A file's times come from that clock (an NFS server's), which may be
    seconds away from this process's: a minute ahead here, a file just
    written was taken as older than :data:`RECENT_NS` and its digest kept
    (:mod:`.fingerprint`);
    a minute behind, every file changed in that minute was read again on
    each call. Read on a miss only, after the files' times (by far less
    than :data:`RECENT_NS` later).

    The file is made in the temporary folder where that is on the same
    file system (a place of no user's), else in ``folder`` itself, whose
    modification and access times are then set back as they were (before,
    each probe left the user's folder modified now; its status change
    time moves, which no call can set, and a file another process adds
    there in the microseconds between leaves the folder's time as it
    was before). Where neither can be done (a
    folder of another user, or one this process may not write, a
    read-only mount, on another file system than the temporary folder),
    None: the file system's clock is not known, and :func:`settled` keeps
    only what is read of files older than an hour by this process's clock
    (:data:`UNKNOWN_CLOCK_NS`; before, this process's clock was taken as
    the file system's without a word, which, ahead of it, kept the digest
    of a file just written; a mount read-only here may be written on its
    server)."""
    folder = folder or '.'
    try:
        here = os.stat(folder)
    except OSError:
        return None
    try:
        scratch = tempfile.gettempdir()
        if os.stat(scratch).st_dev == here.st_dev:
            now = _created_time(scratch)
            if now is not None:
                return now
    except OSError:
        pass
    if here.st_uid == os.geteuid() or os.geteuid() == 0:  # may set them
        now = _created_time(folder)
        if now is not None:
            try:
                os.utime(folder, ns=(here.st_atime_ns, here.st_mtime_ns))
            except OSError:
                pass
            return now
    return None


def _created_time(folder: str) -> Optional[int]:
    """The modification time of a hidden file created in ``folder`` and
    removed (:func:`_file_system_now`); None where none can be made."""
    try:
        fd, tmp = tempfile.mkstemp(prefix='.clock-', dir=folder)
    except OSError:
        return None
    try:
        os.close(fd)
        return os.stat(tmp).st_mtime_ns
    except OSError:
        return None
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def read_once(kind: str, path: str, reader: Callable[[str], T]) -> T:
    """``reader(path)``: what ``kind`` of reading (one name per reader:
    ``'knn metadata'``, ``'report features'``) makes of the file ``path``.

    Within :func:`reading_once`, the result is kept and given again while
    the file is the same, unchanged one: the same absolute path, device
    and inode, size, modification and change times (the key the kNN
    metadata was read by; the low-shot report's, its path alone, kept a
    file written over during the report). A file written again within the
    command is read again: one replaced by a rename (the project's atomic
    writes, ``utils.io``) as another inode, one written over in place as
    another size or time, and one changed less than :data:`RECENT_NS`
    before its read (:func:`settled`, the rule of the kept digests too),
    which a rewrite in place at the same size within the file system's
    time resolution may leave with all its times (before, such a read was
    kept: a training run's start trained the fold its data check had
    parsed, and recorded the fold rewritten since). Only ``path`` is
    watched: another file the reader reads beside it (a feature file's
    provenance JSON) is read again with it, not when it alone changes.
    Outside a scope, where ``path`` cannot be read by ``os.stat`` (absent:
    the reader says what that means), and where the reader raises,
    nothing is kept: each call reads."""
    read = _READ.get()
    if read is None:
        return reader(path)
    full = os.path.abspath(path)
    version = stat_version(full)
    if version is None:
        return reader(path)
    key = (kind, full) + version
    if key in read:
        return read[key]
    keep = settled(os.path.dirname(full), [version])
    value = reader(path)
    if keep:
        read[key] = value
    return value
