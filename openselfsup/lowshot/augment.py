"""Latent augmentation of support features, batched over tasks.

Each support feature ``x`` goes to its nearest prototype ``k`` of the base
dictionary (Euclidean distance in the raw feature space, where the
prototypes, cluster means of raw features, live), and ``num_aug_shots - 1``
shifted copies ``x + s`` join it, with ``s`` drawn uniformly (with
replacement) from prototype ``k``'s shift bank. The classifier then trains on
``num_aug_shots`` samples per support feature.

Draws are counter-based (numpy Philox keyed by the seed, one block of the
stream per task index), so task ``t`` gets the same shifts whatever the chunk
size, the device or the machine.
"""
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch

Tensor = torch.Tensor


@dataclass
class AugmentedSupport:
    """A support set and the shifts that augment it (lazy).

    Attributes:
        features (Tensor): ``[B, n, D]`` support features.
        labels (Tensor): ``[B, n]`` int64 class positions.
        prototype (Tensor): ``[B, n]`` int64 nearest prototype per feature.
        shift_idx (Tensor): ``[B, n, A-1]`` int64 rows of the prototype's
            shift bank.
        shift_bank (Tensor): ``[K, M, D]`` the dictionary's shift bank.
        banks (dict): the bank as ``[K * M, D]`` per dtype, converted once
            and shared by every chunk of a run (filled on use).
        pad (ScratchPad, optional): the meta-test's per-thread buffers;
            with one, :meth:`shifts` and :meth:`scratch` return this
            thread's reused memory (valid for the current chunk only).
    """
    features: Tensor
    labels: Tensor
    prototype: Tensor
    shift_idx: Tensor
    shift_bank: Tensor
    banks: Dict[torch.dtype, Tensor] = field(default_factory=dict)
    pad: Optional[object] = None

    @property
    def num_aug_shots(self) -> int:
        return int(self.shift_idx.shape[2]) + 1

    def subset(self, mask: Tensor) -> 'AugmentedSupport':
        """The tasks selected by a bool mask ``[B]`` (same draws)."""
        return AugmentedSupport(self.features[mask], self.labels[mask],
                                self.prototype[mask], self.shift_idx[mask],
                                self.shift_bank, self.banks, self.pad)

    def scratch(self, name: str, shape: Sequence[int],
                dtype: torch.dtype) -> Tensor:
        """An uninitialised tensor: the pad's buffer ``name`` if there is a
        pad (overwritten by the next chunk of this thread), else new."""
        dev = self.features.device
        if self.pad is None:
            return torch.empty(tuple(shape), dtype=dtype, device=dev)
        return self.pad.get(name, shape, dtype, dev)

    def bank(self, dtype: torch.dtype) -> Tensor:
        """The shift bank as ``[K * M, D]`` rows in ``dtype``."""
        if dtype not in self.banks:
            self.banks[dtype] = self.shift_bank.reshape(
                -1, self.shift_bank.shape[2]).to(dtype).contiguous()
        return self.banks[dtype]

    def _flat_idx(self) -> Tensor:
        M = self.shift_bank.shape[1]
        return self.prototype[..., None] * M + self.shift_idx  # [B, n, A-1]

    def shifts(self, dtype: torch.dtype = None) -> Tensor:
        """The drawn shift vectors ``[B, n, A-1, D]`` (one row gather; with
        a pad, into its buffer ``'shifts'``: overwritten by the next call)."""
        bank = self.bank(dtype or self.features.dtype)
        if self.pad is None:
            return bank[self._flat_idx()]
        return self.pad.gather('shifts', bank, self._flat_idx())

    def materialise(self, dtype: torch.dtype = None) -> Tuple[Tensor, Tensor]:
        """The enlarged set: ``X [B, n*A, D]`` and labels ``[B, n*A]``.

        Sample ``i*A`` is support feature ``i`` itself, ``i*A + j`` its
        ``j``-th shifted copy.
        """
        dtype = dtype or self.features.dtype
        B, n, D = self.features.shape
        shifts = self.shifts(dtype)  # [B, n, A-1, D]
        x = self.features.to(dtype)[:, :, None, :]
        X = torch.cat([x, x + shifts], 2).reshape(B, -1, D)
        y = self.labels.repeat_interleave(self.num_aug_shots, dim=1)
        return X, y

    def class_means(self, num_classes: int,
                    dtype: torch.dtype = torch.float64) -> Tensor:
        """Class means of the enlarged set ``[B, C, D]``, not materialising it.

        The mean of ``x_i``'s copies is ``x_i + sum_j s_ij / A``; the shift
        sums come from one ``embedding_bag`` over the bank.
        """
        B, n, D = self.features.shape
        A = self.num_aug_shots
        means = self.features.to(dtype)
        if A > 1:  # embedding_bag refuses bags of no draws
            sums = torch.nn.functional.embedding_bag(
                self._flat_idx().reshape(B * n, A - 1), self.bank(dtype),
                mode='sum')
            means = means + sums.view(B, n, D) / A
        onehot = torch.nn.functional.one_hot(self.labels, num_classes).to(dtype)
        counts = onehot.sum(1).clamp_min(1)
        return onehot.transpose(1, 2) @ means / counts[..., None]


