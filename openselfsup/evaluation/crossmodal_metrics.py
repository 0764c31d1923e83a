"""Classification and retrieval metrics of balanced cross-modal tuning.

Pure functions of arrays (tested against scikit-learn and brute force),
and :class:`CrossModalMetric`, the MMEngine metric that gathers the whole
evaluation set and calls them.

Retrieval as published: the gallery holds **one caption per image** (drawn
once with a seed; a slide's report), ``sim [N_img, N_img]`` compares every
image with every gallery caption, and image ``i`` is a hit at ``k`` when one
of its ``k`` most similar gallery captions is one of its own captions (equal
text). Exactly equal similarities count as their expected hit under a
uniformly random order of the tied candidates (``torch.topk`` picks an
order of its own): counted in the query's favour, as before 2026-12-03, a
collapsed model (one embedding for every input) scored recall 1.0. The
project's both-direction recall over all captions is kept beside it under
``allcap_*`` names.
"""
import logging
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from ..registry import METRICS


def multilabel_prf(scores: np.ndarray, targets: np.ndarray,
                   threshold: float = 0.5) -> Dict[str, float]:
    """Macro precision, recall and F1 of thresholded multi-label scores.

    Args:
        scores (ndarray): ``[N, C]`` probabilities.
        targets (ndarray): ``[N, C]`` 0/1 ground truth.
        threshold (float): a class is predicted when its score is above this
            (``probabilities > 0.5`` published).

    Returns:
        dict: ``precision``, ``recall``, ``f1`` in [0, 1]; a class with no
        predicted (or no true) positive contributes 0 to the precision (or
        recall), as scikit-learn with ``zero_division=0``.
    """
    pred = np.asarray(scores) > threshold
    true = np.asarray(targets) > 0.5
    tp = (pred & true).sum(0).astype(float)
    npred, ntrue = pred.sum(0), true.sum(0)
    prec = np.divide(tp, npred, out=np.zeros_like(tp), where=npred > 0)
    rec = np.divide(tp, ntrue, out=np.zeros_like(tp), where=ntrue > 0)
    denom = npred + ntrue
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return dict(precision=float(prec.mean()), recall=float(rec.mean()),
                f1=float(f1.mean()))


def elementwise_accuracy(scores: np.ndarray, targets: np.ndarray,
                         threshold: float = 0.5) -> float:
    """Share of the ``N x C`` label entries predicted right (published
    ``(labels == preds).mean()`` with ``preds = scores > threshold``)."""
    pred = np.asarray(scores) > threshold
    return float((pred == (np.asarray(targets) > 0.5)).mean())


def samples_auc(scores: np.ndarray, targets: np.ndarray) -> float:
    """ROC AUC per sample over its classes, averaged over samples.

    The published ``roc_auc_score(labels, probs, average='samples')``. Each
    sample's AUC is the Mann-Whitney statistic (tied scores count one half).
    A sample whose labels are all 0 or all 1 has no AUC; scikit-learn then
    raises, here it is left out of the mean (nan if no sample is left).
    """
    # here, not at the top: scipy.stats takes about 1 s to import, and
    # every training process imports this module (the engine's kNN hook)
    from scipy.stats import rankdata
    scores = np.asarray(scores, float)
    targets = np.asarray(targets) > 0.5
    aucs = []
    for s, t in zip(scores, targets):
        n_pos = int(t.sum())
        n_neg = len(t) - n_pos
        if n_pos == 0 or n_neg == 0:
            continue
        ranks = rankdata(s)             # average ranks for ties
        aucs.append((ranks[t].sum() - n_pos * (n_pos + 1) / 2) /
                    (n_pos * n_neg))
    return float(np.mean(aucs)) if aucs else float('nan')


