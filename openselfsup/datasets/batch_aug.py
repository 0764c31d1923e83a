"""The recipes' augmentations as batched tensor ops with per-sample randomness.

The CLP and FSP configs describe their views as an mmpretrain pipeline that
runs on one decoded image at a time in the data-loader workers (Pillow,
as the published torchvision pipeline). :class:`BatchAugment` builds the
same augmentations from the same config dicts and applies them to a whole
batch of decoded uint8 images at once, on whatever device the batch is on
(the training GPU, or the CPU in tests): every sample draws its own crop
box, flip, jitter factors and order, grayscale, blur sigma and solarisation,
from the same distributions as the per-image pipeline.

============================  ==============================================
config transform              batched op (per sample)
============================  ==============================================
``RandomResizedCrop``         box drawn as mmpretrain/torchvision do (area
                              and log-aspect uniform, ``max_attempts``
                              attempts, central fallback), Pillow's
                              bilinear resize of the crop, bit-exact (its
                              integer weights and pass order;
                              ``backend='pillow'`` only)
``RandomFlip`` (horizontal)   flip with probability ``prob`` (right after
                              the crop, as in the recipes: made by the
                              crop's matrices, no op of its own)
``RandomApply([ColorJitter])``  brightness, contrast, saturation, hue factors
                              uniform, the four in a random order, as
                              Pillow's ImageEnhance / HSV hue rotation
``PillowGrayscale``           Pillow's ``convert('L')`` (601-2 luma in
                              16-bit fixed point, rounded), as published
``RandomGrayscale``           weighted channel sum, ``channel_weights``,
                              truncated (mmpretrain's; a table per colour)
``GaussianBlur``              sigma uniform in ``magnitude_range`` (scaled
                              by ``magnitude_level / total_level``), as
                              Pillow: three extended box blurs per axis,
                              edges replicated (bit-exact)
``Solarize``                  ``255 - x`` where ``x >= thr``
============================  ==============================================

Values stay in ``[0, 255]`` and are rounded after every op, as the 8-bit
per-image pipeline is. Images arrive and leave in RGB order. A transform
that has no batched version, or a setting of one that its batched op would
not follow (an OpenCV ``backend``: mmpretrain's ``RandomResizedCrop``
default; a ``RandomFlip`` of several directions), is refused with one line
(``augment_on='cpu'`` keeps the per-image pipeline).
"""
import itertools
import math
import os
import threading
from contextlib import nullcontext
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.dataset import default_collate
from mmengine.registry import FUNCTIONS

from ..utils import InputError, is_int
from ..utils.precision import Ieee32
from .pipeline_checks import JITTER as _JITTER
from .pipeline_checks import _numbers, _prob, check_settings, transform_type

#: ITU-R 601-2 luma weights (RGB order) in Pillow's 16-bit fixed point,
#: what ``convert('L')`` computes:
#: ``(19595 R + 38470 G + 7471 B + 2**15) >> 16``
PIL_L24 = (19595.0, 38470.0, 7471.0)


