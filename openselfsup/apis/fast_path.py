"""Where the training views are made, and the GPU speed settings.

Three top-level config keys (set in the CLP / FSP base configs; a config
without them keeps the per-image pipeline, float32 and the default memory
format) decide how a pre-training run uses the machine;
:func:`apply_fast_path` resolves them when :func:`openselfsup.apis.train`
prepares the config:

``augment_on``
    ``'auto'`` (default): on a GPU, the data-loader workers only decode
    images and the recipe's augmentations run batched on the GPU
    (:class:`openselfsup.datasets.batch_aug.BatchAugment` inside the model's
    data preprocessor); without a GPU, the per-image pipeline of the config
    runs in the workers (Pillow, as published). ``'cpu'``: always the
    per-image pipeline. ``'device'``: always batched on the training device,
    a CPU included (tests, benchmarks).
``amp``
    ``'auto'``: bfloat16 autocast (MMEngine ``AmpOptimWrapper``) on a GPU,
    float32 without; ``'off'``; ``'bfloat16'`` / ``'float16'`` (GPU only).
``channels_last``
    ``'auto'``: channels-last model and batches on a GPU; True; False.
``compile_views``, ``prefetch_views``
    False (default) or True, with the batched views only:
    ``torch.compile`` of their jitter blends and blur passes; the next
    batch's views made on a side thread (a side CUDA stream) while the
    current step runs (:mod:`openselfsup.models.view_prefetch`).
``reuse_batch_memory``
    False (default) or True, with the batched views only: the data-loader
    workers collate each batch into shared-memory slots reused from batch
    to batch (:mod:`openselfsup.datasets.batch_ring`), where each batch
    was a fresh block that the main process (or, pinning batches, its
    pinning thread) freed holding the GIL; the same batches byte for byte.

On a GPU the run also gets ``cudnn_benchmark=True`` (as the published
configs) and non-blocking copies of pinned batches; with ``amp`` off, its
convolutions and matrix products in full float32, TF32 set aside
(:func:`full_float32`). The published runs used the per-image pipeline and
float32 (V100s: no TF32): ``augment_on='cpu' amp='off'
channels_last=False`` switches all of it back (docs/pretraining.md).
"""
import copy
import logging
from typing import Any, Callable, List, Optional

from ..utils import InputError

AUGMENT_ON = ('auto', 'cpu', 'device')
AMP = ('auto', 'off', 'bfloat16', 'float16')

_PREPROCESSORS = {
    'SelfSupDataPreprocessor': 'BatchAugSelfSupDataPreprocessor',
    'ClsDataPreprocessor': 'BatchAugClsDataPreprocessor',
}

#: the data preprocessor type a model class builds where its config names
#: none (None or a dict without ``type``), by the mmpretrain class it
#: derives from: each ``__init__`` takes ``data_preprocessor or {}`` and
#: ``setdefault('type', ...)`` of its own
#: (every mmpretrain model of a default with a batched version: review
#: r188, TimmClassifier, HuggingFaceClassifier and ImageToImageRetriever
#: derive from neither of the first two and were refused)
_CLASS_DEFAULTS = (('mmpretrain.models.selfsup.BaseSelfSupervisor',
                    'SelfSupDataPreprocessor'),
                   ('mmpretrain.models.classifiers.ImageClassifier',
                    'ClsDataPreprocessor'),
                   ('mmpretrain.models.classifiers.TimmClassifier',
                    'ClsDataPreprocessor'),
                   ('mmpretrain.models.classifiers.HuggingFaceClassifier',
                    'ClsDataPreprocessor'),
                   ('mmpretrain.models.retrievers.ImageToImageRetriever',
                    'ClsDataPreprocessor'))


def amp_optim_wrapper(wrapper, dtype: str) -> None:
    """Make the optimiser-wrapper config ``wrapper`` (in place) an MMEngine
    ``AmpOptimWrapper`` with ``dtype`` autocast.

    float16 gets dynamic loss scaling (its range needs it). bfloat16 gets
    none (``GradScaler(enabled=False)``): it has float32's exponent range,
    and MMEngine's default scaler would read a value back from the GPU in
    every optimiser step (the host then waits instead of queueing the
    step's kernels) and skip the steps where the growing scale overflows.
    A ``loss_scale`` already in the config is kept.
    """
    wrapper.type = 'AmpOptimWrapper'
    wrapper.dtype = dtype
    wrapper.setdefault('loss_scale', 'dynamic' if dtype == 'float16'
                       else dict(enabled=False))


def _one_of(value, allowed) -> bool:
    """Whether ``value`` is one of ``allowed``, of its type too: ``1``
    and ``0`` (equal to ``True`` and ``False``, so ``in`` took them) are
    not a switch's choices, as the run switches refuse them
    (:data:`~openselfsup.apis.train.RUN_VALUES`)."""
    return any(type(value) is type(a) and value == a for a in allowed)


def _choice(cfg, key: str, allowed, absent) -> object:
    value = cfg.get(key, absent)
    if not _one_of(value, allowed):
        raise InputError(f'{key}={value!r}: choose one of '
                         f'{", ".join(map(repr, allowed))}')
    return value


