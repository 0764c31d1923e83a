"""Two-iteration HLSS and HiDisc runs from the demo configs, then the kNN
command on the checkpoint."""
import json
import os

import numpy as np
import pytest

from openselfsup.utils import run_cli

CONFIGS = {'hlss': 'configs/demo/hlss_r18_synthetic.py',
           'hidisc': 'configs/demo/hidisc_r18_synthetic.py'}
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class _Payload:
    """Pickles as a call that creates ``path`` when unpickled unsafely."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, 'w'))


@pytest.fixture(scope='module')
def hier_root(tmp_path_factory):
    from openselfsup.datasets.synthetic import (HierarchicalSpec,
                                                make_synthetic_hierarchical)
    root = tmp_path_factory.mktemp('hier')
    make_synthetic_hierarchical(str(root), HierarchicalSpec(
        size=32, classes=('TUM', 'ADI'), train_patients=2, val_patients=1,
        slides=(1, 2), patches=(1, 3), seed=0))
    for i, lv in enumerate(('patient', 'slide', 'patch')):
        np.save(root / f'{lv}.npy', np.random.default_rng(i).normal(
            size=(8, 32)).astype(np.float32))
    return str(root)


def _options(root, knn_hook):
    data = dict(metadata=f'{root}/metadata.json', split=f'{root}/split.json')
    opts = {'train_cfg.max_iters': 2, 'train_dataloader.batch_size': 2,
            'default_hooks.checkpoint.interval': 2,
            'default_hooks.logger.interval': 1}
    for k, v in data.items():
        opts[f'train_dataloader.dataset.{k}'] = v
        opts[f'knn_eval.bank.{k}'] = v
        opts[f'knn_eval.query.{k}'] = v
        if knn_hook:
            opts[f'custom_hooks.0.bank.{k}'] = v
            opts[f'custom_hooks.0.query.{k}'] = v
    if knn_hook:
        opts['custom_hooks.0.interval'] = 2
    else:
        opts['custom_hooks'] = []
    for lv in ('patient', 'slide', 'patch'):
        opts[f'model.heads.{lv}.embeddings_file'] = f'{root}/{lv}.npy'
    return opts


@pytest.mark.slow
@pytest.mark.parametrize('method', ['hlss', 'hidisc'])
def test_two_iteration_run_then_knn_command(hier_root, tmp_path, method,
                                            monkeypatch):
    from mmengine.config import Config

    from openselfsup.apis import train
    monkeypatch.chdir(ROOT)
    opts = _options(hier_root, knn_hook=method == 'hlss')
    if method == 'hidisc':
        opts = {k: v for k, v in opts.items() if '.embeddings_file' not in k}
    work = str(tmp_path / 'work')
    runner = train(CONFIGS[method], work_dir=work, cfg_options=opts)
    assert runner.iter == 2
    # the shared runtime: checkpoints written atomically by AtomicRunner
    assert type(runner).__name__ == 'AtomicRunner'
    hub = runner.message_hub
    losses = {k for k in hub.log_scalars if k.startswith('train/loss_')}
    assert losses == {'train/loss_patient', 'train/loss_slide',
                      'train/loss_patch'}
    for k in losses:
        assert np.isfinite(hub.get_scalar(k).current())
    if method == 'hlss':
        assert 'train/kl_patch' in hub.log_scalars  # logged, not trained
        assert 'knn/patient_acc' in hub.log_scalars  # the hook ran
    ckpt = os.path.join(work, 'iter_2.pth')
    assert os.path.isfile(ckpt)
    # the standalone command on the checkpoint
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        'knn_eval', os.path.join(ROOT, 'tools', 'knn_eval.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    cfg_path = str(tmp_path / 'cfg.py')
    cfg = Config.fromfile(CONFIGS[method])
    cfg.merge_from_dict(opts)
    cfg.dump(cfg_path)
    out = str(tmp_path / 'knn')
    assert run_cli(tool.main, [cfg_path, ckpt, '--out-dir', out]) == 0
    res = json.load(open(os.path.join(out, 'knn_iter_2.json')))
    assert {'patch', 'slide', 'patient'} <= set(res)
    assert os.path.getsize(os.path.join(out, 'knn_iter_2.png')) > 1000
    assert res['patient']['n'] == 2
    assert run_cli(tool.main, [cfg_path, str(tmp_path / 'none.pth')]) == 2
    # the command loads with weights_only=True: a pickled object that would
    # run code when loaded (here: create a file) is read as an inert
    # placeholder, never called; the weights are still evaluated, and the
    # resume-side loader refuses the file outright
    import torch

    from openselfsup.engine.checkpoint import load_checkpoint_file
    from openselfsup.utils import InputError
    state = torch.load(ckpt, map_location='cpu', weights_only=True)
    marker = str(tmp_path / 'pwned')
    state['meta']['payload'] = _Payload(marker)
    bad = str(tmp_path / 'bad.pth')
    torch.save(state, bad)
    assert run_cli(tool.main, [cfg_path, bad, '--out-dir', out]) == 0
    assert not os.path.exists(marker)
    again = json.load(open(os.path.join(out, 'knn_bad.json')))
    assert again.pop('checkpoint') == bad
    assert again == {k: v for k, v in res.items() if k != 'checkpoint'}
    with pytest.raises(InputError, match='weights_only=True'):
        load_checkpoint_file(bad)
    assert not os.path.exists(marker)


def test_random_init_baseline(hier_root, tmp_path, monkeypatch):
    """--random-init evaluates the untrained model; same seed, same result;
    checkpoint and --random-init exclude each other."""
    import importlib.util

    from mmengine.config import Config
    monkeypatch.chdir(ROOT)
    spec = importlib.util.spec_from_file_location(
        'knn_eval', os.path.join(ROOT, 'tools', 'knn_eval.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    opts = _options(hier_root, knn_hook=False)
    opts = {k: v for k, v in opts.items() if '.embeddings_file' not in k}
    cfg = Config.fromfile(CONFIGS['hidisc'])
    cfg.merge_from_dict(opts)
    cfg_path = str(tmp_path / 'cfg.py')
    cfg.dump(cfg_path)
    results = []
    for sub in ('a', 'b'):
        out = str(tmp_path / sub)
        assert run_cli(tool.main, [cfg_path, '--random-init', '--seed', '3',
                                   '--out-dir', out]) == 0
        results.append(json.load(open(
            os.path.join(out, 'knn_random_init_seed3.json'))))
    assert results[0] == results[1]
    assert results[0]['checkpoint'] == 'random init (seed 3)'
    assert results[0]['patient']['n'] == 2
    assert run_cli(tool.main, [cfg_path]) == 2
    assert run_cli(tool.main, [cfg_path, '--random-init']) == 2  # no out-dir
