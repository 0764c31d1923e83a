"""The local-global HIPT slide encoder of the published slide setting.

A slide is ``M`` regions of ``P`` (64) precomputed patch features of width
``D``: ``[M, P, D]``. As in HIPT's ``LocalGlobalHIPT`` (github.com/clemsgrs/
hipt), the model the published slide setting tunes:

1. **region transformer** (``vit_region``, HIPT's ``vit4k_xs``): a linear
   map ``D -> embed_dim_region`` with GELU, a class token, learned position
   embeddings over the region's patch grid, pre-norm transformer blocks
   (timm's ``Block``), a final LayerNorm; the class token summarises each
   region;
2. **slide transformer**: ``global_phi`` (linear + ReLU + dropout), two
   post-norm ``nn.TransformerEncoderLayer`` (3 heads, feed-forward width =
   model width, ReLU) over the regions, gated attention pooling
   (``global_attn_pool``) and ``global_rho`` (linear + ReLU + dropout).

The parameter names are HIPT's, so a ``LocalGlobalRegressionHIPT`` state
dict (e.g. the published ``LocalGlobalHIPT_2048_768.pt``) loads as is; its
``classifier.*`` goes to the task head. Not implemented: HIPT's optional
slide position embedding and tissue-percentage attention masks.
"""
import math
from typing import Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from ...registry import MODELS
from ...utils import InputError
from .pretrained import (KeepsLoadedWeights, load_exact, read_weights,
                         require_timm, split_prefix)


class GatedAttention(nn.Module):
    """HIPT's ``Attn_Net_Gated``: ``c(tanh(a(h)) * sigmoid(b(h)))``.

    As in HIPT, any non-zero ``dropout`` means a dropout of 0.25 after the
    tanh and sigmoid branches.

    Args:
        in_channels (int): width of the instances (``L``).
        hidden (int): width of the gating layers (``D``).
        dropout (float): 0 for none, else 0.25 dropout.
    """

    def __init__(self, in_channels: int, hidden: int, dropout: float):
        super().__init__()
        a = [nn.Linear(in_channels, hidden), nn.Tanh()]
        b = [nn.Linear(in_channels, hidden), nn.Sigmoid()]
        if dropout:
            a.append(nn.Dropout(0.25))
            b.append(nn.Dropout(0.25))
        self.attention_a = nn.Sequential(*a)
        self.attention_b = nn.Sequential(*b)
        self.attention_c = nn.Linear(hidden, 1)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """``[M, C]`` instances -> ``[M, 1]`` scores (before the softmax)."""
        return self.attention_c(self.attention_a(h) * self.attention_b(h))


