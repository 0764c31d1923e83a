"""Algorithms mmpretrain lacks: short classes composing config-built parts,
MoCoV3 with a momentum update that does not wait for the GPU, and
ImageClassifier (FSP) updating GhostBN's running statistics together."""
from .balanced import BalancedCrossModal  # noqa: F401
from .classifier import ImageClassifier  # noqa: F401
from .hlss import HLSS  # noqa: F401
from .mocov3 import HostStepCosineEMA, MoCoV3  # noqa: F401
