"""Pre-training throughput of the CLP and FSP recipes at 224 px (issue 16).

With a GPU, per recipe (the real configs, total batch on one GPU):

(a) compute ceiling: training steps on batches already on the GPU (forward,
    loss, backward, optimiser step, momentum-encoder update), float32 and
    bfloat16 autocast, contiguous and channels-last, GhostBN's default
    one batch-norm call per group; and bfloat16, contiguous and
    channels-last, with GhostBN's one call for all groups
    (``computation='one_call'``, keys ``ghost_bn=one_call``) and with its
    grouped view (``computation='grouped_view'``, keys
    ``ghost_bn=grouped_view``);
(b) end to end: ``openselfsup.apis.train`` on synthetic 224 px NCT images
    written to a temporary directory in the real layout (list files under
    ``meta/``), with the default path (``augment_on='auto'``: workers
    decode, views batched on the GPU; bf16; channels-last) and with the
    published per-image Pillow pipeline in the workers
    (``augment_on='cpu'``); step and data-loader wait per step from
    MMEngine's IterTimerHook; and each step of a run split by the run
    itself (``loop``): the data loader's wait, the host's time in the
    model's ``train_step`` (views, forward, backward, optimiser step as
    issued), the wait for the device after it, each hook's time and the
    loop's own rest, i.e. the host time per step outside the model step
    on whatever device it runs, with the work the batched CLP views no
    longer do (moving the data samples to the device, h268) timed beside
    it. ``--augment_on device`` runs the GPU path's loop on a CPU.

It prints images per second, (b)/(a), GPU memory, data-loader wait per step
and the projected wall time of 200 (CLP) / 100 (FSP) epochs on 100,000
images.

With ``--profile STEPS`` (``gpu_run.sh`` passes 3): one more default-path
run with STEPS steps under torch.profiler: per step, the GPU's busy time
against the wall time, the host and GPU time of the views, the forward
(with the momentum update) and the backward + optimiser step, and the ops
taking most GPU and most host time (where a step's time goes).

With ``--compile-encoders`` (``gpu_run.sh pretrain_compiled``): (a)
bfloat16 channels-last once more with the model's encoders compiled
(``compile_encoders``: the forward of the backbone and neck, and of the
momentum encoder's, through torch.compile; at least 3 warm-up steps,
the compile time, dynamo's graphs and graph breaks, and the graphs
compiled while timed, printed), and one more (b) default-path run with
``compile_encoders=True``, each printed beside the uncompiled one.

Always (and alone on a machine without a GPU, which it says): the data path
per data-loader worker, in this process, over the same images: the CLP
two-view and the FSP per-image pipelines, decoding only (what a worker does
on the batched path), and the batched views on this machine's CPU (with
``--compile-views`` compiled too, beside them); and the
ops one training step of the GPU path issues, per phase, and the bytes it
copies from the host to the device (``step_ops``: counted on the CPU with
the model on the meta device, so also a check that nothing in a step reads
a device value; the views' bytes also at the recipe's 224 px,
``views_h2d_bytes``; and the ops of the same step with GhostBN's other
computations, ``step_ops_by_ghost_bn``); and the copies of values of 1
MiB or more one step makes at the recipe's 224 px, by source line, op,
dtype and shape, traced with the views, backward and optimiser on the
meta device and the forward on fake CUDA tensors under bf16 autocast,
channels-last (``step_copies``: nothing computed, nothing timed; with
GhostBN's grouped view too, ``step_copies_grouped_view``); and the ops of
the model step (forward, backward, optimiser) under bfloat16 autocast,
channels-last, per GhostBN computation, counted on the CPU (autocast has
no meta device; ``step_ops_bf16_by_ghost_bn``, skipped alone by ``--skip
step_ops_bf16``).

A part that fails (a CUDA path never run on this machine, say) is printed
as ``<part> FAILED:`` with its traceback, its error kept in the JSON, and
the other parts still run (each of (a)'s variants is a part of its own);
the exit status is then 1, the last line naming each failed part.

    python -m benchmarks.bench_pretrain \\
        --output benchmarks/results/pretrain_cpu.json
    bash benchmarks/gpu_run.sh pretrain      # on a GPU machine
"""
import copy
import math
import os
import sys
import tempfile
import time
import traceback
from typing import NamedTuple, Optional

import numpy as np
import torch

if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))

from benchmarks._common import (add_output, count, count_or_zero,
                                describe, machine, parse, parser, run_main,
                                save, seconds)
from openselfsup.apis.fast_path import resolved_augment_on

RECIPES = {
    'clp': dict(config='configs/wsi_selfsup/moco_v3/r18_bs256_ep200_all.py',
                epochs=200, list='meta/train.txt',
                one_epoch={'param_scheduler.0.T_max': 1,
                           'param_scheduler.0.end': 1}),
    'fsp': dict(config='configs/classification/nct/r18_bs512_ep100_all.py',
                epochs=100, list='meta/train_labeled.txt',
                one_epoch={'param_scheduler.0.milestones': []}),
}
DATASET_IMAGES = 100_000


def make_images(root: str, num: int) -> tuple:
    """Synthetic 224 px NCT in the real layout under ``root``: ``num``
    training images rounded up to a multiple of the 9 classes
    (class-balanced, the FSP labels too), plus the one test image per class
    that the layout has (not read), and the list files. Returns the NCT
    data root (``.../NCT/``) and the images written per split
    (``{'NCT train': n, 'NCT test': 9}``)."""
    from openselfsup.datasets.synthetic import SyntheticSpec, make_synthetic
    counts = make_synthetic(root, SyntheticSpec(
        size=224, nct_train=math.ceil(num / 9), nct_test=1,
        domains=('nct', )))
    return os.path.join(root, 'NCT') + os.sep, counts


def cycled_list(nct_root: str, src: str, dst: str, num: int) -> str:
    """``dst``: ``num`` lines cycling over the entries of list ``src``."""
    with open(os.path.join(nct_root, src)) as f:
        lines = [line for line in f.read().splitlines() if line.strip()]
    with open(os.path.join(nct_root, dst), 'w') as f:
        f.write('\n'.join(lines[i % len(lines)] for i in range(num)) + '\n')
    return dst


def _load(recipe: str):
    from mmengine.config import Config
    return Config.fromfile(RECIPES[recipe]['config'])


# ---------------------------------------------------------------- data path
def worker_rates(recipe: str, nct_root: str, seconds: float) -> dict:
    """Images per second of one worker (this process, one torch thread):
    the recipe's per-image pipeline and decoding alone, per wall-clock
    second and per second of this process's CPU time (what one worker on an
    idle core would do, whatever the machine's load)."""
    from mmengine.registry import init_default_scope

    import openselfsup.datasets.registered  # noqa: F401  (ImageList)
    from openselfsup.registry import DATASETS
    init_default_scope('openselfsup')
    cfg = _load(recipe)
    ds_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    ds_cfg.update(data_root=nct_root, ann_file=RECIPES[recipe]['list'],
                  check='none')
    pipeline = ds_cfg.pipeline
    rates = {}
    for name, pipe in (('per_image_views', pipeline),
                       ('decode_only', [pipeline[0], pipeline[-1]])):
        ds = DATASETS.build(dict(ds_cfg, pipeline=pipe))
        np.random.seed(0)
        ds[0]
        n, t0, c0 = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - t0 < seconds:
            ds[n % len(ds)]
            n += 1
        rates[name] = n / (time.perf_counter() - t0)
        rates[name + '_per_cpu_s'] = n / (time.process_time() - c0)
    return rates


def batched_rate(recipe: str, nct_root: str, device: str, batch: int,
                 iters: int, compile_views: bool = False,
                 stats: Optional[dict] = None) -> float:
    """Images per second of the batched views (all views of an image) on
    ``device``, decoded uint8 batch already there: the training run's own
    data preprocessor (:func:`batched_views_config`'s, channels-last on a
    GPU as ``channels_last='auto'``), which makes CLP's two views in one
    pass over the batch repeated twice (timing one ``BatchAugment`` call
    per view, as before, measured another path: on one CPU thread about
    1.8x the rate of the one the run takes). ``compile_views``: the
    preprocessor's ``compile_views``, compiled in three untimed rounds;
    ``stats``, where given, gets their time (``warmup_s``) and the graphs
    torch.compile made in them and in the timed rounds
    (``graphs_compiled_in_warmup``, ``graphs_compiled_while_timed``,
    which should be 0: a recompilation timed in made the H100's compiled
    views 359.6 img/s against 8,178 eager)."""
    from mmengine.registry import init_default_scope
    from mmpretrain.structures import DataSample
    from PIL import Image

    import openselfsup.models  # noqa: F401
    from openselfsup.apis.fast_path import batched_views_config
    from openselfsup.registry import MODELS
    init_default_scope('openselfsup')
    cfg = _load(recipe)
    batched_views_config(cfg, [])
    pre_cfg = dict(cfg.model.data_preprocessor, seed=0,
                   compile_views=compile_views,
                   channels_last=device == 'cuda')
    pre = MODELS.build(pre_cfg).to(device)
    with open(os.path.join(nct_root, RECIPES[recipe]['list'])) as f:
        paths = [line.split()[0] for line in f if line.strip()][:batch]
    imgs = [np.asarray(Image.open(os.path.join(nct_root, 'data', p)).convert(
        'RGB'))[..., ::-1] for p in paths]  # BGR, as the workers decode
    while len(imgs) < batch:
        imgs += imgs[:batch - len(imgs)]
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).contiguous().to(
        device)
    samples = None if recipe == 'clp' else [
        DataSample().set_gt_label(i % 9) for i in range(batch)]

    def run():
        pre(dict(inputs=x, data_samples=samples), True)
    def sync():
        if device == 'cuda':
            torch.cuda.synchronize()
    graphs = [_compiled_graphs()]
    warm = time.perf_counter()
    for _ in range(3 if compile_views else 1):
        run()
    sync()
    t0 = time.perf_counter()
    graphs.append(_compiled_graphs())
    for _ in range(iters):
        run()
    sync()
    rate = batch * iters / (time.perf_counter() - t0)
    if stats is not None:
        stats.update(warmup_s=t0 - warm,
                     graphs_compiled_in_warmup=graphs[1] - graphs[0],
                     graphs_compiled_while_timed=_compiled_graphs()
                     - graphs[1])
    return rate


