"""Every config loads and builds its model; the recipes say what the paper says."""
import glob
import os

import pytest
from mmengine.config import Config
from mmengine.registry import init_default_scope

from _foundation_helpers import REPO

CONFIGS = sorted(
    os.path.relpath(p, REPO)
    for p in glob.glob(os.path.join(REPO, 'configs', '**', '*.py'),
                       recursive=True))
WITH_MODEL = [c for c in CONFIGS if 'model' in Config.fromfile(
    os.path.join(REPO, c))]
HELD_OUT = [str(c) for c in range(9)] + ['78']


@pytest.fixture(scope='module', autouse=True)
def registries():
    import openselfsup.datasets  # noqa: F401
    import openselfsup.engine  # noqa: F401
    import openselfsup.models  # noqa: F401
    init_default_scope('openselfsup')


@pytest.mark.parametrize('path', CONFIGS)
def test_config_loads(path):
    """Every config loads; a training config's run values pass the check
    made before a run (the shipped values are valid ones)."""
    from openselfsup.apis.train import check_run_values
    cfg = Config.fromfile(os.path.join(REPO, path))
    if not path.startswith(os.path.join('configs', '_base_')):
        assert cfg.default_scope == 'openselfsup'
        if 'train_dataloader' in cfg:
            check_run_values(cfg)


SCALED = [c for c in CONFIGS if not c.startswith(os.path.join(
    'configs', '_base_')) and 'auto_scale_lr' in Config.fromfile(
        os.path.join(REPO, c))]


@pytest.mark.parametrize('path', SCALED)
def test_auto_scale_lr_keeps_the_recipe_lr_on_one_process(path):
    """``--auto-scale-lr`` on one process, as the runner applies it
    (``AtomicRunner.scale_lr`` on an optimiser wrapper built from the
    config's, its ``accumulative_counts`` too): the config's lr, the one
    its recipe pairs with its batch, stays. Before, the HiDisc configs
    inherited HLSS's base of 32 with their batch of 10 (the published lr
    1e-3 became 3.1e-4; the demos' batch 6: 5.6e-4 for 3e-3), the ViT
    demo the captions config's 64 with its 32, and MMEngine's rule
    counted one batch per step where the slide setting accumulates 16
    (batch 1, base 16: lr 1e-5 became 6.3e-7)."""
    from types import SimpleNamespace

    import torch
    from mmengine.optim import OptimWrapper

    from openselfsup.engine import AtomicRunner
    cfg = Config.fromfile(os.path.join(REPO, path))
    lr = cfg.optim_wrapper.optimizer.lr
    wrapper = OptimWrapper(torch.optim.AdamW(
        [torch.nn.Parameter(torch.zeros(1))], lr=lr),
        accumulative_counts=cfg.optim_wrapper.get('accumulative_counts', 1))
    runner = SimpleNamespace(
        _train_dataloader=dict(cfg.train_dataloader), world_size=1,
        param_schedulers=None, logger=SimpleNamespace(info=print))
    AtomicRunner.scale_lr(runner, wrapper,
                          dict(cfg.auto_scale_lr, enable=True))
    assert wrapper.optimizer.param_groups[0]['lr'] == pytest.approx(lr)



@pytest.mark.parametrize('world', [1, 2, 3])
def test_auto_scale_lr_with_accumulation_logs_the_config_base(world):
    """``--auto-scale-lr`` on ``world`` processes for the config that
    accumulates (batch 1 x 16, base 16): lr x world x 1 x 16 / 16, and
    the log line names the config's base and that total (before, the
    scaling was right but the line read 'based on batch size of 1.0 and
    the current batch size is 1', MMEngine's rule given the base over
    the count)."""
    from types import SimpleNamespace

    import torch
    from mmengine.optim import OptimWrapper

    from openselfsup.engine import AtomicRunner
    cfg = Config.fromfile(os.path.join(
        REPO, 'configs/balance/balance_hipt_isup.py'))
    lr, counts = cfg.optim_wrapper.optimizer.lr, \
        cfg.optim_wrapper.accumulative_counts
    batch, base = cfg.train_dataloader.batch_size, \
        cfg.auto_scale_lr.base_batch_size
    wrapper = OptimWrapper(torch.optim.AdamW(
        [torch.nn.Parameter(torch.zeros(1))], lr=lr),
        accumulative_counts=counts)
    lines = []
    runner = SimpleNamespace(
        _train_dataloader=dict(cfg.train_dataloader), world_size=world,
        param_schedulers=None, logger=SimpleNamespace(info=lines.append))
    AtomicRunner.scale_lr(runner, wrapper,
                          dict(cfg.auto_scale_lr, enable=True))
    total = world * batch * counts
    assert wrapper.optimizer.param_groups[0]['lr'] == pytest.approx(
        lr * total / base)
    assert len(lines) == 1 and lines[0].startswith(
        f'LR is set based on batch size of {base} and the current batch '
        f'size is {total} '), lines


