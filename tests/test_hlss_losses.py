"""SupCon and HiDisc losses against brute-force references."""
import math

import pytest
import torch
import torch.nn.functional as F

from openselfsup.models.losses import HiDiscLoss, hierarchy_ids, supcon_loss


def brute_supcon(feats, labels, t):
    z = F.normalize(feats, dim=1).tolist()
    labels = labels.tolist()
    n = len(z)
    total, anchors = 0.0, 0
    for i in range(n):
        sims = [sum(a * b for a, b in zip(z[i], z[j])) / t for j in range(n)]
        denom = sum(math.exp(sims[a]) for a in range(n) if a != i)
        pos = [p for p in range(n) if p != i and labels[p] == labels[i]]
        if not pos:
            continue
        total += -sum(sims[p] - math.log(denom) for p in pos) / len(pos)
        anchors += 1
    return total / anchors


@pytest.mark.parametrize('t', [0.07, 0.5])
def test_supcon_equals_brute_force_loop(t):
    g = torch.Generator().manual_seed(0)
    feats = torch.randn(13, 6, generator=g, dtype=torch.float64)
    labels = torch.tensor([0, 0, 1, 1, 1, 2, 3, 3, 3, 3, 4, 0, 5])  # 2, 4 alone
    got = supcon_loss(feats, labels, t).item()
    assert got == pytest.approx(brute_supcon(feats, labels, t), rel=1e-9)


@pytest.mark.parametrize('shape', [(2, 2, 2, 2), (3, 2, 3, 2), (2, 1, 4, 3)])
def test_positive_counts_per_level(shape):
    b, s, p, v = shape
    ids = hierarchy_ids(shape)
    expected = dict(patient=s * p * v - 1, slide=p * v - 1, patch=v - 1)
    for level, want in expected.items():
        same = ids[level][:, None] == ids[level][None, :]
        counts = same.sum(1) - 1
        assert torch.all(counts == want), level
    # view j = ((b*S + s)*P + p)*V + v
    j = ((1 * s + (s - 1)) * p + (p - 1)) * v + (v - 1)
    assert ids['patient'][j] == 1
    assert ids['slide'][j] == 1 * s + (s - 1)
    assert ids['patch'][j] == (1 * s + (s - 1)) * p + (p - 1)


def test_hidisc_levels_use_supcon_on_level_ids():
    shape = (3, 2, 2, 2)
    n = 24
    g = torch.Generator().manual_seed(1)
    emb = {lv: torch.randn(n, 5, generator=g, dtype=torch.float64)
           for lv in ('patient', 'slide', 'patch')}
    loss = HiDiscLoss(temperature=0.1,
                      weights=dict(patient=1.0, slide=0.5, patch=2.0))
    out = loss(emb, shape)
    ids = hierarchy_ids(shape)
    for lv, w in (('patient', 1.0), ('slide', 0.5), ('patch', 2.0)):
        ref = w * brute_supcon(emb[lv], ids[lv], 0.1)
        assert out[f'loss_{lv}'].item() == pytest.approx(ref, rel=1e-9)
    assert set(HiDiscLoss(weights=dict(patient=1.0))(emb, shape)) == \
        {'loss_patient'}


def published_supcon(features, t):
    """Independent reference: the published SupConLoss (HobbitLong's, as
    HiDisc and HLSS ship it) without labels: ``features [n, views, D]``,
    the views of one row each other's positives, ``contrast_mode='all'``,
    ``base_temperature = t``."""
    n, views = features.shape[:2]
    contrast = torch.cat(torch.unbind(features, dim=1), dim=0)
    logits = contrast @ contrast.T / t
    logits = logits - logits.max(1, keepdim=True)[0].detach()
    not_self = 1 - torch.eye(n * views, dtype=features.dtype)
    mask = torch.eye(n, dtype=features.dtype).repeat(views, views) * not_self
    log_prob = logits - torch.log((torch.exp(logits) * not_self).sum(
        1, keepdim=True))
    return (-(mask * log_prob).sum(1) / mask.sum(1)).mean()


def test_hidisc_loss_equals_the_published_reshapes():
    # published HiDiscLoss: the head outputs [B, S, P, V, D], normalised,
    # reshaped to [B, S*P*V, D] (patient), [B*S, P*V, D] (slide) and
    # [B*S*P, V, D] (patch), each into SupCon; here the same views come
    # flat, in view order ((b*S + s)*P + p)*V + v
    b, s, p, v, d = 3, 2, 2, 2, 6
    g = torch.Generator().manual_seed(4)
    feats = F.normalize(torch.randn(b, s, p, v, d, generator=g,
                                    dtype=torch.float64), dim=-1)
    want = dict(patient=published_supcon(feats.reshape(b, -1, d), 0.07),
                slide=published_supcon(feats.reshape(b * s, -1, d), 0.07),
                patch=published_supcon(feats.reshape(b * s * p, -1, d),
                                       0.07))
    flat = feats.reshape(-1, d)
    out = HiDiscLoss()({lv: flat for lv in want}, (b, s, p, v))
    for lv, ref in want.items():
        assert out[f'loss_{lv}'].item() == pytest.approx(ref.item(),
                                                         rel=1e-9), lv
    # the view order matters: patches and slides swapped differ
    swapped = feats.transpose(1, 2).reshape(-1, d)
    other = HiDiscLoss()({lv: swapped for lv in want}, (b, s, p, v))
    assert other['loss_slide'].item() != pytest.approx(
        want['slide'].item(), rel=1e-6)


def test_loss_falls_when_embeddings_cluster_by_patient():
    b, s, p, v = 4, 2, 2, 2
    g = torch.Generator().manual_seed(2)
    random = torch.randn(b * s * p * v, 16, generator=g)
    centres = torch.randn(b, 16, generator=g) * 3
    clustered = centres.repeat_interleave(s * p * v, 0) + \
        0.1 * torch.randn(b * s * p * v, 16, generator=g)
    loss = HiDiscLoss(weights=dict(patient=1.0))
    lr = loss({'patient': random}, (b, s, p, v))['loss_patient']
    lc = loss({'patient': clustered}, (b, s, p, v))['loss_patient']
    assert lc < lr - 1.0


@pytest.mark.parametrize('shape,level,alone', [
    ((2, 2, 2, 1), 'patch', {'patch'}),
    ((2, 2, 1, 1), 'slide', {'slide', 'patch'}),  # the first one named
    ((2, 1, 1, 1), 'patient', {'patient', 'slide', 'patch'})])
def test_a_weighted_level_without_positives_is_refused(shape, level, alone):
    """V = 1 (no MultiView) left the patch level without positives: SupCon
    leaves such anchors out, so loss_patch was 0 and the patch level
    trained nothing, without a word (the published SupCon gives NaN)."""
    from openselfsup.utils import InputError
    n = math.prod(shape)
    emb = torch.randn(n, 5, generator=torch.Generator().manual_seed(0))
    feats = {lv: emb for lv in ('patient', 'slide', 'patch')}
    s, p, v = shape[1:]
    with pytest.raises(InputError, match=rf'the {level} level has no '
                       rf'positive pairs with S x P x V = {s}x{p}x{v}.*'
                       rf'loss\.weights\.{level}=0'):
        HiDiscLoss()(feats, shape)
    # with those levels' weights 0 the others train (their positives exist)
    out = HiDiscLoss(weights={lv: float(lv not in alone) for lv in
                              ('patient', 'slide', 'patch')})(feats, shape)
    assert set(out) == {f'loss_{lv}' for lv in ('patient', 'slide', 'patch')
                        if lv not in alone}
    assert all(x.item() > 0 for x in out.values())
