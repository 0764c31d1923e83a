"""The low-shot core against the published computation, end to end.

The reference below re-writes, from the published Few-shot-WSI code, what
``wsi_workdir/dict_construction.py`` (``clustering.Kmeans(k, pca_dim=-1)``:
rows L2-normalised with ``+ 1e-10``, ``faiss.Clustering`` with ``niter``
20 and ``max_points_per_centroid`` 1e7; prototypes the cluster means of the
raw features, covariances ``np.cov``) and
``wsi_workdir/distributed_meta_test.py`` (``aug_base_samples``: per class in
``np.unique`` order, each support feature's nearest prototype by ``cdist``,
the feature itself and ``num_aug_shots - 1`` shifted copies; scikit-learn's
``RidgeClassifier()`` and ``NearestCentroid()``; ``f1_score(average=None)``
per task; ``mean_confidence_interval``: ``sem * t._ppf(0.975, n - 1)``; the
average row the mean of the class means and of the class CIs) compute, and
compares it with the engine on the same tasks. The shift rows are the
engine's draws (the published ones were unseeded); the reference runs in
float64 (the published float32 is a documented rounding difference).
"""
import faiss
import numpy as np
import pytest
import scipy.stats
from scipy.spatial.distance import cdist
from sklearn.linear_model import RidgeClassifier
from sklearn.metrics import f1_score
from sklearn.neighbors import NearestCentroid

from lowshot_data import class_features
from openselfsup.lowshot.dictionary import build_dictionary
from openselfsup.lowshot.meta_test import make_augmenter, meta_test
from openselfsup.lowshot.metrics import summarize
from openselfsup.lowshot.spec import TaskSpec
from openselfsup.lowshot.tasks import sample_tasks

DIM, K, M, NUM_AUG_SHOTS, SEED = 24, 4, 40, 6, 3


def _unit(feats):
    return (feats / np.linalg.norm(feats, axis=1, keepdims=True)).astype(
        np.float32)


def _pools():
    rng = np.random.default_rng(5)
    centers = rng.normal(size=(9, DIM)) * 1.5
    train, ytr = class_features(rng, 9, 40, DIM, centers)
    test, yte = class_features(rng, 9, 20, DIM, centers)
    return _unit(train), ytr, _unit(test), yte


def published_dictionary(features, labels, novel_class, seed):
    """``dict_construction.main`` (CPU index instead of the GPU one)."""
    features = features[labels != novel_class]
    x = features / (np.linalg.norm(features, axis=1)[:, None] + 1e-10)
    clus = faiss.Clustering(x.shape[1], K)
    clus.seed = seed
    clus.niter = 20
    clus.max_points_per_centroid = 10000000
    index = faiss.IndexFlatL2(x.shape[1])
    clus.train(x, index)
    assign = index.search(x, 1)[1][:, 0]
    protos = np.array([features[assign == i].mean(0) for i in range(K)])
    covs = np.array([np.cov(features[assign == i].T) for i in range(K)])
    return assign, protos, covs


def published_aug_base_samples(features, labels, protos, bank, rows):
    """``aug_base_samples`` with the shift rows given (``rows[i]``: those
    of support feature ``i``, in the task's order)."""
    samples, gt_labels = [], []
    for label in np.unique(labels):
        where = np.flatnonzero(labels == label)
        selected = features[where]
        proto_id = np.argmin(cdist(selected, protos), axis=1)
        generated = [np.concatenate([[s], s[None] + bank[k][rows[i]]])
                     for i, k, s in zip(where, proto_id, selected)]
        samples.append(np.concatenate(generated, axis=0))
        gt_labels.extend([label] * len(samples[-1]))
    return np.concatenate(samples, axis=0), gt_labels


def published_table(f1s):
    """The printed numbers: per-class mean and CI, then their means."""
    means, cis = [], []
    for f1 in f1s.T:
        se = scipy.stats.sem(f1)
        means.append(np.mean(f1))
        cis.append(se * scipy.stats.t._ppf(0.975, len(f1) - 1))
    return np.array(means), np.array(cis), np.mean(means), np.mean(cis)


def test_dictionary_is_the_published_kmeans():
    """Same seed: the published k-means parameters and ours give the same
    clusters, prototypes and covariances."""
    train, ytr, _, _ = _pools()
    assign, protos, covs = published_dictionary(train, ytr, 3, SEED)
    dic = build_dictionary(train, ytr, K, M, seed=SEED, excluded=(3,))
    np.testing.assert_array_equal(dic.assignments, assign)
    np.testing.assert_allclose(dic.prototypes, protos, atol=1e-6)
    np.testing.assert_allclose(dic.covariances, covs, atol=1e-6)


