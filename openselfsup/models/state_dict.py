"""Does a state dict fit a model? One line that says how it does not.

``nn.Module.load_state_dict`` reports a checkpoint of another architecture as
one ``RuntimeError`` with a line per mismatched tensor (a hundred lines for a
ResNet-50 checkpoint given to a ResNet-18). :func:`state_dict_mismatch`
compares names and shapes first and says it in one line;
:func:`load_state` is the one place that loads weights after that check.
"""
from typing import Callable, Dict, List, Optional, Tuple, Union

import torch

from ..utils import InputError


def _first(names: List[str], n: int = 3) -> str:
    more = f', ... ({len(names)} in all)' if len(names) > n else ''
    return ', '.join(names[:n]) + more


def _compare(own: Dict[str, torch.Tensor], state: Dict[str, torch.Tensor]
             ) -> Tuple[List[str], List[str], Dict[str, str]]:
    """``(missing, unexpected, shapes)``: the names of ``own`` (a model's
    state dict) absent from ``state``, those of ``state`` absent from
    ``own``, and for each name in both whose shapes differ, in ``own``'s
    order, ``'name: [file shape] in the file, [model shape] in the
    model'`` by name."""
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = {k: f'{k}: {list(state[k].shape)} in the file, '
                 f'{list(own[k].shape)} in the model'
              for k in own if k in state and hasattr(state[k], 'shape')
              and tuple(state[k].shape) != tuple(own[k].shape)}
    return missing, unexpected, shapes


def _counted(names: List[str]) -> List[str]:
    """``names`` but BatchNorm's ``num_batches_tracked`` (MMEngine's load
    ignores it)."""
    return [k for k in names if not k.endswith('num_batches_tracked')]


def _loose_compare(own: Dict[str, torch.Tensor],
                   state: Dict[str, torch.Tensor]
                   ) -> Tuple[List[str], List[str], Dict[str, str]]:
    """:func:`_compare` as MMEngine's loose load (``strict=False``) takes
    it: the missing and unexpected names without ``num_batches_tracked``."""
    missing, unexpected, shapes = _compare(own, state)
    return _counted(missing), _counted(unexpected), shapes


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
    missing, unexpected, shapes = _compare(model.state_dict(), state)
    parts = []
    if missing and not allow_missing:
        parts.append(f'{len(missing)} missing ({_first(missing)})')
    if unexpected and not allow_unexpected:
        parts.append(f'{len(unexpected)} unexpected '
                     f'({_first(unexpected)})')
    if shapes:
        parts.append(f'{len(shapes)} with another shape '
                     f'({next(iter(shapes.values()))})')
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


def _parts(names: List[str]) -> str:
    """``'neck 15, head 20'``: how many of ``names`` each top-level part of
    the model (the first dotted name) holds, in order of appearance."""
    counts: Dict[str, int] = {}
    for k in names:
        part = k.split('.', 1)[0]
        counts[part] = counts.get(part, 0) + 1
    return ', '.join(f'{p} {n}' for p, n in counts.items())


