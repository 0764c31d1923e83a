"""A task's result does not depend on how the tasks are chunked or on how
many threads solve them (nor, on a GPU, on the free memory), for every
classifier and mode; and the chunks respect the memory budget.
"""
import numpy as np
import pytest
import torch

from openselfsup.lowshot import augment, meta_test as engine
from openselfsup.lowshot.analytic import ExpectedAugmentation
from openselfsup.lowshot.augment import LatentAugmenter
from openselfsup.lowshot.spec import TaskSpec
from openselfsup.lowshot.tasks import sample_tasks
from openselfsup.utils import InputError

D, A = 32, 12
SETTINGS = [('Ridge', 'linear'), ('logistic_regression', 'linear'),
            ('nearest_centroid', 'linear'), ('Ridge', 'latent_aug'),
            ('logistic_regression', 'latent_aug'),
            ('nearest_centroid', 'latent_aug'),
            ('Ridge', 'latent_aug_expected'),
            ('nearest_centroid', 'latent_aug_expected')]


def _setup(T=30, shots=3):
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), 40)
    centres = rng.normal(size=(5, D))
    # overlapping classes, so that many queries lie near a boundary
    feats = (centres[labels] + rng.normal(size=(len(labels), D)) * 2.5
             ).astype(np.float32)
    store = sample_tasks(TaskSpec('mixture', shots, T, seed=1), labels,
                         labels)
    protos = torch.tensor(centres)
    bank = torch.tensor(rng.normal(size=(5, 64, D)) * 0.5)
    cov = torch.stack([torch.eye(D, dtype=torch.float64) * 0.25] * 5)
    return feats, store, protos, bank, cov


def _augmenter(mode, protos, bank, cov):
    return {'linear': None,
            'latent_aug': LatentAugmenter(protos, bank, A, seed=2),
            'latent_aug_expected': ExpectedAugmentation(protos, cov, A)}[mode]


@pytest.mark.parametrize('clf,mode', SETTINGS)
def test_per_task_f1_independent_of_chunks_and_threads(clf, mode):
    feats, store, protos, bank, cov = _setup()
    aug = _augmenter(mode, protos, bank, cov)
    runs = [engine.meta_test(feats, feats, store, clf, mode=mode,
                             augmenter=aug, chunk_size=c, threads=t)[0]
            for c, t in ((None, None), (1, 1), (7, 2), (30, 1), (4, 3))]
    for other in runs[1:]:
        np.testing.assert_array_equal(runs[0], other)
    assert 0.2 < runs[0].mean() < 0.95  # tasks with boundary cases


@pytest.mark.parametrize('clf,mode', SETTINGS)
def test_queries_scored_in_runs_give_the_same_f1(clf, mode, monkeypatch):
    """On the CPU a chunk's queries are gathered and scored in runs of tasks
    (QUERY_BUDGET): one task at a time, runs of 7 and the whole chunk
    give identical per-task F1."""
    feats, store, protos, bank, cov = _setup()
    aug = _augmenter(mode, protos, bank, cov)
    one_task = store.query_idx.shape[1] * feats.shape[1] * (4 + 8)
    runs = []
    for budget in (1, 7 * one_task, 1 << 40):
        monkeypatch.setattr(engine, 'QUERY_BUDGET', budget)
        runs.append(engine.meta_test(feats, feats, store, clf, mode=mode,
                                     augmenter=aug, chunk_size=30,
                                     threads=1)[0])
    for other in runs[1:]:
        np.testing.assert_array_equal(runs[0], other)


def test_chunks_respect_the_memory_budget(monkeypatch):
    feats, store, protos, bank, _ = _setup(T=24)
    seen = []
    original = augment.AugmentedSupport.shifts

    def spy(self, dtype=None):  # Ridge gathers the shifts, nothing larger
        S = original(self, dtype)
        seen.append(S.numel() * S.element_size())
        return S
    monkeypatch.setattr(augment.AugmentedSupport, 'shifts', spy)
    n = store.support_idx.shape[1]
    one_task = n * A * D * 8  # bytes of one task's augmented set (float64)
    monkeypatch.setitem(engine.CPU_BUDGET, 'Ridge', 6 * one_task * 4)
    aug = LatentAugmenter(protos, bank, A, seed=2)
    engine.meta_test(feats, feats, store, 'Ridge', mode='latent_aug',
                     augmenter=aug, threads=1)
    assert len(seen) >= 4, seen  # 24 tasks in chunks of at most 6
    assert max(seen) <= 6 * n * (A - 1) * D * 8


