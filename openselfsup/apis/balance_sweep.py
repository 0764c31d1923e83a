"""Sweep lambda of balanced cross-modal tuning and tabulate the trade-off.

1. **Baseline**: the config's model trained with the task loss only
   (lambda = 0) for ``baseline_epochs`` (0: the model as initialised or as
   loaded from its checkpoints, the published start), saved as
   ``baseline/baseline.pth`` and evaluated.
2. **Each lambda**: tune from the baseline checkpoint with
   ``L = lambda * L_con + (1 - lambda) * L_task`` for
   ``train_cfg.max_epochs`` (fewer if early stopping stops it), then
   evaluate.
3. **Report**: ``sweep.json`` (every metric of every run), ``sweep.md`` (the
   table), ``sweep.png`` (the ``plot_metrics`` against lambda, and the task
   metric against the retrieval metric). ``sweep.json`` is standard JSON:
   a ``nan`` metric (a run that diverged) is written ``null``, and
   :func:`load_sweep` reads it back as ``nan``. A rerun in the same work
   dir removes the previous sweep's three files as its first run starts
   (:func:`_remove_previous_report`): an interrupted rerun leaves no
   summary of runs it has replaced. Files of those names that a sweep
   did not write (:func:`is_sweep_report`: a user's own ``sweep.md``) are
   refused before anything trains, never removed.

Every run goes through :func:`openselfsup.apis.train`, with its own work
directory ``<work_dir>/lambda_<value>`` (``<work_dir>/baseline``). A run
that has been evaluated writes its record there, :data:`RUN_RECORD`: the
code's :data:`RECORD_VERSION`, its settings (:func:`run_settings`) and its
row; a run about to train removes it first. With ``resume=True`` a sweep
reuses every run whose record is there and whose version and settings are
this sweep's, trains only the others, and refuses a recorded run of
another version or other settings, or, float32 on a GPU, one that trained
with TF32 convolutions (:func:`_recorded_run`).

With ``seeds`` (``--seeds``; the published code trains one run per lambda
and fold, and sets no seed: the default here is one run per lambda, with
the config's seeds) each lambda is tuned once per seed, from the one
baseline, with ``randomness.seed`` and ``model.seed`` set to it, in its own
folder ``<work_dir>/lambda_<value>_seed_<seed>`` with its own record; the
report gives each lambda's mean over its seeds and the Student-t 95%
confidence half-width (:data:`SPREAD`, :func:`seed_summary`), beside every
run's row.
"""
import contextlib
import json
import logging
import glob
import math
import os
import re
from typing import Callable, Dict, Iterator, List, Optional, Sequence

from mmengine.logging import print_log

from ..utils import (InputError, check_distinct, check_fraction,
                     check_replaceable, check_writable, close_entry,
                     file_sha1, load_json, locked,
                     remove_set, save_json, save_set)
from ..utils.checkpoint_files import SWEEP_RUN_RECORD
from ..utils.console import log_file, short_console, shown
from ..utils.errors import note_interruption, one_line, terminate_raising
from ..utils.fingerprint import file_sha1_kept, unread_digests
from ..utils.io import json_text
from ..config import (NUMPY_SEED_MAX, UNSET, check_early_stopping_hooks,
                      check_scope_names, config_variables,
                      data_contents_change, data_folder_digests,
                      data_folders, default_work_dir, file_contents_change,
                      first_difference, is_int, is_number,
                      key_change, load_config,
                      numpy_seed, prefix_folder, reads_a_file,
                      recorded_settings,
                      seed_additions, type_name, unmoved_copies_said)
from .fast_path import float32_block, full_float32, trained_precision
from .train import (build_runner, check_data_paths,  # noqa: F401
                    check_disjoint_splits, check_load_from,
                    check_loaded_config, check_loop_sections,
                    check_not_sweep_run_dir, resume_choice,
                    run_warnings_hook, train, read_sections, unmoved_notes,
                    warning_words, worker_warnings_left_out)

#: the file in a run's folder that says the run has ended and been
#: evaluated: ``version`` (:data:`RECORD_VERSION`), ``settings``
#: (:func:`run_settings`), ``row`` (its row of
#: ``sweep.json``), the device it ran on and, float32 on a GPU, ``tf32:
#: false`` (:func:`~openselfsup.apis.fast_path.trained_precision`) and,
#: for the baseline, ``checkpoint`` (the SHA-1 of ``baseline.pth``). Written after the run's evaluation, removed before
#: it trains: a run interrupted on the way has none. A folder holding it
#: is refused as the work dir of a sweep or a training run
#: (:func:`~openselfsup.apis.train.check_not_sweep_run_dir`).
RUN_RECORD = SWEEP_RUN_RECORD

#: the version of the code that computed a run, written in its record
#: (``version``) and compared first by a resumed sweep, which refuses a
#: run recorded by another version (or by one before records held it: it
#: cannot be told from a run of older code). A change that changes the
#: results of one kind of machine alone is recorded by the run instead
#: (float32 on a GPU without TF32: ``device`` and ``tf32``,
#: :func:`_tf32_era`), so that the others' runs stay reusable. **Bump it with every change
#: of the code that changes a run's result** (its weights or metrics) for
#: the same config and options, which the recorded settings
#: (:func:`run_settings`) cannot see: a resumed sweep would otherwise mix
#: runs of the old code with runs of the new. 1: the first versioned
#: records, after a 0-epoch baseline was initialised as a training run
#: starts (:func:`_initialise`; before, it and every lambda run tuned
#: from it had the bare construction's random weights), a nan score
#: skipped by the early stopping (``PatienceEarlyStoppingHook``) and an
#: early stopping named with its scope validating on the way
#: (:func:`_stops_early`). 2: retrieval ties (exactly equal similarities)
#: count as their expected hit under a random order in ``recall@k`` and
#: ``allcap_*``, not in the query's favour. 3: a lambda run is built with
#: the backbone checkpoint, as the baseline (a slide checkpoint of another
#: region grid than the config's had the baseline's position embeddings
#: skipped by ``load_from``, random in every lambda run).
RECORD_VERSION = 3

#: config keys that do not change a run's result (names, folders, logging,
#: the checkpoint files kept, the sweep's own defaults; ``load_from_check``:
#: a run its check lets through loads as without it, one it refuses does
#: not run), with the keys below them: not compared. ``load_from`` is: the
#: baseline starts from the config's (a lambda run's, the baseline, is
#: compared as ``baseline``)
_NOT_THE_RESULT = ('work_dir', 'experiment_name', 'sweep',
                   'log_level', 'log_processor', 'visualizer', 'vis_backends',
                   'default_hooks.logger', 'default_hooks.checkpoint',
                   'default_hooks.timer', 'load_from_check')
#: the test set's keys: compared only for a sweep with ``test``
_TEST_KEYS = ('test_dataloader', 'test_evaluator', 'test_cfg')
#: the keys only training reads: not compared for a 0-epoch baseline, which
#: is built and evaluated, never trained. Its evaluation builds no
#: optimizer and no schedule (nor scales a learning rate); it does build
#: the training loop (mmpretrain's VisualizationHook asks for it after the
#: first validation step), whose epochs and validation interval reach no
#: metric. The training data is compared (that loop reads its dataset).
_TRAINING_ONLY = ('train_cfg', 'optim_wrapper', 'param_scheduler',
                  'auto_scale_lr')


#: the spread across seeds a seeded sweep reports (:func:`seed_summary`),
#: as its table's header and ``sweep.json`` (``spread``) name it
SPREAD = ('95% CI: mean ± t(0.975, n-1) * std(ddof=1) / sqrt(n) over the '
          'n seeds')
#: the short form, in each metric's column header of the seeds' table
SPREAD_HEAD = 'mean ± t 95% CI'


def _say(line: str) -> None:
    """Log ``line`` (MMEngine's current logger: the latest run's console
    and log file), shown on a short console too."""
    with shown():
        print_log(line, logger='current')


def closing_warnings_of_runs(told: Sequence[tuple]) -> List[str]:
    """The lines ``tools/balance_sweep.py`` says after its last line where
    the sweep's runs had warnings of their own (:func:`run_balance_sweep`'s
    ``warnings_to``; each run said its own as its first step had run):
    how many, then each once, after the runs that said it (the same
    schedule warning of every lambda run is one line, not one a run), so
    that they are seen after the table too; a run's warnings that no step
    said (none ran), after them, said there alone. ``[]`` where no run
    had any.

    Args:
        told (Sequence[tuple]): ``(the run in words, its``
            :class:`~openselfsup.engine.console.RunWarningsHook` ``)`` of
            each run trained that had warnings, in the sweep's order.
    """
    said: Dict[str, List[str]] = {}
    unsaid: Dict[str, List[str]] = {}
    for run, hook in told:
        for line in hook.lines:
            (said if hook.said else unsaid).setdefault(line, []).append(run)
    lines = [f'{len(said)} warning(s) said as the runs began training '
             '(repeated, each with the runs that said it):'] if said else []
    return lines + [f'warning: {", ".join(runs)}: {warning_words(line)}'
                    for group in (said, unsaid)
                    for line, runs in group.items()]


def lambda_name(value: float) -> str:
    """How a lambda names its run (folder ``lambda_<name>``, row
    ``lambda=<name>``): ``{value:g}`` where that is the value exactly (the
    names sweeps have always had: ``0.1``, ``1e-05``), else the shortest
    text that reads back as the value (``0.1234567``, which ``:g`` shows
    as ``0.123457`` like ``0.1234568``): distinct lambdas, distinct names.
    """
    value = float(value) + 0.0  # -0.0 is 0
    short = f'{value:g}'
    return short if float(short) == value else repr(value)


def _fmt(v) -> str:
    return f'{v:.4f}' if isinstance(v, float) else str(v)


def _lacks(row: dict, keys: Sequence[str]) -> str:
    """What of ``keys`` a sweep row's metrics lack, as a refusal says it
    (``the metric 'recall@5' and 1 more``); empty: none."""
    missing = [k for k in dict.fromkeys(keys) if k not in row['metrics']]
    more = f' and {len(missing) - 1} more' if len(missing) > 1 else ''
    return f'the metric {missing[0]!r}{more}' if missing else ''


def _metric_words(keys: Sequence[str]) -> str:
    """``metric 'x' is``, ``metrics 'x', 'y' are``."""
    return (f'metric{"s" if len(keys) > 1 else ""} '
            f'{", ".join(map(repr, keys))} {"are" if len(keys) > 1 else "is"}')


def check_rows(rows: List[dict], keys: Sequence[str]) -> None:
    """Refuse rows of which one lacks a metric of ``keys`` (a
    ``sweep.json`` combined by hand from sweeps of other metrics, or of
    older code): the table printed ``nan`` there, which says a run
    diverged or a recall's ``k`` is beyond the gallery, and the plot
    failed with a KeyError. Refused rather than marked: a metric a run
    did not compute is not one of its results, and a resumed sweep
    refuses such a row too (:func:`_recorded_run`).

    Raises:
        InputError: naming the first such row's lambda (or the baseline)
            and the metric it lacks.
    """
    for r in rows:
        missing = _lacks(r, keys)
        if missing:
            lam = r.get('lambda')
            run = 'the baseline' if lam is None else \
                f'lambda {lambda_name(lam)}'
            raise InputError(
                f'{run} (row {r.get("name")!r}) lacks {missing} (its '
                f'metrics: {", ".join(r["metrics"]) or "none"}): rows of '
                'sweeps of other metrics or code; give metrics every row '
                'has, or rows of one sweep')


def metric_notes(runner, loop: str) -> Dict[str, str]:
    """The notes of the evaluator metrics of the runner's ``loop``
    (``'val_loop'``, ``'test_loop'``) on their last evaluation (a
    metric's ``notes``, by result name: :class:`~openselfsup.evaluation.
    crossmodal_metrics.CrossModalMetric`'s constant grade predictions)."""
    try:
        evaluator = getattr(runner, loop).evaluator
    except (AttributeError, RuntimeError):  # a stand-in, or no such loop
        return {}
    notes = {}
    for metric in getattr(evaluator, 'metrics', ()):
        notes.update(getattr(metric, 'notes', None) or {})
    return notes


def note_lines(rows: List[dict]) -> str:
    """One ``note:`` line per row whose ``notes`` (:func:`metric_notes`)
    say what its numbers do not, under the table: a kappa of constant
    grade predictions showed ``0.0000`` beside the others'. ``''`` where
    there are none."""
    lines = [f'note: {r["name"]}: ' + '; '.join(
        f'{k}: {v}' for k, v in r['notes'].items())
        for r in rows if r.get('notes')]
    return '\n' + '\n'.join(lines) + '\n' if lines else ''


