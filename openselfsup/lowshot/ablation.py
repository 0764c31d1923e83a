"""The augmentation ablation of the ICLR-22 paper, as one list of settings.

The published ``ablation.sh`` evaluates the ``wo_78`` encoder (STR and TUM
held out of pre-training) on 9-way tasks with both novel classes, 5 shots,
300 tasks, Ridge, in five parts:

==================  ===================================================
part                settings
==================  ===================================================
baseline            linear
prototypes          latent augmentation (100 aug shots) with K prototypes,
                    K in 2 4 8 16 32 64 128 256
image               image-space augmentation: each support image and
                    ``aug_times - 1`` augmented copies (``NCT_aug``
                    features), linear; published aug_times t^2, t = 2..16
latent              latent augmentation with ``num_aug_shots`` = t^2
hybrid              image x latent: ``aug_times`` = t and
                    ``num_aug_shots`` = t, t = 2..16
==================  ===================================================

:func:`ablation_settings` lists those :class:`~.spec.RunSpec` (each part's
values are arguments), :func:`ablation_rows` collects their results
(average F1 ± the mean of the per-class 95% CIs, the published average
row; the F1 of the two novel classes ± its 95% CI over tasks), shown by
:func:`ablation_table` (Markdown) and :func:`plot_ablation` (PNG).
The runs themselves go through :func:`~.sweep.run_sweep` (one process).
"""
import os
from typing import Dict, List, Optional, Sequence, Tuple

from ..utils import InputError, json_object_or_none, read_once
from ..utils.plot import figure_png, subplots
from . import paths
from .report import AVERAGE_CI, NOVEL_CI, _fmt, novel_cell
from .spec import (RunSpec, changed_flags, check_distinct_settings,
                   check_model_novel_class, precision_flags)

#: the published values (ablation.sh)
PUBLISHED = dict(prototypes=(2, 4, 8, 16, 32, 64, 128, 256),
                 image=tuple(t * t for t in range(2, 17)),
                 latent=tuple(t * t for t in range(2, 17)),
                 hybrid=tuple(range(2, 17)))
PARTS = ('baseline', 'prototypes', 'image', 'latent', 'hybrid')

#: the ablation's flag of its shots, where the data cannot give them
#: (:func:`~.tasks.shots_way_out`): ablation.sh refuses SHOTS and runs the
#: published 5
SHOTS_FLAGS = ('ablation.py --num_shots; ablation.sh runs the published 5 '
               'shots: run ablation.py with --num_shots instead')


def ablation_settings(model: str = 'clp_wo_78', shots: int = 5,
                      num_task: int = 300, clf: str = 'Ridge',
                      prototypes: Sequence[int] = PUBLISHED['prototypes'],
                      image: Sequence[int] = PUBLISHED['image'],
                      latent: Sequence[int] = PUBLISHED['latent'],
                      hybrid: Sequence[int] = PUBLISHED['hybrid'],
                      **common) -> List[Tuple[str, str, RunSpec]]:
    """The ablation's rows, part by part (an empty list skips a part).

    Args:
        model (str): the encoder pre-trained without classes 7 and 8.
        shots, num_task, clf: as published, 5, 300 and Ridge.
        prototypes: K values of the dictionary part.
        image: ``aug_times`` values of the image-space part.
        latent: ``num_aug_shots`` values of the latent part.
        hybrid: t values of the hybrid part (aug_times = num_aug_shots = t).
        common: other :class:`RunSpec` fields (seeds, num_shift_vectors).

    Returns:
        list: ``(part, value, spec)`` per table row. Two rows may share a
        spec (K = 16 with 100 aug shots is in two parts): run
        :func:`unique_specs` once each.
    """
    for part, values in (('prototypes', prototypes), ('image', image),
                         ('latent', latent), ('hybrid', hybrid)):
        for v in values:  # named by this command's flag, not the spec's
            if not isinstance(v, int) or v < 1:
                raise InputError(f'--{part} {v}: values must be whole '
                                 'numbers of at least 1 (none skips the '
                                 'part)')
        check_distinct_settings(f'--{part}', values)
    # novel class 78 is the ablation's: no --novel_class to give
    check_model_novel_class(model, 78,
                            novel_flag="the ablation's novel class")
    base = dict(model=model, task='near', shots=shots, clf=clf,
                novel_class=78, num_task=num_task, **common)
    rows = [('baseline', '–', RunSpec(mode='linear', **base))]
    rows += [('prototypes', f'K={k}',
              RunSpec(mode='latent_aug', num_prototypes=k, **base))
             for k in prototypes]
    rows += [('image', f'aug_times={t}',
              RunSpec(mode='linear', aug_times=t, **base)) for t in image]
    rows += [('latent', f'aug shots={a}',
              RunSpec(mode='latent_aug', num_aug_shots=a, **base))
             for a in latent]
    rows += [('hybrid', f'aug_times=aug shots={t}',
              RunSpec(mode='latent_aug', aug_times=t, num_aug_shots=t,
                      **base)) for t in hybrid]
    return rows


