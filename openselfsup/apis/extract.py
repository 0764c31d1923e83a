"""Feature extraction: a checkpoint and an image list in, ``features.npy`` out.

``wsi_workdir/extract.py`` calls :func:`extract`. The encoder is the config's
``model`` (an mmpretrain ``ImageClassifier`` without head: backbone, global
average pooling neck, data preprocessor that normalises), the images are the
config's ``dataset`` (an :class:`~openselfsup.datasets.ImageList` with the test
pipeline). Only the backbone's weights come from the checkpoint, which may be

- a full training checkpoint written by ``tools/train.py`` (MoCo-v3 or
  supervised): the ``backbone.*`` entries of its ``state_dict`` are used, the
  momentum encoder, neck, head, optimizer and runtime state are ignored;
- backbone weights, ``{'state_dict': {...}}`` without prefix, as
  ``tools/extract_backbone_weights.py`` writes them;
- a bare state dict, with or without the ``backbone.`` prefix.

Checkpoints are read with ``torch.load(weights_only=True)`` through
:func:`~openselfsup.engine.checkpoint.load_checkpoint_file` with
``tensors_only=True``: tensors are rebuilt, nothing in the file runs code, and
runtime state that plain MMEngine pickles as objects is read as inert
placeholders, since extraction never looks at it.

Outputs (each written atomically), see :func:`output_paths`:

- features ``float32 [N, D]``, ``D`` the width of the pooled backbone output;
- labels ``int64 [N]``;
- a meta JSON: image paths relative to the data prefix (list order; for
  PAIP19 the first path component is the slide id), class names, the list
  file;
- a provenance JSON: checkpoint path and sha256, config, list file, N, D, date.
"""
import datetime
import hashlib
import os
import platform
from collections import OrderedDict
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from ..lowshot import paths
from ..utils import InputError, save_json, save_npy
from ..config import load_config

#: prefixes stripped from checkpoint keys before looking for the backbone
_WRAPPER_PREFIXES = ('module.', 'model.')
_BACKBONE_PREFIX = 'backbone.'


