"""HLSS as published: open_clip's image tower as the backbone, heads whose
rows are the normalised mean CLIP text embeddings of their attributes (checked
against open_clip called directly), the alignment term, the HiDisc head, and
one-line errors for bad checkpoints and embedding files."""
import json
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F

open_clip = pytest.importorskip('open_clip')

from mmengine.registry import init_default_scope  # noqa: E402

from openselfsup.models import open_clip as oc_mod  # noqa: E402
from openselfsup.models.heads import MLPHead, TextInitHead  # noqa: E402
from openselfsup.registry import MODELS  # noqa: E402
from openselfsup.utils import InputError, Once  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = 'RN50-quickgelu'
#: open_clip's RN50-quickgelu narrowed for tests
TINY = dict(embed_dim=32,
            vision_cfg=dict(image_size=32, layers=[1, 1, 1, 1], width=8),
            text_cfg=dict(context_length=24, width=32, heads=2, layers=1))
LEVELS = ('patient', 'slide', 'patch')


@pytest.fixture(scope='module', autouse=True)
def scope():
    import openselfsup.models  # noqa: F401
    init_default_scope('openselfsup')


@pytest.fixture(scope='module')
def clip_file(tmp_path_factory):
    """An open_clip checkpoint (as open_clip writes one: a 'state_dict' with
    'module.' prefixes) of the tiny model, and the model itself."""
    torch.manual_seed(0)
    cfg = {**open_clip.get_model_config(NAME), **TINY}
    ref = open_clip.CLIP(**cfg).eval()
    path = tmp_path_factory.mktemp('clip') / 'tiny_clip.pt'
    torch.save({'epoch': 3, 'state_dict': {
        f'module.{k}': v for k, v in ref.state_dict().items()}}, path)
    return str(path), ref


def _reference_rows(ref, sentences):
    """Rows computed with open_clip directly: embed, normalise, average,
    normalise."""
    tok = open_clip.get_tokenizer(NAME, context_length=ref.context_length)
    with torch.no_grad():
        emb = F.normalize(ref.encode_text(tok(sum(sentences, []))), dim=-1)
    rows, start = [], 0
    for group in sentences:
        rows.append(F.normalize(emb[start:start + len(group)].mean(0), dim=0))
        start += len(group)
    return torch.stack(rows)


def _model(path, heads=None):
    clip = dict(model_name=NAME, pretrained=path, model_cfg=TINY)
    files = {lv: os.path.join(ROOT, 'configs/_base_/hlss_attributes',
                              f'{lv}.json') for lv in LEVELS}
    return MODELS.build(dict(
        type='HLSS', data_preprocessor=dict(type='SelfSupDataPreprocessor'),
        backbone=dict(type='OpenCLIPImageTower', **clip),
        text_encoder=dict(type='OpenCLIPText', **clip, device='cpu'),
        heads=heads or {lv: dict(type='TextInitHead', in_channels=32,
                                 attributes=files[lv]) for lv in LEVELS},
        loss=dict(type='HiDiscLoss'))), files


def test_heads_rows_are_mean_clip_text_embeddings(clip_file):
    path, ref = clip_file
    model, files = _model(path)
    model.init_weights()  # the runner calls it: the rows must survive
    for lv in LEVELS:
        data = json.load(open(files[lv]))
        assert len(data['attributes']) == 128
        sentences = [[t.format(d) for d in a['descriptions']
                      for t in data['templates']] for a in data['attributes']]
        assert all(len(s) >= 4 for s in sentences)  # several templates
        want = _reference_rows(ref, sentences)
        head = model.level_heads[lv]
        assert head.linear.weight.shape == (128, 32)
        torch.testing.assert_close(head.linear.weight.detach(), want,
                                   rtol=1e-5, atol=1e-6)
        assert torch.all(head.linear.bias == 0)
        assert head.linear.weight.requires_grad  # trained, as published
    # the text tower is not part of the model or its checkpoints
    assert not any(k.startswith('text') or '.transformer.' in k
                   for k in model.state_dict())


