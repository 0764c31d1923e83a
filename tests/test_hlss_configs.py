"""The paper configs carry the published recipes, build offline, and train:
two iterations of each on a small OpenSRH-layout data set, shrunk by
config overrides (what --cfg-options does)."""
import os

import numpy as np
import pytest
from mmengine.config import Config

from test_hlss_data import write_opensrh

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAPER = {'hlss': 'configs/hlss/hlss_clip-rn50_b32p_opensrh.py',
         'hidisc': 'configs/hlss/hidisc_r50_b10p_opensrh.py'}
TINY_CLIP = dict(embed_dim=32,
                 vision_cfg=dict(image_size=32, layers=[1, 1, 1, 1],
                                 width=8),
                 text_cfg=dict(context_length=24, width=32, heads=2,
                               layers=1))


@pytest.mark.parametrize('name', ['hlss', 'hidisc'])
def test_paper_recipe(name):
    cfg = Config.fromfile(os.path.join(ROOT, PAPER[name]))
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.weight_decay) == ('AdamW', 1e-3, 0.01)
    assert cfg.train_cfg == dict(type='EpochBasedTrainLoop',
                                 max_epochs=40000)
    warm, cos = cfg.param_scheduler
    assert (warm.type, warm.begin, warm.end) == ('LinearLR', 0, 4000)
    assert (cos.type, cos.begin, cos.end, cos.eta_min) == (
        'CosineAnnealingLR', 4000, 40000, 0)
    assert warm.convert_to_iter_based and cos.convert_to_iter_based
    dl = cfg.train_dataloader
    ds = dl.dataset
    assert dl.batch_size == (32 if name == 'hlss' else 10)
    assert (ds.num_slides, ds.num_patches, ds.class_balance) == (2, 2, True)
    assert ds.layout == 'opensrh' and ds.pipeline[0].mode == 'srh'
    size = 224 if name == 'hlss' else 300
    assert ds.pipeline[1] == (dict(type='ToUnitTensor', size=224)
                              if name == 'hlss' else
                              dict(type='ToUnitTensor'))
    view = ds.pipeline[2]
    assert view.num_views == 2
    assert view.transforms[0] == [dict(type='HiDiscAugment',
                                       crop_size=size)]
    assert cfg.model.data_preprocessor == dict(
        type='SelfSupDataPreprocessor')  # [0, 1] inputs, no mean / std
    assert cfg.model.loss.temperature == 0.07
    knn = cfg.knn_eval
    assert (knn.k, knn.temperature, knn.aggregation) == (200, 0.07,
                                                         'l1_softmax')
    hook = dict(cfg.custom_hooks[0])
    assert hook.pop('type') == 'KNNEvalHook' and hook.pop('interval')
    assert hook == knn.to_dict()
    assert knn.bank.pipeline[1] == knn.query.pipeline[1] == (
        dict(type='ToUnitTensor', size=224) if name == 'hlss' else
        dict(type='ToUnitTensor'))
    if name == 'hlss':
        m = cfg.model
        assert m.backbone.type == 'OpenCLIPImageTower'
        assert m.backbone.model_name == 'RN50-quickgelu'
        assert m.text_encoder.type == 'OpenCLIPText'
        assert m.text_encoder.model_name == 'RN50-quickgelu'
        # the published CC12M weights by default, for both towers
        assert m.backbone.pretrained == m.text_encoder.pretrained == \
            'checkpoints/rn50-quickgelu-cc12m-f000538c.pt'
        for lv in ('patient', 'slide', 'patch'):
            head = m.heads[lv]
            assert (head.type, head.in_channels) == ('TextInitHead', 1024)
            assert head.attributes.endswith(f'hlss_attributes/{lv}.json')
            assert head.align_mode == 'log'
    else:
        assert cfg.model.backbone.depth == 50
        assert not cfg.model.backbone.zero_init_residual
        assert cfg.model.heads == dict(type='MLPHead', in_channels=2048,
                                       out_channels=128)


