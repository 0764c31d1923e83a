"""``compile_encoders``: the forward of a model's encoders through
``torch.compile`` (opt-in; docs/pretraining.md).

MMEngine's ``compile`` key compiles the whole ``model.train_step``: the
data preprocessor, the loss, the backward and the optimiser step, which
for the CLP recipe breaks into many graphs (the backward, the LARS and
momentum-update reads of the host, MMEngine's optimiser wrapper) and is
compiled again at each of the first steps (guards on step counters). The
encoders' forward is where the host issues most of a step's ops (a
ResNet-18 with GhostBN's per-group calls: hundreds of small kernels),
and it compiles to one graph per encoder and grad mode.
"""
import inspect
from typing import Dict, List

from torch import nn

from ..utils import InputError

#: the parts of a model whose forward ``compile_encoders`` compiles, by
#: their names in ``model.named_modules()``: the backbone and the neck,
#: and MoCo v3's momentum-encoder copies of them (its
#: ``momentum_encoder.module`` is ``Sequential(backbone, neck)``)
ENCODER_PARTS = ('backbone', 'neck', 'momentum_encoder.module.0',
                 'momentum_encoder.module.1')


def encoder_modules(model: nn.Module) -> Dict[str, nn.Module]:
    """The model's :data:`ENCODER_PARTS` that it has, by name."""
    found = dict(model.named_modules())
    return {name: found[name] for name in ENCODER_PARTS if name in found}


def compile_options(options) -> dict:
    """``torch.compile``'s keyword arguments for a ``compile_encoders``
    value: True -> ``{}`` (torch's defaults), a dict -> itself.

    Raises:
        InputError: a key ``torch.compile`` does not take (or ``model``),
            at the start of the run rather than at its first step.
    """
    import torch
    if options is True:
        return {}
    taken = set(inspect.signature(torch.compile).parameters) - {'model'}
    unknown = sorted(set(options) - taken)
    if unknown:
        raise InputError(f'compile_encoders={dict(options)!r}: '
                         f'{", ".join(map(repr, unknown))} is not an '
                         'argument of torch.compile (it takes '
                         f'{", ".join(sorted(taken))})')
    return dict(options)


def compile_encoders(model: nn.Module, options) -> List[str]:
    """Compile the forward of each of the model's encoder parts
    (:func:`encoder_modules`) in place with ``nn.Module.compile``
    (``options``: :func:`compile_options`): parameter and state-dict keys
    unchanged (no ``_orig_mod.`` wrapper), compiled at the first call.
    Returns the names compiled."""
    kwargs = compile_options(options)
    parts = encoder_modules(model)
    for module in parts.values():
        module.compile(**kwargs)
    return list(parts)
