"""The augmentation ablation: image-space augmented support against a
scikit-learn reference, and the one-process ablation with its table."""
import json
import os
import re

import numpy as np
import pytest
from sklearn.linear_model import RidgeClassifier

from lowshot_data import (CHECKPOINT_PROVENANCE, make_workdir, script_main,
                          write_provenance)
from openselfsup.lowshot import paths
from openselfsup.lowshot.ablation import ablation_settings, unique_specs
from openselfsup.lowshot.meta_test import Inputs, evaluate, make_augmenter
from openselfsup.lowshot.metrics import per_task_f1
from openselfsup.lowshot.spec import RunSpec
from openselfsup.utils import run_cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _with_aug(tmp_path, copies=3):
    """A workdir with NCT_aug: ``copies`` noisy copies of NCT_train."""
    wd = make_workdir(str(tmp_path / 'w'), model='clp_wo_78', dim=16)
    rng = np.random.default_rng(5)
    base = np.load(paths.features_path(wd, 'clp_wo_78', 'NCT_train'))
    labels = np.load(paths.labels_path(wd, 'NCT_train'))
    aug = np.concatenate([base + rng.normal(size=base.shape) * 0.5
                          for _ in range(copies)]).astype(np.float32)
    np.save(paths.features_path(wd, 'clp_wo_78', 'NCT_aug'), aug)
    np.save(paths.labels_path(wd, 'NCT_aug'), np.tile(labels, copies))
    return wd, base, aug.reshape(copies, len(base), -1)


def test_image_augmented_support_equals_sklearn_on_the_copies(tmp_path):
    """aug_times = 3: each support image with its first two augmented
    copies, the original first (as the published task files stacked them)."""
    from openselfsup.lowshot.tasks import generate_task_store
    wd, base, copies = _with_aug(tmp_path)
    spec = RunSpec('clp_wo_78', 'near', 2, novel_class=78, num_task=8,
                   aug_times=3)
    generate_task_store(wd, spec.tasks)
    result = evaluate(Inputs(wd), spec)
    store = Inputs(wd).store(spec)
    qry = np.load(paths.features_path(wd, 'clp_wo_78', 'NCT_test'))
    preds = []
    for s_idx, s_lab, q_idx in zip(store.support_idx, store.support_labels,
                                   store.query_idx):
        X = np.stack([base[s_idx], copies[0][s_idx], copies[1][s_idx]], 1)
        y = np.repeat(s_lab, 3)
        preds.append(RidgeClassifier().fit(X.reshape(-1, X.shape[-1]), y
                                           ).predict(qry[q_idx]))
    ref = per_task_f1(np.searchsorted(store.classes, np.stack(preds)),
                      np.searchsorted(store.classes, store.query_labels), 9)
    np.testing.assert_allclose(result['per_task_f1'], ref)
    assert result['files']['aug_features']['shape'] == [3 * len(base), 16]


def test_ablation_command_runs_every_part_in_one_table(tmp_path, capsys):
    wd, _, _ = _with_aug(tmp_path)
    ablation = script_main('wsi_workdir/ablation.py')
    assert run_cli(ablation, [
        '--workdir', wd, '--num_task', '4', '--num_shots', '2',
        '--prototypes', '2', '4', '--image', '2', '4', '--latent', '4',
        '--hybrid', '3', '--num_shift_vectors', '20', '--quiet']) == 0, \
        capsys.readouterr().err
    out = capsys.readouterr().out
    table = [ln for ln in out.splitlines() if ln.startswith('| ')][1:]
    assert [ln.split('|')[1].strip() for ln in table] == [
        'baseline', 'prototypes', 'prototypes', 'image', 'image', 'latent',
        'hybrid']
    assert '| K=2 |' in out and '| aug_times=4 |' in out
    md = os.path.join(wd, 'sweeps', 'ablation', 'clp_wo_78.md')
    assert open(md).read() in out
    # the plot, and the table's numbers in the sweep index
    with open(os.path.join(wd, 'sweeps', 'ablation', 'clp_wo_78.png'),
              'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    index = json.load(open(os.path.join(wd, 'sweeps', 'ablation',
                                        'clp_wo_78.json')))
    rows = index['ablation_rows']
    # the index schema of every sweep, not run_sweep's in-memory extras
    assert set(index) == {'model', 'task', 'num_settings', 'execution',
                          'elapsed_s', 'settings', 'ablation_rows',
                          'sweep_id'}
    # each result names the ablation's files (a later run that replaces it
    # with another result removes them: meta_test.release_result)
    ref = json.load(open(index['settings'][0]['output']))['sweeps'][-1]
    assert ref['id'] == index['sweep_id'] and [
        os.path.basename(f) for f in ref['files']] == [
        f'clp_wo_78.{e}' for e in ('json', 'md', 'png')]
    assert index['num_settings'] == len(index['settings'])
    assert [r['part'] for r in rows] == [
        ln.split('|')[1].strip() for ln in table]
    assert [r['x'] for r in rows] == [None, 2, 4, 2, 4, 4, 3]
    # novel F1: the per-task mean of STR (7) and TUM (8), from the result
    # file of the baseline setting, recomputed here
    base = json.load(open(index['settings'][0]['output']))
    f1 = np.asarray(base['per_task_f1'])
    assert rows[0]['novel_mean'] == pytest.approx(f1[:, [7, 8]].mean())
    assert rows[0]['average_mean'] == pytest.approx(base['average_mean'])
    # 'none' skips a part, as --help says (it was refused as not a number,
    # so IMAGE=none sh ablation.sh could not skip the image part)
    # and the flag alone skips it too, as a mistyped line would: the run
    # says so in one line (it skipped the part without a word), --quiet too
    assert run_cli(ablation, [
        '--workdir', wd, '--num_task', '4', '--num_shots', '2',
        '--prototypes', 'none', '--image', '--latent', 'none',
        '--hybrid', '3', '--num_shift_vectors', '20', '--quiet']) == 0, \
        capsys.readouterr().err
    out = capsys.readouterr().out.splitlines()
    table = [ln for ln in out if ln.startswith('| ')][1:]
    assert [ln.split('|')[1].strip() for ln in table] == ['baseline',
                                                          'hybrid']
    assert out[0] == ('note: skipping the prototypes part (--prototypes '
                      'none), the image part (--image given without '
                      'values), the latent part (--latent none); the table '
                      'has baseline, hybrid')


