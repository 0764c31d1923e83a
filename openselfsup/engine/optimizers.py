"""LARS as the ICLR-22 code (OpenSelfSup v0.3) computes it.

Both this project's dependency (mmpretrain's ``LARS``) and the published
code scale each parameter's step by a local learning rate
``eta * ||w|| / (||g|| + weight_decay * ||w||)``. They differ where
``||w|| = 0``, which is the state of every BatchNorm shift (bias) at
initialisation:

- published: the local learning rate is ``0`` (no guard), so a parameter
  that starts at zero receives a zero step and stays at zero for the whole
  run; when the CLP recipe applies LARS to every parameter, all BatchNorm
  shifts of the backbone, projector and predictor stay at 0;
- mmpretrain: the local learning rate is ``1`` when either norm is 0, so
  such a parameter first moves by ``lr * g`` and then trains.

:class:`OpenSelfSupLARS` is mmpretrain's optimizer with the published rule
(and no ``eps`` in the denominator). Parameters whose gradient norm is also
0 get no step (the published code would divide zero by zero there).
"""
import torch
from mmpretrain.engine.optimizers import LARS

from ..registry import OPTIMIZERS


@OPTIMIZERS.register_module()
class OpenSelfSupLARS(LARS):
    """LARS with the published local learning rate (0 for a zero-norm
    parameter).

    Arguments are those of :class:`mmpretrain.engine.optimizers.LARS`
    (``lr``, ``momentum``, ``weight_decay``, ``dampening``, ``eta`` = 0.001,
    ``nesterov``); ``eps`` is ignored. A param group with
    ``lars_exclude=True`` gets local learning rate 1, as in both codes.

    The step is the published one, computed with ``torch._foreach`` ops on
    all parameters of a group at once and without reading norms back to the
    host (the published loop synchronises with the GPU twice per tensor).
    """

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group['params'] if p.grad is not None]
            if params:
                self._group_step(group, params)
        return loss

    def _group_step(self, group: dict, params: list) -> None:
        weight_decay = group['weight_decay']
        momentum = group['momentum']
        grads = [p.grad for p in params]
        if group.get('lars_exclude', False):
            scale = torch.full((len(params), ), float(group['lr']),
                               dtype=params[0].dtype, device=params[0].device)
        else:
            w_norm = torch.stack(torch._foreach_norm(params))
            denom = torch.stack(torch._foreach_norm(grads)) \
                + weight_decay * w_norm
            tiny = torch.finfo(denom.dtype).tiny
            local = torch.where(denom > 0,
                                group['eta'] * w_norm / denom.clamp_min(tiny),
                                torch.zeros_like(denom))
            scale = local * group['lr']
        d_p = torch._foreach_add(grads, params, alpha=weight_decay)
        torch._foreach_mul_(d_p, list(scale.to(d_p[0].dtype).unbind()))
        if momentum != 0:
            bufs, steps = [], []
            for p, d in zip(params, d_p):
                state = self.state[p]
                if 'momentum_buffer' not in state:
                    state['momentum_buffer'] = d.clone()
                else:
                    bufs.append(state['momentum_buffer'])
                    steps.append(d)
            if bufs:
                torch._foreach_mul_(bufs, momentum)
                torch._foreach_add_(bufs, steps, alpha=1 - group['dampening'])
            all_bufs = [self.state[p]['momentum_buffer'] for p in params]
            if group['nesterov']:
                torch._foreach_add_(d_p, all_bufs, alpha=momentum)
            else:
                d_p = all_bufs
        torch._foreach_sub_(params, d_p)
