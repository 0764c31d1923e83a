"""tools/knn_summary.py: several kNN result JSONs of knn_eval.py in one
table, JSON and plot (openselfsup.apis.knn_summary)."""
import json
import math
import os

import numpy as np
import pytest
from scipy import stats

from _foundation_helpers import REPO, run_tool_here

TOOL = 'tools/knn_summary.py'
LEVELS = ('patch', 'slide', 'patient')
SETTINGS = {'knn_eval.bank.split_name': 'train',
            'knn_eval.query.split_name': 'val', 'knn_eval.k': 20,
            'knn_eval.temperature': 0.07,
            'knn_eval.aggregation': 'l1_softmax'}
FILES = {'knn_eval.query.split': 'b' * 40}
N = {'patch': 51, 'slide': 12, 'patient': 9}


def result(values, config='/c/hlss_demo.py', seed=None, ckpt_sha1='a' * 40,
           model_sha1='m' * 40, settings=None, title=None, **extra):
    """A kNN result JSON as knn_eval.py writes it: ``values`` are the six
    (acc, mca) of patch, slide, patient; ``seed``: a baseline's."""
    stem = (f'random_init_{os.path.basename(config)[:-3]}_seed{seed}'
            if seed is not None else 'run_iter_300')
    rec = {lv: dict(acc=values[2 * i], mca=values[2 * i + 1], n=N[lv])
           for i, lv in enumerate(LEVELS)}
    rec.update(k=20, k_asked=20, aggregation='l1_softmax', config=config,
               checkpoint=(f'random init (seed {seed})' if seed is not None
                           else '/w/run/iter_300.pth'),
               checkpoint_sha1=None if seed is not None else ckpt_sha1,
               model_config_sha1=model_sha1,
               knn_settings=dict(SETTINGS, **(settings or {})),
               knn_files_sha1=dict(FILES), title=title or f'kNN (k=20) {stem}')
    if seed is not None:
        rec['model_files_sha1'] = {'model.heads.patch.attributes': 'f' * 40}
    rec.update(extra)
    return rec


def write(folder, name, rec):
    path = folder / name
    path.write_text(json.dumps(rec))
    return str(path)


def summarize(paths, output):
    from openselfsup.apis.knn_summary import summarize_knn
    return summarize_knn(paths, str(output))


def test_table_holds_each_result_and_the_mean_over_seeds(tmp_path):
    """Each result is a row with the values of its JSON; a model's three
    seeds at initialisation are followed by their mean ± the Student-t
    95% half-width (scipy's t quantile, numpy's sample std), the trained
    checkpoint stays a row of its own."""
    seeds = {0: [0.5, 0.4, 0.25, 0.5, 1 / 3, 0.2],
             1: [0.6, 0.45, 0.5, 0.5, 2 / 3, 0.3],
             2: [0.7, 0.65, 0.75, 0.5, 1.0, 0.7]}
    trained = [0.686, 0.727, 0.75, 0.75, 0.667, 0.667]
    paths = [write(tmp_path, 'knn_iter_300.json', result(trained))]
    for s in (2, 0, 1):  # given out of order: listed by seed
        paths.append(write(tmp_path, f'knn_seed{s}.json',
                           result(seeds[s], seed=s)))
    out = summarize(paths, tmp_path / 'out' / 'summary')
    data = json.loads((tmp_path / 'out' / 'summary.json').read_text())
    rows = data['rows']
    assert [(r['weights'], r.get('seed'), bool(r.get('mean')))
            for r in rows] == [('run/iter_300.pth', None, False),
                               ('random init', 0, False),
                               ('random init', 1, False),
                               ('random init', 2, False),
                               ('random init', None, True)]
    for row, values in zip(rows[:4], [trained] + [seeds[s] for s in range(3)]):
        got = [row['metrics'][lv][m] for lv in LEVELS for m in ('acc', 'mca')]
        assert got == values
        assert row['model'] == 'hlss_demo'
    mean = rows[4]
    assert mean['seeds'] == [0, 1, 2] and mean['n'] == 3
    # by hand: patch acc 0.5, 0.6, 0.7: mean 0.6, std 0.1
    assert mean['metrics']['patch']['acc'] == pytest.approx(0.6)
    half = stats.t.ppf(0.975, 2) * 0.1 / math.sqrt(3)
    assert mean['ci95']['patch']['acc'] == pytest.approx(half)
    for i, (lv, m) in enumerate((lv, m) for lv in LEVELS
                                for m in ('acc', 'mca')):
        col = np.array([seeds[s][i] for s in range(3)])
        assert mean['metrics'][lv][m] == pytest.approx(col.mean())
        assert mean['ci95'][lv][m] == pytest.approx(
            stats.t.ppf(0.975, 2) * col.std(ddof=1) / math.sqrt(3))
    # the Markdown shows the same numbers, in percent
    lines = out['markdown'].splitlines()
    assert lines[2].split(' | ')[3:5] == ['68.6%', '72.7%']
    assert lines[3].split(' | ')[2:5] == ['0', '50.0%', '40.0%']
    assert lines[6].split(' | ')[2:4] == [
        'mean of 3 (0, 1, 2)', f'60.0% ± {100 * half:.1f}']
    assert 'queries: 51 patches, 12 slides, 9 patients' in out['markdown']
    assert 'Student-t 95% half-width' in out['markdown']
    assert (tmp_path / 'out' / 'summary.md').read_text() == out['markdown']
    png = (tmp_path / 'out' / 'summary.png').read_bytes()
    assert png.startswith(b'\x89PNG')


def test_a_result_that_warns_is_named_under_the_table(tmp_path):
    """The title knn_eval.py gave a result that warns (trained patients
    not checked, a capped k) is repeated under the table; a plain one is
    not."""
    warn = 'kNN (k=20; trained patients not checked) run_iter_300'
    a = write(tmp_path, 'a.json', result([0.5] * 6, title=warn))
    b = write(tmp_path, 'b.json', result([0.4] * 6, seed=0))
    text = summarize([a, b], tmp_path / 's')['markdown']
    assert f'- hlss_demo, run/iter_300.pth: {warn}' in text
    assert 'random_init_hlss_demo_seed0' not in text


def _nothing_written(tmp_path):
    return not any(p.name.startswith('s.') for p in tmp_path.iterdir())


@pytest.mark.parametrize('case, says', [
    ('other_k', 'evaluated under other kNN settings than'),
    ('other_k', 'knn_eval.k: 20 -> 200'),
    ('other_split', "knn_eval.query.split_name: 'val' -> 'test'"),
    ('other_file', 'the contents of the file knn_eval.query.split names'),
    ('other_queries', 'patch queries: 51 -> 50'),
    ('seed_twice', 'given twice (the same checkpoint, or the same seed'),
    ('not_knn', 'not a kNN result of knn_eval.py'),
    ('no_settings', 'records no kNN settings'),
])
def test_bad_input_is_one_line_and_nothing_written(tmp_path, capfd, case,
                                                   says):
    """Results of other kNN settings (k, a split, a split file's
    contents, another number of queries) are refused, naming the first
    difference; so are one seed of one model twice (its mean would count
    it twice) and a JSON that is not a kNN result or records no
    settings. One line, exit 2, nothing written."""
    first = write(tmp_path, 'a.json', result([0.5] * 6, seed=0))
    other = {
        'other_k': result([0.5] * 6, seed=1, settings={'knn_eval.k': 200}),
        'other_split': result([0.5] * 6, seed=1, settings={
            'knn_eval.query.split_name': 'test'}),
        'other_file': result([0.5] * 6, seed=1,
                             knn_files_sha1={'knn_eval.query.split':
                                             'c' * 40}),
        'other_queries': result([0.5] * 6, seed=1,
                                patch=dict(acc=0.5, mca=0.5, n=50)),
        'seed_twice': result([0.6] * 6, seed=0),
        'not_knn': {'model': 'clp', 'average_mean': 0.8},
        'no_settings': {k: v for k, v in result([0.5] * 6, seed=1).items()
                        if k != 'knn_settings'},
    }[case]
    second = write(tmp_path, 'b.json', other)
    rc, out, err = run_tool_here([TOOL, first, second, '--output',
                                  str(tmp_path / 's')], capfd)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1, err
    assert lines[0].startswith('error: ') and says in lines[0], lines
    assert _nothing_written(tmp_path)


