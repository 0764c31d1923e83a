"""The ordinal grade loss of balanced tuning.

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
    """Mean squared error between one regression output and the grade.

    Args:
        scale (float): grades are divided by this before the loss (e.g. 5 to
            regress ISUP 0-5 on [0, 1]); the regression output lives in the
            scaled space, so a prediction of grade ``g`` is ``g / scale``.
    """

    def __init__(self, scale: float = 1.0):
        super().__init__()
        self.scale = float(scale)

    def forward(self, pred: torch.Tensor, target: torch.Tensor):
        """Args:
            pred (Tensor): ``[B, 1]`` or ``[B]`` regression outputs.
            target (Tensor): ``[B]`` grades (any dtype).
        """
        return F.mse_loss(pred.reshape(-1),
                          target.to(pred.dtype).reshape(-1) / self.scale)