def check_fast_path_values(cfg) -> None:
    """Refuse an unknown ``augment_on``, ``amp``, ``channels_last``,
    ``compile_views``, ``prefetch_views``, ``reuse_batch_memory`` or
    ``compile_encoders`` of a
    training config (one with ``train_dataloader`` and ``model``), a
    pipeline setting both view paths refuse
    (:func:`~openselfsup.datasets.pipeline_checks.check_pipelines`) and a
    scoped type of the views the build finds nothing for
    (:func:`check_view_types`, which imports the model stack only for a
    config that gives one);
    torch-free otherwise: :func:`~openselfsup.apis.train.
    check_run_values` runs it for the launchers' ``--check-config`` and
    before a run (:func:`~openselfsup.apis.train.prepare_config`), and
    :func:`apply_fast_path` before it resolves them unless told that it
    ran (once per run).

    Raises:
        InputError: naming the key, the value and the choices.
    """
    if 'train_dataloader' not in cfg or 'model' not in cfg:
        return
    _choice(cfg, 'augment_on', AUGMENT_ON, 'cpu')
    _choice(cfg, 'amp', AMP, 'off')
    channels_last = cfg.get('channels_last', False)
    if not _one_of(channels_last, ('auto', True, False)):
        raise InputError(f'channels_last={channels_last!r}: choose auto, '
                         'True or False')
    for key in ('compile_views', 'prefetch_views', 'reuse_batch_memory'):
        value = cfg.get(key, False)
        if not _one_of(value, (True, False)):
            raise InputError(f'{key}={value!r}: choose True or False')
    # a mode's name (checked against torch's list when the model is
    # compiled: models.compiling.compile_options) or torch.compile's
    # arguments
    compile_encoders = cfg.get('compile_encoders', False)
    arguments = isinstance(compile_encoders, dict) and all(
        isinstance(k, str) for k in compile_encoders)
    mode = isinstance(compile_encoders, str) and compile_encoders.strip()
    if compile_encoders is not True and compile_encoders is not False \
            and not arguments and not mode:
        raise InputError(f'compile_encoders={compile_encoders!r}: choose '
                         'True, False, a torch.compile mode (--cfg-options '
                         'compile_encoders=max-autotune-no-cudagraphs) or, '
                         'in a config file, a dict of torch.compile '
                         'arguments (compile_encoders = dict(_delete_=True, '
                         "mode='max-autotune-no-cudagraphs'))")
    # what both view paths refuse (a prob outside [0, 1], a magnitude_level
    # outside [0, total_level]), refused the same way on both, before the
    # run (the per-image transforms took some of it without a word) and,
    # torch-free, before a launcher starts its processes
    from ..datasets.pipeline_checks import check_pipelines
    check_pipelines(cfg.train_dataloader, 'train_dataloader')
    # a scoped type the build does not find ('openselfsup.MultiView'):
    # looked up only where the views give one (torch-free otherwise);
    # every type is looked up when the run resolves the config
    # (apply_fast_path)
    check_view_types(cfg, dotted_only=True)


def fast_path_warnings(cfg) -> List[str]:
    """What each process of a run of training config ``cfg`` would warn
    of when it builds the views, found torch-free for the launchers'
    ``--check-config`` (which prints them once): a colour jitter range
    mmpretrain clips (:func:`~openselfsup.datasets.pipeline_checks.
    pipeline_warnings`)."""
    if 'train_dataloader' not in cfg or 'model' not in cfg:
        return []
    from ..datasets.pipeline_checks import pipeline_warnings
    return pipeline_warnings(cfg.train_dataloader, 'train_dataloader')


def is_multiview(t: Any, scope: str) -> bool:
    """Whether the pipeline transform config ``t`` builds mmpretrain's
    ``MultiView`` where the dataset builds its pipeline, in ``scope``
    (:func:`~openselfsup.datasets.pipeline_checks.transform_type`):
    ``'MultiView'`` and ``'mmpretrain.MultiView'``
    under ``'openselfsup'`` (the scoped name was taken for a plain
    transform and refused as one without a batched version, though the
    per-image path trains it), not ``'openselfsup.MultiView'``, which
    MMEngine does not look up in the project's parents (its ``KeyError``).
    Imports the model stack."""
    from ..datasets.pipeline_checks import transform_type
    return isinstance(t, dict) and transform_type(t, scope) == 'MultiView'


#: the modules of the wrappers whose ``transforms`` their build builds
#: through the registry, in the scope in force (mmcv's ``Compose``,
#: ``RandomApply``, ``RandomChoice``...; mmpretrain's ``MultiView``,
#: ``ApplyToList``), which :func:`check_view_types` looks into; not
#: mmpretrain's ``Albumentations`` (albumentations' own names) nor the
#: ``torchvision/`` containers (configs never built)
_WRAPPERS = ('mmcv.transforms.wrappers',
             'mmpretrain.datasets.transforms.wrappers')


def _pipeline_called_on(cfg) -> Optional[str]:
    """The library whose registry the training dataset of ``cfg`` builds
    its pipeline through: a class of the project's declares it
    (:data:`~openselfsup.config.REGISTRY_BUILT`: ``ImageList``,
    mmpretrain's), an mmpretrain dataset mmpretrain's; None for another
    (a dataset of the user's own: not judged)."""
    from mmpretrain.datasets import BaseDataset

    from ..config import REGISTRY_BUILT, build_scope, built_class
    dataset = cfg.train_dataloader.dataset
    cls = built_class(dataset, 'DATASETS',
                      build_scope(dataset, checked_scope(cfg)))
    declared = getattr(cls, REGISTRY_BUILT, None)
    if isinstance(declared, dict) and 'pipeline' in declared:
        return declared['pipeline']
    return 'mmpretrain' if isinstance(cls, type) and issubclass(
        cls, BaseDataset) else None