def average_precision(scores: np.ndarray, targets: np.ndarray) -> float:
    """Mean over all classes of average precision (the published mAP).

    AP = sum over the distinct scores, from the highest down, of (recall
    step) x precision, counting every sample scored at least that high:
    tied samples enter together, whatever their order (the published
    torchmetrics' curve over distinct thresholds, as scikit-learn's). A
    class without a positive sample scores 0 and counts in the mean, as in
    the published torchmetrics
    ``MultilabelAveragePrecision(average='macro')`` from version 1.4 on (1.5
    is the newest beside the published code's pinned torch 1.13.1) and
    scikit-learn's ``average_precision_score(average='macro')``;
    torchmetrics before 1.4 left such a class out.
    """
    scores, targets = np.asarray(scores, float), np.asarray(targets) > 0.5
    aps = []
    for c in range(scores.shape[1]):
        t = targets[:, c]
        if not t.any():
            aps.append(0.0)
            continue
        order = np.argsort(-scores[:, c], kind='stable')
        ranked, hits = scores[order, c], t[order]
        # the last rank of each distinct score (a threshold)
        last = np.r_[np.flatnonzero(ranked[1:] != ranked[:-1]),
                     len(ranked) - 1]
        tp = np.cumsum(hits)[last]
        aps.append(float((tp / (last + 1) * np.diff(tp, prepend=0)).sum()
                         / tp[-1]))
    return float(np.mean(aps)) if aps else float('nan')


def quadratic_weighted_kappa(y_true: Sequence[int],
                             y_pred: Sequence[int]) -> float:
    """Cohen's kappa with quadratic weights (agreement on ordinal grades),
    as scikit-learn's ``cohen_kappa_score(weights='quadratic')``, the
    published metric.

    ``1 - sum(W * O) / sum(W * E)`` over the grades that occur (in truth or
    prediction), sorted: ``O`` their confusion matrix, ``E`` the outer
    product of its marginals / N, ``W_ij = (i - j)^2`` with ``i, j`` the
    grades' positions in that sorted list (not their values: with a grade
    absent, 1 and 3 are one step apart when 2 never occurs). Returns nan
    when ``sum(W * E)`` is 0 (one grade only), where scikit-learn returns
    nan too.
    """
    y_true = np.asarray(y_true, int)
    y_pred = np.asarray(y_pred, int)
    grades, codes = np.unique(np.concatenate([y_true, y_pred]),
                              return_inverse=True)
    k = len(grades)
    o = np.zeros((k, k))
    np.add.at(o, (codes[:len(y_true)], codes[len(y_true):]), 1)
    e = np.outer(o.sum(1), o.sum(0)) / o.sum()
    i, j = np.indices((k, k))
    w = (i - j) ** 2
    denom = (w * e).sum()
    if denom == 0:
        return float('nan')
    return float(1 - (w * o).sum() / denom)


def constant_grade_note(grade: int, n: int) -> str:
    """What a quadratic kappa of ``n`` predictions all of ``grade`` is: 0
    by construction (observed and chance disagreement are equal), nan
    where every true grade is that one too, whatever the model learnt."""
    return (f'all {n} predictions are grade {grade}: kappa is 0 by '
            'construction (nan where the truth is one grade too), not a '
            'measure of grading')


def _tie_hit(above: np.ndarray, tied_hits: np.ndarray,
             tied_others: np.ndarray, k: int) -> np.ndarray:
    """Per query, the chance of a hit in the top ``k`` when ``above``
    candidates rank first (none of them a hit) and then a block of equal
    similarity, ``tied_hits`` hits and ``tied_others`` misses, comes in a
    uniformly random order (``torch.topk`` orders ties its own way): one
    minus the chance that the block's first ``k - above`` places are all
    misses. 0 without a hit in the block."""
    room = k - np.asarray(above)
    hits = np.asarray(tied_hits, float)
    others = np.asarray(tied_others, float)
    all_miss = np.ones(len(room))
    # past the block's misses every place is a hit: k far beyond the ties
    # (a recall@1000) costs no more than the largest block
    for i in range(int(min(room.max(initial=0), others.max(initial=0) + 1))):
        left = others - i  # misses still to draw before place i + 1
        step = np.where(left > 0, left / np.maximum(left + hits, 1), 0.)
        all_miss = np.where(i < room, all_miss * step, all_miss)
    return np.where((room >= 1) & (hits > 0), 1 - all_miss, 0.)


