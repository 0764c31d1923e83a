"""Summary table and plot of meta-test results, checked against hand-made numbers."""
import glob
import json
import os
import re

import numpy as np
import pytest

from _foundation_helpers import tool_module

from openselfsup.lowshot import paths
from openselfsup.lowshot.metrics import format_table
from openselfsup.lowshot.report import (build_table, format_markdown,
                                        load_results, summarize)
from openselfsup.utils import InputError, run_cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NCT = ['BACK', 'ADI', 'DEB', 'LYM', 'MUC', 'MUS', 'NORM', 'STR', 'TUM']
LC = ['colon_aca', 'colon_n', 'lung_aca', 'lung_n', 'lung_scc']


def _spread(num_task, half_width):
    """``num_task`` deviations of mean 0 whose 95% t half-width over the
    tasks is ``half_width`` (alternating -1, +1, a 0 last for an odd
    count, scaled); zeros for one task or no half-width."""
    if num_task < 2 or not half_width:
        return np.zeros(num_task)
    e = (-1.0) ** np.arange(1, num_task + 1)
    if num_task % 2:
        e[-1] = 0.0
    e /= np.std(e, ddof=1)
    return e * half_width * np.sqrt(num_task) / _t975(num_task - 1)


def _fill(given, mean, num):
    """``num`` per-class numbers: those of the dict ``given`` (class ->
    number), the others all at the value that makes their mean ``mean``."""
    given = given or {}
    rest = num - len(given)
    fill = (num * mean - sum(given.values())) / max(rest, 1)
    assert fill >= 0, 'no class left to make the mean'
    return np.array([given.get(c, fill) for c in range(num)])