def sweep_table(rows: List[dict], keys: Sequence[str]) -> str:
    """Markdown table: one row per run (``name``, ``lambda``, metrics),
    then the rows' notes (:func:`note_lines`).

    Raises:
        InputError: a row without one of ``keys`` (:func:`check_rows`).
    """
    check_rows(rows, keys)
    head = ['run', 'lambda'] + list(keys)
    lines = ['| ' + ' | '.join(head) + ' |',
             '|' + '|'.join(['---'] * len(head)) + '|']
    for r in rows:
        lam = '-' if r['lambda'] is None else lambda_name(r['lambda'])
        lines.append('| ' + ' | '.join(
            [r['name'], lam] + [_fmt(r['metrics'][k]) for k in keys])
            + ' |')
    return '\n'.join(lines) + '\n' + note_lines(rows)


def check_seeds(seeds: Sequence) -> List[int]:
    """The seeds of a seeded sweep (``--seeds``), as a list, each an
    integer numpy's global generator takes (``randomness.seed``: 0 to
    2**32 - 1), none given twice.

    Raises:
        InputError: an empty list, a seed of another type or range, or one
            given twice (each (lambda, seed) has one run folder), naming
            it.
    """
    seeds = list(seeds)
    if not seeds:
        raise InputError('--seeds: give at least one seed (--seeds 0 1 2), '
                         'or leave the flag out for one run per lambda')
    for seed in seeds:
        if not numpy_seed(seed):
            raise InputError(f'--seeds must be integers from 0 to '
                             f'{NUMPY_SEED_MAX} (randomness.seed), got '
                             f'{seed!r}')
    check_distinct('--seeds', seeds,
                   why='each lambda has one run folder per seed')
    return seeds


def check_seeds_reach(cfg, seeds: Sequence[int], test: bool) -> None:
    """Refuse a ``--seeds`` seed that numpy takes but whose lambda run
    would not: MMEngine seeds numpy in each DataLoader worker with the
    seed plus the worker id (:func:`~openselfsup.config.seed_additions`,
    what :func:`~openselfsup.config.check_seed_reach` refuses when the run
    starts: after the baseline trained), for the training and validation
    loaders and, with ``test``, the test loader (each run is evaluated on
    it). The sweep trains in one process.

    Raises:
        InputError: one line naming the largest seed, the largest seed
            numpy would be given and why, and the largest that fits.
    """
    loaders = ['train_dataloader', 'val_dataloader'] + (
        ['test_dataloader'] if test else [])
    rank_add, worker_add, why = seed_additions(cfg, 1, loaders)
    seed, add = max(seeds), rank_add + worker_add
    if seed + add > NUMPY_SEED_MAX:
        raise InputError(
            f'--seeds {seed}: each lambda run of this config seeds numpy '
            f'with up to {seed + add} (the seed, plus {", plus ".join(why)}'
            f'), past numpy\'s {NUMPY_SEED_MAX}; give seeds of at most '
            f'{NUMPY_SEED_MAX - add}')


def config_seed(cfg) -> Optional[int]:
    """The seed a lambda run has without ``--seeds`` (the config's): its
    ``randomness.seed`` where ``model.seed`` (the triplet negatives' and
    captions' generator; unset: :class:`~openselfsup.models.algorithms.
    balanced.BalancedCrossModal`'s default) is the same integer; None
    where they differ or either is not an integer (no seeded run is then
    the unseeded run)."""
    import inspect

    from ..models.algorithms.balanced import BalancedCrossModal
    randomness = cfg.get('randomness')
    seed = randomness.get('seed') if isinstance(randomness, dict) else None
    model_seed = cfg.model.get('seed', inspect.signature(
        BalancedCrossModal).parameters['seed'].default)
    return seed if is_int(seed) and is_int(model_seed) and \
        seed == model_seed else None


#: what rows of one lambda without a seed, or of one seed twice, are
NOT_ONE_SWEEP = ('not the runs of one sweep (sweeps joined by hand?), which '
                 'has one run per lambda, or one per lambda and seed')


def _not_one_sweep(runs: List[dict]) -> str:
    """Why the rows ``runs`` of one lambda are not one seeded sweep's, in
    words (``1 without a seed``, ``seed 3 more than once``); empty where
    each has a seed of its own."""
    seeds = [r.get('seed') for r in runs]
    unseeded = seeds.count(None)
    twice = sorted({s for s in seeds if s is not None and seeds.count(s) > 1})
    return ', '.join(w for w in (
        f'{unseeded} without a seed' if unseeded else '',
        f'{_seeds_words(twice)} more than once' if twice else '') if w)


def _runs_at(lam, n: int) -> str:
    """``rows of 2 runs at lambda 0.5``; ``rows of 2 baselines``."""
    return f'rows of {n} ' + ('baselines' if lam is None else
                              f'runs at lambda {lambda_name(lam)}')


def seed_summary(rows: List[dict], keys: Sequence[str]) -> List[dict]:
    """Each lambda's runs of a seeded sweep as one row: the baseline row
    first, then one per lambda in the order of its first run in ``rows``:
    ``name`` (``lambda=<value>``), ``lambda``, ``seeds``, ``n``,
    ``metrics`` (the mean over the seeds) and ``ci95`` (the Student-t
    95% half-width, ``t(0.975, n-1) * std(ddof=1) / sqrt(n)``:
    :func:`~openselfsup.lowshot.metrics.mean_ci`, which the low-shot
    tables use; ``nan`` for one seed) and ``nan_seeds``: per metric
    with a seed whose run is ``nan`` there, those seeds (``{}`` when
    none). Such a seed (a run that diverged?) makes its lambda's mean and
    half-width ``nan``: no seed is left out of a mean, as a lambda that
    diverges at some seeds is not as good as one that never does;
    :func:`seed_table` and :func:`nan_seed_lines` name the seeds.

    The baseline is held to the rule of the lambdas: a sweep's one
    baseline row (trained with the config's seeds, its row without a
    ``seed``) is its value, ``n`` 1, ``seeds`` None, ``nan_seeds``
    ``{}``; several baseline rows are averaged only where each has a
    ``seed`` of its own (two seeds of the baseline are two seeds: ``n``
    2). The baselines of two seeded sweeps joined by hand have none (both
    were trained with the config's seeds: before, they were averaged as
    two seeds, ``n seeds`` 2 with a confidence interval): refused.

    Raises:
        InputError: a row without one of ``keys`` (:func:`check_rows`);
            rows of a lambda, or baseline rows, without a seed or of one
            seed twice (sweeps joined by hand: they were averaged as
            seeds), naming them.
    """
    import numpy as np

    from ..lowshot.metrics import mean_ci
    check_rows(rows, keys)
    groups: Dict = {}
    for r in rows:
        groups.setdefault(r['lambda'], []).append(r)
    for lam, runs in groups.items():
        why = '' if len(runs) < 2 else _not_one_sweep(runs)
        if why:  # averaged as seeds: two sweeps' runs, 'n seeds 2'
            raise InputError(
                f'{_runs_at(lam, len(runs))} ({why}): {NOT_ONE_SWEEP}; a '
                'mean over seeds is of one run per seed')
    out = []
    for lam, runs in groups.items():
        mean, ci = mean_ci(np.array([[r['metrics'][k] for k in keys]
                                     for r in runs], dtype=np.float64))
        # a sweep's one baseline, without a seed: its value, no seeds
        unseeded = lam is None and runs[0].get('seed') is None
        nan_seeds = {}
        for k in ([] if unseeded else keys):
            there = [r.get('seed') for r in runs
                     if math.isnan(r['metrics'][k])]
            if there:
                nan_seeds[k] = there
        out.append(dict(
            name='baseline' if lam is None else f'lambda={lambda_name(lam)}',
            **{'lambda': lam},
            seeds=None if unseeded else [r.get('seed') for r in runs],
            n=len(runs), metrics=dict(zip(keys, map(float, mean))),
            ci95=dict(zip(keys, map(float, ci))), nan_seeds=nan_seeds))
    return sorted(out, key=lambda r: r['lambda'] is not None)


def _seeds_words(seeds: Sequence) -> str:
    """``seed 2``, ``seeds 1, 2``."""
    return (f'seed{"s" if len(seeds) > 1 else ""} '
            f'{", ".join(map(str, seeds))}')


def _nan_at_some_seeds(row: dict) -> Dict[str, list]:
    """The metrics of a :func:`seed_summary` row whose mean is ``nan``
    for some of its seeds but not all (a metric ``nan`` at every seed, a
    recall's ``k`` beyond the gallery, is ``nan`` as each run's is), with
    those seeds; a row read from a ``sweep.json`` written before
    ``nan_seeds`` was recorded: none."""
    return {k: seeds for k, seeds in (row.get('nan_seeds') or {}).items()
            if 0 < len(seeds) < row['n']}


def seed_table(summary: List[dict], keys: Sequence[str]) -> str:
    """Markdown table of :func:`seed_summary`'s rows: ``run``, ``lambda``,
    ``n seeds`` and per metric ``mean ± half-width`` (:data:`SPREAD_HEAD`
    in its header; one run, the baseline's: its value alone). A mean made
    ``nan`` by some of its seeds names them: ``nan (nan at seed 2)``."""
    head = ['run', 'lambda', 'n seeds'] + [f'{k} ({SPREAD_HEAD})'
                                          for k in keys]
    lines = ['| ' + ' | '.join(head) + ' |',
             '|' + '|'.join(['---'] * len(head)) + '|']
    for r in summary:
        lam = '-' if r['lambda'] is None else lambda_name(r['lambda'])
        some = _nan_at_some_seeds(r)
        cells = [_fmt(r['metrics'][k]) + (
                     f' (nan at {_seeds_words(some[k])})' if k in some
                     else '')
                 if r['n'] < 2 or not math.isfinite(r['metrics'][k]) else
                 f'{_fmt(r["metrics"][k])} ± {_fmt(r["ci95"][k])}'
                 for k in keys]
        lines.append('| ' + ' | '.join([r['name'], lam, str(r['n'])]
                                       + cells) + ' |')
    return '\n'.join(lines) + '\n'


def nan_seed_lines(summary: List[dict],
                   folders: Optional[Dict[tuple, str]] = None) -> List[str]:
    """One line per lambda of :func:`seed_summary`'s rows whose mean of
    a metric is ``nan`` for some of its seeds but not all
    (:func:`_nan_at_some_seeds`), naming the metrics, the seeds and their
    runs' folders: the sweep logs them as a warning (the table's cell
    says ``nan (nan at seed 2)``). ``folders``: a run's folder by
    ``(lambda, seed)`` where it is not ``lambda_<value>_seed_<seed>`` (the
    config's seed's run reused from the unseeded ``lambda_<value>``)."""
    lines = []
    for r in summary:
        some = _nan_at_some_seeds(r)
        if not some:
            continue
        name = lambda_name(r['lambda'])
        groups: Dict[tuple, list] = {}
        for k, seeds in some.items():
            groups.setdefault(tuple(seeds), []).append(k)
        parts = [f'{", ".join(ks)} nan at {_seeds_words(seeds)}'
                 for seeds, ks in groups.items()]
        runs = [(folders or {}).get((r['lambda'], s),
                                    f'lambda_{name}_seed_{s}')
                for s in dict.fromkeys(s for g in groups for s in g)]
        lines.append(
            f'lambda {name}: {"; ".join(parts)} (a run that diverged? '
            f'{", ".join(runs)}): its mean over its {r["n"]} seeds is nan '
            'there, no seed left out; each seed\'s values are in the runs\' '
            'rows')
    return lines


def load_sweep(path: str) -> Dict:
    """Read a sweep's ``sweep.json`` back (what :func:`run_balance_sweep`
    returns, less ``table``): every metric a number, a ``null`` one (a
    NaN, which standard JSON cannot hold:
    :func:`~openselfsup.utils.io.to_jsonable`) as ``nan``, so that
    :func:`sweep_table` and :func:`plot_sweep` of its ``rows`` show what
    the sweep showed. A file written before NaN was written ``null``
    (``NaN``) reads the same. A seeded sweep's ``summary`` (its means and
    half-widths, ``null`` for one seed) reads back alike, for
    :func:`seed_table` and :func:`plot_sweep` (which draws the summary of
    such a sweep, as the sweep did, and refuses its ``rows``).

    Raises:
        InputError: missing, not JSON, or without the rows of a sweep.
    """
    data = load_json(path, 'lambda sweep JSON')
    rows = data.get('rows') if isinstance(data, dict) else None
    summary = data.get('summary', []) if isinstance(data, dict) else None
    if not isinstance(rows, list) or not all(map(_is_row, rows)) or not (
            isinstance(summary, list) and all(
                _is_row(r) and isinstance(r.get('ci95'), dict)
                for r in summary)):
        raise InputError(f'{path}: not a lambda sweep\'s JSON (no rows '
                         'with a name, a lambda and metrics)')
    for r in rows + summary:
        _read_row(r)
    for r in summary:
        r['ci95'] = {k: float('nan') if v is None else v
                     for k, v in r['ci95'].items()}
    return data