@pytest.mark.parametrize('mode', ['linear', 'latent_aug'])
@pytest.mark.parametrize('clf', ['Ridge', 'nearest_centroid'])
def test_meta_test_is_the_published_computation(clf, mode):
    train, ytr, test, yte = _pools()
    store = sample_tasks(TaskSpec('near', 2, 12, novel_class=3, seed=1),
                         ytr, yte)
    dic = build_dictionary(train, ytr, K, M, seed=SEED, excluded=(3,))
    aug = make_augmenter(dic, 'latent_aug', NUM_AUG_SHOTS, seed=SEED) \
        if mode == 'latent_aug' else None
    f1, _ = meta_test(train, test, store, clf, mode=mode, augmenter=aug,
                      threads=1)
    rows = aug.draw(0, store.num_task, store.support_idx.shape[1]) \
        if aug is not None else None
    protos = dic.prototypes.astype(np.float64)
    bank = dic.shift_bank.astype(np.float64)
    ref = []
    for t in range(store.num_task):
        xs = train[store.support_idx[t]].astype(np.float64)
        ys = ytr[store.support_idx[t]]
        if aug is not None:
            xs, ys = published_aug_base_samples(xs, ys, protos, bank,
                                                rows[t])
        model = RidgeClassifier() if clf == 'Ridge' else NearestCentroid()
        pred = model.fit(xs, ys).predict(
            test[store.query_idx[t]].astype(np.float64))
        ref.append(f1_score(yte[store.query_idx[t]], pred, average=None))
    ref = np.array(ref)
    np.testing.assert_allclose(f1, ref, atol=1e-12)
    assert 0.2 < ref.mean() < 0.95  # neither trivial nor hopeless
    means, cis, avg, avg_ci = published_table(ref)
    s = summarize(f1)
    np.testing.assert_allclose(s['per_class_mean'], means, atol=1e-12)
    np.testing.assert_allclose(s['per_class_ci'], cis, rtol=1e-9)
    assert s['average_mean'] == pytest.approx(avg, abs=1e-12)
    assert s['average_ci'] == pytest.approx(avg_ci, rel=1e-9)


# -- the defaults a user gets are the published ones --------------------------
#: the published protocol, each value read in the Few-shot-WSI source
#: (paths under ``wsi_workdir/``; see the test's docstring)
PUBLISHED_TASKS = 1000          # scripts/{near,mixture,out}_domain.sh
#: scripts/ablation.sh, generate_ablation_tasks.sh
PUBLISHED_ABLATION_TASKS = 300
PUBLISHED_QUERIES = 15          # tools/generate_task.py: num_querys = 15
#: dict_construction.py, distributed_meta_test.py
PUBLISHED_K = 16
PUBLISHED_M = 2000              # dict_construction.py --num_shift_vectors
PUBLISHED_AUG_SHOTS = 100       # distributed_meta_test.py --num_aug_shots
PUBLISHED_SHOTS = {'near': [1, 5, 10], 'mixture': [1, 5, 10],
                   'out': [1, 5, 10, 50, 100], 'out_homo': [5, 10, 50, 100]}


class _Resolved(Exception):
    """Raised by a stand-in for the engine: the settings a command runs."""

    def __init__(self, specs):
        super().__init__()
        self.specs = list(specs)


def _resolved(monkeypatch, rel, argv):
    """The :class:`RunSpec` list that command ``rel`` hands the engine
    (``run_meta_test``, ``run_sweep``), caught before anything runs."""
    from lowshot_data import script_main
    from openselfsup.lowshot import meta_test, sweep

    def one(workdir, spec, *args, **kwargs):
        raise _Resolved([spec])

    def many(workdir, specs, *args, **kwargs):
        raise _Resolved(specs)
    monkeypatch.setattr(meta_test, 'run_meta_test', one)
    monkeypatch.setattr(sweep, 'run_sweep', many)
    with pytest.raises(_Resolved) as caught:
        script_main(rel)(argv)
    return caught.value.specs


def _published_classifier_params():
    """What the published constructors set: ``RidgeClassifier()`` and
    ``LogisticRegression(max_iter=1000)`` (scikit-learn's own defaults
    for the rest: alpha 1.0, C 1.0)."""
    from sklearn.linear_model import LogisticRegression
    ridge, logistic = RidgeClassifier(), LogisticRegression(max_iter=1000)
    return dict(alpha=ridge.alpha, C=logistic.C, max_iter=logistic.max_iter)


def _assert_published(spec, num_task=PUBLISHED_TASKS):
    params = _published_classifier_params()
    assert (spec.alpha, spec.C, spec.max_iter) == (
        params['alpha'], params['C'], params['max_iter']) == (1.0, 1.0, 1000)
    assert spec.num_task == num_task
    assert spec.tasks.queries == PUBLISHED_QUERIES
    assert spec.info()['queries'] == PUBLISHED_QUERIES
    assert spec.num_prototypes == PUBLISHED_K
    assert spec.num_shift_vectors == PUBLISHED_M
    assert spec.num_aug_shots == PUBLISHED_AUG_SHOTS
    assert spec.aug_times == 0
    if spec.latent:
        dictionary = spec.dictionary
        assert (dictionary.num_prototypes, dictionary.num_shift_vectors) \
            == (PUBLISHED_K, PUBLISHED_M)