def test_the_ablation_too_few_shots_line_names_its_own_flag(tmp_path,
                                                           capsys):
    """r77: the ablation's too-few-shots line named sweep.py's
    --near_shots and the scripts' SHOTS, which ablation.sh refuses; it
    names ablation.py's --num_shots now (the caller's flags, passed into
    the one message). Reference: NCT_train's class 0 cut to 4 samples by
    hand; the flag named is read back by ablation.py's parser and the
    count it names runs."""
    wd = make_workdir(str(tmp_path / 'w'), model='clp_wo_78', dim=16)
    lp = paths.labels_path(wd, 'NCT_train')
    lab = np.load(lp)
    lab[np.flatnonzero(lab == 0)[4:]] = 1
    np.save(lp, lab)
    ablation = script_main('wsi_workdir/ablation.py')
    common = ['--workdir', wd, '--num_task', '3', '--image', 'none',
              '--prototypes', 'none', '--hybrid', 'none', '--latent',
              'none', '--quiet']
    assert run_cli(ablation, common) == 2
    err = capsys.readouterr().err
    assert 'NCT_train: class 0 has 4 samples, fewer than shots = 5; run at ' \
        'most 4 shots (ablation.py --num_shots; ablation.sh runs the ' \
        'published 5 shots' in err, err
    assert 'sweep.py' not in err and 'SHOTS' not in err, err
    parse = ablation.__globals__['parse_args']
    assert parse(['--num_shots', '4']).num_shots == 4
    assert run_cli(ablation, [*common, '--num_shots', '4']) == 0


def _plotted_prototypes_part(tmp_path):
    """A workdir whose ablation ran the prototypes part alone (K=2), so
    its plot is there: (workdir, the ablation's main, the flags that skip
    the image, latent and hybrid parts)."""
    wd = make_workdir(str(tmp_path / 'w'), model='clp_wo_78', dim=16)
    ablation = script_main('wsi_workdir/ablation.py')
    common = ['--workdir', wd, '--num_task', '4', '--num_shots', '2',
              '--image', 'none', '--latent', 'none', '--hybrid', 'none',
              '--quiet']
    assert run_cli(ablation, common + ['--prototypes', '2']) == 0
    assert os.path.isfile(os.path.join(wd, 'sweeps', 'ablation',
                                       'clp_wo_78.png'))
    return wd, ablation, common