class Draws:
    """The uniform draws in ``[0, 1)`` that ops' :meth:`_Op.plan` take,
    made in few generator calls: ``sizes`` lists each part, ``(count,
    dtype)``, in the order the plans take them (:meth:`take`); each run
    of consecutive parts of one dtype is one ``torch.rand`` of their
    total, handed out as slices. The same numbers as one call per part
    (torch's CPU generator fills a tensor element by element, in order:
    tested), so a views call that draws its ops' parts together and the
    ops called one by one, each with its own, draw the same. Each part
    was a call of its own before (the CLP views: 14 calls, 7 of them a
    ``uniform_`` of a new tensor; now 3).

    Args:
        gen (torch.Generator): CPU generator.
        sizes (list): ``(count, dtype)`` of each part, ``dtype`` float64
            or float32.
    """

    def __init__(self, gen: torch.Generator,
                 sizes: Sequence[Tuple[int, torch.dtype]]):
        self._parts: List[torch.Tensor] = []
        for dtype, run in itertools.groupby(sizes, key=lambda p: p[1]):
            counts = [int(c) for c, _ in run]
            block = torch.rand(sum(counts), generator=gen, dtype=dtype)
            start = 0
            for c in counts:
                self._parts.append(block.narrow(0, start, c))
                start += c
        self._next = 0

    def take(self, count: int,
             dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """The next part, ``[count]`` of ``dtype`` (as listed in
        ``sizes``)."""
        part = self._parts[self._next]
        if part.numel() != count or part.dtype != dtype:
            raise RuntimeError(f'Draws: part {self._next} is {part.numel()} '
                               f'{part.dtype}, taken as {count} {dtype}')
        self._next += 1
        return part


#: per (values, dtype): the host constants of the plans (made once, not
#: an op each call)
_CONSTANTS: Dict[tuple, torch.Tensor] = {}


def _constant(*values, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """A CPU tensor of ``values`` (0-dim for one value), made once per
    process (each ``torch.tensor`` in a plan was a host op a call)."""
    key = (values, dtype)
    t = _CONSTANTS.get(key)
    if t is None:
        t = torch.tensor(values[0] if len(values) == 1 else values,
                         dtype=dtype)
        _CONSTANTS[key] = t
    return t


def _uniform(u: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Uniform draws ``u`` in ``[0, 1)`` (float64) mapped between ``low``
    and ``high``, in either order, as numpy's ``uniform(low, high)`` (what
    the per-image transforms call: ``low + (high - low) * U``, so a range
    given high to low draws between its two ends): ``low + (high - low)
    u`` in one op, as torch's ``uniform_`` computes it (which drew them
    before: the same numbers on the CPU of this project's tests, both a
    fused multiply-add; a CPU whose kernels round otherwise may differ in
    the last bit). torch's ``uniform_`` refuses ``low > high``: a
    colour-jitter range such as ``brightness=(1.2, 0.8)``, which
    mmpretrain's ``ColorJitter`` takes (with its warning), failed the
    first batch of the batched views."""
    low, high = sorted((float(low), float(high)))
    return torch.add(_constant(low), u, alpha=high - low)


def to_device(t: torch.Tensor, device, dtype=None) -> torch.Tensor:
    """Copy a small CPU tensor of random parameters to ``device``; to a GPU
    pinned and non-blocking, so the host does not wait for it."""
    if dtype is not None:
        t = t.to(dtype)
    if torch.device(device).type == 'cuda':
        return t.pin_memory().to(device, non_blocking=True)
    return t.to(device)


#: a CPU tensor or a tuple of them
Tensors = Union[torch.Tensor, Tuple[torch.Tensor, ...]]
#: held while a :class:`DeviceCopies` makes or copies a value (one lock for
#: all: each value is made once per process, then only read); re-entrant (a
#: ``make`` may read another's value), and made anew in a forked child
#: (:func:`os.register_at_fork`), where a thread of the parent that held
#: it does not run
_COPIES_LOCK = threading.RLock()


def _new_copies_lock() -> None:
    global _COPIES_LOCK
    _COPIES_LOCK = threading.RLock()


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_new_copies_lock)


class DeviceCopies:
    """A value made once per process on the host and copied to each device
    (and dtype, where one is asked) on its first use there: the per-device
    tables and weights of the ops (the luma weights, the hue and grayscale
    tables, the crop's resize weights).

    ``make(*key)`` returns the value on the CPU, a tensor or a tuple of
    them (``key``: what it depends on, e.g. channel weights); :meth:`on`
    returns it on a device. The copy is a blocking one (ready for every
    stream) and made outside inference mode (ordinary tensors even if the
    first use is in inference mode). The host value is kept only where the
    CPU uses it (one made for a GPU is dropped once copied; a later copy to
    another device reuses the CPU's where it is kept). Thread-safe: a value
    is made and copied under a lock, once, however many threads ask first.
    """

    def __init__(self, make: Callable[..., Tensors]):
        self._make = make
        self._values: Dict[tuple, Tensors] = {}

    def on(self, device, *key, dtype: Optional[torch.dtype] = None
           ) -> Tensors:
        """The value of ``key`` on ``device`` (in ``dtype``, if given)."""
        slot = (torch.device(device), dtype, key)
        value = self._values.get(slot)
        if value is None:
            with _COPIES_LOCK, torch.inference_mode(False):
                value = self._values.get(slot)
                if value is None:
                    host = self._values.get((torch.device('cpu'), None, key))
                    if host is None:
                        host = self._make(*key)

                    def copy(t):
                        return t.to(device=slot[0], dtype=dtype)
                    value = tuple(map(copy, host)) if isinstance(
                        host, tuple) else copy(host)
                    self._values[slot] = value
        return value


class ParamUpload:
    """The per-sample parameters of one views call bound for ``device``,
    sent there in one copy (:func:`to_device`: pinned and non-blocking on
    a GPU), then read there as slices of it, in their own dtypes and
    shapes, without a device op (views of the one byte buffer).

    Each op of :class:`BatchAugment` draws its parameters on the host and
    :meth:`add`-s what its device ops read (blend factors, blur weights,
    subsets' indices, crops' starts and table rows, masks); :meth:`send`
    copies them all at once; :meth:`get` returns one on the device. A
    step sent each of those in a copy of its own before (the CLP views
    16 copies a step, FSP's 3)."""

    #: each part starts at a multiple of this many bytes (the widest
    #: dtype's size: a byte slice is viewed as any dtype)
    ALIGN = 8

    def __init__(self, device):
        self.device = torch.device(device)
        self._parts: List[torch.Tensor] = []
        self._slots: List[tuple] = []
        self._size = 0
        self._sent: Optional[torch.Tensor] = None

    def add(self, t: torch.Tensor) -> int:
        """Queue CPU tensor ``t`` for the device; returns its slot."""
        if self._sent is not None:
            raise RuntimeError('ParamUpload: add after send')
        t = t.contiguous()
        nbytes = t.numel() * t.element_size()
        self._slots.append((self._size, nbytes, t.dtype, t.shape))
        self._parts.append(t.reshape(-1).view(torch.uint8))
        pad = -nbytes % self.ALIGN
        if pad:
            self._parts.append(torch.zeros(pad, dtype=torch.uint8))
        self._size += nbytes + pad
        return len(self._slots) - 1

    def add_split(self, t: torch.Tensor,
                  counts: Sequence[int]) -> List[Optional[int]]:
        """Queue 1-D CPU tensor ``t`` as one part (:meth:`add`) and return
        a slot for each of its consecutive pieces of ``counts`` elements
        (None for an empty one), read as any slot (a view of the one
        buffer; each piece starts at a multiple of its element size)."""
        start = self._slots[self.add(t)][0]
        size, slots = t.element_size(), []
        for c in counts:
            slots.append(None if c == 0 else len(self._slots))
            if c:
                self._slots.append((start, c * size, t.dtype, (c, )))
            start += c * size
        return slots

    def send(self) -> None:
        """Copy everything added to the device, once (on the CPU: the
        one buffer, no copy; the same views of it as on a device)."""
        if self._sent is None:
            self._sent = to_device(torch.cat(self._parts), self.device) \
                if self._size else torch.empty(0, dtype=torch.uint8,
                                               device=self.device)
            self._parts = []

    def get(self, slot: int) -> torch.Tensor:
        """The tensor of ``slot`` on the device (after :meth:`send`)."""
        start, nbytes, dtype, shape = self._slots[slot]
        return self._sent.narrow(0, start, nbytes).view(dtype).view(shape)


def sample_crop_boxes(n: int, height: int, width: int,
                      area_range: Tuple[float, float],
                      ratio_range: Tuple[float, float],
                      gen: torch.Generator,
                      attempts: int = 10) -> torch.Tensor:
    """Random resized crop boxes, drawn as mmpretrain's RandomResizedCrop.

    Per sample: up to ``attempts`` draws of an area fraction (uniform in
    ``area_range``) and a log-uniform aspect ratio; the first box that fits
    is placed uniformly; if none fits, the central crop clipped to
    ``ratio_range``.

    Args:
        n (int): number of boxes.
        height, width (int): source image size.
        area_range (tuple): crop area as a fraction of the image.
        ratio_range (tuple): width / height range.
        gen (torch.Generator): CPU generator.

    Returns:
        Tensor: ``[n, 4]`` float64 ``(left, top, crop_width, crop_height)``
        in whole pixels.
    """
    u = Draws(gen, [(_box_draws(n, attempts), torch.float64)]).take(
        _box_draws(n, attempts))
    return _crop_boxes(u, n, height, width, area_range, ratio_range,
                       attempts)


def _box_draws(n: int, attempts: int) -> int:
    """How many uniform draws :func:`_crop_boxes` takes."""
    return n * (2 * attempts + 2)


def _crop_draws(u: torch.Tensor, n: int,
                area_range: Tuple[float, float],
                ratio_range: Tuple[float, float], attempts: int
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The crop's random parameters from its uniform draws ``u``
    (:func:`_box_draws` of them, float64): the area fractions ``[n,
    attempts]`` and the log aspect ratios ``[n, attempts]`` (both mapped
    by one ``addcmul``, as ``uniform_`` maps each: the same numbers), and
    the placements ``[n, 2]`` (top, left), as drawn."""
    ends = _constant(area_range[0], math.log(ratio_range[0]))
    spans = _constant(area_range[1] - area_range[0],
                      math.log(ratio_range[1]) - math.log(ratio_range[0]))
    drawn = torch.addcmul(ends.view(2, 1, 1),
                          u[:2 * n * attempts].view(2, n, attempts),
                          spans.view(2, 1, 1))
    return drawn[0], drawn[1], u[2 * n * attempts:].view(n, 2)


def _crop_boxes(u: torch.Tensor, n: int, height: int, width: int,
                area_range: Tuple[float, float],
                ratio_range: Tuple[float, float],
                attempts: int) -> torch.Tensor:
    """:func:`sample_crop_boxes` of the uniform draws ``u``
    (:func:`_box_draws` of them, float64): the area fractions ``[n,
    attempts]``, the log aspect ratios ``[n, attempts]`` (both mapped by
    one ``addcmul``, as ``uniform_`` maps each: the same numbers), then
    the placements ``[n, 2]`` (top, left)."""
    f64 = torch.float64
    area = height * width
    fraction, log_ratio, place = _crop_draws(u, n, area_range, ratio_range,
                                             attempts)
    target = fraction * area
    aspect = torch.exp(log_ratio)
    # both sides at once, height then width ([2, n, attempts]; each value
    # computed as alone: the same ops on each element, a third of the
    # host ops)
    side = torch.round(torch.sqrt(torch.stack([target / aspect,
                                               target * aspect])))
    limit = _constant(height, width).view(2, 1)
    fits = ((side > 0) & (side <= limit[..., None])).all(0)
    if attempts > 0:
        # bool viewed as int8 (argmax takes no bool): no cast op
        first = fits.view(torch.int8).argmax(1, keepdim=True)
        side = side.gather(2, first.expand(2, n, 1))[..., 0]
    else:  # no attempt: the central fallback for every sample
        side = torch.zeros(2, n, dtype=f64)
    found = fits.any(1)
    # central fallback
    in_ratio = width / height
    if in_ratio < min(ratio_range):
        fw, fh = width, round(width / min(ratio_range))
    elif in_ratio > max(ratio_range):
        fw, fh = round(height * max(ratio_range)), height
    else:
        fw, fh = width, height
    side = torch.where(found, side, _constant(fh, fw).view(2, 1))
    # top then left: uniform in the room left, or centred
    room = limit - side
    start = torch.where(found, torch.floor(place.T * (room + 1)),
                        torch.floor(room / 2))
    return torch.stack([start[1], start[0], side[1], side[0]], 1)


def _sums_exact32(weights, add: int = 0) -> bool:
    """Whether float32 holds exactly every partial sum of 8-bit pixels (0
    .. 255) times non-negative integer weights that sum to at most
    ``weights`` (an integer, or a one-element tensor), plus ``add``:
    ``255 * weights + add`` below 2**24. The rule of the crop's and the
    blur's float32 products, which take float64 past it."""
    return 255 * int(weights) + add < 1 << 24


#: Pillow's fixed-point fraction bits of 8-bit resampling weights
#: (``PRECISION_BITS = 32 - 8 - 2`` in ``libImaging/Resample.c``)
PIL_RESAMPLE_BITS = 22

#: the weights split as ``2**11 * hi + lo`` (:func:`resized_crop`)
_SPLIT = 1 << 11


def pil_resize_coeffs(length: int, out_size: int):
    """Pillow's 8-bit bilinear weights for resizing ``length`` pixels to
    ``out_size`` (``Image.resize(..., BILINEAR)`` of a crop: the box from
    0 to ``length``), computed as ``precompute_coeffs`` and
    ``normalize_coeffs_8bpc`` do, op for op in double precision: output
    pixel ``o`` has its centre ``c = (o + 0.5) * scale``, ``scale = length
    / out_size``; its taps start at ``first = max(0, int(c - support +
    0.5))`` and end before ``min(length, int(c + support + 0.5))``
    (``support = max(1, scale)``); tap ``j`` weighs ``1 - |((j - c) + 0.5)
    * (1 / support)|`` (0 where negative), the weights are divided by their
    sum taken in tap order, and each becomes ``int(0.5 + w * 2**22)``.

    Returns:
        tuple: ``first`` ``[out_size]`` int64, the first tap of each output
        pixel, and ``coeffs`` ``[out_size, K]`` int64 (``K = 2
        ceil(support) + 1``; 0 past a row's last tap).
    """
    first, coeffs = _pil_resize_rows(torch.tensor([length]), out_size)
    return first[0], coeffs[0]


def _pil_resize_rows(lengths: torch.Tensor, out_size: int):
    """:func:`pil_resize_coeffs` of several crop lengths at once (the same
    double-precision ops, elementwise): ``first`` ``[L, out_size]`` and
    ``coeffs`` ``[L, out_size, K]`` int64, ``K`` the longest crop's (the
    taps a shorter crop lacks weigh 0, and adding them to its sum adds
    0)."""
    f64 = torch.float64
    scale = lengths.to(f64)[:, None] / out_size
    support = scale.clamp(min=1.0)  # the triangle's support (1) times scale
    ksize = 2 * math.ceil(float(support.max())) + 1
    centre = (torch.arange(out_size, dtype=f64) + 0.5) * scale
    first = torch.floor(centre - support + 0.5).clamp_(min=0)
    stop = torch.minimum(torch.floor(centre + support + 0.5),
                         lengths.to(f64)[:, None])
    tap = first[..., None] + torch.arange(ksize, dtype=f64)
    dist = ((tap - centre[..., None]) + 0.5) * (1.0 / support)[..., None]
    w = (1.0 - dist.abs()).clamp_(min=0) * (tap < stop[..., None])
    total = torch.zeros_like(centre)
    for k in range(ksize):  # Pillow's order (a pairwise sum can differ)
        total += w[..., k]
    coeffs = torch.floor(0.5 + w / total[..., None]
                         * (1 << PIL_RESAMPLE_BITS))
    return first.to(torch.int64), coeffs.to(torch.int64)


class _ResizeTable:
    """Pillow's weights (:func:`pil_resize_coeffs`) of every crop length
    ``1 .. in_size`` to ``out_size``, made once per process on the host
    and copied once to each device that uses them (:meth:`on`), so that a
    step sends only each crop's start and length (row ``length - 1``;
    with ``flipped``, also row ``in_size + length - 1``: the same with the
    output pixels in reverse order, the crop flipped horizontally at no
    cost, :func:`_crop_plan`; only the width's table of a crop with a
    flip folded in has them, twice the bytes).
    Per length: ``taps`` ``[R, 2 out, K]`` int16 (int32 past 32,767
    columns; ``R`` ``in_size``, ``2 in_size`` with ``flipped``), the
    columns of each output pixel's taps from the crop's start (its first
    tap + 0 .. K - 1), twice; ``halves`` ``[R, 2 out, K]`` float32, the
    weights' ``hi`` halves, then their ``lo`` halves (``2**11 * hi +
    lo``; both below 2**12, exact); ``lo_sum`` ``[in_size]``, the largest
    sum of a pixel's ``lo`` halves. ``K = 2 ceil(max(1, in_size /
    out_size)) + 1``: 224 px to 224, K = 3, 1.8 MB per device (3.6 MB
    with the flipped rows; twice that with int64 columns)."""

    def __init__(self, in_size: int, out_size: int, flipped: bool = False):
        self.in_size = in_size
        self.flipped = flipped
        first, coeffs = _pil_resize_rows(torch.arange(1, in_size + 1),
                                         out_size)
        hi = coeffs // _SPLIT
        lo = coeffs - hi * _SPLIT
        self.lo_sum = lo.sum(2).amax(1)
        #: whether float32 holds the sums of every crop length exactly
        self.exact32 = _sums_exact32(self.lo_sum.max())
        self.ksize = coeffs.shape[2]
        # the columns in the smallest integer type that holds them (int16
        # up to 32,767 columns: a quarter of int64's bytes); the step adds
        # the crops' int64 starts, so scatter_ gets int64 without a cast
        cols = in_size + self.ksize
        small = torch.int16 if cols <= torch.iinfo(torch.int16).max else \
            torch.int32
        taps = (first.repeat(1, 2)[..., None]
                + torch.arange(self.ksize)).to(small)
        halves = torch.cat([hi, lo], 1).to(torch.float32)
        if flipped:
            # then each length's rows again with its output pixels
            # reversed (in both halves): a crop flipped horizontally
            # (rows in_size ..)
            taps, halves = (torch.cat([t, t.view(
                in_size, 2, out_size, -1).flip(2).view_as(t)]) for t in
                (taps, halves))
        self.taps, self.halves = taps, halves
        self._copies = DeviceCopies(lambda: (self.taps, self.halves))

    def on(self, device) -> Tuple[torch.Tensor, torch.Tensor]:
        """``(taps, halves)`` on ``device``, copied there once
        (:class:`DeviceCopies`)."""
        return self._copies.on(device)


#: per (crop axis length, output size, flipped rows): :class:`_ResizeTable`
_RESIZE_TABLES: Dict[Tuple[int, int, bool], _ResizeTable] = {}


def _resize_table(in_size: int, out_size: int,
                  flipped: bool = False) -> _ResizeTable:
    """The :class:`_ResizeTable` of ``in_size`` to ``out_size``, made once
    per process; ``flipped``: with the reversed rows (a crop's width with
    a flip folded in). The reversed rows were in every table before,
    doubling the height's tables and those of pipelines without a flip
    (2048 px to 224 px: 231 MB per device, 116 MB without them)."""
    key = (in_size, out_size, flipped)
    if key not in _RESIZE_TABLES:
        _RESIZE_TABLES[key] = _ResizeTable(in_size, out_size, flipped)
    return _RESIZE_TABLES[key]


def _exact32(table: _ResizeTable, length: torch.Tensor) -> bool:
    """Whether float32 holds every sum of crops of ``length`` (``[N]``)
    exactly: ``255`` times the largest sum of a pixel's ``lo`` halves
    below 2**24. Looked up per crop only where some length of the table
    is not (a crop shrinking about 26 times or more)."""
    if table.exact32:
        return True
    # index_select refuses a length outside 1 .. in_size ([] would wrap 0
    # round to the longest)
    rows = length.to(torch.int64) - 1
    return _sums_exact32(table.lo_sum.index_select(0, rows).max())


def _resize_params(boxes: torch.Tensor, up: ParamUpload) -> Tuple[int, int]:
    """Queue what :func:`_resize_matrices` reads of crops ``boxes``
    (``[n, 4]`` CPU ``(left, top, width, height)``) on ``up``: the starts
    ``[left..., top...]`` int64 (the scatter's index is the int16 / int32
    table's columns plus the start: int64 without a cast) and the table
    rows ``[width - 1..., height - 1...]`` int32 (``index_select`` takes
    int32); 24 bytes a crop. Returns their slots."""
    # [4, n]: each cast makes its two rows one contiguous run (a copy of
    # the four, then two casts and a subtraction before)
    params, contiguous = boxes.T, torch.contiguous_format
    return (up.add(params[:2].to(torch.int64,
                                 memory_format=contiguous).view(-1)),
            up.add(params[2:].to(torch.int32,
                                 memory_format=contiguous).view(-1).sub_(1)))


def _resize_matrices(slots: Tuple[int, int], up: ParamUpload,
                     tx: _ResizeTable, ty: _ResizeTable, dtype: torch.dtype):
    """The matrices of Pillow's weights of the crops queued as ``slots``
    (:func:`_resize_params`) along the width (table ``tx``) and the
    height (``ty``), ``[n, 2 out, in_size]`` on ``up``'s device: rows
    ``o`` and ``out + o`` output pixel ``o``'s ``hi`` and ``lo`` halves
    at the crop's columns. The weights are gathered from the tables on
    the device and scattered there (one gather and scatter for both axes
    where they share a table). Rows past a pixel's last tap point past it
    with weight 0 (distinct columns per row, at most ``K - 1`` past the
    image)."""
    starts, rows = up.get(slots[0]), up.get(slots[1])
    n = len(starts) // 2
    device = up.device
    groups = [(tx, 0, 2 * n)] if tx is ty else [(tx, 0, n), (ty, n, 2 * n)]
    mats = []
    for table, a, b in groups:
        begin, row = starts[a:b], rows[a:b]
        taps, halves = table.on(device)
        # int64 (the scatter's index): the table's columns plus the start
        index = taps.index_select(0, row) + begin.view(-1, 1, 1)
        weights = halves.index_select(0, row).to(dtype)
        # room past the image for the columns that rows past their last
        # tap point to (weight 0)
        m = torch.zeros(b - a, taps.shape[1], table.in_size + table.ksize,
                        dtype=dtype, device=device)
        m.scatter_(2, index, weights)
        mats.append(m[..., :table.in_size])
    return tuple(mats[0].chunk(2)) if tx is ty else tuple(mats)


def _round_halves(p: torch.Tensor, hi: slice, lo: slice, dim: int,
                  out: torch.Tensor) -> torch.Tensor:
    """Pillow's ``(sum + 2**21) >> 22`` of the sums ``2**11 * hi + lo`` of
    a product ``p`` whose ``hi`` and ``lo`` halves lie along ``dim``,
    written to ``out`` (``[N, rows, ...]`` views shaped alike): ``floor((hi
    + 2**10 + floor(lo / 2**11)) / 2**11)`` (the same integer), each step
    an integer below 2**24, exact in float32. Each floor division:
    :func:`_floor_div_` (on the CPU a division and a floor; torch's CPU
    floor division, which it was, is not vectorised)."""
    big = p[(slice(None),) * dim + (hi, )].view(out.shape)
    small = p[(slice(None),) * dim + (lo, )].view(out.shape)
    _floor_div_(small, float(_SPLIT), out)
    out.add_(big).add_(_SPLIT // 2)
    return _floor_div_(out, float(_SPLIT))


def pillow_release() -> Tuple[int, int]:
    """The installed Pillow's ``(major, minor)``, which decides the order
    of its resize's passes (:func:`pil_vertical_first`)."""
    import PIL
    return tuple(int(v) for v in PIL.__version__.split('.')[:2])


def pil_vertical_first(width: torch.Tensor, height: torch.Tensor,
                       size: Tuple[int, int]) -> torch.Tensor:
    """``[N]`` bool: whether the installed Pillow's ``resize`` of crops
    ``width`` x ``height`` to ``size`` (``(out_h, out_w)``) makes its
    vertical pass first. Pillow 13: where the height shrinks by more than
    twice what the width shrinks, ``h - out_h > 2 (w - out_w)`` with
    ``out_h < h`` (found from its results: 3,000 random sizes of 1-69 px,
    each equal to one order's two single-axis resizes; the
    ``RandomResizedCrop`` views of 224 px images to 224 px never are).
    Pillow 12.2-12.3: tall images, ``h > 100 w``, whose height shrinks.
    Older: never (always horizontal first, as the published views'
    Pillow)."""
    version = pillow_release()
    oh, ow = size
    shrinks = height > oh
    if version >= (13, 0):
        return shrinks & (height - oh > 2 * (width - ow))
    if version >= (12, 2):
        return shrinks & (height > 100 * width)
    return torch.zeros_like(shrinks)


def _two_passes(x: torch.Tensor, first: torch.Tensor, second: torch.Tensor,
                out: torch.Tensor) -> None:
    """Resample ``x`` ``[N, C, A, B]`` along B with ``first`` ``[N, 2 b,
    B]``, round to 8 bits, then along A with ``second`` ``[N, 2 a, A]``,
    into ``out`` ``[N, C, a, b]`` (any strides)."""
    n, c, a_in, b_in = x.shape
    b, a = first.shape[1] // 2, second.shape[1] // 2
    # the first pass into rows laid out [N, A, C, b], so that the second
    # pass is one product too
    rows = torch.empty(n, a_in, c, b, dtype=first.dtype, device=x.device)
    _round_halves(torch.bmm(x.reshape(n, c * a_in, b_in),
                            first.transpose(1, 2)),
                  slice(0, b), slice(b, None), 2, rows.permute(0, 2, 1, 3))
    _round_halves(torch.bmm(second, rows.view(n, a_in, c * b)),
                  slice(0, a), slice(a, None), 1, out.permute(0, 2, 1, 3))


def resized_crop(x: torch.Tensor, boxes: torch.Tensor,
                 size: Tuple[int, int],
                 flip: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Crop ``boxes`` out of ``x`` and resize them to ``size`` as Pillow's
    ``Image.resize(BILINEAR)`` of the crop, bit for bit.

    What the per-image pipeline does (mmpretrain's ``RandomResizedCrop``,
    ``backend='pillow'``: an integer crop box, then Pillow's resize of the
    crop): one pass along each axis, each output ``(sum pixel * w +
    2**21) >> 22`` with Pillow's integer weights
    (:func:`pil_resize_coeffs`), rounded to 8 bits in between; the
    horizontal pass first, the vertical first where the installed Pillow
    makes it first (:func:`pil_vertical_first`). Each pass here is one
    batched matrix product with a per-sample matrix of those weights, split
    as ``2**11 * hi + lo``: every product and every partial sum is then an
    integer below 2**24, exact in float32 in any order (CUDA has no
    integer matmul; float64 matmuls are slow on most GPUs), and the two
    halves are joined elementwise (:func:`_round_halves`). TF32 or
    bfloat16 matmul settings are set aside for the products
    (:class:`~openselfsup.utils.precision.Ieee32`). Where a crop shrinks
    so much that the ``lo`` sums could reach 2**24 (from about 26 times
    on), the products are taken in float64 (exact there too). The
    weights of every crop length are tables made and copied to the device
    once per process
    (:class:`_ResizeTable`); a call copies only the crops' starts and
    lengths there (24 bytes a crop, in the one copy of a
    :class:`ParamUpload`) and gathers its matrices on the device
    (:func:`_resize_matrices`).

    Args:
        x (Tensor): ``[N, C, H, W]`` float, integer values in [0, 255].
        boxes (Tensor): ``[N, 4]`` CPU ``(left, top, width, height)``,
            whole pixels inside the image.
        size (tuple): ``(out_h, out_w)``.
        flip (Tensor, optional): ``[N]`` CPU bool, the crops then flipped
            horizontally (the width's matrix rows in reverse order: no op
            of its own).

    Returns:
        Tensor: ``[N, C, out_h, out_w]`` of ``x``'s dtype, integer values.
    """
    up = ParamUpload(x.device)
    plan = _crop_plan(boxes, tuple(x.shape), x.dtype, size, up, flip)
    up.send()
    return _crop_apply(x, plan, up)


def _crop_plan(boxes: torch.Tensor, shape: tuple, in_dtype: torch.dtype,
               size: Tuple[int, int], up: ParamUpload,
               flip: Optional[torch.Tensor] = None) -> dict:
    """The host part of :func:`resized_crop` of crops ``boxes`` of a batch
    of ``shape`` and dtype ``in_dtype``, flipped horizontally where
    ``flip``: the tables, the products' dtype, the pass order of each
    crop; what the device reads queued on ``up``. A flipped crop's width
    reads its length's reversed rows of table ``tx``: its width written
    as ``tx.in_size + width`` in the boxes that :func:`_resize_params`
    reads (and that the square batch's transposition moves with the
    width)."""
    n, c, hgt, wid = shape
    oh, ow = size
    square = hgt == wid and oh == ow
    # both axes' weights from one table where they are alike; the width's
    # with reversed rows where a flip is folded in
    tx = _resize_table(wid, ow, flip is not None)
    ty = tx if square else _resize_table(hgt, oh)
    # float32 holds every sum below 2**24 exactly
    exact32 = in_dtype != torch.float64 and _exact32(tx, boxes[:, 2]) and \
        _exact32(ty, boxes[:, 3])
    plan = dict(tx=tx, ty=ty, size=size,
                dtype=torch.float32 if exact32 else torch.float64)
    # no crop's height shrinks: no Pillow makes the vertical pass first
    # (the recipes' 224 px crops of 224 px images; no host op per step)
    vertical = None if hgt <= oh else pil_vertical_first(
        boxes[:, 2], boxes[:, 3], size)
    every = vertical is not None and bool(vertical.all())
    mixed = vertical is not None and not every and bool(vertical.any())
    if flip is not None:  # one op: the flipped widths + in_size
        boxes = torch.addcmul(boxes, flip[:, None],
                              _constant(0, 0, tx.in_size, 0))
    if not mixed:
        plan.update(kind='every' if every else 'none',
                    crops=_resize_params(boxes, up))
    elif square:
        # one batch: the samples resized vertically first transposed
        # (their first pass along the height: top and height first)
        swapped = torch.where(vertical[:, None], boxes[:, [1, 0, 3, 2]],
                              boxes)
        plan.update(kind='square', crops=_resize_params(swapped, up),
                    flip=up.add(vertical))
    else:  # crops of both orders, not square: each order's own
        orders = []
        for first in (False, True):
            # int64: index_copy_ refuses int32 (and indexing with int32
            # casts it to int64 first, a kernel of its own)
            idx = (vertical == first).nonzero()[:, 0]
            orders.append((first, len(idx), up.add(idx),
                           _resize_params(boxes[idx], up)))
        plan.update(kind='mixed', orders=orders)
    return plan


def _resize_into(src: torch.Tensor, mx: torch.Tensor, my: torch.Tensor,
                 out: torch.Tensor, vertical_first: bool) -> None:
    """:func:`_two_passes` of ``src`` into ``out`` in the pass order
    Pillow takes: horizontal (``mx``) first, or, ``vertical_first``, the
    vertical (``my``) first, as the transposed images' horizontal one."""
    if vertical_first:
        _two_passes(src.transpose(2, 3), my, mx, out.transpose(2, 3))
    else:
        _two_passes(src, mx, my, out)


def _crop_apply(x: torch.Tensor, plan: dict, up: ParamUpload) -> torch.Tensor:
    """The device part of :func:`resized_crop` (:func:`_crop_plan`'s
    ``plan``, ``up`` sent)."""
    n, c = x.shape[:2]
    oh, ow = plan['size']
    tx, ty, dtype, kind = plan['tx'], plan['ty'], plan['dtype'], plan['kind']
    src = x.to(dtype)
    out = torch.empty(n, c, oh, ow, dtype=dtype, device=x.device)
    with Ieee32(x.device.type, convolutions=False):
        if kind in ('none', 'every'):
            mx, my = _resize_matrices(plan['crops'], up, tx, ty, dtype)
            _resize_into(src, mx, my, out, kind == 'every')
        elif kind == 'square':
            mx, my = _resize_matrices(plan['crops'], up, tx, ty, dtype)
            flip = up.get(plan['flip']).view(-1, 1, 1, 1)
            _two_passes(torch.where(flip, src.transpose(2, 3), src), mx, my,
                        out)
            out = torch.where(flip, out.transpose(2, 3), out)
        else:
            for first, count, idx, crops in plan['orders']:
                dev_idx = up.get(idx)
                sub = src.index_select(0, dev_idx)
                target = torch.empty(count, c, oh, ow, dtype=dtype,
                                     device=x.device)
                mx, my = _resize_matrices(crops, up, tx, ty, dtype)
                _resize_into(sub, mx, my, target, first)
                out.index_copy_(0, dev_idx, target)
    return out.to(x.dtype)


#: per (device, dtype, weights): the channel weights of :func:`luma`
_LUMA_WEIGHTS = DeviceCopies(lambda weights: torch.tensor(weights).view(
    1, 3, 1, 1))


def luma_weights(device, dtype: torch.dtype,
                 weights: Sequence[float]) -> torch.Tensor:
    """``[1, 3, 1, 1]`` channel weights on ``device``, copied there once
    (:class:`DeviceCopies`)."""
    return _LUMA_WEIGHTS.on(device, tuple(float(w) for w in weights),
                            dtype=dtype)


def luma(x: torch.Tensor, weights: Sequence[float],
         w: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``[N, 1, H, W]`` weighted channel sum of an RGB batch (``w``: the
    weights already on the device, :func:`luma_weights`). An integer batch
    is summed in float32 (its dtype would truncate the weights to 0: every
    sum 0), and the sum stays float32."""
    if not x.is_floating_point():
        x = x.to(torch.float32)
    if w is None:
        w = luma_weights(x.device, x.dtype, weights)
    return (x * w).sum(1, keepdim=True)


def _per_sample(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return to_device(v, x.device, x.dtype).view(-1, 1, 1, 1)


def _mix(degenerate: torch.Tensor, x: torch.Tensor,
         f: torch.Tensor) -> torch.Tensor:
    """Pillow's ``Image.blend(degenerate, x, f)`` on 8-bit values:
    ``degenerate + f * (x - degenerate)``, clipped, truncated; ``f`` per
    sample ``[N, 1, 1, 1]`` on ``x``'s device."""
    return torch.floor(degenerate + f * (x - degenerate)).clamp_(0, 255)


def _blend(degenerate: torch.Tensor, x: torch.Tensor,
           factor: torch.Tensor) -> torch.Tensor:
    """:func:`_mix` with CPU ``factor`` ``[N]``."""
    return _mix(degenerate, x, _per_sample(factor, x))


def _gray_mean(gray: torch.Tensor) -> torch.Tensor:
    """``[N, 1, 1, 1]`` mean of each 8-bit gray image, rounded to an
    integer (Pillow's contrast reference: ``int(sum / count + 0.5)`` in
    double precision), exact: ``floor((sum + count // 2) / count)``, the
    same integer (the quotient of integers is at least ``1 / (2 count)``
    from the next integer), in one division op. A float32 mean within an
    ulp of a half level rounded up where Pillow rounds down (a 320 px crop
    of mean 200.49999 got the reference 201: one level off in the contrast
    blend).

    Up to 256 x 256 px (the views' 224 px crops) the sum is taken in the
    images' float32: every partial sum, and ``sum + count // 2``, is an
    integer below 2**24, exact in any order. Larger: summed per row in
    float32 (exact below 65,793 px a row), the rows in float64. A float64
    sum of the whole image (``sum(dtype=torch.float64)``) first copied the
    gray batch to float64: a kernel and twice the batch's gray bytes that
    the op counts on the meta device do not show."""
    count = gray.shape[1] * gray.shape[2] * gray.shape[3]
    if count * 256 <= 1 << 24:
        total = gray.sum((1, 2, 3), keepdim=True)
    else:
        total = gray.sum(3, keepdim=True).sum(
            (1, 2), keepdim=True, dtype=torch.float64)
    return torch.div(total + count // 2, count,
                     rounding_mode='floor').to(gray.dtype)


def adjust_brightness(x, factor):
    """Pillow ``ImageEnhance.Brightness``: blend with black (in ``x``'s
    dtype, computed as :func:`_exactly` says)."""
    return _exactly(lambda t: _blend(torch.zeros_like(t[:, :1]), t, factor),
                    x)


def adjust_contrast(x, factor):
    """Pillow ``ImageEnhance.Contrast``: blend with the mean of the 8-bit
    gray image, rounded to an integer (in ``x``'s dtype, computed as
    :func:`_exactly` says)."""
    return _exactly(lambda t: _blend(_gray_mean(_pil_gray(t)), t, factor),
                    x)


def adjust_saturation(x, factor):
    """Pillow ``ImageEnhance.Color``: blend with the 8-bit gray image (in
    ``x``'s dtype, computed as :func:`_exactly` says)."""
    return _exactly(lambda t: _blend(_pil_gray(t), t, factor), x)


def _pil_gray(x: torch.Tensor,
              w: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Pillow's ``convert('L')`` (:func:`pil_convert_l`); ``w``: the
    :data:`PIL_L24` weights already on the device (:func:`luma_weights`).
    Exact: rounding the float luma ``0.299 R + 0.587 G + 0.114 B`` instead
    gave another level for about 0.05% of all colours (ties). The shift
    ``>> 16``: :func:`_floor_div_`."""
    return _floor_div_(luma(x, PIL_L24, w) + 32768.0, 65536.0)


def _floor_div_(t: torch.Tensor, power: float,
                out: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``t`` (integer values) divided by ``power``, a power of two, and
    floored, in place, or into ``out`` where given (shaped as ``t``):
    exact (the quotient needs no rounding). On a device one op (``div_``
    with ``rounding_mode='floor'``: a launch fewer than a division and a
    floor, which it was); on the CPU a division and a floor, which torch
    vectorises, where its floor division computes each element alone (one
    thread, a 64 x 3 x 224 x 224 batch: 32.9 ms against 7.9 ms for the
    division and the floor)."""
    if t.device.type == 'cpu':
        q = t.div_(power) if out is None else torch.div(t, power, out=out)
        return q.floor_()
    if out is None:
        return t.div_(power, rounding_mode='floor')
    return torch.div(t, power, rounding_mode='floor', out=out)


def _blend_core(x: torch.Tensor, f: torch.Tensor, w_mean: torch.Tensor,
                w_gray: torch.Tensor, w_luma: torch.Tensor,
                with_gray: bool) -> torch.Tensor:
    """One jitter position's blends over the batch: :func:`_mix` of ``x``
    with its degenerate image, per sample the gray image where ``w_gray``,
    else its mean where ``w_mean``, else black (the two never both true:
    a sample makes one adjustment at a position), and black for all
    without ``with_gray``; factor ``f``; per sample ``[N, 1, 1, 1]`` on
    ``x``'s device (the weights bool), ``w_luma`` from
    :func:`luma_weights`. One ``where`` picks the degenerate image (a
    product per weight and their sum before: the same values)."""
    if with_gray:
        gray = _pil_gray(x, w_luma)
        degenerate = torch.where(w_gray, gray, _gray_mean(gray) * w_mean)
    else:
        degenerate = torch.zeros_like(x[:, :1])
    return _mix(degenerate, x, f)


#: compiled versions of the pure tensor functions (``compile=True``)
_COMPILED: Dict[object, object] = {}


def _kernel(fn, compiled: bool):
    """``fn``, or once per process its ``torch.compile`` (dynamic shapes:
    the subsets' sizes change from batch to batch)."""
    if not compiled:
        return fn
    if fn not in _COMPILED:
        _COMPILED[fn] = torch.compile(fn, dynamic=True)
    return _COMPILED[fn]


#: for each hue sector, the positions of r, g, b in (v, q, p, t)
_HSV_SECTORS = torch.tensor([[0, 3, 2], [1, 0, 2], [2, 0, 3], [2, 1, 0],
                             [3, 2, 0], [0, 2, 1]])


def _rgb_to_hs(x: torch.Tensor):
    """8-bit H and S (integer-valued floats) and V = max of an RGB batch
    ``[N, 3, H, W]``, as Pillow's HSV conversion (``rgb2hsv_row``)
    computes and truncates them, in its mix of precisions: the channel
    ratios in single precision, the hue sum of the green and blue sectors
    (``2.0 + rc - bc``) and ``fmod(h / 6.0 + 1.0, 1.0)`` in double, each
    stored back to single, then ``(int)(h * 255.0)`` and
    ``(int)(s * 255.0)`` in double. All in single precision, as before,
    72,036 of the 2**24 colours got another H than Pillow's (0.4%; a hue
    rotation then gave another colour)."""
    f32, f64 = torch.float32, torch.float64
    x = x.to(f32)
    # amax / amin: the values alone (max(1) / min(1) find the indices too,
    # split over threads however few the pixels)
    maxc, minc = x.amax(1), x.amin(1)
    r, g, b = x.unbind(1)
    delta = maxc - minc
    # a gray pixel (delta 0) gets H = S = 0 without a branch: rc = gc = bc
    # = 0 make h = 0, and delta = 0 makes s = 0; otherwise delta and maxc
    # are at least 1 (integers), so the clamps change nothing
    safe = delta.clamp_min(1)
    rc, gc, bc = (maxc - r) / safe, (maxc - g) / safe, (maxc - b) / safe
    h = torch.where(r == maxc, bc - gc, torch.where(
        g == maxc, (2.0 + rc.to(f64) - bc.to(f64)).to(f32),
        (4.0 + gc.to(f64) - rc.to(f64)).to(f32)))
    # h >= -1, so h / 6 + 1 > 0: fmod is the remainder
    h = torch.fmod(h.to(f64) / 6.0 + 1.0, 1.0).to(f32)
    h = torch.floor(h.to(f64) * 255.0).to(f32)
    s = torch.floor((delta / maxc.clamp_min(1)).to(f64) * 255.0).to(f32)
    return h, s, maxc


def _hsv_to_rgb(h: torch.Tensor, s: torch.Tensor,
                v: torch.Tensor) -> torch.Tensor:
    """``[N, 3, H, W]`` RGB of 8-bit H, S, V ``[N, H, W]`` (floats), with
    Pillow's rounding."""
    hf = h * 6.0 / 255.0
    i = torch.floor(hf)
    f = hf - i
    fs = s / 255.0
    p = torch.floor(v * (1 - fs) + 0.5)
    q = torch.floor(v * (1 - fs * f) + 0.5)
    t = torch.floor(v * (1 - fs * (1 - f)) + 0.5)
    # sector i of the hue circle picks (r, g, b) among (v, q, p, t); with
    # s = 0, p = q = t = v
    i = torch.remainder(i, 6).long()
    index = to_device(_HSV_SECTORS, v.device)[i].permute(0, 3, 1, 2)
    return torch.gather(torch.stack([v, q, p, t], 1), 1, index).clamp_(0,
                                                                       255)


def _hue_shifts(factor: torch.Tensor) -> torch.Tensor:
    """Pillow's 8-bit hue shift of each factor: ``int(factor * 255)``,
    int32 (the cast truncates toward zero, as ``int``: one op, a
    ``trunc`` and a cast before)."""
    return (factor.to(torch.float64) * 255).to(torch.int32)


def adjust_hue_formula(x, factor):
    """:func:`adjust_hue` computed with the conversion formulas on every
    pixel (what the lookup tables hold; the tests' reference)."""
    h, s, v = _rgb_to_hs(x)
    shift = to_device(_hue_shifts(factor), x.device, x.dtype)
    return _hsv_to_rgb(torch.remainder(h + shift.view(-1, 1, 1), 256), s, v)



#: ops on fewer elements than this run on one thread
#: (``at::internal::GRAIN_SIZE``; torch's ``floor``, one of its VML
#: kernels: :data:`_SERIAL_FLOOR`): the table builders keep each op
#: below it. Their ops are small; split over threads, each waited for the
#: slowest thread, and on busy cores (data-loader workers, other
#: processes) a build took seconds instead of a tenth of one. A torch of
#: other grains changes the speed, never the values.
_SERIAL_SIZE = 32768
_SERIAL_FLOOR = 2048


def _row_chunks(rows: int, width: int,
                size: int = _SERIAL_SIZE) -> List[slice]:
    """Slices of ``rows`` rows of ``width`` elements, each slice fewer
    than ``size`` elements (one row at least)."""
    step = max(1, (size - 1) // max(width, 1))
    return [slice(s, min(rows, s + step)) for s in range(0, rows, step)]


def _formula_hs(colour: Callable[[torch.Tensor, torch.Tensor], tuple]
                ) -> Tuple[torch.Tensor, torch.Tensor]:
    """``[256, 256]`` int32 tables ``65536 H`` and ``256 S + V`` of the
    colours ``colour(i, j)`` by the formulas (:func:`_rgb_to_hs`): the
    red, green and blue of row ``i`` ``[n, 1]`` and column ``j`` ``[1,
    256]`` (int64 tensors, broadcast together), a few rows at a time
    (the formulas' ``floor``: :data:`_SERIAL_FLOOR`)."""
    h = torch.empty(256, 256, dtype=torch.int32)
    sv = torch.empty_like(h)
    j = torch.arange(256)[None]
    for rows in _row_chunks(256, 256, _SERIAL_FLOOR):
        rgb = torch.stack(torch.broadcast_tensors(
            *colour(torch.arange(256)[rows, None], j)))
        hh, ss, vv = _rgb_to_hs(rgb[None].to(torch.float32))
        # integers below 2**24: exact in float32
        h[rows] = hh[0] * 65536
        sv[rows] = ss[0] * 256 + vv[0]
    return h, sv


def _build_hsv_table() -> torch.Tensor:
    """``[2**24]`` int32 ``65536 H + 256 S + V`` of each colour ``65536 R +
    256 G + B``: the values of the formulas (:func:`_rgb_to_hs`) on every
    colour, made from their values on 393,216 colours.

    H is a function of which channel is the largest (red before green
    before blue where two are) and how far the other two lie below it:
    the H of a colour is that of the colour of the same distances below
    255. S is a function of the largest and smallest channels, V the
    largest. So the table is filled block by block, for each largest
    value ``v``: the colours whose red is ``v`` and the largest, their H
    a slice of the table of red 255; those whose green is, their red
    below it; those whose blue is, the other two below it. Each block is
    a slice of a small table of H plus, for S, a slice of the table of
    ``256 S + V`` or the larger of a row and a column of it (S falls as
    the smallest channel rises: ``(v - m) / v`` correctly rounded, then
    ``floor(255 x)``, both monotone, so the S of the smaller of two
    channels is the larger of their two S). Each op is serial
    (:data:`_SERIAL_SIZE`)."""
    top = torch.tensor(255)
    # the H of red 255: [g, b] of (255, g, b); of green 255, red below it:
    # [r, b] of (r, 255, b); of blue 255, the others below it, as the
    # blocks of blue largest read them (below): [255 - v + g, x] of
    # (255 - x, 255 - x - (v - g), 255) and [255 - v + r, x] of
    # (255 - x - (v - r), 255 - x, 255) (where i < x, a colour no block
    # reads)
    h_red, _ = _formula_hs(lambda i, j: (top, i, j))
    h_green, _ = _formula_hs(lambda i, j: (i, top, j))
    h_blue_r, _ = _formula_hs(
        lambda i, x: (255 - x, (i - x).clamp_min(0), top))
    h_blue_g, _ = _formula_hs(
        lambda i, x: ((i - x).clamp_min(0), 255 - x, top))
    # 256 S + V of largest v, smallest m <= v, as (v, m, m): [v, m] and
    # [m, v]
    _, sv = _formula_hs(lambda v, m: (v, m, m))
    _, svt = _formula_hs(lambda m, v: (v, m, m))
    hsv = torch.empty(256, 256, 256, dtype=torch.int32)
    for v in range(256):
        lo = 255 - v
        # red v the largest: (v, g, b), g, b <= v
        for rows in _row_chunks(v + 1, v + 1):
            block = hsv[v, rows, :v + 1]
            torch.maximum(sv[v, rows, None], sv[v, None, :v + 1], out=block)
            block.add_(h_red[lo:, lo:][rows])
        # green v the largest, red below it: (r, v, b), r < v, b <= v
        for rows in _row_chunks(v, v + 1):
            block = hsv[:v, v, :v + 1][rows]
            torch.maximum(sv[v, rows, None], sv[v, None, :v + 1], out=block)
            block.add_(h_green[lo:255, lo:][rows])
        # blue b the largest, above v = max(red, green): (v, g, b), g <= v
        # (S of the smallest, g), and (r, v, b), r < v (S of r); at most
        # 128 x 128 elements each
        torch.add(h_blue_r[lo:, 1:256 - v], svt[:v + 1, v + 1:],
                  out=hsv[v, :v + 1, v + 1:])
        torch.add(h_blue_g[lo:255, 1:256 - v], svt[:v, v + 1:],
                  out=hsv[:v, v, v + 1:])
    return hsv.view(-1)


def _build_hsv_rgb_table() -> torch.Tensor:
    """``[2**24, 3]`` uint8: the colour of each ``65536 H + 256 S + V``,
    the values of the formulas (:func:`_hsv_to_rgb`), their ops in their
    order and precision: each channel of a colour is V, ``p`` (a function
    of S and V) or ``q`` / ``t`` (of H, S and V), as H's sector picks;
    ``p`` made once for every (S, V), ``q`` or ``t``, whichever the
    sector takes, per H. Each op is serial (:data:`_SERIAL_SIZE`)."""
    v = torch.arange(256, dtype=torch.float32)
    hf = v * 6.0 / 255.0  # of each H
    i = torch.floor(hf)
    f = hf - i
    fs = v / 255.0  # of each S
    chunks = _row_chunks(256, 256)  # of S
    p = torch.empty(256, 256, dtype=torch.uint8)  # [S, V]
    for rows in chunks:
        # floor(x + 0.5) as the cast's truncation: x + 0.5 >= 0.5 (and
        # torch's floor is split over threads from 2048 elements)
        p[rows] = v * (1 - fs[rows])[:, None] + 0.5
    levels = v.to(torch.uint8)
    rgb = torch.empty(256, 256, 256, 3, dtype=torch.uint8)
    x = torch.empty(256, 256, dtype=torch.float32)
    sectors = _HSV_SECTORS[torch.remainder(i, 6).long()].tolist()
    for hue, picks in enumerate(sectors):
        # picks: the positions of r, g, b in (v, q, p, t)
        fq = (f[hue], 1 - f[hue])
        for rows in chunks:
            out, xs = rgb[hue, rows], x[rows]
            for c, pick in enumerate(picks):
                if pick == 0:
                    out[..., c].copy_(levels)
                elif pick == 2:
                    out[..., c].copy_(p[rows])
                else:  # q: v (1 - s f), t: v (1 - s (1 - f))
                    k = 1 - fs[rows] * fq[pick == 3]
                    torch.mul(v, k[:, None], out=xs)
                    # floor as the cast's truncation, as p's
                    out[..., c].copy_(xs.add_(0.5))
    return rgb.view(-1, 3)


def _build_hue_tables() -> Tuple[torch.Tensor, torch.Tensor]:
    """The two tables of :func:`hue_tables`, on the CPU."""
    return _build_hsv_table(), _build_hsv_rgb_table()


#: per device: the lookup tables of :func:`adjust_hue`
_HUE_TABLES = DeviceCopies(_build_hue_tables)


def hue_tables(device) -> Tuple[torch.Tensor, torch.Tensor]:
    """The two lookup tables of :func:`adjust_hue` on ``device``, made once
    per process on the CPU with the formulas and kept on ``device`` only:
    ``hsv`` ``[2**24]`` int32, ``65536 * H + 256 * S + V`` of each 24-bit
    colour ``65536 * R + 256 * G + B`` (V, the largest channel, in the
    table: the rotation no longer takes it from the image, three ops a
    call); ``rgb`` ``[2**24, 3]`` uint8, the colour of
    each ``65536 * H + 256 * S + V``. 117 MB, made block by block from
    the formulas' values on 393,216 colours (:func:`_build_hsv_table`,
    :func:`_build_hsv_rgb_table`): 0.12 s of one core, where every colour
    through the formulas took 1-1.5 s (several on busy cores); the copy to
    a GPU happens once, at the first use (:class:`DeviceCopies`)."""
    return _HUE_TABLES.on(device)


#: the channel weights of a colour's row in a per-colour table
_CODE_WEIGHTS = (65536.0, 256.0, 1.0)


def _colour_codes(x: torch.Tensor) -> torch.Tensor:
    """``[N, H, W]`` int32 ``65536 R + 256 G + B`` of an 8-bit RGB batch
    ``[N, 3, H, W]`` (integer values, any dtype): each colour's row in a
    per-colour table. The batch cast to int32 (a fractional value, which
    the ops' contract rules out, truncated in its own channel, as a uint8
    cast truncates it), then one int32 product and sum: three ops. Summed
    in float32 and cast once instead (the same three ops), a fraction
    carried into the next channel: (0.5, 0, 0) was looked up as (0, 128,
    0), a green pixel out of a black one."""
    w = luma_weights(x.device, torch.int32, _CODE_WEIGHTS)
    return (x.to(torch.int32) * w).sum(1, dtype=torch.int32)


def adjust_hue(x, factor):
    """Rotate the hue by ``factor`` of a turn as Pillow's 8-bit HSV does
    (torchvision's ``adjust_hue`` on PIL images, this project's
    :func:`openselfsup.datasets.transforms.adjust_hue`): H and S truncated
    to 8 bits, H shifted by ``int(factor * 255)`` modulo 256, back to RGB
    with rounding. ``x`` integer-valued, as every op here leaves it (a
    fraction is truncated, each channel alone: :func:`_colour_codes`).

    Every 8-bit colour has its H, S and V in a table, and every (H, S, V) its
    colour (:func:`hue_tables`, made on the CPU): nine tensor operations
    per call instead of some fifty (a dozen before V was in the table,
    :func:`_rotate_hue`), exactly the values of the formulas
    (:func:`adjust_hue_formula`) on the CPU, on any device (the formulas
    themselves, run on a GPU, differed for about 0.3% of colours: CUDA
    divides by a scalar as a multiplication by its reciprocal)."""
    return _rotate_hue(x, to_device(_hue_codes(factor), x.device))


def _hue_codes(factor: torch.Tensor) -> torch.Tensor:
    """``[N]`` int32 ``65536 * int(factor * 255)``: each factor's shift of
    ``65536 H + 256 S + V`` (:func:`adjust_hue`)."""
    return _hue_shifts(factor) * 65536


def _rotate_hue(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """:func:`adjust_hue` with ``shift`` (:func:`_hue_codes`) on ``x``'s
    device."""
    table, rgb = hue_tables(x.device)
    code = _colour_codes(x)
    # (65536 H + 256 S + V) shifted by 65536 * shift, modulo 256 for H
    # (the bits above 2**24 dropped; a negative shift's too, in two's
    # complement). index_select takes the int32 codes as they are
    # (indexing with [] would first copy them to int64)
    hsv = (table.index_select(0, code.flatten()).view_as(code)
           + shift.view(-1, 1, 1)) & 0xFFFFFF
    out = rgb.index_select(0, hsv.flatten()).view(*hsv.shape, 3)
    return out.permute(0, 3, 1, 2).to(x.dtype)


#: 0-dim constants of the blur weights' sums: ``torch.add(c, t,
#: alpha=k)`` is ``c + k t`` in one host op (two with a Python number),
#: and where ``k t`` is exact, rounded as the two were
_ONE32 = torch.tensor(1.0)
_ONE64 = torch.tensor(1.0, dtype=torch.float64)
_MINUS_HALF32 = torch.tensor(-0.5)
_UNIT32 = torch.tensor(float(1 << 24))
_HALF_UNIT64 = torch.tensor(float(1 << 23), dtype=torch.float64)


def pil_box_radius(sigma: torch.Tensor, passes: int = 3) -> torch.Tensor:
    """The extended-box radius Pillow's ``GaussianBlur(radius=sigma)`` uses
    for ``passes`` box blurs (Gwosdek et al. 2011), in Pillow's mix of
    single and double precision: ``sigma2 = s s / passes``, ``L =
    sqrt(12 sigma2 + 1)`` (double, stored as float), ``l = floor((L - 1)
    / 2)`` (double), ``a = (2 l + 1) (l (l + 1) - 3 sigma2) / (6 (sigma2
    - (l + 1)^2))``, ``l + a``. The products by 12, 0.5 and 2 are exact,
    so each is one op with its sum (:data:`_ONE64`), ``l + 1`` is taken
    once, and ``l`` in single precision, exact there: the same values in
    20 host ops (27, then 22 before)."""
    f32, f64 = torch.float32, torch.float64
    s = sigma.to(f32)
    sigma2 = s * s / passes
    big_l = torch.sqrt(torch.add(_ONE64, sigma2.to(f64), alpha=12.0)).to(f32)
    # (L - 1) / 2 = -0.5 + 0.5 L, exact in single precision as in double
    # (1 <= L < 2**24: 0.5 L is exact, and -0.5 a multiple of its ulp; in
    # double with two casts before)
    small_l = torch.floor(torch.add(_MINUS_HALF32, big_l, alpha=0.5))
    next_l = small_l + 1
    a = torch.add(_ONE32, small_l, alpha=2) * (small_l * next_l - 3 * sigma2)
    a = a / (6 * (sigma2 - next_l * next_l))
    return small_l + a


def _box_weights(radius: torch.Tensor, r: torch.Tensor,
                 half: int) -> torch.Tensor:
    """``[N, half + 1]`` float64 integer weights of Pillow's line box blur
    at distances ``0 .. half`` from the centre: ``ww`` within the integer
    radius ``r`` (``floor(radius)``), ``fw`` just outside it, 0 past it,
    as Pillow computes them (in units of ``2 ** -24``; ``radius`` in
    float32 as Pillow's): ``ww = floor(2**24 / (2 radius + 1))`` in
    float32, ``fw = floor((2**24 - (2 r + 1) ww) / 2)``, integers below
    2**25, exact in double in any order (one ``addcmul``). 12 host ops
    (20, then 14 before: the floor of the radius taken twice; the
    distances made each call)."""
    f64 = torch.float64
    r = r.to(f64)[:, None]
    ww = torch.floor(_UNIT32 / torch.add(_ONE32, radius, alpha=2)).to(f64)
    fw = torch.floor(torch.addcmul(_HALF_UNIT64, torch.add(_ONE64, r,
                                                           alpha=2),
                                   ww[:, None], value=-0.5))
    # the distances 0 .. half, and 1 less (dist > r + 1: dist - 1 > r):
    # constants, made once per half
    w = torch.where(_constant(*range(half + 1)) <= r, ww[:, None], fw)
    return w.masked_fill_(_constant(*range(-1, half)) > r, 0.0)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor,
                  passes: int = 3, compiled: bool = False) -> torch.Tensor:
    """Pillow's ``GaussianBlur(radius=sigma)``, one sigma per sample.

    Pillow blurs with ``passes`` extended box blurs per axis (horizontal
    passes, then vertical), edges replicated, each pass computed in integers
    (weights ``w`` < 2 ** 24, :func:`_box_weights`) and rounded to 8 bits:
    ``(sum w * pixel + 2 ** 23) >> 24``. This does the same, bit for bit, in
    float32: each weight is split as ``4096 * hi + lo`` so that every
    product and sum is an integer, below 2 ** 24 (exact in float32) where
    the ``lo`` halves of a line's taps, times 255, plus the ``2 ** 23``
    added to them, stay below it (:func:`_sums_exact32`): for any weights
    up to 7 taps (sigma up to 3; the recipes' at most 2), past that as
    the weights have it. Elsewhere (from 9 taps on, sigma 3.5, ``255 *
    4095 * taps + 2 ** 23`` can pass 2 ** 24) the sums are taken in
    float64, exact there; in float32, random images blurred at large
    sigmas (9.6 and up) came out a level off Pillow's here and there.

    Args:
        x (Tensor): ``[N, C, H, W]`` in [0, 255], integer-valued.
        sigma (Tensor): ``[N]`` standard deviations in pixels.
        compiled (bool): each pass ``torch.compile``-d (:func:`_kernel`).
    """
    split, half = _blur_weights(sigma, x.dtype, passes)
    return _blur_with(x, to_device(split, x.device), half, passes, compiled)


def _blur_weights(sigma: torch.Tensor, dtype: torch.dtype,
                  passes: int = 3,
                  min_half: int = 0) -> Tuple[torch.Tensor, int]:
    """The host part of :func:`gaussian_blur` of a batch of ``dtype``:
    ``(split, half)``, ``split`` ``[half + 1, 2 (hi, lo), N]``, the
    weights of each distance ``0 .. half`` as ``4096 * hi + lo``
    (``half`` at least ``min_half``: the distances past a sample's
    radius weigh 0, so a wider ``half`` blurs the same; the compiled
    views pin it, :class:`BlurOp`), in the
    dtype the passes compute in: float32 where its sums are exact
    (:func:`_sums_exact32`), else, and for a float64 batch, float64 (the
    batch's own dtype, which a uint8 or float16 batch was given before,
    wrapped or rounded them: a 20 x 24 px image blurred at sigma 0.5 came
    out up to 241 levels off Pillow's in uint8, 1 in float16)."""
    radius = pil_box_radius(sigma, passes)
    r = torch.floor(radius)
    half = max(int(r.max()) + 1, min_half)
    w = _box_weights(radius, r, half)  # [N, half + 1], integers
    # hi = floor(w / 4096), lo = w - 4096 hi: exact (one op each; a small
    # tensor: torch's CPU floor division, not vectorised, costs nothing)
    hi = torch.div(w, 4096, rounding_mode='floor')
    lo = torch.sub(w, hi, alpha=4096)
    # the lo sums of a line plus 2**23 (:func:`_box_pass`): each tap's lo
    # below 4096, the centre's taken once, the others twice; exact for
    # any weights up to 7 taps (no host op: the recipes' sigmas), else
    # looked up in the weights
    exact = dtype != torch.float64 and (
        _sums_exact32(4095 * (2 * half + 1), 1 << 23) or _sums_exact32(
            (lo[:, 0] + 2 * lo[:, 1:].sum(1)).max(), 1 << 23))
    wide = torch.float32 if exact else torch.float64
    return torch.stack([hi, lo]).permute(2, 0, 1).to(wide), half


def _blur_with(x: torch.Tensor, split: torch.Tensor, half: int,
               passes: int = 3, compiled: bool = False) -> torch.Tensor:
    """The device part of :func:`gaussian_blur` (``split`` from
    :func:`_blur_weights`, on ``x``'s device), computed in ``split``'s
    dtype. Each pass's result is at
    most 255 by construction (Pillow's weights of a line sum to at most
    ``2 ** 24``: ``(255 * 2 ** 24 + 2 ** 23) >> 24`` is 255), so no clamp
    follows (an op a call, which changed nothing)."""
    w = split[..., None, None, None]
    y = x.to(split.dtype)
    box = _kernel(_box_pass, compiled)
    for dim in (3, 2):
        for _ in range(passes):
            y = box(y, w, dim, half)
    return y.to(x.dtype)


def _box_pass(y: torch.Tensor, w: torch.Tensor, dim: int,
              half: int) -> torch.Tensor:
    """One of :func:`gaussian_blur`'s box passes along ``dim`` (edges
    replicated), in integers exact in ``y``'s dtype (float32 where
    :func:`_blur_weights` finds it exact, else float64): weights ``4096 *
    hi + lo`` (``w``: ``[half + 1, 2 (hi, lo), N, 1, 1, 1]``), ``(sum w *
    pixel + 2 ** 23) >> 24``. The ``hi`` and ``lo`` sums are one tensor ``[2, N,
    C, H, W]``, made by one product and ``half`` multiply-adds (each of
    those an op for either half before: the same products and sums, in
    the same order), then joined as ``floor((hi + floor((lo + 2 ** 23) /
    4096)) / 4096)``, each floor division one op on a device
    (:func:`_floor_div_`; two, a division and a floor, before)."""
    pad = (half, half, 0, 0) if dim == 3 else (0, 0, half, half)
    size = y.shape[dim]
    padded = F.pad(y, pad, mode='replicate')
    # sums of the pixels at distance k on both sides (exact)
    sums = [padded.narrow(dim, half, size)] + [
        padded.narrow(dim, half - k, size) + padded.narrow(dim, half + k, size)
        for k in range(1, half + 1)]
    acc = sums[0] * w[0]
    for k in range(1, half + 1):
        acc.addcmul_(sums[k], w[k])
    # the halves as acc[1] and acc[0], written in place: as the outputs
    # of an unbind, torch.compile pinned the batch's size to the one of
    # its first call (a compilation per size of the blurred subset)
    carry = _floor_div_(acc[1].add_(float(1 << 23)), 4096.0)
    return _floor_div_(acc[0].add_(carry), 4096.0)


class _Op:
    """One augmentation: ``op(x, gen)`` on a float RGB batch in [0, 255],
    ``x`` left as it is; ``compiled``: its pure tensor functions
    ``torch.compile``-d. In two parts, so that :class:`BatchAugment` sends
    the parameters of all its ops in one copy: :meth:`plan` draws on the
    host and queues what the device reads on a :class:`ParamUpload`,
    :meth:`apply` runs on the device once it is sent, and may write into
    its batch (``writes``: the ops that rewrite a subset of the samples in
    place), which :class:`BatchAugment` owns (its one float32 copy of the
    caller's batch); called alone, such an op works on a copy (before, it
    wrote into the caller's batch), and an op on a batch of another dtype
    than float32 or float64 computes in float32 and returns the batch's
    dtype (:func:`_exactly`: the colour jitter cast its factors to the
    batch's dtype, on uint8 0 or 1, and returned float32)."""

    compiled = False
    #: whether :meth:`apply` may write into its batch
    writes = True

    def draw_sizes(self, n: int) -> List[Tuple[int, torch.dtype]]:
        """The uniform draws :meth:`plan` takes from its :class:`Draws`
        for ``n`` samples, in order, ``(count, dtype)`` (by default one
        per sample: whether it is chosen)."""
        return [(n, torch.float64)]

    def plan(self, shape: tuple, dtype: torch.dtype, draws: Draws,
             up: ParamUpload):
        """The parameters of a batch of ``shape`` (``[N, C, H, W]``) and
        ``dtype`` from uniform ``draws`` (:meth:`draw_sizes`); returns
        what :meth:`apply` needs."""
        raise NotImplementedError

    def apply(self, x: torch.Tensor, plan, up: ParamUpload) -> torch.Tensor:
        raise NotImplementedError

    def out_shape(self, shape: tuple) -> tuple:
        """The shape of the batch this op returns from one of ``shape``."""
        return shape

    def __call__(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        return _exactly(lambda t: self._run(t, gen), x, copy=self.writes)

    def _run(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """:meth:`__call__` on a batch this op may write into."""
        up = ParamUpload(x.device)
        plan = self.plan(tuple(x.shape), x.dtype,
                         Draws(gen, self.draw_sizes(x.shape[0])), up)
        up.send()
        return self.apply(x, plan, up)


def _subset(chosen: torch.Tensor, up: ParamUpload):
    """The samples ``chosen`` (``[N]`` bool, CPU) as ``(idx, slot)``: their
    CPU indices and the slot of the same int64 indices on ``up`` (None
    where none is chosen). int64: writing the subset back (``index_put_``)
    casts int32 indices to int64 first, a kernel of its own."""
    idx = chosen.nonzero()[:, 0]
    return idx, (up.add(idx) if len(idx) else None)


def _on_subset(x: torch.Tensor, subset, up: ParamUpload,
               fn) -> torch.Tensor:
    """``x`` with ``fn(x[i])`` written to the samples ``i`` of ``subset``
    (:func:`_subset`)."""
    slot = subset[1]
    if slot is None:
        return x
    dev_idx = up.get(slot)
    x[dev_idx] = fn(x[dev_idx])
    return x


class ResizedCropOp(_Op):
    """Random resized crop; with ``flip_prob``, then a horizontal flip
    with that probability (a ``RandomFlip`` right after the crop, folded
    in by :class:`BatchAugment`: drawn after the boxes, as the flip's own
    op draws it, and made by the crop's matrices, :func:`resized_crop`:
    the flip's three device ops, the subset's read, the flip and the
    write-back, are gone)."""

    writes = False  # a new batch

    def __init__(self, size: Tuple[int, int], area_range=(0.08, 1.0),
                 ratio_range=(3. / 4., 4. / 3.), attempts: int = 10,
                 flip_prob: Optional[float] = None):
        self.size = size
        self.area_range = tuple(area_range)
        self.ratio_range = tuple(ratio_range)
        self.attempts = attempts
        self.flip_prob = flip_prob

    def boxes(self, n, height, width, gen):
        return sample_crop_boxes(n, height, width, self.area_range,
                                 self.ratio_range, gen, self.attempts)

    def draw_sizes(self, n):
        # the boxes' draws, then the flip's (as its own op draws it)
        return [(_box_draws(n, self.attempts), torch.float64)] + (
            [] if self.flip_prob is None else [(n, torch.float64)])

    def plan(self, shape, dtype, draws, up):
        n = shape[0]
        boxes = _crop_boxes(draws.take(_box_draws(n, self.attempts)), n,
                            shape[2], shape[3], self.area_range,
                            self.ratio_range, self.attempts)
        flip = None if self.flip_prob is None else \
            draws.take(n) < self.flip_prob
        return _crop_plan(boxes, shape, dtype, self.size, up, flip)

    def apply(self, x, plan, up):
        return _crop_apply(x, plan, up)

    def out_shape(self, shape):
        return tuple(shape[:2]) + tuple(self.size)


class FlipOp(_Op):

    def __init__(self, prob: float):
        self.prob = prob

    def plan(self, shape, dtype, draws, up):
        return _subset(draws.take(shape[0]) < self.prob, up)

    def apply(self, x, plan, up):
        return _on_subset(x, plan, up, lambda sub: sub.flip(-1))


class ColorJitterOp(_Op):
    """Brightness, contrast, saturation, hue in a random order per sample.

    Each sample draws (when ``prob`` chooses it) a factor per adjustment and
    an order of the four. At each of the four positions, the samples whose
    adjustment there is brightness, contrast or saturation get one blend
    over the whole batch, ``x + f * (x - d)`` with the sample's degenerate
    image ``d`` (black, the mean gray level, the gray image) and ``f = 1``
    (exactly the identity on 8-bit values) for the others; the samples whose
    adjustment is hue are rotated as a subset. The same result as applying
    the four adjustments to each sample in its order (the tests compare with
    that loop), with fewer tensor operations than one adjustment per subset.
    """

    def __init__(self, brightness=0., contrast=0., saturation=0., hue=0.,
                 prob=1.0, per_image=None):
        # the factor ranges as the per-image transform makes them
        # (mmpretrain's ColorJitter: clipped to their bounds with a warning,
        # hue to [-0.5, 0.5]; a negative number refused). The ranges written
        # here before left hue's upper end unclipped: hue=0.6 drew shifts of
        # 0.5-0.6 turns that the per-image views never make. per_image: that
        # transform already built (the four factors are then not read)
        ref = per_image
        if ref is None:
            from mmpretrain.datasets.transforms import ColorJitter
            ref = ColorJitter(brightness, contrast, saturation, hue)
        self.ranges = [None if r is None else (float(r[0]), float(r[1]))
                       for r in (ref.brightness, ref.contrast,
                                 ref.saturation, ref.hue)]
        self.prob = prob
        # the factors' ranges, low end and span ([k, 1]: one addcmul maps
        # the k drawn rows, as numpy's uniform, :func:`_uniform`)
        drawn = [sorted(r) for r in self.ranges if r is not None]
        self._ends = torch.tensor([[lo] for lo, _ in drawn],
                                  dtype=torch.float64).view(-1, 1)
        self._spans = torch.tensor([[hi - lo] for lo, hi in drawn],
                                   dtype=torch.float64).view(-1, 1)
        # the adjustments whose degenerate image is the gray mean
        # (contrast, 1) and the gray image (saturation, 2); -2 (no
        # position's) for one the config leaves out
        self._gray_ids = torch.tensor(
            [k if self.ranges[k] is not None else -2 for k in (1, 2)])

    def draw_sizes(self, n):
        # whether chosen; the order (float32, torch.rand's default); the
        # factors of the adjustments in the config
        k = len(self._ends)
        return [(n, torch.float64), (4 * n, torch.float32),
                (k * n, torch.float64)]

    def draw(self, n: int, gen: torch.Generator):
        """``(chosen [n] bool, order [n, 4], factors)``: whether each sample
        is jittered, the position of each adjustment in its order (0
        brightness, 1 contrast, 2 saturation, 3 hue), and per adjustment
        ``[n]`` float64 factors (None for an adjustment the config leaves
        out)."""
        return self._draw(Draws(gen, self.draw_sizes(n)), n)

    def _draw(self, draws: Draws, n: int):
        """:meth:`draw` from ``draws`` (:meth:`draw_sizes`)."""
        chosen = draws.take(n) < self.prob
        order = torch.argsort(draws.take(4 * n, torch.float32).view(n, 4), 1)
        k = len(self._ends)
        drawn = iter(torch.addcmul(self._ends, draws.take(k * n).view(k, n),
                                   self._spans))
        factors = [None if r is None else next(drawn) for r in self.ranges]
        return chosen, order, factors

    def plan(self, shape, dtype, draws, up):
        n = shape[0]
        chosen, order, factors = self._draw(draws, n)
        # [position, sample]: which adjustment each sample makes there (-1:
        # none, the sample is not jittered; contiguous: the weights below
        # are then made contiguous, as they are sent)
        at = torch.where(chosen, order.T,
                         _constant(-1, dtype=torch.int64)).contiguous()
        # per position and sample: blend factor (1 leaves a sample as it
        # is: hue, not jittered, or an adjustment the config leaves out),
        # looked up in one gather from the factors of brightness,
        # contrast, saturation and a row of ones (row 3: hue's, and
        # none's, -1 & 3)
        ones = torch.ones(n, dtype=torch.float64)
        table = torch.stack([ones if f is None else f
                             for f in factors[:3]] + [ones])
        factor = table.gather(0, at & 3)
        # and whether the degenerate image is the gray image's mean
        # (contrast) or the gray image (saturation); else black
        # (brightness), as bool (a byte each), [position, 2, sample]
        weights = at[:, None] == self._gray_ids.view(1, 2, 1)
        moves = (factor != 1).any(1).tolist()
        mixes = weights.flatten(1).any(1).tolist()
        hue = []  # per position: the subset rotated, its shifts' slot
        if factors[3] is not None:
            # every position's subset at once: (position, sample) in
            # order, cut by the counts per position; one copy of the
            # samples and one of their shifts, read per position as views
            # (three ops per position before)
            rotated = at == 3
            counts = rotated.sum(1).tolist()
            idx = rotated.nonzero()[:, 1].contiguous()
            slots = up.add_split(idx, counts)
            shifts = up.add_split(
                _hue_codes(factors[3].index_select(0, idx)), counts)
            for part, slot, shift in zip(idx.split(counts), slots, shifts):
                hue.append(((part, slot), shift))
        # the factors in the batch's dtype
        return (up.add(factor.to(dtype)), up.add(weights)), moves, mixes, \
            hue

    def apply(self, x, plan, up):
        slots, moves, mixes, hue = plan
        factor, weights = (up.get(s) for s in slots)
        for pos in range(4):
            if moves[pos]:
                x = self._blend_position(x, factor[pos], weights[pos],
                                         mixes[pos])
            if hue:
                sub, shift = hue[pos]
                x = _on_subset(x, sub, up, lambda part, shift=shift:
                               _rotate_hue(part, up.get(shift)))
        return x

    def _blend_position(self, x: torch.Tensor, factor: torch.Tensor,
                        weights: torch.Tensor,
                        with_gray: bool) -> torch.Tensor:
        """One position's blends (on the device: ``factor`` ``[N]``, and
        ``weights`` ``[2, N]`` bool, whether the degenerate image is the
        gray mean, whether it is the gray image)."""
        w_mean, w_gray = weights.view(2, -1, 1, 1, 1).unbind(0)
        return _kernel(_blend_core, self.compiled)(
            x, factor.view(-1, 1, 1, 1), w_mean, w_gray, luma_weights(x.device, x.dtype, PIL_L24),
            with_gray)


def pil_convert_l(x: torch.Tensor) -> torch.Tensor:
    """``[N, 1, H, W]`` Pillow ``convert('L')`` of an 8-bit RGB batch:
    ``(19595 R + 38470 G + 7471 B + 2**15) >> 16``, exact (every partial
    sum is an integer below 2**24, so float32 holds it exactly), in
    ``x``'s dtype (:func:`_exactly`: a uint8 batch got levels far off
    Pillow's, which :class:`GrayscaleOp` then failed to write back,
    float16 inf, bfloat16 a level off for about a third of the pixels,
    int64 float32 levels, whose write-back failed too)."""
    return _exactly(_pil_gray, x)


#: the dtypes the ops compute 8-bit values in exactly
_EXACT_DTYPES = (torch.float32, torch.float64)


def _exactly(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
             copy: bool = False) -> torch.Tensor:
    """``fn(x)`` (of a copy of ``x`` with ``copy``) where the ops compute
    in ``x``'s dtype exactly (float32, float64); for any other dtype
    (uint8, int64, float16, bfloat16) ``fn`` of ``x``'s float32 copy,
    cast back to ``x``'s dtype: computed in that dtype, weights and
    factors wrapped or were truncated (uint8: a factor of 0.7 was 0),
    sums overflowed (float16: 19595 R alone passes 65504) or were
    rounded (bfloat16). For the ops and functions called alone (the
    views compute in their own float32 batch)."""
    if x.dtype in _EXACT_DTYPES:
        return fn(x.clone() if copy else x)
    return fn(x.float()).to(x.dtype)


def _build_gray_table(weights: Tuple[float, float, float]) -> torch.Tensor:
    """``[2**24]`` uint8: the level of each colour ``65536 R + 256 G + B``
    at BGR ``weights``, :func:`random_grayscale_levels` cast to uint8
    (mmpretrain's), made from a table of 65,536 partial sums instead of
    every colour through the formula. numpy sums ``(b w_b + g w_g) + r
    w_r`` (each product and sum rounded to float64; not associative:
    ``b w_b + (g w_g + r w_r)`` gives another level for 1,099,742
    colours at (1, 1, 1)): the first sum made once per (G, B), then per
    red its ``r w_r`` added, and truncated by the cast, as numpy's
    ``astype``. Each op is serial (:data:`_SERIAL_SIZE`)."""
    w_b, w_g, w_r = weights
    level = torch.arange(256, dtype=torch.float64)
    blue, green = level * w_b, (level * w_g)[:, None]
    blue_green = torch.empty(256, 256, dtype=torch.float64)  # [G, B]
    chunks = _row_chunks(256, 256)  # of G
    for rows in chunks:
        torch.add(blue, green[rows], out=blue_green[rows])
    table = torch.empty(256, 256, 256, dtype=torch.uint8)
    total = torch.empty_like(blue_green)
    for red, term in enumerate((level * w_r).tolist()):
        for rows in chunks:
            table[red, rows].copy_(
                torch.add(blue_green[rows], term, out=total[rows]))
    return table.view(-1)


#: per (device, BGR weights): the table of :meth:`GrayscaleOp._weighted`
_GRAY_TABLES = DeviceCopies(_build_gray_table)


class GrayscaleOp(_Op):
    """Grayscale with probability ``prob``: Pillow's ``convert('L')``
    (``channel_weights=None``, the published views) or mmpretrain's
    ``RandomGrayscale`` with its ``channel_weights`` (in the BGR order of
    mmpretrain's images): normalised by their sum, the weighted sum in
    float64 in mmpretrain's order (blue, green, red), truncated, as numpy
    computes it (:func:`random_grayscale_levels`). The float32 sum of
    RGB-ordered weights used before gave another level for about 8% of
    random colours at the default weights (1, 1, 1) (a sum just below an
    integer in one precision, not in the other). No float32 formulation
    tried is exact over all 2**24 colours: numpy's float64 sum falls just
    below the integer where the exact sum is one (BGR (0, 1, 5) at (1, 1,
    1): 1.9999999999999998, level 1), so the exact ``floor((b + g + r) /
    3)`` differs as the float32 sum does (1,069,776 colours; at (0.114,
    0.587, 0.2989) the float32 sum 34, BGR (16, 71, 5): 44 for numpy's 45).
    So the level of every colour is computed once per process on the CPU
    in float64 and looked up on the device (a 16 MB table per weights and
    device, as the hue's): no float64 on the device, where the sum was
    computed in float64 before (a float64 copy of the batch: twice its
    bytes, and slow on most GPUs)."""

    def __init__(self, prob: float,
                 channel_weights: Optional[Sequence[float]] = None):
        self.prob = prob
        if channel_weights is None:
            self.weights = None
        else:
            # mmpretrain: np.array(channel_weights) / sum(channel_weights)
            total = sum(channel_weights)
            self.weights = tuple(float(w) / total for w in channel_weights)

    def _table(self, device) -> torch.Tensor:
        """``[2**24]`` uint8 on ``device``: the level of each colour
        ``65536 R + 256 G + B`` (:func:`random_grayscale_levels`), made
        once per process and weights (:class:`DeviceCopies`)."""
        return _GRAY_TABLES.on(device, self.weights)

    def _weighted(self, x: torch.Tensor) -> torch.Tensor:
        """``[N, 1, H, W]`` mmpretrain's truncated weighted sum of an RGB
        batch, looked up per colour (:meth:`_table`)."""
        code = _colour_codes(x)
        return self._table(x.device).index_select(0, code.flatten()).view(
            code.shape[0], 1, *code.shape[1:]).to(x.dtype)

    def plan(self, shape, dtype, draws, up):
        return _subset(draws.take(shape[0]) < self.prob, up)

    def apply(self, x, plan, up):
        def gray(sub):
            # the one level per pixel, written to the three channels by the
            # subset's write-back (a copy of it per channel first before)
            g = pil_convert_l(sub) if self.weights is None else \
                self._weighted(sub)
            return g.expand_as(sub)
        return _on_subset(x, plan, up, gray)


def random_grayscale_levels(x: torch.Tensor,
                            weights: Sequence[float]) -> torch.Tensor:
    """``[N, 1, H, W]`` mmpretrain's ``RandomGrayscale`` level of an RGB
    batch ``[N, 3, H, W]`` (integer values; ``weights`` normalised, in BGR
    order): ``b w_b + g w_g + r w_r`` in float64, in numpy's order,
    truncated toward zero, as numpy's ``astype('uint8')`` (a negative
    weight can make a sum negative: floored, -0.5 was -1, level 255 once
    cast, where mmpretrain's is 0)."""
    r, g, b = x.to(torch.float64).unbind(1)
    w_b, w_g, w_r = weights
    total = b * w_b + g * w_g + r * w_r
    return torch.trunc(total)[:, None]


class BlurOp(_Op):
    """Pillow's Gaussian blur with probability ``prob``, sigma uniform in
    ``sigma_range``. Compiled (``compiled``), the passes' width ``half``
    is pinned to the widest the range draws (:attr:`widest_half`): one
    compilation per axis, where the batch's widest sigma set it and each
    new width was a compilation of its own (the same images: the
    distances past a sample's radius weigh 0)."""

    def __init__(self, sigma_range: Tuple[float, float], prob: float):
        self.sigma_range = tuple(sigma_range)
        self.prob = prob
        #: the ``half`` of :func:`_blur_weights` at the range's largest
        #: sigma (Pillow's box radius grows with sigma)
        self.widest_half = int(torch.floor(pil_box_radius(torch.tensor(
            [max(self.sigma_range)], dtype=torch.float64)))) + 1

    def draw_sizes(self, n):
        return [(n, torch.float64), (n, torch.float64)]  # chance, sigma

    def plan(self, shape, dtype, draws, up):
        n = shape[0]
        sub = _subset(draws.take(n) < self.prob, up)
        u = draws.take(n)
        if sub[1] is None:
            return sub, None, 0
        # the sigmas of the chosen samples only (the same values)
        sigma = _uniform(u[sub[0]], *self.sigma_range)
        split, half = _blur_weights(
            sigma, dtype, min_half=self.widest_half if self.compiled else 0)
        return sub, up.add(split), half

    def apply(self, x, plan, up):
        sub, split, half = plan
        return _on_subset(x, sub, up, lambda part: _blur_with(
            part, up.get(split), half, compiled=self.compiled))


class SolarizeOp(_Op):

    writes = False  # a new batch (``where``)

    def __init__(self, thr: float, prob: float):
        self.thr = thr
        self.prob = prob

    def plan(self, shape, dtype, draws, up):
        # per sample the threshold, infinite where it is not solarised: one
        # comparison on the device (a mask and its conjunction before); in
        # the batch's float dtype, float64 for an integer batch (which
        # holds no infinity: a uint8 batch failed in torch.full; the
        # comparison of its 8-bit values with a float64 one is exact);
        # one where of two constants (a full and a masked_fill before)
        chosen = draws.take(shape[0]) < self.prob
        kind = dtype if dtype.is_floating_point else torch.float64
        return up.add(torch.where(chosen, _constant(self.thr, dtype=kind),
                                  _constant(float('inf'), dtype=kind)))

    def apply(self, x, plan, up):
        thr = up.get(plan).view(-1, 1, 1, 1)
        return torch.where(x >= thr, 255 - x, x)


def _size(scale) -> Tuple[int, int]:
    """mmpretrain's ``RandomResizedCrop`` ``scale`` (int, or ``(h, w)``:
    it resizes to ``scale[::-1]``, mmcv's ``(w, h)``) as ``(h, w)``; read
    as ``(w, h)`` before, a non-square crop came out transposed."""
    if isinstance(scale, int):
        return scale, scale
    return int(scale[0]), int(scale[1])


def _only(t: Dict, key: str, default, allowed: tuple, where: str,
          why: str) -> None:
    """InputError unless transform ``t``'s ``key`` (``default`` when not
    given, the transform's own default) is one of ``allowed``: a setting
    the batched op would not follow."""
    value = t.get(key, default)
    if value not in allowed:
        raise InputError(f"{where}: {t.get('type')} {key} {value!r} has no "
                         f"batched version ({why}); use augment_on='cpu'")


def _built_per_image(t: Dict, where: str):
    """The per-image transform of config ``t``, built; InputError (one
    line) where the per-image pipeline refuses it when it builds it (an
    assertion, an unknown or wrong argument): a config the batched views
    ran would break on the CPU path (``augment_on='cpu'``, ``'auto'``
    without a GPU), and the batched op may have read it otherwise
    (``GaussianBlur`` with both ``radius`` and ``magnitude_range``: per
    image refused, batched the range taken)."""
    from ..registry import TRANSFORMS
    from . import transforms  # noqa: F401  (the project's own transforms)
    try:
        return TRANSFORMS.build(dict(t))
    except (AssertionError, TypeError, ValueError) as e:
        why = ' '.join(str(e).split()) or \
            f"refused per image: {dict(t)!r}"
        raise InputError(f"{where}: {t.get('type')}: {why}") from None


def build_op(t: Dict, where: str, scope: Optional[str] = None) -> _Op:
    """The batched op of one mmpretrain transform config, known by what
    it builds in ``scope`` (:func:`~.pipeline_checks.transform_type`:
    ``'mmpretrain.RandomResizedCrop'`` is mmpretrain's crop; None: the
    scope current, else the project's); refused with one
    line where both paths refuse it (:func:`check_settings`), where the
    batched op would not follow it, or where the per-image transform
    refuses it (:func:`_built_per_image`)."""
    kind = transform_type(t, scope)
    # judged as the class it builds ('mmcv.RandomFlip' is RandomFlip: its
    # prob list was judged as any transform's, review r201); a type it
    # finds nothing for as spelled
    check_settings(t if kind is None else dict(t, type=kind), where)
    op = _build_op(t, where, kind, scope)
    if kind == 'RandomApply':
        # its transform is checked as built, its prob by _prob; its own
        # arguments here (built alone: mmcv builds the inner transforms in
        # the runner's scope, unknown outside it)
        _built_per_image(dict(t, transforms=[]), where)
    elif kind != 'RandomResizedCrop' and kind not in _JITTER:
        # RandomResizedCrop and the jitters: built before their op is made
        # (a jitter built twice logged mmpretrain's clip warning twice)
        _built_per_image(t, where)
    return op


def _build_op(t: Dict, where: str, kind: Optional[str],
              scope: Optional[str]) -> _Op:
    if kind == 'RandomResizedCrop':
        if t.get('interpolation', 'bilinear') != 'bilinear':
            raise InputError(f'{where}: RandomResizedCrop interpolation '
                             f'{t["interpolation"]!r} has no batched version '
                             "(bilinear only); use augment_on='cpu'")
        # mmpretrain's default backend is OpenCV, whose resize is not
        # Pillow's (no averaging when shrinking)
        _only(t, 'backend', 'cv2', ('pillow', ), where,
              "Pillow's resize only: backend='pillow'")
        # what the per-image transform refuses when built (a range from
        # high to low, a negative max_attempts), refused here too: the
        # batched op took it and failed the first batch (torch's uniform_)
        _built_per_image(t, where)
        return ResizedCropOp(_size(t['scale']),
                             t.get('crop_ratio_range', (0.08, 1.0)),
                             t.get('aspect_ratio_range', (3. / 4., 4. / 3.)),
                             t.get('max_attempts', 10))
    if kind == 'RandomFlip':
        direction = t.get('direction', 'horizontal')
        if direction != 'horizontal':
            raise InputError(f'{where}: RandomFlip direction {direction!r} '
                             "has no batched version; use augment_on='cpu'")
        # prob a float here: an integer, a tuple or None are refused by
        # check_settings (as mmcv refuses them per image), and a list needs
        # a list of directions, refused above
        return FlipOp(_prob(t, None, where))
    if kind == 'RandomApply':
        inner = t.get('transforms', [])
        if isinstance(inner, dict):  # mmcv's Compose takes one dict too
            inner = [inner]
        if len(inner) != 1 or not isinstance(inner[0], dict) or \
                transform_type(inner[0], scope) not in _JITTER:
            raise InputError(f'{where}: RandomApply is batched only around '
                             "one ColorJitter; use augment_on='cpu'")
        op = build_op(inner[0], where, scope)
        op.prob = _prob(t, 0.5, where)
        return op
    if kind in _JITTER:
        _only(t, 'backend', 'pillow', ('pillow', ), where,
              "Pillow's ImageEnhance only")
        # the per-image transform's refusals, and its factor ranges (built
        # once: mmpretrain logs its clip warning each time it is built)
        return ColorJitterOp(per_image=_built_per_image(t, where))
    if kind == 'PillowGrayscale':
        return GrayscaleOp(_prob(t, 0.1, where), None)
    if kind == 'RandomGrayscale':
        if not t.get('keep_channels', False):
            raise InputError(f'{where}: RandomGrayscale needs '
                             "keep_channels=True to be batched")
        _only(t, 'color_format', 'bgr', ('bgr', ), where,
              'images decoded in BGR only')
        # per image an assertion (not three) or a TypeError at the first
        # image chosen; the batched op failed the first batch (not three)
        # or the build (None, one number: a TypeError)
        weights = _numbers(t, 'channel_weights', (1., 1., 1.), 3, where)
        if sum(weights) == 0:
            # per image a division by zero: NaN levels cast to uint8
            raise InputError(f'{where}: RandomGrayscale channel_weights '
                             f'{weights!r} sum to 0 (they are normalised '
                             'by their sum)')
        # mmpretrain's weights follow the BGR order of its images
        return GrayscaleOp(_prob(t, 0.1, where), weights)
    if kind == 'GaussianBlur':
        if t.get('magnitude_std') != 'inf' or 'magnitude_range' not in t:
            raise InputError(f'{where}: GaussianBlur is batched only with '
                             "magnitude_range and magnitude_std='inf'")
        # mmpretrain draws U(0, level) / total of the range: sigma uniform
        # in (low, low + (high - low) * level / total)
        # per image a traceback at the first image chosen (a range not of
        # two, a level not a number, total_level 0); the batched op failed
        # its build with one
        low, high = _numbers(t, 'magnitude_range', None, 2, where)
        # (a level outside [0, total_level], total_level 0: check_settings)
        level, = _numbers(t, 'magnitude_level', 10, None, where)
        total, = _numbers(t, 'total_level', 10, None, where)
        # a range given high to low ((2.0, 0.1): mmpretrain maps levels
        # that way) is the same uniform draw between its two ends
        ends = sorted((low, low + (high - low) * level / total))
        return BlurOp(tuple(ends), _prob(t, 0.5, where))
    if kind == 'Solarize':
        if t.get('thr') is None:
            raise InputError(f'{where}: Solarize is batched only with a '
                             'fixed thr')
        thr, = _numbers(t, 'thr', None, None, where)
        return SolarizeOp(thr, _prob(t, 0.5, where))
    raise InputError(f"{where}: transform {t.get('type')!r} has no batched "
                     "version; use augment_on='cpu' (the per-image "
                     'pipeline)')


def _fold_flips(ops: List[_Op]) -> List[_Op]:
    """``ops`` with each flip that directly follows a crop folded into
    the crop (its ``flip_prob``): the same draws in the same order and
    the same images, without the flip's device ops."""
    out: List[_Op] = []
    for op in ops:
        if isinstance(op, FlipOp) and out and \
                isinstance(out[-1], ResizedCropOp) and \
                out[-1].flip_prob is None:
            out[-1].flip_prob = op.prob
        else:
            out.append(op)
    return out


def _image_size(shape) -> str:
    """``'<width>x<height> px'`` of a decoded ``[3, H, W]`` image's
    shape."""
    return f'{shape[-1]}x{shape[-2]} px'


@FUNCTIONS.register_module(name='decoded_collate')
def decoded_collate(batch: Sequence[Dict]) -> Dict:
    """MMEngine's ``default_collate`` for the decoded images that the
    batched views take (``augment_on='device'``, set by
    :func:`~openselfsup.apis.fast_path.batched_views_config`): the same
    batch, and a batch of images of several sizes refused in one line (it
    was torch's ``stack expects each tensor to be equal size`` traceback;
    the per-image pipeline takes them, its crop reads each image at its
    own size). Checked per batch, as it is collated: no pass over the
    data before the run.

    Raises:
        InputError: naming the first image of another size than most of
            the batch's, its size, the batch's and the way out.
    """
    sizes = [tuple(item['inputs'].shape) for item in batch
             if isinstance(item, dict) and hasattr(item.get('inputs'),
                                                   'shape')]
    if len(set(sizes)) > 1:
        common = max(set(sizes), key=sizes.count)
        odd = next(item for item in batch
                   if tuple(item['inputs'].shape) != common)
        sample = odd.get('data_samples')
        path = getattr(sample, 'metainfo', {}).get('img_path',
                                                    'an image')
        raise InputError(
            f'{path}: {_image_size(odd["inputs"].shape)}, in a batch of '
            f'{_image_size(common)} images; the batched views '
            "(augment_on='device', what 'auto' picks on a GPU) need images "
            'of one size: set augment_on=cpu (--cfg-options '
            'augment_on=cpu), or resize the images to one size')
    return default_collate(batch)


class BatchAugment:
    """A view pipeline of a config as batched ops on a tensor batch.

    Args:
        transforms (list[dict]): the mmpretrain transform configs of one view
            (what ``MultiView`` repeats, or the FSP pipeline between loading
            and packing).
        where (str): the config key they come from, for error messages.
        compile (bool): the colour jitter's blends and the blur's box passes
            through ``torch.compile`` (fused kernels: fewer ops to issue and
            fewer passes over the batch on a GPU), compiled at the first
            batch, once per process for any batch size and any draws: a
            blend per layout of its batch (the crop's, then its own) and
            per kind (with or without the gray image), a box pass per axis
            (its width pinned to the widest of the sigma range,
            :class:`BlurOp`); a batch of one image, or a subset of one,
            compiles its own once. Each batch compiled again before (the
            box pass per size of the blurred subset and per width) until
            dynamo's recompile limit, then ran eager: on an H100 359.6
            img/s against 8,178 eager. On the CPU the compiled views equal
            the eager ones (tested); on a GPU the compiled code may round a
            multiply-add once where the eager ops round twice, and a flipped
            8-bit rounding can grow by a few levels through the later ops
            (the CUDA test allows 4, as for the eager GPU views against the
            CPU's). Default False. :attr:`compiles` says whether any op has
            something to compile.
        scope (str, optional): the registry scope the transforms' types
            are looked up in (:func:`~.pipeline_checks.transform_type`: a
            type is known by the class it builds there,
            ``'mmpretrain.RandomResizedCrop'`` as ``'RandomResizedCrop'``);
            None: the scope current (a preprocessor built in a run: the
            one MMEngine builds the model in), else the project's.

    Call with a uint8 (or integer-valued float) ``[N, 3, H, W]`` RGB batch
    in ``[0, 255]`` (the ops rely on 8-bit values, as Pillow's do, and the
    per-image pipeline takes only uint8 images) and a CPU
    ``torch.Generator``. A float batch with fractions is outside this
    contract and not checked (that would read the batch back from the
    device): the ops do not round it first, their results are not the
    per-image pipeline's of any image (the hue and ``RandomGrayscale``
    lookups truncate each value, as a uint8 cast would; the crop and the
    blur take the fractions as they are).
    Returns a float32 batch in ``[0, 255]``, computed in float32 even
    inside an autocast context. ``repeats``: the batch taken that many times (rows ``r N ..
    (r + 1) N - 1`` the ``r``-th; each row draws its own parameters), in
    the one float32 copy of the batch (a ``repeat`` of the uint8 batch
    first was a device op and a pass over twice its bytes); an integer of
    at least 1 (0 or less is refused: it returned the batch once).
    """

    def __init__(self, transforms: Sequence[Dict], where: str = 'pipeline',
                 compile: bool = False, scope: Optional[str] = None):
        self.transforms = [dict(t) for t in transforms]
        self.ops: List[_Op] = _fold_flips(
            [build_op(t, where, scope) for t in self.transforms])
        for op in self.ops:
            op.compiled = compile

    @property
    def compiles(self) -> bool:
        """Whether ``compile=True`` changes anything here (a colour jitter
        or a blur among the ops)."""
        return any(isinstance(op, (ColorJitterOp, BlurOp))
                   for op in self.ops)

    def __call__(self, images: torch.Tensor,
                 gen: Optional[torch.Generator] = None,
                 repeats: int = 1) -> torch.Tensor:
        if images.dim() != 4 or images.shape[1] != 3:
            raise InputError('batched augmentation needs [N, 3, H, W] '
                             f'images, got {tuple(images.shape)}')
        if not is_int(repeats) or repeats < 1:
            # 0 or less returned the batch once (N rows, not 0)
            raise InputError('batched augmentation: repeats must be an '
                             f'integer of at least 1, got {repeats!r}')
        gen = gen if gen is not None else torch.default_generator
        # MMEngine runs the data preprocessor inside the autocast context of
        # the training step: the views are computed in full precision
        kind = images.device.type
        full = (torch.autocast(kind, enabled=False)
                if torch.amp.is_autocast_available(kind) else nullcontext())
        with torch.no_grad(), full:
            # the ops write into x: a float batch is copied first (float()
            # returns it as it is); x is a new tensor otherwise (its data
            # pointer was compared: on the meta device, where the op counts
            # are taken, every pointer is 0, and a uint8 batch was counted
            # as copied twice)
            if repeats > 1:  # a copy of the repeated view, contiguous
                x = images.expand(repeats, *images.shape).to(
                    torch.float32, copy=True).flatten(0, 1)
            else:
                x = images.float()
                if x is images:
                    x = x.clone()
            # every op's parameters drawn first (in the ops' order, as
            # before), then sent to the device in one copy
            # (their uniform draws first, in few calls: Draws)
            up = ParamUpload(images.device)
            draws = Draws(gen, [part for op in self.ops
                                for part in op.draw_sizes(len(x))])
            shape, plans = tuple(x.shape), []
            for op in self.ops:
                plans.append(op.plan(shape, x.dtype, draws, up))
                shape = op.out_shape(shape)
            up.send()
            for op, plan in zip(self.ops, plans):
                x = op.apply(x, plan, up)
        return x
