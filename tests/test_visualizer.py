"""LazyFigureVisualizer: mmpretrain's UniversalVisualizer, its figure made
when it first draws."""
import numpy as np
import pytest


def _visualizers(tmp_path):
    from mmengine.registry import init_default_scope
    from mmpretrain.visualization import UniversalVisualizer

    import openselfsup.engine  # noqa: F401
    from openselfsup.registry import VISUALIZERS
    init_default_scope('openselfsup')
    made = {}
    for kind in ('LazyFigureVisualizer', 'UniversalVisualizer'):
        made[kind] = VISUALIZERS.build(dict(
            type=kind, name=f'{kind}_{tmp_path.name}',
            vis_backends=[dict(type='LocalVisBackend')],
            save_dir=str(tmp_path / kind), fig_save_cfg=dict(frameon=False)))
    assert type(made['UniversalVisualizer']) is UniversalVisualizer
    return made['LazyFigureVisualizer'], made['UniversalVisualizer']


def test_it_draws_what_mmpretrains_visualizer_draws(tmp_path):
    lazy, theirs = _visualizers(tmp_path)
    assert 'fig_save' not in vars(lazy)
    assert lazy.dpi == theirs.dpi
    image = np.random.default_rng(0).integers(0, 255, (40, 56, 3),
                                              dtype=np.uint8)
    drawn = []
    for vis in (lazy, theirs):
        vis.set_image(image)
        vis.draw_bboxes(np.array([[4, 4, 30, 20]]), edge_colors='r')
        vis.draw_texts('dense', np.array([10, 30]), colors='g')
        drawn.append(vis.get_image())
    assert drawn[0].shape == image.shape
    np.testing.assert_array_equal(drawn[0], drawn[1])
    # a clustered image, as mmpretrain's classification view draws it
    sample_views = [vis.visualize_cls(image, _sample(), show=False)
                    for vis in (lazy, theirs)]
    np.testing.assert_array_equal(*sample_views)


def _sample():
    import torch
    from mmpretrain.structures import DataSample
    return DataSample().set_gt_label(2).set_pred_label(1).set_pred_score(
        torch.tensor([0.1, 0.3, 0.6]))


def test_other_missing_attributes_are_still_missing(tmp_path):
    lazy, _ = _visualizers(tmp_path)
    with pytest.raises(AttributeError, match='no attribute .nothing_here'):
        lazy.nothing_here
    assert 'fig_save' not in vars(lazy)


def test_a_training_run_makes_no_figure(tmp_path, synthetic_root):
    """The demo's runtime builds this visualiser; a run draws nothing, so
    its figure is never made."""
    import os

    from _foundation_helpers import CLP_DEMO, small_config
    from openselfsup.apis.train import build_runner
    cfg = small_config(CLP_DEMO, str(tmp_path / 'cfg.py'),
                       os.path.join(synthetic_root, 'NCT'))
    runner = build_runner(cfg, work_dir=str(tmp_path / 'work'))
    assert runner.cfg.visualizer.type == 'openselfsup.LazyFigureVisualizer'
    runner.train()
    assert type(runner.visualizer).__name__ == 'LazyFigureVisualizer'
    assert os.path.isfile(tmp_path / 'work' / 'epoch_1.pth')
    assert not {'fig_save', 'ax_save', 'fig_save_canvas'} & set(
        vars(runner.visualizer))
