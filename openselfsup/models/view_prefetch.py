"""The next batch's views made while the current training step runs
(``prefetch_views=True``, :mod:`openselfsup.apis.fast_path`).

On the batched-views path the data preprocessor
(:mod:`openselfsup.models.data_preprocessors`) makes the views inside
``model.train_step``, before the forward, from the same thread that then
issues the model step: on a GPU the host issues the views' ops (about 35
ms a CLP step on an H100) and only then the step's. A :class:`ViewPrefetcher`
takes batch ``k + 1`` from the training loader, copies it to the device
and makes its views on a side thread (on a GPU on a side CUDA stream)
while the main thread issues step ``k``; torch lets go of Python's lock
inside each op, so the two threads issue ops side by side.

What stays as on the serial path:

- the views, bit for bit: the same preprocessor code and generator, the
  batches in the same order, each batch's views made only once the
  previous batch's were taken (one batch ahead at most), under the
  autocast and grad mode the training step had when it took them;
- the generator's state a checkpoint saves: while views are made ahead,
  the state from before them (:meth:`ViewPrefetcher.generator_state`), so
  a resumed run draws them again; a state set while views are made ahead
  (a resume, a restore) makes them again from it when they are taken;
- what is drawn and when: the views of batch ``k + 1`` are launched when
  the preprocessor takes batch ``k``'s, so the batches a resumed
  iteration-based loop draws only to skip them get none, and the first
  batch of every loop (and of every epoch) is made in the step; a call of
  the preprocessor between two steps with another batch (a validation
  batch) sets the views made ahead aside (:meth:`ViewPrefetcher.
  set_aside`): it draws from the generator where the serial path does,
  and the next views are made again, after it, when they are taken;
- the errors: a batch the loader could not give (an unreadable image, a
  batch of several sizes) is raised where the loop asks for it, the
  views' refusals where the preprocessor takes them; the same exception,
  its traceback from the side thread and on from there.

The side thread ends with its one batch; :meth:`ViewPrefetcher.close`
(the runner's, at the end of training and on any exception or
interruption) waits for a batch being made and drops it.
"""
import threading
from contextlib import nullcontext
from typing import Any, Iterator, Optional

import torch


class PrefetchedBatch(dict):
    """A training batch as the data loader gave it (its keys and values:
    what the hooks see), from the iterator ``source``, whose
    :class:`ViewPrefetcher` made its views ahead where it is the item of
    the prefetcher's job (or makes them when the preprocessor takes it).

    It does not refer to that job: the job refers to it, and a batch that
    referred back made a cycle that kept every batch made ahead, its views
    too, alive until Python's cycle collector ran (a 121-step run held up
    to 27)."""

    def __init__(self, batch: dict, source: '_PrefetchingIterator'):
        super().__init__(batch)
        self.source = source


class _Job:
    """One batch fetched and its views made on the side thread."""

    def __init__(self, state: torch.Tensor):
        #: the views generator's state before these views were drawn
        self.state = state
        self.item: Optional[PrefetchedBatch] = None
        self.out: Any = None
        self.end = False  # the loader's iterator is exhausted
        self.fetch_error: Optional[BaseException] = None
        self.views_error: Optional[BaseException] = None
        self.stale = False  # views of a generator state set since
        self.event = None  # CUDA: recorded after the views' ops
        self.device = None  # CUDA: the device (with its index)


class _PrefetchingIterator:
    """``iterator``'s batches as :class:`PrefetchedBatch` es: the one the
    side thread fetched where one was launched, else fetched here."""

    def __init__(self, prefetcher: 'ViewPrefetcher', iterator: Iterator):
        self.prefetcher, self.iterator = prefetcher, iterator

    def __iter__(self):
        return self

    def __next__(self) -> PrefetchedBatch:
        prefetcher = self.prefetcher
        job = prefetcher._job
        if job is None or prefetcher._source is not self:
            # the first batch, or one drawn only to skip it (a resumed
            # iteration-based loop); views made ahead for another
            # iteration are dropped
            prefetcher.close()
            return PrefetchedBatch(next(self.iterator), self)
        prefetcher.wait()
        if job.item is None:  # nothing more, or the loader's error
            prefetcher._job = prefetcher._source = None
            if job.fetch_error is not None:
                raise job.fetch_error
            raise StopIteration
        return job.item

    def __getattr__(self, name):
        return getattr(self.iterator, name)


