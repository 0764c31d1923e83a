"""Base dictionary for latent augmentation: prototypes, covariances, shift bank.

Built from the base features (NCT train, minus the novel class(es) of the
runs that will use it), as the published ``dict_construction.py``:

1. k-means (faiss, K prototypes, 20 iterations, seeded) on the L2-normalised
   features, trained on **every** base feature (the published code sets
   ``max_points_per_centroid`` above N; faiss's default would train on a
   subsample of 256 points per centroid, 4,096 of 100,000 for K = 16);
2. per cluster, the prototype is the mean and the covariance the sample
   covariance (``np.cov``, ddof=1) of the features (for normalised features,
   as the protocol extracts them, the same as the clustered ones);
3. the shift bank holds M vectors per cluster drawn from ``N(0, cov)``,
   seeded, through the covariance's symmetric square root (eigenvalues
   at or below eigh's error bound, negative ones too, set to 0, so a
   singular (or one-sample, all-zero) covariance works): the same draws
   whatever the BLAS thread count (:func:`sample_gaussian`; the published
   code drew them unseeded with ``np.random.multivariate_normal``, whose
   SVD factor changes with LAPACK's signs too).

File (``.npz``, path from :meth:`DictionarySpec.path`: the excluded classes
are part of the name, so the all-class and the ``wo_7`` dictionary of one
model never overwrite each other)::

    prototypes   float32 [K, D]      covariances float32 [K, D, D]
    shift_bank   float32 [K, M, D]   counts int64 [K]   assignments int64 [N]
    seed int64   excluded int64 [*]  (labels left out of the base set)
    normalised bool                  (the base features had unit norm)
    model, features_name, features_path, features_sha1, labels_sha1 (str)
                                     (features_path relative to the workdir;
                                     absolute in files written before
                                     2026-12-05, still read)
    features_shape int64 [2]
    made_by (str)                    ('sweep': made by a sweep where it was
                                     missing, or a sweep's own made again by
                                     dict_construction.py --overwrite;
                                     'dict_construction.py'; absent in files
                                     written before it was recorded)

A dictionary the sweep made itself, at its place, from the features that
have been extracted again since (same model and set, same file, other
digest) is built again by the next sweep, which says so in a line
(:func:`made_by_sweep_from_replaced`); any other dictionary of other
features (one ``dict_construction.py`` made, or of unknown maker) is refused
with the command that makes it again.

A dictionary is used only by runs whose features and labels it was built
from (digests compared), whose novel class it left out, whose K, M and seed
it has (its file name says them), and whose normalisation it shares.
"""
import os
import time
import zipfile
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence

import numpy as np

from ..utils import InputError, array_sha1, save_npz
from .paths import script
from .spec import DictionarySpec

#: at most this fraction of the available memory for the dictionary's
#: covariances and shift bank (checked before any work)
MEMORY_FRACTION = 0.5
#: seconds before the available memory is read a second time, once, where
#: the first reading refuses: on a shared machine another process's brief
#: peak refused a 0.12 GiB dictionary that a rerun built
MEMORY_RECHECK_S = 1.0
#: the parts of a dictionary each latent mode reads: a result records their
#: digests (:meth:`Dictionary.identity`) and is judged by them
#: (:func:`~.report.changed_inputs`)
MODE_READS = {'latent_aug': ('prototypes', 'shift_bank'),
              'latent_aug_expected': ('prototypes', 'covariances')}


