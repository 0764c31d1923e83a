"""What the commands say to a new user (review r198): the help's
examples run as they read, the run's own warnings are seen, a misspelt
work dir or model is named with what exists, every ``--help`` says
where the command writes."""
import os

from _foundation_helpers import (FSP_DEMO, MODEL_STACK_IMPORT, error_lines,
                                 run_tool, small_config)


def test_a_runs_own_warnings_come_before_its_log_and_after_its_end(
        tmp_path, synthetic_root):
    """tools/train.py run again into a work dir holding a checkpoint,
    without --resume: its warning that the run writes over it was line
    387 of MMEngine's 395. Said on stderr before the log's first line,
    and again after the finished line; the log file keeps it, the
    console's log does not repeat it."""
    nct = os.path.join(synthetic_root, 'NCT') + '/'
    cfg = small_config(FSP_DEMO, str(tmp_path / 'fsp.py'), nct, n_images=4,
                       batch=4, ann_file='meta/train_labeled.txt')
    work = tmp_path / 'work'
    args = ['tools/train.py', cfg, '--work-dir', str(work)]
    rc, out, err = run_tool(args, first=MODEL_STACK_IMPORT)
    assert rc == 0, err[-3000:]
    rc, out, err = run_tool(args, first=MODEL_STACK_IMPORT)
    assert rc == 0, err[-3000:]
    warning = (f'warning: {work} holds 1 checkpoint(s) of an earlier run '
               '(epoch_1.pth): this run writes over those of the same names '
               '(--resume continues that run; --work-dir keeps both)')
    lines = error_lines(err)
    # MMEngine's log on stdout; the warnings on stderr, the schedule's
    # (the tiny config's one epoch before its steps) beside it
    assert len(lines) == 5 and lines[0] == warning, lines
    assert lines[1].startswith('warning: param_scheduler.0.milestones'), lines
    assert lines[2:] == ["2 warning(s) before the run's log (repeated):",
                         warning, lines[1]], lines
    assert warning[9:] not in out and lines[1][9:] not in out, out[-3000:]
    assert out.splitlines()[-1].startswith('finished epoch 1'), out[-500:]
    log = sorted(work.glob('*/*.log'))[-1].read_text()
    assert log.count(warning[9:]) == 1, log[-3000:]


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
