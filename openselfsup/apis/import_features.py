"""Features computed elsewhere, written into the low-shot workdir layout.

``wsi_workdir/import_features.py`` calls :func:`import_features`: a feature
file (one row per image) and the image paths of its rows in, the four files
of an extraction out (features, shared labels and meta, provenance; see
:func:`openselfsup.apis.extract.output_paths`), with the rows put in the
order of the dataset's list file.

Sources:

- ``.npy``: a float array ``[N, D]``; the paths in a text file
  (``--paths``, one per line, spaces in it kept; a list file's
  ``path label`` lines work too).
- ``.pt`` / ``.pth``: a tensor ``[N, D]``, or a dict holding it under
  ``--key`` (default: ``features``) and optionally the paths, a list of
  strings, under ``--paths-key`` (default: ``paths``). Read with
  ``torch.load(weights_only=True)``.
- ``.h5`` / ``.hdf5``: a dataset ``[N, D]`` named ``--key`` (default
  ``features``) and optionally a string dataset of paths named
  ``--paths-key`` (default ``paths``).

Matching: a path of the source matches the list entry it equals, or the entry
it ends with (``/data/NCT/data/CRC-VAL-HE-7K/ADI/x.tif`` matches the entry
``CRC-VAL-HE-7K/ADI/x.tif``; the longest matching tail wins). Every image of
the list must have exactly one row (an image the list names several times,
as PAIP19's published lists do, takes its one row at each of its
entries); rows naming images outside the list are refused too, unless
``ignore_extra`` (features of a whole folder imported into one split), and
so is a row whose path names another NCT release folder than its
entry's (NONORM, the published lists' images, and the stain-normalised
NCT-CRC-HE-100K share file names). Every refusal is one line with the count
and the first offender; nothing is written.

Normalisation: the protocol L2-normalises features (``extract.py`` does by
default), so imported rows are L2-normalised by default; ``normalise=False``
keeps them as found. The provenance records both: ``source_normalised``
(unit norm as found) and ``normalised`` (as written).
"""
import os
import posixpath
import re
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..utils import (InputError, check_file, check_finite, file_sha1,
                     file_sha256, first_line, load_npy)

FORMATS = {'.npy': 'npy', '.pt': 'pt', '.pth': 'pt', '.h5': 'h5',
           '.hdf5': 'h5'}
#: the first bytes of the formats that say what they are, and their
#: names, for a file whose name says another format (a zip archive may be
#: a torch.save file or an .npz: ``load_npy`` says so for a .npy name)
MAGIC = {b'\x93NUMPY': ('npy', 'a .npy (numpy) file'),
         b'\x89HDF\r\n\x1a\n': ('h5', 'an HDF5 file')}
#: what a missing ``--source`` / ``--paths`` should be, after its line
#: (the line said "feature not found" alone: not the flag, nor what to give)
SOURCE_HINT = ('the file of the features to import, one row per image '
               "of the config's list: .npy, .pt or .h5")
PATHS_HINT = ('a text file of the image path of each --source row, one '
              'per line')


def _as_paths(values, where: str) -> List[str]:
    if isinstance(values, (str, bytes)):  # not one path per character
        raise InputError(f'{where}: paths must be a list of strings, found '
                         f'one {type(values).__name__}')
    out = []
    for v in values:
        if isinstance(v, bytes):
            v = v.decode('utf-8')
        if not isinstance(v, str):
            raise InputError(f'{where}: paths must be strings, found '
                             f'{type(v).__name__}')
        out.append(v)
    return out


#: a list file's ``path label`` line
_LABELLED = re.compile(r'(.*\S)\s+-?\d+')


