"""A linear task head whose loss and output activation come from the config."""
import torch
from mmengine.model import BaseModule
from torch import nn

from ...registry import MODELS

_ACTIVATIONS = {
    'sigmoid': torch.sigmoid,
    'softmax': lambda x: torch.softmax(x, dim=-1),
    'identity': lambda x: x,
}


@MODELS.register_module()
class LinearTaskHead(BaseModule):
    """Linear layer, a task loss, and the activation that turns logits into scores.

    ============  ===========================================  ===========
    task          loss                                         activation
    ============  ===========================================  ===========
    multi-label   ``CrossEntropyLoss(use_sigmoid=True)`` (BCE)  sigmoid
    single-label  ``CrossEntropyLoss`` (CE)                     softmax
    grade         ``GradeMSELoss(scale=5)``, one output         identity
    ============  ===========================================  ===========

    Args:
        in_channels (int): width of the vision features.
        num_outputs (int): classes, or 1 for regression.
        loss (dict): config of the loss, called as ``loss(logits, target)``.
        activation (str): 'sigmoid', 'softmax' or 'identity'.
        output_scale (float): scores are multiplied by this (the regression
            loss's ``scale``: scores are then in grade units).
        dropout (float): dropout before the linear layer.
        init_cfg (dict | None): MMEngine initialisation config.
    """

    def __init__(self, in_channels: int, num_outputs: int, loss: dict,
                 activation: str = 'sigmoid', output_scale: float = 1.0,
                 dropout: float = 0.0, init_cfg=None):
        super().__init__(init_cfg)
        if activation not in _ACTIVATIONS:
            raise ValueError(f'activation must be one of {list(_ACTIVATIONS)},'
                             f' got {activation!r}')
        self.in_channels = in_channels
        self.num_outputs = num_outputs
        self.fc = nn.Sequential(nn.Dropout(dropout),
                                nn.Linear(in_channels, num_outputs))
        self.loss_module = MODELS.build(loss)
        self.activation = activation
        self.output_scale = float(output_scale)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """``[B, in_channels]`` -> logits ``[B, num_outputs]``."""
        return self.fc(feats)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The task loss (a scalar) of logits against the batch's targets."""
        return self.loss_module(logits, target)

    def predict(self, logits: torch.Tensor) -> torch.Tensor:
        """Scores: probabilities, or grades for regression."""
        return _ACTIVATIONS[self.activation](logits) * self.output_scale
