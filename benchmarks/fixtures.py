"""Paper-scale synthetic features in the low-shot workdir layout.

The benchmarks measure the low-shot toolkit at the real datasets' sizes
without the data: :func:`make_paper_workdir` writes float32 features with
class structure, int64 labels and the meta JSON (image paths with slide ids,
class names) of every feature set, exactly where
:mod:`openselfsup.lowshot.paths` puts extracted features::

    set          rows      classes  slides
    NCT_train    100,000   9        -
    NCT_test      20,000   9        -
    LC            25,000   5        -
    PAIP_train    30,000   3        30  (every slide holds every class)
    PAIP_test      9,000   3        10

NCT sizes are those of issue 14's user-path benchmark (100,000 x 512 train,
20,000 x 512 test; the held-out test part of NCT-CRC-HE-100K-NONORM is
20,000 images, the paper's train part 80,000).

Features imitate global-average-pooled ResNet outputs: non-negative, a class
centre plus a low-rank class-specific deformation plus isotropic noise, so
the classes overlap enough that low-shot F1 is far from 100%. Like the
extractor's default (the published protocol), every row is L2-normalised
unless ``normalise=False``, and a provenance JSON beside each feature file
records the digests and the normalisation as ``extract.py`` writes them, so
readers run the same checks as on extracted features. Labels (and
slides) depend only on ``seed``; the features of each model also on its
name, so several models share one label file as extracted features do.
Everything is vectorised numpy in float32; the whole workdir of one model
takes a few seconds.

Use from a benchmark::

    from benchmarks.fixtures import make_paper_workdir
    make_paper_workdir('/tmp/paper', models=['clp'], seed=0)
"""
import json
import os
import sys
import zlib
from typing import Dict, Iterable, Optional, Tuple

import numpy as np

if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))

from openselfsup.classes import LC_CLASSES, NCT_CLASSES, PAIP_CLASSES
from openselfsup.lowshot import paths
from openselfsup.utils import array_sha1, save_json, save_npy

#: name -> (rows, class names, training slides or 0)
PAPER_SIZES: Dict[str, Tuple[int, Tuple[str, ...], int]] = {
    'NCT_train': (100_000, tuple(NCT_CLASSES), 0),
    'NCT_test': (20_000, tuple(NCT_CLASSES), 0),
    'LC': (25_000, tuple(LC_CLASSES), 0),
    'PAIP_train': (30_000, tuple(PAIP_CLASSES), 30),
    'PAIP_test': (9_000, tuple(PAIP_CLASSES), 10),
}

#: the dataset each feature set is drawn from (train and test share centres)
_DATASET = {'NCT_train': 'NCT', 'NCT_test': 'NCT', 'LC': 'LC',
            'PAIP_train': 'PAIP', 'PAIP_test': 'PAIP'}


def _rng(seed: int, *keys: str) -> np.random.Generator:
    """A generator keyed by ``seed`` and strings (stable across runs)."""
    words = [zlib.crc32(k.encode()) for k in keys]
    return np.random.default_rng([int(seed), *words])


def make_labels(name: str, seed: int = 0,
                sizes: Optional[Dict] = None) -> Tuple[np.ndarray,
                                                       Optional[np.ndarray]]:
    """Labels (int64 ``[N]``, shuffled, classes near-balanced) and slide ids.

    Args:
        name (str): feature set name (a key of ``sizes``).
        seed (int): seed.
        sizes (dict, optional): overrides :data:`PAPER_SIZES`.

    Returns:
        (np.ndarray, np.ndarray | None): labels, and slide ids ``[N]`` for
        sets with slides (every slide holds every class).
    """
    rows, classes, slides = (sizes or PAPER_SIZES)[name]
    rng = _rng(seed, 'labels', name)
    labels = rng.permutation(np.arange(rows) % len(classes)).astype(np.int64)
    if not slides:
        return labels, None
    # within each class, spread the rows over the slides round-robin
    slide = np.empty(rows, dtype=np.int64)
    for c in range(len(classes)):
        rows_c = np.flatnonzero(labels == c)
        slide[rows_c] = rng.permutation(np.arange(len(rows_c)) % slides)
    return labels, slide


