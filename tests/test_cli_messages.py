"""What the commands say to a new user (review r198): the help's
examples run as they read, the run's own warnings are seen, a misspelt
work dir or model is named with what exists, every ``--help`` says where
the command writes."""
import os

import pytest

from _foundation_helpers import (AS_MAIN, FSP_DEMO, MODEL_STACK_IMPORT, REPO,
                                 error_lines, forked_python_c, run_tool,
                                 run_tool_here, small_config)


def test_the_helps_shorter_run_sets_the_keys_the_refusal_names():
    """tools/train.py --help's example of --cfg-options was
    ``train_cfg.max_epochs=5``, which trained on the CLP demo's 15-epoch
    cosine (warned of at the log's end); ``max_epochs=5`` is refused with
    the keys to set. The example sets those keys, and its run has no
    schedule warning."""
    import shlex

    import pytest

    from openselfsup.apis.train import schedule_notes
    from openselfsup.config import load_config
    from openselfsup.utils import InputError
    rc, out, err = run_tool(['tools/train.py', '--help'],
                            first=MODEL_STACK_IMPORT)
    assert rc == 0, err
    text = out.replace('\\\n', ' ')
    [example] = [ln for ln in text.splitlines()
                 if ln.strip().startswith('python tools/train.py')
                 and '--cfg-options' in ln]
    words = shlex.split(example)
    config = words[2]
    opts = words[words.index('--cfg-options') + 1:]
    given = dict(w.split('=') for w in opts)
    with pytest.raises(InputError) as refused:
        load_config(config, {'max_epochs': 5})
    named = str(refused.value).split('(those holding its value: ')[1]
    assert sorted(given) == sorted(named.split(')')[0].split(', '))
    cfg = load_config(config, {k: int(v) for k, v in given.items()})
    assert cfg.train_cfg.max_epochs == 5 and schedule_notes(cfg) == []


def test_a_misspelt_workdir_is_named_with_those_beside_it(tmp_path):
    """``--workdir wsi_workdir/workdir/dmeo`` (the quick start's demo,
    misspelt): summarize.py advised running distributed_meta_test.py
    ``--workdir .../dmeo``, the other readers extract.py ``--output
    .../dmeo/...``, all into the typo. Each says the workdir is not
    there, the closest folder beside it and the workdirs there; nothing
    is written."""
    root = tmp_path / 'wsi_workdir' / 'workdir'
    (root / 'demo' / 'results').mkdir(parents=True)
    (root / 'real' / 'extracted_feats').mkdir(parents=True)
    (root / 'notes').mkdir()  # no workdir: not listed
    line = ('error: --workdir wsi_workdir/workdir/dmeo: no such workdir '
            f'(relative to the current folder {tmp_path}; did you mean '
            'wsi_workdir/workdir/demo?); workdirs beside it: demo, real')
    for args in (['summarize.py'], ['summarize.py', '--compare', 'a', 'b'],
                 ['distributed_meta_test.py', '--task', 'near', '--model',
                  'clp', '--num_shots', '1'],
                 ['dict_construction.py', '--model', 'clp'],
                 ['tools/generate_task.py', '--task', 'near'],
                 ['ablation.py', '--model', 'clp'],
                 ['sweep.py', '--model', 'clp']):
        rc, out, err = run_tool(
            ['wsi_workdir/' + args[0], *args[1:], '--workdir',
             'wsi_workdir/workdir/dmeo'], cwd=str(tmp_path),
            first=MODEL_STACK_IMPORT)
        assert rc == 2 and error_lines(err) == [line], (args, err)
    assert sorted(p.name for p in root.iterdir()) == ['demo', 'notes',
                                                      'real']


def test_a_first_run_beside_another_workdir_keeps_the_make_it_advice(
        tmp_path):
    """Review r204: a first run's ``--workdir wsi_workdir/workdir/mine``
    (a new workdir, its name close to none) beside ``demo`` was refused
    as a misspelt workdir (``no such workdir ...; workdirs beside it:
    demo``), and lost the reader's own line that says how to make what it
    reads. That line is kept, the workdirs beside it at its end."""
    root = tmp_path / 'wsi_workdir' / 'workdir'
    (root / 'demo' / 'results').mkdir(parents=True)
    mine = 'wsi_workdir/workdir/mine'
    for args, said in (
            (['distributed_meta_test.py', '--task', 'near', '--model',
              'clp', '--num_shots', '1'],
             ('features not found: ', 'make it with: ', 'extract.py')),
            (['summarize.py'], ('no results directory; run ',))):
        rc, out, err = run_tool(
            ['wsi_workdir/' + args[0], *args[1:], '--workdir', mine],
            cwd=str(tmp_path), first=MODEL_STACK_IMPORT)
        lines = error_lines(err)
        assert rc == 2 and len(lines) == 1, (args, err)
        assert 'no such workdir' not in lines[0], lines
        assert all(w in lines[0] for w in said), lines
        assert lines[0].endswith('; workdirs beside it: demo'), lines
    assert sorted(p.name for p in root.iterdir()) == ['demo']


