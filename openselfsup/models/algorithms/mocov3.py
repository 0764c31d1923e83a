"""MoCo v3 whose momentum-encoder update never waits for the GPU.

mmpretrain's :class:`~mmpretrain.models.selfsup.MoCoV3` updates its key
encoder with :class:`~mmpretrain.models.utils.CosineEMA`, which keeps its
step counter in a buffer on the model's device and computes the momentum
from it once per parameter (``math.cos`` of a device tensor). On a GPU each
of those is a read back to the host: about 70 per training step for the
ResNet-18 CLP model, each waiting for every kernel queued before it, so
the step's kernels cannot be queued ahead while the update runs.

:class:`MoCoV3` here is mmpretrain's (same config keys, parameters, buffers
and checkpoint keys; registered under the same name in this project's
scope) with :class:`HostStepCosineEMA`: the same update as CosineEMA
computes it on the CPU, with the step count also kept on the host (read
from the buffer once, when the first update comes, e.g. after a resume).
On a GPU CosineEMA's float32 phase ``pi * steps / max_iters`` can differ in
its last bit (CUDA divides by multiplying with the reciprocal): a momentum
difference below 1e-9 (m = 0.004).
"""
from math import cos, pi
from typing import Dict, List

import torch
from mmengine.logging import MessageHub
from mmpretrain.models.selfsup import MoCoV3 as _MoCoV3
from mmpretrain.models.utils import CosineEMA
from torch import nn

from ...registry import MODELS
from ...utils import InputError
from ..groups import only_ghost_batch_norm, segments


def _foreach_by_kind(fn, dst: list, src, *args, **kwargs) -> None:
    """``fn(dst_group, [src_group,] *args, **kwargs)`` for each group of
    tensors of one device and dtype (a ``torch._foreach_*`` op then takes
    its one-kernel path on a GPU: one launch for a whole group instead of
    one per tensor; on the CPU it is the per-tensor op)."""
    groups = {}
    for i, t in enumerate(dst):
        groups.setdefault((t.device, t.dtype), []).append(i)
    for idx in groups.values():
        lists = ([dst[i] for i in idx], ) if src is None else (
            [dst[i] for i in idx], [src[i] for i in idx])
        fn(*lists, *args, **kwargs)


def joined(parts: List[torch.Tensor]) -> torch.Tensor:
    """``torch.cat(parts)`` (along the first dimension), without the copy
    where the parts are consecutive rows of one tensor with the same
    strides, dense (contiguous or channels-last), none requiring a
    gradient (the batched views' chunks:
    :class:`~openselfsup.models.BatchAugSelfSupDataPreprocessor`): then
    that tensor's rows, a view (the same values as the concatenation,
    with the parts' strides: for the batched views' chunks the
    concatenation's memory format too, but parts of one row each, taken
    from a strided tensor, are dense alone and may join into rows that are
    not, where ``torch.cat`` gives contiguous ones; 308 MB not copied per
    CLP step at 224 px)."""
    first, base = parts[0], parts[0]._base
    step = first.stride(0) if first.dim() else 0
    offset = first.storage_offset()
    dense = first.is_contiguous() or (first.dim() == 4 and first.
                                      is_contiguous(memory_format=torch.
                                                    channels_last))
    for p in parts:
        if not dense or p._base is not base or base is None or \
                p.requires_grad or \
                p.stride() != first.stride() or \
                p.shape[1:] != first.shape[1:] or \
                p.storage_offset() != offset:
            return torch.cat(parts)
        offset += p.shape[0] * step
    rows = sum(p.shape[0] for p in parts)
    return first.as_strided((rows, *first.shape[1:]), first.stride(),
                            first.storage_offset())


class HostStepCosineEMA(CosineEMA):
    """:class:`CosineEMA` without reads of the device in its update.

    The momentum of a step is computed once, as CosineEMA computes it
    (``pi * steps / max_iters`` in float32, then ``math.cos``), from the
    step count held on the host; the ``steps`` buffer is still advanced on
    the device, so checkpoints are the same. The averaged tensors are
    looked up in the module at each update (CosineEMA keeps the ones it saw
    when built, which a move to another device can replace). Each update is
    a few ``torch._foreach_*`` ops over all tensors (the same arithmetic as
    CosineEMA's per-tensor ``mul_``, ``add_`` and buffer copies, which issue
    about 200 ops per step for the ResNet-18 CLP model).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._host_steps = None  # read from the buffer at the first update

    def _load_from_state_dict(self, *args, **kwargs):
        super()._load_from_state_dict(*args, **kwargs)
        self._host_steps = None  # the loaded buffer is the truth

    def momentum_at(self, steps: int) -> float:
        """CosineEMA's momentum (weight of the new parameters) at ``steps``,
        in CosineEMA's arithmetic (a float32 tensor before ``math.cos``)."""
        max_iters = MessageHub.get_current_instance().get_info('max_iters')
        phase = pi * torch.tensor(steps) / float(max_iters)
        cosine_annealing = (cos(phase) + 1) / 2
        return self.end_momentum - (self.end_momentum -
                                    self.momentum) * cosine_annealing

    def update_parameters(self, model: nn.Module) -> None:
        if self._host_steps is None:
            self._host_steps = int(self.steps)
        steps = self._host_steps
        src, avg = ((model.state_dict(), self.module.state_dict())
                    if self.update_buffers else
                    (dict(model.named_parameters()),
                     dict(self.module.named_parameters())))
        if steps == 0:
            _foreach_by_kind(torch._foreach_copy_,
                             [p.data for p in avg.values()],
                             [src[k].data for k in avg])
        elif steps % self.interval == 0:
            momentum = self.momentum_at(steps)
            keys = [k for k, p in avg.items() if p.dtype.is_floating_point]
            dst = [avg[k].data for k in keys]
            new = [src[k].data.to(avg[k].device) for k in keys]
            # p.mul_(1 - m).add_(q, alpha=m) for every tensor, as CosineEMA
            listed = self.module.state_dict(keep_vars=True).values() \
                if self.update_buffers else ()
            if len({id(t) for t in listed}) < len(listed):
                # a tensor listed twice (a module registered under two
                # names; named_parameters lists it once, the state dict
                # twice): CosineEMA updates it twice, one after the other;
                # so does this
                for p, q in zip(dst, new):
                    p.mul_(1 - momentum).add_(q, alpha=momentum)
            else:
                _foreach_by_kind(torch._foreach_mul_, dst, None,
                                 1 - momentum)
                _foreach_by_kind(torch._foreach_add_, dst, new,
                                 alpha=momentum)
        if not self.update_buffers:
            dst = list(self.module.buffers())
            _foreach_by_kind(torch._foreach_copy_, [b.data for b in dst],
                             [b.data.to(d.device)
                              for d, b in zip(dst, model.buffers())])
        self.steps += 1
        self._host_steps = steps + 1


