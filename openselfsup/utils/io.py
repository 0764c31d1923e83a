"""Atomic output files: write to a temporary file beside the target, then rename.

An interrupted run never leaves a half-written file that a later step would
trust: either the old file (or none) is there, or the complete new one.
"""
import json
import os
import tempfile
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

from .errors import InputError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: str) -> Iterator[str]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    The temporary file keeps ``path``'s extension (numpy and torch look at it).
    If the body raises, the temporary file is removed and ``path`` is untouched.

    Args:
        path (str): the final file path. Its directory is created if missing.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    base = os.path.basename(path)
    _, ext = os.path.splitext(base)
    fd, tmp = tempfile.mkstemp(prefix=f'.{base}.', suffix=f'.tmp{ext}',
                               dir=directory)
    os.close(fd)
    try:
        yield tmp
        # mkstemp creates 0600; give the result the mode a plain open() would
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def save_npy(path: str, array: np.ndarray) -> None:
    """Save one array to ``path`` (``.npy``) atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as f:
            np.save(f, array)


def save_npz(path: str, **arrays: np.ndarray) -> None:
    """Save named arrays to ``path`` (``.npz``, uncompressed) atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, 'wb') as f:
            np.savez(f, **arrays)


def save_json(path: str, obj: Any, indent: int = 2) -> None:
    """Save a JSON-serialisable object to ``path`` atomically.

    numpy scalars and arrays are converted to Python numbers and lists.
    """
    def default(o):
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, np.generic):
            return o.item()
        raise TypeError(f'{type(o).__name__} is not JSON serialisable')

    with atomic_path(path) as tmp:
        with open(tmp, 'w') as f:
            json.dump(obj, f, indent=indent, default=default)
            f.write('\n')


def save_text(path: str, text: str) -> None:
    """Save a text file atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, 'w') as f:
            f.write(text)


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