class RegionTransformer(nn.Module):
    """HIPT's region-level ViT (``VisionTransformer4K``) on patch features.

    Args:
        in_channels (int): patch feature width ``D`` (384 published).
        embed_dims (int): region embedding width (192 published).
        depth (int): transformer blocks (6 in ``vit4k_xs``).
        num_heads (int): attention heads (6 in ``vit4k_xs``).
        pos_grid (int): side of the position-embedding grid as stored
            (HIPT: ``int(region_size * 0.875 // patch_size)``); resized
            bicubically to the input's grid, as HIPT does at run time.
    """

    def __init__(self, in_channels: int, embed_dims: int, depth: int,
                 num_heads: int, pos_grid: int):
        super().__init__()
        require_timm('LocalGlobalHIPT')
        from functools import partial

        from timm.layers import trunc_normal_
        from timm.models.vision_transformer import Block
        self.phi = nn.Sequential(nn.Linear(in_channels, embed_dims),
                                 nn.GELU(), nn.Dropout(0.0))
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dims))
        self.pos_embed = nn.Parameter(
            torch.zeros(1, pos_grid * pos_grid + 1, embed_dims))
        norm = partial(nn.LayerNorm, eps=1e-6)
        self.blocks = nn.ModuleList([
            Block(embed_dims, num_heads, mlp_ratio=4.0, qkv_bias=True,
                  norm_layer=norm) for _ in range(depth)])
        self.norm = norm(embed_dims)
        trunc_normal_(self.pos_embed, std=0.02)
        trunc_normal_(self.cls_token, std=0.02)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def position(self, grid: int) -> torch.Tensor:
        """Position embeddings ``[1, grid * grid + 1, C]`` for a grid."""
        n = self.pos_embed.shape[1] - 1
        side = int(round(math.sqrt(n)))
        if side == grid:
            return self.pos_embed
        patch = self.pos_embed[:, 1:].reshape(1, side, side, -1)
        patch = F.interpolate(patch.permute(0, 3, 1, 2), size=(grid, grid),
                              mode='bicubic', align_corners=False)
        patch = patch.permute(0, 2, 3, 1).reshape(1, grid * grid, -1)
        return torch.cat([self.pos_embed[:, :1], patch], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``[M, P, D]`` (P a square) -> region embeddings ``[M, C]``."""
        grid = int(round(math.sqrt(x.shape[1])))
        x = self.phi(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self.position(grid)
        for blk in self.blocks:
            x = blk(x)
        return self.norm(x)[:, 0]


@MODELS.register_module()
class LocalGlobalHIPT(KeepsLoadedWeights, BaseModule):
    """HIPT's local (region) and global (slide) transformers on regions.

    Args:
        embed_dim_patch (int): width ``D`` of the precomputed patch features
            (384 published).
        embed_dim_region (int): region embedding width (192 published).
        embed_dim_slide (int): slide embedding width, the output width (768
            in the published ``LocalGlobalHIPT_2048_768``).
        region_size (int): region side in px (2048 published).
        patch_size (int): patch side in px (256): ``P = (region_size /
            patch_size) ** 2`` patches per region.
        region_depth (int): region transformer blocks (6).
        region_heads (int): region attention heads (6).
        slide_layers (int): slide transformer layers (2).
        slide_heads (int): slide attention heads (3).
        dropout (float): dropout of the slide part (0.25 in HIPT).
        checkpoint (str | None): a local state dict of HIPT's
            ``LocalGlobalRegressionHIPT`` (or of this module); its
            ``classifier.*`` is kept in :attr:`classifier_state` for the task
            head. None: random initialisation; a missing file is refused
            with one line. Loaded weights are kept by ``init_weights``
            (:class:`~.pretrained.KeepsLoadedWeights`).
        init_cfg (dict | None): MMEngine initialisation config (not
            applied over loaded weights).

    Inputs are a list of ``[M_i, P, D]`` tensors (slides of different sizes,
    encoded one by one as in HIPT) or one ``[B, M, P, D]`` / ``[M, P, D]``
    tensor; outputs a 1-tuple of ``[B, embed_dim_slide]``.
    """

    #: a slide-level model of precomputed region features, not of images:
    #: a backbone without this attribute takes images (how ``extract.py``
    #: tells a checkpoint whose features no patch extraction gives)
    takes_images = False

    def __init__(self, embed_dim_patch: int = 384, embed_dim_region: int = 192,
                 embed_dim_slide: int = 192, region_size: int = 2048,
                 patch_size: int = 256, region_depth: int = 6,
                 region_heads: int = 6, slide_layers: int = 2,
                 slide_heads: int = 3, dropout: float = 0.25,
                 checkpoint: Optional[str] = None, init_cfg=None):
        super().__init__(init_cfg)
        if region_size % patch_size:
            raise InputError(f'region_size {region_size} is not a multiple '
                             f'of patch_size {patch_size}')
        if embed_dim_slide % slide_heads:
            raise InputError(f'embed_dim_slide {embed_dim_slide} is not '
                             f'divisible by slide_heads {slide_heads}')
        self.embed_dims = int(embed_dim_slide)
        self.in_channels = int(embed_dim_patch)
        self.grid = region_size // patch_size
        self.patches_per_region = self.grid ** 2
        self.vit_region = RegionTransformer(
            embed_dim_patch, embed_dim_region, region_depth, region_heads,
            pos_grid=int(region_size * 0.875 // patch_size))
        self.global_phi = nn.Sequential(
            nn.Linear(embed_dim_region, embed_dim_slide), nn.ReLU(),
            nn.Dropout(dropout))
        layer = nn.TransformerEncoderLayer(
            d_model=embed_dim_slide, nhead=slide_heads,
            dim_feedforward=embed_dim_slide, dropout=dropout,
            activation='relu')
        self.global_transformer = nn.TransformerEncoder(
            layer, num_layers=slide_layers, enable_nested_tensor=False)
        self.global_attn_pool = GatedAttention(embed_dim_slide,
                                               embed_dim_slide, dropout)
        self.global_rho = nn.Sequential(
            nn.Linear(embed_dim_slide, embed_dim_slide), nn.ReLU(),
            nn.Dropout(dropout))
        self.classifier_state = {}
        state = read_weights(checkpoint, 'LocalGlobalHIPT')
        if state is not None:
            state, self.classifier_state = split_prefix(state, 'classifier.')
            self._take_pos_grid(state.get('vit_region.pos_embed'))
            load_exact(self, state, checkpoint, 'LocalGlobalHIPT')
            self.weights_loaded_from = str(checkpoint)

    def _take_pos_grid(self, pos) -> None:
        """Store position embeddings on the checkpoint's grid (HIPT resizes
        them to the input's grid at run time, whatever grid was trained)."""
        own = self.vit_region.pos_embed
        if pos is None or pos.shape == own.shape or pos.dim() != 3:
            return
        side = math.isqrt(pos.shape[1] - 1)
        if side * side + 1 == pos.shape[1] and pos.shape[2] == own.shape[2]:
            self.vit_region.pos_embed = nn.Parameter(torch.zeros_like(pos))

    def encode_slide(self, x: torch.Tensor) -> torch.Tensor:
        """One slide ``[M, P, D]`` -> its embedding ``[embed_dim_slide]``."""
        if x.dim() != 3 or tuple(x.shape[1:]) != (self.patches_per_region,
                                                  self.in_channels):
            raise InputError(f'a slide must be [M, {self.patches_per_region},'
                             f' {self.in_channels}], got {tuple(x.shape)}')
        h = self.global_phi(self.vit_region(x))                 # [M, C]
        h = self.global_transformer(h.unsqueeze(1)).squeeze(1)  # [M, C]
        att = torch.softmax(self.global_attn_pool(h).t(), dim=1)  # [1, M]
        return self.global_rho(att @ h)[0]

    def forward(self, slides: Union[torch.Tensor, Sequence[torch.Tensor]]
                ) -> Tuple[torch.Tensor]:
        if isinstance(slides, torch.Tensor) and slides.dim() == 3:
            slides = [slides]
        return (torch.stack([self.encode_slide(s) for s in slides]), )
