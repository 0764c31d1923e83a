"""The paper configs load, carry the published recipe, and build."""
import os

import numpy as np
import pytest
from mmengine.config import Config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAPER = {'hlss': 'configs/hlss/hlss_r50_b32p_hierarchical.py',
         'hidisc': 'configs/hlss/hidisc_r50_b32p_hierarchical.py'}


@pytest.mark.parametrize('name', ['hlss', 'hidisc'])
def test_paper_recipe(name):
    cfg = Config.fromfile(os.path.join(ROOT, PAPER[name]))
    assert cfg.optim_wrapper.optimizer.type == 'AdamW'
    assert cfg.optim_wrapper.optimizer.lr == 1e-3
    assert [s.type for s in cfg.param_scheduler] == ['LinearLR',
                                                     'CosineAnnealingLR']
    assert cfg.param_scheduler[1].end == cfg.train_cfg.max_iters
    assert cfg.train_dataloader.batch_size == 32
    ds = cfg.train_dataloader.dataset
    assert (ds.num_slides, ds.num_patches) == (2, 2)
    assert cfg.train_dataloader.dataset.pipeline[1].num_views == 2
    assert cfg.model.backbone.depth == 50
    assert cfg.model.loss.temperature == 0.07
    assert cfg.knn_eval.k == 200 and cfg.knn_eval.temperature == 0.07
    if name == 'hlss':
        for lv in ('patient', 'slide', 'patch'):
            head = cfg.model.heads[lv]
            assert head.type == 'TextInitHead' and len(head.attributes) >= 4
            assert all(len(a) >= 2 for a in head.attributes)
            assert head.in_channels == 2048
    else:
        assert cfg.model.heads.type == 'MLPHead'


@pytest.mark.slow
def test_paper_hlss_model_builds_with_embedding_files(tmp_path):
    from openselfsup.registry import MODELS
    cfg = Config.fromfile(os.path.join(ROOT, PAPER['hlss']))
    for i, lv in enumerate(('patient', 'slide', 'patch')):
        k = len(cfg.model.heads[lv].attributes)
        path = tmp_path / f'{lv}.npy'
        np.save(path, np.random.default_rng(i).normal(
            size=(k, cfg.text_width)).astype(np.float32))
        cfg.model.heads[lv].embeddings_file = str(path)
    model = MODELS.build(cfg.model)
    assert model.level_heads['patch'].proj[0].in_features == 2048
    assert model.level_heads['patch'].proj[0].out_features == 384
