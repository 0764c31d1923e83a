"""The three low-shot commands end to end, and every bad input of the issue.

Bad input: one line on stderr, a non-zero exit, nothing written.
"""
import json
import os
import shutil

import numpy as np
import pytest
from sklearn.neighbors import NearestCentroid

from lowshot_data import (cli_fails, cli_ok, make_workdir, near_args,
                          script_main)
from openselfsup.lowshot import paths
from openselfsup.lowshot.meta_test import meta_test
from openselfsup.lowshot.spec import RunSpec
from openselfsup.lowshot.tasks import TaskStore
from openselfsup.utils import InputError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))




GEN = script_main('wsi_workdir/tools/generate_task.py')
DICT = script_main('wsi_workdir/dict_construction.py')
META = script_main('wsi_workdir/distributed_meta_test.py')




@pytest.fixture
def workdir(tmp_path):
    return make_workdir(str(tmp_path / 'w'), spread=0.25)






def _gen(w, *extra):
    return near_args(w, *extra, num_task=20)


def _meta(w, *extra):
    return near_args(w, *extra, meta=True, num_task=20)


def test_chain_writes_table_and_json(workdir, capsys):
    assert 'wrote' in cli_ok(GEN, _gen(workdir), capsys)
    assert 'reusing' in cli_ok(GEN, _gen(workdir), capsys)
    cli_ok(DICT, ['--model', 'clp', '--novel_class', '7', '--workdir', workdir,
               '--num_prototypes', '4', '--num_shift_vectors', '100'], capsys)
    for clf in ('Ridge', 'logistic_regression', 'nearest_centroid'):
        out = cli_ok(META, _meta(workdir, '--mode', 'latent_aug', '--clf', clf,
                              '--num_prototypes', '4',
                              '--num_shift_vectors', '100',
                              '--num_aug_shots', '10'), capsys)
        lines = out.strip().splitlines()
        assert len(lines) == 9 + 2 and lines[9].startswith('average')
        path = RunSpec('clp', 'near', 5, clf, 'latent_aug', 7,
                       num_prototypes=4, num_shift_vectors=100,
                       num_aug_shots=10).result_path(workdir)
        assert path.endswith(f'near_novel7_latent_aug_{clf}_5shot_A10_K4_'
                             'M100.json')
        with open(path) as f:
            res = json.load(f)
        for key in ('model', 'task', 'mode', 'clf', 'num_shots', 'num_task',
                    'novel_class', 'seed', 'task_seed', 'classes',
                    'per_class_mean', 'per_class_ci', 'average_mean',
                    'average_ci', 'harmonic_mean', 'per_task_f1',
                    'convergence', 'files', 'execution'):
            assert key in res
        assert res['units'] == 'fraction' and res['variant'] == 'A10 K4 M100'
        store = res['files']['task_store']
        assert store['seed'] == 0 and len(store['sha1']) == 40
        assert res['files']['dictionary']['excluded'] == [7]
        f1 = np.array(res['per_task_f1'])
        assert f1.shape == (20, 9) and res['harmonic_mean'] is None
        np.testing.assert_allclose(res['per_class_mean'], f1.mean(0))
        assert abs(res['average_mean'] - f1.mean()) < 1e-9
        assert lines[0].split()[1] == f'{100 * f1[:, 0].mean():.2f}'
    # mixture: harmonic mean; out_homo: its own store
    cli_ok(GEN, ['--task', 'mixture', '--num_shots', '5', '--num_task', '10',
              '--workdir', workdir], capsys)
    cli_ok(META, ['--task', 'mixture', '--num_shots', '5', '--num_task', '10',
               '--model', 'clp', '--workdir', workdir, '--mode', 'linear',
               '--clf', 'Ridge'], capsys)
    with open(paths.result_path(workdir, 'clp', 'mixture', 'linear', 'Ridge',
                                5)) as f:
        res = json.load(f)
        assert res['harmonic_mean'] is not None
        assert res['harmonic_ci'] is not None
    cli_ok(GEN, ['--task', 'out', '--mode', 'homo', '--num_shots', '5',
              '--num_task', '10', '--workdir', workdir], capsys)
    out = cli_ok(META, ['--task', 'out_homo', '--num_shots', '5', '--num_task',
                     '10', '--model', 'clp', '--workdir', workdir, '--mode',
                     'linear', '--clf', 'nearest_centroid'], capsys)
    assert len(out.strip().splitlines()) == 3 + 2