def make_features(labels: np.ndarray, dataset: str, model: str,
                  seed: int = 0, dim: int = 512, rank: int = 16,
                  separation: float = 0.12, noise: float = 0.35,
                  deform: float = 0.25, normalise: bool = True) -> np.ndarray:
    """Class-structured non-negative features float32 ``[N, dim]``.

    ``x = relu(mu_c + deform * z @ U_c + noise * e)``, then ``x / ||x||``
    (``normalise``), with ``z ~ N(0, I_rank)``
    and ``e ~ N(0, I_dim)``; the class centres ``mu_c`` and deformations
    ``U_c`` depend on ``(seed, dataset, model)``, so train and test sets of
    one dataset share their classes.

    Args:
        labels (np.ndarray): int ``[N]`` class of each row.
        dataset (str): 'NCT', 'LC' or 'PAIP'.
        model (str): model name (features differ between models).
        seed (int): seed.
        dim (int): feature width D.
        rank (int): rank of the class-specific deformation.
        separation (float): spread of class centres around the common mean.
        noise (float): isotropic noise level.
        deform (float): strength of the low-rank deformation.
        normalise (bool): L2-normalise every row (the protocol's default).
    """
    num_classes = int(labels.max()) + 1
    crng = _rng(seed, 'centres', dataset, model)
    common = np.abs(crng.standard_normal(dim, dtype=np.float32)) * 0.8
    centres = common + separation * crng.standard_normal(
        (num_classes, dim), dtype=np.float32)
    basis = crng.standard_normal((num_classes, rank, dim),
                                 dtype=np.float32) / np.sqrt(rank)
    rng = _rng(seed, 'rows', dataset, model, str(len(labels)))
    z = rng.standard_normal((len(labels), rank), dtype=np.float32)
    feats = rng.standard_normal((len(labels), dim), dtype=np.float32)
    feats *= noise
    feats += centres[labels]
    for c in range(num_classes):  # one matmul per class, no [N, r, D] tensor
        rows = np.flatnonzero(labels == c)
        feats[rows] += deform * (z[rows] @ basis[c])
    np.maximum(feats, 0, out=feats)
    if normalise:
        feats /= np.maximum(np.linalg.norm(feats, axis=1, keepdims=True),
                            1e-12)
    return feats


def make_store(support_labels: np.ndarray, query_labels: np.ndarray,
               ways: int, shots: int, num_task: int, queries: int = 15,
               seed: int = 0):
    """In-memory tasks over classes ``0..ways-1`` of two pools, for
    benchmarks whose shapes no domain of the run spec has (any ways).

    Each task holds ``shots`` support rows and ``queries`` query rows per
    class, drawn without replacement by the task sampler's
    :func:`~openselfsup.lowshot.tasks.sample_rows`.

    Returns:
        TaskStore: not saved (``path`` None).
    """
    from openselfsup.lowshot.tasks import TaskStore, sample_rows
    rng = np.random.default_rng(seed)

    def draw(labels, k):
        rows = [np.flatnonzero(labels == c) for c in range(ways)]
        idx = np.stack([r[sample_rows(rng, len(r), k, num_task)]
                        for r in rows], 1).reshape(num_task, -1)
        return idx, labels[idx]
    s_idx, s_lab = draw(support_labels, shots)
    q_idx, q_lab = draw(query_labels, queries)
    return TaskStore(s_idx, q_idx, s_lab, q_lab, np.arange(ways), seed,
                     shots, queries, 'bench', '', 'support', 'query', -1, '')


def make_paper_workdir(workdir: str, models: Iterable[str] = ('clp',),
                       seed: int = 0, dim: int = 512,
                       names: Iterable[str] = tuple(PAPER_SIZES),
                       sizes: Optional[Dict] = None,
                       overwrite: bool = False,
                       normalise: bool = True) -> Dict[str, str]:
    """Write features, labels, meta and provenance JSON of ``names`` for
    every model.

    Existing files are kept unless ``overwrite`` when their provenance says
    they were written with the same seed, width, normalisation and labels
    (the output is a pure function of these, so a rerun would write the
    same bytes); files of other settings are written again.

    Args:
        workdir (str): the low-shot work directory to fill.
        models (iterable of str): model names, e.g. ``['clp', 'clp_wo_0']``.
        seed (int): seed of labels and features.
        dim (int): feature width.
        names (iterable of str): feature sets to write.
        sizes (dict, optional): overrides :data:`PAPER_SIZES` (rows, class
            names, slides), e.g. for a small test.
        overwrite (bool): rewrite existing files.
        normalise (bool): L2-normalised features (the protocol's default).

    Returns:
        dict: ``{'<model>/<NAME>': features path}``.
    """
    sizes = sizes or PAPER_SIZES
    written = {}
    for name in names:
        labels, slides = make_labels(name, seed, sizes)
        lpath = paths.labels_path(workdir, name)
        os.makedirs(os.path.dirname(lpath), exist_ok=True)
        if overwrite or not _same_labels(lpath, labels):
            save_npy(lpath, labels)
            classes = list(sizes[name][1])
            if slides is None:
                img = [f'{classes[c]}/img{i:06d}.png'
                       for i, c in enumerate(labels)]
            else:
                img = [f'slide{s:03d}/{classes[c]}/img{i:06d}.png'
                       for i, (s, c) in enumerate(zip(slides, labels))]
            save_json(paths.meta_path(workdir, name),
                      {'paths': img, 'classes': classes,
                       'source': 'benchmarks/fixtures.py', 'seed': seed},
                      indent=None)
        record = {'source': 'benchmarks/fixtures.py', 'seed': seed,
                  'feature_dim': dim, 'normalised': bool(normalise),
                  'labels_sha1': array_sha1(labels)}
        for model in models:
            fpath = paths.features_path(workdir, model, name)
            ppath = paths.provenance_path(workdir, model, name)
            written[f'{model}/{name}'] = fpath
            if not overwrite and os.path.isfile(fpath) and \
                    _provenance_matches(ppath, record):
                continue
            os.makedirs(os.path.dirname(fpath), exist_ok=True)
            feats = make_features(labels, _DATASET[name], model, seed, dim,
                                  normalise=normalise)
            save_npy(fpath, feats)
            save_json(ppath, {**record, 'features_sha1': array_sha1(feats)})
    return written


