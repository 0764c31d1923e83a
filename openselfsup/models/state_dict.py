"""Does a state dict fit a model? One line that says how it does not.

``nn.Module.load_state_dict`` reports a checkpoint of another architecture as
one ``RuntimeError`` with a line per mismatched tensor (a hundred lines for a
ResNet-50 checkpoint given to a ResNet-18). :func:`state_dict_mismatch`
compares names and shapes first and says it in one line;
:func:`load_state` is the one place that loads weights after that check.
"""
from typing import Callable, Dict, List, Optional, Union

import torch

from ..utils import InputError


def _first(names: List[str], n: int = 3) -> str:
    more = f', ... ({len(names)} in all)' if len(names) > n else ''
    return ', '.join(names[:n]) + more


def state_dict_mismatch(model: torch.nn.Module,
                        state: Dict[str, torch.Tensor],
                        allow_missing: bool = False,
                        allow_unexpected: bool = False) -> Optional[str]:
    """How ``state`` does not fit ``model``, or None if it does.

    Args:
        model (nn.Module): the model to load into.
        state (dict): tensor name -> tensor (``module.`` prefixes removed).
        allow_missing (bool): model tensors absent from ``state`` are fine.
        allow_unexpected (bool): extra tensors in ``state`` are fine.

    Returns:
        str | None: e.g. ``"2 missing (head.fc.weight, head.fc.bias),
        1 with another shape (backbone.conv1.weight: [64, 3, 7, 7] in the
        file, [8, 3, 7, 7] in the model)"``; None when every name and shape
        agrees.
    """
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f'{k}: {list(state[k].shape)} in the file, '
              f'{list(own[k].shape)} in the model'
              for k in own if k in state and hasattr(state[k], 'shape')
              and tuple(state[k].shape) != tuple(own[k].shape)]
    parts = []
    if missing and not allow_missing:
        parts.append(f'{len(missing)} missing ({_first(missing)})')
    if unexpected and not allow_unexpected:
        parts.append(f'{len(unexpected)} unexpected '
                     f'({_first(unexpected)})')
    if shapes:
        parts.append(f'{len(shapes)} with another shape ({shapes[0]})')
    return '; '.join(parts) if parts else None


def load_state(module: torch.nn.Module, state: Dict[str, torch.Tensor],
               source: str, what: str,
               hint: Union[str, Callable[[], str], None] = None) -> None:
    """Load ``state`` into ``module``: every name present, every shape equal.

    Args:
        module (nn.Module): the model to load into.
        state (dict): tensor name -> tensor.
        source (str): where ``state`` came from (a file), for the message.
        what (str): what ``module`` is, e.g. ``'timm vit_small_patch16_224'``.
        hint (str | callable, optional): what to do about a mismatch,
            appended to the message (a callable is only called on one).

    Raises:
        InputError: ``"<source>: does not fit <what>: <mismatch>[; <hint>]"``
            (:func:`state_dict_mismatch`), before anything is copied.
    """
    problem = state_dict_mismatch(module, state)
    if problem:
        hint = hint() if callable(hint) else hint
        raise InputError(f'{source}: does not fit {what}: {problem}'
                         + (f'; {hint}' if hint else ''))
    module.load_state_dict(state, strict=True)
