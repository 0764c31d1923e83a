"""Per-level projection heads for HLSS and HiDisc.

``TextInitHead`` (HLSS): one ``Linear(C, K)`` whose row ``k`` starts as the
text embedding of attribute ``k`` (the normalised mean of the text
embeddings of its descriptions, each L2-normalised first), with a zero bias,
as the published code initialises its ``CLIPTextClassifier``. Its input is
the (normalised) image embedding, so ``C`` must equal the text width ``D``:
image and text share one space. ``MLPHead`` (HiDisc): ``Linear(C, 128)``
(hidden layers optional) with the published HiDisc initialisation. Both return
``(embedding, extras)`` where ``extras`` holds named terms for the loss dict.

Attributes of one level come from a data file (JSON, see
:func:`read_attribute_file`) or a list of sentence lists; their text matrix
from a precomputed ``.npy`` / ``.pt`` file ``[K, D]`` or from a frozen text
encoder (``OpenCLIPText`` in the paper configs).
"""
import json
import logging
import os
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import nn

from ...config import reads_a_file, type_name
from ...registry import MODELS
from ...utils import (InputError, Once, array_sha1, load_npy,
                      with_missing_note)
from ...utils.fingerprint import file_sha256_kept, folder_sha1
from ..losses.supcon import gather_features

Attributes = Union[str, Sequence[Sequence[str]]]


def read_embedding_file(path: str) -> torch.Tensor:
    """Read a ``[K, D]`` matrix from ``.npy`` or ``.pt`` (a tensor, or a dict
    holding one under ``'embeddings'``).

    Raises:
        InputError: missing file, unknown extension, not a 2-D matrix, NaN
            or inf values, an all-zero row (no text embeds to zero: the
            head's row would have no direction).
    """
    if not os.path.isfile(path):
        raise InputError(with_missing_note(
            f'{path}: text-embedding file not found', path))
    ext = os.path.splitext(path)[1].lower()
    if ext == '.npy':
        arr = torch.from_numpy(load_npy(path, 'text embeddings').astype(
            np.float32))
    elif ext in ('.pt', '.pth'):
        arr = torch.load(path, map_location='cpu', weights_only=True)
        if isinstance(arr, dict):
            arr = arr.get('embeddings')
        if not isinstance(arr, torch.Tensor):
            raise InputError(f'{path}: expected a tensor (or a dict with '
                             '"embeddings")')
        arr = arr.float()
    else:
        raise InputError(f'{path}: text-embedding file must be .npy or .pt')
    if arr.ndim != 2:
        raise InputError(f'{path}: text embeddings must be [K, D], got shape '
                         f'{tuple(arr.shape)}')
    # the head's rows start as these: a NaN trained every weight to NaN
    # (the run went on, its kNN on NaN features), a zero row stayed zero
    bad = (~torch.isfinite(arr)).any(1).nonzero().flatten()
    if len(bad):
        raise InputError(f'{path}: text embeddings hold NaN or inf values '
                         f'({len(bad)} of {len(arr)} rows, the first row '
                         f'{int(bad[0])})')
    zero = (arr == 0).all(1).nonzero().flatten()
    if len(zero):
        raise InputError(f'{path}: {len(zero)} of {len(arr)} text '
                         f'embeddings are all zero (the first row '
                         f'{int(zero[0])}): not text embeddings')
    return arr


