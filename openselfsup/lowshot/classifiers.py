"""Batched classifiers: one fit/predict solves a whole batch of low-shot tasks.

Each matches a scikit-learn default on every task of the batch:

- :class:`RidgeClassifier` = ``sklearn.linear_model.RidgeClassifier()``
  (alpha=1, intercept by centering, one-vs-all targets +-1, exact solve).
- :class:`LogisticRegression` = ``LogisticRegression(max_iter=1000)``
  (multinomial, L2 with C=1 on the weights, intercept not penalised),
  minimised by a batched L-BFGS to a tighter gradient tolerance than
  scikit-learn's, so both reach (nearly) the same optimum.
- :class:`NearestCentroid` = ``NearestCentroid()`` (Euclidean).

Inputs are torch tensors on any device: ``X [B, n, D]`` features,
``y [B, n]`` int64 class positions ``0..C-1`` (every task of a batch has the
same C). ``predict(X [B, q, D])`` returns int64 ``[B, q]``. Computation runs
in ``dtype`` (float64 by default, for agreement with scikit-learn).

``fit_augmented(aug, C)`` trains on a latent-augmented support set
(:class:`~openselfsup.lowshot.augment.AugmentedSupport`); the default
materialises it, :class:`NearestCentroid` only needs its class means.
"""
from typing import Callable, Optional, Tuple

import torch

Tensor = torch.Tensor


def _one_hot(y: Tensor, num_classes: int, dtype) -> Tensor:
    return torch.nn.functional.one_hot(y, num_classes).to(dtype)


class BatchedClassifier:
    """Base class: ``fit(X, y, C)``, ``predict(X)``, ``fit_augmented``."""

    def __init__(self, dtype: torch.dtype = torch.float64):
        self.dtype = dtype

    def fit(self, X: Tensor, y: Tensor, num_classes: int):
        raise NotImplementedError

    def predict(self, X: Tensor) -> Tensor:
        raise NotImplementedError

    def fit_augmented(self, aug, num_classes: int):
        """Fit on a latent-augmented support set (materialised)."""
        X, y = aug.materialise()
        return self.fit(X, y, num_classes)


class NearestCentroid(BatchedClassifier):
    """Nearest class mean in Euclidean distance; ties go to the lower class."""

    def fit(self, X: Tensor, y: Tensor, num_classes: int):
        X = X.to(self.dtype)
        onehot = _one_hot(y, num_classes, X.dtype)  # [B, n, C]
        counts = onehot.sum(1).clamp_min(1)  # [B, C]
        self.centroids_ = onehot.transpose(1, 2) @ X / counts[..., None]
        return self

    def fit_means(self, means: Tensor):
        """Use given class means ``[B, C, D]`` as centroids."""
        self.centroids_ = means.to(self.dtype)
        return self

    def fit_augmented(self, aug, num_classes: int):
        """Centroids of the augmented set without materialising it."""
        return self.fit_means(aug.class_means(num_classes, self.dtype))

    def predict(self, X: Tensor) -> Tensor:
        d = torch.cdist(X.to(self.dtype), self.centroids_,
                        compute_mode='donot_use_mm_for_euclid_dist')
        return d.argmin(-1)


class RidgeClassifier(BatchedClassifier):
    """``RidgeClassifier(alpha)``: least squares on +-1 targets, L2 penalty.

    Args:
        alpha (float): L2 strength.
        dtype (torch.dtype): computation dtype.
    """

    def __init__(self, alpha: float = 1.0, dtype: torch.dtype = torch.float64):
        super().__init__(dtype)
        self.alpha = alpha

    def fit(self, X: Tensor, y: Tensor, num_classes: int):
        X = X.to(self.dtype)
        _, n, d = X.shape
        Y = 2 * _one_hot(y, num_classes, X.dtype) - 1  # [B, n, C]
        x_mean = X.mean(1, keepdim=True)
        y_mean = Y.mean(1, keepdim=True)
        Xc, Yc = X - x_mean, Y - y_mean
        if n < d:  # kernel form: (Xc Xc^T + aI) A = Yc, W = Xc^T A
            K = Xc @ Xc.transpose(1, 2)
            K.diagonal(dim1=1, dim2=2).add_(self.alpha)
            L = torch.linalg.cholesky(K)
            # (A^T Xc)^T: MKL's batched GEMM is several times slower for
            # the [D, n] x [n, C] shape than for [C, n] x [n, D]
            W = (torch.cholesky_solve(Yc, L).transpose(1, 2) @ Xc
                 ).transpose(1, 2)
        else:  # primal: (Xc^T Xc + aI) W = Xc^T Yc
            G = Xc.transpose(1, 2) @ Xc
            G.diagonal(dim1=1, dim2=2).add_(self.alpha)
            L = torch.linalg.cholesky(G)
            W = torch.cholesky_solve((Yc.transpose(1, 2) @ Xc
                                      ).transpose(1, 2), L)
        self.coef_ = W  # [B, D, C]
        self.intercept_ = y_mean - x_mean @ W  # [B, 1, C]
        return self

    def decision_function(self, X: Tensor) -> Tensor:
        return X.to(self.dtype) @ self.coef_ + self.intercept_

    def predict(self, X: Tensor) -> Tensor:
        return self.decision_function(X).argmax(-1)