def file_sha256(path: str, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes.

    Args:
        path (str): the file.
    """
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def _strip(key: str) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in _WRAPPER_PREFIXES:
            if key.startswith(prefix):
                key, changed = key[len(prefix):], True
    return key


def load_backbone_weights(path: str) -> Tuple['OrderedDict[str, torch.Tensor]',
                                               str]:
    """Read the backbone's weights from any of the accepted checkpoint kinds.

    Args:
        path (str): a full training checkpoint, backbone weights
            (``{'state_dict': {...}}`` without prefix) or a bare state dict.

    Returns:
        tuple: ``(state_dict, kind)``: the backbone's tensors keyed without
        the ``backbone.`` prefix (``conv1.weight``, ``layer1.0.bn1.bias``...),
        and ``kind``, ``'full checkpoint'`` or ``'backbone weights'``.

    Raises:
        InputError: missing or unreadable file, or no backbone weights in it.
    """
    from ..engine.checkpoint import load_checkpoint_file
    obj = load_checkpoint_file(path, tensors_only=True)
    if isinstance(obj, dict) and isinstance(obj.get('state_dict'), dict):
        state = obj['state_dict']
    elif isinstance(obj, dict):
        state = obj
    else:
        raise InputError(f'{path}: expected a checkpoint (a dict), found '
                         f'{type(obj).__name__}')
    state = OrderedDict((_strip(str(k)), v) for k, v in state.items())
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
    return weights, kind


def _width_hint(weights: Dict[str, torch.Tensor]) -> str:
    """``--cfg-options`` that build a ResNet as wide as ``weights``."""
    opts = []
    if 'conv1.weight' in weights:
        opts.append('model.backbone.stem_channels='
                    f'{weights["conv1.weight"].shape[0]}')
    if 'layer1.0.conv1.weight' in weights:
        opts.append('model.backbone.base_channels='
                    f'{weights["layer1.0.conv1.weight"].shape[0]}')
    return ' '.join(opts)


def load_into_backbone(backbone: torch.nn.Module,
                       weights: Dict[str, torch.Tensor],
                       checkpoint: str) -> None:
    """Copy ``weights`` into ``backbone``; every key must match in name and shape.

    Args:
        backbone (nn.Module): the config's backbone.
        weights (dict[str, Tensor]): from :func:`load_backbone_weights`.
        checkpoint (str): the checkpoint path, for messages.

    Raises:
        InputError: names or shapes differ (with the ``--cfg-options`` that
            would build a matching ResNet when the widths differ).
    """
    own = backbone.state_dict()
    for key, value in weights.items():
        if key in own and tuple(own[key].shape) != tuple(value.shape):
            raise InputError(
                f'{checkpoint}: backbone {key} has shape {tuple(value.shape)} '
                f'but the config builds {tuple(own[key].shape)}; match the '
                f'config to the checkpoint, e.g. --cfg-options '
                f'{_width_hint(weights)}')
    missing = [k for k in own if k not in weights
               and not k.endswith('num_batches_tracked')]
    unexpected = [k for k in weights if k not in own]
    if missing or unexpected:
        what = (f'lacks {len(missing)} of the config backbone\'s entries '
                f'(first: {missing[0]})' if missing else
                f'has {len(unexpected)} entries the config backbone lacks '
                f'(first: {unexpected[0]})')
        raise InputError(f'{checkpoint}: the checkpoint\'s backbone {what}; '
                         'is model.backbone (depth, widths) the one it was '
                         'trained with?')
    backbone.load_state_dict(weights, strict=False)


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
        dict: keys ``features``, ``labels``, ``meta``, ``provenance``.
    """
    if not output.endswith('.npy'):
        raise InputError(f'{output}: the output must be a .npy file')
    norm = os.path.normpath(output)
    name = os.path.splitext(os.path.basename(norm))[0]
    model_dir = os.path.dirname(norm)
    feats_dir = os.path.dirname(model_dir)
    if (name in paths.FEATURE_NAMES and os.path.basename(model_dir)
            and os.path.basename(feats_dir) == 'extracted_feats'):
        workdir = os.path.dirname(feats_dir)
        model = os.path.basename(model_dir)
        return dict(features=paths.features_path(workdir, model, name),
                    labels=paths.labels_path(workdir, name),
                    meta=paths.meta_path(workdir, name),
                    provenance=paths.provenance_path(workdir, model, name))
    stem = os.path.splitext(norm)[0]
    return dict(features=norm, labels=f'{stem}_labels.npy',
                meta=f'{stem}_meta.json', provenance=f'{stem}.json')


def build_extractor(cfg) -> torch.nn.Module:
    """Build the config's ``model`` (backbone, pooling neck, preprocessor)."""
    from mmengine.registry import init_default_scope

    from .. import models  # noqa: F401  (fills the registries)
    from ..registry import MODELS
    init_default_scope(cfg.get('default_scope', 'openselfsup'))
    return MODELS.build(cfg.model)


def build_dataset(cfg):
    """Build the config's ``dataset`` (an ImageList with the test pipeline)."""
    from mmengine.registry import init_default_scope

    from .. import datasets  # noqa: F401
    from ..registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'openselfsup'))
    return DATASETS.build(cfg.dataset)


@torch.no_grad()
def compute_features(model: torch.nn.Module,
                     dataset,
                     batch_size: int = 64,
                     device: str = 'cpu',
                     workers: int = 0,
                     amp: bool = False,
                     channels_last: bool = False,
                     progress: bool = True) -> Tuple[np.ndarray, np.ndarray]:
    """Run ``model`` over ``dataset`` in order; return features and labels.

    Args:
        model (nn.Module): from :func:`build_extractor` (weights loaded).
        dataset: from :func:`build_dataset`.
        batch_size (int): images per forward pass.
        device (str): ``'cpu'`` or ``'cuda'``.
        workers (int): data loading processes (0: in this process).
        amp (bool): autocast to float16 (CUDA) / bfloat16 (CPU); features
            are returned as float32 either way.
        channels_last (bool): channels-last memory format (faster on GPUs).
        progress (bool): show a progress bar.

    Returns:
        tuple: features ``float32 [N, D]`` and labels ``int64 [N]``.
    """
    from mmengine.dataset import pseudo_collate
    from tqdm import tqdm

    model = model.to(device).eval()
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=False, num_workers=workers,
        collate_fn=pseudo_collate, persistent_workers=False)
    feats, labels = [], []
    amp_dtype = torch.float16 if device.startswith('cuda') else torch.bfloat16
    for batch in tqdm(loader, desc='extract', unit='batch',
                      disable=not progress):
        data = model.data_preprocessor(batch, False)
        inputs = data['inputs']
        if channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device_type=torch.device(device).type,
                            dtype=amp_dtype, enabled=amp):
            out = model.extract_feat(inputs)
        out = out[-1] if isinstance(out, (tuple, list)) else out
        feats.append(out.float().flatten(1).cpu())
        labels.extend(int(s.gt_label.item()) for s in data['data_samples'])
    features = torch.cat(feats).numpy().astype(np.float32, copy=False)
    return features, np.asarray(labels, dtype=np.int64)


