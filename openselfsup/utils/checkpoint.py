"""Checkpoints that load with ``torch.load(weights_only=True)``.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True`` and
refuses every Python object that is not on its allow-list. MMEngine's
checkpoints carry a few such objects besides tensors (the message hub's
``HistoryBuffer``, numpy arrays and scalars, an ``OrderedDict`` of
optimiser state), so MMEngine's ``--resume`` fails out of the box.

One of them cannot simply be allow-listed: ``HistoryBuffer.__getstate__``
pickles its class's statistics functions, which pickle as
``getattr(HistoryBuffer, 'min')``, and allowing ``builtins.getattr`` would
let a checkpoint reach any attribute of any allowed object. So this module
also registers a ``copyreg`` reducer that pickles a ``HistoryBuffer`` as
``HistoryBuffer(log_history, count_history, max_length)`` (its data only;
the statistics functions are class attributes, restored on import).
Checkpoints written by plain MMEngine (without this module) still hold the
``getattr`` and are refused with a one-line error.

Instead of switching the safety check off (``weights_only=False`` would
execute arbitrary pickled code from a downloaded checkpoint), this module
puts exactly those classes on torch's allow-list with
:func:`torch.serialization.add_safe_globals`. The list was found with
:func:`torch.serialization.get_unsafe_globals_in_checkpoint` on MMEngine
checkpoints of this project's CLP and FSP runs; :func:`unsafe_globals`
reports what a new checkpoint would still need. Every reader here
registers them before it loads (:func:`register_safe_globals`), and
importing ``openselfsup.engine`` does too, so every ``torch.load`` of a
file in a training process (MMEngine's resume and ``load_from``) keeps
``weights_only=True`` as well; ``--resume http(s)://...`` and a
``load_from`` http(s) URL too, which the run downloads to a file first
(:func:`openselfsup.apis.train.checkpoint_from_url`), not through
``torch.hub.load_state_dict_from_url``, whose ``weights_only`` is False.

On the ground floor, beside :mod:`openselfsup.utils.checkpoint_files`
(which file, whether it is complete; no torch), this module reads the
contents with torch and MMEngine's ``HistoryBuffer`` alone: a command that
only reads or converts checkpoints (``tools/extract_backbone_weights.py``)
starts without the training stack (mmpretrain, mmcv) that
``openselfsup.engine`` imports.
"""
import ast
import contextlib
import copyreg
import os
import pickle
import pickletools
import re
from typing import Any, BinaryIO, List, Optional, Tuple

import numpy as np
import torch

from .checkpoint_files import (cut_short, has_zip_directory,  # noqa: F401
                               is_complete_checkpoint, is_legacy_format,
                               is_loadable_checkpoint, is_safetensors_name,
                               is_whole_loadable, not_a_checkpoint,
                               pickle_protocol, read_checkpoint,
                               WEIGHTS_ONLY_PROTOCOLS,
                               weights_only_opted_out)
from .errors import InputError, first_line
from .io import check_file


def _numpy_globals() -> list:
    """numpy objects that pickles of arrays and scalars reference."""
    out = [np.ndarray, np.dtype]
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    out += [_reconstruct, scalar]
    # pickled dtypes name their class (numpy.dtypes.Float64DType, ...)
    out += [type(np.dtype(t)) for t in
            (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32,
             np.int64, np.uint8, np.bool_)]
    return out


def _mmengine_globals() -> list:
    from mmengine.logging import HistoryBuffer
    return [HistoryBuffer]


def safe_globals() -> list:
    """Every non-tensor class an MMEngine checkpoint of this project holds."""
    return _numpy_globals() + _mmengine_globals()


def _reduce_history_buffer(buf):
    """Pickle a HistoryBuffer as a constructor call on its data."""
    return (type(buf), (buf._log_history, buf._count_history,
                        buf.max_length))


_REGISTERED = False


def register_safe_globals() -> None:
    """Allow-list :func:`safe_globals` for ``torch.load(weights_only=True)``
    and pickle ``HistoryBuffer`` without ``getattr``.

    Idempotent; called by every reader of this module before it loads,
    and when ``openselfsup.engine`` is imported (so that training writes
    its checkpoints' ``HistoryBuffer`` without ``getattr``).
    """
    global _REGISTERED
    if not _REGISTERED:
        from mmengine.logging import HistoryBuffer
        copyreg.pickle(HistoryBuffer, _reduce_history_buffer)
        torch.serialization.add_safe_globals(safe_globals())
        _REGISTERED = True


def unsafe_globals(path) -> List[str]:
    """Globals in the checkpoint at ``path`` that are not allow-listed.

    Args:
        path (str or file): a ``torch.save`` file, or an open binary file
            (an ``io.BytesIO`` of its bytes) at its start.

    Returns:
        list[str]: ``module.qualname`` of each class ``torch.load`` would
        still refuse (empty when the checkpoint loads with weights_only).
    """
    register_safe_globals()
    allowed = {f'{g.__module__}.{g.__qualname__}'
               for g in torch.serialization.get_safe_globals()
               if hasattr(g, '__qualname__')}
    found = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    return [g for g in found if g not in allowed]


class _Inert:
    """Stands in for a pickled object that is not allow-listed, when only
    the tensors of a checkpoint are wanted. Builds nothing and runs nothing:
    its constructor and ``__setstate__`` ignore their arguments."""

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state):
        pass


#: the most containers the walk of a file read with placeholders visits
#: (:func:`_refused_ids`; a checkpoint's state dict, optimizer and logs:
#: some thousands): beyond it (a crafted file, or a plain one of a million
#: small lists) no entry is told, the entries found so far included (a
#: command deleting them alone could leave others): the refusal's general
#: words
WALK_LIMIT = 1_000_000


class _WalkTooLong(Exception):
    """The walk of :func:`_refused_ids` went past :data:`WALK_LIMIT`."""


class _InertRuntime(_Inert):
    """:class:`_Inert` for an allow-listed MMEngine runtime class (a
    ``HistoryBuffer``), swapped in for safety: refused only where what it
    is built of is (a plain-MMEngine one's ``builtins.getattr``). It keeps
    its parts (``parts``: its arguments and state), judged with the rest of
    the file once it is read (:func:`_refused_ids`), nothing else: judged
    when it was built, each walked its parts again, a part shared through
    the pickle's memo as often as placeholders hold it."""

    def __init__(self, *args, **kwargs):
        self.parts = [args, kwargs]

    def __setstate__(self, state):
        # (built without __init__ where pickled by __reduce_ex__)
        self.parts = [*getattr(self, 'parts', ()), state]


def _refused_ids(root: Any, resaved: bool = False) -> set:
    """The ids of what in ``root`` (a checkpoint read by
    :func:`read_inert`) is or holds an object torch refuses: a placeholder
    (:class:`_Inert`; an :class:`_InertRuntime` where its parts hold one),
    and each dict (keys too: a refused object may be one, a PosixPath),
    list, tuple and runtime placeholder from which one is reached. One walk
    of the whole file, each container once (an id-keyed seen set, no
    recursion), then one pass up from the refused objects: a container
    shared through the pickle's memo, or holding itself, costs its size
    once, where a walk from each container that might hold one cost n * n
    on n lists sharing one list. ``resaved``: the file is to be saved
    again by a process that imported ``openselfsup.engine``, which pickles
    a ``HistoryBuffer`` of its data alone (:func:`_reduce_history_buffer`):
    a runtime placeholder is then no refused object (plain MMEngine's
    ``builtins.getattr`` in it goes).

    Raises:
        _WalkTooLong: more containers than :data:`WALK_LIMIT`.
    """
    parents = {}  # id -> ids of the containers holding it
    seen, todo, refused = set(), [root], []
    while todo:
        value = todo.pop()
        if id(value) in seen:
            continue
        if isinstance(value, _InertRuntime):
            if resaved:
                continue
            parts = value.parts
        elif isinstance(value, _Inert):
            seen.add(id(value))
            refused.append(id(value))
            continue
        elif isinstance(value, dict):
            parts = [*value.keys(), *value.values()]
        elif isinstance(value, (list, tuple)):
            parts = value
        else:
            continue
        seen.add(id(value))
        if len(seen) > WALK_LIMIT:
            raise _WalkTooLong
        for part in parts:
            if isinstance(part, (dict, list, tuple, _Inert)):
                parents.setdefault(id(part), []).append(id(value))
                todo.append(part)
    marked, up = set(refused), list(refused)
    while up:
        for parent in parents.get(up.pop(), ()):
            if parent not in marked:
                marked.add(parent)
                up.append(parent)
    return marked


