"""Per-level projection heads for HLSS and HiDisc.

``TextInitHead`` (HLSS) maps a backbone feature into the text space and then
onto ``K`` attribute directions whose weights start as the text embeddings of
``K`` attribute descriptions; its output (``[N, K]``) is the level's
contrastive embedding. ``MLPHead`` (HiDisc) is a plain projection. Both return
``(embedding, extras)`` where ``extras`` holds named terms for the loss dict.

Text embeddings come from a precomputed ``.npy`` / ``.pt`` file ``[K, D]`` or
are computed offline from the sentences by the shared text encoders
(:func:`openselfsup.models.text_encoders.build_text_encoder`).
"""
import functools
import json
import os
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from ...registry import MODELS
from ...utils import InputError


def read_embedding_file(path: str) -> torch.Tensor:
    """Read a ``[K, D]`` matrix from ``.npy`` or ``.pt`` (a tensor, or a dict
    holding one under ``'embeddings'``).

    Raises:
        InputError: missing file, unknown extension, not a 2-D matrix.
    """
    if not os.path.isfile(path):
        raise InputError(f'{path}: text-embedding file not found')
    ext = os.path.splitext(path)[1].lower()
    if ext == '.npy':
        arr = torch.from_numpy(np.load(path).astype(np.float32))
    elif ext in ('.pt', '.pth'):
        arr = torch.load(path, map_location='cpu', weights_only=True)
        if isinstance(arr, dict):
            arr = arr.get('embeddings')
        if not isinstance(arr, torch.Tensor):
            raise InputError(f'{path}: expected a tensor (or a dict with '
                             '"embeddings")')
        arr = arr.float()
    else:
        raise InputError(f'{path}: text-embedding file must be .npy or .pt')
    if arr.ndim != 2:
        raise InputError(f'{path}: text embeddings must be [K, D], got shape '
                         f'{tuple(arr.shape)}')
    return arr


@functools.lru_cache(maxsize=4)
def _cached_encoder(key: str):
    """One encoder per config (the three heads of a model share it)."""
    from ..text_encoders import build_text_encoder
    return build_text_encoder(json.loads(key))


def encode_attributes(attributes: Sequence[Sequence[str]],
                      encoder: dict) -> torch.Tensor:
    """Embed each attribute's sentences, average them, L2-normalise.

    Args:
        attributes (list[list[str]]): K attributes, each a list of sentences.
        encoder (dict): config of a shared text encoder (e.g.
            ``dict(type='HashedBagOfWords', dim=64)``).

    Returns:
        Tensor: ``[K, D]`` unit rows.
    """
    enc = _cached_encoder(json.dumps(dict(encoder), sort_keys=True))
    rows = []
    for sentences in attributes:
        if isinstance(sentences, str):
            sentences = [sentences]
        emb = F.normalize(enc.encode(list(sentences)).float(), dim=1)
        rows.append(emb.mean(0))
    return F.normalize(torch.stack(rows), dim=1)


def attribute_matrix(attributes: Sequence[Sequence[str]], text_width: int,
                     embeddings_file: Optional[str] = None,
                     encoder: Optional[dict] = None) -> torch.Tensor:
    """The ``[K, D]`` attribute matrix of one level, L2-normalised rows.

    Args:
        attributes: K attribute descriptions (each a list of sentences); K is
            the number the file must match.
        text_width (int): D, the width the config expects.
        embeddings_file (str, optional): precomputed ``[K, D]`` file; wins
            over ``encoder``.
        encoder (dict, optional): shared text-encoder config.

    Raises:
        InputError: neither source given; file K or D disagrees with the
            config.
    """
    k = len(attributes)
    if embeddings_file:
        mat = read_embedding_file(embeddings_file)
        if mat.shape[0] != k:
            raise InputError(f'{embeddings_file}: holds {mat.shape[0]} '
                             f'attribute embeddings, the config lists {k}')
        if mat.shape[1] != text_width:
            raise InputError(f'{embeddings_file}: embedding width '
                             f'{mat.shape[1]}, the config says text_width='
                             f'{text_width}')
        return F.normalize(mat, dim=1)
    if encoder is None:
        raise InputError('TextInitHead: give embeddings_file or encoder for '
                         'the attribute embeddings')
    mat = encode_attributes(attributes, encoder)
    if mat.shape[1] != text_width:
        raise InputError(f'text encoder {encoder.get("type")} gives width '
                         f'{mat.shape[1]}, the config says text_width='
                         f'{text_width}')
    return mat


def symmetric_kl(p_logits: torch.Tensor,
                 q_logits: torch.Tensor) -> torch.Tensor:
    """``KL(p||q) + KL(q||p)`` of the row softmaxes, mean over rows."""
    lp = F.log_softmax(p_logits, dim=1)
    lq = F.log_softmax(q_logits, dim=1)
    kl = (lp.exp() * (lp - lq)).sum(1) + (lq.exp() * (lq - lp)).sum(1)
    return kl.mean()


