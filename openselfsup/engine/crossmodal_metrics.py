"""Classification and retrieval metrics of balanced cross-modal tuning.

Pure functions of arrays (tested against scikit-learn and brute force),
and :class:`CrossModalMetric`, the MMEngine metric that gathers the whole
evaluation set and calls them.

Retrieval works on a similarity matrix ``sim [N_img, N_txt]`` and
``owner [N_txt]``, the image each text belongs to (an image may own several
captions). Image-to-text at ``k`` counts an image as a hit when any of its
texts is among its ``k`` most similar texts; text-to-image counts a text as
a hit when its image is among its ``k`` most similar images. Ties count in
the query's favour (rank = number of strictly better candidates).
"""
from typing import Dict, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from ..registry import METRICS


def multilabel_prf(scores: np.ndarray, targets: np.ndarray,
                   threshold: float = 0.5) -> Dict[str, float]:
    """Macro precision, recall and F1 of thresholded multi-label scores.

    Args:
        scores (ndarray): ``[N, C]`` probabilities.
        targets (ndarray): ``[N, C]`` 0/1 ground truth.
        threshold (float): a class is predicted when its score >= this.

    Returns:
        dict: ``precision``, ``recall``, ``f1`` in [0, 1]; a class with no
        predicted (or no true) positive contributes 0 to the precision (or
        recall), as scikit-learn with ``zero_division=0``.
    """
    pred = np.asarray(scores) >= threshold
    true = np.asarray(targets) > 0.5
    tp = (pred & true).sum(0).astype(float)
    npred, ntrue = pred.sum(0), true.sum(0)
    prec = np.divide(tp, npred, out=np.zeros_like(tp), where=npred > 0)
    rec = np.divide(tp, ntrue, out=np.zeros_like(tp), where=ntrue > 0)
    denom = npred + ntrue
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return dict(precision=float(prec.mean()), recall=float(rec.mean()),
                f1=float(f1.mean()))


def average_precision(scores: np.ndarray, targets: np.ndarray) -> float:
    """Mean over classes (with at least one positive) of average precision.

    AP = sum over ranks of (recall step) x precision, samples ranked by
    decreasing score (ties broken by order), as ``sklearn
    average_precision_score`` without ties.
    """
    scores, targets = np.asarray(scores, float), np.asarray(targets) > 0.5
    aps = []
    for c in range(scores.shape[1]):
        t = targets[:, c]
        if not t.any():
            continue
        order = np.argsort(-scores[:, c], kind='stable')
        hits = t[order]
        precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1)
        aps.append(float((precision_at * hits).sum() / hits.sum()))
    return float(np.mean(aps)) if aps else float('nan')


def quadratic_weighted_kappa(y_true: Sequence[int], y_pred: Sequence[int],
                             num_classes: Optional[int] = None) -> float:
    """Cohen's kappa with quadratic weights (agreement on ordinal grades).

    ``1 - sum(W * O) / sum(W * E)`` with ``W_ij = (i - j)^2``, ``O`` the
    confusion matrix and ``E`` the outer product of its marginals / N.
    Returns 0 where there is no disagreement to expect (one class only) and
    the predictions agree, as scikit-learn returns nan there... see below.
    """
    y_true = np.asarray(y_true, int)
    y_pred = np.asarray(y_pred, int)
    k = int(num_classes or max(y_true.max(), y_pred.max()) + 1)
    o = np.zeros((k, k))
    np.add.at(o, (y_true, y_pred), 1)
    e = np.outer(o.sum(1), o.sum(0)) / o.sum()
    i, j = np.indices((k, k))
    w = (i - j) ** 2
    denom = (w * e).sum()
    if denom == 0:
        return float('nan')
    return float(1 - (w * o).sum() / denom)


def recall_at_k(sim: np.ndarray, owner: Sequence[int],
                ks: Sequence[int] = (1, 5, 10)) -> Dict[str, float]:
    """Image-to-text and text-to-image recall@k.

    Args:
        sim (ndarray): ``[N_img, N_txt]`` similarities.
        owner (Sequence[int]): ``[N_txt]``, the image index of each text.
        ks (Sequence[int]): the cut-offs.

    Returns:
        dict: ``i2t_R@k`` and ``t2i_R@k`` in [0, 1] for each ``k``.
    """
    sim = np.asarray(sim, float)
    owner = np.asarray(owner, int)
    n_img, n_txt = sim.shape
    mine = np.zeros_like(sim, dtype=bool)
    mine[owner, np.arange(n_txt)] = True
    best_own = np.where(mine, sim, -np.inf).max(1)          # [N_img]
    i2t_rank = (sim > best_own[:, None]).sum(1)
    own_score = sim[owner, np.arange(n_txt)]                  # [N_txt]
    t2i_rank = (sim > own_score[None, :]).sum(0)
    out = {}
    for k in ks:
        out[f'i2t_R@{k}'] = float((i2t_rank < k).mean())
    for k in ks:
        out[f't2i_R@{k}'] = float((t2i_rank < k).mean())
    return out