def row_space_basis(X: Tensor) -> Tensor:
    """Orthonormal basis ``[B, D, n]`` of the row space of ``X [B, n, D]``.

    Cholesky-QR twice (two small Gram matrices and triangular solves, far
    faster than batched Householder QR on a CPU); tasks whose Gram matrix is
    singular (repeated or dependent rows) fall back to QR.
    """
    Q = X.transpose(1, 2)
    for _ in range(2):
        L, info = torch.linalg.cholesky_ex(Q.transpose(1, 2) @ Q)
        if bool((info != 0).any()):
            return torch.linalg.qr(X.transpose(1, 2))[0]
        Q = torch.linalg.solve_triangular(L, Q.transpose(1, 2),
                                          upper=False).transpose(1, 2)
    return Q


def lbfgs(fun: Callable[[Tensor], Tuple[Tensor, object]],
          grad: Callable[[Tensor, object], Tensor], x0: Tensor,
          max_iter: int = 1000, tol: float = 1e-6, history: int = 10,
          max_ls: int = 40) -> Tuple[Tensor, Tensor]:
    """Minimise B independent smooth functions at once with L-BFGS.

    Args:
        fun: ``x [B, P] -> (f [B], cache)``; ``cache`` is handed to ``grad``.
        grad: ``(x, cache) -> g [B, P]``, the gradient at ``x``.
        x0 (Tensor): ``[B, P]`` starting points.
        max_iter (int): iterations at most.
        tol (float): a task stops when ``max |g| <= tol``.
        history (int): number of correction pairs kept.
        max_ls (int): backtracking (Armijo) halvings at most per iteration.

    Returns:
        (Tensor, Tensor): minimisers ``[B, P]`` and iterations used per task.
    """
    x = x0.clone()
    f, cache = fun(x)
    g = grad(x, cache)
    B, P = x.shape
    S = x.new_zeros(B, history, P)
    Yh = x.new_zeros(B, history, P)
    rho = x.new_zeros(B, history)
    gamma = x.new_ones(B)
    first = torch.ones(B, dtype=torch.bool, device=x.device)
    active = g.abs().amax(1) > tol
    iters = torch.zeros(B, dtype=torch.long, device=x.device)
    pos = 0
    for _ in range(max_iter):
        if not bool(active.any()):
            break
        q = g.clone()
        alpha = x.new_zeros(B, history)
        order = [(pos - 1 - j) % history for j in range(history)]
        for j in order:  # newest to oldest
            a = rho[:, j] * (S[:, j] * q).sum(1)
            alpha[:, j] = a
            q -= a[:, None] * Yh[:, j]
        r = gamma[:, None] * q
        for j in reversed(order):  # oldest to newest
            b = rho[:, j] * (Yh[:, j] * r).sum(1)
            r += S[:, j] * (alpha[:, j] - b)[:, None]
        d = -r
        gd = (g * d).sum(1)
        bad = gd >= 0  # not a descent direction: fall back to -g
        if bool(bad.any()):
            d = torch.where(bad[:, None], -g, d)
            gd = torch.where(bad, -(g * g).sum(1), gd)
        t = torch.where(first, 1.0 / g.abs().sum(1).clamp_min(1e-12),
                        torch.ones_like(f)).clamp(max=1.0)
        t = torch.where(active, t, torch.zeros_like(t))
        pending = active.clone()
        f_new, cache_new = f, cache
        for _ in range(max_ls):
            f_try, cache_try = fun(x + t[:, None] * d)
            ok = pending & (f_try <= f + 1e-4 * t * gd)
            f_new = torch.where(ok, f_try, f_new)
            cache_new = _merge(cache_new, cache_try, ok)
            pending = pending & ~ok
            if not bool(pending.any()):
                break
            t = torch.where(pending, t * 0.5, t)
        # tasks whose line search failed stop where they are
        t = torch.where(pending, torch.zeros_like(t), t)
        stalled = pending
        x_new = x + t[:, None] * d
        g_new = grad(x_new, cache_new)
        s, yv = x_new - x, g_new - g
        sy = (s * yv).sum(1)
        upd = active & (sy > 1e-10 * (yv * yv).sum(1).sqrt()
                        * (s * s).sum(1).sqrt())
        S[:, pos] = torch.where(upd[:, None], s, S[:, pos])
        Yh[:, pos] = torch.where(upd[:, None], yv, Yh[:, pos])
        rho[:, pos] = torch.where(upd, 1.0 / sy.where(upd, torch.ones_like(sy)),
                                  torch.zeros_like(sy))
        gamma = torch.where(upd, sy / (yv * yv).sum(1).clamp_min(1e-300),
                            gamma)
        pos = (pos + 1) % history
        iters += active.long()
        first = first & ~upd
        x = torch.where(active[:, None], x_new, x)
        g = torch.where(active[:, None], g_new, g)
        f = torch.where(active, f_new, f)
        active = active & ~stalled & (g.abs().amax(1) > tol)
    return x, iters


