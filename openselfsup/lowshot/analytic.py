"""Analytic latent augmentation: the expected normal equations of Ridge.

Sampled latent augmentation (:mod:`~openselfsup.lowshot.augment`) trains on
``A = num_aug_shots`` samples per support feature ``x_i``: ``x_i`` itself and
``A - 1`` copies ``x_i + s_ij`` with ``s_ij`` drawn from the Gaussian of its
nearest prototype ``k_i``. Ridge only sees the data through its normal
equations, which are sums over the samples; averaging them over the draws
gives a closed form that needs the prototypes and covariances of the
dictionary, no shift bank and no random numbers (derivation:
``docs/analytic_latent_aug.md``). With ``N = n A`` training samples, shift
means ``mu_k`` (0 for the dictionary's Gaussians) and covariances
``Sigma_k``::

    a_i   = A x_i + (A - 1) mu_{k_i}           expected sum of i's copies
    m     = sum_i a_i / N                      expected mean of the set
    E[G]  = sum_i [(x_i - m)(x_i - m)^T + (A-1)(x_i + mu_{k_i} - m)(..)^T]
            + (A - 1)(1 - 1/N) sum_i Sigma_{k_i}        centred Gram
    E[R]  = sum_i a_i (y_i - ybar)^T                    centred cross term
    W     = (E[G] + alpha I)^-1 E[R],   b = ybar - m W

With ``A = 1`` this is plain ``RidgeClassifier``; as ``A`` grows, sampled
latent augmentation with ``A`` shots converges to it (the sampled sums
concentrate around their expectations).

:class:`ExpectedAugmentation` plays the role of
:class:`~openselfsup.lowshot.augment.LatentAugmenter` for the engine's
``latent_aug_expected`` mode; :class:`ExpectedRidge` and
:class:`ExpectedNearestCentroid` fit on it. Logistic regression has no such
closed form.
"""
from typing import Optional

import torch

from ..utils import InputError
from .augment import nearest_prototype
from .classifiers import NearestCentroid, RidgeClassifier, _one_hot

Tensor = torch.Tensor


class ExpectedSupport:
    """A support set with the moments of its (virtual) augmentation.

    Attributes:
        features (Tensor): ``[B, n, D]`` support features.
        labels (Tensor): ``[B, n]`` int64 class positions.
        prototype (Tensor): ``[B, n]`` int64 nearest prototype per feature.
        covariances (Tensor): ``[K, D, D]`` shift covariance per prototype.
        shift_means (Tensor | None): ``[K, D]`` shift mean per prototype
            (None: zero, the dictionary's Gaussians).
        num_aug_shots (int): A, samples per support feature.
    """

    def __init__(self, features: Tensor, labels: Tensor, prototype: Tensor,
                 covariances: Tensor, shift_means: Optional[Tensor],
                 num_aug_shots: int):
        self.features, self.labels, self.prototype = features, labels, \
            prototype
        self.covariances, self.shift_means = covariances, shift_means
        self.num_aug_shots = int(num_aug_shots)

    def copy_means(self, dtype: torch.dtype) -> Tensor:
        """``E[x_i + s_ij] = x_i + mu_{k_i}`` ``[B, n, D]``."""
        X = self.features.to(dtype)
        if self.shift_means is None:
            return X
        return X + self.shift_means.to(dtype)[self.prototype]

    def covariance_sum(self, dtype: torch.dtype, scale: float = 1.0,
                       ) -> Tensor:
        """``scale * sum_i Sigma_{k_i}`` per task ``[B, D, D]`` (one matmul
        of prototype counts with the flattened covariances)."""
        K, D, _ = self.covariances.shape
        counts = torch.nn.functional.one_hot(self.prototype, K).sum(1)
        return ((scale * counts.to(dtype))
                @ self.covariances.to(dtype).reshape(K, -1)).view(-1, D, D)