@pytest.mark.parametrize('path', WITH_MODEL)
def test_config_builds_model(path):
    """Every model builds, and its ``init_cfg`` entries (with their
    ``override`` items) pass the run's check of them: their types and
    keys before the model is built, so a config skipped below (local
    weights not here) is checked too (it was checked only with a model
    built), and the names of its overrides with the model."""
    from openselfsup.apis.train import check_init_cfgs
    from openselfsup.registry import MODELS
    from openselfsup.utils import InputError
    cfg = Config.fromfile(os.path.join(REPO, path))
    check_init_cfgs(cfg, path)  # no model needed
    text = cfg.model.get('text_encoder') or {}
    if text.get('type') == 'OpenCLIPText' and not text.get('model_cfg'):
        pytest.skip('the full CLIP text tower embeds 1536 attribute '
                    'sentences (minutes on CPU); tests/test_hlss_configs.py '
                    'builds and trains this config shrunk')
    try:
        model = MODELS.build(cfg.model)
    except InputError as exc:  # paper configs name local weights / models
        if ('all-MiniLM-L6-v2 is not installed' not in str(exc) and
                'text encoder folder not found' not in str(exc) and
                'not found (model.backbone.checkpoint' not in str(exc)):
            raise
        pytest.skip(f'{path}: {exc}')
    assert sum(p.numel() for p in model.parameters()) > 0
    # its overrides' names are attributes of the modules they name
    check_init_cfgs(cfg, path, model)


def test_every_recipe_variant_exists_and_differs_only_in_list():
    for folder, stem, lst in (
            ('wsi_selfsup/moco_v3', 'r18_bs256_ep200', 'meta/{}_train.txt'),
            ('classification/nct', 'r18_bs512_ep100',
             'meta/{}_train_labeled.txt')):
        base = Config.fromfile(
            os.path.join(REPO, 'configs', folder, f'{stem}_all.py'))
        assert base.train_dataloader.dataset.ann_file == lst.format(
            'train').replace('train_train', 'train')
        for c in HELD_OUT:
            cfg = Config.fromfile(
                os.path.join(REPO, 'configs', folder, f'{stem}_wo_{c}.py'))
            assert cfg.train_dataloader.dataset.ann_file == lst.format(
                f'wo_{c}')
            cfg.train_dataloader.dataset.ann_file = \
                base.train_dataloader.dataset.ann_file
            assert cfg.to_dict() == base.to_dict()


def test_clp_recipe_matches_paper():
    cfg = Config.fromfile(os.path.join(
        REPO, 'configs/wsi_selfsup/moco_v3/r18_bs256_ep200_all.py'))
    m = cfg.model
    assert (m.type, m.backbone.depth) == ('MoCoV3', 18)
    assert (m.neck.in_channels, m.neck.hid_channels, m.neck.out_channels,
            m.neck.num_layers) == (512, 1024, 256, 3)
    p = m.head.predictor
    assert (p.in_channels, p.hid_channels, p.out_channels,
            p.num_layers) == (256, 1024, 256, 2)
    assert m.head.temperature == 1.0
    assert m.head.loss.loss_weight == 2 * m.head.temperature
    # key momentum 0.996 -> 1 == CosineEMA weight of new params 0.004 -> 0
    assert m.base_momentum == pytest.approx(1 - 0.996)
    o = cfg.optim_wrapper.optimizer
    assert (o.type, o.lr, o.weight_decay, o.momentum) == ('OpenSelfSupLARS',
                                                          0.3, 1.5e-6, 0.9)
    # every parameter in one LARS group, as published
    assert 'paramwise_cfg' not in cfg.optim_wrapper
    assert cfg.param_scheduler[0].type == 'CosineAnnealingLR'
    assert m.head.type == 'GroupMoCoV3Head' and m.head.group_size == 32
    assert m.backbone.norm_cfg == dict(type='GhostBN', group_size=32)
    assert m.neck.with_last_bn and m.head.predictor.with_last_bn
    assert cfg.train_cfg.max_epochs == 200 and cfg.total_batch_size == 256
    views = cfg.train_dataloader.dataset.pipeline[1].transforms[0]
    by_type = {v.type: v for v in views}
    assert by_type['RandomResizedCrop'].scale == 224
    assert by_type['RandomResizedCrop'].crop_ratio_range == (0.2, 1.0)
    jitter = by_type['RandomApply']
    assert jitter.prob == 0.8
    j = jitter.transforms[0]
    assert (j.brightness, j.contrast, j.saturation, j.hue) == (.4, .4, .4, .4)
    assert by_type['PillowGrayscale'].prob == 0.2
    assert by_type['GaussianBlur'].prob == 0.5
    assert by_type['Solarize'].prob == 0.2
    assert by_type['RandomFlip'].prob == 0.5


