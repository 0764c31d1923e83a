"""Paired comparison of two models on the same stored tasks.

The statistics are checked against independent references (the
signed-rank p by enumerating every sign pattern, by the binomial counts of
tied groups, or by the normal approximation written out; the t interval
through ``scipy.stats.t.interval`` and ``scipy.stats.sem``, not the
project's ``mean_ci``) and against hand-computed exact cases; the
command is checked end to end on meta-test results of two models, each
number recomputed from the result files.
"""
import json
import os
import shutil

import numpy as np
import pytest
from scipy import stats

from _foundation_helpers import tool_module
from lowshot_data import make_workdir
from openselfsup.lowshot import paths
from openselfsup.lowshot.compare import holm, paired_stats
from openselfsup.utils import InputError, run_cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _t_interval(d):
    return stats.t.interval(0.95, len(d) - 1, loc=np.mean(d),
                            scale=stats.sem(d))


def _subset_sums(values):
    bits = (np.arange(2 ** len(values))[:, None] >> np.arange(len(values))) & 1
    return bits @ np.asarray(values, dtype=np.float64)


def _sign_flip_p(d):
    """The exact two-sided signed-rank p by brute force: zeros dropped,
    scipy's mean ranks of |d|, the rank sum of the positive ones against
    its value under each of the 2^n sign patterns (enumerated as the sums
    of two halves' subsets, up to 2^24 patterns)."""
    d = np.asarray(d, dtype=np.float64)
    d = d[d != 0]
    ranks = stats.rankdata(np.abs(d))
    w = ranks[d > 0].sum()
    half = len(d) // 2
    every = (_subset_sums(ranks[:half])[:, None]
             + _subset_sums(ranks[half:])[None, :]).ravel()
    return min(1.0, 2 * min((every <= w + 1e-9).mean(),
                            (every >= w - 1e-9).mean()))


def _tied_groups_p(d):
    """The same p counted by groups of equal |d|: k of a group's m
    differences positive in C(m, k) of the patterns, adding k times the
    group's mean rank to the rank sum."""
    import itertools
    from math import comb
    d = np.asarray(d, dtype=np.float64)
    d = d[d != 0]
    ranks = stats.rankdata(np.abs(d))
    groups = [(int((ranks == r).sum()), r) for r in np.unique(ranks)]
    w = ranks[d > 0].sum()
    low = high = 0
    for ks in itertools.product(*[range(m + 1) for m, _ in groups]):
        ways = np.prod([comb(m, k) for k, (m, _) in zip(ks, groups)])
        total = sum(k * r for k, (_, r) in zip(ks, groups))
        low += ways * (total <= w + 1e-9)
        high += ways * (total >= w - 1e-9)
    return min(1.0, 2 * min(low, high) / 2 ** len(d))


def _normal_p(d):
    """The normal approximation written out: zeros dropped, tie-corrected
    variance, no continuity correction."""
    d = np.asarray(d, dtype=np.float64)
    d = d[d != 0]
    n = len(d)
    ranks = stats.rankdata(np.abs(d))
    _, t = np.unique(np.abs(d), return_counts=True)
    var = n * (n + 1) * (2 * n + 1) / 24 - (t ** 3 - t).sum() / 48
    z = (ranks[d > 0].sum() - n * (n + 1) / 4) / np.sqrt(var)
    return 2 * stats.norm.sf(abs(z))


def test_paired_stats_on_a_fixed_case():
    # six tasks, A better on every one by distinct margins: the exact
    # two-sided signed-rank p is 2 / 2^6 (only the all-positive sign
    # pattern is as extreme on each side)
    a = np.array([0.9, 0.8, 0.85, 0.7, 0.95, 0.6])
    d = np.array([0.05, 0.10, 0.02, 0.20, 0.01, 0.15])
    s = paired_stats(a, a - d)
    assert s['p_wilcoxon'] == pytest.approx(2 / 64)
    assert s['p_wilcoxon_method'] == 'exact'
    low, high = _t_interval(d)
    assert s['diff_mean'] == pytest.approx(d.mean())
    assert (s['diff_low'], s['diff_high']) == (pytest.approx(low),
                                               pytest.approx(high))
    assert (s['wins'], s['ties'], s['losses']) == (6, 0, 0)
    assert s['mean_a'] - s['mean_b'] == pytest.approx(s['diff_mean'])
    # undefined: one task; identical models: p = 1, CI of width 0
    one = paired_stats([0.5], [0.4])
    assert one['diff_ci'] is None and one['p_wilcoxon'] is None
    same = paired_stats(a, a)
    assert same['diff_mean'] == 0 and same['p_wilcoxon'] == 1.0


