"""Analytic latent augmentation against brute-force expectations and sampling.

The reference side never uses the closed form: it enumerates every joint
draw of the shifts from a tiny bank (exact expectation by brute force) or
samples many shifts with the ordinary latent augmenter.
"""
import itertools

import numpy as np
import pytest
import torch

from openselfsup.lowshot.analytic import (ExpectedAugmentation,
                                          ExpectedNearestCentroid,
                                          ExpectedRidge)
from openselfsup.lowshot.augment import LatentAugmenter
from openselfsup.lowshot.classifiers import NearestCentroid, RidgeClassifier
from openselfsup.lowshot.meta_test import meta_test
from openselfsup.lowshot.tasks import TaskStore
from openselfsup.utils import InputError


def _ridge_from_normal_equations(G, R, m, ybar, alpha=1.0):
    W = np.linalg.solve(G + alpha * np.eye(len(G)), R)
    return W, ybar - m @ W


def test_closed_form_equals_enumerated_expectation():
    """Average the centred normal equations over all 3^6 joint draws."""
    rng = np.random.default_rng(0)
    D, A, M = 5, 3, 3
    x = rng.normal(size=(3, D)) + 1.0  # 3 support features, 2 classes
    y = np.array([0, 1, 1])
    proto = np.array([0, 1, 0])  # their prototypes (K = 2)
    bank = rng.normal(size=(2, M, D)) + rng.normal(size=(2, 1, D))  # mean != 0
    Y = 2 * np.eye(2)[y] - 1
    n = len(x)
    G_sum, R_sum, m_sum, count = 0, 0, 0, 0
    for pick in itertools.product(range(M), repeat=n * (A - 1)):
        pick = np.asarray(pick).reshape(n, A - 1)
        rows, targets = [], []
        for i in range(n):
            rows.append(x[i])
            rows += [x[i] + bank[proto[i], j] for j in pick[i]]
            targets += [Y[i]] * A
        Xa, Ya = np.asarray(rows), np.asarray(targets)
        mean = Xa.mean(0)
        Xc, Yc = Xa - mean, Ya - Ya.mean(0)
        G_sum = G_sum + Xc.T @ Xc
        R_sum = R_sum + Xc.T @ Yc
        m_sum = m_sum + mean
        count += 1
    W_ref, b_ref = _ridge_from_normal_equations(
        G_sum / count, R_sum / count, m_sum / count, Y.mean(0))

    # the bank as a distribution: its mean and (population) covariance
    mu = bank.mean(1)
    cov = np.stack([np.cov(bank[k], rowvar=False, ddof=0) for k in range(2)])
    sup = ExpectedAugmentation(torch.zeros(2, D), torch.tensor(cov), A,
                               torch.tensor(mu)).augment(
        torch.tensor(x[None]), torch.tensor(y[None]))
    sup.prototype = torch.tensor(proto[None])  # the test's assignment
    model = ExpectedRidge().fit_augmented(sup, torch.arange(2))
    np.testing.assert_allclose(model.coef_[0].T.numpy(), W_ref, rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(model.intercept_[0].numpy(), b_ref,
                               rtol=1e-9, atol=1e-12)


def _problem(seed, B=3, n_per=3, C=3, D=8, K=4):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(C, D)) * 2
    y = np.tile(np.repeat(np.arange(C), n_per), (B, 1))
    x = centres[y] + rng.normal(size=y.shape + (D,))
    protos = centres[rng.integers(0, C, K)] + rng.normal(size=(K, D)) * 0.3
    F = rng.normal(size=(K, D, D)) * 0.4
    cov = F @ F.transpose(0, 2, 1)
    return (torch.tensor(x), torch.tensor(y), torch.tensor(protos),
            torch.tensor(cov), rng)


def test_one_aug_shot_is_plain_ridge():
    x, y, protos, cov, _ = _problem(1)
    sup = ExpectedAugmentation(protos, cov, 1).augment(x, y)
    a = ExpectedRidge().fit_augmented(sup, torch.arange(3))
    b = RidgeClassifier().fit(x, y)
    torch.testing.assert_close(a.coef_, b.coef_)
    torch.testing.assert_close(a.intercept_, b.intercept_)


def test_sampled_latent_aug_converges_to_closed_form():
    """Many sampled shifts (big bank from N(0, cov)) approach the limit."""
    x, y, protos, cov, rng = _problem(2, B=2)
    L = np.linalg.cholesky(cov.numpy() + 1e-9 * np.eye(8))
    bank = torch.tensor(rng.normal(size=(4, 20000, 8)) @ L.transpose(0, 2, 1))
    queries = x + torch.tensor(rng.normal(size=x.shape))

    def gap(A):
        exp = ExpectedRidge().fit_augmented(
            ExpectedAugmentation(protos, cov, A).augment(x, y),
            torch.arange(3))
        smp = RidgeClassifier().fit_augmented(
            LatentAugmenter(protos, bank, A, seed=5).augment(x, y),
            torch.arange(3))
        ref = exp.decision_function(queries)
        return ((smp.decision_function(queries) - ref).abs().max()
                / ref.abs().max()).item()
    few, many = gap(10), gap(3000)
    assert many < 0.05, many
    assert many < few / 3, (few, many)


def test_expected_nearest_centroid_is_linear_for_zero_mean_shifts():
    x, y, protos, cov, _ = _problem(3)
    sup = ExpectedAugmentation(protos, cov, 50).augment(x, y)
    a = ExpectedNearestCentroid().fit_augmented(sup, torch.arange(3))
    torch.testing.assert_close(a.centroids_,
                               NearestCentroid().fit(x, y).centroids_)


def _store(rng, labels_s, labels_q, T=6, shots=2, queries=3, C=3):
    s = np.stack([np.concatenate([rng.choice(np.flatnonzero(labels_s == c),
                                             shots, replace=False)
                                  for c in range(C)]) for _ in range(T)])
    q = np.stack([np.concatenate([rng.choice(np.flatnonzero(labels_q == c),
                                             queries, replace=False)
                                  for c in range(C)]) for _ in range(T)])
    return TaskStore(s, q, labels_s[s], labels_q[q], np.arange(C), 0, shots,
                     queries, 'near', '', 'a', 'b', -1, '')


def test_engine_mode_matches_direct_fit_and_spec_rejects_lr():
    rng = np.random.default_rng(4)
    D, K = 8, 4
    sup = rng.normal(size=(60, D)).astype(np.float32) + \
        np.repeat(np.eye(3, D) * 3, 20, 0).astype(np.float32)
    labels = np.repeat(np.arange(3), 20)
    store = _store(rng, labels, labels)
    F = rng.normal(size=(K, D, D)) * 0.3
    aug = ExpectedAugmentation(torch.tensor(sup[:K]),
                               torch.tensor(F @ F.transpose(0, 2, 1)), 20)
    f1, _ = meta_test(sup, sup, store, 'Ridge', mode='latent_aug_expected',
                      augmenter=aug, chunk_size=4)
    Xs = torch.tensor(sup[store.support_idx]).double()
    model = ExpectedRidge().fit_augmented(
        aug.augment(Xs, torch.tensor(store.support_labels)), torch.arange(3))
    pred = model.predict(torch.tensor(sup[store.query_idx])).numpy()
    from openselfsup.lowshot.metrics import per_task_f1
    np.testing.assert_array_equal(f1, per_task_f1(pred, store.query_labels,
                                                  3))
    from openselfsup.lowshot.spec import RunSpec
    with pytest.raises(InputError, match='closed form'):
        RunSpec('m', 'near', 1, clf='logistic_regression',
                mode='latent_aug_expected')