def load_from_fit(model: torch.nn.Module, state: Dict[str, torch.Tensor]
                  ) -> Tuple[Optional[str], Optional[str]]:
    """How a new run's ``load_from`` state dict fits ``model``, as
    MMEngine's loose load (``strict=False``) takes it: every tensor whose
    name and shape agree is copied, the others are skipped, said only in
    lines printed to the console (not the run's log). BatchNorm's
    ``num_batches_tracked`` is not counted (MMEngine ignores it too).

    Args:
        model (nn.Module): the model to load into.
        state (dict): tensor name -> tensor, as MMEngine loads it (its
            ``module.`` prefix stripped).

    Returns:
        tuple: ``(refusal, summary)``. ``refusal``, a backbone tensor of
        another shape (another width) or none of the model's backbone
        tensors (of the whole model where it has no ``backbone``, whose
        every tensor then counts as the backbone's) in the file (another
        method's model, a bare backbone's names without ``backbone.``):
        what would have trained from random weights; else None.
        ``summary``, where the load is partial (a pre-trained backbone
        under a new head, a head of another number of classes): ``N of M
        tensors of the model loaded``, the parts that keep their initial
        weights (absent from the file, or of another shape there, named
        with both shapes), the file's unused tensors; the tensors of an
        averaged copy (MoCo's momentum encoder, an
        :class:`~mmengine.model.BaseAveragedModel` whose step count is not
        in the file) absent from the file are said apart: its first update
        copies the model's, loaded, weights. None where every name and
        shape agrees.
    """
    from mmengine.model import BaseAveragedModel

    own = model.state_dict()
    missing, unexpected, shapes = _loose_compare(own, state)
    own_names = _counted(list(own))
    loaded = set(own_names) - set(missing) - set(shapes)
    backbone = [k for k in own_names if k.startswith('backbone.')]
    where = 'of its backbone ' if backbone else ''
    backbone = backbone or own_names
    unused = (f'{len(unexpected)} of the file\'s tensors unused '
              f'({_first(unexpected)})') if unexpected else ''
    inner = [s for k, s in shapes.items() if k in backbone]
    if inner:
        return (f'{len(inner)} tensor(s) {where}of another shape than the '
                f'model\'s ({inner[0]}): a checkpoint of another width, '
                'whose tensors MMEngine\'s load would skip', None)
    if not loaded.intersection(backbone):
        bare = [k for k in unexpected if f'backbone.{k}' in own]
        if bare:
            return (f'none of the {len(backbone)} tensors {where}is in the '
                    'file, whose names are the backbone\'s without '
                    f'\'backbone.\' ({_first(bare, 2)}): a backbone\'s '
                    'weights alone (extract_backbone_weights.py\'s, '
                    'torchvision\'s): give it in a config as the '
                    'backbone\'s init_cfg=dict(_delete_=True, '
                    'type=\'Pretrained\', checkpoint=FILE)',
                    None)
        return (f'none of the {len(backbone)} tensors {where}is in the file '
                f'(the model\'s: {_first(backbone, 2)}; the file\'s: '
                f'{_first(unexpected, 2) or "none"}): another model\'s '
                'checkpoint, which would leave the run to train from its '
                'initial weights', None)
    if not missing and not unexpected and not shapes:
        return None, None
    # an averaged copy whose step count the file does not set copies the
    # model's weights at its first update (BaseAveragedModel, steps 0)
    copies = [n + '.' for n, m in model.named_modules()
              if n and isinstance(m, BaseAveragedModel)
              and f'{n}.steps' in missing]
    copied = [k for k in missing if k.startswith(tuple(copies))]
    missing = [k for k in missing if k not in set(copied)]
    parts = []
    if missing:
        parts.append(f'{len(missing)} not in the file keep their initial '
                     f'weights ({_parts(missing)}: {_first(missing)})')
    if shapes:
        parts.append(f'{len(shapes)} of another shape in the file keep '
                     f'their initial weights ({_parts(list(shapes))}: '
                     f'{next(iter(shapes.values()))})')
    if copied:
        names = ', '.join(c[:-1] for c in copies)
        parts.append(f'{len(copied)} of {names}, not in the file, copy the '
                     'loaded weights at its first update')
    if unused:
        parts.append(unused)
    return None, (f'{len(loaded)} of the {len(own_names)} tensors of the '
                  'model loaded; ' + '; '.join(parts))


def held_under(model: torch.nn.Module, state: Dict[str, torch.Tensor]
               ) -> Optional[Tuple[str, str]]:
    """Where ``state`` holds ``model``'s tensors under a prefix (a
    training checkpoint's ``backbone.conv1.weight`` for a backbone's
    ``conv1.weight``) and none under their own names: ``(prefix, the
    first names)``, the prefix holding the most of them with their
    shapes; else None.
    """
    weights = model.state_dict()
    own = {k: weights[k] for k in _counted(list(weights))}
    if any(k in state for k in own):
        return None
    counts: Dict[str, int] = {}
    for k, v in state.items():
        k = str(k)
        for at in (i for i, c in enumerate(k) if c == '.'):
            if k[at + 1:] in own and tuple(getattr(v, 'shape', ())) == \
                    tuple(own[k[at + 1:]].shape):
                prefix = k[:at + 1]
                counts[prefix] = counts.get(prefix, 0) + 1
    if not counts:
        return None
    return max(counts, key=counts.get), _first(list(own), 2)