def test_the_signed_rank_p_follows_one_rule_whatever_scipy():
    """scipy.stats.wilcoxon with its defaults chose the p by version and
    by the data: scipy 1.17 took the normal approximation for 40 tasks
    with ties and zeros (0.136 here, with |d| equal but for float bits
    ranked apart; 0.075 on the rounded differences), where the exact p
    over the sign patterns is 0.0696, and older scipy the normal one for 7
    tasks with two zeros (0.043, below 0.05) where the exact p is 2 / 2^5
    = 0.0625.
    The rule now: exact up to 50 nonzero differences, ties given their
    mean rank; beyond, the normal approximation (tie-corrected variance,
    no continuity correction)."""
    from openselfsup.lowshot.metrics import SIGNED_RANK_RULE, signed_rank_p
    # 7 tasks, 2 equal, A better on the other 5
    s = paired_stats([0.5, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0], [0.5, 0.5] +
                     [0.55, 0.6, 0.65, 0.7, 0.75])
    assert (s['p_wilcoxon'], s['p_wilcoxon_method']) == (
        pytest.approx(2 / 2 ** 5), 'exact')
    # 40 tasks, |d| of 1/20 or 2/20 (two tied groups) and zeros
    rng = np.random.default_rng(0)
    a = rng.integers(0, 20, 40) / 20
    b = np.clip(a + rng.integers(-2, 2, 40) / 20, 0, 1)
    d = np.round(a - b, 12)
    assert 0 < (d == 0).sum() and len(np.unique(np.abs(d[d != 0]))) == 2
    s = paired_stats(a, b)
    assert s['p_wilcoxon'] == pytest.approx(_tied_groups_p(d), rel=1e-12)
    assert s['p_wilcoxon'] == pytest.approx(0.0696, abs=1e-4)
    assert s['p_wilcoxon_method'] == 'exact'
    assert s['ties'] == int((d == 0).sum()) > 0
    low, high = _t_interval(d)
    assert (s['diff_low'], s['diff_high']) == (pytest.approx(low),
                                               pytest.approx(high))
    # 16 nonzero differences, ties among them, against every sign pattern
    d = np.r_[0, rng.integers(-6, 9, 16)] / 10
    d[d == 0] = 0.35  # one zero only
    d[0] = 0
    assert len(np.unique(np.abs(d))) < len(d) - 1  # ties
    p, method = signed_rank_p(d)
    assert (p, method) == (pytest.approx(_sign_flip_p(d), rel=1e-12),
                           'exact')
    # 50 nonzero differences are exact; 51 normal
    d = np.r_[np.arange(1, 51) * (-1.0) ** np.arange(50) * 0.01, 0, 0]
    assert signed_rank_p(d)[1] == 'exact'
    assert signed_rank_p(np.r_[d, 0.7])[1] == 'normal'
    # 70 tasks with zeros and ties: the normal approximation
    d = np.round(rng.normal(0.01, 0.05, 70), 2)
    assert (d == 0).any() and len(np.unique(np.abs(d))) < 60
    p, method = signed_rank_p(d)
    assert (p, method) == (pytest.approx(_normal_p(d), rel=1e-12),
                           'normal')
    assert 'exact over all 2^n sign patterns of the n nonzero ' \
        'differences for n <= 50' in SIGNED_RANK_RULE


def test_differences_equal_but_for_float_bits_are_tied_ranks():
    """0.3 - 0.1 and 0.5 - 0.7 are 0.2 apart from 0 each, 2.8e-17 apart
    from each other in floats: they were ranked apart, the negative one 2
    (p 6 / 64 with ranks 1..6); they share rank 2.5 now (p 8 / 64, as the
    rounded differences give)."""
    a = np.array([0.3, 0.5, 0.2, 0.5, 0.6, 0.7])
    b = np.array([0.1, 0.7, 0.1, 0.1, 0.1, 0.1])
    assert abs(a[0] - b[0]) != abs(a[1] - b[1])  # the float bits
    s = paired_stats(a, b)
    assert s['p_wilcoxon'] == pytest.approx(8 / 64)
    assert s['p_wilcoxon'] == pytest.approx(_sign_flip_p(np.round(a - b,
                                                                  12)))


def test_tasks_of_equal_f1_summed_in_another_order_are_ties():
    """Two tasks where A and B have the same class F1 values at other
    classes: their task F1 (the class average, as _task_f1 takes it) are
    equal, but the float sums in another order differ by 1.1e-16; those
    tasks were counted as A better, and the Wilcoxon test ranked them as
    differences instead of dropping them as zeros. They are ties now, and
    the p is that of the exact differences."""
    from openselfsup.lowshot.compare import compare_results
    v = np.array([2 / 3, 1 / 2, 0.8, 1 / 3, 0.4, 6 / 7, 0.25, 0.9, 5 / 9])
    rows_a = np.array([v, v, v, v * 0.9, v * 0.8])
    rows_b = np.array([v[::-1], np.roll(v, 3), v * 0.7, v * 0.6,
                       v * 0.85])
    fa, fb = rows_a.mean(axis=1), rows_b.mean(axis=1)
    assert (fa[:2] - fb[:2] != 0).all()  # the float noise this is about
    exact = np.r_[0.0, 0.0, fa[2:] - fb[2:]]
    s = paired_stats(fa, fb)
    assert (s['wins'], s['ties'], s['losses']) == (2, 2, 1)
    assert s['p_wilcoxon'] == pytest.approx(_sign_flip_p(exact))
    assert s['diff_mean'] == pytest.approx(exact.mean())


def test_holm_by_hand():
    # m = 3: 0.01 * 3 = 0.03; 0.03 * 2 = 0.06; 0.04 * 1, kept monotone: 0.06
    assert holm([0.01, 0.04, 0.03, None]) == [
        pytest.approx(0.03), pytest.approx(0.06), pytest.approx(0.06), None]
    assert holm([0.5, 0.6]) == [pytest.approx(1.0), pytest.approx(1.0)]


def _cli():
    return tool_module('wsi_workdir/summarize.py')


def _meta_test(workdir, model, task, shots, clf, num_task=20, **kw):
    from openselfsup.lowshot.meta_test import run_meta_test
    from openselfsup.lowshot.spec import RunSpec
    from openselfsup.lowshot.tasks import generate_task_store
    spec = RunSpec(model, task, shots, clf, num_task=num_task, **kw)
    generate_task_store(workdir, spec.tasks)
    return run_meta_test(workdir, spec, progress=False, threads=1)


SETTINGS = [('near', 1, 'Ridge'), ('near', 5, 'nearest_centroid'),
            ('mixture', 1, 'Ridge')]


@pytest.fixture(scope='module')
def two_models(tmp_path_factory):
    """Results of a good (a) and a noisier (b) model on the same tasks; a
    has one setting more."""
    w = str(tmp_path_factory.mktemp('cmp') / 'w')
    make_workdir(w, 'a', seed=0, spread=1.0)
    make_workdir(w, 'b', seed=1, spread=0.4)
    for task, shots, clf in SETTINGS:
        for model in ('a', 'b'):
            _meta_test(w, model, task, shots, clf)
    _meta_test(w, 'a', 'out', 1, 'Ridge')
    return w


def _run(capsys, argv):
    code = run_cli(_cli().main, argv)
    out = capsys.readouterr()
    return code, out.err.strip(), out.out


