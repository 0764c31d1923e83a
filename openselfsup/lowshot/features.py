"""Load extracted features, labels and image metadata, validated once here.

Files (see :mod:`openselfsup.lowshot.paths`), written by
``python wsi_workdir/extract.py`` (or ``import_features.py``):

- ``extracted_feats/<model>/<NAME>.npy``: float32 ``[N, D]`` features, any D.
- ``extracted_feats/<model>/<NAME>.json``: provenance; the reader uses
  ``features_sha1`` (the features it describes), ``labels_sha1`` (the labels
  they were extracted with) and ``normalised``.
- ``extracted_feats/<NAME>_labels.npy``: integer ``[N]`` labels.
- ``extracted_feats/<NAME>_meta.json``: ``paths`` (N image paths relative to
  the dataset's data root, in feature order; the first path component is
  the slide id for PAIP19, used by ``out_homo``), ``classes`` (names in
  label order), ``list_file`` and ``list_sha1``.

Every problem is an :class:`~openselfsup.utils.InputError` with one line that
names the file, and for a missing or stale file the command that remakes it.

Normalisation: the published protocol L2-normalises every feature. A set
counts as normalised when all its rows have unit norm (checked on load, and
against its provenance when it has one); a run refuses to mix normalised and
raw sets, and sets whose provenance names different encoders
(:func:`check_same_kind`); a run refuses support and query sets whose
meta JSONs and provenance name one image file (:func:`check_disjoint`).
"""
import json
import math
import os
import re
import shlex
from dataclasses import dataclass, field
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

import numpy as np

from ..classes import split_model_name
from ..utils import InputError, array_sha1, check_finite, load_json, load_npy
from ..utils.checkpoint_files import (FOLDER_CONFIG, hub_folder_files,
                                      is_random_init, random_init_seed)
from ..utils.fingerprint import SIZE_ARGUMENTS, file_sha256_kept
from . import paths
from .paths import joined, printed, script

#: tolerance on ``| ||x|| - 1 |`` for a row to count as unit norm
UNIT_NORM_ATOL = 1e-3


#: ``checkpoint_kind`` of the provenance ``import_features.py`` writes
IMPORTED = 'imported features'


def _hint(name: str, out: str, workdir: Optional[str] = None,
          model: Optional[str] = None, own=None) -> str:
    """The command that makes feature set ``name`` at ``out`` (as given
    in the current folder, :func:`~.paths.printed`): extraction,
    or the import when ``model``'s other sets in ``workdir`` were imported
    (it has no checkpoint to extract from); for ``NCT_aug`` the copies'
    extraction (:func:`copies_way`, of the encoder a set beside it
    records: it named extract.py without ``--aug_times``, one pass over
    the list, which the ablation refuses as no copies). Its images: those
    ``own``, the set's own provenance, records (features that differ from
    it are made again from them) where the sets beside it record none
    or the same folder, else those the sets beside it record
    (:func:`_sibling_root`), else the ``DATA_ROOT`` the user fills in
    (:func:`_images_flags`). Its encoder and settings: those ``own``
    records (:func:`_encoder_flags`: its checkpoint or its seeded random
    initialisation, its ``--cfg-options``; it printed ``--pretrained
    CKPT``, which pasted failed or, filled, extracted other weights) where
    it is sure to be the set's (:func:`_encoder_doubt`,
    :func:`_recorded_weights`: else a placeholder and why, review r153),
    or its import where ``own`` records imported features; ``--pretrained
    CKPT`` where there is no ``own``."""
    if name == 'NCT_aug':  # copies (--aug_times), never one pass
        return copies_way(out)
    # the model's other JSONs, each read once, and only here: called where
    # a line names the command, never on a load that finds its set
    jsons = _model_jsons(out)
    # a missing set's own JSON, where it is left, records its images too
    own = own if isinstance(own, dict) else jsons.get(name)
    root = _sibling_root(out, name, jsons, own)
    recorded = isinstance(own, dict)
    recorded_in = _json_of(out) if recorded else None
    imported = [p for p in jsons.values()
                if p.get('checkpoint_kind') == IMPORTED]
    if recorded and own.get('checkpoint_kind') == IMPORTED or \
            model is not None and imported:
        # its rows as the set's own JSON records them, else as the
        # imported set beside it the import is named after (r158: dropped
        # here, kept in _write_again's line)
        return _import_command(out, name.lower(), own, root, recorded_in,
                               own if recorded else imported[0])
    return extract_command(out, name, own if recorded else None,
                           recorded_in, own, root, jsons)


def _model_jsons(out: str) -> Dict[str, Dict]:
    """``{set name: provenance}`` of the JSONs of the sets in the model
    folder of ``out`` (``extracted_feats/<model>/``), each read once; one
    missing or unreadable is left out (judged where its set is loaded)."""
    found = {}
    for other in paths.FEATURE_NAMES:
        try:
            with open(_json_of(os.path.join(os.path.dirname(out),
                                            other + '.npy'))) as f:
                prov = json.load(f)
        except (OSError, ValueError):
            continue
        if isinstance(prov, dict):
            found[other] = prov
    return found


def _check_name(name: str) -> None:
    if name not in paths.FEATURE_NAMES:
        raise InputError(f'unknown feature set {name!r}; expected one of '
                         f'{", ".join(paths.FEATURE_NAMES)}')


def _load_array(path: str, what: str, hint: Callable[[], str],
                others: Callable[[], str] = str,
                workdir: Optional[str] = None,
                first: Callable[[], str] = str) -> np.ndarray:
    """``path`` read by :func:`load_npy`; where it is missing or unreadable,
    one line with the command that makes it, ``hint()``, and ``others()``
    (both called only then: the hint may read the provenance JSONs of the
    model's other sets, and every run loads several sets); where the
    ``workdir`` it lies in is missing, its name close to a folder beside
    it, that line instead (:func:`~.paths.check_workdir_there`: the
    command would have written into a misspelt one), else the workdirs
    beside it at the end (:func:`~.paths.workdirs_beside_note`); ``first()``: what the line says
    before the command (:func:`_close_model`)."""
    if not os.path.exists(path):
        if workdir is not None:
            paths.check_workdir_there(workdir)
        raise InputError(f'{what} not found: {path} ({first()}'
                         f'{way_words("make it with: ", hint())})'
                         + others() + (paths.workdirs_beside_note(workdir)
                                       if workdir is not None else ''))
    try:
        return load_npy(path, what)
    except InputError as exc:
        raise InputError(f'{exc}; '
                         f'{way_words("make it again with: ", hint())}'
                         ) from None


def way_words(lead: str, way: str, other: str = '') -> str:
    """``way``, the way to make a set, after ``lead`` (``make it with:``)
    where it is a command; a way that is none (:func:`no_library_copies`)
    after ``other``."""
    return f'{other}{way}' if way == no_library_copies() \
        else f'{lead}{way}'


def _close_model(workdir: str, model: str) -> str:
    """``--model cpl: did you mean clp?; `` where ``model`` has no folder
    of features in ``workdir`` and another model's folder is close to its
    name, else ``''``: said first in the line of features not found,
    which named the extraction into the misspelt folder and then every
    model of the workdir (a long line), without the close one."""
    from ..utils.io import close_entry
    folder = os.path.join(workdir, 'extracted_feats', model)
    if os.path.isdir(folder):
        return ''
    guess = close_entry(folder, os.path.isdir, cutoff=0.6, as_name=True)
    return f'--model {model}: {guess}; ' if guess else ''


def _other_models(workdir: str, model: str) -> str:
    """For features not found: when ``model`` has no folder of features,
    the models that have one (a misspelt ``--model``), or that the
    workdir has none (a wrong ``--workdir``); for a ``<family>_wo_<c>``
    model, the sweep's template where the workdir has ``<family>`` (an
    encoder of all classes), else which of them held out the same
    classes (``cpl_wo_78``, ablation.sh's ``MODELS=cpl``: ``clp_wo_78``),
    where they are not all such."""
    root = os.path.join(workdir, 'extracted_feats')
    if os.path.isdir(os.path.join(root, model)):
        return ''
    models = sorted(d for d in os.listdir(root)
                    if os.path.isdir(os.path.join(root, d))) \
        if os.path.isdir(root) else []
    if not models:
        return (f'; {workdir} holds no features of any model'
                + (paths.workdir_nearby(workdir, 'extracted_feats',
                                        'features') or ' (--workdir?)'))
    out = f'; models with features in {root}: {", ".join(models)}'
    base, held = split_model_name(model)
    if held is None:
        return out
    if base in models:
        # the sweep's default template on an encoder of all classes
        out += (f' ({base}: an encoder of all classes; sweep.py '
                "--model_template '{model}' tests it on every novel class)")
        return out
    # a misspelt family of a held-out model (ablation.sh's MODELS=cpl,
    # read as cpl_wo_78): the models whose encoder held out the same
    same = [m for m in models if split_model_name(m)[1] == held]
    if len(same) < len(models):
        out += (f'; of these, the encoders without {held} (as {model}): '
                f'{", ".join(same) or "none"}')
    return out


def load_labels(workdir: str, name: str, model: str = '<model>') -> np.ndarray:
    """Labels of feature set ``name``, int64 ``[N]``.

    Args:
        workdir (str): the low-shot work directory.
        name (str): one of :data:`paths.FEATURE_NAMES`.
        model (str): used only in the hint of the error message.
    """
    _check_name(name)
    path = paths.labels_path(workdir, name)
    labels = _load_array(path, 'labels', lambda: _hint(
        name, paths.features_path(workdir, model, name)),
        lambda: '' if os.path.isdir(os.path.dirname(path)) else
        paths.workdir_nearby(workdir, 'extracted_feats', 'features'),
        workdir)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise InputError(f'{path}: labels must be a 1-d integer array, got '
                         f'{labels.dtype} {list(labels.shape)}')
    if labels.size and labels.min() < 0:
        raise InputError(f'{path}: negative label {int(labels.min())}')
    return labels.astype(np.int64)


def unit_norm(features: np.ndarray) -> bool:
    """Whether every row has unit L2 norm (within :data:`UNIT_NORM_ATOL`)."""
    if features.size == 0:
        return False
    norms = np.sqrt(np.einsum('ij,ij->i', features, features,
                              dtype=np.float64))
    return bool(np.all(np.abs(norms - 1.0) <= UNIT_NORM_ATOL))


@dataclass
class FeatureSet:
    """Features and labels of one ``(model, NAME)``.

    Attributes:
        model (str): the model name.
        name (str): feature set name, e.g. ``'NCT_train'``.
        features (np.ndarray): float32 ``[N, D]``.
        labels (np.ndarray): int64 ``[N]``.
        features_path (str): where the features came from.
        labels_path (str): where the labels came from.
        normalised (bool): every row has unit L2 norm.
        provenance (dict | None): the provenance JSON, if any.
    """
    model: str
    name: str
    features: np.ndarray
    labels: np.ndarray
    features_path: str
    labels_path: str
    normalised: bool
    provenance: Optional[Dict] = None
    _digests: Dict = field(default_factory=dict, repr=False)

    @property
    def dim(self) -> int:
        return int(self.features.shape[1])

    @property
    def features_sha1(self) -> str:
        if 'features' not in self._digests:
            self._digests['features'] = array_sha1(self.features)
        return self._digests['features']

    @property
    def labels_sha1(self) -> str:
        if 'labels' not in self._digests:
            self._digests['labels'] = array_sha1(self.labels)
        return self._digests['labels']

    def identity(self) -> Dict:
        """What a result records of these features: paths, shapes, digests,
        what made them (:func:`provenance_extraction`, None when unknown),
        normalisation."""
        return {'features': {'path': os.path.abspath(self.features_path),
                             'shape': list(self.features.shape),
                             'sha1': self.features_sha1,
                             'extraction': provenance_extraction(
                                 self.provenance)},
                'labels': {'path': os.path.abspath(self.labels_path),
                           'shape': list(self.labels.shape),
                           'sha1': self.labels_sha1},
                'normalised': self.normalised}