def check_view_types(cfg, dotted_only: bool = False) -> None:
    """Refuse a type the run of training config ``cfg`` finds nothing for
    where it builds the views: its data preprocessor's
    (:func:`~openselfsup.config.built_preprocessor`, where the model
    builds it, :func:`batched_preprocessor_class`'s scope), then each
    transform of the training pipeline (nested ones that a wrapper builds
    included, :data:`_WRAPPERS`), where the dataset builds it
    (:func:`pipeline_scope`, through the registry the dataset builds it
    on): a mistyped name, ``'openselfsup.MultiView'`` (MMEngine looks a
    scoped name up in that scope's registry alone, not its parents). The
    same line on both view paths, before the run: the per-image path
    stopped at the build (MMEngine's ``KeyError``), the batched one said
    "no batched version; use augment_on='cpu'", which failed as well.
    ``dotted_only`` (the torch-free check of the launchers'
    ``--check-config``, :func:`check_fast_path_values`): judged only
    where one of those types has a scope or module path (the lookup
    imports the model stack; the shipped configs give none).

    Raises:
        InputError: naming the key, the type and the scope.
    """
    from ..config import (build_scope, built_class, built_preprocessor,
                          config_dicts)
    where, pre = built_preprocessor(cfg)
    kind = pre.get('type') if isinstance(pre, dict) else None
    loader = cfg.get('train_dataloader') or {}
    dataset = loader.get('dataset') if isinstance(loader, dict) else None
    pipeline = dataset.get('pipeline') if isinstance(dataset, dict) \
        else None
    pipeline = list(pipeline) if isinstance(pipeline, (list, tuple)) \
        else []
    if dotted_only and not _dotted(kind) and not any(
            _dotted(t.get('type')) for _, t in config_dicts(
                pipeline, 'train_dataloader.dataset.pipeline')):
        return
    if isinstance(kind, str):  # built first: the runner builds the model
        from mmengine.model import BaseModel

        from ..config import built_model_class
        model = built_model_class(cfg)
        scope = build_scope(pre, build_scope(cfg.get('model'),
                                             checked_scope(cfg)))
        if isinstance(model, type) and issubclass(model, BaseModel) and \
                built_class(pre, 'MODELS', scope) is None:
            raise InputError(_unfound_type(
                f'{where}.type', kind, 'MODELS', scope, 'mmengine',
                "the model's build finds no such data preprocessor"))
    called_on = _pipeline_called_on(cfg) if pipeline else None
    if called_on is None:
        return

    def judge(node, key, scope):  # in the build's order: each, then its own
        if isinstance(node, (list, tuple)):
            for i, item in enumerate(node):
                judge(item, f'{key}.{i}', scope)
        elif isinstance(node, dict) and 'type' in node:
            built = built_class(node, 'TRANSFORMS', scope, called_on)
            if built is None:
                raise InputError(_unfound_type(
                    f'{key}.type', node['type'], 'TRANSFORMS',
                    build_scope(node, scope), called_on,
                    "the data set's build finds no such transform"))
            if getattr(built, '__module__', None) in _WRAPPERS:
                judge(node.get('transforms'), f'{key}.transforms',
                      build_scope(node, scope))
    judge(pipeline, 'train_dataloader.dataset.pipeline', pipeline_scope(cfg))


def _dotted(kind: Any) -> bool:
    """Whether a ``type`` is a name with a scope or a module path."""
    return isinstance(kind, str) and '.' in kind


def _unfound_type(key: str, kind: Any, registry: str, scope: str,
                  called_on: str, finds: str) -> str:
    """The line of :func:`check_view_types` for the type ``kind`` at
    ``key`` that the build (``finds``: what it finds none of, in words)
    finds nothing for in ``registry`` in ``scope``, with the name that
    finds a class where a scoped one does not."""
    from ..config import built_class
    where = f'scope {scope!r}' if scope else \
        f"{called_on}'s registry (no scope set)"
    hint = '; check its spelling and scope'
    bare = kind.rsplit('.', 1)[-1] if isinstance(kind, str) else None
    found = built_class(dict(type=bare), registry, scope, called_on) \
        if bare and bare != kind else None
    if found is not None:
        hint = (f'; {bare!r} builds {found.__module__}.{found.__name__}: '
                'a scoped name is looked up in that scope\'s registry '
                'alone, not in the registries it derives from')
    return (f'{key} {kind!r}: {finds} in {where} (MMEngine\'s KeyError, '
            f'with either augment_on){hint}')


def split_pipeline(pipeline: list, where: str, scope: str):
    """``(load, views, num_views, pack)`` of a training pipeline whose
    transforms are built in ``scope`` (the dataset's: its ``_scope_``,
    else the run's default scope).

    The pipeline must be ``[Load..., <augmentations>, PackInputs]`` where the
    augmentations are either one ``MultiView`` (CLP: :func:`is_multiview`)
    or plain transforms (FSP).

    Returns:
        tuple: the loading transform, a list of view pipelines (lists of
        transform dicts), the number of views, the packing transform.
    """
    from ..datasets.pipeline_checks import transform_type
    # known by what they build (transform_type): 'mmpretrain.PackInputs'
    # and the class itself too, which the per-image path trains
    if len(pipeline) < 2 or not (transform_type(pipeline[0], scope)
                                 or '').startswith('Load') \
            or transform_type(pipeline[-1], scope) != 'PackInputs':
        raise InputError(f'{where}: augment_on needs a pipeline that starts '
                         'with a Load... transform and ends with PackInputs')
    middle = list(pipeline[1:-1])
    if len(middle) == 1 and is_multiview(middle[0], scope):
        mv = middle[0]
        views = [list(v) for v in mv['transforms']]
        counts = mv['num_views']
        counts = [counts] * len(views) if isinstance(counts, int) else list(
            counts)
        expanded = [v for v, c in zip(views, counts) for _ in range(c)]
        return pipeline[0], expanded, len(expanded), pipeline[-1]
    if any(is_multiview(t, scope) for t in middle):
        raise InputError(f'{where}: MultiView must be the only augmentation '
                         'step for augment_on')
    return pipeline[0], [middle], 1, pipeline[-1]


