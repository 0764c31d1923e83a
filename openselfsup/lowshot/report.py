"""Tables and plots of meta-test results.

:func:`summarize` reads every result JSON under ``<workdir>/results/`` and
writes the paper's table (rows: model x variant x mode x classifier;
columns: shots per domain; cells ``mean ± ci`` F1 in percent, ``ci`` the
mean of the per-class 95% CIs: :data:`AVERAGE_CI`) as Markdown
and JSON, and a PNG of F1 against shots (a row of panels per classifier,
a column per domain; linear vs latent augmentation, CLP vs FSP). The
three files are written together, after everything is computed: they never
disagree.

A result JSON (written by the meta-test, :mod:`.meta_test`) holds at least::

    model, task, mode, clf, num_shots, num_task, classes, per_class_mean,
    per_class_ci, average_mean, average_ci, units ("fraction")

and optionally ``variant``, ``novel_class``, ``colon_mean``/
``lung_mean``/``colon_ci``/``lung_ci``/``harmonic_mean``/``harmonic_ci``
(mixture) and ``per_task_f1`` [T, C] (whose summary, where it is there,
every summary field must be: :func:`_check_per_task`). F1 values are
fractions in [0, 1]; a CI is null when it is undefined (a single task;
NaN, in a file written before every JSON was standard, reads the same).
"""
import glob
import math
import os
import re
import shlex
import textwrap
from collections import Counter
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..classes import (COLON_CLASSES, LUNG_CLASSES, held_out,
                       split_model_name)
from ..utils import (InputError, count_words, is_number, json_object_or_none,
                     load_json, read_once, reading_once, remove_set,
                     save_set)
from ..utils.once import file_version
from ..utils.plot import colormap, figure_png, subplots
from . import paths
from .metrics import ci_bound, fmt_pct, mean_ci
from .metrics import summarize as summarize_f1
from .spec import (CLASSIFIERS, MODES, RESULT_INPUTS, TASKS,
                   check_novel_pairing)

#: columns and rows in the paper's order; unknown values sort after these
DOMAINS = TASKS
DOMAIN_TITLES = {'near': 'near domain (NCT)',
                 'mixture': 'mixture domain (LC25000)',
                 'out': 'out domain (PAIP19, hetero)',
                 'out_homo': 'out domain (PAIP19, homo)'}
#: what a cell's ``± ci`` of the class-averaged F1 is: the published
#: average row (``average_ci``, :func:`~.metrics.summarize`), not the CI
#: of the task F1 averaged over classes (which ``--compare`` pairs)
AVERAGE_CI = ('mean over tasks ± the mean of the per-class 95% CIs (the '
              'published average row; not the CI of the class-averaged '
              'task F1)')
#: what a novel-class F1 cell's ``± ci`` is: the 95% CI of its per-task
#: F1 over tasks (:func:`novel_cell`)
NOVEL_CI = 'mean ± 95% CI over tasks'
REQUIRED_KEYS = ('model', 'task', 'mode', 'clf', 'num_shots', 'num_task',
                 'classes', 'per_class_mean', 'per_class_ci', 'average_mean',
                 'average_ci')


def _check_fraction(value, what: str, path: str,
                    num_task: Optional[int] = None,
                    required: bool = False) -> None:
    """An F1 fraction in [0, 1]; with ``num_task``, the 95% half-width of
    such fractions over that many tasks: in [0, :func:`~.metrics.ci_bound`]
    (above 1 for two or three tasks; percent values stay out for more).
    Null or NaN reads as undefined unless ``required`` (a mean over tasks,
    which the meta-test always writes; a CI or the harmonic mean may be
    undefined)."""
    undefined = value is None or (isinstance(value, float)
                                  and math.isnan(value))
    if undefined and required:
        raise InputError(f'{path}: {what} = {value!r} is not an F1 fraction '
                         'in [0, 1] (run the meta-test again)')
    if undefined:
        return  # undefined: null, or NaN in a file written before null
    top = 1.0
    if num_task is not None and num_task >= 2:
        top = max(1.0, ci_bound(num_task))
    if not isinstance(value, (int, float)) or not 0 <= value <= top + 1e-9:
        if top > 1:
            raise InputError(f'{path}: {what} = {value!r} is not the 95% '
                             f'half-width of F1 fractions over {num_task} '
                             f'tasks (in [0, {top:.4g}]; run the meta-test '
                             'again)')
        raise InputError(f'{path}: {what} = {value!r} is not an F1 fraction '
                         'in [0, 1] (run the meta-test again)')


def load_result(path: str) -> dict:
    """Read and check one result JSON.

    Raises:
        InputError: unreadable JSON, a missing key, units other than
            fractions, an F1 outside [0, 1], or per-task F1 that are not
            ``[num_task, classes]`` or whose summary
            (:func:`~.metrics.summarize`) is not the result's
            ``average_mean``, ``per_class_mean``, ``per_class_ci`` and
            :data:`DERIVED_FIELDS` (those it holds).
    """
    result = load_json(path, 'result JSON')
    if not isinstance(result, dict):
        raise InputError(f'{path}: a result JSON must hold an object')
    missing = [k for k in REQUIRED_KEYS if k not in result]
    if missing:
        raise InputError(f'{path}: result JSON lacks {", ".join(missing)}')
    if result.get('units', 'fraction') != 'fraction':
        raise InputError(f'{path}: units {result.get("units")!r}; results '
                         'hold F1 fractions (run the meta-test again)')
    try:
        num_task = int(result['num_task'])
    except (TypeError, ValueError):
        raise InputError(f'{path}: num_task = {result["num_task"]!r} is not '
                         'a whole number') from None
    for key in ('average_mean', 'average_ci', 'harmonic_mean',
                'harmonic_ci'):
        _check_fraction(result.get(key), key, path,
                        num_task if key.endswith('_ci') else None,
                        required=key == 'average_mean')
    for i, (m, h) in enumerate(zip(result['per_class_mean'],
                                   result['per_class_ci'])):
        _check_fraction(m, f'per_class_mean[{i}]', path, required=True)
        _check_fraction(h, f'per_class_ci[{i}]', path, num_task)
    _check_per_task(result, path, num_task)
    if result['task'] == 'near':
        check_novel_pairing(path, result['model'], result.get('novel_class'),
                            result['classes'])
    result['_file'] = path
    return result


#: the summary fields of a result that :func:`~.metrics.summarize` gives
#: from its per-task F1 beside ``average_mean`` and the per-class ones,
#: and what each is of the per-task F1 (the mixture domain's final
#: metric, the published README's: the harmonic mean of the colon and
#: lung class means, its CI that of their CIs)
DERIVED_FIELDS = {
    'average_ci': "the mean of its per_task_f1 columns' 95% CIs",
    'colon_mean': 'the mean of its per_task_f1 colon columns',
    'lung_mean': 'the mean of its per_task_f1 lung columns',
    'colon_ci': "the mean of its per_task_f1 colon columns' 95% CIs",
    'lung_ci': "the mean of its per_task_f1 lung columns' 95% CIs",
    'harmonic_mean': 'the harmonic mean of its colon and lung means',
    'harmonic_ci': 'the harmonic mean of its colon and lung CIs'}


