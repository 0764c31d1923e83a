"""A data preprocessor set at the top level only (mmpretrain's configs set
it there; MMEngine's ``Runner.__init__`` merges it into a model that has
none: ``model.setdefault('data_preprocessor', data_preprocessor)``) is
read as the run builds it (``config.built_preprocessor``), each case
against what MMEngine builds or what the shipped demo (the model's own
preprocessor) gives."""
from mmengine.config import Config


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

