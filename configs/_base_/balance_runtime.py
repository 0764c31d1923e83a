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
# the log shows loss = lambda * contrastive + (1 - lambda) * task over the
# same iterations: MMEngine averages a key with 'loss' in its name over the
# window and shows any other key's last value, so the two terms are
# averaged over the same window as loss (keep the three window sizes equal)
log_window = 10
log_processor = dict(
    window_size=log_window,
    custom_cfg=[dict(data_src=key, method_name='mean', window_size=log_window)
                for key in ('task', 'contrastive')])
# lambda 0 leaves the contrastive side unused, lambda 1 the task head: DDP
# must not expect a gradient for every parameter
find_unused_parameters = True
