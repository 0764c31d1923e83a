#!/usr/bin/env python
"""Draw low-shot tasks (as indices) into the task store of one setting.

Example::

    python wsi_workdir/tools/generate_task.py --task near --num_shots 5 \\
        --num_task 1000 --novel_class 7
"""
import argparse
import sys

from openselfsup.lowshot.paths import DEFAULT_WORKDIR
from openselfsup.lowshot.tasks import generate_task_store
from openselfsup.utils import run_cli


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--task', required=True, choices=['near', 'mixture', 'out'],
                   help='near: 9-way NCT; mixture: 5-way LC25000; '
                   'out: 3-way PAIP19')
    p.add_argument('--mode', choices=['hetero', 'homo'], default=None,
                   help='out domain: support from any training slide '
                   '(hetero, default) or from one slide per task (homo)')
    p.add_argument('--num_shots', type=int, required=True,
                   help='support samples per class')
    p.add_argument('--num_task', type=int, required=True,
                   help='number of tasks')
    p.add_argument('--novel_class', type=int, default=None,
                   help='near domain: class held out of pre-training '
                   '(0..8, or 78 for 7 and 8); names the store')
    p.add_argument('--model', default=None,
                   help='accepted for compatibility; tasks are indices and '
                   'serve every model')
    p.add_argument('--seed', type=int, default=0, help='sampling seed')
    p.add_argument('--workdir', default=DEFAULT_WORKDIR,
                   help='low-shot work directory (default: %(default)s)')
    p.add_argument('--initialization', action='store_true',
                   help='draw a fresh store even if one exists (as the '
                   'original); same as --overwrite')
    p.add_argument('--overwrite', action='store_true',
                   help='replace an existing store; without this flag or '
                   '--initialization an existing store is reused')
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    store, written = generate_task_store(
        args.workdir, args.task, args.num_shots, args.num_task, args.seed,
        args.mode, args.novel_class,
        replace=args.initialization or args.overwrite)
    verb = 'wrote' if written else 'reusing'
    print(f'{verb} {store.path}: {store.num_task} tasks, {store.ways}-way '
          f'{store.shots}-shot, {store.queries} queries per class, '
          f'seed {store.seed}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