@dataclass
class Dictionary:
    """A base dictionary (see the module docstring).

    Attributes:
        prototypes (np.ndarray): ``[K, D]`` cluster means.
        covariances (np.ndarray): ``[K, D, D]``.
        shift_bank (np.ndarray): ``[K, M, D]``.
        counts (np.ndarray): ``[K]`` base features per cluster.
        assignments (np.ndarray): ``[N]`` cluster of each base feature.
        seed (int): seed of k-means and of the shift draws.
        excluded (tuple): labels left out of the base set.
        normalised (bool): the base features had unit L2 norm.
        source (dict): ``model``, ``features_name``, ``features_path``,
            ``features_sha1``, ``labels_sha1``, ``features_shape``.
        path (str | None): where it was read from or written to.
    """
    prototypes: np.ndarray
    covariances: np.ndarray
    shift_bank: np.ndarray
    counts: np.ndarray
    assignments: np.ndarray
    seed: int
    excluded: Sequence[int]
    normalised: bool
    source: Dict = field(default_factory=dict)
    path: Optional[str] = None

    @property
    def dim(self) -> int:
        return int(self.prototypes.shape[1])

    def identity(self) -> Dict:
        """What a result records of its dictionary; the digests of its
        parts (:meth:`digests`), of which those its mode reads
        (:data:`MODE_READS`) judge it, :func:`~.report.changed_inputs`
        (results written by the code from fd3c3e3c to 8f27996a record the
        shift bank's alone, older ones none: :func:`~.report.
        _dictionary_moved`)."""
        return {'path': os.path.abspath(self.path) if self.path else None,
                'num_prototypes': int(self.prototypes.shape[0]),
                'num_shift_vectors': int(self.shift_bank.shape[1]),
                'seed': self.seed, 'excluded': list(self.excluded),
                'normalised': self.normalised,
                'features_sha1': self.source.get('features_sha1'),
                **{f'{part}_sha1': sha
                   for part, sha in self.digests().items()}}

    def digests(self) -> Dict[str, str]:
        """``{part: digest}`` of the prototypes, covariances and shift
        bank as the file stores them (float32): a dictionary made again
        with other draws (another seed kept under the same name, or
        written before c119cc18 and remade with ``--overwrite``) has
        another bank's, one clustered again other prototypes' (and
        covariances')."""
        return {part: array_sha1(np.ascontiguousarray(getattr(self, part),
                                                      np.float32))
                for part in ('prototypes', 'covariances', 'shift_bank')}

    def save(self, path: str, exclusive: bool = True) -> None:
        """Write the dictionary; with ``exclusive`` only if ``path`` is
        absent (FileExistsError otherwise)."""
        src = self.source
        save_npz(path, exclusive=exclusive,
                 prototypes=self.prototypes.astype(np.float32),
                 covariances=self.covariances.astype(np.float32),
                 shift_bank=self.shift_bank.astype(np.float32),
                 counts=self.counts.astype(np.int64),
                 assignments=self.assignments.astype(np.int64),
                 seed=np.int64(self.seed),
                 excluded=np.asarray(self.excluded, dtype=np.int64),
                 normalised=np.bool_(self.normalised),
                 model=np.str_(src.get('model', '')),
                 features_name=np.str_(src.get('features_name', '')),
                 features_path=np.str_(src.get('features_path', '')),
                 features_sha1=np.str_(src.get('features_sha1', '')),
                 labels_sha1=np.str_(src.get('labels_sha1', '')),
                 features_shape=np.asarray(src.get('features_shape', []),
                                           dtype=np.int64),
                 made_by=np.str_(src.get('made_by', '')))
        self.path = path


def sample_gaussian(rng: np.random.Generator, cov: np.ndarray,
                    num: int) -> np.ndarray:
    """``num`` draws from ``N(0, cov)`` ``[num, D]``; cov may be singular.

    Each draw is ``z @ S`` with ``z`` standard normal and ``S`` the
    symmetric square root of ``cov`` (``V diag(sqrt(w)) V^T``, so ``S @
    S.T == cov``). ``S`` is unique, so the draws do not depend on which
    eigenvectors LAPACK returns: their signs and, for a repeated
    eigenvalue, the basis of its eigenspace change with OpenBLAS's thread
    count, and the factor ``V diag(sqrt(w))`` drew other shifts from one
    seed on another machine. Eigenvalues at or below ``eigh``'s error
    bound (``max(w) * D * eps``, numpy's ``matrix_rank`` tolerance) count
    as 0: a singular cov's zero eigenvalues come back as +-1e-16 or so,
    whose square roots (1e-8) would weigh the null space's basis, which
    LAPACK chooses freely. A real eigenvalue that small (an isolated,
    nearly dead channel, which ``eigh`` can resolve below the bound) is set
    to zero too: the shifts lost along it have a standard deviation of at
    most ``sqrt(max(w) * D * eps)``, 3.4e-7 at 512-d for unit-norm features
    (``max(w) <= 1``).
    """
    w, V = np.linalg.eigh(np.asarray(cov, dtype=np.float64))
    noise = w.max(initial=0.0) * len(w) * np.finfo(np.float64).eps
    root = (V * np.sqrt(np.where(w > noise, w, 0.0))) @ V.T
    return rng.standard_normal((num, cov.shape[0])) @ root