def check_checkpoint_file(path: str) -> None:
    """Refuse a checkpoint file :func:`load_checkpoint_file` cannot read
    (cheap: a zip's archive directory, not its tensors): missing, or
    neither a complete ``torch.save`` zip laid out as torch reads it nor
    a file of torch's legacy format (:func:`~openselfsup.utils.
    checkpoint_files.is_loadable_checkpoint`, the kNN reader's rule, which
    reads no ``.safetensors``),
    nor one named ``.safetensors`` (which ``torch.load``, as MMEngine's
    loaders call it, hands to safetensors:
    :func:`~openselfsup.utils.checkpoint_files.is_safetensors_name`). The
    rule of each reader here, and of extraction's check before it reads
    (which refused both of the latter, :func:`load_checkpoint_file`
    reading them).

    Raises:
        InputError: the file is missing or none of these.
    """
    check_file(path, 'checkpoint')
    if not (is_safetensors_name(path) or is_loadable_checkpoint(path)):
        raise not_a_checkpoint(path)


def load_checkpoint_file(path: str, map_location='cpu',
                         tensors_only: bool = False,
                         mmap: bool = False) -> dict:
    """``torch.load`` a checkpoint safely (``weights_only=True``).

    Args:
        path (str): the checkpoint file.
        map_location: as :func:`torch.load` (default: CPU).
        tensors_only (bool): for readers of the weights alone (extraction,
            kNN evaluation, backbone export): every pickled global that is
            not allow-listed (runtime state of a checkpoint written by plain
            MMEngine, e.g. its ``builtins.getattr``) is read as an inert
            placeholder instead of refused. Still ``weights_only=True``:
            nothing in the file is called. Default False (resume needs the
            real objects).
        mmap (bool): map the tensors' storage instead of reading it (for
            readers of the ``meta`` alone: a large checkpoint's weights are
            not read from disk).

    A file of torch's legacy format is read as torch reads it
    (:func:`load_legacy_checkpoint`), as MMEngine's loaders and the
    ``Pretrained`` check read it: extraction refused it as 'not a readable
    PyTorch checkpoint (truncated, or not written by torch.save)'. A file
    named ``.safetensors`` is read as ``torch.load`` reads it, with
    safetensors (a ``Pretrained`` file that trained before was refused so
    by the run, its check passing it). Under torch's opt-out
    (:func:`weights_only_opted_out`) objects that are not allow-listed
    are read as inert placeholders, not refused.

    Returns:
        dict: the checkpoint.

    Raises:
        InputError: the file is missing, truncated or holds objects that
            are not allow-listed (and ``tensors_only`` is False, without
            the opt-out).
    """
    register_safe_globals()
    check_checkpoint_file(path)
    if is_safetensors_name(path):
        weights_only_opted_out()  # (both set: torch refuses every file)
        try:
            return torch.load(path, map_location=map_location,
                              weights_only=True)
        except Exception as exc:  # noqa: BLE001 (safetensors' errors)
            raise InputError(f'{path}: not a safetensors file torch.load '
                             f'reads ({first_line(exc, with_type=True)})'
                             ) from None
    if not is_complete_checkpoint(path):  # (the legacy format)
        return load_legacy_checkpoint(path, tensors_only=tensors_only)
    return _torch_load(path, path, map_location, tensors_only, mmap=mmap)


def read_resumed(path: str) -> dict:
    """The checkpoint ``path`` a run resumes from, read for its meta and
    keys as the run reads it before its runner is built
    (:func:`~openselfsup.engine.runner.resume_notes`; the weights mapped,
    not read, objects that are not allow-listed read as placeholders:
    ``tensors_only``), which the launchers' check reads the same way
    before the refusals its meta decides
    (:func:`~openselfsup.config.check_resume_meta`), as the run does,
    where its pickle is of a protocol torch's weights-only reader refuses
    (``WEIGHTS_ONLY_PROTOCOLS``: the check reads other files without
    torch): a
    file refused here (a pickle torch cannot read) got the meta's line
    from the check and this one from the run. Imports torch.

    Raises:
        InputError: as :func:`load_checkpoint_file`; a damaged pickle or
            one of a protocol torch's weights-only reader does not read in
            ``--resume``'s line.
    """
    try:
        return load_checkpoint_file(path, tensors_only=True, mmap=True)
    except (DamagedPickle, UnreadProtocol) as exc:  # as the resume's load
        # names it
        raise InputError(f'--resume from {path}: {exc.what}') from None


def load_legacy_checkpoint(path: str, resume: bool = False,
                           tensors_only: bool = False,
                           source: Optional[BinaryIO] = None) -> Any:
    """A file of torch's legacy format (a pickle, not the zip archive
    ``torch.save`` writes since torch 1.6: older torchvision weights,
    ``_use_new_zipfile_serialization=False``), read as torch still loads
    it (``weights_only=True``, this project's allow-listed globals
    registered), where :func:`load_checkpoint_file` refuses it as no
    complete archive.

    Returns:
        what the file holds; None where it is of no such format: missing,
        empty, or a zip (whole, or cut short while it was written).

    Args:
        path (str): the file.
        resume (bool): it was to be resumed from
            (:func:`unpickling_refusal`'s advice).
        tensors_only (bool): as :func:`load_checkpoint_file`: objects
            that are not allow-listed read as inert placeholders (as under
            torch's opt-out, :func:`weights_only_opted_out`).
        source (binary file, optional): the file's bytes, already read
            (:func:`load_checkpoint_bytes`; ``path`` is then not read).

    Raises:
        InputError: not a zip, and torch cannot load it (another kind of
            file; an object that is not allow-listed, named as
            :func:`unpickling_refusal` names it: torch's first line was
            'Weights only load failed. This file can still be loaded...').
    """
    if source is None and (not os.path.isfile(path) or cut_short(path) or
                           has_zip_directory(path)):
        return None

    def rewound():  # the file, or its bytes from their start
        if source is None:
            return path
        source.seek(0)
        return source
    register_safe_globals()
    opted_out = weights_only_opted_out()  # (both set: refused first)
    inert = tensors_only or opted_out
    try:
        return torch.load(rewound(), map_location='cpu', weights_only=True,
                          mmap=False)
    except Exception as exc:  # noqa: BLE001 (pickle's errors and friends)
        saved = _placeholders_for(exc, path if source is None else rewound,
                                  inert)
        if saved is not _UNREAD:
            return saved
        refused = unpickling_refusal(
            path, exc, resume=resume,
            source=None if source is None else rewound) \
            if refused_global(exc) else None
        if refused is not None:
            raise refused from None
        unread = unread_protocol(path, exc,
                                 source=None if source is None else rewound)
        if unread is not None:  # a valid file: its protocol named
            raise unread from None
        raise InputError(f'{path}: neither a zip archive nor a checkpoint '
                         f'of torch\'s legacy format torch.load(weights_only'
                         f'=True) reads ({load_error(exc, with_type=True)})'
                         ) from None


