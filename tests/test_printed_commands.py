"""Printed commands of the low-shot toolkit, pasted in another folder than
the repository root.

Every command a line prints names the checkout's script absolute
(``paths.script``), a path the user gave joined with the folder they gave
it in (``paths.printed``); the shell scripts, which run from the root
alone (``_env.sh``), as ``cd <root> && sh wsi_workdir/scripts/...``
(``paths.from_root``). Before (h180), these lines named the scripts
relative to the root: ``sh wsi_workdir/scripts/demo_lowshot.sh``,
``ablation.sh``, ``extract_ablation_feats.sh``, the kNN refusal's
``evaluate_encoder.sh``, ``run wsi_workdir/distributed_meta_test.py
first`` (no ``--workdir``: run as printed, another workdir), and the
ablation's rerun command ended on ``with its parts' flags``, which no
shell reads.

The checks read each command as the shell and its script's own parser
read it, from another folder; none runs a script end to end but the
ablation's rerun (a 4-task, 16-dimension ablation of two rows, a few
seconds): the shell scripts' positional arguments are counted against
their own ``positional_arguments`` line.
"""
import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import numpy as np
import pytest

from lowshot_data import (ELSEWHERE, ROOT, from_elsewhere, make_workdir,
                          printed_scripts, script_main)
from openselfsup.lowshot import paths
from openselfsup.utils import InputError, run_cli


def _script_arity(script):
    """``(least, most)`` positional arguments a shell script takes, read
    from its ``positional_arguments "<usage>" <least> <most>`` line; (0, 0)
    for a script without one (it takes none: ``_help.sh`` refuses any)."""
    with open(os.path.join(ROOT, script)) as f:
        found = re.search(r'positional_arguments "[^"]*" (\d+) (\d+)',
                          f.read())
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


#: a user's workdir, given relative to the folder they run in
#: (:data:`ELSEWHERE`), a space in its name
USER_WD = 'my w'
#: where a printed script must run it: that folder joined with it


def _copies_refusal(model='clp_wo_78'):
    """The line refusing NCT_aug copies of another image list than
    NCT_train's (``features.check_copies_of``), on sets of ``model`` in
    :data:`USER_WD` written by hand."""
    from openselfsup.lowshot.features import FeatureSet, check_copies_of
    sets = [FeatureSet(model, name, np.zeros((2, 4), np.float32),
                       np.zeros(2, np.int64),
                       paths.features_path(USER_WD, model, name),
                       paths.labels_path(USER_WD, name), True,
                       dict(list_sha1=sha1, aug_times=aug))
            for name, sha1, aug in (('NCT_train', 'a' * 40, None),
                                    ('NCT_aug', 'b' * 40, 2))]
    with pytest.raises(InputError) as e:
        check_copies_of(*sets)
    return str(e.value)


def _knn_line():
    from openselfsup.config import knn_is_for
    return knn_is_for('MoCoV3')


def _more_samples_line():
    from openselfsup.lowshot.tasks import more_samples_way_out
    return more_samples_way_out('PAIP_train')


def _library_copies_line():
    """The way out of copies that a library model cannot make (the same
    line for every model and workdir)."""
    from openselfsup.lowshot.features import no_library_copies
    return no_library_copies()


@pytest.mark.parametrize('line, expected', [
    (_knn_line, [('evaluate_encoder.sh', ['MODEL', 'CHECKPOINT']),
                 ('demo_lowshot.sh', ['CHECKPOINT'])]),
    (_more_samples_line, [('demo_lowshot.sh', ['CKPT', 'NEW_WORKDIR'])])])
def test_a_script_command_runs_in_the_root_from_any_folder(
        line, expected, monkeypatch):
    """The kNN refusal's ``evaluate_encoder.sh`` / ``demo_lowshot.sh``,
    the way out of too few samples (``demo_lowshot.sh CKPT
    NEW_WORKDIR``): pasted in another folder, each runs its script in the
    checkout's root, where ``_env.sh`` lets it run, with as many arguments
    as the script takes (the copies' lines name no script since review
    r115: ``test_a_library_models_copies_name_flags_to_add_not_a_command``).
    The reference: the folder check of ``_env.sh`` and each script's own
    ``positional_arguments`` line. Every placeholder of a path (all but
    the scripts' ``MODEL``, a name) is said to be given absolute: after
    the ``cd``, a relative one is the root's (the kNN refusal's
    ``CHECKPOINT`` was not)."""
    monkeypatch.chdir(ELSEWHERE)
    text = line()
    found = printed_scripts(text)
    assert [(os.path.basename(s), a) for s, a in found] == expected
    for script, args in found:
        assert os.path.dirname(script) == os.path.join('wsi_workdir',
                                                       'scripts')
        least, most = _script_arity(script)
        assert least <= len(args) <= most, (script, args)
        for arg in set(args) - {'MODEL'}:
            assert re.search(rf'\b{arg}\b[^;]* (is|are) read from the root '
                             r'there: give (it|them) absolute', text), \
                (arg, text)