def ensure_dictionary(workdir: str, spec) -> str:
    """Path of the dictionary ``spec`` (a ``DictionarySpec``) names, built
    unless the one on disk passes the run's checks (features changed since,
    e.g. by a new fixture version: built again)."""
    from openselfsup.lowshot.dictionary import (check_dictionary,
                                                construct_dictionary,
                                                load_dictionary)
    from openselfsup.lowshot.features import load_features
    from openselfsup.utils import InputError
    path = spec.path(workdir)
    if os.path.isfile(path):
        try:
            check_dictionary(load_dictionary(path), spec, load_features(
                workdir, spec.model, spec.features))
            return path
        except InputError:
            pass
    construct_dictionary(workdir, spec, replace=True)
    return path


def ensure_task_store(workdir: str, spec):
    """The task store ``spec`` (a ``TaskSpec``) names: reused if it passes
    the checks, else drawn again (e.g. labels of an older fixture)."""
    from openselfsup.lowshot.tasks import generate_task_store
    from openselfsup.utils import InputError
    try:
        return generate_task_store(workdir, spec)[0]
    except InputError:
        return generate_task_store(workdir, spec, replace=True)[0]


def prepare_near(workdir: str, models: Dict[int, list], shots: Iterable[int],
                 num_task: int, dictionaries: bool = True
                 ) -> Tuple[Dict[str, float], Dict[Tuple[str, int], str]]:
    """Everything a near-domain run reads, made (or reused) before timing:
    the fixture of every model in ``models`` (novel class -> the models
    evaluated on it) with NCT_train and NCT_test, the task store of each
    novel class and shots, and, with ``dictionaries``, the base dictionary
    of each (model, novel class). Returns the seconds of each part
    (``fixture_s``, ``task_stores_s``, ``dictionaries_s``) and the
    dictionary paths by (model, novel class)."""
    import time

    from openselfsup.lowshot.spec import DictionarySpec, TaskSpec
    secs, dict_paths = {}, {}
    t0 = time.perf_counter()
    make_paper_workdir(workdir, sorted({m for ms in models.values()
                                        for m in ms}),
                       names=['NCT_train', 'NCT_test'])
    secs['fixture_s'] = time.perf_counter() - t0
    t0 = time.perf_counter()
    for c in models:
        for s in shots:
            ensure_task_store(workdir, TaskSpec('near', s, num_task,
                                                novel_class=c))
    secs['task_stores_s'] = time.perf_counter() - t0
    t0 = time.perf_counter()
    if dictionaries:
        for c, ms in models.items():
            for m in ms:
                dict_paths[m, c] = ensure_dictionary(
                    workdir, DictionarySpec(m, c))
    secs['dictionaries_s'] = time.perf_counter() - t0
    return secs, dict_paths


def _same_labels(path: str, labels: np.ndarray) -> bool:
    """An existing labels file holds exactly ``labels``."""
    if not os.path.isfile(path):
        return False
    return np.array_equal(np.load(path), labels)


def _provenance_matches(path: str, record: Dict) -> bool:
    """Existing features were written by this fixture with these settings
    (seed, width, normalisation, labels); an older fixture's are remade."""
    if not os.path.isfile(path):
        return False
    with open(path) as f:
        prov = json.load(f)
    return all(prov.get(k) == v for k, v in record.items())


def main(argv=None) -> None:
    """``python -m benchmarks.fixtures [WORKDIR [MODEL ...]]``: write the
    paper-scale features of the models into WORKDIR."""
    import time

    from benchmarks._common import parser
    p = parser(__doc__)
    p.add_argument('workdir', nargs='?', default='/tmp/paper_workdir',
                   help='low-shot workdir to fill (default: %(default)s)')
    p.add_argument('models', nargs='*', default=['clp'],
                   help='model names, e.g. clp clp_wo_0 (default: clp)')
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    out = make_paper_workdir(args.workdir, args.models)
    print(f'{len(out)} feature files in {time.perf_counter() - t0:.1f} s '
          f'under {args.workdir}')


if __name__ == '__main__':
    from benchmarks._common import run_main
    run_main(main)
