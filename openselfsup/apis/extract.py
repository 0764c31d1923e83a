"""Feature extraction: a checkpoint and an image list in, ``features.npy`` out.

``wsi_workdir/extract.py`` calls :func:`extract_many` (one or several
feature sets in one process; :func:`extract` is one set). The encoder is
the config's ``model`` (an mmpretrain ``ImageClassifier`` without head:
backbone, global average pooling neck, data preprocessor that normalises),
the images are the config's ``dataset`` (an
:class:`~openselfsup.datasets.ImageList` with the test pipeline). Features
are **L2-normalised** by default, as the published extractor does
(``F.normalize`` of the pooled last stage); ``normalise=False`` keeps the
raw pooled output, and the provenance says which. Only the
backbone's weights come from the checkpoint, which may be

- a full training checkpoint written by ``tools/train.py`` (MoCo-v3 or
  supervised): the ``backbone.*`` entries of its ``state_dict`` are used, the
  momentum encoder, neck, head, optimizer and runtime state are ignored;
- backbone weights, ``{'state_dict': {...}}`` without prefix, as
  ``tools/extract_backbone_weights.py`` writes them;
- a bare state dict, with or without the ``backbone.`` prefix, also
  under ``model`` (DINO / DeiT checkpoints, ``{'model': {...}, 'epoch':
  ...}``) or ``module`` (:func:`~openselfsup.utils.checkpoint.
  unwrap_state_dict`, the rule of timm's ``--weights`` too).

Checkpoints are read with ``torch.load(weights_only=True)`` through
:func:`~openselfsup.utils.checkpoint.load_checkpoint_file` with
``tensors_only=True``: tensors are rebuilt, nothing in the file runs code.

Outputs (each written atomically, after everything was checked and its
set computed; with several sets, every list, output and model is checked
before the first set is computed), see :func:`output_paths`:

- features ``float32 [N, D]``;
- labels ``int64 [N]`` and a meta JSON (image paths relative to the data
  prefix, class names, the list file and its digest). In the workdir layout
  they are shared by every model of the workdir, so they are bound to one
  list's content: extracting another list under the same name is refused;
- a provenance JSON: checkpoint and its sha256, config, list file and its
  digest, normalisation, the device and precision (float32 on CUDA with
  ``tf32: False``), the digests of the features and labels written,
  date.

With ``aug_times = A`` (the augmentation ablation, ``configs/extraction/
nct_aug.py``) the list is passed A times through the config's random
pipeline, each image's draws seeded by (``seed``, copy index, image
index), the same on any ``workers`` and batch size, and the features are
stacked copy-major: rows ``c * N .. (c + 1) * N - 1`` are copy ``c``.

Other encoders: :func:`extract_external` takes a timm or open_clip model
with local weights (:mod:`openselfsup.models.external`) over the same list
and writes the same outputs, its provenance adding the library, model,
preprocessing and pooling. ``random_init`` (``weights=None`` for
:func:`extract_external`) extracts the encoder at its seeded random
initialisation, a baseline. The helpers
:func:`open_list`, :func:`finish_features`, :func:`provenance_record` and
:func:`write_outputs` are shared with the feature import
(:mod:`openselfsup.apis.import_features`).
"""
import datetime
import functools
import logging
import os
import platform
import random
import re
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.logging import MMLogger, print_log

from ..classes import (by_name_way_out, held_out_words, lists_behind_words,
                       lists_held_out, lists_held_out_at_most,
                       lists_words_rest_on,
                       model_held_out, nct_names, refusal_rests_on,
                       split_model_name, trained_on_words)
from ..config import (argument_value, built_model, by_name_only,
                      check_extraction_scope, check_scope_names,
                      check_setting_types, export_again_helps, init_scope,
                      key_below,
                      kept_list_roots,
                      list_names, load_config,
                      model_settings_sha1, pipeline_image_size,
                      saved_list_prefixes, sized_pipeline,
                      trained_feature_changes)
from ..lowshot import paths
from ..utils import (InputError, array_sha1, cfg_options_here,
                     check_distinct, check_finite,
                     check_replaceable, check_seed, check_writable,
                     config_sha1, file_sha1, file_sha256, files_sample_sha1,
                     is_number, json_object_or_none, library_version,
                     load_json, locked, save_set, settings_refused)
from ..utils.checkpoint_files import random_init_words
from ..utils.errors import say, work_begins
from ..utils.device import resolve_device
from ..utils.io import to_jsonable

_BACKBONE_PREFIX = 'backbone.'
#: depth of a torchvision/mmpretrain ResNet from its blocks per stage
_RESNET_DEPTHS = {(2, 2, 2, 2, False): 18, (3, 4, 6, 3, False): 34,
                  (3, 4, 6, 3, True): 50, (3, 4, 23, 3, True): 101,
                  (3, 8, 36, 3, True): 152}