def test_a_library_models_copies_name_flags_to_add_not_a_command(
        monkeypatch):
    """A library model makes no augmented copies: the way out named
    ``python .../ablation.py --model M --workdir W --image none --hybrid
    none`` and ``IMAGE=none HYBRID=none sh ablation.sh``, which ran the
    published settings (5 shots, 300 tasks, every part) in place of the
    user's ``--num_shots 2 --num_task 4 ...``, the script writing over the
    model's table; and the meta-test (``--aug_times 4``), which takes
    neither flag, got the same line (review r115). The line is made where
    the failing command is unknown: it now names the flags to add to it,
    each read by its command's own parser to skip what reads the copies,
    and no command of its own, nor one for the copies of other images
    (``extract_ablation_feats.sh`` extracted with ``_env.sh``'s default
    checkpoint into the user's workdir)."""
    from openselfsup.lowshot.features import NO_LIBRARY_COPIES
    monkeypatch.chdir(ELSEWHERE)
    line = _library_copies_line()
    assert line.startswith(NO_LIBRARY_COPIES + ': ') and '\n' not in line
    assert not re.search(r'python |\bsh |\bcd ', line), line
    added = dict((cmd, flags) for flags, cmd in
                 re.findall(r'(?:add|or) (--[^,]*?) to your (\S+) command', line))
    assert set(added) == {'ablation.py', 'distributed_meta_test.py'}, line
    ablation = script_main('wsi_workdir/ablation.py').__globals__[
        'parse_args'](['--model', 'm'] + shlex.split(added['ablation.py']))
    assert (ablation.image, ablation.hybrid) == ([], []), line
    meta = script_main('wsi_workdir/distributed_meta_test.py').__globals__[
        'parse_args'](['--model', 'm', '--task', 'near', '--num_shots',
                       '2'] + shlex.split(added['distributed_meta_test.py']))
    assert meta.aug_times == 0, line
    for model in ('uni', 'clp_wo_78'):
        refusal = _copies_refusal(model)
        assert not re.search(r'\bsh |\bcd ', refusal), refusal


def test_the_more_samples_generator_writes_the_data_the_demo_reads(
        monkeypatch):
    """Too few samples of a synthetic set: the way out named
    ``tools/prepare_data/make_synthetic.py --paip-per-class N``, relative
    to the root and without ``python``, whose default ``--out data`` is
    the current folder's, while ``demo_lowshot.sh`` reads the root's
    ``data/`` (review r111). Pasted in another folder, the generator is
    now the checkout's and writes where the demo script reads: the
    reference, ``_env.sh``'s ``DATA`` default, taken in the root, where
    the script runs. The script's own arguments, read from the root after
    the ``cd``, are said to be given absolute. (Where the folder the set
    was read from is not known, as here, the generator's ``--out`` and
    the script's ``DATA`` are one placeholder, ``DATA``, filled here with
    the demo's default: the folder the other tests of too few samples
    name.)"""
    monkeypatch.chdir(ELSEWHERE)
    line = _more_samples_line()
    with open(os.path.join(ROOT, 'wsi_workdir', 'scripts', '_env.sh')) as f:
        data = re.search(r'^DATA=\$\{DATA:-(\S+)\}', f.read(), re.M).group(1)
    command = re.search(r'data: (python .*? N),', line).group(1)
    args = _filled(command, 'tools/prepare_data/make_synthetic.py', N='60',
                   DATA=os.path.join(ROOT, data))
    (_, _, env), = printed_scripts(line, env=True)
    assert from_elsewhere(args.out) == os.path.join(ROOT, data)
    assert env == {'DATA': 'DATA'}
    assert args.paip_per_class == 60
    assert 'CKPT and NEW_WORKDIR are read from the root there: give them ' \
        'absolute' in line


def _filled(command, script, **values):
    """A printed ``python <script> ...`` command, shlex-split as the shell
    reads it pasted in :data:`ELSEWHERE`, its placeholders (upper-case
    words) given ``values``, read by the script's own parser: the script
    must be the checkout's file there."""
    argv = shlex.split(command)
    assert argv[0] == 'python' and os.path.isfile(from_elsewhere(argv[1])) \
        and os.path.relpath(from_elsewhere(argv[1]), ROOT) == script, command
    placeholders = {a for a in argv[2:] if re.fullmatch(r'[A-Z_]+', a)}
    assert placeholders == set(values), command
    parse = script_main(script).__globals__['parse_args']
    return parse([values.get(a, a) for a in argv[2:]])