def test_its_own_summary_and_a_users_file_are_refused(tmp_path, capfd):
    """A summary JSON given as a result is named as one (a glob of a
    folder that holds it), and an --output over a user's file is refused,
    never replaced."""
    a = write(tmp_path, 'a.json', result([0.5] * 6, seed=0))
    summarize([a], tmp_path / 'knn_summary')
    rc, _, err = run_tool_here([TOOL, a, str(tmp_path / 'knn_summary.json'),
                                '--output', str(tmp_path / 'again')], capfd)
    assert rc == 2 and 'a kNN summary of knn_summary.py, not a kNN ' \
        'result' in err, err
    assert not (tmp_path / 'again.md').exists()
    mine = tmp_path / 'notes.md'
    mine.write_text('mine')
    rc, _, err = run_tool_here([TOOL, a, '--output', str(tmp_path / 'notes')],
                               capfd)
    assert rc == 2 and 'exists and is not a kNN summary' in err, err
    assert mine.read_text() == 'mine'
    # a missing file, named where it was looked for; a folder
    rc, _, err = run_tool_here([TOOL, 'nope.json', '--output',
                                str(tmp_path / 'x')], capfd)
    assert rc == 2 and 'nope.json: kNN result not found (relative to the ' \
        'current folder' in err, err
    rc, _, err = run_tool_here([TOOL, str(tmp_path), '--output',
                                str(tmp_path / 'x')], capfd)
    assert rc == 2 and 'is a folder; give its kNN result files' in err, err
    # the same file twice, however spelt
    rc, _, err = run_tool_here([TOOL, a, str(tmp_path / '.' / 'a.json'),
                                '--output', str(tmp_path / 'x')], capfd)
    assert rc == 2 and 'given twice (one file)' in err, err
    # an --output whose JSON is one of the inputs: refused, the input kept
    before = (tmp_path / 'a.json').read_bytes()
    rc, _, err = run_tool_here([TOOL, a, '--output', str(tmp_path / 'a')],
                               capfd)
    assert rc == 2 and err.strip().splitlines() == [
        f'error: {tmp_path / "a.json"}: an output of the summary is one of '
        'its inputs; give another --output'], err
    assert (tmp_path / 'a.json').read_bytes() == before
    assert not (tmp_path / 'a.md').exists()


def test_two_checkpoints_of_one_model_read_apart(tmp_path):
    """One config trained in two work dirs (``/w/exp1/run/iter_300.pth``,
    ``/w/exp2/run/iter_300.pth``): each row names its checkpoint's path
    (both said ``run/iter_300.pth``, two rows alike but for their
    numbers); a lone checkpoint keeps the short name."""
    paths = [write(tmp_path, f'knn_{e}.json', result(
        [0.5 + 0.1 * i] * 6, ckpt_sha1=str(i) * 40,
        checkpoint=f'/w/{e}/run/iter_300.pth'))
        for i, e in enumerate(('exp1', 'exp2'))]
    paths.append(write(tmp_path, 'knn_other.json', result(
        [0.3] * 6, config='/c/hidisc_demo.py', ckpt_sha1='c' * 40)))
    summarize(paths, tmp_path / 'summary')
    rows = json.loads((tmp_path / 'summary.json').read_text())['rows']
    assert [r['weights'] for r in rows] == [
        '/w/exp1/run/iter_300.pth', '/w/exp2/run/iter_300.pth',
        'run/iter_300.pth']
    # one path, two checkpoints (written over by a rerun): their SHA-1s
    paths = [write(tmp_path, f'knn_again{i}.json', result(
        [0.5 + 0.1 * i] * 6, ckpt_sha1=str(i) * 40,
        checkpoint='/w/run/iter_300.pth')) for i in range(2)]
    summarize(paths, tmp_path / 'again')
    rows = json.loads((tmp_path / 'again.json').read_text())['rows']
    assert [r['weights'] for r in rows] == [
        '/w/run/iter_300.pth (sha1 00000000)',
        '/w/run/iter_300.pth (sha1 11111111)']


def test_one_models_seeds_from_two_checkouts_are_one_model(tmp_path):
    """The HLSS configs name their attribute files by absolute paths into
    the checkout: a model's baselines from two clones recorded two model
    SHA-1s, listed as two models. knn_eval.py records the SHA-1 with a mark
    in place of those paths (the same from both) and, apart, the SHA-1
    with the paths (``model_config_sha1_with_paths``), which is what a
    result written before recorded as its ``model_config_sha1``: such a
    result is listed with the model whose newer results name it (the
    same checkout), and the same seed in both is refused as given twice;
    one of another SHA-1 stays a model of its own."""
    from openselfsup.utils import InputError
    config = {c: f'/{c}/configs/demo/hlss_demo.py' for c in 'ab'}
    new = dict(model_sha1='m' * 40)
    paths = [write(tmp_path, 'knn_old0.json', result(  # before, from a
        [0.5] * 6, config['a'], seed=0, model_sha1='p' * 40)),
        write(tmp_path, 'knn_new1.json', result(
            [0.6] * 6, config['a'], seed=1, **new,
            model_config_sha1_with_paths='p' * 40)),
        write(tmp_path, 'knn_new2.json', result(
            [0.7] * 6, config['b'], seed=2, **new,
            model_config_sha1_with_paths='q' * 40)),
        write(tmp_path, 'knn_other3.json', result(
            [0.8] * 6, config['a'], seed=3, model_sha1='z' * 40))]
    summarize(paths, tmp_path / 'summary')
    rows = json.loads((tmp_path / 'summary.json').read_text())['rows']
    assert [(r.get('seed'), r.get('seeds')) for r in rows] == [
        (0, None), (1, None), (2, None), (None, [0, 1, 2]), (3, None)]
    assert rows[0]['model_config_sha1'] == 'p' * 40  # as recorded
    twice = write(tmp_path, 'knn_new0.json', result(
        [0.5] * 6, config['a'], seed=0, **new,
        model_config_sha1_with_paths='p' * 40))
    with pytest.raises(InputError, match='given twice'):
        summarize(paths[:2] + [twice], tmp_path / 'twice')


def test_two_clones_models_of_other_attribute_text_are_named_apart(
        tmp_path):
    """Review r199: two clones' configs of one file name record one model
    SHA-1 by the mark, but clone b's attribute file holds other text
    (another ``model_files_sha1``): two models, each of two seeds. Their
    rows, means included, are named by the configs' paths (as before the
    SHA-1 left out where the files lie), not one label for both; two
    clones' results of the same text still read alike."""
    config = {c: str(tmp_path / c / 'configs/demo/hlss_demo.py')
              for c in 'ab'}
    text = {'a': {'model.heads.patch.attributes': 'f' * 40},
            'b': {'model.heads.patch.attributes': 'e' * 40}}

    def labels(clones, output):
        paths = [write(tmp_path, f'knn_{output}_{c}{s}.json', result(
            [0.5 + 0.1 * s] * 6, config[c], seed=s,
            model_files_sha1=text[t])) for c, t, seeds in clones
            for s in seeds]
        summarize(paths, tmp_path / output)
        rows = json.loads((tmp_path / f'{output}.json').read_text())['rows']
        return [(r['model'], r.get('seed'), r.get('seeds')) for r in rows]
    named = {c: os.path.splitext(os.path.relpath(config[c]))[0]
             for c in 'ab'}
    assert labels([('a', 'a', (0, 1)), ('b', 'b', (0, 1))], 'other') == [
        (named['a'], 0, None), (named['a'], 1, None),
        (named['a'], None, [0, 1]),
        (named['b'], 0, None), (named['b'], 1, None),
        (named['b'], None, [0, 1])]
    assert labels([('a', 'a', (0, 1)), ('b', 'a', (2, 3))], 'same') == [
        ('hlss_demo', 0, None), ('hlss_demo', 1, None),
        ('hlss_demo', 2, None), ('hlss_demo', 3, None),
        ('hlss_demo', None, [0, 1, 2, 3])]


def test_a_model_without_a_worked_out_key_is_labelled_by_this_form(
        tmp_path):
    """Review r199: where no result of a model gives this form's SHA-1
    from its settings (the paper config, every HLSS checkpoint), its label
    took the least ``model_config_sha1`` of all, an older result's SHA-1
    with the paths ('0...') before a newer one's by the mark ('m...'),
    though docs/hlss.md says the table's SHA-1 is this form's. The newer
    one's labels both, in either order."""
    from openselfsup.apis.knn import same_model_sha1s
    config = '/a/configs/demo/hlss_demo.py'
    old = result([0.5] * 6, config, seed=0, model_sha1='0' * 40)
    new = result([0.6] * 6, config, seed=1, model_sha1='m' * 40,
                 model_config_sha1_with_paths='0' * 40)
    other = result([0.7] * 6, config, seed=2, model_sha1='z' * 40)
    assert same_model_sha1s([old, new]) == ['m' * 40] * 2
    assert same_model_sha1s([new, old]) == ['m' * 40] * 2
    paths = [write(tmp_path, f'knn_{i}.json', r)
             for i, r in enumerate([old, new, other])]
    summarize(paths, tmp_path / 'summary')
    rows = json.loads((tmp_path / 'summary.json').read_text())['rows']
    assert [r['model'] for r in rows] == [
        'hlss_demo (model mmmmmmmm)'] * 3 + ['hlss_demo (model zzzzzzzz)']


