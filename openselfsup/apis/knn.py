"""kNN evaluation of a saved checkpoint (``tools/knn_eval.py``).

The kNN itself (search, scores, slide / patient aggregation, metrics, the
training hook) is :mod:`openselfsup.engine.knn_hook`; this module builds the
model of a config, loads a checkpoint into it (or keeps its initialisation),
runs the evaluation and writes the table, the JSON and the plot.

The model stack (torch, mmpretrain) is imported where it is used:
``tools/knn_eval.py`` checks its command line with
:func:`check_knn_arguments` before any of it is loaded.
"""
import functools
import json
import logging
import os
from typing import (Any, Callable, Collection, Dict, List, NamedTuple,
                    Optional, Sequence, Set, Tuple)

from ..config import (PATCHES_DIGEST, TRAINING_RUN_JUDGED, UNSET,
                      argument_value, attribute_files, built_model,
                      check_knn_model, check_scope_names,
                      check_scope_types,
                      check_setting_types, data_contents_change,
                      data_folder_digests, data_folders, digest_noun,
                      file_contents_change, files_read, first_difference,
                      init_scope,
                      is_patches_digest, key_change, key_where_set,
                      knn_is_for, knn_is_not_for, knn_model_refusal,
                      knn_scope_roots,
                      load_config, model_settings, model_settings_sha1,
                      named_file_digests, recorded_settings,
                      with_file_values)
from ..datasets.data_files import patch_root
from ..utils import (InputError, check_replaceable, check_seed,
                     check_writable, is_int, read_once, reading_once,
                     save_set, settings_refused)
from ..utils.checkpoint_files import random_init_words
from ..utils.errors import work_begins

#: ``knn_eval`` keys that set how the features are read, not what they are
#: (the DataLoader's batches and workers): not part of an evaluation's
#: identity (:func:`knn_settings`)
_NOT_THE_RESULT = ('batch_size', 'num_workers')


#: the top-level sections of a config that :func:`knn_eval_checkpoint`
#: reads (the others, its training's loaders and hooks, it does not)
_SECTIONS_READ = ('model', 'knn_eval')

def check_knn_arguments(checkpoint: Optional[str], random_init: bool,
                        seed: Optional[int] = None,
                        out_dir: Optional[str] = None) -> None:
    """What to evaluate, checked before anything is loaded: the one place
    of these lines, for the command line and :func:`knn_eval_checkpoint`.

    Args:
        checkpoint (str or None): the checkpoint given.
        random_init (bool): the model at its initialisation is asked for.
        seed (int or None): the seed given (None: not given).
        out_dir (str or None): the output folder given.

    Raises:
        InputError: both or neither of a checkpoint and ``--random-init``;
            ``--seed`` with a checkpoint (its weights do not depend on it);
            ``--random-init`` without ``--out-dir`` (no checkpoint's
            folder to write beside); a seed outside [0, 2^63)
            (:func:`~openselfsup.utils.check_seed`).
    """
    if random_init == (checkpoint is not None):
        raise InputError('give either a checkpoint or --random-init')
    if seed is not None and not random_init:
        # a checkpoint's weights do not depend on it: ignored, the seed of
        # a baseline looked like it had been applied
        raise InputError('--seed sets the random initialisation: give it '
                         'with --random-init, not with a checkpoint')
    if random_init and out_dir is None:
        raise InputError('kNN on a model at its initialisation: give '
                         '--out-dir')
    if seed is not None:
        # torch took -1 as 2**64 - 1 (results named ..._seed-1)
        check_seed(seed)


