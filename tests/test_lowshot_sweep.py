"""The one-process sweep against one meta-test run per setting."""
import json
import os
import re
import shutil

import numpy as np
import pytest

from _foundation_helpers import tool_module
from lowshot_data import ROOT, make_workdir, script_main, snapshot
from openselfsup.lowshot import paths
from openselfsup.lowshot.meta_test import run_meta_test
from openselfsup.lowshot.spec import DictionarySpec, RunSpec, TaskSpec
from openselfsup.lowshot.sweep import run_sweep, setting_header, setting_name
from openselfsup.lowshot.sweep_settings import sweep_specs
from openselfsup.utils import InputError, run_cli

KW = dict(num_aug_shots=5, num_prototypes=4, num_shift_vectors=30,
          num_task=6)


def test_sweep_equals_single_runs_and_makes_missing_inputs(tmp_path):
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    specs = sweep_specs('clp', 'near', [0, 3], [1, 2],
                        ['Ridge', 'nearest_centroid'],
                        ['linear', 'latent_aug', 'latent_aug_expected'],
                        model_template='{model}', **KW)
    assert len(specs) == 2 * 2 * 2 * 3
    lines = []
    sweep = run_sweep(wd, specs, log=lines.append)
    # task stores and the dictionaries (one per novel class) were made
    for c in (0, 3):
        for s in (1, 2):
            assert os.path.isfile(TaskSpec('near', s, novel_class=c
                                           ).path(wd))
        assert os.path.isfile(DictionarySpec('clp', c, num_prototypes=4,
                                             num_shift_vectors=30).path(wd))
    with open(sweep['output']) as f:
        saved = json.load(f)
    # a line before and after preparing the inputs, then a block each
    assert lines[0].startswith('preparing the inputs of 24 settings')
    assert lines[1].startswith('inputs ready in ')
    # then each setting: a line as it starts, its block when done
    starts, blocks = lines[2::2], lines[3::2]
    assert len(saved['settings']) == len(specs) == len(starts) == \
        len(blocks)
    assert starts[0] == ('-> clp near novel 0 | 1-shot | Ridge | linear  '
                         '(1/24, 6 tasks): meta-testing')
    assert blocks[0].startswith('== clp near novel 0 | 1-shot | Ridge | '
                                'linear')
    for entry, spec in zip(saved['settings'], specs):
        written = json.load(open(entry['output']))
        assert entry['output'] == spec.result_path(wd)
        single = run_meta_test(wd, spec, output=str(tmp_path / 'one.json'),
                               progress=False)
        np.testing.assert_array_equal(written['per_task_f1'],
                                      single['per_task_f1'])
        assert written['files'] == single['files']
        assert entry['average_mean'] == pytest.approx(single['average_mean'])
    assert 'latent_aug_expected' in sweep['table']


def test_sweep_names_missing_model_features(tmp_path):
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    with pytest.raises(InputError, match='clp_wo_0'):
        run_sweep(wd, sweep_specs('clp', 'near', [0], [1], modes=['linear'],
                                  num_task=2), log=None)


def test_sweep_checks_every_output_before_the_first_setting(tmp_path):
    """An unwritable result directory fails before any work is done."""
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    results = os.path.join(wd, 'results')
    with open(results, 'w') as f:  # a file where the directory should be
        f.write('x')
    with pytest.raises(InputError, match='cannot write'):
        run_sweep(wd, sweep_specs('clp', 'mixture', shots=[1],
                                  modes=['linear'], num_task=2), log=None)
    assert not os.path.exists(os.path.join(wd, 'tasks'))


def test_sweep_checks_every_setting_before_the_first_runs(tmp_path):
    """A setting that cannot run (40 shots of a class with 36 samples)
    stops the sweep before any result is written, not after the settings
    before it."""
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    specs = sweep_specs('clp', 'out', shots=[1, 5, 40], clfs=['Ridge'],
                        modes=['linear'], num_task=2)
    with pytest.raises(InputError, match='fewer than shots = 40'):
        run_sweep(wd, specs, log=None)
    assert not os.path.exists(paths.results_dir(wd))
    assert not os.path.exists(os.path.join(wd, 'sweeps'))


def test_sweep_checks_a_shared_dictionary_against_every_domain(tmp_path):
    """The mixture and out domains read one dictionary (NCT_train of the
    model): a sweep over both refuses PAIP19 features of another kind
    (raw, the dictionary's normalised), as a single out-domain run does,
    not only when out comes first (the check ran for the first domain
    that loaded the dictionary)."""
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    for name in ('NCT_train', 'NCT_test', 'LC'):
        path = paths.features_path(wd, 'clp', name)
        f = np.load(path)
        np.save(path, f / np.linalg.norm(f, axis=1, keepdims=True))
    kw = dict(shots=[2], clfs=['Ridge'], modes=['latent_aug'], **KW)
    specs = sweep_specs('clp', 'mixture', **kw) + \
        sweep_specs('clp', 'out', **kw)
    with pytest.raises(InputError, match='PAIP_train.npy is not'):
        run_sweep(wd, specs, log=None)
    assert not os.path.exists(paths.results_dir(wd))
    with pytest.raises(InputError, match='PAIP_train.npy is not'):
        run_meta_test(wd, specs[1])  # the single run: the same line


def test_sweep_results_feed_the_summary(tmp_path):
    """Each setting's JSON is where a single run writes it; the summary
    tables them (tasks without a novel class: novel_classes [None])."""
    from openselfsup.lowshot.report import summarize
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    specs = sweep_specs('clp', 'near', [None], [1, 2],
                        ['Ridge', 'logistic_regression'], ['linear'],
                        num_task=5)
    sweep = run_sweep(wd, specs, log=None)
    for entry in sweep['settings']:
        assert entry['output'] == paths.result_path(
            wd, 'clp', 'near', 'linear', entry['clf'], entry['num_shots'])
        assert entry['novel_class'] is None
    md = summarize(wd)['markdown']
    for entry in sweep['settings']:
        assert f"{100 * entry['average_mean']:.2f} ± " \
            f"{100 * entry['average_ci']:.2f}" in md


def test_sweep_index_names_every_task(tmp_path):
    """A sweep over several domains is indexed under all of them, so a
    later one-domain sweep of the same model keeps it (the index used to
    be named after the first task only and was replaced)."""
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    kw = dict(clfs=['Ridge'], modes=['linear'], num_task=2)
    both = run_sweep(wd, sweep_specs('clp', 'near', [None], [1], **kw)
                     + sweep_specs('clp', 'mixture', shots=[1], **kw),
                     log=None)
    near = run_sweep(wd, sweep_specs('clp', 'near', [None], [1], **kw),
                     log=None)
    assert both['output'] == os.path.join(wd, 'sweeps',
                                          'clp_near+mixture.json')
    assert near['output'] == os.path.join(wd, 'sweeps', 'clp_near.json')
    with open(both['output']) as f:
        saved = json.load(f)
    assert saved['task'] == 'near+mixture'
    assert [s['task'] for s in saved['settings']] == ['near', 'mixture']
    assert os.path.isfile(both['summary_md'])
    # its table keeps the domains apart (they were averaged together, under
    # a header that said novel classes): one row per domain, each cell the
    # domain's own result; a one-domain table has no task column
    rows = {s['task']: s['average_mean'] for s in saved['settings']}
    for task, value in rows.items():
        assert f'| {task} | linear | Ridge | {100 * value:.2f} (n=1) |' \
            in both['table'], both['table']
    assert '| task |' not in near['table']
    assert '| linear | Ridge | ' in near['table']


def test_the_sweep_table_names_its_task_count(tmp_path):
    """The sweep's table (printed, and its .md) averaged settings without
    saying over how many tasks each ran: a --num_task 3 sweep's table
    read as the published 1000-task one. Its header names the count the
    results hold (settings of two counts, as a caller may run: both)."""
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    kw = dict(clfs=['Ridge'], modes=['linear'])
    one = run_sweep(wd, sweep_specs('clp', 'mixture', shots=[1, 5],
                                    num_task=3, **kw), log=None)
    assert [r['num_task'] for r in one['results']] == [3, 3]
    assert 'each over 3 tasks:' in one['table'], one['table']
    with open(one['summary_md']) as f:
        assert f.read() == one['table']
    two = run_sweep(wd, sweep_specs('clp', 'mixture', shots=[1], num_task=1,
                                    **kw)
                    + sweep_specs('clp', 'out', shots=[1], num_task=2,
                                  **kw), log=None)
    assert [r['num_task'] for r in two['results']] == [1, 2]
    assert 'each over 1 / 2 tasks:' in two['table'], two['table']


