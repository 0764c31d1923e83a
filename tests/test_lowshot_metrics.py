"""F1 against scikit-learn, the CI against a hand-computed example."""
import numpy as np
from sklearn.metrics import f1_score

from openselfsup.lowshot.metrics import (harmonic_mean, mean_ci, per_task_f1,
                                         summarize)


def test_per_task_f1_matches_sklearn():
    rng = np.random.default_rng(0)
    true = np.tile(np.repeat(np.arange(4), 5), (50, 1))
    pred = np.where(rng.random(true.shape) < 0.6, true,
                    rng.integers(0, 4, true.shape))
    pred[0] = 0  # a task where classes 1..3 are never predicted
    f1 = per_task_f1(pred, true, 4)
    ref = np.stack([f1_score(t, p, average=None, labels=range(4),
                             zero_division=0) for t, p in zip(true, pred)])
    np.testing.assert_allclose(f1, 100 * ref)


def test_ci_hand_computed():
    # F1 of one class over 4 tasks: 60, 70, 80, 90.
    # mean 75; sample std sqrt(((15^2 + 5^2) * 2) / 3) = 12.9099;
    # sem = 12.9099 / 2 = 6.45497; t_{0.975, 3} = 3.18245 -> 20.5426
    mean, ci = mean_ci(np.array([[60.], [70.], [80.], [90.]]))
    assert abs(mean[0] - 75.0) < 1e-12
    assert abs(ci[0] - 20.5426) < 1e-3
    assert np.isnan(mean_ci(np.array([[50.0]]))[1][0])  # one task: no CI


def test_summary_and_harmonic_mean():
    f1 = np.array([[80., 60., 90., 70., 50.], [100., 60., 70., 90., 50.]])
    s = summarize(f1, mixture=True)
    np.testing.assert_allclose(s['per_class_mean'], [90, 60, 80, 80, 50])
    assert s['average_mean'] == 72.0
    assert s['colon_mean'] == 75.0 and s['lung_mean'] == 70.0
    assert abs(s['harmonic_mean'] - 2 * 75 * 70 / 145) < 1e-12
    assert harmonic_mean(0.0, 0.0) == 0.0
    assert summarize(f1)['harmonic_mean'] is None