def skipped_note(skipped: Dict[str, str]) -> str:
    """One line naming the parts a run skips and why, or ``''``.

    Args:
        skipped (dict): part -> how its flag skipped it (``'none'``, or
            ``'given without values'``: the flag alone, which also skips
            the part and is what a mistyped command line gives, e.g.
            ``--prototypes --image 4``).
    """
    if not skipped:
        return ''
    kept = [p for p in PARTS if p not in skipped]
    return ('note: skipping ' + ', '.join(
        f'the {part} part (--{part} {how})' for part, how in skipped.items())
        + f'; the table has {", ".join(kept)}'
        + ('' if len(kept) > 1 else ': nothing to plot, no plot written'))


def plotted(rows) -> bool:
    """Whether :func:`ablation_settings`' (or :func:`ablation_rows`')
    rows have a part to plot: one besides the baseline (a run that skips
    every part has the baseline's row alone, and its plot was an empty
    panel)."""
    return any((r[0] if isinstance(r, tuple) else r['part']) != 'baseline'
               for r in rows)


def unique_specs(rows) -> List[RunSpec]:
    """The distinct specs of :func:`ablation_settings`' rows, in order."""
    return list(dict.fromkeys(spec for _, _, spec in rows))


#: the spec field each part varies (the x axis of its panel)
PART_FIELD = {'prototypes': 'num_prototypes', 'image': 'aug_times',
              'latent': 'num_aug_shots', 'hybrid': 'aug_times'}


def ablation_rows(rows, results: Sequence[Dict]) -> List[Dict]:
    """The ablation's numbers, one dict per table row: ``part``, ``value``
    (its label), ``x`` (the varied number; None for the baseline),
    ``average_mean`` / ``average_ci`` (the mean of the per-class 95% CIs,
    :data:`~.report.AVERAGE_CI`) and ``novel_mean`` / ``novel_ci``
    (the per-task mean F1 of STR and TUM, mean and 95% CI), fractions.

    Args:
        rows: from :func:`ablation_settings`.
        results: the result of each of :func:`unique_specs`, in order.
    """
    by_spec = dict(zip(unique_specs(rows), results))
    out = []
    for part, value, spec in rows:
        r = by_spec[spec]
        novel = novel_cell(r)  # STR and TUM: per-task mean, then over tasks
        field = PART_FIELD.get(part)
        out.append({'part': part, 'value': value,
                    'x': None if field is None else getattr(spec, field),
                    'average_mean': r['average_mean'],
                    'average_ci': r['average_ci'],
                    'novel_mean': novel['mean'], 'novel_ci': novel['ci']})
    return out


def ablation_table(table_rows: Sequence[Dict]) -> str:
    """One Markdown table of :func:`ablation_rows`: part, value, average F1
    ± the mean of the per-class 95% CIs, and the F1 of the novel classes
    STR and TUM ± its 95% CI over tasks (percent). The average column's
    and novel columns' headers say what their ± is
    (:data:`~.report.AVERAGE_CI`, :data:`~.report.NOVEL_CI`: the summary
    tables' wording)."""
    lines = [f'| part | value | average F1 (%): {AVERAGE_CI} | '
             f'novel STR+TUM F1 (%): {NOVEL_CI} |',
             '|---|---|---:|---:|']
    for r in table_rows:
        lines.append(f'| {r["part"]} | {r["value"]} | '
                     f'{_fmt(r["average_mean"], r["average_ci"])} | '
                     f'{_fmt(r["novel_mean"], r["novel_ci"])} |')
    return '\n'.join(lines) + '\n'