class PrefetchedLoader:
    """A training DataLoader whose iterations make the views ahead
    (:meth:`ViewPrefetcher.iterate`); anything else (its length, sampler,
    dataset) is the loader's, ``loader``."""

    def __init__(self, loader, prefetcher: 'ViewPrefetcher'):
        self.loader, self.prefetcher = loader, prefetcher

    def __iter__(self):
        return self.prefetcher.iterate(iter(self.loader))

    def __len__(self):
        return len(self.loader)

    def __getattr__(self, name):
        return getattr(self.loader, name)


def _cuda_tensors(value) -> Iterator[torch.Tensor]:
    """The CUDA tensors in a preprocessor's output (tensors, lists,
    tuples, dicts, MMEngine data elements)."""
    if isinstance(value, torch.Tensor):
        if value.is_cuda:
            yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _cuda_tensors(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _cuda_tensors(v)
    elif hasattr(value, 'all_values'):  # a BaseDataElement
        for v in value.all_values():
            yield from _cuda_tensors(v)


class ViewPrefetcher:
    """Makes a batched-views preprocessor's next training views on a side
    thread (module docstring).

    Args:
        preprocessor: a ``BatchAug*DataPreprocessor``; it is given this
            prefetcher (``preprocessor.prefetcher``), whose batches it
            takes in :meth:`take`.
    """

    def __init__(self, preprocessor):
        self.preprocessor = preprocessor
        preprocessor.prefetcher = self
        self._job: Optional[_Job] = None
        self._source: Optional[_PrefetchingIterator] = None
        self._thread: Optional[threading.Thread] = None
        self._stream = None

    def iterate(self, iterator: Iterator) -> _PrefetchingIterator:
        """``iterator`` (the training loader's) with the views made ahead."""
        return _PrefetchingIterator(self, iterator)

    def wait(self) -> None:
        """Wait for the side thread to make the views it makes, if any
        (from any other thread: the side thread's own calls pass)."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
            self._thread = None

    def take(self, batch: PrefetchedBatch, training: bool) -> dict:
        """The preprocessor's output for ``batch``: the views made ahead
        (made here where there are none, or they were drawn from a
        generator state set since), then the next batch's launched."""
        job, out = self._job, None
        if job is not None and job.item is batch:
            self.wait()
            self._job = self._source = None
            if job.views_error is not None:
                raise job.views_error
            if not job.stale:
                out = job.out
                if job.event is not None:
                    stream = torch.cuda.current_stream(job.device)
                    stream.wait_event(job.event)
                    for t in _cuda_tensors(out):
                        t.record_stream(stream)
        if out is None:
            out = self.preprocessor.forward(dict(batch), training)
        if training:
            self._launch(batch.source)
        return out

    def _launch(self, source: _PrefetchingIterator) -> None:
        """Fetch the next batch of ``source`` and make its views on a side
        thread, as this thread would make them now."""
        self.close()
        device = torch.device(self.preprocessor.device)
        kind = device.type
        if kind == 'cuda' and device.index is None:  # the thread's own
            device = torch.device('cuda', torch.cuda.current_device())
        job = _Job(self.preprocessor.generator.get_state())
        autocast = (kind, torch.get_autocast_dtype(kind),
                    torch.is_autocast_enabled(kind))
        grad = torch.is_grad_enabled()
        stream = None
        if kind == 'cuda':
            if self._stream is None:
                self._stream = torch.cuda.Stream(device)
            stream = self._stream
            # nothing the main stream queued before is overtaken
            stream.wait_stream(torch.cuda.current_stream(device))
        self._job, self._source = job, source
        self._thread = threading.Thread(
            target=self._make, args=(job, source, device, stream, autocast,
                                     grad),
            name='openselfsup-prefetch-views', daemon=True)
        self._thread.start()

    def _make(self, job: _Job, source: _PrefetchingIterator, device,
              stream, autocast, grad) -> None:
        try:
            if stream is not None:
                torch.cuda.set_device(device)
            kind, dtype, enabled = autocast
            with torch.cuda.stream(stream) if stream is not None else \
                    nullcontext(), torch.autocast(kind, dtype=dtype,
                                               enabled=enabled), \
                    torch.set_grad_enabled(grad):
                try:
                    batch = next(source.iterator)
                except StopIteration:
                    return
                except BaseException as exc:  # raised where the loop asks
                    job.fetch_error = exc
                    return
                job.item = PrefetchedBatch(batch, source)
                try:
                    job.out = self.preprocessor.forward(dict(batch), True)
                except BaseException as exc:  # raised where it is taken
                    job.views_error = exc
                    return
                if stream is not None:
                    job.device = device
                    job.event = torch.cuda.Event()
                    job.event.record(stream)
        except BaseException as exc:  # the contexts' own, the event's
            if job.item is None:
                job.fetch_error = exc
            else:
                job.views_error = exc

    def generator_state(self) -> torch.Tensor:
        """The views generator's state as the serial path has it now: from
        before the views made ahead and not taken yet."""
        job = self._job
        if job is not None and not job.stale:
            return job.state
        return self.preprocessor.generator.get_state()

    def set_aside(self) -> None:
        """Give up the views made ahead and not taken yet, from any thread
        but the side thread (whose own calls pass): wait for them, and set
        the views generator back to its state from before them; they are
        made again from the generator when they are taken. A call of the
        preprocessor between two steps that is not a batch made ahead (a
        validation batch; the CLP preprocessor draws views for it too)
        then draws from the generator as on the serial path, and so do
        the next views."""
        job = self._job
        if job is None or self._thread is threading.current_thread():
            return
        self.wait()
        if not job.stale:
            job.stale = True
            self.preprocessor.generator.set_state(job.state)

    def set_generator_state(self, state: torch.Tensor) -> None:
        """Set the views generator's state; views made ahead and not taken
        are made again from it when they are taken."""
        self.set_aside()
        self.preprocessor.generator.set_state(state)

    def close(self) -> None:
        """Wait for a batch being made and drop it, the views generator
        set back to its state from before that batch's views: no side
        thread is left (the end of training, an exception, an
        interruption), and the generator is where the serial path left
        it."""
        self.set_aside()
        self._job = self._source = None


def prefetch_views(loop, model) -> ViewPrefetcher:
    """Make the training views of ``loop`` (MMEngine's epoch- or
    iteration-based training loop) ahead, with the batched-views data
    preprocessor of ``model``: the loader the loop iterates is wrapped
    (:class:`PrefetchedLoader`), so that each pass over it, and what
    starts one (a new iterator: a sampler's epoch, the DataLoader's base
    seed drawn from torch's generator), is made on the main thread, as on
    the serial path; the side thread only takes batches from a pass
    begun. An ``IterBasedTrainLoop``'s ``dataloader_iterator`` (MMEngine's
    infinite iterator, which starts a new pass where one ends) has its
    loader and its current pass wrapped; an iterator of another kind is
    wrapped whole."""
    pre = getattr(model, 'module', model).data_preprocessor
    prefetcher = ViewPrefetcher(pre)
    passes = getattr(loop, 'dataloader_iterator', None)
    if passes is None:
        loop.dataloader = PrefetchedLoader(loop.dataloader, prefetcher)
    elif hasattr(passes, '_dataloader') and hasattr(passes, '_iterator'):
        passes._dataloader = PrefetchedLoader(passes._dataloader, prefetcher)
        passes._iterator = prefetcher.iterate(passes._iterator)
    else:
        loop.dataloader_iterator = prefetcher.iterate(passes)
    return prefetcher


def close_prefetch(model) -> None:
    """:meth:`ViewPrefetcher.close` of ``model``'s preprocessor's
    prefetcher, if it has one."""
    pre = getattr(getattr(model, 'module', model), 'data_preprocessor',
                  None)
    prefetcher = getattr(pre, 'prefetcher', None)
    if prefetcher is not None:
        prefetcher.close()
