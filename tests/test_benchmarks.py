"""The benchmarks' command lines (benchmarks/*.py): every command the docs
name still parses, ``--help`` shows every default, bad input is one line
before any work. Their numbers are in benchmarks/RESULTS.md, not tested."""
import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize('recipe', ['clp', 'fsp'])
def test_bench_pretrain_end_to_end_options_accepted(recipe, monkeypatch):
    """(b)'s ``--cfg-options`` are all taken by the recipe's config: the
    ``vis_backends`` variable among them was refused (an override that
    changes nothing), so (b) failed on every machine, the GPU's too."""
    from benchmarks import bench_pretrain
    from openselfsup.config import load_config
    monkeypatch.chdir(REPO)
    config = bench_pretrain.RECIPES[recipe]['config']
    cfg = load_config(config, bench_pretrain.train_options(
        '/data/NCT', 'meta/bench.txt', 2, 'auto', 8, False))
    assert cfg.train_dataloader.dataset.ann_file == 'meta/bench.txt'
    assert cfg.visualizer.vis_backends == [dict(type='LocalVisBackend')]
    assert cfg.total_batch_size == 8