def _check_provenance(fs: FeatureSet, workdir: str) -> None:
    """Compare the provenance JSON with the files in hand."""
    prov = fs.provenance
    if not isinstance(prov, dict):
        raise InputError(f'{paths.provenance_path(workdir, fs.model, fs.name)}'
                         ': provenance must be a JSON object')
    def remake() -> str:  # from the images it records, made where said
        return _hint(fs.name, fs.features_path, own=prov)
    want = prov.get('features_sha1')
    if want and want != fs.features_sha1:
        raise InputError(f'{fs.features_path}: features differ from the ones '
                         'its provenance JSON describes (changed since '
                         f'extraction?); make them again with: {remake()}')
    want = prov.get('labels_sha1')
    if want and want != fs.labels_sha1:
        raise InputError(f'{fs.labels_path} has changed since '
                         f'{fs.features_path} was extracted (another list '
                         f'was extracted into this workdir?); make the '
                         f'features again with: {remake()}')
    claim = prov.get('normalised')
    if claim is not None and bool(claim) != fs.normalised:
        state = 'unit-norm' if fs.normalised else 'not unit-norm'
        raise InputError(f'{fs.features_path}: provenance says normalised='
                         f'{bool(claim)} but the rows are {state}')


def load_features(workdir: str, model: str, name: str) -> FeatureSet:
    """Load and validate features + labels of ``(model, name)``.

    Args:
        workdir (str): the low-shot work directory.
        model (str): model name, e.g. ``'clp'`` or ``'clp_wo_7'``.
        name (str): one of :data:`paths.FEATURE_NAMES`.

    Returns:
        FeatureSet: float32 ``[N, D]`` features and int64 ``[N]`` labels.

    Raises:
        InputError: missing or unreadable file (with the command that makes
            it), not a 2-d float array, NaN or inf, labels of another length,
            or a provenance JSON that does not describe these files.
    """
    _check_name(name)
    fpath = paths.features_path(workdir, model, name)
    feats = _load_array(fpath, 'features',
                        lambda: _hint(name, fpath, workdir, model),
                        lambda: _other_models(workdir, model), workdir,
                        lambda: _close_model(workdir, model))
    if feats.ndim != 2 or not np.issubdtype(feats.dtype, np.floating) or \
            feats.shape[1] == 0:
        raise InputError(f'{fpath}: features must be a 2-d float array [N, D],'
                         f' got {feats.dtype} {list(feats.shape)}')
    feats = np.ascontiguousarray(feats, dtype=np.float32)
    check_finite(feats, fpath)
    labels = load_labels(workdir, name, model)
    lpath = paths.labels_path(workdir, name)
    if len(labels) != len(feats):
        raise InputError(f'{fpath} has {len(feats)} rows but {lpath} has '
                         f'{len(labels)} labels; extract both from one list')
    ppath = paths.provenance_path(workdir, model, name)
    prov = load_json(ppath, 'provenance JSON') if os.path.isfile(ppath) \
        else None
    fs = FeatureSet(model, name, feats, labels, fpath, lpath,
                    unit_norm(feats), prov)
    if prov is not None:
        _check_provenance(fs, workdir)
    return fs


#: the fields of a timm / open_clip encoder's provenance that decide its
#: features (with the weights' digest and the resolved preprocessing)
ENCODER_KEYS = ('library', 'model', 'model_kwargs', 'embedding', 'pool',
                'projection')


def encoder_of(fs: FeatureSet) -> Optional[Tuple[str, str]]:
    """``(identity, words)`` of the encoder that ``fs``'s provenance names
    (:func:`provenance_encoder`)."""
    return provenance_encoder(fs.provenance)


def provenance_extraction(prov) -> Optional[str]:
    """What made a feature file, as one string, from its provenance JSON:
    the encoder (:func:`provenance_encoder`), the list's digest, the shape,
    normalisation, the augmented passes and their seed, and the config
    overrides (the data folder's aside: the same images moved), then where
    the provenance has them the digest of a sample of the images' bytes
    (other images under the same names), the digests of the resolved
    model and pipeline (``model_sha1``, ``pipeline_sha1``: the config file
    and overrides merged; older files lack them), the precision
    (:func:`extracted_precision`) where it is not float32, ``tf32: true``
    where its float32 features ran cuDNN's default TF32 convolutions on
    CUDA (:func:`ran_tf32`: not what the same command computes now; every
    other string as before), and the
    versions of the libraries that built the encoder and read the images
    (``versions``: :func:`openselfsup.apis.extract.library_versions`;
    older files lack them). Features of the
    same extraction (:func:`same_extraction`) are one extraction run again
    (their last bits may differ with batch size or device); None when the
    encoder is unknown."""
    enc = provenance_encoder(prov)
    if enc is None:
        return None
    options = extraction_options(prov.get('cfg_options'))
    images = [prov['images_sha1']] if prov.get('images_sha1') else []
    settings = {f: prov[f] for f, _, _ in _SETTINGS if prov.get(f)}
    precision = extracted_precision(prov)
    if precision != 'float32':  # float32 strings as they were before
        settings['precision'] = precision
    if ran_tf32(prov):  # TF32-era: the other strings as they were before
        settings['tf32'] = True
    if prov.get('versions'):
        settings['versions'] = prov['versions']
    return json.dumps([enc[0], prov.get('list_sha1'),
                       prov.get('num_samples'), prov.get('feature_dim'),
                       prov.get('normalised'), prov.get('aug_times'),
                       prov.get('seed'), options] + images
                      + ([settings] if settings else []), sort_keys=True,
                      default=str)


#: the ``--cfg-options`` keys (by any dotted part) that say where the
#: images and their list are, not which images or how they are read: the
#: list's digest (``list_sha1``) and the images' (``images_sha1``) say
#: which; the same files moved or named another way are one extraction
_WHERE_KEYS = ('data_root', 'ann_file', 'data_prefix')


def extraction_options(options) -> Dict:
    """The ``--cfg-options`` of a provenance that can change its features:
    all but those that say where the files are (:data:`_WHERE_KEYS`). The
    one rule of what is compared, for the staleness of results
    (:func:`provenance_extraction`, :func:`same_extraction`) and between
    the sets of a run (:func:`_extraction_difference`)."""
    if not isinstance(options, dict):
        return {}
    return {str(k): v for k, v in options.items()
            if not set(str(k).split('.')) & set(_WHERE_KEYS)}


def _read_extraction(text: str) -> Optional[Tuple[list, Dict]]:
    """A :func:`provenance_extraction` string, of any version, as ``(core,
    recorded)``: the fields every version has, and a provenance-like dict
    of those it may lack (``images_sha1``, ``model_sha1``,
    ``pipeline_sha1``, ``precision``, ``tf32``, ``versions``) with its
    ``cfg_options``; None where it is not one."""
    try:
        fields = json.loads(text)
    except (TypeError, ValueError):
        return None
    if not isinstance(fields, list) or len(fields) < 8 or \
            not isinstance(fields[7], dict):
        return None
    recorded = {'cfg_options': extraction_options(fields[7])}
    for extra in fields[8:]:
        if isinstance(extra, dict):
            recorded.update(extra)
        else:
            recorded['images_sha1'] = extra
    return fields[:7], recorded


def same_extraction(a: str, b: str) -> bool:
    """Whether two :func:`provenance_extraction` strings name the same
    extraction: the fields every version records equal (the overrides of
    neither the model nor the pipeline included), the images' digest
    where both record it, and the model and the pipeline as
    :func:`_differing_setting` compares them (their digests where both
    record them: ``scale=64`` is ``(64, 64)``, another config file is
    another setting; else their literal overrides), the precision and
    whether it was float32 with TF32 convolutions on CUDA (``tf32``,
    :func:`ran_tf32`: a result of such features is not current once they
    are extracted again without TF32, whatever the device), and
    the release of each library both record (``versions``). A
    string written before a digest was recorded is compared without it;
    one written before the precision was is float32 (features of
    ``--amp`` scored before then are scored again); one written before
    ``tf32`` was (a result stored before 2026-12-06) does not say it and
    is not judged TF32-era (its string is a CPU set's too)."""
    if a == b:
        return True
    x, y = _read_extraction(a), _read_extraction(b)
    if x is None or y is None:
        return False
    prefixes = tuple(prefix for _, _, prefix in _SETTINGS)

    def others(recorded):  # the overrides of neither the model nor pipeline
        return {k: v for k, v in recorded['cfg_options'].items()
                if not str(k).startswith(prefixes)}

    (core_a, pa), (core_b, pb) = x, y
    if core_a != core_b or others(pa) != others(pb):
        return False
    images = (pa.get('images_sha1'), pb.get('images_sha1'))
    if all(images) and images[0] != images[1]:
        return False
    if pa.get('precision', 'float32') != pb.get('precision', 'float32'):
        return False
    if (pa.get('tf32') is True) != (pb.get('tf32') is True):
        return False
    if other_releases(pa, pb):
        return False
    return not any(_differing_setting(pa, pb, field, prefix)
                   for field, _, prefix in _SETTINGS)


def extracted_precision(prov) -> str:
    """The precision a provenance's features were computed at: its
    ``precision`` (``'float32'``, or ``--amp``'s autocast dtype,
    :func:`openselfsup.models.extraction.extraction_precision`); in files
    written before it was recorded, by the rule of then from ``amp`` and
    ``device`` (float16 on CUDA, bfloat16 elsewhere); float32 where
    ``amp`` is not recorded either (extraction's default, and every
    provenance ``extract.py`` wrote records ``amp``)."""
    if not isinstance(prov, dict):
        return 'float32'
    if prov.get('precision'):
        return str(prov['precision'])
    if not prov.get('amp'):
        return 'float32'
    return 'float16' if _on_cuda(prov) else 'bfloat16'


def _on_cuda(prov: Dict) -> bool:
    """Whether a provenance records its features extracted on CUDA
    (``device`` ``'cuda'`` or ``'cuda:N'``; every provenance ``extract.py``
    wrote records it)."""
    return str(prov.get('device')).split(':')[0] == 'cuda'


def ran_tf32(prov) -> bool:
    """Whether a provenance's features are float32 extracted on CUDA with
    cuDNN's default TF32 convolutions (10 mantissa bits: a 3x3
    convolution's relative error 2.9e-4 on an H100 against 4.3e-7): on
    CUDA, float32 (:func:`extracted_precision`) and not recorded
    ``tf32: False`` (:func:`openselfsup.models.extraction
    .precision_fields`, written since float32 extraction sets TF32 aside).
    Such a set is not what the same command extracts now: ``--reuse``
    extracts it again. A set of the CPU (no TF32), of ``--amp``, or
    without a recorded device (not ``extract.py``'s: imported features)
    is not judged (False). Conservative: a CUDA float32 set extracted
    between 7c43fa97 (float32 extraction without TF32) and a1ab2a73 (its
    ``tf32: False`` written), both 2026-12-06, ran true float32 but
    records no field, and cannot be told from a TF32 one: it is judged
    TF32 too (extracted again; review r169)."""
    return isinstance(prov, dict) and _on_cuda(prov) and \
        extracted_precision(prov) == 'float32' and \
        prov.get('tf32') is not False


def other_releases(pa, pb) -> List[Tuple[str, str, str]]:
    """``(library, release in pa, release in pb)`` of each library whose
    release two provenance records (or :func:`_read_extraction` records)
    both name (``versions``) and differ in, by name; [] where either
    records none. A library one side does not record (one added to the
    record later, Pillow of a config's model) is not compared."""
    va, vb = (v if isinstance(v, dict) else {} for v in (
        pa.get('versions') if isinstance(pa, dict) else None,
        pb.get('versions') if isinstance(pb, dict) else None))
    return [(k, str(va[k]), str(vb[k])) for k in sorted(set(va) & set(vb))
            if va[k] != vb[k]]


def _other_precisions(pa: Dict, pb: Dict) -> Optional[str]:
    """The refusal's words after two feature paths whose provenance
    records other precisions (:func:`extracted_precision`); else None."""
    x, y = extracted_precision(pa), extracted_precision(pb)
    if x == y:
        return None
    if 'float32' in (x, y):
        return (f'were extracted at other precisions ({x} vs {y}: --amp '
                'on one of them); extract both with --amp or both without')
    return (f'were extracted at other precisions ({x} vs {y}: --amp on '
            f'{pa.get("device")} vs {pb.get("device")}); extract both on '
            'one kind of device, or both without --amp')