def test_a_rerun_removes_the_old_index_when_it_rewrites_results(
        tmp_path, monkeypatch):
    """An interrupted rerun left the complete sweep's index and table
    beside result files it had partly rewritten (here from other features:
    the index's numbers were no longer those of the files it named). The
    old index goes when the first result is rewritten, not before (a rerun
    stopped earlier rewrote nothing), and a complete rerun writes the new
    one, whose numbers are those of the files."""
    from openselfsup.lowshot import sweep as sweep_mod
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    specs = sweep_specs('clp', 'mixture', shots=[1, 2], clfs=['Ridge'],
                        modes=['linear'], num_task=4)
    first = run_sweep(wd, specs, log=None)
    index, md = first['output'], first['summary_md']
    old = open(index).read()
    # other features under the same model name: other numbers
    feats = os.path.join(wd, 'extracted_feats', 'clp', 'LC.npy')
    x = np.load(feats)
    np.save(feats, (x + np.random.default_rng(1).normal(
        scale=2, size=x.shape)).astype(x.dtype))
    real = sweep_mod.evaluate
    calls = []

    def stopped(at):
        def evaluate(*args, **kwargs):
            calls.append(1)
            if len(calls) == at:
                raise KeyboardInterrupt
            return real(*args, **kwargs)
        return evaluate
    monkeypatch.setattr(sweep_mod, 'evaluate', stopped(1))
    with pytest.raises(KeyboardInterrupt):
        run_sweep(wd, specs, log=None)
    assert open(index).read() == old and os.path.isfile(md)
    calls.clear()
    monkeypatch.setattr(sweep_mod, 'evaluate', stopped(2))
    lines = []
    with pytest.raises(KeyboardInterrupt):
        run_sweep(wd, specs, log=lines.append)
    rewritten = json.load(open(specs[0].result_path(wd)))
    assert rewritten['average_mean'] != json.loads(old)['settings'][0][
        'average_mean']  # the other features' result, beside the old one's
    png = first['summary_png']  # the plot goes with them
    assert not any(os.path.exists(p) for p in (index, md, png))
    assert [ln for ln in lines if ln.startswith('removed ')] == [
        f'removed the previous {index}, {md}, {png}: the results they '
        'describe '
        'are being replaced (written anew when this sweep completes)']
    monkeypatch.setattr(sweep_mod, 'evaluate', real)
    again = run_sweep(wd, specs, log=None)
    saved = json.load(open(again['output']))
    assert again['output'] == index and os.path.isfile(md)
    assert [e['average_mean'] for e in saved['settings']] == [
        json.load(open(s.result_path(wd)))['average_mean'] for s in specs]


def _other_features(wd, name='LC'):
    """Other features under the same model name: other numbers."""
    feats = os.path.join(wd, 'extracted_feats', 'clp', f'{name}.npy')
    x = np.load(feats)
    np.save(feats, (x + np.random.default_rng(1).normal(
        scale=2, size=x.shape)).astype(x.dtype))


def test_a_later_run_of_a_listed_result_removes_the_sweep_index(tmp_path):
    """A single run (distributed_meta_test.py) that rewrote one of a
    sweep's results left the sweep's index and table listing the old
    numbers (the summary, reading the results, was right; the index
    silently was not). The index and table go when that result is
    replaced by another result, with a line saying so; the same result
    again (a rerun on the same inputs) keeps them, and the file it writes
    still names them."""
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    specs = sweep_specs('clp', 'mixture', shots=[1, 2], clfs=['Ridge'],
                        modes=['linear'], num_task=4)
    first = run_sweep(wd, specs, log=None)
    index, md, png = first['output'], first['summary_md'], first['summary_png']
    listed = json.load(open(index))['settings'][0]
    path = specs[0].result_path(wd)
    ref = json.load(open(path))['sweeps']
    assert ref == [{'id': first['sweep_id'], 'files': [
        os.path.relpath(f, os.path.dirname(path)) for f in (index, md, png)]}]
    lines = []
    run_meta_test(wd, specs[0], progress=False, log=lines.append)
    assert lines == [] and os.path.isfile(index) and os.path.isfile(md)
    assert json.load(open(path))['sweeps'] == ref
    _other_features(wd)
    single = run_meta_test(wd, specs[0], progress=False, log=lines.append)
    assert single['output'] == path == listed['output']
    assert single['average_mean'] != listed['average_mean']
    assert not any(os.path.exists(p) for p in (index, md, png))
    assert lines == [f'removed {index}, {md}, {png}: the sweep index '
                     f'listed {path}, '
                     'which is being replaced by another result (rerun that '
                     'sweep to write them anew)']
    assert 'sweeps' not in json.load(open(path))
    # the other setting's result still names the removed index: nothing
    lines.clear()
    run_meta_test(wd, specs[1], progress=False, log=lines.append)
    assert lines == []


def test_a_replaced_result_removes_the_reports_that_read_it(tmp_path):
    """The summary and a paired comparison were left saying the numbers
    of a result replaced since (the quick start's ``compare/clp/
    vs_random/all.*`` after ``DOMAINS=near`` ran the demo again; the
    sweep removed its own index only). A report's JSON now lists the
    result files it read, and whoever replaces one with another result
    removes that report, with a line, as a sweep's index: the summary
    and the comparison go with a result of clp, the summary alone with
    one of fsp (the comparison of clp and rnd never read it); the same
    result again keeps them both."""
    import shutil

    from openselfsup.lowshot.compare import compare
    from openselfsup.lowshot.report import summarize
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    for other in ('rnd', 'fsp'):
        shutil.copytree(os.path.join(wd, 'extracted_feats', 'clp'),
                        os.path.join(wd, 'extracted_feats', other))
    spec = {m: RunSpec(m, 'mixture', 1, num_task=4)
            for m in ('clp', 'rnd', 'fsp')}
    # the task store made on the way; no index to remove
    run_sweep(wd, list(spec.values()), log=None, write_index=False)

    def reports():
        made = [summarize(wd), compare(wd, 'clp', 'rnd')]
        return [[r['json'], r['md'], r['png']] for r in made]
    (summary, pair) = reports()
    assert all(os.path.isfile(f) for f in summary + pair)
    lines = []
    run_meta_test(wd, spec['clp'], progress=False, log=lines.append)
    assert lines == [] and all(os.path.isfile(f) for f in summary + pair)

    script = f'python {ROOT}/wsi_workdir/summarize.py'
    again = {summary[0]: f'{script} --workdir {wd}',
             pair[0]: f'{script} --workdir {wd} --compare clp rnd'}

    def removed(report, result):
        return (f'removed {", ".join(report)}: the report listed {result},'
                f' which is being replaced by another result (run '
                f'{again[report[0]]} again to write them anew)')
    for model, gone in (('fsp', [summary]), ('clp', [summary, pair])):
        reports()
        lines.clear()
        run_meta_test(wd, RunSpec(model, 'mixture', 1, num_task=3),
                      progress=False, log=lines.append)
        path = spec[model].result_path(wd)
        assert [ln for ln in lines if ln.startswith('removed ')] == [
            removed(r, path) for r in gone]
        for r in (summary, pair):
            assert all(os.path.exists(f) == (r not in gone) for f in r)
        run_meta_test(wd, spec[model], progress=False, log=None)


SWEEP = script_main('wsi_workdir/sweep.py')
SUMMARY = script_main('wsi_workdir/summarize.py')
ABLATION = script_main('wsi_workdir/ablation.py')


def _removal_lines(out):
    """``{report JSON: the command its removal line gives}`` of the
    report removal lines in ``out``."""
    found = {}
    for line in out.splitlines():
        m = re.match(r'removed (\S+\.json), \S+, \S+: the report listed '
                     r'\S+, which is being replaced by another result '
                     r'\(run (.*) again to write them anew\)$', line)
        if m:
            found[m.group(1)] = m.group(2)
    return found


def _summarize(capsys, *args):
    assert run_cli(SUMMARY, list(args)) == 0, capsys.readouterr().err
    capsys.readouterr()


def test_sweep_quiet_names_each_report_it_removes_and_its_command(
        tmp_path, capsys):
    """Through ``sweep.py --quiet`` (the path the shipped scripts run):
    the summary and comparisons of the workdir that read a replaced result
    were removed without a word (the lines went to ``log``, None when
    quiet), each line named the same vague way out, and removing
    ``workdir`` from sweep.py's ``release_result`` call left every test
    passing. Each report under ``summary/`` that read the result is
    removed with a line giving the command that writes it again, which
    does (run here); a report written outside ``summary/`` (``--output``
    elsewhere), or in another workdir's ``summary/``, is kept."""
    import shlex
    import shutil
    wd = make_workdir(str(tmp_path / 'w'), model='clp', dim=16)
    shutil.copytree(os.path.join(wd, 'extracted_feats', 'clp'),
                    os.path.join(wd, 'extracted_feats', 'rnd'))
    flags = ['--task', 'mixture', '--mixture_shots', '1', '--clfs', 'Ridge',
             '--modes', 'linear', '--workdir', wd, '--quiet']
    for model in ('clp', 'rnd'):
        assert run_cli(SWEEP, ['--model', model, '--num_task', '4',
                               *flags]) == 0, capsys.readouterr().err
    other = str(tmp_path / 'other')  # another workdir, its own result
    shutil.copytree(wd, other)
    capsys.readouterr()
    summary = os.path.join(wd, 'summary')
    mine = os.path.join(summary, 'mine')
    elsewhere = str(tmp_path / 'elsewhere' / 'report')
    of_wd_in_other = os.path.join(other, 'summary', 'of_w')
    base = f'python {ROOT}/wsi_workdir/summarize.py --workdir {wd}'
    reports = {  # the report JSON: the command written here by hand
        os.path.join(summary, 'summary.json'): base,
        os.path.join(summary, 'summary_Ridge.json'):
            f'{base} --clf Ridge',
        os.path.join(summary, 'compare', 'clp', 'vs_rnd', 'all.json'):
            f'{base} --compare clp rnd',
        f'{mine}.json': f'{base} --output {mine}'}
    for cmd in reports.values():
        _summarize(capsys, *shlex.split(cmd)[2:])
    kept = [f'{elsewhere}.json', f'{of_wd_in_other}.json',
            os.path.join(other, 'summary', 'summary.json')]
    _summarize(capsys, '--workdir', wd, '--output', elsewhere)
    _summarize(capsys, '--workdir', wd, '--output', of_wd_in_other)
    _summarize(capsys, '--workdir', other)
    assert all(os.path.isfile(f) for f in [*reports, *kept])
    # another result of clp (3 tasks), the other workdir's too
    for w in (wd, other):
        assert run_cli(SWEEP, ['--model', 'clp', '--num_task', '3', *[
            w if f == wd else f for f in flags]]) == 0
        out = capsys.readouterr().out
        if w == wd:
            assert _removal_lines(out) == reports, out
            assert not any(os.path.exists(f) for f in reports)
        else:  # its own summary only
            assert list(_removal_lines(out)) == [kept[2]], out
    assert all(os.path.isfile(f) for f in kept[:2])
    # rnd on the same 3 tasks (a pair is of one task count), then each
    # command writes its report again
    assert run_cli(SWEEP, ['--model', 'rnd', '--num_task', '3', *flags]) == 0
    for path, cmd in reports.items():
        _summarize(capsys, *shlex.split(cmd)[2:])
        assert os.path.isfile(path)