def test_a_result_of_the_mark_on_every_file_is_its_models(tmp_path):
    """Review r193's leftover: main's code of 26461db2 to 3a7a20e6 gave
    every local file a model section named by the mark (a ``model_name``
    naming a file of the current directory too), and digested that file
    in ``model_files_sha1``: its result and a later one of the same model
    (one ``model_config_sha1_with_paths``) were listed as two models. They
    are one, as knn_eval.py's check knows them (and so is a result of
    before both, whose ``model_config_sha1`` is that SHA-1); another
    model's result stays apart."""
    config = '/a/configs/demo/hlss_demo.py'
    files = {'model.heads.patch.attributes': 'f' * 40}
    stray = dict(files, **{'model.backbone.model_name': 'e' * 40})
    paths = [write(tmp_path, 'knn_mark0.json', result(  # 26461db2's
        [0.5] * 6, config, seed=0, model_sha1='o' * 40,
        model_config_sha1_with_paths='p' * 40, model_files_sha1=stray)),
        write(tmp_path, 'knn_new1.json', result(
            [0.6] * 6, config, seed=1, model_sha1='m' * 40,
            model_config_sha1_with_paths='p' * 40)),
        write(tmp_path, 'knn_old2.json', result(  # before both
            [0.7] * 6, config, seed=2, model_sha1='p' * 40)),
        write(tmp_path, 'knn_other3.json', result(
            [0.8] * 6, config, seed=3, model_sha1='z' * 40,
            model_config_sha1_with_paths='q' * 40))]
    summarize(paths, tmp_path / 'summary')
    rows = json.loads((tmp_path / 'summary.json').read_text())['rows']
    assert [(r.get('seed'), r.get('seeds')) for r in rows] == [
        (0, None), (1, None), (2, None), (None, [0, 1, 2]), (3, None)]
    assert rows[0]['model_config_sha1'] == 'o' * 40  # as recorded


def test_a_checkpoint_written_over_since_is_marked(tmp_path):
    """A result whose checkpoint file now holds other bytes (the demo
    trained again into its work dir: iter_300.pth written over) is of
    weights no longer there: its row names the SHA-1 it was evaluated on
    and a line under the table says the file holds another checkpoint now
    (the row read as the current file's, a number that file does not
    give, without a word). A checkpoint still there unchanged, and one
    moved away (not judged), keep their plain names."""
    import hashlib
    run = tmp_path / 'run'
    run.mkdir()
    ckpt, kept = run / 'iter_300.pth', run / 'iter_100.pth'
    ckpt.write_bytes(b'weights of the first training')
    kept.write_bytes(b'weights at 100')
    old = hashlib.sha1(ckpt.read_bytes()).hexdigest()
    a = write(tmp_path, 'knn_a.json', result(
        [0.6] * 6, ckpt_sha1=old, checkpoint=str(ckpt)))
    b = write(tmp_path, 'knn_b.json', result(
        [0.5] * 6, ckpt_sha1=hashlib.sha1(kept.read_bytes()).hexdigest(),
        checkpoint=str(kept)))
    c = write(tmp_path, 'knn_c.json', result(
        [0.4] * 6, ckpt_sha1='c' * 40, checkpoint=str(run / 'gone.pth')))
    ckpt.write_bytes(b'weights of a second training, written over')
    now = hashlib.sha1(ckpt.read_bytes()).hexdigest()
    out = summarize([a, b, c], tmp_path / 's')
    rows = json.loads((tmp_path / 's.json').read_text())['rows']
    assert [r['weights'] for r in rows] == [
        f'run/iter_300.pth (sha1 {old[:8]})', 'run/iter_100.pth',
        'run/gone.pth']
    assert rows[0]['checkpoint_now_sha1'] == now
    assert 'checkpoint_now_sha1' not in rows[1]
    assert 'checkpoint_now_sha1' not in rows[2]
    notes = [line for line in out['markdown'].splitlines()
             if 'now holds another checkpoint' in line]
    assert len(notes) == 1, out['markdown']
    assert str(ckpt) in notes[0] and old[:12] in notes[0] \
        and now[:12] in notes[0], notes


@pytest.mark.parametrize('recorded, ran_in', [
    # a result of before the folder was recorded: the folder its relative
    # data_root was joined to (abspath), from the folder recorded
    (dict(settings={'knn_eval.bank.data_root': 'data/hier32'},
          knn_data_folders={'knn_eval.bank.data_root': '/x/y/data/hier32'}),
     '/x/y'),
    (dict(settings={'knn_eval.bank.data_root': './data/../hier/'},
          knn_data_folders={'knn_eval.bank.data_root': '/x/y/hier'}),
     '/x/y'),
    (dict(settings={'knn_eval.bank.data_root': '.'},
          knn_data_folders={'knn_eval.bank.data_root': '/x/y'}), '/x/y'),
    # a metadata-only dataset: its recorded metadata file
    (dict(settings={'knn_eval.query.metadata': 'm/meta.json'},
          knn_data_folders={'knn_eval.query.data_root': '/x/y/m/patches'},
          knn_data_metadata={'knn_eval.query.data_root':
                             '/x/y/m/meta.json'}), '/x/y'),
    # recorded: taken as it is (a space in it, quoted)
    (dict(cwd='/x/my y', settings={'knn_eval.bank.data_root': '../d'},
          knn_data_folders={'knn_eval.bank.data_root': '/x/d'}), '/x/my y'),
    # '..' leaves no trace of the folder; two that disagree; absolute paths
    (dict(settings={'knn_eval.bank.data_root': '../d'},
          knn_data_folders={'knn_eval.bank.data_root': '/x/d'}), None),
    (dict(settings={'knn_eval.bank.data_root': 'd',
                    'knn_eval.query.data_root': 'e'},
          knn_data_folders={'knn_eval.bank.data_root': '/x/d',
                            'knn_eval.query.data_root': '/y/e'}), None),
    (dict(settings={'knn_eval.bank.data_root': '/x/d'},
          knn_data_folders={'knn_eval.bank.data_root': '/x/d'}), None),
    # recorded, but nothing read from it (all absolute): no cd, which
    # failed where that folder is gone (a job's scratch folder)
    (dict(cwd='/gone/scratch', settings={'knn_eval.bank.data_root': '/x/d'},
          knn_data_folders={'knn_eval.bank.data_root': '/x/d'}), None),
    # a relative data_prefix (a string, a dict's value) under an absolute
    # data_root reads nothing from the current folder
    (dict(settings={'knn_eval.bank.data_root': '/abs/root',
                    'knn_eval.bank.data_prefix': 'images'},
          knn_data_folders={'knn_eval.bank.data_prefix':
                            '/abs/root/images'}), None),
    (dict(cwd='/x/y', settings={'knn_eval.bank.data_root': '/abs/root',
                                'knn_eval.bank.data_prefix.img_path': 'im'},
          knn_data_folders={'knn_eval.bank.data_prefix.img_path':
                            '/abs/root/im'}), None),
    # under a relative data_root it is read from the folder: the cd kept
    (dict(cwd='/x/y', settings={'knn_eval.bank.data_root': 'data/x',
                                'knn_eval.bank.data_prefix': 'images'},
          knn_data_folders={'knn_eval.bank.data_prefix':
                            '/x/y/data/x/images'}), '/x/y')])
def test_the_command_for_a_replaced_checkpoint_runs_where_it_was_evaluated(
        tmp_path, recorded, ran_in):
    """The line's knn_eval.py command, whose config's relative data paths
    are read from the folder it is run in, runs in the folder the
    evaluation ran in (``cd <folder> && python ...``): the one the result
    records, or for a result of before it was recorded, the one its
    relative data_root or metadata was joined to (hand-computed here).
    Where that cannot be told and the result records relative paths, the
    line says that they are read from the folder it is run in; with
    absolute ones, the command alone."""
    import hashlib
    import shlex
    ckpt = tmp_path / 'iter_300.pth'
    ckpt.write_bytes(b'first')
    old = hashlib.sha1(b'first').hexdigest()
    recorded = dict(recorded)
    settings = recorded.pop('settings')
    path = write(tmp_path, 'knn_a.json', result(
        [0.5] * 6, ckpt_sha1=old, checkpoint=str(ckpt), settings=settings,
        **recorded))
    ckpt.write_bytes(b'trained again')
    md = summarize([path], tmp_path / 's')['markdown']
    note = [line for line in md.splitlines()
            if 'now holds another checkpoint' in line]
    assert len(note) == 1 and note[0].count('`') == 2, md
    words = shlex.split(note[0].split('`')[1])
    relative = {k: v for k, v in settings.items() if not v.startswith('/')
                and '.data_prefix' not in k}
    if ran_in is not None:
        assert words[:3] == ['cd', ran_in, '&&'], words
        assert words[3] == 'python', words
    else:
        assert words[0] == 'python', words
    told = 'read from the folder it is run in' in note[0]
    assert told == (ran_in is None and bool(relative)), note[0]
    if told:
        for key, value in relative.items():
            assert f'{key}={value!r}' in note[0], note[0]


