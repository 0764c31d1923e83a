"""``reuse_batch_memory`` (issue 16): the batched views' data-loader
workers collate into shared-memory slots reused from batch to batch
(``openselfsup.datasets.batch_ring``): the batches equal the normal
path's byte for byte, a slot is not reused while any tensor views it, a
consumer that keeps its batches gets them the normal way (no hang), no
shared memory is left behind an epoch (also under torch's
``file_system`` sharing strategy), a batch failing to collate gives its
slot back, and the key is refused where it
cannot apply.

The loader's ``pin_memory=True`` path (torch's pinning thread, which
unpickles the batch, copies it into pinned memory and drops the slot) is
exercised on the CPU with torch's own pinning thread and a stand-in copy
for ``pin_memory`` (the accelerator's functions patched); the real CUDA
pinning is not run here.
"""
import copy
import functools
import gc
import os
import time

import numpy as np
import pytest
import torch
from mmengine.config import Config
from torch.utils.data import DataLoader, Dataset
from _foundation_helpers import (CLP_DEMO, REPO, checkpoint_tensors,
                                 small_config)

CLP = os.path.join(REPO, 'configs/wsi_selfsup/moco_v3/r18_bs256_ep200_all.py')


class Decoded(Dataset):
    """``n`` decoded 3 x 8 x 8 uint8 images, each its own (seeded by its
    index), with an index as its data sample."""

    def __init__(self, n: int = 40):
        self.n = n

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        g = torch.Generator().manual_seed(i)
        return dict(inputs=torch.randint(0, 256, (3, 8, 8), generator=g,
                                         dtype=torch.uint8),
                    data_samples=i)


def _loader(ring: bool, n: int = 40, **kwargs) -> DataLoader:
    from openselfsup.datasets.batch_aug import decoded_collate
    from openselfsup.datasets.batch_ring import reuse_batch_memory
    kwargs = dict(dict(batch_size=6, num_workers=2, timeout=60), **kwargs)
    loader = DataLoader(Decoded(n), collate_fn=functools.partial(
        decoded_collate), **kwargs)
    return reuse_batch_memory(loader) if ring else loader


def _in_slot(tensor: torch.Tensor, it) -> bool:
    """Whether ``tensor``'s data lies in a slot of iterator ``it``'s
    ring."""
    start = tensor.data_ptr()
    return any(v.data_ptr() <= start < v.data_ptr() + v.nbytes
               for v in it._batch_ring._views.values())


def _wait_until_collated(it, timeout: float = 60.0) -> None:
    """Wait until the workers of iterator ``it`` have collated every batch
    asked of them (each waits in the data queue): a slot given back
    meanwhile stays free until the next batch is asked for; before, a
    worker still collating took it at once (a test's check of the freed
    slot failed now and then under load)."""
    end = time.monotonic() + timeout
    while it._data_queue.qsize() < it._tasks_outstanding:
        assert time.monotonic() < end, 'the workers did not collate'
        time.sleep(0.01)


def _epoch(loader: DataLoader):
    """One epoch: ``(inputs cloned, data samples, whether in a slot)`` of
    each batch, the batch dropped before the next is asked for."""
    it, out = iter(loader), []
    for batch in it:
        # (the samples' tensor lies in shared memory: torch's collate in
        # a worker)
        out.append((batch['inputs'].clone(), batch['data_samples'].tolist(),
                    hasattr(it, '_batch_ring')
                    and _in_slot(batch['inputs'], it)))
        del batch
    return out


@pytest.mark.parametrize('persistent', [False, True])
def test_ring_batches_equal_the_normal_paths(persistent):
    """Three epochs (7 batches of 6 images, the last of 4) through two
    workers, with and without the ring: the same bytes, dtype and shape,
    the same data samples; with the ring every batch lies in a slot (the
    consumer drops each one), none without."""
    normal = _loader(False, persistent_workers=persistent)
    ringed = _loader(True, persistent_workers=persistent)
    for _ in range(3):
        want, got = _epoch(normal), _epoch(ringed)
        assert len(want) == len(got) == 7
        for (x, samples, slot), (y, ring_samples, ring_slot) in zip(want,
                                                                    got):
            assert x.dtype == y.dtype == torch.uint8
            assert x.shape == y.shape and x.stride() == y.stride()
            assert torch.equal(x, y)
            assert samples == ring_samples
            assert ring_slot and not slot
        assert got[-1][0].shape[0] == 4


