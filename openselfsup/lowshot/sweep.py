"""Many settings of one model in one process.

:func:`~.sweep_settings.sweep_specs` lists the settings of a domain (novel
classes x shots x modes x classifiers, as the experiment scripts loop over
them; in a module of its own, which ``sweep.py --check`` imports without
torch) and :func:`run_sweep` runs them, loading each feature set, task
store and dictionary once (:class:`~.meta_test.Inputs`), instead of one
process per setting. Missing task stores and dictionaries are made on the
way (existing ones are reused after their checks, never replaced, but for a
dictionary the sweep made itself from base features extracted again since,
which it builds again and says so). Each setting prints the
block a single ``distributed_meta_test.py`` run prints and writes the same
result JSON, so logs and ``summarize.py`` read alike; the sweep also writes
one index file with every setting's summary and the timings (with its
table and plot, when it completes; a rerun removes the previous index,
table and plot as it writes its first result, so that an interrupted rerun
never leaves them beside results of another run). With ``reuse``
(``sweep.py``'s default), a setting whose result JSON is current for it
(:func:`reusable_result`) is taken as it is, not computed again: an
interrupted sweep run again goes on where it stopped, and writes the
index, table and plot of a sweep that computed every setting. Each result JSON names
the indexes that list it (its ``sweeps`` field: each index's ``sweep_id``
and files), and
whoever replaces that file later with another result (a single
``distributed_meta_test.py`` run, another sweep with a setting in common)
removes those indexes and tables first; the same result again (a rerun on
the same inputs) keeps them (:func:`~.meta_test.release_result`). An index
rewritten since, whose ``sweep_id`` differs, is not touched; the reports
under ``summary/`` that read the file (the summary, a ``--compare``) are
removed alike (:class:`~.report.SummaryReports`). So an index, or a
report under ``summary/``, never lists numbers its results no longer hold;
a report written elsewhere (``summarize.py --output`` outside
``summary/``), or before reports recorded the results they read
(``read_results``), is not looked for and may.

For the near domain the features of novel class ``c`` come from the model
``model_template.format(model=M, novel=c)``, by default ``M_wo_c`` (the
encoder pre-trained without class c, as ``near_domain.sh`` does); a template
``'{model}'`` uses one feature set for every novel class.

Sweep file (``paths.sweep_path``)::

    model, task (the sweep's tasks joined by '+'), num_settings,
    sweep_id (a random hex id, also in each result's ``sweeps`` field),
    execution {device, threads, dtype},
    elapsed_s {load, tasks, dictionaries, meta_test, total},
    settings: [{spec fields, output (result JSON), average_mean,
                average_ci, harmonic_mean, num_task, elapsed_s}]
"""
import json
import os
import sys
import time
import uuid
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

from ..classes import split_model_name
from ..utils import (InputError, check_replaceable, check_writable,
                     count_words, json_text, remove_set, save_json,
                     save_set)
from . import paths
from .meta_test import (RESULT_VERSION, Inputs, evaluate, release_result,
                        result_table, sweep_ref)
from .report import SummaryReports, tasks_words
from .spec import CLASSIFIERS, MODES, RunSpec, check_execution
from .tasks import check_samplers


def mean_over_settings_table(results: Sequence[Dict]) -> str:
    """Per (mode, classifier) and shots, the mean over the sweep's settings
    of each setting's ``average_mean`` (its F1 averaged over all the task's
    classes, not the novel class's F1; near domain: one setting per novel
    class); with several task domains, per domain too (one ``task`` column:
    the domains are different problems, never averaged together)."""
    shots = sorted({r['num_shots'] for r in results})
    tasks = list(dict.fromkeys(r['task'] for r in results))
    keys = sorted({(r['task'], r['mode'], r['clf']) for r in results},
                  key=lambda k: (tasks.index(k[0]), MODES.index(k[1]),
                                 CLASSIFIERS.index(k[2])))
    many = len(tasks) > 1
    lines = ['| ' + ('task | ' if many else '') + 'mode | classifier | '
             + ' | '.join(f'{s}-shot' for s in shots) + ' |',
             '|---' * (3 if many else 2) + '|' + '---|' * len(shots)]
    for task, mode, clf in keys:
        cells = []
        for s in shots:
            v = [r['average_mean'] for r in results if r['task'] == task
                 and r['mode'] == mode and r['clf'] == clf
                 and r['num_shots'] == s]
            cells.append(f'{100 * np.mean(v):.2f} (n={len(v)})' if v
                         else '–')
        lines.append('| ' + (f'{task} | ' if many else '') +
                     f'{mode} | {clf} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def plot_sweep_results(results: Sequence[Dict],
                       settings: Sequence[Dict]) -> bytes:
    """The sweep's plot: the summary's (:func:`~.report.plot_table`, F1
    against shots, a row of panels per classifier, a column per domain, a
    curve per mode; a family's ``_wo_<c>`` models averaged into one curve,
    error bars the cell's 95% CI where a point is one setting) of the
    sweep's own results, ``settings`` the index's entries (their
    ``output``: each result's file)."""
    from .report import build_table, plot_table
    return plot_table(build_table([dict(r, _file=s['output'])
                                   for r, s in zip(results, settings)]))


