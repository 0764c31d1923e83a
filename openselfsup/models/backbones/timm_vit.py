"""A timm Vision Transformer as the image encoder of balanced tuning.

The published captions setting tunes a ViT-B/16 whose class token is both
the classifier's input and the embedding aligned with the text. It reads the
class token of the last block's output, before the final LayerNorm
(``hidden_states[-1][:, 0]`` of Hugging Face's ViT), and freezes the first 4
blocks (the patch and position embeddings stay trainable).
"""
from typing import Optional, Tuple

import torch
from mmengine.model import BaseModule

from ...config import TIMM_VIT_DEFAULT
from ...registry import MODELS
from ...utils import InputError
from .pretrained import (KeepsLoadedWeights, load_exact, read_weights,
                         require_timm, split_prefix)


@MODELS.register_module()
class TimmVisionTransformer(KeepsLoadedWeights, BaseModule):
    """``timm.create_model(model_name, num_classes=0, **kwargs)``; class token.

    Args:
        model_name (str): a timm ViT architecture with a class token, e.g.
            ``'vit_base_patch16_224'`` (ViT-B/16, the published encoder).
        checkpoint (str | None): a local timm-format weights file (e.g.
            ``vit_base_patch16_224.orig_in21k_ft_in1k``, the weights of
            ``google/vit-base-patch16-224``, or a task-trained classifier).
            Its ``head.*`` is kept in :attr:`classifier_state` for the task
            head. None: random initialisation; a missing file is refused
            with one line. Loaded weights are kept by ``init_weights``
            (:class:`~.pretrained.KeepsLoadedWeights`).
        frozen_blocks (int): the first ``frozen_blocks`` transformer blocks
            get ``requires_grad=False`` (4 published).
        final_norm (bool): apply the final LayerNorm before reading the class
            token (False published).
        **kwargs: more ``timm.create_model`` arguments (``img_size``,
            ``patch_size``, ``embed_dim``, ``depth``, ``num_heads``, ...).

    Outputs a 1-tuple of ``[B, embed_dim]``.
    """

    def __init__(self, model_name: str = TIMM_VIT_DEFAULT,
                 checkpoint: Optional[str] = None, frozen_blocks: int = 0,
                 final_norm: bool = False, init_cfg=None, **kwargs):
        super().__init__(init_cfg)
        timm = require_timm('TimmVisionTransformer')
        try:
            self.vit = timm.create_model(model_name, pretrained=False,
                                         num_classes=0, **kwargs)
        except (RuntimeError, TypeError, ValueError) as exc:
            raise InputError(f'timm model {model_name!r}: {exc}') from None
        if getattr(self.vit, 'cls_token', None) is None:
            raise InputError(f'timm model {model_name!r} has no class token')
        depth = len(self.vit.blocks)
        if not 0 <= int(frozen_blocks) <= depth:
            raise InputError(f'frozen_blocks must be in 0..{depth}, got '
                             f'{frozen_blocks}')
        self.model_name = model_name
        self.embed_dims = int(self.vit.num_features)
        self.final_norm = bool(final_norm)
        self.frozen_blocks = int(frozen_blocks)
        self.classifier_state = {}
        state = read_weights(checkpoint, model_name,
                             'TimmVisionTransformer')
        if state is not None:
            from timm.models.vision_transformer import checkpoint_filter_fn
            state, self.classifier_state = split_prefix(state, 'head.')
            state = checkpoint_filter_fn(state, self.vit)
            load_exact(self.vit, state, checkpoint, model_name)
            self.weights_loaded_from = str(checkpoint)
        for blk in self.vit.blocks[:self.frozen_blocks]:
            for p in blk.parameters():
                p.requires_grad_(False)

    @staticmethod
    def kwargs_target(cfg) -> Optional[type]:
        """The timm class that ``**kwargs`` reach (``VisionTransformer`` for
        ``vit_*``), read by the ``--cfg-options`` check: ``model_name`` is
        built on the meta device (no weights, no memory); None where timm
        cannot build it."""
        timm = require_timm('TimmVisionTransformer')
        name = cfg.get('model_name', TIMM_VIT_DEFAULT)
        try:
            with torch.device('meta'):
                return type(timm.create_model(name, pretrained=False,
                                              num_classes=0))
        except Exception:  # an unknown name: the build says so in one line
            return None

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        pe = self.vit.patch_embed
        size = tuple(getattr(pe, 'img_size', None) or ())
        if size and not getattr(pe, 'dynamic_img_size', False) and \
                tuple(x.shape[-2:]) != size:
            # timm's own assertion is a traceback from inside the model
            raise InputError(
                f'images of {x.shape[-2]}x{x.shape[-1]} px reach a ViT '
                f'built for {size[0]}x{size[1]} (model.backbone.img_size): '
                'resize them in the pipeline or set img_size')
        if self.final_norm:
            return (self.vit.forward_features(x)[:, 0], )
        (_, prefix), = self.vit.forward_intermediates(
            x, indices=1, norm=False, return_prefix_tokens=True,
            output_fmt='NLC', intermediates_only=True)
        return (prefix[:, 0], )
