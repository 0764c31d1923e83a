"""The kNN evaluation hook: patch / slide / patient kNN during training.

The evaluation itself (faiss search, aggregation, metrics, the bank and
query datasets) is :mod:`openselfsup.evaluation.knn`; a checkpoint is
evaluated by :func:`openselfsup.apis.knn.knn_eval_checkpoint`.
"""
import logging
from typing import List, Optional, Tuple

from mmengine.hooks import Hook

from ..config import (hook_class, hook_entries, knn_hook_keys,
                      knn_is_not_for, knn_model_refusal, run_scope)
from ..evaluation.knn import (LEVEL_KEYS, NOT_LOOKED_FOR,
                              check_knn_settings, evaluate_knn_data,
                              format_table, knn_title, prepare_knn_data)
from ..registry import HOOKS, MODELS
from ..utils import InputError


def trained_patient_names(dataset) -> Optional[List[str]]:
    """The patients a built training dataset trains on, each once, in
    order: its ``patient_names()`` (a ``HierarchicalPatientDataset``'s),
    through MMEngine's dataset wrappers (a ``RepeatDataset`` or
    ``ClassBalancedDataset`` of it, every part of a ``ConcatDataset``:
    :data:`~openselfsup.config.DATASET_WRAPPERS`, the attribute of the
    wrapped dataset named as its config key). Where a part beside patient
    datasets names none (another dataset type), one warning line names it
    and the result is None (could not be read: the check is not made, and
    the kNN results say so): the patients of some parts only would read as
    a complete count. A training set of other datasets only (an
    ``ImageList``) trains on no patients: an empty list, without a word."""
    from mmengine.logging import print_log

    from ..config import DATASET_WRAPPERS
    parts, leaves, patients = [dataset], [], {}
    while parts:
        part = parts.pop(0)
        inner = DATASET_WRAPPERS.get(type(part).__name__)
        wrapped = getattr(part, inner, None) if inner else None
        if wrapped is not None:
            parts[:0] = list(wrapped) if inner == 'datasets' else [wrapped]
        else:
            leaves.append(part)
    named = [callable(getattr(p, 'patient_names', None)) for p in leaves]
    if not any(named):
        return []  # a run on other data only: it trains on no patients
    for part, has_names in zip(leaves, named):
        names = getattr(part, 'patient_names', None)
        if not has_names:
            print_log(f'the training dataset {type(part).__name__} names no '
                      f'patients; {NOT_LOOKED_FOR}', logger='current',
                      level=logging.WARNING)
            return None
        patients.update(dict.fromkeys(names()))
    return list(patients)


def not_knn_class(kind) -> Optional[Tuple[str, List[str], Optional[str]]]:
    """For a ``model.type`` (a name or a class) the registry resolves to a
    class that is not :class:`~openselfsup.models.algorithms.hlss.HLSS` or
    a subclass: its name, its bases' names (torch's left out) and the
    first of them this project knows as another algorithm
    (:func:`~openselfsup.config.knn_is_not_for`; None where none is);
    None for an HLSS class or a type not resolved to a class (left to the
    build). The one ancestry rule of ``knn_eval.py``'s config and of a
    checkpoint's recorded type (:mod:`openselfsup.apis.knn`) and of the
    model a run with a :class:`KNNEvalHook` trains. A base's name that
    another class of the line bears too is given with its package
    (``openselfsup's MoCoV3, mmpretrain's MoCoV3``: review r108, the line
    read ``MoCoV3, MoCoV3``)."""
    import inspect

    from ..models.algorithms.hlss import HLSS
    cls = kind if inspect.isclass(kind) else (
        MODELS.get(kind) if isinstance(kind, str) else None)
    if not inspect.isclass(cls) or issubclass(cls, HLSS):
        return None
    mro = [c for c in cls.__mro__[1:]
           if c.__module__.split('.', 1)[0] not in ('torch', 'builtins')]
    names = [c.__name__ for c in (cls, *mro)]
    known = next((b for b in names if knn_is_not_for(b)), None)
    # a name two classes bear (openselfsup's MoCoV3 over mmpretrain's)
    # is given with its package, so that each class is named once
    bases = [f"{c.__module__.split('.', 1)[0]}'s {c.__name__}"
             if names.count(c.__name__) > 1 else c.__name__ for c in mro]
    return cls.__name__, bases, known


