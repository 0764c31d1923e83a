"""Heads that mmpretrain lacks."""
from .task_head import LinearTaskHead  # noqa: F401