def no_state_dict_in(saved: Any) -> Optional[str]:
    """Why MMEngine's ``load_checkpoint`` (a ``Pretrained`` ``init_cfg``'s
    load) finds no state dict in the checkpoint ``saved`` (what the file
    read as, objects that are not allow-listed as placeholders): its top
    level is no dict (a script's ``argparse.Namespace(state_dict=...)``,
    unpickled under torch's opt-out: MMEngine's 'No state_dict found in
    checkpoint file' traceback, and as ``load_from`` its AttributeError);
    None where it is one."""
    if isinstance(saved, dict):
        return None
    # (an object read as a placeholder, or as itself where MMEngine's load
    # of load_from unpickles it: the same words; a list, a tensor named)
    what = f'a {type(saved).__name__}' if not isinstance(saved, _Inert) \
        and type(saved).__module__ in ('builtins', 'torch') else 'an object'
    return (f'its top level is {what}, not a dict, where MMEngine\'s load '
            'finds no state dict; save the weights as a dict '
            "(torch.save({'state_dict': weights}, NEW.pth))")


def check_run_reads(path: str, head: str = '', resume: bool = False,
                    needs_dict: bool = False,
                    pretrained: bool = False) -> None:
    """Refuse the local checkpoint file ``path`` where the run's
    ``torch.load`` of it refuses it, in the run's line: the launchers'
    ``--check-config`` (:func:`~openselfsup.apis.train.check_launch`) for
    ``--resume``, ``load_from`` and a ``Pretrained`` ``init_cfg`` file,
    which it passed, exit 0, where the run refused it. The rule is torch's
    own, as the run meets it (the file loaded with ``weights_only=True``
    and this project's allow-list, :func:`register_safe_globals`; a zip's
    tensors mapped, not read; the legacy format's read whole): an object
    it refuses (an ``argparse.Namespace``, a class of the user's) is
    :func:`unpickling_refusal`'s line with ``head`` (``'--resume from '``,
    ``'load_from '``, ``'<key> (Pretrained, FILE): '``) and ``resume``,
    the run's (MMEngine's load of ``--resume`` and ``load_from``,
    :meth:`~openselfsup.engine.runner.AtomicRunner._unpickling_refused`;
    the ``Pretrained`` check, :func:`load_checkpoint_file`), not under
    torch's opt-out (:func:`weights_only_opted_out`: MMEngine's
    ``torch.load`` unpickles them); a file of the legacy format torch
    cannot read (cut short while it was written: the pickle has no CRC)
    is :func:`load_legacy_checkpoint`'s line with ``head``, the run's; a
    zip whose pickle torch cannot read (whole CRCs, other bytes than a
    pickle: 'Unsupported operand') :func:`damaged_pickle`'s, the run's
    (it passed). Any other error (a damaged member behind a whole zip
    directory) is left to the run, which tests every CRC. ``needs_dict`` (a
    ``Pretrained`` or ``load_from`` file): under the opt-out, a file whose top level is an
    object is :func:`no_state_dict_in`'s line with ``head``, the run's
    (its objects read as placeholders, :func:`read_inert`). A valid file
    whose pickle's protocol torch's weights-only reader does not read
    (``pickle_protocol=4``) is :func:`unread_protocol`'s line, the run's;
    under the opt-out it passes for ``load_from`` (MMEngine's load reads
    it), not for ``--resume`` (``resume``) nor a ``Pretrained`` file
    (``pretrained``), which the run reads with ``weights_only=True``
    first (the latter's line with :func:`opted_out_note`, the run's).
    Imports torch (about 1 s).

    Raises:
        InputError: one line, ``head`` then ``path``.
    """
    register_safe_globals()
    opted_out = weights_only_opted_out()  # (both set: refused first)
    legacy = is_legacy_format(path)
    try:
        torch.load(path, map_location='cpu', weights_only=True,
                   mmap=not legacy)
        return
    except Exception as exc:  # noqa: BLE001 (pickle's errors and friends)
        # a valid pickle of an operation torch's weights-only reader lacks
        # (protocol 4), either format: under the opt-out, MMEngine's load
        # of load_from reads it; the run's own reads of a Pretrained file
        # and of --resume's refuse it (weights_only=True), as here
        unread = unread_protocol(path, exc, head)
        if unread is not None:
            if opted_out and not (resume or pretrained):
                return
            note = opted_out_note(unread) if pretrained else ''
            raise (InputError(f'{unread}{note}') if note else unread) \
                from None
        # an object torch refuses: named (a pickle that is none, a damaged
        # member, is refused so too by torch, but names no object)
        refused = None if opted_out or refused_global(exc) is None else \
            unpickling_refusal(path, exc, head, resume=resume)
        if refused is not None:
            raise refused from None
        # a zip's pickle torch cannot read (the legacy format's: its
        # reader's line below): the run's line, where it passed
        damaged = None if legacy else damaged_pickle(path, exc, head)
        if damaged is not None:
            raise damaged from None
        if opted_out and needs_dict and refused_global(exc) is not None:
            try:
                why = no_state_dict_in(read_inert(path))
            except Exception:  # noqa: BLE001 (left to the run)
                why = None
            if why:  # (a head ending in ':' names the file: a Pretrained
                # key's; load_from's is followed by the path, as the run's)
                lead = head if head.rstrip().endswith(':') else \
                    f'{head}{path}: '
                raise InputError(f'{lead}{why}') from None
    if legacy:  # as the run's reader says what is wrong with it
        try:
            load_legacy_checkpoint(path, tensors_only=True)
        except InputError as exc:
            raise InputError(f'{head}{exc}') from None


def load_checkpoint_with_sha1(path: str, map_location='cpu',
                              tensors_only: bool = False
                              ) -> Tuple[dict, str]:
    """:func:`load_checkpoint_file` and the SHA-1 of the file's bytes (what
    identifies a checkpoint in the results made from it), from one read of
    the file: the bytes are hashed, checked (a complete archive) and
    loaded, where hashing the file after loading it read it again (and the
    completeness check once more). Same ``weights_only=True`` loading and
    refusals; the file's bytes are held in memory while it is loaded.

    Args:
        path (str): the checkpoint file.
        map_location, tensors_only: as :func:`load_checkpoint_file`.

    Returns:
        tuple: (the checkpoint, the hex SHA-1 of the file's bytes).

    Raises:
        InputError: as :func:`load_checkpoint_file`, and a file this
            process may not read (one line with the system's reason).
    """
    buffer, sha1 = read_checkpoint(path)
    return load_checkpoint_bytes(buffer, path, map_location,
                                 tensors_only), sha1


def load_checkpoint_bytes(buffer, path: str, map_location='cpu',
                          tensors_only: bool = False) -> dict:
    """``torch.load`` the bytes of the checkpoint ``path`` (a buffer,
    read and tested complete: :func:`~openselfsup.utils.checkpoint_files.
    read_checkpoint`, :func:`~openselfsup.utils.checkpoint_files.
    read_resolved_checkpoint`) safely, as :func:`load_checkpoint_file`
    (``map_location``, ``tensors_only``); a failure is one line naming
    ``path``.

    Raises:
        InputError: objects that are not allow-listed (and
            ``tensors_only`` is False), or bytes torch cannot load.
    """
    register_safe_globals()
    if is_legacy_format(buffer):  # read as load_checkpoint_file reads it
        return load_legacy_checkpoint(path, tensors_only=tensors_only,
                                      source=buffer)
    return _torch_load(buffer, path, map_location, tensors_only)


