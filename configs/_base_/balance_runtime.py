"""Runtime of balanced cross-modal tuning: the shared runtime, a checkpoint
per epoch (the latest kept), the model before tuning evaluated and logged
first (the baseline), and the training texts handed to the model for the
triplet negatives (NegativeTextPoolHook)."""
_base_ = ['./default_runtime.py']
custom_imports = dict(
    imports=['openselfsup.models', 'openselfsup.datasets',
             'openselfsup.engine'],
    allow_failed_imports=False)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=1, max_keep_ckpts=1))
custom_hooks = [dict(type='ValidateBeforeTrainHook'),
                dict(type='NegativeTextPoolHook')]
load_from = None
# the log shows loss = lambda * contrastive + (1 - lambda) * task, all three
# averaged over the same iterations: `log_processor` of default_runtime.py
# lambda 0 leaves the contrastive side unused, lambda 1 the task head: DDP
# must not expect a gradient for every parameter
find_unused_parameters = True
