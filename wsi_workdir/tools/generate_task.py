#!/usr/bin/env python
"""Draw low-shot tasks (as indices) into the task store of one setting.

A store is reused when it is the one asked for, never replaced unless
--overwrite (or --initialization, as the published scripts pass it) is
given; the tasks are indices and serve every model. A store's first n
tasks are the same whatever --num_task it was drawn for (drawn in blocks of
1000), so a short run's tasks are the first of the full run's, and a store
asked for more tasks than it holds is extended, its tasks kept as they are
(results on them stay current). Several --num_shots and --novel_class
values make several stores in one process.

Reads the labels <workdir>/extracted_feats/<SET>_labels.npy that
wsi_workdir/extract.py writes; writes one store per setting,
<workdir>/tasks/<task>[_homo]_<ways>way_<shots>shot[_novel<c>][_seed<S>].npz
(no _seed part for --seed 0), which every model's meta-test reads.

Example (writes <workdir>/tasks/near_9way_5shot_novel7.npz)::

    python wsi_workdir/tools/generate_task.py --task near --num_shots 5 \\
        --num_task 1000 --novel_class 7
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))

from openselfsup.lowshot import spec as S  # noqa: E402
from openselfsup.lowshot.paths import DEFAULT_WORKDIR  # noqa: E402
from openselfsup.utils import run_cli  # noqa: E402


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument('--task', required=True, choices=['near', 'mixture', 'out'],
                   help='near: 9-way NCT; mixture: 5-way LC25000; '
                   'out: 3-way PAIP19')
    p.add_argument('--mode', choices=['hetero', 'homo'], default='hetero',
                   help='out domain: support from any training slide '
                   '(hetero, default) or from one slide per task (homo)')
    published = S.published_shots_words({'out': 'out hetero',
                                         'out_homo': 'out homo'})
    S.add_arguments(p, ['num_shots', 'num_task', 'novel_class'],
                    many=['num_shots', 'novel_class'], command='tasks',
                    default_words={'num_shots': 'the published shots of '
                                   f'the task: {published}'})
    p.add_argument('--seed', '--task_seed', dest='task_seed', type=int,
                   default=S.default('task_seed'),
                   help='sampling seed (default: %(default)s); a seed other '
                   'than 0 writes a store of its own, <name>_seed<S>.npz, '
                   "beside seed 0's")
    p.add_argument('--model', default=None,
                   help='accepted for compatibility; tasks are indices and '
                   'serve every model')
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
    if args.mode == 'homo' and args.task != 'out':
        from openselfsup.utils import InputError
        raise InputError('--mode homo applies to --task out only')
    task = 'out_homo' if (args.task, args.mode) == ('out', 'homo') \
        else args.task
    specs = [S.TaskSpec(task, shots, args.num_task, novel, args.task_seed)
             for novel in (args.novel_class or [None])
             for shots in args.num_shots or S.DEFAULT_SHOTS[task]]
    from openselfsup.lowshot.tasks import generate_task_stores, store_inputs
    inputs = store_inputs(args.workdir, specs[0])
    for store, written in generate_task_stores(
            args.workdir, specs, replace=args.initialization or args.overwrite,
            inputs=inputs, note=print):
        verb = 'wrote' if written else 'reusing'
        print(f'{verb} {store.path}: {store.num_task} tasks, {store.ways}-way '
              f'{store.shots}-shot, {store.queries} queries per class, '
              f'seed {store.seed}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