def available_memory() -> Optional[int]:
    """Bytes of memory available to this process (None if unknown)."""
    try:
        with open('/proc/meminfo') as f:
            for line in f:
                if line.startswith('MemAvailable:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf('SC_AVPHYS_PAGES') * os.sysconf('SC_PAGE_SIZE')
    except (ValueError, OSError, AttributeError):
        return None


def size_texts(*counts: float) -> list:
    """Byte counts as text, in one unit, that tell different counts apart.

    MiB where the largest is below 1 GiB, else GiB, with one decimal, or as
    many more as it takes for no two different counts to print alike (a
    refusal read "needs about 0.1 GiB, more than half of the 0.1 GiB
    available").
    """
    unit, scale = ('GiB', 2 ** 30) if max(counts) >= 2 ** 30 \
        else ('MiB', 2 ** 20)
    for digits in range(1, 10):
        texts = [f'{x / scale:.{digits}f} {unit}' for x in counts]
        if len(set(texts)) == len(set(counts)):
            break
    return texts


def check_memory(num_prototypes: int, num_shift_vectors: int, dim: int,
                 num_base: int) -> None:
    """Refuse, before any work, a dictionary that cannot fit in memory.

    The available memory is read again once, after ``MEMORY_RECHECK_S``
    seconds, before refusing, and the larger reading counts.
    """
    need = 8 * num_prototypes * dim * dim + 8 * num_shift_vectors * dim * 2 \
        + 4 * num_prototypes * num_shift_vectors * dim + 16 * num_base * dim
    have = available_memory()
    if have is None or need <= MEMORY_FRACTION * have:
        return
    time.sleep(MEMORY_RECHECK_S)
    again = available_memory()
    have = max(have, again or 0)
    if need <= MEMORY_FRACTION * have:
        return
    need_text, half_text, have_text = size_texts(
        need, MEMORY_FRACTION * have, have)
    raise InputError(
        f'a dictionary of K={num_prototypes} prototypes x '
        f'M={num_shift_vectors} shift vectors of width {dim} needs about '
        f'{need_text}, more than {half_text}, half of the '
        f'{have_text} available; use a smaller '
        '--num_shift_vectors or --num_prototypes')


def build_dictionary(features: np.ndarray, labels: np.ndarray,
                     num_prototypes: int = 16, num_shift_vectors: int = 2000,
                     seed: int = 0, excluded: Sequence[int] = (),
                     niter: int = 20, name: str = 'features') -> Dictionary:
    """Build a base dictionary.

    Args:
        features (np.ndarray): float32 ``[N, D]`` base-set features.
        labels (np.ndarray): int ``[N]`` their labels.
        num_prototypes (int): K, number of k-means clusters.
        num_shift_vectors (int): M, shift vectors per cluster.
        seed (int): seed of k-means (faiss) and of the shift draws.
        excluded (sequence of int): labels to leave out (novel classes).
        niter (int): k-means iterations (20, as published).
        name (str): feature set name for error messages.

    Returns:
        Dictionary: prototypes, covariances, shift bank (``source`` and
        ``normalised`` are filled by :func:`construct_dictionary`).
    """
    import faiss
    if num_prototypes < 1 or num_shift_vectors < 1:
        raise InputError('--num_prototypes and --num_shift_vectors must be '
                         'positive')
    keep = ~np.isin(labels, np.asarray(excluded, dtype=np.int64))
    base = np.ascontiguousarray(features[keep], dtype=np.float32)
    n, d = base.shape
    if n < num_prototypes:
        raise InputError(f'{name}: {n} base features, fewer than '
                         f'--num_prototypes {num_prototypes}')
    check_memory(num_prototypes, num_shift_vectors, d, n)
    normed = base / np.maximum(np.linalg.norm(base, axis=1, keepdims=True),
                               1e-10)
    # every base feature trains the centroids, as published (faiss would
    # otherwise subsample max_points_per_centroid=256 points per centroid)
    kmeans = faiss.Kmeans(d, num_prototypes, niter=niter, seed=seed,
                          verbose=False, max_points_per_centroid=n,
                          min_points_per_centroid=1)
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
                      tuple(int(c) for c in excluded), False)


#: what reading a file that is no readable dictionary raises (missing or
#: mistyped arrays, a truncated or foreign file): load_dictionary refuses it,
#: _made_by reads it as made by no one
_UNREADABLE = (KeyError, ValueError, OSError, EOFError, TypeError,
               zipfile.BadZipFile)