def _torch_load(source, path: str, map_location, tensors_only: bool,
                mmap: bool = False) -> dict:
    """``torch.load(source, weights_only=True)`` (``source``: ``path``, or
    a buffer of its bytes), non-allow-listed globals read as inert with
    ``tensors_only``; a failure is one line naming ``path``."""
    def rewound():
        if not isinstance(source, (str, os.PathLike)):  # a buffer
            source.seek(0)
        return source
    opted_out = weights_only_opted_out()  # (both set: refused first)
    extra = dict(mmap=True) if mmap else {}
    unsafe: List[str] = []
    try:
        # (a damaged pickle: torch's error here, as torch.load's below)
        unsafe = unsafe_globals(rewound()) if tensors_only else []
        with _inert_runtime(unsafe) if unsafe else contextlib.nullcontext():
            return torch.load(rewound(), map_location=map_location,
                              weights_only=True, **extra)
    except Exception as exc:  # pickle.UnpicklingError and friends
        # read as inert, the refused objects' names are the placeholder's
        # (tensors_only: read so already, and refused)
        saved = _placeholders_for(exc, rewound,
                                  opted_out and not tensors_only)
        if saved is not _UNREAD:
            return saved
        refused = unpickling_refusal(path, exc, names=unsafe,
                                     source=rewound)
        if refused is not None:
            raise refused from None
        # (a buffer's protocol read from it, not from path again)
        damaged = damaged_pickle(path, exc, source=rewound)
        if damaged is not None:
            raise damaged from None
        raise InputError(f'{path}: cannot load checkpoint with weights_only='
                         f'True ({first_line(exc, with_type=True)})') from None


def _placeholders_for(exc: BaseException, source, inert: bool) -> Any:
    """Where ``torch.load(weights_only=True)`` refused an object
    (``exc``: :func:`is_weights_only_refusal`) and ``inert`` (torch's
    opt-out, :func:`weights_only_opted_out`, or a reader of the tensors
    alone), the checkpoint ``source`` (as :func:`read_inert` takes it)
    read with such objects as placeholders; else, or where it cannot be
    read so (a dict subclass holding the weights), :data:`_UNREAD` (the
    refusal is then the caller's)."""
    if inert and is_weights_only_refusal(exc):
        try:
            return read_inert(source)
        except Exception:  # noqa: BLE001 (not so read: refused)
            pass
    return _UNREAD


#: :func:`_placeholders_for` did not read the file
_UNREAD = object()


#: the errors of torch's weights-only unpickler (``torch.
#: _weights_only_unpickler``) for bytes it cannot read as a pickle (random
#: bytes, a damaged pickle): torch.load wraps them in the same 'Weights
#: only load failed' as a refused object, with the advice to load the file
#: with ``weights_only=False``
DAMAGED_PICKLE_ERRORS = ('Unsupported operand', 'String is too long',
                         'persistent_load id must be',
                         'Only persistent_load of storage',
                         'unsupported persistent id')


def is_weights_only_refusal(exc: BaseException) -> bool:
    """Whether ``torch.load(weights_only=True)`` raised ``exc`` refusing
    a pickled class or call (not another error of the file: torch says
    'Weights only load failed' too for a pickle it cannot read,
    :data:`DAMAGED_PICKLE_ERRORS`)."""
    return isinstance(exc, pickle.UnpicklingError) and \
        'Weights only load failed' in str(exc) and \
        not any(words in str(exc) for words in DAMAGED_PICKLE_ERRORS)


def damaged_pickle(path: str, exc: BaseException, head: str = '',
                   source=None) -> Optional[InputError]:
    """The one-line refusal of the checkpoint ``path`` whose ``torch.load``
    raised ``exc``, where that is an unpickler's error that refuses no
    object (:func:`is_weights_only_refusal`): the pickle in it is damaged,
    or is none torch wrote (a zip of torch's layout whose ``data.pkl`` is
    other bytes, CRCs whole; under torch's opt-out, Python's unpickler's
    'invalid load key'). It was said to hold objects refused for safety,
    with the advice to read it with ``weights_only=False``, or was
    torch's traceback. A pickle that parses whole, of an operation the
    weights-only reader lacks (protocol 4), is no damage:
    :func:`unread_protocol`'s line. ``head`` (``'load_from '``) comes
    before the path; ``source``: as :func:`unread_protocol`'s. None for
    another error."""
    if not isinstance(exc, pickle.UnpicklingError) or \
            is_weights_only_refusal(exc):
        return None
    unread = unread_protocol(path, exc, head, source)
    if unread is not None:
        return unread
    line = str(not_a_checkpoint(path, 'its pickle is damaged, or is not '
                                f'one torch.save wrote: {load_error(exc)}'))
    damaged = DamagedPickle(f'{head}{line}')
    damaged.what = line[len(f'{path}: '):]  # for a line naming the file
    return damaged


def unread_protocol(path: str, exc: BaseException, head: str = '',
                    source=None) -> Optional['UnreadProtocol']:
    """The one-line refusal of the checkpoint ``path`` (either format)
    whose ``torch.load(weights_only=True)`` raised ``exc``, an operation
    its unpickler does not read ('Unsupported operand 149', ``FRAME``),
    where the file's pickle parses whole
    (:func:`~openselfsup.utils.checkpoint_files.pickle_protocol`): a valid
    file saved with ``torch.save(..., pickle_protocol=4)`` (or 5), which
    ``torch.load(weights_only=False)`` reads. It was said to be damaged
    (since 14d8d5b); before, to hold objects refused for safety. The line
    names the protocol and, for a file of a trusted source, the command
    that saves it again in torch's default protocol, where the file was
    written whole: a pickle whose syntax is whole may still be damaged
    (in a zip without CRCs or of the legacy format), which that command's
    load may refuse (a memo index of no entry) or read without a word to
    wrong values (a byte of a float's). ``head``
    (``'load_from '``) comes before the path; ``source``: a callable
    giving the file's bytes from their start (a buffer of them), where
    ``path`` is not to be read again. None for another error, or a
    pickle that does not parse (damaged)."""
    said = load_error(exc)
    found = re.match(r'Unsupported operand (\d+)', said)
    if not isinstance(exc, pickle.UnpicklingError) or not found:
        return None
    protocol = pickle_protocol(source() if callable(source) else
                               source if source is not None else path)
    if protocol is None:
        return None
    code = int(found.group(1))
    opcode = next((op for op in pickletools.opcodes
                   if code < 256 and op.code == chr(code)), None)
    # torch's reader reads protocols 2 and 3; the operation it lacks must
    # be one of the file's protocol the others lack (FRAME of 4, INT of
    # 0): a damaged pickle of protocol 2 may still parse whole (a byte
    # turned into POP), and the line's advice would not read it
    if opcode is None or protocol in WEIGHTS_ONLY_PROTOCOLS or (
            protocol >= 4 and opcode.proto < 4):
        return None
    op = opcode.name
    what = (f'its pickle, of protocol {protocol}, uses an operation '
            f'torch.load(weights_only=True) does not read ({said}'
            f': {op}); if you trust its source and it was written whole '
            "(its pickle's syntax alone is checked here: a damaged file "
            "may still fail the command's load, or load wrong values), "
            "save it again in torch's default protocol and give that "
            'file: import torch, openselfsup.engine; torch.save('
            'torch.load(FILE, weights_only=False), NEW)')
    unread = UnreadProtocol(f'{head}{path}: {what}')
    unread.what = what
    return unread


def load_error(exc: BaseException, with_type: bool = False) -> str:
    """``torch.load``'s error ``exc`` as a refusal quotes it
    (:func:`~openselfsup.utils.errors.first_line`), the weights-only
    unpickler's own words where torch wrapped them ('Unsupported operand
    255', not the first line 'Weights only load failed. In PyTorch 2.6,
    ... Re-running torch.load with weights_only set to False will likely
    succeed', untrue of a damaged file)."""
    found = re.search(r'WeightsUnpickler error:\s*(\S[^\n]*)', str(exc))
    if not found:
        return first_line(exc, with_type=with_type)
    said = found.group(1).strip()
    return f'{type(exc).__name__}: {said}' if with_type else said


