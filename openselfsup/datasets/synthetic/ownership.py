"""Which output folders a synthetic-data generator may replace.

Every generator marks the folder it writes with :data:`MARKER` (JSON:
``state`` 'writing' while it writes, then 'done' with a digest of the files
it left). Writing again, it replaces only a folder that is empty, or marked
and unchanged since (or marked 'writing': an interrupted run of its own),
and clears the folder's old contents first, so that an interrupted or
smaller run never leaves old files beside new ones (mislabelled data).
Anything else is refused in one line before any file changes: a folder
without the marker, one whose files changed since (real data added), one
reached through a symbolic link. The real datasets share the synthetic
ones' file names in places, so this is what keeps them from being
overwritten.

A generator holds :func:`writing`'s lock on each folder while it checks,
clears and writes it: a second run into the same folder (the 'writing'
marker of the first looks like an interrupted run of its own) is refused
in one line before it changes anything, instead of clearing the first
one's images while the first lists them.
"""
import contextlib
import functools
import hashlib
import json
import os
import shlex
import shutil
import sys
from typing import Callable, Iterator, Optional, Sequence

from ...utils import InputError, check_writable_dir, locked, save_json
from ...utils.errors import note_interruption
from ...utils.io import lock_file

MARKER = 'SYNTHETIC.json'
#: the plain-text marker make_synthetic wrote before this module
LEGACY_MARKER = 'SYNTHETIC.txt'


def _digest(folder: str, parts: Optional[Sequence[str]]) -> str:
    """SHA-1 of the path and size of every file under ``parts`` of
    ``folder`` (all of it but the marker when None); not of modification
    times, which a copy (``cp -r``) changes."""
    h = hashlib.sha1()
    roots = [os.path.join(folder, p) for p in parts] if parts else [folder]
    for root in roots:
        for d, dirs, files in sorted(os.walk(root)):
            dirs.sort()
            for name in sorted(files):
                path = os.path.join(d, name)
                if path == os.path.join(folder, MARKER):
                    continue
                h.update(f'{os.path.relpath(path, folder)}\0'
                         f'{os.lstat(path).st_size}\n'.encode())
    return h.hexdigest()


def _marker_state(folder: str) -> dict:
    """What ``folder``'s :data:`MARKER` holds ({} if none or unreadable)."""
    try:
        with open(os.path.join(folder, MARKER)) as f:
            state = json.load(f)
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


#: what each generator's folder marker names as its generator and data
#: (``generator``; :func:`check_ours`), and the entries that tell its
#: folder where a marker written before names none (:func:`_generator`)
KINDS = {
    'hierarchical': ('make_synthetic_hierarchical.py (patients / slides / '
                     'patches)', ('metadata.json', 'split.json', 'patches')),
    'images': ('make_crossmodal.py (images)', ('classes.txt', 'images')),
    'slides': ('make_crossmodal.py (slides)', ('train.json', 'features')),
    'NCT': ('make_synthetic.py (NCT)', ('data', 'meta')),
    'LC25000': ('make_synthetic.py (LC25000)', ('data', 'meta')),
    'PAIP19': ('make_synthetic.py (PAIP19)', ('data', 'meta')),
}


def _generator(folder: str) -> Optional[str]:
    """The generator and data a marked ``folder`` holds: its marker's
    ``generator``; for a marker written before it was recorded, the kind
    of :data:`KINDS` whose entries the folder holds (a domain folder's by
    its name too), None where none fits."""
    there = _marker_state(folder).get('generator')
    if there:
        return there
    name = os.path.basename(os.path.normpath(folder))
    for key, (kind, entries) in KINDS.items():
        if entries == ('data', 'meta') and key != name:
            continue
        if all(os.path.lexists(os.path.join(folder, e)) for e in entries):
            return kind
    return None


def _marked_above(folder: str) -> Optional[str]:
    """The nearest folder above ``folder`` that holds :data:`MARKER` (a
    generator's data), None where none does."""
    here = os.path.abspath(folder)
    parent = os.path.dirname(here)
    while parent != here:
        if os.path.isfile(os.path.join(parent, MARKER)):
            return parent
        here, parent = parent, os.path.dirname(parent)
    return None


