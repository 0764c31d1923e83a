"""Any encoder through the protocol: timm and open_clip models with local
weights, and features computed elsewhere.

The extraction references read each image with PIL, resize and crop it by
hand as the model's pretrained configuration says, normalise it with that
configuration's mean and std and run the library model loaded from the same
file; the command goes through the list file, the weight reader, the
library's transform and the extraction loop. Imports are checked row by row
against features whose place is known.
"""
import json
import os
import re
import shlex
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from _foundation_helpers import start_up_freezing, tool_module

from openselfsup.lowshot import paths
from openselfsup.utils import run_cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VIT = 'vit_tiny_patch16_224'
VIT_KWARGS = dict(img_size=32, patch_size=8, depth=2, embed_dim=32,
                  num_heads=2)
VIT_FLAGS = ['--model-kwargs'] + [f'{k}={v}' for k, v in VIT_KWARGS.items()]
IMAGENET = ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])


def _cli(name):
    return tool_module(f'wsi_workdir/{name}.py')


def _run(capsys, name, argv):
    code = run_cli(_cli(name).main, argv)
    captured = capsys.readouterr()
    return code, captured.err.strip(), captured.out


def _config(name):
    return os.path.join(REPO, 'configs', 'extraction', name)


def _base(root, out, config='nct_test.py', domain='NCT'):
    return ['--config', _config(config), '--output', out, '--workers', '0',
            '--no-progress', '--cfg-options',
            f'dataset.data_root={os.path.join(root, domain)}']


def _list(root, domain='NCT', name='test_labeled.txt'):
    with open(os.path.join(root, domain, 'meta', name)) as f:
        rows = [line.split() for line in f if line.strip()]
    return [r[0] for r in rows], np.array([int(r[1]) for r in rows])


def _pixels(root, rel, size, crop, mean, std, domain='NCT'):
    """PIL: resize to ``size`` x ``size`` (bicubic), centre crop ``crop``,
    scale to [0, 1], normalise: [1, 3, crop, crop]."""
    img = Image.open(os.path.join(root, domain, 'data', rel)).convert('RGB')
    if img.size != (size, size):
        img = img.resize((size, size), Image.BICUBIC)
    top = int(round((size - crop) / 2.0))
    img = img.crop((top, top, top + crop, top + crop))
    x = np.asarray(img, dtype=np.float32) / 255.0
    x = (x - np.array(mean, np.float32)) / np.array(std, np.float32)
    return torch.from_numpy(x).permute(2, 0, 1)[None]


def _unit(x):
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope='module')
def vit(tmp_path_factory):
    """A tiny timm ViT at a seeded random initialisation, saved as
    safetensors: (model, path)."""
    import timm
    from safetensors.torch import save_file
    torch.manual_seed(0)
    model = timm.create_model(VIT, pretrained=False, num_classes=0,
                              **VIT_KWARGS).eval()
    path = str(tmp_path_factory.mktemp('vit') / 'model.safetensors')
    save_file(model.state_dict(), path)
    return model, path


def _vit_reference(model, root, crop_pct=0.9, mean=(0.5,) * 3,
                   std=(0.5,) * 3):
    rels, labels = _list(root)
    size = int(32 / crop_pct)  # timm: floor(input size / crop_pct)
    feats = []
    with torch.no_grad():
        for rel in rels:
            x = _pixels(root, rel, size, 32, mean, std)
            feats.append(model.forward_head(model.forward_features(x),
                                            pre_logits=True)[0].numpy())
    return np.stack(feats), labels, rels


