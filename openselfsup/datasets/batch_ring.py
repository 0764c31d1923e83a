"""A ring of reused shared-memory batch buffers for the batched views'
data loader (``reuse_batch_memory``, issue 16).

A batch from the data-loader workers normally lies in a fresh block of
shared memory: the worker stacks the decoded images, torch moves the
stack into shared memory to send it, and the main process frees the
block when it drops the batch (about 25 ms per 256 x 3 x 224 x 224 uint8
batch on the 2-core VM, holding the GIL: benchmarks/RESULTS.md, "CPU: the
loop outside the model step"). With the ring, each worker stacks the
images straight into one of its own shared slots, allocated once, and
sends the main process a reference (worker, slot, shape; the slot's
storage itself only the first time it is used); the main process views
the slot and gives it back when the storage of every tensor viewing it
has died. Nothing is allocated or freed in shared memory per batch in
the steady state.

A batch in a slot is not in torch's shared memory (its ``is_shared()``
is False: its storage is a numpy array's): moving it there
(``share_memory_()``, or sending it through a ``torch.multiprocessing``
queue) copies it into a new block and gives its slot back, so a numpy
array taken from the batch before (``x.numpy()``) no longer holds the
slot and sees the next batch written into it. Nothing in the project
does that; keep a tensor, or copy it, instead.

Never blocking, never wrong: where a worker finds none of its slots
free (the consumer keeps its batches), or a batch does not fit its slots
(other image size or dtype, more images than the first batch had, items
that are not ``dict(inputs=tensor, ...)``), it collates that batch the
normal way. A slot is taken with a non-blocking acquire of its
multiprocessing lock in the worker and given back by a release in the
main process (a semaphore: the worker's writes and the main process's
reads are ordered by it, on any CPU).

Each set of workers (each iterator of a loader without persistent
workers, the one iterator of a loader with them) has its own ring: the
slots of workers that ended are freed with the iterator and the batches
still viewing them, never reused by another set. A worker drops its
slots as it exits (under torch's ``file_system`` sharing strategy their
``/dev/shm`` files would otherwise stay until the main process exits).
"""
import functools
import itertools
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple
from weakref import WeakValueDictionary

import numpy as np
import torch
from torch.utils.data import DataLoader, get_worker_info

#: the rings of this process's live iterators, by key: where a batch's
#: reference is unpickled (the main thread, or the loader's pinning
#: thread) finds its ring
_RINGS: 'WeakValueDictionary[str, BatchRing]' = WeakValueDictionary()
_KEYS = itertools.count()


class BatchRing:
    """The slots of one set of data-loader workers.

    Args:
        workers (int): the number of workers.
        slots (int): slots per worker.
        context: the multiprocessing context the workers start in (the
            loader's ``multiprocessing_context``; None: the default).
    """

    def __init__(self, workers: int, slots: int, context=None):
        import multiprocessing
        ctx = multiprocessing.get_context(context) if isinstance(
            context, str) or context is None else context
        self.key = f'{os.getpid()}-{next(_KEYS)}'
        self.locks = [[ctx.Lock() for _ in range(slots)]
                      for _ in range(workers)]
        # the main process's views of the slots, by (worker, slot); a
        # worker's own slots (allocated at its first batch that fits)
        self._views: Dict[Tuple[int, int], torch.Tensor] = {}
        self._own: List[Optional[torch.Tensor]] = [None] * slots
        self._exit_free = None  # (in a worker) frees _own as it exits
        _RINGS[self.key] = self

    def __getstate__(self):  # to a spawned worker: no views
        return dict(key=self.key, locks=self.locks, _views={},
                    _own=[None] * len(self.locks[0]), _exit_free=None)

    def take(self, worker: int, items: Sequence[torch.Tensor]):
        """In worker ``worker``: the stack of ``items`` (tensors of one
        shape and dtype) written into a free slot of its own, as the
        reference the main process rebuilds; None where no slot is free
        or the stack does not fit the slots."""
        first, count = items[0], len(items)
        own = self._own
        sized = next((t for t in own if t is not None), None)
        if sized is not None and (sized.dtype != first.dtype
                                  or sized.shape[1:] != first.shape):
            return None
        for slot, lock in enumerate(self.locks[worker]):
            if own[slot] is not None and count > own[slot].shape[0] or \
                    not lock.acquire(block=False):
                continue
            target = own[slot]
            new = target is None
            try:
                if self._exit_free is None:
                    self._exit_free = _free_at_exit(own)
                if new:  # as many images as the largest batch so far
                    most = max([count] + [t.shape[0] for t in own
                                          if t is not None])
                    target = torch.empty((most,) + tuple(first.shape),
                                         dtype=first.dtype)
                    target.share_memory_()
                torch.stack(list(items), out=target[:count])
            except BaseException:
                lock.release()
                raise
            # a new slot is kept only once its first batch is in it: that
            # batch's reference carries its storage (a slot kept after a
            # failed first write would send its next batch without it)
            own[slot] = target
            return _SlotBatch(self.key, worker, slot, count,
                              target if new else None)
        return None

    def view(self, worker: int, slot: int, count: int,
             storage: Optional[torch.Tensor]) -> torch.Tensor:
        """In the main process: the first ``count`` items of a slot, in a
        tensor whose storage gives the slot back when it dies."""
        if storage is not None:
            self._views[worker, slot] = storage
        whole = self._views[worker, slot]
        part = whole[:count]
        hold = _SlotHold(whole, part.data_ptr(),
                         part.numel() * part.element_size(),
                         self.locks[worker][slot])
        return torch.from_numpy(np.asarray(hold)).view(whole.dtype).view(
            part.shape)


