"""Fingerprints that artefacts record and readers compare.

Every artefact names what it was made from by these digests: an array's
(:func:`array_sha1`: dtype, shape and bytes), a file's bytes
(:func:`file_sha1`, :func:`file_sha256`), a JSON file's value
(:func:`json_content_sha1`), a model folder's files
(:func:`folder_sha1`), a data folder's listing and a sample of its
files (:func:`data_folder_sha1`) or a config section's settings
(:func:`config_sha1`).

The digests kept per version of a file or folder in a process (also the
list and JSON digests a training run records) are kept in one cache,
:func:`_kept`, never of a file changed less than
:data:`~.once.RECENT_NS` before (:func:`~.once.settled`).
"""
import functools
import hashlib
import json
import os
import re
from typing import Any, Callable, Dict, Iterable, Optional, Set, TypeVar

import numpy as np

from .errors import InputError
from .once import settled, stat_version

T = TypeVar('T')


#: transforms that set the size of the image a pipeline ends with: the
#: argument that holds it (an int or a pair) and the pair's order
#: (mmpretrain's crops take ``(h, w)``, mmcv's Resize and CenterCrop
#: ``(w, h)``); here, below the config reader, so that the low-shot
#: readers of a provenance know a size option too
SIZE_ARGUMENTS = {'RandomResizedCrop': ('scale', 'hw'),
                  'RandomCrop': ('crop_size', 'hw'),
                  'Resize': ('scale', 'wh'),
                  'CenterCrop': ('crop_size', 'wh')}


def library_version(name: str, build: bool = False) -> str:
    """The release of library ``name`` as imported: its ``__version__``
    (``'?'`` where it has none) without a local part (torch's
    ``2.4.1+cu121`` and ``2.4.1+cpu`` are one release), or with ``build``
    in full. The one reading of a library's version that artefacts
    record: a feature set's ``versions``
    (:func:`openselfsup.apis.extract.library_versions`), and from the same
    reading the fields older readers read (the provenance's top-level
    ``torch``, the build; a library model's ``encoder.library_version``)."""
    import importlib
    full = str(getattr(importlib.import_module(name), '__version__', '?'))
    return full if build else full.split('+')[0]


def array_sha1(array: np.ndarray) -> str:
    """SHA-1 of an array's dtype, shape and bytes (C order)."""
    h = hashlib.sha1()
    h.update(f'{array.dtype.str}{array.shape}'.encode())
    # the bytes as a flat view (no copy: .tobytes() would double the time)
    h.update(np.ascontiguousarray(array).reshape(-1).view(np.uint8))
    return h.hexdigest()


def _file_digest(path: str, algorithm: str, chunk: int = 1 << 20) -> str:
    digest = hashlib.new(algorithm)
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def file_sha1(path: str) -> str:
    """Hex SHA-1 of a file's bytes."""
    return _file_digest(path, 'sha1')


def file_sha256(path: str) -> str:
    """Hex SHA-256 of a file's bytes."""
    return _file_digest(path, 'sha256')


def json_value_sha1(value: Any) -> str:
    """Hex SHA-1 of a JSON ``value`` (as ``json.load`` reads it) written in
    one form (``json.dumps`` with ``separators=(',', ':')``): what
    :func:`json_content_sha1` gives of the file that holds it."""
    return hashlib.sha1(json.dumps(value, separators=(',', ':')).encode(
        'ascii')).hexdigest()


def _json_file_sha1(path: str) -> str:
    """:func:`json_value_sha1` of the value the JSON file ``path`` holds,
    parsed now (what :func:`json_content_sha1` keeps)."""
    with open(path, encoding='utf-8') as f:
        return json_value_sha1(json.load(f))


def json_content_sha1(path: str) -> str:
    """Hex SHA-1 of the value a JSON file holds, as ``json.load`` reads
    it (the readers of the project's datasets), written in one form
    (:func:`json_value_sha1`): the same value re-indented, with other
    spacing, escapes (``\\u00e9`` for ``é``) or number spellings (``1e2``
    for ``100.0``) is the same digest. What is not the same value is
    another digest, also where the dataset reads it alike: ``2`` and
    ``2.0`` (an integer and a float; a label the dataset takes as the
    same grade), an object's keys in another order (kept, not sorted:
    the datasets take it as the order of their items, a
    ``CaptionedImages`` fold's images, or of a patient's slides, a
    hierarchical dataset's draws; a split file's top-level keys too,
    which the dataset looks up by name). So a check that compares these
    digests may say as changed a file whose data are the same to the
    dataset, never the other way.

    Kept per version of the file (:func:`file_digest_kept`), by its
    dataset's read (:func:`read_json_digested`) or an earlier call: a run
    start parses it once, not once per check.

    Raises:
        OSError: the file cannot be read.
        ValueError: it is not UTF-8 JSON text.
    """
    return file_digest_kept(path, _json_file_sha1)


