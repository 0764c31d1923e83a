"""Batched meta-testing: every task of a run solved as tensor batches.

:func:`meta_test` takes features, a task store and a classifier name, and
solves the tasks in chunks (``chunk_size`` tasks, or as many as fit a memory
budget), on CPU or CUDA. :func:`run_meta_test` is the command-line flow: load
and check files under ``--workdir``, run, write the result JSON.

Result JSON (``paths.result_path``; shared with the summary command). All F1
numbers are in percent points::

    model            str    e.g. "clp_wo_7"
    task             str    "near" | "mixture" | "out" | "out_homo"
    mode             str    "linear" | "latent_aug" | "latent_aug_expected"
    clf              str    "Ridge" | "logistic_regression" | "nearest_centroid"
    num_shots        int
    num_task         int    tasks evaluated (T)
    novel_class      int | null
    seed             int    seed of the augmentation draws
    classes          [str]  class names, in label order (C)
    per_class_mean   [float] * C     mean F1 over tasks
    per_class_ci     [float|null] * C  95% half-width, t_{0.975,T-1} * s / sqrt(T)
    average_mean     float  mean of per_class_mean
    average_ci       float|null  mean of per_class_ci
    harmonic_mean    float|null  mixture: harmonic mean of colon_mean, lung_mean
    colon_mean, lung_mean  float|null  mixture: mean over LC classes 0,1 / 2,3,4
    per_task_f1      [[float] * C] * T
    units            "percent"
    num_aug_shots, num_prototypes, num_shift_vectors  int|null (latent_aug)
    device           str
    elapsed_s        float  wall time of the batched solve
    files            {support_features, query_features, support_labels,
                      query_labels: {path, shape, sha1}, task_store: path,
                      dictionary: path|null}
"""
import math
import time
from typing import Dict, List, Optional

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from ..utils import InputError, save_json
from . import paths
from .analytic import EXPECTED_CLASSIFIERS, ExpectedAugmentation
from .augment import LatentAugmenter
from .classifiers import CLASSIFIERS, BatchedClassifier, build_classifier
from .metrics import format_table, per_task_f1, summarize
from .tasks import TaskStore

MODES = ('linear', 'latent_aug', 'latent_aug_expected')
#: modes that read the base dictionary
LATENT_MODES = ('latent_aug', 'latent_aug_expected')

#: default memory budget of one chunk on the CPU (bytes): small enough that
#: a chunk's tensors stay in the caches and the allocator reuses them (with
#: 1 GiB chunks linear Ridge ran 3 to 5 times slower, in page faults and
#: memory traffic); a classifier may ask for another (``cpu_memory_budget``)
DEFAULT_MEMORY_BUDGET = BatchedClassifier.cpu_memory_budget
#: at least this much on CUDA, where larger batches fill the device
CUDA_MIN_BUDGET = 1 << 30


def resolve_device(device: str) -> torch.device:
    """``'cpu'`` or ``'cuda'`` (error if CUDA is asked for but missing)."""
    if device not in ('cpu', 'cuda') and not device.startswith('cuda:'):
        raise InputError(f'--device must be cpu or cuda, got {device!r}')
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise InputError('--device cuda asked for, but CUDA is not available')
    return torch.device(device)


