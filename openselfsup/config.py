"""Config loading: the ground floor every entry point stands on.

:func:`load_config` reads a Python config (MMEngine's ``Config``) and applies
``--cfg-options`` strictly: an override whose key is not in the config is an
error naming the key and the closest existing one, not a silently ignored
setting. :func:`default_work_dir` gives ``work_dirs/<config path>`` as the
original OpenSelfSup did.

Imports MMEngine's ``Config`` only (no registries, no models), so any layer
may use it; only an override key that is not in the config is looked up in
the registries (is it an argument of the class its dict builds?).
"""
import argparse
import ast
import contextlib
import copy
import difflib
import functools
import logging
import math
import os
import re
import shlex
from typing import (Any, Callable, Dict, Iterator, List, Mapping, Optional,
                    Sequence, Tuple)

from mmengine.config import Config, ConfigDict  # noqa: F401

from .utils import (InputError, file_sha1, first_line, is_int, is_number,
                    with_article, with_missing_note)
from .utils.cfg_options import (CfgOptionsAction,  # noqa: F401
                                parse_cfg_options, parse_option_value)
# the --help formatter, imported from here before it moved beside run_cli
from .utils.errors import RawDefaultsHelpFormatter  # noqa: F401
from .utils.errors import OPTIONS_GIVEN as _OPTIONS_GIVEN
from .utils.errors import OPTIONS_SET as _OPTIONS_SET
from .utils.fingerprint import (SIZE_ARGUMENTS, data_folder_sha1,
                                folder_sha1)
from .utils.io import from_root, read_from_root


def near_key_hint(where: str, part: str, keys) -> str:
    """`` (did you mean <where>.<key>?)`` for the key of ``keys`` closest
    to ``part`` (a key not there, under the dotted ``where``; '' at the
    top), or '' where none is close: how a key that is not in a config
    is answered (:func:`check_cfg_options`,
    :func:`check_dropped_default_hooks`)."""
    near = difflib.get_close_matches(part, [str(k) for k in keys], n=1)
    return (f' (did you mean {".".join(filter(None, [where, near[0]]))}?)'
            if near else '')


def _missing_key(cfg: Config, key: str
                 ) -> Optional[Tuple[str, str, Any, str]]:
    """None if dotted ``key`` exists in ``cfg``, else ``(reason, where,
    node, part)``: a one-line reason, the dotted part of ``key`` that
    exists, the value there and the first part that does not."""
    node: Any = cfg
    done = []
    for part in key.split('.'):
        where = '.'.join(done)
        if isinstance(node, (list, tuple)):
            if not (part.lstrip('-').isdigit()
                    and -len(node) <= int(part) < len(node)):
                return (f'{where} is a list of {len(node)}; {part!r} is not '
                        'a valid index', where, node, part)
            node = node[int(part)]
        elif isinstance(node, (dict, Config)):
            if part not in node:
                hint = near_key_hint(where, part, node.keys())
                return (f'{where or "the config"} has no key {part!r}{hint}',
                        where, node, part)
            node = node[part]
        else:
            return (f'{where} is a {type(node).__name__}, not a dict or '
                    'list', where, node, part)
        done.append(part)
    return None


def config_dicts(node: Any, key: str = '') -> Iterator[Tuple[str, dict]]:
    """``(dotted key, dict)`` of ``node`` and of every dict under it (list
    items by index), each parent before its children. A caller may change a
    dict when it is yielded: its children are read after that.

    Example: ``config_dicts(cfg.model, 'model')`` yields ``('model',
    cfg.model)``, ``('model.backbone', ...)``,
    ``('model.backbone.norm_cfg', ...)``, ...
    """
    if isinstance(node, dict):
        yield key, node
        for name, value in list(node.items()):
            yield from config_dicts(value, f'{key}.{name}' if key else name)
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from config_dicts(value, f'{key}.{i}' if key else str(i))


def flat_config(node: Any, prefix: str = '') -> Dict[str, Any]:
    """``{dotted key: value}`` of every leaf of ``node`` (dicts by key,
    lists and tuples by index: ``model.backbone.depth``,
    ``param_scheduler.0.end``), each key after ``prefix``; an empty dict
    or list has no leaf. How configs are compared key by key (the resume
    checks of :mod:`openselfsup.engine.runner`, the lambda sweep's run
    records)."""
    out = {}
    if isinstance(node, dict):
        for k, v in node.items():
            out.update(flat_config(v, f'{prefix}{k}.'))
    elif isinstance(node, (list, tuple)):
        for i, v in enumerate(node):
            out.update(flat_config(v, f'{prefix}{i}.'))
    else:
        out[prefix[:-1]] = node
    return out


#: a key one side of a comparison does not have (:func:`key_change`)
UNSET = type('Unset', (), {'__repr__': lambda self: 'unset'})()


def key_change(key: str, old: Any, new: Any, show=repr) -> str:
    """A key whose value differs between an earlier run (a checkpoint's
    config, a sweep run's record: ``old``) and this one (``new``), in
    words: ``key: old -> new`` (``train_cfg.max_epochs: 2 -> 4``), each
    value as ``show`` writes it (default ``repr``), :data:`UNSET` (a key
    one side does not have) as ``unset``. How the resume checks
    (:func:`saved_model_difference`,
    :func:`~openselfsup.engine.runner.schedule_changes`) and the lambda
    sweep's run records name a difference."""
    def text(value) -> str:
        return 'unset' if value is UNSET else show(value)
    return f'{key}: {text(old)} -> {text(new)}'


def file_contents_change(key: str, old: Any, new: Any,
                         path: Any = None) -> str:
    """A ``file.<key>`` setting (the SHA-1 of a local file a config key
    names, or of a model folder's files, :func:`named_file_digests`) that
    differs, in words (:func:`key_change`, the digests shortened to 12
    digits). ``path``: the key's value now, which names a folder where
    it is one (a text encoder's model folder; the line said "the file"),
    :func:`digest_noun`."""
    key = key[len('file.'):]
    return key_change(f'the contents of the {digest_noun(path, key)} '
                      f'{key} names, SHA-1', old, new,
                      lambda v: str(v)[:12])



#: ends a kNN data digest taken of the patch files a metadata names
#: (:func:`openselfsup.apis.knn.fallen_back_patches`), not of a folder
PATCHES_DIGEST = ':patches'


def is_patches_digest(value: Any) -> bool:
    """Whether a recorded data digest is of the patch files a metadata
    names (it ends with :data:`PATCHES_DIGEST`), not of a folder."""
    return isinstance(value, str) and value.endswith(PATCHES_DIGEST)


def data_contents_change(key: str, old: Any, new: Any,
                         folder: Any = None) -> str:
    """A ``data.<key>`` setting (the digest of a data folder's listing and
    a sample of its files, :func:`data_folder_digests`) that differs, in
    words (:func:`key_change`, the digests shortened to 12 digits), naming
    the ``folder`` where it is known: the data written again under the
    same folder (the synthetic generator run again with another seed or
    size). What the digests are of: :func:`data_digest_words`; a digest
    of the patch files a metadata named then and of a folder now (that
    metadata rewritten to name patches under one folder,
    ``openselfsup.apis.knn.unjudged_data_keys``), each in its words."""
    key = key[len('data.'):]
    if is_patches_digest(old) and isinstance(new, str) and \
            not is_patches_digest(new):
        where = f'the data in {folder}' if isinstance(folder, str) else \
            'its folder'
        return key_change(
            f'the data {key} reads (then the patch files its metadata '
            'named: their sorted paths and a sample of them; now '
            f'{where}: its listing and a sample of its files; SHA-1)',
            old, new, lambda v: str(v)[:12])
    return key_change(data_digest_words(
        key, folder, is_patches_digest(old) or is_patches_digest(new)),
        old, new, lambda v: str(v)[:12])


def data_digest_words(keys: str, folder: Any = None,
                      patches: bool = False) -> str:
    """What a data digest of the settings ``keys`` (one dotted key, or
    several joined by ``, ``) is of, in words, naming the ``folder``
    recorded where it is known: ``the data in <folder> (<keys>: its
    listing and a sample of its files, SHA-1)`` (``the data folder
    <keys> names (its listing ...)`` where it is not known); where
    ``patches`` (a digest of the patch files a metadata names, the kNN
    sets without ``data_root`` whose patches lie under top-level trees:
    :func:`is_patches_digest`), ``the patch files the metadata in
    <folder> names (<keys>: their sorted paths and a sample of them,
    SHA-1)``, what that digest compares
    (:func:`~openselfsup.apis.knn.knn_data_sha1`), not the folder's data
    and listing: "the data in <folder>" read as that folder (the working
    directory) changed. The refusal's words
    (:func:`data_contents_change`) and those of ``tools/knn_summary.py``'s
    line under the table (:func:`openselfsup.apis.knn_summary.
    format_summary`)."""
    if patches:
        where = f' in {folder}' if isinstance(folder, str) else ''
        return (f'the patch files the metadata{where} names ({keys}: their '
                'sorted paths and a sample of them, SHA-1)')
    what = (f'the data in {folder} ({keys}: ' if isinstance(folder, str)
            else f'the data folder {keys} names (')
    return f'{what}its listing and a sample of its files, SHA-1)'


def digest_noun(path: Any, key: str = '') -> str:
    """What a digest of :func:`named_file_digests` at the dotted ``key``
    is of, in words, for the config value ``path``: ``'folder'`` where it
    names a local folder now (a model folder, counted by its files),
    ``'file'`` where it names a file, or where ``key`` is not one that
    counts a folder (:func:`counts_a_folder`); ``'file or folder'`` for
    one that does, its path no longer there (a model folder deleted: the
    line said "file"; a record holds the digest, not what it was of)."""
    here = local_file(path) if isinstance(path, str) else None
    if here and os.path.isdir(here):
        return 'folder'
    if counts_a_folder(key) and not (here and os.path.isfile(here)):
        return 'file or folder'
    return 'file'


def counts_a_folder(key: str) -> bool:
    """Whether a folder at the dotted config ``key`` counts by its files'
    contents in :func:`named_file_digests` (the ``path`` of a part of the
    ``model`` section: a text encoder's model folder), not by its path."""
    return key.rsplit('.', 1)[-1] == 'path' and key_below(key, ('model', ))


def first_difference(there: dict, here: dict,
                     describe: Callable[[str, Any, Any], str],
                     skip: Sequence[str] = (),
                     last: Sequence[str] = ()) -> Optional[str]:
    """The first key (the shallowest, then by name) in which the flat
    settings recorded ``there`` differ from ``here``, as ``describe(key,
    recorded value, this value)`` writes it (:data:`UNSET`: a key one side
    does not have), and how many more differ; None when they agree (the
    keys ``skip`` and those below them aside; the keys ``last`` named
    only where no other differs, counted among the more). How the lambda
    sweep and the kNN results name what differs from an earlier
    record."""
    diff = sorted((k for k in set(there) | set(here)
                   if not key_below(k, skip) and
                   there.get(k, UNSET) != here.get(k, UNSET)),
                  key=lambda k: (k in last, k.count('.'), k))
    if not diff:
        return None
    more = '' if len(diff) == 1 else \
        f'; {len(diff) - 1} more differ{"s" if len(diff) == 2 else ""}'
    return describe(diff[0], there.get(diff[0], UNSET),
                    here.get(diff[0], UNSET)) + more


def type_name(kind: Any) -> Optional[str]:
    """The name a config's ``type`` builds, without its registry scope or
    module (``openselfsup.SlideReports`` and ``mmengine.CosineAnnealingLR``
    name ``SlideReports`` and ``CosineAnnealingLR``; a class given as the
    type: its ``__name__``); None for neither."""
    if isinstance(kind, str):
        return kind.rsplit('.', 1)[-1]
    return getattr(kind, '__name__', None)


def key_below(key: str, roots: Sequence[str]) -> bool:
    """Whether the dotted ``key`` is one of ``roots`` or a key below one
    (``model.backbone.depth`` is below ``model``, ``model_ema`` is not)."""
    return any(key == r or key.startswith(f'{r}.') for r in roots)


def local_file(path: str) -> Optional[str]:
    """The local file ``path`` names as MMEngine's and mmpretrain's loaders
    read it: a leading ``~`` expanded, relative to the current directory;
    None for a URL (``http://``, ``s3://``, ``open-mmlab://``...), which is
    not looked for here."""
    return None if '://' in path else os.path.expanduser(path)


def prefix_folder(prefix: Any, data_root: str = '') -> Optional[str]:
    """A ``data_prefix`` folder as MMEngine's ``BaseDataset`` resolves it
    (``_join_prefix``): joined to ``data_root`` when relative and
    ``data_root`` is set, as given otherwise. None for an empty prefix
    (the ``data_root`` itself, or the current directory), a value that is
    not a string (MMEngine's TypeError), or a URL."""
    if not isinstance(prefix, str) or not prefix or '://' in prefix:
        return None
    if not os.path.isabs(prefix) and data_root:
        return None if '://' in data_root else os.path.join(data_root,
                                                            prefix)
    return prefix


def annotation_path(node: dict) -> Optional[str]:
    """The annotation file a dataset config ``node`` reads: its
    ``ann_file`` joined to its ``data_root`` when relative, as MMEngine's
    datasets do, a leading ``~`` expanded, as mmpretrain's (ImageList)
    do; None without one, or for a URL (:func:`local_file`)."""
    root, ann = node.get('data_root'), node.get('ann_file')
    root = root if isinstance(root, str) else ''
    if not isinstance(ann, str) or not ann or '://' in root:
        return None
    ann = local_file(ann)
    return None if ann is None else os.path.join(root, ann)


#: model keys (at any depth) that say where a model's initial weights come
#: from, not what the model is: a checkpoint loaded strictly replaces every
#: weight they would give (HLSS heads' ``embeddings_file``: the text rows
#: ``make_attribute_embeddings.py`` exports to skip the text tower)
INITIAL_WEIGHT_KEYS = frozenset(('init_cfg', 'pretrained', 'checkpoint',
                                 'embeddings_file'))


def init_overrides(entry: dict) -> List[Tuple[str, Any, Optional[dict]]]:
    """The ``override`` of an ``init_cfg`` entry as MMEngine's
    ``initialize`` reads it (``mmengine/model/weight_init.py``): ``(key,
    item, built)`` of each item (``key``: ``override``, or
    ``override.<i>`` in a list), ``built`` the initializer config MMEngine
    builds for the attribute ``item['name']`` of the entry's module: the
    item without its ``name``, or, for an item of its ``name`` alone, the
    entry's own config without ``override`` and ``layer``. ``built`` is
    None where MMEngine refuses the item (no dict, no ``name``, other keys
    without ``type``), and for an ``override`` that is neither a dict nor
    a list (a tuple too): one item, the whole value. ``[]`` without one."""
    override = entry.get('override')
    if override is None:
        return []
    if isinstance(override, dict):
        items = [('override', override)]
    elif isinstance(override, list):
        items = [(f'override.{i}', item) for i, item in enumerate(override)]
    else:
        return [('override', override, None)]
    found = []
    for key, item in items:
        built = None
        if isinstance(item, dict) and item.get('name') is not None:
            built = {k: v for k, v in item.items() if k != 'name'}
            if not built:
                built = {k: v for k, v in entry.items()
                         if k not in ('override', 'layer')}
            elif 'type' not in built:
                built = None
        found.append((key, item, built))
    return found


def is_pretrained_init(entry: Any) -> bool:
    """Whether an ``init_cfg`` entry (or an override's built one) loads a
    file: MMEngine's ``Pretrained``."""
    return isinstance(entry, dict) and type_name(entry.get('type')) in (
        'Pretrained', 'PretrainedInit')


def pretrained_init_files(model: Any, key: str = 'model'
                          ) -> Iterator[Tuple[str, Any]]:
    """``(key, checkpoint)`` of each ``Pretrained`` ``init_cfg`` entry in
    the model config ``model``, and of each ``Pretrained`` item of an
    entry's ``override`` (:func:`init_overrides`), read from the config
    (torch-free) and keyed as the run's check names them
    (:meth:`~openselfsup.engine.runner.AtomicRunner.
    _check_pretrained_inits`): ``model.backbone.init_cfg`` for an entry
    (of a list too), ``model.head.init_cfg[.<i>].override[.<j>]`` for an
    override's item."""
    if isinstance(model, (list, tuple)):
        for i, value in enumerate(model):
            yield from pretrained_init_files(value, f'{key}.{i}')
        return
    if not isinstance(model, dict):
        return
    for name, value in model.items():
        if name != 'init_cfg':
            yield from pretrained_init_files(value, f'{key}.{name}')
            continue
        entries = [value] if isinstance(value, dict) else \
            value if isinstance(value, (list, tuple)) else []
        for i, entry in enumerate(entries):
            if is_pretrained_init(entry):
                yield f'{key}.init_cfg', entry.get('checkpoint')
            if not isinstance(entry, dict):
                continue
            at = f'{key}.init_cfg' if isinstance(value, dict) else \
                f'{key}.init_cfg.{i}'
            for where, _, built in init_overrides(entry):
                if is_pretrained_init(built):
                    yield f'{at}.{where}', built.get('checkpoint')


#: the open_clip file both HLSS towers read (``pretrained``)
_CLIP_FILE = ('the open_clip weights of its model_name (as published: '
              "open_clip's RN50-quickgelu CC12M checkpoint, "
              'rn50-quickgelu-cc12m-f000538c.pt)')
#: a backbone's task-trained weights (``checkpoint``, read by
#: :func:`~openselfsup.models.backbones.pretrained.read_weights`)
_RANDOM = 'put the file there, or --cfg-options {key}=None for a random ' \
    'initialisation'
#: the weights files and folders a model component reads when it is built,
#: by its type: ``(parameter, 'file' or 'folder', what it is called
#: ({model_name}: the component's), the key it has in the shipped configs,
#: what it should be, the way out ({key}: its key))``;
#: :func:`model_file_problem` words one that is not there, both for the
#: component when it is built and for :func:`check_model_files`, which
#: looks for them before a run is built (only text encoders read folders)
MODEL_FILES = {
    'OpenCLIPImageTower': ('pretrained', 'file', 'open_clip checkpoint',
                           'model.backbone.pretrained', _CLIP_FILE,
                           _RANDOM),
    'OpenCLIPText': ('pretrained', 'file', 'open_clip checkpoint',
                     'model.text_encoder.pretrained', _CLIP_FILE, _RANDOM),
    'SentenceTransformerText': (
        'path', 'folder', 'text encoder folder', 'model.text_encoder.path',
        'a local sentence-transformers model folder (as the balance '
        'configs: roberta-base-nli-stsb-mean-tokens, 768-d)',
        'put the folder there, or --cfg-options {key}=None for the bundled '
        '384-d all-MiniLM-L6-v2 (with model.projection=text where the '
        "model's other side is not 384-d)"),
    'HFMeanPoolText': ('path', 'folder', 'text encoder folder',
                       'model.text_encoder.path',
                       'a local Hugging Face model folder (config.json, '
                       'weights, tokenizer)', 'put the folder there'),
    'LocalGlobalHIPT': ('checkpoint', 'file', 'weights of LocalGlobalHIPT',
                        'model.backbone.checkpoint',
                        "HIPT's LocalGlobalRegressionHIPT state dict",
                        _RANDOM),
    'TimmVisionTransformer': ('checkpoint', 'file',
                              'weights of {model_name}',
                              'model.backbone.checkpoint',
                              'a timm ViT state dict of its model_name',
                              _RANDOM),
}


#: the ViT ``TimmVisionTransformer`` builds without a ``model_name``
TIMM_VIT_DEFAULT = 'vit_base_patch16_224'


def model_file_problem(kind: str, path: Any, key: Optional[str] = None,
                       model_name: Optional[str] = None) -> Optional[str]:
    """The line of a weights file or folder (:data:`MODEL_FILES`) that the
    component of type ``kind`` reads and that is not at ``path``, or None
    where it is there: a folder that is a file (``text encoder path is not
    a directory``), else a path not there (the path, the config ``key``,
    default the shipped configs', what the file should be, the way out,
    and where a relative path is looked for). A file's path that is a
    folder is left to the component, which says what it reads there.
    ``model_name``: the component's, where the table's name holds it."""
    _, form, name, usual, should, way = MODEL_FILES[kind]
    path = os.fspath(path)
    if os.path.isfile(path) if form == 'file' else os.path.isdir(path):
        return None
    if form == 'file' and os.path.isdir(path):
        return None
    if os.path.exists(path):
        return f'{path}: text encoder path is not a directory'
    key = key or usual
    name = name.format(model_name=model_name or TIMM_VIT_DEFAULT)
    return with_missing_note(
        f'{path}: {name} not found', path,
        f'{key}: {should}; {way.format(key=key)}')


def heads_needing_text(heads: Dict[str, Any]) -> List[str]:
    """The keys of ``heads`` (``{name: head config}``: an HLSS model's
    level heads, or its one shared head) whose ``TextInitHead`` embeds its
    attribute sentences with the model's ``text_encoder``: one without an
    ``embeddings_file`` and without an ``encoder`` of its own. The one rule
    by which :class:`~openselfsup.models.algorithms.HLSS` builds its text
    tower and :func:`check_model_files` looks for the tower's weights."""
    return [k for k, cfg in heads.items()
            if isinstance(cfg, dict)
            and type_name(cfg.get('type')) == 'TextInitHead'
            and not cfg.get('embeddings_file')
            and cfg.get('encoder') is None]


#: the model types whose ``text_encoder`` serves their ``heads``'
#: ``TextInitHead`` alone, and is built only where one needs it
#: (:func:`heads_needing_text`): HLSS's
TEXT_HEAD_MODELS = ('HLSS',)


def _unbuilt_text_encoders(model: Any, key: str) -> List[str]:
    """The dotted keys of the text encoders under ``model`` that are never
    built, so whose weights are not read: an HLSS model's ``text_encoder``
    where no head needs it (:func:`heads_needing_text`: every
    ``TextInitHead`` reads an ``embeddings_file``, the
    ``tools/make_attribute_embeddings.py`` workflow), and the ``encoder``
    of a head that reads an ``embeddings_file`` (the file wins). Of the
    model types of :data:`TEXT_HEAD_MODELS` alone: another model with
    ``heads`` and a ``text_encoder`` (a user's) builds it by its own
    rule, and its missing weights were not looked for."""
    unbuilt = []
    for where, node in config_dicts(model, key):
        heads = node.get('heads')
        if not isinstance(heads, dict) or \
                type_name(node.get('type')) not in TEXT_HEAD_MODELS:
            continue
        named = ({f'{where}.heads': heads} if 'type' in heads else
                 {f'{where}.heads.{k}': v for k, v in heads.items()})
        if not heads_needing_text(named):
            unbuilt.append(f'{where}.text_encoder')
        unbuilt += [f'{at}.encoder' for at, head in named.items()
                    if isinstance(head, dict) and head.get('embeddings_file')]
    return unbuilt


def check_model_files(model: Any, key: str = 'model') -> None:
    """Refuse, torch-free, the model config ``model`` (at ``key``) whose
    components read a weights file or folder (:data:`MODEL_FILES`) that
    is not there, before the run is built: found when the component was
    built, after MMEngine had logged its environment and config (some
    300 lines) and, where the image tower had none, a warning that both
    open_clip towers start at random. A path None or empty is no file
    (random weights, or the bundled text encoder), and a text encoder
    that is never built is not looked for (:func:`_unbuilt_text_encoders`).

    Raises:
        InputError: :func:`model_file_problem`'s line, naming the key.
    """
    unbuilt = _unbuilt_text_encoders(model, key)
    for where, node in config_dicts(model, key):
        kind = type_name(node.get('type'))
        if kind not in MODEL_FILES or any(
                where == u or where.startswith(u + '.') for u in unbuilt):
            continue
        param = MODEL_FILES[kind][0]
        path = node.get(param)
        if not isinstance(path, (str, os.PathLike)) or not str(path):
            continue
        problem = model_file_problem(kind, path, f'{where}.{param}',
                                     node.get('model_name'))
        if problem:
            raise InputError(problem)


def check_pretrained_file(key: str, path: Any) -> None:
    """Refuse, torch-free, the file of the ``Pretrained`` ``init_cfg``
    ``key`` (:func:`pretrained_init_files`) that ``torch.load`` cannot
    read as a checkpoint (:func:`~openselfsup.utils.checkpoint_files.
    check_loadable`: missing, empty, cut short, no checkpoint; or
    ``torch.load`` refuses every file: :func:`~openselfsup.utils.
    checkpoint_files.weights_only_opted_out`, a URL's too), in the line
    the run's check says it in; a URL's file (MMEngine downloads it) and
    a path that is no string are not judged. The launchers' check
    (:func:`~openselfsup.apis.train.check_launch`) and the run's
    (:meth:`~openselfsup.engine.runner.AtomicRunner.
    _check_pretrained_inits`) call it: it passed the launchers' check and
    the run refused it.

    Raises:
        InputError: ``<key> (Pretrained, <path>): <path>: <what it is>``.
    """
    from .utils.checkpoint_files import (check_loadable,
                                         weights_only_opted_out)
    local = local_file(path) if isinstance(path, str) else None
    try:
        if isinstance(path, str) and path:
            # both of torch's variables: torch.load refuses every file, a
            # URL's download too (refused for a load_from URL alone)
            weights_only_opted_out()
        if local is not None:
            check_loadable(local)
    except InputError as exc:
        raise InputError(f'{pretrained_head(key, path)}: {exc}') from None


def pretrained_head(key: str, path: Any) -> str:
    """How a refusal names the ``Pretrained`` ``init_cfg`` ``key`` and
    its file ``path``."""
    return f'{key} (Pretrained, {path})'


def without_initial_weights(node: Any) -> Any:
    """``node`` (a plain config section, e.g. ``cfg.model.to_dict()``)
    without the keys of :data:`INITIAL_WEIGHT_KEYS`, at any depth: the
    model a checkpoint's weights fill, whatever its config says it would
    have started from."""
    if isinstance(node, dict):
        return {k: without_initial_weights(v) for k, v in node.items()
                if k not in INITIAL_WEIGHT_KEYS}
    if type(node) in (list, tuple):
        return type(node)(without_initial_weights(v) for v in node)
    return node


def model_settings_sha1(model: Any, weights_loaded: bool,
                        paths: bool = True, present: bool = True) -> str:
    """SHA-1 of a resolved config's ``model`` section (a plain dict, as
    ``cfg.model.to_dict()``; :func:`~openselfsup.utils.config_sha1`): the
    model as it is built, wherever its config file lies and whichever
    ``--cfg-options`` spelt it. Where a checkpoint's weights fill it
    (``weights_loaded``), without what names its initial weights
    (:func:`without_initial_weights`): those are replaced, the model the
    same. Without ``paths``, the attribute files of the section's
    ``TextInitHead`` s by :data:`NAMED_FILE`, not by where they lie
    (:func:`without_file_paths`: the HLSS attribute files, named by
    absolute paths into the checkout): for a record that holds what they
    hold apart (``knn_eval.py``'s ``model_files_sha1``), or whose
    checkpoint's weights replace the text rows they initialise; a section
    that names none has the same SHA-1 either way. ``present``: as
    :func:`attribute_files` (False: a record's section, whose files may
    lie elsewhere now)."""
    from .utils import config_sha1
    section = without_initial_weights(model) if weights_loaded else model
    return config_sha1(section if paths else
                       without_file_paths(section, 'model', present),
                       'model')


def model_settings(model: Any, weights_loaded: bool) -> Dict[str, Any]:
    """The settings of a resolved config's ``model`` section whose SHA-1
    :func:`model_settings_sha1` gives (without what names its initial
    weights where a checkpoint's weights fill it), key by key, as a
    record holds them (:func:`flat_settings`: ``model.backbone.depth``):
    where two SHA-1s differ, which key does (:func:`first_difference`).

    Raises:
        InputError: a value without a fingerprint, its dotted key named.
    """
    return flat_settings(without_initial_weights(model) if weights_loaded
                         else model, 'model')


#: the arguments that name a file a component writes, not one it reads
#: (MMEngine's ``ProfilerHook`` chrome trace, its ``DumpResults``
#: pickle): not what a result depends on (:func:`named_file_digests`
#: leaves them out; the path itself is a setting). A run writes it over:
#: a lambda sweep then stopped at its next run, as if the user had
#: changed a file it names, and a ``--resume`` refused its runs as made
#: with other settings
WRITTEN_FILE_ARGUMENTS = ('json_trace_path', 'out_file_path')

#: the arguments of a ``model`` section's parts that the builds open as a
#: file or folder: a ``TextInitHead``'s ``attributes`` and
#: ``embeddings_file``, an open_clip tower's and a backbone's
#: ``pretrained``, a timm or HIPT backbone's and a ``Pretrained``
#: ``init_cfg``'s ``checkpoint``, a text encoder's model folder ``path``
#: (:data:`MODEL_FILES`); and mmpretrain's, which a ``type`` resolves to
#: too: ``TIMMBackbone``'s ``checkpoint_path``, ``CLIPGenerator``'s
#: ``tokenizer_path``, ``VQAGenerationHead``'s ``answer_list_path``. Any
#: other value of that section is a setting, wherever the current
#: directory holds a file of its name (:func:`reads_a_file`)
MODEL_FILE_ARGUMENTS = ('attributes', 'embeddings_file', 'pretrained',
                        'checkpoint', 'path', 'checkpoint_path',
                        'tokenizer_path', 'answer_list_path')


def reads_a_file(where: str) -> bool:
    """Whether a local file the dotted config key ``where`` names is one
    a result depends on by its contents (:func:`named_files`): below
    ``model``, only one of :data:`MODEL_FILE_ARGUMENTS` (a
    ``model_name`` ``RN50-quickgelu`` or a ``style`` ``caffe`` naming a
    file of the current directory was digested, and the same model
    evaluated from another folder recorded other file digests); elsewhere
    every one (an ``ann_file``, ``load_from``). The one rule of which
    model values name files, for digests recorded before it too
    (:func:`files_read`)."""
    return not key_below(where, ('model', )) or \
        where.rsplit('.', 1)[-1] in MODEL_FILE_ARGUMENTS


def files_read(digests: Any) -> Any:
    """A record's ``{dotted key: digest}`` of the files its config named
    (:func:`named_file_digests`) less those :func:`reads_a_file` leaves
    out (a ``model_name`` digested where a file of its name lay, by the
    code before the rule): what both sides record, compared as one;
    ``digests`` itself where it is no dict."""
    if not isinstance(digests, dict):
        return digests
    return {k: v for k, v in digests.items() if reads_a_file(k)}


def named_file_digests(node: Any, key: str = '', digest=file_sha1,
                       skip: Sequence[str] = ()) -> Dict[str, str]:
    """``{dotted key: digest(path)}`` of every local file a config section
    ``node`` (a plain dict, as ``cfg.to_dict()``; at ``key``) names: a
    string value that is the path of a file (:func:`local_file`: relative
    to the current directory), an ``ann_file`` joined to its
    ``data_root`` (:func:`annotation_path`), but the keys ``skip`` and
    those below them. What a config's result depends on beyond its
    settings: a start checkpoint (``load_from``,
    ``model.backbone.checkpoint``), an ``embeddings_file``, the annotation
    lists, by their contents (``digest``, default
    :func:`~openselfsup.utils.file_sha1`): another file at the same path,
    or the same relative path from another directory, is another setting.
    A folder counts by its path here (a data folder's files count apart,
    by :func:`data_folder_digests`), but the
    ``path`` of a part of the ``model`` section (a text encoder's model
    folder, ``model.text_encoder.path``), which counts by its files'
    contents (:func:`~.utils.fingerprint.folder_sha1`); a URL, a missing
    file, a file a component writes (:data:`WRITTEN_FILE_ARGUMENTS`) and
    a ``model`` value the builds do not open as a file
    (:func:`reads_a_file`: a ``model_name`` naming a file here) are not
    in it.
    """
    return {where: digest(path) if os.path.isfile(path) else
            folder_sha1(path, digest)
            for where, path in named_files(node, key, skip).items()}


def named_files(node: Any, key: str = '', skip: Sequence[str] = ()
                ) -> Dict[str, str]:
    """``{dotted key: path}`` of each local file, and each folder that
    counts by its files (:func:`counts_a_folder`), that the config section
    ``node`` (at ``key``) names: those :func:`named_file_digests` digests,
    as it finds them (the one rule of which values name local files; in
    the ``model`` section, the arguments the builds open as files,
    :func:`reads_a_file`)."""
    out = {}
    for at, section in config_dicts(node, key):
        for name, value in section.items():
            where = f'{at}.{name}' if at else str(name)
            if not isinstance(value, str) or key_below(where, skip) or \
                    name in WRITTEN_FILE_ARGUMENTS or \
                    not reads_a_file(where):
                continue
            path = annotation_path(section) if name == 'ann_file' else \
                local_file(value)
            if path and (os.path.isfile(path) or (
                    counts_a_folder(where) and os.path.isdir(path))):
                out[where] = path
    return out


def attribute_files(node: Any, key: str = '', present: bool = True
                    ) -> Dict[str, str]:
    """``{dotted key: path}`` of the ``attributes`` of each
    ``TextInitHead`` of the config section ``node`` (at ``key``) that
    names a local file (:func:`named_files`): the HLSS attribute files,
    named by absolute paths into the checkout, and the only values a
    location-free fingerprint of a model section
    (:func:`model_settings_sha1` without ``paths``) gives by a mark, not
    by where they lie. Their contents count apart at initialisation
    (every local file's SHA-1, :func:`named_file_digests`:
    ``knn_eval.py``'s ``model_files_sha1``), and a checkpoint's weights
    replace the text rows they initialise (the head's ``text`` buffer and
    ``linear``, as they replace an ``embeddings_file``'s, an
    :data:`INITIAL_WEIGHT_KEYS` key: :func:`~openselfsup.models.
    open_clip.without_clip_weights` builds the heads with a stand-in
    encoder for that reason). No other value: an ``embeddings_file`` or a
    ``pretrained`` checkpoint keeps its path at initialisation, as
    before, and a value that names a file only where the current
    directory holds one of its name (a ``model_name`` ``RN50``, a
    ``style`` ``caffe``) is no file argument (by a mark, two settings were
    one model). ``present`` False: each such head's ``attributes`` that
    names a local path (:func:`local_file`), whether a file lies there
    now or not: the section a result recorded (``knn_summary.py``), its
    checkout moved or deleted since (the head read its file when it was
    built)."""
    heads = {f'{at}.attributes' if at else 'attributes': section.get(
        'attributes') for at, section in config_dicts(node, key)
        if type_name(section.get('type')) == 'TextInitHead'}
    if not present:
        return {where: local_file(value) for where, value in heads.items()
                if isinstance(value, str) and value and local_file(value)}
    return {where: path for where, path in named_files(node, key).items()
            if where in heads}


#: what a location-free fingerprint of a model section
#: (:func:`model_settings_sha1` without ``paths``) holds in place of the
#: path of a ``TextInitHead``'s attribute file (:func:`attribute_files`)
NAMED_FILE = '<a local file, by its contents>'


