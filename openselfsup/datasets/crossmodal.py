"""Paired vision-text datasets for balanced cross-modal tuning.

=====================  =====================================================
``CaptionedImages``    fold JSON ``{image_id: {"labels": [...],
                       "captions": [...]}}`` (the published COCO folds'
                       format); image ``<img_path>/<filename_tmpl formatted
                       with image_id><img_suffix>``; multi-hot float target
``SlideReports``       JSON ``{case_id: {"label": grade, "report": text}}``;
                       features ``<feat_path>/<case_id>.pt``, a float tensor
                       ``[M, 64, D]`` (``M`` regions of 64 patch features);
                       integer grade target
=====================  =====================================================

Each sample packs ``target`` (data field) and ``captions`` (metainfo, a list
of strings; one report for slides). Problems in the files raise a one-line
:class:`~openselfsup.utils.InputError` when the dataset is built, not in the
middle of training.
"""
import json
import os
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.dataset import BaseDataset

from ..registry import DATASETS, TRANSFORMS
from ..utils import InputError, is_int, read_json_digested
from ..utils.io import read_json_object  # noqa: F401  (its readers')
from .data_files import classes_file
from .image_list import NamesUndecodableImages
from .list_files import CheckedIndices


def _not_found(what: str, path: str) -> str:
    """The line of a file ``path`` a fold JSON names that is not there
    (``what`` names it), with what a generator left unfinished there says
    (:func:`~.synthetic.ownership.unfinished_not_found`)."""
    from .synthetic.ownership import unfinished_not_found
    line = f'{what} not found'
    return unfinished_not_found(line, path) or line


def read_classes(classes: Union[int, str, Sequence[str]],
                 data_root: str = '') -> List[str]:
    """Class names from a sequence, a text file with one name per line, or a
    number of classes (names ``'0' .. 'n-1'``; labels then are indices)."""
    if is_int(classes):
        names = [str(i) for i in range(classes)]
    elif isinstance(classes, str):
        path = classes_file(classes, data_root)
        if not os.path.isfile(path):
            raise InputError(f'{path}: classes file not found')
        with open(path) as f:
            names = [ln.strip() for ln in f if ln.strip()]
    else:
        names = [str(c) for c in classes]
    if not names:
        raise InputError(f'{classes}: no class names')
    return names


def label_index(label, num: int, where: str, expected: str) -> int:
    """A label read from an annotation JSON as a class index in
    ``0 .. num - 1``: an integer, or an integral float (``2.0``, as pandas
    and numpy write 2) read as that integer.

    Args:
        label: the JSON value (not None: an entry without a label is its
            reader's to name).
        num (int): the number of classes (grades).
        where (str): the file and entry, starting the message.
        expected (str): what a label is, e.g. ``'an integer grade in
            0..5'``.

    Raises:
        InputError: a float that is not an integer (``2.5``, nan, inf), a
            number out of range, or not a number (``'2'``, ``True``).
    """
    if isinstance(label, float) and label.is_integer():
        label = int(label)  # 2.0, as pandas and numpy write 2
    if isinstance(label, float):  # 2.5, nan, inf
        raise InputError(f'{where}: label {label!r} is a float, where '
                         f'{expected} is expected')
    if not is_int(label) or not 0 <= label < num:
        raise InputError(f'{where}: label {label!r} is not {expected}')
    return label