def _merge(old, new, mask: Tensor):
    """Keep ``new`` where ``mask`` (per task) else ``old``; tensors or tuples."""
    if isinstance(old, tuple):
        return tuple(_merge(o, n, mask) for o, n in zip(old, new))
    shape = (-1,) + (1,) * (old.dim() - 1)
    return torch.where(mask.view(shape), new, old)


class LogisticRegression(BatchedClassifier):
    """``LogisticRegression(C, max_iter)``: multinomial, L2 on the weights.

    Minimises, per task, ``mean_i CE(x_i W + b, y_i) + ||W||^2 / (2 C n)``
    (scikit-learn's objective divided by n). When ``n < D`` the weights lie in
    the row space of X, so the problem is solved exactly in an orthonormal
    basis of it (``n`` instead of ``D`` coordinates).

    Args:
        C (float): inverse L2 strength.
        max_iter (int): L-BFGS iterations at most.
        tol (float): gradient tolerance (max-norm) of the mean objective.
        dtype (torch.dtype): computation dtype.
    """

    def __init__(self, C: float = 1.0, max_iter: int = 1000,
                 tol: float = 1e-6, dtype: torch.dtype = torch.float64):
        super().__init__(dtype)
        self.C, self.max_iter, self.tol = C, max_iter, tol

    def fit(self, X: Tensor, y: Tensor, num_classes: int):
        X = X.to(self.dtype)
        B, n, d = X.shape
        # centering is exact (the intercept is free) and conditions the
        # problem far better for features with a large common offset
        x_mean = X.mean(1, keepdim=True)
        X = X - x_mean
        basis: Optional[Tensor] = None
        if n < d:
            basis = row_space_basis(X + x_mean)  # [B, D, n]
            Z = X @ basis
        else:
            Z = X
        r, C = Z.shape[2], num_classes
        Y = _one_hot(y, C, X.dtype)
        reg = 1.0 / (2.0 * self.C * n)

        def fun(p):
            V = p[:, :r * C].view(B, r, C)
            logits = Z @ V + p[:, r * C:].view(B, 1, C)
            top = logits.amax(-1, keepdim=True)
            e = torch.exp(logits - top)
            se = e.sum(-1, keepdim=True)
            f = (top + torch.log(se) - (logits * Y).sum(-1, keepdim=True)
                 ).squeeze(-1).mean(1) + reg * (V * V).sum((1, 2))
            return f, e / se  # cache: class probabilities

        def grad(p, prob):
            V = p[:, :r * C].view(B, r, C)
            G = (prob - Y) / n
            gV = (G.transpose(1, 2) @ Z).transpose(1, 2) + 2 * reg * V
            return torch.cat([gV.reshape(B, -1), G.sum(1)], 1)

        p0 = X.new_zeros(B, r * C + C)
        p, self.n_iter_ = lbfgs(fun, grad, p0, self.max_iter, self.tol)
        V = p[:, :r * C].view(B, r, C)
        self.coef_ = V if basis is None else basis @ V  # [B, D, C]
        self.intercept_ = p[:, r * C:].view(B, 1, C) - x_mean @ self.coef_
        return self

    def decision_function(self, X: Tensor) -> Tensor:
        return X.to(self.dtype) @ self.coef_ + self.intercept_

    def predict(self, X: Tensor) -> Tensor:
        return self.decision_function(X).argmax(-1)


#: ``--clf`` name -> classifier class (the original's names)
CLASSIFIERS = {
    'Ridge': RidgeClassifier,
    'logistic_regression': LogisticRegression,
    'nearest_centroid': NearestCentroid,
}


def build_classifier(name: str, dtype: torch.dtype = torch.float64
                     ) -> BatchedClassifier:
    """A classifier by its ``--clf`` name."""
    return CLASSIFIERS[name](dtype=dtype)
