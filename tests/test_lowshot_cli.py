"""The three low-shot commands end to end, and every bad input of the issue.

Bad input: one line on stderr, a non-zero exit, nothing written.
"""
import importlib.util
import json
import os

import numpy as np
import pytest
from sklearn.neighbors import NearestCentroid

from lowshot_data import make_workdir
from openselfsup.lowshot import paths
from openselfsup.lowshot.meta_test import meta_test
from openselfsup.lowshot.spec import RunSpec
from openselfsup.lowshot.tasks import TaskStore
from openselfsup.utils import InputError, run_cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _script(rel):
    spec = importlib.util.spec_from_file_location(
        rel.replace('/', '_')[:-3], os.path.join(ROOT, rel))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.main


GEN = _script('wsi_workdir/tools/generate_task.py')
DICT = _script('wsi_workdir/dict_construction.py')
META = _script('wsi_workdir/distributed_meta_test.py')


def _files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, fs in os.walk(root) for f in fs)


@pytest.fixture
def workdir(tmp_path):
    return make_workdir(str(tmp_path / 'w'), spread=0.25)


def _ok(main, args, capsys):
    assert run_cli(main, args) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def _fails(main, args, capsys, root, match):
    before = _files(root)
    assert run_cli(main, args) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith('error: ') and '\n' not in err, err
    assert match in err, err
    assert _files(root) == before  # nothing written
    return err


def _gen(w, *extra):
    return ['--task', 'near', '--num_shots', '5', '--num_task', '20',
            '--novel_class', '7', '--workdir', w, *extra]


def _meta(w, *extra):
    return ['--task', 'near', '--num_shots', '5', '--num_task', '20',
            '--novel_class', '7', '--model', 'clp', '--workdir', w, *extra]