def _other_tf32(pa: Dict, pb: Dict) -> Optional[str]:
    """The refusal's words after two feature paths of one precision
    where one is float32 of CUDA's TF32 convolutions (:func:`ran_tf32`)
    and the other, recording its device too, is not; else None (a side
    without a recorded device is not judged)."""
    if not all(isinstance(p.get('device'), str) for p in (pa, pb)) or \
            ran_tf32(pa) == ran_tf32(pb):
        return None
    x, y = (f'{"float32 with TF32 convolutions" if ran_tf32(p) else "float32"}'
            f' on {p["device"]}' for p in (pa, pb))
    return (f'were extracted at other precisions ({x} vs {y}: extracted '
            'before tf32 was recorded, float32 on a GPU is true float32 '
            'now); extract the TF32 one again (wsi_workdir/extract.py '
            '--reuse does)')


def provenance_encoder(prov) -> Optional[Tuple[str, str]]:
    """``(identity, words)`` of the encoder a provenance JSON names: the
    checkpoint's SHA-256 (and a library model's name and arguments), or a
    seeded random initialisation; None when unknown (no provenance,
    imported features)."""
    if not isinstance(prov, dict):
        return None
    sha, kind = prov.get('checkpoint_sha256'), prov.get('checkpoint_kind')
    enc = prov.get('encoder')
    random = _is_random(prov)
    if not sha and not random:
        return None
    # a library model: what makes its features (not how its source, config
    # file or version were spelled)
    model = {k: enc.get(k) for k in ENCODER_KEYS} if isinstance(enc, dict) \
        else None
    identity = json.dumps([sha, None if sha else kind, model,
                           prov.get('preprocess') if model else None],
                          sort_keys=True)
    return identity, _encoder_words(sha, kind, model, prov.get('checkpoint'))


def _encoder_words(sha: Optional[str], kind, model: Optional[Dict],
                   checkpoint: Optional[str] = None) -> str:
    """An encoder in words: a library model's ``library:model``, then the
    weights (``checkpoint`` and the start of their SHA-256, or
    ``checkpoint SHA-256 ...`` where no path is known) or ``kind`` (a
    seeded random initialisation)."""
    library = ''
    if isinstance(model, dict):
        library = f'{model.get("library")}:{model.get("model")} ' \
            if model.get('model') else f'{model.get("library")} '
    if not sha:
        return library + str(kind)
    where = f'{checkpoint} (SHA-256 {sha[:12]})' if checkpoint else \
        f'checkpoint SHA-256 {sha[:12]}'
    return library + where


def extraction_encoder(text) -> Optional[Tuple[str, str]]:
    """``(identity, words)`` of the encoder a :func:`provenance_extraction`
    string names (its first field, :func:`provenance_encoder`'s identity),
    as a result records it (no checkpoint path there: the weights are
    named by their SHA-256); None where it is no such string or names
    none."""
    read = _read_extraction(text)
    if read is None:
        return None
    identity = read[0][0]
    try:
        sha, kind, model, _ = json.loads(identity)
    except (TypeError, ValueError):
        return None
    if not (sha is None or isinstance(sha, str)):
        return None
    return identity, _encoder_words(sha, kind, model)


def extraction_images(text) -> Optional[str]:
    """The digest of a sample of the images' bytes (``images_sha1``) a
    :func:`provenance_extraction` string records, as a result records it;
    None where it is no such string or records none (imported features,
    files written before the digest was recorded)."""
    read = _read_extraction(text)
    images = read[1].get('images_sha1') if read is not None else None
    return images if isinstance(images, str) and images else None


#: how an image becomes a feature, as the provenance records it: the
#: digest of the resolved setting (:func:`openselfsup.apis.extract.
#: extraction_settings`), what it is in words, and the ``--cfg-options``
#: keys it is compared by in provenance written before the digests were
#: (not where the images are: :func:`extraction_options`)
_SETTINGS = (('model_sha1', 'model', 'model.'),
             ('pipeline_sha1', 'image pipeline', 'dataset.pipeline'))
_UNSET = object()


def _how_extracted(prov, keys: Tuple[str, ...]) -> Optional[Dict]:
    """The provenance's ``--cfg-options`` under ``keys``; None where it
    records none (imported features, older files)."""
    options = prov.get('cfg_options') if isinstance(prov, dict) else None
    if not isinstance(options, dict):
        return None
    return {k: v for k, v in extraction_options(options).items()
            if k.startswith(keys)}


def _spelt(prov, prefix: str) -> str:
    """The config file and the ``--cfg-options`` under ``prefix`` a
    provenance records, in words."""
    options = _how_extracted(prov, (prefix, )) or {}
    given = ' '.join(f'{k}={v}' for k, v in sorted(options.items()))
    return (f'{prov.get("config") or "an unnamed config"} with '
            + (f'--cfg-options {given}' if given else 'no such --cfg-options'))


def _other_sizes(pa: Dict, pb: Dict) -> Optional[str]:
    """``'W x H vs W x H'``: the ``image_size`` (``[w, h]``) two
    provenance dicts record, where both record one and they differ; else
    None."""
    sizes = [p.get('image_size') for p in (pa, pb)]
    if not all(isinstance(v, (list, tuple)) and len(v) == 2
               for v in sizes):
        return None
    a, b = (f'{v[0]} x {v[1]}' for v in sizes)
    return None if a == b else f'{a} vs {b}'


def _differing_setting(pa: Dict, pb: Dict, field: str, prefix: str
                       ) -> Optional[Tuple[bool, object, object]]:
    """How two provenance dicts differ in one setting of :data:`_SETTINGS`
    (the model or the image pipeline), or None where they do not or it
    cannot be told: ``(True, digest_a, digest_b)`` where both record the
    digest ``field`` of the resolved setting and they differ, else
    ``(False, options_a, options_b)``, the literal ``--cfg-options`` under
    ``prefix``, where both record them and they differ (provenance
    written before the digests)."""
    x, y = pa.get(field), pb.get(field)
    if x and y:
        return None if x == y else (True, x, y)
    how_a, how_b = (_how_extracted(pa, (prefix, )),
                    _how_extracted(pb, (prefix, )))
    if how_a is not None and how_b is not None and how_a != how_b:
        return False, how_a, how_b
    return None


def _extraction_difference(a: FeatureSet, b: FeatureSet,
                          pipeline: bool = True) -> Optional[str]:
    """How ``a`` and ``b`` (of one encoder) were extracted differently, as
    the refusal's words after their paths; None where nothing differs or
    nothing can be compared. Each of the model and (unless ``pipeline`` is
    False) the image pipeline is compared by the digest of its resolved
    setting where both provenance files record it (the config file and
    ``--cfg-options`` merged: ``scale=64`` is ``scale=(64, 64)``, an option
    that gives the config's own value is no other setting), else by the
    literal ``--cfg-options`` of that part where both record them (older
    files). Without ``pipeline`` (``NCT_aug``, whose pipeline is random by
    design) the image size its pipeline ends with is compared where both
    record it. The precision (:func:`extracted_precision`: ``--amp``; and
    float32 with TF32 convolutions on CUDA or not, :func:`ran_tf32`,
    where both record their device) and
    the release of each library both record (:func:`other_releases`:
    support and queries extracted by hand before and after an upgrade)
    are compared in every case."""
    pa, pb = a.provenance, b.provenance
    if not (isinstance(pa, dict) and isinstance(pb, dict)):
        return None
    sizes = _other_sizes(pa, pb)
    for field, words, prefix in _SETTINGS if pipeline else _SETTINGS[:1]:
        differs = _differing_setting(pa, pb, field, prefix)
        if differs is None:
            continue
        by_digest, x, y = differs
        if by_digest:
            spelt = (_spelt(pa, prefix), _spelt(pb, prefix))
            if field == 'pipeline_sha1' and sizes:
                detail = f'image size {sizes}'
            elif spelt[0] != spelt[1]:
                detail = f'{spelt[0]} vs {spelt[1]}'
            else:  # the config file edited in between, or the digest
                # this project takes of it (h322: an HLSS checkpoint's
                # model_sha1 gives its attribute files by the mark)
                detail = (f'{field} {x[:12]} vs {y[:12]}, both from '
                          f'{spelt[0]}: the file or this project\'s '
                          f'{words} digest changed in between')
            return (f'were extracted with another {words} ({detail}); '
                    'extract one of them again with the config and '
                    '--cfg-options of the other')
        key = min(k for k in set(x) | set(y)
                  if x.get(k, _UNSET) != y.get(k, _UNSET))
        return (f'were extracted with other --cfg-options ({key}: '
                f'{x.get(key, "not set")} vs {y.get(key, "not set")}); '
                'extract both with the same options')
    precisions = _other_precisions(pa, pb) or _other_tf32(pa, pb)
    if precisions:
        return precisions
    releases = other_releases(pa, pb)
    if releases:
        each = ', '.join(f'{k} {x} vs {y}' for k, x, y in releases)
        return (f'were extracted under other library releases ({each}: a '
                'release may preprocess otherwise or give other weights); '
                'extract both under the installed ones (wsi_workdir/'
                'extract.py --reuse keeps a set already extracted under '
                'them)')
    if not pipeline and sizes:
        return (f'were extracted at other image sizes ({sizes}); extract '
                'one of them again at the size of the other')
    return None


def _recorded_sibling(features_path: str, name: str) -> Optional[str]:
    """The features path of another set than ``name`` in the model folder
    of ``features_path`` (``extracted_feats/<model>/``) that has a
    provenance JSON beside it, by the files' existence alone (nothing
    read); None where none has."""
    folder = os.path.dirname(features_path)
    for other in paths.FEATURE_NAMES:
        npy = os.path.join(folder, f'{other}.npy')
        if other != name and os.path.isfile(npy) and \
                os.path.isfile(os.path.join(folder, f'{other}.json')):
            return npy
    return None


def _json_of(features_path: str) -> str:
    """The path of the provenance JSON beside ``features_path``."""
    return os.path.splitext(features_path)[0] + '.json'


def _sibling_json(features_path: str):
    """The provenance JSON beside ``features_path``, or None where it
    cannot be read (that set's own load names it)."""
    try:
        return load_json(_json_of(features_path))
    except InputError:
        return None


#: a key of extract.py's KEY=VALUE flags
_PLAIN_KEY = re.compile(r'[A-Za-z_][A-Za-z0-9_./-]*$')


def _reads_as_itself(text: str) -> bool:
    """Whether extract.py reads the string ``text``, given as the VALUE of
    a ``KEY=VALUE`` flag (``config.parse_cfg_options``: MMEngine's
    ``DictAction`` parsing, the spaces inside a value kept), back as
    itself: no quote or space at its ends (stripped), no comma (a list),
    no brackets around it (a list, tuple or dict) nor braces that do not
    pair (refused), and no number, boolean or None (``'16'``, ``'nan'``,
    ``'True'``, ``'None'``; as ``DictAction`` tells them). A path with
    spaces inside, or absolute, does."""
    if text != text.strip().strip('\'"') or ',' in text or \
            text[:1] + text[-1:] in ('()', '[]', '{}') or \
            text.count('{') != text.count('}') or text == 'None' or \
            text.lower() in ('true', 'false'):
        return False
    for number in (int, float):
        try:
            number(text)
            return False
        except ValueError:
            pass
    return True