def check_not_inside(folder: str) -> None:
    """Refuse an output ``folder`` inside another generator's data (a
    folder above it holds :data:`MARKER`: ``make_crossmodal.py --out
    data/hier32`` wrote ``images/`` and ``slides/`` into the HLSS
    patients' folder, whose own rerun then refused it as changed), before
    anything is written (the lock file beside ``folder`` too)."""
    above = _marked_above(folder)
    if above is None:
        return
    who = _generator(above)
    who = f'{who} wrote' if who else 'a synthetic-data generator wrote'
    raise InputError(
        f'{folder}: inside {above}, the data {who} ({MARKER} there): one '
        'generator\'s data is not written into another\'s; give an --out '
        f'outside it (e.g. beside it, in {os.path.dirname(above)})')


def check_ours(folder: str, parts: Optional[Sequence[str]] = None,
               kind: Optional[str] = None) -> None:
    """Refuse ``folder`` unless the generator may replace it (module
    docstring); ``parts``: the subfolders whose files must be unchanged
    (None: every file; the list-file folder of a dataset layout is left
    out, a converter may rewrite its lists); ``kind``: the generator and
    data that would be written (:data:`KINDS`, :data:`MARKER`'s
    ``generator``), which a marked folder must hold too (another
    generator's data is refused; a marker written before it was recorded
    names none, and the folder's entries tell it, :func:`_generator`). A
    folder inside another generator's data is refused too
    (:func:`check_not_inside`)."""
    check_not_inside(folder)
    if not os.path.lexists(folder):
        return
    links = [p for p in [folder] + [os.path.join(folder, q)
                                    for q in parts or ()]
             if os.path.islink(p)]
    if links:
        raise InputError(f'{links[0]}: a symbolic link (the real data?); '
                         'the synthetic data is not written through it: '
                         'give another --out')
    if not os.path.isdir(folder):
        raise InputError(f'{folder}: not a folder; give another --out')
    if not os.listdir(folder):
        return
    marker = os.path.join(folder, MARKER)
    if not os.path.isfile(marker) and os.path.isfile(
            os.path.join(folder, LEGACY_MARKER)):
        return  # make_synthetic's marker for a few hours on 2026-12-01
    why = (f'holds files this generator did not write (no {MARKER}; '
           'synthetic data written before 2026-12-01 has none)')
    if os.path.isfile(marker):
        state = _marker_state(folder)
        there = _generator(folder)
        if kind and there and there != kind:
            raise InputError(
                f'{folder}: holds the data {there} wrote ({MARKER}), not '
                f'{kind}\'s: one generator\'s data is not written over by '
                'another; give another --out')
        if state.get('state') == 'writing' or (
                state.get('state') == 'done'
                and state.get('files') == _digest(folder, parts)):
            return
        why = 'holds files added, removed or changed since it was generated'
    raise InputError(
        f'{folder}: {why}, perhaps real data: nothing is overwritten; give '
        'another --out (or delete the folder if it holds nothing of yours)')


@contextlib.contextmanager
def writing(folders: Sequence[str]) -> Iterator[None]:
    """One generator at a time in each of ``folders``: the body holds the
    lock ``.<name>.lock`` beside each folder (:func:`~openselfsup.utils.
    locked`, released at the end or when the process dies); none for a
    folder whose parent this user cannot write (the generator's own checks
    refuse the folder if it cannot be written either).

    Raises:
        InputError: another process holds one of the locks (it names the
            folder and the holder), before the body runs.
    """
    for folder in folders:  # before a lock file is made beside one
        check_not_inside(folder)
    with contextlib.ExitStack() as stack:
        for folder in folders:
            try:  # the lock's folder: a folder made for this user in a
                # shared one it cannot write is written unlocked, as on a
                # file system without flock (it was refused: cannot write)
                check_writable_dir(os.path.dirname(os.path.abspath(folder)))
            except InputError:
                continue
            def busy(holder: str, folder: str = folder) -> str:
                return (f'{folder}: another run of a synthetic-data '
                        f'generator is writing there ({holder}); wait for '
                        'it to end, or give another --out (if it died with '
                        f'its node and NFS still holds its lock, remove '
                        f'{lock_file(folder)})')
            stack.enter_context(locked(folder, busy=busy))
        try:
            yield
        except BaseException as exc:
            # Ctrl-C: 'interrupted' said nothing of the folders left
            # half-written, whose lists a later command found missing
            left = [f for f in folders if unfinished(f)]
            if left:
                note_interruption(exc, f'{", ".join(left)}: left '
                                  f'unfinished; {_rerun(left[0])} to write '
                                  f'{"it" if len(left) == 1 else "them"} '
                                  'whole')
            raise


