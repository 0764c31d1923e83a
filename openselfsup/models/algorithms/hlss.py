"""HLSS and HiDisc: hierarchical (patient / slide / patch) self-supervision.

One algorithm class serves both methods; the parts in the config decide which:

* HLSS (Watawana et al. 2024, as published): the image tower of an open_clip
  CLIP ResNet-50 as the backbone (its normalised 1024-d embedding is the
  feature), one :class:`~openselfsup.models.heads.TextInitHead` per level
  (``Linear(1024, 128)`` whose rows start as the CLIP text embeddings of that
  level's 128 attributes), and the logged text-alignment term. The frozen
  CLIP text tower (``text_encoder``) is built once, embeds the attribute
  descriptions of every head, and is dropped: it is not part of the model or
  its checkpoints.
* HiDisc (Jiang et al. 2023, as published): a ResNet-50 trained from scratch,
  global average pooling, and one ``MLPHead`` ``Linear(2048, 128)`` shared by
  the three levels (given as a single head config).

A batch from :class:`~openselfsup.datasets.HierarchicalPatientDataset` holds
``S * P * V`` views per patient; the data samples carry ``hierarchy =
(S, P, V)``.
"""
from typing import Dict, List, Optional, Union

import torch
from mmpretrain.models.selfsup.base import BaseSelfSupervisor

from ...config import heads_needing_text
from ...registry import MODELS
from ...utils import InputError
from ..losses.hidisc import LEVELS, unknown_levels


@MODELS.register_module()
class HLSS(BaseSelfSupervisor):
    """Hierarchical contrastive learning with per-level heads.

    Args:
        backbone (dict): backbone config (``OpenCLIPImageTower`` or
            mmpretrain ``ResNet``).
        heads (dict): either ``{level: head_cfg}`` for the levels in
            ``patient``, ``slide``, ``patch`` (one head each, ``level`` is
            filled in; every level of non-zero loss weight needs one), or
            one head config (with ``type``) shared by all.
        loss (dict): the hierarchical loss (``HiDiscLoss``).
        neck (dict, optional): pooling neck for a backbone that returns
            feature maps (``GlobalAveragePooling`` after a ResNet); none for
            the CLIP image tower, which pools itself.
        text_encoder (dict, optional): frozen text encoder config
            (``OpenCLIPText``) that embeds the attributes of every
            ``TextInitHead`` without its own ``embeddings_file``; used while
            building, then released.
        data_preprocessor (dict, optional): defaults to
            ``SelfSupDataPreprocessor``.
        init_cfg (dict, optional): MMEngine init config.
    """

    #: the arguments it builds through a registry, in the run's scope, and
    #: the library whose registry each build is called on
    #: (``config.REGISTRY_BUILT``: what the scope check follows)
    #: (the backbone, neck and data preprocessor by mmpretrain's
    #: ``BaseSelfSupervisor``; the loss, heads and text encoder by this
    #: class, through the project's registry)
    REGISTRY_BUILT = {'backbone': 'mmpretrain', 'neck': 'mmpretrain',
                      'data_preprocessor': 'mmpretrain',
                      'loss': 'openselfsup', 'heads': 'openselfsup',
                      'text_encoder': 'openselfsup'}

    def __init__(self, backbone: dict, heads: dict, loss: dict,
                 neck: Optional[dict] = None,
                 text_encoder: Optional[dict] = None,
                 data_preprocessor: Union[dict, None] = None,
                 init_cfg=None, **kwargs):
        super().__init__(backbone=backbone, neck=neck,
                         data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg, **kwargs)
        hier_loss = MODELS.build(loss)
        shared = 'type' in heads
        if shared:  # one head for every level (HiDisc)
            cfgs = {'shared': dict(heads)}
        else:
            unknown = set(heads) - set(LEVELS)
            if unknown:
                raise InputError(unknown_levels('HLSS heads', 'heads',
                                                unknown))
            weights = getattr(hier_loss, 'weights', None)
            if isinstance(weights, dict):
                # the loss reads the embedding of every weighted level: a
                # KeyError at the first iteration without its head
                missing = [lv for lv in LEVELS
                           if weights.get(lv) and lv not in heads]
                if missing:
                    raise InputError(
                        f'HLSS heads: no head for level(s) '
                        f'{", ".join(missing)} of non-zero loss weight; add '
                        + ' / '.join(f'heads.{lv}' for lv in missing)
                        + ', or set '
                        + ' / '.join(f'loss.weights.{lv}=0'
                                     for lv in missing))
            cfgs = {lv: dict(cfg, level=lv) for lv, cfg in heads.items()}
        # the text encoder serves every TextInitHead, shared or per level
        encoder = None
        needs_text = heads_needing_text(cfgs)
        if needs_text and text_encoder is not None:
            from ..text_encoders import build_text_encoder
            encoder = build_text_encoder(dict(text_encoder))
        built = {}
        for k, cfg in cfgs.items():
            if k in needs_text and encoder is not None:
                cfg['encoder'] = encoder
            elif cfg.get('embeddings_file') and text_encoder is not None \
                    and cfg.get('encoder') is None:
                # not built: the file's record is checked against it
                cfg['encoder'] = dict(text_encoder)
            built[k] = MODELS.build(cfg)
        del encoder  # the text tower is not part of the model
        if shared:
            built = {lv: built['shared'] for lv in LEVELS}
        self.level_heads = torch.nn.ModuleDict(built)
        self.hier_loss = hier_loss

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """The backbone's (pooled) feature ``[N, C]`` (the kNN feature)."""
        x = self.backbone(inputs)
        if self.with_neck:
            x = self.neck(x)
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
            terms of the heads (``kl_<level>`` or ``loss_kl_<level>``).
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
