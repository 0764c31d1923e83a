"""Patient / slide / patch data for hierarchical self-supervision (HiDisc, HLSS).

Two JSON files describe a dataset:

* metadata: ``{patient: {"class": name, "slides": {slide: [patch paths]}}}``,
  patch paths relative to ``data_root`` (default: the metadata's folder);
* split: ``{"train": [patients], "val": [patients]}``.

:class:`HierarchicalPatientDataset` yields one item per patient: ``S`` slides
x ``P`` patches x ``V`` augmented views (the pipeline's ``MultiView`` sets
``V``), drawing without replacement and re-using slides / patches when a
patient has too few. :class:`HierarchicalPatchDataset` yields single patches
with their class, patient and slide (kNN evaluation).

:class:`LoadHistoPatch` reads RGB patches (PNG, TIFF, JPEG) and 2-channel
16-bit SRH TIFFs, made three-channel as OpenSRH does.
"""
import json
import os
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.dataset import BaseDataset
from PIL import Image

from ..registry import DATASETS, TRANSFORMS
from ..utils import InputError

#: OpenSRH adds this to CH3 - CH2 so that the difference stays positive.
SRH_SUBTRACTED_BASE = 5000.0


def read_srh_tiff(path: str) -> np.ndarray:
    """A 2-channel 16-bit SRH TIFF as a float32 ``[H, W, 3]`` image in [0, 255].

    Channels (as OpenSRH): ``(CH3 - CH2 + 5000, CH2, CH3)`` divided by 65536,
    clipped to [0, 1], then scaled by 255 so that RGB normalisation
    constants apply.
    """
    import tifffile
    arr = np.asarray(tifffile.imread(path), dtype=np.float32)
    if arr.ndim == 3 and arr.shape[0] == 2:
        ch2, ch3 = arr[0], arr[1]
    elif arr.ndim == 3 and arr.shape[-1] == 2:
        ch2, ch3 = arr[..., 0], arr[..., 1]
    else:
        raise InputError(f'{path}: SRH TIFF must have 2 channels, got shape '
                         f'{arr.shape}')
    img = np.stack([ch3 - ch2 + SRH_SUBTRACTED_BASE, ch2, ch3], -1) / 65536.
    return (np.clip(img, 0, 1) * 255).astype(np.float32)


def read_rgb(path: str) -> np.ndarray:
    """An RGB patch (any PIL format) as uint8 ``[H, W, 3]``."""
    with Image.open(path) as im:
        return np.array(im.convert('RGB'))


@TRANSFORMS.register_module()
class LoadHistoPatch(BaseTransform):
    """Load ``results['img_path']`` into ``results['img']`` (RGB order).

    Args:
        mode (str): ``'rgb'`` (PNG/TIFF/JPEG through PIL, uint8) or ``'srh'``
            (2-channel 16-bit TIFF, float32, see :func:`read_srh_tiff`).
    """

    def __init__(self, mode: str = 'rgb'):
        if mode not in ('rgb', 'srh'):
            raise ValueError(f'LoadHistoPatch mode must be rgb|srh, got {mode}')
        self.mode = mode

    def transform(self, results: dict) -> dict:
        path = results['img_path']
        img = read_srh_tiff(path) if self.mode == 'srh' else read_rgb(path)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results


