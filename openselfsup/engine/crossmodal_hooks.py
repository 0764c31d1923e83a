"""Hooks of balanced cross-modal tuning.

* :class:`NegativeTextPoolHook` hands the training set's texts and labels to
  the model before training, so triplet negatives are drawn from the whole
  training set (not only from the batch).
* :class:`PatienceEarlyStoppingHook` is the published early stopping: watch
  a validation metric, stop after ``patience`` evaluations without an
  improvement, never before ``min_epoch``.
"""
import copy
import math
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..config import check_early_stopping_args
from ..registry import HOOKS
from ..utils import InputError
from ..utils.console import shown
from ..utils.errors import cleaned_up


@HOOKS.register_module()
class NegativeTextPoolHook(Hook):
    """Give the model every training text with its sample and label.

    Before training, reads ``captions`` and ``target`` of each sample of
    ``runner.train_dataloader.dataset`` (annotations only, no image or
    feature file is loaded) and calls ``model.set_negative_pool(texts,
    labels)``. Does nothing for a model without that method.
    """

    priority = 'NORMAL'

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) \
            else runner.model
        if not hasattr(model, 'set_negative_pool'):
            return
        dataset = runner.train_dataloader.dataset
        texts, labels = [], []
        for i in range(len(dataset)):
            info = dataset.get_data_info(i)
            texts.append(list(info['captions']))
            labels.append(info['target'])
        model.set_negative_pool(texts, labels)
        runner.logger.info(f'negative pool: {len(model.negative_pool)} texts '
                           f'of {len(texts)} training samples '
                           f'({model.negatives})')


