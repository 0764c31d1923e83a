"""Say a thing once per process; read a file once per command; tell one
version of a file from another (the digests kept per version of a file:
:mod:`.fingerprint`)."""
import contextlib
import contextvars
import os
from typing import Callable, Hashable, Iterator, Optional, TypeVar

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
    another size or time; not one written over in place at the same size
    within the file system's clock granularity (milliseconds) of the
    first read. Only ``path`` is watched: another file the reader reads
    beside it (a feature file's provenance JSON) is read again with it,
    not when it alone changes. Outside a scope, where ``path`` cannot be
    read by ``os.stat`` (absent: the reader says what that means), and
    where the reader raises, nothing is kept: each call reads."""
    read = _READ.get()
    if read is None:
        return reader(path)
    full = os.path.abspath(path)
    version = stat_version(full)
    if version is None:
        return reader(path)
    key = (kind, full) + version
    if key not in read:
        read[key] = reader(path)
    return read[key]