def read_hierarchy(metadata: str, split: str, split_name: str,
                   data_root: str = '', check_files: bool = True
                   ) -> Tuple[List[dict], Tuple[str, ...]]:
    """Read and validate the metadata and split files.

    Args:
        metadata (str): metadata JSON path.
        split (str): split JSON path.
        split_name (str): key of the split to use (``'train'``, ``'val'``).
        data_root (str): prefix of the patch paths (default: the metadata's
            folder).
        check_files (bool): fail on a patch path that does not exist.

    Returns:
        tuple: (patients, classes). ``patients`` is a list of
        ``{'patient', 'label', 'slides': [(slide, [abs paths])]}`` in split
        order; ``classes`` are the sorted class names of the whole metadata
        (so labels agree between splits).

    Raises:
        InputError: missing/invalid file, a patient without slides or a slide
            without patches, a missing patch, a split naming an unknown
            patient or an unknown split name.
    """
    meta = _read_json(metadata)
    spl = _read_json(split)
    if not isinstance(meta, dict) or not meta:
        raise InputError(f'{metadata}: expected a non-empty object '
                         '{patient: {class, slides}}')
    root = data_root or os.path.dirname(os.path.abspath(metadata))
    if not isinstance(spl, dict) or split_name not in spl:
        raise InputError(f'{split}: no split named {split_name!r} (has '
                         f'{sorted(spl) if isinstance(spl, dict) else "none"})')
    classes = set()
    for pid, entry in meta.items():
        if not isinstance(entry, dict) or 'class' not in entry:
            raise InputError(f'{metadata}: patient {pid!r} has no "class"')
        classes.add(str(entry['class']))
    classes = tuple(sorted(classes))
    patients = []
    for pid in spl[split_name]:
        if pid not in meta:
            raise InputError(f'{split}: split {split_name!r} names unknown '
                             f'patient {pid!r} (not in {metadata})')
        slides = meta[pid].get('slides') or {}
        if not isinstance(slides, dict) or not slides:
            raise InputError(f'{metadata}: patient {pid!r} has no slides')
        out = []
        for sid, paths in slides.items():
            if not paths:
                raise InputError(f'{metadata}: slide {sid!r} of patient '
                                 f'{pid!r} has no patches')
            full = [os.path.join(root, p) for p in paths]
            if check_files:
                for rel, f in zip(paths, full):
                    if not os.path.isfile(f):
                        raise InputError(
                            f'{metadata}: patient {pid!r} slide {sid!r} '
                            f'names a missing patch {f}')
            out.append((sid, full))
        patients.append(dict(patient=pid,
                             label=classes.index(str(meta[pid]['class'])),
                             slides=out))
    if not patients:
        raise InputError(f'{split}: split {split_name!r} is empty')
    return patients, classes


def _read_json(path: str):
    if not os.path.isfile(path):
        raise InputError(f'{path}: file not found')
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as exc:
        raise InputError(f'{path}:{exc.lineno}: invalid JSON ({exc.msg})') \
            from None


def _build_pipeline(pipeline: Sequence) -> list:
    """Build transform configs with this project's registry (so datasets work
    outside a runner too, without a default scope)."""
    return [TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in pipeline]


def draw_with_reuse(rng: np.random.Generator, n_available: int,
                    n_wanted: int) -> np.ndarray:
    """Pick ``n_wanted`` indices of ``range(n_available)``.

    Without replacement when there are enough; otherwise every index once
    (shuffled) and the rest drawn again with replacement.
    """
    if n_available >= n_wanted:
        return rng.choice(n_available, n_wanted, replace=False)
    extra = rng.choice(n_available, n_wanted - n_available, replace=True)
    return np.concatenate([rng.permutation(n_available), extra])


