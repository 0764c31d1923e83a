"""The library's file writes in tests: interrupting them, reading their
JSON as strict parsers do."""
import json
import os
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