def _is_row(row) -> bool:
    """A sweep's row: its name, its lambda (a number; None for the
    baseline) and its metrics."""
    lam = row.get('lambda', ()) if isinstance(row, dict) else ()
    return isinstance(row, dict) and isinstance(row.get('metrics'), dict) \
        and isinstance(row.get('name'), str) and (lam is None or
                                                  is_number(lam))


def _read_row(row: dict) -> dict:
    """A row as read from JSON, its ``null`` metrics ``nan`` again (in
    place; returned)."""
    row['metrics'] = {k: float('nan') if v is None else v
                      for k, v in row['metrics'].items()}
    return row


def _runs_of_one_lambda(runs: List[dict]) -> str:
    """What the rows ``runs`` of one lambda (or the baseline rows) are and
    what to plot, as
    :func:`plot_sweep`'s refusal says it: a seeded sweep's runs (each of
    its own seed), or, where a row has no seed or two share one, rows
    not of one sweep (sweeps joined by hand: before, these were called a
    seeded sweep's runs too, whose summary was the plot to draw)."""
    why = _not_one_sweep(runs)
    if not why:
        return (f'({_seeds_words([r["seed"] for r in runs])}): a seeded '
                'sweep\'s runs; plot its summary (seed_summary of the rows, '
                'sweep.json\'s "summary"), one point per lambda')
    return f'({why}): {NOT_ONE_SWEEP}; plot each sweep\'s rows apart'


def plot_sweep(rows: List[dict], metrics: Sequence[str], cls_metric: str,
               ret_metric: str, title: str = '') -> bytes:
    """PNG of two panels: ``metrics`` against lambda (the baseline, the model
    before tuning, as a dotted line of the same colour), and ``cls_metric``
    (y) against ``ret_metric`` (x), one point per lambda, joined in lambda
    order whatever the order of ``rows``; PNG bytes. A metric that is
    ``nan`` in every run (a recall at a ``k`` beyond the validation set)
    draws nothing: its legend entry says so, and a trade-off panel left
    empty by it says which metric is ``nan``. A metric ``nan`` at the
    baseline alone draws no dotted line (no baseline star, for the
    trade-off's metrics): the legend entry says that too. A metric ``nan``
    at some lambdas only (a run that diverged) leaves those points out:
    the legend entry names the lambdas, the trade-off panel the points it
    does not draw. Rows of a seeded
    sweep (:func:`seed_summary`: the means, with ``ci95``) are drawn with
    their 95% confidence half-widths as error bars, in both panels; a mean
    made ``nan`` by some of its seeds (not drawn) is named in the legend
    entry with those seeds.

    Raises:
        InputError: a row without one of the metrics (:func:`check_rows`);
            two rows of one lambda (a seeded sweep's runs, ``sweep.json``'s
            ``rows``: each seed's point was joined into the curve, up and
            down at each lambda, as if one run per lambda), naming it and
            the summary to plot instead, or, for rows without a seed or
            of one seed twice (sweeps joined by hand), saying so
            (:func:`_runs_of_one_lambda`); two baseline rows alike (two
            sweeps' rows joined: each baseline was drawn as a dotted line
            of the metric's colour, and a star, none named).
    """
    check_rows(rows, [*metrics, cls_metric, ret_metric])
    runs: Dict[Optional[float], list] = {}
    for r in rows:
        runs.setdefault(r['lambda'], []).append(r)
    for lam, same in runs.items():
        if len(same) > 1:
            raise InputError(f'{_runs_at(lam, len(same))} '
                             f'{_runs_of_one_lambda(same)}')
    from ..utils.plot import figure_png, subplots

    # in lambda order: the lines join neighbouring lambdas (in the order
    # given, --lambdas 1 0 0.5 drew the curve back and forth)
    pts = sorted((r for r in rows if r['lambda'] is not None),
                 key=lambda r: r['lambda'])
    base = [r for r in rows if r['lambda'] is None]
    lams = [r['lambda'] for r in pts]
    fig, (ax, ax2) = subplots(1, 2, figsize=(10.4, 4.2), dpi=120)

    def is_nan(row, key):
        return row['metrics'][key] != row['metrics'][key]

    def all_nan(key, some=rows):
        return all(is_nan(r, key) for r in some)

    def base_nan(key):  # draws no baseline line (or star) alone
        return bool(base) and all_nan(key, base) and not all_nan(key)

    def nan_note(key):  # what a nan leaves undrawn
        if all_nan(key):
            return ' (nan in every run)'
        notes = [n for n in (base_nan(key) and 'nan at the baseline',
                             lambdas_note(key), seeds_note(key)) if n]
        return f' ({"; ".join(notes)})' if notes else ''

    def seeds_note(key):  # a seeded sweep's means made nan by some seeds
        some = [f'lambda {lambda_name(r["lambda"])}: {_seeds_words(seeds)}'
                for r in pts
                for seeds in [_nan_at_some_seeds(r).get(key)] if seeds]
        return f'mean nan at {"; ".join(some)}' if some else ''

    def lambdas_note(key):  # the other lambdas' nan points (a run diverged)
        gone = [lambda_name(r['lambda']) for r in pts
                if is_nan(r, key) and not _nan_at_some_seeds(r).get(key)]
        return f'nan at lambda {", ".join(gone)}' if gone else ''

    # a seeded sweep's means, with their 95% half-widths
    bars = bool(pts) and all('ci95' in r for r in pts)

    def ci(key):
        return [r['ci95'][key] for r in pts]

    for i, key in enumerate(metrics):
        color = f'C{i}'
        style = dict(color=color, lw=2.4 if key == cls_metric else 1.4,
                     label=key + (' (task)' if key == cls_metric else '')
                     + nan_note(key))
        if bars:
            ax.errorbar(lams, [r['metrics'][key] for r in pts],
                        yerr=ci(key), fmt='o-', capsize=3, **style)
        else:
            ax.plot(lams, [r['metrics'][key] for r in pts], 'o-', **style)
        for r in base:
            ax.axhline(r['metrics'][key], color=color, ls=':', lw=1)
    ax.set_xlabel('lambda (weight of the contrastive loss)')
    ax.set_ylabel('metric')
    ax.set_title('mean over seeds, bars: 95% CI (t) (dotted: baseline)'
                 if bars else 'against lambda (dotted: baseline)')
    ax.grid(alpha=0.3)
    ax.legend(loc='best', fontsize=7)

    xs = [r['metrics'][ret_metric] for r in pts]
    ys = [r['metrics'][cls_metric] for r in pts]
    ax2.plot(xs, ys, '-', color='0.7', zorder=1)
    if bars:
        ax2.errorbar(xs, ys, xerr=ci(ret_metric), yerr=ci(cls_metric),
                     fmt='none', ecolor='0.6', capsize=2, zorder=1)
    sc = ax2.scatter(xs, ys, c=lams, cmap='viridis', vmin=0, vmax=1,
                     zorder=2)
    for lam, x, y in zip(lams, xs, ys):
        ax2.annotate(lambda_name(lam), (x, y), textcoords='offset points',
                     xytext=(4, 4), fontsize=8)
    for r in base:
        ax2.scatter([r['metrics'][ret_metric]], [r['metrics'][cls_metric]],
                    marker='*', s=140, color='crimson', zorder=3,
                    label='baseline (before tuning)' + ''.join(
                        f'; {k} (nan at the baseline)' for k in
                        dict.fromkeys((ret_metric, cls_metric))
                        if base_nan(k)))
    fig.colorbar(sc, ax=ax2, label='lambda')
    ax2.set_xlabel(f'retrieval: {ret_metric}')
    ax2.set_ylabel(f'task: {cls_metric}')
    ax2.set_title('trade-off')
    empty = [k for k in (ret_metric, cls_metric) if all_nan(k)]
    if empty:
        ax2.text(0.5, 0.5, f'{" and ".join(empty)}: nan in every run',
                 transform=ax2.transAxes, ha='center', va='center')
    else:  # the points a nan leaves out (a lambda run that diverged)
        gone = []
        for r in pts:
            nan = [k for k in dict.fromkeys((cls_metric, ret_metric))
                   if is_nan(r, k)]
            if nan:
                gone.append(f'lambda {lambda_name(r["lambda"])} '
                            f'({", ".join(nan)})')
        if gone:
            ax2.text(0.5, 0.02, f'not drawn (nan): {", ".join(gone)}',
                     transform=ax2.transAxes, ha='center', va='bottom',
                     fontsize=7)
    ax2.grid(alpha=0.3)
    if base:
        ax2.legend(loc='best', fontsize=8)
    fig.suptitle(title or 'balanced tuning: lambda sweep')
    fig.tight_layout()
    return figure_png(fig, dpi=120)


def save_weights(model, path: str, meta: Optional[dict] = None) -> None:
    """Save ``{'state_dict', 'meta'}`` (plain tensors and strings) atomically.

    Loads with ``torch.load(weights_only=True)`` and as ``load_from``.
    Written through a file object (:func:`~openselfsup.utils.save_torch`):
    the file's bytes are those of the weights and ``meta`` alone, so equal
    weights make equal files, the baseline identity a resumed sweep
    compares.
    """
    from mmengine.runner.checkpoint import get_state_dict, weights_to_cpu

    from ..utils import save_torch
    save_torch(path, dict(state_dict=weights_to_cpu(get_state_dict(model)),
                          meta=dict(meta or {})))


#: what a sweep's report files are, as a refusal of other files of their
#: names says it (:func:`is_sweep_report`)
REPORT_WHAT = 'a report written by balance_sweep.py'
#: the keys a sweep's ``sweep.json`` holds beside its rows
_REPORT_KEYS = ('config', 'rows', 'paths')


def is_sweep_report(path: str) -> bool:
    """Whether ``path`` is a ``sweep.json`` a sweep wrote: its rows read
    back (:func:`load_sweep`) and it holds :data:`_REPORT_KEYS`. The
    sweep removes and replaces its report files (``sweep.json``, ``.md``,
    ``.png``) only beside such a file: a user's own ``sweep.md`` or
    ``sweep.json`` in the work dir is refused, not removed."""
    try:
        data = load_sweep(path)
    except InputError:
        return False
    return all(k in data for k in _REPORT_KEYS)


def _remove_previous_report(work_dir: str, paths: Sequence[str],
                            why: str) -> None:
    """Remove the previous sweep's report files (``sweep.json``, ``.md``,
    ``.png``) that are there, all of them or none (Ctrl-C held back), and
    say so in one line (``why``): the runs they describe are about to be
    replaced (a resumed sweep: added to), and an interrupted rerun would
    leave them describing files that are no longer those beside them. A
    completed sweep writes them anew."""
    there = remove_set(paths)
    if not there:
        return
    _say(f'{work_dir}: removed the previous sweep\'s '
         f'{", ".join(os.path.basename(p) for p in there)} (this sweep '
         f'writes its own report when it completes): {why}')


def run_settings(cfg, digest=file_sha1, skip: Sequence[str] = (),
                 **fields) -> dict:
    """What a sweep run's result depends on, as its record holds it (a
    flat dict, compared key by key when the sweep is resumed): ``fields``
    (``amp``, ``test``; the baseline's ``epochs``; a lambda run's
    ``baseline``, the SHA-1 of the weights it starts from), every key of
    the run's config ``cfg`` (the config loaded with the run's
    ``cfg_options``: :func:`~openselfsup.config.load_config`) as
    ``config.<key>`` (but those :func:`_not_compared` names: the keys of
    :data:`_NOT_THE_RESULT` and ``skip``, keys the caller compares
    otherwise, the test set's without ``test``, and the file's own
    variables), and the contents of every file the config names as
    ``file.<key>``: its SHA-1 (``digest``), e.g. the annotation lists
    (``ann_file``, joined to its ``data_root``) and a start checkpoint
    (``load_from``, ``model.backbone.checkpoint``), found by
    :func:`~openselfsup.config.named_file_digests` (which the kNN
    baselines' identity uses too), and of every data folder its datasets
    read (the images, the slides' feature files: ``data_prefix`` under
    ``data_root``, :func:`~openselfsup.config.data_folders`) as
    ``data.<key>``: the digest of its listing and a sample of its files
    (:func:`~openselfsup.utils.fingerprint.data_folder_sha1`; before, a
    data folder counted by its path, and a resume reused the runs of data
    written again under it).

    Raises:
        InputError: a config value without a fingerprint
            (:func:`~openselfsup.utils.plain_value`), naming the config and
            the key.
    """
    skip = _not_compared(cfg, skip, bool(fields.get('test')))
    try:
        values, files = recorded_settings(cfg.to_dict(), skip=skip,
                                          digest=digest)
    except InputError as exc:  # a value without a fingerprint
        raise InputError(f'{cfg.filename}: {exc}') from None
    data = data_folder_digests(data_folders(cfg.to_dict(), skip=skip))
    out = dict(fields, **{f'config.{k}': v for k, v in values.items()},
               **{f'file.{k}': sha1 for k, sha1 in files.items()},
               **{f'data.{k}': sha1 for k, sha1 in data.items()})
    # as the record reads back (a tuple a list, NaN None)
    return json.loads(json_text(out))