def test_the_helps_say_where_the_commands_write():
    """generate_task.py and dict_construction.py never said where they
    write; each --help now names the file its example writes, as the
    library names it (``TaskSpec.path``, ``DictionarySpec.path``), and
    tools/train.py's shows --check-config, which the docs give users
    (it was hidden as the launchers' own)."""
    from openselfsup.lowshot import spec as S
    task = S.TaskSpec('near', 5, 1000, 7, 0).path('<workdir>')
    dic = S.DictionarySpec('clp_wo_7', 7, 'NCT_train',
                           S.default('num_prototypes'),
                           S.default('num_shift_vectors'),
                           S.default('dict_seed')).path('<workdir>')
    for script, path, example in (
            ('wsi_workdir/tools/generate_task.py', task,
             '--task near --num_shots 5'),
            ('wsi_workdir/dict_construction.py', dic,
             '--model clp_wo_7 --novel_class 7')):
        rc, out, err = run_tool([script, '--help'], first=MODEL_STACK_IMPORT)
        assert rc == 0, err
        assert f'(writes {path})' in out and example in out, out
    rc, out, err = run_tool(['tools/train.py', '--help'],
                            first=MODEL_STACK_IMPORT)
    assert rc == 0 and '  --check-config ' in out, out


def test_the_shared_scripts_have_a_help_of_their_own(tmp_path):
    """``_help.sh --help`` began mid-sentence (its first line, taken for a
    #! line, was left out) and ``_env.sh --help``, which every script's
    help points to, printed nothing. Each prints its header from its
    first line; _env.sh's also each setting of the file with its default;
    _env.sh run without --help is one refusal line."""
    import re
    import subprocess

    from _foundation_helpers import REPO
    scripts = os.path.join(REPO, 'wsi_workdir', 'scripts')

    def sh(*args):
        return subprocess.run(['sh', *args], cwd=REPO, capture_output=True,
                              text=True, timeout=60)

    for name in ('_help.sh', '_env.sh'):
        path = os.path.join(scripts, name)
        with open(path) as f:
            text = f.read()
        first = text.splitlines()[0]
        out = sh(path, '--help')
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines()[0] == first[2:], out.stdout[:300]
    settings = re.findall(r'^([A-Z][A-Z_]*)=\$\{\1:-', text, re.M)
    assert len(settings) > 10, settings
    listed = re.findall(r'^  ([A-Z][A-Z_]*)=\$\{', out.stdout, re.M)
    assert listed == settings, (listed, settings)
    out = sh(path)
    assert out.returncode == 2 and out.stdout == '' and \
        out.stderr.splitlines() == [
            f'error: {path}: is sourced by the low-shot scripts, not run; '
            f'its settings: sh {path} --help'], out.stderr
    # a script's help names it
    out = sh(os.path.join(scripts, 'near_domain.sh'), '--help')
    assert out.stdout.splitlines()[-1] == (
        f'Settings shared by the scripts: {scripts}/_env.sh (sh '
        f'{scripts}/_env.sh --help lists them)'), out.stdout


def test_a_misspelt_model_gets_a_did_you_mean(tmp_path):
    """``--model cpl`` beside a workdir's ``clp``: the line of features
    not found named the extraction into ``cpl`` and every model of the
    workdir, never the close one; it says ``--model cpl: did you mean
    clp?`` first. A model with no close folder gets the line as before."""
    w = tmp_path / 'w'
    for model in ('clp', 'fsp_wo_7', 'random'):
        (w / 'extracted_feats' / model).mkdir(parents=True)
    args = ['wsi_workdir/distributed_meta_test.py', '--task', 'mixture',
            '--num_shots', '1', '--workdir', str(w), '--model']
    rc, out, err = run_tool(args + ['cpl'], first=MODEL_STACK_IMPORT)
    [line] = error_lines(err)
    path = w / 'extracted_feats' / 'cpl' / 'LC.npy'  # (mixture: LC)
    assert rc == 2 and line.startswith(
        f'error: features not found: {path} (--model cpl: did you mean '
        'clp?; make it with: '), line
    assert line.endswith(f'models with features in {w / "extracted_feats"}'
                         ': clp, fsp_wo_7, random'), line
    rc, out, err = run_tool(args + ['uni'], first=MODEL_STACK_IMPORT)
    [line] = error_lines(err)
    assert rc == 2 and 'did you mean' not in line and ' (make it with: ' \
        in line, line


