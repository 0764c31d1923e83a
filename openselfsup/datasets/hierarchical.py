"""Patient / slide / patch data for hierarchical self-supervision (HiDisc, HLSS).

Two layouts describe a dataset:

* ``layout='metadata'`` (generic): a metadata JSON ``{patient: {"class":
  name, "slides": {slide: [patch paths]}}}``, patch paths relative to
  ``data_root`` (default: the metadata's folder), and a split JSON
  ``{"train": [patients], "val": [patients]}``;
* ``layout='opensrh'``: the public OpenSRH release under ``data_root``:
  ``meta/opensrh.json`` ``{patient: {"class", "slides": {slide:
  {"tumor_patches": [...], "normal_patches": [...], ...}}}}`` and
  ``meta/train_val_split.json``; a patient of class ``normal`` uses its
  slides' ``normal_patches``, every other patient its ``tumor_patches``, and
  a slide without such patches is left out, as HiDisc / HLSS read it.

:class:`HierarchicalPatientDataset` yields one item per patient: ``S`` slides
x ``P`` patches x ``V`` augmented views (the pipeline's ``MultiView`` sets
``V``), drawing without replacement and cycling through a shuffled order when
a patient has too few (as published). :class:`HierarchicalPatchDataset`
yields single patches with their class, patient and slide (kNN evaluation).

:class:`LoadHistoPatch` reads RGB patches (PNG, TIFF, JPEG) and 2-channel
16-bit SRH TIFFs, made three-channel as OpenSRH does.
"""
import json
import logging
import os
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.dataset import BaseDataset
from mmengine.logging import print_log
from PIL import Image

from ..registry import DATASETS, TRANSFORMS
from ..utils import (InputError, Once, given_twice, is_int,
                     read_json_digested)
from .data_files import hierarchy_files, patch_root
from .list_files import CheckedIndices

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
    return _patients(_read_json(metadata), metadata, _read_json(split),
                     split, split_name, data_root, check_files)


def _patients(meta, metadata: str, spl, split: str, split_name: str,
              data_root: str, check_files: bool
              ) -> Tuple[List[dict], Tuple[str, ...]]:
    """Validate parsed generic metadata and split; see
    :func:`read_hierarchy`."""
    if not isinstance(meta, dict) or not meta:
        raise InputError(f'{metadata}: expected a non-empty object '
                         '{patient: {class, slides}}')
    root = patch_root(metadata, data_root)
    if not isinstance(spl, dict) or split_name not in spl:
        raise InputError(f'{split}: no split named {split_name!r} (has '
                         f'{sorted(spl) if isinstance(spl, dict) else "none"})')
    _warn_repeats(spl, split)
    classes = set()
    for pid, entry in meta.items():
        if not isinstance(entry, dict) or 'class' not in entry:
            raise InputError(f'{metadata}: patient {pid!r} has no "class"')
        classes.add(str(entry['class']))
    classes = tuple(sorted(classes))
    names = spl[split_name]
    if not isinstance(names, list) or not all(isinstance(p, str)
                                              for p in names):
        raise InputError(f'{split}: split {split_name!r} must be a list of '
                         f'patient names (strings), got {names!r:.80}')
    patients = []
    for pid in names:
        if pid not in meta:
            raise InputError(f'{split}: split {split_name!r} names unknown '
                             f'patient {pid!r} (not in {metadata})')
        slides = meta[pid].get('slides') or {}
        if not isinstance(slides, dict) or not slides:
            raise InputError(f'{metadata}: patient {pid!r} has no slides '
                             'with patches')
        out = []
        for sid, paths in slides.items():
            if not paths:
                raise InputError(f'{metadata}: slide {sid!r} of patient '
                                 f'{pid!r} has no patches')
            full = [os.path.join(root, p) for p in paths]
            if check_files:
                for f in full:
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
    _warn_shared(spl, split)
    return patients, classes


#: ``(split file's real path, finding)`` of each split-file warning given
#: in this process (:func:`_warn_repeats`, :func:`_warn_shared`)
_SHARED_SAID = Once()


