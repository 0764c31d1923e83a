#!/usr/bin/env python
"""The augmentation ablation (ICLR-22, the published ablation.sh) in one process.

On the encoder pre-trained without STR and TUM (default clp_wo_78), 9-way
near-domain tasks with novel class 78, 5 shots, 300 tasks, Ridge:

  baseline    linear
  prototypes  latent augmentation with K prototypes
  image       image-space augmentation: support + aug_times-1 augmented
              copies (NCT_aug features, wsi_workdir/extract.py --aug_times)
  latent      latent augmentation with num_aug_shots samples
  hybrid      image x latent: aug_times = num_aug_shots = t

ending in one table (average F1 ± the mean of the per-class 95% CIs, the
published average row; novel-class F1 ± its 95% CI over tasks), printed
and written with its JSON and plot as one set:
<workdir>/sweeps/ablation/<model>.md (the table), .json (the sweep index
with the table's numbers, ablation_rows) and .png (a panel per part, F1
against its value with the 95% CIs, the baseline dashed), a folder no
sweep.py index takes (sweeps/ablation_<model> was also the index of
sweep.py --model ablation --task <model>). Each
setting's result JSON goes to <workdir>/ablation_results/<model>/, apart
from results/ (which summarize.py reads): the baseline and K = 16 are
near-domain settings too (near_domain.sh with 78 in NOVEL_CLASSES, 1000
tasks), and result names carry no task count. Missing task stores and
dictionaries are made (and shared). The published values are the
defaults except the image part, whose t^2 up to 256 copies need NCT_aug
features of 255 copies (42 GB at paper scale): pass --image to choose.

    python wsi_workdir/ablation.py --model clp_wo_78
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from openselfsup.lowshot import spec as S  # noqa: E402
from openselfsup.lowshot.ablation import PUBLISHED  # noqa: E402
from openselfsup.lowshot.paths import DEFAULT_WORKDIR  # noqa: E402
from openselfsup.utils import run_cli  # noqa: E402


def _value_or_none(text: str):
    """A part's value, or ``none`` (skip the part)."""
    if text == 'none':
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'{text!r}: expected whole numbers or none') from None


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--model', default='clp_wo_78',
                   help='encoder without classes 7 and 8 (default: '
                   '%(default)s)')
    p.add_argument('--num_shots', type=int, default=5,
                   help='shots per class (default: %(default)s)')
    p.add_argument('--num_task', type=int, default=300,
                   help='tasks per setting (default: %(default)s, as '
                   'published)')
    p.add_argument('--clf', default='Ridge', choices=S.CLASSIFIERS,
                   help='classifier (default: %(default)s)')
    for part, text in (('prototypes', 'K values of the dictionary part'),
                       ('latent', 'aug shots of the latent part'),
                       ('hybrid', 't of the hybrid part')):
        p.add_argument(f'--{part}', type=_value_or_none, nargs='*',
                       default=list(PUBLISHED[part]),
                       help=f'{text} (default: the published '
                       f'{" ".join(map(str, PUBLISHED[part]))}; none, or '
                       'the flag alone: skip the part)')
    p.add_argument('--image', type=_value_or_none, nargs='*',
                   default=[4, 9, 16],
                   help='aug_times of the image part (default: 4 9 16; the '
                   'published t^2 for t = 2..16 needs 255 augmented copies; '
                   'none, or the flag alone: skip the part)')
    S.add_arguments(p, ['task_seed', 'seed', 'num_shift_vectors',
                        'dict_seed'])
    S.add_execution_arguments(p)
    p.add_argument('--workdir', default=DEFAULT_WORKDIR,
                   help='low-shot work directory (default: %(default)s)')
    p.add_argument('--quiet', action='store_true',
                   help='no per-setting blocks, only the final table (and '
                   'the line naming the parts skipped, and the warnings: a '
                   'result replaced by one over another number of tasks or '
                   'in another precision; each --compare --ablation report '
                   'removed because it read a result replaced, with the '
                   'command that writes it again)')
    args = p.parse_args(argv)
    args.skipped = {}  # part -> how its flag skipped it, said by the run
    for part in ('prototypes', 'image', 'latent', 'hybrid'):
        values = getattr(args, part)
        if None in values:  # none (or no value): skip the part
            if len(values) > 1:
                p.error(f'--{part}: none goes alone (skips the part)')
            setattr(args, part, [])
            args.skipped[part] = 'none'
        elif not values:
            args.skipped[part] = 'given without values'
    return args


def main(argv=None):
    args = parse_args(argv)
    import torch

    from openselfsup.lowshot import paths
    from openselfsup.lowshot.ablation import (SHOTS_FLAGS, ablation_rows,
                                              ablation_settings,
                                              ablation_table, plot_ablation,
                                              plotted, skipped_note,
                                              unique_specs)
    from openselfsup.lowshot.report import write_report
    from openselfsup.lowshot.sweep import run_sweep
    from openselfsup.utils import count_words
    rows = ablation_settings(
        args.model, args.num_shots, args.num_task, args.clf,
        args.prototypes, args.image, args.latent, args.hybrid,
        task_seed=args.task_seed, seed=args.seed,
        num_shift_vectors=args.num_shift_vectors, dict_seed=args.dict_seed)
    if args.skipped:  # also with --quiet: a mistyped flag skips a part
        print(skipped_note(args.skipped))
    out = paths.ablation_index_path(args.workdir, args.model)
    png = os.path.splitext(out)[0] + '.png'
    figures = [png] if plotted(rows) else []  # every part skipped: none
    sweep = run_sweep(args.workdir, unique_specs(rows), args.device, args.chunk_size,
                      args.threads,
                      torch.float32 if args.float32 else torch.float64,
                      out, log=None if args.quiet else print,
                      write_index=False,
                      # an earlier run's plot too (none written: removed)
                      describing=[png],
                      results_dir=paths.ablation_results_dir(args.workdir),
                      shots_flags=SHOTS_FLAGS)
    table_rows = ablation_rows(rows, sweep['results'])
    table = ablation_table(table_rows)
    # the sweep index (run_sweep's return value less the keys it adds)
    # gains the table's numbers; table, index and plot are all computed
    # before they are written, as one set
    index = {k: v for k, v in sweep.items()
             if k not in ('output', 'summary_md', 'table', 'results',
                          'reused')}
    index['ablation_rows'] = table_rows
    write_report({'md': sweep['summary_md'], 'json': sweep['output'],
                  'png': png}, table, index,
                 plot_ablation(table_rows, f'{args.model}: {args.num_shots}'
                               f'-shot, {args.num_task} tasks, {args.clf}'))
    print(table, end='')
    written = [sweep['summary_md'], *figures, sweep['output']]
    print(f'wrote {", ".join(written[:-1])} and {written[-1]}: '
          f'{count_words(sweep["num_settings"], "setting")} in '
          f'{sweep["elapsed_s"]["total"]:.1f} s')


if __name__ == '__main__':
    sys.exit(run_cli(main))
