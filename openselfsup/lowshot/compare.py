"""Paired comparison of two models on the same stored tasks.

Every model of a workdir is meta-tested on the same task stores (indices,
not features), so two models' F1 on task ``t`` of a setting are a pair.
:func:`compare` pairs the result JSONs of models A and B setting by setting
(task, novel class, shots, mode, classifier, variant) and reports, per
setting, over the T tasks:

- ``diff_mean``: the mean of ``d_t = F1_A(t) - F1_B(t)``, where ``F1(t)``
  is the task's F1 averaged over its classes (the mean of ``d_t`` is the
  difference of the two table cells);
- ``diff_ci``: the 95% half-width of that mean,
  ``t_{0.975, T-1} * sd(d, ddof=1) / sqrt(T)`` (the interval is
  ``diff_mean ± diff_ci``; undefined, null, for one task). This is the CI
  of the paired difference, not a difference of the cells' CIs;
- ``p_wilcoxon``: the two-sided Wilcoxon signed-rank p-value of the
  ``d_t`` by one rule, whatever the scipy version
  (:func:`~.metrics.signed_rank_p`): zero differences dropped, tied
  ``|d_t|`` given their mean rank; exact over all 2^n sign patterns of the
  n nonzero differences for n <= 50, else the normal approximation with
  the tie-corrected variance and no continuity correction
  (``p_wilcoxon_method``: ``exact`` or ``normal``); 1 when every ``d_t``
  is 0, null for T < 2. It was ``scipy.stats.wilcoxon`` with its
  defaults, which chose the method by version (scipy 1.17: a
  permutation p with ties or zeros up to 13 tasks, the normal one from 14;
  older versions the normal one wherever a difference was 0), so one
  setting could read 0.0625 or 0.043;
  and ``p_holm``, the Holm-adjusted p-values over the settings compared
  (for reading many settings at once);
- ``wins`` / ``ties`` / ``losses``: tasks where A is better / equal / worse
  (equal: within :data:`TIE_TOL`, 1e-12, the float rounding of a class
  average; such differences count as 0 in every statistic).

Pairs must be the same tasks: both results record the digest of the tasks
they solved (``files.task_store.sha1``: indices, labels and seed of the
first ``num_task`` tasks of the store); a setting whose task counts or
digests differ is refused with one line. Settings that only
one model ran are listed as unpaired. F1 values are fractions; the
Markdown prints percent and percentage points.
"""
import math
import textwrap
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..utils import InputError, reading_once
from ..utils.plot import colormap, figure_png, subplots
from . import paths
from .metrics import SIGNED_RANK_RULE, fmt_pct, mean_ci, signed_rank_p
from .ablation import model_command, rerun_command
from .report import (COMPARE_KEYS, DOMAINS, _natural, _order, dtype_mark,
                     dtype_note, image_groups, left_out_lines,
                     mixed_encoders, mixed_encoders_note, other_images,
                     other_images_note, other_images_way, other_images_words,
                     report_paths, result_dtype, result_normalised,
                     results_notes, workdir_results, write_report)
from .spec import CLASSIFIERS, MODES

#: the Holm p below which the plot fills a setting's marker (significant)
ALPHA = 0.05

#: paired task-F1 differences at most this far from 0 are ties: float
#: rounding of a class average (the same class F1 values summed in another
#: order), not a difference (F1 is reported to 0.01 percentage points)
TIE_TOL = 1e-12

#: the fields that make a setting (what is paired across two models)
SETTING_FIELDS = ('task', 'novel_class', 'num_shots', 'mode', 'clf',
                  'variant')


def setting_key(result: Dict) -> Tuple:
    """The setting of a result: ``(task, novel_class, shots, mode, clf,
    variant)``."""
    return (result['task'], result.get('novel_class'),
            int(result['num_shots']), result['mode'], result['clf'],
            result.get('variant') or '')


def _sort_key(key: Tuple):
    task, novel, shots, mode, clf, variant = key
    return (_order(task, DOMAINS), -1 if novel is None else int(novel),
            _order(mode, MODES), _order(clf, CLASSIFIERS), variant, shots)


def setting_label(key: Tuple) -> str:
    """``near novel7 5-shot linear Ridge`` (plus a variant, if any)."""
    task, novel, shots, mode, clf, variant = key
    parts = [task] + ([f'novel{novel}'] if novel is not None else []) + [
        f'{shots}-shot', mode, clf] + ([f'[{variant}]'] if variant else [])
    return ' '.join(parts)