def test_a_rerun_ablation_removes_the_ablation_comparison(tmp_path, capsys):
    """The ablation writes results that ``summarize.py --compare A B
    --ablation`` reads: another ablation result of A removes that
    comparison, with the command that writes it again (its
    ``--ablation`` too), even with ``--quiet``."""
    import shlex
    w = str(tmp_path / 'w')
    make_workdir(w, 'clp_wo_78', seed=0, spread=1.0)
    make_workdir(w, 'fsp_wo_78', seed=1, spread=0.4)

    def ablation(model, num_task):
        assert run_cli(ABLATION, [
            '--workdir', w, '--model', model, '--num_task', str(num_task),
            '--num_shots', '2', '--prototypes', 'none', '--image', 'none',
            '--latent', 'none', '--hybrid', 'none', '--quiet']) == 0, \
            capsys.readouterr().err
        return capsys.readouterr().out
    for model in ('clp_wo_78', 'fsp_wo_78'):
        ablation(model, 8)
    _summarize(capsys, '--workdir', w, '--compare', 'clp_wo_78', 'fsp_wo_78',
               '--ablation')
    report = paths.summary_path(w, 'json', paths.compare_name(
        'clp_wo_78', 'fsp_wo_78', ablation=True))
    assert os.path.isfile(report)
    cmd = (f'python {ROOT}/wsi_workdir/summarize.py --workdir {w} --compare '
           'clp_wo_78 fsp_wo_78 --ablation')
    assert _removal_lines(ablation('clp_wo_78', 6)) == {report: cmd}
    assert not os.path.exists(report)
    ablation('fsp_wo_78', 6)  # the pair on the same tasks, then written
    _summarize(capsys, *shlex.split(cmd)[2:])
    assert os.path.isfile(report)


def test_a_sweep_reads_each_summary_report_once(tmp_path, monkeypatch):
    """Every result written parsed every JSON under ``summary/`` (0.5 s
    per result with 95 reports). A sweep reads each report once, however
    many results it writes or replaces, and still removes those that read
    one."""
    from openselfsup.lowshot import report as R
    from openselfsup.lowshot.report import summarize
    parsed = []
    real = R.json_object_or_none

    def counting(path):
        parsed.append(path)
        return real(path)
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    specs = sweep_specs('clp', 'mixture', shots=[1, 2],
                        clfs=['Ridge', 'nearest_centroid'],
                        modes=['linear'], num_task=4)
    ridge, nc = ([s for s in specs if s.clf == c]
                 for c in ('Ridge', 'nearest_centroid'))
    run_sweep(wd, [ridge[0], nc[0]], log=None)
    kept = summarize(wd, clf='nearest_centroid')  # nothing of Ridge
    summary = summarize(wd)
    monkeypatch.setattr(R, 'json_object_or_none', counting)
    run_sweep(wd, [ridge[1], nc[1]], log=None)   # new results
    assert sorted(parsed) == sorted([kept['json'], summary['json']])
    parsed.clear()
    run_sweep(wd, [RunSpec(s.model, s.task, s.shots, clf=s.clf, mode=s.mode,
                           num_task=3) for s in ridge], log=None)
    assert sorted(parsed) == sorted([kept['json'], summary['json']])
    assert os.path.isfile(kept['json'])
    assert not os.path.exists(summary['json'])


def test_a_result_deleted_then_run_again_removes_the_reports_of_it(
        tmp_path):
    """A report that read a result the user then deleted kept its numbers
    when the result was run again: reports were looked for only where a
    result file was there to be replaced (nothing, it was assumed, can
    have read a file that is not there)."""
    from openselfsup.lowshot.report import summarize
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    spec, = sweep_specs('clp', 'mixture', shots=[1], clfs=['Ridge'],
                        modes=['linear'], num_task=4)
    run_sweep(wd, [spec], log=None)
    summary = summarize(wd)
    os.remove(spec.result_path(wd))
    lines = []
    run_sweep(wd, [RunSpec(spec.model, spec.task, spec.shots, clf=spec.clf,
                           mode=spec.mode, num_task=3)],
              log=None, warn=lines.append)
    assert not os.path.exists(summary['json'])
    assert any(ln.startswith(f'removed {summary["json"]}') for ln in lines)


def test_an_overlapping_sweep_removes_the_other_index_not_a_newer_one(
        tmp_path):
    """Another sweep that rewrites a setting of an earlier one with
    another result removes the earlier index set (the ablation's plot too,
    given as ``describing``); an index rewritten since at the same path by
    a sweep that no longer lists the result (another ``sweep_id``) is
    kept."""
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    specs = sweep_specs('clp', 'mixture', shots=[1, 2], clfs=['Ridge'],
                        modes=['linear'], num_task=4)
    other = os.path.join(wd, 'sweeps', 'other.json')
    png = os.path.join(wd, 'sweeps', 'other.png')
    b = run_sweep(wd, specs[1:], output=other, describing=[png], log=None)
    with open(png, 'wb') as f:
        f.write(b'plot')
    _other_features(wd)
    lines = []
    a = run_sweep(wd, specs, log=lines.append,  # rewrites 2-shot: b's
                  warn=lines.append)
    assert not any(os.path.exists(p) for p in (other, b['summary_md'], png))
    assert [ln for ln in lines if ln.startswith('removed ')] == [
        f'removed {other}, {b["summary_md"]}, {png}: the sweep index listed '
        f'{specs[1].result_path(wd)}, which is being replaced by another '
        'result (rerun that sweep to write them anew)']
    # the same index path rewritten by a sweep of the 1-shot setting only:
    # the 2-shot result still names the first sweep's id, not this one's
    again = run_sweep(wd, specs[:1], log=None)
    assert again['output'] == a['output'] and \
        again['sweep_id'] != a['sweep_id']
    _other_features(wd)
    lines.clear()
    run_meta_test(wd, specs[1], progress=False, log=lines.append)
    assert lines == []
    saved = json.load(open(again['output']))
    assert saved['sweep_id'] == again['sweep_id']
    assert [e['output'] for e in saved['settings']] == [
        specs[0].result_path(wd)]


def test_sweep_names_every_store_of_the_earlier_sampler_at_once(tmp_path):
    """Near-domain stores of the earlier sampler were refused one per run:
    a full sweep took 27 rounds of 'draw it again'. The sweep now names
    them all before any setting runs, with one command that redraws them,
    after which it runs."""
    import shlex

    import numpy as np

    from openselfsup.lowshot.tasks import generate_task_store
    from openselfsup.utils import run_cli
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    specs = sweep_specs('clp', 'near', [0, 3], [1, 2], ['Ridge'], ['linear'],
                        model_template='{model}', num_task=5)
    for spec in specs:  # stores as the earlier version wrote them
        path = spec.tasks.path(wd)
        generate_task_store(wd, spec.tasks)
        with np.load(path) as z:
            old = {k: z[k] for k in z.files if k != 'sampler'}
        np.savez(path, **old)
    with pytest.raises(InputError) as err:
        run_sweep(wd, specs, log=None)
    msg = str(err.value)
    assert msg.startswith(f'4 near-domain task store(s) in {wd}/tasks were '
                          'drawn by an earlier version'), msg
    cmd = msg.split('draw them again with: ')[1]
    assert cmd == (f'python {ROOT}/wsi_workdir/tools/generate_task.py '
                   '--task near '
                   '--num_shots 1 2 --num_task 5 --novel_class 0 3 '
                   f'--workdir {wd} --overwrite')
    assert not os.path.isdir(os.path.join(wd, 'results'))  # nothing ran
    gen = tool_module('wsi_workdir/tools/generate_task.py')
    assert run_cli(gen.main, shlex.split(cmd)[2:]) == 0
    assert len(run_sweep(wd, specs, log=None)['results']) == 4



