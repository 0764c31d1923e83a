"""Meta-testing: every task of a setting solved as tensor batches.

:func:`meta_test` takes feature pools, a task store and a classifier, and
solves the tasks in chunks on CPU (parallel chunks, serial kernels:
:mod:`.parallel`) or CUDA. :class:`Inputs` loads and checks everything a
setting reads (features, task store, dictionary) once and shares it between
settings; :func:`evaluate` runs one :class:`~.spec.RunSpec` and builds its
result; :func:`run_meta_test` is the single-setting command
(``wsi_workdir/distributed_meta_test.py``) and :mod:`.sweep` the
many-setting one. Both go through :func:`evaluate`.

Result JSON (``RunSpec.result_path``; read by the report). F1 values are
fractions in [0, 1]; a CI that is undefined (one task) is null::

    <every RunSpec field>, num_shots, variant, ways, queries,
    classifier_params   the setting (RunSpec.info)
    classes             [str] * C   class names in label order
    num_task            int          tasks evaluated (T)
    per_class_mean      [float] * C  mean F1 over tasks
    per_class_ci        [float|null] * C  95% half-width, t_{0.975,T-1} s/sqrt(T)
    average_mean, average_ci
    colon_mean, lung_mean, colon_ci, lung_ci, harmonic_mean, harmonic_ci
                        mixture domain (else null)
    per_task_f1         [[float] * C] * T
    units               "fraction"
    convergence         {max_iter, line_search, svd_fallback}: tasks
    files               support/query features and labels {path, shape, sha1},
                        normalised, task_store {path, sha1, seed,
                        labels_fingerprint}, dictionary {...} | null,
                        base_features {path, shape, sha1, extraction}
                        (the features the dictionary was built from) |
                        null, aug_features {...} | null
    execution           {device, threads, chunk_size, thread_time, dtype,
                        elapsed_s}: the threads (null on CUDA) and tasks per
                        chunk the run used; thread_time {wall_s, cpu_s,
                        cpu_wait_s}: summed over the worker threads, their
                        lifetime, CPU time and time spent waiting for a CPU
                        (another process on the cores; null where the OS
                        does not say)
    version             RESULT_VERSION of the code that computed it
    sweeps              a sweep's result only (:func:`~.sweep.run_sweep`):
                        [{id, files}]: per sweep index that lists it, that
                        index's ``sweep_id`` and files (the index JSON
                        first, its table, the ablation's plot), relative to
                        the result's folder

Whoever replaces a result JSON (a single run, another sweep) first removes
the index sets its ``sweeps`` names that still carry the same id, unless
the new result is the same one (equal in everything but ``execution`` and
where its input files lie; the new file then names them too):
:func:`release_result`. An index and table that listed the old result's
numbers never stay beside another result.
"""
import json
import math
import os
import time
from collections import Counter
from typing import Callable, Dict, List, Optional, Sequence

import numpy as np
import torch

from ..utils import (InputError, first_line, json_object_or_none,
                     json_text, remove_set, save_json)
from ..utils.progress import progress_bar
from .classifiers import ESTIMATORS, build_classifier
from .metrics import format_table, per_task_f1, summarize
from .parallel import ScratchPad, map_chunks, plan_chunks, serial_kernels
from . import paths
from .spec import (LATENT_MODES, RESULT_INPUTS, RunSpec, SettingInput,
                   check_execution, check_novel_pairing,
                   class_names as domain_classes)
from .tasks import TaskStore

#: default chunk budget on the CPU (bytes of working set per chunk): small
#: enough that a chunk's tensors stay in the caches; logistic regression
#: shares the fixed cost of its tens of small operations per L-BFGS
#: iteration over more tasks (1 GiB chunks ran 1.6x faster than 64 MiB)
CPU_BUDGET = {'Ridge': 64 << 20, 'nearest_centroid': 64 << 20,
              'logistic_regression': 1 << 30}
#: on the CPU a chunk's queries are gathered and scored in runs of tasks
#: whose query buffers fit this (a logistic-regression chunk of 500 9-way
#: 1-shot tasks at width 512 otherwise gathered 280 MB of queries, into
#: pages every meta-test touches anew: 0.38 of its 0.65 s; on 2 cores, and
#: with one competing process, that made its two threads slower than one)
QUERY_BUDGET = 64 << 20
#: chunk budget on CUDA: this share of the device's TOTAL memory (not of the
#: free memory, so that two runs of one command on one GPU chunk the tasks
#: the same way). Large, because a chunk's cost on a GPU is mostly its
#: hundreds of small kernel launches (one L-BFGS run of logistic regression
#: is thousands): with a fixed 2 GiB, sampled latent augmentation with
#: logistic regression took 22 s per 10-shot setting on an H200 (72 chunks
#: of 14 tasks, 0.31 s per chunk, nearly whatever its size); the working-set
#: estimate is conservative (a quarter of the free memory peaked at 14 of
#: 80 GiB on an H100). ``--chunk_size`` sets it by hand on a shared GPU.
CUDA_BUDGET_SHARE = 0.25