@DATASETS.register_module()
class CaptionedImages(CheckedIndices, NamesUndecodableImages, BaseDataset):
    """Multi-label images with one or more captions each.

    Args:
        ann_file (str): the fold JSON ``{image_id: {"labels": [names or
            indices], "captions": [str, ...]}}`` (an index written as a
            float, ``2.0``, is read as ``2``).
        classes (int | str | Sequence[str]): class names, a text file of
            them (one per line, relative to ``data_root``), or the number of
            classes (labels given as indices, e.g. the published COCO folds'
            80).
        img_suffix (str): appended to the formatted id to get the file name.
        filename_tmpl (str): ``filename_tmpl.format(image_id)`` is the file
            name before ``img_suffix`` (``'{:0>12}'`` for COCO's zero-padded
            ``000000000139.jpg`` names under the published folds' ids).
        data_root (str): root of ``ann_file`` and ``data_prefix``.
        data_prefix (dict): ``dict(img_path='images')``: the image folder.
        pipeline (list): transforms, e.g. ``LoadImageFromFile`` then
            ``PackInputs(algorithm_keys=('target',), meta_keys=(...,
            'captions'))``.
        **kwargs: other :class:`mmengine.dataset.BaseDataset` arguments.

    An image that does not decode when a step draws it (a file cut short)
    is one line naming it (:class:`~openselfsup.datasets.image_list.
    NamesUndecodableImages`), where it was PIL's traceback.
    """

    image_way_out = ('replace it with a readable copy, or take its entry '
                     'out of that file')

    #: the pipeline is built by mmengine's ``BaseDataset`` (``Compose``),
    #: through MMEngine's transform registry in the run's default scope
    #: (``config.REGISTRY_BUILT``: what the scope check follows)
    REGISTRY_BUILT = {'pipeline': 'mmengine'}

    def __init__(self, ann_file: str, classes, img_suffix: str = '',
                 filename_tmpl: str = '{}', data_root: str = '',
                 data_prefix: dict = dict(img_path=''), pipeline=(),
                 **kwargs):
        self.img_suffix = img_suffix
        self.filename_tmpl = filename_tmpl
        names = read_classes(classes, data_root)
        super().__init__(ann_file=ann_file, data_root=data_root,
                         data_prefix=data_prefix, pipeline=list(pipeline),
                         metainfo=dict(classes=tuple(names)), **kwargs)

    def load_data_list(self) -> List[dict]:
        path = self.ann_file
        ann = read_json_digested(path, read_json_object)
        classes = list(self.metainfo['classes'])
        index = {c: i for i, c in enumerate(classes)}
        img_dir = self.data_prefix.get('img_path', '')
        out = []
        for image_id, entry in ann.items():
            where = f'{path}: entry "{image_id}"'
            if not isinstance(entry, dict):
                raise InputError(f'{where} is not an object')
            labels = entry.get('labels')
            caps = entry.get('captions')
            if isinstance(caps, str):
                caps = [caps]
            if labels is not None and not isinstance(labels, list):
                # a bare "cat" would be read letter by letter, a bare 3
                # not at all
                shown = json.dumps(labels)
                raise InputError(
                    f'{where}: "labels" must be a list of class names or '
                    f'indices, not {shown}' + (
                        '' if isinstance(labels, dict)
                        else f' (one label: [{shown}])'))
            if not labels:
                raise InputError(f'{where} has no label')
            if not caps or not all(isinstance(c, str) and c.strip()
                                   for c in caps):
                raise InputError(f'{where} has no caption')
            target = np.zeros(len(classes), np.float32)
            indices = f'a class name or an index in 0..{len(classes) - 1}'
            for lab in labels:
                if not isinstance(lab, str):  # an index: 2, or 2.0
                    target[label_index(lab, len(classes), where, indices)] = 1
                elif lab in index:
                    target[index[lab]] = 1
                else:
                    raise InputError(f'{where}: unknown label {lab!r} '
                                     f'(classes: {", ".join(classes)})')
            name = self.filename_tmpl.format(image_id) + self.img_suffix
            img = os.path.join(img_dir, name)
            if not os.path.isfile(img):
                raise InputError(_not_found(f'{where}: image {img}', img))
            out.append(dict(img_path=img, img_id=str(image_id),
                            target=target, captions=list(caps)))
        return out