def recall_cut_offs(ks: Sequence) -> tuple:
    """``ks`` as a tuple of ints, each a positive integer (numpy's too), or
    a one-line InputError naming the first that is not: ``recall@0`` was
    0 for any model, ``recall@1.5`` counted the top 2 under another name."""
    from numbers import Integral
    out = []
    for k in ks:
        if isinstance(k, bool) or not isinstance(k, Integral) or k < 1:
            from ..utils import InputError
            raise InputError('CrossModalMetric ks must be positive integers '
                             f'(the k of each recall@k), got {k!r}')
        out.append(int(k))
    return tuple(out)


def recall_at_k(sim: np.ndarray, match: np.ndarray,
                ks: Sequence[int] = (1, 5, 10)) -> Dict[str, float]:
    """Image-to-text recall@k: a hit when a match is among the top ``k``;
    candidates of exactly equal similarity in a uniformly random order
    (each query's expected hit, :func:`_tie_hit`).

    Args:
        sim (ndarray): ``[N_img, N_txt]`` similarities.
        match (ndarray): ``[N_img, N_txt]`` bool, True where text ``j`` is
            a right answer for image ``i`` (an image without any match never
            hits).
        ks (Sequence[int]): the cut-offs.

    Returns:
        dict: ``recall@k`` in [0, 1] for each ``k``.
    """
    sim, match = np.asarray(sim, float), np.asarray(match, bool)
    best = np.where(match, sim, -np.inf).max(1, initial=-np.inf)[:, None]
    tied = sim == best
    above = (sim > best).sum(1)
    return {f'recall@{k}': float(_tie_hit(above, (tied & match).sum(1),
                                          (tied & ~match).sum(1), k).mean())
            for k in ks}


def text_match(captions: Sequence[Sequence[str]],
               gallery: Sequence[str]) -> np.ndarray:
    """``[N_img, N_gallery]`` bool: gallery text ``j`` equals one of image
    ``i``'s captions (the published captions rule)."""
    where: Dict[str, List[int]] = {}
    for j, g in enumerate(gallery):
        where.setdefault(g, []).append(j)
    match = np.zeros((len(captions), len(gallery)), bool)
    for i, caps in enumerate(captions):
        for c in set(caps):
            match[i, where.get(c, [])] = True
    return match


def index_recall_at_k(sim: np.ndarray, ks: Sequence[int] = (1, 5, 10),
                      same: Optional[np.ndarray] = None) -> Dict[str, float]:
    """Slide-to-report recall@k by index, as published for slides: image
    ``i`` hits when gallery item ``i`` (its own report) is among its top
    ``k``; another slide's report of the same text does not count.

    Reports of equal text have equal embeddings (up to the last bits of
    the batch they were encoded in), so the own report ties with them; the
    published ``torch.topk`` orders such ties its own way (it changes with
    the gallery size). Here the tie counts as its expected hit under a
    uniformly random order: with ``g`` other reports more similar than the
    own one and ``e`` reports of the own text (itself included), the hit at
    ``k`` is ``clip((k - g) / e, 0, 1)``.

    Args:
        sim (ndarray): ``[N, N]`` similarities, row ``i`` image ``i``,
            column ``j`` the report of image ``j``.
        ks (Sequence[int]): the cut-offs.
        same (ndarray, optional): ``[N, N]`` bool, report ``j`` has image
            ``i``'s own report text (:func:`text_match`): tied with the own
            report, as are reports of exactly its similarity.
    """
    sim = np.asarray(sim, float)
    own = np.diagonal(sim)[:, None]
    # exact ties too (other texts with equal embeddings: a bag of words)
    same = (sim == own) | np.eye(len(sim), dtype=bool) | (
        False if same is None else np.asarray(same, bool))
    greater = ((sim > own) & ~same).sum(1)
    # the own report is the one hit of its tie block
    return {f'recall@{k}': float(_tie_hit(greater, np.ones(len(sim)),
                                          same.sum(1) - 1, k).mean())
            for k in ks}