def read_paths_file(path: str) -> List[str]:
    """Image paths, one per line: each non-blank line less the spaces
    around it and a final integer field (a list file's ``path label``
    lines work too); a path may hold spaces (``/home/Jane Doe/...``: its
    first field alone was taken, and no row matched)."""
    check_file(path, 'paths', '--paths', PATHS_HINT)
    try:  # utf-8-sig: a byte-order mark (Notepad's) is no part of row 0
        with open(path, encoding='utf-8-sig') as f:
            lines = [line.strip() for line in f if line.strip()]
    except UnicodeDecodeError:  # a UTF-16 file (Windows PowerShell's >)
        raise InputError(f'--paths {path}: not a text file of paths (it '
                         'holds bytes that are not UTF-8 text; save a '
                         'UTF-16 file as UTF-8)') from None
    except OSError as exc:
        raise InputError(f'--paths {path}: cannot read ('
                         f'{exc.strerror or exc})') from None
    if any('\x00' in line for line in lines):  # UTF-16 without its mark
        raise InputError(f'--paths {path}: not a text file of paths (NUL '
                         'bytes: binary data, or UTF-16 text; save it as '
                         'UTF-8)')
    paths = [m.group(1) if m else line for line, m in
             ((line, _LABELLED.fullmatch(line)) for line in lines)]
    if not paths:
        raise InputError(f'--paths {path}: no paths in the file')
    return paths


def check_feature_file(path: str) -> str:
    """The format of the feature file ``path`` (a value of
    :data:`FORMATS`), checked cheaply before anything is read: a known
    extension, a file that is there and that this process may open.

    Raises:
        InputError: a folder, an unknown extension, a missing file, a
            file that cannot be opened (one line with the system's reason),
            a file whose first bytes say another format than its name.
    """
    if os.path.isdir(path):
        # a folder of per-slide files (CLAM's or TRIDENT's h5_files/) was
        # "unknown feature file type ''", which did not say what to give
        raise InputError(f'{path}: is a folder; --source takes one file '
                         'holding a row per image (.npy, .pt or .h5): join '
                         'per-slide files into one first')
    # a trailing '/' is said by check_file (the file's name without it)
    ext = os.path.splitext(path.rstrip(os.sep))[1].lower()
    if ext not in FORMATS:
        raise InputError(f'{path}: unknown feature file type {ext!r} '
                         f'(expected {", ".join(sorted(FORMATS))})')
    check_file(path, 'feature', '--source', SOURCE_HINT)
    try:
        with open(path, 'rb') as f:
            head = f.read(8)
    except OSError as exc:  # another user's 0600 file
        raise InputError(f'{path}: cannot read the feature file '
                         f'({exc.strerror or exc})') from None
    # a .npy saved under a .pt name was torch's 'Weights only load
    # failed ... In PyTorch 2.6' line, which named the wrong cause
    for magic, (fmt, what) in MAGIC.items():
        if head.startswith(magic) and fmt != FORMATS[ext]:
            exts = ' or '.join(e for e, f in FORMATS.items() if f == fmt)
            raise InputError(f'{path}: its contents are {what}, not '
                             f'{ext}; rename it {exts}')
    return FORMATS[ext]