def holm(pvalues: Sequence[Optional[float]]) -> List[Optional[float]]:
    """Holm's step-down adjustment of p-values (None entries are skipped).

    The k-th smallest of m p-values becomes
    ``max_{j <= k} min(1, (m - j + 1) p_(j))``.
    """
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    out: List[Optional[float]] = [None] * len(pvalues)
    m = len(idx)
    running = 0.0
    for rank, i in enumerate(sorted(idx, key=lambda i: pvalues[i])):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def paired_stats(f1_a: np.ndarray, f1_b: np.ndarray,
                 confidence: float = 0.95) -> Dict:
    """Statistics of the paired task-F1 differences of one setting.

    Args:
        f1_a (np.ndarray): ``[T]`` task F1 of A (fractions).
        f1_b (np.ndarray): ``[T]`` task F1 of B, the same tasks.
        confidence (float): of the interval.

    Returns:
        dict: ``num_task``, ``mean_a``, ``mean_b``, ``diff_mean``,
        ``diff_ci`` (half-width), ``diff_low``, ``diff_high``,
        ``p_wilcoxon``, ``p_wilcoxon_method`` (``exact`` or ``normal``),
        ``wins``, ``ties``, ``losses`` (None where undefined).
    """
    a = np.asarray(f1_a, dtype=np.float64)
    b = np.asarray(f1_b, dtype=np.float64)
    d = a - b
    # equal task F1 summed over classes in another order differ in the
    # last bits (1e-16): a tie, not a win, and a zero for Wilcoxon
    d[np.abs(d) <= TIE_TOL] = 0.0
    mean, half = mean_ci(d, confidence)
    half = None if math.isnan(float(half)) else float(half)
    p, method = None, None
    if len(d) >= 2:  # |d| equal but for those bits: tied ranks
        p, method = signed_rank_p(d, TIE_TOL)
    mean = float(mean)
    return dict(num_task=int(len(d)), mean_a=float(a.mean()),
                mean_b=float(b.mean()), diff_mean=mean, diff_ci=half,
                diff_low=None if half is None else mean - half,
                diff_high=None if half is None else mean + half,
                p_wilcoxon=p, p_wilcoxon_method=method,
                wins=int((d > 0).sum()), ties=int((d == 0).sum()),
                losses=int((d < 0).sum()))


def _task_f1(result: Dict) -> np.ndarray:
    per_task = result.get('per_task_f1')
    if not per_task:
        raise InputError(f'{result["_file"]}: no per_task_f1; a paired '
                         'comparison needs the per-task F1 (run the '
                         'meta-test again)')
    f1 = np.asarray(per_task, dtype=np.float64)
    if f1.ndim != 2 or f1.shape[0] != int(result['num_task']):
        raise InputError(f'{result["_file"]}: per_task_f1 is not '
                         f'[num_task, classes]')
    return f1.mean(axis=1)


def _store_sha1(result: Dict) -> str:
    store = (result.get('files') or {}).get('task_store') or {}
    if not store.get('sha1'):
        raise InputError(f'{result["_file"]}: no files.task_store.sha1; '
                         'without it the tasks cannot be shown to be the '
                         'same (run the meta-test again)')
    return store['sha1']


def _index(results: Sequence[Dict], model: str) -> Dict[Tuple, Dict]:
    out: Dict[Tuple, Dict] = {}
    for r in results:
        if r['model'] != model:
            continue
        key = setting_key(r)
        if key in out:
            raise InputError(f'{r["_file"]}: a second result of {model} for '
                             f'{setting_label(key)} (the first is '
                             f'{out[key]["_file"]}); keep one of them')
        out[key] = r
    return out


