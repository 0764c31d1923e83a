"""Low-shot task settings, vectorised task sampling and the task store.

Settings (``--task`` of ``generate_task.py``; ``--mode`` for ``out``):

========  =====  ==============  =============  ===============================
task      ways   support from    queries from   notes
========  =====  ==============  =============  ===============================
near      9      NCT_train       NCT_test       ``--novel_class`` names the
                                                class(es) held out of
                                                pre-training; always present
mixture   5      LC              LC             support and queries from the
                                                same pool, never overlapping
out       3      PAIP_train      PAIP_test      ``hetero``: support from any
                                                training slide; ``homo``: all
                                                support of a task from one
                                                training slide
========  =====  ==============  =============  ===============================

Every task has ``shots`` support and :data:`NUM_QUERIES` (15) query samples
per class, drawn without replacement; support and queries never share an
image (the original drew with replacement and, on LC25000, let queries repeat
support images).

Task store (one ``.npz`` per setting, path from
:func:`~openselfsup.lowshot.paths.task_store_path`)::

    support_idx     int64 [T, ways*shots]    rows of the support feature set
    query_idx       int64 [T, ways*queries]  rows of the query feature set
    support_labels  int64 [T, ways*shots]    their labels (class-major order)
    query_labels    int64 [T, ways*queries]
    classes         int64 [ways]             labels of the task's classes
    seed, shots, queries, ways, novel_class (-1: none)   int64 scalars
    task, mode, support_set, query_set, fingerprint       str scalars

``fingerprint`` is a SHA-1 of the label arrays (and, for ``homo``, the slide
ids) the tasks were drawn from, so a store made from other labels is refused.

Sampling draws every task at once from one ``numpy.random.Generator``
(PCG64, platform independent), so the same seed gives the same tasks on any
machine.
"""
import hashlib
import os
from dataclasses import dataclass, field
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from ..utils import InputError, save_npz
from . import paths

#: query samples per class in every task
NUM_QUERIES = 15

#: number of NCT classes; a novel class is 0..8, or 78 for "7 and 8"
NUM_NCT_CLASSES = 9


@dataclass(frozen=True)
class TaskSetting:
    """One low-shot domain.

    Attributes:
        task (str): 'near', 'mixture' or 'out'.
        ways (int): classes per task.
        support_set (str): feature set name of the support pool.
        query_set (str): feature set name of the query pool.
        modes (tuple): allowed ``--mode`` values (empty: none).
    """
    task: str
    ways: int
    support_set: str
    query_set: str
    modes: Tuple[str, ...] = field(default=())

    @property
    def same_pool(self) -> bool:
        return self.support_set == self.query_set


SETTINGS: Dict[str, TaskSetting] = {
    'near': TaskSetting('near', 9, 'NCT_train', 'NCT_test'),
    'mixture': TaskSetting('mixture', 5, 'LC', 'LC'),
    'out': TaskSetting('out', 3, 'PAIP_train', 'PAIP_test', ('hetero', 'homo')),
}


def get_setting(task: str, mode: Optional[str] = None
                ) -> Tuple[TaskSetting, Optional[str]]:
    """The setting of ``task`` and its validated mode (None if it has none).

    ``out_homo`` (the meta-test name) is ``out`` with mode ``homo``; ``out``
    without a mode is ``hetero``.
    """
    if task == 'out_homo':
        task, mode = 'out', 'homo'
    if task not in SETTINGS:
        raise InputError(f'unknown task {task!r}; expected one of '
                         f'{", ".join(SETTINGS)}')
    setting = SETTINGS[task]
    if setting.modes:
        mode = mode or setting.modes[0]
        if mode not in setting.modes:
            raise InputError(f'--mode {mode} is not valid for task {task}; '
                             f'expected one of {", ".join(setting.modes)}')
        return setting, mode
    if mode not in (None, '', 'hetero'):
        raise InputError(f'task {task} has no --mode (got {mode!r})')
    return setting, None


def novel_classes(novel_class: Optional[int]) -> Tuple[int, ...]:
    """Labels held out for ``--novel_class`` (``78`` -> ``(7, 8)``)."""
    if novel_class is None:
        return ()
    if novel_class == 78:
        return (7, 8)
    if 0 <= novel_class < NUM_NCT_CLASSES:
        return (int(novel_class),)
    raise InputError(f'--novel_class {novel_class} is out of range; expected '
                     f'0..{NUM_NCT_CLASSES - 1} or 78 (classes 7 and 8)')