def test_a_slot_is_not_reused_while_a_view_of_it_lives():
    """A slice of batch 0 (a view: the batch and its Python tensor
    dropped) keeps its slot: over the rest of the epoch and the next one,
    its values never change and no batch comes in its slot, while the
    other slots go round; the slot comes back once the slice dies."""
    loader = _loader(True, persistent_workers=True, num_workers=1)
    it = iter(loader)
    batch = next(it)
    kept = batch['inputs'][1:3]
    ptr, copied = kept.data_ptr(), kept.clone()
    assert _in_slot(kept, it)
    del batch
    seen = set()
    for epoch in range(2):
        for batch in (it if epoch == 0 else iter(loader)):
            assert torch.equal(kept, copied)
            seen.add(batch['inputs'].data_ptr())
            assert _in_slot(batch['inputs'], it)
            del batch
    assert torch.equal(kept, copied)
    # the slot of kept (its row 1) never came again; the others went round
    slot = ptr - 3 * 8 * 8
    assert seen and slot not in seen
    del kept
    seen = {batch['inputs'].data_ptr() for batch in iter(loader)}
    assert slot in seen


def test_a_forked_process_collecting_a_batch_keeps_its_slot():
    """A batch in a reference cycle when a process is forked (the next
    epoch's workers) is garbage the child's collector may collect: its
    slot stays the main process's (the child does not give it back), and
    the main process gives it back when it collects the cycle."""
    import multiprocessing
    loader = _loader(True, persistent_workers=True, num_workers=1)
    it = iter(loader)
    batch = next(it)
    lock = it._batch_ring.locks[0][0]
    assert _in_slot(batch['inputs'], it)
    batch['self'] = batch  # a cycle
    del batch
    child = multiprocessing.get_context('fork').Process(target=gc.collect)
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert not lock.acquire(block=False)  # still held
    gc.collect()
    assert lock.acquire(block=False)  # given back
    lock.release()


def test_moving_a_ring_batch_into_shared_memory_copies_it():
    """The documented caveat: a ring batch is not in torch's shared memory
    (``is_shared()`` False, unlike the normal path's); ``share_memory_()``
    (what sending it through a torch.multiprocessing queue does) copies
    it into a new block, the same values, and gives its slot back: a
    numpy array taken from it before no longer holds the slot."""
    loader = _loader(True, persistent_workers=True, num_workers=1)
    assert next(iter(_loader(False, num_workers=1)))['inputs'].is_shared()
    it = iter(loader)
    x = next(it)['inputs']
    lock = it._batch_ring.locks[0][0]
    assert _in_slot(x, it) and not x.is_shared()
    before, array = x.clone(), x.numpy()
    assert not lock.acquire(block=False)
    _wait_until_collated(it)  # else the batch asked for next may take it
    x.share_memory_()
    assert x.is_shared() and not _in_slot(x, it) and torch.equal(x, before)
    assert lock.acquire(block=False)  # the slot given back, array or not
    lock.release()
    assert array.ctypes.data == it._batch_ring._views[0, 0].data_ptr()
    del it


def test_a_consumer_keeping_its_batches_gets_them_the_normal_way():
    """A consumer that keeps every batch holds all of a worker's slots
    (4 with the default prefetch_factor 2): the worker collates the rest
    the normal way, no wait (the loader's timeout would end a hang), the
    same bytes."""
    want = [b['inputs'] for b in _loader(False, n=60, num_workers=1)]
    ringed = _loader(True, n=60, num_workers=1)
    it = iter(ringed)
    got = list(it)
    assert [_in_slot(b['inputs'], it) for b in got] == [True] * 4 + \
        [False] * 6
    for x, batch in zip(want, got):
        assert torch.equal(x, batch['inputs'])


class _FailingSamples(Decoded):
    """``Decoded`` whose data samples do not collate in every other batch
    of 6 (one of them a string among ints)."""

    def __getitem__(self, i):
        item = super().__getitem__(i)
        if i % 12 == 7:
            item['data_samples'] = 'x'
        return item


