"""The per-GPU groups of a published multi-GPU run, reproduced on fewer GPUs.

The ICLR-22 recipes ran on several GPUs without synchronising everything
across them: CLP on 8 GPUs x 32 images, FSP on 4 GPUs x 128. Two things
were computed per GPU and so depend on the number of images per GPU, not on
the total batch:

- the MoCo-v3 contrastive loss (no gathering of keys:
  :class:`~openselfsup.models.heads.GroupMoCoV3Head`);
- the backbone's BatchNorm statistics (plain ``BN``, not ``SyncBN``, in the
  ResNet): :class:`GhostBatchNorm2d` normalises each group of
  ``group_size`` images with its own statistics (a "ghost batch", Hoffer et
  al. 2017).

With the group size set to the published images per GPU, one GPU (or any
number whose per-process batch is a multiple of it) computes the forward
pass and the averaged gradient of the published run.
"""
from contextlib import contextmanager
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import MODELS
from ..utils import InputError


def groups_of(batch: int, group_size: Optional[int], what: str) -> int:
    """Number of groups a batch of ``batch`` images is cut into.

    A batch of at most ``group_size`` images is one group (a short total
    batch, e.g. the demo's or a test's); a larger batch must be a multiple
    of ``group_size``.

    Args:
        batch (int): images in this process's batch.
        group_size (int | None): images per group; None: one group.
        what (str): the config key, for the error message.

    Raises:
        InputError: ``batch`` is larger than and not a multiple of
            ``group_size``.
    """
    if group_size is None or batch <= group_size:
        return 1
    if batch % group_size:
        raise InputError(
            f'{what}={group_size}: the per-process batch of {batch} images is '
            f'not a multiple of it; change total_batch_size, the GPU count or '
            f'{what}')
    return batch // group_size


def check_group_size(group_size: Optional[int], what: str) -> None:
    """InputError unless ``group_size`` is None or a positive integer."""
    if group_size is not None and (not isinstance(group_size, int)
                                   or group_size < 1):
        raise InputError(f'{what}={group_size!r}: use a positive number of '
                         'images or None')


@contextmanager
def segments(module: nn.Module, count: int):
    """Within the block, each :class:`GhostBatchNorm2d` in ``module`` takes
    its batch as ``count`` consecutive equal parts that the published run
    normalised in separate calls (e.g. MoCo v3's two views in one forward
    pass): groups are counted per part, and the running statistics are
    updated once per part, in order, from the part's first group. Each
    layer's previous setting comes back when the block ends."""
    bns = [m for m in module.modules() if isinstance(m, GhostBatchNorm2d)]
    before = [m.__dict__.get('segments') for m in bns]
    for m in bns:
        m.segments = count
    try:
        yield
    finally:
        for m, b in zip(bns, before):
            if b is None:
                del m.segments  # back to the class's 1
            else:
                m.segments = b


#: leaf layers with parameters or buffers that compute each sample on its
#: own: safe in a pass over several segments (GhostBN aside)
_PER_SAMPLE = (nn.modules.conv._ConvNd, nn.Linear,
               nn.LayerNorm, nn.GroupNorm,
               nn.modules.instancenorm._InstanceNorm, nn.Embedding)


def only_ghost_batch_norm(module: nn.Module) -> bool:
    """Whether a forward pass of ``module`` over several parts of a batch,
    under :func:`segments`, equals one pass per part: every layer with
    parameters or buffers is a GhostBN or a per-sample layer
    (convolution, linear, layer / group / instance norm, embedding, and
    mmpretrain's ``LayerNorm2d`` / ``GRN``), no other layer is named like
    a batch norm, and no layer recomputes its forward in the backward
    (``with_cp``: activation checkpointing would run it again after the
    block). Otherwise (a plain or synchronised BatchNorm, which would mix
    the parts' statistics, or any layer not known to be per-sample) False:
    the caller then makes one pass per part."""
    for m in module.modules():
        if getattr(m, 'with_cp', False):
            return False
        if isinstance(m, GhostBatchNorm2d):
            continue
        name = type(m).__name__
        if any(k in name.lower() for k in ('batchnorm', 'batchrenorm',
                                           'syncbn')):
            return False
        leaf = next(m.children(), None) is None
        state = next(m.parameters(recurse=False), None) is not None or \
            next(m.buffers(recurse=False), None) is not None
        if leaf and state and not isinstance(m, _PER_SAMPLE) \
                and name not in ('LayerNorm2d', 'GRN'):
            return False
    return True


