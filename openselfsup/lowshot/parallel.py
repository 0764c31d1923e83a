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

Threads pay only for chunks with enough arithmetic: every chunk also
runs tens to thousands of small torch calls whose Python dispatch holds the
GIL, so two threads on chunks of tiny kernels take turns, and splitting a
small run into more chunks adds dispatch work. :func:`plan_chunks` gives a
thread (and a chunk) to at least :data:`MIN_PARALLEL_BYTES` of estimated
working set and runs smaller meta-tests on one thread, in as few chunks as
the memory budget allows (issue 14's thread grid:
``benchmarks/bench_threads.py``).

:func:`map_chunks` also counts where its threads' time went (lifetime, CPU
time, time waiting for a CPU): the result's ``execution.thread_time``.
Beside another CPU-bound process, two threads on two cores wait for a CPU
a third of their time; where each also needed much more CPU per task than
one thread alone, the cause was memory both touched anew (a whole chunk's
queries gathered at once, now gathered in runs: ``meta_test.QUERY_BUDGET``),
not threads blocking one another (``benchmarks/RESULTS.md``, "Thread
default").

A side effect the results rely on: with one intra-op thread every torch
kernel computes a task the same way whatever else is in its batch, so a
task's F1 does not depend on the chunk size or the thread count
(``tests/test_lowshot_determinism.py``).

torch is imported by the functions that compute with it, not with the
module: the thread count of ``--threads`` is checked (``sweep.py --check``)
without it.
"""
from __future__ import annotations

import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import (TYPE_CHECKING, Callable, Iterator, List, Optional,
                    Sequence, Tuple, TypeVar)

if TYPE_CHECKING:
    import torch

T = TypeVar('T')

#: smallest estimated working set (bytes) of a chunk worth a thread of its
#: own: below it a chunk's time goes mostly to Python dispatch under the GIL
#: (on 2 cores, 1000 2-way 1-shot tasks at width 128, about 70 MB in all,
#: ran 1.4-1.7x slower on two threads than on one; 1000 9-way 1-shot tasks,
#: about 310 MB, 2.5x faster)
MIN_PARALLEL_BYTES = 64 << 20
#: chunks per thread when there is work enough: the last chunks of the
#: threads end close together
CHUNKS_PER_THREAD = 4


def known_cores() -> Optional[int]:
    """CPU cores this process may run on (its affinity mask; off Linux,
    the machine's), as torch counts them for its DataLoader's suggestion
    of workers; None where the count is not known."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count()


def available_cores() -> int:
    """CPU cores this process may run on (:func:`known_cores`; 1 where
    the count is not known)."""
    return max(1, known_cores() or 1)


def resolve_threads(threads: Optional[int]) -> int:
    """``--threads``: None or 0 means one per available core."""
    if threads is None or threads == 0:
        return available_cores()
    if threads < 0:
        from ..utils import InputError
        raise InputError(f'--threads must be 0 (one per core) or positive, '
                         f'got {threads}')
    return int(threads)


def plan_chunks(num_task: int, max_chunk: int, work_bytes: float,
                threads: int) -> Tuple[int, int]:
    """Tasks per chunk and worker threads of a CPU meta-test.

    Every thread gets chunks of at least :data:`MIN_PARALLEL_BYTES` of
    estimated working set, up to :data:`CHUNKS_PER_THREAD` each; a run too
    small for two such chunks runs on one thread in as few chunks as
    ``max_chunk`` allows. The chunk count is a multiple of the threads, so
    they finish together.

    Args:
        num_task (int): tasks of the run (T > 0).
        max_chunk (int): most tasks per chunk (the memory budget's).
        work_bytes (float): estimated working set of all T tasks.
        threads (int): threads asked for.

    Returns:
        (int, int): tasks per chunk, threads to use.
    """
    useful = int(work_bytes // MIN_PARALLEL_BYTES)
    threads = max(1, min(threads, useful, num_task))
    rounds = min(CHUNKS_PER_THREAD, max(1, useful // threads))
    chunks = max(threads * rounds, math.ceil(num_task / max(1, max_chunk)))
    chunks = math.ceil(chunks / threads) * threads
    return max(1, math.ceil(num_task / chunks)), threads


class ScratchPad:
    """Tensors that each thread reuses from one chunk to the next.

    A fresh CPU tensor of tens of MiB (a chunk's gathered features, the
    drawn shifts) lands on new pages that the kernel zeroes on first touch:
    on 2 cores that took longer than the gather itself (1.6 GB/s into new
    memory against 10 GB/s into memory used before; ``benchmarks/``
    ``RESULTS.md``). ``get`` hands out views of one buffer per name and
    thread, grown when too small; what it returns is overwritten by that
    thread's next ``get`` of the same name, so a caller keeps it for one
    chunk only. On other devices it allocates (their caching allocators
    already reuse memory). Scoped to one meta-test: dropped with it.
    """

    def __init__(self):
        self._local = threading.local()

    def get(self, name: str, shape: Sequence[int], dtype: torch.dtype,
            device: torch.device) -> torch.Tensor:
        """An uninitialised tensor of ``shape`` (contents are garbage)."""
        import torch
        if torch.device(device).type != 'cpu':
            return torch.empty(shape, dtype=dtype, device=device)
        bufs = self._local.__dict__.setdefault('bufs', {})
        size = math.prod(shape)
        buf = bufs.get((name, dtype))
        if buf is None or buf.numel() < size:
            buf = bufs[(name, dtype)] = torch.empty(size, dtype=dtype)
        return buf[:size].view(tuple(shape))

    def gather(self, name: str, pool: torch.Tensor, idx: torch.Tensor,
               dtype: Optional[torch.dtype] = None) -> torch.Tensor:
        """``pool[idx].to(dtype)`` (rows of a ``[N, D]`` pool, ``idx`` of any
        shape) into this thread's buffers ``name`` (and ``name + '.f'`` for
        the conversion)."""
        import torch
        dtype = dtype or pool.dtype
        shape = (*idx.shape, pool.shape[1])
        flat = idx.reshape(-1)
        out = self.get(name, (flat.numel(), pool.shape[1]), pool.dtype,
                       pool.device)
        torch.index_select(pool, 0, flat, out=out)
        if dtype != pool.dtype:
            out = self.get(name + '.f', out.shape, dtype, pool.device
                           ).copy_(out)
        return out.view(shape)


@contextmanager
def serial_kernels() -> Iterator[None]:
    """torch (and its MKL) and NumPy's BLAS on one thread each, restored
    afterwards."""
    import torch
    from threadpoolctl import threadpool_limits
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(old)


def thread_clock() -> Tuple[float, float, Optional[float]]:
    """Now, for the calling thread: wall clock, CPU time and time spent
    waiting for a CPU on a run queue (seconds; the last from Linux's
    ``/proc/self/task/<tid>/schedstat``, None where the kernel does not
    report it)."""
    wait = None
    try:
        with open(f'/proc/self/task/{threading.get_native_id()}/schedstat'
                  ) as f:
            wait = int(f.read().split()[1]) / 1e9
    except (OSError, ValueError, IndexError):
        pass
    return time.perf_counter(), time.thread_time(), wait


#: the calling worker's stop event (:func:`map_chunks`), None elsewhere
_worker = threading.local()


class ChunkStopped(Exception):
    """Raised by :func:`check_stop` in a worker thread whose
    :func:`map_chunks` caller has stopped (a Ctrl-C)."""


def check_stop() -> None:
    """Raise :class:`ChunkStopped` in a :func:`map_chunks` worker thread
    once the caller has stopped; elsewhere (the caller's own thread, no
    map_chunks) nothing. Loops that keep a chunk busy for long (the
    L-BFGS iterations of logistic regression) call it once per pass, so
    that a Ctrl-C does not wait for the chunks in hand to be solved."""
    stop = getattr(_worker, 'stop', None)
    if stop is not None and stop.is_set():
        raise ChunkStopped('the meta-test was stopped')


def map_chunks(fn: Callable[[int, int], T], bounds: Sequence[tuple],
               threads: int, on_done: Optional[Callable[[], None]] = None,
               times: Optional[dict] = None) -> List[T]:
    """``[fn(start, stop) for (start, stop) in bounds]``, on ``threads``
    Python threads, results in order.

    Args:
        fn: solves one chunk of tasks.
        bounds: ``(start, stop)`` task ranges.
        threads: worker threads (1: in this thread).
        on_done: called after each chunk (a progress bar).
        times (dict, optional): receives, summed over the worker threads,
            ``wall_s`` (each thread's time from its start to its end),
            ``cpu_s`` (their CPU time) and ``cpu_wait_s`` (their time spent
            waiting for a CPU, None where unknown): what is left of
            ``wall_s`` they slept (the GIL, the queue). Costs two clock
            reads per thread.

    When the caller stops while it waits (a Ctrl-C) or a chunk fails, the
    workers take no further chunk and leave the one in hand at its next
    :func:`check_stop`; the call then raises (the Ctrl-C, or the failed
    chunk's error, not the :class:`ChunkStopped` of the chunks it
    stopped).
    """
    # Each worker loops over the chunks and the caller waits once per
    # worker. (``ThreadPoolExecutor.map`` made the caller wait on every
    # chunk's future in turn: it woke after each of hundreds of chunks, a
    # third thread taking the GIL and a core beside the two workers; with one
    # competing process on 2 cores, runs of 200+ chunks were 1.05-1.25x
    # slower on two threads than on one, 0.88-0.98x with this loop.)
    out: List[T] = [None] * len(bounds)
    todo = iter(enumerate(bounds))
    lock = threading.Lock()
    clocks = []
    stop = threading.Event()  # the caller stopped: see check_stop

    def drain():  # the workers take no further chunk
        with lock:
            for _ in todo:
                pass

    def work():
        start = thread_clock()
        _worker.stop = stop
        try:
            while True:
                with lock:
                    item = next(todo, None)
                if item is None:
                    return
                try:
                    out[item[0]] = fn(*item[1])
                except BaseException as exc:
                    if not isinstance(exc, ChunkStopped):
                        # the other workers leave their chunks in hand (the
                        # caller, waiting on the futures in order, reached
                        # this one's only after theirs: they solved them to
                        # their end first)
                        stop.set()
                    drain()
                    raise
                if on_done:
                    on_done()
        finally:
            _worker.stop = None
            end = thread_clock()
            with lock:
                clocks.append((start, end))

    n = max(1, min(threads, len(bounds)))
    if n == 1:
        work()
    else:
        with ThreadPoolExecutor(n) as pool:
            futures = []
            try:
                # submitted inside the try: a Ctrl-C landing between two
                # submits, the first worker solving, left before the stop
                # was set, and the ``with`` waited for every chunk
                for _ in range(n):
                    futures.append(pool.submit(work))
                for f in futures:
                    try:
                        f.result()
                    except ChunkStopped:
                        pass  # stopped by another chunk's error: raised next
            except BaseException:
                # a Ctrl-C lands here, in the waiting caller (Python runs
                # signal handlers in the main thread), and leaving the
                # ``with`` waits for the workers: they take no further
                # chunk and leave the one they solve at its next
                # check_stop (they ran every chunk left before: a Ctrl-C
                # took effect when the setting was done, minutes later)
                stop.set()
                drain()
                raise
    if times is not None:
        waits = [e[2] - s[2] for s, e in clocks if None not in (s[2], e[2])]
        times.update(wall_s=sum(e[0] - s[0] for s, e in clocks),
                     cpu_s=sum(e[1] - s[1] for s, e in clocks),
                     cpu_wait_s=sum(waits) if len(waits) == len(clocks)
                     else None)
    return out