def compare_results(results: Sequence[Dict], model_a: str, model_b: str,
                    same_settings: Optional[Callable[[], str]] = None
                    ) -> Dict:
    """Pair the results of two models setting by setting.

    Args:
        results (sequence[dict]): from :func:`report.workdir_results`.
        model_a (str): model A (differences are A - B).
        model_b (str): model B.
        same_settings (callable, optional): the way to run both on the
            same settings, named where no setting is in common (default:
            the meta-test's scripts, which write ``results/``; the
            ablation's results need the ablation's command of B with A's
            settings, :func:`~.ablation.model_command`: review r115).

    Returns:
        dict: ``model_a``, ``model_b``, ``settings`` (one dict per paired
        setting: the setting's fields, ``label``, :func:`paired_stats`,
        ``p_holm``, ``task_store_sha1``, ``dtype_a``, ``dtype_b`` (the
        classifiers' precision, None where unrecorded), ``normalised_a``,
        ``normalised_b`` (whether the features were L2-normalised,
        ``files.normalised``; None where unrecorded), ``file_a``,
        ``file_b``),
        ``unpaired`` ({``a_only``, ``b_only``}: setting labels), ``test``
        (what the statistics are).

    Raises:
        InputError: the same model twice, a model without results, no
            setting in common, or a pair run on different tasks.
    """
    if model_a == model_b:
        raise InputError(f'--compare {model_a} {model_b}: two different '
                         'models, please')
    known = sorted({r['model'] for r in results}, key=_natural)
    index = {}
    for m in (model_a, model_b):
        index[m] = _index(results, m)
        if not index[m]:
            raise InputError(f'--compare: no results of model {m!r} (models '
                             f'with results: {", ".join(known)})')
    a, b = index[model_a], index[model_b]
    common = sorted(set(a) & set(b), key=_sort_key)
    if not common:
        ran = '; '.join(
            f'{m} ran {setting_label(min(index[m], key=_sort_key))}'
            + (f' and {len(index[m]) - 1} more' if len(index[m]) > 1
               else '') for m in (model_a, model_b))
        raise InputError(f'--compare {model_a} {model_b}: no setting was run '
                         'for both models (same task, shots, mode, '
                         f'classifier and novel class): {ran}; '
                         + (same_settings() if same_settings else
                            'meta-test both models on the same settings in '
                            'this workdir (evaluate_encoder.sh or sweep.py, '
                            'with the same domains, shots and --num_task)'))
    settings = []
    for key in common:
        ra, rb = a[key], b[key]
        if int(ra['num_task']) != int(rb['num_task']):
            raise InputError(f'{ra["_file"]} ran {ra["num_task"]} tasks but '
                             f'{rb["_file"]} ran {rb["num_task"]}; run both '
                             'with the same --num_task')
        sa, sb = _store_sha1(ra), _store_sha1(rb)
        if sa != sb:
            raise InputError(f'{ra["_file"]} and {rb["_file"]} were run on '
                             f'different task stores (sha1 {sa[:12]} vs '
                             f'{sb[:12]}); a paired comparison needs the '
                             'same tasks: meta-test both on one workdir\'s '
                             'stores (a store drawn again since one of them '
                             'ran: run that one again)')
        row = dict(zip(SETTING_FIELDS, key), label=setting_label(key),
                   **paired_stats(_task_f1(ra), _task_f1(rb)),
                   task_store_sha1=sa, dtype_a=result_dtype(ra),
                   dtype_b=result_dtype(rb),
                   normalised_a=result_normalised(ra),
                   normalised_b=result_normalised(rb), file_a=ra['_file'],
                   file_b=rb['_file'])
        settings.append(row)
    for row, p in zip(settings, holm([s['p_wilcoxon'] for s in settings])):
        row['p_holm'] = p
    tested = sum(s['p_wilcoxon'] is not None for s in settings)
    holm_over = f'the {tested} settings'
    if tested < len(settings):  # one task: no p, not in Holm's m
        none = len(settings) - tested
        holm_over += (f' with a p-value ({none} of one task '
                      f'{"has" if none == 1 else "have"} none)')
    return dict(
        model_a=model_a, model_b=model_b, units='fraction',
        difference='A - B, task F1 averaged over classes',
        test=('mean paired difference over tasks with its 95% t interval; '
              f'two-sided Wilcoxon signed-rank p ({SIGNED_RANK_RULE}); '
              f'Holm-adjusted over {holm_over}'),
        settings=settings,
        unpaired=dict(a_only=[setting_label(k) for k in sorted(
            set(a) - set(b), key=_sort_key)],
            b_only=[setting_label(k) for k in sorted(
                set(b) - set(a), key=_sort_key)]))


def paired(cmp: Dict) -> set:
    """The result files a comparison paired (both sides)."""
    return {s[f'file_{k}'] for s in cmp['settings'] for k in 'ab'}


def check_same_images(cmp: Dict) -> None:
    """Refuse a comparison whose paired results read a feature set
    extracted from other images under the same names for the two models
    (``cmp['other_images']``, :func:`~.report.other_images`: two digests
    recorded; a side recording none is noted, not refused): the same
    task indices pick other images, so the pairs are not the same tasks.
    The line names the two models, the set and the extraction that makes
    the older set again (:func:`~.report.other_images_way`)."""
    a, b = cmp['model_a'], cmp['model_b']
    for group in image_groups(cmp.get('other_images') or {}):
        raise InputError(
            f'--compare {a} {b}: {other_images_words(group)}, so the same '
            'task indices pick other images and no pair is the same task; '
            + other_images_way(group))


def _pp(value: Optional[float]) -> str:
    """A difference in percentage points, signed."""
    return '–' if value is None else f'{100 * value:+.2f}'