def test_image_tower_is_open_clips(clip_file):
    path, ref = clip_file
    tower = MODELS.build(dict(type='OpenCLIPImageTower', model_name=NAME,
                              pretrained=path, model_cfg=TINY))
    tower.init_weights()
    assert isinstance(tower.visual,
                      open_clip.modified_resnet.ModifiedResNet)
    tower.eval()
    x = torch.rand(3, 3, 32, 32)
    with torch.no_grad():
        (got, ) = tower(x)
        want = ref.encode_image(x, normalize=True)
    torch.testing.assert_close(got, want)
    assert got.shape == (3, 32)


def test_images_of_another_size_than_the_tower_are_one_line():
    """The demo tower is built for 32 px; 64 px patches (the hierarchical
    generator's default size, the demo's data written without --size 32)
    stopped knn_eval.py with a RuntimeError traceback from open_clip's
    attention pooling (positional embedding of a 1x1 grid, a 2x2 grid
    given). One line naming both sizes and the fix; an image size that
    pools to the tower's grid still runs, as before (33 px)."""
    torch.manual_seed(0)
    tower = MODELS.build(dict(type='OpenCLIPImageTower', model_name=NAME,
                              model_cfg=TINY)).eval()
    with torch.no_grad():
        with pytest.raises(InputError) as err:
            tower(torch.rand(2, 3, 64, 64))
        assert tower(torch.rand(2, 3, 33, 33))[0].shape == (2, 32)
    line = str(err.value)
    assert '\n' not in line
    assert '64x64 px' in line and '32x32 px' in line, line
    assert 'ToUnitTensor(size=32)' in line, line


def test_full_rn50_quickgelu_architecture():
    """The paper config's tower: RN50 layers, 1024-d embedding, QuickGELU
    text tower (built at random init: architecture only)."""
    cfg = oc_mod.clip_config(NAME)
    assert cfg['embed_dim'] == 1024 and cfg['quick_gelu'] is True
    assert cfg['vision_cfg']['layers'] == [3, 4, 6, 3]
    merged = oc_mod.clip_config(NAME, dict(vision_cfg=dict(width=8)))
    assert merged['vision_cfg']['layers'] == [3, 4, 6, 3]  # merged, kept
    assert merged['vision_cfg']['width'] == 8


def test_random_init_warns_once(monkeypatch):
    lines = []
    monkeypatch.setattr(oc_mod, 'print_log',
                        lambda msg, **kw: lines.append(msg))
    monkeypatch.setattr(oc_mod, '_WARNED_RANDOM', Once())
    _model(None)  # image tower and text tower, both without weights
    assert lines == [f'open_clip {NAME}: no pretrained checkpoint given, '
                     f'the {tower} tower starts at random initialisation'
                     for tower in ('image', 'text')]
    _model(None)  # once per process and tower
    assert len(lines) == 2


def test_the_random_init_warning_names_the_tower_without_weights(
        monkeypatch, clip_file):
    """The demo's image tower without weights, the text tower given a
    file (``model.text_encoder.pretrained=...``): the warning said that
    'image and text towers start at random initialisation', false for the
    text tower. It names the image tower alone; a text tower without a
    file, the text tower alone."""
    path, _ = clip_file
    lines = []
    monkeypatch.setattr(oc_mod, 'print_log',
                        lambda msg, **kw: lines.append(msg))
    monkeypatch.setattr(oc_mod, '_WARNED_RANDOM', Once())
    oc_mod.OpenCLIPImageTower(NAME, None, TINY)
    oc_mod.OpenCLIPText(NAME, path, TINY, device='cpu')
    assert lines == [f'open_clip {NAME}: no pretrained checkpoint given, '
                     'the image tower starts at random initialisation']
    lines.clear()
    oc_mod.OpenCLIPImageTower(NAME, path, TINY)
    oc_mod.OpenCLIPText(NAME, None, TINY, device='cpu')
    assert lines == [f'open_clip {NAME}: no pretrained checkpoint given, '
                     'the text tower starts at random initialisation']