def test_a_listed_index_is_removed_only_as_a_set_and_never_lost_work(
        tmp_path, monkeypatch):
    """A result's ``sweeps`` ref removes the files it names when the result
    is replaced: only an index JSON and files of its stem beside it (a ref
    edited to name another file removed that file); and an index that
    cannot be removed (its folder read-only) was a traceback after the
    meta-test's work, its result not written: now a warning, the result
    written."""
    from openselfsup.lowshot import meta_test
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    specs = sweep_specs('clp', 'mixture', shots=[1], clfs=['Ridge'],
                        modes=['linear'], num_task=4)
    first = run_sweep(wd, specs, log=None)
    index, md, png = first['output'], first['summary_md'], first['summary_png']
    path = specs[0].result_path(wd)
    result = json.load(open(path))
    other = os.path.join(wd, 'mine.txt')
    with open(other, 'w') as f:
        f.write('keep\n')
    ref = result['sweeps'][0]
    result['sweeps'] = [{**ref, 'files': ref['files'] + [
        os.path.relpath(other, os.path.dirname(path))]}]
    with open(path, 'w') as f:
        json.dump(result, f)
    _other_features(wd)
    lines = []
    run_meta_test(wd, specs[0], progress=False, log=lines.append)
    assert lines == [] and os.path.isfile(other) and os.path.isfile(index)
    # a real ref again; the removal fails: warned, the result written
    run_sweep(wd, specs, log=None)
    _other_features(wd)

    def refuse(files):
        raise PermissionError(13, 'Permission denied', files[0])
    monkeypatch.setattr(meta_test, 'remove_set', refuse)
    new = run_meta_test(wd, specs[0], progress=False, log=lines.append)
    assert lines == [
        f'warning: could not remove {index}, {md}, {png} (Permission '
        'denied): the '
        f'sweep index lists {path}, which is being replaced by another '
        'result, and its numbers; delete them'], lines
    assert json.load(open(path))['average_mean'] == new['average_mean']
    assert 'sweeps' not in json.load(open(path))

def test_a_rerun_in_a_copied_workdir_keeps_the_copys_sweep_index(tmp_path):
    """A workdir copied elsewhere holds the same inputs, its results name
    its own index (relative paths); a rerun there on those inputs is the
    same result, but its recorded input paths (absolute) are the copy's,
    so it was taken for another result: the copy's index and table were
    removed with a line saying the result was replaced. Input paths are
    where the files lie, not what the result is (their digests are)."""
    import shutil
    wd = make_workdir(str(tmp_path / 'a'), model='clp', dim=16)
    specs = sweep_specs('clp', 'mixture', shots=[1], clfs=['Ridge'],
                        modes=['latent_aug'], **KW)
    run_sweep(wd, specs, log=None)
    copy = str(tmp_path / 'b')
    shutil.copytree(wd, copy)
    index = paths.sweep_path(copy, 'clp', 'mixture')
    md = index[:-5] + '.md'
    path = specs[0].result_path(copy)
    before = json.load(open(path))['sweeps']
    lines = []
    again = run_meta_test(copy, specs[0], progress=False, log=lines.append)
    assert lines == [] and os.path.isfile(index) and os.path.isfile(md)
    assert again['files']['task_store']['path'].startswith(copy)
    assert json.load(open(path))['sweeps'] == before
    # other inputs under the copy's same paths still replace it
    _other_features(copy)
    run_meta_test(copy, specs[0], progress=False, log=lines.append)
    assert len(lines) == 1 and not os.path.exists(index)


def test_a_sweep_writes_its_plot_with_the_numbers_of_its_index(
        tmp_path, monkeypatch):
    """sweep.py printed a table and wrote a JSON index and its .md, but no
    plot (the summary and the ablation draw one). The index's .png is
    written with them: F1 (%) against shots, one panel per classifier,
    each point a setting's average_mean and its error bar the setting's
    average_ci, as the index holds them; a valid PNG."""
    from PIL import Image

    from openselfsup.lowshot import report
    figs, real = [], report.figure_png
    monkeypatch.setattr(report, 'figure_png',
                        lambda fig: figs.append(fig) or real(fig))
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    specs = sweep_specs('clp', 'mixture', shots=[1, 2],
                        clfs=['Ridge', 'nearest_centroid'],
                        modes=['linear'], num_task=4)
    sweep = run_sweep(wd, specs, log=None)
    png = os.path.join(wd, 'sweeps', 'clp_mixture.png')
    assert sweep['summary_png'] == png
    with open(sweep['output']) as f:
        settings = json.load(f)['settings']
    with Image.open(png) as im:
        im.verify()
    (fig, ) = figs
    panels = {ax.get_ylabel().split('\n')[0]: ax for ax in fig.axes}
    assert sorted(panels) == ['Ridge', 'nearest_centroid']
    for clf, ax in panels.items():
        (bars, ) = ax.containers
        line = bars.lines[0]
        mine = sorted((s['num_shots'], 100 * s['average_mean'],
                       100 * s['average_ci']) for s in settings
                      if s['clf'] == clf)
        assert list(line.get_xdata()) == [m[0] for m in mine]
        assert list(line.get_ydata()) == pytest.approx([m[1] for m in mine])
        segments = bars.lines[2][0].get_segments()
        assert [(s[1][1] - s[0][1]) / 2 for s in segments] == \
            pytest.approx([m[2] for m in mine])


def _sweep_cli():
    """``wsi_workdir/sweep.py`` as a module (its ``main``)."""
    return tool_module('wsi_workdir/sweep.py')


def test_each_model_has_an_index_of_its_own(tmp_path, capsys):
    """``sweep.py --model clp_wo_78 --task mixture`` wrote
    ``sweeps/clp_mixture.*`` (the model cut at its first ``_wo_``), the
    index of ``--model clp --task mixture``: the second run replaced the
    first's index, table and plot without a word, and a file named for clp
    held clp_wo_78's numbers. The index is named for ``--model``, as
    GETTING_STARTED and the help say (``sweeps/<model>_<task>``); a
    near-domain sweep of a family keeps the family's name."""
    from openselfsup.utils import run_cli
    cli = _sweep_cli()
    wd = str(tmp_path)
    for model in ('clp', 'clp_wo_78', 'my_wo_net_wo_0'):
        make_workdir(wd, model=model, dim=16)
    runs = [('clp', 'mixture'), ('clp_wo_78', 'mixture'),
            ('my_wo_net', 'near')]
    for model, task in runs:
        argv = ['--model', model, '--task', task, '--shots', '1', '--clfs',
                'Ridge', '--modes', 'linear', '--num_task', '4',
                '--workdir', wd, '--quiet']
        if task == 'near':
            argv += ['--novel_classes', '0']
        assert run_cli(cli.main, argv) == 0, capsys.readouterr().err
    for model, task in runs:
        with open(os.path.join(wd, 'sweeps', f'{model}_{task}.json')) as f:
            index = json.load(f)
        assert {s['model'] for s in index['settings']} == {
            f'{model}_wo_0' if task == 'near' else model}


def test_a_quiet_sweep_still_says_it_replaced_a_result(tmp_path, capsys):
    """``sweep.py --quiet`` rerun over another task count: the note that a
    result over another number of tasks was replaced went to the same log
    as the per-setting blocks, which ``--quiet`` drops, and the 4-task
    result was replaced by a 2-task one without a word. A warning-level
    fact: ``--quiet`` keeps it (and still drops the blocks). The
    reference: the task counts the result file holds before and after."""
    from openselfsup.utils import run_cli
    cli = _sweep_cli()
    wd = str(tmp_path)
    make_workdir(wd, model='clp', dim=16)
    path = RunSpec('clp', 'mixture', 1, num_task=4).result_path(wd)
    counts = []
    for n in (4, 2):
        capsys.readouterr()
        assert run_cli(cli.main, [
            '--model', 'clp', '--task', 'mixture', '--shots', '1', '--clfs',
            'Ridge', '--modes', 'linear', '--num_task', str(n), '--workdir',
            wd, '--quiet']) == 0, capsys.readouterr().err
        with open(path) as f:
            counts.append(json.load(f)['num_task'])
    out = capsys.readouterr().out
    assert counts == [4, 2]
    assert f'note: replaced {path}, a result over 4 tasks (now 2) ' in out, \
        out
    assert '== clp mixture' not in out, out  # no per-setting block


@pytest.fixture
def meta_reads(monkeypatch):
    """The names of the feature sets whose meta JSON is read
    (``features.load_meta``), in order, as they are read."""
    from openselfsup.lowshot import features
    read = features.load_meta
    reads = []

    def counted(workdir, name, *args, **kwargs):
        reads.append(name)
        return read(workdir, name, *args, **kwargs)
    monkeypatch.setattr(features, 'load_meta', counted)
    return reads


def test_a_sweep_reads_the_support_sets_class_names_once(tmp_path,
                                                         meta_reads):
    """Every near-domain setting's inputs checked the pairing of its
    model and novel class against the class names of the support set's
    meta JSON (100,000 paths at paper scale), read again for each setting
    past the names cache the result's class names come from. Now the
    check reads the cache: a sweep of 4 near settings reads that file as
    often as a sweep of one. The reference: the reads of the one-setting
    sweep, counted alike."""
    reads, counts = meta_reads, []
    for shots, clfs in (([1], ['Ridge']),
                        ([1, 2], ['Ridge', 'nearest_centroid'])):
        wd = make_workdir(str(tmp_path / str(len(counts))), model='clp',
                          dim=16)
        specs = sweep_specs('clp', 'near', [3], shots, clfs, ['linear'],
                            model_template='{model}', num_task=2)
        assert len(specs) == len(shots) * len(clfs)
        reads.clear()
        run_sweep(wd, specs, log=None, write_index=False)
        counts.append(reads.count('NCT_train'))
    assert counts[0] > 0 and counts[1] == counts[0], counts


def test_a_near_sweep_reads_each_meta_json_once(tmp_path, meta_reads):
    """A near-domain sweep read the support set's meta JSON (100,000
    paths at paper scale) once for the class names and again for the
    image-overlap check of every model's pools: one per novel class
    (``clp_wo_3``, ``clp_wo_5``), and the query set's once per model too.
    Now the sweep's inputs keep each meta they read: once per file. The
    reference: one read per file, counted."""
    wd = str(tmp_path / 'wd')
    for model in ('clp_wo_3', 'clp_wo_5'):
        make_workdir(wd, model=model, dim=16)
    specs = sweep_specs('clp', 'near', [3, 5], [1], ['Ridge'], ['linear'],
                        num_task=2)
    assert sorted({s.model for s in specs}) == ['clp_wo_3', 'clp_wo_5']
    meta_reads.clear()
    run_sweep(wd, specs, log=None, write_index=False)
    assert sorted(meta_reads) == ['NCT_test', 'NCT_train'], meta_reads


