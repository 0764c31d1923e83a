"""Per-task F1 and its summary over tasks: pure functions of arrays.

F1 values are fractions in [0, 1] everywhere (arrays, result JSONs,
summaries); only :func:`format_table` and the report print percent.
"""
import math
from typing import Dict, Optional, Sequence

import numpy as np

from ..classes import COLON_CLASSES, LUNG_CLASSES


def per_task_f1(pred: np.ndarray, true: np.ndarray,
                num_classes: int) -> np.ndarray:
    """F1 of each class in each task, vectorised over tasks.

    Args:
        pred (np.ndarray): int ``[T, q]`` predicted class positions 0..C-1.
        true (np.ndarray): int ``[T, q]`` true class positions 0..C-1.
        num_classes (int): C.

    Returns:
        np.ndarray: float64 ``[T, C]`` F1 in [0, 1]; 0 where a class is
        neither predicted nor present (scikit-learn's ``zero_division=0``).
    """
    pred = np.asarray(pred)
    true = np.asarray(true)
    c = np.arange(num_classes)[None, None, :]
    p = pred[..., None] == c
    t = true[..., None] == c
    tp = (p & t).sum(axis=1)
    denom = p.sum(axis=1) + t.sum(axis=1)  # 2tp + fp + fn
    return np.where(denom > 0, 2.0 * tp / np.maximum(denom, 1), 0.0)


def mean_ci(values: np.ndarray, confidence: float = 0.95):
    """Mean over axis 0 and the Student-t confidence half-width.

    ``ci = t_{(1+confidence)/2, T-1} * std(ddof=1) / sqrt(T)`` (the published
    ``mean_confidence_interval``); NaN when T < 2 (undefined).

    Args:
        values (np.ndarray): ``[T, ...]`` per-task numbers.
        confidence (float): two-sided confidence level.

    Returns:
        (np.ndarray, np.ndarray): mean and half-width, shape ``values.shape[1:]``.
    """
    values = np.asarray(values, dtype=np.float64)
    num = values.shape[0]
    mean = values.mean(axis=0)
    if num < 2:
        return mean, np.full_like(mean, np.nan)
    sem = values.std(axis=0, ddof=1) / np.sqrt(num)
    return mean, _t_quantile(num - 1, (1 + confidence) / 2) * sem


def _t_quantile(df: int, q: float) -> float:
    """Student's t quantile of ``df`` degrees of freedom at ``q``:
    scipy's ``stdtrit(df, q)``, the function ``scipy.stats.t.ppf(q, df)``
    uses. Imported here, where a half-width is computed, not with the
    module: ``scipy.special`` takes ~0.4 s to import (``scipy.stats``
    another ~0.4 s), which every command that imports the report paid,
    a kNN summary of trained checkpoints alone (no half-width) too."""
    from scipy.special import stdtrit
    return stdtrit(df, q)


def ci_bound(num: int, confidence: float = 0.95) -> float:
    """The largest :func:`mean_ci` half-width of ``num`` values in [0, 1]:
    the sample variance is largest with every value 0 or 1, as evenly split
    as ``num`` allows (``k = num // 2`` ones), so the bound is
    ``t_{(1+confidence)/2, num-1} * sqrt(k * (num - k)) / (num *
    sqrt(num - 1))`` (``0.5 / sqrt(num - 1)`` for even ``num``); above 1
    for few values (6.35 for 2, 1.43 for 3), 0.031 for 1000. NaN when
    ``num`` < 2 (the half-width is undefined)."""
    if num < 2:
        return float('nan')
    k = num // 2
    return float(_t_quantile(num - 1, (1 + confidence) / 2)
                 * math.sqrt(k * (num - k)) / (num * math.sqrt(num - 1)))


#: up to this many nonzero differences :func:`signed_rank_p` is exact
SIGNED_RANK_EXACT_MAX = 50

#: the rule :func:`signed_rank_p` follows, in one line (reports name it)
SIGNED_RANK_RULE = (
    'zero differences dropped, tied |d| given their mean rank; exact over '
    'all 2^n sign patterns of the n nonzero differences for n <= '
    f'{SIGNED_RANK_EXACT_MAX}, else the normal approximation with the '
    'tie-corrected variance and no continuity correction')


def _mid_ranks(values: np.ndarray, tol: float):
    """Ranks 1..n of ``values`` in ascending order, values in a run of
    sorted neighbours at most ``tol`` apart (ties) given the mean rank of
    their run; and the size of each run."""
    order = np.argsort(values, kind='stable')
    run = np.cumsum(np.r_[True, np.diff(values[order]) > tol]) - 1
    sizes = np.bincount(run)
    first = np.cumsum(sizes) - sizes  # 0-based position of each run
    ranks = np.empty(len(values))
    ranks[order] = (first + (sizes + 1) / 2)[run]
    return ranks, sizes


