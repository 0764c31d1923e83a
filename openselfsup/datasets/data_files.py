"""Where this project's datasets find the files they read when built.

One function per path, used by the dataset that reads it and by the
training check of missing data paths
(:func:`~openselfsup.apis.train.check_data_paths`), which runs before the
runner is built and without torch: the two cannot resolve a path two ways.
The ``data_prefix`` folders are the exception: MMEngine's ``BaseDataset``
joins them to ``data_root`` itself
(:func:`~openselfsup.config.prefix_folder` does what it does; ``test_a_file_the_dataset_reads_when_built_is_checked`` compares
with the built datasets). Torch-free (the check imports this module, not
the dataset classes).
"""
import os
from typing import Any, List, Optional, Tuple

from ..config import (annotation_path, config_dicts, prefix_folder,
                      type_name)
from ..utils import InputError, file_sha1, json_content_sha1
from ..utils.fingerprint import want_digests
from .list_files import list_entries_sha1

#: the OpenSRH release's metadata and split files, relative to data_root
OPENSRH_METADATA = 'meta/opensrh.json'
OPENSRH_SPLIT = 'meta/train_val_split.json'


def hierarchy_files(layout: str, metadata: str = '', split: str = '',
                    data_root: str = '') -> Tuple[str, str]:
    """The metadata and split JSON files a hierarchical dataset
    (``HierarchicalPatientDataset``, ``HierarchicalPatchDataset``) reads:
    ``metadata`` and ``split`` as given (relative to the current
    directory, not joined to ``data_root``), and for ``layout='opensrh'``
    the release's :data:`OPENSRH_METADATA` / :data:`OPENSRH_SPLIT` under
    ``data_root`` where they are not given (``''`` where there is no
    ``data_root``: the dataset refuses that layout without one)."""
    if layout == 'opensrh' and data_root:
        metadata = metadata or os.path.join(data_root, OPENSRH_METADATA)
        split = split or os.path.join(data_root, OPENSRH_SPLIT)
    return metadata, split


def patch_root(metadata: str, data_root: str = '') -> str:
    """The folder a hierarchical dataset (``layout='metadata'``) joins the
    patch paths its ``metadata`` names to: ``data_root``, or where it has
    none the metadata file's folder (absolute)."""
    return data_root or os.path.dirname(os.path.abspath(metadata))


def classes_file(classes: Any, data_root: str = '') -> Optional[str]:
    """The class-name file a ``CaptionedImages`` dataset reads when its
    ``classes`` is a string: joined to ``data_root`` when relative (as
    given without a ``data_root``); None for a number or a list of
    names."""
    if not isinstance(classes, str):
        return None
    if os.path.isabs(classes) or not data_root:
        return classes
    return os.path.join(data_root, classes)


def list_image_prefix(node: dict) -> Tuple[Any, str]:
    """An ``ImageList`` config ``node``'s image folder as given and the
    key it is at: a string ``data_prefix`` with its ``~`` expanded, as
    mmpretrain's ``BaseDataset`` expands it, or a dict's ``img_path`` as
    given (``data_prefix.img_path``; ``''`` where it has none); the one
    reading of :func:`list_image_root` and :func:`_read_paths`."""
    prefix = node.get('data_prefix', '')
    if isinstance(prefix, str):
        return os.path.expanduser(prefix), 'data_prefix'
    if isinstance(prefix, dict):
        return prefix.get('img_path', ''), 'data_prefix.img_path'
    return prefix, 'data_prefix'


def list_image_root(node: dict) -> Optional[str]:
    """The folder an ``ImageList`` config ``node`` joins its list's
    entries to (the dataset's ``img_prefix``), as mmpretrain's and
    MMEngine's ``BaseDataset`` make it: :func:`list_image_prefix` joined
    to a ``data_root`` when relative
    (:func:`~openselfsup.config.prefix_folder`); an empty one (or a dict
    without ``img_path``) is the ``data_root`` itself (``''``: the
    current directory). None for a value the dataset refuses or a
    URL."""
    root = node.get('data_root') or ''
    prefix = list_image_prefix(node)[0]
    if not isinstance(root, str) or not isinstance(prefix, str) or \
            '://' in root:
        return None
    return prefix_folder(prefix, root) if prefix else root


