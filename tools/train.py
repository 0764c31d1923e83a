"""Train a model from a config (CLP, FSP, HLSS, balanced tuning).

Examples:
    python tools/train.py configs/wsi_selfsup/moco_v3/r18_bs256_ep200_all.py
    python tools/train.py configs/demo/clp_r18_demo.py --resume
    python tools/train.py CONFIG --resume work_dirs/a  # continues there
    python tools/train.py CONFIG --resume work_dirs/a/epoch_5.pth --work-dir work_dirs/b
    python tools/train.py configs/demo/clp_r18_demo.py --cfg-options \\
        train_cfg.max_epochs=5 param_scheduler.0.T_max=5 param_scheduler.0.end=5
    # a shorter run sets the schedule's end too: --cfg-options max_epochs=5
    # is refused with the keys that hold it in CONFIG (FSP: train_cfg alone)

Outputs go to work_dirs/<config path without configs/ and .py> unless
--work-dir is given, or --resume names a training run (its work dir, or a
checkpoint in it: the run continues there): the config dump, the log,
checkpoints, TensorBoard scalars; a run that fails before its first
iteration (or a config's validation before training) ends leaves none of
them, nor does a run refused because another one is training into the same
work dir. The run's own warnings (an earlier run's checkpoints written
over, a schedule that does not span the run...) are said on stderr once
its first step has run, after MMEngine's log of the config, and again
after its last line; a refused run says its one error line alone.
Multi-GPU: tools/dist_train.sh; Slurm: tools/slurm_train.sh.
"""
import argparse
import sys

from openselfsup.utils import run_cli
from openselfsup.utils.cfg_options import CfgOptionsAction
from openselfsup.utils.checkpoint_files import URL_DOWNLOADS
from openselfsup.utils.errors import say


