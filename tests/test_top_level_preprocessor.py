"""A data preprocessor set at the top level only (mmpretrain's configs set
it there; MMEngine's ``Runner.__init__`` merges it into a model that has
none: ``model.setdefault('data_preprocessor', data_preprocessor)``) is
read as the run builds it (``config.built_preprocessor``), each case
against what MMEngine builds or what the shipped demo (the model's own
preprocessor) gives."""
import os

import pytest
from mmengine.config import Config

from _foundation_helpers import (CLP_DEMO, FSP_DEMO, scope_setting_module,
                                 small_config)


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


@pytest.mark.parametrize('demo', [CLP_DEMO, FSP_DEMO])
def test_the_batched_views_keep_a_top_level_preprocessors_settings(demo):
    """``augment_on='device'`` with the demo's preprocessor at the top level
    only gives the batched preprocessor of the demo as shipped (before:
    the CLP demo's was refused as a classifier's of one view, the FSP
    demo's mean / std dropped without a word), written where the run
    reads it first."""
    from openselfsup.apis.fast_path import apply_fast_path
    shipped = Config.fromfile(demo)
    moved = _top_level(Config.fromfile(demo))
    for cfg in (shipped, moved):
        cfg.augment_on = 'device'
        apply_fast_path(cfg, cuda=False)
    assert moved.model.data_preprocessor == shipped.model.data_preprocessor
    assert _merged(moved) == _merged(shipped)
    assert _merged(moved)['mean'] == \
        Config.fromfile(demo).model.data_preprocessor.mean


def test_prefetch_refuses_a_top_level_preprocessors_batch_augments():
    """``prefetch_views`` refuses Mixup in a top-level-only preprocessor,
    named where it is set, as it refuses the model's own (before: passed,
    the preprocessor taken for none)."""
    from openselfsup.apis.fast_path import apply_fast_path
    from openselfsup.utils import InputError
    mixup = [dict(type='Mixup', alpha=0.2)]
    for cfg, key in ((Config.fromfile(FSP_DEMO), 'model.data_preprocessor'),
                     (_top_level(Config.fromfile(FSP_DEMO)),
                      'data_preprocessor')):
        at = cfg if key == 'data_preprocessor' else cfg.model
        at.data_preprocessor.batch_augments = dict(augments=mixup)
        cfg.merge_from_dict(dict(augment_on='device', prefetch_views=True))
        with pytest.raises(InputError, match=f'CutMix: {key}.batch_augments '
                           'or model.train_cfg.augments'):
            apply_fast_path(cfg, cuda=False)


def test_channels_last_reaches_a_top_level_batched_preprocessor():
    """``channels_last`` sets it in a batched preprocessor that is at the
    top level only (the one the run builds), as in the model's own."""
    from openselfsup.apis.fast_path import apply_fast_path
    got = []
    for move in (False, True):
        cfg = Config.fromfile(CLP_DEMO)
        cfg.model.data_preprocessor = dict(
            type='BatchAugSelfSupDataPreprocessor', views=cfg.view_pipeline,
            num_views=2)
        if move:
            _top_level(cfg)
        cfg.merge_from_dict(dict(augment_on='cpu', channels_last=True))
        apply_fast_path(cfg, cuda=False)
        got.append(_merged(cfg).get('channels_last'))
    assert got == [True, True]


def test_a_label_range_refusal_names_a_top_level_num_classes(tmp_path):
    """The keys a list's labels need raised name a top-level-only
    preprocessor's ``num_classes`` where it is set: the option offered
    keeps its type and mean / std (``model.data_preprocessor.num_classes``
    made the model a preprocessor of that key alone, which wins)."""
    from openselfsup.apis.train import label_range_refusal
    from openselfsup.config import load_config
    lst = tmp_path / 'list.txt'
    lst.write_text(''.join(f'a{i}.png {i}\n' for i in range(12)))
    cfg = _top_level(Config.fromfile(FSP_DEMO), num_classes=9)
    path = str(tmp_path / 'cfg.py')
    cfg.dump(path)
    said = str(label_range_refusal(
        load_config(path), path, 'train_dataloader.dataset', str(lst), 9,
        list(range(12)), 9))
    option = said.split('set --cfg-options ')[1].split()[-1]
    assert option == 'data_preprocessor.num_classes=12', said
    key, value = option.split('=')
    pre = _merged(load_config(path, {key: int(value)}))
    assert pre == dict(cfg.data_preprocessor, num_classes=12)