def read_feature_file(path: str, key: str = 'features',
                      paths_key: str = 'paths'
                      ) -> Tuple[np.ndarray, Optional[List[str]], str]:
    """Features ``[N, D]`` and, if the file holds them, their image paths.

    Returns:
        tuple: ``(features, paths or None, format)``.

    Raises:
        InputError: missing or unreadable file, an unknown extension, no
            ``key`` in it.
    """
    fmt, paths = check_feature_file(path), None
    if fmt == 'npy':
        feats = load_npy(path, 'features')
    elif fmt == 'pt':
        import torch
        try:
            obj = torch.load(path, map_location='cpu', weights_only=True)
        except Exception as exc:  # pickle errors, truncated files
            # torch's first line is only 'you have two options' (in bold);
            # the object it refused is further down: a global it does not
            # know, or, once this project's checkpoint globals are allowed
            # (openselfsup.engine imported: numpy's array rebuild among
            # them), the type that rebuild met
            from ..utils.checkpoint import refused_global
            found = refused_global(exc)
            why = (f'it holds a {found} object; '
                   'save the features as a torch tensor and the paths as a '
                   'list of str' if found else first_line(exc))
            raise InputError(f'{path}: cannot load with weights_only=True '
                             f'({why})') from None
        if isinstance(obj, dict):
            if key not in obj:
                raise InputError(f'{path}: no {key!r} entry (has '
                                 f'{", ".join(map(str, obj)) or "none"}); '
                                 'name it with --key')
            if obj.get(paths_key) is not None:
                paths = _as_paths(obj[paths_key], f'{path}[{paths_key!r}]')
            obj = obj[key]
        if not isinstance(obj, torch.Tensor):
            raise InputError(f'{path}: expected a tensor [N, D], found '
                             f'{type(obj).__name__}')
        obj = obj.detach()
        # as stored, as an .npy is read (float64 values beyond float32's
        # range are named below, not made inf here; an integer or bool
        # tensor is refused below); bfloat16, which numpy lacks, as float32
        feats = (obj.float() if obj.dtype == torch.bfloat16 else
                 obj).numpy()
    else:
        try:
            import h5py
        except ImportError:
            raise InputError('reading .h5 needs h5py (pip install h5py, or '
                             'pip install ".[encoders]")') from None
        try:
            with h5py.File(path, 'r') as f:
                if key not in f:
                    raise InputError(f'{path}: no {key!r} dataset (has '
                                     f'{", ".join(f.keys()) or "none"}); '
                                     'name it with --key')
                if not isinstance(f[key], h5py.Dataset):
                    inner = list(f[key].keys())
                    raise InputError(
                        f'{path}: {key!r} is a group, not a dataset (it '
                        f'holds {", ".join(inner) or "nothing"}); name a '
                        'dataset with --key' + (f', e.g. --key {key}/'
                                                f'{inner[0]}' if inner
                                                else ''))
                feats = np.asarray(f[key])
                if paths_key in f:
                    paths = _as_paths(np.asarray(f[paths_key]).reshape(-1),
                                      f'{path}[{paths_key!r}]')
        except InputError:
            raise
        except Exception as exc:  # OSError of h5py on a bad file
            raise InputError(f'{path}: cannot read ({first_line(exc)})'
                             ) from None
    if feats.ndim != 2 or not np.issubdtype(feats.dtype, np.floating) or \
            0 in feats.shape:
        raise InputError(f'{path}: features must be a 2-d float array '
                         f'[N, D], got {feats.dtype} {list(feats.shape)}')
    return feats, paths, fmt


def _norm_path(path: str) -> str:
    path = posixpath.normpath(str(path).replace('\\', '/'))
    return path[2:] if path.startswith('./') else path


def _entry_of(parts: Sequence[str], index: Dict[str, int]) -> Optional[int]:
    """The entry (its index in ``index``, normalised entry -> index) that
    the path ``parts`` (its components, no leading ``/``) names: the one
    it equals or ends with, the longest such tail; None if none."""
    for start in range(len(parts)):  # longest tail first
        hit = index.get('/'.join(parts[start:]))
        if hit is not None:
            return hit
    return None


def first_other_row(given: Sequence[str], inner: Sequence[str],
                    entries: Sequence[str]) -> Optional[int]:
    """The first row where two path lists name other images (or that one
    of them lacks), None where they name the same image row by row:
    paths equal once normalised, or matching the same list entry (an
    absolute path and the entry itself: ``/data/NCT/data/ADI/x.tif`` and
    ``ADI/x.tif``) under the same NCT release folder, if any, the one
    above the class folder (the releases share file names; as
    :func:`match_rows` reads a row's); an image outside the list, one path the
    end of the other (relative), under the same release folder."""
    from ..datasets.prepare import written_release
    index: Dict[str, int] = {}
    for i, e in enumerate(entries):
        index.setdefault(_norm_path(e), i)

    def key(path):  # with the NCT release its folders name, if any: as
        # match_rows reads a row's (a NONORM copy kept in
        # NCT-CRC-HE-100K/nonorm/ is no image of NCT-CRC-HE-100K)
        norm = _norm_path(path)
        parts = norm.lstrip('/').split('/')
        hit = _entry_of(parts, index)
        return (norm if hit is None else hit), written_release(
            posixpath.dirname(norm), unnamed=None)

    def same(a, b):
        if a == b:
            return True
        (pa, ra), (pb, rb) = a, b
        # an image outside the list (--ignore-extra drops it), spelt
        # absolute and relative: one path the end of the other (it was
        # refused as another image, though either list drops it)
        return ra == rb and isinstance(pa, str) and isinstance(pb, str) \
            and any(x.endswith('/' + y) for x, y in ((pa, pb), (pb, pa))
                    if not y.startswith('/'))
    for r in range(max(len(given), len(inner))):
        if r >= min(len(given), len(inner)) or \
                not same(key(given[r]), key(inner[r])):
            return r
    return None