def _write(workdir, model, task, mode, clf, shots, average, ci, classes,
           novel=None, per_class=None, class_ci=None, per_task=None,
           num_task=4):
    """A result JSON as the meta-test writes one: its summary fields
    (per_class_mean / per_class_ci, average_mean / average_ci, and for the
    mixture domain colon / lung / harmonic mean and CI) are
    metrics.summarize's of its per_task_f1 (a CI undefined over one task:
    null). ``per_task`` gives the F1 of each task and class (``average``
    and ``ci``, where given, must be what they summarize to); without it
    class c's F1 is its mean (``per_class[c]``, a dict of the classes set;
    the others at the value that makes the mean over classes ``average``)
    plus deviations whose 95% CI is ``class_ci[c]`` (a dict likewise, the
    others making the mean of the class CIs, average_ci, ``ci``; no
    deviations for ``ci`` None)."""
    from openselfsup.lowshot.metrics import summarize as summarize_f1
    if per_task is None:
        means = _fill(per_class, average, len(classes))
        cis = _fill(class_ci, ci or 0.0, len(classes))
        per_task = means[None, :] + np.stack(
            [_spread(num_task, h) for h in cis], axis=1)
    else:
        assert per_class is None and class_ci is None, \
            'per_class and class_ci follow from per_task'
    f1 = np.asarray(per_task, dtype=np.float64)
    s = summarize_f1(f1, mixture=task == 'mixture')
    assert average is None or s['average_mean'] == pytest.approx(average)
    assert ci is None or s['average_ci'] == pytest.approx(ci)

    def num(x):  # as the meta-test writes it: NaN (undefined) as null
        return None if x is None or np.isnan(x) else float(x)
    summary = {k: [num(x) for x in v] if isinstance(v, np.ndarray) else
               num(v) for k, v in s.items()}
    result = dict(
        model=model, task=task, mode=mode, clf=clf, num_shots=shots,
        num_task=num_task, novel_class=novel, seed=0, classes=classes,
        **summary, units='fraction', per_task_f1=f1.tolist())
    path = paths.result_path(workdir, model, task, mode, clf, shots, novel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(result, f)
    return path


#: two mixture-domain results (colon classes 0, 1; lung 2, 3, 4), their
#: summary by hand. A: colon 0.4, lung 0.6: average_mean (2 * 0.4 + 3 *
#: 0.6) / 5 = 0.52, harmonic_mean 2 * 0.4 * 0.6 / (0.4 + 0.6) = 0.48;
#: CIs colon 0.03, lung 0.06: average_ci (0.06 + 0.18) / 5 = 0.048,
#: harmonic_ci 2 * 0.03 * 0.06 / 0.09 = 0.04. B: colon 0.3, lung 0.6:
#: 0.48, harmonic 0.36 / 0.9 = 0.4; CIs colon 0.06, lung 0.03: 0.042,
#: harmonic 0.0036 / 0.09 = 0.04
MIX_A = dict(average=0.52, ci=0.048, classes=LC, per_class={0: 0.4, 1: 0.4},
             class_ci={0: 0.03, 1: 0.03})
MIX_B = dict(average=0.48, ci=0.042, classes=LC, per_class={0: 0.3, 1: 0.3},
             class_ci={0: 0.06, 1: 0.06})


def _edit(path, **fields):
    """A result JSON with ``fields`` set by hand; the result as it was."""
    with open(path) as f:
        result = json.load(f)
    with open(path, 'w') as f:
        json.dump(dict(result, **fields), f)
    return result


def _t975(df):
    from scipy import stats
    return stats.t.ppf(0.975, df)


@pytest.fixture
def workdir(tmp_path):
    w = str(tmp_path / 'workdir')
    _write(w, 'clp_wo_7', 'near', 'linear', 'Ridge', 1, 0.6123, 0.0155, NCT,
           novel=7, per_class={7: 0.42}, class_ci={7: 0.02})
    _write(w, 'clp_wo_7', 'near', 'latent_aug', 'Ridge', 1, 0.6589, 0.0101,
           NCT, novel=7)
    _write(w, 'clp_wo_7', 'near', 'linear', 'Ridge', 5, 0.8, 0.005, NCT,
           novel=7, class_ci={7: 0.02})
    _write(w, 'clp', 'mixture', 'linear', 'Ridge', 5, **MIX_A)
    _write(w, 'fsp', 'mixture', 'linear', 'nearest_centroid', 1, **MIX_B)
    _write(w, 'clp', 'out_homo', 'latent_aug', 'logistic_regression', 10,
           0.9999, 0.0001, ['normal', 'viable_tumor', 'non_viable_tumor'])
    return w


def _md_rows(text):
    """First Markdown table -> {(model, mode, clf): {column: cell}}."""
    lines = [ln for ln in text.split('\n\n')[1].splitlines()]
    header = [h.strip() for h in lines[0].strip('|').split('|')]
    rows = {}
    for ln in lines[2:]:
        cells = [c.strip() for c in ln.strip('|').split('|')]
        rows[tuple(cells[:3])] = dict(zip(header[3:], cells[3:]))
    return header, rows


def test_table_cells_equal_hand_computation(workdir):
    table = build_table(load_results(paths.results_dir(workdir)))
    text = format_markdown(table)
    header, rows = _md_rows(text)
    assert header == ['model', 'mode', 'clf', 'near 1-shot', 'near 5-shot',
                      'mixture 1-shot', 'mixture 5-shot', 'out_homo 10-shot']
    assert list(rows) == [  # natural model order, linear before latent_aug
        ('clp', 'linear', 'Ridge'),
        ('clp', 'latent_aug', 'logistic_regression'),
        ('clp_wo_7', 'linear', 'Ridge'),
        ('clp_wo_7', 'latent_aug', 'Ridge'),
        ('fsp', 'linear', 'nearest_centroid')]
    assert rows[('clp_wo_7', 'linear', 'Ridge')] == {
        'near 1-shot': '61.23 ± 1.55', 'near 5-shot': '80.00 ± 0.50',
        'mixture 1-shot': '–', 'mixture 5-shot': '–',
        'out_homo 10-shot': '–'}
    assert rows[('clp_wo_7', 'latent_aug', 'Ridge')]['near 1-shot'] == \
        '65.89 ± 1.01'
    assert rows[('clp', 'linear', 'Ridge')]['mixture 5-shot'] == \
        '52.00 ± 4.80'  # MIX_A
    assert rows[('clp', 'latent_aug', 'logistic_regression')][
        'out_homo 10-shot'] == '99.99 ± 0.01'
    # the novel-class table: class 7's mean and CI; the harmonic-mean table
    assert '| clp_wo_7 | linear | Ridge | 42.00 ± 2.00 | 80.00 ± 2.00 |' in text
    # (MIX_A's and MIX_B's harmonic mean and CI, by hand)
    assert '| clp | linear | Ridge | – | 48.00 ± 4.00 |' in text
    assert '| fsp | linear | nearest_centroid | 40.00 ± 4.00 | – |' in text
    cell = table['rows'][2]['cells']['near/1']
    assert cell['mean'] == pytest.approx(0.6123) and cell['num_task'] == 4


def test_one_model_with_several_novel_classes_gets_a_row_each(tmp_path):
    """An encoder of all classes evaluated with every novel class (what
    evaluate_encoder.sh does) has one near-domain result per novel class
    in a cell: a row per novel class, each with its own novel-class F1;
    its other domains stay in the model's row; one novel class stays one
    row (clp_wo_7)."""
    w = str(tmp_path / 'w')
    for c, mean in ((0, 0.6), (1, 0.7), (78, 0.8)):
        per_class = {7: mean, 8: mean, 0: mean - 0.5} if c == 78 else \
            {c: mean - 0.5}
        novel_ci = {7: 0.02, 8: 0.02} if c == 78 else {c: 0.02}
        _write(w, 'uni', 'near', 'linear', 'Ridge', 1, mean, 0.01, NCT,
               novel=c, per_class=per_class, class_ci=novel_ci)
    _write(w, 'uni', 'mixture', 'linear', 'Ridge', 1, 0.5, 0.02, LC)
    _write(w, 'clp_wo_7', 'near', 'linear', 'Ridge', 1, 0.61, 0.01, NCT,
           novel=7)
    table = build_table(load_results(paths.results_dir(w)))
    text = format_markdown(table)
    _, rows = _md_rows(text)
    assert list(rows) == [('clp_wo_7', 'linear', 'Ridge'),
                          ('uni', 'linear', 'Ridge'),
                          ('uni (novel 0)', 'linear', 'Ridge'),
                          ('uni (novel 1)', 'linear', 'Ridge'),
                          ('uni (novel 78)', 'linear', 'Ridge')]
    assert rows[('uni', 'linear', 'Ridge')] == {
        'near 1-shot': '–', 'mixture 1-shot': '50.00 ± 2.00'}
    assert rows[('uni (novel 1)', 'linear', 'Ridge')]['near 1-shot'] == \
        '70.00 ± 1.00'
    # the novel-class table: class 1's F1 in its row; 78: classes 7 and 8
    assert '| uni (novel 1) | linear | Ridge | 20.00 ± 2.00 |' in text
    # (their per-task mean, both classes 0.8 give or take the same
    # deviations: its CI theirs, 2.00)
    assert '| uni (novel 78) | linear | Ridge | 80.00 ± 2.00 |' in text
    assert [r['novel_row'] for r in table['rows']] == [None, None, 0, 1, 78]
    # the plot still draws one curve for the model
    out = summarize(w)
    assert os.path.getsize(out['png']) > 1000


def test_summarize_writes_md_json_png(workdir):
    out = summarize(workdir)
    assert out['md'] == paths.summary_path(workdir, 'md')
    with open(out['md']) as f:
        assert f.read() == out['markdown']
    with open(out['json']) as f:
        table = json.load(f)
    assert table['columns'][0] == {'domain': 'near', 'shots': 1}
    with open(out['png'], 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    from PIL import Image
    with Image.open(out['png']) as im:
        im.verify()
    with Image.open(out['png']) as im:
        assert im.size[0] > 300 and im.size[1] > 200
    # nothing else under summary/ (atomic writes leave no temporary files)
    assert sorted(os.listdir(os.path.dirname(out['md']))) == [
        'summary.json', 'summary.md', 'summary.png']


def test_output_as_a_folder_or_with_an_extension(workdir, tmp_path):
    """--output naming a folder puts the default names in it (it wrote
    '<folder>.md' beside it); one ending in .md is the prefix without it
    (it wrote 'sum.md.md')."""
    folder = tmp_path / 'reports'
    folder.mkdir()
    out = summarize(workdir, output=str(folder))
    assert out['md'] == str(folder / 'summary.md')
    assert sorted(os.listdir(folder)) == ['summary.json', 'summary.md',
                                          'summary.png']
    out = summarize(workdir, output=str(tmp_path / 'sum.md'), clf='Ridge')
    assert (out['md'], out['png']) == (str(tmp_path / 'sum.md'),
                                       str(tmp_path / 'sum.png'))
    out = summarize(workdir, output=str(tmp_path / 'new') + os.sep)
    assert out['json'] == str(tmp_path / 'new' / 'summary.json')
    assert os.path.isfile(out['json'])


def test_duplicates_and_bad_values_are_one_line_errors(workdir, tmp_path):
    dup = os.path.join(paths.results_dir(workdir), 'clp_wo_7', 'copy.json')
    with open(paths.result_path(workdir, 'clp_wo_7', 'near', 'linear',
                                'Ridge', 1, 7)) as f:
        text = f.read()
    with open(dup, 'w') as f:
        f.write(text)
    with pytest.raises(InputError, match='a second result for clp_wo_7'):
        build_table(load_results(paths.results_dir(workdir)))
    os.remove(dup)

    # percent results (an older format) are refused, not misread
    pct = str(tmp_path / 'pct')
    path = _write(pct, 'clp', 'near', 'linear', 'Ridge', 1, 0.6123, 0.0155,
                  NCT)
    with open(path) as f:
        result = json.load(f)
    result['units'] = 'percent'
    with open(path, 'w') as f:
        json.dump(result, f)
    with pytest.raises(InputError, match="units 'percent'"):
        load_results(paths.results_dir(pct))

    # a result that lacks keys, or holds no JSON object: the file and the
    # keys it lacks, one line
    for name, edit, says in (
            ('lacks', lambda r: {k: v for k, v in r.items()
                                 if k not in ('clf', 'average_ci')},
             'result JSON lacks clf, average_ci'),
            ('list', lambda r: [r], 'a result JSON must hold an object')):
        folder = str(tmp_path / name)
        path = _write(folder, 'clp', 'near', 'linear', 'Ridge', 1, 0.6123,
                      0.0155, NCT)
        with open(path) as f:
            result = json.load(f)
        with open(path, 'w') as f:
            json.dump(edit(result), f)
        with pytest.raises(InputError) as refused:
            load_results(paths.results_dir(folder))
        assert str(refused.value) == f'{path}: {says}'

    bad = str(tmp_path / 'bad')
    _edit(_write(bad, 'clp', 'near', 'linear', 'Ridge', 1, 0.612, 0.015,
                 NCT), average_mean=61.2, average_ci=1.5)
    with pytest.raises(InputError, match=r'average_mean = 61.2 is not an F1'):
        load_results(paths.results_dir(bad))


def test_ci_of_few_tasks_above_one_is_read(tmp_path):
    """Over 3 tasks a class's 95% half-width can exceed 1 (t = 4.30): a
    meta-test with --num_task 3 wrote it, and every summary of the workdir
    (every model's table, --compare) was refused, the result named as
    holding no F1 fraction. The bound is the largest half-width of values
    in [0, 1] over that many tasks, so percent values are still caught
    where there are more tasks."""
    from openselfsup.lowshot.metrics import ci_bound, mean_ci
    # the bound by hand: 2 tasks F1 0 and 1: sd 0.7071, t(0.975, 1) 12.706
    assert ci_bound(2) == pytest.approx(12.7062047 * 0.7071068 / 1.4142136)
    assert float(mean_ci(np.array([[0.], [1.]]))[1][0]) == \
        pytest.approx(ci_bound(2))
    # 3 tasks: no even split; F1 0, 0, 1: sd sqrt(1/3), sem 1/3,
    # t(0.975, 2) 4.3027 (not 0.5 / sqrt(2) * t = 1.521, which no three F1
    # values in [0, 1] reach); 5 tasks: 0, 0, 1, 1, 1: sem sqrt(6) / 10,
    # t(0.975, 4) 2.7764
    assert ci_bound(3) == pytest.approx(4.3026527 / 3)
    assert ci_bound(5) == pytest.approx(2.7764451 * 6 ** 0.5 / 10)
    # the largest half-width over every 0/1 vector (the variance is convex,
    # so the largest over [0, 1]^T lies at a corner)
    import itertools
    for num in range(2, 8):
        corners = np.array(list(itertools.product((0., 1.), repeat=num)))
        worst = max(float(mean_ci(c[:, None])[1][0]) for c in corners)
        assert ci_bound(num) == pytest.approx(worst), num
    # the F1 of one class over 3 tasks, by the meta-test's own formula
    per_task = [[0.0, 0.5], [0.0, 0.5], [1.0, 0.5]]
    _, ci = mean_ci(np.array(per_task))
    assert ci[0] > 1 and ci[0] == pytest.approx(ci_bound(3))
    few = str(tmp_path / 'few')
    path = _write(few, 'clp', 'out', 'linear', 'Ridge', 1,
                  float(np.mean(per_task)), None, ['a', 'b'], num_task=3,
                  per_task=per_task)
    with open(path) as f:
        result = json.load(f)
    [read] = load_results(paths.results_dir(few))
    # sd 0.5774 / sqrt(3) * t(0.975, 2) 4.3027
    assert read['per_class_ci'][0] == pytest.approx(
        0.5773503 / 3 ** 0.5 * 4.3026527)
    # above the bound over 3 tasks, and a percent half-width over 1000
    # tasks, are still refused
    result['per_class_ci'][1] = 1.5
    with open(path, 'w') as f:
        json.dump(result, f)
    with pytest.raises(InputError, match=r'per_class_ci\[1\] = 1.5 is not '
                       r'the 95% half-width of F1 fractions over 3 tasks '
                       r'\(in \[0, 1.434\]; run the meta-test again\)$'):
        load_results(paths.results_dir(few))
    pct = str(tmp_path / 'pct')
    _edit(_write(pct, 'clp', 'out', 'linear', 'Ridge', 1, 0.6, 0.015,
                 ['a', 'b'], num_task=1000), average_ci=1.5)
    with pytest.raises(InputError, match=r'average_ci = 1.5 is not an F1 '
                       r'fraction in \[0, 1\] \(run the meta-test again\)$'):
        load_results(paths.results_dir(pct))


def test_cli(workdir, tmp_path, capsys):
    cli = tool_module('wsi_workdir/summarize.py')
    prefix = str(tmp_path / 'out' / 'table')
    assert run_cli(cli.main, ['--workdir', workdir, '--output', prefix,
                              '--clf', 'Ridge']) == 0
    printed = capsys.readouterr().out
    assert '61.23 ± 1.55' in printed
    assert os.path.isfile(prefix + '.png') and os.path.isfile(prefix + '.md')
    assert 'nearest_centroid' not in open(prefix + '.md').read()  # --clf
    # a classifier without results: one line, and nothing written
    before = sorted(os.listdir(os.path.dirname(prefix)))
    assert run_cli(cli.main, ['--workdir', workdir, '--output', prefix + '2',
                              '--clf', 'logistic_regression']) == 0
    capsys.readouterr()
    os.remove(os.path.join(paths.results_dir(workdir), 'clp',
                           'out_homo_latent_aug_logistic_regression_'
                           '10shot.json'))
    assert run_cli(cli.main, ['--workdir', workdir, '--output', prefix + '3',
                              '--clf', 'logistic_regression']) == 2
    assert 'no results for --clf' in capsys.readouterr().err
    assert sorted(os.listdir(os.path.dirname(prefix))) == sorted(
        before + ['table2.md', 'table2.json', 'table2.png'])

    assert run_cli(cli.main, ['--workdir', str(tmp_path / 'empty')]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'no results directory' in err


def test_missing_results_name_the_workdir_nearby(tmp_path, capsys):
    """summarize.py --workdir wsi_workdir/workdir after the quick start
    (which writes wsi_workdir/workdir/demo) said only 'no results
    directory; run distributed_meta_test.py first', though results were
    one folder down; so did a folder inside a workdir (its results/ or
    extracted_feats/); the meta-test's 'holds no features of any model'
    added only '(--workdir?)'. The lines name the workdir(s) nearby; a
    folder with none near is refused as before."""
    from lowshot_data import script_main

    from openselfsup.utils import run_cli
    main = script_main('wsi_workdir/summarize.py')
    top = tmp_path / 'workdir'
    for name in ('demo', 'a', 'b', 'c'):
        (top / name / 'results').mkdir(parents=True)
    (top / 'demo' / 'extracted_feats').mkdir()
    (top / 'plain').mkdir()
    demo = top / 'demo'
    expected = {
        top: f'; workdirs with results in it: a, b, c, ... '
             f'(--workdir {top / "a"}?)',
        demo / 'results': f'; {demo / "results"} lies in the workdir '
                          f'{demo} (--workdir {demo}?)',
        demo / 'extracted_feats': f'; {demo / "extracted_feats"} lies in '
                                  f'the workdir {demo} (--workdir {demo}?)',
        top / 'plain': ''}
    for workdir, hint in expected.items():
        assert run_cli(main, ['--workdir', str(workdir)]) == 2
        err = capsys.readouterr().err.strip()
        assert err == (f'error: {workdir / "results"}: no results '
                       f'directory; run python {REPO}/wsi_workdir/'
                       'distributed_meta_test.py --task TASK --model MODEL '
                       f'--num_shots SHOTS --workdir {workdir} '
                       f'first{hint}'), err
    # the meta-test (and sweep, dictionary) on a workdir without features:
    # the same hint for extracted_feats/ ('(--workdir?)' alone before)
    from openselfsup.lowshot.features import _other_models
    assert _other_models(str(top), 'clp') == (
        f'; {top} holds no features of any model; workdirs with features '
        f'in it: demo (--workdir {demo}?)')
    assert _other_models(str(demo / 'results'), 'clp') == (
        f'; {demo / "results"} holds no features of any model; '
        f'{demo / "results"} lies in the workdir {demo} '
        f'(--workdir {demo}?)')
    assert _other_models(str(top / 'plain'), 'clp') == (
        f'; {top / "plain"} holds no features of any model (--workdir?)')
    # generate_task.py's labels, alike where the workdir has no features
    from openselfsup.lowshot.features import load_labels
    with pytest.raises(InputError) as exc:
        load_labels(str(top), 'NCT_train')
    assert str(exc.value).endswith(
        f'; workdirs with features in it: demo (--workdir {demo}?)')
    with pytest.raises(InputError) as exc:
        load_labels(str(demo), 'NCT_train')
    # the command's own words close the line (DATA_ROOT's, h223)
    assert str(exc.value).endswith(
        'under its data_root data/NCT))'), exc.value


def test_printed_class_table_by_hand():
    """The meta-test's printed table (fractions in, percent out)."""
    text = format_table({'per_class_mean': [0.5, 0.8125],
                         'per_class_ci': [0.01, 0.03], 'average_mean': 0.65625,
                         'average_ci': 0.02, 'harmonic_mean': None},
                        ['ADI', 'TUM'])
    assert text.splitlines() == ['ADI      50.00 1.00', 'TUM      81.25 3.00',
                                 'average  65.62 2.00']
    text = format_table({'per_class_mean': [0.1], 'per_class_ci': [0.02],
                         'average_mean': 0.3, 'average_ci': 0.04,
                         'harmonic_mean': 0.125, 'harmonic_ci': 0.01})
    assert text.splitlines() == ['0        10.00 2.00', 'average  30.00 4.00',
                                 'harmonic 12.50 1.00']


def test_single_task_results_and_pair_novel_class(tmp_path):
    """A one-task result (CI undefined, null) is tabled with its mean only;
    the novel cell of 78 is the per-task mean of classes 7 and 8 with its
    own CI, computed by hand here."""
    w = str(tmp_path / 'w')
    _write(w, 'clp', 'mixture', 'linear', 'Ridge', 1, 0.5, None, LC,
           num_task=1)
    per_task = np.full((3, 9), 0.5)
    per_task[:, 7] = [0.2, 0.4, 0.6]
    per_task[:, 8] = [0.4, 0.4, 0.4]
    _write(w, 'clp_wo_78', 'near', 'linear', 'Ridge', 1,
           float(per_task.mean()), None, NCT, novel=78,
           per_task=per_task.tolist(), num_task=3)
    text = summarize(w)['markdown']
    # (with a 3-task cell beside it, the one-task cell says its count)
    assert '| clp | linear | Ridge | – | 50.00 (1 task) |' in text
    pair = np.array([0.3, 0.4, 0.5])  # mean 0.4, std 0.1
    ci = 4.302652729749464 * 0.1 / np.sqrt(3)
    assert f'| clp_wo_78 | linear | Ridge | {100 * 0.4:.2f} ± ' \
        f'{100 * ci:.2f} |' in text
    assert pair.mean() == pytest.approx(0.4)


def test_a_cell_without_a_ci_written_and_read_back_shows_as_before(
        tmp_path):
    """A one-task result holds NaN CIs where it keeps the summary of its
    F1 as computed (mean_ci's undefined half-width): its result JSON is
    standard JSON (null; jq and JSON.parse refuse NaN), and the table of
    the file shows the mean alone, as the cell of the result in memory
    does; so does summary.json. A result written before, with NaN, is
    read (it was refused as an F1 outside [0, 1]) and shows the same."""
    from _io_helpers import strict_json

    from openselfsup.lowshot.metrics import summarize as summarize_f1
    from openselfsup.lowshot.report import _fmt
    from openselfsup.utils import save_json
    f1 = np.array([[0.5, 0.75, 0.6]])
    s = summarize_f1(f1)
    assert np.isnan(s['average_ci']) and np.isnan(s['per_class_ci']).all()
    classes = ['normal', 'viable_tumor', 'non_viable_tumor']
    result = dict(model='m', task='out_homo', mode='linear', clf='Ridge',
                  num_shots=1, num_task=1, novel_class=None, seed=0,
                  classes=classes, units='fraction', per_task_f1=f1,
                  **{k: s[k] for k in ('per_class_mean', 'per_class_ci',
                                       'average_mean', 'average_ci',
                                       'harmonic_mean', 'harmonic_ci')})
    in_memory = _fmt(result['average_mean'], result['average_ci'])
    assert in_memory == '61.67'  # (0.5 + 0.75 + 0.6) / 3, no CI
    for writer in ('save_json', 'json.dump before'):
        w = str(tmp_path / writer.split()[0])
        path = paths.result_path(w, 'm', 'out_homo', 'linear', 'Ridge', 1)
        if writer == 'save_json':
            save_json(path, result)
            assert strict_json(open(path).read())['average_ci'] is None
        else:
            os.makedirs(os.path.dirname(path))
            with open(path, 'w') as f:
                json.dump({k: v.tolist() if isinstance(v, np.ndarray)
                           else v for k, v in result.items()}, f)
            assert 'NaN' in open(path).read()
        out = summarize(w)
        _, rows = _md_rows(out['markdown'])
        assert rows == {('m', 'linear', 'Ridge'): {
            'out_homo 1-shot': in_memory}}, writer
        cell = strict_json(open(out['json']).read())['rows'][0]['cells'][
            'out_homo/1']
        assert cell['mean'] == pytest.approx(0.6166666) and \
            cell['ci'] is None


def test_results_of_changed_inputs_are_left_out(tmp_path, capsys):
    """A result whose features were extracted again, or whose task store
    was drawn again, since it was computed is left out of the summary with
    a note naming the file, what changed and the command that reruns it
    (which makes it current again); a copied workdir is judged by its own
    files; when every result is out of date the command says so in one
    line and writes nothing."""
    import shutil

    from lowshot_data import make_workdir, script_main
    from openselfsup.lowshot.meta_test import run_meta_test
    from openselfsup.lowshot.spec import RunSpec, TaskSpec
    from openselfsup.lowshot.tasks import generate_task_store
    w = str(tmp_path / 'w')
    make_workdir(w, 'clp')
    specs = [RunSpec('clp', 'near', 1, num_task=6),
             RunSpec('clp', 'mixture', 1, num_task=6, alpha=2.0)]
    for spec in specs:
        generate_task_store(w, spec.tasks)
        run_meta_test(w, spec, progress=False, threads=1)
    main = script_main('wsi_workdir/summarize.py')

    def summary():
        assert run_cli(main, ['--workdir', w]) == 0
        capsys.readouterr()
        with open(paths.summary_path(w, 'json')) as f:
            table = json.load(f)
        with open(paths.summary_path(w, 'md')) as f:
            return table, f.read()

    table, text = summary()
    assert table['left_out'] == [] and 'Left out' not in text
    assert [c['domain'] for c in table['columns']] == ['near', 'mixture']

    # a copy of the workdir, the original's features then changed: the
    # copy's results stay current (judged by the copy's files)
    copy = str(tmp_path / 'copy')
    shutil.copytree(w, copy)
    lc = paths.features_path(w, 'clp', 'LC')
    feats = np.load(lc)
    np.save(lc, feats[::-1].copy())   # LC extracted again (other rows)
    assert run_cli(main, ['--workdir', copy]) == 0
    capsys.readouterr()
    with open(paths.summary_path(copy, 'json')) as f:
        assert json.load(f)['left_out'] == []

    table, text = summary()
    assert [c['domain'] for c in table['columns']] == ['near']
    mixture = specs[1].result_path(w)
    [out] = table['left_out']
    assert out['file'] == mixture and out['changed'] == [lc]
    assert out['command'] == (f'python {REPO}/wsi_workdir/'
                              'distributed_meta_test.py '
                              '--task mixture --num_shots 1 --model clp '
                              f'--num_task 6 --alpha 2.0 --workdir {w}')
    assert f'- {mixture} ({lc} changed): `{out["command"]}`' in text
    # the printed command runs the setting again: current once more
    argv = out['command'].split()[2:] + ['--threads', '1']
    assert run_cli(script_main('wsi_workdir/distributed_meta_test.py'),
                   argv) == 0
    capsys.readouterr()
    table, _ = summary()
    assert table['left_out'] == [] and len(table['columns']) == 2

    # the near-domain store drawn again over it with another seed (by an
    # earlier version, when a store's name did not say its seed): its
    # result is out, the note says where that seed's store goes and how
    # to draw its own seed's again; with the LC features changed again
    # every result is: one line, nothing written
    own = specs[0].tasks.path(w)
    store, _ = generate_task_store(w, TaskSpec('near', 1, 6, seed=1))
    assert store.path != own  # a seed of its own: beside seed 0's
    shutil.copy(store.path, own)
    os.remove(store.path)
    table, text = summary()
    [out] = table['left_out']
    assert out['changed'] == [own]
    assert out['command'] == (f'python {REPO}/wsi_workdir/'
                              'distributed_meta_test.py '
                              '--task near --num_shots 1 --model clp '
                              f'--num_task 6 --workdir {w}')
    draw = (f'python {REPO}/wsi_workdir/tools/generate_task.py --task near '
            f'--num_shots 1 --num_task 6 --workdir {w}')
    assert out['note'] == (
        "its task store now holds tasks of seed 1, under seed 0's name "
        '(written by an earlier version, whose store names did not say the '
        'seed: each seed has a store of its own now): move it to '
        f"{store.path} to keep it for seed 1 and draw seed 0's with "
        f"`{draw}`, or draw seed 0's over it with `{draw} --overwrite`, "
        'then run the command')
    assert out['note'] in text
    np.save(lc, feats)
    os.remove(paths.summary_path(w, 'md'))
    assert run_cli(main, ['--workdir', w]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert 'all 2 results were computed on inputs that have changed' in err
    assert not os.path.exists(paths.summary_path(w, 'md'))


def test_a_removed_report_s_command_names_it_as_run_from_the_root(
        tmp_path, capsys, monkeypatch):
    """h170: a meta-test run from another folder with a relative
    ``--workdir`` (``cd wsi_workdir && python distributed_meta_test.py
    --workdir workdir``), replacing a result that reports had read,
    removed them with the ``summarize.py`` command that writes each
    again, its ``--workdir`` and ``--output`` as given in that folder,
    while it is run from the repository root: there it wrote another
    workdir's report (``'w d'`` split into two words). The reference:
    the printed command read by summarize.py's own parser from another folder
    (``printed_args``), against the workdir and report removed."""
    from lowshot_data import (from_elsewhere, make_workdir, printed_args,
                              script_main)
    from openselfsup.lowshot.meta_test import run_meta_test
    from openselfsup.lowshot.spec import RunSpec
    from openselfsup.lowshot.tasks import generate_task_store
    monkeypatch.chdir(tmp_path)
    w = 'w d'  # relative to the folder the meta-test is run from
    make_workdir(w, 'clp')
    spec = RunSpec('clp', 'mixture', 1, num_task=6)
    generate_task_store(w, spec.tasks)
    run_meta_test(w, spec, progress=False, threads=1)
    main = script_main('wsi_workdir/summarize.py')
    mine = os.path.join(w, 'summary', 'mine')  # --output in the folder
    for argv in (['--workdir', w], ['--workdir', w, '--output', mine]):
        assert run_cli(main, argv) == 0, capsys.readouterr().err
    capsys.readouterr()
    # the report removed with the result it read, replaced by another
    lines = []
    run_meta_test(w, RunSpec('clp', 'mixture', 1, num_task=5),
                  progress=False, threads=1, log=lines.append)
    again = {m.group(1): m.group(2) for m in (re.match(
        r'removed (.+?\.json), .*\(run (.*) again to write them anew\)$',
        line) for line in lines) if m}
    assert set(again) == {paths.summary_path(w, 'json'), f'{mine}.json'}, \
        lines
    for report, command in again.items():
        args = printed_args(command, 'wsi_workdir/summarize.py')
        assert from_elsewhere(args.workdir) == os.path.abspath(w), command
        written = f'{from_elsewhere(args.output)}.json' if args.output else \
            paths.summary_path(from_elsewhere(args.workdir), 'json')
        assert written == os.path.abspath(report), command
    # h180: a report that records no command (written before written_by)
    # was named 'run wsi_workdir/summarize.py (with the --compare that
    # wrote it) again', relative to the root, without --workdir: now the
    # workdir's command, the flags to add said
    assert run_cli(main, ['--workdir', w]) == 0, capsys.readouterr().err
    with open(paths.summary_path(w, 'json')) as f:
        data = json.load(f)
    del data['written_by']
    with open(paths.summary_path(w, 'json'), 'w') as f:
        json.dump(data, f)
    lines = []
    run_meta_test(w, RunSpec('clp', 'mixture', 1, num_task=6),
                  progress=False, threads=1, log=lines.append)
    [command] = [m.group(1) for m in (re.match(
        r'removed .+?\.json, .*\(run (.*) \(with the --compare, --clf, '
        r'--ablation and --output that wrote it\) again to write them '
        r'anew\)$', line) for line in lines) if m]
    args = printed_args(command, 'wsi_workdir/summarize.py')
    assert from_elsewhere(args.workdir) == os.path.abspath(w), command


def test_a_left_out_result_s_commands_name_the_workdir_as_run_from_the_root(
        tmp_path, capsys, monkeypatch):
    """h170: a summary run from another folder with a relative
    ``--workdir`` printed the commands that run its left-out results
    again (``distributed_meta_test.py``, and the ablation's
    ``ablation.py``) with that ``--workdir`` as given, unquoted, while
    they are run from the repository root: there they ran on another
    workdir (``'w d'`` split into two words). The reference: each
    printed command read by its script's own parser from another folder
    (``printed_args``), against the workdir the summary read."""
    from lowshot_data import (from_elsewhere, make_workdir, printed_args,
                              script_main)
    from openselfsup.lowshot.meta_test import run_meta_test
    from openselfsup.lowshot.ablation import rerun_command as \
        ablation_rerun_command
    from openselfsup.lowshot.spec import RunSpec
    from openselfsup.lowshot.tasks import generate_task_store
    monkeypatch.chdir(tmp_path)
    w = 'w d'  # relative to the folder the summary is run from
    make_workdir(w, 'clp')
    main = script_main('wsi_workdir/summarize.py')
    import torch
    for spec in (RunSpec('clp', 'mixture', 1, num_task=6),
                 RunSpec('clp', 'near', 1, num_task=6, novel_class=7)):
        generate_task_store(w, spec.tasks)
        # the mixture result in float32 (review r111: its rerun dropped
        # --float32 and computed it in float64)
        run_meta_test(w, spec, progress=False, threads=1,
                      dtype=torch.float32 if spec.task == 'mixture'
                      else torch.float64)
    # the LC features changed: the result left out, its command given
    lc = paths.features_path(w, 'clp', 'LC')
    np.save(lc, np.load(lc)[::-1].copy())
    assert run_cli(main, ['--workdir', w]) == 0, capsys.readouterr().err
    capsys.readouterr()
    with open(paths.summary_path(w, 'json')) as f:
        [out] = json.load(f)['left_out']
    with open(out['file']) as f:
        result = json.load(f)
    for script, command in (
            ('distributed_meta_test.py', out['command']),
            ('ablation.py', ablation_rerun_command(result, w))):
        args = printed_args(command, f'wsi_workdir/{script}')
        assert from_elsewhere(args.workdir) == os.path.abspath(w), command
        assert args.float32, command


@pytest.mark.parametrize('case', ['seed 0 there', 'own there',
                                  'third seed there', 'a third seed'])
def test_the_note_on_another_seed_s_store_never_drops_a_valid_store(
        tmp_path, capsys, case):
    """A result of an earlier version recorded its store under seed 0's
    name, whatever its seed. A seed-1 result naming seed 0's store, which
    holds seed 0's tasks again (drawn over the seed-1 tasks, as the
    refusal advises), was told to 'delete it (... holds seed 0's)': seed
    0's own, valid store. Each branch of the note, followed: no store in
    its own seed's place is lost (its bytes kept), and the result's
    setting runs again to a current result. Where the store of seed 0's
    name holds seed 1's tasks, a seed-0 run's refusal gives the way out
    the note gives."""
    from lowshot_data import make_workdir, script_main
    from openselfsup.lowshot.meta_test import run_meta_test
    from openselfsup.lowshot.report import current_results, load_results
    from openselfsup.lowshot.spec import RunSpec, TaskSpec
    from openselfsup.lowshot.tasks import generate_task_store
    from openselfsup.utils import save_json
    w = str(tmp_path / 'w')
    make_workdir(w, 'clp')
    own = 2 if case == 'own there' else 1
    spec = RunSpec('clp', 'mixture', 1, num_task=4, task_seed=own)
    seed0, mine = TaskSpec('mixture', 1, 4).path(w), spec.tasks.path(w)
    assert mine != seed0
    generate_task_store(w, spec.tasks)
    run_meta_test(w, spec, progress=False, threads=1)
    with open(spec.result_path(w)) as f:  # as the earlier version wrote it
        result = json.load(f)
    result['files']['task_store']['path'] = seed0
    save_json(spec.result_path(w), result)
    held = 0 if case in ('seed 0 there', 'own there') else 3
    if case == 'third seed there':  # seed 3's own store too, and
        generate_task_store(w, TaskSpec('mixture', 1, 4, seed=held))
    if case != 'own there':
        os.remove(mine)
    # seed 0's name holds seed `held`'s tasks
    drawn = generate_task_store(w, TaskSpec('mixture', 1, 4, seed=held))[0]
    drawn.save(seed0, exclusive=False)
    if case == 'a third seed':  # under seed 0's name alone
        os.remove(TaskSpec('mixture', 1, 4, seed=held).path(w))
    kept = {p: open(p, 'rb').read() for p in glob.glob(f'{w}/tasks/*.npz')}
    _, [item] = current_results(load_results(paths.results_dir(w)), w)
    note = item['note']
    assert note.startswith(f'its task store now holds tasks of seed {held}')
    assert 'delete' not in note, note
    draw = spec.tasks.command(w)
    theirs = TaskSpec('mixture', 1, 4, seed=held).path(w)
    if case == 'seed 0 there':  # the review's: seed 0's store kept
        assert note.endswith(f"{seed0} is seed 0's store, keep it; its "
                             f'seed-1 store is now {mine}: draw it with '
                             f'`{draw}`, then run the command'), note
        assert draw.endswith(f'--seed 1 --workdir {w}')
    elif case == 'own there':
        assert note.endswith(f'its seed-2 store is now {mine}, there '
                             'already: run the command'), note
    elif case == 'third seed there':
        assert f"{theirs} holds seed 3's store; its seed-1" in note, note
    else:
        assert f'move {seed0} to {theirs} to keep it for seed 3; ' in note
        os.rename(seed0, theirs)
        kept[theirs] = kept.pop(seed0)
    if f'draw it with `{draw}`' in note:
        assert run_cli(script_main('wsi_workdir/tools/generate_task.py'),
                       draw.split()[2:]) == 0
    assert run_cli(script_main('wsi_workdir/distributed_meta_test.py'),
                   item['command'].split()[2:] + ['--threads', '1']) == 0
    capsys.readouterr()
    for p, data in kept.items():
        with open(p, 'rb') as f:
            assert f.read() == data, p
    assert current_results(load_results(paths.results_dir(w)), w)[1] == []
    if held:  # a seed-0 run refused with the note's way out
        argv = ['--model', 'clp', '--task', 'mixture', '--num_shots', '1',
                '--num_task', '4', '--workdir', w]
        if case == 'a third seed':
            os.rename(theirs, seed0)
        assert run_cli(script_main('wsi_workdir/distributed_meta_test.py'),
                       argv) == 2
        err = capsys.readouterr().err
        seed0_spec = RunSpec('clp', 'mixture', 1, num_task=4)
        way = ("under seed 0's name (written by an earlier version, whose "
               'store names did not say the seed: each seed has a store of '
               'its own now): ')
        assert f'this store has seed (--task_seed) {held} (asked: 0), ' \
            + way in err, err
        cmd = seed0_spec.tasks.command(w)
        follow = f'{cmd} --overwrite'
        if os.path.exists(theirs):
            assert err.strip().endswith(
                f"{theirs} holds seed {held}'s store; draw seed 0's over it "
                f'with `{cmd} --overwrite`'), err
        else:
            assert err.strip().endswith(
                f'move it to {theirs} to keep it for seed {held} and draw '
                f"seed 0's with `{cmd}`, or draw seed 0's over it with "
                f'`{cmd} --overwrite`'), err
            os.rename(seed0, theirs)  # followed: moved, then drawn
            follow = cmd
        kept = {theirs: open(theirs, 'rb').read()}
        assert run_cli(script_main('wsi_workdir/tools/generate_task.py'),
                       follow.split()[2:]) == 0
        assert run_cli(script_main('wsi_workdir/distributed_meta_test.py'),
                       argv + ['--threads', '1']) == 0
        with open(theirs, 'rb') as f:  # seed 3's store kept
            assert f.read() == kept[theirs]


def test_features_of_the_same_encoder_extracted_again_stay_current(
        tmp_path, capsys):
    """Features extracted again with the same checkpoint differ in their
    last bits (batch size, device): their results stay in the table; the
    provenance naming another checkpoint puts them out. The provenance's
    digest is read, the features are not hashed again. The very bytes a
    result was computed on, their provenance naming another checkpoint (a
    checkpoint file written again, the quick start's backbone.pth after a
    rerun, whose features are the same), were left out too, the line
    naming the features as changed: they stay; other bytes from that
    checkpoint are left out, the line naming the features file."""
    from lowshot_data import make_workdir, script_main
    from openselfsup.lowshot.features import load_features
    from openselfsup.lowshot.meta_test import run_meta_test
    from openselfsup.lowshot.spec import RunSpec
    from openselfsup.lowshot.tasks import generate_task_store
    from openselfsup.utils import array_sha1
    w = str(tmp_path / 'w')
    make_workdir(w, 'clp')
    lc = paths.features_path(w, 'clp', 'LC')

    def extracted(feats, checkpoint_sha, **more):  # what extract.py writes
        np.save(lc, feats)
        with open(paths.provenance_path(w, 'clp', 'LC'), 'w') as f:
            json.dump({'checkpoint': 'ckpt.pth',
                       'checkpoint_sha256': checkpoint_sha,
                       'features_sha1': array_sha1(feats.astype(np.float32)),
                       'normalised': False, 'list_sha1': 'l1',
                       'cfg_options': {'dataset.data_root': 'data/LC'},
                       **more}, f)
    feats = np.load(lc)
    extracted(feats, 'a' * 64)
    spec = RunSpec('clp', 'mixture', 1, num_task=4)
    generate_task_store(w, spec.tasks)
    result = run_meta_test(w, spec, progress=False, threads=1)
    assert json.loads(result['files']['support_features']['extraction'])[
        :2] == [json.dumps(['a' * 64, None, None, None]), 'l1']
    # the same bytes, their provenance naming another checkpoint
    extracted(feats, 'b' * 64)
    out = summarize(w)
    with open(out['json']) as f:
        assert json.load(f)['left_out'] == []
    assert 'Left out' not in out['markdown']
    again = np.nextafter(feats, np.inf)          # one ulp everywhere
    # the same checkpoint and list, the images moved to another folder
    extracted(again, 'a' * 64, cfg_options={'dataset.data_root': '/new'})
    assert load_features(w, 'clp', 'LC').features_sha1 != \
        result['files']['support_features']['sha1']
    out = summarize(w)
    with open(out['json']) as f:
        assert json.load(f)['left_out'] == []
    # the same checkpoint on another list, with another pipeline
    # override, or another checkpoint: out
    for more in ({'list_sha1': 'l2'},
                 {'cfg_options': {'dataset.pipeline.1.scale': 64}},
                 {'checkpoint_sha256': 'b' * 64}):
        extracted(again, **{'checkpoint_sha': 'a' * 64, **more})
        assert run_cli(script_main('wsi_workdir/summarize.py'),
                       ['--workdir', w]) == 2, more
        assert capsys.readouterr().err.strip() == (
            f'error: {paths.results_dir(w)}: all 1 results were computed on '
            f'inputs that have changed since (first: {spec.result_path(w)}, '
            f'{lc} changed); run them again, e.g.: {spec.command(w)}'), more
    # an unreadable task store: out too (it was an AttributeError)
    extracted(again, 'a' * 64)
    with open(spec.tasks.path(w), 'wb') as f:
        f.write(b'not a store')
    assert run_cli(script_main('wsi_workdir/summarize.py'),
                   ['--workdir', w]) == 2
    assert 'tasks/' in capsys.readouterr().err


def test_features_overwritten_under_their_provenance_json_are_left_out(
        tmp_path):
    """The report took the features' digest from the provenance JSON
    beside them: a ``.npy`` overwritten with other features, its JSON left
    alone, kept every result on it current. The digest is of the
    ``.npy``: the result is left out, naming the file."""
    from lowshot_data import (CHECKPOINT_PROVENANCE, make_workdir,
                              write_provenance)
    from openselfsup.lowshot.meta_test import run_meta_test
    from openselfsup.lowshot.report import workdir_results
    from openselfsup.lowshot.spec import RunSpec
    from openselfsup.lowshot.tasks import generate_task_store
    w = str(tmp_path / 'w')
    make_workdir(w, 'clp')
    for name in ('NCT_train', 'NCT_test', 'LC'):
        write_provenance(w, 'clp', name, **CHECKPOINT_PROVENANCE)
    specs = [RunSpec('clp', 'near', 1, num_task=4),
             RunSpec('clp', 'mixture', 1, num_task=4)]
    for spec in specs:
        generate_task_store(w, spec.tasks)
        run_meta_test(w, spec, progress=False, threads=1)
    assert workdir_results(w)[1] == []
    lc = paths.features_path(w, 'clp', 'LC')
    np.save(lc, np.load(lc) * 2)  # other features, the JSON untouched
    current, left_out = workdir_results(w)
    assert [r['task'] for r in current] == ['near']
    assert [(i['file'], i['changed']) for i in left_out] == [
        (specs[1].result_path(w), [lc])]


def test_features_of_other_images_under_the_same_names_are_left_out(
        tmp_path, capsys):
    """Features extracted again with the same checkpoint and list from
    other images under the same names (a dataset regenerated, NCT's
    stain-normalised release for NONORM: the list's digest is the same)
    were taken as the same extraction and their old results kept in the
    table; the provenance's digest of a sample of the images puts them
    out. The same images moved stay current, and a result or a provenance
    written before the digest was recorded is judged without it. (Each
    extraction again writes features of other bytes, one ulp apart:
    features of the very bytes a result was computed on are its features,
    whatever their provenance says.)"""
    from lowshot_data import make_workdir, script_main
    from openselfsup.lowshot.meta_test import run_meta_test
    from openselfsup.lowshot.spec import RunSpec
    from openselfsup.lowshot.tasks import generate_task_store
    from openselfsup.utils import array_sha1
    w = str(tmp_path / 'w')
    make_workdir(w, 'clp')
    lc = paths.features_path(w, 'clp', 'LC')
    feats = np.load(lc)

    def extracted(images, root='data/LC'):  # what extract.py writes
        nonlocal feats
        feats = np.nextafter(feats, np.inf)  # extracted again: other bits
        np.save(lc, feats)
        more = {} if images is None else {'images_sha1': images}
        with open(paths.provenance_path(w, 'clp', 'LC'), 'w') as f:
            json.dump({'checkpoint': 'ckpt.pth',
                       'checkpoint_sha256': 'a' * 64,
                       'features_sha1': array_sha1(feats.astype(np.float32)),
                       'normalised': False, 'list_sha1': 'l1',
                       'cfg_options': {'dataset.data_root': root},
                       **more}, f)

    def left_out():
        rc = run_cli(script_main('wsi_workdir/summarize.py'),
                     ['--workdir', w])
        err = capsys.readouterr().err
        if rc == 2:
            assert 'all 1 results were computed on inputs that have ' \
                'changed' in err, err
            return True
        assert rc == 0, err
        return False

    spec = RunSpec('clp', 'mixture', 1, num_task=4)
    generate_task_store(w, spec.tasks)
    extracted('i0')
    run_meta_test(w, spec, progress=False, threads=1)
    extracted('i0', root='/moved')      # the same images moved
    assert not left_out()
    extracted('i1')                      # other images, the same names
    assert left_out()
    extracted(None)                      # a provenance written before
    assert not left_out()
    # a result written before: judged without the images
    extracted(None)
    run_meta_test(w, spec, progress=False, threads=1)
    extracted('i1')
    assert not left_out()


def _linear_and_latent(tmp_path, task):
    """A workdir ``tmp_path/w`` of model clp (16-d) with a linear and a
    latent_aug Ridge 1-shot result of ``task`` (a sweep of 4 tasks, K = 4,
    M = 30): ``(workdir, [linear spec, latent spec])``."""
    from lowshot_data import make_workdir
    from openselfsup.lowshot.sweep import run_sweep
    from openselfsup.lowshot.sweep_settings import sweep_specs
    w = make_workdir(str(tmp_path / 'w'), 'clp', dim=16)
    specs = sweep_specs('clp', task, shots=[1], clfs=['Ridge'],
                        modes=['linear', 'latent_aug'], num_task=4,
                        num_aug_shots=5, num_prototypes=4,
                        num_shift_vectors=30)
    run_sweep(w, specs, log=None, threads=1)
    return w, specs


def _modes_current_and_left_out(w):
    """The modes of ``w``'s current results and ``(file, changed)`` of
    those left out."""
    from openselfsup.lowshot.report import workdir_results
    current, left_out = workdir_results(w)
    return ([r['mode'] for r in current],
            [(i['file'], i['changed']) for i in left_out])


def test_latent_results_of_changed_base_features_are_left_out(tmp_path):
    """A latent-mode result of the mixture or out domain reads the base
    features (the model's NCT_train) only through its dictionary: with
    NCT_train extracted again and the LC features unchanged, the summary
    kept it as current, though its dictionary (and any rerun's) comes from
    other features. It is left out now, naming NCT_train; the linear
    result of the same settings stays; a result written before the base
    features were recorded is judged by its dictionary's digest of them."""
    w, specs = _linear_and_latent(tmp_path, 'mixture')
    base = paths.features_path(w, 'clp', 'NCT_train')
    feats = np.load(base)
    np.save(base, feats[::-1].copy())    # NCT_train extracted again

    def modes():
        return _modes_current_and_left_out(w)
    latent = specs[1].result_path(w)
    assert modes() == (['linear'], [(latent, [base])])
    # a result written before the base features were recorded
    with open(latent) as f:
        result = json.load(f)
    del result['files']['base_features']
    with open(latent, 'w') as f:
        json.dump(result, f)
    assert modes() == (['linear'], [(latent, [base])])
    np.save(base, feats)                  # back: current again
    assert modes() == (['latent_aug', 'linear'], [])



def test_a_latent_result_of_a_dictionary_made_again_with_another_bank(
        tmp_path, monkeypatch, capsys):
    """r119: a latent_aug result recorded its dictionary's settings and
    base features but not its shift bank, so after the dictionary was made
    again with other draws (``dict_construction.py --overwrite``, as the
    docs advise after c119cc18) the summary showed the result drawn from
    the old bank as current. The other bank here: the same settings, each
    draw negated (the same distribution; the sign LAPACK's eigenvectors
    gave the draws before c119cc18). Left out now, naming the dictionary,
    with the command that runs it again (which makes it current); the
    linear result stays; made again with the same draws it stays current.
    A result written before the digest was recorded is judged by the
    files' times: left out while the dictionary is newer."""
    from lowshot_data import script_main
    from openselfsup.lowshot import dictionary
    from openselfsup.lowshot.report import workdir_results
    w, specs = _linear_and_latent(tmp_path, 'near')
    latent = specs[1].result_path(w)
    dic_spec = specs[1].dictionary
    dic_path = dic_spec.path(w)

    def modes():
        return _modes_current_and_left_out(w)
    assert modes() == (['latent_aug', 'linear'], [])
    # made again the same way: the same bank, still current
    before = np.load(dic_path)['shift_bank']
    dictionary.construct_dictionary(w, dic_spec, replace=True)
    assert np.array_equal(np.load(dic_path)['shift_bank'], before)
    assert modes() == (['latent_aug', 'linear'], [])
    # made again with other draws under the same settings
    draw = dictionary.sample_gaussian
    monkeypatch.setattr(dictionary, 'sample_gaussian',
                        lambda *a: -draw(*a))
    dictionary.construct_dictionary(w, dic_spec, replace=True)
    monkeypatch.undo()
    assert np.array_equal(np.load(dic_path)['shift_bank'], -before)
    assert modes() == (['linear'], [(latent, [dic_path])])
    [item] = workdir_results(w)[1]
    # the printed command runs it again: current once more
    argv = item['command'].split()[2:] + ['--threads', '1']
    assert run_cli(script_main('wsi_workdir/distributed_meta_test.py'),
                   argv) == 0, capsys.readouterr().err
    assert modes() == (['latent_aug', 'linear'], [])
    # a result written before the bank's digest was recorded (none of the
    # parts' digests: those of the prototypes and covariances came later)
    with open(latent) as f:
        result = json.load(f)
    for part in ('prototypes', 'covariances', 'shift_bank'):
        del result['files']['dictionary'][f'{part}_sha1']
    with open(latent, 'w') as f:
        json.dump(result, f)
    t = os.stat(latent).st_mtime_ns
    os.utime(dic_path, ns=(t + 10**9, t + 10**9))  # made again after it
    assert modes() == (['linear'], [(latent, [dic_path])])
    os.utime(dic_path, ns=(t - 10**9, t - 10**9))  # made before it
    assert modes() == (['latent_aug', 'linear'], [])


def _latent_results(tmp_path):
    """A workdir of one near 1-shot Ridge setting run in the linear,
    ``latent_aug`` and ``latent_aug_expected`` modes (one dictionary):
    ``(workdir, dictionary path, {mode: result file}, modes)``, where
    ``modes()`` gives the modes of the current results and those left out
    naming the dictionary, sorted."""
    from openselfsup.lowshot.sweep import run_sweep
    from openselfsup.lowshot.sweep_settings import sweep_specs
    from lowshot_data import make_workdir
    w = make_workdir(str(tmp_path / 'w'), 'clp', dim=16)
    specs = sweep_specs('clp', 'near', shots=[1], clfs=['Ridge'],
                        modes=['linear', 'latent_aug', 'latent_aug_expected'],
                        num_task=4, num_aug_shots=5, num_prototypes=4,
                        num_shift_vectors=30)
    run_sweep(w, specs, log=None, threads=1)
    dic_path = specs[1].dictionary.path(w)
    assert specs[2].dictionary.path(w) == dic_path
    files = {s.mode: s.result_path(w) for s in specs}

    def modes():
        current, left_out = _modes_current_and_left_out(w)
        return sorted(current), sorted(m for m, f in files.items()
                                       if (f, [dic_path]) in left_out)
    return w, dic_path, files, modes


def test_a_latent_result_is_judged_by_the_dictionary_parts_its_mode_reads(
        tmp_path):
    """A latent result recorded its dictionary's shift bank alone, and a
    ``latent_aug_expected`` result (which reads the prototypes and the
    covariances, no bank) nothing of it: a dictionary clustered again
    (its prototypes moved, its bank and covariances kept) left both shown
    as current. Each result now records the digests of the prototypes,
    covariances and bank, and is left out where one its mode reads
    changed (``MODE_READS``): prototypes, both; covariances alone,
    ``latent_aug_expected`` alone; the linear result stays. A result that
    records the bank's digest alone (written before) is judged by it."""
    from openselfsup.lowshot import dictionary
    w, dic_path, files, modes = _latent_results(tmp_path)
    everything = ['latent_aug', 'latent_aug_expected', 'linear']
    assert modes() == (everything, [])
    original = dictionary.load_dictionary(dic_path)

    def rewritten(part, change):
        dic = dictionary.load_dictionary(dic_path)
        setattr(dic, part, change(getattr(dic, part)))
        dic.save(dic_path, exclusive=False)
    # clustered again: the prototypes moved, bank and covariances kept
    rewritten('prototypes', lambda p: p[::-1].copy())
    assert modes() == (['linear'], ['latent_aug', 'latent_aug_expected'])
    # the covariances alone: latent_aug reads none of them
    rewritten('prototypes', lambda p: original.prototypes)
    assert modes() == (everything, [])
    rewritten('covariances', lambda c: 2 * c)
    assert modes() == (['latent_aug', 'linear'], ['latent_aug_expected'])
    # a latent_aug result that records the bank's digest alone: its bank
    # unchanged, the moved prototypes do not judge it (as before)
    rewritten('prototypes', lambda p: p[::-1].copy())
    with open(files['latent_aug']) as f:
        result = json.load(f)
    del result['files']['dictionary']['prototypes_sha1']
    with open(files['latent_aug'], 'w') as f:
        json.dump(result, f)
    assert modes() == (['latent_aug', 'linear'], ['latent_aug_expected'])



def test_latent_results_of_older_records_stay_current_over_the_same_bank(
        tmp_path):
    """Results written before the per-part digests (review r156): one
    that records the shift bank's digest alone (the code from fd3c3e3c to
    8f27996a) was judged by the files' times where its mode reads no bank,
    so a ``latent_aug_expected`` result went out when the dictionary was
    made again with the same settings (``dict_construction.py
    --overwrite``, as the docs advise after c119cc18) or saved again with
    the same bytes. It is judged by the bank's digest for every latent
    mode; one that records no digest keeps its rule: ``latent_aug`` by
    the files' times, ``latent_aug_expected`` current."""
    import subprocess
    import sys
    import time
    from openselfsup.lowshot import dictionary
    w, dic_path, files, modes = _latent_results(tmp_path)
    everything = ['latent_aug', 'latent_aug_expected', 'linear']

    def record(parts):  # as older code wrote them: these digests alone
        for mode in ('latent_aug', 'latent_aug_expected'):
            with open(files[mode]) as f:
                result = json.load(f)
            dic = result['files']['dictionary']
            for part in ('prototypes', 'covariances', 'shift_bank'):
                if part not in parts:
                    dic.pop(f'{part}_sha1', None)
            with open(files[mode], 'w') as f:
                json.dump(result, f)

    def saved_again(change=None):  # a newer file, these parts changed
        time.sleep(0.02)
        dic = dictionary.load_dictionary(dic_path)
        if change:
            dic.shift_bank = change(dic.shift_bank)
        dic.save(dic_path, exclusive=False)

    record(('shift_bank', ))
    assert modes() == (everything, [])
    saved_again()  # the same bytes, written after the results
    assert modes() == (everything, [])
    # made again with the same settings: the same bank
    done = subprocess.run(
        [sys.executable, os.path.join(REPO, 'wsi_workdir',
                                      'dict_construction.py'),
         '--model', 'clp', '--num_prototypes', '4', '--num_shift_vectors',
         '30', '--workdir', w, '--overwrite'],
        capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=REPO))
    assert done.returncode == 0, done.stderr
    assert os.stat(dic_path).st_mtime_ns > os.stat(
        files['latent_aug_expected']).st_mtime_ns
    assert modes() == (everything, [])
    # another bank: the bank's digest judges both
    original = dictionary.load_dictionary(dic_path).shift_bank
    saved_again(lambda b: b[:, ::-1].copy())
    assert modes() == (['linear'], ['latent_aug', 'latent_aug_expected'])
    # no digest: latent_aug by the files' times, latent_aug_expected current
    record(())
    assert modes() == (everything, [])
    saved_again(lambda b: original)
    assert modes() == (['latent_aug_expected', 'linear'], ['latent_aug'])


#: a feature set's provenance with every digest (the extraction tests)
_PROVENANCE = {'checkpoint_sha256': 'a' * 64, 'list_sha1': 'l1',
               'num_samples': 10, 'feature_dim': 8, 'normalised': True,
               'aug_times': 0, 'seed': None, 'images_sha1': 'i0',
               'model_sha1': 'm0', 'pipeline_sha1': 'p0', 'cfg_options': {}}


def _feature_set(provenance, name='LC'):
    """A one-row feature set ``name`` of model clp with ``provenance``."""
    from openselfsup.lowshot.features import FeatureSet
    return FeatureSet('clp', name, np.zeros((1, 8), np.float32),
                      np.zeros(1, np.int64), name + '.npy', 'l.npy', False,
                      provenance)


def test_staleness_and_the_runs_set_check_share_one_rule_of_where():
    """The staleness of results compared the ``dataset.ann_file`` override
    literally (the same list named from another folder or by a relative
    path: its old results left out of the table), while the run's check of
    its sets (check_same_kind) lets where the images are differ. One rule
    now (features.extraction_options): which images decides, by the list's
    and the images' digests; data_root, ann_file and data_prefix do not."""
    from openselfsup.lowshot.features import (_extraction_difference,
                                              provenance_extraction,
                                              same_extraction)
    prov = {**_PROVENANCE, 'cfg_options': {
        'dataset.ann_file': 'meta/LC.txt', 'dataset.data_root': '/a'}}
    moved = {**prov, 'cfg_options': {
        'dataset.ann_file': '/b/meta/LC.txt', 'dataset.data_root': '/b',
        'dataset.data_prefix.img_path': 'imgs'}}
    one = provenance_extraction(prov)
    assert same_extraction(one, provenance_extraction(moved))
    # a result stored before: its ann_file is not compared either
    old = json.dumps(json.loads(provenance_extraction(
        {**prov, 'cfg_options': {}}))[:-3] + [{'dataset.ann_file': 'x.txt'},
                                              'i0'])
    assert same_extraction(old, one) and same_extraction(one, old)
    # other images or another list under the same name are another
    for other in ({'images_sha1': 'i1'}, {'list_sha1': 'l2'}):
        assert not same_extraction(one, provenance_extraction(
            {**moved, **other}))

    fs = _feature_set
    assert _extraction_difference(fs(prov), fs(moved)) is None


def test_the_precision_is_part_of_the_extraction():
    """--amp was not part of what an extraction is: results of float32
    features stayed current after the features were extracted again with
    --amp, and the set check took both together. The precision decides
    now: the provenance's ``precision``, else (files written before it)
    ``amp`` and ``device`` by the rule of then (float16 autocast on CUDA,
    bfloat16 elsewhere), float32 without ``amp``. Float32 identity
    strings are the ones stored before; a stored string without the
    precision is float32."""
    from openselfsup.lowshot.features import (_extraction_difference,
                                              provenance_extraction,
                                              same_extraction)
    prov = dict(_PROVENANCE)
    cpu = {**prov, 'device': 'cpu', 'amp': False}
    before = provenance_extraction(prov)  # no amp key: float32
    assert provenance_extraction(cpu) == before
    assert provenance_extraction({**cpu, 'precision': 'float32'}) == before
    assert json.loads(before)[-1] == {'model_sha1': 'm0',
                                      'pipeline_sha1': 'p0'}
    bf16 = {**cpu, 'amp': True}
    fp16 = {**bf16, 'device': 'cuda:0'}
    for amp in (bf16, {**bf16, 'precision': 'bfloat16'}):
        assert not same_extraction(before, provenance_extraction(amp))
        assert not same_extraction(provenance_extraction(amp), before)
    assert same_extraction(provenance_extraction(bf16), provenance_extraction(
        {**fp16, 'precision': 'bfloat16'}))
    assert not same_extraction(provenance_extraction(bf16),
                               provenance_extraction(fp16))

    fs = _feature_set
    assert _extraction_difference(fs(prov, 'a'), fs(cpu, 'b')) is None
    assert _extraction_difference(fs(bf16, 'a'), fs(
        {**prov, 'precision': 'bfloat16'}, 'b')) is None
    assert _extraction_difference(fs(cpu, 'a'), fs(bf16, 'b')) == (
        'were extracted at other precisions (float32 vs bfloat16: --amp on '
        'one of them); extract both with --amp or both without')
    # the augmented set (its pipeline not compared): the precision is
    assert _extraction_difference(fs(fp16, 'a'), fs(bf16, 'b'),
                                  pipeline=False) == (
        'were extracted at other precisions (float16 vs bfloat16: --amp on '
        'cuda:0 vs cpu); extract both on one kind of device, or both '
        'without --amp')


def test_a_tf32_era_set_beside_a_float32_one_is_refused():
    """Support and queries of one encoder, one extracted in float32 on a
    GPU before TF32 was set aside (recorded without ``tf32: False``: its
    convolutions ran in TF32) and the other without TF32 (a CUDA set of
    now, or the CPU's), were used together without a word. The set check
    names it; two TF32-era sets, two of now, a CUDA set of now beside the
    CPU's (the last bits of a device) and a set recording no device
    (not judged) pass."""
    from openselfsup.lowshot.features import check_same_kind
    from openselfsup.utils import InputError
    fs = _feature_set
    old = {**_PROVENANCE, 'device': 'cuda:0', 'amp': False,
           'precision': 'float32'}
    new, cpu = {**old, 'tf32': False}, {**old, 'device': 'cpu'}
    for other in (new, cpu):
        with pytest.raises(InputError) as exc:
            check_same_kind(fs(old, 'NCT_train'), fs(other, 'NCT_test'))
        assert str(exc.value) == (
            'NCT_train.npy and NCT_test.npy were extracted at other '
            'precisions (float32 with TF32 convolutions on cuda:0 vs '
            f'float32 on {other["device"]}: extracted before tf32 was '
            'recorded, float32 on a GPU is true float32 now); extract the '
            'TF32 one again (wsi_workdir/extract.py --reuse does)')
    with pytest.raises(InputError, match=r'\(float32 on cpu vs float32 '
                       r'with TF32 convolutions on cuda:0: '):
        check_same_kind(fs(cpu, 'NCT_aug'), fs(old, 'NCT_train'),
                        pipeline=False)
    unknown = {k: v for k, v in old.items() if k != 'device'}
    for a, b in ((old, old), (new, new), (new, cpu), (old, unknown),
                 (unknown, new)):
        check_same_kind(fs(a, 'NCT_train'), fs(b, 'NCT_test'))


def test_a_result_of_tf32_era_features_extracted_again_is_left_out(
        tmp_path):
    """A CUDA float32 set recorded without ``tf32: False`` ran cuDNN's
    default TF32 convolutions; extracted again (true float32 now) its
    results were kept as current, the extraction string being the same:
    features of the same extraction, their last bits of another device.
    The string of such a set records ``tf32: true`` now, and a result
    of it is left out once the set is extracted again without TF32. A
    result of a CPU set or of a set recorded with ``tf32: False`` stays
    current (float32 strings as before); a string stored before the
    field (no device) is not judged."""
    from openselfsup.lowshot.features import (provenance_extraction,
                                              same_extraction)
    from openselfsup.lowshot.report import changed_inputs
    from openselfsup.utils import array_sha1
    w = str(tmp_path / 'w')
    lc = paths.features_path(w, 'clp', 'LC')
    os.makedirs(os.path.dirname(lc))
    feats = np.ones((10, 8), np.float32)
    np.save(lc, feats)
    cuda = {**_PROVENANCE, 'device': 'cuda:0', 'amp': False,
            'precision': 'float32'}
    now = {**cuda, 'tf32': False, 'features_sha1': array_sha1(feats)}
    with open(os.path.splitext(lc)[0] + '.json', 'w') as f:
        json.dump(now, f)
    before = provenance_extraction(_PROVENANCE)  # a string stored before

    def result(prov):  # computed on other bytes of LC, by ``prov``
        extraction = provenance_extraction(prov) if prov else before
        return {'files': {'query_features': {
            'path': lc, 'sha1': 'other bytes', 'extraction': extraction}}}

    assert changed_inputs(result(cuda), w) == [(lc, 'features')]
    tf32 = provenance_extraction(cuda)
    assert json.loads(tf32)[-1]['tf32'] is True
    assert not same_extraction(tf32, provenance_extraction(now))
    assert not same_extraction(provenance_extraction(
        {**now, 'device': 'cpu'}), tf32)
    for kept in ({**cuda, 'tf32': False}, {**cuda, 'device': 'cpu'}):
        assert provenance_extraction(kept) == before  # as before
        assert changed_inputs(result(kept), w) == []
    assert changed_inputs(result(None), w) == []


def test_features_of_another_resolved_setting_are_left_out(tmp_path,
                                                           capsys):
    """Staleness is judged by the digests of the resolved model and
    pipeline where the provenance records them: features extracted again
    under another config file (a 64 px crop written in the file) with the
    same --cfg-options were kept as current, and the same setting spelt
    another way (scale=64 vs (64, 64)) was left out. A provenance without
    the digests is judged by the literal overrides, as before. (Each
    extraction again writes features of other bytes, one ulp apart:
    features of the very bytes a result was computed on are its
    features.)"""
    from lowshot_data import make_workdir, script_main
    from openselfsup.lowshot.meta_test import run_meta_test
    from openselfsup.lowshot.spec import RunSpec
    from openselfsup.lowshot.tasks import generate_task_store
    from openselfsup.utils import array_sha1
    w = str(tmp_path / 'w')
    make_workdir(w, 'clp')
    lc = paths.features_path(w, 'clp', 'LC')
    feats = np.load(lc)

    def extracted(scale, **digests):  # what extract.py writes
        nonlocal feats
        feats = np.nextafter(feats, np.inf)  # extracted again: other bits
        np.save(lc, feats)
        with open(paths.provenance_path(w, 'clp', 'LC'), 'w') as f:
            json.dump({'checkpoint': 'ckpt.pth',
                       'checkpoint_sha256': 'a' * 64,
                       'features_sha1': array_sha1(feats.astype(np.float32)),
                       'normalised': False, 'list_sha1': 'l1',
                       'images_sha1': 'i0',
                       'cfg_options': {'dataset.data_root': 'data/LC',
                                       'dataset.pipeline.1.scale': scale},
                       **digests}, f)

    def left_out():
        rc = run_cli(script_main('wsi_workdir/summarize.py'),
                     ['--workdir', w])
        err = capsys.readouterr().err
        assert rc in (0, 2), err
        return rc == 2

    spec = RunSpec('clp', 'mixture', 1, num_task=4)
    generate_task_store(w, spec.tasks)
    extracted(64, model_sha1='m0', pipeline_sha1='p0')
    run_meta_test(w, spec, progress=False, threads=1)
    assert not left_out()
    # the same setting, the crop size spelt as a pair: the same digests
    extracted([64, 64], model_sha1='m0', pipeline_sha1='p0')
    assert not left_out()
    # another config file, the same options: another pipeline or model
    extracted(64, model_sha1='m0', pipeline_sha1='p1')
    assert left_out()
    extracted(64, model_sha1='m1', pipeline_sha1='p0')
    assert left_out()
    # a provenance without the digests: its literal options decide
    extracted(64)
    assert not left_out()
    extracted([64, 64])
    assert left_out()


def test_identity_strings_written_before_the_digests_are_read_as_before():
    """Identity strings stored in results before the model and pipeline
    digests were recorded (with and without the images' digest) are
    compared with today's by the fields they have: the same extraction
    stays the same, another one is another."""
    from openselfsup.lowshot.features import (provenance_extraction,
                                              same_extraction)
    # as results hold them (the encoder a JSON string inside)
    old = ('["[\\"' + 'a' * 64 + '\\", null, null, null]", "l1", 10, 8, '
           'true, 0, null, {"dataset.pipeline.1.scale": 64}]')
    old_images = old[:-1] + ', "i0"]'
    enc = json.dumps(['a' * 64, None, None, None])
    prov = {'checkpoint_sha256': 'a' * 64, 'list_sha1': 'l1',
            'num_samples': 10, 'feature_dim': 8, 'normalised': True,
            'aug_times': 0, 'seed': None, 'images_sha1': 'i0',
            'cfg_options': {'dataset.pipeline.1.scale': 64,
                            'dataset.data_root': '/data'}}
    assert json.loads(old) == [enc, 'l1', 10, 8, True, 0, None,
                               {'dataset.pipeline.1.scale': 64}]
    assert provenance_extraction(prov) == old_images
    assert provenance_extraction({**prov, 'images_sha1': None}) == old
    now = provenance_extraction({**prov, 'model_sha1': 'm0',
                                 'pipeline_sha1': 'p0'})
    for before in (old, old_images):
        assert same_extraction(before, now)
        assert same_extraction(now, before)
        assert same_extraction(before, old_images)
        for other in ({'images_sha1': 'i1'}, {'list_sha1': 'l2'},
                      {'cfg_options': {'dataset.pipeline.1.scale': 32}},
                      {'cfg_options': {'model.backbone.depth': 50,
                                       'dataset.pipeline.1.scale': 64}},
                      {'checkpoint_sha256': 'b' * 64}):
            changed = provenance_extraction({**prov, **other,
                                             'model_sha1': 'm0',
                                             'pipeline_sha1': 'p0'})
            # an images digest only one side has is not compared
            assert same_extraction(before, changed) is (
                before == old and 'images_sha1' in other), other
    # both with the digests: they decide, the other options as before
    assert same_extraction(now, provenance_extraction(
        {**prov, 'model_sha1': 'm0', 'pipeline_sha1': 'p0',
         'cfg_options': {'dataset.pipeline.1.scale': [64, 64]}}))
    for other in ({'model_sha1': 'm1'}, {'pipeline_sha1': 'p1'},
                  {'cfg_options': {'dataset.pipeline.1.scale': 64,
                                   'dataset.with_label': False}}):
        assert not same_extraction(now, provenance_extraction(
            {**prov, 'model_sha1': 'm0', 'pipeline_sha1': 'p0', **other}))
    assert not same_extraction(old, 'not json')
    assert not same_extraction(old, '{"a": 1}')


def test_features_of_another_library_release_are_another_extraction():
    """Features extracted again under another torch / timm release (the
    provenance's ``versions``) counted as the same extraction, so a
    result computed on the old ones stayed fresh. Where both sides record
    the versions they are compared; a string written before they were
    recorded is compared without them, as the other late fields."""
    from openselfsup.lowshot.features import (provenance_extraction,
                                              same_extraction)
    prov = {'checkpoint_sha256': 'a' * 64, 'list_sha1': 'l1',
            'num_samples': 10, 'feature_dim': 8, 'normalised': True,
            'aug_times': 0, 'seed': None, 'images_sha1': 'i0',
            'model_sha1': 'm0', 'pipeline_sha1': 'p0'}
    old = provenance_extraction(prov)
    one, same, other = (provenance_extraction(
        {**prov, 'versions': {'torch': '2.4.1', 'timm': t}})
        for t in ('1.0.3', '1.0.3', '1.0.4'))
    assert one != old and same_extraction(one, same)
    assert not same_extraction(one, other)
    assert not same_extraction(other, one)
    assert same_extraction(old, one) and same_extraction(other, old)
    # a library one side does not record (Pillow, added to a config's
    # record later) is compared as the whole field is: not at all; those
    # both record still are (the result was called stale, every library
    # both record being the same)
    more, newer = (provenance_extraction(
        {**prov, 'versions': {'torch': '2.4.1', 'timm': '1.0.3', 'PIL': p}})
        for p in ('11.0.0', '11.1.0'))
    assert same_extraction(one, more) and same_extraction(more, one)
    assert not same_extraction(more, newer)
    assert not same_extraction(other, more)


def test_interrupted_report_keeps_the_old_table_beside_the_old_numbers(
        tmp_path):
    """Ctrl-C while the plot is written (after the table and JSON) leaves
    the old report whole: summarize.py rerun writes the new one."""
    import os

    from _io_helpers import ctrl_c_when_writing, named
    from openselfsup.lowshot.report import write_report
    out = {ext: str(tmp_path / f'summary.{ext}') for ext in ('md', 'json',
                                                               'png')}
    write_report(out, 'old table', {'n': 1}, b'old png')
    with ctrl_c_when_writing(named('.summary.png')), \
            pytest.raises(KeyboardInterrupt):
        write_report(out, 'new table', {'n': 2}, b'new png')
    assert open(out['md']).read() == 'old table'
    assert sorted(os.listdir(tmp_path)) == ['summary.json', 'summary.md',
                                            'summary.png']
    write_report(out, 'new table', {'n': 2}, b'new png')
    assert open(out['md']).read() == 'new table'


def test_cells_over_another_number_of_tasks_say_so(tmp_path):
    """A 5-task rerun of one setting (sweep --num_task 5 writes the same
    result file as the 30-task run) sat in the table beside 30-task cells
    with nothing to tell them apart but a wider CI: such cells carry their
    task count, and a line under the table says what the others hold."""
    w = str(tmp_path / 'w')
    for shots in (1, 5):
        _write(w, 'clp', 'mixture', 'linear', 'Ridge', shots, num_task=30,
               **MIX_A)
        _write(w, 'clp', 'out', 'linear', 'Ridge', shots, 0.6, 0.02,
               ['normal', 'viable_tumor', 'non_viable_tumor'], num_task=30)
    text = format_markdown(build_table(load_results(paths.results_dir(w))))
    # one count: no cell marked (the tables' cells, MIX_A's and the out
    # results', as written), and one line under the tables names it
    _, rows = _md_rows(text)
    assert rows == {('clp', 'linear', 'Ridge'): {
        'mixture 1-shot': '52.00 ± 4.80', 'mixture 5-shot': '52.00 ± 4.80',
        'out 1-shot': '60.00 ± 2.00', 'out 5-shot': '60.00 ± 2.00'}}, rows
    assert '| clp | linear | Ridge | 48.00 ± 4.00 | 48.00 ± 4.00 |' in text
    assert not re.search(r'\(\d+ tasks?\)', text), text
    assert text.rstrip().split('\n\n')[-1] == \
        'Every cell is over 30 tasks.', text
    _write(w, 'clp', 'mixture', 'linear', 'Ridge', 1, num_task=5, **MIX_A)
    text = format_markdown(build_table(load_results(paths.results_dir(w))))
    _, rows = _md_rows(text)
    assert rows[('clp', 'linear', 'Ridge')] == {
        'mixture 1-shot': '52.00 ± 4.80 (5 tasks)',
        'mixture 5-shot': '52.00 ± 4.80', 'out 1-shot': '60.00 ± 2.00',
        'out 5-shot': '60.00 ± 2.00'}  # MIX_A
    assert '| clp | linear | Ridge | 48.00 ± 4.00 (5 tasks) | ' \
        '48.00 ± 4.00 |' in text  # the harmonic-mean table too
    assert 'the other cells are over 30 tasks each' in text


def test_a_table_of_one_task_count_names_it(tmp_path):
    """Every cell over 5 tasks (a quick run, or a 1000-task sweep's
    results each replaced by a --num_task 5 rerun: the file names carry
    no count): the table said nothing of the count and read as the
    published 1000-task one; a line under it names the count, read from
    the results (a hand count of the files written here)."""
    w = str(tmp_path / 'w')
    for shots in (1, 5):
        _write(w, 'clp', 'mixture', 'linear', 'Ridge', shots, num_task=5,
               **MIX_A)
    text = format_markdown(build_table(load_results(paths.results_dir(w))))
    assert text.rstrip().endswith('Every cell is over 5 tasks.'), text
    assert '(5 tasks)' not in text  # the cells themselves unmarked
    _write(w, 'clp', 'mixture', 'linear', 'Ridge', 1, 0.5, None, LC,
           num_task=1)
    _write(w, 'clp', 'mixture', 'linear', 'Ridge', 5, 0.5, None, LC,
           num_task=1)
    text = format_markdown(build_table(load_results(paths.results_dir(w))))
    assert text.rstrip().endswith('Every cell is over 1 task.'), text


def test_a_result_pairing_a_wo_model_with_another_novel_class_is_refused(
        tmp_path):
    """A clp_wo_7 result of novel class 3 (written before the meta-test
    refused the pair) was summarised without a word: the novel-class
    table showed the F1 of LYM, a class that encoder trained on, as the
    novel one. And a result whose classes are NCT's in another order
    (ADI, BACK, ...) had fsp_wo_0's novel F1 read from label 0, ADI, named
    as BACK. Both are one line; the published pairing and a synthetic
    set's own class names are read as before."""
    w = str(tmp_path / 'w')
    _write(w, 'clp_wo_7', 'near', 'linear', 'Ridge', 1, 0.8, 0.01, NCT,
           novel=7)
    _write(w, 'syn_wo_0', 'near', 'linear', 'Ridge', 1, 0.8, 0.01,
           [f'c{i}' for i in range(9)], novel=0)
    assert len(load_results(paths.results_dir(w))) == 2
    bad = _write(w, 'clp_wo_7', 'near', 'linear', 'Ridge', 5, 0.8, 0.01,
                 NCT, novel=3)
    with pytest.raises(InputError) as exc:
        load_results(paths.results_dir(w))
    assert str(exc.value).startswith(f'{bad}: clp_wo_7 is named as the '
                                     'encoder trained without class 7 (STR)')
    assert 'novel class 3 (LYM)' in str(exc.value)
    os.remove(bad)
    perm = ['ADI', 'BACK'] + NCT[2:]
    bad = _write(w, 'fsp_wo_0', 'near', 'linear', 'Ridge', 1, 0.8, 0.01,
                 perm, novel=0)
    with pytest.raises(InputError) as exc:
        load_results(paths.results_dir(w))
    assert str(exc.value).startswith(f'{bad}: its classes name label 0 ADI, '
                                     'but novel class 0 is BACK'), exc.value
    # held out by a label both orders agree on: read as before
    os.remove(bad)
    _write(w, 'fsp_wo_3', 'near', 'linear', 'Ridge', 1, 0.8, 0.01, perm,
           novel=3)
    assert len(load_results(paths.results_dir(w))) == 3


def test_the_note_of_one_task_cells_says_task(tmp_path):
    """Most cells over one task (a quick --num_task 1 run): the note under
    the table says '1 task', as the cells' own '(1 task)' does."""
    w = str(tmp_path / 'w')
    for shots in (1, 5):
        _write(w, 'clp', 'mixture', 'linear', 'Ridge', shots, 0.5, None, LC,
               num_task=1)
    _write(w, 'clp', 'out', 'linear', 'Ridge', 1, 0.6, 0.02,
           ['normal', 'viable_tumor', 'non_viable_tumor'], num_task=3)
    text = format_markdown(build_table(load_results(paths.results_dir(w))))
    assert '60.00 ± 2.00 (3 tasks)' in text, text
    assert text.rstrip().endswith('the other cells are over 1 task each.'), \
        text


def _plotted(workdir, monkeypatch):
    """The matplotlib figure the summary plot of ``workdir``'s results
    draws (``report.figure_png`` caught before it becomes a PNG)."""
    from openselfsup.lowshot import report
    figs = []
    monkeypatch.setattr(report, 'figure_png',
                        lambda fig: figs.append(fig) or b'png')
    report.plot_table(build_table(load_results(paths.results_dir(workdir))))
    (fig, ) = figs
    return fig


def test_plot_points_over_fewer_models_than_their_curve_say_so(
        tmp_path, monkeypatch):
    """clp_wo_3 and clp_wo_7 at 1 shot, clp_wo_7 alone at 5: the curve's
    1-shot point is the mean of two models (50), its 5-shot point one model
    (85); the +35 step was drawn as the effect of shots. The 5-shot point
    is now labelled '1 of 2' and a note under the legend says what that
    means; a curve whose points share their models carries no label."""
    w = str(tmp_path / 'w')
    _write(w, 'clp_wo_7', 'near', 'linear', 'Ridge', 1, 0.8, 0.01, NCT,
           novel=7)
    _write(w, 'clp_wo_7', 'near', 'linear', 'Ridge', 5, 0.85, 0.01, NCT,
           novel=7)
    _write(w, 'clp_wo_3', 'near', 'linear', 'Ridge', 1, 0.2, 0.01, NCT,
           novel=3)
    _write(w, 'clp', 'mixture', 'linear', 'Ridge', 1, 0.9, 0.01, LC)
    _write(w, 'clp', 'mixture', 'linear', 'Ridge', 5, 0.95, 0.01, LC)
    fig = _plotted(w, monkeypatch)
    near, mixture = fig.axes[:2]
    line = near.get_lines()[0]
    assert list(line.get_xdata()) == [1, 5]
    assert list(line.get_ydata()) == pytest.approx([50.0, 85.0])
    labels = [(t.get_text(), t.xy) for t in near.texts]
    assert labels == [('1 of 2', (5, pytest.approx(85.0)))]
    assert list(mixture.texts) == []
    assert any('"n of N"' in t.get_text() for t in fig.texts)


def test_a_plot_of_runs_over_different_task_counts_says_so(
        tmp_path, monkeypatch):
    """clp_wo_3 over 5 tasks and clp_wo_7 over 30: the near point of the
    clp_wo_* curve averaged the two without a word under the plot (the
    table marks the cell); a note under the legend names the counts. A
    plot of one count has no such note."""
    w = str(tmp_path / 'w')
    _write(w, 'clp_wo_7', 'near', 'linear', 'Ridge', 1, 0.8, 0.01, NCT,
           novel=7, num_task=30)
    _write(w, 'clp_wo_3', 'near', 'linear', 'Ridge', 1, 0.2, 0.01, NCT,
           novel=3, num_task=30)
    fig = _plotted(w, monkeypatch)
    assert not any('numbers of tasks' in t.get_text() for t in fig.texts)
    _write(w, 'clp_wo_3', 'near', 'linear', 'Ridge', 1, 0.2, 0.01, NCT,
           novel=3, num_task=5)
    fig = _plotted(w, monkeypatch)
    notes = [t.get_text() for t in fig.texts if 'numbers of tasks' in
             t.get_text()]
    assert len(notes) == 1 and '(5, 30)' in notes[0], notes


def _set_recorded(path, section, **values):
    """A result JSON's ``section`` given ``values``: what a meta-test with
    or without --float32 records (``execution``, ``dtype``), what it
    records of its features' L2-normalisation (``files``,
    ``normalised``)."""
    with open(path) as f:
        result = json.load(f)
    result[section] = dict(result.get(section) or {}, **values)
    with open(path, 'w') as f:
        json.dump(result, f)


def _set_dtype(path, dtype):
    _set_recorded(path, 'execution', dtype=dtype)


def test_cells_computed_in_float32_say_so(tmp_path):
    """A setting run again with --float32 replaces its float64 result; the
    cell sat beside float64 cells with nothing to say so: it carries
    '(float32)' (after a task count where both apply) and a line under the
    tables says what that means; results recording float64 or no dtype
    are not marked."""
    w = str(tmp_path / 'w')
    for shots in (1, 5, 10):
        path = _write(w, 'clp', 'mixture', 'linear', 'Ridge', shots,
                      num_task=30, **MIX_A)
        if shots == 5:
            _set_dtype(path, 'float64')
    _set_dtype(_write(w, 'fsp', 'mixture', 'linear', 'Ridge', 1, num_task=5,
                      **MIX_B), 'float32')
    text = format_markdown(build_table(load_results(paths.results_dir(w))))
    _, rows = _md_rows(text)
    assert rows[('clp', 'linear', 'Ridge')] == {
        'mixture 1-shot': '52.00 ± 4.80', 'mixture 5-shot': '52.00 ± 4.80',
        'mixture 10-shot': '52.00 ± 4.80'}  # MIX_A
    assert rows[('fsp', 'linear', 'Ridge')]['mixture 1-shot'] == \
        '48.00 ± 4.20 (5 tasks, float32)'  # MIX_B
    assert '| fsp | linear | Ridge | 40.00 ± 4.00 (5 tasks, float32) |' \
        in text  # the harmonic-mean table too
    assert 'Marked float32: computed with --float32' in text


def _set_normalised(path, normalised):
    _set_recorded(path, 'files', normalised=normalised)


def test_cells_on_raw_features_say_so(tmp_path):
    """A summary mixing models on L2-normalised and on raw features showed
    them side by side unmarked: a raw cell carries '(raw)' (after the
    float32 mark where both apply, in every table) and a line under the
    tables says what that means; normalised or unrecording results are
    not marked."""
    w = str(tmp_path / 'w')
    _set_normalised(_write(w, 'clp', 'mixture', 'linear', 'Ridge', 1,
                           **MIX_A), True)
    _write(w, 'clp', 'mixture', 'linear', 'Ridge', 5, **MIX_A)
    raw = _write(w, 'fsp', 'mixture', 'linear', 'Ridge', 1, **MIX_B)
    _set_normalised(raw, False)
    _set_dtype(raw, 'float32')
    _set_normalised(_write(w, 'fsp', 'mixture', 'linear', 'Ridge', 5,
                           **MIX_B), False)
    text = format_markdown(build_table(load_results(paths.results_dir(w))))
    _, rows = _md_rows(text)
    assert rows[('clp', 'linear', 'Ridge')] == {
        'mixture 1-shot': '52.00 ± 4.80', 'mixture 5-shot': '52.00 ± 4.80'}
    assert rows[('fsp', 'linear', 'Ridge')] == {  # MIX_B
        'mixture 1-shot': '48.00 ± 4.20 (float32, raw)',
        'mixture 5-shot': '48.00 ± 4.20 (raw)'}
    assert '| fsp | linear | Ridge | 40.00 ± 4.00 (float32, raw) | ' \
        '40.00 ± 4.00 (raw) |' in text  # the harmonic-mean table too
    assert text.count('Marked raw: computed on features that were not '
                      'L2-normalised') == 1
    for r in (raw, paths.result_path(w, 'fsp', 'mixture', 'linear', 'Ridge',
                                     5, None)):
        _set_normalised(r, True)  # no raw result left: no mark, no line
    text = format_markdown(build_table(load_results(paths.results_dir(w))))
    assert 'raw' not in text


def test_a_result_whose_per_task_f1_disagree_with_its_mean_is_refused(
        tmp_path):
    """The table shows a result's average_mean, --compare pairs its
    per_task_f1: a file edited by hand (average_mean 0.5, its 4 tasks at
    0.9) was tabled at 50.00 while --compare printed 90.00 for it, neither
    saying so. Such a file, and one whose per_task_f1 is not [num_task,
    classes] (rows cut off), is refused in one line naming it; a result
    without per_task_f1 (older) is read as before."""
    w = str(tmp_path / 'w')
    path = _write(w, 'clp', 'mixture', 'linear', 'Ridge', 1, 0.9, None, LC,
                  per_task=np.full((4, 5), 0.9).tolist())
    assert load_results(paths.results_dir(w))[0]['average_mean'] == 0.9
    with open(path) as f:
        result = json.load(f)
    with open(path, 'w') as f:
        json.dump(dict(result, average_mean=0.5), f)
    with pytest.raises(InputError, match=r'^\S+clp/mixture_linear_Ridge_'
                       r'1shot.json: average_mean = 0.5 but its per_task_f1 '
                       r'average 0.9; the file was edited or written by '
                       r'other code \(run the meta-test again\)$'):
        load_results(paths.results_dir(w))
    with open(path, 'w') as f:
        json.dump(dict(result, per_task_f1=result['per_task_f1'][:3]), f)
    with pytest.raises(InputError, match=r'per_task_f1 is not \[num_task, '
                       r'classes\] = \[4, 5\]'):
        load_results(paths.results_dir(w))
    with open(path, 'w') as f:
        json.dump(dict(result, average_mean=0.5, per_task_f1=None), f)
    assert load_results(paths.results_dir(w))[0]['average_mean'] == 0.5


def test_class_means_or_cis_unlike_its_tasks_are_refused(
        tmp_path):
    """A novel class's cell shows the result's per_class_mean and
    per_class_ci, and nothing held them to its per_task_f1 as
    average_mean is: a file with two classes' entries swapped (class 7 at
    0.9 instead of 0.42; the mean over classes, average_mean, unchanged)
    was tabled as class 7 at 90.00, its tasks at 42. Such a file, one
    with a CI edited, one holding a CI for one task (undefined), or fewer
    class entries than per_task_f1 columns, is refused in one line naming
    the entry and both numbers; a result without per_task_f1 (older) is
    read as before."""
    w = str(tmp_path / 'w')
    path = _write(w, 'clp_wo_7', 'near', 'linear', 'Ridge', 1, 0.6, 0.02,
                  NCT, novel=7, per_class={7: 0.42, 0: 0.9})
    [read] = load_results(paths.results_dir(w))
    # by hand: class 0 at 0.9, class 7 at 0.42, the 7 others at
    # (9 * 0.6 - 1.32) / 7 = 0.582857; each column's half-width 0.02
    assert read['per_class_mean'][7] == pytest.approx(0.42)
    assert read['per_class_mean'][1] == pytest.approx(4.08 / 7)
    assert read['per_class_ci'] == pytest.approx([0.02] * 9)
    with open(path) as f:
        result = json.load(f)
    swapped = list(result['per_class_mean'])
    swapped[0], swapped[7] = swapped[7], swapped[0]
    assert np.mean(swapped) == pytest.approx(result['average_mean'])
    one = _write(str(tmp_path / 'one'), 'clp', 'near', 'linear', 'Ridge', 1,
                 0.6, None, NCT, num_task=1)
    with open(one) as f:
        single = json.load(f)
    for edit, where, match in (
            (dict(result, per_class_mean=swapped), path,
             r'per_class_mean\[0\] = 0.42 but the mean of its per_task_f1 '
             r'column is 0.9; the file was edited or written by other code '
             r'\(run the meta-test again\)$'),
            (dict(result, per_class_ci=[0.02] * 8 + [0.05]), path,
             r'per_class_ci\[8\] = 0.05 but the 95% CI of its per_task_f1 '
             r'column is 0.02;'),
            (dict(result, per_class_mean=result['per_class_mean'][:8],
                  per_class_ci=result['per_class_ci'][:8]), path,
             r'per_class_mean and per_class_ci hold 8 and 8 values for 9 '
             r'classes \(run the meta-test again\)$'),
            (dict(single, per_class_ci=[0.02] * 9), one,
             r'per_class_ci\[0\] = 0.02 but the 95% CI of its per_task_f1 '
             r'column is undefined \(one task\);')):
        with open(where, 'w') as f:
            json.dump(edit, f)
        with pytest.raises(InputError, match=r'^\S+\.json: ' + match) as info:
            load_results(os.path.dirname(os.path.dirname(where)))
        assert len(str(info.value).splitlines()) == 1
        with open(where, 'w') as f:
            json.dump(result if where == path else single, f)
    with open(path, 'w') as f:
        json.dump(dict(result, per_class_mean=swapped, per_task_f1=None), f)
    [read] = load_results(paths.results_dir(w))
    assert read['per_class_mean'][7] == pytest.approx(0.9)


def test_summary_fields_unlike_its_tasks_are_refused(tmp_path):
    """A cell's ± is the result's average_ci and a mixture cell of the
    harmonic-mean table its harmonic_mean ± harmonic_ci, and nothing held
    them (nor colon / lung mean and CI) to its per_task_f1 as average_mean
    is: a mixture file whose harmonic_mean was overwritten by its
    average_mean (0.52, its tasks' harmonic mean 0.48) was tabled at 52.00.
    Each such field that disagrees with metrics.summarize of the tasks,
    a harmonic mean in a result of another domain (summarize gives none),
    a CI over one task and a mixture result of other than 5 classes are
    refused in one line naming the file and the field; a field the file
    lacks, and a file without per_task_f1 (older), are read as before."""
    w = str(tmp_path / 'w')
    path = _write(w, 'clp', 'mixture', 'linear', 'Ridge', 1, **MIX_A)
    [read] = load_results(paths.results_dir(w))
    # by hand (MIX_A): colon 0.4, lung 0.6, harmonic 0.48; CIs colon 0.03,
    # lung 0.06, average (2 * 0.03 + 3 * 0.06) / 5, harmonic 0.04
    assert [read[k] for k in ('colon_mean', 'lung_mean', 'harmonic_mean',
                              'colon_ci', 'lung_ci', 'average_ci',
                              'harmonic_ci')] == pytest.approx(
        [0.4, 0.6, 0.48, 0.03, 0.06, 0.048, 0.04])
    text = format_markdown(build_table([read]))
    assert '| clp | linear | Ridge | 48.00 ± 4.00 |' in text
    near = _write(str(tmp_path / 'near'), 'clp', 'near', 'linear', 'Ridge', 1,
                  0.6, 0.02, NCT)
    one = _write(str(tmp_path / 'one'), 'clp', 'mixture', 'linear', 'Ridge',
                 1, 0.6, None, LC, num_task=1)
    three = _write(str(tmp_path / 'three'), 'clp', 'out', 'linear', 'Ridge',
                   1, 0.6, 0.02, LC[:3])
    is_by = 'but the mean of its per_task_f1'
    for where, edit, match in (
            (path, dict(harmonic_mean=0.52), r'harmonic_mean = 0.52 but the '
             r'harmonic mean of its colon and lung means is 0.48; the file '
             r'was edited or written by other code \(run the meta-test '
             r'again\)$'),
            (path, dict(harmonic_ci=0.048), r'harmonic_ci = 0.048 but the '
             r'harmonic mean of its colon and lung CIs is 0.04;'),
            (path, dict(average_ci=0.04), r"average_ci = 0.04 but the mean "
             r"of its per_task_f1 columns' 95% CIs is 0.048;"),
            (path, dict(colon_mean=0.6, lung_mean=0.4),
             rf'colon_mean = 0.6 {is_by} colon columns is 0.4;'),
            (path, dict(lung_mean=0.4), rf'lung_mean = 0.4 {is_by} lung '
             r'columns is 0.6;'),
            (path, dict(colon_ci=None), rf"colon_ci = None {is_by} colon "
             r"columns' 95% CIs is 0.03;"),
            (path, dict(lung_ci='0.06'), rf"lung_ci = '0.06' {is_by} lung "
             r"columns' 95% CIs is 0.06;"),
            (near, dict(harmonic_mean=0.45), r'harmonic_mean = 0.45 but a '
             r'near result has none \(mixture domain only\); the file was'),
            (one, dict(harmonic_ci=0.02), r'harmonic_ci = 0.02 but the '
             r'harmonic mean of its colon and lung CIs is undefined \(one '
             r'task\);'),
            (three, dict(task='mixture'), r'a mixture-domain result has 5 '
             r'classes \(colon and lung\), its per_task_f1 3 \(run the '
             r'meta-test again\)$')):
        before = _edit(where, **edit)
        with pytest.raises(InputError, match=r'^\S+\.json: ' + match) as info:
            load_results(os.path.dirname(os.path.dirname(where)))
        assert len(str(info.value).splitlines()) == 1
        _edit(where, **before)
    # older files: without the colon and lung fields, or without per-task F1
    result = _edit(path)
    del result['colon_mean'], result['lung_ci']
    with open(path, 'w') as f:
        json.dump(result, f)
    assert 'colon_mean' not in load_results(paths.results_dir(w))[0]
    _edit(path, harmonic_mean=0.52, per_task_f1=None)
    [read] = load_results(paths.results_dir(w))
    assert read['harmonic_mean'] == 0.52


def test_a_result_with_nan_or_non_fraction_f1_is_refused(tmp_path):
    """A result whose per_task_f1 holds NaN (the meta-test never writes
    one: F1 is 0 where undefined) or a value outside [0, 1], or whose
    average_mean / per_class_mean is NaN or null (a CI may be undefined,
    a mean over tasks never), was read: the table printed '– ± 10.00',
    --compare printed '+nan' with 2 of 3 tasks counted as better / tied /
    worse and left the setting out of Holm's m (the other settings'
    adjusted p smaller). Each is now refused in one line naming the
    file."""
    w = str(tmp_path / 'w')
    good = np.full((3, 5), 0.6)
    path = _write(w, 'clp', 'mixture', 'linear', 'Ridge', 1, 0.6, None, LC,
                  per_task=good.tolist(), num_task=3)
    with open(path) as f:
        result = json.load(f)
    assert load_results(paths.results_dir(w))[0]['average_mean'] == 0.6
    nan = good.copy()
    nan[1] = float('nan')
    over = good.copy()
    over[0, 0], over[0, 1] = 1.2, 0.0  # the mean stays 0.6
    for edit, match in (
            (dict(per_task_f1=nan.tolist()),
             r'per_task_f1\[1\]\[0\] = nan is not an F1 fraction in \[0, 1\]'),
            (dict(per_task_f1=over.tolist()),
             r'per_task_f1\[0\]\[0\] = 1.2 is not an F1 fraction in \[0, 1\]'),
            (dict(average_mean=float('nan')),
             r'average_mean = nan is not an F1 fraction in \[0, 1\]'),
            (dict(average_mean=None, per_task_f1=None),
             r'average_mean = None is not an F1 fraction in \[0, 1\]'),
            (dict(per_class_mean=[0.6, None, 0.6, 0.6, 0.6]),
             r'per_class_mean\[1\] = None is not an F1 fraction')):
        with open(path, 'w') as f:
            json.dump(dict(result, **edit), f)
        with pytest.raises(InputError, match=r'^\S+clp/mixture_linear_Ridge_'
                           r'1shot.json: ' + match) as info:
            load_results(paths.results_dir(w))
        assert len(str(info.value).splitlines()) == 1


def test_the_table_says_its_ci_is_the_mean_of_the_class_cis(tmp_path):
    """Two classes that trade places task by task (0.2 / 0.8, then 0.8 /
    0.2) and a third at 0.5: every task's class-averaged F1 is 0.5, so
    the CI of that average is 0, while each swapping class has the
    half-width t_{0.975,3} * 0.3464 / 2 = 0.5513 and the published average
    row (the mean of the class half-widths) is 0.3675. The table prints
    that number (the published rule) under a header that said 'mean ± 95%
    CI over tasks'; it now says which CI it is; the JSON names it too."""
    from scipy import stats
    from openselfsup.lowshot.metrics import summarize as class_summary
    w = str(tmp_path / 'w')
    f1 = np.array([[0.2, 0.8, 0.5], [0.8, 0.2, 0.5]] * 2)
    s = class_summary(f1)
    half = stats.t.ppf(0.975, 3) * np.std([0.2, 0.8] * 2, ddof=1) / 2
    assert s['average_ci'] == pytest.approx(2 * half / 3)  # 0.3675
    _write(w, 'clp', 'out', 'linear', 'Ridge', 1, s['average_mean'],
           s['average_ci'], ['normal', 'viable', 'non_viable'],
           per_task=f1.tolist())
    table = build_table(load_results(paths.results_dir(w)))
    text = format_markdown(table)
    assert text.startswith(
        '### F1 (%), average over classes: mean over tasks ± the mean of '
        'the per-class 95% CIs (the published average row; not the CI of '
        'the class-averaged task F1)\n'), text
    _, rows = _md_rows(text)
    assert rows[('clp', 'linear', 'Ridge')] == {'out 1-shot': '50.00 ± 36.75'}
    assert table['ci'].startswith('mean over tasks ± the mean of the '
                                  'per-class 95% CIs')


def test_an_all_classes_encoder_is_not_averaged_with_its_held_out_ones(
        tmp_path, monkeypatch):
    """clp (trained on every class, 90 on novel class 7's tasks: it has
    seen STR) and clp_wo_7 (30) and clp_wo_3 (50) in the near-domain
    panel were one curve, 'clp', whose point was (90 + 30 + 50) / 3 = 56.7,
    unmarked: neither the paper's near-domain result (the mean over the
    wo_<c> encoders, 40) nor the encoder's own. They are two curves now:
    'clp_wo_*' at 40 (circles) and 'clp (novel 7)' (the table's row) at 90
    (squares), one colour.
    The two differed only by a size-3 marker, hard to tell apart: the
    all-classes curve's squares are open (white inside), the held-out
    curve's circles filled with the colour."""
    w = str(tmp_path / 'w')
    _write(w, 'clp', 'near', 'linear', 'Ridge', 1, 0.9, 0.01, NCT, novel=7)
    _write(w, 'clp_wo_7', 'near', 'linear', 'Ridge', 1, 0.3, 0.01, NCT,
           novel=7)
    _write(w, 'clp_wo_3', 'near', 'linear', 'Ridge', 1, 0.5, 0.01, NCT,
           novel=3)
    fig = _plotted(w, monkeypatch)
    (near, ) = fig.axes
    curves = {c.get_label(): c for c in near.containers}
    assert sorted(curves) == ['clp (novel 7) linear', 'clp_wo_* linear']
    wo, plain = curves['clp_wo_* linear'][0], \
        curves['clp (novel 7) linear'][0]
    assert list(wo.get_ydata()) == pytest.approx([40.0])
    assert list(plain.get_ydata()) == pytest.approx([90.0])
    assert (wo.get_marker(), plain.get_marker()) == ('o', 's')
    assert wo.get_color() == plain.get_color()
    assert wo.get_linestyle() == plain.get_linestyle()  # the mode's
    from matplotlib.colors import to_rgba
    assert to_rgba(plain.get_markerfacecolor()) == to_rgba('white')
    assert to_rgba(wo.get_markerfacecolor()) == to_rgba(wo.get_color())
    assert list(near.texts) == []  # the same models at every shot count


def test_an_all_classes_model_has_a_curve_per_table_row(tmp_path,
                                                         monkeypatch):
    """uni (an encoder of all classes) run on the near domain without a
    novel class (90) and with novel classes 3 (50) and 5 (30): the table
    has a row of each, 'uni', 'uni (novel 3)', 'uni (novel 5)'; the plot
    drew 'uni' as the mean of the novel-class rows (40) and 'uni (no novel
    class)' (90), names the table has not, one of them the name of
    another table row. Each row is now a curve under the row's name: the
    legend's labels are the table's model column (parsed from the
    Markdown), each point its row's cell."""
    w = str(tmp_path / 'w')
    _write(w, 'uni', 'near', 'linear', 'Ridge', 1, 0.9, 0.01, NCT)
    _write(w, 'uni', 'near', 'linear', 'Ridge', 1, 0.5, 0.01, NCT, novel=3)
    _write(w, 'uni', 'near', 'linear', 'Ridge', 1, 0.3, 0.01, NCT, novel=5)
    _write(w, 'uni', 'near', 'linear', 'Ridge', 5, 0.6, 0.01, NCT, novel=3)
    _, rows = _md_rows(format_markdown(build_table(load_results(
        paths.results_dir(w)))))
    fig = _plotted(w, monkeypatch)
    (near, ) = fig.axes
    curves = {c.get_label(): c[0] for c in near.containers}
    assert sorted(curves) == sorted(f'{model} {mode}'
                                    for model, mode, _ in rows)
    for (model, mode, _), cells in rows.items():
        line = curves[f'{model} {mode}']
        shots = [int(k.split()[1].split('-')[0]) for k, v in cells.items()
                 if v != '–']
        assert list(line.get_xdata()) == shots
        assert list(line.get_ydata()) == pytest.approx(
            [float(cells[f'near {n}-shot'].split()[0]) for n in shots])
        assert line.get_marker() == 's'
    assert list(near.texts) == []  # no curve averages rows
    notes = ' '.join(t.get_text() for t in fig.texts)
    assert 'novel-class runs' not in notes


def test_the_plot_names_the_quick_start_runs_as_the_table_does(
        tmp_path, monkeypatch):
    """The quick start's runs (clp and random, no novel class, on the
    near, mixture and out domains) and a run of clp with NOVEL=7: the
    table has the rows 'clp', 'clp (novel 7)' and 'random'; the plot's
    legend had 'random linear' and 'random (no novel class) linear' for
    the one row 'random', 'clp (no novel class)' in the near panel for the
    row 'clp' that is 'clp linear' in the others, and 'clp linear' in the
    near panel for the row 'clp (novel 7)'. Each panel's curves are now
    the table rows (its Markdown model column) with a cell in its domain,
    the legend the table's rows, each point its row's cell."""
    w = str(tmp_path / 'w')
    paip = ['normal', 'viable', 'non_viable']
    for model, near, mix, out in (('clp', 0.4, 0.42, 0.6),
                                  ('random', 0.24, 0.32, 0.47)):
        _write(w, model, 'near', 'linear', 'Ridge', 1, near, 0.01, NCT)
        _write(w, model, 'mixture', 'linear', 'Ridge', 1, mix, 0.01, LC)
        _write(w, model, 'out', 'linear', 'Ridge', 1, out, 0.01, paip)
    _write(w, 'clp', 'near', 'linear', 'Ridge', 1, 0.7, 0.01, NCT, novel=7)
    _, rows = _md_rows(format_markdown(build_table(load_results(
        paths.results_dir(w)))))
    assert sorted(m for m, _, _ in rows) == ['clp', 'clp (novel 7)',
                                             'random']
    fig = _plotted(w, monkeypatch)
    for ax, domain in zip(fig.axes, ('near', 'mixture', 'out')):
        curves = {c.get_label(): c[0] for c in ax.containers}
        want = {f'{model} {mode}': float(cells[f'{domain} 1-shot'].split()[0])
                for (model, mode, _), cells in rows.items()
                if cells[f'{domain} 1-shot'] != '–'}
        assert {k: list(v.get_ydata()) for k, v in curves.items()} == {
            k: [pytest.approx(v)] for k, v in want.items()}, domain
    (legend, ) = fig.legends
    assert sorted(t.get_text() for t in legend.get_texts()) == sorted(
        f'{model} {mode}' for model, mode, _ in rows)


def test_near_runs_without_a_novel_class_are_their_curve_alone(
        tmp_path, monkeypatch):
    """Near-domain runs without a novel class were a curve of their own
    only where the same curve also had novel-class runs: clp_wo_3 and
    clp_wo_7 run without one (70 and 90) were the curve 'clp_wo_*' at
    their mean (80), under the note that a near point is 'the mean over
    the curve's novel-class runs (ICLR-22)', and fsp's no-novel run (60)
    stood beside clp_wo_1's novel-class curve unmarked. Now every such
    run of a _wo_* curve is on a '(no novel class)' curve (its markers the
    open triangles), the note true of each curve; fsp, a model of all
    classes, is the curve of its table row, 'fsp'."""
    w = str(tmp_path / 'w')
    _write(w, 'clp_wo_3', 'near', 'linear', 'Ridge', 1, 0.7, 0.01, NCT)
    _write(w, 'clp_wo_7', 'near', 'linear', 'Ridge', 1, 0.9, 0.01, NCT)
    _write(w, 'clp_wo_1', 'near', 'linear', 'LR', 1, 0.5, 0.01, NCT,
           novel=1)
    _write(w, 'fsp', 'near', 'linear', 'LR', 1, 0.6, 0.01, NCT)
    fig = _plotted(w, monkeypatch)
    labels = sorted(c.get_label() for ax in fig.axes for c in ax.containers)
    assert labels == ['clp_wo_* (no novel class) linear', 'clp_wo_* linear',
                      'fsp linear']
    means = {c.get_label(): list(c[0].get_ydata())
             for ax in fig.axes for c in ax.containers}
    assert means['clp_wo_* (no novel class) linear'] == pytest.approx(
        [(70 + 90) / 2])
    assert means['fsp linear'] == pytest.approx([60.0])
    assert means['clp_wo_* linear'] == pytest.approx([50.0])
    markers = {c.get_label(): c[0].get_marker()
               for ax in fig.axes for c in ax.containers}
    assert markers['fsp linear'] == 's'
    assert markers['clp_wo_* (no novel class) linear'] == '^'

def test_an_all_classes_model_of_one_novel_class_says_which(tmp_path):
    """uni (an encoder of all classes) meta-tested with novel class 3
    only was the row 'uni', in the near column beside clp_wo_7 (novel
    class 7's tasks), its novel class unsaid. Its near cells are now the
    row 'uni (novel 3)' (its novel-class F1 with them), its other domains
    stay in 'uni'; clp_wo_7 keeps one row (its name says it), and a
    model without a novel class (the demo's NOVEL=none) too."""
    w = str(tmp_path / 'w')
    _write(w, 'uni', 'near', 'linear', 'Ridge', 1, 0.65, 0.01, NCT,
           novel=3, per_class={3: 0.25}, class_ci={3: 0.02})
    _write(w, 'uni', 'mixture', 'linear', 'Ridge', 1, 0.5, 0.02, LC)
    _write(w, 'clp_wo_7', 'near', 'linear', 'Ridge', 1, 0.61, 0.01, NCT,
           novel=7)
    _write(w, 'random', 'near', 'linear', 'Ridge', 1, 0.2, 0.01, NCT)
    table = build_table(load_results(paths.results_dir(w)))
    text = format_markdown(table)
    _, rows = _md_rows(text)
    assert rows == {
        ('clp_wo_7', 'linear', 'Ridge'): {'near 1-shot': '61.00 ± 1.00',
                                          'mixture 1-shot': '–'},
        ('random', 'linear', 'Ridge'): {'near 1-shot': '20.00 ± 1.00',
                                        'mixture 1-shot': '–'},
        ('uni', 'linear', 'Ridge'): {'near 1-shot': '–',
                                     'mixture 1-shot': '50.00 ± 2.00'},
        ('uni (novel 3)', 'linear', 'Ridge'): {
            'near 1-shot': '65.00 ± 1.00', 'mixture 1-shot': '–'}}
    assert '| uni (novel 3) | linear | Ridge | 25.00 ± 2.00 |' in text


def test_a_held_out_model_run_without_a_novel_class_is_said_so(tmp_path):
    """clp_wo_3's near-domain run of no novel class (``--novel_class
    none``; before it was refused, the flag left out) was the row
    ``clp_wo_3 | latent_aug | Ridge | 55.03``, read as the paper's
    novel-class-3 result. Its near cells are the row ``clp_wo_3 (no
    novel class)`` now, beside the rows of its novel-class-3 run (a
    model with runs of two novel classes: a row per novel class) and of
    its mixture run, each cell its result's number."""
    w = str(tmp_path / 'w')
    _write(w, 'clp_wo_3', 'near', 'latent_aug', 'Ridge', 5, 0.5503, 0.01,
           NCT)
    _write(w, 'clp_wo_3', 'near', 'latent_aug', 'Ridge', 1, 0.61, 0.01,
           NCT, novel=3)
    _write(w, 'clp_wo_3', 'mixture', 'latent_aug', 'Ridge', 5, 0.42, 0.02,
           LC)
    _, rows = _md_rows(format_markdown(build_table(load_results(
        paths.results_dir(w)))))
    assert rows == {
        ('clp_wo_3', 'latent_aug', 'Ridge'): {
            'near 1-shot': '–', 'near 5-shot': '–',
            'mixture 5-shot': '42.00 ± 2.00'},
        ('clp_wo_3 (novel 3)', 'latent_aug', 'Ridge'): {
            'near 1-shot': '61.00 ± 1.00', 'near 5-shot': '–',
            'mixture 5-shot': '–'},
        ('clp_wo_3 (no novel class)', 'latent_aug', 'Ridge'): {
            'near 1-shot': '–', 'near 5-shot': '55.03 ± 1.00',
            'mixture 5-shot': '–'}}


def test_the_novel_class_table_leaves_out_runs_without_one(tmp_path):
    """Near-domain runs without a novel class (the demo's NOVEL=none, an
    encoder's NOVEL_CLASSES=none) have no novel-class F1: the novel-class
    table listed them as rows of '–'. It now lists the rows of a novel
    class only (uni's novel-3 row, clp_wo_7), the first table all four."""
    w = str(tmp_path / 'w')
    _write(w, 'clp_wo_7', 'near', 'linear', 'Ridge', 1, 0.61, 0.01, NCT,
           novel=7, per_class={7: 0.3}, class_ci={7: 0.02})
    _write(w, 'random', 'near', 'linear', 'Ridge', 1, 0.2, 0.01, NCT)
    _write(w, 'uni', 'near', 'linear', 'Ridge', 1, 0.7, 0.01, NCT)
    _write(w, 'uni', 'near', 'linear', 'Ridge', 1, 0.65, 0.01, NCT,
           novel=3, per_class={3: 0.25}, class_ci={3: 0.02})
    text = format_markdown(build_table(load_results(paths.results_dir(w))))
    _, rows = _md_rows(text)
    assert sorted(rows) == [('clp_wo_7', 'linear', 'Ridge'),
                            ('random', 'linear', 'Ridge'),
                            ('uni', 'linear', 'Ridge'),
                            ('uni (novel 3)', 'linear', 'Ridge')]
    novel = text.split('### Near domain: F1 (%) of the novel class')[1]
    body = [ln for ln in novel.strip().splitlines()[1:]
            if ln.startswith('| ') and not ln.startswith('| model')]
    assert body == ['| clp_wo_7 | linear | Ridge | 30.00 ± 2.00 |',
                    '| uni (novel 3) | linear | Ridge | 25.00 ± 2.00 |']


def test_rerun_commands_write_the_flags_that_differ():
    """``RunSpec.command`` (distributed_meta_test.py) and
    ``ablation.rerun_command`` (ablation.py) write their flags
    through one helper, ``spec.changed_flags``; the commands are those the
    two wrote on their own (written out here as they printed them): the
    meta-test's the flags that differ and matter to the setting (a float
    with every digit), the ablation's its model, shots, tasks, classifier
    and the seeds and shift vectors that differ, relevant or not (an
    absolute workdir, printed as given)."""
    from openselfsup.lowshot.ablation import PARTS_TO_ADD
    from openselfsup.lowshot.ablation import rerun_command as \
        ablation_rerun_command
    from openselfsup.lowshot.spec import RunSpec
    meta = f'python {REPO}/wsi_workdir/distributed_meta_test.py'
    abl = f'python {REPO}/wsi_workdir/ablation.py'

    def tail(model):  # no index in /w: the parts' flags to add, said
        return (f'--workdir /w{PARTS_TO_ADD} (/w/sweeps/ablation/{model}.json '
                'records no run of this setting)')
    cases = [
        (RunSpec('clp', 'mixture', 5),
         f'{meta} --task mixture --num_shots 5 --model clp --workdir /w',
         f'{abl} --model clp --num_shots 5 --num_task 1000 --clf Ridge '
         f'{tail("clp")}'),
        (RunSpec('clp_wo_78', 'near', 5, 'logistic_regression',
                 mode='latent_aug', novel_class=78, num_task=300,
                 task_seed=3, seed=4, C=0.5, max_iter=77, num_aug_shots=25,
                 num_prototypes=32, num_shift_vectors=500, dict_seed=9),
         f'{meta} --task near --num_shots 5 --clf logistic_regression '
         '--mode latent_aug --model clp_wo_78 --novel_class 78 --num_task '
         '300 --task_seed 3 --seed 4 --C 0.5 --max_iter 77 --num_aug_shots '
         '25 --num_prototypes 32 --num_shift_vectors 500 --dict_seed 9 '
         '--workdir /w',
         f'{abl} --model clp_wo_78 --num_shots 5 --num_task 300 --clf '
         'logistic_regression --task_seed 3 --seed 4 --num_shift_vectors '
         f'500 --dict_seed 9 {tail("clp_wo_78")}'),
        (RunSpec('x', 'out', 1, 'Ridge', alpha=0.1234567, seed=5,
                 dict_seed=2),
         f'{meta} --task out --num_shots 1 --model x --alpha 0.1234567 '
         '--workdir /w',
         f'{abl} --model x --num_shots 1 --num_task 1000 --clf Ridge '
         f'--seed 5 --dict_seed 2 {tail("x")}')]
    for spec, meta_command, ablation_command in cases:
        assert spec.command('/w') == meta_command
        assert ablation_rerun_command(spec.info(), '/w') == ablation_command


def _two_models_run(w, mine, base):
    """The workdir ``w`` of models mine and base, their sets' provenance
    naming the checkpoint SHA-256 ``mine[set]`` / ``base`` (NCT_train,
    NCT_test, LC), their near and mixture results run: the specs."""
    from lowshot_data import (CHECKPOINT_PROVENANCE, make_workdir,
                              write_provenance)
    from openselfsup.lowshot.meta_test import run_meta_test
    from openselfsup.lowshot.spec import RunSpec
    from openselfsup.lowshot.tasks import generate_task_store
    make_workdir(w, 'mine')
    make_workdir(w, 'base', seed=0)
    for name, sha in mine.items():
        for model, digest in (('mine', sha), ('base', base)):
            write_provenance(w, model, name, **dict(
                CHECKPOINT_PROVENANCE, checkpoint_sha256=digest))
    specs = [RunSpec(m, task, 1, num_task=4) for m in ('mine', 'base')
             for task in ('near', 'mixture')]
    for spec in specs[:2]:
        generate_task_store(w, spec.tasks)
    for spec in specs:
        run_meta_test(w, spec, progress=False, threads=1)
    return specs


def _np_loads(monkeypatch):
    """A Counter of each file np.load opens from now on, by absolute
    path."""
    import collections
    loads = collections.Counter()
    real_load = np.load

    def counted(path, *args, **kwargs):
        loads[os.path.abspath(str(path))] += 1
        return real_load(path, *args, **kwargs)

    monkeypatch.setattr(np, 'load', counted)
    return loads


def test_a_report_reads_each_feature_file_once(tmp_path, monkeypatch):
    """summarize and --compare judge each result's inputs (current or
    changed) and then each result's encoders: each began its own cache,
    so every feature .npy was read and hashed twice per report. Counted
    by wrapping np.load: each .npy of the workdir loaded at most once per
    report, and loaded at all (the check reads them). The files taken as
    written long before the report (one changed just before it is read
    on each call)."""
    from _io_helpers import written_long_ago

    from openselfsup.lowshot.compare import compare
    written_long_ago(monkeypatch)
    w = str(tmp_path / 'w')
    _two_models_run(w, {'NCT_train': 'a' * 64, 'NCT_test': 'a' * 64,
                        'LC': 'a' * 64}, 'c' * 64)
    loads = _np_loads(monkeypatch)
    for report in (lambda: summarize(w), lambda: compare(w, 'mine', 'base')):
        loads.clear()
        report()
        npy = {p: n for p, n in loads.items() if p.endswith('.npy')}
        assert npy, loads
        assert max(npy.values()) == 1, npy


def test_a_task_store_drawn_again_is_read_once_per_report(tmp_path,
                                                           monkeypatch):
    """A result whose task store was drawn again with another seed: the
    report reads the store to judge the result and again for the seed its
    rerun command names (the scope of the command, utils.reading_once,
    keeps the first read: np.load of the store counted, once per
    report); the next report reads it again, so a store drawn again
    between two reports of one process gives the second its new seed.
    The files taken as written long before each report (one changed just
    before it is read on each call)."""
    from _io_helpers import written_long_ago
    from lowshot_data import make_workdir
    from openselfsup.lowshot.compare import compare
    from openselfsup.lowshot.meta_test import run_meta_test
    from openselfsup.lowshot.spec import RunSpec, TaskSpec
    from openselfsup.lowshot.tasks import generate_task_store
    written_long_ago(monkeypatch)
    w = str(tmp_path / 'w')
    for model in ('clp', 'fsp'):
        make_workdir(w, model)
    specs = [RunSpec(m, task, 1, num_task=4) for m in ('clp', 'fsp')
             for task in ('near', 'mixture')]
    for spec in specs:
        generate_task_store(w, spec.tasks)
        run_meta_test(w, spec, progress=False, threads=1)
    loads = _np_loads(monkeypatch)
    store = specs[0].tasks.path(w)
    for seed in (1, 2):
        # drawn over it, as an earlier version's --seed --overwrite did
        generate_task_store(w, TaskSpec('near', 1, 4, seed=seed))[0].save(
            store, exclusive=False)
        for report in (lambda: summarize(w)['markdown'],
                       lambda: compare(w, 'clp', 'fsp')['markdown']):
            loads.clear()
            text = report()
            assert loads[store] == 1, loads
            assert f'its task store now holds tasks of seed {seed}' \
                in text, text


def test_a_model_whose_results_come_from_two_encoders_says_so(tmp_path):
    """One model name, two checkpoints: the near-domain sets extracted
    again from another checkpoint (``evaluate_encoder.sh`` with
    ``DOMAINS=near``) left the mixture-domain result of the first, on
    inputs that are all still there, and the summary's row and
    ``--compare`` showed the two encoders as one model without a word.
    The note names both encoders (the SHA-256 each feature file's
    provenance gave) and the domains of each; one encoder: no note."""
    from lowshot_data import CHECKPOINT_PROVENANCE, write_provenance
    from openselfsup.lowshot.compare import compare
    from openselfsup.lowshot.meta_test import run_meta_test
    w = str(tmp_path / 'w')
    one, two = 'a' * 64, 'b' * 64
    specs = _two_models_run(
        w, {'NCT_train': two, 'NCT_test': two, 'LC': one}, 'c' * 64)
    out = summarize(w)
    text = open(out['md']).read()
    notes = [line for line in text.splitlines()
             if line.startswith('Mixed encoders')]
    assert len(notes) == 1, text
    assert 'results of mine come from 2 encoders' in notes[0]
    assert 'mixture from checkpoint SHA-256 aaaaaaaaaaaa (1 result(s))' \
        in notes[0]
    assert 'near from checkpoint SHA-256 bbbbbbbbbbbb (1 result(s))' \
        in notes[0]
    with open(out['json']) as f:
        mixed = json.load(f)['mixed_encoders']
    assert list(mixed) == ['mine']
    assert sorted(e['domains'] for e in mixed['mine']) == \
        [['mixture'], ['near']]
    cmp = compare(w, 'mine', 'base')
    assert 'results of mine come from 2 encoders' in cmp['markdown']
    assert 'results of base' not in cmp['markdown']
    # every set of one checkpoint: the same results, no note
    write_provenance(w, 'mine', 'LC',
                     **dict(CHECKPOINT_PROVENANCE, checkpoint_sha256=two))
    run_meta_test(w, specs[1], progress=False, threads=1)
    out = summarize(w)
    assert 'Mixed encoders' not in open(out['md']).read()
    with open(out['json']) as f:
        assert json.load(f)['mixed_encoders'] == {}


def test_the_plot_says_what_the_table_notes_of_encoders_and_left_out(
        tmp_path, monkeypatch):
    """summary.md said 'Mixed encoders: the results of mine come from 2
    encoders' and listed the results left out, while summary.png drew the
    same curves without a word. The plot's notes now say both, in the
    table note's words (the encoders and domains of each, the count left
    out); a workdir of one encoder per model and nothing left out: no
    such note."""
    from lowshot_data import CHECKPOINT_PROVENANCE, write_provenance
    from openselfsup.lowshot import compare as C
    from openselfsup.lowshot import report
    from openselfsup.lowshot.compare import compare
    from openselfsup.lowshot.meta_test import run_meta_test
    w = str(tmp_path / 'w')
    one, two = 'a' * 64, 'b' * 64
    specs = _two_models_run(
        w, {'NCT_train': two, 'NCT_test': two, 'LC': one}, 'c' * 64)
    lc = paths.features_path(w, 'base', 'LC')
    np.save(lc, np.load(lc)[::-1].copy())   # base's LC extracted again
    figs = []
    for module in (report, C):
        monkeypatch.setattr(module, 'figure_png',
                            lambda fig: figs.append(fig) or b'png')

    def notes():
        figs.clear()
        md = open(summarize(w)['md']).read()
        return md, ' '.join(t.get_text() for t in sorted(  # top down
            figs[0].texts, key=lambda t: -t.get_position()[1]))
    def compare_notes():
        figs.clear()
        compare(w, 'mine', 'base')
        return ' '.join(t.get_text() for t in sorted(
            figs[0].texts, key=lambda t: -t.get_position()[1]))
    md, plot = notes()
    assert 'Mixed encoders: the results of mine come from 2 encoders' in md
    assert 'Left out: 1 result(s) computed on inputs' in md
    for words in ('mixed encoders: the results of mine come from 2 '
                  'encoders (', 'near from checkpoint SHA-256 bbbbbbbbbbbb '
                  '(1 result(s))', 'mixture from checkpoint SHA-256 '
                  'aaaaaaaaaaaa (1 result(s))',
                  'left out: 1 result(s) computed on inputs that have '
                  'changed since'):
        assert words in plot, plot
    assert 'results of base' not in plot
    # the comparison's plot says it too (it drew its curves without a
    # word, though GETTING_STARTED said the plot's notes name them)
    plot = compare_notes()
    for words in ('mixed encoders: the results of mine come from 2 '
                  'encoders (', 'left out: 1 result(s) computed on inputs '
                  'that have changed since'):
        assert words in plot, plot
    # one encoder per model, every result current: no such note
    for model, sha in (('mine', two), ('base', 'c' * 64)):
        write_provenance(w, model, 'LC', **dict(CHECKPOINT_PROVENANCE,
                                                checkpoint_sha256=sha))
    for spec in specs[1::2]:
        run_meta_test(w, spec, progress=False, threads=1)
    md, plot = notes()
    assert 'Mixed encoders' not in md and 'Left out' not in md, md
    assert 'mixed encoders' not in plot and 'left out' not in plot, plot
    assert compare_notes() == ''


def test_the_same_features_under_a_checkpoint_written_again_are_one_encoder(
        tmp_path):
    """A result whose features are byte-identical to the ones there now
    is kept current whatever checkpoint SHA-256 it recorded (backbone.pth
    written again), but the report grouped results by that recorded
    SHA-256 and said 'Mixed encoders ... from 2 encoders' of one encoder.
    Features of the recorded digest are of the encoder their provenance
    names now (the rule that keeps them current): one result's recorded
    checkpoint digest edited, features untouched, gives no note; the
    other result's features extracted by another checkpoint still do."""
    import glob

    from lowshot_data import CHECKPOINT_PROVENANCE, write_provenance
    from openselfsup.lowshot.compare import compare
    from openselfsup.lowshot.meta_test import run_meta_test
    w = str(tmp_path / 'w')
    now, before = 'b' * 64, 'a' * 64
    specs = _two_models_run(
        w, dict.fromkeys(('NCT_train', 'NCT_test', 'LC'), now), now)
    # the mixture result recorded the checkpoint of before (written again)
    [mixture] = glob.glob(os.path.join(w, 'results', 'mine', '**',
                                       '*mixture*.json'), recursive=True)
    with open(mixture) as f:
        text = f.read()
    assert now in text
    with open(mixture, 'w') as f:
        f.write(text.replace(now, before))
    out = summarize(w)
    md = open(out['md']).read()
    assert 'Mixed encoders' not in md and 'left out' not in md.lower(), md
    with open(out['json']) as f:
        assert json.load(f)['mixed_encoders'] == {}
    assert 'Mixed encoders' not in compare(w, 'mine', 'base')['markdown']
    # the features of LC from another checkpoint: two encoders
    lc = paths.features_path(w, 'mine', 'LC')
    np.save(lc, np.load(lc) + 1)
    write_provenance(w, 'mine', 'LC', **dict(
        CHECKPOINT_PROVENANCE, checkpoint_sha256=before))
    run_meta_test(w, specs[1], progress=False, threads=1)
    assert 'results of mine come from 2 encoders' in \
        open(summarize(w)['md']).read()


def test_one_decoder_reads_the_encoder_of_a_recorded_extraction():
    """The report's encoders (``result_encoders``) were decoded from a
    result's ``extraction`` strings beside the reader of those strings in
    ``features.py``, looser: a string of one field (no list, shape or
    options: no :func:`provenance_extraction` ever wrote it) named an
    encoder. One decoder (``extraction_encoder``) now reads them: its
    identity is :func:`provenance_encoder`'s, the weights named by their
    SHA-256 (a result records no checkpoint path); a library model
    without a model name is its library, not ``timm:None``."""
    from openselfsup.lowshot.features import (provenance_encoder,
                                              provenance_extraction)
    from openselfsup.lowshot.report import result_encoders
    ckpt = dict(checkpoint='/w/a.pth', checkpoint_sha256='ab' * 32,
                checkpoint_kind='MoCo checkpoint', list_sha1='l1',
                num_samples=4, feature_dim=2, normalised=True)
    timm = dict(ckpt, checkpoint_sha256='cd' * 32,
                encoder=dict(library='timm', model=None, pool='avg'))
    rand = dict(ckpt, checkpoint_sha256=None,
                checkpoint_kind='random init (seed 3)')

    def files(*provs):
        return {'files': {f'f{i}': {'extraction': provenance_extraction(p)}
                          for i, p in enumerate(provs)}}

    found = result_encoders(files(ckpt, timm, rand, ckpt))
    assert found == {
        provenance_encoder(ckpt)[0]: 'checkpoint SHA-256 ' + 'ab' * 6,
        provenance_encoder(timm)[0]: 'timm checkpoint SHA-256 ' + 'cd' * 6,
        provenance_encoder(rand)[0]: 'random init (seed 3)'}
    assert provenance_encoder(timm)[1] == 'timm /w/a.pth (SHA-256 cdcdcdcdcdcd)'
    # not a recorded extraction: no encoder
    short = json.dumps([provenance_encoder(ckpt)[0]])
    assert result_encoders({'files': {'f': {'extraction': short}}}) == {}
    assert result_encoders({'files': {'f': {'extraction': '[1'}}}) == {}


def test_task_stores_of_two_seeds_live_side_by_side(tmp_path, capsys):
    """A store's name did not say its seed: ``generate_task.py --seed 1``
    was refused on seed 0's store and, with ``--overwrite``, replaced it,
    and every seed-0 result was then left out of the summary. A seed other
    than 0 has a store of its own (seed 0's keeps the published name), so
    both seeds' results stay, each in its row, with its own numbers."""
    from lowshot_data import make_workdir, script_main
    from openselfsup.lowshot.meta_test import run_meta_test
    from openselfsup.lowshot.spec import RunSpec
    w = make_workdir(str(tmp_path / 'w'), dim=8)
    gen = script_main('wsi_workdir/tools/generate_task.py')
    tasks = os.path.join(w, 'tasks')
    for seed in ('0', '1'):
        assert run_cli(gen, ['--task', 'mixture', '--num_shots', '1',
                             '--num_task', '4', '--seed', seed,
                             '--workdir', w]) == 0, capsys.readouterr().err
        if seed == '0':
            with open(os.path.join(tasks, 'mixture_5way_1shot.npz'),
                      'rb') as f:
                seed0 = f.read()
    assert sorted(os.listdir(tasks)) == ['mixture_5way_1shot.npz',
                                         'mixture_5way_1shot_seed1.npz']
    with open(os.path.join(tasks, 'mixture_5way_1shot.npz'), 'rb') as f:
        assert f.read() == seed0  # untouched by seed 1's draw
    means = {}
    for seed in (0, 1):
        r = run_meta_test(w, RunSpec('clp', 'mixture', 1, num_task=4,
                                     task_seed=seed), progress=False,
                          threads=1)
        assert r['files']['task_store']['seed'] == seed
        means[seed] = r['average_mean']
    assert means[0] != means[1]  # other tasks
    capsys.readouterr()
    assert run_cli(script_main('wsi_workdir/summarize.py'),
                   ['--workdir', w]) == 0, capsys.readouterr().err
    with open(paths.summary_path(w, 'md')) as f:
        text = f.read()
    assert 'Left out' not in text
    for seed, model in ((0, 'clp'), (1, 'clp [tseed1]')):
        row = f'| {model} | linear | Ridge | {100 * means[seed]:.2f} ± '
        assert row in text, text
