#!/usr/bin/env python
"""Meta-test a model on stored low-shot tasks, all tasks as tensor batches.

Prints one ``mean ci`` line per class (F1 in percent, 95% half-width over
tasks) and the average, and writes a JSON with every number (default:
``<workdir>/results/<model>/<task>[_novel<C>]_<mode>_<clf>_<shots>shot[_<variant>].json``,
the variant naming the parameters that differ from the defaults, e.g.
``A10_K8``). Defaults are the published protocol's (1000 tasks, K=16,
M=2000, 100 augmentation shots, Ridge alpha 1, logistic regression C 1).
One setting has no plot of its own: summarize.py draws every result of the
workdir (F1 against shots, with the 95% CIs), sweep.py those of its sweep.

Example::

    python wsi_workdir/distributed_meta_test.py --task near --num_shots 5 \\
        --mode latent_aug --model clp_wo_7 --novel_class 7 \\
        --clf logistic_regression
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from openselfsup.lowshot import spec as S  # noqa: E402
from openselfsup.lowshot.paths import DEFAULT_WORKDIR  # noqa: E402
from openselfsup.utils import run_cli  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    S.add_arguments(p, ['task', 'model', 'num_shots', 'clf', 'mode',
                        'novel_class', 'num_task', 'task_seed', 'seed',
                        'alpha', 'C', 'max_iter', 'num_aug_shots',
                        'num_prototypes', 'num_shift_vectors', 'dict_seed',
                        'aug_times'],
                    required=['task', 'model', 'num_shots'])
    S.add_execution_arguments(p)
    p.add_argument('--workdir', default=DEFAULT_WORKDIR,
                   help='low-shot work directory (default: %(default)s)')
    p.add_argument('--output', default=None,
                   help='result JSON path (default: <workdir>/results/<model>/'
                   '<name from the settings>.json; an existing file '
                   'that is not a result is refused, never replaced)')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    spec = S.RunSpec(**S.spec_kwargs(args))
    import torch

    from openselfsup.lowshot.meta_test import result_table, run_meta_test
    result = run_meta_test(
        args.workdir, spec, args.device, args.chunk_size, args.threads,
        torch.float32 if args.float32 else torch.float64, args.output)
    print(result_table(result))
    print(f'wrote {result["output"]} '
          f'({result["execution"]["elapsed_s"]:.2f} s)')


if __name__ == '__main__':
    sys.exit(run_cli(main))
