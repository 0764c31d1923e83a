"""Base dictionary: per-cluster covariances, singular covariances, loading."""
import numpy as np
import pytest

from openselfsup.lowshot.dictionary import (build_dictionary, load_dictionary,
                                            sample_gaussian)
from openselfsup.utils import InputError


def _features(n=400, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(4, dim)) * 4
    labels = rng.integers(0, 3, n)
    feats = centers[rng.integers(0, 4, n)] + rng.normal(size=(n, dim))
    return feats.astype(np.float32), labels


def test_prototypes_and_covariances_per_cluster(tmp_path):
    feats, labels = _features()
    dic = build_dictionary(feats, labels, num_prototypes=4,
                           num_shift_vectors=3000, seed=0, excluded=(2,))
    base = feats[labels != 2].astype(np.float64)
    assert len(dic.assignments) == len(base)
    # clusters come from k-means on L2-normalised features
    normed = base / np.linalg.norm(base, axis=1, keepdims=True)
    for k in range(4):
        members = base[dic.assignments == k]
        np.testing.assert_allclose(dic.prototypes[k], members.mean(0),
                                   rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(dic.covariances[k],
                                   np.cov(members, rowvar=False), atol=1e-6)
        # every member is nearest (cosine) to its own normalised centroid
        c = np.stack([normed[dic.assignments == j].mean(0) for j in range(4)])
        c /= np.linalg.norm(c, axis=1, keepdims=True)
        assert ((normed[dic.assignments == k] @ c.T).argmax(1) == k).mean() > .95
        # shift bank drawn from N(0, cov): its covariance is close
        bank = dic.shift_bank[k].astype(np.float64)
        assert np.abs(bank.mean(0)).max() < 0.15
        np.testing.assert_allclose(np.cov(bank, rowvar=False),
                                   dic.covariances[k], atol=0.25)
    path = str(tmp_path / 'd.npz')
    dic.save(path)
    again = load_dictionary(path)
    np.testing.assert_allclose(again.shift_bank, dic.shift_bank)
    assert again.excluded == (2,)
    with pytest.raises(FileExistsError):  # never replaced silently
        dic.save(path)
    for bad in (b'', b'PK\x03\x04 truncated'):
        with open(tmp_path / 'bad.npz', 'wb') as f:
            f.write(bad)
        with pytest.raises(InputError, match='not a readable base dictionary'):
            load_dictionary(str(tmp_path / 'bad.npz'))


def test_kmeans_trains_on_every_base_feature(monkeypatch):
    """As published (max_points_per_centroid above N), every base feature
    trains the centroids; faiss's default would subsample 256 per centroid.
    The training set handed to faiss is recorded and compared."""
    import faiss
    seen = []
    original = faiss.Kmeans.train

    def spy(self, x, *a, **k):
        seen.append((x.shape[0], self.cp.max_points_per_centroid))
        return original(self, x, *a, **k)
    monkeypatch.setattr(faiss.Kmeans, 'train', spy)
    rng = np.random.default_rng(1)
    n, K = 3000, 4  # > 256 * K points: faiss's default would subsample
    feats = rng.normal(size=(n, 8)).astype(np.float32)
    dic = build_dictionary(feats, np.zeros(n, np.int64), num_prototypes=K,
                           num_shift_vectors=10)
    assert seen == [(n, n)]
    assert dic.counts.sum() == n
    # the centroids are those of k-means on all points: every point is
    # assigned to its nearest final centroid (cosine), which subsampled
    # training would not guarantee for the points it never saw
    normed = feats / np.linalg.norm(feats, axis=1, keepdims=True)
    cent = np.stack([normed[dic.assignments == k].mean(0) for k in range(K)])
    assert ((normed @ cent.T).argmax(1) == dic.assignments).mean() > 0.97


def test_singular_covariance_works():
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(3, 10))  # rank-3 covariance in 10-d
    cov = basis.T @ basis
    draws = sample_gaussian(rng, cov, 20000)
    assert np.isfinite(draws).all()
    np.testing.assert_allclose(np.cov(draws, rowvar=False), cov, atol=0.6)
    # draws stay in the covariance's range
    null = np.linalg.svd(basis)[2][3:]
    assert np.abs(draws @ null.T).max() < 1e-6  # round-off only
    # a cluster with fewer members than dimensions, and one-member clusters
    feats = np.concatenate([rng.normal(size=(5, 10)) + 10,
                            rng.normal(size=(1, 10)) - 10]).astype(np.float32)
    dic = build_dictionary(feats, np.zeros(6, np.int64), num_prototypes=2,
                           num_shift_vectors=50, seed=0)
    assert np.isfinite(dic.shift_bank).all()
    one = int(np.flatnonzero(dic.counts == 1)[0])
    assert (dic.shift_bank[one] == 0).all()