def test_bad_checkpoints_are_one_line(tmp_path, clip_file):
    path, ref = clip_file
    build = lambda p: oc_mod.build_clip(NAME, p, TINY)  # noqa: E731
    cases = []
    missing = str(tmp_path / 'none.pt')
    cases.append((missing, 'open_clip checkpoint not found'))
    # a folder (the model's download folder): 'not found' with no note
    # before, though it exists
    cases.append((str(tmp_path), 'is a folder, not an open_clip checkpoint '
                  r'file \(name the \.pt / \.bin file in it\)$'))
    junk = tmp_path / 'junk.pt'
    junk.write_text('not a checkpoint')
    cases.append((str(junk), 'not a readable open_clip checkpoint'))
    other = tmp_path / 'other.pt'  # another width: every shape differs
    torch.save(open_clip.CLIP(**{**open_clip.get_model_config(NAME),
                                 **TINY, 'embed_dim': 16}).state_dict(),
               other)
    cases.append((str(other), 'does not fit open_clip RN50-quickgelu'))
    cut = tmp_path / 'cut.pt'
    cut.write_bytes(open(path, 'rb').read()[:5000])
    cases.append((str(cut), 'not a readable open_clip checkpoint'))
    for p, msg in cases:
        with pytest.raises(InputError, match=msg) as err:
            build(p)
        assert p in str(err.value) and '\n' not in str(err.value)
    with pytest.raises(InputError, match="no model 'RN51'"):
        oc_mod.build_clip('RN51')


def test_text_width_must_equal_image_width(clip_file):
    path, _ = clip_file
    with pytest.raises(InputError, match='text width 32, the image '
                       'embedding is in_channels=64'):
        _model(path, heads={lv: dict(type='TextInitHead', in_channels=64,
                                     attributes=[['a'], ['b']])
                            for lv in LEVELS})


def _published_kl(feat, text):
    """The published HA term, written as train_hlss_KL.py computes it."""
    sim = F.cosine_similarity(feat.unsqueeze(-2), text[None], dim=-1)
    attr = text[sim.argmax(-1)]
    fs, ts = F.softmax(feat, dim=-1), F.softmax(attr, dim=-1)
    return (F.kl_div(torch.log(ts), fs, reduction='sum') +
            F.kl_div(torch.log(fs), ts, reduction='sum')).item() / 2


@pytest.mark.parametrize('mode', ['log', 'loss', 'off'])
def test_alignment_term_as_published(tmp_path, mode):
    g = torch.Generator().manual_seed(0)
    text = torch.randn(5, 8, generator=g)
    path = tmp_path / 'emb.npy'
    np.save(path, text.numpy())
    head = TextInitHead(in_channels=8, attributes=[['x']] * 5,
                        embeddings_file=str(path), align_mode=mode,
                        align_weight=0.5, level='slide')
    x = F.normalize(torch.randn(12, 8, generator=g), dim=1)
    emb, extras = head(x)
    torch.testing.assert_close(emb, x @ F.normalize(text, dim=1).t())
    if mode == 'off':
        assert extras == {}
        return
    want = _published_kl(x, F.normalize(text, dim=1))
    key = 'loss_kl_slide' if mode == 'loss' else 'kl_slide'
    assert set(extras) == {key}
    weight = 0.5 if mode == 'loss' else 1.0
    assert extras[key].item() == pytest.approx(weight * want, rel=1e-5)
    xg = x.clone().requires_grad_()
    term = head(xg)[1][key]
    assert term.requires_grad == (mode == 'loss')


def test_embedding_file_rows_and_errors(tmp_path):
    mat = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    np.save(tmp_path / 'e.npy', mat)
    torch.save(torch.from_numpy(mat), tmp_path / 'e.pt')
    for name in ('e.npy', 'e.pt'):
        head = TextInitHead(6, [['a']] * 4,
                            embeddings_file=str(tmp_path / name))
        want = mat / np.linalg.norm(mat, axis=1, keepdims=True)
        np.testing.assert_allclose(head.linear.weight.detach().numpy(),
                                   want, rtol=1e-6)
    with pytest.raises(InputError, match='holds 4 attribute embeddings, '
                       'the config lists 3'):
        TextInitHead(6, [['a']] * 3, embeddings_file=str(tmp_path / 'e.npy'))
    with pytest.raises(InputError, match='not found'):
        TextInitHead(6, [['a']] * 4, embeddings_file=str(tmp_path / 'no.npy'))
    with pytest.raises(InputError, match='give embeddings_file'):
        TextInitHead(6, [['a']] * 4)


