"""How often an out-domain task's 15 queries of one class hold one image
twice, on the published PAIP19 test list (which names some patches more
than once): the published draw (``np.random.choice(rows, 15)``, with
replacement) against this project's sampler (``sample_tasks``, without
replacement). The figure docs/iclr22_protocol.md quotes.

    python -m benchmarks.paip_query_repeats \
        --output benchmarks/results/paip_query_repeats.json      # ~6 s
"""
import os
import sys

import numpy as np

if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))

from benchmarks._common import add_output, count, parse, parser, run_main, \
    save
from openselfsup.datasets.splits import read_published
from openselfsup.lowshot.spec import NUM_QUERIES, TaskSpec
from openselfsup.lowshot.tasks import sample_tasks


def repeated_share(draws: np.ndarray, image: np.ndarray) -> float:
    """Share of the rows of ``draws`` (list rows, one query set each) that
    name one image twice (``image``: an image id per list row)."""
    ids = np.sort(image[draws], axis=1)
    return float((ids[:, 1:] == ids[:, :-1]).any(axis=1).mean())


def main(argv=None):
    p = parser(__doc__)
    p.add_argument('--num_task', type=count, default=20000,
                   help='tasks drawn per side (default: %(default)s)')
    p.add_argument('--seed', type=int, default=0, help='seed of both draws')
    add_output(p)
    args = parse(p, argv)
    train, test = read_published('paip_train'), read_published('paip_test')
    _, image = np.unique([path for path, _ in test], return_inverse=True)
    labels = np.array([label for _, label in test])
    store = sample_tasks(TaskSpec('out', 1, args.num_task, seed=args.seed),
                         np.array([label for _, label in train]), labels)
    ours = store.query_idx.reshape(-1, NUM_QUERIES)  # one class's queries
    rng = np.random.RandomState(args.seed)  # the published generator
    published = np.concatenate([
        np.stack([rng.choice(np.flatnonzero(labels == c), NUM_QUERIES)
                  for _ in range(args.num_task)])
        for c in np.unique(labels)])
    out = {'args': vars(args), 'query_sets': int(len(ours)),
           'published_with_replacement': repeated_share(published, image),
           'project_without_replacement': repeated_share(ours, image)}
    print(f'{len(ours)} query sets of {NUM_QUERIES} per side, PAIP19 '
          'published test list:')
    print(f"  published (with replacement):   "
          f"{100 * out['published_with_replacement']:.2f}% hold an image "
          'twice')
    print(f"  this project (without):         "
          f"{100 * out['project_without_replacement']:.2f}%")
    save(args.output, out)


if __name__ == '__main__':
    run_main(main)