def _not_compared(cfg, skip: Sequence[str], test: bool) -> tuple:
    """The keys of the loaded config ``cfg`` that :func:`run_settings`
    leaves out, with the keys below them: those of :data:`_NOT_THE_RESULT`,
    ``skip``, the test set's without ``test``, the file's own variables
    (:func:`~openselfsup.config.config_variables`: ``lr = 0.1`` used to
    build ``optim_wrapper``, whose value ``optim_wrapper`` holds), and
    those of a learning-rate scaling that is off (:func:`_unscaled`)."""
    return _NOT_THE_RESULT + tuple(skip) + (() if test else _TEST_KEYS) + \
        tuple(config_variables(cfg)) + _unscaled(cfg)


def _unscaled(cfg) -> tuple:
    """The keys of ``cfg``'s ``auto_scale_lr`` but ``enable``, where that
    is not true: MMEngine scales the learning rate only when it is (the
    sweep has no ``--auto-scale-lr``), so its ``base_batch_size`` reaches
    no result (before, runs recorded before a config's base changed, the
    ViT demo's 64 -> 32, were refused). ``enable`` is compared: a run
    whose learning rate was scaled is not one whose was not."""
    scale = cfg.get('auto_scale_lr')
    if not isinstance(scale, dict) or scale.get('enable'):
        return ()
    return tuple(f'auto_scale_lr.{k}' for k in scale if k != 'enable')


def _unscaled_there(there: dict, here: dict) -> tuple:
    """:func:`_unscaled` of a recorded run, from its settings ``there``
    (:func:`run_settings`): where its ``auto_scale_lr.enable`` was not
    true, the ``config.auto_scale_lr`` keys but ``enable`` of ``there``
    and of this sweep's ``here``. Its base scaled nothing, and its record
    holds none: compared with a sweep that scales, the line named
    ``auto_scale_lr.base_batch_size: unset -> 64`` (a base the run had,
    not recorded), not ``enable: False -> True``, the setting that
    differs."""
    prefix = 'config.auto_scale_lr.'
    if there.get(prefix + 'enable'):
        return ()
    return tuple(k for k in {**there, **here}
                 if k.startswith(prefix) and k != prefix + 'enable')


def uncompared_settings(cfg, skip: Sequence[str] = (),
                        test: bool = False) -> tuple:
    """The settings (``config.<key>``, ``file.<key>``) of the keys that
    :func:`run_settings` leaves out of ``cfg``'s (:func:`_not_compared`),
    for the comparison with a record: one written before a key was left
    out (a file's variable, a 0-epoch baseline's ``train_cfg``) holds it,
    and is compared without it."""
    return tuple(f'{kind}.{key}' for kind in ('config', 'file', 'data')
                 for key in _not_compared(cfg, skip, test))


def _describe(key: str, there, here, settings: Optional[dict] = None
              ) -> str:
    """One differing setting of :func:`run_settings`, in words, the
    recorded run's value first (:func:`~openselfsup.config.key_change`;
    :data:`~openselfsup.config.UNSET`: a setting one side does not
    have); ``settings``: this sweep's, whose ``config.<key>`` says where
    a ``file.<key>`` is a folder."""
    if key.startswith('config.'):
        return key_change(key[len('config.'):], there, here)
    if key.startswith('file.'):
        return file_contents_change(key, there, here, (settings or {}).get(
            f'config.{key[len("file."):]}'))
    if key.startswith('data.'):
        return data_contents_change(key, there, here,
                                    _data_folder(key, settings or {}))
    if key == 'baseline':
        return key_change('the baseline weights it was tuned from, '
                          'baseline.pth SHA-1', there, here, lambda v: v[:12])
    flag = {'epochs': 'baseline epochs', 'amp': '--amp', 'test': '--test'}
    return key_change(flag.get(key, key), there, here)


def _data_folder(key: str, settings: dict) -> Optional[str]:
    """The folder of a ``data.<key>`` setting as the sweep's ``settings``
    name it (a ``data_prefix`` joined to its dataset's ``data_root``, as
    :func:`~openselfsup.config.data_folders` joins them), None where they
    do not name it."""
    key = key[len('data.'):]
    value = settings.get(f'config.{key}')
    if not isinstance(value, str):
        return None
    section, sep, _ = key.partition('.data_prefix')
    root = settings.get(f'config.{section}.data_root') if sep else None
    return prefix_folder(value, root if isinstance(root, str) else '') \
        or value


def _settings_difference(there: dict, here: dict, skip=()) -> Optional[str]:
    """The first setting in which a run's recorded settings ``there``
    differ from this sweep's ``here``, in words, and how many more differ
    (:func:`~openselfsup.config.first_difference`); None when they agree
    (but for the keys ``skip`` and those below them, and the digests of
    files a record of before holds that the model does not read:
    :func:`~openselfsup.config.reads_a_file`, a ``model_name`` naming a
    file of the current directory)."""
    unread = tuple(k for k in there if k.startswith('file.') and
                   not reads_a_file(k[len('file.'):]))
    return first_difference(
        there, here, lambda key, a, b: _describe(key, a, b, here),
        (*skip, *unread))


def _refuse_other_settings(run: str, run_dir: str, diff: str,
                           others: Sequence[str] = (),
                           made: Optional[str] = None,
                           other_model: bool = False) -> None:
    """Refuse the recorded ``run`` in ``run_dir`` (and the lambda runs in
    ``others``, refused for the same reason), made with other settings
    (``diff``) or, ``made``, otherwise (in words), saying what to do:
    remove their folders, or, for the baseline, replace the sweep (its
    lambda runs were tuned from it: with a baseline trained again they are
    refused in turn). A sweep without ``--resume`` replaces it, but where
    a run there is of another model, ``other_model`` (a model setting
    differs: a new run into its folder is refused,
    :func:`~openselfsup.engine.runner.check_new_run_dir`; the line said to
    rerun without ``--resume``, whose refusal said to give ``--resume``):
    removing the sweep's work dir does."""
    if run == 'the baseline':
        remove = ''
        replace = ' (its lambda runs were tuned from that baseline)'
    else:
        dirs = [run_dir, *others]
        remove = (f'remove {", ".join(dirs)} to train '
                  f'{"those runs" if others else "that run"} again, ')
        replace = ''
    made = made or f'made with other settings than this sweep\'s ({diff})'
    rerun = f'remove {os.path.dirname(run_dir)}' if other_model else \
        'rerun without --resume'
    raise InputError(
        f'--resume: {run_dir} holds {run} {made}; {rerun} to replace the '
        f'sweep{replace}, {remove}or give another --work-dir')


def _other_model(there: dict, here: dict) -> bool:
    """Whether a run's recorded settings ``there`` and this sweep's
    ``here`` differ in a model setting (``config.model.*``): a sweep
    without ``--resume`` is refused that run's folder (its checkpoints are
    of another model or other model hyper-parameters) rather than
    replacing it (:func:`_refuse_other_settings`)."""
    return any(there.get(k, UNSET) != here.get(k, UNSET)
               for k in {*there, *here} if k.startswith('config.model.'))


def _other_code(version) -> str:
    """A recorded run's ``version`` that is not :data:`RECORD_VERSION`,
    in words, for :func:`_refuse_other_settings`."""
    there = 'none there (written before records held one)' \
        if version is None else f'{version!r} there'
    return (f'recorded by another version of the sweep\'s code (record '
            f'version {there}, {RECORD_VERSION} here: a change of the code '
            'since changes results, so its row cannot be trusted)')


#: the line of MMEngine's log of a run (its environment, logged as the
#: runner is built) that says whether it ran on a GPU
_CUDA_LOGGED = re.compile(r'^\s*CUDA available: (True|False)\s*$', re.M)


def _logged_device(run_dir: str) -> Optional[str]:
    """The device a run in ``run_dir`` ran on, as the MMEngine logs in
    its folder (``<run_dir>/<timestamp>/<timestamp>.log``) say it:
    ``'cuda'`` where one says CUDA was available (the runner's default
    device then; a folder trained in more than once, one of them),
    ``'cpu'`` where each says it was not, None where none says (no log
    left, or one written above the INFO level)."""
    seen = set()
    for log in glob.glob(os.path.join(glob.escape(run_dir), '*', '*.log')):
        try:
            with open(log, encoding='utf-8', errors='replace') as f:
                head = f.read(1 << 16)  # the environment comes first
        except OSError:
            continue
        seen.update(_CUDA_LOGGED.findall(head))
    return 'cuda' if 'True' in seen else 'cpu' if seen else None


def _tf32_era(record: dict, run_dir: str, gpu_float32: bool
              ) -> Optional[str]:
    """Why a recorded run, of this sweep's settings, trained in float32
    on a GPU with cuDNN's default TF32 convolutions (its row not what this
    sweep's runs compute: they train and are evaluated in full float32,
    :func:`~openselfsup.apis.fast_path.float32_block`), in words; None
    where it did not or ran elsewhere. ``gpu_float32``: these settings
    train in float32 on a GPU (no ``--amp``, no autocast of the config's:
    :func:`~openselfsup.apis.fast_path.full_float32`); else nothing is
    judged. A record that says ``tf32: false`` ran without TF32; one with
    a ``device`` is judged by it (a CUDA one without the field ran TF32);
    one written before records held either (2026-12-06) by the logs in
    its folder (:func:`_logged_device`): a CPU run is kept, a GPU run
    refused, and a run no log tells of too (it cannot be told from a GPU
    run). Conservative: a GPU run recorded between 5b382328 (trained and
    evaluated in full float32) and 88dddd64 (its ``device`` and ``tf32:
    false`` written), both 2026-12-06, ran without TF32 but holds
    neither, cannot be told from a TF32 one, and is refused too (the
    line's 'its convolutions ran in TF32' then says more than is known;
    review r169)."""
    if not gpu_float32 or record.get('tf32') is False:
        return None
    device = record.get('device')
    said = f'its record says {device}'
    if device is None:
        device = _logged_device(run_dir)
        said = 'its log says CUDA available' if device else \
            'no log in its folder says whether a GPU ran it'
    if device is not None and str(device).split(':')[0] != 'cuda':
        return None
    return ('trained in float32 before the sweep set TF32 aside on a GPU '
            f'and recorded it ({said}): its convolutions ran in TF32 there, '
            'where this sweep\'s runs train in full float32, so its row is '
            'not theirs')


def _recorded_run(run_dir: str, settings: dict, run: str,
                  uncompared: Sequence[str] = (),
                  metrics: Sequence[str] = (),
                  gpu_float32: bool = False) -> Optional[dict]:
    """The record (:data:`RUN_RECORD`) of the run in ``run_dir``, its row
    read back (:func:`_read_row`) with the ``metrics`` alone (a metric
    this sweep's runs do not compute is left out, one log line naming
    it: the row an uninterrupted sweep has), when the run has one; None
    when it has none (it never ran, or was interrupted: it trains again).

    Raises:
        InputError: the record is not one, or holds another
            :data:`RECORD_VERSION` (none: written before records held one),
            or other settings than
            ``settings`` (but ``baseline``, which the caller compares once
            the baseline is there, and the keys ``uncompared`` and those
            below them: :func:`uncompared_settings`), naming the first that
            differs, or a row without one of the ``metrics`` this sweep's
            runs compute (other code whose :data:`RECORD_VERSION` was not
            bumped, or a record edited: the table showed ``nan`` there),
            or, where these settings train in float32 on a GPU
            (``gpu_float32``), a run that trained so with TF32
            (:func:`_tf32_era`).
    """
    path = os.path.join(run_dir, RUN_RECORD)
    if not os.path.lexists(path):
        return None
    try:
        record = load_json(path, 'sweep run record')
    except InputError as exc:  # cut short or overwritten by hand
        raise InputError(f'{exc}; remove it to train that run again'
                         ) from None
    if not (isinstance(record, dict) and _is_row(record.get('row')) and
            isinstance(record.get('settings'), dict)):
        raise InputError(f'{path}: not a sweep run\'s record (no settings '
                         'and row); remove it to train that run again')
    # the code first: another version's settings may differ only because
    # of how they were recorded
    if record.get('version') != RECORD_VERSION:
        _refuse_other_settings(run, run_dir, '',
                               made=_other_code(record.get('version')),
                               other_model=_other_model(record['settings'],
                                                        settings))
    # a record written before the data folders were fingerprinted holds
    # none of them: compared without them, as then (the caller says so)
    unfingerprinted = () if any(k.startswith('data.') for k in
                                record['settings']) else \
        tuple(k for k in settings if k.startswith('data.'))
    # a folder whose sampled file could not be read, then or now (its
    # digest None): no evidence either way, not compared
    unfingerprinted += tuple(unread_digests(*(
        {k: v for k, v in d.items() if k.startswith('data.')}
        for d in (record['settings'], settings))))
    # (a learning-rate scaling off on either side: its base is compared
    # by neither; the switch is)
    diff = _settings_difference(
        record['settings'], settings,
        skip=('baseline', *uncompared, *unfingerprinted,
              *_unscaled_there(record['settings'], settings)))
    if diff:
        _refuse_other_settings(run, run_dir, diff, other_model=_other_model(
            record['settings'], settings))
    tf32 = _tf32_era(record, run_dir, gpu_float32)
    if tf32:
        _refuse_other_settings(run, run_dir, '', made=tf32)
    missing = _lacks(record['row'], metrics)
    if missing:
        _refuse_other_settings(run, run_dir, '', made=(
            f'whose row lacks {missing} that this '
            'sweep\'s runs compute (recorded by other code of the same '
            'record version, or edited)'))
    # a metric this sweep's runs do not compute (code of the same record
    # version that computed more, or a record edited): left out, as the
    # uninterrupted sweep's row has it not; before, a baseline's was a
    # column every other row lacked, refused at the report, after the
    # sweep's runs had trained
    extra = [k for k in record['row']['metrics'] if k not in metrics]
    if metrics and extra:
        _say(f'{path}: {run}\'s recorded {_metric_words(extra)} '
             'not one this sweep\'s runs compute: left out of its row')
        record['row']['metrics'] = {k: v for k, v in
                                    record['row']['metrics'].items()
                                    if k in metrics}
    _read_row(record['row'])
    if unfingerprinted:
        record['data_unchecked'] = unfingerprinted
    return record