def _flag_value(value) -> Optional[str]:
    """``value`` as the VALUE of a ``KEY=VALUE`` flag of ``extract.py``
    that reads back as the same JSON value (unquoted: the caller quotes
    the item for the shell), or None where none is known to: a nested
    dict, a list of anything but numbers, an empty list, a string that
    does not read as itself (:func:`_reads_as_itself`: one that reads as
    a number, boolean or None, a list, tuple or dict)."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int, float)):
        return repr(value) if _spelt_number(value) else None
    if isinstance(value, str):
        return value if _reads_as_itself(value) else None
    if isinstance(value, list) and value and all(
            isinstance(v, (int, float)) and not isinstance(v, bool)
            and _spelt_number(v) for v in value):
        return '[' + ','.join(repr(v) for v in value) + ']'
    return None


def _spelt_number(value) -> bool:
    """Whether a recorded number (not a bool) is spelt back as a flag's
    value: a finite float, an int within int64 (one beyond it, which no
    extraction setting takes, made ``np.isfinite`` raise a TypeError
    inside the line that printed it: review r153)."""
    if isinstance(value, int):
        return -2 ** 63 <= value < 2 ** 63
    return math.isfinite(value)


def _key_values(flag: str, recorded, unmapped: List[str]) -> str:
    """`` --flag KEY=VALUE ...`` of a recorded dict, each quoted for the
    shell (``scale=[32,48]`` is a glob pattern unquoted); the keys whose
    values do not spell back (:func:`_flag_value`) go to ``unmapped``."""
    items = []
    for key, value in (recorded or {}).items():
        text = _flag_value(value)
        if text is None or not _PLAIN_KEY.match(key):
            unmapped.append(f'{flag} {key}')
        else:
            items.append(shlex.quote(f'{key}={text}'))
    return f' {flag} ' + ' '.join(items) if items else ''


#: the seed of a printed ``--random-init`` whose provenance records none,
#: for the user to fill in: left as printed, ``extract.py``'s parser
#: refuses it (``--seed`` takes an integer), where ``--random-init`` alone
#: ran seed 0, other weights, exit 0 (review r153)
SEED = 'SEED'

#: the note's words (:func:`_unmapped_note`) on :data:`SEED`
_SEED_UNKNOWN = (f'{SEED}: no seed of its random initialisation is '
                 'recorded (neither seed nor checkpoint_kind names one); '
                 'give the one it was extracted with')


def _recorded_seed(prov) -> Optional[int]:
    """The seed of the random initialisation a provenance records: its
    ``seed``, else the one its ``checkpoint_kind`` spells (``random init
    (seed 5)``: :func:`~openselfsup.utils.checkpoint_files.random_init_seed`;
    a JSON without the field printed ``--random-init`` alone, seed 0:
    review r153); None where neither does."""
    seed = prov.get('seed')
    if isinstance(seed, int) and not isinstance(seed, bool):
        return seed
    return random_init_seed(prov.get('checkpoint_kind'))


def _is_random(prov) -> bool:
    """Whether a provenance records an encoder at its random
    initialisation (its ``checkpoint_kind``:
    :func:`~openselfsup.utils.checkpoint_files.is_random_init`)."""
    return is_random_init(prov.get('checkpoint_kind'))


def _init_flags(prov, unmapped: List[str]) -> Tuple[bool, str]:
    """Whether a provenance records an encoder at its seeded random
    initialisation, and the flags of it, ``--random-init --seed S``
    (:func:`_recorded_seed`; :data:`SEED` where it records none, named in
    ``unmapped``)."""
    random = _is_random(prov)
    seed = _recorded_seed(prov)
    if random and seed is None:
        unmapped.append(_SEED_UNKNOWN)
    return random, f'--random-init --seed {SEED if seed is None else seed}'


def _checkpoint_flags(prov, unmapped: List[str]) -> str:
    """``extract.py``'s flags of a config's encoder as a provenance records
    it: ``--pretrained <the checkpoint it records>`` (absolute, quoted for
    the shell: :func:`_recorded_weights`), or its random initialisation
    (:func:`_init_flags`), or ``--pretrained CKPT`` where it records
    neither or the checkpoint is not sure (why, in ``unmapped``)."""
    random, init = _init_flags(prov, unmapped)
    if random:
        return init
    weights, why = _recorded_weights(prov)
    _not_sure(why, unmapped)
    return f'--pretrained {shlex.quote(weights) if weights else "CKPT"}'


#: the start of the note on a printed ``CKPT`` whose recorded encoder is
#: not sure to be the one that made the set (:func:`_unmapped_note`)
_CKPT = 'CKPT: '


def _not_sure(why: Optional[str], unmapped: List[str]) -> None:
    """Name in ``unmapped`` why a printed command says ``CKPT`` where a
    provenance records weights (:func:`_recorded_weights`), and what to
    give there; nothing where ``why`` is None."""
    if why:
        unmapped.append(f'{_CKPT}{why}; give the checkpoint the set that '
                        'JSON describes was extracted with')


def _recorded_weights(prov) -> Tuple[Optional[str], Optional[str]]:
    """``(weights, None)``: the weights a provenance records, absolute: a
    library model's hub folder (the folder of ``encoder.model_config``,
    recorded as typed), else its ``checkpoint``; a relative one joined
    with the recorded ``cwd`` (:func:`_recorded_cwd`), a hub folder
    without one the folder of the recorded absolute checkpoint (printed
    relative, pasted in another folder it read that folder's weights,
    exit 0: review r153). ``(None, why)`` where that is not sure: a
    relative path without its ``cwd``, or a checkpoint file at that path
    whose SHA-256 now is not the recorded ``checkpoint_sha256`` (replaced
    since: :func:`_no_longer`; a missing one the pasted command stops on),
    or a hub folder that no longer gives the recorded weights file and
    config (:func:`_hub_doubt`). ``(None, None)`` where it records no
    weights."""
    cwd = _recorded_cwd(prov)
    checkpoint = prov.get('checkpoint')
    checkpoint = checkpoint if isinstance(checkpoint, str) and checkpoint \
        else None
    enc = _library_encoder(prov)
    config = enc.get('model_config') if enc else None
    hub = isinstance(config, str) and bool(config)
    weights = os.path.dirname(config) if hub else checkpoint
    if weights is None:
        return None, None
    if not (os.path.isabs(weights) or cwd):
        if hub and checkpoint and os.path.isabs(checkpoint):
            weights = os.path.dirname(checkpoint)
        else:
            return None, (f'the weights {weights} are recorded relative, '
                          'without the folder they were read from')
    weights = _squashed(joined(weights, cwd))
    sha = prov.get('checkpoint_sha256')
    if hub:
        why = _hub_doubt(enc, weights, checkpoint, sha, cwd)
        return (None, why) if why else (weights, None)
    if checkpoint and isinstance(sha, str) and (
            os.path.isabs(checkpoint) or cwd):
        path = joined(checkpoint, cwd)
        # a missing file: the pasted command stops on it, no other weights
        why = _no_longer(path, sha) if os.path.isfile(path) else None
        if why:
            return None, why
    return weights, None


def _tail(path: str, parts: int) -> Optional[List[str]]:
    """The last ``parts`` components of ``path`` (repeated and trailing
    slashes aside, :func:`_squashed`), or None where it has fewer."""
    bits = [b for b in _squashed(path).split('/') if b]
    return bits[-parts:] if len(bits) >= parts else None


def _hub_doubt(enc: Dict, folder: str, checkpoint: Optional[str], sha,
               cwd: Optional[str]) -> Optional[str]:
    """Why a library model's hub ``folder`` (absolute) may no longer give
    the weights and settings a provenance records (encoder ``enc``, its
    ``checkpoint`` and its SHA-256 ``sha``): it does not resolve to the
    recorded checkpoint file as the extraction resolves it
    (:func:`~openselfsup.utils.checkpoint_files.hub_folder_files`: a
    ``model.safetensors`` added before the recorded ``pytorch_model.bin``,
    or the recorded file gone), that file's SHA-256 is another, or its
    config file's is another than the recorded ``model_config_sha256``
    (the normalisation, input size, architecture) or none is recorded
    (r158: only the weights file was hashed, a missing one counted as
    the same, and each case pasted read other weights or settings, exit
    0); None where it still gives them."""
    library = enc.get('library')
    if library not in FOLDER_CONFIG:
        return f'{library!r} has no hub folder layout known here'
    path, config = hub_folder_files(library, folder)
    recorded = _squashed(joined(checkpoint, cwd)) if checkpoint and (
        os.path.isabs(checkpoint) or cwd) else None
    if path is None or recorded is None or _place(path) != _place(recorded):
        return (f'the hub folder {folder} now reads '
                f'{path or "no weights file"}, not the recorded '
                f'{recorded or checkpoint}')
    for file, want in ((path, sha), (config, enc.get('model_config_sha256'))):
        if not isinstance(want, str):
            return (f'the digest of {file} is not recorded (a JSON written '
                    'before it was): it may have changed since')
        why = _no_longer(file, want)
        if why:
            return why
    return None


def _no_longer(path: str, sha: str) -> Optional[str]:
    """Why the file at ``path`` is not the one of the recorded SHA-256
    ``sha`` (missing, or another digest now: hashed once per version of
    the file, :func:`~openselfsup.utils.fingerprint.file_sha256_kept`);
    None where it is."""
    now = file_sha256_kept(path) if os.path.isfile(path) else None
    if now == sha:
        return None
    return (f'the file at {path} is no longer the one the set was '
            f'extracted with (SHA-256 now '
            f'{now[:12] if now else "none: it is missing"}, recorded '
            f'{sha[:12]})')


def _recorded_features(prov) -> Optional[str]:
    """The features file a provenance records it describes
    (``outputs.features``, a relative path joined with its ``cwd``); None
    where it records none (a JSON written before ``outputs`` was)."""
    outputs = prov.get('outputs')
    made = outputs.get('features') if isinstance(outputs, dict) else None
    if not isinstance(made, str) or not made:
        return None
    return _squashed(joined(made, _recorded_cwd(prov)))


def _features_elsewhere(prov, name: Optional[str] = None,
                        out: Optional[str] = None) -> Optional[str]:
    """The features a provenance records it describes
    (``outputs.features``, a relative path joined with its ``cwd``) where
    they are not set ``name``'s (another file name) or, ``out`` given,
    those of another model folder than ``out``'s: another
    ``extracted_feats/<model>/`` tail (a JSON copied from another model's
    set of the name: review r153, its images and encoder were taken as
    this set's). The tail alone, not the whole folder: a workdir moved or
    copied whole keeps its sets' own JSONs (r158: its commands printed
    ``CKPT`` and ``DATA_ROOT``, calling the set's own JSON another
    folder's). None where they are, or where it records none (a JSON
    written before ``outputs`` was) or a path too short to tell."""
    made = _recorded_features(prov)
    if made is None:
        return None
    if name is not None and os.path.basename(made) != f'{name}.npy':
        return made
    if out is not None:
        theirs = _tail(os.path.dirname(made), 2)
        if theirs is not None and theirs != _tail(
                os.path.dirname(os.path.abspath(out)), 2):
            return made
    return None


def _other_encoder(prov, out: str,
                   jsons: Optional[Dict[str, Dict]] = None) -> Optional[str]:
    """Why a set beside ``out`` (``jsons``, :func:`_model_jsons`; read
    where not given) contradicts the encoder provenance ``prov`` records
    (:func:`provenance_encoder`: checkpoint SHA-256, seed, library model):
    the first that records another; None where none does."""
    mine = provenance_encoder(prov)
    here = os.path.splitext(os.path.basename(out))[0]
    for name, theirs in (_model_jsons(out) if jsons is None
                         else jsons).items():
        told = provenance_encoder(theirs)
        if name != here and told is not None and (
                mine is None or told[0] != mine[0]):
            return (f'{name} beside it records another encoder, {told[1]}, '
                    f'than {mine[1] if mine else "none"}')
    return None


def _not_own(prov, out: str,
             jsons: Optional[Dict[str, Dict]] = None) -> Optional[str]:
    """Why the JSON ``prov`` left at ``out``'s place may not be that set's
    own, the one rule for its encoder (:func:`_encoder_doubt`) and its
    images (:func:`_images_root`): it records the features of another
    model folder (:func:`_features_elsewhere`); or, recording no features
    path that tells (a JSON written before ``outputs`` was, 2026-12-04),
    a set beside it records another encoder (:func:`_other_encoder`: as
    likely copied as stale; r158: the base trusted such a JSON for both,
    h245 for its images alone). None where it is taken as the set's."""
    other = _features_elsewhere(prov, out=out)
    if other:
        return (f'its JSON describes {other}, another model folder\'s set '
                '(copied from another model\'s?)')
    made = _recorded_features(prov)
    if made is not None and _tail(made, 3) is not None:
        return None
    other = _other_encoder(prov, out, jsons)
    return (f'its JSON records no features path that tells whose set it '
            f'describes, and {other}') if other else None


def _encoder_doubt(prov, out: str,
                   jsons: Optional[Dict[str, Dict]] = None) -> Optional[str]:
    """Why the encoder a provenance records may not be the one that made
    the sets of the model folder of ``out`` (a printed command takes it
    only where it is sure: review r153): the JSON is not the set's own
    (:func:`_not_own`), or a set beside it (``jsons``,
    :func:`_model_jsons`; read where not given) records another encoder
    (:func:`_other_encoder`); None where it is sure."""
    return _not_own(prov, out, jsons) or _other_encoder(prov, out, jsons)


#: ``configs/extraction/nct_aug.py``'s image size as its pipeline sets it,
#: as ``config.pipeline_image_size`` reads it: the ``--cfg-options`` key
#: of the size (its RandomResizedCrop's ``scale``, at the index of the
#: extraction configs' Resize), the size it gives ``(w, h)`` and the order
#: a pair takes there (``(h, w)``; the Resize's is ``(w, h)``) (checked
#: against the config by ``tests/test_bad_input_lowshot.py``)
COPIES_SIZE = ('dataset.pipeline.1.scale', (224, 224), 'hw')