def test_attribute_files_hold_the_published_names():
    from openselfsup.models.heads import read_attribute_file
    ref = '/work/shared/reference/hlss-attributes'
    for lv in ('patch', 'slide', 'patient'):
        names, sentences = read_attribute_file(os.path.join(
            ROOT, 'configs/_base_/hlss_attributes', f'{lv}.json'))
        assert len(names) == len(set(names)) == 128
        assert all(len(s) >= 4 for s in sentences)
        if os.path.isdir(ref):
            with open(os.path.join(ref, f'{lv}.txt')) as f:
                assert names == f.read().splitlines()


def _shrink(name, root):
    """Overrides that make a paper config train on CPU in seconds."""
    opts = {'train_dataloader.dataset.data_root': root,
            'train_dataloader.batch_size': 2,
            'train_dataloader.num_workers': 0,
            'train_dataloader.persistent_workers': False,
            # HLSS resizes to 32 below; HiDisc keeps the 20 px patches
            'train_dataloader.dataset.pipeline.2.transforms.0.0.crop_size':
                32 if name == 'hlss' else 20,
            'train_cfg.max_epochs': 1,
            'default_hooks.logger.interval': 1,
            'default_hooks.checkpoint.interval': 1}
    for part in ('bank', 'query'):
        opts[f'custom_hooks.0.{part}.data_root'] = root
    opts['custom_hooks.0.num_workers'] = 0
    if name == 'hlss':
        opts['train_dataloader.dataset.pipeline.1.size'] = 32
        for part in ('bank', 'query'):
            opts[f'custom_hooks.0.{part}.pipeline.1.size'] = 32
        # offline: no CC12M checkpoint, the towers at random initialisation
        clip = dict(model_cfg=TINY_CLIP, pretrained=None)
        opts['model.backbone'] = clip
        opts['model.text_encoder'] = dict(clip, device='cpu')
        for lv in ('patient', 'slide', 'patch'):
            opts[f'model.heads.{lv}.in_channels'] = 32
            # 4 attributes instead of the 128 of the shipped files (their
            # rows are checked in test_hlss_model.py)
            opts[f'model.heads.{lv}.attributes'] = [
                [f'{lv} attribute {k}'] for k in range(4)]
    else:
        opts['model.backbone'] = dict(base_channels=4, stem_channels=8)
        opts['model.heads.in_channels'] = 128
    return opts


@pytest.mark.slow
@pytest.mark.parametrize('name', ['hlss', 'hidisc'])
def test_paper_config_trains_two_iterations(name, tmp_path, monkeypatch):
    """The paper config itself, shrunk by overrides: OpenSRH layout, SRH
    TIFFs, class balancing, the published augmentations, the kNN hook."""
    pytest.importorskip('tifffile')
    if name == 'hlss':
        pytest.importorskip('open_clip')
    from openselfsup.apis import train
    data = tmp_path / 'opensrh'
    # train split: 2 hgg + 1 normal patient -> balanced to 2 + 2 = 4
    # patients, batch 2, one epoch -> 2 iterations
    write_opensrh(data, np.random.default_rng(0), size=20)
    monkeypatch.chdir(ROOT)
    runner = train(PAPER[name], work_dir=str(tmp_path / 'work'),
                   cfg_options=_shrink(name, str(data)))
    assert runner.iter == 2 and runner.epoch == 1
    hub = runner.message_hub
    for lv in ('patient', 'slide', 'patch'):
        assert np.isfinite(hub.get_scalar(f'train/loss_{lv}').current())
        assert (f'train/kl_{lv}' in hub.log_scalars) == (name == 'hlss')
    assert 'knn/patient_acc' in hub.log_scalars  # the hook ran at the end
    assert os.path.isfile(tmp_path / 'work' / 'epoch_1.pth')
    # the warm-up starts near 0 (published: step / warm-up steps)
    assert hub.get_scalar('train/lr').data[0][0] < 1e-8
    if name == 'hlss':
        # the kNN evaluation of the trained checkpoint with the config
        # naming an open_clip file and an attribute-embeddings file that are
        # not there: the checkpoint holds every weight, neither file is read
        # and the text tower not built (the heads' text rows it would give
        # are overwritten by the checkpoint)
        from openselfsup.apis.knn import knn_eval_checkpoint
        opts = _shrink(name, str(data))
        for tower in ('model.backbone', 'model.text_encoder'):
            opts[tower] = dict(opts[tower],
                               pretrained=str(tmp_path / 'absent.pt'))
        # nor a head's precomputed attribute embeddings (its text rows are
        # in the checkpoint too); the other two heads take the text encoder
        opts['model.heads.patient.embeddings_file'] = str(
            tmp_path / 'absent.npy')
        opts.update({'knn_eval.' + k[len('custom_hooks.0.'):]: v
                     for k, v in list(opts.items())
                     if k.startswith('custom_hooks.0.')})
        from openselfsup.models.open_clip import OpenCLIPText

        def no_text_tower(*args, **kwargs):
            raise AssertionError('the text tower was built for the kNN '
                                 'evaluation of a checkpoint')
        monkeypatch.setattr(OpenCLIPText, '__init__', no_text_tower)
        results, _ = knn_eval_checkpoint(
            PAPER[name], str(tmp_path / 'work' / 'epoch_1.pth'),
            out_dir=str(tmp_path / 'knn'), cfg_options=opts)
        assert results['patient']['acc'] == pytest.approx(
            hub.get_scalar('knn/patient_acc').current(), abs=1e-6), results