# K=16 prototypes, M=2000 shift vectors, D=512, N=1000 base features:
# covariances 8*K*D*D = 33,554,432 B, two M x D float64 draws
# 8*M*D*2 = 16,384,000, the float32 bank 4*K*M*D = 65,536,000 and the
# base features 16*N*D = 8,192,000: 123,666,432 B (117.94 MiB, 0.115 GiB)
_NEED = 123_666_432
_SHAPE = dict(num_prototypes=16, num_shift_vectors=2000, dim=512,
              num_base=1000)


def _readings(monkeypatch, *values):
    """available_memory() returns these in turn; the reads are counted."""
    from openselfsup.lowshot import dictionary
    reads = []

    def fake():
        reads.append(1)
        return values[min(len(reads), len(values)) - 1]
    monkeypatch.setattr(dictionary, 'available_memory', fake)
    monkeypatch.setattr(dictionary, 'MEMORY_RECHECK_S', 0, raising=False)
    return reads


def _figures(message):
    import re
    return [(float(x), unit) for x, unit in
            re.findall(r'(\d+(?:\.\d+)?) (MiB|GiB)', message)]


def test_a_refusal_s_figures_tell_need_from_what_is_available(monkeypatch):
    from openselfsup.lowshot.dictionary import check_memory
    have = int(0.14 * 2 ** 30)   # 143.36 MiB: half of it, 71.68, < need
    reads = _readings(monkeypatch, have)
    with pytest.raises(InputError) as err:
        check_memory(**_SHAPE)
    msg = str(err.value)
    assert '\n' not in msg and 'num_shift_vectors' in msg
    (need, u1), (half, u2), (avail, u3) = _figures(msg)
    assert u1 == u2 == u3 == 'MiB'   # below 1 GiB: 0.1 GiB was both
    assert abs(need - _NEED / 2 ** 20) <= 0.05
    assert abs(avail - have / 2 ** 20) <= 0.05
    assert abs(half - have / 2 / 2 ** 20) <= 0.05
    assert need > half
    assert len(reads) == 2   # read again once before refusing


def test_a_need_just_above_half_still_prints_above_it(monkeypatch):
    from openselfsup.lowshot.dictionary import check_memory
    have = 2 * _NEED - 2000   # half of it is 1000 B (0.001 MiB) below need
    _readings(monkeypatch, have)
    with pytest.raises(InputError) as err:
        check_memory(**_SHAPE)
    (need, _), (half, _), (avail, _) = _figures(str(err.value))
    assert need > half
    assert abs(need - _NEED / 2 ** 20) < 0.001
    assert abs(half - (have / 2) / 2 ** 20) < 0.001


def test_a_momentary_dip_in_available_memory_refuses_nothing(monkeypatch):
    from openselfsup.lowshot.dictionary import check_memory
    # first reading: 0.14 GiB (refuses), then 4 GiB again
    reads = _readings(monkeypatch, int(0.14 * 2 ** 30), 4 * 2 ** 30)
    check_memory(**_SHAPE)
    assert len(reads) == 2
    # enough at the first reading: read once, no wait
    reads = _readings(monkeypatch, 4 * 2 ** 30)
    check_memory(**_SHAPE)
    assert len(reads) == 1
