"""The settings of a sweep, checked without torch.

:func:`sweep_specs` lists the settings of one model on one domain (novel
classes x shots x modes x classifiers, as the experiment scripts loop over
them) and :func:`cli_specs` those of a ``wsi_workdir/sweep.py`` command
line; :func:`~.sweep.run_sweep` runs them. Kept apart from the sweep's
engine so that ``sweep.py --check`` (run by the scripts before they
extract features) imports neither torch nor the meta-test.
"""
from typing import Callable, List, Optional, Sequence

from ..utils import InputError
from .spec import (CLASSIFIERS, EXPECTED_CLASSIFIERS, RunSpec,
                   check_model_novel_class, no_closed_form)


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
