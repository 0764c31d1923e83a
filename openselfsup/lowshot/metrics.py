"""Per-task F1 and its summary over tasks: pure functions of arrays.

All F1 values are in percent points (0-100), as the original printed them.
"""
from typing import Dict, Optional, Sequence

import numpy as np
from scipy import stats

#: LC25000 label groups for the mixture-domain harmonic mean
COLON_CLASSES = (0, 1)
LUNG_CLASSES = (2, 3, 4)


def per_task_f1(pred: np.ndarray, true: np.ndarray,
                num_classes: int) -> np.ndarray:
    """F1 of each class in each task, vectorised over tasks.

    Args:
        pred (np.ndarray): int ``[T, q]`` predicted class positions 0..C-1.
        true (np.ndarray): int ``[T, q]`` true class positions 0..C-1.
        num_classes (int): C.

    Returns:
        np.ndarray: float64 ``[T, C]`` F1 in percent; 0 where a class is
        neither predicted nor present (scikit-learn's ``zero_division=0``).
    """
    pred = np.asarray(pred)
    true = np.asarray(true)
    c = np.arange(num_classes)[None, None, :]
    p = pred[..., None] == c
    t = true[..., None] == c
    tp = (p & t).sum(axis=1)
    denom = p.sum(axis=1) + t.sum(axis=1)  # 2tp + fp + fn
    with np.errstate(invalid='ignore', divide='ignore'):
        f1 = np.where(denom > 0, 2.0 * tp / np.maximum(denom, 1), 0.0)
    return 100.0 * f1


def mean_ci(values: np.ndarray, confidence: float = 0.95):
    """Mean over axis 0 and the Student-t confidence half-width.

    ``ci = t_{(1+confidence)/2, T-1} * std(ddof=1) / sqrt(T)``; NaN if T < 2.

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
    return mean, stats.t.ppf((1 + confidence) / 2, num - 1) * sem


def harmonic_mean(a: float, b: float) -> float:
    """``2ab / (a + b)`` (0 when both are 0)."""
    return 0.0 if a + b == 0 else 2.0 * a * b / (a + b)


def summarize(f1: np.ndarray, mixture: bool = False) -> Dict:
    """Summary of per-task F1 ``[T, C]`` (percent).

    Returns:
        dict: ``per_class_mean`` [C], ``per_class_ci`` [C], ``average_mean``
        (mean of the per-class means), ``average_ci`` (mean of the per-class
        half-widths), and ``harmonic_mean`` of the colon-class mean (classes
        0, 1) and lung-class mean (2, 3, 4) when ``mixture`` (else None),
        with ``colon_mean`` and ``lung_mean``.
    """
    mean, ci = mean_ci(f1)
    out = {'per_class_mean': mean, 'per_class_ci': ci,
           'average_mean': float(mean.mean()), 'average_ci': float(ci.mean()),
           'harmonic_mean': None, 'colon_mean': None, 'lung_mean': None}
    if mixture:
        colon = float(mean[list(COLON_CLASSES)].mean())
        lung = float(mean[list(LUNG_CLASSES)].mean())
        out.update(colon_mean=colon, lung_mean=lung,
                   harmonic_mean=harmonic_mean(colon, lung))
    return out


def format_table(summary: Dict, classes: Optional[Sequence[str]] = None) -> str:
    """The original's table: one ``mean ci`` line per class, the average last.

    Lines are ``<mean> <ci>`` with two decimals, prefixed by the class name
    when given; a harmonic-mean line follows for mixture-domain summaries.
    """
    lines = []
    names = list(classes) if classes is not None else \
        [str(i) for i in range(len(summary['per_class_mean']))]
    width = max(len(n) for n in names + ['average'])
    for name, m, c in zip(names, summary['per_class_mean'],
                          summary['per_class_ci']):
        lines.append(f'{name:<{width}} {m:.2f} {c:.2f}')
    lines.append(f'{"average":<{width}} {summary["average_mean"]:.2f} '
                 f'{summary["average_ci"]:.2f}')
    if summary.get('harmonic_mean') is not None:
        lines.append(f'{"harmonic":<{width}} {summary["harmonic_mean"]:.2f}')
    return '\n'.join(lines)