def test_an_ablation_of_the_baseline_alone_writes_no_empty_plot(
        tmp_path, capsys):
    """Every part skipped: the table has the baseline's row alone, and the
    plot was one empty panel (matplotlib's warning 'No artists with labels
    found to put in legend'), written beside it. Now the note says there
    is nothing to plot, no PNG is written and an earlier run's is removed
    (it would sit beside a table it does not show)."""
    import warnings
    wd, ablation, common = _plotted_prototypes_part(tmp_path)
    capsys.readouterr()
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # matplotlib's legend warning
        assert run_cli(ablation, common + ['--prototypes', 'none']) == 0, \
            capsys.readouterr().err
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith('; the table has baseline: nothing to plot, no '
                           'plot written'), out[0]
    assert sorted(os.listdir(os.path.join(wd, 'sweeps', 'ablation'))) == [
        'clp_wo_78.json', 'clp_wo_78.md']
    table = [ln for ln in out if ln.startswith('| ')][1:]
    assert [ln.split('|')[1].strip() for ln in table] == ['baseline']
    assert out[-1].startswith('wrote ') and '.png' not in out[-1]


def test_an_interrupted_baseline_alone_run_leaves_no_earlier_plot(
        tmp_path, capsys, monkeypatch):
    """The plot is one of the files that describe the ablation's results,
    removed with its table and JSON when the first result is rewritten: a
    run that skips every part left it out of them (it writes no plot), so
    stopped before its end (Ctrl-C while its result was written) it
    removed the earlier run's table and JSON and left its PNG alone,
    describing results no table lists."""
    from openselfsup.lowshot import sweep
    wd, ablation, common = _plotted_prototypes_part(tmp_path)

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(sweep, 'save_json', stopped)
    with pytest.raises(KeyboardInterrupt):
        ablation(common + ['--prototypes', 'none'])
    assert os.listdir(os.path.join(wd, 'sweeps', 'ablation')) == [], \
        os.listdir(os.path.join(wd, 'sweeps', 'ablation'))


def test_a_part_skipped_by_its_flag_alone_is_said_by_each_flag(capsys):
    """A mistyped ``--prototypes --image 4`` skips the prototypes part, by
    design (the flag alone, as none): the run names every part skipped and
    how, in one line; a run that skips nothing says nothing."""
    from openselfsup.lowshot.ablation import skipped_note
    parse = script_main('wsi_workdir/ablation.py').__globals__['parse_args']
    for part in ('prototypes', 'image', 'latent', 'hybrid'):
        args = parse([f'--{part}'])
        assert getattr(args, part) == [] and args.skipped == {
            part: 'given without values'}
        others = ', '.join(p for p in ('baseline', 'prototypes', 'image',
                                       'latent', 'hybrid') if p != part)
        assert skipped_note(args.skipped) == (
            f'note: skipping the {part} part (--{part} given without '
            f'values); the table has {others}')
        assert parse([f'--{part}', 'none']).skipped == {part: 'none'}
    args = parse(['--prototypes', '--image', '4'])
    assert args.image == [4] and args.skipped == {
        'prototypes': 'given without values'}
    assert parse([]).skipped == {} and skipped_note({}) == ''


def test_interrupted_ablation_never_mixes_its_report(tmp_path, capsys):
    """Ctrl-C while the ablation writes its plot: no new file sits beside
    old ones (the sweep index was written before the table and plot were
    computed, so the JSON lost its table and sat beside the old plot).
    Nor do the old table, JSON and plot stay beside results the rerun has
    rewritten: all three go when the first of them is rewritten, as a
    sweep's index does (the plot named to run_sweep as ``describing``)."""
    from _io_helpers import ctrl_c_when_writing, named
    wd = make_workdir(str(tmp_path / 'w'), model='clp_wo_78', dim=16)
    ablation = script_main('wsi_workdir/ablation.py')
    args = ['--workdir', wd, '--num_task', '4', '--num_shots', '2',
            '--image', 'none', '--hybrid', 'none', '--latent', '4',
            '--num_shift_vectors', '20', '--quiet', '--prototypes']
    out = os.path.join(wd, 'sweeps', 'ablation')
    results = os.path.join(paths.ablation_results_dir(wd), '')
    for hit in (lambda p: p.startswith(results),  # the first result
                named('.clp_wo_78.png')):
        assert run_cli(ablation, args + ['2']) == 0, capsys.readouterr().err
        assert sorted(os.listdir(out)) == ['clp_wo_78.json',
                                           'clp_wo_78.md',
                                           'clp_wo_78.png']
        capsys.readouterr()
        with ctrl_c_when_writing(hit):
            assert run_cli(ablation, args + ['2', '4']) == 130
        assert capsys.readouterr().err == 'interrupted\n'
        assert os.listdir(out) == []


def test_ablation_specs_are_the_published_parts():
    rows = ablation_settings()
    specs = [spec for _, _, spec in rows]
    assert len(rows) == 1 + 8 + 15 + 15 + 15
    assert {(s.shots, s.num_task, s.clf, s.novel_class, s.model)
            for s in specs} == {(5, 300, 'Ridge', 78, 'clp_wo_78')}
    assert [s.num_prototypes for s in specs[1:9]] == [2, 4, 8, 16, 32, 64,
                                                      128, 256]
    assert [s.aug_times for s in specs[9:24]] == [t * t for t in range(2, 17)]
    # K=16 with 100 aug shots appears in two parts: run once, shown twice
    unique = unique_specs(rows)
    assert len(unique) == len(rows) - 1
    assert len({s.result_path('w') for s in unique}) == len(unique)