def test_a_wrong_data_root_names_its_flag(tmp_path):
    """``extract.py --data-root data/MIEN`` said ``data/MIEN/meta/
    train_labeled.txt: list file not found``, naming neither the flag nor
    the folder beside it; the scripts' ``DATA=dat`` said the same of the
    --data-root they gave. Each names its setting; nothing is written."""
    import subprocess

    from _foundation_helpers import REPO
    (tmp_path / 'data' / 'MINE').mkdir(parents=True)
    config = os.path.join(REPO, 'configs', 'extraction', 'nct_train.py')
    base = ['wsi_workdir/extract.py', '--config', config, '--random-init',
            '--output', str(tmp_path / 'out' / 'a.npy')]
    where = f'relative to the current folder {tmp_path}'
    for given, said in (
            (['--data-root', 'data/MIEN'], '--data-root data/MIEN'),
            (['--cfg-options', 'dataset.data_root=data/MIEN'],
             '--cfg-options dataset.data_root=data/MIEN')):
        rc, out, err = run_tool(base + given, cwd=str(tmp_path),
                                first=MODEL_STACK_IMPORT)
        assert rc == 2 and error_lines(err) == [
            f'error: {said}: folder not found ({where}; did you mean '
            'data/MINE?)'], err
    rc, out, err = run_tool(base, cwd=str(tmp_path),
                            first=MODEL_STACK_IMPORT)
    assert rc == 2 and error_lines(err) == [
        f'error: data/NCT: folder not found (dataset.data_root of {config}: '
        f'give the folder as --data-root; {where})'], err
    assert sorted(os.listdir(tmp_path)) == ['data']
    script = os.path.join(REPO, 'wsi_workdir', 'scripts',
                          'evaluate_encoder.sh')
    out = subprocess.run(['sh', script, 'rnd', 'random', str(tmp_path / 'w')],
                         cwd=REPO, capture_output=True, text=True,
                         timeout=300, env=dict(
                             os.environ, DATA=str(tmp_path / 'dat'),
                             DOMAINS='mixture', MODES='linear'))
    dat = tmp_path / 'dat'
    assert out.returncode == 2 and error_lines(out.stderr) == [
        f'error: --data-root {dat}/LC25000 (DATA={dat}): folder not found'
        ], out.stderr
    assert sorted(os.listdir(tmp_path)) == ['data']