def load_backbone_weights(path: str, warn: bool = True
                          ) -> Tuple['OrderedDict[str, torch.Tensor]', str,
                                     Optional[Tuple[int, int]],
                                     Optional[Tuple[Tuple[str, Optional[str]],
                                                    ...]],
                                     Tuple[Tuple[str, Optional[str]], ...],
                                     Any]:
    """Read the backbone's weights from any of the accepted checkpoint kinds.

    Args:
        path (str): a full training checkpoint, backbone weights
            (``{'state_dict': {...}}`` without prefix) or a bare state dict
            (also under ``model`` or ``module``).
        warn (bool): say in a warning line that the training images were
            of several sizes (a ``ConcatDataset``'s parts); False where the
            file was read before.

    Returns:
        tuple: ``(state_dict, kind, size, train_lists, init_lists,
        meta)``: the backbone's
        tensors keyed without the ``backbone.`` prefix (``conv1.weight``,
        ``layer1.0.bn1.bias``...), ``kind``, ``'full checkpoint'`` or
        ``'backbone weights'``, the ``(w, h)`` of the training images and
        the training list files (one, or a ``ConcatDataset``'s parts),
        each with its ``data_root`` (None where not recorded:
        :func:`~openselfsup.utils.checkpoint.checkpoint_train_lists`),
        where the file records them (else None), and those its run's initial
        weights had been trained on, each with its ``data_root``
        (:func:`~openselfsup.utils.checkpoint.checkpoint_init_lists`;
        empty where it records none), and the
        file's ``meta`` as read here (:func:`~openselfsup.utils.
        checkpoint_files.saved_meta`; None where it holds none), whose
        recorded training config the settings warning compares: the file
        is not read again for it.

    Raises:
        InputError: missing or unreadable file, or no backbone weights in it.
    """
    from ..utils.checkpoint import (checkpoint_image_size,
                                    checkpoint_init_lists,
                                    checkpoint_train_lists,
                                    load_checkpoint_file, state_dict_of)
    from ..utils.checkpoint_files import saved_meta
    obj = load_checkpoint_file(path, tensors_only=True)
    state = state_dict_of(obj, path)
    prefixed = OrderedDict((k[len(_BACKBONE_PREFIX):], v)
                           for k, v in state.items()
                           if k.startswith(_BACKBONE_PREFIX))
    if prefixed:
        weights, kind = prefixed, 'full checkpoint'
    else:
        # backbone weights: a ResNet's own keys, no prefix
        weights = OrderedDict((k, v) for k, v in state.items()
                              if k.startswith(('conv1.', 'bn1.', 'layer',
                                               'stem.')))
        kind = 'backbone weights'
    if not weights:
        sample = ', '.join(list(state)[:3]) or 'no entries'
        raise InputError(
            f'{path}: no backbone weights found (expected keys "backbone.*" '
            f'or a ResNet state dict such as "conv1.weight"; found {sample})')
    bad = [k for k, v in weights.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise InputError(f'{path}: backbone entry {bad[0]} is not a tensor')
    return (weights, kind, checkpoint_image_size(obj, path if warn else None),
            checkpoint_train_lists(obj), checkpoint_init_lists(obj),
            saved_meta(obj))


def check_held_out(output: str, checkpoint: str,
                   lists: Optional[Sequence[Tuple[str, Optional[str]]]],
                   init_lists: Sequence[Tuple[str, Optional[str]]] = (),
                   holds: Optional[Callable[[str], Optional[bool]]] = None
                   ) -> None:
    """Refuse features written under a ``<model>_wo_<c>`` folder of the
    workdir from a checkpoint trained on a list that holds out other
    classes (or none): ``--pretrained .../r18_bs256_ep200_wo_3/...
    --output extracted_feats/clp_wo_7/NCT_train.npy`` was written without
    a word, and the meta-test, which pairs ``clp_wo_7`` with novel class 7
    by its name, then scored an encoder that saw class 7. ``lists``:
    ``(list, data_root)`` of each training list as the checkpoint records
    it (:func:`~openselfsup.config.saved_list_roots`; a root None where
    not recorded), None where it records none. Judged by the
    names only (:func:`~openselfsup.classes.lists_held_out`: a
    ``ConcatDataset``'s lists hold out what every one leaves out,
    :func:`~openselfsup.classes.model_held_out`): a folder without the
    suffix, a checkpoint that records no training list, or lists of
    other names only, are not judged; beside known lists, a list of
    another name can only add seen classes
    (:func:`~openselfsup.classes.lists_held_out_at_most`): a class a
    known list holds is refused. The lists its run's initial weights had
    been trained on (``init_lists``, each with its ``data_root``, recorded
    by the run: :func:`~openselfsup.config.initial_weight_lists`) count as
    its own: a ``wo_3`` run started from the all-class run's checkpoint
    had seen LYM, and its features passed for ``clp_wo_3``; so had a run
    on a user's own data from those weights, whose own lists are not
    judged. Only the lists of NCT's
    dataset are judged by their names (a user's own
    ``data/MINE/meta/train.txt`` was refused as NCT's all-class list,
    though its images hold no NCT class): a list whose file, as the
    checkpoint records it (each read under its own root) and read here, holds no NCT image (NCT's file names, or
    NCT class folders only:
    :func:`~openselfsup.datasets.prepare.holds_nct_images`) is of
    another dataset (:func:`~openselfsup.config.lists_of_root`), the same
    for every set; an encoder trained on such lists alone, from initial
    weights of no NCT list, is not judged. A list not read here (a cluster's path, a
    relative root of a run in another folder) or of no recorded root is
    judged by its name: where it lies says nothing (NCT's list in a copy
    of its folder is NCT's); but an initial list not read here that lies
    outside the folders of the encoder's own lists (an ImageNet
    checkpoint's ``data/imagenet/meta/train.txt``) is not judged, as the
    run's start did not judge it (:func:`~openselfsup.config.may_be_nct`,
    the one rule). Where the refusal rests on lists judged by their
    names alone (recorded without their root, or under one not found
    here: :func:`~openselfsup.config.by_name_only`; those that hold a
    class the folder names, without which it would pass:
    :func:`~openselfsup.classes.refusal_rests_on`), the line says they
    were judged by their names alone and may be another dataset's
    (:func:`~openselfsup.classes.held_out_words`), and names the way out
    for that case: where they are the checkpoint's own lists of an
    export that recorded no root, the export made again from its
    training checkpoint, which records it (review r138); else a folder
    without the ``_wo_<c>`` suffix, which is not judged, given to the
    meta-test with its ``--novel_class`` (review r137: an own-data run
    from a root-less export of another dataset whose list is named
    ``meta/train.txt`` had its features refused as trained on a list
    that ``holds every class``, said as a fact).
    ``holds``: how a list file is read for NCT images (default
    :func:`~openselfsup.datasets.prepare.holds_nct_images`; a caller
    judging several outputs of one checkpoint passes one that reads each
    list once)."""
    out = output_paths(output)
    if not out['shared']:
        return
    model = os.path.basename(os.path.dirname(out['features']))
    said = model_held_out(model)
    if said is None:
        return  # a folder that names no held-out class: not judged
    train_lists, by_name, exported = None, {}, ()
    recorded = (lists, init_lists)
    if lists is not None:
        if holds is None:
            from ..datasets.prepare import holds_nct_images as holds
        # each file read once a call: the way-out tests below re-read the
        # lists for every set of lists they try (review r154)
        holds = functools.lru_cache(maxsize=None)(holds)
        kept = kept_list_roots(lists, init_lists, holds)
        train_lists, init_lists = (list_names(each) for each in kept)
        if not train_lists and not init_lists:
            return  # trained on another dataset: its names say nothing
        by_name = by_name_only(kept[0] + kept[1], holds)
        exported = [n for n in by_name
                    if export_again_helps((n,), *kept)]

    def verdict(seen):
        """What ``seen`` (the lists judged) leaves out, ``at_most`` where
        a list of unknown name is among them; None: not refused."""
        trained = lists_held_out(seen)
        # a list of unknown name beside known ones can only add seen
        # classes: refused where a known list holds a class the folder
        # names
        at_most = lists_held_out_at_most(seen) if trained is None else None
        if (trained is None and (at_most is None or
                                 set(said) <= set(at_most))) \
                or said == trained:
            return None
        return trained, at_most

    @functools.lru_cache(maxsize=None)
    def kept_if(other, rooted):
        # each re-rooting once a call (review r154)
        return tuple(list_names(each) for each in kept_list_roots(
            *recorded, holds, other, rooted))

    def verdict_if(other, rooted=False):
        """:func:`verdict` where the lists ``other`` (judged by name) are
        another dataset's and, ``rooted``, the own lists of no root are
        recorded with one (the way out that says so): re-rooted, a list
        may leave initial lists outside the encoder's folders, no longer
        judged (:func:`~openselfsup.config.kept_list_roots`)."""
        own, init = kept_if(tuple(sorted(other)), rooted)
        return verdict(own + init) if own or init else None

    seen = None if train_lists is None else \
        tuple(train_lists) + tuple(init_lists)
    found = verdict(seen)
    if found is None:
        return
    trained, at_most = found
    # refused by the names of lists judged by name alone (without those
    # that hold a class the folder names, not): said so, with the way
    # out for another dataset's lists of that name
    # a list read here that holds a class the folder names refuses it
    # whatever the others are (review r154: every set of the others was
    # tried first, exponential in them)
    read = lists_held_out_at_most([n for n in seen if n not in by_name])
    rests = {} if read is not None and not set(said) <= set(read) else \
        refusal_rests_on(by_name, said,
                         lambda drop: verdict_if(drop) is not None)
    hedged, plain, otherwise = rests, False, None
    if rests:
        # the words may rest on more lists judged by name than the
        # refusal (review r154: "holds every class" and the folder clp/
        # rested on a wo_7 list the hedge did not name): each said, the
        # words as true where all are NCT's, the folder so too
        hedged = lists_words_rest_on(
            by_name, rests, lambda drop: verdict_if(drop) != found)
        plain = len(hedged) > len(rests)
    elif by_name:
        # a list read here decides the refusal, but the words may rest
        # on lists judged by name (review r145: "holds every class" and
        # the folder clp/ said as facts): said as the lists read leave
        # out, or at most, and what the whole leaves out if the lists
        # judged by name are NCT's, and no folder
        trained_if, at_most_if = verdict_if(list(by_name))
        if (trained, at_most) != (trained_if, at_most_if):
            known = trained_if if trained_if is not None else at_most_if
            hedged = lists_behind_words(by_name, known)
            # several lists: some of them NCT's leave out fewer
            otherwise = known, trained_if is None or len(hedged) > 1
    family = split_model_name(model)[0]
    fits = '' if trained is None or otherwise else (
        (f", or, if {' and '.join(hedged)} are NCT's, " if plain else
         ', or ') + 'write its features under extracted_feats/'
        + (f'{family}_wo_{"".join(map(str, trained))}/' if trained
           else f'{family}/'))  # a folder only where every list is known
    if rests:
        novel = split_model_name(model)[1]
        fits += by_name_way_out(
            tuple(rests), 'write its features under extracted_feats/'
            f'{family}_novel_{novel}/ (a folder without the _wo_<c> '
            'suffix is not judged) and give the meta-test --model '
            f'{family}_novel_{novel} --novel_class {novel}',
            all(n in exported for n in rests)
            and verdict_if(list(rests), True) is None)
    words = held_out_words(at_most, True, hedged, plain, otherwise) \
        if trained is None else \
        held_out_words(trained, False, hedged, plain, otherwise)
    raise InputError(
        f'{output}: the folder {model} names the encoder trained without '
        f'{nct_names(said)}, but {checkpoint} was trained on '
        f'{trained_on_words(train_lists, init_lists)}, which {words}; '
        f'give the checkpoint trained without {nct_names(said)}{fits}')


def image_size_note(cfg, checkpoint: str,
                    trained: Optional[Tuple[int, int]]) -> Optional[str]:
    """A warning (logged as one) where an extraction config's images (its
    ``dataset.pipeline`` resize) are of another size than the encoder's
    training images (``trained``, from the checkpoint), with the override
    that matches: a 64-px demo encoder on the configs' 224-px images gives
    features of another scale than it learned, without an error."""
    from ..config import pipeline_image_size
    found = pipeline_image_size((cfg.get('dataset') or {}).get('pipeline')
                                or [], 'dataset.pipeline')
    if trained is None or found is None or found[1] == tuple(trained):
        return None
    key, size, order = found
    fmt = lambda s: f'{s[0]} px' if s[0] == s[1] else \
        f'{s[0]} x {s[1]} px (w x h)'
    pair = tuple(trained) if order == 'wh' else tuple(trained)[::-1]
    value = trained[0] if trained[0] == trained[1] else \
        f'"({pair[0]},{pair[1]})"'
    note = (f'{checkpoint} was trained on {fmt(trained)} images; '
            f'{cfg.filename} extracts from {fmt(size)} images ({key}): '
            f'features at another scale than trained (--cfg-options '
            f'{key}={value} matches)')
    # run by a script: how that script takes --cfg-options
    return note + cfg_options_here(note)


def _trained_meta(checkpoint: str) -> Any:
    """The ``meta`` of ``checkpoint`` (read without its tensors), or None
    where it holds none or it cannot be read so (a bare state dict: its
    training settings are not judged). Backbone weights that
    :func:`~openselfsup.utils.checkpoint.extract_backbone_weights` wrote
    carry the training config's text in theirs, and are judged by it."""
    from ..utils.checkpoint_files import MetaUnread, checkpoint_meta
    try:
        return checkpoint_meta(checkpoint)
    except (MetaUnread, InputError, OSError):
        return None


def _settings_note(found: Optional[List[Tuple[str, Optional[str]]]],
                   meta: Any, listing: Dict, checkpoint: str
                   ) -> Optional[str]:
    """The warning of :func:`~openselfsup.config.settings_changes_note`
    for a set extracted from ``checkpoint`` (whose ``meta`` records the
    config it was trained with) with settings that change its features
    other than trained (``found``: what
    :func:`~openselfsup.config.trained_feature_changes` found of the set's
    config, which its provenance records too): another normalisation
    (``model.data_preprocessor`` mean / std / channel order) or backbone
    setting than the training's gave features of other statistics, and
    low-shot F1 of them, without a word. Run by a script, it ends with
    how that script takes ``--cfg-options``."""
    from ..config import settings_changes_note
    note = settings_changes_note(found, meta, listing['config'], checkpoint,
                                 use='extract')
    return note and note + cfg_options_here(note)


def _unmoved_notes(listings: Sequence[Dict], model: bool = True
                   ) -> List[str]:
    """The warnings of :func:`~openselfsup.config.unmoved_copies_note`
    for the sets' configs, each once: ``--cfg-options`` that moved some
    copies of a path variable of a config file and left others in what
    extraction reads, the ``dataset`` (images from the new folder, the
    list from the file's) and, where ``model``, the model (a library
    model's extraction reads none); copies in other sections (a training
    config's loaders) are not read and not said. A ``dataset.data_root``
    that ``--data-root`` set (:func:`open_lists`) is named so."""
    from ..utils.errors import OPTIONS_GIVEN
    from .train import unmoved_notes, warning_words
    read = ('dataset', 'model') if model else ('dataset', )
    said: List[str] = []
    for listing in listings:
        given = vars(listing['cfg']).get(OPTIONS_GIVEN)
        flags = {'dataset.data_root': '--data-root'} if given is not None \
            and 'dataset.data_root' in listing['cfg_options'] and \
            'dataset.data_root' not in given else None
        for note in unmoved_notes(listing['cfg'], read, flags=flags):
            note = warning_words(note)  # logged as a warning
            said += [] if note in said else [note]
    return said


def resnet_depth(state: Dict[str, torch.Tensor]) -> Optional[int]:
    """The depth of the ResNet whose (unprefixed) weights these are, from
    its blocks per stage and block type (None if not a known ResNet)."""
    blocks = []
    for stage in range(1, 5):
        ids = {int(k.split('.')[1]) for k in state
               if k.startswith(f'layer{stage}.') and k.split('.')[1].isdigit()}
        blocks.append(max(ids) + 1 if ids else 0)
    bottleneck = any(k.endswith('conv3.weight') for k in state)
    return _RESNET_DEPTHS.get((*blocks, bottleneck))


def _shape_hint(weights: Dict[str, torch.Tensor],
                own: Dict[str, torch.Tensor]) -> str:
    """``--cfg-options`` that build a backbone like ``weights``: depth
    first, then the widths, read from a ResNet's unprefixed keys; ``''``
    where none is found (another backbone's keys: the line ended 'match
    the config to the checkpoint, e.g. --cfg-options', with no option)."""
    theirs, ours = resnet_depth(weights), resnet_depth(own)
    if theirs and theirs != ours:
        return (f'the checkpoint is a ResNet-{theirs}, the config builds a '
                f'ResNet-{ours}: --cfg-options model.backbone.depth={theirs}')
    opts = []
    if 'conv1.weight' in weights:
        opts.append('model.backbone.stem_channels='
                    f'{weights["conv1.weight"].shape[0]}')
    if 'layer1.0.conv1.weight' in weights:
        opts.append('model.backbone.base_channels='
                    f'{weights["layer1.0.conv1.weight"].shape[0]}')
    return 'match the config to the checkpoint, e.g. --cfg-options ' + \
        ' '.join(opts) if opts else ''


def load_into_backbone(backbone: torch.nn.Module,
                       weights: Dict[str, torch.Tensor],
                       checkpoint: str) -> None:
    """Copy ``weights`` into ``backbone``; every key must match in name and
    shape.

    Args:
        backbone (nn.Module): the config's backbone.
        weights (dict[str, Tensor]): from :func:`load_backbone_weights`.
        checkpoint (str): the checkpoint path, for messages.

    Raises:
        InputError: names or shapes differ (the first of each, and the
            ``--cfg-options`` that would build a matching ResNet: depth,
            else widths).
    """
    from ..models.state_dict import load_state
    own = backbone.state_dict()
    given = weights  # the hint reads the checkpoint's own keys only
    weights = {**{k: v for k, v in own.items()
                  if k.endswith('num_batches_tracked')}, **weights}
    load_state(backbone, weights, checkpoint, "the config's backbone",
               lambda: _fit_hint(given, own, backbone, checkpoint))


def _fit_hint(weights: Dict[str, torch.Tensor],
              own: Dict[str, torch.Tensor], backbone: torch.nn.Module,
              checkpoint: str) -> str:
    """What to do about ``weights`` (of the file ``checkpoint``) that do
    not fit ``backbone`` (whose tensors are ``own``): where the file's
    meta says what it is (its algorithm and config, as knn_eval reads
    them: :func:`~openselfsup.config.trained_checkpoint_words`), that; and
    where its backbone is of another kind than the config's, either that
    it is a slide-level model whose features no patch extraction gives
    (a balance checkpoint's ``LocalGlobalHIPT``, which reads precomputed
    region features: its class's ``takes_images`` False; a config of it
    loaded the weights and then stopped on the first image), or (an HLSS
    checkpoint's ``OpenCLIPImageTower``, a ResNet-18 config) a config of
    that backbone, not ``--cfg-options`` of depth or width, which no
    value turns into it (nor does the line name them: a script's note on
    how it takes them would follow). Otherwise the ``--cfg-options`` that
    match a ResNet (:func:`_shape_hint`), where it finds some."""
    from ..config import (recorded_type_class, saved_model_type,
                          trained_checkpoint_words)
    from ..utils import with_article
    from ..utils.checkpoint import is_backbone_export_meta
    meta = _trained_meta(checkpoint)  # a file it cannot read says none
    what = trained_checkpoint_words(meta, checkpoint,
                                    exported=is_backbone_export_meta(meta))
    shape = _shape_hint(weights, own)
    if what is None:
        return shape
    theirs = saved_model_type(meta, 'backbone.type')
    ours = type(backbone).__name__
    if theirs is not None and theirs != ours:
        # a type the user's module registers resolves once the recorded
        # custom_imports are imported, as loading that config would
        found, unjudged = recorded_type_class(meta, 'backbone.type')
        if not getattr(found, 'takes_images', True):
            return (f'it is {what}, whose backbone is '
                    f'{with_article(theirs)}, a slide-level model of '
                    'precomputed region features: its features cannot be '
                    'extracted from patches')
        why = f' (not judged: {unjudged})' if found is None and unjudged \
            else ''
        return (f'it is {what}, whose backbone is {with_article(theirs)}'
                f'{why}; the config builds {with_article(ours)}, which no '
                'depth or width setting makes one: extract with a config '
                f'whose model.backbone is {with_article(theirs)}')
    return f'it is {what}' + (f'; {shape}' if shape else '')


def output_paths(output: str) -> Dict[str, str]:
    """Where labels, meta and provenance go for a features file ``output``.

    When ``output`` is ``<workdir>/extracted_feats/<model>/<NAME>.npy`` with
    NAME one of :data:`openselfsup.lowshot.paths.FEATURE_NAMES`, the layout of
    :mod:`openselfsup.lowshot.paths` is used (labels and meta shared by all
    models, ``extracted_feats/<NAME>_labels.npy``); otherwise they go beside
    ``output``: ``<stem>_labels.npy``, ``<stem>_meta.json``, ``<stem>.json``.

    Args:
        output (str): the features file, ending in ``.npy``.

    Returns:
        dict: keys ``features``, ``labels``, ``meta``, ``provenance``, and
        ``shared`` (True in the workdir layout).

    Raises:
        InputError: not a ``.npy``; a workdir feature set without its
            model's folder (``extracted_feats/NCT_train.npy``) or in
            another case (``extracted_feats/clp/nct_train.npy``).
    """
    if not output.endswith('.npy'):
        raise InputError(f'{output}: the output must be a .npy file')
    norm = os.path.normpath(output)
    name = os.path.splitext(os.path.basename(norm))[0]
    model_dir = os.path.dirname(norm)
    feats_dir = os.path.dirname(model_dir)
    # <workdir>/extracted_feats/<model>/<file>
    in_layout = bool(os.path.basename(model_dir)) and \
        os.path.basename(feats_dir) == 'extracted_feats'
    if os.path.basename(model_dir) == 'extracted_feats' and \
            name in paths.FEATURE_NAMES:
        # the model's folder left out: written beside the features, the
        # labels and meta would be the shared <NAME>_labels.npy /
        # <NAME>_meta.json of every model of the workdir, unchecked
        raise InputError(
            f'{output}: a feature set of the workdir goes into its model\'s '
            'folder, extracted_feats/<model>/'
            f'{name}.npy (e.g. '
            f'{paths.features_path(os.path.dirname(model_dir), "clp", name)}'
            '); here its labels and meta would replace those every model '
            'of the workdir shares')
    spelt = {n.lower(): n for n in paths.FEATURE_NAMES}.get(name.lower())
    if spelt and spelt != name and in_layout:
        # outside the layout, the low-shot commands would never read it
        raise InputError(
            f'{output}: the low-shot commands read {spelt}.npy (feature '
            f'sets: {", ".join(paths.FEATURE_NAMES)}); write '
            f'{os.path.join(model_dir, spelt + ".npy")}')
    if name in paths.FEATURE_NAMES and in_layout:
        workdir = os.path.dirname(feats_dir)
        model = os.path.basename(model_dir)
        return dict(features=paths.features_path(workdir, model, name),
                    labels=paths.labels_path(workdir, name),
                    meta=paths.meta_path(workdir, name),
                    provenance=paths.provenance_path(workdir, model, name),
                    shared=True)
    stem = os.path.splitext(norm)[0]
    return dict(features=norm, labels=f'{stem}_labels.npy',
                meta=f'{stem}_meta.json', provenance=f'{stem}.json',
                shared=False)


def build_extractor(cfg) -> torch.nn.Module:
    """Build the config's ``model`` (backbone, pooling neck, preprocessor)
    as a run builds it: a top-level ``data_preprocessor`` merged into a
    model without one (:func:`~openselfsup.config.built_model`;
    mmpretrain's configs set it there only: such a config was extracted
    without its mean / std / channel order).

    Raises:
        InputError: a setting the model's classes refuse (a wrong value
            type, ``--cfg-options model.backbone.base_channels=sixteen``:
            a traceback from mmpretrain before), in one line, as
            ``tools/train.py`` says it
            (:func:`~openselfsup.utils.errors.settings_refused`).
    """
    from .. import models  # noqa: F401  (fills the registries)
    from ..registry import MODELS
    init_scope(cfg, False)
    with settings_refused(cfg, 'model'):
        check_setting_types(cfg, ('model', ))
        work_begins()  # the command's start-up freezing ends
        return MODELS.build(built_model(cfg))


def build_dataset(cfg):
    """Build the config's ``dataset`` (an ImageList with the test pipeline).

    Raises:
        InputError: a number setting of the project's dataset or
            transforms that is no number (``--cfg-options
            dataset.num_classes=x``: a TypeError traceback from the list's
            reading), in the line of :func:`build_extractor`'s
            (:func:`~openselfsup.config.check_setting_types`).
    """
    from ..datasets import registered  # noqa: F401  (ImageList, transforms)
    from ..registry import DATASETS
    init_scope(cfg, False)
    with settings_refused(cfg, 'dataset'):
        check_setting_types(cfg, ('dataset', ))
    return DATASETS.build(cfg.dataset)


#: random transforms that do not declare it as mmcv's do
#: (``@cache_randomness``): torchvision's ops inside, PCA lighting noise;
#: torchvision's random ops not named Random... (through mmpretrain's
#: ``torchvision/<op>`` wrappers)
_ALSO_RANDOM = ('HiDiscAugment', 'Lighting', 'ColorJitter', 'GaussianBlur',
                'AutoAugment', 'RandAugment', 'TrivialAugmentWide', 'AugMix',
                'ElasticTransform')


@functools.lru_cache(maxsize=None)
def _applied_with_probability(
) -> Dict[type, Tuple[str, Optional[Callable[[type, dict], bool]]]]:
    """Random transforms whose one draw is whether they apply, by class
    (exactly: a subclass may draw more): the argument that holds the
    probability, and whether the applied op, with a config's settings,
    draws nothing (a function of the class and the settings; None: it
    always draws, e.g. a position). Read from their sources: each applies
    when a uniform draw in [0, 1) is below the probability (mmpretrain's
    auto-augment ops and ``RandomErasing``: skip when it is above), so 1
    always applies and 0 never does (those of mmpretrain: when the
    float64 draw is not exactly 0, odds of 2**-53). Keys of torchvision's
    ops are the op's class (mmpretrain's ``torchvision/<op>`` wraps it).
    Not here: ``HiDiscAugment`` (its ops' torchvision ``RandomApply``
    applies when ``p`` is not below a float32 draw, so ``p=0`` when the
    draw is 0: odds of 2**-24 per op and image)."""
    import torchvision.transforms as T
    from mmcv.transforms import RandomApply, RandomGrayscale
    from mmpretrain.datasets import transforms as mp

    from ..datasets.transforms import PillowGrayscale

    def nothing(cls, node):
        return True

    def augment(magnitude: Optional[str], sign: bool):
        return functools.partial(_augment_draws_nothing, magnitude=magnitude,
                                 sign=sign)
    gates = {cls: ('prob', nothing) for cls in (
        # RandomApply: the wrapper; its transforms are read on their own
        RandomApply, RandomGrayscale, PillowGrayscale)}
    # mmpretrain's auto-augment ops (1.2, datasets/transforms/
    # auto_augment.py): each ``transform`` returns at once when
    # ``random_disable()`` (line 336: ``np.random.rand() > self.prob``),
    # else takes its magnitude argument (thr, angle, ...) when set, else
    # ``random_magnitude()``, and those that take a sign pass it through
    # ``random_negative()`` (e.g. Rotate.transform, lines 590-596);
    # Equalize, AutoContrast and Invert draw nothing more
    gates.update({cls: ('prob', augment(None, False)) for cls in (
        mp.Equalize, mp.AutoContrast, mp.Invert)})
    gates.update({mp.Solarize: ('prob', augment('thr', False)),
                  mp.SolarizeAdd: ('prob', augment('magnitude', False)),
                  mp.Posterize: ('prob', augment('bits', False)),
                  mp.GaussianBlur: ('prob', augment('radius', False)),
                  mp.Rotate: ('prob', augment('angle', True))})
    gates.update({cls: ('prob', augment('magnitude', True)) for cls in (
        mp.Shear, mp.Translate, mp.Contrast, mp.Brightness, mp.Sharpness,
        mp.ColorTransform)})
    # a random position whenever applied (mmcv.cutout, mp.RandomErasing)
    gates.update({mp.Cutout: ('prob', None),
                  mp.RandomErasing: ('erase_prob', None)})
    gates.update({op: ('p', nothing) for op in (
        T.RandomHorizontalFlip, T.RandomVerticalFlip, T.RandomGrayscale,
        T.RandomAutocontrast, T.RandomEqualize, T.RandomInvert,
        T.RandomPosterize, T.RandomSolarize, T.RandomAdjustSharpness)})
    gates[T.RandomErasing] = ('p', None)
    return gates


def _augment_draws_nothing(cls, node: dict, magnitude: Optional[str],
                           sign: bool) -> bool:
    """Whether mmpretrain's auto-augment op ``cls`` (a
    ``BaseAugTransform``), once applied, draws nothing with the settings
    ``node``: its magnitude and its sign are fixed. ``magnitude``: the
    argument of a set magnitude (None: the op has none); ``sign``: the op
    passes the magnitude through ``random_negative``. From mmpretrain
    1.2's ``datasets/transforms/auto_augment.py``:

    - the magnitude: the argument where set; else ``random_magnitude()``
      (lines 339-352), which draws only when ``magnitude_std`` is
      ``'inf'`` (uniform) or above 0 (normal), and otherwise maps
      ``magnitude_level`` into ``magnitude_range``, a fixed value;
    - the sign: ``random_negative()`` (line 357) negates when
      ``np.random.rand() < random_negative_prob``: never at 0 or below,
      always at 1 or above (the draw is in [0, 1)).

    ``magnitude_std`` is read from ``BaseAugTransform``'s signature: the
    ops pass it on in ``**kwargs`` unchanged."""
    from mmpretrain.datasets.transforms.auto_augment import BaseAugTransform
    if magnitude is not None and argument_value(cls, node, magnitude) is None:
        std = argument_value(BaseAugTransform, node, 'magnitude_std')
        if not (is_number(std) and std <= 0):
            return False
    if sign:
        negative = argument_value(cls, node, 'random_negative_prob')
        if not (is_number(negative) and (negative <= 0 or negative >= 1)):
            return False
    return True


def _flip_outcome(cls, node: dict) -> Optional[str]:
    """mmcv's ``RandomFlip``: each direction with its probability (a list
    of them, or ``prob`` shared out over the directions), else no flip;
    ``'never'`` or ``'fixed'`` where one outcome is certain."""
    prob = argument_value(cls, node, 'prob')
    direction = argument_value(cls, node, 'direction')
    dirs = [direction] if isinstance(direction, str) else \
        list(direction) if isinstance(direction, (list, tuple)) else []
    if isinstance(prob, (list, tuple)):
        probs = list(prob)
    else:
        probs = [prob / len(dirs) if is_number(prob) and dirs else None] * \
            len(dirs)
    if not dirs or len(probs) != len(dirs) or not all(map(is_number, probs)):
        return None
    odds: Dict[Optional[str], float] = {None: 1 - sum(probs)}
    for d, p in zip(dirs, probs):
        odds[d] = odds.get(d, 0) + p
    certain = [d for d, p in odds.items() if p > 0]
    if len(certain) != 1:
        return None
    return 'never' if certain[0] is None else 'fixed'


def _choice_outcome(cls, node: dict) -> Tuple[Optional[str], List[str]]:
    """mmcv's ``RandomChoice`` and mmpretrain's ``AutoAugment`` (a
    ``RandomChoice`` of its policies): ``'fixed'`` where one candidate is
    taken every time (its transforms are read on their own), with the keys
    under ``node`` of the candidates never taken (their transforms are not
    read); else ``(None, [])``.

    From mmcv 2.2's ``transforms/wrappers.py``: ``random_pipeline_index``
    (line 589) is ``np.random.choice`` over the candidates' indices with
    ``p=prob``, which never returns an index of probability 0 (its
    cumulative sum does not rise there, and a draw picks the first index
    whose sum is above it), and the constructor asserts that a given
    ``prob`` has one float per candidate summing to 1: a candidate is
    taken every time when it is the only one (``prob`` None, uniform, or
    ``[1.0]``) or the only one of probability above 0 (``[0., 1., 0.]``).
    A candidate is a list of transforms or one transform.

    ``AutoAugment`` (mmpretrain 1.2, ``datasets/transforms/
    auto_augment.py``): its ``policies`` are the candidates, uniform (it
    gives no ``prob``); a preset's name (``'imagenet'``: 25 policies) is
    random. Its ``hparams`` are not read: the constructor merges them into
    the policies it shows (``self.policies``) but builds the ops from the
    policies as given (line 76), so they do not change what runs."""
    from mmpretrain.datasets.transforms import AutoAugment
    field = 'policies' if cls is AutoAugment else 'transforms'
    candidates = argument_value(cls, node, field)
    prob = None if cls is AutoAugment else argument_value(cls, node, 'prob')
    if not isinstance(candidates, (list, tuple)) or not candidates:
        return None, []
    if prob is None:
        taken = list(range(len(candidates)))
    elif isinstance(prob, (list, tuple)) and len(prob) == len(candidates) \
            and all(map(is_number, prob)):
        taken = [i for i, p in enumerate(prob) if p > 0]
    else:
        return None, []
    if len(taken) != 1:
        return None, []
    return 'fixed', [f'{field}.{i}' for i in range(len(candidates))
                     if i != taken[0]]


def _fixed_outcome(cls, op, node: dict) -> Tuple[Optional[str], List[str]]:
    """Whether the settings ``node`` of a random transform (class ``cls``;
    ``op``: the torchvision op a ``torchvision/<op>`` wraps) fix its
    outcome: ``'never'`` (probability 0: not applied), ``'fixed'``
    (probability 1 and an op that then draws nothing; a wrapper's
    transforms are read on their own: ``RandomApply``, a ``RandomChoice``
    or ``AutoAugment`` that takes one candidate every time), else None
    (random, also for any class or setting not known here); with the keys
    under ``node`` that never run (a choice's candidates never taken)."""
    from mmcv.transforms import RandomChoice, RandomFlip
    from mmpretrain.datasets.transforms import AutoAugment
    if cls is RandomFlip:
        return _flip_outcome(cls, node), []
    if cls is RandomChoice or cls is AutoAugment:
        return _choice_outcome(cls, node)
    key = op if isinstance(cls, functools.partial) else cls
    gate = _applied_with_probability().get(key) \
        if isinstance(key, type) else None
    if gate is None:
        return None, []
    arg, draws_nothing = gate
    prob = argument_value(key, node, arg)
    if not is_number(prob):
        return None, []
    if prob <= 0:
        return 'never', []
    if prob >= 1 and draws_nothing is not None and \
            draws_nothing(key, node):
        return 'fixed', []
    return None, []


def pipeline_randomness(cfg) -> Tuple[Optional[Tuple[str, str]],
                                      List[Tuple[str, str]]]:
    """The ``(dotted key, type)`` of the first transform of the config's
    ``dataset.pipeline`` (nested ones included, e.g. inside a
    ``RandomApply``) that draws random numbers, or None for a
    deterministic pipeline. Random: a class that marks methods with
    mmcv's ``@cache_randomness`` (RandomResizedCrop, RandomFlip,
    ColorJitter, RandAugment, ...), or whose name says ``Random``, or one
    of :data:`_ALSO_RANDOM`; for mmpretrain's ``torchvision/<op>`` (a
    partial of its wrapper), the torchvision op's name. Unless its
    settings fix the outcome (:func:`_fixed_outcome`): probability 0
    (``RandomFlip(prob=0.)``; a ``RandomApply``'s transforms are then not
    read), or 1 for an op that draws nothing else
    (``PillowGrayscale(prob=1.)``, ``RandomFlip(prob=1.,
    direction='horizontal')``, ``Rotate(angle=30., prob=1.,
    random_negative_prob=0.)``, ``Solarize(magnitude_range=(0, 256),
    prob=1.)`` without ``magnitude_std``; ``RandomApply(prob=1.)`` is as
    random as its transforms), or a ``RandomChoice`` or mmpretrain
    ``AutoAugment`` that takes one candidate every time: one candidate, or
    one alone of probability above 0 (``prob=[0., 1., 0.]``; the others'
    transforms are then not read), as random as that candidate's
    transforms. ``HiDiscAugment(p=0.)`` stays random: its ops wrapped in
    torchvision's ``RandomApply`` still apply when a float32 draw is
    exactly 0 (see :func:`_applied_with_probability`).

    Returns:
        tuple: (the first random transform or None, the ``(dotted key,
        type)`` of the random kinds of transforms before it whose settings
        fix their outcome: what a refusal of a deterministic pipeline
        names).
    """
    from ..config import config_dicts
    from ..datasets import registered  # noqa: F401  (the transforms)
    from ..registry import TRANSFORMS
    init_scope(cfg, False)
    pipeline = (cfg.get('dataset') or {}).get('pipeline') or []
    never = []  # dotted keys of transforms never applied
    fixed = []
    for where, node in config_dicts(pipeline, 'dataset.pipeline'):
        if key_below(where, never):
            continue
        kind = node.get('type')
        cls = kind if isinstance(kind, type) else \
            TRANSFORMS.get(kind) if isinstance(kind, str) else None
        name = getattr(cls, '__name__', str(kind))
        wrapped = cls.keywords.get('transform') \
            if isinstance(cls, functools.partial) else None
        op = getattr(wrapped, '__name__', '') \
            if isinstance(cls, functools.partial) else name
        if not (getattr(cls, '_methods_with_randomness', None) or
                'Random' in op or op in _ALSO_RANDOM):
            continue
        outcome, idle = _fixed_outcome(cls, wrapped, node)
        if outcome is None:
            return (where, name), fixed
        fixed.append((where, name))
        if outcome == 'never':
            never.append(where)
        never.extend(f'{where}.{k}' for k in idle)
    return None, fixed


def _loader(dataset, batch_size: int, workers: int):
    from mmengine.dataset import pseudo_collate
    return torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=False, num_workers=workers,
        collate_fn=pseudo_collate, persistent_workers=False)