def test_compare_command_numbers_from_the_result_files(two_models, capsys):
    w = two_models
    code, err, printed = _run(capsys, ['--workdir', w, '--compare', 'a',
                                       'b'])
    assert code == 0, err
    name = paths.compare_name('a', 'b')
    with open(paths.summary_path(w, 'json', name)) as f:
        cmp = json.load(f)
    assert os.path.getsize(paths.summary_path(w, 'png', name)) > 1000
    assert len(cmp['settings']) == len(SETTINGS)
    assert cmp['unpaired'] == {'a_only': ['out 1-shot linear Ridge'],
                               'b_only': []}
    rows = {(s['task'], s['num_shots'], s['clf']): s
            for s in cmp['settings']}
    pvals = []
    for task, shots, clf in SETTINGS:
        s = rows[(task, shots, clf)]
        f1 = {}
        for m in ('a', 'b'):
            with open(paths.result_path(w, m, task, 'linear', clf,
                                        shots)) as f:
                r = json.load(f)
            f1[m] = np.asarray(r['per_task_f1']).mean(1)
            assert s[f'mean_{m}'] == pytest.approx(r['average_mean'])
        d = f1['a'] - f1['b']
        assert s['num_task'] == 20
        assert s['diff_mean'] == pytest.approx(d.mean())
        low, high = _t_interval(d)
        assert s['diff_low'] == pytest.approx(low)
        assert s['diff_high'] == pytest.approx(high)
        assert s['p_wilcoxon'] == pytest.approx(_sign_flip_p(d))
        assert s['p_wilcoxon_method'] == 'exact'
        assert s['wins'] == int((d > 0).sum())
        pvals.append(s['p_wilcoxon'])
        # the printed row carries the difference in percentage points
        line = next(ln for ln in printed.splitlines()
                    if ln.startswith(f'| {s["label"]} |'))
        assert f'{100 * d.mean():+.2f}' in line
    m = len(pvals)
    order = np.argsort(pvals)
    expected = np.maximum.accumulate(
        [min(1, (m - k) * pvals[i]) for k, i in enumerate(order)])
    got = [rows[SETTINGS[i]]['p_holm'] for i in order]
    np.testing.assert_allclose(got, expected)
    assert 'Run for a only (not compared): out 1-shot linear Ridge' in printed
    # the rule of the p, in the JSON and on the printed Test line
    from openselfsup.lowshot.metrics import SIGNED_RANK_RULE
    assert f'Wilcoxon signed-rank p ({SIGNED_RANK_RULE})' in cmp['test']
    assert f'Test: {cmp["test"]}.' in printed


@pytest.mark.parametrize('flags', [[], ['--compare', 'a', 'b']],
                         ids=['summary', 'compare'])
