"""Algorithms, heads, necks and losses that mmpretrain lacks.

Importing this package also imports ``mmpretrain.models`` so that the parent
registry holds ResNet, MoCoV3Head and the data preprocessors when a
config names them (``MoCoV3`` and ``ImageClassifier`` are this project's
subclasses of mmpretrain's, :mod:`.algorithms.mocov3` and
:mod:`.algorithms.classifier`).
"""
import mmpretrain.models  # noqa: F401  (fills the parent registry)

from .text_encoders import build_text_encoder  # noqa: F401,E402
from .groups import GhostBatchNorm2d, groups_of  # noqa: F401,E402
from .data_preprocessors import (BatchAugClsDataPreprocessor,  # noqa: F401,E402
                                 BatchAugSelfSupDataPreprocessor)
from . import algorithms, backbones, heads, losses  # noqa: F401,E402
from .algorithms import MoCoV3  # noqa: F401,E402
from .open_clip import OpenCLIPImageTower, OpenCLIPText  # noqa: F401,E402