def pipeline_scope(cfg) -> Any:
    """The scope the training dataset of ``cfg`` builds its pipeline in,
    for :func:`split_pipeline`: the dataset's ``_scope_`` where set, else
    the run's, as the training checks look a type up
    (:func:`~openselfsup.config.imported_scope`: under ``default_scope =
    None`` beside ``custom_imports`` the scope those modules made current),
    :func:`~openselfsup.config.run_scope` where that does not tell (review
    r194: ``''`` was taken there, and ``'openselfsup.MultiView'``, which the
    per-image build refuses with ``KeyError``, was split as a MultiView).
    The one rule of :func:`train_views` and its callers."""
    from ..config import build_scope
    return build_scope(cfg.train_dataloader.dataset, checked_scope(cfg))


def checked_scope(cfg) -> Any:
    """The run's scope as the training checks look a type up:
    :func:`~openselfsup.config.imported_scope` (under ``default_scope =
    None`` beside ``custom_imports``, the scope those modules made
    current), :func:`~openselfsup.config.run_scope` where that does not
    tell. The one rule of :func:`pipeline_scope` and
    :func:`check_given_batched_views`."""
    from ..config import imported_scope, run_scope
    scope = imported_scope(cfg)
    return run_scope(cfg) if scope is None else scope


def train_views(cfg) -> tuple:
    """:func:`split_pipeline` of the training pipeline of ``cfg`` in the
    scope its dataset builds it in (:func:`pipeline_scope`)."""
    return split_pipeline(cfg.train_dataloader.dataset.pipeline,
                          'train_dataloader.dataset.pipeline',
                          pipeline_scope(cfg))


def collate_function(collate: Any) -> Optional[Callable]:
    """The function a ``train_dataloader.collate_fn`` setting builds, as
    MMEngine's ``Runner.build_dataloader`` finds it: none given is
    ``pseudo_collate``; a dict's ``type`` a name in MMEngine's
    ``FUNCTIONS`` registry (a scope of its own, ``mypkg.my_collate``,
    looked up there) or the function itself; a function given as the
    setting (a Python config's ``collate_fn = pseudo_collate``) itself.
    None where it is none of these (an unregistered name)."""
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import FUNCTIONS
    if collate is None:
        return pseudo_collate
    kind = collate.get('type') if isinstance(collate, dict) else collate
    if isinstance(kind, str):
        try:
            return FUNCTIONS.get(kind)
        except (KeyError, ImportError):  # a scope that cannot be imported
            return None
    return kind if callable(kind) else None


def is_mmengine_collate(collate: Any) -> bool:
    """Whether a ``train_dataloader.collate_fn`` setting builds MMEngine's
    own ``pseudo_collate`` or ``default_collate`` (the functions
    themselves, not a user's of the same name: :func:`collate_function`),
    which the batched views take as ``decoded_collate``."""
    from mmengine.dataset import default_collate, pseudo_collate
    fn = collate_function(collate)
    return fn is pseudo_collate or fn is default_collate


def collate_said(collate: Any) -> str:
    """A ``train_dataloader.collate_fn`` setting as a refusal names it: its
    ``type`` name as given, or a function's module and name."""
    kind = collate.get('type') if isinstance(collate, dict) else collate
    if isinstance(kind, str):
        return kind
    name = getattr(kind, '__qualname__', None)
    return f'{kind.__module__}.{name}' if name and getattr(
        kind, '__module__', None) else repr(kind)


def default_preprocessor_type(cfg, where: str) -> str:
    """The data preprocessor type the model of training config ``cfg``
    builds where the one it is given (at ``where``, the dotted key of
    :func:`~openselfsup.config.built_preprocessor`) names none, by the
    class the run builds (:func:`~openselfsup.config.built_model_class`):
    a self-supervisor of mmpretrain's, ``SelfSupDataPreprocessor``; an
    ``ImageClassifier``, ``TimmClassifier``, ``HuggingFaceClassifier`` or
    ``ImageToImageRetriever``, ``ClsDataPreprocessor``
    (:data:`_CLASS_DEFAULTS`);
    a type that resolves to no class, ``ClsDataPreprocessor`` (the build
    says why it has none).

    Raises:
        InputError: a class that derives from neither (a model of the
            user's own): its default is its own, none of the batched
            ones.
    """
    import importlib

    from ..config import built_model_class
    cls = built_model_class(cfg)
    if cls is None:
        return 'ClsDataPreprocessor'
    for path, kind in _CLASS_DEFAULTS:
        module, name = path.rsplit('.', 1)
        if issubclass(cls, getattr(importlib.import_module(module), name)):
            return kind
    raise InputError(
        f'augment_on: {where} names no type, and model.type '
        f'{cls.__name__!r} is none of mmpretrain\'s models whose '
        "defaults have batched versions (its self-supervisors and "
        f"classifiers); set {where}.type ('SelfSupDataPreprocessor' or "
        "'ClsDataPreprocessor'), or use augment_on='cpu'")


def batched_preprocessor_class(cfg) -> Optional[type]:
    """The class of the data preprocessor the run of ``cfg`` builds
    (:func:`~openselfsup.config.built_preprocessor`) where it is one of
    the batched views' (``BatchAugSelfSupDataPreprocessor``,
    ``BatchAugClsDataPreprocessor`` or a subclass), else None: known by
    the class it builds where the model builds it (in its ``_scope_``,
    else the model's, else the run's scope as the training checks take
    it, :func:`checked_scope`), ``'openselfsup.BatchAug...'`` and the
    class itself too (a ``type`` starting with ``'BatchAug'`` was taken
    before). Imports the model stack."""
    import inspect

    from ..config import build_scope, built_class, built_preprocessor
    from ..models.data_preprocessors import _BatchAugMixin
    pre = built_preprocessor(cfg)[1]
    if not isinstance(pre, dict):
        return None
    cls = built_class(pre, 'MODELS',
                      build_scope(cfg.get('model'), checked_scope(cfg)))
    return cls if inspect.isclass(cls) and issubclass(
        cls, _BatchAugMixin) else None