def test_the_summary_commands_draw_without_pyplot(two_models, tmp_path,
                                                  flags):
    """wsi_workdir/summarize.py (the summary, and --compare) imported
    matplotlib.pyplot for its PNG: a Figure on the Agg canvas is drawn
    the same (tests/test_utils_io.py compares the bytes) without it. Run
    as a user runs it, in a fresh process."""
    from _foundation_helpers import loaded_modules
    out = tmp_path / 'report'
    rc, _, err, loaded = loaded_modules(
        ['wsi_workdir/summarize.py', '--workdir', two_models, *flags,
         '--output', str(out)], ('matplotlib',))
    assert rc == 0, err
    assert (tmp_path / 'report.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    assert 'matplotlib.figure' in loaded  # drawn by matplotlib
    assert 'matplotlib.pyplot' not in loaded


def test_the_results_paired_are_gathered_once(two_models, tmp_path,
                                             monkeypatch):
    """``--compare`` hands the other-images check the results of both
    sides of every paired setting, picked by the set of paired files
    (``compare.paired``), built once per comparison where it was built
    again for each result of the workdir (hundreds of results: hundreds
    of sets of every paired file). The results handed are the result
    files of the settings both models ran, by ``paths.result_path``, a's
    setting of its own left out. Counted through ``compare.paired``."""
    from openselfsup.lowshot import compare as module
    built, handed = [], []
    real_paired, real_other = module.paired, module.other_images
    monkeypatch.setattr(module, 'paired', lambda cmp: built.append(1) or
                        real_paired(cmp))
    monkeypatch.setattr(module, 'other_images', lambda results, w: (
        handed.extend(r['_file'] for r in results) or
        real_other(results, w)))
    module.compare(two_models, 'a', 'b', output=str(tmp_path / 'cmp'))
    assert len(built) == 1
    assert sorted(map(os.path.realpath, handed)) == sorted(
        os.path.realpath(paths.result_path(two_models, m, task, 'linear',
                                           clf, shots))
        for task, shots, clf in SETTINGS for m in 'ab')


def test_compare_refuses_other_tasks(two_models, tmp_path, capsys):
    """Results of b made on another workdir's task stores (its lists in
    another order: the same settings, other tasks) are left out by the
    command (not this workdir's features) and refused in one line when
    paired on their records alone; other task counts, unknown models and
    comparing a model with itself are refused. Nothing is written."""
    w = str(tmp_path / 'w')
    shutil.copytree(two_models, w)
    shutil.rmtree(os.path.join(w, 'summary'), ignore_errors=True)
    other = str(tmp_path / 'other')
    make_workdir(other, 'b', seed=1, spread=0.4)
    for name in ('NCT_train', 'NCT_test'):  # same data, rows reordered
        perm = np.random.default_rng(5).permutation(
            len(np.load(paths.labels_path(other, name))))
        for path in (paths.features_path(other, 'b', name),
                     paths.labels_path(other, name)):
            np.save(path, np.load(path)[perm])
        with open(paths.meta_path(other, name)) as f:
            meta = json.load(f)
        meta['paths'] = [meta['paths'][i] for i in perm]
        with open(paths.meta_path(other, name), 'w') as f:
            json.dump(meta, f)
    moved = _meta_test(other, 'b', 'near', 1, 'Ridge')['output']
    target = paths.result_path(w, 'b', 'near', 'linear', 'Ridge', 1)
    shutil.copy(moved, target)
    # the command leaves the foreign result out (its features are not this
    # workdir's) and says so; paired on the stored digests alone, it is
    # refused in one line
    code, err, printed = _run(capsys, ['--workdir', w, '--compare', 'a',
                                       'b'])
    assert code == 0, err
    assert 'Left out: 1 result(s) computed on inputs that have changed' \
        in printed
    assert f'- {target} (' in printed
    assert 'Run for a only (not compared): near 1-shot linear Ridge' in \
        printed
    shutil.rmtree(os.path.join(w, 'summary'))
    from openselfsup.lowshot.compare import compare_results
    from openselfsup.lowshot.report import load_results
    with pytest.raises(InputError, match='were run on different task '
                       'stores'):
        compare_results(load_results(paths.results_dir(w)), 'a', 'b')

    shutil.copy(paths.result_path(two_models, 'b', 'near', 'linear',
                                  'Ridge', 1), target)
    _meta_test(w, 'b', 'near', 5, 'nearest_centroid', num_task=10)
    capsys.readouterr()  # the meta-test's note of the result it replaced
    # b's 10 tasks against a's 20 (docs/refusals.md, summarize.py
    # --compare): the line names both files and the flag
    code, err, printed = _run(capsys, ['--workdir', w, '--compare', 'a',
                                       'b'])
    a5, b5 = (paths.result_path(w, m, 'near', 'linear', 'nearest_centroid',
                                5) for m in 'ab')
    assert (code, err, printed) == (
        2, f'error: {a5} ran 20 tasks but {b5} ran 10; run both with the '
        'same --num_task', '')
    for argv, expected in [
            (['--compare', 'a', 'zzz'], "no results of model 'zzz'"),
            (['--compare', 'a', 'a'], 'two different models'),
            (['--compare', 'a', 'b', '--clf', 'logistic_regression'],
             'no results for --clf logistic_regression')]:
        code, err, _ = _run(capsys, ['--workdir', w] + argv)
        assert code == 2 and len(err.splitlines()) == 1, err
        assert expected in err, err
    assert not os.path.exists(os.path.join(w, 'summary'))
    # every result of b computed on features b no longer has: the line
    # says so (it read 'no results of model b')
    folder = os.path.join(w, 'extracted_feats', 'b')
    for name in os.listdir(folder):
        np.save(os.path.join(folder, name),
                np.load(os.path.join(folder, name))[::-1].copy())
    code, err, _ = _run(capsys, ['--workdir', w, '--compare', 'a', 'b'])
    assert code == 2 and len(err.splitlines()) == 1, err
    assert 'every result of b (' in err and 'run them again, e.g.: ' \
        f'python {REPO}/wsi_workdir/distributed_meta_test.py' in err, err
    assert not os.path.exists(os.path.join(w, 'summary'))


def _same_store(result, model, shots):
    """Both models' results of one shot count on one task store."""
    result['files'] = {'task_store': {'sha1': f'tasks{shots}'}}


def _write_pairs(w, per_task, settings, edit=_same_store):
    """Each model's near-domain Ridge results (novel class 7) of
    ``settings`` ``(shots, num_task)``, its first ``num_task`` rows of
    ``per_task[model]``, each JSON changed by ``edit(result, model,
    shots)`` (its task store, what it records of its computation)."""
    from test_report import NCT, _write
    for model, rows in per_task.items():
        for shots, num_task in settings:
            rows_ = rows[:num_task]
            path = _write(w, model, 'near', 'linear', 'Ridge', shots,
                          float(np.mean(rows_)), None, NCT, novel=7,
                          per_task=rows_, num_task=num_task)
            with open(path) as f:
                result = json.load(f)
            edit(result, model, shots)
            with open(path, 'w') as f:
                json.dump(result, f)


def _pair_on_the_same_tasks(tmp_path, edit):
    """The comparison of models a and b (near domain, novel class 7, 1 and
    5 shots, 3 tasks; class F1 a 0.9 / 0.8 / 0.7 and b 0.5 / 0.6 / 0.4 a
    task), each result JSON changed by ``edit`` first."""
    from openselfsup.lowshot.compare import compare_results
    from openselfsup.lowshot.report import load_results
    w = str(tmp_path / 'w')
    _write_pairs(w, {'a': [[0.9] * 9, [0.8] * 9, [0.7] * 9],
                     'b': [[0.5] * 9, [0.6] * 9, [0.4] * 9]},
                 ((1, 3), (5, 3)), edit)
    return compare_results(load_results(paths.results_dir(w)), 'a', 'b')


def test_the_test_line_names_the_settings_holm_adjusts_over(tmp_path):
    """A setting of one task has no p and is left out of Holm's m; the
    line under the table said 'Holm-adjusted over the 3 settings' while
    the p were adjusted over 2 (by hand: 2 * 0.25). It names the 2, and
    the one without a p."""
    from openselfsup.lowshot.compare import compare_results, format_compare
    from openselfsup.lowshot.report import load_results
    w = str(tmp_path / 'w')
    _write_pairs(w, {'a': [[0.9] * 9, [0.8] * 9, [0.7] * 9],
                     'b': [[0.5] * 9, [0.6] * 9, [0.4] * 9]},
                 ((1, 3), (5, 3), (10, 1)))
    cmp = compare_results(load_results(paths.results_dir(w)), 'a', 'b')
    assert [s['p_holm'] for s in cmp['settings']] == [
        pytest.approx(0.5), pytest.approx(0.5), None]
    assert cmp['test'].endswith('Holm-adjusted over the 2 settings with a '
                                'p-value (1 of one task has none)')
    assert 'Holm-adjusted over the 2 settings with a p-value (1 of one ' \
        'task has none).' in format_compare(cmp)


def test_a_pair_computed_in_another_precision_says_so(tmp_path):
    """Model a run with --float32, b in float64, on the same tasks: the
    row was printed as any other, the precision's share of the difference
    unsaid; the row now names it and a line under the table says what it
    means. JSON: dtype_a, dtype_b."""
    from openselfsup.lowshot.compare import format_compare

    def edit(result, model, shots):
        result['files'] = {'task_store': {'sha1': f'tasks{shots}'}}
        result['execution'] = {'dtype': 'float32' if (model, shots) == (
            'a', 1) else 'float64'}
    cmp = _pair_on_the_same_tasks(tmp_path, edit)
    assert [(s['dtype_a'], s['dtype_b']) for s in cmp['settings']] == [
        ('float32', 'float64'), ('float64', 'float64')]
    text = format_compare(cmp)
    assert '| near novel7 1-shot linear Ridge (a float32) | 3 | 80.00 | ' \
        '50.00 | +30.00 |' in text
    assert '| near novel7 5-shot linear Ridge | 3 |' in text
    assert 'Marked float32: computed with --float32' in text


def test_a_pair_of_normalised_with_raw_features_says_so(tmp_path):
    """Model a meta-tested on L2-normalised features, b on raw ones
    (files.normalised), on the same tasks: the row was printed as a
    like-for-like pair; it now names each side's features and a line under
    the table says the difference includes the normalisation. A pair with
    the same normalisation on both sides is left unmarked. JSON:
    normalised_a, normalised_b."""
    from openselfsup.lowshot.compare import format_compare

    def edit(result, model, shots):
        result['files'] = {'task_store': {'sha1': f'tasks{shots}'},
                           'normalised': (model, shots) != ('b', 1)}
    cmp = _pair_on_the_same_tasks(tmp_path, edit)
    assert [(s['normalised_a'], s['normalised_b'])
            for s in cmp['settings']] == [(True, False), (True, True)]
    text = format_compare(cmp)
    assert '| near novel7 1-shot linear Ridge (a normalised, b raw) | 3 | ' \
        '80.00 | 50.00 | +30.00 |' in text
    assert '| near novel7 5-shot linear Ridge | 3 |' in text
    assert 'Marked normalised / raw: one model\'s features were ' \
        'L2-normalised and the other\'s were not' in text


def test_a_printed_p_never_contradicts_the_filled_marker(tmp_path,
                                                         monkeypatch):
    """14 tasks, A behind on the five smallest differences (ranks 1..5,
    W- = 15) and ahead on the others: 136 of the 2^14 sign patterns have
    a rank sum <= 15, so the exact two-sided p is 2 * 136 / 2^14 =
    0.0166; three such settings, Holm: 3 p = 0.0498, below 0.05: the plot
    fills the markers while the table printed '0.050'. It prints '0.0498';
    the JSON keeps the exact p."""
    from openselfsup.lowshot import compare as cmp_module
    from openselfsup.lowshot.compare import compare_results, format_compare
    from openselfsup.lowshot.report import load_results
    w = str(tmp_path / 'w')
    d = np.array([-1, -2, -3, -4, -5] + list(range(6, 15))) / 100
    _write_pairs(w, {model: [[float(v)] * 9 for v in f1] for model, f1 in (
        ('a', 0.5 + d), ('b', np.full(14, 0.5)))},
        ((1, 14), (5, 14), (10, 14)))
    cmp = compare_results(load_results(paths.results_dir(w)), 'a', 'b')
    assert [s['p_wilcoxon'] for s in cmp['settings']] == [
        pytest.approx(2 * 136 / 2 ** 14)] * 3
    assert [s['p_holm'] for s in cmp['settings']] == [
        pytest.approx(3 * 2 * 136 / 2 ** 14)] * 3  # 0.0498046875
    text = format_compare(cmp)
    assert '| 0.017 | 0.0498 | 9 / 0 / 5 |' in text, text
    drawn = []
    monkeypatch.setattr(cmp_module, 'subplots', _recording(
        cmp_module.subplots, drawn))
    cmp_module.plot_compare(cmp)
    (ax, ) = drawn
    filled = [line.get_markerfacecolor() for line in ax.get_lines()
              if line.get_marker() == 'o' and len(line.get_xdata()) == 1]
    assert len(filled) == 3 and 'white' not in filled


def _recording(subplots, drawn):
    def wrapped(*args, **kwargs):
        fig, ax = subplots(*args, **kwargs)
        drawn.append(ax)
        return fig, ax
    return wrapped


def test_no_setting_in_common_names_what_each_model_ran(tmp_path):
    """Two models whose results share no setting (the quick start's demo
    workdir against a step-by-step run): the line said only 'no setting
    was run for both models', not which each ran nor what to do. It names
    each model's first setting and count, and the way to pair them."""
    from openselfsup.lowshot.compare import compare_results
    from openselfsup.lowshot.report import load_results
    w = str(tmp_path / 'w')
    _write_pairs(w, {'a': [[0.9] * 9, [0.8] * 9]}, ((1, 2), (5, 2)))
    _write_pairs(w, {'b': [[0.5] * 9, [0.6] * 9]}, ((10, 2),))
    with pytest.raises(InputError) as err:
        compare_results(load_results(paths.results_dir(w)), 'a', 'b')
    line = str(err.value)
    assert '\n' not in line
    assert 'a ran near novel7 1-shot linear Ridge and 1 more' in line, line
    assert 'b ran near novel7 10-shot linear Ridge;' in line, line
    assert 'meta-test both models on the same settings' in line, line


def test_a_model_without_results_names_the_workdir_inside_that_has_them(
        tmp_path, capsys):
    """After the quick start (results of clp and random in
    wsi_workdir/workdir/demo) and a step-by-step run of clp in
    wsi_workdir/workdir, '--workdir wsi_workdir/workdir --compare clp
    random' said only "no results of model 'random'". The line names the
    workdir inside the given one that holds the model's results."""
    w = str(tmp_path / 'w')
    _write_pairs(w, {'a': [[0.9] * 9, [0.8] * 9]}, ((1, 2),))
    demo = os.path.join(w, 'demo')
    _write_pairs(demo, {'a': [[0.9] * 9, [0.8] * 9],
                        'b': [[0.5] * 9, [0.6] * 9]}, ((1, 2),))
    code, err, _ = _run(capsys, ['--workdir', w, '--compare', 'a', 'b'])
    assert code == 2 and len(err.splitlines()) == 1, err
    assert err == (f"error: no results of model 'b' (models with "
                   f'results: a); workdirs with results of b in it: demo '
                   f'(--workdir {demo}?)'), err
    assert not os.path.exists(os.path.join(w, 'summary'))


def test_two_models_ablations_are_paired_with_ablation(tmp_path, capsys):
    """The ablation's results are under <workdir>/ablation_results/, apart
    from results/, which --compare read alone: two models' ablations could
    not be paired (refused: no results directory). ``--compare A B
    --ablation`` pairs them row by row of the ablation's table, with the
    numbers computed here from their result files."""
    from lowshot_data import script_main
    w = str(tmp_path / 'w')
    make_workdir(w, 'clp_wo_78', seed=0, spread=1.0)
    make_workdir(w, 'fsp_wo_78', seed=1, spread=0.4)
    for model in ('clp_wo_78', 'fsp_wo_78'):
        assert run_cli(script_main('wsi_workdir/ablation.py'), [
            '--workdir', w, '--model', model, '--num_task', '8',
            '--num_shots', '2', '--prototypes', '2', '--image', 'none',
            '--latent', '4', '--hybrid', 'none', '--num_shift_vectors',
            '20', '--quiet']) == 0, capsys.readouterr().err
    capsys.readouterr()
    code, err, printed = _run(capsys, ['--workdir', w, '--compare',
                                       'clp_wo_78', 'fsp_wo_78',
                                       '--ablation'])
    assert code == 0, err
    # a plain comparison with a model named fsp_wo_78_ablation wrote the
    # ablation comparison's files (compare_clp_wo_78_vs_fsp_wo_78_ablation
    # for both), replacing it without a word: the ablation's pairs are now
    # in summary/ablation/, a name no plain comparison can take (a model
    # name holds no '/')
    from openselfsup.lowshot.compare import compare
    make_workdir(w, 'fsp_wo_78_ablation', seed=2, spread=0.4)
    for model in ('clp_wo_78', 'fsp_wo_78_ablation'):
        _meta_test(w, model, 'mixture', 1, 'Ridge', num_task=8)
    plain = compare(w, 'clp_wo_78', 'fsp_wo_78_ablation')
    assert plain['comparison']['results'] == 'results'
    ablation = compare(w, 'clp_wo_78', 'fsp_wo_78', ablation=True)
    assert ablation['json'] != plain['json']
    with open(plain['json']) as f:
        assert json.load(f)['results'] == 'results'
    name = paths.compare_name('clp_wo_78', 'fsp_wo_78', ablation=True)
    assert ablation['json'] == paths.summary_path(w, 'json', name)
    with open(paths.summary_path(w, 'json', name)) as f:
        cmp = json.load(f)
    assert cmp['results'] == 'ablation'
    with open(os.path.join(w, 'sweeps', 'ablation', 'clp_wo_78.json')) as f:
        rows = json.load(f)['ablation_rows']
    assert len(cmp['settings']) == len(rows) == 3  # baseline, K=2, 4 shots
    for s in cmp['settings']:
        d = np.subtract(*[np.asarray(json.load(open(s[f'file_{m}']))[
            'per_task_f1']).mean(1) for m in ('a', 'b')])
        assert os.path.dirname(os.path.dirname(s['file_a'])) == \
            paths.ablation_results_dir(w)
        assert s['num_task'] == 8
        assert s['diff_mean'] == pytest.approx(d.mean())
        assert s['p_wilcoxon'] == pytest.approx(_sign_flip_p(d))
    assert '(their ablation results)' in printed.splitlines()[0]
    # a result left out (its features extracted again since) is run again
    # by the ablation, which writes there (distributed_meta_test.py was
    # named, which writes results/), with the parts' values it ran (h180:
    # "with its parts' flags", which no shell reads)
    feats = paths.features_path(w, 'fsp_wo_78', 'NCT_test')
    np.save(feats, np.load(feats)[:, ::-1].copy())
    code, err, _ = _run(capsys, ['--workdir', w, '--compare', 'clp_wo_78',
                                 'fsp_wo_78', '--ablation'])
    assert code == 2 and err.endswith(
        f'run them again, e.g.: python {REPO}/wsi_workdir/ablation.py '
        '--model '
        'fsp_wo_78 --num_shots 2 --num_task 8 --clf Ridge '
        '--num_shift_vectors 20 --prototypes 2 --image none --latent 4 '
        f'--hybrid none --workdir {w}'), err
    # --ablation alone, and a model without ablation results: one line
    code, err, _ = _run(capsys, ['--workdir', w, '--ablation'])
    assert code == 2 and err == (
        "error: --ablation goes with --compare A B (the ablation's own "
        'table is <workdir>/sweeps/ablation/<model>.md)')
    code, err, _ = _run(capsys, ['--workdir', w, '--compare', 'clp_wo_78',
                                 'clp', '--ablation'])
    # with the flags clp_wo_78 ran, which pair with it (review r111: the
    # model and workdir alone ran the published settings)
    assert code == 2 and err == (
        "error: no ablation results of model 'clp' (models with ablation "
        f'results: clp_wo_78, fsp_wo_78); run python {REPO}/wsi_workdir/'
        'ablation.py --model clp --num_shots 2 --num_task 8 --clf Ridge '
        '--num_shift_vectors 20 --prototypes 2 --image none --latent 4 '
        f'--hybrid none --workdir {w}')


def test_ablations_of_other_settings_name_the_ablation_of_a_s_settings(
        tmp_path, capsys):
    """``--compare A B --ablation`` where B's ablation ran other flags (1
    shot, A's 2) pairs no setting: the line named the meta-test's
    scripts (``evaluate_encoder.sh or sweep.py``), which write
    ``results/``, not the ``ablation_results/`` that ``--ablation`` reads
    (review r115). It names B's ablation with the flags A's ran, as this
    test ran them."""
    from lowshot_data import script_main
    w = str(tmp_path / 'w')
    flags = ['--num_task', '4', '--prototypes', '2', '--image', 'none',
             '--latent', 'none', '--hybrid', 'none', '--quiet']
    for model, shots, seed in (('clp_wo_78', '2', 0), ('fsp_wo_78', '1', 1)):
        make_workdir(w, model, seed=seed)
        assert run_cli(script_main('wsi_workdir/ablation.py'), [
            '--workdir', w, '--model', model, '--num_shots', shots,
            *flags]) == 0, capsys.readouterr().err
    capsys.readouterr()
    code, err, _ = _run(capsys, ['--workdir', w, '--compare', 'clp_wo_78',
                                 'fsp_wo_78', '--ablation'])
    assert code == 2 and len(err.splitlines()) == 1, err
    assert 'evaluate_encoder.sh' not in err and 'sweep.py' not in err, err
    assert err.endswith(
        "run fsp_wo_78's ablation with the settings of clp_wo_78's: "
        f'python {REPO}/wsi_workdir/ablation.py --model fsp_wo_78 '
        '--num_shots 2 --num_task 4 --clf Ridge --prototypes 2 --image '
        f'none --latent none --hybrid none --workdir {w}; running it '
        'replaces the table of the run it records, '
        f'{w}/sweeps/ablation/fsp_wo_78.md'), err
    # (review r118: the table of fsp_wo_78's 1-shot run, which the command
    # replaces, was not named)


def test_each_comparison_has_a_name_of_its_own(tmp_path):
    """``--compare a b --clf Ridge`` and ``--compare a b_Ridge`` both
    wrote ``summary/compare_a_vs_b_Ridge.*``, and ``--compare a_vs_b c``
    and ``--compare a b_vs_c`` both ``compare_a_vs_b_vs_c.*``: the second
    replaced the first without a word. Each comparison now has a folder
    of its own, ``summary/compare/<A>/vs_<B>/`` (a model name holds no
    '/'), holding ``all.*`` or ``<clf>.*``; after all four ran, each file
    still holds its own pair."""
    from openselfsup.lowshot.compare import compare
    w = str(tmp_path / 'w')
    models = ('a', 'b', 'b_Ridge', 'a_vs_b', 'c', 'b_vs_c')
    for i, model in enumerate(models):
        make_workdir(w, model, seed=i, spread=1.0)
        _meta_test(w, model, 'mixture', 1, 'Ridge', num_task=4)
    runs = [('a', 'b', 'Ridge'), ('a', 'b_Ridge', None),
            ('a_vs_b', 'c', None), ('a', 'b_vs_c', None)]
    written = {run: compare(w, *run[:2], clf=run[2])['json']
               for run in runs}
    assert len(set(written.values())) == len(runs), written
    for (a, b, clf), path in written.items():
        assert path == paths.summary_path(
            w, 'json', os.path.join('compare', a, f'vs_{b}', clf or 'all'))
        with open(path) as f:
            cmp = json.load(f)
        assert (cmp['model_a'], cmp['model_b']) == (a, b)


def _provenance_of_images(w, model, digests, date, root):
    """Provenance JSONs of ``model``'s sets as extract.py writes them: one
    checkpoint, the images of each set read from ``root/<set>`` on
    ``date``, the digest of a sample of their bytes ``digests[set]`` (none
    recorded where it is None, as before it was)."""
    from lowshot_data import CHECKPOINT_PROVENANCE, write_provenance
    for name, digest in digests.items():
        fields = dict(CHECKPOINT_PROVENANCE, checkpoint=f'/w/{model}.pth',
                      checkpoint_sha256=model * 64, date=date,
                      cfg_options={'dataset.data_root': f'{root}/{name}'})
        if digest is not None:
            fields['images_sha1'] = digest
        write_provenance(w, model, name, **fields)


def test_models_scored_on_other_images_are_not_paired(tmp_path, capsys):
    """The dataset written again under the same names and a's sets
    extracted again from it, b's left: every result of both was current
    (each on its own features), summary.md showed both rows without a word
    and --compare wrote paired differences and Wilcoxon p-values of tasks
    that hold other images. The images' digests their provenance records
    differ: the summary says so under the table, naming the sets, the two
    models and the commands that extract b's (the older) again from the
    images a's were read from; --compare refuses in one line naming the
    two models, the sets and those commands, and writes nothing. Sets
    whose provenance records no digest (older runs) are not refused: the
    comparison is written, noted as of unknown images. The same digests:
    no note."""
    from openselfsup.lowshot.report import summarize
    w = str(tmp_path / 'w')
    make_workdir(w, 'a', seed=0)
    make_workdir(w, 'b', seed=1)
    new = {n: f'{i}' * 40 for i, n in enumerate(('NCT_train', 'NCT_test',
                                                   'LC'))}
    _provenance_of_images(w, 'a', new, '2026-12-05T10:00:00+00:00',
                          '/data/new')
    _provenance_of_images(w, 'b', new, '2026-12-04T10:00:00+00:00',
                          '/data/new')
    for model in ('a', 'b'):
        for task in ('near', 'mixture'):
            _meta_test(w, model, task, 1, 'Ridge', num_task=6)
    read = set()  # the sets the results read, from their files
    for model in ('a', 'b'):
        for task in ('near', 'mixture'):
            with open(paths.result_path(w, model, task, 'linear', 'Ridge',
                                        1)) as f:
                files = json.load(f)['files']
            read |= {os.path.splitext(os.path.basename(rec['path']))[0]
                     for key, rec in files.items()
                     if key.endswith('_features') and rec}
    assert read == set(new)
    # the same images: nothing said, the pairs written
    assert 'Other images' not in summarize(w)['markdown']
    code, err, printed = _run(capsys, ['--workdir', w, '--compare', 'a',
                                       'b'])
    assert code == 0 and 'images' not in printed.lower(), err
    shutil.rmtree(os.path.join(w, 'summary'))
    # b's sets from the images before they were written again
    old = {n: f'{i}' * 40 for i, n in zip('abc', new)}
    _provenance_of_images(w, 'b', old, '2026-12-04T10:00:00+00:00',
                          '/data/old')
    ways = [(name, ['python', os.path.join(REPO, 'wsi_workdir', 'extract.py'),
                    '--config', os.path.join(REPO, 'configs', 'extraction',
                                             f'{name.lower()}.py'),
                    '--pretrained',
                    '/w/b.pth', '--no-normalise', '--data-root',
                    f'/data/new/{name}',
                    '--output', paths.features_path(w, 'b', name)])
            for name in ('NCT_train', 'NCT_test', 'LC')]
    head = ('NCT_train, NCT_test, LC were extracted from other images '
            'under the same names for a (extracted 2026-12-05T10:00:00'
            '+00:00) and for b (extracted 2026-12-04T10:00:00+00:00)')
    out = summarize(w)
    notes = [line for line in out['markdown'].splitlines()
             if line.startswith('Other images')]
    assert len(notes) == 1 and notes[0].startswith(
        f'Other images: {head}'), out['markdown']
    for _, words in ways:
        assert f'`{" ".join(words)}`' in notes[0], notes[0]
    with open(out['json']) as f:
        other = json.load(f)['other_images']
    assert sorted(other) == sorted(new)
    assert {(e['images_sha1'], tuple(e['models']))
            for e in other['LC']} == {(new['LC'], ('a',)),
                                      (old['LC'], ('b',))}
    before = sorted(os.listdir(os.path.join(w, 'summary')))
    code, err, printed = _run(capsys, ['--workdir', w, '--compare', 'a',
                                       'b'])
    assert code == 2 and printed == '' and '\n' not in err, (code, err)
    assert err.startswith(f'error: --compare a b: {head}'), err
    for _, words in ways:
        assert ' '.join(words) in err, err
    assert sorted(os.listdir(os.path.join(w, 'summary'))) == before
    # each way out is a command extract.py reads as written
    module = tool_module('wsi_workdir/extract.py')
    for name, words in ways:
        args = module.parse_args(words[2:])
        assert (args.pretrained, args.output, args.data_root) == (
            ['/w/b.pth'], [paths.features_path(w, 'b', name)],
            [f'/data/new/{name}'])
    # b's provenance written before the digest was recorded: unknown,
    # compared and said
    _provenance_of_images(w, 'b', dict.fromkeys(new), None, '/data/old')
    code, err, printed = _run(capsys, ['--workdir', w, '--compare', 'a',
                                       'b'])
    assert code == 0, err
    unknown = ('Images unknown: NCT_train, NCT_test, LC of b record no '
               'digest of their images')
    assert unknown in printed and 'Other images' not in printed, printed
    assert unknown in summarize(w)['markdown']


def test_the_way_out_for_other_images_makes_nct_aug_as_copies(tmp_path):
    """The way out of the other-images note and refusal extracts each set
    of the older model again; for the ablation's NCT_aug (augmented
    copies of NCT_train, copy-major) one pass over the list is what the
    ablation refuses as no copies. NCT_aug gets the copies' command
    (configs/extraction/nct_aug.py with --aug_times), another set one
    pass of its own config, from the newer set's images."""
    import shlex

    from openselfsup.lowshot.report import other_images_way
    w = str(tmp_path / 'w')

    def entry(model, digest, date, name):
        return dict(images_sha1=digest, models=[model],
                    features={model: paths.features_path(w, model, name)},
                    extracted={model: date}, files=[])
    from openselfsup.utils import save_json
    for model in ('a', 'b'):
        for name in ('NCT_aug', 'NCT_test'):
            save_json(paths.provenance_path(w, model, name), dict(
                checkpoint=f'/w/{model}.pth', checkpoint_sha256='a' * 64,
                checkpoint_kind='MoCo checkpoint', aug_times=2,
                cfg_options={'dataset.data_root': f'/{model}/NCT'}))
    for name, config, copies in (('NCT_aug', 'nct_aug.py', True),
                                 ('NCT_test', 'nct_test.py', False)):
        way = other_images_way([(name, [
            entry('a', 'new', '2026-12-05', name),
            entry('b', 'old', '2026-12-04', name)])])
        words = shlex.split(way.split('(summarize.py then lists the '
                                      'commands): ')[1])
        # h167, h177: every command runs from any folder, its config the
        # checkout's
        assert words[words.index('--config') + 1] == os.path.join(
            REPO, 'configs', 'extraction', config), way
        assert ('--aug_times' in words) == copies, way
        if not copies:  # from a's images
            assert words[words.index('--data-root') + 1] == '/a/NCT', way
        assert words[words.index('--output') + 1] == \
            paths.features_path(w, 'b', name)


def test_other_images_commands_write_the_files_read_from_another_folder(
        tmp_path, capsys, monkeypatch):
    """h166: summarize.py run from another folder with a relative
    ``--workdir`` (``cd /tmp/x && python .../summarize.py --workdir wd``)
    named the ``extract.py`` commands of the older model's sets with
    ``--output`` relative to that folder, while the commands are run from
    the repository root: they wrote the sets where no result reads them.
    The reference: the files each printed command writes, read by
    extract.py's own parser from another folder (``printed_output``), against
    the features the results read, in the --compare refusal and the
    summary's note alike."""
    from lowshot_data import printed_output

    from openselfsup.lowshot.report import summarize
    monkeypatch.chdir(tmp_path)
    w = 'w d'  # relative to the folder summarize.py is run from
    make_workdir(w, 'a', seed=0)
    make_workdir(w, 'b', seed=1)
    sets = ('NCT_train', 'NCT_test')
    _provenance_of_images(w, 'a', {n: 'a' * 40 for n in sets},
                          '2026-12-05T10:00:00+00:00', '/data/new')
    _provenance_of_images(w, 'b', {n: 'b' * 40 for n in sets},
                          '2026-12-04T10:00:00+00:00', '/data/old')
    for model in ('a', 'b'):
        _meta_test(w, model, 'near', 1, 'Ridge', num_task=4)
    read = [os.path.abspath(paths.features_path(w, 'b', n)) for n in sets]
    code, err, _ = _run(capsys, ['--workdir', w, '--compare', 'a', 'b'])
    assert code == 2, err
    refused = err.split('(summarize.py then lists the commands): ')[1]
    note = [line for line in summarize(w)['markdown'].splitlines()
            if line.startswith('Other images')]
    assert len(note) == 1, note
    noted = note[0].split('(summarize.py then lists the commands): ')[1]
    for commands in (refused.split('; '), noted.rstrip('.').split('; ')):
        assert [printed_output(c.strip('`'))['features']
                for c in commands] == read, (err, note)