#: each extraction config's ``dataset.data_root``
#: (``configs/extraction/<config>.py``), where its list and images are read
#: from without ``--data-root``: relative, to the folder the command is
#: run from, so a printed command names the folder absolute, as a set
#: records it (:func:`_recorded_root`) (checked against the configs by
#: ``tests/test_bad_input_lowshot.py``)
DATA_ROOTS = dict(nct_train='data/NCT', nct_test='data/NCT',
                  nct_aug='data/NCT', lc='data/LC25000',
                  paip_train='data/PAIP19', paip_test='data/PAIP19')

#: each extraction config's list under its data root, ``dataset.ann_file``,
#: and the folder of its images there, ``dataset.data_prefix`` (every
#: config's, from their base): the layout a set of the config read under
#: the folder it records (:func:`_other_layout`) (checked against the
#: configs by ``tests/test_bad_input_lowshot.py``)
LIST_FILES = dict(nct_train='meta/train_labeled.txt',
                  nct_test='meta/test_labeled.txt',
                  nct_aug='meta/train_labeled.txt',
                  lc='meta/img_list_labeled.txt',
                  paip_train='meta/paip_train_labeled.txt',
                  paip_test='meta/paip_test_labeled.txt')
DATA_PREFIX = 'data'

#: the ``--data-root`` of a printed command where no set records where
#: the images lie, for the user to fill in (:func:`_images_flags`; the
#: commands refuse it given as it is, ``apis.extract.open_list``)
DATA_ROOT = 'DATA_ROOT'


class Where(NamedTuple):
    """Where a set's images lie, as the provenance JSONs here tell:
    ``root``, the folder (absolute), or None and ``why`` it is not known,
    the words of the note on :data:`DATA_ROOT` (:func:`_images_flags`)."""
    root: Optional[str] = None
    why: str = 'no set here records where its images lie'


def _copies_options(prov, unmapped: List[str]) -> Dict:
    """The ``--cfg-options`` of the copies' extraction (``nct_aug.py``)
    from those a set's provenance records (:func:`extraction_options`):
    those of the model and any other part as recorded; those of its
    image pipeline address the ops of that set's deterministic pipeline,
    not the copies' random one, so the image size the ablation compares
    (``image_size``) is spelt at the copies' size key
    (:data:`COPIES_SIZE`, where it is not theirs already), and the
    pipeline's other options go to ``unmapped``."""
    options = extraction_options(prov.get('cfg_options'))
    kept = {k: v for k, v in options.items()
            if not k.startswith('dataset.pipeline')}
    dropped = [k for k in options if k not in kept]
    key, own, order = COPIES_SIZE
    size = prov.get('image_size')
    if isinstance(size, (list, tuple)) and len(size) == 2 and all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0
            for v in size):
        w, h = size
        if (w, h) != tuple(own):
            kept[key] = w if w == h else (
                [h, w] if order == 'hw' else [w, h])
        sizes = {arg for arg, _ in SIZE_ARGUMENTS.values()}
        dropped = [k for k in dropped if k.rsplit('.', 1)[-1] not in sizes]
    unmapped.extend(f"--cfg-options {k} (an op of that set's pipeline, "
                    "not of the copies')" for k in dropped)
    return kept


def _encoder_flags(prov, copies: bool = False) -> Tuple[str, List[str]]:
    """The ``extract.py`` flags of the encoder and the settings a
    provenance JSON records (:func:`_weights_flags`, then
    :func:`_settings_flags`), and the settings that do not spell back as
    flags."""
    unmapped: List[str] = []
    enc = _library_encoder(prov)
    return (_weights_flags(prov, enc, unmapped)
            + _settings_flags(prov, enc, copies, unmapped), unmapped)


def _source_flag(enc: Dict) -> str:
    """``--model-source`` of a library model's ``encoder`` as given."""
    tag = enc.get('pretrained_tag')
    source = enc.get('source') or (
        f'{enc["library"]}:{enc.get("model")}' + (f':{tag}' if tag else ''))
    return f'--model-source {shlex.quote(source)}'


def _weights_flags(prov, enc: Optional[Dict], unmapped: List[str]) -> str:
    """The flags of the encoder's weights a provenance records: a library
    model's (``enc``) ``--model-source`` as given and ``--weights`` (a hub
    folder's as the folder) or ``--random-init --seed``; a config's
    ``--pretrained`` checkpoint or ``--random-init --seed``
    (:func:`_checkpoint_flags`); paths quoted for the shell."""
    if not enc:
        return _checkpoint_flags(prov, unmapped)
    random, weights = _init_flags(prov, unmapped)
    if not random:
        weights, why = _recorded_weights(prov)
        _not_sure(why, unmapped)
        weights = f'--weights {shlex.quote(weights or "CKPT")}'
    return f'{_source_flag(enc)} {weights}'


def _doubted_flags(prov) -> str:
    """The encoder flags of a set whose JSON ``prov`` is not sure to record
    its encoder (:func:`_encoder_doubt`), in the form its kind takes, each
    value a placeholder: ``--random-init --seed SEED`` for a random
    initialisation, a library model's ``--model-source <as recorded>
    --weights CKPT``, else ``--pretrained CKPT`` (r158: always the last,
    which a random-init or library set cannot take)."""
    enc = _library_encoder(prov)
    weights = f'--random-init --seed {SEED}' if _is_random(prov) else \
        ('--weights CKPT' if enc else '--pretrained CKPT')
    return f'{_source_flag(enc)} {weights}' if enc else weights


def _settings_flags(prov, enc: Optional[Dict], copies: bool,
                    unmapped: List[str]) -> str:
    """The flags of the settings a provenance records beside its encoder's
    weights: a library model's (``enc``) ``--model-kwargs``,
    ``--preprocess``, ``--pool``, ``--no-proj``; ``--cfg-options`` but
    where the images lie (``copies``: as the augmented copies' config
    takes them, :func:`_copies_options`), ``--amp`` with its ``--device``,
    ``--no-normalise``; each quoted for the shell, those that do not spell
    back named in ``unmapped``."""
    flags = ''
    if enc:
        kwargs = dict(enc.get('model_kwargs') or {})
        # --pool is recorded as the model's global_pool keyword
        pool = kwargs.pop('global_pool', None)
        flags += _key_values('--model-kwargs', kwargs, unmapped)
        flags += _key_values('--preprocess', enc.get('preprocess_overrides'),
                             unmapped)
        if pool is not None:
            text = _flag_value(pool)
            if text is None:
                unmapped.append('--pool')
            else:
                # one item: a value that starts with '-' is no flag
                flags += f' {shlex.quote(f"--pool={text}")}'
        if enc.get('projection') is False:
            flags += ' --no-proj'
    # the options that can change the features (:func:`extraction_options`;
    # where the sibling's images lie is not this set's)
    options = _copies_options(prov, unmapped) if copies else \
        extraction_options(prov.get('cfg_options'))
    flags += _key_values('--cfg-options', options, unmapped)
    if prov.get('amp'):
        flags += ' --amp' + (f' --device {prov["device"]}'
                             if prov.get('device') else '')
    return flags + _normalise_flag(prov)


def _normalise_flag(prov) -> str:
    """`` --no-normalise`` where a provenance records its rows kept as
    they were (``normalised`` False), else nothing."""
    return ' --no-normalise' if prov.get('normalised') is False else ''


def _write_again(fs: FeatureSet, prov, recorded_in: str) -> str:
    """The commands that write set ``fs`` again, as its model's set with
    provenance ``prov`` (the JSON ``recorded_in``) was written: its
    encoder and settings as recorded (:func:`extract_command`); or,
    computed elsewhere, the import. ``NCT_aug``: the augmented copies'
    extraction alone (:func:`copies_command`; an import is one pass over
    the list, not copies, and refused as such), of a config's checkpoint;
    a library model makes none: skip the parts that read them."""
    out, config = fs.features_path, fs.name.lower()
    if fs.name == 'NCT_aug':
        return _copies_way(out, prov, recorded_in)
    # the images: the folder the sets beside it whose configs read its
    # data root record (NCT_train's for NCT_test), all of them, as for a
    # missing set, else the DATA_ROOT the user fills in
    jsons = _model_jsons(out)
    root = _sibling_root(out, fs.name, jsons)
    again = extract_command(out, fs.name, prov, recorded_in, root=root,
                            jsons=jsons)
    return (f'{again}, or, computed elsewhere, import it: '
            + _import_command(out, config, None, root, normalised=prov))


def _import_command(out: str, config: str, images, root: Where,
                    recorded_in: Optional[str] = None,
                    normalised=None) -> str:
    """The ``import_features.py`` command that writes a set of extraction
    config ``config`` to ``out`` from features computed elsewhere, read
    against the list and images of :func:`_images_flags` (``images``, the
    provenance JSON ``recorded_in``, ``root``), with the words on a
    ``DATA_ROOT`` to fill in where it leaves one (every printed command
    that needs it carries them: the import beside an extraction said
    none); ``--no-normalise`` where ``normalised`` (a provenance of the
    model's, ``images`` where not given) records rows kept as they were
    (:func:`_normalise_flag`, as :func:`copies_command` gives it; review
    r153: it was dropped, and the import normalised them)."""
    unmapped: List[str] = []
    flags, fill = _images_flags(config, 'import_features.py', unmapped,
                                images, root)
    normalised = images if normalised is None else normalised
    if isinstance(normalised, dict):
        flags += _normalise_flag(normalised)
    return (f"{_with_config('import_features.py', config)} --source "
            f'FEATURES [--paths PATHS]{flags} --output {printed(out)}'
            + _unmapped_note(unmapped, recorded_in) + fill)


def extract_command(out: str, name: str, prov, recorded_in: Optional[str],
                    images=None, root: Optional[Where] = None,
                    jsons: Optional[Dict[str, Dict]] = None) -> str:
    """The ``extract.py`` command that writes feature set ``name`` to
    ``out`` (as given in the current folder, :func:`~.paths.printed`) with the
    encoder and settings a provenance ``prov`` (the JSON ``recorded_in``)
    records (:func:`_encoder_flags`; those that do not
    spell back as flags are named as the JSON's), ``--pretrained CKPT``
    where ``prov`` is none; from the images (:func:`_images_flags`) that
    ``images``, a provenance of a set of the name (the set's own, or
    another model's), records, else from the folder ``root`` (another
    set's, :func:`_shared_root`), else from a ``DATA_ROOT`` the user fills
    in. The encoder and settings only where ``prov`` is sure to record
    the set's (:func:`_encoder_doubt`, with the model's JSONs ``jsons``
    where read already), else its kind's placeholder
    (:func:`_doubted_flags`) and why, with the settings that JSON records
    named as flags to add (:func:`_doubt_note`).
    ``NCT_aug``: the augmented copies' way (:func:`_copies_way`),
    ``images`` aside."""
    config = name.lower()
    if name == 'NCT_aug':
        return _copies_way(out, prov, recorded_in, jsons)
    doubt = _encoder_doubt(prov, out, jsons) if isinstance(prov, dict) \
        else None
    flags, unmapped = (_doubted_flags(prov), []) if doubt else \
        _encoder_flags(prov) if isinstance(prov, dict) else \
        ('--pretrained CKPT', [])
    images, fill = _images_flags(config, 'extract.py', unmapped, images,
                                 root)
    return (f"{_with_config('extract.py', config)} {flags}{images} --output "
            f'{printed(out)}' + _unmapped_note(unmapped, recorded_in)
            + _doubt_note(doubt, prov, recorded_in) + fill)