def test_a_batch_failing_to_collate_gives_its_slot_back():
    """Where the batch's other keys fail to collate in the worker (every
    other batch; the consumer catches the error the loader re-raises), the
    slot is not kept: the batches that collate come in slots, and once
    they are dropped every lock of the worker is free."""
    from openselfsup.datasets.batch_aug import decoded_collate
    from openselfsup.datasets.batch_ring import reuse_batch_memory
    loader = reuse_batch_memory(DataLoader(
        _FailingSamples(120), batch_size=6, num_workers=1,
        persistent_workers=True, timeout=60,
        collate_fn=functools.partial(decoded_collate)))
    it, got = iter(loader), []
    while True:
        try:
            batch = next(it)
        except StopIteration:
            break
        except Exception:  # noqa: BLE001 (the worker's collate error)
            got.append('error')
            continue
        got.append(_in_slot(batch['inputs'], it))
        del batch
    assert got == [True, 'error'] * 10
    locks = it._batch_ring.locks[0]
    assert [lock.acquire(block=False) for lock in locks] == [True] * 4
    for lock in locks:
        lock.release()


def test_a_slot_whose_first_write_fails_sends_its_storage_with_the_next(
        monkeypatch):
    """A new slot whose first stack into it fails (its lock given back)
    is not kept: the next batch written there carries the slot's storage,
    which the main process needs to view it (a slot kept after the failed
    write sent its next batch without it: KeyError in ``view``). Called
    in this process, as worker 0 of one."""
    from openselfsup.datasets.batch_ring import BatchRing
    ring = BatchRing(workers=1, slots=2)
    items = [torch.full((3, 4, 4), i, dtype=torch.uint8) for i in range(2)]
    stack = torch.stack

    def fails_once(*args, **kwargs):
        monkeypatch.setattr(torch, 'stack', stack)
        raise RuntimeError('stand-in failure of the first write')
    monkeypatch.setattr(torch, 'stack', fails_once)
    with pytest.raises(RuntimeError, match='stand-in'):
        ring.take(0, items)
    assert ring.locks[0][0].acquire(block=False)  # given back
    ring.locks[0][0].release()
    ref = ring.take(0, items)
    key, worker, slot, count, storage = ref.args
    assert (worker, slot, count) == (0, 0, 2) and storage is not None
    batch = ring.view(worker, slot, count, storage)
    assert torch.equal(batch, torch.stack(items))
    del batch

def _stand_in_pin(data, device=None):
    """A stand-in for torch's ``pin_memory`` on the CPU: a copy of every
    tensor (a slow one: the slot is held a moment while the workers run
    on), the rest as it is."""
    if isinstance(data, torch.Tensor):
        out = torch.empty_like(data)
        for rows, src in zip(out.split(2), data.split(2)):
            rows.copy_(src)
            time.sleep(0.001)
        return out
    if isinstance(data, dict):
        return {k: _stand_in_pin(v) for k, v in data.items()}
    return data


def test_the_pinning_thread_copies_the_slot_and_gives_it_back(monkeypatch):
    """``pin_memory=True`` on the CPU (the accelerator's functions patched,
    torch's pinning thread copying with a stand-in for ``pin_memory``):
    the thread unpickles each batch as a view of its slot (not in the
    main thread), copies it and drops the slot; two epochs of 20 batches
    through two persistent workers equal the normal path's, none of them
    in a slot, and every slot is free after each epoch. Real CUDA
    pinning is not run here."""
    import threading
    import torch.utils.data._utils.pin_memory as pin
    from openselfsup.datasets.batch_ring import BatchRing
    threads, view = [], BatchRing.view
    monkeypatch.setattr(BatchRing, 'view', lambda self, *a: threads.append(
        threading.current_thread()) or view(self, *a))
    monkeypatch.setattr(torch.accelerator, 'is_available', lambda: True)
    monkeypatch.setattr(torch.accelerator, 'current_accelerator',
                        lambda *a, **k: torch.device('cuda'))
    monkeypatch.setattr(torch.accelerator, 'current_device_index',
                        lambda: 0)
    monkeypatch.setattr(torch.accelerator, 'set_device_index',
                        lambda index: None)
    monkeypatch.setattr(pin, 'pin_memory', _stand_in_pin)
    want = [b['inputs'] for b in _loader(False, n=120)]
    loader = _loader(True, n=120, pin_memory=True, persistent_workers=True)
    for epoch in range(2):
        it = iter(loader)
        assert it._pin_memory
        got = [(b['inputs'], _in_slot(b['inputs'], it)) for b in it]
        assert len(got) == len(want) == 20
        for x, (y, slot) in zip(want, got):
            assert torch.equal(x, y) and not slot
        locks = [lock for worker in it._batch_ring.locks for lock in worker]
        assert [lock.acquire(block=False) for lock in locks] == [True] * 8
        for lock in locks:
            lock.release()
    assert len(threads) == 40
    assert threading.main_thread() not in threads


