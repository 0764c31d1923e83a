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
    np.testing.assert_allclose(f1, ref)  # fractions, as sklearn


def test_ci_hand_computed():
    # F1 of one class over 4 tasks: 60, 70, 80, 90.
    # mean 75; sample std sqrt(((15^2 + 5^2) * 2) / 3) = 12.9099;
    # sem = 12.9099 / 2 = 6.45497; t_{0.975, 3} = 3.18245 -> 20.5426
    mean, ci = mean_ci(np.array([[60.], [70.], [80.], [90.]]))
    assert abs(mean[0] - 75.0) < 1e-12
    assert abs(ci[0] - 20.5426) < 1e-3
    assert np.isnan(mean_ci(np.array([[50.0]]))[1][0])  # one task: no CI


def test_ci_quantile_is_scipy_stats_t():
    """mean_ci takes the t quantile from scipy.special (a lighter import);
    it equals scipy.stats.t.ppf for any number of tasks."""
    from scipy import stats
    rng = np.random.default_rng(0)
    for num in (2, 3, 10, 100, 1000, 10**5):
        values = rng.normal(size=(num, 2))
        for confidence in (0.9, 0.95, 0.99):
            _, ci = mean_ci(values, confidence)
            sem = values.std(axis=0, ddof=1) / np.sqrt(num)
            want = stats.t.ppf((1 + confidence) / 2, num - 1) * sem
            np.testing.assert_array_equal(ci, want)


def test_summary_and_harmonic_mean_with_its_ci():
    """Mixture domain, by hand: colon = classes 0, 1; lung = 2, 3, 4; the
    final metric is the harmonic mean of their means, and its CI "computed
    in the same way" (published README): the harmonic mean of the colon and
    lung mean CIs."""
    f1 = np.array([[.80, .60, .90, .70, .50], [1.0, .60, .70, .90, .50],
                   [.90, .90, .80, .80, .20]])
    s = summarize(f1, mixture=True)
    np.testing.assert_allclose(s['per_class_mean'],
                               [.9, .7, .8, .8, .4])
    assert abs(s['average_mean'] - 0.72) < 1e-12
    assert abs(s['colon_mean'] - 0.8) < 1e-12
    assert abs(s['lung_mean'] - 2.0 / 3) < 1e-12
    assert abs(s['harmonic_mean'] - 2 * .8 * (2 / 3) / (.8 + 2 / 3)) < 1e-12
    # per-class CI: t_{0.975,2} * std(ddof=1) / sqrt(3), t = 4.302653
    t = 4.302652729749464  # tables: t_{0.975, 2}
    ci = [t * np.std(f1[:, c], ddof=1) / np.sqrt(3) for c in range(5)]
    np.testing.assert_allclose(s['per_class_ci'], ci)
    colon_ci, lung_ci = (ci[0] + ci[1]) / 2, (ci[2] + ci[3] + ci[4]) / 3
    assert abs(s['colon_ci'] - colon_ci) < 1e-12
    assert abs(s['lung_ci'] - lung_ci) < 1e-12
    assert abs(s['harmonic_ci'] - 2 * colon_ci * lung_ci /
               (colon_ci + lung_ci)) < 1e-12
    assert harmonic_mean(0.0, 0.0) == 0.0
    assert summarize(f1)['harmonic_mean'] is None


def test_single_task_summary_has_undefined_ci_shown_as_dash():
    from openselfsup.lowshot.metrics import format_table
    s = summarize(np.array([[.5, .25, 1.0, .75, 0.0]]), mixture=True)
    assert np.isnan(s['average_ci']) and np.isnan(s['harmonic_ci'])
    text = format_table(s, ['a', 'b', 'c', 'd', 'e'])
    assert text.splitlines()[0].split() == ['a', '50.00', '–']
    assert text.splitlines()[-1].split()[-1] == '–'