def _command() -> Optional[str]:
    """The command line of this process where it is a generator's
    (``tools/prepare_data/make_*.py``), as typed, None otherwise (a
    library call)."""
    script = os.path.basename(sys.argv[0]) if sys.argv else ''
    if not any(kind.startswith(script + ' ') for kind, _ in KINDS.values()):
        return None
    return shlex.join(['python', *sys.argv])


def unfinished(folder: str) -> bool:
    """Whether ``folder`` holds a generator's :data:`MARKER` that still
    says 'writing' (the generator was stopped while writing it)."""
    return _marker_state(folder).get('state') == 'writing'


def _rerun(folder: str) -> str:
    """What writes the unfinished ``folder`` whole: its generator's
    command as its marker records it, else the generator named."""
    state = _marker_state(folder)
    if state.get('command'):
        return f'rerun {state["command"]}'
    kind = _generator(folder) or 'its synthetic-data generator'
    return f'rerun {kind.split(" ")[0]} with the same flags'


def unfinished_line(path: str) -> Optional[str]:
    """Where ``path`` (a missing list or folder a config names) lies in,
    or is, a folder a generator was stopped while writing
    (:func:`unfinished`, the nearest at or above it): one line naming the
    folder, its generator and the command that writes it whole; None
    otherwise."""
    here = os.path.abspath(path)
    while True:
        if unfinished(here):
            kind = _generator(here) or 'a synthetic-data generator'
            return (f'{here}: was left unfinished by {kind} (interrupted); '
                    f'{_rerun(here)}')
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def generator(make: Callable) -> Callable:
    """``make(root, spec)``, a generator of one folder, run under
    :func:`writing`'s lock on ``root``, taken once ``spec.check()`` has
    passed (the lock file's folder is made: a bad value must leave nothing
    behind). ``.unlocked``: ``make`` itself, for a caller that holds the
    locks of all the folders it writes before the first (make_crossmodal:
    a run refused at its second folder had written the first)."""
    @functools.wraps(make)
    def locked_make(root: str, spec, *args, **kwargs):
        spec.check()
        with writing([root]):
            return make(root, spec, *args, **kwargs)
    locked_make.unlocked = make
    return locked_make


def check_not_half_written(folder: str) -> None:
    """Refuse a folder a generator was stopped while writing (its marker
    still says 'writing'): its images are a part of the set, and list
    files made from them would look whole."""
    if _marker_state(folder).get('state') == 'writing':
        raise InputError(
            f'{folder}: the synthetic-data generator was stopped while '
            f'writing it ({MARKER} says so); run it again (python '
            'tools/prepare_data/make_synthetic.py) before using the folder')


def claim(folder: str, parts: Optional[Sequence[str]] = None,
          clear: Optional[Sequence[str]] = None,
          kind: Optional[str] = None) -> None:
    """:func:`check_ours`, then empty ``clear`` (subfolders; None: all but
    the marker) and mark the folder as being written (by ``kind``, the
    generator and its data, :func:`check_ours`). Under :func:`writing`'s
    lock on ``folder``, held until :func:`mark_done`."""
    check_ours(folder, parts, kind)
    os.makedirs(folder, exist_ok=True)
    _mark(folder, None, kind)  # first: one stopped while clearing is ours
    for name in clear if clear is not None else os.listdir(folder):
        path = os.path.join(folder, name)
        if name == MARKER or not os.path.lexists(path):
            continue
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.remove(path)


def mark_done(folder: str, parts: Optional[Sequence[str]] = None,
              kind: Optional[str] = None) -> None:
    """Mark ``folder`` as written by ``kind`` (:func:`check_ours`), with
    the digest of its files."""
    _mark(folder, _digest(folder, parts), kind)


def _mark(folder: str, files: Optional[str],
          kind: Optional[str] = None) -> None:
    save_json(os.path.join(folder, MARKER), dict(
        written_by='a synthetic-data generator of this project '
        '(tools/prepare_data/)',
        note='synthetic data; replaced when the generator writes here again',
        state='done' if files else 'writing', files=files,
        **({'generator': kind} if kind else {}),
        **({'command': _command()} if _command() else {})))