def check_given_batched_views(cfg) -> None:
    """Refuse the views of a batched-views preprocessor that the training
    config ``cfg`` gives itself (``BatchAugSelfSupDataPreprocessor`` or
    ``BatchAugClsDataPreprocessor``, built as given on the per-image path:
    ``augment_on='cpu'``) as its build refuses them
    (:func:`~openselfsup.models.data_preprocessors.view_augments`: a count
    of view pipelines that is neither one nor ``num_views``, a transform
    without a batched version), named where the config sets it
    (:func:`~openselfsup.config.built_preprocessor`:
    ``data_preprocessor.views`` for a top-level one; the build names
    ``model.data_preprocessor.views``, an option that would give the model
    a preprocessor of that key alone, which wins over the top-level one),
    before the runner is built. The class is the one the run builds
    (:func:`~openselfsup.config.built_class`, in the preprocessor's
    ``_scope_``, else the model's, else the run's scope as the training
    checks take it, :func:`checked_scope`: review r195, under
    ``default_scope = None`` beside a ``custom_imports`` module that makes
    ``'openselfsup'`` current it looked in ``''``, found no class and
    passed views the run's build refuses); a
    ``num_views`` that is no integer is the setting-type check's. Imports
    the model stack only for a preprocessor given ``views``."""
    from ..config import build_scope, built_preprocessor
    where, pre = built_preprocessor(cfg)
    if not isinstance(pre, dict) or 'views' not in pre:
        return
    import inspect

    from ..models.data_preprocessors import view_augments
    from ..utils.log_filters import records_left_out
    cls = batched_preprocessor_class(cfg)
    if cls is None:
        return
    # one view where the class takes no num_views (the classifier's)
    takes = inspect.signature(cls).parameters.get('num_views')
    num_views = 1 if takes is None else pre.get('num_views', takes.default)
    if not isinstance(num_views, int):
        return
    # the warnings held back: the build logs them (as batched_views)
    with records_left_out(lambda record: record.levelno == logging.WARNING):
        # its types looked up where its build runs (in its own _scope_)
        view_augments(pre['views'], num_views, f'{where}.views',
                      scope=build_scope(pre, build_scope(
                          cfg.get('model'), checked_scope(cfg))))


def _project_type(name: str, registry: str, scope: str) -> str:
    """``name``, a type the project registers, spelled so that a build
    in ``scope`` finds the project's class (:func:`~openselfsup.config.
    built_class`): as it is where that scope's registry reaches it (the
    project's scope and its parents'), else with the project's scope
    (``'openselfsup.BatchAugSelfSupDataPreprocessor'`` under
    ``'mmpretrain'``, whose registries hold the project's as children),
    else as it is (a scope that reaches neither: the scope check's to
    refuse). Imports the model stack."""
    from ..config import PROJECT_SCOPE
    return _spelled_for(dict(type=name), registry, PROJECT_SCOPE, scope)


def _spelled_for(node: dict, registry: str, found: str, scope: str,
                 called_on: str = 'mmengine') -> Any:
    """The ``type`` of the config dict ``node`` spelled so that a build in
    ``scope`` finds the class a build in ``found`` finds
    (:func:`~openselfsup.config.built_class`, on ``called_on``'s
    registry): as it is where it does, else its name plain, else with
    the project's scope or one of the OpenMMLab scopes it builds on; as
    it is where none does (or ``found`` finds nothing: the refusals'
    then). Imports the model stack."""
    from ..config import PROJECT_SCOPE, built_class
    kind = node.get('type')
    ours = built_class(node, registry, found, called_on)
    if not isinstance(kind, str) or ours is None or built_class(
            node, registry, scope, called_on) is ours:
        return kind
    name = kind.rsplit('.', 1)[-1]
    for spelled in (name, *(f'{s}.{name}' for s in (
            PROJECT_SCOPE, 'mmpretrain', 'mmcv', 'mmengine'))):
        if built_class(dict(node, type=spelled), registry, scope,
                       called_on) is ours:
            return spelled
    return kind


def _views_for(views: list, found: str, scope: str) -> list:
    """The view pipelines ``views`` (of :func:`train_views`, their types
    judged where the dataset builds them, ``found``:
    :func:`pipeline_scope`) with each type, nested ones too, spelled so
    that the batched preprocessor's build in ``scope`` (the model's)
    knows the same transform (:func:`_spelled_for`): review r201, the
    dataset in ``_scope_='openselfsup'`` under ``default_scope =
    'mmpretrain'``, where ``'HueWrapColorJitter'`` passed the check and
    the model's build refused it. Imports the model stack."""
    from ..config import config_dicts
    views = copy.deepcopy(views)
    if found == scope:
        return views
    for _, node in config_dicts(views):
        if isinstance(node.get('type'), str):
            node['type'] = _spelled_for(node, 'TRANSFORMS', found, scope,
                                        'mmpretrain')
    return views


