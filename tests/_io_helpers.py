"""The library's file writes in tests: interrupting them, reading their
JSON as strict parsers do; the file system's clock as a test needs it
(a file's times held, files written long ago)."""
import json
import os
import time
from contextlib import contextmanager


@contextmanager
def ctrl_c_when_writing(hit):
    """Raise KeyboardInterrupt (Ctrl-C) when :mod:`openselfsup.utils.io`
    opens a file for writing and ``hit(path)`` says so; every other open
    goes through. ``hit`` may count the calls (the third write, say)."""
    from openselfsup.utils import io
    real_open = open

    def opening(path, mode='r', *args, **kwargs):
        if 'w' in mode and hit(str(path)):
            raise KeyboardInterrupt
        return real_open(path, mode, *args, **kwargs)

    io.open = opening  # the module's writes go through it
    try:
        yield
    finally:
        del io.open


def named(prefix):
    """``hit`` for :func:`ctrl_c_when_writing`: a file whose name starts
    with ``prefix`` (the temporary ``.<name>.<pid>...`` of a set)."""
    return lambda path: os.path.basename(path).startswith(prefix)


def strict_json(text):
    """``text`` parsed as standard JSON: ``NaN``, ``Infinity`` and
    ``-Infinity``, which Python's ``json`` reads but ``jq`` and
    JavaScript's ``JSON.parse`` refuse, raise ``ValueError``."""
    def refuse(name):
        raise ValueError(f'{name} is not JSON')
    return json.loads(text, parse_constant=refuse)


def folder_by_hand(folder):
    """SHA-1 of ``folder``'s files (no links, no hidden files) from
    hashlib alone, as :func:`folder_sha1` defines it."""
    import hashlib
    h = hashlib.sha1()
    for p in sorted(folder.rglob('*')):
        if p.is_file():
            rel = p.relative_to(folder).as_posix()
            h.update(f'{rel}\0{hashlib.sha1(p.read_bytes()).hexdigest()}\n'
                     .encode())
    return h.hexdigest()


def held_times(monkeypatch, path):
    """``os.stat`` of ``path`` from now on with the times of its stat now
    (the other fields as they are, other files as they are): a file
    system whose clock does not move, on which a rewrite in place at the
    same size is a version no stat tells apart (as one within the file
    system's time resolution)."""
    first, real_stat = os.stat(path), os.stat
    target = os.path.realpath(path)

    class Held:
        def __init__(self, st):
            self.st = st

        def __getattr__(self, name):
            if name in ('st_mtime_ns', 'st_ctime_ns', 'st_mtime',
                        'st_ctime'):
                return getattr(first, name)
            return getattr(self.st, name)

    def stat(p, *args, **kwargs):
        st = real_stat(p, *args, **kwargs)
        if isinstance(p, (str, os.PathLike)) and \
                os.path.realpath(p) == target:
            return Held(st)
        return st
    monkeypatch.setattr(os, 'stat', stat)


def written_long_ago(monkeypatch):
    """Every file, written before or after this call, taken as changed
    long enough before any read for what is read of it to be kept for
    its version (:func:`openselfsup.utils.once.settled`: the file
    system's clock read a minute ahead): for a test of what a command
    reads once, whose files are written just before it runs, not of a
    file changed just before its read."""
    from openselfsup.utils import once
    monkeypatch.setattr(once, '_file_system_now',
                        lambda folder: time.time_ns() + 60 * 10 ** 9)