def parse_args(argv):
    p = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    config = p.add_argument('config', help='training config file (Python)')
    p.add_argument('--work-dir',
                   help='output directory (default: the work dir of the run '
                   '--resume names, else work_dirs/<config>)')
    p.add_argument('--resume', nargs='?', const=True, default=False,
                   metavar='CHECKPOINT',
                   help='resume from the latest complete checkpoint in the '
                   'work dir, or from CHECKPOINT (a checkpoint file, or a '
                   'work dir: its latest complete one; an http(s) URL, '
                   f'downloaded into the work dir\'s {URL_DOWNLOADS}/ and '
                   'checked as a file, removed once the run saves a '
                   'checkpoint; another URL, s3://..., which MMEngine '
                   'loads, unchecked: the log says what is skipped); no '
                   'checkpoint in the work dir: a new run (from the '
                   'config\'s load_from, if set); a newest checkpoint '
                   'there of torch\'s legacy format (a pickle, which cannot '
                   'be resumed; an earlier run\'s of a later step than '
                   'last_checkpoint names is passed over) is refused, not '
                   'passed over for an older one or a new run; '
                   'a config\'s resume = True is --resume; without '
                   '--work-dir '
                   'the run continues in the training work dir CHECKPOINT '
                   'is or lies in (a checkpoint from elsewhere: '
                   'work_dirs/<config>)')
    p.add_argument('--amp', action='store_true',
                   help='float16 mixed precision with dynamic loss scaling '
                   '(GPU only), for any training config (the config key '
                   'amp=float16, also where the config has no amp key); the '
                   'CLP and FSP configs already train in bfloat16 on a GPU '
                   'without it (amp=auto)')
    p.add_argument('--auto-scale-lr', action='store_true',
                   help='scale the learning rate by the actual total batch '
                   '(accumulated batches counted, one count for several '
                   'optimizers) over the config\'s '
                   'auto_scale_lr.base_batch_size (the '
                   'linear rule; off by default: a config with '
                   'total_batch_size keeps its total on any GPU count)')
    p.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                   metavar='KEY=VALUE',
                   help='override config keys, e.g. '
                   'train_dataloader.num_workers=0; every key must exist in '
                   'the config (a shorter run: the keys of the example '
                   'above, which --cfg-options max_epochs=N names for '
                   'CONFIG)')
    # default None: given or not is the launchers' check's to know
    p.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'],
                   help='job launcher (set by '
                   'dist_train.sh / slurm_train.sh; default: none, one '
                   'process)')
    p.add_argument('--local-rank', '--local_rank', type=int, default=0,
                   help=argparse.SUPPRESS)
    # the launchers' check before they start processes: the config, the
    # overrides and the data paths, without importing torch in the
    # project's scope (every shipped config; a config with custom_imports
    # imports its modules once the overrides are checked); a config of
    # another default_scope (or none) imports the model stack to look its
    # types up in that scope's registries (config.check_scope_types: the
    # check took 11 s there, 1.1 s for the CLP demo, 2 cores at load 5).
    # Shown in the help (it was hidden as the launchers' own, review r198:
    # the docs give it to users, and nothing in it is the launchers' alone)
    p.add_argument('--check-config', action='store_true',
                   help='check the config, the --cfg-options, --resume, '
                   'the work dir and the data paths as the run would '
                   '(what dist_train.sh / slurm_train.sh run before they '
                   'start any process), and exit: '
                   'nothing trained or written; a refusal is its one '
                   '"error:" line (exit 2), a warning a "warning:" line')
    # with --check-config: the processes the launcher will start (the
    # total batch and the groups must split over them)
    p.add_argument('--check-world', type=int, help=argparse.SUPPRESS)
    # with --check-config: leave the data paths to the run (data that only
    # the compute nodes see; slurm_train.sh with DATA_CHECK=0)
    p.add_argument('--no-data-check', action='store_true',
                   help=argparse.SUPPRESS)
    # the usage shows the config as required, which it is; it is parsed as
    # optional only for '--resume CONFIG' (below)
    p.usage = p.format_usage().partition('usage: ')[2].rstrip()
    config.nargs, config.required = '?', False
    a = p.parse_args(argv)
    if a.config is None:
        # '--resume CONFIG': the flag before the config took it as the
        # checkpoint (a config is never one)
        if isinstance(a.resume, str) and a.resume.endswith('.py'):
            a.config, a.resume = a.resume, True
        else:
            p.error('the following arguments are required: config')
    return a


def main(argv=None):
    a = parse_args(argv)
    if a.check_config:
        from openselfsup.apis.train import check_launch
        for line in check_launch(a.config, a.cfg_options, a.resume,
                                 a.work_dir, a.check_world,
                                 data_check=not a.no_data_check,
                                 auto_scale_lr=a.auto_scale_lr,
                                 launcher=a.launcher):
            print(f'warning: {line}', file=sys.stderr)
        return
    from openselfsup.apis import train
    from openselfsup.apis.train import closing_warnings, finished_line
    # the run's own warnings on stderr once it has begun, after MMEngine's
    # log of some 300 lines (at its line 387 of 395 nobody saw them), and
    # again after the last line; a refused run says its one line alone
    runner = train(a.config, work_dir=a.work_dir, resume=a.resume, amp=a.amp,
                   cfg_options=a.cfg_options,
                   launcher=a.launcher or 'none',
                   auto_scale_lr=a.auto_scale_lr,
                   evaluates=(),  # nothing evaluated after training
                   warnings_to=sys.stderr)
    # one write: every rank of a distributed run says it on the
    # launcher's one stdout (print wrote the line and its newline apart)
    say(finished_line(runner), sys.stdout)
    sys.stdout.flush()  # before the lines after it, where both are one
    for line in closing_warnings(runner):
        say(line)


if __name__ == '__main__':
    # a training run out of memory keeps its traceback (where it ran out)
    sys.exit(run_cli(main, memory_line=False, freeze_start_up=True))