def test_a_trainings_top_level_normalisation_is_compared():
    """A training whose mean / std were at the top level only is compared
    by what its run built: the same mean / std in the evaluating model is
    no change, another is named (before: read as unset, so warned where
    they agreed and silent where they differed)."""
    from openselfsup.config import trained_feature_changes
    trained = _top_level(Config.fromfile(FSP_DEMO))
    meta = dict(cfg=trained.pretty_text)
    assert trained_feature_changes(meta, Config.fromfile(FSP_DEMO)) == []
    other = Config.fromfile(FSP_DEMO)
    other.model.data_preprocessor.mean = [0.5, 0.5, 0.5]
    changes = [c for c, _ in trained_feature_changes(meta, other)]
    assert changes == [
        f'model.data_preprocessor.mean: {trained.data_preprocessor.mean!r}'
        ' -> [0.5, 0.5, 0.5]'], changes


@pytest.mark.parametrize('move', [False, True])
def test_a_recorded_preprocessor_that_cannot_be_read_is_not_compared(move):
    """A training's data preprocessor recorded as code (``make_pre()``,
    the model's own or a top-level one) is not compared, as a recorded
    model section that cannot be read is not (before: compared as unset,
    ``mean: unset -> [...]``); the backbone still is."""
    from openselfsup.config import trained_feature_changes
    trained = Config.fromfile(FSP_DEMO)
    if move:
        _top_level(trained)
        trained.data_preprocessor = 'CODE'
    else:
        trained.model.data_preprocessor = 'CODE'
    meta = dict(cfg=trained.pretty_text.replace("'CODE'", 'make_pre()'))
    assert 'make_pre()' in meta['cfg']
    assert trained_feature_changes(meta, Config.fromfile(FSP_DEMO)) == []
    other = Config.fromfile(FSP_DEMO)
    other.model.backbone.depth = 34
    changes = [c for c, _ in trained_feature_changes(meta, other)]
    assert changes == ['model.backbone.depth: 18 -> 34'], changes


@pytest.mark.parametrize('roots', [None, ('model', )])
def test_a_top_level_preprocessors_setting_types_are_checked(roots):
    """``check_setting_types`` (a training's, or extraction's roots)
    judges the preprocessor the run builds, named where it is set: a
    top-level-only batched one's ``num_views='x'`` is refused as the
    model's own is, and a whole float made an int; a top-level one beside
    the model's own is not built, and not judged (before: not checked)."""
    from openselfsup.config import check_setting_types
    args = () if roots is None else (roots, )
    said = {}
    for move in (False, True):
        cfg = Config.fromfile(CLP_DEMO)
        cfg.model.data_preprocessor = dict(
            type='BatchAugSelfSupDataPreprocessor', views=cfg.view_pipeline,
            num_views='x')
        if move:
            _top_level(cfg)
        with pytest.raises(TypeError) as caught:
            check_setting_types(cfg, *args)
        said[move] = str(caught.value)
    assert said[True] == said[False][len('model.'):]
    assert said[True].startswith('data_preprocessor.num_views must be ')
    cfg = _top_level(Config.fromfile(CLP_DEMO), seed=3.0,
                     type='BatchAugSelfSupDataPreprocessor')
    check_setting_types(cfg, *args)
    assert type(cfg.data_preprocessor.seed) is int
    cfg.model.data_preprocessor = dict(type='SelfSupDataPreprocessor')
    cfg.data_preprocessor.num_views = 'x'  # not built: MMEngine's merge
    check_setting_types(cfg, *args)


def _nct(root):
    return os.path.join(root, 'NCT') + os.sep


@pytest.mark.parametrize('runner_type', ['Runner', 'AtomicRunner'])
def test_the_clp_demo_with_a_top_level_preprocessor_trains_as_shipped(
        synthetic_root, tmp_path, runner_type):
    """The CLP demo (tiny: two steps of 8) with its model's preprocessor
    moved to the top level gives the first losses of the demo as shipped,
    on the batched views (``augment_on='device'``) under each runner
    (before: refused, the preprocessor taken for a classifier's)."""
    from openselfsup.apis import train
    losses = []
    for move in (False, True):
        path = small_config(CLP_DEMO, str(tmp_path / f'{move}.py'),
                            _nct(synthetic_root), n_images=16, batch=8,
                            augment_on='device', runner_type=runner_type,
                            randomness=dict(seed=5))
        if move:
            _top_level(Config.fromfile(path)).dump(path)
        runner = train(path, work_dir=str(tmp_path / f'w{move}'))
        losses.append([float(v) for v in runner.message_hub.get_scalar(
            'train/loss').data[0]])
    assert len(losses[0]) == 2 and losses[1] == losses[0]