def without_file_paths(node: Any, key: str = '', present: bool = True
                       ) -> Any:
    """``node`` (a plain config section, at ``key``) with the value of
    each attribute file of its ``TextInitHead`` s
    (:func:`attribute_files`) given as :data:`NAMED_FILE`: the section the
    same wherever its checkout, or those files, lie (a path relative to
    the current directory too); ``node`` itself where it names none.
    ``present``: as :func:`attribute_files`."""
    return with_file_values(node, key, lambda at, value: NAMED_FILE,
                            present)


def with_file_values(node: Any, key: str,
                     value_of: Callable[[str, Any], Any],
                     present: bool = True) -> Any:
    """``node`` (a plain config section, at ``key``) with the value of
    each attribute file of its ``TextInitHead`` s
    (:func:`attribute_files`) given as ``value_of(dotted key, value)``,
    lists and tuples as lists (as JSON holds them); ``node`` itself where
    it names none. ``present``: as :func:`attribute_files`."""
    named = attribute_files(node, key, present)
    if not named:
        return node

    def marked(value, at):
        if at in named:
            return value_of(at, value)
        if isinstance(value, dict):
            return {k: marked(v, f'{at}.{k}' if at else str(k))
                    for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [marked(v, f'{at}.{i}' if at else str(i))
                    for i, v in enumerate(value)]
        return value
    return marked(node, key)


def data_folders(node: Any, key: str = '', skip: Sequence[str] = ()
                 ) -> Dict[str, str]:
    """``{dotted key: folder}`` of the local data folders the datasets of
    a config section ``node`` (a plain dict, as ``cfg.to_dict()``; at
    ``key``) read their samples from: each ``data_prefix`` value (a path,
    or a dict of them: ``data_prefix.img_path``) joined to the dataset's
    ``data_root`` where relative, as MMEngine's datasets join them
    (:func:`prefix_folder`), else
    the ``data_root`` itself; folders that exist only, but the keys
    ``skip`` and those below them. The folders whose files
    (:func:`data_folder_digests`) a result depends on beside the files
    :func:`named_file_digests` reads whole."""
    out = {}
    for at, section in config_dicts(node, key):
        raw = section.get('data_root')
        raw = raw if isinstance(raw, str) else ''
        root = local_file(raw)  # None for a URL
        prefix = section.get('data_prefix')
        named = ({'data_prefix': prefix} if isinstance(prefix, str) else
                 {f'data_prefix.{k}': v for k, v in prefix.items()
                  if isinstance(v, str)} if isinstance(prefix, dict) else {})
        found = {}
        for name, value in named.items():
            path = prefix_folder(local_file(value),
                                 raw if root is None else root)
            if path and os.path.isdir(path):
                found[name] = path
        if not found and root and os.path.isdir(root):
            found['data_root'] = root
        for name, path in found.items():
            where = f'{at}.{name}' if at else name
            if not key_below(where, skip):
                out[where] = path
    return out


def data_folder_digests(folders: Dict[str, str]) -> Dict[str, Optional[str]]:
    """``{dotted key: digest}`` of each data folder of ``folders``
    (:func:`data_folders`): its listing and a sample of its files
    (:func:`~.utils.fingerprint.data_folder_sha1`; None where a sampled
    file cannot be read), each folder read once (a config's training,
    validation and test sets name the same one)."""
    read: Dict[str, Optional[str]] = {}
    out = {}
    for where, path in folders.items():
        real = os.path.realpath(path)
        if real not in read:
            read[real] = data_folder_sha1(path)
        out[where] = read[real]
    return out

def recorded_settings(node: Any, key: str = '', skip: Sequence[str] = (),
                      digest=file_sha1) -> Tuple[Dict[str, Any],
                                                 Dict[str, str]]:
    """What a result depends on in the config section ``node`` (a plain
    dict, as ``cfg.to_dict()``; at ``key``), as a record holds it to
    compare with a later run key by key: ``{dotted key: value}`` of every
    leaf (:func:`flat_config`; each value as JSON reads it back, a tuple a
    list: :func:`~openselfsup.utils.plain_value`) and ``{dotted key:
    digest}`` of the local files it names (:func:`named_file_digests`),
    but the keys ``skip`` and those below them. The lambda sweep's run
    records and the kNN results' settings.

    Raises:
        InputError: a value without a fingerprint, its dotted key named.
    """
    return (flat_settings(node, key, skip),
            named_file_digests(node, key, digest=digest, skip=skip))


def flat_settings(node: Any, key: str = '', skip: Sequence[str] = ()
                  ) -> Dict[str, Any]:
    """``{dotted key: value}`` of every leaf of the config section ``node``
    (at ``key``; :func:`flat_config`), but the keys ``skip`` and those
    below them, each value as JSON reads it back (a tuple a list; what
    JSON cannot hold, :func:`~openselfsup.utils.plain_value`): the values
    part of :func:`recorded_settings`, as a record holds them.

    Raises:
        InputError: a value without a fingerprint, its dotted key named.
    """
    import json

    from .utils import plain_value
    from .utils.io import json_text
    prefix = f'{key}.' if key else ''
    values = {f'{prefix}{k}': plain_value(v, f'{prefix}{k}')
              for k, v in flat_config(node).items()
              if not key_below(f'{prefix}{k}', skip)}
    return json.loads(json_text(values))


def unflat_settings(flat: Dict[str, Any], key: str) -> Any:
    """The config section at ``key`` whose :func:`flat_settings` a record
    holds (``flat``, its keys below ``key``), as nested dicts, a dict
    whose keys are ``'0'`` to ``'n-1'`` a list; None where ``flat`` holds
    none or gives one key both a value and keys below it. Not exact: an
    empty dict or list has no leaf, an int key is read back a str: a
    caller checks the section against a SHA-1 the record holds of it
    (:func:`~openselfsup.apis.knn.located_model_sha1`)."""
    prefix = f'{key}.'
    root: Dict[str, Any] = {}
    for dotted, value in flat.items():
        if not dotted.startswith(prefix):
            continue
        *parents, last = dotted[len(prefix):].split('.')
        node = root
        for name in parents:
            node = node.setdefault(name, {})
            if not isinstance(node, dict):
                return None
        if isinstance(node.get(last), dict):
            return None
        node[last] = value

    def listed(node):
        if not isinstance(node, dict):
            return node
        items = {k: listed(v) for k, v in node.items()}
        if items and sorted(items) == sorted(map(str, range(len(items)))):
            return [items[str(i)] for i in range(len(items))]
        return items
    return listed(root) if root else None



def pipeline_image_size(pipeline: Any, key: str
                        ) -> Optional[Tuple[str, Tuple[int, int], str]]:
    """``(dotted key of the size argument, (w, h), the argument's order
    'wh' or 'hw')`` of the last transform of ``pipeline`` (at ``key``) that
    sets the image size (a crop or a resize, nested view pipelines
    included), or None."""
    found = None
    for where, node in config_dicts(pipeline, key):
        arg, order = SIZE_ARGUMENTS.get(str(node.get('type')), (None, ''))
        size = node.get(arg) if arg else None
        if is_int(size):
            found = (f'{where}.{arg}', (size, size), order)
        elif isinstance(size, (list, tuple)) and len(size) == 2 and all(
                isinstance(v, int) and v > 0 for v in size):
            pair = (int(size[0]), int(size[1]))
            found = (f'{where}.{arg}', pair if order == 'wh' else pair[::-1],
                     order)
    return found


def sized_pipeline(pipeline: Any) -> Any:
    """``pipeline`` (plain dicts, nested pipelines included) with every
    size argument of :data:`SIZE_ARGUMENTS` given as one int ``n``
    written as the pair ``[n, n]`` its transform makes of it: ``scale=64``
    and ``scale=(64, 64)`` are one pipeline (a tuple and a list are one in
    :func:`~openselfsup.utils.config_sha1`)."""
    if isinstance(pipeline, dict):
        arg = SIZE_ARGUMENTS.get(str(pipeline.get('type')), (None, ''))[0]
        out = {k: sized_pipeline(v) for k, v in pipeline.items()}
        size = out.get(arg) if arg else None
        if is_int(size):
            out[arg] = [size, size]
        return out
    if isinstance(pipeline, (list, tuple)):
        return [sized_pipeline(v) for v in pipeline]
    return pipeline


#: what :func:`_literal` gives for a part of a config text that is not
#: data (a name, a call other than ``dict``)
UNREADABLE = type('Unreadable', (), {'__repr__': lambda self: '<code>'})()


def _literal(node: ast.AST) -> Any:
    """The value of a config-text expression made of literals, lists,
    tuples, dicts and ``dict(...)`` calls; any other part (a name, a call)
    is :data:`UNREADABLE`. Nothing in the text is executed."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id == 'dict' and not node.args:
        return {kw.arg: _literal(kw.value) for kw in node.keywords
                if kw.arg is not None}
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_literal(e) for e in node.elts]
        return items if isinstance(node, ast.List) else tuple(items)
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v) for k, v in zip(node.keys,
                                                         node.values)
                if k is not None}
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):
        return UNREADABLE


@functools.lru_cache(maxsize=4)
def _text_assignments(text: str) -> Optional[Dict[str, ast.expr]]:
    """``{name: expression}`` of the top-level ``name = ...`` statements
    of a Python config's text (the first of each name), parsed once per
    text: a resume reads some eight sections of its checkpoint's config
    text (:func:`config_text_section`), and each parsed the whole text.
    The last few texts are kept; the expressions are never handed out,
    each read builds new values from them. None where the text does not
    parse."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return None
    found = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, stmt.value)
    return found


def _assigned_names(stmt: ast.stmt) -> List[str]:
    """The names a top-level statement of a config binds: ``x = ...``,
    ``x, y = ...`` (and ``[x, *rest] = ...``), ``x: int = ...`` and
    ``x += ...``; none for any other statement."""
    def names(target: ast.expr) -> List[str]:
        if isinstance(target, ast.Name):
            return [target.id]
        if isinstance(target, ast.Starred):
            return names(target.value)
        if isinstance(target, (ast.Tuple, ast.List)):
            return [n for item in target.elts for n in names(item)]
        return []
    if isinstance(stmt, ast.Assign):
        return [n for target in stmt.targets for n in names(target)]
    if isinstance(stmt, ast.AugAssign) or (
            isinstance(stmt, ast.AnnAssign) and stmt.value is not None):
        return names(stmt.target)
    return []


def config_text_section(text: str, name: str) -> Any:
    """The top-level ``name = ...`` of a Python config's text, read as
    data (:func:`_literal`): a checkpoint's ``meta['cfg']`` comes with the
    file, and executing it, as ``Config.fromstring`` would, could run any
    code a downloaded checkpoint holds. The text is parsed once
    (:func:`_text_assignments`); each call returns new values, which a
    caller may change without changing what the next call reads."""
    found = _text_assignments(text)
    if found is None or name not in found:
        return None
    try:
        return _literal(found[name])
    except RecursionError:
        return None


def trained_dataset(cfg_text: Any) -> Optional[dict]:
    """``train_dataloader.dataset`` of a config (a ``Config`` or the text
    MMEngine keeps in a checkpoint's ``meta['cfg']``, read as data, never
    executed), or None."""
    if isinstance(cfg_text, str):
        cfg_text = {'train_dataloader': config_text_section(
            cfg_text, 'train_dataloader')}
    loader = cfg_text.get('train_dataloader') if isinstance(
        cfg_text, (dict, Config)) else None
    dataset = loader.get('dataset') if isinstance(loader, dict) else None
    return dataset if isinstance(dataset, dict) else None


#: MMEngine's dataset wrappers that keep every item of what they wrap
#: (repeated, over-sampled or joined): ``{type name: the key of the
#: wrapped dataset}`` (``datasets``: a list of them)
DATASET_WRAPPERS = {'RepeatDataset': 'dataset',
                    'ClassBalancedDataset': 'dataset',
                    'ConcatDataset': 'datasets'}


def dataset_parts(dataset: Any, key: str = 'train_dataloader.dataset',
                  leaf: Optional[Callable[[str, Any], Any]] = None,
                  wrapper: Optional[Callable[[dict, List[Any]], Any]] = None
                  ) -> Any:
    """``(dotted key, config)`` of each dataset a dataset config (plain
    data, as :func:`trained_dataset` reads it; at ``key``) reads its items
    from, through the wrappers of :data:`DATASET_WRAPPERS`, in order: a
    ``RepeatDataset`` of ``A`` is ``A``, a ``ConcatDataset`` of ``A`` and
    ``B`` is both (``<key>.datasets.0``, ``<key>.datasets.1``). A part that
    is no dict (code: :data:`UNREADABLE`), or a wrapper without its
    datasets, is given as read, for the caller to name.

    With ``leaf`` and ``wrapper``, the same walk folded: ``leaf(key,
    part)`` of each part, and ``wrapper(config, results)`` of each wrapper
    with the results of what it wraps (one for a ``dataset``, one per item
    of ``datasets``), the whole dataset's result returned (what the
    wrappers make of their parts: :func:`~openselfsup.apis.train.
    check_listed_batch` counts the samples so)."""
    if leaf is None:
        return dataset_parts(dataset, key, lambda k, d: [(k, d)],
                             lambda _, inner: [p for x in inner for p in x])
    inner = DATASET_WRAPPERS.get(type_name(dataset.get('type'))) \
        if isinstance(dataset, dict) else None
    if inner is None:
        return leaf(key, dataset)
    wrapped = dataset.get(inner)
    if inner == 'dataset':
        return wrapper(dataset, [dataset_parts(wrapped, f'{key}.dataset',
                                               leaf, wrapper)])
    if not isinstance(wrapped, (list, tuple)) or not wrapped:
        return leaf(f'{key}.datasets', wrapped)
    return wrapper(dataset, [
        dataset_parts(d, f'{key}.datasets.{i}', leaf, wrapper)
        for i, d in enumerate(wrapped)])


def trained_image_size(cfg_text: Any, source: Optional[str] = None
                       ) -> Optional[Tuple[int, int]]:
    """``(w, h)`` of the training images of a config (a ``Config`` or the
    text MMEngine keeps in a checkpoint's ``meta['cfg']``, read as data,
    never executed), or None. Read through MMEngine's dataset wrappers
    (:func:`dataset_parts`): a ``RepeatDataset`` or ``ClassBalancedDataset``
    of a dataset is its size, a ``ConcatDataset`` the size every part
    reads. None where a part gives no size (no resize or crop read as data,
    as for a plain dataset), and where the parts read other sizes: the
    encoder learned at several, none of them is its size; that one says
    so in a warning line, prefixed with ``source`` (a checkpoint's path),
    where given."""
    dataset = trained_dataset(cfg_text)
    if dataset is None:
        return None
    sizes = {}
    for key, part in dataset_parts(dataset):
        found = pipeline_image_size(part.get('pipeline') or [],
                                    f'{key}.pipeline') \
            if isinstance(part, dict) else None
        if found is None:
            return None
        sizes[found[0]] = found[1]
    if len(set(sizes.values())) > 1:
        if source is not None:
            from mmengine.logging import print_log
            said = ', '.join(f'{k} = {w} x {h}'
                             for k, (w, h) in sizes.items())
            print_log(f'{source}: the parts of its training dataset read '
                      f'images of other sizes (w x h: {said}); the size of '
                      'the images given to it is not checked',
                      logger='current', level=logging.WARNING)
        return None
    return next(iter(sizes.values()))


def trained_list_roots(cfg_text: Any
                       ) -> Optional[Tuple[Tuple[str, str], ...]]:
    """``(list, data_root)`` of each training list (``ann_file``) of a
    config (a ``Config`` or the text MMEngine keeps in a checkpoint's
    ``meta['cfg']``, read as data, never executed), through MMEngine's
    dataset wrappers (:func:`dataset_parts`): the one list of a dataset or
    of a ``RepeatDataset`` / ``ClassBalancedDataset`` of it, each part's
    of a ``ConcatDataset``, in order, each pair once, with the
    ``data_root`` its part reads it from (``''`` where none: the list's
    path as given). A pair, not a list's name, is one list: a
    ``ConcatDataset`` of ``data/MINE/meta/train.txt`` and
    ``data/NCT/meta/train.txt`` is two lists, which were kept as one
    under the first root (review r114: NCT's part was never read, and the
    encoder that saw every NCT class was resumed, extracted and loaded as
    a user's own). None where there is no training dataset, or a part has
    no list read as data (code, a dataset without ``ann_file``): the lists
    of some parts only would read as the whole set's
    (:func:`~openselfsup.classes.lists_held_out`)."""
    found = _trained_list_parts(cfg_text)
    return None if found is None else tuple(found)


def _trained_list_parts(cfg_text: Any
                        ) -> Optional[Dict[Tuple[str, str], List[Any]]]:
    """``{(list, data_root): [data_prefix, ...]}`` of each training list
    of a config, in order (:func:`trained_list_roots`): the
    ``data_prefix`` of every part that reads it, each once, in order
    (``''`` where a part sets none, as ``ImageList``): a
    ``ConcatDataset`` of one list under ``data_prefix='own'`` and under
    NCT's release folder read it under both, and NCT's part makes it
    NCT's (review r121: the first prefix alone was kept)."""
    dataset = trained_dataset(cfg_text)
    if dataset is None:
        return None
    found: Dict[Tuple[str, str], List[Any]] = {}
    for _, part in dataset_parts(dataset):
        ann_file = part.get('ann_file') if isinstance(part, dict) else None
        if not (isinstance(ann_file, str) and ann_file):
            return None
        root = part.get('data_root')
        kept = found.setdefault(
            (ann_file, root if isinstance(root, str) else ''), [])
        prefix = part.get('data_prefix', '')
        if prefix not in kept:
            kept.append(prefix)
    return found


def entries_folder(root: str, prefix: Any) -> Optional[str]:
    """The folder a dataset's list entries are read under, as MMEngine
    joins it (``BaseDataset._join_prefix``; ``ImageList.img_prefix``):
    its ``data_prefix`` (the ``img_path`` of a dict) joined to its
    ``data_root`` unless absolute; None where the prefix is no string."""
    if isinstance(prefix, dict):
        prefix = prefix.get('img_path')
    if not isinstance(prefix, str):
        return None
    prefix = os.path.expanduser(prefix)
    return prefix if os.path.isabs(prefix) or not root else \
        os.path.join(root, prefix)


def trained_lists(cfg_text: Any) -> Optional[Tuple[str, ...]]:
    """The training lists (``ann_file``) of a config, in order, one per
    list (:func:`trained_list_roots`, without their roots: a name twice
    where two roots read it); None as there."""
    found = trained_list_roots(cfg_text)
    return None if found is None else tuple(name for name, _ in found)


@functools.lru_cache(maxsize=None)
def _mmengine_class(module: str, name: str) -> Optional[ast.ClassDef]:
    """The class ``name`` of MMEngine's ``mmengine/runner/<module>.py``,
    parsed with ``ast`` from its source, not imported (``mmengine.runner``
    loads torch: 3-6 s); None where the source cannot be read."""
    import mmengine
    path = os.path.join(os.path.dirname(mmengine.__file__), 'runner',
                        f'{module}.py')
    try:
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read())
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    return next((node for node in tree.body if isinstance(node, ast.ClassDef)
                 and node.name == name), None)


def _runner_source_keys() -> Tuple[set, set]:
    """``(arguments of Runner.__init__, keys its methods read with
    self.cfg.get)`` of MMEngine's ``Runner``, read from its source file
    with ``ast``: importing ``mmengine.runner`` loads torch (3-6 s), so a
    mistyped top-level key would otherwise take that long to report. Falls
    back to importing the class (arguments only) where the source cannot be
    read."""
    node = _mmengine_class('runner', 'Runner')
    args, read = set(), set()
    for fn in node.body if node is not None else ():
        if isinstance(fn, ast.FunctionDef) and fn.name == '__init__':
            a = fn.args
            args = {x.arg for x in a.posonlyargs + a.args
                    + a.kwonlyargs} - {'self'}
    for call in ast.walk(node) if args else ():  # self.cfg.get('key', ...)
        f = getattr(call, 'func', None)
        if (isinstance(call, ast.Call) and call.args
                and isinstance(f, ast.Attribute) and f.attr == 'get'
                and isinstance(f.value, ast.Attribute)
                and f.value.attr == 'cfg'
                and isinstance(call.args[0], ast.Constant)
                and isinstance(call.args[0].value, str)):
            read.add(call.args[0].value)
    if args:
        return args, read
    import inspect

    from mmengine.runner import Runner
    return set(inspect.signature(Runner.__init__).parameters) - {'self'}, \
        set(_RUNNER_READS)


#: the keys MMEngine's Runner methods read with ``self.cfg.get`` (0.10):
#: :func:`_runner_source_keys` where its source cannot be read (they are
#: run settings: ``sync_bn`` changes a run's result, and a sweep compares
#: only the keys a run reads, :func:`config_variables`)
_RUNNER_READS = frozenset({'activation_checkpointing', 'compile',
                           'efficient_conv_bn_eval', 'find_unused_parameters',
                           'model_wrapper_cfg', 'sync_bn'})


@functools.lru_cache(maxsize=None)
def _runner_keys() -> frozenset:
    """Top-level config keys MMEngine's Runner reads (all optional): its
    arguments and what its methods read from the config (``compile``,
    ``find_unused_parameters``, ``sync_bn``...). Read once per process
    (parsing MMEngine's runner source takes about 20 ms)."""
    args, read = _runner_source_keys()
    # load_from_check: AtomicRunner's (False: MMEngine's loose load_from
    # and resume)
    return frozenset(args | read | {'runner_type', 'default_scope',
                                    'log_level', 'total_batch_size',
                                    'load_from_check'})


#: top-level keys the project's code reads from the config itself (not
#: only through the sections that used them when the file was read): run
#: settings, an extraction config's ``dataset``, a kNN or sweep section
PROJECT_KEYS = frozenset({'total_batch_size', 'amp', 'channels_last',
                          'augment_on', 'compile_views', 'prefetch_views',
                          'reuse_batch_memory', 'compile_encoders',
                          'dataset', 'knn_eval', 'sweep'})


def built_preprocessor(cfg: Any) -> Tuple[str, Any]:
    """``(dotted key, config)`` of the data preprocessor a run of the
    config ``cfg`` (a ``Config``, a dict, or the text of a checkpoint's
    ``meta['cfg']``, its two sections read as data:
    :func:`config_text_section`) builds, as
    MMEngine's ``Runner.__init__`` merges them (``model.setdefault(
    'data_preprocessor', data_preprocessor)`` where the top-level one is
    not None; mmpretrain's ``get_model`` alike): the model's own
    (``'model.data_preprocessor'``, None included) where the model has
    the key, else the top-level one (``'data_preprocessor'``: mmpretrain's
    own configs set it there only), else ``('model.data_preprocessor',
    None)`` (the model's class default). A reader of the preprocessor the
    run builds reads it here, not ``cfg.model.data_preprocessor`` alone;
    a writer writes ``model.data_preprocessor``, which the run reads
    first."""
    if isinstance(cfg, str):
        cfg = {name: config_text_section(cfg, name)
               for name in ('model', 'data_preprocessor')}
    model = cfg.get('model') if hasattr(cfg, 'get') else None
    top = cfg.get('data_preprocessor') if hasattr(cfg, 'get') else None
    if isinstance(model, dict) and 'data_preprocessor' not in model \
            and top is not None:
        return 'data_preprocessor', top
    return 'model.data_preprocessor', model.get('data_preprocessor') \
        if isinstance(model, dict) else None


def built_model(cfg: Any) -> Any:
    """The ``model`` section a run of ``cfg`` (as :func:`built_preprocessor`
    takes it) builds, as MMEngine's ``Runner.__init__`` merges a top-level
    ``data_preprocessor`` into a model without one: a plain dict, a copy
    (``cfg.model.to_dict()`` where the model has its own or none is at the
    top level: every shipped config, whose fingerprints are those of its
    model section as before), with the top-level preprocessor set where
    :func:`built_preprocessor` takes it; the model value itself where it
    is no dict. What ``extract.py`` and ``knn_eval.py`` build, fingerprint
    and compare with a checkpoint's training, as the training run built
    its model."""
    model = cfg.get('model') if hasattr(cfg, 'get') else None
    if isinstance(cfg, str):
        model = config_text_section(cfg, 'model')
    if not isinstance(model, dict):
        return model
    where, pre = built_preprocessor(cfg)
    model = _plain_copy(model)
    if where == 'data_preprocessor':
        model['data_preprocessor'] = _plain_copy(pre)
    return model


def key_where_set(cfg: Any, key: str) -> str:
    """The dotted ``key`` of the model a run of ``cfg`` builds
    (:func:`built_model`; ``model.data_preprocessor.mean``, as a record's
    ``model_settings`` and the comparisons of trainings name it) where
    ``cfg`` sets it, the key an option sets it by: a top-level-only data
    preprocessor's under ``data_preprocessor`` (:func:`built_preprocessor`:
    ``model.data_preprocessor.mean`` would give the model a preprocessor
    of that key alone, which wins over the top-level one, its type and
    std dropped); any other key as given."""
    own = 'model.data_preprocessor'
    if key_below(key, (own, )):
        return built_preprocessor(cfg)[0] + key[len(own):]
    return key


def _plain_copy(node: Any) -> Any:
    """A copy of a config section as plain dicts (``ConfigDict.to_dict``)."""
    to_dict = getattr(node, 'to_dict', None)
    return to_dict() if callable(to_dict) else copy.deepcopy(node)


def _live(cfg: Config, top: str) -> bool:
    """Whether a top-level key is read when the run is built (MMEngine's
    Runner or this project), not only a variable of the file: a top-level
    ``data_preprocessor`` is read only where the model has none
    (:func:`built_preprocessor`)."""
    if top == 'data_preprocessor':
        return built_preprocessor(cfg)[0] == 'data_preprocessor'
    if top == 'dataset':  # an extraction config's; elsewhere a variable
        return 'train_dataloader' not in cfg
    return top in PROJECT_KEYS or top in _runner_keys()


def config_variables(cfg: Config) -> List[str]:
    """The top-level names of a loaded config that no run reads
    (:func:`_live`): the file's own variables (``data_root``, ``lr = 0.1``
    used to build ``optim_wrapper``), whose values the sections that use
    them hold already, so that renaming or changing one changes nothing
    that runs. ``custom_imports`` is not one: MMEngine imports its modules
    as it reads the file, and they register the classes the config
    names."""
    return [k for k in cfg.keys()
            if k != 'custom_imports' and not _live(cfg, k)]


def _uses(cfg: Config, key: str, value: Any) -> List[str]:
    """Dotted keys below the top level of the sections a run reads
    (:func:`_live`) whose value is ``value``, or, for a string, starts with
    it as a path (``data_root + '/meta/x.txt'``): where a config variable
    may have been copied when the file was read, matched by value (a crop
    size of 64 matches channel widths of 64 too: :func:`_traced_uses` tells
    which keys a variable really set); the keys whose names resemble
    ``key`` first (:func:`_by_likeness`)."""
    def hit(leaf) -> bool:
        if isinstance(value, str):
            return leaf == value or _under(leaf, value)
        return type(leaf) is type(value) and leaf == value

    found = []
    live = {top: _live(cfg, top) for top in cfg.keys()}
    for where, node in config_dicts(cfg.to_dict()):
        # other top-level variables, and what lies under them, are not uses
        if not where or not live.get(where.split('.', 1)[0]):
            continue
        for name, item in node.items():
            dotted = f'{where}.{name}'
            if isinstance(item, (list, tuple)):
                found += [f'{dotted}.{i}' for i, leaf in enumerate(item)
                          if hit(leaf)]
            elif hit(item):
                found.append(dotted)
    return _by_likeness(found, key)


def _by_likeness(keys: Sequence[str], name: str) -> List[str]:
    """Dotted ``keys``, those whose last part is ``name`` first, then those
    whose last part resembles it most (a crop size's ``scale``)."""
    def likeness(dotted: str) -> float:
        last = dotted.rsplit('.', 1)[-1]
        return 2.0 if last == name else difflib.SequenceMatcher(
            None, name, last).ratio()
    return sorted(keys, key=likeness, reverse=True)


class _Untraced(Exception):
    """Why :func:`_traced_uses` cannot tell which keys a variable set."""


def _trace_values(value: Any) -> List[Any]:
    """Other values of the type of ``value`` (a string or a number) for
    :func:`_traced_uses` to give a variable: for a string the same path
    with ``-traced`` after it (a path built on it stays a path); for a
    number one 1009 more and one 1009 less (odd, so that halving it
    changes it too; one above and one below, so that a condition,
    ``12 if max_epochs > 5 else 4``, or a ``min`` / ``max`` of it changes
    with one of them)."""
    if isinstance(value, str):
        end = '/' if value.endswith('/') else ''
        return [f"{value.rstrip('/')}-traced{end}"]
    if isinstance(value, float):
        value = value if math.isfinite(value) else 0.0
        return [value + 1009.25, value - 1009.25]
    return [value + 1009, value - 1009]


def _read_with(path: str, file: str, name: str, value: Any) -> Config:
    """The config ``path`` read again as MMEngine reads it, with the
    top-level variable ``name`` set to ``value`` right after the last
    top-level assignment of it (:func:`_assigned_names`: ``=``, ``+=``,
    ``x: int =``, ``x, y =``) in ``file`` (``path`` or one of its
    ``_base_`` files). MMEngine executes each file of the chain from a
    copy it writes (``Config._substitute_predefined_vars``, which gets the
    file's own path): the copy of ``file`` gets ``; name = value`` at the
    end of that statement, no file is written beside the configs.

    Raises:
        _Untraced: the file was not read so, or reading it failed.
    """
    original = Config.__dict__['_substitute_predefined_vars']
    wanted = os.path.realpath(file)
    done = []

    def substitute(filename: str, temp_config_name: str) -> None:
        original.__func__(filename, temp_config_name)
        if os.path.realpath(filename) != wanted:
            return
        with open(temp_config_name, encoding='utf-8', newline='') as f:
            text = f.read()
        last = [stmt for stmt in ast.parse(text).body
                if name in _assigned_names(stmt)][-1:]
        if not last:
            return
        # lines as ast counts them; its columns count a line's UTF-8 bytes
        lines = text.split('\n')
        row = lines[last[0].end_lineno - 1].encode('utf-8')
        col = last[0].end_col_offset
        lines[last[0].end_lineno - 1] = (
            row[:col] + f'; {name} = {value!r}'.encode('utf-8')
            + row[col:]).decode('utf-8')
        with open(temp_config_name, 'w', encoding='utf-8', newline='') as f:
            f.write('\n'.join(lines))
        done.append(filename)

    Config._substitute_predefined_vars = staticmethod(substitute)
    try:
        again = Config.fromfile(path, import_custom_modules=False)
    except Exception as exc:  # the file refuses the value, a failing base
        raise _Untraced(f'reading the file again with {name}={value!r} '
                        f'failed: {first_line(exc, with_type=True)}'
                        ) from None
    finally:
        Config._substitute_predefined_vars = original
    if not done:
        raise _Untraced(f'the value {file} gives it could not be changed '
                        'there')
    return again


#: the attribute of a loaded config holding what :func:`_traced_uses`
#: found of each variable it traced (``{(name, files or None): its
#: result, or (_Untraced, the words it raised)}``)
_TRACED_USES = '_openselfsup_traced_uses'


def _traced_uses(cfg: Config, name: str,
                 files: Optional[List[str]] = None
                 ) -> Tuple[List[str], List[str], Optional[str], List[str]]:
    """The dotted keys of the sections a run reads (:func:`_live`) that
    the top-level string or number variable ``name`` of the config file
    set when the file was read, as ``(those holding its value, those
    computed from it, why they may be more, the files they were set
    in)``: ``train_cfg.max_epochs`` of ``max_epochs``, and ``ann_file``
    of ``data_root + '/meta/x.txt'`` (its value at the start), hold it;
    ``T_max=max_epochs * 2`` and ``12 if max_epochs > 5 else 4`` are
    computed from it. Found by reading the file again with the variable
    given other values (:func:`_trace_values`) in each file of its
    ``_base_`` chain that sets it (:func:`_variable_files`: a child
    restating its base's ``data_root`` leaves the base's keys on the
    base's), one file and one value at a time, and comparing key by key:
    exact, where matching values (:func:`_uses`) named a crop size's 64 in
    projector widths of 64, a class count's 9 in a schedule's milestone,
    an epoch count's 10 in the log window. A key holds the value where
    every reading that changed it holds the other value there, and held
    the value the file read gives it before (a base's ``max_epochs = 10``
    that its child restates as 20: the base's keys hold 10). Each list
    of keys in order of likeness to ``name`` (:func:`_by_likeness`); the
    reason is None where every reading was done, else why the first that
    failed did; the files are those whose readings changed a key.

    The readings are compared with the file read as it is, not with
    ``cfg``: the answer is the files' alone, the same whenever it is
    asked (after the ``--cfg-options``, a key an option changed was
    counted as computed from the variable; before them, not: review
    r112). So it is traced once per config, variable and ``files``
    (:data:`_TRACED_USES`): a run's start asked it of ``data_root`` for
    each warning of copies moved in part (:func:`unmoved_copies_note`:
    the run's, then each of an evaluation it did not announce), each
    asking reading the ``_base_`` chain again. Each call gets its own
    lists. ``files``: the files that set it (:func:`_variable_files`),
    where the caller has them (None: found here).

    Raises:
        _Untraced: the config has no file, no file of its chain sets
            ``name`` at its top level, or every reading failed (the
            first reason).
    """
    traced = vars(cfg).get(_TRACED_USES)
    if traced is None:
        traced = {}
        object.__setattr__(cfg, _TRACED_USES, traced)
    asked = (name, None if files is None else tuple(files))
    if asked not in traced:
        try:
            traced[asked] = _trace(cfg, name, files)
        except _Untraced as exc:
            # its words: the exception's traceback would keep the frames
            # holding the configs read alive
            traced[asked] = _Untraced, exc.args
    found = traced[asked]
    if found[0] is _Untraced:
        raise _Untraced(*found[1])
    held, computed, why, setters = found
    return list(held), list(computed), why, list(setters)