def test_augmented_copies_may_have_their_own_pipeline_overrides(tmp_path):
    """NCT_aug's pipeline is another by design (random crops, jitter):
    its own ``dataset.pipeline`` overrides (a weaker jitter) are taken;
    another model override than the support's is refused, as between
    support and queries."""
    from openselfsup.lowshot.tasks import generate_task_store
    from openselfsup.utils import InputError
    wd, _, _ = _with_aug(tmp_path)

    def provenance(name, **options):
        write_provenance(wd, 'clp_wo_78', name, **CHECKPOINT_PROVENANCE,
                         cfg_options=options)

    small = {'model.backbone.base_channels': 16,
             'dataset.pipeline.1.scale': 32}
    provenance('NCT_train', **small)
    provenance('NCT_test', **small)
    provenance('NCT_aug', **small, **{'dataset.pipeline.3.prob': 0.5})
    spec = RunSpec('clp_wo_78', 'near', 2, novel_class=78, num_task=4,
                   aug_times=2)
    generate_task_store(wd, spec.tasks)
    assert evaluate(Inputs(wd), spec)['num_task'] == 4
    provenance('NCT_aug', **dict(small, **{
        'model.backbone.base_channels': 32}))
    with pytest.raises(InputError, match=r'other --cfg-options \(model.'
                       r'backbone.base_channels: 16 vs 32\)'):
        evaluate(Inputs(wd), spec)


def test_augmented_copies_at_another_image_size_are_refused(tmp_path):
    """NCT_aug's pipeline is random by design, so none of it was compared
    with the support's: copies cropped to 32 px were scored with a 64 px
    support. Where both provenance files record the resolved settings,
    the model's digest and the image size the pipeline ends with are
    compared (not the pipeline's other ops)."""
    from openselfsup.lowshot.tasks import generate_task_store
    from openselfsup.utils import InputError
    wd, _, _ = _with_aug(tmp_path)

    def provenance(name, **settings):
        write_provenance(wd, 'clp_wo_78', name, **CHECKPOINT_PROVENANCE,
                         cfg_options={}, **settings)

    plain = dict(model_sha1='m' * 40, pipeline_sha1='p' * 40,
                 image_size=[64, 64])
    provenance('NCT_train', **plain)
    provenance('NCT_test', **plain)
    provenance('NCT_aug', **dict(plain, pipeline_sha1='a' * 40))
    spec = RunSpec('clp_wo_78', 'near', 2, novel_class=78, num_task=4,
                   aug_times=2)
    generate_task_store(wd, spec.tasks)
    assert evaluate(Inputs(wd), spec)['num_task'] == 4
    provenance('NCT_aug', **dict(plain, pipeline_sha1='a' * 40,
                                 image_size=[32, 32]))
    with pytest.raises(InputError, match=r'NCT_train.npy and \S+NCT_aug.npy '
                       r'were extracted at other image sizes \(64 x 64 vs '
                       r'32 x 32\); extract one of them again'):
        evaluate(Inputs(wd), spec)
    provenance('NCT_aug', **dict(plain, model_sha1='n' * 40))
    with pytest.raises(InputError, match='were extracted with another model'):
        evaluate(Inputs(wd), spec)


def test_ablation_header_says_what_the_average_ci_is():
    """The average column's ± is the mean of the per-class 95% CIs (the
    published average row), not the CI of the class-averaged task F1; the
    header said only ``average F1 (%)`` while the summary table says it.
    The novel column's ± is the 95% CI over tasks, as the summary's
    novel-class table says; its header said nothing of it either.
    GETTING_STARTED quotes the table: its header line is the one printed."""
    from openselfsup.lowshot.ablation import ablation_table
    header = ablation_table([{'part': 'baseline', 'value': '–',
                              'average_mean': 0.5, 'average_ci': 0.01,
                              'novel_mean': 0.4, 'novel_ci': 0.02}
                             ]).splitlines()[0]
    assert header == (
        '| part | value | average F1 (%): mean over tasks ± the mean of the '
        'per-class 95% CIs (the published average row; not the CI of the '
        'class-averaged task F1) | novel STR+TUM F1 (%): mean ± 95% CI '
        'over tasks |')
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with open(os.path.join(repo, 'GETTING_STARTED.md'),
              encoding='utf-8') as f:
        quoted = [ln for ln in f.read().splitlines()
                  if ln.startswith('| part | value | average F1')]
    assert quoted == [header]


