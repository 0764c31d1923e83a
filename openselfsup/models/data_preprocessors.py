"""Data preprocessors that make the training views on the training device.

With ``augment_on`` resolved to the device (see
:mod:`openselfsup.apis.fast_path`), the data-loader workers only decode
images; the batch arrives as uint8 ``[N, 3, H, W]`` (pinned, copied without
blocking), and these preprocessors run the recipe's augmentations batched
(:class:`openselfsup.datasets.batch_aug.BatchAugment`), then normalise.

- :class:`BatchAugSelfSupDataPreprocessor` (CLP): ``num_views`` views per
  image, each view with its own random parameters, as ``MultiView`` does;
  with one pipeline for all views (the CLP recipe), made in one pass over
  the batch repeated ``num_views`` times (half the ops to issue for two).
- :class:`BatchAugClsDataPreprocessor` (FSP): one view, labels as
  mmpretrain's ``ClsDataPreprocessor``.

Randomness: one CPU ``torch.Generator`` per preprocessor, made at its
first use (the first training batch) from ``seed``. Where the config
leaves ``seed`` unset, a training run gives its process's seed
(``runner.seed``: ``randomness.seed``, plus the rank when
``diff_rank_seed``; :data:`~openselfsup.utils.run_seed.PROCESS_SEEDED`):
the project's ``AtomicRunner`` as it builds the model
(``engine.runner.give_process_seed``), however it is built; MMEngine's
own Runner (``runner_type='Runner'`` or none) where the project's entry
points build it (``tools/train.py``, ``apis.train.train`` and
``build_runner``), which set it on the built preprocessor before
training (``engine.runner.give_built_process_seed``). A
``mmengine.runner.Runner`` built by hand outside those (``Runner.from_cfg``
in a script) gives none, and takes 0 as a build outside a run does (a
script, a benchmark, a test): the same views in every process, under
every ``randomness.seed`` and on every rank; there give ``seed`` in the
config, or call ``give_built_process_seed(runner)`` before training. It
was ``torch.initial_seed()`` when the model was built, the run's seed in
a run, but drawn at random by a process that never seeded torch.
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmpretrain.models.utils.data_preprocessor import (ClsDataPreprocessor,
                                                       SelfSupDataPreprocessor)
from mmpretrain.structures import (DataSample, MultiTaskDataSample,
                                   batch_label_to_onehot, cat_batch_labels,
                                   tensor_split)

from ..datasets.batch_aug import BatchAugment
from ..registry import MODELS
from ..utils import InputError
from .view_prefetch import PrefetchedBatch


def _views(views: Sequence) -> List[List[dict]]:
    """Normalise ``views`` (one pipeline, or a list of pipelines)."""
    if views and isinstance(views[0], dict):
        return [list(views)]
    return [list(v) for v in views]


def view_augments(views: Sequence, num_views: int, where: str,
                  compile_views: bool = False,
                  scope: Optional[str] = None) -> List[BatchAugment]:
    """The batched ops (:class:`~openselfsup.datasets.batch_aug.
    BatchAugment`) of each view pipeline of ``views`` (one pipeline for
    every view, or one per view) for ``num_views`` views, what a batched
    preprocessor makes its views with; its refusals (a count of pipelines
    that is neither, a transform without a batched version) name
    ``where``, the config key of ``views``: a preprocessor built names
    the model's, ``model.data_preprocessor.views``, and a training run
    judges the config's first, named where the config sets it
    (:func:`openselfsup.apis.fast_path.check_given_batched_views`).
    ``scope``: where the transforms' types are looked up
    (:class:`~openselfsup.datasets.batch_aug.BatchAugment`'s; None, a
    preprocessor built: the scope current, the one its build is in)."""
    pipelines = _views(views)
    if len(pipelines) not in (1, num_views):
        raise InputError(f'{where}: {len(pipelines)} view pipelines for '
                         f'{num_views} views; give one or {num_views}')
    return [BatchAugment(p, where, compile=compile_views, scope=scope)
            for p in pipelines]


class _BatchAugMixin:
    """Generator, view pipelines and the final layout shared by both."""

    #: the argument a training run gives its process's seed where the
    #: config leaves it unset, and the attribute a built one takes it by
    #: (``utils.run_seed.PROCESS_SEEDED``: what
    #: ``engine.runner.give_process_seed`` and ``give_built_process_seed``
    #: follow)
    PROCESS_SEEDED = 'seed'

    def _setup(self, views, num_views, seed, channels_last, where,
               compile_views=False, collate=None):
        self.augments = view_augments(views, num_views, where,
                                      compile_views)
        self.num_views = num_views
        self.channels_last = channels_last
        #: the data loader's collate, named where it gives no stacked batch
        self.collate = collate
        self._gen: Optional[torch.Generator] = None
        self.seed = seed

    @property
    def seed(self) -> int:
        """The views generator's seed: the ``seed`` given, modulo 2**63
        (None: 0), until the generator is made at its first use
        (:attr:`generator`); a training run sets the seed of its process
        here where the config left it unset, before (module docstring)."""
        return self._seed

    @seed.setter
    def seed(self, seed: Optional[int]) -> None:
        if self._gen is not None:
            raise RuntimeError('the batched views generator is made: its '
                               'seed is set before its first use')
        self._seed = int(0 if seed is None else seed) % (2**63)

    @property
    def generator(self) -> torch.Generator:
        if self._gen is None:
            self._gen = torch.Generator().manual_seed(self.seed)
        return self._gen

    #: the :class:`~openselfsup.models.view_prefetch.ViewPrefetcher` that
    #: makes the training views ahead (``prefetch_views``), if any
    prefetcher = None

    def generator_state(self) -> torch.Tensor:
        """The generator's state as of the batches taken (a checkpoint
        saves it): with views made ahead and not taken, from before them."""
        if self.prefetcher is not None:
            return self.prefetcher.generator_state()
        return self.generator.get_state()

    def set_generator_state(self, state: torch.Tensor) -> None:
        """Set the generator's state (a resume); views made ahead are made
        again from it."""
        if self.prefetcher is not None:
            self.prefetcher.set_generator_state(state)
        else:
            self.generator.set_state(state)

    def _prefetched(self, data, training: bool) -> Optional[Dict]:
        """The output for a batch whose views were made ahead (a
        :class:`~openselfsup.models.view_prefetch.PrefetchedBatch`), taken,
        not made again; None for any other batch, before which views made
        ahead are set aside
        (:meth:`~openselfsup.models.view_prefetch.ViewPrefetcher.set_aside`):
        the batch (a validation batch of an iteration-based loop) and the
        next views draw from the generator in the serial path's order."""
        if isinstance(data, PrefetchedBatch):
            return data.source.prefetcher.take(data, training)
        if self.prefetcher is not None:
            self.prefetcher.set_aside()
        return None

    def _uint8_rgb(self, inputs, flip: bool) -> torch.Tensor:
        if not isinstance(inputs, torch.Tensor):
            named = f'={self.collate}' if self.collate else ''
            raise InputError(
                "the batched views (augment_on='device', what 'auto' picks "
                'on a GPU) need a stacked batch (one tensor) from the data '
                f"loader's collate, train_dataloader.collate_fn{named}, "
                f'which gave a {type(inputs).__name__}: have it stack the '
                "images (as MMEngine's default_collate does), or set "
                'augment_on=cpu (--cfg-options augment_on=cpu)')
        return inputs.flip(1) if flip else inputs

    def _make_view(self, rgb: torch.Tensor, v: int,
                   repeats: int = 1) -> torch.Tensor:
        aug = self.augments[v % len(self.augments)]
        x = aug(rgb, self.generator, repeats)
        if not self.channels_last:
            return (x - self.mean) / self.std if self._enable_normalize \
                else x
        if not self._enable_normalize:
            return x.contiguous(memory_format=torch.channels_last)
        # (x - mean) / std written channels-last at once: the same
        # element-wise ops, without a copy of the normalised batch for
        # the layout (308 MB a CLP step at 224 px)
        dtype = torch.promote_types(torch.promote_types(
            x.dtype, self.mean.dtype), self.std.dtype)
        y = torch.empty_like(x, dtype=dtype,
                             memory_format=torch.channels_last)
        return torch.div(torch.sub(x, self.mean, out=y), self.std, out=y)