def read_json_digested(path: str, load: Callable[[str], Any]) -> Any:
    """``load(path)``, a dataset's read of a JSON file, keeping the
    digest of the value read for :func:`json_content_sha1`
    (:func:`read_digested`)."""
    return read_digested(path, load, _json_file_sha1, json_value_sha1)


#: the absolute paths whose digests a caller will ask for
#: (:func:`want_digests`): the readers of those files keep a digest as
#: they read (:func:`read_digested`); others are not digested at all
_WANTED: set = set()


def want_digests(paths: Iterable[str]) -> None:
    """Say that the digests of the files ``paths`` will be asked in this
    process (a training run's record of its training data, asked in
    ``before_train`` after the datasets read them): their readers keep
    the digest of what they read (:func:`read_digested`), so it is not
    read again. Files not named here are read without any digest."""
    _WANTED.update(os.path.abspath(p) for p in paths)


def read_digested(path: str, load: Callable[[str], T],
                  file_digest: Callable[[str], Any],
                  value_digest: Callable[[T], Any]) -> T:
    """``load(path)``, a dataset's read of its file ``path`` (a list
    file's entries, a JSON file's value). Of a file whose digest a
    training run will ask (:func:`want_digests`), ``value_digest`` of
    what was read is kept as the ``file_digest`` of the file
    (:func:`file_digest_kept` then gives it without reading the file
    again), by the rules of every kept digest (:func:`_kept`: the
    file's signature taken before the read, nothing kept of a file
    changed less than :data:`~.once.RECENT_NS` before it), unless it is
    kept of that version already (``value_digest`` is not called). Other
    files are read without a digest (it would add to each read: about a
    quarter to a 100,000-line list's)."""
    if os.path.abspath(path) not in _WANTED:
        return load(path)
    read = []

    def compute():
        read.append(load(path))
        return value_digest(read[0])
    _file_kept(os.path.realpath(path), file_digest, compute)
    return read[0] if read else load(path)


#: digests kept in this process, every kind in one place (:func:`_kept`):
#: ``{(what, real path, digest function): (signature, value)}``, ``what``
#: ``'folder'`` (:func:`folder_sha1`) or ``'file'`` (:func:`_file_kept`:
#: :func:`file_digest_kept`, also of the digests a dataset's read keeps,
#: :func:`read_digested`)
_KEPT = {}


def _kept(key: tuple, folder: str, files: list, compute):
    """``compute()``, kept under ``key`` while the :func:`_signature` of
    ``files`` (relative to ``folder``) stays the same and none of them
    was changed less than :data:`~.once.RECENT_NS` before the call
    (:func:`~.once.settled`, the rule of :func:`~.once.read_once` too):
    the signature and the file system's clock are read before
    ``compute``, so a file written during it is another version, or too
    recent to keep. Where ``compute`` raises, nothing is kept."""
    sig = _signature(folder, files)
    kept = _KEPT.get(key)
    if kept is not None and kept[0] == sig:
        return kept[1]
    keep = all(s[1] != 'missing' for s in sig) and settled(
        folder, [s[1:] for s in sig if s[1] != 'link'])
    value = compute()
    if keep:
        _KEPT[key] = (sig, value)
    else:
        _KEPT.pop(key, None)
    return value


def _folder_files(path: str) -> list:
    """The files :func:`folder_sha1` reads, relative to ``path``, sorted."""
    files = []
    # the real paths of each folder's own and its parents' (a link to one
    # of them would be walked without end)
    above = {path: {os.path.realpath(path)}}
    for root, dirs, names in os.walk(path, followlinks=True):
        chain = above.pop(root)
        keep = []
        for d in dirs:
            real = os.path.realpath(os.path.join(root, d))
            if not d.startswith('.') and real not in chain:
                above[os.path.join(root, d)] = chain | {real}
                keep.append(d)
        dirs[:] = keep
        files += [os.path.relpath(os.path.join(root, f), path)
                  for f in names if not f.startswith('.')]
    files.sort()
    return files