def test_ablation_cells_of_one_task_print_no_ci_as_the_summary_does():
    """A one-task ablation (--num_task 1) has no CI: its cells printed
    ``50.00 ± –`` where the summary table prints ``50.00`` (one rule for
    an undefined CI, report._fmt); a defined CI prints as before."""
    from openselfsup.lowshot.ablation import ablation_table
    rows = ablation_table([
        {'part': 'baseline', 'value': '–', 'average_mean': 0.5,
         'average_ci': None, 'novel_mean': 0.4, 'novel_ci': None},
        {'part': 'latent', 'value': '4', 'average_mean': 0.5,
         'average_ci': 0.0123, 'novel_mean': 0.4, 'novel_ci': 0.02}
    ]).splitlines()[2:]
    assert rows == ['| baseline | – | 50.00 | 40.00 |',
                    '| latent | 4 | 50.00 ± 1.23 | 40.00 ± 2.00 |']


def published_meta_testing_latent_aug(task, aug_times, protos, bank, rows):
    """``meta_testing_LatentAug`` of the published
    ``distributed_meta_test.py`` on an ``_aug_`` task file (a 3-D support
    ``[n, 1 + copies, D]``, the original first): the first ``aug_times``
    features of each image, labels ``np.repeat``-ed, then
    ``aug_base_samples`` on all of them (each copy its own nearest
    prototype and ``num_aug_shots - 1`` shifts), ``RidgeClassifier()``.
    ``rows``: the shift rows of each of the ``n * aug_times`` features."""
    from test_lowshot_published import published_aug_base_samples
    support_xs, support_ys, query_xs, query_ys = task
    support_xs = np.reshape(support_xs[:, :aug_times],
                            (-1, support_xs.shape[-1]))
    support_ys = np.repeat(support_ys, aug_times)
    support_xs, support_ys = published_aug_base_samples(
        support_xs, support_ys, protos, bank, rows)
    return query_ys, RidgeClassifier().fit(support_xs, support_ys
                                           ).predict(query_xs)


def test_hybrid_row_is_the_published_image_times_latent_computation(
        tmp_path):
    """The hybrid part (image x latent, ``aug_times = num_aug_shots = t``)
    of :func:`ablation_settings`, run as the ablation runs it, against the
    published computation on the same tasks, copies and shift rows: each
    of the t features of an image (itself and t - 1 augmented copies) is
    latent-augmented on its own, t^2 samples per image; and its table row
    (average F1 ± the mean of the per-class CIs; STR+TUM F1 ± its CI over
    tasks) against the published printout's numbers."""
    from sklearn.metrics import f1_score
    from test_lowshot_published import published_table

    from openselfsup.lowshot.ablation import ablation_rows
    t = 3
    wd, base, copies = _with_aug(tmp_path, copies=t)
    rows = ablation_settings(shots=2, num_task=6, prototypes=[], image=[],
                             latent=[], hybrid=[t], num_shift_vectors=20)
    assert [part for part, _, _ in rows] == ['baseline', 'hybrid']
    spec = rows[1][2]
    assert (spec.mode, spec.aug_times, spec.num_aug_shots) == (
        'latent_aug', t, t)
    inputs = Inputs(wd, make_missing=True)
    result = evaluate(inputs, spec)
    store, dic = inputs.store(spec), inputs.dictionary(spec)
    assert dic.excluded == (7, 8)  # the published --novel_class 78 dictionary
    qry = np.load(paths.features_path(wd, 'clp_wo_78', 'NCT_test'))
    labels = np.load(paths.labels_path(wd, 'NCT_train'))
    qlabels = np.load(paths.labels_path(wd, 'NCT_test'))
    n = store.support_idx.shape[1]
    draws = make_augmenter(dic, 'latent_aug', t, spec.seed).draw(
        0, store.num_task, n * t)
    ref = []
    for k in range(store.num_task):
        s, q = store.support_idx[k], store.query_idx[k]
        # the _aug_ task file: each support image and its copies (the
        # published stacked every copy; the meta-test keeps aug_times)
        xs = np.stack([base[s]] + [c[s] for c in copies], 1)
        task = (xs.astype(np.float64), labels[s],
                qry[q].astype(np.float64), qlabels[q])
        ys, pred = published_meta_testing_latent_aug(
            task, t, dic.prototypes.astype(np.float64),
            dic.shift_bank.astype(np.float64), draws[k])
        ref.append(f1_score(ys, pred, average=None))
    ref = np.array(ref)
    np.testing.assert_allclose(result['per_task_f1'], ref, atol=1e-12)
    assert 0.2 < ref.mean() < 0.95  # neither trivial nor hopeless
    # the table row: the published average row, and STR+TUM per task
    _, _, avg, avg_ci = published_table(ref)
    (novel,), (novel_ci,), _, _ = published_table(ref[:, [7, 8]].mean(1,
                                                                 keepdims=True))
    row = ablation_rows(rows[1:], [result])[0]
    assert row['x'] == t
    assert row['average_mean'] == pytest.approx(avg, abs=1e-12)
    assert row['average_ci'] == pytest.approx(avg_ci, rel=1e-9)
    assert row['novel_mean'] == pytest.approx(novel, abs=1e-12)
    assert row['novel_ci'] == pytest.approx(novel_ci, rel=1e-9)


