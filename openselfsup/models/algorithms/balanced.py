"""Balanced cross-modal tuning ("A Balancing Act", MIDL 2025).

A task-specific vision model (backbone + task head) is tuned toward a frozen
text encoder with::

    L = balance * L_contrastive + (1 - balance) * L_task

``balance`` (the paper's lambda) = 0 is plain task training, 1 is plain
contrastive alignment. Both unweighted terms are logged (``task``,
``contrastive``); only ``loss`` is optimised.
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import nn

from ...registry import MODELS
from ...utils import InputError
from ..text_encoders import build_text_encoder


def check_balance(value) -> float:
    """Return ``value`` as a float in [0, 1] or raise a one-line InputError."""
    try:
        lam = float(value)
    except (TypeError, ValueError):
        raise InputError(f'balance (lambda) must be a number in [0, 1], '
                         f'got {value!r}') from None
    if not 0.0 <= lam <= 1.0:
        raise InputError(f'balance (lambda) must be in [0, 1], got {lam}')
    return lam


@MODELS.register_module()
class BalancedCrossModal(BaseModel):
    """Vision model with a task head, aligned to a frozen text encoder.

    Args:
        backbone (dict): vision encoder config; returns a tuple whose last
            item is ``[B, C]`` (mmpretrain ViT with ``out_type='cls_token'``,
            or :class:`LocalGlobalSlideTransformer`).
        head (dict): task head config (:class:`LinearTaskHead`); its
            ``in_channels`` is ``C``.
        text_encoder (dict): frozen text encoder config (see
            :func:`build_text_encoder`).
        balance (float): lambda in [0, 1], the weight of the contrastive term.
        contrastive_loss (dict): ``CLIPInfoNCELoss`` or
            ``CrossModalTripletLoss`` config.
        neck (dict | None): optional neck between backbone and head.
        embed_dim (int | None): width of the shared space (default: the text
            encoder's). A linear projection is added on a side whose width
            differs; a side that already has it is used as is.
        caption_seed (int): seed of the generator that picks one caption per
            training sample when a sample has several.
        cache_text (bool): keep text embeddings of seen texts (the encoder is
            frozen, so they never change).
        data_preprocessor (dict | None): MMEngine data preprocessor config.
        init_cfg (dict | None): initialisation config.
    """

    def __init__(self, backbone: dict, head: dict, text_encoder: dict,
                 balance: float = 0.5,
                 contrastive_loss: dict = dict(type='CLIPInfoNCELoss'),
                 neck: Optional[dict] = None, embed_dim: Optional[int] = None,
                 caption_seed: int = 0, cache_text: bool = True,
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.balance = check_balance(balance)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck is not None else None
        self.head = MODELS.build(head)
        self.contrastive_loss = MODELS.build(contrastive_loss)
        # Held outside the module tree: never in the optimiser, never in a
        # checkpoint (it is rebuilt from the config), never trained.
        self.__dict__['text_encoder'] = build_text_encoder(text_encoder)
        width = self.head.in_channels
        tdim = self.text_encoder.dim
        self.embed_dim = int(embed_dim or tdim)
        self.vision_proj = (nn.Linear(width, self.embed_dim)
                            if width != self.embed_dim else nn.Identity())
        self.text_proj = (nn.Linear(tdim, self.embed_dim)
                          if tdim != self.embed_dim else nn.Identity())
        self.caption_generator = torch.Generator().manual_seed(
            int(caption_seed))
        self.cache_text = cache_text
        self._text_cache: Dict[str, torch.Tensor] = {}

    # ---- parts -------------------------------------------------------------
    def extract_feat(self, inputs) -> torch.Tensor:
        """Vision features ``[B, C]``."""
        x = self.backbone(inputs)
        if self.neck is not None:
            x = self.neck(x)
        return x[-1] if isinstance(x, (tuple, list)) else x

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        """Frozen text embeddings ``[N, text_dim]`` on the model's device."""
        device = self.vision_device
        enc = self.text_encoder
        if enc.device != device:
            enc.to(device)
        if not self.cache_text:
            return enc.encode(list(texts))
        missing = [t for t in dict.fromkeys(texts) if t not in self._text_cache]
        if missing:
            for t, e in zip(missing, enc.encode(missing).cpu()):
                self._text_cache[t] = e
        return torch.stack([self._text_cache[t] for t in texts]).to(device)

    @property
    def vision_device(self) -> torch.device:
        return next(self.head.parameters()).device

    def _targets(self, data_samples) -> torch.Tensor:
        return torch.stack([torch.as_tensor(ds.target) for ds in data_samples]
                           ).to(self.vision_device)

    def _pick_captions(self, data_samples) -> List[str]:
        out = []
        for ds in data_samples:
            caps = ds.captions
            k = int(torch.randint(len(caps), (1, ),
                                  generator=self.caption_generator))
            out.append(caps[k])
        return out

    # ---- MMEngine interface ------------------------------------------------
    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.head(self.extract_feat(inputs))
        raise RuntimeError(f'Invalid mode "{mode}".')

    def loss(self, inputs, data_samples) -> Dict[str, torch.Tensor]:
        """``loss`` = weighted sum; ``task`` and ``contrastive`` unweighted."""
        lam = self.balance
        feats = self.extract_feat(inputs)
        target = self._targets(data_samples)
        # a term with weight 0 is computed for the log only, outside the graph
        with torch.set_grad_enabled(torch.is_grad_enabled() and lam < 1):
            l_task = self.head.loss(self.head(feats), target)
        with torch.set_grad_enabled(torch.is_grad_enabled() and lam > 0):
            txt = self.text_proj(
                self.encode_text(self._pick_captions(data_samples)))
            l_con = self.contrastive_loss(self.vision_proj(feats), txt,
                                          target)
        if lam == 0:
            total = l_task
        elif lam == 1:
            total = l_con
        else:
            total = lam * l_con + (1 - lam) * l_task
        return dict(loss=total, task=l_task.detach(),
                    contrastive=l_con.detach())

    @torch.no_grad()
    def predict(self, inputs, data_samples):
        """Fill each data sample with ``pred_score``, ``img_emb`` (``[E]``,
        unit norm) and ``txt_emb`` (``[n_captions, E]``, unit norm)."""
        feats = self.extract_feat(inputs)
        scores = self.head.predict(self.head(feats))
        img = F.normalize(self.vision_proj(feats), dim=1)
        caps = [list(ds.captions) for ds in data_samples]
        flat = [c for cs in caps for c in cs]
        txt = F.normalize(self.text_proj(self.encode_text(flat)), dim=1)
        start = 0
        for i, ds in enumerate(data_samples):
            n = len(caps[i])
            ds.set_field(scores[i], 'pred_score')
            ds.set_field(img[i], 'img_emb')
            ds.set_field(txt[start:start + n], 'txt_emb')
            start += n
        return data_samples
