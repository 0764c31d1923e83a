"""Training checkpoints as files, without torch: whether one is complete,
which one of a work dir ``--resume`` continues from, its bytes read once
(tested complete and hashed, for a reader that loads them after it has
imported torch), and whether a folder is a training work dir. The
launchers' ``tools/train.py --check-config`` runs these before they start
any process, and imports no torch (:mod:`openselfsup.utils.checkpoint`
reads the checkpoints' contents).
"""
import collections
import glob
import hashlib
import io
import os
import pickle
import pickletools
import re
import stat
import zipfile
import zlib
from typing import (Any, BinaryIO, Callable, Iterator, List, Optional,
                    Tuple)

from .errors import InputError
from .io import check_file
from .once import file_version


#: the file :func:`is_complete_checkpoint` last found complete: its
#: (device, inode, size, modification and change times in ns)
_LAST_COMPLETE: Optional[Tuple[int, ...]] = None


def is_complete_checkpoint(path: str) -> bool:
    """Whether ``path`` is a complete ``torch.save`` zip (every CRC checks).

    A file cut short by a kill during writing fails this test; reading it
    costs about as much as loading it, but nothing is unpickled. The file
    last found complete is not read again while it is the same, unchanged
    file (device, inode, size, modification and change times): the resume
    rule and the loader after it read the newest checkpoint once. Any
    write, truncation or replacement changes one of those.
    """
    global _LAST_COMPLETE
    if not os.path.isfile(path):
        return False
    try:
        with open(path, 'rb') as f:
            st = os.fstat(f.fileno())  # of the file read below
            key = file_version(st)
            if key == _LAST_COMPLETE:
                return True
            complete = is_complete_archive(f)
    except OSError:
        return False
    if complete:
        _LAST_COMPLETE = key
    return complete


def _crcs_left_out(zf: zipfile.ZipFile) -> bool:
    """Whether the zip ``zf`` is one ``torch.save`` wrote without CRCs
    (``torch.utils.serialization.config.save.compute_crc32 = False``:
    every CRC 0 though it holds bytes), which ``torch.load`` reads; if so,
    its members' CRCs are taken off this ``ZipFile``'s records, so that
    they read unchecked (zipfile compares a CRC it is given: every
    nonempty member failed)."""
    infos = zf.infolist()
    if not (infos and all(i.CRC == 0 for i in infos)
            and any(i.file_size for i in infos)):
        return False
    for info in infos:
        del info.CRC
    return True


#: what opening a file as a zip raises where its directory does not read:
#: zipfile's errors, and ValueError: a legacy (pickle) checkpoint whose
#: bytes (its tensors', last) hold an end record by chance, pointing at
#: a directory entry flagged UTF-8 whose name is not
#: (``UnicodeDecodeError``, review r169: it escaped as a traceback)
ZIP_UNREADABLE = (zipfile.BadZipFile, OSError, EOFError, ValueError)


def is_complete_archive(f: BinaryIO) -> bool:
    """Whether the open binary file ``f`` (a file, or ``io.BytesIO`` of a
    file's bytes already read) is a complete zip, every CRC checked: the
    test of :func:`is_complete_checkpoint`. A zip whose every CRC is 0
    though it holds bytes is ``torch.save``'s with
    ``torch.utils.serialization.config.save.compute_crc32 = False``,
    which ``torch.load`` reads (it was refused as not readable): its
    members are read whole, each to its recorded length, unchecked. A
    member another tool deflated (torch writes them stored; torch.load
    reads both) whose data is damaged is not complete either (zlib's error
    escaped this test: a traceback where the line refused the file)."""
    try:
        if not zipfile.is_zipfile(f):
            return False
        with zipfile.ZipFile(f) as zf:
            if not _crcs_left_out(zf):
                return zf.testzip() is None
            for info in zf.infolist():
                with zf.open(info) as member:
                    while member.read(1 << 20):
                        pass
            return True
    except ZIP_UNREADABLE + (zlib.error,):
        return False


def has_zip_directory(path: str) -> bool:
    """Whether ``path`` is a zip whose end record and the central directory
    it points to read: the cheap part of :func:`is_complete_checkpoint`,
    what the launchers' torch-free ``--check-config`` asks of a checkpoint
    to resume from. It reads the file's last bytes and the directory (a
    few kB), not the members: a file cut short while it was written lacks
    the end record (``torch.save`` writes it last) and fails; damage inside
    the members (a CRC) is left to the run, which tests the whole file
    (:func:`is_complete_checkpoint`) before it resumes.
    """
    if not os.path.isfile(path):
        return False
    try:
        with zipfile.ZipFile(path):
            return True
    except ZIP_UNREADABLE:
        return False


def zip_directory_digest(path: str) -> Optional[str]:
    """The SHA-1 of a ``torch.save`` zip's directory: each member's name
    without its first folder, CRC-32 and size, read from the zip's central
    directory (a few kB; 1 ms for a 195 MB ResNet-50 checkpoint, where the
    whole file's SHA-1 took 160 ms, both from the page cache): two files
    of other contents differ in it but for a CRC collision or a zip
    written without CRCs (then by the members' sizes alone). The folder
    the members lie in is left out: ``torch.save(obj, path)`` names it
    after the file (``iter_300/data.pkl``), a save through a buffer
    (MMEngine's) ``archive/``, so one object saved both ways digests
    alike (review r169: they were told apart). None where ``path`` is no
    zip whose directory reads (the legacy format, a file cut short)."""
    try:
        with zipfile.ZipFile(path) as zf:
            digest = hashlib.sha1()
            for info in zf.infolist():
                name = info.filename.split('/', 1)[-1]
                digest.update(f'{name}\0{info.CRC}\0'
                              f'{info.file_size}\n'.encode())
            return digest.hexdigest()
    except ZIP_UNREADABLE:
        return None


def cut_short(path: str) -> bool:
    """Whether the file ``path`` is a checkpoint cut short while it was
    written: empty, or a zip (``torch.save``'s format since torch 1.6)
    without its directory (:func:`has_zip_directory`). A file of the
    legacy format (a pickle, as older torchvision weights) is not judged.
    Reads a few kB; no torch."""
    try:
        with open(path, 'rb') as f:
            head = f.read(4)
    except OSError:
        return False
    return not head or (head == b'PK\x03\x04'
                        and not has_zip_directory(path))


#: the values torch reads as set in its ``TORCH_FORCE_...`` variables
#: (``torch.load``: lower-cased, one of these)
_TORCH_TRUE = ('1', 'y', 'yes', 'true')