def test_augmented_copies_of_other_images_are_refused(tmp_path):
    """NCT_aug rows are copies of the support rows by position, and only
    their labels were checked: a dataset written again (other images under
    the same names) and NCT_train extracted again without its copies ran
    the image part with each support feature beside copies of another
    image, without a word. The provenance's digest of a sample of the
    list's images' bytes (and the list's digest), taken over the list
    itself for both, must agree; where either lacks them, not judged."""
    from openselfsup.lowshot.tasks import generate_task_store
    from openselfsup.utils import InputError
    wd, _, _ = _with_aug(tmp_path)

    def provenance(name, **fields):
        write_provenance(wd, 'clp_wo_78', name, **CHECKPOINT_PROVENANCE,
                         **dict(dict(list_sha1='l' * 40), **fields))

    provenance('NCT_train', images_sha1='i' * 40)
    provenance('NCT_test', images_sha1='t' * 40)
    provenance('NCT_aug', images_sha1='i' * 40)
    spec = RunSpec('clp_wo_78', 'near', 2, novel_class=78, num_task=4,
                   aug_times=2)
    generate_task_store(wd, spec.tasks)
    assert evaluate(Inputs(wd), spec)['num_task'] == 4
    provenance('NCT_aug', images_sha1='j' * 40)
    with pytest.raises(InputError, match=r'NCT_aug.npy holds augmented '
                       r'copies of other images under the same names .* '
                       r'than \S+NCT_train.npy \(images_sha1 jjjj'):
        evaluate(Inputs(wd), spec)
    provenance('NCT_aug', images_sha1='i' * 40, list_sha1='m' * 40)
    with pytest.raises(InputError, match='copies of another image list'):
        evaluate(Inputs(wd), spec)
    provenance('NCT_aug')  # no images digest, the list's the support's
    assert evaluate(Inputs(wd), spec)['num_task'] == 4
    provenance('NCT_aug', images_sha1='j' * 40)  # linear, no copies: runs
    assert evaluate(Inputs(wd), RunSpec(
        'clp_wo_78', 'near', 2, novel_class=78, num_task=4))['num_task'] == 4


def test_ablation_and_near_domain_sweep_keep_each_others_results(tmp_path,
                                                                   capsys):
    """near_domain.sh with 78 in NOVEL_CLASSES and ablation.sh share two
    settings (5-shot Ridge, linear and K16 / 100 aug shots latent, novel
    class 78) whose result names carry no task count: the ablation's tasks
    replaced the near-domain sweep's results and removed its index, and a
    near-domain rerun replaced the ablation's and removed its table and
    plot, without a word (with --quiet). The ablation's results now lie in
    ``ablation_results/``; its rows are the near-domain results' first
    tasks (the same tasks, the latent draws keyed by task index)."""
    from lowshot_data import snapshot
    wd = make_workdir(str(tmp_path / 'w'), model='clp_wo_78', dim=16)
    sweep = script_main('wsi_workdir/sweep.py')
    ablation = script_main('wsi_workdir/ablation.py')

    def near(num_task):
        assert run_cli(sweep, [
            '--model', 'clp', '--task', 'near', '--novel_classes', '78',
            '--shots', '5', '--clfs', 'Ridge', '--modes', 'linear',
            'latent_aug', '--num_task', str(num_task), '--workdir', wd,
            '--quiet']) == 0, capsys.readouterr().err

    def near_files():
        return {**snapshot(os.path.join(wd, 'results')),
                **{f: open(os.path.join(wd, 'sweeps', f), 'rb').read()
                   for f in ('clp_near.json', 'clp_near.md',
                             'clp_near.png')}}

    near(8)
    before = near_files()
    assert run_cli(ablation, [
        '--workdir', wd, '--num_task', '4', '--prototypes', '16', '--image',
        'none', '--latent', 'none', '--hybrid', 'none', '--quiet']) == 0, \
        capsys.readouterr().err
    assert near_files() == before
    index = json.load(open(os.path.join(wd, 'sweeps', 'ablation',
                                        'clp_wo_78.json')))
    outputs = [s['output'] for s in index['settings']]
    assert [os.path.relpath(o, wd) for o in outputs] == [
        os.path.join('ablation_results', 'clp_wo_78',
                     f'near_novel78_{m}_Ridge_5shot.json')
        for m in ('linear', 'latent_aug')]
    # the reference: the near-domain results' first 4 tasks
    for row, mode in zip(index['ablation_rows'], ('linear', 'latent_aug')):
        f1 = np.asarray(json.load(open(os.path.join(
            wd, 'results', 'clp_wo_78',
            f'near_novel78_{mode}_Ridge_5shot.json')))['per_task_f1'])
        assert f1.shape[0] == 8
        assert row['average_mean'] == pytest.approx(f1[:4].mean())
        assert row['novel_mean'] == pytest.approx(f1[:4, [7, 8]].mean())
    # the other order: a near-domain rerun with other results keeps the
    # ablation's results, table and plot
    kept = snapshot(os.path.join(wd, 'ablation_results'))
    names = [os.path.join('ablation', f'clp_wo_78.{e}')
             for e in ('json', 'md', 'png')]
    ablation_set = {f: open(os.path.join(wd, 'sweeps', f), 'rb').read()
                    for f in names}
    near(6)
    assert snapshot(os.path.join(wd, 'ablation_results')) == kept
    assert {f: open(os.path.join(wd, 'sweeps', f), 'rb').read()
            for f in names} == ablation_set


