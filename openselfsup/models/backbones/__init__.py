"""Backbones that mmpretrain lacks."""
from .local_global import GatedAttention, LocalGlobalHIPT  # noqa: F401
from .timm_vit import TimmVisionTransformer  # noqa: F401
