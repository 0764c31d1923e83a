"""Backbones that mmpretrain lacks."""
from .local_global import GatedAttentionPool, LocalGlobalSlideTransformer  # noqa: F401