@DATASETS.register_module()
class SlideReports(CheckedIndices, BaseDataset):
    """Slides as precomputed region features, each with a grade and a report.

    Args:
        ann_file (str): JSON ``{case_id: {"label": int, "report": str}}``
            (a label written as a float, ``2.0``, is read as ``2``).
        feat_dim (int): expected feature width ``D``.
        patches_per_region (int): expected patches per region (64).
        num_grades (int): grades are ``0 .. num_grades - 1`` (ISUP: 6).
        data_root (str): root of ``ann_file`` and ``data_prefix``.
        data_prefix (dict): ``dict(feat_path='features')``: folder of
            ``<case_id>.pt`` files.
        pipeline (list): transforms, e.g. ``LoadRegionFeatures`` then
            ``PackInputs(input_key='feats', algorithm_keys=('target',),
            meta_keys=('case_id', 'captions'))``.
        **kwargs: other :class:`mmengine.dataset.BaseDataset` arguments.
    """

    REGISTRY_BUILT = CaptionedImages.REGISTRY_BUILT  # built as there

    def __init__(self, ann_file: str, feat_dim: int,
                 patches_per_region: int = 64, num_grades: int = 6,
                 data_root: str = '', data_prefix: dict = dict(feat_path=''),
                 pipeline=(), **kwargs):
        self.feat_dim = int(feat_dim)
        self.patches_per_region = int(patches_per_region)
        self.num_grades = int(num_grades)
        super().__init__(
            ann_file=ann_file, data_root=data_root, data_prefix=data_prefix,
            pipeline=list(pipeline),
            metainfo=dict(classes=tuple(str(g) for g in range(num_grades))),
            **kwargs)

    def _check_features(self, where: str, path: str) -> None:
        if not os.path.isfile(path):
            raise InputError(_not_found(f'{where}: feature file {path}',
                                        path))
        try:
            t = torch.load(path, map_location='cpu', mmap=True,
                           weights_only=True)
        except Exception as exc:  # noqa: BLE001  (any unreadable file)
            raise InputError(f'{where}: cannot read {path} '
                             f'({type(exc).__name__})') from None
        want = (self.patches_per_region, self.feat_dim)
        if (not isinstance(t, torch.Tensor) or t.dim() != 3 or
                tuple(t.shape[1:]) != want or t.shape[0] < 1):
            shape = tuple(t.shape) if isinstance(t, torch.Tensor) else \
                type(t).__name__
            raise InputError(f'{where}: {path} has shape {shape}, expected '
                             f'[M, {want[0]}, {want[1]}] (feat_dim='
                             f'{self.feat_dim})')

    def load_data_list(self) -> List[dict]:
        path = self.ann_file
        ann = read_json_digested(path, read_json_object)
        feat_dir = self.data_prefix.get('feat_path', '')
        out = []
        for case_id, entry in ann.items():
            where = f'{path}: case "{case_id}"'
            if not isinstance(entry, dict):
                raise InputError(f'{where} is not an object')
            label, report = entry.get('label'), entry.get('report')
            grades = f'an integer grade in 0..{self.num_grades - 1}'
            if label is None:
                raise InputError(f'{where} has no label ({grades})')
            label = label_index(label, self.num_grades, where, grades)
            if not isinstance(report, str) or not report.strip():
                raise InputError(f'{where} has no report')
            feat = os.path.join(feat_dir, f'{case_id}.pt')
            self._check_features(where, feat)
            out.append(dict(feat_path=feat, case_id=str(case_id),
                            target=np.int64(label), captions=[report]))
        return out


@TRANSFORMS.register_module()
class LoadRegionFeatures(BaseTransform):
    """Load ``results['feat_path']`` (a ``.pt`` tensor) into ``results['feats']``.

    A file holding NaN or inf (in the regions kept) is refused in one line
    naming it: its loss was NaN, which in float32 turned every weight NaN
    (the evaluation then blamed a diverged model) and under AMP skipped
    the steps it was in (a nan loss in the log the only sign). Checked
    here, where the file is read anyway, not when the dataset is built
    (that reads only each file's shape).

    Args:
        max_regions (int | None): keep at most this many regions (the first
            ones; None keeps all).
    """

    def __init__(self, max_regions: Optional[int] = None):
        self.max_regions = max_regions

    def transform(self, results: dict) -> dict:
        t = torch.load(results['feat_path'], map_location='cpu',
                       weights_only=True).float()
        if self.max_regions is not None:
            t = t[:self.max_regions]
        bad = int((~torch.isfinite(t)).sum())
        if bad:
            raise InputError(
                f'{results["feat_path"]}: {bad} of its {t.numel()} feature '
                'values are NaN or inf (the loss and every metric of the run '
                'would be NaN); extract its features again')
        results['feats'] = t
        return results