def _signature(path: str, files: list) -> tuple:
    """What a file's digest depends on as the file system says it, for
    each of ``files`` (relative to ``path``): its name and the device,
    inode, size, modification and status change times of the file it
    reads (a link followed), or the target of a link that reads nothing
    (to nothing, to itself, through a file: ``os.path.exists`` is False,
    as :func:`folder_sha1` hashes it), or ``'missing'`` (neither: a file
    gone, whose digest :func:`_kept` never keeps; its reader says what
    that means)."""
    sig = []
    for rel in files:
        full = os.path.join(path, rel)
        version = stat_version(full)
        if version is not None:
            sig.append((rel,) + version)
            continue
        try:  # as os.path.exists: missing, a loop, a file
            sig.append((rel, 'link', os.readlink(full)))
        except (OSError, ValueError):
            sig.append((rel, 'missing'))
    return tuple(sig)


def folder_sha1(path: str, digest=file_sha1) -> str:
    """SHA-1 of a model folder's files (a sentence-transformers or Hugging
    Face text encoder's ``path``): of each file's path relative to
    ``path`` and its ``digest``, in sorted order. Another model saved into
    the same folder gets another digest; the same files elsewhere the same
    one. Hidden files and folders (``.git``, the ``.cache`` a Hugging Face
    download leaves, with its times) are left out. A linked folder
    inside counts by the files it holds, as the model reads them (before,
    it was left out: another pooling saved in a linked ``1_Pooling`` was
    the same folder), but a link back to a folder above it (a loop); a
    link to nothing (or to itself, or through a file) by where it points
    (the model need not read it: a ``pytorch_model.bin`` beside the
    ``model.safetensors`` read; before, a traceback). What
    :func:`openselfsup.config.named_file_digests` records of a folder the
    ``model`` section names (a data folder counts by its listing and a
    sample of its files, apart: :func:`data_folder_sha1`).

    Read once per version of the folder in a process (an HLSS model's
    three heads check the same text encoder folder; before, each read
    every file): kept by the folder's real path and the digest ``digest``
    computes (:func:`file_sha1_kept` is :func:`file_sha1`: the balance
    sweep's records and an HLSS build in one process read the folder once;
    before, each kept its own), and computed again when a file's name,
    inode, size, modification or status change time differs, and
    whenever a file was changed less than :data:`~.once.RECENT_NS` before
    the call (a same-size rewrite within the file system's time
    resolution could keep its times; where that file system's clock
    cannot be read, :func:`~.once._file_system_now`, less than an hour
    plus :data:`~.once.RECENT_NS` by this process's clock)."""
    # the folder's digest is kept here: its files' need not be
    digest = _UNKEPT.get(digest, digest)
    files = _folder_files(path)

    def compute():
        h = hashlib.sha1()
        for rel in files:
            full = os.path.join(path, rel)
            what = digest(full) if os.path.exists(full) else \
                f'link to {os.readlink(full)}'
            h.update(f'{rel}\0{what}\n'.encode())
        return h.hexdigest()
    return _kept(('folder', os.path.realpath(path), digest), path, files,
                 compute)


def file_digest_kept(path: str, digest=file_sha1) -> str:
    """``digest(path)`` (default :func:`file_sha1`), read once per version
    of the file in a process, by the rules of :func:`folder_sha1`'s:
    computed again when its inode, size, modification or status change
    time differs (before, by its size and modification time alone:
    another file of the same size copied over it with its times, ``cp
    -p``, kept the old digest), or it was changed less than
    :data:`~.once.RECENT_NS` before the call. What the lambda sweep hashes
    its runs' files with (each run names the same annotation lists and
    checkpoints; before, a cache of its own kept each file's digest by its
    path for the whole sweep: a file rewritten during it kept the old
    one), and what keeps a training run's record of its data files: a
    JSON file's value (:func:`json_content_sha1`), a list's entries
    (``datasets.list_files.list_entries_sha1``), each also kept by the
    dataset's read (:func:`read_digested`; before, those two had a cache
    of their own without the :data:`~.once.RECENT_NS` rule: a file
    rewritten in place at the same size within the file system's time
    resolution kept its stale digest, and a ``--resume`` took the changed
    file as unchanged)."""
    real = os.path.realpath(path)
    # a path that reads nothing (a link to nothing) is read as given, so
    # that the reader's line names it (nothing is kept of it)
    return _file_kept(real, digest, lambda: digest(
        real if os.path.exists(real) else path))