def test_timm_vit_through_the_command(synthetic_root, vit, tmp_path, capsys):
    model, weights = vit
    workdir = str(tmp_path / 'w')
    out = paths.features_path(workdir, 'vit', 'NCT_test')
    code, err, printed = _run(capsys, 'extract', _base(synthetic_root, out) + [
        '--model-source', f'timm:{VIT}', '--weights', weights] + VIT_FLAGS)
    assert code == 0, err
    assert 'timm weights (safetensors)' in printed
    feats = np.load(out)
    ref, labels, rels = _vit_reference(model, synthetic_root)
    assert feats.dtype == np.float32 and feats.shape == (len(rels), 32)
    np.testing.assert_allclose(np.linalg.norm(feats, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(feats, _unit(ref), atol=2e-5)
    np.testing.assert_array_equal(
        np.load(paths.labels_path(workdir, 'NCT_test')), labels)
    with open(paths.provenance_path(workdir, 'vit', 'NCT_test')) as f:
        prov = json.load(f)
    # the preprocessing of the model's pretrained config, recorded
    pre = prov['preprocess']
    assert pre['input_size'] == [3, 32, 32] and pre['crop_pct'] == 0.9
    assert pre['mean'] == [0.5] * 3 and pre['interpolation'] == 'bicubic'
    assert prov['transform'][0].startswith('Resize(size=35')
    enc = prov['encoder']
    assert (enc['library'], enc['model'], enc['pool']) == ('timm', VIT,
                                                           'token')
    assert enc['model_kwargs'] == VIT_KWARGS and prov['normalised'] is True
    import hashlib
    with open(weights, 'rb') as f:
        assert prov['checkpoint_sha256'] == hashlib.sha256(
            f.read()).hexdigest()
    from openselfsup.lowshot.features import load_features
    assert load_features(workdir, 'vit', 'NCT_test').normalised


def test_timm_torch_file_pool_and_raw(synthetic_root, vit, tmp_path):
    """A .pth with a DDP prefix and a classifier head gives the same
    features (the head is ignored and counted); --pool avg and
    --no-normalise are honoured and recorded (timm's ViT moves its final
    norm behind the pooling for avg unless fc_norm=False: the weights of a
    token-pooled model keep their norm with fc_norm=False)."""
    from openselfsup.apis.extract import extract_external
    model, weights = vit
    pth = str(tmp_path / 'wrapped.pth')
    state = {f'module.{k}': v for k, v in model.state_dict().items()}
    state.update({'module.head.weight': torch.zeros(9, 32),
                  'module.head.bias': torch.zeros(9)})
    torch.save({'state_dict': state, 'epoch': 3}, pth)
    opts = {'dataset.data_root': os.path.join(synthetic_root, 'NCT')}
    out = str(tmp_path / 'a' / 'x.npy')
    rec = extract_external(_config('nct_test.py'), f'timm:{VIT}', out,
                           weights=pth, model_kwargs=VIT_KWARGS,
                           cfg_options=opts, progress=False)
    ref, _, _ = _vit_reference(model, synthetic_root)
    np.testing.assert_allclose(np.load(out), _unit(ref), atol=2e-5)
    assert rec['encoder']['ignored_keys'] == 2
    assert rec['encoder']['weights_format'] == 'torch'
    out2 = str(tmp_path / 'b' / 'x.npy')
    rec = extract_external(_config('nct_test.py'), f'timm:{VIT}', out2,
                           weights=weights,
                           model_kwargs=dict(VIT_KWARGS, fc_norm=False),
                           cfg_options=opts, progress=False, pool='avg',
                           normalise=False)
    avg = np.load(out2)
    # avg: the mean of the patch tokens after the final norm (timm's ViT)
    rels, _ = _list(synthetic_root)
    with torch.no_grad():
        x = torch.cat([_pixels(synthetic_root, r, 35, 32, [0.5] * 3,
                               [0.5] * 3) for r in rels])
        tokens = model.forward_features(x)
    np.testing.assert_allclose(avg, tokens[:, 1:].mean(1).numpy(),
                               atol=2e-5)
    assert rec['encoder']['pool'] == 'avg' and rec['normalised'] is False


def test_timm_folder_with_its_own_config(synthetic_root, vit, tmp_path):
    """A hub-layout folder (config.json as timm writes it, e.g. UNI's):
    the architecture, its arguments and its preprocessing come from the
    folder; --preprocess overrides a key."""
    from safetensors.torch import save_file

    from openselfsup.apis.extract import extract_external
    model, _ = vit
    folder = tmp_path / 'hub'
    folder.mkdir()
    save_file(model.state_dict(), str(folder / 'model.safetensors'))
    with open(folder / 'config.json', 'w') as f:
        json.dump({'architecture': VIT, 'model_args': dict(VIT_KWARGS,
                                                           num_classes=0),
                   'pretrained_cfg': {'input_size': [3, 32, 32],
                                      'crop_pct': 1.0, 'mean': IMAGENET[0],
                                      'std': IMAGENET[1],
                                      'interpolation': 'bicubic',
                                      'classifier': 'head'}}, f)
    opts = {'dataset.data_root': os.path.join(synthetic_root, 'NCT')}
    out = str(tmp_path / 'f' / 'x.npy')
    rec = extract_external(_config('nct_test.py'), 'timm', out,
                           weights=str(folder), cfg_options=opts,
                           progress=False)
    assert rec['preprocess']['mean'] == IMAGENET[0]
    assert rec['preprocess']['crop_pct'] == 1.0
    assert rec['checkpoint'].endswith('model.safetensors')
    ref, _, _ = _vit_reference(model, synthetic_root, 1.0, *IMAGENET)
    np.testing.assert_allclose(np.load(out), _unit(ref), atol=2e-5)
    rec = extract_external(_config('nct_test.py'), f'timm:{VIT}', out,
                           weights=str(folder), cfg_options=opts,
                           progress=False, preprocess={'crop_pct': 0.9})
    assert rec['preprocess']['crop_pct'] == 0.9
    assert rec['encoder']['preprocess_overrides'] == {'crop_pct': 0.9}
    ref, _, _ = _vit_reference(model, synthetic_root, 0.9, *IMAGENET)
    np.testing.assert_allclose(np.load(out), _unit(ref), atol=2e-5)
    # one encoder however its source is spelled (the low-shot check compares
    # these records; it refused 'timm' + folder against 'timm:<name>' +
    # the same folder); another preprocessing is another encoder
    from openselfsup.lowshot.features import FeatureSet, encoder_of
    spelled = extract_external(_config('nct_test.py'), f'timm:{VIT}', out,
                               weights=str(folder / '.'), cfg_options=opts,
                               progress=False)

    def enc(record):
        return encoder_of(FeatureSet('m', 'NCT_test', np.zeros((1, 1)),
                                     np.zeros(1), 'f', 'l', False, record))
    first = extract_external(_config('nct_test.py'), 'timm', out,
                             weights=str(folder), cfg_options=opts,
                             progress=False)
    assert spelled['encoder']['source'] != first['encoder']['source']
    assert enc(spelled)[0] == enc(first)[0]
    assert enc(rec)[0] != enc(first)[0]  # crop_pct 0.9


TINY_CLIP = {'embed_dim': 16,
             'vision_cfg': {'image_size': 32, 'layers': 2, 'width': 32,
                            'head_width': 16, 'patch_size': 8},
             'text_cfg': {'context_length': 8, 'vocab_size': 64,
                          'width': 16, 'heads': 2, 'layers': 1}}


@pytest.fixture(scope='module')
def clip_folder(tmp_path_factory):
    """A tiny open_clip model (open_clip's CLIP class, seeded random init)
    in open_clip's hub layout: (model, folder)."""
    import open_clip
    folder = tmp_path_factory.mktemp('clip')
    with open(folder / 'open_clip_config.json', 'w') as f:
        json.dump({'model_cfg': TINY_CLIP,
                   'preprocess_cfg': {'mean': [0.6, 0.5, 0.4],
                                      'std': [0.2, 0.25, 0.3]}}, f)
    torch.manual_seed(1)
    model = open_clip.create_model(f'local-dir:{folder}',
                                   load_weights=False).eval()
    torch.save(model.state_dict(),
               str(folder / 'open_clip_pytorch_model.bin'))
    return model, str(folder)


def test_open_clip_through_the_command(synthetic_root, clip_folder,
                                       tmp_path, capsys):
    model, folder = clip_folder
    workdir = str(tmp_path / 'w')
    out = paths.features_path(workdir, 'clip', 'LC')
    code, err, _ = _run(capsys, 'extract', _base(
        synthetic_root, out, 'lc.py', 'LC25000') + [
        '--model-source', 'open_clip', '--weights', folder])
    assert code == 0, err
    feats = np.load(out)
    rels, _ = _list(synthetic_root, 'LC25000', 'img_list_labeled.txt')
    mean, std = [0.6, 0.5, 0.4], [0.2, 0.25, 0.3]
    with torch.no_grad():
        ref = torch.cat([model.encode_image(_pixels(
            synthetic_root, r, 32, 32, mean, std, 'LC25000'))
            for r in rels]).numpy()
    assert feats.shape == (len(rels), 16)
    np.testing.assert_allclose(np.linalg.norm(feats, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(feats, _unit(ref), atol=2e-5)
    with open(paths.provenance_path(workdir, 'clip', 'LC')) as f:
        prov = json.load(f)
    pre = prov['preprocess']
    assert pre['mean'] == mean and pre['std'] == std
    assert pre['size'] == [32, 32] and pre['resize_mode'] == 'shortest'
    enc = prov['encoder']
    assert enc['library'] == 'open_clip' and enc['projection'] is True
    assert enc['pool'] == 'tok' and enc['ignored_keys'] > 0  # text tower
    # before the projection: the ViT tower's pooled token (width 32)
    from openselfsup.apis.extract import extract_external
    out2 = str(tmp_path / 'pre' / 'x.npy')
    extract_external(_config('lc.py'), 'open_clip', out2, weights=folder,
                     projection=False, progress=False, cfg_options={
                         'dataset.data_root': os.path.join(synthetic_root,
                                                           'LC25000')})
    pre_proj = np.load(out2)
    assert pre_proj.shape == (len(rels), 32)
    np.testing.assert_allclose(_unit(pre_proj @ model.visual.proj.detach()
                                     .numpy()), feats, atol=2e-5)


def test_open_clip_weights_take_their_published_preprocessing(
        synthetic_root, tmp_path, capsys, monkeypatch):
    """``open_clip:ViT-B-16-SigLIP --weights FILE`` took CLIP's mean and
    std and a shortest-side resize (the model configuration's), while its
    published ``webli`` weights take mean and std 0.5 and a squashing
    resize (open_clip's pretrained configuration of the tag): features of
    other pixels than the weights were trained on, without a word. A name
    whose published weights differ so is refused unless the tag is named
    (``name:tag``, whose preprocessing is then taken) or ``--preprocess``
    gives the differing keys. Here a tiny model registered in open_clip's
    tables as such a name."""
    import open_clip
    from open_clip import factory, pretrained

    from openselfsup.apis.extract import extract_external
    from openselfsup.utils import InputError
    name = 'tiny-test-SigLIP'
    half = (0.5, 0.5, 0.5)
    monkeypatch.setitem(factory._MODEL_CONFIGS, name, dict(TINY_CLIP))
    monkeypatch.setitem(pretrained._PRETRAINED, name, {
        'webli': dict(url='', mean=half, std=half, interpolation='bicubic',
                      resize_mode='squash'),
        'clip': dict(url='')})   # the model configuration's
    torch.manual_seed(2)
    model = open_clip.create_model(name, pretrained=None,
                                   load_weights=False).eval()
    weights = str(tmp_path / 'w.bin')
    torch.save(model.state_dict(), weights)
    opts = {'dataset.data_root': os.path.join(synthetic_root, 'LC25000')}
    out = str(tmp_path / 'x.npy')

    def run(source, **kw):
        return extract_external(_config('lc.py'), source, out,
                                weights=weights, progress=False,
                                cfg_options=opts, **kw)
    code, err, _ = _run(capsys, 'extract', _base(
        synthetic_root, out, 'lc.py', 'LC25000') + [
        '--model-source', f'open_clip:{name}', '--weights', weights])
    assert code == 2 and len(err.splitlines()) == 1, err
    assert (f'open_clip:{name}: its published weights webli are '
            'preprocessed otherwise than its model configuration (webli: '
            'mean [0.5, 0.5, 0.5] vs [0.48145466') in err, err
    assert f'--model-source open_clip:{name}:webli, or give --preprocess ' \
        'mean=... std=... resize_mode=...' in err, err
    assert not os.path.exists(out)
    with pytest.raises(InputError, match=f"no weights 'laion' of {name} "
                       r'\(its tags: webli, clip\)'):
        run(f'open_clip:{name}:laion')
    rels, _ = _list(synthetic_root, 'LC25000', 'img_list_labeled.txt')
    with torch.no_grad():
        ref = torch.cat([model.encode_image(_pixels(
            synthetic_root, r, 32, 32, half, half, 'LC25000'))
            for r in rels]).numpy()
    rec = run(f'open_clip:{name}:webli')
    assert rec['preprocess']['mean'] == list(half)
    assert rec['preprocess']['resize_mode'] == 'squash'
    assert rec['encoder']['pretrained_tag'] == 'webli'
    assert rec['encoder']['model'] == name
    np.testing.assert_allclose(np.load(out), _unit(ref), atol=2e-5)
    # the values given: taken as given
    rec = run(f'open_clip:{name}', preprocess=dict(
        mean=half, std=half, resize_mode='squash'))
    np.testing.assert_allclose(np.load(out), _unit(ref), atol=2e-5)
    # the model configuration's own tag
    rec = run(f'open_clip:{name}:clip')
    assert rec['preprocess']['mean'] == [0.48145466, 0.4578275, 0.40821073]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_amp_close_to_cpu(synthetic_root, vit, tmp_path):
    from openselfsup.apis.extract import extract_external
    _, weights = vit
    opts = {'dataset.data_root': os.path.join(synthetic_root, 'NCT')}
    feats = []
    for device, amp in (('cpu', False), ('cuda', True)):
        out = str(tmp_path / device / 'x.npy')
        extract_external(_config('nct_test.py'), f'timm:{VIT}', out,
                         weights=weights, model_kwargs=VIT_KWARGS,
                         cfg_options=opts, progress=False, device=device,
                         amp=amp, channels_last=amp)
        feats.append(np.load(out))
    assert feats[1].dtype == np.float32
    np.testing.assert_allclose(feats[1], feats[0], atol=0.02)


def test_random_init_depends_on_its_seed_only(synthetic_root, tmp_path):
    """--random-init: the same --seed gives the same encoder whatever the
    global random state was; another seed another encoder."""
    from openselfsup.apis.extract import extract, extract_external
    opts = {'dataset.data_root': os.path.join(synthetic_root, 'NCT')}
    runs = []
    for i, seed in enumerate((3, 3, 4)):
        torch.manual_seed(100 + i)  # global state differs between runs
        out = str(tmp_path / f'r{i}' / 'x.npy')
        rec = extract_external(_config('nct_test.py'), f'timm:{VIT}', out,
                               model_kwargs=VIT_KWARGS, cfg_options=opts,
                               progress=False, seed=seed)
        runs.append(np.load(out))
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.allclose(runs[0], runs[2])
    assert rec['checkpoint'] is None and 'random init (seed 4)' in \
        rec['checkpoint_kind']
    # the config's ResNet at its own initialisation (the demo's baseline)
    resnet = dict(opts, **{'model.backbone.base_channels': 8,
                           'model.backbone.stem_channels': 8,
                           'dataset.pipeline.1.scale': 32})
    outs = []
    for i in range(2):
        torch.manual_seed(200 + i)
        out = str(tmp_path / f'c{i}' / 'x.npy')
        rec = extract(_config('nct_test.py'), None, out, cfg_options=resnet,
                      progress=False, random_init=True, seed=7)
        outs.append(np.load(out))
    np.testing.assert_array_equal(outs[0], outs[1])
    assert rec['checkpoint_kind'] == 'random init (seed 7)'


def test_wrong_weights_and_flags_give_one_line(synthetic_root, vit,
                                               clip_folder, tmp_path,
                                               capsys):
    import timm
    from safetensors.torch import save_file
    _, weights = vit
    deeper = str(tmp_path / 'deeper.safetensors')
    save_file(timm.create_model(VIT, num_classes=0, **dict(
        VIT_KWARGS, depth=3)).state_dict(), deeper)
    corrupt = str(tmp_path / 'corrupt.safetensors')
    with open(corrupt, 'wb') as f:
        f.write(b'\x00' * 64)
    other_clip = tmp_path / 'clip2'
    other_clip.mkdir()
    cfg = json.loads(json.dumps(TINY_CLIP))
    cfg['vision_cfg']['width'] = 48
    with open(other_clip / 'open_clip_config.json', 'w') as f:
        json.dump({'model_cfg': cfg}, f)
    import open_clip
    torch.save(open_clip.create_model(f'local-dir:{other_clip}',
                                      load_weights=False).state_dict(),
               str(other_clip / 'open_clip_pytorch_model.bin'))
    _, folder = clip_folder
    mixed = tmp_path / 'mixed'
    mixed.mkdir()
    os.symlink(os.path.join(folder, 'open_clip_config.json'),
               mixed / 'open_clip_config.json')
    os.symlink(other_clip / 'open_clip_pytorch_model.bin',
               mixed / 'open_clip_pytorch_model.bin')
    out = str(tmp_path / 'out' / 'x.npy')
    base = _base(synthetic_root, out)
    timm_src = ['--model-source', f'timm:{VIT}']
    cases = [
        (timm_src + ['--weights', deeper] + VIT_FLAGS,
         'does not fit timm vit_tiny_patch16_224: 12 unexpected (blocks.2.'),
        (timm_src + ['--weights', weights, '--model-kwargs', 'img_size=32',
                     'patch_size=8', 'depth=2', 'embed_dim=64',
                     'num_heads=2'],
         'with another shape (cls_token: [1, 1, 32] in the file, '
         '[1, 1, 64] in the model)'),
        (timm_src + ['--weights', corrupt] + VIT_FLAGS,
         'not a readable safetensors file'),
        (['--model-source', 'open_clip', '--weights', str(mixed)],
         'with another shape (class_embedding: [48] in the file'),
        (['--model-source', 'timm:no_such_net', '--weights', weights],
         'timm has no such model'),
        (['--model-source', 'keras:resnet'], 'expected timm:<model name>'),
        (timm_src + VIT_FLAGS, 'give --weights FILE or --random-init'),
        (timm_src + ['--weights', weights, '--random-init'] + VIT_FLAGS,
         'give --weights FILE or --random-init, not both'),
        (timm_src + ['--weights', weights, '--preprocess', 'mean=0.5']
         + VIT_FLAGS, '--preprocess mean=0.5: give three numbers, one per '
         'channel'),
        (['--weights', weights], '--weights applies to --model-source only'),
        (['--model-source', 'open_clip', '--weights', folder, '--pool',
          'avg'], '--pool applies to timm models'),
        (timm_src + ['--weights', weights, '--preprocess', 'resize=3']
         + VIT_FLAGS, '--preprocess resize: timm understands'),
        (timm_src + ['--weights', weights, '--model-kwargs', 'img_size'],
         "--model-kwargs 'img_size': expected KEY=VALUE"),
        (timm_src + ['--weights', str(tmp_path / 'nope.bin')] + VIT_FLAGS,
         'nope.bin: not found'),
    ]
    for extra, expected in cases:
        code, err, _ = _run(capsys, 'extract', base + extra)
        assert code == 2, (extra, err)
        assert len(err.splitlines()) == 1 and expected in err, err
        assert not os.path.exists(out)


# -- precomputed features --------------------------------------------------
def _import_case(root, rng, dim=6):
    """Features of the NCT test list in list order, and a shuffled copy
    with its path list (some paths absolute, with a foreign prefix)."""
    rels, labels = _list(root)
    feats = rng.normal(size=(len(rels), dim)).astype(np.float32) + 2
    perm = rng.permutation(len(rels))
    shuffled = [rels[i] if k % 2 else f'/elsewhere/NCT/data/{rels[i]}'
                for k, i in enumerate(perm)]
    return feats, labels, rels, perm, shuffled


def _imported(root, tmp_path, capsys, feats, rows, *flags):
    """``feats`` (one row per path of ``rows``) saved in ``tmp_path`` and
    imported as ``mine``'s NCT_test of the workdir ``tmp_path/w`` from the
    NCT images under ``root``, with ``flags``: the exit code, stderr and
    stdout, and the source, its paths file and the output."""
    npy, list_txt = str(tmp_path / 'feats.npy'), str(tmp_path / 'paths.txt')
    np.save(npy, feats)
    with open(list_txt, 'w') as f:
        f.write('\n'.join(rows) + '\n')
    out = paths.features_path(str(tmp_path / 'w'), 'mine', 'NCT_test')
    return _run(capsys, 'import_features', [
        '--config', _config('nct_test.py'), '--source', npy, '--paths',
        list_txt, '--output', out, *flags, '--cfg-options',
        f'dataset.data_root={os.path.join(root, "NCT")}']) + (
            (npy, list_txt, out),)


def test_missing_relative_weights_name_the_current_folder(tmp_path,
                                                         monkeypatch):
    """A relative ``--weights`` path is read from the current folder, and
    its 'not found' line says so, as the other missing-path lines do (it
    read ``--weights checkpoints/vit.bin: not found``, whatever folder the
    run was in); an absolute one is named alone, as before."""
    from openselfsup.models.external import resolve_weights
    from openselfsup.utils import InputError
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as err:
        resolve_weights('timm', 'checkpoints/vit.bin')
    assert str(err.value) == ('--weights checkpoints/vit.bin: not found '
                              f'(relative to the current folder {tmp_path})')
    with pytest.raises(InputError) as err:
        resolve_weights('timm', str(tmp_path / 'vit.bin'))
    assert str(err.value) == f'--weights {tmp_path / "vit.bin"}: not found'


def test_import_npy_and_h5_put_each_row_in_place(synthetic_root, tmp_path,
                                                 capsys):
    import h5py
    rng = np.random.default_rng(0)
    feats, labels, rels, perm, shuffled = _import_case(synthetic_root, rng)
    code, err, printed, (_, _, out) = _imported(
        synthetic_root, tmp_path, capsys, feats[perm], shuffled)
    workdir = str(tmp_path / 'w')
    assert code == 0, err
    assert 'normalised on import' in printed
    got = np.load(out)
    np.testing.assert_allclose(got, _unit(feats), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(
        np.load(paths.labels_path(workdir, 'NCT_test')), labels)
    with open(paths.provenance_path(workdir, 'mine', 'NCT_test')) as f:
        prov = json.load(f)
    assert prov['source_format'] == 'npy' and prov['normalised'] is True
    assert prov['source_normalised'] is False
    from openselfsup.lowshot.features import load_features
    assert load_features(workdir, 'mine', 'NCT_test').normalised

    # h5: paths inside the file, three rows of images outside the list
    h5 = str(tmp_path / 'feats.h5')
    extra = rng.normal(size=(3, feats.shape[1])).astype(np.float32)
    with h5py.File(h5, 'w') as f:
        f['emb'] = np.concatenate([feats[perm], extra])
        f['paths'] = np.array(shuffled + ['ADI/not_listed_%d.tif' % i
                                          for i in range(3)], dtype='S')
    from openselfsup.apis.import_features import import_features
    opts = {'dataset.data_root': os.path.join(synthetic_root, 'NCT')}
    out2 = str(tmp_path / 'h5' / 'x.npy')
    rec = import_features(_config('nct_test.py'), h5, out2, key='emb',
                          cfg_options=opts, ignore_extra=True,
                          normalise=False)
    np.testing.assert_array_equal(np.load(out2), feats)
    assert rec['rows_dropped'] == 3 and rec['normalised'] is False
    # .pt: a dict with features and paths
    pt = str(tmp_path / 'feats.pt')
    torch.save({'features': torch.from_numpy(feats[perm]),
                'paths': shuffled}, pt)
    out3 = str(tmp_path / 'pt' / 'x.npy')
    import_features(_config('nct_test.py'), pt, out3, cfg_options=opts)
    np.testing.assert_allclose(np.load(out3), _unit(feats), rtol=1e-6,
                               atol=1e-7)


def test_import_refuses_missing_extra_and_duplicate_rows(synthetic_root,
                                                         tmp_path, capsys):
    rng = np.random.default_rng(1)
    feats, _, rels, perm, shuffled = _import_case(synthetic_root, rng)
    out = str(tmp_path / 'out' / 'x.npy')

    def case(rows, names, extra_flags=()):
        src = str(tmp_path / f'f{case.n}.npy')
        lst = str(tmp_path / f'p{case.n}.txt')
        case.n += 1
        np.save(src, rows)
        with open(lst, 'w') as f:
            f.write('\n'.join(names) + '\n')
        return _run(capsys, 'import_features', [
            '--config', _config('nct_test.py'), '--source', src, '--paths',
            lst, '--output', out, *extra_flags, '--cfg-options',
            f'dataset.data_root={os.path.join(synthetic_root, "NCT")}'])
    case.n = 0
    shuffled_feats = feats[perm]
    cases = [
        (shuffled_feats[1:], shuffled[1:], (),
         f'1 of the {len(rels)} images of'),
        (np.concatenate([shuffled_feats, shuffled_feats[:1]]),
         shuffled + ['STR/foreign.tif'], (),
         "1 row(s) name images that are not in"),
        (np.concatenate([shuffled_feats, shuffled_feats[:1]]),
         shuffled + [shuffled[0]], (), 'both name'),
        (shuffled_feats, shuffled[:-1], (), 'paths but'),
        (np.where(np.arange(len(perm))[:, None] == 0, 0, shuffled_feats),
         shuffled, (), 'all zeros and cannot be L2-normalised'),
        (np.where(np.arange(len(perm))[:, None] == 3, np.nan,
                  shuffled_feats), shuffled, (), 'NaN or inf'),
    ]
    for rows, names, flags, expected in cases:
        code, err, _ = case(rows, names, flags)
        assert code == 2, err
        assert len(err.splitlines()) == 1 and expected in err, err
        assert not os.path.exists(out)


def test_import_names_the_source_row_and_refuses_what_is_not_features(
        synthetic_root, tmp_path, capsys):
    """A NaN row was named by its place in the list ('row 356'), not in
    the user's file (row 5); an integer tensor in a .pt file was taken for
    features (an integer .npy is refused); a .pt whose paths are one
    string was read as one path per character ('has 9 paths')."""
    rng = np.random.default_rng(2)
    feats, _, rels, perm, shuffled = _import_case(synthetic_root, rng)
    out = str(tmp_path / 'out' / 'x.npy')
    opts = ['--cfg-options',
            f'dataset.data_root={os.path.join(synthetic_root, "NCT")}']
    lst = str(tmp_path / 'paths.txt')
    with open(lst, 'w') as f:
        f.write('\n'.join(shuffled) + '\n')
    bad_row = 5
    assert perm[bad_row] != bad_row  # the list puts it elsewhere
    rows = feats[perm].copy()
    rows[bad_row, 1] = np.nan
    src = str(tmp_path / 'nan.npy')
    np.save(src, rows)
    code, err, _ = _run(capsys, 'import_features', [
        '--config', _config('nct_test.py'), '--source', src, '--paths', lst,
        '--output', out, *opts])
    assert code == 2 and len(err.splitlines()) == 1, err
    assert f'row {bad_row} ({shuffled[bad_row]})' in err, err
    assert 'NaN or inf' in err and '1 rows' in err, err
    rows = feats[perm].astype(np.float64)
    rows[bad_row, 0] = 1e300  # finite, but not as the float32 written
    np.save(src, rows)
    # a float64 tensor of a .pt file alike (torch's .float() made the
    # value inf on reading: 'NaN or inf' of a file that has none)
    src64 = str(tmp_path / 'f64.pt')
    torch.save({'features': torch.from_numpy(rows), 'paths': shuffled},
               src64)
    for source in (src, src64):
        code, err, _ = _run(capsys, 'import_features', [
            '--config', _config('nct_test.py'), '--source', source,
            '--paths', lst, '--output', out, *opts])
        assert code == 2 and len(err.splitlines()) == 1, err
        assert "values beyond float32's range" in err, err
        assert f'row {bad_row} ({shuffled[bad_row]})' in err, err

    cases = [
        ({'features': torch.from_numpy(feats[perm]).long(),
          'paths': shuffled}, 'features must be a 2-d float array'),
        ({'features': torch.from_numpy(feats[perm]) > 0,
          'paths': shuffled}, 'features must be a 2-d float array'),
        ({'features': torch.from_numpy(feats[perm]),
          'paths': shuffled[0]}, 'paths must be a list of strings, found '
         'one str'),
        # torch's own message: 'you have two options' (none listed in its
        # first line) with terminal bold codes
        ({'features': torch.from_numpy(feats[perm]),
          'paths': np.array(shuffled)}, 'holds a numpy'),
    ]
    # torch words the numpy case otherwise once openselfsup.engine has
    # allowed its checkpoints' globals (numpy's array rebuild among them):
    # with and without them
    from torch import serialization
    allowed = serialization.get_safe_globals()
    for state in ('none allowed', 'engine\'s allowed'):
        serialization.clear_safe_globals()
        if state != 'none allowed':
            from openselfsup.utils.checkpoint import safe_globals
            serialization.add_safe_globals(safe_globals())
        try:
            for i, (obj, expected) in enumerate(cases):
                pt = str(tmp_path / f'case{i}.pt')
                torch.save(obj, pt)
                code, err, _ = _run(capsys, 'import_features', [
                    '--config', _config('nct_test.py'), '--source', pt,
                    '--output', out, *opts])
                assert code == 2 and len(err.splitlines()) == 1, (state, err)
                assert expected in err and '\x1b' not in err, (state, err)
        finally:
            serialization.clear_safe_globals()
            serialization.add_safe_globals(allowed)
    assert 'save the features as a torch tensor and the paths as a list ' \
        'of str' in err
    # an .h5 whose --key names a group: 'got <U1 [1]' (the group's name)
    import h5py
    h5 = str(tmp_path / 'grouped.h5')
    with h5py.File(h5, 'w') as f:
        f.create_group('features')['emb'] = feats[perm]
        f['paths'] = np.array(shuffled, dtype='S')
    code, err, _ = _run(capsys, 'import_features', [
        '--config', _config('nct_test.py'), '--source', h5, '--output', out,
        *opts])
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "'features' is a group, not a dataset (it holds emb); name a " \
        'dataset with --key, e.g. --key features/emb' in err, err
    from openselfsup.apis.import_features import import_features
    import_features(_config('nct_test.py'), h5, out, key='features/emb',
                    cfg_options={'dataset.data_root': os.path.join(
                        synthetic_root, 'NCT')})
    np.testing.assert_allclose(np.load(out), _unit(feats), rtol=1e-6,
                               atol=1e-7)


def test_import_refuses_a_source_of_another_type_or_without_its_key(
        synthetic_root, tmp_path, capsys):
    """docs/refusals.md (import_features.py): a feature file of another
    type, an .h5 or a .pt without the ``--key`` entry, an .h5 that does
    not read: one line naming the file (and the key), nothing written."""
    import h5py
    rng = np.random.default_rng(3)
    feats = rng.normal(size=(4, 3)).astype(np.float32)
    out = str(tmp_path / 'out' / 'x.npy')
    opts = ['--config', _config('nct_test.py'), '--output', out,
            '--cfg-options',
            f'dataset.data_root={os.path.join(synthetic_root, "NCT")}']
    csv = tmp_path / 'f.csv'
    csv.write_text('1,2,3\n')
    h5 = str(tmp_path / 'emb.h5')
    with h5py.File(h5, 'w') as f:
        f['emb'] = feats
    pt = str(tmp_path / 'emb.pt')
    torch.save({'emb': torch.from_numpy(feats)}, pt)
    cut = tmp_path / 'cut.h5'  # an HDF5 file cut short after its header
    cut.write_bytes(open(h5, 'rb').read()[:600])
    for source, line in (
            (str(csv), f"{csv}: unknown feature file type '.csv' (expected "
             ".h5, .hdf5, .npy, .pt, .pth)"),
            (h5, f"{h5}: no 'features' dataset (has emb); name it with "
             '--key'),
            (pt, f"{pt}: no 'features' entry (has emb); name it with "
             '--key'),
            (str(cut), f'{cut}: cannot read (')):
        code, err, _ = _run(capsys, 'import_features',
                            ['--source', source, *opts])
        assert code == 2 and len(err.splitlines()) == 1, err
        assert err.startswith(f'error: {line}'), err
        assert not os.path.exists(tmp_path / 'out')


# -- the scripts -------------------------------------------------------------
def test_scripts_take_any_encoder(tmp_path):
    """evaluate_encoder.sh with a timm source: every extraction names the
    model, its weights and its flags; one sweep of the published protocol
    on the model's own features for every novel class. The demo with
    "random" extracts the config's encoder at random initialisation."""
    from test_lowshot_scripts import _record, _settings

    from openselfsup.apis.extract import check_encoder_flags
    from openselfsup.lowshot import spec as S
    env = {'EXTRACT_SOURCE': 'timm:vit_large_patch16_224',
           'EXTRACT_MODEL_OPTS': '--model-kwargs init_values=1e-5 '
                                 'dynamic_img_size=True'}
    cmds = _record(tmp_path, 'evaluate_encoder.sh', env,
                   args=('uni', 'weights/uni'))
    names = [s.split('/')[-1] for s, _ in cmds]
    # the sweep's settings checked (sweep.py --check) before extracting
    assert names == ['sweep.py', 'extract.py', 'sweep.py', 'summarize.py']
    assert cmds[0][1]['check'] and not cmds[2][1]['check']
    cmds = cmds[1:]
    a = cmds[0][1]  # the five feature sets in one process
    check_encoder_flags(a)
    assert a['model_source'] == 'timm:vit_large_patch16_224'
    assert a['weights'] == 'weights/uni' and not a['pretrained']
    assert a['model_kwargs'] == ['init_values=1e-5', 'dynamic_img_size=True']
    assert len(a['output']) == len(a['config']) == len(a['data_root']) == 5
    assert all(o.startswith('wd/extracted_feats/uni/') for o in a['output'])
    specs = _settings(cmds[1][1])
    assert {sp.model for sp in specs} == {'uni'}
    assert {sp.novel_class for sp in specs if sp.task == 'near'} == set(
        range(9))
    assert {sp.task for sp in specs} == set(S.TASKS)
    assert {sp.num_task for sp in specs} == {1000}
    assert {(sp.task, sp.shots) for sp in specs} == {
        (t, s) for t in S.TASKS for s in S.DEFAULT_SHOTS[t]}

    cmds = _record(tmp_path, 'demo_lowshot.sh', {'MODEL': 'random',
                                                 'DOMAINS': 'mixture'},
                   args=('random', 'demo_wd'))
    extracts = [a for s, a in cmds if s.endswith('extract.py')]
    assert len(extracts) == 1
    assert [os.path.basename(o) for o in extracts[0]['output']] == [
        'NCT_train.npy', 'LC.npy']
    for a in extracts:
        check_encoder_flags(a)
        assert a['random_init'] and a['pretrained'] is None
        assert all(o.startswith('demo_wd/extracted_feats/random/')
                   for o in a['output'])


def _shuffled_features(synthetic_root):
    """The NCT test list's paths, random 4-d features of its images and a
    permutation (a source file's rows in another order than the list's)."""
    rels, _ = _list(synthetic_root)
    feats = np.random.default_rng(0).normal(size=(len(rels), 4)).astype(
        np.float32)
    return rels, feats, np.random.default_rng(1).permutation(len(rels))


def test_import_refuses_a_paths_file_that_contradicts_the_source(
        synthetic_root, tmp_path):
    """A .pt / .h5 that holds its rows' paths, given with --paths in
    another order (the list's): --paths was taken and the file's own
    paths ignored, every row written under another image's label."""
    from openselfsup.apis.import_features import import_features
    from openselfsup.utils import InputError
    rels, feats, perm = _shuffled_features(synthetic_root)
    pt = str(tmp_path / 'f.pt')
    torch.save({'features': torch.from_numpy(feats[perm]),
                'paths': [rels[i] for i in perm]}, pt)
    listed = tmp_path / 'p.txt'
    opts = {'dataset.data_root': os.path.join(synthetic_root, 'NCT')}
    out = str(tmp_path / 'o' / 'x.npy')
    listed.write_text('\n'.join(rels) + '\n')
    with pytest.raises(InputError, match=rf'--paths {listed} names other '
                       rf"images than {pt}\['paths'\], the paths of its "
                       r'rows \(row 0: '):
        import_features(_config('nct_test.py'), pt, out, paths=str(listed),
                        cfg_options=opts)
    assert not os.path.exists(out)
    # the same paths (spelt with ./): taken
    listed.write_text('\n'.join('./' + rels[i] for i in perm) + '\n')
    import_features(_config('nct_test.py'), pt, out, paths=str(listed),
                    cfg_options=opts)
    np.testing.assert_allclose(np.load(out), _unit(feats), atol=1e-6)
    # the same images as absolute paths: taken (they were refused as
    # "names other images"); the first row naming another image is named
    os.remove(out)
    root = os.path.join(synthetic_root, 'NCT', 'data')
    absolute = [os.path.join(root, rels[i]) for i in perm]
    listed.write_text('\n'.join(absolute) + '\n')
    import_features(_config('nct_test.py'), pt, out, paths=str(listed),
                    cfg_options=opts)
    np.testing.assert_allclose(np.load(out), _unit(feats), atol=1e-6)
    os.remove(out)
    absolute[1], absolute[2] = absolute[2], absolute[1]
    listed.write_text('\n'.join(absolute) + '\n')
    with pytest.raises(InputError, match=re.escape(
            f'(row 1: {absolute[1]} vs {rels[perm[1]]})')):
        import_features(_config('nct_test.py'), pt, out, paths=str(listed),
                        cfg_options=opts)
    assert not os.path.exists(out)
    # one image under two NCT releases' folders (same file names) is not
    # the same image; a folder that names no release against one that does
    # is not judged the same either
    from openselfsup.apis.import_features import first_other_row
    flat = ['ADI/ADI-1.tif', 'TUM/TUM-2.tif']
    nonorm = ['/d/NCT-CRC-HE-100K-NONORM/' + e for e in flat]
    assert first_other_row(nonorm, ['/e/x/' + e for e in flat],
                           flat) == 0
    assert first_other_row(nonorm, [p.replace('-NONORM', '')
                                    for p in nonorm], flat) == 0
    assert first_other_row(nonorm, ['/e/NCT-CRC-HE-100K-NONORM/' + e
                                    for e in flat], flat) is None
    assert first_other_row(nonorm, nonorm[:1], flat) == 1
    # the release is the folder above the class folder's, as match_rows
    # reads a row: a NONORM copy kept in NCT-CRC-HE-100K/nonorm/, spelt
    # absolute and relative, was refused as other images, though
    # match_rows takes either alone; the normalised images still differ
    kept = ['/d/NCT-CRC-HE-100K/nonorm/' + e for e in flat]
    assert first_other_row(kept, flat, flat) is None
    assert first_other_row(flat, kept, flat) is None
    assert first_other_row(kept, ['/d/NCT-CRC-HE-100K/' + e for e in flat],
                           flat) == 0
    # an image outside the list (--ignore-extra drops it) spelt absolute
    # against relative: it was refused as another image, though either
    # list gives the same rows; another folder or release still differs
    inner = [f'NCT-CRC-HE-100K-NONORM/{e}' for e in flat + ['STR/s.tif']]
    given = ['/d/NCT/data/' + p for p in inner]
    listed = inner[:1]  # TUM-2 and s outside the list
    assert first_other_row(given, inner, listed) is None
    assert first_other_row(inner, given, listed) is None
    for other in ('/d/NCT/data/NCT-CRC-HE-100K-NONORM/STR/t.tif',
                  '/d/NCT/data/NCT-CRC-HE-100K/STR/s.tif',
                  '/d/x/NCT-CRC-HE-100K-NONORM/STR/s.tif'):
        assert first_other_row(given[:2] + [other], given, listed) == 2
        assert first_other_row(given[:2] + [other], inner, listed) == (
            2 if 't.tif' in other or '100K/' in other else None)
    # and the rows written are those the source's own paths give
    from openselfsup.apis.import_features import match_rows
    for paths in (given, inner):
        rows, dropped = match_rows(paths, listed, 's', 'l',
                                   ignore_extra=True)
        assert rows.tolist() == [0] and dropped == 2


def test_import_paths_with_spaces(synthetic_root, tmp_path):
    """A --paths file of absolute paths under a folder with a space in its
    name (``/home/Jane Doe/...``): the first field of each line was taken
    (``/home/Jane``) and no row matched; a list file's ``path label``
    lines (tab or spaces) still drop the label."""
    from openselfsup.apis.import_features import (import_features,
                                                  read_paths_file)
    rels, feats, perm = _shuffled_features(synthetic_root)
    src, listed = str(tmp_path / 'f.npy'), tmp_path / 'p.txt'
    np.save(src, feats[perm])
    spaced = [f'/home/Jane Doe/NCT/data/{rels[i]}' for i in perm]
    listed.write_text(''.join(
        f'{p}\n' if k % 3 == 0 else f'  {p}\t{k % 9} \n' if k % 3 == 1
        else f'{p} 7\n' for k, p in enumerate(spaced)))
    assert read_paths_file(str(listed)) == spaced
    out = str(tmp_path / 'o' / 'x.npy')
    import_features(_config('nct_test.py'), src, out, paths=str(listed),
                    cfg_options={'dataset.data_root': os.path.join(
                        synthetic_root, 'NCT')})
    np.testing.assert_allclose(np.load(out), _unit(feats), atol=1e-6)



def test_import_paths_file_encodings(synthetic_root, tmp_path, capsys):
    """A --paths file saved by Windows tools: UTF-8 with a byte-order mark
    and CRLF line ends (Notepad) is read, the mark no part of row 0 (row
    0 matched no entry: refused); UTF-16, with or without its mark
    (Windows PowerShell's ``>``), or binary data is refused in one line
    (a UnicodeDecodeError traceback), nothing written."""
    from openselfsup.apis.import_features import import_features
    rels, feats, perm = _shuffled_features(synthetic_root)
    src, listed = str(tmp_path / 'f.npy'), tmp_path / 'p.txt'
    np.save(src, feats[perm])
    text = ''.join(f'{rels[i]}\r\n' for i in perm)
    listed.write_bytes(text.encode('utf-8-sig'))
    out = str(tmp_path / 'o' / 'x.npy')
    root = os.path.join(synthetic_root, 'NCT')
    import_features(_config('nct_test.py'), src, out, paths=str(listed),
                    cfg_options={'dataset.data_root': root})
    np.testing.assert_allclose(np.load(out), _unit(feats), atol=1e-6)
    out = str(tmp_path / 'o2' / 'x.npy')
    for data in (text.encode('utf-16'), text.encode('utf-16-le'),
                 open(src, 'rb').read()):
        listed.write_bytes(data)
        code, err, _ = _run(capsys, 'import_features', [
            '--config', _config('nct_test.py'), '--source', src, '--paths',
            str(listed), '--output', out, '--cfg-options',
            f'dataset.data_root={root}'])
        assert code == 2 and err.startswith(
            f'error: --paths {listed}: not a text file of paths') and \
            '\n' not in err, err
        assert not os.path.exists(os.path.dirname(out))

def test_import_refuses_nct_aug(synthetic_root, tmp_path, capsys):
    """NCT_aug holds the ablation's augmented copies of NCT_train: one row
    per image imported there was taken for one augmented copy (the
    support features themselves, when imported from the same file), and
    the image part ran on duplicates; refused, nothing written."""
    rels, _ = _list(synthetic_root, name='train_labeled.txt')
    src, listed = str(tmp_path / 'f.npy'), tmp_path / 'p.txt'
    np.save(src, np.random.default_rng(0).normal(size=(len(rels), 4)))
    listed.write_text('\n'.join(rels) + '\n')
    workdir = str(tmp_path / 'w')
    # h167: the copies' command runs from any folder, its paths the
    # checkout's (no NCT_train records another folder of images)
    for config in ('nct_aug.py', 'nct_train.py'):
        out = paths.features_path(workdir, 'mine_wo_78', 'NCT_aug')
        code, err, _ = _run(capsys, 'import_features', [
            '--config', _config(config), '--source', src, '--paths',
            str(listed), '--output', out, '--cfg-options',
            f'dataset.data_root={os.path.join(synthetic_root, "NCT")}'])
        assert code == 2 and err == (
            f"error: {out}: NCT_aug holds the augmentation ablation's "
            'augmented copies of NCT_train; import_features.py writes one '
            'row per image of the list, not copies: extract them with python '
            f'{REPO}/wsi_workdir/extract.py --config '
            f'{REPO}/configs/extraction/nct_aug.py --pretrained CKPT '
            f'--data-root DATA_ROOT --aug_times N --output {out} (DATA_ROOT: '
            'no set here records where its images lie; give the folder that '
            f'holds them as {REPO}/configs/extraction/nct_aug.py names them '
            'under its data_root data/NCT)'), err
        assert not os.path.exists(workdir)
    # a timm / open_clip model's one pass: refused before the model is built
    from openselfsup.apis.extract import extract_external_many
    from openselfsup.utils import InputError
    with pytest.raises(InputError, match=re.escape(
            'extract.py --model-source timm:not_built writes one pass over '
            'the list, not copies')):
        extract_external_many([_config('nct_aug.py')], 'timm:not_built',
                              [out])
    assert not os.path.exists(workdir)


def test_import_fills_every_entry_of_an_image_listed_twice(synthetic_root,
                                                          tmp_path):
    """PAIP19's published lists name some patches several times (drawn
    with replacement): one row per image found no row for the image's
    first entry ('1 of the 3 images ... have no feature row (first: the
    image that has one)'), so such a list could not be imported at all.
    Every entry of an image now takes its one row; two rows for one image
    are refused as before."""
    from openselfsup.apis.import_features import import_features, match_rows
    from openselfsup.utils import InputError
    entries = ['s1/0/a.png', 's1/1/b.png', 's1/0/a.png', 's2/2/c.png',
               's1/0/a.png']
    rows, _ = match_rows(['/x/s2/2/c.png', 's1/0/a.png', 's1/1/b.png'],
                         entries, 'src', 'list')
    assert rows.tolist() == [1, 2, 1, 0, 1]
    with pytest.raises(InputError, match='rows 0 and 2 both name s1/0/a.png'):
        match_rows(['s1/0/a.png', 's1/1/b.png', 's1/0/a.png', 's2/2/c.png'],
                   entries, 'src', 'list')
    # the command: a list with an image twice, its rows written per entry
    root = os.path.join(synthetic_root, 'PAIP19')
    rels, labels = _list(synthetic_root, 'PAIP19', 'paip_train_labeled.txt')
    listed = tmp_path / 'dup_labeled.txt'
    order = [0, 1, 0, 2, 1]
    listed.write_text(''.join(f'{rels[i]} {labels[i]}\n' for i in order))
    feats = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    src, given = str(tmp_path / 'f.npy'), tmp_path / 'p.txt'
    np.save(src, feats[::-1])
    given.write_text('\n'.join(rels[:3][::-1]) + '\n')
    out = str(tmp_path / 'o' / 'x.npy')
    import_features(_config('paip_train.py'), src, out, paths=str(given),
                    cfg_options={'dataset.data_root': root,
                                 'dataset.ann_file': str(listed)})
    np.testing.assert_allclose(np.load(out), _unit(feats[order]), atol=1e-6)
    assert np.load(out[:-4] + '_labels.npy').tolist() == [
        labels[i] for i in order]


def test_import_refuses_rows_of_another_nct_release():
    """NCT-CRC-HE-100K (stain-normalised) and -NONORM (the published
    protocol's) share their file names: a row of one matched the other's
    list entry by its tail and was imported as if it were that image."""
    from openselfsup.apis.import_features import match_rows
    from openselfsup.utils import InputError
    flat = ['ADI/ADI-1.tif', 'TUM/TUM-2.tif']        # the published lists
    nonorm = ['/d/NCT-CRC-HE-100K-NONORM/ADI/ADI-1.tif',
              '/d/NCT-CRC-HE-100K-NONORM/TUM/TUM-2.tif']
    norm = [p.replace('-NONORM', '') for p in nonorm]
    rows, _ = match_rows(nonorm[::-1], flat, 'src', 'list')
    assert rows.tolist() == [1, 0]
    rows, _ = match_rows(['/x/ADI/ADI-1.tif', 'TUM/TUM-2.tif'], flat, 'src',
                         'list')          # no release named: not judged
    assert rows.tolist() == [0, 1]
    with pytest.raises(InputError, match=r'row 0 \(/d/NCT-CRC-HE-100K/ADI/'
                       r'ADI-1.tif\) is an image of NCT-CRC-HE-100K, the '
                       r"list's ADI/ADI-1.tif one of NCT-CRC-HE-100K-NONORM"):
        match_rows(norm, flat, 'src', 'list')
    # a nested list: no row matches; the line says why
    nested = ['NCT-CRC-HE-100K-NONORM/' + e for e in flat]
    with pytest.raises(InputError, match=r"2 of the 2 images .* the rows "
                       r"name images of NCT-CRC-HE-100K, the list's are "
                       r"NCT-CRC-HE-100K-NONORM's"):
        match_rows(norm, nested, 'src', 'list')
    # the official split's own releases, and other datasets, match as before
    official = ['CRC-VAL-HE-7K/ADI/x.tif']
    assert match_rows(['/data/NCT/data/CRC-VAL-HE-7K/ADI/x.tif'], official,
                      'src', 'list')[0].tolist() == [0]
    assert match_rows(['/lc/colon_aca/a.jpeg'], ['colon_aca/a.jpeg'], 'src',
                      'list')[0].tolist() == [0]


def test_import_judges_a_rows_release_by_the_folder_its_links_reach(
        tmp_path):
    """The releases share file names, and a row's release was read from
    its folders' names only: features of the stain-normalised images read
    through a folder named NCT-CRC-HE-100K-NONORM that links to the
    NCT-CRC-HE-100K download were filed as the NONORM images of their
    names. Where the rows' folders are on this machine, the folder a link
    reaches decides, as prepare_nct.py's check of the data folder does."""
    from openselfsup.apis.import_features import match_rows
    from openselfsup.utils import InputError
    flat = ['ADI/ADI-1.tif', 'TUM/TUM-2.tif']        # NONORM's, published
    nonorm, norm = 'NCT-CRC-HE-100K-NONORM', 'NCT-CRC-HE-100K'
    for release in (nonorm, norm):
        for e in flat:
            img = tmp_path / 'real' / release / e
            img.parent.mkdir(parents=True, exist_ok=True)
            img.write_bytes(b'x')
    kept = tmp_path / 'real' / norm / 'nonorm'   # a NONORM copy inside it
    shutil.copytree(tmp_path / 'real' / nonorm, kept)

    def linked(name, target):
        (tmp_path / name).mkdir()
        os.symlink(target, tmp_path / name / nonorm)
        return [str(tmp_path / name / nonorm / e) for e in flat]
    # the normalised download under the NONORM name: refused
    with pytest.raises(InputError, match=re.escape(
            f'is an image of {norm} (its folder {tmp_path}/x/{nonorm}/ADI '
            f'links to {tmp_path}/real/{norm}/ADI)')):
        match_rows(linked('x', tmp_path / 'real' / norm), flat, 's', 'l')
    # a class folder linked to the normalised one's: refused
    (tmp_path / 'w' / nonorm).mkdir(parents=True)
    for c in ('ADI', 'TUM'):
        os.symlink(tmp_path / 'real' / norm / c, tmp_path / 'w' / nonorm / c)
    with pytest.raises(InputError, match=f'is an image of {norm}'):
        match_rows([str(tmp_path / 'w' / nonorm / e) for e in flat], flat,
                   's', 'l')
    # NONORM's images under the normalised name: they are NONORM's
    (tmp_path / 'y').mkdir()
    os.symlink(tmp_path / 'real' / nonorm, tmp_path / 'y' / norm)
    assert match_rows([str(tmp_path / 'y' / norm / e) for e in flat][::-1],
                      flat, 's', 'l')[0].tolist() == [1, 0]
    # a link to a folder named for no release (the NONORM copy kept in
    # the normalised download): its own name says it, as before
    assert match_rows(linked('z', kept), flat, 's', 'l')[0].tolist() == \
        [0, 1]


def test_import_reads_a_lists_release_as_the_list_is_read(tmp_path):
    """A row's release and its entry's were read from the release names
    anywhere in their paths, the entry's without its data root, where
    the list itself (ImageList, check_list_releases) reads the folder
    above the class folder: a list of the stain-normalised download
    (data root ``.../NCT-CRC-HE-100K``, ``<CLS>/<file>`` entries) refused
    rows of its own images as NCT-CRC-HE-100K's against NONORM entries
    and took the NONORM images' rows (exit 0); and a NONORM copy kept in
    ``NCT-CRC-HE-100K/nonorm/`` was refused by its absolute rows and
    taken by its relative ones."""
    from openselfsup.apis.import_features import match_rows
    from openselfsup.datasets.prepare import check_list_releases
    from openselfsup.utils import InputError
    flat = ['ADI/ADI-1.tif', 'TUM/TUM-2.tif']
    nonorm, norm = 'NCT-CRC-HE-100K-NONORM', 'NCT-CRC-HE-100K'
    kept = tmp_path / norm / 'nonorm'
    for folder in (tmp_path / nonorm, tmp_path / norm, kept):
        for e in flat:
            (folder / e).parent.mkdir(parents=True, exist_ok=True)
            (folder / e).write_bytes(b'x')

    def rows(folder):
        return [str(folder / e) for e in flat]
    # the list of the normalised download: read as its images
    root = str(tmp_path / norm)
    check_list_releases(root, [(e, 0) for e in flat], 'l')
    assert match_rows(rows(tmp_path / norm), flat, 's', 'l',
                      root=root)[0].tolist() == [0, 1]
    assert match_rows(flat, flat, 's', 'l', root=root)[0].tolist() == [0, 1]
    with pytest.raises(InputError, match=re.escape(
            f"is an image of {nonorm}, the list's ADI/ADI-1.tif one of "
            f'{norm}')):
        match_rows(rows(tmp_path / nonorm), flat, 's', 'l', root=root)
    # the NONORM copy inside it: its own list, rows absolute or relative
    check_list_releases(str(kept), [(e, 0) for e in flat], 'l')
    for given in (rows(kept), flat):
        assert match_rows(given, flat, 's', 'l',
                          root=str(kept))[0].tolist() == [0, 1]
    with pytest.raises(InputError, match=re.escape(
            f"is an image of {norm}, the list's ADI/ADI-1.tif one of "
            f'{nonorm}')):
        match_rows(rows(tmp_path / norm), flat, 's', 'l', root=str(kept))
    # the hint for images without a row reads the releases so too: the
    # list of the normalised download is NCT-CRC-HE-100K's (it said
    # NONORM's); rows of it for a list of NONORM's still are another's
    with pytest.raises(InputError) as lacking:
        match_rows(rows(tmp_path / norm)[:1], flat, 's', 'l', root=root)
    assert str(lacking.value) == ("s: 1 of the 2 images of l have no "
                                  'feature row (first: TUM/TUM-2.tif)')
    with pytest.raises(InputError, match=re.escape(
            f'the rows name images of {norm}, the list\'s are {nonorm}\'s')):
        match_rows(rows(tmp_path / norm), [f'{nonorm}/{e}' for e in flat],
                   's', 'l', ignore_extra=True, root=str(tmp_path))


def test_import_reads_a_relative_data_root_from_the_current_folder(
        tmp_path, monkeypatch):
    """A list's entries under a relative data root are read from the
    current folder, as ImageList opens its images and check_list_releases
    reads their release: run inside ``CRC-VAL-HE-7K/`` with ``<CLS>/<file>``
    entries (data root ``''``), the list is the 7K's. The entry's release
    was read from the relative path alone (NONORM): the list's own
    images' absolute rows were refused ('an image of CRC-VAL-HE-7K, the
    list's ... one of NCT-CRC-HE-100K-NONORM') and its relative ones
    taken; the NONORM images' rows are refused."""
    from openselfsup.apis.import_features import match_rows
    from openselfsup.datasets.prepare import check_list_releases
    from openselfsup.utils import InputError
    flat = ['ADI/ADI-1.tif', 'TUM/TUM-2.tif']
    nonorm, seven = 'NCT-CRC-HE-100K-NONORM', 'CRC-VAL-HE-7K'
    for folder in (tmp_path / seven, tmp_path / nonorm):
        for e in flat:
            (folder / e).parent.mkdir(parents=True, exist_ok=True)
            (folder / e).write_bytes(b'x')
    monkeypatch.chdir(tmp_path / seven)
    check_list_releases('', [(e, 0) for e in flat], 'l')
    for given in ([str(tmp_path / seven / e) for e in flat], flat):
        assert match_rows(given, flat, 's', 'l', root='')[0].tolist() == \
            [0, 1]
    with pytest.raises(InputError, match=re.escape(
            f"is an image of {nonorm}, the list's ADI/ADI-1.tif one of "
            f'{seven}')):
        match_rows([str(tmp_path / nonorm / e) for e in flat], flat, 's',
                   'l', root='')


def test_import_follows_a_chain_of_links_to_the_release_it_names(
        tmp_path):
    """A NCT-CRC-HE-100K-NONORM folder linked to /datasets/NCT-CRC-HE-100K,
    itself a (relative) link to the volume that holds the stain-normalised
    download under a name of no release: only the chain's end was read,
    and the normalised images' features were filed as NONORM's (exit 0).
    The folder nearest the images that names a release judges."""
    from openselfsup.apis.import_features import match_rows
    from openselfsup.utils import InputError
    flat = ['ADI/ADI-1.tif', 'TUM/TUM-2.tif']
    nonorm, norm = 'NCT-CRC-HE-100K-NONORM', 'NCT-CRC-HE-100K'
    vol = tmp_path / 'vol3' / 'nct_norm'
    for e in flat:
        (vol / e).parent.mkdir(parents=True, exist_ok=True)
        (vol / e).write_bytes(b'x')
    (tmp_path / 'datasets').mkdir()
    os.symlink(os.path.join('..', 'vol3', 'nct_norm'),
               tmp_path / 'datasets' / norm)
    (tmp_path / 'x').mkdir()
    os.symlink(tmp_path / 'datasets' / norm, tmp_path / 'x' / nonorm)
    rows = [str(tmp_path / 'x' / nonorm / e) for e in flat]
    with pytest.raises(InputError, match=re.escape(
            f'is an image of {norm} (its folder {tmp_path}/x/{nonorm}/ADI '
            f'links to {vol}/ADI, through {tmp_path}/datasets/{norm})')):
        match_rows(rows, flat, 's', 'l')
    # the chain ending in a folder named NONORM: NONORM's images
    os.remove(tmp_path / 'datasets' / norm)
    os.rename(vol, vol.parent / nonorm)
    os.symlink(vol.parent / nonorm, tmp_path / 'datasets' / norm)
    assert match_rows(rows, flat, 's', 'l')[0].tolist() == [0, 1]


def test_import_judges_rows_given_from_the_data_root_by_its_links(
        synthetic_root, tmp_path, capsys, monkeypatch):
    """Rows written from the list's data root (``NCT-CRC-HE-100K-NONORM/
    ADI/x.tif``, the form the hints ask for) were looked up from the
    current folder, where they are not: a NONORM folder of the data root
    linked to the stain-normalised download was not seen, and the
    normalised images' features were filed as NONORM's (exit 0), while the
    same rows written absolute were refused. They are looked up under the
    list's data root first now."""
    root = tmp_path / 'NCT'
    shutil.copytree(os.path.join(synthetic_root, 'NCT'), root)
    nonorm = root / 'data' / 'NCT-CRC-HE-100K-NONORM'
    normed = tmp_path / 'downloads' / 'NCT-CRC-HE-100K'
    normed.parent.mkdir()
    os.rename(nonorm, normed)
    os.symlink(normed, nonorm)
    rels, _ = _list(str(tmp_path))
    feats = np.random.default_rng(0).normal(size=(len(rels), 4)) + 2
    npy = str(tmp_path / 'feats.npy')
    np.save(npy, feats.astype(np.float32))
    opts = ['--cfg-options', f'dataset.data_root={root}']
    for name, rows in (('relative', rels),
                       ('absolute', [f'{root}/data/{r}' for r in rels])):
        txt = tmp_path / f'{name}.txt'
        txt.write_text('\n'.join(rows) + '\n')
        out = str(tmp_path / name / 'x.npy')
        monkeypatch.chdir(tmp_path / 'downloads')  # neither root nor rows'
        code, err, _ = _run(capsys, 'import_features', [
            '--config', _config('nct_test.py'), '--source', npy, '--paths',
            str(txt), '--output', out] + opts)
        assert code == 2 and 'is an image of NCT-CRC-HE-100K (its folder ' \
            in err, (name, err)
        assert not os.path.exists(out), name


@pytest.mark.parametrize('prefix, release', [
    ('NCT-CRC-HE-100K/nonorm/', 'NCT-CRC-HE-100K-NONORM'),
    ('data/', 'NCT-CRC-HE-100K-NONORM'),
    ('NCT-CRC-HE-100K/', 'NCT-CRC-HE-100K')])
def test_import_hint_names_the_release_the_list_reads(prefix, release):
    """The prefix the no-match line asks for files ``<CLS>/<file>`` rows
    (which name no release) as the images of the release the list's
    entries are read as, and the release check then has nothing to
    judge: the line's "only if they are images of ..." is the one word
    a user gets. It named the last release anywhere in the prefix: for a
    NONORM copy kept in ``NCT-CRC-HE-100K/nonorm/`` (read as NONORM's,
    as ImageList and the release check read it) "only if they are images
    of NCT-CRC-HE-100K", inviting the stain-normalised features into a
    NONORM list; for ``data/`` (NONORM's too) no word. It now names the
    release the entry is read as (``entry_release``), by hand above."""
    from openselfsup.apis.import_features import match_rows
    from openselfsup.datasets.prepare import entry_release
    from openselfsup.utils import InputError
    flat = ['ADI/ADI-1.tif', 'TUM/TUM-2.tif']
    entries = [prefix + e for e in flat]
    assert entry_release('', prefix + 'ADI') == release
    with pytest.raises(InputError) as exc:
        match_rows(flat, entries, 'src', 'list')
    assert f'(here {prefix} before each, only if they are images of ' \
        f'{release}: ' in str(exc.value), str(exc.value)
    # given the prefix, the rows pass without a word on their release
    assert match_rows(entries, entries, 'src', 'list')[0].tolist() == [0, 1]


def test_import_names_why_no_row_matched():
    """Rows whose paths are written as the published lists write them
    (``ADI/ADI-1.tif``) for the converter's NONORM list
    (``NCT-CRC-HE-100K-NONORM/ADI/ADI-1.tif``; LC25000's
    ``colon_image_sets/...`` under ``lung_colon_image_set/``) match no
    entry: the line said only that every image had no row, naming an
    entry, not the rows' paths nor what they lack."""
    from openselfsup.apis.import_features import match_rows
    from openselfsup.utils import InputError
    flat = ['ADI/ADI-1.tif', 'TUM/TUM-2.tif']
    nested = ['NCT-CRC-HE-100K-NONORM/' + e for e in flat]
    # <CLS>/<file> rows may be written from inside the stain-normalised
    # NCT-CRC-HE-100K/ too (same names): given the NONORM prefix named
    # without a word, its features passed the release check as NONORM's
    with pytest.raises(InputError, match=re.escape(
            "2 of the 2 images of list have no feature row (first: "
            "NCT-CRC-HE-100K-NONORM/ADI/ADI-1.tif); the rows' paths are "
            "shorter than the list's entries (row 0: ./TUM/TUM-2.tif, the "
            "entry NCT-CRC-HE-100K-NONORM/TUM/TUM-2.tif): give them from "
            "the list's data root or absolute (here NCT-CRC-HE-100K-NONORM/"
            " before each, only if they are images of NCT-CRC-HE-100K-NONORM"
            ": the stain-normalised NCT-CRC-HE-100K has the same "
            "<CLS>/<file> names)")):
        match_rows(['./TUM/TUM-2.tif', 'ADI/ADI-1.tif'], nested, 'src',
                   'list')
    lc = ['lung_colon_image_set/colon_image_sets/colon_n/colonn1.jpeg']
    with pytest.raises(InputError, match=re.escape(
            '(here lung_colon_image_set/ before each)')):
        match_rows(['colon_image_sets/colon_n/colonn1.jpeg'], lc, 's', 'l')
    # rows in the published lists' layout (NONORM's images) for the
    # official split's NCT-CRC-HE-100K list (same file names): the prefix
    # was named as the fix, and rows given it pass the release check,
    # NONORM features filed as the stain-normalised images'
    official = ['NCT-CRC-HE-100K/' + e for e in flat]
    with pytest.raises(InputError) as exc:
        match_rows(flat, official, 'src', 'list')
    assert str(exc.value).endswith(
        "(here NCT-CRC-HE-100K/ before each, only if they are images of "
        "NCT-CRC-HE-100K: the published lists' <CLS>/<file> are "
        "NCT-CRC-HE-100K-NONORM's, and the releases share file names)")
    assert match_rows(['NCT-CRC-HE-100K/' + e for e in flat], official,
                      'src', 'list')[0].tolist() == [0, 1]
    # PAIP19 patches without their slide folder: no one prefix to name
    paip = ['s1/0/a.png', 's2/0/b.png']
    with pytest.raises(InputError) as exc:
        match_rows(['0/b.png', '0/a.png'], paip, 'src', 'list')
    assert str(exc.value).endswith(
        "(row 0: 0/b.png, the entry s2/0/b.png): give them from the "
        "list's data root or absolute")
    # with rows outside the list (--ignore-extra), the prefix still named
    with pytest.raises(InputError, match=re.escape(
            '(here NCT-CRC-HE-100K-NONORM/ before each, only if')):
        match_rows(flat + ['STR/STR-3.tif'], nested, 'src', 'list',
                   ignore_extra=True)
    # paths that end with no entry, nor are the end of one: the first named
    for rows in (['/x/STR/STR-9.tif'], ['STR/STR-9.tif']):
        with pytest.raises(InputError, match=re.escape(
                "no row's path ends with an entry of the list (row 0: "
                f"{rows[0]})")):
            match_rows(rows, nested[:1], 'src', 'list')
    # some rows match: the count and the first image without a row, as before
    with pytest.raises(InputError) as exc:
        match_rows(nested[:1], nested, 'src', 'list')
    assert str(exc.value).endswith('(first: NCT-CRC-HE-100K-NONORM/TUM/'
                                   'TUM-2.tif)')


def test_a_tag_with_a_hub_folder_is_named_as_given(clip_folder):
    """A tag given with a hub folder (whose config gives the
    preprocessing) is refused naming the source as given: the name left
    out read 'open_clip:None:webli'."""
    from openselfsup.models.external import build_external_encoder
    from openselfsup.utils import InputError
    _, folder = clip_folder
    for source, said in (('open_clip::webli', 'open_clip::webli'),
                         ('open_clip:ViT-B-16:openai',
                          'open_clip:ViT-B-16:openai')):
        with pytest.raises(InputError) as exc:
            build_external_encoder(source, weights=folder)
        assert str(exc.value).startswith(
            f'--model-source {said} with a folder: {folder}'), str(exc.value)
        assert 'gives the preprocessing' in str(exc.value)


def test_import_and_extract_keep_a_users_own_files_at_the_output(
        synthetic_root, tmp_path):
    """--output naming a user's own ``feats.npy`` (or beside their own
    ``feats.json``, ``feats_labels.npy``) replaced it without a word; a
    set written here (its provenance JSON beside it) is still replaced.
    Refused before the list is read, so extract.py says it too (one
    ``open_list`` for both)."""
    from openselfsup.apis.import_features import import_features
    from openselfsup.utils import InputError
    rng = np.random.default_rng(2)
    feats, _, rels, _, _ = _import_case(synthetic_root, rng)
    src = str(tmp_path / 'src.pt')
    torch.save({'features': torch.from_numpy(feats), 'paths': rels}, src)
    opts = {'dataset.data_root': os.path.join(synthetic_root, 'NCT')}
    mine = tmp_path / 'mine'
    mine.mkdir()
    for name in ('a.npy', 'b.json', 'c_labels.npy', 'd_meta.json'):
        (mine / name).write_text('mine')
        # the provenance JSON is not "a feature set (with its provenance
        # b.json)": what it is not is the provenance itself
        what = ('the provenance JSON of a feature set written by extract.py'
                ' or import_features.py; give another --output'
                if name == 'b.json' else
                'a feature set written by extract.py or import_features.py '
                f'(with its provenance {name.split(".")[0].split("_")[0]}'
                '.json); give another --output')
        with pytest.raises(InputError, match=re.escape(
                f'{name}: exists and is not {what}')):
            import_features(_config('nct_test.py'), src,
                            str(mine / (name.split('.')[0].split('_')[0]
                                        + '.npy')), cfg_options=opts)
    assert sorted(os.listdir(mine)) == ['a.npy', 'b.json', 'c_labels.npy',
                                        'd_meta.json']
    assert all((mine / n).read_text() == 'mine' for n in os.listdir(mine))
    out = str(tmp_path / 'own' / 'x.npy')
    for _ in range(2):  # its own set: written, then replaced
        import_features(_config('nct_test.py'), src, out, cfg_options=opts)
    np.testing.assert_allclose(np.load(out), _unit(feats), rtol=1e-6,
                               atol=1e-7)


def test_reuse_extracts_a_timm_set_again_under_another_timm_release(
        synthetic_root, vit, tmp_path, monkeypatch):
    """A new timm release can change a model's preprocessing or weights,
    but --reuse kept the set extracted under the old one: the provenance
    recorded the version in ``encoder.library_version`` and the reuse
    compared the encoder without it. ``versions`` (timm, torch,
    torchvision, PIL) is compared now: another timm release extracts the
    set again."""
    import PIL
    import timm
    import torchvision

    from openselfsup.apis import extract as ex
    _, weights = vit
    out = str(tmp_path / 'x.npy')
    lines = []
    monkeypatch.setattr(ex, 'print_log', lambda msg, **k: lines.append(msg))

    def run():
        return ex.extract_external(
            _config('nct_test.py'), f'timm:{VIT}', out, weights=weights,
            model_kwargs=VIT_KWARGS, progress=False, reuse=True,
            cfg_options={'dataset.data_root': os.path.join(synthetic_root,
                                                           'NCT')})

    run()
    assert run().get('reused') and lines == []
    real = {m.__name__: m.__version__.split('+')[0]
            for m in (torch, torchvision, PIL, timm)}
    monkeypatch.setattr(timm, '__version__', '99.0')
    again = run()
    assert not again.get('reused')
    assert again['versions'] == dict(real, timm='99.0')
    assert lines == [f'{out}: not kept (other library releases: timm '
                     f'{real["timm"]} then, 99.0 now); extracting it again']


def test_a_library_models_release_is_read_once_for_every_field(
        synthetic_root, vit, tmp_path, monkeypatch):
    """The provenance of a timm model recorded timm's version twice, read
    twice: ``encoder.library_version`` by the model builder's own
    ``getattr`` in full, ``versions.timm`` by ``library_versions``
    without a local part, so a release with one (``1.0.3+local``) was
    recorded as two releases. Both are the one reading now, and the
    top-level ``torch`` (kept for readers of older files) is torch's
    build of the release ``versions.torch`` records."""
    import timm

    from openselfsup.apis import extract as ex
    _, weights = vit
    monkeypatch.setattr(timm, '__version__', '1.0.3+local')
    monkeypatch.setattr(torch, '__version__', '2.4.1+cu121')
    rec = ex.extract_external(
        _config('nct_test.py'), f'timm:{VIT}', str(tmp_path / 'x.npy'),
        weights=weights, model_kwargs=VIT_KWARGS, progress=False,
        cfg_options={'dataset.data_root': os.path.join(synthetic_root,
                                                       'NCT')})
    with open(rec['outputs']['provenance']) as f:
        written = json.load(f)
    for prov in (rec, written):
        assert prov['versions']['timm'] == '1.0.3'
        assert prov['encoder']['library_version'] == '1.0.3'
        assert prov['versions']['torch'] == '2.4.1'
        assert prov['torch'] == '2.4.1+cu121'


@pytest.mark.parametrize('case', ['file', 'folder', 'random'])
def test_the_missing_provenance_line_writes_the_set_as_recorded(
        synthetic_root, vit, tmp_path, capsys, case):
    """r81: the line for a set without its JSON beside a library model's
    named ``--model-source`` and ``--weights`` alone, dropping the recorded
    --model-kwargs (the tiny ViT's command was refused: 'does not fit timm
    vit_tiny_patch16_224 ... cls_token'), --preprocess, --pool, --amp,
    --no-normalise and a hub folder's config. The command named is read
    back by extract.py's parser against every setting the sibling's JSON
    records, then run: its set is the same kind as the recorded one."""

    from openselfsup.config import parse_cfg_options
    from openselfsup.lowshot.features import (FeatureSet, check_all_recorded,
                                              check_same_kind, load_features)
    from openselfsup.utils import InputError
    model, weights = vit
    workdir = str(tmp_path / 'w')
    flags = {'file': ['--model-source', f'timm:{VIT}', '--weights', weights,
                      '--preprocess', 'crop_pct=1.0',
                      'mean=[0.485,0.456,0.406]', '--pool', 'avg', '--amp',
                      '--no-normalise'] + VIT_FLAGS + ['fc_norm=False'],
             'random': ['--model-source', f'timm:{VIT}', '--random-init',
                        '--seed', '3'] + VIT_FLAGS}.get(case)
    if case == 'folder':
        folder = tmp_path / 'hub'
        _hub_folder(str(folder), model)
        flags = ['--model-source', 'timm', '--weights', str(folder)]
    train = paths.features_path(workdir, 'vit', 'NCT_train')
    code, err, _ = _run(capsys, 'extract', _base(
        synthetic_root, train, 'nct_train.py') + flags)
    assert code == 0, err
    recorded = load_features(workdir, 'vit', 'NCT_train')
    prov, enc = recorded.provenance, recorded.provenance['encoder']
    out = paths.features_path(workdir, 'vit', 'NCT_test')
    bare = FeatureSet('vit', 'NCT_test', recorded.features, recorded.labels,
                      out, 'l', recorded.normalised, None)
    with pytest.raises(InputError) as e:
        check_all_recorded([recorded, bare])
    line = str(e.value)
    command = line.split('extract it again: python ')[1].split(', or')[0]
    assert 'settings recorded in' not in command, command
    # read as the shell reads it (a list value is quoted: a glob unquoted)
    argv = shlex.split(command)[1:]
    args = _cli('extract').parse_args(argv)
    kwargs = parse_cfg_options(args.model_kwargs, dotted=False) or {}
    if args.pool is not None:
        kwargs['global_pool'] = args.pool
    assert (args.model_source, kwargs, parse_cfg_options(
        args.preprocess, dotted=False) or {}, args.amp, args.normalise,
        args.projection, args.output) == (
        enc['source'], enc['model_kwargs'], enc['preprocess_overrides'],
        prov['amp'], prov['normalised'], True, [out]), command
    if case == 'random':
        assert args.random_init and args.weights is None, command
        assert args.seed == prov['seed'] == 3, command
    else:
        assert not args.random_init, command
        assert args.weights == (str(folder) if case == 'folder'
                                else prov['checkpoint']), command
    # the images: the folder NCT_train's JSON records (its
    # dataset.data_root), which NCT_test's config shares (h223)
    assert args.data_root == [os.path.join(synthetic_root, 'NCT')], command
    # the command, run, writes the set the recorded one's kind
    code, err, _ = _run(capsys, 'extract', argv + [
        '--workers', '0', '--no-progress'])
    assert code == 0, err
    check_same_kind(recorded, load_features(workdir, 'vit', 'NCT_test'))


def _hub_folder(folder, model):
    """``model``'s weights in timm's hub layout in ``folder``: its
    safetensors file and a ``config.json`` (the tiny ViT's architecture
    and arguments, a 32-pixel ImageNet preprocessing)."""
    from safetensors.torch import save_file
    os.makedirs(folder)
    save_file(model.state_dict(), os.path.join(folder, 'model.safetensors'))
    with open(os.path.join(folder, 'config.json'), 'w') as f:
        json.dump({'architecture': VIT, 'model_args': VIT_KWARGS,
                   'pretrained_cfg': {'input_size': [3, 32, 32],
                                      'crop_pct': 1.0, 'mean': IMAGENET[0],
                                      'std': IMAGENET[1],
                                      'interpolation': 'bicubic',
                                      'classifier': 'head'}}, f)


def test_a_changed_sets_command_reads_its_hub_folder_from_any_folder(
        synthetic_root, vit, tmp_path, capsys, monkeypatch):
    """r153: a library model's set extracted with ``--weights hub``, a hub
    folder given relative, its features changed since: the command
    printed named ``--weights hub`` as recorded, and pasted in a folder
    that holds another ``hub`` it extracted those weights, exit 0. It
    names the folder joined with the one the set was extracted in; pasted
    beside a decoy ``hub`` (another model's weights) it writes the set
    the first extraction wrote (the reference)."""
    import timm

    from openselfsup.lowshot.features import load_features
    from openselfsup.utils import InputError
    model, _ = vit
    user, paste = tmp_path / 'u', tmp_path / 'p'
    _hub_folder(str(user / 'hub'), model)
    torch.manual_seed(1)
    _hub_folder(str(paste / 'hub'), timm.create_model(
        VIT, pretrained=False, num_classes=0, **VIT_KWARGS))  # the decoy
    out = paths.features_path(str(tmp_path / 'w'), 'vit', 'NCT_test')
    monkeypatch.chdir(user)
    code, err, _ = _run(capsys, 'extract', _base(synthetic_root, out) + [
        '--model-source', 'timm', '--weights', 'hub'])
    assert code == 0, err
    want = np.load(out)
    np.save(out, -want)  # features that differ from their JSON
    monkeypatch.chdir(paste)
    with pytest.raises(InputError) as e:
        load_features(str(tmp_path / 'w'), 'vit', 'NCT_test')
    command = str(e.value).split('make them again with: ')[1]
    code, err, _ = _run(capsys, 'extract', shlex.split(command)[2:] + [
        '--workers', '0', '--no-progress'])
    assert code == 0, (command, err)
    np.testing.assert_allclose(np.load(out), want, atol=1e-6)


def test_a_moved_away_imports_command_keeps_its_rows_raw(
        synthetic_root, tmp_path, capsys):
    """r153: the import printed for a set of imported features moved away
    dropped the ``--no-normalise`` its JSON records: pasted, the rows were
    normalised, another set than the one imported. Pasted with the same
    source, it writes the rows as given (the reference: the source's
    rows)."""
    from openselfsup.lowshot.features import load_features
    from openselfsup.utils import InputError
    feats, _, rels, _, _ = _import_case(synthetic_root,
                                        np.random.default_rng(0))
    code, err, _, (npy, list_txt, out) = _imported(
        synthetic_root, tmp_path, capsys, feats, rels, '--no-normalise')
    workdir = str(tmp_path / 'w')
    assert code == 0, err
    np.testing.assert_array_equal(np.load(out), feats)
    os.remove(out)
    with pytest.raises(InputError) as e:
        load_features(workdir, 'mine', 'NCT_test')
    command = str(e.value).split('make it with: ')[1][:-1].replace(
        'FEATURES [--paths PATHS]', f'{npy} --paths {list_txt}')
    code, err, _ = _run(capsys, 'import_features', shlex.split(command)[2:])
    assert code == 0, (command, err)
    np.testing.assert_array_equal(np.load(out), feats)


def test_a_hub_folder_is_printed_only_while_it_gives_the_recorded_files(
        synthetic_root, vit, tmp_path, capsys, monkeypatch):
    """r158: a hub folder counted as sure where only the recorded weights
    file in it was hashed (a missing one as the same): a
    ``model.safetensors`` added (first in timm's lookup, before the
    recorded ``pytorch_model.bin``), its ``config.json`` changed (another
    normalisation) or the recorded file deleted, the printed command
    named the folder still, and pasted it read other weights or settings,
    exit 0. Each now says ``--weights CKPT`` with why, and pasted stops
    (extract.py refuses a CKPT that is no file); the folder as it was is
    printed, and pasted writes the set the first extraction wrote (the
    reference)."""
    import timm
    from safetensors.torch import save_file

    from openselfsup.lowshot.features import load_features
    from openselfsup.utils import InputError
    model, _ = vit
    hub, paste = tmp_path / 'hub', tmp_path / 'p'
    _hub_folder(str(hub), model)
    os.remove(hub / 'model.safetensors')
    torch.save(model.state_dict(), hub / 'pytorch_model.bin')
    os.makedirs(paste)
    with open(hub / 'config.json') as f:
        config = json.load(f)
    out = paths.features_path(str(tmp_path / 'w'), 'vit', 'NCT_test')
    code, err, _ = _run(capsys, 'extract', _base(synthetic_root, out) + [
        '--model-source', 'timm', '--weights', str(hub)])
    assert code == 0, err
    want = np.load(out)
    monkeypatch.chdir(paste)
    torch.manual_seed(1)
    other = timm.create_model(VIT, pretrained=False, num_classes=0,
                              **VIT_KWARGS)
    moved = dict(config, pretrained_cfg=dict(config['pretrained_cfg'],
                                             mean=[0.5] * 3, std=[0.5] * 3))
    for case, said in (
            ('added', f'now reads {hub}/model.safetensors, not the '
                      f'recorded {hub}/pytorch_model.bin'),
            ('config', f'the file at {hub}/config.json is no longer the '
                       'one the set was extracted with'),
            ('deleted', 'now reads no weights file'),
            ('kept', None)):
        if case == 'added':
            save_file(other.state_dict(), str(hub / 'model.safetensors'))
        elif case == 'config':
            with open(hub / 'config.json', 'w') as f:
                json.dump(moved, f)
        elif case == 'deleted':
            os.rename(hub / 'pytorch_model.bin', tmp_path / 'kept.bin')
        np.save(out, -want)  # features that differ from their JSON
        with pytest.raises(InputError) as e:
            load_features(str(tmp_path / 'w'), 'vit', 'NCT_test')
        command = str(e.value).split('make them again with: ')[1].split(
            ', or, computed elsewhere')[0]
        code, err, _ = _run(capsys, 'extract', shlex.split(
            command.split(' (with the settings')[0])[2:] + [
            '--workers', '0', '--no-progress'])
        if said is None:
            assert f'--weights {hub} ' in command and code == 0, (command,
                                                                  err)
            np.testing.assert_allclose(np.load(out), want, atol=1e-6)
        else:
            assert '--weights CKPT ' in command and said in command and \
                code != 0, (case, command, err)
        # the folder as extracted again
        if os.path.exists(hub / 'model.safetensors'):
            os.remove(hub / 'model.safetensors')
        with open(hub / 'config.json', 'w') as f:
            json.dump(config, f)
        if case == 'deleted':
            os.rename(tmp_path / 'kept.bin', hub / 'pytorch_model.bin')


@pytest.mark.parametrize('how', [['--random-init'], [
    '--model-source', 'timm:resnet18', '--random-init',
    '--model-kwargs', 'num_classes=0']], ids=['config', 'library'])
def test_an_extraction_ends_the_start_up_freezing_before_its_model(
        synthetic_root, tmp_path, capsys, monkeypatch, how):
    """``wsi_workdir/extract.py`` asks for the start-up freezing of a
    command's process (``run_cli(..., freeze_start_up=True)``), which
    must end (``work_begins``) before the model is built, the config's
    or a library's (``--model-source``): a collection inside a lazy
    import while the sets are extracted must not freeze the model in
    reference cycles (review r208). The freezing registered here as the
    command registers it; the model's builder asked, when it builds,
    whether it is still registered."""
    import gc

    import openselfsup.models.external as external
    import openselfsup.models.extraction as extraction
    from openselfsup.utils import errors
    registered = []
    for module, name in ((extraction, 'build_initialised'),
                         (external, 'build_external_encoder')):
        def asked(*args, _built=getattr(module, name), **kwargs):
            registered.append(errors._freeze_after_imports in gc.callbacks)
            return _built(*args, **kwargs)
        monkeypatch.setattr(module, name, asked)
    out = str(tmp_path / 'w' / 'x.npy')
    with start_up_freezing():
        code, err, _ = _run(capsys, 'extract',
                            _base(synthetic_root, out) + how)
    assert code == 0, err
    assert registered == [False]