def _warn_repeats(spl: dict, split: str) -> None:
    """One warning line, once per split file and process, when the split
    file names a patient more than once within one of its splits. The
    readers take every mention as another patient, as the published
    readers do, so the patient is drawn twice as often in training (two
    items, each the other's negative when a batch holds both) and, in kNN
    evaluation, its patches are twice in the bank (two of the ``k``
    neighbours) or in the queries (one query patient whose patches count
    twice, as the published evaluation groups them by name). Read, not
    refused (the
    published code reads such a list; :func:`balance_by_class` is the way
    to repeat patients on purpose). Every split of the file is looked at
    when any one is read, so the training set's build says so of the split
    that kNN evaluation reads later."""
    repeats = []  # (split, patient, mentions), in the file's order
    for name, pids in spl.items():
        if isinstance(pids, list):
            repeats.extend((name, group[0], len(group)) for group in
                           given_twice(p for p in pids if isinstance(p, str)))
    if not repeats:
        return
    shown = ', '.join(f'{pid} {n}x in {name!r}'
                      for name, pid, n in repeats[:3])
    finding = (f'{len(repeats)} patient(s) named more than once within one '
               f'split ({shown}{", ..." if len(repeats) > 3 else ""})')
    if not _SHARED_SAID((os.path.realpath(split), finding)):
        return
    print_log(f'{split}: {finding}: each mention is read as another patient '
              '(as the published readers do), in training and in kNN '
              'evaluation (its patches once more: one query patient, as '
              'the published evaluation groups them); name each patient '
              'once per split',
              logger='current', level=logging.WARNING)


def _warn_shared(spl: dict, split: str) -> None:
    """One warning line, once per split file and process, when the split
    file names a patient in more than one of its splits: such a patient is
    trained on and evaluated on, a leak that no accuracy shows (kNN
    evaluation counts it again between its bank and queries). Read, not
    refused. Said by the first dataset built from the file only (the
    training set, then the kNN bank and queries of
    :func:`~openselfsup.evaluation.knn.prepare_knn_data` read it again); a
    file rewritten with another finding is said again."""
    splits_of: Dict[str, List[str]] = {}  # patient: the splits naming it
    for name, pids in spl.items():
        if isinstance(pids, list):
            for pid in dict.fromkeys(p for p in pids if isinstance(p, str)):
                splits_of.setdefault(pid, []).append(name)
    shared = sorted(p for p, names in splits_of.items() if len(names) > 1)
    if not shared:
        return
    involved = [repr(n) for n in spl
                if any(n in splits_of[p] for p in shared)]
    where = (' and '.join(involved) if len(involved) == 2
             else ', '.join(involved))
    names = ', '.join(shared[:3]) + (', ...' if len(shared) > 3 else '')
    finding = (f'{len(shared)} patient(s) in more than one of its splits '
               f'({where}: {names})')
    if not _SHARED_SAID((os.path.realpath(split), finding)):
        return
    print_log(f'{split}: {finding}: a patient-level leak (a patient '
              'trained on and evaluated on); give patient-disjoint splits',
              logger='current', level=logging.WARNING)


def _read_json(path: str):
    """The value of the JSON file ``path`` (its digest kept where a
    training run will ask it:
    :func:`~openselfsup.utils.read_json_digested`)."""
    return read_json_digested(path, _load_json)


def _load_json(path: str):
    if not os.path.isfile(path):
        raise InputError(f'{path}: file not found')
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as exc:
        raise InputError(f'{path}:{exc.lineno}: invalid JSON ({exc.msg})') \
            from None


