"""Say a thing once per process; read a file once per command; digest a
file once per version of it."""
import contextlib
import contextvars
import os
from typing import (Any, Callable, Hashable, Iterable, Iterator, Optional,
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
    try:
        st = os.stat(full)
    except (OSError, ValueError):
        return reader(path)
    key = (kind, full) + file_version(st)
    if key not in read:
        read[key] = reader(path)
    return read[key]


#: the digests of input files kept in this process (:func:`keep_digest`):
#: ``{(kind, absolute path): (file_version, digest)}``, one small entry a
#: file, given by :func:`kept_digest` while the file is that version
_DIGESTS: dict = {}

#: the absolute paths whose digests a caller will ask for
#: (:func:`want_digests`): the readers of those files keep a digest as
#: they read (:func:`digest_wanted`); others are not digested at all
_WANTED: set = set()


def stat_version(path: str) -> Optional[tuple]:
    """:func:`file_version` of ``path``, or None where it cannot be read
    by ``os.stat``."""
    try:
        return file_version(os.stat(path))
    except (OSError, ValueError):
        return None


def want_digests(paths: Iterable[str]) -> None:
    """Say that the digests of the files ``paths`` will be asked in this
    process (a training run's record of its training data, asked in
    ``before_train`` after the datasets read them): their readers keep
    the digest of what they read (:func:`digest_wanted`), so it is not
    read again. Files not named here are read without any digest."""
    _WANTED.update(os.path.abspath(p) for p in paths)


def digest_wanted(path: str) -> bool:
    """Whether :func:`want_digests` named ``path``: its reader keeps the
    digest of what it reads (:func:`keep_digest`)."""
    return os.path.abspath(path) in _WANTED


def keep_digest(kind: str, path: str, version: Optional[tuple],
                digest: Callable[[], Any]) -> None:
    """Keep ``digest()``, the ``kind`` of digest (one name per digest:
    ``'list entries'``, ``'json value'``) of the file ``path`` as read at
    ``version`` (:func:`stat_version`, taken before the read, so a file
    written during it is another version; None: nothing is kept), unless
    the one kept is of that version already (``digest`` is not
    called)."""
    key = (kind, os.path.abspath(path))
    if version is None:
        _DIGESTS.pop(key, None)
    elif _DIGESTS.get(key, (None,))[0] != version:
        _DIGESTS[key] = (version, digest())


def kept_digest(kind: str, path: str, compute: Callable[[str], T]) -> T:
    """The ``kind`` of digest of the file ``path``: the one kept
    (:func:`keep_digest`, by a reader of the file or an earlier call)
    while the file is still the version it was taken of (the same
    device, inode, size and times: :func:`file_version`), otherwise
    ``compute(path)``, kept in turn. Not seen: a file rewritten in place
    at the same size within the file system's clock granularity of the
    read. Where ``compute`` raises, nothing is kept."""
    version = stat_version(path)
    kept = _DIGESTS.get((kind, os.path.abspath(path)))
    if version is not None and kept is not None and kept[0] == version:
        return kept[1]
    digest = compute(path)
    keep_digest(kind, path, version, lambda: digest)
    return digest