class DamagedPickle(InputError):
    """:func:`damaged_pickle`'s line; ``what``: the line after the file's
    name."""

    what = ''


class UnpicklingRefused(InputError):
    """:func:`unpickling_refusal`'s line: a checkpoint holding objects
    ``torch.load(weights_only=True)`` refuses (with torch's opt-out, where
    they cannot be read as placeholders either); ``what``: the line after
    the file's name."""

    what = ''


class UnreadProtocol(UnpicklingRefused):
    """:func:`unread_protocol`'s line: a valid checkpoint whose pickle's
    protocol ``torch.load(weights_only=True)`` does not read; ``what``:
    the line after the file's name."""


def opted_out_note(exc: BaseException) -> str:
    """What a ``Pretrained`` file's refusal ``exc`` (the run's read of it,
    ``weights_only=True``) adds under torch's opt-out
    (:func:`weights_only_opted_out`), where MMEngine's own load of the
    file would unpickle what was refused: that ``load_from_check=False``
    leaves the file to that load. Empty for another refusal, or without
    the opt-out."""
    if not isinstance(exc, UnpicklingRefused) or \
            not weights_only_opted_out():
        return ''
    how = '' if isinstance(exc, UnreadProtocol) else \
        ' with the objects as placeholders'
    return (f' (not read here{how}; with TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD, '
            'load_from_check=False leaves it to MMEngine\'s load, unchecked)')


def refused_global(exc: BaseException) -> Optional[str]:
    """What ``torch.load(weights_only=True)`` refused to unpickle, from its
    error ``exc``, whose first line names nothing: the class or function
    (``module.name``: ``GLOBAL os.makedirs``), or, once this project's
    numpy globals are allowed, the type numpy's array rebuild met; None
    where the error names none. A global of ``builtins`` is named so
    (``builtins.getattr``, the key torch's allow-list takes): torch's
    error drops the module (``GLOBAL getattr``, a name no other module's
    global is without a dot), where read as given the placeholder allowed
    for it never matched, and the legacy format's file was refused."""
    found = re.search(r'GLOBAL ([\w.]+)|' r"but got <class '([\w.]+)'>",
                      str(exc))
    if not found:
        return None
    if found.group(1) and '.' not in found.group(1):
        return f'builtins.{found.group(1)}'
    return found.group(1) or found.group(2)


def _literal(key: Any) -> bool:
    """Whether ``key``'s ``repr`` is a Python literal that gives it back
    (a string, a number): a key the advised ``del c[...]`` can name."""
    try:
        return type(key) in (str, bytes, int, float, bool, type(None)) \
            and ast.literal_eval(repr(key)) == key
    except (ValueError, SyntaxError):
        return False


def unpickling_refusal(path: str, exc: BaseException, head: str = '',
                       names: Optional[List[str]] = None,
                       resume: bool = False,
                       source=None) -> Optional['UnpicklingRefused']:
    """The one-line refusal of the checkpoint ``path`` whose
    ``torch.load(weights_only=True)`` raised ``exc``, where that is the
    weights-only unpickler's refusal (a pickled class or call other than
    tensors, numbers, strings, plain containers and the allow-listed
    :func:`safe_globals`), naming what it refused
    (:func:`refused_global`); torch's own error is some ten lines that
    advise ``weights_only=False``. None for another error. ``head``
    (``'load_from '``) comes before the path; ``names``: the objects'
    (:func:`unsafe_globals`), where known (default: those found reading
    the file with them as placeholders, else the one ``exc`` names), named
    all, sorted (:func:`refused_words`; it named ``exc``'s first only).
    ``resume``: the checkpoint was to be resumed from, which its weights
    alone cannot be (not a training checkpoint): the line says to start a
    new run from them instead of giving them. ``source``: a callable
    giving the file's bytes from their start (a buffer of them), where
    ``path`` is not to be read again.

    The advice is the file's own (:func:`refused_entries`): the command
    that deletes the entries holding the refused objects and saves the
    rest (a DINO file's ``args`` beside its ``student`` and ``teacher``,
    MAE's beside ``model``), where it said to keep ``["state_dict"]``,
    a KeyError on every file without one."""
    if not is_weights_only_refusal(exc):
        return None
    # one read, as placeholders: every refused object's name (torch's
    # error names the first only) and where they sit
    found: List[str] = []
    try:
        saved = _read_inert_into(source if source is not None else path,
                                 found)
        told = bool(_entries_in(saved))
        # the advised command saves it again with openselfsup.engine
        # imported, which pickles plain MMEngine's HistoryBuffers as
        # weights_only=True loads them: those are kept (with a resume's
        # message_hub, the training state: deleted, the file resumed no
        # more), the others deleted (none: saved again alone)
        entries = _entries_in(saved, resaved=True) if told else []
    except Exception:  # noqa: BLE001 (not so read: no entries known)
        told, entries = False, []
    first = refused_global(exc)
    names = names or found or ([first] if first else [])
    what = f' ({refused_words(names)})' if names else ''
    if told and all(_literal(k) for at in entries for k in at):
        dels = ''.join(f'del c{"".join(f"[{k!r}]" for k in at)}; '
                       for at in entries)
        # this project's pickling (import openselfsup.engine) saves the
        # logged history's HistoryBuffer as weights_only=True loads it;
        # plain MMEngine's re-pickled it with getattr, refused again
        save = ('import torch, openselfsup.engine; c = torch.load(FILE, '
                f'weights_only=False); {dels}torch.save(c, NEW)')
        # the training state MMEngine's resume reads: kept whole, the
        # file without them resumes (an object beside the meta's epoch)
        state = ('state_dict', 'optimizer', 'param_schedulers',
                 'message_hub')
        kept = all(at[0] not in state + ('meta',) or
                   at[0] == 'meta' and len(at) > 1 for at in entries)
        todo = (f'save it without them and resume from that file: {save}, '
                'then --resume NEW' if resume and kept else
                'start a new run from its weights (the training state '
                f'holds them): {save}, then --cfg-options load_from=NEW '
                '--work-dir NEW_DIR' if resume
                else f'save it without them and give that file: {save}')
    else:  # not found in plain containers (the file is such an object),
        # or under a key no del c[...] names (a PosixPath, np.int64(3))
        todo = ('save its tensors in plain dicts (torch.load(FILE, '
                'weights_only=False) reads it) and ' + (
                    'start a new run from them: --cfg-options load_from=NEW '
                    '--work-dir NEW_DIR' if resume else 'give that file'))
    said = (f'holds objects other than tensors and plain containers{what}'
            ', not unpickled for safety (unpickling them can run code from '
            'the file; torch.load weights_only=True); if you trust its '
            f'source, {todo}')
    refused = UnpicklingRefused(f'{head}{path}: {said}')
    refused.what = said  # for a line naming the file its own way
    return refused


def read_inert(source) -> Any:
    """The checkpoint ``source`` (a path, or a callable giving a buffer of
    its bytes from their start), in either format, with every object
    ``torch.load(weights_only=True)`` refuses read as an inert placeholder
    (:class:`_Inert`; still ``weights_only=True``, nothing in the file is
    called): the zip's names from :func:`unsafe_globals`, the legacy
    format's found one load at a time (:func:`_read_inert_into`).

    Raises:
        Exception: torch's error where it cannot be read so (an object
            that holds the weights, a dict subclass; no checkpoint).
    """
    return _read_inert_into(source, [])


