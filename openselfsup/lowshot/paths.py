"""Where the low-shot toolkit reads and writes, under one ``--workdir``.

One function per kind of file, so that no script assembles a path inline::

    <workdir>/extracted_feats/<model>/<NAME>.npy        features  float32 [N, D]
    <workdir>/extracted_feats/<model>/<NAME>.json       provenance (checkpoint, config,
                                                        list, normalisation, digests)
    <workdir>/extracted_feats/<NAME>_labels.npy         labels    int64 [N] (shared by the
                                                        models of a workdir; bound to
                                                        one list file's content)
    <workdir>/extracted_feats/<NAME>_meta.json          image paths, class names, list digest
    <workdir>/tasks/<domain>[_<mode>]_<ways>way_<shots>shot[_novel<C>][_seed<S>].npz
                                                        task store (``_seed<S>``: a
                                                        seed other than 0)
    <workdir>/dictionaries/<model>/<features>_K<K>_M<M>_seed<S>_<all|wo<C>>.npz
                                                        base dictionary
    <workdir>/results/<model>/<task>[_novel<C>]_<mode>_<clf>_<shots>shot[_<variant>].json
                                                        meta-test result
    <workdir>/ablation_results/<model>/<same names>.json
                                                        the ablation's results (apart:
                                                        two of its settings are
                                                        near-domain ones, at 300 tasks)
    <workdir>/summary/summary.{md,json,png}             table and plot of all results
    <workdir>/summary/<compare|ablation>/<A>/vs_<B>/<all|clf>.{md,json,png}
                                                        a paired comparison (its own folder)
    <workdir>/sweeps/<model>_<task>[+<task>...].{json,md,png}  one sweep (sweep.py): all settings
    <workdir>/sweeps/ablation/<model>.{json,md,png}     the ablation's index, table and plot
                                                        (ablation.py; its own folder)

NAME is one of :data:`FEATURE_NAMES`. ``model`` is a name such as ``clp``,
``fsp`` or ``clp_wo_7``. The file names of a setting come from its spec
(:mod:`openselfsup.lowshot.spec`).
"""
import os
import shlex
from typing import List, Optional

# the toolkit's names of the checkout's scripts in printed commands
from ..utils.io import from_root, read_from_root, script  # noqa: F401

#: feature sets the original code extracts, in its names; ``NCT_aug`` holds
#: features of image-augmented copies of NCT_train (the ablation)
FEATURE_NAMES = ('NCT_train', 'NCT_test', 'LC', 'PAIP_train', 'PAIP_test',
                 'NCT_aug')

DEFAULT_WORKDIR = os.path.join('wsi_workdir', 'workdir')


def features_path(workdir: str, model: str, name: str) -> str:
    return os.path.join(workdir, 'extracted_feats', model, f'{name}.npy')


def provenance_path(workdir: str, model: str, name: str) -> str:
    return os.path.join(workdir, 'extracted_feats', model, f'{name}.json')


def labels_path(workdir: str, name: str) -> str:
    return os.path.join(workdir, 'extracted_feats', f'{name}_labels.npy')


def meta_path(workdir: str, name: str) -> str:
    return os.path.join(workdir, 'extracted_feats', f'{name}_meta.json')


def _novel(novel_class: Optional[int]) -> str:
    return '' if novel_class is None else f'_novel{novel_class}'


def task_store_path(workdir: str, domain: str, ways: int, shots: int,
                    mode: Optional[str] = None,
                    novel_class: Optional[int] = None, seed: int = 0) -> str:
    """A task store; one of a seed other than 0 (``--task_seed``) has a
    name of its own (``_seed<S>``), so that stores of several seeds live
    side by side (a store of seed 1 replaced seed 0's, and every result
    on it was left out); seed 0's keeps the published layout's name."""
    mode_part = f'_{mode}' if mode else ''
    seed_part = f'_seed{seed}' if seed else ''
    return os.path.join(
        workdir, 'tasks',
        f'{domain}{mode_part}_{ways}way_{shots}shot{_novel(novel_class)}'
        f'{seed_part}.npz')


def dictionary_path(workdir: str, model: str, features: str,
                    num_prototypes: int, num_shift_vectors: int,
                    seed: int, novel: str = 'all') -> str:
    return os.path.join(
        workdir, 'dictionaries', model,
        f'{features}_K{num_prototypes}_M{num_shift_vectors}_seed{seed}_'
        f'{novel}.npz')


def result_path(workdir: str, model: str, task: str, mode: str, clf: str,
                shots: int, novel_class: Optional[int] = None,
                variant: str = '', results: Optional[str] = None) -> str:
    """A setting's result JSON in the folder ``results`` (default
    :func:`results_dir`, the one the summary reads; the ablation's:
    :func:`ablation_results_dir`). The task count is not in the name."""
    tail = f'_{variant}' if variant else ''
    return os.path.join(
        results or results_dir(workdir), model,
        f'{task}{_novel(novel_class)}_{mode}_{clf}_{shots}shot{tail}.json')


