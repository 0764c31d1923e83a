"""A linear task head whose loss and output activation come from the config."""
from typing import Dict

import torch
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import nn

from ...registry import MODELS
from ..backbones.pretrained import KeepsLoadedWeights

_ACTIVATIONS = {
    'sigmoid': torch.sigmoid,
    'softmax': lambda x: torch.softmax(x, dim=-1),
    'identity': lambda x: x,
}


@MODELS.register_module()
class LinearTaskHead(KeepsLoadedWeights, BaseModule):
    """Linear layer, a task loss, and the activation that turns logits into scores.

    ============  ===========================================  ===========
    task          loss                                         activation
    ============  ===========================================  ===========
    multi-label   ``CrossEntropyLoss(use_sigmoid=True)`` (BCE)  sigmoid
    single-label  ``CrossEntropyLoss`` (CE)                     softmax
    grade         ``GradeMSELoss`` on the raw grade, 1 output   identity
    ============  ===========================================  ===========

    Args:
        in_channels (int): width of the vision features.
        num_outputs (int): classes, or 1 for regression.
        loss (dict): config of the loss, called as ``loss(logits, target)``.
        activation (str): 'sigmoid', 'softmax' or 'identity'.
        dropout (float): dropout before the linear layer.
        init_cfg (dict | None): MMEngine initialisation config.
    """

    #: the arguments it builds through a registry, in the run's scope, and
    #: the library whose registry each build is called on
    #: (``config.REGISTRY_BUILT``: what the scope check follows)
    REGISTRY_BUILT = {'loss': 'openselfsup'}

    def __init__(self, in_channels: int, num_outputs: int, loss: dict,
                 activation: str = 'sigmoid', dropout: float = 0.0,
                 init_cfg=None):
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

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        """``[B, in_channels]`` -> logits ``[B, num_outputs]``."""
        return self.fc(feats)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """The task loss (a scalar) of logits against the batch's targets."""
        return self.loss_module(logits, target)

    def predict(self, logits: torch.Tensor) -> torch.Tensor:
        """Scores: probabilities, or the raw output for regression."""
        return _ACTIVATIONS[self.activation](logits)

    def load_classifier(self, state: Dict[str, torch.Tensor],
                        source: str) -> bool:
        """Load a classifier's ``weight`` / ``bias`` into the linear layer.

        Used for a task-trained model whose classifier was saved in the same
        file as its encoder (timm's ``head.*``, the slide model's
        ``classifier.*``).

        Args:
            state (dict): ``weight [num_outputs, in_channels]`` and ``bias``.
            source (str): the file it came from (for the log line).

        Returns:
            bool: True if loaded; False (with one log line) if the shapes do
            not fit this head, which then keeps its random initialisation.
        """
        lin = self.fc[-1]
        want = tuple(lin.weight.shape)
        got = tuple(state['weight'].shape) if 'weight' in state else None
        if got != want or 'bias' not in state:
            print_log(f'{source}: its classifier has shape {got}, the task '
                      f'head {want}; the task head starts at random '
                      'initialisation', logger='current')
            return False
        with torch.no_grad():
            lin.weight.copy_(state['weight'])
            lin.bias.copy_(state['bias'])
        self.weights_loaded_from = source
        print_log(f'{source}: task head loaded from its classifier',
                  logger='current')
        return True