def check_sweep_work_dir(work_dir: str) -> None:
    """Refuse a ``work_dir`` that is another run's, where the sweep's runs
    and report would mix with its results: a training run's work dir
    (``tools/train.py``'s: its ``epoch_N.pth`` / ``iter_N.pth``, or its
    ``last_checkpoint`` beside a run's log folder,
    :func:`~openselfsup.utils.checkpoint_files.is_training_work_dir`; the
    sweep wrote its ``baseline/``, ``lambda_*/`` and ``sweep.*`` beside
    them, exit 0), or a run folder of a sweep (it holds
    :data:`RUN_RECORD`: ``--work-dir <sweep>/lambda_0.5``, whose record
    that sweep's ``--resume`` reuses). A sweep's own work dir holds
    neither (its runs are in their folders): a rerun or ``--resume``
    there goes on as before.

    Raises:
        InputError: one line naming the folder, what it holds and what
            to give.
    """
    from ..utils.checkpoint_files import checkpoints_in, is_training_work_dir
    if not os.path.isdir(work_dir):
        return
    check_not_sweep_run_dir(work_dir, (
        'give a folder of its own (a sweep\'s work dir holds its runs in '
        'folders of theirs)'))
    found = checkpoints_in(work_dir)
    if found or is_training_work_dir(work_dir):
        what = os.path.basename(found[0]) if found else 'last_checkpoint'
        raise InputError(
            f'--work-dir {work_dir}: the work dir of a training run '
            f'(tools/train.py: {what}), not a lambda sweep\'s: its runs and '
            'report would mix with that run\'s checkpoints and logs; give '
            'another --work-dir')


def _run_folders(folder: str) -> List[str]:
    """The run folders of a sweep in ``folder`` (``baseline``,
    ``lambda_*``), those there."""
    try:
        names = os.listdir(folder)
    except OSError:  # missing, or not a folder
        return []
    return [os.path.join(folder, n) for n in sorted(names)
            if (n == 'baseline' or n.startswith('lambda_'))
            and os.path.isdir(os.path.join(folder, n))]


#: what :func:`runs_left_out` says of a run folder left out of a report:
#: its record holds this sweep's settings and baseline (a ``--resume`` of
#: its lambda reuses it), other settings, another baseline's digest, or
#: it cannot be read
LEFT_OUT_STATES = {
    'reusable': '',
    'other settings': 'tuned with other settings than this sweep\'s',
    'replaced baseline': 'tuned from a baseline replaced since',
    'unreadable': 'its run record cannot be read',
}


def runs_left_out(work_dir: str, reported: Sequence[str],
                  judge: Optional[Callable[[str, dict], str]] = None
                  ) -> List[dict]:
    """The runs in ``work_dir`` that a report of the run folders
    ``reported`` does not hold: every lambda run folder there
    (:func:`_run_folders`) with a record (:data:`RUN_RECORD`), as
    ``dict(folder=<name>, lambda=<value or None>, seed=<seed or None>,
    state=...)``: the values its record's row holds, and its state
    (:data:`LEFT_OUT_STATES`): ``'unreadable'`` where the record cannot be
    read, else ``judge(run_dir, row)`` (the sweep's comparison of the
    record with its settings and baseline), ``'finished'`` without one. A
    sweep run with other ``--lambdas`` (or ``--seeds``) than the one
    before it in the folder reports the runs asked for; these stay on
    disk, named by :func:`left_out_line`."""
    reported = {os.path.abspath(d) for d in reported}
    out = []
    for run_dir in _run_folders(work_dir):
        if os.path.basename(run_dir) == 'baseline' or \
                os.path.abspath(run_dir) in reported or \
                not os.path.isfile(os.path.join(run_dir, RUN_RECORD)):
            continue
        try:
            row = load_json(os.path.join(run_dir, RUN_RECORD),
                            'sweep run record')['row']
            lam, seed = row.get('lambda'), row.get('seed')
            if not (_is_row(row) and is_number(lam)
                    and (seed is None or is_int(seed))):
                raise TypeError  # no run's row: as unreadable
        except (InputError, KeyError, TypeError, AttributeError):
            out.append({'folder': os.path.basename(run_dir), 'lambda': None,
                        'seed': None, 'state': 'unreadable'})
            continue
        out.append({'folder': os.path.basename(run_dir), 'lambda': lam,
                    'seed': seed,
                    'state': judge(run_dir, row) if judge else 'finished'})
    return out


def left_out_line(left: Sequence[dict], lambdas: Sequence[float],
                  seeds: Optional[Sequence[int]]) -> str:
    """One line naming the runs ``left`` (:func:`runs_left_out`) that the
    report of ``lambdas`` (``seeds``) leaves out and what reports them:
    those this sweep could reuse (``'reusable'``) of its kind (with seeds,
    or without), the sweep of the lambdas asked for and theirs with
    ``--resume``, which reuses every run that ended with its settings;
    those of the other kind, the one command that reports them (a sweep
    with ``--seeds`` reports no run without a seed, and the reverse);
    the others named with their state, without a ``--resume`` (which
    refuses a run of other settings or another baseline)."""
    folders = lambda rs: ', '.join(r['folder'] for r in rs)  # noqa: E731
    names = lambda rs: sorted({lambda_name(r['lambda']) for r in rs},  # noqa
                              key=float)
    asked = [lambda_name(v) for v in lambdas]
    finished = [r for r in left if r['state'] != 'unreadable']
    reuse = [r for r in finished if r['state'] == 'reusable']
    mine = [r for r in reuse if (r['seed'] is None) == (seeds is None)]
    other_kind = [r for r in reuse if r not in mine]
    parts = []
    if mine:
        way = ('--lambdas '
               + ' '.join(sorted(set(asked) | set(names(mine)), key=float)))
        if seeds is not None:
            way += ' --seeds ' + ' '.join(str(s) for s in sorted(
                set(seeds) | {r['seed'] for r in mine}))
        parts.append(f'to report {folders(mine)} too, rerun with {way} '
                     '--resume (it reuses the runs that ended with its '
                     'settings and trains only the others)')
    if other_kind:
        if seeds is None:
            theirs = ' '.join(str(s) for s in sorted(
                {r['seed'] for r in other_kind}))
            parts.append(f'{folders(other_kind)} ran with --seeds, which a '
                         'sweep without them does not report: --lambdas '
                         f'{" ".join(names(other_kind))} --seeds {theirs} '
                         '--resume reports them')
        else:
            parts.append(f'{folders(other_kind)} ran without --seeds, which '
                         'a sweep with them does not report: --lambdas '
                         f'{" ".join(names(other_kind))} --resume, without '
                         '--seeds, reports them')
    stuck = [r for r in left if r['state'] not in ('reusable', 'finished')]
    if stuck:
        parts.append('not reusable by a --resume of these settings: ' + ', '
                     .join(f'{r["folder"]} ({LEFT_OUT_STATES[r["state"]]})'
                           for r in stuck))
    head = (f'note: finished runs not in this report, which holds the '
            f'lambdas asked for ({" ".join(asked)}): {folders(finished)}'
            if finished else 'note: run folders not in this report, which '
            f'holds the lambdas asked for ({" ".join(asked)})')
    return head + ''.join(f'; {p}' for p in parts)


def holds_sweep(folder: str, tag: Optional[str] = None) -> bool:
    """Whether a sweep has started in ``folder``: its ``baseline`` folder
    (every sweep's first run) is there, or a lambda run's record
    (:data:`RUN_RECORD`). ``tag``: a sweep of the config of that file
    name, whose runs hold its dump ``<tag>.py`` (MMEngine's, in each run's
    folder)."""
    runs = _run_folders(folder)
    started = any(os.path.basename(r) == 'baseline' or
                  os.path.isfile(os.path.join(r, RUN_RECORD)) for r in runs)
    return started and (tag is None or any(
        os.path.isfile(os.path.join(r, f'{tag}.py')) for r in runs))


def check_sweep_to_resume(work_dir: str, tag: str) -> None:
    """Refuse ``--resume`` in a ``work_dir`` where no sweep has started
    (:func:`holds_sweep`): a mistyped ``--work-dir`` trained the whole
    sweep from its start, the log saying ``0 of n runs have ended``. A
    folder beside it holding a sweep of this config (``tag``, the config's
    file name) is named (``did you mean ...?``).

    Raises:
        InputError: one line naming the folder.
    """
    if holds_sweep(work_dir):
        return
    there = 'does not exist' if not os.path.lexists(work_dir) else \
        'holds no sweep (no baseline/ or lambda run record)'
    near = close_entry(work_dir, lambda p: holds_sweep(p, tag), cutoff=0.0)
    raise InputError(
        f'--resume: {work_dir} {there}: nothing to continue; '
        f'{near + " " if near else ""}give the --work-dir of the stopped '
        'sweep, or leave --resume out to start one')


#: the line a ``--test`` sweep whose test set is its validation set
#: (:func:`test_is_validation`) writes above its table (sweep.md, and the
#: table the command prints at its end)
TEST_IS_VALIDATION = (
    'note: the test set is the validation set (test_dataloader.dataset is '
    'val_dataloader.dataset): each test/<metric> column is its <metric> '
    'again, not an independent test; point test_dataloader.dataset.ann_file '
    'at a held-out list for one')


def test_is_validation(cfg) -> bool:
    """Whether the loaded config ``cfg`` tests on its validation set: its
    ``test_dataloader``'s dataset is the ``val_dataloader``'s (every
    shipped balance config sets ``test_dataloader = val_dataloader``)."""
    loaders = [cfg.get(k) for k in ('test_dataloader', 'val_dataloader')]
    return all(isinstance(d, dict) and 'dataset' in d for d in loaders) \
        and loaders[0]['dataset'] == loaders[1]['dataset']


#: the environment variables the documented sweep commands set before
#: ``python`` (``OMP_NUM_THREADS=1``, docs/balance/README.md), put before
#: the command :func:`resume_command` writes where this process has them
COMMAND_ENVIRONMENT = ('OMP_NUM_THREADS',)


def resume_command(argv: Sequence[str]) -> str:
    """The ``tools/balance_sweep.py`` command of arguments ``argv`` with
    ``--resume`` (added where it is not there): what continues a sweep
    that command started; preceded by the variables of
    :data:`COMMAND_ENVIRONMENT` this process has (``OMP_NUM_THREADS=1
    python ...``: it dropped them). Run from any folder: ``cd <the
    current folder> && ... python <the checkout's script> ...``
    (:func:`~openselfsup.utils.io.from_root`), where the arguments as
    typed, the default ``--work-dir`` and the config's relative data
    roots mean what they meant (it was ``python tools/balance_sweep.py
    ...``, which ran from the root alone, and a relative config or work
    dir only from the folder the sweep was started in)."""
    import shlex

    from ..utils.io import from_root, script
    argv = list(argv)
    env = [f'{k}={shlex.quote(os.environ[k])}' for k in COMMAND_ENVIRONMENT
           if k in os.environ]
    return from_root(' '.join(env + [
        'python', script('tools', 'balance_sweep.py'),
        shlex.join(argv + ([] if '--resume' in argv else ['--resume']))]),
        os.getcwd())


