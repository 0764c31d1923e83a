"""Many settings of one model in one process.

:func:`sweep_specs` lists the settings of a domain (novel classes x shots x
modes x classifiers, as the experiment scripts loop over them) and
:func:`run_sweep` runs them, loading each feature set, task store and
dictionary once (:class:`~.meta_test.Inputs`), instead of one process per
setting. Missing task stores and dictionaries are made on the way (existing
ones are reused after their checks, never replaced, but for a dictionary the
sweep made itself from base features extracted again since, which it builds
again and says so). Each setting prints the
block a single ``distributed_meta_test.py`` run prints and writes the same
result JSON, so logs and ``summarize.py`` read alike; the sweep also writes
one index file with every setting's summary and the timings (with its
table and plot, when it completes; a rerun removes the previous index,
table and plot as it writes its first result, so that an interrupted rerun
never leaves them beside results of another run). Each result JSON names
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
import os
import sys
import time
import uuid
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

from ..classes import split_model_name
from ..utils import (InputError, check_replaceable, check_writable,
                     count_words, remove_set, save_json, save_set)
from . import paths
from .meta_test import (Inputs, check_execution, evaluate, release_result,
                        result_table, sweep_ref)
from .report import SummaryReports, tasks_words
from .spec import (CLASSIFIERS, EXPECTED_CLASSIFIERS, MODES, RunSpec,
                   check_model_novel_class, no_closed_form)
from .tasks import check_samplers


def model_name(template: str, model: str, novel: Optional[int]) -> str:
    """The feature model of novel class ``novel`` (``template`` fields
    ``{model}`` and ``{novel}``)."""
    if novel is None:
        return model
    try:
        return template.format(model=model, novel=novel)
    except (KeyError, IndexError, ValueError) as exc:
        raise InputError(f'--model_template {template!r}: {exc}; use the '
                         'fields {model} and {novel}') from None


def expected_skipped(clfs: Sequence[str],
                     modes: Sequence[str]) -> List[str]:
    """The classifiers of ``clfs`` whose ``latent_aug_expected`` settings
    a sweep of ``modes`` skips (no closed form); ``[]`` without that
    mode."""
    if 'latent_aug_expected' not in modes:
        return []
    return [c for c in clfs if c not in EXPECTED_CLASSIFIERS]


def skipped_expected_note(clfs: Sequence[str],
                          modes: Sequence[str]) -> str:
    """One line saying which classifiers' ``latent_aug_expected``
    settings a sweep skips and why, or ``''``."""
    skipped = expected_skipped(clfs, modes)
    if not skipped:
        return ''
    other = [m for m in modes if m != 'latent_aug_expected']
    return (f'note: skipping {" and ".join(skipped)} in latent_aug_expected'
            f' ({no_closed_form("--modes", skipped)})'
            + (f'; it runs in {" ".join(other)}' if other else ''))


def sweep_specs(model: str, task: str,
                novel_classes: Sequence[Optional[int]] = (None,),
                shots: Sequence[int] = (1, 5, 10),
                clfs: Sequence[str] = CLASSIFIERS,
                modes: Sequence[str] = ('linear', 'latent_aug'),
                model_template: str = '{model}_wo_{novel}',
                shots_flag: str = '--shots', **common) -> List[RunSpec]:
    """The settings of one model's sweep, in the scripts' order (novel
    class, classifier, shots, mode).

    ``latent_aug_expected`` is skipped for classifiers without a closed
    form. ``common`` holds the remaining :class:`RunSpec` fields (num_task,
    seeds, dictionary and classifier parameters); ``shots_flag`` names the
    flag the shots came from in a refusal.
    """
    if not shots:
        raise InputError(f'{shots_flag}: give at least one shot count')
    for s in shots:  # named by the sweep's flag, not the spec's
        if not isinstance(s, int) or s < 1:
            raise InputError(f'{shots_flag} {s}: shot counts must be at '
                             'least 1')
    novels = list(novel_classes) if task == 'near' else [None]
    for c in novels:  # named by the sweep's flags, not the spec's
        name = model_name(model_template, model, c)
        check_model_novel_class(
            name, c, '--novel_classes',
            f'--model {name}' if name == model else
            f'--model_template {model_template!r} ({name} for novel '
            f'class {c})')
    skip = set(expected_skipped(clfs, modes))
    specs = []
    for c in novels or [None]:
        for clf in clfs:
            for s in shots:
                for mode in modes:
                    if mode == 'latent_aug_expected' and clf in skip:
                        continue
                    specs.append(RunSpec(
                        model=model_name(model_template, model, c),
                        task=task, shots=s, clf=clf, mode=mode,
                        novel_class=c, **common))
    return specs


def cli_specs(args, note: Optional[Callable[[str], None]] = None
              ) -> List[RunSpec]:
    """The settings a ``wsi_workdir/sweep.py`` command line runs (its
    parsed ``args``): per ``--task``, :func:`sweep_specs` with the shots
    of ``--<task>_shots``, else ``--shots``, else the published ones, and
    novel classes 0..8 where ``--novel_classes`` is not given (the near
    domain's only). One list per task: the out domain's hetero and homo
    settings have different published shots (homo: no 1-shot), so a
    ``--shots`` meant for one of them would run the other's too; a
    ``--shots`` that reaches out_homo (no ``--out_homo_shots``) and another
    task, with a count the published homo shots lack (1), is refused, not
    run. ``note`` (a callable, optional) receives the line naming the
    classifiers whose ``latent_aug_expected`` settings are skipped
    (:func:`skipped_expected_note`; ``MODES=latent_aug_expected`` with the
    default classifiers skipped logistic regression without a word)."""
    from .spec import (DEFAULT_SHOTS, TASKS, check_distinct_settings,
                       spec_kwargs)
    own = {t: getattr(args, f'{t}_shots', None) for t in TASKS}
    for flag, values in (('--task', args.task), ('--shots', args.shots),
                         *((f'--{t}_shots', own[t]) for t in TASKS),
                         ('--clfs', args.clfs), ('--modes', args.modes),
                         ('--novel_classes', args.novel_classes)):
        check_distinct_settings(flag, values or ())
    if args.novel_classes is not None and 'near' not in args.task:
        raise InputError(f'--novel_classes applies to the near domain; '
                         f'--task {" ".join(args.task)} has none')
    for t in TASKS:
        if own[t] is not None and t not in args.task:
            raise InputError(f'--{t}_shots applies to --task {t}; --task '
                             f'{" ".join(args.task)} does not run it')

    def shots(task):
        for flag, values in ((f'--{task}_shots', own[task]),
                             ('--shots', args.shots)):
            if values is not None:
                return flag, values
        return '--shots', DEFAULT_SHOTS[task]
    shared = [t for t in args.task if t != 'out_homo' and own[t] is None]
    if 'out_homo' in args.task and own['out_homo'] is None and args.shots \
            and shared:
        # the one domain whose published shots lack a count of the others
        # (homo 1-shot: never drawn, its published runs failed): a --shots
        # meant for near / mixture / out gives out_homo its counts only
        # where the published homo protocol has them (a --shots that
        # reaches out_homo alone is meant for it, as --out_homo_shots is)
        published = DEFAULT_SHOTS['out_homo']
        off = [s for s in args.shots if s not in published]
        if off and min(args.shots) >= 1:  # else sweep_specs names the 0
            raise InputError(
                f'--shots {" ".join(map(str, args.shots))} would run --task '
                f'out_homo at {", ".join(map(str, off))} shots, which the '
                'published homo protocol never ran (its shots: '
                f'{" ".join(map(str, published))}); give out_homo its own '
                'list with --out_homo_shots (OUT_HOMO_SHOTS in the scripts)')
    novel = list(range(9)) if args.novel_classes is None \
        else args.novel_classes
    common = spec_kwargs(args)
    for key in ('model', 'task', 'shots', 'clf', 'mode', 'novel_class'):
        common.pop(key, None)
    specs = []
    for task in args.task:
        flag, values = shots(task)
        specs += sweep_specs(args.model, task, novel, values, args.clfs,
                             args.modes, args.model_template, flag, **common)
    if not specs:  # every setting skipped by sweep_specs: say why
        raise InputError(no_closed_form('--modes', args.clfs)
                         + ': nothing to run')
    line = skipped_expected_note(args.clfs, args.modes)
    if line and note:  # some skipped (the others run): said, once
        note(line)
    return specs


def other_models_specs(args, models: Optional[Sequence[str]]
                       ) -> List[RunSpec]:
    """The settings of the ``sweep.py`` command line ``args`` with
    ``--model`` replaced by each of ``models`` (``--check_models``: the
    later families of the domain scripts' ``MODELS``, whose feature sets
    the first family's sweep checks present before it makes anything, so
    that no extra process checks them), checked as :func:`cli_specs`
    checks its own; ``[]`` for none."""
    import argparse
    from .spec import check_distinct_settings
    check_distinct_settings('--check_models', models or ())
    return [spec for m in models or () for spec in cli_specs(
        argparse.Namespace(**{**vars(args), 'model': m}))]


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
    once each: support and query sets, the dictionary's base set (latent
    modes) and ``NCT_aug`` (``aug_times`` above 1)."""
    sets = []
    for spec in specs:
        s = spec.setting
        sets += [(spec.model, s.support_set), (spec.model, s.query_set)]
        if spec.latent:
            sets.append((spec.dictionary.model, spec.dictionary.features))
        if spec.aug_times and spec.aug_times > 1:
            sets.append((spec.model, 'NCT_aug'))
    return list(dict.fromkeys(sets))


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
              shots_flags: Optional[str] = None) -> Dict:
    """Run every setting; write each result JSON, the index and its table.

    Args:
        workdir (str): the low-shot work directory.
        specs (sequence of RunSpec): the settings (:func:`sweep_specs`).
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
            later model families, :func:`other_models_specs`) whose
            feature sets must be present too: checked with the sweep's
            own, before anything is made or written; not run.
        shots_flags (str, optional): the caller's flags that set the
            shots, named where the data cannot give a setting's shots
            (the ablation's; default: the sweep's and the scripts',
            :func:`~.tasks.shots_way_out`).

    Returns:
        dict: the index (module docstring schema) with ``output``,
        ``summary_md``, ``table`` and ``results`` (every setting's result
        dict, in order) added, and ``summary_png`` (the plot) where
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
    results, index = [], []
    meta_time = 0.0
    sweep_id = uuid.uuid4().hex
    # the summary folder's reports by the results they read: each JSON
    # parsed once for the whole sweep, not once per result written
    reports = SummaryReports(workdir)
    for i, spec in enumerate(specs, 1):
        if log:
            # a setting can take minutes (logistic regression, latent_aug):
            # say which one runs, then its chunks' bar, as a single run
            log(setting_start(spec, i, len(specs)))
            sys.stdout.flush()  # print's, before the bar's stderr lines
        result = evaluate(inputs, spec, device, chunk_size, threads, dtype,
                          progress=log is not None)
        meta_time += result['execution']['elapsed_s']
        path = spec.result_path(workdir, results_dir)
        if i == 1:
            # the previous index (and table, plot) describes the results
            # about to be replaced: an interrupted rerun must not leave it
            # beside results partly of this run; written anew at the end
            gone = remove_set(own)
            if gone and log:
                log(f'removed the previous {", ".join(gone)}: the results '
                    'they describe are being replaced (written anew when '
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
            log(f'{setting_header(spec)}  ({i}/{len(specs)}, '
                f'{result["num_task"]} tasks, '
                f'{result["execution"]["elapsed_s"]:.2f} s)\n'
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
    sweep.update(output=out, summary_md=md, table=table, results=results)
    if write_index:
        sweep['summary_png'] = png
    return sweep