def test_own_datas_lists_write_classes_as_the_converters_do(tmp_path):
    """docs/own_data.md's one-liner wrote ``classes.txt`` as ``fat 0``
    lines, where the converters write one name a line
    (``list_files``), the form mmpretrain reads a ``classes`` file in
    (``mmengine.list_from_file``: ``fat 0`` a class of that name). Run
    as the doc gives it: classes.txt holds the names, the labelled list
    each image with its class's index there."""
    import re
    import subprocess

    import mmengine

    from _foundation_helpers import REPO
    from openselfsup.datasets.list_files import read_list_file
    with open(os.path.join(REPO, 'docs', 'own_data.md')) as f:
        doc = f.read()
    [block] = [b for b in re.findall(r'```bash\n(.*?)```', doc, re.S)
               if 'classes.txt' in b]
    data = tmp_path / 'data' / 'MINE' / 'data'
    names = ['fat', 'mucus', 'stroma']
    for name in names:
        (data / name).mkdir(parents=True)
        for i in range(2):
            (data / name / f'{name}_{i}.png').write_bytes(b'')
    out = subprocess.run(['bash', '-c', block], cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    meta = tmp_path / 'data' / 'MINE' / 'meta'
    assert (meta / 'classes.txt').read_text() == '\n'.join(names) + '\n'
    assert mmengine.list_from_file(str(meta / 'classes.txt')) == names
    labelled = read_list_file(str(meta / 'train_labeled.txt'))
    assert labelled == [(f'{n}/{n}_{i}.png', names.index(n))
                        for n in names for i in range(2)], labelled
    assert [e for e, _ in read_list_file(str(meta / 'train.txt'))] == [
        e for e, _ in labelled]


#: the tiny FSP config's warning (small_config: its MultiStepLR steps at
#: epoch 2 of a 1-epoch run)
MILESTONES_WARNING = ('warning: param_scheduler.0.milestones 2 lie at or '
                      'beyond train_cfg.max_epochs 1: those learning-rate '
                      'steps never come (set the milestones too)')


def test_a_started_runs_own_warnings_come_before_its_first_iteration(
        tmp_path, synthetic_root):
    """tools/train.py run again into a work dir holding a checkpoint,
    without --resume: its warning that the run writes over it was line
    387 of MMEngine's 395, on stdout among the log's lines. Said on
    stderr once the run has begun: after MMEngine's log of the
    environment, config and hooks, before the first iteration's line,
    and again after the finished line; the log file keeps it once, the
    console's log does not repeat it. Read as a terminal shows them:
    stdout and stderr one stream."""
    nct = os.path.join(synthetic_root, 'NCT') + '/'
    cfg = small_config(FSP_DEMO, str(tmp_path / 'fsp.py'), nct, n_images=4,
                       batch=4, ann_file='meta/train_labeled.txt')
    work = tmp_path / 'work'
    args = ['tools/train.py', cfg, '--work-dir', str(work)]
    rc, out, err = run_tool(args, first=MODEL_STACK_IMPORT)
    assert rc == 0, err[-3000:]
    # the same run again, its stderr on its stdout (2>&1)
    rc, both, err = forked_python_c(
        MODEL_STACK_IMPORT, 'import os\nos.dup2(1, 2)\n' + AS_MAIN,
        [os.path.join(REPO, args[0]), *args[1:]], cwd=str(tmp_path))
    assert rc == 0, (both + err)[-3000:]
    earlier = (f'warning: {work} holds 1 checkpoint(s) of an earlier run '
               '(epoch_1.pth): this run writes over those of the same names '
               '(--resume continues that run; --work-dir keeps both)')
    lines = error_lines(both)
    first = next(i for i, ln in enumerate(lines)
                 if 'Epoch(train) [1][1/1]' in ln)
    hooks = next(i for i, ln in enumerate(lines)
                 if 'Hooks will be executed in the following order' in ln)
    said = [i for i, ln in enumerate(lines)
            if ln in (earlier, MILESTONES_WARNING)]
    # twice each: as training began (after the log's environment, config
    # and hooks, before the first iteration's line), and after the
    # finished line, counted
    assert len(said) == 4 and hooks < said[0] and said[1] < first and \
        lines[said[0]:said[1] + 1] == [earlier, MILESTONES_WARNING], lines
    assert lines[-4].startswith('finished epoch 1, iteration 1'), lines[-5:]
    assert lines[-3:] == ['2 warning(s) said as training began (repeated):',
                          earlier, MILESTONES_WARNING], lines[-5:]
    # not in the console's log (MMEngine's "- WARNING - " line)
    assert sum(earlier[9:] in ln for ln in lines) == 2, lines
    log = sorted(work.glob('*/*.log'))[-1].read_text()
    assert log.count(earlier[9:]) == 1 and \
        log.count(MILESTONES_WARNING[9:]) == 1, log[-3000:]
    # --resume at the end of its schedule: no step runs, its warning is
    # said once, after the finished line (none said as training began)
    rc, out, err = run_tool(args + ['--resume'], first=MODEL_STACK_IMPORT)
    assert rc == 0 and error_lines(err) == [MILESTONES_WARNING], err[-3000:]
    assert out.splitlines()[-1].startswith('finished epoch 1, iteration 1')


@pytest.mark.parametrize('where', ['build', 'first batch'])
def test_a_refused_run_says_its_line_alone(tmp_path, synthetic_root, capfd,
                                           where):
    """A run refused after its config's checks has its one stderr line
    alone: its own warnings (the tiny FSP config's schedule warning) came
    first where they were said before MMEngine's log, and 21 tests of
    refusals failed (test_foundation_bad_input.py's
    ``test_corrupt_image_data_named_at_decode_time`` among them: an image
    whose header reads, cut short, refused as the first batch is drawn).
    Refused where the runner is built (a ResNet depth that does not
    exist) and where the last refusal before the first step comes (the
    first batch's image, once before_run, the resume or load and
    before_train have passed): the warnings come after the first step."""
    from PIL import Image

    from openselfsup.apis.train import schedule_notes
    from openselfsup.config import load_config
    root = tmp_path / 'nct'
    (root / 'meta').mkdir(parents=True)
    (root / 'data').mkdir()
    Image.new('RGB', (32, 32), (200, 30, 90)).save(root / 'data' / 'a.png')
    if where == 'first batch':  # its header reads (the build's check)
        whole = (root / 'data' / 'a.png').read_bytes()
        (root / 'data' / 'a.png').write_bytes(whole[:len(whole) // 2])
    (root / 'meta' / 'list.txt').write_text('a.png 1\n' * 4)
    cfg = small_config(FSP_DEMO, str(tmp_path / 'fsp.py'), f'{root}/',
                       n_images=4, batch=4, ann_file='meta/list.txt')
    assert schedule_notes(load_config(cfg)) == [MILESTONES_WARNING]
    options = ['--cfg-options', 'model.backbone.depth=7'] \
        if where == 'build' else []
    work = tmp_path / 'w'
    rc, out, err = run_tool_here(['tools/train.py', cfg, '--work-dir',
                                  str(work), *options], capfd)
    lines = error_lines(err)
    assert rc == 2 and len(lines) == 1, err[-3000:]
    assert lines[0].startswith(
        f'error: {cfg}: the model or data could not be built' if
        where == 'build' else
        f'error: {root}/data/a.png: corrupt image, cannot decode'), lines
    assert not work.exists()