def test_a_sweep_of_one_setting_says_setting(tmp_path, capsys):
    """A sweep of one setting printed '1 settings' (in its first line and
    its last); the count's noun follows the count, as a hand-written
    reference of 1 and 2 settings says."""
    from openselfsup.utils import run_cli
    cli = _sweep_cli()
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    for shots, want in ((['1'], '1 setting'), (['1', '2'], '2 settings')):
        capsys.readouterr()
        assert run_cli(cli.main, [
            '--model', 'clp', '--task', 'mixture', '--shots', *shots,
            '--clfs', 'Ridge', '--modes', 'linear', '--num_task', '2',
            '--workdir', wd]) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        assert f'preparing the inputs of {want} (' in out, out
        assert f': {want} in ' in out, out
    from openselfsup.utils import count_words
    assert [count_words(n, 'setting') for n in (0, 1, 2)] == [
        '0 settings', '1 setting', '2 settings']


def test_a_sweep_says_which_classifiers_skip_the_expected_mode(tmp_path,
                                                               capsys):
    """``--modes latent_aug_expected`` with the default classifiers ran
    Ridge and nearest centroid and skipped logistic regression without a
    word; the sweep now says so in one line (not in --check, which the
    scripts run first). Reference: the settings the index lists, by
    classifier."""
    from openselfsup.utils import run_cli
    cli = _sweep_cli()
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    argv = ['--model', 'clp', '--task', 'mixture', '--shots', '1',
            '--modes', 'latent_aug_expected', '--num_task', '2',
            '--num_prototypes', '4', '--num_shift_vectors', '30',
            '--workdir', wd, '--quiet']
    assert run_cli(cli.main, argv + ['--check']) == 0
    assert capsys.readouterr().out == ''
    assert run_cli(cli.main, argv) == 0, capsys.readouterr().err
    notes = [line for line in capsys.readouterr().out.splitlines()
             if line.startswith('note: skipping')]
    with open(os.path.join(wd, 'sweeps', 'clp_mixture.json')) as f:
        ran = {s['clf'] for s in json.load(f)['settings']}
    assert ran == {'Ridge', 'nearest_centroid'}
    assert notes == [
        'note: skipping logistic_regression in latent_aug_expected '
        '(--modes latent_aug_expected has a closed form for Ridge and '
        'nearest_centroid only, not logistic_regression)'], notes


def test_a_missing_feature_set_of_a_later_setting_stops_before_any_work(
        tmp_path):
    """The sweep met a missing feature set when it reached its setting:
    the task stores and dictionaries of the settings before it were made
    first. Every set the settings read is now checked present first (the
    line load_features gives; nothing made). Reference: the workdir's
    files before and after."""
    from lowshot_data import snapshot
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    kw = dict(shots=[1], clfs=['Ridge'], modes=['latent_aug'], **KW)
    specs = sweep_specs('clp', 'mixture', **kw) + \
        sweep_specs('fsp', 'mixture', **kw)
    before = snapshot(wd)
    with pytest.raises(InputError, match='fsp/LC.npy'):
        run_sweep(wd, specs, log=None)
    assert snapshot(wd) == before


def test_a_later_familys_missing_feature_set_stops_the_first_sweep(
        tmp_path):
    """The domain scripts checked each later family of MODELS in a
    process of its own (a torch start-up each). The first family's sweep
    now takes the later families' settings (check_also) and checks their
    feature sets with its own before it makes anything; they are not run.
    Reference: the workdir's files before and after; with fsp's features
    there, only clp's settings run."""
    from lowshot_data import snapshot
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    kw = dict(shots=[1], clfs=['Ridge'], modes=['latent_aug'], **KW)
    clp = sweep_specs('clp', 'mixture', **kw)
    fsp = sweep_specs('fsp', 'mixture', **kw)
    before = snapshot(wd)
    with pytest.raises(InputError, match='fsp/LC.npy'):
        run_sweep(wd, clp, log=None, check_also=fsp)
    assert snapshot(wd) == before
    make_workdir(str(tmp_path), model='fsp', dim=16)
    sweep = run_sweep(wd, clp, log=None, check_also=fsp)
    assert [r['model'] for r in sweep['results']] == ['clp']


@pytest.mark.parametrize('case', [
    'the sweep\'s own, features replaced', 'features the same (re-saved)',
    'made by dict_construction.py', 'its workdir copied whole',
    'another workdir, absolute record (before 2026-12-05)',
    'in place, absolute record (before 2026-12-05)',
    'other K under its name', 'other novel class under its name',
    'other model recorded', 'found elsewhere'])
def test_the_sweep_rebuilds_only_its_own_stale_dictionary(tmp_path, case):
    """made_by_sweep_from_replaced: true only for a dictionary the sweep
    made (made_by), at the place of the spec (path), with its K, M, seed
    and novel class, of its model and feature set, from the same base
    feature file, whose features have been replaced since; each case
    below breaks exactly one condition (deleting that condition from the
    function makes its case fail). The feature file is the one at the
    same place under the workdir (a workdir copied whole, or moved, is
    the same workdir: the copy's sweep refused its own dictionary); a
    file written before 2026-12-05 records it by its absolute path, the
    same file only at that place. Reference: the conditions as the
    module docstring states them, applied by hand to each case."""
    import shutil
    from openselfsup.lowshot.dictionary import (construct_dictionary,
                                                load_dictionary,
                                                made_by_sweep_from_replaced)
    from openselfsup.lowshot.features import load_features
    wd = make_workdir(str(tmp_path / 'a'), 'clp', dim=6)
    spec = DictionarySpec('clp', 7, num_prototypes=3, num_shift_vectors=5)
    made_by = 'dict_construction.py' if 'dict_construction' in case \
        else 'sweep'
    construct_dictionary(wd, spec, made_by=made_by)
    path = spec.path(wd)
    fpath = paths.features_path(wd, 'clp', 'NCT_train')
    if 're-saved' in case:  # the same features written again
        np.save(fpath, np.load(fpath))
    else:  # extracted again (another encoder)
        np.save(fpath, np.load(fpath) * 1.01)
    if case.startswith(('its workdir copied', 'another workdir')):
        # the whole workdir, features replaced since, copied elsewhere
        wd = shutil.copytree(wd, str(tmp_path / 'b' / 'copy'))
        path = spec.path(wd)
    elif case == 'other K under its name':  # a K=3 file under K=4's name
        spec = DictionarySpec('clp', 7, num_prototypes=4,
                              num_shift_vectors=5)
        os.replace(path, spec.path(wd))
        path = spec.path(wd)
    elif case == 'other novel class under its name':
        spec = DictionarySpec('clp', 6, num_prototypes=3,
                              num_shift_vectors=5)
        os.replace(path, spec.path(wd))
        path = spec.path(wd)
    elif case == 'found elsewhere':
        os.replace(path, str(tmp_path / 'elsewhere.npz'))
        path = str(tmp_path / 'elsewhere.npz')
    dic = load_dictionary(path)
    if case == 'other model recorded':
        dic.source['model'] = 'fsp'
    if 'absolute record' in case:  # as written before 2026-12-05
        assert dic.source['features_path'] == os.path.join(
            'extracted_feats', 'clp', 'NCT_train.npy')
        dic.source['features_path'] = os.path.abspath(fpath)
    base = load_features(wd, 'clp', 'NCT_train')
    assert made_by_sweep_from_replaced(dic, spec, base, wd) == (
        case in ("the sweep's own, features replaced",
                 'its workdir copied whole',
                 'in place, absolute record (before 2026-12-05)'))


def test_a_sweep_says_each_setting_as_it_starts_and_shows_its_chunks(
        tmp_path, capsys):
    """Run as the scripts run it (stdout and stderr redirected to one log
    file), a sweep printed a setting's header only once the setting was
    done, with no progress bar over its chunks (a logistic-regression
    latent_aug setting: the log silent for minutes). Each setting now has
    a line as it starts, then its chunks' progress lines (the meta-test's
    bar: one line at the end of a short setting in a log file), then its
    block; the results are those of a run without a log (``--quiet``)."""
    import subprocess
    import sys
    from lowshot_data import ROOT
    wd = make_workdir(str(tmp_path / 'w'), model='clp', dim=16)
    args = [sys.executable, os.path.join(ROOT, 'wsi_workdir', 'sweep.py'),
            '--model', 'clp', '--task', 'mixture', '--shots', '1', '2',
            '--clfs', 'Ridge', 'nearest_centroid', '--modes', 'linear',
            '--num_task', '5', '--chunk_size', '2', '--threads', '1',
            '--workdir', wd]
    env = dict(os.environ, PYTHONPATH=ROOT)
    log = tmp_path / 'log.txt'
    with open(log, 'w') as f:
        subprocess.run(args, stdout=f, stderr=subprocess.STDOUT, env=env,
                       check=True, timeout=300)
    lines = log.read_text().splitlines()
    specs = sweep_specs('clp', 'mixture', shots=[1, 2],
                        clfs=['Ridge', 'nearest_centroid'],
                        modes=['linear'], num_task=5)
    assert len(specs) == 4
    results = {}
    for i, spec in enumerate(specs, 1):
        name = (f'clp mixture | {spec.shots}-shot | {spec.clf} | linear')
        start = lines.index(f'-> {name}  ({i}/4, 5 tasks): meta-testing')
        end = next(k for k, line in enumerate(lines)
                   if line.startswith(f'== {name}  ({i}/4, 5 tasks, '))
        # between them: the bar over its 3 chunks (5 tasks, 2 per chunk),
        # whole lines, no \r redraws
        bar = lines[start + 1:end]
        assert bar and all(f'{spec.clf} linear: ' in line for line in bar)
        assert '3/3' in bar[-1] and not any('\r' in b for b in bar)
        with open(spec.result_path(wd)) as f:
            results[spec] = json.load(f)['per_task_f1']
    # the same numbers as a quiet sweep (no log, no bar), in-process: the
    # log file's process is the one above
    capsys.readouterr()
    assert run_cli(SWEEP, args[2:] + ['--quiet']) == 0
    quiet = ''.join(capsys.readouterr())
    assert 'meta-testing' not in quiet
    assert '/3 ' not in quiet
    for spec, f1 in results.items():
        with open(spec.result_path(wd)) as f:
            assert json.load(f)['per_task_f1'] == f1


