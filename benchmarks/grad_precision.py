"""How far one CLP training step's gradients move with the precision: the
real CLP model (configs/wsi_selfsup/moco_v3/r18_bs256_ep200_all.py, its
initial weights seeded) on two batched views of ``--images`` synthetic
224 px images, one loss and backward in float64 (the reference), in
float32 and under bfloat16 autocast (``amp='auto'`` on a GPU); on CUDA
also float32 with torch's default settings (TF32 for cuDNN's
convolutions), which ``amp=off`` sets aside. Per layer: the relative
difference ``||g - g64|| / ||g64||`` of the weight's gradient; and the
cosine of conv1's gradients, float32 against bfloat16; on CUDA also one
float32 3x3 convolution's error with and without TF32. The figures
docs/iclr22_protocol.md quotes beside the published float32.

``--ghost-bn-variance``: in place of the step, GhostBN's grouped view
(``norm_cfg.computation='grouped_view'``) on bfloat16 and float16
inputs at mean / std 0.01 to 1000: the running variance, the output and
the input gradient against float64 (:func:`ghost_bn_variance_errors`;
the figures docs/pretraining.md quotes).

    python -m benchmarks.grad_precision \
        --output benchmarks/results/grad_precision.json    # ~3 min, 2 cores
    python -m benchmarks.grad_precision --ghost-bn-variance    # ~30 s
"""
import copy
import os
import sys

import torch

if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))

from benchmarks._common import REPO, add_output, count, machine, parse, \
    parser, run_main, save
from openselfsup.utils import InputError

CONFIG = os.path.join(REPO, 'configs', 'wsi_selfsup', 'moco_v3',
                      'r18_bs256_ep200_all.py')
#: the weights whose gradients are compared (stem, a middle and the last
#: block, the projector's first and the predictor's last layer)
LAYERS = ('backbone.conv1.weight', 'backbone.layer2.0.conv1.weight',
          'backbone.layer4.1.conv2.weight', 'neck.fc0.weight',
          'head.predictor.fc1.weight')


def _views(pipeline, n: int, device: str) -> torch.Tensor:
    """Two batched views (``[2n, 3, 224, 224]``, normalised) of ``n``
    seeded 224 px images: colour ramps plus noise."""
    from openselfsup.datasets.batch_aug import BatchAugment
    ramp = torch.linspace(0, 1, 224)
    base = torch.stack([ramp[None].expand(224, 224),
                        ramp[:, None].expand(224, 224),
                        (ramp[None] + ramp[:, None]) / 2]) * 200
    noise = torch.rand(n, 3, 224, 224,
                       generator=torch.Generator().manual_seed(0)) * 55
    images = (base + noise).to(torch.uint8).to(device)
    views = BatchAugment(pipeline)(images, torch.Generator().manual_seed(1),
                                   2).float()
    mean = torch.tensor([123.675, 116.28, 103.53], device=device)
    std = torch.tensor([58.395, 57.12, 57.375], device=device)
    return (views - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1)


def _gradients(model, views, dtype, autocast: bool, device: str) -> dict:
    """The gradients of :data:`LAYERS` after one loss and backward of a
    copy of ``model`` in ``dtype`` (with ``autocast``: bfloat16 autocast),
    as float64; and the loss."""
    net = copy.deepcopy(model).to(dtype)
    with torch.autocast(torch.device(device).type, dtype=torch.bfloat16,
                        enabled=autocast):
        loss = net.loss(list(views.to(dtype).chunk(2)), [])['loss']
    loss.backward()
    params = dict(net.named_parameters())
    return {n: params[n].grad.double() for n in LAYERS}, float(loss.detach())