def _read_inert_into(source, names: List[str]) -> Any:
    """:func:`read_inert`, the ``module.name`` of each refused object read
    as a placeholder added to ``names`` as it is found (those found before
    an error too)."""
    def read():
        return source() if callable(source) else source
    try:
        names.extend(unsafe_globals(read()))
    except Exception:  # noqa: BLE001 (the legacy format: one at a time)
        pass
    while True:
        try:
            with _inert_runtime(names):
                return torch.load(read(), map_location='cpu',
                                  weights_only=True)
        except Exception as exc:  # noqa: BLE001
            name = refused_global(exc)
            # (a placeholder of this module's named: one that cannot stand
            # where it is, a dict subclass's items set on it)
            if not name or name in names or len(names) > 64 or \
                    name.startswith(f'{__name__}.'):
                raise
            names.append(name)


#: the most refused objects a refusal names (sorted; the others counted)
NAMED_REFUSED = 5


def refused_words(names: List[str]) -> str:
    """The refused objects ``names`` (``module.name``) as a refusal names
    them: each once, sorted, at most :data:`NAMED_REFUSED`, then how many
    more (``argparse.Namespace, builtins.set and 3 more``)."""
    names = sorted(set(names))
    shown = ', '.join(names[:NAMED_REFUSED])
    more = len(names) - NAMED_REFUSED
    return f'{shown} and {more} more' if more > 0 else shown


def refused_entries(source) -> List[tuple]:
    """Where the objects ``torch.load(weights_only=True)`` refuses sit in
    the checkpoint ``source`` (a path, or a callable giving a buffer of
    its bytes from their start): the key paths, through the file's dicts,
    of each one (``[('args',)]`` for ``{'model': sd, 'args': Namespace}``;
    each of several in a dict, not the dict: a training checkpoint's
    ``meta`` keeps what a resume reads). Read with them as inert placeholders
    (:func:`read_inert`). Each container is walked once (:func:`_refused_ids`):
    a dict the pickle's memo shares is told at the first path that meets
    it (deleting there deletes from the one object every path reaches).
    Empty where the file cannot be read so, the file itself (or a list
    holding it) is such an object, or the walk is cut short (more
    containers than :data:`WALK_LIMIT`, a crafted file's or a plain one's
    of a million small lists; dicts nested past Python's stack): the
    entries found until then are not told either, as a command deleting
    them alone could leave others to be refused again."""
    try:
        obj = read_inert(source)
    except Exception:  # noqa: BLE001 (not so read: no entries known)
        return []
    return _entries_in(obj)


def _entries_in(obj: Any, resaved: bool = False) -> List[tuple]:
    """:func:`refused_entries` of the checkpoint ``obj``, read by
    :func:`read_inert` (``resaved``: as :func:`_refused_ids`)."""
    try:
        # what is or holds a refused object
        marked = _refused_ids(obj, resaved)
    except _WalkTooLong:  # more containers than the walk visits: what
        # was found may not be all, so none is told (the general words)
        return []
    met = set()  # the dicts met

    def found(value, at: tuple) -> List[tuple]:
        if id(value) not in marked:
            return []
        if not isinstance(value, dict):  # a placeholder, a list, a tuple
            return [at]
        if id(value) in met:  # met before (the pickle's memo shares it):
            # its entries are deleted where it was first met
            return []
        met.add(id(value))  # a dict holding itself: nothing more
        # an entry whose key is or holds a refused object is told whole
        # (its key no literal: the advice is then the general one)
        return [p for k, v in value.items()
                for p in ([at + (k,)] if id(k) in marked
                          else found(v, at + (k,)))]
    try:
        entries = found(obj, ())
    except RecursionError:  # dicts nested past Python's stack: what was
        # found may not be all, so none is told (the general words)
        return []
    return [] if () in entries else entries


@contextlib.contextmanager
def _inert_runtime(unsafe: List[str]):
    """Read ``unsafe`` globals, and MMEngine's runtime classes, as
    :class:`_Inert` (:class:`_InertRuntime`) for one ``torch.load``.

    The runtime classes are swapped too: a plain-MMEngine ``HistoryBuffer``
    would otherwise be rebuilt around inert statistics functions, and its
    ``__setstate__`` writes those into the class-wide registry, breaking
    every later run's logging in the process.
    """
    serialization = torch.serialization
    saved = serialization.get_safe_globals()
    runtime = _mmengine_globals()
    serialization.clear_safe_globals()
    serialization.add_safe_globals(
        [g for g in saved if g not in runtime]
        + [(_Inert, name) for name in unsafe]
        + [(_InertRuntime, f'{g.__module__}.{g.__qualname__}')
           for g in runtime])
    try:
        yield
    finally:
        serialization.clear_safe_globals()
        serialization.add_safe_globals(saved)


#: prefixes that model wrappers (DDP ``module.``, EMA or checkpoint
#: averaging ``model.``) put in front of parameter names
WRAPPER_PREFIXES = ('module.', 'model.')


def strip_wrapper_prefixes(key: str) -> str:
    """A parameter name without the wrapper prefixes in front of it
    (``module.backbone.conv1.weight`` -> ``backbone.conv1.weight``); the one
    place that knows them."""
    changed = True
    while changed:
        changed = False
        for prefix in WRAPPER_PREFIXES:
            if key.startswith(prefix):
                key, changed = key[len(prefix):], True
    return key


#: the entries a checkpoint file may keep its state dict under: MMEngine's
#: ``state_dict``, DeiT / MAE's ``model`` (``{'model': sd, 'optimizer':
#: ..., 'epoch': ...}``), a DDP wrapper's ``module``; tried in this order
STATE_DICT_KEYS = ('state_dict', 'model', 'module')


def _holds_tensor(obj: Any) -> bool:
    """Whether ``obj`` is a dict with a tensor at its top level."""
    return isinstance(obj, dict) and \
        any(isinstance(v, torch.Tensor) for v in obj.values())


def state_dict_keys(obj: Any) -> Optional[tuple]:
    """The keys that lead to the state dict inside a loaded checkpoint
    (:func:`unwrap_state_dict`'s rule): ``()`` where ``obj`` is a dict
    holding a tensor at its top level, ``('model',)`` for ``{'model':
    sd, 'epoch': 3}``, ``('model', 'state_dict')`` for ``{'model':
    {'state_dict': sd}}``; None where no entry of
    :data:`STATE_DICT_KEYS` holds one."""
    # depth first in the keys' order, as a recursion would go, without
    # one: each dict once (a dict met again led to no state dict, or is
    # on the way to it: a cycle), so a file sharing one dict under every
    # key level after level, or nesting one 100,000 deep, is read in time
    # linear in its dicts, with no RecursionError
    seen, ways = set(), []  # ways: (index of the way above, key)
    stack = [(obj, -1)]
    while stack:
        node, way = stack.pop()
        if not isinstance(node, dict) or id(node) in seen:
            continue
        seen.add(id(node))
        if _holds_tensor(node):
            keys = []
            while way >= 0:
                way, key = ways[way]
                keys.append(key)
            return tuple(reversed(keys))
        for key in reversed(STATE_DICT_KEYS):
            if key in node:
                ways.append((way, key))
                stack.append((node[key], len(ways) - 1))
    return None