def _trace(cfg: Config, name: str, files: Optional[List[str]]
           ) -> Tuple[List[str], List[str], Optional[str], List[str]]:
    """What :func:`_traced_uses` finds of ``name``, traced anew."""
    if files is None:
        files = _variable_files(cfg.filename, name) if cfg.filename else []
    if not files:
        raise _Untraced(f'no file of {cfg.filename or "the config"} sets '
                        'it at its top level')
    # the file as it reads, which the readings with other values differ
    # from where the variable set a key: cfg may hold the options since
    try:
        read = Config.fromfile(cfg.filename, import_custom_modules=False)
    except Exception as exc:  # changed or gone since the run read it
        raise _Untraced(f'reading {cfg.filename} again failed: '
                        f'{first_line(exc, with_type=True)}') from None
    value = read.get(name)
    kept = read.to_dict()
    before = flat_config(kept)
    live = {top: _live(read, top) for top in read.keys()}
    changed: Dict[str, bool] = {}  # key: whether it held each value
    setters: List[str] = []
    failed = []
    for file in files:
        # the value this file gives it, which its keys hold (a child
        # restating its base's max_epochs = 10 as 20 keeps 20, while the
        # base's train_cfg.max_epochs holds 10)
        given = value
        if file != files[0]:
            try:
                given = Config.fromfile(
                    file, import_custom_modules=False).get(name, value)
            except Exception:  # a base not readable alone: the kept value
                pass
        for other in _trace_values(value):
            try:
                again = _read_with(cfg.filename, file, name, other)
                # the first file's value is the one the config keeps
                if file == files[0] and again.get(name) != other:
                    raise _Untraced(f'the value {file} gives it could not '
                                    'be changed there')
            except _Untraced as exc:
                failed.append(str(exc))
                continue
            tree = again.to_dict()
            after = flat_config(tree)
            for key in dict.fromkeys([*before, *after]):
                old, new = before.get(key, UNSET), after.get(key, UNSET)
                if key == name or not live.get(key.split('.', 1)[0]) or \
                        _same_leaf(old, new):
                    continue
                if UNSET in (old, new):
                    # a key one reading alone has (a list of n items): the
                    # innermost key both have, which the run's config has
                    key = _shared_key(key, kept, tree)
                    if key is None:
                        continue
                    holds = False
                elif isinstance(value, str):
                    holds = isinstance(old, str) and \
                        isinstance(given, str) and old.startswith(given) \
                        and new == other + old[len(given):]
                else:
                    holds = type(old) is type(given) and old == given and \
                        type(new) is type(other) and new == other
                changed[key] = changed.get(key, True) and holds
                if file not in setters:
                    setters.append(file)
    if len(failed) == len(files) * len(_trace_values(value)):
        raise _Untraced(failed[0])
    # a key below a list named whole (its length changed) is in it
    whole = [key for key in changed if key not in before]
    changed = {key: holds for key, holds in changed.items()
               if not key_below(key, [w for w in whole if w != key])}
    held = [key for key, holds in changed.items() if holds]
    computed = [key for key, holds in changed.items() if not holds]
    return (_by_likeness(held, name), _by_likeness(computed, name),
            failed[0] if failed else None, setters)


def _shared_key(key: str, one: dict, other: dict) -> Optional[str]:
    """The innermost of dotted ``key`` and the keys above it that both
    nested configs ``one`` and ``other`` have (``model.layers`` of
    ``model.layers.3.w`` where the list is 3 long in one and 4 in the
    other); else its top-level key where ``one`` has that; else None."""
    parts = key.split('.')
    for end in range(len(parts), 0, -1):
        above = '.'.join(parts[:end])
        if _has_key(one, above) and _has_key(other, above):
            return above
    return parts[0] if parts[0] in one else None


def _same_leaf(a: Any, b: Any) -> bool:
    """Whether two leaves of two reads of one config are the same value
    (NaN is NaN; a value ``==`` cannot compare is compared as printed)."""
    try:
        if a == b:
            return True
    except Exception:  # an array's ambiguous truth
        pass
    return type(a) is type(b) and repr(a) == repr(b)


def _copies(cfg: Config, top: str) -> List[str]:
    """Dotted keys of the sections a run reads whose whole value equals the
    (non-empty) dict or list variable ``top``: where the file copied it."""
    tree = cfg.to_dict()
    value = tree.get(top)
    found: List[str] = []

    def walk(node, where: str) -> None:
        if type(node) is type(value) and node == value or (
                isinstance(value, dict) and isinstance(node, dict)
                and all(k in node and node[k] == v
                        for k, v in value.items())):
            # the variable itself, or spread into a larger dict
            found.append(where)
            return
        items = node.items() if isinstance(node, dict) else enumerate(
            node) if isinstance(node, (list, tuple)) else ()
        for name, item in items:
            walk(item, f'{where}.{name}')
    if not isinstance(value, (dict, list, tuple)) or not value:
        return found
    value = list(value) if isinstance(value, tuple) else value
    for name, node in tree.items():
        if name != top and _live(cfg, name):
            walk(node, name)
    return found


def _variable_files(path: str, name: Optional[str],
                    unread: Optional[List[str]] = None) -> List[str]:
    """The config files that set the top-level variable ``name`` of the
    config ``path`` (any assignment :func:`_assigned_names` reads; every
    file of the chain where ``name`` is None): the
    file itself where it does, then those of its ``_base_`` files
    (relative to its folder; a ``package::`` one is not read), each
    searched in the same way, each named once; none where none does. A
    child restating its base's ``data_root`` sets it in both, and the
    base's keys were set from the base's. A file that cannot be read or
    parsed is passed over, and so is a ``package::`` base: each is added
    to ``unread``, where given."""
    found: List[str] = []
    seen = set()

    def walk(path: str) -> None:
        if os.path.realpath(path) in seen:
            return
        seen.add(os.path.realpath(path))
        try:
            with open(path, encoding='utf-8') as f:
                text = f.read()
            body = ast.parse(text).body
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError,
                RecursionError):
            if unread is not None:
                unread.append(path)
            return
        if name is None or any(name in _assigned_names(stmt)
                               for stmt in body):
            found.append(path)
        bases = config_text_section(text, '_base_')
        bases = [bases] if isinstance(bases, str) else bases
        for base in bases if isinstance(bases, list) else ():
            if isinstance(base, str) and '::' not in base:
                walk(os.path.normpath(os.path.join(os.path.dirname(path),
                                                   base)))
            elif unread is not None:
                unread.append(str(base))
    walk(path)
    return found


def _variable_file(path: str, name: str) -> Optional[str]:
    """The first of the config files that set the top-level variable
    ``name`` of the config ``path`` (:func:`_variable_files`): the file
    itself where it assigns it, else the first of its ``_base_`` files
    that does; None where none does."""
    return next(iter(_variable_files(path, name)), None)


def variable_source(cfg: Config, key: str
                    ) -> Optional[Tuple[str, List[str], Optional[str]]]:
    """The config-file variable (:func:`config_variables`) that the run's
    dotted ``key`` was set from when the file was read (its string value,
    or the start of it as a path: ``data_root`` for
    ``train_dataloader.dataset.data_root`` and for a ``metadata`` of
    ``f'{data_root}/metadata.json'``; of several, the longest value), as
    ``(name, every key set from it, the file that sets it)``; None where
    the key's value comes from no such variable."""
    best = None
    for name in config_variables(cfg):
        value = cfg.get(name)
        if not isinstance(value, str) or not value or (
                best is not None and len(value) <= len(best[1])):
            continue
        uses = _uses(cfg, name, value)
        if key in uses:
            best = (name, value, uses)
    if best is None:
        return None
    name, _, uses = best
    file = _variable_file(cfg.filename, name) if cfg.filename else None
    return name, uses, file


def check_variable_overrides(cfg: Config, cfg_options: Dict[str, Any]
                             ) -> None:
    """Fail on an override of a config file's variable that the file has
    already used: ``data_root = 'data/NCT'`` at the top of a config is
    copied into ``train_dataloader.dataset.data_root`` (and wherever else
    it is used) when the file is read, so ``--cfg-options
    data_root=...`` would change nothing that runs; so would a key inside a
    dict or list variable the file copied (``view_pipeline.0.scale``: the
    key to override is named), and ``train_dataloader.batch_size`` where
    ``total_batch_size`` sets it.

    Raises:
        InputError: naming the variable and the keys to override instead.
    """
    for key in cfg_options:
        if key == 'train_dataloader.batch_size' and 'total_batch_size' in cfg:
            raise InputError(
                f'--cfg-options {key}: {cfg.filename} sets the per-process '
                'batch from total_batch_size '
                f'({cfg.total_batch_size}, over all processes) when the run '
                'starts, so this changes nothing; override total_batch_size '
                'instead')
        top, _, rest = key.partition('.')
        if top not in cfg or _live(cfg, top):
            continue
        if rest:  # view_pipeline.0.scale: inside a copied dict or list
            copies = _copies(cfg, top)
            if copies:
                raise InputError(
                    f'--cfg-options {key}: {top} is a variable of '
                    f'{cfg.filename}, copied into {", ".join(copies)} when '
                    'the file was read, so changing it now changes nothing; '
                    f'override {copies[0]}.{rest} instead')
            continue
        value = cfg[key]
        if isinstance(value, (dict, list, tuple)):
            copies = _copies(cfg, key)
            if copies:
                raise InputError(
                    f'--cfg-options {key}: a variable of {cfg.filename}, '
                    f'copied into {", ".join(copies)} when the file was '
                    'read, so replacing it now changes nothing; override '
                    'those keys instead')
            continue
        if not (isinstance(value, str) or is_number(value)):
            continue
        # the files of the _base_ chain whose value of it set keys (else
        # every file that sets it): changed there, every key is set from
        # the new value (the HiDisc demo's data_root, in the HLSS demo it
        # inherits: 15 keys; a child restating its base's max_epochs, of
        # which each set keys: both)
        files = _variable_files(cfg.filename, key) if cfg.filename else []
        try:
            held, computed, why, setters = _traced_uses(cfg, key, files)
        except _Untraced as exc:
            held, computed, why, setters = [], [], \
                f'which keys it set cannot be told: {exc}', []
        # where a reading failed, a file may have set keys unseen
        where = ' and '.join(files if why or not setters else setters) or \
            f'the file of {cfg.filename or "the config"} that sets it'
        # keys merely equal to its value are no advice where the trace
        # is whole (a crop size's 64 in channel widths), but where it may
        # have missed some they are named as what they are: the rule
        # before, of equal values, refused every such override
        equal = [use for use in _uses(cfg, key, value)
                 if use not in held and use not in computed]
        if held or computed:
            named = '; '.join(
                f'{words}: {_some_keys(keys)}' for words, keys in (
                    ('those holding its value', held),
                    ('computed from it', computed),
                    (f'keys holding the same value, which may be copies '
                     f'too ({why})', equal if why else [])) if keys)
            raise InputError(
                f'--cfg-options {key}: a variable of {cfg.filename}, used '
                'when the file was read, so changing it now changes nothing; '
                f'override the keys set from it instead ({named}), or set '
                f'it in {where}')
        if equal:
            if why is None:
                why = (f'reading it again with {key}='
                       f'{" and ".join(map(repr, _trace_values(value)))} '
                       'changed no key, which a condition of it may hide')
            raise InputError(
                f'--cfg-options {key}: a variable of {cfg.filename} that '
                f'the file may have used when it was read ({why}), so '
                'changing it now may change nothing; keys holding the same '
                f'value, which may be copies: {_some_keys(equal)}; set it '
                f'in {where} instead')


#: the project's registries :func:`_registered` asks for a type, in turn
LOOKED_UP_REGISTRIES = ('MODELS', 'OPTIM_WRAPPERS', 'OPTIMIZERS',
                        'PARAM_SCHEDULERS', 'HOOKS', 'DATASETS',
                        'TRANSFORMS', 'DATA_SAMPLERS', 'METRICS', 'LOOPS',
                        'VISBACKENDS', 'VISUALIZERS', 'LOG_PROCESSORS',
                        'RUNNERS', 'WEIGHT_INITIALIZERS')


def _registered(type_name: str, scope: Optional[str] = None,
                own: bool = False, called_on: str = 'mmengine'):
    """The class or function a config ``type`` names in the project's
    scope (any registry), or None; with ``scope``, as MMEngine's
    ``build_from_cfg`` looks it up under that ``default_scope``
    (:func:`scope_registry`; ``''``: no scope, ``called_on`` the registry
    the build is called on); ``own``: what the project's registries
    themselves hold under the name (not mmpretrain's ``ResNet``). Imports
    the model stack."""
    from . import registry
    with _import_path_lookups_once():
        for name in LOOKED_UP_REGISTRIES:
            try:
                if own:
                    held = getattr(registry, name)
                    held.import_from_location()
                    found = held.module_dict.get(type_name)
                elif scope is None:
                    found = getattr(registry, name).get(type_name)
                else:
                    found = scope_registry(name, scope, called_on).get(
                        type_name)
            except Exception:  # a registry that cannot import its locations
                found = None
            if found is not None:
                return found
    return None


@contextlib.contextmanager
def _import_path_lookups_once():
    """Within it, MMEngine's ``Registry.get`` reads a name that no registry
    of its tree holds as an import path (``torch.nn.ReLU``; its last
    resort, ``get_object_from_string``) once per name, not once per
    registry asked: :func:`_registered` asks 15, and for a name held by
    none but the last (a transform), each failed import searched
    ``sys.path`` again (some 0.1-0.2 ms each, under pytest's import hook
    more). The same lookup, its answer reused: what it imported stays
    imported."""
    from mmengine.registry import registry as mm_registry
    original = mm_registry.get_object_from_string
    found: Dict[str, Any] = {}

    def once(name: str) -> Any:
        if name not in found:
            found[name] = original(name)
        return found[name]

    mm_registry.get_object_from_string = once
    try:
        yield
    finally:
        mm_registry.get_object_from_string = original


def scope_registry(name: str, scope: str, called_on: str = 'mmengine'):
    """The registry ``name`` (``'MODELS'``) a build under the default scope
    ``scope`` looks a type up in, as MMEngine's
    ``Registry.switch_scope_and_registry`` finds it: the registry of that
    scope in MMEngine's tree (the scope's ``<scope>.registry`` imported
    first, as MMEngine does), else, for a scope no registry holds (a typo,
    ``'mmpretrian'``; ``''``: ``default_scope = None``, none set), the
    registry the build is called on: MMEngine's root (``called_on=
    'mmengine'``: the Runner's builds, an MMEngine or mmcv class's),
    mmpretrain's (``'mmpretrain'``: an mmpretrain class building its
    arguments) or the project's (``'openselfsup'``: a class of the
    project's building through its own registry, :data:`REGISTRY_BUILT`).
    Imports the model stack."""
    import importlib

    import mmengine.registry as mmengine_registry

    from . import registry  # noqa: F401 (the project's scope in the tree)
    root = getattr(mmengine_registry, name)
    if scope:
        try:
            importlib.import_module(f'{scope}.registry')
        except Exception:  # noqa: BLE001 (MMEngine goes on without it)
            pass
        found = root._search_child(scope)
        if found is not None:
            return found
    if called_on == 'mmpretrain':
        import mmpretrain.registry as mmpretrain_registry
        return getattr(mmpretrain_registry, name)
    if called_on == PROJECT_SCOPE:
        return getattr(registry, name)
    return root


def built_model_class(cfg) -> Any:
    """The class of the model a training run of ``cfg`` builds: its
    ``model.type`` where that is a class, else the name looked up as
    MMEngine's ``Registry.build`` looks it up (:func:`built_class`: the
    registry of the model's own ``_scope_``, else of the run's scope,
    :func:`imported_scope`); None where none is found (no model or type, a
    name no registry holds: the build says why) or one that builds another
    class in each scope the run's may be where that is not told
    (:func:`told_class`).
    Imports the model stack."""
    import inspect
    model = cfg.get('model')
    found = told_class(model, 'MODELS', imported_scope(cfg))
    return found if inspect.isclass(found) else None


#: what :func:`told_class` gives for a name that builds different classes
#: in the scopes the run's one may be (not told)
UNTOLD = 'untold'


def told_class(node: Any, registry: str, scope: Optional[str]) -> Any:
    """:func:`built_class` of the config dict ``node`` in the run's scope
    ``scope``; where that is not told (:func:`imported_scope`'s None) and
    ``node`` names its type by a string without a ``_scope_`` of its own,
    the class the name builds in every scope it may be (``''`` and each
    scope of MMEngine's tree: ``'IterBasedTrainLoop'``, MMEngine's in all),
    :data:`UNTOLD` where they differ. A class given as the type, or no
    type, needs no lookup (review r194: a check that skipped every config
    whose scope was not told passed a model given as a class). Imports the
    model stack for a name."""
    if scope is not None or build_scope(node, scope) is not None or \
            not isinstance(node, dict) or \
            not isinstance(node.get('type'), str):
        return built_class(node, registry, scope)
    import mmengine.registry as mmengine_registry

    from . import registry as _  # noqa: F401 (the project's scope in the tree)
    scopes, stack = [''], [getattr(mmengine_registry, registry)]
    while stack:
        found = stack.pop()
        scopes.append(found.scope)
        stack.extend(found.children.values())
    built = {built_class(node, registry, each) for each in scopes}
    return built.pop() if len(built) == 1 else UNTOLD


#: the scope of the project's registries (:mod:`openselfsup.registry`)
PROJECT_SCOPE = 'openselfsup'

#: the libraries whose classes build the config dicts they are given
#: through MMEngine's registries, in the run's scope: a dict below one of
#: theirs is built where its parent is (:func:`_built_dicts`)
_REGISTRY_BUILDERS = ('mmengine', 'mmpretrain', 'mmcv', 'torch')

#: the class attribute by which a class of the project's names the
#: arguments it builds through a registry, in the run's default scope as
#: MMEngine's ``Registry.build`` looks up, and the library whose registry
#: the build is called on (where a scope no registry holds falls back to,
#: :func:`scope_registry`): ``{'pipeline': 'mmpretrain'}`` for
#: ``ImageList``, whose pipeline mmpretrain's ``BaseDataset`` builds.
#: Followed by :func:`_built_dicts`; a project class without it is not
REGISTRY_BUILT = 'REGISTRY_BUILT'


def build_scope(node: Any, scope: Any) -> Any:
    """The scope MMEngine's ``build_from_cfg`` looks the ``type`` of the
    config dict ``node`` up in: its ``_scope_`` where set and not None
    (the build pops it, ``_scope_=None`` switching nothing, and switches
    to it for that dict and what it builds), else ``scope``, the one in
    force around it (the run's default scope, a wrapper's). A
    ``_scope_=''`` is its own, as the build takes it (MMEngine then
    fails importing ``'.registry'``; refused before the run by
    :func:`check_scope_names`); it was taken for unset here.
    ``node`` may be a whole ``Config`` (``RUNNERS.build``'s: its
    top-level ``_scope_``)."""
    own = node.get('_scope_') if isinstance(node, (dict, Config)) \
        else None
    return own if own is not None else scope


def check_scope_names(cfg, config: str,
                      roots: Optional[Sequence[Tuple[str, Any]]] = None
                      ) -> None:
    """Refuse a ``_scope_`` that names no scope anywhere in ``cfg`` (a
    dict's, the top level's): ``''`` or a value that is not a string.
    ``roots``: ``(dotted key, section)`` of what a command that builds no
    runner builds (``extract.py``'s model and dataset, ``knn_eval.py``'s
    model and data sets), judged alone, each dict of theirs named by the
    key that sets it (:func:`key_where_set`: a top-level preprocessor
    merged into the model by ``data_preprocessor``); neither the top
    level's ``_scope_`` nor ``default_scope`` is then judged (those
    commands take ``''`` as None, no scope: :func:`init_scope`).
    MMEngine 0.10.7 pops ``_scope_`` in every registry build
    (``build_from_cfg``, which ``build_model_from_cfg`` and
    ``build_optimizer_from_cfg`` call; ``build_runner_from_cfg``,
    ``build_scheduler_from_cfg``) and switches to any scope but None
    (``Registry.switch_scope_and_registry``): ``''`` becomes the current
    scope and ``import_module('.registry')`` raises a ``TypeError`` that
    it does not catch (the run stopped on "the 'package' argument is
    required to perform a relative import for '.registry'", and
    ``--check-config`` passed: :func:`build_scope` takes ``''`` as a scope,
    :func:`scope_registry` as none); a non-string fails
    ``DefaultScope``'s ``AssertionError``. ``_scope_=None`` switches
    nothing and passes. The top level's is judged only where
    ``runner_type`` is set (``RUNNERS.build`` pops it): MMEngine's
    ``Runner.from_cfg``, which builds a config without one, never reads
    it (review r192: such a config trained, and was refused). So is a
    ``default_scope`` of these values: MMEngine's ``Runner.__init__``
    makes any but None the current ``DefaultScope`` (a non-string its
    ``AssertionError``), and with ``''`` every registry build then fails
    importing ``'.registry'`` (the CLP demo stopped at its model's build;
    ``--check-config`` judged it as ``default_scope None``, which sets no
    scope). Torch-free.

    Raises:
        InputError: one line naming the config, the key and the value.
    """
    scope = cfg.get('default_scope')
    if roots is None and not _names_scope(scope):
        raise InputError(
            f'{config}: default_scope = {scope!r} names no scope: '
            "MMEngine's Runner switches to any default_scope but None and "
            f"{_no_scope_fails(scope)}; give a scope's name (default_scope "
            f"= '{PROJECT_SCOPE}') or None (no scope)")
    found = config_dicts(dict(cfg.items())) if roots is None else (
        each for key, node in roots for each in config_dicts(node, key))
    for key, node in found:
        scope = node.get('_scope_')
        if _names_scope(scope) or \
                (not key and cfg.get('runner_type') is None):
            continue
        where = f'{key_where_set(cfg, key)}._scope_' if key else '_scope_'
        raise InputError(
            f'{config}: {where} = {scope!r} names no scope: MMEngine\'s '
            'registry build switches to any _scope_ but None and '
            f"{_no_scope_fails(scope)}; give a scope's name ('mmpretrain', "
            "'openselfsup') or remove the key (the build keeps the scope in "
            'force)')


def _names_scope(scope: Any) -> bool:
    """Whether a ``_scope_`` or ``default_scope`` value is one MMEngine
    builds with: None (no switch, no scope) or a scope's name, not ``''``
    or a non-string (:func:`check_scope_names`)."""
    return scope is None or (isinstance(scope, str) and bool(scope))


def _no_scope_fails(scope: Any) -> str:
    """How MMEngine fails on a scope value that names none
    (:func:`_names_scope`), in the words of :func:`check_scope_names`."""
    return "imports '<scope>.registry', for '' the relative '.registry' " \
        '(TypeError)' if scope == '' else \
        'asserts that it is a string (AssertionError)'


def built_class(node: Any, registry: str, scope: str,
                called_on: str = 'mmengine') -> Any:
    """What MMEngine's Runner builds from the config dict ``node`` through
    its registry ``registry`` (``'MODELS'``, ``'LOOPS'``) in the run's
    default scope ``scope`` (:func:`run_scope`): a class given as the
    ``type`` itself; a name as the build looks it up, in
    :func:`build_scope` (:func:`scope_registry`; ``called_on``: the
    registry the build is called on, ``'mmpretrain'`` for a dataset
    pipeline's transforms); None where it finds none (the build's
    ``KeyError`` says why) or ``node`` names no type. Imports the model
    stack for a name."""
    kind = node.get('type') if isinstance(node, dict) else None
    if not isinstance(kind, str):
        return kind
    try:
        return scope_registry(registry, build_scope(node, scope),
                              called_on).get(kind)
    except Exception:  # noqa: BLE001 (no class: the build says why)
        return None


def known_type(node: Any, registry: str, scope: str,
               called_on: str = 'mmengine') -> Optional[str]:
    """The name by which the project's scope knows what the config dict
    ``node`` builds in ``scope`` (:func:`built_class`, as MMEngine's
    build looks it up): the unscoped name that builds that same class in
    the project's scope (:data:`PROJECT_SCOPE`, the shipped configs'),
    ``'PackInputs'`` for ``'mmpretrain.PackInputs'``, for the class
    itself given as the type, and for ``'PackInputs'`` under
    ``'mmpretrain'``; None where the build finds nothing (a mistyped
    name; ``'openselfsup.MultiView'``, which MMEngine looks up in the
    project's registry alone, not its parents: its ``KeyError``), or
    something the project's scope knows by no name (a class of the
    user's own). The one rule by which the fast path knows a pipeline
    transform or a data preprocessor (``apis.fast_path``,
    ``datasets.batch_aug``): by what it builds, not by how its name is
    spelled (the scoped spellings that train per image were refused by
    the batched views). Imports the model stack for a name."""
    built = built_class(node, registry, scope, called_on)
    if built is None:
        return None
    ours = scope_registry(registry, PROJECT_SCOPE)
    names = [getattr(built, '__name__', None)]
    held = ours
    while held is not None:  # a name registered apart from the class's
        names += [name for name, obj in held.module_dict.items()
                  if obj is built]
        held = held.parent
    for name in names:
        if isinstance(name, str) and built_class(
                dict(type=name), registry, PROJECT_SCOPE) is built:
            return name
    return None


def runs_as(cls: Any, bases: Sequence[type],
            kept: Sequence[str]) -> Optional[type]:
    """The one of MMEngine's loop classes ``bases`` that the class ``cls``
    (the loop a config's section builds: :func:`built_class`) runs as:
    itself, or a subclass of it that keeps ``kept``, the methods through
    which the loop decides what it calls and when (``ValLoop``'s ``run``
    and ``run_iter``, which call the model's ``val_step``; of the training
    loops, ``run``, which calls the validation loop, ``run_epoch`` /
    ``run_iter``, which count, and ``__init__``, whose defaults set when):
    a subclass that only adds something runs as its base. None for a
    class that writes one of them (a loop of the user's own, which runs as
    it says), for another class, or for no class."""
    import inspect
    if not inspect.isclass(cls):
        return None
    return next((base for base in bases if issubclass(cls, base) and all(
        getattr(cls, name, None) is getattr(base, name, None)
        for name in kept)), None)


def run_scope(cfg, unset: str = 'mmengine') -> str:
    """The default scope a training run of ``cfg`` builds in, as MMEngine's
    ``Runner.from_cfg`` (and the project's ``AtomicRunner``) takes it:
    ``cfg.get('default_scope', 'mmengine')``, unset being ``'mmengine'``
    (``unset``: another command's, :func:`extraction_scope`); ``''`` for
    ``None``, which sets no scope (each build looks up in the registry it
    is called on, :func:`scope_registry`)."""
    scope = cfg.get('default_scope', unset)
    return '' if scope is None else scope


def init_scope(cfg, training: bool) -> None:
    """Make current the default scope a build of ``cfg``'s types looks them
    up in, outside a runner: a training config's (``training``:
    ``knn_eval.py``'s) as its training run set it, MMEngine's Runner
    (:func:`run_scope`: ``'mmengine'`` where unset; it was the project's,
    so a config whose training stopped on ``KeyError`` was evaluated),
    none made for ``None``, as the Runner makes none
    (``init_default_scope(None)`` was an ``AssertionError`` traceback);
    an extraction config's by :func:`extraction_scope`. Imports MMEngine's
    registries."""
    from mmengine.registry import init_default_scope
    scope = run_scope(cfg) if training else extraction_scope(cfg)
    if isinstance(scope, str) and scope:
        init_default_scope(scope)


def extraction_scope(cfg) -> Any:
    """The default scope ``extract.py`` builds an extraction config's
    types in: its ``default_scope``, ``'openselfsup'`` where unset (as
    mmpretrain's ``init_model`` takes its own), ``''`` for ``None``, which
    sets no scope (each build looks up in the registry it is called on,
    :func:`scope_registry`). Which of its types a build under it misses
    is :func:`check_extraction_scope`'s to say."""
    return run_scope(cfg, PROJECT_SCOPE)


#: how the scope check's line names the command whose lookup it judges
#: when ``extract.py`` runs it (:func:`check_extraction_scope`)
EXTRACTION_JUDGED = 'extract.py'


def check_extraction_scope(cfg, config: str) -> List[str]:
    """The scope check (:func:`check_scope_types`) of what ``extract.py``
    builds of an extraction config, in the scope it builds in
    (:func:`extraction_scope`): the ``model`` as a run builds it (a
    top-level ``data_preprocessor`` merged into a model without one:
    :func:`built_model`, as a training run's check judges it) and the
    ``dataset``, each
    through the project's registry, and below the dataset the pipeline
    mmpretrain's ``BaseDataset`` builds (and what mmcv's ``RandomApply``
    there builds on MMEngine's root). A type the build would not find
    (``default_scope = None`` or ``''`` with ``configs/extraction/
    nct_aug.py``'s ``HueWrapColorJitter``, ``'mmpretrain'`` or
    ``'mmengine'`` with ``ImageList``, a scope no registry holds) is one
    line naming the key and the way out, before any work; a config whose
    types all resolve (``nct_test.py`` under None) is taken. Torch-free
    for the project's scope (unset, the shipped configs).

    Returns:
        list[str]: the scope check's warnings (a type built as another
        scope's class).
    """
    roots = [(key, node, PROJECT_SCOPE) for key, node in (
        ('model', built_model(cfg)), ('dataset', cfg.get('dataset')))
        if isinstance(node, dict)]
    return check_scope_types(cfg, config, roots, EXTRACTION_JUDGED,
                             scope=extraction_scope(cfg))


def lookup_scope(cfg, scope: Optional[str] = None) -> Optional[str]:
    """The default scope a run of ``cfg`` looks a type up in where the
    type's dict has no ``_scope_`` of its own (:func:`run_scope`), or None
    where the config does not tell it: a scope that is no string, and
    ``None`` beside ``custom_imports`` (None sets no scope: each build
    looks up in the scope current then, which an imported module may have
    set, mmpretrain's ``register_all_modules()``, ``init_default_scope``;
    r148: such a config, trained by MMEngine, was refused). ``None``
    without them is ``''``: none is set, and each build falls back to the
    registry it is called on (:func:`scope_registry`; r151: all of them
    passed, and the run named the options). The one rule of the scope
    check and of the runner's optimizer check. Torch-free. ``scope``: the
    scope the command takes instead of a training run's
    (:func:`extraction_scope`: ``''`` for None)."""
    scope = run_scope(cfg) if scope is None else scope
    if not isinstance(scope, str) or (scope == ''
                                      and cfg.get('custom_imports')):
        return None
    return scope


def imported_scope(cfg) -> Optional[str]:
    """The default scope a run of ``cfg`` looks a type up in, for the
    checks that import the model stack (the model's class, the loops'):
    :func:`lookup_scope`, and where that does not tell (``None`` beside
    ``custom_imports``) the scope current once those modules are imported
    (``Config.fromfile`` and the launchers' load import them, as the
    run's does: a module of theirs that calls ``init_default_scope``
    makes its scope the one each build looks up in; r192: the check
    looked the HLSS demo's model up in MMEngine's root registry, found
    none and passed, and the run built HLSS and stopped at its first
    validation), ``''`` where none is current; None where they are not
    all imported (not judged). The one rule of
    :func:`built_model_class` and the training checks that look a class
    up (``apis.train``)."""
    import sys
    scope = lookup_scope(cfg)
    if scope is not None or not isinstance(run_scope(cfg), str):
        return scope
    imports = cfg.get('custom_imports')
    names = imports.get('imports') if isinstance(imports, dict) else None
    names = [names] if isinstance(names, str) else names
    if not isinstance(names, (list, tuple)) or \
            not all(isinstance(n, str) and n in sys.modules for n in names):
        return None
    from mmengine.registry import DefaultScope
    current = DefaultScope.get_current_instance()
    return '' if current is None else current.scope_name


def _scope_is_certain(cfg, scope: Optional[str] = None) -> Optional[str]:
    """The default scope every dict a training run builds is looked up in
    (:func:`run_scope`), or None where the check does not judge: the
    project's own scope (each of its types resolves there), a scope that
    is no string, a config with a ``_scope_`` anywhere (MMEngine's
    ``build_from_cfg`` switches the scope for that dict and what it
    builds; not ``_scope_=None``, which it pops and switches nothing by,
    :func:`build_scope`: such a config was not judged), and ``None``
    beside ``custom_imports`` (None sets no scope: each build looks up
    in the scope current then, which an imported module may have set,
    mmpretrain's ``register_all_modules()``; r148).
    ``None`` without them, and a scope no registry holds
    (``'mmpretrian'``), are certain: the builds fall back to the registry
    they are called on (:func:`scope_registry`). A scoped or
    dotted ``type`` (``'openselfsup.ImageList'``, a module path) changes
    its own dict's lookup alone (mmengine 0.10.7: ``build_from_cfg``
    switches the scope for ``_scope_`` only), and only that dict's type
    is left unjudged
    (:func:`check_scope_types`). Torch-free. ``scope``: as
    :func:`lookup_scope`'s."""
    scope = lookup_scope(cfg, scope)
    if scope is None or scope == PROJECT_SCOPE:
        return None
    for _, node in config_dicts(dict(cfg.items())):
        if build_scope(node, None) is not None:  # _scope_=None: none
            return None
    return scope


def _nearest_typed(node: Any, key: str) -> Iterator[Tuple[str, dict]]:
    """``(key, dict)`` of the dicts with a ``type`` in ``node`` (itself
    included) that no other such dict holds: what the class holding
    ``node`` builds (a ``MultiView``'s list of transform lists)."""
    if isinstance(node, dict):
        if 'type' in node:
            yield key, node
            return
        for name, value in node.items():
            yield from _nearest_typed(value, f'{key}.{name}')
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            yield from _nearest_typed(value, f'{key}.{i}')


def _training_roots(cfg) -> List[Tuple[str, Any, str]]:
    """``(key, dict, 'mmengine')`` of what MMEngine's Runner builds of a
    training config through MMEngine's registries (:func:`_built_dicts`)."""
    roots = [('model', built_model(cfg))] + [
        (k, cfg.get(k)) for k in ('log_processor', 'visualizer', 'train_cfg')]
    loader = cfg.get('train_dataloader')
    if isinstance(loader, dict):
        roots += [(f'train_dataloader.{k}', loader.get(k))
                  for k in ('dataset', 'sampler', 'batch_sampler')]
    wrapper = cfg.get('optim_wrapper')
    if isinstance(wrapper, dict) and 'constructor' not in wrapper:
        roots += [('optim_wrapper', wrapper),
                  ('optim_wrapper.optimizer', wrapper.get('optimizer'))]
    for section in ('param_scheduler', 'custom_hooks'):
        given = cfg.get(section)
        roots += [(f'{section}.{i}', entry) for i, entry in enumerate(
            given if isinstance(given, (list, tuple)) else [given])]
    hooks = cfg.get('default_hooks')
    roots += [(f'default_hooks.{k}', hook) for k, hook in (
        hooks.items() if isinstance(hooks, dict) else ())]
    # Runner.train builds the validation loop (its data set, sampler and
    # evaluator's metrics) before the first iteration where val_cfg,
    # val_dataloader and val_evaluator are all set (some set alone is
    # MMEngine's ValueError)
    loader, metrics = cfg.get('val_dataloader'), cfg.get('val_evaluator')
    if isinstance(loader, dict) and cfg.get('val_cfg') is not None and \
            metrics is not None:
        roots += [(f'val_dataloader.{k}', loader.get(k))
                  for k in ('dataset', 'sampler', 'batch_sampler')]
        roots.append(('val_cfg', cfg.get('val_cfg')))
        # Runner.build_evaluator: a dict of 'metrics' is an evaluator
        # (MMEngine's Evaluator where it names no type), else the metrics
        key = 'val_evaluator'
        if isinstance(metrics, dict) and 'metrics' in metrics:
            if 'type' in metrics:
                roots.append((key, metrics))
                metrics = ()
            else:
                key, metrics = f'{key}.metrics', metrics['metrics']
        # one metric given as a dict: named by its own key (r148: it was
        # named 'val_evaluator.0', a key the config does not have)
        roots += [(f'{key}.{i}', metric) for i, metric in enumerate(
            metrics)] if isinstance(metrics, (list, tuple)) else \
            [(key, metrics)]
    return [(key, node, 'mmengine') for key, node in roots]