@contextlib.contextmanager
def _how_to_continue(work_dir: str, command: Optional[str],
                     recorded: List[Callable]) -> Iterator:
    """On Ctrl-C (or SIGTERM) in the body, once a sweep has started in
    ``work_dir`` (:func:`holds_sweep`), say how to continue it on the
    ``interrupted`` line (``command``: the command with ``--resume``,
    :func:`resume_command`; None: in words): it said only
    ``interrupted``. ``recorded``: filled by the body with the function
    that reads the runs' records as ``--resume`` does (raising its
    refusal); where it refuses them (a rerun with other settings stopped
    before it had replaced every run), the line says to rerun without
    ``--resume`` instead (it gave a command that was then refused).

    An image found unreadable in a run (:class:`~openselfsup.datasets.
    image_list.UnreadableImage`) gets the sweep's way on after its own
    line: it named none (the run's own ``--resume`` would train with the
    config's lambda). That way is a rerun without ``--resume``: the image
    mended (another copy, or its entry taken out of its file), the runs
    that ended hold the data as it was, which ``--resume`` compares (the
    annotation file, a sample of the data folder's files) and refuses
    where it changed. A rerun redoes every run: in this call the runs
    that ended are at most a 0-epoch baseline (every training run reads
    every training image), but runs kept from earlier calls of a
    ``--resume`` sweep are redone too, where ``--resume`` would keep them
    if the image was put back byte for byte (review r101)."""
    from ..datasets.image_list import UnreadableImage
    try:
        yield
    except UnreadableImage as exc:
        if not holds_sweep(work_dir):
            raise
        raise UnreadableImage(
            f'{one_line(exc)}; then rerun the sweep in {work_dir} without '
            '--resume (its runs recorded the data before the mend, which '
            '--resume compares)') from exc
    except BaseException as exc:
        if holds_sweep(work_dir):
            try:
                for read in recorded:
                    read()
                refused = False
            except InputError:
                refused = True
            note_interruption(exc, f'{work_dir}: ' + (
                'the runs not yet replaced hold other settings than this '
                'sweep\'s, which --resume refuses; rerun the same command '
                'without --resume to run the sweep again' if refused else
                'the runs that ended are kept; continue the sweep with: ' +
                (command or 'the same command and --resume')))
        raise


def _initialise(runner) -> None:
    """Initialise a 0-epoch baseline's weights as a training run starts
    (MMEngine's ``runner.train()`` calls ``init_weights``, its
    ``runner.val()`` does not), by the runner's own step of ``train()``:
    the model's ``init_cfg`` applied (a ``Pretrained`` backbone, a head's
    ``Constant``), each ``Pretrained`` file checked first as in training
    (:meth:`~openselfsup.engine.runner.AtomicRunner._init_model_weights`:
    a file that does not fit is refused in one line; calling the model's
    ``init_weights`` here skipped that check, and such a baseline was
    evaluated from the initial weights), weights loaded from a checkpoint
    when the model was built kept
    (:class:`~openselfsup.models.backbones.pretrained.KeepsLoadedWeights`).
    Before, such a baseline, and every lambda run tuned from it, had the
    bare construction's random weights; the config's ``load_from`` is
    loaded after this, by the evaluation, as in training."""
    runner._init_model_weights()


def _forget_run(run_dir: str) -> None:
    """Remove a run's record before it trains: until it is written again,
    the run counts as interrupted."""
    remove_set([os.path.join(run_dir, RUN_RECORD)])


def _without_baseline_hook(cfg) -> list:
    """The config's custom hooks but its validation before training, its
    type however named (:func:`~openselfsup.config.type_name`)."""
    return [h for h in cfg.get('custom_hooks', [])
            if type_name(h.get('type')) != 'ValidateBeforeTrainHook']


def _stops_early(hooks: list) -> bool:
    """True when an enabled early-stopping hook needs validation per
    epoch, its type however named (``openselfsup.PatienceEarlyStoppingHook``
    or the class: compared as the bare name, such a hook never saw a
    validation, and the run trained to the end without a word)."""
    return any(type_name(h.get('type')) == 'PatienceEarlyStoppingHook' and
               h.get('enable', True) for h in hooks)