@pytest.mark.parametrize('value,msg', [
    (np.nan, r'hold NaN or inf values \(2 of 4 rows, the first row 1\)'),
    (np.inf, r'hold NaN or inf values \(2 of 4 rows, the first row 1\)'),
    (0.0, r'2 of 4 text embeddings are all zero \(the first row 1\)')])
def test_embedding_file_with_nan_or_zero_rows_is_one_line(tmp_path, value,
                                                           msg):
    """A file of NaN rows built a head of NaN weights: the run trained on
    (every weight NaN after one step); zero rows stayed zero. Refused."""
    mat = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    mat[[1, 3]] = value
    mat[3, 0] = 1.0  # a row with one bad value counts as well
    if value == 0.0:
        mat[3] = 0.0
    for name in ('e.npy', 'e.pt'):
        path = str(tmp_path / name)
        if name.endswith('.npy'):
            np.save(path, mat)
        else:
            torch.save(torch.from_numpy(mat), path)
        with pytest.raises(InputError, match=msg):
            TextInitHead(6, [['a']] * 4, embeddings_file=path)


@pytest.mark.parametrize('reader, path, what', [
    ('read_attribute_file', 'data/patch.json', 'attribute file'),
    ('read_embedding_file', 'data/patch.npy', 'text-embedding file')])
def test_missing_relative_text_files_name_the_current_folder(
        tmp_path, monkeypatch, reader, path, what):
    """A relative attribute or text-embedding file is read from the current
    folder, and its 'not found' line says so, as the other missing-path
    lines do (each named the path alone, whatever folder the run was in)."""
    from openselfsup.models import heads
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as err:
        getattr(heads, reader)(path)
    assert str(err.value) == (f'{path}: {what} not found (relative to the '
                              f'current folder {tmp_path})')


def test_attribute_file_errors(tmp_path):
    from openselfsup.models.heads import read_attribute_file
    f = tmp_path / 'a.json'
    cases = [('{"attributes": [', 'invalid JSON'),
             ('{"templates": ["x"], "attributes": []}', 'needs "attributes"'),
             ('{"templates": ["no slot"], "attributes": [{"name": "A", '
              '"descriptions": ["d"]}]}', 'exactly one'),
             ('{"attributes": [{"name": "A", "descriptions": []}]}',
              "'A' needs a list of descriptions")]
    for text, msg in cases:
        f.write_text(text)
        with pytest.raises(InputError, match=msg):
            read_attribute_file(str(f))
    f.write_text('{"templates": ["a {}.", "b {}."], "attributes": ['
                 '{"name": "A", "descriptions": ["x", "y"]}]}')
    assert read_attribute_file(str(f)) == (['A'], [['a x.', 'b x.', 'a y.',
                                                    'b y.']])


def test_hidisc_head_is_one_shared_linear():
    from mmengine.config import Config
    cfg = Config.fromfile(os.path.join(
        ROOT, 'configs/hlss/hidisc_r50_b10p_opensrh.py'))
    model = MODELS.build(cfg.model)
    heads = model.level_heads
    assert heads['patient'] is heads['slide'] is heads['patch']
    layers = list(heads['patch'].layers)
    assert len(layers) == 1 and isinstance(layers[0], torch.nn.Linear)
    assert (layers[0].in_features, layers[0].out_features) == (2048, 128)
    assert model.extract_feat(torch.rand(2, 3, 64, 64)).shape == (2, 2048)
    # published init: Xavier-uniform weights, biases 0.01
    bound = (6 / (2048 + 128)) ** 0.5
    assert layers[0].weight.abs().max() <= bound
    assert layers[0].weight.abs().max() > 0.9 * bound
    assert torch.all(layers[0].bias == 0.01)
    mlp = MLPHead(16, 4, hidden_channels=[8])
    assert [type(m).__name__ for m in mlp.layers] == ['Linear', 'ReLU',
                                                      'Linear']


HIDISC_DEMO = os.path.join(ROOT, 'configs/demo/hidisc_r18w8_synthetic.py')