def knn_scope_roots(cfg) -> List[Tuple[str, Any, str]]:
    """What ``knn_eval.py`` builds of a training config, as its training
    run built it (:func:`_built_dicts`): the model, as MMEngine's Runner
    builds it (:func:`built_model`: a top-level ``data_preprocessor``
    merged into a model without one, judged as the training's check
    judges it), and the ``knn_eval`` section's data sets, as the project's
    ``KNNEvalHook`` builds them from the same arguments
    (:data:`REGISTRY_BUILT`). Imports the model stack."""
    section = cfg.get('knn_eval')
    hook = _registered('KNNEvalHook', own=True)
    return [('model', built_model(cfg), 'mmengine')] + [
        (f'knn_eval.{name}', section.get(name), on)
        for name, on in getattr(hook, REGISTRY_BUILT, {}).items()
        if isinstance(section, dict)]


def _built_dicts(cfg, scope: str,
                 roots: Optional[List[Tuple[str, Any, str]]] = None
                 ) -> Iterator[Tuple[str, dict, str]]:
    """``(key, dict, called_on)`` of each typed dict a training run
    certainly builds in the default scope ``scope``, each once, with the
    library whose registry the build is called on (:func:`scope_registry`:
    ``'mmengine'`` for the Runner's, ``'mmpretrain'`` below an mmpretrain
    class): the model, the training data set, sampler and batch sampler,
    the optimizer wrapper (and its optimizer, under MMEngine's default
    constructor), the schedulers, the hooks, the log processor, the
    visualizer, the training loop; and below each, a dict whose parent is
    a class of a library that builds what it is given through the
    registries (:data:`_REGISTRY_BUILDERS`: a ResNet's ``norm_cfg``,
    MoCoV3's ``head``), the arguments a class of the project's declares
    it builds so (:data:`REGISTRY_BUILT`: a dataset's ``pipeline``, built
    in the run's scope by mmpretrain's ``BaseDataset`` for ``ImageList``:
    a ``ToUnitTensor`` there under ``'mmpretrain'`` passed the check and
    stopped the run on ``KeyError``), the top-level ``data_preprocessor``
    among the model's where the model has none of its own (MMEngine's
    Runner sets it there); the validation loop's data set, sampler, loop
    and metrics
    where ``val_cfg``, ``val_dataloader`` and ``val_evaluator`` are all
    set (``Runner.train`` builds them before the first iteration). Not
    the file's variables, ``runner_type`` (built before the run's scope
    is set), the test section, a validation section not all set, a
    ``sweep``'s,
    nor what a user's class, or a class of this project's that declares
    nothing, builds from its arguments. Parents are resolved in ``scope``
    (:func:`_registered`). ``roots``: ``(key, dict, called_on)`` of what
    another command builds instead (:func:`knn_scope_roots`)."""
    if roots is None:
        roots = _training_roots(cfg)
    seen = set()

    def below(key, node, called_on):
        kind = node.get('type')
        if not isinstance(kind, str) or key in seen:
            return
        seen.add(key)
        yield key, node, called_on
        built = _registered(kind, scope, called_on=called_on)
        library = (getattr(built, '__module__', None) or '').partition(
            '.')[0]
        if library == PROJECT_SCOPE:
            # what the class declares it builds through a registry (the
            # dataset pipelines: ImageList's through mmpretrain's
            # BaseDataset, in the run's scope), each where it is called on
            declared = getattr(built, REGISTRY_BUILT, None) or {}
            children = [(name, node.get(name), on)
                        for name, on in declared.items()]
        elif library in _REGISTRY_BUILDERS:
            on = 'mmpretrain' if library == 'mmpretrain' else 'mmengine'
            children = [(name, value, on) for name, value in node.items()]
        else:
            return
        for name, value, on in children:
            # the model of each root is the one the run builds
            # (built_model: Runner.__init__'s model.setdefault(
            # 'data_preprocessor', ...)), its keys named where the config
            # sets them
            where = key_where_set(cfg, f'{key}.{name}')
            for child, part in _nearest_typed(value, where):
                yield from below(child, part, on)
    for key, node, called_on in roots:
        if isinstance(node, dict):
            yield from below(key, node, called_on)


def _scope_said(cfg, scope: str) -> Tuple[str, bool]:
    """How the lines of :func:`check_scope_types` name the run's scope
    (``default_scope 'mmpretrain'``; unset, a scope no registry holds,
    and None so said), and whether it is a scope of MMEngine's registry
    tree (else each build falls back to the registry it is called on,
    :func:`scope_registry`)."""
    if not scope:
        return 'default_scope None', False
    if 'default_scope' not in cfg:
        return (f"default_scope {scope!r} (unset: MMEngine's Runner takes "
                "'mmengine')"), True
    from mmengine.registry import MODELS
    if MODELS._search_child(scope) is None:
        return f'default_scope {scope!r} (a scope no registry holds)', False
    return f'default_scope {scope!r}', True


def check_scope_types(cfg, config: str,
                      roots: Optional[List[Tuple[str, Any, str]]] = None,
                      run: str = 'the run',
                      scope: Optional[str] = None) -> List[str]:
    """Refuse a ``type`` this project registers where the run certainly
    looks it up in another scope, whose registries do not hold it
    (:func:`_scope_is_certain`, :func:`_built_dicts`): with
    ``default_scope = 'mmpretrain'`` (or ``'mmengine'``, unset, a
    scope no registry holds), the CLP demo's ``TermsLogProcessor``,
    ``ImageList``, ``GhostBN`` passed the launchers' ``--check-config``,
    exit 0, and the run stopped at its build on MMEngine's ``KeyError``.
    A scoped or dotted type is looked up as given, and not judged; where
    the scope is not certain (a ``_scope_``), nothing is judged: the build
    says. The ways out are those that resolve: ``type='openselfsup.<T>'``
    only where the run's registry reaches the project's scope from there
    (under ``'mmpretrain'``, whose registries hold the project's as
    children; not under ``'mmengine'``, whose root does not). Torch-free
    for the project's scope (the shipped configs).

    ``roots``: what another command builds of the config instead of a
    training run (:func:`knn_scope_roots`, ``knn_eval.py``); ``run``: the
    run whose lookup the line judges, in words (``knn_eval.py``'s: the
    training run's, :data:`TRAINING_RUN_JUDGED`); ``scope``: the scope
    that command builds in, where it is not a training run's
    (:func:`extraction_scope`).

    Returns:
        list[str]: a warning for each type the project registers again
        that the run builds as the other scope's class, unsaid (``MoCoV3``
        under ``'mmpretrain'``: mmpretrain's, whose momentum update reads
        the GPU; the project's does not).

    Raises:
        InputError: ``<config>: <key>.type '<T>' is registered by this
            project ('openselfsup'), and the run looks it up in
            default_scope '<scope>', whose registries do not hold it
            (nor ...); set default_scope = 'openselfsup' ...``.
    """
    scope = _scope_is_certain(cfg, scope)
    if scope is None:
        return []
    alone, other = [], []
    scoped_ours = f'{PROJECT_SCOPE}.'
    for key, node, called_on in _built_dicts(cfg, scope, roots):
        kind = node['type']
        if kind.startswith(scoped_ours):
            # looked up as given: the project's scope, where the run's
            # registry reaches it (not from MMEngine's root)
            ours = _registered(kind[len(scoped_ours):], own=True)
            if ours is not None and _registered(
                    kind, scope, called_on=called_on) is None:
                alone.append((key, kind, False))
            continue
        ours = None if '.' in kind else _registered(kind, own=True)
        if ours is None:
            continue  # not the project's (mmpretrain's ResNet under
            # 'mmengine'), or another scope's or a module path: as given
        theirs = _registered(kind, scope, called_on=called_on)
        scoped = _registered(scoped_ours + kind, scope,
                             called_on=called_on) is ours
        if theirs is None:
            alone.append((key, kind, scoped))
        elif theirs is not ours:
            other.append((key, kind, theirs, ours, scoped))

    said, known = _scope_said(cfg, scope)
    if not known:
        # a scope no registry holds: each build falls back to the registry
        # it is called on, which for the layers mmcv builds below an
        # mmpretrain class (norm_cfg) is MMEngine's root, not mmpretrain's
        # (r148: the prefix offered there passed the check and failed
        # the run); the default scope alone is offered
        alone = [(key, kind, False) for key, kind, _ in alone]
        other = [(key, kind, theirs, ours, False)
                 for key, kind, theirs, ours, _ in other]
    if alone:
        key, kind, _ = alone[0]
        more = list(dict.fromkeys(k for _, k, _ in alone[1:] if k != kind))
        raise InputError(scope_refusal(
            cfg, config, scope, key, kind, all(s for _, _, s in alone),
            more, run))

    def named(obj):
        return f'{obj.__module__}.{getattr(obj, "__qualname__", obj)}'
    return [f'{config}: {key}.type {kind!r} is built as {named(theirs)} '
            f'under {said}, not this project\'s {named(ours)}; for the '
            'project\'s, ' + _scope_ways(kind, scoped)
            for key, kind, theirs, ours, scoped in other]


def _scope_ways(kind: str, scoped: bool) -> str:
    """The ways out of :func:`scope_refusal` and of the scope check's
    warnings: the project's scope, and (``scoped``: where the run's
    registry reaches the project's from there) the type's scope."""
    return (f"set default_scope = '{PROJECT_SCOPE}' in the config (or "
            f'--cfg-options default_scope={PROJECT_SCOPE}), whose '
            "registries hold mmpretrain's and MMEngine's types too"
            + (", or give each of the project's types its scope "
               f"(type='{PROJECT_SCOPE}.{kind}')" if scoped else ''))


#: how ``knn_eval.py``'s scope line names the run whose lookup it judges:
#: the training run's (the user ran an evaluation; under ``None`` its own
#: build, through the project's registry, may find what the run's did not)
TRAINING_RUN_JUDGED = ("the config's training run (whose lookup knn_eval.py "
                       'judges)')


def scope_refusal(cfg, config: str, scope: str, key: str, kind: str,
                  scoped: bool, more: Sequence[str] = (),
                  run: str = 'the run') -> str:
    """The line refusing ``<key>.type`` ``kind``, a type the project
    registers, that a run of ``cfg`` looks up in ``scope``, whose
    registries do not hold it (:func:`check_scope_types`, the runner's
    optimizer check): the scope as :func:`_scope_said` names it, the
    config's other such types (``more``) and the ways out
    (:func:`_scope_ways`); ``run``: whose lookup it is, in words."""
    said, known = _scope_said(cfg, scope)
    return (f'{config}: {key}.type {kind!r} is registered by this '
            f'project ({PROJECT_SCOPE!r}), and {run} looks it up in '
            + (f'{said}, whose registries do not hold it' if known else
               f'{said}: in the registry each of its builds is called on '
               "(MMEngine's root, or mmpretrain's below an mmpretrain "
               'class), which does not hold it')
            + (f' (nor {", ".join(more)})' if more else '')
            + '; ' + _scope_ways(kind, scoped and known))


#: top-level dicts MMEngine's Runner builds without a ``type``: what takes
#: their keys (``train_dataloader.prefetch_factor``: torch's DataLoader;
#: ``train_cfg``: the loop its ``by_epoch`` chooses, :func:`_untyped`)
_UNTYPED = {'train_dataloader': 'torch.utils.data.DataLoader',
            'val_dataloader': 'torch.utils.data.DataLoader',
            'test_dataloader': 'torch.utils.data.DataLoader',
            'train_cfg': 'EpochBasedTrainLoop'}

#: MMEngine's training loops (``mmengine/runner/loops.py``), which no
#: registry of the project's scope registers another class under: their
#: arguments are read from MMEngine's source (:func:`_loop_arguments`), so
#: that a mistyped ``train_cfg`` key is refused without importing torch
#: and the model stack (the registries' lookup imports mmpretrain: 6-7 s)
_MMENGINE_LOOPS = ('EpochBasedTrainLoop', 'IterBasedTrainLoop')


def _untyped(where: str, node: Any) -> str:
    """What the Runner builds from the dict ``node`` at ``where`` (a key
    of :data:`_UNTYPED`) that names no ``type``. ``train_cfg``: MMEngine's
    ``Runner.build_train_loop`` pops ``by_epoch`` and builds an
    ``EpochBasedTrainLoop`` where it is true, an ``IterBasedTrainLoop``
    where false, and where it is missing (a ``ConfigDict`` pops None for
    a missing key: ``train_cfg = dict(max_epochs=1)`` is an iteration
    loop that refuses ``max_epochs``, :func:`~openselfsup.apis.train.
    check_train_loop`)."""
    if where != 'train_cfg':
        return _UNTYPED[where]
    by_epoch = node.get('by_epoch')
    return 'EpochBasedTrainLoop' if by_epoch else 'IterBasedTrainLoop'


def train_loop_kind(loop: Any) -> Optional[str]:
    """The loop MMEngine's runner builds from a config's ``train_cfg``
    ``loop``, as the key check reads it: its ``type`` (a scoped name,
    ``mmengine.EpochBasedTrainLoop``, the same loop), else the one
    ``by_epoch`` chooses (:func:`_untyped`); None for a ``train_cfg`` that
    is not a dict or names both (MMEngine refuses them)."""
    if not isinstance(loop, dict) or ('type' in loop and 'by_epoch' in loop):
        return None
    return type_name(loop['type']) if 'type' in loop else \
        _untyped('train_cfg', loop)


@functools.lru_cache(maxsize=None)
def _loop_arguments(name: str) -> Optional[Dict[str, Any]]:
    """The keyword arguments (name: default, ``inspect.Parameter.empty``
    where none) of :data:`_MMENGINE_LOOPS`' ``name``, read from MMEngine's
    source; None for another name, or where the source cannot be read or
    its ``__init__`` holds what ``ast`` cannot tell (``**kwargs``, a
    default that is not a literal): then the class is imported."""
    import inspect
    node = _mmengine_class('loops', name) if name in _MMENGINE_LOOPS \
        else None
    init = next((fn for fn in node.body if isinstance(fn, ast.FunctionDef)
                 and fn.name == '__init__'), None) if node else None
    if init is None or init.args.vararg or init.args.kwarg:
        return None
    a = init.args
    params = (a.posonlyargs + a.args)[1:]  # not self
    defaults = [inspect.Parameter.empty] * (len(params) - len(a.defaults)) \
        + list(a.defaults) + [inspect.Parameter.empty if d is None else d
                              for d in a.kw_defaults]
    names = {}
    for param, default in zip(params + a.kwonlyargs, defaults):
        if isinstance(default, ast.AST):
            try:
                default = ast.literal_eval(default)
            except ValueError:
                return None
        names[param.arg] = default
    return names


def train_loop_default(loop: Any, arg: str) -> Any:
    """The default the training loop MMEngine's runner builds from the
    ``train_cfg`` ``loop`` (:func:`train_loop_kind`) gives its argument
    ``arg``, read from its signature (:func:`_loop_arguments`):
    ``val_begin`` 1 for both of MMEngine's loops, ``val_interval`` 1 for
    ``EpochBasedTrainLoop`` and 1000 for ``IterBasedTrainLoop``; None for
    another loop, or an argument without a default."""
    import inspect
    kind = train_loop_kind(loop)
    names = _loop_arguments(kind) if isinstance(kind, str) else None
    default = (names or {}).get(arg)
    return None if default is inspect.Parameter.empty else default


def _resolve(name: str):
    """The class or function a config ``type`` names, or None, found as
    MMEngine's ``Registry.get`` finds it: a registered name in the
    project's scope (any registry, its parents' too), a scoped one
    (``openselfsup.KNNEvalHook``: the project's registries;
    ``mmpretrain.Accuracy``: mmpretrain's; it was looked up on the
    package, where it is not, and its settings went unchecked), or a
    dotted import path (``torch.nn.utils.clip_grad_norm_``: imported
    without the model stack where its first part is a package without a
    ``registry`` module, as MMEngine would find no scope there)."""
    import importlib.util
    scope, dot, _ = name.partition('.')
    if dot:
        try:
            scoped = importlib.util.find_spec(f'{scope}.registry') is not None
        except (ImportError, ValueError):  # no such package
            scoped = False
        if not scoped:
            from mmengine.utils import get_object_from_string
            try:
                return get_object_from_string(name)
            except Exception:  # what importing it raised
                return None
    return _registered(name)


def argument_value(cls, node: Any, arg: str) -> Any:
    """The value a config dict ``node`` gives the argument ``arg`` of what
    it builds, ``cls``: ``node[arg]``, else ``cls``'s default (None where
    it has none, or no signature to read)."""
    import inspect
    if arg in node:
        return node[arg]
    try:
        param = inspect.signature(cls).parameters.get(arg)
    except (TypeError, ValueError):  # no signature to read
        return None
    return None if param is None or param.default is param.empty \
        else param.default


#: the argument annotations :func:`check_setting_types` checks a value
#: against: (test, what the line says is expected)
_NUMBER_KINDS = {int: (lambda v: is_whole(v), 'an integer'),
                 float: (is_number, 'a number')}


def _number_rule(hint: Any) -> Optional[Tuple[Callable[[Any], bool], str]]:
    """The rule of :data:`_NUMBER_KINDS` for an annotation ``int``,
    ``float``, ``Optional[int]``, ``Optional[float]`` or ``Union[int,
    float]``, also written with ``|`` (``int | None``) (with None: None
    passes too), else None (not checked)."""
    import types
    import typing
    if hint in _NUMBER_KINDS:
        return _NUMBER_KINDS[hint]
    if typing.get_origin(hint) not in (typing.Union, types.UnionType):
        return None
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if not args or any(a not in _NUMBER_KINDS for a in args):
        return None
    test, what = _NUMBER_KINDS[float if float in args else int]
    if len(args) == len(typing.get_args(hint)):
        return test, what
    return (lambda v: v is None or test(v)), f'{what} or None'


@functools.lru_cache(maxsize=None)
def _own_number_arguments(cls) -> Dict[str, Tuple[Callable, str]]:
    """``{argument: rule}`` of the ``int`` / ``float`` arguments of a
    class of this package (its ``__init__``'s annotations); empty for
    another package's class (its errors are its own, quoted as settings)
    or annotations that cannot be read."""
    import inspect
    import typing
    if not inspect.isclass(cls) or \
            not cls.__module__.startswith(__name__.partition('.')[0] + '.'):
        return {}
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # a forward reference that does not resolve
        return {}
    rules = {name: _number_rule(hint) for name, hint in hints.items()}
    return {name: rule for name, rule in rules.items() if rule is not None}


#: the config parts whose settings :func:`check_setting_types` checks:
#: the model, its data, what evaluates it (``knn_eval`` before
#: ``custom_hooks``, which the HLSS configs build from a copy of it: a
#: ``knn_eval`` option reaches both, :func:`mirrored_overrides`, and is
#: named as given) and the hooks
SETTING_ROOTS = ('model', 'train_dataloader', 'val_dataloader',
                 'test_dataloader', 'knn_eval', 'custom_hooks',
                 'val_evaluator', 'test_evaluator')

#: top-level sections without a ``type`` whose keys are the arguments of
#: a class: ``knn_eval``, the kNN hook's (the HLSS configs build it as
#: ``dict(type='KNNEvalHook', **knn_eval)``; ``tools/knn_eval.py`` passes
#: the same keys to ``run_knn``)
_SECTION_CLASSES = {'knn_eval': 'KNNEvalHook'}


def check_setting_types(cfg: Any, roots: Sequence[str] = SETTING_ROOTS
                        ) -> None:
    """Refuse a number setting of one of this package's classes that is no
    number: a string from ``--cfg-options`` (``model.backbone.
    region_depth=x``, ``train_dataloader.dataset.feat_dim=x``) reached
    ``range(depth)`` or ``int(feat_dim)`` in the class, a TypeError or
    ValueError hit by openselfsup's own line, which
    :func:`~openselfsup.utils.errors.settings_refused` keeps as a bug's
    traceback. Every typed dict under ``roots`` whose class is this
    package's is checked against its ``__init__``'s annotations (``int``:
    an integer, not a bool, or a whole float, as elsewhere
    (:func:`is_whole`: ``feat_dim=8.0`` ran before this check), set to
    the int it is so that ``range(depth)`` takes it; ``float``: an int or
    float; ``Optional``: None too); other packages' classes say their own
    errors. With ``model``, the data preprocessor the run builds too
    (:func:`built_preprocessor`: a top-level one merged into a model
    without one, named ``data_preprocessor``, where it is set). Lists of
    typed dicts are read item by item (``custom_hooks``,
    ``val_evaluator``, a pipeline), and a section of
    :data:`_SECTION_CLASSES` as the arguments of its class. Call inside
    ``settings_refused``, which makes the TypeError its one line with the
    config and the ``--cfg-options`` given. Imports the model stack.

    Raises:
        TypeError: ``<key> must be <kind> (<Class>'s <argument>), got
            <value>``, of the first such setting; its ``setting`` is
            ``(key, argument, value, kind)``, for a command that says it
            in its own words (``knn_eval.py``, which builds no hook from
            its ``knn_eval`` section).
    """
    sections = [(root, cfg.get(root)) for root in roots]
    if 'model' in roots:  # and the top-level preprocessor the run merges
        where, pre = built_preprocessor(cfg)
        if where == 'data_preprocessor':  # named where it is set
            sections.append((where, pre))
    for root, section in sections:
        for key, node in config_dicts(section, root):
            kind = node.get('type', _SECTION_CLASSES.get(key))
            name = type_name(kind)
            if name is None:
                continue
            cls = kind if not isinstance(kind, str) else _resolve(kind)
            for arg, (test, what) in _own_number_arguments(cls).items():
                if arg in node and not test(node[arg]):
                    error = TypeError(f'{key}.{arg} must be {what} '
                                      f'({name}\'s {arg}), got {node[arg]!r}')
                    error.setting = (f'{key}.{arg}', arg, node[arg], what)
                    raise error
                if arg in node and isinstance(node[arg], float) and \
                        what.startswith('an integer'):
                    node[arg] = int(node[arg])  # whole: range() takes it


def _bracketed(depth: int) -> str:
    """A pattern of brackets nested up to ``depth`` deep, over lines
    (``[str,\n int]``, ``[[Optional[str]], int]``)."""
    inside = r'[^\[\]]*'
    for _ in range(depth - 1):
        inside = rf'(?:[^\[\]]|\[{inside}\])*'
    return rf'\[{inside}\]'


#: one term of an annotation: a dotted name with its brackets, nested up
#: to eight deep (``Callable[[Optional[Sequence[str]]], Optional[int]]``
#: is four), or a string (``'int'``, ``'Optional[int]'``)
_ANNOTATION_TERM = (rf'(?:[\w.]+(?:{_bracketed(8)})?'
                    r"""|'[^'\n]*'|"[^"\n]*")""")
#: a name and its annotation, terms joined by ``|`` (``int | None``),
#: read by :func:`_annotated_numbers`
_ANNOTATION = re.compile(
    rf'\b(\w+)[ \t]*:[ \t]*({_ANNOTATION_TERM}'
    rf'(?:[ \t]*\|[ \t]*{_ANNOTATION_TERM})*)')


@functools.lru_cache(maxsize=None)
def _annotated_numbers() -> Tuple[frozenset, frozenset]:
    """``(numbers, integers)``: every name the package's source annotates
    with ``int`` or ``float`` (``Optional[int]``, ``Union[str, int]``,
    over lines, ``int | None``, ``'int'``), and of those the names of an
    annotation that names ``int`` without ``float``
    (``check_setting_types``' integer rule),
    somewhere. Read as text, torch-free (0.2 to 0.3 s, once per process,
    on a 2-core machine under load): a superset of the arguments
    :func:`check_setting_types` checks of the package's own classes
    (``tests/test_foundation_bad_input.py::
    test_the_option_scan_names_every_number_argument_checked``)."""
    numbers_, integers = set(), set()
    for folder, _, files in os.walk(os.path.dirname(os.path.abspath(
            __file__))):
        for name in files:
            if name.endswith('.py'):
                with open(os.path.join(folder, name)) as f:
                    found = _number_names(f.read())
                numbers_.update(found[0])
                integers.update(found[1])
    return frozenset(numbers_), frozenset(integers)


def _number_names(text: str) -> Tuple[set, set]:
    """``(numbers, integers)`` of the source ``text``, as
    :func:`_annotated_numbers` reads the package."""
    numbers_, integers = set(), set()
    for arg, annotation in _ANNOTATION.findall(text):
        kinds = set(re.findall(r'\b(?:int|float)\b', annotation))
        if kinds:
            numbers_.add(arg)
        if kinds == {'int'}:
            integers.add(arg)
    return numbers_, integers


def _number_argument_names() -> frozenset:
    """Every name the package's source annotates with ``int`` or
    ``float`` (:func:`_annotated_numbers`)."""
    return _annotated_numbers()[0]


def options_need_type_check(cfg_options: Optional[dict]) -> bool:
    """Whether ``--cfg-options`` ``cfg_options`` give a setting under
    :data:`SETTING_ROOTS` that :func:`check_setting_types` could refuse:
    a string, a bool or None (also inside a list or dict given) for an
    argument the package's source annotates as a number anywhere
    (:func:`_annotated_numbers`: ``region_depth=x``), a float that is not
    whole for one annotated as an integer somewhere
    (``region_depth=2.5``), or a ``type`` (the class the other settings
    are judged against). The launchers' ``--check-config`` runs that
    check (which imports the model stack) only then: other numbers
    (``hue=0.6``) and the data paths (``dataset.data_root=/x``) keep it
    torch-free. Left to the run: an argument annotated only by another
    package's ``__init__`` that a class of this one inherits, and the
    config as written (the shipped ones pass). The source is read only
    where some value could fail (a string, a bool or None, or a float
    that is not whole): no options, or whole numbers alone, skip its
    0.2 s (review r159)."""

    def could_fail(key: str, value) -> bool:
        if isinstance(value, dict):
            return any(could_fail(str(k), v) for k, v in value.items())
        if isinstance(value, (list, tuple)):
            return any(could_fail(key, v) for v in value)
        if isinstance(value, float):
            return not is_whole(value) and key in _annotated_numbers()[1]
        return (value is None or isinstance(value, (str, bool))) and (
            key == 'type' or key in _annotated_numbers()[0])
    # a top-level data_preprocessor: judged where the run builds it
    return any(key_below(str(key), SETTING_ROOTS + ('data_preprocessor', ))
               and could_fail(str(key).rpartition('.')[2], value)
               for key, value in (cfg_options or {}).items())


def _keyword_names(built, node: Any) -> Optional[Dict[str, Any]]:
    """The keyword arguments ``built`` takes (name: default,
    ``inspect.Parameter.empty`` where none), or None where that cannot be
    told. ``**kwargs`` are followed: to what the class names in its
    ``kwargs_target(node)`` (the timm model of
    :class:`~openselfsup.models.backbones.TimmVisionTransformer`), else, for
    a class, up its MRO (the ``super().__init__(**kwargs)`` idiom:
    ``LinearClsHead`` passes ``topk`` to ``ClsHead``)."""
    import inspect
    names: Dict[str, Any] = {}
    mro: list = []  # the classes after the one whose __init__ was read
    while True:
        if inspect.isclass(built):
            if not mro or mro[0] is not built:
                mro = list(built.__mro__)
            while mro and '__init__' not in vars(mro[0]):
                mro.pop(0)  # the class whose __init__ is called
            if not mro or mro[0] is object:
                return names
            init = mro.pop(0).__init__
            try:
                params = list(inspect.signature(init).parameters.items())[1:]
            except (TypeError, ValueError):
                return None
        else:
            try:
                params = list(inspect.signature(built).parameters.items())
            except (TypeError, ValueError):
                return None
        for n, p in params:
            if p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                          inspect.Parameter.KEYWORD_ONLY):
                names.setdefault(n, p.default)
        if not any(p.kind == inspect.Parameter.VAR_KEYWORD
                   for _, p in params):
            return names
        if hasattr(built, 'kwargs_target'):
            built, mro = built.kwargs_target(node), []
            if built is None:
                return None
        elif inspect.isclass(built):
            built = mro[0] if mro else object  # super().__init__(**kwargs)
        else:
            return None  # a function passing **kwargs on: cannot tell


def _argument_names(where: str, node: Any,
                    cfg_options: Dict[str, Any]) -> Optional[Dict[str, Any]]:
    """The keys the dict ``node`` at ``where`` may hold: the keyword
    arguments of what it builds (its ``type``, as changed by the same
    ``cfg_options``; a Runner-built dict of :data:`_UNTYPED`; an optimiser
    wrapper's ``clip_grad``: torch's clipping function), or None."""
    if not isinstance(node, (dict, Config)):
        return None
    if where:  # as the same options leave it (a model_name changed too)
        prefix = f'{where}.'
        node = {**node, **{k[len(prefix):]: v for k, v in cfg_options.items()
                           if k.startswith(prefix)
                           and '.' not in k[len(prefix):]}}
    if where.rpartition('.')[2] == 'clip_grad':  # OptimWrapper's clipping
        kind = cfg_options.get(f'{where}.type', node.get('type', 'norm'))
        func = _resolve('torch.nn.utils.clip_grad_value_' if kind == 'value'
                        else 'torch.nn.utils.clip_grad_norm_')
        names = _keyword_names(func, node)
        if names is None:
            return None
        names.pop('parameters', None)
        return {**names, 'type': 'norm'}
    name = cfg_options.get(f'{where}.type', node.get('type'))
    untyped = name is None and where in _UNTYPED
    if untyped:
        name = _untyped(where, node)
    if not isinstance(name, str):
        return None
    names = _loop_arguments(name)
    if names is not None:
        names = dict(names)  # (the cached dict stays as read)
        if untyped:  # what the Runner pops before it builds the loop
            names['by_epoch'] = name == 'EpochBasedTrainLoop'
    else:
        built = _resolve(name)
        names = None if built is None else _keyword_names(built, node)
    if names is not None:  # keys the builder takes out before the class
        names.setdefault('type', name)
        last = where.rpartition('.')[2]
        for key, default in _BUILDER_KEYS.get(
                'param_scheduler' if where.startswith('param_scheduler')
                else last, {}).items():
            names.setdefault(key, default)
    return names


#: keys a builder reads and removes before the class sees the rest: mmcv's
#: ``build_norm_layer`` (``requires_grad``), MMEngine's scheduler builder
#: (``convert_to_iter_based``), MMEngine's ``initialize`` (``override``)
_BUILDER_KEYS = {'norm_cfg': {'requires_grad': True},
                 'param_scheduler': {'convert_to_iter_based': False},
                 'init_cfg': {'override': None}}


def _refused_argument(where: str, node: Any, part: str,
                      cfg_options: Dict[str, Any], rest=()
                      ) -> Optional[Tuple[str, Any, str]]:
    """None where the missing ``part`` of the dict ``node`` at ``where``
    (:func:`_missing_key`) is an argument of what that dict builds
    (``model.backbone.with_cp``: ResNet takes ``with_cp``;
    ``model.backbone.drop_path_rate``: the timm ViT passes it to timm), so
    adding it is a setting, not a typo; else ``(where, node, part)`` of the
    key refused. The keys ``rest`` below a new argument are checked the
    same way where what takes them is known
    (``optim_wrapper.clip_grad.max_norm``: torch's ``clip_grad_norm_``
    takes ``max_norm``; ``max_nrom`` is refused)."""
    names = _argument_names(where, node, cfg_options)
    if names is None or part not in names:
        return where, node, part
    for below in rest:
        if isinstance(names[part], (bool, int, float, str)):
            # an argument whose default is a plain value takes no keys
            # (model.backbone.with_cp.x would make with_cp a dict)
            return f'{where}.{part}' if where else part, {}, below
        where = f'{where}.{part}' if where else part
        names = _argument_names(where, {}, cfg_options)
        if names is None:
            return None  # nothing known takes these keys: cannot tell
        if below not in names:
            return where, {}, below
        part = below
    return None


def _argument_hint(where: str, node: Any, part: str,
                   cfg_options: Dict[str, Any]) -> str:
    """`` (did you mean <where>.<name>?)`` for the closest argument of what
    the dict at ``where`` builds, or ''."""
    return near_key_hint(where, part,
                         sorted(_argument_names(where, node, cfg_options)
                                or ()))


def check_cfg_options(cfg: Config, cfg_options: Dict[str, Any]) -> None:
    """Fail on an override whose key is not in the loaded config.

    A top-level key that MMEngine's Runner understands (``experiment_name``,
    ``custom_hooks``, ``val_cfg``...) may be added, and so may an argument
    of the class a ``type`` dict builds (``model.backbone.with_cp``); any
    other key must exist.

    Args:
        cfg (Config): the loaded config.
        cfg_options (dict): ``{'dotted.key': value}``.

    Raises:
        InputError: naming the key, the config file and the closest key.
    """
    for key in cfg_options:
        if '.' not in key and key not in cfg and key in _runner_keys():
            continue
        missing = _missing_key(cfg, key)
        if missing is None:
            continue
        # a new key may be an argument of the class its dict builds (a
        # check that imports the model stack where the dict has a type)
        reason, where, node, part = missing
        if node is None:  # an argument left unset (init_cfg=None): a dict
            node = {}  # given key by key, checked as one
            kind = cfg_options.get(f'{where}.type')
            reason = (f'{where} ({kind}) takes no key {part!r}' if kind else
                      f'{where} is None in the file: give {where}.type '
                      'too, and keys that type takes')
        rest = key.split('.')[len(where.split('.')) + 1 if where else 1:]
        refused = _refused_argument(where, node, part, cfg_options, rest)
        if refused is None:
            continue
        if refused[0] != where:  # a key below a new argument
            reason = f'{refused[0]} takes no key {refused[2]!r}'
        if '(did you mean' not in reason:
            reason += _argument_hint(*refused, cfg_options)
        raise InputError(f'--cfg-options {key}: not in {cfg.filename}: '
                         f'{reason}')


def _configs_in(folder: str, shown: int = 3) -> str:
    """``'; give a config in it (a.py, b.py, ...)'``: the first ``shown``
    Python files of ``folder`` by name, or ``''`` where it has none or
    cannot be read."""
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith('.py'))
    except OSError:
        return ''
    if not names:
        return ''
    more = ', ...' if len(names) > shown else ''
    return f'; give a config in it ({", ".join(names[:shown])}{more})'