class _SeededImages(torch.utils.data.Dataset):
    """The images of ``dataset`` through its random pipeline, the draws of
    each image seeded from ``key`` and its index (numpy's, Python's and
    torch's CPU generators, which the transforms draw from): a copy is the
    same on any number of loader workers, any batch size and in any
    order. (Each worker's generators were seeded once from the copy's seed
    and the worker's id: other draws on another ``--workers``, whose
    default is the machine's CPU count up to 4, and, with workers, on
    another batch size.)"""

    def __init__(self, dataset, key: Sequence[int]):
        self.dataset, self.key = dataset, tuple(int(k) for k in key)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        s = int(np.random.SeedSequence(self.key + (int(index), ))
                .generate_state(1)[0])
        np.random.seed(s)
        random.seed(s)
        torch.random.default_generator.manual_seed(s)
        return self.dataset[index]


def _augmented_passes(model, dataset, aug_times: int, seed: int,
                      batch_size: int, workers: int, device: str, amp: bool,
                      channels_last: bool, progress: bool) -> np.ndarray:
    """``aug_times`` seeded passes of the random pipeline, copy-major: copy
    ``c`` of image ``i`` draws from ``(seed, c, i)``
    (:class:`_SeededImages`)."""
    from ..models.extraction import compute_features
    state = (np.random.get_state(), random.getstate(),
             torch.random.get_rng_state())
    copies = []
    try:
        for c in range(aug_times):
            feats, _ = compute_features(
                model, _loader(_SeededImages(dataset, (seed, c)), batch_size,
                               workers),
                device, amp, channels_last, progress,
                desc=f'copy {c + 1}/{aug_times}', with_labels=False)
            copies.append(feats)
    finally:  # no global random state leaks out of extraction
        np.random.set_state(state[0])
        random.setstate(state[1])
        torch.random.set_rng_state(state[2])
    return np.concatenate(copies)


