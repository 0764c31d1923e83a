"""Gram matrices and symmetric positive-definite solves, batched over tasks.

The one place the classifiers get their dense kernels from:

- :func:`gram`: ``X^T X`` (or ``X X^T``) per task. torch's batched product,
  except for large orders on the CPU, where NumPy's ``A.T @ A`` (BLAS
  ``syrk``, half the work of a general product) runs one task at a time.
- :func:`cholesky_solve`: ``G^-1 R`` per task by Cholesky (torch's batched
  ``cholesky_ex`` / ``cholesky_solve``), reporting the tasks whose matrix is
  not numerically positive definite instead of failing the batch, so the
  caller can fall back for those tasks only.
- :func:`ridge_svd`: the ridge solution from the SVD of the centred data,
  for the tasks where Cholesky fails (scikit-learn's ``Ridge`` falls back to
  its SVD solver in the primal, to ``lstsq`` on the kernel matrix in the
  dual: the same solution).

Every kernel computes each task on its own: a task's result does not depend
on which other tasks share its batch (the engine runs each chunk on one
intra-op thread, where torch's reductions are batch-independent too;
``tests/test_lowshot_determinism.py``).
"""
from typing import Tuple

import numpy as np
import torch

Tensor = torch.Tensor

#: smallest matrix order sent to NumPy's per-task ``syrk`` on the CPU (below
#: it torch's batched product is as fast and has no per-task overhead)
SYRK_MIN_ORDER = 256


def _numpy_syrk(t: Tensor, order: int) -> bool:
    return (t.device.type == 'cpu' and order >= SYRK_MIN_ORDER
            and t.dtype in (torch.float32, torch.float64)
            and not t.requires_grad)


def gram(X: Tensor, outer: bool = False) -> Tensor:
    """``X^T X`` per task, ``[B, n, D]`` -> ``[B, D, D]``; with ``outer``,
    ``X X^T`` (``[B, n, n]``)."""
    order = X.shape[1] if outer else X.shape[2]
    if not _numpy_syrk(X, order):
        Xt = X.transpose(1, 2)
        return X @ Xt if outer else Xt @ X
    Xn = X.contiguous().numpy()
    out = np.empty((Xn.shape[0], order, order), Xn.dtype)
    for b in range(Xn.shape[0]):  # a.T @ a and a @ a.T are BLAS syrk
        if outer:
            np.dot(Xn[b], Xn[b].T, out=out[b])
        else:
            np.dot(Xn[b].T, Xn[b], out=out[b])
    return torch.from_numpy(out)


def cholesky_solve(G: Tensor, R: Tensor) -> Tuple[Tensor, Tensor]:
    """``G^-1 R`` per task for symmetric positive-definite ``G [B, k, k]``.

    Args:
        G (Tensor): ``[B, k, k]`` symmetric matrices (not modified).
        R (Tensor): ``[B, k, C]`` right-hand sides.

    Returns:
        (Tensor, Tensor): the solutions ``[B, k, C]`` (garbage where the
        factorisation failed) and a bool mask ``[B]`` of the tasks whose
        ``G`` is not numerically positive definite.
    """
    L, info = torch.linalg.cholesky_ex(G)
    failed = info != 0
    if bool(failed.any()):  # keep the batch solvable; callers redo these
        eye = torch.eye(G.shape[-1], dtype=G.dtype, device=G.device)
        L = torch.where(failed[:, None, None], eye, L)
    return torch.cholesky_solve(R, L), failed


def ridge_svd(Xc: Tensor, Yc: Tensor, alpha: float) -> Tensor:
    """Ridge coefficients from the SVD of centred data, per task.

    ``W = V diag(s / (s^2 + alpha)) U^T Yc`` (scikit-learn's ``svd`` solver,
    its fall-back when Cholesky fails in the primal; in the dual it takes
    ``lstsq`` on ``X X^T + alpha I``, the same solution): no Gram matrix is
    formed, so it also answers where ``X^T X`` overflows or is singular to
    working precision.

    Args:
        Xc (Tensor): ``[B, n, D]`` centred features.
        Yc (Tensor): ``[B, n, C]`` centred targets.
        alpha (float): L2 strength.

    Returns:
        Tensor: ``[B, D, C]``.
    """
    U, s, Vh = torch.linalg.svd(Xc, full_matrices=False)
    d = s / (s * s + alpha)
    return Vh.transpose(1, 2) @ (d[..., None] * (U.transpose(1, 2) @ Yc))