def test_paper_hlss_without_its_weights_stops_with_one_line(tmp_path,
                                                          monkeypatch):
    """The paper config's towers read the published CC12M checkpoint: where
    it is missing, building the model stops with one line naming the file
    (before the model is built), not at random initialisation, and says
    that the relative path is the current folder's, as the other
    missing-path lines do (it named the path alone)."""
    from openselfsup.models.open_clip import OpenCLIPImageTower
    from openselfsup.utils import InputError
    cfg = Config.fromfile(os.path.join(ROOT, PAPER['hlss']))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as err:
        OpenCLIPImageTower(**{k: v for k, v in cfg.model.backbone.items()
                              if k != 'type'})
    assert str(err.value) == (
        'checkpoints/rn50-quickgelu-cc12m-f000538c.pt: open_clip checkpoint '
        'not found (model.backbone.pretrained: the open_clip weights of its '
        "model_name (as published: open_clip's RN50-quickgelu CC12M "
        'checkpoint, rn50-quickgelu-cc12m-f000538c.pt); put the file there, '
        'or --cfg-options model.backbone.pretrained=None for a random '
        f'initialisation; relative to the current folder {tmp_path})')


def test_a_missing_text_tower_file_is_refused_before_the_run_is_built(
        tmp_path, monkeypatch):
    """``tools/train.py <HLSS demo> --cfg-options
    model.text_encoder.pretrained=/tmp/missing.pt``: after some 300 lines of
    MMEngine's environment and a warning that 'image and text towers start
    at random initialisation' (false for the text tower), the run stopped
    on ``/tmp/missing.pt: open_clip checkpoint not found``, naming neither
    the config key nor a way out. It is refused before the runner is
    built (no work dir, no warning), naming the key, the published file
    and the way out; the launchers' check refuses it the same."""
    import importlib
    train_mod = importlib.import_module('openselfsup.apis.train')
    from openselfsup.models import open_clip as oc_mod
    from openselfsup.utils import InputError
    said = []
    monkeypatch.setattr(oc_mod, 'print_log',
                        lambda msg, *a, **k: said.append(msg))
    # the demo's data need not be here: the data checks, which come first,
    # pass it
    monkeypatch.setattr(train_mod, 'check_dataset_paths', lambda *a: None)
    monkeypatch.setattr(train_mod, 'check_disjoint_splits', lambda *a: None)
    missing = str(tmp_path / 'missing.pt')
    work = tmp_path / 'work'
    config = os.path.join(ROOT, 'configs/demo/hlss_rn50w8_synthetic.py')
    want = (f'{missing}: open_clip checkpoint not found '
            '(model.text_encoder.pretrained: the open_clip weights of its '
            "model_name (as published: open_clip's RN50-quickgelu CC12M "
            'checkpoint, rn50-quickgelu-cc12m-f000538c.pt); put the file '
            'there, or --cfg-options model.text_encoder.pretrained=None for '
            'a random initialisation)')
    opts = {'model.text_encoder.pretrained': missing}
    with pytest.raises(InputError) as err:
        train_mod.train(config, work_dir=str(work), cfg_options=opts)
    assert str(err.value) == want
    assert not work.exists() and said == []
    with pytest.raises(InputError) as err:
        train_mod.check_launch(config, opts)
    assert str(err.value) == want
    # the way out it names: no file, the tower at random, and the check
    # passes (None is no file to look for)
    from openselfsup.config import check_model_files, load_config
    check_model_files(load_config(
        config, {'model.text_encoder.pretrained': None}).model)