def _list_identity(dataset) -> Tuple[list, np.ndarray, str]:
    """Relative paths, labels and list-file digest of a dataset (no
    images read)."""
    root = dataset.img_prefix
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    rel = [os.path.relpath(d['img_path'], root) for d in infos]
    labels = np.asarray([int(d['gt_label']) for d in infos], dtype=np.int64)
    return rel, labels, file_sha1(dataset.ann_file)


def _check_shared(out: Dict, meta: Dict, labels: np.ndarray) -> None:
    """Labels and meta of the workdir layout belong to one list's content:
    refuse to replace them with another list's (a ``wo_<c>`` list, say)."""
    if not out['shared'] or not os.path.isfile(out['meta']):
        return
    old = load_json(out['meta'], 'image metadata JSON')
    same = isinstance(old, dict) and old.get('paths') == meta['paths']
    if same and os.path.isfile(out['labels']):
        try:
            same = np.array_equal(np.load(out['labels']), labels)
        except Exception:  # unreadable: replaced below
            same = True
    if not same:
        listed = old.get('list_file', 'another list') \
            if isinstance(old, dict) else 'another list'
        raise InputError(
            f'{out["labels"]} and {out["meta"]} hold the labels of {listed}'
            f', shared by every model of this workdir; '
            f'{meta["list_file"]} has other images or labels. Extract it '
            'into another workdir, i.e. an --output under another '
            'extracted_feats/ (or remove the old features first)')


#: flags of wsi_workdir/extract.py that only a --model-source uses
_EXTERNAL_FLAGS = {'weights': '--weights', 'model_kwargs': '--model-kwargs',
                   'preprocess': '--preprocess', 'pool': '--pool'}


def check_encoder_flags(args: Dict) -> None:
    """Which encoder a command line names, checked in one place: a config
    checkpoint (``--pretrained``), a library model (``--model-source`` with
    ``--weights``), or either at ``--random-init``.

    Args:
        args (dict): the parsed flags (``vars(namespace)``).

    Raises:
        InputError: no encoder, two of them, or a flag of the other kind.
    """
    source = args.get('model_source')
    if source:
        from ..models.external import parse_source
        parse_source(source)
        if bool(args.get('weights')) == bool(args.get('random_init')):
            raise InputError(
                f'--model-source {source}: give --weights FILE or '
                '--random-init' + (', not both' if args.get('weights')
                                   else ''))
        if args.get('aug_times'):
            raise InputError('--aug_times uses the config\'s random '
                             'pipeline; it does not apply to --model-source')
        return
    given = [flag for key, flag in _EXTERNAL_FLAGS.items() if args.get(key)]
    if args.get('projection') is False:
        given.append('--no-proj')
    if given:
        raise InputError(f'{given[0]} applies to --model-source only')
    if bool(args.get('pretrained')) == bool(args.get('random_init')):
        raise InputError('give one of --pretrained CKPT, --model-source '
                         'LIB:NAME or --random-init')


def _check_run_args(batch_size, workers) -> None:
    if not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f'--batch-size must be a positive integer, got '
                         f'{batch_size!r}')
    if not isinstance(workers, int) or workers < 0:
        raise InputError(f'--workers must be 0 or more, got {workers!r}')


def _check_filled(cfg_options: Optional[dict],
                  given: Optional[Sequence[str]]) -> None:
    """Refuse the data root a printed command leaves for the user to fill
    in (``lowshot.features.DATA_ROOT``: no set recorded where the images
    lie), given as it is: read, it named a folder ``DATA_ROOT`` of the
    current folder, which may hold other images. Only the bare word, as
    printed: a folder of that name spelt as a path (``./DATA_ROOT``,
    ``DATA_ROOT/``, absolute) is read (review r143: those were refused
    too, and the line echoed the placeholder, not the value given)."""
    from ..lowshot.features import DATA_ROOT
    from ..utils import check_filled
    flag = '--cfg-options dataset.data_root=' if given is None or \
        'dataset.data_root' in given else '--data-root '
    check_filled((cfg_options or {}).get('dataset.data_root'), DATA_ROOT,
                 flag, "the folder that holds the set's list and images")


def open_list(config: str, output: str, cfg_options: Optional[dict] = None,
              copies: int = 1, need_model: bool = True,
              check_images: Optional[str] = None,
              read: Optional[Dict] = None,
              splits: Optional[Dict] = None,
              given: Optional[Sequence[str]] = None) -> Dict:
    """Everything about the image list a feature file is written for,
    checked before any work: the outputs (writable; shared labels of the
    same list; a workdir set's domain and split, by the list's name and
    images, :func:`_check_set_split`), the config's dataset, the image
    paths and labels.

    Args:
        config (str): an extraction config (its ``dataset``; its ``model``
            too when ``need_model``).
        output (str): the features ``.npy`` (:func:`output_paths`).
        cfg_options (dict, optional): ``--cfg-options`` overrides.
        copies (int): the list is stacked this many times (``aug_times``).
        need_model (bool): the config must hold a ``model``.
        check_images (str, optional): override of the dataset's image
            check (``'none'``: the list alone, no image read).
        read (dict, optional): an earlier result for the same config and
            options, whose list is taken as read and checked then (only
            this output is checked).
        splits (dict, optional): what the split check found of lists'
            images so far in this call, filled here
            (:func:`_check_set_split`).
        given (sequence of str, optional): the keys of ``cfg_options``
            the user gave, where the caller adds its own (``--data-root``'s
            ``dataset.data_root``), for a refusal that names them
            (:func:`~openselfsup.config.load_config`; default: every key).

    Returns:
        dict: ``out`` (:func:`output_paths`), ``cfg``, ``dataset``,
        ``meta`` (what ``<NAME>_meta.json`` holds), ``labels`` (int64,
        tiled ``copies`` times) and ``list_sha1``.
    """
    _check_filled(cfg_options, given)
    out = output_paths(output)
    for key in ('features', 'labels', 'meta', 'provenance'):
        check_writable(out[key])
    # an existing set is replaced only when it is one this code wrote: its
    # provenance JSON beside it (a user's own vit.npy, or the vit.json,
    # vit_labels.npy of another tool beside it, was replaced without a
    # word); the workdir's shared labels and meta are checked by
    # _check_shared
    by = 'a feature set written by extract.py or import_features.py'
    check_replaceable(
        out['provenance'], ('features_sha1', 'labels_sha1'),
        f'{by} (with its provenance '
        f'{os.path.basename(out["provenance"])})',
        also=(out['features'],) + (() if out['shared'] else
                                    (out['labels'], out['meta'])),
        what_path=f'the provenance JSON of {by}')
    listing = {**(read or _read_list(config, cfg_options, copies,
                                     need_model, check_images, given)),
               'out': out}
    _check_set_classes(out, listing['meta'], config)
    _check_set_split(out, listing['meta'], config, splits)
    _check_shared(out, listing['meta'], listing['labels'])
    return listing


#: the way out of :func:`check_not_copies` for ``extract.py`` of a
#: config: the user's own command (encoder, options) with the copies
ADD_AUG_TIMES = ('add --aug_times N to this command (N seeded copies; its '
                 '--config a random pipeline, configs/extraction/nct_aug.py)')


def check_not_copies(output: str, why: str,
                     way: Optional[str] = None) -> None:
    """Refuse ``output`` where it is a workdir's ``NCT_aug`` (the
    ablation's image-augmented copies of ``NCT_train``, copy-major) and
    the command writes one row per image instead (``why``): the ablation
    took such a set for one augmented copy, identical to the support
    features where they came from the same encoder and pipeline, and
    reported its image part without a word. ``way``: how the copies are
    made instead (:data:`ADD_AUG_TIMES`, the library's
    ``no_library_copies``); by default their extraction from the encoder
    another set of the model records (``lowshot.features.copies_way``)."""
    from ..lowshot.features import copies_way, way_words
    out = output_paths(output)
    if out['shared'] and _set_name(out) == 'NCT_aug':
        raise InputError(
            f'{output}: NCT_aug holds the augmentation ablation\'s augmented '
            f'copies of NCT_train; {why}, not copies: '
            + (way or way_words('extract them with ', copies_way(output))))


def _set_name(out: Dict) -> str:
    """The feature set an output (:func:`output_paths`) is written as."""
    return os.path.splitext(os.path.basename(out['features']))[0]


def _own_config(name: str, fits: Sequence[str] = ()) -> str:
    """The fix the set checks name: extract the workdir set ``name`` with
    its own config, or write the features as the sets ``fits``."""
    also = f', or write these as {" / ".join(f"{n}.npy" for n in fits)}' \
        if fits else ''
    return f'extract {name} with configs/extraction/{name.lower()}.py{also}'


