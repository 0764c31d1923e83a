"""Algorithms mmpretrain lacks: short classes composing config-built parts."""
from .balanced import BalancedCrossModal, check_balance  # noqa: F401
from .hlss import HLSS  # noqa: F401