def test_cuda_chunks_follow_total_not_free_memory(monkeypatch):
    """On CUDA the budget is a quarter of the device's total memory: two
    runs chunk alike whatever memory is free, and a larger GPU takes larger
    chunks (a chunk costs its kernel launches more than its size). Mocked
    device properties: runs without a GPU."""
    class Props:
        total_memory = 80 << 30
    free = [70 << 30]
    monkeypatch.setattr(torch.cuda, 'get_device_properties',
                        lambda device=None: Props)
    monkeypatch.setattr(torch.cuda, 'mem_get_info',
                        lambda device=None: (free[0], Props.total_memory))
    cuda = torch.device('cuda')
    per_task = 8 * (4 * 45 * 512 + 2 * 75 * 512 + 45 ** 2)
    a = engine.chunk_size_for('Ridge', 45, 75, 512, cuda)
    free[0] = 3 << 30  # another process took most of the GPU
    assert a == engine.chunk_size_for('Ridge', 45, 75, 512, cuda)
    assert a == (20 << 30) // per_task
    Props.total_memory = 141 << 30  # an H200
    assert engine.chunk_size_for('Ridge', 45, 75, 512, cuda) == \
        int((141 << 30) * 0.25) // per_task


def test_cuda_out_of_memory_says_which_option_helps(monkeypatch):
    """A chunk that does not fit the GPU ends in one line with CUDA's own
    first line and what helps: a smaller --chunk_size, or, at one task per
    chunk, another device (simulated: the classifier raises the error CUDA
    would)."""
    feats, store, *_ = _setup(T=16)

    def oom(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError(
            'CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a '
            'total capacity of 79 GiB. Of the allocated memory 70 GiB...')
    monkeypatch.setattr(engine, 'build_classifier', oom)
    with pytest.raises(InputError) as err:
        engine.meta_test(feats, feats, store, 'Ridge', chunk_size=8,
                         threads=1)
    msg = str(err.value)
    assert 'Tried to allocate 2.00 GiB' in msg and 'Of the alloc' not in msg
    assert msg.endswith('pass a smaller --chunk_size, e.g. 2')
    with pytest.raises(InputError, match=r"e\.g\. \d+ \(the default budget "
                       r"is 25% of the GPU's memory"):
        engine.meta_test(feats, feats, store, 'Ridge', threads=1)
    with pytest.raises(InputError, match=r'run on the CPU \(--device cpu\)$'):
        engine.meta_test(feats, feats, store, 'Ridge', chunk_size=1,
                         threads=1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('clf,mode', SETTINGS)
def test_cuda_matches_cpu_and_ignores_chunking(clf, mode):
    feats, store, protos, bank, cov = _setup(T=16)
    aug = _augmenter(mode, protos, bank, cov)
    cpu = engine.meta_test(feats, feats, store, clf, mode=mode,
                           augmenter=aug)[0]
    gpu = [engine.meta_test(feats, feats, store, clf, mode=mode,
                            augmenter=aug, device='cuda', chunk_size=c)[0]
           for c in (None, 5)]
    np.testing.assert_array_equal(gpu[0], gpu[1])
    # identical up to float rounding: a few flipped queries at most
    assert np.abs(cpu - gpu[0]).mean() < 0.005


@pytest.mark.parametrize('clf,mode', SETTINGS)
def test_decision_values_of_a_task_do_not_depend_on_its_batch(clf, mode):
    """Bitwise: a task's decision values alone equal those it gets inside a
    batch. Small augmented sets (n * A < D, so logistic regression works in
    the row space) with repeated shift draws (a tiny bank), where some
    tasks' rows are dependent and others' are not."""
    from openselfsup.lowshot.analytic import EXPECTED_ESTIMATORS
    from openselfsup.lowshot.classifiers import build_classifier
    from openselfsup.lowshot.parallel import serial_kernels
    rng = np.random.default_rng(3)
    B, C, dim = 12, 5, 64
    X = torch.tensor(rng.normal(size=(B, C, dim)))  # 1 shot
    y = torch.arange(C).repeat(B, 1)
    Xq = torch.tensor(rng.normal(size=(B, 7, dim)))
    protos = torch.tensor(rng.normal(size=(4, dim)))
    bank = torch.tensor(rng.normal(size=(4, 8, dim)))
    cov = torch.stack([torch.eye(dim, dtype=torch.float64)] * 4)
    aug = {'latent_aug': LatentAugmenter(protos, bank, A, seed=1),
           'latent_aug_expected': ExpectedAugmentation(protos, cov, A)
           }.get(mode)

    def values(lo, hi):
        model = EXPECTED_ESTIMATORS[clf]() if mode == 'latent_aug_expected' \
            else build_classifier(clf)
        if aug is None:
            model.fit(X[lo:hi], y[lo:hi])
        else:
            model.fit_augmented(aug.augment(X[lo:hi], y[lo:hi], lo),
                                torch.arange(C))
        return model.decision_function(Xq[lo:hi])
    with serial_kernels():
        whole = values(0, B)
        for b in range(B):
            assert torch.equal(values(b, b + 1)[0], whole[b]), b