def _undefined(value) -> bool:
    """Null, or NaN (a file written before every JSON was standard)."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def _agrees(value, want) -> bool:
    """A number of a result file is the one its per-task F1 give (within
    1e-9); undefined (null or NaN) where they give none or NaN."""
    if _undefined(want) or _undefined(value):
        return _undefined(want) and _undefined(value)
    return is_number(value) and abs(value - want) <= 1e-9


def _check_per_task(result: dict, path: str, num_task: int) -> None:
    """The per-task F1 a result holds (where it holds them) is
    ``[num_task, classes]`` and every summary of them the result holds is
    :func:`~.metrics.summarize`'s (within 1e-9): ``average_mean``, each
    class's ``per_class_mean`` and ``per_class_ci`` (the mean and 95% CI
    of its column) and each of :data:`DERIVED_FIELDS` it holds (for a
    result of another domain than the mixture, none but ``average_ci``:
    null). The tables show ``average_mean`` ± ``average_ci``, a novel
    class's ``per_class_mean`` ± ``per_class_ci`` and the mixture's
    ``harmonic_mean`` ± ``harmonic_ci``, ``--compare`` pairs the per-task
    F1, so a file edited or written by other code would give the reports
    other numbers for one result."""
    per_task = result.get('per_task_f1')
    if not per_task:
        return
    try:
        f1 = np.asarray(per_task, dtype=np.float64)
    except (TypeError, ValueError):
        f1 = None
    if f1 is None or f1.shape != (num_task, len(result['classes'])):
        raise InputError(f'{path}: per_task_f1 is not [num_task, classes] '
                         f'= [{num_task}, {len(result["classes"])}] (run '
                         'the meta-test again)')
    bad = np.argwhere(~((f1 >= 0) & (f1 <= 1)))  # NaN too
    if len(bad):
        t, c = bad[0]
        raise InputError(f'{path}: per_task_f1[{t}][{c}] = '
                         f'{float(f1[t, c])!r} is not an F1 fraction in '
                         '[0, 1] (run the meta-test again)')
    # the meta-test's summary of its per-task F1, the one definition of
    # every summary field (the mixture's over its 5 classes: colon 0, 1,
    # lung 2, 3, 4)
    mixture = result['task'] == 'mixture'
    mixed = len(COLON_CLASSES) + len(LUNG_CLASSES)
    if mixture and f1.shape[1] != mixed:
        raise InputError(f'{path}: a mixture-domain result has {mixed} '
                         f'classes (colon and lung), its per_task_f1 '
                         f'{f1.shape[1]} (run the meta-test again)')
    s = summarize_f1(f1, mixture=mixture)
    mean = result['average_mean']
    if isinstance(mean, (int, float)) and not math.isnan(mean) and \
            not _agrees(mean, s['average_mean']):
        raise InputError(f'{path}: average_mean = {mean!r} but its '
                         f'per_task_f1 average {s["average_mean"]:.6g}; the '
                         'file was edited or written by other code (run the '
                         'meta-test again)')
    # a novel class's cell reads its per_class_mean and per_class_ci: the
    # mean and 95% CI of that class's column (whose check implies the
    # average_mean one: the mean of the column means is the mean of the
    # array)
    means, cis = result['per_class_mean'], result['per_class_ci']
    if len(means) != f1.shape[1] or len(cis) != f1.shape[1]:
        raise InputError(f'{path}: per_class_mean and per_class_ci hold '
                         f'{len(means)} and {len(cis)} values for '
                         f'{f1.shape[1]} classes (run the meta-test again)')

    def got(want) -> str:
        return 'undefined (one task)' if math.isnan(want) else f'{want:.6g}'
    for c in range(f1.shape[1]):
        for key, what, value, want in (
                ('per_class_mean', 'mean', means[c],
                 s['per_class_mean'][c]),
                ('per_class_ci', '95% CI', cis[c], s['per_class_ci'][c])):
            if not _agrees(value, want):
                raise InputError(
                    f'{path}: {key}[{c}] = {value!r} but the {what} of its '
                    f'per_task_f1 column is {got(want)}; the file was '
                    'edited or written by other code (run the meta-test '
                    'again)')
    # the cells' ± (average_ci) and the mixture's final metric
    for key, what in DERIVED_FIELDS.items():
        if key not in result or _agrees(result[key], s[key]):
            continue
        but = f'{what} is {got(s[key])}' if s[key] is not None else \
            f'a {result["task"]} result has none (mixture domain only)'
        raise InputError(
            f'{path}: {key} = {result[key]!r} but {but}; the file was '
            'edited or written by other code (run the meta-test again)')


def first_run_command(workdir: str, ablation: bool = False,
                      model: str = 'MODEL') -> str:
    """The command that writes ``model``'s results in ``workdir`` (as
    given in the current folder, :func:`~.paths.printed`), run from any
    folder: the meta-test's, its task and shots the user's to fill in
    (upper-case), or with ``ablation`` the ablation's of the published
    settings (the ablation's of another model's settings:
    :func:`~.ablation.model_command`)."""
    return ' '.join(
        (['python', paths.script('wsi_workdir', 'ablation.py'), '--model',
          model] if ablation else
         ['python', paths.script('wsi_workdir', 'distributed_meta_test.py'),
          '--task', 'TASK', '--model', model, '--num_shots', 'SHOTS'])
        + ['--workdir', paths.printed(workdir)])


def load_results(results_dir: str, ablation: bool = False,
                 run: Optional[Callable[[], str]] = None) -> List[dict]:
    """Every result JSON under ``results_dir`` (recursively), checked;
    ``ablation``: the folder is the ablation's
    (:func:`~.paths.ablation_results_dir`), for the messages; ``run()``:
    the command(s) that write the results, named where there are none
    (called only then; default :func:`first_run_command`, its model
    ``MODEL``).

    Raises:
        InputError: the directory is missing or holds no result JSON.
    """
    workdir = os.path.dirname(results_dir)
    # a workdir of the ablation only: its results are not the summary's
    apart = '' if ablation else paths.ablation_note(workdir)
    run = run or (lambda: first_run_command(workdir, ablation))
    name = os.path.basename(results_dir)
    if not os.path.isdir(results_dir):
        paths.check_workdir_there(workdir)  # a misspelt --workdir
        raise InputError(f'{results_dir}: no results directory; run '
                         f'{run()} first{apart}'
                         + paths.workdir_nearby(workdir, name, name)
                         + paths.workdirs_beside_note(workdir))
    files = sorted(glob.glob(os.path.join(results_dir, '**', '*.json'),
                             recursive=True))
    if not files:
        raise InputError(f'{results_dir}: no result JSON files; run '
                         f'{run()} first{apart}')
    return [load_result(f) for f in files]


#: the workdir folder each kind of input file lies in
_ANCHORS = {'features': 'extracted_feats', 'labels': 'extracted_feats',
            'tasks': 'tasks'}
#: the input files a result records (``files``,
#: :data:`~.spec.RESULT_INPUTS`; the dictionary is judged on its own, by
#: the parts its mode reads): name, kind, and the workdir folder the file
#: lies in; features first (in the order a result writes them), then
#: labels, then the task store: the order ``changed_inputs`` names them in
_RESULT_INPUTS = tuple(sorted(
    ((name, kind, _ANCHORS[kind]) for name, kind in RESULT_INPUTS.items()
     if kind in _ANCHORS), key=lambda i: list(_ANCHORS).index(i[1])))


def _in_workdir(recorded: str, workdir: str, anchor: str) -> str:
    """A recorded absolute input path, relative to ``workdir`` from its
    last ``anchor`` folder (``extracted_feats`` or ``tasks``): a moved or
    copied workdir is judged by its own files."""
    parts = recorded.replace('\\', '/').split('/')
    if anchor in parts:
        i = len(parts) - 1 - parts[::-1].index(anchor)
        return os.path.join(workdir, *parts[i:])
    return recorded


def _now(path: str, kind: str):
    """What the meta-test would record of ``path`` now, or None when the
    file is absent (not judged). Features: ``(sha1, extraction)``, the
    digest of the ``.npy`` itself (before, the provenance JSON's
    ``features_sha1``: a ``.npy`` overwritten with other features, its
    JSON left alone, kept every result current) and the extraction the
    provenance JSON beside it names, None where that JSON records the
    digest of other features (it does not describe the file, which is
    then judged by its digest alone); labels: their digest; tasks: the
    store; a dictionary: ``({part: digest}, None)`` (:meth:`~.dictionary.
    Dictionary.digests`). Cost: each file
    read once per command (:func:`~openselfsup.utils.reading_once`,
    entered by :func:`summarize` and ``--compare``, and by each public
    function here that reads them when called alone), again where it is
    written again meanwhile (its provenance JSON is read with it); 100,000 x 512 float32 features
    (205 MB), 0.15-0.19 s in the page cache on a 2-core machine at load 2,
    2026-12-05."""
    if not os.path.isfile(path):
        return None
    return read_once(f'report {kind}', path, lambda p: _read_now(p, kind))


def _read_now(path: str, kind: str):
    """:func:`_now` of the file ``path``, read now."""
    from ..utils import array_sha1
    from .features import provenance_extraction
    from .tasks import TaskStore
    try:
        if kind == 'tasks':
            return TaskStore.load(path)
        if kind == 'dictionary':  # its parts, as the meta-test reads them
            from .dictionary import load_dictionary
            return load_dictionary(path).digests(), None
        prov = None
        if kind == 'features':
            meta = os.path.splitext(path)[0] + '.json'
            if os.path.isfile(meta):
                prov = load_json(meta, 'provenance JSON')
        array = np.load(path, mmap_mode='r', allow_pickle=False)
        sha = array_sha1(np.ascontiguousarray(
            array, np.float32 if kind == 'features' else np.int64))
        if isinstance(prov, dict) and prov.get('features_sha1') \
                not in (None, sha):
            prov = None  # of other features: not this file's
        return sha, provenance_extraction(prov)
    except (InputError, ValueError, OSError, EOFError):
        return 'unreadable', None


def _same_bytes(rec: dict, now) -> bool:
    """Whether an input file read now (``now``, :func:`_now`: not None)
    is the very file a result recorded (``rec``, its ``files.<name>``):
    the recorded digest. Such features are the result's whatever their
    provenance names now (a checkpoint written again, of another SHA-256,
    whose features are the same bytes): :func:`changed_inputs` keeps
    them, and :func:`result_encoders` names their encoder as their
    provenance names it now."""
    return rec.get('sha1') == now[0]


@reading_once()  # each input file read once (also over results)
def changed_inputs(result: dict, workdir: str,
                   now: Optional[Callable[[str, str], object]] = None
                   ) -> List[Tuple[str, str]]:
    """The input files of ``result`` that are not what it was computed on:
    features (support, query, image-augmented, and the base features a
    latent mode's dictionary was built from) of another digest than the
    one recorded and of another extraction
    (encoder, list, augmented passes, a
    sample of the images, the model and pipeline as the config file and
    overrides resolve, the library releases, as their provenance names them:
    :func:`~.features.same_extraction`; by their digest alone where either
    side names none: imported features, older results), other labels, a
    task store drawn again or unreadable, a latent result's dictionary
    made again with other parts than those its mode read
    (:func:`_dictionary_moved`).
    Absent files are not judged;
    features of the recorded digest are the ones it was computed on,
    whatever checkpoint their provenance names now (a checkpoint file
    written again, of another SHA-256, whose features are the same bytes);
    features extracted again the same way are the same (their last bits
    can differ with batch size or device; float32 features of CUDA's TF32
    convolutions, :func:`~.features.ran_tf32`, extracted again without
    TF32 are not: :func:`~.features.same_extraction`).

    Args:
        result (dict): from :func:`load_result`.
        workdir (str): the work directory the result belongs to.
        now (callable, optional): ``now(path, kind)``, what the meta-test
            would record of that input file now, as :func:`_now` gives it
            (default :func:`_now`, which reads the file): the sweep's
            (:func:`~.sweep.reusable_result`) answers from the inputs it
            has loaded and checked, their digests already computed, so
            that judging a result does not read its features again.

    Returns:
        list: ``(path, kind)`` of each changed file.
    """
    from .features import same_extraction
    now_of = now or _now
    from .tasks import TaskStore
    files = dict(result.get('files') or {})
    dic = files.get('dictionary')
    if not files.get('base_features') and isinstance(dic, dict) and \
            dic.get('features_sha1'):
        # a latent result written before base_features was recorded: its
        # dictionary's digest of them (a RunSpec's are the model's
        # NCT_train), compared exactly
        files['base_features'] = {
            'path': paths.features_path(workdir, str(result.get('model')),
                                        'NCT_train'),
            'sha1': dic['features_sha1']}
    changed = []
    for name, kind, anchor in _RESULT_INPUTS:
        rec = files.get(name)
        if not isinstance(rec, dict) or not rec.get('path') or \
                not rec.get('sha1'):
            continue
        path = _in_workdir(str(rec['path']), workdir, anchor)
        there = now_of(path, kind)
        if there is None:
            continue
        if kind == 'tasks':
            try:
                moved = not isinstance(there, TaskStore) or \
                    there.head(int(result['num_task'])).sha1 != rec['sha1']
            except InputError:  # fewer tasks now
                moved = True
        else:
            # the digest first: features of the very bytes a result was
            # computed on are its features, whatever their provenance names
            # now (a checkpoint file written again, the same
            # features extracted again); other bytes are current only as
            # the same extraction run again
            moved = not _same_bytes(rec, there) and not (
                rec.get('extraction') and there[1]
                and same_extraction(rec['extraction'], there[1]))
        if moved and (path, kind) not in changed:
            changed.append((path, kind))
    from .dictionary import MODE_READS
    reads = MODE_READS.get(result.get('mode'))
    if reads and isinstance(dic, dict) and dic.get('path'):
        path = _in_workdir(str(dic['path']), workdir, 'dictionaries')
        if _dictionary_moved(dic, path, result.get('_file'), reads,
                             now_of):
            changed.append((path, 'dictionary'))
    return changed


def _dictionary_moved(rec: dict, path: str, result_file: Optional[str],
                      reads: Tuple[str, ...],
                      now: Optional[Callable[[str, str], object]] = None
                      ) -> bool:
    """Whether the dictionary file ``path`` holds other parts than those
    a latent result read (``reads``, its mode's
    :data:`~.dictionary.MODE_READS`: ``latent_aug`` the prototypes and
    the shift bank, ``latent_aug_expected`` the prototypes and the
    covariances) as it recorded them (``rec``, its ``files.dictionary``):
    another digest of one it records, or unreadable. A result written by
    the code from fd3c3e3c to 8f27996a records the shift bank's digest
    alone: it is judged by it whatever its mode (a ``latent_aug_expected``
    result, which reads no bank, too: the same bank is the same file in
    practice, of the same name, sizes, seed and excluded classes, its base
    features judged on their own; ``dict_construction.py --overwrite``
    with the same settings, or the file saved again, leaves it current).
    An older one records none: a ``latent_aug`` result is judged by the
    files' times (the dictionary written after the result file, made
    again since as the docs advise after c119cc18, is another; a copy
    that did not keep the times may leave such a result out, whose rerun
    records the digests: the dictionary is not read for those, review
    r123), a ``latent_aug_expected`` one is current, as it was judged
    before the digests. Absent files are not judged. ``now``: as
    :func:`changed_inputs`' (default :func:`_now`)."""
    recorded = {part: rec[f'{part}_sha1'] for part in reads
                if rec.get(f'{part}_sha1')}
    if not recorded and rec.get('shift_bank_sha1'):
        recorded = {'shift_bank': rec['shift_bank_sha1']}
    if not recorded:
        if 'shift_bank' not in reads:
            return False
        try:
            return os.stat(path).st_mtime_ns > \
                os.stat(result_file).st_mtime_ns
        except (OSError, TypeError):
            return False
    there = (now or _now)(path, 'dictionary')
    if there is None:
        return False
    return not isinstance(there[0], dict) or any(
        there[0].get(part) != sha for part, sha in recorded.items())