def _no_match_hint(given: Sequence[str], normed: Sequence[str]) -> str:
    """Why no row matched any entry, for the refusal: the first row's path
    and, where it is the end of an entry (written from a folder below the
    list's data root: the published lists' ``ADI/ADI-x.tif`` for the
    converter's ``NCT-CRC-HE-100K-NONORM/ADI/ADI-x.tif``), the folders
    its paths lack, where one prefix gives every entry its row."""
    first = _norm_path(given[0])
    said = f'; no row\'s path ends with an entry of the list (row 0: ' \
        f'{given[0]})'
    if first.startswith('/'):
        return said
    longer = next((e for e in normed if e.endswith('/' + first)), None)
    if longer is None:
        return said
    lack = longer[:-len(first)]
    # one prefix that gives every entry its row (a release folder), or
    # one per row (PAIP19's slide folder left out: none to name)
    each = {lack + _norm_path(g) for g in given} >= set(normed)
    # rows written as the published lists write them (<CLS>/<file>) name
    # no release folder: given the prefix, they are filed as the images of
    # the release the list's entry is read as (the folder above its class
    # folder, else NONORM: written_release, as match_rows reads an entry),
    # and the release check, which reads no release in the rows, cannot
    # tell. Not the last release name anywhere in the prefix: for a NONORM
    # copy kept in NCT-CRC-HE-100K/nonorm/ the line said "only if they are
    # images of NCT-CRC-HE-100K", the release the list does not hold, and
    # a data/ prefix (NONORM's entries too) got no word. The published
    # layout is NONORM's, but the stain-normalised NCT-CRC-HE-100K has
    # the same <CLS>/<file> names (rows written from inside it), so every
    # release is said with a word
    from ..datasets.prepare import (NONORM, OFFICIAL, nct_release,
                                    written_release)
    other = written_release(posixpath.dirname(longer))
    if nct_release(first.split('/'), entry=True) != NONORM or \
            nct_release(first.split('/')[:-1]) is not None:
        other = None  # the rows' folders name a release, or not NCT's
    why = (f'the stain-normalised {OFFICIAL[0]} has the same '
           '<CLS>/<file> names' if other == NONORM else
           f'the published lists\' <CLS>/<file> are {NONORM}\'s, and the '
           'releases share file names')
    return (f'; the rows\' paths are shorter than the list\'s entries (row '
            f'0: {given[0]}, the entry {longer}): give them from the list\'s '
            'data root or absolute' + (f' (here {lack} before each' + (
                f', only if they are images of {other}: {why}'
                if other else '') + ')' if each else ''))