def conv_error(device: str) -> dict:
    """The relative error against float64 of one float32 3x3 convolution
    (64 to 64 channels, 8 x 56 x 56, seeded) with torch's default
    settings (TF32 for cuDNN's convolutions on Ampere and later GPUs) and
    in full float32 (:class:`~openselfsup.utils.precision.Ieee32`)."""
    from openselfsup.utils.precision import Ieee32
    g = torch.Generator().manual_seed(0)
    x = torch.randn(8, 64, 56, 56, generator=g, dtype=torch.float64)
    w = torch.randn(64, 64, 3, 3, generator=g, dtype=torch.float64)
    ref = torch.nn.functional.conv2d(x, w, padding=1)
    out = {}
    for name, kind in (('default', None),
                       ('full_float32', torch.device(device).type)):
        with Ieee32(kind):
            y = torch.nn.functional.conv2d(x.float().to(device),
                                           w.float().to(device), padding=1)
        out[name] = float((y.double().cpu() - ref).norm() / ref.norm())
    return out


#: the mean / std ratios of :func:`ghost_bn_variance_errors`: a log grid
#: from 0.01 to 1000, and 0.5 (where |mean| near the std biased it)
GHOST_BN_RATIOS = tuple(sorted([*(10 ** (k / 2) for k in range(-4, 7)),
                                0.5]))


def ghost_bn_variance_errors(dtype: torch.dtype,
                             ratios=GHOST_BN_RATIOS) -> dict:
    """``{ratio: {'running_var', 'out', 'dx'}}``: the relative errors in
    norm against float64 of GhostBN's grouped view on a ``dtype`` input
    (bfloat16 or float16, as autocast gives the layer; float32 weight
    and bias, channels-last) of 64 images of 32 channels, 14 x 14, std 2
    and mean ``ratio`` x 2 (times 1.0123457: not a round number in the
    input's dtype; of both signs across the channels), in groups of 32
    (6,272 values a group and channel, the CLP recipe's at its third
    stage): the running variance after one update with momentum None
    (the first group's unbiased variance), the output and the input
    gradient, against batch norm per group in float64 on the same
    rounded input."""
    import torch.nn.functional as F

    from openselfsup.models import GhostBatchNorm2d
    g = torch.Generator().manual_seed(0)
    shape = (64, 32, 14, 14)
    sign = torch.where(torch.rand(32, generator=g) < 0.5, -1.0, 1.0)
    noise = torch.randn(*shape, generator=g)
    grad = torch.randn(*shape, generator=g)
    weight = torch.rand(32, generator=g) + 0.5
    bias = torch.randn(32, generator=g)

    def rel(got, want):
        return float((got.double() - want).norm() / want.norm())
    out = {}
    for ratio in ratios:
        x0 = (noise * 2 + float(ratio) * 2 * 1.0123457
              * sign[:, None, None]).to(dtype).contiguous(
                  memory_format=torch.channels_last)
        xr = x0.double().requires_grad_(True)
        ref = torch.cat([F.batch_norm(part, None, None, weight.double(),
                                      bias.double(), True, 0.0, 1e-5)
                         for part in xr.chunk(2)])
        ref.backward(grad.double())
        bn = GhostBatchNorm2d(32, group_size=32, momentum=None,
                              computation='grouped_view')
        with torch.no_grad():
            bn.weight.copy_(weight)
            bn.bias.copy_(bias)
        x = x0.clone().requires_grad_(True)
        y = bn(x)
        y.float().backward(grad)
        out[float(ratio)] = dict(
            running_var=rel(bn.running_var, x0[:32].double().var(
                dim=(0, 2, 3))),
            out=rel(y.detach(), ref.detach()), dx=rel(x.grad, xr.grad),
            dtype=str(y.dtype))
    return out


def _ghost_bn_variance(args) -> None:
    """``--ghost-bn-variance``: :func:`ghost_bn_variance_errors` printed
    and saved, for bfloat16 and float16."""
    # its own arguments only (the step's --images / --device are refused)
    out = {'args': dict(ghost_bn_variance=True, output=args.output),
           'machine': machine(), 'runs': {}}
    print("GhostBN computation='grouped_view', relative error against "
          'float64')
    print(f'{"dtype":10s}{"mean/std":>10s}{"running_var":>13s}{"out":>10s}'
          f'{"dx":>10s}')
    for dtype in (torch.bfloat16, torch.float16):
        name = str(dtype).split('.')[1]
        errs = out['runs'][name] = ghost_bn_variance_errors(dtype)
        for ratio, e in errs.items():
            print(f'{name:10s}{ratio:10.3g}{e["running_var"]:13.2e}'
                  f'{e["out"]:10.2e}{e["dx"]:10.2e}')
    save(args.output, out)


