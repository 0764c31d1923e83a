"""Base dictionary for latent augmentation: prototypes, covariances, shift bank.

Built from the base features (NCT train, minus the novel class(es) for
``wo_`` models):

1. k-means (faiss, K prototypes, seeded) on the L2-normalised features
   assigns every base feature to a cluster;
2. per cluster, the prototype is the mean and the covariance the sample
   covariance (``np.cov``, ddof=1) of the *raw* features;
3. the shift bank holds M vectors per cluster drawn from ``N(0, cov)``,
   through an eigendecomposition with negative eigenvalues clipped to 0, so a
   singular (or one-sample, all-zero) covariance works.

File (``.npz``, path from :func:`~openselfsup.lowshot.paths.dictionary_path`)::

    prototypes   float32 [K, D]      covariances float32 [K, D, D]
    shift_bank   float32 [K, M, D]   counts int64 [K]   assignments int64 [N]
    seed int64   excluded int64 [*]  (labels left out of the base set)
    features_path, features_sha1 (str), features_shape int64 [2]
"""
import os
from dataclasses import dataclass
from typing import Dict, Optional, Sequence

import numpy as np

from ..utils import InputError, save_npz
from .features import file_identity


@dataclass
class Dictionary:
    """A base dictionary (see the module docstring).

    Attributes:
        prototypes (np.ndarray): ``[K, D]`` raw-feature cluster means.
        covariances (np.ndarray): ``[K, D, D]``.
        shift_bank (np.ndarray): ``[K, M, D]``.
        counts (np.ndarray): ``[K]`` base features per cluster.
        assignments (np.ndarray): ``[N]`` cluster of each base feature.
        seed (int): seed of k-means and of the shift draws.
        excluded (tuple): labels left out of the base set.
        identity (dict): ``{path, shape, sha1}`` of the feature file.
    """
    prototypes: np.ndarray
    covariances: np.ndarray
    shift_bank: np.ndarray
    counts: np.ndarray
    assignments: np.ndarray
    seed: int
    excluded: Sequence[int]
    identity: Dict

    @property
    def dim(self) -> int:
        return int(self.prototypes.shape[1])

    def save(self, path: str) -> None:
        save_npz(path, prototypes=self.prototypes.astype(np.float32),
                 covariances=self.covariances.astype(np.float32),
                 shift_bank=self.shift_bank.astype(np.float32),
                 counts=self.counts.astype(np.int64),
                 assignments=self.assignments.astype(np.int64),
                 seed=np.int64(self.seed),
                 excluded=np.asarray(self.excluded, dtype=np.int64),
                 features_path=np.str_(self.identity.get('path', '')),
                 features_sha1=np.str_(self.identity.get('sha1', '')),
                 features_shape=np.asarray(self.identity.get('shape', []),
                                           dtype=np.int64))


def sample_gaussian(rng: np.random.Generator, cov: np.ndarray,
                    num: int) -> np.ndarray:
    """``num`` draws from ``N(0, cov)`` ``[num, D]``; cov may be singular."""
    w, V = np.linalg.eigh(np.asarray(cov, dtype=np.float64))
    factor = V * np.sqrt(np.clip(w, 0.0, None))  # cov = factor @ factor.T
    return rng.standard_normal((num, cov.shape[0])) @ factor.T


