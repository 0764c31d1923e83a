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
from contextlib import contextmanager, nullcontext
from typing import NamedTuple, Optional

import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from ..registry import MODELS
from ..utils import InputError
# (their home before)
from ..utils.groups import check_group_size, groups_of  # noqa: F401


@contextmanager
def segments(module: nn.Module, count: int):
    """Within the block, each :class:`GhostBatchNorm2d` in ``module`` takes
    its batch as ``count`` consecutive equal parts that the published run
    normalised in separate calls (e.g. MoCo v3's two views in one forward
    pass; FSP's training forward is a block of one part,
    :class:`~openselfsup.models.algorithms.ImageClassifier`): groups are
    counted per part, and the running statistics are
    updated once per part, in order, from the part's first group. Each
    layer's previous setting comes back when the block ends.

    With the one call for all groups (``computation='one_call'``) and
    the grouped view (``'grouped_view'``) the running statistics of all
    the layers are updated together when the block ends (a few
    ``torch._foreach_*`` ops for the whole module instead of four per
    layer: the host issues fewer ops per training step), with the same
    formula as each layer's own update (rounded otherwise in the last
    float32 bits); the per-group calls, the default, update them in each
    part's first call, as plain BatchNorm does. What is
    queued is applied first when a layer is called again in the block
    (so every call starts from the statistics a call per part would see),
    when a nested block starts, and when a layer's state is read, loaded,
    copied or pickled."""
    bns = [m for m in module.modules() if isinstance(m, GhostBatchNorm2d)]
    before = [(m.__dict__.get('segments'), m.__dict__.get('_pending'))
              for m in bns]
    for outer in {id(m._pending): m._pending for m in bns
                  if m._pending}.values():
        _update_running_stats(outer)  # an enclosing block's, first
    pending: list = []
    for m in bns:
        m.segments = count
        m._pending = pending
    try:
        yield
    finally:
        try:
            _update_running_stats(pending)
        finally:  # the layers' settings come back even if that fails
            for m, (seg, pend) in zip(bns, before):
                for name, old in (('segments', seg), ('_pending', pend)):
                    if old is None:
                        # back to the class's default (a pop, not
                        # delattr: torch.compile replays a delattr of an
                        # attribute set in the same graph as a delete of
                        # one never set, an AttributeError)
                        m.__dict__.pop(name, None)
                    else:
                        setattr(m, name, old)


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
    block), and no GhostBN is registered at two places (one pass would
    update its running statistics in another order than a pass per part).
    Otherwise (a plain or synchronised BatchNorm, which would mix the
    parts' statistics, or any layer not known to be per-sample) False: the
    caller then makes one pass per part."""
    ghosts = set()
    for _, m in module.named_modules(remove_duplicate=False):
        if getattr(m, 'with_cp', False):
            return False
        if isinstance(m, GhostBatchNorm2d):
            if id(m) in ghosts:
                return False
            ghosts.add(id(m))
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


#: how :class:`GhostBatchNorm2d` computes a training batch of several
#: groups (its ``computation``; the first is the default)
COMPUTATIONS = ('per_group_calls', 'one_call', 'grouped_view')


def _computation(per_group_calls: Optional[bool],
                 computation: Optional[str]) -> str:
    """The computation that GhostBN's two switches select: ``computation``
    (one of :data:`COMPUTATIONS`) or the older ``per_group_calls`` (True:
    ``'per_group_calls'``, False: ``'one_call'``); neither: the default.
    InputError for another value, or for the two given and disagreeing."""
    if per_group_calls is not None and not isinstance(per_group_calls, bool):
        raise InputError(f'GhostBN: norm_cfg.per_group_calls='
                         f'{per_group_calls!r}: use True or False (or '
                         'norm_cfg.computation)')
    if computation is not None and (not isinstance(computation, str)
                                    or computation not in COMPUTATIONS):
        raise InputError(f'GhostBN: norm_cfg.computation={computation!r}: '
                         'use one of ' + ', '.join(map(repr, COMPUTATIONS)))
    older = None if per_group_calls is None else \
        COMPUTATIONS[0 if per_group_calls else 1]
    if None not in (older, computation) and older != computation:
        raise InputError(f'GhostBN: norm_cfg.per_group_calls='
                         f'{per_group_calls} ({older!r}) and norm_cfg.'
                         f'computation={computation!r} disagree: give '
                         'norm_cfg.computation alone')
    return computation or older or COMPUTATIONS[0]


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

    How it is computed (``computation``; the same values each way, up to
    float rounding):

    - ``'per_group_calls'`` (the default): one batch-norm call per group,
      the outputs concatenated (the published per-GPU BN written out
      literally).
    - ``'one_call'`` (also ``per_group_calls=False``): ONE batch-norm call
      for all groups: a layout copy makes each group's channels channels
      of their own (``groups x C`` channels over the group's images), the
      affine parameters are repeated per group, and the output is copied
      back.
    - ``'grouped_view'`` (opt-in, not measured on a GPU yet): neither
      batch-norm calls nor layout copies: the statistics of every (group,
      channel) from reductions over a view of the batch as ``(groups, n,
      C, H, W)`` (a view in any memory format), the normalisation and the
      affine as one broadcast multiply-add with a scale and shift per
      (group, channel), and a backward written in closed form
      (:class:`_GroupedBatchNorm`: sums of the gradient and of the
      gradient times the centred input per (group, channel), then one
      multiply-add per term of ``dx = s dy + b x + c``; the weight and
      bias gradients summed over the groups), so autograd records one
      node, not the ops of a generic formula. A fixed number of ops per
      layer, whatever the number of groups. Under bfloat16 autocast (a
      bfloat16 input, float32 weight and bias) the output and input
      gradient are bfloat16, as batch norm's; the statistics and the
      gradient's sums are accumulated in float32 by reductions that read
      the bfloat16 tensors (``mean(dtype=torch.float32)`` and
      ``sum(dtype=torch.float32)``, which a CUDA device reads as they
      are; torch's CPU reductions cast a copy first), the variance as the
      ``var_mean`` of the input less its mean rounded to the input's
      dtype, a transient activation-sized float32 temporary (exact;
      :func:`_low_precision_variance`; a float32 input: ``var_mean``'s
      one pass), the multiply-adds computed in float32, the output's
      rounded once into its dtype, the input gradient's twice (``b x +
      c``, then ``s dy`` added to it). In the backward the input less its
      rounded mean is a temporary in the input's dtype (``(x - mean) *
      dy``: products of an uncentred bfloat16 input made the weight
      gradient |mean| / std times less precise). The variance, before:
      the mean square less the square mean lost (|mean| / std)^2 float32
      roundings (7% of the output at 100, a negative variance clamped to
      0 at 300); then the temporary in the input's dtype, rounded for
      values more than a factor 2 from the mean, biased it where |mean|
      is near the standard deviation (bfloat16 running variance 6.6e-4
      from float64 at mean / std 0.5, float16 7.6e-5); then the mean
      square of the float32 temporary less the rounding squared, at mean
      / std 0.01 to 1000 bfloat16 9e-8 to 4e-5, float16 2e-7 to 3e-5
      (float32 sums of 6,272 squares on the CPU); now (h323) its
      ``var_mean``, bfloat16 and float16 4.5e-8 to 6.8e-8 on the CPU
      (``python -m benchmarks.grad_precision --ghost-bn-variance``; not
      measured on a GPU, whose float32 ``var_mean`` sums otherwise), in
      6 ops a layer call where that took 12 (three of them, the
      mean, the difference and the ``var_mean``, read the
      activation). On the CPU, at the CLP shape, each output and
      gradient is as close to a float64 reference as the per-group
      calls' at mean / std 0.5 to 300 (bf16: output 1.7e-3, input
      gradient 2.3-2.4e-3, weight gradient 1.6-2.9e-3
      against the per-group calls' 1.3-1.9e-3; ``tests/test_pretrain_recipes``,
      ``test_ghost_bn_paths_against_float64_reference``).

    The one call issues about 10 ops where the per-group calls issue 3 per
    group plus the gradient sums of the shared weight and bias (for the
    CLP recipe's 8 groups, forward, backward and optimiser step went from
    3,126 to 1,766 device ops per training step, counted with
    ``benchmarks/bench_pretrain.py``), at the cost of the two layout
    copies (and two more of the gradients). On a GPU the copies cost more
    than the launches saved: on one H100 (bf16, channels-last, the
    recipes' (a) step, three runs; ``benchmarks/RESULTS.md``, section
    "GPU: one H100, 2026-12-06") the per-group calls gave 2,541-2,742
    images/s for CLP against 2,436-2,442 with the one call, and
    10,504-10,524 against 6,465-6,503 for FSP; hence the default. There
    the CLP step with the per-group calls was close to host-bound (the
    host issued a step in 85-92 of its 94-99 ms): the grouped view is
    meant for that host time without the one call's copies (a CLP step
    in 1,128 device ops, forward 494 and backward 424, against 2,900
    with the per-group calls and 988 with the one call; no copy of an
    activation; under bfloat16 autocast its model step in 1,270 ops
    against 2,794 and 984; FSP's 4 groups a layer: 747 against 744 and
    586, bfloat16 911 against 765 and 709, its
    training forward a one-part :func:`segments` block
    (``ImageClassifier.loss``; 924 and 624 when each layer call updated
    its own); counted on the CPU, ``benchmarks/RESULTS.md``, "GhostBN's
    grouped view"). Its GPU time is not measured yet.
    Running statistics: the per-group calls update them from the first
    group's call (with :func:`segments`, the first group of each part);
    the one call updates every group's slot of the repeated statistics
    and keeps the first group's; the grouped view hands over every
    group's mean and variance (dense ``(groups, C)``, from which the
    update reads each part's first group as a row), no op of its own (it
    took 3 a call to compute the slots: 120 of a CLP step's 1,368 ops); both
    go through the same queued update (:func:`_update_running_stats`),
    which for the grouped view costs ``2 + parts`` ops for all the
    layers of a block (for a call outside a block, its own). With
    momentum None (the cumulative average) the grouped view's factors
    come from the layers' ``num_batches_tracked`` on their device when
    the update is applied (6 more ops for the block): no layer call reads
    a value on the host, a wait for the device on a GPU (float32 or
    float64 buffers; lower-precision ones read their count at the call);
    the per-group calls (torch's BatchNorm) and the one call (its
    batch-norm call takes the factor as a number) read it at each call,
    as torch's BatchNorm does.

    Config: ``norm_cfg=dict(type='GhostBN', group_size=32)``.

    Args:
        num_features (int): channels.
        group_size (int | None): images per statistics group; None: the
            whole batch (plain BatchNorm).
        per_group_calls (bool | None): the older switch: True is
            ``computation='per_group_calls'``, False ``'one_call'``.
        computation (str | None): one of :data:`COMPUTATIONS`
            (``'per_group_calls'``, ``'one_call'``, ``'grouped_view'``);
            None: ``per_group_calls``'s, else the per-group calls. A
            value not among them, a ``per_group_calls`` that is not a
            bool, or the two disagreeing: InputError.
        **kwargs: :class:`torch.nn.BatchNorm2d` arguments (eps, momentum...).
    """

    def __init__(self, num_features: int, group_size: Optional[int] = None,
                 per_group_calls: Optional[bool] = None,
                 computation: Optional[str] = None, **kwargs) -> None:
        super().__init__(num_features, **kwargs)
        check_group_size(group_size, 'norm_cfg.group_size')
        self.group_size = group_size
        self.computation = _computation(per_group_calls, computation)

    @property
    def computation(self) -> str:
        """One of :data:`COMPUTATIONS`; set, a value not among them is
        refused (InputError), as in the config."""
        return self._computation_name

    @computation.setter
    def computation(self, value: str) -> None:
        self._computation_name = _computation(None, value)

    @property
    def per_group_calls(self) -> bool:
        """Whether ``computation`` is the per-group calls; set True or
        False, it selects ``'per_group_calls'`` or ``'one_call'``."""
        return self.computation == 'per_group_calls'

    @per_group_calls.setter
    def per_group_calls(self, value: bool) -> None:
        self.computation = _computation(value, None)

    #: consecutive equal parts of a batch that the published run normalised
    #: in separate calls (MoCo v3's two views, :func:`segments`); set only
    #: for the duration of a forward pass
    segments = 1
    #: running-statistics updates that :func:`segments` applies when its
    #: block ends (None: each call updates its own at once), and whether
    #: one of them is this layer's
    _pending = None
    _queued = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._flush()  # called again in a segments block: queued first
        segs = self.segments if self.training else 1
        if x.shape[0] % segs:
            raise InputError(f'GhostBN: a batch of {x.shape[0]} images does '
                             f'not split into {segs} equal parts (views)')
        groups = segs * groups_of(x.shape[0] // segs, self.group_size,
                                  'norm_cfg.group_size') \
            if self.training else 1
        if groups == 1:
            return super().forward(x)
        if self.computation == 'per_group_calls':
            per_segment = groups // segs
            out = []
            for i, part in enumerate(x.chunk(groups)):
                if i % per_segment == 0:  # updates the running statistics
                    out.append(super().forward(part))
                else:
                    out.append(F.batch_norm(part, None, None, self.weight,
                                            self.bias, True, 0.0, self.eps))
            return torch.cat(out)
        if self.computation == 'one_call':
            return self._one_call(x, groups, segs)
        return self._grouped_view(x, groups, segs)

    def _flush(self) -> None:
        """Apply the queued running-statistics updates (this layer's and
        the others' of its :func:`segments` block) now."""
        if self._queued:
            _update_running_stats(self._pending)

    def _save_to_state_dict(self, *args, **kwargs):
        self._flush()  # a state dict read in a block holds every update
        super()._save_to_state_dict(*args, **kwargs)

    def _load_from_state_dict(self, *args, **kwargs):
        self._flush()  # a state loaded in a block is not overwritten
        super()._load_from_state_dict(*args, **kwargs)

    def __getstate__(self):
        """A copy or a pickle holds every queued update and is outside
        any :func:`segments` block."""
        self._flush()
        state = self.__dict__.copy()
        for name in ('segments', '_pending', '_queued'):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        """A layer pickled before ``computation`` was a property holds
        ``computation`` or, older, ``per_group_calls`` (or neither: the
        default) in its state: read as the argument it was."""
        state = dict(state)
        if '_computation_name' not in state:
            state['_computation_name'] = _computation(
                state.pop('per_group_calls', None),
                state.pop('computation', None))
        super().__setstate__(state)

    def _factors(self, segs: int, when_applied: bool = False
                 ) -> Optional[tuple]:
        """The running-average factor of each of ``segs`` updates, as
        :class:`torch.nn.BatchNorm2d` takes it (momentum None: the
        cumulative average, 1 / updates so far; the updates are counted in
        ``num_batches_tracked`` when they are applied), read on the host.
        ``when_applied``: None for the cumulative average where the update
        computes them itself when it is applied, on the buffers' device
        (:func:`_cumulative_factors`: no read of the count on the host, a
        wait for the device on a GPU): buffers of float32 or float64, the
        precision ``lerp`` computes them in (lower-precision buffers: read
        here, as before)."""
        if self.momentum is not None:
            return (self.momentum,) * segs
        if when_applied and self.running_mean.dtype in (torch.float32,
                                                        torch.float64):
            return None
        done = int(self.num_batches_tracked)
        return tuple(1.0 / (done + 1 + s) for s in range(segs))

    def _one_call(self, x: torch.Tensor, groups: int,
                  segs: int) -> torch.Tensor:
        cl = (x.is_contiguous(memory_format=torch.channels_last)
              and not x.is_contiguous())

        def per_group(t):
            return None if t is None else t.repeat(groups)
        track = self.track_running_stats and self.running_mean is not None
        if track:
            # numbers: the batch-norm call takes the first (a host read of
            # the count for momentum None, as torch's BatchNorm makes)
            factors = self._factors(segs)
            # every group's slot starts from the running statistics and is
            # updated from that group's statistics; the first group's slot
            # of each segment gives the new running statistics
            mean, var = per_group(self.running_mean), per_group(
                self.running_var)
        else:
            mean = var = None
            factors = [0.0]
        y = F.batch_norm(_groups_to_channels(x, groups, cl), mean, var,
                         per_group(self.weight), per_group(self.bias), True,
                         factors[0], self.eps)
        if track:
            self._update(_RunningUpdate(self, mean, var, groups // segs, segs,
                                        factors))
        return _channels_to_groups(y, groups, cl)

    def _grouped_view(self, x: torch.Tensor, groups: int,
                      segs: int) -> torch.Tensor:
        y, mean, var = _GroupedBatchNorm.apply(x, self.weight, self.bias,
                                               groups, self.eps)
        if self.track_running_stats and self.running_mean is not None:
            count = x[:x.shape[0] // groups, 0].numel()
            # every group's statistics: the update (its ops for all queued
            # layers together) makes the variances unbiased and moves the
            # running statistics from each segment's first group
            self._update(_RunningUpdate(
                self, mean, var, groups // segs, segs,
                self._factors(segs, when_applied=True), count / (count - 1)))
        return y

    def _update(self, update: '_RunningUpdate') -> None:
        """Apply a running-statistics update now, or queue it for the
        :func:`segments` block this layer is in."""
        if self._pending is None:
            _update_running_stats([update])
        else:
            self._pending.append(update)
            self._queued = True

    def extra_repr(self) -> str:
        return (f'{super().extra_repr()}, group_size={self.group_size}'
                + ('' if self.computation == COMPUTATIONS[0] else
                   f', computation={self.computation!r}'))


def _autocast_off(t: torch.Tensor):
    """A context without autocast for ``t``'s device (none where the
    device has no autocast: the meta device)."""
    kind = t.device.type
    return torch.autocast(kind, enabled=False) \
        if torch.amp.is_autocast_available(kind) else nullcontext()


def _per_group(t: torch.Tensor) -> torch.Tensor:
    """A ``(groups, C)`` tensor shaped to broadcast over ``(groups, n, C,
    H, W)``."""
    return t[:, None, :, None, None]


def _centred(xg: torch.Tensor, mean: torch.Tensor,
             exact: bool = False) -> tuple:
    """``xg`` (``(groups, n, C, H, W)``) less ``low``, its ``(groups, C)``
    ``mean`` rounded to ``xg``'s dtype (one temporary in that dtype:
    exact where a value is within a factor 2 of ``low``, else rounded;
    ``exact``: in ``mean``'s dtype, exact, at one more small op), ``low``
    (in ``xg``'s dtype) and ``mean - low`` in ``mean``'s dtype: sums of
    the centred values in place of the raw ones keep the precision that
    |mean| / std would take from them."""
    low = mean.to(xg.dtype)
    low_acc = low.to(mean.dtype) if exact else low
    return torch.sub(xg, _per_group(low_acc)), low, mean - low_acc


def _low_precision_variance(xg: torch.Tensor, mean: torch.Tensor) -> tuple:
    """The biased variance of each (group, channel) of ``xg`` (``(groups,
    n, C, H, W)``, a dtype below float32) around its ``mean`` (``(groups,
    C)``, float32): ``var_mean`` (one pass, Welford's updates on a CUDA
    device) of ``x - low``, ``low`` the mean rounded to x's dtype
    (:func:`_centred`), an exact float32 temporary whose values are
    within a few standard deviations of 0 (the variance does not depend
    on the shift). Not around 0: the mean square less the square mean
    lost (|mean| / std)^2 float32 roundings (7% at 100, a negative
    variance at 300); not ``x - low`` in x's dtype: rounded for values
    more than a factor 2 from ``low``, it biased the bfloat16 running
    variance by 6.6e-4 (relative, against float64) at mean / std 0.5.
    (Before h323 the mean square of the temporary less ``(mean -
    low)^2``, clamped at 0: five ops more.) Returns the variance,
    ``low`` and ``mean - low`` (the backward's centring: not made again
    there)."""
    centred, low, rounding = _centred(xg, mean, exact=True)
    var = torch.var_mean(centred, (1, 3, 4), correction=0)[0]
    return var, low, rounding


def _multiply_add(shift: torch.Tensor, xg: torch.Tensor,
                  scale: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``shift + xg * scale`` (``xg``: ``x`` as ``(groups, n, C, H, W)``,
    ``shift`` and ``scale`` per (group, channel)) as a tensor shaped,
    typed and laid out as ``x`` (the backward's ``dx``): in ``x``'s dtype
    (float32 all three) one op, whose output follows ``xg``'s strides
    (torch's element-wise ops order an output's dimensions as their
    inputs'), so ``(N, C, H, W)`` is a view of it in ``x``'s memory
    format; else (a bfloat16 ``x``) written into ``empty_like(x)``
    (``out=``: the cast to x's dtype in the same kernel; a float32 result
    would be a float32 temporary and a cast)."""
    if shift.dtype == scale.dtype == x.dtype:  # (no promote_types: an op)
        return torch.addcmul(shift, xg, scale).flatten(0, 1)
    y = torch.empty_like(x)
    torch.addcmul(shift, xg, scale, out=y.unflatten(0, (xg.shape[0], -1)))
    return y


class _GroupedBatchNorm(torch.autograd.Function):
    """Batch norm of each of ``groups`` consecutive groups of a batch
    ``x`` (``N, C, H, W``), computed on the view ``(groups, N / groups, C,
    H, W)`` with a fixed number of ops (GhostBN's ``'grouped_view'``).

    ``apply(x, weight, bias, groups, eps)`` returns the output (``x``'s
    dtype and memory format) and the mean and biased variance of each
    (group, channel) (``(groups, C)``, float32 for an input of lower
    precision; not differentiable: autograd makes no zeros for their
    gradients, ``set_materialize_grads(False)``). The backward is batch
    norm's gradient per group in closed form, with ``m`` values per
    (group, channel),
    ``s = rstd * weight``, ``S1 = sum dy``, ``Sxh = sum dy * xhat =
    rstd sum dy (x - mean)``: ``dx = s dy + b x + c`` with ``b = -s rstd
    Sxh / m`` and ``c = -s S1 / m - mean b`` (computed as ``k rstd Sxh``
    and ``k (S1 - mean rstd Sxh)``, ``k = -s / m``); ``dweight = sum_g Sxh``,
    ``dbias = sum_g S1`` (not differentiable twice). Autocast is off
    inside: the dtypes are chosen here, and a torch whose autocast lists
    cast one of these ops' inputs would copy an activation (torch 2.14
    casts none of them: the traced copies of a CLP step, fake CUDA
    tensors under bf16 autocast, were none without it too)."""

    @staticmethod
    def forward(ctx, x, weight, bias, groups, eps):
        with _autocast_off(x):
            xg = x.unflatten(0, (groups, -1))
            count = xg[0, :, 0].numel()
            if count == 1:  # as batch norm refuses one value per channel
                raise ValueError('Expected more than 1 value per channel '
                                 'when training, got input size '
                                 f'{torch.Size([xg.shape[1], *x.shape[1:]])}')
            dims = (1, 3, 4)
            if x.dtype.itemsize >= 4:  # float32 (float64): one pass
                var, mean = torch.var_mean(xg, dims, correction=0)
                low = rounding = None  # the mean is its own rounding
            else:  # float32 sums of the low-precision values
                mean = torch.mean(xg, dims, dtype=torch.float32)
                var, low, rounding = _low_precision_variance(xg, mean)
            rstd = var.add(eps).rsqrt_()
            scale = rstd if weight is None else rstd * weight
            shift = torch.mul(mean, scale).neg_() if bias is None else \
                torch.addcmul(bias, mean, scale, value=-1)
            # into empty_like(x) (out=) in every dtype: the multiply-add's
            # own result, flattened, would be a view, which a Function's
            # output modified in place (ReLU) may not be
            y = torch.empty_like(x)
            torch.addcmul(_per_group(shift), xg, _per_group(scale),
                          out=y.unflatten(0, (groups, -1)))
        ctx.save_for_backward(x, mean, rstd, scale, low, rounding)
        ctx.groups, ctx.count = groups, count
        ctx.mark_non_differentiable(mean, var)
        # no zeros made for the statistics' gradients, which are never
        # read (two ops a layer call in the backward)
        ctx.set_materialize_grads(False)
        return y, mean, var

    @staticmethod
    @once_differentiable
    def backward(ctx, dy, _mean, _var):
        x, mean, rstd, scale, low, rounding = ctx.saved_tensors
        groups, count = ctx.groups, ctx.count
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        dx = dw = db = None
        if dy is None:  # the output's gradient undefined: its zeros, as
            # autograd materialised them (contiguous, the output's dtype)
            dy = torch.zeros(x.shape, dtype=x.dtype, device=x.device)
        with _autocast_off(dy):
            xg, dyg = (t.unflatten(0, (groups, -1)) for t in (x, dy))
            dims = (1, 3, 4)
            s1 = dyg.sum(dims, dtype=mean.dtype)
            # sum dy (x - mean) as sum dy (x - low) - (mean - low) S1, low
            # the mean in x's dtype (the forward's): x centred before the
            # products (which are in x's dtype: uncentred, a bfloat16
            # weight gradient lost about |mean| / std times more); a
            # float32 input is centred on its mean itself (no correction)
            centred = torch.sub(xg, _per_group(mean if low is None else low))
            sxh = centred.mul_(dyg).sum(dims, dtype=mean.dtype)
            del centred
            if rounding is not None:
                sxh.addcmul_(rounding, s1, value=-1)
            sxh.mul_(rstd)
            if need_w:
                dw = sxh.sum(0)
            if need_b:
                db = s1.sum(0)
            if need_x:
                # b = -s rstd Sxh / m, c = -s S1 / m - mean b, as
                # k (rstd Sxh) and k (S1 - mean rstd Sxh), k = -s / m
                k = torch.mul(scale, -1 / count)
                b = torch.mul(sxh, rstd)
                c = torch.addcmul(s1, mean, b, value=-1).mul_(k)
                b.mul_(k)
                dx = _multiply_add(_per_group(c), xg, _per_group(b), x)
                dx.unflatten(0, (groups, -1)).addcmul_(dyg,
                                                       _per_group(scale))
        return dx, dw, db, None, None


class _RunningUpdate(NamedTuple):
    """A GhostBN call's running-statistics update, not yet applied, of
    ``segs`` segments of ``step`` groups with their factors (numbers; the
    grouped view's cumulative average: None, computed when applied,
    :func:`_cumulative_factors`): the one
    call's slots that its batch-norm call updated (every group's, from
    the running statistics), or (``bessel``, the unbiased variance's
    factor ``m / (m - 1)``, given) the grouped view's mean and biased
    variance of every group (``(groups, C)``: dense, as a foreach op's
    one kernel for all the tensors on a GPU needs)."""
    layer: 'GhostBatchNorm2d'
    mean: torch.Tensor
    var: torch.Tensor
    step: int
    segs: int
    factors: Optional[tuple]
    bessel: Optional[float] = None


def _update_running_stats(updates: list) -> None:
    """Apply (and remove from ``updates``) GhostBN running-statistics
    updates: one update per segment, in order, from the first group of
    each, counted in ``num_batches_tracked``. Updates of the same kind
    (slots or statistics, segments, factors, device, dtypes) are applied
    together, a few ``torch._foreach_*`` ops for all their layers.

    Statistics (the grouped view): the variances times their ``bessel``
    factor (one op), then per segment ``r = lerp(r, stat, f)``, batch
    norm's ``(1 - f) r + f stat`` (one op); the cumulative average's
    factors (momentum None) from the counts, on their device, before
    they move (:func:`_cumulative_factors`, 6 ops).

    Slots (the one call): the batch-norm call updated every slot ``(1 -
    f0) * r + f0 * stat`` from the same running statistics ``r``: segment
    0's first slot is its update; ``f * stat`` of a later segment's first
    group is its slot less ``(1 - f0) * r``, scaled by ``f / f0``, added
    to ``(1 - f)`` times the previous segment's result (``f0 = 0``: the
    statistics never move)."""
    kinds: dict = {}
    for u in updates:
        kinds.setdefault((u.bessel is None, u.segs, u.factors, u.mean.device,
                          u.mean.dtype, u.layer.running_mean.dtype),
                         []).append(u)
        u.layer._queued = False
    updates.clear()
    for (slots, segs, factors, _, _, _), us in kinds.items():
        if factors is None:  # the cumulative average's, on the device
            factors = _cumulative_factors(us, segs)
        torch._foreach_add_([u.layer.num_batches_tracked for u in us], segs)
        # the buffers move through ``.data``, as batch norm's own update
        # moves them: without a new autograd version, so a call earlier in
        # the graph that saved them for its backward (which does not read
        # them in training) still has a backward
        old = [t.data for u in us for t in (u.layer.running_mean,
                                            u.layer.running_var)]
        if slots:
            _apply_slots(us, old, segs, factors)
        else:
            _apply_statistics(us, old, segs, factors)


def _cumulative_factors(us: list, segs: int) -> list:
    """The cumulative average's factors (momentum None) of the updates
    ``us`` of ``segs`` segments, without a read on the host: per segment
    ``s``, for each layer's running mean and variance, ``1 / (n + 1 + s)``
    with ``n`` the layer's ``num_batches_tracked`` before the update,
    computed in float64 on its device and rounded to the buffers' dtype
    (float32 or float64: the number :meth:`GhostBatchNorm2d._factors`
    reads, as ``lerp`` takes it), a tensor of the buffer's shape: dense
    rows of one tensor, as a foreach ``lerp_``'s one kernel for all the
    layers on a GPU needs. Six ops for all the layers (stack, arange,
    add, reciprocal, the cast to float32, cat), none a layer."""
    counts = torch.stack([u.layer.num_batches_tracked for u in us])
    dtype = us[0].layer.running_mean.dtype
    parts = torch.arange(1, segs + 1, dtype=torch.float64,
                         device=counts.device)
    f = torch.add(counts[:, None], parts).reciprocal_().to(dtype)
    sizes = [u.layer.running_mean.numel() for u in us]
    rows = torch.cat([f[i, :, None].expand(segs, n)
                      for i, n in enumerate(sizes)], 1)
    return [[w for w in row.split(sizes) for _ in range(2)]
            for row in rows]


def _apply_statistics(us: list, old: list, segs: int, factors):
    """The grouped view's updates ``us`` of the buffers ``old`` (each
    layer's running mean and variance): :func:`_update_running_stats`
    (``factors``: per segment, a number for every buffer, or a tensor a
    buffer, :func:`_cumulative_factors`)."""
    unbiased = torch._foreach_mul([u.var for u in us],
                                  [u.bessel for u in us])
    means = [u.mean for u in us]
    if old[0].dtype != means[0].dtype:  # buffers of a lower precision
        means, unbiased = ([t.to(old[0].dtype) for t in ts]
                           for ts in (means, unbiased))
    for s in range(segs):  # each segment's first group: rows, dense
        torch._foreach_lerp_(old, [t[s * u.step] for u, *pair in zip(
            us, means, unbiased) for t in pair], factors[s])


def _apply_slots(us: list, old: list, segs: int, factors: tuple):
    """The one call's updates ``us`` of the buffers ``old`` (each layer's
    running mean and variance): :func:`_update_running_stats`."""
    c = [u.layer.num_features for u in us]
    new = [t[:n] for u, n in zip(us, c) for t in (u.mean, u.var)]
    f0 = factors[0]
    for s in range(1, segs if f0 != 0 else 1):
        f = factors[s]
        slots = [t[s * u.step * n:(s * u.step + 1) * n]
                 for u, n in zip(us, c) for t in (u.mean, u.var)]
        part = torch._foreach_sub(slots, old, alpha=1 - f0)  # f0 * stat
        if f != f0:
            torch._foreach_mul_(part, f / f0)
        torch._foreach_add_(part, new, alpha=1 - f)
        new = part
    torch._foreach_copy_(old, new)