def test_chain_writes_table_and_json(workdir, capsys):
    assert 'wrote' in _ok(GEN, _gen(workdir), capsys)
    assert 'reusing' in _ok(GEN, _gen(workdir), capsys)
    _ok(DICT, ['--model', 'clp', '--novel_class', '7', '--workdir', workdir,
               '--num_prototypes', '4', '--num_shift_vectors', '100'], capsys)
    for clf in ('Ridge', 'logistic_regression', 'nearest_centroid'):
        out = _ok(META, _meta(workdir, '--mode', 'latent_aug', '--clf', clf,
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
    _ok(GEN, ['--task', 'mixture', '--num_shots', '5', '--num_task', '10',
              '--workdir', workdir], capsys)
    _ok(META, ['--task', 'mixture', '--num_shots', '5', '--num_task', '10',
               '--model', 'clp', '--workdir', workdir, '--mode', 'linear',
               '--clf', 'Ridge'], capsys)
    with open(paths.result_path(workdir, 'clp', 'mixture', 'linear', 'Ridge',
                                5)) as f:
        res = json.load(f)
        assert res['harmonic_mean'] is not None
        assert res['harmonic_ci'] is not None
    _ok(GEN, ['--task', 'out', '--mode', 'homo', '--num_shots', '5',
              '--num_task', '10', '--workdir', workdir], capsys)
    out = _ok(META, ['--task', 'out_homo', '--num_shots', '5', '--num_task',
                     '10', '--model', 'clp', '--workdir', workdir, '--mode',
                     'linear', '--clf', 'nearest_centroid'], capsys)
    assert len(out.strip().splitlines()) == 3 + 2


def test_engine_equals_per_task_sklearn_and_ignores_chunking(workdir, capsys):
    _ok(GEN, _gen(workdir), capsys)
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
    _ok(GEN, _gen(workdir), capsys)
    path = paths.task_store_path(workdir, 'near', 9, 5, novel_class=7)
    first = TaskStore.load(path).support_idx
    _fails(GEN, _gen(workdir, '--seed', '1'), capsys, workdir, '--overwrite')
    _ok(GEN, _gen(workdir, '--seed', '1', '--overwrite'), capsys)
    assert not np.array_equal(TaskStore.load(path).support_idx, first)
    _ok(GEN, _gen(workdir, '--seed', '0', '--initialization'), capsys)
    np.testing.assert_array_equal(TaskStore.load(path).support_idx, first)


def test_missing_features(workdir, capsys):
    _ok(GEN, _gen(workdir), capsys)
    err = _fails(META, _meta(workdir, '--model', 'nomodel', '--mode',
                             'linear', '--clf', 'Ridge'), capsys, workdir,
                 'features not found')
    assert paths.features_path(workdir, 'nomodel', 'NCT_train') in err
    # the hint names a config that exists, for every feature set
    assert 'wsi_workdir/extract.py --config configs/extraction/nct_train.py' \
        in err
    from openselfsup.lowshot.features import load_features
    for name in paths.FEATURE_NAMES:
        with pytest.raises(InputError) as exc:
            load_features(workdir, 'nomodel', name)
        config = str(exc.value).split('--config ')[1].split()[0]
        assert os.path.isfile(os.path.join(ROOT, config)), config


def test_length_mismatch_and_nan(workdir, capsys):
    _ok(GEN, _gen(workdir), capsys)
    fpath = paths.features_path(workdir, 'clp', 'NCT_test')
    feats = np.load(fpath)
    np.save(fpath, feats[:-1])
    _fails(META, _meta(workdir, '--mode', 'linear', '--clf', 'Ridge'),
           capsys, workdir, 'labels')
    feats[3, 5] = np.nan
    np.save(fpath, feats)
    _fails(META, _meta(workdir, '--mode', 'linear', '--clf', 'Ridge'),
           capsys, workdir, 'NaN or inf')
    _fails(DICT, ['--model', 'clp', '--features', 'NCT_test', '--workdir',
                  workdir], capsys, workdir, 'NaN or inf')


def test_too_few_samples_and_novel_class_range(workdir, capsys):
    _fails(GEN, ['--task', 'mixture', '--num_shots', '30', '--num_task', '5',
                 '--workdir', workdir], capsys, workdir,
           'fewer than shots + queries')
    _fails(GEN, _gen(workdir, '--novel_class', '9'), capsys, workdir,
           'out of range')
    _fails(DICT, ['--model', 'clp', '--novel_class', '12', '--workdir',
                  workdir], capsys, workdir, 'out of range')


def test_dictionary_of_another_model_or_width(workdir, capsys):
    import shutil
    _ok(GEN, _gen(workdir), capsys)
    make_workdir(workdir, model='wide', dim=32, spread=0.25)
    k4 = ['--num_prototypes', '4', '--num_shift_vectors', '50']
    _ok(DICT, ['--model', 'wide', '--novel_class', '7', '--workdir', workdir,
               *k4], capsys)
    theirs = paths.dictionary_path(workdir, 'wide', 'NCT_train', 4, 50, 0,
                                   'wo7')
    ours = paths.dictionary_path(workdir, 'clp', 'NCT_train', 4, 50, 0,
                                 'wo7')
    os.makedirs(os.path.dirname(ours))
    shutil.copy(theirs, ours)
    _fails(META, _meta(workdir, '--mode', 'latent_aug', '--clf', 'Ridge',
                       *k4), capsys, workdir, 'width 32')


def test_store_from_other_labels_and_too_many_tasks(workdir, capsys):
    _ok(GEN, _gen(workdir), capsys)
    _fails(META, _meta(workdir, '--mode', 'linear', '--clf', 'Ridge',
                       '--num_task', '21'), capsys, workdir,
           'larger than the 20 tasks')
    lpath = paths.labels_path(workdir, 'NCT_train')
    np.save(lpath, np.random.default_rng(0).permutation(np.load(lpath)))
    _fails(META, _meta(workdir, '--mode', 'linear', '--clf', 'Ridge'),
           capsys, workdir, 'other labels')


@pytest.mark.skipif(__import__('torch').cuda.is_available(),
                    reason='CUDA is available here')
def test_cuda_asked_for_without_cuda(workdir, capsys):
    _ok(GEN, _gen(workdir), capsys)
    _fails(META, _meta(workdir, '--mode', 'linear', '--clf', 'Ridge',
                       '--device', 'cuda'), capsys, workdir,
           'sees no GPU')