def unread_state_dict(saved: Any, reader: str) -> Optional[str]:
    """The refusal's words for a loaded checkpoint ``saved`` whose state
    dict MMEngine's ``reader`` (``Pretrained``, ``load_from``: the file's
    ``['state_dict']`` or its top level) does not read: one under another
    key (:func:`state_dict_keys`: DeiT / MAE's ``{'model': sd, ...}``), or
    DINO's (``main_dino.py``: ``{'student': sd, 'teacher': sd, 'args':
    ...}``), with the command that saves it as the ``state_dict`` (the
    teacher's, the weights DINO's evaluation reads by default). The file is
    read with ``weights_only=True``, or ``False`` under torch's opt-out
    (:func:`weights_only_opted_out`), whose user trusts the file's objects
    (MAE's ``args``). None where it reads the file's state dict."""
    keys, what = state_dict_keys(saved), 'them'
    if keys is None and isinstance(saved, dict) and \
            _holds_tensor(saved.get('teacher')) and \
            _holds_tensor(saved.get('student')):
        keys, what = ('teacher',), 'the teacher\'s (DINO evaluates it)'
    if not keys or keys == ('state_dict',):
        return None
    at = ''.join(f'[{k!r}]' for k in keys)
    where = at if keys != ('teacher',) or what == 'them' else \
        '[\'student\'] and [\'teacher\'] (DINO\'s)'
    return (f'its tensors are under {where} in the file, which MMEngine\'s '
            f'{reader} does not read (it reads [\'state_dict\'] or the '
            f'file\'s top level): save {what} as its state_dict and give '
            'that file: import torch, openselfsup.engine; torch.save('
            '{"state_dict": torch.load(FILE, weights_only='
            f'{not weights_only_opted_out()}){at}}}, NEW)')


def unwrap_state_dict(obj: Any) -> Any:
    """The state dict inside a loaded checkpoint: ``obj`` itself where it
    holds a tensor at its top level, else the first entry of
    :data:`STATE_DICT_KEYS` that is a dict holding one once unwrapped in
    turn (``{'model': {'state_dict': sd}}`` is ``sd``); ``obj`` where none
    is, so that a refusal names the file's own keys (``{'model':
    {'type': 'ResNet'}, 'epoch': 3}`` was refused for 'type', the keys of
    a model config, and ``{'model': config, 'module': sd}`` was refused
    for the config). The one rule of the weight readers
    (:func:`state_dict_of`, the timm / open_clip ``--weights``)."""
    for key in state_dict_keys(obj) or ():
        obj = obj[key]
    return obj


def state_dict_of(obj, path: str) -> dict:
    """The state dict inside a loaded checkpoint (:func:`unwrap_state_dict`:
    ``obj['state_dict']``, ``obj['model']``, ``obj['module']`` or ``obj``
    itself), with wrapper prefixes stripped.

    Raises:
        InputError: not a dict of parameters.
    """
    obj = unwrap_state_dict(obj)
    if not isinstance(obj, dict):
        raise InputError(f'{path}: expected a checkpoint (a dict), found '
                         f'{type(obj).__name__}')
    return {strip_wrapper_prefixes(str(k)): v for k, v in obj.items()}


def extract_backbone_weights(checkpoint: str, out: str,
                             prefix: str = 'backbone.') -> int:
    """Write the backbone's weights of a training checkpoint to ``out``.

    The output is ``{'state_dict': {name: tensor}}`` with ``prefix``
    stripped from every name, so that ``ResNet`` (or the backbone of another
    config) loads it directly, e.g. through
    ``init_cfg=dict(type='Pretrained', checkpoint=out)``. Written atomically.
    Beside them a ``meta`` of what extraction judges them by (read as from
    the training checkpoint): the training image size and lists and, for
    the model's backbone (``prefix`` ``'backbone.'``), the training config
    as the checkpoint holds it (``meta['cfg']``, its text: extraction
    with another normalisation or backbone setting than trained is warned
    of). The file stays loadable by ``torch.load(weights_only=True)``.

    Args:
        checkpoint (str): a checkpoint written by training.
        out (str): the output file (``.pth``).
        prefix (str): the backbone's key prefix in the model's state dict.

    Returns:
        int: the number of tensors written.

    Raises:
        InputError: unreadable checkpoint, no key starts with ``prefix``, an
            output that is a folder, unwritable, the checkpoint itself, or
            an existing file that is not backbone weights this function
            wrote (a training checkpoint, say).
    """
    from .io import check_replaceable, check_writable, save_torch
    check_writable(out)
    if os.path.isfile(out) and os.path.isfile(checkpoint) and \
            os.path.samefile(checkpoint, out):
        raise InputError(f'{out}: is the checkpoint itself; the backbone '
                         'weights would replace it (give another file)')

    def own() -> bool:
        try:
            old = load_checkpoint_file(out, tensors_only=True)
        except InputError:
            return False
        return _is_backbone_export(old)

    check_replaceable(out, (), 'backbone weights written by this tool (a '
                      'training checkpoint or another file)', flag='output',
                      own=own)
    obj = load_checkpoint_file(checkpoint, tensors_only=True)
    state = state_dict_of(obj, checkpoint)
    weights = {k[len(prefix):]: v for k, v in state.items()
               if k.startswith(prefix)}
    if not weights:
        heads = sorted({k.split('.')[0] for k in state})
        # the output of an earlier export given again (the quick start's
        # backbone.pth) said only which names it lacks
        export = ('; it holds backbone weights already (as this tool '
                  'writes them): give it to extraction as it is'
                  if _is_backbone_export(obj) else '')
        raise InputError(f'{checkpoint}: no weights start with {prefix!r} '
                         f'(top-level names: {", ".join(heads[:8])})'
                         + export)
    saved = {'state_dict': weights}
    meta = {}
    size = checkpoint_image_size(obj, checkpoint)
    if size is not None:  # read by extraction (another size is warned of)
        meta['train_image_size'] = list(size)
    lists = checkpoint_train_lists(obj)
    if lists is not None:  # read by extraction (held-out classes)
        names = [name for name, _ in lists]
        meta['train_list'] = names[0] if len(names) == 1 else names
        from ..config import (TRAIN_PREFIX_KEY, TRAIN_ROOT_KEY,
                              saved_data_prefixes)
        roots = [root for _, root in lists]
        if None not in roots:  # which dataset's lists (initial weights)
            kept = list(dict.fromkeys(roots))
            meta[TRAIN_ROOT_KEY] = kept[0] if len(kept) == 1 \
                else roots  # one per list, in order
            # each list's data prefixes (every part's: extraction reads
            # the list under each, as the training-time check read it)
            prefixes = saved_data_prefixes(obj.get('meta'))
            if prefixes is not None and all(
                    each and all(isinstance(p, (str, dict)) for p in each)
                    for each in prefixes):
                meta[TRAIN_PREFIX_KEY] = prefixes[0][0] if all(
                    each == [prefixes[0][0]] for each in prefixes) else [
                    each[0] if len(each) == 1 else each
                    for each in prefixes]
        # what its initial weights saw (held-out classes too), with roots
        from ..config import init_lists_meta
        meta.update(init_lists_meta(checkpoint_init_lists(obj)))
    text = checkpoint_config(obj)
    if text is not None and prefix == 'backbone.':
        # read by extraction as from the training checkpoint: another
        # normalisation or backbone setting than trained is warned of
        # (config.trained_feature_changes); the weights of another prefix
        # are not the model.backbone that config describes
        meta['cfg'] = text
    if meta:
        saved['meta'] = meta
    save_torch(out, saved)
    return len(weights)


def _is_backbone_export(obj: Any) -> bool:
    """Whether a loaded checkpoint file is what
    :func:`extract_backbone_weights` writes: ``state_dict`` and a meta of
    the training image size, lists and config text only (a full model with
    its training meta, which mmpretrain's publish_model.py keeps with the
    state dict, is not)."""
    meta = obj.get('meta', {}) if isinstance(obj, dict) else None
    return (isinstance(obj, dict) and 'state_dict' in obj
            and set(obj) <= {'state_dict', 'meta'}
            and is_backbone_export_meta(meta))