def _shm_mappings() -> list:
    """This process's mappings of torch's shared-memory blocks (the
    semaphores of torch's queues, also mapped, go with its feeder threads,
    a moment after an iterator ends)."""
    with open('/proc/self/maps') as f:
        return [line.split()[-2] for line in f if '/dev/shm/torch_' in line]


def test_no_shared_memory_is_left_behind_epochs():
    """Without persistent workers each epoch's workers have a ring of their
    own: once an epoch's batches are dropped, nothing of it stays mapped
    (torch's shared blocks mapped in this process: as before the first
    epoch) and no ring is left (its semaphores with it), also after an
    epoch left in the middle."""
    from openselfsup.datasets import batch_ring
    loader = _loader(True)
    gc.collect()
    before = _shm_mappings()
    assert not batch_ring._RINGS
    for epoch in range(3):
        got = _epoch(loader)
        assert all(slot for _, _, slot in got)
        gc.collect()
        assert _shm_mappings() == before, epoch
        assert not batch_ring._RINGS
    for batch in loader:  # left after two batches
        if batch['data_samples'][0] == 6:
            break
    del batch
    gc.collect()
    assert _shm_mappings() == before
    assert not batch_ring._RINGS


@pytest.fixture
def file_system_sharing():
    """torch's ``file_system`` sharing strategy (process-wide) for the
    test, the one before restored after it."""
    import torch.multiprocessing as mp
    before = mp.get_sharing_strategy()
    mp.set_sharing_strategy('file_system')
    yield
    mp.set_sharing_strategy(before)


def test_workers_free_their_slots_under_file_system_sharing(
        file_system_sharing):
    """Under torch's ``file_system`` sharing strategy a block lives in a
    ``/dev/shm/torch_<pid of its maker>_*`` file until every process
    mapping it has freed it (a process that exits without freeing it
    leaves it until the main process exits): without persistent workers,
    once an epoch's batches are dropped, no file of that epoch's workers
    is left (their slots, 2 x 4, were freed as they exited), epoch after
    epoch."""
    loader = _loader(True)
    for epoch in range(3):
        it = iter(loader)
        pids = [w.pid for w in it._workers]
        slots = [_in_slot(batch['inputs'], it) for batch in it]
        assert slots == [True] * 7
        del it
        gc.collect()
        left = [name for name in os.listdir('/dev/shm')
                for pid in pids if name.startswith(f'torch_{pid}_')]
        assert left == [], epoch


def test_without_workers_nothing_changes():
    """``num_workers=0``: the batches are made in the main process (no
    shared memory to save): the normal collate's, no ring."""
    want = _epoch(_loader(False, num_workers=0, timeout=0))
    loader = _loader(True, num_workers=0, timeout=0)
    it = iter(loader)
    assert not hasattr(it, '_batch_ring')
    got = _epoch(loader)
    for (x, _, _), (y, _, slot) in zip(want, got):
        assert torch.equal(x, y) and not slot


@pytest.mark.slow
def test_spawned_workers_use_the_ring():
    """Workers started with ``spawn`` (the ring and its locks pickled to
    them): the same batches, in slots."""
    want = _epoch(_loader(False, n=18, num_workers=1))
    got = _epoch(_loader(True, n=18, num_workers=1,
                         multiprocessing_context='spawn'))
    for (x, _, _), (y, _, slot) in zip(want, got):
        assert torch.equal(x, y) and slot


def test_another_collate_is_refused():
    """The ring reproduces ``decoded_collate``: a loader collating with
    anything else, or with ``decoded_collate`` given arguments, is refused
    in one line, the config's (one check for both:
    ``check_ring_collate``); a ``functools.partial`` of it without
    arguments (as MMEngine builds a config's ``dict(type=...)``) is
    taken."""
    from openselfsup.datasets.batch_aug import decoded_collate
    from openselfsup.datasets.batch_ring import RingLoader, reuse_batch_memory
    from openselfsup.utils import InputError
    for collate in (None, functools.partial(decoded_collate, x=1),
                    functools.partial(decoded_collate, 1)):
        loader = DataLoader(Decoded(), batch_size=2, num_workers=1,
                            collate_fn=collate)
        with pytest.raises(InputError, match=r'^reuse_batch_memory=True '
                           r'collates the images as decoded_collate does, '
                           r'into reused shared memory; the data loader '
                           r'collates with .* set reuse_batch_memory=False '
                           r'\(--cfg-options reuse_batch_memory=False\)$'):
            reuse_batch_memory(loader)
    for collate in (decoded_collate, functools.partial(decoded_collate)):
        loader = DataLoader(Decoded(), batch_size=2, num_workers=1,
                            collate_fn=collate)
        assert isinstance(reuse_batch_memory(loader), RingLoader)


