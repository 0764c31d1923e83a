"""Attribute embeddings exported once by tools/make_attribute_embeddings.py
are the rows the model builds from its text tower; a config given the files
builds the same heads without the text tower."""
import json
import os
import shutil

import numpy as np
import pytest

from _foundation_helpers import tool_module

pytest.importorskip('open_clip')

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, 'configs/demo/hlss_rn50w8_synthetic.py')


def test_export_tool_writes_the_rows_the_model_builds(tmp_path, capsys):
    import torch
    from mmengine.registry import init_default_scope

    from openselfsup.config import load_config
    from openselfsup.models.heads import read_embedding_file
    from openselfsup.registry import MODELS
    from openselfsup.utils import InputError, run_cli
    tool = tool_module('tools/make_attribute_embeddings.py')
    from openselfsup.models.open_clip import build_clip
    init_default_scope('openselfsup')
    cfg = load_config(CONFIG)
    ckpt = str(tmp_path / 'clip.pt')  # weights shared by tool and model
    torch.save(build_clip('RN50-quickgelu', None,
                          cfg.clip.model_cfg).state_dict(), ckpt)
    few = tmp_path / 'few.json'  # 3 attributes: fewer sentences to embed
    few.write_text(json.dumps({'templates': ['an image of {}.', '{} seen.'],
                               'attributes': [
                                   {'name': n, 'descriptions': [n, n * 2]}
                                   for n in ('fat', 'cells', 'necrosis')]}))
    weights = [f'model.backbone.pretrained={ckpt}',
               f'model.text_encoder.pretrained={ckpt}'] + [
        f'model.heads.{lv}.attributes={few}'
        for lv in ('patient', 'slide', 'patch')]
    assert run_cli(tool.main, [CONFIG, '--out', str(tmp_path),
                               '--cfg-options', *weights]) == 0
    out = capsys.readouterr().out
    assert 'model.heads.patch.embeddings_file=' in out
    files = {lv: str(tmp_path / f'{lv}.npy')
             for lv in ('patient', 'slide', 'patch')}
    opts = dict(w.split('=') for w in weights)
    direct = MODELS.build(load_config(CONFIG, opts).model)
    opts = {f'model.heads.{lv}.embeddings_file': f for lv, f in files.items()}
    opts.update({f'model.heads.{lv}.attributes': str(few) for lv in files})
    opts['model.text_encoder'] = None  # no text tower at all
    from_files = MODELS.build(load_config(CONFIG, opts).model)
    for lv, f in files.items():
        mat = read_embedding_file(f)
        assert mat.shape == (3, 64)
        np.testing.assert_allclose(np.linalg.norm(mat.numpy(), axis=1), 1,
                                   rtol=1e-5)
        for model in (direct, from_files):
            torch.testing.assert_close(
                model.level_heads[lv].linear.weight.detach(), mat)
    # the files beside a text encoder in the config: the record's encoder
    # must be the model's (the same weights in another folder are); the
    # files of another text tower were accepted before
    moved = tmp_path / 'elsewhere'
    moved.mkdir()
    shutil.copy(ckpt, moved / 'clip.pt')
    with_files = dict(opts, **{'model.text_encoder.pretrained':
                               str(moved / 'clip.pt')})
    del with_files['model.text_encoder']
    MODELS.build(load_config(CONFIG, with_files).model)
    # run settings do not change the embeddings
    batched = dict(with_files)
    del batched['model.text_encoder.pretrained']
    batched['model.text_encoder'] = dict(
        load_config(CONFIG).model.text_encoder, batch_size=7,
        pretrained=str(moved / 'clip.pt'))
    MODELS.build(load_config(CONFIG, batched).model)
    # other weights under the same file name do
    retrained = tmp_path / 'retrained'
    retrained.mkdir()
    torch.manual_seed(11)
    torch.save(build_clip('RN50-quickgelu', None,
                          cfg.clip.model_cfg).state_dict(),
               retrained / 'clip.pt')
    with pytest.raises(InputError, match='made with another text encoder'):
        MODELS.build(load_config(CONFIG, dict(with_files, **{
            'model.text_encoder.pretrained':
                str(retrained / 'clip.pt')})).model)
    other_tower = dict(with_files, **{
        'model.text_encoder.model_cfg.text_cfg.layers': 2})
    with pytest.raises(InputError, match=r'patient.npy: made with another '
                       r'text encoder .*"layers": 1.* than the model\'s '
                       r'.*"layers": 2'):
        MODELS.build(load_config(CONFIG, other_tower).model)
    assert run_cli(tool.main, [os.path.join(
        ROOT, 'configs/demo/hidisc_r18w8_synthetic.py'), '--out',
        str(tmp_path)]) == 2
    demo = os.path.join(ROOT, 'configs/demo/hidisc_r18w8_synthetic.py')
    assert capsys.readouterr().err == (
        f'error: {demo}: no per-level TextInitHead to export (model.heads: '
        'one MLPHead shared by every level)\n')
    # a file of other sentences (another level's, an edited attribute
    # file) was accepted when only its row count matched; the JSON written
    # beside each file says which sentences it embeds
    from openselfsup.models.heads import TextInitHead
    other = [[f'{n} tissue'] for n in ('fat', 'cells', 'necrosis')]
    with pytest.raises(InputError, match=r"patch.npy: embeds other attribute "
                       r"sentences \(level 'patch' of its config\)"):
        TextInitHead(64, other, embeddings_file=files['patch'])
    TextInitHead(64, str(few), embeddings_file=files['patch'])
    # the record is <level>.npy.json: an attribute file named <level>.json
    # in the output folder is neither overwritten nor taken for a record
    mine = tmp_path / 'patch.json'
    mine.write_text(few.read_text())
    assert run_cli(tool.main, [CONFIG, '--out', str(tmp_path),
                               '--cfg-options', *weights]) == 0
    assert mine.read_text() == few.read_text()
    TextInitHead(64, str(mine), embeddings_file=files['patch'])
    (tmp_path / 'patch.npy.json').write_text('[1, 2]')  # not a record
    TextInitHead(64, other, embeddings_file=files['patch'])
    assert run_cli(tool.main, [CONFIG, '--out', str(tmp_path),
                               '--cfg-options', *weights]) == 2
    assert 'patch.npy.json: exists and is not an export record' in \
        capsys.readouterr().err
    # a matrix without its record is a user's own <level>.npy: kept
    os.remove(tmp_path / 'patch.npy.json')
    kept = (tmp_path / 'patch.npy').read_bytes()
    assert run_cli(tool.main, [CONFIG, '--out', str(tmp_path),
                               '--cfg-options', *weights]) == 2
    assert ('patch.npy: exists and is not an export of this tool (no '
            'patch.npy.json beside it); give another --out or delete it '
            'first') in capsys.readouterr().err
    assert (tmp_path / 'patch.npy').read_bytes() == kept
    # an output that cannot be written fails before the text tower runs
    (tmp_path / 'afile').write_text('x')
    assert run_cli(tool.main, [CONFIG, '--out', str(tmp_path / 'afile'),
                               '--cfg-options', *weights]) == 2
    assert 'afile is a file, not a directory' in capsys.readouterr().err


