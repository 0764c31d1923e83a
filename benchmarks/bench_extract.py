"""Feature extraction and pre-training throughput (images per second).

Data loading and compute are measured apart:

- loading: the extraction pipeline (Pillow decode of a 224 px PNG, resize,
  pack) over synthetic H&E patches, in this process (one core);
- extraction compute: the extraction config's ResNet-18 + pooling on
  in-memory uint8 batches (normalisation included), float32 and with
  channels-last and/or AMP (bfloat16 on CPU, float16 on CUDA);
- pre-training compute: one training step (forward, cross-entropy,
  backward, SGD) of the same ResNet-18 on in-memory batches; a MoCo-v3 step
  costs about three such forwards and two backwards.

    python -m benchmarks.bench_extract --output benchmarks/results/extract.json
"""
import os
import sys
import tempfile
import time

import numpy as np
import torch

if __package__ in (None, ''):  # run as a file: make `benchmarks` importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(
        os.path.abspath(__file__))))

from benchmarks._common import add_output, count, machine, parse, parser, \
    run_main, save

CONFIG = 'configs/extraction/nct_train.py'


def _patches(root: str, num: int, size: int = 224) -> str:
    from PIL import Image

    from openselfsup.datasets.synthetic.tissue import PALETTES, STYLES, \
        render_patch
    rng = np.random.default_rng(0)
    styles, palette = list(STYLES.values()), next(iter(PALETTES.values()))
    lines = []
    for i in range(num):
        img = render_patch(rng, styles[i % len(styles)], palette, size)
        Image.fromarray(img).save(os.path.join(root, f'p{i}.png'))
        lines.append(f'p{i}.png {i % len(styles)}')
    with open(os.path.join(root, 'list.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return 'list.txt'


def loading_rate(num: int) -> float:
    from mmengine.config import Config

    from openselfsup.apis.extract import build_dataset
    with tempfile.TemporaryDirectory() as root:
        ann = _patches(root, num)
        cfg = Config.fromfile(CONFIG)
        cfg.dataset.update(data_root=root, ann_file=ann, data_prefix='',
                           num_classes=None, classes=None)
        ds = build_dataset(cfg)
        t0 = time.perf_counter()
        for i in range(len(ds)):
            ds[i]
        return len(ds) / (time.perf_counter() - t0)


def compute_rates(device: torch.device, batch: int, iters: int, train: bool):
    from mmengine.config import Config

    from openselfsup.apis.extract import build_extractor
    cfg = Config.fromfile(CONFIG)
    model = build_extractor(cfg).to(device)
    mean = torch.tensor([123.675, 116.28, 103.53], device=device).view(
        1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375], device=device).view(1, 3, 1, 1)
    images = torch.randint(0, 256, (batch, 3, 224, 224), dtype=torch.uint8,
                           device=device)
    head = torch.nn.Linear(512, 9).to(device)
    labels = torch.randint(0, 9, (batch,), device=device)
    cuda = device.type == 'cuda'
    amp_dtype = torch.float16 if cuda else torch.bfloat16
    rates = {}
    for cl in (False, True):
        for amp in (False, True):
            m = model.to(memory_format=torch.channels_last if cl
                         else torch.contiguous_format)
            m.train(train)
            opt = torch.optim.SGD(list(m.parameters()) + list(head.parameters()),
                                  lr=0.01) if train else None

            def step():
                x = (images.float() - mean) / std
                if cl:
                    x = x.contiguous(memory_format=torch.channels_last)
                with torch.autocast(device.type, dtype=amp_dtype,
                                    enabled=amp), \
                        torch.set_grad_enabled(train):
                    f = m.extract_feat(x)
                    f = (f[-1] if isinstance(f, (tuple, list)) else f
                         ).flatten(1)
                    if train:
                        loss = torch.nn.functional.cross_entropy(
                            head(f.float()), labels)
                if train:
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
            step()  # warm-up
            if cuda:
                torch.cuda.synchronize(device)
            t0 = time.perf_counter()
            for _ in range(iters):
                step()
            if cuda:
                torch.cuda.synchronize(device)
            rates[f'channels_last={cl} amp={amp}'] = \
                batch * iters / (time.perf_counter() - t0)
    return rates


def main(argv=None):
    p = parser(__doc__)
    p.add_argument('--device', default=None,
                   help='cpu, cuda or cuda:N (default: cuda where torch '
                   'sees a GPU, else cpu)')
    p.add_argument('--batch', type=count, default=None,
                   help='images per extraction batch (default: 256 on '
                   'CUDA, 32 on CPU); a training step takes half of it, '
                   'at least 8')
    p.add_argument('--iters', type=count, default=None,
                   help='timed iterations after one warm-up (default: 20 '
                   'on CUDA, 3 on CPU)')
    p.add_argument('--load_images', type=count, default=64,
                   help='synthetic 224 px PNGs decoded by the loading part')
    add_output(p)
    args = parse(p, argv)
    from openselfsup.utils.device import resolve_device
    device = resolve_device(args.device or (
        'cuda' if torch.cuda.is_available() else 'cpu'))
    cuda = device.type == 'cuda'
    batch = args.batch or (256 if cuda else 32)
    iters = args.iters or (20 if cuda else 3)
    train_batch = max(batch // 2, 8)
    out = {'machine': machine(), 'args': vars(args), 'device': str(device),
           'batch': batch, 'train_batch': train_batch, 'iters': iters}
    out['loading_images_per_s_one_process'] = loading_rate(args.load_images)
    out['extraction_images_per_s'] = compute_rates(device, batch, iters, False)
    out['train_step_images_per_s'] = compute_rates(device, train_batch, iters,
                                                   True)
    print(f'device {device}, 224 px, batch {batch} (training step '
          f'{train_batch}), {iters} timed iterations; x float32: the rate '
          'over the same part\'s float32 contiguous rate, same run')
    print(f'  data loading (decode + resize, 1 process): '
          f'{out["loading_images_per_s_one_process"]:8.1f} images/s')
    for what in ('extraction_images_per_s', 'train_step_images_per_s'):
        plain = out[what]['channels_last=False amp=False']
        for k, v in out[what].items():
            print(f'  {what[:-13]:<12} {k:<32} {v:8.1f} images/s  '
                  f'{v / plain:5.2f}x float32')
    save(args.output, out)


if __name__ == '__main__':
    run_main(main)