def test_reuse_batch_memory_is_refused_with_a_collate_of_its_own():
    """Refused in one line with a collate of the config's own (here
    ``decoded_collate`` with an argument: a batch the ring would not
    reproduce); on the batched views it sets the training loader's key,
    and only with it, also where a dumped config holds that key (its refusals where there are no batched views or no
    project runner, and of a value other than True / False, beside
    ``prefetch_views``': ``test_pretrain_recipes.py``)."""
    from openselfsup.apis.fast_path import apply_fast_path
    from openselfsup.utils import InputError
    base = Config.fromfile(CLP)
    base.amp, base.augment_on = 'off', 'device'
    cfg = copy.deepcopy(base)
    cfg.reuse_batch_memory = True
    cfg.train_dataloader.collate_fn = dict(type='decoded_collate', x=1)
    with pytest.raises(InputError, match=r'^reuse_batch_memory=True '
                       r'collates the images as decoded_collate does'):
        apply_fast_path(cfg, False)
    # a Python config's function: a partial with arguments refused, one
    # without taken, as the built loader's check takes it (it was refused)
    from openselfsup.datasets.batch_aug import decoded_collate
    for args in ({'x': 1}, {}):
        cfg = copy.deepcopy(base)
        cfg.reuse_batch_memory = True
        cfg.train_dataloader.collate_fn = functools.partial(decoded_collate,
                                                            **args)
        if args:
            with pytest.raises(InputError, match=r'^reuse_batch_memory=True '
                               r'collates the images as decoded_collate'):
                apply_fast_path(cfg, False)
    apply_fast_path(cfg, False)
    assert cfg.train_dataloader.reuse_batch_memory is True
    for reuse in (False, True):
        cfg = copy.deepcopy(base)
        cfg.reuse_batch_memory = reuse
        # the loader's key as a run with it on dumped it: the switch's
        cfg.train_dataloader.reuse_batch_memory = True
        apply_fast_path(cfg, False)
        assert cfg.train_dataloader.get('reuse_batch_memory') is (
            True if reuse else None)


@pytest.mark.slow
def test_a_clp_run_with_the_ring_trains_as_without(synthetic_root,
                                                   tmp_path, monkeypatch):
    """Two epochs of three CLP steps, batched views on the CPU, two
    workers without persistence, with and without ``reuse_batch_memory``,
    and with it beside ``prefetch_views`` (the next batch held while its
    views are made ahead): the same losses and every tensor of the
    checkpoints equal; the runs with it had the ring's loader, and their
    6 batches came in slots."""
    from openselfsup.apis import train
    from openselfsup.datasets.batch_ring import BatchRing, RingLoader
    viewed, view = [], BatchRing.view
    monkeypatch.setattr(BatchRing, 'view', lambda self, *a: viewed.append(
        a[:2]) or view(self, *a))
    root = os.path.join(synthetic_root, 'NCT') + os.sep
    got = {}
    for reuse, prefetch in ((False, False), (True, False), (True, True)):
        work = tmp_path / f'w{reuse}{prefetch}'
        cfg = small_config(CLP_DEMO, str(tmp_path / f'c{reuse}{prefetch}.py'),
                           root, n_images=24, batch=8, epochs=2, workers=2,
                           augment_on='device', reuse_batch_memory=reuse,
                           prefetch_views=prefetch)
        viewed.clear()
        runner = train(cfg, work_dir=str(work), cfg_options={
            'train_dataloader.persistent_workers': False})
        assert runner.iter == 6
        loader = runner.train_loop.dataloader  # in prefetch's wrapper
        loader = getattr(loader, 'loader', loader) if prefetch else loader
        assert isinstance(loader, RingLoader) is reuse
        assert len(viewed) == (6 if reuse else 0)
        losses = runner.message_hub.get_scalar('train/loss').data[0]
        got[reuse, prefetch] = losses, dict(checkpoint_tensors(torch.load(
            work / 'epoch_2.pth', map_location='cpu', weights_only=False)))
    plain = got.pop((False, False))
    for losses, tensors in got.values():
        np.testing.assert_array_equal(losses, plain[0])
        assert tensors.keys() == plain[1].keys()
        for key, value in plain[1].items():
            assert torch.equal(value, tensors[key]), key