def match_rows(given: Sequence[str], entries: Sequence[str], where: str,
               list_file: str, ignore_extra: bool = False,
               root: Optional[str] = None) -> Tuple[np.ndarray, int]:
    """The row of ``given`` for every list entry.

    Args:
        given (sequence[str]): paths of the feature rows.
        entries (sequence[str]): the list's paths (relative to its data
            root), in list order.
        where (str): where ``given`` came from (messages).
        list_file (str): the list (messages).
        ignore_extra (bool): drop rows whose image is not in the list.
        root (str, optional): the folder the entries are relative to (the
            list's data root): a relative row's folder is looked up there
            for the links it takes, else from the current folder.

    Returns:
        tuple: ``(rows, extra)``: int64 ``[len(entries)]`` row indices, and
        the number of rows dropped.

    Raises:
        InputError: an image of the list without a row, two rows for one
            image (also one the list names several times: its one row is
            taken for each of its entries), (without ``ignore_extra``) rows
            outside the list, or a row of another NCT release than its
            entry's (the releases share file names: a row of the
            stain-normalised NCT-CRC-HE-100K would pass for the NONORM
            image of its name); a row's release is the one the folder
            above its class folder names (one further up says nothing: a
            NONORM copy kept in ``NCT-CRC-HE-100K/nonorm/``; none: not
            judged), or, where its class folder is on this machine (a
            relative one under ``root`` first), the one
            a symbolic link on the way reaches
            (:func:`~openselfsup.datasets.prepare.linked_release`); an
            entry's is the one its class folder under ``root`` (a
            relative one from the current folder) is read as
            (:func:`~openselfsup.datasets.prepare.entry_release`, as
            :class:`~openselfsup.datasets.ImageList` reads the list): the
            one the folder above it names, else NONORM.
    """
    from ..datasets.prepare import (entry_release, linked_release,
                                    written_release)
    # a row's release: the one a link on the way to its class folder
    # reaches, where the folder is here (a NONORM folder linked to the
    # stain-normalised download passed as NONORM), else its folders' names
    linked: Dict[str, Tuple[str, Optional[str], Optional[str]]] = {}
    normed = [_norm_path(e) for e in entries]
    # a list may name one image several times (PAIP19's published lists
    # draw with replacement): the image's first entry, and all of them
    index, also = {}, {}
    for i, e in enumerate(normed):
        if e in index:
            also.setdefault(index[e], []).append(i)
        else:
            index[e] = i
    rows = np.full(len(entries), -1, dtype=np.int64)
    extra = []
    for r, raw in enumerate(given):
        parts = _norm_path(raw).lstrip('/').split('/')
        hit = _entry_of(parts, index)
        if hit is None:
            extra.append(raw)
            continue
        if rows[hit] >= 0:
            raise InputError(f'{where}: rows {rows[hit]} and {r} both name '
                             f'{entries[hit]}')
        # the entry's release as the list is read (ImageList's
        # check_list_releases): its class folder under the data root
        mine = entry_release(root or '', posixpath.dirname(normed[hit]))
        folder = posixpath.dirname(_norm_path(raw))
        if folder not in linked:
            here = folder
            if root and folder and not os.path.isabs(folder) and \
                    os.path.isdir(os.path.join(root, folder)):
                here = os.path.join(root, folder)  # as the hints say
            linked[folder] = (here, *(linked_release(here) if folder
                                      else (None, None)))
        here, link, via = linked[folder]
        theirs = link or written_release(here, unnamed=None)
        if mine and theirs and mine != theirs:
            real = os.path.realpath(here)
            raise InputError(
                f'{where}: row {r} ({raw}) is an image of {theirs}'
                + (f' (its folder {here} links to {real}'
                   + (f', through {via}' if via != os.path.realpath(via)
                      else '') + ')'
                   if link else '')
                + f', the list\'s {entries[hit]} one of {mine} (the releases '
                'share file names but not their staining); import features '
                f'of {mine}\'s images')
        rows[hit] = r
    for first, more in also.items():  # one row for every entry of its image
        rows[more] = rows[first]
    missing = np.flatnonzero(rows < 0)
    if len(missing):
        # the releases as the check above reads them
        mine = entry_release(root or '', posixpath.dirname(
            normed[missing[0]]))
        theirs = {written_release(posixpath.dirname(_norm_path(g)),
                                  unnamed=None) for g in given} - {None, mine}
        hint = (f'; the rows name images of {", ".join(sorted(theirs))}, '
                f'the list\'s are {mine}\'s' if mine and theirs else
                _no_match_hint(given, normed) if len(extra) == len(given)
                else '')
        raise InputError(f'{where}: {len(missing)} of the {len(entries)} '
                         f'images of {list_file} have no feature row '
                         f'(first: {entries[missing[0]]}){hint}')
    if extra and not ignore_extra:
        raise InputError(f'{where}: {len(extra)} row(s) name images that '
                         f'are not in {list_file} (first: {extra[0]}); '
                         '--ignore-extra drops them')
    return rows, len(extra)