def _error(capsys, argv):
    code = run_cli(script_main('wsi_workdir/summarize.py'), argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith('error: ') and '\n' not in err, err
    return err


def test_no_results_names_the_meta_test_of_the_workdir_read(
        tmp_path, monkeypatch, capsys):
    """summarize.py on a workdir without results said ``run
    wsi_workdir/distributed_meta_test.py first``: relative to the root,
    and without ``--workdir``, so that run as printed it wrote the default
    workdir's results; ``--compare --ablation`` alike named
    ``wsi_workdir/ablation.py``. Each line now names the command, its
    settings the user's (upper-case), with the workdir read, as a user
    gives it relative to their folder (here ``w d``, with a space). The
    reference: the scripts' own parsers, the placeholders filled."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'w d').mkdir()
    err = _error(capsys, ['--workdir', 'w d'])
    command = re.search(r'; run (.*) first', err).group(1)
    args = _filled(command, 'wsi_workdir/distributed_meta_test.py',
                   TASK='near', MODEL='clp', SHOTS='1')
    assert from_elsewhere(args.workdir) == str(tmp_path / 'w d')
    # --compare names its models (review r111: MODEL), each command its own
    for compare in ([], ['--ablation']):
        err = _error(capsys, ['--workdir', 'w d', '--compare', 'a', 'b',
                              *compare])
        commands = re.search(r'; run (.*) first', err).group(1)
        for model, command in zip('ab', commands.split(' and ')):
            if compare:
                args = _filled(command, 'wsi_workdir/ablation.py')
            else:
                args = _filled(command, 'wsi_workdir/distributed_meta_test.py',
                               TASK='near', SHOTS='1')
            assert (args.model, from_elsewhere(args.workdir)) == \
                (model, str(tmp_path / 'w d')), err


@pytest.fixture(scope='module')
def ablated(tmp_path_factory):
    """A workdir whose models ``clp_wo_78`` and ``fsp_wo_78`` ran a 4-task
    ablation of the baseline and the prototypes part at K = 2 (no other
    part), in float32, with the flags clp_wo_78's ran: its index records
    them."""
    w = str(tmp_path_factory.mktemp('ablated') / 'w d')
    flags = ['--num_task', '4', '--num_shots', '2', '--prototypes', '2',
             '--image', 'none', '--latent', 'none', '--hybrid', 'none',
             '--num_shift_vectors', '20', '--float32', '--quiet']
    for seed, model in enumerate(('fsp_wo_78', 'clp_wo_78')):
        make_workdir(w, model, dim=16, seed=seed)
        assert run_cli(script_main('wsi_workdir/ablation.py'),
                       ['--workdir', w, '--model', model, *flags]) == 0
    return w, ['--model', model, *flags]


#: the ablation.py flags that change a run's results (its index records
#: them), compared between a printed command and the run it must match
RESULT_FLAGS = ('num_task', 'num_shots', 'clf', 'prototypes', 'image',
                'latent', 'hybrid', 'num_shift_vectors', 'seed', 'task_seed',
                'dict_seed', 'float32')


def test_a_model_without_ablation_results_names_its_ablation(
        ablated, capsys, monkeypatch):
    """``--compare A B --ablation`` with B's ablation not run said ``run
    wsi_workdir/ablation.py --model B``: relative to the root, no
    ``--workdir`` (run as printed: the default workdir's ablation); then
    (review r111) with the model and workdir alone, which ran the
    published 5 shots, 300 tasks and every part (the image part refused
    for lack of copies), not settings that pair with A's. The command now
    runs B's ablation in the workdir read, from any folder, with the
    flags of A's run: the reference, A's own command line read by the
    same parser."""
    w, flags = ablated
    monkeypatch.chdir(os.path.dirname(w))
    err = _error(capsys, ['--workdir', 'w d', '--compare', 'clp_wo_78',
                          'clp', '--ablation'])
    command = err.split('; run ')[1]
    args = _filled(command, 'wsi_workdir/ablation.py')
    assert args.model == 'clp' and from_elsewhere(args.workdir) == w
    ran = script_main('wsi_workdir/ablation.py').__globals__['parse_args'](
        flags)
    for name in RESULT_FLAGS:
        assert getattr(args, name) == getattr(ran, name), (name, command)


def _left_out_command(capsys):
    """The command of the line refusing an ablation comparison whose
    results of clp_wo_78 were all computed on features changed since."""
    err = _error(capsys, ['--workdir', 'w d', '--compare', 'clp_wo_78',
                          'fsp_wo_78', '--ablation'])
    return err.split('run them again, e.g.: ')[1]


def test_a_left_out_ablation_result_is_run_again_as_printed(
        ablated, capsys, monkeypatch):
    """An ablation result left out (its features extracted again since)
    was named ``python .../ablation.py --model M ... --workdir W with its
    parts' flags``: no shell reads the last words, and without them the
    command ran every published part. The command now gives the parts'
    values of the run that wrote it, as the ablation's index records them;
    run exactly as printed, from another folder, it computes the results
    again in the workdir read and writes the ablation's table whole (the
    same rows), and the comparison reads them. Where the index records no
    run of the setting, the line says which flags to add."""
    w, flags = ablated
    index = paths.ablation_index_path(w, 'clp_wo_78')
    with open(index) as f:
        rows = [(r['part'], r['x']) for r in json.load(f)['ablation_rows']]
    assert rows == [('baseline', None), ('prototypes', 2)]
    feats = paths.features_path(w, 'clp_wo_78', 'NCT_test')
    np.save(feats, np.load(feats)[::-1].copy())
    monkeypatch.chdir(os.path.dirname(w))
    command = _left_out_command(capsys)
    argv = shlex.split(command)  # as the shell reads it
    assert argv[0] == 'python' and os.path.isfile(from_elsewhere(argv[1]))
    main = script_main('wsi_workdir/ablation.py')
    args = main.__globals__['parse_args'](argv[2:])
    ran = main.__globals__['parse_args'](['--workdir', w, *flags])
    for name in ('model', *RESULT_FLAGS):  # review r111: --float32 dropped
        assert getattr(args, name) == getattr(ran, name), name
    assert from_elsewhere(args.workdir) == w
    monkeypatch.chdir(ELSEWHERE)  # pasted in yet another folder
    assert run_cli(main, argv[2:]) == 0, capsys.readouterr().err
    capsys.readouterr()
    with open(index) as f:
        assert [(r['part'], r['x']) for r in
                json.load(f)['ablation_rows']] == rows
    monkeypatch.chdir(os.path.dirname(w))
    assert run_cli(script_main('wsi_workdir/summarize.py'), [
        '--workdir', 'w d', '--compare', 'clp_wo_78', 'fsp_wo_78',
        '--ablation']) == 0, capsys.readouterr().err
    capsys.readouterr()
    # no index of the setting: the flags to add, said
    from openselfsup.lowshot.ablation import PARTS_TO_ADD
    os.remove(index)
    np.save(feats, np.load(feats)[::-1].copy())
    command = _left_out_command(capsys)
    head, tail = command.split(PARTS_TO_ADD)
    # absolute, as the workdir is (it was as given, relative)
    index = shlex.quote(os.path.join(w, 'sweeps', 'ablation',
                                     'clp_wo_78.json'))
    assert tail == f' ({index} records no run of this setting)', tail
    args = main.__globals__['parse_args'](shlex.split(head)[2:])
    assert from_elsewhere(args.workdir) == w


def test_a_left_out_result_of_a_run_the_index_no_longer_holds(
        capsys, monkeypatch, tmp_path):
    """Where the model's index is of ANOTHER run (an ablation of other
    shots since, which wrote its own results beside the earlier ones),
    the rerun command of an earlier result cannot give the parts' values
    of the run that wrote it: the index's parts (here K = 4) are not its.
    The line names the flags to add, and that the command replaces the
    table of the run the index records (review r111: it was replaced
    without a word). The reference: the two runs' own command lines, read
    by the script's parser."""
    from openselfsup.lowshot.ablation import PARTS_TO_ADD, rerun_command
    from openselfsup.lowshot.report import load_result
    monkeypatch.chdir(tmp_path)
    make_workdir('w d', 'clp_wo_78', dim=16)
    main = script_main('wsi_workdir/ablation.py')
    parse = main.__globals__['parse_args']
    common = ['--workdir', 'w d', '--model', 'clp_wo_78', '--num_task', '4',
              '--image', 'none', '--latent', 'none', '--hybrid', 'none',
              '--quiet']
    first = [*common, '--num_shots', '2', '--prototypes', '2', '--float32']
    for flags in (first, [*common, '--num_shots', '3', '--prototypes', '4']):
        assert run_cli(main, flags) == 0
    capsys.readouterr()
    ran = parse(first)
    earlier = load_result(paths.result_path(
        'w d', 'clp_wo_78', 'near', 'linear', 'Ridge', 2, 78,
        results=paths.ablation_results_dir('w d')))
    index = shlex.quote(f'{tmp_path}/w d/sweeps/ablation/clp_wo_78.json')
    command = rerun_command(earlier, 'w d')
    head, tail = command.split(PARTS_TO_ADD)
    assert tail == (f' ({index} records no run of this setting; running it '
                    'replaces the table of the run it records, '
                    + shlex.quote(f'{tmp_path}/w d/sweeps/ablation/'
                                  'clp_wo_78.md') + ')'), command
    args = parse(shlex.split(head)[2:])
    for name in ('model', 'num_task', 'num_shots', 'num_shift_vectors',
                 'float32'):
        assert getattr(args, name) == getattr(ran, name), (name, command)
    assert args.workdir == str(tmp_path / 'w d')


