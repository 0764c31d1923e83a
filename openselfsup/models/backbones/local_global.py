"""Hierarchical local-global slide model on precomputed region features.

A slide is ``M`` regions of ``P`` (64) patch features of width ``D``:
``[M, P, D]``. A region transformer mixes the patches of each region and
summarises it by a class token (local); a slide transformer mixes the region
summaries (global); gated attention pooling (Ilse et al., 2018) weights the
regions into one slide vector. The regression (or classification) head is the
algorithm's task head.
"""
from typing import List, Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from ...registry import MODELS


class GatedAttentionPool(nn.Module):
    """Gated attention pooling: ``a = softmax(w . (tanh(V h) * sigm(U h)))``.

    Args:
        in_channels (int): width of the instances.
        hidden (int): width of the attention MLP.
    """

    def __init__(self, in_channels: int, hidden: int):
        super().__init__()
        self.v = nn.Linear(in_channels, hidden)
        self.u = nn.Linear(in_channels, hidden)
        self.w = nn.Linear(hidden, 1)

    def forward(self, h: torch.Tensor, pad: torch.Tensor
                ) -> Tuple[torch.Tensor, torch.Tensor]:
        """Args:
            h (Tensor): ``[B, M, C]`` instances.
            pad (Tensor): ``[B, M]`` True where ``h`` is padding.

        Returns:
            tuple(Tensor, Tensor): pooled ``[B, C]`` and weights ``[B, M]``.
        """
        score = self.w(torch.tanh(self.v(h)) * torch.sigmoid(self.u(h)))
        score = score.squeeze(-1).masked_fill(pad, float('-inf'))
        attn = torch.softmax(score, dim=1)
        return torch.einsum('bm,bmc->bc', attn, h), attn


def _encoder(width: int, heads: int, layers: int, ffn_ratio: float,
             dropout: float) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        width, heads, int(width * ffn_ratio), dropout, activation='gelu',
        batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


@MODELS.register_module()
class LocalGlobalSlideTransformer(BaseModule):
    """Region transformer, slide transformer and gated attention pooling.

    Args:
        in_channels (int): width ``D`` of the precomputed patch features.
        embed_dims (int): transformer width ``C`` (the output width).
        patches_per_region (int): ``P``, patches per region (64).
        region_layers (int): layers of the region (local) transformer.
        slide_layers (int): layers of the slide (global) transformer.
        num_heads (int): attention heads of both transformers.
        ffn_ratio (float): feed-forward width / ``embed_dims``.
        attn_hidden (int): width of the gated attention MLP.
        dropout (float): dropout in the transformers.
        init_cfg (dict | None): MMEngine initialisation config.

    Inputs are a list of ``[M_i, P, D]`` tensors (slides of different sizes)
    or one ``[B, M, P, D]`` tensor; outputs a 1-tuple of ``[B, C]``.
    """

    def __init__(self, in_channels: int, embed_dims: int = 64,
                 patches_per_region: int = 64, region_layers: int = 1,
                 slide_layers: int = 1, num_heads: int = 4,
                 ffn_ratio: float = 2.0, attn_hidden: int = 32,
                 dropout: float = 0.0, init_cfg=None):
        super().__init__(init_cfg)
        self.in_channels = in_channels
        self.embed_dims = embed_dims
        self.patches_per_region = patches_per_region
        self.proj = nn.Linear(in_channels, embed_dims)
        self.region_cls = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.region_pos = nn.Parameter(
            torch.randn(1, patches_per_region + 1, embed_dims) * 0.02)
        self.region = _encoder(embed_dims, num_heads, region_layers,
                               ffn_ratio, dropout)
        self.slide = _encoder(embed_dims, num_heads, slide_layers, ffn_ratio,
                              dropout)
        self.norm = nn.LayerNorm(embed_dims)
        self.pool = GatedAttentionPool(embed_dims, attn_hidden)

    def _pad(self, slides: Union[torch.Tensor, Sequence[torch.Tensor]]
             ) -> Tuple[torch.Tensor, torch.Tensor]:
        if isinstance(slides, torch.Tensor):
            if slides.dim() == 3:
                slides = slides.unsqueeze(0)
            b, m = slides.shape[:2]
            return slides, torch.zeros(b, m, dtype=torch.bool,
                                       device=slides.device)
        sizes = [s.shape[0] for s in slides]
        m = max(sizes)
        first = slides[0]
        out = first.new_zeros(len(slides), m, *first.shape[1:])
        pad = torch.ones(len(slides), m, dtype=torch.bool,
                         device=first.device)
        for i, s in enumerate(slides):
            out[i, :s.shape[0]] = s
            pad[i, :s.shape[0]] = False
        return out, pad

    def forward(self, slides) -> Tuple[torch.Tensor]:
        x, pad = self._pad(slides)                     # [B, M, P, D]
        b, m, p, _ = x.shape
        tokens = self.proj(x[~pad])                    # [R, P, C] real regions
        cls = self.region_cls.expand(tokens.shape[0], -1, -1)
        tokens = torch.cat([cls, tokens], 1) + self.region_pos[:, :p + 1]
        regions = self.region(tokens)[:, 0]            # [R, C]
        grid = regions.new_zeros(b, m, self.embed_dims)
        grid[~pad] = regions
        grid = self.norm(self.slide(grid, src_key_padding_mask=pad))
        pooled, _ = self.pool(grid, pad)
        return (pooled, )
