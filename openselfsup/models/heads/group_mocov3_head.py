"""MoCo-v3 head whose contrastive loss runs over fixed-size groups of images.

The published CLP run (ICLR-22 code, OpenSelfSup ``MOCOv3``) trained on 8
GPUs with 32 images each and did **not** gather keys across GPUs: each GPU
contrasted its 32 queries with its own 32 keys, ``2T * CE(q @ k.T / T,
arange(32))``, and DDP averaged the gradients of the 8 per-GPU losses.
mmpretrain's :class:`~mmpretrain.models.heads.MoCoV3Head` instead gathers the
keys of every process, so its negatives are the whole global batch.

:class:`GroupMoCoV3Head` makes the group an explicit config value
(``group_size``): the per-process batch is cut into consecutive groups of
``group_size`` images and the loss is the mean over groups of the per-group
loss. With ``group_size=32`` one GPU with a batch of 256 computes exactly
what eight GPUs with 32 each computed (eight groups, gradient = mean of the
group gradients); eight GPUs with ``group_size=32`` compute one group each,
as published. ``group_size=None`` is mmpretrain's gathered loss.
"""
from typing import Optional

import torch
from mmpretrain.models.heads import MoCoV3Head
from torch import nn

from ...registry import MODELS
from ..groups import check_group_size, groups_of
from ..losses.cross_modal import _setting


def grouped_logits(pred: torch.Tensor, target: torch.Tensor, groups: int,
                   temperature: float):
    """Similarities within consecutive groups and the matching labels.

    Args:
        pred (Tensor): ``[N, C]`` L2-normalised predictions (queries).
        target (Tensor): ``[N, C]`` L2-normalised keys.
        groups (int): number of groups G; N must be a multiple of G.
        temperature (float): T.

    Returns:
        tuple[Tensor, Tensor]: logits ``[N, N / G]`` (row i holds the
        similarities of query i with the keys of its own group, divided by
        T) and labels ``[N]`` (the position of each query's own key in its
        group).
    """
    n, c = pred.shape
    size = n // groups
    logits = torch.bmm(pred.view(groups, size, c),
                       target.view(groups, size, c).transpose(1, 2))
    labels = torch.arange(size, device=pred.device).repeat(groups)
    return logits.reshape(n, size) / temperature, labels


@MODELS.register_module()
class GroupMoCoV3Head(MoCoV3Head):
    """:class:`MoCoV3Head` with the loss over groups of ``group_size`` images.

    Args:
        predictor (dict): config of the predictor (a neck).
        loss (dict): config of the loss on ``(logits, labels)``; the
            published recipe is cross-entropy with ``loss_weight=2 * T``.
        temperature (float): T, a positive number. Defaults to 1.0.
        group_size (int | None): images per contrastive group (keys of other
            groups and of other processes are never negatives). None:
            mmpretrain's behaviour, keys gathered from every process.
    """

    #: the arguments it builds through a registry, in the run's scope, and
    #: the library whose registry each build is called on
    #: (``config.REGISTRY_BUILT``: what the scope check follows)
    #: (mmpretrain's ``MoCoV3Head`` builds them)
    REGISTRY_BUILT = {'predictor': 'mmpretrain', 'loss': 'mmpretrain'}

    def __init__(self, predictor: dict, loss: dict, temperature: float = 1.0,
                 group_size: Optional[int] = None) -> None:
        # 0 made every loss NaN (the weights NaN after the first step) and
        # a negative T rewarded the wrong keys; the run trained, exit 0
        temperature = _setting(temperature, 'model.head.temperature')
        super().__init__(predictor=predictor, loss=loss,
                         temperature=temperature)
        check_group_size(group_size, 'model.head.group_size')
        self.group_size = group_size

    def loss(self, base_out: torch.Tensor,
             momentum_out: torch.Tensor) -> torch.Tensor:
        """Loss of the queries ``base_out`` against the keys ``momentum_out``.

        Args:
            base_out (Tensor): ``[N, C]`` projector outputs of one view.
            momentum_out (Tensor): ``[N, C]`` momentum-encoder outputs of the
                other view.
        """
        if self.group_size is None:
            return super().loss(base_out, momentum_out)
        groups = groups_of(base_out.shape[0], self.group_size,
                           'model.head.group_size')
        pred = nn.functional.normalize(self.predictor([base_out])[0], dim=1)
        target = nn.functional.normalize(momentum_out, dim=1)
        logits, labels = grouped_logits(pred, target, groups,
                                        self.temperature)
        # equal group sizes: the mean over all rows is the mean over groups
        # of the per-group mean, i.e. the DDP average of per-GPU losses
        return self.loss_module(logits, labels)
