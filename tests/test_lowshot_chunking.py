"""The engine's memory bound (chunks) and its CUDA path.

A deliberately small memory budget must split the run into chunks whose
augmented training sets fit the budget, with the same F1 as one big batch.
The CUDA test compares against the CPU run and is skipped without a GPU.
"""
import numpy as np
import pytest
import torch

from openselfsup.lowshot import analytic, augment, engine
from openselfsup.lowshot.analytic import ExpectedAugmentation
from openselfsup.lowshot.augment import LatentAugmenter
from openselfsup.lowshot.tasks import SETTINGS, sample_tasks

D, A = 32, 20


def _setup(T=24, shots=3):
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), 40)
    centres = rng.normal(size=(5, D))
    feats = (centres[labels] + rng.normal(size=(len(labels), D)) * 1.5
             ).astype(np.float32)
    store = sample_tasks(SETTINGS['mixture'], labels, labels, shots, T, 1)
    protos = torch.tensor(centres)
    bank = torch.tensor(rng.normal(size=(5, 64, D)) * 0.5)
    cov = torch.stack([torch.eye(D, dtype=torch.float64) * 0.25] * 5)
    return feats, store, protos, bank, cov


def test_small_budget_processes_chunks_within_budget(monkeypatch):
    feats, store, protos, bank, _ = _setup()
    seen = []
    original = augment.AugmentedSupport.shifts

    def spy(self, dtype=None):  # Ridge gathers the shifts, nothing larger
        S = original(self, dtype)
        seen.append(S.numel() * S.element_size())
        return S
    monkeypatch.setattr(augment.AugmentedSupport, 'shifts', spy)
    aug = LatentAugmenter(protos, bank, A, seed=2)
    n = store.support_idx.shape[1]
    one_task = n * A * D * 8  # bytes of one task's augmented set (float64)
    budget = 6 * one_task * 4  # the auto chunk size counts 4 copies
    one_task_shifts = n * (A - 1) * D * 8
    chunked = engine.meta_test(feats, feats, store, 'Ridge', 'latent_aug',
                               aug, memory_budget=budget)
    assert len(seen) >= 4, seen  # 24 tasks in chunks of at most 6
    assert max(seen) <= budget / 4, (max(seen), budget)
    num_chunks = len(seen)
    whole = engine.meta_test(feats, feats, store, 'Ridge', 'latent_aug', aug,
                             chunk_size=store.num_task)
    assert len(seen) == num_chunks + 1  # one batch of every task
    assert seen[-1] == store.num_task * one_task_shifts
    np.testing.assert_array_equal(chunked, whole)


def test_expected_mode_is_chunked_and_chunk_invariant(monkeypatch):
    feats, store, protos, _, cov = _setup()
    aug = ExpectedAugmentation(protos, cov, A)
    batches = []
    original = analytic.ExpectedRidge.fit_augmented

    def spy(self, sup, num_classes):
        batches.append(sup.features.shape[0])
        return original(self, sup, num_classes)
    monkeypatch.setattr(analytic.ExpectedRidge, 'fit_augmented', spy)
    small = engine.meta_test(feats, feats, store, 'Ridge',
                             'latent_aug_expected', aug,
                             memory_budget=5 * 4 * D * D * 8)
    whole = engine.meta_test(feats, feats, store, 'Ridge',
                             'latent_aug_expected', aug, chunk_size=1000)
    chunks = batches[:-1]  # the small-budget run, then the whole one
    assert len(chunks) >= 4 and sum(chunks) == 24 and batches[-1] == 24
    np.testing.assert_array_equal(small, whole)


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
@pytest.mark.parametrize('clf,mode', [
    ('Ridge', 'linear'), ('logistic_regression', 'linear'),
    ('nearest_centroid', 'linear'), ('Ridge', 'latent_aug'),
    ('nearest_centroid', 'latent_aug'), ('logistic_regression', 'latent_aug'),
    ('Ridge', 'latent_aug_expected')])
def test_cuda_matches_cpu(clf, mode):
    feats, store, protos, bank, cov = _setup(T=16)
    aug = {'linear': None,
           'latent_aug': LatentAugmenter(protos, bank, A, seed=2),
           'latent_aug_expected': ExpectedAugmentation(protos, cov, A)}[mode]
    cpu = engine.meta_test(feats, feats, store, clf, mode, aug, 'cpu')
    gpu = engine.meta_test(feats, feats, store, clf, mode, aug, 'cuda',
                           chunk_size=5)
    # identical up to float rounding: a few flipped queries at most
    assert np.abs(cpu - gpu).mean() < 0.5, np.abs(cpu - gpu).mean()


def test_device_memory_budget():
    assert engine.device_memory_budget(torch.device('cpu')) == \
        engine.DEFAULT_MEMORY_BUDGET


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_budget_follows_free_memory():
    free, _ = torch.cuda.mem_get_info()
    budget = engine.device_memory_budget(torch.device('cuda'))
    assert free // 4 <= budget <= free // 2 or budget == free // 4
