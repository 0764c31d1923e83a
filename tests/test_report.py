"""Summary table and plot of meta-test results, checked against hand-made numbers."""
import importlib.util
import json
import os

import numpy as np
import pytest

from openselfsup.lowshot import paths
from openselfsup.lowshot.metrics import format_table
from openselfsup.lowshot.report import (as_fractions, build_table,
                                        format_markdown, load_results,
                                        summarize)
from openselfsup.utils import InputError, run_cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NCT = ['ADI', 'BACK', 'DEB', 'LYM', 'MUC', 'MUS', 'NORM', 'STR', 'TUM']
LC = ['colon_aca', 'colon_n', 'lung_aca', 'lung_n', 'lung_scc']


def _write(workdir, model, task, mode, clf, shots, average, ci, classes,
           novel=None, per_class=None, harmonic=None):
    per_class = per_class or [average] * len(classes)
    result = dict(
        model=model, task=task, mode=mode, clf=clf, num_shots=shots,
        num_task=4, novel_class=novel, seed=0, classes=classes,
        per_class_mean=per_class, per_class_ci=[0.02] * len(classes),
        average_mean=average, average_ci=ci, harmonic_mean=harmonic,
        per_task_f1=np.full((4, len(classes)), average).tolist())
    path = paths.result_path(workdir, model, task, mode, clf, shots, novel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(result, f)
    return path


@pytest.fixture
def workdir(tmp_path):
    w = str(tmp_path / 'workdir')
    novel_means = [0.9] * 9
    novel_means[7] = 0.42
    _write(w, 'clp_wo_7', 'near', 'linear', 'Ridge', 1, 0.6123, 0.0155, NCT,
           novel=7, per_class=novel_means)
    _write(w, 'clp_wo_7', 'near', 'latent_aug', 'Ridge', 1, 0.6589, 0.0101,
           NCT, novel=7)
    _write(w, 'clp_wo_7', 'near', 'linear', 'Ridge', 5, 0.8, 0.005, NCT,
           novel=7)
    _write(w, 'clp', 'mixture', 'linear', 'Ridge', 5, 0.7012, 0.0234, LC,
           harmonic=0.6875)
    _write(w, 'fsp', 'mixture', 'linear', 'nearest_centroid', 1, 0.5, 0.03,
           LC, harmonic=0.45)
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
        '70.12 ± 2.34'
    assert rows[('clp', 'latent_aug', 'logistic_regression')][
        'out_homo 10-shot'] == '99.99 ± 0.01'
    # the novel-class table: class 7's mean and CI; the harmonic-mean table
    assert '| clp_wo_7 | linear | Ridge | 42.00 ± 2.00 | 80.00 ± 2.00 |' in text
    assert '| clp | linear | Ridge | – | 68.75 |' in text
    assert '| fsp | linear | nearest_centroid | 45.00 | – |' in text
    cell = table['rows'][2]['cells']['near/1']
    assert cell['mean'] == pytest.approx(0.6123) and cell['num_task'] == 4


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

    # the same numbers in percent, said so, give the same table
    pct = str(tmp_path / 'pct')
    path = _write(pct, 'clp', 'near', 'linear', 'Ridge', 1, 61.23, 1.55, NCT)
    with open(path) as f:
        result = json.load(f)
    result['units'] = 'percent'
    with open(path, 'w') as f:
        json.dump(result, f)
    assert '| clp | linear | Ridge | 61.23 ± 1.55 |' in format_markdown(
        build_table(load_results(paths.results_dir(pct))))

    bad = str(tmp_path / 'bad')
    _write(bad, 'clp', 'near', 'linear', 'Ridge', 1, 61.2, 1.5, NCT)
    with pytest.raises(InputError, match=r'average_mean = 61.2 is not an F1'):
        load_results(paths.results_dir(bad))


def test_cli(workdir, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location(
        'wsi_summarize', os.path.join(REPO, 'wsi_workdir', 'summarize.py'))
    cli = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cli)
    prefix = str(tmp_path / 'out' / 'table')
    assert run_cli(cli.main, ['--workdir', workdir, '--output', prefix,
                              '--clf', 'Ridge']) == 0
    printed = capsys.readouterr().out
    assert '61.23 ± 1.55' in printed
    assert os.path.isfile(prefix + '.png') and os.path.isfile(prefix + '.md')

    assert run_cli(cli.main, ['--workdir', str(tmp_path / 'empty')]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and 'no results directory' in err


def test_printed_class_table_by_hand():
    """The meta-test's printed table (percent in, two decimals out)."""
    text = format_table({'per_class_mean': [50.0, 81.25],
                         'per_class_ci': [1.0, 3.0], 'average_mean': 65.625,
                         'average_ci': 2.0, 'harmonic_mean': None},
                        ['ADI', 'TUM'])
    assert text.splitlines() == ['ADI     50.00 1.00', 'TUM     81.25 3.00',
                                 'average 65.62 2.00']
    text = format_table({'per_class_mean': [10.0], 'per_class_ci': [2.0],
                         'average_mean': 30.0, 'average_ci': 4.0,
                         'harmonic_mean': 12.5})
    assert text.splitlines() == ['0       10.00 2.00', 'average 30.00 4.00',
                                 'harmonic 12.50']


def test_as_fractions_scales_percent_only():
    percent = {'units': 'percent', 'per_class_mean': [50.0, None],
               'per_class_ci': [2.0, 4.0], 'average_mean': 25.0,
               'average_ci': 3.0, 'harmonic_mean': None, 'num_shots': 5}
    out = as_fractions(percent)
    assert out['per_class_mean'] == [0.5, None]
    assert out['per_class_ci'] == [0.02, 0.04]
    assert (out['average_mean'], out['average_ci']) == (0.25, 0.03)
    assert out['num_shots'] == 5 and out['units'] == 'fraction'
    assert percent['average_mean'] == 25.0  # the input is not changed
    fraction = dict(percent, units='fraction')
    assert as_fractions(fraction)['average_mean'] == 25.0
