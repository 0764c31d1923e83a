"""Evaluate the model before the first training step (the baseline)."""
from mmengine.hooks import Hook

from ..registry import HOOKS


@HOOKS.register_module()
class ValidateBeforeTrainHook(Hook):
    """Run the validation loop once before training starts.

    The baseline (the model as loaded or initialised, before any tuning) is
    then evaluated and logged first, with the same metrics as later epochs.
    Skipped when resuming past the first step (``runner.iter`` above 0: the
    baseline was logged by the first run; a checkpoint saved at iteration
    0, as the best one saved at this validation is, is validated again) or
    when the config has no validation loop.

    It runs after every other hook's ``before_train`` (``LOWEST``): the
    validation calls their ``after_val_epoch``, and the CheckpointHook's
    (with ``save_best``) saves a best checkpoint there, which needs the
    output folder its ``before_train`` sets up. The baseline then counts
    for the best checkpoint: a tuning that never beats it leaves the model
    before training (``best_<metric>_epoch_0.pth``) as the best.

    The validation leaves training as it was
    (:func:`~openselfsup.engine.crossmodal_hooks.validate_leaving_training`):
    the random streams (its DataLoader drew its base seed from torch's
    global generator, so every dropout mask of the training that followed
    differed: the slide demo from the lambda sweep's baseline gave kappa
    0.8355 with this hook and 0.7945 without it, same seed) and what its
    hooks step (a ``ReduceOnPlateau`` schedule). Training with this hook
    is training without it.
    """

    priority = 'LOWEST'

    def before_train(self, runner) -> None:
        if runner.iter > 0 or runner.val_loop is None:
            return
        from .crossmodal_hooks import validate_leaving_training
        runner.logger.info('evaluating the baseline before training')
        validate_leaving_training(runner)