def both_way_recall(sim: np.ndarray, owner: Sequence[int],
                    ks: Sequence[int] = (1, 5, 10)) -> Dict[str, float]:
    """The project's recall over all captions, in both directions.

    Args:
        sim (ndarray): ``[N_img, N_txt]`` similarities, every caption of
            every image a column.
        owner (Sequence[int]): ``[N_txt]``, the image index of each text.
        ks (Sequence[int]): the cut-offs.

    Returns:
        dict: ``allcap_i2t_R@k`` (an image hits when any of its captions is
        in its top ``k``) and ``allcap_t2i_R@k`` (a caption hits when its
        image is in its top ``k``).
    """
    sim = np.asarray(sim, float)
    owner = np.asarray(owner, int)
    mine = owner[None, :] == np.arange(sim.shape[0])[:, None]
    i2t = recall_at_k(sim, mine, ks)
    t2i = recall_at_k(sim.T, mine.T, ks)
    out = {f'allcap_i2t_R@{k}': i2t[f'recall@{k}'] for k in ks}
    out.update({f'allcap_t2i_R@{k}': t2i[f'recall@{k}'] for k in ks})
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
                    txt_labels: Sequence[int]) -> float:
    """Quadratic kappa of the label of each image's top-1 retrieved text."""
    top1 = np.asarray(sim).argmax(1)
    return quadratic_weighted_kappa(img_labels, np.asarray(txt_labels)[top1])


def pick_gallery(n_captions: Sequence[int], seed: int = 0) -> np.ndarray:
    """One caption index per image, uniform, from ``default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    return np.array([int(rng.integers(n)) for n in n_captions], np.int64)


def bce_with_logits(logits: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Binary cross entropy of logits (``BCEWithLogitsLoss`` before its
    mean), element-wise, stable."""
    x = np.asarray(logits, float)
    t = np.asarray(targets, float)
    return np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))


def mean_of_batch_means(losses: np.ndarray, batch: np.ndarray) -> float:
    """The mean over batches of each batch's mean of ``losses`` (one row
    per sample, averaged within the row too): the published validation
    loss, ``sum of the batch losses / len(data_loader)``, which weighs a
    short last batch's samples more than the others'."""
    losses = np.asarray(losses, float).reshape(len(batch), -1).mean(1)
    ids, inverse = np.unique(batch, return_inverse=True)
    sums = np.bincount(inverse, weights=losses, minlength=len(ids))
    return float((sums / np.bincount(inverse, minlength=len(ids))).mean())


def _refuse_one_label(count: int, names: str = '') -> None:
    """Refuse, in one line, a multi-label evaluation of ``count`` (< 2)
    classes. The published metrics do not define it: torchmetrics'
    ``MultilabelAveragePrecision`` (the mAP) raises for fewer than 2
    labels, and scikit-learn reads one 0/1 column as a binary task
    (precision, recall and F1 averaged over both classes, one AUC over the
    samples); the per-class formulas here scored the positive class only
    and the per-sample AUC was nan."""
    from ..utils import InputError
    named = f' ({names})' if names else ''
    raise InputError(
        f"CrossModalMetric task='multilabel' needs 2 or more classes, the "
        f'evaluated targets have {count}{named}: the published mAP '
        '(torchmetrics MultilabelAveragePrecision) refuses fewer than 2 '
        'labels and scikit-learn scores one 0/1 column as a binary task; '
        'give the dataset 2 or more classes')