def rerun_command(result: dict, workdir: str) -> str:
    """The command that runs a result's setting again, from any folder
    (``workdir`` and the result file as given in the current folder,
    :func:`~.paths.printed`), ``--float32`` where it ran in float32
    (:func:`~.spec.precision_flags`: dropped, the rerun computed it in
    float64)."""
    from .paths import printed, script
    from .spec import RunSpec, precision_flags
    try:
        return ' '.join([RunSpec.from_result(result).command(workdir),
                         *precision_flags(result)])
    except (InputError, KeyError, TypeError, ValueError):
        return (f"python {script('wsi_workdir', 'distributed_meta_test.py')}"
                f' with the settings in {printed(result["_file"])}')


@reading_once()  # each input file read once, not once per result
def current_results(results: Sequence[dict], workdir: str,
                    command: Optional[Callable[[dict, str], str]] = None
                    ) -> Tuple[List[dict], List[dict]]:
    """Split results into those computed on the workdir's current inputs
    and those whose features or tasks have changed since (left out of
    tables: their numbers describe an encoder or tasks no longer there);
    ``command(result, workdir)``: the command that runs a result again
    (default :func:`rerun_command`; the ablation's:
    :func:`~.ablation.rerun_command`). Each input file is read once in a
    command (:func:`~openselfsup.utils.reading_once`: :func:`summarize`'s
    and ``--compare``'s, which :func:`mixed_encoders` shares), once per
    call where called alone.

    Returns:
        tuple: ``(current, left_out)``; each of ``left_out`` is ``{file,
        model, changed (paths), command}``, and ``note`` where the task
        store now holds another seed's tasks (:func:`other_seed_note`).
    """
    command = command or rerun_command
    current, left_out = [], []
    for r in results:
        changed = changed_inputs(r, workdir)
        if not changed:
            current.append(r)
            continue
        item = dict(file=r['_file'], model=r['model'],
                    changed=[p for p, _ in changed],
                    command=command(r, workdir))
        for path, kind in changed:
            if kind != 'tasks':
                continue
            # the store changed_inputs read (once in the scope)
            seed = getattr(_now(path, kind), 'seed', None)
            if seed is not None and seed != r.get('task_seed', 0):
                item['note'] = other_seed_note(r, path, seed, workdir)
        left_out.append(item)
    return current, left_out


def left_out_words(left_out: Sequence[dict]) -> str:
    """What a report left out, in words (the table's note under it and
    the plot's, :func:`plot_table`)."""
    return (f'{len(left_out)} result(s) computed on inputs that have '
            'changed since (features extracted another way, other labels, '
            'tasks drawn again)')


def results_notes(data: Dict) -> List[str]:
    """A report plot's notes on its results, in the table notes' words:
    the models whose results come from several encoders, the sets read
    from other images by some models (:func:`other_images`) and the
    results left out (``data``: a summary table or a comparison, with
    ``mixed_encoders``, ``other_images`` and ``left_out``);
    :func:`plot_table`'s and
    :func:`~.compare.plot_compare`'s."""
    notes = [f'mixed encoders: {words}; the table\'s note says more'
             for _, words in mixed_encoders_words(
                 data.get('mixed_encoders') or {})]
    notes += [f'other images: {other_images_words(group)}; the table\'s '
              'note says more'
              for group in image_groups(data.get('other_images') or {})]
    if data.get('left_out'):
        notes.append(f'left out: {left_out_words(data["left_out"])}; '
                     'the table lists them')
    return notes


def other_seed_note(result: dict, path: str, seed: int,
                    workdir: str) -> str:
    """The note on a result whose task store ``path`` now holds tasks of
    another ``seed``: a store drawn by an earlier version, when a store's
    name did not say its seed and ``generate_task.py --seed S
    --overwrite`` replaced seed 0's (now each seed's store has a name of
    its own, :func:`~.paths.task_store_path`): where that seed's store
    belongs, and the command that draws the result's own seed's
    (:func:`~.tasks.other_seed_way_out`)."""
    from .spec import RunSpec
    from .tasks import other_seed_way_out
    head = f'its task store now holds tasks of seed {seed}'
    try:
        tasks = RunSpec.from_result(result).tasks
    except (InputError, KeyError, TypeError, ValueError):
        return (f"{head}, not its own seed's (an earlier version wrote "
                "the store of every seed under seed 0's name; each seed has "
                'a store of its own now)')
    return head + other_seed_way_out(tasks, path, seed, workdir,
                                     then='run the command')


def left_out_lines(left_out: Sequence[dict]) -> List[str]:
    """The lines a report prints under its table about results left out,
    a blank line first (none when none are)."""
    if not left_out:
        return []
    lines = ['', f'Left out: {left_out_words(left_out)}; run each again:',
             '']
    for item in left_out:
        note = f' ({item["note"]})' if item.get('note') else ''
        lines.append(f'- {item["file"]} ({", ".join(item["changed"])} '
                     f'changed): `{item["command"]}`{note}')
    return lines