@MODELS.register_module()
class TextInitHead(BaseModule):
    """HLSS head of one level: projection into text space, then attributes.

    ``x [N, C] -> u = proj(x) [N, D] -> e = W u [N, K]`` with ``W`` (``[K,
    D]``) initialised to the attribute text matrix ``T``. ``e`` is the
    level's contrastive embedding. ``proj`` is ``Linear(C, D) + ReLU``: it is
    how the backbone width ``C`` meets the text width ``D`` (always present,
    as in the published code, even when ``C == D``).

    Alignment: with ``t*`` the attribute row of the fixed ``T`` most similar
    (cosine) to ``u``, the term is the symmetric KL between
    ``softmax(norm(u) / tau)`` and ``softmax(norm(t*) / tau)``.

    Args:
        in_channels (int): backbone feature width C.
        attributes (list[list[str]]): K attribute descriptions, several
            sentences each.
        text_width (int): D, the text-embedding width.
        embeddings_file (str, optional): precomputed ``[K, D]`` embeddings.
        encoder (dict, optional): shared text-encoder config used when no
            file is given.
        align_mode (str): ``'log'``: the KL is reported as ``kl_<level>``
            with no gradient (the published code); ``'loss'``: reported as
            ``loss_kl_<level>`` times ``align_weight`` and trained (the
            paper); ``'off'``: not computed.
        align_weight (float): weight of the KL in ``'loss'`` mode.
        align_temperature (float): tau of the two softmaxes.
        level (str): name used in the loss-dict keys.
        init_cfg: MMEngine init config (the text layer is not re-initialised).
    """

    def __init__(self, in_channels: int, attributes: Sequence[Sequence[str]],
                 text_width: int, embeddings_file: Optional[str] = None,
                 encoder: Optional[dict] = None, align_mode: str = 'log',
                 align_weight: float = 1.0, align_temperature: float = 0.1,
                 level: str = 'level', init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if align_mode not in ('log', 'loss', 'off'):
            raise ValueError(f'align_mode must be log|loss|off, got '
                             f'{align_mode!r}')
        text = attribute_matrix(attributes, text_width, embeddings_file,
                                encoder)
        self.level = level
        self.align_mode = align_mode
        self.align_weight = align_weight
        self.align_temperature = align_temperature
        self.proj = nn.Sequential(nn.Linear(in_channels, text_width),
                                  nn.ReLU(inplace=True))
        self.attributes = nn.Linear(text_width, text.shape[0], bias=False)
        with torch.no_grad():
            self.attributes.weight.copy_(text)
        self.register_buffer('text', text.clone())

    def init_weights(self):
        """Keep the text-initialised attribute layer (only proj is reset)."""
        text = self.attributes.weight.detach().clone()
        super().init_weights()
        with torch.no_grad():
            self.attributes.weight.copy_(text)

    def alignment(self, u: torch.Tensor) -> torch.Tensor:
        """Symmetric KL between ``u`` and its most similar attribute."""
        un = F.normalize(u, dim=1)
        nearest = (un @ self.text.t()).argmax(1)
        t = self.text[nearest]
        tau = self.align_temperature
        return symmetric_kl(un / tau, t / tau)

    def forward(self, x: torch.Tensor
                ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Args: x ``[N, C]``. Returns ``(embedding [N, K], extras)``."""
        u = self.proj(x)
        extras = {}
        if self.align_mode == 'loss':
            extras[f'loss_kl_{self.level}'] = \
                self.align_weight * self.alignment(u)
        elif self.align_mode == 'log':
            with torch.no_grad():
                extras[f'kl_{self.level}'] = self.alignment(u.detach())
        return self.attributes(u), extras


@MODELS.register_module()
class MLPHead(BaseModule):
    """Plain projection head (HiDisc): ``Linear -> ReLU -> Linear``.

    Args:
        in_channels (int): backbone feature width.
        hid_channels (int): hidden width.
        out_channels (int): embedding width.
        level (str): unused, accepted so heads are interchangeable in configs.
    """

    def __init__(self, in_channels: int, hid_channels: int,
                 out_channels: int, level: str = 'level', init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.layers = nn.Sequential(
            nn.Linear(in_channels, hid_channels), nn.ReLU(inplace=True),
            nn.Linear(hid_channels, out_channels))

    def forward(self, x: torch.Tensor
                ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Args: x ``[N, C]``. Returns ``(embedding, {})``."""
        return self.layers(x), {}


def export_attribute_embeddings(heads: dict, out_dir: str,
                                encoder: Optional[dict] = None
                                ) -> Dict[str, str]:
    """Encode every ``TextInitHead`` level of a model config to ``.npy``.

    The files can then be given as ``embeddings_file`` (e.g. on a machine
    without the text encoder).

    Args:
        heads (dict): the config's ``model.heads`` (``{level: head_cfg}``).
        out_dir (str): output folder; one ``<level>.npy`` ``[K, D]`` each.
        encoder (dict, optional): overrides each head's ``encoder``.

    Returns:
        dict[str, str]: level -> file written.
    """
    from ...utils import save_npy
    out = {}
    for level, cfg in heads.items():
        if not isinstance(cfg, dict) or cfg.get('type') != 'TextInitHead':
            continue
        enc = encoder or cfg.get('encoder')
        if enc is None:
            raise InputError(f'heads.{level}: no encoder to compute the '
                             'attribute embeddings with')
        mat = attribute_matrix(cfg['attributes'], cfg['text_width'],
                               None, enc)
        path = os.path.join(out_dir, f'{level}.npy')
        save_npy(path, mat.numpy().astype(np.float32))
        out[level] = path
    if not out:
        raise InputError('the config has no TextInitHead to export')
    return out
