"""Text-initialised heads, the alignment KL, and bad text-embedding files."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from openselfsup.models.heads import TextInitHead, symmetric_kl
from openselfsup.registry import MODELS
from openselfsup.utils import InputError

ATTRS = [['a', 'b'], ['c'], ['d', 'e', 'f'], ['g']]


def _emb_file(tmp_path, k=4, d=6, name='emb.npy', seed=0):
    mat = np.random.default_rng(seed).normal(size=(k, d)).astype(np.float32)
    path = tmp_path / name
    if name.endswith('.pt'):
        torch.save(torch.from_numpy(mat), path)
    else:
        np.save(path, mat)
    return str(path), mat


@pytest.mark.parametrize('name', ['emb.npy', 'emb.pt'])
def test_head_equals_text_matrix_at_init(tmp_path, name):
    path, mat = _emb_file(tmp_path, name=name)
    head = TextInitHead(in_channels=10, attributes=ATTRS, text_width=6,
                        embeddings_file=path)
    head.init_weights()
    want = mat / np.linalg.norm(mat, axis=1, keepdims=True)
    np.testing.assert_allclose(head.attributes.weight.detach().numpy(), want,
                               rtol=1e-6)
    emb, _ = head(torch.randn(3, 10))
    assert emb.shape == (3, 4)


def test_model_heads_equal_text_matrix_after_init(tmp_path):
    files = {lv: _emb_file(tmp_path, name=f'{lv}.npy', seed=i)
             for i, lv in enumerate(('patient', 'slide', 'patch'))}
    head = lambda lv: dict(type='TextInitHead', in_channels=64,  # noqa: E731
                           attributes=ATTRS, text_width=6,
                           embeddings_file=files[lv][0])
    model = MODELS.build(dict(
        type='HLSS',
        backbone=dict(type='ResNet', depth=18, base_channels=8,
                      stem_channels=8, out_indices=(3, )),
        neck=dict(type='GlobalAveragePooling'),
        heads={lv: head(lv) for lv in files},
        loss=dict(type='HiDiscLoss')))
    model.init_weights()
    for lv, (_, mat) in files.items():
        w = model.level_heads[lv].attributes.weight.detach().numpy()
        np.testing.assert_allclose(
            w, mat / np.linalg.norm(mat, axis=1, keepdims=True), rtol=1e-6)


def test_symmetric_kl_symmetric_and_zero_at_equality():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, 7, generator=g), torch.randn(5, 7, generator=g)
    assert symmetric_kl(a, b).item() == pytest.approx(
        symmetric_kl(b, a).item(), rel=1e-6)
    assert symmetric_kl(a, b).item() > 0.01
    assert symmetric_kl(a, a.clone()).item() == pytest.approx(0, abs=1e-7)
    # against the definition with explicit probabilities
    p, q = F.softmax(a, 1), F.softmax(b, 1)
    ref = ((p * (p / q).log()).sum(1) + (q * (q / p).log()).sum(1)).mean()
    assert symmetric_kl(a, b).item() == pytest.approx(ref.item(), rel=1e-5)


def test_alignment_zero_when_embedding_is_an_attribute(tmp_path):
    path, mat = _emb_file(tmp_path)
    head = TextInitHead(in_channels=6, attributes=ATTRS, text_width=6,
                        embeddings_file=path)
    u = 2.5 * head.text[[2, 0, 3]]  # scaled copies of attribute rows
    assert head.alignment(u).item() == pytest.approx(0, abs=1e-6)
    assert head.alignment(torch.randn(4, 6)).item() > 0


@pytest.mark.parametrize('mode', ['log', 'loss', 'off'])
def test_alignment_gradient_only_when_switched_on(tmp_path, mode):
    path, _ = _emb_file(tmp_path)
    head = TextInitHead(in_channels=10, attributes=ATTRS, text_width=6,
                        embeddings_file=path, align_mode=mode,
                        align_weight=0.5, level='patch')
    x = torch.randn(8, 10)
    _, extras = head(x)
    if mode == 'off':
        assert extras == {}
        return
    key = 'loss_kl_patch' if mode == 'loss' else 'kl_patch'
    assert set(extras) == {key}
    term = extras[key]
    assert term.item() > 0
    if mode == 'log':
        assert not term.requires_grad  # logged only: no gradient
    else:
        term.backward()
        assert head.proj[0].weight.grad.abs().sum() > 0
        head.zero_grad()
        u = head.proj(x)
        ref = 0.5 * head.alignment(u)
        assert term.item() == pytest.approx(ref.item(), rel=1e-6)


def test_embedding_file_k_or_width_mismatch(tmp_path):
    path, _ = _emb_file(tmp_path, k=3, d=6)
    with pytest.raises(InputError, match='holds 3 attribute embeddings, the '
                       'config lists 4'):
        TextInitHead(10, ATTRS, 6, embeddings_file=path)
    path, _ = _emb_file(tmp_path, k=4, d=5, name='w.npy')
    with pytest.raises(InputError, match='width 5, the config says '
                       'text_width=6'):
        TextInitHead(10, ATTRS, 6, embeddings_file=path)
    with pytest.raises(InputError, match='not found'):
        TextInitHead(10, ATTRS, 6, embeddings_file=str(tmp_path / 'no.npy'))