def test_export_from_a_random_text_tower_is_reproducible(tmp_path):
    """The demo config's text tower has no pretrained weights: the export
    seeds its build, so one seed writes one matrix (two builds unseeded
    differ), another seed another; the caller's random stream is left as
    it was."""
    import torch

    from openselfsup.config import load_config
    from openselfsup.models.heads import read_embedding_file
    from openselfsup.models.heads.attribute_heads import (
        encode_attributes, export_attribute_embeddings)
    tower = dict(load_config(CONFIG).model.text_encoder)
    assert tower['pretrained'] is None
    attrs = [['fat cells'], ['dense nuclei'], ['pink stroma']]
    model = dict(heads=dict(patch=dict(type='TextInitHead',
                                       attributes=attrs)),
                 text_encoder=tower)
    # what the seeding is for: two unseeded builds embed differently
    assert not torch.allclose(encode_attributes(attrs, tower),
                              encode_attributes(attrs, tower))
    torch.manual_seed(123)
    first_draw = torch.rand(1)
    mats = []
    for seed, out in ((0, 'a'), (0, 'b'), (1, 'c')):
        torch.manual_seed(123)
        path = export_attribute_embeddings(model, str(tmp_path / out),
                                           seed=seed)['patch']
        assert torch.equal(torch.rand(1), first_draw)
        mats.append(read_embedding_file(path))
        with open(path + '.json') as f:
            assert json.load(f)['seed'] == seed
    torch.testing.assert_close(mats[0], mats[1], rtol=0, atol=0)
    assert not torch.allclose(mats[0], mats[2])