def plot_ablation(table_rows: Sequence[Dict], title: str = ''
                  ) -> Optional[bytes]:
    """One panel per varied part (F1 in percent against its number, log
    scale; average F1 ± the mean of the per-class 95% CIs, novel STR+TUM F1
    ± its 95% CI), the baseline
    as dashed lines in every panel.

    Returns:
        bytes or None: the PNG; None where no part besides the baseline
        has a row (:func:`plotted`: nothing to plot).
    """
    if not plotted(table_rows):
        return None
    parts = [p for p in PARTS[1:] if any(r['part'] == p for r in table_rows)]
    base = next((r for r in table_rows if r['part'] == 'baseline'), None)
    fig, axes = subplots(1, max(1, len(parts)), sharey=True,
                         figsize=(3.4 * max(1, len(parts)) + 0.6, 3.6),
                         squeeze=False)
    curves = (('average', 'average F1', 'tab:blue'),
              ('novel', 'novel STR+TUM F1', 'tab:red'))
    for ax, part in zip(axes[0], parts):
        pts = [r for r in table_rows if r['part'] == part]
        xs = [r['x'] for r in pts]
        for key, label, colour in curves:
            ax.errorbar(xs, [100 * r[f'{key}_mean'] for r in pts],
                        yerr=[100 * (r[f'{key}_ci'] or 0.0) for r in pts],
                        fmt='o-', ms=3, capsize=2, color=colour, label=label)
            if base is not None:
                ax.axhline(100 * base[f'{key}_mean'], color=colour,
                           linestyle='--', linewidth=0.8)
        if len(set(xs)) > 1 and min(xs) > 0:
            ax.set_xscale('log', base=2)
        ax.set_xlabel({'prototypes': 'prototypes K', 'image': 'aug_times',
                       'latent': 'aug shots',
                       'hybrid': 'aug_times = aug shots'}[part])
        ax.set_title(part)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel('F1 (%)')
    axes[0][0].legend(fontsize=7, loc='best',
                      title='dashed: baseline', title_fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return figure_png(fig)


#: the end of a :func:`rerun_command` whose parts' values are unknown
PARTS_TO_ADD = (', adding the --prototypes, --image, --latent and --hybrid '
                'values of the ablation run that wrote it')

#: the setting flags an ablation command gives: those written always, and
#: those written where they differ from the defaults
_ALWAYS = ('model', 'num_shots', 'num_task', 'clf')
_CHANGED = _ALWAYS + ('task_seed', 'seed', 'num_shift_vectors', 'dict_seed')


def _setting_flags(values: Dict) -> List[str]:
    """The ``ablation.py`` flags of the setting a result (or an index's
    setting) records, its model first: shots, tasks, classifier, and the
    seeds and shift vectors that differ from the defaults."""
    return changed_flags(dict(values, shots=values['num_shots']), _CHANGED,
                         _ALWAYS)


def rerun_command(result: Dict, workdir: str) -> str:
    """The ``ablation.py`` command that runs an ablation result's setting
    again (the ablation writes its results, :func:`~.paths.
    ablation_results_dir`; ``distributed_meta_test.py`` writes
    ``results/``), run from any folder (``workdir`` as given in the
    current folder, :func:`~.paths.printed`): its model, shots, tasks,
    classifier, the seeds and shift vectors that differ from the
    defaults, ``--float32`` where it ran in float32
    (:func:`~.spec.precision_flags`), and the parts' values of the run that
    wrote it (:func:`parts_flags`): the command runs every setting of
    that run again (those of unchanged inputs to the same numbers) and
    writes its table whole again; one part alone would write a table of
    that part. Where the model's index records no run of this setting,
    the line says which flags to add and, where the index is there, that
    the command replaces the table of the run it records (another run
    of the model since: review r111, it was replaced without a word);
    the index named as the workdir is, absolute (:func:`~.paths.printed`:
    it was as given, a relative path that the command's folder does not
    tell)."""
    command = ' '.join(['python', paths.script('wsi_workdir', 'ablation.py'),
                        *_setting_flags(result), *precision_flags(result)])
    parts = parts_flags(result, workdir)
    if parts is None:
        index = paths.printed(paths.ablation_index_path(workdir,
                                                        result['model']))
        return (f'{command} --workdir {paths.printed(workdir)}'
                f'{PARTS_TO_ADD} ({index} records no run of this setting'
                f'{_replaces_note(workdir, result["model"])})')
    return ' '.join([command, *parts, '--workdir', paths.printed(workdir)])


def _replaces_note(workdir: str, model: str) -> str:
    """``; running it replaces the table ...``: the note a printed
    ``ablation.py`` command of ``model`` in ``workdir`` carries where the
    model's index is there (:func:`~.paths.ablation_index_path`), naming
    the table it replaces (absolute, :func:`~.paths.printed`); empty
    where there is none."""
    index = paths.ablation_index_path(workdir, model)
    if not os.path.exists(index):
        return ''
    table = paths.printed(os.path.splitext(index)[0] + '.md')
    return f'; running it replaces the table of the run it records, {table}'


def _index_parts(index) -> Optional[List[str]]:
    """The part flags (``--prototypes 2 4 --image none ...``, every part,
    ``none`` for one skipped) of the run an ablation index records, from
    its table's rows (each part's value ``x``); None where the index is
    none or does not hold them."""
    rows = index.get('ablation_rows') if isinstance(index, dict) else None
    if not (isinstance(rows, list)
            and all(isinstance(r, dict) and (r.get('part') == 'baseline'
                                             or isinstance(r.get('x'), int))
                    for r in rows)):
        return None
    flags = []
    for part in PARTS[1:]:
        values = [str(r['x']) for r in rows if r.get('part') == part]
        flags += [f'--{part}', *(values or ['none'])]
    return flags


def _index_settings(index) -> Optional[List[RunSpec]]:
    """The settings an ablation index records, as specs; None where it
    records none readable."""
    settings = index.get('settings') if isinstance(index, dict) else None
    if not isinstance(settings, list) or not settings:
        return None
    try:
        return [RunSpec.from_result(s) for s in settings]
    except (InputError, KeyError, TypeError, ValueError, AttributeError):
        return None


def _index(workdir: str, model: str) -> Optional[Dict]:
    """The ablation index of ``model`` in ``workdir``
    (:func:`~.paths.ablation_index_path`), None where it is missing or is
    no JSON object; within a report (:func:`~openselfsup.utils.
    reading_once`: :func:`~.report.current_results`, ``--compare``) read
    once while it is the same file (:func:`~openselfsup.utils.read_once`),
    not once per result left out (the rerun command of each read it
    again). To read, not to change."""
    return read_once('ablation index',
                     paths.ablation_index_path(workdir, model),
                     json_object_or_none)


def parts_flags(result: Dict, workdir: str) -> Optional[List[str]]:
    """The part flags (:func:`_index_parts`) of the ablation run of
    ``result``'s model in ``workdir`` that holds its setting, as its index
    records them (:func:`_index`: the settings it ran, its table's rows
    with each part's value ``x``); None where the index is missing,
    unreadable, or of a run without this setting (a later run of the
    model with other shots or tasks replaced it)."""
    index = _index(workdir, result['model'])
    settings = _index_settings(index)
    try:
        mine = RunSpec.from_result(result)
    except (InputError, KeyError, TypeError, ValueError):
        return None
    if settings is None or mine not in settings:
        return None
    return _index_parts(index)


def model_command(model: str, workdir: str, like: Optional[str] = None
                  ) -> str:
    """The ``ablation.py`` command that writes ``model``'s ablation
    results in ``workdir``, run from any folder (``workdir`` as given in
    the current folder, :func:`~.paths.printed`), with the settings of
    the run of model ``like`` that its index records (its shots, tasks,
    classifier, seeds, shift vectors, precision and parts), so that the
    two pair in ``--compare like model --ablation`` (review r111: the
    command named the model and workdir alone, which ran the published
    5 shots, 300 tasks and every part: its image part refused for lack of
    copies where ``like``'s skipped it, and other settings than
    ``like``'s). Where no index of ``like`` records a run (or ``like`` is
    None), the published settings, and, where ``like`` has ablation
    results, the line says whose flags to add. Where ``model``'s own
    index records a run of other settings or parts than the command's,
    the line says that the command replaces its table
    (:func:`_replaces_note`; review r118: it was replaced without a
    word)."""
    index = None if like is None else _index(workdir, like)
    settings, parts = _index_settings(index), _index_parts(index)
    tail = ['--workdir', paths.printed(workdir)]
    own = _index(workdir, model)
    if settings is None or parts is None:
        ran = like is not None and os.path.isdir(
            os.path.join(paths.ablation_results_dir(workdir), like))
        return ' '.join(['python', paths.script('wsi_workdir', 'ablation.py'),
                         '--model', model, *tail]) + (
            f', with the flags of the ablation run of {like} it pairs with '
            f'({paths.printed(paths.ablation_index_path(workdir, like))} '
            'records none)'
            if ran else '') + _replaces_note(workdir, model)

    def flags_of(ran):  # model's flags with the settings index ``ran`` records
        return [*_setting_flags(dict(ran['settings'][0], model=model)),
                *precision_flags(ran), *_index_parts(ran)]

    flags = flags_of(index)
    same = (_index_settings(own) is not None and _index_parts(own) is not None
            and flags_of(own) == flags)
    return ' '.join(['python', paths.script('wsi_workdir', 'ablation.py'),
                     *flags, *tail]) + (
        '' if same else _replaces_note(workdir, model))