def _all_changed(head: str, items: Sequence[dict]) -> InputError:
    """The error for results every one of which is left out (``head``:
    which, up to the verb)."""
    first = items[0]
    return InputError(
        f'{head} computed on inputs that have changed since (first: '
        f'{first["file"]}, {", ".join(first["changed"])} changed); run '
        f'them again, e.g.: {first["command"]}')


def _order(value, known: Sequence[str]):
    return (known.index(value), '') if value in known else (len(known),
                                                            str(value))


def _natural(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r'(\d+)', name)]


def novel_cell(result: dict) -> Optional[dict]:
    """F1 of the held-out class(es) in a near-domain result (for the pair
    78, the per-task mean of classes 7 and 8 and its CI)."""
    novel = result.get('novel_class')
    if result['task'] != 'near' or novel is None:
        return None
    try:
        members = held_out(int(novel))
    except ValueError as exc:
        raise InputError(f'{result["_file"]}: {exc}') from None
    if any(c >= len(result['per_class_mean']) for c in members):
        raise InputError(f'{result["_file"]}: novel class {novel} outside '
                         f'the {len(result["per_class_mean"])} classes')
    if len(members) == 1:
        c = members[0]
        return dict(mean=result['per_class_mean'][c],
                    ci=result['per_class_ci'][c])
    per_task = result.get('per_task_f1')
    if not per_task:
        mean = sum(result['per_class_mean'][c] for c in members) / \
            len(members)
        return dict(mean=mean, ci=None)
    f1 = np.asarray(per_task, dtype=np.float64)[:, list(members)].mean(1)
    m, h = mean_ci(f1)
    return dict(mean=float(m), ci=None if math.isnan(h) else float(h))


def run_label(model: str, variant: str = '', novel=None,
              no_novel: bool = False) -> str:
    """The name of a set of runs, one rule for the table's model column
    (:func:`row_label`) and the plot's legend (:func:`curve_label`): the
    model, its variant (non-default parameters) in brackets if any, then
    ``(novel <c>)`` for a row of near-domain runs of novel class ``c``
    (``clp [K32] (novel 7)``), or :data:`NO_NOVEL` for near-domain runs
    of no novel class that are not what the name would say (``no_novel``:
    a ``<family>_wo_<c>`` model's, ``--novel_class none``)."""
    label = f'{model} [{variant}]' if variant else model
    if no_novel:
        return f'{label} {NO_NOVEL}'
    return label if novel is None else f'{label} (novel {novel})'


def row_label(row: dict) -> str:
    """The model column of a table row (:func:`run_label`): the model, its
    variant (non-default parameters) if any, and the novel class of a row
    of near-domain results where one model has several or is a model of
    all classes (``row['novel_row']``), or ``(no novel class)`` for the
    near-domain results without one of a model named ``<family>_wo_<c>``
    (``row['no_novel_row']``: ``clp_wo_3 [K8] (no novel class)``; the
    row was ``clp_wo_3 [K8]``, read as the paper's novel-class-3
    result)."""
    return run_label(row['model'], row.get('variant') or '',
                     row.get('novel_row'), bool(row.get('no_novel_row')))


def _novel_rows(results: Sequence[dict]) -> set:
    """Row keys (model, variant, mode, clf) whose near cells get a row per
    novel class: those with near-domain results of more than one novel
    class, and those of a model whose name names none (an encoder of all
    classes, ``uni``) with a result of a novel class: its row would show
    ``uni`` beside ``clp_wo_7``, the novel class unsaid (``uni (novel
    3)``). A ``_wo_<c>`` model of one novel class keeps one row: its name
    says it."""
    seen: Dict[tuple, set] = {}
    for r in results:
        if r['task'] == 'near':
            key = (r['model'], r.get('variant') or '', r['mode'], r['clf'])
            seen.setdefault(key, set()).add(r.get('novel_class'))
    return {k for k, v in seen.items() if len(v) > 1 or (
        split_model_name(k[0])[1] is None and v != {None})}


def build_table(results: Sequence[dict]) -> dict:
    """Arrange results as the paper's table.

    Args:
        results (sequence[dict]): from :func:`load_results`.

    Returns:
        dict: ``columns`` (list of ``{domain, shots}``) and ``rows`` (list of
        ``{model, variant, mode, clf, novel_row, no_novel_row, cells}``:
        ``novel_row`` is the novel class of a row of near-domain cells
        when one model has results of several novel classes or is a model
        of all classes (:func:`_novel_rows`), else None; ``no_novel_row``
        true for the row of a ``<family>_wo_<c>`` model's near-domain
        cells of no novel class; ``cells`` maps
        ``"<domain>/<shots>"`` to ``{mean, ci, num_task, novel_class, novel,
        harmonic_mean, harmonic_ci, convergence, dtype, normalised, file}``,
        F1 as fractions, ci None where undefined, dtype and normalised None
        where unrecorded),
        and ``ci``: what a cell's ``ci`` is (:data:`AVERAGE_CI`).

    Raises:
        InputError: two results for the same row and column.
    """
    rows: Dict[tuple, dict] = {}
    columns = set()
    split = _novel_rows(results)
    for r in results:
        key = (r['model'], r.get('variant') or '', r['mode'], r['clf'])
        novel = r.get('novel_class') if r['task'] == 'near' and key in split \
            else None
        # a _wo_<c> model's near runs without a novel class: a row of
        # their own, said (not the paper's novel-class result)
        no_novel = r['task'] == 'near' and r.get('novel_class') is None \
            and split_model_name(key[0])[1] is not None
        col = (r['task'], int(r['num_shots']))
        columns.add(col)
        row = rows.setdefault(key + (novel, no_novel), dict(
            model=key[0], variant=key[1], mode=key[2], clf=key[3],
            novel_row=novel, no_novel_row=no_novel, cells={}))
        cell_key = f'{col[0]}/{col[1]}'
        if cell_key in row['cells']:
            raise InputError(
                f'{r["_file"]}: a second result for {row_label(row)} '
                f'{key[2]} {key[3]} {col[0]} {col[1]}-shot (the first is '
                f'{row["cells"][cell_key]["file"]}); keep one of them')
        row['cells'][cell_key] = dict(
            mean=r['average_mean'], ci=r['average_ci'],
            num_task=int(r['num_task']), novel_class=r.get('novel_class'),
            novel=novel_cell(r), harmonic_mean=r.get('harmonic_mean'),
            harmonic_ci=r.get('harmonic_ci'),
            convergence=r.get('convergence'), dtype=result_dtype(r),
            normalised=result_normalised(r), file=r['_file'])
    ordered_cols = sorted(columns, key=lambda c: (_order(c[0], DOMAINS), c[1]))
    ordered_rows = sorted(rows.values(), key=lambda r: (
        _natural(r['model']), r['variant'], _order(r['mode'], MODES),
        _order(r['clf'], CLASSIFIERS),
        -1 if r['novel_row'] is None else r['novel_row'], r['no_novel_row']))
    return dict(columns=[dict(domain=d, shots=s) for d, s in ordered_cols],
                rows=ordered_rows, ci=AVERAGE_CI)


def result_dtype(result: dict) -> Optional[str]:
    """The precision a result's classifiers computed in (``float64``, or
    ``float32`` with ``--float32``); None where it records none."""
    return (result.get('execution') or {}).get('dtype')


def result_normalised(result: dict) -> Optional[bool]:
    """Whether a result's features were L2-normalised
    (``files.normalised``); None where it records none."""
    value = (result.get('files') or {}).get('normalised')
    return None if value is None else bool(value)


def dtype_mark(dtype: Optional[str]) -> Optional[str]:
    """What a result's precision ``dtype`` marks it with: the precision
    where it is not the default float64 (``float32``), else None (float64
    or unrecorded)."""
    return None if dtype in (None, 'float64') else dtype


def dtype_note(dtypes) -> List[str]:
    """The line under a report naming the precisions other than the
    default float64 that some of its numbers were computed in (none when
    every one is float64 or unrecorded), a blank line first."""
    other = sorted({dtype_mark(d) for d in dtypes} - {None})
    if not other:
        return []
    return ['', f'Marked {" / ".join(other)}: computed with --float32 '
            '(the classifiers in that precision); the others in float64.']


def normalised_note(values) -> List[str]:
    """The line under a report saying what ``(raw)`` marks (none when no
    value is False: every result normalised or unrecording), a blank line
    first."""
    if not any(v is False for v in values):
        return []
    return ['', 'Marked raw: computed on features that were not '
            'L2-normalised (files.normalised false); the others on '
            'L2-normalised features or not recorded.']


@reading_once()  # each feature file read once
def result_encoders(result: dict, workdir: Optional[str] = None
                    ) -> Dict[str, str]:
    """The encoders a result's feature files came from, as their
    provenance named them when the result was computed (the first field
    of each ``files.*.extraction``, read by :func:`~.features.
    extraction_encoder`): ``{identity: words}`` (the checkpoint's
    SHA-256, a library model's name, a seeded random initialisation);
    empty where none is recorded (imported features, older results).
    With ``workdir``: a feature file there that is the very file the
    result recorded (:func:`_same_bytes`, the rule that keeps it current)
    is of the encoder its provenance names now (read as
    :func:`changed_inputs` reads it, once in a command): the same
    features under a checkpoint written again, of another SHA-256, are
    one encoder."""
    from .features import extraction_encoder
    found = {}
    for _, _, extraction in _result_extractions(result, workdir):
        encoder = extraction_encoder(extraction)
        if encoder is not None:
            found[encoder[0]] = encoder[1]
    return found


