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


def _cov_with_repeated_eigenvalues(dim=8, seed=0):
    """``Q diag(w) Q^T`` of a random rotation ``Q``: eigenvalue 3 three
    times, 0 twice (singular), and ``w``."""
    q = np.linalg.qr(np.random.default_rng(seed).normal(size=(dim, dim)))[0]
    w = np.array([0., 0., .5, 1., 2., 3., 3., 3.])[:dim]
    return (q * w) @ q.T, w


def test_draws_do_not_depend_on_the_eigenvectors_lapack_returns(
        monkeypatch):
    """``eigh``'s eigenvectors are unique up to sign only, and for a
    repeated eigenvalue up to a rotation within its eigenspace; which one
    LAPACK returns changed with OpenBLAS's thread count (a 256-d covariance
    here: 1 against 2 threads), and the seeded draws ``z @ (V sqrt(w)).T``
    with it: one seed gave other shift vectors, and other latent_aug F1, on
    another machine. The symmetric square root is the same for every
    such choice."""
    cov, w = _cov_with_repeated_eigenvalues()
    want = sample_gaussian(np.random.default_rng(5), cov, 300)
    eigh = np.linalg.eigh
    for how in ('signs', 'rotation'):
        def other_vectors(a, *args, **kwargs):
            vals, vecs = eigh(a, *args, **kwargs)
            vecs = vecs.copy()
            if how == 'signs':
                vecs[:, ::2] *= -1
            else:  # another orthonormal basis of each repeated eigenspace
                rot = np.linalg.qr(np.random.default_rng(9).normal(
                    size=(3, 3)))[0]
                for value in (0., 3.):
                    span = np.flatnonzero(np.abs(vals - value) < 1e-9)
                    assert len(span) == (3 if value else 2)
                    vecs[:, span] = vecs[:, span] @ rot[:len(span),
                                                        :len(span)]
            # the patched decomposition is still one of cov
            np.testing.assert_allclose((vecs * vals) @ vecs.T, a,
                                       atol=1e-12)
            assert not np.allclose(vecs, eigh(a, *args, **kwargs)[1])
            return vals, vecs
        monkeypatch.setattr(np.linalg, 'eigh', other_vectors)
        got = sample_gaussian(np.random.default_rng(5), cov, 300)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12,
                                   err_msg=how)


@pytest.mark.parametrize('rank', [8, 6, 3])
def test_draws_have_the_covariance(rank):
    """The empirical covariance of many draws is ``cov`` within sampling
    error, for a full-rank and two singular covariances (one with repeated
    eigenvalues). Each entry's standard error is
    ``sqrt((c_ii c_jj + c_ij^2) / n)`` (Gaussian draws)."""
    if rank == 6:
        cov = _cov_with_repeated_eigenvalues()[0]
    else:
        basis = np.random.default_rng(rank).normal(size=(rank, 8))
        cov = basis.T @ basis / rank
    assert np.linalg.matrix_rank(cov, tol=1e-9) == rank
    n = 100_000
    draws = sample_gaussian(np.random.default_rng(1), cov, n)
    d = np.diag(cov)
    err = np.sqrt((np.outer(d, d) + cov ** 2) / n)
    # 64 entries, each within 4.5 standard errors of cov (1 in 10^5 per
    # entry by chance)
    assert (np.abs(draws.T @ draws / n - cov) <= 4.5 * err + 1e-12).all()
    assert np.abs(draws.mean(0)).max() <= 4.5 * np.sqrt(d.max() / n)


def test_the_shift_bank_is_the_same_with_one_or_two_blas_threads():
    """The dictionary of one seed and one feature set, built with one and
    with two BLAS / OpenMP threads, holds the same shift bank. On this
    project's 2-core AMD EPYC (OpenBLAS 0.3.31) ``eigh`` returned other
    eigenvectors with two threads, and the banks drawn through them
    differed by up to 1.9 here (clusters of 31 to 64 features in 256-d:
    singular covariances, as 16 clusters of 4,000 512-d features in
    ``benchmarks/bench_meta_test.py``, whose latent_aug F1 moved with the
    thread count). Now the same, to round-off (bit for bit here; in the
    16-cluster 512-d bank of that benchmark's data a few entries differ by
    a couple of float32 ulp: 9 of 16,384,000, by up to 2 ulp, 2.98e-8, in
    each of 3 runs on 2026-12-06). Where the machine has one core this
    compares one thread with one."""
    from threadpoolctl import threadpool_limits
    rng = np.random.default_rng(0)
    dim = 256
    centers = rng.normal(size=(5, dim)) * 0.12 + 1.0
    labels = np.repeat(np.arange(5), 40)
    feats = np.abs(centers[labels] + rng.normal(size=(len(labels), dim))
                   * 0.5).astype(np.float32)
    built = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads):
            built.append(build_dictionary(feats, labels, num_prototypes=4,
                                          num_shift_vectors=200, seed=0))
    one, two = built
    # the clusters and covariances are the same: the draws alone differed
    np.testing.assert_array_equal(one.assignments, two.assignments)
    np.testing.assert_array_equal(one.covariances, two.covariances)
    assert (one.counts < dim).all()  # singular covariances
    scale = np.abs(one.shift_bank).max()
    np.testing.assert_allclose(two.shift_bank, one.shift_bank, rtol=0,
                               atol=1e-6 * scale)


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