def read_opensrh(data_root: str, split_name: str, metadata: str = '',
                 split: str = '', check_files: bool = True
                 ) -> Tuple[List[dict], Tuple[str, ...]]:
    """Read an OpenSRH release (see the module docstring) like
    :func:`read_hierarchy`.

    Args:
        data_root (str): the OpenSRH folder (holds ``meta/`` and the
            patches, whose paths in the metadata are relative to it).
        split_name (str): ``'train'`` or ``'val'``.
        metadata, split (str): other metadata / split files (default: the
            release's ``meta/opensrh.json``, ``meta/train_val_split.json``).
        check_files (bool): fail on a patch path that does not exist.

    Returns:
        tuple: (patients, classes) as :func:`read_hierarchy`.

    Raises:
        InputError: missing/invalid files, a slide entry without the patch
            lists, a patient left without patches, a missing patch, an
            unknown patient or split name.
    """
    if not data_root:
        raise InputError('layout=opensrh needs data_root (the OpenSRH '
                         'folder)')
    metadata, split = hierarchy_files('opensrh', metadata, split, data_root)
    meta = _read_json(metadata)
    if not isinstance(meta, dict) or not meta:
        raise InputError(f'{metadata}: expected a non-empty object '
                         '{patient: {class, slides}}')
    generic: Dict[str, dict] = {}
    for pid, entry in meta.items():
        if not isinstance(entry, dict) or 'class' not in entry:
            raise InputError(f'{metadata}: patient {pid!r} has no "class"')
        key = ('normal_patches' if entry['class'] == 'normal'
               else 'tumor_patches')
        slides = {}
        for sid, sl in (entry.get('slides') or {}).items():
            if not isinstance(sl, dict) or key not in sl:
                raise InputError(f'{metadata}: slide {sid!r} of patient '
                                 f'{pid!r} has no "{key}"')
            if sl[key]:
                slides[sid] = sl[key]
        generic[pid] = {'class': entry['class'], 'slides': slides}
    spl = _read_json(split)
    if isinstance(spl, dict) and isinstance(spl.get(split_name), list):
        empty = [p for p in spl[split_name]
                 if p in generic and not generic[p]['slides']]
        if empty:  # HiDisc's OpenSRH readers find no patch of these
            print_log(f'{metadata}: {len(empty)} patient(s) of split '
                      f'{split_name!r} have no patches of their class and '
                      f'are left out ({", ".join(empty[:3])})',
                      logger='current', level=logging.WARNING)
            spl = dict(spl, **{split_name: [p for p in spl[split_name]
                                            if p not in empty]})
    return _patients(generic, metadata, spl, split, split_name, data_root,
                     check_files)


def read_patients(layout: str, split_name: str, metadata: str = '',
                  split: str = '', data_root: str = '',
                  check_files: bool = True
                  ) -> Tuple[List[dict], Tuple[str, ...]]:
    """Patients of one split in either layout (``'metadata'``,
    ``'opensrh'``); see :func:`read_hierarchy` and :func:`read_opensrh`."""
    if layout == 'opensrh':
        return read_opensrh(data_root, split_name, metadata, split,
                            check_files)
    if layout != 'metadata':
        raise InputError(f'layout must be metadata|opensrh, got {layout!r}')
    if not metadata or not split:
        raise InputError('layout=metadata needs the metadata and split '
                         'JSON files')
    metadata, split = hierarchy_files(layout, metadata, split, data_root)
    return read_hierarchy(metadata, split, split_name, data_root,
                          check_files)


def _build_pipeline(pipeline: Sequence) -> list:
    """Build transform configs with this project's registry (so datasets work
    outside a runner too, without a default scope)."""
    return [TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in pipeline]