def test_defaults_are_the_published_protocol(monkeypatch):
    """The defaults a user gets, from ``RunSpec`` and from the commands
    run without flags, are the published protocol's. The published facts
    (TencentAILabHealthcare/Few-shot-WSI, ``wsi_workdir/``):

    - Ridge alpha 1.0: ``distributed_meta_test.py`` builds
      ``RidgeClassifier()``, scikit-learn's default alpha.
    - logistic regression C 1.0, max_iter 1000: it builds
      ``LogisticRegression(max_iter=1000)``, scikit-learn's default C.
      (Both read here from the constructors themselves.)
    - K 16: ``dict_construction.py --num_prototypes`` default 16, read by
      ``distributed_meta_test.py --num_prototypes`` default 16.
    - M 2000: ``dict_construction.py --num_shift_vectors`` default 2000.
    - 100 aug shots: ``distributed_meta_test.py --num_aug_shots`` default
      100 (the feature and ``num_aug_shots - 1`` shifted copies).
    - 1000 tasks: ``scripts/near_domain.sh``, ``mixture_domain.sh`` and
      ``out_domain.sh`` pass ``--num_task 1000`` (the argparse default
      there, 300, is the ablation's); ``tools/generate_task.py`` draws
      1000 by default.
    - 300 tasks in the ablation: ``scripts/ablation.sh --num_task 300``,
      ``scripts/generate_ablation_tasks.sh --num_task 300``; 5 shots and
      Ridge (``--num_shots 5``, ``--clf`` left at its default).
    - 15 queries per class: ``num_querys = 15`` in
      ``tools/generate_task.py`` and ``tools/generate_aug_NCT78_task.py``.
    - shots: ``near_domain.sh``/``mixture_domain.sh`` 1 5 10;
      ``scripts/generate_mixture_and_out_domain_tasks.sh`` draws out
      (hetero) 1 5 10 50 100 and out homo 5 10 50 100.
    - ablation parts: ``ablation.sh``'s K 2..256 (powers of two) with 100
      aug shots, aug shots t^2 and hybrid t for t = 2..16, with K 16.

    A change of any default (e.g. ``C: float = 2.0``) fails here."""
    from openselfsup.lowshot import spec as S
    from openselfsup.lowshot.ablation import PUBLISHED
    _assert_published(S.RunSpec('clp_wo_0', 'near', 5, novel_class=0))
    _assert_published(S.RunSpec('clp_wo_0', 'near', 5, novel_class=0,
                                mode='latent_aug'))
    assert S.NUM_QUERIES == PUBLISHED_QUERIES
    assert {t: list(s) for t, s in S.DEFAULT_SHOTS.items()} == \
        PUBLISHED_SHOTS

    # distributed_meta_test.py: only the required flags
    for clf in S.CLASSIFIERS:
        for mode in ('linear', 'latent_aug'):
            [spec] = _resolved(monkeypatch, 'wsi_workdir/distributed_meta_'
                               'test.py', ['--task', 'near', '--model',
                                           'clp_wo_0', '--novel_class', '0',
                                           '--num_shots', '5', '--clf', clf,
                                           '--mode', mode])
            _assert_published(spec)

    # sweep.py: --model alone (near domain), then every domain's shots
    specs = _resolved(monkeypatch, 'wsi_workdir/sweep.py', ['--model', 'clp'])
    for spec in specs:
        _assert_published(spec)
    assert sorted({s.shots for s in specs}) == PUBLISHED_SHOTS['near']
    assert sorted({s.novel_class for s in specs}) == list(range(9))
    specs = _resolved(monkeypatch, 'wsi_workdir/sweep.py',
                      ['--model', 'clp', '--task', *PUBLISHED_SHOTS])
    for spec in specs:
        _assert_published(spec)
    assert {t: sorted({s.shots for s in specs if s.task == t})
            for t in PUBLISHED_SHOTS} == PUBLISHED_SHOTS

    # ablation.py: no flags at all
    specs = _resolved(monkeypatch, 'wsi_workdir/ablation.py', [])
    assert {(s.model, s.task, s.novel_class, s.shots, s.clf)
            for s in specs} == {('clp_wo_78', 'near', 78, 5, 'Ridge')}
    assert list(PUBLISHED['prototypes']) == [2 ** i for i in range(1, 9)]
    assert list(PUBLISHED['latent']) == [t * t for t in range(2, 17)]
    assert list(PUBLISHED['hybrid']) == list(range(2, 17))
    ks = sorted({s.num_prototypes for s in specs if s.latent})
    assert ks == list(PUBLISHED['prototypes'])
    aug_shots = {s.num_aug_shots for s in specs if s.latent
                 and not s.aug_times}
    assert aug_shots == set(PUBLISHED['latent']) | {PUBLISHED_AUG_SHOTS}
    for spec in specs:
        assert spec.num_task == PUBLISHED_ABLATION_TASKS
        assert (spec.alpha, spec.num_shift_vectors) == (
            _published_classifier_params()['alpha'], PUBLISHED_M)
        if spec.latent and spec.num_aug_shots != spec.aug_times \
                and spec.num_aug_shots == PUBLISHED_AUG_SHOTS:
            assert spec.num_prototypes in PUBLISHED['prototypes']
        elif spec.latent:  # latent and hybrid parts: K 16
            assert spec.num_prototypes == PUBLISHED_K