class ExpectedAugmentation:
    """Nearest prototypes and covariances of a dictionary, no shift bank.

    Args:
        prototypes (Tensor): ``[K, D]`` prototypes (raw-feature cluster means).
        covariances (Tensor): ``[K, D, D]`` covariance of each cluster's
            shifts.
        num_aug_shots (int): A, samples per support feature (the feature
            and ``A - 1`` virtual shifted copies).
        shift_means (Tensor, optional): ``[K, D]`` mean of each cluster's
            shifts (default zero).
    """

    def __init__(self, prototypes: Tensor, covariances: Tensor,
                 num_aug_shots: int, shift_means: Optional[Tensor] = None):
        if num_aug_shots < 1:
            raise ValueError(f'num_aug_shots must be >= 1, got {num_aug_shots}')
        if covariances.shape != (prototypes.shape[0], prototypes.shape[1],
                                 prototypes.shape[1]):
            raise ValueError(f'covariances {tuple(covariances.shape)} do not '
                             f'match prototypes {tuple(prototypes.shape)}')
        self.prototypes, self.covariances = prototypes, covariances
        self.num_aug_shots = int(num_aug_shots)
        self.shift_means = shift_means

    def to(self, device, dtype: torch.dtype = None) -> 'ExpectedAugmentation':
        """A copy on ``device`` (and in ``dtype`` if given), as
        :meth:`LatentAugmenter.to`."""
        def move(t):
            return None if t is None else t.to(device, dtype)
        return ExpectedAugmentation(
            move(self.prototypes), move(self.covariances), self.num_aug_shots,
            move(self.shift_means))

    def nearest_prototype(self, features: Tensor) -> Tensor:
        """Index of the nearest prototype ``[B, n]``, as sampled latent
        augmentation assigns it."""
        return nearest_prototype(features, self.prototypes)

    def augment(self, features: Tensor, labels: Tensor,
                task_start: int = 0, pad=None) -> ExpectedSupport:
        """The support of B tasks with its augmentation moments
        (``task_start`` and ``pad`` are accepted for the engine's interface;
        nothing is random and nothing large is gathered)."""
        return ExpectedSupport(features, labels,
                               self.nearest_prototype(features),
                               self.covariances, self.shift_means,
                               self.num_aug_shots)


def expected_normal_equations(sup: ExpectedSupport, num_classes: int,
                              dtype: torch.dtype = torch.float64):
    """Expected centred Gram, cross term and means of the augmented set.

    Returns:
        tuple: ``G [B, D, D]`` (without ``alpha I``), ``R [B, D, C]``,
        ``m [B, 1, D]`` expected feature mean, ``ybar [B, 1, C]`` target mean.
    """
    X = sup.features.to(dtype)
    B, n, D = X.shape
    A = sup.num_aug_shots
    N = n * A
    U = sup.copy_means(dtype)  # [B, n, D]
    a = X + (A - 1) * U  # expected sum of each feature's A samples
    m = a.sum(1, keepdim=True) / N
    Xc = X - m
    if A == 1:
        G = Xc.transpose(1, 2) @ Xc
    else:
        # one pass over the D x D output: the covariance term, then the
        # Gram matrices added in place by baddbmm
        G = sup.covariance_sum(dtype, (A - 1) * (1 - 1 / N))
        if sup.shift_means is None:  # U = X: one Gram matrix serves both
            G.baddbmm_(Xc.transpose(1, 2), Xc, alpha=A)
        else:
            Uc = U - m
            G.baddbmm_(Xc.transpose(1, 2), Xc)
            G.baddbmm_(Uc.transpose(1, 2), Uc, alpha=A - 1)
    Y = 2 * _one_hot(sup.labels, num_classes, dtype) - 1
    ybar = Y.mean(1, keepdim=True)
    R = ((Y - ybar).transpose(1, 2) @ a).transpose(1, 2)  # faster bmm shape
    return G, R, m, ybar


class ExpectedRidge(RidgeClassifier):
    """``RidgeClassifier`` on infinitely resampled latent augmentation.

    ``fit_augmented(ExpectedSupport, C)`` solves the expected normal
    equations (module docstring); ``fit`` and ``predict`` are Ridge's.
    """

    def fit_augmented(self, sup: ExpectedSupport, classes: Tensor):
        C = self._set_classes(classes, sup.labels.device)
        G, R, m, ybar = expected_normal_equations(sup, C, self.dtype)

        def data(failed):
            raise InputError(f'{int(failed.sum())} task(s): the expected '
                             'normal equations are not positive definite '
                             '(use --mode latent_aug for these features)')
        return self._solve_normal_equations(G, R, m, ybar, data)


class ExpectedNearestCentroid(NearestCentroid):
    """``NearestCentroid`` on the expected augmented set: class means of
    ``(x_i + (A - 1) E[x_i + s]) / A`` (with zero-mean shifts, the plain
    class means)."""

    def fit_augmented(self, sup: ExpectedSupport, classes: Tensor):
        C = self._set_classes(classes, sup.labels.device)
        A = sup.num_aug_shots
        X = sup.features.to(self.dtype)
        means = (X + (A - 1) * sup.copy_means(self.dtype)) / A
        return self._fit(means, sup.labels, C)


#: classifiers with a closed form under expected augmentation
EXPECTED_ESTIMATORS = {
    'Ridge': ExpectedRidge,
    'nearest_centroid': ExpectedNearestCentroid,
}