def levels_figure(results: Dict[str, Dict[str, float]], title: str = ''):
    """Bar chart of accuracy and mean class accuracy per level (a
    matplotlib figure, :func:`plot_levels` draws it). An undefined value
    (NaN: a level without queries) has no bar, and says so: ``nan``
    written at its slot, as the table writes it
    (:func:`~openselfsup.evaluation.knn.format_table`), so that it does
    not read as a level left out."""
    import numpy as np

    from ..evaluation.knn import LEVEL_KEYS
    from ..utils.plot import subplots
    levels = [lv for lv, _ in LEVEL_KEYS]
    x = np.arange(len(levels))
    fig, ax = subplots(figsize=(4.5, 3))
    for off, m in ((-0.2, 'acc'), (0.2, 'mca')):
        values = [100 * results[lv][m] for lv in levels]
        bars = ax.bar(x + off, values, 0.4,
                      label='accuracy' if m == 'acc' else 'mean class acc.')
        for at, value in zip(x + off, values):
            if np.isnan(value):  # in the bars' colour: which bar it is
                ax.text(at, 1, 'nan', ha='center', va='bottom', fontsize=8,
                        color=bars.patches[0].get_facecolor())
    ax.set_xticks(x, levels)
    ax.set_ylim(0, 100)
    ax.set_ylabel('%')
    ax.set_title(title, fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_levels(results: Dict[str, Dict[str, float]],
                title: str = '') -> bytes:
    """:func:`levels_figure` as PNG bytes; ``title`` is drawn above it and
    is the PNG's ``Title``."""
    from ..utils.plot import figure_png
    return figure_png(levels_figure(results, title), dpi=100, title=title)


def knn_settings(knn_eval: dict) -> Tuple[Dict, Dict[str, str]]:
    """What a kNN evaluation's results depend on beyond the model: the
    config's ``knn_eval`` section (a plain dict, as ``cfg.knn_eval.to_dict()``)
    as ``{dotted key: value}`` (``knn_eval.k``, ``knn_eval.query.split``;
    :func:`~openselfsup.config.flat_config`, each value as JSON holds it,
    :func:`~openselfsup.utils.plain_value`), but the keys of
    :data:`_NOT_THE_RESULT`, and ``{dotted key: SHA-1}`` of the local
    files it names (the metadata and split files, by their contents:
    :func:`~openselfsup.config.named_file_digests`; a data folder counts by
    its path). As the results JSON records them (``knn_settings``,
    ``knn_files_sha1``) and :func:`check_own_results` compares them: a
    tuple reads back a list.

    Raises:
        InputError: a value without a fingerprint (its dotted key named).
    """
    return recorded_settings(knn_eval, 'knn_eval', skip=tuple(
        f'knn_eval.{k}' for k in _NOT_THE_RESULT))


#: the results' field of the SHA-1 of the model section with the paths
#: of its heads' attribute files (:class:`ModelRecord`), where it
#: differs
#: from ``model_config_sha1``: what results written before recorded as
#: their ``model_config_sha1``, by which ``knn_summary.py`` knows them as
#: this model's (:func:`same_model_sha1s`)
MODEL_SHA1_WITH_PATHS = 'model_config_sha1_with_paths'


def located_model_sha1(record: dict) -> Optional[str]:
    """The ``model_config_sha1`` this version records for the ``model``
    section a kNN result records key by key (``model_settings``), its
    heads' attribute files by the mark wherever they lie now
    (:func:`~openselfsup.config.model_settings_sha1` without ``paths``,
    ``present`` False), where the section read back from those settings
    (:func:`~openselfsup.config.unflat_settings`) is the one whose SHA-1
    with the paths the result records (its ``model_config_sha1`` or
    :data:`MODEL_SHA1_WITH_PATHS`): how a result of an older form (its
    SHA-1 with the paths of the checkout it was evaluated in) is known as
    the same model as one of this form from another checkout. None where
    it records no settings or they do not give back its SHA-1 (a
    checkpoint's section as built with stand-ins, an empty dict: no
    leaf)."""
    from ..config import unflat_settings
    flat = record.get('model_settings')
    recorded = {record.get('model_config_sha1'),
                record.get(MODEL_SHA1_WITH_PATHS)} - {None}
    if not isinstance(flat, dict) or not recorded:
        return None
    section = unflat_settings(flat, 'model')
    try:
        if section is None or \
                model_settings_sha1(section, False) not in recorded:
            return None
        return model_settings_sha1(section, False, paths=False,
                                   present=False)
    except InputError:
        return None


def same_model_sha1s(records: Sequence[dict]) -> List[Optional[str]]:
    """Per kNN result, one SHA-1 for the ``model`` section of all of
    ``records`` that are of one section: results that share a SHA-1 of
    it, in any form a result records (``model_config_sha1``,
    :data:`MODEL_SHA1_WITH_PATHS`, and the SHA-1 of this version's form
    that its settings give, :func:`located_model_sha1`), are one model,
    and so, in turn, are those that share one with either (one
    equivalence: a result of an older form from one checkout, its SHA-1
    with that checkout's paths, and one of this form from another; a
    result of main's code of 26461db2 to 3a7a20e6, which gave every local
    file the section named by the mark, and a later one). Each model's
    SHA-1 is one of its results' whatever their order: the least of this
    version's form (:func:`located_model_sha1`) where one gives it, else
    the least ``model_config_sha1`` of a result that records
    :data:`MODEL_SHA1_WITH_PATHS` apart (this form's), else the least
    of the others' (a result of before: its SHA-1 with the paths; of a
    section that names no attribute file: both forms one) and the
    :data:`MODEL_SHA1_WITH_PATHS`; None for a result that records none.
    What the attribute files hold is compared apart
    (``model_files_sha1``)."""
    forms = []
    for r in records:
        # a model_config_sha1 is of this form where the result records
        # the one with the paths apart; else it is the one with the paths
        # (written before) or the model names no attribute file (the two
        # forms one: no result of its class records the other apart)
        ours = bool(r.get(MODEL_SHA1_WITH_PATHS))
        mine = {(0, located_model_sha1(r)),
                (1 if ours else 2, r.get('model_config_sha1')),
                (2, r.get(MODEL_SHA1_WITH_PATHS))}
        forms.append({(rank, v) for rank, v in mine
                      if isinstance(v, str) and v})
    classes = linked_classes([{v for _, v in mine} for mine in forms])
    named: Dict[int, set] = {}
    for c, mine in zip(classes, forms):
        named.setdefault(c, set()).update(mine)
    return [min(named[c])[1] if named[c] else None for c in classes]


def linked_classes(keys: Sequence[Collection]) -> List[int]:
    """Per item, given the ``keys`` it holds, the index of the first item
    of its class: items that share a key are of one class, and so are
    those that share one with either (a union-find); an item without
    keys a class of its own."""
    parent = list(range(len(keys)))

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    first: Dict[Any, int] = {}
    for i, mine in enumerate(keys):
        for key in mine:
            a, b = root(first.setdefault(key, i)), root(i)
            parent[max(a, b)] = min(a, b)
    return [root(i) for i in range(len(keys))]


#: the results' fields of :func:`knn_evaluation_settings`, in its order
KNN_RECORD_KEYS = ('knn_settings', 'knn_files_sha1', 'knn_data_sha1',
                   'knn_data_folders', 'knn_data_metadata')


def knn_evaluation_settings(knn_eval: dict) -> Tuple:
    """Everything a kNN evaluation's results depend on beyond the model,
    as :func:`check_own_results` compares them and the results record
    them (under :data:`KNN_RECORD_KEYS`): ``(knn_settings,
    knn_files_sha1, knn_data_sha1, knn_data_folders,
    knn_data_metadata)`` of the plain ``knn_eval``
    section (:func:`knn_settings`; the data its files name, the patches
    by their paths and a sample of their bytes, :func:`knn_data_sha1`:
    data written again under the same metadata gave results that read
    as this data's).

    Raises:
        InputError: a value without a fingerprint (:func:`knn_settings`).
    """
    values, files = knn_settings(knn_eval)
    folders = knn_data_folders(knn_eval)
    metadata = knn_data_metadata(knn_eval)
    return (values, files, knn_data_sha1(folders, values, metadata),
            folders, metadata)


def check_knn_section(cfg) -> None:
    """``knn_eval.py``'s check of the config's ``knn_eval`` section (the
    arguments of :func:`~openselfsup.evaluation.knn.run_knn`) before
    anything is built: a whole float of an integer setting is taken as its
    int (``knn_eval.k=20.0``: 20, as :func:`~openselfsup.config.
    check_setting_types` takes it for ``tools/train.py``); a number
    setting that is no number is refused naming the setting in the short
    line of :func:`~openselfsup.evaluation.knn.check_knn_settings`
    (``knn_eval.k = 'x': must be an integer of at least 1``; it was
    :func:`~openselfsup.utils.settings_refused`'s line naming
    ``KNNEvalHook's k``, a hook ``knn_eval.py`` never builds), as are a
    ``k``, ``temperature`` or aggregation out of range. Imports the model
    stack.

    Raises:
        InputError: ``knn_eval.<key> = <value>: must be ...``.
    """
    from ..evaluation.knn import check_knn_settings, run_knn
    try:
        check_setting_types(cfg, ('knn_eval', ))
        bad = None
    except TypeError as exc:
        bad = getattr(exc, 'setting', None)
        if bad is None:  # not the check's refusal
            raise
    if bad is None or bad[1] in ('k', 'temperature'):
        check_knn_settings(*(argument_value(run_knn, cfg.knn_eval, arg)
                             for arg in ('k', 'temperature', 'aggregation')))
    if bad is not None:
        key, _, value, what = bad
        raise InputError(f'{key} = {value!r}: must be {what}')


def knn_data_folders(knn_eval: dict) -> Dict[str, str]:
    """``{dotted key: absolute folder}`` of the folders the bank's and the
    query's patches are read from (a plain ``knn_eval`` section, as
    ``cfg.knn_eval.to_dict()``): each dataset's ``data_root``
    (:func:`~openselfsup.config.data_folders`), or where it has none the
    folder that holds every patch its ``metadata`` names
    (:func:`patches_folder`; ``knn_eval.bank.data_root`` either way). What
    :func:`knn_data_sha1` reads and the results record
    (``knn_data_folders``), so that ``tools/knn_summary.py`` can read them
    again."""
    folders = data_folders(knn_eval, 'knn_eval')
    for side in ('bank', 'query'):
        part = knn_eval.get(side)
        if not isinstance(part, dict) or any(
                k.startswith(f'knn_eval.{side}.') for k in folders):
            continue
        meta = part.get('metadata')
        if not part.get('data_root') and isinstance(meta, str) and \
                os.path.isfile(meta):
            folders[f'knn_eval.{side}.data_root'] = patches_folder(meta)
    return {k: os.path.abspath(v) for k, v in folders.items()}


def patches_folder(metadata: str) -> str:
    """The deepest folder that holds every patch the hierarchical
    ``metadata`` file names (``{patient: {'slides': {slide: [paths]}}}``),
    each joined to the metadata's folder as the dataset joins it without a
    ``data_root`` (:func:`~openselfsup.datasets.data_files.patch_root`):
    what the dataset reads. The metadata's folder itself was taken, which
    for a ``metadata='meta.json'`` in the current directory is that whole
    directory, the run's outputs (``work_dirs/``, the results) included:
    a rerun after one was written read as other data. The metadata's
    folder where the file names no patch or does not read as such (the
    dataset refuses it when built), and where the folder in common is a
    filesystem root or a top-level folder (``/``, ``/home``: patches
    under two top-level trees; its digest, :func:`knn_data_sha1`, would
    read the whole filesystem, ``/proc`` included, or every user's
    files; the patches' digest is then that of the files it names,
    :func:`fallen_back_patches`). Torch-free (``knn_summary.py`` reads
    the folder recorded, not this)."""
    named = named_patches(metadata)
    return named.folder if named and not named.top_level else \
        patch_root(metadata)


class NamedPatches(NamedTuple):
    """The patches a hierarchical metadata file names
    (:func:`named_patches`)."""
    #: their absolute, normalized paths, sorted, each once
    paths: Tuple[str, ...]
    #: the deepest folder that holds every one of them
    folder: str
    #: whether that folder is a filesystem root or a top-level folder
    #: (:func:`_top_level`): :func:`patches_folder` falls back to the
    #: metadata's folder, :func:`fallen_back_patches` gives the files
    top_level: bool
    #: the paths as the metadata writes them, normalized, sorted, each
    #: once: what a ``data_root`` is joined to (:func:`named_patch_files`)
    names: Tuple[str, ...] = ()


def named_patches(metadata: str) -> Optional[NamedPatches]:
    """The patches the hierarchical ``metadata`` names, each joined to its
    folder as the dataset joins them without a ``data_root``
    (:func:`~openselfsup.datasets.data_files.patch_root`), the deepest
    folder that holds them and whether it is top-level
    (:class:`NamedPatches`); None where the file cannot be read as such
    or names no patch. The one reader of the metadata for the data
    folders and their digests (:func:`patches_folder`,
    :func:`fallen_back_patches`); once per file in a command
    (:func:`~openselfsup.utils.reading_once`, entered by
    :func:`knn_eval_checkpoint` and ``summarize_knn``: not once per
    caller, dataset and record), each call outside one."""
    return read_once('knn metadata', os.path.abspath(metadata),
                     _read_patches)


def _read_patches(metadata: str) -> Optional[NamedPatches]:
    """:func:`named_patches` of the ``metadata`` at an absolute path, read
    now."""
    root = patch_root(metadata)
    try:
        with open(metadata, encoding='utf-8') as f:
            patients = json.load(f)
        names = tuple(sorted({os.path.normpath(p)
                              for entry in patients.values()
                              for paths in entry['slides'].values()
                              for p in paths}))
    except (OSError, ValueError, AttributeError, KeyError, TypeError):
        return None
    if not names:
        return None
    paths = _joined(root, names)
    folder = os.path.commonpath(sorted({os.path.dirname(p) for p in paths}))
    return NamedPatches(paths, folder, _top_level(folder), names)


def _joined(root: str, names) -> Tuple[str, ...]:
    """The patch ``names`` of a metadata joined to ``root`` as the dataset
    joins them, normalized, sorted, each once."""
    return tuple(sorted({os.path.normpath(os.path.join(root, n))
                         for n in names}))


def named_patch_files(metadata: str, data_root: str = ''
                      ) -> Optional[List[str]]:
    """The files a kNN dataset of ``layout='metadata'`` reads: each patch
    its ``metadata`` names, joined to ``data_root`` or, without one, to
    the metadata's folder (:func:`~openselfsup.datasets.data_files.
    patch_root`), absolute, sorted; None where the metadata cannot be
    read as such or names no patch (:func:`named_patches`)."""
    named = named_patches(metadata)
    if named is None:
        return None
    return list(_joined(data_root, named.names) if data_root
                else named.paths)


def _top_level(folder: str) -> bool:
    """Whether ``folder`` is a filesystem root or a top-level folder
    (``/``, ``/home``): patches under two top-level trees (/data and
    /home) have one in common, whose digest would walk the whole
    filesystem, or every user's files."""
    _, rest = os.path.splitdrive(folder)
    return len([p for p in rest.split(os.sep) if p]) <= 1


def fallen_back_patches(metadata: str) -> Optional[List[str]]:
    """The patches the hierarchical ``metadata`` names (as
    :func:`named_patches`) where :func:`patches_folder` falls back to
    the metadata's folder as theirs is top-level (:func:`_top_level`);
    None otherwise. That folder may hold none of them and does hold the
    run's outputs where the metadata lies in the current directory: its
    digest saw no patch written over and read an output as other data."""
    named = named_patches(metadata)
    return list(named.paths) if named and named.top_level else None


# PATCHES_DIGEST (config) ends the digest of knn_data_sha1 taken of the
# patches' files themselves (fallen_back_patches), not of a folder: one
# recorded before it (the metadata's folder) is no evidence either way


def knn_data_metadata(knn_eval: dict) -> Dict[str, str]:
    """``{dotted key: absolute metadata file}`` of the kNN datasets of
    ``layout='metadata'`` (a plain ``knn_eval`` section), under the key
    of their data folder (:func:`knn_data_folders`, ``...data_root``):
    the file whose named patches :func:`knn_data_sha1` digests, as the
    results record it (``knn_data_metadata``), so that
    ``tools/knn_summary.py`` reads the same file from any directory."""
    out = {}
    for side in ('bank', 'query'):
        part = knn_eval.get(side)
        if not isinstance(part, dict) or \
                part.get('layout', 'metadata') != 'metadata':
            continue
        meta = part.get('metadata')
        if isinstance(meta, str) and meta:
            out[f'knn_eval.{side}.data_root'] = os.path.abspath(meta)
    return out


def knn_data_sha1(folders: Dict[str, str],
                  settings: Optional[Dict] = None,
                  metadata: Optional[Dict[str, str]] = None
                  ) -> Dict[str, Optional[str]]:
    """``{dotted key: digest}`` of the data the kNN datasets of
    ``folders`` (:func:`knn_data_folders`) read, as the results record
    them (``knn_data_sha1``): the metadata's SHA-1 does not change where
    the patches were written again under the same names (the synthetic
    generator run again with another size or stain variation).

    Where ``metadata`` (:func:`knn_data_metadata`, as recorded) gives the
    dataset's metadata file and it names patches, the digest is of those
    files (:func:`named_patch_files`, joined to the ``data_root`` that
    ``settings`` (:func:`knn_settings`) give, which is the folder; their
    sorted paths, relative to the folder where they lie under it
    (:func:`_listed_names`), and a sample of 16 of them,
    :func:`~openselfsup.utils.fingerprint.listing_sha1`), ended by
    :data:`PATCHES_DIGEST`: what the evaluation reads, not every file of
    the folder (a README written beside the patches read as other data,
    and refused the rerun of a checkpoint). Without it (results written
    before it was recorded), the rules they were recorded by: where the
    dataset has no ``data_root`` and its metadata, lying in the folder
    recorded, names patches whose folder is top-level
    (:func:`fallen_back_patches`), the same digest of those files; else
    the folder's listing and a sample of its files
    (:func:`~openselfsup.config.data_folder_digests`)."""
    from ..utils.fingerprint import listing_sha1
    out, rest = {}, {}
    for key, folder in folders.items():
        files = _digested_files(key, folder, settings or {}, metadata or {})
        if files is None:
            rest[key] = folder
            continue
        digest = listing_sha1(_listed_names(files, folder), files)
        out[key] = None if digest is None else digest + PATCHES_DIGEST
    out.update(data_folder_digests(rest))
    return {k: out[k] for k in folders}


def _listed_names(files: List[str], folder: Any) -> List[str]:
    """The names :func:`knn_data_sha1` lists the patch ``files`` by: each
    one's path relative to the data ``folder`` where it lies under it
    (the same data elsewhere, a ``data_root`` given relative and run
    from another directory, is the same data), else its absolute path
    (the top-level fall-back's patches, as it recorded them)."""
    if not isinstance(folder, str):
        return files
    top = os.path.join(folder, '')
    return [os.path.relpath(f, folder) if f.startswith(top) else f
            for f in files]


def _digested_files(key: str, folder: Any, settings: Dict,
                    metadata: Dict[str, str]) -> Optional[List[str]]:
    """The files :func:`knn_data_sha1` digests for the dataset of ``key``
    in place of its ``folder``: the patches its recorded ``metadata``
    file names (:func:`named_patch_files`), or without one those of
    :func:`fallen_back_patches`; None where its folder is digested."""
    meta = metadata.get(key) if isinstance(metadata, dict) else None
    if not isinstance(meta, str):
        meta_file = _recorded_meta_file(key, folder, settings)
        return None if meta_file is None else fallen_back_patches(meta_file)
    root = settings.get(key) if isinstance(settings, dict) else None
    return named_patch_files(meta, folder if root and isinstance(
        folder, str) else '')


def _recorded_meta_file(key: str, folder: Any, settings: Any
                        ) -> Optional[str]:
    """Where the metadata the recorded ``settings`` (:func:`knn_settings`)
    give the dataset of ``key`` (a ``...data_root`` key of
    :func:`knn_data_folders`) lay, if that dataset has no ``data_root``
    and the recorded ``folder`` is its metadata's folder
    (:func:`_recorded_metadata`: from the record, whatever the current
    directory); else None."""
    if not isinstance(settings, dict):
        return None
    meta = settings.get(key[:-len('data_root')] + 'metadata')
    if settings.get(key) or not isinstance(meta, str) or \
            not isinstance(folder, str) or not os.path.isabs(folder):
        return None
    return _recorded_metadata(folder, meta)


def with_files(settings: Dict, files: Dict[str, str],
               data: Optional[Dict[str, Optional[str]]] = None) -> Dict:
    """kNN settings, the SHA-1s of the files they name
    (:func:`knn_settings`) and, given, those of the data folders
    (:func:`knn_data_sha1`) as one dict, the files' keys as
    ``file.<key>``, the folders' as ``data.<key>``, as
    :func:`_settings_change` compares them."""
    return dict(settings, **{f'file.{k}': v for k, v in files.items()},
                **{f'data.{k}': v for k, v in (data or {}).items()})


def judged_data(there: Any, here: Any, now: bool = False
                ) -> Tuple[Optional[Dict], Optional[Dict]]:
    """The data folders' digests (:func:`knn_data_sha1`) of two results,
    or of a result and this evaluation (each a results record, or one
    with ``knn_settings``, ``knn_data_sha1`` and ``knn_data_folders``),
    as they are compared: ``(None, None)`` where either records none
    (written before they were recorded: compared without them, as then);
    else both without the folders whose digest is None on either side (a
    sampled file that could not be read, then or now: no evidence either
    way) and without those :func:`unjudged_data_keys` leaves out (``now``:
    ``here`` is the data now, this evaluation's or read again). One rule
    for ``tools/knn_eval.py``'s rerun, ``tools/knn_summary.py``'s
    one-setting check and its ``(earlier data)`` mark."""
    from ..utils.fingerprint import unread_digests
    if not (isinstance(there, dict) and isinstance(here, dict)):
        return None, None
    there_d, here_d = there.get('knn_data_sha1'), here.get('knn_data_sha1')
    if not (isinstance(there_d, dict) and isinstance(here_d, dict)):
        return None, None
    skip = unread_digests(there_d, here_d) | \
        _earlier_rule_sides(there, here, now) | \
        set(unjudged_data_keys(there, here, now))
    return ({k: v for k, v in there_d.items() if k not in skip},
            {k: v for k, v in here_d.items() if k not in skip})


#: why :func:`unjudged_data_keys` leaves a data digest out, by its word in
#: ``tools/knn_summary.py``'s JSON (``data_unchecked_why``) and its line
UNJUDGED_DATA = {
    'metadata_folder': "their data folder is their metadata's folder (the "
                       'earlier rule: it held the run\'s outputs), not the '
                       'folder of the patches it names',
    'folder_digest': "their data digest is of the metadata's folder, taken "
                     'before the patch files it names were fingerprinted '
                     'instead',
    'metadata_unread': 'their data digest is of the patch files a metadata '
                       'names, and that metadata cannot be read now '
                       '(deleted, moved or not a patient metadata)',
}


def unjudged_data_keys(there: Any, here: Any, now: bool = False
                       ) -> Dict[str, str]:
    """``{dotted key: why}`` (a key of :data:`UNJUDGED_DATA`) of the data
    digests (``knn_data_sha1``) that both ``there`` and ``here`` (as
    :func:`judged_data` takes them) hold and that are not compared, as
    no evidence either way: ``'metadata_folder'``, a folder either side
    recorded under the earlier rule (:func:`earlier_rule_keys`);
    ``'folder_digest'``, a digest ``there`` took of a folder where
    ``here``'s is of the patch files a metadata names
    (:func:`~openselfsup.config.is_patches_digest`: a fall-back recorded
    before the fall-back read the patch files, of the metadata's
    folder), and, between two results (not ``now``), either way round.
    Where ``here`` is the data ``now`` and ``there``'s digest is of the
    patch files its metadata names but ``here``'s of a folder: the
    metadata rewritten since to name patches under one folder is a data
    change, compared (the digests differ, as a folder's that changed);
    ``'metadata_unread'`` where that metadata cannot be read now
    (:func:`named_patches`: deleted, unreadable, naming no patch)."""
    if not (isinstance(there, dict) and isinstance(here, dict)):
        return {}
    there_d, here_d = there.get('knn_data_sha1'), here.get('knn_data_sha1')
    if not (isinstance(there_d, dict) and isinstance(here_d, dict)):
        return {}
    earlier = _earlier_rule_sides(there, here, now)
    out = {}
    for key in set(there_d) & set(here_d):
        old, new = there_d[key], here_d[key]
        if not (isinstance(old, str) and isinstance(new, str)):
            continue
        if key in earlier:
            out[key] = 'metadata_folder'
        elif is_patches_digest(new) and not is_patches_digest(old) or \
                not now and is_patches_digest(old) != is_patches_digest(new):
            out[key] = 'folder_digest'
        elif is_patches_digest(old) and not is_patches_digest(new):
            meta = digested_metadata(there, key)
            if meta is None or named_patches(meta) is None:
                out[key] = 'metadata_unread'
    return out


def digested_metadata(record: dict, key: str) -> Optional[str]:
    """The metadata file whose named patches a results ``record``'s data
    digest of ``key`` is of: the one it records (``knn_data_metadata``),
    or, recorded before that was, the one of the top-level fall-back
    (:func:`_recorded_meta_file`); None where neither is known."""
    metadata = record.get('knn_data_metadata')
    meta = metadata.get(key) if isinstance(metadata, dict) else None
    if isinstance(meta, str):
        return meta
    folders = record.get('knn_data_folders')
    return _recorded_meta_file(key, (folders if isinstance(folders, dict)
                                     else {}).get(key),
                               record.get('knn_settings'))


def _earlier_rule_sides(there: dict, here: dict, now: bool) -> Set[str]:
    """:func:`earlier_rule_keys` of either of two results, or of the
    result ``there`` alone where ``here`` is the data ``now`` (this
    evaluation's folders, by today's rule; or ``there``'s folders with
    the digests read again, whose kind is not the record's)."""
    return earlier_rule_keys(there) | (set() if now else
                                       earlier_rule_keys(here))


def earlier_rule_keys(record: dict) -> Set[str]:
    """The keys of a results ``record``'s ``knn_data_folders`` recorded
    under the earlier rule: a dataset without ``data_root`` whose folder
    is its metadata's as that rule gave it (the recorded folder is the
    folder the recorded ``metadata`` resolves to from some directory: it
    ends with the metadata's relative folder, or is an absolute
    metadata's folder), where today's rule (:func:`patches_folder`, on
    the metadata read from that same directory) gives another. Decided
    from the record alone, not from the current directory: from another
    directory than the evaluation's, such a result was compared by its
    folder and refused or marked ``(earlier data)``. That folder held
    the run's outputs where the metadata lay in the current directory,
    so its digest is no evidence; the metadata's path and SHA-1 still
    judge what it names. Any other folder is compared: a relative
    ``data_root`` read from another directory (a copy of the data there,
    written over) was replaced without a word when every folder
    recorded elsewhere was left out. A digest of the patch files
    (:func:`~openselfsup.config.is_patches_digest`) is today's rule's,
    whatever the metadata names now (rewritten to name patches under
    one folder: a data change, :func:`unjudged_data_keys`)."""
    folders, values = (record.get('knn_data_folders'),
                       record.get('knn_settings'))
    if not (isinstance(folders, dict) and isinstance(values, dict)):
        return set()
    digests = record.get('knn_data_sha1')
    digests = digests if isinstance(digests, dict) else {}
    keys = set()
    for key, folder in folders.items():
        if is_patches_digest(digests.get(key)):
            continue
        meta_file = _recorded_meta_file(key, folder, values)
        if meta_file is not None and \
                os.path.abspath(patches_folder(meta_file)) != folder:
            keys.add(key)
    return keys


def _recorded_metadata(folder: str, metadata: str) -> Optional[str]:
    """Where the recorded ``metadata`` lay if the recorded ``folder`` is
    its folder as the earlier rule gave it (from whatever directory the
    evaluation ran in): an absolute metadata's own folder, or a folder
    that ends with a relative one's folder (``'../'`` parts aside); None
    where ``folder`` cannot be its metadata's folder."""
    folder = os.path.normpath(folder)
    meta = os.path.normpath(metadata)
    if os.path.isabs(meta):
        return meta if os.path.dirname(meta) == folder else None
    parts = [p for p in os.path.dirname(meta).split(os.sep)
             if p and p != os.pardir]
    tail = folder.split(os.sep)[-len(parts):] if parts else []
    return os.path.join(folder, os.path.basename(meta)) \
        if tail == parts else None


def _settings_change(there: Dict, here: Dict,
                     folders: Optional[Dict[str, str]] = None
                     ) -> Optional[str]:
    """The first (the shallowest) key in which the kNN settings recorded
    ``there`` differ from ``here`` (:func:`with_files`), the recorded
    value first, and how many more differ
    (:func:`~openselfsup.config.first_difference`); None when they
    agree. ``folders``: the data folders by key, named in the line. The
    digest of the patches a metadata names comes last where that
    metadata's own SHA-1 differs too (:func:`_metadata_changed`): the
    line names the metadata, which changed, not first the images it
    names (it led with them, the metadata among "3 more")."""
    def describe(key, old, new):
        if key.startswith('file.'):
            return file_contents_change(key, old, new)
        if key.startswith('data.'):
            return data_contents_change(key, old, new, (folders or {}).get(
                key[len('data.'):]))
        return key_change(key, old, new)
    return first_difference(there, here, describe,
                            last=_metadata_changed(there, here))


def _metadata_changed(there: Dict, here: Dict) -> List[str]:
    """The ``data.<...>.data_root`` keys of two :func:`with_files` dicts
    whose dataset's metadata file differs in its SHA-1
    (``file.<...>.metadata``): the patches it names are another list."""
    out = []
    for key in set(there) & set(here):
        if key.startswith('data.') and key.endswith('.data_root'):
            meta = 'file.' + key[len('data.'):-len('data_root')] + 'metadata'
            if there.get(meta, UNSET) != here.get(meta, UNSET):
                out.append(key)
    return out


#: the settings of :data:`_PATIENT_SETTINGS` that are paths (a relative
#: one: to the run's current directory, where its checkpoint records it)
_PATIENT_PATHS = ('metadata', 'split', 'data_root')
#: the settings of a ``HierarchicalPatientDataset`` that say which patients
#: it holds (:func:`trained_patients`), and the types each may have
_PATIENT_SETTINGS = {'layout': (str,), 'split_name': (str,),
                     'metadata': (str,), 'split': (str,),
                     'data_root': (str,), 'class_balance': (bool,),
                     'seed': (type(None), int),
                     'indices': (type(None), int, list, tuple)}


#: dataset types that hold no patients (image lists: NCT's patches), whose
#: runs :func:`trained_patients` reads as trained on none; another type (a
#: user's subclass of ``HierarchicalPatientDataset`` may hold patients) is
#: a check not made
_NO_PATIENTS = ('ImageList', 'CustomDataset', 'ImageNet')


def _patient_settings(part: dict) -> Tuple[Optional[dict], str]:
    """The settings of :data:`_PATIENT_SETTINGS` a recorded
    ``HierarchicalPatientDataset`` config ``part`` gives, or ``(None, the
    first that cannot be read as one: code, another type)``."""
    settings = {k: part[k] for k in _PATIENT_SETTINGS if k in part}
    for k, v in settings.items():
        ok = (v is None or is_int(v)) if k == 'seed' else \
            isinstance(v, _PATIENT_SETTINGS[k])
        if ok and isinstance(v, (list, tuple)):
            ok = all(map(is_int, v))
        if not ok:
            return None, k
    return settings, ''


def trained_patients(ckpt, checkpoint: str) -> Optional[List[str]]:
    """The patients the run that wrote ``ckpt`` (a loaded checkpoint) trained
    on: its training dataset, as the config MMEngine records in the
    checkpoint's meta names it (the text read as data,
    :func:`~openselfsup.config.trained_dataset`, never executed), through
    MMEngine's dataset wrappers (a ``RepeatDataset`` or
    ``ClassBalancedDataset`` of it, a ``ConcatDataset``: the patients of
    every part; :func:`~openselfsup.config.dataset_parts`), each part a
    ``HierarchicalPatientDataset`` read again now from its metadata, split
    file, split, ``class_balance``, ``seed`` and ``indices`` (the
    dataset's own :meth:`~openselfsup.datasets.hierarchical.
    HierarchicalPatientDataset.patient_names`, as the training hook
    reads it; a part of no ``seed`` of its own with the seed the run
    gave its training sets, ``meta['dataset_seed']``, as its class balance
    was drawn, or 0 where the checkpoint records none: written before it
    was recorded, when such a part drew with its default 0 whatever the
    run's seed, :func:`~openselfsup.utils.run_seed.drawn_seed`; not the
    run's ``meta['seed']``, which a resume under another seed sets to that
    seed while its training set keeps the first run's), in order, each
    once; None where the checkpoint records no
    config. The kNN queries of another config (another split file, a
    re-split of the patients) may name them: the model has seen them.
    Relative paths (metadata, split, data root) are read from the run's
    current directory where its checkpoint records it (``meta['cwd']``,
    :func:`~openselfsup.engine.runner.run_meta`) and it is a folder here
    (from another directory, another split file at the same relative path
    gave other patients without a word); else, as before it was
    recorded, from the current directory.
    A run on image lists only (:data:`_NO_PATIENTS`: an ``ImageList`` of
    NCT patches) trained on no patients: ``[]``, without a word (the check
    is made: none of them is a query patient), as the training hook reads
    such a run. Where they
    cannot be read (no training dataset in the text, a part of another
    type beside patient datasets or a setting that is code, a split that
    cannot be read now: a path relative to another directory, a file
    since removed) one warning line says so, naming the part, and the
    check is not made (None): patients of some parts only would read as a complete count.
    """
    from ..config import dataset_parts, trained_dataset, type_name
    text = ckpt.get('meta', {}).get('cfg') if isinstance(ckpt, dict) \
        and isinstance(ckpt.get('meta'), dict) else None
    if not isinstance(text, str):
        return None

    def not_looked_for(why: str) -> None:
        from mmengine.logging import print_log

        from ..evaluation.knn import NOT_LOOKED_FOR
        print_log(f'{checkpoint}: {why}; {NOT_LOOKED_FOR}',
                  logger='current', level=logging.WARNING)

    # read as data, never executed: the text comes with the checkpoint
    # (a downloaded one may hold any code; Config.fromstring would run it)
    ds = trained_dataset(text)
    if ds is None:
        return not_looked_for('the config it records has no '
                              'train_dataloader.dataset that can be read '
                              'as data')
    from ..datasets.hierarchical import HierarchicalPatientDataset
    # the run's current directory (engine.runner.run_meta), where it is a
    # folder here: its relative paths were read from there
    run_dir = ckpt['meta'].get('cwd')
    run_dir = run_dir if isinstance(run_dir, str) and os.path.isabs(
        run_dir) and os.path.isdir(run_dir) else None
    # the seed the run gave a dataset of no seed of its own, which it
    # balanced its classes with (engine.runner's give_run_seed gave it to
    # the run's build, not to the recorded cfg; 0: recorded by none)
    from ..utils.run_seed import drawn_seed
    run_seed = drawn_seed(ckpt['meta'])
    patients = {}
    parts = dataset_parts(ds)
    # the type's name, with or without a registry scope
    kinds = [type_name(part.get('type')) if isinstance(part, dict) else None
             for _, part in parts]
    if kinds and all(k in _NO_PATIENTS for k in kinds):
        return []  # a run on other data (an ImageList): no patients
    for (key, part), kind in zip(parts, kinds):
        if kind != 'HierarchicalPatientDataset':
            what = f'of type {kind}' if kind else 'no dataset read as data'
            return not_looked_for(
                f'{key} of the config it records is {what}, not a '
                'HierarchicalPatientDataset whose patients can be read')
        settings, bad = _patient_settings(part)
        if settings is None:  # a setting the text computes: not read
            return not_looked_for(
                f'{key}.{bad} of the config it records is '
                f'{part[bad]!r:.40}, not a setting that can be read')
        if settings.get('seed') is None:
            # no seed of its own: the run's drew its class balance
            settings['seed'] = run_seed
        if run_dir:  # read the files the run read, not those here
            settings.update({k: os.path.join(run_dir, v) for k, v in
                             settings.items() if k in _PATIENT_PATHS and v
                             and not os.path.isabs(v)})
        try:  # the dataset's own patients: its class balance and indices
            names = HierarchicalPatientDataset(
                pipeline=(), check_files=False, **settings).patient_names()
        except InputError as exc:
            return not_looked_for(f'the training split its run read ({key}) '
                                  f'cannot be read here ({exc})')
        patients.update(dict.fromkeys(names))
    return list(patients)


def check_knn_model_class(cfg, config: str) -> None:
    """Refuse a config whose model is of no class kNN evaluation is for by
    its ancestry: the class its ``model.type`` resolves to in the registry
    (the one the build makes) must be :class:`~openselfsup.models.
    algorithms.hlss.HLSS` or a subclass. The config's refusal
    (:func:`~openselfsup.config.check_knn_model`, torch-free) judges the
    type names this project knows as other algorithms alone: a user's
    subclass of MoCoV3 (or mmpretrain's SimCLR, BYOL) under its own name
    ran and wrote a table of near-constant features, exit 0 (review r104).
    After the model stack is imported, before a checkpoint is loaded or a
    model built; a type the registry does not resolve to a class is left
    to the build, which says what is wrong.

    Raises:
        InputError: ``<config>: model.type 'MyMoCoV3' (a subclass of
            openselfsup's MoCoV3, mmpretrain's MoCoV3, BaseSelfSupervisor,
            ...): kNN evaluation is for ...; <how it is evaluated
            instead>`` (the first base this project knows as another
            algorithm says how: :func:`~openselfsup.config.knn_model_refusal`,
            the words of the hook's refusal too).
    """
    from ..engine.knn_hook import not_knn_class
    kind = cfg.model.get('type') if isinstance(cfg.get('model'), dict) \
        else None
    found = not_knn_class(kind)
    if found is not None:
        name, bases, known = found
        raise InputError(knn_model_refusal(config, name, bases=bases,
                                           known=known))


def _model_from_checkpoint(model_cfg, checkpoint: str, held: list,
                           cfg=None, config: str = 'the config'):
    """The model of ``model_cfg`` (the config's ``model`` section as a
    checkpoint fills it: :func:`~openselfsup.models.open_clip.
    without_clip_weights`, the weights files of open_clip towers not
    read, the checkpoint holds every weight) with the weights of the
    checkpoint file ``checkpoint``, loaded from the buffer of its bytes
    that ``held`` holds (read and tested complete before the model stack
    was imported, hashed for its results:
    :func:`~openselfsup.utils.checkpoint_files.read_resolved_checkpoint`;
    taken from the list, so that its bytes are dropped once loaded, not
    kept while the model is built). ``cfg`` and ``config``: the config
    and its file, for the line of a checkpoint that does not fit.

    Raises:
        InputError: the checkpoint does not load with ``weights_only=True``,
            or its tensors do not fit the model (one line: the first
            missing, unexpected and differently shaped tensors, and the
            config that trained it where its meta says:
            :func:`~openselfsup.config.trained_config_note`).
    """
    from ..utils.checkpoint import load_checkpoint_bytes, state_dict_of
    from ..config import (checkpoint_kind_words, recorded_type_class,
                          saved_model_type, settings_changes_note,
                          trained_config_note, trained_feature_changes)
    from ..engine.knn_hook import not_knn_class
    from ..models.state_dict import load_state
    from ..registry import MODELS
    ckpt = load_checkpoint_bytes(held.pop(), checkpoint, tensors_only=True)
    state = state_dict_of(ckpt, checkpoint)
    meta = ckpt.get('meta') if isinstance(ckpt, dict) else None
    # every weight comes from the checkpoint (loaded strictly below); a
    # setting the model's classes refuse is the line tools/train.py says
    with settings_refused(config if cfg is None else cfg, 'model'):
        work_begins()  # the command's start-up freezing ends
        model = MODELS.build(model_cfg)

    def said() -> Optional[str]:
        # a checkpoint of an algorithm without kNN evaluation (a balance
        # tuning's): no config evaluates it; the line said to evaluate it
        # with the config its meta names, a sweep run's name of no file
        kind = saved_model_type(meta)
        # a type its run registered through custom_imports resolves once
        # they are imported, as loading that config would (review r108)
        found, unjudged = recorded_type_class(meta)
        # the config's rule, by ancestry where the type resolves: a user's
        # subclass of HLSS gets the usual line, one of MoCoV3 or BYOL the
        # kNN words (review r105: sent to its own config, then refused)
        other = not_knn_class(found) if found is not None else None
        if knn_is_not_for(kind) or other is not None:
            known = kind if knn_is_not_for(kind) else other[2]
            return f'{checkpoint_kind_words(meta)}; {knn_is_for(known)}'
        # another config of a kNN method: what its meta says it is, and
        # why its type was not judged where its modules did not import
        note = trained_config_note(meta, cfg, config, checkpoint)
        if unjudged is None or found is not None:
            return note
        return '; '.join(filter(None, [
            note, f'model.type {kind!r} not judged: {unjudged}']))

    load_state(model, state, checkpoint, "the config's model", said)
    # the weights fit; settings that hold none but change the features
    # (normalisation, the backbone's pooling, the kNN images' size) other
    # than trained: said once the results' path is known (the caller), as
    # extract.py says images of another size (compared once: the words
    # and the results' record of the same changes)
    found = trained_feature_changes(meta, cfg) if cfg is not None else None
    note = settings_changes_note(found, meta, config, checkpoint)
    changes = [c for c, _ in found] if note else []
    return model, trained_patients(ckpt, checkpoint), note, changes


def check_own_results(json_path: str, source: str,
                      sha1: Optional[str],
                      model_sha1: Optional[str] = None,
                      config: Optional[str] = None,
                      model_files: Optional[Dict[str, str]] = None,
                      settings: Optional[Tuple[Dict, Dict[str, str]]] = None,
                      model_flat: Optional[Dict] = None,
                      built_flat: Optional[Dict] = None,
                      key_at: Optional[Callable[[str], str]] = None,
                      earlier_sha1s: Optional[Callable[[dict],
                                                       Sequence[str]]]
                      = None, file_keys: Collection[str] = ()) -> None:
    """Refuse to replace another model's kNN results in ``json_path``, or
    the same model's under other kNN settings.

    Two checkpoints can get one output name (two runs' ``iter_300.pth``
    whose folders share a name, in one ``--out-dir``; a retraining that
    wrote over the checkpoint beside its results), and so can two models
    at initialisation (two configs of one file name, in one ``--out-dir``):
    the second's results must not take the place of the first's, maybe
    the only record left of it. A rerun replaces its own: a checkpoint is
    its bytes, the SHA-1 the JSON records (``checkpoint_sha1``), the same
    wherever its work dir was moved or copied; a model at initialisation is
    its seed (``checkpoint``: ``random init (seed S)``), its resolved
    config's ``model`` section (``model_config_sha1``,
    :func:`~openselfsup.utils.config_sha1`), wherever its config file
    lies (the section as it resolves: not the file's comments) and
    wherever its heads' attribute files lie (the checkout's, by absolute
    paths: :func:`model_record`), and the
    contents of the local files that section's builds open
    (``model_files_sha1``: a pretrained checkpoint, an
    ``embeddings_file``; :func:`~openselfsup.config.named_file_digests`,
    :func:`~openselfsup.config.reads_a_file`: not a ``model_name`` that
    names a file of the current directory, a record's digest of one
    left out of the comparison), so another file at the same path, or
    the same relative path from another directory, is another model. A
    JSON written before these were recorded is compared by what it
    holds: without ``model_files_sha1`` by the seed and
    ``model_config_sha1``, without those by its ``checkpoint`` (a
    checkpoint's path; an initialisation's seed), as it was then. A JSON
    written before the section's SHA-1 left out where those files lie
    (its SHA-1 holds their paths) is compared by that form too
    (``earlier_sha1s``), the paths where the files lie now and where the
    JSON's ``model_settings`` says they lay: accepted where it was then,
    and from another checkout too (the files' contents compared apart, as
    ever), and replaced in the new form.

    A checkpoint evaluated under another config's ``model`` section (one
    that differs in what takes no weights: a pooling, ``out_indices``,
    the data preprocessor's mean) gives other features from the same
    bytes, under the same output name: it is refused alike, by the
    section's SHA-1 (``model_config_sha1``, as at initialisation; of the
    section built, :func:`~openselfsup.models.open_clip.
    without_clip_weights`, without what names its initial weights, which
    the checkpoint's replace: :func:`~openselfsup.config.
    without_initial_weights`, so another ``init_cfg`` or ``pretrained``
    path replaces its own), the line naming both configs and both SHA-1s.
    A checkpoint's JSON written before it was recorded is compared by the
    checkpoint alone, as then (a rerun records it).

    The same model evaluated under other kNN settings (another config's
    bank or query split, data root or k, in one ``--out-dir``) gets the
    same output name too, and is refused alike: an evaluation is also its
    ``knn_eval`` settings and the contents of the files they name
    (``knn_settings``, ``knn_files_sha1``: :func:`knn_settings`), wherever
    its config lies; the line names both configs and the first setting
    that differs. A JSON written before they were recorded is compared by
    its model alone, as then (a rerun records them). So is the data the
    evaluation read (``knn_data_sha1``: the listing and a sample of the
    files of the bank's and the query's data folders): the data written
    again under the same folder is another setting; a JSON written before
    it was recorded is compared without it.

    Args:
        json_path (str): the results file a run would write.
        source (str): the checkpoint's absolute path, or the initialisation
            (what the JSON's ``checkpoint`` records).
        sha1 (str or None): the checkpoint file's SHA-1 (None at
            initialisation).
        model_sha1 (str or None): the SHA-1 of the config's ``model``
            section (None: not compared).
        config (str or None): the config's path, named in the message.
        model_files (dict or None): at initialisation, ``{dotted key:
            SHA-1}`` of the files the ``model`` section names (None: not
            compared).
        settings (tuple or None): this evaluation's kNN settings and
            files (:func:`knn_settings`), then, optionally, the digests of
            its data folders (:func:`knn_data_sha1`) and the folders
            (:func:`knn_data_folders`, named in the line); None: not
            compared.
        model_flat (dict or None): the ``model`` section's settings key
            by key (:func:`~openselfsup.config.model_settings`): where
            the JSON records its own (``model_settings``) and the SHA-1s
            differ, the refusal names the first key that differs too
            (None, or a JSON written before they were recorded: the
            SHA-1s alone).
        built_flat (dict or None): where stand-ins were built in place of
            parts of the section (:func:`~openselfsup.models.open_clip.
            without_clip_weights`), its settings as built, key by key:
            what a JSON written before ``model_stand_ins`` was recorded
            holds as its ``model_settings``, compared with them (None:
            ``model_flat`` for every JSON).
        key_at (callable or None): where the config sets a key of its
            model as built, by which the refusal names it
            (:func:`~openselfsup.config.key_where_set` of the config: a
            top-level-only data preprocessor's ``data_preprocessor.mean``);
            None: as built.
        earlier_sha1s (callable or None): given the JSON's record, the
            SHA-1s of this ``model`` section in the form results written
            before recorded as ``model_config_sha1``, with the paths where
            the files lie now first (:func:`model_sha1s_with_paths`): a
            record of one is of this section, as is one whose
            ``model_config_sha1_with_paths`` is one of them (whatever
            form its ``model_config_sha1`` took), and a refusal names
            this section's SHA-1 in the record's form
            (:func:`_sha1_as_recorded`; None: ``model_sha1`` alone).
        file_keys (collection of str): the dotted keys at which the
            ``model`` section names its heads' attribute files now
            (:func:`~openselfsup.config.attribute_files`): their paths
            are not
            named among the keys that differ where the record holds one
            there too (the SHA-1 holds a mark in their place).

    Raises:
        InputError: the file holds the results of another checkpoint or
            model, of this checkpoint under another ``model`` section, or
            of either under other kNN settings (or is no kNN results
            file).
    """
    if not os.path.isfile(json_path):
        return
    try:
        with open(json_path) as f:
            record = json.load(f)
        before, before_sha1, before_model, before_config = (
            record.get(k) for k in ('checkpoint', 'checkpoint_sha1',
                                    'model_config_sha1', 'config'))
        # UNSET: written before the files were recorded, not compared
        # and of the files the model reads only (config.reads_a_file): a
        # record of before digested a model_name naming a file here too
        before_files = files_read(record.get('model_files_sha1', UNSET))
    except (OSError, ValueError, AttributeError):
        record = {}
        before = before_sha1 = before_model = before_config = None
        before_files = UNSET
    # this section's SHA-1, and those of its form of before (the paths of
    # the files it names in it) that the record may hold
    earlier = earlier_sha1s(record) if earlier_sha1s and model_sha1 and \
        before_model else ()
    known = {model_sha1, *earlier}
    # a record whose stricter SHA-1, with the paths (every value as it
    # is), is one of those: of this section, whatever form its own took
    # (main's code of 26461db2 to 3a7a20e6 gave every local file the
    # section named by the mark, a model_name naming a file here too)
    if isinstance(before_model, str) and \
            record.get(MODEL_SHA1_WITH_PATHS) in earlier:
        known.add(before_model)
    # and as a line names it beside the record's (one form on both sides)
    shown = _sha1_as_recorded(record, model_sha1, earlier)
    files = (before_files, model_files)
    if model_files is None or before_files is UNSET:
        files = ({}, {})
    if sha1 and before_sha1:  # two checkpoints: the same bytes
        same = before_sha1 == sha1
    elif model_sha1 and before_model and not (sha1 or before_sha1):
        # two initialisations: the same model
        same = before == source and files[0] == files[1] and \
            before_model in known
    else:  # a record of a path or a seed only
        same = before == source
    model_flat = _recorded_alike(record, model_flat, built_flat)
    if same:
        _check_same_settings(json_path, record, settings, config,
                             shown, model_flat, key_at, known,
                             file_keys)
        return
    if sha1 and before_sha1 and before == source:
        # one path, other bytes: the checkpoint there was replaced since
        # (trained again into its work dir); the line named the path twice
        raise InputError(
            f'{json_path}: holds the kNN results of {source} as it was '
            f'when they were written (SHA-1 {str(before_sha1)[:12]}); that '
            'file has been replaced since by another checkpoint (SHA-1 '
            f'{str(sha1)[:12]}): give another --out-dir to keep both, or '
            'delete those results to replace them')
    # the files whose contents differ, named on both sides
    there, here = (f if isinstance(f, dict) else {} for f in files)
    changed = sorted(k for k in set(there) | set(here)
                     if there.get(k) != here.get(k))
    # a model folder counts by its files (named_file_digests): the line
    # names it a folder (one deleted: a file or folder), each side as it
    # was then: the record's as it records it (a folder since replaced by
    # a file was named a file on both sides), one written before it
    # recorded them a file or folder where a folder counts
    kinds = record.get('model_files_kind')
    kinds = kinds if isinstance(kinds, dict) else {}
    what = _results_of(before, before_sha1, before_model, before_config,
                       {k: there.get(k) for k in changed},
                       {k: kinds.get(k) or digest_noun(None, k)
                        for k in changed}) if before else 'another file'
    this = _results_of(source, sha1, shown, config,
                       {k: here.get(k) for k in changed},
                       _digest_nouns(changed, model_flat))
    # two initialisations of other models: which setting differs
    key = _model_key_change(record, model_flat, key_at, file_keys) if not (
        sha1 or before_sha1) and before_model and model_sha1 and \
        before_model not in known else None
    this += f' ({key})' if key else ''
    raise InputError(f'{json_path}: holds the kNN results of {what}, not of '
                     f'{this}; give another --out-dir, or delete it to '
                     'replace them')


def _sha1_as_recorded(record: dict, model_sha1: Optional[str],
                      earlier: Sequence[str]) -> Optional[str]:
    """This ``model`` section's SHA-1 (``model_sha1``) in the form of the
    one ``record`` (a kNN JSON) holds, for a line that names both: the
    record's own where it is of this section (one written before the
    SHA-1 left out where its heads' attribute files lie, another file's
    contents aside); the SHA-1 with those
    files' paths where they lie now (``earlier[0]``:
    :func:`model_sha1s_with_paths`) where the record holds that form (no
    :data:`MODEL_SHA1_WITH_PATHS`: written before, or of a section that
    names no such file, whose SHA-1 is the same in both forms); else
    ``model_sha1``. The line named the record's in one form and this one's
    in the other, as if the section differed where only a file did."""
    there = record.get('model_config_sha1')
    if there in {model_sha1, *earlier}:
        return there
    if earlier and MODEL_SHA1_WITH_PATHS not in record:
        return earlier[0]
    return model_sha1


def _check_same_settings(json_path: str, record: dict,
                         settings: Optional[Tuple[Dict, Dict[str, str]]],
                         config: Optional[str],
                         model_sha1: Optional[str] = None,
                         model_flat: Optional[Dict] = None,
                         key_at: Optional[Callable[[str], str]] = None,
                         known: Collection[str] = (),
                         file_keys: Collection[str] = ()) -> None:
    """Refuse to replace the results of this model (``record``, the JSON
    at ``json_path``) that were evaluated under another ``model`` section
    than the one of SHA-1 ``model_sha1`` (in the form the record holds,
    :func:`_sha1_as_recorded`: a checkpoint's weights in another model)
    or under other kNN settings than ``settings`` (:func:`knn_settings`)
    of ``config``, the model first; a record
    without them (written before they were recorded), or None here: not
    compared; a record of one of ``known`` (the section's SHA-1s in the
    form results written before recorded, the paths of the files it names
    in it: :func:`model_sha1s_with_paths`) is of this section. Another
    model section is named by both SHA-1s and, where
    the record holds its settings key by key (``model_settings``) and
    ``model_flat`` gives these, the first key that differs
    (:func:`~openselfsup.config.first_difference`), named where the
    config sets it (``key_at``, :func:`check_own_results`), the paths of
    the files it names (``file_keys``) not among them."""
    there_model = record.get('model_config_sha1')
    there = record.get('knn_settings')
    change = None
    if model_sha1 and there_model and \
            there_model not in {model_sha1, *known}:
        change = key_change('model config SHA-1', there_model, model_sha1,
                            lambda v: str(v)[:12])
        key = _model_key_change(record, model_flat, key_at, file_keys)
        change += f'; {key}' if key else ''
        other, the = 'another model section', 'the model section'
    elif settings is not None and isinstance(there, dict):
        there_files = record.get('knn_files_sha1')
        there_files = there_files if isinstance(there_files, dict) else {}
        # the data folders' files where the record has them (written
        # before they were recorded: compared without them, as then)
        there_data, here_data = judged_data(
            record, dict(zip(KNN_RECORD_KEYS, settings)), now=True)
        change = _settings_change(
            with_files(there, there_files, there_data),
            with_files(*settings[:2], here_data),
            settings[3] if len(settings) > 3 else None)
        other, the = 'other kNN settings', 'the kNN settings'
    if change is None:
        return
    before_config = record.get('config')
    where = (f'{other} of {config}' if before_config == config
             else f'{the} of {before_config}, not of {config}')
    what = _results_of(*(record.get(k) for k in (
        'checkpoint', 'checkpoint_sha1', 'model_config_sha1', 'config')))
    raise InputError(f'{json_path}: holds the kNN results of {what} under '
                     f'{where} ({change}); give another --out-dir, or '
                     'delete it to replace them')


def _recorded_alike(record: dict, model_flat: Optional[Dict],
                    built_flat: Optional[Dict]) -> Optional[Dict]:
    """This model's settings as ``record`` holds its own: ``built_flat``
    (the section as built, stand-ins included) for a JSON written before
    it recorded ``model_stand_ins`` (its ``model_settings`` are the
    section as built), else ``model_flat`` (the config's own)."""
    if built_flat is not None and 'model_stand_ins' not in record:
        return built_flat
    return model_flat


def _model_key_change(record: dict, model_flat: Optional[Dict],
                      key_at: Optional[Callable[[str], str]] = None,
                      file_keys: Collection[str] = ()) -> Optional[str]:
    """The first key in which the ``model`` section whose results
    ``record`` holds (its ``model_settings``) differs from ``model_flat``
    (:func:`~openselfsup.config.model_settings`), the recorded value
    first, and how many more differ
    (:func:`~openselfsup.config.first_difference`); None where either is
    not known (a JSON written before they were recorded) or they agree;
    the key named where the config sets it (``key_at``: a top-level-only
    data preprocessor's ``data_preprocessor.mean``; None: as built). A
    key of ``file_keys`` (where the section names its heads' attribute
    files now) whose
    recorded value is a path too is not compared: where the file lies is
    not what the model is (:func:`model_record`)."""
    there = record.get('model_settings')
    if not isinstance(there, dict) or model_flat is None:
        return None
    skip = [k for k in file_keys if isinstance(there.get(k), str)]
    return first_difference(there, model_flat, lambda key, old, new: (
        key_change(key_at(key) if key_at else key, old, new)), skip)


def _digest_nouns(keys, model_flat: Optional[Dict]) -> Dict[str, str]:
    """``{dotted key: noun}`` of each of ``keys`` (of the files a
    ``model`` section names, :func:`~openselfsup.config.
    named_file_digests`): what its path in ``model_flat`` (that section
    key by key) names now, a folder or a file
    (:func:`~openselfsup.config.digest_noun`)."""
    return {k: digest_noun((model_flat or {}).get(k), k) for k in keys}


def _results_of(source: str, sha1: Optional[str], model_sha1: Optional[str],
                config: Optional[str],
                files: Optional[Dict[str, Optional[str]]] = None,
                nouns: Optional[Dict[str, str]] = None) -> str:
    """A model whose results these are, in words: a checkpoint with its
    SHA-1, an initialisation with its config, model SHA-1 and ``files``
    (``{dotted key: SHA-1 or None}``, the files whose contents differ;
    None: no file there), each named by ``nouns`` (``{dotted key: noun}``,
    :func:`~openselfsup.config.digest_noun`; default ``'file'``): a model
    folder (a text encoder's ``path``, counted by its files: the line
    said "file") a folder."""
    if sha1:
        return f'{source} (SHA-1 {str(sha1)[:12]})'
    if model_sha1:
        def noun(key):
            return (nouns or {}).get(key, 'file')
        named = ''.join(
            f'; {k}: ' + (f'{noun(k)} SHA-1 {str(v)[:12]}' if v
                          else f'no {noun(k)}')
            for k, v in (files or {}).items())
        return (f'{source} of {config} (model config SHA-1 '
                f'{str(model_sha1)[:12]}{named})')
    return source


class ModelRecord(NamedTuple):
    """What a kNN result records of the model it evaluates
    (:func:`model_record`)."""
    #: the model section as the training run built it
    #: (:func:`~openselfsup.config.built_model`)
    own: dict
    #: the section built for the evaluation (for a checkpoint, with the
    #: stand-ins made in place)
    built: dict
    #: ``{dotted key: part}`` built in place of the config's
    stand_ins: dict
    #: ``model_config_sha1``: the SHA-1 of ``built``, its heads' attribute
    #: files by a mark, not by where they lie
    #: (:func:`~openselfsup.config.without_file_paths`)
    sha1: str
    #: ``model_settings``: ``own`` key by key
    flat: dict
    #: ``built`` key by key where stand-ins were made (results written
    #: before ``model_settings`` recorded the config's own hold it), else
    #: None
    built_flat: Optional[dict]
    #: the SHA-1 of ``built`` with those files' paths in it, as results
    #: written before recorded it (``model_config_sha1_with_paths`` where
    #: it differs from ``sha1``): such results are of this model too
    sha1_with_paths: str


def model_sha1s_with_paths(built: dict, weights_loaded: bool,
                           record: dict) -> Tuple[str, ...]:
    """The SHA-1s that results written before the files' paths were left
    out of ``model_config_sha1`` (:func:`model_record`) recorded for the
    ``model`` section ``built`` (:attr:`ModelRecord.built`): of the
    section with the paths of its heads' attribute files
    (:func:`~openselfsup.config.model_settings_sha1` with ``paths``),
    where they lie now (first) and, where ``record``'s ``model_settings``
    says, where they lay (the same model evaluated from another checkout;
    what the files held is compared apart)."""
    now = model_settings_sha1(built, weights_loaded)
    then = record.get('model_settings')
    if not isinstance(then, dict):
        return (now, )
    there = with_file_values(built, 'model', lambda at, value: (
        then[at] if isinstance(then.get(at), str) else value))
    return now, model_settings_sha1(there, weights_loaded)


def model_record(cfg, weights_loaded: bool) -> ModelRecord:
    """The model of the training config ``cfg`` as ``knn_eval.py`` builds,
    fingerprints and records it (:class:`ModelRecord`): as its training
    run built it, a top-level ``data_preprocessor`` merged into a model
    without one (:func:`~openselfsup.config.built_model`; before, such a
    config was evaluated without its mean / std, and its results recorded
    the model without it: their fingerprints differ from this one's; no
    shipped config's changed by it, the two HLSS configs' by the mark
    below). Where a checkpoint's weights fill it (``weights_loaded``),
    an open_clip tower's own files (HLSS: the CC12M
    checkpoint, the text tower) are neither read nor part of what it is, a
    text tower a stand-in of its width (kNN reads image features only:
    :func:`~openselfsup.models.open_clip.without_clip_weights`), and what
    names its initial weights (``init_cfg``, ``pretrained``: replaced, the
    features the same) is left out of the fingerprints. The SHA-1 is of
    the section as built, stand-ins included, as results already written
    record it, with its ``TextInitHead`` s' attribute files (the HLSS
    ones) by a mark, not by their paths (:func:`~openselfsup.config.
    without_file_paths`; no other value, not one that names a file only
    because the current directory holds one of its name:
    :func:`~openselfsup.config.attribute_files`): the
    same model wherever the checkout lies (what
    those files hold counts apart at initialisation, ``model_files_sha1``;
    a checkpoint's weights replace what they initialise), and beside it
    the SHA-1 with their paths, that results written before recorded
    (``sha1_with_paths``); the settings key by key are the config's own
    (the text encoder it names, not the stand-in, the files' paths): a
    refusal names the key that differs.

    Raises:
        InputError: a value without a fingerprint, its key named.
    """
    own = built_model(cfg)
    # a copy: own stays the config's (the stand-in text tower made in
    # place was named as the first difference)
    built, stand_ins, built_flat = built_model(cfg), {}, None
    if weights_loaded:
        from ..models.open_clip import without_clip_weights
        stand_ins = without_clip_weights(built)
    sha1 = model_settings_sha1(built, weights_loaded, paths=False)
    flat = model_settings(own, weights_loaded)
    if stand_ins:
        built_flat = model_settings(built, True)
    return ModelRecord(own, built, stand_ins, sha1, flat, built_flat,
                       model_settings_sha1(built, weights_loaded))


@reading_once()  # each metadata file parsed once
def knn_eval_checkpoint(config: str, checkpoint: Optional[str],
                        out_dir: Optional[str] = None,
                        cfg_options: Optional[dict] = None,
                        seed: int = 0) -> Tuple[Dict, str]:
    """Evaluate a checkpoint with the config's ``knn_eval`` settings.

    Args:
        config (str): the training config (needs ``model`` and ``knn_eval =
            dict(bank=..., query=..., k=..., temperature=...,
            aggregation=...)``).
        checkpoint (str or None): a checkpoint of that model, or a run's
            work dir (its last complete checkpoint), read once, before
            the model stack is imported: its bytes tested complete (every
            CRC; in a work dir, the test that picks it) and hashed
            (``utils.checkpoint_files.read_resolved_checkpoint``), then
            loaded with ``weights_only=True``.
            ``None``: evaluate the model at its initialisation (random, or
            the pretrained weights the config names: the baseline training
            must beat); ``out_dir`` is then required.
        out_dir (str, optional): where ``knn_<ckpt>.json``, ``.txt`` and
            ``.png`` go (default: the checkpoint's folder); in another
            folder they are ``knn_<checkpoint's folder>_<ckpt>.*``.
        cfg_options (dict, optional): config overrides.
        seed (int): seed of the initialisation (``checkpoint=None``).

    Returns:
        tuple: (results dict, path of the JSON written). The dict's
        ``'title'`` (``kNN (k=...) <stem>``, the files' ``knn_<stem>``;
        at initialisation ``random_init_<config>_seed<S>``, naming the
        model) heads the table, the plot and what the command prints; it
        records the config, the checkpoint's path and SHA-1
        (``checkpoint_sha1``), the SHA-1 of the resolved config's
        ``model`` section as its run builds it (``model_config_sha1``; a
        top-level ``data_preprocessor`` merged into a model without one,
        :func:`~openselfsup.config.built_model`: such a config's earlier
        results recorded its model without it; for a checkpoint, of the
        section as built for it, :func:`~openselfsup.models.open_clip.
        without_clip_weights`, without the keys that name its initial
        weights, :func:`~openselfsup.config.without_initial_weights`; the
        heads' attribute files by a mark, not by where they lie, and the
        SHA-1 with their paths, the form results written before recorded,
        as ``model_config_sha1_with_paths`` where it differs:
        :func:`model_record`), the
        config's own section key by key (``model_settings``,
        :func:`~openselfsup.config.model_settings`: a refusal names the
        key that differs; the text encoder the config names, not the
        stand-in), what was built in place of the config's for the
        evaluation (``model_stand_ins``, ``{dotted key: part}``: for a
        checkpoint, an open_clip text tower's ``HashedBagOfWords`` of its
        width, which kNN, reading image features only, does not use; ``{}``
        where none), at initialisation the seed
        (``checkpoint``: ``random init (seed S)``) and the SHA-1 of the
        local files the section names (``model_files_sha1``, ``{dotted
        key: SHA-1}``) with what each is (``model_files_kind``, ``{dotted
        key: 'file' or 'folder'}``: a refusal names it as it was); for a
        checkpoint, ``trained_patients``: the
        number of query patients its run trained on where any
        (:func:`trained_patients`), None where they could not be read
        (the check not made), absent where none; the kNN settings
        evaluated under
        (``knn_settings``, ``knn_files_sha1``: :func:`knn_settings`); and
        the data read, ``knn_data_sha1`` (:func:`knn_data_sha1`) of the
        folders ``knn_data_folders`` (:func:`knn_data_folders`); and the
        folder it ran in (``cwd``), which the config's relative paths are
        read from.

    Raises:
        InputError: missing or unsafe checkpoint, a checkpoint that does not
            fit the model, a config without ``knn_eval``, a model setting
            without a fingerprint (:func:`~openselfsup.utils.plain_value`;
            before the checkpoint is loaded and the model built), or
            results of another model, of this checkpoint in another model,
            or of either under other kNN settings, under the output name
            (:func:`check_own_results`); a ``knn_eval`` setting without a
            fingerprint.
    """
    # the config and the checkpoint's path first, without the model stack
    # (some 8 s of imports): a mistyped path is refused at once
    cfg = load_config(config, cfg_options)
    # a model kNN evaluation is not for, before its checkpoint is read (and
    # before its section: a knn_eval added to a CLP config does not help)
    check_knn_model(cfg, config)
    if 'knn_eval' not in cfg:
        raise InputError(f'{config}: no knn_eval = dict(bank=..., query=...) '
                         'in the config')
    check_knn_arguments(checkpoint, checkpoint is None, out_dir=out_dir)
    try:  # what the evaluation is beyond the model, before the model
        settings = knn_evaluation_settings(cfg.knn_eval.to_dict())
    except InputError as exc:  # a value without a fingerprint
        raise InputError(f'{config}: {exc}') from None
    sha1 = model_files = trained = None
    if checkpoint is not None:
        # the checkpoint whole (in a run's work dir, the one it picks),
        # every CRC tested, before the model stack: a missing, unreadable
        # or damaged one is refused at once. These bytes are those loaded
        # and hashed: the file is read once, here, not tested cheaply here
        # (its zip directory: a damaged member passed) and read later
        from ..utils.checkpoint_files import (HeldWarnings,
                                              read_resolved_checkpoint)
        passed_over = HeldWarnings()
        checkpoint, buffer, sha1 = read_resolved_checkpoint(
            checkpoint, logger=passed_over)
        held = [buffer]  # taken by the load: not kept while the model runs
        del buffer
        passed_over.flush()  # the newer files passed over, said now
    import openselfsup.datasets.registered  # noqa: F401  (the datasets)
    from ..evaluation.knn import format_table, knn_title, run_knn
    from ..models import extraction  # noqa: F401  (registers the models)
    from .extract import build_random_extractor
    # the types looked up as the training run looked them up (MMEngine's
    # Runner: 'mmengine' where the config sets no scope, it was the
    # project's), and one the run's scope does not hold refused in the
    # scope check's line, before a checkpoint is loaded or a model built
    roots = knn_scope_roots(cfg)
    # a _scope_ of '' or no string in what it builds, in tools/train.py's
    # line: MMEngine's build failed on it (a TypeError importing
    # '.registry', an AssertionError), a traceback for the data sets
    check_scope_names(cfg, config, [(key, node) for key, node, _ in roots])
    init_scope(cfg, True)
    for line in check_scope_types(cfg, config, roots, TRAINING_RUN_JUDGED):
        from mmengine.logging import print_log
        print_log(line, logger='current', level=logging.WARNING)
    # a model of no HLSS class by its ancestry (a user's subclass of
    # MoCoV3 under its own name passed the config's check), before a
    # checkpoint is loaded or a model built
    check_knn_model_class(cfg, config)
    # a number setting of the project's classes that is no number (a
    # string from --cfg-options), before anything is built: the line
    # tools/train.py says (a whole float is set to its int here, so that
    # the model's settings below record what is built)
    with settings_refused(cfg, 'model'):
        check_setting_types(cfg, ('model', ))
    check_knn_section(cfg)
    # the settings recorded as the check leaves them, which is what runs
    # (knn_eval.k=20.0 evaluates as 20: it was recorded as 20.0)
    settings = (*knn_settings(cfg.knn_eval.to_dict()), *settings[2:])
    try:  # the model's settings identify it: two configs of one name at
        # initialisation, one checkpoint's weights in two models (what takes
        # no weights: a pooling, out_indices), in one --out-dir
        own_model, model_cfg, stand_ins, model_sha1, model_flat, \
            built_flat, sha1_with_paths = model_record(
                cfg, checkpoint is not None)
    except InputError as exc:  # a value without a fingerprint
        raise InputError(f'{config}: {exc}') from None
    if checkpoint is None:  # built once its results may be written
        model = None
        # the config in the name: several models' baselines share a folder
        name = os.path.splitext(os.path.basename(config))[0]
        stem = f'random_init_{name}_seed{seed}'
        # and the files it names (a pretrained checkpoint, embeddings), by
        # their contents: the same path may hold another file, or be
        # relative to another directory
        model_files = named_file_digests(own_model, 'model')
    else:
        model, trained, note, other_settings = _model_from_checkpoint(
            model_cfg, checkpoint, held, cfg, config)
        stem = os.path.splitext(os.path.basename(checkpoint))[0]
        where = os.path.dirname(os.path.abspath(checkpoint))
        if out_dir and os.path.abspath(out_dir) != where:
            # a shared folder: the run's folder in the name, as two runs'
            # checkpoints share theirs (iter_300.pth)
            stem = f'{os.path.basename(where)}_{stem}'

    source = (os.path.abspath(checkpoint) if checkpoint
              else random_init_words(seed))
    out_dir_given = bool(out_dir)
    out_dir = out_dir or os.path.dirname(os.path.abspath(checkpoint))
    json_path = os.path.join(out_dir, f'knn_{stem}.json')
    check_writable(json_path)
    # what identifies a checkpoint: its bytes, sha1 (two runs' epoch_10.pth
    # share a file name, a retraining's and the run it wrote over a path),
    # in which model (model_sha1) and under which kNN settings (another
    # config's split, data or k)
    check_own_results(json_path, source, sha1, model_sha1,
                      os.path.abspath(config), model_files, settings,
                      model_flat, built_flat,
                      functools.partial(key_where_set, cfg),
                      functools.partial(model_sha1s_with_paths, model_cfg,
                                        checkpoint is not None),
                      list(attribute_files(own_model, 'model')))
    # the table and plot written with it: a user's file of their name
    # beside no results JSON was replaced without a word
    check_replaceable(json_path, ('checkpoint',),
                      'kNN results written by knn_eval.py',
                      also=(os.path.join(out_dir, f'knn_{stem}.txt'),
                            os.path.join(out_dir, f'knn_{stem}.png')),
                      flag='--out-dir', given=out_dir_given)
    # the bank's and the query's folders and files, as tools/train.py checks
    # them (and the KNNEvalHook's), before the datasets and a baseline's
    # model are built: a mistyped data_root was blamed on the metadata when
    # the bank was built, 'names a missing patch', not named with its option
    from .train import check_dataset_paths, unmoved_notes, warning_words
    check_dataset_paths(cfg, ['knn_eval'])
    from mmengine.logging import print_log
    # --cfg-options that moved some copies of a path variable (the HLSS
    # configs' data_root) and left others where this evaluation reads
    # them, its model and knn_eval (the bank on /x, the query on the
    # file's folder): said as tools/train.py says it of a run
    for unmoved in unmoved_notes(cfg, _SECTIONS_READ):
        print_log(warning_words(unmoved), logger='current',
                  level=logging.WARNING)
    if checkpoint is not None and note:
        # the way out run into the same folder was refused as results
        # 'under another model section': it names where these go
        print_log(f'{note} (and another --out-dir than {out_dir}, or '
                  f'delete {json_path} first: these results are written '
                  'there, marked as evaluated with other settings)',
                  logger='current', level=logging.WARNING)
    if model is None:  # not before: HLSS's text tower takes minutes on CPU
        model = build_random_extractor(cfg, seed, training=True)
    # a random init trained on no patients; a checkpoint's None: not read
    # (a warning said why, or it records no config), which the results
    # keep as null, not absent ("none found")
    res = run_knn(model, **cfg.knn_eval, trained_patients=(
        trained if checkpoint is not None else ()))
    bad = res.get('nonfinite')
    if bad:  # a table of nan is no result: nothing written
        what = source if checkpoint else f'the model at {source}'
        raise InputError(
            f'{what}: the model gives NaN/inf features for {bad["bank"]} '
            f'of the bank and {bad["query"]} of the query patches (its '
            'weights have diverged); no kNN results written')
    res['config'] = os.path.abspath(config)
    res['checkpoint'] = source
    res['checkpoint_sha1'] = sha1
    res['model_config_sha1'] = model_sha1
    if sha1_with_paths != model_sha1:  # the form results of before hold
        res[MODEL_SHA1_WITH_PATHS] = sha1_with_paths
    res['model_settings'] = model_flat
    # the feature settings that differ from those the checkpoint was
    # trained with (the warning's), none where the same or not known:
    # knn_summary.py marks such rows
    res['settings_other_than_trained'] = \
        other_settings if checkpoint is not None else []
    # what was built in place of the config's for the evaluation
    res['model_stand_ins'] = stand_ins
    if checkpoint is None:  # the files a checkpoint's weights replace
        res['model_files_sha1'] = model_files
        # and what each was (a folder replaced by a file keeps its path)
        res['model_files_kind'] = _digest_nouns(model_files, model_flat)
    # the settings, the data folders' files, and where they are
    # (knn_summary.py reads them again to tell results of data written
    # since)
    res.update(zip(KNN_RECORD_KEYS, settings))
    # the folder it ran in, which the config's relative paths (a data_root
    # 'data/hier32', a metadata, a split) were read from: knn_summary.py's
    # command for a checkpoint written over since runs there
    # (knn_summary.current_checkpoint_command; pasted elsewhere, it read
    # another folder's data without a word)
    res['cwd'] = os.getcwd()
    # one name for every output, the files' stem (the config's name at
    # initialisation: several models' baselines share a folder); the title
    # says when k was capped at the bank
    res['title'] = knn_title(res, stem)
    save_set({json_path: res,  # the numbers, their table and plot together
              os.path.join(out_dir, f'knn_{stem}.txt'): format_table(
                  res, res['title']),
              os.path.join(out_dir, f'knn_{stem}.png'): plot_levels(
                  res, res['title'])})
    return res, json_path