def test_a_sweep_of_more_tasks_extends_the_stores_it_drew(tmp_path):
    """A sweep over more tasks than its stores hold (``NUM_TASK=100`` after
    the 30-task quick start) stopped at the first store, one store per
    rerun; it extends each, says so, and its tasks are those of a sweep
    that drew them at once."""
    from openselfsup.lowshot.tasks import TaskStore
    wd = make_workdir(str(tmp_path / 'a'), model='clp', dim=16)
    fresh = make_workdir(str(tmp_path / 'b'), model='clp', dim=16)

    def specs(n):
        return sweep_specs('clp', 'mixture', shots=[1, 2], clfs=['Ridge'],
                           modes=['linear'], num_task=n)
    run_sweep(wd, specs(4), log=None)
    notes = []
    run_sweep(wd, specs(9), log=None, warn=notes.append)
    run_sweep(fresh, specs(9), log=None)
    extended = [n for n in notes if n.startswith('note: extended ')]
    assert len(extended) == 2, notes
    assert all('from 4 to 9 tasks' in n for n in extended)
    for spec in specs(9):
        assert TaskStore.load(spec.tasks.path(wd)).sha1 == \
            TaskStore.load(spec.tasks.path(fresh)).sha1
        with open(spec.result_path(wd)) as a, \
                open(spec.result_path(fresh)) as b:
            assert json.load(a)['per_task_f1'] == json.load(b)['per_task_f1']


def test_sweep_names_every_store_it_cannot_extend_at_once(tmp_path,
                                                          monkeypatch):
    """Stores of fewer tasks than asked that cannot be extended (drawn all
    at once, an earlier version's sampler 2: their first tasks depend on
    their size) were refused one per run; the sweep names them all in one
    line, with one command per domain, before anything runs or is
    written; those commands make the sweep run."""
    import shlex

    from lowshot_data import script_main
    from openselfsup.lowshot import tasks
    from openselfsup.utils import run_cli
    wd = make_workdir(str(tmp_path), model='clp', dim=16)

    def specs(n):
        return [s for task in ('mixture', 'out') for s in sweep_specs(
            'clp', task, shots=[1, 2], clfs=['Ridge'], modes=['linear'],
            num_task=n)]
    monkeypatch.setattr(tasks, 'TASK_BLOCK', 4)  # 4 tasks drawn at once
    for spec in specs(4):  # stores as sampler 2 wrote them
        store, _ = tasks.generate_task_store(wd, spec.tasks)
        with np.load(store.path) as z:
            old = {k: z[k] for k in z.files}
        np.savez(store.path, **dict(old, sampler=np.int64(2)))
    monkeypatch.undo()
    before = snapshot(wd)
    with pytest.raises(InputError) as err:
        run_sweep(wd, specs(9), log=None)
    msg = str(err.value)
    assert msg.startswith(f'4 task store(s) in {wd}/tasks hold fewer tasks '
                          'than asked and were drawn by an earlier version'
                          ), msg
    cmds = msg.split('draw them again with: ')[1].split(' ; ')
    assert cmds == [f'python {ROOT}/wsi_workdir/tools/generate_task.py '
                    f'--task {t} '
                    f'--num_shots 1 2 --num_task 9 --workdir {wd} '
                    '--overwrite' for t in ('mixture', 'out --mode hetero')
                    ], cmds
    assert snapshot(wd) == before  # nothing written
    gen = script_main('wsi_workdir/tools/generate_task.py')
    for cmd in cmds:
        assert run_cli(gen, shlex.split(cmd)[2:]) == 0
    assert len(run_sweep(wd, specs(9), log=None)['results']) == 4


def _as_written_by(path, sampler):
    """Rewrite the store at ``path`` as an earlier sampler wrote it: its
    ``sampler`` field ``sampler``, or none (sampler 1, before the field)."""
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files if k != 'sampler'}
    if sampler is not None:
        arrays['sampler'] = np.int64(sampler)
    np.savez(path, **arrays)


def test_the_command_for_stores_that_cannot_be_extended_covers_none(
        tmp_path, monkeypatch):
    """A near-domain sweep of the store without a novel class and novel
    class 7's (``--novel_classes none 7``), both too small to extend: the
    line's command listed ``--novel_class 7`` alone, and the sweep run
    after it was refused again on the other store. The command names
    ``none`` beside 7, and after it the sweep runs."""
    import shlex

    from lowshot_data import script_main
    from openselfsup.lowshot import tasks
    from openselfsup.utils import run_cli
    wd = str(tmp_path)
    for model in ('clp', 'clp_wo_7'):
        make_workdir(wd, model=model, dim=8)

    def specs(n):
        return sweep_specs('clp', 'near', shots=[1], clfs=['Ridge'],
                           modes=['linear'], num_task=n,
                           novel_classes=[None, 7])
    monkeypatch.setattr(tasks, 'TASK_BLOCK', 4)
    for spec in specs(4):
        _as_written_by(tasks.generate_task_store(wd, spec.tasks)[0].path, 2)
    monkeypatch.undo()
    with pytest.raises(InputError) as err:
        run_sweep(wd, specs(9), log=None)
    [cmd] = str(err.value).split('draw them again with: ')[1].split(' ; ')
    assert cmd == (f'python {ROOT}/wsi_workdir/tools/generate_task.py '
                   '--task near '
                   '--num_shots 1 --num_task 9 --novel_class none 7 '
                   f'--workdir {wd} --overwrite'), cmd
    gen = script_main('wsi_workdir/tools/generate_task.py')
    assert run_cli(gen, shlex.split(cmd)[2:]) == 0
    assert len(run_sweep(wd, specs(9), log=None)['results']) == 2


@pytest.mark.parametrize('kind', ['short', 'stale'])
def test_the_redraw_commands_draw_exactly_the_stores_named(
        tmp_path, monkeypatch, kind):
    """The stores to draw again are 1-shot of novel class 0 and 5-shot of
    7; 5-shot 0 and 1-shot 7 are fine (50 tasks, drawn now). One command
    for both, ``--num_shots 1 5 --novel_class 0 7``, drew all four, and
    with ``--overwrite`` cut the fine ones to the tasks asked. One command
    per (shots, novel classes) group, each of exactly the stores named
    (read back by generate_task.py's own parser); run, the fine stores
    are untouched and the check passes."""
    import shlex

    from lowshot_data import script_main
    from openselfsup.lowshot import tasks
    from openselfsup.utils import run_cli
    wd = make_workdir(str(tmp_path), model='clp', dim=8)
    fine = [TaskSpec('near', 5, 50, novel_class=0),
            TaskSpec('near', 1, 50, novel_class=7)]
    for spec in fine:
        tasks.generate_task_store(wd, spec)
    redraw = [TaskSpec('near', 1, 4, novel_class=0),
              TaskSpec('near', 5, 4, novel_class=7)]
    if kind == 'short':  # drawn all at once (sampler 2), 4 tasks
        monkeypatch.setattr(tasks, 'TASK_BLOCK', 4)
    for spec in redraw:
        path = tasks.generate_task_store(wd, spec)[0].path
        _as_written_by(path, 2 if kind == 'short' else None)
    monkeypatch.undo()
    before = {s.path(wd): open(s.path(wd), 'rb').read() for s in fine}
    asked = [TaskSpec('near', sh, 9, novel_class=c)
             for c in (0, 7) for sh in (1, 5)]
    with pytest.raises(InputError) as err:
        tasks.check_samplers(wd, asked)
    cmds = str(err.value).split('draw them again with: ')[1].split(' ; ')
    gen = script_main('wsi_workdir/tools/generate_task.py')
    parse = gen.__globals__['parse_args']
    drawn = []
    for cmd in cmds:
        args = parse(shlex.split(cmd)[2:])
        assert args.overwrite and args.num_task == 9
        drawn += [(args.task, shots, c) for shots in args.num_shots
                  for c in args.novel_class]
    assert sorted(drawn) == [('near', 1, 0), ('near', 5, 7)], cmds
    for cmd in cmds:
        assert run_cli(gen, shlex.split(cmd)[2:]) == 0
    for path, data in before.items():
        with open(path, 'rb') as f:
            assert f.read() == data
    tasks.check_samplers(wd, asked)


@pytest.mark.parametrize('flags', [
    [], ['--check_models', 'fsp', '--as_script', '/s/evaluate_encoder.sh'],
    ['--threads', '-1'], ['--chunk_size', '0', '--as_script', '/s/e.sh'],
    ['--device', 'gpu'], ['--near_shots', '0']])
