"""Batched classifiers against scikit-learn on the same tasks.

Tasks: 64-d class-structured features with overlapping classes (per-class F1
well below 100, so disagreements would show), 5-way 5-shot, 15 queries.
"""
import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression, RidgeClassifier
from sklearn.neighbors import NearestCentroid

from openselfsup.lowshot.augment import LatentAugmenter
from openselfsup.lowshot.classifiers import build_classifier
from openselfsup.lowshot.metrics import mean_ci, per_task_f1

B, WAYS, SHOTS, QUERIES, DIM = 24, 5, 5, 15, 64
SKLEARN = {'Ridge': RidgeClassifier,
           'logistic_regression': lambda: LogisticRegression(max_iter=1000),
           'nearest_centroid': NearestCentroid}
#: (min share of identical query predictions, max per-class mean-F1 gap)
TOLERANCE = {'Ridge': (0.995, 0.3), 'logistic_regression': (0.99, 0.5),
             'nearest_centroid': (1.0, 0.0)}


def _tasks(seed):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(B, WAYS, DIM)) * 0.35 + 0.5

    def draw(per):
        y = np.tile(np.repeat(np.arange(WAYS), per), (B, 1))
        x = centers[np.arange(B)[:, None], y] + rng.normal(size=y.shape + (DIM,))
        return x, y
    xs, ys = draw(SHOTS)
    xq, yq = draw(QUERIES)
    return xs, ys, xq, yq


def _augmented(xs, ys, seed, num_aug_shots=8):
    """The same latent-augmented sets for both sides (a random dictionary)."""
    rng = np.random.default_rng(seed + 100)
    protos = torch.tensor(rng.normal(size=(6, DIM)) + 0.5)
    bank = torch.tensor(rng.normal(size=(6, 50, DIM)) * 0.5)
    aug = LatentAugmenter(protos, bank, num_aug_shots, seed=3).augment(
        torch.tensor(xs), torch.tensor(ys))
    aug.prototypes = protos.numpy()  # kept for the checks below
    return aug


def _compare(name, pred, xq, yq, train_sets):
    ref = np.stack([SKLEARN[name]().fit(x, y).predict(xq[b])
                    for b, (x, y) in enumerate(train_sets)])
    agree = (pred == ref).mean()
    f1 = mean_ci(per_task_f1(pred, yq, WAYS))[0]
    f1_ref = mean_ci(per_task_f1(ref, yq, WAYS))[0]
    min_agree, max_gap = TOLERANCE[name]
    assert agree >= min_agree, (name, agree)
    assert np.abs(f1 - f1_ref).max() <= max_gap, (name, f1, f1_ref)
    assert 30 < f1_ref.mean() < 98  # tasks are neither trivial nor hopeless


@pytest.mark.parametrize('name', list(SKLEARN))
def test_linear_mode_matches_sklearn(name):
    xs, ys, xq, yq = _tasks(0)
    clf = build_classifier(name).fit(torch.tensor(xs), torch.tensor(ys), WAYS)
    pred = clf.predict(torch.tensor(xq)).numpy()
    _compare(name, pred, xq, yq, list(zip(xs, ys)))


@pytest.mark.parametrize('name', list(SKLEARN))
def test_latent_aug_mode_matches_sklearn(name):
    xs, ys, xq, yq = _tasks(1)
    aug = _augmented(xs, ys, 1)
    X, y = aug.materialise()
    clf = build_classifier(name).fit_augmented(aug, WAYS)
    pred = clf.predict(torch.tensor(xq)).numpy()
    _compare(name, pred, xq, yq, list(zip(X.numpy(), y.numpy())))


def test_augmented_class_means_equal_materialised_means():
    xs, ys, _, _ = _tasks(2)
    aug = _augmented(xs, ys, 2, num_aug_shots=5)
    X, y = aug.materialise()
    X, y = X.numpy(), y.numpy()
    ref = np.stack([[X[b][y[b] == c].mean(0) for c in range(WAYS)]
                    for b in range(B)])
    np.testing.assert_allclose(aug.class_means(WAYS).numpy(), ref,
                               rtol=1e-10, atol=1e-10)
    # the materialised set: the feature itself first, then shifted copies
    # drawn from the bank row of its nearest prototype
    np.testing.assert_allclose(X[:, ::5], xs)
    p = aug.prototype.numpy()
    d = ((xs[:, :, None] - aug.prototypes[None, None]) ** 2).sum(-1)
    np.testing.assert_array_equal(p, d.argmin(-1))
    shift = X[0, 1] - xs[0, 0]
    bank = aug.shift_bank.numpy()
    np.testing.assert_allclose(shift, bank[p[0, 0], aug.shift_idx[0, 0, 0]])