def _compiled_graphs() -> int:
    """The graphs torch.compile has made in this process (dynamo's
    ``unique_graphs``; a recompilation is one more)."""
    from torch._dynamo.utils import counters
    return counters['stats']['unique_graphs']


def _compiled_line(rate: float, eager: Optional[float],
                   stats: dict) -> str:
    """The compiled views' rate beside the eager one's, and what was
    compiled when (:func:`batched_rate`'s ``stats``)."""
    against = f' ({rate / eager:.2f}x eager)' if eager else ''
    return (f'{rate:9.1f} img/s{against}; '
            f'{stats["graphs_compiled_in_warmup"]} graphs compiled in the '
            f'warm-up ({stats["warmup_s"]:.1f} s), '
            f'{stats["graphs_compiled_while_timed"]} while timed')


def views_compile(recipe: str) -> bool:
    """Whether the recipe's batched views have anything for
    ``compile_views`` to compile."""
    from openselfsup.apis.fast_path import train_views
    from openselfsup.datasets.batch_aug import BatchAugment
    _, views, _, _ = train_views(_load(recipe))
    return any(BatchAugment(v).compiles for v in views)


# ------------------------------------------------------ ops of one step
def small_batched_model(recipe: str, crop: Optional[int] = 24,
                        narrow: bool = True):
    """``(cfg, model)``: the recipe's model with its views batched in the
    data preprocessor (the GPU default path), ResNet widths / 8 (``narrow``;
    False: the recipe's) and crops
    of ``crop`` px (the number and kind of tensor ops per step do not depend
    on either, but for 4 more in the crop where a batch has crops that
    Pillow resizes vertically first and others not, as these 24 px crops
    of 32 px images do and the recipe's 224 px crops of 224 px images
    never do: ``batch_aug.pil_vertical_first``; None: the recipe's own),
    in training mode on the CPU."""
    from mmengine.registry import init_default_scope

    import openselfsup.engine  # noqa: F401  (OpenSelfSupLARS)
    import openselfsup.models  # noqa: F401
    from openselfsup.apis.fast_path import batched_views_config
    from openselfsup.registry import MODELS
    init_default_scope('openselfsup')
    cfg = _load(recipe)
    batched_views_config(cfg, [])
    m = cfg.model
    if narrow:
        m.backbone.update(base_channels=8, stem_channels=8)
        (m.neck if recipe == 'clp' else m.head).in_channels = 64
    views = m.data_preprocessor['views']
    for v in views if isinstance(views[0], dict) else sum(views, []):
        if v['type'] == 'RandomResizedCrop' and crop is not None:
            v['scale'] = crop
    return cfg, MODELS.build(m).train()


def training_step(cfg, model, wrapper, device, batch: int, size: int = 32,
                  phase=None) -> torch.Tensor:
    """One training step as MMEngine's ``train_step`` makes it (uint8
    batch -> views -> loss -> backward -> optimiser step); ``phase(name)``
    (a context manager factory) wraps 'views', 'forward', 'backward' and
    'optimiser'. Returns the loss."""
    from contextlib import nullcontext
    data = step_batch(model, device, batch, size)
    with phase('views') if phase else nullcontext():
        data = model.data_preprocessor(data, True)
    return model_step(model, wrapper, data['inputs'], data['data_samples'],
                      phase)


def step_batch(model, device, batch: int, size: int) -> dict:
    """A data preprocessor's input: a random uint8 batch of ``batch``
    ``size`` px images on ``device``, with the data samples the loader
    gives with it, on the host: labels for a labelled recipe, -1 for the
    unlabelled CLP list (ImageList's; none were given for CLP, so a
    count missed the 256 copies of them the views made, h268)."""
    from mmpretrain.structures import DataSample

    from openselfsup.models import BatchAugClsDataPreprocessor
    labelled = isinstance(model.data_preprocessor,
                          BatchAugClsDataPreprocessor)
    samples = [DataSample().set_gt_label(i % 9 if labelled else -1)
               for i in range(batch)]
    images = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8,
                           device=device)
    return dict(inputs=images, data_samples=samples)


def model_step(model, wrapper, inputs, samples, phase=None) -> torch.Tensor:
    """Loss, backward and optimiser step on views already made (MMEngine's
    ``train_step`` after the data preprocessor; ``update_params`` without
    gradient accumulation), each in ``phase(name)`` if given ('forward',
    'backward', 'optimiser'). Returns the loss."""
    from contextlib import nullcontext
    phase = phase or (lambda name: nullcontext())
    with phase('forward'):
        with wrapper.optim_context(model):
            losses = model.loss(inputs, samples)
        loss, _ = model.parse_losses(losses)
    with phase('backward'):
        wrapper.backward(loss)
    with phase('optimiser'):
        wrapper.step()
        wrapper.zero_grad()
    return loss


#: ops that only make views of a tensor (no kernel on a GPU)
_VIEW_OPS = frozenset(
    'alias as_strided chunk detach expand narrow permute reshape select '
    'slice split split_with_sizes squeeze t transpose unbind unsqueeze '
    'view _unsafe_view'.split())


#: ops that copy a tensor from one device to another
_COPY_OPS = frozenset(('_to_copy', 'copy_'))


