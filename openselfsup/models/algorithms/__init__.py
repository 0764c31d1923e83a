"""Algorithms mmpretrain lacks."""
from .hlss import HLSS  # noqa: F401