def _file_kept(real: str, digest: Callable[[str], Any],
               compute: Callable[[], Any]) -> Any:
    """``compute()``, which gives ``digest(real)``, kept by :func:`_kept`
    as the ``digest`` of the file at the real path ``real`` (its callers
    take it once: one key for :func:`file_digest_kept` and
    :func:`read_digested`)."""
    return _kept(('file', real, digest), os.path.dirname(real),
                 [os.path.basename(real)], compute)


def file_sha1_kept(path: str) -> str:
    """:func:`file_sha1` of ``path`` by :func:`file_digest_kept`."""
    return file_digest_kept(path, file_sha1)


def file_sha256_kept(path: str) -> str:
    """:func:`file_sha256` of ``path`` by :func:`file_digest_kept` (a
    model's three heads check the same text tower's weights)."""
    return file_digest_kept(path, file_sha256)


#: the digest each kept one computes (:func:`folder_sha1` keeps a
#: folder's by it)
_UNKEPT = {file_sha1_kept: file_sha1, file_sha256_kept: file_sha256}


def files_sample_sha1(paths, count: int = 16):
    """Hex SHA-1 of the bytes of ``count`` files spread evenly over
    ``paths`` (the first and the last among them; all when fewer), or None
    when one of them cannot be read. The names are not hashed: the same
    files moved keep their digest, other files under the same names (a
    dataset regenerated, another release of it) get another one, without
    reading every file.

    Args:
        paths (sequence[str]): the files, in a fixed order.
        count (int): how many to read at most.
    """
    n = len(paths)
    if n == 0:
        return None
    picks = sorted({int(round(i)) for i in np.linspace(0, n - 1,
                                                        min(count, n))})
    h = hashlib.sha1()
    try:
        for i in picks:
            h.update(f'{i}:'.encode())
            h.update(_file_digest(paths[i], 'sha1').encode())
    except OSError:
        return None
    return h.hexdigest()



def data_folder_sha1(path: str, count: int = 16) -> Optional[str]:
    """Hex SHA-1 of a data folder as a result depends on it, without
    reading all of it: its listing (the path of every file under it,
    relative to it, sorted; hidden files and folders left out, as
    :func:`folder_sha1` lists them) and the bytes of ``count`` of those
    files spread over the listing (:func:`files_sample_sha1`), as the
    low-shot side knows its images (the list's digest and a sample's).
    The data written again under the same folder (a synthetic set of
    another seed or size, another release) gets another digest; the same
    files elsewhere the same one. None where a sampled file cannot be
    read. What the kNN results (``knn_data_sha1``) and the lambda sweep's
    run records (``data.<key>``) hold of the data folders their config
    names (:func:`openselfsup.config.data_folder_digests`).

    Cost: one walk of the folder and ``count`` files read (the synthetic
    HLSS data's folder of 204 files, the cross-modal demo's 450 images:
    about 6 ms each on a 2-core machine at load 3, 2026-12-05)."""
    files = _folder_files(path)
    return listing_sha1(files, [os.path.join(path, f) for f in files], count)


def listing_sha1(names, paths, count: int = 16) -> Optional[str]:
    """Hex SHA-1 of a listing of files: each of ``names`` (in order), and
    the bytes of ``count`` of ``paths`` (the same files, readable from
    here) spread over it (:func:`files_sample_sha1`); None where a sampled
    file cannot be read. :func:`data_folder_sha1` of a folder's listing;
    the kNN fingerprint of patches without a folder of their own
    (:func:`openselfsup.apis.knn.knn_data_sha1`)."""
    h = hashlib.sha1()
    for name in names:
        h.update(f'{name}\n'.encode())
    if paths:
        sample = files_sample_sha1(list(paths), count)
        if sample is None:
            return None
        h.update(sample.encode())
    return h.hexdigest()


def unread_digests(*digests: Dict[str, Optional[str]]) -> Set[str]:
    """The keys whose :func:`data_folder_sha1` is None in any of
    ``digests`` (a sampled file that could not be read, when it was
    recorded or now): no evidence either way that the data changed, so
    not compared (the kNN results' and the lambda sweep's records)."""
    return {k for d in digests for k, v in d.items() if v is None}