def _p(value: Optional[float]) -> str:
    """A p-value as printed: three decimals, two significant digits below
    0.001, and as many more as keep the printed value on the p's side of
    :data:`ALPHA` (0.0496 printed ``0.050`` beside a marker filled for
    p < 0.05: ``0.0496``). The JSON keeps the exact value."""
    if value is None:
        return '–'
    text = f'{value:.2g}' if value < 0.001 else f'{value:.3f}'
    digits = 3
    while (float(text) < ALPHA) != (value < ALPHA) and digits <= 17:
        text = f'{value:.{digits}g}'
        digits += 1
    return text


def _mixed_norm(setting: Dict) -> bool:
    """A pair of normalised features' results with raw features' ones
    (both recorded, and different)."""
    a, b = setting.get('normalised_a'), setting.get('normalised_b')
    return a is not None and b is not None and a != b


def _norm_word(normalised: bool) -> str:
    return 'normalised' if normalised else 'raw'


def format_compare(cmp: Dict) -> str:
    """The comparison as Markdown (F1 in percent, differences in
    percentage points)."""
    a, b = cmp['model_a'], cmp['model_b']
    which = ' (their ablation results)' if cmp.get('results') == \
        'ablation' else ''
    lines = [f'### {a} vs {b}{which}: paired difference of task F1 (A - B, '
             'percentage points) over the same tasks', '',
             f'| setting | tasks | {a} F1 (%) | {b} F1 (%) | A - B | 95% CI '
             '| Wilcoxon p | Holm p | A better / tied / worse |',
             '|---|---:|---:|---:|---:|---|---:|---:|---:|']
    for s in cmp['settings']:
        ci = '–' if s['diff_ci'] is None else \
            f'[{_pp(s["diff_low"])}, {_pp(s["diff_high"])}]'
        marks = [f'{side} {dtype_mark(s.get(f"dtype_{key}"))}'
                 for side, key in ((a, 'a'), (b, 'b'))
                 if dtype_mark(s.get(f'dtype_{key}'))]
        if _mixed_norm(s):
            marks += [f'{side} {_norm_word(s[f"normalised_{key}"])}'
                      for side, key in ((a, 'a'), (b, 'b'))]
        label = s['label'] + (f' ({", ".join(marks)})' if marks else '')
        lines.append(
            f'| {label} | {s["num_task"]} | {fmt_pct(s["mean_a"])} | '
            f'{fmt_pct(s["mean_b"])} | {_pp(s["diff_mean"])} | {ci} | '
            f'{_p(s["p_wilcoxon"])} | {_p(s["p_holm"])} | '
            f'{s["wins"]} / {s["ties"]} / {s["losses"]} |')
    for side, name in (('a_only', a), ('b_only', b)):
        left = cmp['unpaired'][side]
        if left:
            lines += ['', f'Run for {name} only (not compared): '
                      + ', '.join(left)]
    lines += dtype_note(s.get(f'dtype_{k}') for s in cmp['settings']
                        for k in 'ab')
    if any(_mixed_norm(s) for s in cmp['settings']):
        lines += ['', 'Marked normalised / raw: one model\'s features were '
                  'L2-normalised and the other\'s were not '
                  '(files.normalised); the difference includes the '
                  'normalisation.']
    lines += mixed_encoders_note(cmp.get('mixed_encoders') or {})
    lines += other_images_note(cmp.get('other_images') or {})
    lines += ['', f'Test: {cmp["test"]}.']
    return '\n'.join(lines + left_out_lines(cmp.get('left_out') or ())) \
        + '\n'


