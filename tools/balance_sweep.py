"""Sweep lambda of balanced cross-modal tuning: train, evaluate, tabulate, plot.

Trains a task-only baseline (or takes the model as loaded), then tunes from
it once per lambda with L = lambda * L_contrastive + (1 - lambda) * L_task,
and writes <work-dir>/sweep.{md,json,png}: every metric of every run, and a
plot of the task and retrieval metrics against lambda.

A rerun in the same --work-dir trains every run again and replaces the
sweep (but a sweep of another model, or of other model hyper-parameters, is
refused: remove that work dir to replace it); with --resume it continues an
interrupted one instead: the runs that ended there with the same settings
are reused (named in the log), only the others train, and the report is the
one an uninterrupted sweep writes.

Each run says its own warnings (a schedule that does not span it, an
earlier run's checkpoints written over...) on stderr once its first step
has run, as tools/train.py does; after the sweep's last line they are said
again, once each, with the runs that said them. A refused sweep says its
one error line alone.

Example (synthetic slides, a few minutes on a CPU):
    python tools/prepare_data/make_crossmodal.py --out data/balance
    python tools/balance_sweep.py configs/demo/balance_slide_synthetic.py \\
        --lambdas 0 0.1 0.3 0.5 0.7 0.9 1
    # stopped (Ctrl-C, a time limit): the same command, continued
    python tools/balance_sweep.py configs/demo/balance_slide_synthetic.py \\
        --lambdas 0 0.1 0.3 0.5 0.7 0.9 1 --resume
    # three seeds per lambda: each lambda's mean and t-based 95% CI
    python tools/balance_sweep.py configs/demo/balance_slide_synthetic.py \\
        --lambdas 0 0.5 1 --seeds 0 1 2 --work-dir work_dirs/seeds_sweep
"""
import argparse
import sys

from openselfsup.utils import run_cli
from openselfsup.utils.cfg_options import CfgOptionsAction
from openselfsup.utils.errors import say


def parse_args(argv):
    p = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='a BalancedCrossModal config file')
    p.add_argument('--lambdas', type=float, nargs='+',
                   default=[0, 0.1, 0.3, 0.5, 0.7, 0.9, 1],
                   help='lambda values in [0, 1] (default: %(default)s)')
    p.add_argument('--work-dir', help='output root (default: '
                   'work_dirs/<config>_sweep); a tools/train.py run\'s work '
                   'dir, or a run folder of a sweep, is refused')
    p.add_argument('--baseline-epochs', type=int,
                   help='task-only epochs before the sweep; 0: the baseline '
                   'is the model as the config loads it (the paper configs: '
                   'the task-trained checkpoint, as published) (default: '
                   "the config's sweep.baseline_epochs)")
    p.add_argument('--cls-metric', help='the task metric (default: the '
                   "config's sweep.cls_metric)")
    p.add_argument('--ret-metric', help='retrieval metric of the trade-off '
                   "panel (default: the config's sweep.ret_metric)")
    p.add_argument('--plot-metrics', nargs='+', help='metrics drawn against '
                   "lambda (default: the config's sweep.plot_metrics)")
    p.add_argument('--test', action='store_true',
                   help="also evaluate every run on the config's "
                   'test_dataloader, as columns test/<metric> (which the '
                   'metric flags then accept; the published '
                   'final numbers come from an independent test set: point '
                   'test_dataloader.dataset.ann_file at it; the paper '
                   'configs test on the validation fold otherwise: a '
                   'test set that is the validation set is said in a '
                   'note above the table, and in sweep.json, '
                   'test_is_validation)')
    p.add_argument('--resume', action='store_true',
                   help='continue the sweep in --work-dir: reuse the '
                   'baseline and every lambda run that ended there with '
                   'the same settings (config and --cfg-options, the files '
                   'it names, its data folders\' listing and a sample of '
                   'their files, epochs, lambda, seed, the baseline weights, '
                   '--amp, --test, the code\'s RECORD_VERSION), train only '
                   'the others (a run interrupted on the way: from its '
                   'start); a run there of other settings is refused, '
                   'naming what differs, and so is a --work-dir where no '
                   'sweep has started (a mistyped one: a folder beside it '
                   'holding a sweep of this config is named) (default: '
                   'every run is trained '
                   'again, replacing the sweep)')
    p.add_argument('--seeds', type=int, nargs='*',
                   help='tune each lambda once per seed (randomness.seed '
                   'and model.seed of the run), from the one baseline, each '
                   'run in its own folder lambda_<value>_seed_<seed>; the '
                   'report gives each lambda\'s mean over its seeds and the '
                   'Student-t 95%% confidence half-width, n seeds per row, '
                   'beside every run; with --resume the run of the config\'s '
                   'seed is also reused from a run without --seeds, '
                   'lambda_<value> (default: one run per lambda with the '
                   'config\'s seeds, as the published code runs)')
    p.add_argument('--amp', action='store_true',
                   help='mixed precision (AmpOptimWrapper, needs a GPU)')
    p.add_argument('--verbose', action='store_true',
                   help='show every run\'s console as MMEngine writes it '
                   '(its environment dump, config and iteration lines) '
                   '(default: each run shows its warnings and one line per '
                   'epoch, the sweep which run trains, each run\'s result '
                   'and its log file, <run folder>/<timestamp>/'
                   '<timestamp>.log, which holds all of it; either way a '
                   'run\'s own warnings come on stderr once its first step '
                   'has run)')
    p.add_argument('--check', action='store_true',
                   help='check the sweep and stop before anything trains or '
                   'is written: its own settings, then the config of every '
                   'run (the baseline\'s and each lambda\'s) as '
                   'tools/train.py --check-config checks one; a refusal is '
                   'one line, exit 2; warnings are printed, exit 0')
    p.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                   help='config overrides applied to every run, key=value')
    return p.parse_args(argv)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    a = parse_args(argv)
    # the model stack (8 s) after the command line is checked
    from openselfsup.apis import run_balance_sweep
    from openselfsup.apis.balance_sweep import resume_command
    res = run_balance_sweep(a.config, a.lambdas, work_dir=a.work_dir,
                            baseline_epochs=a.baseline_epochs,
                            cls_metric=a.cls_metric, ret_metric=a.ret_metric,
                            plot_metrics=a.plot_metrics, amp=a.amp,
                            test=a.test, resume=a.resume,
                            cfg_options=a.cfg_options, seeds=a.seeds,
                            resume_command=resume_command(argv),
                            verbose=a.verbose, check=a.check,
                            # each run's own warnings on stderr once it has
                            # begun, as tools/train.py's; a refused sweep
                            # says its one line alone
                            warnings_to=sys.stderr)
    if a.check:
        for line in res['warnings']:
            print(f'warning: {line}', file=sys.stderr)
        print(f'checked: {", ".join(res["checked"])}')
        return
    print(res['table'])
    for kind, path in res['paths'].items():
        print(f'{kind:9s} {path}')
    sys.stdout.flush()  # before the lines after it, where both are one
    # the runs' warnings again, with their runs, after the last line
    for line in res['closing_warnings']:
        say(line)


if __name__ == '__main__':
    # a training run out of memory keeps its traceback (where it ran out)
    sys.exit(run_cli(main, memory_line=False, freeze_start_up=True))