def setting_name(spec: RunSpec) -> str:
    """A setting in the log: model, domain, novel class, shots,
    classifier, mode and variant."""
    novel = '' if spec.novel_class is None else f' novel {spec.novel_class}'
    variant = f' [{spec.variant}]' if spec.variant else ''
    return (f'{spec.model} {spec.task}{novel} | {spec.shots}-shot | '
            f'{spec.clf} | {spec.mode}{variant}')


def setting_header(spec: RunSpec) -> str:
    """The first line of a setting's block in the log (written when the
    setting is done)."""
    return f'== {setting_name(spec)}'


def setting_start(spec: RunSpec, i: int, n: int) -> str:
    """The line that says setting ``i`` of ``n`` starts (its chunks'
    progress bar follows on stderr)."""
    return (f'-> {setting_name(spec)}  ({i}/{n}, '
            f'{tasks_words(spec.num_task)}): meta-testing')


def feature_sets_read(specs: Sequence[RunSpec]) -> List[tuple]:
    """The ``(model, feature set)`` pairs the settings read, in order,
    once each: their features (:meth:`~.spec.RunSpec.inputs`), support
    and query sets, the dictionary's base set (latent modes) and
    ``NCT_aug`` (``aug_times`` above 1)."""
    return list(dict.fromkeys(
        (inp.model, inp.features) for spec in specs
        for inp in spec.inputs() if inp.kind == 'features'))


def reusable_result(inputs: Inputs, spec: RunSpec, path: str,
                    dtype: torch.dtype, device: str = 'cpu'
                    ) -> Optional[Dict]:
    """The result JSON at ``path`` (``spec``'s) where it is what the
    sweep would compute for ``spec`` now, else None: a result
    (:func:`~.report.load_result`: readable, its numbers those of its
    per-task F1) of exactly ``spec``'s settings (:meth:`~.spec.RunSpec.
    info`: classifier and its parameters, seeds, ``num_task``, the
    augmentation's and the dictionary's settings), computed in ``dtype``
    (``--float32`` or not: other numbers) on a ``device`` of the same
    kind (CPU or CUDA, whose last bits may differ, and the index names
    one device for all; the threads and chunks do not change the
    numbers), by the meta-test's code of this :data:`~.meta_test.
    RESULT_VERSION`, recording every input it reads now
    (:func:`records_inputs`; else computed again), with the class names
    the support set's meta
    JSON gives now, on the inputs ``inputs`` has loaded for ``spec``
    (gathered first), judged by the rule that keeps a result in the
    summary (:func:`~.report.changed_inputs`): the same features (by
    digest, or the same extraction run again), labels, tasks and
    dictionary parts. The digests are those ``inputs`` holds
    (:meth:`~.meta_test.Inputs.recorded_now`): no feature file is read
    again. The returned dict is the file's, less the ``_file`` the
    reader adds."""
    from .report import changed_inputs, load_result
    if not os.path.isfile(path):
        return None
    try:
        result = load_result(path)
    except InputError:  # computed again, replacing it
        return None
    info = json.loads(json_text(spec.info(), None))
    execution = result.get('execution')
    if {k: result.get(k) for k in info} != info or \
            not isinstance(execution, dict) or \
            execution.get('dtype') != str(dtype).replace('torch.', '') or \
            _device_kind(execution.get('device')) != _device_kind(device):
        return None
    if result.get('version') != RESULT_VERSION or \
            not records_inputs(result, spec):
        return None
    store = inputs.store(spec)
    if result.get('classes') != inputs.class_names(spec, store) or \
            changed_inputs(result, inputs.workdir,
                           inputs.recorded_now(spec)):
        return None
    result.pop('_file', None)
    return result