def labels_fingerprint(*arrays: np.ndarray) -> str:
    """SHA-1 of integer label arrays (their values and lengths)."""
    h = hashlib.sha1()
    for a in arrays:
        a = np.ascontiguousarray(a, dtype=np.int64)
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def sample_rows(rng: np.random.Generator, n: int, k: int,
                num: int) -> np.ndarray:
    """``num`` independent uniform k-subsets of ``range(n)``: int64 [num, k].

    Rows are drawn at once: by rejection (redraw rows holding a repeat) when
    repeats are rare (``k * k <= n``), else by sorting random keys.
    Deterministic given the generator state.
    """
    if k > n:
        raise ValueError(f'cannot draw {k} of {n} without replacement')
    if k == 0:
        return np.zeros((num, 0), dtype=np.int64)
    if k * k <= n:
        out = rng.integers(0, n, size=(num, k), dtype=np.int64)
        bad = np.arange(num)
        while True:
            s = np.sort(out[bad], axis=1)
            bad = bad[(s[:, 1:] == s[:, :-1]).any(axis=1)]
            if bad.size == 0:
                return out
            out[bad] = rng.integers(0, n, size=(bad.size, k), dtype=np.int64)
    keys = rng.random((num, n))
    return np.argsort(keys, axis=1, kind='stable')[:, :k].astype(np.int64)


def _class_pool(labels: np.ndarray, c: int) -> np.ndarray:
    return np.flatnonzero(labels == c)


def _too_few(name: str, c: int, have: int, need: int, what: str) -> InputError:
    return InputError(f'{name}: class {c} has {have} samples, fewer than '
                      f'{what} = {need}')


@dataclass
class TaskStore:
    """Tasks as index arrays (see the module docstring for the fields)."""
    support_idx: np.ndarray
    query_idx: np.ndarray
    support_labels: np.ndarray
    query_labels: np.ndarray
    classes: np.ndarray
    seed: int
    shots: int
    queries: int
    task: str
    mode: str
    support_set: str
    query_set: str
    novel_class: int
    fingerprint: str
    path: Optional[str] = None

    @property
    def num_task(self) -> int:
        return int(self.support_idx.shape[0])

    @property
    def ways(self) -> int:
        return int(len(self.classes))

    def save(self, path: str) -> None:
        save_npz(path, support_idx=self.support_idx, query_idx=self.query_idx,
                 support_labels=self.support_labels,
                 query_labels=self.query_labels, classes=self.classes,
                 seed=np.int64(self.seed), shots=np.int64(self.shots),
                 queries=np.int64(self.queries), ways=np.int64(self.ways),
                 novel_class=np.int64(self.novel_class),
                 task=np.str_(self.task), mode=np.str_(self.mode),
                 support_set=np.str_(self.support_set),
                 query_set=np.str_(self.query_set),
                 fingerprint=np.str_(self.fingerprint))
        self.path = path

    @classmethod
    def load(cls, path: str) -> 'TaskStore':
        if not os.path.isfile(path):
            raise InputError(f'task store not found: {path} (make it with: '
                             'python wsi_workdir/tools/generate_task.py ...)')
        try:
            with np.load(path, allow_pickle=False) as z:
                d = {k: z[k] for k in z.files}
            store = cls(
                support_idx=d['support_idx'].astype(np.int64),
                query_idx=d['query_idx'].astype(np.int64),
                support_labels=d['support_labels'].astype(np.int64),
                query_labels=d['query_labels'].astype(np.int64),
                classes=d['classes'].astype(np.int64), seed=int(d['seed']),
                shots=int(d['shots']), queries=int(d['queries']),
                task=str(d['task']), mode=str(d['mode']),
                support_set=str(d['support_set']),
                query_set=str(d['query_set']),
                novel_class=int(d['novel_class']),
                fingerprint=str(d['fingerprint']), path=path)
        except (KeyError, ValueError, OSError) as exc:
            raise InputError(f'{path}: not a task store ({exc})') from None
        return store

    def check_labels(self, support_labels: np.ndarray,
                     query_labels: np.ndarray,
                     slides: Optional[np.ndarray] = None) -> None:
        """Refuse a store drawn from other labels than those in hand."""
        fp = _fingerprint(self.same_pool, support_labels, query_labels,
                          slides)
        if fp != self.fingerprint:
            raise InputError(
                f'{self.path}: task store was made from other labels than '
                f'{self.support_set}/{self.query_set} in hand; regenerate it '
                'with generate_task.py --overwrite')
        n_s, n_q = len(support_labels), len(query_labels)
        if self.support_idx.max(initial=-1) >= n_s or \
                self.query_idx.max(initial=-1) >= n_q:
            raise InputError(f'{self.path}: indices out of range of the '
                             'features')

    @property
    def same_pool(self) -> bool:
        return self.support_set == self.query_set

    def head(self, num_task: int) -> 'TaskStore':
        """The first ``num_task`` tasks (error if the store has fewer)."""
        if num_task > self.num_task:
            raise InputError(f'--num_task {num_task} is larger than the '
                             f'{self.num_task} tasks in {self.path}')
        if num_task < 1:
            raise InputError(f'--num_task must be positive, got {num_task}')
        out = TaskStore(**{**self.__dict__})
        for k in ('support_idx', 'query_idx', 'support_labels',
                  'query_labels'):
            setattr(out, k, getattr(self, k)[:num_task])
        return out