def read_attribute_file(path: str) -> Tuple[List[str], List[List[str]]]:
    """Attribute names and sentences of one level from a JSON data file.

    Format::

        {"level": "patch",
         "templates": ["a histology image showing {}.", ...],
         "attributes": [{"name": "Cellularity",
                         "descriptions": ["densely packed cells", ...]},
                        ...]}

    The sentences of an attribute are every template filled with every
    description (``templates`` empty or absent: the descriptions are the
    sentences). Row ``k`` of the level's head is attribute ``k``.

    Returns:
        tuple: (names ``[K]``, sentences ``[K][n_k]``).

    Raises:
        InputError: missing file, invalid JSON, no attributes, an attribute
            without descriptions or a template without one ``{}``.
    """
    if not os.path.isfile(path):
        raise InputError(with_missing_note(
            f'{path}: attribute file not found', path))
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except json.JSONDecodeError as exc:
        raise InputError(f'{path}:{exc.lineno}: invalid JSON ({exc.msg})') \
            from None
    attrs = data.get('attributes') if isinstance(data, dict) else None
    if not isinstance(attrs, list) or not attrs:
        raise InputError(f'{path}: needs "attributes": [{{"name", '
                         '"descriptions"}}, ...]')
    templates = data.get('templates') or []
    for t in templates:
        if not isinstance(t, str) or t.count('{}') != 1:
            raise InputError(f'{path}: template {t!r} must hold exactly one '
                             '"{}"')
    names, sentences = [], []
    for i, a in enumerate(attrs):
        if not isinstance(a, dict) or not a.get('name'):
            raise InputError(f'{path}: attribute {i} has no "name"')
        desc = a.get('descriptions')
        if not desc or not all(isinstance(d, str) and d for d in desc):
            raise InputError(f'{path}: attribute {a["name"]!r} needs a list '
                             'of descriptions')
        names.append(a['name'])
        sentences.append([t.format(d) for d in desc for t in templates]
                         if templates else list(desc))
    return names, sentences


def attribute_sentences(attributes: Attributes) -> List[List[str]]:
    """The sentences of each attribute: from a data file (a path) or given."""
    if isinstance(attributes, str):
        return read_attribute_file(attributes)[1]
    return [[s] if isinstance(s, str) else list(s) for s in attributes]


def encode_attributes(attributes: Attributes, encoder) -> torch.Tensor:
    """Embed each attribute's sentences, L2-normalise each, average,
    L2-normalise the mean (the published ``CLIPTextClassifier`` rows).

    Args:
        attributes: a data file or K lists of sentences.
        encoder: a frozen text encoder (with ``encode``) or its config.

    Returns:
        Tensor: ``[K, D]`` unit rows, on the CPU.
    """
    if isinstance(encoder, dict):
        from ..text_encoders import build_text_encoder
        encoder = build_text_encoder(encoder)
    sentences = attribute_sentences(attributes)
    flat = [s for group in sentences for s in group]
    emb = F.normalize(encoder.encode(flat).float().cpu(), dim=1)
    rows, start = [], 0
    for group in sentences:
        rows.append(emb[start:start + len(group)].mean(0))
        start += len(group)
    return F.normalize(torch.stack(rows), dim=1)


def sentences_sha1(attributes: Attributes) -> str:
    """Digest of an attribute set's sentences (their order and text)."""
    import hashlib
    return hashlib.sha1(json.dumps(attribute_sentences(attributes))
                        .encode()).hexdigest()


def _record_path(embeddings_file: str) -> str:
    """The JSON :func:`export_attribute_embeddings` writes beside a file
    (``patch.npy.json``: ``patch.json`` is an attribute file's name)."""
    return embeddings_file + '.json'


def _read_record(path: str) -> Optional[dict]:
    """The export record at ``path``, or None (absent, or another JSON)."""
    if not os.path.isfile(path):
        return None
    try:
        with open(path) as f:
            made = json.load(f)
    except (OSError, ValueError):
        return None
    return made if isinstance(made, dict) and 'sentences_sha1' in made \
        else None


#: embedding files read without an export record (one warning each)
_WARNED_UNRECORDED = Once()

#: text-encoder settings that do not change the embeddings
_RUN_KEYS = ('batch_size', 'device')


def _names_a_file(key: str) -> bool:
    """Whether the value at ``key`` (dotted, within a text encoder's
    config) is one the encoder's build opens as a file or folder: one of
    :data:`~openselfsup.config.MODEL_FILE_ARGUMENTS` (``pretrained``,
    ``path``...), the one rule of the model section
    (:func:`~openselfsup.config.reads_a_file`; a text encoder is the
    ``model``'s)."""
    return bool(key) and reads_a_file(f'model.text_encoder.{key}')