def test_engine_equals_per_task_sklearn_and_ignores_chunking(workdir, capsys):
    cli_ok(GEN, _gen(workdir), capsys)
    store = TaskStore.load(paths.task_store_path(workdir, 'near', 9, 5,
                                                 novel_class=7))
    sup = np.load(paths.features_path(workdir, 'clp', 'NCT_train'))
    qry = np.load(paths.features_path(workdir, 'clp', 'NCT_test'))
    f1, _ = meta_test(sup, qry, store, 'nearest_centroid', chunk_size=6)
    ref, _ = meta_test(sup, qry, store, 'nearest_centroid')
    np.testing.assert_array_equal(f1, ref)
    from openselfsup.lowshot.metrics import per_task_f1
    preds = np.stack([
        NearestCentroid().fit(sup[s], sl).predict(qry[q])
        for s, sl, q in zip(store.support_idx, store.support_labels,
                            store.query_idx)])
    np.testing.assert_allclose(f1, per_task_f1(preds, store.query_labels, 9))


def test_reuse_never_silently_replaces(workdir, capsys):
    cli_ok(GEN, _gen(workdir), capsys)
    path = paths.task_store_path(workdir, 'near', 9, 5, novel_class=7)
    first = TaskStore.load(path).support_idx
    # another seed: a store of its own, seed 0's untouched
    cli_ok(GEN, _gen(workdir, '--seed', '1'), capsys)
    np.testing.assert_array_equal(TaskStore.load(path).support_idx, first)
    other = paths.task_store_path(workdir, 'near', 9, 5, novel_class=7,
                                  seed=1)
    assert not np.array_equal(TaskStore.load(other).support_idx, first)
    # one of another seed under seed 0's name: replaced only on request
    shutil.copy(other, path)
    cli_fails(GEN, _gen(workdir), capsys, workdir, '--overwrite')
    cli_ok(GEN, _gen(workdir, '--seed', '0', '--initialization'), capsys)
    np.testing.assert_array_equal(TaskStore.load(path).support_idx, first)


def test_missing_features(workdir, capsys):
    cli_ok(GEN, _gen(workdir), capsys)
    err = cli_fails(META, _meta(workdir, '--model', 'nomodel', '--mode',
                             'linear', '--clf', 'Ridge'), capsys, workdir,
                 'features not found')
    assert paths.features_path(workdir, 'nomodel', 'NCT_train') in err
    # the hint names a config that exists, for every feature set
    assert f'{ROOT}/wsi_workdir/extract.py --config ' \
        f'{ROOT}/configs/extraction/nct_train.py' in err
    from openselfsup.lowshot.features import load_features
    for name in paths.FEATURE_NAMES:
        with pytest.raises(InputError) as exc:
            load_features(workdir, 'nomodel', name)
        config = str(exc.value).split('--config ')[1].split()[0]
        assert os.path.isfile(os.path.join(ROOT, config)), config


