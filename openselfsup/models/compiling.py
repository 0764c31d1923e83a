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

from ..utils import InputError, first_line
from ..utils.errors import SETTING_ERRORS

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


def compile_modes() -> List[str]:
    """The modes ``torch.compile`` takes (``mode=``), as this torch lists
    them (``torch._inductor.list_mode_options``: ``'default'``,
    ``'reduce-overhead'``, ``'max-autotune-no-cudagraphs'``, ...)."""
    from torch._inductor import list_mode_options
    return list(list_mode_options())


def _shown(options) -> str:
    """A ``compile_encoders`` value as a refusal quotes it."""
    return repr(dict(options) if isinstance(options, dict) else options)


def _clipped(text: str, limit: int = 200) -> str:
    """``text`` cut at ``limit`` characters (inductor's refusal of an
    ``options`` key lists its hundreds of settings in one line)."""
    return text if len(text) <= limit else text[:limit - 4] + ' ...'


def compile_options(options) -> dict:
    """``torch.compile``'s keyword arguments for a ``compile_encoders``
    value: True -> ``{}`` (torch's defaults), a string -> ``{'mode':
    it}`` (``--cfg-options compile_encoders=max-autotune-no-cudagraphs``),
    a dict -> itself.

    Raises:
        InputError: a key ``torch.compile`` does not take (or ``model``),
            or a ``mode`` not among :func:`compile_modes`, at the start of
            the run rather than at its first step.
    """
    import torch
    if options is True:
        return {}
    if isinstance(options, str):
        kwargs = {'mode': options}
    else:
        kwargs = dict(options)
    taken = set(inspect.signature(torch.compile).parameters) - {'model'}
    unknown = sorted(set(kwargs) - taken)
    if unknown:
        raise InputError(f'compile_encoders={_shown(options)}: '
                         f'{", ".join(map(repr, unknown))} is not an '
                         'argument of torch.compile (it takes '
                         f'{", ".join(sorted(taken))})')
    modes = compile_modes()
    if kwargs.get('mode') is not None and kwargs['mode'] not in modes:
        # torch.compile refuses it (inductor's) in a RuntimeError
        # traceback, or takes it without a word with another backend
        dict_form = ('; a dict of torch.compile arguments goes in the '
                     'config file: compile_encoders = dict(_delete_=True, '
                     "mode='max-autotune-no-cudagraphs')"
                     if isinstance(options, str) else '')
        raise InputError(f'compile_encoders={_shown(options)}: '
                         f'{kwargs["mode"]!r} is not a torch.compile mode '
                         f'(choose {", ".join(modes)}){dict_form}')
    return kwargs


def compile_encoders(model: nn.Module, options) -> List[str]:
    """Compile the forward of each of the model's encoder parts
    (:func:`encoder_modules`) in place with ``nn.Module.compile``
    (``options``: :func:`compile_options`): parameter and state-dict keys
    unchanged (no ``_orig_mod.`` wrapper), compiled at the first call.
    Returns the names compiled.

    Raises:
        InputError: options :func:`compile_options` refuses, a value
            ``torch.compile`` refuses (``backend='nope'``,
            ``dynamic='x'``, an ``options`` key inductor does not have),
            or a model with none of :data:`ENCODER_PARTS` (nothing to
            compile), each in one line before the first step.
    """
    kwargs = compile_options(options)
    parts = encoder_modules(model)
    if not parts:
        raise InputError(f'compile_encoders={_shown(options)}: the model '
                         f'({type(model).__name__}) has none of the parts '
                         f'it compiles ({", ".join(ENCODER_PARTS)}); set '
                         'compile_encoders=False')
    for module in parts.values():
        try:
            module.compile(**kwargs)
        except SETTING_ERRORS + (RuntimeError, ) as exc:
            # torch.compile checks its arguments' values when called (the
            # forward is compiled at the first call, outside this block)
            raise InputError(f'compile_encoders={_shown(options)}: '
                             'torch.compile refuses it '
                             f'({_clipped(first_line(exc))})') from None
    return list(parts)