def _data_folder(tmp_path, n=5):
    """A data folder of ``n`` patch files and a hidden one."""
    data = tmp_path / 'hier'
    (data / 'patches').mkdir(parents=True)
    for i in range(n):
        (data / 'patches' / f'p{i}.png').write_bytes(b'patch %d' % i)
    (data / '.hidden').write_text('not data')
    return data


def test_the_data_fingerprint_reads_the_listing_and_the_files(tmp_path):
    """A data folder's digest (what a kNN result records of its bank's
    and query's folders) is of the names of its files and their bytes
    (all of them where there are at most 16), wherever the folder lies:
    compared with a hand-made copy, a renamed file, a file's bytes, an
    added file change it; a hidden file and another place do not."""
    import shutil

    from openselfsup.utils import data_folder_sha1
    data = _data_folder(tmp_path)
    first = data_folder_sha1(str(data))
    copy = tmp_path / 'elsewhere'
    shutil.copytree(data, copy)
    (copy / '.hidden').write_text('another hidden file')
    assert data_folder_sha1(str(copy)) == first
    (copy / 'patches' / 'p2.png').write_bytes(b'patch 2, written again')
    assert data_folder_sha1(str(copy)) != first
    (copy / 'patches' / 'p2.png').write_bytes(b'patch 2')
    assert data_folder_sha1(str(copy)) == first
    (copy / 'patches' / 'p2.png').rename(copy / 'patches' / 'q2.png')
    assert data_folder_sha1(str(copy)) != first
    (copy / 'patches' / 'q2.png').rename(copy / 'patches' / 'p2.png')
    (copy / 'patches' / 'p5.png').write_bytes(b'patch 5')
    assert data_folder_sha1(str(copy)) != first


def test_a_result_of_data_written_again_since_is_marked(tmp_path):
    """Results whose data folder was written again since they were
    evaluated (the synthetic generator run again under the same folder,
    with another size: the metadata and split files the same) are of data
    no longer there: before, their rows read as results on the current
    data, without a word. Now each such row is marked ``(earlier
    data)``, the mean of such seeds too, and a line under the table names
    the folder and both digests; a result written before the data was
    recorded is named once as not checked, as ``written_over`` leaves a
    checkpoint recorded without its SHA-1 unjudged."""
    from openselfsup.utils import data_folder_sha1
    data = _data_folder(tmp_path)
    keys = ('knn_eval.bank.data_root', 'knn_eval.query.data_root')
    then = data_folder_sha1(str(data))
    recorded = dict(knn_data_sha1={k: then for k in keys},
                    knn_data_folders={k: str(data) for k in keys})
    paths = [write(tmp_path, f'knn_seed{s}.json',
                   result([0.5 + s / 10] * 6, seed=s, **recorded))
             for s in (0, 1)]
    old = write(tmp_path, 'knn_old.json', result([0.4] * 6))
    out = summarize(paths + [old], tmp_path / 'same')
    rows = json.loads((tmp_path / 'same.json').read_text())['rows']
    assert [r['weights'] for r in rows] == ['random init'] * 3 + [
        'run/iter_300.pth']
    assert not any('data_now_sha1' in r for r in rows)
    assert 'written again' not in out['markdown']
    unchecked = [line for line in out['markdown'].splitlines()
                 if 'not checked against the data now' in line]
    assert len(unchecked) == 1 and 'run/iter_300.pth' in unchecked[0]
    (data / 'patches' / 'p0.png').write_bytes(b'patch 0 at another size')
    now = data_folder_sha1(str(data))
    out = summarize(paths + [old], tmp_path / 'changed')
    rows = json.loads((tmp_path / 'changed.json').read_text())['rows']
    assert [r['weights'] for r in rows] == [
        'random init (earlier data)'] * 3 + ['run/iter_300.pth']
    assert rows[0]['data_now_sha1'] == {k: now for k in keys}
    notes = [line for line in out['markdown'].splitlines()
             if 'was written again since' in line]
    assert len(notes) == 2, out['markdown']  # one per seed, one folder
    assert all(str(data) in n and then[:12] in n and now[:12] in n and
               ', '.join(keys) in n for n in notes), notes


def test_a_mean_of_a_seed_not_checked_is_not_checked(tmp_path):
    """A mean over seeds of which one was not checked against the data now
    (written before the data was recorded) read as checked: no mark in the
    JSON, never named under the table, only its seed's row was. It now
    carries its seeds' mark: ``data_unchecked`` and the seeds not checked
    in the JSON, and a name in the line that names them; a mean of seeds
    all checked carries none (by hand: seeds 0 and 2 recorded, 1 not)."""
    from openselfsup.utils import data_folder_sha1
    data = _data_folder(tmp_path)
    keys = ('knn_eval.bank.data_root', 'knn_eval.query.data_root')
    recorded = dict(knn_data_sha1={k: data_folder_sha1(str(data))
                                   for k in keys},
                    knn_data_folders={k: str(data) for k in keys})
    paths = [write(tmp_path, f'knn_seed{s}.json',
                   result([0.5 + s / 10] * 6, seed=s,
                          **({} if s == 1 else recorded)))
             for s in (0, 1, 2)]
    for given, unchecked in ((paths, [1]), (paths[::2], None)):
        out = summarize(given, tmp_path / f'out{len(given)}')
        rows = json.loads((tmp_path / f'out{len(given)}.json').read_text()
                          )['rows']
        mean = rows[-1]
        assert mean['mean'] and mean['seeds'] == (
            [0, 1, 2] if unchecked else [0, 2])
        # each row's mark, by hand: seed 1 alone is not checked
        assert [r.get('data_unchecked') for r in rows[:-1]] == [
            True if r['seed'] == 1 else None for r in rows[:-1]]
        assert mean.get('data_unchecked') == (True if unchecked else None)
        assert mean.get('data_unchecked_seeds') == unchecked
        lines = [line for line in out['markdown'].splitlines()
                 if 'not checked against the data now' in line]
        if unchecked:
            assert len(lines) == 1, out['markdown']
            assert lines[0].endswith(
                ': hlss_demo, random init seed 1; hlss_demo, random init '
                'mean of seeds 0, 1, 2'), lines
        else:
            assert lines == [], out['markdown']


def test_a_means_marks_reach_its_line_and_its_bar_whatever_its_labels(
        tmp_path, monkeypatch):
    """A mean's seeds were found under the table by their model label,
    but seeds are meaned by their model (SHA-1s), so seeds of one model
    under two config paths (labelled by path) lost the mean's name in the
    not-checked line while its JSON row held the mark; and the plot
    labelled every mean 'random init', a mean of seeds of earlier data
    too, while the table marks it. By hand: seed 1 (config b) not
    checked; then the data written again under both."""
    import matplotlib.axes

    from openselfsup.apis.knn_summary import plot_summary
    from openselfsup.utils import data_folder_sha1
    data = _data_folder(tmp_path)
    keys = ('knn_eval.bank.data_root', 'knn_eval.query.data_root')
    recorded = dict(knn_data_sha1={k: data_folder_sha1(str(data))
                                   for k in keys},
                    knn_data_folders={k: str(data) for k in keys})
    a = write(tmp_path, 'a.json', result([0.5] * 6, seed=0,
                                         config='/a/hlss_demo.py',
                                         **recorded))
    b = write(tmp_path, 'b.json', result([0.6] * 6, seed=1,
                                         config='/b/hlss_demo.py'))
    out = summarize([a, b], tmp_path / 'two')
    rows = json.loads((tmp_path / 'two.json').read_text())['rows']
    mean = rows[-1]
    assert mean['mean'] and mean['files'] == [a, b]
    assert mean['data_unchecked_seeds'] == [1]
    lines = [line for line in out['markdown'].splitlines()
             if 'not checked against the data now' in line]
    assert len(lines) == 1 and 'mean of seeds 0, 1' in lines[0], lines
    # the plot: the mean's bar only, labelled with its weights' mark
    labels = []
    real_bar = matplotlib.axes.Axes.bar
    monkeypatch.setattr(matplotlib.axes.Axes, 'bar', lambda self, *args,
                        **kw: labels.append(kw['label']) or real_bar(
                            self, *args, **kw))
    (data / 'patches' / 'p0.png').write_bytes(b'patch 0, again')
    c = write(tmp_path, 'c.json', result([0.7] * 6, seed=1, **recorded))
    d = write(tmp_path, 'd.json', result([0.8] * 6, seed=2, **recorded))
    summarize([c, d], tmp_path / 'earlier')
    rows = json.loads((tmp_path / 'earlier.json').read_text())['rows']
    assert rows[-1]['weights'] == 'random init (earlier data)'
    plot_summary(rows)
    assert set(labels) == {
        'hlss_demo, random init (earlier data) (mean of 2 seeds)'}, labels


