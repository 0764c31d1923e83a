"""The whole meta-test protocol of one model in one process.

:func:`run_sweep` runs every (novel class x shots x classifier x mode) setting
of a domain, loading each feature set, task store and dictionary once and
sharing them between settings, instead of one process launch per setting as
the experiment scripts do. Missing task stores and dictionaries are made on
the way (existing ones are reused, never replaced). It writes one results
file with every number, and the paper-shaped summary table through
:mod:`~openselfsup.lowshot.report`.

For the near domain the features of novel class ``c`` come from the model
``model_template.format(model=M, novel=c)``, by default ``M_wo_c`` (the
encoder pre-trained without class c, as ``near_domain.sh`` does); a template
``'{model}'`` uses one feature set for every novel class.

Sweep file (``paths.sweep_path``)::

    model, task, novel_classes, shots, clfs, modes, num_task, device, seed,
    task_seed, num_aug_shots, num_prototypes, num_shift_vectors, dict_seed,
    model_template, elapsed_s {load, tasks, dictionaries, meta_test, total},
    results: [one meta-test result per setting (engine schema, F1 in
              percent, with elapsed_s and per_task_f1)]
"""
import os
import time
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from tqdm import tqdm

from ..utils import InputError, save_json, save_text
from . import paths
from .classifiers import CLASSIFIERS
from .engine import LATENT_MODES, MODES, build_result, make_augmenter, \
    meta_test, resolve_device, task_class_names
from .tasks import get_setting, novel_classes as check_novel

DEFAULT_MODES = ('linear', 'latent_aug')


def _model_name(template: str, model: str, novel: Optional[int]) -> str:
    if novel is None:
        return model
    try:
        return template.format(model=model, novel=novel)
    except (KeyError, IndexError, ValueError) as exc:
        raise InputError(f'--model_template {template!r}: {exc}; use the '
                         'fields {model} and {novel}') from None


def _as_fractions(result: Dict, label: str) -> Dict:
    """A copy for the report module (F1 fractions, a unique row label)."""
    from .report import as_fractions
    out = as_fractions({k: v for k, v in result.items()
                        if k != 'per_task_f1'})
    out.update(model=label, _file='sweep')
    return out


def summary_table(results: Sequence[Dict], model_template: str) -> str:
    """The report module's Markdown table of sweep results.

    Rows are the feature models (``clp_wo_0`` ...); when one feature set
    serves several novel classes, the rows are ``<model> novel <c>``.
    """
    from .report import build_table, format_markdown
    per_model = '{novel}' not in model_template
    rows = []
    for r in results:
        label = r['model']
        if per_model and r.get('novel_class') is not None:
            label = f'{label} novel {r["novel_class"]}'
        rows.append(_as_fractions(r, label))
    return format_markdown(build_table(rows))