def test_the_ablation_index_is_read_once_per_report(
        capsys, monkeypatch, tmp_path):
    """Every ablation result of a model left out (its features extracted
    again since) gets its rerun command, whose parts' flags its model's
    index gives: the index was read again for each of them, once per
    result in one ``--compare --ablation`` report. It is read once per
    report now, while it is the same file (counted here, each result
    still given its command). The index made older than the window in
    which a file just written is read again (``utils.once.RECENT_NS``)."""
    import time

    from openselfsup.lowshot import ablation
    from openselfsup.utils import once
    monkeypatch.chdir(tmp_path)
    flags = ['--num_task', '4', '--num_shots', '2', '--prototypes', '2',
             '--image', 'none', '--latent', 'none', '--hybrid', 'none',
             '--num_shift_vectors', '20', '--quiet']
    for seed, model in enumerate(('fsp_wo_78', 'clp_wo_78')):
        make_workdir('w', model, dim=16, seed=seed)
        assert run_cli(script_main('wsi_workdir/ablation.py'),
                       ['--workdir', 'w', '--model', model, *flags]) == 0
    feats = paths.features_path('w', 'clp_wo_78', 'NCT_test')
    np.save(feats, np.load(feats)[::-1].copy())
    monkeypatch.setattr(once, 'RECENT_NS', 10 ** 8)
    time.sleep(0.2)
    index = os.path.abspath(paths.ablation_index_path('w', 'clp_wo_78'))
    reads = []

    def counted(path):
        reads.append(os.path.abspath(path))
        return json_object(path)
    json_object = ablation.json_object_or_none
    monkeypatch.setattr(ablation, 'json_object_or_none', counted)
    capsys.readouterr()
    err = _error(capsys, ['--workdir', 'w', '--compare', 'clp_wo_78',
                          'fsp_wo_78', '--ablation'])
    left = len(os.listdir(os.path.join(paths.ablation_results_dir('w'),
                                       'clp_wo_78')))
    assert left >= 2 and f'every result of clp_wo_78 ({left}) was' in err, \
        err
    assert reads.count(index) == 1, (reads, err)