def test_results_on_other_data_are_refused_together(tmp_path, capfd):
    """Two results evaluated on other data under the same folder (one
    before the data was written again, one after) are refused in one
    table, naming the folder, as results of other split files are."""
    from openselfsup.utils import data_folder_sha1
    data = _data_folder(tmp_path)
    key = 'knn_eval.bank.data_root'
    then = data_folder_sha1(str(data))
    a = write(tmp_path, 'knn_a.json', result(
        [0.5] * 6, seed=0, knn_data_sha1={key: then},
        knn_data_folders={key: str(data)}))
    (data / 'patches' / 'p3.png').write_bytes(b'patch 3, again')
    now = data_folder_sha1(str(data))
    b = write(tmp_path, 'knn_b.json', result(
        [0.6] * 6, seed=1, knn_data_sha1={key: now},
        knn_data_folders={key: str(data)}))
    rc, _, err = run_tool_here([TOOL, a, b, '--output',
                                str(tmp_path / 's')], capfd)
    assert rc == 2
    assert err.strip() == (
        f'error: {b}: evaluated under other kNN settings than {a} (the data '
        f'in {data} ({key}: its listing and a sample of its files, SHA-1): '
        f'{then[:12]} -> {now[:12]}); one table compares models under one '
        "setting: summarise each setting's results apart")
    assert not (tmp_path / 's.md').exists()


def test_a_data_digest_none_then_or_now_is_not_judged(tmp_path):
    """A sampled file of the data folder that cannot be read (a dangling
    link) makes its digest None: a result whose folder reads so now was a
    TypeError in the summary (the None digest sliced), and one recorded
    so was marked as of earlier data though nothing changed. Neither is
    judged now; a real change beside it still is."""
    from openselfsup.utils import data_folder_sha1
    data = _data_folder(tmp_path)
    key = 'knn_eval.bank.data_root'
    then = data_folder_sha1(str(data))
    readable = write(tmp_path, 'knn_seed0.json', result(
        [0.5] * 6, seed=0, knn_data_sha1={key: then},
        knn_data_folders={key: str(data)}))
    recorded_none = write(tmp_path, 'knn_seed1.json', result(
        [0.6] * 6, seed=1, knn_data_sha1={key: None},
        knn_data_folders={key: str(data)}))
    out = summarize([readable, recorded_none], tmp_path / 'none_then')
    assert 'written again' not in out['markdown']
    os.symlink('/nonexistent/zz.png', data / 'patches' / 'zz.png')
    assert data_folder_sha1(str(data)) is None
    out = summarize([readable], tmp_path / 'none_now')
    assert 'written again' not in out['markdown']
    rows = json.loads((tmp_path / 'none_now.json').read_text())['rows']
    assert not any('data_now_sha1' in r for r in rows)
    os.remove(data / 'patches' / 'zz.png')
    (data / 'patches' / 'p0.png').write_bytes(b'patch 0 at another size')
    out = summarize([readable, recorded_none], tmp_path / 'changed')
    rows = json.loads((tmp_path / 'changed.json').read_text())['rows']
    assert [r['weights'].endswith('(earlier data)') for r in rows[:2]] == \
        [True, False], rows


@pytest.mark.parametrize('elsewhere', [False, True])
def test_a_result_of_the_earlier_data_rule_is_not_judged_by_its_folder(
        tmp_path, monkeypatch, elsewhere):
    """A result recorded under the earlier rule (no data_root: the
    metadata's folder, here the current directory, outputs included) and
    one of today's rule (the folder of the patches) on the same data were
    refused as other kNN settings, though knn_eval.py's rerun accepts
    them, and the earlier one was marked '(earlier data)' as the current
    directory read again now holds the results. Both read as one setting,
    unmarked; a patch written over is still named for today's record.
    The same from another directory than the evaluation's (``elsewhere``):
    the earlier rule was judged by the relative metadata read from the
    current directory, so there the earlier result was marked."""
    from openselfsup.apis.knn_summary import (check_one_setting,
                                              data_written_over)
    from openselfsup.utils import data_folder_sha1
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'patches' / 'P0').mkdir(parents=True)
    for i in range(3):
        (tmp_path / 'patches' / 'P0' / f'{i}.png').write_bytes(b'p%d' % i)
    (tmp_path / 'meta.json').write_text(json.dumps({'P0': {
        'class': 'TUM', 'slides': {'S0': [f'patches/P0/{i}.png'
                                          for i in range(3)]}}}))
    key = 'knn_eval.bank.data_root'
    # the rules' folders, by hand: the metadata's (the current directory)
    # and the one holding every patch
    old, new = str(tmp_path), str(tmp_path / 'patches')
    settings = {'knn_eval.bank.metadata': 'meta.json'}
    earlier = result([0.5] * 6, seed=0, settings=settings,
                     knn_data_sha1={key: data_folder_sha1(old)},
                     knn_data_folders={key: old})
    today = result([0.6] * 6, seed=1, settings=settings,
                   knn_data_sha1={key: data_folder_sha1(new)},
                   knn_data_folders={key: new})
    paths = [write(tmp_path, 'knn_seed0.json', earlier),
             write(tmp_path, 'knn_seed1.json', today)]
    if elsewhere:
        (tmp_path / 'elsewhere').mkdir()
        monkeypatch.chdir(tmp_path / 'elsewhere')
    assert data_written_over([earlier, today]) == [None, None]
    check_one_setting(paths, [earlier, today])
    out = summarize(paths, tmp_path / 'out' / 'summary')
    assert 'earlier data' not in out['markdown'], out['markdown']
    assert 'written again' not in out['markdown'], out['markdown']
    (tmp_path / 'patches' / 'P0' / '1.png').write_bytes(b'written over')
    out = summarize(paths, tmp_path / 'out' / 'again')
    notes = [line for line in out['markdown'].splitlines()
             if 'was written again since' in line]
    assert len(notes) == 1 and new in notes[0], out['markdown']
    # the earlier result is not checked against the data now: it passed
    # without a word (no mark, no line), as if checked; listed now, with
    # its own reason, in the lines and the JSON
    unchecked = [line for line in out['markdown'].splitlines()
                 if 'not checked against the data now' in line]
    assert len(unchecked) == 1 and 'seed 0' in unchecked[0] and \
        'seed 1' not in unchecked[0], out['markdown']
    assert "their data folder is their metadata's folder (the earlier " \
        'rule' in unchecked[0], unchecked
    rows = json.loads((tmp_path / 'out' / 'again.json').read_text())['rows']
    assert [r.get('data_unchecked_why') for r in rows[:2]] == [
        {key: 'metadata_folder'}, None], rows
    assert rows[0]['data_unchecked'] and rows[0]['data_unchecked_keys'] == \
        [key]




def _fallen_back(tmp_path, monkeypatch):
    """A metadata in ``tmp_path/work`` naming patches under two trees
    whose parent, ``tmp_path``, reads as top-level: the kNN data folder
    falls back to the metadata's, the digest is of the patch files.
    Returns the metadata's folder, the metadata and the recorded
    ``knn_settings``, ``knn_data_folders`` and ``knn_data_sha1`` (as
    :func:`result` takes them)."""
    import openselfsup.apis.knn as knn_mod
    from openselfsup.apis.knn import (knn_data_folders, knn_data_sha1,
                                      knn_settings)
    real = knn_mod._top_level
    monkeypatch.setattr(knn_mod, '_top_level', lambda folder: folder == str(
        tmp_path) or real(folder))
    for tree in ('x', 'y'):
        (tmp_path / tree / 'P0').mkdir(parents=True)
        for i in range(2):
            (tmp_path / tree / 'P0' / f'{i}.png').write_bytes(
                b'%s %d' % (tree.encode(), i))
    work = tmp_path / 'work'
    work.mkdir()
    meta = work / 'meta.json'
    meta.write_text(json.dumps({'P0': {'class': 'TUM', 'slides': {'S0': [
        str(tmp_path / tree / 'P0' / f'{i}.png') for tree in ('x', 'y')
        for i in range(2)]}}}))
    knn = {side: dict(type='HierarchicalPatchDataset', metadata=str(meta),
                      split_name=side) for side in ('bank', 'query')}
    folders = knn_data_folders(knn)
    values, _ = knn_settings(knn)
    assert set(folders.values()) == {str(work)}  # the fall-back
    return work, meta, dict(settings=values, knn_data_folders=folders,
                            knn_data_sha1=knn_data_sha1(folders, values))