def _doubt_note(doubt: Optional[str], prov, recorded_in: Optional[str],
                copies: bool = False) -> str:
    """The words after a command whose encoder is a placeholder
    (:func:`_doubted_flags`) where the JSON ``recorded_in`` (provenance
    ``prov``) records an encoder not sure to be its set's
    (:func:`_encoder_doubt`): why, what to give (the seed of a random
    initialisation, else the weights, of the set that JSON describes:
    ``NCT_train``'s for the copies, r158), and the settings that JSON
    records as the flags that give them (:func:`_settings_flags`,
    ``copies`` as the copies' config takes them; quoted, and those that do
    not spell back named), so that following the note writes that set
    (r158: it said to give "its settings", and a run that followed it
    dropped ``dataset.pipeline.1.scale=64``); nothing where ``doubt`` is
    None."""
    if not doubt:
        return ''
    name = os.path.splitext(os.path.basename(recorded_in))[0]
    unmapped: List[str] = []
    settings = _settings_flags(prov, _library_encoder(prov), copies,
                               unmapped).strip()
    seed = _recorded_seed(prov)
    what = (f'{SEED}: the encoder recorded in {recorded_in} is not taken: '
            f'{doubt}; give the seed of the random initialisation {name} '
            'was extracted with' + (f' (that JSON records {seed})'
                                    if seed is not None else '')) \
        if _is_random(prov) else (
            f'{_CKPT}the encoder recorded in {recorded_in} is not taken: '
            f'{doubt}; give the '
            f'{"weights" if _library_encoder(prov) else "checkpoint"} '
            f'{name} was extracted with')
    if settings:
        what += (', and add the settings that JSON records where they are '
                 f'those {name} was extracted with: {settings}')
    if unmapped:
        what += f' ({", ".join(unmapped)} of it do not spell back as flags)'
    return f' ({what})'


def _unmapped_note(unmapped: List[str], recorded_in: Optional[str]) -> str:
    """`` (with the settings recorded in <json>: ... do not spell back as
    flags)`` after a command that writes a set as the set of the JSON
    ``recorded_in`` was written, for the ``unmapped`` settings of
    :func:`_encoder_flags`, then the words on a :data:`SEED` or ``CKPT``
    printed in place of a recorded encoder not sure to be the set's
    (:func:`_init_flags`, :func:`_not_sure`); nothing where there are
    none."""
    notes = [u for u in unmapped if u == _SEED_UNKNOWN or
             u.startswith(_CKPT)]
    flags = [u for u in unmapped if u not in notes]
    said = [f'{", ".join(flags)} do not spell back as flags'] if flags \
        else []
    said += notes
    return (f' (with the settings recorded in {recorded_in}: '
            f'{"; ".join(said)})') if said else ''


def _library_encoder(prov) -> Optional[Dict]:
    """The ``encoder`` a provenance records of a library model (timm,
    open_clip: ``--model-source``), which makes no augmented copies; None
    for a config's encoder."""
    enc = prov.get('encoder') if isinstance(prov, dict) else None
    return enc if isinstance(enc, dict) and enc.get('library') else None


#: the start of :func:`no_library_copies`' line, a way out that makes no
#: copies (:func:`way_words` says it as such)
NO_LIBRARY_COPIES = ('a library model (--model-source) makes no augmented '
                     'copies')

def no_library_copies() -> str:
    """The way out where a workdir's augmented copies (``NCT_aug``) would
    come from a library model (``--model-source``), which makes none (the
    same line for every workdir and model): the flags that skip what reads them, added to the
    command that failed (the ablation's ``--image none --hybrid none``,
    the meta-test's ``--aug_times 0``). No full command: this line is
    made where that command's other flags are unknown, and the ablation's
    command and ``ablation.sh`` it named ran the published settings (5
    shots, 300 tasks, every part), the script writing over the model's
    table (review r115)."""
    return (f'{NO_LIBRARY_COPIES}: skip what reads them: add --image none '
            '--hybrid none to your ablation.py command, or --aug_times 0 '
            'to your distributed_meta_test.py command')


def copies_way(output: str) -> str:
    """How the augmented copies ``output`` (a workdir's ``NCT_aug``) are
    made, by the provenance of another set of their model
    (:func:`_recorded_sibling`): the copies' extraction from the encoder
    and with the settings it records (:func:`copies_command`; ``CKPT``
    where none records one), or, beside a library model's sets, none
    (:func:`no_library_copies`)."""
    other = _recorded_sibling(output, 'NCT_aug')
    return _copies_way(output, _sibling_json(other) if other else None,
                       _json_of(other) if other else None)


def _copies_way(out: str, prov, recorded_in: Optional[str] = None,
                jsons: Optional[Dict[str, Dict]] = None) -> str:
    """How the ablation's augmented copies ``out`` (``NCT_aug``) are made,
    beside a set of the model with provenance ``prov`` (the JSON
    ``recorded_in``): their extraction from its encoder, with its settings
    (:func:`copies_command`); a library model makes none: skip the parts
    that read them (:func:`no_library_copies`)."""
    if _library_encoder(prov):
        return no_library_copies()
    return copies_command(out, prov, recorded_in, jsons)


def check_all_recorded(sets) -> None:
    """Refuse a feature set without a provenance JSON beside one that has
    one: its encoder cannot be compared with the other's (a file copied
    from another model's folder without its JSON was used beside this
    model's without a word). "Beside" is the run's other sets, or any
    other set of the model's folder (``extracted_feats/<model>/``, by the
    JSON's existence alone: the mixture domain reads one set, ``LC``, for
    support and queries, and a copied ``LC`` there had nothing of the run
    to be compared with). Sets that all lack one (written before
    provenance was recorded, or by hand) are not judged; features computed
    elsewhere get theirs from ``import_features.py``, which records them
    as imported (not compared). The line names the commands that write
    the set again, as the other set was written (:func:`_write_again`)."""
    recorded = [fs for fs in sets if fs.provenance is not None]
    for fs in sets:
        if fs.provenance is not None:
            continue
        other = recorded[0].features_path if recorded else \
            _recorded_sibling(fs.features_path, fs.name)
        if other is None:
            continue
        prov = recorded[0].provenance if recorded else _sibling_json(other)
        out = fs.features_path
        raise InputError(
            f'{out} has no provenance JSON '
            f'({os.path.splitext(out)[0]}.json) but {other} '
            'has one: what encoder made it cannot be compared; delete it '
            '(the commands that write a set do not replace one without '
            'its JSON)' + way_words(' and extract it again: ', _write_again(
                fs, prov, _json_of(other)), '; '))


def check_same_kind(*sets: FeatureSet, pipeline: bool = True) -> None:
    """Refuse feature sets of different widths, normalisation or encoders,
    or of one encoder extracted another way (:func:`_extraction_difference`:
    another model, precision (float32 with CUDA's TF32 convolutions or
    not, too) or library release (each library both
    record: torch, timm...), or unless ``pipeline`` is False another
    image pipeline; ``NCT_aug``'s augmenting pipeline is another by design,
    its image size is compared) (as their provenance names them; a set
    without one beside one with one is refused, :func:`check_all_recorded`;
    sets that all lack one, and imported ones, are not compared)."""
    check_all_recorded(sets)
    first = sets[0]
    for other in sets[1:]:
        a, b = encoder_of(first), encoder_of(other)
        if a and b and a[0] != b[0]:
            raise InputError(
                f'{first.features_path} and {other.features_path} come from '
                f'different encoders ({a[1]} vs {b[1]}); extract both with '
                'the same checkpoint')
        differs = _extraction_difference(first, other, pipeline) \
            if a and b else None
        if differs:
            raise InputError(f'{first.features_path} and '
                             f'{other.features_path} {differs}')
        if other.dim != first.dim:
            raise InputError(f'{other.features_path} has width {other.dim} '
                             f'but {first.features_path} has {first.dim}')
        if other.normalised != first.normalised:
            norm, raw = (first, other) if first.normalised else (other, first)
            raise InputError(
                f'{norm.features_path} is L2-normalised but '
                f'{raw.features_path} is not; extract both the same way '
                '(wsi_workdir/extract.py normalises unless --no-normalise)')


def copies_command(output: str, prov=None,
                   recorded_in: Optional[str] = None,
                   jsons: Optional[Dict[str, Dict]] = None) -> str:
    """The command that extracts the ablation's image-augmented copies of
    ``NCT_train`` (``NCT_aug``) to ``output`` (a relative one joined with
    the current folder, where it was given, :func:`~.paths.printed`), run from
    any folder: every path absolute, the script and config the
    checkout's (h167: they were relative, and the command, run from the
    folder the ablation ran in, did not find the script), from the
    encoder of the model's set whose provenance is ``prov`` (the JSON
    ``recorded_in``; ``NCT_train``'s, the support the copies go with)
    with the settings it records, spelt back as every set's are
    (:func:`_encoder_flags`: its
    checkpoint or seeded random initialisation, the model's
    ``--cfg-options``, its image size at the copies' size key, ``--amp``
    with its ``--device``, ``--no-normalise``; what does not spell back
    named as the JSON's), and, recorded by ``NCT_train``, the folder of
    its images (:func:`_images_flags`; where it records none, a
    ``DATA_ROOT`` the user fills in, never the checkout's ``data/NCT`` by
    guess), paths quoted for the shell;
    ``--pretrained CKPT`` where no encoder is known (no ``prov``, a
    library model's, which makes none: :func:`_copies_way`), and for
    imported features, with what their JSON records (``--no-normalise``,
    the images' folder) and that ``CKPT`` must be the encoder that
    computed them."""
    imported = isinstance(prov, dict) and \
        prov.get('checkpoint_kind') == IMPORTED
    known = isinstance(prov, dict) and not _library_encoder(prov) and \
        not imported
    doubt = _encoder_doubt(prov, output, jsons) if known else None
    known = known and not doubt
    encoder, unmapped = _encoder_flags(prov, copies=True) if known else \
        (_doubted_flags(prov), []) if doubt else \
        ('--pretrained CKPT' + (_normalise_flag(prov) if imported else ''),
         [])
    support = (known or imported) and recorded_in is not None and \
        os.path.basename(recorded_in) == 'NCT_train.json'
    images, fill = _images_flags('nct_aug', 'extract.py', unmapped,
                                 prov if support else None)
    encoder_note = (' (CKPT: a checkpoint of the encoder that computed '
                    f'the imported features recorded in {recorded_in}: '
                    'the copies must come from it)' if imported else '')
    return (f"{_with_config('extract.py', 'nct_aug')} {encoder}{images} "
            '--aug_times N '
            f'--output {printed(output)}'
            + _unmapped_note(unmapped, recorded_in) + encoder_note
            + _doubt_note(doubt, prov, recorded_in, copies=True) + fill)


def _with_config(name: str, config: str) -> str:
    """``python <script> --config <config>``: the checkout's
    ``wsi_workdir/<name>`` with its extraction config
    ``configs/extraction/<config>.py`` (:func:`~.paths.script`)."""
    return (f"python {script('wsi_workdir', name)} --config "
            f"{script('configs', 'extraction', config + '.py')}")


def _data_root_as_recorded(prov: Dict, config: str) -> Optional[str]:
    """The data root the set of provenance ``prov``, of extraction config
    ``config``, read its list and images under, as recorded (relative or
    absolute): its ``dataset.data_root`` (``--data-root``'s), else the
    config's own (:data:`DATA_ROOTS`) where the recorded list or images
    lie under it (:func:`_read_under`, whatever the list's own path);
    None where it records neither (one of a config of another root)."""
    options = prov.get('cfg_options')
    root = options.get('dataset.data_root') if isinstance(options, dict) \
        else None
    if isinstance(root, str) and root:
        return root
    root = DATA_ROOTS[config]
    return root if _read_under(prov, root) else None


def _squashed(path: str) -> str:
    """``path`` with repeated and trailing slashes removed (``/x//NCT/``
    is ``/x/NCT``), nothing else: ``..`` after a link to a folder is not
    the link's parent (``os.path.normpath`` made ``/x/lnk/../NCT`` into
    ``/x/NCT``, another folder: review r146)."""
    squashed = re.sub('/+', '/', path)
    return squashed.rstrip('/') or squashed


def _place(path: str, cwd: Optional[str] = None) -> str:
    """What tells two recorded paths of a file or folder apart: ``path``
    (a relative one joined with the recorded ``cwd``, where known) with
    its links resolved (``os.path.realpath``) where it is absolute and
    exists here, else as recorded, its repeated and trailing slashes
    removed (:func:`_squashed`)."""
    path = joined(path, cwd)
    return os.path.realpath(path) if os.path.isabs(path) and \
        os.path.exists(path) else _squashed(path)


def _recorded_cwd(prov) -> Optional[str]:
    """The working folder a provenance records its relative paths
    relative to (``cwd``, absolute); None where it records none (a JSON
    written before 2026-12-03) or no absolute one."""
    cwd = prov.get('cwd') if isinstance(prov, dict) else None
    return cwd if isinstance(cwd, str) and os.path.isabs(cwd) else None