def mean_over_novel_table(results: Sequence[Dict]) -> str:
    """Average F1 over novel classes, per (mode, classifier) and shots."""
    shots = sorted({r['num_shots'] for r in results})
    keys = sorted({(r['mode'], r['clf']) for r in results},
                  key=lambda k: (MODES.index(k[0]) if k[0] in MODES else 9,
                                 list(CLASSIFIERS).index(k[1])))
    lines = ['| mode | classifier | ' + ' | '.join(f'{s}-shot' for s in shots)
             + ' |', '|---|---|' + '---|' * len(shots)]
    for mode, clf in keys:
        cells = []
        for s in shots:
            v = [r['average_mean'] for r in results if r['mode'] == mode
                 and r['clf'] == clf and r['num_shots'] == s]
            cells.append(f'{np.mean(v):.2f} (n={len(v)})' if v else '–')
        lines.append(f'| {mode} | {clf} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def run_sweep(workdir: str, model: str, task: str = 'near',
              novel_classes: Optional[Sequence[int]] = tuple(range(9)),
              shots: Sequence[int] = (1, 5, 10),
              clfs: Sequence[str] = tuple(CLASSIFIERS),
              modes: Sequence[str] = DEFAULT_MODES, num_task: int = 1000,
              device: str = 'cpu', seed: int = 0, task_seed: int = 0,
              num_aug_shots: int = 100, num_prototypes: int = 16,
              num_shift_vectors: int = 2000, dict_seed: int = 0,
              model_template: str = '{model}_wo_{novel}',
              chunk_size: Optional[int] = None,
              dtype: torch.dtype = torch.float64,
              output: Optional[str] = None,
              progress: bool = True,
              write_results: bool = False) -> Dict:
    """Run every setting of one model's sweep; write the results and table.

    Args:
        workdir (str): the low-shot work directory.
        model (str): model (family) name, e.g. ``'clp'``.
        task (str): 'near', 'mixture', 'out' or 'out_homo'.
        novel_classes (sequence of int, optional): near domain: the novel
            classes (each selects a task store and, through
            ``model_template``, a feature model); ignored elsewhere.
        shots (sequence of int): shots per class.
        clfs (sequence of str): classifier names.
        modes (sequence of str): 'linear', 'latent_aug',
            'latent_aug_expected' (logistic regression is skipped in the
            latter: no closed form).
        num_task (int): tasks per setting.
        device (str): 'cpu' or 'cuda'.
        seed (int): seed of the augmentation draws.
        task_seed (int): seed of task stores made here (and expected of
            existing ones).
        num_aug_shots, num_prototypes, num_shift_vectors, dict_seed:
            latent augmentation and dictionary settings (as the meta-test).
        model_template (str): feature model of a novel class.
        chunk_size (int, optional): tasks per batch (default: memory budget).
        dtype (torch.dtype): computation dtype of the classifiers.
        output (str, optional): sweep file (default ``paths.sweep_path``).
        progress (bool): progress bar over settings.
        write_results (bool): also write each setting's result JSON where
            ``wsi_workdir/distributed_meta_test.py`` writes it
            (``paths.result_path``), so that ``wsi_workdir/summarize.py``
            tables sweeps and single runs alike. Default False.

    Returns:
        dict: the sweep (schema in the module docstring) with ``output``,
        ``summary_md`` (path) and ``table`` (Markdown) added.
    """
    from .analytic import EXPECTED_CLASSIFIERS
    from .dictionary import construct_dictionary, load_dictionary
    from .features import file_identity, load_features, slide_ids
    from .tasks import generate_task_store
    t_start = time.perf_counter()
    setting, task_mode = get_setting(task)
    for m in modes:
        if m not in MODES:
            raise InputError(f'--modes: {m!r} is not one of {", ".join(MODES)}')
    for c in clfs:
        if c not in CLASSIFIERS:
            raise InputError(f'--clfs: {c!r} is not one of '
                             f'{", ".join(CLASSIFIERS)}')
    if not shots or any(s < 1 for s in shots):
        raise InputError(f'--shots must be positive integers, got {shots}')
    resolve_device(device)
    novels: List[Optional[int]] = list(novel_classes) \
        if setting.task == 'near' and novel_classes else [None]
    for c in novels:
        check_novel(c)
    timing = dict(load=0.0, tasks=0.0, dictionaries=0.0, meta_test=0.0)
    feats, augmenters, identities = {}, {}, {}
    results = []
    combos = [(c, s, clf, mode) for c in novels for s in shots
              for mode in modes for clf in clfs
              if not (mode == 'latent_aug_expected'
                      and clf not in EXPECTED_CLASSIFIERS)]
    stores = {}
    class_lists = {}
    result_files = []
    bar = tqdm(combos, desc=f'sweep {model} {task}', unit='setting',
               disable=not progress)
    for c, s, clf, mode in bar:
        name = _model_name(model_template, model, c)
        bar.set_postfix_str(f'{name} {s}-shot {clf} {mode}')
        t0 = time.perf_counter()
        if name not in feats:
            sup = load_features(workdir, name, setting.support_set)
            qry = sup if setting.same_pool else load_features(
                workdir, name, setting.query_set)
            if qry.dim != sup.dim:
                raise InputError(f'{qry.features_path} has width {qry.dim} '
                                 f'but {sup.features_path} has {sup.dim}')
            feats[name] = (sup, qry)
            identities[name] = {
                'support_features': file_identity(sup.features_path,
                                                  sup.features),
                'query_features': file_identity(qry.features_path,
                                                qry.features)}
        sup, qry = feats[name]
        timing['load'] += time.perf_counter() - t0
        t0 = time.perf_counter()
        if (c, s) not in stores:
            store, _ = generate_task_store(workdir, setting.task, s, num_task,
                                           task_seed, task_mode, c)
            slides = slide_ids(workdir, setting.support_set,
                               len(sup.labels)) if task_mode == 'homo' \
                else None
            store.check_labels(sup.labels, qry.labels, slides)
            stores[(c, s)] = store.head(num_task)
        store = stores[(c, s)]
        timing['tasks'] += time.perf_counter() - t0
        augmenter, dict_file = None, None
        if mode in LATENT_MODES:
            t0 = time.perf_counter()
            dict_file = paths.dictionary_path(workdir, name, 'NCT_train',
                                              num_prototypes,
                                              num_shift_vectors, dict_seed)
            if (name, mode) not in augmenters:
                if not os.path.isfile(dict_file):
                    # one feature set for all novel classes: its dictionary
                    # is the model's own (no class left out)
                    left_out = c if '{novel}' in model_template else None
                    construct_dictionary(workdir, name, left_out, 'NCT_train',
                                         num_prototypes, num_shift_vectors,
                                         dict_seed)
                dic = load_dictionary(dict_file, sup.dim, sup.features_path)
                augmenters[(name, mode)] = make_augmenter(dic, mode,
                                                          num_aug_shots, seed)
            augmenter = augmenters[(name, mode)]
            timing['dictionaries'] += time.perf_counter() - t0
        t0 = time.perf_counter()
        f1 = meta_test(sup.features, qry.features, store, clf, mode,
                       augmenter, device, chunk_size, dtype=dtype)
        elapsed = time.perf_counter() - t0
        timing['meta_test'] += elapsed
        if (c, s) not in class_lists:  # the meta JSON is read once a store
            class_lists[(c, s)] = task_class_names(workdir, setting,
                                                   store.classes)
        names = class_lists[(c, s)]
        latent = mode in LATENT_MODES
        info = {
            'model': name, 'task': task, 'mode': mode, 'clf': clf,
            'num_shots': int(s), 'novel_class': c, 'seed': int(seed),
            'classes': names,
            'num_aug_shots': int(num_aug_shots) if latent else None,
            'num_prototypes': int(num_prototypes) if latent else None,
            'num_shift_vectors': int(num_shift_vectors)
            if mode == 'latent_aug' else None,
            'device': str(device), 'elapsed_s': elapsed,
            'files': {**identities[name], 'task_store': store.path,
                      'dictionary': dict_file},
        }
        result = build_result(f1, info, mixture=setting.task == 'mixture')
        results.append(result)
        if write_results:  # where a single meta-test run writes it
            path = paths.result_path(workdir, name, task, mode, clf, s, c)
            save_json(path, result)
            result_files.append(path)
    bar.close()
    timing['total'] = time.perf_counter() - t_start
    sweep = {
        'model': model, 'task': task,
        'novel_classes': [c for c in novels if c is not None],
        'shots': [int(s) for s in shots], 'clfs': list(clfs),
        'modes': list(modes), 'num_task': int(num_task),
        'device': str(device), 'seed': int(seed),
        'task_seed': int(task_seed), 'num_aug_shots': int(num_aug_shots),
        'num_prototypes': int(num_prototypes),
        'num_shift_vectors': int(num_shift_vectors),
        'dict_seed': int(dict_seed), 'model_template': model_template,
        'dtype': str(dtype).replace('torch.', ''),
        'elapsed_s': timing, 'results': results,
        'result_files': result_files,
    }
    out = output or paths.sweep_path(workdir, model, task)
    save_json(out, sweep)
    table = summary_table(results, model_template) + '\n' + \
        'Average over novel classes (F1 %):\n\n' + \
        mean_over_novel_table(results)
    md = out[:-5] + '.md' if out.endswith('.json') else out + '.md'
    save_text(md, table)
    sweep.update(output=out, summary_md=md, table=table)
    return sweep
