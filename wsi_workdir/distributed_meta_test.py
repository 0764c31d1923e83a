#!/usr/bin/env python
"""Meta-test a model on stored low-shot tasks, all tasks as tensor batches.

Prints one ``mean ci`` line per class (F1 in percent, 95% half-width over
tasks) and the average, and writes a JSON with every number (default:
``<workdir>/results/<model>/<task>[_novel<C>]_<mode>_<clf>_<shots>shot.json``).

Example::

    python wsi_workdir/distributed_meta_test.py --task near --num_task 1000 \\
        --num_shots 5 --mode latent_aug --model clp_wo_7 --novel_class 7 \\
        --clf logistic_regression
"""
import argparse
import sys

from openselfsup.lowshot.classifiers import CLASSIFIERS
from openselfsup.lowshot.engine import MODES, result_table, run_meta_test
from openselfsup.lowshot.paths import DEFAULT_WORKDIR
from openselfsup.utils import run_cli


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--task', required=True,
                   choices=['near', 'mixture', 'out', 'out_homo'])
    p.add_argument('--num_task', type=int, required=True,
                   help='evaluate the first T tasks of the store')
    p.add_argument('--num_shots', type=int, required=True)
    p.add_argument('--mode', required=True, choices=MODES)
    p.add_argument('--model', required=True,
                   help='model name, e.g. clp, fsp, clp_wo_7')
    p.add_argument('--novel_class', type=int, default=None,
                   help='near domain: novel class (selects the task store)')
    p.add_argument('--clf', required=True, choices=list(CLASSIFIERS))
    p.add_argument('--num_aug_shots', type=int, default=100,
                   help='latent_aug: samples per support feature '
                   '(default: %(default)s)')
    p.add_argument('--num_prototypes', type=int, default=16,
                   help='latent_aug: dictionary K (default: %(default)s)')
    p.add_argument('--num_shift_vectors', type=int, default=2000,
                   help='latent_aug: dictionary M (default: %(default)s)')
    p.add_argument('--dict_seed', type=int, default=0,
                   help='latent_aug: seed the dictionary was built with')
    p.add_argument('--dictionary', default=None,
                   help='latent_aug: dictionary file (overrides K/M/seed)')
    p.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    p.add_argument('--chunk_size', type=int, default=None,
                   help='tasks per batch (default: fit a memory budget: '
                   '64 MiB on the CPU, 1 GiB for logistic regression, a '
                   'quarter of the free memory on CUDA)')
    p.add_argument('--threads', type=int, default=0,
                   help='torch CPU threads (default: 0 = torch\'s default, one per '
                   'core; per-task solves are split over them. On 2 '
                   'cores 2 threads ran the linear sweep 1.5x faster '
                   'than 1: benchmarks/RESULTS.md)')
    p.add_argument('--seed', type=int, default=0,
                   help='seed of the augmentation draws')
    p.add_argument('--workdir', default=DEFAULT_WORKDIR,
                   help='low-shot work directory (default: %(default)s)')
    p.add_argument('--output', default=None, help='result JSON path')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.threads > 0:
        import torch
        torch.set_num_threads(args.threads)
    result = run_meta_test(
        args.workdir, args.task, args.model, args.num_shots, args.num_task,
        args.mode, args.clf, args.novel_class, args.num_aug_shots,
        args.num_prototypes, args.num_shift_vectors, args.dict_seed,
        args.dictionary, args.device, args.seed, args.chunk_size, args.output)
    print(result_table(result))
    print(f'wrote {result["output"]} ({result["elapsed_s"]:.2f} s)')


if __name__ == '__main__':
    sys.exit(run_cli(main))