GEN = script_main('wsi_workdir/tools/generate_task.py')


def _synthetic_paip(out, capsys):
    """The generator's PAIP19 (a few 8 px patches) under ``out``, as
    ``make_synthetic.py --out <out> --domains paip`` writes it (its
    output taken)."""
    assert run_cli(script_main('tools/prepare_data/make_synthetic.py'), [
        '--out', out, '--domains', 'paip', '--size', '8',
        '--paip-train-slides', '1', '--paip-test-slides', '1',
        '--paip-per-class', '1']) == 0
    capsys.readouterr()


def _too_few_line(tmp_path, capsys, **provenance):
    """The refusal of ``generate_task.py --task out --num_shots 50`` on a
    workdir whose PAIP_train has 36 samples a class (the fixture's), its
    set's provenance JSON recording ``provenance`` (none: no JSON)."""
    from lowshot_data import cli_fails, write_provenance
    wd = make_workdir(str(tmp_path / 'w'))
    if provenance:
        write_provenance(wd, 'clp', 'PAIP_train', **provenance)
    return cli_fails(GEN, ['--task', 'out', '--num_shots', '50',
                           '--num_task', '2', '--workdir', wd], capsys, wd,
                     'PAIP_train: class 0 has 36 samples, fewer than '
                     'shots = 50; run at most 36 shots')


def _demo_reads(setting):
    """The folder ``_env.sh`` has the scripts read PAIP19 from, ``DATA``
    being ``setting`` (its ``PAIP_*) echo "$DATA/..."`` line)."""
    with open(os.path.join(ROOT, 'wsi_workdir', 'scripts', '_env.sh')) as f:
        sub = re.search(r'PAIP_\*\) echo "\$DATA/(\S+)"', f.read()).group(1)
    return os.path.join(setting, sub)


def _generator_and_demo(line, **values):
    """The generator's flags (its parser's) and the demo command's
    settings before ``sh`` of a too-few line, pasted elsewhere."""
    command = re.search(r'data: (python .*? N),', line).group(1)
    args = _filled(command, 'tools/prepare_data/make_synthetic.py',
                   N='60', **values)
    (script, words, env), = printed_scripts(line, env=True)
    assert (os.path.basename(script), words) == ('demo_lowshot.sh',
                                                 ['CKPT', 'NEW_WORKDIR'])
    return args, env