def resume_fit(model: torch.nn.Module, state: Dict[str, torch.Tensor]
               ) -> Tuple[Optional[str], Optional[str]]:
    """How a resumed checkpoint's state dict fits ``model``, as MMEngine's
    resume loads it (``strict=False``, as :func:`load_from_fit`): a resume
    restores the whole model, so every tensor of it must be in the file
    with its shape, an averaged copy's (MoCo's momentum encoder) too.
    BatchNorm's ``num_batches_tracked`` is not counted.

    Args:
        model (nn.Module): the model the run resumes.
        state (dict): tensor name -> tensor, ``module.`` prefix stripped.

    Returns:
        tuple: ``(refusal, unused)``. ``refusal``: ``N of the model's
        tensors not in the file (...)`` and/or ``N of another shape
        (name: [file shape] in the file, [model shape] in the model)``, the
        tensors the resume would leave at their initial weights; else
        None. ``unused``: ``N of the file's tensors unused, not in this
        code's model (...)``, or None.
    """
    missing, unexpected, shapes = _loose_compare(model.state_dict(), state)
    parts = []
    if missing:
        parts.append(f'{len(missing)} of the model\'s tensors not in the '
                     f'file ({_first(missing)})')
    if shapes:
        parts.append(f'{len(shapes)} of another shape '
                     f'({next(iter(shapes.values()))})')
    unused = (f'{len(unexpected)} of the file\'s tensors unused, not in '
              f'this code\'s model ({_first(unexpected)})'
              if unexpected else None)
    return ('; '.join(parts) or None), unused


def restart_averaged_steps(model: torch.nn.Module,
                           state: Dict[str, torch.Tensor]) -> List[str]:
    """Set, in ``state`` (a checkpoint's state dict that a *new* run loads:
    ``load_from``), the step count of each averaged copy of ``model``
    (an :class:`~mmengine.model.BaseAveragedModel`: MoCo's momentum encoder)
    above 1 to 1.

    The count is the averaged copy's schedule: mmpretrain's ``CosineEMA``
    (and :class:`~openselfsup.models.algorithms.mocov3.HostStepCosineEMA`)
    takes its momentum from ``pi * steps / max_iters``, and step 0 copies
    the model into it. Loaded as saved, a new run from a trained checkpoint
    went on from the file's count against its own ``max_iters``: from the
    end of a finished run (``steps = max_iters``, momentum weight 0: the key
    encoder frozen) past ``pi``, the cosine back up (the published run's
    hook counts the momentum from the new run's iteration 0). At 1 the
    loaded weights stand for the first update's copy, and the schedule
    counts from the new run's start, as the rest of a new run's schedule.

    Args:
        model (nn.Module): the model (unwrapped) the state is loaded into.
        state (dict): tensor name -> tensor (names with or without the
            ``module.`` prefix); changed in place.

    Returns:
        list[str]: ``'<name>: <count>'`` of each count set back (empty where
        none was above 1, or the file holds none).
    """
    from mmengine.model import BaseAveragedModel
    said = []
    for name, module in model.named_modules():
        if not (name and isinstance(module, BaseAveragedModel)):
            continue
        for key in (f'{name}.steps', f'module.{name}.steps'):
            steps = state.get(key)
            if isinstance(steps, torch.Tensor) and steps.numel() == 1 \
                    and int(steps) > 1:
                said.append(f'{name}: {int(steps)}')
                state[key] = torch.ones_like(steps)
    return said