def main(argv=None):
    p = parser(__doc__)
    p.add_argument('--images', type=count, default=None,
                   help='images per view (default: one group of the '
                   'recipe, 32); the step only')
    p.add_argument('--device', default=None,
                   help='cpu, cuda or cuda:N (default: cpu); the step only')
    p.add_argument('--ghost-bn-variance', action='store_true',
                   help="in place of the step: GhostBN's grouped view on "
                   'bfloat16 and float16 inputs at mean / std 0.01 to 1000 '
                   'against float64, on the CPU')
    add_output(p)
    args = parse(p, argv)
    if args.ghost_bn_variance:
        given = [f'--{k}' for k in ('images', 'device')
                 if getattr(args, k) is not None]
        if given:  # its figures are the CPU's, at its own shape
            raise InputError('--ghost-bn-variance takes no '
                             f'{" or ".join(given)}: it runs on the CPU at '
                             'its own shape; leave '
                             f'{"them" if len(given) > 1 else "it"} out')
        return _ghost_bn_variance(args)
    args.images = 32 if args.images is None else args.images
    args.device = 'cpu' if args.device is None else args.device
    from mmengine.config import Config
    from mmengine.logging import MessageHub
    from mmengine.registry import init_default_scope

    import openselfsup  # noqa: F401 (registers the modules)
    from openselfsup.registry import MODELS
    from openselfsup.utils.device import check_device
    from openselfsup.utils.log_filters import records_left_out
    from openselfsup.utils.precision import Ieee32
    device = check_device(args.device)
    init_default_scope('openselfsup')
    cfg = Config.fromfile(CONFIG)
    # the momentum encoder's cosine reads the run's length
    MessageHub.get_current_instance().update_info('max_iters', 62400)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    with records_left_out(lambda r: 'init_weights' in r.getMessage()):
        model.init_weights()  # as the runner; a line per tensor left out
    model = model.to(device).train()
    views = _views(cfg.view_pipeline, args.images, device)
    kind = torch.device(device).type
    with Ieee32(kind):
        reference, loss64 = _gradients(model, views, torch.float64, False,
                                       device)
    runs = [('float32', Ieee32(kind), False)]
    if kind == 'cuda':
        runs.append(('float32, TF32 (torch default)', Ieee32(None), False))
    runs.append(('bfloat16 autocast', Ieee32(None), True))
    out = {'args': vars(args), 'machine': machine(),
           'loss_float64': loss64, 'runs': {}}
    grads = {}
    print(f'one CLP step, 2 x {args.images} images, {device}: relative '
          'gradient difference from float64')
    short = [n.split('.')[1 if n.startswith('backbone') else 0]
             for n in LAYERS]
    print(' ' * 32 + ''.join(f'{s:>10s}' for s in short))
    for name, block, autocast in runs:
        with block:
            grads[name], loss = _gradients(model, views, torch.float32,
                                           autocast, device)
        rel = {n: float((grads[name][n] - reference[n]).norm() /
                        reference[n].norm()) for n in LAYERS}
        out['runs'][name] = {'loss': loss, 'relative_difference': rel}
        print(f'{name:32s}' + ''.join(f'{rel[n]:10.2e}' for n in LAYERS))
    a, b = (grads[n]['backbone.conv1.weight'].flatten()
            for n in ('float32', 'bfloat16 autocast'))
    out['conv1_cosine_float32_bfloat16'] = float(
        torch.nn.functional.cosine_similarity(a, b, dim=0))
    print('cosine of conv1 gradients, float32 vs bfloat16: '
          f"{out['conv1_cosine_float32_bfloat16']:.3f}")
    if kind == 'cuda':
        out['conv3x3_relative_error'] = conv_error(device)
        print('one float32 3x3 convolution against float64: {default:.2e} '
              "with torch's default settings, {full_float32:.2e} in full "
              'float32'.format(**out['conv3x3_relative_error']))
    save(args.output, out)


if __name__ == '__main__':
    run_main(main)