def op_counter(device: str = 'meta'):
    """A dispatch mode that counts the ops of the phase named by its
    ``name`` (none while it is None) in ``counts[name]``: ``device`` (ops
    that read or make a tensor of ``device``, the meta device: on a GPU,
    kernel launches, copies to it and allocations; ``'cpu'``: every op on
    a tensor, no host side told apart and no bytes copied), ``host`` (ops
    on CPU tensors only) and
    ``h2d_bytes`` (the bytes that copies from the CPU to the device
    write: ``to(device)``, ``copy_`` of a CPU tensor into a device one;
    a copy that also changes the dtype counted in the new dtype, which
    torch converts to on the CPU first) and ``h2d_copies`` (how many such
    copies: each one a host wait where its source is not pinned). Ops that only make a view of a
    tensor are not counted."""
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    def on_meta(t):
        return isinstance(t, torch.Tensor) and t.device.type == device

    class Count(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.name, self.counts = None, {}

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            op = func.overloadpacket.__name__
            if self.name and op not in _VIEW_OPS:
                leaves = tree_leaves((args, kwargs, out))
                where = 'device' if any(map(on_meta, leaves)) else 'host'
                c = self.counts.setdefault(self.name, {
                    'device': 0, 'host': 0, 'h2d_bytes': 0,
                    'h2d_copies': 0})
                c[where] += 1
                # the source: _to_copy's first argument, copy_'s second
                src = None if op not in _COPY_OPS else \
                    args[0] if op == '_to_copy' else args[1]
                if on_meta(out) and isinstance(src, torch.Tensor) and \
                        src.device.type == 'cpu' != device:
                    c['h2d_bytes'] += out.numel() * out.element_size()
                    c['h2d_copies'] += 1
            return out

    return Count()


#: ops that write a copy of a tensor's values (a dtype or memory-format
#: change, ``contiguous``, a clone, a reshape that cannot view,
#: concatenation, repeat): on a GPU, each a copy kernel
_VALUE_COPY_OPS = frozenset(('_to_copy', 'copy_', 'clone', 'cat', 'repeat'))

_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
_HERE = os.path.abspath(__file__)


def _source(frames) -> str:
    """``path:line (function)`` of the innermost frame of ``frames``
    (``traceback.FrameSummary``, outermost first) outside torch and this
    file, the path from the package or repository root on."""
    for f in reversed(frames):
        path = os.path.abspath(f.filename)
        if path.startswith(_TORCH_DIR) or path == _HERE:
            continue
        for root in ('openselfsup', 'mmpretrain', 'mmengine', 'benchmarks'):
            at = path.rfind(os.sep + root + os.sep)
            if at >= 0:
                path = path[at + 1:]
                break
        return f'{path}:{f.lineno} ({f.name})'
    return '?'


def _anomaly_frames(node) -> list:
    """The forward's stack of autograd ``node`` as anomaly mode records it
    (``traceback.format_stack`` lines), as ``FrameSummary``s."""
    import re
    frames = []
    for line in (node.metadata.get('traceback_') or []) if node else []:
        m = re.match(r'\s*File "(.*)", line (\d+), in (.*)', line)
        if m:
            frames.append(traceback.FrameSummary(m[1], int(m[2]), m[3]))
    return frames


def copy_tracer(min_bytes: int = 0):
    """A dispatch mode that records, for the phase named by its ``name``
    (none while None), each op that copies a tensor's values
    (:data:`_VALUE_COPY_OPS`) writing at least ``min_bytes``: in
    ``rows``, dicts of ``phase``, ``source`` (our line that issued it:
    :func:`_source`; in a backward, the line of the forward op whose
    gradient it is, from anomaly mode's record, which
    :func:`step_copies` turns on), ``via`` (the torch function it ran
    under in a forward, e.g. ``conv2d`` for autocast's cast of its
    input; the autograd node in a backward), ``op``, ``dtypes`` (in ->
    out), ``shape``, ``channels_last`` and ``bytes`` (written). Ops run
    inside a kernel (cuDNN's own layout copies) are not dispatched, so
    not seen."""
    from torch.overrides import TorchFunctionMode
    from torch.utils._python_dispatch import TorchDispatchMode

    calls: list = []

    class Via(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            calls.append(getattr(func, '__name__', str(func)))
            try:
                return func(*args, **(kwargs or {}))
            finally:
                calls.pop()

    class Trace(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.name, self.rows, self.via = None, [], Via()

        def __enter__(self):
            self.via.__enter__()
            return super().__enter__()

        def __exit__(self, *exc):
            super().__exit__(*exc)
            self.via.__exit__(*exc)

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            op = func.overloadpacket.__name__
            if not self.name or op not in _VALUE_COPY_OPS or \
                    not isinstance(out, torch.Tensor):
                return out
            size = out.numel() * out.element_size()
            if size < min_bytes:
                return out
            src = args[1] if op == 'copy_' else args[0]
            src = src[0] if isinstance(src, (list, tuple)) else src
            node = torch._C._current_autograd_node()
            frames = _anomaly_frames(node) if node is not None else \
                traceback.extract_stack()
            self.rows.append(dict(
                phase=self.name, source=_source(frames),
                via=type(node).__name__ if node is not None else
                (calls[-1] if calls else '?'), op=op,
                dtypes=f'{str(src.dtype)[6:]}->{str(out.dtype)[6:]}',
                shape=tuple(out.shape),
                channels_last=out.dim() == 4 and not out.is_contiguous()
                and out.is_contiguous(memory_format=torch.channels_last),
                bytes=size))
            return out

    return Trace()


class _Phase:
    """``with _Phase(count, name)``: the ops inside counted as ``name``."""

    def __init__(self, count, name):
        self.count, self.name = count, name

    def __enter__(self):
        self.count.name = self.name

    def __exit__(self, *exc):
        self.count.name = None


def ghost_bn_computation(model, computation: str):
    """``model`` with every GhostBN computed as ``computation`` (one of
    ``openselfsup.models.groups.COMPUTATIONS``)."""
    from openselfsup.models.groups import GhostBatchNorm2d
    for m in model.modules():
        if isinstance(m, GhostBatchNorm2d):
            m.computation = computation
    return model


def step_ops(recipe: str, batch: int,
             computation: str = 'per_group_calls') -> dict:
    """Tensor ops one training step of the default GPU path issues (in
    float32: bfloat16 autocast's casts and channels-last's one copy per
    view are not counted), per phase: ``device`` (ops that read or make
    tensors of the training device: kernel launches, copies to it and
    allocations on a GPU, each costing the host some microseconds),
    ``host`` (ops on CPU tensors: drawing the views' random parameters,
    ...) and ``h2d_bytes`` (bytes copied from the host to the device:
    :func:`op_counter`), counted with the model on PyTorch's meta device
    after one step on the CPU (a read of a device value there would fail,
    so a count means none happened). torch's SGD (FSP) takes its
    per-tensor loop off a GPU, its ``foreach`` kernels on one: FSP's
    optimiser count is the loop's. ``computation``: GhostBN's (the
    default's, or another of ``GhostBatchNorm2d``'s)."""
    from mmengine.logging import MessageHub
    from mmengine.optim import build_optim_wrapper

    MessageHub.get_current_instance().update_info('max_iters', 10**6)
    cfg, model = small_batched_model(recipe)
    ghost_bn_computation(model, computation)
    training_step(cfg, model, build_optim_wrapper(
        model, copy.deepcopy(cfg.optim_wrapper)), 'cpu', batch)
    model.to('meta')
    wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    training_step(cfg, model, wrapper, 'meta', batch)  # momentum buffers
    count = op_counter()
    with count:
        training_step(cfg, model, wrapper, 'meta', batch,
                      phase=lambda name: _Phase(count, name))
    return count.counts


def step_ops_bf16(recipe: str, batch: int,
                  computation: str = 'per_group_calls') -> dict:
    """Tensor ops of one model step (``forward``, ``backward``,
    ``optimiser``: the views are :func:`step_ops`'s, made before autocast)
    on the GPU path's precision and layout: the forward under bfloat16
    autocast, as the training run's default on a GPU (autocast's casts
    counted), the model and the views channels-last; the recipe's batch,
    widths / 8 and 24 px crops as :func:`step_ops`. Autocast has no meta
    device, so the step runs on the CPU (after one step there) under the
    CPU's bfloat16 autocast (its lists of ops to cast are not CUDA's: a
    count, not a trace of a GPU's step), and every op on a tensor is
    counted as ``device`` (the CLP forward's few ops on the host's step
    count too). ``computation``: GhostBN's."""
    from contextlib import ExitStack

    from mmengine.logging import MessageHub
    from mmengine.optim import build_optim_wrapper

    MessageHub.get_current_instance().update_info('max_iters', 10**6)
    cfg, model = small_batched_model(recipe)
    ghost_bn_computation(model, computation)
    model.data_preprocessor.channels_last = True
    model = model.to(memory_format=torch.channels_last)
    wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    count = op_counter('cpu')

    def phase(name):
        stack = ExitStack()
        if name == 'forward':  # what AmpOptimWrapper's context enters
            stack.enter_context(torch.autocast('cpu', torch.bfloat16))
        if name != 'views':
            stack.enter_context(_Phase(count, name))
        return stack
    for counted in (False, True):  # the first: optimiser state, buffers
        with count if counted else ExitStack():
            training_step(cfg, model, wrapper, 'cpu', batch, phase=phase)
    return {k: dict(device=v['device']) for k, v in count.counts.items()}


def step_copies(recipe: str, batch: int, size: int = 224,
                min_bytes: int = 2**20,
                computation: str = 'per_group_calls',
                narrow: bool = False) -> list:
    """The copies of values (:func:`copy_tracer`) of ``min_bytes`` or more
    that one training step of the GPU default path makes (channels-last,
    bfloat16 autocast; the recipe's model, ``size`` px images and crops
    unless ``narrow``: :func:`small_batched_model`'s widths / 8 and 24 px
    crops), traced on the CPU without computing anything: the views, the
    backward and the optimiser step on PyTorch's meta device (float32:
    the views run before autocast; the backward's autocast casts, the
    gradients of the forward's, are not seen), and the forward twice: on
    the meta device in float32 (``forward_float32``) and on fake CUDA
    tensors (``torch._subclasses.fake_tensor.FakeTensorMode``) under CUDA
    bfloat16 autocast (``forward``: autocast's casts included). A backward
    on fake CUDA tensors needs a CUDA context (PyTorch issue 92627), so
    none here. ``computation``: GhostBN's. Returns :func:`copy_tracer`'s
    rows."""
    from mmengine.logging import MessageHub
    from mmengine.optim import build_optim_wrapper
    from torch._subclasses.fake_tensor import FakeTensorMode

    MessageHub.get_current_instance().update_info('max_iters', 10**6)
    cfg, model = small_batched_model(recipe, 24 if narrow else None, narrow)
    ghost_bn_computation(model, computation)
    model.data_preprocessor.channels_last = True
    model = model.to('meta').to(memory_format=torch.channels_last)
    ema = getattr(model, 'momentum_encoder', None)
    if ema is not None:  # a later step's update (its count is on the host)
        ema._host_steps = 1
    size = 32 if narrow else size
    wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    training_step(cfg, model, wrapper, 'meta', batch, size)  # buffers
    trace = copy_tracer(min_bytes)
    import warnings
    with warnings.catch_warnings():  # anomaly mode's warning that it is on
        warnings.filterwarnings('ignore', 'Anomaly Detection')
        anomaly = torch.autograd.detect_anomaly(check_nan=False)
    with anomaly, trace:
        training_step(cfg, model, wrapper, 'meta', batch, size,
                      phase=lambda name: _Phase(trace, name.replace(
                          'forward', 'forward_float32')))
        data = model.data_preprocessor(step_batch(model, 'meta', batch,
                                                  size), True)
    with FakeTensorMode(allow_non_fake_inputs=True):
        model = model.to('cuda')
        inputs, samples = data['inputs'], data['data_samples']
        if isinstance(inputs, list):  # the views of one tensor stay so
            base = inputs[0]._base
            shared = base is not None and all(v._base is base
                                              for v in inputs)
            base = base.to('cuda') if shared else None
            inputs = [base.as_strided(v.shape, v.stride(),
                                      v.storage_offset())
                      if shared else v.to('cuda') for v in inputs]
        else:
            inputs = inputs.to('cuda')
        samples = samples and [s.to('cuda') for s in samples]
        enabled = torch.is_autocast_enabled('cuda')
        dtype = torch.get_autocast_dtype('cuda')
        torch.set_autocast_enabled('cuda', True)
        torch.set_autocast_dtype('cuda', torch.bfloat16)
        try:
            with trace, _Phase(trace, 'forward'):
                model.parse_losses(model.loss(inputs, samples))
        finally:
            torch.set_autocast_enabled('cuda', enabled)
            torch.set_autocast_dtype('cuda', dtype)
    return trace.rows


def copies_by_source(rows: list) -> list:
    """:func:`step_copies`'s rows summed per (phase, source, via, op,
    dtypes, shape, channels_last): dicts with ``count`` and ``bytes`` (a
    step's), largest bytes first within each phase, phases in the step's
    order."""
    sums: dict = {}
    for r in rows:
        key = tuple((k, v if k != 'shape' else tuple(v))
                    for k, v in r.items() if k != 'bytes')
        c = sums.setdefault(key, [0, 0])
        c[0] += 1
        c[1] += r['bytes']
    order = {p: i for i, p in enumerate(dict.fromkeys(
        r['phase'] for r in rows))}
    out = [dict(key, count=c, bytes=b) for key, (c, b) in sums.items()]
    return sorted(out, key=lambda r: (order[r['phase']], -r['bytes']))


def print_copies(recipe: str, rows: list) -> None:
    """The table of :func:`copies_by_source`, and each phase's total."""
    table = copies_by_source(rows)
    print(f'{recipe}: copies of >= 1 MiB in one step (traced on the CPU, '
          'meta / fake CUDA tensors, not timed): phase, source, under, op, '
          'dtype, shape, count, MB')
    for r in table:
        print(f'  {r["phase"]:<16} {r["source"][:60]:<60} {r["via"][:22]:<22}'
              f' {r["op"]:<9} {r["dtypes"]:<19} '
              f'{"x".join(map(str, r["shape"])):<18}'
              f'{" CL" if r["channels_last"] else "   "} {r["count"]:4d} '
              f'{r["bytes"] / 1e6:9.1f}')
    for phase in dict.fromkeys(r['phase'] for r in rows):
        mine = [r for r in rows if r['phase'] == phase]
        print(f'  {phase}: {len(mine)} copies, '
              f'{sum(r["bytes"] for r in mine) / 1e6:.1f} MB')


def print_ops_by_ghost_bn(recipe: str, by: dict, how: str = '') -> None:
    """One line: the device ops of one step (forward, backward, all
    phases) with each GhostBN computation (``{computation:``
    :func:`step_ops`'s counts ``}``; ``how``: the count's kind, said in
    the line, :func:`step_ops_bf16`'s)."""
    print(f'{recipe}: device ops of one training step by GhostBN '
          f'computation{" " + how if how else ""} (forward / backward / '
          f'{"model step" if how else "whole step"}): ' + '; '.join(
              f'{c} ' + ' / '.join(f'{n:,}' for n in (
                  v.get('forward', {}).get('device', 0),
                  v.get('backward', {}).get('device', 0),
                  sum(p['device'] for p in v.values())))
              for c, v in by.items()))


def ghost_bn_copies(rows: list) -> int:
    """How many of :func:`step_copies`'s rows GhostBN made (their source
    line in ``openselfsup/models/groups.py``)."""
    return sum(r['source'].startswith('openselfsup/models/groups.py')
               for r in rows)


def views_h2d_bytes(recipe: str, batch: int, size: int = 224) -> int:
    """Bytes the views of one step copy from the host to the device at the
    recipe's own sizes (``size`` px images, its crop size; :func:`step_ops`
    counts at 24 px crops, and the crop's per-sample data grows with the
    crop size): the views on the meta device, counted after one step
    (what is copied once per process, the lookup tables, is not a step's)."""
    _, model = small_batched_model(recipe, crop=None)
    model.to('meta')
    # a first call, outside the counter: what is copied once per process
    model.data_preprocessor(step_batch(model, 'meta', batch, size), True)
    data = step_batch(model, 'meta', batch, size)
    count = op_counter()
    with count, _Phase(count, 'views'):
        model.data_preprocessor(data, True)
    return count.counts['views']['h2d_bytes']


# ------------------------------------------------------------- (a) ceiling
#: (a)'s variants: (bfloat16 autocast, channels-last, GhostBN's
#: computation: its default, one batch-norm call per group); the one call
#: for all groups (``ghost_bn=one_call``) and the grouped view
#: (``ghost_bn=grouped_view``) beside bfloat16 both ways. Keys before the
#: default changed (runs up to 2026-12-06) named the per-group calls
#: ``ghost_bn=per_group_calls`` and gave the one call no suffix.
VARIANTS = tuple((amp, cl, ghost_bn) for amp, ghost_bn in (
    (False, 'per_group_calls'), (True, 'per_group_calls'),
    (True, 'one_call'), (True, 'grouped_view')) for cl in (False, True))


def variant_name(amp: bool, channels_last: bool, ghost_bn: str) -> str:
    """The key of a variant in (a)'s results (GhostBN's default
    computation unmarked)."""
    return (f'amp={"bf16" if amp else "off"} channels_last={channels_last}'
            + ('' if ghost_bn == 'per_group_calls' else
               f' ghost_bn={ghost_bn}'))


def compute_ceiling(recipe: str, steps: int, warmup: int, batch: int,
                    device: str = 'cuda', size: int = 224,
                    variants=VARIANTS, compile_options=None) -> dict:
    """Training steps on batches already on ``device``: {variant: images/s,
    step time, memory}.

    Each variant is timed twice over ``steps`` steps: queued back to back
    (``images_per_s``: what the GPU can do) and, as MMEngine's loop does,
    waiting for each step's loss value before starting the next
    (``synced_images_per_s``; ``host_s``: the time the Python side took to
    issue one step, so ``host_s`` near ``synced_step_s`` means the step is
    bound by launching kernels, not by the GPU).

    ``compile_options`` (True or ``torch.compile``'s arguments): the same
    step with the model's encoders compiled as ``compile_encoders`` does
    (:func:`~openselfsup.models.compiling.compile_encoders`), keys
    suffixed `` compile_encoders``; at least 3 warm-up steps (compiling;
    ``compile_s``), and the graphs dynamo made (``graphs``), those made
    while timed (``graphs_compiled_while_timed``: recompilations; 0
    expected) and its graph breaks (``graph_breaks``).
    """
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmpretrain.structures import DataSample

    import openselfsup.engine  # noqa: F401
    import openselfsup.models  # noqa: F401
    from openselfsup.apis.fast_path import amp_optim_wrapper
    from openselfsup.registry import MODELS
    init_default_scope('openselfsup')
    # init_weights reports every parameter at INFO: a logger at WARNING
    if not MMLogger.check_instance_created('bench_pretrain'):
        MMLogger.get_instance('bench_pretrain', log_level='WARNING')
    cuda = device.startswith('cuda')
    torch.backends.cudnn.benchmark = True
    MessageHub.get_current_instance().update_info('max_iters', 10**6)
    cfg = _load(recipe)
    gen = torch.Generator(device=device).manual_seed(0)

    def sync():
        if cuda:
            torch.cuda.synchronize()
    out = {}
    for amp, cl, ghost_bn in variants:
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        mcfg = copy.deepcopy(cfg.model)
        mcfg.backbone.norm_cfg['computation'] = ghost_bn
        model = MODELS.build(mcfg)
        model.init_weights()
        model = model.to(device).train()
        fmt = torch.channels_last if cl else torch.contiguous_format
        model = model.to(memory_format=fmt)
        wcfg = copy.deepcopy(cfg.optim_wrapper)
        if amp:  # as the training run's default on a GPU
            amp_optim_wrapper(wcfg, 'bfloat16')
        wrapper = build_optim_wrapper(model, wcfg)
        if compile_options is not None:
            _compiled_encoders(model, compile_options)

        def img():
            return torch.randn(batch, 3, size, size, device=device,
                               generator=gen).contiguous(memory_format=fmt)
        if recipe == 'clp':
            inputs, samples = [img(), img()], []
        else:  # labels on the device, as the data preprocessor leaves them
            inputs = img()
            labels = torch.randint(0, 9, (batch, ), generator=gen,
                                   device=device)
            samples = [DataSample().set_gt_label(int(v)).to(device)
                       for v in labels.cpu()]

        def step():
            return model_step(model, wrapper, inputs, samples)
        t0 = time.perf_counter()
        for _ in range(warmup if compile_options is None else
                       max(warmup, 3)):
            step()
        sync()
        warmed_s, graphs = time.perf_counter() - t0, _dynamo_graphs()
        t0 = time.perf_counter()
        for _ in range(steps):
            step()
        sync()
        dt = (time.perf_counter() - t0) / steps
        host, t0 = 0.0, time.perf_counter()
        for _ in range(steps):
            h0 = time.perf_counter()
            loss = step()
            host += time.perf_counter() - h0
            loss.item()  # the runner's message hub reads every loss
        synced = (time.perf_counter() - t0) / steps
        name = variant_name(amp, cl, ghost_bn)
        if compile_options is not None:
            name += ' compile_encoders'
            now = _dynamo_graphs()
            out[name] = dict(compile_s=warmed_s, graphs=now[0],
                             graphs_compiled_while_timed=now[0] - graphs[0],
                             graph_breaks=now[1])
        out.setdefault(name, {}).update(
            images_per_s=batch / dt, step_s=dt,
            synced_images_per_s=batch / synced, synced_step_s=synced,
            host_s=host / steps,
            memory_gib=torch.cuda.max_memory_allocated() / 2**30
            if cuda else None)
        model = wrapper = inputs = None  # free before the next variant
    return out


def _compiled_encoders(model, options) -> None:
    """The model's encoders compiled (``compile_encoders``), dynamo's
    caches and counters reset first (each variant counted alone)."""
    from torch import _dynamo
    from torch._dynamo.utils import counters

    from openselfsup.models.compiling import compile_encoders
    _dynamo.reset()
    counters.clear()
    compile_encoders(model, options)


def _dynamo_graphs() -> tuple:
    """(graphs dynamo compiled, graph breaks) since its counters were
    cleared."""
    from torch._dynamo.utils import counters
    return (counters['stats']['unique_graphs'],
            sum(counters['graph_break'].values()))


# ---------------------------------------------------------- (b) end to end
def print_profile(recipe: str, prof: dict) -> None:
    print(f'{recipe} (b) profiled, per step over {prof["steps"]} steps: wall '
          f'{prof["wall_ms"]:.1f} ms, GPU busy {prof["gpu_busy_ms"]:.1f} ms; '
          + ', '.join(f'{k} host {v["host_ms"]:.1f} / GPU span '
                      f'{v["gpu_span_ms"]:.1f}'
                      for k, v in prof['parts'].items()) + ' ms')
    for title, rows in (('GPU', prof['top_gpu']), ('host', prof['top_host'])):
        if rows:
            print(f'  most {title} time per step (op, calls, host ms, GPU ms):')
        for r in rows:
            print(f'    {r["op"][:48]:<48} {r["calls_per_step"]:7.1f} '
                  f'{r["host_ms"]:8.2f} {r["gpu_ms"]:8.2f}')


def train_options(recipe: str, nct_root: str, ann: str, workers: int,
                  augment_on: str, batch: int, compile_views: bool,
                  prefetch_views: bool = False,
                  compile_encoders: bool = False,
                  reuse_batch_memory: bool = False) -> dict:
    """The ``--cfg-options`` of an end-to-end run of ``recipe``: the
    synthetic images, one epoch, no checkpoint and no log lines in the
    timed steps (the scalars still go to ``vis_data/``, where the peak
    memory is read). The learning-rate schedule is fitted to the one
    epoch (``RECIPES[recipe]['one_epoch']``; its steps' rate is the
    recipe's first epoch's: a cosine's start, no milestone reached): the
    run warned, inside the benchmark's table, that the recipe's schedule
    does not span it, which says nothing about the benchmark.
    ``compile_encoders``: that config key set to True;
    ``reuse_batch_memory``: that config key."""
    return {**RECIPES[recipe]['one_epoch'],
        **({'compile_encoders': True} if compile_encoders else {}),
        'train_dataloader.dataset.data_root': nct_root,
        'train_dataloader.dataset.ann_file': ann,
        'train_dataloader.num_workers': workers,
        'train_cfg.max_epochs': 1,
        'default_hooks.checkpoint.interval': 10**6,
        'default_hooks.logger.interval': 10**6,
        # the key the visualizer reads: the file's ``vis_backends``
        # variable was copied into it when the config was read
        'visualizer.vis_backends': [dict(type='LocalVisBackend')],
        'augment_on': augment_on,
        'total_batch_size': batch,
        'log_level': 'WARNING',
        'compile_views': compile_views,
        'prefetch_views': prefetch_views,
        'reuse_batch_memory': reuse_batch_memory,
    }


def end_to_end(recipe: str, nct_root: str, augment_on: str, steps: int,
               warmup: int, workers: int, work_dir: str, batch: int,
               profile_steps: int = 0, compile_views: bool = False,
               prefetch_views: bool = False,
               compile_encoders: bool = False,
               reuse_batch_memory: bool = False) -> dict:
    """``openselfsup.apis.train`` for ``warmup + steps`` iterations; with
    ``profile_steps``, the first that many steps after the warm-up are
    profiled (:func:`summarise_profile`, in ``res['profile']``), which
    slows them: their times are then not the benchmark's;
    ``compile_views``: the config key of that name set (the compilation
    falls in the warm-up steps); ``prefetch_views``: the config key of
    that name set (the next batch's views made on a side thread while a
    step runs); ``compile_encoders`` likewise (dynamo's caches reset first;
    its graphs and graph breaks in ``graphs``, ``graph_breaks``);
    ``reuse_batch_memory``: that config key set (the workers collate into
    reused shared-memory slots: the batch's free, ``batch_free_s`` of the
    loop split, frees no shared memory). Without
    ``profile_steps``, the timed steps' loop outside the model step in
    ``res['loop']`` (:func:`_loop_times_hook`)."""
    from openselfsup.apis import train
    labelled = RECIPES[recipe]['list']
    ann = cycled_list(nct_root, labelled, 'meta/bench_' +
                      os.path.basename(labelled), batch * (steps + warmup))
    options = train_options(recipe, nct_root, ann, workers, augment_on,
                            batch, compile_views, prefetch_views,
                            compile_encoders, reuse_batch_memory)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    # the recipe's config plus the profiling hook, or the loop's timer
    if profile_steps:
        _profiler_hook()
        hook, name = (f'dict(type="BenchStepProfileHook", skip={warmup}, '
                      f'steps={profile_steps})'), 'profiled'
    else:
        _loop_times_hook()
        hook, name = f'dict(type="BenchLoopTimesHook", skip={warmup})', \
            'timed'
    os.makedirs(work_dir, exist_ok=True)
    config = os.path.join(work_dir, f'{recipe}_{name}.py')
    with open(config, 'w') as f:
        f.write(f'_base_ = [{os.path.abspath(RECIPES[recipe]["config"])!r}]'
                f'\ncustom_hooks = [{hook}]\n')
    if compile_encoders:
        from torch import _dynamo
        from torch._dynamo.utils import counters
        _dynamo.reset()
        counters.clear()
    t0 = time.perf_counter()
    # trained as tools/train.py trains it: nothing evaluated after
    runner = train(config, work_dir=work_dir, cfg_options=options,
                   evaluates=())
    wall = time.perf_counter() - t0
    hub = runner.message_hub
    times = np.array(hub.get_scalar('train/time').data[0])[warmup:]
    waits = np.array(hub.get_scalar('train/data_time').data[0])[warmup:]
    res = dict(images_per_s=batch / times.mean(), step_s=times.mean(),
               data_wait_s=waits.mean(), data_wait_share=waits.sum()
               / times.sum(), steps=len(times), workers=workers,
               wall_with_startup_s=wall)
    if torch.cuda.is_available():
        res['memory_gib'] = peak_memory_gib(runner.log_dir)
    if compile_encoders:
        res['graphs'], res['graph_breaks'] = _dynamo_graphs()
    kind = 'BenchStepProfileHook' if profile_steps else 'BenchLoopTimesHook'
    result = next(h.result for h in runner.hooks if type(h).__name__ == kind)
    if profile_steps:
        res['profile'] = result
    else:
        res['loop'] = loop_split(result)
    return res


def _loop_times_hook():
    """The hook class that times each training iteration from iteration
    ``skip`` on, from one request for a batch to the next: the data
    loader's wait, the host's time in the model's ``train_step`` (views,
    forward, backward and optimiser step as issued), the wait for the
    device after it (a GPU's queued work: the wait that the loss read of
    MMEngine's RuntimeInfoHook, the first after it, would have) and each
    other hook's ``before_train_iter`` / ``after_train_iter``; after the
    run, what the batched CLP views no longer do (h268), on the last
    batch, on the device: moving the data samples as mmpretrain's
    ``SelfSupDataPreprocessor`` moves them. In ``self.result``
    (:func:`loop_split` makes the per-step figures)."""
    from mmengine.hooks import Hook

    from openselfsup.registry import HOOKS
    if 'BenchLoopTimesHook' in HOOKS.module_dict:
        return HOOKS.module_dict['BenchLoopTimesHook']

    class Timed:
        """The loop's data loader, each request for a batch timed, and the
        free of the batch before last: held here until the loop has let it
        go (its loop variable holds the last one), so that its memory is
        freed here, timed, not in the loop (one batch longer in memory;
        the request for batch i frees batch i - 2, none before the
        third)."""

        def __init__(self, loader, times):
            self._loader, self._times = loader, times

        def __getattr__(self, name):
            return getattr(self._loader, name)

        def __len__(self):
            return len(self._loader)

        def __iter__(self):
            it, held = iter(self._loader), []
            while True:
                t0 = time.perf_counter()
                if len(held) == 2:
                    del held[0]  # the last reference: its memory freed
                t1 = time.perf_counter()
                try:
                    held.append(next(it))
                except StopIteration:
                    self._times.append((t0, t1, time.perf_counter()))
                    return
                self._times.append((t0, t1, time.perf_counter()))
                yield held[-1]

    @HOOKS.register_module()
    class BenchLoopTimesHook(Hook):
        priority = 'VERY_LOW'

        def __init__(self, skip: int):
            self.skip = skip
            self.fetch, self.step, self.wait = [], {}, {}
            self.hooks = {}
            self.result, self._samples = None, None

        def before_train(self, runner):
            model, loop = runner.model, runner.train_loop
            cuda = next(model.parameters()).is_cuda

            def sync():
                if cuda:
                    torch.cuda.synchronize()
            self._sync = sync
            loop.dataloader = Timed(loop.dataloader, self.fetch)

            def train_step(*a, _orig=model.train_step, **k):
                data = a[0] if a else k.get('data')
                if isinstance(data, dict):
                    self._samples = data.get('data_samples')
                t0 = time.perf_counter()
                out = _orig(*a, **k)
                t1 = time.perf_counter()
                sync()
                self.step[runner.iter] = t1 - t0
                self.wait[runner.iter] = time.perf_counter() - t1
                return out
            model.train_step = train_step
            for hook in runner.hooks:
                if hook is self:
                    continue
                for fn in ('before_train_iter', 'after_train_iter'):
                    # only a hook that overrides MMEngine's empty method
                    if getattr(type(hook), fn) is getattr(Hook, fn):
                        continue
                    times = self.hooks.setdefault(
                        f'{fn}:{type(hook).__name__}', {})

                    def timed_fn(*a, _orig=getattr(hook, fn), _t=times,
                                 **k):
                        t0 = time.perf_counter()
                        out = _orig(*a, **k)
                        _t[runner.iter] = time.perf_counter() - t0
                        return out
                    setattr(hook, fn, timed_fn)

        def after_train(self, runner):
            loop = runner.train_loop
            loop.dataloader = loop.dataloader._loader
            del runner.model.train_step  # the instance attribute set above
            avoided = {}
            pre = runner.model.data_preprocessor
            if self._samples and type(pre).__name__ == \
                    'BatchAugSelfSupDataPreprocessor':
                rounds = []
                for _ in range(5):
                    t0 = time.perf_counter()
                    pre.cast_data(self._samples)
                    self._sync()
                    rounds.append(time.perf_counter() - t0)
                avoided['data_samples_to_device'] = float(np.median(rounds))
            # iteration i: from the request of its batch to the next one's
            n = len(self.step)
            starts = [t0 for t0, _, _ in self.fetch]
            self.result = dict(
                cycle=[starts[i + 1] - starts[i] for i in range(n)],
                batch_free=[t1 - t0 for t0, t1, _ in self.fetch[:n]],
                data_wait=[t2 - t1 for _, t1, t2 in self.fetch[:n]],
                train_step=[self.step[i] for i in range(n)],
                device_wait=[self.wait[i] for i in range(n)],
                hooks={k: [v.get(i, 0.0) for i in range(n)]
                       for k, v in self.hooks.items()},
                skip=self.skip, avoided=avoided)
            self._samples = None

    return BenchLoopTimesHook


def loop_split(timed: dict) -> dict:
    """Per training step, in seconds (means over the steps from
    ``timed['skip']`` on): the step (from one request for a batch to the
    next), the free of a batch the step is done with (``batch_free_s``:
    the main process's last reference to it dropped; a batch from the
    workers lies in shared memory, whose free holds the GIL; where the
    loader pins batches, its pinning thread frees those instead), the
    data loader's wait, the host's time in ``train_step``, the wait for
    the device after it, each hook's time (``hooks``, by
    ``<method>:<class>``; their sum ``hooks_s``) and ``loop_s``, the rest
    (the loop's own code: MMEngine's and the runner's ``call_hook``); the
    host time per step outside the model step and the data wait,
    ``outside_model_step_s = batch_free_s + hooks_s + loop_s``;
    ``avoided``: the work the path no longer does, timed after the run
    (:func:`_loop_times_hook`)."""
    skip = timed['skip']

    def mean(values) -> float:
        return float(np.mean(values[skip:])) if len(values) > skip else 0.0
    hooks = {k: mean(v) for k, v in timed['hooks'].items()}
    rest = np.array(timed['cycle']) - np.array(timed['batch_free']) - \
        np.array(timed['data_wait']) - np.array(timed['train_step']) - \
        np.array(timed['device_wait']) - \
        sum((np.array(v) for v in timed['hooks'].values()),
            np.zeros(len(timed['cycle'])))
    out = dict(step_s=mean(timed['cycle']),
               batch_free_s=mean(timed['batch_free']),
               data_wait_s=mean(timed['data_wait']),
               train_step_host_s=mean(timed['train_step']),
               device_wait_s=mean(timed['device_wait']),
               hooks_s=sum(hooks.values()), loop_s=mean(list(rest)),
               hooks=hooks, steps=max(len(timed['cycle']) - skip, 0))
    out['outside_model_step_s'] = out['batch_free_s'] + out['hooks_s'] + \
        out['loop_s']
    out['avoided'] = dict(timed['avoided'])
    return out


def print_loop(recipe: str, label: str, loop: dict) -> None:
    """The line of (b)'s loop outside the model step (:func:`loop_split`),
    and the work avoided beside it."""
    ms = {k: 1000 * v for k, v in loop.items() if isinstance(v, float)}
    avoided = loop.get('avoided', {}).get('data_samples_to_device')
    print(f'{recipe} (b) {label} loop per step: {ms["step_s"]:.1f} ms = '
          f'freeing a batch {ms["batch_free_s"]:.1f} + data '
          f'wait {ms["data_wait_s"]:.1f} + train_step on the host '
          f'{ms["train_step_host_s"]:.1f} + device wait '
          f'{ms["device_wait_s"]:.1f} + hooks {ms["hooks_s"]:.2f} + loop '
          f'{ms["loop_s"]:.2f}; outside the model step '
          f'{ms["outside_model_step_s"]:.2f} ms' + (
              '' if avoided is None else
              f'; before h268 the views also moved the data samples to the '
              f'device: {1000 * avoided:.2f} ms more'))


#: the parts of a training step the profile names (record_function ranges)
PROFILED_PARTS = {'views': ('model.data_preprocessor', 'forward'),
                  'forward': ('model', 'loss'),
                  'backward_and_step': ('optim_wrapper', 'update_params')}


def _profiler_hook():
    """The hook class that profiles a few training steps (registered once,
    in this project's scope, when a profiled run is asked for)."""
    from mmengine.hooks import Hook

    from openselfsup.registry import HOOKS
    if 'BenchStepProfileHook' in HOOKS.module_dict:
        return HOOKS.module_dict['BenchStepProfileHook']

    @HOOKS.register_module()
    class BenchStepProfileHook(Hook):
        """torch.profiler over training steps ``skip .. skip + steps - 1``
        (CPU and, on a GPU, CUDA activity), each part of a step in a
        ``record_function`` range (:data:`PROFILED_PARTS`); the summary is
        left in ``self.result``."""
        priority = 'VERY_LOW'

        def __init__(self, skip: int, steps: int):
            self.skip, self.steps = skip, steps
            self.prof, self.result, self._undo = None, None, []

        def _wrap(self, runner):
            for name, (owner, attr) in PROFILED_PARTS.items():
                obj = runner
                for part in owner.split('.'):
                    obj = getattr(obj, part)
                orig = getattr(obj, attr)

                def wrapped(*a, _orig=orig, _name=name, **k):
                    with torch.profiler.record_function(f'bench::{_name}'):
                        return _orig(*a, **k)
                setattr(obj, attr, wrapped)
                self._undo.append((obj, attr))

        def before_train_iter(self, runner, batch_idx, data_batch=None):
            if runner.iter != self.skip:
                return
            from torch.profiler import ProfilerActivity, profile
            acts = [ProfilerActivity.CPU] + (
                [ProfilerActivity.CUDA] if torch.cuda.is_available() else [])
            self._wrap(runner)
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.prof = profile(activities=acts)
            self.prof.__enter__()
            self.t0 = time.perf_counter()

        def after_train_iter(self, runner, batch_idx, data_batch=None,
                             outputs=None):
            if self.prof is None or runner.iter != self.skip + self.steps - 1:
                return
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            wall = time.perf_counter() - self.t0
            self.prof.__exit__(None, None, None)
            for obj, attr in self._undo:
                delattr(obj, attr)  # the instance attribute set by _wrap
            self.result = summarise_profile(self.prof.key_averages(), wall,
                                            self.steps)
            self.prof = None

    return BenchStepProfileHook


def summarise_profile(events, wall_s: float, steps: int,
                      top: int = 15) -> dict:
    """Per step, in ms: wall, the GPU's busy time (self time of every
    kernel), each ``bench::`` part (host time, and the span on the GPU from
    its first to its last kernel), and the ops taking most GPU and most
    host time."""
    def dev(e, total=False):
        for name in (('device_time_total', 'cuda_time_total') if total else
                     ('self_device_time_total', 'self_cuda_time_total')):
            if hasattr(e, name):
                return getattr(e, name) / 1000 / steps
        return 0.0

    # a range appears twice on a GPU: its CPU event (host time) and its
    # GPU annotation (from its first to its last kernel, gaps included);
    # kernels that autograd's device thread launches (the backward) fall
    # outside every range
    parts = {}
    for e in events:
        if e.key.startswith('bench::'):
            part = parts.setdefault(e.key[len('bench::'):],
                                    dict(host_ms=0.0, gpu_span_ms=0.0))
            part['host_ms'] = max(part['host_ms'],
                                  e.cpu_time_total / 1000 / steps)
            part['gpu_span_ms'] = max(part['gpu_span_ms'], dev(e, True))
    ops = [e for e in events if not e.key.startswith('bench::')]
    gpu_busy = sum(dev(e) for e in ops)

    def table(key):
        rows = sorted(ops, key=key, reverse=True)[:top]
        return [dict(op=e.key, calls_per_step=e.count / steps,
                     host_ms=e.self_cpu_time_total / 1000 / steps,
                     gpu_ms=dev(e)) for e in rows]
    return dict(steps=steps, wall_ms=1000 * wall_s / steps,
                gpu_busy_ms=gpu_busy, parts=parts,
                top_gpu=table(dev) if gpu_busy else [],
                top_host=table(lambda e: e.self_cpu_time_total))


def peak_memory_gib(log_dir: str) -> float:
    """Peak CUDA memory of a run: MMEngine's logger reads the peak and
    RESETS it each time it logs (so reading it after the run gives only what
    came after the last log): the largest ``memory`` (MiB) in the run's
    ``vis_data/scalars.json`` and the peak since."""
    import json
    peaks = [torch.cuda.max_memory_allocated() / 2**20
             if torch.cuda.is_available() else 0.0]
    path = os.path.join(log_dir, 'vis_data', 'scalars.json')
    if os.path.isfile(path):
        with open(path) as f:
            peaks += [rec['memory'] for rec in map(json.loads, f)
                      if 'memory' in rec]
    return max(peaks) / 1024


def ceiling_line(recipe: str, key: str, v: dict, epochs: int) -> str:
    """The printed row of one (a) variant ``key`` (its figures ``v``)."""
    h = hours(v['images_per_s'], epochs)
    return (f'{recipe} (a) {key:<56} {v["images_per_s"]:8.1f} '
            f'img/s  {v["memory_gib"]:5.1f} GiB  -> '
            f'{epochs} epochs {h:5.2f} h; waiting for each '
            f'loss {v["synced_images_per_s"]:8.1f} img/s, '
            f'issuing a step {1000 * v["host_s"]:5.1f} ms of '
            f'{1000 * v["synced_step_s"]:5.1f}' + (
                f'; compiled in {v["compile_s"]:.0f} s, '
                f'{v["graphs"]} graphs, '
                f'{v["graph_breaks"]} graph breaks, '
                f'{v["graphs_compiled_while_timed"]} '
                'compiled while timed'
                if 'graphs' in v else ''))


def _reported(res: dict, key: str, fn, *args):
    """``fn(*args)``; if it raises, the error is printed and kept in
    ``res[key + '_error']`` and None returned, so that one failing part
    (say, a CUDA path never run before on this machine) does not cost the
    figures of the others."""
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001  (reported, the rest runs)
        res[key + '_error'] = f'{type(e).__name__}: {e}'
        print(f'{key} FAILED:')
        traceback.print_exc()
        return None


#: the printed name of each (b) run beside the paths' own, by its tag (a
#: path's run is named by its ``augment_on``)
RUN_LABELS = {'compiled': 'compile_views', 'prefetch': 'prefetch_views',
              'reuse_batch_memory': 'reuse_batch_memory',
              'prefetch_reuse': 'prefetch_views+reuse_batch',
              'compile_encoders': 'compile_encoders'}


class Run(NamedTuple):
    """One (b) run: ``tag`` names its result (``end_to_end_<tag>``), its
    work directory and its printed name (:data:`RUN_LABELS`),
    ``augment_on`` the config's value; the rest are the config switches
    of :func:`end_to_end` of the same names, off unless given."""
    tag: str
    augment_on: str
    compile_views: bool = False
    prefetch_views: bool = False
    compile_encoders: bool = False
    reuse_batch_memory: bool = False


def hours(images_per_s: float, epochs: int) -> float:
    return epochs * DATASET_IMAGES / images_per_s / 3600


def main(argv=None):
    p = parser(__doc__)
    p.add_argument('--recipes', nargs='+', default=['clp', 'fsp'],
                   choices=sorted(RECIPES),
                   help='CLP (MoCo v3, two views) and / or FSP (supervised)')
    p.add_argument('--images', type=count, default=1024,
                   help='distinct synthetic 224 px training images, rounded '
                   'up to a whole class-balanced set (a multiple of the 9 '
                   'NCT classes); the NCT layout adds one test image per '
                   'class, which no part reads: 16 gives 18 read, 27 '
                   'written (the end-to-end list cycles over those read)')
    p.add_argument('--steps', type=count, default=20,
                   help='timed training steps ((a) and (b))')
    p.add_argument('--warmup', type=count, default=5,
                   help='untimed training steps first ((a) and (b))')
    p.add_argument('--workers', type=count, default=None,
                   help='data-loader workers for (b) (default: the config\'s, '
                   'at most the CPU count)')
    p.add_argument('--seconds', type=seconds, default=8.0,
                   help='time per per-worker data-path measurement')
    p.add_argument('--skip', nargs='*', default=[],
                   choices=['ceiling', 'end_to_end', 'cpu_path',
                            'step_ops', 'step_ops_bf16'],
                   help='parts not to run: (a), (b), the data path per '
                   'worker, the ops of a step (all its counts and traces), '
                   'its bfloat16 count alone (a CPU step per GhostBN '
                   'computation: minutes on 2 cores) (default: none)')
    p.add_argument('--augment_on', nargs='+', default=['auto', 'cpu'],
                   choices=['auto', 'cpu', 'device'],
                   help='(b) runs: auto (the default path: views on the '
                   'GPU) and/or cpu (the published per-image pipeline in '
                   'the workers) and/or device (the views batched on the '
                   'training device: auto\'s path on a GPU, the GPU path\'s '
                   'loop on the CPU) (default: auto and cpu; a path is run '
                   'once: without a GPU auto is the per-image path)')
    p.add_argument('--profile', type=count_or_zero, default=0,
                   metavar='STEPS',
                   help='after the timed (b) runs, one more default-path run '
                   'with STEPS steps (after the warm-up) under torch.profiler:'
                   ' per step, GPU busy time, host and GPU time of views / '
                   'forward / backward and step, the ops taking most time '
                   '(default: 0, none)')
    p.add_argument('--compile-views', action='store_true',
                   help='also time the batched views with compile_views=True '
                   '(torch.compile of the jitter blends and blur passes) '
                   'beside the eager ones, on 1 CPU thread (the data path '
                   'part) and on the GPU, with the graphs compiled in the '
                   'warm-up and while timed, and one more (b) run with it; '
                   'a recipe without either, FSP, is skipped')
    p.add_argument('--prefetch-views', action='store_true',
                   help='also one more (b) run of the batched views with '
                   "prefetch_views=True (the next batch's views made on a "
                   'side thread, on a GPU a side CUDA stream, while the step '
                   'runs); without a GPU with --end-to-end-on-cpu only')
    p.add_argument('--reuse-batch-memory', action='store_true',
                   help='also one more (b) run of the batched views with '
                   'reuse_batch_memory=True (the workers collate into '
                   'shared-memory slots reused from batch to batch: no '
                   'shared block allocated and freed per batch); with '
                   '--prefetch-views, one more with both; without a '
                   'GPU with --end-to-end-on-cpu only')
    p.add_argument('--compile-encoders', action='store_true',
                   help='also (a) and (b) with compile_encoders=True (the '
                   'forward of the backbone and neck, and of the momentum '
                   'encoder\'s, through torch.compile), bf16 channels-last '
                   'only, beside the uncompiled ones (compiling takes about '
                   'a minute a run on a GPU)')
    p.add_argument('--batch', type=count, default=None,
                   help='total batch (default: the recipe\'s, 256 / 512)')
    p.add_argument('--end-to-end-on-cpu', action='store_true',
                   help='run (b) without a GPU too (a smoke test of the '
                   'benchmark itself; use a small --batch)')
    add_output(p)
    args = parse(p, argv)
    cuda = torch.cuda.is_available()
    out = {'machine': machine(), 'commit': describe() or 'unknown',
           'args': vars(args), 'gpu': cuda}
    # without a GPU, what this run measures (it said 'data path only'
    # also where (b) ran on the CPU, or the data path was skipped)
    gpu = out['machine']['gpu'] or no_gpu_header(args.skip,
                                                 args.end_to_end_on_cpu)

    def part(res: dict, key: str, fn, *part_args):
        # what is measured so far saved before each part starts: a call
        # cut at a lent GPU's time limit keeps every part that ended
        save(args.output, out, say=False)
        return _reported(res, key, fn, *part_args)

    print(f'commit {out["commit"]}; {out["machine"]["cores"]} cores, load '
          f'{out["machine"]["load_average"]}; GPU: {gpu}')
    with tempfile.TemporaryDirectory() as tmp:
        # writing the whole synthetic NCT layout: the training images the
        # parts read, the 9 test images the layout needs (never read) and
        # the list files (the field was 'images_written_s', which read as
        # the images measured only)
        t0 = time.perf_counter()
        nct, out['synthetic_nct_images'] = make_images(
            os.path.join(tmp, 'data'), args.images)
        out['synthetic_nct_written_s'] = time.perf_counter() - t0
        for recipe in args.recipes:
            res = out[recipe] = {}
            # before the recipe's first part (its data path: not a part())
            save(args.output, out, say=False)
            epochs = RECIPES[recipe]['epochs']
            compiles = args.compile_views and views_compile(recipe)
            if 'cpu_path' not in args.skip:
                threads = torch.get_num_threads()
                torch.set_num_threads(1)
                try:
                    res['per_worker_images_per_s'] = worker_rates(
                        recipe, nct, args.seconds)
                    res['batched_views_cpu_1thread_images_per_s'] = \
                        batched_rate(recipe, nct, 'cpu', 32, 1)
                    if compiles:  # beside it, in the same process
                        stats = res['batched_views_cpu_1thread_compiled'] \
                            = {}
                        stats['images_per_s'] = batched_rate(
                            recipe, nct, 'cpu', 32, 1, True, stats)
                finally:
                    torch.set_num_threads(threads)
                w = res['per_worker_images_per_s']
                cheaper = res['decode_over_views_per_cpu_s'] = (
                    w['decode_only_per_cpu_s']
                    / w['per_image_views_per_cpu_s'])
                print(f'{recipe}: one worker, per-image views '
                      f'{w["per_image_views"]:7.1f} img/s '
                      f'({w["per_image_views_per_cpu_s"]:7.1f} per CPU s); '
                      f'decoding only {w["decode_only"]:7.1f} img/s '
                      f'({w["decode_only_per_cpu_s"]:7.1f} per CPU s); '
                      'batched views on 1 CPU thread '
                      f'{res["batched_views_cpu_1thread_images_per_s"]:6.1f} '
                      f'img/s; decoding alone {cheaper:.1f}x the views\' '
                      'rate per CPU s')
                if compiles:
                    stats = res['batched_views_cpu_1thread_compiled']
                    print(f'{recipe}: batched views on 1 CPU thread, '
                          'compile_views ' + _compiled_line(
                              stats['images_per_s'],
                              res['batched_views_cpu_1thread_images_per_s'],
                              stats))
            batch = args.batch or int(_load(recipe).total_batch_size)
            if 'step_ops' not in args.skip:
                ops = res['step_ops'] = part(res, 'step_ops', step_ops,
                                             recipe, batch) or {}
                if ops:
                    print(f'{recipe}: ops of one training step on the GPU '
                          'path, float32 (device / host): ' + ', '.join(
                              f'{k} {v["device"]} / {v["host"]}'
                              for k, v in ops.items()) + '; total device '
                          f'{sum(v["device"] for v in ops.values())}; no '
                          'read of a device value; bytes copied to the '
                          'device ' + ', '.join(
                              f'{k} {v.get("h2d_bytes", 0):,} in '
                              f'{v.get("h2d_copies", 0)} copies'
                              for k, v in ops.items()))
                by = res['step_ops_by_ghost_bn'] = {}
                for c in ('one_call', 'grouped_view'):
                    other = part(res, f'step_ops_{c}', step_ops,
                                 recipe, batch, c)
                    if other:
                        by[c] = other
                if ops or by:
                    print_ops_by_ghost_bn(recipe, dict(
                        ops and {'per_group_calls': ops}, **by))
                bf16 = res['step_ops_bf16_by_ghost_bn'] = {}
                for c in ('per_group_calls', 'one_call', 'grouped_view') \
                        if 'step_ops_bf16' not in args.skip else ():
                    other = part(res, f'step_ops_bf16_{c}', step_ops_bf16,
                                 recipe, batch, c)
                    if other:
                        bf16[c] = other
                if bf16:
                    print_ops_by_ghost_bn(recipe, bf16, 'under bfloat16 '
                                          'autocast, channels-last, on the '
                                          'CPU, model step only')
                rows = part(res, 'step_copies', step_copies, recipe,
                            batch)
                if rows is not None:
                    res['step_copies'] = copies_by_source(rows)
                    print_copies(recipe, rows)
                grouped = part(res, 'step_copies_grouped_view',
                               step_copies, recipe, batch, 224, 2**20,
                               'grouped_view')
                if grouped is not None:
                    res['step_copies_grouped_view'] = copies_by_source(
                        grouped)
                    print(f'{recipe}: copies of >= 1 MiB in one step from '
                          'GhostBN (openselfsup/models/groups.py): '
                          + ', '.join(f'{c} {ghost_bn_copies(r)}' for c, r in
                                      (('per_group_calls', rows),
                                       ('grouped_view', grouped))
                                      if r is not None))
                copied = res['views_h2d_bytes'] = part(
                    res, 'views_h2d_bytes', views_h2d_bytes, recipe, batch)
                if copied is not None:
                    print(f'{recipe}: bytes the views of a step copy to the '
                          f'device at the recipe\'s 224 px: {copied:,}')
            rate = cuda and part(res, 'batched_views_cuda',
                                 batched_rate, recipe, nct, 'cuda',
                                 batch, 10)
            if rate:
                res['batched_views_cuda_images_per_s'] = rate
                print(f'{recipe}: batched views on the GPU {rate:9.1f} img/s')
            stats = {}
            rate = cuda and compiles and part(
                res, 'batched_views_cuda_compiled', batched_rate, recipe,
                nct, 'cuda', batch, 10, True, stats)
            if rate:
                res['batched_views_cuda_compiled_images_per_s'] = rate
                res['batched_views_cuda_compiled'] = stats
                print(f'{recipe}: batched views on the GPU, compile_views '
                      + _compiled_line(rate, res.get(
                          'batched_views_cuda_images_per_s'), stats))
            if cuda and 'ceiling' not in args.skip:
                # one variant at a time: one that fails (a GhostBN
                # computation never run on a GPU before, say) keeps the
                # others' figures
                res['ceiling'] = {}
                # (variant, compile_options): None uncompiled
                ceilings = [(variant, None) for variant in VARIANTS]
                if args.compile_encoders:
                    ceilings.append(((True, True, 'per_group_calls'), True))
                for variant, compiled in ceilings:
                    key = 'ceiling_compiled' if compiled else \
                        f'ceiling {variant_name(*variant)}'
                    rows = part(res, key, compute_ceiling, recipe,
                                args.steps, args.warmup, batch, 'cuda',
                                224, (variant, ), compiled) or {}
                    res['ceiling'].update(rows)
                    for k, v in rows.items():  # as each ends: a cut keeps
                        print(ceiling_line(recipe, k, v, epochs))
            if (cuda or args.end_to_end_on_cpu) and \
                    'end_to_end' not in args.skip:
                workers = args.workers or min(
                    _load(recipe).train_dataloader.num_workers,
                    os.cpu_count() or 1)
                ceiling = res.get('ceiling', {}).get(
                    'amp=bf16 channels_last=True', {}).get('images_per_s')
                # the (b) runs (Run); one run per path: without a GPU
                # 'auto' is the per-image path, 'cpu''s (both rows were run
                # and printed)
                runs, paths = [], {}
                for a in args.augment_on:
                    path = resolved_augment_on(a, cuda)
                    if path in paths:
                        print(f'{recipe} (b) augment_on={a}: not run, the '
                              f'path of augment_on={paths[path]} here '
                              f'({path}{"" if cuda else ", no GPU"})')
                        continue
                    paths[path] = a
                    runs.append(Run(a, a))
                batched = 'auto' if cuda else 'device'
                if compiles:
                    runs.append(Run('compiled', batched, compile_views=True))
                if (args.prefetch_views or args.reuse_batch_memory) and \
                        'device' not in paths and not cuda:
                    # their serial path beside them (the default path is
                    # the per-image one without a GPU)
                    paths['device'] = 'device'
                    runs.append(Run('device', 'device'))
                if args.prefetch_views:
                    runs.append(Run('prefetch', batched,
                                    prefetch_views=True))
                if args.reuse_batch_memory:
                    runs.append(Run('reuse_batch_memory', batched,
                                    reuse_batch_memory=True))
                if args.prefetch_views and args.reuse_batch_memory:
                    # the two together: the views made ahead, the batch's
                    # free gone (what (b) could reach with both on)
                    runs.append(Run('prefetch_reuse', batched,
                                    prefetch_views=True,
                                    reuse_batch_memory=True))
                if args.compile_encoders:
                    runs.append(Run('compile_encoders', 'auto',
                                    compile_encoders=True))
                for run in runs:
                    augment_on = run.augment_on
                    name = f'end_to_end_{run.tag}'
                    e = part(res, name, end_to_end, recipe, nct,
                             augment_on, args.steps, args.warmup,
                             workers, os.path.join(
                                 tmp, f'w_{recipe}_{run.tag}'),
                             batch, 0, run.compile_views,
                             run.prefetch_views, run.compile_encoders,
                             run.reuse_batch_memory)
                    if e is None:
                        continue
                    if augment_on == 'cpu' and cuda:
                        e['note'] = 'per-image views in workers, bf16, ' \
                            'channels-last'
                    # no (a) (no GPU, skipped or failed): NaN, JSON null
                    e['ratio_to_ceiling'] = e['images_per_s'] / ceiling \
                        if ceiling else float('nan')
                    ratio = 'needs (a)' if not ceiling else \
                        f'{e["ratio_to_ceiling"]:5.2f}'
                    e['projected_hours'] = hours(e['images_per_s'], epochs)
                    res[name] = e
                    # 'auto' with the path it took on this machine
                    e['augment_on_resolved'] = resolved_augment_on(
                        augment_on, cuda)
                    label = RUN_LABELS.get(run.tag) or \
                        f'augment_on={augment_on}' + (
                            f' ({e["augment_on_resolved"]})'
                            if augment_on == 'auto' else '')
                    print(f'{recipe} (b) {label:<24} '
                          f'{e["images_per_s"]:8.1f} img/s  (b)/(a) '
                          f'{ratio}  '
                          f'data wait {e["data_wait_s"] * 1000:6.1f} ms/step '
                          f'({100 * e["data_wait_share"]:4.1f} %)  '
                          f'{e.get("memory_gib", 0):5.1f} GiB  -> {epochs} '
                          f'epochs of 100,000: {e["projected_hours"]:5.2f} h'
                          + (f'; {e["graphs"]} graphs, {e["graph_breaks"]} '
                             'graph breaks' if 'graphs' in e else ''))
                    if 'loop' in e:
                        print_loop(recipe, label, e['loop'])
                    views = res.get('batched_views_cuda_images_per_s')
                    best = res.get('ceiling', {}).get(
                        'amp=bf16 channels_last=True')
                    # the default path's run: 'auto', no switch set
                    if run == Run(run.tag, 'auto') and views and best:
                        # where a step of (b) goes, from parts timed apart
                        e['step_parts_s'] = parts = {
                            'views': batch / views,
                            'model_step_waiting_for_loss':
                                best['synced_step_s'],
                            'data_wait': e['data_wait_s']}
                        parts['rest'] = e['step_s'] - sum(parts.values())
                        print(f'{recipe} (b) step {1000 * e["step_s"]:.1f} '
                              'ms ~ ' + ', '.join(
                                  f'{k} {1000 * v:.1f}'
                                  for k, v in parts.items()) + ' ms')
                if args.profile:
                    prof = part(res, 'profile', end_to_end, recipe, nct,
                                'auto', args.profile, args.warmup,
                                workers, os.path.join(
                                    tmp, f'w_{recipe}_profile'), batch,
                                args.profile)
                    if prof:
                        res['profile'] = prof['profile']
                        print_profile(recipe, prof['profile'])
            # the recipe's last part, in case the run is cut in the next
            save(args.output, out, say=False)
    if not cuda:
        print(no_gpu_line(args.skip, args.end_to_end_on_cpu))
    out['complete'] = True  # a JSON saved on the way has no such key
    save(args.output, out)
    return failed_status(out, args.recipes)


def _cpu_b(skip, end_to_end_on_cpu: bool) -> bool:
    """Whether a run without a GPU runs (b) (on the CPU)."""
    return end_to_end_on_cpu and 'end_to_end' not in skip


def measured_without_gpu(skip, end_to_end_on_cpu: bool) -> list:
    """The names of the parts a run without a GPU measures (none where
    every part is skipped)."""
    return [name for name, on in (
        ('the data path', 'cpu_path' not in skip),
        ('the step op counts', 'step_ops' not in skip),
        ('(b) on the CPU', _cpu_b(skip, end_to_end_on_cpu)))
        if on]


def no_gpu_header(skip, end_to_end_on_cpu: bool) -> str:
    """The GPU of the first line of a run without one: none, and what the
    run measures (:func:`measured_without_gpu`)."""
    ran = measured_without_gpu(skip, end_to_end_on_cpu)
    return 'none (' + ('measuring ' + ', '.join(ran) if ran else
                       'every part skipped') + ')'


def no_gpu_line(skip, end_to_end_on_cpu: bool) -> str:
    """What a run without a GPU measured, and what needs one: the parts
    it ran by their names (it said 'the data path alone' also where
    ``--end-to-end-on-cpu`` ran (b), or where ``cpu_path`` was skipped)."""
    # (b) measured on the CPU: what needs a GPU is (a) and (b) there (the
    # line said the (b) figures need a GPU right after printing them)
    need = ("(a) and a GPU's (b) figures" if _cpu_b(skip, end_to_end_on_cpu)
            else 'the (a) and (b) figures')
    ran = measured_without_gpu(skip, end_to_end_on_cpu)
    return ('no GPU on this machine: measured ' +
            (', '.join(ran) if ran else 'nothing (every part skipped)') +
            f'; {need} need a GPU (bash benchmarks/gpu_run.sh pretrain)')


def failed_status(out: dict, recipes) -> int:
    """1, with a last line naming them, if a part failed (its error kept
    in the JSON by :func:`_reported` while the others ran), else 0: a
    failed part makes the exit status 1, which gpu_run.sh reports."""
    failed = [f'{recipe} {key[:-len("_error")]}' for recipe in recipes
              for key in out.get(recipe, {}) if key.endswith('_error')]
    if not failed:
        return 0
    sys.stdout.flush()  # the tables first
    print(f'bench_pretrain: FAILED: {", ".join(failed)} (tracebacks above; '
          'the other parts\' figures are kept)', file=sys.stderr)
    return 1


if __name__ == '__main__':
    run_main(main)