def test_a_hidisc_head_narrower_than_the_backbone_is_one_line(tmp_path):
    """``--cfg-options model.backbone.base_channels=16`` on the HiDisc demo
    (a ResNet-18 whose features are then 128-d, not 64) built, then
    stopped the first step with a 70-line 'mat1 and mat2 shapes cannot be
    multiplied (48x128 and 64x128)' traceback from ``MLPHead.forward``;
    now the build refuses it in one line naming both widths and the
    option, whose value is the width a forward pass of the backbone
    gives; with it the model runs. A per-level head of another width is
    named by its level."""
    from mmengine.config import Config

    from openselfsup.apis.train import build_runner
    from openselfsup.models.widths import width_mismatch
    from openselfsup.utils import InputError
    wide = {'model.backbone.base_channels': 16}
    with pytest.raises(InputError) as err:
        build_runner(HIDISC_DEMO, work_dir=str(tmp_path / 'w'),
                     cfg_options=wide)
    cfg = Config.fromfile(HIDISC_DEMO)
    cfg.merge_from_dict(wide)
    model = MODELS.build(cfg.model)
    width = model.extract_feat(torch.rand(2, 3, 32, 32)).shape[1]
    assert str(err.value) == (
        f'{HIDISC_DEMO}: model.backbone gives {width}-d features but '
        'model.heads.in_channels is 64: set --cfg-options '
        f'model.heads.in_channels={width}')
    assert not (tmp_path / 'w').exists()
    cfg.merge_from_dict({'model.heads.in_channels': width})
    model = MODELS.build(cfg.model)
    assert width_mismatch(model) is None
    emb, _ = model.level_heads['patch'](model.extract_feat(
        torch.rand(2, 3, 32, 32)))
    assert emb.shape == (2, 128)
    # one head per level, the slide's of another width
    cfg = Config.fromfile(HIDISC_DEMO)
    head = dict(cfg.model.heads)
    cfg.model.heads = {lv: dict(head, in_channels=64 if lv != 'slide'
                                else 32) for lv in LEVELS}
    assert width_mismatch(MODELS.build(cfg.model)) == (
        'model.backbone gives 64-d features but model.heads.slide.'
        'in_channels is 32: set --cfg-options model.heads.slide.'
        'in_channels=64')


def test_a_weighted_level_without_its_head_is_one_line():
    """A heads dict without a level whose loss weight is not 0 built, then
    stopped the run at its first iteration with ``KeyError: 'patient'``.
    Now one line when the model is built, naming the levels and the fix; a
    level of weight 0 needs no head and trains the others."""
    from mmengine.config import Config
    from mmpretrain.structures import DataSample
    model = Config.fromfile(HIDISC_DEMO).model.to_dict()  # weights 1 each
    mlp = dict(type='MLPHead', in_channels=64, out_channels=16)
    with pytest.raises(InputError) as err:
        MODELS.build(dict(model, heads=dict(patch=mlp)))
    assert str(err.value) == (
        'HLSS heads: no head for level(s) patient, slide of non-zero loss '
        'weight; add heads.patient / heads.slide, or set '
        'loss.weights.patient=0 / loss.weights.slide=0')
    model['loss']['weights']['patient'] = 0.
    net = MODELS.build(dict(model, heads=dict(slide=mlp, patch=mlp)))
    sample = DataSample(metainfo=dict(hierarchy=(2, 1, 2)))
    losses = net.loss([torch.rand(2, 3, 16, 16) for _ in range(4)],
                      [sample, sample])
    assert set(losses) == {'loss_slide', 'loss_patch'}