def test_length_mismatch_and_nan(workdir, capsys):
    cli_ok(GEN, _gen(workdir), capsys)
    fpath = paths.features_path(workdir, 'clp', 'NCT_test')
    feats = np.load(fpath)
    np.save(fpath, feats[:-1])
    err = cli_fails(META, _meta(workdir, '--mode', 'linear', '--clf',
                                'Ridge'), capsys, workdir, 'labels')
    # the rows and labels counted, both files named (docs/refusals.md:
    # features and labels of different lengths)
    n = len(feats)
    assert err == (f'error: {fpath} has {n - 1} rows but '
                   f'{paths.labels_path(workdir, "NCT_test")} has {n} '
                   'labels; extract both from one list'), err
    feats[3, 5] = np.nan
    feats[7, 0] = np.inf
    np.save(fpath, feats)
    # the line of extraction's check (utils.check_finite): the first row
    # and the count
    err = cli_fails(META, _meta(workdir, '--mode', 'linear', '--clf',
                                'Ridge'), capsys, workdir, 'NaN or inf')
    assert err == (f'error: {fpath}: NaN or inf in the features (first at '
                   'row 3, 2 rows in all)'), err
    cli_fails(DICT, ['--model', 'clp', '--features', 'NCT_test', '--workdir',
                  workdir], capsys, workdir, 'NaN or inf')


def test_too_few_samples_and_novel_class_range(workdir, capsys):
    cli_fails(GEN, ['--task', 'mixture', '--num_shots', '30', '--num_task', '5',
                 '--workdir', workdir], capsys, workdir,
           'fewer than shots + queries')
    cli_fails(GEN, _gen(workdir, '--novel_class', '9'), capsys, workdir,
           'out of range')
    cli_fails(DICT, ['--model', 'clp', '--novel_class', '12', '--workdir',
                  workdir], capsys, workdir, 'out of range')


def test_dictionary_of_another_model_or_width(workdir, capsys):
    import shutil
    cli_ok(GEN, _gen(workdir), capsys)
    make_workdir(workdir, model='wide', dim=32, spread=0.25)
    k4 = ['--num_prototypes', '4', '--num_shift_vectors', '50']
    cli_ok(DICT, ['--model', 'wide', '--novel_class', '7', '--workdir', workdir,
               *k4], capsys)
    theirs = paths.dictionary_path(workdir, 'wide', 'NCT_train', 4, 50, 0,
                                   'wo7')
    ours = paths.dictionary_path(workdir, 'clp', 'NCT_train', 4, 50, 0,
                                 'wo7')
    os.makedirs(os.path.dirname(ours))
    shutil.copy(theirs, ours)
    cli_fails(META, _meta(workdir, '--mode', 'latent_aug', '--clf', 'Ridge',
                       *k4), capsys, workdir, 'width 32')


def test_store_from_other_labels_and_too_many_tasks(workdir, capsys):
    cli_ok(GEN, _gen(workdir), capsys)
    cli_fails(META, _meta(workdir, '--mode', 'linear', '--clf', 'Ridge',
                       '--num_task', '21'), capsys, workdir,
           'larger than the 20 tasks')
    lpath = paths.labels_path(workdir, 'NCT_train')
    np.save(lpath, np.random.default_rng(0).permutation(np.load(lpath)))
    cli_fails(META, _meta(workdir, '--mode', 'linear', '--clf', 'Ridge'),
           capsys, workdir, 'other labels')


@pytest.mark.skipif(__import__('torch').cuda.is_available(),
                    reason='CUDA is available here')
def test_cuda_asked_for_without_cuda(workdir, capsys):
    cli_ok(GEN, _gen(workdir), capsys)
    cli_fails(META, _meta(workdir, '--mode', 'linear', '--clf', 'Ridge',
                       '--device', 'cuda'), capsys, workdir,
           'sees no GPU')


