"""Hooks, optimisers, the atomic runner and its checkpoint hook.

Importing this package also imports mmpretrain's engine, evaluation and
visualisation packages (LARS, CosineEMA hooks, metrics, visualisers), and
allow-lists MMEngine's checkpoint contents for ``torch.load``'s
``weights_only=True`` (see :mod:`openselfsup.utils.checkpoint`, where the
checkpoint readers live: a command that only reads checkpoints imports
them from there, without this package's imports). The checkpoint names
below are kept here for the configs and scripts that import them so.
"""
import mmpretrain.engine  # noqa: F401  (fills the parent registry)
import mmpretrain.visualization  # noqa: F401

from ..utils.checkpoint import (extract_backbone_weights,  # noqa: F401
                                is_complete_checkpoint, load_checkpoint_file,
                                register_safe_globals, unsafe_globals)
from .runner import (AtomicRunner, find_resumable_checkpoint,  # noqa: F401
                     resolve_checkpoint)
from .optimizers import OpenSelfSupLARS  # noqa: F401

register_safe_globals()
from .validate_first import ValidateBeforeTrainHook  # noqa: F401,E402
from .crossmodal_hooks import (NegativeTextPoolHook,  # noqa: F401,E402
                               PatienceEarlyStoppingHook)
from .knn_hook import KNNEvalHook  # noqa: F401,E402
from .checkpoint_hook import CheckpointHook  # noqa: F401,E402
from .log_processor import TermsLogProcessor  # noqa: F401,E402
from .visualizer import LazyFigureVisualizer  # noqa: F401,E402
from .. import evaluation  # noqa: F401,E402  (metrics in the registry)