def load_dictionary(path: str, make: Optional[str] = None) -> Dictionary:
    """Read a dictionary file.

    Args:
        path (str): the ``.npz`` file.
        make (str, optional): the command that writes it
            (:meth:`DictionarySpec.command`), for the errors; a generic
            one if not given.

    Raises:
        InputError: missing (with the command that makes it), truncated or
            not a dictionary.
    """
    make = make or (f"python {script('wsi_workdir', 'dict_construction.py')}"
                    ' --model M [--novel_class C] ...')
    if not os.path.isfile(path):
        raise InputError(f'dictionary not found: {path} (make it with: '
                         f'{make})')
    try:
        with np.load(path, allow_pickle=False) as z:
            d = {k: z[k] for k in z.files}
        dic = Dictionary(
            d['prototypes'], d['covariances'], d['shift_bank'], d['counts'],
            d['assignments'], int(d['seed']), tuple(d['excluded'].tolist()),
            bool(d['normalised']),
            {k: str(d[k]) for k in ('model', 'features_name',
                                    'features_path', 'features_sha1',
                                    'labels_sha1')}, path)
        # who made it ('' where the file predates the field: unknown)
        dic.source['made_by'] = str(d['made_by']) if 'made_by' in d else ''
        dic.source['features_shape'] = d['features_shape'].tolist()
    except _UNREADABLE as exc:
        raise InputError(f'{path}: not a readable base dictionary '
                         f'({type(exc).__name__}); make it again with: '
                         f'{make} --overwrite') from None
    K, D = dic.prototypes.shape
    if dic.covariances.shape != (K, D, D) or dic.shift_bank.ndim != 3 or \
            dic.shift_bank.shape[::2] != (K, D):
        raise InputError(f'{path}: inconsistent dictionary arrays; make it '
                         f'again with: {make} --overwrite')
    return dic


def check_dictionary(dic: Dictionary, spec: DictionarySpec, base,
                     run=None, workdir: Optional[str] = None) -> None:
    """Refuse a dictionary that does not belong to a run.

    Args:
        dic (Dictionary): as loaded.
        spec (DictionarySpec): the dictionary the run needs.
        base (FeatureSet): the model's current base features
            (``spec.features``): the dictionary must have been built from
            exactly these.
        run (FeatureSet, optional): the run's support features (width and
            normalisation must match; default ``base``).
        workdir (str, optional): the work directory, for the command that
            makes the dictionary again (:meth:`DictionarySpec.command`).
    """
    run = run or base
    remake = spec.command(workdir) + ' --overwrite'

    # what its file name says (and the run records as its settings): a
    # dictionary copied or renamed was used under another K, M or seed
    K, M = dic.shift_bank.shape[:2]
    said = {'K={} prototypes': (K, spec.num_prototypes),
            'M={} shift vectors': (M, spec.num_shift_vectors),
            'seed {}': (dic.seed, spec.seed)}
    diff = [f'{words.format(have)} (asked: {want})'
            for words, (have, want) in said.items() if have != want]
    if diff:
        raise InputError(f'{dic.path}: this dictionary has '
                         f'{"; ".join(diff)}; make it again with: {remake}')
    if tuple(dic.excluded) != tuple(spec.excluded):
        left = list(dic.excluded) or 'no class'
        raise InputError(f'{dic.path} left out {left} but this run\'s novel '
                         f'class is {list(spec.excluded) or "none"} (the '
                         f'novel class must not be in the base set); make '
                         f'it with: {remake}')
    if dic.dim != run.dim:
        raise InputError(f'{dic.path}: dictionary width {dic.dim} differs '
                         f'from the width {run.dim} of {run.features_path}; '
                         f'make it again with: {remake}')
    if dic.source.get('features_sha1') != base.features_sha1:
        raise InputError(f'{dic.path} was built from other features than '
                         f'the current {base.features_path} (extracted again '
                         f'since?); make it again with: {remake}')
    # the rows it left out are those its labels gave the novel class (of
    # all classes, every row: the labels do not enter)
    if dic.excluded and dic.source.get('labels_sha1') and \
            dic.source['labels_sha1'] != base.labels_sha1:
        raise InputError(f'{dic.path} was built from other labels than the '
                         f'current {base.labels_path} (the rows of the novel '
                         'class left out of its base set are another '
                         f'class\'s now); make it again with: {remake}')
    if run is not base:  # the dictionary's features and the run's
        from .features import check_same_kind
        check_same_kind(base, run)
    if dic.normalised != run.normalised:
        raise InputError(f'{dic.path} was built from '
                         f'{"normalised" if dic.normalised else "raw"} '
                         f'features but {run.features_path} is '
                         f'{"normalised" if run.normalised else "raw"}; '
                         f'make it again with: {remake}')


