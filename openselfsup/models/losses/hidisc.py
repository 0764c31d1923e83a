"""HiDisc loss: SupCon at the patient, slide and patch levels of a batch.

A batch holds ``B`` patients x ``S`` slides x ``P`` patches x ``V`` views, in
that order (row ``((b * S + s) * P + p) * V + v``). At each level the
positives of a view are all other views that share the level's id:

=========  ===================  ==================
level      id of a view         positives per view
=========  ===================  ==================
patient    ``b``                ``S * P * V - 1``
slide      ``b * S + s``        ``P * V - 1``
patch      ``(b * S + s) * P + p``  ``V - 1``
=========  ===================  ==================

and every other view in the (all-gathered) batch is a negative. Ids are the
positions in the batch, as in HiDisc: a slide drawn twice for a patient with
too few slides counts as two slides.
"""
from typing import Dict, Optional, Sequence, Tuple

import torch
from torch import nn

from ...registry import MODELS
from ...utils import InputError
from .supcon import SupConLoss

LEVELS = ('patient', 'slide', 'patch')


def unknown_levels(what: str, key: str, unknown) -> str:
    """The one line refusing config keys ``unknown`` under ``key`` that
    are no level (``heads.organ``, ``loss.weights.organ``), naming them and
    the levels there are."""
    names = ' / '.join(f'{key}.{k}' for k in sorted(map(str, unknown)))
    return (f'{what}: unknown level(s) {names}; the levels are '
            + ' / '.join(f'{key}.{lv}' for lv in LEVELS))


def hierarchy_ids(shape: Sequence[int], device=None) -> Dict[str, torch.Tensor]:
    """Patient, slide and patch ids of every view of a ``(B, S, P, V)`` batch.

    Args:
        shape: ``(B, S, P, V)``.
        device: torch device of the result.

    Returns:
        dict[str, Tensor]: ``{'patient', 'slide', 'patch'}`` -> ``[B*S*P*V]``
        int64 ids.
    """
    b, s, p, v = (int(x) for x in shape)
    idx = torch.arange(b * s * p * v, device=device)
    return dict(patient=idx // (s * p * v), slide=idx // (p * v),
                patch=idx // v)


def positives_per_view(shape: Sequence[int]) -> Dict[str, int]:
    """Positives of each view per level in a ``(B, S, P, V)`` batch:
    ``S*P*V - 1``, ``P*V - 1``, ``V - 1``."""
    _, s, p, v = (int(x) for x in shape)
    return dict(patient=s * p * v - 1, slide=p * v - 1, patch=v - 1)


@MODELS.register_module()
class HiDiscLoss(nn.Module):
    """Weighted sum of per-level multi-positive SupCon losses.

    Args:
        temperature (float): SupCon temperature. Defaults to 0.07.
        weights (dict[str, float]): weight per level (``patient``, ``slide``,
            ``patch``); a level with weight 0 is skipped. Defaults to 1 each.
        gather (bool): all-gather across GPUs. Defaults to True.
    """

    def __init__(self, temperature: float = 0.07,
                 weights: Optional[Dict[str, float]] = None,
                 gather: bool = True):
        super().__init__()
        weights = (dict(patient=1.0, slide=1.0, patch=1.0)
                   if weights is None else dict(weights))
        unknown = set(weights) - set(LEVELS)
        if unknown:
            raise InputError(unknown_levels('HiDiscLoss weights',
                                            'loss.weights', unknown))
        self.weights = weights
        self.supcon = SupConLoss(temperature, gather=gather)

    def forward(self, embeddings: Dict[str, torch.Tensor],
                shape: Tuple[int, int, int, int]) -> Dict[str, torch.Tensor]:
        """Per-level losses.

        Args:
            embeddings (dict[str, Tensor]): level -> ``[B*S*P*V, D]``
                embeddings in batch order (the same tensor may serve every
                level, as in HiDisc).
            shape: ``(B, S, P, V)``.

        Returns:
            dict[str, Tensor]: ``loss_<level>`` = weight * SupCon, for each
            level with a non-zero weight.
        """
        ids = None
        out = {}
        n_pos = positives_per_view(shape)
        for level in LEVELS:
            w = self.weights.get(level, 0.0)
            if not w:
                continue
            if n_pos[level] < 1:
                # SupCon leaves anchors without positives out: the level's
                # loss was 0 and it trained nothing (published: NaN)
                s, p, v = shape[1:]
                raise InputError(
                    f'HiDiscLoss: the {level} level has no positive pairs '
                    f'with S x P x V = {s}x{p}x{v} (slides x patches x '
                    f'views per patient); raise num_slides / num_patches / '
                    f'MultiView num_views, or set loss.weights.{level}=0')
            feats = embeddings[level]
            if ids is None:
                ids = hierarchy_ids(shape, feats.device)
            out[f'loss_{level}'] = w * self.supcon(feats, ids[level])
        return out