def _result_extractions(result: dict, workdir: Optional[str] = None
                        ) -> List[Tuple[str, dict, Optional[str]]]:
    """``(name, record, extraction)`` of each file a result records
    (``files.<name>``): the :func:`~.features.provenance_extraction`
    string it recorded, or, with ``workdir``, for a feature file there
    that is the very file the result recorded (:func:`_same_bytes`, the
    rule that keeps it current), the one its provenance gives now (read as
    :func:`changed_inputs` reads it, once in a command); None where
    neither records one. :func:`result_encoders`' and
    :func:`result_images`' reading of a result."""
    features = {name: anchor for name, kind, anchor in _RESULT_INPUTS
                if kind == 'features'}
    out = []
    for name, rec in (result.get('files') or {}).items():
        if not isinstance(rec, dict):
            continue
        extraction = rec.get('extraction')
        if workdir is not None and name in features and rec.get('path') \
                and rec.get('sha1'):
            now = _now(_in_workdir(str(rec['path']), workdir,
                                   features[name]), 'features')
            if now is not None and _same_bytes(rec, now) and now[1]:
                extraction = now[1]
        out.append((name, rec, extraction))
    return out


@reading_once()  # each feature file read once, not once per result
def mixed_encoders(results: Sequence[dict], workdir: Optional[str] = None
                   ) -> Dict[str, List[dict]]:
    """The models of ``results`` whose results came from more than one
    encoder (:func:`result_encoders`, of their feature files in
    ``workdir`` where given): ``{model: [{encoder, domains,
    files}]}``, one entry per encoder in order of first appearance. One
    model name, one encoder: a model whose near-domain sets were extracted
    again from another checkpoint (``evaluate_encoder.sh`` with
    ``DOMAINS=near``) keeps its mixture- and out-domain results of the
    first, each computed on inputs that are still there, and its row
    would show two encoders as one (each feature file read as
    :func:`current_results` reads it: once in a command)."""
    by_model: Dict[str, Dict[str, dict]] = {}
    for r in results:
        for identity, words in result_encoders(r, workdir).items():
            entry = by_model.setdefault(r['model'], {}).setdefault(
                identity, dict(encoder=words, domains=[], files=[]))
            if r['task'] not in entry['domains']:
                entry['domains'].append(r['task'])
            entry['files'].append(r['_file'])
    return {m: list(e.values()) for m, e in by_model.items() if len(e) > 1}


def mixed_encoders_note(mixed: Dict[str, List[dict]]) -> List[str]:
    """The lines under a report naming each model whose results came from
    several encoders (:func:`mixed_encoders`), a blank line first; none
    when there is none."""
    lines = []
    for model, words in mixed_encoders_words(mixed):
        lines += ['', f'Mixed encoders: {words}, as the provenance '
                  'of their feature files names them (a file changed since: '
                  'as it named them when the result was computed); '
                  f'extract every set of {model} with one encoder and run '
                  'the others again (the report\'s JSON: mixed_encoders).']
    return lines


def mixed_encoders_words(mixed: Dict[str, List[dict]]
                         ) -> List[Tuple[str, str]]:
    """Each model of :func:`mixed_encoders` and its encoders in words,
    ``the results of clp come from 2 encoders (near from ...; mixture,
    out from ...)``: the table's note (:func:`mixed_encoders_note`) and
    the plot's (:func:`plot_table`)."""
    out = []
    for model, entries in sorted(mixed.items()):
        parts = '; '.join(
            ', '.join(sorted(e['domains'],
                             key=lambda d: _order(d, DOMAINS)))
            + f' from {e["encoder"]} ({len(e["files"])} result(s))'
            for e in entries)
        out.append((model, f'the results of {model} come from '
                    f'{len(entries)} encoders ({parts})'))
    return out


def result_images(result: dict, workdir: Optional[str] = None
                  ) -> List[Tuple[str, Optional[str], str]]:
    """``(set, images_sha1, features path)`` of each feature file a result
    read (support, query, augmented, base): the set's name (``NCT_test``),
    the digest of a sample of its images' bytes as the extraction recorded
    it (:func:`_result_extractions`, :func:`~.features.extraction_images`;
    None where none is recorded: imported features, files extracted before
    the digest was, older results) and the file (in ``workdir`` where
    given, as :func:`changed_inputs` finds it)."""
    from .features import extraction_images
    features = {name: anchor for name, kind, anchor in _RESULT_INPUTS
                if kind == 'features'}
    out = []
    for name, rec, extraction in _result_extractions(result, workdir):
        if name not in features or not rec.get('path'):
            continue
        path = str(rec['path'])
        if workdir is not None:
            path = _in_workdir(path, workdir, features[name])
        out.append((os.path.splitext(os.path.basename(path))[0],
                    extraction_images(extraction), path))
    return out


@reading_once()  # each feature file read once, not once per result
def other_images(results: Sequence[dict], workdir: Optional[str] = None
                 ) -> Dict[str, List[dict]]:
    """The feature sets that ``results`` read from other images under the
    same names (a dataset written again, and one model's sets extracted
    again from it while another's stayed): ``{set: [{images_sha1,
    models, features ({model: file}), extracted ({model: the date its
    provenance records, or None}), files}]}``, one entry per digest
    (:func:`result_images`; None: recorded by none of its files), for each
    set with two digests or more, or with one and files that record none
    (whose images cannot be compared). Every model's results are scored on
    the same tasks (indices into a set), so two models' rows are the same
    tasks only where their sets hold the same images; the shared labels
    and image paths cannot tell."""
    by_set: Dict[str, Dict[Optional[str], dict]] = {}
    for r in results:
        for name, digest, path in result_images(r, workdir):
            entry = by_set.setdefault(name, {}).setdefault(
                digest, dict(images_sha1=digest, models=[], features={},
                             files=[]))
            if r['model'] not in entry['models']:
                entry['models'].append(r['model'])
                entry['features'][r['model']] = path
            if r['_file'] not in entry['files']:
                entry['files'].append(r['_file'])
    found = {}
    for name in sorted(by_set, key=lambda n: _order(n, paths.FEATURE_NAMES)):
        entries = list(by_set[name].values())
        known = [e for e in entries if e['images_sha1']]
        if len(known) < 2 and len(known) in (0, len(entries)):
            continue
        for e in entries:
            e['extracted'] = {m: _extracted_date(p)
                              for m, p in e['features'].items()}
        found[name] = entries
    return found


def _extracted_date(features: str) -> Optional[str]:
    """The date the provenance JSON beside ``features`` records, None
    where it records none or cannot be read."""
    prov = json_object_or_none(os.path.splitext(features)[0] + '.json')
    date = (prov or {}).get('date')
    return date if isinstance(date, str) else None


def _newest_first(entries: Sequence[dict]) -> List[dict]:
    """The entries of a set of :func:`other_images` that record a digest,
    the one of the latest extraction first (by the dates their provenance
    records; an entry of no date last)."""
    known = [e for e in entries if e['images_sha1']]
    return sorted(known, key=lambda e: max(
        (d for d in e['extracted'].values() if d), default=''),
        reverse=True)


def image_groups(other: Dict[str, List[dict]]
                 ) -> List[List[Tuple[str, List[dict]]]]:
    """The sets of :func:`other_images` read from other images (two
    digests or more), grouped by the models of each digest, the latest
    extraction's first (``[(set, entries)]`` per group: a dataset written
    again and one model's sets extracted again from it make one group of
    every set): one note, one refusal, for them all."""
    groups: Dict[Tuple, List[Tuple[str, List[dict]]]] = {}
    for name, entries in other.items():
        known = _newest_first(entries)
        if len(known) > 1:
            key = tuple(tuple(e['models']) for e in known)
            groups.setdefault(key, []).append((name, entries))
    return list(groups.values())


def other_images_words(group: Sequence[Tuple[str, List[dict]]]) -> str:
    """A group of :func:`image_groups` in words: ``NCT_test, LC were
    extracted from other images under the same names for clp (extracted
    <latest date>) and for fsp (extracted <date>)``, their digests (the
    report's JSON holds them) left out."""
    sides = zip(*(_newest_first(entries) for _, entries in group))
    parts = []
    for side in sides:
        when = [d for e in side for d in e['extracted'].values() if d]
        parts.append(' and '.join(side[0]['models'])
                     + (f' (extracted {max(when)})' if when else ''))
    names = [name for name, _ in group]
    return (f'{", ".join(names)} {"was" if len(names) == 1 else "were"} '
            'extracted from other images under the same names for '
            + ' and for '.join(parts)
            + ' (the images_sha1 of their provenance differ: the dataset '
            'written again since?)')


def other_images_way(group: Sequence[Tuple[str, List[dict]]],
                     quote: str = '') -> str:
    """The way out for a group of :func:`image_groups`: extract each set
    again for the models of every digest but the latest extraction's,
    with each one's own encoder and settings, from the images the latest
    was read from (:func:`~.features.extract_command`, each between
    ``quote``), then run their meta-tests again."""
    from .features import extract_command
    commands, models, source = [], [], None
    for name, entries in group:
        newest, *older = _newest_first(entries)
        source = newest['models'][0]
        images = json_object_or_none(os.path.splitext(
            newest['features'][source])[0] + '.json')
        for e in older:
            for model, path in e['features'].items():
                recorded = os.path.splitext(path)[0] + '.json'
                commands.append(quote + extract_command(
                    path, name, json_object_or_none(recorded), recorded,
                    images) + quote)
                if model not in models:
                    models.append(model)
    return (f'extract {"them" if len(group) > 1 else "it"} again for '
            f"{', '.join(models)} from the images {source}'s "
            f'{"were" if len(group) > 1 else "was"} read from, then run '
            f'{"its" if len(models) == 1 else "their"} meta-test again '
            '(summarize.py then lists the commands): ' + '; '.join(commands))