@pytest.mark.parametrize('relative', [False, True])
def test_too_few_synthetic_samples_name_the_folder_the_set_was_read_from(
        tmp_path, capsys, monkeypatch, relative):
    """A set extracted from the generator's data elsewhere than the
    checkout's ``data/`` (``DATA=/tmp/store sh .../demo_lowshot.sh``):
    the way to more samples named ``make_synthetic.py --out <root>/data``
    and the demo without ``DATA``, which read the old data again (reviews
    r142, r143). The generator's ``--out`` and the demo's ``DATA`` are now
    the folder holding the set's PAIP19 folder, as its provenance records
    it (``--data-root``, absolute or relative to its ``cwd``). Reference:
    the generator run into that folder (its own layout and marker), and
    ``_env.sh``'s ``$DATA/PAIP19``."""
    store = tmp_path / 'my store'
    _synthetic_paip(str(store), capsys)
    root = 'my store/PAIP19' if relative else str(store / 'PAIP19')
    monkeypatch.chdir(ELSEWHERE)
    line = _too_few_line(tmp_path, capsys, cwd=str(tmp_path),
                         cfg_options={'dataset.data_root': root})
    args, env = _generator_and_demo(line)
    assert from_elsewhere(args.out) == str(store)
    assert _demo_reads(env['DATA']) == str(store / 'PAIP19')
    assert 'CKPT and NEW_WORKDIR are read from the root there: give them ' \
        'absolute' in line


def test_too_few_samples_of_unknown_data_name_a_data_placeholder(
        tmp_path, capsys, monkeypatch):
    """No provenance, a relative data root without the folder it was
    relative to, a folder no longer there (its data moved: no marker
    there, yet not real data), or the generator's folder under another
    name than ``$DATA/PAIP19``: the folder to give is not known, and the
    commands read the checkout's ``data/`` by guess. They now name
    ``DATA`` (``--out DATA``, ``DATA=DATA``) for the user to fill in, and
    say what it is. Reference: filled with the generator's folder, the
    generator writes and the demo reads its PAIP19."""
    store = tmp_path / 'store'
    _synthetic_paip(str(store), capsys)
    # the generator's folder under another name than the scripts read
    renamed = tmp_path / 'other' / 'mine'
    shutil.copytree(str(store / 'PAIP19'), str(renamed))
    monkeypatch.chdir(ELSEWHERE)
    for i, provenance in enumerate(({}, {'cfg_options': {
            'dataset.data_root': 'store/PAIP19'}}, {'cfg_options': {
                'dataset.data_root': str(tmp_path / 'moved' / 'PAIP19')}},
            {'cfg_options': {'dataset.data_root': str(renamed)}})):
        line = _too_few_line(tmp_path / str(i), capsys, **provenance)
        args, env = _generator_and_demo(line, DATA=str(store))
        assert from_elsewhere(args.out) == str(store)
        assert env == {'DATA': 'DATA'}
        assert _demo_reads(str(store)) == str(store / 'PAIP19')
        assert 'DATA and CKPT and NEW_WORKDIR are read from the root ' \
            'there: give them absolute' in line
        assert '; DATA: the folder that holds the PAIP19 folder ' \
            'PAIP_train was read from (' in line


def test_too_few_samples_of_the_checkouts_data_name_it_as_before(
        tmp_path, capsys, monkeypatch):
    """The generator's data in the checkout's ``data/`` (the quick
    start's): the line stays as it was, the generator's ``--out`` that
    folder and the demo without ``DATA`` (its default, ``_env.sh``'s).
    The checkout stood in for by a folder of the same layout (its root
    read from :data:`~openselfsup.utils.io.REPO_ROOT`)."""
    from openselfsup.utils import io
    fake = tmp_path / 'checkout'
    _synthetic_paip(str(fake / 'data'), capsys)
    monkeypatch.setattr(io, 'REPO_ROOT', str(fake))
    line = _too_few_line(tmp_path, capsys, cwd=str(fake), cfg_options={
        'dataset.data_root': 'data/PAIP19'})
    command = re.search(r'data: python (\S+) --out (\S+) --paip-per-class '
                        r'N,', line)
    assert command.groups() == (
        str(fake / 'tools' / 'prepare_data' / 'make_synthetic.py'),
        str(fake / 'data'))
    with open(os.path.join(ROOT, 'wsi_workdir', 'scripts', '_env.sh')) as f:
        default = re.search(r'^DATA=\$\{DATA:-(\S+)\}', f.read(),
                            re.M).group(1)
    assert os.path.join(str(fake), default) == str(fake / 'data')
    assert f'cd {fake} && sh wsi_workdir/scripts/demo_lowshot.sh CKPT ' \
        'NEW_WORKDIR extracts them all; CKPT and NEW_WORKDIR are read from ' \
        'the root there: give them absolute)' in line
    assert 'DATA' not in line.replace('NEW_WORKDIR', '')