def printed(path: str) -> str:
    """``path``, given in the current folder, as a printed command names
    it, run from any folder (its script the checkout's, :func:`script`):
    absolute, a relative one joined with the current folder
    (:func:`joined`; a relative ``--workdir`` given from another folder
    named a file there that, run from the root, is another), quoted for
    the shell."""
    return shlex.quote(joined(path, os.getcwd()))


def joined(path: str, cwd: Optional[str]) -> str:
    """``path`` as given in the folder ``cwd`` (absolute), for a command
    run from another folder (a printed command, run from any folder:
    :func:`printed`): a relative one joined with ``cwd``; as given
    where absolute (``os.path.join`` keeps an absolute ``path``) or
    ``cwd`` is None (unknown)."""
    return os.path.join(cwd, path) if cwd else path


def check_workdir(workdir: str) -> None:
    """Refuse a ``--workdir`` that is a file (a command reading it would
    otherwise find nothing in it and name the command that makes it).

    Raises:
        InputError: ``workdir`` exists and is not a folder.
    """
    if os.path.exists(workdir) and not os.path.isdir(workdir):
        from ..utils import InputError
        raise InputError(f'--workdir {workdir} is a file, not a directory')


def workdir_nearby(workdir: str, sub: str, what: str) -> str:
    """For a ``workdir`` without its ``sub`` folder (``results``,
    ``extracted_feats``): the workdir it lies in (``--workdir W/results``
    or ``W/extracted_feats``) or the workdirs with ``what`` (that folder)
    inside it (the default ``wsi_workdir/workdir`` after the quick start
    wrote ``wsi_workdir/workdir/demo``), as ``'; ...'``, or ``''``."""
    parent = os.path.dirname(os.path.normpath(workdir)) or '.'
    if os.path.normpath(workdir) not in ('.', os.sep) and \
            os.path.isdir(os.path.join(parent, sub)):
        return (f'; {workdir} lies in the workdir {parent} '
                f'(--workdir {parent}?)')
    try:
        inside = sorted(d for d in os.listdir(workdir)
                        if os.path.isdir(os.path.join(workdir, d, sub)))
    except OSError:  # not there: what a relative one was taken against
        from ..utils import missing_note
        note = missing_note(workdir)
        return f'; {workdir}: {note}' if note else ''
    if not inside:
        return ''
    more = ', ...' if len(inside) > 3 else ''
    return (f'; workdirs with {what} in it: {", ".join(inside[:3])}{more} '
            f'(--workdir {os.path.join(workdir, inside[0])}?)')


#: the folders a low-shot workdir holds, one of which marks a folder as one
WORKDIR_FOLDERS = ('extracted_feats', 'tasks', 'dictionaries', 'results',
                   'ablation_results')


def workdirs_beside(workdir: str) -> List[str]:
    """The workdirs (folders holding one of :data:`WORKDIR_FOLDERS`)
    beside a ``workdir`` that does not exist, sorted; ``[]`` where it
    exists or its parent cannot be listed."""
    if not workdir or os.path.isdir(workdir):
        return []
    parent = os.path.dirname(os.path.normpath(workdir)) or '.'
    try:
        return sorted(d for d in os.listdir(parent) if any(
            os.path.isdir(os.path.join(parent, d, sub))
            for sub in WORKDIR_FOLDERS))
    except OSError:  # no such parent either
        return []


def workdirs_beside_note(workdir: str) -> str:
    """``'; workdirs beside it: a, b'`` (five, then ``...``) for a
    ``workdir`` that does not exist with workdirs beside it
    (:func:`workdirs_beside`), for the end of a reader's own line; ``''``
    otherwise."""
    beside = workdirs_beside(workdir)
    if not beside:
        return ''
    more = ', ...' if len(beside) > 5 else ''
    return f'; workdirs beside it: {", ".join(beside[:5])}{more}'


def missing_workdir(workdir: str) -> str:
    """The line for a ``--workdir`` that does not exist where a command
    reads it, whose name is close to a folder beside it: that folder
    (``did you mean wsi_workdir/workdir/demo?`` for ``.../dmeo``,
    :func:`~openselfsup.utils.io.close_entry`) and the workdirs beside it,
    so that a misspelt one is not answered with the commands that would
    write into the typo; ``''`` where it exists or no folder's name is
    close (review r204: any workdir beside it made the line, and a first
    run into ``workdir/mine`` beside ``workdir/demo`` lost the reader's
    own line, which says how to make what it reads; that line ends with
    :func:`workdirs_beside_note` instead)."""
    from ..utils.io import close_entry, missing_note
    if not workdir or os.path.isdir(workdir):
        return ''
    guess = close_entry(workdir, os.path.isdir, cutoff=0.6)
    if not guess:
        return ''
    note = missing_note(workdir, guess=guess)
    return (f'--workdir {workdir}: no such workdir'
            + (f' ({note})' if note else '')
            + workdirs_beside_note(workdir))