def auto_chunk_size(num_train: int, num_query: int, dim: int,
                    dtype: torch.dtype = torch.float64,
                    memory_budget: int = DEFAULT_MEMORY_BUDGET) -> int:
    """Tasks per chunk so that the per-chunk working set fits the budget.

    Counts about four copies of the (possibly augmented) training set and two
    of the queries per task, plus ``dim x dim`` for Ridge's Gram matrix.
    """
    item = torch.finfo(dtype).bits // 8
    per_task = item * (4 * num_train * dim + 2 * num_query * dim
                       + min(num_train, dim) ** 2)
    return max(1, int(memory_budget // max(per_task, 1)))


def device_memory_budget(device: torch.device,
                         clf: Optional[str] = None) -> int:
    """Default chunk budget: on CPU the classifier's
    ``cpu_memory_budget`` (64 MiB, cache-sized chunks, unless it says
    otherwise); on CUDA a quarter of the free device memory (at least 1 GiB
    if that much is free), so the chunks grow with the GPU."""
    if device.type != 'cuda':
        return CLASSIFIERS[clf].cpu_memory_budget if clf \
            else DEFAULT_MEMORY_BUDGET
    free, _ = torch.cuda.mem_get_info(device)
    return max(free // 4, min(CUDA_MIN_BUDGET, free // 2))


def meta_test(support_features: np.ndarray, query_features: np.ndarray,
              store: TaskStore, clf: str, mode: str = 'linear',
              augmenter: Optional[LatentAugmenter] = None,
              device: str = 'cpu', chunk_size: Optional[int] = None,
              memory_budget: Optional[int] = None,
              dtype: torch.dtype = torch.float64,
              progress: bool = False) -> np.ndarray:
    """Solve every task of ``store``; return per-task, per-class F1.

    Args:
        support_features (np.ndarray): float ``[N_s, D]`` support pool.
        query_features (np.ndarray): float ``[N_q, D]`` query pool.
        store (TaskStore): tasks (indices into the pools).
        clf (str): 'Ridge', 'logistic_regression' or 'nearest_centroid'.
        mode (str): 'linear', 'latent_aug' or 'latent_aug_expected' (the
            closed-form limit of latent_aug, :mod:`.analytic`; Ridge and
            nearest centroid).
        augmenter (LatentAugmenter | ExpectedAugmentation, optional):
            required for the latent modes ('latent_aug_expected' takes an
            :class:`~.analytic.ExpectedAugmentation`).
        device (str): 'cpu' or 'cuda'.
        chunk_size (int, optional): tasks per batch (default: from
            ``memory_budget``).
        memory_budget (int, optional): bytes a chunk may use, roughly
            (default: :func:`device_memory_budget`).
        dtype (torch.dtype): computation dtype of the classifiers.
        progress (bool): show a progress bar over chunks.

    Returns:
        np.ndarray: float64 ``[T, C]`` F1 in percent, C = ``store.ways``.
    """
    if clf not in CLASSIFIERS:
        raise InputError(f'--clf must be one of {", ".join(CLASSIFIERS)}, '
                         f'got {clf!r}')
    if mode not in MODES:
        raise InputError(f'--mode must be one of {", ".join(MODES)}, '
                         f'got {mode!r}')
    if mode in LATENT_MODES and augmenter is None:
        raise ValueError(f'{mode} needs an augmenter')
    expected = mode == 'latent_aug_expected'
    if expected and clf not in EXPECTED_CLASSIFIERS:
        raise InputError(f'--mode latent_aug_expected has a closed form for '
                         f'{" and ".join(EXPECTED_CLASSIFIERS)} only, not '
                         f'{clf}')
    dev = resolve_device(device)
    C, T = store.ways, store.num_task
    classes = torch.as_tensor(store.classes)
    sup = torch.as_tensor(np.asarray(support_features, np.float32)).to(dev)
    qry = sup if query_features is support_features else \
        torch.as_tensor(np.asarray(query_features, np.float32)).to(dev)
    n, q = store.support_idx.shape[1], store.query_idx.shape[1]
    aug = augmenter.to(dev, dtype) if mode in LATENT_MODES else None
    if chunk_size is not None and chunk_size < 1:
        raise InputError(f'--chunk_size must be positive, got {chunk_size}')
    if memory_budget is None:
        memory_budget = device_memory_budget(dev, clf)
    if chunk_size is None and expected:  # a few D x D matrices per task
        d = sup.shape[1]
        per_task = torch.finfo(dtype).bits // 8 * (2 * d * d + 4 * (n + q) * d)
        chunk_size = max(1, int(memory_budget // per_task))
    if chunk_size is None:
        n_train = n
        if aug is not None and CLASSIFIERS[clf].materialises_augmentation:
            n_train *= aug.num_aug_shots
        chunk_size = auto_chunk_size(n_train, q, sup.shape[1], dtype,
                                     memory_budget)
    f1 = np.empty((T, C), dtype=np.float64)
    starts = range(0, T, chunk_size)
    # NumPy/SciPy's BLAS (the CPU kernels of classifiers.gram and
    # solve_spd) on one thread: interleaved with torch's own threads, a
    # multi-threaded OpenBLAS made the latent_aug Ridge solves 4x slower
    with threadpool_limits(1, 'blas'):
        for start in tqdm(starts, desc=f'{clf} {mode}', unit='chunk',
                          disable=not progress,
                          total=math.ceil(T / chunk_size)):
            stop = min(start + chunk_size, T)
            s_idx = torch.as_tensor(store.support_idx[start:stop]).to(dev)
            q_idx = torch.as_tensor(store.query_idx[start:stop]).to(dev)
            ys = torch.searchsorted(classes, torch.as_tensor(
                store.support_labels[start:stop])).to(dev)
            yq = np.searchsorted(store.classes, store.query_labels[start:stop])
            Xs, Xq = sup[s_idx].to(dtype), qry[q_idx].to(dtype)
            model = EXPECTED_CLASSIFIERS[clf](dtype=dtype) if expected else \
                build_classifier(clf, dtype)
            if aug is not None:
                model.fit_augmented(aug.augment(Xs, ys, start), C)
            else:
                model.fit(Xs, ys, C)
            pred = model.predict(Xq).cpu().numpy()
            f1[start:stop] = per_task_f1(pred, yq, C)
    return f1


def make_augmenter(dic, mode: str, num_aug_shots: int, seed: int = 0):
    """The augmenter of a latent ``mode`` from a loaded dictionary.

    Args:
        dic (Dictionary): base dictionary.
        mode (str): 'latent_aug' (samples the shift bank) or
            'latent_aug_expected' (prototypes and covariances only).
        num_aug_shots (int): samples per support feature.
        seed (int): seed of the draws (latent_aug).
    """
    if mode == 'latent_aug_expected':
        return ExpectedAugmentation(torch.from_numpy(dic.prototypes),
                                    torch.from_numpy(dic.covariances),
                                    num_aug_shots)
    return LatentAugmenter(torch.from_numpy(dic.prototypes),
                           torch.from_numpy(dic.shift_bank), num_aug_shots,
                           seed)


def _json_num(x):
    """float -> float, NaN -> None (JSON has no NaN)."""
    x = float(x)
    return None if math.isnan(x) else x


def build_result(f1: np.ndarray, info: Dict, mixture: bool) -> Dict:
    """Result dict (module docstring schema) from per-task F1 and settings."""
    s = summarize(f1, mixture=mixture)
    return {
        **info,
        'num_task': int(f1.shape[0]),
        'per_class_mean': [_json_num(v) for v in s['per_class_mean']],
        'per_class_ci': [_json_num(v) for v in s['per_class_ci']],
        'average_mean': _json_num(s['average_mean']),
        'average_ci': _json_num(s['average_ci']),
        'harmonic_mean': s['harmonic_mean'], 'colon_mean': s['colon_mean'],
        'lung_mean': s['lung_mean'], 'units': 'percent',
        'per_task_f1': f1.tolist(),
    }


def task_class_names(workdir: str, setting, classes) -> List[str]:
    """Names of a task store's classes (label ids ``classes``).

    From the support set's meta JSON (written by extraction); without one,
    the datasets' own class names; an id beyond the list is named by its
    number.
    """
    from .features import class_names
    names = class_names(workdir, setting.support_set)
    if names is None:  # no meta JSON: the datasets' own class names
        from ..datasets.synthetic.layouts import (LC_CLASSES, NCT_CLASSES,
                                                  PAIP_CLASSES)
        names = list({'near': NCT_CLASSES, 'mixture': LC_CLASSES,
                      'out': PAIP_CLASSES}[setting.task])
    return [names[c] if c < len(names) else str(c) for c in classes]


def result_table(result: Dict) -> str:
    """The printed table of a result dict."""
    s = {'per_class_mean': [np.nan if v is None else v
                            for v in result['per_class_mean']],
         'per_class_ci': [np.nan if v is None else v
                          for v in result['per_class_ci']],
         'average_mean': result['average_mean'],
         'average_ci': np.nan if result['average_ci'] is None
         else result['average_ci'],
         'harmonic_mean': result.get('harmonic_mean')}
    return format_table(s, result.get('classes'))


def run_meta_test(workdir: str, task: str, model: str, num_shots: int,
                  num_task: int, mode: str, clf: str,
                  novel_class: Optional[int] = None,
                  num_aug_shots: int = 100, num_prototypes: int = 16,
                  num_shift_vectors: int = 2000, dict_seed: int = 0,
                  dictionary: Optional[str] = None, device: str = 'cpu',
                  seed: int = 0, chunk_size: Optional[int] = None,
                  output: Optional[str] = None,
                  progress: bool = True) -> Dict:
    """Meta-test ``model`` on the stored tasks of ``task``; write the JSON.

    Args:
        workdir (str): the low-shot work directory.
        task (str): 'near', 'mixture', 'out' (hetero) or 'out_homo'.
        model (str): model name (features under ``extracted_feats/<model>``).
        num_shots (int): shots of the task store to use.
        num_task (int): first ``num_task`` tasks of the store.
        mode (str): 'linear', 'latent_aug' or 'latent_aug_expected'.
        clf (str): classifier name.
        novel_class (int, optional): novel class (near domain; selects the
            task store and names the result).
        num_aug_shots (int): samples per support feature in latent_aug.
        num_prototypes, num_shift_vectors, dict_seed: select the dictionary
            ``dictionaries/<model>/NCT_train_K.._M.._seed...npz``.
        dictionary (str, optional): explicit dictionary path instead.
        device (str): 'cpu' or 'cuda'.
        seed (int): seed of the augmentation draws.
        chunk_size (int, optional): tasks per batch.
        output (str, optional): JSON path (default ``paths.result_path``).
        progress (bool): progress bar over chunks.

    Returns:
        dict: the result (also written to ``output``), with ``output`` added.
    """
    from .dictionary import load_dictionary
    from .features import load_features, slide_ids
    from .tasks import get_setting, load_task_store, novel_classes
    setting, task_mode = get_setting(task)
    novel_classes(novel_class)
    if mode not in MODES:
        raise InputError(f'--mode must be one of {", ".join(MODES)}')
    if clf not in CLASSIFIERS:
        raise InputError(f'--clf must be one of {", ".join(CLASSIFIERS)}')
    if mode == 'latent_aug_expected' and clf not in EXPECTED_CLASSIFIERS:
        raise InputError(f'--mode latent_aug_expected has a closed form for '
                         f'{" and ".join(EXPECTED_CLASSIFIERS)} only, not '
                         f'{clf}')
    if mode in LATENT_MODES and num_aug_shots < 1:
        raise InputError('--num_aug_shots must be positive')
    resolve_device(device)
    sup = load_features(workdir, model, setting.support_set)
    qry = sup if setting.same_pool else load_features(workdir, model,
                                                      setting.query_set)
    if qry.dim != sup.dim:
        raise InputError(f'{qry.features_path} has width {qry.dim} but '
                         f'{sup.features_path} has {sup.dim}')
    slides = slide_ids(workdir, setting.support_set, len(sup.labels)) \
        if task_mode == 'homo' else None
    store = load_task_store(workdir, task, num_shots, num_task, sup.labels,
                            qry.labels, novel_class, slides)
    augmenter, dict_path = None, None
    if mode in LATENT_MODES:
        dict_path = dictionary or paths.dictionary_path(
            workdir, model, 'NCT_train', num_prototypes, num_shift_vectors,
            dict_seed)
        dic = load_dictionary(dict_path, sup.dim, sup.features_path)
        augmenter = make_augmenter(dic, mode, num_aug_shots, seed)
    t0 = time.perf_counter()
    f1 = meta_test(sup.features, qry.features, store, clf, mode, augmenter,
                   device, chunk_size, progress=progress)
    elapsed = time.perf_counter() - t0
    names = task_class_names(workdir, setting, store.classes)
    latent = mode in LATENT_MODES
    sup_id = sup.identity()
    qry_id = sup_id if qry is sup else qry.identity()
    info = {
        'model': model, 'task': task, 'mode': mode, 'clf': clf,
        'num_shots': int(num_shots), 'novel_class': novel_class,
        'seed': int(seed), 'classes': names,
        'num_aug_shots': int(num_aug_shots) if latent else None,
        'num_prototypes': int(num_prototypes) if latent else None,
        'num_shift_vectors': int(num_shift_vectors)
        if mode == 'latent_aug' else None,
        'device': str(device), 'elapsed_s': elapsed,
        'files': {
            'support_features': sup_id['features'],
            'support_labels': sup_id['labels'],
            'query_features': qry_id['features'],
            'query_labels': qry_id['labels'],
            'task_store': store.path, 'dictionary': dict_path},
    }
    result = build_result(f1, info, mixture=setting.task == 'mixture')
    out = output or paths.result_path(workdir, model, task, mode, clf,
                                      num_shots, novel_class)
    save_json(out, result)
    result['output'] = out
    return result