def test_a_file_without_its_export_record_is_said(tmp_path, monkeypatch):
    """A copy of patch.npy without patch.npy.json (or a file of one's own)
    passed on its row count alone: the slide level's file, or one made for
    a reordered attribute list, trained silently on other rows. The check
    needs the record, so a file without one is now said, once per file."""
    import torch

    from openselfsup.models.heads import TextInitHead
    from openselfsup.models.heads import attribute_heads as ah
    from openselfsup.utils import Once
    lines = []
    monkeypatch.setattr(ah, 'print_log', lambda msg, **kw: lines.append(msg),
                        raising=False)
    monkeypatch.setattr(ah, '_WARNED_UNRECORDED', Once(), raising=False)
    enc = dict(type='HashedBagOfWords', dim=16)
    patch = [['dense nuclei'], ['fat cells'], ['pink stroma']]
    slide = [['necrosis'], ['vessels'], ['edges']]
    out = str(tmp_path / 'out')
    made = ah.export_attribute_embeddings(
        dict(text_encoder=enc, heads=dict(patch=dict(
            type='TextInitHead', attributes=patch))), out)['patch']
    TextInitHead(16, patch, embeddings_file=made, encoder=enc)
    assert lines == []  # with its record: checked, nothing to say
    copy = str(tmp_path / 'copy.npy')
    shutil.copy(made, copy)
    head = TextInitHead(16, slide, embeddings_file=copy, encoder=enc)
    assert torch.equal(head.text, torch.from_numpy(np.load(made)))
    assert len(lines) == 1 and '\n' not in lines[0]
    assert lines[0].startswith(f'{copy}: no export record beside it '
                               '(copy.npy.json): its 3 rows are taken as')
    assert 'tools/make_attribute_embeddings.py' in lines[0]
    TextInitHead(16, slide, embeddings_file=copy, encoder=enc)
    assert len(lines) == 1  # once per file


def test_a_text_encoder_value_naming_a_file_here_is_a_setting(
        tmp_path, monkeypatch):
    """Review r193's rule for the model section, for the text encoder an
    export record names: only the arguments a build opens as files
    (``config.MODEL_FILE_ARGUMENTS``) count by their contents. With an
    empty file ``HashedBagOfWords`` in the current directory, the
    encoder's ``type`` was digested into the export record, and the same
    encoder's head built from a folder without it was refused as "made
    with another text encoder"; ``model_name`` ``RN50-quickgelu`` alike.
    A record written before with such a digest is the same encoder (by
    its name); another ``pretrained`` file is still another encoder. The
    identities are by hand."""
    import hashlib

    from openselfsup.models.heads import TextInitHead
    from openselfsup.models.heads import attribute_heads as ah
    here, there = tmp_path / 'here', tmp_path / 'there'
    here.mkdir()
    there.mkdir()
    for name in ('HashedBagOfWords', 'RN50-quickgelu'):
        (here / name).write_text('')  # stray files of those names
    monkeypatch.chdir(here)
    enc = dict(type='HashedBagOfWords', dim=16)
    patch = [['dense nuclei'], ['fat cells'], ['pink stroma']]
    made = ah.export_attribute_embeddings(
        dict(text_encoder=enc, heads=dict(patch=dict(
            type='TextInitHead', attributes=patch))),
        str(tmp_path / 'out'))['patch']
    record = json.load(open(made + '.json'))
    assert record['text_encoder_id'] == dict(type='HashedBagOfWords',
                                             dim=16)
    monkeypatch.chdir(there)  # the same encoder, from a folder without it
    TextInitHead(16, patch, embeddings_file=made, encoder=enc)
    # a record of before: the stray file digested
    stray = dict(__file__='HashedBagOfWords',
                 sha256=hashlib.sha256(b'').hexdigest())
    json.dump(dict(record, text_encoder_id=dict(type=stray, dim=16)),
              open(made + '.json', 'w'))
    TextInitHead(16, patch, embeddings_file=made, encoder=enc)
    # the arguments a build opens still count by their contents
    monkeypatch.chdir(here)
    weights = here / 'w.pt'
    weights.write_bytes(b'weights')
    clip = dict(type='OpenCLIPText', model_name='RN50-quickgelu',
                pretrained='w.pt', batch_size=8)
    mine = ah.text_encoder_identity(clip)
    assert mine == dict(type='OpenCLIPText', model_name='RN50-quickgelu',
                        pretrained=dict(__file__='w.pt', sha256=hashlib.sha256(
                            b'weights').hexdigest()))
    assert ah.same_text_encoder(dict(mine, model_name=dict(
        __file__='RN50-quickgelu', sha256='0' * 64)), mine)
    assert not ah.same_text_encoder(dict(mine, model_name='RN50'), mine)
    weights.write_bytes(b'other weights')
    assert not ah.same_text_encoder(mine, ah.text_encoder_identity(clip))