def test_shift_draws_do_not_depend_on_chunking():
    protos = torch.zeros(2, 4, dtype=torch.float64)
    bank = torch.zeros(2, 1000, 4, dtype=torch.float64)
    aug = LatentAugmenter(protos, bank, 7, seed=5)
    whole = aug.draw(0, 10, 3)
    parts = np.concatenate([aug.draw(0, 4, 3), aug.draw(4, 6, 3)])
    np.testing.assert_array_equal(whole, parts)
    assert whole.min() >= 0 and whole.max() < 1000
    assert len(np.unique(whole)) > 150  # draws are spread over the bank


def _augmented_and_materialised_fits(name, seed):
    """The same classifier fitted by ``fit_augmented`` and on the
    materialised enlarged set (6 aug shots), and the queries."""
    xs, ys, xq, _ = _tasks(seed)
    aug = _augmented(xs, ys, seed, num_aug_shots=6)
    X, y = aug.materialise()
    return (build_classifier(name).fit_augmented(aug, WAYS),
            build_classifier(name).fit(X, y, WAYS), torch.tensor(xq))


def test_ridge_on_augmented_sums_equals_ridge_on_materialised_set():
    """Ridge's normal equations from the shift sums (no copies built) give
    the coefficients of fitting the materialised set."""
    a, b, _ = _augmented_and_materialised_fits('Ridge', 4)
    torch.testing.assert_close(a.coef_, b.coef_, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(a.intercept_, b.intercept_, rtol=1e-9,
                               atol=1e-10)


def test_logistic_regression_on_augmented_set_equals_materialised_fit():
    """The enlarged set built centred in float32 (no float64 copy) reaches
    the optimum of fitting the materialised set."""
    a, b, xq = _augmented_and_materialised_fits('logistic_regression', 5)
    scale = b.coef_.abs().max()
    torch.testing.assert_close(a.coef_ / scale, b.coef_ / scale, rtol=0,
                               atol=1e-4)
    assert (a.predict(xq) == b.predict(xq)).float().mean() >= 0.995


def test_lapack_and_batched_torch_kernels_agree(monkeypatch):
    """``gram``/``solve_spd`` run per task through NumPy/LAPACK on the CPU
    (split over threads) and as batched torch kernels elsewhere (CUDA). Both
    paths, forced on the CPU here, agree with each other and with a plain
    per-task reference, and so do the Ridge fits built on them."""
    from openselfsup.lowshot import classifiers
    rng = np.random.default_rng(7)
    X = torch.tensor(rng.normal(size=(5, 12, 9)))
    R = torch.tensor(rng.normal(size=(5, 9, 3)))
    G_ref = np.stack([x.T @ x for x in X.numpy()])
    K_ref = np.stack([x @ x.T for x in X.numpy()])
    spd = torch.tensor(G_ref) + torch.eye(9, dtype=torch.float64)
    sol_ref = np.stack([np.linalg.solve(g, r)
                        for g, r in zip(spd.numpy(), R.numpy())])
    xs, ys, _, _ = _tasks(6)
    aug = _augmented(xs, ys, 6, num_aug_shots=4)
    threads = torch.get_num_threads()
    results = {}
    try:
        torch.set_num_threads(2)  # per-task calls split over 2 threads
        for lapack in (True, False):
            monkeypatch.setattr(classifiers, '_on_lapack',
                                lambda t, order, on=lapack: on)
            np.testing.assert_allclose(classifiers.gram(X).numpy(), G_ref,
                                       rtol=1e-12)
            np.testing.assert_allclose(
                classifiers.gram(X, outer=True).numpy(), K_ref, rtol=1e-12)
            np.testing.assert_allclose(
                classifiers.solve_spd(spd.clone(), R).numpy(), sol_ref,
                rtol=1e-9)
            with pytest.raises(ValueError, match='positive definite'):
                classifiers.solve_spd(-spd, R)
            lin = build_classifier('Ridge').fit(torch.tensor(xs),
                                                torch.tensor(ys), WAYS)
            ridge_aug = build_classifier('Ridge').fit_augmented(aug, WAYS)
            results[lapack] = [lin.coef_, ridge_aug.coef_]
    finally:
        torch.set_num_threads(threads)
    for a, b in zip(results[True], results[False]):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)