def _flag_help(main, flag, capsys):
    """The ``--help`` text of ``flag`` on a command (whitespace folded)."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(['--help'])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    start = out.index(f'\n  {flag} ')
    end = out.find('\n  -', start + 1)
    return ' '.join(out[start:end if end > 0 else None].split())


def test_each_command_tells_its_own_use_of_a_shared_flag(capsys):
    """``--novel_class`` said "selects the task store and the dictionary"
    on every command: dict_construction.py reads no task store (it leaves
    the class out of the base set), generate_task.py builds no dictionary.
    sweep.py's ``--aug_times`` did not say it applies to every setting of
    the sweep. Each command now tells what the flag does there, from one
    definition of the flag (its shared part is on each)."""
    sweep = script_main('wsi_workdir/sweep.py')
    shared = 'class held out of pre-training (0..8; 78 = 7 and 8)'
    meta = _flag_help(META, '--novel_class', capsys)
    assert shared in meta and 'selects the task store and the ' \
        'dictionary' in meta
    dic = _flag_help(DICT, '--novel_class', capsys)
    assert shared in dic and 'kept out of the base set' in dic
    assert 'task store' not in dic
    gen = _flag_help(GEN, '--novel_class', capsys)
    assert shared in gen and 'names the store' in gen
    assert 'dictionary' not in gen
    aug_meta = _flag_help(META, '--aug_times', capsys)
    aug_sweep = _flag_help(sweep, '--aug_times', capsys)
    assert 'every setting of the sweep' in aug_sweep
    assert 'sweep' not in aug_meta
    # one definition: the meta-test's text begins the sweep's
    assert aug_sweep.startswith(aug_meta[:-len('(default: 0)')].strip())
    assert 'near domain only (0: none)' in aug_meta


def test_variants_name_every_value_apart():
    """The variant (result file name, table row, the key --compare pairs
    results by) wrote each value with %g, 6 significant digits: --alpha
    0.1234567 and 0.1234568 shared one result file and were paired as one
    setting, and --alpha 1.0000001 read 'alpha1', the default. A value %g
    writes exactly keeps its name (existing files stay found)."""
    from openselfsup.lowshot.spec import RunSpec

    def variant(**kw):
        return RunSpec('clp', 'mixture', 1, **kw).variant
    assert variant(alpha=0.1234567) != variant(alpha=0.1234568)
    assert variant(alpha=1.0000001) == 'alpha1.0000001'
    assert variant(clf='logistic_regression', max_iter=1000001) == \
        'iter1000001'
    # as before where %g is exact
    assert [variant(alpha=a) for a in (2.0, 0.5, 1e-7, 0.25)] == [
        'alpha2', 'alpha0.5', 'alpha1e-07', 'alpha0.25']
    assert variant(clf='logistic_regression', max_iter=1000000) == \
        'iter1e+06'


@pytest.mark.parametrize('script, names', [
    # the sweep: its index, table and plot (the plot was missing)
    ('wsi_workdir/sweep.py', ['sweeps/<model>_<task>.{json,md,png}',
                              'plot']),
    # the ablation wrote .json and .png too; its help named the .md only
    ('wsi_workdir/ablation.py', ['sweeps/ablation/<model>.md', '.json',
                                  '.png']),
    ('wsi_workdir/summarize.py', ['summary.md', 'summary.json',
                                  'summary.png', '{md,json,png}']),
    # one setting: its JSON, and which commands plot it
    ('wsi_workdir/distributed_meta_test.py', ['.json', 'summarize.py',
                                              'sweep.py'])])
def test_each_command_says_where_its_table_json_and_plot_go(script, names,
                                                           capsys):
    """Every command that gives results gives them as a table, a JSON and
    a plot; its --help says where each goes (or, for one setting, which
    commands draw it)."""
    with pytest.raises(SystemExit):
        script_main(script)(['--help'])
    out = capsys.readouterr().out
    for name in names:
        assert name in out, (script, name)


def test_a_rerun_over_another_task_count_says_it_replaced_one(workdir,
                                                              capsys):
    """A result's file name carries no task count nor precision: a
    --num_task 5 rerun of a 20-task setting (or a --float32 one) replaced
    its result without a word. The run now says so, with both counts as
    the two result files hold them; the same setting again says nothing."""
    cli_ok(GEN, _gen(workdir), capsys)
    run = ['--mode', 'linear', '--clf', 'Ridge']
    out = cli_ok(META, _meta(workdir, *run), capsys)
    assert 'replaced' not in out  # no result there before
    path = RunSpec('clp', 'near', 5, novel_class=7, num_task=20
                   ).result_path(workdir)
    assert 'replaced' not in cli_ok(META, _meta(workdir, *run), capsys)
    before = json.load(open(path))['num_task']
    out = cli_ok(META, near_args(workdir, *run, meta=True, num_task=5),
                 capsys)
    after = json.load(open(path))['num_task']
    assert (before, after) == (20, 5)
    assert f'note: replaced {path}, a result over 20 tasks (now 5) ' in out
    out = cli_ok(META, near_args(workdir, *run, '--float32', meta=True,
                                 num_task=5), capsys)
    assert f'note: replaced {path}, a result in float64 (now float32) ' \
        in out, out


def test_features_naming_the_nct_classes_in_another_order_are_refused(
        workdir, capsys):
    """Features whose meta JSON names the NCT classes in another order
    than the published one (TUM as label 7, STR as 8): novel class 7, the
    class clp_wo_7 held out in the published order, was scored on label 7
    and written as its result without a word. Refused in one line,
    nothing written; the published order runs."""
    from openselfsup.classes import NCT_CLASSES
    cli_ok(GEN, _gen(workdir), capsys)
    swapped = list(NCT_CLASSES[:7]) + ['TUM', 'STR']
    for name in ('NCT_train', 'NCT_test'):
        meta = paths.meta_path(workdir, name)
        with open(meta) as f:
            m = json.load(f)
        with open(meta, 'w') as f:
            json.dump(dict(m, classes=swapped), f)
    run = ['--mode', 'linear', '--clf', 'Ridge']
    err = cli_fails(META, _meta(workdir, *run), capsys, workdir,
                    'its classes name label 7 TUM, but novel class 7 is STR')
    assert paths.meta_path(workdir, 'NCT_train') in err
    for name in ('NCT_train', 'NCT_test'):
        meta = paths.meta_path(workdir, name)
        with open(meta) as f:
            m = json.load(f)
        with open(meta, 'w') as f:
            json.dump(dict(m, classes=list(NCT_CLASSES)), f)
    cli_ok(META, _meta(workdir, *run), capsys)


def test_generate_task_without_num_shots_draws_the_published_shots(
        workdir, capsys, monkeypatch):
    """``--num_shots`` left out: the published scripts' shots of the task
    (near and mixture 1, 5, 10; out hetero 1, 5, 10, 50, 100; out homo 5,
    10, 50, 100), so that the generate scripts pass their SHOTS settings
    only when set (they wrote these defaults a second time). It was a
    required flag."""
    out = cli_ok(GEN, ['--task', 'near', '--novel_class', '7',
                       '--num_task', '10', '--workdir', workdir], capsys)
    assert [line.split(', ')[1].split('-way ')[1] for line in
            out.strip().splitlines()] == ['1-shot', '5-shot', '10-shot'], out
    from openselfsup.lowshot import tasks
    drawn = []
    monkeypatch.setattr(tasks, 'store_inputs', lambda *a, **k: None)
    monkeypatch.setattr(tasks, 'generate_task_stores', lambda wd, specs, **k:
                        drawn.append([(s.task, s.shots) for s in specs])
                        or [])
    for mode, task, shots in (('hetero', 'out', [1, 5, 10, 50, 100]),
                              ('homo', 'out_homo', [5, 10, 50, 100])):
        cli_ok(GEN, ['--task', 'out', '--mode', mode, '--workdir', workdir],
               capsys)
        assert drawn.pop() == [(task, s) for s in shots]
    cli_ok(GEN, ['--task', 'mixture', '--workdir', workdir], capsys)
    assert drawn.pop() == [('mixture', s) for s in (1, 5, 10)]