def _as_read(path: str, cwd: Optional[str]) -> str:
    """A path a provenance records, in the words of a note: absolute (a
    relative one joined with the recorded ``cwd``, :func:`_recorded_cwd`),
    or, relative without one, said to be so (it was printed as recorded,
    ``data/NCT``, relative to a folder the note did not name)."""
    if os.path.isabs(path) or cwd:
        return _squashed(joined(path, cwd))
    return f'{path} (relative to a folder not recorded)'


def _recorded_root(prov, config: str) -> Where:
    """Where the set of provenance ``prov``, of extraction config
    ``config``, read its list and images: the folder of
    :func:`_data_root_as_recorded`, absolute (a relative one joined with
    the recorded ``cwd`` it was relative to), as recorded but for its
    repeated and trailing slashes (:func:`_squashed`). Unknown
    (:class:`Where` without a folder, and why)
    where a relative one has no ``cwd`` recorded (a JSON written before
    it was, 2026-12-03: review r143, it was joined with the checkout by
    guess, and the printed command read the checkout's ``data/<set>``,
    exit 0), or where ``prov`` records none (no provenance, or one of a
    config of another root)."""
    root = _data_root_as_recorded(prov, config) if isinstance(prov, dict) \
        else None
    if root is None:
        return Where()
    cwd = _recorded_cwd(prov)
    if not (os.path.isabs(root) or cwd):
        return Where(why=f'the relative data root {root} is recorded '
                      'without the folder it was read from (a JSON written '
                      'before that was recorded)')
    return Where(_squashed(joined(root, cwd)))


def images_folders(workdir: str) -> Dict[str, Where]:
    """Where the images of each feature set of ``workdir`` were read from
    (``{name: where}`` for every name of :data:`~.paths.FEATURE_NAMES`),
    as the provenance JSONs of its models' sets there record
    (:func:`_recorded_root`; the sets of a workdir share its labels, so
    one list): the folder they all record (absolute), unknown (and why)
    where they record different ones (one unknown among them included)
    or one it cannot be sure of; neither (the plain :class:`Where`)
    where no set of the name has a JSON. Each model's JSONs are read
    once for all the names (read again per name, a refusal's way out
    read up to 36 files per model folder six times over)."""
    root = os.path.join(workdir, 'extracted_feats')
    models = sorted(d for d in os.listdir(root) if os.path.isdir(
        os.path.join(root, d))) if os.path.isdir(root) else []
    jsons = {model: _model_jsons(paths.features_path(
        workdir, model, paths.FEATURE_NAMES[0])) for model in models}
    found = {}
    for name in paths.FEATURE_NAMES:
        told = {model: _recorded_root(sets[name], name.lower())
                for model, sets in jsons.items() if name in sets}
        if not told:  # none recorded: the plain Where (the caller says why)
            found[name] = Where()
        elif len(set(told.values())) > 1:
            found[name] = Where(why=f"the models' {name} sets in {workdir} "
                                 'record different folders: ' + ', '.join(
                                     f'{m} {w.root or "none known"}'
                                     for m, w in told.items()))
        else:
            found[name] = next(iter(told.values()))
    return found


def _other_layout(prov: Dict, config: str, root: str,
                  kept: bool = False) -> List[str]:
    """How the set of provenance ``prov``, of extraction config
    ``config``, read under the data root ``root`` (as recorded), read its
    list or images otherwise than ``config`` lays them out under its data
    root (:data:`LIST_FILES`, :data:`DATA_PREFIX`; ``kept``: with the
    ``--cfg-options`` of its list and image folder that a printed command
    gives as recorded, :data:`_SUPPORT_LIST_KEYS`): each ``--cfg-options``
    of where they lie but the data root (and those kept) that gives
    another value than the config's (``dataset.data_prefix=alt``), else
    the recorded list or image folder that lies elsewhere under ``root``
    than the config's (a config file of the user's: compared as
    :func:`_place` tells paths apart); empty where it read the config's
    layout. Such a set tells nothing of where another set's images lie
    under that root: that layout is its own (review r143: NCT_test's
    command took NCT_train's ``--data-root`` without its
    ``dataset.data_prefix``, and pasted elsewhere read other images,
    exit 0)."""
    own = {'dataset.ann_file': LIST_FILES[config],
           'dataset.data_prefix': DATA_PREFIX}
    options = prov.get('cfg_options')
    options = options if isinstance(options, dict) else {}
    if kept:  # (a value that does not spell back is not given)
        own.update({k: v for k, v in options.items()
                    if k in _SUPPORT_LIST_KEYS and isinstance(v, str)
                    and _flag_value(v) is not None})
    said = [f'{k}={v}' for k, v in options.items() if k != 'dataset.data_root'
            and set(str(k).split('.')) & set(_WHERE_KEYS) and own.get(k) != v]
    cwd = _recorded_cwd(prov)
    for key, field in (('dataset.ann_file', 'list_file'),
                       ('dataset.data_prefix', 'data_prefix')):
        read = prov.get(field)
        if not said and isinstance(read, str) and _place(read, cwd) != \
                _place(os.path.join(root, own[key]), cwd):
            said.append(f'{field} {_as_read(read, cwd)}')
    return said


def _images_root(prov, config: str, out: Optional[str] = None,
                 jsons: Optional[Dict[str, Dict]] = None) -> Where:
    """Where the set of provenance ``prov`` (the set's own, a newer set's
    of the name, ``NCT_train``'s for its copies), of extraction config
    ``config``, read its images, as a printed command of that config
    reads them again (its folder, :func:`_recorded_root`, with the list
    and image folder options it records, :func:`_images_flags`): unknown
    (and why) where the JSON records the features of another set than
    the config's (``outputs.features``: a JSON copied from another set's);
    with ``out``, the path of the set it is left as the own JSON of, where
    it may not be that set's own (:func:`_not_own`, the rule its encoder
    is judged by too, the sets beside it ``jsons``: a JSON copied from
    another model's set of the name, review r153),
    where it read its list or images under no data root of the config (a
    config file of the user's that names them absolute), or with another
    layout under it (:func:`_other_layout`: a config file of the user's
    with ``data_prefix='alt'``; review r146: its own folder was printed
    without it, and the command pasted read other images, exit 0); the
    default :class:`Where` where ``prov`` records no folder at all."""
    if not isinstance(prov, dict):
        return Where()
    name = 'NCT_train' if config == 'nct_aug' else \
        {n.lower(): n for n in paths.FEATURE_NAMES}[config]
    made = _features_elsewhere(prov, name)
    if made:
        return Where(why=f'the provenance of {name} records the features '
                      f'of another set, {made}')
    why = _not_own(prov, out, jsons) if out is not None else None
    if why:
        return Where(why=f'the provenance of {name} left at {out} may not '
                     f'be its own: {why}')
    root = _data_root_as_recorded(prov, config)
    cwd = _recorded_cwd(prov)
    read = [f'{field} {_as_read(prov[field], cwd)}'
            for field in ('list_file', 'data_prefix')
            if isinstance(prov.get(field), str) and prov[field]]
    if root is None:
        return Where(why=f'{name} read its {", ".join(read)} under no data '
                      f'root of {config}.py (a config of its own)') \
            if read else Where()
    differ = _other_layout(prov, config, root, kept=True)
    if differ:
        return Where(why=_layout_words(name, prov, config, root, differ))
    return _recorded_root(prov, config)


def _layout_words(name: str, prov, config: str, root: str,
                  differ: List[str]) -> str:
    """The words on set ``name`` (provenance ``prov``, of extraction config
    ``config``) read with another layout (``differ``,
    :func:`_other_layout`) than its config's under the data root
    ``root``: ``read its images under <root> with ...`` where it records
    that root (``dataset.data_root``); where the root is the config's own,
    taken from the recorded paths (:func:`_read_under`, lexically where
    they do not all exist here: ``data/lnk/../NCT``, ``lnk`` a link
    elsewhere, is not under ``data/NCT`` once resolved), the paths it
    records and the root they were compared with, no claim that it read
    under it (review r153: the line said it read its images under
    ``/u/data/NCT``, a folder it did not read)."""
    cwd = _recorded_cwd(prov)
    options = prov.get('cfg_options')
    if isinstance(options, dict) and options.get('dataset.data_root'):
        return (f'{name} read its images under {_as_read(root, cwd)} with '
                f'{", ".join(differ)}, not as {config}.py lays them out '
                'there')
    return (f'{name} records its {", ".join(differ)}, not as {config}.py '
            f'lays out its list and images under {_as_read(root, cwd)}')


def _shared_root(name: str, other: str, prov) -> Optional[Where]:
    """Where set ``name``'s images lie as set ``other``'s provenance
    ``prov`` tells: None where it tells nothing (the two sets' configs
    read other data roots, :data:`DATA_ROOTS`: LC beside NCT's sets; or it
    records no folder); the folder it records (:func:`_recorded_root`)
    where it read its config's own layout there; unknown where it read
    another (:func:`_other_layout`), or the folder is."""
    mine, theirs = name.lower(), other.lower()
    if theirs not in DATA_ROOTS or DATA_ROOTS[mine] != DATA_ROOTS[theirs] \
            or not isinstance(prov, dict):
        return None
    root = _data_root_as_recorded(prov, theirs)
    if root is None:
        return None
    differ = _other_layout(prov, theirs, root)
    if differ:
        return Where(why=_layout_words(other, prov, theirs, root, differ)
                      + ": this set's may lie elsewhere")
    return _recorded_root(prov, theirs)


def _sibling_root(out: str, name: str, jsons: Dict[str, Dict],
                  own=None) -> Where:
    """Where the images of set ``name`` at ``out`` lie as the other sets of
    its model folder with features and a provenance JSON (``jsons``,
    :func:`_model_jsons`) tell (:func:`_shared_root`), and its own
    provenance ``own`` where there is one (left behind by a set moved
    away, or of features that differ from it: :func:`_images_root`): the
    folder they record; unknown where none tells, the set's own JSON
    tells none it can be sure of, or a sibling tells no folder (with the
    own JSON's folder: a sibling read with a layout of its own, or whose
    JSON is left without its features, is compared by the data root it
    records, and one that records none is no agreement, review r150); and
    where two tell other folders (told apart
    by :func:`_place`: ``/x//NCT`` is ``/x/NCT``, a link's ``..`` is not
    the link's parent; review r146: a stale own JSON's folder, other
    images, was taken over the siblings')."""
    folder = os.path.dirname(out)
    told = {other: _shared_root(name, other, prov)
            for other, prov in jsons.items() if other != name and
            os.path.isfile(os.path.join(folder, f'{other}.npy'))}
    told = {k: w for k, w in told.items() if w is not None}
    mine = _images_root(own, name.lower(), out, jsons)
    if mine.root is None and mine != Where():
        return mine
    if mine.root is None:
        for where in told.values():
            if where.root is None:
                return where
    else:
        # a sibling read with a layout of its own, or under no data root
        # of its config, still records where it read: its data root as
        # recorded is compared with the own JSON's, and one that cannot be
        # is no agreement (review r150: an older own JSON's folder, other
        # images, won over NCT_train read with data_prefix=alt elsewhere)
        # A sibling's JSON left without its features (both sets moved
        # away to extract again) records where it read as much as the
        # set's own left JSON does: compared too (r150: the older own
        # JSON's folder was printed)
        sure = {name: mine}
        for other, prov in jsons.items():
            if other == name or other not in told and not (
                    other.lower() in DATA_ROOTS and DATA_ROOTS[
                        other.lower()] == DATA_ROOTS[name.lower()]):
                continue
            where = told.get(other)
            if where is None or where.root is None:
                where = _recorded_root(prov, other.lower()) \
                    if isinstance(prov, dict) else Where()
            if where.root is None:  # its own reason, where it has one
                return Where(why=(
                    f'{other} beside it records no folder its images were '
                    'read from' if where == Where() else where.why)
                    + f" (to compare with {name}'s {mine.root})")
            sure[other] = where
        told = sure
    if len({_place(w.root) for w in told.values()}) > 1:
        return Where(why='the sets here record different folders: ' +
                      ', '.join(f'{k} {w.root}' for k, w in told.items()))
    return next(iter(told.values()), Where())