#: ``data_prefix`` keys whose folder a dataset type of this project reads
#: every sample from when built (each sample a file directly under it)
_PREFIX_FOLDERS = {'CaptionedImages': 'img_path',
                   'SlideReports': 'feat_path'}


#: this project's dataset types that take no ``ann_file`` (they read
#: ``metadata`` and ``split``; one given stops their build, on BaseDataset's
#: 'multiple values for keyword argument' TypeError)
NO_ANN_FILE = ('HierarchicalPatientDataset', 'HierarchicalPatchDataset')


def _read_paths(kind: str, node: dict) -> List[Tuple[str, str, str, str]]:
    """The files and folders a dataset config ``node`` of type ``kind``
    (its class name) reads when the dataset is built, other than its
    ``data_root``: its ``ann_file`` (joined to the ``data_root``:
    :func:`~openselfsup.config.annotation_path`), then the others of this
    project's dataset types. ``(key under the dataset, path, how it is
    read, note)``, each path resolved as the dataset resolves it, and
    read as ``'list'`` (a list file:
    :func:`~openselfsup.datasets.list_files.read_list_file`), ``'json'``
    (``json.load``), ``'file'`` (any other file: text, or a file of
    another package's dataset) or ``'folder'``: what a run's record of
    its data files digests (:func:`data_file_records`), so that each
    type's files are known in this one place. A default path is under
    the key it is made from (``data_root`` for OpenSRH's
    ``meta/opensrh.json``), its note saying how (``''`` for a path the
    key gives). Values a dataset refuses itself (a path that is not a
    string, an unknown layout) give none."""
    root = node.get('data_root')
    root = root if isinstance(root, str) else ''
    ann_read = 'file'  # another type's: by code not this project's
    out = []
    if kind in NO_ANN_FILE:
        ann_read = 'json'  # (they take none: every file they read)
        layout = node.get('layout', 'metadata')
        given = [node.get(k, '') for k in ('metadata', 'split')]
        if layout in ('metadata', 'opensrh') and '://' not in root and \
                all(isinstance(v, str) for v in given):
            paths = hierarchy_files(layout, *given, root)
            for key, value, path, default in zip(
                    ('metadata', 'split'), given, paths,
                    (OPENSRH_METADATA, OPENSRH_SPLIT)):
                if path and value:
                    out.append((key, path, 'json', ''))
                elif path:
                    out.append(('data_root', path, 'json', (
                        f": layout='opensrh' reads {default} under it "
                        f'unless {key} is given')))
    if kind == 'CaptionedImages' and '://' not in root:
        path = classes_file(node.get('classes'), root)
        if path:  # text, one name a line
            out.append(('classes', path, 'file', ''))
    if kind == 'ImageList':  # mmpretrain's BaseDataset: a string is the
        # image folder, its ~ expanded; MMEngine's joins it to data_root.
        # Named, so looked for, as data_root is, whatever its check mode
        # (the images of 'none' are read by the first step); a list of
        # absolute paths does not read it (apis.train._absolute_list)
        ann_read = 'list'
        prefix, key = list_image_prefix(node)
        folder = prefix_folder(prefix, root)
        if folder:
            out.append((key, folder, 'folder', ''))
    if kind in _PREFIX_FOLDERS:  # their ann_file a JSON object of samples
        ann_read = 'json'
        prefix = node.get('data_prefix')
        name = _PREFIX_FOLDERS[kind]
        folder = prefix_folder(prefix.get(name), root) \
            if isinstance(prefix, dict) else None
        if folder:
            out.append((f'data_prefix.{name}', folder, 'folder', ''))
    ann = annotation_path(node)
    return ([('ann_file', ann, ann_read, '')] if ann else []) + out