def cuda_budget(device: torch.device) -> int:
    """Bytes of working set per chunk on a CUDA device
    (:data:`CUDA_BUDGET_SHARE` of its total memory)."""
    total = torch.cuda.get_device_properties(device).total_memory
    return int(total * CUDA_BUDGET_SHARE)


#: logistic regression's work per task in "bytes" of :func:`work_bytes`:
#: its hundreds of L-BFGS iterations run tens of element-wise kernels on
#: ``C * (r + 1)`` parameters per task (r = min(n, D): the row-space
#: coordinates), which take longer than their Python dispatch only for
#: about 32,000 parameters per chunk and more (on 2 cores, 1000 2-way
#: 10-shot tasks, 42 parameters each, ran 1.3x slower in two chunks on two
#: threads than on one thread)
LR_BYTES_PER_PARAMETER = 2048


def work_bytes(clf: str, num_train: int, num_query: int, dim: int,
               num_classes: int, expected: bool = False,
               dtype: torch.dtype = torch.float64) -> int:
    """Estimated work of one task, in bytes of working set, for deciding
    whether chunks are worth threads (:func:`~.parallel.plan_chunks`).

    ``num_train`` counts every augmented copy (solved or summed over, even
    when not materialised). Logistic regression counts its parameters
    (:data:`LR_BYTES_PER_PARAMETER`), the others :func:`task_bytes`.
    """
    if clf == 'logistic_regression' and not expected:
        rank = min(num_train, dim)
        return LR_BYTES_PER_PARAMETER * num_classes * (rank + 1)
    return task_bytes(clf, num_train, num_query, dim, expected, dtype)


def task_bytes(clf: str, num_train: int, num_query: int, dim: int,
               expected: bool = False,
               dtype: torch.dtype = torch.float64) -> int:
    """Estimated working set of one task (bytes).

    Counts about four copies of the (possibly augmented) training set and two
    of the queries per task, plus ``dim x dim`` for Ridge's Gram matrix (two
    for the closed-form latent augmentation).
    """
    item = torch.finfo(dtype).bits // 8
    if expected:
        return item * (2 * dim * dim + 4 * (num_train + num_query) * dim)
    return item * (4 * num_train * dim + 2 * num_query * dim
                   + min(num_train, dim) ** 2)