def _images_flags(config: str, tool: str, unmapped: List[str], images=None,
                  root: Optional[Where] = None) -> Tuple[str, str]:
    """Where a printed command of ``tool`` (``extract.py``,
    ``import_features.py``) of extraction config ``config`` reads its list
    and images, so that it reads the same ones from any folder (the
    configs' ``data_root`` is relative, :data:`DATA_ROOTS`: without it, a
    command pasted in another folder stopped on the list not found, or
    read the ``data/<set>`` of that folder): ``--data-root <folder>``
    (quoted; ``--cfg-options dataset.data_root=<folder>`` for
    ``import_features.py``, which has no ``--data-root``), the folder
    ``root`` tells where given (the set's own JSON judged with the sets
    beside it, :func:`_sibling_root`), else the folder ``images``, a
    provenance of a set of this config's images (``NCT_train``'s for its
    copies, :func:`check_copies_of` compares them; another model's set of
    the name), records where it can be sure of it (:func:`_images_root`:
    absolute, a relative one joined with the ``cwd`` it records), else
    :data:`DATA_ROOT` for the
    user to fill in (never the checkout's ``data/<set>`` by guess: a user
    whose data lies elsewhere read the checkout's, exit 0, review r136;
    nor a relative folder recorded without its ``cwd`` joined with the
    checkout, r143); and the list or prefix of another place ``images``
    records (``dataset.ann_file``, ``dataset.data_prefix``, relative to
    the data root; ``--cfg-options``; a value that does not spell back
    goes to ``unmapped``). Returns the flags and, for :data:`DATA_ROOT`,
    the words that say why and what to put there (else empty)."""
    options = images.get('cfg_options') if isinstance(images, dict) \
        else None
    options = options if isinstance(options, dict) else {}
    told = root if root is not None else _images_root(images, config)
    # the list and prefix, relative to the data root as mmpretrain reads
    # them, spelt back as recorded (a value that does not read back as
    # itself is named as the JSON's)
    where = {k: v for k, v in options.items() if k in _SUPPORT_LIST_KEYS}
    unmapped.extend(f'--cfg-options {k} (where its images lie)'
                    for k in options if k != 'dataset.data_root'
                    and k not in where
                    and set(str(k).split('.')) & set(_WHERE_KEYS))
    fill = '' if told.root else (
        f' ({DATA_ROOT}: {told.why}; give the folder that holds them as '
        f"{script('configs', 'extraction', config + '.py')} names them "
        f'under its data_root {DATA_ROOTS[config]})')
    root = told.root or DATA_ROOT
    if tool == 'import_features.py':
        return _key_values('--cfg-options',
                           {'dataset.data_root': root, **where},
                           unmapped), fill
    return f' --data-root {shlex.quote(root)}' + _key_values(
        '--cfg-options', where, unmapped), fill


def _read_under(prov, top: str) -> bool:
    """Whether the set of provenance ``prov`` read its list or its images
    under the relative data root ``top`` (a config's own,
    :data:`DATA_ROOTS`), as mmpretrain joins them to it: its recorded
    ``list_file`` or image folder (``data_prefix``) relative and at or
    under it. An absolute list (``dataset.ann_file=/...``) is not under
    it, but the images it names are still read under the root.
    Both joined with the recorded ``cwd`` (:func:`_recorded_cwd`) and
    compared with their links resolved where both exist here (h237: a
    lexical ``data/lnk/../NCT``, ``lnk`` a link elsewhere, was taken for
    ``data/NCT``, a folder of other images, and ``data/NCTl``, a link to
    ``data/NCT``, for none); lexically (``os.path.normpath``) where either
    does not exist here, a link on the way then left unresolved (it may
    not be under it: the layout compare, :func:`_other_layout`, resolves
    what exists, and the note names the recorded paths, not a folder
    they were read under, :func:`_layout_words`)."""
    cwd = _recorded_cwd(prov)
    return any(isinstance(p, str) and p and not os.path.isabs(p) and
               _at_or_under(p, top, cwd)
               for p in (prov.get('list_file'), prov.get('data_prefix')))


def _at_or_under(path: str, top: str, cwd: Optional[str]) -> bool:
    """Whether the relative ``path`` is ``top`` or lies under it, both
    relative to the folder ``cwd``: resolved (:func:`_place`) where
    ``cwd`` is known and both exist, else lexically
    (``os.path.normpath``)."""
    if cwd and all(os.path.exists(joined(p, cwd)) for p in (path, top)):
        path, top = _place(path, cwd), _place(top, cwd)
    else:
        path, top = os.path.normpath(path), os.path.normpath(top)
    return (path + os.sep).startswith(top.rstrip(os.sep) + os.sep)


#: where ``NCT_train``'s list and images lie under its data root, the
#: options the copies' command gives as recorded (:func:`_images_flags`)
_SUPPORT_LIST_KEYS = ('dataset.ann_file', 'dataset.data_prefix')


def check_copies_of(support: FeatureSet, copies: FeatureSet) -> None:
    """Refuse image-augmented ``copies`` (``NCT_aug``, row ``c * N + i``
    a copy of support row ``i``) made from another list or other images
    than ``support``, as their provenance records them (``list_sha1``;
    ``images_sha1``, the digest of a sample of the list's images' bytes,
    taken over the list itself, not its copies): each support feature
    would train beside copies of another image (a dataset regenerated, or
    another release of it, and the support set extracted again without
    its copies). Labels alone (checked by the caller) cannot tell; sets
    without a provenance, or one without the digests, are not judged.
    ``copies`` whose provenance records no augmented passes (no
    ``aug_times``, or 0: ``import_features.py``, ``extract.py`` without
    ``--aug_times``) are refused: one pass over the list, not copies."""
    pa, pb = support.provenance, copies.provenance

    def command() -> str:  # the way out, made where a refusal names it
        return copies_command(copies.features_path, pa,
                              _json_of(support.features_path))
    made = pb.get('aug_times') if isinstance(pb, dict) else 1
    if not (isinstance(made, int) and made >= 1):
        # one pass over the list (import_features.py, extract.py without
        # --aug_times): taken for one augmented copy, the support
        # features themselves where they came from the same encoder
        raise InputError(
            f'{copies.features_path}: its provenance records no augmented '
            f'copies (aug_times {made!r}: one pass over the list, as '
            'import_features.py and extract.py with --aug_times 0 write), '
            f'not the augmented copies of {support.name} that the image '
            'part reads; extract them: ' + command())
    if not (isinstance(pa, dict) and isinstance(pb, dict)):
        return
    for field, words in (('list_sha1', 'another image list'),
                         ('images_sha1', 'other images under the same '
                          'names (the dataset written again since?)')):
        a, b = pa.get(field), pb.get(field)
        if a and b and a != b:
            raise InputError(
                f'{copies.features_path} holds augmented copies of {words} '
                f'than {support.features_path} ({field} {b[:12]} vs '
                f'{a[:12]}); extract them again from the list and images '
                f'of {support.name}: {command()}')


def _recorded_images(fs: FeatureSet,
                     meta) -> Optional[Tuple[str, list, Optional[str]]]:
    """``(root, paths, cwd)`` as recorded: the folder ``fs``'s images were
    read from, their paths under it (the ``paths`` of its
    ``<NAME>_meta.json``, one per row; written by ``extract.py`` and
    ``import_features.py``) and the working folder a relative ``root`` is
    relative to (absolute; None where not recorded, before 2026-12-03).
    ``root`` and ``cwd`` are the set's own provenance's (the meta JSON is
    shared by the workdir's models and names the folder of the last one
    written), else ``root`` is the meta JSON's, without ``cwd``. None
    where they do not record both, or not one path per row (older
    files)."""
    if not isinstance(meta, dict) or not isinstance(meta.get('paths'), list) \
            or len(meta['paths']) != len(fs.labels):
        return None
    prov = fs.provenance if isinstance(fs.provenance, dict) else {}
    root, cwd = prov.get('data_prefix'), _recorded_cwd(prov)
    if not isinstance(root, str):
        root, cwd = meta.get('data_prefix'), None
    if not isinstance(root, str):
        return None
    return root, [str(p).replace('\\', '/') for p in meta['paths']], cwd


def _file_name(path: str) -> str:
    """The last part of a recorded path: the file name it names after
    normalisation too, unless '' (a path ending in ``/``, ``.`` or ``..``,
    which normalisation may change)."""
    name = path.rpartition('/')[2]
    return '' if name in ('.', '..') else name


def shared_image(support: FeatureSet, query: FeatureSet, support_meta,
                 query_meta) -> Optional[Tuple[str, int]]:
    """An image file that both feature sets hold, by what their records
    say (:func:`_recorded_images`; no image is read): the first support
    image (in row order) whose path, joined to its set's folder and
    normalised, is a query image's, as the support set records it, and how
    many distinct images the two share; None where they share none or it
    cannot be told.

    A relative folder is joined to its set's recorded working folder.
    Where that leaves one folder absolute and the other relative (one
    working folder unrecorded: a set extracted before it was), both are
    taken as recorded: two relative folders as relative to one place, an
    absolute and a relative one not judged. Also not judged: a set that
    records no folder or not one path per row. Absolute folders are
    compared resolved (symbolic links followed: one call each). An image
    named twice within one set (PAIP19's published lists) is not a shared
    one.

    Cheap on paper-scale sets: paths are joined and normalised only where
    their file names meet."""
    a = _recorded_images(support, support_meta)
    b = _recorded_images(query, query_meta)
    if a is None or b is None:
        return None
    root_a, root_b = (os.path.join(cwd, root) if cwd else root
                      for root, _, cwd in (a, b))
    if os.path.isabs(root_a) != os.path.isabs(root_b):
        root_a, root_b = a[0], b[0]
        if os.path.isabs(root_a) != os.path.isabs(root_b):
            return None
    names_a = {_file_name(p) for p in a[1]}
    names_b = {_file_name(p) for p in b[1]}
    if '' in names_a or '' in names_b:  # rare: every path a candidate
        meet = None
    else:
        meet = names_a & names_b
        if not meet:
            return None

    def keys(root: str, rel: list) -> Dict[str, str]:
        base = os.path.realpath(root) if os.path.isabs(root) else root
        out = {}
        for p in rel:
            if meet is None or _file_name(p) in meet:
                out.setdefault(os.path.normpath(os.path.join(base, p)), p)
        return out

    ka, kb = keys(root_a, a[1]), keys(root_b, b[1])
    common = ka.keys() & kb.keys()
    if not common:
        return None
    first = next(k for k in ka if k in kb)  # dicts keep the row order
    return os.path.normpath(os.path.join(root_a, ka[first])), len(common)


def check_disjoint(support: FeatureSet, query: FeatureSet, workdir: str,
                   meta: Optional[Callable[[str], Optional[Dict]]] = None
                   ) -> None:
    """Refuse support and query sets that hold the same image file
    (:func:`shared_image`, from their meta JSONs and provenance): a query
    that is also a support image is scored against its own feature.
    Silent where the records cannot tell. ``meta``: a set's name to its
    meta JSON as loaded (:func:`load_meta` by default; the meta-test's
    inputs keep each one they read)."""
    meta = meta or (lambda name: load_meta(workdir, name))
    found = shared_image(support, query, meta(support.name),
                         meta(query.name))
    if found is None:
        return
    image, count = found
    more = f' and {count - 1} more' if count > 1 else ''
    raise InputError(
        f'{support.features_path} (support) and {query.features_path} '
        f'(queries) hold the same image {image}{more} (by the paths of '
        f'{os.path.basename(paths.meta_path(workdir, support.name))} and '
        f'{os.path.basename(paths.meta_path(workdir, query.name))} under '
        'their data folders): a query would be scored against its own '
        'support feature; extract the query set from a list without the '
        "support set's images")


def load_meta(workdir: str, name: str, required: bool = False,
              num_rows: Optional[int] = None) -> Optional[Dict]:
    """Read ``<NAME>_meta.json`` (keys ``paths``, ``classes``...).

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
                + _hint(name, paths.features_path(workdir, '<model>', name))
                + ')')
        return None
    meta = load_json(path, 'image metadata JSON')
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
    _, ids = np.unique(np.asarray(slides), return_inverse=True)
    return ids.astype(np.int64).reshape(-1)


def class_names(meta: Optional[Dict]) -> Optional[List[str]]:
    """The class names a ``<NAME>_meta.json`` as loaded (:func:`load_meta`)
    records, or None (no file, or no names in it)."""
    if meta and meta.get('classes'):
        return [str(c) for c in meta['classes']]
    return None
