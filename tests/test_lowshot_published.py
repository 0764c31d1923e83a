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