def balance_by_class(patients: List[dict], rng: np.random.Generator
                     ) -> List[dict]:
    """Repeat patients of smaller classes until every class has as many
    patients as the largest (each patient of a class used once before any
    twice)."""
    by_class: Dict[int, List[dict]] = {}
    for p in patients:
        by_class.setdefault(p['label'], []).append(p)
    most = max(len(v) for v in by_class.values())
    out = []
    for label in sorted(by_class):
        group = by_class[label]
        idx = np.concatenate([rng.permutation(len(group))
                              for _ in range(-(-most // len(group)))])[:most]
        out.extend(group[i] for i in idx)
    return out


@DATASETS.register_module()
class HierarchicalPatientDataset(BaseDataset):
    """One item per patient: ``S x P x V`` views of its patches.

    Args:
        metadata (str): metadata JSON.
        split (str): split JSON.
        split_name (str): which split (``'train'``). Defaults to 'train'.
        num_slides (int): S, slides per patient. Defaults to 2.
        num_patches (int): P, patches per slide. Defaults to 2.
        pipeline (list[dict]): per-patch transforms: a loader, a
            ``MultiView(num_views=V, ...)`` and ``PackInputs``.
        data_root (str): prefix of patch paths (default: metadata folder).
        class_balance (bool): repeat patients so every class has as many as
            the largest. Defaults to False.
        seed (int): seed of slide/patch draws and of class balancing.
        check_files (bool): check every patch exists at build time.

    Item: ``{'inputs': [S*P*V tensors], 'data_samples': DataSample}`` with
    metainfo ``hierarchy=(S, P, V)``, ``patient``, ``gt_label``. View
    ``j = (s * P + p) * V + v``.
    """

    def __init__(self, metadata: str, split: str, split_name: str = 'train',
                 num_slides: int = 2, num_patches: int = 2,
                 pipeline: Sequence = (), data_root: str = '',
                 class_balance: bool = False, seed: int = 0,
                 check_files: bool = True, **kwargs):
        self.metadata, self.split, self.split_name = metadata, split, split_name
        self.num_slides, self.num_patches = num_slides, num_patches
        self.class_balance, self.seed = class_balance, seed
        self.check_files = check_files
        self._draws: Dict[int, int] = {}
        super().__init__(ann_file='', data_root=data_root,
                         pipeline=_build_pipeline(pipeline),
                         serialize_data=False, **kwargs)

    def load_data_list(self) -> List[dict]:
        patients, classes = read_hierarchy(
            self.metadata, self.split, self.split_name, self.data_root,
            self.check_files)
        self._metainfo['classes'] = classes
        if self.class_balance:
            patients = balance_by_class(
                patients, np.random.default_rng([self.seed, 1]))
        return patients

    def _rng(self, idx: int) -> np.random.Generator:
        """Generator for one draw: seed, item, draw count and the DataLoader
        worker seed (which changes every epoch and follows the run's seed)."""
        n = self._draws.get(idx, 0)
        self._draws[idx] = n + 1
        info = torch.utils.data.get_worker_info()
        worker = 0 if info is None else int(info.seed) % (2 ** 32)
        return np.random.default_rng([self.seed, idx, n, worker])

    def sample_paths(self, idx: int) -> List[List[str]]:
        """``S`` lists of ``P`` patch paths for patient ``idx``."""
        rng = self._rng(idx)
        slides = self.get_data_info(idx)['slides']
        chosen = []
        for si in draw_with_reuse(rng, len(slides), self.num_slides):
            paths = slides[si][1]
            chosen.append([paths[pi] for pi in draw_with_reuse(
                rng, len(paths), self.num_patches)])
        return chosen

    def prepare_data(self, idx: int) -> dict:
        info = self.get_data_info(idx)
        views, sample, n_views = [], None, None
        for slide_paths in self.sample_paths(idx):
            for path in slide_paths:
                out = self.pipeline(dict(img_path=path))
                inp = out['inputs']
                inp = list(inp) if isinstance(inp, (list, tuple)) else [inp]
                if n_views is None:
                    n_views, sample = len(inp), out['data_samples']
                views.extend(inp)
        sample.set_metainfo(dict(
            hierarchy=(self.num_slides, self.num_patches, n_views),
            patient=info['patient']))
        sample.set_gt_label(info['label'])
        return dict(inputs=views, data_samples=sample)


@DATASETS.register_module()
class HierarchicalPatchDataset(BaseDataset):
    """Every patch of a split, with class, patient and slide (kNN eval).

    Args:
        metadata (str): metadata JSON.
        split (str): split JSON.
        split_name (str): which split. Defaults to 'val'.
        pipeline (list[dict]): loader, resize/crop, ``PackInputs``.
        data_root (str): prefix of patch paths (default: metadata folder).
        check_files (bool): check every patch exists at build time.

    ``data_list`` entries: ``img_path``, ``gt_label``, ``patient_id`` and
    ``slide_id`` (ints, unique within the split), ``patient``, ``slide``.
    """

    def __init__(self, metadata: str, split: str, split_name: str = 'val',
                 pipeline: Sequence = (), data_root: str = '',
                 check_files: bool = True, **kwargs):
        self.metadata, self.split, self.split_name = metadata, split, split_name
        self.check_files = check_files
        super().__init__(ann_file='', data_root=data_root,
                         pipeline=_build_pipeline(pipeline), **kwargs)

    def load_data_list(self) -> List[dict]:
        patients, classes = read_hierarchy(
            self.metadata, self.split, self.split_name, self.data_root,
            self.check_files)
        self._metainfo['classes'] = classes
        out, slide_id = [], 0
        for pi, pat in enumerate(patients):
            for sid, paths in pat['slides']:
                for path in paths:
                    out.append(dict(img_path=path, gt_label=pat['label'],
                                    patient_id=pi, slide_id=slide_id,
                                    patient=pat['patient'], slide=sid))
                slide_id += 1
        return out

    def hierarchy_arrays(self) -> Dict[str, np.ndarray]:
        """``label``, ``patient_id``, ``slide_id`` arrays in item order."""
        keys = ('gt_label', 'patient_id', 'slide_id')
        cols = {k: np.array([self.get_data_info(i)[k]
                             for i in range(len(self))], np.int64)
                for k in keys}
        return dict(label=cols['gt_label'], patient_id=cols['patient_id'],
                    slide_id=cols['slide_id'])