@METRICS.register_module()
class CrossModalMetric(BaseMetric):
    """Classification and retrieval over the whole evaluation set.

    Reads from each prediction ``pred_score``, ``pred_logits``, ``target``,
    ``img_emb``, ``txt_emb`` and the ``captions`` (as filled by
    :class:`BalancedCrossModal`).

    ============  ========================================================
    task          metrics
    ============  ========================================================
    multilabel    published: ``precision`` / ``recall`` / ``f1`` (macro,
                  score > ``threshold``), ``accuracy`` (element-wise),
                  ``auc`` (per sample, averaged), ``mAP``
    grade         published: ``kappa`` (quadratic, on the rounded output
                  clipped to ``0 .. num_grades - 1``; several outputs are
                  arg-maxed), ``ret_kappa`` (kappa of the grade of each
                  slide's top-1 report); project: ``accuracy``
    both          published: ``recall@k`` (image to text, one caption per
                  image), ``mean_cos`` (cosine of each image with its
                  gallery caption); ``task_loss`` (the validation task loss:
                  BCE of the logits, or MSE of the grade output, averaged
                  per batch of the evaluation loader, then over batches, as
                  published; with several processes, over the batches of
                  every process); project:
                  ``allcap_i2t_R@k``, ``allcap_t2i_R@k``
    ============  ========================================================

    Args:
        task (str): 'multilabel' or 'grade'.
        ks (Sequence[int]): recall cut-offs, positive integers.
        threshold (float): multi-label decision threshold.
        num_grades (int): grades are ``0 .. num_grades - 1``.
        gallery_seed (int): seed of the draw of each image's gallery caption
            (the same draw for every evaluation, so runs compare).
        collect_device (str): 'cpu' or 'gpu' for gathering across ranks.
        prefix (str | None): prefix of the metric names (default none:
            ``recall@1``, not ``<prefix>/recall@1``).
    """

    # no prefix, as before, without MMEngine's 'The prefix is not set' line
    # at every build (19 in a balance sweep); a ``prefix`` given still is one
    default_prefix = ''

    def __init__(self, task: str = 'multilabel',
                 ks: Sequence[int] = (1, 5, 10), threshold: float = 0.5,
                 num_grades: int = 6, gallery_seed: int = 0,
                 collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if task not in ('multilabel', 'grade'):
            # one line, as ks' (a ValueError was a traceback from a sweep)
            from ..utils import InputError
            raise InputError("CrossModalMetric task must be 'multilabel' or "
                             f"'grade', got {task!r}")
        self.task = task
        self.ks = recall_cut_offs(ks)
        self.threshold = threshold
        self.num_grades = num_grades
        #: what the last evaluation's numbers do not say, by result name
        #: (its ``prefix`` added): a grade task whose predictions are all
        #: one grade (:func:`constant_grade_note`), whose ``kappa`` is 0
        #: (or nan) by construction; a sweep's table prints them under it
        self.notes: Dict[str, str] = {}
        self.gallery_seed = gallery_seed

    @property
    def dataset_meta(self) -> Optional[dict]:
        """The evaluated dataset's meta info (MMEngine's evaluation loop
        sets it when it is built, before training starts)."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: Optional[dict]) -> None:
        """Refuse, in one line, a grade task whose dataset has another
        number of grades (its ``classes``, one per grade) than
        ``num_grades``: the rounded outputs were clipped to this metric's
        range, not the data's (a 5-grade dataset scored with the default
        6: predictions of a grade no slide has), without a word."""
        classes = (dataset_meta or {}).get('classes') \
            if isinstance(dataset_meta, dict) else None
        if self.task == 'multilabel' and classes is not None and \
                len(classes) < 2:
            _refuse_one_label(len(classes), ', '.join(map(str, classes)))
        if self.task == 'grade' and classes is not None and \
                len(classes) != self.num_grades:
            from ..utils import InputError
            raise InputError(
                f'CrossModalMetric num_grades = {self.num_grades}, but the '
                f'evaluated dataset has {len(classes)} grades ('
                f'{", ".join(map(str, classes))}): the predicted grades '
                'would be clipped to another range than its labels; set '
                "the evaluator's num_grades to the dataset's (--cfg-options "
                f'val_evaluator.num_grades={len(classes)}, and '
                'test_evaluator.num_grades where tested)')
        self._dataset_meta = dataset_meta

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        if not self.results:  # the first batch of an evaluation
            from mmengine.dist import get_rank
            # one id per batch of each process: ranks' batches stay apart
            # when the results are gathered (the published value per
            # process, averaged over every process's batches)
            self._batch = get_rank() << 32
        for ds in data_samples:
            self.results.append(dict(
                score=_np(ds['pred_score']), logits=_np(ds['pred_logits']),
                target=_np(ds['target']), img=_np(ds['img_emb']),
                txt=_np(ds['txt_emb']), captions=list(ds['captions']),
                batch=self._batch))
        self._batch += 1

    def names(self, num_outputs: int) -> list:
        """The metric names :meth:`compute_metrics` returns, in its order,
        for a task head of ``num_outputs`` outputs (a sweep checks the
        metrics it is asked for before it trains anything)."""
        if self.task == 'multilabel':
            out = ['precision', 'recall', 'f1', 'accuracy', 'auc', 'mAP',
                   'task_loss']
        else:
            out = ['kappa', 'accuracy'] + (
                ['task_loss'] if num_outputs == 1 else []) + ['ret_kappa']
        return (out + [f'recall@{k}' for k in self.ks] + ['mean_cos']
                + [f'allcap_{d}_R@{k}' for d in ('i2t', 't2i')
                   for k in self.ks])

    def grades(self, scores: np.ndarray) -> np.ndarray:
        """Predicted grades from scores ``[N, 1]`` (rounded) or ``[N, G]``."""
        if scores.shape[1] == 1:
            return np.clip(np.rint(scores[:, 0]), 0,
                           self.num_grades - 1).astype(int)
        return scores.argmax(1)

    #: metrics computed from the embeddings (the others: from the task
    #: head's outputs)
    RETRIEVAL = ('ret_kappa', 'recall@', 'mean_cos', 'allcap_')

    def compute_metrics(self, results: list) -> Dict[str, float]:
        self.notes = {}
        if not results:  # numpy's "need at least one array to stack"
            from ..utils import InputError
            raise InputError(
                'CrossModalMetric: the evaluation set is empty, there is '
                "nothing to score; check the evaluation dataloader's "
                'ann_file and indices')
        scores = np.stack([r['score'].reshape(-1) for r in results])
        logits = np.stack([r['logits'].reshape(-1) for r in results])
        # the evaluation's batch of each sample (one batch each without)
        batch = np.array([r.get('batch', i) for i, r in enumerate(results)])
        targets = np.stack([np.asarray(r['target']).reshape(-1)
                            for r in results])
        if self.task == 'multilabel' and targets.shape[1] < 2:
            _refuse_one_label(targets.shape[1])
        img = np.stack([r['img'] for r in results])
        txts = [r['txt'].reshape(-1, img.shape[1]) for r in results]
        captions: List[List[str]] = [r['captions'] for r in results]
        # a diverged model's NaN / inf outputs: every metric of them is nan
        # (compared as numbers they scored recall@k 1.0 and a mAP, as if
        # the model worked), with one warning line
        task_ok = bool(np.isfinite(scores).all() and
                       np.isfinite(logits).all())
        emb_ok = bool(np.isfinite(img).all() and
                      all(np.isfinite(t).all() for t in txts))
        if not (task_ok and emb_ok):
            from mmengine.logging import print_log
            what = ' and '.join(
                w for w, ok in (('task-head outputs', task_ok),
                                ('image / text embeddings', emb_ok))
                if not ok)
            print_log(f'CrossModalMetric: the model gives non-finite (NaN '
                      f'or inf) {what} on the evaluation set (it has '
                      'diverged): their metrics are nan',
                      logger='current', level=logging.WARNING)
            scores, logits = (np.nan_to_num(x) for x in (scores, logits))
            img = np.nan_to_num(img)
            txts = [np.nan_to_num(t) for t in txts]
        out = self._metrics(scores, logits, batch, targets, img, txts,
                            captions)
        for key in out:
            ok = emb_ok if key.startswith(self.RETRIEVAL) else task_ok
            if not ok:
                out[key] = float('nan')
        self._beyond_gallery(out, len(img), sum(map(len, txts)))
        return out

    def beyond_gallery(self, images: int, texts: int) -> List[str]:
        """The recalls at a ``k`` beyond their gallery for an evaluation
        set of ``images`` images with ``texts`` texts in all, nan whatever
        the model (:meth:`_beyond_gallery`): ``recall@k`` and
        ``allcap_t2i_R@k`` rank ``images`` candidates, ``allcap_i2t_R@k``
        all ``texts``."""
        return [name for k in self.ks for name, size in (
            (f'recall@{k}', images), (f'allcap_i2t_R@{k}', texts),
            (f'allcap_t2i_R@{k}', images)) if k > size]

    def _beyond_gallery(self, out: Dict[str, float], images: int,
                        texts: int) -> None:
        """Set to nan (in place, with one warning line) each recall at a
        ``k`` beyond its gallery: ``recall@k`` and ``allcap_t2i_R@k`` rank
        ``images`` candidates, ``allcap_i2t_R@k`` all ``texts``. Over fewer
        than ``k`` candidates every query hits (the published
        ``topk(k)`` raises): 1.0 for any model, beside real numbers."""
        gone = self.beyond_gallery(images, texts)
        if not gone:
            return
        for name in gone:
            out[name] = float('nan')
        from mmengine.logging import print_log
        print_log(f'CrossModalMetric: {", ".join(gone)} are nan: the '
                  f'evaluation set has {images} images ({texts} texts), '
                  'fewer than k, so every query would hit (the published '
                  'topk(k) raises); evaluate on more images or set the '
                  "evaluator's ks", logger='current', level=logging.WARNING)

    def _metrics(self, scores, logits, batch, targets, img, txts,
                 captions) -> Dict[str, float]:
        """Every metric of finite outputs (:meth:`compute_metrics`)."""
        # the published gallery: one caption per image
        pick = pick_gallery([len(t) for t in txts], self.gallery_seed)
        gal = np.stack([t[k] for t, k in zip(txts, pick)])
        gal_text = [c[k] for c, k in zip(captions, pick)]
        sim = img @ gal.T
        out = {}
        if self.task == 'multilabel':
            out.update(multilabel_prf(scores, targets, self.threshold))
            out['accuracy'] = elementwise_accuracy(scores, targets,
                                                   self.threshold)
            out['auc'] = samples_auc(scores, targets)
            out['mAP'] = average_precision(scores, targets)
            out['task_loss'] = mean_of_batch_means(
                bce_with_logits(logits, targets), batch)
        else:
            y = targets[:, 0].astype(int)
            pred = self.grades(scores)
            out['kappa'] = quadratic_weighted_kappa(y, pred)
            if len(pred) and (pred == pred[0]).all():
                # every sample one grade: no agreement beyond chance can be
                # measured, whatever the truth
                name = f'{self.prefix}/kappa' if self.prefix else 'kappa'
                self.notes[name] = constant_grade_note(int(pred[0]),
                                                       len(pred))
                from mmengine.logging import print_log
                print_log(f'CrossModalMetric: {name}: '
                          f'{self.notes[name]}', logger='current',
                          level=logging.WARNING)
            out['accuracy'] = float((pred == y).mean())
            if logits.shape[1] == 1:
                out['task_loss'] = mean_of_batch_means(
                    (logits[:, 0] - y) ** 2, batch)
            out['ret_kappa'] = retrieval_kappa(sim, y, y)
        # published: captions hit on equal text, slides on their own
        # report's index
        if self.task == 'multilabel':
            out.update(recall_at_k(sim, text_match(captions, gal_text),
                                   self.ks))
        else:  # ties: the reports of the own report's text
            out.update(index_recall_at_k(
                sim, self.ks, text_match(captions, gal_text)))
        out['mean_cos'] = mean_pair_cosine(img, gal, np.arange(len(gal)))
        owner = np.concatenate([np.full(len(t), i)
                                for i, t in enumerate(txts)])
        out.update(both_way_recall(img @ np.concatenate(txts).T, owner,
                                   self.ks))
        return out


def _np(x) -> np.ndarray:
    if hasattr(x, 'detach'):
        return x.detach().cpu().float().numpy()
    return np.asarray(x)