def made_by_sweep_from_replaced(dic: Dictionary, spec: DictionarySpec,
                                base, workdir: str) -> bool:
    """Whether ``dic`` is a dictionary the sweep made itself, at the place
    of ``spec`` (:meth:`DictionarySpec.path`), with its K, M, seed and
    excluded classes, from the base feature file ``base`` (a FeatureSet:
    same model, set and path) whose features have been replaced since
    (another digest): then the sweep may build it again. False for one
    ``dict_construction.py`` made, one whose maker is not recorded, one
    found elsewhere or of other settings, and one of the current
    features."""
    src = dic.source
    K, M = dic.shift_bank.shape[:2]
    return (src.get('made_by') == 'sweep' and dic.path is not None
            and os.path.abspath(dic.path) == os.path.abspath(
                spec.path(workdir))
            and (K, M, dic.seed) == (spec.num_prototypes,
                                     spec.num_shift_vectors, spec.seed)
            and tuple(dic.excluded) == tuple(spec.excluded)
            and (src.get('model'), src.get('features_name')) == (
                spec.model, spec.features)
            and _same_features_file(src.get('features_path'),
                                    base.features_path, workdir)
            and src.get('features_sha1') != base.features_sha1)


def _recorded_path(features_path: str, workdir: str) -> str:
    """The base feature file as a dictionary records it: relative to the
    workdir, so that a workdir moved or copied whole still names its own
    file (an absolute path named the old place, and the sweep refused to
    build its own dictionary again in the copy)."""
    return os.path.relpath(os.path.abspath(features_path),
                           os.path.abspath(workdir))


def _same_features_file(recorded: Optional[str], features_path: str,
                        workdir: str) -> bool:
    """Whether a dictionary's recorded base feature file is
    ``features_path``: relative to ``workdir`` as recorded now
    (:func:`_recorded_path`), or, as files written before 2026-12-05
    record it, absolute."""
    if not recorded:
        return False
    if os.path.isabs(recorded):
        return recorded == os.path.abspath(features_path)
    return os.path.normpath(recorded) == _recorded_path(features_path,
                                                        workdir)


def _made_by(path: str) -> str:
    """Who made the dictionary file ``path`` (its ``made_by``; '' where
    absent, unreadable or not recorded)."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return str(z['made_by']) if 'made_by' in z.files else ''
    except _UNREADABLE:
        return ''


def construct_dictionary(workdir: str, spec: DictionarySpec,
                         replace: bool = False,
                         features=None,
                         made_by: str = 'dict_construction.py'
                         ) -> Dictionary:
    """Build the dictionary ``spec`` names and save it (atomically, and
    only if absent unless ``replace``). ``features``: the FeatureSet of
    ``spec.model`` / ``spec.features`` if the caller has it loaded and
    checked already (else it is loaded here). ``made_by``: who makes it,
    recorded in the file (``'sweep'``: the sweep, which may build it again
    when its features are extracted again,
    :func:`made_by_sweep_from_replaced`).

    Returns:
        Dictionary: the dictionary written (``path`` set).

    Raises:
        InputError: the file exists (without ``replace``), or another run
            wrote it meanwhile; bad features; not enough memory.
    """
    from ..utils import check_writable
    from .features import load_features
    out = spec.path(workdir)
    if os.path.exists(out) and not replace:
        raise InputError(f'{out} exists; pass --overwrite to build it again')
    if replace and _made_by(out) == 'sweep':
        # the sweep's own, at its place and so of its settings: rebuilt
        # (dict_construction.py --overwrite, as a single run's refusal
        # advises), it stays the sweep's, which builds it again when its
        # features are extracted again (recorded as dict_construction.py's,
        # it was refused by every later sweep)
        made_by = 'sweep'
    check_writable(out)
    fs = features or load_features(workdir, spec.model, spec.features)
    dic = build_dictionary(fs.features, fs.labels, spec.num_prototypes,
                           spec.num_shift_vectors, spec.seed, spec.excluded,
                           name=fs.features_path)
    dic.normalised = fs.normalised
    dic.source = {'model': spec.model, 'features_name': fs.name,
                  'features_path': _recorded_path(fs.features_path,
                                                  workdir),
                  'features_sha1': fs.features_sha1,
                  'labels_sha1': fs.labels_sha1,
                  'features_shape': list(fs.features.shape),
                  'made_by': made_by}
    try:
        dic.save(out, exclusive=not replace)
    except FileExistsError:
        raise InputError(f'{out} was written by another run meanwhile; '
                         'nothing replaced') from None
    return dic