def knn_hook_keys_by_class(cfg, cls=None) -> List[str]:
    """The keys of the hooks of a config (:func:`~openselfsup.config.
    hook_entries`) whose type resolves to ``cls`` in the run's scope, as
    MMEngine's hook registry resolves it there (:func:`~openselfsup.
    config.hook_class`; a user's hook named ``KNNEvalHook`` in
    mmpretrain's scope is theirs, review r140) (a hook's own class; None:
    :class:`KNNEvalHook` or any subclass of it),
    in order; where none does, those named ``KNNEvalHook``
    (:func:`~openselfsup.config.knn_hook_keys`). A user's subclass of
    ``KNNEvalHook`` under its own name (``default_hooks.knn``) was not
    found by its name, and the line said to remove it from custom_hooks
    (review r113)."""
    import inspect
    found = []
    for key, hook in hook_entries(cfg):
        kind = hook.get('type')
        kind = hook_class(kind, run_scope(cfg))
        if inspect.isclass(kind) and (
                kind is cls if cls is not None else
                issubclass(kind, KNNEvalHook)):
            found.append(key)
    return found or knn_hook_keys(cfg)


def check_knn_hook_model(cfg, config: str, model=None, hook=None) -> None:
    """Refuse a ``KNNEvalHook`` (or a subclass of it:
    :func:`knn_hook_keys_by_class`) on a model whose class is no HLSS, by
    :func:`not_knn_class`'s rule, in the hook's words
    (:func:`~openselfsup.config.knn_model_refusal`): the one check of the
    config (the launchers' ``--check-config`` and the run's, before any
    process starts: ``apis.train.check_config_values``, where the type
    names do not tell, :func:`~openselfsup.config.knn_hook_model_unjudged`;
    review r113, a user's subclass of MoCoV3 passed it) and of the run's
    model (:meth:`KNNEvalHook.before_run`). Imports the model stack.

    Args:
        cfg (Config | None): the config (None: a run without one).
        config (str): its file, as the line names it.
        model (type, optional): the run's model class; None: the config's
            ``model.type`` as the model registry resolves it.
        hook (type, optional): the running hook's class, refused where
            the config names it nowhere too (as ``custom_hooks``); None:
            any ``KNNEvalHook`` of the config, none there, nothing refused.
    """
    if model is None:
        model = cfg.get('model')
        model = model.get('type') if isinstance(model, dict) else None
    found = not_knn_class(model)
    if found is None:
        return
    keys = knn_hook_keys_by_class(cfg, hook) if cfg is not None else []
    if not keys and hook is None:
        return
    name, bases, known = found
    raise InputError(knn_model_refusal(
        config, name, keys[0] if keys else 'custom_hooks', bases, known,
        cfg=cfg, hook_class=(hook or KNNEvalHook).__name__))


def _unwrapped(model):
    """The model inside a model wrapper (DDP's ``module``), else itself."""
    from mmengine.model import is_model_wrapper
    return model.module if is_model_wrapper(model) else model


