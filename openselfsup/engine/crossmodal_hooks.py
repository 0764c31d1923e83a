"""Hooks of balanced cross-modal tuning.

* :class:`NegativeTextPoolHook` hands the training set's texts and labels to
  the model before training, so triplet negatives are drawn from the whole
  training set (not only from the batch).
* :class:`PatienceEarlyStoppingHook` is the published early stopping: watch
  a validation metric, stop after ``patience`` evaluations without an
  improvement, never before ``min_epoch``.
"""
import math
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ..registry import HOOKS
from ..utils import InputError


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
    epochs are done.

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
        if rule not in ('less', 'greater'):
            raise InputError(f"early stopping rule must be 'less' or "
                             f"'greater', got {rule!r}")
        if int(patience) < 1:
            raise InputError(f'early stopping patience must be >= 1, got '
                             f'{patience}')
        self.monitor = monitor
        self.rule = rule
        self.patience = int(patience)
        self.min_epoch = int(min_epoch)
        self.enable = bool(enable)
        self.best: Optional[float] = None
        self.best_epoch = 0
        self.counter = 0
        self.stopped_epoch: Optional[int] = None

    def step(self, epoch: int, value: float) -> bool:
        """Record the metric of ``epoch``; True when training should stop."""
        score = -float(value) if self.rule == 'less' else float(value)
        if math.isnan(score):
            score = -math.inf
        if self.best is None or score >= self.best:
            self.best, self.best_epoch, self.counter = score, epoch, 0
            return False
        self.counter += 1
        return (self.enable and self.counter >= self.patience and
                epoch > self.min_epoch)

    def after_val_epoch(self, runner, metrics=None) -> None:
        epoch = runner.epoch
        if epoch == 0:
            return          # the evaluation of the model before tuning
        metrics = metrics or {}
        if self.monitor not in metrics:
            raise InputError(f'early stopping: metric {self.monitor!r} is not '
                             f'in the validation results '
                             f'({", ".join(metrics)})')
        if self.step(epoch, metrics[self.monitor]):
            self.stopped_epoch = epoch
            runner.train_loop.stop_training = True
            runner.logger.info(
                f'early stopping after epoch {epoch}: {self.monitor} has not '
                f'improved for {self.counter} evaluations (best at epoch '
                f'{self.best_epoch})')
