"""What a run says on the console beside MMEngine's log: the epoch line
of a run built with a short console
(:func:`openselfsup.utils.console.short_console`), and the run's own
warnings said where they are seen (:class:`RunWarningsHook`)."""
import sys
import time
from typing import List, Sequence

from mmengine.hooks import Hook

from ..utils.console import shown
from ..utils.errors import say


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


class RunWarningsHook(Hook):
    """The run's own warnings (lines ``warning: ...``: an earlier run's
    checkpoints written over, a schedule that does not span the run...)
    said on ``stream`` once the first training step of this process has
    run, before that iteration's hooks (the logger's line of it, which
    runs after this ``HIGHEST`` one), each in one write: every check
    that can refuse the run has passed by then (the config's, the
    runner's build, the training set's, the optimizer's and schedule's
    builds, ``before_run``'s, the resume's or ``load_from``'s,
    ``before_train``'s, the first batch's images, the first step), so a
    refused run says its one line alone, where the warnings said before
    MMEngine's log came first. What can stop the run after them stops a
    run that has begun, whose warnings concern it: the first
    iteration's other hooks (a checkpoint saved each iteration on a full
    disk), a later batch's image, an evaluation, an interruption; their
    line comes after the warnings. MMEngine's log of some 300 lines (the
    environment, the config, the hooks) comes before them, not after,
    where they were seen by nobody. :meth:`closing_lines` repeats them
    after the run's last line. The run's log file holds them (written
    there when the runner was built); the console's log does not repeat
    them.

    Args:
        lines (Sequence[str]): the warnings, each ``warning: ...``.
        stream (file): where they are said (``tools/train.py``: stderr).
    """

    priority = 'HIGHEST'

    def __init__(self, lines: Sequence[str], stream):
        self.lines = tuple(lines)
        self.stream = stream
        #: whether :meth:`after_train_iter` has said them
        self.said = False

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if self.said:
            return
        self.said = True
        sys.stdout.flush()  # after the log's lines, where both are one
        for line in self.lines:
            say(line, self.stream)
        self.stream.flush()

    def closing_lines(self) -> List[str]:
        """The lines said after the run's last line: where its first step
        said the warnings, how many, then each again; where no step ran
        (a resume at the end of its schedule), each, said once there."""
        if not self.said or not self.lines:
            return list(self.lines)
        return [f'{len(self.lines)} warning(s) said as training began '
                '(repeated):', *self.lines]