def test_the_sweep_check_starts_without_torch(tmp_path, capsys, flags):
    """``sweep.py --check``, which the scripts run before they extract
    features, imported torch (with the sweep's engine) for a check that
    computes nothing: about 1.6 s of CPU of each fresh process. It
    imports neither torch nor scipy now, passing or refusing (CUDA asked
    for still asks torch about the GPU), and says what the same check
    says in this process (the reference, where torch is loaded), writing
    nothing."""
    from _foundation_helpers import loaded_modules
    wd = tmp_path / 'w'
    argv = ['--model', 'clp', '--task', 'near', 'mixture', '--workdir',
            str(wd), '--check', *flags]
    rc, out, lines, loaded = loaded_modules(['wsi_workdir/sweep.py', *argv],
                                            ('torch', 'scipy'))
    assert loaded == [], loaded
    reference = run_cli(script_main('wsi_workdir/sweep.py'), argv)
    said = capsys.readouterr()
    assert (rc, out, lines) == (reference, said.out,
                                said.err.splitlines()), lines
    assert not wd.exists()


def _index_without_timings(path):
    """A sweep index as written, less what differs between two runs of
    the same settings on the same inputs: the random ``sweep_id``, the
    sweep's timings and each setting's (a reused setting's is the run
    that computed it)."""
    with open(path) as f:
        index = json.load(f)
    assert set(index) == {'model', 'task', 'num_settings', 'sweep_id',
                          'execution', 'elapsed_s', 'settings'}
    del index['sweep_id'], index['elapsed_s']
    for entry in index['settings']:
        del entry['elapsed_s']
    return index


def _stopped_at(monkeypatch, at):
    """The sweep's ``evaluate``, raising KeyboardInterrupt (Ctrl-C) at its
    ``at``-th call; returns the list of the settings it was called for."""
    from openselfsup.lowshot import sweep as sweep_mod
    real = sweep_mod.evaluate
    calls = []

    def evaluate(inputs, spec, *args, **kwargs):
        calls.append(spec)
        if len(calls) == at:
            raise KeyboardInterrupt
        return real(inputs, spec, *args, **kwargs)
    monkeypatch.setattr(sweep_mod, 'evaluate', evaluate)
    return calls


def test_an_interrupted_sweep_goes_on_where_it_stopped(tmp_path,
                                                       monkeypatch):
    """GETTING_STARTED said Ctrl-C keeps the results of the settings done
    before, but the same sweep run again computed every setting again
    (hours at the paper's scale). Run again with ``reuse`` (sweep.py's
    default), it computes only the settings the interrupted run had not
    written, says how many it reused in one line, and writes the index,
    table and plot an uninterrupted sweep writes (the reference: the same
    sweep with every setting computed, ``reuse=False``): the table and the
    plot byte for byte, the index field for field but for the sweep's id
    and the timings, every result file but for its ``execution`` (a reused
    one keeps its run's) and the sweep id it names."""
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    for name in ('clp_wo_0', 'clp_wo_3'):
        make_workdir(wd, model=name, dim=16)
    specs = sweep_specs('clp', 'near', [0, 3], [1, 2],
                        ['Ridge', 'logistic_regression'],
                        ['linear', 'latent_aug'], **KW) + \
        sweep_specs('clp', 'mixture', shots=[1], clfs=['Ridge'],
                    modes=['latent_aug'], **KW)
    calls = _stopped_at(monkeypatch, 6)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(wd, specs, log=None, reuse=True)
    assert calls == specs[:6]
    out = os.path.join(wd, 'sweeps', 'clp_near+mixture')
    assert not os.path.exists(f'{out}.json')
    calls = _stopped_at(monkeypatch, 0)  # never stops
    lines, notes = [], []
    resumed = run_sweep(wd, specs, log=lines.append, warn=notes.append,
                        reuse=True)
    assert calls == specs[5:], [setting_name(s) for s in calls]
    assert resumed['reused'] == 5
    assert notes == [
        f'reused 5 of 17 settings: their results in {wd}/results are '
        'current for them (the same settings, precision, device kind and '
        'meta-test version; the same inputs, as summarize.py judges them; '
        'checked in '
        + re.search(r'checked in (\d+\.\d\d) s', notes[0])[1]
        + ' s); --recompute (RECOMPUTE=1 for the scripts) computes them '
        'again']
    reused = [ln for ln in lines if ', reused: computed before in ' in ln]
    assert [ln.split('  (')[0] for ln in reused] == [
        setting_header(s) for s in specs[:5]]
    files = {}
    for ext in ('json', 'md', 'png'):
        with open(f'{out}.{ext}', 'rb') as f:
            files[ext] = f.read()
    results = {}
    for spec in specs:
        with open(spec.result_path(wd)) as f:
            results[spec] = json.load(f)
    index = _index_without_timings(f'{out}.json')
    calls = _stopped_at(monkeypatch, 0)
    whole = run_sweep(wd, specs, log=None, reuse=False)
    assert calls == specs and whole['reused'] == 0
    assert _index_without_timings(f'{out}.json') == index
    for ext in ('md', 'png'):
        with open(f'{out}.{ext}', 'rb') as f:
            assert f.read() == files[ext], ext
    with open(f'{out}.json') as f:
        sweep_id = json.load(f)['sweep_id']
    for spec in specs:
        with open(spec.result_path(wd)) as f:
            now = json.load(f)
        before = results[spec]
        assert [r['id'] for r in before['sweeps']] == [
            json.loads(files['json'])['sweep_id']]
        assert [r['id'] for r in now['sweeps']] == [sweep_id]
        for r in (now, before):
            del r['execution'], r['sweeps']
        assert now == before, setting_name(spec)


def test_a_sweep_reuses_only_results_of_its_very_setting(tmp_path,
                                                         capsys,
                                                         monkeypatch):
    """A result at a setting's file written by another setting (another
    ``--num_task``, ``--float32``: neither is in the file name; a run on
    a GPU), or on other inputs (features extracted again), or recorded of another
    model's features (a file copied over), is computed again, not reused;
    ``--recompute`` computes every setting again. The reference: which
    settings the sweep's meta-test runs for (``evaluate``'s calls), and
    the numbers of a workdir where every setting was computed."""
    from openselfsup.lowshot import sweep as sweep_mod
    from openselfsup.utils import run_cli
    wd = make_workdir(str(tmp_path / 'w'), model='clp', dim=16)
    fresh = make_workdir(str(tmp_path / 'f'), model='clp', dim=16)
    cli = _sweep_cli().main
    flags = ['--model', 'clp', '--task', 'mixture', 'out', '--shots', '1',
             '2', '--clfs', 'Ridge', '--modes', 'linear', '--quiet']
    real, calls = sweep_mod.evaluate, []

    def evaluate(inputs, spec, *args, **kwargs):
        calls.append((spec.task, spec.shots))
        return real(inputs, spec, *args, **kwargs)

    def sweep(*more, workdir=wd):
        calls.clear()
        capsys.readouterr()
        assert run_cli(cli, [*flags, '--workdir', workdir, *more]) == 0, \
            capsys.readouterr().err
        return list(calls), capsys.readouterr().out
    all4 = [(t, s) for t in ('mixture', 'out') for s in (1, 2)]
    import unittest.mock

    from openselfsup.lowshot import report
    # the sweep's plot drawn as bytes of its table (matplotlib's drawing
    # took 3.5 s of each of the 13 sweeps; which settings run and their
    # numbers do not read it): its table is still built, as the sweep does
    # (build_table's refusals), the PNG's drawing left to the plot's tests
    monkeypatch.setattr(report, 'plot_table',
                        lambda table, clf=None: repr(table).encode())
    with unittest.mock.patch.object(sweep_mod, 'evaluate', evaluate):
        assert sweep('--num_task', '4')[0] == all4
        ran, out = sweep('--num_task', '4')
        assert ran == [] and 'reused 4 of 4 settings' in out, out
        assert '--recompute (RECOMPUTE=1 for the scripts)' in out
        assert sweep('--num_task', '3')[0] == all4  # another task count
        assert sweep('--num_task', '3', '--float32')[0] == all4
        assert sweep('--num_task', '3')[0] == all4  # float64 again
        assert sweep('--num_task', '3', '--recompute')[0] == all4
        # a result computed on a GPU (its last bits may differ)
        out1 = RunSpec('clp', 'out', 1, num_task=3).result_path(wd)
        with open(out1) as f:
            on_gpu = json.load(f)
        on_gpu['execution']['device'] = 'cuda:0'
        with open(out1, 'w') as f:
            json.dump(on_gpu, f)
        assert sweep('--num_task', '3')[0] == [('out', 1)]
        # LC extracted again (other bytes): the mixture settings only
        _other_features(wd, 'LC')
        ran, out = sweep('--num_task', '3')
        assert ran == all4[:2] and 'reused 2 of 4 settings' in out, out
        # a copy of the mixture 1-shot result of another model's
        # features, its model field made this one's: of other inputs
        shutil.copytree(os.path.join(wd, 'extracted_feats', 'clp'),
                        os.path.join(wd, 'extracted_feats', 'rnd'))
        sweep('--num_task', '3', '--model', 'rnd')
        spec = RunSpec('clp', 'mixture', 1, num_task=3)
        with open(spec.result_path(wd).replace(
                f'{os.sep}clp{os.sep}', f'{os.sep}rnd{os.sep}')) as f:
            copied = json.load(f)
        _other_features(wd, 'LC')  # clp's LC differs from rnd's now
        sweep('--num_task', '3')
        with open(spec.result_path(wd), 'w') as f:
            json.dump(dict(copied, model='clp'), f)
        assert sweep('--num_task', '3')[0] == [('mixture', 1)]
        # the numbers are those of a sweep that computed them all
        sweep('--num_task', '3', workdir=fresh)
    _other_features(fresh, 'LC')
    _other_features(fresh, 'LC')
    sweep('--num_task', '3', workdir=fresh)
    for t, s in all4:
        spec = RunSpec('clp', t, s, num_task=3)
        with open(spec.result_path(wd)) as a, \
                open(spec.result_path(fresh)) as b:
            assert json.load(a)['per_task_f1'] == \
                json.load(b)['per_task_f1']


