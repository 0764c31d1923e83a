"""Load extracted features, labels and image metadata, validated once here.

Files (see :mod:`openselfsup.lowshot.paths`), all written by
``python wsi_workdir/extract.py``:

- ``extracted_feats/<model>/<NAME>.npy``: float32 ``[N, D]`` features, any D.
- ``extracted_feats/<NAME>_labels.npy``: integer ``[N]`` labels.
- ``extracted_feats/<NAME>_meta.json``: a JSON object with (at least)

  ``"paths"``: list of N image paths, relative to the dataset's data root, in
  feature order. The first path component is the slide id (PAIP19:
  ``<slide_id>/<slide_id>_<cls>_<n>.png``); only the ``homo`` out-domain
  tasks need it.

  ``"classes"``: list of class names in label order (optional; the table
  falls back to the dataset's known names).

Every problem is an :class:`~openselfsup.utils.InputError` with one line that
names the file, and for a missing file the command that makes it.
"""
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Dict, List, Optional

import numpy as np

from ..utils import InputError
from . import paths

_EXTRACT_HINT = ('python wsi_workdir/extract.py --config '
                 'configs/extraction/{config}.py --pretrained CKPT '
                 '--output {out}')


def array_sha1(array: np.ndarray) -> str:
    """SHA-1 of an array's dtype, shape and bytes (C order)."""
    h = hashlib.sha1()
    h.update(f'{array.dtype.str}{array.shape}'.encode())
    h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()


def file_identity(path: str, array: np.ndarray) -> Dict:
    """Identity of a loaded array file: ``{path, shape, sha1}``."""
    return {'path': os.path.abspath(path), 'shape': list(array.shape),
            'sha1': array_sha1(array)}


def _missing(path: str, name: str, what: str, out: str) -> InputError:
    return InputError(
        f'{what} not found: {path} (make it with: '
        + _EXTRACT_HINT.format(config=name.lower(), out=out) + ')')


def _check_name(name: str) -> None:
    if name not in paths.FEATURE_NAMES:
        raise InputError(f'unknown feature set {name!r}; expected one of '
                         f'{", ".join(paths.FEATURE_NAMES)}')


def load_labels(workdir: str, name: str, model: str = '<model>') -> np.ndarray:
    """Labels of feature set ``name``, int64 ``[N]``.

    Args:
        workdir (str): the low-shot work directory.
        name (str): one of :data:`paths.FEATURE_NAMES`.
        model (str): used only in the hint of the error message.
    """
    _check_name(name)
    path = paths.labels_path(workdir, name)
    if not os.path.isfile(path):
        raise _missing(path, name, 'labels',
                       paths.features_path(workdir, model, name))
    try:
        labels = np.load(path, allow_pickle=False)
    except Exception as exc:  # corrupt or not a .npy file
        raise InputError(f'{path}: cannot read labels ({exc})') from None
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f'{path}: labels must be a 1-d integer array, got '
                         f'{labels.dtype} {list(labels.shape)}')
    if labels.size and labels.min() < 0:
        raise InputError(f'{path}: negative label {int(labels.min())}')
    return labels.astype(np.int64)


@dataclass
class FeatureSet:
    """Features and labels of one ``(model, NAME)``.

    Attributes:
        name (str): feature set name, e.g. ``'NCT_train'``.
        features (np.ndarray): float32 ``[N, D]``.
        labels (np.ndarray): int64 ``[N]``.
        features_path (str): where the features came from.
        labels_path (str): where the labels came from.
    """
    name: str
    features: np.ndarray
    labels: np.ndarray
    features_path: str
    labels_path: str

    @property
    def dim(self) -> int:
        return int(self.features.shape[1])

    def identity(self) -> Dict:
        """File identities (path, shape, sha1) of features and labels."""
        return {'features': file_identity(self.features_path, self.features),
                'labels': file_identity(self.labels_path, self.labels)}


