"""The project's registries: one scope (``openselfsup``), children of mmpretrain's.

Every registry here is a child of the mmpretrain registry of the same name, so
a config with ``default_scope = 'openselfsup'`` finds both the modules this
project registers and everything mmpretrain (and, through it, MMEngine and
mmcv) already provides: ``ResNet``, ``MoCoV3Head``, ``LARS``,
``ImageClassifier``, the data preprocessors and transforms. A name
registered here as well wins in this scope: ``MoCoV3``
(:mod:`openselfsup.models.algorithms.mocov3`, mmpretrain's without GPU
reads in its momentum update), ``ImageClassifier``
(:mod:`openselfsup.models.algorithms.classifier`, mmpretrain's with its
GhostBN running-statistics updates applied together).

Register new modules with, e.g.::

    from openselfsup.registry import MODELS

    @MODELS.register_module()
    class MyHead(BaseModule):
        ...
"""
from typing import List, Tuple

from mmengine.registry import Registry
from mmpretrain import registry as _mmpretrain

_SCOPE = 'openselfsup'


def _child(name: str, location: str) -> Registry:
    parent = getattr(_mmpretrain, name)
    return Registry(
        parent.name, parent=parent, scope=_SCOPE, locations=[location])


RUNNERS = _child('RUNNERS', 'openselfsup.engine')
RUNNER_CONSTRUCTORS = _child('RUNNER_CONSTRUCTORS', 'openselfsup.engine')
LOOPS = _child('LOOPS', 'openselfsup.engine')
HOOKS = _child('HOOKS', 'openselfsup.engine')
LOG_PROCESSORS = _child('LOG_PROCESSORS', 'openselfsup.engine')
OPTIMIZERS = _child('OPTIMIZERS', 'openselfsup.engine')
OPTIM_WRAPPERS = _child('OPTIM_WRAPPERS', 'openselfsup.engine')
OPTIM_WRAPPER_CONSTRUCTORS = _child('OPTIM_WRAPPER_CONSTRUCTORS',
                                    'openselfsup.engine')
PARAM_SCHEDULERS = _child('PARAM_SCHEDULERS', 'openselfsup.engine')
DATASETS = _child('DATASETS', 'openselfsup.datasets.registered')
DATA_SAMPLERS = _child('DATA_SAMPLERS', 'openselfsup.datasets.registered')
TRANSFORMS = _child('TRANSFORMS', 'openselfsup.datasets.registered')
MODELS = _child('MODELS', 'openselfsup.models')
MODEL_WRAPPERS = _child('MODEL_WRAPPERS', 'openselfsup.models')
WEIGHT_INITIALIZERS = _child('WEIGHT_INITIALIZERS', 'openselfsup.models')
TASK_UTILS = _child('TASK_UTILS', 'openselfsup.models')
METRICS = _child('METRICS', 'openselfsup.evaluation')
EVALUATORS = _child('EVALUATORS', 'openselfsup.evaluation')
VISUALIZERS = _child('VISUALIZERS', 'openselfsup.engine')
VISBACKENDS = _child('VISBACKENDS', 'openselfsup.engine')


def known_names(registry: Registry, name: str,
                n: int = 3) -> Tuple[List[str], List[str]]:
    """For the refusal of a ``type`` no registry holds: every name that
    ``registry`` and its parents (mmpretrain's, MMEngine's) hold, sorted,
    and the (at most ``n``) closest to ``name``, case aside (difflib:
    ``sgd`` is ``SGD``, ``KAIMING`` ``Kaiming``). The one walk of the
    unknown optimizer and weight-initializer checks."""
    import difflib
    names, node = set(), registry
    while node is not None:
        names.update(node.module_dict)
        node = node.parent
    lower = {key.lower(): key for key in sorted(names)}
    near = [lower[key] for key in
            difflib.get_close_matches(name.lower(), lower, n=n)]
    return sorted(names), near
