"""kNN evaluation: planted embeddings, a hand-computed aggregation case,
and scikit-learn as the reference for the metrics."""
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, balanced_accuracy_score

from openselfsup.engine.knn import (accuracy_metrics, aggregate_scores,
                                    format_table, knn_evaluate, knn_scores)


def test_planted_embeddings_score_one_at_every_level():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 16)) * 5
    bank_labels = np.repeat(np.arange(3), 30)
    bank = centres[bank_labels] + rng.normal(size=(90, 16))
    q_labels = np.repeat(np.arange(3), 8)
    queries = centres[q_labels] + rng.normal(size=(24, 16))
    info = dict(label=q_labels, slide_id=np.arange(24) // 4,
                patient_id=np.arange(24) // 8)
    res = knn_evaluate(bank, bank_labels, queries, info, 3, k=200)
    assert res['k'] == 90  # capped at the bank size
    for level, n in (('patch', 24), ('slide', 6), ('patient', 3)):
        assert res[level]['acc'] == 1.0 and res[level]['mca'] == 1.0
        assert res[level]['n'] == n
    assert 'patient' in format_table(res)


def test_hand_computed_scores_and_aggregation():
    r = 1 / math.sqrt(2)
    bank = torch.tensor([[1., 0.], [0., 1.], [r, r]])
    bank_labels = torch.tensor([0, 1, 1])
    queries = torch.tensor([[2., 0.], [0., 3.], [1., 0.]])
    s = knn_scores(bank, bank_labels, queries, 2, k=2, temperature=1.0)
    e, er = math.e, math.exp(r)
    want = np.array([[e, er],         # neighbours b0 (sim 1), b2 (sim r)
                     [0., e + er],    # neighbours b1 (1), b2 (r)
                     [e, er]])
    np.testing.assert_allclose(s.numpy(), want, rtol=1e-12)
    # q0 and q1 on slide 5, q2 on slide 2; all of class 0
    ids, summed, labels = aggregate_scores(s.numpy(), np.array([5, 5, 2]),
                                           np.array([0, 0, 0]))
    np.testing.assert_array_equal(ids, [2, 5])
    np.testing.assert_allclose(summed, [[e, er], [e, er + e + er]])
    # patches: predictions 0, 1, 0 -> 2/3; slides: 0 (right), 1 (wrong)
    info = dict(label=np.array([0, 0, 0]), slide_id=np.array([5, 5, 2]),
                patient_id=np.array([0, 0, 0]))
    res = knn_evaluate(bank.numpy(), bank_labels.numpy(), queries.numpy(),
                       info, 2, k=2, temperature=1.0)
    assert res['patch']['acc'] == pytest.approx(2 / 3)
    assert res['slide']['acc'] == pytest.approx(0.5)
    # patient: class 0 gets 2e = 5.44, class 1 gets e + 3 exp(r) = 8.79
    assert res['patient']['acc'] == 0.0 and res['patient']['n'] == 1


def test_metrics_match_sklearn():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, 50)
    p = np.where(rng.random(50) < 0.6, y, rng.integers(0, 4, 50))
    m = accuracy_metrics(y, p)
    assert m['acc'] == pytest.approx(accuracy_score(y, p))
    assert m['mca'] == pytest.approx(balanced_accuracy_score(y, p))