def records_inputs(result: Dict, spec: RunSpec) -> bool:
    """Whether ``result`` records, with a digest, every input the sweep
    would record of ``spec`` now (:meth:`~.spec.RunSpec.inputs`, as
    :meth:`~.meta_test.Inputs.recorded_now` answers them): the support
    and query features and labels and the task store (each ``{path,
    sha1}``), the image-augmented features where ``aug_times > 1``, a
    latent mode's base features and the digests of the dictionary's
    parts that mode reads (:data:`~.dictionary.MODE_READS`).
    :func:`~.report.changed_inputs` judges only the inputs a result
    records; one that records fewer (or records them in another shape:
    ``files`` not a dict) is not reused, but computed again."""
    from .dictionary import MODE_READS
    files = result.get('files')
    if not isinstance(files, dict):
        return False
    for inp in spec.inputs():
        rec = files.get(inp.name)
        if not isinstance(rec, dict) or not isinstance(rec.get('path'), str):
            return False
        if inp.kind == 'dictionary':  # the digests of the parts it reads
            if not all(rec.get(f'{part}_sha1')
                       for part in MODE_READS.get(spec.mode, ())):
                return False
        elif not rec.get('sha1'):
            return False
    return True


def _device_kind(device) -> Optional[str]:
    """``'cpu'`` or ``'cuda'`` of a device as given (``cuda:1``: cuda),
    None where it is none."""
    try:
        return torch.device(str(device)).type
    except (RuntimeError, TypeError, ValueError):
        return None


def reuse_line(reused: int, total: int, results_dir: str,
               seconds: float) -> str:
    """The line that says how many settings a sweep takes from the
    results there (:func:`reusable_result`) and how to compute them
    again."""
    their, them = ('its result', 'is current for it') if reused == 1 \
        else ('their results', 'are current for them')
    return (f'reused {reused} of {count_words(total, "setting")}: {their} '
            f'in {results_dir} {them} (the same '
            'settings, precision, device kind and meta-test version; the '
            'same inputs, as '
            f'summarize.py judges them; checked in {seconds:.2f} s); '
            '--recompute '
            f'(RECOMPUTE=1 for the scripts) computes '
            f'{"it" if reused == 1 else "them"} again')


def check_features_present(workdir: str, specs: Sequence[RunSpec]) -> None:
    """Refuse settings whose feature set (features or labels file) is not
    in ``workdir``, before anything is loaded or made: the line
    :func:`~.features.load_features` gives for the first such set (its
    extraction command, the models that have features). Nothing is read
    where every file is there (the sweep checks them when it loads them).
    :func:`run_sweep` runs it first, over its own settings and those of
    the later model families it is given (``sweep.py --check_models``:
    ``MODELS="clp fsp"`` without fsp's features stopped after clp's
    sweep had run)."""
    from .features import load_features
    for model, name in feature_sets_read(specs):
        if not (os.path.isfile(paths.features_path(workdir, model, name))
                and os.path.isfile(paths.labels_path(workdir, name))):
            load_features(workdir, model, name)  # raises its one line