def _fingerprint(same_pool: bool, support_labels: np.ndarray,
                 query_labels: np.ndarray,
                 slides: Optional[np.ndarray]) -> str:
    arrays = [support_labels] if same_pool else [support_labels, query_labels]
    if slides is not None:
        arrays.append(slides)
    return labels_fingerprint(*arrays)


def sample_tasks(setting: TaskSetting, support_labels: np.ndarray,
                 query_labels: np.ndarray, shots: int, num_task: int,
                 seed: int, mode: Optional[str] = None,
                 novel_class: Optional[int] = None,
                 support_slides: Optional[np.ndarray] = None,
                 queries: int = NUM_QUERIES) -> TaskStore:
    """Draw ``num_task`` tasks of ``setting`` at once.

    Args:
        setting (TaskSetting): the domain.
        support_labels (np.ndarray): int ``[N_s]`` labels of the support pool.
        query_labels (np.ndarray): int ``[N_q]`` labels of the query pool
            (the same array when ``setting.same_pool``).
        shots (int): support samples per class.
        num_task (int): number of tasks T.
        seed (int): seed of the ``numpy.random.Generator``.
        mode (str, optional): 'hetero' or 'homo' for out-domain tasks.
        novel_class (int, optional): novel class(es) that must be in every
            task (near domain; 78 means 7 and 8).
        support_slides (np.ndarray, optional): int ``[N_s]`` slide id per
            support row; required for ``homo``.
        queries (int): query samples per class.

    Returns:
        TaskStore: the tasks (not yet saved).
    """
    if shots < 1:
        raise InputError(f'--num_shots must be positive, got {shots}')
    if num_task < 1:
        raise InputError(f'--num_task must be positive, got {num_task}')
    rng = np.random.default_rng(seed)
    classes = np.unique(support_labels)
    if len(classes) != setting.ways:
        raise InputError(
            f'{setting.support_set}: labels have {len(classes)} classes, '
            f'{setting.task} tasks are {setting.ways}-way')
    required = novel_classes(novel_class)
    for c in required:
        if c not in classes:
            raise InputError(f'--novel_class {novel_class}: class {c} is not '
                             f'in {setting.support_set}')
    ways = len(classes)
    s_idx = np.empty((num_task, ways, shots), dtype=np.int64)
    q_idx = np.empty((num_task, ways, queries), dtype=np.int64)
    homo = mode == 'homo'
    if homo:
        if support_slides is None:
            raise InputError('homo tasks need slide ids of the support set')
        slide_of_task = _pick_slides(rng, setting, support_labels,
                                     support_slides, classes, shots, num_task)
    for w, c in enumerate(classes):
        s_pool = _class_pool(support_labels, c)
        if setting.same_pool:
            need = shots + queries
            if len(s_pool) < need:
                raise _too_few(setting.support_set, int(c), len(s_pool), need,
                               f'shots + queries ({shots} + {queries})')
            rows = s_pool[sample_rows(rng, len(s_pool), need, num_task)]
            s_idx[:, w], q_idx[:, w] = rows[:, :shots], rows[:, shots:]
            continue
        q_pool = _class_pool(query_labels, c)
        if len(q_pool) < queries:
            raise _too_few(setting.query_set, int(c), len(q_pool), queries,
                           'queries')
        if homo:
            for slide in np.unique(slide_of_task):
                tasks = np.flatnonzero(slide_of_task == slide)
                pool = s_pool[support_slides[s_pool] == slide]
                s_idx[tasks, w] = pool[sample_rows(rng, len(pool), shots,
                                                   len(tasks))]
        else:
            if len(s_pool) < shots:
                raise _too_few(setting.support_set, int(c), len(s_pool),
                               shots, 'shots')
            s_idx[:, w] = s_pool[sample_rows(rng, len(s_pool), shots,
                                             num_task)]
        q_idx[:, w] = q_pool[sample_rows(rng, len(q_pool), queries, num_task)]
    s_lab = np.broadcast_to(classes[None, :, None], s_idx.shape)
    q_lab = np.broadcast_to(classes[None, :, None], q_idx.shape)
    fp = _fingerprint(setting.same_pool, support_labels, query_labels,
                      support_slides if homo else None)
    return TaskStore(
        support_idx=s_idx.reshape(num_task, -1),
        query_idx=q_idx.reshape(num_task, -1),
        support_labels=np.ascontiguousarray(s_lab).reshape(num_task, -1),
        query_labels=np.ascontiguousarray(q_lab).reshape(num_task, -1),
        classes=classes.astype(np.int64), seed=int(seed), shots=int(shots),
        queries=int(queries), task=setting.task, mode=mode or '',
        support_set=setting.support_set, query_set=setting.query_set,
        novel_class=-1 if novel_class is None else int(novel_class),
        fingerprint=fp)


