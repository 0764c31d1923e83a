"""The CLP and FSP recipes as the ICLR-22 code ran them (issue 11, item 8).

- the contrastive loss over groups of ``group_size`` images on one process
  equals the DDP-averaged loss and gradient of a multi-process run that
  gives each process one group and gathers nothing (by hand, and with 8
  real gloo processes);
- GhostBN normalises each group with its own statistics (BatchNorm per GPU);
- the optimisers built from the real configs hold the published settings,
  and the LARS step is the published formula (a zero-norm parameter stays
  at zero);
- the CLP learning rate follows a per-epoch cosine.
"""
import copy
import math
import os
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.registry import init_default_scope

from _foundation_helpers import REPO, free_port
from openselfsup.models.groups import COMPUTATIONS

CLP = os.path.join(REPO, 'configs/wsi_selfsup/moco_v3/r18_bs256_ep200_all.py')
FSP = os.path.join(REPO, 'configs/classification/nct/r18_bs512_ep100_all.py')


@pytest.fixture(scope='module', autouse=True)
def registries():
    import openselfsup.datasets  # noqa: F401
    import openselfsup.engine  # noqa: F401
    import openselfsup.models  # noqa: F401
    init_default_scope('openselfsup')


class _LinearPredictor(torch.nn.Module):
    """A predictor without BatchNorm (SyncBN needs CUDA to sync)."""

    def __init__(self, dim):
        super().__init__()
        self.fc = torch.nn.Linear(dim, dim, bias=False)

    def forward(self, xs):
        return (self.fc(xs[0]), )


def _head(group_size, dim=8, temperature=0.5, seed=0):
    from openselfsup.registry import MODELS
    head = MODELS.build(dict(
        type='GroupMoCoV3Head', group_size=group_size,
        temperature=temperature,
        loss=dict(type='CrossEntropyLoss', loss_weight=2 * temperature),
        predictor=dict(type='NonLinearNeck', in_channels=dim,
                       hid_channels=dim, out_channels=dim, num_layers=2,
                       with_avg_pool=False, norm_cfg=dict(type='BN1d'))))
    torch.manual_seed(seed)
    head.predictor = _LinearPredictor(dim)
    return head.double()


def _features(n, dim=8, seed=1):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, dim, generator=g, dtype=torch.float64),
            torch.randn(n, dim, generator=g, dtype=torch.float64))


def _published_loss_numpy(pred, key, temperature):
    """One GPU of the published MOCOv3: 2T * mean_i CE(p_i . k_j / T, i)."""
    p = pred / np.linalg.norm(pred, axis=1, keepdims=True)
    k = key / np.linalg.norm(key, axis=1, keepdims=True)
    logits = p @ k.T / temperature
    m = logits.max(axis=1, keepdims=True)
    logsumexp = (m + np.log(np.exp(logits - m).sum(axis=1,
                                                  keepdims=True)))[:, 0]
    return 2 * temperature * float(np.mean(logsumexp - np.diag(logits)))


def test_group_loss_equals_eight_processes_by_hand():
    """256 images, group 32: the one-process loss is the mean of the eight
    per-process losses computed by hand, and its gradient the DDP average
    of the per-process gradients."""
    T = 0.5
    head = _head(32, temperature=T)
    q, k = _features(256)
    q.requires_grad_(True)
    loss = head.loss(q, k)
    loss.backward()
    loss = loss.detach()

    w = head.predictor.fc.weight.detach().numpy()
    pred = q.detach().numpy() @ w.T
    per_process = [_published_loss_numpy(pred[r * 32:(r + 1) * 32],
                                         k.numpy()[r * 32:(r + 1) * 32], T)
                   for r in range(8)]
    assert float(loss) == pytest.approx(np.mean(per_process), rel=1e-12)
    # the whole-batch (gathered) loss is a different number
    with torch.no_grad():
        gathered = _head(None, temperature=T).loss(q, k)
    assert float(gathered) != pytest.approx(float(loss), rel=1e-3)

    # gradients: each process differentiates its own loss; DDP averages the
    # predictor's gradient, and each query gets 1/8 of its process's gradient
    grads_w, grads_q = [], []
    for r in range(8):
        proc = _head(32, temperature=T)
        qr = q.detach()[r * 32:(r + 1) * 32].clone().requires_grad_(True)
        proc.loss(qr, k[r * 32:(r + 1) * 32]).backward()
        grads_w.append(proc.predictor.fc.weight.grad)
        grads_q.append(qr.grad)
    torch.testing.assert_close(head.predictor.fc.weight.grad,
                               torch.stack(grads_w).mean(0))
    torch.testing.assert_close(q.grad, torch.cat(grads_q) / 8)


def test_group_loss_batch_checks():
    from openselfsup.utils import InputError
    head = _head(32)
    q, k = _features(16)
    # a batch of at most one group is one group
    ref = _published_loss_numpy(q.numpy() @ head.predictor.fc.weight
                                .detach().numpy().T, k.numpy(), 0.5)
    assert float(head.loss(q, k).detach()) == pytest.approx(ref, rel=1e-12)
    q, k = _features(48)
    with pytest.raises(InputError, match=r'model.head.group_size=32: the '
                       r'per-process batch of 48 images is not a multiple'):
        head.loss(q, k)
    with pytest.raises(InputError, match='group_size=0'):
        _head(0)
    # True is an int in Python: it built groups of one image, whose
    # contrastive loss is 0 at every step (the run trained, exit 0)
    from openselfsup.models.groups import GhostBatchNorm2d
    with pytest.raises(InputError, match='model.head.group_size=True: use '
                       'a positive number of images or None'):
        _head(True)
    with pytest.raises(InputError, match='norm_cfg.group_size=True: use '
                       'a positive number of images or None'):
        GhostBatchNorm2d(4, group_size=True)
    # T 0 made every loss NaN, a negative T rewarded the wrong keys (both
    # trained, exit 0): the published T is 1
    for bad in (0, -1.0, float('nan'), float('inf'), '1', True):
        with pytest.raises(InputError, match=re.escape(
                f'model.head.temperature must be a positive number, got '
                f'{bad!r}')):
            _head(32, temperature=bad)


def _gloo_worker(rank, world, port, out):
    import torch.distributed as dist
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=world)
    try:
        init_default_scope('openselfsup')
        head = _head(32)
        q, k = _features(32 * world)
        qr = q[rank * 32:(rank + 1) * 32].clone().requires_grad_(True)
        loss = head.loss(qr, k[rank * 32:(rank + 1) * 32])
        loss.backward()
        grad = head.predictor.fc.weight.grad.clone()
        dist.all_reduce(grad)  # what DDP does, then / world
        out[rank] = (float(loss), grad / world, qr.grad.clone())
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_group_loss_equals_eight_gloo_processes():
    """8 real processes with 32 images each (gloo, CPU): the mean of their
    losses and their averaged gradient equal one process with 256 images
    and group_size 32; no process sees another's keys."""
    import torch.multiprocessing as mp
    world = 8
    port = free_port()
    out = mp.Manager().dict()
    method = 'spawn' if torch.cuda.is_initialized() else 'fork'
    mp.start_processes(_gloo_worker, args=(world, port, out), nprocs=world,
                       join=True, start_method=method)
    head = _head(32)
    q, k = _features(32 * world)
    q.requires_grad_(True)
    loss = head.loss(q, k)
    loss.backward()
    assert float(loss.detach()) == pytest.approx(
        np.mean([out[r][0] for r in range(world)]), rel=1e-12)
    for r in range(world):
        torch.testing.assert_close(out[r][1], head.predictor.fc.weight.grad)
        torch.testing.assert_close(out[r][2] / world,
                                   q.grad[r * 32:(r + 1) * 32])


@pytest.mark.parametrize('computation', COMPUTATIONS)
@pytest.mark.parametrize('channels_last', [False, True])
def test_ghost_bn_normalises_each_group_with_its_own_statistics(
        computation, channels_last):
    from openselfsup.models import GhostBatchNorm2d
    g = torch.Generator().manual_seed(0)
    x = torch.randn(12, 3, 5, 5, generator=g, dtype=torch.float64) * 2 + 1
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    bn = GhostBatchNorm2d(3, group_size=4, computation=computation).double()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([1.0, 2.0, 0.5]))
        bn.bias.copy_(torch.tensor([0.0, -1.0, 3.0]))
    out = bn(x)
    xn = x.numpy()
    for i in range(3):
        part = xn[4 * i:4 * (i + 1)]
        mean = part.mean(axis=(0, 2, 3), keepdims=True)
        var = part.var(axis=(0, 2, 3), keepdims=True)
        want = (part - mean) / np.sqrt(var + 1e-5) \
            * np.array([1.0, 2.0, 0.5])[None, :, None, None] \
            + np.array([0.0, -1.0, 3.0])[None, :, None, None]
        np.testing.assert_allclose(out.detach().numpy()[4 * i:4 * (i + 1)],
                                   want, rtol=1e-10, atol=1e-10)
    # running statistics: those of the first group (GPU 0 of the run)
    first = xn[:4]
    np.testing.assert_allclose(
        bn.running_mean.numpy(), 0.1 * first.mean(axis=(0, 2, 3)),
        rtol=1e-12)
    np.testing.assert_allclose(
        bn.running_var.numpy(),
        0.9 + 0.1 * first.var(axis=(0, 2, 3), ddof=1), rtol=1e-12)
    assert int(bn.num_batches_tracked) == 1
    # the output keeps the input's memory format
    assert out.is_contiguous(memory_format=torch.channels_last
                             if channels_last else torch.contiguous_format)
    # gradients flow to every group and to the affine parameters
    out.sum().backward()
    assert bn.weight.grad is not None
    # evaluation and small batches: plain BatchNorm2d
    plain = torch.nn.BatchNorm2d(3).double()
    plain.load_state_dict(bn.state_dict())
    bn.eval()
    plain.eval()
    torch.testing.assert_close(bn(x), plain(x))
    bn.train()
    plain.train()
    torch.testing.assert_close(bn(x[:4]), plain(x[:4]))
    from openselfsup.utils import InputError
    with pytest.raises(InputError, match='norm_cfg.group_size=4: the '
                       'per-process batch of 6'):
        bn(x[:6])


