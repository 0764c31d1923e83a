"""An interrupted tools/make_attribute_embeddings.py must not leave a new
matrix beside the old record that a head would take as the old one."""

import numpy as np
import pytest

from openselfsup.models.heads.attribute_heads import (
    attribute_matrix, encode_attributes, export_attribute_embeddings)
from _io_helpers import ctrl_c_when_writing, named
from openselfsup.utils import InputError

ATTRS = [['fat cells'], ['dense nuclei'], ['pink stroma']]


def _cfg(seed):
    return dict(heads=dict(patch=dict(type='TextInitHead', attributes=ATTRS)),
                text_encoder=dict(type='HashedBagOfWords', dim=16,
                                  seed=seed))


def test_interrupted_export_keeps_matrix_and_record_together(tmp_path):
    old = _cfg(0)
    path = export_attribute_embeddings(old, str(tmp_path))['patch']
    # Ctrl-C at the record
    with ctrl_c_when_writing(named('.patch.npy.json')), \
            pytest.raises(KeyboardInterrupt):
        export_attribute_embeddings(_cfg(1), str(tmp_path))
    # what the head reads is the old encoder's matrix, or a refusal
    try:
        mat = attribute_matrix(ATTRS, path, old['text_encoder'])
    except InputError:
        return
    np.testing.assert_allclose(
        mat.numpy(), encode_attributes(ATTRS, old['text_encoder']).numpy(),
        atol=1e-6)


def test_matrix_changed_behind_its_record_is_refused(tmp_path):
    path = export_attribute_embeddings(_cfg(0), str(tmp_path))['patch']
    other = encode_attributes(ATTRS, _cfg(1)['text_encoder']).numpy()
    np.save(path, other.astype(np.float32))
    with pytest.raises(InputError, match='record'):
        attribute_matrix(ATTRS, path, _cfg(0)['text_encoder'])


def test_a_scoped_head_type_is_exported(tmp_path):
    """A head typed with its registry scope (``openselfsup.TextInitHead``)
    was not found ('the config has no TextInitHead to export'); its rows
    are those of the bare type."""
    cfg = _cfg(0)
    cfg['heads']['patch']['type'] = 'openselfsup.TextInitHead'
    path = export_attribute_embeddings(cfg, str(tmp_path))['patch']
    np.testing.assert_allclose(
        np.load(path), encode_attributes(ATTRS, cfg['text_encoder']).numpy(),
        atol=1e-6)


def test_a_matrix_without_its_record_or_a_negative_seed_is_refused(
        tmp_path):
    """A ``<level>.npy`` in --out without the record this tool writes
    beside it (a user's own file) was replaced without a word; --seed -1
    was taken (torch wraps it to 2**64 - 1). Both refused, nothing
    written; the tool's own export is still replaced."""
    mine = tmp_path / 'patch.npy'
    np.save(mine, np.arange(3.))
    with pytest.raises(InputError, match='patch.npy: exists and is not an '
                       r'export of this tool \(no patch.npy.json'):
        export_attribute_embeddings(_cfg(0), str(tmp_path))
    np.testing.assert_array_equal(np.load(mine), np.arange(3.))
    assert sorted(p.name for p in tmp_path.iterdir()) == ['patch.npy']
    for seed in (-1, 2 ** 63):
        with pytest.raises(InputError, match=f'--seed must be an integer in '
                           rf'\[0, 2\^63\), got {seed}'):
            export_attribute_embeddings(_cfg(0), str(tmp_path / 'n'), seed)
    assert not (tmp_path / 'n').exists()
    mine.unlink()
    for seed in (0, 1):  # its own export, then replaced
        export_attribute_embeddings(_cfg(seed), str(tmp_path))
    np.testing.assert_allclose(
        np.load(mine), encode_attributes(ATTRS, _cfg(1)['text_encoder'])
        .numpy(), atol=1e-6)


def test_a_config_without_a_text_head_is_named_with_its_heads(tmp_path):
    """The refusal read 'the config has no TextInitHead to export': not
    which config, nor what heads it has. Nothing is written."""
    base = _cfg(0)
    cases = (
        (dict(base, heads=dict(patch=dict(type='MLPHead'),
                               slide=dict(type='openselfsup.MLPHead'))),
         'model.heads: patch: MLPHead, slide: MLPHead'),
        (dict(base, heads=dict(type='MLPHead')),
         'model.heads: one MLPHead shared by every level'),
        (dict(base, heads=dict(type='TextInitHead', attributes=ATTRS)),
         'model.heads: one TextInitHead shared by every level'),
        (dict(text_encoder=base['text_encoder'],
              head=dict(type='MoCoV3Head')),
         'no model.heads; model.head: MoCoV3Head'))
    for cfg, found in cases:
        with pytest.raises(InputError) as info:
            export_attribute_embeddings(cfg, str(tmp_path / 'out'),
                                        source='cfgs/x.py')
        assert str(info.value) == ('cfgs/x.py: no per-level TextInitHead '
                                   f'to export ({found})')
    with pytest.raises(InputError, match='^cfgs/x.py: no '
                       'model.text_encoder to compute'):
        export_attribute_embeddings(dict(heads=base['heads']),
                                    str(tmp_path / 'out'), source='cfgs/x.py')
    assert not (tmp_path / 'out').exists()
