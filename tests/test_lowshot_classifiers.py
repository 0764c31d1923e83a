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
#: (min share of identical query predictions, max per-class mean-F1 gap,
#: F1 as a fraction)
TOLERANCE = {'Ridge': (0.995, 0.003), 'logistic_regression': (0.99, 0.005),
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
    assert 0.3 < f1_ref.mean() < 0.98  # tasks: neither trivial nor hopeless


@pytest.mark.parametrize('name', list(SKLEARN))
def test_linear_mode_matches_sklearn(name):
    xs, ys, xq, yq = _tasks(0)
    clf = build_classifier(name).fit(torch.tensor(xs), torch.tensor(ys))
    pred = clf.predict(torch.tensor(xq)).numpy()
    _compare(name, pred, xq, yq, list(zip(xs, ys)))


@pytest.mark.parametrize('name', list(SKLEARN))
def test_latent_aug_mode_matches_sklearn(name):
    xs, ys, xq, yq = _tasks(1)
    aug = _augmented(xs, ys, 1)
    X, y = aug.materialise()
    clf = build_classifier(name).fit_augmented(aug, torch.arange(WAYS))
    pred = clf.predict(torch.tensor(xq)).numpy()
    _compare(name, pred, xq, yq, list(zip(X.numpy(), y.numpy())))


def test_sklearn_interface_labels_classes_and_coef_layout():
    """Labels need not be 0..C-1: ``classes_`` holds them sorted and
    ``predict`` returns them; ``coef_ [B, C, D]`` / ``intercept_ [B, C]``
    are scikit-learn's ``coef_``/``intercept_`` of each task (Ridge: equal
    to RidgeClassifier's)."""
    xs, ys, xq, _ = _tasks(11)
    labels = np.array([3, 7, 8, 11, 20])
    ys_l = labels[ys]
    clf = build_classifier('Ridge', {'alpha': 0.5}).fit(torch.tensor(xs),
                                                         torch.tensor(ys_l))
    assert clf.classes_.tolist() == labels.tolist()
    assert clf.coef_.shape == (B, WAYS, DIM) and \
        clf.intercept_.shape == (B, WAYS)
    pred = clf.predict(torch.tensor(xq)).numpy()
    assert set(np.unique(pred)) <= set(labels)
    for b in (0, 5):
        ref = RidgeClassifier(alpha=0.5).fit(xs[b], ys_l[b])
        np.testing.assert_allclose(clf.coef_[b].numpy(), ref.coef_,
                                   rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(clf.intercept_[b].numpy(),
                                   ref.intercept_, rtol=1e-8, atol=1e-10)
        np.testing.assert_array_equal(pred[b], ref.predict(xq[b]))
    with pytest.raises(ValueError):
        build_classifier('Ridge').fit(torch.tensor(xs), torch.tensor(ys_l),
                                      torch.tensor([3, 7]))


@pytest.mark.parametrize('name,params,ref', [
    ('Ridge', {'alpha': 10.0}, lambda: RidgeClassifier(alpha=10.0)),
    ('logistic_regression', {'C': 0.05},
     lambda: LogisticRegression(C=0.05, max_iter=1000))])
def test_hyperparameters_reach_the_solver(name, params, ref):
    """--alpha / --C change the fit the way scikit-learn's parameter does."""
    xs, ys, xq, _ = _tasks(12)
    pred = build_classifier(name, params).fit(
        torch.tensor(xs), torch.tensor(ys)).predict(torch.tensor(xq)).numpy()
    want = np.stack([ref().fit(x, y).predict(q)
                     for x, y, q in zip(xs, ys, xq)])
    default = np.stack([SKLEARN[name]().fit(x, y).predict(q)
                        for x, y, q in zip(xs, ys, xq)])
    assert (pred == want).mean() >= 0.99
    assert (want != default).any()  # the parameter matters on these tasks


@pytest.mark.filterwarnings('ignore::UserWarning:sklearn')
@pytest.mark.filterwarnings('ignore::scipy.linalg.LinAlgWarning')
def test_ridge_on_huge_features_falls_back_like_sklearn():
    """Features so large that alpha vanishes next to X X^T: the Cholesky of
    the normal equations fails. Here features outnumber samples, so
    scikit-learn solves the dual and falls back to ``lstsq`` on the kernel
    matrix (its SVD solver is the primal fall-back); the engine solves
    those tasks through the SVD of the centred data (counted): the same
    ridge solution, so the same predictions and coefficients."""
    import warnings
    xs, ys, xq, _ = _tasks(13)
    scale = 1e9
    X, Xq = xs[:4] * scale, xq[:4] * scale

    def check(X, y):
        """The engine against scikit-learn, task by task; the number of
        tasks where scikit-learn took its dual least-squares fall-back."""
        assert X.shape[1] < X.shape[2]  # features outnumber samples
        clf = build_classifier('Ridge').fit(torch.tensor(X), torch.tensor(y))
        pred = clf.predict(torch.tensor(Xq)).numpy()
        lstsq = 0
        refs = []
        for x, t in zip(X, y):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter('always')
                refs.append(RidgeClassifier().fit(x, t))
            lstsq += any('Singular matrix in solving dual problem'
                         in str(w.message) for w in caught)
        ref = np.stack([r.predict(q) for r, q in zip(refs, Xq)])
        assert (pred == ref).mean() >= 0.99
        coef = np.stack([r.coef_ for r in refs])
        assert np.abs(clf.coef_.numpy() - coef).max() <= \
            1e-9 * np.abs(coef).max()
        return clf, lstsq
    clf, lstsq = check(X, ys[:4])
    assert lstsq > 0 and clf.stats()['svd_fallback'] > 0
    assert np.isfinite(clf.coef_.numpy()).all()
    # repeated samples: the kernel matrix is singular up to alpha, which
    # vanishes at this scale: Cholesky fails, the SVD answers as sklearn
    clf, lstsq = check(np.concatenate([X, X], 1),
                       np.concatenate([ys[:4], ys[:4]], 1))
    assert lstsq == 4 and clf.stats()['svd_fallback'] == 4


def test_logistic_regression_counts_tasks_that_stop_early():
    """Tasks that hit max_iter are counted (scikit-learn warns about
    them); with enough iterations none is."""
    xs, ys, _, _ = _tasks(14)
    few = build_classifier('logistic_regression', {'max_iter': 2}).fit(
        torch.tensor(xs), torch.tensor(ys))
    assert few.stats()['max_iter'] == B
    assert (few.n_iter_ == 2).all()
    full = build_classifier('logistic_regression').fit(
        torch.tensor(xs), torch.tensor(ys))
    assert full.stats() == {'max_iter': 0, 'line_search': 0}


@pytest.mark.parametrize('mode', ['linear', 'latent_aug'])
def test_float32_logistic_regression_stops_at_working_precision(mode):
    """In float32 the gradient tolerance (1e-6) lies below the gradient's
    rounding: tasks ran to max_iter (9 of these 24 linear tasks, 8 latent:
    tens of times the float64 time). They now stop where an accepted step no
    longer lowers the float32 objective, in fewer iterations than float64
    needs, predicting as float64 and scikit-learn do; float64 never stops
    on that rule here, so its iterates are the ones without it."""
    from openselfsup.lowshot.classifiers import CONVERGED
    xs, ys, xq, yq = _tasks(0)
    fits = {}
    for dtype in (torch.float64, torch.float32):
        clf = build_classifier('logistic_regression', dtype=dtype)
        if mode == 'latent_aug':
            aug = _augmented(xs, ys, 0)
            fits[dtype] = clf.fit_augmented(aug, torch.arange(WAYS))
        else:
            fits[dtype] = clf.fit(torch.tensor(xs), torch.tensor(ys))
    f32, f64 = fits[torch.float32], fits[torch.float64]
    assert (f64.stop_ == CONVERGED).all()
    assert f32.stats() == {'max_iter': 0, 'line_search': 0}
    assert int(f32.n_iter_.max()) <= int(f64.n_iter_.max()) + 5
    pred = f32.predict(torch.tensor(xq)).numpy()
    assert (pred == f64.predict(torch.tensor(xq)).numpy()).mean() >= 0.998
    if mode == 'latent_aug':
        X, y = aug.materialise()
        sets = list(zip(X.numpy(), y.numpy()))
    else:
        sets = list(zip(xs, ys))
    _compare('logistic_regression', pred, xq, yq, sets)


def _summed_objective_fit(X, y, C=1.0, gtol=1e-4, max_iter=1000):
    """Multinomial logistic regression as scikit-learn <= 1.0 fitted it
    (the published runs: Python 3.6 / 3.7 in their logs, so at most
    scikit-learn 1.0.2): scipy's L-BFGS-B from zero on the *summed* loss
    ``sum_i CE_i + ||W||^2 / (2C)`` (intercepts not penalised), stopped at
    a projected-gradient max-norm of ``gtol``; returns ``(W, b)``."""
    from scipy import optimize
    from scipy.special import logsumexp
    classes = np.unique(y)
    k, d = len(classes), X.shape[1]
    Y = (y[:, None] == classes[None]).astype(float)

    def loss_grad(w):
        W, b = w[:k * d].reshape(k, d), w[k * d:]
        z = X @ W.T + b
        lse = logsumexp(z, axis=1)
        G = np.exp(z - lse[:, None]) - Y
        loss = (lse - (Y * z).sum(1)).sum() + (W ** 2).sum() / (2 * C)
        return loss, np.concatenate([(G.T @ X + W / C).ravel(), G.sum(0)])

    res = optimize.minimize(loss_grad, np.zeros(k * (d + 1)), jac=True,
                            method='L-BFGS-B',
                            options=dict(gtol=gtol, maxiter=max_iter))
    return res.x[:k * d].reshape(k, d), res.x[k * d:]


@pytest.mark.parametrize('mode', ['linear', 'latent_aug'])
def test_logistic_regression_agrees_with_the_published_era_solver(mode):
    """The published runs' scikit-learn stopped on the gradient of the
    summed loss (about ``1e-4 / n`` on the mean loss, tighter than today's
    scikit-learn, which stops at 1e-4 on the mean): the engine's fit
    (1e-6 on the mean) predicts the same queries as that solver, written
    here independently with scipy."""
    xs, ys, xq, _ = _tasks(21)
    if mode == 'latent_aug':
        X, y = _augmented(xs, ys, 21).materialise()
        X, y = X.numpy(), y.numpy()
    else:
        X, y = xs, ys
    pred = build_classifier('logistic_regression').fit(
        torch.tensor(X), torch.tensor(y)).predict(torch.tensor(xq)).numpy()
    ref = []
    for b in range(B):
        W, c = _summed_objective_fit(X[b], y[b])
        ref.append((xq[b] @ W.T + c).argmax(1))
    agree = (pred == np.stack(ref)).mean()
    assert agree >= 0.995, agree


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


@pytest.mark.parametrize('name', ['nearest_centroid', 'Ridge',
                                  'logistic_regression'])
def test_one_aug_shot_is_the_plain_fit(name):
    """``num_aug_shots`` 1 is each support feature alone (the published
    code draws ``num_aug_shots - 1`` = 0 shifts): the linear fit's
    predictions; nearest centroid's shift sums over no draws used to stop
    the run with a torch error."""
    xs, ys, xq, _ = _tasks(6)
    aug = _augmented(xs, ys, 6, num_aug_shots=1)
    a = build_classifier(name).fit_augmented(aug, torch.arange(WAYS))
    b = build_classifier(name).fit(torch.tensor(xs), torch.tensor(ys))
    xq = torch.tensor(xq)
    assert torch.equal(a.predict(xq), b.predict(xq))


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
    return (build_classifier(name).fit_augmented(aug, torch.arange(WAYS)),
            build_classifier(name).fit(X, y), torch.tensor(xq))


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


def test_numpy_syrk_and_batched_torch_gram_agree(monkeypatch):
    """``gram`` runs per task through NumPy's syrk for large orders on the
    CPU and as a batched torch product elsewhere; both equal a plain
    per-task reference, and so do the Ridge fits built on them."""
    from openselfsup.lowshot import _linalg
    rng = np.random.default_rng(7)
    X = torch.tensor(rng.normal(size=(5, 12, 9)))
    G_ref = np.stack([x.T @ x for x in X.numpy()])
    K_ref = np.stack([x @ x.T for x in X.numpy()])
    xs, ys, _, _ = _tasks(6)
    aug = _augmented(xs, ys, 6, num_aug_shots=4)
    results = {}
    for order in (1, 10 ** 9):  # every order on NumPy, none on NumPy
        monkeypatch.setattr(_linalg, 'SYRK_MIN_ORDER', order)
        np.testing.assert_allclose(_linalg.gram(X).numpy(), G_ref,
                                   rtol=1e-12)
        np.testing.assert_allclose(_linalg.gram(X, outer=True).numpy(),
                                   K_ref, rtol=1e-12)
        lin = build_classifier('Ridge').fit(torch.tensor(xs),
                                            torch.tensor(ys))
        ridge_aug = build_classifier('Ridge').fit_augmented(
            aug, torch.arange(WAYS))
        results[order] = [lin.coef_, ridge_aug.coef_]
    for a, b in zip(*results.values()):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)


def test_cholesky_solve_reports_failed_tasks_only():
    from openselfsup.lowshot._linalg import cholesky_solve
    rng = np.random.default_rng(15)
    X = rng.normal(size=(4, 12, 6))
    G = torch.tensor(X.transpose(0, 2, 1) @ X + np.eye(6))
    R = torch.tensor(rng.normal(size=(4, 6, 2)))
    G[2] = -G[2]
    sol, failed = cholesky_solve(G, R)
    assert failed.tolist() == [False, False, True, False]
    for b in (0, 1, 3):
        np.testing.assert_allclose(sol[b].numpy(),
                                   np.linalg.solve(G[b].numpy(),
                                                   R[b].numpy()), rtol=1e-9)


def test_row_space_transform_gives_an_orthonormal_basis_of_the_rows():
    """``Q = X^T T^T`` (never formed by the classifier) has orthonormal
    columns and spans the rows of X: the projector Q Q^T equals the one of
    NumPy's QR; a task with a repeated row is flagged, the others keep
    their transform."""
    from openselfsup.lowshot.classifiers import gram, row_space_transform
    rng = np.random.default_rng(8)
    X = torch.tensor(rng.normal(size=(4, 6, 20)) + 3.0)  # far from centred
    T, ok = row_space_transform(gram(X, outer=True))
    assert ok.all()
    Q = X.transpose(1, 2) @ T.transpose(1, 2)
    eye = np.broadcast_to(np.eye(6), (4, 6, 6))
    np.testing.assert_allclose((Q.transpose(1, 2) @ Q).numpy(), eye,
                               atol=1e-12)
    for x, q in zip(X.numpy(), Q.numpy()):
        ref = np.linalg.qr(x.T)[0]
        np.testing.assert_allclose(q @ q.T, ref @ ref.T, atol=1e-12)
    dependent = X.clone()
    dependent[2, 5] = dependent[2, 0]  # a repeated support sample
    Td, okd = row_space_transform(gram(dependent, outer=True))
    assert okd.tolist() == [True, True, False, True]
    torch.testing.assert_close(Td[okd], T[okd])


def test_logistic_regression_mixes_row_space_and_qr_tasks_exactly():
    """In one batch, tasks with repeated rows (explicit QR basis) and
    without (implicit basis) each get what they get alone."""
    from openselfsup.lowshot.parallel import serial_kernels
    xs, ys, _, _ = _tasks(17)
    xs = xs.copy()
    xs[::2, 1] = xs[::2, 0]
    with serial_kernels():
        whole = build_classifier('logistic_regression').fit(
            torch.tensor(xs), torch.tensor(ys))
        for b in range(B):
            one = build_classifier('logistic_regression').fit(
                torch.tensor(xs[b:b + 1]), torch.tensor(ys[b:b + 1]))
            assert torch.equal(whole.coef_[b], one.coef_[0]), b
            assert torch.equal(whole.intercept_[b], one.intercept_[0]), b


def test_logistic_regression_with_repeated_samples_matches_sklearn():
    """Dependent rows take the explicit QR basis; the fit still matches
    scikit-learn."""
    xs, ys, xq, yq = _tasks(9)
    xs = xs.copy()
    xs[:, 1] = xs[:, 0]  # every task repeats a support sample (same class)
    clf = build_classifier('logistic_regression').fit(
        torch.tensor(xs), torch.tensor(ys))
    pred = clf.predict(torch.tensor(xq)).numpy()
    _compare('logistic_regression', pred, xq, yq, list(zip(xs, ys)))


def test_logistic_regression_two_classes_is_sklearns_binary_model():
    """scikit-learn fits two classes as one binary logistic regression
    (sigmoid of ``w.x + b``, penalty ``||w||^2 / 2C``), not as a two-row
    softmax, whose penalty on ``w = w_1 - w_0`` is half as strong: the
    engine's score difference is scikit-learn's ``decision_function``."""
    rng = np.random.default_rng(31)
    n, q, dim = 8, 30, 16
    y = np.tile(np.repeat([0, 1], n // 2), (B, 1))
    yq = np.tile(np.repeat([0, 1], q // 2), (B, 1))
    xs = rng.normal(size=(B, n, dim))
    xq = rng.normal(size=(B, q, dim))
    xs[..., 0] += 0.8 * y
    xq[..., 0] += 0.8 * yq
    clf = build_classifier('logistic_regression').fit(torch.tensor(xs),
                                                      torch.tensor(y))
    scores = clf.decision_function(torch.tensor(xq)).numpy()
    for b in range(B):
        ref = LogisticRegression(max_iter=1000, tol=1e-10).fit(xs[b], y[b])
        np.testing.assert_allclose(scores[b, :, 1] - scores[b, :, 0],
                                   ref.decision_function(xq[b]),
                                   rtol=1e-3, atol=1e-3)


def test_estimator_names_are_the_specs():
    from openselfsup.lowshot.analytic import EXPECTED_ESTIMATORS
    from openselfsup.lowshot.classifiers import ESTIMATORS
    from openselfsup.lowshot.spec import CLASSIFIERS, EXPECTED_CLASSIFIERS
    assert tuple(ESTIMATORS) == CLASSIFIERS
    assert tuple(EXPECTED_ESTIMATORS) == EXPECTED_CLASSIFIERS


def test_lbfgs_drops_finished_tasks_without_changing_any_task():
    """Finished tasks leave the L-BFGS batch (compaction): every task's
    solution, iterations and stop reason equal those of solving it alone."""
    from openselfsup.lowshot import classifiers as C
    from openselfsup.lowshot.parallel import serial_kernels
    xs, ys, _, _ = _tasks(16)
    xs = xs.copy()
    xs[::3] *= 4.0  # some tasks converge much later than others
    seen = []
    original = C._MultinomialProblem.subset

    def spy(self, keep):
        seen.append(int(keep.sum()))
        return original(self, keep)
    C._MultinomialProblem.subset = spy
    try:
        with serial_kernels():
            whole = build_classifier('logistic_regression').fit(
                torch.tensor(xs), torch.tensor(ys))
            alone = [build_classifier('logistic_regression').fit(
                torch.tensor(xs[b:b + 1]), torch.tensor(ys[b:b + 1]))
                for b in range(B)]
    finally:
        C._MultinomialProblem.subset = original
    assert seen and seen[0] < B  # the batch shrank on the way
    assert len(set(whole.n_iter_.tolist())) > 1
    for b, m in enumerate(alone):
        assert torch.equal(whole.coef_[b], m.coef_[0]), b
        assert int(whole.n_iter_[b]) == int(m.n_iter_[0])
        assert int(whole.stop_[b]) == int(m.stop_[0])