def text_encoder_identity(cfg: dict) -> dict:
    """What decides a text encoder config's embeddings: the config less
    its run settings (batch size, device), each local file (weights) as
    its name and SHA-256 (``{'__file__': name, 'sha256': ...}``), each
    local model folder (a sentence-transformers or Hugging Face
    ``path``) as its name and the SHA-1 of its files
    (``{'__file__': name, 'sha1': ...}``,
    :func:`~openselfsup.utils.fingerprint.folder_sha1`, as the balance
    sweep's records compare it; before, by its name only); a path absent
    here keeps its name only; hub names and other strings as they are.
    Files and folders of the arguments the build opens only
    (:func:`_names_a_file`): any other value is the setting it is,
    wherever the current directory holds a file of its name (a
    ``model_name`` ``RN50-quickgelu``, a ``type`` ``HashedBagOfWords``
    was digested, and the same encoder from a folder without that file
    was refused as another)."""
    def plain(value, top=False, key=''):
        if isinstance(value, dict):
            return {k: plain(v, key=f'{key}.{k}' if key else str(k))
                    for k, v in value.items()
                    if not (top and k in _RUN_KEYS)}
        if isinstance(value, (list, tuple)):
            return [plain(v, key=f'{key}.{i}' if key else str(i))
                    for i, v in enumerate(value)]
        if not (isinstance(value, str) and _names_a_file(key)):
            return value
        if os.path.isfile(value):
            return {'__file__': os.path.basename(value),
                    'sha256': file_sha256_kept(value)}
        if os.path.isdir(value):
            return {'__file__': os.path.basename(value.rstrip('/')),
                    'sha1': folder_sha1(value)}
        if ('/' in value or os.sep in value) \
                and ':' not in value:  # a path, not hf-hub:org/name
            return {'__file__': os.path.basename(value.rstrip('/'))}
        return value
    return plain(dict(cfg), top=True)