def mean_pair_cosine(img: np.ndarray, txt: np.ndarray,
                     owner: Sequence[int]) -> float:
    """Mean cosine similarity between each text and its own image."""
    img = np.asarray(img, float)
    txt = np.asarray(txt, float)
    img = img / np.linalg.norm(img, axis=1, keepdims=True).clip(1e-12)
    txt = txt / np.linalg.norm(txt, axis=1, keepdims=True).clip(1e-12)
    return float((img[np.asarray(owner, int)] * txt).sum(1).mean())


def retrieval_kappa(sim: np.ndarray, img_labels: Sequence[int],
                    txt_labels: Sequence[int],
                    num_classes: Optional[int] = None) -> float:
    """Quadratic kappa of the label of each image's top-1 retrieved text."""
    top1 = np.asarray(sim).argmax(1)
    return quadratic_weighted_kappa(img_labels, np.asarray(txt_labels)[top1],
                                    num_classes)


@METRICS.register_module()
class CrossModalMetric(BaseMetric):
    """Classification and retrieval over the whole evaluation set.

    Reads from each prediction ``pred_score``, ``target``, ``img_emb`` and
    ``txt_emb`` (as filled by :class:`BalancedCrossModal`).

    Args:
        task (str): 'multilabel' (macro precision / recall / F1 at
            ``threshold``, mAP) or 'grade' (quadratic kappa and accuracy;
            a one-output score is rounded to the nearest grade, several
            outputs are arg-maxed; retrieval kappa).
        ks (Sequence[int]): recall cut-offs.
        threshold (float): multi-label decision threshold.
        num_grades (int): grades are ``0 .. num_grades - 1``.
        collect_device (str): 'cpu' or 'gpu' for gathering across ranks.
        prefix (str | None): prefix of the metric names.
    """

    default_prefix = None

    def __init__(self, task: str = 'multilabel',
                 ks: Sequence[int] = (1, 5, 10), threshold: float = 0.5,
                 num_grades: int = 6, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if task not in ('multilabel', 'grade'):
            raise ValueError(f"task must be 'multilabel' or 'grade', "
                             f'got {task!r}')
        self.task = task
        self.ks = tuple(ks)
        self.threshold = threshold
        self.num_grades = num_grades

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for ds in data_samples:
            self.results.append(dict(
                score=_np(ds['pred_score']), target=_np(ds['target']),
                img=_np(ds['img_emb']), txt=_np(ds['txt_emb'])))

    def grades(self, scores: np.ndarray) -> np.ndarray:
        """Predicted grades from scores ``[N, 1]`` (rounded) or ``[N, G]``."""
        if scores.shape[1] == 1:
            return np.clip(np.rint(scores[:, 0]), 0,
                           self.num_grades - 1).astype(int)
        return scores.argmax(1)

    def compute_metrics(self, results: list) -> Dict[str, float]:
        scores = np.stack([r['score'].reshape(-1) for r in results])
        targets = np.stack([np.asarray(r['target']).reshape(-1)
                            for r in results])
        img = np.stack([r['img'] for r in results])
        txts = [r['txt'].reshape(-1, img.shape[1]) for r in results]
        owner = np.concatenate([np.full(len(t), i)
                                for i, t in enumerate(txts)])
        txt = np.concatenate(txts)
        sim = img @ txt.T
        out = {}
        if self.task == 'multilabel':
            out.update(multilabel_prf(scores, targets, self.threshold))
            out['mAP'] = average_precision(scores, targets)
        else:
            y = targets[:, 0].astype(int)
            pred = self.grades(scores)
            out['kappa'] = quadratic_weighted_kappa(y, pred, self.num_grades)
            out['accuracy'] = float((pred == y).mean())
            out['ret_kappa'] = retrieval_kappa(sim, y, y[owner],
                                               self.num_grades)
        out.update(recall_at_k(sim, owner, self.ks))
        out['mean_cos'] = mean_pair_cosine(img, txt, owner)
        return out


def _np(x) -> np.ndarray:
    if hasattr(x, 'detach'):
        return x.detach().cpu().float().numpy()
    return np.asarray(x)