def _reads_of(path, monkeypatch):
    """The list of each opening of ``path`` from now on (``open``
    counted)."""
    import builtins
    reads = []
    real_open = builtins.open

    def counting_open(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and \
                os.path.abspath(file) == str(path):
            reads.append(file)
        return real_open(file, *args, **kwargs)
    monkeypatch.setattr(builtins, 'open', counting_open)
    return reads


def test_one_summary_reads_each_metadata_file_once(tmp_path, monkeypatch):
    """Results of datasets without data_root whose patches lie under two
    top-level trees (the data folder falls back to the metadata's,
    :func:`_fallen_back`): the summary's data checks (each record's
    digests, the earlier rule of each side of every comparison) read
    the metadata JSON again and again, 21 times for three results of
    one metadata; once now. The verdicts stay: nothing marked, then a
    patch written over named for each."""
    work, meta, recorded = _fallen_back(tmp_path, monkeypatch)
    paths = [write(tmp_path, f'knn_seed{s}.json',
                   result([0.5] * 6, seed=s, **recorded)) for s in (0, 1)]
    paths.append(write(tmp_path, 'knn_ckpt.json',
                       result([0.6] * 6, **recorded)))
    reads = _reads_of(meta, monkeypatch)
    out = summarize(paths, tmp_path / 'same')
    assert 'earlier data' not in out['markdown'], out['markdown']
    assert len(reads) == 1, len(reads)
    (tmp_path / 'y' / 'P0' / '1.png').write_bytes(b'written over')
    reads.clear()
    out = summarize(paths, tmp_path / 'changed')
    notes = [line for line in out['markdown'].splitlines()
             if 'written again since' in line]
    assert len(notes) == 3 and all(str(work) in n for n in notes), \
        out['markdown']
    assert len(reads) == 1, len(reads)


def test_the_metadata_is_read_once_within_a_scope_only(tmp_path,
                                                      monkeypatch):
    """named_patches parses a metadata once within reading_once
    (one command) while its size and times are unchanged; outside one,
    every call reads it, so a rewrite between two calls is seen; a scope
    left by an exception leaves no cache behind, and one within another
    shares the outer's. The metadata taken as written long before its
    reads (one changed just before is read on each call)."""
    from _io_helpers import written_long_ago

    from openselfsup.apis import knn as knn_mod
    from openselfsup.utils import reading_once
    meta = tmp_path / 'meta.json'
    reads = _reads_of(meta, monkeypatch)
    written_long_ago(monkeypatch)

    def name(folder):  # one patch under /d/<folder>, at one size
        meta.write_text(json.dumps({'P': {'slides': {'S': [
            f'/d/{folder}/a.png']}}}))

    def folder():
        return knn_mod.named_patches(str(meta)).folder
    name('aa')
    assert folder() == '/d/aa'
    name('bb')  # the same size, at once
    assert folder() == '/d/bb' and len(reads) == 2
    with reading_once():
        assert [folder(), folder()] == ['/d/bb', '/d/bb'] and \
            len(reads) == 3
        with reading_once():  # shares the outer's
            assert folder() == '/d/bb' and len(reads) == 3
        assert folder() == '/d/bb' and len(reads) == 3
    with pytest.raises(RuntimeError):
        with reading_once():
            assert folder() == '/d/bb' and len(reads) == 4
            raise RuntimeError
    name('cc')
    assert folder() == '/d/cc' and len(reads) == 5
    assert folder() == '/d/cc' and len(reads) == 6


def test_a_patch_files_digest_is_named_so_under_the_table(
        tmp_path, monkeypatch):
    """A result whose data digest is of the patch files its metadata
    names (the top-level fall-back) and one of them written over since:
    the line under the table said "the data in <the metadata's folder>
    ... was written again", which read as that folder (the working
    directory) changed; it names the patch files now, in the words of
    knn_eval.py's refusal (config.data_contents_change)."""
    from openselfsup.config import data_contents_change
    work, meta, recorded = _fallen_back(tmp_path, monkeypatch)
    then = recorded['knn_data_sha1']['knn_eval.bank.data_root']
    path = write(tmp_path, 'knn_seed0.json',
                 result([0.5] * 6, seed=0, **recorded))
    (tmp_path / 'x' / 'P0' / '0.png').write_bytes(b'written over')
    out = summarize([path], tmp_path / 'changed')
    notes = [line for line in out['markdown'].splitlines()
             if 'written again since' in line]
    keys = 'knn_eval.bank.data_root, knn_eval.query.data_root'
    named = f'the patch files the metadata in {work} names ({keys}: '
    assert len(notes) == 1 and named in notes[0], out['markdown']
    assert f'the data in {work}' not in out['markdown'], out['markdown']
    # the refusal's words, the keys aside (a digest of the patch files
    # then and now)
    refusal = data_contents_change(f'data.{keys}', then, 'b' * 40 +
                                   ':patches', str(work))
    assert notes[0].split(': ', 1)[1].startswith(
        refusal.rsplit(': ', 1)[0] + ' were written again since'), \
        (notes[0], refusal)


def test_a_fall_back_result_of_the_folder_digest_is_listed_unchecked(
        tmp_path, monkeypatch):
    """A top-level fall-back result recorded before its digest was of the
    patch files (of the metadata's folder, no ':patches'): its data is
    not judged against today's digest (no evidence either way), and the
    summary passed it without a word, as if checked. It is listed as not
    checked now, with its reason, beside a result of today's digest,
    which is checked (a patch written over marks it alone)."""
    from openselfsup.utils import data_folder_sha1
    work, meta, recorded = _fallen_back(tmp_path, monkeypatch)
    keys = sorted(recorded['knn_data_folders'])
    before = dict(recorded, knn_data_sha1={
        k: data_folder_sha1(str(work)) for k in keys})
    paths = [write(tmp_path, 'knn_seed0.json',
                   result([0.5] * 6, seed=0, **before)),
             write(tmp_path, 'knn_seed1.json',
                   result([0.6] * 6, seed=1, **recorded))]
    out = summarize(paths, tmp_path / 'same')
    unchecked = [line for line in out['markdown'].splitlines()
                 if 'not checked against the data now' in line]
    assert len(unchecked) == 1, out['markdown']
    assert 'seed 0' in unchecked[0] and 'seed 1' not in unchecked[0]
    assert "of the metadata's folder" in unchecked[0], unchecked
    rows = json.loads((tmp_path / 'same.json').read_text())['rows']
    assert [r.get('data_unchecked') for r in rows[:2]] == [True, None]
    assert rows[0]['data_unchecked_keys'] == keys
    assert rows[0]['data_unchecked_why'] == dict.fromkeys(keys,
                                                          'folder_digest')
    (tmp_path / 'x' / 'P0' / '1.png').write_bytes(b'written over')
    out = summarize(paths, tmp_path / 'changed')
    rows = json.loads((tmp_path / 'changed.json').read_text())['rows']
    assert [r['weights'] for r in rows] == [
        'random init', 'random init (earlier data)',
        'random init (earlier data)'], rows


@pytest.mark.parametrize('metadata', ['one tree', 'deleted'])
def test_a_patch_files_result_whose_metadata_changed_since(
        tmp_path, monkeypatch, metadata):
    """Review r58: a result of today's digest of the patch files its
    metadata names (the top-level fall-back), whose data is digested as
    a folder now: the digests of two kinds were left out either way
    round, and the summary said "their data digest is of the metadata's
    folder, taken before ...", false here. Its metadata rewritten to
    name patches under one folder is a data change: the row is marked
    '(earlier data)', the line says the metadata was written again, and
    knn_eval.py's rerun check names the data (one rule, judged_data).
    Its metadata deleted: not checked, for that reason."""
    from openselfsup.apis.knn import (check_own_results, knn_data_folders,
                                      knn_data_sha1, knn_settings)
    from openselfsup.apis.knn_summary import data_written_over
    from openselfsup.utils import InputError, data_folder_sha1
    work, meta, recorded = _fallen_back(tmp_path, monkeypatch)
    knn = {side: dict(type='HierarchicalPatchDataset', metadata=str(meta),
                      split_name=side) for side in ('bank', 'query')}
    values, files = knn_settings(knn)
    keys = sorted(recorded['knn_data_folders'])
    rec = result([0.5] * 6, knn_settings=values, knn_files_sha1=files,
                 knn_data_sha1=recorded['knn_data_sha1'],
                 knn_data_folders=recorded['knn_data_folders'])
    path = write(tmp_path, 'knn_run_iter_300.json', rec)
    if metadata == 'deleted':
        os.remove(meta)
    else:  # both patches under tmp_path/x/P0: no fall-back
        meta.write_text(json.dumps({'P0': {'class': 'TUM', 'slides': {
            'S0': [str(tmp_path / 'x' / 'P0' / f'{i}.png')
                   for i in range(2)]}}}))
    out = summarize([path], tmp_path / 'now')
    row = json.loads((tmp_path / 'now.json').read_text())['rows'][0]
    lines = [line for line in out['markdown'].splitlines()
             if line.startswith('- ')]
    assert len(lines) == 1, out['markdown']
    assert "of the metadata's folder, taken before" not in lines[0], lines
    if metadata == 'deleted':
        assert data_written_over([rec]) == [None]
        assert row['weights'] == 'run/iter_300.pth', row
        assert lines[0].startswith('- not checked against the data now ('
                                   'their data digest is of the patch files '
                                   'a metadata names, and that metadata '
                                   'cannot be read now'), lines
        assert row['data_unchecked_why'] == dict.fromkeys(
            keys, 'metadata_unread'), row
        return
    # the digest now: of the folder recorded (utils' own digest)
    folder_now = data_folder_sha1(str(work))
    assert data_written_over([rec]) == [dict.fromkeys(keys, folder_now)]
    assert row['weights'] == 'run/iter_300.pth (earlier data)', row
    assert 'data_unchecked' not in row, row
    assert lines[0].startswith(
        f'- hlss_demo, run/iter_300.pth (earlier data): the metadata in '
        f'{work} ({", ".join(keys)}) was written again since it was '
        'evaluated'), lines
    assert f'{folder_now[:12]} now' in lines[0], lines
    # knn_eval.py's rerun: refused by the data too (counted), not only
    # by the metadata file's SHA-1, which the line names first (what
    # changed: the patch list changes with it)
    folders = knn_data_folders(knn)
    assert set(folders.values()) == {str(tmp_path / 'x' / 'P0')}
    now = knn_data_sha1(folders, knn_settings(knn)[0])
    with pytest.raises(InputError) as err:
        check_own_results(path, rec['checkpoint'], rec['checkpoint_sha1'],
                          config=rec['config'], settings=(
                              *knn_settings(knn), now, folders))
    meta_key = keys[0][:-len('data_root')] + 'metadata'
    assert (f'(the contents of the file {meta_key} names, SHA-1: '
            f'{files[meta_key][:12]} -> '
            f'{knn_settings(knn)[1][meta_key][:12]}; 3 more differ)'
            ) in str(err.value), err.value
    from openselfsup.apis.knn import judged_data
    then, here = judged_data(rec, dict(rec, knn_data_sha1=now), now=True)
    assert then == recorded['knn_data_sha1'] and here == now != then


def test_two_metadata_files_of_one_folder_are_named_apart(
        tmp_path, monkeypatch):
    """The bank's and the query's metadata in one folder, each naming its
    own patches under two top-level trees, both written over since: the
    line under the table grouped the keys by folder and printed the
    bank's SHA-1s for both; each key's digests are shown now, one line
    each (they differ)."""
    from openselfsup.apis.knn import (knn_data_folders, knn_data_sha1,
                                      knn_settings)
    work, _, _ = _fallen_back(tmp_path, monkeypatch)
    knn = {}
    for side, i in (('bank', 0), ('query', 1)):
        meta = work / f'{side}.json'
        meta.write_text(json.dumps({'P0': {'class': 'TUM', 'slides': {'S0': [
            str(tmp_path / tree / 'P0' / f'{i}.png')
            for tree in ('x', 'y')]}}}))
        knn[side] = dict(type='HierarchicalPatchDataset', metadata=str(meta),
                         split_name=side)
    folders = knn_data_folders(knn)
    values, _ = knn_settings(knn)
    then = knn_data_sha1(folders, values)
    assert len(set(then.values())) == 2, then
    path = write(tmp_path, 'knn_seed0.json', result(
        [0.5] * 6, seed=0, settings=values, knn_data_folders=folders,
        knn_data_sha1=then))
    for i in (0, 1):
        (tmp_path / 'x' / 'P0' / f'{i}.png').write_bytes(b'written over %d'
                                                         % i)
    now = knn_data_sha1(folders, values)
    out = summarize([path], tmp_path / 'both')
    notes = [line for line in out['markdown'].splitlines()
             if 'written again since' in line]
    assert len(notes) == 2, out['markdown']
    for key, note in zip(sorted(then), notes):
        assert f'({key}: their sorted paths' in note, notes
        assert f'({then[key][:12]} then, {now[key][:12]} now)' in note, \
            notes


def test_other_data_without_its_folder_recorded_is_named_in_words(tmp_path):
    """Two results on other data whose records name no data folder
    (``knn_data_folders`` missing): the refusal read 'the data folder
    <key> names (: its listing ...', a stray colon where the folder's
    keys stand in the other form; now 'names (its listing ...)'."""
    from openselfsup.apis.knn_summary import check_one_setting
    from openselfsup.utils import InputError
    key = 'knn_eval.bank.data_root'
    a = result([0.5] * 6, seed=0, knn_data_sha1={key: 'a' * 40})
    b = result([0.6] * 6, seed=1, knn_data_sha1={key: 'b' * 40})
    with pytest.raises(InputError) as info:
        check_one_setting(['a.json', 'b.json'], [a, b])
    assert str(info.value) == (
        'b.json: evaluated under other kNN settings than a.json (the data '
        f'folder {key} names (its listing and a sample of its files, '
        f'SHA-1): {"a" * 12} -> {"b" * 12}); one table compares models '
        "under one setting: summarise each setting's results apart")


def test_error_bars_past_the_axis_are_cut_there_and_said(tmp_path,
                                                         monkeypatch):
    """A 2-seed mean's 95% half-width (t of 1 degree of freedom, 12.71)
    reaches far past 0-100: the bar ran off the axis with no note. Bars
    are drawn to the axis, and a note under the plot names each cut bar
    with its mean and half-width; a bar within the axis is drawn whole.
    By hand: seeds 0.1 and 0.9 at patch accuracy, mean 50, half-width
    12.706 * 0.8 / 2 = 508.2 points; seeds 0.50 and 0.52 elsewhere, mean
    51, half-width 12.706 * 0.01414 / 1.414 = 12.7 points."""
    from scipy import stats

    import openselfsup.utils.plot as plot_mod
    from openselfsup.apis.knn_summary import CUT_NOTE, plot_summary
    a = write(tmp_path, 'a.json', result([0.1] + [0.5] * 5, seed=0))
    b = write(tmp_path, 'b.json', result([0.9] + [0.52] * 5, seed=1))
    summarize([a, b], tmp_path / 'two')
    rows = json.loads((tmp_path / 'two.json').read_text())['rows']
    figures = []
    real = plot_mod.figure_png
    monkeypatch.setattr(plot_mod, 'figure_png', lambda fig, **kw: (
        figures.append(fig), real(fig, **kw))[1])
    plot_summary(rows)
    fig, = figures
    t = stats.t.ppf(0.975, 1)
    wide = 100 * t * np.std([0.1, 0.9], ddof=1) / np.sqrt(2)
    narrow = 100 * t * np.std([0.5, 0.52], ddof=1) / np.sqrt(2)
    assert wide > 500 and 10 < narrow < 50
    # the error bars' vertical segments: every one within the axis, the
    # patch accuracy's from 0 to 100, the others whole
    ax = fig.axes[0]
    from matplotlib.container import BarContainer
    segments = [seg for c in ax.containers if isinstance(c, BarContainer)
                and c.errorbar is not None
                for seg in c.errorbar.lines[2][0].get_segments()]
    assert len(segments) == 3  # the mean's bar at each level
    spans = [(round(s[0][1], 6), round(s[1][1], 6)) for s in segments]
    assert spans[0] == (0, 100)
    for lo, hi in spans[1:]:
        assert abs(lo - (51 - narrow)) < 1e-6 and abs(hi - (51 + narrow)) \
            < 1e-6
    # the note wrapped at spaces (NOTE_CHARS_PER_INCH)
    notes = [t.get_text().replace('\n', ' ') for t in fig.texts
             if CUT_NOTE in t.get_text()]
    label = rows[-1]['model'] + ', ' + rows[-1]['weights']
    assert notes == [f'{CUT_NOTE}{label} (mean of 2 seeds), patch accuracy '
                     f'50.0 \u00b1 {wide:.1f}']
    # within the axis: no note
    figures.clear()
    c = write(tmp_path, 'c.json', result([0.5] * 6, seed=0))
    d = write(tmp_path, 'd.json', result([0.52] * 6, seed=1))
    summarize([c, d], tmp_path / 'near')
    plot_summary(json.loads((tmp_path / 'near.json').read_text())['rows'])
    assert not any(CUT_NOTE in t.get_text() for t in figures[0].texts)


def test_the_cut_note_is_wrapped_before_matplotlib_draws_it(tmp_path,
                                                            monkeypatch):
    """The note under bars cut at the axis is wrapped at spaces into lines
    of at most 180 characters (NOTE_CHARS_PER_INCH on the 9-inch plot)
    before the plot is drawn: with matplotlib's wrap=True each draw
    measured it word by word (0.3 s of a 0.85 s plot for three cut bars of
    long names). Its words are the unwrapped note's, in order; the PNG is
    still written."""
    import openselfsup.utils.plot as plot_mod
    from openselfsup.apis.knn_summary import (CUT_NOTE, NOTE_CHARS_PER_INCH,
                                              plot_summary)
    config = '/c/' + 'a_very_long_configuration_name_' * 3 + 'x.py'
    paths = [write(tmp_path, f'{s}.json',
                   result([v] * 6, config=config, seed=s))
             for s, v in ((0, 0.05), (1, 0.95))]
    summarize(paths, tmp_path / 'long')
    rows = json.loads((tmp_path / 'long.json').read_text())['rows']
    figures = []
    real = plot_mod.figure_png
    monkeypatch.setattr(plot_mod, 'figure_png', lambda fig, **kw: (
        figures.append(fig), real(fig, **kw))[1])
    png = plot_summary(rows)
    assert png.startswith(b'\x89PNG')
    note, = [t for t in figures[0].texts if CUT_NOTE in t.get_text()]
    assert not note.get_wrap()
    lines = note.get_text().split('\n')
    # about the plot's width at 6 points
    width = figures[0].get_figwidth()
    assert width == 9 and len(lines) > 1 and all(
        len(x) <= NOTE_CHARS_PER_INCH * width for x in lines)
    # six bars cut (each level's accuracy and mean class accuracy)
    label = rows[-1]['model'] + ', ' + rows[-1]['weights']
    assert ' '.join(lines).count(f'{label} (mean of 2 seeds)') == 6


def test_the_command_imports_pyplot_never_and_scipy_for_a_mean_only(
        tmp_path):
    """tools/knn_summary.py spent most of its ~3 s in imports, among them
    matplotlib.pyplot and scipy.special (the report's metrics, imported
    for ``report_prefix``). Its PNG is drawn on a Figure of the Agg
    canvas, without pyplot; scipy's t quantile is imported where a
    half-width is computed: a summary of trained checkpoints alone (no
    mean over seeds) imports no scipy, one with two seeds does (its
    half-width is scipy's). Run as a user runs it, in a fresh process."""
    from _foundation_helpers import loaded_modules
    watch = ('matplotlib', 'scipy')
    trained = [write(tmp_path, f'knn_{e}.json', result(
        [0.5 + 0.1 * i] * 6, ckpt_sha1=str(i) * 40,
        checkpoint=f'/w/{e}/run/iter_300.pth'))
        for i, e in enumerate(('exp1', 'exp2'))]
    seeds = [write(tmp_path, f'knn_seed{s}.json', result(
        [0.3 + 0.1 * s] * 6, seed=s)) for s in (0, 1)]
    for files, scipy in ((trained, False), (trained + seeds, True)):
        out = tmp_path / f'summary_{len(files)}'
        rc, _, err, loaded = loaded_modules(
            [TOOL, *files, '--output', str(out)], watch)
        assert rc == 0, err
        assert (tmp_path / f'summary_{len(files)}.png').read_bytes()[
            :8] == b'\x89PNG\r\n\x1a\n'
        assert 'matplotlib.figure' in loaded  # drawn by matplotlib
        assert 'matplotlib.pyplot' not in loaded
        assert ('scipy.special' in loaded) is scipy, loaded
        if not scipy:
            assert not [m for m in loaded if m.startswith('scipy')]


@pytest.mark.parametrize('seed', [0, 7, 2 ** 63 - 1, -1])
def test_the_random_init_words_written_are_read_back_by_both_readers(seed):
    """The words ``knn_eval.py`` (``checkpoint``) and ``extract.py``
    (``checkpoint_kind``, a library model's behind its library) write for
    a random initialisation give back its seed to both readers, the kNN
    summary's and the low-shot provenance's: they parsed the words with
    two patterns, and the summary's took a negative seed (which a file
    written before every ``--seed`` was checked may hold: torch took -1)
    for a checkpoint's path."""
    from openselfsup.apis.knn_summary import _seed
    from openselfsup.lowshot.features import _recorded_seed
    from openselfsup.utils.checkpoint_files import random_init_words
    assert random_init_words(seed) == f'random init (seed {seed})'
    assert random_init_words(seed, 'open_clip') == \
        f'open_clip random init (seed {seed})'
    assert _seed(dict(checkpoint=f'random init (seed {seed})')) == seed
    assert _seed(dict(checkpoint=random_init_words(seed))) == seed
    for library in (None, 'timm', 'open_clip'):
        kind = random_init_words(seed, library)
        assert _recorded_seed(dict(checkpoint_kind=kind)) == seed


@pytest.mark.parametrize('words', [
    '/w/run/iter_300.pth', '/w/random init (seed 3)/iter_300.pth',
    '/w/my random init (seed 3)', 'random init (seed 3) of /c/a.py',
    'random init (seed 3.5)', 'random init (seed )', 'random init',
    'full checkpoint', 'timm weights (safetensors)', 'imported features'])
def test_no_other_words_name_a_seed(words):
    """A checkpoint's path or kind, and the seed's words with more after
    them (as an error line names a baseline), name no seed to either
    reader: no writer writes anything after the closing bracket."""
    from openselfsup.apis.knn_summary import _seed
    from openselfsup.lowshot.features import _recorded_seed
    assert _seed(dict(checkpoint=words)) is None
    assert _recorded_seed(dict(checkpoint_kind=words)) is None


@pytest.mark.parametrize('words, random', [
    ('random init (seed 0)', True), ('random init (seed -1)', True),
    ('open_clip random init (seed 7)', True), ('random init', True),
    ('timm random init', True),
    ('/w/run/iter_300.pth', False),
    ('/w/random init (seed 3)/iter_300.pth', False),
    ('/w/my random init (seed 3)', False),
    ('random init (seed 3) of /c/a.py', False),
    ('random init (seed 3.5)', False), ('random init (seed )', False),
    ('/w/random init', False), ('full checkpoint', False),
    ('timm weights (safetensors)', False), ('imported features', False),
    (None, False)])
def test_a_random_init_is_told_by_the_words_reader(words, random):
    """Whether a provenance records a random initialisation (the low-shot
    provenance's ``_is_random``) is the one reader's answer
    (``checkpoint_files.is_random_init``): the words
    ``random_init_words`` writes, or those words without their seed (a
    record whose seed is not known, which the printed command asks for
    as ``--seed SEED``). It tested ``'random init' in kind``: a path
    holding the words, or the words with more after them, read as a
    random initialisation (and asked for as ``--random-init``) where
    the reader names no seed. The reference: the forms written by
    hand."""
    from openselfsup.lowshot.features import _is_random
    from openselfsup.utils.checkpoint_files import (is_random_init,
                                                    random_init_seed)
    assert is_random_init(words) is random
    assert _is_random(dict(checkpoint_kind=words)) is random
    # the seed is read where the words are random_init_words'
    if random and words.endswith(')'):
        assert random_init_seed(words) == int(words.split()[-1][:-1])
    else:
        assert random_init_seed(words) is None


def test_knn_eval_checkpoint_is_one_read_once_scope(tmp_path, monkeypatch):
    """``knn_eval_checkpoint`` (knn_eval.py's command) runs within one
    ``reading_once`` scope, so each metadata file is parsed once per
    evaluation, not once per reader (review r187: the decorator had slid
    onto a class put above the function, and the HiDisc demo's metadata
    was parsed twice in one evaluation): the scope is entered by the
    time the model is recorded, and left after."""
    from openselfsup.apis import knn as knn_mod
    from openselfsup.utils import once
    seen = []

    class Seen(Exception):
        pass

    def record(*args, **kwargs):
        seen.append(once._READ.get() is not None)
        raise Seen

    monkeypatch.setattr(knn_mod, 'model_record', record)
    config = os.path.join(REPO, 'configs', 'demo',
                          'hidisc_r18w8_synthetic.py')
    with pytest.raises(Seen):
        knn_mod.knn_eval_checkpoint(config, None, str(tmp_path / 'out'))
    assert seen == [True] and once._READ.get() is None