def _free_at_exit(own: List[Optional[torch.Tensor]]):
    """Drops a worker's slots (``own``) as it exits. A worker ends with
    ``os._exit``, its objects never freed: under torch's ``file_system``
    sharing strategy a slot's ``/dev/shm/torch_*`` file is unlinked when
    the last process mapping it frees it, so without this the files of
    every set of workers would stay until the main process exits (the
    default ``file_descriptor`` strategy frees them with the process)."""
    from multiprocessing.util import Finalize

    def free():
        own[:] = [None] * len(own)
    return Finalize(None, free, exitpriority=0)


class _SlotHold:
    """The base of the numpy array that a rebuilt batch's storage holds:
    its ``__del__`` (when the storage of every tensor viewing the slot has
    died) releases the slot's lock; it keeps the slot's mapping alive.
    Only in the process that made it: a process forked from it (the next
    epoch's workers) holds a copy, which its garbage collector may
    collect where the batch was in a reference cycle, and that release
    would give the slot to a worker while the main process views it."""

    def __init__(self, whole: torch.Tensor, address: int, size: int, lock):
        self._whole, self._lock, self._pid = whole, lock, os.getpid()
        self.__array_interface__ = dict(
            version=3, shape=(size,), typestr='|u1', data=(address, False))

    def __del__(self):
        if os.getpid() != self._pid:
            return
        try:
            self._lock.release()
        except Exception:  # at interpreter shutdown
            pass


class _SlotBatch:
    """A worker's reference to a batch in a slot; unpickled in the main
    process as the tensor viewing it (:meth:`BatchRing.view`)."""

    def __init__(self, key: str, worker: int, slot: int, count: int,
                 storage: Optional[torch.Tensor]):
        self.args = (key, worker, slot, count, storage)

    def __reduce__(self):
        return _rebuilt, self.args


def _rebuilt(key: str, worker: int, slot: int, count: int,
             storage: Optional[torch.Tensor]) -> torch.Tensor:
    ring = _RINGS.get(key)
    if ring is None:
        raise RuntimeError(f'reuse_batch_memory: a batch of ring {key} '
                           'arrived after its data loader iterator ended')
    return ring.view(worker, slot, count, storage)