def test_too_few_samples_of_real_data_name_no_generator(tmp_path, capsys):
    """Real data (the folder the set was read from holds no generator's
    marker, as a converter's output): the line said to regenerate it
    with ``make_synthetic.py``, which refuses a folder it did not write.
    It now says the set has too few images of the class, fewer shots
    being the way out. Reference: the generator's folder, its marker
    taken away."""
    store = tmp_path / 'real'
    _synthetic_paip(str(store), capsys)
    marker, = [f for f in os.listdir(store / 'PAIP19')
               if f.endswith('.json')]
    os.remove(store / 'PAIP19' / marker)
    line = _too_few_line(tmp_path, capsys, cwd=str(tmp_path),
                         cfg_options={'dataset.data_root': 'real/PAIP19'})
    assert 'make_synthetic' not in line.replace(
        f'no {marker} of make_synthetic.py there', '')
    assert 'demo_lowshot' not in line
    assert line.endswith(
        "run at most 36 shots (sweep.py --out_shots, OUT_SHOTS in the "
        "scripts; --num_shots of generate_task.py and "
        "distributed_meta_test.py), or use more images of the class: "
        f"PAIP_train's, read from {store / 'PAIP19'}, are real data (no "
        f"{marker} of make_synthetic.py there) with too few of it"), line


def test_too_few_samples_of_sets_read_from_apart_name_a_data_placeholder(
        tmp_path, capsys, monkeypatch):
    """The demo the line names reads every set from ``$DATA``: where the
    workdir's other sets were read from elsewhere than the short set's
    folder (PAIP19 under one folder, NCT under another), ``DATA=<the
    short set's>`` read NCT from there too, or none (review r149: only the
    short set's folder was looked up). The line names the ``DATA``
    placeholder and why; where they agree, the folder."""
    from lowshot_data import cli_fails, write_provenance
    store = tmp_path / 'store'
    _synthetic_paip(str(store), capsys)
    monkeypatch.chdir(ELSEWHERE)
    for nct, apart in ((str(tmp_path / 'other' / 'NCT'), True),
                       ('NCT', 'unsure'),  # relative, no cwd: not known
                       (str(store / 'NCT'), False)):
        wd = make_workdir(str(tmp_path / f'w_{apart}'))
        write_provenance(wd, 'clp', 'PAIP_train', cfg_options={
            'dataset.data_root': str(store / 'PAIP19')})
        write_provenance(wd, 'clp', 'NCT_train', cfg_options={
            'dataset.data_root': nct})
        line = cli_fails(GEN, ['--task', 'out', '--num_shots', '50',
                               '--num_task', '2', '--workdir', wd], capsys,
                         wd, 'PAIP_train: class 0 has 36 samples, fewer '
                         'than shots = 50; run at most 36 shots')
        args, env = _generator_and_demo(
            line, **({'DATA': str(store)} if apart else {}))
        # (filled in, the generator's folder)
        assert from_elsewhere(args.out) == str(store)
        if apart == 'unsure':  # one not known is no agreement (r151)
            assert env == {'DATA': 'DATA'}, line
            assert (f'PAIP_train was read from {store / "PAIP19"}, the '
                    "workdir's NCT_train from a folder not known: the "
                    'relative data root NCT is recorded without the folder '
                    'it was read from') in line, line
        elif apart:
            assert env == {'DATA': 'DATA'}, line
            assert (f'PAIP_train was read from {store / "PAIP19"}, the '
                    "workdir's other sets from under "
                    f'{tmp_path / "other"}: the demo reads every set from '
                    '$DATA') in line, line
        else:
            assert env == {'DATA': str(store)}, line


def test_the_data_placeholder_left_as_printed_is_refused(tmp_path):
    """``--out DATA`` and ``DATA=DATA`` as a too-few line prints them
    where it does not know the folder: pasted unfilled, the generator
    wrote ``./DATA`` and the demo read it, exit 0 (review r149). Both are
    refused in one line before anything is written; a folder named DATA
    spelt as a path is taken (``./DATA``)."""
    out = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'tools', 'prepare_data',
                                      'make_synthetic.py'), '--out', 'DATA',
         '--size', '8'], cwd=tmp_path, capture_output=True, text=True,
        env=dict(os.environ, PYTHONPATH=ROOT), timeout=300)
    assert (out.returncode, out.stderr.strip().splitlines()) == (2, [
        'error: --out DATA: a placeholder of a printed command; give the '
        'folder the data was read from (it holds NCT, LC25000 and PAIP19) '
        'in its place (a folder named DATA: ./DATA, or its absolute '
        'path)']), out.stderr
    assert os.listdir(tmp_path) == []
    demo = subprocess.run(
        ['sh', 'wsi_workdir/scripts/demo_lowshot.sh', 'random',
         str(tmp_path / 'w')], cwd=ROOT, capture_output=True, text=True,
        env=dict(os.environ, DATA='DATA'), timeout=300)
    assert (demo.returncode, demo.stderr.strip().splitlines()) == (2, [
        'error: wsi_workdir/scripts/demo_lowshot.sh: DATA=DATA: a '
        'placeholder of a printed command; give the folder the data was '
        'read from (it holds NCT, LC25000 and PAIP19) in its place (a '
        'folder named DATA: ./DATA, or its absolute path)']), demo.stderr
    assert not (tmp_path / 'w').exists()


