"""The grade loss of balanced tuning.

Multi-label BCE and single-label CE are mmpretrain's ``CrossEntropyLoss``
(``use_sigmoid=True`` for BCE, float multi-hot targets; long class indices
for CE); only the regression loss on grades is missing there.
"""
import torch
import torch.nn.functional as F
from torch import nn

from ...registry import MODELS


@MODELS.register_module()
class GradeMSELoss(nn.Module):
    """Mean squared error between one regression output and the raw grade.

    The target is the grade itself (ISUP 0-5), as published
    (``nn.MSELoss()(logits, label.float())``); a prediction is read as a
    grade by rounding and clipping (:class:`CrossModalMetric`).
    """

    def forward(self, pred: torch.Tensor, target: torch.Tensor):
        """Args:
            pred (Tensor): ``[B, 1]`` or ``[B]`` regression outputs.
            target (Tensor): ``[B]`` grades (any dtype).
        """
        return F.mse_loss(pred.reshape(-1),
                          target.to(pred.dtype).reshape(-1))
