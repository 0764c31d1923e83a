#!/usr/bin/env python
"""Meta-test one model on every setting of a domain in one process.

Runs all novel classes x shots x classifiers x modes, loading features,
task stores and dictionaries once (missing stores and dictionaries are made,
existing ones reused), and writes one results file with every number plus
the summary table (default ``<workdir>/sweeps/<model>_<task>.{json,md}``).
The alternative to the many launches of wsi_workdir/scripts/near_domain.sh.

Example (near domain of CLP: features of clp_wo_0 .. clp_wo_8)::

    python wsi_workdir/sweep.py --model clp --num_task 1000 \\
        --modes linear latent_aug_expected
"""
import argparse
import sys

import torch

from openselfsup.lowshot.classifiers import CLASSIFIERS
from openselfsup.lowshot.engine import MODES
from openselfsup.lowshot.paths import DEFAULT_WORKDIR
from openselfsup.lowshot.sweep import DEFAULT_MODES, run_sweep
from openselfsup.utils import run_cli


def _novel(text):
    """A novel class id, or None for 'none'."""
    if text.lower() == 'none':
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f'{text!r} is neither a class id nor "none"') from None


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--model', required=True,
                   help='model (family) name, e.g. clp or fsp')
    p.add_argument('--task', default='near',
                   choices=['near', 'mixture', 'out', 'out_homo'],
                   help='domain (default: %(default)s)')
    p.add_argument('--novel_classes', type=_novel, nargs='+',
                   default=list(range(9)),
                   help='near domain: novel classes (default: 0..8; 78 means '
                   '7 and 8; "none": tasks without a novel class, on the '
                   'features of --model itself)')
    p.add_argument('--model_template', default='{model}_wo_{novel}',
                   help='feature model of a novel class (default: '
                   '%(default)s; "{model}" uses one feature set for all)')
    p.add_argument('--shots', type=int, nargs='+', default=[1, 5, 10])
    p.add_argument('--clfs', nargs='+', default=list(CLASSIFIERS),
                   choices=list(CLASSIFIERS))
    p.add_argument('--modes', nargs='+', default=list(DEFAULT_MODES),
                   choices=MODES,
                   help='latent_aug_expected: closed-form latent augmentation '
                   '(Ridge, nearest centroid)')
    p.add_argument('--num_task', type=int, default=1000)
    p.add_argument('--num_aug_shots', type=int, default=100)
    p.add_argument('--num_prototypes', type=int, default=16)
    p.add_argument('--num_shift_vectors', type=int, default=2000)
    p.add_argument('--dict_seed', type=int, default=0)
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    p.add_argument('--float32', action='store_true',
                   help='classifiers in float32 (default float64, as in the '
                   'scikit-learn agreement tests)')
    p.add_argument('--threads', type=int, default=0,
                   help='torch CPU threads (default: 0 = torch\'s default, one per '
                   'core; per-task solves are split over them. On 2 '
                   'cores 2 threads ran the linear sweep 1.5x faster '
                   'than 1: benchmarks/RESULTS.md)')
    p.add_argument('--chunk_size', type=int, default=None,
                   help='tasks per batch (default: fit a memory budget: '
                   '64 MiB on the CPU, 1 GiB for logistic regression, a '
                   'quarter of the free memory on CUDA)')
    p.add_argument('--seed', type=int, default=0,
                   help='seed of the augmentation draws')
    p.add_argument('--task_seed', type=int, default=0,
                   help='seed of task stores made by the sweep')
    p.add_argument('--workdir', default=DEFAULT_WORKDIR,
                   help='low-shot work directory (default: %(default)s)')
    p.add_argument('--output', default=None, help='sweep JSON path')
    p.add_argument('--write_results', action='store_true',
                   help='also write one result JSON per setting under '
                   '<workdir>/results/ (as distributed_meta_test.py does), '
                   'for wsi_workdir/summarize.py')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    sweep = run_sweep(
        args.workdir, args.model, args.task, args.novel_classes, args.shots,
        args.clfs, args.modes, args.num_task, args.device, args.seed,
        args.task_seed, args.num_aug_shots, args.num_prototypes,
        args.num_shift_vectors, args.dict_seed, args.model_template,
        args.chunk_size, torch.float32 if args.float32 else torch.float64,
        args.output, write_results=args.write_results)
    print(sweep['table'], end='')
    t = sweep['elapsed_s']
    print(f'wrote {sweep["output"]} and {sweep["summary_md"]}: '
          f'{len(sweep["results"])} settings in {t["total"]:.1f} s '
          f'(meta-test {t["meta_test"]:.1f} s, load {t["load"]:.1f} s, '
          f'tasks {t["tasks"]:.1f} s, dictionaries {t["dictionaries"]:.1f} s)')


if __name__ == '__main__':
    sys.exit(run_cli(main))