def _check_set_classes(out: Dict, meta: Dict, config: str) -> None:
    """A workdir feature set holds the images of its domain: refuse a config
    whose dataset names other classes (``configs/extraction/lc.py`` written
    as ``NCT_train.npy``: every near-domain task would read LC25000
    features with LC25000 labels)."""
    from ..lowshot.spec import feature_set_classes
    name = _set_name(out)
    want = feature_set_classes(name) if out['shared'] else None
    got = tuple(meta['classes'])
    if want is None or not got or got == tuple(want):
        return
    fits = [n for n in paths.FEATURE_NAMES if n != 'NCT_aug'
            and feature_set_classes(n) == got]
    # classes of no set (a user's own): the set's config is no way out
    way = _own_config(name, fits) if fits else (
        'no low-shot set holds these classes: write their features to an '
        '--output outside extracted_feats/ (docs/own_data.md)')
    raise InputError(
        f'{out["features"]}: {name} holds images of the classes '
        f'{", ".join(want)}, but {config} lists the classes '
        f'{", ".join(got)}; {way}')


#: words of a list file's name that name a split: ``train_labeled.txt`` /
#: ``test_labeled.txt`` (NCT), ``paip_{train,test}_labeled.txt``; NCT's
#: CRC-VAL-HE-7K is a test set
_SPLIT_WORDS = {'train': 'train', 'training': 'train', 'test': 'test',
                'testing': 'test', 'val': 'test', 'valid': 'test',
                'validation': 'test'}


def list_split(list_file: str) -> Optional[str]:
    """``'train'`` or ``'test'`` where the name of ``list_file`` (not its
    folders) names that split alone (``meta/test_labeled.txt``,
    ``CRC-VAL-HE-7K.txt``), else None (``img_list_labeled.txt``,
    ``trainval.txt``): words are its runs of letters."""
    words = re.findall('[a-z]+', os.path.basename(list_file).lower())
    splits = {_SPLIT_WORDS[w] for w in words if w in _SPLIT_WORDS}
    return splits.pop() if len(splits) == 1 else None


def _check_set_split(out: Dict, meta: Dict, config: str,
                     splits: Optional[Dict] = None) -> None:
    """A workdir feature set of one split holds that split's list: refuse
    a list whose name (:func:`list_split`) or whose images
    (:func:`~openselfsup.datasets.prepare.entries_split`: NCT's official
    test folder, the published lists' images or slides) say the other
    split (``configs/extraction/nct_test.py`` written as
    ``NCT_train.npy``: the classes agree, and the dictionaries and
    support pools would be built from the queries), or whose name and
    images disagree. The folder speaks only for a list whose name says no
    split: a name that says one decides over it (a user's own split of
    the 7K set, ``my_train.txt``), not over the published lists.
    ``splits`` (one call's, e.g. :func:`open_lists`'s) keeps what the
    images said by list file, data folder, domain and rule, with the
    entries they were read from (a config's ``indices`` may take part of
    a file), so a list written for several models is walked once."""
    from ..datasets.prepare import entries_split
    from ..lowshot.spec import feature_set_classes, feature_set_split
    name = _set_name(out)
    want = feature_set_split(name) if out['shared'] else None
    if want is None:
        return
    classes = tuple(feature_set_classes(name))

    def images_say(folders: bool) -> Optional[Tuple[str, str]]:
        key = (os.path.abspath(meta['list_file']), meta['data_prefix'],
               classes, folders)
        seen = (splits or {}).get(key)
        if seen is not None and seen[0] == meta['paths']:
            return seen[1]
        found = entries_split(classes, meta['paths'], meta['data_prefix'],
                              folders=folders)
        if splits is not None:
            splits[key] = (meta['paths'], found)
        return found

    named = list_split(meta['list_file'])
    shown = images_say(folders=named is None)
    reads = f'{config} reads {meta["list_file"]}'
    if named and shown and named != shown[0]:
        raise InputError(
            f'{out["features"]}: {name} holds the {want} split; {reads}, '
            f'whose name says {named} but whose images are the {shown[0]} '
            f'split ({shown[1]}); {_own_config(name)}')
    got = named or (shown[0] if shown else None)
    if got is None or got == want:
        return
    fits = [n for n in paths.FEATURE_NAMES if n != 'NCT_aug'
            and feature_set_classes(n) == feature_set_classes(name)
            and feature_set_split(n) == got]
    what = f'a {got} list' if named else \
        f'whose images are the {got} split ({shown[1]})'
    # the folder alone spoke: a split of the user's own says so by name
    own = '' if named or images_say(folders=False) else \
        f' (a split of your own: name the list with its split, {want})'
    raise InputError(
        f'{out["features"]}: {name} holds the {want} split, but {reads}, '
        f'{what}; {_own_config(name, fits)}{own}')


#: the environment variable by which a low-shot script says where its
#: ``--data-root`` came from (``DATA=dat``), for :func:`_check_data_root`
DATA_ROOT_AS = 'OPENSELFSUP_DATA_ROOT_AS'


def _check_data_root(cfg, config: str, cfg_options: Optional[dict],
                     given: Optional[Sequence[str]]) -> None:
    """Refuse a dataset ``data_root`` folder that is not there, where
    the list file, joined to it, is not there either, naming where the
    root was given: ``--data-root data/MIEN: folder not found (...; did
    you mean data/MINE?)`` (``given``: as :func:`open_list`'s; the
    ``--cfg-options`` key, or the config). The line was the dataset's
    ``data/MIEN/meta/train_labeled.txt: list file not found``, which
    named neither the flag nor the folder."""
    from ..utils.io import close_entry, missing_note
    dataset = cfg.get('dataset') or {}
    root = dataset.get('data_root')
    ann = dataset.get('ann_file')
    if not isinstance(root, str) or not root or '://' in root or \
            os.path.isdir(root) or (isinstance(ann, str) and os.path.exists(
                os.path.join(root, ann))):
        return
    hint = ''
    if 'dataset.data_root' not in (cfg_options or {}):
        where = root
        hint = (f'dataset.data_root of {config}: give the folder as '
                '--data-root')
    elif given is None or 'dataset.data_root' in given:
        where = f'--cfg-options dataset.data_root={root}'
    else:
        # run by a low-shot script: the setting the root came from
        # (DATA=dat gave --data-root dat/NCT)
        script = os.environ.get(DATA_ROOT_AS)
        where = f'--data-root {root}' + (f' ({script})' if script else '')
    note = '; '.join(n for n in (hint, missing_note(
        root, guess=close_entry(root, os.path.isdir, cutoff=0.6))) if n)
    raise InputError(f'{where}: folder not found'
                     + (f' ({note})' if note else ''))


def _read_list(config: str, cfg_options: Optional[dict], copies: int,
               need_model: bool, check_images: Optional[str],
               given: Optional[Sequence[str]] = None) -> Dict:
    """What :func:`open_list` returns but ``out``: the config, its dataset
    (images checked as the config says), meta, labels and digest
    (``given``: as :func:`open_list`'s)."""
    cfg = load_config(config, cfg_options, given=given)
    for key in ('model', 'dataset') if need_model else ('dataset', ):
        if key not in cfg:
            raise InputError(f'{config}: not an extraction config (no '
                             f'"{key}"); use one from configs/extraction/')
    # a _scope_ of '' or no string in what it builds, in tools/train.py's
    # line (MMEngine's build failed on it: a TypeError importing
    # '.registry', an AssertionError; default_scope '' is None here)
    check_scope_names(cfg, config, ([('model', built_model(cfg))] if
                                    need_model else []) +
                      [('dataset', cfg.dataset)])
    # a type the build would miss in the scope extract.py builds in (None
    # or '' with nct_aug.py's RandomApply, 'mmpretrain'), one line before
    # any work; the configs whose types all resolve are taken
    for line in check_extraction_scope(cfg, config):
        print_log(line, logger='current', level=logging.WARNING)
    _check_data_root(cfg, config, cfg_options, given)
    if check_images is not None:
        cfg.dataset.check = check_images
    # the settings the training pipelines' check refuses (a prob outside
    # [0, 1]: mmcv's RandomApply took 1.5 as always, its RandomFlip failed
    # on an assertion when built), before the pipeline is built
    from ..datasets.pipeline_checks import check_pipelines
    check_pipelines(cfg.dataset, f'{config}: dataset')
    dataset = build_dataset(cfg)
    rel_paths, labels, list_sha1 = _list_identity(dataset)
    meta = dict(paths=rel_paths, classes=list(
        dataset.metainfo.get('classes') or []), list_file=dataset.ann_file,
        list_sha1=list_sha1, data_prefix=dataset.img_prefix, copies=copies)
    return dict(cfg=cfg, dataset=dataset, meta=meta,
                labels=np.tile(labels, copies), list_sha1=list_sha1)


def finish_features(features: np.ndarray, normalise: bool,
                    source: str,
                    paths: Optional[Sequence[str]] = None) -> np.ndarray:
    """Refuse NaN or inf (:func:`~openselfsup.utils.check_finite`);
    L2-normalise each row when ``normalise`` (the published extractor:
    ``F.normalize(p=2, dim=1)``), refusing an all-zero row, which stays
    zero (a set written as normalised with it is refused by every
    low-shot run as not unit-norm).

    Args:
        features (np.ndarray): ``[N, D]``.
        normalise (bool): L2-normalise each row.
        source (str): where the features came from (messages).
        paths (sequence of str, optional): the image of each row, named
            in the refusal (rows beyond them, augmented copies, cycle
            through them).

    Raises:
        InputError: NaN or inf; an all-zero row to normalise.
    """
    check_finite(features, source)
    features = np.ascontiguousarray(features, dtype=np.float32)
    if normalise:
        zero = np.flatnonzero(~np.any(features, axis=1))
        if len(zero):
            row = int(zero[0])
            where = f'the row of {paths[row % len(paths)]}' if paths \
                else f'row {row}'
            raise InputError(f'{source}: {where} is all zeros and cannot be '
                             f'L2-normalised ({len(zero)} such rows; '
                             '--no-normalise keeps the features raw)')
        features = torch.nn.functional.normalize(
            torch.from_numpy(features), p=2, dim=1).numpy()
    return features


def provenance_record(listing: Dict, features: np.ndarray,
                      normalised: bool, **fields) -> Dict:
    """The provenance JSON: ``fields`` (the encoder or source), then what
    every feature file records (list and its digest, the image folder and
    the working folder it is relative to, the digest of a sample of its
    images' bytes, shape, normalisation, digests of features
    and labels, date, torch's build, host, outputs). The images' digest
    tells features of other images under the same names (a dataset
    regenerated, NCT's stain-normalised release for NONORM) from the same
    images moved.

    ``torch`` is torch's ``__version__`` in full, local part included
    (``2.4.1+cu121``: the build), read by
    :func:`~openselfsup.utils.library_version` as ``versions`` is
    (:func:`library_versions`, its release without the local part, which
    the reuse and the stale-result and support / query checks compare).
    It stays for its readers: people and scripts reading the JSON, the
    only torch record of files written before ``versions`` was and of
    imported sets (``import_features.py`` records no ``versions``); no
    check of this project reads it."""
    where = _location(listing)
    outputs = where.pop('outputs')  # last in the JSON, as it always was
    return dict(
        **fields, **_made_of(listing, features.shape, normalised), **where,
        features_sha1=array_sha1(features),
        labels_sha1=array_sha1(listing['labels']),
        date=_now_iso(),
        torch=library_version('torch', build=True), host=platform.node(),
        outputs=outputs)


