"""HLSS and HiDisc: hierarchical (patient / slide / patch) self-supervision.

One algorithm class serves both methods; the heads decide which:

* HLSS: one :class:`~openselfsup.models.heads.TextInitHead` per level, its
  attribute layer initialised from text embeddings of that level's attribute
  descriptions, plus the (logged or trained) text-alignment KL;
* HiDisc: :class:`~openselfsup.models.heads.MLPHead` projections (one per
  level, or one shared head given as a single config).

A batch from :class:`~openselfsup.datasets.HierarchicalPatientDataset` holds
``S * P * V`` views per patient; the data samples carry ``hierarchy =
(S, P, V)``.
"""
from typing import Dict, List, Union

import torch
from mmpretrain.models.selfsup.base import BaseSelfSupervisor

from ...registry import MODELS
from ..losses.hidisc import LEVELS


@MODELS.register_module()
class HLSS(BaseSelfSupervisor):
    """Hierarchical contrastive learning with per-level heads.

    Args:
        backbone (dict): backbone config (e.g. mmpretrain ``ResNet``).
        neck (dict): pooling neck (``GlobalAveragePooling``); its output is
            the feature used by kNN evaluation.
        heads (dict): either ``{level: head_cfg}`` for the levels in
            ``patient``, ``slide``, ``patch`` (one head each, ``level`` is
            filled in), or one head config (with ``type``) shared by all.
        loss (dict): the hierarchical loss (``HiDiscLoss``).
        data_preprocessor (dict, optional): defaults to
            ``SelfSupDataPreprocessor``.
        init_cfg (dict, optional): MMEngine init config.
    """

    def __init__(self, backbone: dict, neck: dict, heads: dict, loss: dict,
                 data_preprocessor: Union[dict, None] = None,
                 init_cfg=None, **kwargs):
        super().__init__(backbone=backbone, neck=neck,
                         data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg, **kwargs)
        if 'type' in heads:
            shared = MODELS.build(dict(heads))
            self.level_heads = torch.nn.ModuleDict(
                {lv: shared for lv in LEVELS})
        else:
            unknown = set(heads) - set(LEVELS)
            if unknown:
                raise ValueError(f'HLSS heads: unknown levels '
                                 f'{sorted(unknown)}; use {LEVELS}')
            self.level_heads = torch.nn.ModuleDict({
                lv: MODELS.build(dict(cfg, level=lv))
                for lv, cfg in heads.items()})
        self.hier_loss = MODELS.build(loss)

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """Pooled backbone feature ``[N, C]`` (the kNN feature)."""
        x = self.neck(self.backbone(inputs))
        x = x[-1] if isinstance(x, (tuple, list)) else x
        return x.flatten(1)

    def loss(self, inputs: List[torch.Tensor],
             data_samples: list) -> Dict[str, torch.Tensor]:
        """Named losses of one batch.

        Args:
            inputs (list[Tensor]): ``S * P * V`` tensors ``[B, C, H, W]``,
                view ``j = (s * P + p) * V + v`` of every patient.
            data_samples (list[DataSample]): one per patient, with metainfo
                ``hierarchy = (S, P, V)``.

        Returns:
            dict[str, Tensor]: ``loss_<level>`` per level and the alignment
            terms of the heads (``loss_kl_<level>`` or ``kl_<level>``).
        """
        s, p, v = data_samples[0].metainfo['hierarchy']
        if len(inputs) != s * p * v:
            raise ValueError(f'HLSS: got {len(inputs)} views per patient, '
                             f'hierarchy says {s}x{p}x{v}')
        x = torch.stack(inputs, 1)  # [B, S*P*V, C, H, W]
        b = x.shape[0]
        feats = self.extract_feat(x.flatten(0, 1))
        embeddings, losses = {}, {}
        cache = {}
        for level, head in self.level_heads.items():
            if id(head) not in cache:
                cache[id(head)] = head(feats)
            emb, extras = cache[id(head)]
            embeddings[level] = emb
            losses.update(extras)
        losses.update(self.hier_loss(embeddings, (b, s, p, v)))
        return losses
