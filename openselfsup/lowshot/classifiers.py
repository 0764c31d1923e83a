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
materialises it, :class:`RidgeClassifier` only needs its normal equations
(sums over the copies) and :class:`NearestCentroid` its class means.

On the CPU the two dense kernels of Ridge, the Gram matrix ``X^T X`` and the
symmetric positive-definite solve, go through NumPy's ``A.T @ A`` (BLAS
``syrk``, half the work of a general product) and LAPACK's ``potrf/potrs``
one task at a time when the matrices are large (``D x D``, as in augmented
and analytic Ridge), where that beat torch's batched ``bmm`` and
``cholesky``, split over ``torch.get_num_threads()`` threads (the
factorisations go through SciPy's Cython LAPACK pointers, called without
Python's lock); small ones (the ``n x n`` dual of linear Ridge) and CUDA use
torch's batched ops.
"""
import ctypes
from typing import Callable, Optional, Tuple

import numpy as np
import torch
from scipy.linalg import lapack

Tensor = torch.Tensor


def _one_hot(y: Tensor, num_classes: int, dtype) -> Tensor:
    return torch.nn.functional.one_hot(y, num_classes).to(dtype)


def _affine(X: Tensor, W: Tensor, b: Tensor) -> Tensor:
    """``X @ W + b`` for ``W [B, D, C]``, via the faster wide layout."""
    Wt = W.transpose(1, 2).contiguous()
    return torch.baddbmm(b.expand(-1, X.shape[1], -1), X, Wt.transpose(1, 2))


def _per_task(fn, num_tasks: int) -> None:
    """Run ``fn(b)`` for every task index, split over torch's thread count
    in Python threads. They overlap only where ``fn`` releases Python's
    lock (NumPy's products and the ctypes LAPACK calls of
    :func:`solve_spd` do, SciPy's ``lapack`` wrappers do not); each BLAS
    call is single-threaded inside the engine (``engine.meta_test``)."""
    workers = min(torch.get_num_threads(), num_tasks)
    if workers <= 1:
        for b in range(num_tasks):
            fn(b)
        return
    from concurrent.futures import ThreadPoolExecutor

    def run(first):  # every workers-th task from `first`
        for b in range(first, num_tasks, workers):
            fn(b)
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(run, range(workers)))


#: smallest matrix order (of the Gram matrix or the system) sent to the
#: per-task NumPy/LAPACK kernels on the CPU; below it torch's batched ops
#: won (per task, 2 CPU threads: at order 25 a Gram matrix 23 us against
#: 47 us and a solve 13 us against 20 us; at 512, 3.2 ms against 4.4 ms
#: and 3.0 ms against 3.2 ms; the crossing near 256)
LAPACK_MIN_ORDER = 256


def _on_lapack(t: Tensor, order: int) -> bool:
    """Whether ``gram``/``solve_spd`` take the per-task NumPy/LAPACK path
    (CPU float tensors, matrices of ``order`` at least
    :data:`LAPACK_MIN_ORDER`) rather than batched torch kernels (CUDA,
    small matrices, any other dtype)."""
    return (t.device.type == 'cpu' and order >= LAPACK_MIN_ORDER
            and t.dtype in (torch.float32, torch.float64))


def gram(X: Tensor, outer: bool = False) -> Tensor:
    """``X^T X`` per task, ``[B, n, D]`` -> ``[B, D, D]``; with ``outer``,
    ``X X^T`` (``[B, n, n]``)."""
    if not _on_lapack(X, X.shape[1] if outer else X.shape[2]):
        Xt = X.transpose(1, 2)
        return X @ Xt if outer else Xt @ X
    Xn = X.detach().contiguous().numpy()
    k = Xn.shape[1] if outer else Xn.shape[2]
    out = np.empty((Xn.shape[0], k, k), Xn.dtype)

    def one(b):  # a.T @ a and a @ a.T are BLAS syrk
        if outer:
            np.dot(Xn[b], Xn[b].T, out=out[b])
        else:
            np.dot(Xn[b].T, Xn[b], out=out[b])
    _per_task(one, Xn.shape[0])
    return torch.from_numpy(out)


def _capsule_pointer(capsule) -> int:
    """The C pointer a PyCapsule holds (own prototypes, so the shared
    ``ctypes.pythonapi`` functions are left as they are)."""
    get_name = ctypes.PYFUNCTYPE(ctypes.c_char_p, ctypes.py_object)(
        ('PyCapsule_GetName', ctypes.pythonapi))
    get_pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object,
                                    ctypes.c_char_p)(
        ('PyCapsule_GetPointer', ctypes.pythonapi))
    return get_pointer(capsule, get_name(capsule))


_NOGIL_CACHE: dict = {}


def _nogil_cholesky(dtype) -> Optional[Tuple]:
    """``(potrf, potrs)`` of SciPy's LAPACK as ctypes functions, or None.

    Taken from the function pointers SciPy publishes for Cython
    (``scipy.linalg.cython_lapack``); ctypes releases Python's lock during
    the call, which SciPy's own ``lapack.dpotrf`` wrapper does not, so the
    per-task factorisations of :func:`solve_spd` run in parallel threads
    (about 1.8x on 2 cores for 512 x 512). None where that API is missing.
    """
    key = np.dtype(dtype).char
    if key not in _NOGIL_CACHE:
        try:
            from scipy.linalg import cython_lapack
            prefix = {'d': 'd', 'f': 's'}[key]
            c_int_p = ctypes.POINTER(ctypes.c_int)
            potrf = ctypes.CFUNCTYPE(None, ctypes.c_char_p, c_int_p,
                                     ctypes.c_void_p, c_int_p, c_int_p)(
                _capsule_pointer(cython_lapack.__pyx_capi__[prefix + 'potrf']))
            potrs = ctypes.CFUNCTYPE(None, ctypes.c_char_p, c_int_p, c_int_p,
                                     ctypes.c_void_p, c_int_p,
                                     ctypes.c_void_p, c_int_p, c_int_p)(
                _capsule_pointer(cython_lapack.__pyx_capi__[prefix + 'potrs']))
            _NOGIL_CACHE[key] = (potrf, potrs)
        except Exception:  # no Cython API, unexpected capsule: SciPy's path
            _NOGIL_CACHE[key] = None
    return _NOGIL_CACHE[key]


def solve_spd(G: Tensor, R: Tensor, overwrite: bool = False) -> Tensor:
    """``G^-1 R`` per task for symmetric positive-definite ``G [B, D, D]``
    and ``R [B, D, C]`` (Cholesky). ``overwrite`` lets the CPU path factor
    ``G`` in place."""
    if not _on_lapack(G, G.shape[-1]):
        L, info = torch.linalg.cholesky_ex(G)
        if bool((info != 0).any()):
            raise ValueError('Gram matrix is not positive definite')
        return torch.cholesky_solve(R, L)
    Gn = G.detach().contiguous().numpy()
    Rn = R.detach().numpy()
    out = np.empty(Rn.shape, Rn.dtype)
    failed = []
    nogil = _nogil_cholesky(Gn.dtype) if Gn.dtype == Rn.dtype else None
    if nogil is not None:
        if not overwrite:
            Gn = Gn.copy()
        c_potrf, c_potrs = nogil
        ci = ctypes.c_int
        D, C = Rn.shape[1:]

        def one(b):
            # a C-ordered symmetric matrix is its own Fortran-ordered
            # transpose: factor it in place, upper triangle in Fortran terms
            n, info = ci(D), ci(0)
            a = Gn[b]
            c_potrf(b'U', ctypes.byref(n), a.ctypes.data, ctypes.byref(n),
                    ctypes.byref(info))
            if info.value != 0:
                failed.append(b)
                return
            rhs = np.ascontiguousarray(Rn[b].T)  # Fortran-ordered [D, C]
            c_potrs(b'U', ctypes.byref(n), ctypes.byref(ci(C)), a.ctypes.data,
                    ctypes.byref(n), rhs.ctypes.data, ctypes.byref(n),
                    ctypes.byref(info))
            out[b] = rhs.T
    else:
        potrf, potrs = lapack.get_lapack_funcs(('potrf', 'potrs'),
                                               dtype=Gn.dtype)

        def one(b):
            # G is symmetric: its transpose is the Fortran-ordered G,
            # factored without a copy
            c, info = potrf(Gn[b].T, lower=False, clean=False,
                            overwrite_a=overwrite)
            if info != 0:
                failed.append(b)
                return
            out[b], _ = potrs(c, Rn[b], lower=False)
    _per_task(one, Gn.shape[0])
    if failed:
        raise ValueError('Gram matrix is not positive definite')
    return torch.from_numpy(out)


class BatchedClassifier:
    """Base class: ``fit(X, y, C)``, ``predict(X)``, ``fit_augmented``."""

    #: whether ``fit_augmented`` builds the enlarged set (memory per task)
    materialises_augmentation = True
    #: default chunk budget on the CPU (bytes; engine.DEFAULT_MEMORY_BUDGET)
    cpu_memory_budget = 64 << 20

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

    materialises_augmentation = False

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
        # squared distance minus ||x||^2 (same argmin): ||c||^2 - 2 x.c
        c = self.centroids_
        d = torch.baddbmm((c * c).sum(-1)[:, None, :], X.to(self.dtype),
                          c.transpose(1, 2), alpha=-2)
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
            K = gram(Xc, outer=True)
            K.diagonal(dim1=1, dim2=2).add_(self.alpha)
            # (A^T Xc)^T: MKL's batched GEMM is several times slower for
            # the [D, n] x [n, C] shape than for [C, n] x [n, D]
            W = (solve_spd(K, Yc, overwrite=True).transpose(1, 2) @ Xc
                 ).transpose(1, 2)
            return self._set_solution(W, x_mean, y_mean)
        # primal: (Xc^T Xc + aI) W = Xc^T Yc
        XtY = (Yc.transpose(1, 2) @ Xc).transpose(1, 2)  # wide product
        return self._solve_normal_equations(gram(Xc), XtY, x_mean, y_mean)

    def _solve_normal_equations(self, G: Tensor, R: Tensor, x_mean: Tensor,
                                y_mean: Tensor):
        """Coefficients ``(G + alpha I)^-1 R`` (``G`` is overwritten) and
        the intercept ``y_mean - x_mean W``."""
        G.diagonal(dim1=1, dim2=2).add_(self.alpha)
        return self._set_solution(solve_spd(G, R, overwrite=True), x_mean,
                                  y_mean)

    def _set_solution(self, W: Tensor, x_mean: Tensor, y_mean: Tensor):
        """``coef_ = W [B, D, C]``, ``intercept_ = y_mean - x_mean W``."""
        self.coef_ = W
        self.intercept_ = y_mean - x_mean @ W  # [B, 1, C]
        return self

    def fit_augmented(self, aug, num_classes: int):
        """Ridge on the latent-augmented set from its normal equations.

        The set holds, per support feature ``x_i``, ``x_i`` and the copies
        ``x_i + s_ij`` (``j < A - 1``). With ``m`` the set's mean,
        ``u_i = x_i - m`` and ``t_i = sum_j s_ij``, its centred sums are
        ``Xc^T Xc = sum_i [A u_i u_i^T + u_i t_i^T + t_i u_i^T] + S^T S``
        (``S``: all shifts) and
        ``Xc^T Yc = sum_i (A u_i + t_i)(y_i - ybar)^T``: the same solution
        as fitting the materialised set, without building it (only the
        shifts are gathered).
        """
        A = aug.num_aug_shots
        X = aug.features.to(self.dtype)
        B, n, d = X.shape
        if A == 1:
            return self.fit(X, aug.labels, num_classes)
        S = aug.shifts(self.dtype)  # [B, n, A-1, D]
        t = S.sum(2)  # [B, n, D]
        m = (A * X + t).sum(1, keepdim=True) / (n * A)
        U = X - m
        G = gram(S.view(B, -1, d))
        del S
        G.baddbmm_(U.transpose(1, 2), U, alpha=A)
        P = U.transpose(1, 2) @ t
        G += P
        G += P.transpose(1, 2)
        Y = 2 * _one_hot(aug.labels, num_classes, X.dtype) - 1
        y_mean = Y.mean(1, keepdim=True)  # every feature has A samples
        R = (((Y - y_mean).transpose(1, 2)) @ (A * U + t)).transpose(1, 2)
        return self._solve_normal_equations(G, R, m, y_mean)

    def decision_function(self, X: Tensor) -> Tensor:
        return _affine(X.to(self.dtype), self.coef_, self.intercept_)

    def predict(self, X: Tensor) -> Tensor:
        return self.decision_function(X).argmax(-1)


def row_space_transform(K: Tensor) -> Optional[Tensor]:
    """``T [B, n, n]`` such that ``Q = X^T T^T`` is an orthonormal basis
    ``[B, D, n]`` of the row space of ``X [B, n, D]``, from ``X``'s Gram
    ``K = X X^T``; None when some task's rows are dependent (repeated
    samples).

    Cholesky-QR twice, carried out on the ``n x n`` side only: with
    ``K = X X^T = L1 L1^T``, ``X^T L1^-T`` is orthonormal up to rounding;
    the second pass factors its Gram ``L1^-1 K L1^-T = L2 L2^T`` and
    ``T = L2^-1 L1^-1``. Neither ``Q`` nor any other ``[n, D]`` matrix
    beyond ``K`` is formed: coordinates are ``X' Q = (X' X^T) T^T`` and
    coefficients ``Q V = X^T (T^T V)``.
    """
    T = torch.eye(K.shape[1], dtype=K.dtype, device=K.device)
    G = K
    for _ in range(2):
        L, info = torch.linalg.cholesky_ex(G)
        if bool((info != 0).any()):
            return None
        T = torch.linalg.solve_triangular(L, T, upper=False)
        G = T @ K @ T.transpose(1, 2)
    return T


class LinearLogitProblem:
    """Interface :func:`lbfgs` minimises: B objectives with linear caches.

    ``cache(x)`` is an expensive quantity linear in ``x`` (e.g. logits), so a
    line search along ``d`` needs one ``direction(d)`` and then every trial
    ``cache + t * dcache`` is free.
    """

    def cache(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def direction(self, d: Tensor) -> Tensor:
        raise NotImplementedError

    def value(self, x: Tensor, cache: Tensor) -> Tensor:
        raise NotImplementedError

    def grad(self, x: Tensor, cache: Tensor) -> Tensor:
        raise NotImplementedError


def lbfgs(problem: LinearLogitProblem, x0: Tensor, max_iter: int = 1000,
          tol: float = 1e-6, history: int = 10,
          max_ls: int = 40) -> Tuple[Tensor, Tensor]:
    """Minimise B independent smooth functions at once with L-BFGS.

    Backtracking (Armijo) line search per task; tasks stop independently.

    Args:
        problem (LinearLogitProblem): the objectives.
        x0 (Tensor): ``[B, P]`` starting points.
        max_iter (int): iterations at most.
        tol (float): a task stops when ``max |g| <= tol``.
        history (int): number of correction pairs kept.
        max_ls (int): halvings at most per line search.

    Returns:
        (Tensor, Tensor): minimisers ``[B, P]`` and iterations used per task.
    """
    x = x0.clone()
    cache = problem.cache(x)
    f = problem.value(x, cache)
    g = problem.grad(x, cache)
    B, P = x.shape
    S = x.new_zeros(B, history, P)
    Yh = x.new_zeros(B, history, P)
    rho = x.new_zeros(B, history)
    gamma = x.new_ones(B)
    first = torch.ones(B, dtype=torch.bool, device=x.device)
    active = g.abs().amax(1) > tol
    iters = torch.zeros(B, dtype=torch.long, device=x.device)
    pos = filled = 0
    for _ in range(max_iter):
        if not bool(active.any()):
            break
        q = g.clone()
        alpha = x.new_zeros(B, history)
        # slots written so far, newest first (unwritten ones add nothing)
        order = [(pos - 1 - j) % history for j in range(filled)]
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
        d = torch.where(active[:, None], d, torch.zeros_like(d))
        dcache = problem.direction(d)
        t = torch.where(first, 1.0 / g.abs().sum(1).clamp_min(1e-12),
                        torch.ones_like(f)).clamp(max=1.0)
        pending = active.clone()
        for _ in range(max_ls):
            f_try = problem.value(x + t[:, None] * d,
                                  _step(cache, dcache, t))
            pending = pending & ~(f_try <= f + 1e-4 * t * gd)
            if not bool(pending.any()):
                break
            t = torch.where(pending, t * 0.5, t)
        # tasks whose line search failed stop where they are
        t = torch.where(pending | ~active, torch.zeros_like(t), t)
        x_new = x + t[:, None] * d
        cache_new = _step(cache, dcache, t)
        f_new = problem.value(x_new, cache_new)
        g_new = problem.grad(x_new, cache_new)
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
        filled = min(filled + 1, history)
        iters += active.long()
        first = first & ~upd
        x, cache, f, g = x_new, cache_new, f_new, g_new
        active = active & ~pending & (g.abs().amax(1) > tol)
    return x, iters


def _step(cache: Tensor, dcache: Tensor, t: Tensor) -> Tensor:
    return cache + t.view((-1,) + (1,) * (cache.dim() - 1)) * dcache


class _MultinomialProblem(LinearLogitProblem):
    """Mean cross-entropy of ``Z V + b`` plus ``reg * ||V||^2``, per task.

    Parameters are flattened as ``[V^T (C*r), b (C)]``; logits are kept
    transposed ``[B, C, n]`` so both products per iteration are wide
    (``[C, r] @ [r, n]`` and ``[C, n] @ [n, r]`` on contiguous copies of Z
    and Z^T), which BLAS runs several times faster than the skinny
    ``[n, r] @ [r, C]``. ``Z`` may be stored in a lower precision (float32
    halves the memory traffic); objective, logits and optimiser state stay
    in ``dtype``.
    """

    def __init__(self, Z: Tensor, Y: Tensor, reg: float, dtype):
        self.Z = Z.contiguous()  # [B, n, r]
        self.Zt = self.Z.transpose(1, 2).contiguous()  # [B, r, n]
        self.Yt = Y.transpose(1, 2).contiguous()  # [B, C, n]
        self.reg, self.dtype = reg, dtype
        self.B, self.n, self.r = Z.shape
        self.C = Y.shape[2]

    def split(self, p: Tensor):
        """``(V^T [B, C, r], b [B, C, 1])`` views of flat parameters."""
        cr = self.C * self.r
        return (p[:, :cr].view(self.B, self.C, self.r),
                p[:, cr:].view(self.B, self.C, 1))

    def cache(self, p):
        Vt, b = self.split(p)
        return (Vt.to(self.Zt.dtype) @ self.Zt).to(self.dtype) + b

    direction = cache  # logits are linear in the parameters

    def value(self, p, logits):
        Vt, _ = self.split(p)
        top = logits.amax(1, keepdim=True)
        lse = top + torch.log(torch.exp(logits - top).sum(1, keepdim=True))
        ce = (lse - (logits * self.Yt).sum(1, keepdim=True)).squeeze(1)
        return ce.mean(1) + self.reg * (Vt * Vt).sum((1, 2))

    def grad(self, p, logits):
        Vt, _ = self.split(p)
        Gt = (torch.softmax(logits, 1) - self.Yt) / self.n  # [B, C, n]
        gVt = (Gt.to(self.Z.dtype) @ self.Z).to(self.dtype)
        gVt = gVt + 2 * self.reg * Vt
        return torch.cat([gVt.reshape(self.B, -1), Gt.sum(2)], 1)


class LogisticRegression(BatchedClassifier):
    """``LogisticRegression(C, max_iter)``: multinomial, L2 on the weights.

    Minimises, per task, ``mean_i CE(x_i W + b, y_i) + ||W||^2 / (2 C n)``
    (scikit-learn's objective divided by n) with a batched L-BFGS to a
    tighter tolerance than scikit-learn's default, so both land on (nearly)
    the same optimum. Exact reformulations make it cheaper: features are
    centred (the intercept is free), and when ``n < D`` the weights lie in
    the row space of X, so the problem is solved in an orthonormal basis of
    it (``n`` instead of ``D`` coordinates).

    Args:
        C (float): inverse L2 strength.
        max_iter (int): L-BFGS iterations at most.
        tol (float): gradient tolerance (max-norm) of the mean objective.
        dtype (torch.dtype): dtype of the objective and optimiser state.
        matmul_dtype (torch.dtype): dtype of the features in the two
            products per iteration (float32: half the memory traffic).
    """

    #: L-BFGS runs tens of small tensor operations per iteration, whose
    #: fixed cost larger chunks share: 1 GiB chunks (about 20 latent_aug
    #: tasks of 5-way 5-shot) ran 1.6x faster than 64 MiB (one task)
    cpu_memory_budget = 1 << 30

    def __init__(self, C: float = 1.0, max_iter: int = 1000,
                 tol: float = 1e-6, dtype: torch.dtype = torch.float64,
                 matmul_dtype: torch.dtype = torch.float32):
        super().__init__(dtype)
        self.C, self.max_iter, self.tol = C, max_iter, tol
        self.matmul_dtype = matmul_dtype

    def fit(self, X: Tensor, y: Tensor, num_classes: int):
        X = X.to(self.dtype)
        n, d = X.shape[1:]
        x_mean = X.mean(1, keepdim=True)
        if n >= d:
            return self._fit_centred((X - x_mean).to(self.matmul_dtype), y,
                                     num_classes, x_mean, None)
        K = gram(X, outer=True)
        T = row_space_transform(K)
        if T is None:  # dependent rows: an explicit basis by QR
            basis = torch.linalg.qr(X.transpose(1, 2))[0]  # [B, D, n]
            Z = (X - x_mean) @ basis
            return self._fit_centred(Z.to(self.matmul_dtype), y,
                                     num_classes, x_mean,
                                     lambda V: basis @ V)
        # centred coordinates (X - x_mean) X^T T^T, from K = X X^T alone
        Z = (K - K.mean(1, keepdim=True)) @ T.transpose(1, 2)
        return self._fit_centred(
            Z.to(self.matmul_dtype), y, num_classes, x_mean,
            lambda V: X.transpose(1, 2) @ (T.transpose(1, 2) @ V))

    def fit_augmented(self, aug, num_classes: int):
        """Fit on the latent-augmented set, built once, centred, directly
        in ``matmul_dtype`` (no float64 copy of the enlarged set)."""
        A = aug.num_aug_shots
        X = aug.features.to(self.dtype)
        B, n, d = X.shape
        if A == 1 or n * A < d:  # small sets: the row-space basis pays
            return super().fit_augmented(aug, num_classes)
        S = aug.shifts(self.matmul_dtype)  # [B, n, A-1, D]
        m = (A * X + S.sum(2, dtype=self.dtype)).sum(1, keepdim=True) / (n * A)
        U = (X - m).to(self.matmul_dtype)[:, :, None, :]
        S += U  # the centred copies x_i + s_ij - m, in place
        Z = torch.cat([U, S], 2).view(B, n * A, d)  # as materialise() orders
        del S
        y = aug.labels.repeat_interleave(A, dim=1)
        return self._fit_centred(Z, y, num_classes, m, None)

    def _fit_centred(self, Z: Tensor, y: Tensor, num_classes: int,
                     x_mean: Tensor, to_features: Optional[Callable]):
        """Minimise on centred features ``Z``; ``to_features`` maps
        coefficients in Z's coordinates to the features' (identity if
        None)."""
        B, n, r = Z.shape
        C = num_classes
        problem = _MultinomialProblem(
            Z, _one_hot(y, C, self.dtype), 1.0 / (2.0 * self.C * n),
            self.dtype)
        p0 = x_mean.new_zeros(B, r * C + C)
        p, self.n_iter_ = lbfgs(problem, p0, self.max_iter, self.tol)
        Vt, b = problem.split(p)
        V = Vt.transpose(1, 2)
        self.coef_ = V if to_features is None else to_features(V)  # [B,D,C]
        self.intercept_ = b.transpose(1, 2) - x_mean @ self.coef_
        return self

    def decision_function(self, X: Tensor) -> Tensor:
        return _affine(X.to(self.dtype), self.coef_, self.intercept_)

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