@pytest.mark.parametrize('computation', COMPUTATIONS[1:])
def test_ghost_bn_in_one_call_equals_one_call_per_group(computation):
    """The one batch-norm call for all groups (groups laid out as
    channels, ``per_group_calls=False``) and the grouped view
    (``computation='grouped_view'``: statistics on a view, a closed-form
    backward) give what the default one call per group gives (the
    published per-GPU BN written out): output, gradients of the input,
    weight and bias, running statistics, in float32 (up to rounding),
    contiguous and channels-last, with the momentum of a config and the
    cumulative average (momentum None), without running statistics, and
    without affine parameters (the grouped view's own branches)."""
    from openselfsup.models import GhostBatchNorm2d
    g = torch.Generator().manual_seed(1)
    for fmt, kwargs in ((torch.contiguous_format, {}),
                        (torch.channels_last, dict(momentum=0.3)),
                        (torch.channels_last, dict(momentum=None)),
                        (torch.contiguous_format,
                         dict(track_running_stats=False)),
                        (torch.channels_last, dict(affine=False))):
        x0 = (torch.randn(24, 5, 6, 7, generator=g) * 3 + 2).contiguous(
            memory_format=fmt)
        grad = torch.randn(24, 5, 6, 7, generator=g)
        outs = []
        for comp in (computation, 'per_group_calls'):
            bn = GhostBatchNorm2d(5, group_size=8, computation=comp,
                                  **kwargs)
            if bn.affine:
                with torch.no_grad():
                    bn.weight.copy_(torch.linspace(0.5, 2.0, 5))
                    bn.bias.copy_(torch.linspace(-1.0, 1.0, 5))
            x = x0.clone().requires_grad_(True)
            for _ in range(2):  # the running statistics of two steps
                out = bn(x)
            out.backward(grad)
            outs.append((out, x.grad,
                         *((bn.weight.grad, bn.bias.grad) if bn.affine
                           else (torch.zeros(1), torch.zeros(1))),
                         bn.state_dict()))
        (o1, gx1, gw1, gb1, s1), (o2, gx2, gw2, gb2, s2) = outs
        torch.testing.assert_close(o1, o2, rtol=1e-5, atol=1e-5)
        assert o1.is_contiguous(memory_format=fmt)
        torch.testing.assert_close(gx1, gx2, rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(gw1, gw2, rtol=1e-4, atol=1e-4)
        torch.testing.assert_close(gb1, gb2, rtol=1e-4, atol=1e-4)
        assert s1.keys() == s2.keys()
        for k in s1:
            torch.testing.assert_close(s1[k], s2[k], rtol=1e-5, atol=1e-6)
        if kwargs.get('track_running_stats', True):
            assert int(s1['num_batches_tracked']) == 2
            # the first group's statistics (not the batch's), two updates
            first = x0[:8].double()
            mean, var = first.mean(dim=(0, 2, 3)), first.var(dim=(0, 2, 3))
            m = kwargs.get('momentum', 0.1)
            want_mean = torch.zeros(5, dtype=torch.float64)
            want_var = torch.ones(5, dtype=torch.float64)
            for step in (1, 2):
                f = 1.0 / step if m is None else m
                want_mean = (1 - f) * want_mean + f * mean
                want_var = (1 - f) * want_var + f * var
            torch.testing.assert_close(s1['running_mean'].double(),
                                       want_mean, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(s1['running_var'].double(),
                                       want_var, rtol=1e-5, atol=1e-6)
        else:
            assert 'running_mean' not in s1


@pytest.mark.parametrize('computation', COMPUTATIONS)
def test_ghost_bn_segments_equal_separate_calls(computation):
    """Two views through GhostBN in one batch (``segments(bn, 2)``) give
    what two calls, one per view, give: every group normalised alike, and
    the running statistics updated twice, view 1's first group then view
    2's (with a config's momentum, the cumulative average, momentum 0, and
    without running statistics); also for views no larger than a group."""
    from openselfsup.models import GhostBatchNorm2d
    from openselfsup.models.groups import segments
    g = torch.Generator().manual_seed(2)
    for n, kwargs in ((16, {}), (16, dict(momentum=None)),
                      (16, dict(momentum=0.0)),
                      (16, dict(track_running_stats=False)), (4, {})):
        views = [(torch.randn(n, 3, 5, 4, generator=g) * (v + 1) + v)
                 .double() for v in range(2)]
        ref = GhostBatchNorm2d(3, group_size=8, computation=computation,
                               **kwargs).double()
        bn = GhostBatchNorm2d(3, group_size=8, computation=computation,
                              **kwargs).double()
        for _ in range(2):  # two steps
            want = torch.cat([ref(v) for v in views])
            with segments(bn, 2):
                got = bn(torch.cat(views))
            torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
            for k, v in ref.state_dict().items():
                torch.testing.assert_close(bn.state_dict()[k], v,
                                           rtol=1e-12, atol=1e-12,
                                           msg=f'{k} {kwargs}')
        assert bn.segments == 1  # restored
        # a layer called twice in one block (two batches): as four calls
        if not kwargs.get('track_running_stats', True):
            continue
        more = [v * 0.5 - 1 for v in views]
        want = [torch.cat([ref(v) for v in vs]) for vs in (views, more)]
        with segments(bn, 2):
            got = [bn(torch.cat(vs)) for vs in (views, more)]
        for a, b in zip(got, want):
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
        for k, v in ref.state_dict().items():
            torch.testing.assert_close(bn.state_dict()[k], v, rtol=1e-12,
                                       atol=1e-12, msg=f'{k} {kwargs} twice')
        # a block inside the block, and an evaluation call in it: each call
        # sees the statistics that calls one by one would see
        a = [torch.randn(16, 3, 5, 4, generator=g).double()
             for _ in range(4)]
        want = [ref(v) for v in a]
        with segments(bn, 2):
            got = [bn(torch.cat(a[:2]))]
            with segments(bn, 1):
                got += [bn(a[2]), bn(a[3])]
            bn.eval()
            got_eval = bn(a[0])
            bn.train()
        ref.eval()
        want_eval = ref(a[0])
        ref.train()
        for x, y in zip(got, [torch.cat(want[:2])] + want[2:]):
            torch.testing.assert_close(x, y, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(got_eval, want_eval, rtol=1e-12,
                                   atol=1e-12)
        for k, v in ref.state_dict().items():
            torch.testing.assert_close(bn.state_dict()[k], v, rtol=1e-12,
                                       atol=1e-12, msg=f'{k} {kwargs} nested')
        # a state dict read, a state loaded or a copy made in a block
        # holds (keeps) every update so far
        snap = copy.deepcopy(ref)
        for v in a[:2]:
            ref(v)
        with segments(bn, 2):
            bn(torch.cat(a[:2]))
            twin = copy.deepcopy(bn)
            read = {k: v.clone() for k, v in bn.state_dict().items()}
        for k, v in ref.state_dict().items():
            torch.testing.assert_close(read[k], v, rtol=1e-12, atol=1e-12)
            torch.testing.assert_close(twin.state_dict()[k], v, rtol=1e-12,
                                       atol=1e-12)
        assert twin.segments == 1 and not twin._queued
        with segments(bn, 2):
            bn(torch.cat(a[:2]))
            bn.load_state_dict(snap.state_dict())
        for k, v in snap.state_dict().items():
            torch.testing.assert_close(bn.state_dict()[k], v)
        bn.load_state_dict(ref.state_dict())
    # the running statistics of all layers move when the block ends
    # (one-call and grouped-view GhostBN), in one batch of updates
    queued = computation != 'per_group_calls'
    if queued:
        net = torch.nn.Sequential(
            GhostBatchNorm2d(3, group_size=8, computation=computation),
            torch.nn.Conv2d(3, 3, 1),
            GhostBatchNorm2d(3, group_size=8,
                             computation=computation)).double()
        before = {k: v.clone() for k, v in net.state_dict().items()}
        with segments(net, 2):
            net(torch.cat(views))
            for i in (0, 2):  # the buffers themselves, not a state dict
                for name, v in net[i].named_buffers():
                    assert torch.equal(v, before[f'{i}.{name}']), name
        for i in (0, 2):
            assert int(net[i].num_batches_tracked) == 2
            assert not torch.equal(net[i].running_mean,
                                   before[f'{i}.running_mean'])
    # a failure while the updates are applied still gives the layers
    # their settings back
    if queued:
        with pytest.raises(RuntimeError):
            with segments(net, 2):
                net(torch.cat(views))
                net[0].running_mean = net[0].running_mean.to('meta')
        assert all(m.__dict__.get('segments') is None and
                   m.__dict__.get('_pending') is None and not m._queued
                   for m in (net[0], net[2]))
    # nested blocks and an earlier setting come back; an uneven batch is
    # refused in one line
    bn.segments = 3
    with segments(bn, 2):
        with segments(bn, 2):
            assert bn.segments == 2
        assert bn.segments == 2
    assert bn.segments == 3
    del bn.segments
    from openselfsup.utils import InputError
    with segments(bn, 2), pytest.raises(InputError, match='batch of 9 '
                                        'images does not split into 2'):
        bn(torch.randn(9, 3, 5, 4).double())


@pytest.mark.parametrize('computation', COMPUTATIONS)
def test_ghost_bn_segments_under_torch_compile(computation):
    """Two ``segments`` blocks in one ``torch.compile``-d function (MoCo
    v3's query and key backbones in its loss, under ``compile=True`` or
    ``compile_encoders``) run, give the eager outputs and running
    statistics, and leave the layers at their class defaults: restoring
    them by ``delattr`` was an AttributeError under torch.compile (it
    replays the delete of an attribute set in the same graph as a delete
    of one never set)."""
    from openselfsup.models import GhostBatchNorm2d
    from openselfsup.models.groups import segments

    def make():
        torch.manual_seed(0)
        return torch.nn.Sequential(
            torch.nn.Conv2d(3, 4, 3),
            GhostBatchNorm2d(4, group_size=4,
                             computation=computation)).double()

    def step(a, b, x):
        with segments(a, 2):
            ya = a(x)
        with torch.no_grad(), segments(b, 2):
            yb = b(x)
        return ya, yb
    x = torch.randn(16, 3, 6, 6, generator=torch.Generator().manual_seed(4),
                    dtype=torch.float64)
    eager, compiled = (make(), make()), (make(), make())
    want = step(*eager, x)
    torch._dynamo.reset()
    got = torch.compile(step, backend='eager')(*compiled, x)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b)
    for mine, ref in zip(compiled, eager):
        for k, v in ref.state_dict().items():
            torch.testing.assert_close(mine.state_dict()[k], v, msg=k)
        assert not {'segments', '_pending'} & mine[1].__dict__.keys()
        assert mine[1].segments == 1 and mine[1]._pending is None


@pytest.mark.parametrize('computation', COMPUTATIONS)
@pytest.mark.parametrize('block', [False, True])
def test_ghost_bn_called_twice_in_one_graph(computation, block):
    """A GhostBN layer called on a batch of one group and then, before the
    backward, on a batch of several (alone or in a ``segments`` block), as
    plain BatchNorm allows: the backward runs, and the gradients and
    running statistics equal plain BatchNorm called on each group in
    turn (the published per-GPU BN)."""
    from openselfsup.models import GhostBatchNorm2d
    from openselfsup.models.groups import segments
    g = torch.Generator().manual_seed(3)
    small = torch.randn(4, 3, 5, 4, generator=g).double()
    big = torch.randn(16, 3, 5, 4, generator=g).double() * 2 + 1
    grads = [torch.randn(4, 3, 5, 4, generator=g).double(),
             torch.randn(16, 3, 5, 4, generator=g).double()]
    bn = GhostBatchNorm2d(3, group_size=4, computation=computation).double()
    plain = torch.nn.BatchNorm2d(3).double()
    for m in (bn, plain):
        with torch.no_grad():
            m.weight.copy_(torch.tensor([1.0, 2.0, 0.5]))
            m.bias.copy_(torch.tensor([0.0, -1.0, 3.0]))
    xs = [small.clone().requires_grad_(True), big.clone().requires_grad_(True)]
    out = [bn(xs[0])]
    with segments(bn, 2 if block else 1):
        out.append(bn(xs[1]))
    torch.autograd.backward(out, grads)
    ys = [small.clone().requires_grad_(True), big.clone().requires_grad_(True)]
    parts = ys[1].chunk(4)
    want = [plain(ys[0]), torch.cat(
        [plain(p) if i in ((0, 2) if block else (0,)) else
         torch.nn.functional.batch_norm(p, None, None, plain.weight,
                                        plain.bias, True, 0.0, plain.eps)
         for i, p in enumerate(parts)])]
    torch.autograd.backward(want, grads)
    for a, b in zip(out, want):
        torch.testing.assert_close(a, b)
    for a, b in zip(xs, ys):
        torch.testing.assert_close(a.grad, b.grad)
    torch.testing.assert_close(bn.weight.grad, plain.weight.grad)
    torch.testing.assert_close(bn.bias.grad, plain.bias.grad)
    for k, v in plain.state_dict().items():
        torch.testing.assert_close(bn.state_dict()[k], v, msg=k)


def _brute_running_stats(xs, segs, group_size, momentum, steps_before=0):
    """The running mean and variance (float64) of a plain BatchNorm called
    on the first ``group_size`` images of each of ``segs`` equal parts of
    each batch in ``xs``, in turn (the published per-view, per-GPU BN),
    its update written out per PyTorch's formula: ``(1 - f) r + f stat``
    with the unbiased variance, ``f`` the momentum or (None) 1 / updates
    so far."""
    mean = torch.zeros(xs[0].shape[1], dtype=torch.float64)
    var = torch.ones(xs[0].shape[1], dtype=torch.float64)
    done = steps_before
    for x in xs:
        for part in x.double().chunk(segs):
            first = part[:group_size]
            done += 1
            f = 1.0 / done if momentum is None else momentum
            mean = (1 - f) * mean + f * first.mean(dim=(0, 2, 3))
            var = (1 - f) * var + f * first.var(dim=(0, 2, 3))
    return mean, var


@pytest.mark.parametrize('segs', [1, 2, 3])
@pytest.mark.parametrize('momentum', [0.1, None])
def test_ghost_bn_grouped_view_running_stats_in_a_fixed_number_of_ops(
        segs, momentum):
    """The grouped view's running-statistics update: for all the layers
    of a :func:`segments` block together, when it ends, ``2 + segs`` ops
    (the counts of updates, the variances made unbiased, one ``lerp`` a
    segment; momentum None: 6 more, its factors), whatever the number of
    layers (it was 3 ops a layer call
    and 2 to 8 a block: 120 of a CLP step's 1,368), each layer's running
    statistics those of a float64 BatchNorm called on each segment's first
    group in turn (three steps; a config's momentum and the cumulative
    average, momentum None), within float32 rounding, from float32 input
    and under bfloat16 autocast."""
    from benchmarks.bench_pretrain import op_counter
    from openselfsup.models import GhostBatchNorm2d
    from openselfsup.models.groups import segments

    def net(layers, track=True):
        return torch.nn.Sequential(*(
            GhostBatchNorm2d(3, group_size=4, momentum=momentum,
                             track_running_stats=track,
                             computation='grouped_view')
            for _ in range(layers)))
    g = torch.Generator().manual_seed(5)
    x = torch.randn(8 * segs, 3, 5, 4, generator=g) * 2 + 1

    def ops(model):
        count = op_counter()
        count.name = 'ops'
        with count, segments(model, segs):
            model(x)
        return sum(count.counts['ops'].values())
    for layers in (1, 5):
        extra = ops(net(layers)) - ops(net(layers, track=False))
        # momentum None: the factors from the counts of updates, on their
        # device, 6 ops for all the layers (each call read its count on
        # the host, as batch norm's own does: one op a layer, a wait for
        # the device on a GPU; test_ghost_bn_cumulative_average_reads_no_
        # count_on_the_host)
        assert extra == 2 + segs + (6 if momentum is None else 0), \
            (layers, extra)
    # the foreach ops get dense tensors: a GPU runs one kernel for all of
    # them only then (else one per tensor: the first groups' variances of
    # two views were rows 0 and 4 of a view, not dense)
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_leaves

    class Foreach(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func.__name__.startswith('_foreach'):
                for t in tree_leaves((args, kwargs)):
                    if isinstance(t, torch.Tensor):
                        assert t.is_contiguous(), (func.__name__, t.stride())
            return func(*args, **(kwargs or {}))
    model = net(3)
    with Foreach(), segments(model, segs):
        model(x)
    for amp in (False, True):
        model = net(2)
        seen = [[], []]  # each layer's inputs
        for layer, inputs in zip(model, seen):
            layer.register_forward_pre_hook(
                lambda _, args, inputs=inputs: inputs.append(
                    args[0].detach()))
        for step in range(3):
            v = torch.randn(8 * segs, 3, 5, 4, generator=g) * (1 + step) + 3
            if amp:  # the input as the layer gets it under autocast
                v = v.to(torch.bfloat16)
            with torch.autocast('cpu', torch.bfloat16, enabled=amp), \
                    segments(model, segs):
                out = model(v)
            assert out.dtype == v.dtype
        for layer, inputs in zip(model, seen):
            mean, var = _brute_running_stats(inputs, segs, 4, momentum)
            torch.testing.assert_close(layer.running_mean.double(), mean,
                                       rtol=1e-6, atol=1e-7, msg=f'{amp}')
            torch.testing.assert_close(layer.running_var.double(), var,
                                       rtol=1e-6, atol=1e-7, msg=f'{amp}')
            assert int(layer.num_batches_tracked) == 3 * segs


def _ops_named(prefix=''):
    """A dispatch mode that counts (``.count``) the ops whose name starts
    with ``prefix``: ``'_foreach'``, or ``'_local_scalar_dense'`` (a read
    of a tensor's value on the host, what ``int()`` and ``.item()``
    dispatch: on a GPU a wait for every kernel queued before it); and
    every op by name (``.names``, a Counter of ``aten`` names without
    the overload: ``'zeros'``, ``'sum'``)."""
    from collections import Counter

    from torch.utils._python_dispatch import TorchDispatchMode

    class Named(TorchDispatchMode):
        def __init__(self):
            super().__init__()
            self.count, self.names = 0, Counter()

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            self.count += func.__name__.startswith(prefix)
            self.names[func.overloadpacket.__name__] += 1
            return func(*args, **(kwargs or {}))
    return Named()


@pytest.mark.parametrize('segs', [1, 2, 3])
def test_ghost_bn_cumulative_average_reads_no_count_on_the_host(
        segs, monkeypatch):
    """Momentum None (the cumulative average) with the grouped view: the
    factors ``1 / (updates so far + 1 + s)`` come from the layers'
    ``num_batches_tracked`` on their device when the queued update is
    applied, so neither a layer call nor the update reads a tensor's
    value on the host (``_local_scalar_dense``, what ``int()`` and
    ``.item()`` dispatch: on a GPU a wait for every queued kernel; it was
    one a layer call). Four steps of ``segs`` parts in a block, then a
    call outside any block and a block calling its layers twice: every
    layer's running statistics are bit for bit those of the update with
    the factors as Python numbers (the arithmetic before: the variance
    times its Bessel factor, then ``lerp`` per part from the first
    group's statistics, written out here per layer), and within float32
    rounding of a float64 BatchNorm on each part's first group. What
    still reads: the per-group calls (torch's BatchNorm, one a call that
    updates) and the one call (its batch-norm call takes the factor as a
    number: one a layer call)."""
    from openselfsup.models import GhostBatchNorm2d
    from openselfsup.models import groups
    from openselfsup.models.groups import segments
    calls = []  # (mean, var, input shape) of each grouped call
    apply = groups._GroupedBatchNorm.apply

    def recorded(x, weight, bias, n, eps):
        y, mean, var = apply(x, weight, bias, n, eps)
        calls.append((mean.clone(), var.clone(), x.shape))
        return y, mean, var
    monkeypatch.setattr(groups._GroupedBatchNorm, 'apply', recorded)

    def net(computation):
        return torch.nn.Sequential(*(
            GhostBatchNorm2d(3, group_size=4, momentum=None,
                             computation=computation) for _ in range(3)))
    g = torch.Generator().manual_seed(7)
    model = net('grouped_view')
    seen = [[] for _ in model]  # each layer's batches, with its parts
    for layer, batches in zip(model, seen):
        layer.register_forward_pre_hook(
            lambda m, args, b=batches: b.append(
                (args[0].detach().clone(), m.segments)))
    read = _ops_named('_local_scalar_dense')
    with read:
        for step in range(4):
            x = torch.randn(8 * segs, 3, 5, 4, generator=g) * (1 + step) - 2
            with segments(model, segs):
                model(x)
        model(torch.randn(8, 3, 5, 4, generator=g))  # no block
        with segments(model, segs):  # twice in a block: a flush between
            for _ in range(2):
                model(torch.randn(8 * segs, 3, 5, 4, generator=g) + 1)
    assert read.count == 0
    assert len(calls) == 3 * 7 and calls
    # the arithmetic before, written out: factors as Python floats
    for i, layer in enumerate(model):
        mean, var, done = torch.zeros(3), torch.ones(3), 0
        for (m, v, shape), (_, parts) in zip(calls[i::3], seen[i]):
            count = shape[0] // m.shape[0] * shape[2] * shape[3]
            unbiased = v * (count / (count - 1))
            per_part = m.shape[0] // parts
            for s in range(parts):
                done += 1
                mean = torch.lerp(mean, m[s * per_part], 1.0 / done)
                var = torch.lerp(var, unbiased[s * per_part], 1.0 / done)
        assert torch.equal(layer.running_mean, mean), i
        assert torch.equal(layer.running_var, var), i
        assert int(layer.num_batches_tracked) == done == 6 * segs + 1
        want = _brute_running_stats_parts(seen[i], 4)
        torch.testing.assert_close(layer.running_mean.double(), want[0],
                                   rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(layer.running_var.double(), want[1],
                                   rtol=1e-6, atol=1e-7)
    # what still reads the count on the host
    for computation, reads in (('per_group_calls', 3 * segs),
                               ('one_call', 3)):
        model, read = net(computation), _ops_named('_local_scalar_dense')
        with read, segments(model, segs):
            model(torch.randn(8 * segs, 3, 5, 4, generator=g))
        assert read.count == reads, computation


def _brute_running_stats_parts(batches, group_size):
    """:func:`_brute_running_stats` of ``(batch, parts)`` pairs, each
    batch cut into its own number of parts (momentum None)."""
    mean = torch.zeros(batches[0][0].shape[1], dtype=torch.float64)
    var = torch.ones(batches[0][0].shape[1], dtype=torch.float64)
    done = 0
    for x, parts in batches:
        for part in x.double().chunk(parts):
            first = part[:group_size]
            done += 1
            mean = (1 - 1 / done) * mean + first.mean(dim=(0, 2, 3)) / done
            var = (1 - 1 / done) * var + first.var(dim=(0, 2, 3)) / done
    return mean, var


@pytest.fixture
def materialised_grads(monkeypatch):
    """The grouped view's backward as it was (autograd's default:
    ``ctx.set_materialize_grads`` ignored, so the statistics outputs'
    undefined gradients are materialised as zeros)."""
    monkeypatch.setattr(torch.autograd.function.FunctionCtx,
                        'set_materialize_grads', lambda ctx, value: None)


def _grouped_view_steps(momentum, segs, amp, computation='grouped_view',
                        dtype=None):
    """Two training steps of GhostBN (groups of 4, ``computation``), ReLU,
    GhostBN in a ``segments`` block of ``segs`` parts, float32 or (``amp``)
    under bfloat16 autocast on a bfloat16 input (with a ``dtype``, the
    model in it and no autocast, the input rounded as ``amp`` says):
    the outputs, the input gradients, the parameters' gradients (summed
    over the steps), the state dicts and the op names of the backwards
    (:func:`_ops_named`)."""
    from openselfsup.models import GhostBatchNorm2d
    from openselfsup.models.groups import segments
    g = torch.Generator().manual_seed(8)
    rounded = torch.bfloat16 if amp else torch.float32
    amp, dtype = amp and dtype is None, dtype or torch.float32
    model = torch.nn.Sequential(
        GhostBatchNorm2d(3, group_size=4, momentum=momentum,
                         computation=computation), torch.nn.ReLU(),
        GhostBatchNorm2d(3, group_size=4, momentum=momentum,
                         computation=computation)).to(dtype)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.rand(3, generator=g) + 0.5)
    outs, grads, backward = [], [], _ops_named()
    for step in range(2):
        x = torch.randn(8 * segs, 3, 5, 4, generator=g) * (1 + step) + 2
        grad = torch.randn(x.shape, generator=g)
        x = x.to(rounded)
        x = (x if amp else x.to(dtype)).requires_grad_(True)
        with torch.autocast('cpu', torch.bfloat16, enabled=amp), \
                segments(model, segs):
            out = model(x)
        with backward:
            out.to(dtype).backward(grad.to(dtype))
        outs.append(out.detach())
        grads.append(x.grad)
    return (outs, grads, [p.grad for p in model.parameters()],
            model.state_dict(), backward.names)


@pytest.mark.parametrize('amp', [False, True], ids=['float32', 'bf16'])
@pytest.mark.parametrize('momentum', [0.1, None])
@pytest.mark.parametrize('segs', [1, 2, 3])
def test_grouped_view_backward_makes_no_zeros_and_is_bit_for_bit_as_before(
        segs, momentum, amp, request):
    """The grouped view's backward gets no zeros made by autograd for the
    two statistics outputs (mean and variance, not differentiable, never
    read: ``ctx.set_materialize_grads(False)``; two ``zeros`` ops a layer
    call, 40 of a CLP or FSP step's backward), and everything is bit for
    bit what it was with them (autograd's default): two steps of two
    layers in a block of 1 to 3 parts, a config's momentum and the
    cumulative average, float32 and bfloat16 autocast: outputs, input and
    parameter gradients, running statistics and counts; and within the
    dtype's rounding (relative in norm: 1e-5, bfloat16 3e-2) of the same
    steps in float64 with the per-group calls on the same rounded input
    (the published per-GPU BN,
    :func:`test_ghost_bn_paths_against_float64_reference`'s reference)."""
    outs, grads, params, state, names = _grouped_view_steps(
        momentum, segs, amp)
    assert names['zeros'] == 0, names
    request.getfixturevalue('materialised_grads')
    before = _grouped_view_steps(momentum, segs, amp)
    assert before[4]['zeros'] == 2 * 2 * 2  # two layer calls, two steps
    for a, b in zip((*outs, *grads, *params), (*before[0], *before[1],
                                                *before[2])):
        assert a.dtype == b.dtype and torch.equal(a, b)
    assert state.keys() == before[3].keys()
    for k, v in state.items():
        assert torch.equal(v, before[3][k]), k
    ref = _grouped_view_steps(momentum, segs, amp, 'per_group_calls',
                              torch.float64)
    # bfloat16: the first layer's weight gradient, a sum over 80 values a
    # group of the second layer's bfloat16 input gradient, was 1.6e-2
    tol = 3e-2 if amp else 1e-5
    for a, b in zip((*outs, *grads, *params, *state.values()),
                    (*ref[0], *ref[1], *ref[2], *ref[3].values())):
        assert _rel_err(a, b.double()) < tol


def test_grouped_view_backward_through_part_of_the_outputs(request):
    """The grouped view's Function (``_GroupedBatchNorm``) differentiated
    through part of its outputs: the output alone (the statistics unused,
    their gradients None), the output beside the statistics in the loss
    (not differentiable: no gradient), a slice of the output, only the
    input's or only the weight's gradient asked for, and the output's own
    gradient undefined (a later op gives none: zeros, as autograd
    materialised them before, so the weight and bias get zero gradients,
    not None). The gradients are bit for bit those with autograd's zeros
    (the backward as it was) and within float32 rounding of float64 batch
    norm per group (zero where the output gets no gradient)."""
    from openselfsup.models.groups import _GroupedBatchNorm

    class NoGradient(torch.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            return t * 2

        @staticmethod
        def backward(ctx, grad):
            return None
    g = torch.Generator().manual_seed(9)
    x0 = torch.randn(12, 3, 5, 4, generator=g) * 2 + 1
    w0, b0 = torch.rand(3, generator=g) + 0.5, torch.randn(3, generator=g)
    mix = torch.randn(x0.shape, generator=g)  # the loss's weights
    losses = {
        'output': lambda y, mean, var: (y * mix.to(y.dtype)).sum(),
        'with statistics': lambda y, mean, var: (y * mix.to(y.dtype)).sum()
        + mean.sum() + var.sum(),
        'slice': lambda y, mean, var: (y[2:7] * mix[2:7].to(y.dtype)).sum(),
        'no output gradient': lambda y, mean, var:
        NoGradient.apply(y).sum()}

    def grads(loss, wrt, dtype=torch.float32, reference=False):
        x, w, b = (t.to(dtype).requires_grad_(True) for t in (x0, w0, b0))
        if reference:  # batch norm of each group of 4, written out
            y = torch.cat([F.batch_norm(p, None, None, w, b, True, 0.0, 1e-5)
                           for p in x.chunk(3)])
            mean = var = torch.zeros(())
        else:
            y, mean, var = _GroupedBatchNorm.apply(x, w, b, 3, 1e-5)
            assert not (mean.requires_grad or var.requires_grad)
        inputs = [t for t, on in zip((x, w, b), wrt) if on]
        got = torch.autograd.grad(loss(y, mean, var), inputs,
                                  allow_unused=True)
        if reference:  # batch norm's backward gives None for no gradient
            return [torch.zeros_like(t) if d is None else d
                    for t, d in zip(inputs, got)]
        assert all(t is not None for t in got)
        return got
    cases = [(name, wrt) for name in losses for wrt in (
        (True, True, True), (True, False, False), (False, True, False))]
    new = {c: grads(losses[c[0]], c[1]) for c in cases}
    request.getfixturevalue('materialised_grads')
    for (name, wrt), got in new.items():
        before = grads(losses[name], wrt)
        want = grads(losses[name], wrt, torch.float64, reference=True)
        for a, b, r in zip(got, before, want):
            assert torch.equal(a, b), name
            if name == 'no output gradient':
                assert not r.any() and not a.any(), name
            else:
                assert _rel_err(a, r) < 1e-5, (name, wrt)


#: ops that only make views (no kernel on a GPU) and autograd's
#: ``detach`` of a leaf's accumulated gradient
_VIEWS = frozenset(('unsqueeze', 'view', 'detach', 'select', 'slice',
                    'expand'))


@pytest.mark.parametrize('dtype', [torch.float32, torch.bfloat16])
def test_grouped_view_backward_ops(dtype):
    """The ops of the grouped view's Function (``_GroupedBatchNorm``), one
    call, forward and backward, by name (float32 input, and bfloat16 with
    float32 weight and bias, as bfloat16 autocast gives the layer; the
    input, weight and bias each a leaf; views without a kernel on a GPU
    not counted), counted on the CPU. Backward: the closed form's sums of
    the gradient and of the gradient times the centred input, ``b`` and
    ``c`` in 5 small ops (``k = -scale / m``: ``b = k rstd Sxh``, ``c =
    k (S1 - mean rstd Sxh)``; 6 before h323), a multiply-add per term of
    ``dx``; a float32 input centred on its mean itself, a bfloat16 one on
    the forward's rounded mean (no correction of a zero in float32, no
    rounding made again in bfloat16); a float32 ``dx`` the multiply-add's
    own result, no ``empty_like`` for it (a bfloat16 one is written into
    one: the cast in the same kernel; the output, in every dtype, as a
    view may not be modified in place): 14 and 16 ops
    (h296: 18 and 19; no ``zeros``, autograd made two a call before
    ``set_materialize_grads(False)``). Forward: the statistics (float32:
    ``var_mean``; bfloat16: the float32 mean, its rounding and the
    ``var_mean`` of the input less it, 6 ops where the mean square less
    the rounding squared took 12), scale, shift, the output's
    multiply-add: 7 and 12 ops (before h323 8 and 19, ``promote_types``
    a dispatched op of its own). ``dx`` is laid out as the input,
    contiguous and channels-last (the float32 one is the multiply-add's
    own result: torch orders its dimensions as its inputs')."""
    from openselfsup.models.groups import _GroupedBatchNorm
    g = torch.Generator().manual_seed(10)
    x = torch.randn(8, 3, 5, 4, generator=g).to(dtype).requires_grad_(True)
    w = (torch.rand(3, generator=g) + 0.5).requires_grad_(True)
    b = torch.randn(3, generator=g).requires_grad_(True)
    grad = torch.randn(x.shape, generator=g).to(dtype)
    forward, backward = _ops_named(), _ops_named()
    with forward:
        out = _GroupedBatchNorm.apply(x, w, b, 2, 1e-5)[0]
    with backward:
        out.backward(grad)

    # dx as the backward made it (autograd.grad: no copy into the leaf's
    # layout, which .grad's accumulation would make), laid out as x
    for fmt in (torch.contiguous_format, torch.channels_last):
        xf = x.detach().contiguous(memory_format=fmt).requires_grad_(True)
        dx, = torch.autograd.grad(_GroupedBatchNorm.apply(
            xf, w, b, 2, 1e-5)[0], xf, grad)
        assert dx.dtype == dtype and dx.stride() == xf.stride(), fmt

    def kernels(count):
        return {k: v for k, v in count.names.items() if k not in _VIEWS}
    common = {'add': 1, 'rsqrt_': 1, 'mul': 1, 'addcmul': 2,
              'var_mean': 1, 'empty_like': 1}
    low = {} if dtype == torch.float32 else {'empty_like': 1}
    assert kernels(forward) == (common if dtype == torch.float32 else dict(
        common, mean=1, _to_copy=2, sub=2)), forward.names
    assert kernels(backward) == {
        'sum': 4, 'sub': 1, 'mul_': 4, 'mul': 2, 'addcmul': 2,
        'addcmul_': 1 if dtype == torch.float32 else 2, **low}, \
        backward.names


def _fsp_model(computation, group_size=8, momentum=0.1):
    """The FSP recipe's model (widths / 8, GhostBN groups of
    ``group_size``, its ``computation`` and ``momentum``), initialised
    from seed 0, in training mode."""
    from openselfsup.registry import MODELS
    _, m = _narrow(FSP)
    m.backbone.norm_cfg.update(group_size=group_size,
                               computation=computation, momentum=momentum)
    m.head.in_channels = 64
    torch.manual_seed(0)
    model = MODELS.build(m)
    model.init_weights()
    return model.train()


@pytest.mark.parametrize('computation', COMPUTATIONS)
def test_fsp_training_forward_updates_running_stats_together(computation):
    """FSP's training forward (``ImageClassifier.loss``, this project's
    subclass of mmpretrain's) runs its backbone in a one-part
    ``segments`` block: with GhostBN's one call and grouped view the
    running statistics of all 20 layers are updated together when it ends,
    2 foreach ops (one call) or 3 (grouped view) for the backbone where
    each layer call made its own (40 and 60); with the per-group calls,
    which update theirs in the call, it opens none (a computation set on
    a layer later is seen after the next ``train()``). Two steps give the
    losses and every
    buffer of mmpretrain's own ``loss`` (each layer's update at once) bit
    for bit, and running statistics within float32 rounding of a float64
    BatchNorm called on each layer's first group of 8 (the layer's input
    as the forward gave it). Prediction, the tensor mode and
    ``extract_feat`` open no block (feature extraction is untouched)."""
    from mmpretrain.models import ImageClassifier as Theirs
    from mmpretrain.structures import DataSample

    from openselfsup.models import GhostBatchNorm2d
    from openselfsup.models.algorithms import ImageClassifier
    mine, theirs = _fsp_model(computation), _fsp_model(computation)
    assert type(mine) is ImageClassifier
    layers = [m for m in mine.backbone.modules()
              if isinstance(m, GhostBatchNorm2d)]
    assert len(layers) == 20
    seen, blocked = [[] for _ in layers], []
    def record(m, args, inputs):
        inputs.append(args[0].detach().clone())
        blocked.append(m._pending is not None)
    for layer, inputs in zip(layers, seen):
        layer.register_forward_pre_hook(
            lambda m, args, inputs=inputs: record(m, args, inputs))
    g = torch.Generator().manual_seed(6)
    samples = [DataSample().set_gt_label(i % 9) for i in range(32)]
    for step in range(2):
        x = torch.randn(32, 3, 32, 32, generator=g) * (1 + step) + step
        foreach = _ops_named('_foreach')
        with foreach:
            got = mine.loss(x, samples)['loss']
        want = Theirs.loss(theirs, x, samples)['loss']
        assert torch.equal(got, want), step
        assert foreach.count == {'per_group_calls': 0, 'one_call': 2,
                                 'grouped_view': 3}[computation], \
            foreach.count
    queues = computation != 'per_group_calls'
    assert blocked == [queues] * 40
    ref = theirs.state_dict()
    for k, v in mine.state_dict().items():
        assert torch.equal(v, ref[k]), k
    for layer, inputs in zip(layers, seen):
        mean, var = _brute_running_stats(inputs, 1, 8, 0.1)
        torch.testing.assert_close(layer.running_mean.double(), mean,
                                   rtol=1e-6, atol=1e-7)
        torch.testing.assert_close(layer.running_var.double(), var,
                                   rtol=1e-6, atol=1e-7)
        assert int(layer.num_batches_tracked) == 2
    # the other ways through the model: no block
    blocked.clear()
    mine.predict(x, samples)
    mine(x, mode='tensor')
    mine.extract_feat(x)
    with torch.no_grad():
        mine.extract_feat(x)
    mine.eval()
    mine.extract_feat(x)
    assert blocked == [False] * 100
    # another computation set later: seen after the next train()
    for m in layers:
        m.computation = COMPUTATIONS[0] if queues else 'grouped_view'
    blocked.clear()
    mine.train()
    mine.loss(x, samples)
    assert blocked == [not queues] * 20


@pytest.mark.parametrize('path', [CLP, FSP])
def test_recipes_ghost_bn_makes_one_batch_norm_call_per_group(
        path, monkeypatch):
    """The recipes' GhostBN (``norm_cfg`` without ``per_group_calls`` or
    ``computation``) normalises by default with one batch-norm call per
    group, the published per-GPU BN written out (the one call for all
    groups is slower on a GPU: benchmarks/RESULTS.md, "GPU: one H100,
    2026-12-06"; the grouped view is opt-in, not measured on a GPU):
    as many calls as groups, and the output of a brute-force loop of
    F.batch_norm over the groups bit for bit."""
    from openselfsup.registry import MODELS
    norm_cfg = copy.deepcopy(Config.fromfile(path).model.backbone.norm_cfg)
    assert not {'per_group_calls', 'computation'} & norm_cfg.keys()
    size = norm_cfg['group_size']
    bn = MODELS.build(dict(norm_cfg, num_features=3))
    g = torch.Generator().manual_seed(2)
    x = torch.randn(3 * size, 3, 4, 4, generator=g) * 2 + 1
    calls = []
    batch_norm = F.batch_norm

    def counted(*args, **kwargs):
        calls.append(args[0].shape[0])
        return batch_norm(*args, **kwargs)
    monkeypatch.setattr(F, 'batch_norm', counted)
    out = bn(x)
    assert calls == [size] * 3
    want = torch.cat([batch_norm(part, None, None, bn.weight, bn.bias, True,
                                 0.0, bn.eps) for part in x.chunk(3)])
    assert torch.equal(out, want)


def test_ghost_bn_computation_is_chosen_by_either_switch():
    """``norm_cfg.computation`` picks one of the three computations; the
    older ``per_group_calls`` True / False is 'per_group_calls' /
    'one_call' (as an argument and as an attribute set later, as
    ``bench_pretrain`` sets it); a computation not among them (given or
    set later as an attribute), a
    ``per_group_calls`` that is not a bool (``'False'`` was true, the
    per-group calls) or the two disagreeing are refused in one line
    (InputError) when the model is built."""
    from openselfsup.registry import MODELS
    from openselfsup.utils import InputError

    def build(**kwargs):
        return MODELS.build(dict(type='GhostBN', num_features=3,
                                 group_size=4, **kwargs))
    assert build().computation == 'per_group_calls'
    assert build(per_group_calls=False).computation == 'one_call'
    assert build(per_group_calls=True).per_group_calls is True
    for c in COMPUTATIONS:
        bn = build(computation=c)
        assert bn.computation == c
        assert bn.per_group_calls is (c == 'per_group_calls')
        assert ("computation='grouped_view'" in repr(bn)) is (
            c == 'grouped_view')
    assert build(per_group_calls=False,
                 computation='one_call').computation == 'one_call'
    bn.per_group_calls = False
    assert bn.computation == 'one_call'
    bn.per_group_calls = True
    assert bn.computation == 'per_group_calls'
    for kwargs, line in (
            (dict(computation='fused'), "GhostBN: norm_cfg.computation="
             "'fused': use one of 'per_group_calls', 'one_call', "
             "'grouped_view'"),
            (dict(computation=None, per_group_calls='False'),
             "GhostBN: norm_cfg.per_group_calls='False': use True or False "
             "(or norm_cfg.computation)"),
            (dict(per_group_calls=False, computation='grouped_view'),
             "GhostBN: norm_cfg.per_group_calls=False ('one_call') and "
             "norm_cfg.computation='grouped_view' disagree: give "
             "norm_cfg.computation alone")):
        with pytest.raises(InputError) as err:
            build(**kwargs)
        assert str(err.value) == line
    with pytest.raises(InputError, match='per_group_calls=1'):
        bn.per_group_calls = 1
    # set as an attribute (bench_pretrain's way): a value not among them
    # is refused too (it ran the grouped view, silently), the setting kept
    bn.computation = 'grouped_view'
    with pytest.raises(InputError) as err:
        bn.computation = 'one-call'
    assert str(err.value) == ("GhostBN: norm_cfg.computation='one-call': use "
                              "one of 'per_group_calls', 'one_call', "
                              "'grouped_view'")
    assert bn.computation == 'grouped_view'


@pytest.mark.parametrize('old', [
    dict(per_group_calls=True), dict(per_group_calls=False), {},
    dict(computation='grouped_view')])
def test_ghost_bn_pickled_before_loads(old):
    """A GhostBN pickled by an older class (``torch.save`` of a model,
    a deep copy): its state held ``per_group_calls`` (a plain attribute
    before ``computation``), nothing (before either) or ``computation``
    (a plain attribute before it was checked when set). It loads as the
    layer built with that argument: the same repr and, in training over
    two groups, the same output (repr and forward raised AttributeError,
    no ``computation``)."""
    import pickle
    from openselfsup.models import GhostBatchNorm2d
    want = GhostBatchNorm2d(3, group_size=2, **old)
    with torch.no_grad():
        want.weight.uniform_(0.5, 2)
        want.bias.uniform_(-1, 1)
    state = {k: v for k, v in want.__getstate__().items()
             if 'computation' not in k}
    state.update(old)
    layer = GhostBatchNorm2d.__new__(GhostBatchNorm2d)
    layer.__setstate__(state)
    got = pickle.loads(pickle.dumps(layer))
    assert repr(got) == repr(want)
    assert got.computation == want.computation
    x = torch.randn(4, 3, 5, 5)
    assert torch.equal(got(x), want(x))
    assert torch.equal(got.running_var, want.running_var)


def _rel_err(got, want):
    """Relative error in norm of ``got`` against the float64 ``want``."""
    return float((got.double() - want).norm() / want.norm())


@pytest.mark.parametrize('device', [
    'cpu', pytest.param('cuda', marks=pytest.mark.skipif(
        not torch.cuda.is_available(), reason='needs CUDA'))])
@pytest.mark.parametrize('dtype', ['float32', 'bf16'])
@pytest.mark.parametrize('layout, views, momentum, mean', [
    ('channels_last', 1, 0.1, 1), ('contiguous', 2, None, 1),
    ('channels_last', 2, 0.1, 20), ('contiguous', 1, 0.1, 200),
    ('channels_last', 2, 0.1, 600)])
def test_ghost_bn_paths_against_float64_reference(device, dtype, layout,
                                                  views, momentum, mean):
    """Every GhostBN computation (one call per group, the default; the
    one call for all groups; the grouped view) at the CLP recipe's shape
    (256 images of 64 x 14 x 14 channels, groups of 32), channels-last or
    contiguous, as one batch or as two views in a ``segments`` block (the
    running statistics updated from each view's first group, in order),
    with a config's momentum or the cumulative average (momentum None),
    inputs of standard deviation 2 and mean 1, 20, 200 or 600 (where sums
    of uncentred low-precision values lose precision: the grouped view's
    bfloat16 weight gradient was 1.5e-2 from the reference at mean 20
    before it centred the input in the backward, its mean rounded to
    bfloat16 would be 2e-2; its bfloat16 variance, the mean square less
    the square mean in float32, put the output 5e-2 from the reference at
    mean / std 100 and made the variance negative at 300, clamped to 0,
    the output divided by sqrt(eps)), in float32 and under bfloat16
    autocast on a bfloat16 input: output,
    input gradient, weight and bias gradients and the running statistics,
    each within the dtype's rounding of a float64 reference (F.batch_norm
    per group on the same rounded input), in relative norm: 1e-5 in
    float32 (this CPU: up to 1.6e-6, the weight and bias gradients of the
    one call; an H100: up to 1.6e-7), scaled by mean / std / 10 past 10
    (at 300 every path's output 8e-6, the per-group calls' channels-last
    1.1e-4 and their weight gradient 1.9e-4: float32 terms |mean| / std
    times the output), 1e-2 in bfloat16 (sums over 6,272
    values per channel and group in bfloat16: the paths differ from each
    other by about as much as from the reference, an H100 gave weight
    gradients 2.2e-3 and 4.2e-3 from it, so the paths are compared with
    each other only in float32, within the same 1e-5). The output keeps
    the input's memory format and dtype. On a GPU no step waits for the
    device (but with momentum None in the per-group calls, where torch's
    BatchNorm reads its count of updates on the host, and in the one call,
    whose batch-norm call takes the factor as a number; the grouped view
    computes it on the device)."""
    from openselfsup.models import GhostBatchNorm2d
    from openselfsup.models.groups import segments
    cuda, amp = device == 'cuda', dtype == 'bf16'
    fmt = getattr(torch, layout if layout == 'channels_last' else
                  'contiguous_format')
    g = torch.Generator(device=device).manual_seed(0)
    x0 = (torch.randn(256, 64, 14, 14, generator=g, device=device) * 2
          + mean).contiguous(memory_format=fmt)
    if amp:  # the input as the layer gets it under autocast
        x0 = x0.to(torch.bfloat16)
    grad = torch.randn(256, 64, 14, 14, generator=g, device=device)
    weight = torch.rand(64, generator=g, device=device) + 0.5
    bias = torch.randn(64, generator=g, device=device)
    # the float64 reference: the published per-GPU BN, one plain call per
    # group of the same rounded input; the running statistics updated
    # from each view's first group in turn
    xr = x0.double().requires_grad_(True)
    wr = weight.double().requires_grad_(True)
    br = bias.double().requires_grad_(True)
    ref = torch.cat([F.batch_norm(part, None, None, wr, br, True, 0.0,
                                  1e-5) for part in xr.chunk(8)])
    ref.backward(grad.double())
    run_mean = torch.zeros(64, dtype=torch.float64, device=device)
    run_var = torch.ones(64, dtype=torch.float64, device=device)
    for v in range(views):
        first = x0[v * 256 // views:][:32].double()
        f = 1.0 / (v + 1) if momentum is None else momentum
        run_mean = (1 - f) * run_mean + f * first.mean(dim=(0, 2, 3))
        run_var = (1 - f) * run_var + f * first.var(dim=(0, 2, 3))
    want = (ref.detach(), xr.grad, wr.grad, br.grad, run_mean, run_var)
    # float32: 1e-5, times mean / std / 10 past 10 (the multiply-add's
    # terms are |mean| / std times the output, and torch's own CPU batch
    # norm, channels-last, is 1.9e-4 from the reference at 300)
    tol = 1e-2 if amp else 1e-5 * max(1, mean / 2 / 10)
    names = ('out', 'x.grad', 'weight.grad', 'bias.grad', 'running_mean',
             'running_var')
    outs = []
    for computation in COMPUTATIONS:
        no_sync = cuda and (momentum is not None
                            or computation == 'grouped_view')
        bn = GhostBatchNorm2d(64, group_size=32, momentum=momentum,
                              computation=computation).to(device)
        with torch.no_grad():
            bn.weight.copy_(weight)
            bn.bias.copy_(bias)
        if cuda:  # warm-up on another layer, outside the sync check
            warm = copy.deepcopy(bn)
            with torch.autocast('cuda', torch.bfloat16, enabled=amp), \
                    segments(warm, views):
                warm(x0.clone().requires_grad_(True)).float().backward(grad)
            torch.cuda.synchronize()
            if no_sync:
                torch.cuda.set_sync_debug_mode('error')
        x = x0.clone().requires_grad_(True)
        try:
            with torch.autocast(device, torch.bfloat16, enabled=amp), \
                    segments(bn, views):
                out = bn(x)
            out.float().backward(grad)
        finally:
            if no_sync:
                torch.cuda.set_sync_debug_mode(0)
        assert out.dtype == x0.dtype and out.is_contiguous(
            memory_format=fmt), computation
        assert int(bn.num_batches_tracked) == views
        got = (out.float(), x.grad.float(), bn.weight.grad, bn.bias.grad,
               bn.running_mean, bn.running_var)
        for name, a, b in zip(names, got, want):
            err = _rel_err(a.detach(), b.detach())
            assert err < tol, (f'{computation} {dtype} {layout} {views} '
                               f'views {name}: relative error {err:.2e} '
                               f'>= {tol}')
        outs.append(got)
    if not amp:  # the paths: the same up to float32 rounding
        for other, got in zip(COMPUTATIONS[1:], outs[1:]):
            for name, a, b in zip(names, got, outs[0]):
                err = _rel_err(a.detach(), b.detach().double())
                assert err < tol, f'{other} vs per-group {name}: {err:.2e}'


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_grouped_view_low_precision_variance_at_every_mean_to_std(dtype):
    """The grouped view's variance of a bfloat16 or float16 input (as
    bfloat16 autocast gives the layer; float32 weights), at mean / std
    from 0.01 to 1000 (a log grid and 0.5, means of both signs): the
    running variance, the output and the input gradient against a float64
    reference (batch norm per group of 32 images, 6,272 values a channel,
    on the same rounded input), in relative norm
    (``benchmarks.grad_precision.ghost_bn_variance_errors``, which
    ``--ghost-bn-variance`` prints). Its variance around the mean rounded
    to the input's dtype, ``x - low`` in that dtype, was biased where
    |mean| is near the std (the temporary rounded for values more than a
    factor 2 from the mean): bfloat16 6.6e-4 at 0.5, float16 7.6e-5
    (this CPU); around 0 (mean square less square mean, in float32) it
    was 1.2e-1 at 100 and negative at 300; the mean square of the
    float32 temporary less the rounding squared (h292) was up to 4.0e-5
    off (float32 sums of 6,272 squares; bfloat16 2.3e-6 at 0.01). The
    bound: 1e-6 at every ratio (``var_mean`` of the temporary, h323;
    this CPU: 4.5e-8 to 6.8e-8); the output and input gradient within
    the dtype's rounding (bfloat16 1.7e-3 and 2.4e-3, float16 2.1e-4
    and 2.9e-4)."""
    from benchmarks.grad_precision import ghost_bn_variance_errors
    errs = ghost_bn_variance_errors(dtype)
    assert 0.5 in errs and min(errs) == 0.01 and max(errs) == 1000
    bounds = dict(out=2.5e-3, dx=3.5e-3) if dtype == torch.bfloat16 else \
        dict(out=3e-4, dx=4e-4)
    for ratio, e in errs.items():
        assert e['dtype'] == str(dtype)
        for name in ('running_var', 'out', 'dx'):
            bound = bounds.get(name, 1e-6)
            assert e[name] < bound, (
                f'{dtype} mean / std {ratio:.3g} {name}: relative error '
                f'{e[name]:.2e} >= {bound}')


def _narrow(path):
    """A recipe's config and its model section with the ResNet-18 at base
    width 8 (64 channels out of the last stage, for the neck or head)."""
    cfg = Config.fromfile(path)
    cfg.model.backbone.update(base_channels=8, stem_channels=8)
    return cfg, cfg.model

def _clp_model():
    from openselfsup.registry import MODELS
    cfg = Config.fromfile(CLP)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return cfg, model


def test_clp_optimizer_holds_published_settings():
    """LARS lr 0.3, wd 1.5e-6, momentum 0.9, eta 0.001 over every trainable
    parameter, BatchNorm and biases included, none excluded from LARS."""
    from mmengine.optim import build_optim_wrapper

    from openselfsup.engine import OpenSelfSupLARS
    cfg, model = _clp_model()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    opt = wrapper.optimizer
    assert type(opt) is OpenSelfSupLARS
    in_opt = {id(p): grp for grp in opt.param_groups for p in grp['params']}
    trainable = [(n, p) for n, p in model.named_parameters()
                 if p.requires_grad]
    names = [n for n, _ in trainable]
    # the kinds of parameter the mmpretrain recipe treated apart are here
    assert any('.bn' in n and n.endswith('.bias') for n in names)
    assert any(n.startswith('head.predictor.bn1') for n in names)
    assert any(n.startswith('neck.bn2') for n in names)
    for name, p in trainable:
        grp = in_opt[id(p)]
        assert grp['lr'] == 0.3 and grp['weight_decay'] == 1.5e-6, name
        assert grp['momentum'] == 0.9 and grp['eta'] == 0.001, name
        assert not grp.get('lars_exclude', False), name
        assert not grp['nesterov'] and grp['dampening'] == 0
    # the momentum encoder is not trained by the optimiser
    assert all(not p.requires_grad
               for p in model.momentum_encoder.parameters())


def test_fsp_optimizer_and_init_hold_published_settings():
    from mmengine.optim import build_optim_wrapper

    from openselfsup.registry import MODELS
    cfg = Config.fromfile(FSP)
    model = MODELS.build(cfg.model)
    model.init_weights()
    opt = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    assert type(opt) is torch.optim.SGD
    params = {id(p) for grp in opt.param_groups for p in grp['params']}
    assert params == {id(p) for p in model.parameters()}
    for grp in opt.param_groups:
        assert (grp['lr'], grp['momentum'], grp['weight_decay']) == (0.5, 0.9,
                                                                     0.0)
        assert not grp['nesterov'] and grp['dampening'] == 0
    assert cfg.total_batch_size == 512
    assert [s.milestones for s in cfg.param_scheduler] == [[30, 60, 90]]
    # no zero-initialised residual BatchNorm: every BN weight starts at 1
    for name, m in model.backbone.named_modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0), name
    # Kaiming normal, fan_in: std sqrt(2 / fan_in) (3 x 3 x 256 inputs)
    w = model.backbone.layer4[0].conv2.weight.detach()
    assert float(w.std()) == pytest.approx(math.sqrt(2 / (512 * 9)),
                                           rel=0.02)
    assert float(model.head.fc.weight.detach().std()) == pytest.approx(
        0.01, rel=0.1)


def test_clp_model_structure_and_init_as_published():
    _, model = _clp_model()
    # PyTorch's default conv init (the published MOCOv3 never initialises):
    # uniform with bound 1 / sqrt(fan_in), std 1 / sqrt(3 fan_in)
    w = model.backbone.layer4[0].conv2.weight.detach()
    assert float(w.std()) == pytest.approx(1 / math.sqrt(3 * 512 * 9),
                                           rel=0.02)
    assert float(w.abs().max()) <= 1 / math.sqrt(512 * 9) * (1 + 1e-6)
    for name, m in model.backbone.named_modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            assert torch.all(m.weight == 1), name
            assert getattr(m, 'group_size', None) == 32, name
    # projector and predictor end in an affine BatchNorm
    assert model.neck.bn2.affine and model.neck.bn2.num_features == 256
    assert model.head.predictor.bn1.affine
    assert model.head.predictor.bn1.num_features == 256
    assert model.head.group_size == 32


def _published_lars_numpy(params, grads, bufs, lr, wd, momentum, eta):
    """The published OpenSelfSup LARS step, float64, one tensor at a time."""
    new = []
    for i, (p, g) in enumerate(zip(params, grads)):
        wn, gn = np.linalg.norm(p), np.linalg.norm(g)
        local = eta * wn / (gn + wd * wn)
        d = (g + wd * p) * (local * lr)
        bufs[i] = d.copy() if bufs[i] is None else momentum * bufs[i] + d
        new.append(p - bufs[i])
    return new


def test_lars_step_is_the_published_formula():
    """Three steps of OpenSelfSupLARS on a weight, a zero-initialised shift
    and a frozen parameter against the published update by hand: the shift
    never moves; mmpretrain's LARS would move it."""
    from mmpretrain.engine.optimizers import LARS

    from openselfsup.engine import OpenSelfSupLARS
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(4, 3))
    b0 = np.zeros(3)
    grads = [[rng.normal(size=(4, 3)), rng.normal(size=3)] for _ in range(3)]
    w = torch.tensor(w0, requires_grad=True)
    b = torch.tensor(b0, requires_grad=True)
    frozen = torch.ones(2, requires_grad=True)
    opt = OpenSelfSupLARS([w, b, frozen], lr=0.3, weight_decay=1.5e-6,
                          momentum=0.9)
    ref, bufs = [w0, b0], [None, None]
    for gw, gb in grads:
        w.grad, b.grad = torch.tensor(gw), torch.tensor(gb)
        opt.step()
        ref = _published_lars_numpy(ref, [gw, gb], bufs, 0.3, 1.5e-6, 0.9,
                                    0.001)
        np.testing.assert_allclose(w.detach().numpy(), ref[0], rtol=1e-12)
    assert torch.all(b == 0)
    assert torch.all(frozen == 1)
    assert not np.allclose(w.detach().numpy(), w0)

    b2 = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    other = LARS([b2], lr=0.3, weight_decay=1.5e-6, momentum=0.9)
    b2.grad = torch.tensor(grads[0][1])
    other.step()
    assert not torch.all(b2 == 0)


def test_lars_exclude_group_gets_plain_momentum_sgd():
    from openselfsup.engine import OpenSelfSupLARS
    p = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    opt = OpenSelfSupLARS([dict(params=[p], lars_exclude=True)], lr=0.1,
                          weight_decay=0.0, momentum=0.9)
    for g in ([0.5, 1.0], [0.25, -1.0]):
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    # buf1 = 0.1 g1; buf2 = 0.9 buf1 + 0.1 g2; p = p0 - buf1 - buf2
    g1, g2 = np.array([0.5, 1.0]), np.array([0.25, -1.0])
    want = np.array([1.0, -2.0]) - 0.1 * g1 - (0.09 * g1 + 0.1 * g2)
    np.testing.assert_allclose(p.detach().numpy(), want, rtol=1e-12)


def test_clp_learning_rate_is_a_per_epoch_cosine():
    """mmcv's CosineAnnealing (by_epoch, min_lr 0) as published: the rate
    changes once per epoch, lr_e = 0.3 (1 + cos(pi e / 200)) / 2."""
    from mmengine.optim.scheduler import CosineAnnealingLR

    cfg = Config.fromfile(CLP)
    (sched_cfg, ) = cfg.param_scheduler
    assert sched_cfg.by_epoch and not sched_cfg.get('convert_to_iter_based')
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.3)
    kw = {k: v for k, v in sched_cfg.items() if k != 'type'}
    sched = CosineAnnealingLR(opt, **kw)
    for epoch in range(200):
        want = 0.3 * (1 + math.cos(math.pi * epoch / 200)) / 2
        assert opt.param_groups[0]['lr'] == pytest.approx(want, abs=1e-12)
        opt.step()
        sched.step()


def test_mocov3_refuses_one_view():
    """A pipeline of one view (``MultiView`` ``num_views=1``) stopped the
    first step on mmpretrain's ``IndexError: list index out of range``
    traceback; one line now, on both paths (one pass and the loop)."""
    from mmengine.logging import MessageHub

    from openselfsup.registry import MODELS
    from openselfsup.utils import InputError
    init_default_scope('openselfsup')
    MessageHub.get_current_instance().update_info('max_iters', 10)
    _, m = _narrow(CLP)
    m.neck.in_channels = 64
    model = MODELS.build(m).train()
    view = [torch.randn(32, 3, 32, 32)]
    for one_pass in (True, False):
        model.views_in_one_pass = one_pass
        with pytest.raises(InputError, match=re.escape(
                'MoCoV3 takes two views of each image, got 1 (the MultiView '
                'num_views of train_dataloader.dataset.pipeline')):
            model.loss(view, [])


@pytest.mark.parametrize('computation', COMPUTATIONS)
def test_mocov3_views_in_one_pass_equal_mmpretrains_loop(computation):
    """The CLP model (ResNet widths / 8, 2 x 32-image groups per view)
    with both views through each backbone in one pass gives mmpretrain's
    per-view loop: loss, every gradient, and every buffer of both encoders
    (BN running statistics and counts, the momentum encoder's copies and
    its own updates) over three steps with an optimiser step between them
    (so the momentum encoder drifts from the query encoder), in float64;
    three views: the first two, as mmpretrain; the loop wherever one pass
    would not be the same."""

    from mmengine.logging import MessageHub

    from openselfsup.registry import MODELS
    init_default_scope('openselfsup')
    MessageHub.get_current_instance().update_info('max_iters', 10)
    cfg, m = _narrow(CLP)
    m.backbone.norm_cfg['computation'] = computation
    m.neck.in_channels = 64
    torch.manual_seed(0)
    ours = MODELS.build(m).double().train()
    theirs = copy.deepcopy(ours)
    theirs.views_in_one_pass = False
    assert ours.one_pass() and not theirs.one_pass()
    opts = [torch.optim.SGD(x.parameters(), lr=0.5) for x in (ours, theirs)]
    g = torch.Generator().manual_seed(0)
    for step in range(3):
        views = [torch.randn(64, 3, 32, 32, generator=g, dtype=torch.float64)
                 for _ in range(3 if step == 2 else 2)]
        got, want = ours.loss(views, []), theirs.loss(views, [])
        torch.testing.assert_close(got['loss'], want['loss'], rtol=1e-10,
                                   atol=1e-12)
        got['loss'].backward()
        want['loss'].backward()
        a, b = dict(ours.named_parameters()), dict(theirs.named_parameters())
        for k in b:
            torch.testing.assert_close(a[k].grad, b[k].grad, rtol=1e-8,
                                       atol=1e-10, msg=k)
        for opt in opts:
            opt.step()
            opt.zero_grad()
    a, b = dict(ours.named_buffers()), dict(theirs.named_buffers())
    assert a.keys() == b.keys()
    for k in b:
        torch.testing.assert_close(a[k], b[k], rtol=1e-9, atol=1e-11,
                                   msg=k)
    assert int(a['backbone.bn1.num_batches_tracked']) == 6  # 2 per step
    a, b = dict(ours.named_parameters()), dict(theirs.named_parameters())
    for k in b:
        torch.testing.assert_close(a[k], b[k], rtol=1e-9, atol=1e-11, msg=k)

    # where one pass would differ: mmpretrain's loop
    def variant(path, module):
        other = copy.deepcopy(ours)
        assert other.one_pass()
        *owner, last = path.split('.')
        setattr(other.get_submodule('.'.join(owner)), last, module)
        assert other.one_pass()  # checked once per train() call
        return other.train().one_pass()

    class BatchRenorm2d(torch.nn.BatchNorm2d):  # batch statistics
        pass

    class Unknown(torch.nn.Module):  # a layer with state, not known
        def __init__(self):
            super().__init__()
            self.register_buffer('seen', torch.zeros(8))

        def forward(self, x):
            return x
    assert variant('backbone.layer1.0.bn1', torch.nn.BatchNorm2d(8)) is False
    assert variant('momentum_encoder.module.0.bn1',
                   torch.nn.SyncBatchNorm(8)) is False
    assert variant('backbone.layer1.0.bn1', BatchRenorm2d(8)) is False
    assert variant('backbone.layer1.0.relu', Unknown()) is False
    assert variant('backbone.layer1.0.relu', torch.nn.GroupNorm(2, 8)) \
        is True  # per sample
    # one GhostBN at two places: one pass would order its updates otherwise
    other = copy.deepcopy(ours)
    other.backbone.layer1[0].bn2 = other.backbone.layer1[0].bn1
    assert not other.train().one_pass()
    other = copy.deepcopy(ours)
    other.backbone.layer1[0].with_cp = True  # activation checkpointing
    assert not other.train().one_pass()


@pytest.mark.parametrize('channels_last, dtype', [
    (False, torch.float32), (True, torch.float64)])
def test_clp_steps_with_grouped_view_equal_per_group_calls(channels_last,
                                                           dtype):
    """Two CLP training steps (the recipe's model and LARS optimiser from
    its config, ResNet widths / 8, two views of 64 images: 2 GhostBN
    groups of 32 per view, 64 px) with GhostBN's grouped view
    (``computation='grouped_view'``) give what the default per-group
    calls give in float64: the losses, every gradient, every parameter
    after each optimiser step, and every buffer (the backbone's and the
    momentum encoder's running statistics and counts, the momentum
    encoder's copies of the parameters). In float32, contiguous: within
    float32 rounding (gradients within 1e-4 in relative norm, or within
    twice the per-group calls' own float32 error where this CPU's sums
    make that larger; both paths about 1e-5 on an AVX-512 CPU with one
    thread, where on an AVX2 one (AMD EPYC family 25, one thread) the
    per-group calls' first-layer gradient was 1.5e-3 from float64 at the
    second step, relative in norm, and the grouped view's within 1e-4);
    the per-group calls in
    float32 are held to 1e-2 in their gradients and to 1e-4 in norm in
    their parameters (not value by value). In
    float64, channels-last (the layout through the whole model, without
    float32's rounding): within 1e-9. (Not float32 channels-last: there
    this CPU's kernels on one thread sum in float32 with larger errors:
    the per-group calls' first-layer gradient was 8e-3 from float64, and
    the grouped view's 4e-3 at the second step, 1.7e-5 on two threads.)"""
    from mmengine.logging import MessageHub
    from mmengine.optim import build_optim_wrapper

    from openselfsup.models import GhostBatchNorm2d
    from openselfsup.registry import MODELS
    init_default_scope('openselfsup')
    MessageHub.get_current_instance().update_info('max_iters', 10)
    cfg, m = _narrow(CLP)
    m.neck.in_channels = 64
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    ref = MODELS.build(m).train().to(memory_format=fmt)
    models = {c: copy.deepcopy(ref).to(dtype) for c in COMPUTATIONS[::2]
              if c == 'grouped_view' or dtype == torch.float32}
    for c, model in models.items():
        ghosts = [x for x in model.modules()
                  if isinstance(x, GhostBatchNorm2d)]
        assert len(ghosts) == 40  # both encoders' ResNet-18
        for x in ghosts:
            x.computation = c
    ref = ref.double()
    wrappers = {c: build_optim_wrapper(x, copy.deepcopy(cfg.optim_wrapper))
                for c, x in [('float64', ref), *models.items()]}
    tol = 1e-4 if dtype == torch.float32 else 1e-9
    g = torch.Generator().manual_seed(0)
    for step in range(2):
        views = [torch.randn(64, 3, 64, 64, generator=g).contiguous(
            memory_format=fmt) for _ in range(2)]
        want_loss = ref.loss([v.double() for v in views], [])['loss']
        wrappers['float64'].backward(want_loss)
        want = dict(ref.named_parameters())
        errors = {}
        for c, model in models.items():
            loss = model.loss([v.to(dtype) for v in views], [])['loss']
            torch.testing.assert_close(loss.double(), want_loss,
                                       rtol=tol / 10, atol=tol / 100)
            wrappers[c].backward(loss)
            errors[c] = {
                k: float((p.grad.double() - want[k].grad).norm())
                for k, p in model.named_parameters()
                if p.grad is not None}  # the neck's last BN bias: about 0
        for c, errs in errors.items():
            for k, err in errs.items():
                size = float(want[k].grad.norm())
                # the CPU's own float32 sums (the default's error, the same
                # convolutions) bound it where they exceed tol
                own = errors.get('per_group_calls', {}).get(k, 0.0)
                bound = tol * size + tol / 1000
                if c != 'per_group_calls':
                    bound = max(bound, 2 * own)
                elif dtype == torch.float32:
                    bound = max(bound, 1e-2 * size)
                assert err <= bound, \
                    f'{c} step {step} {k}.grad: {err:.1e} of {size:.1e}' \
                    f' (the per-group calls: {own:.1e})'
        for w in wrappers.values():
            w.step()
            w.zero_grad()
        for c, model in models.items():
            for k, t in [*model.named_parameters(), *model.named_buffers()]:
                r = ref.get_parameter(k).detach() if k in want \
                    else ref.get_buffer(k).double()
                if c == 'per_group_calls' and dtype == torch.float32:
                    # the default in float32: its first layers' gradients
                    # are what this CPU's float32 sums give (above), so the
                    # parameters are held in norm, not value by value
                    err = float((t.double() - r).norm())
                    assert err <= tol * float(r.norm()) + \
                        tol / 100 * r.numel() ** 0.5, \
                        f'{c} step {step} {k}: {err:.1e}'
                    continue
                torch.testing.assert_close(t.double(), r, rtol=tol / 10,
                                           atol=tol / 100,
                                           msg=f'{c} step {step} {k}')
    assert int(ref.backbone.bn1.num_batches_tracked) == 4  # 2 a step


def _published_neck(neck, x, num_layers):
    """OpenSelfSup's ``NonLinearNeckSimCLR.forward`` written out on the
    layers of ``neck``: fc0, bn0, then (relu, fc_i, bn_i) for every further
    layer, a BatchNorm after the last one too (``with_last_bn=True``)."""
    if x.dim() == 4:  # with_avg_pool
        x = F.adaptive_avg_pool2d(x, 1)
    x = getattr(neck, 'bn0')(getattr(neck, 'fc0')(x.view(x.size(0), -1)))
    for i in range(1, num_layers):
        x = getattr(neck, f'bn{i}')(getattr(neck, f'fc{i}')(F.relu(x)))
    return x


def _plain_bn(module):
    """``module`` with every GhostBN a plain ``nn.BatchNorm2d`` (the
    published backbone: BN over one GPU's images), same values."""
    from openselfsup.models import GhostBatchNorm2d
    for name, child in list(module.named_children()):
        if isinstance(child, GhostBatchNorm2d):
            bn = torch.nn.BatchNorm2d(child.num_features, eps=child.eps,
                                      momentum=child.momentum).double()
            bn.load_state_dict(child.state_dict())
            setattr(module, name, bn)
        else:
            _plain_bn(child)
    return module


def test_clp_steps_equal_the_published_training_loop():
    """Three CLP training steps (model and optimiser built from the real
    config; widths / 8, groups of 8 images, 16 x 16 pixels, float64)
    against the published training loop written out:
    ``MOCOv3.forward_train`` on two GPUs of 8 images (the backbone's plain
    BN per GPU, its running statistics per GPU; the projector's and
    predictor's SyncBN over both GPUs; keys from the key encoder without
    gradient; per GPU ``2T (CE(q1 k2^T / T) + CE(q2 k1^T / T))``, DDP's
    mean over GPUs), the published LARS step (norms read to the host),
    then BYOLHook's momentum update of the key encoder's parameters. The
    losses (which depend on the keys), every parameter of the query and
    key encoders, and the backbone's buffers against GPU 0's (the
    published checkpoint's ``backbone.*``, which
    ``extract_backbone_weights`` keeps) are equal. mmpretrain's key-encoder
    update counts iterations from 1 where BYOLHook counts from 0
    (docs/pretraining.md): the reference applies BYOLHook's momentum at
    the next iteration's count; and mmpretrain's cosine phase is a float32
    number (hence relative tolerances of 1e-9, where every planted change
    tried moved the loss by more than 1e-7)."""
    from mmengine.logging import MessageHub
    from mmengine.optim import build_optim_wrapper

    from openselfsup.registry import MODELS
    init_default_scope('openselfsup')
    K, gpus, per_gpu = 4, 2, 8  # max_iters: the cosine moves in 3 steps
    MessageHub.get_current_instance().update_info('max_iters', K)
    cfg, m = _narrow(CLP)
    m.backbone.norm_cfg['group_size'] = m.head.group_size = per_gpu
    m.neck.update(in_channels=64, hid_channels=32, out_channels=16)
    m.head.predictor.update(in_channels=16, hid_channels=32, out_channels=16)
    torch.manual_seed(0)
    ours = MODELS.build(m)
    ours.init_weights()
    ours = ours.double().train()
    wrapper = build_optim_wrapper(ours, cfg.optim_wrapper)
    # the published configs' values (LARS's eta: its default)
    T, base_m = 1., 0.996
    lr, wd, momentum, eta = 0.3, 1.5e-6, 0.9, 0.001

    # the published model: encoder_q = (backbone, projector, predictor),
    # encoder_k = (backbone, projector) with encoder_q's parameters
    bb = _plain_bn(copy.deepcopy(ours.backbone))
    proj = copy.deepcopy(ours.neck)
    pred = copy.deepcopy(ours.head.predictor)
    bb_k, proj_k = copy.deepcopy(bb), copy.deepcopy(proj)
    enc_q = [p for mod in (bb, proj, pred) for p in mod.parameters()]
    enc_k = [p for mod in (bb_k, proj_k) for p in mod.parameters()]
    bb_params = dict(bb.named_parameters())
    gpu_buffers = [{k: b.clone() for k, b in bb.named_buffers()}
                   for _ in range(gpus)]
    lars_bufs = {}

    def encode(x, backbone, projector, buffers=None):
        chunks = x.split(per_gpu)
        if buffers is None:  # key encoder: its BN statistics are not kept
            feats = [backbone(c)[-1] for c in chunks]
        else:
            feats = [torch.func.functional_call(
                backbone, (bb_params, buffers[g]), (c, ))[-1]
                for g, c in enumerate(chunks)]
        return _published_neck(projector, torch.cat(feats), 3)  # SyncBN

    def published_step(it, x1, x2):
        q1 = _published_neck(pred, encode(x1, bb, proj, gpu_buffers), 2)
        q2 = _published_neck(pred, encode(x2, bb, proj, gpu_buffers), 2)
        q1, q2 = F.normalize(q1), F.normalize(q2)
        with torch.no_grad():
            k1 = F.normalize(encode(x1, bb_k, proj_k))
            k2 = F.normalize(encode(x2, bb_k, proj_k))
        labels = torch.arange(per_gpu)
        per_gpu_loss = [
            2 * T * (F.cross_entropy(a @ b.T / T, labels)
                     + F.cross_entropy(c @ d.T / T, labels))
            for a, b, c, d in zip(q1.split(per_gpu), k2.split(per_gpu),
                                  q2.split(per_gpu), k1.split(per_gpu))]
        loss = torch.stack(per_gpu_loss).mean()  # DDP: mean of gradients
        loss.backward()
        with torch.no_grad():  # OpenSelfSup LARS, one tensor at a time
            for p in enc_q:
                wn, gn = torch.norm(p).item(), torch.norm(p.grad).item()
                local = eta * wn / (gn + wd * wn)
                d_p = p.grad.add(p, alpha=wd).mul(local * lr)
                if p in lars_bufs:
                    lars_bufs[p].mul_(momentum).add_(d_p)
                else:
                    lars_bufs[p] = d_p.clone()
                p.add_(-lars_bufs[p])
                p.grad = None
            # BYOLHook.after_train_iter (mmpretrain's count: it + 1)
            mom = 1. - (1. - base_m) * (math.cos(math.pi * (it + 1) / K)
                                        + 1) / 2
            before = [p.clone() for p in enc_k]
            for p_q, p_k in zip(enc_q, enc_k):
                p_k.data = p_k.data * mom + p_q.data * (1. - mom)
        return loss.detach(), before

    g = torch.Generator().manual_seed(0)
    for it in range(3):
        x1, x2 = (torch.randn(gpus * per_gpu, 3, 16, 16, generator=g,
                              dtype=torch.float64) for _ in range(2))
        got = ours.loss([x1, x2], [])['loss']
        wrapper.update_params(got)
        want, keys_now = published_step(it, x1, x2)
        assert float(got.detach()) == pytest.approx(float(want),
                                                    rel=1e-9), it
        theirs = [p for mod in (bb, proj, pred) for p in mod.parameters()]
        mine = [p for mod in (ours.backbone, ours.neck, ours.head.predictor)
                for p in mod.parameters()]
        for a, b in zip(mine, theirs):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
    # our key encoder is updated at the start of the next step: it holds
    # the published one before the update after the last step
    for a, b in zip(ours.momentum_encoder.module.parameters(), keys_now):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
    state = ours.backbone.state_dict()
    for k, b in gpu_buffers[0].items():
        torch.testing.assert_close(state[k], b, rtol=1e-9, atol=1e-12,
                                   msg=k)
    assert int(state['bn1.num_batches_tracked']) == 6  # 2 views x 3 steps


def test_fsp_steps_equal_the_published_training_loop():
    """Three FSP training steps (model and optimiser built from the real
    config; widths / 8, BN groups of 8 images, 16 x 16 pixels, float64)
    against the published ``Classification`` loop written out on two GPUs
    of 8 images: the backbone's plain BN per GPU (running statistics per
    GPU), global average pooling, ``ClsHead``'s linear layer, mean
    cross-entropy per GPU on the list's labels as they are (a ``wo_78``
    list: labels 0-6 of 9 outputs), DDP's mean over GPUs, SGD lr 0.5
    momentum 0.9 without weight decay written out. Losses, every parameter
    and the backbone's buffers against GPU 0's are equal."""
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.structures import DataSample

    from openselfsup.registry import MODELS
    init_default_scope('openselfsup')
    gpus, per_gpu = 2, 8
    cfg, m = _narrow(FSP)
    m.backbone.norm_cfg['group_size'] = per_gpu
    m.head.in_channels = 64
    torch.manual_seed(0)
    ours = MODELS.build(m)
    ours.init_weights()
    ours = ours.double().train()
    wrapper = build_optim_wrapper(ours, cfg.optim_wrapper)
    lr, momentum = 0.5, 0.9  # the published config's SGD, no weight decay

    bb = _plain_bn(copy.deepcopy(ours.backbone))
    fc = copy.deepcopy(ours.head.fc)
    params = list(bb.parameters()) + list(fc.parameters())
    bb_params = dict(bb.named_parameters())
    gpu_buffers = [{k: b.clone() for k, b in bb.named_buffers()}
                   for _ in range(gpus)]
    sgd_bufs = {}

    def published_step(x, labels):
        per_gpu_loss = []
        for g, (c, y) in enumerate(zip(x.split(per_gpu),
                                       labels.split(per_gpu))):
            feat = torch.func.functional_call(
                bb, (bb_params, gpu_buffers[g]), (c, ))[-1]
            score = fc(F.adaptive_avg_pool2d(feat, 1).flatten(1))
            per_gpu_loss.append(F.cross_entropy(score, y))
        loss = torch.stack(per_gpu_loss).mean()  # DDP: mean of gradients
        loss.backward()
        with torch.no_grad():  # torch.optim.SGD, dampening 0, no decay
            for p in params:
                if p in sgd_bufs:
                    sgd_bufs[p].mul_(momentum).add_(p.grad)
                else:
                    sgd_bufs[p] = p.grad.clone()
                p.add_(sgd_bufs[p], alpha=-lr)
                p.grad = None
        return loss.detach()

    g = torch.Generator().manual_seed(0)
    for it in range(3):
        x = torch.randn(gpus * per_gpu, 3, 16, 16, generator=g,
                        dtype=torch.float64)
        labels = torch.randint(0, 7, (gpus * per_gpu, ), generator=g)
        samples = [DataSample().set_gt_label(int(y)) for y in labels]
        got = ours.loss(x, samples)['loss']
        wrapper.update_params(got)
        want = published_step(x, labels)
        assert float(got.detach()) == pytest.approx(float(want),
                                                    rel=1e-9), it
        mine = list(ours.backbone.parameters()) + list(
            ours.head.fc.parameters())
        for a, b in zip(mine, params):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
    state = ours.backbone.state_dict()
    for k, b in gpu_buffers[0].items():
        torch.testing.assert_close(state[k], b, rtol=1e-9, atol=1e-12,
                                   msg=k)
    assert int(state['bn1.num_batches_tracked']) == 3


def test_fsp_learning_rate_steps_as_mmcv():
    """mmcv's ``step`` policy (by epoch, gamma 0.1) as published:
    lr_e = 0.5 * 0.1 ** (number of milestones 30, 60, 90 reached by e)."""
    from mmengine.optim.scheduler import MultiStepLR

    cfg = Config.fromfile(FSP)
    (sched_cfg, ) = cfg.param_scheduler
    assert sched_cfg.by_epoch and not sched_cfg.get('convert_to_iter_based')
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    sched = MultiStepLR(opt, **{k: v for k, v in sched_cfg.items()
                                if k != 'type'})
    for epoch in range(cfg.train_cfg.max_epochs):
        want = 0.5 * 0.1 ** sum(epoch >= s for s in (30, 60, 90))
        assert opt.param_groups[0]['lr'] == pytest.approx(want, rel=1e-12)
        opt.step()
        sched.step()


def test_key_momentum_is_the_published_cosine_within_1_2e_5():
    """The CLP key encoder's momentum over the recipe's whole run against
    the published ``BYOLHook``'s, written out: ``m = 1 - (1 - 0.996)
    (cos(pi k / K) + 1) / 2`` set before iteration k (from 0) and used in
    the update after it, K = 200 epochs x 313 iterations (80,000 images,
    8 GPUs x 32, the short batch kept); here mmpretrain's count, the
    update at step j (from 1) before iteration j, K = 200 x 312 (the
    short batch dropped), so the update after published iteration j - 1
    is ours at step j. At most 1.17e-5 apart, mid-run, and 0.996 and
    about 1 at the ends: the figure of docs/iclr22_protocol.md's row "CLP
    key momentum"."""
    from mmengine.logging import MessageHub

    from openselfsup.models.algorithms.mocov3 import HostStepCosineEMA
    cfg = Config.fromfile(CLP)
    base = 1 - cfg.model.base_momentum  # the published 0.996
    assert base == pytest.approx(0.996)
    images, batch, epochs = 80000, 256, 200
    ours_k = epochs * (images // batch)
    published_k = epochs * math.ceil(images / 8 / 32)
    assert (ours_k, published_k) == (62400, 62600)
    MessageHub.get_current_instance().update_info('max_iters', ours_k)
    ema = HostStepCosineEMA(torch.nn.Linear(1, 1),
                            momentum=cfg.model.base_momentum)
    diff = [(1 - ema.momentum_at(j)) - (
        1 - (1 - base) * (math.cos(math.pi * (j - 1) / published_k) + 1) / 2)
        for j in range(1, ours_k)]
    worst = max(range(len(diff)), key=lambda i: abs(diff[i]))
    assert 1.1e-5 < abs(diff[worst]) < 1.2e-5
    assert ours_k // 4 < worst + 1 < 3 * ours_k // 4
    assert abs(diff[0]) < 1e-9 and abs(diff[-1]) < 2e-7


def _compile_step_model(path, batch=32):
    """A recipe's model (widths / 8, groups of 8 images) with its
    optimiser, and two steps' data (32 px uint8 images; CLP two views,
    FSP labels)."""
    from mmengine.logging import MessageHub
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.structures import DataSample

    from openselfsup.registry import MODELS
    MessageHub.get_current_instance().update_info('max_iters', 100)
    cfg, m = _narrow(path)
    m.backbone.norm_cfg['group_size'] = 8
    clp = path == CLP
    if clp:
        m.head.group_size = 8
        m.neck.update(in_channels=64, hid_channels=32, out_channels=16)
        m.head.predictor.update(in_channels=16, hid_channels=32,
                                out_channels=16)
    else:
        m.head.in_channels = 64
    torch.manual_seed(0)
    model = MODELS.build(m)
    model.init_weights()
    model.train()
    wrapper = build_optim_wrapper(model, copy.deepcopy(cfg.optim_wrapper))
    g = torch.Generator().manual_seed(0)

    def images():
        return torch.randint(0, 256, (batch, 3, 32, 32), dtype=torch.uint8,
                             generator=g)
    from mmpretrain.structures import DataSample
    data = [dict(inputs=[images(), images()],
                 data_samples=[DataSample() for _ in range(batch)])
            if clp else
            dict(inputs=images(), data_samples=[
                DataSample().set_gt_label(i % 9) for i in range(batch)])
            for _ in range(2)]
    return model, wrapper, data


@pytest.mark.slow
@pytest.mark.parametrize('path', [CLP, FSP], ids=['clp', 'fsp'])
def test_compile_encoders_steps_close_to_eager(path):
    """``compile_encoders`` compiles the forward of the backbone and the
    neck (CLP: and of the momentum encoder's copies): two training steps
    of each recipe (MMEngine's ``train_step``: views, loss, backward,
    optimiser step, momentum update) give the eager losses and weights to
    float32 rounding, in one graph per module and grad mode (CLP: 4, the
    key encoder's without gradients; FSP: 2), with no graph break. AOT
    autograd without inductor's code generation (``backend='aot_eager'``,
    as the bench's CPU test): inductor compiles the CLP model in about
    4 minutes on a 2-core CPU (measured: losses within 2e-6 relative,
    weights within 1e-5, of eager)."""
    from torch._dynamo.utils import counters

    from openselfsup.models.compiling import ENCODER_PARTS, compile_encoders
    # batches of 16: two ghost-BN groups of 8 (32 made four, each a
    # batch norm call more in every compiled graph)
    eager, wrapper, data = _compile_step_model(path, batch=16)
    want = [float(eager.train_step(copy.copy(d), wrapper)['loss'])
            for d in data]
    model, wrapper, _ = _compile_step_model(path, batch=16)
    torch._dynamo.reset()
    counters.clear()
    names = compile_encoders(model, dict(backend='aot_eager'))
    assert names == (list(ENCODER_PARTS) if path == CLP else
                     ['backbone', 'neck'])
    got = [float(model.train_step(copy.copy(d), wrapper)['loss'])
           for d in data]
    assert got == pytest.approx(want, rel=1e-5)
    mine = dict(model.named_parameters())
    for k, v in eager.named_parameters():  # keys unchanged: no _orig_mod
        torch.testing.assert_close(mine[k], v, rtol=1e-4, atol=1e-5,
                                   msg=k)
    assert not counters['graph_break']
    assert counters['stats']['unique_graphs'] == (4 if path == CLP else 2)


def _wrapped(model, value):
    """``model`` wrapped by the runner (:meth:`AtomicRunner.wrap_model`,
    not distributed) for a config whose ``compile_encoders`` is ``value``
    (absent where None), checked as a run checks it; the model and the
    runner's log lines on ``compile_encoders``."""
    import types

    from openselfsup.apis.fast_path import check_fast_path_values
    from openselfsup.engine.runner import AtomicRunner
    runner = AtomicRunner.__new__(AtomicRunner)
    cfg = Config(dict(train_dataloader={}, model={}))
    if value is not None:
        cfg.compile_encoders = value
    check_fast_path_values(cfg)
    logged = []
    runner.cfg, runner._distributed = cfg, False
    runner.logger = types.SimpleNamespace(info=logged.append)
    out = runner.wrap_model(None, model)
    return out, [line for line in logged
                 if line.startswith('compile_encoders')]


def test_compile_encoders_option():
    """``compile_encoders``: the runner compiles the encoders of the model
    it wraps when the config asks (True, a mode's name or torch.compile's
    arguments), not by default, and logs the parts compiled; a value of
    another kind, or an argument torch.compile does not take, is one
    line."""
    from openselfsup.apis.fast_path import check_fast_path_values
    from openselfsup.models.compiling import compile_options
    from openselfsup.utils import InputError
    for value, compiled in ((None, False), (False, False), (True, True),
                            (dict(dynamic=False), True),
                            ('max-autotune-no-cudagraphs', True)):
        model, _, _ = _compile_step_model(CLP, batch=8)
        out, logged = _wrapped(model, value)
        assert [getattr(m, '_compiled_call_impl', None) is not None
                for m in (out.backbone, out.neck,
                          *out.momentum_encoder.module)] == [compiled] * 4
        assert out.head._compiled_call_impl is None
        assert logged == ([
            'compile_encoders: the forward of backbone, neck, '
            'momentum_encoder.module.0, momentum_encoder.module.1 through '
            'torch.compile (compiled at the first steps)'] if compiled
            else [])
    for bad in ('', ' ', 1, ['mode']):
        with pytest.raises(InputError, match=r'^compile_encoders=.*: choose '
                           r'True, False, a torch.compile mode \(--cfg-'
                           'options compile_encoders=max-autotune-no-'
                           r'cudagraphs\) or, in a config file, a dict of '
                           'torch.compile arguments'):
            check_fast_path_values(Config(dict(
                train_dataloader={}, model={}, compile_encoders=bad)))
    assert compile_options(True) == {}
    with pytest.raises(InputError, match=r"'mod' is not an argument of "
                       'torch.compile'):
        compile_options(dict(mod='reduce-overhead'))


def test_compile_encoders_logs_what_it_compiles_and_refuses_nothing():
    """The runner logs the parts it compiled, not the backbone and neck of
    every model (a model with a backbone only, as BalancedCrossModal:
    ``backbone``); a model with none of them compiled nothing without a
    word: now one line."""
    from torch import nn

    from openselfsup.utils import InputError

    class BackboneOnly(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone, self.head = nn.Linear(2, 2), nn.Linear(2, 2)

    out, logged = _wrapped(BackboneOnly(), True)
    assert out.backbone._compiled_call_impl is not None
    assert out.head._compiled_call_impl is None
    assert logged == ['compile_encoders: the forward of backbone through '
                      'torch.compile (compiled at the first steps)']
    with pytest.raises(InputError) as err:
        _wrapped(nn.Sequential(nn.Linear(2, 2)), True)
    assert str(err.value) == (
        'compile_encoders=True: the model (Sequential) has none of the '
        'parts it compiles (backbone, neck, momentum_encoder.module.0, '
        'momentum_encoder.module.1); set compile_encoders=False')


def test_compile_encoders_where_users_set_it(tmp_path):
    """A mode's name from ``--cfg-options`` (a dict there arrives as a
    string or as keys of the base's bool) and torch.compile's arguments in
    a child config with ``_delete_=True`` (without it MMEngine refuses a
    dict over the base's ``compile_encoders = False``) reach
    ``compile_options`` as torch.compile's arguments; a mode torch does
    not list is one line naming the modes it lists, whichever form."""
    from openselfsup.apis.fast_path import check_fast_path_values
    from openselfsup.config import load_config, parse_cfg_options
    from openselfsup.models.compiling import compile_options
    from openselfsup.utils import InputError
    cfg = load_config(CLP, parse_cfg_options(
        ['compile_encoders=max-autotune-no-cudagraphs']))
    check_fast_path_values(cfg)
    assert compile_options(cfg.compile_encoders) == {
        'mode': 'max-autotune-no-cudagraphs'}
    child = tmp_path / 'child.py'
    child.write_text(f'_base_ = {CLP!r}\ncompile_encoders = dict('
                     "_delete_=True, mode='reduce-overhead', dynamic=False)\n")
    cfg = load_config(str(child))
    check_fast_path_values(cfg)
    assert compile_options(cfg.compile_encoders) == {
        'mode': 'reduce-overhead', 'dynamic': False}
    child.write_text(f'_base_ = {CLP!r}\ncompile_encoders = dict('
                     "dynamic=False)\n")
    with pytest.raises(InputError, match='_delete_=True'):
        load_config(str(child))
    cfg = load_config(CLP, parse_cfg_options(['compile_encoders=bogus']))
    check_fast_path_values(cfg)  # torch-free: a string; its list below
    modes = 'default, lite, reduce-overhead, max-autotune-no-cudagraphs, '\
        'max-autotune'  # torch 2.14's (torch._inductor.list_mode_options)
    for value, shown, extra in (
            (cfg.compile_encoders, "'bogus'", '; a dict of torch.compile '
             'arguments goes in the config file: compile_encoders = '
             "dict(_delete_=True, mode='max-autotune-no-cudagraphs')"),
            (dict(mode='bogus', dynamic=False),
             "{'mode': 'bogus', 'dynamic': False}", '')):
        with pytest.raises(InputError) as err:
            compile_options(value)
        assert str(err.value) == (f"compile_encoders={shown}: 'bogus' is "
                                  f'not a torch.compile mode (choose '
                                  f'{modes}){extra}')


@pytest.mark.parametrize('options, says', [
    (dict(mode='bogus'), "'bogus' is not a torch.compile mode"),
    (dict(backend='nope'), "torch.compile refuses it (Invalid backend: "
                           "'nope'"),
    (dict(dynamic='x'), 'torch.compile refuses it (Expected enable to be '
                        'a bool'),
    (dict(options={'no_such_setting': 1}), 'torch.compile refuses it '
     '(Unexpected optimization option no_such_setting, known options are '),
    (dict(mode='default', options={}), 'torch.compile refuses it (Either '
     'mode or options can be specified')])
def test_compile_encoders_bad_argument_value_is_one_line(options, says):
    """An argument value torch.compile refuses (``mode='bogus'`` was a
    RuntimeError traceback from inside torch) is one line naming the
    value, when the runner wraps the model, before the first step."""
    from torch import nn

    from openselfsup.utils import InputError

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.backbone = nn.Linear(2, 2)

    with pytest.raises(InputError) as err:
        _wrapped(Encoder(), options)
    line = str(err.value)
    assert line.startswith(f'compile_encoders={options!r}: {says}')
    assert '\n' not in line and len(line) < 400


@pytest.mark.parametrize('key, does, also, runner', [
    ('prefetch_views', 'makes the batched views ahead',
     '; the per-image views are made ahead by the data-loader workers',
     "MMEngine's Runner, which the config builds, makes the views in the "
     'step'),
    ('reuse_batch_memory', "collates the batched views' decoded images into "
     'reused shared memory', '', "MMEngine's Runner builds a plain data "
     'loader')])
def test_batched_views_switches_are_refused_where_they_cannot_apply(
        key, does, also, runner):
    """``prefetch_views`` and ``reuse_batch_memory`` act on the batched
    views, in the project's runner: refused in one line with the per-image
    views (``augment_on='cpu'``, or ``'auto'`` without a GPU), with
    MMEngine's own Runner (which would make the views in the step, or
    build a plain data loader, without a word) and for a value other than
    True / False; off by default, taken on the batched views and said in
    the run's notes."""
    from openselfsup.apis.fast_path import (apply_fast_path,
                                            check_fast_path_values)
    from openselfsup.utils import InputError
    base = Config.fromfile(CLP)
    assert base[key] is False
    cfg = copy.deepcopy(base)
    cfg[key] = 'yes'
    with pytest.raises(InputError) as caught:
        check_fast_path_values(cfg)
    assert str(caught.value) == f"{key}='yes': choose True or False"
    for augment, cuda in (('cpu', True), ('cpu', False), ('auto', False)):
        cfg = copy.deepcopy(base)
        cfg.amp, cfg.augment_on, cfg[key] = 'off', augment, True
        with pytest.raises(InputError) as caught:
            apply_fast_path(cfg, cuda)
        assert str(caught.value) == (
            f"{key}=True {does}: it needs augment_on='device' (or 'auto' on "
            f'a GPU){also}')
    cfg = copy.deepcopy(base)
    cfg[key] = True
    cfg.pop('runner_type')
    with pytest.raises(InputError) as caught:
        apply_fast_path(cfg, True)
    assert str(caught.value) == (
        f"{key}=True needs the project's runner: set runner_type = "
        "'AtomicRunner' in the config (--cfg-options runner_type="
        f'AtomicRunner); {runner}')
    for cuda, augment in ((True, 'auto'), (False, 'device')):
        cfg = copy.deepcopy(base)
        cfg.amp, cfg.augment_on, cfg[key] = 'off', augment, True
        notes = apply_fast_path(cfg, cuda)
        assert any(n.startswith(f'{key}:') for n in notes)


@pytest.mark.parametrize('key, bad', [
    ('compile_views', 1), ('prefetch_views', 0), ('channels_last', 1),
    ('reuse_batch_memory', 1),
    ('channels_last', 0.0), ('compile_views', 1.0)])
def test_fast_path_switches_refuse_numbers_equal_to_a_choice(key, bad):
    """``1`` and ``0`` equal ``True`` and ``False``, so ``in`` took them as
    the switches' choices (a 0/1 typed for a switch), where the run
    switches refuse them (RUN_VALUES); now each is one line, as
    ``compile_encoders=1`` was."""
    from openselfsup.apis.fast_path import check_fast_path_values
    from openselfsup.utils import InputError
    with pytest.raises(InputError, match=rf'^{key}={bad!r}: choose '):
        check_fast_path_values(Config(dict(train_dataloader={}, model={},
                                           **{key: bad})))
    for good in (True, False):
        check_fast_path_values(Config(dict(train_dataloader={}, model={},
                                           **{key: good})))