def plot_compare(cmp: Dict) -> bytes:
    """The differences with their 95% CIs: settings on the x axis (grouped
    by domain), difference in percentage points on the y axis, zero
    dashed; filled markers where the Holm-adjusted p is below 0.05.

    Returns:
        bytes: the PNG.
    """
    settings = cmp['settings']
    n = len(settings)
    width = max(6.0, 0.32 * n + 2)
    # what the table's notes say of the results (mixed encoders, left
    # out), as the summary's plot: one line each, wrapped to the width
    notes = [line for text in results_notes(cmp)
             for line in textwrap.wrap(text, int(16 * width))]
    fig, ax = subplots(figsize=(width, 4.6 + 0.17 * len(notes)))
    colours = colormap('tab10')
    modes = sorted({s['mode'] for s in settings},
                   key=lambda m: _order(m, MODES))
    for i, s in enumerate(settings):
        colour = colours(modes.index(s['mode']) % 10)
        err = 0.0 if s['diff_ci'] is None else 100 * s['diff_ci']
        strong = s['p_holm'] is not None and s['p_holm'] < ALPHA
        ax.errorbar([i], [100 * s['diff_mean']], yerr=[err], fmt='o',
                    capsize=3, color=colour,
                    markerfacecolor=colour if strong else 'white')
    ax.axhline(0, color='0.4', linestyle='--', linewidth=0.8)
    tasks = [s['task'] for s in settings]
    for i in range(1, n):
        if tasks[i] != tasks[i - 1]:
            ax.axvline(i - 0.5, color='0.8', linewidth=0.8)
    ax.set_xticks(range(n))
    ax.set_xticklabels([s['label'] for s in settings], rotation=70,
                       ha='right', fontsize=7)
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_ylabel(f'{cmp["model_a"]} - {cmp["model_b"]}\n'
                  'task F1 (percentage points)')
    ax.set_title(f'{cmp["model_a"]} vs {cmp["model_b"]}: mean paired '
                 'difference, 95% CI (filled: Holm p < 0.05)', fontsize=9)
    ax.grid(axis='y', alpha=0.3)
    for j, mode in enumerate(modes):
        ax.plot([], [], 'o', color=colours(j % 10), label=mode)
    ax.legend(fontsize=7, frameon=False, loc='best')
    for k, text in enumerate(reversed(notes)):
        fig.text(0.5, (0.08 + 0.17 * k) / fig.get_figheight(), text,
                 ha='center', fontsize=7)
    fig.tight_layout(rect=(0, (0.08 + 0.17 * len(notes))
                           / fig.get_figheight(), 1, 1))
    return figure_png(fig)


@reading_once()  # each input file read once for the report
def compare(workdir: str, model_a: str, model_b: str,
            output: Optional[str] = None,
            clf: Optional[str] = None,
            ablation: bool = False) -> Dict[str, str]:
    """Compare two models of a workdir; write Markdown, JSON and plot.

    Everything is computed before the first file is written.

    Args:
        workdir (str): the low-shot ``--workdir``.
        model_a (str): model A (differences are A - B).
        model_b (str): model B.
        output (str, optional): path prefix (``PREFIX.md/.json/.png``);
            default ``<workdir>/summary/compare/<A>/vs_<B>/all``, or
            ``.../<clf>`` with ``clf`` (for ``ablation``,
            ``summary/ablation/<A>/vs_<B>/...``; a folder given as
            ``output`` holds them alike): :func:`~.paths.compare_name`.
        clf (str, optional): only this classifier.
        ablation (bool): pair the two models' ablation results
            (``<workdir>/ablation_results/<model>/``, ``wsi_workdir/
            ablation.py``'s, one setting per row of its table: the
            variant tells K, aug_times and aug shots apart) instead of
            ``results/``; the ablations must have run on the same tasks
            (the same ``--num_task`` and stores), as every pair.

    Returns:
        dict: ``markdown``, the comparison (``comparison``) and the paths
        ``md``, ``json``, ``png``.
    """
    # a model without ablation results: its ablation of the other's
    # settings, which pairs with it
    results, left_out = workdir_results(
        workdir, clf, (model_a, model_b), ablation,
        rerun_command if ablation else None,
        (lambda m: model_command(m, workdir, model_b if m == model_a
                                 else model_a)) if ablation else None)
    # no setting in common: the ablation pairs B run with A's settings
    # (review r115: the meta-test's scripts were named, which write
    # results/, not ablation_results/)
    cmp = compare_results(results, model_a, model_b, (
        lambda: f"run {model_b}'s ablation with the settings of "
        f"{model_a}'s: {model_command(model_b, workdir, model_a)}")
        if ablation else None)
    cmp['results'] = 'ablation' if ablation else 'results'
    cmp['mixed_encoders'] = mixed_encoders(results, workdir)
    # of the results paired: a set of other images refused, one whose
    # images are unknown on a side noted
    both = paired(cmp)
    cmp['other_images'] = other_images(
        [r for r in results if r['_file'] in both], workdir)
    check_same_images(cmp)
    cmp['left_out'] = left_out
    out = report_paths(workdir, output,
                       paths.compare_name(model_a, model_b, clf, ablation),
                       COMPARE_KEYS,
                       'a comparison written by summarize.py --compare')
    text = format_compare(cmp)
    write_report(out, text, cmp, plot_compare(cmp),
                 [r['_file'] for r in results]
                 + [item['file'] for item in left_out],
                 dict(compare=[model_a, model_b], clf=clf, ablation=ablation))
    return dict(out, markdown=text, comparison=cmp)