def _pick_slides(rng: np.random.Generator, setting: TaskSetting,
                 labels: np.ndarray, slides: np.ndarray,
                 classes: np.ndarray, shots: int, num_task: int) -> np.ndarray:
    """A slide per task, uniform over slides with >= shots of every class."""
    counts = np.zeros((slides.max() + 1, len(classes)), dtype=np.int64)
    for w, c in enumerate(classes):
        counts[:, w] = np.bincount(slides[labels == c],
                                   minlength=counts.shape[0])
    eligible = np.flatnonzero((counts >= shots).all(axis=1))
    if eligible.size == 0:
        raise InputError(f'{setting.support_set}: no slide has {shots} '
                         'samples of every class (needed by homo tasks)')
    return eligible[rng.integers(0, eligible.size, size=num_task)]


def generate_task_store(workdir: str, task: str, shots: int, num_task: int,
                        seed: int = 0, mode: Optional[str] = None,
                        novel_class: Optional[int] = None,
                        replace: bool = False) -> Tuple[TaskStore, bool]:
    """Make (or reuse) the task store of one setting under ``workdir``.

    Without ``replace`` an existing store is reused if it was drawn from the
    labels in hand with the same seed and holds at least ``num_task`` tasks;
    otherwise an error says to pass ``--overwrite``. Never replaced silently.

    Args:
        workdir (str): the low-shot work directory (labels are read from
            ``extracted_feats/<NAME>_labels.npy``).
        task (str): 'near', 'mixture' or 'out'.
        shots (int): support samples per class.
        num_task (int): number of tasks.
        seed (int): sampling seed.
        mode (str, optional): 'hetero' or 'homo' (out domain).
        novel_class (int, optional): novel class (near domain).
        replace (bool): draw anew even if a store exists.

    Returns:
        (TaskStore, bool): the store and whether it was newly written.
    """
    from .features import load_labels, slide_ids
    setting, mode = get_setting(task, mode)
    novel_classes(novel_class)  # range check before reading anything
    if novel_class is not None and setting.task != 'near':
        raise InputError(f'--novel_class applies to near-domain tasks only, '
                         f'not {setting.task}')
    path = paths.task_store_path(workdir, setting.task, setting.ways, shots,
                                 mode=mode, novel_class=novel_class)
    s_lab = load_labels(workdir, setting.support_set)
    q_lab = s_lab if setting.same_pool else load_labels(workdir,
                                                        setting.query_set)
    slides = slide_ids(workdir, setting.support_set, len(s_lab)) \
        if mode == 'homo' else None
    if os.path.exists(path) and not replace:
        store = TaskStore.load(path)
        store.check_labels(s_lab, q_lab, slides)
        if store.seed != seed or store.num_task < num_task:
            raise InputError(
                f'{path} exists with {store.num_task} tasks and seed '
                f'{store.seed} (asked: {num_task} tasks, seed {seed}); pass '
                '--overwrite to replace it')
        return store, False
    store = sample_tasks(setting, s_lab, q_lab, shots, num_task, seed, mode,
                         novel_class, slides)
    store.save(path)
    return store, True


def load_task_store(workdir: str, task: str, shots: int, num_task: int,
                    support_labels: np.ndarray, query_labels: np.ndarray,
                    novel_class: Optional[int] = None,
                    slides: Optional[np.ndarray] = None) -> TaskStore:
    """Load the store of ``task`` (meta-test name), check it, keep ``num_task``.

    Args:
        task (str): 'near', 'mixture', 'out' or 'out_homo'.
        support_labels, query_labels (np.ndarray): labels in hand.
        slides (np.ndarray, optional): support slide ids (``out_homo``).
    """
    setting, mode = get_setting(task)
    path = paths.task_store_path(workdir, setting.task, setting.ways, shots,
                                 mode=mode, novel_class=novel_class)
    store = TaskStore.load(path)
    store.check_labels(support_labels, query_labels, slides)
    return store.head(num_task)


def class_counts(labels: np.ndarray, classes: Sequence[int]) -> np.ndarray:
    """Samples per class of ``labels`` ``[T, n]`` -> ``[T, len(classes)]``."""
    return np.stack([(labels == c).sum(axis=1) for c in classes], axis=1)