def load_config(path: str, cfg_options: Optional[dict] = None,
                allow_new_keys: bool = False,
                given: Optional[Sequence[str]] = None) -> Config:
    """Read a Python config and apply ``--cfg-options`` overrides.

    Args:
        path (str): the config file.
        cfg_options (dict, optional): ``{'dotted.key': value}`` overrides.
        allow_new_keys (bool): accept overrides of keys the config does not
            have (MMEngine's behaviour). Defaults to False: a typo in a key
            is an error, not a silently ignored setting.
        given (sequence of str, optional): the keys of ``cfg_options`` the
            user gave, where the caller adds its own (a sweep's run:
            ``model.balance``...): :func:`~openselfsup.utils.errors.options_given` (default: every
            key).

    Raises:
        InputError: the file does not exist, is not a Python config (a
            ``.txt``, a syntax error, a failing ``_base_``), or a key is not
            in it.
    """
    if os.path.isdir(path):
        raise InputError(f'{path}: is a folder, not a config file'
                         + _configs_in(path))
    if not os.path.isfile(path):
        raise InputError(with_missing_note(f'{path}: config file not found',
                                           path))
    if not path.endswith('.py'):
        raise InputError(f'{path}: a config is a Python file (.py), e.g. '
                         'configs/demo/clp_r18_demo.py')
    try:
        # the modules custom_imports names (the model stack: seconds) are
        # imported below, after the overrides' checks: a typo is refused
        # without them
        cfg = Config.fromfile(path, import_custom_modules=False)
    except SyntaxError as exc:
        raise InputError(f'{path}:{exc.lineno}: syntax error '
                         f'in the config ({exc.msg})') from None
    except Exception as exc:  # a missing _base_, an error inside the file
        raise InputError(f'{path}: cannot read the config '
                         f'({first_line(exc, with_type=True)})') from None
    if cfg_options:
        if not allow_new_keys:
            check_cfg_options(cfg, cfg_options)
        check_variable_overrides(cfg, cfg_options)
        _open_unset(cfg, cfg_options)
        # the copies each key reaches, and which keys the command line set
        # (a copy: the key typed), for the advice on a missing path
        set_by = {copy: key for key in cfg_options
                  for copy in mirrored_overrides(cfg, {key: cfg_options[key]})}
        set_by.update((key, key) for key in cfg_options)
        moved = _moved_variables(cfg, {key: cfg_options[typed]
                                       for key, typed in set_by.items()})
        try:
            cfg.merge_from_dict({key: cfg_options[typed]
                                 for key, typed in set_by.items()})
        except TypeError as exc:  # a dict given where the file has a value
            raise InputError(f'--cfg-options: {first_line(exc)}') from None
        object.__setattr__(cfg, _UNMOVED_NOTE, moved)
        object.__setattr__(cfg, _OPTIONS_SET, set_by)
        # its text (the dump, the checkpoint's config) says so at its top
        object.__setattr__(cfg, '__class__', OptionsConfig)
        object.__setattr__(cfg, _OPTIONS_NOTE,
                           options_note(cfg, cfg_options, given))
    if given is not None:
        object.__setattr__(cfg, _OPTIONS_GIVEN, list(given))
    _import_custom_modules(path, cfg)
    return cfg


#: the attribute of a loaded config holding what
#: :func:`unmoved_copies_note` reads (:func:`_moved_variables`)
_UNMOVED_NOTE = '_openselfsup_unmoved_note'


def _moved_variables(cfg: Config, overrides: Dict[str, Any]
                     ) -> List[Tuple[str, str, Dict[str, Any]]]:
    """Before ``overrides`` (``{dotted key: value}``, the copies of each
    option included) are merged into ``cfg``: for each string variable of
    the file that names a path (:func:`_names_a_path`) and is copied as it
    is into two keys or more, of which an override moves one copy to
    another folder (``train_dataloader.dataset.data_root=/x`` of
    ``data_root = 'data/hier32'``), ``(variable, its value, {key holding
    a copy or a path under it: its value})``. A key whose value only
    starts with the variable (``ann_file=data_root + '/meta/train.txt'``)
    is no copy: an override of it moves no folder (it was read as moving
    ``data_root`` to ``''``); the same folder written another way
    (``./data/hier32``, its absolute path) moves nothing. But such a key
    under the variable's folder (``f'{data_root}/metadata.json'``) may be
    left behind by a move (:func:`unmoved_copies_note` tells which): the
    HiDisc demo's training set, kNN bank and query moved to ``/x`` still
    read ``data/hier32/metadata.json`` and ``split.json``, patients and
    labels of the old folder beside the new folder's images, without a
    word (review r95)."""
    flat = flat_config(cfg.to_dict())
    found: Dict[str, Tuple[str, str, Dict[str, Any]]] = {}
    for key, value in overrides.items():
        old = flat.get(key)
        if not (isinstance(value, str) and isinstance(old, str)) or \
                not value or _same_folder(value, old):
            continue
        source = variable_source(cfg, key)
        if source is None or source[0] in found or cfg[source[0]] != old:
            continue
        name, uses, _ = source
        copies = {use: flat[use] for use in uses
                  if flat.get(use) == old or _under(flat.get(use), old)}
        if len(copies) > 1 and _names_a_path(old, copies):
            found[name] = (name, old, copies)
    return list(found.values())


def _under(path: Any, folder: str) -> bool:
    """Whether the string ``path`` is written as a path inside ``folder``
    (``data/hier32/metadata.json`` of ``data/hier32`` or ``data/hier32/``;
    not ``data/hier32_train.txt``)."""
    return isinstance(path, str) and path.startswith(folder.rstrip('/') + '/')


def _moved_path(path: str, folder: str, target: str) -> str:
    """``path`` (``folder`` itself, or a path :func:`_under` it) with
    ``folder`` replaced by ``target``."""
    rest = path[len(folder):].lstrip('/')
    return target if not rest else f"{target.rstrip('/')}/{rest}"


def _same_folder(a: str, b: str) -> bool:
    """Whether the paths ``a`` and ``b`` name the same file or folder
    (``./data/hier32``, ``data/hier32/`` and its absolute path do)."""
    return os.path.normpath(a) == os.path.normpath(b) or \
        os.path.realpath(a) == os.path.realpath(b)


#: the names of the keys whose value is a path (a dataset's folder, its
#: list, the HLSS metadata and split files)
_PATH_KEYS = ('data_root', 'ann_file', 'metadata', 'split', 'data_prefix')


def _names_a_path(value: str, copies: Sequence[str]) -> bool:
    """Whether a variable of ``value`` copied into the keys ``copies``
    names a path: a key of :data:`_PATH_KEYS` holds it, or it holds a
    path separator, or it exists on disk (not ``layout='opensrh'``, nor
    a transform's ``backend='pillow'``)."""
    return any(use.rsplit('.', 1)[-1] in _PATH_KEYS for use in copies) or \
        '/' in value or os.sep in value or os.path.exists(value)


def _some_keys(keys: Sequence[str]) -> str:
    """The first four of ``keys``, then how many more."""
    more = f' and {len(keys) - 4} more' if len(keys) > 4 else ''
    return f'{", ".join(keys[:4])}{more}'


def _dataset_of(key: str) -> Optional[str]:
    """The dataset config (dotted) nearest above ``key``, told by its place:
    a dict under a ``dataset`` key (a loader's, a wrapper's, extraction's
    top-level one), an item of a wrapper's ``datasets`` list, a kNN
    ``bank`` or ``query`` (``knn_eval``'s and its hook's); None outside
    any (a model's weights file)."""
    parts = key.split('.')
    for end in range(len(parts) - 1, 0, -1):
        if parts[end - 1] in ('dataset', 'bank', 'query') or (
                end > 1 and parts[end - 2] == 'datasets'
                and parts[end - 1].isdigit()):
            return '.'.join(parts[:end])
    return None


def _folders(paths: Sequence[str]) -> List[str]:
    """``paths`` less those naming a folder named before
    (:func:`_same_folder`)."""
    out: List[str] = []
    for path in paths:
        if not any(_same_folder(path, seen) for seen in out):
            out.append(path)
    return out


def _all_set_from(cfg: Config, name: str, keys: Sequence[str]) -> bool:
    """Whether the config file's variable ``name`` set every one of the
    dotted ``keys`` when the file was read (:func:`_traced_uses`), so that
    setting it in the file moves them all: a literal of its value
    (``data_root='data/hier32'`` beside ``data_root = 'data/hier32'``) it
    did not set; False where that cannot be told."""
    try:
        held, computed, _, _ = _traced_uses(cfg, name)
    except _Untraced:
        return False
    return set(keys) <= {*held, *computed}


def unmoved_copies_said(cfg: Config) -> None:
    """The warnings :func:`unmoved_copies_note` would give ``cfg`` said by
    the caller already, not again, and not made (a lambda sweep says them
    once, at its start, and loads each run's config again: its run's log
    says none, and making them traced the variable again, review r112)."""
    object.__setattr__(cfg, _UNMOVED_NOTE, None)


def unmoved_copies_note(cfg: Config, read: Optional[Sequence[str]] = None,
                        *, joins: Callable[[dict, str], bool],
                        flags: Optional[Dict[str, str]] = None
                        ) -> List[str]:
    """Warnings for the run's log where the ``--cfg-options`` given to
    :func:`load_config` moved some of the copies of a path variable of
    the config file (``data_root``, which the HiDisc demo copies into its
    training set, kNN bank and query sets and their hook) to another
    folder and left others on the variable's:
    ``train_dataloader.dataset.data_root=/x`` trained on ``/x`` and the
    kNN table came from ``data/hier32``, exit 0, no word. One line per
    variable (``data_root``, ``metadata``, ``split``), naming its copies
    left, the paths under its folder left in datasets (:func:`_dataset_of`:
    ``metadata.json``, a list written ``f'{data_root}/meta/val.txt'`` by a
    dataset with no ``data_root`` of its own; a path elsewhere, a model's
    weights file, is not set from it), and the ``--cfg-options`` that move
    them too; none where every copy was set, no option changed one, or
    the file itself points its keys at several folders (only options
    count). Only the sections the caller reads count, for the copies left
    and for the options' moves alike (an option moving the test set alone
    of a run that trains and validates moved nothing it reads).

    A path under the folder goes where its own dataset's copy went (the
    HiDisc demo's training set moved to ``/x`` and its kNN sets to ``/y``
    were all told ``/y``, review r98), or where the options moved every
    copy; where they moved them to several folders and none in its
    dataset, the line names it without a folder. A path its dataset
    joins to the ``data_root`` it copies from the variable (``joins``) is
    given relative to the folder, as the dataset reads it (``''`` for
    the folder itself), any other in full. A path under the folder of a
    deeper variable that the options moved too (``meta_dir =
    f'{data_root}/meta'``) is that one's alone to name, where its
    dataset's copy of the outer variable goes where no option of its own
    moved it (review r112).

    Args:
        cfg (Config): a config :func:`load_config` loaded.
        read (sequence of str, optional): the top-level sections the
            caller reads (``knn_eval.py``: the model and ``knn_eval``;
            ``extract.py``: the model and ``dataset``; a run that trains
            and validates every one but ``test_dataloader``); None: all.
        joins (callable): ``joins(dataset config, key under it)``, whether
            that dataset joins a relative path at the key to its
            ``data_root`` (:func:`~openselfsup.datasets.data_files.
            joins_to_root`, each type's own).
        flags (dict, optional): ``{option key: the flag that set it}``
            for options the command set from a flag of its own
            (``extract.py --data-root``: ``dataset.data_root``), named so.
    """
    moved = vars(cfg).get(_UNMOVED_NOTE)
    if not moved:
        return []
    flat = flat_config(cfg.to_dict())
    dicts = dict(config_dicts(cfg.to_dict()))
    flags = flags or {}

    def reads(use: str) -> bool:
        return read is None or use.split('.', 1)[0] in read

    exact = {name: [use for use, value in copies.items() if value == root]
             for name, root, copies in moved}
    # the keys each variable may name: its copies, and the paths under its
    # folder in a dataset; each the innermost variable's (a path under
    # meta_dir = f'{data_root}/meta', both moved, is meta_dir's:
    # data_root's line advised it another folder, review r98)
    own: Dict[str, str] = {}
    for name, root, copies in sorted(moved, key=lambda m: len(m[1])):
        own.update((use, name) for use in copies if use in exact[name]
                   or _dataset_of(use) is not None)
    # each copy an option set in a section read, of each variable: the
    # folder it moved to, None where it stays (the same folder written
    # another way, a section dropped)
    went_of: Dict[str, Dict[str, Optional[str]]] = {}
    for name, root, _ in moved:
        went_of[name] = {}
        for use in exact[name]:
            if own.get(use) == name and reads(use) and \
                    option_setting(cfg, use) is not None:
                new = flat.get(use)
                went_of[name][use] = new if isinstance(new, str) and new \
                    and not _same_folder(new, root) else None

    def goes(name: str, root: str, dataset: str) -> Optional[str]:
        """Where ``dataset``'s copy of the variable ``name`` goes: the
        folder an option moved it to (``root`` where it stays), else the
        one folder the options moved the others to (which the line
        advises it); None where they moved them to several."""
        went = went_of[name]
        here = [to for use, to in went.items() if _dataset_of(use) == dataset]
        folders = _folders([to for to in (here or went.values()) if to])
        if here and not folders:
            return root
        return folders[0] if len(folders) == 1 else None

    said = []
    for name, root, copies in moved:
        went = went_of[name]
        folders = _folders([f for f in went.values() if f is not None])
        options = {f: sorted({option_setting(cfg, use) for use, to in
                              went.items() if to and _same_folder(to, f)})
                   for f in folders}
        # the variables whose folder holds this one's (data_root of
        # metadata = f'{data_root}/metadata.json'), innermost first: a
        # dataset they moved takes this one's path along (review r112:
        # the training set moved to new32 by data_root and the bank's
        # metadata to other32, the metadata line advised the training
        # set other32/metadata.json, the data_root line new32)
        outer = sorted(((o, r) for o, r, _ in moved if _under(root, r)),
                       key=lambda m: -len(m[1]))
        # every place the options point its path at, with theirs too
        anywhere = _folders(folders + [
            _moved_path(root, r, to) for o, r in outer
            for to in went_of[o].values() if to])
        moves: Dict[str, str] = {}
        unsure: List[str] = []
        left: List[str] = []
        aimed: List[str] = []
        for use, value in copies.items():
            # still the file's value (a section replaced, custom_hooks=[],
            # holds it no more)
            if own.get(use) != name or option_setting(cfg, use) is not None \
                    or not reads(use) or flat.get(use) != value:
                continue
            where = _dataset_of(use)
            here = [went[e] for e in exact[name] if e in went
                    and e != use and _dataset_of(e) == where]
            if not here and where is not None and outer:
                # its dataset goes where the innermost outer variable's
                # copy in it goes: with the datasets going there whose
                # copy of this one an option moved, else along
                o, r = outer[0]
                to = goes(o, r, where)
                if to is None:
                    left.append(use)
                    unsure.append(use)
                    continue
                here = [went[e] for e in went if _dataset_of(e) not in (
                    None, where) and goes(o, r, _dataset_of(e)) is not None
                    and _same_folder(goes(o, r, _dataset_of(e)), to)] or [
                    None if _same_folder(to, r) else
                    _moved_path(root, r, to)]
            if here and all(to is None for to in here):
                continue  # its dataset stays on the folder
            targets = _folders([to for to in here if to]) or anywhere
            left.append(use)
            if len(targets) != 1 or None in here:
                unsure.append(use)
                continue
            aimed.append(targets[0])
            joined = where is not None and \
                f'{where}.data_root' in exact[name] and \
                joins(dicts.get(where) or {}, use[len(where) + 1:])
            moves[use] = value[len(root):].lstrip('/') if joined else \
                _moved_path(value, root, targets[0])
        if not left or not folders:
            continue
        # the copies an option of another reaches (custom_hooks.0.bank
        # follows knn_eval.bank) need none of their own
        reached = mirrored_overrides(cfg, {**moves,
                                           **dict.fromkeys(unsure)})
        fix = ' '.join(
            # '' (the dataset's folder itself): the shell passes key=
            f"{use}=''" if moves[use] == '' else shlex.quote(
                f'{use}={option_text(moves[use]) or repr(moves[use])}')
            for use in left if use in moves and use not in reached)
        unsure = [use for use in unsure if use not in reached]
        # options named as given: a command's own flag by its name
        typed = [k for f in folders for k in options[f] if k not in flags]
        lead = '--cfg-options ' if typed and len(typed) == sum(
            len(options[f]) for f in folders) else ''

        def named(keys: Sequence[str]) -> str:
            return ', '.join(flags[k] if k in flags else
                             k if lead else f'--cfg-options {k}'
                             for k in keys)
        if len(folders) == 1:
            went_to = f'{named(options[folders[0]])} moved to ' \
                f'{folders[0]} keys that hold the value {cfg.filename} ' \
                f'gives its variable {name} ({root})'
            both = 'both paths'
        else:
            each = [f'{named(options[f])} (to {f})' for f in folders]
            went_to = f'{", ".join(each[:-1])} and {each[-1]} moved keys ' \
                f'that hold the value {cfg.filename} gives its variable ' \
                f'{name} ({root}) to {len(folders)} folders'
            both = f'{len(folders) + 1} folders'
        copied = [use for use in left if copies[use] == root]
        paths = [use for use in left if copies[use] != root]
        kept = ([f'{len(copied)} of them ({_some_keys(copied)})']
                if copied else []) + (
            [f'{len(paths)} path{"s" if len(paths) > 1 else ""} under it '
             f'({_some_keys(paths)})'] if paths else [])
        set_too = f'; set them too: --cfg-options {fix}' if fix else ''
        if unsure:
            set_too += (
                f'; {_some_keys(unsure)}: no option moved their dataset '
                f'and the options moved {name} to {len(anywhere)} '
                'folders: set them to the folder that dataset reads')
        where = _variable_file(cfg.filename, name) \
            if cfg.filename and not unsure and \
            len(_folders(folders + aimed)) == 1 and \
            _all_set_from(cfg, name, left) else None
        there = f'; or set {name} in {where}' if where else ''
        said.append(
            f'warning: {lead}{went_to} and left {" and ".join(kept)}'
            f' on {root}: the config now points at {both}{set_too}{there}')
    return said


#: the attribute of an :class:`OptionsConfig` holding its
#: :func:`options_note`
_OPTIONS_NOTE = '_openselfsup_options_note'


def options_note(cfg: Config, cfg_options: Dict[str, Any],
                 given: Optional[Sequence[str]] = None) -> str:
    """The comment an :class:`OptionsConfig`'s text starts with: the
    ``--cfg-options`` given (the keys of ``cfg_options`` in ``given``,
    every key where it is None; each as the command line writes it where
    :func:`option_text` can, else Python's ``repr``), the settings the
    command set itself (the others: a balance sweep's per-run ``model.
    balance``, hooks, schedule; they were called ``--cfg-options`` the
    user never gave), and
    that the file's top-level variables (:func:`config_variables` of the
    changed ``cfg``) keep the file's values while the sections hold what
    ran: ``--cfg-options train_dataloader.dataset.pipeline.1.transforms.
    0.0.scale=32`` trained 32 px crops and the dump still said
    ``crop_size = 224``. Which variable a section copied cannot be told
    exactly from the loaded config (a key that merely holds the same
    value is no copy), so none is changed."""
    import textwrap
    def said(keys):
        return ['#   ' + shlex.quote(
            f'{key}={option_text(cfg_options[key]) or repr(cfg_options[key])}')
            for key in keys]
    users = [k for k in cfg_options if given is None or k in given]
    own = [k for k in cfg_options if k not in users]
    lines = []
    if users:
        lines += ['# This config was changed with --cfg-options:',
                  *said(users)]
    if own:
        lines += ['# This config was changed by the command that ran it '
                  '(its own settings of this run):', *said(own)]
    names = ', '.join(config_variables(cfg)) or 'none here'
    lines += textwrap.wrap(
        'The sections (model, data loaders, schedules, hooks...) hold the '
        'values this run used. The top-level variables of the config file '
        f'({names}) keep the file\'s values: where an option changed a '
        'section that copied one, the section, not the variable, says '
        'what ran.', width=77, initial_indent='# ',
        subsequent_indent='# ')
    return '\n'.join(lines) + '\n'


class OptionsConfig(Config):
    """A config :func:`load_config` changed with ``--cfg-options``: its
    text (``pretty_text``: the config dump in the work dir, the
    checkpoint's ``meta['cfg']``, ``vis_data/config.py``, the log) starts
    with :func:`options_note`, a comment, so it still loads and builds
    the same run. The note is kept through copies and pickling."""

    @property
    def pretty_text(self) -> str:
        return vars(self).get(_OPTIONS_NOTE, '') + super().pretty_text

    def __getstate__(self):
        return super().__getstate__() + (vars(self).get(_OPTIONS_NOTE),)

    def __setstate__(self, state):
        super().__setstate__(state[:-1])
        if state[-1] is not None:
            object.__setattr__(self, _OPTIONS_NOTE, state[-1])


def option_setting(cfg: Config, key: str) -> Optional[str]:
    """The ``--cfg-options`` key given to :func:`load_config` that set the
    dotted ``key`` of ``cfg``: the key itself, a section above it
    (``train_dataloader.dataset=...`` sets ``...dataset.split``), or the
    key whose copy it is (:func:`mirrored_overrides`); None where the
    value is the file's (or ``cfg`` was not made by :func:`load_config`)."""
    options = vars(cfg).get(_OPTIONS_SET) or {}
    parts = key.split('.')
    for end in range(len(parts), 0, -1):
        found = options.get('.'.join(parts[:end]))
        if found is not None:
            return found
    return None


def _custom_imports_failure(imports: Any) -> Optional[str]:
    """Import the modules of a ``custom_imports`` setting (the dict
    MMEngine takes: ``imports``, ``allow_failed_imports``) as
    ``Config.fromfile`` does (``import_modules_from_strings``); None where
    they were imported, else the first line of the error (an
    ``ImportError``, an error raised inside a module, a bad dict, a
    ``sys.exit`` on import: ``SystemExit: 3``, which stopped
    ``extract.py`` with rc 3 and no line, review r120; Ctrl-C still
    stops). The modules are imported one at a time, in their order, so
    that an error the module raises names it: ``importing my_algos raised
    SystemExit: 3`` (the line said ``SystemExit: 3``, which names no
    module); MMEngine's own ``ImportError`` names it already (``Failed to
    import my_algos``)."""
    from mmengine.utils import import_modules_from_strings
    names = imports.get('imports') if isinstance(imports, dict) else None
    names = [names] if isinstance(names, str) else names
    each = isinstance(names, list) and all(isinstance(n, str) for n in names)
    name = None
    try:
        if not each:  # MMEngine's own refusal of the setting, if any
            import_modules_from_strings(**imports)
            return None
        # the dict's keys checked before anything is imported
        import_modules_from_strings(**dict(imports, imports=None))
        for name in names:
            import_modules_from_strings(**dict(imports, imports=[name]))
    except (Exception, SystemExit) as exc:  # noqa: BLE001 (the callers')
        said = first_line(exc, with_type=True)
        if name is None or said == f'ImportError: Failed to import {name}':
            return said
        return f'importing {name} raised {said}'
    return None


def _import_custom_modules(path: str, cfg: Config) -> None:
    """Import the modules the config's ``custom_imports`` names (after the
    overrides: an override of them is the one imported), as
    ``Config.fromfile`` would have; a failure is the one line an error
    inside the file gives."""
    imports = cfg.get('custom_imports')
    if not imports:
        return
    failed = _custom_imports_failure(imports)
    if failed is not None:
        raise InputError(f'{path}: cannot read the config (custom_imports: '
                         f'{failed})')


def import_recorded_modules(meta: Any) -> Optional[str]:
    """Import the modules the ``custom_imports`` of the config a
    checkpoint's ``meta['cfg']`` records names (read as data,
    :func:`config_text_section`), as loading that config would
    (:func:`_import_custom_modules`, one module at a time): a
    ``model.type`` its run registered there (a user's subclass of MoCoV3
    in their own module, the usual way) resolves then, and is judged by
    its ancestry as the config would be (review r108: the type did not
    resolve, the line sent the user to that config, which was then
    refused).

    Importing runs code, but not the checkpoint's: the text only names
    modules, and only those found on this process's path (``sys.path``,
    ``PYTHONPATH``: the user's own, installed or put there by them) are
    imported, the ones that running the recorded config, as the line
    about it tells the user to, imports anyway. Modules of the standard
    library are not imported (no algorithm is registered there, and some
    act on import: ``antigravity`` opens a web browser, ``this``
    prints). Call it only where the recorded type does not resolve
    otherwise.

    Where the recorded config allows failed imports
    (``allow_failed_imports=True``), a module that cannot be imported is
    passed over as loading it passes over one (an ``ImportError``, without
    MMEngine's warning), not named as the reason a type was not judged:
    it may have failed when the checkpoint was trained too (review r120).

    Returns:
        str | None: the first failure, ``"ModuleNotFoundError: No module
        named 'my_algos'"`` (the others are still imported); None where
        every module was imported or allowed to fail, or the text names
        none (or no list of names: not read).
    """
    import sys
    import warnings
    text = meta.get('cfg') if isinstance(meta, dict) else None
    imports = config_text_section(text, 'custom_imports') \
        if isinstance(text, str) else None
    names = imports.get('imports') if isinstance(imports, dict) else None
    names = [names] if isinstance(names, str) else names
    if not isinstance(names, list):
        return None
    allowed = bool(imports.get('allow_failed_imports'))
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', '.* failed to import and is ignored')
        failures = [_custom_imports_failure(dict(
                        imports=[name], allow_failed_imports=allowed))
                    for name in names if isinstance(name, str) and
                    name.split('.')[0] not in sys.stdlib_module_names]
    return next((f for f in failures if f is not None), None)


def recorded_type_class(meta: Any, key: str = 'type'
                        ) -> Tuple[Optional[type], Optional[str]]:
    """The class the model registry resolves the type at ``model.<key>``
    of a checkpoint's recorded config (:func:`saved_model_type`) to, the
    modules of its ``custom_imports`` imported first where it does not
    resolve otherwise (:func:`import_recorded_modules`: a user's algorithm
    or backbone registered in their own module), and why it may not
    resolve (:func:`unimported_words`). The one way a recorded type is
    judged by its class: ``knn_eval.py``'s algorithm and ``extract.py``'s
    backbone (review r108; a user's slide-level backbone was sent to a
    config of it, whose extraction takes no patches).

    Returns:
        tuple: ``(class or None, words or None)``: None for a type not
        recorded or not resolved; the words where an import failed.
    """
    from .registry import MODELS
    kind = saved_model_type(meta, key)
    if kind is None:
        return None, None
    found = MODELS.get(kind)
    if found is not None:
        return found, None
    failed = import_recorded_modules(meta)
    return MODELS.get(kind), failed and unimported_words(failed)


def unimported_words(failure: str) -> str:
    """Why a recorded type was not judged, ``failure`` the first failed
    import (:func:`import_recorded_modules`)."""
    return ('the custom_imports of the config that trained it cannot be '
            f'imported here ({failure})')


def _open_unset(cfg: Config, cfg_options: Dict[str, Any]) -> None:
    """An empty dict in place of each None the overrides set keys below
    (``model.backbone.init_cfg.type=Pretrained`` where the file has
    ``init_cfg=None``): MMEngine's merge cannot put keys into None."""
    for key in cfg_options:
        node: Any = cfg
        parts = key.split('.')
        for part in parts[:-1]:
            if isinstance(node, (list, tuple)):
                if not (part.lstrip('-').isdigit()
                        and -len(node) <= int(part) < len(node)):
                    break
                nxt = node[int(part)]
            elif isinstance(node, (dict, Config)) and part in node:
                nxt = node[part]
                if nxt is None:
                    node[part] = nxt = ConfigDict()
            else:
                break
            node = nxt


def mirrored_overrides(cfg: Config, cfg_options: Dict[str, Any]
                       ) -> Dict[str, Any]:
    """The same overrides for the copies of a section that is read itself
    and was also copied when the file was read: ``knn_eval.k=20`` reaches
    the training-time hook, which the HLSS configs build as
    ``dict(type='KNNEvalHook', **knn_eval)``, as well as ``knn_eval``
    (which ``tools/knn_eval.py`` reads). A key the same options set
    explicitly wins. A copy that is itself a top-level section
    (``test_dataloader = val_dataloader``) is read on its own and named on
    its own: an override of one leaves the other alone
    (``test_dataloader.dataset.ann_file`` must not move the validation
    onto the test set)."""
    mirrored: Dict[str, Any] = {}
    for key, value in cfg_options.items():
        top, _, rest = key.partition('.')
        # a section of one or two keys may equal a nested dict by chance
        if rest and top in cfg and isinstance(cfg[top], dict) and \
                len(cfg[top]) > 2 and _live(cfg, top):
            for copy in _copies(cfg, top):
                if '.' in copy:  # inside another section, not an alias
                    mirrored[f'{copy}.{rest}'] = value
    return mirrored


def default_work_dir(config_path: str) -> str:
    """``work_dirs/<config path without configs/ and .py>`` as in the
    original."""
    rel = os.path.splitext(os.path.normpath(config_path))[0]
    parts = rel.split(os.sep)
    if 'configs' in parts:
        parts = parts[parts.index('configs') + 1:]
    return os.path.join('work_dirs', *parts)


#: the largest seed of numpy's global generator (``np.random.seed``)
NUMPY_SEED_MAX = 2 ** 32 - 1


def is_whole(value: Any) -> bool:
    """An int that is not a bool, or a float holding a whole number
    (``3.0``: MMEngine's training loops take it, ``int()`` of it, a
    schedule's milestones match the steps it equals, and its intervals
    and accumulation count are only taken modulo)."""
    return is_int(value) or isinstance(value, float) and value.is_integer()


def accumulation_count(value: Any) -> Optional[int]:
    """The iterations MMEngine's ``OptimWrapper`` accumulates over for an
    ``accumulative_counts`` of ``value``, as an int: a positive whole
    number (``2.0`` is 2: MMEngine asserts only ``> 0`` and takes the
    count modulo); None for any other value, which MMEngine refuses
    (0, a string) or misreads (``2.5`` steps every 5 iterations, each
    loss divided by 2.5; ``True`` is 1). The one rule of the launchers'
    check (:data:`~openselfsup.apis.train.RUN_VALUES`,
    :func:`wrapper_counts`) and of the runner (``--auto-scale-lr``, the
    accumulation windows a checkpoint saves)."""
    return int(value) if is_whole(value) and value >= 1 else None