def build_dictionary(features: np.ndarray, labels: np.ndarray,
                     num_prototypes: int = 16, num_shift_vectors: int = 2000,
                     seed: int = 0, excluded: Sequence[int] = (),
                     identity: Optional[Dict] = None, niter: int = 20,
                     name: str = 'features') -> Dictionary:
    """Build a base dictionary.

    Args:
        features (np.ndarray): float32 ``[N, D]`` base-set features (raw).
        labels (np.ndarray): int ``[N]`` their labels.
        num_prototypes (int): K, number of k-means clusters.
        num_shift_vectors (int): M, shift vectors per cluster.
        seed (int): seed of k-means (faiss) and of the shift draws.
        excluded (sequence of int): labels to leave out (novel classes).
        identity (dict, optional): ``{path, shape, sha1}`` of the feature file.
        niter (int): k-means iterations.
        name (str): feature set name for error messages.

    Returns:
        Dictionary: prototypes, covariances, shift bank and provenance.
    """
    import faiss
    keep = ~np.isin(labels, np.asarray(excluded, dtype=np.int64))
    base = np.ascontiguousarray(features[keep], dtype=np.float32)
    n, d = base.shape
    if num_prototypes < 1 or num_shift_vectors < 1:
        raise InputError('--num_prototypes and --num_shift_vectors must be '
                         'positive')
    if n < num_prototypes:
        raise InputError(f'{name}: {n} base features, fewer than '
                         f'--num_prototypes {num_prototypes}')
    normed = base / np.maximum(np.linalg.norm(base, axis=1, keepdims=True),
                               1e-12)
    kmeans = faiss.Kmeans(d, num_prototypes, niter=niter, seed=seed,
                          verbose=False)
    kmeans.train(normed)
    _, assign = kmeans.index.search(normed, 1)
    assign = assign[:, 0].astype(np.int64)
    counts = np.bincount(assign, minlength=num_prototypes)
    if (counts == 0).any():
        raise InputError(f'{name}: k-means left {int((counts == 0).sum())} '
                         'empty clusters; use fewer --num_prototypes')
    rng = np.random.default_rng(seed)
    protos = np.empty((num_prototypes, d), dtype=np.float64)
    covs = np.zeros((num_prototypes, d, d), dtype=np.float64)
    bank = np.empty((num_prototypes, num_shift_vectors, d), dtype=np.float32)
    for k in range(num_prototypes):
        members = base[assign == k].astype(np.float64)
        protos[k] = members.mean(0)
        if len(members) > 1:
            covs[k] = np.cov(members, rowvar=False)
        bank[k] = sample_gaussian(rng, covs[k], num_shift_vectors)
    return Dictionary(protos, covs, bank, counts, assign, int(seed),
                      tuple(int(c) for c in excluded), identity or {})


def load_dictionary(path: str, dim: Optional[int] = None,
                    features_name: str = 'features') -> Dictionary:
    """Load a dictionary; check its width against the features' ``dim``.

    Raises:
        InputError: missing file (with the command that makes it), not a
            dictionary, or a feature width other than ``dim``.
    """
    if not os.path.isfile(path):
        raise InputError(f'dictionary not found: {path} (make it with: '
                         'python wsi_workdir/dict_construction.py --model M '
                         '...)')
    try:
        with np.load(path, allow_pickle=False) as z:
            d = {k: z[k] for k in z.files}
        dic = Dictionary(
            d['prototypes'], d['covariances'], d['shift_bank'], d['counts'],
            d['assignments'], int(d['seed']), tuple(d['excluded'].tolist()),
            {'path': str(d['features_path']), 'sha1': str(d['features_sha1']),
             'shape': d['features_shape'].tolist()})
    except (KeyError, ValueError, OSError) as exc:
        raise InputError(f'{path}: not a base dictionary ({exc})') from None
    if dim is not None and dic.dim != dim:
        raise InputError(f'{path}: dictionary width {dic.dim} differs from '
                         f'the {features_name} width {dim}; rebuild it with '
                         'dict_construction.py for this model')
    return dic


def construct_dictionary(workdir: str, model: str,
                         novel_class: Optional[int] = None,
                         features: str = 'NCT_train',
                         num_prototypes: int = 16,
                         num_shift_vectors: int = 2000,
                         seed: int = 0) -> str:
    """Build the dictionary of ``model`` from ``features`` and save it.

    Args:
        workdir (str): the low-shot work directory.
        model (str): model name, e.g. ``'clp_wo_7'``.
        novel_class (int, optional): class(es) left out (78: 7 and 8).
        features (str): base feature set name.
        num_prototypes, num_shift_vectors, seed: see :func:`build_dictionary`.

    Returns:
        str: the path written.
    """
    from . import paths
    from .features import load_features
    from .tasks import novel_classes
    excluded = novel_classes(novel_class)
    fs = load_features(workdir, model, features)
    dic = build_dictionary(fs.features, fs.labels, num_prototypes,
                           num_shift_vectors, seed, excluded,
                           file_identity(fs.features_path, fs.features),
                           name=fs.features_path)
    out = paths.dictionary_path(workdir, model, features, num_prototypes,
                                num_shift_vectors, seed)
    dic.save(out)
    return out