def chunk_size_for(clf: str, num_train: int, num_query: int, dim: int,
                   device: torch.device, expected: bool = False,
                   dtype: torch.dtype = torch.float64) -> int:
    """Tasks per chunk so that a chunk's working set (:func:`task_bytes`)
    fits the budget."""
    per_task = task_bytes(clf, num_train, num_query, dim, expected, dtype)
    budget = cuda_budget(device) if device.type == 'cuda' \
        else CPU_BUDGET[clf]
    return max(1, int(budget // max(per_task, 1)))


def meta_test(support_features: np.ndarray, query_features: np.ndarray,
              store: TaskStore, clf: str, params: Optional[Dict] = None,
              mode: str = 'linear', augmenter=None,
              support_aug: Optional[np.ndarray] = None,
              device: str = 'cpu', chunk_size: Optional[int] = None,
              threads: Optional[int] = None,
              dtype: torch.dtype = torch.float64,
              progress: bool = False, plan: Optional[Dict] = None):
    """Solve every task of ``store``; return per-task, per-class F1.

    Args:
        support_features (np.ndarray): float ``[N_s, D]`` support pool.
        query_features (np.ndarray): float ``[N_q, D]`` query pool.
        store (TaskStore): tasks (indices into the pools).
        clf (str): 'Ridge', 'logistic_regression' or 'nearest_centroid'.
        params (dict, optional): the classifier's hyperparameters
            (``RunSpec.classifier_params``).
        mode (str): 'linear', 'latent_aug' or 'latent_aug_expected'.
        augmenter (LatentAugmenter | ExpectedAugmentation, optional):
            required for the latent modes.
        support_aug (np.ndarray, optional): ``[A', N_s, D]`` features of
            image-augmented copies of the support pool; each support sample
            then trains with its ``A'`` copies (the ablation's ``aug_times``).
        device (str): 'cpu' or 'cuda'.
        chunk_size (int, optional): tasks per batch (default: from the
            budget). Results do not depend on it.
        threads (int, optional): CPU worker threads (default: one per core).
        dtype (torch.dtype): computation dtype of the classifiers.
        progress (bool): show a progress bar over chunks.
        plan (dict, optional): receives the ``threads`` (None on CUDA) and
            ``chunk_size`` the run used (the defaults are chosen here) and
            ``thread_time`` (:func:`~.parallel.map_chunks`'s ``times``).

    Returns:
        (np.ndarray, dict): F1 ``[T, C]`` in [0, 1] (C = ``store.ways``) and
        the classifier's counts (e.g. ``{'max_iter': 0, 'line_search': 1}``).
    """
    from .analytic import EXPECTED_ESTIMATORS
    if mode in LATENT_MODES and augmenter is None:
        raise ValueError(f'{mode} needs an augmenter')
    expected = mode == 'latent_aug_expected'
    dev, threads = check_execution(device, chunk_size, threads)
    dev = torch.device(dev)
    if dev.type != 'cpu':
        threads = 1
    C, T = store.ways, store.num_task
    classes = torch.as_tensor(store.classes, device=dev)
    sup = torch.as_tensor(np.asarray(support_features, np.float32)).to(dev)
    qry = sup if query_features is support_features else \
        torch.as_tensor(np.asarray(query_features, np.float32)).to(dev)
    extra = None if support_aug is None else \
        torch.as_tensor(np.asarray(support_aug, np.float32)).to(dev)
    n, q = store.support_idx.shape[1], store.query_idx.shape[1]
    n_train = n * (1 + (0 if extra is None else extra.shape[0]))
    aug = augmenter.to(dev, dtype) if mode in LATENT_MODES else None
    chunk_given = chunk_size is not None
    if chunk_size is None:
        D = sup.shape[1]
        augmented = n_train * (aug.num_aug_shots if aug is not None and
                               not expected else 1)
        materialised = augmented if ESTIMATORS[clf].materialises_augmentation \
            else n_train
        chunk_size = chunk_size_for(clf, materialised, q, D, dev, expected,
                                    dtype)
        if dev.type == 'cpu':  # threads only for chunks worth one
            chunk_size, threads = plan_chunks(
                T, chunk_size, T * work_bytes(clf, augmented, q, D, C,
                                              expected, dtype), threads)
        # on CUDA: as large as the budget allows (launches cost, not size)

    if plan is not None:
        plan.update(threads=threads if dev.type == 'cpu' else None,
                    chunk_size=chunk_size)
    pad = ScratchPad()  # each thread's buffers, reused chunk after chunk
    per_query_task = q * sup.shape[1] * (4 + torch.finfo(dtype).bits // 8)
    query_run = chunk_size if dev.type != 'cpu' else \
        max(1, QUERY_BUDGET // max(1, per_query_task))

    def solve(start: int, stop: int):
        s_idx = torch.tensor(store.support_idx[start:stop], device=dev)
        q_idx = torch.tensor(store.query_idx[start:stop], device=dev)
        ys = torch.searchsorted(classes, torch.tensor(
            store.support_labels[start:stop], device=dev))
        yq = np.searchsorted(store.classes, store.query_labels[start:stop])
        Xs = pad.gather('support', sup, s_idx, dtype)
        if extra is not None:  # [B, n, 1 + A', D], the original first
            copies = extra[:, s_idx].permute(1, 2, 0, 3).to(dtype)
            Xs = torch.cat([Xs[:, :, None], copies], 2).flatten(1, 2)
            ys = ys.repeat_interleave(copies.shape[2] + 1, dim=1)
        model = EXPECTED_ESTIMATORS[clf](dtype=dtype, **(params or {})) \
            if expected else build_classifier(clf, params, dtype)
        if aug is not None:
            model.fit_augmented(aug.augment(Xs, ys, start, pad), classes)
        else:
            model.fit(Xs, classes[ys], classes)
        pred = np.empty(yq.shape, np.int64)
        for a in range(0, stop - start, query_run):
            b = min(a + query_run, stop - start)
            Xq = pad.gather('query', qry, q_idx[a:b], dtype)
            pred[a:b] = model.predict_positions(Xq, slice(a, b)).cpu().numpy()
        return per_task_f1(pred, yq, C), model.stats()

    bounds = [(s, min(s + chunk_size, T)) for s in range(0, T, chunk_size)]
    bar = progress_bar(total=len(bounds), desc=f'{clf} {mode}', unit='chunk',
                       disable=not progress, leave=False)
    times = {}
    try:
        with serial_kernels():
            parts = map_chunks(solve, bounds, threads, bar.update, times)
    except torch.cuda.OutOfMemoryError as e:
        cause = first_line(e).split(' Of the allocated')[0]
        if chunk_size == 1:
            hint = 'free the GPU or run on the CPU (--device cpu)'
        else:
            hint = (f'pass a smaller --chunk_size, e.g. '
                    f'{max(1, chunk_size // 4)}')
            if not chunk_given:
                hint += (f' (the default budget is {CUDA_BUDGET_SHARE:.0%} '
                         "of the GPU's memory, as if nothing else used it)")
        raise InputError(f'{dev}: out of memory with {chunk_size} task(s) '
                         f'per chunk ({cause}): {hint}') from None
    finally:
        bar.close()
    if plan is not None:
        plan['thread_time'] = times
    counts = Counter()
    for _, stats in parts:
        counts.update(stats)
    f1 = np.concatenate([p[0] for p in parts]) if parts else \
        np.zeros((0, C))
    return f1, dict(counts)


def make_augmenter(dic, mode: str, num_aug_shots: int, seed: int = 0):
    """The augmenter of a latent ``mode`` from a loaded dictionary.

    Args:
        dic (Dictionary): base dictionary.
        mode (str): 'latent_aug' (samples the shift bank) or
            'latent_aug_expected' (prototypes and covariances only).
        num_aug_shots (int): samples per support feature.
        seed (int): seed of the draws (latent_aug).
    """
    from .analytic import ExpectedAugmentation
    from .augment import LatentAugmenter
    if mode == 'latent_aug_expected':
        return ExpectedAugmentation(torch.from_numpy(dic.prototypes),
                                    torch.from_numpy(dic.covariances),
                                    num_aug_shots)
    return LatentAugmenter(torch.from_numpy(dic.prototypes),
                           torch.from_numpy(dic.shift_bank), num_aug_shots,
                           seed)


class Inputs:
    """Everything settings read from a workdir, loaded and checked once.

    Args:
        workdir (str): the low-shot work directory.
        make_missing (bool): draw missing task stores and build missing
            dictionaries (the sweep) instead of failing (a single run);
            also build again a dictionary the sweep made of base features
            extracted again since (:func:`~.dictionary.
            made_by_sweep_from_replaced`).
        warn (callable, optional): receives the line that says such a
            dictionary was built again, or a task store extended (one
            asked for more tasks than it holds; ``make_missing``).
        shots_flags (str, optional): the caller's flags that set the
            shots, named where a store cannot be drawn at the shots asked
            (:func:`~.tasks.check_enough_samples`; default: the sweep's
            and the scripts').
    """

    def __init__(self, workdir: str, make_missing: bool = False,
                 warn: Optional[Callable[[str], None]] = None,
                 shots_flags: Optional[str] = None):
        self.workdir, self.make_missing = workdir, make_missing
        self.warn, self.shots_flags = warn, shots_flags
        self._features, self._stores, self._store_inputs = {}, {}, {}
        self._dicts, self._metas = {}, {}
        self._disjoint = set()  # (model, support, query) checked
        self._dict_checked = set()  # (dictionary spec, support set) checked
        self._dict_digests = {}  # dictionary spec: (digests, None)
        self.timing = Counter()

    def features(self, model: str, name: str):
        from .features import load_features
        key = (model, name)
        if key not in self._features:
            t0 = time.perf_counter()
            self._features[key] = load_features(self.workdir, model, name)
            self.timing['load'] += time.perf_counter() - t0
        return self._features[key]

    def pools(self, spec: RunSpec):
        """``(support, query)`` FeatureSets of a run, checked together:
        of one kind (:func:`~.features.check_same_kind`) and, once per
        pair, without an image in common (:func:`~.features.
        check_disjoint`; one pool is disjoint by construction)."""
        from .features import check_disjoint, check_same_kind
        s = spec.setting
        sup = self.features(spec.model, s.support_set)
        qry = sup if s.same_pool else self.features(spec.model, s.query_set)
        check_same_kind(sup, qry)
        pair = (spec.model, s.support_set, s.query_set)
        if not s.same_pool and pair not in self._disjoint:
            t0 = time.perf_counter()
            check_disjoint(sup, qry, self.workdir, self.meta)
            self._disjoint.add(pair)
            self.timing['load'] += time.perf_counter() - t0
        return sup, qry

    @staticmethod
    def _store_key(tspec) -> tuple:
        return (tspec.task, tspec.shots, tspec.novel_class, tspec.seed)

    def _store_inputs_of(self, tspec) -> tuple:
        """:func:`~.tasks.store_inputs` of a task spec, read once per
        domain (and homo or not)."""
        from .tasks import store_inputs
        ikey = (tspec.task, tspec.setting.homo)
        if ikey not in self._store_inputs:
            self._store_inputs[ikey] = store_inputs(self.workdir, tspec)
        return self._store_inputs[ikey]

    def prepare_stores(self, specs: Sequence[RunSpec]) -> None:
        """With ``make_missing`` (a sweep), the task stores of every one
        of ``specs`` checked or drawn before the first missing one is
        written (:func:`~.tasks.generate_task_stores`): a shot count the
        data cannot give (``--task out`` at 100 shots, a class of 60)
        stopped the sweep after it had written the stores of the counts
        before it. A store the data cannot give is refused before any is
        drawn, naming the caller's shots flags (``shots_flags``). Without
        ``make_missing``, nothing (each store is loaded when asked)."""
        from .tasks import generate_task_stores
        if not self.make_missing:
            return
        todo = {}
        for spec in specs:
            key = self._store_key(spec.tasks)
            if key not in self._stores:
                todo.setdefault(key, spec.tasks)
        t0 = time.perf_counter()
        made = generate_task_stores(self.workdir, list(todo.values()),
                                    inputs=self._store_inputs_of,
                                    note=self.warn,
                                    shots_flags=self.shots_flags)
        for key, (store, _) in zip(todo, made):
            self._stores[key] = store
        self.timing['tasks'] += time.perf_counter() - t0

    def store(self, spec: RunSpec) -> TaskStore:
        """The run's task store (its first ``num_task`` tasks), checked."""
        from .tasks import generate_task_store, load_task_store
        tspec = spec.tasks
        key = self._store_key(tspec)
        if key not in self._stores:
            t0 = time.perf_counter()
            inputs = self._store_inputs_of(tspec)
            if self.make_missing:  # extended where it holds fewer tasks
                store, _ = generate_task_store(self.workdir, tspec,
                                               inputs=inputs, note=self.warn)
            else:
                store = load_task_store(self.workdir, tspec, inputs)
            self._stores[key] = store
            self.timing['tasks'] += time.perf_counter() - t0
        return self._stores[key].head(spec.num_task,
                                      more=tspec.command(self.workdir))

    def dictionary(self, spec: RunSpec):
        """The run's checked dictionary (latent modes): loaded (or made)
        once, and checked against the support set of every domain that
        reads it (the mixture and out domains share one)."""
        from .dictionary import (check_dictionary, construct_dictionary,
                                 load_dictionary, made_by_sweep_from_replaced)
        dspec = spec.dictionary
        t0 = time.perf_counter()
        base = self.features(dspec.model, dspec.features)
        if dspec not in self._dicts:
            path = dspec.path(self.workdir)
            if os.path.exists(path):
                dic = load_dictionary(path, dspec.command(self.workdir))
                if self.make_missing and made_by_sweep_from_replaced(
                        dic, dspec, base, self.workdir):
                    # its own, of features extracted again since (another
                    # encoder, EXTRACT_OPTS): made again, as if missing;
                    # it was refused, one novel class per rerun
                    dic = construct_dictionary(self.workdir, dspec, True,
                                               base, made_by='sweep')
                    if self.warn:
                        self.warn(f'note: built {path} again: the sweep '
                                  'had made it from other features than '
                                  f'the current {base.features_path} '
                                  '(extracted again since)')
                self._dicts[dspec] = dic
            elif self.make_missing:
                self._dicts[dspec] = construct_dictionary(
                    self.workdir, dspec, features=base, made_by='sweep')
            else:
                raise InputError(f'dictionary not found: {path} (make '
                                 f'it with: {dspec.command(self.workdir)}'
                                 ', or run the setting with '
                                 'wsi_workdir/sweep.py, which makes it)')
        dic = self._dicts[dspec]
        checked = (dspec, spec.setting.support_set)
        if checked not in self._dict_checked:
            check_dictionary(dic, dspec, base, self.pools(spec)[0],
                             self.workdir)
            self._dict_checked.add(checked)
        self.timing['dictionaries'] += time.perf_counter() - t0
        return dic

    def support_aug(self, spec: RunSpec, num_support: int
                    ) -> Optional[np.ndarray]:
        """``[aug_times - 1, N, D]`` image-augmented support features."""
        if not spec.aug_times or spec.aug_times == 1:
            return None
        fs = self.features(spec.model, 'NCT_aug')
        sup = self.pools(spec)[0]
        if fs.features.shape[0] % num_support or fs.dim != sup.dim:
            raise InputError(f'{fs.features_path}: {fs.features.shape[0]} x '
                             f'{fs.dim} is not a whole number of copies of '
                             f'the {num_support} x {sup.dim} support set')
        have = fs.features.shape[0] // num_support
        if spec.aug_times - 1 > have:
            raise InputError(f'--aug_times {spec.aug_times} needs '
                             f'{spec.aug_times - 1} augmented copies; '
                             f'{fs.features_path} holds {have}')
        labels = np.tile(sup.labels, have)
        if not np.array_equal(fs.labels, labels):
            raise InputError(f'{fs.labels_path}: labels are not those of '
                             f'{have} copies of {sup.labels_path}')
        from .features import check_copies_of, check_same_kind
        check_same_kind(sup, fs, pipeline=False)  # own pipeline, same size
        check_copies_of(sup, fs)  # of the support set's own images
        return fs.features.reshape(have, num_support, fs.dim)[
            :spec.aug_times - 1]

    def gather(self, spec: RunSpec):
        """Every input of a run, loaded (or made) and checked:
        ``(support, query, store, dictionary or None, image-augmented
        support or None)``."""
        sup, qry = self.pools(spec)
        if spec.setting.domain == 'near':  # its meta's names, as recorded
            check_novel_pairing(
                paths.meta_path(self.workdir, spec.setting.support_set),
                spec.model, spec.novel_class,
                self._recorded_names(spec.setting.support_set) or [])
        store = self.store(spec)
        dic = self.dictionary(spec) if spec.latent else None
        return sup, qry, store, dic, self.support_aug(spec, len(sup.labels))

    def recorded_now(self, spec: RunSpec) -> Callable[[str, str], object]:
        """What :func:`evaluate` would record now of each input file of
        ``spec`` (:meth:`~.spec.RunSpec.inputs`; gathered first:
        :meth:`gather`), answered from what is loaded and checked here,
        as :func:`~.report.changed_inputs` takes it (its ``now``;
        :func:`~.report._now` reads the file): features ``(digest,
        extraction)`` (the digest :func:`~.features.load_features`
        computed to check it against its provenance, computed once where
        none records it), labels ``(digest, None)``, the task store (all
        its tasks), a latent mode's dictionary ``({part: digest}, None)``.
        A file that is no input of ``spec`` is ``('not an input of this
        setting', None)``, which no digest matches: a result recording it
        is not this setting's."""
        from .features import provenance_extraction

        def answer(inp: SettingInput):
            if inp.kind == 'tasks':
                return lambda: self._stores[self._store_key(inp.spec)]
            if inp.kind == 'dictionary':
                return lambda: self._digests_of(inp.spec)
            fs = self.features(inp.model, inp.features)
            if inp.kind == 'labels':
                return lambda: (fs.labels_sha1, None)
            return lambda: (fs.features_sha1,
                            provenance_extraction(fs.provenance))
        known = {(os.path.abspath(inp.path(self.workdir)), inp.kind):
                 answer(inp) for inp in spec.inputs()}

        def now(path: str, kind: str):
            get = known.get((os.path.abspath(path), kind))
            return get() if get else ('not an input of this setting', None)
        return now

    def _digests_of(self, dspec) -> tuple:
        """``({part: digest}, None)`` of a loaded dictionary, computed
        once (:meth:`recorded_now`)."""
        if dspec not in self._dict_digests:
            self._dict_digests[dspec] = (self._dicts[dspec].digests(), None)
        return self._dict_digests[dspec]

    def class_names(self, spec: RunSpec, store: TaskStore) -> List[str]:
        """Names of the store's classes: from the support set's meta JSON,
        else the datasets' table (``openselfsup.classes``)."""
        names = self._recorded_names(spec.setting.support_set) or \
            list(domain_classes(spec.task))
        return [names[c] if c < len(names) else str(c)
                for c in store.classes]

    def meta(self, name: str) -> Optional[Dict]:
        """The meta JSON of the feature set ``name`` as loaded (None: no
        file), read once per set: the file lists every image's path
        (100,000 at paper scale), and the image-overlap check of every
        model's pools (:meth:`pools`: one per novel class of a near sweep)
        and the class names (:meth:`gather`, :meth:`class_names`) each
        read it again."""
        from .features import load_meta
        if name not in self._metas:
            self._metas[name] = load_meta(self.workdir, name)
        return self._metas[name]

    def _recorded_names(self, name: str) -> Optional[List[str]]:
        """The class names the meta JSON of the feature set ``name``
        records (None: none)."""
        from .features import class_names
        return class_names(self.meta(name))


#: the version of the meta-test's results, written into every result
#: (``version``): a sweep reuses a result only of this version
#: (:func:`~.sweep.reusable_result`). Bump it with any change of the code
#: that changes the numbers of a result (tasks, classifiers, augmentation,
#: metrics) or what it records, so that a sweep computes such results
#: again instead of keeping the old numbers. 1: the first version recorded.
RESULT_VERSION = 1


def build_result(spec: RunSpec, f1: np.ndarray, names: List[str],
                 files: Dict, convergence: Dict, execution: Dict) -> Dict:
    """The result dict (module docstring schema)."""
    s = summarize(f1, mixture=spec.setting.domain == 'mixture')

    def num(x):
        if x is None:
            return None
        x = float(x)
        return None if math.isnan(x) else x
    out = spec.info()
    out.update({
        'classes': names, 'num_task': int(f1.shape[0]),
        'per_class_mean': [num(v) for v in s['per_class_mean']],
        'per_class_ci': [num(v) for v in s['per_class_ci']],
        'average_mean': num(s['average_mean']),
        'average_ci': num(s['average_ci']),
        **{k: num(s[k]) for k in ('colon_mean', 'lung_mean', 'colon_ci',
                                  'lung_ci', 'harmonic_mean',
                                  'harmonic_ci')},
        'per_task_f1': f1.tolist(), 'units': 'fraction',
        'convergence': {'max_iter': 0, 'line_search': 0, 'svd_fallback': 0,
                        **convergence},
        'files': files, 'execution': execution,
        'version': RESULT_VERSION})
    return out


def evaluate(inputs: Inputs, spec: RunSpec, device: str = 'cpu',
             chunk_size: Optional[int] = None, threads: Optional[int] = None,
             dtype: torch.dtype = torch.float64,
             progress: bool = False) -> Dict:
    """Run one setting and return its result dict (not written)."""
    sup, qry, store, dic, extra = inputs.gather(spec)
    augmenter = None if dic is None else make_augmenter(
        dic, spec.mode, spec.num_aug_shots, spec.seed)
    t0 = time.perf_counter()
    plan = {}
    f1, counts = meta_test(sup.features, qry.features, store, spec.clf,
                           spec.classifier_params, spec.mode, augmenter,
                           extra, device, chunk_size, threads, dtype,
                           progress, plan)
    elapsed = time.perf_counter() - t0
    recorded = {}
    for inp in spec.inputs():
        if inp.kind in ('features', 'labels'):
            recorded[inp.name] = inputs.features(
                inp.model, inp.features).identity()[inp.kind]
        else:
            recorded[inp.name] = (store if inp.kind == 'tasks'
                                  else dic).identity()
    files = {}
    for name in RESULT_INPUTS:  # each input, None where not read
        if name == 'task_store':  # where results have always had it
            files['normalised'] = sup.normalised
        files[name] = recorded.get(name)
    execution = {'device': str(device), **plan,
                 'dtype': str(dtype).replace('torch.', ''),
                 'elapsed_s': elapsed}
    return build_result(spec, f1, inputs.class_names(spec, store), files,
                        counts, execution)


def result_notes(result: Dict) -> List[str]:
    """Lines printed under a result's table: convergence and fall-backs."""
    c = result.get('convergence') or {}
    notes = []
    if c.get('max_iter') or c.get('line_search'):
        notes.append(f'note: logistic regression stopped on max_iter in '
                     f'{c.get("max_iter", 0)} task(s) and on a failed line '
                     f'search in {c.get("line_search", 0)} of '
                     f'{result["num_task"]}')
    if c.get('svd_fallback'):
        notes.append(f'note: Ridge solved {c["svd_fallback"]} task(s) by SVD '
                     '(normal equations not positive definite at working '
                     'precision), where scikit-learn falls back too (to '
                     'least squares in the dual, SVD in the primal)')
    return notes


def result_table(result: Dict) -> str:
    """The printed table of a result dict (percent), with its notes."""
    s = {k: result.get(k) for k in ('per_class_mean', 'per_class_ci',
                                    'average_mean', 'average_ci',
                                    'harmonic_mean', 'harmonic_ci')}
    return format_table(s, result.get('classes'), result_notes(result))


def sweep_ref(result_path: str, sweep_id: str, files: List[str]) -> Dict:
    """One entry of the ``sweeps`` field of a result JSON written at
    ``result_path`` by the sweep ``sweep_id`` whose index set is ``files``
    (index JSON first): the paths relative to the result's folder, so that
    a workdir moved or copied whole still points at its own index."""
    base = os.path.dirname(os.path.abspath(result_path))
    return {'id': sweep_id,
            'files': [os.path.relpath(os.path.abspath(f), base)
                      for f in files]}


def replaced_note(path: str, old: Optional[Dict], result: Dict
                  ) -> Optional[str]:
    """The line saying that ``result`` replaces at ``path`` a result
    ``old`` over another number of tasks, or computed in another
    precision (``--float32``): neither is in a result's file name, so a
    ``--num_task 5`` rerun replaced the 1000-task result without a word;
    None where ``old`` is no such result or the same in both."""
    if not isinstance(old, dict):
        return None
    differs = []
    if old.get('num_task') != result.get('num_task'):
        differs.append(f'over {old.get("num_task")} tasks (now '
                       f'{result.get("num_task")})')
    dtypes = [(r.get('execution') or {}).get('dtype')
              if isinstance(r.get('execution'), dict) else None
              for r in (old, result)]
    if None not in dtypes and dtypes[0] != dtypes[1]:
        differs.append(f'in {dtypes[0]} (now {dtypes[1]})')
    if not differs:
        return None
    return (f'note: replaced {path}, a result '
            f'{" and ".join(differs)} (a result\'s file name carries '
            'neither the task count nor the precision)')


def release_result(path: str, result: Dict,
                   log: Optional[Callable[[str], None]] = None,
                   warn: Optional[Callable[[str], None]] = None,
                   workdir: Optional[str] = None,
                   reports=None) -> List[Dict]:
    """Before ``result`` replaces the result JSON at ``path``: remove the
    index set of every sweep that lists the file there (its ``sweeps``
    field: module docstring), and, with ``workdir``, every report under
    its ``summary/`` whose JSON lists the file among those it read (a
    summary, a ``--compare``: :class:`~.report.SummaryReports`; they were
    left saying the old numbers), unless ``result`` is that same result
    (equal in everything but ``execution`` and the ``path`` of each of
    its ``files``, their digests kept: a rerun on the same inputs, in a
    workdir copied or moved too), so that
    no index or table lists numbers the results folder no longer holds.
    An index since removed, or rewritten by another sweep (another
    ``sweep_id``: it no longer lists this file), is passed over, as is a
    ref naming files other than an index JSON and files of its stem (its
    table, the ablation's plot). An index or report that cannot be
    removed (its folder not writable) is named in a warning to ``warn``;
    the new result is written all the same (its work is done). A result
    over another number of tasks or in another precision is named to
    ``warn`` too (:func:`replaced_note`). ``warn`` (default ``log``)
    receives these and the lines naming the files removed, each with the
    command that writes it again (a report's, from the ``summarize.py``
    settings its JSON records): warning-level facts that a quiet caller
    (``sweep.py --quiet``: no ``log``) still prints; a user's summary
    removed without a word was found gone later. ``reports``: the
    :class:`~.report.SummaryReports` of ``workdir`` to reuse (a sweep's,
    one for all its results). A report is looked for also where no file
    is at ``path`` now: one may have read a result the user deleted
    before running it again (it kept the deleted result's numbers).

    Returns:
        list[dict]: the ``sweeps`` entries of the indexes kept (they still
        list ``result``), for the new file to carry.
    """
    def content(r):  # as written, less how it was run and who lists it
        c = {k: v for k, v in json.loads(json_text(r, None)).items()
             if k not in ('execution', 'sweeps')}
        if isinstance(c.get('files'), dict):  # absolute: a copy's differ
            c['files'] = {k: {f: v for f, v in rec.items() if f != 'path'}
                          if isinstance(rec, dict) else rec
                          for k, rec in c['files'].items()}
        return c
    old = json_object_or_none(path)
    warn = warn or log
    note = replaced_note(path, old, result)
    if note and warn:
        warn(note)
    same = old is not None and content(old) == content(result)
    refs = old.get('sweeps') if old else None
    base = os.path.dirname(os.path.abspath(path))
    kept = []
    # (files, what listed the result, how to write them anew)
    stale = []
    for ref in refs if isinstance(refs, list) else ():
        if not (isinstance(ref, dict) and isinstance(ref.get('id'), str)
                and isinstance(ref.get('files'), list) and ref['files']
                and all(isinstance(f, str) for f in ref['files'])):
            continue
        files = [os.path.normpath(os.path.join(base, f))
                 for f in ref['files']]
        # an index set is the index JSON and files of its stem beside it
        # (table, plot): a ref naming anything else is not one of ours
        stem = os.path.splitext(files[0])[0]
        if not files[0].endswith('.json') or any(
                os.path.splitext(f)[0] != stem for f in files):
            continue
        index = json_object_or_none(files[0])
        if index is None or index.get('sweep_id') != ref.get('id'):
            continue
        if same:
            kept.append(ref)
            continue
        stale.append((files, 'the sweep index', 'rerun that sweep'))
    if workdir is not None and not same:
        from .report import SummaryReports, summarize_command
        if reports is None:
            reports = SummaryReports(workdir)
        # a report that records no command (written before written_by):
        # its workdir's, run from any folder, the flags to add said
        stale += [(files, 'the report', f'run {again} again' if again else
                   f'run {summarize_command(workdir)} (with the --compare, '
                   '--clf, --ablation and --output that wrote it) again')
                  for files, again in reports.listing(path)]
    for files, lister, again in stale:
        try:
            gone = remove_set(files)
        except OSError as exc:  # the result is written all the same
            if warn:
                warn(f'warning: could not remove {", ".join(files)} '
                     f'({exc.strerror or exc}): {lister} lists {path}, '
                     'which is being replaced by another result, and its '
                     'numbers; delete them')
            continue
        if gone and warn:
            warn(f'removed {", ".join(gone)}: {lister} listed {path}, '
                f'which is being replaced by another result ({again} to '
                'write them anew)')
    return kept


def run_meta_test(workdir: str, spec: RunSpec, device: str = 'cpu',
                  chunk_size: Optional[int] = None,
                  threads: Optional[int] = None,
                  dtype: torch.dtype = torch.float64,
                  output: Optional[str] = None,
                  progress: bool = True,
                  log: Optional[Callable[[str], None]] = print) -> Dict:
    """Meta-test one setting on its stored tasks; write the result JSON
    (a sweep index that listed another result in its place is removed
    first: :func:`release_result`).

    Args:
        workdir (str): the low-shot work directory.
        spec (RunSpec): the setting.
        device, chunk_size, threads, dtype: execution (results do not
            depend on chunk size or threads).
        output (str, optional): JSON path (default ``spec.result_path``).
        progress (bool): progress bar over chunks.
        log (callable, optional): receives the line naming a removed
            sweep index (None: quiet).

    Returns:
        dict: the result (also written), with ``output`` added.
    """
    from ..utils import check_replaceable, check_writable
    from .report import REQUIRED_KEYS
    out = output or spec.result_path(workdir)
    check_writable(out)
    check_replaceable(out, REQUIRED_KEYS, 'a meta-test result',
                      given=bool(output))
    check_execution(device, chunk_size, threads)
    result = evaluate(Inputs(workdir), spec, device, chunk_size, threads,
                      dtype, progress)
    kept = release_result(out, result, log, workdir=workdir)
    if kept:  # the same result: the indexes that list it still hold
        result['sweeps'] = kept
    save_json(out, result)
    result['output'] = out
    return result