def test_fsp_recipe_matches_paper():
    cfg = Config.fromfile(os.path.join(
        REPO, 'configs/classification/nct/r18_bs512_ep100_all.py'))
    assert cfg.model.type == 'ImageClassifier'
    assert cfg.model.head.num_classes == 9
    o = cfg.optim_wrapper.optimizer
    assert (o.type, o.lr, o.momentum, o.weight_decay) == ('SGD', 0.5, 0.9,
                                                          0.0)
    assert cfg.model.backbone.zero_init_residual is False
    assert cfg.param_scheduler[0].milestones == [30, 60, 90]
    assert cfg.train_cfg.max_epochs == 100 and cfg.total_batch_size == 512
    assert cfg.train_dataloader.dataset.num_classes == 9


def test_hue_jitter_wraps_instead_of_crashing():
    """mmcv's adjust_hue overflows for negative hue under numpy 2."""
    import numpy as np
    from PIL import Image

    from openselfsup.datasets.transforms import adjust_hue
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
    for f in (-0.4, 0.0, 0.3):
        out = adjust_hue(img, f)
        assert out.shape == img.shape and out.dtype == np.uint8
    # reference: PIL HSV with the hue channel rotated by hand
    h, s, v = [np.asarray(c, dtype=np.int64) for c in Image.fromarray(
        img[..., ::-1]).convert('HSV').split()]
    h = (h + int(-0.4 * 255)) % 256
    ref = Image.merge('HSV', [Image.fromarray(c.astype(np.uint8))
                              for c in (h, s, v)]).convert('RGB')
    assert np.array_equal(adjust_hue(img, -0.4),
                          np.asarray(ref)[..., ::-1])


def _image_pipelines():
    """Every distinct pipeline of the configs that reads an image file
    (``LoadImageFromFile`` first): ``(config, where, transforms)``."""
    found, seen = [], set()

    def walk(node, where, path):
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f'{where}.{key}' if where else key, path)
        elif isinstance(node, (list, tuple)):
            if node and isinstance(node[0], dict) and \
                    node[0].get('type') == 'LoadImageFromFile':
                steps = [dict(t) for t in node if t.get('type') != 'PackInputs']
                if repr(steps) not in seen:
                    seen.add(repr(steps))
                    found.append((path, where, steps))
            else:
                for i, value in enumerate(node):
                    walk(value, f'{where}.{i}', path)
    for path in CONFIGS:
        if not path.startswith(os.path.join('configs', '_base_')):
            walk(Config.fromfile(os.path.join(REPO, path)).to_dict(), '',
                 path)
    return found


@pytest.mark.parametrize('path,where,steps', _image_pipelines(),
                         ids=lambda v: v if isinstance(v, str) else '')
def test_image_pipelines_run_on_many_draws(path, where, steps, tmp_path):
    """Each image pipeline of a config, as its dataset would run it (up to
    the packing), on a 300 x 280 JPEG: its loader gives PIL's pixels (no
    EXIF orientation applied, as the published torchvision-on-PIL code),
    and over 40 seeded draws no draw may raise
    (the balance captions config's colour jitter raised on about half of
    them under numpy 2 before ee0303f), the result is uint8 images."""
    import numpy as np
    from mmengine.dataset import Compose
    from PIL import Image

    from openselfsup.registry import TRANSFORMS
    img = str(tmp_path / 'x.jpg')
    Image.fromarray((np.random.default_rng(0).random((300, 280, 3)) * 255)
                    .astype(np.uint8)).save(img, quality=90)
    # the loader reads the pixels as the published code's PIL.Image.open(
    # path).convert('RGB'): an EXIF orientation tag is not applied
    rotated = str(tmp_path / 'exif.jpg')
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees on display
    Image.open(img).save(rotated, quality=90, exif=exif)
    loaded = TRANSFORMS.build(steps[0])({'img_path': rotated})['img']
    np.testing.assert_array_equal(
        loaded[..., ::-1], np.asarray(Image.open(rotated).convert('RGB')))
    pipeline = Compose([TRANSFORMS.build(t) for t in steps])
    for seed in range(40):
        np.random.seed(seed)
        out = pipeline({'img_path': img})
        views = out['img'] if isinstance(out['img'], list) else [out['img']]
        assert all(v.dtype == np.uint8 and v.ndim == 3 for v in views), \
            (path, where)