def signed_rank_p(d: np.ndarray, tol: float = 0.0):
    """Two-sided Wilcoxon signed-rank p of paired differences, by one rule
    whatever the scipy version (:data:`SIGNED_RANK_RULE`; the defaults of
    ``scipy.stats.wilcoxon`` chose between exact, permutation and normal
    p by version, and spelt the normal one ``approx`` or ``asymptotic``).

    Differences within ``tol`` of 0 are dropped (Wilcoxon's rule,
    ``zero_method='wilcox'``); of the ``n`` left, absolute values within
    ``tol`` of each other are ties and share their mean rank. ``W+`` is
    the rank sum of the positive ones. For ``n <=``
    :data:`SIGNED_RANK_EXACT_MAX` the p is exact: the share of the ``2^n``
    equally likely sign patterns whose rank sum is as far out on either
    side, ``min(1, 2 min(P(W <= W+), P(W >= W+)))`` (the exact
    distribution without ties, the permutation distribution with them);
    above, ``erfc(|z| / sqrt 2)`` with ``z = (W+ - n(n+1)/4) / sqrt(
    n(n+1)(2n+1)/24 - sum(t^3 - t)/48)`` over the tie sizes ``t``, no
    continuity correction (scipy's ``correction=False``).

    Returns:
        (float, str): the p (1 when no difference is left) and ``'exact'``
        or ``'normal'``.
    """
    d = np.asarray(d, dtype=np.float64).ravel()
    d = d[np.abs(d) > tol]
    n = len(d)
    if n == 0:
        return 1.0, 'exact'
    ranks, sizes = _mid_ranks(np.abs(d), tol)
    if n > SIGNED_RANK_EXACT_MAX:
        w = ranks[d > 0].sum()
        var = n * (n + 1) * (2 * n + 1) / 24 - (sizes ** 3 - sizes).sum() / 48
        z = (w - n * (n + 1) / 4) / math.sqrt(var)
        return math.erfc(abs(z) / math.sqrt(2)), 'normal'
    # twice a mean rank is whole: count the sign patterns by rank sum
    # (2^n <= 2^50 fits int64, so the counts and the p are exact)
    twice = np.rint(2 * ranks).astype(np.int64)
    counts = np.zeros(int(twice.sum()) + 1, dtype=np.int64)
    counts[0] = 1
    for r in twice:
        counts[r:] = counts[r:] + counts[:-r]
    w2 = int(twice[d > 0].sum())
    extreme = min(int(counts[:w2 + 1].sum()), int(counts[w2:].sum()))
    return min(1.0, 2 * extreme / 2 ** n), 'exact'


def harmonic_mean(a: float, b: float) -> float:
    """``2ab / (a + b)`` (0 when both are 0; NaN if either is NaN)."""
    if math.isnan(a) or math.isnan(b):
        return float('nan')
    return 0.0 if a + b == 0 else 2.0 * a * b / (a + b)


def summarize(f1: np.ndarray, mixture: bool = False) -> Dict:
    """Summary of per-task F1 ``[T, C]`` (fractions).

    Returns:
        dict: ``per_class_mean`` [C], ``per_class_ci`` [C], ``average_mean``
        (mean of the per-class means), ``average_ci`` (mean of the per-class
        half-widths; NaN for a single task), and for the mixture domain the
        published final metric: ``colon_mean``/``lung_mean`` (means over
        classes 0, 1 and 2, 3, 4), ``harmonic_mean`` of the two, and its CI
        "computed in the same way" (the published README): the harmonic mean
        of the colon and lung mean CIs (``colon_ci``, ``lung_ci``,
        ``harmonic_ci``); None elsewhere.
    """
    mean, ci = mean_ci(f1)
    out = {'per_class_mean': mean, 'per_class_ci': ci,
           'average_mean': float(mean.mean()), 'average_ci': float(ci.mean()),
           'harmonic_mean': None, 'harmonic_ci': None, 'colon_mean': None,
           'lung_mean': None, 'colon_ci': None, 'lung_ci': None}
    if mixture:
        colon, lung = list(COLON_CLASSES), list(LUNG_CLASSES)
        out.update(colon_mean=float(mean[colon].mean()),
                   lung_mean=float(mean[lung].mean()),
                   colon_ci=float(ci[colon].mean()),
                   lung_ci=float(ci[lung].mean()))
        out['harmonic_mean'] = harmonic_mean(out['colon_mean'],
                                             out['lung_mean'])
        out['harmonic_ci'] = harmonic_mean(out['colon_ci'], out['lung_ci'])
    return out


def fmt_pct(value: Optional[float]) -> str:
    """A fraction as percent with two decimals; ``–`` when undefined."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '–'
    return f'{100 * value:.2f}'


def format_table(summary: Dict, classes: Optional[Sequence[str]] = None,
                 notes: Sequence[str] = ()) -> str:
    """The original's table: one ``mean ci`` line per class (percent), the
    average last; for the mixture domain a ``harmonic mean ci`` line; a CI
    that is undefined (one task) prints as ``–``. ``notes`` are appended.
    """
    lines = []
    names = list(classes) if classes is not None else \
        [str(i) for i in range(len(summary['per_class_mean']))]
    width = max(len(n) for n in names + ['harmonic'])
    for name, m, c in zip(names, summary['per_class_mean'],
                          summary['per_class_ci']):
        lines.append(f'{name:<{width}} {fmt_pct(m)} {fmt_pct(c)}')
    lines.append(f'{"average":<{width}} {fmt_pct(summary["average_mean"])} '
                 f'{fmt_pct(summary["average_ci"])}')
    if summary.get('harmonic_mean') is not None:
        lines.append(f'{"harmonic":<{width}} '
                     f'{fmt_pct(summary["harmonic_mean"])} '
                     f'{fmt_pct(summary.get("harmonic_ci"))}')
    lines += list(notes)
    return '\n'.join(lines)