def test_a_resume_compares_a_top_level_preprocessor_as_built(
        synthetic_root, tmp_path):
    """A ``--resume`` of a run whose preprocessor was at the top level only
    says a change of it, named where this config sets it, and none where
    the same settings moved into the model (before: neither read, the
    change unsaid, the move said as every setting ``unset -> ...``)."""
    from openselfsup.apis import train
    from openselfsup.config import load_config
    from openselfsup.engine.runner import resume_notes
    path = small_config(FSP_DEMO, str(tmp_path / 'cfg.py'),
                        _nct(synthetic_root), n_images=16, batch=8,
                        augment_on='cpu')
    _top_level(Config.fromfile(path)).dump(path)
    train(path, work_dir=str(tmp_path / 'w'))
    ckpt = str(tmp_path / 'w' / 'epoch_1.pth')

    def data_notes(cfg):
        return [n for n in resume_notes(ckpt, cfg) if 'training data' in n]
    changed = load_config(path)
    mean = list(changed.data_preprocessor.mean)
    changed.data_preprocessor.mean = [0.5, 0.5, 0.5]
    said = ', '.join(f'data_preprocessor.mean.{i}: {m!r} -> 0.5'
                     for i, m in enumerate(mean))
    assert [n.split('wrote it: ')[1] for n in data_notes(changed)] == [
        f"{said}; the run continues with this config's"]
    moved = load_config(path)
    moved.model.data_preprocessor = moved.pop('data_preprocessor')
    assert data_notes(moved) == []


def test_a_top_level_preprocessor_is_read_only_where_the_runner_merges_it():
    """``config_variables`` (the top-level names no run reads) counts a
    top-level ``data_preprocessor`` as read only where MMEngine's Runner
    merges it: the model has none and it is not None
    (``Runner.__init__``'s condition: before, a ``data_preprocessor =
    None`` beside a model without one was counted as read)."""
    from openselfsup.config import config_variables
    top = dict(type='SelfSupDataPreprocessor')
    for model, value, read in ((dict(type='MoCoV3'), top, True),
                               (dict(type='MoCoV3'), None, False),
                               (dict(type='MoCoV3', data_preprocessor=top),
                                top, False)):
        cfg = Config(dict(model=model, data_preprocessor=value))
        # the reference: Runner.__init__'s merge, by hand
        merged = value is not None and 'data_preprocessor' not in model
        assert merged == read and (_merged(cfg) == value) == (
            merged or value == model.get('data_preprocessor'))
        assert ('data_preprocessor' not in config_variables(cfg)) == read


#: the model fingerprints of the shipped configs extract.py and knn_eval.py
#: evaluate, computed at the base commit 4601f828 with its code: per
#: extraction config, ``extraction_settings``' ``model_sha1`` with and
#: without a checkpoint's weights; per kNN config, knn_eval.py's
#: ``model_config_sha1`` for a checkpoint (open_clip stand-ins) and at
#: initialisation, then the SHA-1 of its ``model_settings`` the same two
#: ways. Stored results are matched by them: they must not change. The
#: HLSS configs' attribute files are absolute paths into the checkout
#: (``{{fileDirname}}``), part of the fingerprint then: computed with the
#: checkout's root spelt ``/checkout`` (:func:`_relocated`), so that they
#: do not depend on where the repository is cloned; knn_eval.py records
#: them by a mark since (``model_config_sha1``), and knows results of
#: before by the SHA-1 with the paths (``ModelRecord.sha1_with_paths``)
_EXTRACTION_SHA1 = '2f78c92822a9c8e197b765065e178db1459fd7d2'
BASE_FINGERPRINTS = {
    **{f'configs/extraction/{name}.py': [_EXTRACTION_SHA1] * 2
       for name in ('lc', 'nct_aug', 'nct_test', 'nct_train', 'paip_test',
                    'paip_train')},
    'configs/demo/hidisc_r18w8_synthetic.py': [
        '414e3e323b8140b625cac4929fadc79ca57f807c',
        '414e3e323b8140b625cac4929fadc79ca57f807c',
        '65270eee3a5a4905b1b5609e7158c37dd7577e45',
        '65270eee3a5a4905b1b5609e7158c37dd7577e45'],
    'configs/demo/hlss_rn50w8_synthetic.py': [
        'ce595d2e62328df7eb3dcc64ff35de353b0bd2dc',
        '2bf1864cfe9038e64f069afd81a0e9680e554035',
        '9c9b8ca9f2958f3aadd6464bf18b3be8e2f0f384',
        '50f7605e12c366a43fd9d949378c713e39651dd7'],
    'configs/hlss/hidisc_r50_b10p_opensrh.py': [
        'f974309b05ffa99dd4316399d4ea5a2e979d54d3',
        'f974309b05ffa99dd4316399d4ea5a2e979d54d3',
        '20c377f6a56f07f7a372464930be6369db00f2ac',
        '20c377f6a56f07f7a372464930be6369db00f2ac'],
    'configs/hlss/hlss_clip-rn50_b32p_opensrh.py': [
        'ae1ae716bad44c6c33243e8fc3aedf16be525807',
        'fd2f703aa36c818f450d3b17207145a766bef472',
        '38ae3a4dd8bca3cbb7bd6d010767c54f44196bf8',
        'b83737e255a5ab2b6d0ffd5ec107b033beeb9338']}


