"""How the meta-test uses the CPU cores: parallel chunks, serial kernels.

A meta-test is thousands of small, independent problems. Splitting each
small kernel (a 25 x 90 Cholesky, a 9 x 512 product) over OpenMP threads
costs a barrier per kernel, and when another process holds one of the cores
every barrier waits for the descheduled thread: on a 2-core machine with
one competing process a batched ``cholesky_solve`` of 25 x 90 x 90 went from
2 ms with one thread to 400 ms with two, and a 1000-task Ridge run from 1 s
to 7-18 s (issue 14). So the engine turns intra-op parallelism off (torch,
MKL and NumPy's BLAS on one thread each) and runs whole chunks of tasks in
parallel Python threads instead (torch and NumPy release the GIL inside
their kernels). Threads then share nothing but the work queue: a
descheduled thread delays only its own chunk, and on an idle machine the
chunks fill every core.

A side effect the results rely on: with one intra-op thread every torch
kernel computes a task the same way whatever else is in its batch, so a
task's F1 does not depend on the chunk size or the thread count
(``tests/test_lowshot_determinism.py``).
"""
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Callable, Iterator, List, Optional, Sequence, TypeVar

import torch

T = TypeVar('T')


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def resolve_threads(threads: Optional[int]) -> int:
    """``--threads``: None or 0 means one per available core."""
    if threads is None or threads == 0:
        return available_cores()
    if threads < 0:
        from ..utils import InputError
        raise InputError(f'--threads must be 0 (one per core) or positive, '
                         f'got {threads}')
    return int(threads)


@contextmanager
def serial_kernels() -> Iterator[None]:
    """torch (and its MKL) and NumPy's BLAS on one thread each, restored
    afterwards."""
    from threadpoolctl import threadpool_limits
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(old)


def map_chunks(fn: Callable[[int, int], T], bounds: Sequence[tuple],
               threads: int, on_done: Optional[Callable[[], None]] = None
               ) -> List[T]:
    """``[fn(start, stop) for (start, stop) in bounds]``, on ``threads``
    Python threads, results in order.

    Args:
        fn: solves one chunk of tasks.
        bounds: ``(start, stop)`` task ranges.
        threads: worker threads (1: in this thread).
        on_done: called after each chunk (a progress bar).
    """
    if threads <= 1 or len(bounds) <= 1:
        out = []
        for start, stop in bounds:
            out.append(fn(start, stop))
            if on_done:
                on_done()
        return out

    def run(b):
        r = fn(*b)
        if on_done:
            on_done()
        return r
    with ThreadPoolExecutor(min(threads, len(bounds))) as pool:
        return list(pool.map(run, bounds))