def other_images_note(other: Dict[str, List[dict]]) -> List[str]:
    """The lines under a report on :func:`other_images`, a blank line
    before each: the sets read from other images by some models, a line
    per group (:func:`image_groups`) with the way out
    (:func:`other_images_way`), and the sets of each model whose images
    cannot be compared (no digest recorded); none when there is none."""
    lines = []
    for group in image_groups(other):
        lines += ['', f'Other images: {other_images_words(group)}: their '
                  'rows are not scored on the same images (the report\'s '
                  f'JSON: other_images); {other_images_way(group, "`")}.']
    unknown: Dict[str, List[str]] = {}
    for name, entries in other.items():
        for e in entries:
            for model in e['models'] if not e['images_sha1'] else ():
                unknown.setdefault(model, []).append(name)
    for model, names in unknown.items():
        lines += ['', f'Images unknown: {", ".join(names)} of {model} '
                  'record no digest of their images (imported, or '
                  'extracted before it was recorded): whether they are '
                  'the images the other models read cannot be told.']
    return lines


def cell_marks(cell: dict) -> List[str]:
    """What a summary cell computed otherwise than usual says: its
    precision other than float64 (``float32``) and ``raw`` where its
    features were not L2-normalised; nothing where unrecorded."""
    mark = dtype_mark(cell.get('dtype'))
    marks = [mark] if mark else []
    if cell.get('normalised') is False:
        marks.append('raw')
    return marks


def _fmt(mean: Optional[float], ci: Optional[float]) -> str:
    """``mean ± ci`` in percent; the CI left out where it is undefined."""
    if mean is None:
        return '–'
    if ci is None or (isinstance(ci, float) and math.isnan(ci)):
        return fmt_pct(mean)
    return f'{fmt_pct(mean)} ± {fmt_pct(ci)}'


def _markdown(table: dict, pick) -> str:
    cols = table['columns']
    header = ['model', 'mode', 'clf'] + [
        f'{c["domain"]} {c["shots"]}-shot' for c in cols]
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join(['---'] * 3 + ['---:'] * len(cols)) + '|']
    for row in table['rows']:
        cells = []
        for c in cols:
            cell = row['cells'].get(f'{c["domain"]}/{c["shots"]}')
            cells.append('–' if cell is None else pick(cell))
        lines.append('| ' + ' | '.join(
            [row_label(row), row['mode'], row['clf']] + cells) + ' |')
    return '\n'.join(lines)


def tasks_words(n: int) -> str:
    """``'5 tasks'``, ``'1 task'``: a task count in a report's words."""
    return count_words(n, 'task')


def _num_task_counts(table: dict, clf: Optional[str] = None) -> Counter:
    """How many cells of ``table`` (of classifier ``clf``'s rows only,
    where given) are over each number of tasks."""
    return Counter(c['num_task'] for r in table['rows']
                   if clf is None or r['clf'] == clf
                   for c in r['cells'].values())


def _usual_num_task(table: dict) -> Optional[int]:
    """The task count of most cells (of a tie, the largest), or None when
    every cell has the same (the table then names it in one line)."""
    counts = _num_task_counts(table)
    if len(counts) < 2:
        return None
    return max(counts, key=lambda n: (counts[n], n))


def format_markdown(table: dict) -> str:
    """The table as Markdown: the class-averaged F1 (%), mean over tasks
    ± the mean of the per-class 95% CIs (:data:`AVERAGE_CI`).

    When near-domain or mixture-domain results are present, two more tables
    follow: F1 of the novel class (near; its rows those with a result of a
    novel class, not the runs without one) and the harmonic mean of the
    colon and lung means (mixture). When the cells are over different
    numbers of tasks (a setting run again with another ``--num_task``), a
    cell over another number than most carries it (``(5 tasks)``) and a
    line under the tables names the usual one; when every cell is over
    one number, a line under the tables names it (a table of 100-task
    runs read as the published 1000-task one); a cell computed with
    ``--float32`` carries ``(float32)`` and one on features that were not
    L2-normalised (``files.normalised`` false) ``(raw)``
    (:func:`cell_marks`), each with a line under the tables.
    """
    usual = _usual_num_task(table)

    def count(text: str, cell: dict) -> str:
        if text == '–':
            return text
        marks = [tasks_words(cell['num_task'])] if usual is not None and \
            cell['num_task'] != usual else []
        marks += cell_marks(cell)
        return f'{text} ({", ".join(marks)})' if marks else text

    parts = [f'### F1 (%), average over classes: {AVERAGE_CI}', '',
             _markdown(table, lambda c: count(_fmt(c['mean'], c['ci']), c))]
    near = dict(table, columns=[c for c in table['columns']
                                if c['domain'] == 'near'])
    if near['columns'] and any(c.get('novel') for r in table['rows']
                               for c in r['cells'].values()):
        # rows of near-domain runs without a novel class have no novel F1:
        # left out (they were rows of '–')
        near['rows'] = [r for r in table['rows'] if any(
            k.startswith('near/') and c.get('novel')
            for k, c in r['cells'].items())]
        parts += ['', f'### Near domain: F1 (%) of the novel class, '
                  f'{NOVEL_CI}', '',
                  _markdown(near, lambda c: '–' if c['novel'] is None else
                            count(_fmt(c['novel']['mean'],
                                       c['novel']['ci']), c))]
    mix = dict(table, columns=[c for c in table['columns']
                               if c['domain'] == 'mixture'])
    if mix['columns']:
        mix['rows'] = [r for r in table['rows'] if any(
            k.startswith('mixture/') for k in r['cells'])]
        parts += ['', '### Mixture domain: harmonic mean (%) of the colon '
                  'and lung class means ± the harmonic mean of their CIs '
                  '(each the mean of its classes\' 95% CIs; the published '
                  'rule)', '',
                  _markdown(mix, lambda c: count(_fmt(
                      c['harmonic_mean'], c.get('harmonic_ci')), c))]
    if usual is not None:
        parts += ['', f'Cells marked (N tasks) are over N tasks; the other '
                  f'cells are over {tasks_words(usual)} each.']
    else:  # one count: said all the same (the published runs are 1000)
        only = list(_num_task_counts(table))
        if only:
            parts += ['', f'Every cell is over {tasks_words(only[0])}.']
    cells = [c for r in table['rows'] for c in r['cells'].values()]
    parts += dtype_note(c.get('dtype') for c in cells)
    parts += normalised_note(c.get('normalised') for c in cells)
    parts += mixed_encoders_note(table.get('mixed_encoders') or {})
    parts += other_images_note(table.get('other_images') or {})
    return '\n'.join(parts + left_out_lines(table.get('left_out') or ())) \
        + '\n'


#: the plot's curve of a family's ``_wo_<c>`` near-domain runs without a
#: novel class beside the curve of their novel-class runs
#: (:func:`plot_table`)
NO_NOVEL = '(no novel class)'
#: what a near-domain point of an averaged curve is, said under the legend
NEAR_POINT = ('near domain: a <family>_wo_* point is the mean over the '
              'models\' novel-class runs (ICLR-22), their runs without a '
              f'novel class "<family>_wo_* {NO_NOVEL}"')
#: the markers of a plot curve (:func:`plot_table`): _wo_<c> models
#: averaged, a model of all classes, near-domain runs without a novel class
_MARKERS = {'held': 'o', 'all': 's', 'none': '^'}


def model_family(model: str) -> str:
    """``clp_wo_7`` -> ``clp``: the plot's colour of a model."""
    return split_model_name(model)[0]


def curve_label(row: dict, no_novel: bool = False) -> str:
    """The plot curve of a table row's cell (:func:`run_label`, the
    table's rule): a family's ``_wo_<c>`` models averaged (``clp_wo_*``,
    the paper's near-domain result: each encoder on its own novel class),
    with its variant (``clp_wo_* [K32]``), and ``clp_wo_* (no novel
    class)`` for their near-domain cells of no novel class (``no_novel``);
    a row of a model of all classes is its own curve, named as the table
    names the row (:func:`row_label`: ``random``, ``clp (novel 7)``), in
    every domain. The two are never one curve: a point averaging ``clp``
    with ``clp_wo_7`` would be neither."""
    fam, novel = split_model_name(row['model'])
    if novel is None:
        return row_label(row)
    name = run_label(f'{fam}_wo_*', row.get('variant') or '')
    return f'{name} {NO_NOVEL}' if no_novel else name