def weights_only_opted_out() -> bool:
    """Whether torch's documented opt-out, ``TORCH_FORCE_NO_WEIGHTS_ONLY_
    LOAD`` (``1``, ``y``, ``yes``, ``true``, any case), is set, as
    ``torch.load`` reads it: a ``torch.load`` that does not pass
    ``weights_only`` (MMEngine's, of ``--resume``, ``load_from`` and a
    ``Pretrained`` file) then unpickles every object in the file, as its
    user chose. The one place this project decides it: every checkpoint
    reader here (:mod:`openselfsup.utils.checkpoint`: resume's checks,
    extraction, kNN evaluation, ``Pretrained`` and ``load_from`` checks)
    then reads such objects as inert placeholders, where it refused them
    (still ``weights_only=True``: nothing in the file is called). Torch-free.

    Raises:
        InputError: ``TORCH_FORCE_WEIGHTS_ONLY_LOAD`` is set too: torch
            then refuses every ``torch.load``, whatever it is given (its
            'Only one of ... should be set' ``RuntimeError``, which each
            reader here reported as a checkpoint it could not load).
    """
    def on(name):
        return os.getenv(name, '0').lower() in _TORCH_TRUE
    if on('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD') and \
            on('TORCH_FORCE_WEIGHTS_ONLY_LOAD'):
        raise InputError(
            'TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD and TORCH_FORCE_WEIGHTS_ONLY_'
            'LOAD are both set: torch.load then refuses every checkpoint; '
            'unset one (the first unpickles every object in a file, the '
            'second none but tensors and plain containers)')
    return on('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD')


#: what a file in none of the formats ``torch.load`` reads is said to be
#: (:func:`no_checkpoint`)
NO_CHECKPOINT = ('not a checkpoint (neither the zip archive torch.save '
                 'writes nor torch\'s legacy format)')


def check_loadable(path: str) -> None:
    """Refuse, torch-free, a local file that ``torch.load`` cannot read
    as a checkpoint: missing or a folder, empty or a zip cut short while it
    was written (:func:`cut_short`), or in none of its formats
    (:func:`no_checkpoint`). The rule of a ``Pretrained`` ``init_cfg``
    file, for the launchers' check and the run alike
    (:func:`~openselfsup.config.check_pretrained_file`).

    Raises:
        InputError: one line naming ``path``.
    """
    check_file(path, 'checkpoint')
    if cut_short(path):
        raise not_a_checkpoint(path)
    if no_checkpoint(path):
        raise InputError(f'{path}: {NO_CHECKPOINT}')


def no_checkpoint(path: str) -> bool:
    """Whether the file ``path`` is in none of the formats ``torch.load``
    reads: not empty, no zip (whole, with torch's layout:
    :func:`is_torch_archive`; or cut short while it was written:
    :func:`cut_short`), not of torch's legacy format
    (:func:`is_legacy_format`), and not named ``.safetensors`` (which
    ``torch.load`` hands to safetensors). Reads a few kB; no torch. The
    rule of a ``load_from`` file, for the launchers' check and the run
    alike (:func:`~openselfsup.apis.train.check_load_from`)."""
    try:
        with open(path, 'rb') as f:
            head = f.read(4)
    except OSError:
        return False
    if not head or is_safetensors_name(path):
        return False
    if has_zip_directory(path):  # a zip torch does not read as its own
        return not is_torch_archive(path)
    return head != b'PK\x03\x04' and not is_legacy_format(path)


def is_torch_archive(path) -> bool:
    """Whether the zip ``path`` (or a binary file of its bytes) is laid out as ``torch.load`` reads its
    archive: every member in the folder of the first one, among them
    ``data.pkl`` and ``version`` (or ``.data/version``); a zip of other
    files (a ``readme.txt``) was taken for a checkpoint, and the run
    stopped on torch's 'file in archive is not in a subdirectory'
    traceback. Reads the zip's directory; no torch.

    Returns:
        bool: False also where the zip's directory does not read.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except ZIP_UNREADABLE:
        return False
    if not names or '/' not in names[0]:
        return False
    top = names[0].split('/', 1)[0] + '/'
    return all(n.startswith(top) for n in names) and \
        f'{top}data.pkl' in names and \
        bool({f'{top}version', f'{top}.data/version'} & set(names))


def is_safetensors_name(path) -> bool:
    """Whether ``torch.load`` hands the file ``path`` to safetensors
    instead of reading it: a path (not a buffer) whose name ends with
    ``.safetensors``, as torch tells it (whatever its bytes). The one rule
    of the launchers' checks (:func:`no_checkpoint`) and the run's reader
    (:func:`~openselfsup.utils.checkpoint.check_checkpoint_file`)."""
    return isinstance(path, (str, os.PathLike)) and \
        os.fspath(path).endswith('.safetensors')


class _Opaque:
    """What :func:`checkpoint_meta` reads each class and function a
    checkpoint's pickle names as (a tensor's rebuild, numpy's arrays,
    MMEngine's ``HistoryBuffer``; ``OrderedDict`` is :class:`_Ordered`):
    nothing is imported or called; its arguments and state are dropped."""

    def __new__(cls, *args, **kwargs):
        return object.__new__(cls)

    def __init__(self, *args, **kwargs):
        pass

    def __setstate__(self, state) -> None:
        pass

    def __setitem__(self, key, value) -> None:
        pass

    def append(self, value) -> None:
        pass

    def extend(self, values) -> None:
        pass


class _Ordered(collections.OrderedDict):
    """What :func:`checkpoint_meta` reads a pickled ``OrderedDict`` as (a
    ``model.state_dict()`` saved whole, a meta of one): its entries, as
    ``torch.load(weights_only=True)`` reads them (torch allows the class);
    its attributes (a state dict's ``_metadata``) are dropped."""

    def __setstate__(self, state) -> None:
        pass


class _OpaqueUnpickler(pickle.Unpickler):
    """An unpickler that builds plain containers and values only: every
    global is :class:`_Opaque` but ``collections.OrderedDict``
    (:class:`_Ordered`), every storage (``persistent_load``) None."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ('collections', 'OrderedDict'):
            return _Ordered
        return _Opaque

    def persistent_load(self, pid) -> None:
        return None


#: the number ``torch.save``'s legacy format pickles first
#: (``torch.serialization.MAGIC_NUMBER``), which ``torch.load`` checks
LEGACY_MAGIC = 0x1950a86a20f9469cfc6c


def is_legacy_format(source) -> bool:
    """Whether the file ``source`` (a path, or a binary file such as an
    ``io.BytesIO`` of a file's bytes, read from its start and left there)
    is of torch's legacy format (not the zip
    ``torch.save`` writes since torch 1.6; ``_use_new_zipfile_
    serialization=False``, older torchvision weights), as ``torch.load``
    tells it: a plain tar (torch's oldest format; torch opens it with
    mode ``'r:'``, so a compressed one, a ``.tgz``, is not one: its
    unpickler's 'invalid load key'), or a file whose first pickle is
    :data:`LEGACY_MAGIC`, in any pickle protocol. Reads its first 512
    bytes (a tar's first member header: a tar is opened, as torch opens
    it) at most; no torch, nothing imported or called."""
    import tarfile
    if isinstance(source, (str, os.PathLike)):
        try:
            with open(source, 'rb') as f:
                return is_legacy_format(f)
        except OSError:
            return False
    try:
        source.seek(0)
        head = source.read(512)
        if len(head) == 512:
            source.seek(0)
            try:  # as torch's legacy_load opens it: plain, not compressed
                with tarfile.open(fileobj=source, mode='r:'):
                    return True
            except (tarfile.TarError, OSError):
                pass
        try:
            return _OpaqueUnpickler(io.BytesIO(head)).load() == LEGACY_MAGIC
        except Exception:  # no pickle, or another one
            return False
    except OSError:
        return False
    finally:
        source.seek(0)


def is_loadable_checkpoint(source) -> bool:
    """The rule of the readers that load a checkpoint's weights (extraction,
    kNN evaluation; :func:`~openselfsup.utils.checkpoint.
    load_checkpoint_file`, :func:`~openselfsup.utils.checkpoint.
    load_checkpoint_bytes`): a complete ``torch.save`` zip (every CRC,
    :func:`is_complete_checkpoint` / :func:`is_complete_archive`) laid out
    as torch reads it (:func:`is_torch_archive`), or a
    file of torch's legacy format (:func:`is_legacy_format`, read as torch
    reads it; a pickle has no CRC: one cut short is refused when it is
    loaded). ``source``: a path, or a binary file of a file's bytes (left
    at its start). Without torch."""
    if isinstance(source, (str, os.PathLike)):
        return is_complete_checkpoint(source) and is_torch_archive(
            source) or is_legacy_format(source)
    complete = is_complete_archive(source)
    source.seek(0)
    complete = complete and is_torch_archive(source)
    source.seek(0)
    return complete or is_legacy_format(source)


#: the bytes of one element of each storage type a file of torch's legacy
#: format names (``torch._utils._element_size`` of its dtype): the typed
#: ones of torch's ``_dtype_to_storage_type_map``, and ``UntypedStorage``,
#: whose count is bytes, which torch writes for a dtype of no legacy type
#: (uint16/32/64, float8, complex32, bits; torch 2.14's legacy reader
#: then stops on its missing ``dtype``; without it a file of one cut short
#: was judged whole)
_LEGACY_ELEMENT_BYTES = {
    'DoubleStorage': 8, 'FloatStorage': 4, 'HalfStorage': 2,
    'LongStorage': 8, 'IntStorage': 4, 'ShortStorage': 2, 'CharStorage': 1,
    'ByteStorage': 1, 'BoolStorage': 1, 'BFloat16Storage': 2,
    'ComplexDoubleStorage': 16, 'ComplexFloatStorage': 8,
    'QInt8Storage': 1, 'QInt32Storage': 4, 'QUInt8Storage': 1,
    'QUInt4x2Storage': 1, 'QUInt2x4Storage': 1, 'UntypedStorage': 1}


class _LegacyWalker(_OpaqueUnpickler):
    """:class:`_OpaqueUnpickler` that keeps, for each storage a legacy
    pickle names (``('storage', type, key, location, numel, view)``), its
    key's type name and element count."""

    def __init__(self, f):
        super().__init__(f)
        self.storages = {}

    def find_class(self, module: str, name: str) -> Any:
        if name.endswith('Storage'):  # a storage type: its name kept
            return type(name, (_Opaque, ), {})
        return super().find_class(module, name)

    def persistent_load(self, pid) -> None:
        if isinstance(pid, tuple) and len(pid) >= 5 and \
                pid[0] == 'storage':
            self.storages[pid[2]] = (getattr(pid[1], '__name__', None),
                                     pid[4])