@pytest.mark.parametrize('where', ['heads', 'weights'])
def test_an_unknown_level_is_one_line_naming_it(tmp_path, where):
    """A head or a loss weight of a level there is not (``heads.organ``,
    ``loss.weights.organ``) was a ValueError quoted inside 'the model or data
    could not be built from the config (ValueError: HiDiscLoss: unknown
    levels ['organ']; use (...))': the weights not named. Now the train
    command's one line names the key and the levels there are, and nothing
    is written."""
    from openselfsup.apis import train
    mlp = dict(type='MLPHead', in_channels=64, out_channels=16)
    change = (dict(heads=dict(patient=mlp, slide=mlp, patch=mlp, organ=mlp))
              if where == 'heads' else
              dict(loss=dict(weights=dict(organ=1.0))))
    cfg = tmp_path / 'bad.py'
    cfg.write_text(f'_base_ = [{HIDISC_DEMO!r}]\n'
                   + ('model = dict(heads=dict(_delete_=True, '
                      f'**{change["heads"]!r}))\n' if where == 'heads' else
                      f'model = {change!r}\n'))
    from openselfsup.datasets.synthetic import (HierarchicalSpec,
                                                make_synthetic_hierarchical)
    root = str(tmp_path / 'hier')  # the data is checked before the model
    make_synthetic_hierarchical(root, HierarchicalSpec(
        size=16, classes=('TUM', 'ADI'), train_patients=2, val_patients=1,
        slides=(1, 1), patches=(1, 1), seed=0))
    opts = {f'train_dataloader.dataset.{k}': v for k, v in dict(
        data_root=root, metadata=f'{root}/metadata.json',
        split=f'{root}/split.json').items()}
    opts['custom_hooks'] = []
    work = tmp_path / 'w'
    with pytest.raises(InputError) as err:
        train(str(cfg), work_dir=str(work), cfg_options=opts)
    levels = ('patient', 'slide', 'patch')
    key = 'heads' if where == 'heads' else 'loss.weights'
    what = 'HLSS heads' if where == 'heads' else 'HiDiscLoss weights'
    assert str(err.value) == (
        f'{what}: unknown level(s) {key}.organ; the levels are '
        + ' / '.join(f'{key}.{lv}' for lv in levels))
    assert not work.exists()


@pytest.mark.parametrize('kind', ['TextInitHead', 'openselfsup.TextInitHead'])
def test_a_shared_text_head_gets_the_models_text_encoder(clip_file, kind):
    """One TextInitHead for all levels (``heads=dict(type='TextInitHead',
    ...)``) was built without the model's text_encoder and refused with
    'give embeddings_file, or a text_encoder in the model config' when one
    was given. It is now given the encoder, as per-level heads are: its
    rows are the attributes' mean CLIP text embeddings."""
    path, ref = clip_file
    sentences = [['a photo of dense cells.', 'many nuclei.'],
                 ['a photo of fat.'], ['empty background.', 'glass.']]
    # the type with its registry scope too (it was read by its bare name)
    model, _ = _model(path, heads=dict(type=kind, in_channels=32,
                                       attributes=sentences))
    heads = model.level_heads
    assert heads['patient'] is heads['slide'] is heads['patch']
    torch.testing.assert_close(heads['patch'].linear.weight.detach(),
                               _reference_rows(ref, sentences),
                               rtol=1e-5, atol=1e-6)
    assert not any(k.startswith('text') or '.transformer.' in k
                   for k in model.state_dict())


def test_texts_longer_than_the_context_are_said(monkeypatch):
    """open_clip's tokenizer cuts a text to the tower's context without a
    word: an attribute sentence longer than it was embedded by its start
    alone (the demo's context is 32 tokens; the published sentences run
    to 44). Now one warning line counts them (the rows stay as published:
    the cut text's)."""
    from openselfsup.models import text_encoders
    lines = []
    for mod in (oc_mod, text_encoders):  # the line every text encoder gives
        monkeypatch.setattr(mod, 'print_log',
                            lambda msg, **kw: lines.append(msg))
    enc = oc_mod.OpenCLIPText(NAME, None, TINY, device='cpu')  # context 24
    lines.clear()  # the random-initialisation line
    short = 'a histopathology image showing dense cells.'
    words = ' '.join(['cells'] * 30)  # 'cells' is one BPE token: 32 tokens
    long = f'{words} and more'
    emb = enc.encode([short, long, short])
    assert len(lines) == 1 and '\n' not in lines[0]
    assert 'OpenCLIPText RN50-quickgelu: 1 of 3 texts are longer than ' \
        "the text tower's context of 24 tokens" in lines[0]
    assert 'the first: 34 tokens' in lines[0]
    # embedded as open_clip embeds it: the first 22 words, then the end
    cut = ' '.join(['cells'] * 22)
    assert torch.allclose(emb[1], enc.encode([cut])[0], atol=1e-5)
    lines.clear()
    enc.encode([short, cut])  # fits exactly (22 + start + end): no line
    assert lines == []