@HOOKS.register_module()
class KNNEvalHook(Hook):
    """Run the patch/slide/patient kNN evaluation during training.

    Scalars ``knn/<level>_acc`` and ``knn/<level>_mca`` go to the message
    hub (log and visualisation backends). Runs on rank 0; other ranks wait.
    The bank and query datasets are built and checked before the first
    training iteration (:func:`~openselfsup.evaluation.knn.prepare_knn_data`:
    its warnings about query patients in the bank, query patch files in the
    bank and query patients the run trains on, from the runner's training
    dataset, are said then), so a bad kNN split or metadata stops the run
    at its start, not after ``interval`` iterations; every evaluation
    reuses them and only extracts features with the current weights.

    Args:
        bank (dict): training-patch ``HierarchicalPatchDataset`` config.
        query (dict): validation-patch ``HierarchicalPatchDataset`` config.
        interval (int): evaluate every ``interval`` training iterations (and
            after the last one). Defaults to 1000.
        k (int): neighbours. Defaults to 200.
        temperature (float): neighbour weight temperature. Defaults to 0.07.
        aggregation (str): slide / patient rule, ``'l1_softmax'``
            (published, default) or ``'sum'``.
        batch_size (int): extraction batch size. Defaults to 64.
        num_workers (int): extraction workers. Defaults to 0.
    """

    priority = 'LOW'

    #: the bank and query data sets are built through the project's data
    #: set registry (``evaluation.knn``), in the run's default scope
    #: (``config.REGISTRY_BUILT``: what the scope check follows)
    REGISTRY_BUILT = {'bank': 'openselfsup', 'query': 'openselfsup'}

    def __init__(self, bank: dict, query: dict, interval: int = 1000,
                 k: int = 200, temperature: float = 0.07,
                 aggregation: str = 'l1_softmax', batch_size: int = 64,
                 num_workers: int = 0):
        check_knn_settings(k, temperature, aggregation)  # not at step 5000
        self.data = dict(bank=bank, query=query, batch_size=batch_size,
                         num_workers=num_workers)
        self.knn = dict(k=k, temperature=temperature,
                        aggregation=aggregation)
        self.interval = interval
        self._last = -1
        self._prepared = None  # KNNData, before training (_prepare)

    def _evaluate(self, runner, step: int) -> None:
        """Evaluate once per ``step`` (number of iterations trained)."""
        from mmengine.dist import barrier, is_main_process
        if step == self._last:
            return
        self._last = step
        if is_main_process():
            model = _unwrapped(runner.model)
            self._prepare(runner)  # built already where before_train ran
            res = evaluate_knn_data(model, self._prepared, **self.knn)
            for level, _ in LEVEL_KEYS:
                for m in ('acc', 'mca'):
                    runner.message_hub.update_scalar(f'knn/{level}_{m}',
                                                     res[level][m])
            runner.visualizer.add_scalars(
                {f'knn/{lv}_{m}': res[lv][m] for lv, _ in LEVEL_KEYS
                 for m in ('acc', 'mca')}, step=step)
            runner.logger.info('%s after %d iterations\n%s', knn_title(res),
                               step, format_table(res))
        barrier()

    def _prepare(self, runner=None) -> None:
        """Build and check the bank and query datasets, once (rank 0),
        with the patients the run trains on (the training dataset's, when
        it names them, through MMEngine's dataset wrappers:
        :func:`trained_patient_names`; query patients among them are
        warned about and counted in the results; where they cannot be
        read, the results say the check was not made)."""
        if self._prepared is None:
            loader = getattr(runner, 'train_dataloader', None)
            dataset = getattr(loader, 'dataset', None)
            trained = None if dataset is None else trained_patient_names(
                dataset)
            self._prepared = prepare_knn_data(
                **self.data, trained_patients=trained)

    def before_run(self, runner) -> None:
        """Refuse a run whose model kNN evaluation is not for, judged by
        its class's ancestry (:func:`not_knn_class`; the model inside a
        DDP wrapper), before any training step, on every process: the
        config's check (:func:`~openselfsup.config.check_knn_hooks`)
        knows type names only, and a user's subclass of MoCoV3 registered
        under its own name trained and logged kNN accuracies of
        near-constant features (review r105). The config's check by
        ancestry, :func:`check_knn_hook_model`, on the run's model and
        this hook's class: its line (:func:`~openselfsup.config.
        knn_model_refusal`), naming the hook's
        key in the run's config (the first of this hook's class there, by
        the hook registry: :func:`knn_hook_keys_by_class`) and its type as
        the config gives it (a user's subclass under its own name).

        Raises:
            InputError: ``<config>: custom_hooks.0 (<its type>) on
                model.type 'MyMoCoV3' (MoCo-v3 contrastive pre-training,
                a subclass of MoCoV3, ...): kNN evaluation is for ...``.
        """
        cfg = getattr(runner, 'cfg', None)
        check_knn_hook_model(cfg, getattr(cfg, 'filename', None) or
                             'the config', type(_unwrapped(runner.model)),
                             type(self))

    def before_train(self, runner) -> None:
        from mmengine.dist import is_main_process
        if is_main_process():
            self._prepare(runner)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if self.every_n_train_iters(runner, self.interval):
            self._evaluate(runner, runner.iter + 1)

    def after_train(self, runner) -> None:
        self._evaluate(runner, runner.iter)