def test_judging_a_result_reads_no_input_file_again(tmp_path,
                                                    monkeypatch):
    """The sweep judges its results by what its inputs hold, loaded and
    checked already (their digests computed once): the rule of the
    summary (``report.changed_inputs``) reads each input file again
    (``report._now``; a feature file of 100,000 x 512 is 205 MB). A sweep
    of reused settings reads none (and reuses them all); the summary,
    reading them, judges the same results current."""
    from openselfsup.lowshot import report
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    specs = sweep_specs('clp', 'mixture', shots=[1], clfs=['Ridge'],
                        modes=['linear', 'latent_aug'], **KW)
    run_sweep(wd, specs, log=None)
    read = report._read_now
    reads = []

    def counted(path, kind):
        reads.append(path)
        return read(path, kind)
    monkeypatch.setattr(report, '_read_now', counted)
    assert run_sweep(wd, specs, log=None, reuse=True)['reused'] == 2
    assert reads == []
    current, left_out = report.workdir_results(wd)
    assert len(current) == 2 and not left_out and reads


def test_a_sweep_reuses_no_result_that_records_fewer_inputs(tmp_path,
                                                             capsys):
    """A result is reused only where it records every input the sweep
    reads for it now, with a digest (``reusable_result``'s precondition:
    ``changed_inputs`` judges only what a result records), is well formed
    (``files`` a dict of records: else computed again, not a crash) and
    was computed by the meta-test's code of this ``RESULT_VERSION``. The
    reference: which settings the meta-test runs for (``evaluate``'s
    calls) after each edit of a result, one at a time."""
    from openselfsup.lowshot import sweep as sweep_mod
    from openselfsup.lowshot.meta_test import RESULT_VERSION
    from openselfsup.utils import run_cli
    wd = make_workdir(str(tmp_path / 'w'), model='clp', dim=16)
    cli = _sweep_cli().main
    flags = ['--model', 'clp', '--task', 'mixture', '--shots', '1',
             '--clfs', 'Ridge', '--modes', 'linear', 'latent_aug',
             '--num_task', '4', '--workdir', wd, '--quiet']
    real, calls = sweep_mod.evaluate, []

    def evaluate(inputs, spec, *args, **kwargs):
        calls.append(spec.mode)
        return real(inputs, spec, *args, **kwargs)

    def sweep(*more):
        calls.clear()
        capsys.readouterr()
        assert run_cli(cli, [*flags, *more]) == 0, capsys.readouterr().err
        return list(calls), capsys.readouterr().out

    def path(mode):
        return RunSpec('clp', 'mixture', 1, mode=mode,
                       num_task=4).result_path(wd)

    def edit(mode, change):
        with open(path(mode)) as f:
            result = json.load(f)
        change(result)
        with open(path(mode), 'w') as f:
            json.dump(result, f)

    edits = [
        ('linear', lambda r: r.pop('files')),
        ('linear', lambda r: r['files']['support_features'].update(
            sha1=None)),
        ('linear', lambda r: r['files'].pop('query_labels')),
        ('linear', lambda r: r['files'].update(task_store=None)),
        ('latent_aug', lambda r: r['files'].pop('dictionary')),
        ('latent_aug', lambda r: r['files'].update(support_features=None)),
        ('latent_aug', lambda r: r['files'].update(base_features=None)),
        ('latent_aug', lambda r: r['files'].update(task_store=None)),
        ('latent_aug', lambda r: r['files']['dictionary'].pop(
            'shift_bank_sha1')),
        # malformed: computed again and replaced, not a crash
        ('linear', lambda r: r.update(files='x')),
        ('linear', lambda r: r['files'].update(support_features='x')),
        ('latent_aug', lambda r: r['files'].update(dictionary='x')),
        # computed by the meta-test's code of another version, or of one
        # that recorded none
        ('linear', lambda r: r.update(version=RESULT_VERSION + 1)),
        ('latent_aug', lambda r: r.pop('version')),
    ]
    import unittest.mock
    with unittest.mock.patch.object(sweep_mod, 'evaluate', evaluate):
        assert sweep()[0] == ['linear', 'latent_aug']
        ran, out = sweep()
        assert ran == [] and 'reused 2 of 2 settings: their results' in out
        for mode, change in edits:
            edit(mode, change)
            ran, out = sweep()
            assert ran == [mode], (mode, out)
            assert 'reused 1 of 2 settings: its result in ' in out, out
            assert 'is current for it' in out, out
        with open(path('linear')) as f:
            assert json.load(f)['version'] == RESULT_VERSION


def test_a_result_records_what_the_sweep_loads_judges_and_requires(
        tmp_path):
    """The input files of a setting, as one hand-written list per setting
    (support and query features and labels, the task store; a latent
    mode's dictionary and base features; ``NCT_aug`` where ``aug_times``
    is above 1), are what each of the three readings of them gives: the
    meta-test records them (``evaluate``'s ``files``, every other input
    ``None``), the sweep requires them of a reusable result
    (``records_inputs``: not with any one of them missing), answers them
    as the summary reads them from disk (``Inputs.recorded_now`` against
    ``report._now``) and loads their feature sets (``feature_sets_read``,
    in order)."""
    from openselfsup.lowshot import report
    from openselfsup.lowshot.meta_test import Inputs, evaluate
    from openselfsup.lowshot.sweep import feature_sets_read, records_inputs
    model = 'clp_wo_78'
    wd = make_workdir(str(tmp_path / 'w'), model=model, dim=16)
    base = np.load(paths.features_path(wd, model, 'NCT_train'))
    np.save(paths.features_path(wd, model, 'NCT_aug'),
            np.concatenate([base + 0.5, base - 0.5]))
    np.save(paths.labels_path(wd, 'NCT_aug'),
            np.tile(np.load(paths.labels_path(wd, 'NCT_train')), 2))
    kw = dict(num_aug_shots=5, num_prototypes=4, num_shift_vectors=30,
              num_task=3)
    feats = os.path.join(wd, 'extracted_feats')
    pools = {'support_features': f'{feats}/{model}/{{}}.npy',
             'support_labels': f'{feats}/{{}}_labels.npy',
             'query_features': f'{feats}/{model}/{{}}.npy',
             'query_labels': f'{feats}/{{}}_labels.npy'}

    def expected(support, query, store, dictionary=None, aug=False):
        out = {name: path.format(support if 'support' in name else query)
               for name, path in pools.items()}
        out['task_store'] = f'{wd}/tasks/{store}.npz'
        if dictionary:
            out['dictionary'] = f'{wd}/dictionaries/{model}/{dictionary}'
            out['base_features'] = f'{feats}/{model}/NCT_train.npy'
        if aug:
            out['aug_features'] = f'{feats}/{model}/NCT_aug.npy'
        return out
    cases = [
        (RunSpec(model, 'near', 1, novel_class=78, aug_times=2,
                 mode='latent_aug', **kw),
         expected('NCT_train', 'NCT_test', 'near_9way_1shot_novel78',
                  'NCT_train_K4_M30_seed0_wo78.npz', aug=True),
         ['NCT_train', 'NCT_test', 'NCT_aug']),
        (RunSpec(model, 'near', 1, novel_class=78, aug_times=1, **kw),
         expected('NCT_train', 'NCT_test', 'near_9way_1shot_novel78'),
         ['NCT_train', 'NCT_test']),
        (RunSpec(model, 'mixture', 1, mode='latent_aug_expected', **kw),
         expected('LC', 'LC', 'mixture_5way_1shot',
                  'NCT_train_K4_M30_seed0_all.npz'),
         ['LC', 'NCT_train']),
        (RunSpec(model, 'out', 1, **kw),
         expected('PAIP_train', 'PAIP_test', 'out_hetero_3way_1shot'),
         ['PAIP_train', 'PAIP_test'])]
    inputs = Inputs(wd, make_missing=True)
    for spec, want, sets in cases:
        result = evaluate(inputs, spec)
        files = result['files']
        assert {n for n, rec in files.items() if rec is not None
                and n != 'normalised'} == set(want), spec
        assert {n: os.path.normpath(files[n]['path']) for n in want} == \
            {n: os.path.normpath(p) for n, p in want.items()}
        assert feature_sets_read([spec]) == [(model, s) for s in sets]
        assert records_inputs(result, spec)
        for name in want:
            fewer = dict(result, files=dict(files, **{name: None}))
            assert not records_inputs(fewer, spec), (spec, name)
        now = inputs.recorded_now(spec)
        for name, path in want.items():
            kind = 'dictionary' if name == 'dictionary' else \
                'tasks' if name == 'task_store' else \
                'labels' if name.endswith('labels') else 'features'
            got, disk = now(path, kind), report._now(path, kind)
            if kind == 'tasks':
                got, disk = got.sha1, disk.sha1
            assert got == disk, (spec, name)