def is_whole_legacy(f: BinaryIO) -> bool:
    """Whether the open binary file ``f`` of torch's legacy format (a
    pickle: :func:`is_legacy_format`) holds all its bytes: its pickles
    read to their ends and each storage's element count then that many
    elements' bytes, as ``torch.load`` reads them (it stops on 'unexpected
    EOF' at the first one short). A pickle has no CRC: a file cut short
    while it was written is the damage found. The storages' bytes are
    skipped over, not read; nothing is imported or called. A file the walk
    does not follow before its bytes run out (a pickle it does not read,
    a storage type it does not know, a plain tar, torch's oldest format)
    is not judged (True): its reader says what is wrong with it."""
    import tarfile
    f.seek(0, io.SEEK_END)
    size = f.tell()
    f.seek(0)
    try:
        if tarfile.is_tarfile(f):
            return True
    except OSError:
        pass
    f.seek(0)
    try:
        # a fresh unpickler for each pickle, as torch.load reads them: one
        # kept across them would carry its memo (protocol 4 / 5 number it
        # across loads), so back-references would name earlier pickles'
        # objects
        for _ in range(3):  # magic number, protocol version, system info
            info = _OpaqueUnpickler(f).load()
        little = info.get('little_endian', True) \
            if isinstance(info, dict) else True
        walker = _LegacyWalker(f)
        walker.load()  # the object, its storages kept
        keys = _OpaqueUnpickler(f).load()
    except Exception:  # noqa: BLE001 (a pickle it does not read)
        return f.tell() < size  # the bytes ran out: cut short
    for key in keys if isinstance(keys, list) else ():
        kind, numel = walker.storages.get(key, (None, None))
        width = _LEGACY_ELEMENT_BYTES.get(kind)
        if width is None or not isinstance(numel, int):
            return True  # not followed: left to the reader
        head = f.read(8)
        if len(head) < 8:
            return False
        if int.from_bytes(head, 'little' if little else 'big') != numel:
            return True  # not followed (torch: 'wrong byte size')
        end = f.tell() + numel * width
        if end > size:
            return False
        f.seek(end)
    return True


def is_whole_loadable(source) -> bool:
    """The rule by which a run's work dir stands for a checkpoint to the
    readers of its weights (extraction, backbone export, kNN evaluation:
    :func:`read_resolved_checkpoint`, :func:`~openselfsup.utils.checkpoint.
    resolve_trained_checkpoint`): :func:`is_loadable_checkpoint`, and a
    file of torch's legacy format only whole (:func:`is_whole_legacy`; one
    cut short was picked over an older complete zip, then refused, or its
    cut-short bytes evaluated). ``source``: a path, or a binary file of a
    file's bytes (left at its start). Reads a legacy file's pickles, not
    its tensors. Without torch."""
    if not is_loadable_checkpoint(source):
        return False
    if not is_legacy_format(source):
        return True  # a complete zip
    if not isinstance(source, (str, os.PathLike)):
        try:
            return is_whole_legacy(source)
        finally:
            source.seek(0)
    try:
        with open(source, 'rb') as f:
            return is_whole_legacy(f)
    except OSError:
        return False


#: the largest pickle member :func:`checkpoint_meta` reads (bytes): the
#: structure of a checkpoint (its tensors are other members) is some kB to
#: a few MB (MMEngine's logged history); more is left to the run
META_PICKLE_MAX = 64 << 20


class MetaUnread(Exception):
    """:func:`checkpoint_meta` could not read the checkpoint's pickle (not
    a zip of one pickle member, a member too big or damaged, a pickle it
    does not read, a file whose top level is an object): whether it holds
    a meta is the run's to say, which loads the whole file."""


def saved_meta(saved: Any) -> Any:
    """The ``meta`` of a checkpoint read whole (``saved``: what
    ``torch.load`` or :func:`checkpoint_meta` read), as MMEngine's resume
    reads it: ``saved['meta']``; None where ``saved`` is no dict or holds
    no ``meta``. The one rule of the run's resume check
    (:func:`~openselfsup.engine.runner.resume_notes`) and the launchers'
    (:func:`checkpoint_meta`), which judge it with
    :func:`~openselfsup.config.check_resume_meta`."""
    return saved.get('meta') if isinstance(saved, dict) else None