def _groups_to_channels(x: torch.Tensor, groups: int,
                        channels_last: bool) -> torch.Tensor:
    """``(groups * n, C, H, W) -> (n, groups * C, H, W)``: group g's channel
    c becomes channel ``g * C + c`` (one copy of a dense ``x``, in its
    memory format)."""
    total, c, h, w = x.shape
    n = total // groups
    if channels_last:  # memory (N, H, W, C) -> (n, H, W, groups, C)
        y = x.permute(0, 2, 3, 1).reshape(groups, n, h, w, c)
        return y.permute(1, 2, 3, 0, 4).reshape(n, h, w, groups * c).permute(
            0, 3, 1, 2)
    return x.reshape(groups, n, c, h, w).transpose(0, 1).reshape(
        n, groups * c, h, w)


def _channels_to_groups(y: torch.Tensor, groups: int,
                        channels_last: bool) -> torch.Tensor:
    """The inverse of :func:`_groups_to_channels`."""
    n, gc, h, w = y.shape
    c = gc // groups
    if channels_last:
        x = y.permute(0, 2, 3, 1).reshape(n, h, w, groups, c)
        return x.permute(3, 0, 1, 2, 4).reshape(groups * n, h, w, c).permute(
            0, 3, 1, 2)
    return y.reshape(n, groups, c, h, w).transpose(0, 1).reshape(
        groups * n, c, h, w)