def test_no_sweep_index_takes_the_ablations_name(tmp_path, capsys):
    """The ablation's index, table and plot were ``sweeps/ablation_<M>``,
    also the index of ``sweep.py --model ablation --task <M>``
    (``sweeps/<model>_<task>``): the sweep replaced the ablation of a
    model named ``near`` without a word (and the reverse). Now each
    keeps its own files, in either order."""
    from lowshot_data import snapshot
    wd = make_workdir(str(tmp_path / 'w'), model='near', dim=16)
    make_workdir(wd, model='ablation', dim=16)
    sweep = script_main('wsi_workdir/sweep.py')
    ablation = script_main('wsi_workdir/ablation.py')
    sweeps = os.path.join(wd, 'sweeps')

    def run_ablation():
        assert run_cli(ablation, [
            '--model', 'near', '--workdir', wd, '--num_task', '3',
            '--num_shots', '2', '--prototypes', 'none', '--image', 'none',
            '--latent', 'none', '--hybrid', 'none', '--quiet']) == 0, \
            capsys.readouterr().err

    def run_sweep():
        assert run_cli(sweep, [
            '--model', 'ablation', '--model_template', '{model}', '--task',
            'near', '--novel_classes', '7', '--shots', '1', '--clfs',
            'Ridge', '--modes', 'linear', '--num_task', '3', '--workdir',
            wd, '--quiet']) == 0, capsys.readouterr().err

    run_ablation()
    table = snapshot(sweeps)
    run_sweep()
    both = snapshot(sweeps)
    assert {k: both.get(k) for k in table} == table
    assert sorted(table) == [os.path.join('ablation', f'near.{e}')
                             for e in ('json', 'md')]
    assert {k for k in both if k not in table} == {
        f'ablation_near.{e}' for e in ('json', 'md', 'png')}
    index = json.loads(both['ablation_near.json'])
    assert index['model'] == 'ablation' and 'ablation_rows' not in index
    run_ablation()  # the other order: the sweep's files are kept
    assert {k: v for k, v in snapshot(sweeps).items()
            if k.startswith('ablation_')} == {
        k: v for k, v in both.items() if k.startswith('ablation_')}


def test_summary_of_an_ablation_only_workdir_says_where_its_table_is(
        tmp_path, capsys):
    """The ablation's results are not the summary's (ablation_results/):
    summarize.py on a workdir where only the ablation ran said only 'no
    results directory; run distributed_meta_test.py first'; it now says
    where the ablation's results and table are."""
    from lowshot_data import cli_fails
    wd = make_workdir(str(tmp_path / 'w'), model='clp_wo_78', dim=16)
    assert run_cli(script_main('wsi_workdir/ablation.py'), [
        '--workdir', wd, '--num_task', '4', '--prototypes', '2',
        '--image', 'none', '--latent', 'none', '--hybrid', 'none',
        '--num_shift_vectors', '20', '--quiet']) == 0, \
        capsys.readouterr().err
    capsys.readouterr()
    summarize = script_main('wsi_workdir/summarize.py')
    run = (f'run python {ROOT}/wsi_workdir/distributed_meta_test.py --task '
           f'TASK --model MODEL --num_shots SHOTS --workdir {wd} first')
    cli_fails(summarize, ['--workdir', wd], capsys, wd,
              f"no results directory; {run} (the ablation's results in "
              f"{paths.ablation_results_dir(wd)} are not summarised: its "
              "table is sweeps/ablation/<model>.md)")
    os.makedirs(paths.results_dir(wd))
    cli_fails(summarize, ['--workdir', wd], capsys, wd,
              f"no result JSON files; {run} (the ablation's results in")