def batched_views(cfg) -> dict:
    """What :func:`batched_views_config` sets in the training config
    ``cfg`` to move its augmentations from the workers to the model,
    found without changing ``cfg`` (each of its refusals before any change:
    :func:`apply_fast_path`).

    Returns:
        dict: ``data_preprocessor`` (the batched one, with the same view
        transforms), ``pipeline`` (load + pack: decode only),
        ``num_views`` and, where the loader's collate is replaced by
        ``decoded_collate``, ``collate_fn``.

    Raises:
        InputError: a pipeline or data preprocessor without a batched
            version.
    """
    from ..config import build_scope, built_preprocessor, known_type
    loader = cfg.train_dataloader
    load, views, num_views, pack = train_views(cfg)
    # the one the run builds: the model's, else the top-level one (a
    # top-level-only SelfSupDataPreprocessor was taken for none: a
    # classifier's views refused, a classifier's mean / std dropped)
    where, old = built_preprocessor(cfg)
    old = copy.deepcopy(old or {})
    given = old.pop('type', None)
    # known by the class it builds where the model builds it (the one
    # rule: config.known_type), 'mmpretrain.SelfSupDataPreprocessor' and
    # the class itself too
    kind = default_preprocessor_type(cfg, where) if given is None else \
        known_type(dict(old, type=given), 'MODELS',
                   build_scope(cfg.get('model'), checked_scope(cfg)))
    if kind not in _PREPROCESSORS:
        # named where the config sets it (a top-level one's
        # data_preprocessor.type: config.built_preprocessor)
        raise InputError(f'augment_on: no batched version of the data '
                         f'preprocessor {given!r} ({where}.type); use '
                         "augment_on='cpu'")
    # spelled so that the model's build finds it in its scope (under
    # 'mmpretrain' the plain name stopped the run on KeyError)
    built_in = build_scope(old, build_scope(cfg.get('model'),
                                            checked_scope(cfg)))
    new = dict(old, type=_project_type(_PREPROCESSORS[kind], 'MODELS',
                                       built_in), non_blocking=True)
    # the views' types as the preprocessor's build knows them: the class
    # the dataset's scope found (they were judged there)
    given_views = _views_for(views, pipeline_scope(cfg), built_in)
    if _PREPROCESSORS[kind] == 'BatchAugSelfSupDataPreprocessor':
        # one pipeline for every view (made in one pass), else one per view
        # in MultiView's order: the distinct pipelines were given before,
        # which num_views=[2, 2] (views A, A, B, B) made 2 pipelines for 4
        # views, refused when the model was built
        same = all(v == views[0] for v in views)
        new.update(views=given_views[0] if same else given_views,
                   num_views=num_views)
    else:
        if num_views != 1:
            raise InputError('augment_on: a classifier takes one view, the '
                             f'pipeline makes {num_views}')
        new.update(views=given_views[0])
    # build once here so that a transform without a batched version fails
    # now, with one line, not at the first iteration; each distinct view
    # pipeline once, its warnings held back: the model's data preprocessor
    # builds the views again in the runner, which logs them (mmpretrain's
    # jitter clip warning came twice, once before the runner's log began)
    from ..datasets.batch_aug import BatchAugment, decoded_collate
    from ..utils.log_filters import records_left_out
    with records_left_out(lambda record: record.levelno == logging.WARNING):
        for i, v in enumerate(views):
            if v not in views[:i]:
                BatchAugment(v, 'train_dataloader.dataset.pipeline',
                             scope=pipeline_scope(cfg))
    out = dict(data_preprocessor=new, pipeline=[load, pack],
               num_views=num_views)
    # the same batch, a batch of several image sizes refused in one line
    # (torch's stack traceback); also for a config that names no collate
    # (MMEngine's default, pseudo_collate, gives a list of images, which
    # the batched views refused even where every image had one size); a
    # collate of the user's own is kept, and named where it gives no
    # stacked batch
    collate = loader.get('collate_fn')
    if is_mmengine_collate(collate):
        out['collate_fn'] = dict(collate if isinstance(collate, dict)
                                 else {}, type='decoded_collate')
    elif collate_function(collate) is not decoded_collate:
        new.update(collate=collate_said(collate))
    return out


def batched_views_config(cfg, note: List[str],
                         views: Optional[dict] = None) -> None:
    """Move the training augmentations from the workers to the model, in
    place: the dataset pipeline becomes load + pack (decode only); the
    model's data preprocessor becomes the batched one with the same view
    transforms, made from the preprocessor the run builds (the model's,
    else the top-level one: :func:`~openselfsup.config.built_preprocessor`)
    and written as ``model.data_preprocessor``, which the run reads first
    (a top-level one is left unread). ``views``: :func:`batched_views` of
    ``cfg`` where the caller has it already (else found here, refused
    before any change)."""
    if views is None:
        views = batched_views(cfg)
    loader = cfg.train_dataloader
    if 'collate_fn' in views:
        loader.collate_fn = views['collate_fn']
    cfg.model.data_preprocessor = views['data_preprocessor']
    loader.dataset.pipeline = views['pipeline']
    note.append(f'augment_on: {views["num_views"]} view(s) made batched on '
                'the training device; data-loader workers only decode')


def check_views(cfg, batched: bool, types: bool = True) -> Optional[dict]:
    """The views of training config ``cfg`` judged as the run makes them,
    the one sequence of :func:`apply_fast_path` and of the launchers'
    check (``train._check_views_given``): every type of the views found
    (:func:`check_view_types`; ``types=False``: the caller judged them,
    the launch check's torch-free per-image path), then on the per-image
    path (``batched=False``) a batched preprocessor of the config's own
    (:func:`check_given_batched_views`), on the batched one the pipeline
    split and the batched preprocessor made (:func:`batched_views`) and,
    with ``reuse_batch_memory``, the collate it keeps
    (:func:`check_reused_batch_memory`).

    Returns:
        dict | None: :func:`batched_views`' result on the batched path,
        else None.

    Raises:
        InputError: the first refusal of those, in that order.
    """
    # a type the build of the views does not find: the same line on both
    # view paths
    if types:
        check_view_types(cfg)
    if not batched:  # a batched preprocessor of the config's own
        check_given_batched_views(cfg)
        return None
    views = batched_views(cfg)
    if cfg.get('reuse_batch_memory', False):
        check_reused_batch_memory(views.get(
            'collate_fn', cfg.train_dataloader.get('collate_fn')))
    return views