def draw_with_reuse(rng: np.random.Generator, n_available: int,
                    n_wanted: int) -> np.ndarray:
    """Pick ``n_wanted`` indices of ``range(n_available)`` as HiDisc does:
    a random permutation, repeated as often as needed and cut to length
    (without replacement when there are enough; every index once before any
    twice otherwise)."""
    order = rng.permutation(n_available)
    return np.tile(order, -(-n_wanted // n_available))[:n_wanted]


def balance_by_class(patients: List[dict], rng: np.random.Generator
                     ) -> List[dict]:
    """Repeat patients of smaller classes until every class has as many
    patients as the largest, as HiDisc's ``balance_study_per_class``: each
    class's patients in one random order, repeated and cut to length."""
    by_class: Dict[int, List[dict]] = {}
    for p in patients:
        by_class.setdefault(p['label'], []).append(p)
    most = max(len(v) for v in by_class.values())
    out = []
    for label in sorted(by_class):
        group = by_class[label]
        out.extend(group[i] for i in draw_with_reuse(rng, len(group), most))
    return out


def _split_source(dataset) -> str:
    """What a hierarchical dataset's refusals name: its class, split and
    the split (or metadata) file."""
    return (f'{type(dataset).__name__} {dataset.split_name!r} of '
            f'{dataset.split or dataset.metadata or dataset.data_root}')


@DATASETS.register_module()
class HierarchicalPatientDataset(CheckedIndices, BaseDataset):
    """One item per patient: ``S x P x V`` views of its patches.

    Args:
        metadata (str): metadata JSON (layout ``'metadata'``; with
            ``'opensrh'`` default ``data_root/meta/opensrh.json``).
        split (str): split JSON (``'opensrh'``: default
            ``data_root/meta/train_val_split.json``).
        split_name (str): which split (``'train'``). Defaults to 'train'.
        num_slides (int): S, slides per patient. Defaults to 2.
        num_patches (int): P, patches per slide. Defaults to 2.
        pipeline (list[dict]): per-patch transforms: a loader, a
            ``MultiView(num_views=V, ...)`` and ``PackInputs``.
        data_root (str): prefix of patch paths (default: metadata folder);
            the OpenSRH folder for ``layout='opensrh'``.
        layout (str): ``'metadata'`` or ``'opensrh'`` (module docstring).
        class_balance (bool): repeat patients so every class has as many as
            the largest (HiDisc's ``balance_study_per_class``, on in the
            paper configs). Defaults to False.
        seed (int | None): seed of slide/patch draws and of class
            balancing. None (default): 0, here and in any build outside a
            training run (a script, ``knn_eval.py``), the same patients
            every time; a training run gives it its own seed, rank 0's
            ``randomness.seed`` (or the seed MMEngine drew where that is
            None), alike on every process, where the config leaves it
            unset, in each of its loaders (validation and test too: the
            published code draws from the run's seed), and a resumed run
            the seed its checkpoint's training set drew with
            (:data:`RUN_SEEDED`). Kept in ``self.seed`` as drawn with.
        check_files (bool): check every patch exists at build time.

    Item: ``{'inputs': [S*P*V tensors], 'data_samples': DataSample}`` with
    metainfo ``hierarchy=(S, P, V)``, ``patient``, ``gt_label``. View
    ``j = (s * P + p) * V + v``.
    """

    #: the pipeline is built by :func:`_build_pipeline`, through the
    #: project's transform registry in the run's default scope
    #: (``config.REGISTRY_BUILT``: what the scope check follows)
    REGISTRY_BUILT = {'pipeline': 'openselfsup'}
    #: the argument the training run gives its seed where the config
    #: leaves it unset (``utils.run_seed.RUN_SEEDED``: what
    #: ``engine.runner.AtomicRunner.build_dataloader`` follows)
    RUN_SEEDED = 'seed'

    def __init__(self, metadata: str = '', split: str = '',
                 split_name: str = 'train', num_slides: int = 2,
                 num_patches: int = 2, pipeline: Sequence = (),
                 data_root: str = '', layout: str = 'metadata',
                 class_balance: bool = False, seed: Optional[int] = None,
                 check_files: bool = True, **kwargs):
        for key, value, per in (('num_slides', num_slides, 'patient'),
                                ('num_patches', num_patches, 'slide')):
            # 0 was an AttributeError at the first item, a negative count a
            # numpy ValueError, a float a TypeError, True taken as 1
            if not is_int(value) or value < 1:
                raise InputError(f'{type(self).__name__}: {key}={value!r}: '
                                 f'use a positive integer (drawn per {per}, '
                                 're-used where there are fewer)')
        self.metadata, self.split, self.split_name = metadata, split, split_name
        self.layout = layout
        self.num_slides, self.num_patches = num_slides, num_patches
        self.class_balance = class_balance
        self.seed = 0 if seed is None else seed
        self.check_files = check_files
        self._draws: Dict[int, int] = {}
        super().__init__(ann_file='', data_root=data_root,
                         pipeline=_build_pipeline(pipeline),
                         serialize_data=False, **kwargs)

    def indices_source(self) -> str:
        return _split_source(self)

    def load_data_list(self) -> List[dict]:
        patients, classes = read_patients(
            self.layout, self.split_name, self.metadata, self.split,
            self.data_root, self.check_files)
        self._metainfo['classes'] = classes
        if self.class_balance:
            patients = balance_by_class(
                patients, np.random.default_rng([self.seed, 1]))
        return patients

    def patient_names(self) -> List[str]:
        """The patients this dataset trains on, as the split names them,
        each once (a class-balanced patient is repeated in the items)."""
        return list(dict.fromkeys(self.get_data_info(i)['patient']
                                  for i in range(len(self))))

    def _rng(self, idx: int) -> np.random.Generator:
        """Generator for one draw: seed, item, this process's count of its
        draws of the item and the DataLoader worker seed (each worker's own,
        from the run's seed). The worker seed is new every epoch only
        without ``persistent_workers``; with them (the HLSS configs) a
        worker keeps its seed for the whole run, and it is the draw count
        that makes each of its draws of an item differ from the last."""
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
class HierarchicalPatchDataset(CheckedIndices, BaseDataset):
    """Every patch of a split, with class, patient and slide (kNN eval).

    Args:
        metadata (str): metadata JSON (see :class:`HierarchicalPatientDataset`
            for the OpenSRH defaults).
        split (str): split JSON.
        split_name (str): which split. Defaults to 'val'.
        pipeline (list[dict]): loader, resize, ``PackInputs``.
        data_root (str): prefix of patch paths (default: metadata folder);
            the OpenSRH folder for ``layout='opensrh'``.
        layout (str): ``'metadata'`` or ``'opensrh'``.
        check_files (bool): check every patch exists at build time.

    ``data_list`` entries: ``img_path``, ``gt_label``, ``patient_id`` and
    ``slide_id`` (ints, one per patient name and per (patient, slide) name
    within the split, so a patient named twice is one kNN query patient),
    ``patient``, ``slide``.
    """

    REGISTRY_BUILT = HierarchicalPatientDataset.REGISTRY_BUILT  # as there

    def __init__(self, metadata: str = '', split: str = '',
                 split_name: str = 'val', pipeline: Sequence = (),
                 data_root: str = '', layout: str = 'metadata',
                 check_files: bool = True, **kwargs):
        self.metadata, self.split, self.split_name = metadata, split, split_name
        self.layout = layout
        self.check_files = check_files
        super().__init__(ann_file='', data_root=data_root,
                         pipeline=_build_pipeline(pipeline), **kwargs)

    def indices_source(self) -> str:
        return _split_source(self)

    def load_data_list(self) -> List[dict]:
        patients, classes = read_patients(
            self.layout, self.split_name, self.metadata, self.split,
            self.data_root, self.check_files)
        self._metainfo['classes'] = classes
        # ids by name, as the published evaluation groups patches by their
        # patient's and slide's names: a patient the split names twice is
        # one query patient (one slide each) whose patches count twice
        patient_ids: Dict[str, int] = {}
        slide_ids: Dict[Tuple[str, str], int] = {}
        out = []
        for pat in patients:
            pi = patient_ids.setdefault(pat['patient'], len(patient_ids))
            for sid, paths in pat['slides']:
                si = slide_ids.setdefault((pat['patient'], sid),
                                          len(slide_ids))
                for path in paths:
                    out.append(dict(img_path=path, gt_label=pat['label'],
                                    patient_id=pi, slide_id=si,
                                    patient=pat['patient'], slide=sid))
        return out

    def hierarchy_arrays(self) -> Dict[str, np.ndarray]:
        """``label``, ``patient_id``, ``slide_id`` arrays in item order,
        ``patient``: each item's patient name (as the split names it), and
        ``path``: each item's patch file, all from one walk over the
        items."""
        keys = ('gt_label', 'patient_id', 'slide_id', 'patient', 'img_path')
        cols = {k: [] for k in keys}
        for i in range(len(self)):
            info = self.get_data_info(i)
            for k in keys:
                cols[k].append(info[k])
        ints = {k: np.array(cols[k], np.int64) for k in keys[:3]}
        return dict(label=ints['gt_label'], patient_id=ints['patient_id'],
                    slide_id=ints['slide_id'], patient=cols['patient'],
                    path=cols['img_path'])
