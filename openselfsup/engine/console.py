"""The epoch line of a run built with a short console
(:func:`openselfsup.utils.console.short_console`)."""
import time

from mmengine.hooks import Hook

from ..utils.console import shown


class EpochLineHook(Hook):
    """One line after each training epoch, shown on a short console: the
    run, the epoch of how many, the mean loss of the epoch's iterations
    and the time since training started. It only logs: it draws nothing
    and changes nothing of the run.

    Args:
        label (str): the run, as the line names it (``lambda 0.3``).
    """

    priority = 'LOWEST'

    def __init__(self, label: str):
        self.label = label
        self._start = time.monotonic()

    def before_train(self, runner) -> None:
        self._start = time.monotonic()

    def after_train_epoch(self, runner) -> None:
        loop = runner.train_loop
        n = len(loop.dataloader)
        loss = runner.message_hub.log_scalars.get('train/loss')
        mean = f', loss {loss.mean(n):.4f} (mean of the epoch)' \
            if loss is not None and n else ''
        with shown():
            runner.logger.info(
                f'  {self.label}: epoch {runner.epoch + 1} of '
                f'{loop.max_epochs}{mean}, '
                f'{time.monotonic() - self._start:.0f} s')