@HOOKS.register_module()
class PatienceEarlyStoppingHook(Hook):
    """Early stopping on a validation metric, as in the published code.

    After each validation that follows a training epoch (the evaluation
    before training is ignored): a score at least as good as the best so far
    (ties included) resets the counter, otherwise the counter grows; training
    stops when the counter reaches ``patience`` and more than ``min_epoch``
    epochs are done. An epoch evaluated again (the lambda sweep's
    evaluation of each run after training) is not counted again.

    A ``nan`` score (a model that diverged, a kappa of one grade) is
    neither an improvement nor a miss: the best and the counter stay, with
    a warning line, as in the published code, where both of its
    comparisons with nan are false. (Before, nan was the worst score: a
    miss after a number, but tying a nan best, so a metric nan from the
    start "improved" at every evaluation, the log naming the last nan
    epoch as the best. The published code, given nan first, kept it as its
    best and never compared again; here the first number is the best.) A
    monitored metric nan at every evaluation whatever the model, a recall
    at a ``k`` beyond the evaluation set's gallery (``beyond_gallery`` of
    :class:`~openselfsup.evaluation.crossmodal_metrics.CrossModalMetric`),
    would never be compared: enabled, the hook refuses it before training
    starts. So it does (enabled or not) a monitor the evaluation does not
    compute, where every metric names its results (``names``: ``task_loss``
    of a grade head of more than one output), which was refused only by
    the first evaluation after training.

    Args:
        monitor (str): the metric (a key of the validation results, e.g.
            ``'task_loss'``, ``'mAP'``).
        rule (str): ``'less'`` (lower is better) or ``'greater'``.
        patience (int): evaluations without improvement before stopping.
        min_epoch (int): no stop while ``epoch <= min_epoch``.
        enable (bool): False tracks and logs the counter but never stops
            (the published ``early_stopping.enable: False``).
    """

    priority = 'LOWEST'

    def __init__(self, monitor: str, rule: str = 'less', patience: int = 10,
                 min_epoch: int = 0, enable: bool = True):
        # the config checks run the same check before the runner is built
        check_early_stopping_args(rule=rule, patience=patience)
        self.monitor = monitor
        self.rule = rule
        self.patience = int(patience)
        self.min_epoch = int(min_epoch)
        self.enable = bool(enable)
        self.best: Optional[float] = None
        self.best_epoch = 0
        self.counter = 0
        self.stopped_epoch: Optional[int] = None
        self.last_epoch: Optional[int] = None   # the last epoch recorded

    def step(self, epoch: int, value: float) -> bool:
        """Record the metric of ``epoch``; True when training should stop.
        A nan ``value`` changes nothing (False)."""
        score = -float(value) if self.rule == 'less' else float(value)
        if math.isnan(score):
            return False
        if self.best is None or score >= self.best:
            self.best, self.best_epoch, self.counter = score, epoch, 0
            return False
        self.counter += 1
        return (self.enable and self.counter >= self.patience and
                epoch > self.min_epoch)

    def before_train(self, runner) -> None:
        """Refuse, before anything trains, a monitored metric that the
        evaluation does not compute (``task_loss`` of a grade head of more
        than one output: refused once the first epoch had trained), where
        its names are known (every metric's ``names``, of its head's
        ``num_outputs``), and (enabled) one that the evaluation set leaves
        nan at every evaluation: a recall at a ``k`` beyond its gallery
        (the metric's ``beyond_gallery``)."""
        loop = runner.val_loop
        if loop is None:
            return
        metrics = list(getattr(loop.evaluator, 'metrics', ()))
        self.check_monitor(metrics, _num_outputs(runner))
        if not self.enable:
            self._validate_resumed_epoch(runner)
            return
        dataset = loop.dataloader.dataset
        for metric in metrics:
            if not hasattr(metric, 'beyond_gallery'):
                continue
            images = len(dataset)
            # image to text over all captions ranks every text
            i2t = self.monitor.startswith('allcap_i2t')
            texts = sum(len(dataset.get_data_info(i)['captions'])
                        for i in range(images)) if i2t else images
            if self.monitor in metric.beyond_gallery(images, texts):
                size = f'{texts} texts' if i2t else f'{images} images'
                raise InputError(
                    f'early stopping: its metric {self.monitor!r} is nan at '
                    f'every evaluation, whatever the model: the evaluation '
                    f'set has {size}, fewer than its k, so it would never '
                    'be compared; monitor another metric, evaluate on more '
                    "images or set the evaluator's ks")
        self._validate_resumed_epoch(runner)

    def check_monitor(self, metrics: list,
                      num_outputs: Optional[int]) -> None:
        """Refuse a monitor that is not among the results of ``metrics``
        (the evaluator's) for a head of ``num_outputs``, where every metric
        declares them (``names``); nothing where they cannot be known
        before an evaluation. ``before_train`` checks with the runner's;
        a lambda sweep before its work dir is made.

        Raises:
            InputError: the monitor and the results there are.
        """
        names = _metric_names(metrics, num_outputs)
        if names is not None and self.monitor not in names:
            raise self._missing(names)

    def _missing(self, names) -> InputError:
        return InputError(f'early stopping: metric {self.monitor!r} is not '
                          f'in the validation results ({", ".join(names)})')

    #: the state a checkpoint holds (under ``early_stopping``, by monitor)
    _STATE = ('best', 'best_epoch', 'counter', 'last_epoch',
              'stopped_epoch')

    def before_val_epoch(self, runner) -> None:
        self._validating = runner.epoch

    def after_val(self, runner) -> None:
        self._validating = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """The best score and the count go with the checkpoint: a resumed
        run counts on from them (before, from nothing: it could train
        longer than the uninterrupted run). And whether it is written
        during the validation of its epoch, before this hook counts it
        (``LOWEST``): the checkpoint MMEngine's ``CheckpointHook`` saves
        again after a new best (``save_best``), whose random streams are
        those after that validation."""
        state = {k: getattr(self, k) for k in self._STATE}
        state['validated'] = bool(runner.epoch) and \
            getattr(self, '_validating', None) == runner.epoch
        checkpoint.setdefault('early_stopping', {})[self.monitor] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Take up the state of a checkpoint resumed from (not of one
        loaded as ``load_from``: a new run counts from its start)."""
        state = (checkpoint.get('early_stopping') or {}).get(self.monitor)
        if getattr(runner, '_resume', False) and isinstance(state, dict):
            for k in self._STATE:
                setattr(self, k, state.get(k, getattr(self, k)))
            self._resumed = True
            self._resumed_validated = bool(state.get('validated'))

    def _validate_resumed_epoch(self, runner) -> None:
        """On a resume, the validation of the checkpoint's epoch, which the
        uninterrupted run made after writing it (the checkpoint holds the
        count before it): made first, so the count goes on as that run's
        (and the random streams, whose draw for its DataLoader it makes,
        as they were); before, that epoch was never counted. A checkpoint
        written after that validation (saved again after a new best) holds
        the streams after it: they are kept as they were (before, the
        validation drew from them again, and the run trained otherwise
        than the uninterrupted one); so are the schedules that validation
        steps (``ReduceOnPlateauLR``, which the checkpoint holds stepped:
        before, stepped twice, it halved the learning rate)."""
        from .runner import validates_after
        if not getattr(self, '_resumed', False):
            return
        self._resumed = False
        loop = runner.train_loop
        after = getattr(self, '_resumed_validated', False)
        if self.last_epoch == loop.epoch or \
                not (after or validates_after(loop, runner)):
            return
        runner.logger.info(
            f'early stopping: --resume validates epoch {loop.epoch} first, '
            'as the uninterrupted run did ' + (
                'before writing its checkpoint (its count was not in it)'
                if after else 'after writing its checkpoint'))
        if after:
            validate_leaving_training(runner)
        else:
            runner.val_loop.run()

    def after_val_epoch(self, runner, metrics=None) -> None:
        epoch = runner.epoch
        if epoch == 0:
            return          # the evaluation of the model before tuning
        if epoch == self.last_epoch:
            # the same model evaluated again (the lambda sweep's
            # runner.val() after training): not one more evaluation
            # without improvement (it was counted as one, and the log
            # named a stop of a run that had trained to its end)
            return
        metrics = metrics or {}
        if self.monitor not in metrics:
            raise self._missing(metrics)
        value = metrics[self.monitor]
        if math.isnan(float(value)):
            runner.logger.warning(
                f'early stopping: {self.monitor} is nan after epoch {epoch} '
                '(a model that diverged?): not compared, the counter stays '
                f'at {self.counter}' + (
                    f' (best at epoch {self.best_epoch})'
                    if self.best is not None else ' (no best yet)'))
        self.last_epoch = epoch
        if self.step(epoch, value):
            self.stopped_epoch = epoch
            runner.train_loop.stop_training = True
            # shown on a sweep's short console too: its epoch lines end
            # there, and before, nothing there said why
            with shown():
                runner.logger.info(
                    f'early stopping after epoch {epoch}: {self.monitor} has '
                    f'not improved for {self.counter} evaluations (best at '
                    f'epoch {self.best_epoch})')


def validate_leaving_training(runner) -> None:
    """Run the validation loop and leave what training goes on with as it
    was: this process's random streams (:func:`~openselfsup.engine.runner.
    random_streams`: torch's, numpy's and Python's global generators and
    the model's own; the validation DataLoader's iterator draws its base
    seed from torch's) and what the validation's hooks step
    (:func:`_kept_schedules`). Training then draws the same dropout masks,
    captions and negatives as without this validation.

    A DataLoader of persistent workers (``persistent_workers=True``,
    ``num_workers`` > 0) keeps the iterator this validation made, with
    its workers: the next validation would reuse it and draw nothing,
    where without this one it makes it and draws its base seed (before,
    training differed from the epoch after it on). It is shut down, so
    the next validation makes it as without this one; also where the
    validation raised (before, its workers ran on until the runner was
    collected), an error of that shut-down then dropped: the
    validation's is the one raised."""
    from .runner import (continue_random_streams, random_streams,
                         shut_down_workers)
    # this process's own streams, restored in this process: one process's
    # (world size 1) whatever the run's world size
    streams = random_streams(1, runner.model)
    schedules = _kept_schedules(runner)
    loader = getattr(runner.val_loop, 'dataloader', None)
    kept = getattr(loader, '_iterator', None)

    def shut_down_made() -> None:
        if getattr(loader, '_iterator', None) is not kept:
            # torch's DataLoader keeps it only with persistent workers
            shut_down_workers(loader)
    with cleaned_up(shut_down_made):
        runner.val_loop.run()
    continue_random_streams(streams, 1, runner.model)
    schedules()


def _kept_schedules(runner):
    """What a validation's hooks step, kept: the param schedulers' states
    (MMEngine's ``ParamSchedulerHook`` steps ``ReduceOnPlateau*`` after
    each validation) and the settings of each optimizer's parameter
    groups (the learning rate it sets). Returns the call that sets them
    back."""
    schedulers = getattr(runner, 'param_schedulers', None) or []
    if isinstance(schedulers, dict):
        schedulers = [s for group in schedulers.values() for s in group]
    states = [copy.deepcopy(s.state_dict()) for s in schedulers]
    optimizers = runner._optimizers() if hasattr(runner, '_optimizers') \
        else []
    groups = [[{k: copy.deepcopy(v) for k, v in g.items() if k != 'params'}
               for g in opt.param_groups] for opt in optimizers]

    def restore() -> None:
        for scheduler, state in zip(schedulers, states):
            scheduler.load_state_dict(state)
        for opt, kept in zip(optimizers, groups):
            for group, settings in zip(opt.param_groups, kept):
                group.update(settings)
    return restore


def _num_outputs(runner) -> Optional[int]:
    """The task head's output count of the runner's model (unwrapped from
    its distributed wrapper), None where it has none."""
    model = getattr(runner, 'model', None)
    if is_model_wrapper(model):
        model = model.module
    out = getattr(getattr(model, 'head', None), 'num_outputs', None)
    return int(out) if out is not None else None


def _metric_names(metrics: list, num_outputs: Optional[int]
                  ) -> Optional[list]:
    """The validation results' keys, prefixed as MMEngine does, where every
    metric declares them: a ``names`` of the class whose
    ``compute_metrics`` it is (a subclass adding scores does not), for a
    known ``num_outputs``; None where they cannot be known before an
    evaluation."""
    if num_outputs is None or not metrics:
        return None

    def owner(cls, attr):
        return next((c for c in cls.__mro__ if attr in vars(c)), None)
    out = []
    for metric in metrics:
        cls = type(metric)
        if owner(cls, 'names') is None or \
                owner(cls, 'names') is not owner(cls, 'compute_metrics'):
            return None
        out += result_names(metric, num_outputs)
    return out


def evaluator_metrics(evaluator, what: str = 'val_evaluator',
                      why: str = 'the run is evaluated by it',
                      instead: str = '') -> list:
    """The metrics a ``val_evaluator`` / ``test_evaluator`` setting
    (``what``) builds, each form MMEngine's ``Runner.build_evaluator``
    takes: one metric's dict, a list of them, or a dict whose ``metrics``
    is one or a list (built metrics are taken as they are).

    Args:
        why (str): why the loop is needed, in words, for the line
            refusing a None evaluator (the lambda sweep chooses lambda by
            its metrics).
        instead (str): another way on for that line (``', or leave out
            --test'``), or ''.

    Raises:
        InputError: ``None`` (no loop of ``what``'s: MMEngine's Runner
            builds none where its three sections are None, and its
            ``val()`` / ``test()`` then raise), naming the sections to set
            and why they are needed (it said "None is not a metric's
            dict").
        InputError: an entry that is neither a metric's dict nor a metric
            (``--cfg-options "val_evaluator=[dict(type=...)]"`` gives a
            string, which was a ValueError traceback), naming it.
    """
    from mmengine.evaluator import BaseMetric

    from ..registry import METRICS
    if evaluator is None:
        loop = what.partition('_')[0]
        word = {'val': 'validation', 'test': 'test'}.get(loop, loop)
        raise InputError(
            f'{what} is None: no {word} loop, and {why}; set '
            f"{loop}_dataloader, {loop}_cfg and {what} (MMEngine's Runner "
            "builds the loop from all three; the evaluator a metric's "
            f'dict, dict(type=...)){instead}')
    if isinstance(evaluator, dict) and 'metrics' in evaluator:
        evaluator = evaluator['metrics']
    items = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
    for m in items:
        if not isinstance(m, (dict, BaseMetric)):
            raise InputError(
                f'{what}: {m!r} is not a metric\'s dict (dict(type=...)); '
                'a list of metrics is set in the config file (--cfg-options '
                'reads dict(...) in a list as a string)')
    return [m if isinstance(m, BaseMetric) else METRICS.build(dict(m))
            for m in items]


def evaluator_result_names(what: str, metrics: list,
                           num_outputs: int) -> list:
    """The keys of the results of all ``metrics`` (:func:`result_names`
    of each, in their order), as MMEngine's ``Evaluator`` merges them.

    Raises:
        InputError: a metric that does not declare its results' keys
            (:func:`_metric_names`: no ``names``, or a subclass adding
            results; it was an AttributeError traceback), or two metrics
            that report one key (MMEngine's evaluator refuses them with a
            ValueError at the first evaluation), naming ``what``
            (``val_evaluator``) and the metric or the key.
    """
    names, seen = [], set()
    for metric in metrics:
        found = _metric_names([metric], num_outputs)
        if found is None:
            raise InputError(
                f'{what}: {type(metric).__name__} does not declare the names '
                'of its results (a names(num_outputs) method of the class '
                'that computes them), which the sweep checks its metrics '
                'against before anything trains; use CrossModalMetric')
        for name in found:  # its result_names
            if name in seen:
                raise InputError(
                    f'{what}: two metrics report {name!r} (MMEngine refuses '
                    'results of one name at the first evaluation); give one '
                    "a prefix ('prefix': 'b' reports b/<name>)")
            seen.add(name)
            names.append(name)
    return names


def result_names(metric, num_outputs: int) -> list:
    """The keys of ``metric``'s results as MMEngine's ``evaluate`` returns
    them: its ``names`` for a head of ``num_outputs`` outputs, each behind
    its ``prefix`` where it has one (``val/kappa``). What an early
    stopping's monitor and a lambda sweep's metrics are checked against."""
    prefix = getattr(metric, 'prefix', None)
    return [f'{prefix}/{n}' if prefix else n
            for n in metric.names(num_outputs)]
