"""mmpretrain's ImageClassifier (the FSP recipe's model) whose training
forward updates GhostBN's running statistics together.

Registered under the same name in this project's scope, as
:class:`~openselfsup.models.algorithms.mocov3.MoCoV3` is: same config
keys, parameters, buffers, checkpoint keys and values.
"""
from typing import Dict, List

import torch
from mmpretrain.models import ImageClassifier as _ImageClassifier

from ...registry import MODELS
from ..groups import COMPUTATIONS, GhostBatchNorm2d, segments


@MODELS.register_module()
class ImageClassifier(_ImageClassifier):
    """mmpretrain's ImageClassifier whose training loss runs in a one-part
    :func:`~openselfsup.models.groups.segments` block over the backbone:
    with GhostBN's one call (``computation='one_call'``) or grouped view
    (``'grouped_view'``) the running statistics of all its layers are
    updated together when the forward ends (a few ``torch._foreach_*``
    ops for the backbone instead of about three a layer call: 57 device
    ops fewer an FSP step with the grouped view, 38 with the one call,
    ``bench_pretrain``'s count), each layer's update the arithmetic of
    its own (bit for bit). With the per-group calls alone (the default), which
    update theirs in the call, no block is opened: the step is
    mmpretrain's (the backbone's check, a walk over its modules, is made
    once after each :meth:`train` call, as :meth:`MoCoV3.one_pass
    <openselfsup.models.algorithms.mocov3.MoCoV3.one_pass>` makes its
    own). Only :meth:`loss`: prediction, the tensor mode and feature
    extraction (``extract_feat``) call the layers as mmpretrain's class
    does.

    Args:
        *args, **kwargs: mmpretrain's ImageClassifier arguments.
    """

    #: the arguments it builds through a registry, in the run's scope, and
    #: the library whose registry each build is called on
    #: (``config.REGISTRY_BUILT``: what the scope check follows; every
    #: argument, as the check follows mmpretrain's own class)
    REGISTRY_BUILT = dict.fromkeys(
        ('backbone', 'neck', 'head', 'train_cfg', 'data_preprocessor',
         'init_cfg'), 'mmpretrain')

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._queues = None  # the backbone's check, made when needed

    def train(self, mode: bool = True):
        """As :meth:`torch.nn.Module.train`; the backbone is checked again
        at the next step."""
        self._queues = None
        return super().train(mode)

    def loss(self, inputs: torch.Tensor,
             data_samples: List) -> Dict[str, torch.Tensor]:
        if self._queues is None:  # a GhostBN that queues in a block
            self._queues = any(
                isinstance(m, GhostBatchNorm2d)
                and m.computation != COMPUTATIONS[0]
                for m in self.backbone.modules())
        if not self._queues:
            return super().loss(inputs, data_samples)
        with segments(self.backbone, 1):
            return super().loss(inputs, data_samples)
