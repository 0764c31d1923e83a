"""Multi-positive supervised contrastive loss (SupCon) with a cross-GPU batch.

For each anchor ``i`` with positives ``P(i)`` (the other samples sharing its
label) and contrast set ``A(i)`` (every other sample)::

    l_i = -1/|P(i)| * sum_{p in P(i)} log( exp(s_ip / T) / sum_{a in A(i)} exp(s_ia / T) )

with ``s`` the cosine similarity. Anchors without a positive are left out of
the mean. Under ``torch.distributed`` the features of every rank are gathered
differentiably, so that every sample on every GPU is a negative.
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ...registry import MODELS


def _distributed() -> bool:
    import torch.distributed as dist
    return (dist.is_available() and dist.is_initialized()
            and dist.get_world_size() > 1)


def gather_features(features: torch.Tensor) -> torch.Tensor:
    """All-gather ``[N, D]`` features of every rank, differentiably.

    Identity when ``torch.distributed`` is not initialised or has one rank.
    Every rank must hold the same N.
    """
    if not _distributed():
        return features
    from torch.distributed.nn.functional import all_gather
    return torch.cat(all_gather(features), 0)


def gather_with_grad(features: torch.Tensor, labels: torch.Tensor
                     ) -> Tuple[torch.Tensor, torch.Tensor]:
    """All-gather features (differentiably) and labels across ranks.

    Identity when ``torch.distributed`` is not initialised or has one rank.
    Labels of rank ``r`` are offset by ``r * (max label + 1)`` taken over all
    ranks, so that ids are unique across GPUs (each rank numbers its own
    patients, slides and patches from 0).

    Args:
        features (Tensor): ``[N, D]`` local features (same N on every rank).
        labels (Tensor): ``[N]`` local integer labels.

    Returns:
        tuple[Tensor, Tensor]: ``[world * N, D]`` features, ``[world * N]``
        labels.
    """
    if not _distributed():
        return features, labels
    import torch.distributed as dist
    world = dist.get_world_size()
    feats = gather_features(features)
    span = labels.max().detach().clone() + 1
    dist.all_reduce(span, op=dist.ReduceOp.MAX)
    gathered = [torch.empty_like(labels) for _ in range(world)]
    dist.all_gather(gathered, labels)
    labs = torch.cat([g + r * span for r, g in enumerate(gathered)], 0)
    return feats, labs


def supcon_loss(features: torch.Tensor, labels: torch.Tensor,
                temperature: float = 0.07) -> torch.Tensor:
    """Multi-positive SupCon loss on one (already gathered) batch.

    Args:
        features (Tensor): ``[N, D]``; L2-normalised here.
        labels (Tensor): ``[N]`` integer ids; equal ids are positives.
        temperature (float): softmax temperature T.

    Returns:
        Tensor: scalar, the mean over anchors that have a positive (0 when
        none has one).
    """
    z = F.normalize(features, dim=1)
    n = z.shape[0]
    logits = z @ z.t() / temperature
    self_mask = torch.eye(n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float('-inf'))
    log_prob = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    pos = (labels[:, None] == labels[None, :]) & ~self_mask
    n_pos = pos.sum(1)
    has_pos = n_pos > 0
    if not has_pos.any():
        return features.sum() * 0
    pos_log_prob = log_prob.masked_fill(~pos, 0).sum(1)
    per_anchor = -pos_log_prob[has_pos] / n_pos[has_pos]
    return per_anchor.mean()


@MODELS.register_module()
class SupConLoss(nn.Module):
    """Multi-positive SupCon (Khosla et al. 2020) over the all-gathered batch.

    Args:
        temperature (float): softmax temperature. Defaults to 0.07.
        gather (bool): all-gather across ranks when distributed. Defaults to
            True.
    """

    def __init__(self, temperature: float = 0.07, gather: bool = True):
        super().__init__()
        self.temperature = temperature
        self.gather = gather

    def forward(self, features: torch.Tensor,
                labels: torch.Tensor) -> torch.Tensor:
        """Args: features ``[N, D]``; labels ``[N]``. Returns a scalar."""
        if self.gather:
            features, labels = gather_with_grad(features, labels)
        return supcon_loss(features, labels, self.temperature)