def nearest_prototype(features: Tensor, prototypes: Tensor) -> Tensor:
    """Index of the nearest prototype of each feature, ``[B, n, D]`` ->
    ``[B, n]``: exact Euclidean distances (the published code's ``cdist``
    argmin; no ``||x||^2 - 2 x.p`` shortcut that rounding can tip near ties).
    """
    protos = prototypes.to(features.dtype)
    d = torch.cdist(features, protos[None].expand(features.shape[0], -1, -1),
                    compute_mode='donot_use_mm_for_euclid_dist')
    return d.argmin(-1)


class LatentAugmenter:
    """Draws latent augmentations from a base dictionary.

    Args:
        prototypes (Tensor): ``[K, D]`` prototypes (raw-feature cluster means).
        shift_bank (Tensor): ``[K, M, D]`` shift vectors per prototype.
        num_aug_shots (int): samples per support feature after augmentation
            (the feature itself and ``num_aug_shots - 1`` shifted copies).
        seed (int): key of the counter-based generator.
    """

    def __init__(self, prototypes: Tensor, shift_bank: Tensor,
                 num_aug_shots: int, seed: int = 0):
        if num_aug_shots < 1:
            raise ValueError(f'num_aug_shots must be >= 1, got {num_aug_shots}')
        self.prototypes = prototypes
        self.shift_bank = shift_bank
        self.num_aug_shots = int(num_aug_shots)
        self.seed = int(seed)
        self.banks = {}  # AugmentedSupport.banks of every chunk

    def to(self, device, dtype: torch.dtype = None) -> 'LatentAugmenter':
        """A copy on ``device`` (and in ``dtype``), converted once per run."""
        return LatentAugmenter(self.prototypes.to(device, dtype),
                               self.shift_bank.to(device, dtype),
                               self.num_aug_shots, self.seed)

    def nearest_prototype(self, features: Tensor) -> Tensor:
        """Index of the nearest prototype ``[B, n]`` (:func:`nearest_prototype`)."""
        return nearest_prototype(features, self.prototypes)

    def draw(self, task_start: int, num_task: int, n: int) -> np.ndarray:
        """Shift-bank rows for tasks ``task_start ..``: int64 ``[T, n, A-1]``."""
        per_task = n * (self.num_aug_shots - 1)
        blocks = -(-per_task // 4)  # Philox yields 4 doubles per counter step
        bit_gen = np.random.Philox(key=self.seed)
        bit_gen.advance(task_start * blocks)
        u = np.random.Generator(bit_gen).random((num_task, blocks * 4))
        M = self.shift_bank.shape[1]
        idx = np.minimum((u[:, :per_task] * M).astype(np.int64), M - 1)
        return idx.reshape(num_task, n, self.num_aug_shots - 1)

    def augment(self, features: Tensor, labels: Tensor,
                task_start: int = 0, pad=None) -> AugmentedSupport:
        """Augment support ``features [B, n, D]`` of tasks ``task_start..``.

        Args:
            features (Tensor): support features of B consecutive tasks.
            labels (Tensor): ``[B, n]`` their class positions.
            task_start (int): index of the first task in the run (fixes the
                random stream of each task).
            pad (ScratchPad, optional): per-thread buffers of the meta-test
                (:attr:`AugmentedSupport.pad`).
        """
        B, n, _ = features.shape
        idx = torch.from_numpy(self.draw(task_start, B, n)).to(features.device)
        return AugmentedSupport(features, labels,
                                self.nearest_prototype(features), idx,
                                self.shift_bank, self.banks, pad)