def test_a_set_read_under_its_configs_root_is_told_by_the_folders_resolved(
        tmp_path, capsys, monkeypatch):
    """h237: whether a set read without ``--data-root`` read its images
    under its config's relative ``data/PAIP19`` was told lexically
    (``os.path.normpath`` of the recorded list and image folder). A list
    recorded ``data/lnk/../PAIP19/...``, ``lnk`` a link elsewhere, read
    the generator's folder beside the link's target, yet was taken for
    the ``data/PAIP19`` of the folder it ran in (another generator's
    folder), and the way to more samples named that one: the generator
    rerun there and the demo read it, exit 0. Where both paths exist
    they are resolved now: that set's folder is not known (``DATA`` to
    fill in); one read through a link to ``data/PAIP19`` itself
    (``data/P``) and one read plainly are of ``data/PAIP19``. Reference:
    the folders made here (the generator's, its marker there)."""
    run, real = tmp_path / 'run', tmp_path / 'real'
    _synthetic_paip(str(run / 'data'), capsys)  # the folder the run is in
    _synthetic_paip(str(real), capsys)  # the set's own images
    os.makedirs(real / 'other')
    os.symlink(real / 'other', run / 'data' / 'lnk')
    os.symlink(run / 'data' / 'PAIP19', run / 'data' / 'P')
    monkeypatch.chdir(ELSEWHERE)
    for i, (folder, out) in enumerate((('data/lnk/../PAIP19', None),
                                       ('data/P', run / 'data'),
                                       ('data/PAIP19', run / 'data'))):
        line = _too_few_line(
            tmp_path / str(i), capsys, cwd=str(run),
            list_file=f'{folder}/meta/paip_train_labeled.txt',
            data_prefix=f'{folder}/data')
        args, env = _generator_and_demo(
            line, **({} if out else {'DATA': str(real)}))
        if out is None:  # not known: filled with the set's own folder
            assert env == {'DATA': 'DATA'}, (folder, line)
            assert str(run / 'data') not in line, (folder, line)
            assert from_elsewhere(args.out) == str(real), (folder, line)
        else:
            assert from_elsewhere(args.out) == str(out), (folder, line)
            assert _demo_reads(env['DATA']) == str(out / 'PAIP19'), line


def test_the_more_samples_way_out_reads_each_json_once(
        tmp_path, capsys, monkeypatch):
    """The way to more samples (``tasks.more_samples_way_out``) asks where
    every set's images were read from; each ask read every model's six
    provenance JSONs again (``features.images_folder`` once per set name:
    six reads of each JSON for one refusal line). Each JSON is now read
    once per line, the line unchanged (the other tests of this file).
    Reference: the JSON files in the model folders, listed."""
    import builtins
    from lowshot_data import write_provenance
    from openselfsup.lowshot.tasks import more_samples_way_out
    store = tmp_path / 'store'
    _synthetic_paip(str(store), capsys)
    wd = make_workdir(str(tmp_path / 'w'))
    feats = os.path.join(wd, 'extracted_feats')
    models = sorted(d for d in os.listdir(feats)
                    if os.path.isdir(os.path.join(feats, d)))
    for model in models:
        for name in ('PAIP_train', 'PAIP_test', 'NCT_train'):
            write_provenance(wd, model, name, cwd=str(tmp_path),
                             cfg_options={'dataset.data_root': str(
                                 store / ('PAIP19' if 'PAIP' in name
                                          else 'NCT'))})
    jsons = sorted(os.path.join(feats, m, f) for m in models
                   for f in os.listdir(os.path.join(feats, m))
                   if f.endswith('.json'))
    assert len(jsons) == 3 * len(models) >= 3
    opened = []
    real_open = builtins.open

    def counting_open(file, *args, **kwargs):
        if str(file).endswith('.json'):
            opened.append(os.path.abspath(str(file)))
        return real_open(file, *args, **kwargs)
    monkeypatch.setattr(builtins, 'open', counting_open)
    line = more_samples_way_out('PAIP_train', wd)
    monkeypatch.setattr(builtins, 'open', real_open)
    assert 'make_synthetic.py' in line
    assert sorted(p for p in opened if os.path.exists(p) and
                  os.path.dirname(os.path.dirname(p)) == feats) == jsons
