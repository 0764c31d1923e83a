"""Evaluation: metrics MMEngine's evaluator calls and the kNN evaluation.

``crossmodal_metrics``: classification and retrieval metrics of balanced
cross-modal tuning (registered ``CrossModalMetric``). ``knn``: the patch /
slide / patient kNN evaluation of HLSS and HiDisc (used by the training hook
:class:`openselfsup.engine.knn_hook.KNNEvalHook` and by
:func:`openselfsup.apis.knn.knn_eval_checkpoint`).
"""
import mmpretrain.evaluation  # noqa: F401  (fills the parent registry)

from .crossmodal_metrics import CrossModalMetric  # noqa: F401,E402
from .knn import knn_evaluate  # noqa: F401,E402