def same_text_encoder(a, b, key: str = '') -> bool:
    """Whether two :func:`text_encoder_identity` values are one encoder:
    equal settings, files and folders by digest where both have one (a
    record written before folders had one: by name, which
    :func:`attribute_matrix` refuses, :func:`_folders_named_only`), else
    by name. A value of no file argument (:func:`_names_a_file`) that a
    record written before the rule gave as a file (a ``model_name``
    naming a file of the current directory then, or a name with a
    ``/``) is the setting of that name: by its name."""
    if isinstance(a, dict) and isinstance(b, dict):
        if '__file__' in a and '__file__' in b:
            for digest in ('sha256', 'sha1'):
                if a.get(digest) and b.get(digest):
                    return a[digest] == b[digest]
            return a['__file__'] == b['__file__']
        return a.keys() == b.keys() and all(
            same_text_encoder(a[k], b[k], f'{key}.{k}' if key else str(k))
            for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(
            same_text_encoder(x, y, f'{key}.{i}' if key else str(i))
            for i, (x, y) in enumerate(zip(a, b)))
    if not _names_a_file(key):
        for made, mine in ((a, b), (b, a)):
            if isinstance(made, dict) and '__file__' in made and \
                    isinstance(mine, str):
                return made['__file__'] == os.path.basename(
                    mine.rstrip('/'))
    return a == b


def _folders_named_only(made, mine, key: str = ''):
    """``(dotted key, name)`` of each local model folder the text encoder
    identity ``mine`` counts by its files (``sha1``) where the record's
    ``made`` names it by name only (:func:`text_encoder_identity` before
    folders had a digest): :func:`same_text_encoder` compares those by
    name, which cannot tell another model saved into the folder."""
    if isinstance(made, dict) and isinstance(mine, dict):
        if '__file__' in made and '__file__' in mine:
            return [(key, made['__file__'])] if mine.get('sha1') and not (
                made.get('sha1') or made.get('sha256')) else []
        return [hit for k in made if k in mine
                for hit in _folders_named_only(
                    made[k], mine[k], f'{key}.{k}' if key else k)]
    if isinstance(made, list) and isinstance(mine, list):
        return [hit for i, (a, b) in enumerate(zip(made, mine))
                for hit in _folders_named_only(a, b, f'{key}.{i}')]
    return []


def attribute_matrix(attributes: Attributes,
                     embeddings_file: Optional[str] = None,
                     encoder=None) -> torch.Tensor:
    """The ``[K, D]`` attribute matrix of one level, L2-normalised rows.

    Args:
        attributes: a data file or K lists of sentences (K is the number a
            precomputed file must match).
        embeddings_file (str, optional): precomputed ``[K, D]`` file; wins
            over ``encoder``. Where the JSON that
            :func:`export_attribute_embeddings` writes beside it is there,
            its sentences must be these, and its text encoder ``encoder``
            when that is a config (:func:`text_encoder_identity`).
        encoder: a text encoder or its config.

    Raises:
        InputError: neither source given; the file's K disagrees; the
            file's record names other sentences or another text encoder.
    """
    if embeddings_file:
        k = len(attribute_sentences(attributes))
        mat = read_embedding_file(embeddings_file)
        made = _read_record(_record_path(embeddings_file))
        again = 'make them again with tools/make_attribute_embeddings.py'
        if made is not None and made.get('embeddings_sha1') and \
                made['embeddings_sha1'] != array_sha1(mat.numpy()):
            raise InputError(
                f'{embeddings_file}: not the matrix its record '
                f'{_record_path(embeddings_file)} describes (changed, or '
                f'written by an interrupted export); {again}')
        if made is not None:  # written with the file: which sentences
            if made.get('sentences_sha1') != sentences_sha1(attributes):
                raise InputError(
                    f'{embeddings_file}: embeds other attribute sentences '
                    f'(level {made.get("level")!r} of its config) than this '
                    f'head\'s; give the file of this level, or {again}')
            made_by = made.get('text_encoder_id')
            if isinstance(made_by, dict) and isinstance(encoder, dict):
                mine = text_encoder_identity(encoder)
                if not same_text_encoder(made_by, mine):
                    raise InputError(
                        f'{embeddings_file}: made with another text encoder '
                        f'({json.dumps(made_by, sort_keys=True)}) than the '
                        f'model\'s ({json.dumps(mine, sort_keys=True)}); '
                        f'{again}')
                for key, name in _folders_named_only(made_by, mine):
                    raise InputError(
                        f'{embeddings_file}: its record names the text '
                        f'encoder\'s folder {key}={name!r} by its name '
                        f'only (written before a folder counted by its '
                        f'files), so another model saved there since would '
                        f'pass; {again}')
        if mat.shape[0] != k:
            raise InputError(f'{embeddings_file}: holds {mat.shape[0]} '
                             f'attribute embeddings, the config lists {k}')
        if made is None and _WARNED_UNRECORDED(
                os.path.abspath(embeddings_file)):
            # a copy without its record: another level's file, or one of
            # another attribute list or text encoder, passed on its count
            print_log(f'{embeddings_file}: no export record beside it '
                      f'({os.path.basename(_record_path(embeddings_file))}'
                      f'): its {k} rows are taken as the attributes of the '
                      f'head, unchecked (which sentences, which text '
                      f'encoder); {again}', logger='current',
                      level=logging.WARNING)
        return F.normalize(mat, dim=1)
    if encoder is None:
        raise InputError('TextInitHead: give embeddings_file, or a '
                         'text_encoder in the model config, for the '
                         'attribute embeddings')
    return encode_attributes(attributes, encoder)


def symmetric_kl(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``(KL(p||q) + KL(q||p)) / 2`` of the row softmaxes ``p``, ``q`` of
    ``a`` and ``b``, summed over rows (the published ``reduction='sum'``)."""
    la, lb = F.log_softmax(a, dim=-1), F.log_softmax(b, dim=-1)
    kl = (la.exp() * (la - lb)).sum(-1) + (lb.exp() * (lb - la)).sum(-1)
    return kl.sum() / 2


@MODELS.register_module()
class TextInitHead(BaseModule):
    """HLSS head of one level: ``Linear(C, K)`` initialised from text.

    ``e = W x + b`` with ``W`` (``[K, C]``) initialised to the attribute text
    matrix ``T`` and ``b = 0``; ``e`` is the level's contrastive embedding
    (normalised by the loss). ``W`` and ``b`` train; ``T`` stays fixed.

    Alignment (the published HLSS's "HA" term): for each view, ``t*`` is the
    row of ``T`` most cosine-similar to the head's input ``x`` (the image
    embedding); the term is ``(KL(softmax(x) || softmax(t*)) + KL(softmax(t*)
    || softmax(x))) / 2`` summed over every view of the (all-gathered)
    batch.

    Args:
        in_channels (int): C, the image-embedding width; must equal the text
            width D.
        attributes: the level's attribute data file (JSON) or K lists of
            sentences.
        embeddings_file (str, optional): precomputed ``[K, D]`` embeddings.
        encoder: frozen text encoder (or its config) used when no file is
            given; the :class:`~openselfsup.models.algorithms.HLSS` model
            passes its ``text_encoder`` here.
        align_mode (str): ``'log'``: reported as ``kl_<level>`` without
            gradient (the published code logs it and adds it to the total as
            a number); ``'loss'``: ``loss_kl_<level>`` = ``align_weight`` x
            the term, trained; ``'off'``: not computed.
        align_weight (float): weight of the term in ``'loss'`` mode.
        level (str): name used in the loss-dict keys.
        init_cfg: MMEngine init config (the text initialisation is kept).
    """

    def __init__(self, in_channels: int, attributes: Attributes,
                 embeddings_file: Optional[str] = None, encoder=None,
                 align_mode: str = 'log', align_weight: float = 1.0,
                 level: str = 'level', init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if align_mode not in ('log', 'loss', 'off'):
            raise ValueError(f'align_mode must be log|loss|off, got '
                             f'{align_mode!r}')
        text = attribute_matrix(attributes, embeddings_file, encoder)
        if text.shape[1] != in_channels:
            src = embeddings_file or 'the text encoder'
            raise InputError(f'TextInitHead ({level}): {src} gives text '
                             f'width {text.shape[1]}, the image embedding '
                             f'is in_channels={in_channels}; HLSS needs '
                             'both in one space')
        self.level = level
        self.align_mode = align_mode
        self.align_weight = align_weight
        self.linear = nn.Linear(in_channels, text.shape[0])
        self.register_buffer('text', text.clone())
        self._init_from_text()

    def _init_from_text(self) -> None:
        with torch.no_grad():
            self.linear.weight.copy_(self.text)
            self.linear.bias.zero_()

    def init_weights(self):
        """Keep the text initialisation (an ``init_cfg`` may not undo it)."""
        super().init_weights()
        self._init_from_text()

    def alignment(self, x: torch.Tensor) -> torch.Tensor:
        """The published alignment term of image embeddings ``x [N, C]``."""
        x = gather_features(x)
        nearest = (F.normalize(x, dim=1) @ self.text.t()).argmax(1)
        return symmetric_kl(x, self.text[nearest])

    def forward(self, x: torch.Tensor
                ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Args: x ``[N, C]``. Returns ``(embedding [N, K], extras)``."""
        extras = {}
        if self.align_mode == 'loss':
            extras[f'loss_kl_{self.level}'] = \
                self.align_weight * self.alignment(x)
        elif self.align_mode == 'log':
            with torch.no_grad():
                extras[f'kl_{self.level}'] = self.alignment(x.detach())
        return self.linear(x), extras


@MODELS.register_module()
class MLPHead(BaseModule):
    """Projection head as HiDisc's ``MLP``: ``Linear`` layers with ReLU
    between them; with no hidden layer (the published ``mlp_hidden: []``) a
    single ``Linear(in_channels, out_channels)``. Weights Xavier-uniform,
    biases 0.01, as published.

    Args:
        in_channels (int): backbone feature width (2048 for ResNet-50).
        out_channels (int): embedding width (128).
        hidden_channels (list[int]): hidden widths. Defaults to none.
        level (str): unused, accepted so heads are interchangeable in configs.
    """

    def __init__(self, in_channels: int, out_channels: int,
                 hidden_channels: Sequence[int] = (), level: str = 'level',
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        widths = [in_channels, *hidden_channels, out_channels]
        layers = []
        for a, b in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU(inplace=True)]
        self.layers = nn.Sequential(*layers[:-1])
        for m in self.layers:
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.constant_(m.bias, 0.01)

    def forward(self, x: torch.Tensor
                ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Args: x ``[N, C]``. Returns ``(embedding, {})``."""
        return self.layers(x), {}


def _head_types(model_cfg: dict) -> str:
    """What a model config's heads are, for the line refusing a config
    without a per-level ``TextInitHead``."""
    heads = model_cfg.get('heads')
    if not isinstance(heads, dict) or not heads:
        head = model_cfg.get('head')
        return 'no model.heads' + (
            f'; model.head: {type_name(head.get("type"))}'
            if isinstance(head, dict) else '')
    if 'type' in heads:  # one head shared by every level (HiDisc)
        return f'model.heads: one {type_name(heads["type"])} shared by ' \
            'every level'
    return 'model.heads: ' + ', '.join(
        f'{lv}: ' + (type_name(cfg.get('type')) if isinstance(cfg, dict)
                     else repr(cfg))
        for lv, cfg in heads.items())


def export_attribute_embeddings(model_cfg: dict, out_dir: str,
                                seed: int = 0,
                                source: str = 'the config'
                                ) -> Dict[str, str]:
    """Encode every ``TextInitHead`` level of a model config to ``.npy``.

    The files can then be given as ``embeddings_file`` (e.g. to build the
    model once on a machine without the text tower's weights, or to skip
    the text tower at every build).

    Args:
        model_cfg (dict): the config's ``model`` (``heads`` per level and
            ``text_encoder``).
        out_dir (str): output folder; one ``<level>.npy`` ``[K, D]`` each,
            and ``<level>.npy.json`` naming the level, a digest of its
            sentences (a head refuses the file of another level) and one
            of the matrix (a head refuses a matrix its record does not
            describe). All files are written as one set.
        seed (int): torch's seed while the text encoder is built: a tower
            without pretrained weights (the demo config's) starts at random
            initialisation, so the same command writes the same matrix
            (recorded; pretrained weights do not depend on it).
        source (str): the config file, named by the refusals.

    Returns:
        dict[str, str]: level -> file written.
    """
    from ...utils import (check_replaceable, check_seed, check_writable,
                          save_set)
    from ..text_encoders import build_text_encoder
    heads = model_cfg.get('heads') or {}
    levels = {lv: cfg for lv, cfg in heads.items()
              if isinstance(cfg, dict)
              and type_name(cfg.get('type')) == 'TextInitHead'}
    if not levels:  # the line named no config, nor what it holds
        raise InputError(f'{source}: no per-level TextInitHead to export '
                         f'({_head_types(model_cfg)})')
    if not model_cfg.get('text_encoder'):
        raise InputError(f'{source}: no model.text_encoder to compute the '
                         'attribute embeddings with')
    check_seed(seed)
    paths = {lv: os.path.join(out_dir, f'{lv}.npy') for lv in levels}
    for path in paths.values():  # before minutes of text encoding
        check_writable(path)
        record = _record_path(path)
        check_writable(record)
        # a matrix is this tool's beside its record; without one it is a
        # user's own <level>.npy, which was replaced without a word
        check_replaceable(
            record, ('sentences_sha1',),
            f'an export of this tool (no {os.path.basename(record)} beside '
            'it)', also=(path,), flag='--out',
            what_path='an export record of this tool')
    with torch.random.fork_rng(devices=[]):  # the caller's stream as is
        torch.manual_seed(seed)
        encoder = build_text_encoder(model_cfg['text_encoder'])
    files = {}
    for level, cfg in levels.items():
        mat = encode_attributes(cfg['attributes'], encoder).numpy().astype(
            np.float32)
        files[paths[level]] = mat
        # what the file embeds and its digest, checked when a head reads it
        files[_record_path(paths[level])] = dict(
            level=level, sentences_sha1=sentences_sha1(cfg['attributes']),
            shape=list(mat.shape), embeddings_sha1=array_sha1(mat),
            text_encoder=str(dict(model_cfg['text_encoder'])), seed=seed,
            text_encoder_id=text_encoder_identity(
                model_cfg['text_encoder']))
    # every level's file and record together: an interrupted export leaves
    # the old ones, never a new matrix beside the old record
    save_set(files)
    return paths