@MODELS.register_module()
class MoCoV3(_MoCoV3):
    """mmpretrain's MoCoV3 with :class:`HostStepCosineEMA` as the momentum
    encoder (same arguments, same results, no GPU reads in the update), and
    both views through each backbone in one pass.

    mmpretrain (as the published code) runs each backbone once per view.
    By default here the two views go through each backbone together, as
    one batch of twice the images: the backbone's :class:`GhostBatchNorm2d`
    layers count their groups per view and update their running statistics
    once per view, in the views' order (:func:`~openselfsup.models.groups.
    segments`), so every group is normalised as before; the neck (whose
    BatchNorm spans a view, as the published SyncBN) still runs per view.
    Half the backbone calls for the host to issue, same values up to float
    rounding (tested). Only where that holds (:meth:`one_pass`: GhostBN
    and per-sample layers only, no activation checkpointing, two views of
    one shape); otherwise, and with ``views_in_one_pass=False``,
    mmpretrain's loop.

    Args:
        views_in_one_pass (bool): default True.
        *args, **kwargs: mmpretrain's MoCoV3 arguments.
    """

    #: the arguments it builds through a registry, in the run's scope, and
    #: the library whose registry each build is called on
    #: (``config.REGISTRY_BUILT``: what the scope check follows)
    #: (mmpretrain's ``BaseSelfSupervisor`` and ``MoCoV3`` build them)
    REGISTRY_BUILT = {'backbone': 'mmpretrain', 'neck': 'mmpretrain',
                      'head': 'mmpretrain', 'target_generator': 'mmpretrain',
                      'data_preprocessor': 'mmpretrain'}

    def __init__(self, *args, views_in_one_pass: bool = True,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        old = self.momentum_encoder
        new = HostStepCosineEMA(nn.Sequential(self.backbone, self.neck),
                                momentum=old.momentum,
                                end_momentum=old.end_momentum,
                                interval=old.interval,
                                update_buffers=old.update_buffers)
        self.momentum_encoder = new
        self.views_in_one_pass = views_in_one_pass
        self._ghost_only = None  # the backbones' check, made when needed

    def train(self, mode: bool = True):
        """As :meth:`torch.nn.Module.train`; the backbones are checked
        again at the next step (MMEngine's loop calls it at each epoch)."""
        self._ghost_only = None
        return super().train(mode)

    def one_pass(self) -> bool:
        """Whether the views go through the backbones together: asked for,
        and both backbones made of GhostBN and per-sample layers only, with
        no activation checkpointing
        (:func:`~openselfsup.models.groups.only_ghost_batch_norm`; a plain
        BN, or the SyncBN a multi-GPU run converts BNs to, would mix the
        two views' statistics: then mmpretrain's loop). Views of different
        shapes also take the loop. The backbones' check (a walk over every
        module, about 1 ms for the ResNet-18 pair) is made once after each
        :meth:`train` call, not at every step: a layer replaced later is
        seen after the next ``train()``."""
        if self._ghost_only is None:
            self._ghost_only = (
                only_ghost_batch_norm(self.backbone)
                and only_ghost_batch_norm(self.momentum_encoder.module[0]))
        return self.views_in_one_pass and self._ghost_only

    def loss(self, inputs: List[torch.Tensor], data_samples: list,
             **kwargs) -> Dict[str, torch.Tensor]:
        if isinstance(inputs, list) and len(inputs) < 2:
            # mmpretrain's loss stopped on an IndexError traceback
            raise InputError(
                f'MoCoV3 takes two views of each image, got {len(inputs)} '
                '(the MultiView num_views of '
                'train_dataloader.dataset.pipeline: the recipe\'s is 2)')
        if not (isinstance(inputs, list)
                and inputs[0].shape == inputs[1].shape and self.one_pass()):
            return super().loss(inputs, data_samples, **kwargs)
        # mmpretrain's loss takes the first two views
        n = inputs[0].shape[0]
        both = joined(inputs[:2])

        def encode(backbone, neck):
            with segments(backbone, 2):
                feats = backbone(both)
            return [neck(tuple(f[part] for f in feats))[0]
                    for part in (slice(0, n), slice(n, None))]
        q1, q2 = encode(self.backbone, self.neck)
        with torch.no_grad():
            self.momentum_encoder.update_parameters(
                nn.Sequential(self.backbone, self.neck))
            k1, k2 = encode(*self.momentum_encoder.module)
        loss = self.head.loss(q1, k2) + self.head.loss(q2, k1)
        return dict(loss=loss)
