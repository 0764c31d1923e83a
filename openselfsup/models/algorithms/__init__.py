"""Algorithms mmpretrain lacks: short classes composing config-built parts,
and MoCoV3 with a momentum update that does not wait for the GPU."""
from .balanced import BalancedCrossModal  # noqa: F401
from .hlss import HLSS  # noqa: F401
from .mocov3 import HostStepCosineEMA, MoCoV3  # noqa: F401