class RingCollate:
    """``decoded_collate`` (``inner``, or a ``functools.partial`` of it)
    writing the batch's images into the ring's slots in a worker
    (:meth:`BatchRing.take`); the normal collate where it has no ring (the
    main process: ``num_workers=0``), no slot is free or the batch does
    not fit."""

    def __init__(self, inner: Callable):
        self.inner = inner
        self.ring: Optional[BatchRing] = None

    def __call__(self, batch: Sequence[Any]):
        info, ring = get_worker_info(), self.ring
        if ring is None or info is None or not _stackable(batch):
            return self.inner(batch)
        # the other keys first: where they fail to collate, no slot is
        # taken (its lock would never be released)
        rest = self.inner([{k: v for k, v in item.items() if k != 'inputs'}
                           for item in batch])
        ref = ring.take(info.id, [item['inputs'] for item in batch])
        if ref is None:
            return self.inner(batch)
        return type(rest)({k: ref if k == 'inputs' else rest[k]
                           for k in batch[0]})


def _stackable(batch: Sequence[Any]) -> bool:
    """Whether ``batch`` is items ``dict(inputs=tensor, ...)`` of one
    inputs shape and dtype, each with the same keys."""
    if not batch or not all(type(item) is dict for item in batch):
        return False
    first = batch[0].get('inputs')
    return isinstance(first, torch.Tensor) and all(
        isinstance(item.get('inputs'), torch.Tensor)
        and item['inputs'].shape == first.shape
        and item['inputs'].dtype == first.dtype
        and item.keys() == batch[0].keys() for item in batch)


class RingLoader(DataLoader):
    """A ``DataLoader`` whose iterators with workers give their workers a
    ring (:class:`BatchRing`, ``prefetch_factor + 2`` slots a worker: the
    batches a worker has in flight, one the step holds and the one
    requested meanwhile) for its :class:`RingCollate`. Made by
    :func:`reuse_batch_memory`."""

    def _get_iterator(self):
        collate = self.collate_fn
        if self.num_workers == 0 or not isinstance(collate, RingCollate):
            return super()._get_iterator()
        ring = BatchRing(self.num_workers, (self.prefetch_factor or 2) + 2,
                         self.multiprocessing_context)
        collate.ring = ring  # the workers take their copy as they start
        try:
            it = super()._get_iterator()
        finally:
            collate.ring = None
        it._batch_ring = ring  # the ring lives as long as its iterator
        return it


def check_ring_collate(function: Optional[Callable], bound: bool,
                       holder: str, said: str) -> None:
    """Refuse ``reuse_batch_memory`` for a collate whose batches the ring
    does not reproduce byte for byte: any ``function`` but
    ``decoded_collate`` itself, or it with arguments bound to it
    (``bound``, or a ``functools.partial`` of it with arguments: one
    without is taken, as MMEngine builds a config's ``dict(type=...)``
    and as a Python config may give it). Called on the config before
    anything is built
    (:func:`openselfsup.apis.fast_path.check_reused_batch_memory`) and on
    a built loader (:func:`reuse_batch_memory`); ``holder`` (``'the
    config'``, ``'the data loader'``) and ``said`` (how the collate is
    named) are the refusal's.

    Raises:
        InputError: another collate function, or one with arguments.
    """
    from ..utils import InputError
    from .batch_aug import decoded_collate
    if isinstance(function, functools.partial):
        bound = bound or bool(function.args or function.keywords)
        function = function.func
    if function is not decoded_collate or bound:
        raise InputError(
            'reuse_batch_memory=True collates the images as decoded_collate '
            f'does, into reused shared memory; {holder} collates with '
            f'{said}: set reuse_batch_memory=False '
            '(--cfg-options reuse_batch_memory=False)')


def reuse_batch_memory(loader: DataLoader) -> DataLoader:
    """``loader`` (in place) collating into reused shared slots
    (:class:`RingLoader`, :class:`RingCollate`): its ``collate_fn`` must be
    ``decoded_collate`` (or a ``functools.partial`` of it without
    arguments), whose output the ring reproduces byte for byte
    (:func:`check_ring_collate`). Without workers nothing changes at run
    time (the batch is in the main process's memory already).

    Raises:
        InputError: another collate function.
    """
    fn = loader.collate_fn
    check_ring_collate(fn, False, 'the data loader', repr(fn))
    loader.collate_fn = RingCollate(fn)
    loader.__class__ = RingLoader  # only _get_iterator differs
    return loader