def _device(device: str) -> str:
    if device not in ('cpu', 'cuda') and not device.startswith('cuda:'):
        raise InputError(f'--device must be cpu or cuda, got {device!r}')
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise InputError('--device cuda asked for, but torch sees no GPU')
    return device


def extract(config: str,
            pretrained: str,
            output: str,
            cfg_options: Optional[dict] = None,
            batch_size: int = 64,
            device: str = 'cpu',
            workers: int = 0,
            amp: bool = False,
            channels_last: bool = False,
            progress: bool = True) -> Dict[str, object]:
    """Extract one feature set and write features, labels, meta, provenance.

    Args:
        config (str): an extraction config (``configs/extraction/*.py``).
        pretrained (str): checkpoint, see :func:`load_backbone_weights`.
        output (str): features ``.npy``; the other files' places follow from
            it (:func:`output_paths`).
        cfg_options (dict, optional): ``--cfg-options`` overrides, e.g.
            ``{'model.backbone.base_channels': 16}``.
        batch_size (int): images per forward pass.
        device (str): ``'cpu'`` or ``'cuda'``.
        workers (int): data loading processes.
        amp (bool): mixed precision forward pass.
        channels_last (bool): channels-last memory format.
        progress (bool): show a progress bar.

    Returns:
        dict: the provenance record (also written to disk), with the output
        paths under ``outputs``.

    Raises:
        InputError: missing config, list file, image or checkpoint; a
            checkpoint without (matching) backbone weights; bad device.
    """
    device = _device(device)
    out = output_paths(output)
    cfg = load_config(config, cfg_options)
    for key in ('model', 'dataset'):
        if key not in cfg:
            raise InputError(f'{config}: not an extraction config (no '
                             f'"{key}"); use one from configs/extraction/')
    weights, kind = load_backbone_weights(pretrained)
    dataset = build_dataset(cfg)
    model = build_extractor(cfg)
    load_into_backbone(model.backbone, weights, pretrained)

    features, labels = compute_features(
        model, dataset, batch_size=batch_size, device=device,
        workers=workers, amp=amp, channels_last=channels_last,
        progress=progress)
    if not np.isfinite(features).all():
        raise InputError(f'{pretrained}: the encoder produced NaN or inf '
                         'features; is the checkpoint corrupt?')

    root = dataset.img_prefix
    rel_paths = [os.path.relpath(dataset.get_data_info(i)['img_path'], root)
                 for i in range(len(dataset))]
    classes = list(dataset.metainfo.get('classes') or [])
    meta = dict(paths=rel_paths, classes=classes, list_file=dataset.ann_file,
                data_prefix=root)
    provenance = dict(
        checkpoint=os.path.abspath(pretrained),
        checkpoint_sha256=file_sha256(pretrained),
        checkpoint_kind=kind,
        config=os.path.abspath(config),
        cfg_options=dict(cfg_options or {}),
        list_file=dataset.ann_file,
        data_prefix=root,
        num_samples=int(features.shape[0]),
        feature_dim=int(features.shape[1]),
        date=datetime.datetime.now(datetime.timezone.utc).isoformat(
            timespec='seconds'),
        device=device, amp=bool(amp),
        torch=torch.__version__, host=platform.node(),
        outputs=out)

    _warn_if_labels_change(out['labels'], labels)
    save_npy(out['labels'], labels)
    save_json(out['meta'], meta)
    save_npy(out['features'], features)
    save_json(out['provenance'], provenance)
    return provenance


def _warn_if_labels_change(path: str, labels: np.ndarray) -> None:
    """Labels are shared by every model's features of a set: say when they change."""
    import sys
    if not os.path.isfile(path):
        return
    try:
        old = np.load(path)
    except Exception:  # noqa: BLE001  (replaced below anyway)
        return
    if old.shape != labels.shape or not np.array_equal(old, labels):
        print(f'warning: {path} changes ({old.shape[0]} -> {labels.shape[0]} '
              'labels); features of other models extracted from the old list '
              'no longer match it, extract them again', file=sys.stderr)


def summary_line(record: Dict[str, object]) -> str:
    """One line for the CLI: what was written."""
    out = record['outputs']
    return (f'{record["num_samples"]} x {record["feature_dim"]} features '
            f'from {record["checkpoint_kind"]} {record["checkpoint"]} -> '
            f'{out["features"]} (labels {out["labels"]})')