def test_a_text_tower_that_is_never_built_is_not_looked_for(tmp_path):
    """Every ``TextInitHead`` reading an ``embeddings_file`` (the
    ``tools/make_attribute_embeddings.py`` workflow), HLSS never builds its
    text tower: a ``model.text_encoder.pretrained`` not there was refused
    all the same. It is looked for only where a head embeds its sentences
    with it (the model's own rule, ``heads_needing_text``), and a head's
    own ``encoder`` only where that head reads no file."""
    from openselfsup.config import (check_model_files, heads_needing_text,
                                    load_config)
    from openselfsup.utils import InputError
    config = os.path.join(ROOT, 'configs/demo/hlss_rn50w8_synthetic.py')
    missing = str(tmp_path / 'missing.pt')
    files = {f'model.heads.{lv}.embeddings_file': str(tmp_path / f'{lv}.npy')
             for lv in ('patient', 'slide', 'patch')}
    opts = dict(files, **{'model.text_encoder.pretrained': missing})
    model = load_config(config, opts).model
    assert heads_needing_text(dict(model.heads)) == []
    check_model_files(model)  # no head builds the tower
    # one head without its file: the tower is built for it, and refused
    del opts['model.heads.slide.embeddings_file']
    model = load_config(config, opts).model
    assert heads_needing_text(dict(model.heads)) == ['slide']
    with pytest.raises(InputError, match='model.text_encoder.pretrained'):
        check_model_files(model)
    # a head's own encoder: skipped beside its file, looked for without
    own = dict(type='OpenCLIPText', model_name='RN50-quickgelu',
               pretrained=missing)
    model = load_config(config, files).model
    model.heads.patch.encoder = dict(own)
    check_model_files(model)
    model.heads.patch.embeddings_file = None
    with pytest.raises(InputError, match='model.heads.patch.encoder'):
        check_model_files(model)


def test_another_models_text_tower_is_not_judged_by_hlsss_rule(tmp_path):
    """HLSS's rule (``heads_needing_text``: its ``text_encoder`` is built
    only for a ``TextInitHead`` without an ``embeddings_file``) was
    applied to any model with ``heads`` and a ``text_encoder``: another
    model type (a user's), which builds its tower by its own rule, had
    its missing weights passed unlooked for. The same model as HLSS's
    passes; as another type it is refused, and so is a head's own
    ``encoder`` beside its file."""
    from openselfsup.config import check_model_files, load_config
    from openselfsup.utils import InputError
    config = os.path.join(ROOT, 'configs/demo/hlss_rn50w8_synthetic.py')
    missing = str(tmp_path / 'missing.pt')
    files = {f'model.heads.{lv}.embeddings_file': str(tmp_path / f'{lv}.npy')
             for lv in ('patient', 'slide', 'patch')}
    model = load_config(config, dict(
        files, **{'model.text_encoder.pretrained': missing})).model
    check_model_files(model)  # HLSS: no head builds the tower
    for kind in ('MyTextModel', 'mymodels.MyTextModel'):
        model.type = kind
        with pytest.raises(InputError) as err:
            check_model_files(model)
        assert str(err.value).startswith(
            f'{missing}: open_clip checkpoint not found'), str(err.value)
        assert 'model.text_encoder.pretrained' in str(err.value)
    model = load_config(config, files).model
    model.heads.patch.encoder = dict(type='OpenCLIPText',
                                     model_name='RN50-quickgelu',
                                     pretrained=missing)
    check_model_files(model)  # HLSS: the file wins over the encoder
    model.type = 'MyTextModel'
    with pytest.raises(InputError, match='model.heads.patch.encoder'):
        check_model_files(model)