def is_backbone_export_meta(meta: Any) -> bool:
    """Whether a checkpoint's ``meta`` is one that
    :func:`extract_backbone_weights` writes (the training image size,
    lists and config text only; a training run's holds more)."""
    from ..config import (INIT_LISTS_KEY, INIT_ROOTS_KEY, TRAIN_PREFIX_KEY,
                          TRAIN_ROOT_KEY)
    return isinstance(meta, dict) and set(meta) <= {
        'train_image_size', 'train_list', 'cfg', INIT_LISTS_KEY,
        INIT_ROOTS_KEY, TRAIN_ROOT_KEY, TRAIN_PREFIX_KEY}


def checkpoint_config(obj: Any) -> Optional[str]:
    """The training config MMEngine keeps in a checkpoint
    (``meta['cfg']``, its text), or None."""
    meta = obj.get('meta') if isinstance(obj, dict) else None
    text = meta.get('cfg') if isinstance(meta, dict) else None
    return text if isinstance(text, str) else None


def unfinished_run(obj: Any) -> Optional[Tuple[str, int, str, int]]:
    """Where a training checkpoint stands in a run that had not reached
    its end: ``(unit, at, key, end)`` (``('epoch', 2, 'max_epochs', 30)``)
    where its meta's epoch (iteration) is short of the training loop's
    ``max_epochs`` (``max_iters``) in the config it records
    (:func:`run_position`); None for a checkpoint at its run's end, or one
    whose loop cannot be read (no config, a loop of its own)."""
    text = checkpoint_config(obj)
    if text is None:
        return None
    from ..config import config_text_section
    where = run_position(obj, config_text_section(text, 'train_cfg'),
                         config_text_section(text, 'default_hooks'))
    if where is None or where[1] >= where[3]:
        return None
    return where[0], where[4], where[2], where[3]


def run_position(obj: Any, loop: Any, hooks: Any
                 ) -> Optional[Tuple[str, int, str, int, int]]:
    """Where the training checkpoint ``obj`` (its meta) stands in the
    training loop ``loop`` (a ``train_cfg``: its own run's, or the one a
    ``--resume`` of it would train to) saved by the ``default_hooks``
    ``hooks``: ``(unit, done, key, end, at)``, ``('epoch', 2,
    'max_epochs', 30, 2)``, ``done >= end`` where that loop has nothing
    left to train from it. The loop is the one MMEngine's runner builds
    from ``loop`` (the ``type``, else the one ``by_epoch`` chooses, read as
    the key check reads it, :func:`~openselfsup.config._untyped`:
    ``dict(max_iters=100)`` is an iteration loop); ``at`` the meta's epoch
    (iteration). An epoch-based run that saves by iteration
    (``default_hooks.checkpoint.by_epoch=False``) records the epochs it
    completed, its last checkpoint in epoch ``max_epochs - 1``: it is
    judged by the epoch it was saved in (``done = at + 1``). None where
    the meta or the loop cannot be read (a loop of its own)."""
    meta = obj.get('meta') if isinstance(obj, dict) else None
    if not isinstance(meta, dict) or not isinstance(loop, dict):
        return None
    from ..config import train_loop_kind
    # the loop MMEngine's runner built from it, as the key check reads it
    kind = train_loop_kind(loop)
    if kind == 'EpochBasedTrainLoop':
        unit, key, meta_key = 'epoch', 'max_epochs', 'epoch'
    elif kind == 'IterBasedTrainLoop':
        unit, key, meta_key = 'iteration', 'max_iters', 'iter'
    else:
        return None
    at, end = meta.get(meta_key), loop.get(key)
    if not (isinstance(at, int) and isinstance(end, (int, float))) or \
            isinstance(end, bool):
        return None
    hook = hooks.get('checkpoint') if isinstance(hooks, dict) else None
    # an epoch-based run saving by iteration (checkpoint.by_epoch=False):
    # MMEngine's meta then counts the epochs completed, and the last
    # iteration's checkpoint of an ended run is at max_epochs - 1
    done = at + 1 if unit == 'epoch' and isinstance(hook, dict) and \
        hook.get('by_epoch', True) is False else at
    return unit, done, key, int(end), at


def resolve_trained_checkpoint(path: str, flag: str = '',
                               logger=None) -> str:
    """:func:`~openselfsup.utils.checkpoint_files.resolve_checkpoint` for
    readers of a trained encoder (backbone export, feature extraction): a
    run's work dir stands for its last complete checkpoint only when the
    run ended. An interrupted run's folder (pre-empted at epoch 150 of 200)
    gave its newest checkpoint without a word, and its features were
    taken for the trained encoder's. A checkpoint file is taken as given.
    In a work dir, the checkpoint picked is one the loaders read whole
    (:func:`~openselfsup.utils.checkpoint_files.is_whole_loadable`): a
    newest file of torch's legacy format was passed over for an older zip;
    a newest one cut short while it was written was picked (and refused)
    over an older complete one. A newer file passed over is named on
    ``logger`` (an MMEngine logger; its warnings), as ``--resume`` names
    it.

    Raises:
        InputError: as ``resolve_checkpoint``, or a work dir whose newest
            complete checkpoint is short of its run's end
            (:func:`unfinished_run`; read for its meta, the weights mapped).
    """
    from .checkpoint_files import resolve_checkpoint
    found = resolve_checkpoint(path, flag, is_complete=is_whole_loadable,
                               logger=logger)
    if not os.path.isdir(path):
        return found
    where = unfinished_run(load_checkpoint_file(found, tensors_only=True,
                                                mmap=True))
    if where is None:
        return found
    unit, at, key, end = where
    head = f'{flag} ' if flag else ''
    raise InputError(
        f'{head}{path}: its run has not ended: its newest complete '
        f'checkpoint, {os.path.basename(found)}, is at {unit} {at} of '
        f'train_cfg.{key} = {end} (an interrupted run); resume it '
        f'(tools/train.py CONFIG --resume {path}), or give the checkpoint '
        f'file ({found}) to use it as it is')


def checkpoint_train_lists(obj: Any
                           ) -> Optional[Tuple[Tuple[str, Optional[str]],
                                               ...]]:
    """The training lists (``ann_file``) the checkpoint's encoder was
    trained on (several: a ``ConcatDataset``'s parts), each with its
    ``data_root`` (None where not recorded), read from its meta
    (:func:`~openselfsup.config.saved_list_roots`: the backbone weights'
    ``train_list``, else the training config); None where neither is
    there."""
    from ..config import saved_list_roots
    return saved_list_roots(obj.get('meta') if isinstance(obj, dict)
                            else None)


def checkpoint_init_lists(obj: Any
                          ) -> Tuple[Tuple[str, Optional[str]], ...]:
    """The training lists the checkpoint's encoder saw through its run's
    initial weights, each with its ``data_root``
    (:func:`~openselfsup.config.saved_init_list_roots`); empty where its
    meta records none."""
    from ..config import saved_init_list_roots
    return saved_init_list_roots(obj.get('meta') if isinstance(obj, dict)
                                 else None)


def checkpoint_image_size(obj: Any, source: Optional[str] = None
                          ) -> Optional[Tuple[int, int]]:
    """``(w, h)`` of the images the checkpoint's encoder was trained on:
    from the training config in a training checkpoint (through MMEngine's
    dataset wrappers; parts of other sizes: none, said in a warning line
    naming ``source`` where given,
    :func:`~openselfsup.config.trained_image_size`), or the
    ``meta['train_image_size']`` that :func:`extract_backbone_weights`
    writes beside backbone weights; None where neither is there."""
    meta = obj.get('meta') if isinstance(obj, dict) else None
    size = meta.get('train_image_size') if isinstance(meta, dict) else None
    if isinstance(size, (list, tuple)) and len(size) == 2 and all(
            isinstance(v, int) for v in size):
        return int(size[0]), int(size[1])
    # here, not at the top: a reader that never needs it (a refusal)
    # does not load mmengine.config
    from ..config import trained_image_size
    return trained_image_size(checkpoint_config(obj), source)