@MODELS.register_module()
class BatchAugSelfSupDataPreprocessor(_BatchAugMixin, SelfSupDataPreprocessor):
    """``SelfSupDataPreprocessor`` that makes ``num_views`` augmented views.

    Args:
        views (list[dict] | list[list[dict]]): the transform configs of one
            view (used for every view) or one list per view.
        num_views (int): views per image. Defaults to 2.
        seed (int, optional): generator seed; None (default): the seed
            of the run's process in a training run, else 0 (module
            docstring).
        channels_last (bool): return channels-last views.
        compile_views (bool): ``BatchAugment(compile=True)``.
        collate (str, optional): the data loader's ``collate_fn``, a
            user's own that the batched path keeps (set by apis.fast_path),
            named where it gives no stacked batch.
        **kwargs: ``SelfSupDataPreprocessor`` arguments (mean, std, to_rgb,
            non_blocking...).

    Unlike ``SelfSupDataPreprocessor``, it moves only the images to the
    device: the data samples are returned as given, on the host.
    """

    def __init__(self, views: Sequence, num_views: int = 2,
                 seed: Optional[int] = None, channels_last: bool = False,
                 compile_views: bool = False, collate: Optional[str] = None,
                 **kwargs):
        super().__init__(**kwargs)
        self._setup(views, num_views, seed, channels_last,
                    'model.data_preprocessor.views', compile_views, collate)

    def forward(self, data: dict, training: bool = False) -> Dict:
        taken = self._prefetched(data, training)
        if taken is not None:
            return taken
        # the batch alone to the device: the data samples stay as the data
        # loader gave them (mmpretrain's SelfSupDataPreprocessor moves them
        # too, a new DataSample and a copy of its gt_label per image: host
        # work in every step, 256 copies of 8 bytes a CLP step; no
        # self-supervised loss reads a tensor of them, MoCoV3 none, HLSS
        # its metainfo)
        rgb = self._uint8_rgb(self.cast_data(data['inputs']),
                              self._channel_conversion)
        if len(self.augments) == 1 and self.num_views > 1:
            # one pipeline for every view: all views in one pass over the
            # batch repeated num_views times (each image and view draws its
            # own parameters, as before; the host issues each op once, not
            # once per view); view v is rows v*N .. (v+1)*N - 1 (views of
            # one tensor: an in-place op on one would bump the version
            # counter they share; MoCoV3.loss modifies neither)
            both = self._make_view(rgb, 0, repeats=self.num_views)
            views = list(both.chunk(self.num_views))
        else:
            views = [self._make_view(rgb, v) for v in range(self.num_views)]
        return {'inputs': views, 'data_samples': data.get('data_samples')}


