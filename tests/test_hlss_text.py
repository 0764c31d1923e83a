"""Attribute embeddings computed by the shared text encoder (needs
openselfsup/models/text_encoders.py from the balanced-tuning work)."""
import importlib.util
import os

import numpy as np
import pytest

text_encoders = pytest.importorskip('openselfsup.models.text_encoders')

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ATTRS = [['dense nuclei', 'many small nuclei', 'crowded cells'],
         ['pink fibres'], ['clear fat vacuoles', 'empty round spaces']]


def test_head_from_encoder_averages_normalised_sentences():
    from openselfsup.models.heads import TextInitHead
    enc_cfg = dict(type='HashedBagOfWords', dim=16)
    head = TextInitHead(in_channels=8, attributes=ATTRS, text_width=16,
                        encoder=enc_cfg)
    enc = text_encoders.build_text_encoder(enc_cfg)
    for k, sentences in enumerate(ATTRS):
        rows = [enc.encode([s])[0].numpy() for s in sentences]
        rows = [r / np.linalg.norm(r) for r in rows]
        want = np.mean(rows, 0)
        want /= np.linalg.norm(want)
        np.testing.assert_allclose(head.attributes.weight[k].detach().numpy(),
                                   want, rtol=1e-5, atol=1e-6)


def test_encoder_width_must_match_config():
    from openselfsup.models.heads import TextInitHead
    from openselfsup.utils import InputError
    with pytest.raises(InputError, match='gives width 16, the config says '
                       'text_width=32'):
        TextInitHead(8, ATTRS, 32, encoder=dict(type='HashedBagOfWords',
                                                  dim=16))


def test_export_tool_writes_files_the_config_accepts(tmp_path):
    from mmengine.config import Config

    from openselfsup.models.heads import read_embedding_file
    from openselfsup.utils import run_cli
    spec = importlib.util.spec_from_file_location(
        'mae', os.path.join(ROOT, 'tools', 'make_attribute_embeddings.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    config = os.path.join(ROOT, 'configs/demo/hlss_r18_synthetic.py')
    assert run_cli(tool.main, [config, '--out', str(tmp_path)]) == 0
    cfg = Config.fromfile(config)
    for lv in ('patient', 'slide', 'patch'):
        mat = read_embedding_file(str(tmp_path / f'{lv}.npy'))
        assert mat.shape == (len(cfg.model.heads[lv].attributes), 32)
