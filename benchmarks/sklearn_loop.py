"""The per-task scikit-learn loop on a process pool: the baseline of the
benchmarks (what the original code does, one task at a time).

One single-threaded worker process per core (``fork``: the feature pools,
the task store and the augmenter are inherited, not pickled) fits one
scikit-learn estimator per task: ``RidgeClassifier()``,
``LogisticRegression(max_iter=1000)`` or ``NearestCentroid()``. In
``latent_aug`` mode the task's support set is augmented by the engine's own
:class:`~openselfsup.lowshot.augment.LatentAugmenter` (same nearest
prototypes, same shift-bank rows for task ``t``) and materialised, as the
original did, so both sides solve identical problems.

Used by ``bench_meta_test.py`` and ``bench_sweep.py``.
"""
import os
import resource
import sys
import time
import warnings
from multiprocessing import get_context
from typing import Dict, Optional, Sequence

import numpy as np
import torch

if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))

from openselfsup.lowshot.metrics import per_task_f1

_STATE = {}


def _estimator(clf: str):
    from sklearn.linear_model import LogisticRegression, RidgeClassifier
    from sklearn.neighbors import NearestCentroid
    return {'Ridge': RidgeClassifier,
            'logistic_regression': lambda: LogisticRegression(max_iter=1000),
            'nearest_centroid': NearestCentroid}[clf]()


def _init(sup, qry, store, clf, augmenter):
    from threadpoolctl import threadpool_limits
    torch.set_num_threads(1)  # one process per core, one thread each
    _STATE['limits'] = threadpool_limits(1)
    # NearestCentroid computes a within-class spread for its (unused, off
    # by default) shrinkage, dividing by n - C: zero at 1-shot, one warning
    # per task; the centroids and predictions are unaffected
    warnings.filterwarnings('ignore', category=RuntimeWarning,
                            module='sklearn.neighbors')
    _STATE.update(sup=sup, qry=qry, store=store, clf=clf, aug=augmenter)


def _one(t: int) -> np.ndarray:
    s = _STATE
    store = s['store']
    X = s['sup'][store.support_idx[t]].astype(np.float64)
    y = store.support_labels[t]
    if s['aug'] is not None:
        pos = np.searchsorted(store.classes, y)
        aug = s['aug'].augment(torch.from_numpy(X[None]),
                               torch.from_numpy(pos[None]), t)
        Xa, ya = aug.materialise()
        X, y = Xa[0].numpy(), store.classes[ya[0].numpy()]
    pred = _estimator(s['clf']).fit(X, y).predict(
        s['qry'][store.query_idx[t]].astype(np.float64))
    classes = store.classes
    return per_task_f1(np.searchsorted(classes, pred)[None],
                       np.searchsorted(classes, store.query_labels[t])[None],
                       len(classes))[0]


def _peak(_) -> tuple:
    time.sleep(0.2)  # long enough for every worker to take one
    return os.getpid(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def sklearn_loop(sup: np.ndarray, qry: np.ndarray, store, clf: str,
                 augmenter=None, tasks: Optional[Sequence[int]] = None,
                 processes: Optional[int] = None) -> Dict:
    """Run the per-task loop; F1, wall times and the workers' peak memory.

    Args:
        sup (np.ndarray): float ``[N_s, D]`` support pool.
        qry (np.ndarray): float ``[N_q, D]`` query pool.
        store (TaskStore): tasks (indices into the pools).
        clf (str): 'Ridge', 'logistic_regression' or 'nearest_centroid'.
        augmenter (LatentAugmenter, optional): latent_aug mode (the engine's
            augmenter, so the loop sees the engine's draws).
        tasks (sequence of int, optional): task indices (default all).
        processes (int, optional): pool size (default: all cores).

    Returns:
        dict: ``f1`` float64 ``[len(tasks), C]`` (percent); ``time_s`` the
        whole wall time, split into ``startup_s`` (starting the pool) and
        ``task_s`` (solving the tasks); ``worker_peak_mib`` the largest
        worker's peak resident memory (MiB).
    """
    tasks = list(range(store.num_task)) if tasks is None else list(tasks)
    processes = processes or os.cpu_count()
    t0 = time.perf_counter()
    with get_context('fork').Pool(processes, _init,
                                  (sup, qry, store, clf, augmenter)) as pool:
        pool.map(_peak, range(2 * processes), chunksize=1)  # all started
        t1 = time.perf_counter()
        f1 = np.stack(pool.map(_one, tasks, chunksize=max(
            1, len(tasks) // (4 * processes))))
        t2 = time.perf_counter()
        peaks = dict(pool.map(_peak, range(4 * processes), chunksize=1))
    return {'f1': f1, 'time_s': t2 - t0, 'startup_s': t1 - t0,
            'task_s': t2 - t1,
            'worker_peak_mib': max(peaks.values()) / 1024}


if __name__ == '__main__':  # a part, not a benchmark: one line saying so
    from benchmarks._common import not_a_command
    not_a_command('sklearn_loop', ['bench_meta_test', 'bench_sweep'])