#: a ``repr`` that holds a memory address (``<Foo object at 0x7f...>``,
#: ``functools.partial(<function f at 0x7f...>, ...)``): another in
#: every process
_ADDRESS = re.compile(r'\bat 0x[0-9a-fA-F]+')


def _key_text(key: Any) -> str:
    """The text JSON writes for a dict key: a string itself, ``1`` and
    ``1.5`` as ``"1"`` and ``"1.5"``, ``True`` / ``None`` as ``"true"`` /
    ``"null"``; any other key its :func:`plain_value`."""
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (bool, int, float)):
        return json.dumps(key)
    return str(plain_value(key))


def _plain(node: Any, key: str, seen: tuple = ()) -> Any:
    """``node`` as JSON holds it, the same in every process: dicts with
    their keys in the order of their JSON text (then their type's name:
    ``1`` before ``'1'``), where ``json.dumps(sort_keys=True)`` raised
    ``TypeError`` for a dict of int and str keys; a tuple a list; a leaf
    :func:`plain_value` (``key``: its dotted key, named in a refusal)."""
    if isinstance(node, dict):
        order = sorted(node, key=lambda k: (_key_text(k), type(k).__name__))
        return {k if k is None or isinstance(k, (str, int, float))
                else _key_text(k): _plain(node[k], _join(key, _key_text(k)),
                                          seen)
                for k in order}
    if isinstance(node, (list, tuple)):
        return [_plain(v, _join(key, str(i)), seen)
                for i, v in enumerate(node)]
    return plain_value(node, key, seen)


def _join(key: str, name: str) -> str:
    return f'{key}.{name}' if key else name


def plain_value(value: Any, key: str = '', _seen: tuple = ()) -> Any:
    """A config value as JSON holds it, the same in every process: a class
    or function (a config's ``type=SomeClass``) by its qualified name,
    which its ``repr`` (an address) is not; a set by its elements' JSON
    text in sorted order (``set({"a", "b"})``: its own order follows the
    process's string hashes, so its ``repr`` differs between runs); an
    object whose ``repr`` holds a memory address (an instance of a class
    without its own ``repr``, a ``functools.partial``) by its type's
    qualified name and its state, ``module.Type({"attr": ...})`` (a
    partial's ``func``, ``args`` and ``keywords``, and the attributes of
    ``vars()``), the same for equal settings in every process; anything
    else that JSON cannot hold by its ``repr``. Containers inside are
    read alike (:func:`_plain`).

    Args:
        value: the value.
        key (str): its dotted config key, named in a refusal.

    Raises:
        InputError: an object whose ``repr`` holds an address and whose
            state cannot be read (no ``vars()``: a C object such as a
            ``torch.Generator``): it has no fingerprint that is the same
            in every process, and its type alone would take two
            different ones for one.
    """
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (set, frozenset)):
        items = sorted(json.dumps(_plain(v, key, _seen)) for v in value)
        return f'{type(value).__name__}({{{", ".join(items)}}})'
    name = getattr(value, '__qualname__', None)
    if name:
        return f'{getattr(value, "__module__", "")}.{name}'
    text = repr(value)
    if not _ADDRESS.search(text):
        return text
    kind = type(value)
    kind = f'{kind.__module__}.{kind.__qualname__}'
    if id(value) in _seen:  # an attribute that refers back to its owner
        return f'{kind}(...)'
    state = dict(vars(value)) if hasattr(value, '__dict__') else None
    if isinstance(value, functools.partial):
        state = dict(state or {}, func=value.func, args=value.args,
                     keywords=value.keywords)
    if state is None:
        raise InputError(
            f'{key or "a config value"}: a {kind} object has no '
            'fingerprint (its repr is a memory address, another in every '
            'process, and it has no attributes to read); give it as '
            'dict(type=...) or a plain value')
    return f'{kind}({json.dumps(_plain(state, key, _seen + (id(value),)))})'


def config_sha1(node: Any, key: str = '') -> str:
    """SHA-1 of a config section (a dict of settings, e.g. a resolved
    config's ``model``, as ``cfg.model.to_dict()``; at ``key``, named in a
    refusal): of its JSON text with the keys sorted (by their JSON text:
    a dict may mix int and str keys; :func:`plain_value` for what JSON
    cannot hold), so the same settings give the same digest whatever
    their order, the file they were read from or the process.

    Raises:
        InputError: a value without a fingerprint (:func:`plain_value`).
    """
    text = json.dumps(_plain(node, key))
    return hashlib.sha1(text.encode()).hexdigest()
