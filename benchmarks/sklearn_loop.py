"""The per-task scikit-learn loop on a process pool: the baseline of the
benchmarks (what the original code does, one task at a time).

Each worker process receives the feature pools once (fork), then fits one
scikit-learn estimator per task: ``RidgeClassifier()``,
``LogisticRegression(max_iter=1000)`` or ``NearestCentroid()``. In
``latent_aug`` mode the task's support set is augmented with the engine's
own draws (same prototypes, same shift-bank rows), materialised, as the
original did.
"""
import os
import time
from multiprocessing import get_context
from typing import Optional, Sequence

import numpy as np
import torch

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


def sklearn_loop(sup: np.ndarray, qry: np.ndarray, store, clf: str,
                 augmenter=None, tasks: Optional[Sequence[int]] = None,
                 processes: Optional[int] = None):
    """F1 ``[len(tasks), C]`` of the per-task loop and its wall time (s).

    Args:
        sup, qry (np.ndarray): feature pools.
        store (TaskStore): tasks.
        clf (str): classifier name.
        augmenter (LatentAugmenter, optional): latent_aug mode.
        tasks (sequence of int, optional): task indices (default all).
        processes (int, optional): pool size (default: all cores).
    """
    tasks = list(range(store.num_task)) if tasks is None else list(tasks)
    processes = processes or os.cpu_count()
    t0 = time.perf_counter()
    with get_context('fork').Pool(processes, _init,
                                  (sup, qry, store, clf, augmenter)) as pool:
        f1 = np.stack(pool.map(_one, tasks, chunksize=max(
            1, len(tasks) // (4 * processes))))
    return f1, time.perf_counter() - t0