def check_workdir_there(workdir: str) -> None:
    """Refuse a ``--workdir`` that does not exist, its name close to a
    folder beside it, with :func:`missing_workdir`'s line.

    Raises:
        InputError: ``workdir`` is missing and a folder of a close name
            lies beside it.
    """
    line = missing_workdir(workdir)
    if line:
        from ..utils import InputError
        raise InputError(line)


def results_dir(workdir: str) -> str:
    return os.path.join(workdir, 'results')


def ablation_results_dir(workdir: str) -> str:
    """The ablation's result JSONs (``wsi_workdir/ablation.py``), kept
    apart from :func:`results_dir`: its baseline (5-shot Ridge, linear)
    and its K = 16 / 100 aug shots setting are near-domain settings of
    novel class 78 too, whose file names carry no task count, so in one
    folder its 300 tasks replaced ``near_domain.sh``'s 1000 (and removed
    that sweep's index) and ``near_domain.sh`` replaced the ablation's
    (and removed its table and plot). The summary reads ``results/``
    only: the near-domain tables keep the near-domain results; the
    ablation has its own table (:func:`ablation_index_path`)."""
    return os.path.join(workdir, 'ablation_results')


def ablation_note(workdir: str, model: Optional[str] = None) -> str:
    """A refusal's note that the workdir's ablation results (of ``model``
    where given) exist but are not read where the refusal looked for
    results (the summary, ``--compare``): '' where there are none."""
    folder = ablation_results_dir(workdir)
    if model is not None:
        folder = os.path.join(folder, model)
    if not os.path.isdir(folder):
        return ''
    # its path under the workdir: sweeps/ablation/<model>.md
    table = os.path.splitext(ablation_index_path('', model or '<model>'))[0] \
        + '.md'
    return (f" (the ablation's results in {folder} are not summarised: "
            f'its table is {table}'
            + ('; summarize.py --compare A B --ablation pairs two models\' '
               'ablation results' if model else '') + ')')


def check_not_in_results(workdir: str, path: str, stops: str, what: str,
                         default: str) -> None:
    """Refuse an ``--output`` JSON ``path`` in the workdir's ``results/``,
    where every JSON is read as a meta-test result: a report or sweep index
    written there would stop the next summary (``stops``: how, for the
    line; ``what`` to write elsewhere; its ``default`` folder).

    Raises:
        InputError: ``path`` lies in ``results/``.
    """
    root = os.path.realpath(results_dir(workdir))
    if os.path.commonpath([root, os.path.realpath(path)]) == root:
        from ..utils import InputError
        raise InputError(
            f'--output {path}: inside {results_dir(workdir)}, where every '
            f'JSON is read as a meta-test result ({stops}); write {what} '
            f'elsewhere (default {default})')


def summary_path(workdir: str, ext: str, name: str = 'summary') -> str:
    return os.path.join(workdir, 'summary', f'{name}.{ext}')


def compare_name(model_a: str, model_b: str, clf: Optional[str] = None,
                 ablation: bool = False) -> str:
    """The name under ``<workdir>/summary/`` (:func:`summary_path`) of the
    paired comparison of models A and B: ``compare/<A>/vs_<B>/all``, or
    ``.../<clf>`` for one classifier; ``ablation/...`` alike for their
    ablation results. Each model is a path component of its own (a model
    name holds no '/'), so no two comparisons share a name: the flat
    ``compare_<A>_vs_<B>[_<clf>]`` was also ``--compare A B_<clf>``'s,
    and ``--compare a_vs_b c``'s was ``--compare a b_vs_c``'s."""
    return os.path.join('ablation' if ablation else 'compare', model_a,
                        f'vs_{model_b}', clf or 'all')


def sweep_path(workdir: str, model: str, tasks) -> str:
    """One sweep's results file (``wsi_workdir/sweep.py``); kept outside
    ``results/`` so the summary of single runs does not read it. ``tasks``
    (a task or the sweep's tasks in order) are all in the name, so a sweep
    of one domain never replaces the index of a sweep over several."""
    if isinstance(tasks, str):
        tasks = [tasks]
    return os.path.join(sweeps_dir(workdir), f'{model}_{"+".join(tasks)}.json')


def sweeps_dir(workdir: str) -> str:
    return os.path.join(workdir, 'sweeps')


def ablation_index_path(workdir: str, model: str) -> str:
    """The ablation's index (``wsi_workdir/ablation.py``): its table and
    plot beside it as ``.md`` and ``.png``. In a folder of its own,
    ``sweeps/ablation/<model>.json``, so that no sweep takes the name (a
    model holds no '/'): the flat ``sweeps/ablation_<model>.json`` was
    also :func:`sweep_path` of ``sweep.py --model ablation --task
    <model>`` (``ablation_near``), and of ``--model ablation_clp --task
    near`` beside an ablation of ``clp_near``, and the second run
    replaced the first's index, table and plot without a word."""
    return os.path.join(sweeps_dir(workdir), 'ablation', f'{model}.json')