def process_share(samples: int, world: int) -> int:
    """The samples MMEngine's ``DefaultSampler`` gives the first of
    ``world`` processes of a dataset of ``samples``: ``ceil(samples /
    world)`` (with ``round_up``, every process's: the list padded from
    its start to a multiple of ``world``; without, the first process's)."""
    return -(-samples // world)


def sampler_epoch_length(samples: int, world: int, batch: int,
                         drop_last: bool = True) -> int:
    """The iterations of an epoch of MMEngine's training loader on the
    first of ``world`` processes (the one that saves the checkpoint): its
    ``DefaultSampler`` share of ``samples`` (:func:`process_share`) in
    batches of ``batch`` per process, the short last batch dropped
    (``drop_last``, the CLP and FSP configs) or kept. With the same total
    batch (``batch x world``) and data it depends on the process count:
    69,100 images (the published 80k split without class 5) in batches of
    256 are 269 iterations on 1 to 16 processes, 270 on 32."""
    share = process_share(samples, world)
    return share // batch if drop_last else -(-share // batch)


def numpy_seed(value: Any) -> bool:
    """Whether numpy's global generator takes ``value`` as its seed: an
    int (not a bool) from 0 to :data:`NUMPY_SEED_MAX`."""
    return is_int(value) and 0 <= value <= NUMPY_SEED_MAX


def _seed_shown(seed: Any) -> str:
    """A checkpoint's seed in a refusal, at most some 40 characters: a
    crafted meta's integer past Python's 4300 digits (whose ``repr``
    raises ValueError) or a long string was a traceback or a screen."""
    try:
        text = repr(seed)
    except ValueError:  # int -> str past sys.get_int_max_str_digits()
        return f'an integer of {seed.bit_length()} bits'
    return text if len(text) <= 40 else f'{text[:36]}...'


def seeded_workers(loader: Any) -> int:
    """The DataLoader workers of the loader config ``loader`` that
    MMEngine's ``worker_init_fn`` seeds (each with its process's seed plus
    ``num_workers * rank + worker id``, bound when the loader is built):
    its ``num_workers`` where that is an int above 0 and the loader names
    no ``worker_init_fn`` of its own; else 0."""
    workers = loader.get('num_workers') if isinstance(loader, dict) \
        else None
    if not (is_int(workers) and workers > 0) or 'worker_init_fn' in loader:
        return 0
    return workers


def seed_additions(cfg: Config, world: int,
                   loaders: Optional[Sequence[str]] = None
                   ) -> Tuple[int, int, List[str]]:
    """What MMEngine adds to ``randomness.seed`` before it seeds numpy, on
    ``world`` processes (:func:`check_seed_reach` says where): the rank
    where ``diff_rank_seed``, and in each DataLoader worker (of a loader
    without a ``worker_init_fn`` of its own) ``num_workers * rank + worker
    id``, for the ``loaders`` a run builds (default: the training loader
    and, where ``val_cfg`` is set, the validation loader).

    Returns:
        tuple: ``(rank_add, worker_add, why)``: the largest rank added (0
        without ``diff_rank_seed``), the largest worker addition (of the
        loader that adds most; 0 without workers) and the words for each
        nonzero one, the rank's first.
    """
    randomness = cfg.get('randomness')
    randomness = randomness if isinstance(randomness, dict) else {}
    last = max(world, 1) - 1  # the highest rank
    rank_add = last if randomness.get('diff_rank_seed') else 0
    why = [f'the rank with diff_rank_seed=True: up to {last}'] \
        if rank_add else []
    if loaders is None:
        loaders = ['train_dataloader']
        if cfg.get('val_cfg') is not None:
            loaders.append('val_dataloader')
    worker_add = 0
    for name in loaders:
        workers = seeded_workers(cfg.get(name))
        if not workers:
            continue
        add = workers * last + workers - 1
        if add > worker_add:
            worker_add = add
            worker_why = (f'{name}.num_workers ({workers}) x rank + '
                          f'worker id in its DataLoader workers: up to {add}')
    if worker_add:
        why.append(worker_why)
    return rank_add, worker_add, why


def check_seed_reach(cfg: Config, world: int,
                     resumed: Optional[Tuple[str, Any]] = None) -> None:
    """Refuse a ``randomness.seed`` that numpy takes but the seeds MMEngine
    derives from it on ``world`` processes pass numpy's bound
    (:data:`NUMPY_SEED_MAX`): its ``set_random_seed`` seeds numpy with the
    seed plus the rank where ``diff_rank_seed`` (a ValueError on ranks 1
    and up only: a multi-GPU job that fails after the launcher started
    it), and each DataLoader worker (MMEngine's ``worker_init_fn``, where
    a loader names none of its own) with that process's seed plus
    ``num_workers * rank + worker id`` (worker 1 already on one process:
    a failure in the first epoch), for the training loader and, in a run
    that validates, the validation loader. A seed of None (MMEngine draws
    one below 2**31) is not checked; its type and range are those of the
    run values' table (checked before). Torch-free: the launchers'
    ``--check-config`` runs it (``--check-world``; without it, for one
    process), the run with its own process count.

    ``resumed``: ``(checkpoint, the seed its meta holds)`` of a run that
    resumes. MMEngine's ``Runner.resume`` re-seeds with the checkpoint's
    seed where it is not None and differs from ``randomness.seed``
    (``set_randomness``: plus the rank with ``diff_rank_seed``), after the
    DataLoaders were built with the config's seed (checked without
    ``resumed``): that seed is checked, numpy's range and the rank.

    Raises:
        InputError: one line naming the seed, the largest seed MMEngine
            would give numpy and why, and the largest seed that fits (for a
            checkpoint's: the processes it fits, or a new run).
    """
    randomness = cfg.get('randomness')
    randomness = randomness if isinstance(randomness, dict) else {}
    seed = randomness.get('seed')
    rank_add, worker_add, why = seed_additions(cfg, world)
    if resumed is not None:
        path, seed_of_config = resumed[0], seed
        seed = resumed[1]
        if seed is None or seed == seed_of_config:
            return  # MMEngine keeps the config's seed
        new_run = ('start a new run from its weights, without --resume: '
                   f'--cfg-options load_from={path} --work-dir NEW_DIR')
        head = (f'--resume from {path}: its meta holds the seed '
                f'{_seed_shown(seed)}, '
                'which MMEngine\'s resume seeds numpy with, in place of '
                f'randomness.seed = {seed_of_config!r} in {cfg.filename}')
        if not numpy_seed(seed):
            raise InputError(f'{head}: numpy takes an integer from 0 to '
                             f'{NUMPY_SEED_MAX}; {new_run}')
        if seed + rank_add <= NUMPY_SEED_MAX:
            return
        raise InputError(
            f'{head}: on {world} process(es) up to {seed + rank_add} (the '
            f'seed, plus {why[0]}), past numpy\'s {NUMPY_SEED_MAX}; resume '
            f'on at most {NUMPY_SEED_MAX - seed + 1} process(es), or '
            f'{new_run}')
    if not is_int(seed):
        return
    reach = seed + rank_add + worker_add
    if reach <= NUMPY_SEED_MAX:
        return
    raise InputError(
        f'randomness.seed = {seed} in {cfg.filename}: on {world} '
        f'process(es) MMEngine seeds numpy with up to {reach} (the seed, '
        f'plus {", plus ".join(why)}), past numpy\'s {NUMPY_SEED_MAX}; use '
        f'a seed of at most {NUMPY_SEED_MAX - rank_add - worker_add} (fix '
        'the config or --cfg-options randomness.seed=...)')


#: model keys (at any depth) that do not make another model: where its
#: initial weights come from (:data:`INITIAL_WEIGHT_KEYS`: a resume
#: replaces them; a new run from other weights is a run of the same
#: model), and the data preprocessor, which holds no weights and which
#: ``apply_fast_path`` rewrites by device (``augment_on`` /
#: ``channels_last`` 'auto': one config, run on a GPU and on a CPU,
#: differs there)
_NOT_THE_MODEL = INITIAL_WEIGHT_KEYS | {'data_preprocessor'}


#: model keys (at any depth) whose values train the same weights another
#: way: a run resumed with another ``base_momentum`` (the momentum
#: encoder's EMA), temperature, loss weight, lambda, margin or dropout is
#: a fine-tune of the same weights, not another model. Compared apart
#: (:func:`saved_hyper_parameter_changes`: the resume's warning), not
#: refused (:func:`saved_model_difference`)
HYPER_PARAMETER_KEYS = frozenset((
    'base_momentum', 'momentum', 'temperature', 'loss_weight', 'weights',
    'balance', 'margin', 'align_weight', 'dropout', 'drop_path_rate'))


def is_hyper_parameter(key: str) -> bool:
    """Whether the dotted model ``key`` is (or lies below) one of
    :data:`HYPER_PARAMETER_KEYS` (``head.loss.loss_weight``,
    ``loss.weights.patient``)."""
    return not HYPER_PARAMETER_KEYS.isdisjoint(key.split('.'))


def _code_keys(flat: dict, unreadable) -> tuple:
    """The keys of a flattened saved config whose value is code (not read
    as data): they and the keys below them are not compared."""
    return tuple(k for k, v in flat.items() if v is unreadable)


def saved_model_difference(text: Optional[str], cfg) -> Optional[str]:
    """How the model of the run whose config text is ``text`` (MMEngine
    stores it in a checkpoint's ``meta['cfg']``; read as data, never
    executed: the file may come from elsewhere) differs from ``cfg``'s.
    Keys under :data:`_NOT_THE_MODEL` (initial weights, data
    preprocessor) are not compared, nor hyper-parameters
    (:func:`is_hyper_parameter`: :func:`saved_hyper_parameter_changes`).

    Returns:
        str | None: the first differing key (the shallowest), the saved
        value first: ``model.<key>: <there> -> <here>``
        (:func:`key_change`); None when the models agree or ``text`` is
        None or holds no readable model.
    """
    found = _model_differences(text, cfg)
    if not found or not found[2]:
        return None
    old, new, diff = found
    key = diff[0]
    return key_change(f'model.{key}', old.get(key, UNSET),
                      new.get(key, UNSET))


def saved_hyper_parameter_changes(text: Optional[str], cfg) -> List[str]:
    """The model hyper-parameters (:func:`is_hyper_parameter`) of the run
    whose config text is ``text`` that ``cfg`` changes, each as
    :func:`key_change` writes it (``model.base_momentum: 0.004 ->
    0.01``), the shallowest first; empty where none differ."""
    found = _model_differences(text, cfg, hyper=True)
    if not found:
        return []
    old, new, diff = found
    return [key_change(f'model.{k}', old.get(k, UNSET), new.get(k, UNSET))
            for k in diff]


def hyper_parameter_changes_said(text: Optional[str], cfg) -> Optional[str]:
    """What a resume's warning and a new run's refusal say of the model
    hyper-parameters ``cfg`` changes from the run whose config text is
    ``text`` (:func:`saved_hyper_parameter_changes`, each old and new):
    ``this config's model hyper-parameters differ from those of the run
    that wrote it: model.base_momentum: 0.004 -> 0.01``; None where none
    differ."""
    changed = saved_hyper_parameter_changes(text, cfg)
    if not changed:
        return None
    return ("this config's model hyper-parameters differ from those of the "
            f'run that wrote it: {", ".join(changed)}')


def _model_differences(text: Optional[str], cfg, hyper: bool = False
                       ) -> Optional[Tuple[dict, dict, List[str]]]:
    """``(saved, cfg's, keys)``: the flattened models of
    :func:`saved_model_difference` and their differing keys, the
    shallowest first (``hyper``: the hyper-parameters' alone, else the
    others'); None where there is nothing to compare."""
    if text is None or 'model' not in cfg:
        return None
    saved = config_text_section(text, 'model')
    if not isinstance(saved, dict):
        return None
    old, new = flat_config(saved), flat_config(cfg.model.to_dict())
    code = _code_keys(old, UNREADABLE)
    # the shallowest first, a type before its arguments: model.type names
    # two algorithms better than a key deep in their backbones
    diff = sorted((k for k in set(old) | set(new) if old.get(k) != new.get(k)
                   and not key_below(k, code)
                   and _NOT_THE_MODEL.isdisjoint(k.split('.'))
                   and is_hyper_parameter(k) == hyper),
                  key=lambda k: (k.count('.'), not k.endswith('type'), k))
    return old, new, diff


def _same_value(a: Any, b: Any) -> bool:
    """Whether ``a`` and ``b`` are equal and of the same types, item by
    item (``1 != True``, ``[2] != (2,)`` here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(map(_same_value, a, b))
    return a == b


def option_text(value: Any) -> Optional[str]:
    """``value`` (a number, bool, None, a string, a list or tuple of them)
    written as a ``--cfg-options`` value that :func:`parse_cfg_options`
    (MMEngine's ``DictAction`` reading, its spaces kept:
    :func:`parse_option_value`) reads back as the same value of the same
    type (``[2]``, ``(2,)``); None where none does: a dict, a string with
    quotes, brackets, whitespace other than a space or spaces at its ends
    (dropped when read), or one read as another type (``'16'``,
    ``'None'``, ``'true'``: quotes are stripped, so quoting does not keep
    them strings). Spaces inside a string are kept (``da ta/NCT``; in a
    list, ``[a b,c]``): they were refused, as ``DictAction`` removed them.
    Not quoted for a shell: the caller quotes the whole ``KEY=VALUE``
    item (``shlex.quote``) where it prints a command."""
    if isinstance(value, (list, tuple)):
        items = [option_text(v) for v in value]
        if None in items:
            return None
        text = ','.join(items)
        if isinstance(value, tuple):
            text = f'({text},)' if len(items) == 1 else f'({text})'
        else:
            text = f'[{text}]'
    elif value is None or isinstance(value, (bool, int, float)):
        text = repr(value)
    elif isinstance(value, str) and value and not re.search(
            r'[^\S ]|[\'"=,\[\](){}]', value):
        text = value
    else:
        return None
    try:
        read = parse_option_value(text)
    except (AssertionError, RecursionError, ValueError):
        return None
    return text if _same_value(read, value) else None


def _option_key(saved: dict, key: str) -> str:
    """The key of the ``saved`` model (nested) that a ``--cfg-options``
    item sets for its dotted leaf ``key``: ``key`` itself, or the list or
    tuple above it, given whole, where the path goes through a tuple or
    through a list item that is not a dict (MMEngine's index keys,
    ``a.0.b=1``, set keys of dicts in lists only: ``a.0=2`` on a list of
    numbers fails inside it, on a tuple ``load_config`` refuses it)."""
    parts = key.split('.')
    node: Any = saved
    for i, part in enumerate(parts):
        if isinstance(node, (list, tuple)):
            item = node[int(part)]
            if isinstance(node, tuple) or not isinstance(item, dict):
                return '.'.join(parts[:i])
            node = item
        elif isinstance(node, dict):
            node = node[part]
    return key


def recorded_options(recorded: Dict[str, Any], current: Dict[str, Any],
                     cfg) -> Optional[List[str]]:
    """The ``--cfg-options`` that turn the settings ``current`` of the
    config ``cfg`` into ``recorded`` (both ``{dotted key: value}`` as a
    record holds them, :func:`flat_settings`: a results JSON's
    ``model_settings`` and ``knn_settings``, and the same of ``cfg`` now),
    each key as :func:`_option_key` sets it (a list of numbers whole),
    quoted for the shell: how a result's command evaluates what it
    evaluated. ``[]`` where they agree; None where one difference is not
    such an option (a key only one side has that no whole list sets, a
    value :func:`option_text` cannot write). A key of the model as built
    is set where ``cfg`` sets it (:func:`key_where_set`: a top-level-only
    data preprocessor's ``data_preprocessor.mean``)."""
    nested = cfg.to_dict() if hasattr(cfg, 'to_dict') else cfg
    recorded, current = ({key_where_set(cfg, k): v for k, v in n.items()}
                         for n in (recorded, current))
    options = []
    for key in sorted(set(recorded) | set(current)):
        if _same_setting(recorded.get(key, UNSET), current.get(key, UNSET)):
            continue
        try:
            at = _option_key(nested, key)
        except (KeyError, IndexError, ValueError, TypeError):
            return None
        if at == key:
            if key not in recorded:
                return None
            value = recorded[key]
        else:  # a list given whole: its items as recorded, in order
            items = {k[len(at) + 1:]: v for k, v in recorded.items()
                     if k.startswith(f'{at}.')}
            if not items or not all(i.isdigit() for i in items) or \
                    sorted(map(int, items)) != list(range(len(items))):
                return None
            value = [items[str(i)] for i in range(len(items))]
        written = option_text(value)
        if written is None:
            return None
        item = shlex.quote(f'{at}={written}')
        options += [] if item in options else [item]
    return options


def _value_at(saved: dict, key: str) -> Any:
    """The value of the dotted ``key`` in the nested ``saved``."""
    node: Any = saved
    for part in key.split('.'):
        node = node[int(part)] if isinstance(node, (list, tuple)) else \
            node[part]
    return node


def saved_model_options(text: Optional[str], cfg) -> Optional[List[str]]:
    """The ``--cfg-options`` (``['model.backbone.base_channels=16']``)
    that turn ``cfg``'s model into the one the saved config text ``text``
    built (:func:`saved_model_difference`: a run of the shipped config
    with ``--cfg-options``), where every difference is such a setting: a
    value both models have (a key only one has, which ``load_config``
    would refuse or cannot remove, and a ``type``, another class whose
    other arguments differ too, are none) that ``DictAction`` reads back
    as itself (:func:`option_text`: a number, bool, None, a string
    without spaces at its ends, tabs, line breaks, quotes or brackets
    that it does not read as another type). A list is set by index where its items are dicts, else whole
    (``model.backbone.out_indices='(2,)'``), as a tuple is. Each item is
    quoted for the shell where it needs it. None where one difference is
    not such a setting, or the models agree."""
    found = _model_differences(text, cfg)
    if not found or not found[2]:
        return None
    old, new, diff = found
    saved = config_text_section(text, 'model')
    options = []
    for key in diff:
        value = old.get(key, UNSET)
        if key.split('.')[-1] == 'type' or UNSET in (value,
                                                     new.get(key, UNSET)):
            return None
        where = _option_key(saved, key)
        written = option_text(_value_at(saved, where))
        if written is None:
            return None
        item = shlex.quote(f'model.{where}={written}')
        if item not in options:
            options.append(item)
    return options


def check_saved_model(path: str, cfg, text: Optional[str]) -> None:
    """Refuse to resume from the checkpoint ``path`` whose config (its
    text: ``text``) built another model (:func:`saved_model_difference`;
    a resume with another config would load the weights it can and then
    fail inside the optimiser).

    Raises:
        InputError: the models differ (naming the first differing key).
    """
    diff = saved_model_difference(text, cfg)
    if diff:
        raise InputError(
            f'--resume from {path}: it was trained with another model '
            f'({diff}); resume with the config that wrote it, or start a '
            'new run with --work-dir')


def trained_config_name(meta: Any) -> Optional[str]:
    """The file name of the config that trained a checkpoint, from its
    ``meta``: MMEngine records ``experiment_name`` as
    ``<config file name without .py>_<YYYYMMDD_HHMMSS>`` (a config's own
    ``experiment_name`` replaces the file name); None where the meta has
    no such name."""
    name = meta.get('experiment_name') if isinstance(meta, dict) else None
    found = re.fullmatch(r'(.+)_\d{8}_\d{6}', name) \
        if isinstance(name, str) else None
    return f'{found.group(1)}.py' if found else None


#: what a checkpoint of each algorithm (its config's ``model.type``) comes
#: from, named where a checkpoint of one is given to a command for another
MODEL_METHODS = {'HLSS': 'HLSS / HiDisc pre-training',
                 'BalancedCrossModal': 'balanced cross-modal tuning',
                 'MoCoV3': 'MoCo-v3 contrastive pre-training',
                 'ImageClassifier': 'supervised pre-training'}

#: the algorithms (a config's ``model.type``) kNN evaluation is for: HLSS,
#: and HiDisc, an HLSS model without text-initialised heads (the shipped
#: configs with a ``knn_eval`` section or a ``KNNEvalHook``,
#: ``configs/hlss/``, ``configs/demo/hlss_*`` and ``hidisc_*``, all build
#: ``type='HLSS'``). The one table (here beside :data:`MODEL_METHODS`,
#: where every layer can read it): the config's model of ``knn_eval.py``
#: and of a training run with the hook (:func:`check_knn_model`,
#: :func:`check_knn_hooks`) and the algorithm a checkpoint's meta records
#: are judged by it
KNN_MODEL_TYPES = ('HLSS',)

#: the low-shot protocol, which evaluates a CLP / FSP encoder
_LOW_SHOT = ('evaluate its encoder with the low-shot protocol instead: '
             'wsi_workdir/extract.py, then the meta-test (both run by '
             + from_root('sh wsi_workdir/scripts/evaluate_encoder.sh MODEL '
                         'CHECKPOINT')
             + '; a demo encoder by '
             + from_root('sh wsi_workdir/scripts/demo_lowshot.sh CHECKPOINT')
             + '; ' + read_from_root('CHECKPOINT') + ')')

#: how a model of an algorithm without kNN evaluation is evaluated
#: instead, by its ``model.type``
_EVALUATED_INSTEAD = {
    'MoCoV3': _LOW_SHOT,
    'ImageClassifier': _LOW_SHOT,
    'BalancedCrossModal': ('its classification and retrieval metrics are '
                           "the validation of tools/train.py (val_evaluator)"),
}

#: how an encoder of no algorithm this project knows (a user's own
#: model) is evaluated: the low-shot protocol, as GETTING_STARTED.md's
#: "Evaluate your own encoder" runs it
_OWN_ENCODER = ('evaluate its encoder with the low-shot protocol '
                'instead: its features by wsi_workdir/extract.py (or '
                'import_features.py), then the meta-test '
                '(GETTING_STARTED.md, "Evaluate your own encoder")')

#: what kNN evaluation is for, in the lines refusing another model
_KNN_IS_FOR = ('kNN evaluation is for HLSS / HiDisc encoders (model.type '
               + ', '.join(repr(t) for t in KNN_MODEL_TYPES) + ')')


#: how an HLSS / HiDisc encoder is evaluated: kNN, during training or on
#: a checkpoint (docs/hlss.md, "kNN evaluation")
_KNN_EVALUATION = ('evaluate its encoder by kNN instead: a KNNEvalHook in '
                   'custom_hooks (as configs/demo/hlss_rn50w8_synthetic.py '
                   'has), or tools/knn_eval.py CONFIG CHECKPOINT on a '
                   'checkpoint')


def evaluation_instead(kind: Optional[str]) -> str:
    """How an encoder of the algorithm ``kind`` (a ``model.type`` of
    :data:`MODEL_METHODS`; None: a model of no algorithm this project
    knows) is evaluated where its model cannot be (no ``'predict'``
    mode, so no validation loop: ``apis.train.check_validated_model``):
    kNN for HLSS / HiDisc (:data:`KNN_MODEL_TYPES`), the low-shot
    protocol for CLP / FSP (:data:`_EVALUATED_INSTEAD`) and a user's own
    encoder (:data:`_OWN_ENCODER`)."""
    if kind in KNN_MODEL_TYPES:
        return _KNN_EVALUATION
    return _EVALUATED_INSTEAD.get(kind) or _OWN_ENCODER


def knn_is_for(kind: Optional[str], drop: Optional[str] = None) -> str:
    """What kNN evaluation is for, and how a model of the algorithm
    ``kind`` (a ``model.type``, not one of :data:`KNN_MODEL_TYPES`) is
    evaluated instead (:data:`_EVALUATED_INSTEAD`; another, a user's own
    model: the low-shot protocol, :data:`_OWN_ENCODER`): the end of every
    line refusing one (:func:`knn_model_refusal`, a checkpoint's line of
    ``knn_eval.py``). ``drop``: how to drop the training run's
    ``KNNEvalHook``, said between the two; without one (``knn_eval.py``'s
    config or checkpoint), a config of an HLSS model is a way out too."""
    instead = _EVALUATED_INSTEAD.get(kind)
    if instead is None:
        instead = _OWN_ENCODER if drop else \
            f'give a config of an HLSS / HiDisc model, or {_OWN_ENCODER}'
    return '; '.join([_KNN_IS_FOR, *filter(None, [drop]), instead])


def knn_is_not_for(kind: Optional[str]) -> bool:
    """Whether ``kind`` (a ``model.type`` name) is one this project knows as
    another algorithm, one kNN evaluation is not for
    (:data:`_EVALUATED_INSTEAD`): the one rule of the config's refusal
    (:func:`check_knn_model`) and of a checkpoint's line (a type of
    another name, a user's subclass of HLSS, is not judged by its name)."""
    return kind in _EVALUATED_INSTEAD


def knn_model_refusal(config: str, kind: str, hook: Optional[str] = None,
                      bases: Optional[Sequence[str]] = None,
                      known: Optional[str] = None, cfg=None,
                      hook_class: str = 'KNNEvalHook') -> str:
    """The one line refusing kNN evaluation of a model it is not for: of
    ``knn_eval.py``'s config and of a ``KNNEvalHook`` in training, judged
    by the type name (:func:`check_knn_model`) or by the class's ancestry
    (:func:`~openselfsup.engine.knn_hook.not_knn_class`: the config's
    class once the model stack is imported, the hook's run's model).

    Args:
        config (str): the config file, as the line names it.
        kind (str): the model's type (its class's name).
        hook (str, optional): the key of the ``KNNEvalHook`` in the config
            (``'custom_hooks.0'``, ``'default_hooks.knn'``), named with
            the way to drop it; None: the config given to ``knn_eval.py``.
        bases (sequence of str, optional): the class's bases, judged by
            ancestry (named: ``a subclass of ...``); None: judged by name.
        known (str, optional): the algorithm this project knows that the
            model is (:data:`_EVALUATED_INSTEAD`): its method and how it
            is evaluated instead; None: ``kind`` where it is one.
        cfg (Config, optional): the config, whose runner decides how a
            hook under ``default_hooks`` is dropped
            (:func:`default_hook_drop`; None: the project's runner's way),
            and whose entry at ``hook`` names the hook's type as the
            config gives it, its scope too (a user's subclass of
            ``KNNEvalHook`` under its own name: the line said
            ``(KNNEvalHook)``).
        hook_class (str): the hook's type where the config has no entry
            at ``hook`` (a hook the run registered otherwise).
    """
    known = known or (kind if knn_is_not_for(kind) else None)
    said = [MODEL_METHODS[known]] if known in MODEL_METHODS else []
    if bases is not None:
        said.append('a subclass of ' + ', '.join(bases) if bases
                    else 'a model')
    what = f'model.type {kind!r}' + (f' ({", ".join(said)})' if said else '')
    if hook is None:
        return f'{config}: {what}: {knn_is_for(known)}'
    section, _, key = hook.partition('.')  # custom_hooks or default_hooks
    # a default hook, maybe inherited through _base_ (which no edit of the
    # config removes), is dropped by None (engine.runner.AtomicRunner)
    drop = (f'drop the hook: {default_hook_drop(cfg, key)}'
            if section == 'default_hooks'
            else f'remove the hook from {section}')
    entry = dict(hook_entries(cfg)).get(hook) if cfg is not None else None
    given = entry.get('type') if entry else None
    # as given: a scope is kept ('mmpretrain.KNNEvalHook', which no
    # registry holds, was called (KNNEvalHook), review r120)
    named = given if isinstance(given, str) else type_name(given)
    return (f'{config}: {hook} ({named or hook_class}) on {what}: '
            f'{knn_is_for(known, drop)}')


def check_knn_model(cfg, config: str, hook: Optional[str] = None) -> None:
    """Refuse a config whose model (``model.type``) kNN evaluation does not
    support (:data:`KNN_MODEL_TYPES`), from the config alone, torch-free:
    a MoCo-v3 (CLP) or supervised (FSP) model ran, its ImageNet mean / std
    on [0, 1] patches and ``MoCoV3.extract_feat``'s unpooled map
    flattened, and its kNN accuracies were of near-constant features,
    without a word: a table written by ``tools/knn_eval.py`` (a
    ``knn_eval`` section added to such a config), or the scalars a
    ``KNNEvalHook`` logged while it trained (:func:`check_knn_hooks`). A
    model without a type read is not judged here (its build says what is
    wrong), nor one of a type this project does not know as another
    algorithm (:data:`_EVALUATED_INSTEAD`: a user's subclass of HLSS
    registered under another name evaluates; the type cannot be told
    from the config without importing the model stack: judged by
    ancestry then, by ``knn_eval.py`` and by the hook when the run
    starts).

    Args:
        cfg (Config): the config.
        config (str): its file, as the line names it.
        hook (str, optional): the key of a ``KNNEvalHook`` in the config
            (``'custom_hooks.0'``), named in the line with the way out of
            removing it; None: the config given to ``knn_eval.py``.

    Raises:
        InputError: :func:`knn_model_refusal`'s line: ``<config>:
            model.type 'MoCoV3' (MoCo-v3 contrastive pre-training): kNN
            evaluation is for ...; <how it is evaluated instead>``
            (:func:`knn_is_for`); with ``hook``, ``<config>: <hook>
            (KNNEvalHook) on model.type 'MoCoV3' (...): kNN evaluation is
            for ...; remove the hook from custom_hooks (under
            default_hooks: drop the hook: --cfg-options
            default_hooks.<key>=None, ...); how its encoder is evaluated
            instead``.
    """
    model = cfg.get('model')
    kind = type_name(model.get('type')) if isinstance(model, dict) else None
    if not knn_is_not_for(kind):
        # another name (a user's subclass of HLSS registered under its
        # own, review r101: refused by name though it evaluated) is left
        # to the build and the checks by ancestry
        return
    raise InputError(knn_model_refusal(config, kind, hook, cfg=cfg))


#: the keys of the hooks MMEngine's Runner registers by default
#: (``Runner.register_default_hooks``), which it drops where a config sets
#: one to None (it asserts on None under any other key; the project's
#: runner, ``engine.runner.AtomicRunner``, drops that too)
MMENGINE_DEFAULT_HOOKS = ('runtime_info', 'timer', 'sampler_seed', 'logger',
                          'param_scheduler', 'checkpoint')


def builds_plain_runner(cfg) -> bool:
    """Whether a config builds MMEngine's own Runner (no ``runner_type``,
    or ``'Runner'``), which drops a default hook set to None only under
    its own keys (:data:`MMENGINE_DEFAULT_HOOKS`), not the project's
    ``AtomicRunner`` (the shipped configs' ``runner_type``). Another
    ``runner_type`` (a user's runner) is not judged."""
    return 'runner_type' not in cfg or \
        type_name(cfg.get('runner_type')) == 'Runner'


def default_hook_drop(cfg, key: str) -> str:
    """How the hook under ``default_hooks.<key>`` of a config is dropped,
    in words for a line: None under its key, by the options or in the
    config's own ``default_hooks`` (``default_hooks = dict(knn=None)``
    replaces a ``default_hooks`` that file sets itself: its checkpoint
    settings went back to the base's), with ``runner_type`` where the
    config builds MMEngine's Runner (:func:`builds_plain_runner`), which
    stops on None under a key of another hook."""
    if cfg is not None and builds_plain_runner(cfg):
        return (f'--cfg-options default_hooks.{key}=None '
                f'runner_type=AtomicRunner, or set {key}=None in the '
                "config's default_hooks and runner_type = 'AtomicRunner' "
                "(MMEngine's Runner, which the config builds, drops only "
                'its own default hooks)')
    return (f'--cfg-options default_hooks.{key}=None, or set {key}=None '
            "in the config's default_hooks")


def _default_hooks_read(path: str) -> Optional[Tuple[List[str], List[str]]]:
    """``(keys, files)``: the keys under which the config ``path`` or a
    file of its ``_base_`` chain puts a hook in its ``default_hooks`` (a
    value other than None), each file read as MMEngine reads it
    (``Config.fromfile``: ``default_hooks.update(mine=...)`` and
    ``default_hooks['mine'] = ...`` add a hook too; review r117, they
    were missed by a read of the assignments), and those files; None
    where that cannot be told (a ``package::`` base, a file that is not
    read or does not load)."""
    from mmengine.config import Config
    unread: List[str] = []
    files = _variable_files(path, None, unread)
    if unread:
        return None
    keys: List[str] = []
    for file in files:
        try:
            hooks = Config.fromfile(
                file, import_custom_modules=False).get('default_hooks')
        except Exception:  # any error of the file's own code
            return None
        keys += [str(k) for k, hook in (
            hooks.items() if isinstance(hooks, dict) else ())
            if hook is not None and str(k) not in keys]
    return keys, files


def check_dropped_default_hooks(cfg, config: str) -> None:
    """Refuse a None under ``default_hooks`` (the way to drop a default
    hook) that the run would not take as dropping one, torch-free, before
    the runner is built (the run's and the launchers' config checks,
    ``apis.train.check_config_values``): a key that is neither one of
    MMEngine's default hooks (:data:`MMENGINE_DEFAULT_HOOKS`) nor given a
    hook by the config or a file of its ``_base_`` chain
    (:func:`_default_hooks_read`; in a config of no ``_base_``, a run's
    dump that holds the hook it dropped as None, only such a key near
    another hook's), a misspelt one (``checkpont=None``
    in a config file: the hook the user meant to drop stayed, and the run
    wrote its checkpoints without a word; review r113), answered as an
    option's key is (:func:`near_key_hint`); and one the runner the
    config builds cannot drop (MMEngine's Runner, :func:`builds_plain_runner`,
    which stopped on a bare ``AssertionError`` in
    ``Runner.register_default_hooks`` and left a timestamped folder in the
    work dir).

    Raises:
        InputError: ``<config>: default_hooks.checkpont=None drops no
            hook: ... (did you mean default_hooks.checkpoint?)``, or
            ``<config>: default_hooks.knn=None: MMEngine's Runner ...;
            set runner_type = 'AtomicRunner' ...``.
    """
    hooks = cfg.get('default_hooks')
    dropped = [key for key, hook in (
        hooks.items() if isinstance(hooks, dict) else ())
        if hook is None and key not in MMENGINE_DEFAULT_HOOKS]
    if not dropped:
        return
    found = _default_hooks_read(cfg.filename) if cfg.filename else None
    # a config of no _base_ (a run's dump, which holds the hook its
    # --cfg-options default_hooks.knn=None dropped as None) is refused a
    # None near the key of a hook alone
    based = bool(cfg.filename and _variable_files(cfg.filename, '_base_'))
    for key in dropped:
        if found is None or key in found[0]:
            continue
        keys, files = found
        hint = near_key_hint('default_hooks', key,
                             [*MMENGINE_DEFAULT_HOOKS, *keys])
        if hint or based:
            raise InputError(
                f'{config}: default_hooks.{key}=None drops no hook: neither '
                "MMEngine's default hooks "
                f'({", ".join(MMENGINE_DEFAULT_HOOKS)}) nor the '
                f'default_hooks of {", ".join(files) or config} have a '
                f'hook under {key!r}; name the hook to drop{hint}')
    if builds_plain_runner(cfg):
        key = dropped[0]
        raise InputError(
            f"{config}: default_hooks.{key}=None: MMEngine's Runner, which "
            'a config without runner_type builds, drops a default hook '
            f'only under its own keys ({", ".join(MMENGINE_DEFAULT_HOOKS)}) '
            "and stops on any other; set runner_type = 'AtomicRunner' in "
            'the config (or --cfg-options runner_type=AtomicRunner): the '
            "project's runner drops it")


def hook_entries(cfg) -> List[Tuple[str, dict]]:
    """``(key, hook dict)`` of each hook a config registers, in order:
    under ``custom_hooks`` (``'custom_hooks.1'``) and under
    ``default_hooks`` (MMEngine registers a key of its own there too:
    ``'default_hooks.knn'``; review r104, it got through); an entry that
    is no dict (None, which drops a default hook) is left out."""
    hooks = cfg.get('custom_hooks') or ()
    named = [(f'custom_hooks.{i}', hook) for i, hook in enumerate(
        hooks if isinstance(hooks, (list, tuple)) else ())]
    hooks = cfg.get('default_hooks') or {}
    named += [(f'default_hooks.{key}', hook) for key, hook in (
        hooks.items() if isinstance(hooks, dict) else ())]
    return [(key, hook) for key, hook in named if isinstance(hook, dict)]


#: the types of the hooks MMEngine's Runner and its shipped configs'
#: ``default_hooks`` register (:data:`MMENGINE_DEFAULT_HOOKS` and
#: ``visualization``): none is a ``KNNEvalHook``
MMENGINE_DEFAULT_HOOK_TYPES = ('RuntimeInfoHook', 'IterTimerHook',
                               'DistSamplerSeedHook', 'LoggerHook',
                               'ParamSchedulerHook', 'CheckpointHook',
                               'VisualizationHook')


def has_hooks_of_its_own(cfg) -> bool:
    """Whether a config registers a hook (:func:`hook_entries`) of a type
    other than MMEngine's defaults (:data:`MMENGINE_DEFAULT_HOOK_TYPES`):
    one that may be a ``KNNEvalHook`` under another name, which only an
    import of the hooks (and the model stack) tells (review r117: the
    config check imported torch and the models, 3 s, for a config with
    ``custom_imports`` and MMEngine's hooks alone)."""
    return any(type_name(hook.get('type')) not in MMENGINE_DEFAULT_HOOK_TYPES
               for _, hook in hook_entries(cfg))


def knn_hook_model_unjudged(cfg) -> bool:
    """Whether a config may hold a ``KNNEvalHook`` on a model that kNN
    evaluation is not for which only the model's class tells (its
    ancestry: ``engine.knn_hook.check_knn_hook_model``, which imports the
    model stack), after :func:`check_knn_hooks` judged the type names:

    - with ``custom_imports``, a hook of a type not MMEngine's
      (:func:`has_hooks_of_its_own`): the user's module may register a
      subclass of the hook, or of another algorithm, under its own name;
    - without, a hook named ``KNNEvalHook`` (:func:`knn_hook_keys`) or a
      hook given as a class, on a model type not named in
      :data:`KNN_MODEL_TYPES`: an algorithm of mmpretrain's (``SimCLR``,
      ``BYOL``) passed the launchers' ``--check-config`` and was refused
      only once the processes had started (``KNNEvalHook.before_run``).

    False for a config of MMEngine's hooks alone, or of the HLSS model by
    its name without ``custom_imports``: told from the config, torch-free
    (review r117: the check imported torch and the models, 3 s, for a
    config with ``custom_imports`` and MMEngine's hooks alone); False for
    a model without a type too: no class to judge, its build refuses it
    (review r120: the check imported the model stack, 16 s, to pass)."""
    model = cfg.get('model')
    kind = type_name(model.get('type')) if isinstance(model, dict) else None
    if kind is None:
        return False
    if cfg.get('custom_imports'):
        return has_hooks_of_its_own(cfg)
    classes = any(not isinstance(hook.get('type'), str)
                  for _, hook in hook_entries(cfg))
    return kind not in KNN_MODEL_TYPES and (bool(knn_hook_keys(cfg))
                                            or classes)


def knn_hook_keys(cfg) -> List[str]:
    """The keys of the ``KNNEvalHook`` s of a config (:func:`hook_entries`,
    :func:`is_knn_hook_type` under the run's scope), in order; a subclass
    under its own name is found by ancestry once the hooks are imported
    (``engine.knn_hook.knn_hook_keys_by_class``)."""
    scope = run_scope(cfg)
    return [key for key, hook in hook_entries(cfg)
            if is_knn_hook_type(hook.get('type'), scope)]


def hook_class(kind: Any, scope: str) -> Any:
    """The class a hook's ``type`` builds in a run of default scope
    ``scope`` (:func:`run_scope`; the Runner builds hooks through
    MMEngine's hook registry, :func:`scope_registry`): a class given as
    the type itself, a name as the registry resolves it there; a name
    that resolves to nothing there (the build's ``KeyError``: a config
    fragment without ``default_scope``, which is ``'mmengine'``) as the
    project's hook registry resolves it, as before (not its other
    registries: a model's name is no hook); None where neither does.
    Imports the model stack."""
    if not isinstance(kind, str):
        return kind
    for where in (scope, PROJECT_SCOPE):
        try:
            found = scope_registry('HOOKS', where).get(kind)
        except Exception:  # noqa: BLE001 (resolved to nothing)
            found = None
        if found is not None:
            return found
    return None


def is_knn_hook_type(kind: Any, scope: str = PROJECT_SCOPE) -> bool:
    """Whether a hook's ``type`` builds the project's ``KNNEvalHook`` in a
    run of default scope ``scope`` (:func:`run_scope`): what MMEngine's
    hook registry resolves a name to there, a class given as the type by
    identity (:func:`hook_class`); in the project's scope,
    ``'KNNEvalHook'`` and ``'openselfsup.KNNEvalHook'`` by name,
    torch-free (the shipped configs). Another scope's name, or another
    class of that name, is no kNN hook: ``'mmpretrain.KNNEvalHook'``,
    which no registry holds, was refused on a ``MoCoV3`` model as a kNN
    hook (h213), and so was a user's ``KNNEvalHook`` registered in
    mmpretrain's scope under ``default_scope = 'mmpretrain'``, which
    MMEngine builds and trains (review r140)."""
    if type_name(kind) != 'KNNEvalHook':
        return False
    if scope == PROJECT_SCOPE and kind in (
            'KNNEvalHook', f'{PROJECT_SCOPE}.KNNEvalHook'):
        return True
    found = hook_class(kind, scope)
    return found is not None and found is _registered('KNNEvalHook',
                                                      own=True)


def check_knn_hooks(cfg, config: str) -> None:
    """Refuse a training config with a ``KNNEvalHook`` (:func:`knn_hook_keys`)
    on a model kNN evaluation is not for (:func:`check_knn_model`; a CLP
    or FSP config given the HLSS demo's hook logged ``knn/*`` accuracies
    of near-constant features while it trained), torch-free, before the
    runner is built: the run's and the launchers' config checks
    (``apis.train.check_config_values``). A type of another name (a
    user's subclass) is judged by ancestry by the hook itself when the
    run starts (``KNNEvalHook.before_run``).
    """
    for key in knn_hook_keys(cfg):
        check_knn_model(cfg, config, key)


#: ``PatienceEarlyStoppingHook``'s rules: a lower, or a higher, score is
#: better
EARLY_STOPPING_RULES = ('less', 'greater')


def check_early_stopping_args(**args: Any) -> None:
    """Refuse, of ``rule`` and ``patience`` where given, what
    :class:`~openselfsup.engine.crossmodal_hooks.PatienceEarlyStoppingHook`
    refuses when it is built: a rule other than
    :data:`EARLY_STOPPING_RULES`, a patience whose ``int()`` is below 1.
    The hook's own check, torch-free, so that the config checks run it on
    a config's hooks before anything is built
    (:func:`check_early_stopping_hooks`).

    Raises:
        InputError: the setting and its value.
    """
    if 'rule' in args and args['rule'] not in EARLY_STOPPING_RULES:
        raise InputError(f"early stopping rule must be 'less' or "
                         f"'greater', got {args['rule']!r}")
    if 'patience' in args and int(args['patience']) < 1:
        raise InputError(f'early stopping patience must be >= 1, got '
                         f'{args["patience"]}')


def check_early_stopping_hooks(cfg, config: str) -> None:
    """Refuse a ``PatienceEarlyStoppingHook`` of a training config (by its
    type's name, scoped or not: :func:`hook_entries`) whose ``rule`` or
    ``patience`` the hook refuses (:func:`check_early_stopping_args`),
    torch-free, before the runner is built: the run's and the launchers'
    config checks (``apis.train.check_config_values``: ``tools/train.py``
    and its ``--check-config``) and the lambda sweep's own
    (``apis.balance_sweep.run_balance_sweep``, with ``--check`` or not,
    before its work dir is made). The hook refused
    them only as the runner built it, after MMEngine had logged the
    config, in a line naming neither the config nor the key. A patience
    that is no finite number is left to the type check
    (:func:`check_setting_types`) and the hook.

    Raises:
        InputError: ``<key> in <config>: <the hook's line> (fix the config
            or --cfg-options <key>.<setting>=...)``.
    """
    for key, hook in hook_entries(cfg):
        if type_name(hook.get('type')) != 'PatienceEarlyStoppingHook':
            continue
        given = {arg: hook[arg] for arg in ('rule', 'patience')
                 if arg in hook}
        if not (is_number(given.get('patience', 1)) and
                math.isfinite(given.get('patience', 1))):
            del given['patience']
        for arg, value in given.items():
            try:
                check_early_stopping_args(**{arg: value})
            except InputError as exc:
                raise InputError(
                    f'{key} in {config}: {exc} (fix the config or '
                    f'--cfg-options {key}.{arg}=...)') from None


def saved_model_type(meta: Any, key: str = 'type') -> Optional[str]:
    """The type name at ``model.<key>`` (``'type'``: the algorithm,
    ``'backbone.type'``: its backbone) of the config whose text a
    checkpoint's ``meta['cfg']`` records (read as data, never executed:
    :func:`config_text_section`); None where the meta records none."""
    text = meta.get('cfg') if isinstance(meta, dict) else None
    node = config_text_section(text, 'model') if isinstance(text, str) \
        else None
    for part in key.split('.'):
        node = node.get(part) if isinstance(node, dict) else None
    return type_name(node)


def trained_config_said(meta: Any, checkpoint: Optional[str] = None,
                        config: Optional[str] = None
                        ) -> Tuple[Optional[str], bool]:
    """How to name the config that trained a checkpoint (``checkpoint``:
    its file; ``config``: the config given with it), from its ``meta``
    (:func:`trained_config_name`), and whether that is a file here:
    beside the checkpoint (a run's work dir holds the config it dumped)
    or beside ``config``, named by its path; else the name, said to come
    from the meta's ``experiment_name`` (a balance sweep's runs set their
    own, ``<config>_lambda_0.5``: no config file of that name exists
    anywhere, and the line told the user to evaluate with it). A file of
    that name counts only where it is not ``config`` itself and builds
    the model the meta records (:func:`_not_the_saved_model`); else the
    words say that it builds another model, or that it cannot be read
    (its error's first line).

    Returns:
        tuple: ``(words or None, found)``; ``(None, False)`` where the
        meta records no name.
    """
    name = trained_config_name(meta)
    if name is None:
        return None, False
    folders = [os.path.dirname(p) for p in (checkpoint, config) if p]
    files = [os.path.join(f, name) for f in dict.fromkeys(folders)
             if os.path.isfile(os.path.join(f, name))]
    why_not = {f: _not_the_saved_model(f, meta, config) for f in files}
    found = next((f for f in files if why_not[f] is None), None)
    if found:
        return found, True
    where = ' or '.join(f or '.' for f in dict.fromkeys(folders))
    why = (' and '.join(f'{f} {why_not[f]}' for f in files) if files else
           f'no such file {"in " + where if where else "here"}')
    return (f'the config its meta names {name} (from MMEngine\'s '
            f'experiment_name {meta["experiment_name"]}; {why})', False)


def _not_the_saved_model(path: str, meta: dict,
                         config: Optional[str]) -> Optional[str]:
    """None where the config file ``path`` is one to evaluate a
    checkpoint of ``meta`` with (:func:`trained_config_said`), else why
    not in words (``'builds another model'``, ``'cannot be read (<its
    error's first line>)'``; before, a file that could not be read was
    said to build another model): not ``config`` itself
    (a run of it with ``--cfg-options``, whose checkpoint was copied
    away: the line told the user to evaluate with the config they gave),
    and building the model the meta's config text records
    (:func:`saved_model_difference`; a meta without one is not judged).
    A file beside ``config`` is read as ``config`` is; one beside the
    checkpoint only as data (:func:`config_text_section`: it comes with
    the checkpoint, and a run's dump is such text)."""
    if config and os.path.isfile(config) and os.path.samefile(path, config):
        return 'builds another model'
    text = meta.get('cfg')
    if not isinstance(text, str):
        return None
    try:
        if config and os.path.samefile(os.path.dirname(path) or '.',
                                       os.path.dirname(config) or '.'):
            there = Config.fromfile(path, import_custom_modules=False)
        else:
            with open(path, encoding='utf-8') as f:
                there = Config(dict(model=config_text_section(f.read(),
                                                              'model')))
    except Exception as exc:  # noqa: BLE001 (cannot be read: not offered)
        return f'cannot be read ({first_line(exc, with_type=True)})'
    if isinstance(there.get('model'), dict) and \
            saved_model_difference(text, there) is None:
        return None
    return 'builds another model'


def trained_checkpoint_words(meta: Any, checkpoint: Optional[str] = None,
                             config: Optional[str] = None,
                             exported: bool = False) -> Optional[str]:
    """``'a BalancedCrossModal checkpoint (balanced cross-modal tuning)
    trained with <config>'``: what a checkpoint's ``meta`` says it is
    (:func:`saved_model_type`, :data:`MODEL_METHODS`,
    :func:`trained_config_said`), for a line about a checkpoint that does
    not fit; ``exported``: the file is the backbone weights
    :func:`~openselfsup.utils.checkpoint.extract_backbone_weights` wrote
    from such a run's checkpoint (``'backbone weights exported from a
    MoCoV3 run ...'``). None where the meta says neither."""
    kind = checkpoint_kind_words(meta, 'run' if exported else 'checkpoint')
    said = trained_config_said(meta, checkpoint, config)[0]
    if kind is None and said is None:
        return None
    head = ('backbone weights exported from ' + (kind or 'a run')) \
        if exported else (kind or 'a checkpoint')
    return head + (f' trained with {said}' if said else '')


def checkpoint_kind_words(meta: Any, noun: str = 'checkpoint'
                          ) -> Optional[str]:
    """``'a BalancedCrossModal checkpoint (balanced cross-modal tuning)'``:
    the algorithm a checkpoint's ``meta`` records (:func:`saved_model_type`,
    :data:`MODEL_METHODS`), ``noun`` naming what of it (``'run'``); None
    where it records none."""
    kind = saved_model_type(meta)
    if kind is None:
        return None
    method = MODEL_METHODS.get(kind)
    return f'{with_article(kind)} {noun}' + (f' ({method})' if method
                                             else '')


def trained_config_note(meta: Any, cfg, config: str,
                        checkpoint: Optional[str] = None) -> Optional[str]:
    """What a checkpoint's ``meta`` says of the config that trained it,
    for a checkpoint whose weights do not fit ``cfg``'s model (a HiDisc
    checkpoint evaluated with an HLSS config: a screen of missing and
    unexpected tensors said nothing of what the file is): the config's
    name (:func:`trained_config_name`) and its model's first difference
    from ``config``'s (:func:`saved_model_difference`, from ``meta['cfg']``,
    read as data, never executed).

    The config is named by its path where it is a file beside the
    checkpoint (``checkpoint``) or ``config`` that builds the model the
    meta records, else as the meta gives it (:func:`trained_config_said`),
    and then not as a file to use: where every difference is a setting
    of ``cfg`` (:func:`saved_model_options`), those ``--cfg-options``
    (``config``'s own name: ``'it was trained with <config> and other
    settings, ...: give --cfg-options model.backbone.base_channels=16'``,
    a run of it with them), else the config that trained it.

    Returns:
        str | None: e.g. ``"it was trained with
        configs/demo/hidisc_r18w8_synthetic.py, another model than
        hlss.py's (model.type: 'HiDisc' -> 'HLSS'): evaluate it with that
        config"``; None where the meta records neither, or names
        ``config``'s file and the same model.
    """
    text = meta.get('cfg') if isinstance(meta, dict) and isinstance(
        meta.get('cfg'), str) else None
    name = trained_config_name(meta)
    diff = saved_model_difference(text, cfg) if cfg is not None else None
    if diff is None and name in (None, os.path.basename(config)):
        return None
    said, found = trained_config_said(meta, checkpoint, config)
    options = None if found or cfg is None else \
        saved_model_options(text, cfg)
    if options and name == os.path.basename(config):
        # config itself, run with --cfg-options: those settings
        said = f'{config} and other settings'
    return (f'it was trained with {said or "another config"}'
            + (f', another model than {config}\'s ({diff})' if diff else '')
            + (': evaluate it with that config' if found else
               f': give --cfg-options {" ".join(options)}' if options else
               ': evaluate it with the config that trained it'))


#: ``model.data_preprocessor`` settings that hold no weights but change
#: the features a checkpoint gives: its normalisation and channel order
FEATURE_PREPROCESSING = ('mean', 'std', 'to_rgb', 'bgr_to_rgb',
                         'rgb_to_bgr')

#: the data preprocessor settings that give an extraction config's images
#: (``LoadImageFromFile``: uint8, BGR order) as an encoder trained on
#: ``LoadHistoPatch(mode='rgb')`` then ``ToUnitTensor`` saw them (RGB
#: order, values in [0, 1], no mean / std: the HLSS / HiDisc configs)
UNIT_IMAGE_PREPROCESSING = dict(mean=[0, 0, 0], std=[255, 255, 255],
                                to_rgb=True)


def _unit_image_preprocessing(text: str, node: dict, cfg) -> dict:
    """The training's ``model.data_preprocessor`` ``node`` as ``cfg``'s
    extraction (its ``dataset.pipeline`` loads with ``LoadImageFromFile``
    in BGR order) spells it, where the config text ``text`` trained on
    images in [0, 1] without mean / std (:data:`UNIT_IMAGE_PREPROCESSING`:
    RGB patches through ``ToUnitTensor``); ``node`` itself otherwise (SRH
    patches, ``mode='srh'``, are no images an extraction config reads)."""
    if any(k in node for k in FEATURE_PREPROCESSING):
        return node
    dataset = trained_dataset(text)
    kinds = {}  # type -> its transforms, in the training's pipeline
    for _, t in config_dicts((dataset or {}).get('pipeline'), ''):
        kinds.setdefault(type_name(t.get('type')), []).append(t)
    loads = [] if 'ToUnitTensor' not in kinds else \
        kinds.get('LoadHistoPatch', [])
    own = cfg.get('dataset', {}).get('pipeline') or [] \
        if isinstance(cfg.get('dataset'), dict) else []
    bgr = [t for t in own if isinstance(t, dict)
           and type_name(t.get('type')) == 'LoadImageFromFile'
           and t.get('channel_order', 'bgr') == 'bgr']
    if loads and bgr and all(t.get('mode', 'rgb') == 'rgb' for t in loads):
        return {**node, **UNIT_IMAGE_PREPROCESSING}
    return node


#: backbone settings that change how its weights are trained, not the
#: features they give in evaluation: initialisation, freezing, gradient
#: checkpointing and the batch-norm groups of training (a ``GhostBN``'s
#: ``group_size``, and how its training batches are computed:
#: ``computation``, ``per_group_calls``); a CLP run's
#: ``norm_cfg=dict(type='GhostBN', group_size=32)`` extracted with
#: ``dict(type='BN')`` is the same encoder
TRAINING_ONLY_KEYS = frozenset(('zero_init_residual', 'frozen_stages',
                                'norm_eval', 'with_cp', 'group_size',
                                'computation', 'per_group_calls',
                                'requires_grad'))

#: ``norm_cfg`` types that are torch's ``BatchNorm2d`` in evaluation
#: (running statistics, affine): compared as one
EVAL_BATCH_NORMS = frozenset(('BN', 'BN2d', 'SyncBN', 'GhostBN'))


def _built_settings(node: dict) -> dict:
    """The backbone config ``node`` as its class is built from it, for
    comparing what it gives: every argument it leaves out at the
    default of its ``type``'s signature (a training config's ResNet
    without ``out_indices`` is one with ``(3,)``, as extraction configs
    spell it), a batch norm of :data:`EVAL_BATCH_NORMS` named ``BN``;
    ``node`` itself where its class is not found."""
    import inspect
    name = type_name(node.get('type'))
    cls = _resolve(name) if name else None
    try:
        params = inspect.signature(cls).parameters if cls else {}
    except (TypeError, ValueError):  # no signature to read
        params = {}
    built = {k: p.default for k, p in params.items()
             if p.default is not p.empty and k not in node}
    built.update(node)
    norm = built.get('norm_cfg')
    if isinstance(norm, dict) and type_name(norm.get('type')) in \
            EVAL_BATCH_NORMS:
        built['norm_cfg'] = {**norm, 'type': 'BN'}
    return built


def _same_setting(a: Any, b: Any) -> bool:
    """Whether two settings give the same model: as
    :func:`~openselfsup.utils.config_sha1` reads them (a tuple and a list
    are one, :func:`~openselfsup.utils.fingerprint.plain_value` of each
    leaf) and a whole float the int it equals (``std=[1, 1, 1]`` is
    ``[1.0, 1.0, 1.0]``); a bool is no number (``True != 1``)."""
    from .utils.fingerprint import _plain

    def same(x: Any, y: Any) -> bool:
        if isinstance(x, dict) and isinstance(y, dict):
            return x.keys() == y.keys() and all(same(x[k], y[k]) for k in x)
        if isinstance(x, list) and isinstance(y, list):
            return len(x) == len(y) and all(map(same, x, y))
        numbers = [isinstance(v, (int, float)) and not isinstance(v, bool)
                   for v in (x, y)]
        if all(numbers):
            return x == y
        return type(x) is type(y) and x == y
    if UNSET in (a, b) or UNREADABLE in (a, b):
        return a is b
    try:
        return same(_plain(a, ''), _plain(b, ''))
    except InputError:  # no fingerprint: compared as they are
        return _same_value(a, b)


def _same_type(a: Any, b: Any) -> bool:
    """Whether two config ``type`` values build the same thing: as
    written, or resolved (:func:`_resolve`) to one class
    (``mmpretrain.ResNet`` is ``ResNet``)."""
    if _same_setting(a, b):
        return True
    return all(isinstance(v, str) for v in (a, b)) and \
        _resolve(a) is not None and _resolve(a) is _resolve(b)


def _eval_ignored_keys(node: dict) -> Tuple[str, ...]:
    """The settings of the backbone config ``node`` that its class
    declares to leave its evaluation features unchanged
    (``EVAL_IGNORED_KEYS``: an ``OpenCLIPImageTower`` keeps only the
    image tower, so its ``model_cfg.text_cfg`` is not compared)."""
    name = type_name(node.get('type'))
    cls = _resolve(name) if name else None
    return tuple(getattr(cls, 'EVAL_IGNORED_KEYS', ()))


def _saved_feature_changes(text: str, cfg, knn_images: bool = True
                           ) -> List[Tuple[str, Optional[str]]]:
    """``(change, the --cfg-options item that sets the recorded value or
    None)``, the change as :func:`key_change` writes it (``model.
    data_preprocessor.mean: [0.5, 0.5, 0.5] -> unset``; an image size as
    ``32 x 32 px``), of each setting that carries no
    weights but changes a checkpoint's features, where ``cfg`` differs
    from the config text ``text`` (a checkpoint's ``meta['cfg']``, read as
    data): the data preprocessor's :data:`FEATURE_PREPROCESSING`, every
    backbone setting but those naming initial weights and the
    hyper-parameters (a backbone that takes the checkpoint's weights and
    pools, or picks its stage, otherwise), compared as built
    (:func:`_built_settings`: an argument left out at its default) and
    without :data:`TRAINING_ONLY_KEYS`, and, with ``knn_images``, the
    image size of the ``knn_eval`` bank's and query's pipelines
    (:func:`pipeline_image_size`) where the training's ``knn_eval``
    records one (extraction compares its own images:
    :func:`~openselfsup.apis.extract.image_size_note`). A recorded model
    section, or data preprocessor, that cannot be read as data (code:
    ``make_pre()``) is not compared."""
    found = []
    saved = config_text_section(text, 'model')
    if not isinstance(saved, dict):  # no model to read: not compared
        from mmengine.logging import print_log
        print_log('the recorded config has no readable model section: its '
                  'feature settings are not compared', logger='current',
                  level=logging.DEBUG)
        return found
    # this config's model as the extraction and kNN build it (a top-level
    # preprocessor merged: built_model; such a config's mean / std were
    # compared as unset)
    own = built_model(cfg) if 'model' in cfg else {}
    own = own if isinstance(own, dict) else {}

    def option(key: str, value: Any) -> Optional[str]:
        if value is UNSET:  # a key only this config has: none removes it
            return None
        written = option_text(value)
        return None if written is None else shlex.quote(f'{key}={written}')

    def part(node: Any, key: str) -> dict:
        for name in key.split('.'):
            node = node.get(name) if isinstance(node, dict) else None
        return node if isinstance(node, dict) else {}

    # the training's as its run built it: a top-level one where its model
    # has none (built_preprocessor; such a run's mean / std were compared
    # as unset)
    recorded_pre = built_preprocessor(text)[1]
    saved = {**saved, 'data_preprocessor': recorded_pre}
    there, here = (part(n, 'data_preprocessor') for n in (saved, own))
    # one that cannot be read (code, make_pre()) is not compared, as a
    # model section that cannot be read is not (it was compared as unset)
    readable = recorded_pre is None or isinstance(recorded_pre, dict)
    unit = False  # trained on [0, 1] images, spelt as this config's
    if not knn_images and readable:
        # extraction: its images spell the trained ones'
        spelt = _unit_image_preprocessing(text, there, cfg)
        unit, there = spelt is not there, spelt
        saved = {**saved, 'data_preprocessor': there}
    # as built (a left-out to_rgb at its class's default); named as written
    built = [_built_settings(n) for n in (there, here)] \
        if _same_type(there.get('type'), here.get('type')) else (there, here)
    # named, and set by its option, where this config sets it (an option
    # model.data_preprocessor.mean beside a top-level one would replace it
    # whole)
    for name in FEATURE_PREPROCESSING if readable else ():
        old, new = (n.get(name, UNSET) for n in (there, here))
        if old is not UNREADABLE and not _same_setting(
                *(n.get(name, UNSET) for n in built)):
            key = key_where_set(cfg, f'model.data_preprocessor.{name}')
            change = key_change(key, old, new)
            if unit:  # not recorded: the value that spells its images here
                change = change.replace(
                    f'{key}: {old!r}', f'{key}: {old!r} for its [0, 1] RGB '
                    'images (ToUnitTensor)', 1)
            found.append((change, option(key, old)))
    nodes = [part(n, 'backbone') for n in (saved, own)]
    # compared and named as built (defaults filled in)
    built = [_built_settings(n) for n in nodes] \
        if _same_type(nodes[0].get('type'), nodes[1].get('type')) else nodes
    there, here = (flat_config(n) for n in built)
    code = _code_keys(there, UNREADABLE)
    ignored = _eval_ignored_keys(nodes[1])
    keys = []  # a list or tuple of numbers whole, as an option sets it
    for key in sorted(set(there) | set(here),
                      key=lambda k: (k.count('.'), k)):
        same = _same_type if key.rsplit('.', 1)[-1] == 'type' \
            else _same_setting  # a type as resolved, not as written
        if not (same(there.get(key, UNSET), here.get(key, UNSET))
                or key_below(key, code) or key_below(key, ignored)
                or is_hyper_parameter(key)
                or not INITIAL_WEIGHT_KEYS.isdisjoint(key.split('.'))
                or not TRAINING_ONLY_KEYS.isdisjoint(key.split('.'))):
            key = _option_key(built[0] if key in there else built[1], key)
            keys += [] if key in keys else [key]
    for key in keys:  # as built: a left-out argument at its default
        old, new = (_value_at(n, key) if _has_key(n, key) else UNSET
                    for n in built)
        found.append((key_change(f'model.backbone.{key}', old, new),
                      option(f'model.backbone.{key}', old)))
    recorded = config_text_section(text, 'knn_eval')
    for side in ('bank', 'query') if knn_images else ():
        key = f'knn_eval.{side}.pipeline'
        old = pipeline_image_size(part(recorded, side).get('pipeline') or [],
                                  key)
        if old is None:  # none recorded: not compared
            continue
        new = pipeline_image_size(part(cfg.get('knn_eval'), side).get(
            'pipeline') or [], key) if 'knn_eval' in cfg else None
        if new is None or new[1] != old[1]:
            same_key = new is not None and new[0] == old[0]
            found.append((key_change(old[0], old[1], new[1] if new else UNSET,
                                     _size_words),
                          option(old[0], _value_at(
                              recorded, old[0][len('knn_eval.'):]))
                          if same_key else None))
    return found


def _has_key(node: Any, key: str) -> bool:
    """Whether the nested ``node`` has the dotted ``key``
    (:func:`_value_at` reads it)."""
    try:
        _value_at(node, key)
    except (KeyError, IndexError, ValueError, TypeError):
        return False
    return True


def _size_words(size: Any) -> str:
    """An image size ``(w, h)`` in words, ``32 x 32 px``; ``unset``."""
    return repr(size) if size is UNSET else '{} x {} px'.format(*size)


def trained_feature_changes(meta: Any, cfg, knn_images: bool = True
                            ) -> Optional[List[Tuple[str, Optional[str]]]]:
    """:func:`_saved_feature_changes` of ``cfg`` against the config a
    checkpoint's ``meta`` records (``meta['cfg']``): ``(change, option)``
    of each setting that changes its features and differs; None where
    the meta records no config (not judged)."""
    text = meta.get('cfg') if isinstance(meta, dict) else None
    if not isinstance(text, str):
        return None
    return _saved_feature_changes(text, cfg, knn_images)


def settings_changes_note(found: Optional[List[Tuple[str, Optional[str]]]],
                          meta: Any, config: str, checkpoint: str,
                          use: str = 'evaluate') -> Optional[str]:
    """A warning (logged as one) where a checkpoint whose weights load into
    a config's model (``config``: its file) is evaluated with settings that
    carry no weights but change its features, and differ from those its
    ``meta`` records it was trained with: ``found``, the ``(change,
    option)`` pairs :func:`trained_feature_changes` found of the config
    (a run with another normalisation, evaluated with the shipped config,
    gave other numbers than its training's kNN table without a word); as
    ``extract.py`` warns of images of another size than the encoder's
    (:func:`~openselfsup.apis.extract.image_size_note`). The comparison is
    the caller's, which keeps it too (the provenance of ``extract.py``,
    the results of ``knn_eval.py``): made once per checkpoint and config,
    not again for the words. Each difference is named, recorded value
    first, then how to evaluate as trained: the config it was trained
    with where it is a file here (:func:`trained_config_said`: the run's
    dump in its work dir), and the ``--cfg-options`` that spell the
    recorded values where each is such a setting. ``use``:
    ``'evaluate'`` (``knn_eval.py``) or ``'extract'`` (``extract.py``,
    whose config is an extraction config: the training's is no way, and
    its images are compared apart, ``found`` without the kNN images').
    None where ``found`` is empty or None (the meta records no config,
    or none differs)."""
    if not found:
        return None
    extract = use == 'extract'
    changes = ', '.join(change for change, _ in found)
    said, here = (None, False) if extract else \
        trained_config_said(meta, checkpoint, config)
    options = [o for _, o in found]
    ways = ([f'with {said}'] if here else []) + (
        [f'with --cfg-options {" ".join(dict.fromkeys(options))}']
        if None not in options else [])
    way = ' or '.join(ways) if ways else \
        'with a config whose model has the settings it was trained with' \
        if extract else 'with the config that trained it'
    done = {'evaluate': 'evaluated', 'extract': 'extracted'}[use]
    return (f'{checkpoint}: {done} with other settings than it was '
            f'trained with, which change its features ({changes}); '
            f'{use} it as trained {way}')


#: how the held-out checks read list files for NCT images: given
#: ``{list file: the folders its entries are read under}``
#: (:func:`saved_list_prefixes`, :func:`trained_list_prefixes`), the
#: ``holds(list file)`` that reads each file once, under each of its
#: folders (True / False; None: not read here). Every caller gives
#: :func:`~openselfsup.datasets.prepare.nct_list_reader`, the reader
#: extraction reads with (this floor reads no list).
ListReader = Callable[[Mapping[str, Sequence[str]]],
                      Callable[[str], Optional[bool]]]


def check_same_held_out(path: str, cfg, text: Optional[str], *,
                        reader: ListReader) -> None:
    """Refuse to resume from a checkpoint whose run trained on a list that
    holds out other NCT classes than ``cfg``'s training list (the held-out
    classes read from the names of the lists that may be NCT's,
    :func:`nct_train_lists`, through dataset wrappers:
    :func:`trained_lists`): the ``wo_7`` config
    resumed from a ``wo_3`` run's checkpoint (same model, so nothing else
    objects) continued that run on the ``wo_7`` list, and its checkpoints
    then named ``wo_7`` as their training list, though the encoder had
    seen class 7 in the epochs before. A list whose name says neither is
    not judged where every list's is (a list of unknown name beside known
    ones can only add seen classes, as extraction and the initial weights
    read them: :func:`~openselfsup.classes.lists_held_out_at_most`; a
    run on NCT's ``train.txt`` + ``val7k.txt`` has seen every class); the
    same classes from another folder pass. A list whose
    file holds no NCT image (read by ``reader``, each side's lists under
    the data prefixes its config reads them under:
    :func:`trained_list_prefixes`, as the training-time check and
    extraction read a list) is not judged under
    any ``wo_<c>`` name: a run on a user's own ``wo_8_train.txt``
    resumed with their own ``wo_3_train.txt`` mixes no NCT class. But a
    run of NCT lists, one of its files read here holding NCT images,
    resumed on lists of no NCT image only, is refused whatever their
    names: its later checkpoints would name those lists alone, which
    extraction does not judge, and its features would pass for
    ``clp_wo_<c>`` of a class it saw (a new run from it, ``load_from``,
    records what its weights saw). Where none of its files is read here
    (its data moved: a cluster's scratch copy), the run is not known to
    be NCT's and resumes (review r114: a user's own run on
    ``meta/train.txt`` was refused as NCT's all-class run). Lists that
    are the same files on both sides are not read.

    Raises:
        InputError: the two lists hold out other classes, or an NCT run
            would go on on another dataset's lists.
    """
    from .classes import (held_out_words, lists_held_out,
                          lists_held_out_at_most, lists_named)
    if _same_list_files(text, cfg):
        return  # the same files: the same classes, whatever they hold
    # each side's lists under its own data prefixes (an NCT list written
    # LYM/0001.png under NCT's release folder, read alone, was another
    # dataset's: the resume went on without a word)
    holds = reader(trained_list_prefixes(text))
    there = nct_train_lists(text, holds)
    here = nct_train_lists(cfg, reader(trained_list_prefixes(cfg)))
    # a list of unknown name beside known ones can only add seen classes
    before, now = lists_held_out_at_most(there), lists_held_out(here)
    at_most = before is not None and lists_held_out(there) is None
    if here == ():
        if before is not None and any(
                holds(_list_path(root, name))
                for name, root in trained_list_roots(text)):
            raise InputError(
                f'--resume from {path}: its run trained on '
                f'{lists_named(there)}, which '
                f'{held_out_words(before, at_most)}, and this config trains '
                f'on {lists_named(trained_lists(cfg))}, which holds no NCT '
                'image: its checkpoints would name only that, and their '
                'features would pass for a <model>_wo_<c> folder of a class '
                'the encoder saw; resume with the config that wrote it, or '
                'start a new run from it with load_from (which records the '
                'lists its weights saw)')
        return  # no NCT list goes on, nor is its run known to be NCT's
    if before is None or now is None or before == now or (
            at_most and set(now) <= set(before)):
        return
    raise _held_out_mix(
        f'--resume from {path}', lists_named(there), before, here, now,
        '(its checkpoints naming the second only); resume with the config '
        'that wrote it, or start a new run with --work-dir', at_most)


def _same_list_files(text: Any, cfg) -> bool:
    """Whether two configs (a checkpoint's text, a run's) train on the
    same list files (each ``data_root`` joined: :func:`_list_path`)."""
    files = [None if found is None else
             {_list_path(root, name) for name, root in found}
             for found in (trained_list_roots(text), trained_list_roots(cfg))]
    return files[0] is not None and files[0] == files[1]


def nct_train_lists(cfg_text: Any, holds: Callable[[str], Optional[bool]]
                    ) -> Optional[Tuple[str, ...]]:
    """The training lists of a config (a ``Config`` or a checkpoint's
    ``meta['cfg']`` text: :func:`trained_list_roots`) that may be NCT's,
    by the one rule that judges a list (:func:`may_be_nct`, as
    extraction reads an encoder's lists, :func:`lists_of_root`, and as
    the training-time check,
    :func:`~openselfsup.datasets.image_list.check_held_out_folders`,
    reads one): every list but those whose file, its ``data_root``
    joined and read from the current folder, ``holds`` says holds no NCT
    image (a user's own ``wo_3_train.txt``: its name says nothing of
    NCT's classes); one not read here is kept. Empty where every list is
    another dataset's; None where the lists are not known."""
    roots = trained_list_roots(cfg_text)
    if roots is None:
        return None
    return lists_of_root(roots, (), holds)[0]


def _held_out_mix(head: str, there: str, before: Tuple[int, ...],
                  here: Sequence[str], now: Tuple[int, ...],
                  tail: str, at_most: bool = False,
                  by_name: Optional[Dict[str, Any]] = None,
                  plain: bool = False,
                  otherwise: Optional[Tuple[Sequence[int], bool]] = None
                  ) -> InputError:
    """The refusal of an encoder trained on ``there`` (in words: leaving
    out ``before``; ``at_most``: a list of unknown name among them;
    ``by_name``: the lists judged by name alone it rests on, ``plain``,
    ``otherwise``: how they are said,
    :func:`~openselfsup.classes.held_out_words`) that a run on the lists
    ``here`` (leaving out ``now``) would go on training:
    :func:`check_same_held_out`'s, and :func:`check_initial_held_out`'s."""
    from .classes import held_out_words, lists_named
    return InputError(
        f'{head}: its run trained on {there}, which '
        f'{held_out_words(before, at_most, by_name, plain, otherwise)}, '
        f'and this config trains on {lists_named(here)}, which '
        f'{held_out_words(now)}: the encoder would mix the two held-out '
        f'settings {tail}')


def saved_train_lists(meta: Any) -> Optional[Tuple[str, ...]]:
    """The training lists (``ann_file``) the encoder of a checkpoint whose
    ``meta`` this is was trained on (several: a ``ConcatDataset``'s
    parts): the ``meta['train_list']`` that
    :func:`~openselfsup.utils.checkpoint.extract_backbone_weights` writes
    beside backbone weights (one list's path, or a list of them), else
    from the training config MMEngine keeps in a training checkpoint
    (``meta['cfg']``, through the dataset wrappers: :func:`trained_lists`);
    None where neither is there. Torch-free: the run and extraction
    (:func:`~openselfsup.utils.checkpoint.checkpoint_train_lists`, on the
    file read whole) and the launchers' check (on the meta read without
    torch) read it alike."""
    found = _exported_train_lists(meta)
    if found is not None:
        return found
    text = meta.get('cfg') if isinstance(meta, dict) else None
    return trained_lists(text if isinstance(text, str) else None)


#: the meta key, beside ``train_list``, of the ``data_root`` the lists of
#: backbone weights were read from (one for all, or one per list), written
#: by :func:`~openselfsup.utils.checkpoint.extract_backbone_weights`
TRAIN_ROOT_KEY = 'data_root'


def _exported_train_lists(meta: Any) -> Optional[Tuple[str, ...]]:
    """The training lists a checkpoint's ``meta`` records as exported
    backbone weights do (``train_list``: a list's path, or a list of
    them, each a non-empty string); None where it records none such (a
    training checkpoint, whose lists are in its ``cfg``; a malformed
    ``train_list``, read from the ``cfg`` too)."""
    found = meta.get('train_list') if isinstance(meta, dict) else None
    if isinstance(found, str) and found:
        return (found,)
    if isinstance(found, (list, tuple)) and found and all(
            isinstance(f, str) and f for f in found):
        return tuple(found)
    return None


def _exported_lists(meta: Any) -> bool:
    """Whether a checkpoint's ``meta`` records its training lists as
    exported backbone weights do, not only in the training config
    (``cfg``): by the one test :func:`saved_train_lists` reads them by
    (review r125: a malformed ``train_list`` was read from the ``cfg``
    there and paired with the export's roots and prefixes here)."""
    return _exported_train_lists(meta) is not None


def saved_list_roots(meta: Any
                     ) -> Optional[Tuple[Tuple[str, Optional[str]], ...]]:
    """``(list, data_root)`` of each list :func:`saved_train_lists` reads
    from a checkpoint's ``meta``, in its order: the root the exported
    backbone weights record beside their ``train_list``
    (:data:`TRAIN_ROOT_KEY`: one for all, or one per list), else the
    training config's (:func:`trained_list_roots`); each root None where
    the roots are not recorded (backbone weights exported before the root
    was); None where the lists are not."""
    lists = saved_train_lists(meta)
    if lists is None:
        return None
    if not _exported_lists(meta):
        return trained_list_roots(meta.get('cfg'))
    roots = meta.get(TRAIN_ROOT_KEY)
    if isinstance(roots, str):
        roots = [roots] * len(lists)
    if not (isinstance(roots, (list, tuple)) and len(roots) == len(lists)
            and all(isinstance(r, str) for r in roots)):
        return tuple((name, None) for name in lists)
    return tuple(zip(lists, roots))


#: the meta key, beside ``train_list`` and :data:`TRAIN_ROOT_KEY`, of
#: the ``data_prefix`` of each list (one for all, or one per list: a
#: prefix, or a list of the prefixes of the parts that read the list),
#: written by :func:`~openselfsup.utils.checkpoint.extract_backbone_weights`
TRAIN_PREFIX_KEY = 'data_prefix'


def saved_list_prefixes(meta: Any) -> Dict[str, Tuple[str, ...]]:
    """``{list file: the folders its entries are read under}`` of each
    training list a checkpoint's ``meta`` records with its data prefixes
    (:func:`saved_data_prefixes`; the map: :func:`list_entry_folders`).
    Empty where none is recorded (backbone weights exported before the
    prefix was, without their training config: their lists are read
    without it, as before). Extraction, the resume and the initial
    weights read each list under each of them, as the training-time
    check reads each part
    (:func:`~openselfsup.datasets.prepare.nct_list_reader`)."""
    pairs = saved_list_roots(meta)
    return list_entry_folders(pairs, _data_prefixes(meta, pairs))


def trained_list_prefixes(cfg_text: Any) -> Dict[str, Tuple[str, ...]]:
    """:func:`saved_list_prefixes` of a config (a ``Config`` or a
    checkpoint's ``meta['cfg']`` text): each training list's file and
    the folders its parts read its entries under
    (:func:`_trained_list_parts`); empty where the lists are not
    known."""
    parts = _trained_list_parts(cfg_text)
    return {} if parts is None else \
        list_entry_folders(list(parts), list(parts.values()))


def list_entry_folders(pairs: Optional[Sequence[Tuple[str, Any]]],
                       prefixes: Optional[Sequence[Sequence[Any]]]
                       ) -> Dict[str, Tuple[str, ...]]:
    """``{list file: folders}`` of ``(list, data_root)`` ``pairs`` and the
    data prefixes of each (the file as :func:`_list_path` names it; each
    folder: :func:`entries_folder`, each once, a file read by several
    parts keeping every part's); a list without a folder is left out
    (read alone). The one map the readers of recorded lists are built
    from (:func:`saved_list_prefixes`, :func:`trained_list_prefixes`)."""
    kept: Dict[str, Tuple[str, ...]] = {}
    for (name, root), each in zip(pairs or (), prefixes or ()):
        folders = [entries_folder(root, prefix) for prefix in each]
        path = _list_path(root, name)
        kept[path] = tuple(dict.fromkeys(
            (*kept.get(path, ()), *(f for f in folders if f is not None))))
    return {path: folders for path, folders in kept.items() if folders}


def saved_data_prefixes(meta: Any) -> Optional[List[List[Any]]]:
    """The data prefixes of each list of :func:`saved_list_roots`, in
    its order (each list's: every prefix a part read it under), as
    recorded (:func:`saved_list_prefixes` reads them): the ones exported
    backbone weights record beside their ``train_list`` and
    ``data_root`` (:data:`TRAIN_PREFIX_KEY`), else their training
    config's, keyed by list and root as a training checkpoint's (every
    part's, ``''`` where it sets none, as ``ImageList`` reads it;
    backbone weights exported before the prefix was recorded keep the
    config: review r121, their all-class list under NCT's release folder
    passed as another dataset's). None where the lists, their roots or
    their prefixes are not recorded."""
    return _data_prefixes(meta, saved_list_roots(meta))


def _data_prefixes(meta: Any,
                   pairs: Optional[Tuple[Tuple[str, Optional[str]], ...]]
                   ) -> Optional[List[List[Any]]]:
    """:func:`saved_data_prefixes` of ``meta`` whose
    :func:`saved_list_roots` are ``pairs`` (read once by its callers)."""
    if not pairs or any(root is None for _, root in pairs):
        return None
    prefixes = meta.get(TRAIN_PREFIX_KEY) if _exported_lists(meta) \
        else None
    if prefixes is None:
        parts = _trained_list_parts(meta.get('cfg'))
        return None if parts is None else \
            [parts.get(pair, []) for pair in pairs]
    if isinstance(prefixes, (str, dict)):
        prefixes = [prefixes] * len(pairs)
    if not (isinstance(prefixes, (list, tuple))
            and len(prefixes) == len(pairs)):
        return None
    return [list(p) if isinstance(p, (list, tuple)) else [p]
            for p in prefixes]


def _list_path(root: str, name: str) -> str:
    """A list's file as MMEngine's dataset reads it (``name`` joined to its
    ``data_root`` unless absolute), its real path."""
    return os.path.realpath(os.path.join(root, name))


def dataset_folders(lists: Sequence[Tuple[str, Optional[str]]]
                    ) -> Optional[Tuple[str, ...]]:
    """The folders of the dataset an encoder (or a run) trains on, from
    its own ``(list, data_root)`` pairs: each list's ``data_root`` (its
    real path), or the list's own folder where it has none (``''``); None
    where there is no list or a root is not recorded (not known)."""
    if not lists or any(root is None for _, root in lists):
        return None
    return tuple(dict.fromkeys(
        _list_path(root, '') if root else
        os.path.dirname(_list_path('', name)) for name, root in lists))


def _in_folders(path: str, folders: Sequence[str]) -> bool:
    """Whether ``path`` (a list's real path) lies in one of ``folders``
    (:func:`dataset_folders`)."""
    return any(path == f or _under(path, f) for f in folders)


def may_be_nct(name: str, root: Optional[str],
               folders: Optional[Sequence[str]],
               holds: Callable[[str], Optional[bool]]) -> bool:
    """The one rule that says whether a recorded training list may be of
    the dataset judged (NCT's), for extraction (:func:`lists_of_root`)
    and a new run's initial weights (:func:`initial_weight_lists`) alike:
    its file (``name`` joined to its ``root`` as MMEngine joins it; a
    list of root ``''`` is read from the current folder), read here,
    holds NCT images (``holds``: True) or not (False: another dataset's,
    wherever it lies, whatever its name). A list whose root is not
    recorded (None) is kept, nothing asked. One not read here (``holds``
    None) is kept where it lies in ``folders``, the folders of the
    dataset of the encoder that carries it (:func:`dataset_folders` of
    its own lists; None: an encoder's own list, or folders not known:
    kept): not known to be another dataset's, it is judged by its name.
    Elsewhere it is taken for another dataset's (an ImageNet checkpoint's
    ``data/imagenet/meta/train.txt`` on a machine without it, which its
    name alone reads as NCT's all-class list): weights of unknown
    training are not judged."""
    if root is None:
        return True  # where it lies is not recorded
    path = _list_path(root, name)
    held = holds(path)
    if held is not None:
        return held
    return folders is None or _in_folders(path, folders)


def _this_dataset_name(path: str, folders: Sequence[str],
                       base: str) -> Optional[str]:
    """``path`` (a list's real path) named relative to ``base`` (the run's
    first ``data_root``) where it lies in one of the run's ``folders``
    (:func:`dataset_folders`): a list of this run's dataset; None where
    it is of another (ImageNet's ``meta/train.txt``)."""
    if not _in_folders(path, folders):
        return None
    return os.path.relpath(path, _list_path(base, ''))


def lists_of_root(lists: Sequence[Tuple[str, Optional[str]]],
                  init: Sequence[Tuple[str, Optional[str]]],
                  holds: Callable[[str], Optional[bool]]
                  ) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """The training lists of an encoder (``lists``; ``init``, those its
    initial weights saw), each with the ``data_root`` recorded for it
    (:func:`saved_list_roots`, :func:`saved_init_list_roots`; None: not
    recorded), that may be of the dataset judged (NCT's), as recorded,
    each name once: every list but those known to be of another
    dataset, whose file (its ``data_root`` joined as MMEngine joins it; a
    list of root ``''``: read from the folder the run ran in), read from
    the current folder, ``holds`` says holds none of its images (a user's
    own ``data/MINE/meta/train.txt``, which bears the name of NCT's
    all-class list: its name says nothing of this dataset's classes).
    Each list is read under its own root: a ``ConcatDataset`` of
    ``data/MINE/meta/train.txt`` and ``data/NCT/meta/train.txt`` keeps
    NCT's. Each list is judged by :func:`may_be_nct`, the rule a new
    run's initial weights are judged by: the encoder's own lists as of
    its dataset, its initial lists by the folders of its own
    (:func:`dataset_folders`: an initial list not read here and not in
    them, an ImageNet checkpoint's ``data/imagenet/meta/train.txt`` on a
    machine without it, is not judged, as the run's start did not judge
    it). Where a list lies decides nothing else: NCT's list recorded
    outside the folder extracted from (a copy of it, a cluster's path, a
    relative root of a run in another folder) passed as another
    dataset's. The pairs kept: :func:`kept_list_roots`."""
    return tuple(list_names(kept)
                 for kept in kept_list_roots(lists, init, holds))


def list_names(pairs: Sequence[Tuple[str, Optional[str]]]
               ) -> Tuple[str, ...]:
    """The names of ``(list, data_root)`` ``pairs``, each once, in
    order."""
    return tuple(dict.fromkeys(name for name, _ in pairs))


def kept_list_roots(lists: Sequence[Tuple[str, Optional[str]]],
                    init: Sequence[Tuple[str, Optional[str]]],
                    holds: Callable[[str], Optional[bool]],
                    other: Sequence[str] = (), rooted: bool = False
                    ) -> Tuple[Tuple[Tuple[str, Optional[str]], ...], ...]:
    """The ``(list, data_root)`` pairs of ``lists`` and of ``init`` that
    :func:`lists_of_root` keeps (each pair once), with their roots: which
    of them are judged by their names alone (:func:`by_name_only`). The
    folders of the encoder's dataset (:func:`dataset_folders`) judge its
    initial lists only: read where there are some.

    What a refusal's way out would change, to judge whether it clears
    the refusal (:func:`~openselfsup.apis.extract.check_held_out`):
    ``other``, names of lists judged by name alone taken for another
    dataset's (read, holding no NCT image: dropped), an own one then
    recorded under a root of its own; ``rooted``, the own lists recorded
    without their root recorded with one (the export made again from the
    training checkpoint) and read as NCT's. A root so recorded is a
    folder of the encoder's dataset that holds none of its initial lists
    (review r145: re-rooted, a list made the folders known, and an
    initial ``wo_7`` list under a root not found here fell outside them
    and was no longer judged)."""
    moved = [p for p in lists
             if p[0] in other or (rooted and p[1] is None)]
    stay = [p for p in lists if p not in moved]
    folders = None if not init else \
        dataset_folders(stay) if stay or not moved else ()
    return (tuple(dict.fromkeys(
                [p for p in stay if may_be_nct(*p, None, holds)]
                + [p for p in moved if p[0] not in other])),
            tuple(dict.fromkeys(p for p in init if p[0] not in other
                                and may_be_nct(*p, folders, holds))))


def by_name_only(pairs: Sequence[Tuple[str, Optional[str]]],
                 holds: Callable[[str], Optional[bool]],
                 names: Optional[Sequence[str]] = None
                 ) -> Dict[str, Tuple[Tuple[str, Optional[str]], ...]]:
    """``{list: recorded}`` of the lists of ``(list, data_root)``
    ``pairs`` (kept as may be NCT's: :func:`kept_list_roots`) judged by
    their names alone: recorded without their root (None), or under a
    root whose file is not read here (``holds`` None: a cluster's path,
    kept as the encoder's own or in its dataset's folders,
    :func:`may_be_nct`); ``recorded``, every such ``(list, data_root)``
    of the name, as recorded (review r145: of a name recorded without
    its root and under a root where it cannot be read, the first root
    alone was said; and a list named from the run's root was looked for
    under the root of the file that recorded it). Nothing read here says the
    list is NCT's: it is by its name, and may be another dataset's list
    of that name (a root-less export whose ``meta/train.txt`` is a
    user's own; review r138: a list of a root not found here was judged
    by its name too, and not said to be). A name also kept where its
    file is read here is judged by more than its name; one whose name
    says no classes (:func:`~openselfsup.classes.list_held_out`: a
    user's own ``my_list.txt``) is not judged by it. ``names``: each
    pair's list as the refusal names it (the pairs' own where not
    given)."""
    from .classes import list_held_out
    names = [n for n, _ in pairs] if names is None else list(names)
    found: Dict[str, Tuple[Tuple[str, Optional[str]], ...]] = {}
    read = set()
    for shown, (name, root) in zip(names, pairs):
        if root is not None and holds(_list_path(root, name)) is not None:
            read.add(shown)
        elif list_held_out(shown) is not None:
            found[shown] = tuple(dict.fromkeys(
                found.get(shown, ()) + ((name, root), )))
    return {n: pairs for n, pairs in found.items() if n not in read}


def export_again_helps(rests: Sequence[str],
                       own: Sequence[Tuple[str, Optional[str]]],
                       init: Sequence[Tuple[str, Optional[str]]]) -> bool:
    """Whether the lists ``rests`` (judged by name:
    :func:`by_name_only`) are each recorded only as an exported file's
    own list without its root (``own``, the file's kept pairs; ``init``,
    those of its initial weights): exported again from the training
    checkpoint (:func:`~openselfsup.utils.checkpoint.
    extract_backbone_weights`, which records the root), they are read
    and judged soundly. Not so for an initial list recorded without its
    root (an own-data run's from a root-less export: the export records
    the same) or a root not found here."""
    return bool(rests) and all(
        all(root is None for name, root in own if name == n)
        and any(name == n for name, _ in own)
        and not any(name == n for name, _ in init) for n in rests)


#: the checkpoints' meta key of the training lists their run's initial
#: weights (``load_from``, ``Pretrained`` files) had been trained on, the
#: generations before them included (:func:`initial_weight_lists`)
INIT_LISTS_KEY = 'init_train_list'


def saved_init_lists(meta: Any) -> Tuple[str, ...]:
    """The training lists a checkpoint's encoder saw through its initial
    weights (``meta['init_train_list']``, :data:`INIT_LISTS_KEY`: a run
    from ``load_from`` or a ``Pretrained`` file records what that file was
    trained on); empty where the meta records none (a run from scratch,
    from weights of unknown training, or one saved before it was
    recorded)."""
    found = meta.get(INIT_LISTS_KEY) if isinstance(meta, dict) else None
    if isinstance(found, (list, tuple)) and all(
            isinstance(f, str) and f for f in found):
        return tuple(found)
    return ()


#: the checkpoints' meta key, beside :data:`INIT_LISTS_KEY`, of the
#: ``data_root`` each of those lists was read from (one per list, in
#: order): a run on a user's own data from NCT weights keeps NCT's lists,
#: with the root that says whose they are
INIT_ROOTS_KEY = 'init_data_root'


def saved_init_list_roots(meta: Any
                          ) -> Tuple[Tuple[str, Optional[str]], ...]:
    """``(list, data_root)`` of each list a checkpoint's encoder saw
    through its initial weights (:func:`saved_init_lists`): the root
    recorded beside them (:data:`INIT_ROOTS_KEY`; None recorded for a
    list its weights file recorded without its root: judged by its name,
    :func:`may_be_nct`), else, recorded before it was, the root of the
    checkpoint's first own list (:func:`saved_list_roots`), which they
    were recorded relative to; each root None where neither is recorded
    (not known)."""
    lists = saved_init_lists(meta)
    roots = meta.get(INIT_ROOTS_KEY) if lists else None
    if isinstance(roots, (list, tuple)) and len(roots) == len(lists) \
            and all(r is None or isinstance(r, str) for r in roots):
        return tuple(zip(lists, roots))
    own = saved_list_roots(meta) if lists else None
    first = own[0][1] if own else None
    return tuple((name, first) for name in lists)


def init_lists_meta(pairs: Sequence[Tuple[str, Optional[str]]]
                    ) -> Dict[str, List[str]]:
    """The meta entries that record the lists an encoder's initial
    weights saw (``pairs``: :func:`saved_init_list_roots`,
    :func:`initial_weight_lists`): :data:`INIT_LISTS_KEY`, and
    :data:`INIT_ROOTS_KEY`, None for a list whose root is not known
    (read back as such, not as the checkpoint's own list's root:
    :func:`saved_init_list_roots`); empty for none."""
    if not pairs:
        return {}
    return {INIT_LISTS_KEY: [name for name, _ in pairs],
            INIT_ROOTS_KEY: [root if isinstance(root, str) else None
                             for _, root in pairs]}


def check_initial_held_out(head: str, here: Optional[Sequence[str]],
                           there: Sequence[str],
                           init: Sequence[str],
                           by_name: Optional[Dict[str, Any]]
                           = None,
                           exported: Sequence[str] = ()) -> None:
    """Refuse a new run on a list that holds out NCT classes
    (``wo_<c>_train.txt``) from initial weights trained on ``there``
    (which saw ``init`` through initial weights of its own) that saw one
    of them: the ``wo_3`` config given the all-class run's checkpoint as
    ``load_from`` (or as a ``Pretrained`` backbone file) trained without
    a word, its checkpoints named ``wo_3`` as their training list, and
    its features passed for ``clp_wo_3``, an encoder that had seen LYM.
    Judged by the names of the lists that may be NCT's, as a resume is
    (:func:`check_same_held_out`: what the lists together leave out,
    :func:`~openselfsup.classes.lists_held_out`); weights whose lists are
    not known, or whose names all say no classes, are not judged (a list
    of unknown name beside known ones can only add seen classes:
    :func:`~openselfsup.classes.lists_held_out_at_most`), nor is a run
    whose own lists hold no NCT image (``here`` empty: it leaves out no
    NCT class, whatever its lists' names say).

    Args:
        head (str): how the line names the file (``load_from FILE``).
        here (Sequence[str], optional): the run's training lists that may
            be NCT's (:func:`nct_train_lists`); None: not known.
        there (Sequence[str]): the lists the file's encoder was trained
            on that may be NCT's (:func:`initial_weight_lists` reads
            them).
        init (Sequence[str]): those its own initial weights were trained
            on, the same way.
        by_name (dict, optional): ``{list: recorded}`` of those of
            ``there`` and ``init`` judged by their names alone
            (:func:`by_name_only`: recorded without their root, or under
            one not found here). Where the refusal rests on some of them
            (:func:`~openselfsup.classes.refusal_rests_on`), the line
            names those and the way out for another dataset's lists of
            those names (review r137: such an export of another dataset
            was refused as having seen the class, in words that said it
            as a fact); what it has seen is said as their names decide it
            (``if meta/train.txt is NCT's, it has seen LYM``; where a
            list read here decides the refusal, what the lists read leave
            out at most, and the classes seen through names alone said
            so: review r145).
        exported (Sequence[str]): those of ``by_name`` recorded only as
            the file's own lists without their root
            (:func:`export_again_helps`): the way out named first is
            the sound one, the export made again from the training
            checkpoint, then, without it, ``load_from_check=False``
            (:func:`~openselfsup.classes.by_name_way_out`); for the
            others, ``load_from_check=False`` alone, which turns off
            every check of every initial weights file of the config
            (review r138: only that was named, and not what else it
            turns off; r145: it was said to be this file's alone).

    Raises:
        InputError: the initial weights saw a class this run leaves out.
    """
    from .classes import (by_name_way_out, lists_behind_words,
                          lists_held_out, lists_held_out_at_most,
                          lists_words_rest_on, nct_if,
                          nct_names, refusal_rests_on, trained_on_words)
    now = lists_held_out(here)

    def seen(lists):
        # a list of unknown name beside known ones can only add seen
        # classes
        before = lists_held_out_at_most(lists)
        return () if before is None or now is None else \
            sorted(set(now) - set(before))

    lists = tuple(there) + tuple(init)
    found = seen(lists)
    if not found:
        return
    # refused by the names of lists judged by name alone: said, with its
    # way out
    # the lists read here seeing a class: refused whatever the others
    # are, dropping lists only shrinks what is seen (review r154: every
    # set of the others was tried first, exponential in them)
    read = tuple(n for n in lists if n not in (by_name or {}))
    sure = seen(read)
    rests = {} if sure else refusal_rests_on(
        by_name or {}, found,
        lambda drop: bool(seen(tuple(n for n in lists if n not in drop))))
    classes = nct_names(found)
    # load_from_check=False turns off the checks of every initial weights
    # file of the config, not of this one alone (review r145)
    way = by_name_way_out(
        tuple(rests), 'load it unchecked (--cfg-options '
        'load_from_check=False: no checks of any initial weights file: '
        'shapes, model, held-out classes)',
        all(n in exported for n in rests)) if rests else ''
    before, at_most = lists_held_out_at_most(lists), \
        lists_held_out(lists) is None
    # what it has seen, said as the lists judged by name alone decide it
    # (review r145: "it has seen LYM" said as a fact after the hedge)
    saw = f'it has seen {classes}, which this run leaves out'
    hedged, plain, otherwise = rests, False, None
    if rests:
        saw = nct_if(tuple(rests), found)
        # the words may rest on more lists judged by name (review r154):
        # each said, the words as true where all are NCT's
        hedged = lists_words_rest_on(by_name, rests, lambda drop: (
            lists_held_out_at_most([n for n in lists if n not in drop]),
            lists_held_out([n for n in lists if n not in drop]) is None)
            != (before, at_most))
        plain = len(hedged) > len(rests)
    elif by_name:
        # a list read here decides it; the words that rest on lists
        # judged by name say so (what the lists read leave out, or at
        # most, and what the whole does if those are NCT's; the classes
        # seen through the names alone)
        read_before = lists_held_out_at_most(read)
        if read_before != before:
            hedged = lists_behind_words(by_name, read_before)
        if list(sure) != list(found):
            more = sorted(set(found) - set(sure))
            behind = lists_behind_words(by_name, more)
            hedged = {n: r for n, r in by_name.items()
                      if (read_before != before and n in hedged)
                      or n in behind}
            saw = (f'it has seen {nct_names(sure)}, which this run leaves '
                   f'out, ' + nct_if(tuple(behind), more, too=True))
        if read_before != before:
            # several lists: some of them NCT's leave out fewer
            otherwise = read_before, (lists_held_out(read) is None
                                      or len(hedged) > 1)
    raise _held_out_mix(
        head, trained_on_words(there, init), before, here, now,
        f'({saw}); start from weights trained without {classes}, or from '
        f'none{way}', at_most, hedged, plain, otherwise)


def initial_weight_lists(cfg, load_from: Any = None, *,
                         reader: ListReader
                         ) -> Tuple[Tuple[str, Optional[str]], ...]:
    """The training lists a new run's initial weights were trained on,
    each with its ``data_root``, recorded in its checkpoints' meta
    (:data:`INIT_LISTS_KEY`, :data:`INIT_ROOTS_KEY`): each local file the
    run loads, ``load_from`` (``cfg.load_from`` where not given) and the
    ``Pretrained`` ``init_cfg`` files (:func:`pretrained_init_files`),
    read as extraction reads a checkpoint's (:func:`saved_list_roots`,
    with the lists that file's initial weights saw:
    :func:`saved_init_list_roots`), each list once, in order: one of the
    run's dataset named from the run's first ``data_root``, one of
    another dataset as its file recorded it (a run on a user's own data
    from NCT weights keeps NCT's lists, and its features are judged by
    them under a ``<model>_wo_<c>`` folder). A file that records no
    training list (ImageNet or torchvision weights, a user's file), a
    URL, or a file whose meta is not read without loading it (torch's
    legacy format) adds none; a list recorded without its root (backbone
    weights exported before the root was) is judged by its name, as
    extraction judges it (:func:`may_be_nct`), and recorded with the
    root None (where it lies is not known; extraction judges it by its
    name too). Only NCT's lists are judged
    here, by the rule extraction judges an encoder's initial lists by
    (:func:`may_be_nct`, with the folders of the run's dataset, which
    will carry them: :func:`dataset_folders`): wherever it lies, a list
    whose file (its recorded root joined as MMEngine joins it), read by
    ``reader`` under the data prefixes recorded for it as extraction
    reads it (:func:`saved_list_prefixes`; the run's own lists under
    its config's, :func:`trained_list_prefixes`), holds NCT images (a
    ``wo_7`` run from the all-class run's weights recorded under a copy
    of the NCT folder or a cluster's path was started without a word),
    and one not read here that lies in the run's folders; one not read
    here and elsewhere is not judged (an ImageNet checkpoint's
    ``data/imagenet/meta/train.txt``). A list whose file holds no NCT
    image is not judged under any ``wo_<c>`` name, under the run's roots
    too, nor is the run's own list of none (:func:`nct_train_lists`), as
    the training-time check and extraction judge such lists: a user's
    own ``wo_3`` run from their own ``wo_8`` run's weights (``mine/TUM``
    beside ``mine/normal``) was refused as having seen LYM (review r109).
    Torch-free (the meta read from the zip:
    :func:`~openselfsup.utils.checkpoint_files.checkpoint_meta`): the
    launchers' check, the run before its runner is built, and the runner
    call it.

    Raises:
        InputError: a file whose encoder saw a class the run's list leaves
            out (:func:`check_initial_held_out`).
    """
    from .utils.checkpoint_files import MetaUnread, checkpoint_meta
    if load_from is None:
        load_from = cfg.get('load_from')
    here = trained_list_roots(cfg)
    if not here:
        return ()  # the run's lists unknown: of which dataset, unknown
    # the run's dataset: its lists' data_root (their folder without one)
    folders = dataset_folders(here)
    base = here[0][1]
    files = [(f'load_from {load_from}', load_from)]
    files += [(pretrained_head(key, path), path)
              for key, path in pretrained_init_files(cfg.get('model'))]
    found: List[Tuple[str, str]] = []
    # the run's lists under its own data prefixes, each file's under the
    # prefixes it records (read alone, an NCT list written LYM/0001.png
    # under NCT's release folder was another dataset's: not judged)
    run_holds = reader(trained_list_prefixes(cfg))
    checks = cfg.get('load_from_check', True) is not False
    run_nct: List[Optional[Tuple[str, ...]]] = []  # read once, if asked

    def run_lists() -> Tuple[str, ...]:
        """The run's lists that may be NCT's (:func:`nct_train_lists`, of
        ``here`` read above), read where a file is compared with them."""
        if not run_nct:
            run_nct.append(lists_of_root(here, (), run_holds)[0])
        return run_nct[0]

    for head, path in files:
        local = local_file(path) if isinstance(path, str) and path \
            else None
        if local is None or not os.path.isfile(local):
            continue  # missing: refused by the checks of the file
        try:
            meta = checkpoint_meta(local)
        except MetaUnread:
            continue
        saved = saved_list_roots(meta)
        if saved is None:
            continue
        holds = reader(saved_list_prefixes(meta))
        # its own lists, then its initial weights', as recorded: one of
        # no recorded root judged by its name, as extraction judges it,
        # and kept without a root (dropped, a run from NCT's all-class
        # export under load_from_check=False recorded nothing, and its
        # features passed for clp_wo_3)
        pairs = saved + tuple(saved_init_list_roots(meta))
        mine = [None if root is None else
                _this_dataset_name(_list_path(root, name), folders, base)
                for name, root in pairs]
        # NCT's lists (may_be_nct: what their files hold, or, not read
        # here, whether they lie in the run's folders, which will carry
        # them as its initial lists), named as recorded
        judged = [(n if n is not None else name)
                  if may_be_nct(name, root, folders, holds) else None
                  for n, (name, root) in zip(mine, pairs)]
        there, init = ([n for n in judged[part] if n is not None]
                       for part in (slice(len(saved)),
                                    slice(len(saved), None)))
        if (there or init) and checks:
            # those recorded without a root, or under one not found
            # here: NCT's by their names alone
            kept = [(n, pair) for n, pair in zip(judged, pairs)
                    if n is not None]
            by_name = by_name_only([p for _, p in kept], holds,
                                   [n for n, _ in kept])
            named = [(n, root) for n, (_, root) in zip(judged, pairs)]
            check_initial_held_out(
                head, run_lists(), there, init, by_name, [
                    n for n in by_name if export_again_helps(
                        (n,), named[:len(saved)], [
                            p for p in named[len(saved):]
                            if p[0] is not None])])
        found += [(n, base) if n is not None else pair
                  for n, pair in zip(mine, pairs)]
    return tuple(dict.fromkeys(found))


def is_training_meta(meta: Any) -> bool:
    """Whether a checkpoint's ``meta`` is a training checkpoint's (it
    counts the epoch and the iteration its run reached, as MMEngine's
    resume reads them)."""
    return isinstance(meta, dict) and all(
        isinstance(meta.get(k), int) for k in ('epoch', 'iter'))


def check_resume_meta(path: str, cfg: Config, world: int,
                      meta: Any, *, reader: ListReader) -> None:
    """The refusals of the checkpoint ``path`` to resume from that its
    ``meta`` decides, in the run's order: not a training checkpoint (no
    epoch and iteration: backbone weights, or a model published without
    its training state; MMEngine's resume failed on it with a
    ``KeyError`` after a screen of missing keys), of another model
    (:func:`check_saved_model`), of a run on a list holding out other
    classes (:func:`check_same_held_out`, its lists read for NCT images
    by ``reader``, :data:`ListReader`), with a seed
    MMEngine's resume
    cannot seed numpy with on ``world`` processes
    (:func:`check_seed_reach`; after the model: another model's checkpoint
    is not to be resumed on fewer processes). Torch-free: the run
    (:func:`~openselfsup.engine.runner.resume_notes`, from its read of the
    checkpoint) and the launchers' ``--check-config`` (the meta read
    without torch: :func:`~openselfsup.utils.checkpoint_files.
    checkpoint_meta`) run it.

    Raises:
        InputError: one line, as each check says.
    """
    if not is_training_meta(meta):
        raise InputError(
            f'--resume from {path}: not a training checkpoint (no epoch and '
            'iteration in its meta: backbone weights, or a model saved '
            'without its training state); resume from a run\'s '
            'epoch_N.pth / iter_N.pth or its work dir (weights alone start '
            'a new run, e.g. through model.backbone.init_cfg)')
    text = meta.get('cfg') if isinstance(meta.get('cfg'), str) else None
    check_saved_model(path, cfg, text)
    check_same_held_out(path, cfg, text, reader=reader)
    # the seed MMEngine's resume re-seeds with, checked before the runner
    # is built (numpy's ValueError on ranks 1 and up, after the launcher
    # started them)
    check_seed_reach(cfg, world, resumed=(path, meta.get('seed')))


def uneven_windows_refusal(config_name: str, counts: Dict[Any, int]
                           ) -> Optional[str]:
    """The line refusing MMEngine's ``auto_scale_lr.enable`` (set by the
    config itself or by ``--auto-scale-lr``: the line says both, neither
    the runner nor the launchers' check can tell which) for several
    optimizers whose ``accumulative_counts`` (``counts``, by wrapper name)
    differ: their total batches differ, and
    ``auto_scale_lr.base_batch_size`` is one number; None where they are
    one. Said by the launchers' check and the run from the config
    (:func:`check_uneven_windows`) and by the runner from the built
    wrappers (``AtomicRunner.scale_lr``)."""
    if len(set(counts.values())) < 2:
        return None
    each = ', '.join(f'optim_wrapper.{name}.accumulative_counts={count}'
                     for name, count in counts.items())
    return (f'auto_scale_lr.enable (--auto-scale-lr, or set in the config): '
            f'the optimizers of {config_name} accumulate over windows of '
            f'different lengths ({each}): their total batches differ, and '
            'auto_scale_lr.base_batch_size is one; give them one '
            'accumulative_counts, or set each lr without scaling (no '
            '--auto-scale-lr, and auto_scale_lr.enable=False where the '
            'config sets it)')


def named_wrappers(optim_wrapper: Any) -> Optional[Dict[str, Any]]:
    """``{name: config}`` of an ``optim_wrapper`` config of several named
    wrappers: no ``optimizer`` at its top, a ``constructor`` that builds
    MMEngine's ``OptimWrapperDict`` from the other keys (but
    ``paramwise_cfg``, which MMEngine's ``build_optim_wrapper`` pops;
    MMEngine's documented form: ``dict(constructor=...,
    generator=dict(type='OptimWrapper', optimizer=...),
    discriminator=dict(...))``). None for another form (one wrapper)."""
    if not isinstance(optim_wrapper, dict) or 'optimizer' in optim_wrapper \
            or 'constructor' not in optim_wrapper:
        return None
    return {k: v for k, v in optim_wrapper.items()
            if k not in ('constructor', 'paramwise_cfg')}


def wrapper_counts(optim_wrapper: Any) -> Optional[Dict[str, int]]:
    """``{name: accumulative_counts}`` (1 where unset, MMEngine's
    default) of an ``optim_wrapper`` config of several named wrappers
    (:func:`named_wrappers`), each a wrapper config with its
    ``optimizer``. None where the config does not tell: one wrapper,
    another form, or a count that is not a positive whole number
    (:func:`accumulation_count`; the launchers' check refuses it)."""
    named = named_wrappers(optim_wrapper)
    if named is None:
        return None
    counts = {}
    for name, wrapper in named.items():
        if not isinstance(wrapper, dict) or 'optimizer' not in wrapper:
            return None
        count = accumulation_count(wrapper.get('accumulative_counts', 1))
        if count is None:
            return None
        counts[name] = count
    return counts or None


def check_uneven_windows(cfg: Config) -> None:
    """Refuse, torch-free, where ``cfg`` scales the learning rate
    (``auto_scale_lr.enable``: ``--auto-scale-lr``) for several optimizers
    whose ``accumulative_counts`` the config tells apart
    (:func:`wrapper_counts`), the runner's line
    (:func:`uneven_windows_refusal`): before, only the runner refused it,
    once the optimizers were built, in every process the launchers
    started.

    Raises:
        InputError: the config, each wrapper's count, the ways on.
    """
    if not (cfg.get('auto_scale_lr') or {}).get('enable'):
        return
    counts = wrapper_counts(cfg.get('optim_wrapper'))
    line = counts and uneven_windows_refusal(
        cfg.filename or 'the config', counts)
    if line:
        raise InputError(line)