def import_features(config: str, source: str, output: str,
                    paths: Optional[str] = None, key: str = 'features',
                    paths_key: str = 'paths',
                    cfg_options: Optional[dict] = None,
                    normalise: bool = True,
                    ignore_extra: bool = False) -> Dict:
    """Write a feature file's rows in the order of a dataset's list.

    Args:
        config (str): an extraction config (``configs/extraction/*.py``):
            its ``dataset`` names the list file (no image is read).
        source (str): ``.npy``, ``.pt``/``.pth`` or ``.h5``/``.hdf5``.
        output (str): the features ``.npy``, e.g.
            ``<workdir>/extracted_feats/<model>/NCT_train.npy``.
        paths (str, optional): text file of the rows' image paths; needed
            unless the source holds them.
        key (str): the features' entry in a ``.pt`` dict or ``.h5`` file.
        paths_key (str): the paths' entry there.
        cfg_options (dict, optional): ``--cfg-options`` overrides, e.g.
            ``{'dataset.data_root': 'data/NCT'}``.
        normalise (bool): L2-normalise the rows (the protocol's).
        ignore_extra (bool): drop rows of images outside the list.

    Returns:
        dict: the provenance record (also written), outputs under
        ``outputs``.
    """
    # the source and the paths file first: a mistyped path is refused
    # before the list is read (mmpretrain's datasets, some 6 s of imports)
    check_feature_file(source)
    if paths is not None:
        check_file(paths, 'paths', '--paths', PATHS_HINT)  # read_paths_file's
    from ..lowshot.features import IMPORTED, unit_norm
    from .extract import (check_not_copies, finish_features, open_list,
                          provenance_record, write_outputs)
    check_not_copies(output, 'import_features.py writes one row per image '
                     'of the list')
    listing = open_list(config, output, cfg_options, need_model=False,
                        check_images='none')
    feats, inner, fmt = read_feature_file(source, key, paths_key)
    if paths is not None:
        given, where = read_paths_file(paths), paths
        if inner is not None:
            # the file names its own rows: --paths in another order (the
            # list's, say) put every row under another image's label; the
            # same images spelt otherwise (absolute and relative paths)
            # pass: they were refused as naming "other images"
            r = first_other_row(given, inner, listing['meta']['paths'])
            if r is not None:
                def show(ps):
                    return ps[r] if r < len(ps) else 'no row'
                raise InputError(
                    f'--paths {paths} names other images than '
                    f'{source}[{paths_key!r}], the paths of its rows (row '
                    f'{r}: {show(given)} vs {show(inner)}); leave out '
                    '--paths to use the file\'s own')
    elif inner is not None:
        given, where = inner, f'{source}[{paths_key!r}]'
    else:
        raise InputError(f'{source}: holds no image paths; give --paths '
                         'FILE (one path per row)')
    if len(given) != len(feats):
        raise InputError(f'{where} has {len(given)} paths but {source} has '
                         f'{len(feats)} rows')
    rows, dropped = match_rows(given, listing['meta']['paths'], where,
                               listing['dataset'].ann_file, ignore_extra,
                               listing['dataset'].img_prefix)
    ordered = feats[rows]
    # named by the source's own first such row and its path
    check_finite(ordered, source, rows=rows, paths=given)
    with np.errstate(over='ignore'):  # refused next, in one line
        ordered = np.asarray(ordered, dtype=np.float32)  # the format written
    check_finite(ordered, source, "values beyond float32's range",
                 rows=rows, paths=given)
    found_unit = unit_norm(ordered)
    ordered = finish_features(ordered, normalise, source,
                              listing['meta']['paths'])
    provenance = provenance_record(
        listing, ordered, unit_norm(ordered),
        checkpoint=None, checkpoint_kind=IMPORTED,
        source=os.path.abspath(source), source_sha256=file_sha256(source),
        source_format=fmt, source_key=key if fmt != 'npy' else None,
        source_shape=list(feats.shape), source_dtype=str(feats.dtype),
        paths_file=os.path.abspath(paths) if paths else None,
        paths_sha1=file_sha1(paths) if paths else None,
        rows_dropped=int(dropped), source_normalised=found_unit,
        normalised_on_import=bool(normalise),
        config=os.path.abspath(config), cfg_options=dict(cfg_options or {}))
    write_outputs(listing, ordered, provenance)
    return provenance


def summary_line(record: Dict) -> str:
    """One line for the CLI: what was written."""
    out = record['outputs']
    norm = 'L2-normalised' if record['normalised'] else 'raw'
    state = ('normalised on import' if record['normalised_on_import']
             and not record['source_normalised'] else
             'unit norm as found' if record['source_normalised'] else
             'as found')
    dropped = (f', {record["rows_dropped"]} rows outside the list dropped'
               if record['rows_dropped'] else '')
    return (f'{record["num_samples"]} x {record["feature_dim"]} {norm} '
            f'features ({state}{dropped}) from {record["source"]} -> '
            f'{out["features"]} (labels {out["labels"]})')