def test_type_name_is_what_the_registry_builds():
    """config.type_name, the one reading of a config ``type`` without its
    scope (the schedule rules, the downloading datasets, the sampler and
    ImageList checks, the sweep's split check, knn's trained patients each
    wrote it out): each form against the class MMEngine's registry builds
    for it."""
    from mmengine.optim import CosineAnnealingLR
    from mmengine.registry import PARAM_SCHEDULERS

    from openselfsup.config import type_name
    for kind in ('CosineAnnealingLR', 'mmengine.CosineAnnealingLR',
                 CosineAnnealingLR):
        built = kind if not isinstance(kind, str) else \
            PARAM_SCHEDULERS.get(kind)
        assert built is CosineAnnealingLR
        assert type_name(kind) == built.__name__ == 'CosineAnnealingLR'
    assert type_name('openselfsup.SlideReports') == 'SlideReports'
    assert type_name(None) is None and type_name(3) is None


def test_a_config_text_is_parsed_once_and_its_sections_are_new_values(
        monkeypatch):
    """config.config_text_section reads a checkpoint's config text as
    data; a resume reads some eight sections of one text, and each read
    parsed the whole text again. Now a text is parsed once: the parses
    counted over several sections of one text, and the values against the
    text's own by hand, a value changed by its caller not changing the
    next read."""
    import ast
    import uuid

    from openselfsup.config import UNREADABLE, config_text_section
    parses = []
    real = ast.parse
    monkeypatch.setattr(ast, 'parse',
                        lambda *a, **k: parses.append(1) or real(*a, **k))
    # a text no earlier read has kept
    text = (f'# {uuid.uuid4()}\nparam_scheduler = [dict(type="LinearLR", '
            'end=2), dict(type="MultiStepLR", milestones=[1])]\n'
            'train_cfg = dict(by_epoch=True, max_epochs=3)\n'
            'amp = "float16"\ntrain_cfg = dict(max_iters=4)\nhook = f(1)\n')
    section = config_text_section(text, 'param_scheduler')
    assert section == [dict(type='LinearLR', end=2),
                       dict(type='MultiStepLR', milestones=[1])]
    section[1]['milestones'].append(2)
    section.append('changed')
    assert config_text_section(text, 'param_scheduler') == [
        dict(type='LinearLR', end=2), dict(type='MultiStepLR',
                                           milestones=[1])]
    # the first assignment of a name is read (as before), not the last
    assert config_text_section(text, 'train_cfg') == dict(by_epoch=True,
                                                          max_epochs=3)
    assert config_text_section(text, 'amp') == 'float16'
    assert config_text_section(text, 'hook') is UNREADABLE
    assert config_text_section(text, 'absent') is None
    assert config_text_section('a = (', 'a') is None  # does not parse
    assert len(parses) == 2, len(parses)  # the text, then 'a = ('


#: a constructor argument or config key whose name suggests a file
#: (:func:`_unlisted_file_arguments`)
FILE_LIKE = ('file', 'path', 'checkpoint', 'ckpt', 'pretrained', 'weight',
             'dir', 'root', 'url', 'load', 'vocab', 'tokenizer')
#: such names that are no file, each with its reason: the values
#: config.reads_a_file leaves out of a model's file digests on purpose
NOT_FILE_ARGUMENTS = {
    'weights': "HiDiscLoss's per-level loss weights (numbers)",
    'align_weight': "TextInitHead's weight of the alignment term (a number)",
    'loss_weight': "mmpretrain's losses' weight (a number)",
    'class_weight': "mmpretrain's CrossEntropyLoss: per-class weights, "
                    'numbers (a list)',
    'pos_weight': "mmpretrain's CrossEntropyLoss: the positive classes' "
                  'weights (numbers)',
    'drop_path_rate': "mmpretrain's ResNet: the stochastic depth rate "
                      '(a number)',
    'drop_path': "mmpretrain's Vig / PyramidVig: the stochastic depth "
                 'rate (a number)',
    'use_checkpoint': "mmpretrain's TinyViT / MixMIM: gradient "
                      'checkpointing on or off (a bool)',
    'vocab_size': "mmpretrain's DALLEEncoder: the size of its token "
                  'vocabulary (a number)',
    'pretrained_window_sizes': "mmpretrain's SwinTransformerV2: the "
                               "window sizes its pretraining used "
                               '(numbers)',
    'tokenizer': "mmpretrain's GroundingHead: the tokenizer's config (a "
                 'dict, its own keys walked as the section\'s)',
}