def _now_iso() -> str:
    """The date and time now, UTC, to the second (ISO 8601)."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec='seconds')


def _made_of(listing: Dict, shape: Sequence[int], normalised: bool) -> Dict:
    """What a set's provenance records of what its features were made
    from and how, beside the encoder, without reading them: the list's
    digest, the digest of a sample of its images (:func:`_images_sha1`),
    the shape ``[N, D]`` and the normalisation. :func:`provenance_record`
    writes it; :func:`extracted_already` compares it before any feature
    is hashed."""
    return dict(list_sha1=listing['list_sha1'],
                images_sha1=_images_sha1(listing),
                num_samples=int(shape[0]), feature_dim=int(shape[1]),
                normalised=bool(normalised))


def _location(listing: Dict) -> Dict:
    """Where a set's list, images and outputs are in this run, as its
    provenance records it: the list file, the image folder and the working
    folder a relative one is relative to (the support / query image
    check reads them: :func:`~openselfsup.lowshot.features.shared_image`),
    the output files."""
    dataset, out = listing['dataset'], listing['out']
    return dict(list_file=dataset.ann_file, data_prefix=dataset.img_prefix,
                cwd=os.getcwd(),
                outputs={k: v for k, v in out.items() if k != 'shared'})


def _images_sha1(listing: Dict) -> Optional[str]:
    """The digest of a sample of a listing's images' bytes
    (:func:`~openselfsup.utils.files_sample_sha1`), read once."""
    if 'images_sha1' not in listing:
        prefix = listing['dataset'].img_prefix
        listing['images_sha1'] = files_sample_sha1(
            [os.path.join(prefix, p) for p in listing['meta']['paths']])
    return listing['images_sha1']


#: the libraries whose versions a set's provenance records
#: (``versions``): those that build the encoder and read and transform its
#: images, by the kind of encoder (a config's model, a timm / open_clip
#: model, whose own library is added); a config's pipeline reads and
#: resizes with OpenCV or Pillow (the shipped extraction configs: Pillow)
LIBRARIES = dict(config=('torch', 'torchvision', 'mmengine', 'mmcv',
                         'mmpretrain', 'cv2', 'PIL'),
                 external=('torch', 'torchvision', 'PIL'))


def library_versions(names: Sequence[str]) -> Dict[str, str]:
    """``{library: release}`` of the modules ``names`` as imported (their
    ``__version__`` without a local part: torch's ``2.4.1+cu121`` and
    ``2.4.1+cpu`` are one release), what a set's provenance records as
    ``versions``: a new release may preprocess otherwise or give other
    weights, and ``--reuse`` then extracts the set again
    (:func:`extracted_already`). Each read by
    :func:`~openselfsup.utils.library_version`."""
    return {name: library_version(name) for name in names}


def _set_fields(listing: Dict, weights_file: Optional[str],
               weights_sha256: Optional[str], device: str, amp: bool,
               **fields) -> Dict:
    """What a set's provenance records of the encoder and the run before
    its own fields (:func:`provenance_record`): the weights file and its
    SHA-256 (None for a random initialisation), ``fields`` (the encoder's
    kind and settings, passes, seed), the set's config and overrides, the
    device and the precision (float32 on CUDA with ``tf32: False``:
    :func:`~openselfsup.models.extraction.precision_fields`)."""
    from ..models.extraction import precision_fields
    return dict(
        checkpoint=os.path.abspath(weights_file) if weights_file else None,
        checkpoint_sha256=weights_sha256 if weights_file else None,
        **fields, config=os.path.abspath(listing['config']),
        cfg_options=listing['cfg_options'], device=device, amp=bool(amp),
        **precision_fields(device, amp))


def _one_set(listing: Dict, normalise: bool, fields: Dict, reuse: bool,
             compute: Callable[[], np.ndarray], what: str, records: List,
             on_written: Optional[Callable[[Dict], None]]) -> None:
    """One set of a run: with ``reuse``, its outputs where they are this
    extraction already (:func:`extracted_already`), else the features
    ``compute()`` returns, finished and written (:func:`_finish_and_write`;
    ``what``: where they came from, in its messages; ``fields``:
    :func:`_set_fields`); its record is added to ``records`` and told to
    ``on_written``."""
    kept = extracted_already(listing, normalise, fields) if reuse else None
    record = kept or _finish_and_write(listing, compute(), normalise, what,
                                       fields)
    records.append(record)
    if on_written is not None:
        on_written(record)


def extracted_already(listing: Dict, normalise: bool,
                      encoder: Dict) -> Optional[Dict]:
    """The provenance of a set's outputs on disk where they are the
    extraction asked for, else None: the four files there, the features
    and labels those its provenance describes (their digests), the labels
    and image paths the list's, and what made them
    (:func:`~openselfsup.lowshot.features.provenance_extraction`: the
    encoder, by the weights' SHA-256 or the seeded random initialisation
    and a library model's name, arguments and preprocessing; the list's
    and a sample of its images' digests; the resolved model and pipeline;
    normalisation; augmented passes and their seed; precision) equal to
    this run's, but a CUDA float32 set extracted with TF32 convolutions
    (:func:`~openselfsup.lowshot.features.ran_tf32`: recorded without
    ``tf32: False``, before float32 extraction set TF32 aside), extracted
    again with a line saying why. Where the images are, the batch size,
    the workers and this run's device are not compared (the staleness
    rule of results,
    :func:`~openselfsup.lowshot.report.changed_inputs`: features extracted
    again the same way are the same). Where the list, the images, the
    outputs, the config file, its overrides or the checkpoint file are now
    named otherwise than the provenance records them, its provenance file
    is written again naming this run's, the extraction's own kept under
    ``extracted_with`` (:func:`_named_now`).

    Args:
        listing (dict): from :func:`open_list`.
        normalise (bool): this run's normalisation.
        encoder (dict): this run's provenance fields of the encoder and
            the run (:func:`_set_fields`).
    """
    from ..lowshot.features import provenance_extraction, ran_tf32
    out = listing['out']
    if not all(os.path.isfile(out[k]) for k in
               ('features', 'labels', 'meta', 'provenance')):
        return None
    try:
        old = load_json(out['provenance'], 'provenance JSON')
        meta = load_json(out['meta'], 'image metadata JSON')
        features = np.load(out['features'], allow_pickle=False)
        labels = np.load(out['labels'], allow_pickle=False)
    except (InputError, ValueError, OSError, EOFError):
        return None  # extracted again, as before
    if not isinstance(old, dict) or not isinstance(meta, dict) or \
            features.ndim != 2:
        return None
    # this run's record of how the features are made, before they are
    planned = dict(encoder, **_made_of(
        listing, (len(listing['labels']), features.shape[1]), normalise))
    # a TF32-era set judged below, with its line: its settings first
    made = provenance_extraction(dict(old, tf32=False))
    if made is None or made != provenance_extraction(planned):
        if made is not None and made == provenance_extraction(
                dict(planned, versions=old.get('versions'))):
            _other_versions(out['features'], old, planned['versions'])
        return None
    if old.get('features_sha1') != array_sha1(features) or \
            old.get('labels_sha1') != array_sha1(labels) or \
            not np.array_equal(labels, listing['labels']) or \
            meta.get('paths') != listing['meta']['paths']:
        return None
    if ran_tf32(old):  # the same settings, other numbers now
        print_log(f'{out["features"]}: not kept (extracted before tf32 was '
                  'recorded: its convolutions ran in TF32 on '
                  f'{old.get("device")}; float32 extraction on a GPU is '
                  'true float32 now); extracting it again',
                  logger='current', level=logging.WARNING)
        return None
    named = _named_now(old, listing, encoder)
    if named is not old:
        save_set({out['provenance']: named})
    return dict(named, reused=True)


def _other_versions(features: str, old: Dict, now: Dict) -> None:
    """Log why a set of the same extraction but for the library versions
    (:func:`library_versions`) is extracted again: the versions that
    differ, or none recorded (a set written before they were)."""
    was = old.get('versions')
    again = 'extracting it again'
    if not isinstance(was, dict) or not was:
        why = ('its provenance records no library versions, written before '
               f'they were recorded: a new release of {", ".join(now)} '
               'since cannot be told')
        # the provenance written now records them: the next run keeps it
        again += ', once (its new provenance records them)'
    else:
        # the releases both name and differ in (the staleness checks'
        # rule, other_releases), and those one side alone names: this
        # rule keeps a set only where the records are equal
        from ..lowshot.features import other_releases
        differ = {k for k, _, _ in other_releases({'versions': was},
                                                  {'versions': now})}
        parts = [f'{k} {was.get(k, "none")} then, {v} now'
                 for k, v in now.items() if k in differ or k not in was]
        parts += [f'{k} {v} then, none now' for k, v in was.items()
                  if k not in now]
        why = 'other library releases: ' + ', '.join(parts)
    print_log(f'{features}: not kept ({why}); {again}',
              logger='current', level=logging.WARNING)


#: the names a kept set's provenance takes from the run that keeps it
#: (:func:`_named_now`): where the list, images and outputs are, and the
#: config, its overrides and the weights file that resolve to the same
#: extraction
_FILES = ('config', 'cfg_options', 'checkpoint')
_RENAMED = ('list_file', 'data_prefix', 'cwd', 'outputs') + _FILES


def _named_now(old: Dict, listing: Dict, encoder: Dict) -> Dict:
    """A kept set's provenance ``old`` naming this run's places and files
    (:data:`_RENAMED`): ``old`` itself where it names them already, else a
    copy that does, with the names the extraction itself ran with under
    ``extracted_with`` (kept from the first rename on; left out where the
    names are those again) and the date of the renaming run as
    ``renamed_date``. The same images read from another folder (moved,
    or the workdir moved): the support / query check compared a kept
    set's old folder with a set extracted again from the new one and found
    no shared image. Another config file, ``--cfg-options dataset.
    data_root`` or checkpoint path of the same resolved model, pipeline
    and weights (the extraction compared equal): the report and the
    stale-result check named a config or checkpoint that may be gone or
    another file now. What the features are, their date, host and device
    stay the extraction's."""
    files = {k: encoder.get(k) for k in _FILES}
    now = to_jsonable(dict(_location(listing), **files))  # as on disk
    if all(old.get(k) == now[k] for k in _RENAMED):
        return old
    first = old.get('extracted_with') or {k: old.get(k) for k in _RENAMED
                                          if k != 'outputs'}
    named = {k: v for k, v in old.items()
             if k not in ('extracted_with', 'renamed_date')}
    named.update(now)
    if any(first[k] != named.get(k) for k in first):
        named['extracted_with'] = first
        named['renamed_date'] = _now_iso()
    return named


def write_outputs(listing: Dict, features: np.ndarray,
                  provenance: Dict) -> None:
    """Write labels, meta, features and provenance as one set
    (:func:`~openselfsup.utils.save_set`): an interrupted run leaves the
    old files, never features without their provenance (which a reader
    would take as imported features of no known encoder).

    Every set is written in turn with every other writer of it
    (:func:`~openselfsup.utils.locked` on its labels file): two runs
    writing one ``--output`` at once each moved their four files in one
    after the other, and could leave the features of one beside the
    provenance of the other (the renames of a set are atomic one by
    one, not together); outside a workdir that lock was not taken
    (review r198). Labels and meta shared by the models of a workdir
    are checked again (:func:`_check_shared`) under it: a run of another
    list into the same workdir that started before these files were
    there and wrote them meanwhile is refused here, instead of replacing
    the labels under its features. A set of another encoder replaced is
    said in a warning (:func:`replaced_set_note`)."""
    out = listing['out']
    files = {out['labels']: listing['labels'], out['meta']: listing['meta'],
             out['features']: features, out['provenance']: provenance}
    with locked(out['labels']):
        if out['shared']:
            _check_shared(out, listing['meta'], listing['labels'])
        note = replaced_set_note(out, provenance)
        save_set(files)
    if note:  # one line on stderr, in one write (utils.errors.say)
        say(f'warning: {note}')


def replaced_set_note(out: Dict, provenance: Dict) -> Optional[str]:
    """The line that says a set of outputs ``out`` (:func:`output_paths`)
    about to be written with ``provenance`` replaces one of another
    encoder (:func:`~openselfsup.lowshot.features.provenance_encoder`:
    the weights' SHA-256, the seeded random initialisation, a library
    model; imported features), naming the old one, when it was written,
    and the new one; None where nothing is there, or the old set is of
    the same encoder (extracted again). Not refused: extracting again
    from another checkpoint is legitimate, but it went without a word,
    and the workdir's results of the old set were found only later,
    left out of ``summarize.py`` (review r198)."""
    from ..lowshot.features import provenance_encoder
    old = json_object_or_none(out['provenance']) \
        if os.path.isfile(out['provenance']) else None
    if old is None:
        return None
    was, now = provenance_encoder(old), provenance_encoder(provenance)
    if (was or now) is None or was and now and was[0] == now[0]:
        return None  # the same encoder, or imported features both

    def words(prov, found) -> str:
        return found[1] if found else str(
            prov.get('checkpoint_kind') or 'features of no recorded encoder')
    date = old.get('date')
    results = '; results of the old set in this workdir no longer match ' \
        'it (summarize.py leaves them out until they are run again)' \
        if out['shared'] else ''
    return (f'{out["features"]}: replacing the set of {words(old, was)}'
            + (f' (written {date})' if date else '') +
            f' with {"features of " if now else ""}'
            f'{words(provenance, now)}{results}')


def other_images_notes(records: Sequence[Dict]) -> List[str]:
    """A line per workdir naming the other models whose sets of the names
    ``records`` (a run's sets, written or kept) were written in its layout
    from other images under the same names: their provenance records a
    digest of a sample of the images' bytes (``images_sha1``) other than
    the set's of this run (a dataset written again, and one model's sets
    extracted again from it). The shared labels and image paths
    (:func:`_check_shared`) are the same; every report would pair the two
    models' results on the same task indices of other images
    (``summarize.py`` notes them, ``--compare`` refuses them). The way out:
    extract them again, each with its own encoder and settings as
    recorded, from the images this run read
    (:func:`~openselfsup.lowshot.features.extract_command`). Sets of no
    recorded digest on either side (older files, imported features) are
    not judged. Not a refusal: this run's sets are the images there now."""
    from ..lowshot.features import extract_command
    found: Dict[str, Dict[str, List[Tuple[str, str]]]] = OrderedDict()
    for record in records:
        features = (record.get('outputs') or {}).get('features')
        mine = record.get('images_sha1')
        if not features or not mine or not output_paths(features)['shared']:
            continue
        folder = os.path.dirname(os.path.dirname(features))
        model, name = os.path.basename(os.path.dirname(features)), \
            _set_name(output_paths(features))
        workdir = os.path.dirname(folder)
        for other in sorted(os.listdir(folder)):
            recorded = paths.provenance_path(workdir, other, name)
            prov = json_object_or_none(recorded) if other != model and \
                os.path.isfile(recorded) else None
            theirs = (prov or {}).get('images_sha1')
            if theirs and theirs != mine:
                found.setdefault(folder, OrderedDict()).setdefault(
                    other, []).append((name, extract_command(
                        paths.features_path(workdir, other, name), name,
                        prov, recorded, record)))
    lines = []
    for folder, models in found.items():
        sets = '; '.join(f'{", ".join(n for n, _ in done)} of {model}'
                         for model, done in models.items())
        one = sum(len(done) for done in models.values()) == 1
        lines.append(
            f'{folder}: {sets} {"was" if one else "were"} extracted from '
            "other images than this run's under the same names (the "
            'images_sha1 of their provenance differ: the dataset written '
            'again since?); a summary notes them and summarize.py --compare '
            "refuses to pair them with this run's; extract "
            f'{"it" if one else "them"} again from these images: '
            + '; '.join(c for done in models.values() for _, c in done))
    return lines


def warn_other_images(records: Sequence[Dict]) -> None:
    """Log :func:`other_images_notes` of a run's sets as warnings, once
    every set of the run is written (a model whose sets the same run
    extracts again is not named)."""
    for note in other_images_notes(records):
        print_log(note, logger='current', level=logging.WARNING)


