"""The one-command sweep against one meta-test run per setting."""
import json
import os

import numpy as np
import pytest

from lowshot_data import make_workdir
from openselfsup.lowshot import paths
from openselfsup.lowshot.engine import run_meta_test
from openselfsup.lowshot.sweep import run_sweep
from openselfsup.utils import InputError

KW = dict(num_aug_shots=5, num_prototypes=4, num_shift_vectors=30)


def test_sweep_equals_single_runs_and_makes_missing_inputs(tmp_path):
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    sweep = run_sweep(wd, 'clp', 'near', novel_classes=[0, 3], shots=[1, 2],
                      clfs=['Ridge', 'nearest_centroid'],
                      modes=['linear', 'latent_aug', 'latent_aug_expected'],
                      num_task=6, model_template='{model}', progress=False,
                      **KW)
    # task stores and the dictionary were made on the way
    for c in (0, 3):
        for s in (1, 2):
            assert os.path.isfile(paths.task_store_path(wd, 'near', 9, s,
                                                        novel_class=c))
    assert os.path.isfile(paths.dictionary_path(wd, 'clp', 'NCT_train', 4,
                                                30, 0))
    with open(sweep['output']) as f:
        saved = json.load(f)
    assert len(saved['results']) == 2 * 2 * 2 * 3
    for r in saved['results']:
        single = run_meta_test(wd, 'near', 'clp', r['num_shots'], 6,
                               r['mode'], r['clf'], r['novel_class'],
                               output=str(tmp_path / 'one.json'),
                               progress=False, **KW)
        np.testing.assert_allclose(r['per_task_f1'], single['per_task_f1'])
        assert r['average_mean'] == pytest.approx(single['average_mean'])
    table = open(sweep['summary_md']).read()
    assert 'clp novel 3' in table and 'latent_aug_expected' in table


def test_sweep_names_missing_model_features(tmp_path):
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    with pytest.raises(InputError, match='clp_wo_0'):
        run_sweep(wd, 'clp', novel_classes=[0], shots=[1], num_task=2,
                  modes=['linear'], progress=False)


def test_sweep_writes_single_run_results_for_the_summary(tmp_path):
    """--write_results: each setting's JSON lands where a single meta-test
    run writes it, with the same numbers and class names, and the summary
    tables it (tasks without a novel class: novel_classes [None])."""
    from openselfsup.lowshot.report import summarize
    wd = make_workdir(str(tmp_path), model='clp', dim=16)
    sweep = run_sweep(wd, 'clp', 'near', novel_classes=[None], shots=[1, 2],
                      clfs=['Ridge', 'logistic_regression'],
                      modes=['linear'], num_task=5, progress=False,
                      write_results=True, **KW)
    assert len(sweep['result_files']) == 4
    for r, path in zip(sweep['results'], sweep['result_files']):
        assert path == paths.result_path(wd, 'clp', 'near', 'linear',
                                         r['clf'], r['num_shots'])
        written = json.load(open(path))
        single = run_meta_test(wd, 'near', 'clp', r['num_shots'], 5,
                               'linear', r['clf'],
                               output=str(tmp_path / 'one.json'),
                               progress=False, **KW)
        np.testing.assert_allclose(written['per_task_f1'],
                                   single['per_task_f1'])
        assert written['classes'] == single['classes']
        assert written['novel_class'] is None
    md = summarize(wd)['markdown']
    for r in sweep['results']:  # every cell of the table is from the sweep
        assert f"{r['average_mean']:.2f} ± {r['average_ci']:.2f}" in md