def joins_to_root(node: dict, key: str) -> bool:
    """Whether the dataset config ``node`` reads a relative path given at
    its ``key`` (dotted under it: ``ann_file``, ``data_prefix``,
    ``data_prefix.img_path``, ``classes``) under its ``data_root``, as
    :func:`_read_paths` resolves its type's files (``ann_file`` of every
    type, the ``data_prefix`` folders of this project's types, a
    ``CaptionedImages`` ``classes`` file; not a hierarchical dataset's
    ``metadata`` and ``split``, read as given). How a path under a moved
    ``data_root`` is advised (:func:`~openselfsup.config.
    unmoved_copies_note`: relative where joined, else in full). A
    ``data_prefix`` folder of a type not of this project too: MMEngine's
    ``BaseDataset`` joins each (:func:`~openselfsup.config.prefix_folder`),
    though :func:`_read_paths` knows only this project's types' folders."""
    head, _, tail = key.partition('.')
    if head == 'data_prefix':
        return True
    probe = dict(node, data_root='root')
    inner = node.get(head)
    probe[head] = dict(inner if isinstance(inner, dict) else {},
                       **{tail: 'path'}) if tail else 'path'
    joined = os.path.join('root', 'path')
    return any(found[0] == key and os.path.normpath(found[1]) == joined
               for found in _read_paths(type_name(node.get('type')) or '',
                                        probe))


def dataset_paths(node: dict) -> List[Tuple[str, str, str, str]]:
    """Every file and folder a dataset config ``node`` reads when built:
    its ``data_root`` folder (as given: MMEngine's datasets do not expand
    it), then those of :func:`_read_paths` for its type (its ``ann_file``
    first). A URL gives none. What the ``--resume`` check of the training
    data compares (:func:`~openselfsup.engine.runner.data_path_changes`)
    and the run's record of its data files (:func:`data_file_records`)."""
    root = node.get('data_root')
    out = []
    if isinstance(root, str) and root and '://' not in root:
        out.append(('data_root', root, 'folder', ''))
    return out + _read_paths(type_name(node.get('type')) or '', node)


#: the ``sha1_of`` of a :func:`data_file_records` record of a list file
#: (an ``ImageList``'s ``ann_file``): its SHA-1 is that of its entries
#: (:func:`~openselfsup.datasets.list_files.list_entries_sha1`); a record
#: without ``sha1_of`` holds the SHA-1 of the file's bytes (any other
#: file; a list in a checkpoint of older code)
LIST_ENTRIES = 'entries'

#: the ``sha1_of`` of a :func:`data_file_records` record of a JSON file a
#: dataset of this project reads (:func:`_read_paths`' ``'json'``): its
#: SHA-1 is that of the value it holds
#: (:func:`~openselfsup.utils.json_content_sha1`: re-indented or
#: respaced, the same file; its keys reordered, another)
JSON_CONTENT = 'json'


def data_file_records(node: Any, key: str) -> dict:
    """``{name: record}`` of each file (never a folder, an image) the
    datasets of the config section ``node`` (at dotted ``key``:
    ``train_dataloader.dataset``) read when built, as
    :func:`dataset_paths` resolves them, relative ones from the current
    directory: the files' contents, which a checkpoint's meta records and
    a ``--resume`` compares (a list grown or shrunk by a few lines keeps
    its path and, often, the epoch length). ``name`` is the setting's
    dotted key (``train_dataloader.dataset.ann_file``), a default file
    under the ``data_root`` the root's key and the file under it
    (``...data_root/meta/opensrh.json``). A record is ``{'path': path,
    'sha1': hex}`` (``path`` as the dataset joins it; ``sha1``: of the
    file's bytes), and of an ``ImageList``'s list ``{'path': path,
    'entries': n, 'sha1': hex, 'sha1_of':`` :data:`LIST_ENTRIES` ``}``,
    the entries the dataset reads and their SHA-1
    (:func:`~openselfsup.datasets.list_files.list_entries_sha1`: the
    list gzipped again or its line ends changed is the same list); a
    file the list reader refuses by its bytes (the type's name is read
    without its scope: ``mypkg.ImageList``, another package's dataset,
    may read a JSON file). A JSON file a dataset of this project reads
    (:func:`_read_paths`' ``'json'``) is ``{'path': path, 'sha1': hex,
    'sha1_of':`` :data:`JSON_CONTENT` ``}``, the SHA-1 of its value
    (:func:`~openselfsup.utils.json_content_sha1`), or by its bytes
    where it is not JSON (the dataset refuses it). A file missing or
    unreadable is left out (the data check and the dataset name it)."""
    out = {}
    for where, path, read in _data_files(node, key):
        try:
            if read == 'list':
                try:
                    entries, sha1 = list_entries_sha1(path)
                    out[where] = {'path': path, 'entries': entries,
                                  'sha1': sha1, 'sha1_of': LIST_ENTRIES}
                    continue
                except InputError:  # not a list of ours: the type name
                    # without its scope may be another package's
                    # ImageList (mypkg.ImageList), whose file is recorded
                    # by its bytes as any other
                    pass
            if read == 'json':
                try:
                    out[where] = {'path': path, 'sha1_of': JSON_CONTENT,
                                  'sha1': json_content_sha1(path)}
                    continue
                except ValueError:  # not JSON: by its bytes
                    pass
            out[where] = {'path': path, 'sha1': file_sha1(path)}
        except OSError:
            continue
    return out