def _file_like(name: str) -> bool:
    return any(part in name.lower() for part in FILE_LIKE)


def _arguments(cls):
    """The ``__init__`` arguments of ``cls`` and of the classes it passes
    ``*args`` / ``**kwargs`` on to (its MRO, up to torch's Module); a
    function's own (a registry may hold a builder function)."""
    import inspect
    names = set()
    if not isinstance(cls, type):
        try:
            params = inspect.signature(cls).parameters.values()
        except (TypeError, ValueError):
            return names
        return {p.name for p in params if p.kind not in (
            p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    for klass in cls.__mro__:
        if klass.__module__.startswith(('torch', 'builtins')):
            continue
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            continue
        names |= {p.name for p in params if p.name != 'self' and p.kind
                  not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
    return names


def _unlisted_file_arguments(classes, sections):
    """``'<class or config key>: <argument>'`` of each argument of
    ``classes`` and each leaf key of the model ``sections`` (``{config:
    plain model dict}``) whose name suggests a file and that is in
    neither config.MODEL_FILE_ARGUMENTS nor :data:`NOT_FILE_ARGUMENTS`."""
    from openselfsup.config import MODEL_FILE_ARGUMENTS, flat_config
    known = set(MODEL_FILE_ARGUMENTS) | set(NOT_FILE_ARGUMENTS)
    out = [f'{cls.__module__}.{cls.__qualname__}: {name}'
           for cls in classes for name in sorted(_arguments(cls))
           if _file_like(name) and name not in known]
    for config, model in sections.items():
        for key in flat_config(model, 'model.'):
            name = key.rsplit('.', 1)[-1]
            if _file_like(name) and name not in known:
                out.append(f'{config}: {key}')
    return sorted(set(out))


def test_every_file_argument_of_a_model_is_known():
    """config.MODEL_FILE_ARGUMENTS is kept by hand: the model arguments
    whose files count by their contents (knn_eval.py's
    ``model_files_sha1``, the text encoder of an export record); any other
    value is a setting. A model class that opens a file under another
    argument name would be fingerprinted by its path alone, without a
    word. Every argument of every model class the project registers, of
    each class the shipped configs' model sections build, every class
    mmpretrain registers (a ``type`` resolves there too: review r199
    found ``TIMMBackbone``'s ``checkpoint_path`` and two more missing)
    and each key of those sections whose name suggests a file is in
    that list or in :data:`NOT_FILE_ARGUMENTS`, with its reason. The
    walk finds a class planted with a ``vocab_file``."""
    from mmengine.registry import MODELS as ROOT_MODELS

    import mmpretrain.models  # noqa: F401  (registers them all)
    import openselfsup.models.extraction  # noqa: F401  (the extractors)
    from mmpretrain.registry import MODELS as MMPRETRAIN_MODELS
    from openselfsup.config import config_dicts, flat_config
    from openselfsup.registry import MODELS
    classes = set(MODELS.module_dict.values()) | set(
        MMPRETRAIN_MODELS.module_dict.values())
    assert {'TIMMBackbone', 'CLIPGenerator'} <= set(
        MMPRETRAIN_MODELS.module_dict)
    sections = {}
    for config in WITH_MODEL:
        model = Config.fromfile(os.path.join(REPO, config)).model.to_dict()
        sections[config] = model
        for _, node in config_dicts(model):
            kind = node.get('type')
            if isinstance(kind, type):
                classes.add(kind)
            elif isinstance(kind, str):
                found = MODELS.get(kind) or ROOT_MODELS.get(kind)
                if found is not None:
                    classes.add(found)
    names = {n for cls in classes for n in _arguments(cls)} | {
        k.rsplit('.', 1)[-1] for m in sections.values()
        for k in flat_config(m, 'model.')}
    assert set(NOT_FILE_ARGUMENTS) <= names, \
        'a reason kept for a name no model has'
    assert _unlisted_file_arguments(classes, sections) == []
    # the weights files the builds check for are in the list too
    from openselfsup.config import MODEL_FILE_ARGUMENTS, MODEL_FILES
    assert {arg for arg, *_ in MODEL_FILES.values()} <= \
        set(MODEL_FILE_ARGUMENTS)

    class Planted:
        def __init__(self, in_channels, vocab_file=None):
            pass
    assert _unlisted_file_arguments([Planted], {}) == [
        f'{__name__}.test_every_file_argument_of_a_model_is_known.'
        '<locals>.Planted: vocab_file']
