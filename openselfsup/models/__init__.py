"""Algorithms, heads, necks and losses that mmpretrain lacks.

Importing this package also imports ``mmpretrain.models`` so that the parent
registry holds ResNet, MoCoV3, MoCoV3Head, ImageClassifier and the data
preprocessors when a config names them.
"""
import mmpretrain.models  # noqa: F401  (fills the parent registry)

from . import algorithms, heads, losses  # noqa: F401,E402  (register modules)