def _data_files(node: Any, key: str) -> List[Tuple[str, str, str]]:
    """``(name, path, how it is read)`` of each file
    :func:`data_file_records` records (its ``name`` and ``path``; how:
    one of :func:`_read_paths`' kinds but ``'folder'``), of the datasets
    of ``node`` (at ``key``), without reading them."""
    out = []
    for at, section in config_dicts(node, key):
        if 'type' not in section:
            continue
        root = section.get('data_root')
        for name, path, read, how in dataset_paths(section):
            if read == 'folder':
                continue
            where = f'{at}.{name}'
            if how:  # a default path under the data_root
                where += '/' + os.path.relpath(path, root)
            out.append((where, path, read))
    return out


def want_file_digests(node: Any, key: str) -> None:
    """Say that :func:`data_file_records` of ``node`` (at ``key``) will be
    asked in this process (a training run's, in ``before_train``): the
    datasets keep the digest of each of those files as they read it
    (:func:`~openselfsup.utils.fingerprint.want_digests`), which the record
    then takes without reading the file again."""
    want_digests(path for _, path, _ in _data_files(node, key))


def same_contents(before: Any, now: dict) -> Optional[bool]:
    """Whether a file a checkpoint's run read (``before``, its
    :func:`data_file_records` record then) holds what it holds now
    (``now``, its record now): records of one kind compared by their
    SHA-1; one of another kind now by the file read now as the record
    then read it. A JSON value (:data:`JSON_CONTENT`) or a list's entries
    (:data:`LIST_ENTRIES`) then, of a file that is no longer JSON or a
    list (recorded by its bytes now: a second JSON value appended, as a
    JSON Lines reader of another package reads it), is other contents
    for certain; a JSON file recorded by its bytes then (by older code)
    and by its value now is compared by its bytes now, as that code
    compared it (re-indented since, it is said as changed, as it was;
    never its bytes' SHA-1 against its value's, which always differ).
    None where they cannot be compared: no record then, a list recorded
    by its bytes (older code: another gzip time stamp or line end
    changes them), or the file unreadable now."""
    if not isinstance(before, dict):
        return None
    kind = before.get('sha1_of')
    if kind == now.get('sha1_of'):
        return before.get('sha1') == now['sha1']
    if kind is None and now.get('sha1_of') == LIST_ENTRIES or \
            kind not in _CONTENT_SHA1:
        return None
    try:
        return before.get('sha1') == _CONTENT_SHA1[kind](now['path'])
    except OSError:
        return None
    except (ValueError, InputError):  # no longer JSON, or a list
        return False


#: the SHA-1 of each kind of record (its ``sha1_of``) of a file read now
_CONTENT_SHA1 = {None: file_sha1, JSON_CONTENT: json_content_sha1,
                 LIST_ENTRIES: lambda path: list_entries_sha1(path)[1]}