def run_sweep(workdir: str, specs: Sequence[RunSpec], device: str = 'cpu',
              chunk_size: Optional[int] = None,
              threads: Optional[int] = None,
              dtype: torch.dtype = torch.float64,
              output: Optional[str] = None, make_missing: bool = True,
              log: Optional[Callable[[str], None]] = print,
              write_index: bool = True,
              describing: Sequence[str] = (),
              results_dir: Optional[str] = None,
              model: Optional[str] = None,
              warn: Optional[Callable[[str], None]] = print,
              check_also: Sequence[RunSpec] = (),
              shots_flags: Optional[str] = None,
              reuse: bool = False) -> Dict:
    """Run every setting; write each result JSON, the index and its table.

    Args:
        workdir (str): the low-shot work directory.
        specs (sequence of RunSpec): the settings
            (:func:`~.sweep_settings.sweep_specs`).
        device, chunk_size, threads, dtype: execution (as the meta-test).
        output (str, optional): index file (default
            ``paths.sweep_path(workdir, model, <tasks>)``).
        make_missing (bool): draw missing task stores and build missing
            dictionaries.
        log (callable, optional): receives a line as each setting starts
            (:func:`setting_start`) and its block when it is done; with a
            ``log``, the setting's chunks have a progress bar on stderr
            (:func:`~openselfsup.utils.progress.progress_bar`: in a log
            file, a line at most every 30 s and one at the end), and
            stdout is flushed after each line, so that a log file holds
            them in order as they happen (None: quiet, no bar).
        warn (callable, optional): receives the warning-level lines,
            also where ``log`` is None (``--quiet``): a result replaced
            by one over another number of tasks or in another precision,
            an index listing a replaced result that could not be removed
            (:func:`~.meta_test.release_result`), a dictionary of its own
            built again over features extracted again since; they went to
            ``log``, and ``sweep.py --quiet`` dropped them. None: not
            said.
        write_index (bool): write the index, its table and its plot
            (:func:`plot_sweep_results`, the index's name with ``.png``);
            False for a
            caller that writes them itself, extended, in one set with its
            own files (the ablation: its table and plot), so that an
            interruption between the two writes cannot leave this index
            beside the caller's older files.
        describing (sequence of str): the caller's other files that
            describe the results (the ablation's plot), removed with the
            index when the first result is rewritten, or when a later run
            replaces one of its results.
        results_dir (str, optional): the folder of the result JSONs
            (default ``<workdir>/results``, the summary's; the ablation
            writes its own, :func:`~.paths.ablation_results_dir`).
        model (str, optional): the model the default index is named for,
            ``sweep.py``'s ``--model`` (``clp`` of a near-domain sweep of
            ``clp_wo_<c>``); default the first setting's model, its
            ``_wo_<c>`` read off (:func:`~openselfsup.classes.
            split_model_name`). It was always the latter, cut at the first
            ``_wo_``: ``--model clp_wo_78 --task mixture`` wrote
            ``sweeps/clp_mixture.*``, replacing the index, table and plot
            of ``--model clp``'s sweep without a word.
        check_also (sequence of RunSpec): settings of other sweeps (the
            later model families,
            :func:`~.sweep_settings.other_models_specs`) whose feature
            sets must be present too: checked with the sweep's own, before
            anything is made or written; not run.
        shots_flags (str, optional): the caller's flags that set the
            shots, named where the data cannot give a setting's shots
            (the ablation's; default: the sweep's and the scripts',
            :func:`~.tasks.shots_way_out`).
        reuse (bool): take a setting whose result JSON is current for it
            (:func:`reusable_result`) as it is instead of computing it
            again (``sweep.py``'s default, ``--recompute`` turns it off),
            said in one line to ``warn`` (:func:`reuse_line`) and in its
            block; the file is written again with this sweep in its
            ``sweeps`` field, and the index, table and plot are those of
            a sweep that computed every setting (but for the timings: a
            reused setting's ``elapsed_s`` is its own run's, the
            sweep's ``meta_test`` and ``total`` this run's). So an
            interrupted sweep, run again, goes on where it stopped.

    Returns:
        dict: the index (module docstring schema) with ``output``,
        ``summary_md``, ``table``, ``results`` (every setting's result
        dict, in order) and ``reused`` (how many of them were) added, and ``summary_png`` (the plot) where
        ``write_index``.
    """
    if not specs:
        raise InputError('nothing to run: the sweep has no settings')
    t_start = time.perf_counter()
    first = specs[0]
    tasks = list(dict.fromkeys(s.task for s in specs))
    out = output or paths.sweep_path(
        workdir, model or split_model_name(first.model)[0], tasks)
    if not out.endswith('.json'):
        raise InputError(f'--output {out}: the sweep index is JSON; give a '
                         '.json path (the table goes beside it as .md)')
    paths.check_not_in_results(workdir, out,
                               'the summary would stop at this index', 'it',
                               paths.sweeps_dir(workdir))
    md = out[:-5] + '.md'
    # the plot of the index's numbers, beside it (a caller writing the
    # index itself draws its own, one of describing)
    png = out[:-5] + '.png' if write_index else None
    own = list(dict.fromkeys([out, md, *([png] if png else []),
                              *describing]))
    # every output must be writable before the first setting runs
    for path in own + [s.result_path(workdir, results_dir) for s in specs]:
        check_writable(path)
    if write_index:
        check_replaceable(out, ('model', 'task', 'num_settings', 'settings'),
                          'a sweep index written by sweep.py',
                          also=(md, png), given=bool(output))
    check_execution(device, chunk_size, threads)
    check_samplers(workdir, [s.tasks for s in specs])
    # a missing feature set of a later setting (or of a later family's
    # sweep) stops the sweep before the stores and dictionaries of the
    # earlier ones are made
    check_features_present(workdir, [*specs, *check_also])
    inputs = Inputs(workdir, make_missing=make_missing, warn=warn,
                    shots_flags=shots_flags)
    # every setting's inputs (features, task store, dictionary, augmented
    # support) loaded, drawn or built and checked before the first runs: a
    # setting that cannot run (too few samples for its shots, say) stops
    # the sweep before any result is written, not after hours of others
    if log:
        log(f'preparing the inputs of {count_words(len(specs), "setting")} '
            '(features; task stores and dictionaries, made where missing)')
    # the task stores first, all drawn before any is written: a shot
    # count the data cannot give leaves no store of the others behind
    inputs.prepare_stores(specs)
    for spec in specs:
        inputs.gather(spec)
    if log:
        log(f'inputs ready in {time.perf_counter() - t_start:.1f} s')
    t0 = time.perf_counter()
    reused = [reusable_result(inputs, spec, spec.result_path(
        workdir, results_dir), dtype, device) if reuse else None
        for spec in specs]
    num_reused = sum(r is not None for r in reused)
    if num_reused and warn:
        warn(reuse_line(num_reused, len(specs),
                        results_dir or paths.results_dir(workdir),
                        time.perf_counter() - t0))
    results, index = [], []
    meta_time = 0.0
    sweep_id = uuid.uuid4().hex
    # the summary folder's reports by the results they read: each JSON
    # parsed once for the whole sweep, not once per result written
    reports = SummaryReports(workdir)
    for i, (spec, result) in enumerate(zip(specs, reused), 1):
        if result is None:
            if log:
                # a setting can take minutes (logistic regression,
                # latent_aug): say which one runs, then its chunks' bar,
                # as a single run
                log(setting_start(spec, i, len(specs)))
                sys.stdout.flush()  # print's, before the bar's stderr lines
            result = evaluate(inputs, spec, device, chunk_size, threads,
                              dtype, progress=log is not None)
            meta_time += result['execution']['elapsed_s']
        path = spec.result_path(workdir, results_dir)
        if i == 1:
            # the previous index (and table, plot) describes the results
            # about to be replaced: an interrupted rerun must not leave it
            # beside results partly of this run; written anew at the end
            gone = remove_set(own)
            if gone and log:
                log(f'removed the previous {", ".join(gone)}: ' + (
                    'the results they describe are being replaced'
                    if num_reused < len(specs) else 'this sweep reuses '
                    'every result they describe') + ' (written anew when '
                    'this sweep completes)')
        # another sweep's index that lists this file goes, unless this is
        # the same result (then the file names that index and this one)
        result['sweeps'] = [*release_result(path, result, log, warn,
                                            workdir, reports),
                            sweep_ref(path, sweep_id, own)]
        save_json(path, result)
        results.append(result)
        index.append({**spec.info(), 'output': path,
                      'num_task': result['num_task'],
                      'average_mean': result['average_mean'],
                      'average_ci': result['average_ci'],
                      'harmonic_mean': result['harmonic_mean'],
                      'elapsed_s': result['execution']['elapsed_s']})
        if log:
            took = f'{result["execution"]["elapsed_s"]:.2f} s'
            log(f'{setting_header(spec)}  ({i}/{len(specs)}, '
                f'{result["num_task"]} tasks, '
                + (took if reused[i - 1] is None else
                   f'reused: computed before in {took}') + ')\n'
                f'{result_table(result)}\nwrote {path}')
            sys.stdout.flush()
    timing = {k: float(inputs.timing[k]) for k in ('load', 'tasks',
                                                   'dictionaries')}
    timing.update(meta_test=meta_time,
                  total=time.perf_counter() - t_start)
    sweep = {'model': first.model, 'task': '+'.join(tasks),
             'num_settings': len(specs), 'sweep_id': sweep_id,
             'execution': {'device': str(device), 'threads': threads,
                           'dtype': str(dtype).replace('torch.', '')},
             'elapsed_s': timing, 'settings': index}
    counts = sorted({int(r['num_task']) for r in results})
    over = tasks_words(counts[0]) if len(counts) == 1 else \
        f'{" / ".join(map(str, counts))} tasks'
    table = ('Average F1 (%) of this sweep: the mean over the n settings '
             'of a cell (near domain: one per novel class; mixture and '
             f'out: one), each over {over}:\n\n'
             + mean_over_settings_table(results))
    if write_index:
        # the index, its table and plot together, all computed first
        save_set({out: sweep, md: table,
                  png: plot_sweep_results(results, index)})
    sweep.update(output=out, summary_md=md, table=table, results=results,
                 reused=num_reused)
    if write_index:
        sweep['summary_png'] = png
    return sweep
