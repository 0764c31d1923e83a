"""Feature widths along a built model's backbone -> neck -> head chain.

A width changed in one place of a config and not in the next
(``--cfg-options model.backbone.base_channels=16`` without
``model.neck.in_channels=128``, or ``model.backbone.depth=50`` on the
ResNet-18 recipes) was a ``mat1 and mat2 shapes cannot be multiplied``
traceback from the first training step. :func:`width_mismatch` finds it on
the built model and names the key to set.

Only the parts whose widths are known are read (mmpretrain's ``ResNet``
family, which says its last stage's width in ``feat_dim``, and an
earlier stage's in its last block's ``out_channels``; ``NonLinearNeck``,
``GlobalAveragePooling``, ``LinearClsHead``, the MoCo-v3 heads'
predictor, and the HLSS / HiDisc per-level ``MLPHead``); the chain is not
checked past a part it does not know, so a model of other parts is never
refused here.
"""
from typing import Optional

from ..utils import is_int


def _backbone_width(backbone) -> Optional[int]:
    """The width of the features the backbone hands on (its last stage's
    channels), or None when it does not say it."""
    from mmpretrain.models.backbones import ResNet

    # ResNet's feat_dim is its last stage's width; other backbones' is not
    # what they hand on (MobileNetV3's is its final conv layer's, given
    # also when out_indices picks an earlier layer)
    if not isinstance(backbone, ResNet):
        return None
    width = getattr(backbone, 'feat_dim', None)
    if not is_int(width):
        return None
    # the last output's (the necks and heads read the last one): an
    # earlier stage's (out_indices=(2,)) is its last block's out_channels
    # (a 'mat1 and mat2 shapes' traceback at the first step before)
    out, stages = (getattr(backbone, 'out_indices', None),
                   getattr(backbone, 'num_stages', None))
    if isinstance(out, (list, tuple)) and out and isinstance(stages, int):
        # the outputs come in stage order; a negative index is refused
        # (_negative_out_indices: it names no stage)
        last = max(out)
        if last != stages - 1:
            names = getattr(backbone, 'res_layers', None)
            try:
                width = getattr(backbone, names[last])[-1].out_channels
            except (TypeError, IndexError, AttributeError):
                return None
    return width if is_int(width) else None


def _negative_out_indices(backbone, prefix: str) -> Optional[str]:
    """A ResNet's ``out_indices`` holding a negative index, as one
    sentence: mmpretrain's ResNet hands on the stages whose number it
    lists (``i in out_indices``), so ``-1`` is none of them, not the last
    (``[-1]``: no output, ``IndexError: tuple index out of range`` at the
    first step; ``[0, -1]``: stage 0's alone, a 'mat1 and mat2 shapes'
    traceback)."""
    from mmpretrain.models.backbones import ResNet

    if not isinstance(backbone, ResNet):
        return None
    out, stages = backbone.out_indices, backbone.num_stages
    if not (isinstance(out, (list, tuple)) and isinstance(stages, int)):
        return None
    negative = [i for i in out if is_int(i) and i < 0]
    if not negative:
        return None
    beyond = [i for i in negative if i < -stages]
    said = (f'{prefix}.backbone.out_indices holds '
            f'{(beyond or negative)[0]}: '
            "mmpretrain's ResNet hands on the stages it lists by number, "
            f'0 to {stages - 1}, and a negative one is none of them (not '
            'counted from the end')
    if beyond:
        # no stage counted from the end either: nothing to suggest
        return (f'{said}, where it names no stage of {stages} either): '
                f'set {prefix}.backbone.out_indices to stage numbers from '
                f'0 to {stages - 1}')
    # the stages meant, each once, in the order the ResNet hands them on
    meant = ','.join(str(i) for i in sorted(
        {i % stages for i in out if is_int(i)}))
    return (f'{said}): set --cfg-options '
            f'{prefix}.backbone.out_indices=[{meant}]')


def width_mismatch(model, prefix: str = 'model') -> Optional[str]:
    """Where a built model's feature widths do not chain, as one sentence.

    Args:
        model (torch.nn.Module): a built algorithm with ``backbone`` and
            ``neck`` and/or ``head`` (a model wrapper's ``module``).
        prefix (str): the config key of ``model``.

    Returns:
        str | None: e.g. ``'model.backbone gives 128-d features but
        model.neck.in_channels is 512: set --cfg-options
        model.neck.in_channels=128'``, or a ResNet's negative
        ``out_indices`` (:func:`_negative_out_indices`); None when the
        widths chain or a part's widths are not known.
    """
    from mmpretrain.models.heads import LinearClsHead, MoCoV3Head
    from mmpretrain.models.necks import GlobalAveragePooling, NonLinearNeck

    negative = _negative_out_indices(getattr(model, 'backbone', None),
                                     prefix)
    if negative:
        return negative
    width = _backbone_width(getattr(model, 'backbone', None))
    if width is None:
        return None
    said = f'{prefix}.backbone gives {width}-d features'
    for name in ('neck', 'head', 'level_heads'):
        part = getattr(model, name, None)
        key = f'{prefix}.{name}'
        if part is None or isinstance(part, GlobalAveragePooling):
            continue  # the width passes unchanged
        if name == 'level_heads':
            return _level_heads_mismatch(part, width, said, prefix)
        if isinstance(part, MoCoV3Head):  # the predictor reads the neck's
            part, key = getattr(part, 'predictor', None), key + '.predictor'
        if isinstance(part, NonLinearNeck):
            last = getattr(part, (part.fc_names or ['fc0'])[-1])
            width_in, width_out = part.fc0.in_features, last.out_features
        elif isinstance(part, LinearClsHead):
            width_in, width_out = part.fc.in_features, None
        else:
            return None
        if width_in != width:
            return (f'{said} but {key}.in_channels is {width_in}: set '
                    f'--cfg-options {key}.in_channels={width}')
        if width_out is None:
            return None
        width, said = width_out, f'{key}.out_channels is {width_out}'
    return None


def _level_heads_mismatch(heads, width: int, said: str,
                          prefix: str) -> Optional[str]:
    """:func:`width_mismatch` of an HLSS / HiDisc model's ``level_heads``
    (``{level: head}``, one module for every level where the config gave
    one head, ``model.heads``, as HiDisc's): each ``MLPHead``'s input
    width (its first ``Linear``'s) against the ``width`` the backbone and
    neck hand on. A wider HiDisc backbone
    (``model.backbone.base_channels=16``) was a 'mat1 and mat2 shapes'
    traceback from ``MLPHead.forward`` at the first step. Other heads are
    not read."""
    from .heads import MLPHead
    items = list(heads.items())
    shared = len(items) > 1 and len({id(h) for _, h in items}) == 1
    for level, head in items[:1] if shared else items:
        if not isinstance(head, MLPHead):
            continue
        key = f'{prefix}.heads' if shared else f'{prefix}.heads.{level}'
        width_in = head.layers[0].in_features
        if width_in != width:
            return (f'{said} but {key}.in_channels is {width_in}: set '
                    f'--cfg-options {key}.in_channels={width}')
    return None