def test_one_pass_over_the_list_as_augmented_copies_is_refused(tmp_path):
    """NCT_aug written by import_features.py (one row per image) or by
    extract.py without --aug_times (one deterministic pass: the support
    features themselves, with the same encoder) was taken for one
    augmented copy, and the image part reported a number for support
    rows each trained beside their duplicate. Its provenance records no
    augmented passes (no aug_times, or 0): refused; without a provenance,
    not judged."""
    from openselfsup.lowshot.features import IMPORTED
    from openselfsup.lowshot.tasks import generate_task_store
    from openselfsup.utils import InputError
    wd = make_workdir(str(tmp_path / 'w'), model='clp_wo_78', dim=16)
    base = np.load(paths.features_path(wd, 'clp_wo_78', 'NCT_train'))
    np.save(paths.features_path(wd, 'clp_wo_78', 'NCT_aug'), base)
    np.save(paths.labels_path(wd, 'NCT_aug'),
            np.load(paths.labels_path(wd, 'NCT_train')))
    spec = RunSpec('clp_wo_78', 'near', 2, novel_class=78, num_task=4,
                   aug_times=2)
    generate_task_store(wd, spec.tasks)
    assert evaluate(Inputs(wd), spec)['num_task'] == 4  # no provenance
    # (the support and query sets extracted: a set without a provenance
    # beside one with one is refused, check_all_recorded)
    for name in ('NCT_train', 'NCT_test'):
        write_provenance(wd, 'clp_wo_78', name, **CHECKPOINT_PROVENANCE)
    for fields in (dict(checkpoint_kind=IMPORTED, aug_times=None),
                   dict(CHECKPOINT_PROVENANCE, aug_times=0)):
        write_provenance(wd, 'clp_wo_78', 'NCT_aug', **fields)
        made = fields.get('aug_times')
        with pytest.raises(InputError, match=re.escape(
                f'NCT_aug.npy: its provenance records no augmented copies '
                f'(aug_times {made!r}: one pass over the list')):
            evaluate(Inputs(wd), spec)
    write_provenance(wd, 'clp_wo_78', 'NCT_aug', **CHECKPOINT_PROVENANCE,
                     aug_times=1)
    assert evaluate(Inputs(wd), spec)['num_task'] == 4


def test_compare_of_an_ablation_model_says_where_its_results_are(
        tmp_path, capsys):
    """``summarize.py --compare`` (and ``--models``) read ``results/``
    only: on a workdir with other results, a model that only the ablation
    ran was refused as having no results ('models with results: clp'),
    without the note the summary gives where ``results/`` is missing (its
    results and table are the ablation's, apart)."""
    from lowshot_data import cli_fails
    wd = make_workdir(str(tmp_path / 'w'), model='clp_wo_78', dim=16)
    make_workdir(wd, model='clp', dim=16)
    assert run_cli(script_main('wsi_workdir/ablation.py'), [
        '--workdir', wd, '--num_task', '4', '--prototypes', '2',
        '--image', 'none', '--latent', 'none', '--hybrid', 'none',
        '--num_shift_vectors', '20', '--quiet']) == 0, \
        capsys.readouterr().err
    assert run_cli(script_main('wsi_workdir/sweep.py'), [
        '--model', 'clp', '--model_template', '{model}', '--task', 'near',
        '--novel_classes', '78', '--shots', '5', '--clfs', 'Ridge',
        '--modes', 'linear', '--num_task', '4', '--workdir', wd,
        '--quiet']) == 0, capsys.readouterr().err
    capsys.readouterr()
    ablation = os.path.join(paths.ablation_results_dir(wd), 'clp_wo_78')
    assert os.path.isdir(ablation)
    cli_fails(script_main('wsi_workdir/summarize.py'),
              ['--workdir', wd, '--compare', 'clp_wo_78', 'clp'], capsys, wd,
              "no results of model 'clp_wo_78' (models with results: clp) "
              f"(the ablation's results in {ablation} are not summarised: "
              'its table is sweeps/ablation/clp_wo_78.md; summarize.py '
              "--compare A B --ablation pairs two models' ablation "
              'results)')