@MODELS.register_module()
class BatchAugClsDataPreprocessor(_BatchAugMixin, ClsDataPreprocessor):
    """``ClsDataPreprocessor`` that augments training batches on the device.

    In training the uint8 batch gets the recipe's view (e.g. random resized
    crop and flip); otherwise it is only normalised.

    Args:
        views (list[dict]): the transform configs of the training view.
        seed (int, optional): generator seed; None (default): the seed
            of the run's process in a training run, else 0 (module
            docstring).
        channels_last (bool): return a channels-last batch.
        non_blocking (bool): copy batches to the device without blocking.
        compile_views (bool): ``BatchAugment(compile=True)``.
        collate (str, optional): the data loader's ``collate_fn``, a
            user's own that the batched path keeps (set by apis.fast_path),
            named where it gives no stacked batch.
        **kwargs: ``ClsDataPreprocessor`` arguments (mean, std, to_rgb,
            num_classes...).
    """

    def __init__(self, views: Union[Sequence[dict], Sequence],
                 seed: Optional[int] = None, channels_last: bool = False,
                 non_blocking: bool = False, compile_views: bool = False,
                 collate: Optional[str] = None, **kwargs):
        super().__init__(**kwargs)
        self._non_blocking = non_blocking  # ClsDataPreprocessor lacks the arg
        self._setup(views, 1, seed, channels_last,
                    'model.data_preprocessor.views', compile_views, collate)

    def forward(self, data: dict, training: bool = False) -> Dict:
        taken = self._prefetched(data, training)
        if taken is not None:
            return taken
        if not training:
            return super().forward(data, training)
        inputs = self.cast_data(data['inputs'])
        x = self._make_view(self._uint8_rgb(inputs, self.to_rgb), 0)
        return self._labelled(x, data.get('data_samples'))

    def _labelled(self, inputs: torch.Tensor, data_samples) -> Dict:
        """The training views ``inputs`` (normalised) and the labels of
        ``data_samples`` as ``ClsDataPreprocessor``'s training call gives
        them (its label conversion), both mixed by the batch augments
        (Mixup, CutMix) where there are some, as it mixes its normalised
        inputs. ``self`` is left as it is: the side thread of
        ``prefetch_views`` runs this while the main thread issues a step
        (calling the parent with its ``to_rgb`` and normalisation set
        aside flipped them under the main thread)."""
        sample = data_samples[0] if data_samples else None
        if isinstance(sample, MultiTaskDataSample):
            return {'inputs': inputs,
                    'data_samples': self.cast_data(data_samples)}
        if not isinstance(sample, DataSample):
            return {'inputs': inputs, 'data_samples': data_samples}
        label = score = None
        if 'gt_label' in sample:
            label, indices = cat_batch_labels(
                [s.gt_label for s in data_samples])
            label = label.to(self.device)
        if 'gt_score' in sample:
            score = torch.stack([s.gt_score for s in data_samples]).to(
                self.device)
        elif self.to_onehot and label is not None:
            num_classes = self.num_classes or sample.get('num_classes')
            assert num_classes is not None, \
                'Cannot generate one-hot format labels because not set ' \
                '`num_classes` in `data_preprocessor`.'
            score = batch_label_to_onehot(label, indices, num_classes).to(
                self.device)
        if self.batch_augments is not None and score is not None:
            inputs, score = self.batch_augments(inputs, score)
        if label is not None:
            for s, one in zip(data_samples, tensor_split(label, indices)):
                s.set_gt_label(one)
        if score is not None:
            for s, one in zip(data_samples, score):
                s.set_gt_score(one)
        return {'inputs': inputs, 'data_samples': data_samples}