def test_row_space_transform_gives_an_orthonormal_basis_of_the_rows():
    """``Q = X^T T^T`` (never formed by the classifier) has orthonormal
    columns and spans the rows of X: the projector Q Q^T equals the one of
    NumPy's QR."""
    from openselfsup.lowshot.classifiers import gram, row_space_transform
    rng = np.random.default_rng(8)
    X = torch.tensor(rng.normal(size=(4, 6, 20)) + 3.0)  # far from centred
    T = row_space_transform(gram(X, outer=True))
    Q = X.transpose(1, 2) @ T.transpose(1, 2)
    eye = np.broadcast_to(np.eye(6), (4, 6, 6))
    np.testing.assert_allclose((Q.transpose(1, 2) @ Q).numpy(), eye,
                               atol=1e-12)
    for x, q in zip(X.numpy(), Q.numpy()):
        ref = np.linalg.qr(x.T)[0]
        np.testing.assert_allclose(q @ q.T, ref @ ref.T, atol=1e-12)
    dependent = X.clone()
    dependent[2, 5] = dependent[2, 0]  # a repeated support sample
    assert row_space_transform(gram(dependent, outer=True)) is None


def test_logistic_regression_with_repeated_samples_matches_sklearn():
    """Dependent rows take the explicit QR basis; the fit still matches
    scikit-learn."""
    xs, ys, xq, yq = _tasks(9)
    xs = xs.copy()
    xs[:, 1] = xs[:, 0]  # every task repeats a support sample (same class)
    clf = build_classifier('logistic_regression').fit(
        torch.tensor(xs), torch.tensor(ys), WAYS)
    pred = clf.predict(torch.tensor(xq)).numpy()
    _compare('logistic_regression', pred, xq, yq, list(zip(xs, ys)))


@pytest.mark.parametrize('dtype', [np.float64, np.float32])
def test_lock_free_lapack_solve_matches_scipy_wrapper(monkeypatch, dtype):
    """The per-task Cholesky through SciPy's Cython LAPACK pointers (called
    without Python's lock, in parallel threads) gives the solution of
    SciPy's own wrapper and of NumPy, leaves G alone unless allowed to
    overwrite it, and reports an indefinite matrix."""
    from openselfsup.lowshot import classifiers
    assert classifiers._nogil_cholesky(dtype) is not None  # SciPy >= 1.x
    rng = np.random.default_rng(10)
    order = classifiers.LAPACK_MIN_ORDER  # the LAPACK path's smallest size
    X = rng.normal(size=(3, order + 20, order)).astype(dtype)
    G = torch.tensor(X.transpose(0, 2, 1) @ X / order
                     + np.eye(order, dtype=dtype))
    R = torch.tensor(rng.normal(size=(3, order, 4)).astype(dtype))
    ref = np.stack([np.linalg.solve(g.astype(np.float64), r)
                    for g, r in zip(G.numpy(), R.numpy())])
    tol = 1e-10 if dtype == np.float64 else 1e-4
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        kept = G.clone()
        lock_free = classifiers.solve_spd(kept, R).numpy()
        assert torch.equal(kept, G)  # overwrite=False: G untouched
        monkeypatch.setattr(classifiers, '_nogil_cholesky', lambda d: None)
        wrapper = classifiers.solve_spd(G.clone(), R, overwrite=True).numpy()
        monkeypatch.undo()
        with pytest.raises(ValueError, match='positive definite'):
            bad = G.clone()
            bad[1] = -bad[1]
            classifiers.solve_spd(bad, R, overwrite=True)
    finally:
        torch.set_num_threads(threads)
    scale = np.abs(ref).max()
    np.testing.assert_allclose(lock_free / scale, ref / scale, atol=tol)
    np.testing.assert_allclose(wrapper / scale, ref / scale, atol=tol)
    np.testing.assert_allclose(lock_free, wrapper, rtol=0,
                               atol=tol * scale)
