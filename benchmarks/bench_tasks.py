"""Task generation: 1000 near-domain tasks (9-way 10-shot, 15 queries) at
paper scale as one index store, against writing one file per task as the
original did (one ``.npz`` of that task's support/query indices and labels).

    python -m benchmarks.bench_tasks --output benchmarks/results/tasks.json
"""
import os
import shutil
import sys
import tempfile
import time

import numpy as np

if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))

from benchmarks._common import add_output, count, machine, parse, parser, \
    run_main, save
from benchmarks.fixtures import make_labels
from openselfsup.lowshot.spec import TaskSpec
from openselfsup.lowshot.tasks import sample_tasks


def main(argv=None):
    p = parser(__doc__)
    p.add_argument('--num_task', type=count, default=1000,
                   help='tasks (9-way, 15 queries per class)')
    p.add_argument('--shots', type=count, default=10,
                   help='support images per class')
    add_output(p)
    args = parse(p, argv)
    s_lab, _ = make_labels('NCT_train')
    q_lab, _ = make_labels('NCT_test')
    tmp = tempfile.mkdtemp(prefix='bench_tasks_')
    try:
        t0 = time.perf_counter()
        store = sample_tasks(TaskSpec('near', args.shots, args.num_task,
                                      novel_class=0), s_lab, q_lab)
        store.save(os.path.join(tmp, 'store.npz'))
        one_store = time.perf_counter() - t0
        t0 = time.perf_counter()
        os.makedirs(os.path.join(tmp, 'per_task'))
        for t in range(args.num_task):
            np.savez(os.path.join(tmp, 'per_task', f'task_{t}.npz'),
                     support_idx=store.support_idx[t],
                     query_idx=store.query_idx[t],
                     support_labels=store.support_labels[t],
                     query_labels=store.query_labels[t])
        per_file_write = time.perf_counter() - t0
        t0 = time.perf_counter()
        for t in range(args.num_task):
            with np.load(os.path.join(tmp, 'per_task', f'task_{t}.npz')) as z:
                _ = z['support_idx'], z['query_idx']
        per_file_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        with np.load(os.path.join(tmp, 'store.npz')) as z:
            _ = z['support_idx'], z['query_idx']
        store_read = time.perf_counter() - t0
    finally:
        shutil.rmtree(tmp)
    out = {'machine': machine(), 'args': vars(args),
           'store_sample_and_write_s': one_store,
           'per_task_files_write_only_s': per_file_write,
           'store_read_s': store_read, 'per_task_files_read_s': per_file_read}
    print(f'{args.num_task} tasks, 9-way {args.shots}-shot, NCT sizes')
    print(f'  one store: sample + write {one_store * 1e3:8.1f} ms, read '
          f'{store_read * 1e3:6.1f} ms')
    print(f'  one file per task: write only {per_file_write * 1e3:8.1f} ms '
          f'({per_file_write / one_store:.1f}x), read '
          f'{per_file_read * 1e3:6.1f} ms '
          f'({per_file_read / max(store_read, 1e-9):.0f}x)')
    save(args.output, out)


if __name__ == '__main__':
    run_main(main)