def load_features(workdir: str, model: str, name: str) -> FeatureSet:
    """Load and validate features + labels of ``(model, name)``.

    Args:
        workdir (str): the low-shot work directory.
        model (str): model name, e.g. ``'clp'`` or ``'clp_wo_7'``.
        name (str): one of :data:`paths.FEATURE_NAMES`.

    Returns:
        FeatureSet: float32 ``[N, D]`` features and int64 ``[N]`` labels.

    Raises:
        InputError: missing file (with the command that makes it), not a
            2-d float array, NaN or inf, or labels of another length.
    """
    _check_name(name)
    fpath = paths.features_path(workdir, model, name)
    if not os.path.isfile(fpath):
        raise _missing(fpath, name, 'features', fpath)
    try:
        feats = np.load(fpath, allow_pickle=False)
    except Exception as exc:
        raise InputError(f'{fpath}: cannot read features ({exc})') from None
    if feats.ndim != 2 or not np.issubdtype(feats.dtype, np.floating):
        raise InputError(f'{fpath}: features must be a 2-d float array [N, D],'
                         f' got {feats.dtype} {list(feats.shape)}')
    feats = np.ascontiguousarray(feats, dtype=np.float32)
    finite = np.isfinite(feats).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise InputError(f'{fpath}: NaN or inf in features (first at row '
                         f'{row}, {int((~finite).sum())} rows in all)')
    labels = load_labels(workdir, name, model)
    lpath = paths.labels_path(workdir, name)
    if len(labels) != len(feats):
        raise InputError(f'{fpath} has {len(feats)} rows but {lpath} has '
                         f'{len(labels)} labels')
    return FeatureSet(name, feats, labels, fpath, lpath)


def load_meta(workdir: str, name: str, required: bool = False,
              num_rows: Optional[int] = None) -> Optional[Dict]:
    """Read ``<NAME>_meta.json`` (keys ``paths`` and ``classes``).

    Args:
        workdir (str): the low-shot work directory.
        name (str): one of :data:`paths.FEATURE_NAMES`.
        required (bool): raise if the file is missing (else return None).
        num_rows (int, optional): expected number of paths, if known.
    """
    path = paths.meta_path(workdir, name)
    if not os.path.isfile(path):
        if required:
            raise InputError(
                f'image metadata not found: {path} (written by extraction: '
                + _EXTRACT_HINT.format(config=name.lower(),
                                       out='OUT.npy') + ')')
        return None
    try:
        with open(path) as f:
            meta = json.load(f)
    except (OSError, ValueError) as exc:
        raise InputError(f'{path}: not valid JSON ({exc})') from None
    if not isinstance(meta, dict):
        raise InputError(f'{path}: expected a JSON object')
    if 'paths' in meta:
        if not isinstance(meta['paths'], list):
            raise InputError(f'{path}: "paths" must be a list')
        if num_rows is not None and len(meta['paths']) != num_rows:
            raise InputError(f'{path} lists {len(meta["paths"])} paths but '
                             f'the labels have {num_rows} rows')
    elif required:
        raise InputError(f'{path}: missing key "paths"')
    if 'classes' in meta and not isinstance(meta['classes'], list):
        raise InputError(f'{path}: "classes" must be a list')
    return meta


def slide_ids(workdir: str, name: str, num_rows: int) -> np.ndarray:
    """Slide index per row ``[N]`` int64 (slide = first path component).

    Indices follow the sorted slide names, so they do not depend on row order.
    """
    meta = load_meta(workdir, name, required=True, num_rows=num_rows)
    slides: List[str] = [str(p).replace('\\', '/').lstrip('/').split('/')[0]
                         for p in meta['paths']]
    names, ids = np.unique(np.asarray(slides), return_inverse=True)
    return ids.astype(np.int64).reshape(-1)


def class_names(workdir: str, name: str,
                default: Optional[List[str]] = None) -> Optional[List[str]]:
    """Class names from ``<NAME>_meta.json``, else ``default``."""
    meta = load_meta(workdir, name)
    if meta and meta.get('classes'):
        return [str(c) for c in meta['classes']]
    return list(default) if default is not None else None