def plot_table(table: dict, clf: Optional[str] = None) -> bytes:
    """F1 against shots: a row of panels per classifier, a column per domain.

    In each panel one curve per (:func:`curve_label`, mode): colour by
    family (CLP, FSP...), solid for linear and dashed for latent
    augmentation. The ``_wo_<c>`` models of a family are averaged into one
    curve, ``clp_wo_*`` (filled circles; the near-domain curve is the mean
    over held-out classes); a table row of a model of all classes is a
    curve of its own under the row's name (open squares: ``random``,
    ``clp (novel 7)``; the plot named them otherwise than the table,
    ``random (no novel class)`` in the near panel and ``random`` in the
    others for one row, ``clp`` for the row ``clp (novel 7)``), never
    averaged with them.

    A point is the mean of the table's rows (:func:`row_label`: a model,
    in the near domain a model and novel class) its curve averages there.
    In the near domain a ``_wo_*`` curve averages the novel-class runs
    only, as the ICLR-22 near-domain result is the mean over the novel
    classes; the runs of its models without a novel class (``NOVEL_CLASSES=
    none``) are a curve of their own, ``clp_wo_* (no novel class)`` (open
    triangles), and were averaged with them; so are those of a curve
    without a novel-class run. A note under the legend says what such a
    near-domain point averages. Error bars, where a point
    comes from one row, are its cell's ``± ci``: the mean of the per-class
    95% CIs (:data:`AVERAGE_CI`), said under the legend. A point averaged
    over other rows than the curve's other points in its panel (a model or
    novel class without results at that shot count: the curve's step would
    be a change of runs, not of shots) is an open circle labelled ``n of
    N`` (n of the N rows the curve averages in the panel), with a note
    under the legend. The notes also say what the table's notes say of
    the results (``table['mixed_encoders']``, ``table['left_out']``,
    in their words: :func:`mixed_encoders_words`,
    :func:`left_out_words`), each note wrapped to the figure's width.

    Args:
        table (dict): from :func:`build_table`.
        clf (str, optional): draw only this classifier.

    Returns:
        bytes: the PNG.
    """
    domains = []
    for c in table['columns']:
        if c['domain'] not in domains:
            domains.append(c['domain'])
    # points[clf][(curve, mode)][domain][shots] = [(mean, ci, row), ...]
    points: Dict[str, Dict[tuple, Dict[str, Dict[int, list]]]] = {}
    family: Dict[str, str] = {}  # curve -> family (its colour)
    # curve -> its markers: 'held' (averages _wo_<c> models), 'all' (a
    # model of all classes), 'none' (near-domain runs without a novel
    # class: a curve of their own, also where their curve has no
    # novel-class run, so that every near point of another curve is a
    # mean over novel-class runs, as the note says)
    kind: Dict[str, str] = {}
    for row in table['rows']:
        if clf is not None and row['clf'] != clf:
            continue
        held = split_model_name(row['model'])[1] is not None
        for cell_key, cell in row['cells'].items():
            domain, shots = cell_key.rsplit('/', 1)
            no_novel = domain == 'near' and cell.get('novel_class') is None
            name = curve_label(row, no_novel)
            family[name] = model_family(row['model'])
            kind[name] = 'all' if not held else (
                'none' if no_novel else 'held')
            curve = points.setdefault(row['clf'], {}).setdefault(
                (name, row['mode']), {})
            curve.setdefault(domain, {}).setdefault(int(shots), []).append(
                (cell['mean'], cell['ci'], row_label(row)))
    if not points:
        raise InputError('no results to plot'
                         + (f' for --clf {clf}' if clf else ''))
    clfs = sorted(points, key=lambda c: _order(c, CLASSIFIERS))
    families = sorted(set(family.values()), key=_natural)
    colours = colormap('tab10')
    partial = averaged = False
    fig, axes = subplots(len(clfs), len(domains),
                         figsize=(4 * len(domains), 3.2 * len(clfs) + 0.6),
                         squeeze=False)
    for i, name in enumerate(clfs):
        for j, domain in enumerate(domains):
            ax = axes[i][j]
            for (label, mode), curve in sorted(
                    points[name].items(),
                    key=lambda kv: (_natural(kv[0][0]),
                                    _order(kv[0][1], MODES))):
                pts = curve.get(domain)
                if not pts:
                    continue
                shots = sorted(pts)
                means = [100 * sum(p[0] for p in pts[s]) / len(pts[s])
                         for s in shots]
                errs = [100 * pts[s][0][1] if len(pts[s]) == 1
                        and pts[s][0][1] is not None
                        and not math.isnan(pts[s][0][1]) else 0.0
                        for s in shots]
                colour = colours(families.index(family[label]) % 10)
                # one colour per family, the line style the mode's: the
                # all-classes curve (open squares) and its held-out one
                # (filled circles) differ by their markers' fill and size
                # (size-3 squares and circles alike were hard to tell apart)
                held = kind[label] == 'held'
                ax.errorbar(shots, means, yerr=errs, capsize=2,
                            marker=_MARKERS[kind[label]],
                            markersize=4 if held else 5,
                            markerfacecolor=colour if held else 'white',
                            color=colour,
                            linestyle='-' if mode == 'linear' else '--',
                            label=f'{label} {mode}')
                runs = {s: {p[2] for p in pts[s]} for s in shots}
                union = set().union(*runs.values())
                if domain == 'near' and len(union) > 1:
                    averaged = True
                for s, mean in zip(shots, means):
                    if runs[s] != union:  # a change of runs, not shots
                        partial = True
                        ax.plot([s], [mean], 'o', markersize=5,
                                markerfacecolor='white', color=colour)
                        ax.annotate(f'{len(runs[s])} of {len(union)}',
                                    (s, mean), textcoords='offset points',
                                    xytext=(4, 4), fontsize=6, color=colour)
            ticks = sorted({c['shots'] for c in table['columns']
                            if c['domain'] == domain})
            ax.set_xscale('log')
            ax.set_xticks(ticks)
            ax.set_xticklabels([str(t) for t in ticks])
            ax.minorticks_off()
            ax.grid(alpha=0.3)
            if i == 0:
                ax.set_title(DOMAIN_TITLES.get(domain, domain), fontsize=10)
            if i == len(clfs) - 1:
                ax.set_xlabel('shots per class')
            if j == 0:
                ax.set_ylabel(f'{name}\nF1 (%)', fontsize=9)
    handles, labels = [], []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    notes = ['error bars (a point of one table row): the mean of the '
             'per-class 95% CIs over tasks (the published average row)']
    if averaged or any(k == 'none' for k in kind.values()):
        notes.append(NEAR_POINT)
    if partial:
        notes.append('open circle "n of N": the mean of n of the N table '
                     'rows (near domain: model x novel class) the curve '
                     'averages in the panel')
    counts = sorted(_num_task_counts(table, clf))
    if len(counts) > 1:  # a point may average runs of other counts
        notes.append(f'points of runs over different numbers of tasks '
                     f'({", ".join(map(str, counts))}); the table marks '
                     'each cell\'s')
    notes += results_notes(table)
    # one line each, wrapped to the figure's width (about 16 characters
    # an inch at this size)
    notes = [line for text in notes for line in textwrap.wrap(
        text, int(16 * fig.get_figwidth()))]
    note = 0.08 + 0.17 * len(notes)  # inches under the legend
    fig.legend(handles, labels, loc='lower center', fontsize=8,
               ncol=min(4, len(labels)), frameon=False,
               bbox_to_anchor=(0.5, note / fig.get_figheight()))
    legend_rows = math.ceil(len(labels) / min(4, len(labels)))
    for k, text in enumerate(reversed(notes)):
        fig.text(0.5, (0.08 + 0.17 * k) / fig.get_figheight(), text,
                 ha='center', fontsize=7)
    fig.tight_layout(rect=(0, (note + 0.2 + 0.2 * legend_rows)
                           / fig.get_figheight(), 1, 1))
    return figure_png(fig)


def workdir_results(workdir: str, clf: Optional[str] = None,
                    models: Optional[Sequence[str]] = None,
                    ablation: bool = False,
                    command: Optional[Callable[[dict, str], str]] = None,
                    model_command: Optional[Callable[[str], str]] = None
                    ) -> Tuple[List[dict], List[dict]]:
    """Every result JSON of a workdir (:func:`load_results`), only those of
    classifier ``clf`` and of ``models`` if given, split by
    :func:`current_results` (every result of a model left out is named).

    Args:
        ablation (bool): read the ablation's results
            (:func:`~.paths.ablation_results_dir`, ``wsi_workdir/
            ablation.py``'s) instead of ``results/``.
        command: the command that runs a result left out again
            (:func:`current_results`; default :func:`rerun_command`, the
            meta-test's); the ablation's results need the ablation's,
            :func:`~.ablation.rerun_command` (given by the caller: the
            ablation module reads this one).
        model_command: the command that writes a model's results, named
            for each of ``models`` where it has none (default
            :func:`first_run_command`; the ablation's of the other model's
            settings, :func:`~.ablation.model_command`, so that the two
            pair: review r111).

    Returns:
        tuple: ``(current, left_out)``.

    Raises:
        InputError: no results, an unknown classifier, none of ``clf``,
            or none computed on the current inputs.
    """
    if ablation and command is None:
        raise ValueError("the ablation's results are run again by the "
                         "ablation's command (ablation.rerun_command)")
    paths.check_workdir(workdir)
    folder = paths.ablation_results_dir(workdir) if ablation else \
        paths.results_dir(workdir)
    model_command = model_command or (
        lambda model: first_run_command(workdir, ablation, model))
    # the models named, where --compare named them (review r111: 'MODEL')
    results = load_results(folder, ablation, (lambda: ' and '.join(
        model_command(m) for m in models)) if models else None)
    if clf is not None:
        if clf not in CLASSIFIERS:
            raise InputError(f'--clf {clf!r}: expected one of '
                             f'{", ".join(CLASSIFIERS)}')
        results = [r for r in results if r['clf'] == clf]
        if not results:
            raise InputError(f'{folder}: no results for --clf {clf}')
    if models is not None:
        known = sorted({r['model'] for r in results}, key=_natural)
        what = 'ablation results' if ablation else 'results'
        for model in models:
            if model not in known:
                nearby = paths.workdir_nearby(
                    workdir, os.path.join(os.path.basename(folder), model),
                    f'{what} of {model}')
                raise InputError(
                    f'no {what} of model {model!r} (models with {what}: '
                    f'{", ".join(known)})'
                    + ('; run ' + model_command(model)
                       if ablation else paths.ablation_note(workdir, model))
                    + nearby)
        results = [r for r in results if r['model'] in models]
    # a result left out is run again by the command that wrote it
    current, left_out = current_results(results, workdir, command)
    for model in models or ():
        gone = [i for i in left_out if i['model'] == model]
        if gone and not any(r['model'] == model for r in current):
            raise _all_changed(
                f'every result of {model} ({len(gone)}) was', gone)
    if not current and left_out:
        raise _all_changed(f'{folder}: all {len(left_out)} results were',
                           left_out)
    return current, left_out


