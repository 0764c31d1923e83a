"""Chunk planning and per-thread scratch buffers of the CPU meta-test."""
import math
import time
import threading

import pytest
import torch

from openselfsup.lowshot.parallel import (MIN_PARALLEL_BYTES, ScratchPad,
                                          plan_chunks)


@pytest.mark.parametrize('num_task,max_chunk,work,threads', [
    (1000, 1000, 10 * MIN_PARALLEL_BYTES, 2),
    (1000, 7, 100 * MIN_PARALLEL_BYTES, 2),
    (1000, 1000, MIN_PARALLEL_BYTES // 2, 2),   # too small for a thread
    (1000, 3, MIN_PARALLEL_BYTES // 2, 2),      # small, but memory-bound
    (5, 1000, 1000 * MIN_PARALLEL_BYTES, 8),    # fewer tasks than threads
    (1, 1, 0, 4),
])
def test_plan_chunks_covers_the_run_within_the_budget(num_task, max_chunk,
                                                      work, threads):
    size, used = plan_chunks(num_task, max_chunk, work, threads)
    chunks = math.ceil(num_task / size)
    assert 1 <= size <= max_chunk
    assert 1 <= used <= min(threads, num_task)
    # a thread is only given to MIN_PARALLEL_BYTES of work or more
    assert used == 1 or work / used >= MIN_PARALLEL_BYTES
    if work < 2 * MIN_PARALLEL_BYTES:
        assert used == 1
        # one thread: as few chunks as the memory budget allows
        assert chunks == math.ceil(num_task / max_chunk)
    else:
        assert used == min(threads, num_task, work // MIN_PARALLEL_BYTES)


def test_scratch_gather_equals_indexing_and_reuses_memory():
    g = torch.Generator().manual_seed(0)
    pool = torch.randn(50, 6, generator=g)
    pad = ScratchPad()
    idx = torch.randint(0, 50, (3, 4), generator=g)
    out = pad.gather('q', pool, idx, torch.float64)
    assert out.dtype == torch.float64 and out.shape == (3, 4, 6)
    assert torch.equal(out, pool[idx].double())
    first = out.data_ptr()
    # a smaller request of the same name reuses the buffer (and overwrites)
    idx2 = torch.randint(0, 50, (2, 4), generator=g)
    out2 = pad.gather('q', pool, idx2, torch.float64)
    assert torch.equal(out2, pool[idx2].double())
    assert out2.data_ptr() == first
    # another name, another buffer; same dtype as the pool: no conversion
    out3 = pad.gather('s', pool, idx2)
    assert out3.dtype == pool.dtype and out3.data_ptr() != first
    # another thread gets its own buffers
    seen = []
    t = threading.Thread(target=lambda: seen.append(
        pad.gather('q', pool, idx2, torch.float64).data_ptr()))
    t.start()
    t.join()
    assert seen[0] != first


def test_result_records_the_threads_and_chunks_the_run_used(tmp_path):
    """The result's execution block holds what the meta-test ran with: a
    tiny run asked for 2 threads runs on one thread in one chunk
    (plan_chunks); an explicit --chunk_size is kept with the threads."""
    from lowshot_data import make_workdir
    from openselfsup.lowshot.meta_test import Inputs, evaluate
    from openselfsup.lowshot.spec import RunSpec
    from openselfsup.lowshot.tasks import generate_task_store
    wd = make_workdir(str(tmp_path / 'w'), dim=8)
    spec = RunSpec('clp', 'near', 1, clf='nearest_centroid', num_task=6)
    generate_task_store(wd, spec.tasks)
    auto = evaluate(Inputs(wd), spec, threads=2)['execution']
    assert (auto['threads'], auto['chunk_size']) == (1, 6)
    fixed = evaluate(Inputs(wd), spec, threads=2, chunk_size=2)['execution']
    assert (fixed['threads'], fixed['chunk_size']) == (2, 2)


def _cell(low, plans):
    return {'min_s': low, 'median_s': low,
            'plans': {k: {'threads': t, 'chunk_size': c}
                      for k, (t, c) in plans.items()}}


def test_thread_grid_verdict_compares_with_the_other_plan():
    """benchmarks/bench_threads.verdict, hand-computed: where the default ran
    the plan of --threads 2, the verdict is default over --threads 1 (the
    only setting that ran other work) and the twin's gap is noise; with all
    plans equal there is nothing to lose; with no twin, the best of both."""
    from benchmarks.bench_threads import verdict
    twin = {'default': (2, 5), '1': (1, 10), '2': (2, 5)}
    v = verdict(_cell({'default': 1.1, '1': 1.0, '2': 1.2}, twin))
    assert v['default_over_other'] == pytest.approx(1.1)
    assert v['same_plan_as'] == ['2']
    assert v['noise'] == pytest.approx(1.1 / 1.2 - 1)
    # the twin measured faster: as measured 1.2x, but the other plan is slower
    v = verdict(_cell({'default': 1.2, '1': 1.3, '2': 1.0}, twin))
    assert v['default_over_best'] == pytest.approx(1.2)
    assert v['default_over_other'] == pytest.approx(1.2 / 1.3)
    same = {'default': (1, 9), '1': (1, 9), '2': (1, 9)}
    assert verdict(_cell({'default': 2.0, '1': 1.0, '2': 1.5},
                         same))['default_over_other'] == 1.0
    alone = {'default': (4, 5), '1': (1, 10), '2': (2, 5)}
    v = verdict(_cell({'default': 1.0, '1': 0.5, '2': 0.8}, alone))
    assert v['default_over_other'] == pytest.approx(2.0)
    assert v['noise'] is None


def test_thread_grid_runs_and_records_plans(tmp_path, capsys):
    """One tiny cell of the grid, end to end: the plans come from meta_test."""
    import json
    from benchmarks import bench_threads
    out = tmp_path / 'g.json'
    bench_threads.main(['--ways', '2', '--shots', '1', '--widths', '16',
                        '--modes', 'linear', '--clfs', 'nearest_centroid',
                        '--conditions', 'idle', '--repeat', '1',
                        '--min_sample_s', '0', '--shift_vectors', '20',
                        '--output', str(out)])
    (cell,) = json.loads(out.read_text())['cells']
    assert set(cell['plans']) == {'default', '1', '2'}
    assert cell['plans']['1']['threads'] == 1
    assert 'summary: default within 5%' in capsys.readouterr().out
    # --recheck measures again only the cells over 5%, with their task count
    late = {**cell, 'num_task': 7, 'min_s': {'default': 2.0, '1': 1.0,
                                             '2': 2.0},
            'plans': {'default': {'threads': 2, 'chunk_size': 4},
                      '1': {'threads': 1, 'chunk_size': 7},
                      '2': {'threads': 2, 'chunk_size': 4}}}
    saved = tmp_path / 'first.json'
    saved.write_text(json.dumps({'cells': [cell, late]}))
    again = tmp_path / 'again.json'
    bench_threads.main(['--recheck', str(saved), '--repeat', '2',
                        '--min_sample_s', '0', '--widths', '16',
                        '--shift_vectors', '20', '--output', str(again)])
    redone = json.loads(again.read_text())
    assert redone['recheck_of'] == str(saved)
    assert [(c['num_task'], len(c['runs_s']['1'])) for c in redone['cells']
            ] == [(7, 2)]


def test_map_chunks_keeps_order_and_accounts_the_threads_time():
    """Results in chunk order whatever thread solved them; ``times`` sums
    the worker threads' lifetime, CPU time and time waiting for a CPU."""
    import hashlib
    import time
    from openselfsup.lowshot.parallel import available_cores, map_chunks
    bounds = [(i, i + 1) for i in range(6)]

    def spin(a, b):  # CPU-bound, holding the GIL
        t = time.thread_time()
        while time.thread_time() - t < 0.02:
            pass
        return a

    def nap(a, b):  # sleeps: no CPU time
        time.sleep(0.02)
        return a

    for fn, busy in ((spin, True), (nap, False)):
        times = {}
        assert map_chunks(fn, bounds, 2, None, times) == list(range(6))
        assert times['wall_s'] >= 6 * 0.02
        if busy:
            assert times['cpu_s'] >= 6 * 0.02
        else:
            assert times['cpu_s'] < 0.05
    # more CPU-bound threads than cores (hashing releases the GIL): they
    # must have waited for a CPU, and the kernel's count says so on Linux
    data = b'x' * (40 << 20)
    n = available_cores() + 1
    times = {}
    map_chunks(lambda a, b: hashlib.sha256(data).digest(),
               [(i, i + 1) for i in range(2 * n)], n, None, times)
    if times['cpu_wait_s'] is not None:
        assert 0.01 < times['cpu_wait_s'] < times['wall_s']
    # a failing chunk fails the call
    with pytest.raises(ZeroDivisionError):
        map_chunks(lambda a, b: 1 // (a - 3), bounds, 2)


def test_map_chunks_caller_waits_once_per_thread_not_per_chunk():
    """The calling thread sleeps through the run: it is scheduled a few
    times, not once per chunk (waking after every chunk made it a third
    thread competing for the cores; kernel's count of the thread's time
    slices, Linux only)."""
    import threading
    import time
    from openselfsup.lowshot.parallel import map_chunks
    path = f'/proc/self/task/{threading.get_native_id()}/schedstat'
    try:
        with open(path) as f:
            before = int(f.read().split()[2])
    except (OSError, ValueError, IndexError):
        pytest.skip('no per-thread schedstat here')
    chunks = [(i, i + 1) for i in range(120)]
    assert map_chunks(lambda a, b: time.sleep(0.001) or a, chunks, 2
                      ) == list(range(120))
    with open(path) as f:
        slices = int(f.read().split()[2]) - before
    assert slices < 30, slices


_STOPPED_CHILD = '''
import sys, time
from openselfsup.lowshot import parallel
from openselfsup.lowshot.parallel import map_chunks
check_stop = getattr(parallel, 'check_stop', lambda: None)  # (before)
steps = []
def solve(a, b):  # a chunk: 25 steps, each checking for a stop
    for _ in range(25):
        steps.append(a)
        if len(steps) == 1:
            open(sys.argv[1], 'w').close()
        time.sleep(0.02)
        check_stop()
    return a
try:
    map_chunks(solve, [(i, i + 1) for i in range(20)], 2)
finally:
    print(len(steps), flush=True)
'''


def test_ctrl_c_stops_a_threaded_map_chunks_within_its_chunks(tmp_path):
    """A Ctrl-C while worker threads solved the chunks reached the caller,
    waiting on them, and the workers went on through every chunk left:
    a threaded meta-test (logistic regression, latent augmentation) ran
    its setting to the end, minutes, before the sweep stopped. Now they
    take no further chunk and leave the one in hand at its next
    check_stop (20 chunks of 25 steps: all 500 steps ran before)."""
    import os
    import signal
    import subprocess
    import sys
    import time
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    started = tmp_path / 'started'
    child = subprocess.Popen(
        [sys.executable, '-c', _STOPPED_CHILD, str(started)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=dict(os.environ, PYTHONPATH=repo),
        # a Ctrl-C's default action (pytest's runner may ignore SIGINT)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 60
    while not started.exists() and child.poll() is None and \
            time.time() < deadline:
        time.sleep(0.01)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert 'KeyboardInterrupt' in err, err[-2000:]
    # each of the two workers finishes at most the step in hand
    assert int(out.strip()) < 2 * 25, out


def test_ctrl_c_while_the_workers_start_stops_them(monkeypatch):
    """A Ctrl-C that lands while map_chunks starts its workers (the first
    already solving, the caller still submitting the second) left the
    caller before it could set the stop, and leaving the pool's ``with``
    waited for the first worker to solve every chunk: all 500 steps, seen
    as a flaky failure of the test above on a loaded machine. Here the
    second submit raises the Ctrl-C once the first worker has started."""
    from concurrent.futures import ThreadPoolExecutor
    from openselfsup.lowshot import parallel
    started = threading.Event()
    steps = []

    class Interrupted(ThreadPoolExecutor):
        def submit(self, *args, **kwargs):
            if started.is_set() or getattr(self, '_submitted', False):
                assert started.wait(10)
                raise KeyboardInterrupt
            self._submitted = True
            return super().submit(*args, **kwargs)

    def solve(a, b):  # a chunk: 25 steps, each checking for a stop
        for _ in range(25):
            steps.append(a)
            started.set()
            time.sleep(0.002)
            parallel.check_stop()
        return a

    monkeypatch.setattr(parallel, 'ThreadPoolExecutor', Interrupted)
    with pytest.raises(KeyboardInterrupt):
        parallel.map_chunks(solve, [(i, i + 1) for i in range(20)], 2)
    # the one worker that started finishes at most the step in hand
    assert len(steps) <= 25, len(steps)


def test_logistic_regression_leaves_a_stopped_chunk():
    """The L-BFGS loop checks for a stopped map_chunks once per iteration
    (a chunk of logistic regression is the meta-test's longest), and
    runs as before where nothing stopped."""
    import threading
    from openselfsup.lowshot import parallel
    from openselfsup.lowshot.classifiers import build_classifier
    g = torch.Generator().manual_seed(0)
    X = torch.randn(4, 12, 8, generator=g, dtype=torch.float64)
    y = torch.arange(3).repeat(4, 4)
    stop = threading.Event()
    parallel._worker.stop = stop
    try:
        stop.set()
        with pytest.raises(parallel.ChunkStopped):
            build_classifier('logistic_regression').fit(X, y)
        stop.clear()
        build_classifier('logistic_regression').fit(X, y)
    finally:
        parallel._worker.stop = None


def test_an_error_in_one_chunk_stops_the_chunks_in_hand():
    """map_chunks' docstring: when one chunk fails, the other workers
    leave the chunk they solve at its next check_stop, and the call
    raises that chunk's error. The stop was set only by the waiting
    caller, which reaches the failed chunk's future after the earlier
    workers' futures: a worker on a long chunk (logistic regression)
    solved it to its end before the error was raised. Here chunk 0 would
    run 200 steps of 10 ms; chunk 1 fails once chunk 0 has started."""
    from openselfsup.lowshot.parallel import check_stop, map_chunks
    started = threading.Event()
    steps = []

    def solve(a, b):
        if a == 1:
            started.wait(10)
            raise ValueError('chunk 1 failed')
        for _ in range(200):
            steps.append(a)
            started.set()
            time.sleep(0.01)
            check_stop()
        return a

    with pytest.raises(ValueError, match='chunk 1 failed'):
        map_chunks(solve, [(0, 1), (1, 2)], 2)
    assert 0 < len(steps) < 100, len(steps)