# SIGTERM (scancel, `kill`) ends the whole sweep as Ctrl-C does: each
# run's training sets the handler for its run only, and between two runs
# (an evaluation, baseline.pth saved) it ended the process where it stood
# (exit -15, no line, the sweep's lock file left)
@terminate_raising()
def run_balance_sweep(config: str, lambdas: Sequence[float],
                      work_dir: Optional[str] = None,
                      baseline_epochs: Optional[int] = None,
                      cls_metric: Optional[str] = None,
                      ret_metric: Optional[str] = None,
                      plot_metrics: Optional[Sequence[str]] = None,
                      amp: bool = False,
                      cfg_options: Optional[dict] = None,
                      test: bool = False, resume: bool = False,
                      seeds: Optional[Sequence[int]] = None,
                      resume_command: Optional[str] = None,
                      verbose: bool = False, check: bool = False,
                      warnings_to=None) -> Dict:
    """Train the baseline, then one run per lambda; write table, JSON, PNG.

    Args:
        config (str): a balanced-tuning config (``model.type`` is
            ``BalancedCrossModal``).
        lambdas (Sequence[float]): the lambdas, each in [0, 1].
        work_dir (str | None): output root (default:
            ``work_dirs/<config>_sweep``).
        baseline_epochs (int | None): task-only epochs before the sweep
            (default: the config's ``sweep.baseline_epochs``, else 0).
        cls_metric (str | None): the task metric (default:
            ``sweep.cls_metric``, else ``mAP``).
        ret_metric (str | None): the retrieval metric of the trade-off panel
            (default: ``sweep.ret_metric``, else ``recall@5``).
        plot_metrics (Sequence[str] | None): metrics drawn against lambda
            (default: ``sweep.plot_metrics``, else the two above).
        amp (bool): mixed precision (GPU).
        cfg_options (dict | None): overrides applied to every run.
        test (bool): also evaluate every run on the config's
            ``test_dataloader`` (the published final numbers: an
            independent test set); its metrics are added as
            ``test/<metric>``.
        resume (bool): continue the sweep in ``work_dir``: reuse the
            baseline and every lambda run there that has ended and been
            evaluated with this sweep's settings by this version of the
            code (its record, :data:`RUN_RECORD`: :func:`run_settings`
            and :data:`RECORD_VERSION`; a lambda run's baseline weights
            too), saying so in the log, and train only
            the others, from the start (a run interrupted on the way has
            no record). The report is the one an uninterrupted sweep
            writes. False: every run is trained, replacing what
            ``work_dir`` holds.
        seeds (Sequence[int] | None): tune each lambda once per seed, from
            the one baseline, with ``randomness.seed`` and ``model.seed``
            set to it (folders ``lambda_<value>_seed_<seed>``, each its own
            record), and report each lambda's mean and Student-t 95%
            half-width over them (:func:`seed_summary`); with ``resume``,
            the run of the config's seed (:func:`config_seed`) is also
            reused from the unseeded run's folder ``lambda_<value>``. None
            (default, as the published code: one run per lambda): one run
            per lambda with the config's seeds, the report as before.
        resume_command (str | None): the command that continues this
            sweep (:func:`resume_command`), said on the ``interrupted``
            line of a sweep stopped once a run has started (None: "the
            same command and --resume").
        verbose (bool): every run's console as MMEngine writes it (its
            environment dump, config and iteration lines). False
            (default): each run's console shows its warnings and one line
            per epoch, and the sweep says which run trains, each run's
            result and the log file that holds all of it
            (:func:`~openselfsup.utils.console.short_console`).
        check (bool): check the sweep and stop before anything trains or
            is written (``balance_sweep.py --check``): the sweep's own
            checks, then the config of every run as it would train (the
            baseline's and each lambda's, with the options the sweep
            gives it) as ``tools/train.py --check-config`` checks one
            (:func:`~openselfsup.apis.train.check_loaded_config`).
        warnings_to (file, optional): a stream (``tools/balance_sweep.py``:
            stderr) on which each run that trains says its own warnings
            (a schedule that does not span it, an earlier run's
            checkpoints written over...) once its first step has run, as
            ``tools/train.py`` says a run's (:func:`~openselfsup.apis.
            train.train`'s ``warnings_to``): a run refused before then
            says its one line alone; its log file holds them, its console
            does not repeat them. The result's ``closing_warnings``
            (:func:`closing_warnings_of_runs`) says them again, with their
            runs, for after the sweep's last line. None (the default):
            each run's log and console say them, as every note.

    A SIGTERM anywhere in the sweep raises
    :class:`~openselfsup.utils.Terminated` (between runs too:
    :func:`~openselfsup.utils.errors.terminate_raising`), which ends it as
    Ctrl-C does (the lock released, the runs that ended recorded).

    Returns:
        dict: with ``check``, ``checked`` (the runs, in words) and
        ``warnings`` (the check's, each once). Else ``rows`` (name, lambda,
        epochs, metrics; with ``seeds``, each
        lambda run's ``seed``), the metric names and the paths written;
        with ``seeds`` also ``seeds``, ``spread`` (:data:`SPREAD`) and
        ``summary`` (:func:`seed_summary`); and, not in ``sweep.json``,
        ``table`` (``sweep.md``'s text) and ``closing_warnings``
        (:func:`closing_warnings_of_runs`: ``[]`` without
        ``warnings_to``, or where no run trained had warnings).

    Raises:
        InputError: a bad lambda or metric (checked against every metric
            of the ``val_evaluator`` (with ``test``, ``test_evaluator``):
            one, a list or ``dict(metrics=...)``, as MMEngine builds it;
            :func:`~openselfsup.engine.crossmodal_hooks.
            evaluator_result_names`), missing data, a work dir where
            another sweep runs, before anything trains; with ``resume``, a
            recorded run of another :data:`RECORD_VERSION` or of other
            settings, naming the version or the first setting that differs
            (before anything trains; a lambda run's baseline weights once
            the baseline is there, before a lambda run trains); a run
            whose settings (:func:`run_settings`) changed since the sweep
            read them at its start (the config or a file it names edited
            during the sweep), as the run is about to train; a
            ``--cfg-options`` setting ``model.balance``.
    """
    lambdas = [check_fraction(v, '--lambdas') for v in lambdas]
    if not lambdas:
        raise InputError('give at least one lambda (--lambdas 0 0.5 1)')
    names = [lambda_name(v) for v in lambdas]  # the run folders' names
    # one run folder per lambda, named by it: a second run would replace it
    check_distinct('--lambdas', names, why='each lambda has one run folder')
    cfg_options = dict(cfg_options or {})
    # each run's lambda is the sweep's (the baseline's 0): an option
    # setting it was overridden in every run without a word, and
    # sweep.json recorded it among the options the runs had
    for key, value in cfg_options.items():
        if key == 'model.balance' or (key == 'model' and isinstance(
                value, dict) and 'balance' in value):
            raise InputError(
                f'--cfg-options {key}: the sweep sets model.balance of each '
                'run (--lambdas; the baseline\'s 0); leave it out')
    if seeds is not None:
        seeds = check_seeds(seeds)
        # the seeds are the runs': an option setting them would be
        # overridden in every lambda run (and not in the baseline)
        for key in cfg_options:
            if key in ('randomness', 'randomness.seed', 'model',
                       'model.seed'):
                raise InputError(
                    f'--cfg-options {key}: --seeds sets randomness.seed '
                    'and model.seed of each lambda run; leave it out (the '
                    'baseline keeps the config\'s seeds)')
    cfg = load_config(config, cfg_options)
    # before the sweep's own builds (its metrics, an early stopping hook):
    # a _scope_ of '' was their TypeError traceback
    check_scope_names(cfg, config)
    # the evaluations each run's runner is given after training (or, the
    # 0-epoch baseline, without it): their loaders are in the worker note
    evaluated = ('val', 'test') if test else ('val',)
    # once, not in every run's log; the test set where --test reads it
    for unmoved in unmoved_notes(
            cfg, read_sections(cfg, evaluates=evaluated)):
        print_log(warning_words(unmoved), logger='current',
                  level=logging.WARNING)
    if type_name(cfg.model.get('type')) != 'BalancedCrossModal':
        raise InputError(f'{config}: model.type is {cfg.model.get("type")!r},'
                         ' not BalancedCrossModal')
    if seeds is not None:  # before the baseline trains, not at a run
        check_seeds_reach(cfg, seeds, test)
    defaults = cfg.get('sweep', {})
    baseline_epochs = int(baseline_epochs if baseline_epochs is not None
                          else defaults.get('baseline_epochs', 0))
    if baseline_epochs < 0:
        raise InputError(f'baseline epochs must be >= 0, got '
                         f'{baseline_epochs}')
    cls_metric = cls_metric or defaults.get('cls_metric', 'mAP')
    ret_metric = ret_metric or defaults.get('ret_metric', 'recall@5')
    plot_metrics = list(plot_metrics or defaults.get(
        'plot_metrics', [cls_metric, ret_metric]))
    # the metrics asked for, checked before anything trains
    from ..registry import HOOKS
    outputs = int(cfg.model.head.num_outputs)
    # named as the runs' results are (behind a metric's prefix: its
    # names alone were checked, and the sweep stopped at its report, after
    # every run had trained, its rows lacking them)
    # (each metric's where the evaluator is a list of them, as MMEngine's
    # runner builds it: a list was a ValueError traceback here)
    from ..engine.crossmodal_hooks import (evaluator_metrics,
                                           evaluator_result_names)
    # a loop's sections set in part: check_loop_sections's line, naming
    # those left out (review r192: the evaluator alone None got the line
    # below for all three None, "set val_dataloader, val_cfg and ...")
    check_loop_sections(cfg, config, needed=evaluated)
    # each run's row is its validation metrics, by which lambda is chosen
    val_metrics = evaluator_metrics(
        cfg.get('val_evaluator'), why="the sweep chooses lambda by each "
        "run's validation metrics (--cls-metric, --ret-metric)")
    available = evaluator_result_names('val_evaluator', val_metrics, outputs)
    if test:  # the test set's metrics, as the rows name them
        what = 'test_evaluator' if 'test_evaluator' in cfg else \
            'val_evaluator'
        metrics = val_metrics if what == 'val_evaluator' else \
            evaluator_metrics(  # built once each
                cfg.get(what), what, why='--test evaluates each run by it '
                '(the test/<metric> columns)', instead=', or leave out --test')
        available += [f'test/{k}' for k in evaluator_result_names(
            what, metrics, outputs)]
    for key in dict.fromkeys([cls_metric, ret_metric] + plot_metrics):
        if key not in available:
            needs = ' (test/<metric> needs --test)' if \
                key.startswith('test/') and not test else ''
            raise InputError(f'metric {key!r} is not one this config '
                             f'computes{needs}; available: '
                             f'{", ".join(available)}')
    # the shipped configs test on the validation set (test_dataloader =
    # val_dataloader): its test/<metric> columns equal the others
    same_set = bool(test) and test_is_validation(cfg)
    # an early-stopping monitor the evaluation does not compute, refused
    # by the hook when a run starts: with a 0-epoch baseline only the first
    # lambda run's, after the baseline's record (which, of the refused
    # monitor, a corrected --resume refused) was written
    # (its rule and patience first, named by key as the config check
    # names them: the hook's build said its line alone)
    check_early_stopping_hooks(cfg, config)
    for hook in cfg.get('custom_hooks', []):
        if type_name(hook.get('type')) == 'PatienceEarlyStoppingHook':
            HOOKS.build(dict(hook)).check_monitor(val_metrics, outputs)
    # the data folders and lists, and the baseline's initial weights
    # (load_from), before anything trains or a folder is made (a 0-epoch
    # baseline only builds a runner, and every run reads the same data)
    check_data_paths(cfg, test)  # and the splits' (test: the test set's)
    check_load_from(cfg)
    # each run trains from its start: a config's resume = True (the
    # runs' --resume) would continue the checkpoints an interrupted
    # attempt left in a run's folder, a run an uninterrupted sweep does
    # not train (another value: resume_choice's line)
    if resume_choice(cfg)[0] is True:
        raise InputError(
            f'resume = True in {config}: the sweep trains each run from its '
            'start (its --resume reuses the runs that ended with its '
            'settings); remove it or --cfg-options resume=False')
    given_work_dir = bool(work_dir)
    work_dir = work_dir or default_work_dir(config) + '_sweep'
    check_sweep_work_dir(work_dir)
    tag = os.path.splitext(os.path.basename(config))[0]
    if resume:
        check_sweep_to_resume(work_dir, tag)
    paths = dict(json=os.path.join(work_dir, 'sweep.json'),
                 markdown=os.path.join(work_dir, 'sweep.md'),
                 png=os.path.join(work_dir, 'sweep.png'))
    for path in paths.values():  # before anything trains
        check_writable(path)
    # a report of these names that is not a sweep's (a user's own
    # sweep.md in the folder given): it was removed as "the previous
    # sweep's" once the first run started
    check_replaceable(paths['json'], (), REPORT_WHAT,
                      also=(paths['markdown'], paths['png']),
                      flag='--work-dir', given=given_work_dir,
                      own=lambda: is_sweep_report(paths['json']))
    hooks = _without_baseline_hook(cfg)
    max_epochs = int(cfg.train_cfg.max_epochs)

    def loop(epochs: int, validate: bool) -> dict:
        # each run is evaluated once at its end (below); the loop validates
        # on the way only for an enabled early stopping (MMEngine's loop
        # also validates after its last epoch unless val_begin is beyond it)
        out = dict(cfg.train_cfg, max_epochs=epochs)
        if not validate:
            out['val_begin'] = epochs + 1
        return out

    def console(run: str):
        # each run's console: MMEngine's with verbose, else short
        return contextlib.nullcontext() if verbose else short_console(run)

    def evaluate(runner, run: str, run_cfg) -> tuple:
        # torch's warning of their workers left out on MMEngine's own
        # Runner too (a config without runner_type; run_cfg: the config
        # it was built from), as in training; in the precision it trained
        # in (float32 on a GPU: TF32 set aside, as the log says)
        import torch
        with worker_warnings_left_out(runner, run_cfg, trains=False,
                                      evaluates=evaluated), float32_block(
                run_cfg, torch.cuda.is_available()):
            metrics = dict(runner.val())
            notes = metric_notes(runner, 'val_loop')
            if test:
                metrics.update({f'test/{k}': v
                                for k, v in runner.test().items()})
                notes.update({f'test/{k}': v for k, v in metric_notes(
                    runner, 'test_loop').items()})
        # what its numbers do not say (constant grade predictions): its
        # row holds them as ``notes`` where there are any
        noted = dict(notes=notes) if notes else {}
        # its result, and where the rest of it is (a short console showed
        # none of its evaluation lines)
        result = ', '.join(f'{k} {_fmt(metrics[k])}' for k in dict.fromkeys(
            [cls_metric, ret_metric]) if k in metrics)
        where = log_file(getattr(runner, 'logger', None))
        _say(f'sweep: {run}: {result}' +
             (f'; its full log: {where}' if where else ''))
        return metrics, noted

    # every run's options, as trained and as recorded: the baseline is
    # task-only training, or with 0 epochs the model as it is built (the
    # loaded task-trained weights, as published)
    base_dir = os.path.join(work_dir, 'baseline')
    base_opts = {**cfg_options, 'model.balance': 0.0,
                 'custom_hooks': hooks,
                 'experiment_name': f'{tag}_baseline'}
    if baseline_epochs:
        base_opts.update({'train_cfg': loop(baseline_epochs, False),
                          'param_scheduler': []})
    baseline_ckpt = os.path.join(base_dir, 'baseline.pth')
    # each lambda run tunes from the baseline: built as the baseline was,
    # its backbone checkpoint read, then its weights replaced by the
    # baseline's. Shapes the backbone takes from its checkpoint (the slide
    # encoder's region grid) then fit the baseline's; built without it
    # (checkpoint None, before), the config's grid did not, and MMEngine's
    # load_from skipped the baseline's position embeddings with a warning
    # line: every lambda run tuned random ones
    run_opts = {**cfg_options, 'load_from': baseline_ckpt,
                'custom_hooks': hooks,
                'train_cfg': loop(max_epochs, _stops_early(hooks))}
    def lambda_run(lam: float, name: str, seed: Optional[int] = None):
        # (lambda, seed, the run in words, its folder, its options); with
        # a seed, the run of that seed, of its own folder and record
        if seed is None:
            return (lam, None, f'lambda {name}',
                    os.path.join(work_dir, f'lambda_{name}'), {
                        **run_opts, 'model.balance': lam,
                        'experiment_name': f'{tag}_lambda_{name}'})
        return (lam, seed, f'lambda {name} seed {seed}',
                os.path.join(work_dir, f'lambda_{name}_seed_{seed}'),
                {**run_opts, 'model.balance': lam, 'randomness.seed': seed,
                 'model.seed': seed,
                 'experiment_name': f'{tag}_lambda_{name}_seed_{seed}'})
    lambda_runs = [lambda_run(lam, name, seed)
                   for lam, name in zip(lambdas, names)
                   for seed in (seeds or [None])]
    if check:
        # every run's config as it would train (a refused setting names
        # the user's --cfg-options alone), as tools/train.py --check-config
        # checks one: nothing trained, nothing written
        warnings = []
        for opts in [base_opts] + [opts for *_, opts in lambda_runs]:
            warnings += check_loaded_config(
                load_config(config, opts, given=list(cfg_options)), config,
                needed=evaluated)
        return dict(checked=['the baseline'] + [
            run for _, _, run, *_ in lambda_runs],
            warnings=list(dict.fromkeys(warnings)))
    # each file read once per version of it in the process (every run
    # names the same lists; a text encoder folder counts by its files)
    digest = file_sha1_kept
    # what a run's warning about checkpoints in its folder (an interrupted
    # attempt's, a previous sweep's: written over) suggests: the sweep's
    # flags; tools/train.py's --resume, which would continue that attempt,
    # is not what the sweep's --resume does
    earlier_run_hint = (
        'the sweep\'s --resume trains this run again from its start: it '
        'reuses only the runs that ended with its settings; --work-dir '
        'keeps both') if resume else (
        'a sweep without --resume trains every run again; with it, the runs '
        'that ended with its settings are reused; --work-dir keeps both')
    # what the refusal of a run folder holding a run of other model
    # hyper-parameters says to do: tools/train.py's --resume is not the
    # sweep's, and a sweep without it is refused there in turn
    other_run_ways = (f'give another --work-dir, or remove {work_dir} to '
                      'replace that sweep')

    # where the runs train (MMEngine's default device), as their records
    # say (fast_path.trained_precision); and whether these settings train
    # in float32 on a GPU (no --amp, no autocast of the config's): a run
    # recorded of them with TF32 there is refused (_tf32_era)
    from mmengine.device import get_device
    device = get_device()
    gpu_float32 = not amp and full_float32(cfg, True)

    def compared(run_cfg, skip: Sequence[str] = (), **fields) -> dict:
        # the settings of the run of the loaded config run_cfg
        return run_settings(run_cfg, digest, skip=skip, amp=bool(amp),
                            test=bool(test), **fields)

    def settings(opts: dict, skip: Sequence[str] = (), **fields) -> tuple:
        # the run's settings, and those not compared (which a record
        # written before they were left out may hold)
        run_cfg = load_config(config, opts)
        return (compared(run_cfg, skip, **fields),
                uncompared_settings(run_cfg, skip, bool(test)))

    # one sweep at a time in a work dir: a second one would replace the
    # first's baseline.pth, which the first's lambda runs then load (their
    # rows would come from the other baseline, and nothing would tell)
    busy = lambda holder: (  # noqa: E731
        f'{work_dir}: another lambda sweep is running there ({holder}); '
        'wait for it to end or give another --work-dir')
    # a sweep whose first run fails before it starts leaves no empty work
    # dir, as tools/train.py leaves none (a finished sweep's holds its
    # report: the removal is for a failure)
    from ..engine.runner import removed_if_left_empty
    recorded = []  # how --resume reads the runs' records, once known
    with removed_if_left_empty(work_dir), locked(paths['json'], busy=busy), \
            _how_to_continue(work_dir, resume_command, recorded):
        # a 0-epoch baseline is evaluated, never trained: what only
        # training reads is not its result
        base_skip = () if baseline_epochs else _TRAINING_ONLY
        base_settings, base_uncompared = settings(
            base_opts, base_skip, epochs=baseline_epochs)
        # a lambda run's load_from is the baseline: compared as its weights
        # once the baseline is there (``baseline``)
        lambda_settings = [settings(opts, skip=('load_from',))
                           for *_, opts in lambda_runs]
        # with resume, the runs that have ended with these settings (a
        # recorded run of other settings is refused here, before anything
        # trains)
        # (and with every metric the runs compute: a row without one
        # showed nan in the table)
        def read_records():
            return (_recorded_run(base_dir, base_settings, 'the baseline',
                                  base_uncompared, available, gpu_float32),
                    [_recorded_run(run_dir, here, run, uncompared, available,
                                   gpu_float32)
                     for (_, _, run, run_dir, _), (here, uncompared) in zip(
                         lambda_runs, lambda_settings)])
        recorded.append(read_records)  # what an interruption checks
        base_record, records = read_records() if resume else \
            (False, [False] * len(lambda_runs))
        if base_record and not (
                os.path.isfile(baseline_ckpt) and
                base_record.get('checkpoint') == digest(baseline_ckpt)):
            _say(f'{base_dir}: baseline.pth is not the one its run '
                 'recorded (missing or changed): training the baseline '
                 'again')
            base_record = None
        # with seeds, a run of the config's seed without its own record:
        # the unseeded sweep's run of that lambda (folder lambda_<value>) is
        # that run (the same settings: the seeds it sets are the config's)
        # where it ended with this sweep's other settings, code version and
        # the baseline reused here; another run there is not this sweep's
        # (neither refused nor reused: the seed's own run trains)
        def judged(lam: float, seed: Optional[int], baseline: str,
                   run_dir: Optional[str] = None) -> tuple:
            # the run of (lam, seed) in its folder (or ``run_dir``, which
            # must be that folder) judged as --resume judges it, neither
            # refused nor reused: (state, record), the state one of
            # LEFT_OUT_STATES' (the record where it is 'reusable')
            _, _, run, there, opts = lambda_run(lam, lambda_name(lam), seed)
            if run_dir is not None and \
                    os.path.abspath(run_dir) != os.path.abspath(there):
                return 'other settings', None  # not the folder of its run
            here, uncompared = settings(opts, skip=('load_from',))
            try:
                record = _recorded_run(there, here, run, uncompared,
                                       available, gpu_float32)
            except InputError:
                return 'other settings', None
            if not record:
                return 'unreadable', None
            if record['settings'].get('baseline') != baseline:
                return 'replaced baseline', None
            return 'reusable', record

        same_seed = config_seed(cfg) if resume and base_record and \
            seeds is not None else None
        for i, (lam, seed, *_) in enumerate(lambda_runs):
            if same_seed is None or seed != same_seed or records[i]:
                continue
            name = lambda_name(lam)
            state, record = judged(lam, None, base_record['checkpoint'])
            if state == 'reusable':
                row = record['row']
                records[i] = dict(record, run_dir=lambda_run(lam, name)[3],
                                  row=dict(
                    name=f'lambda={name} seed={seed}', **{'lambda': lam},
                    seed=seed, epochs=row['epochs'], metrics=row['metrics'],
                    # what its numbers do not say, as in its own row
                    **({'notes': row['notes']} if row.get('notes') else {})))
        # runs recorded before the data folders were fingerprinted: reused
        # as then, said once
        unchecked = [d for d, r in [(base_dir, base_record)] + [
            (r.get('run_dir', run[3]) if r else '', r)
            for run, r in zip(lambda_runs, records)]
            if r and r.get('data_unchecked')]
        if unchecked:
            keys = sorted({k for r in [base_record, *records]
                           if r for k in r.get('data_unchecked', ())})
            folders = ', '.join(dict.fromkeys(
                str(_data_folder(k, base_settings) or k[len('data.'):])
                for k in keys))
            print_log(f'--resume: {", ".join(unchecked)}: recorded before '
                      'the sweep fingerprinted its data folders: reused '
                      f'without comparing the files in {folders} (remove '
                      'those run folders, or rerun without --resume, to '
                      'train them on the data there now)', logger='current',
                      level=logging.WARNING)
        if resume:
            done = bool(base_record) + sum(map(bool, records))
            _say(f'--resume: {done} of {len(records) + 1} runs have '
                 f'ended in {work_dir} with this sweep\'s settings; '
                 f'training the other {len(records) + 1 - done}')
        def reported_dirs() -> List[str]:
            # the run folders this sweep's report holds (a seeded run
            # reused from the unseeded run's folder: that folder)
            return [(r or {}).get('run_dir', run[3])
                    for run, r in zip(lambda_runs, records)]

        first = [True]
        order = ['the baseline'] + [run for _, _, run, *_ in lambda_runs]
        # the runs trained that said warnings of their own on warnings_to
        told = []

        def trained(run: str, runner):
            # the run that train() returned: its warnings, as they were said
            hook = run_warnings_hook(runner)
            if hook is not None and hook.lines:
                told.append((run, hook))
            return runner

        def starting(run: str, run_dir: str, here: dict, opts: dict,
                     skip: Sequence[str] = (), **fields):
            # a run about to train: its settings (``here``, read at the
            # sweep's start) read again from the config loaded now, which
            # the run then trains (returned, passed to train() as loaded:
            # read from the file again there, a config edited between this
            # check and that load trained with settings never checked):
            # one edited since (or a file it includes or names, an
            # annotation list written again) trained this run with other
            # settings than its record's and the other runs', one report
            # mixing both without a word
            # (a refused setting names the user's --cfg-options alone)
            run_cfg = load_config(config, opts, given=list(cfg_options))
            unmoved_copies_said(run_cfg)  # at the start
            diff = _settings_difference(here, compared(run_cfg, skip,
                                                       **fields))
            if diff:
                raise InputError(
                    f'{config}: the settings of {run} changed since the '
                    f'sweep read them at its start ({diff}): the config, '
                    'a file it includes or a file it names was changed '
                    'during the sweep, and this run would train with other '
                    'settings than its other runs; the runs that ended are '
                    'recorded with theirs: rerun the sweep (with --resume, '
                    'those of its settings are reused)')
            # until its record is written again it
            # counts as interrupted; at the first, every check has passed
            # and the work dir is this sweep's: the runs are about to be
            # replaced (or added to), and with them what the old report says
            if first:
                first.clear()
                left = [r['folder'] for r in runs_left_out(
                    work_dir, reported_dirs()) if r['state'] != 'unreadable']
                _remove_previous_report(
                    work_dir, list(paths.values()), 'this sweep reports the '
                    f'lambdas asked for ({" ".join(names)}), ' + (
                        'whose runs are being added to or replaced'
                        if resume else 'whose runs are being replaced') + (
                        f'; the finished runs {", ".join(left)} stay on '
                        'disk, out of its report' if left else ''))
            _forget_run(run_dir)
            # where the sweep is: each run's log shows its own epochs and
            # eta only, between config dumps of a hundred lines
            doing = ('evaluated in' if run == 'the baseline'
                     and not baseline_epochs else 'training in')
            _say(f'sweep: run {order.index(run) + 1} of {len(order)}, '
                 f'{run}, {doing} {run_dir}')
            return run_cfg

        # 1. baseline
        if base_record:
            _say(f'reusing the baseline from {base_dir}')
            rows = [base_record['row']]
            baseline = base_record['checkpoint']  # baseline.pth's, checked
        else:
            run_cfg = starting('the baseline', base_dir, base_settings,
                               base_opts, base_skip, epochs=baseline_epochs)
            # its evaluation on its short console too (which is taken off
            # when the console's block ends)
            # (0 epochs) the guard takes the runner as its build begins
            # (discard_on_failure without one, as train() guards its own):
            # a Ctrl-C between the build's return and its evaluation left
            # its SIGTERM handler set until it was collected, and its log
            # folder behind (r139); once evaluated it discards nothing
            from ..engine.runner import discard_on_failure
            with console('the baseline'), contextlib.nullcontext() \
                    if baseline_epochs else discard_on_failure():
                if baseline_epochs:
                    runner = trained('the baseline', train(
                        config, work_dir=base_dir, amp=amp,
                        cfg_options=base_opts,
                        earlier_run_hint=earlier_run_hint,
                        other_run_ways=other_run_ways, loaded=run_cfg,
                        evaluates=evaluated, needs_evaluations=True,
                        says_how_to_continue=False,  # _how_to_continue's
                        warnings_to=warnings_to))
                else:
                    # evaluated, never trained: it writes over no
                    # checkpoint of an earlier baseline there, and says
                    # nothing of them
                    runner = build_runner(config, work_dir=base_dir,
                                          amp=amp, cfg_options=base_opts,
                                          trains=False, loaded=run_cfg,
                                          evaluates=evaluated,
                                          needs_evaluations=True)
                    # as a training run starts: its init_cfg applied
                    _initialise(runner)
                # evaluated before its weights are saved: evaluation data
                # that cannot be read (a missing feature file; with 0
                # epochs nothing has read it yet) stops the sweep before
                # it writes anything
                metrics, noted = evaluate(runner, 'the baseline', run_cfg)
                rows = [dict(name='baseline', **{'lambda': None},
                             epochs=baseline_epochs, metrics=metrics,
                             **noted)]
            # its bytes are the baseline's identity (the lambda runs record
            # them): nothing of where the config lies (a path as typed,
            # ./configs/x.py or configs/x.py, made equal weights another
            # file); sweep.json and the run's folder name the config
            save_weights(runner.model, baseline_ckpt,
                         meta=dict(epochs=baseline_epochs))
            baseline = digest(baseline_ckpt)
            save_json(os.path.join(base_dir, RUN_RECORD), dict(
                version=RECORD_VERSION, settings=base_settings, row=rows[0],
                checkpoint=baseline, **trained_precision(run_cfg, device)))
        # the lambda runs recorded were tuned from these weights (those
        # that were not are named together: each needs training again)
        stale = [(run, run_dir, record['settings'].get('baseline'))
                 for (_, _, run, run_dir, _), record in zip(lambda_runs,
                                                            records)
                 if record and record['settings'].get('baseline') != baseline]
        if stale:
            run, run_dir, there = stale[0]
            _refuse_other_settings(
                run, run_dir,
                _describe('baseline', there or UNSET, baseline),
                others=[d for _, d, _ in stale[1:]])

        # 2. one tuning run per lambda, all from the same baseline
        for (lam, seed, run, run_dir, opts), (here, _), record in zip(
                lambda_runs, lambda_settings, records):
            if record:
                there = record.get('run_dir', run_dir)
                _say(f'reusing {run} from {there}' + (
                    ' (the run without --seeds: its seeds are the config\'s)'
                    if there != run_dir else ''))
                rows.append(record['row'])
                continue
            run_cfg = starting(run, run_dir, here, opts,
                               skip=('load_from',))
            with console(run):
                runner = trained(run, train(
                    config, work_dir=run_dir, amp=amp, cfg_options=opts,
                    earlier_run_hint=earlier_run_hint,
                    other_run_ways=other_run_ways, loaded=run_cfg,
                    evaluates=evaluated, needs_evaluations=True,
                    says_how_to_continue=False,  # _how_to_continue's
                    warnings_to=warnings_to))
                metrics, noted = evaluate(runner, run, run_cfg)
            name = f'lambda={lambda_name(lam)}'
            seeded = {} if seed is None else dict(seed=seed)
            rows.append(dict(name=name + (f' seed={seed}' if seeded else ''),
                             **{'lambda': lam}, **seeded,
                             epochs=int(runner.epoch), metrics=metrics,
                             **noted))
            save_json(os.path.join(run_dir, RUN_RECORD), dict(
                version=RECORD_VERSION,
                settings=dict(here, baseline=baseline), row=rows[-1],
                **trained_precision(run_cfg, device)))

        # 3. report
        keys = list(rows[0]['metrics'])
        table = sweep_table(rows, keys)
        result = dict(config=config, cfg_options=cfg_options, test=bool(test),
                      **({'test_is_validation': same_set} if test else {}),
                      baseline_epochs=baseline_epochs,
                      baseline_checkpoint=baseline_ckpt, cls_metric=cls_metric,
                      ret_metric=ret_metric, plot_metrics=plot_metrics,
                      rows=rows, paths=paths)
        plotted, title = rows, f'{tag}: lambda sweep'
        if seeds is not None:
            # each lambda's mean and spread over its seeds first, then
            # every run's row
            summary = seed_summary(rows, keys)
            # a run reused from the unseeded run's folder: named by it
            folders = {(lam, seed): os.path.basename(record['run_dir'])
                       for (lam, seed, *_), record in zip(lambda_runs,
                                                          records)
                       if record and 'run_dir' in record}
            for line in nan_seed_lines(summary, folders):
                print_log(line, logger='current', level=logging.WARNING)
            table = seed_table(summary, keys) + '\n' + table
            result.update(seeds=seeds, spread=SPREAD, summary=summary)
            plotted = summary
            title += f' ({len(seeds)} seeds)'
        if same_set:  # above the table, where its columns are read
            table = f'{TEST_IS_VALIDATION}\n\n{table}'
        # finished runs of other lambdas (seeds) in the work dir: named
        # under the table and in the log, with the sweep that reports them
        left = runs_left_out(
            work_dir, reported_dirs(),
            lambda run_dir, row: judged(row['lambda'], row.get('seed'),
                                        baseline, run_dir)[0])
        if left:
            note = left_out_line(left, lambdas, seeds)
            table = f'{table}\n{note}\n'
            result['left_out'] = [r['folder'] for r in left]
            _say(f'{work_dir}: {note}')
        save_set({paths['json']: result,  # the rows, table and plot together
                  paths['markdown']: table,
                  paths['png']: plot_sweep(plotted, plot_metrics, cls_metric,
                                           ret_metric, title=title)})
        result['table'] = table
        result['closing_warnings'] = closing_warnings_of_runs(told)
        return result