def _relocated(node, repo: str):
    """``node`` (a config section, as plain dicts and lists) with each
    string path under ``repo`` spelt under ``/checkout`` instead."""
    if isinstance(node, dict):
        return {k: _relocated(v, repo) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(_relocated(v, repo) for v in node)
    if isinstance(node, str) and node.startswith(repo + os.sep):
        return '/checkout' + node[len(repo):]
    return node


def _fingerprints(cfg, config: str, with_paths: bool = False) -> list:
    """What extract.py (an extraction config) or knn_eval.py records of
    ``cfg``'s model, as :data:`BASE_FINGERPRINTS` lists it (``with_paths``:
    knn_eval.py's SHA-1s in the form results of before hold, the paths of
    the files the section names in them)."""
    from openselfsup.apis.extract import extraction_settings
    from openselfsup.utils import config_sha1
    if 'dataset' in cfg:
        return [extraction_settings(cfg, config, w)['model_sha1']
                for w in (True, False)]
    from openselfsup.apis.knn import model_record
    records = [model_record(cfg, w) for w in (True, False)]
    return [r.sha1_with_paths if with_paths else r.sha1 for r in records] \
        + [config_sha1(r.flat) for r in records]


def test_shipped_fingerprints_are_kept_and_a_top_level_one_shares_them():
    """Every shipped config extract.py or knn_eval.py evaluates keeps the
    model fingerprints the base commit recorded (stored results are
    matched by them), and the same config with its model's data
    preprocessor moved to the top level (the model MMEngine's Runner
    builds is the same) has them too (before: its model without the
    preprocessor, other fingerprints)."""
    from openselfsup.config import load_config
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for name, base in BASE_FINGERPRINTS.items():
        config = os.path.join(repo, name)
        cfg = load_config(config)
        cfg.model = _relocated(cfg.model.to_dict(), repo)
        assert _fingerprints(cfg, config, True) == base, name
        cfg.data_preprocessor = cfg.model.pop('data_preprocessor')
        assert _fingerprints(cfg, config, True) == base, name


#: the shipped configs whose ``model`` names local files (the HLSS
#: attribute files): their knn_eval.py SHA-1s hold a mark in their place
NAMING_FILES = ('configs/demo/hlss_rn50w8_synthetic.py',
                'configs/hlss/hlss_clip-rn50_b32p_opensrh.py')


def test_shipped_fingerprints_are_where_the_checkout_lies(tmp_path,
                                                          monkeypatch):
    """knn_eval.py's model SHA-1s (``model_config_sha1``) of the shipped
    configs, from the checkout where it lies (not relocated): those of a
    config naming no local file are the base commit's
    (:data:`BASE_FINGERPRINTS`), as are extract.py's; those of the HLSS
    configs, whose attribute files are absolute paths into the checkout
    (before: another SHA-1 per clone, results from one refused from
    another), are the same from a copy of the configs elsewhere, and at
    initialisation the SHA-1 of the section with those three paths given
    as the mark (by hand). Whatever the current directory holds: run
    where the paper config's CC12M checkpoint lies where docs/hlss.md has
    it downloaded, and files named as other values are (review r189: the
    test failed there, the checkpoint's path given by the mark too)."""
    import shutil

    from openselfsup.config import NAMED_FILE, load_config
    from openselfsup.utils import config_sha1
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    shutil.copytree(os.path.join(repo, 'configs'),
                    str(tmp_path / 'configs'))
    here = tmp_path / 'cwd'
    (here / 'checkpoints').mkdir(parents=True)
    for name in ('checkpoints/rn50-quickgelu-cc12m-f000538c.pt',
                 'RN50-quickgelu', 'log', 'pytorch'):
        (here / name).write_bytes(b'')
    monkeypatch.chdir(here)
    for name, base in BASE_FINGERPRINTS.items():
        config = os.path.join(repo, name)
        cfg = load_config(config)
        found = _fingerprints(cfg, config)
        if name not in NAMING_FILES:
            assert found == base, name
            continue
        moved = str(tmp_path / name)
        assert found[:2] == _fingerprints(load_config(moved), moved)[:2]
        assert found[0] != base[0] and found[1] != base[1], name
        model = cfg.model.to_dict()
        for head in model['heads'].values():
            head['attributes'] = NAMED_FILE
        assert found[1] == config_sha1(model), name


def _refused_key(check) -> str:
    """The key a scope check's refusal names first (``<key>.type``)."""
    from openselfsup.utils import InputError
    with pytest.raises(InputError) as err:
        check()
    return str(err.value).split(': ', 1)[1].split('.type ', 1)[0]


def test_extraction_and_knn_judge_a_top_level_preprocessors_scope():
    """Under ``default_scope = 'mmpretrain'`` a project type in a top-level
    data preprocessor (the model without one: MMEngine's Runner, and now
    extract.py and knn_eval.py, build it into the model) is refused by
    extract.py's and knn_eval.py's scope checks as by a training run's,
    named where the config sets it (before: not judged, the build stopped
    on ``KeyError``); the model's own is named as the model's (before the
    model's own was named ``data_preprocessor``, the top-level key)."""
    from openselfsup.config import (TRAINING_RUN_JUDGED,
                                    check_extraction_scope,
                                    check_scope_types, knn_scope_roots)
    ours = dict(type='BatchAugSelfSupDataPreprocessor')
    moco = dict(type='MoCoV3', base_momentum=0.01,
                backbone=dict(type='ResNet', depth=18),
                neck=dict(type='NonLinearNeck', in_channels=512,
                          hid_channels=16, out_channels=8),
                head=dict(type='MoCoV3Head',
                          loss=dict(type='CrossEntropyLoss'),
                          predictor=dict(type='NonLinearNeck', in_channels=8,
                                         hid_channels=16, out_channels=8)))
    classifier = dict(type='ImageClassifier', backbone=dict(
        type='ResNet', depth=18), neck=dict(type='GlobalAveragePooling'))
    dataset = dict(type='openselfsup.ImageList', pipeline=[])
    for own, key in ((False, 'data_preprocessor'),
                     (True, 'model.data_preprocessor')):
        def config(model, **more):
            model = dict(model, data_preprocessor=ours) if own else model
            top = {} if own else dict(data_preprocessor=ours)
            return Config(dict(default_scope='mmpretrain', model=model,
                               **top, **more))
        cfg = config(moco)
        # the training run's check, the reference
        assert _refused_key(lambda: check_scope_types(cfg, 'c.py')) == key
        assert _refused_key(lambda: check_scope_types(
            cfg, 'c.py', knn_scope_roots(cfg), TRAINING_RUN_JUDGED)) == key
        cfg = config(classifier, dataset=dataset)
        assert _refused_key(lambda: check_scope_types(cfg, 'c.py')) == key
        assert _refused_key(lambda: check_extraction_scope(cfg, 'c.py')) == \
            key


def _class_default(cfg: Config) -> str:
    """The type of the data preprocessor the model of ``cfg`` builds, by
    building it (the reference: mmpretrain's ``__init__`` defaults)."""
    from mmengine.registry import DefaultScope

    from openselfsup.registry import MODELS
    model = dict(cfg.model.to_dict(), data_preprocessor=_merged(cfg))
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        return type(MODELS.build(model).data_preprocessor).__name__


@pytest.mark.parametrize('demo,own', [
    (CLP_DEMO, None), (CLP_DEMO, dict(mean=[1., 2., 3.], std=[4., 5., 6.])),
    (FSP_DEMO, None), (FSP_DEMO, dict(mean=[1., 2., 3.], std=[4., 5., 6.]))])
def test_an_untyped_preprocessor_is_batched_as_the_models_default(demo, own):
    """A model preprocessor that names no type (None beside a top-level
    one, or a dict without ``type``) is batched as the default of the
    class the run builds, its settings kept (before: taken for
    ImageClassifier's, the CLP demo refused as a classifier's of one
    view)."""
    from openselfsup.apis.fast_path import batched_views
    cfg = _top_level(Config.fromfile(demo))
    cfg.model.data_preprocessor = own
    got = batched_views(cfg)['data_preprocessor']
    assert got['type'] == 'BatchAug' + _class_default(cfg)
    assert got.get('mean') == (own or {}).get('mean')


def test_an_untyped_preprocessor_of_a_users_model_is_refused():
    """A model class of neither kind (an MMEngine ``BaseModel`` of the
    user's own), given no preprocessor type, is refused with one line:
    its default (``BaseDataPreprocessor``) has no batched version (before:
    given a ``BatchAugClsDataPreprocessor``)."""
    from mmengine.model import BaseModel

    from openselfsup.apis.fast_path import batched_views
    from openselfsup.utils import InputError

    class Mine(BaseModel):
        def forward(self, *args, **kwargs):
            pass

    cfg = Config.fromfile(FSP_DEMO)
    cfg.model = dict(type=Mine, data_preprocessor=None)
    with pytest.raises(InputError, match="model.data_preprocessor names no "
                       "type, and model.type 'Mine' is none of"):
        batched_views(cfg)


def test_a_top_level_preprocessor_option_asks_for_the_type_check():
    """``options_need_type_check`` (the launchers' ``--check-config`` runs
    the check only then) takes a top-level ``data_preprocessor`` option as
    the model's (before: not asked, each started process refused it)."""
    from openselfsup.config import options_need_type_check
    assert [options_need_type_check({f'{at}data_preprocessor.num_views': v})
            for at in ('model.', '') for v in ('x', 2)] == \
        [True, False, True, False]


def test_every_mmpretrain_models_default_preprocessor_is_the_one_batched():
    """For every model mmpretrain registers, a preprocessor that names no
    type is batched as the one the class's ``__init__`` sets by default
    (``data_preprocessor.setdefault('type', ...)``, read from its source
    along the class's MRO: the reference), and refused where that default
    has no batched version or there is none (review r188: TimmClassifier,
    HuggingFaceClassifier and ImageToImageRetriever, which derive from
    neither BaseSelfSupervisor nor ImageClassifier, were refused)."""
    import inspect
    import re

    import mmpretrain.models  # noqa: F401  (registers them)
    from mmengine.model import BaseModel
    from mmpretrain.registry import MODELS

    from openselfsup.apis.fast_path import default_preprocessor_type
    from openselfsup.utils import InputError
    said = re.compile(
        r"data_preprocessor\.setdefault\('type',\s*'([^']+)'\)")
    kinds = set()
    for name, cls in sorted(MODELS.module_dict.items()):
        if not (inspect.isclass(cls) and issubclass(cls, BaseModel)):
            continue
        default = next((m.group(1).rsplit('.', 1)[-1] for c in cls.__mro__
                        if inspect.isfunction(vars(c).get('__init__'))
                        for m in [said.search(inspect.getsource(c.__init__))]
                        if m), None)
        cfg = Config(dict(default_scope='mmpretrain',
                          model=dict(type=name, data_preprocessor=None)))
        if default in ('SelfSupDataPreprocessor', 'ClsDataPreprocessor'):
            assert default_preprocessor_type(
                cfg, 'model.data_preprocessor') == default, name
        else:
            with pytest.raises(InputError, match='names no type'):
                default_preprocessor_type(cfg, 'model.data_preprocessor')
        kinds.add(default)
    assert {'SelfSupDataPreprocessor', 'ClsDataPreprocessor'} <= kinds


@pytest.mark.parametrize('demo', [CLP_DEMO, FSP_DEMO])
def test_a_batched_preprocessors_view_refusals_name_the_key_set(
        demo, tmp_path):
    """A batched-views preprocessor the config gives itself (the per-image
    path, ``augment_on='cpu'``) whose views its build refuses (3 view
    pipelines for 2 views; a transform without a batched version) is
    refused when the run's config is resolved, naming the key where the
    config sets it: ``data_preprocessor.views`` for a top-level one, as
    ``config.built_preprocessor`` says (before: the build's line named
    ``model.data_preprocessor.views`` for both). The key named, given as
    an option (``load_config``, as ``--cfg-options``), changes the
    preprocessor the run builds (MMEngine's merge, by hand) and the run
    goes on; the model's key would give the model a preprocessor of that
    key alone."""
    from openselfsup.apis.fast_path import apply_fast_path
    from openselfsup.config import built_preprocessor, load_config
    from openselfsup.utils import InputError
    clp = demo == CLP_DEMO
    view = Config.fromfile(demo).get('view_pipeline') if clp else \
        list(Config.fromfile(demo).train_dataloader.dataset.pipeline[1:-1])
    kind = 'BatchAug' + ('SelfSup' if clp else 'Cls') + 'DataPreprocessor'
    erasing = view + [dict(type='RandomErasing')]
    for move in (False, True):
        key = 'data_preprocessor' if move else 'model.data_preprocessor'
        for views, says in (
                ([view] * 3, f'{key}.views: 3 view pipelines for '
                 f'{2 if clp else 1} views; give one or'),
                (erasing, f"{key}.views: transform 'RandomErasing' has no "
                 'batched version')):
            cfg = Config.fromfile(demo)
            cfg.model.data_preprocessor = dict(
                cfg.model.data_preprocessor, type=kind, views=views)
            if move:
                _top_level(cfg)
            cfg.augment_on = 'cpu'
            assert built_preprocessor(cfg)[0] == key
            path = str(tmp_path / f'{move}.py')
            cfg.dump(path)
            with pytest.raises(InputError) as caught:
                apply_fast_path(load_config(path), cuda=False)
            assert str(caught.value).startswith(says), str(caught.value)
            # the key named, given as an option: resolved, and built so
            fixed = load_config(path, {f'{key}.views': view})
            apply_fast_path(fixed, cuda=False)
            assert _merged(fixed) == dict(_merged(cfg), views=view)
    # the model's key, given to the top-level layout: a preprocessor of
    # that key alone, the top-level one not read
    assert _merged(load_config(path, {'model.data_preprocessor.views':
                                      view})) == dict(views=view)


def test_a_preprocessor_without_a_batched_version_is_named_where_set(
        tmp_path):
    """``augment_on='device'`` refuses a data preprocessor type without a
    batched version naming its type's key where the config sets it
    (``data_preprocessor.type`` for a top-level one; before: no key);
    that key given as an option (``load_config``, as ``--cfg-options``)
    makes the run batch the views of the type given, as of the demo as
    shipped."""
    from openselfsup.apis.fast_path import apply_fast_path
    from openselfsup.config import load_config
    from openselfsup.utils import InputError
    shipped = Config.fromfile(CLP_DEMO)
    shipped.augment_on = 'device'
    apply_fast_path(shipped, cuda=False)
    for move in (False, True):
        key = 'data_preprocessor' if move else 'model.data_preprocessor'
        cfg = Config.fromfile(CLP_DEMO)
        # MMEngine's own, which has no batched version (a name no
        # registry holds is refused as not found: check_view_types)
        cfg.model.data_preprocessor.type = 'BaseDataPreprocessor'
        if move:
            _top_level(cfg)
        cfg.augment_on = 'device'
        path = str(tmp_path / f'{move}.py')
        cfg.dump(path)
        with pytest.raises(InputError) as caught:
            apply_fast_path(load_config(path), cuda=False)
        assert str(caught.value) == (
            "augment_on: no batched version of the data preprocessor "
            f"'BaseDataPreprocessor' ({key}.type); use augment_on='cpu'")
        fixed = load_config(path, {f'{key}.type': 'SelfSupDataPreprocessor'})
        apply_fast_path(fixed, cuda=False)
        assert _merged(fixed) == _merged(shipped)


def test_the_launchers_check_refuses_a_batched_preprocessors_views(
        tmp_path, monkeypatch):
    """The launchers' ``--check-config`` (``train.check_launch``, which
    ``dist_train.sh`` / ``slurm_train.sh`` run before they start any
    process) judges the views of a batched-views preprocessor the config
    gives itself on the per-image path (``augment_on='cpu'``) as the run
    does: review r191, 3 view pipelines for 2 views passed it, exit 0, and
    each started process refused them. The check's line is the run's
    (``apply_fast_path``'s, the reference), for both layouts, a count and a
    transform without a batched version; the check runs once in each
    (counted: one call in ``--check-config``, one in a run's
    ``prepare_config``, which ``--check-config`` is not part of)."""
    import importlib
    fast_path = importlib.import_module('openselfsup.apis.fast_path')
    train = importlib.import_module('openselfsup.apis.train')
    from openselfsup.config import load_config
    from openselfsup.utils import InputError
    view = Config.fromfile(CLP_DEMO).view_pipeline

    def config(views, move, name):
        cfg = Config.fromfile(CLP_DEMO)
        cfg.model.data_preprocessor = dict(
            cfg.model.data_preprocessor,
            type='BatchAugSelfSupDataPreprocessor', views=views)
        if move:
            _top_level(cfg)
        cfg.augment_on = 'cpu'
        path = str(tmp_path / f'{name}.py')
        cfg.dump(path)
        return path

    for move in (False, True):
        for views in ([view] * 3, view + [dict(type='RandomErasing')]):
            path = config(views, move, f'{move}{len(views)}')
            with pytest.raises(InputError) as run:
                fast_path.apply_fast_path(load_config(path), cuda=False)
            with pytest.raises(InputError) as check:
                train.check_launch(path, data_check=False)
            assert str(check.value) == str(run.value)
    calls = []
    real = fast_path.check_given_batched_views
    counted = lambda cfg: (calls.append(1), real(cfg))[1]  # noqa: E731
    # the check and the run call it through fast_path.check_views
    monkeypatch.setattr(fast_path, 'check_given_batched_views', counted)
    path = config(view, False, 'one')
    train.check_launch(path, data_check=False)
    assert len(calls) == 1
    train.prepare_config(load_config(path), path,
                         work_dir=str(tmp_path / 'run'))
    assert len(calls) == 2


def test_the_check_and_the_run_judge_given_views_after_the_seed(tmp_path):
    """Review r192: a batched preprocessor's views refused and a seed out
    of numpy's reach: the launchers' check said the views (its
    ``check_loaded_config``, before the seed and batch-split checks), the
    run the seed (it judges the views in ``apply_fast_path``, after
    them). One first line in both: the seed's, as the run orders them."""
    import importlib
    train = importlib.import_module('openselfsup.apis.train')
    from openselfsup.config import NUMPY_SEED_MAX, load_config
    from openselfsup.utils import InputError
    cfg = Config.fromfile(CLP_DEMO)
    cfg.model.data_preprocessor = dict(
        cfg.model.data_preprocessor, type='BatchAugSelfSupDataPreprocessor',
        views=[cfg.view_pipeline] * 3)
    cfg.augment_on = 'cpu'
    cfg.randomness = dict(cfg.get('randomness') or {}, seed=NUMPY_SEED_MAX)
    cfg.train_dataloader.num_workers = 2
    path = str(tmp_path / 'bad_views_seed.py')
    cfg.dump(path)
    with pytest.raises(InputError) as run:
        train.prepare_config(load_config(path), path,
                             work_dir=str(tmp_path / 'run'))
    with pytest.raises(InputError) as check:
        train.check_launch(path, data_check=False)
    assert 'seed' in str(run.value)
    assert str(check.value) == str(run.value)


def test_given_views_are_judged_in_the_scope_custom_imports_makes_current(
        tmp_path, monkeypatch):
    """Under ``default_scope = None`` beside a ``custom_imports`` module that
    makes ``'openselfsup'`` current, the run builds the preprocessor there
    (the reference: MMEngine's own ``MODELS.build`` of it, which refuses 3
    view pipelines for 2 views); the resolution's check looked the class up
    in ``''``, found none and passed them (review r195). It now refuses them
    with the build's line, as under ``default_scope = 'openselfsup'``."""
    from mmengine.registry import MODELS, init_default_scope

    from openselfsup.apis.fast_path import apply_fast_path
    from openselfsup.config import load_config
    from openselfsup.utils import InputError
    with scope_setting_module(tmp_path, monkeypatch, 'r195scope'):
        cfg = Config.fromfile(CLP_DEMO)
        cfg.model.data_preprocessor = dict(
            cfg.model.data_preprocessor,
            type='BatchAugSelfSupDataPreprocessor',
            views=[cfg.view_pipeline] * 3)
        cfg.augment_on = 'cpu'
        said = []
        for scope, imports in (('openselfsup', None), (None, 'r195scope')):
            cfg.default_scope = scope
            if imports:
                cfg.custom_imports = dict(imports=[imports],
                                          allow_failed_imports=False)
            path = str(tmp_path / f'{scope}.py')
            cfg.dump(path)
            loaded = load_config(path)  # imports the module, as a run's
            if scope:  # as the Runner does with a default_scope
                init_default_scope(scope)
            with pytest.raises(InputError) as built:
                MODELS.build(loaded.model.data_preprocessor)
            with pytest.raises(InputError) as caught:
                apply_fast_path(loaded, cuda=False)
            assert str(caught.value) == str(built.value)
            said.append(str(caught.value))
        assert said[0] == said[1] == (
            'model.data_preprocessor.views: 3 view pipelines for 2 views; '
            'give one or 2'), said
