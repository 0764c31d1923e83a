"""A data preprocessor set at the top level only (mmpretrain's configs set
it there; MMEngine's ``Runner.__init__`` merges it into a model that has
none: ``model.setdefault('data_preprocessor', data_preprocessor)``) is
read as the run builds it (``config.built_preprocessor``), each case
against what MMEngine builds or what the shipped demo (the model's own
preprocessor) gives."""
import pytest
from mmengine.config import Config

from _foundation_helpers import CLP_DEMO


def _merged(cfg) -> dict:
    """The model's data preprocessor as MMEngine's ``Runner.__init__``
    merges it, by hand: the reference each case is held to."""
    model = dict(cfg['model'])
    if cfg.get('data_preprocessor') is not None:
        model.setdefault('data_preprocessor', cfg['data_preprocessor'])
    return model.get('data_preprocessor')


def _top_level(cfg: Config, **changes) -> Config:
    """``cfg`` with its model's data preprocessor moved to the top level
    (replacing the one there), with ``changes``: as mmpretrain's configs
    set it."""
    cfg.data_preprocessor = dict(cfg.model.pop('data_preprocessor'),
                                 **changes)
    return cfg


def test_built_preprocessor_is_the_one_mmengine_merges():
    """The model's own (None included) where the model has the key, else
    the top-level one, else none: as ``Runner.__init__``'s ``setdefault``,
    done by hand on each case."""
    from openselfsup.config import built_preprocessor
    own, top = dict(type='A'), dict(type='B')
    for cfg in (dict(model=dict(data_preprocessor=own), data_preprocessor=top),
                dict(model=dict(data_preprocessor=None),
                     data_preprocessor=top),
                dict(model=dict(), data_preprocessor=top),
                dict(model=dict(), data_preprocessor=None),
                dict(model=dict())):
        key, got = built_preprocessor(Config(cfg))
        assert got == _merged(cfg)
        at = cfg if key == 'data_preprocessor' else cfg['model']
        assert at.get('data_preprocessor') == got


@pytest.mark.parametrize('seed', [5, 7])
def test_a_plain_runners_top_level_batched_preprocessor_takes_the_seed(
        tmp_path, seed):
    """MMEngine's Runner built from a config whose batched-views
    preprocessor is at the top level only, without ``seed``:
    ``give_built_process_seed`` gives the built one the run's seed, as
    the project's runner gives it at its build (before: 0 under every
    ``randomness.seed``, ``runner.cfg`` being the copy taken before the
    merge)."""
    from mmengine.runner import Runner

    from openselfsup.engine.runner import (AtomicRunner,
                                           give_built_process_seed)
    seeds = {}
    for runner_type in (Runner, AtomicRunner):
        cfg = _top_level(Config.fromfile(CLP_DEMO),
                         type='BatchAugSelfSupDataPreprocessor',
                         views=Config.fromfile(CLP_DEMO).view_pipeline,
                         num_views=2)
        cfg.pop('runner_type')
        cfg.randomness = dict(seed=seed)
        name = runner_type.__name__
        cfg.work_dir, cfg.experiment_name = str(tmp_path / name), name
        runner = runner_type.from_cfg(cfg)
        assert 'data_preprocessor' not in runner.cfg.model  # the copy
        give_built_process_seed(runner)
        seeds[name] = runner.model.data_preprocessor.seed
    assert seeds == {'Runner': seed, 'AtomicRunner': seed}