@MODELS.register_module('GhostBN')
class GhostBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics come from groups of images.

    In training, a batch of more than ``group_size`` images is cut into
    consecutive groups and each group is normalised with its own mean and
    variance, as plain BatchNorm did on each GPU of a multi-GPU run. The
    running statistics are updated from the first group only, as the
    checkpoint of the published run holds those of GPU 0. In evaluation,
    and for a batch of at most ``group_size`` images, it is
    :class:`torch.nn.BatchNorm2d` (same parameters, buffers and state-dict
    keys, so checkpoints load into a plain ResNet).

    How it is computed (same values either way, up to float rounding):
    by default in ONE batch-norm call: a layout copy makes each group's
    channels channels of their own (``groups x C`` channels over the
    group's images), the affine parameters are repeated per group, and the
    output is copied back. ``per_group_calls=True`` makes one batch-norm
    call per group and concatenates the outputs (the published per-GPU BN
    written out literally). The one call issues about 10 ops where the
    per-group calls issue 3 per group plus the gradient sums of the shared
    weight and bias (for the CLP recipe's 8 groups, forward, backward and
    optimiser step went from 3,126 to 1,766 device ops per training step,
    counted with ``benchmarks/bench_pretrain.py``), at the cost of the two
    layout copies (and two more of the gradients). Running statistics:
    every group's slot of the repeated statistics is updated; the first
    group's is kept (with :func:`segments`, the first group of each part).

    Config: ``norm_cfg=dict(type='GhostBN', group_size=32)``.

    Args:
        num_features (int): channels.
        group_size (int | None): images per statistics group; None: the
            whole batch (plain BatchNorm).
        per_group_calls (bool): one batch-norm call per group instead of
            one for all groups. Default False.
        **kwargs: :class:`torch.nn.BatchNorm2d` arguments (eps, momentum...).
    """

    def __init__(self, num_features: int, group_size: Optional[int] = None,
                 per_group_calls: bool = False, **kwargs) -> None:
        super().__init__(num_features, **kwargs)
        check_group_size(group_size, 'norm_cfg.group_size')
        self.group_size = group_size
        self.per_group_calls = per_group_calls

    #: consecutive equal parts of a batch that the published run normalised
    #: in separate calls (MoCo v3's two views, :func:`segments`); set only
    #: for the duration of a forward pass
    segments = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        segs = self.segments if self.training else 1
        if x.shape[0] % segs:
            raise InputError(f'GhostBN: a batch of {x.shape[0]} images does '
                             f'not split into {segs} equal parts (views)')
        groups = segs * groups_of(x.shape[0] // segs, self.group_size,
                                  'norm_cfg.group_size') \
            if self.training else 1
        if groups == 1:
            return super().forward(x)
        if self.per_group_calls:
            per_segment = groups // segs
            out = []
            for i, part in enumerate(x.chunk(groups)):
                if i % per_segment == 0:  # updates the running statistics
                    out.append(super().forward(part))
                else:
                    out.append(F.batch_norm(part, None, None, self.weight,
                                            self.bias, True, 0.0, self.eps))
            return torch.cat(out)
        return self._one_call(x, groups, segs)

    def _factors(self, segs: int) -> list:
        """The running-average factor of each of ``segs`` updates, as
        :class:`torch.nn.BatchNorm2d` takes it (momentum None: the
        cumulative average, 1 / updates so far), counting them."""
        self.num_batches_tracked.add_(segs)
        if self.momentum is not None:
            return [self.momentum] * segs
        done = int(self.num_batches_tracked) - segs
        return [1.0 / (done + 1 + s) for s in range(segs)]

    def _one_call(self, x: torch.Tensor, groups: int,
                  segs: int) -> torch.Tensor:
        cl = (x.is_contiguous(memory_format=torch.channels_last)
              and not x.is_contiguous())
        c = self.num_features

        def per_group(t):
            return None if t is None else t.repeat(groups)
        track = self.track_running_stats and self.running_mean is not None
        if track:
            factors = self._factors(segs)
            # every group's slot starts from the running statistics and is
            # updated from that group's statistics; the first group's slot
            # is the new running statistics
            mean, var = per_group(self.running_mean), per_group(
                self.running_var)
        else:
            mean = var = None
            factors = [0.0]
        y = F.batch_norm(_groups_to_channels(x, groups, cl), mean, var,
                         per_group(self.weight), per_group(self.bias), True,
                         factors[0], self.eps)
        if track:
            if segs == 1:
                new = (mean[:c], var[:c])
            else:
                new = self._sequential_updates(mean, var, groups, segs,
                                               factors)
            torch._foreach_copy_([self.running_mean, self.running_var],
                                 list(new))
        return _channels_to_groups(y, groups, cl)

    def _sequential_updates(self, mean, var, groups, segs, factors):
        """The running statistics after one update per segment, in order,
        from the first group of each, given the slots of the one call
        (each ``(1 - f) * r + f * stat``, ``f = factors[0]``, from the same
        running statistics ``r``): ``f * stat`` of a later segment's first
        group is its slot less ``(1 - f) * r``. ``(mean, variance)``."""
        c, step = self.num_features, groups // segs
        f0 = factors[0]
        new = [mean[:c], var[:c]]
        if f0 == 0:  # momentum 0: the running statistics never move
            return new
        old = [self.running_mean, self.running_var]
        for s in range(1, segs):
            f = factors[s]
            at = slice(s * step * c, (s * step + 1) * c)
            part = torch._foreach_sub([mean[at], var[at]], old,
                                      alpha=1 - f0)  # f0 * stat
            if f != f0:
                torch._foreach_mul_(part, f / f0)
            torch._foreach_add_(part, new, alpha=1 - f)
            new = part
        return new

    def extra_repr(self) -> str:
        return (f'{super().extra_repr()}, group_size={self.group_size}'
                + (', per_group_calls=True' if self.per_group_calls else ''))