def build_random_extractor(cfg, seed: int,
                           training: bool = False) -> torch.nn.Module:
    """The config's ``model`` as a run builds it (:func:`build_extractor`)
    at its own initialisation (``init_weights``), drawn from a seeded
    generator (:func:`~openselfsup.models.extraction.build_initialised`);
    ``training``: ``cfg`` is a training config
    (``knn_eval.py``'s), its types looked up as its run looked them up
    (:func:`~openselfsup.config.init_scope`)."""
    from ..models.extraction import build_initialised
    init_scope(cfg, training)
    with settings_refused(cfg, 'model'):  # as build_extractor
        check_setting_types(cfg, ('model', ))
        work_begins()  # the command's start-up freezing ends
        return build_initialised(built_model(cfg), seed)


def _encode(model, images, labels: np.ndarray, where: str, device: str,
            batch_size: int, workers: int, amp: bool, channels_last: bool,
            progress: bool) -> np.ndarray:
    """The features of ``images`` by ``model`` (already on ``device``), in
    list order; the labels the loader saw must be the list's."""
    from ..models.extraction import compute_features
    features, seen = compute_features(
        model, _loader(images, batch_size, workers), device, amp,
        channels_last, progress)
    if not np.array_equal(seen, labels):  # pragma: no cover (guard)
        raise InputError(f'{where}: labels changed while extracting')
    return features


def _to_device(model, device: str, channels_last: bool):
    """``model`` on ``device``, in channels-last memory format if asked."""
    model = model.to(device)
    return model.to(memory_format=torch.channels_last) if channels_last \
        else model


def _finish_and_write(listing: Dict, features: np.ndarray, normalise: bool,
                      what: str, encoder: Dict) -> Dict:
    """Normalise (:func:`finish_features`), record the provenance
    (``encoder``: :func:`_set_fields`) and write every output
    (:func:`write_outputs`); returns the provenance."""
    features = finish_features(features, normalise, what,
                               listing['meta']['paths'])
    provenance = provenance_record(listing, features, normalise, **encoder)
    write_outputs(listing, features, provenance)
    return provenance


def _written_at(path: str) -> str:
    """The file a write to ``path`` replaces, however ``path`` is spelt
    (``./``, a link to one of its folders). Its folder is resolved, not
    the file: a file that is a link is replaced by the write
    (:func:`~openselfsup.utils.atomic_path`'s ``os.replace``), so two
    links to one file are two files."""
    folder, name = os.path.split(path)
    return os.path.join(os.path.realpath(folder or os.curdir), name)


def reused_sets(reuse: Union[bool, Sequence[str], None],
                outputs: Sequence[str]) -> List[bool]:
    """Which sets of a run (by their ``outputs``) are kept where their
    files are this extraction already (:func:`extracted_already`): every
    set (``reuse`` True: ``--reuse`` alone), none (False or None), or the
    sets whose output is among ``reuse`` (``--reuse OUTPUT...``, spelt any
    way that names the same file, :func:`_written_at`: the low-shot
    extraction scripts keep the one set both write, a family's
    ``NCT_train``). An output of ``reuse`` that is no set's is refused."""
    if isinstance(reuse, bool) or reuse is None:
        return [bool(reuse)] * len(outputs)
    written = [_written_at(o) for o in outputs]
    for output in reuse:
        if _written_at(output) not in written:
            raise InputError(
                f'--reuse {output}: not an --output of this run (give '
                'the --output of a set to keep, or --reuse alone for '
                'every set)')
    kept = {_written_at(o) for o in reuse}
    return [w in kept for w in written]


def open_lists(configs: Sequence[str], outputs: Sequence[str],
               data_roots: Optional[Sequence[str]] = None,
               cfg_options: Optional[dict] = None, copies: int = 1,
               need_model: bool = True) -> List[Dict]:
    """:func:`open_list` for every feature set of one run, all before any
    work: one output per config, no output twice, and sets that share a
    labels file (the workdir layout) with the same list.

    Args:
        configs, outputs (sequence of str): paired one to one.
        data_roots (sequence of str, optional): each set's
            ``dataset.data_root`` (over ``cfg_options``).
        cfg_options, copies, need_model: as :func:`open_list`, for every
            set.

    Returns:
        list of dict: each :func:`open_list` result with ``config`` and the
        set's ``cfg_options`` added.
    """
    configs, outputs = list(configs), list(outputs)
    if not configs or len(configs) != len(outputs):
        raise InputError(f'{len(configs)} --config and {len(outputs)} '
                         '--output: give one output per config, in order')
    if data_roots is not None and len(data_roots) != len(configs):
        raise InputError(f'{len(data_roots)} --data-root for '
                         f'{len(configs)} --config: give one per config')
    # one file, however written (./out, a link to out): the second set
    # would overwrite the first
    check_distinct('--output', outputs,
                   key=lambda output: _written_at(
                       output_paths(output)['features']),
                   why='one file per feature set')
    if data_roots is not None and 'dataset.data_root' in (cfg_options or {}):
        raise InputError('--data-root and --cfg-options dataset.data_root '
                         'both set the data root: give one of them')
    listings, labels, read, splits = [], {}, {}, {}
    for i, (config, output) in enumerate(zip(configs, outputs)):
        opts = dict(cfg_options or {})
        if data_roots is not None:
            opts['dataset.data_root'] = data_roots[i]
        # a list given again (the same config and options, e.g. NCT train
        # for each of several encoders) is read and its images checked once
        key = (os.path.abspath(config), repr(sorted(opts.items())))
        # (a refusal names the user's --cfg-options, not --data-root's)
        listing = open_list(config, output, opts, copies, need_model,
                            read=read.get(key), splits=splits,
                            given=list(cfg_options or {}))
        read.setdefault(key, listing)
        listing.update(config=config, cfg_options=opts)
        # keyed as the outputs are: two workdirs that are one folder
        # through a link write one labels file
        other = labels.setdefault(_written_at(listing['out']['labels']),
                                  listing)
        # the same content (image paths and labels), as a later call's
        # check of the files on disk asks (:func:`_check_shared`)
        if (other['meta']['paths'] != listing['meta']['paths']
                or not np.array_equal(other['labels'], listing['labels'])):
            raise InputError(
                f'{output}: its labels file {listing["out"]["labels"]} is '
                f'also written for {other["out"]["features"]} from another '
                'image list (write it under another workdir)')
        listings.append(listing)
    return listings


def extract(config: str, pretrained: Union[None, str, Sequence[str]],
            output: str,
            **kwargs) -> Dict[str, object]:
    """Extract one feature set: :func:`extract_many` with one config and
    one output (``kwargs``: its keyword arguments, e.g. ``cfg_options``,
    ``batch_size``, ``random_init``); returns its provenance record."""
    return extract_many([config], pretrained, [output], **kwargs)[0]


def extract_many(configs: Sequence[str],
                 pretrained: Union[None, str, Sequence[str]],
                 outputs: Sequence[str],
                 data_roots: Optional[Sequence[str]] = None,
                 cfg_options: Optional[dict] = None,
                 batch_size: int = 64,
                 device: str = 'cpu',
                 workers: int = 0,
                 amp: bool = False,
                 channels_last: bool = False,
                 progress: bool = True,
                 normalise: bool = True,
                 aug_times: int = 0,
                 seed: int = 0,
                 random_init: bool = False,
                 on_written: Optional[Callable[[Dict], None]] = None,
                 reuse: Union[bool, Sequence[str]] = False
                 ) -> List[Dict[str, object]]:
    """Extract feature sets and write, for each, features, labels, meta
    and provenance. Every list is opened and checked (:func:`open_lists`),
    every checkpoint read, hashed and loaded into its config's encoder (one
    encoder per distinct model of the configs), all before the first set
    is computed; each set is written, atomically, when it is done. The
    files of a set are the same whichever sets share its call.

    Args:
        configs (sequence of str): extraction configs
            (``configs/extraction/*.py``).
        pretrained (str | sequence of str | None): checkpoint, see
            :func:`load_backbone_weights`: one for every set, or one per
            set (several encoders in one process; a checkpoint is read
            again, and must be unchanged, when a set after another
            checkpoint's takes it up again); None with ``random_init``.
        outputs (sequence of str): features ``.npy``, one per config; the
            other files' places follow from it (:func:`output_paths`).
        data_roots (sequence of str, optional): each set's
            ``dataset.data_root``.
        cfg_options (dict, optional): ``--cfg-options`` overrides for every
            set, e.g. ``{'model.backbone.base_channels': 16}``.
        batch_size (int): images per forward pass.
        device (str): ``'cpu'``, ``'cuda'`` or ``'cuda:N'``.
        workers (int): data loading processes.
        amp (bool): mixed precision forward pass.
        channels_last (bool): channels-last memory format.
        progress (bool): show a progress bar.
        normalise (bool): L2-normalise every feature (the protocol's).
        aug_times (int): 0: one deterministic pass; A > 0: A seeded passes
            of the config's random pipeline (the ablation's NCT_aug).
        seed (int): seed of the augmented passes and of ``random_init``.
        random_init (bool): the config's encoder at its own random
            initialisation (seeded), a baseline; no checkpoint.
        on_written (callable, optional): called with each set's
            provenance record as soon as the set is written.
        reuse (bool | sequence of str): keep a set whose outputs are
            this extraction already (:func:`extracted_already`) instead
            of extracting it again (``--reuse``; ``evaluate_encoder.sh``'s):
            True every set, or the sets of these outputs
            (:func:`reused_sets`); its record is the provenance on disk,
            with ``reused`` True.

    Returns:
        list of dict: the provenance record of each set (also written to
        disk), in order, with the output paths under ``outputs``.

    Raises:
        InputError: bad arguments, missing config, list file, image or
            checkpoint; a checkpoint without (matching) backbone weights;
            an unwritable output; shared labels of another list; a list
            of another domain or split than the workdir set it is
            written as; a random pipeline without ``aug_times``, or
            ``aug_times`` with a deterministic one
            (:func:`pipeline_randomness`).
    """
    _check_run_args(batch_size, workers)
    if aug_times < 0:
        raise InputError(f'--aug_times {aug_times}: must not be negative')
    check_seed(seed)  # beyond 2**64 a traceback from torch
    for output in outputs if not aug_times else ():
        check_not_copies(output, 'extract.py with --aug_times 0 (the '
                         'default) writes one pass over the list',
                         ADD_AUG_TIMES)
    for output in outputs if aug_times else ():
        # augmented copies are the ablation's NCT_aug; under another set's
        # name every reader would take them for that set's features
        out = output_paths(output)
        name = _set_name(out)
        if out['shared'] and name != 'NCT_aug':
            raise InputError(
                f'{output}: --aug_times {aug_times} writes augmented '
                f'copies, which the workdir reads as NCT_aug.npy only (the '
                f'ablation); write them there, or extract {name} without '
                '--aug_times')
    if (pretrained is None) != bool(random_init):
        raise InputError('give either --pretrained CKPT or --random-init')
    checkpoints = _one_per_set(pretrained, len(configs), '--pretrained')
    if not random_init:  # cheap checks first: the lists take longer
        from ..utils.checkpoint import (check_checkpoint_file,
                                        resolve_trained_checkpoint)
        for checkpoint in dict.fromkeys(checkpoints):
            if not isinstance(checkpoint, (str, os.PathLike)):
                raise InputError(f'--pretrained {checkpoint!r}: not a '
                                 'checkpoint path')
        # a run's work dir: its last complete checkpoint, of an ended run
        # (a newer file passed over, damaged: named in the log)
        logger = MMLogger.get_current_instance()
        checkpoints = [resolve_trained_checkpoint(c, '--pretrained', logger)
                       for c in checkpoints]
        for checkpoint in dict.fromkeys(checkpoints):
            check_checkpoint_file(checkpoint)
    keep = reused_sets(reuse, outputs)
    dev = str(resolve_device(device))
    copies = max(aug_times, 1)
    listings = open_lists(configs, outputs, data_roots, cfg_options, copies)
    settings = []
    for listing in listings:
        _check_pipeline(listing, aug_times)
        settings.append(extraction_settings(listing['cfg'], listing['config'],
                                            not random_init))
    encoders = []  # [model as built, encoder, checkpoint in it] per model

    def encoder(cfg) -> list:
        built = built_model(cfg)
        entry = next((e for e in encoders if e[0] == built), None)
        if entry is None:
            entry = [built, build_random_extractor(cfg, seed)
                     if random_init else build_extractor(cfg), None]
            encoders.append(entry)
        return entry

    def load(entry: list, checkpoint: str, weights) -> None:
        load_into_backbone(entry[1].backbone, weights, checkpoint)
        entry[2] = checkpoint

    # every model and checkpoint checked before the first set is computed
    for listing in listings:
        encoder(listing['cfg'])
    read = {None: (random_init_words(seed), None)}  # -> (kind, SHA-256)
    # each warning once: a data_root's copies moved in part, first
    notes: List[str] = _unmoved_notes(listings)
    # per set: the settings that change its features other than trained
    # (None: not judged, no training config recorded), for its provenance
    differ: List[Optional[List[str]]] = [None] * len(listings)
    for checkpoint in dict.fromkeys(checkpoints):
        if checkpoint is None:  # random init
            continue
        # its meta as read with the weights: the file read once
        weights, kind, size, train_lists, init_lists, meta = \
            load_backbone_weights(checkpoint)
        read[checkpoint] = (kind, file_sha256(checkpoint))
        # each recorded list read once for all this checkpoint's outputs
        # (it was read again per output: NCT's list is 100,000 lines),
        # under the data prefix its training read it under
        from ..datasets.prepare import nct_list_reader
        holds = nct_list_reader(saved_list_prefixes(meta))
        for output, ckpt in zip(outputs, checkpoints):
            if ckpt == checkpoint:
                check_held_out(output, checkpoint, train_lists, init_lists,
                               holds)
        for at, (listing, ckpt) in enumerate(zip(listings, checkpoints)):
            entry = encoder(listing['cfg'])
            if ckpt == checkpoint:  # compared once: provenance and warning
                found = trained_feature_changes(meta, listing['cfg'], False)
                differ[at] = None if found is None else \
                    [change for change, _ in found]
                for note in (image_size_note(listing['cfg'], checkpoint,
                                             size),
                             _settings_note(found, meta, listing,
                                            checkpoint)):
                    if note and note not in notes:
                        notes.append(note)
            if ckpt == checkpoint and entry[2] != checkpoint:
                load(entry, checkpoint, weights)
        del weights
    # said once every checkpoint has loaded: a refused load is no extraction
    for note in notes:
        print_log(note, logger='current', level=logging.WARNING)
    records = []
    versions = library_versions(LIBRARIES['config'])
    for listing, checkpoint, how, reuse_set, changes in zip(
            listings, checkpoints, settings, keep, differ):
        entry = encoder(listing['cfg'])
        kind, sha = read[checkpoint]
        fields = _set_fields(listing, checkpoint, sha, dev, amp,
                             checkpoint_kind=kind, **how,
                             trained_settings_differ=changes,
                             aug_times=int(aug_times),
                             seed=int(seed) if aug_times or random_init
                             else None, versions=versions)

        def compute() -> np.ndarray:
            if entry[2] != checkpoint:  # another set's weights are in it
                weights = load_backbone_weights(checkpoint, warn=False)[0]
                if file_sha256(checkpoint) != sha:
                    raise InputError(
                        f'{checkpoint}: changed while extracting (its '
                        'SHA-256 is not the one read before the first '
                        'set); the sets written so far are from the first '
                        'version')
                load(entry, checkpoint, weights)
            dataset = listing['dataset']
            model = _to_device(entry[1], dev, channels_last)
            if aug_times:
                return _augmented_passes(model, dataset, aug_times, seed,
                                         batch_size, workers, dev, amp,
                                         channels_last, progress)
            return _encode(model, dataset, listing['labels'],
                           dataset.ann_file, dev, batch_size, workers, amp,
                           channels_last, progress)

        _one_set(listing, normalise, fields, reuse_set, compute,
                 checkpoint or 'the random encoder', records, on_written)
    warn_other_images(records)
    return records


