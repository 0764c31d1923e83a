"""The log processor of every training config (``configs/_base_/
default_runtime.py``): what a log line, and the scalars the visualiser
writes, show of each logged value."""
import re

from mmengine.runner import LogProcessor

from ..registry import LOG_PROCESSORS


@LOG_PROCESSORS.register_module()
class TermsLogProcessor(LogProcessor):
    """MMEngine's ``LogProcessor`` with two changes.

    * **Training**: the mean over the last ``window_size`` iterations of
      the losses (MMEngine's default: keys with 'loss' in their name, and
      the timings) and also of the terms a model logs beside them,
      :attr:`TERMS` (balanced tuning's ``task`` and ``contrastive``,
      HLSS's ``kl_<level>``): MMEngine showed those at their last value
      beside averaged losses (at lambda 0: 'loss: 0.6563  task: 0.0846'),
      and one ``window_size`` sets the window of all of them (a
      ``custom_cfg`` window per term did not follow
      ``log_processor.window_size``).
    * **Evaluation**: each result as this evaluation gave it. MMEngine
      keeps a history of every result and showed one with 'loss' in its
      name (the balance metric's ``task_loss``) as the mean of the last
      ``window_size`` evaluations' values.

    Args: as ``LogProcessor``; ``mean_pattern`` (training only) defaults
    to MMEngine's pattern with :attr:`TERMS`.
    """

    #: the terms a model logs beside its losses (not themselves losses),
    #: by their name alone or, with ``log_with_hierarchy=True`` (the
    #: scalars the visualiser writes), as ``train/<name>``: with ``^``
    #: alone those scalars held the last value beside the line's mean;
    #: ``kl_<level>`` of any head, a TextInitHead shared by the levels
    #: too (``kl_level``: the three levels' names alone left it at its
    #: last value)
    TERMS = r'(^|/)(task|contrastive|kl_\w+)$'
    #: what an evaluation's line averages over its iterations: the timings
    EVAL_MEAN = re.compile(r'(^|/)(time|data_time)$')

    def __init__(self, mean_pattern: str = None, **kwargs):
        if mean_pattern is None:
            mean_pattern = r'.*(loss|time|data_time|grad_norm).*|' + \
                self.TERMS
        super().__init__(mean_pattern=mean_pattern, **kwargs)

    def _collect_scalars(self, custom_cfg, runner, mode: str,
                         reserve_prefix: bool = False) -> dict:
        if mode == 'train':
            return super()._collect_scalars(custom_cfg, runner, mode,
                                            reserve_prefix)
        train_pattern, self.mean_pattern = self.mean_pattern, self.EVAL_MEAN
        try:
            return super()._collect_scalars(custom_cfg, runner, mode,
                                            reserve_prefix)
        finally:
            self.mean_pattern = train_pattern