def check_reused_batch_memory(collate: Any) -> None:
    """Refuse ``reuse_batch_memory`` for the training loader's collate
    setting ``collate`` (as the batched views leave it:
    :func:`batched_views` makes MMEngine's own collates
    ``decoded_collate``) of the user's own
    (:func:`openselfsup.datasets.batch_ring.check_ring_collate`, the rule
    the runner's built loader is held to as well). Where it passes,
    :func:`apply_fast_path` sets ``reuse_batch_memory`` in the loader's
    settings, which the project's runner reads when it builds the loader
    (:func:`openselfsup.datasets.batch_ring.reuse_batch_memory`)."""
    from ..datasets.batch_ring import check_ring_collate
    check_ring_collate(collate_function(collate),
                       isinstance(collate, dict) and bool(
                           set(collate) - {'type'}),
                       'the config', collate_said(collate))


def resolved_augment_on(augment: str, cuda: bool) -> str:
    """Where ``augment_on`` makes the views: ``'device'`` (batched, by the
    model's data preprocessor) or ``'cpu'`` (the per-image pipeline in the
    workers); ``'auto'`` is the device on a GPU (``cuda``), else the CPU."""
    return 'device' if augment == 'device' or (
        augment == 'auto' and cuda) else 'cpu'


def _amp_refusal(amp: str, flag_over) -> str:
    """The line refusing a GPU-only ``amp`` on the CPU, with the change
    that passes: leave out ``--amp`` where it set it, and set the config's
    own GPU-only ``amp`` to 'off' (a config without the key refuses
    ``--cfg-options amp=off``)."""
    own = amp if flag_over is None else flag_over
    own_gpu = own not in ('off', 'auto')
    fixes = (['leave out --amp'] if flag_over is not None else []) + (
        ["set amp='off' (--cfg-options amp=off)"] if own_gpu else [])
    source = ("the config's amp" if flag_over is None else
              f"--amp; the config's own amp={own!r} too" if own_gpu else
              '--amp')
    return (f'amp={amp!r} ({source}) needs a GPU; on the CPU '
            f'{" and ".join(fixes)}')


def own_amp_wrapper(cfg) -> bool:
    """Whether the config's ``optim_wrapper`` builds an MMEngine
    ``AmpOptimWrapper`` (or a subclass) itself: its ``type`` looked up as
    the runner's build looks it up (MMEngine's ``OPTIM_WRAPPERS`` in the
    run's default scope, :func:`~openselfsup.config.scope_registry`), so
    that ``'AmpOptimWrapper'``, ``'mmengine.AmpOptimWrapper'`` and the
    class itself are all one (the scoped name and the class were taken for
    a float32 run). Imports MMEngine's registries where a type is set."""
    wrapper = cfg.get('optim_wrapper') or {}
    kind = wrapper.get('type') if hasattr(wrapper, 'get') else None
    if kind is None:
        return False
    from mmengine.optim import AmpOptimWrapper

    from ..config import run_scope, scope_registry
    if isinstance(kind, str):
        kind = scope_registry('OPTIM_WRAPPERS', run_scope(cfg)).get(kind)
    return isinstance(kind, type) and issubclass(kind, AmpOptimWrapper)


def full_float32(cfg, cuda: bool) -> bool:
    """Whether a run of the config ``cfg`` (:func:`apply_fast_path`
    resolved it) trains in float32 on a GPU (``cuda``): ``amp`` 'off' and
    no ``AmpOptimWrapper`` of the config's own. Such a run computes its
    convolutions and matrix products in full float32
    (:class:`~openselfsup.utils.precision.Ieee32`, around the training
    loop): torch gives cuDNN's float32 convolutions TF32 by default (10
    mantissa bits on Ampere and later GPUs), where the published runs, on
    V100s, had none. An autocast run (bfloat16, float16) keeps torch's
    settings: its convolutions and matrix products take bfloat16 or
    float16 inputs, which TF32 does not touch."""
    return bool(cuda) and cfg.get('amp', 'off') == 'off' and \
        not own_amp_wrapper(cfg)


def float32_block(cfg, cuda: bool):
    """The precision block a run of the config ``cfg``
    (:func:`apply_fast_path` resolved it) trains and is evaluated in:
    :class:`~openselfsup.utils.precision.Ieee32` ('cuda') where
    :func:`full_float32`, else one that changes nothing. ``train()``
    enters it around the training loop, the balance sweep around the
    evaluation of each run it reports, so that the metrics reported are
    computed as the run trained and stopped early."""
    from ..utils.precision import Ieee32
    return Ieee32('cuda' if full_float32(cfg, cuda) else None)


def trained_precision(cfg, device: str) -> dict:
    """What a run's record says of the machine and precision it trained
    and was evaluated in (:func:`float32_block`), as an extracted set's
    provenance says it (:func:`~openselfsup.models.extraction
    .precision_fields`): ``device`` (``'cuda'``, ``'cpu'``...) and, float32
    on a GPU (:func:`full_float32`), ``tf32: False``: its convolutions and
    matrix products in full float32, where before this was recorded a
    GPU's ran cuDNN's default TF32. No field on the CPU (no TF32 there)
    nor with autocast."""
    out = dict(device=str(device))
    if full_float32(cfg, str(device).split(':')[0] == 'cuda'):
        out['tf32'] = False
    return out


def _batched_only(key: str, does: str, batched: bool, also: str = '') -> None:
    """Refuse the switch ``key`` set True, which ``does`` something to
    the batched views, for a run without them (``batched`` False), with
    ``also`` said after the way out."""
    if not batched:
        raise InputError(f"{key}=True {does}: it needs augment_on='device' "
                         "(or 'auto' on a GPU)" + (f'; {also}' if also
                                                   else ''))


def _project_runner_only(cfg, key: str, why: str) -> None:
    """Refuse the switch ``key`` set True where the config ``cfg`` builds
    MMEngine's own Runner, which cannot apply it (``why``)."""
    from ..config import builds_plain_runner
    if builds_plain_runner(cfg):
        raise InputError(
            f"{key}=True needs the project's runner: set runner_type = "
            "'AtomicRunner' in the config (--cfg-options "
            f'runner_type=AtomicRunner); {why}')