def extraction_settings(cfg, config: str, weights_loaded: bool) -> Dict:
    """What the provenance records of how an image becomes a feature, from
    the resolved config (the file and ``--cfg-options`` merged), so that
    feature sets scored together are compared by what they were extracted
    with, not by how it was spelt: ``model_sha1``, the ``model`` section
    as the encoder is built from it (:func:`~openselfsup.config.
    built_model`, a top-level ``data_preprocessor`` merged into a model
    without one: such a config's earlier sets recorded its model without
    it; :func:`~openselfsup.config.model_settings_sha1`; without what
    names its initial weights where a checkpoint's replace them, and
    then with its heads' attribute files by a mark, not by where they
    lie, as ``knn_eval.py``'s ``model_config_sha1``: the checkpoint's
    weights replace the text rows they initialise, so the same model's
    sets extracted in two clones, or after the checkout moved, are one
    extraction, not a stale one; at random initialisation the paths stay,
    no digest of those files' contents being recorded),
    ``pipeline_sha1``, the dataset's pipeline
    (:func:`~openselfsup.config.sized_pipeline`: ``scale=64`` is
    ``scale=(64, 64)``), and ``image_size``, ``[w, h]`` of its last crop or
    resize (:func:`~openselfsup.config.pipeline_image_size`; None where
    none is named), what an augmenting pipeline (``NCT_aug``) shares with
    the deterministic one.

    Raises:
        InputError: a setting without a fingerprint (``config`` named).
    """
    pipeline = cfg.dataset.to_dict().get('pipeline')
    size = pipeline_image_size(pipeline or [], 'dataset.pipeline')
    try:
        return dict(
            model_sha1=model_settings_sha1(built_model(cfg),
                                           weights_loaded,
                                           paths=not weights_loaded),
            pipeline_sha1=config_sha1(sized_pipeline(pipeline),
                                      'dataset.pipeline'),
            image_size=list(size[1]) if size else None)
    except InputError as exc:
        raise InputError(f'{config}: {exc}') from None


def _check_pipeline(listing: Dict, aug_times: int) -> None:
    """Without ``aug_times`` a set is one deterministic pass: refuse a
    config of a random pipeline (``configs/extraction/nct_aug.py``
    written as ``NCT_train.npy``: one unseeded augmented pass taken for
    the train features, another on every run). With ``aug_times``, refuse
    a deterministic one (``nct_train.py --aug_times 2``: identical copies,
    which the ablation then takes for augmented ones)."""
    found, fixed = pipeline_randomness(listing['cfg'])
    out = listing['out']
    if aug_times:
        if found is None:
            here = '; fixed here: ' + ', '.join(
                f'{where}: {name}' for where, name in fixed) if fixed else ''
            draw = ('give one of the fixed ones settings that draw, or '
                    if fixed else '')
            raise InputError(
                f'{out["features"]}: --aug_times {aug_times} with '
                f'{listing["config"]}, whose pipeline has no random '
                'transform (one named Random..., marking its methods with '
                "mmcv's @cache_randomness, or one of "
                f'{", ".join(_ALSO_RANDOM)}; not where its settings fix '
                'the outcome: probability 0, or 1 for an op that then '
                'draws nothing (its magnitude set, its sign fixed by '
                'random_negative_prob 0 or 1), a RandomChoice or '
                'AutoAugment that takes one candidate every time'
                f'{here}): the copies would be identical; '
                f'{draw}use a random pipeline, e.g. '
                'configs/extraction/nct_aug.py')
        return
    if found is None:
        return
    name = _set_name(out)
    if out['shared'] and name != 'NCT_aug':
        aug = os.path.join(os.path.dirname(out['features']), 'NCT_aug.npy')
        fix = (f'{_own_config(name)}, or augmented copies with '
               f'--aug_times N as {aug}')
    else:
        fix = 'give --aug_times N for N seeded augmented copies'
    raise InputError(
        f'{out["features"]}: {listing["config"]} passes the images through '
        f'a random pipeline ({found[0]}: {found[1]}), which with '
        f'--aug_times 0 (the default) is one unseeded augmented pass; {fix}')


def _one_per_set(values: Union[None, str, Sequence[str]], sets: int,
                 flag: str) -> list:
    """``values`` for each of ``sets`` feature sets: one for all (a single
    value, or a sequence of one), or one per set, in order."""
    if values is None or isinstance(values, (str, os.PathLike)):
        return [values] * sets
    values = list(values)
    if len(values) == 1:
        return values * sets
    if len(values) != sets:
        raise InputError(f'{len(values)} {flag} for {sets} --config: give '
                         'one for all sets or one per config, in order')
    return values


class _LibraryImages(torch.utils.data.Dataset):
    """The images of an :class:`~openselfsup.datasets.ImageList`, read with
    PIL as RGB and passed through a library's eval transform (timm,
    open_clip), packed as the extraction loop reads them."""

    def __init__(self, dataset, transform):
        # the dataset itself (its list is serialised compactly), not a copy
        # of every info: nothing is read twice and workers get less to pickle
        self.dataset = dataset
        self.transform = transform

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Dict:
        from mmpretrain.structures import DataSample
        from PIL import Image
        info = self.dataset.get_data_info(index)
        try:
            with Image.open(info['img_path']) as img:
                image = img.convert('RGB')
        except Exception as exc:  # PIL raises several types
            raise InputError(f'{info["img_path"]}: cannot read the image '
                             f'({type(exc).__name__})') from None
        sample = DataSample().set_gt_label(int(info['gt_label']))
        return {'inputs': self.transform(image), 'data_samples': sample}


def extract_external(config: str, source: str, output: str,
                     **kwargs) -> Dict[str, object]:
    """Extract one feature set with a timm or open_clip model:
    :func:`extract_external_many` with one config and one output
    (``kwargs``: its keyword arguments); returns its provenance record."""
    return extract_external_many([config], source, [output], **kwargs)[0]


def extract_external_many(configs: Sequence[str],
                          source: str,
                          outputs: Sequence[str],
                          data_roots: Optional[Sequence[str]] = None,
                          weights: Optional[str] = None,
                          model_kwargs: Optional[dict] = None,
                          preprocess: Optional[dict] = None,
                          pool: Optional[str] = None,
                          projection: bool = True,
                          cfg_options: Optional[dict] = None,
                          batch_size: int = 64,
                          device: str = 'cpu',
                          workers: int = 0,
                          amp: bool = False,
                          channels_last: bool = False,
                          progress: bool = True,
                          normalise: bool = True,
                          seed: int = 0,
                          on_written: Optional[Callable[[Dict], None]] = None,
                          reuse: Union[bool, Sequence[str]] = False
                          ) -> List[Dict[str, object]]:
    """Extract feature sets with a timm or open_clip model.

    The images are each config's ``dataset`` list (its pipeline is not
    used); the model, its preprocessing and its pooled embedding are the
    library's (:func:`openselfsup.models.external.build_external_encoder`).
    Outputs and their checks are those of :func:`extract_many` (the lists
    checked first, the model built and its weights read and hashed once);
    the provenance adds ``encoder`` (library and version, model name and
    keyword arguments, embedding and pooling), ``preprocess`` (the
    resolved input size, resize / crop, interpolation, mean and std) and
    ``transform``.

    Args:
        configs (sequence of str): extraction configs.
        source (str): ``timm:<name>`` or ``open_clip:<name>``.
        outputs (sequence of str): features ``.npy``, one per config
            (:func:`output_paths`).
        data_roots (sequence of str, optional): each set's
            ``dataset.data_root``.
        weights (str, optional): weights file or hub-layout folder; None:
            random initialisation seeded with ``seed``.
        model_kwargs (dict, optional): the factory's keyword arguments.
        preprocess (dict, optional): preprocessing overrides.
        pool (str, optional): timm ``global_pool``.
        projection (bool): open_clip: projected embedding (default).
        cfg_options, batch_size, device, workers, amp, channels_last,
        progress, normalise, on_written, reuse: as :func:`extract_many`.
        seed (int): seed of a random initialisation.

    Returns:
        list of dict: the provenance record of each set (also written), in
        order.
    """
    from ..lowshot.features import no_library_copies
    from ..models.external import build_external_encoder
    _check_run_args(batch_size, workers)
    check_seed(seed)
    for output in outputs:  # one pass of a library model's transform
        check_not_copies(output, f'extract.py --model-source {source} '
                         'writes one pass over the list',
                         no_library_copies())
    keep = reused_sets(reuse, outputs)
    dev = str(resolve_device(device))
    listings = open_lists(configs, outputs, data_roots, cfg_options,
                          need_model=False)
    work_begins()  # the command's start-up freezing ends
    encoder = build_external_encoder(source, weights, model_kwargs,
                                     preprocess, pool, projection, seed)
    # once the model is built: a refusal of it comes alone
    for note in _unmoved_notes(listings, model=False):
        print_log(note, logger='current', level=logging.WARNING)
    info = dict(encoder.info)
    preprocessing = info.pop('preprocess')
    transform = info.pop('transform')
    wfile = info.pop('weights_file', None)
    fmt = info.get('weights_format')
    sha = file_sha256(wfile) if wfile else None
    model = _to_device(encoder, dev, channels_last)
    versions = library_versions(LIBRARIES['external'] + (info['library'], ))
    # ``encoder.library_version`` (what files written before ``versions``
    # record alone; no check reads it) from the same reading
    info['library_version'] = versions[info['library']]
    records = []
    for listing, reuse_set in zip(listings, keep):
        fields = _set_fields(
            listing, wfile, sha, dev, amp,
            checkpoint_kind=(f'{info["library"]} weights ({fmt})' if wfile
                             else random_init_words(seed, info['library'])),
            encoder=dict(info), preprocess=preprocessing,
            transform=transform, aug_times=0,
            seed=None if wfile else int(seed), versions=versions)

        def compute() -> np.ndarray:
            images = _LibraryImages(listing['dataset'], encoder.transform)
            return _encode(model, images, listing['labels'],
                           listing['config'], dev, batch_size, workers, amp,
                           channels_last, progress)

        _one_set(listing, normalise, fields, reuse_set, compute,
                 weights or source, records, on_written)
    warn_other_images(records)
    return records


def summary_line(record: Dict[str, object]) -> str:
    """One line for the CLI: what was written."""
    out = record['outputs']
    norm = 'L2-normalised' if record['normalised'] else 'raw'
    enc = record.get('encoder')
    model = f'{enc["library"]}:{enc["model"]}' if enc else None
    what = ' '.join(str(p) for p in (model, record['checkpoint_kind'],
                                     record['checkpoint']) if p)
    if record.get('reused'):
        return (f'{out["features"]}: kept, {record["num_samples"]} x '
                f'{record["feature_dim"]} {norm} features from {what}, '
                f'extracted {record.get("date")} with the same encoder, '
                'images and settings (--reuse)')
    return (f'{record["num_samples"]} x {record["feature_dim"]} {norm} '
            f'features from {what} -> {out["features"]} (labels '
            f'{out["labels"]})')