#: keys of a report's JSON: a summary's, a comparison's (:func:`report_paths`)
SUMMARY_KEYS = ('columns', 'rows')
COMPARE_KEYS = ('model_a', 'model_b', 'settings')


def report_prefix(output: str, name: str) -> str:
    """The path prefix of a report's ``.md``, ``.json`` and ``.png`` that
    ``--output`` names: a folder (existing, or ending in ``/``) holds
    ``<name>.*``; a path ending in ``.md``, ``.json`` or ``.png`` is the
    prefix without it; any other path is the prefix."""
    if os.path.isdir(output) or output.endswith(os.sep):
        return os.path.join(output, name)
    root, ext = os.path.splitext(output)
    return root if ext.lower() in ('.md', '.json', '.png') else output


def report_paths(workdir: str, output: Optional[str], name: str,
                 keys: Sequence[str] = SUMMARY_KEYS,
                 what: str = 'a summary written by summarize.py'
                 ) -> Dict[str, str]:
    """``PREFIX.md``, ``.json``, ``.png`` of a report (``output`` as the
    prefix, else ``<workdir>/summary/<name>``), each checked writable.
    An ``output`` that is a folder (existing, or ending in ``/``) holds
    ``<name>.*``; one ending in ``.md``, ``.json`` or ``.png`` is the prefix
    without it. One in the workdir's ``results/`` is refused
    (:func:`~openselfsup.lowshot.paths.check_not_in_results`), and so is
    an existing file of the three that is not ``what``, a report of its
    kind (its JSON holds ``keys``;
    :func:`~openselfsup.utils.check_replaceable`).
    """
    from ..utils import check_replaceable, check_writable
    output = report_prefix(output, name) if output else output
    out = {ext: f'{output}.{ext}' if output else
           paths.summary_path(workdir, ext, name)
           for ext in ('md', 'json', 'png')}
    paths.check_not_in_results(
        workdir, out['json'], 'the next summary would stop at this one',
        'the report', os.path.dirname(paths.summary_path(workdir, 'md')))
    for path in out.values():
        check_writable(path)
    check_replaceable(out['json'], keys, what, also=(out['md'], out['png']),
                      given=bool(output))
    return out


def write_report(out: Dict[str, str], text: str, data,
                 png: Optional[bytes],
                 read: Optional[Sequence[str]] = None,
                 written_by: Optional[Dict] = None) -> None:
    """Write a report's Markdown, JSON and PNG as one set (an interrupted
    run leaves the old report whole, not a new table beside old numbers),
    all computed before the first is written. ``png`` None: nothing to
    plot; an earlier report's PNG is removed first (it would sit beside a
    table it does not show). ``read``: the result files the report read,
    recorded in its JSON as ``read_results`` (relative to its folder), so
    that whoever replaces one of them with another result removes the
    report (:class:`SummaryReports`); None for a sweep's index written
    here (the ablation's), which its results name instead. ``written_by``:
    the ``summarize.py`` settings that wrote it (``compare`` [A, B] or
    None, ``clf``, ``ablation``), recorded as ``written_by`` so that the
    line removing it gives the command that writes it again
    (:func:`summarize_command`)."""
    if read is not None:
        base = os.path.dirname(os.path.abspath(out['json']))
        data['read_results'] = [os.path.relpath(os.path.abspath(f), base)
                                for f in read]
    if written_by is not None:
        data['written_by'] = dict(written_by)
    if png is None:
        remove_set([out['png']])
        save_set({out['md']: text, out['json']: data})
        return
    save_set({out['md']: text, out['json']: data, out['png']: bytes(png)})


def summarize_command(workdir: str, compare: Optional[Sequence[str]] = None,
                      clf: Optional[str] = None, ablation: bool = False,
                      output: Optional[str] = None) -> str:
    """The ``summarize.py`` command that writes the report of these
    settings in ``workdir``; ``output`` (a path prefix, ``.json`` cut
    off) added where it is not the settings' default place; run from any
    folder (both paths as given in the current folder,
    :func:`~.paths.printed`)."""
    from .paths import printed, script
    name = (paths.compare_name(*compare, clf, ablation) if compare
            else 'summary' if clf is None else f'summary_{clf}')
    flags = ['--compare', *compare] if compare else []
    flags += ['--clf', clf] if clf else []
    flags += ['--ablation'] if ablation else []
    words = ['python', script('wsi_workdir', 'summarize.py'), '--workdir',
             printed(workdir),
             *map(shlex.quote, flags)]
    if output is not None and os.path.abspath(f'{output}.json') != \
            os.path.abspath(paths.summary_path(workdir, 'json', name)):
        words += ['--output', printed(output)]
    return ' '.join(words)


class SummaryReports:
    """The reports under ``<workdir>/summary/`` (summaries and
    comparisons, :func:`write_report`'s) by the result files they read
    (``read_results``), for :func:`~.meta_test.release_result` to remove
    those of a result before another replaces it. One object serves a
    whole sweep: each call walks the folder again (a report written or
    removed since is seen) but parses a JSON only when it is new or
    changed (its size and modification time), not every report once per
    result (0.5 s per result with 95 reports). A report written elsewhere
    (``--output`` outside the workdir's summary folder) is not looked
    for. Reports written before ``read_results`` was recorded list none:
    never removed."""

    def __init__(self, workdir: str):
        self.workdir = workdir
        self.root = os.path.dirname(paths.summary_path(workdir, 'json'))
        self._parsed: Dict[str, Tuple] = {}  # path -> (stamp, reads, by)

    def _read(self, path: str):
        try:
            st = os.stat(path)
        except OSError:
            return frozenset(), None
        # the project's key of a file's version (its inode among them:
        # reports are written by rename, so one rewritten within a coarse
        # mtime's second at its size is seen)
        stamp = file_version(st)
        seen = self._parsed.get(path)
        if seen is None or seen[0] != stamp:
            data = json_object_or_none(path) or {}
            listed, by = data.get('read_results'), data.get('written_by')
            folder = os.path.dirname(os.path.abspath(path))
            reads = frozenset(
                os.path.normpath(os.path.join(folder, f))
                for f in (listed if isinstance(listed, list) else ())
                if isinstance(f, str))
            seen = self._parsed[path] = (
                stamp, reads, by if isinstance(by, dict) else None)
        return seen[1], seen[2]

    def listing(self, result: str) -> List[Tuple[List[str], Optional[str]]]:
        """Each report that read ``result``: its ``[json, md, png]`` and
        the command that writes it again (None where its JSON does not
        record it: written before ``written_by``)."""
        target = os.path.normpath(os.path.abspath(result))
        found, present = [], set()
        for folder, subs, names in os.walk(self.root):
            subs.sort()
            for name in sorted(names):
                if not name.endswith('.json'):
                    continue
                path = os.path.join(folder, name)
                present.add(path)
                reads, by = self._read(path)
                if target not in reads:
                    continue
                stem = path[:-len('.json')]
                again = None
                if by is not None:
                    try:
                        again = summarize_command(
                            self.workdir, by.get('compare'), by.get('clf'),
                            bool(by.get('ablation')), stem)
                    except (TypeError, ValueError):  # not as we write it
                        again = None
                found.append(([path, f'{stem}.md', f'{stem}.png'], again))
        for gone in set(self._parsed) - present:
            del self._parsed[gone]
        return found


@reading_once()  # each input file read once for the report
def summarize(workdir: str,
              output: Optional[str] = None,
              clf: Optional[str] = None) -> Dict[str, str]:
    """Read ``<workdir>/results/**.json``; write the table (MD, JSON) and plot.

    Everything is computed before the first file is written, so the three
    files always come from the same results.

    Args:
        workdir (str): the low-shot ``--workdir``.
        output (str, optional): path prefix for the outputs (``PREFIX.md``,
            ``PREFIX.json``, ``PREFIX.png``); default
            ``<workdir>/summary/summary``, or ``summary_<clf>`` with ``clf``.
        clf (str, optional): only this classifier (table and plot).

    Returns:
        dict: ``markdown`` (the text), and the paths ``md``, ``json``, ``png``.
    """
    results, left_out = workdir_results(workdir, clf)
    table = build_table(results)
    table['mixed_encoders'] = mixed_encoders(results, workdir)
    table['other_images'] = other_images(results, workdir)
    table['left_out'] = left_out
    out = report_paths(workdir, output,
                       'summary' if clf is None else f'summary_{clf}')
    text = format_markdown(table)
    write_report(out, text, table, plot_table(table),
                 [r['_file'] for r in results]
                 + [item['file'] for item in left_out], dict(clf=clf))
    return dict(out, markdown=text)
