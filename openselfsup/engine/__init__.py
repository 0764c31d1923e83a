"""Hooks, checkpoint compatibility, evaluation metrics.

Importing this package also imports mmpretrain's engine, evaluation and
visualisation packages (LARS, CosineEMA hooks, metrics, visualisers).
"""
import mmpretrain.engine  # noqa: F401  (fills the parent registry)
import mmpretrain.evaluation  # noqa: F401
import mmpretrain.visualization  # noqa: F401

from .knn import KNNEvalHook, knn_eval_checkpoint, knn_evaluate  # noqa: F401,E402