def apply_fast_path(cfg, cuda: bool, amp_flag_over=None,
                    checked: bool = False) -> List[str]:
    """Resolve ``augment_on``, ``compile_views``, ``prefetch_views``,
    ``reuse_batch_memory``, ``amp`` and ``channels_last`` in place.

    Args:
        cfg (Config): the training config (after the batch split).
        cuda (bool): whether the run trains on a GPU.
        amp_flag_over: where ``--amp`` set ``amp='float16'``, the config's
            own ``amp`` it replaced (``'off'`` for a config without the
            key); None without ``--amp``. Only the refusal's advice reads
            it.
        checked (bool): the values and the pipelines were checked
            already (:func:`check_fast_path_values`, run by
            :func:`~openselfsup.apis.train.check_run_values`, which a
            training run calls first); False: checked here.

    Returns:
        list[str]: notes for the run's log.

    Raises:
        InputError: an unknown value, a GPU-only choice without a GPU, or a
            pipeline that has no batched version; each before the config
            is changed (a caller that catches it keeps its config as it
            was).
    """
    notes: List[str] = []
    if 'train_dataloader' not in cfg or 'model' not in cfg:
        return notes
    if not checked:
        check_fast_path_values(cfg)
    # a config without these keys (HLSS, balanced tuning) keeps its
    # pipeline, float32 and the default memory format
    augment = cfg.get('augment_on', 'cpu')
    amp = cfg.get('amp', 'off')
    channels_last = cfg.get('channels_last', False)
    compile_views = cfg.get('compile_views', False)
    batched = resolved_augment_on(augment, cuda) == 'device'
    if compile_views:
        _batched_only('compile_views', 'compiles the batched views', batched)
    if cfg.get('prefetch_views', False):
        _batched_only('prefetch_views', 'makes the batched views ahead',
                      batched, 'the per-image views are made ahead by the '
                      'data-loader workers')
        from ..config import built_preprocessor
        model = cfg.model
        where, pre = built_preprocessor(cfg)
        if (pre or {}).get('batch_augments') \
                or 'augments' in (model.get('train_cfg') or {}):
            # Mixup / CutMix draw from numpy's and torch's global
            # generators, which the main thread's step draws from too: on
            # the side thread they drew the next batch's numbers before a
            # checkpoint was saved, and a resumed run diverged
            raise InputError(
                'prefetch_views=True cannot make batch augments (Mixup, '
                f"CutMix: {where}.batch_augments or "
                'model.train_cfg.augments) ahead: they draw from the '
                "process's global random generators, which the step "
                'draws from too; set prefetch_views=False '
                '(--cfg-options prefetch_views=False)')
        _project_runner_only(cfg, 'prefetch_views', "MMEngine's Runner, "
                             'which the config builds, makes the views in '
                             'the step')
    reuse = cfg.get('reuse_batch_memory', False)
    if reuse:
        _batched_only('reuse_batch_memory', "collates the batched views' "
                      'decoded images into reused shared memory', batched)
        _project_runner_only(cfg, 'reuse_batch_memory', "MMEngine's Runner "
                             'builds a plain data loader')
    views = check_views(cfg, batched)
    if amp == 'auto':
        amp = 'bfloat16' if cuda else 'off'
    if amp != 'off' and not cuda:
        raise InputError(_amp_refusal(amp, amp_flag_over))
    # every refusal above, before the first change below: a caller that
    # catches one (a notebook, a test that reuses the config) keeps its
    # config as it was

    # the loader's own key is this switch's (a config dumped by a run with
    # it on holds it): set below where the switch is on, else dropped
    cfg.train_dataloader.pop('reuse_batch_memory', None)
    if views is not None:
        batched_views_config(cfg, notes, views)
        if reuse:
            cfg.train_dataloader.reuse_batch_memory = True
            notes.append('reuse_batch_memory: data-loader workers collate '
                         'into reused shared-memory slots (none allocated '
                         'or freed per batch)')
        if compile_views:
            cfg.model.data_preprocessor['compile_views'] = True
            notes.append('compile_views: the views\' jitter blends and blur '
                         'passes (where they have them) through '
                         'torch.compile (compiled at the first batches)')
        if cfg.get('prefetch_views', False):
            notes.append('prefetch_views: the next batch\'s views made on '
                         'a side thread while a step runs')
    cfg.augment_on = 'device' if batched else 'cpu'

    if amp != 'off':
        wrapper = cfg.optim_wrapper
        own = own_amp_wrapper(cfg)
        if not own:
            amp_optim_wrapper(wrapper, amp)
            notes.append(f'amp: {amp} autocast (AmpOptimWrapper' + (
                ', dynamic loss scaling)' if amp == 'float16' else
                ', no loss scaling)'))
        runs = wrapper.get('dtype') or 'float16'
        if own and runs != amp:  # the config's own wrapper is kept
            notes.append(f"amp: the config's own AmpOptimWrapper keeps "
                         f"dtype {runs} (asked: {amp})")
        amp = runs
    cfg.amp = amp
    if full_float32(cfg, cuda):
        notes.append('amp: off, float32 in full precision (TF32 set aside '
                     'for the convolutions and matrix products, as on the '
                     'published V100s)')

    if channels_last == 'auto':
        channels_last = cuda
    cfg.channels_last = bool(channels_last)
    if channels_last:
        from ..config import built_preprocessor
        if batched_preprocessor_class(cfg) is not None:
            built_preprocessor(cfg)[1]['channels_last'] = True
        notes.append('channels_last: model and batches in channels-last '
                     'memory format')
    if cuda:
        cfg.setdefault('env_cfg', {})['cudnn_benchmark'] = True
    return notes