def checkpoint_meta(path: str) -> Any:
    """The ``meta`` of the ``torch.save`` checkpoint ``path``, without
    torch: from the zip's pickle member (``<archive>/data.pkl``: the
    structure, some kB; the tensors' bytes, the other members, are not
    read), its plain values (dicts, ``OrderedDict``, lists, strings,
    numbers, None) as saved and anything else (a class instance, a numpy
    value, a tensor) as an opaque placeholder (:func:`is_opaque`), nothing
    imported or called. The launchers' ``--check-config`` judges it as the
    run does (:func:`saved_meta`).

    Returns:
        the meta as saved (a dict, or whatever the file holds there);
        None where the file holds none (a state dict saved alone, MAE's
        ``{'model': sd}``: the run refuses it as no training checkpoint).

    Raises:
        MetaUnread: the file is not a zip holding one pickle member, that
            pickle does not read (a damaged member: its CRC), or its top
            level is an object (left to the run, which loads the whole
            file). Where it was None, as for a file without a meta, the
            check passed the file the run refused.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            _crcs_left_out(zf)  # (a torch.save without CRCs: read as torch)
            name = _pickle_member(zf)
            # a member bigger than a pickle of structure (a crafted zip
            # inflating to gigabytes) is not read
            if name is None or \
                    zf.getinfo(name).file_size > META_PICKLE_MAX:
                raise MetaUnread(path)
            data = zf.read(name)
        # a pickle using the extension opcodes (EXT1/2/4), which push an
        # object without asking find_class, is not read
        if _walk_pickle(data).extension:
            raise MetaUnread(path)
        obj = _OpaqueUnpickler(io.BytesIO(data)).load()
    except MetaUnread:
        raise
    except Exception:  # any file: it is the run's to say what is wrong
        raise MetaUnread(path) from None
    if is_opaque(obj):  # an object (a dict subclass?): the run reads it
        raise MetaUnread(path)
    return saved_meta(obj)


def _pickle_member(zf: zipfile.ZipFile) -> Optional[str]:
    """The name of the pickle member of a ``torch.save`` zip
    (``<archive>/data.pkl``: the checkpoint's structure, its tensors the
    other members); None where the zip holds not exactly one."""
    names = [n for n in zf.namelist()
             if n.count('/') == 1 and n.endswith('/data.pkl')]
    return names[0] if len(names) == 1 else None


#: each pickle opcode by its byte
_OPCODES = {ord(op.code): op for op in pickletools.opcodes}
#: the highest protocol of an opcode
_TOP_PROTOCOL = max(op.proto for op in pickletools.opcodes)
#: the extension opcodes (EXT1/2/4): they push an object copyreg's cache
#: holds without asking find_class (torch.save writes none)
_EXTENSIONS = frozenset(op.name for op in pickletools.opcodes
                        if op.name.startswith('EXT'))
#: the most opcodes one match of :func:`_plain_run` steps over: a bounded
#: repeat, matched again until it steps over none (Python 3.10's re has
#: no possessive ``*+``, and a greedy ``*`` keeps a backtracking record
#: per opcode: 4 times slower and 360 MB more for a 24 MB pickle)
_RUN_STEP = 4096


def _plain_run(protocol: int) -> 're.Pattern[bytes]':
    """The pattern of a run of opcodes :func:`_walk_pickle` steps over in
    one match (up to :data:`_RUN_STEP` of them): those of no argument or
    one of a fixed size (any bytes of that size read, as pickletools reads
    them: an int, a float, a memo index, a frame's length) and of a
    protocol at most ``protocol`` (so the pickle's protocol stays as it
    is). ``PROTO`` and ``STOP``, which set and end it, and the extension
    opcodes, which the walk reports, are not in it."""
    by_size: dict = collections.defaultdict(list)
    for op in pickletools.opcodes:
        if op.name not in {'PROTO', 'STOP'} | _EXTENSIONS and \
                op.proto <= protocol and (op.arg is None or op.arg.n > 0):
            by_size[op.arg.n if op.arg else 0].append(
                re.escape(op.code.encode('latin-1')))
    ops = [b'[' + b''.join(codes) + b']' + (b'.{%d}' % size if size else b'')
           for size, codes in sorted(by_size.items())]
    return re.compile(b'(?:' + b'|'.join(ops) + b'){0,%d}' % _RUN_STEP,
                      re.DOTALL)


#: :func:`_plain_run` of each protocol, compiled on import (a pattern
#: this Python does not compile fails there, not as a damaged file)
_PLAIN_RUNS = tuple(_plain_run(p) for p in range(_TOP_PROTOCOL + 1))


class _Cursor:
    """``read`` and ``readline`` of a buffer (bytes, a bytearray, a
    memoryview) from ``at``: what pickletools' argument readers call on a
    file."""

    _LINE_END = re.compile(b'\n')

    def __init__(self, buffer, at: int) -> None:
        self.buffer, self.at = buffer, at
        #: where the bytes the last read asked for end (a line not ended
        #: in the buffer: one past its end)
        self.asked = at

    def read(self, size: int = -1) -> bytes:
        end = len(self.buffer) if size < 0 else self.at + size
        data = bytes(self.buffer[self.at:end])
        self.at, self.asked = self.at + len(data), end
        return data

    def readline(self) -> bytes:
        found = self._LINE_END.search(self.buffer, self.at)
        line = self.read((found.end() if found else len(self.buffer))
                         - self.at)
        if not found:
            self.asked = len(self.buffer) + 1
        return line


class _Walk(collections.namedtuple('_Walk', 'protocol end extension')):
    """What :func:`_walk_pickle` found of a pickle: its protocol, the
    position after its ``STOP``, whether it uses an extension opcode."""


class _RanOut(ValueError):
    """:func:`_walk_pickle` stopped at the end of its buffer: more bytes
    may end the pickle; ``walked``, the walk so far (``end``: where the
    opcode that ran out starts), from which it goes on; ``wanted``, where
    the bytes that opcode asked for end (its argument's length read)."""

    walked = _Walk(0, 0, False)
    wanted = 0


def _walk_pickle(buffer, at: int = 0, protocol: int = 0,
                 extension: bool = False) -> _Walk:
    """Walk the pickle that starts at ``at`` of ``buffer`` (bytes, a
    bytearray, a memoryview) to its ``STOP``, reading its opcodes as
    :func:`pickletools.genops` reads them (nothing built): every opcode
    known, every argument read whole by pickletools' own reader, but runs
    of opcodes of fixed-size arguments stepped over in a regex match
    (:func:`_plain_run`). Side by side on 2 cores at load 5: 0.07 s
    where genops takes 0.7 s for a 24 MB pickle of floats, 0.2 s against
    0.4 s for a 3.6 MB state dict's, but twice genops' time for one of
    short strings alone (no run to step over).

    ``protocol``, ``extension``: those of its opcodes before ``at``,
    where a walk goes on (:attr:`_RanOut.walked`).

    Returns:
        _Walk: its protocol (its ``PROTO``'s, else the highest of its
        opcodes'; an opcode after ``PROTO`` of a higher one raises it), the
        position after its ``STOP``, and whether it uses ``EXT1/2/4``.

    Raises:
        ValueError: an opcode it does not know, an argument pickletools
            does not read, bytes that run out before ``STOP`` (as genops);
            :class:`_RanOut` where it stopped at the buffer's end.
    """
    cursor = _Cursor(buffer, at)
    while True:
        plain = _PLAIN_RUNS[min(protocol, _TOP_PROTOCOL)]
        while True:
            end = plain.match(buffer, cursor.at).end()
            if end == cursor.at:
                break
            cursor.at = end
        start = cursor.at
        try:
            code = cursor.read(1)
            op = _OPCODES.get(code[0]) if code else None
            if op is None:
                raise ValueError(f'at position {cursor.at - len(code)}, '
                                 f'opcode {code!r} unknown' if code else
                                 'pickle exhausted before seeing STOP')
            arg = op.arg.reader(cursor) if op.arg is not None else None
        except ValueError as exc:
            if cursor.at < len(buffer):
                raise
            ran_out = _RanOut(str(exc))
            ran_out.walked = _Walk(protocol, start, extension)
            ran_out.wanted = cursor.asked
            raise ran_out from None
        protocol = arg if op.name == 'PROTO' else max(protocol, op.proto)
        extension = extension or op.name in _EXTENSIONS
        if op.name == 'STOP':
            return _Walk(protocol, cursor.at, extension)


def _bytes_after(f: BinaryIO, seek: bool = False) -> Optional[int]:
    """How many bytes the binary file ``f`` holds after its position,
    where that is known without reading them: an ``io.BytesIO``'s buffer,
    a regular file read directly (``os.fstat``); None for another reader
    (a wrapper such as ``gzip.open``'s, whose ``fileno`` is the compressed
    file's and whose end is found by reading through it; a pipe).

    ``seek``: find the end of another reader that seeks by seeking to it
    and back: a wrapper reads through to it in its own bounded pieces and
    drops them (``gzip``'s seek: 8 KiB at a time; going back, it reads
    from the start to the position again), so no more than a piece is
    held; None still for one that does not seek (a pipe)."""
    if hasattr(f, 'getbuffer'):
        with f.getbuffer() as view:
            return max(view.nbytes - f.tell(), 0)
    raw = getattr(f, 'raw', f)
    if isinstance(raw, io.FileIO):
        st = os.fstat(raw.fileno())
        if stat.S_ISREG(st.st_mode):
            return max(st.st_size - f.tell(), 0)
    if not seek:
        return None
    try:
        at = f.tell()
        end = f.seek(0, io.SEEK_END)
        f.seek(at)
    except (OSError, ValueError):  # io.UnsupportedOperation: a pipe
        return None
    return max(end - at, 0)


def _read_into(data: bytearray, f: BinaryIO, size: int) -> int:
    """Append ``size`` bytes of ``f.read`` to ``data``, fewer where ``f``
    ends, asking again where a read gives fewer than asked (a raw reader:
    a pipe's 64 KiB a call); the count appended."""
    got = 0
    while got < size:
        more = f.read(size - got)
        if not more:
            break
        data += more
        got += len(more)
    return got


def _walk_pickles(f: BinaryIO, count: int,
                  size: int = 1 << 20) -> List[int]:
    """The protocols of ``count`` pickles one after another in the binary
    file ``f`` from its position, walked (:func:`_walk_pickle`) in the
    bytes of ``f.read`` (a file's, or a wrapper's such as ``gzip.open``'s;
    not mapped: a file cut short while it is read is read short), read in
    pieces from ``size`` that double as each is read whole (however few
    bytes each call of ``f.read`` gives) while a pickle runs on past them
    (a legacy checkpoint's tensors after its pickles are not read), each
    walk going on where it ran out. An argument that runs past the end of
    the file (a damaged length field) is damage, told from the file's
    size (:func:`_bytes_after`) before its bytes are read; where that size
    is not known without reading (``gzip.open``'s reader) and an argument
    runs past the next piece, it is found by seeking to the end and back
    (a damaged length was read up to the file's end, all of it held: a
    100 MB gzip'd legacy file, 417 MB peak RSS); only a reader that does
    not seek (a pipe; :func:`pickle_protocol` seeks every reader to its
    start) is still read up to its end for such a length.

    Why pieces, not :func:`pickletools.genops` on ``f`` (in place of the
    ~100 lines of this function, :func:`_read_into`, :func:`_bytes_after`
    and :class:`_RanOut`, MemoryError and the like taken as damage),
    measured in fresh processes side by side, 2 cores at load 4-7: a
    103 MB legacy pickle (11.5 M floats, protocol 4) takes this walk
    0.8-1.1 s (+135 MB RSS: the pickle is held), gzip'd 0.9-1.7 s;
    genops reading the file 37 s (+0 MB), gzip'd 61 s, genops on its
    bytes read whole 7.4 s (+99 MB): the refusal path's whole time
    (``load_checkpoint_file``'s line: 3.2 s at load 7, this walk about
    1 s of it) would grow from seconds to tens of seconds. A
    string length damaged to 2 GB: this walk 0.01 s and +3 MB (gzip'd
    0.33 s, +3 MB); genops reads the rest of the file for it, +98 MB (the
    fault this walk was bounded against), +197 MB on the bytes. A 100 MB
    file of tensors (its pickles small): 0.01 s either way.

    Raises:
        ValueError: as :func:`_walk_pickle`, on the bytes read.
    """
    data, protocols = bytearray(), []
    left = _bytes_after(f)
    walked = _Walk(0, 0, False)
    while len(protocols) < count:
        try:
            walk = _walk_pickle(data, walked.end, walked.protocol,
                                walked.extension)
        except _RanOut as ran_out:
            if left is None and ran_out.wanted > len(data) + size:
                # (f stands len(data) bytes past where the walk began)
                after = _bytes_after(f, seek=True)
                left = None if after is None else len(data) + after
            if left is not None and ran_out.wanted > left:
                raise ValueError(
                    f'at position {ran_out.walked.end}, an opcode asks '
                    f'for bytes up to {ran_out.wanted}, past the end of '
                    f'the file ({left} bytes)') from None
            if not _read_into(data, f, size):
                raise  # the file ends: the pickle is cut short
            # each piece read whole: a short one ends the file
            size *= 2
            walked = ran_out.walked
            continue
        protocols.append(walk.protocol)
        walked = _Walk(0, walk.end, False)
    return protocols


try:
    from lzma import LZMAError as _LZMAError
except ImportError:  # a Python without lzma: zipfile reads no such member
    _LZMAError = zipfile.BadZipFile


#: what reading a damaged file raises: the walk's ValueError; zipfile's
#: errors of a damaged archive (its flags may name a compression or an
#: encryption, RuntimeError, or a compressed member, zlib's or lzma's)
_DAMAGED_ERRORS = (ValueError, EOFError, OSError, RuntimeError,
                   zipfile.BadZipFile, zlib.error, _LZMAError)


#: the pickle protocols ``torch.load(weights_only=True)`` reads (its
#: unpickler lacks operations of 0 and 1, and of 4 and 5: ``FRAME``...):
#: a file of another is refused by every weights-only read of it
#: (:func:`~openselfsup.utils.checkpoint.unread_protocol`)
WEIGHTS_ONLY_PROTOCOLS = (2, 3)


def pickle_protocol(source) -> Optional[int]:
    """The pickle protocol of the checkpoint ``source`` (a path, or a
    binary file of its bytes, left at its start), where its pickle parses
    whole (every opcode known, to ``STOP``: :func:`_walk_pickle`, as
    :mod:`pickletools` reads it; its syntax only: a memo index of no
    entry, say, is not looked for): a zip's ``data.pkl`` (no byte after
    it; its CRC checked, where torch wrote CRCs), the legacy format's five
    pickles (magic number, protocol version, system info, the object, its
    storage keys; its tensors' bytes after them are not read). None where
    it does not (damaged bytes, no pickle, no torch zip). Tells a file
    that ``torch.load(weights_only=True)`` cannot read because its pickle
    uses an operation that reader lacks (``torch.save(...,
    pickle_protocol=4)``: 'Unsupported operand 149', ``FRAME``) from a
    damaged one, which the same error names: that operation is the first
    the reader lacks, near the start, and damage may lie anywhere after it
    (a zip rewritten with its CRCs whole), so the whole pickle is walked,
    not its first bytes. Nothing is built, imported or called; without
    torch."""
    if isinstance(source, (str, os.PathLike)):
        try:
            with open(source, 'rb') as f:
                return pickle_protocol(f)
        except OSError:
            return None
    try:
        source.seek(0)
        if is_legacy_format(source):
            source.seek(0)
            # the magic number, protocol version, system info, the object
            # (its protocol) and its storage keys
            return _walk_pickles(source, 5)[3]
        source.seek(0)
        with zipfile.ZipFile(source) as zf:
            # (a torch.save without CRCs: read unchecked, as torch reads it)
            _crcs_left_out(zf)
            name = _pickle_member(zf)
            if name is None:
                return None
            data = zf.read(name)
        walk = _walk_pickle(data)
        return walk.protocol if walk.end == len(data) else None
    except _DAMAGED_ERRORS:  # no pickle that parses whole
        return None
    finally:
        source.seek(0)


def is_opaque(value: Any) -> bool:
    """Whether ``value``, read by :func:`checkpoint_meta`, stands for an
    object the pickle built (not a plain value)."""
    return isinstance(value, _Opaque)


def not_a_checkpoint(path: str,
                     why: str = 'truncated, or not written by torch.save'
                     ) -> InputError:
    """The refusal of a file that is not a complete ``torch.save`` zip
    (``why``: what is wrong with it, where known better)."""
    return InputError(f'{path}: not a readable PyTorch checkpoint ({why})')


def read_with_sha1(path: str) -> Tuple[io.BytesIO, str]:
    """The bytes of the file ``path`` (a buffer) and their SHA-1, from one
    read.

    Raises:
        InputError: a file this process may not read (one line with the
            system's reason).
    """
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as exc:  # another user's 0600 file, an I/O error
        raise InputError(f'{path}: cannot read the checkpoint '
                         f'({exc.strerror or exc})') from None
    # the buffer shares data's bytes: no copy
    return io.BytesIO(data), hashlib.sha1(data).hexdigest()


def read_checkpoint(path: str) -> Tuple[io.BytesIO, str]:
    """The bytes of the checkpoint file ``path`` (a buffer to load, e.g.
    :func:`openselfsup.utils.checkpoint.load_checkpoint_bytes`), tested
    as the loaders test a file (:func:`is_loadable_checkpoint`: a zip,
    every CRC, or torch's legacy format), and their SHA-1, from one read;
    without torch.

    Raises:
        InputError: a missing file or a folder, a file this process may
            not read, or one that is neither a complete ``torch.save`` zip
            nor of torch's legacy format.
    """
    check_file(path, 'checkpoint')
    buffer, sha1 = read_with_sha1(path)
    if not is_loadable_checkpoint(buffer):
        raise not_a_checkpoint(path)
    return buffer, sha1


class HeldWarnings:
    """The warnings said on it held, then said on MMEngine's current logger
    by :meth:`flush` (the ``logger`` of :func:`read_resolved_checkpoint`):
    fetching that logger makes one, which imports ``mmengine.dist`` and so
    torch, and ``knn_eval.py`` refuses a missing or damaged checkpoint
    before torch (it was imported there, ~1 s, for the logger of a
    warning; a work dir whose files were all passed over got the warning,
    torch, then the refusal). A command flushes once it goes on past the
    read (the refusal names the folder: the files passed over are not
    said then)."""

    def __init__(self) -> None:
        self.held: List[str] = []

    def warning(self, msg: str) -> None:
        self.held.append(msg)

    def flush(self) -> None:
        if self.held:
            from mmengine.logging import MMLogger
            logger = MMLogger.get_current_instance()
            for msg in self.held:
                logger.warning(msg)
            self.held = []


def read_resolved_checkpoint(path: str, flag: str = '', logger=None
                             ) -> Tuple[str, io.BytesIO, str]:
    """:func:`read_checkpoint` of the checkpoint ``path`` names: a file, or
    a run's work dir (the checkpoint :func:`resolve_checkpoint` picks:
    ``last_checkpoint``'s if the loaders read it, else the newest they
    read whole, by :func:`is_whole_loadable`: a file of torch's legacy
    format there was passed over for an older zip, whose weights were
    evaluated without a word, and one cut short was picked over an older
    complete one; a newer file passed over is named on ``logger``). In a
    work dir the completeness test that picks the file is the read whose
    bytes are returned: the file is read once, where resolving it, then
    reading it, read it twice. The bytes of a file found incomplete are
    dropped at once. Without torch: a command can test a checkpoint whole
    before it imports the model stack, and load these bytes after.

    Args:
        path (str): a checkpoint file or a run's work dir.
        flag (str): as :func:`resolve_checkpoint` (heads the message about
            an empty path).
        logger: optional MMEngine logger, as :func:`resolve_checkpoint`.

    Returns:
        tuple: (the checkpoint file, a buffer of its bytes, their hex
        SHA-1).

    Raises:
        InputError: as :func:`resolve_checkpoint` and
            :func:`read_checkpoint`.
    """
    kept = {}

    def complete(candidate: str) -> bool:
        # is_loadable_checkpoint's test (a file that cannot be read is not
        # loadable), keeping the bytes of the file it passes
        kept.clear()
        try:
            buffer, sha1 = read_with_sha1(candidate)
        except InputError:
            return False
        if not is_whole_loadable(buffer):
            return False
        kept[candidate] = buffer, sha1
        return True
    found = resolve_checkpoint(path, flag, is_complete=complete,
                               logger=logger)
    if found not in kept:  # a file given: not tested yet
        return (found, *read_checkpoint(found))
    return (found, *kept.pop(found))


def checkpoint_step(path: str) -> Optional[Tuple[str, int]]:
    """``('epoch' | 'iter', N)`` of a checkpoint named ``epoch_N.pth`` /
    ``iter_N.pth``, else None."""
    m = re.fullmatch(r'(epoch|iter)_(\d+)\.pth', os.path.basename(path))
    return (m.group(1), int(m.group(2))) if m else None


def checkpoints_in(work_dir: str) -> List[str]:
    """The ``epoch_*`` / ``iter_*`` checkpoints in ``work_dir``, newest step
    first."""
    found = []
    for path in glob.glob(os.path.join(work_dir, '*.pth')):
        step = checkpoint_step(path)
        if step:
            found.append((step[1], os.path.getmtime(path), path))
    return [p for _, _, p in sorted(found, reverse=True)]


def last_checkpoint_named(work_dir: str) -> Optional[str]:
    """The checkpoint ``work_dir``'s ``last_checkpoint`` names (None: no
    such file, or empty), as MMEngine's resume reads it: MMEngine writes
    the absolute path, which in a copied or moved work dir still names
    the original's file; the one of that name in ``work_dir`` wins."""
    pointer = os.path.join(work_dir, 'last_checkpoint')
    named = None
    if os.path.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip() or None
    if named:
        here = os.path.join(work_dir, os.path.basename(named))
        if os.path.isfile(here):
            named = here
    return named


def resume_candidates(work_dir: str,
                      warn: Optional[Callable[[str], None]] = None
                      ) -> Iterator[str]:
    """The files a resume of ``work_dir`` tries, in order: the one
    ``last_checkpoint`` names (:func:`last_checkpoint_named`), then each
    ``epoch_*`` / ``iter_*`` file, newest first (:func:`checkpoints_in`),
    but, where ``last_checkpoint`` names one, only those of an earlier
    step of its unit: another unit, or a later step, is an earlier run's
    file left in the work dir, passed over (``warn``, where given, names
    it). The one
    walk of :func:`find_resumable_checkpoint` and
    :func:`newer_legacy_checkpoint`."""
    named = last_checkpoint_named(work_dir)
    if named:
        yield named
    below = checkpoint_step(named) if named else None
    for path in checkpoints_in(work_dir):
        if named and os.path.realpath(path) == os.path.realpath(named):
            continue  # tried first, above: no earlier run's file
        step = checkpoint_step(path)
        if below is not None and (step[0] != below[0] or
                                  step[1] >= below[1]):
            # another unit, or a later step than the run's last: an
            # earlier run's file left in the work dir, not this run's
            if warn is not None:
                warn(f'skipping {path}: not an earlier step of the run '
                     'last_checkpoint names (left by an earlier run)')
            continue
        yield path


def newer_legacy_checkpoint(work_dir: str,
                            found: Optional[str]) -> Optional[str]:
    """A checkpoint of torch's legacy format (:func:`is_legacy_format`)
    in ``work_dir`` newer than ``found``, the one
    :func:`find_resumable_checkpoint` picks for a resume (None: none):
    the file ``last_checkpoint`` names, or an ``epoch_*`` / ``iter_*``
    file of a later step, among the files that resume tries
    (:func:`resume_candidates`: not an earlier run's file of a later step
    than the one ``last_checkpoint`` names, which was refused as newest
    where the resume went back to this run's ``found``). It is passed
    over as incomplete (the resume's checks read zips only), and
    ``--resume`` went back to ``found`` (or started afresh) with a
    warning alone, training over the later steps; None where there is
    none. Reads a few bytes of each; no torch."""
    for path in resume_candidates(work_dir):
        if found is not None and os.path.realpath(path) == \
                os.path.realpath(found):
            return None
        if is_legacy_format(path):
            return path
    return None


def find_resumable_checkpoint(
        work_dir: str, logger=None,
        is_complete: Optional[Callable[[str], bool]] = None
) -> Optional[str]:
    """The checkpoint to resume from: ``last_checkpoint`` if it is complete,
    otherwise the newest complete ``epoch_*``/``iter_*`` checkpoint of an
    earlier step (:func:`resume_candidates`).

    Args:
        work_dir (str): the run's work directory.
        logger: optional MMEngine logger for warnings.
        is_complete (callable, optional): the completeness test of a
            file (default :func:`is_complete_checkpoint`); a reader that
            loads the file it picks passes one that keeps the bytes it
            has read and tested, so the file is read once.

    Returns:
        str | None: a checkpoint path, or None if there is none.
    """
    def warn(msg):
        if logger is not None:
            logger.warning(msg)

    is_complete = is_complete or is_complete_checkpoint
    named = last_checkpoint_named(work_dir)
    for at, path in enumerate(resume_candidates(work_dir, warn)):
        if is_complete(path):
            return path
        if at == 0 and named:
            warn(f'last_checkpoint names {named}, which is missing or '
                 'incomplete; looking for an older checkpoint')
        else:
            warn(f'skipping incomplete checkpoint {path}')
    return None


def resolve_checkpoint(path: str, flag: str = '',
                       is_complete: Optional[Callable[[str], bool]] = None,
                       logger=None) -> str:
    """``path`` itself, or for a training work dir the checkpoint that
    ``--resume`` would continue from (:func:`find_resumable_checkpoint`:
    the one ``last_checkpoint`` names if complete, else the newest complete
    ``epoch_N.pth`` / ``iter_N.pth``), so a command given a run's folder
    never reads a half-written checkpoint or an empty ``last_checkpoint``.
    ``flag`` (e.g. ``--resume``) heads the message about an empty path;
    ``is_complete``, ``logger`` (the files passed over named there): as
    :func:`find_resumable_checkpoint`.

    Raises:
        InputError: an empty path (an unset shell variable: ``"$CKPT"``),
            or a folder without a complete checkpoint.
    """
    if not path:
        head = f'{flag}: ' if flag else ''
        raise InputError(f'{head}the checkpoint path is empty (an unset '
                         'variable?); give a checkpoint file or a run\'s '
                         'work dir')
    if not os.path.isdir(path):
        return path
    found = find_resumable_checkpoint(path, logger, is_complete=is_complete)
    if found is None:
        raise InputError(f'{path}: a folder without a complete training '
                         'checkpoint (epoch_N.pth / iter_N.pth); give a '
                         'checkpoint file or train this run first')
    return found


def checkpoint_folder(path: str) -> str:
    """The folder a checkpoint file really lies in, as an absolute path:
    that of the file a symbolic link points to (``latest.pth`` linked to
    ``work_dirs/a/epoch_5.pth``: ``work_dirs/a``, the run the user named),
    not the link's."""
    return os.path.dirname(os.path.realpath(path))


#: the log folder MMEngine makes in a work dir for each run it starts
#: (``<work_dir>/<YYYYmmdd_HHMMSS>/``, its log ``<YYYYmmdd_HHMMSS>.log``)
_LOG_FOLDER = re.compile(r'\d{8}_\d{6}')


def is_training_work_dir(folder: str) -> bool:
    """Whether ``folder`` is a work dir that training wrote: it holds the
    ``last_checkpoint`` pointer the checkpoint hook writes beside each
    checkpoint it saves, and the log folder of a run
    (``<YYYYmmdd_HHMMSS>/<YYYYmmdd_HHMMSS>.log``). A folder of downloaded
    checkpoints has neither, and a checkpoint hook's ``out_dir`` (a
    pointer beside the checkpoints, the logs in the work dir) not both.
    """
    if not os.path.isfile(os.path.join(folder, 'last_checkpoint')):
        return False
    try:
        names = os.listdir(folder)
    except OSError:
        return False
    return any(_LOG_FOLDER.fullmatch(name) and os.path.isfile(
        os.path.join(folder, name, f'{name}.log')) for name in names)


#: the record a lambda sweep (:mod:`openselfsup.apis.balance_sweep`, its
#: ``RUN_RECORD``) writes in each run's folder once the run has ended and
#: been evaluated: a folder holding it is a sweep's run, whose record the
#: sweep's ``--resume`` reuses (:func:`is_sweep_run_dir`)
SWEEP_RUN_RECORD = 'sweep_run.json'


def is_sweep_run_dir(folder: str) -> bool:
    """Whether ``folder`` is the folder of a lambda sweep's run that has
    ended (it holds :data:`SWEEP_RUN_RECORD`, a JSON object with the
    run's ``settings`` and ``row``): neither a sweep nor a training run of
    ``tools/train.py`` may write there. A file of that name of another
    shape (another tool's) is not a record a sweep reuses (its
    ``--resume`` refuses it: ``balance_sweep``'s reader checks the row
    itself), so it does not make the folder a sweep run's (a user's work
    dir holding one was refused)."""
    import json
    try:
        with open(os.path.join(folder, SWEEP_RUN_RECORD)) as f:
            record = json.load(f)
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and isinstance(
        record.get('settings'), dict) and isinstance(record.get('row'), dict)


#: the folder of a work dir that ``--resume http(s)://...`` (or a new
#: run's ``load_from`` http(s) URL) downloads its checkpoint into
#: (:func:`url_download_path`): not the work dir itself, whose
#: ``epoch_N.pth`` / ``iter_N.pth`` and ``last_checkpoint`` are the run's
#: own (:func:`find_resumable_checkpoint` reads no subfolder). Named
#: ``resume_download`` before it held ``load_from``'s too: such a folder
#: left by an earlier version is an ordinary one now, its file a local
#: checkpoint (``--resume`` or ``load_from`` it), which no run removes
URL_DOWNLOADS = 'url_downloads'


def is_http_url(path) -> bool:
    """Whether ``path`` is an ``http://`` or ``https://`` URL: what
    ``--resume`` and ``load_from`` download themselves
    (:func:`url_download_path`); other URLs (``s3://``,
    ``open-mmlab://``) go to MMEngine's loaders."""
    return isinstance(path, str) and \
        path[:8].lower().startswith(('http://', 'https://'))


def url_download_path(work_dir: str, url: str) -> str:
    """The file ``--resume URL`` (or ``load_from`` URL) downloads ``url``
    to, in ``work_dir``:
    ``<work_dir>/url_downloads/<16 hex digits of the URL's SHA-256>_<the
    URL's file name>`` (its characters other than letters, digits, ``.``,
    ``_`` and ``-`` made ``_``; at most its last 100), as an absolute path.
    One file per URL and work dir: another URL of the same file name (two
    runs' ``epoch_10.pth``) has another, and none is a name the run's own
    checkpoints take. Every process of a run gets the same path from the
    same arguments."""
    from urllib.parse import urlparse
    name = re.sub(r'[^A-Za-z0-9._-]', '_',
                  os.path.basename(urlparse(url).path))[-100:]
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return os.path.join(os.path.abspath(work_dir), URL_DOWNLOADS,
                        f'{digest}_{name or "checkpoint.pth"}')


def is_url_download(path, work_dir: str) -> bool:
    """Whether ``path`` lies where ``--resume URL`` (or ``load_from`` URL)
    downloads to in ``work_dir`` (:func:`url_download_path`)."""
    return isinstance(path, str) and bool(work_dir) and \
        os.path.dirname(os.path.abspath(path)) == os.path.join(
            os.path.abspath(work_dir), URL_DOWNLOADS)


def url_named(text: str, path: str, url: str) -> str:
    """``text`` (a refusal's line) with the file ``path`` that ``url`` was
    downloaded to (:func:`url_download_path`) named as the URL the user
    gave: ``url`` where the file is gone (a failed start removes it, and
    the work dir made for it: the line named a file in a folder no longer
    there), ``url (downloaded to path)`` where it is still there. The one
    rule of the download's own check (:func:`~openselfsup.apis.train.
    checkpoint_from_url`) and of the run's refusals
    (:func:`~openselfsup.engine.runner.discard_on_failure`). A line named
    so already is left as it is (a refusal passes through two guards of
    one runner: ``train()``'s and the run's own; r139: the kept form
    holds ``path`` and was named again, ``URL (downloaded to URL
    (downloaded to path))``)."""
    if not path or path not in text:
        return text
    named = url + (f' (downloaded to {path})' if os.path.isfile(path)
                   else '')
    return named.join(part.replace(path, named)
                      for part in text.split(named))


def remove_url_download(path: str) -> None:
    """Remove the download ``path`` of ``--resume URL`` (or ``load_from``
    URL: :func:`url_download_path`), and its folder if that is left empty;
    nothing where it is gone already."""
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    try:
        os.rmdir(os.path.dirname(path))  # only if empty
    except OSError:
        pass


#: weight files looked for in a library model's hub-layout folder
#: (``--model-source timm --weights <folder>``), in order
FOLDER_WEIGHTS = {
    'timm': ('model.safetensors', 'pytorch_model.bin', 'pytorch_model.pth'),
    'open_clip': ('open_clip_model.safetensors', 'open_clip_pytorch_model.bin',
                  'model.safetensors', 'pytorch_model.bin'),
}
#: the config file of a library's hub-layout folder
FOLDER_CONFIG = {'timm': 'config.json', 'open_clip': 'open_clip_config.json'}


def hub_folder_files(library: str, folder: str
                     ) -> Tuple[Optional[str], str]:
    """The weights file a hub-layout ``folder`` of ``library`` resolves to
    (the first of :data:`FOLDER_WEIGHTS` there; None where none is) and
    its config file's path (:data:`FOLDER_CONFIG`, whether or not it
    exists): the one lookup of an extraction
    (:func:`openselfsup.models.external.resolve_weights`) and of a printed
    command that names the folder again
    (:func:`openselfsup.lowshot.features._recorded_weights`)."""
    for name in FOLDER_WEIGHTS[library]:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            return path, os.path.join(folder, FOLDER_CONFIG[library])
    return None, os.path.join(folder, FOLDER_CONFIG[library])


#: :func:`random_init_words` as read back: a library's name (a word),
#: then the seed's words, nothing after (a checkpoint's recorded path
#: is absolute, so no path reads as one); the seed's bracket may be
#: missing (:func:`is_random_init`: a seed not known)
_RANDOM_INIT = re.compile(r'(?:\w+ )?random init(?: \(seed (-?\d+)\))?')


def random_init_words(seed: int, library: Optional[str] = None) -> str:
    """The words a result of an encoder at its random initialisation
    records where a checkpoint's records the checkpoint: ``random init
    (seed S)``, ``<library> random init (seed S)`` for a library's model
    (``knn_eval.py``'s ``checkpoint``, ``extract.py``'s
    ``checkpoint_kind``); :func:`random_init_seed` reads them back."""
    words = f'random init (seed {seed})'
    return f'{library} {words}' if library else words


def random_init_seed(words: Any) -> Optional[int]:
    """The seed of :func:`random_init_words`' ``words``; None for any
    other value (a checkpoint's path or kind, None). A negative seed,
    which files written before every ``--seed`` was checked
    (:func:`~openselfsup.utils.check_seed`) may record, is read as
    written."""
    found = _RANDOM_INIT.fullmatch(words) if isinstance(words, str) \
        else None
    return int(found.group(1)) if found and found.group(1) else None


def is_random_init(words: Any) -> bool:
    """Whether ``words`` (a result's ``checkpoint``, a provenance's
    ``checkpoint_kind``) name a random initialisation: those of
    :func:`random_init_words`, or those words without their seed's
    bracket (``random init``: a record whose seed is not known, which
    its reader asks for); not a path or words holding them (a folder
    named ``random init (seed 3)``, the words with more after)."""
    return isinstance(words, str) and \
        _RANDOM_INIT.fullmatch(words) is not None
