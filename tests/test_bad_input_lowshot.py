"""Nothing silently wrong in the low-shot commands (issue 17).

Each case provokes one bad input through the real command and expects one
line on stderr, a non-zero exit, and nothing written (or the previous file
unchanged).
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

from lowshot_data import (CHECKPOINT_PROVENANCE, cli_fails, cli_ok,
                          make_workdir, near_args, printed_output,
                          script_main, snapshot, without_fill_note,
                          without_json_commands, write_provenance)
from openselfsup.lowshot import paths
from openselfsup.lowshot.spec import DictionarySpec, RunSpec, TaskSpec
from openselfsup.utils import InputError, run_cli

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))




GEN = script_main('wsi_workdir/tools/generate_task.py')
DICT = script_main('wsi_workdir/dict_construction.py')
META = script_main('wsi_workdir/distributed_meta_test.py')
SWEEP = script_main('wsi_workdir/sweep.py')
SUMMARY = script_main('wsi_workdir/summarize.py')
K = ['--num_prototypes', '4', '--num_shift_vectors', '50']




@pytest.fixture
def wd(tmp_path):
    return make_workdir(str(tmp_path / 'w'), spread=0.25)


def _gen(w, *extra):
    return near_args(w, *extra, num_task=10)


def _meta(w, *extra):
    return near_args(w, *extra, meta=True, num_task=10)


def test_one_reader_of_a_model_names_held_out_suffix():
    """The model name's ``_wo_<c>`` suffix is read in one place
    (split_model_name): the held-out labels the extraction checks, the
    family the near-domain plot draws, and the check of --novel_class
    agree on each name."""
    from openselfsup.classes import model_held_out, split_model_name
    from openselfsup.lowshot.report import model_family
    from openselfsup.lowshot.spec import check_model_novel_class
    cases = {'clp_wo_7': ('clp', '7', (7,)),
             'fsp_wo_78': ('fsp', '78', (7, 8)),
             'my_wo_net_wo_3': ('my_wo_net', '3', (3,)),
             'clp_wo_9': ('clp', '9', None),  # no NCT class 9
             # a leading zero names the same class: clp_wo_07 with
             # --novel_class 7 was refused as trained without class 07
             # (STR) but scored on class 7 (STR), and not judged by the
             # extraction
             'clp_wo_07': ('clp', '7', (7,)),
             'fsp_wo_078': ('fsp', '78', (7, 8)),
             'clp': ('clp', None, None),
             'clp_wo_7x': ('clp_wo_7x', None, None)}
    for name, (family, novel, labels) in cases.items():
        assert split_model_name(name) == (family, novel)
        assert model_family(name) == family
        assert model_held_out(name) == labels
        check_model_novel_class(name, int(novel) if novel else 3)


def test_a_model_named_for_another_held_out_class_is_refused(wd, capsys):
    """``--model clp_wo_7 --novel_class 3`` scored the encoder trained
    without class 7 on class 3's tasks without a word (an audit's
    reproduction: results/rand_wo_7/near_novel3_... written). Refused in
    the run and dictionary specs where the name's ``_wo_<c>`` is another
    class than the novel class, over every pairing against the rule
    written out here; a name without the suffix, or no novel class, is not
    judged. The command refuses before it reads or writes anything."""
    from openselfsup.lowshot.spec import check_model_novel_class
    novels = [None, *range(9), 78]
    for suffix in ['', *(f'_wo_{c}' for c in novels if c is not None)]:
        for novel in novels:
            model = f'clp{suffix}'
            wrong = bool(suffix) and novel is not None and \
                suffix != f'_wo_{novel}'
            for make in (lambda: check_model_novel_class(model, novel),
                         lambda: DictionarySpec(model, novel_class=novel),
                         lambda: RunSpec(model, 'near' if novel is not None
                                         else 'mixture', 5,
                                         novel_class=novel)):
                if wrong:
                    with pytest.raises(InputError, match=re.escape(
                            f'--model {model} is named as the encoder '
                            f'trained without class {suffix[4:]}')):
                        make()
                else:
                    make()
    args = _meta(wd, '--mode', 'linear')
    args[args.index('--model') + 1] = 'clp_wo_7'
    args[args.index('--novel_class') + 1] = '3'
    err = cli_fails(META, args, capsys, wd,
                    '--model clp_wo_7 is named as the encoder trained '
                    'without class 7 (STR), but --novel_class 3 (LYM)')
    assert err.endswith('give --novel_class 7 or the model without class 3 '
                        '(clp_wo_3); to score an encoder on another class '
                        'on purpose, name its feature folder without the '
                        '_wo_<class> suffix'), err


def test_a_held_out_model_without_a_novel_class_is_refused(wd, capsys):
    """``clp_wo_7`` without ``--novel_class`` (a new user's walk): the
    dictionary was built on all nine classes, STR among them, which the
    encoder never saw, and the meta-test scored near-domain tasks of no
    novel class, the result shown as any ``clp_wo_7`` row. Refused now,
    by the run and dictionary specs every command builds, in one line
    with the two ways out; ``--novel_class none`` given is the run of no
    novel class on purpose (its rerun command says ``none``, and parses
    back to the same spec), and a model without the suffix, or another
    domain, takes the flag left out as before."""
    import argparse

    from openselfsup.lowshot import spec as S
    shutil.copytree(os.path.join(wd, 'extracted_feats', 'clp'),
                    os.path.join(wd, 'extracted_feats', 'clp_wo_7'))
    err = cli_fails(DICT, ['--model', 'clp_wo_7', '--workdir', wd, *K],
                    capsys, wd, '--model clp_wo_7 is named as the encoder '
                    'trained without class 7 (STR), but no --novel_class '
                    'is given: its dictionary would be built of every '
                    'class')
    assert 'give --novel_class 7 (the published pairing), or ' \
        '--novel_class none to build it of every class on purpose' in err
    meta = ['--task', 'near', '--num_shots', '5', '--num_task', '10',
            '--model', 'clp_wo_7', '--workdir', wd]
    for mode in ('linear', 'latent_aug'):
        err = cli_fails(META, [*meta, '--mode', mode, *K], capsys, wd,
                        'but no --novel_class is given: its near-domain '
                        'tasks would be scored without a novel class')
        assert err.endswith('give --novel_class 7 (the published '
                            'pairing), or --novel_class none to score it '
                            'without a novel class on purpose'), err
    # given, either way, it runs: the dictionary of its novel class, or
    # of every class on purpose (named "all")
    for novel, excluded in (('7', [7]), ('none', None)):
        out = cli_ok(DICT, ['--model', 'clp_wo_7', '--novel_class', novel,
                            '--workdir', wd, *K], capsys)
        assert f'(classes {excluded or "none"} left out)' in out, out
    # no suffix, or not the near domain: left out means none, as before
    assert S.RunSpec('clp', 'near', 5).novel_class is None
    assert S.DictionarySpec('clp').novel_class is None
    mix = S.RunSpec('clp_wo_7', 'mixture', 5, mode='latent_aug')
    assert mix.novel_class is None and mix.dictionary.excluded == ()
    assert S.DictionarySpec('clp_wo_7', features='LC').novel_class is None
    # on purpose: the commands that run it again say none
    on_purpose = S.RunSpec('clp_wo_7', 'near', 5, novel_class=None)
    words = on_purpose.command(wd).split()
    assert words[words.index('--novel_class') + 1] == 'none'
    parser = argparse.ArgumentParser()
    S.add_arguments(parser, ['task', 'model', 'num_shots', 'novel_class'])
    args, _ = parser.parse_known_args(words[2:])
    assert S.RunSpec(**S.spec_kwargs(args)) == on_purpose
    for made in (mix.dictionary, S.DictionarySpec('clp_wo_7', None)):
        words = made.command(wd).split()
        assert words[words.index('--novel_class') + 1] == 'none'


def test_a_model_suffix_that_is_no_class_id_is_never_advised(wd, capsys):
    """``clp_wo_99`` without ``--novel_class`` was told to give
    ``--novel_class 99 (the published pairing)``, which is then refused
    as out of range; with ``--novel_class 3`` it was told alike. A suffix
    that names no NCT class (:func:`held_out` refuses it) is said to be
    no class id; the ways out advised are ones that run."""
    from openselfsup.classes import held_out
    shutil.copytree(os.path.join(wd, 'extracted_feats', 'clp'),
                    os.path.join(wd, 'extracted_feats', 'clp_wo_99'))
    with pytest.raises(ValueError):  # the reference: 99 names no class
        held_out(99)
    meta = ['--task', 'near', '--num_shots', '5', '--num_task', '10',
            '--model', 'clp_wo_99', '--workdir', wd]
    err = cli_fails(META, meta, capsys, wd,
                    '--model clp_wo_99 is named as the encoder trained '
                    'without class 99, but 99 is no novel class id')
    assert 'novel_class 99' not in err, err
    assert err.endswith('give --novel_class none to score it without a '
                        'novel class on purpose, or name its feature folder '
                        '<family>_wo_<c> for the class c its encoder held '
                        'out'), err
    err = cli_fails(META, [*meta, '--novel_class', '3'], capsys, wd,
                    'without class 99 (no novel class id), but '
                    '--novel_class 3 (LYM)')
    assert 'novel_class 99' not in err, err
    assert 'give the model without class 3 (clp_wo_3)' in err, err
    # the way out advised is taken (the run's spec builds)
    from openselfsup.lowshot.spec import RunSpec
    assert RunSpec('clp_wo_99', 'near', 5, novel_class=None).novel_class \
        is None
    err = cli_fails(DICT, ['--model', 'clp_wo_99', '--workdir', wd, *K],
                    capsys, wd, 'but 99 is no novel class id')
    assert 'novel_class 99' not in err, err


@pytest.mark.parametrize('value', ['LYM', 'lym', 'str+tum', 'STR', 'XYZ'])
def test_a_novel_class_given_by_name_is_answered_with_its_id(wd, capsys,
                                                            value):
    """``--novel_class STR`` was refused as "neither a class id nor
    \"none\"", naming no id. The line now gives the id of a class name
    (case-insensitive, the pair STR+TUM too) and else every id with its
    classes; names are not taken as ids, since the id names the
    ``<model>_wo_<id>`` folders the scripts loop over. Reference: the
    label order written out here, as the published lists give it."""
    order = 'BACK ADI DEB LYM MUC MUS NORM STR TUM'.split()
    ids = {**{n.lower(): i for i, n in enumerate(order)}, 'str+tum': 78}
    args = _meta(wd, '--mode', 'linear')
    args[args.index('--novel_class') + 1] = value
    with pytest.raises(SystemExit) as exit_:  # argparse's refusal
        META(args)
    assert exit_.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    want = ids.get(value.lower())
    if want is not None:
        assert err.endswith(f"'{value}' is neither a class id nor \"none\" "
                            f'({value} is novel class {want}: give {want})'), \
            err
    else:
        listed = ', '.join(f'{i} {n}' for i, n in enumerate(order))
        assert err.endswith(f'(the ids: {listed}, 78 STR+TUM)'), err


def test_a_model_novel_class_mismatch_says_what_the_class_table_says():
    """The run check and the results check of a ``<family>_wo_<c>`` model
    on another novel class said things the class table denies: the
    results check called every such novel class 'a class that encoder
    trained on', ``clp_wo_78`` on novel class 7 (STR) too, an encoder
    that held STR out (``wo_78``: STR and TUM), and the run check said
    nothing of it. Now one rule words both: the novel classes the
    encoder trained on, and those it held out that the tasks take as base
    classes. The reference: the class table's ``held_out`` sets, their
    differences and ``nct_names``, over every pair of class ids; a
    result whose NCT classes are in another order names the model among
    what holds out by the published order only where the model holds out
    a class (``clp`` holds out none)."""
    from openselfsup.classes import NCT_CLASSES, held_out, nct_names
    from openselfsup.lowshot.spec import (check_model_novel_class,
                                          check_novel_pairing)
    ids = [*range(len(NCT_CLASSES)), 78]
    for said in ids:
        for novel in [c for c in ids if c != said]:
            model = f'clp_wo_{said}'
            with pytest.raises(InputError) as run:
                check_model_novel_class(model, novel)
            with pytest.raises(InputError) as result:
                check_novel_pairing('r.json', model, novel, NCT_CLASSES)
            held, scored = set(held_out(said)), set(held_out(novel))
            trained = nct_names(sorted(scored - held)) or None
            base = nct_names(sorted(held - scored)) or None
            whys = []
            for err in (run, result):
                text = str(err.value)
                got = re.search(r'that encoder trained on ([A-Z+]+)', text)
                assert (got and got.group(1)) == trained, (text, trained)
                got = re.search(r'held out ([A-Z+]+)( too)?, (a base class|'
                                r'base classes) of those tasks', text)
                assert (got and got.group(1)) == base, (text, base)
                assert 'a class that encoder trained on' not in text, text
                whys.append(text.split(" scores it on that class's tasks")
                            [1].split(';')[0])
            assert whys[0] == whys[1], whys  # one rule, one wording
    with pytest.raises(InputError) as err:
        check_novel_pairing('r.json', 'clp_wo_78', 7, NCT_CLASSES)
    assert str(err.value) == (
        "r.json: clp_wo_78 is named as the encoder trained without class 78 "
        "(STR+TUM), but the result's novel class 7 (STR) scores it on that "
        "class's tasks: that encoder held out TUM too, a base class of "
        'those tasks (the near-domain protocol pairs each novel class with '
        'the encoder that held out its classes alone); delete it and run '
        'clp_wo_7 on that class')
    # NCT's classes in another order: the model is named where it holds
    # out by the published order (a _wo_ model), not where it holds out
    # nothing
    perm = ['ADI', 'BACK', *NCT_CLASSES[2:]]
    for model, named in (('clp', False), ('fsp_wo_0', True)):
        with pytest.raises(InputError) as err:
            check_novel_pairing('r.json', model, 0, perm)
        text = str(err.value)
        assert ('that the task stores hold out by' in text) != named, text
        assert (f'that {model} and the task stores hold out by' in text) \
            == named, text


def test_all_class_dictionary_is_not_used_for_a_novel_class(wd, capsys):
    """The novel class must not be in the base set: the all-class and the
    wo7 dictionary have different names (both kept), and an all-class one
    put under the wo7 name is refused."""
    cli_ok(GEN, _gen(wd), capsys)
    cli_ok(DICT, ['--model', 'clp', '--workdir', wd, *K], capsys)
    cli_ok(DICT, ['--model', 'clp', '--novel_class', '7', '--workdir', wd, *K],
        capsys)
    all_cls = DictionarySpec('clp', None, num_prototypes=4,
                             num_shift_vectors=50).path(wd)
    wo7 = DictionarySpec('clp', 7, num_prototypes=4,
                         num_shift_vectors=50).path(wd)
    assert os.path.isfile(all_cls) and os.path.isfile(wo7)
    shutil.copy(all_cls, wo7)
    cli_fails(META, _meta(wd, '--mode', 'latent_aug', *K), capsys, wd,
           'novel class must not be in the base set')


def test_dictionary_of_features_extracted_again_is_refused(wd, capsys):
    cli_ok(GEN, _gen(wd), capsys)
    cli_ok(DICT, ['--model', 'clp', '--novel_class', '7', '--workdir', wd, *K],
        capsys)
    fpath = paths.features_path(wd, 'clp', 'NCT_train')
    np.save(fpath, np.load(fpath) * 1.01)  # re-extracted, slightly other
    err = cli_fails(META, _meta(wd, '--mode', 'latent_aug', *K), capsys, wd,
                    'built from other features')
    cli_fails(DICT, ['--model', 'clp', '--novel_class', '7', '--workdir', wd,
                  *K], capsys, wd, 'built from other features')
    # the line's command makes this dictionary again (it dropped K, M and
    # the workdir, so it made another file and the run failed again)
    import shlex
    cmd = err.split('make it again with: ')[1]
    assert cmd == (f'python {ROOT}/wsi_workdir/dict_construction.py '
                   '--model clp '
                   '--novel_class 7 --num_prototypes 4 --num_shift_vectors '
                   f'50 --workdir {wd} --overwrite'), cmd
    cli_ok(DICT, shlex.split(cmd)[2:], capsys)
    cli_ok(META, _meta(wd, '--mode', 'latent_aug', *K), capsys)


@pytest.mark.parametrize('maker', ['sweep', 'dict_construction.py',
                                   'unknown', 'sweep, then --overwrite',
                                   'sweep, its workdir copied'])
def test_the_sweep_builds_again_only_its_own_stale_dictionary(wd, capsys,
                                                              maker,
                                                              tmp_path):
    """NCT_train extracted again (another encoder, other EXTRACT_OPTS):
    the sweep refused the dictionary it had made itself from the replaced
    features, one novel class per rerun. It now builds again a dictionary
    whose file says the sweep made it from that same feature file, with a
    line naming it; one dict_construction.py made, or one whose maker is
    not recorded (a file written before the field), is still refused with
    the command that makes it again. A workdir copied whole (cp -r, then
    demo_lowshot.sh with another checkpoint on the copy) holds the
    sweep's own too: the dictionary recorded its base feature file by
    its absolute path, the original's, and the copy's sweep refused it.
    Reference: the digest of the current features."""
    from openselfsup.lowshot.dictionary import load_dictionary
    from openselfsup.lowshot.features import load_features

    def argv_of(wd):
        return ['--model', 'clp', '--task', 'near', '--novel_classes', '7',
                '--model_template', '{model}', '--shots', '1', '--clfs',
                'Ridge', '--modes', 'latent_aug', '--num_task', '2',
                '--num_aug_shots', '3', *K, '--workdir', wd, '--quiet']

    def path_of(wd):
        return DictionarySpec('clp', 7, num_prototypes=4,
                              num_shift_vectors=50).path(wd)
    argv, path = argv_of(wd), path_of(wd)
    if maker == 'dict_construction.py':
        cli_ok(DICT, ['--model', 'clp', '--novel_class', '7', '--workdir',
                      wd, *K], capsys)
    cli_ok(SWEEP, argv, capsys)
    if maker == 'sweep, then --overwrite':
        # the single run's refusal of a stale one advises this command; it
        # recorded the sweep's own as dict_construction.py's, refused by
        # every later sweep
        cli_ok(DICT, ['--model', 'clp', '--novel_class', '7', '--workdir',
                      wd, *K, '--overwrite'], capsys)
    if maker == 'unknown':  # as written before the maker was recorded
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files if k != 'made_by'}
        np.savez(path, **arrays)
    if maker == 'sweep, its workdir copied':
        copy = str(tmp_path / 'copy' / 'demo')
        shutil.copytree(wd, copy)
        wd, argv, path = copy, argv_of(copy), path_of(copy)
    fpath = paths.features_path(wd, 'clp', 'NCT_train')
    np.save(fpath, np.load(fpath) * 1.01)  # extracted again
    if maker in ('dict_construction.py', 'unknown'):
        cli_fails(SWEEP, argv, capsys, wd, 'built from other features')
        return
    out = cli_ok(SWEEP, argv, capsys)
    assert f'note: built {path} again: the sweep had made it from other ' \
        f'features than the current {fpath} (extracted again since)' in out
    assert load_dictionary(path).source['features_sha1'] == load_features(
        wd, 'clp', 'NCT_train').features_sha1


def test_store_of_other_shots_under_this_name_is_refused(wd, capsys):
    cli_ok(GEN, _gen(wd, '--num_shots', '5'), capsys)
    five = TaskSpec('near', 5, novel_class=7).path(wd)
    one = TaskSpec('near', 1, novel_class=7).path(wd)
    os.rename(five, one)
    cli_fails(GEN, _gen(wd, '--num_shots', '1'), capsys, wd,
           "shots (--num_shots) 5 (asked: 1)")
    cli_fails(META, _meta(wd, '--num_shots', '1', '--mode', 'linear'), capsys,
           wd, "shots (--num_shots) 5 (asked: 1)")


def test_store_of_another_novel_class_names_none_not_its_code(wd, capsys):
    """A store without a novel class records -1; the line said 'novel
    class (--novel_class) 7 (asked: -1)' for a run without --novel_class,
    a value the user never gave and the flag does not take."""
    cli_ok(GEN, _gen(wd), capsys)  # near, 5-shot, novel class 7
    seven = TaskSpec('near', 5, novel_class=7).path(wd)
    plain = TaskSpec('near', 5).path(wd)
    os.rename(seven, plain)
    args = ['--task', 'near', '--num_shots', '5', '--num_task', '10',
            '--workdir', wd]
    cli_fails(GEN, args, capsys, wd,
              'novel class (--novel_class) 7 (asked: none)')
    os.rename(plain, seven)
    cli_ok(GEN, args, capsys)  # the store without one, drawn
    os.replace(plain, seven)
    cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
              'novel class (--novel_class) none (asked: 7)')


def test_store_of_another_seed_is_refused_and_results_record_the_seed(
        wd, capsys):
    """A seed's store has a name of its own (not seed 0's); one of another
    seed under a seed's name (renamed, or drawn by an earlier version,
    whose names had no seed) is refused."""
    cli_ok(GEN, _gen(wd, '--seed', '3'), capsys)
    cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
              'task store not found')
    seed3 = TaskSpec('near', 5, 10, 7, seed=3).path(wd)
    seed0 = TaskSpec('near', 5, 10, 7).path(wd)
    assert seed3 == seed0[:-len('.npz')] + '_seed3.npz'
    shutil.copy(seed3, seed0)
    cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
              'seed (--task_seed) 3 (asked: 0)')
    os.remove(seed0)
    cli_ok(META, _meta(wd, '--mode', 'linear', '--task_seed', '3'), capsys)
    spec = RunSpec('clp', 'near', 5, novel_class=7, num_task=10, task_seed=3)
    with open(spec.result_path(wd)) as f:
        res = json.load(f)
    assert res['task_seed'] == 3 and res['files']['task_store']['seed'] == 3
    assert 'tseed3' in spec.result_path(wd)


def test_concurrent_writers_of_one_store(wd, capsys, monkeypatch):
    """Two runs draw one store with different seeds at once: the one that
    finishes second fails and says so; the file is the winner's."""
    from openselfsup.lowshot import tasks
    original = tasks.sample_tasks

    def racing(spec, *args, **kw):
        store = original(spec, *args, **kw)
        # meanwhile another run (seed 9) wrote the store
        other = original(TaskSpec(spec.task, spec.shots, spec.num_task,
                                  spec.novel_class, seed=9), *args, **kw)
        other.save(spec.path(wd))
        return store
    monkeypatch.setattr(tasks, 'sample_tasks', racing)
    err = cli_fails(GEN, _gen(wd), capsys, os.path.join(wd, 'extracted_feats'),
                 'written by another run')
    assert 'nothing replaced' in err
    assert tasks.TaskStore.load(TaskSpec('near', 5, novel_class=7).path(wd)
                                ).seed == 9


@pytest.mark.parametrize('meanwhile', [30, 15, 'other'])
def test_two_extensions_of_one_store_at_once_never_shrink_it(
        wd, capsys, monkeypatch, meanwhile):
    """A 10-task store extended to 20 tasks while another run extends it
    (to 30, to 15) or writes other tasks over it: the run that ended second
    replaced the store on disk with its own, unread (30 tasks cut to 20,
    and the results on the 30 left out). The store on disk is read again
    under its lock before it is replaced: 30 tasks are reused, 15 (the
    first of the 20) extended to 20, others left as they are, with a line
    that says so."""
    from openselfsup.lowshot import tasks
    cli_ok(GEN, _gen(wd), capsys)
    path = TaskSpec('near', 5, 10, 7).path(wd)
    original = tasks.sample_tasks
    theirs = {}

    def racing(spec, *args, **kw):
        store = original(spec, *args, **kw)
        # meanwhile another run wrote the store
        n = 15 if meanwhile == 'other' else meanwhile
        other = original(TaskSpec('near', 5, n, 7), *args, **kw)
        if meanwhile == 'other':  # tasks of its own (an edited store)
            other.support_idx = other.support_idx[::-1].copy()
        other.save(path, exclusive=False)
        theirs['sha1'] = other.sha1
        return store
    monkeypatch.setattr(tasks, 'sample_tasks', racing)
    args = near_args(wd, num_task=20)
    if meanwhile == 'other':
        assert run_cli(GEN, args) == 2
        err = capsys.readouterr().err.strip()
        assert err == (f'error: {path} was written by another run while this '
                       'one drew its tasks; nothing replaced (run again to '
                       'reuse it)'), err
    else:
        out = cli_ok(GEN, args, capsys)
        if meanwhile == 30:
            assert f'reusing {path}: 30 tasks' in out, out
        else:
            assert f'note: extended {path} from 15 to 20 tasks' in out, out
    monkeypatch.undo()
    now = tasks.TaskStore.load(path)
    if meanwhile == 15:  # the 20 tasks of a draw of 20 at once
        assert now.sha1 == tasks.sample_tasks(
            TaskSpec('near', 5, 20, 7), *tasks.store_inputs(
                wd, TaskSpec('near', 5, 20, 7))).sha1
    else:
        assert now.sha1 == theirs['sha1']


def test_temporaries_of_killed_writers_are_removed(wd, capsys):
    """A temporary file left by a writer that died is removed by the next
    write of the same file; a live writer's is left alone."""
    path = TaskSpec('near', 5, novel_class=7).path(wd)
    os.makedirs(os.path.dirname(path))
    dead = subprocess.run([sys.executable, '-c', 'import os; '
                           'print(os.getpid())'], capture_output=True,
                          text=True).stdout.strip()
    stale = os.path.join(os.path.dirname(path),
                         f'.{os.path.basename(path)}.{dead}.abc.tmp.npz')
    live = os.path.join(os.path.dirname(path),
                        f'.{os.path.basename(path)}.1.abc.tmp.npz')
    for p in (stale, live):
        with open(p, 'wb') as f:
            f.write(b'half')
    cli_ok(GEN, _gen(wd), capsys)
    assert not os.path.exists(stale) and os.path.exists(live)


@pytest.mark.parametrize('content', [b'', b'PK\x03\x04 half a zip'])
def test_truncated_store_and_dictionary(wd, capsys, content):
    cli_ok(GEN, _gen(wd), capsys)
    path = TaskSpec('near', 5, novel_class=7).path(wd)
    with open(path, 'wb') as f:
        f.write(content)
    cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
           'not a readable task store')
    cli_fails(GEN, _gen(wd), capsys, wd, 'not a readable task store')
    cli_ok(GEN, _gen(wd, '--overwrite'), capsys)
    dic = DictionarySpec('clp', 7, num_prototypes=4,
                         num_shift_vectors=50).path(wd)
    os.makedirs(os.path.dirname(dic))
    with open(dic, 'wb') as f:
        f.write(content)
    dspec = DictionarySpec('clp', 7, num_prototypes=4, num_shift_vectors=50)
    # the exact command that makes it again, not a generic one
    make = (f'python {ROOT}/wsi_workdir/dict_construction.py '
            '--model clp '
            f'--novel_class 7 --num_prototypes 4 --num_shift_vectors 50 '
            f'--workdir {wd} --overwrite')
    assert dspec.command(wd) + ' --overwrite' == make
    cli_fails(META, _meta(wd, '--mode', 'latent_aug', *K), capsys, wd,
              f'; make it again with: {make}')
    cli_fails(DICT, ['--workdir', wd, '--model', 'clp', '--novel_class', '7',
                     '--num_prototypes', '4', '--num_shift_vectors', '50'],
              capsys, wd, f'make it again with: {make}')


@pytest.mark.parametrize('args,match', [
    (['--num_task', '0'], '--num_task'),
    (['--num_shots', '0'], '--num_shots'),
    (['--seed', '-1'], '--seed'),
    (['--task_seed', '-2'], '--task_seed'),
    (['--num_aug_shots', '0', '--mode', 'latent_aug'], '--num_aug_shots'),
    (['--num_prototypes', '0', '--mode', 'latent_aug'], '--num_prototypes'),
    (['--alpha', '0'], '--alpha'),
    (['--C', '-1', '--clf', 'logistic_regression'], '--C'),
    (['--max_iter', '0'], '--max_iter'),
    (['--chunk_size', '0'], '--chunk_size'),
    (['--threads', '-1'], '--threads'),
    (['--novel_class', '9'], 'out of range'),
    (['--device', 'gpu'], '--device'),
])
def test_bad_values_before_any_work(wd, capsys, args, match):
    cli_ok(GEN, _gen(wd), capsys)
    cli_fails(META, _meta(wd, *args), capsys, wd, match)


@pytest.mark.parametrize('model', ['..', '.', 'a/b'])
def test_a_model_that_is_no_folder_name_is_refused(wd, capsys, model):
    """``--model ..`` read features beside ``extracted_feats/`` and wrote
    its result beside ``results/`` (no summary read it), and its
    comparison's ``summary/compare/../vs_<B>/`` lay outside ``compare/``:
    ``.`` and ``..`` are refused as ``a/b`` was, by every command that
    takes a model."""
    make_workdir(wd, model=model)  # its features where the name points
    os.makedirs(os.path.join(wd, 'results', 'clp'))
    cli_ok(GEN, _gen(wd), capsys)
    line = f"--model {model!r}: a plain name such as clp or clp_wo_7"
    cli_fails(META, _gen(wd, '--model', model), capsys, wd, line)
    cli_fails(DICT, ['--model', model, '--workdir', wd, *K], capsys, wd,
              line)
    cli_fails(SWEEP, ['--model', model, '--task', 'mixture', '--shots', '1',
                      '--modes', 'linear', '--num_task', '3',
                      '--workdir', wd], capsys, wd, line)
    cli_fails(script_main('wsi_workdir/ablation.py'),
              ['--model', model, '--num_task', '3', '--workdir', wd],
              capsys, wd, line)
    for make in (lambda: RunSpec(model, 'near', 5),
                 lambda: DictionarySpec(model)):
        with pytest.raises(InputError, match=re.escape(line)):
            make()


@pytest.mark.parametrize('args,line', [
    (['--num_shift_vectors', '0'],
     '--num_shift_vectors must be a positive number, got 0'),
    (['--num_prototypes', '0'],
     '--num_prototypes must be a positive number, got 0'),
    # NCT_train of make_workdir: 9 classes of 40 rows, class 7 left out
    (['--num_prototypes', '400', '--novel_class', '7'],
     'extracted_feats/clp/NCT_train.npy: 320 base features, fewer than '
     '--num_prototypes 400')])
def test_dictionary_sizes_out_of_range_are_refused(wd, capsys, args, line):
    """dict_construction.py's own sizes (docs/refusals.md: a size below 1;
    more prototypes than base features): one line naming the flag and the
    value, no dictionary written."""
    flags = ['--num_prototypes', '4', '--num_shift_vectors', '50']
    for flag, value in zip(args[::2], args[1::2]):
        if flag in flags:
            flags[flags.index(flag) + 1] = value
        else:
            flags += [flag, value]
    err = cli_fails(DICT, ['--model', 'clp', '--workdir', wd, *flags],
                    capsys, wd, line)
    assert err.endswith(line), err
    assert not os.path.exists(os.path.join(wd, 'dictionaries'))


def test_novel_class_of_another_domain_is_refused_on_the_command_line(
        wd, capsys):
    """``--novel_class`` names a class of the near domain's tasks:
    generate_task.py and the meta-test refuse it for the mixture and out
    domains (docs/refusals.md, flags of every low-shot command), before any
    store is drawn."""
    line = '--novel_class applies to near-domain tasks only, not mixture'
    args = ['--task', 'mixture', '--num_shots', '5', '--num_task', '10',
            '--novel_class', '3', '--workdir', wd]
    assert cli_fails(GEN, args, capsys, wd, line) == f'error: {line}'
    assert cli_fails(META, args + ['--model', 'clp', '--mode', 'linear'],
                     capsys, wd, line) == f'error: {line}'
    assert not os.path.exists(os.path.join(wd, 'tasks'))


@pytest.mark.parametrize('main,args', [
    (META, ['--task', 'mixture', '--num_shots', '5', '--model', 'clp']),
    (META, ['--task', 'out', '--num_shots', '5', '--model', 'clp',
            '--mode', 'linear']),
    # near alone takes the copies; a mixture setting beside it does not
    (SWEEP, ['--task', 'near', 'mixture', '--shots', '5', '--model', 'clp',
             '--modes', 'linear'])],
    ids=['meta_test-mixture', 'meta_test-out', 'sweep-near+mixture'])
def test_aug_times_off_the_near_domain_is_refused(wd, capsys, main, args):
    """``--aug_times`` (the ablation's image-augmented support, copies of
    the ``NCT_aug`` set) is read by near-domain tasks only: the meta-test
    and the sweep refuse it for another domain (docs/refusals.md, flags of
    every low-shot command) in one line, exit 2, before a task store,
    dictionary or result is written."""
    before = snapshot(wd)
    assert run_cli(main, args + ['--aug_times', '2', '--num_task', '10',
                                 '--workdir', wd]) == 2
    assert capsys.readouterr().err == (
        'error: --aug_times (image-augmented support) applies to '
        'near-domain tasks only\n')
    assert snapshot(wd) == before


def test_absurd_dictionary_size_is_refused_before_allocating(wd, capsys):
    cli_fails(DICT, ['--model', 'clp', '--workdir', wd,
                  '--num_shift_vectors', str(10 ** 9)], capsys, wd,
           'GiB')


def test_unwritable_outputs_fail_before_the_work(wd, capsys, tmp_path):
    blocker = str(tmp_path / 'file')
    with open(blocker, 'w') as f:
        f.write('x')
    cli_ok(GEN, _gen(wd), capsys)
    cli_fails(META, _meta(wd, '--mode', 'linear', '--output',
                       os.path.join(blocker, 'r.json')), capsys, wd,
           'cannot write')
    # a results directory that is a file: the sweep fails before its work
    with open(os.path.join(wd, 'results'), 'w') as f:
        f.write('x')
    cli_fails(SWEEP, ['--model', 'clp', '--task', 'mixture', '--shots', '1',
                   '--modes', 'linear', '--num_task', '3', '--workdir', wd],
           capsys, wd, 'cannot write')


def test_an_output_ending_in_a_separator_fails_before_the_work(wd, capsys,
                                                              tmp_path):
    """``--output out/r.json/`` ran the meta-test and ended on a
    NotADirectoryError traceback at the rename, its folder made."""
    cli_ok(GEN, _gen(wd), capsys)
    out = str(tmp_path / 'out')
    for given in (out + '/r.json/', out + '/'):
        cli_fails(META, _meta(wd, '--mode', 'linear', '--output', given),
                  capsys, wd, f"error: {given}: ends in '/', a folder's "
                  'name; give a file name (nothing written)')
    assert not os.path.exists(out)


def test_single_task_results_are_summarised(wd, capsys):
    """--num_task 1 (CI undefined) runs, its table shows the CI as '–', and
    the summary of the workdir still works."""
    cli_ok(GEN, _gen(wd, '--num_task', '1'), capsys)
    out = cli_ok(META, _meta(wd, '--num_task', '1', '--mode', 'linear'), capsys)
    assert out.splitlines()[0].split()[-1] == '–'
    cli_ok(SWEEP, ['--model', 'clp', '--task', 'mixture', '--shots', '1',
                '--modes', 'linear', '--clfs', 'Ridge', '--num_task', '1',
                '--workdir', wd], capsys)
    text = cli_ok(SUMMARY, ['--workdir', wd], capsys)
    assert '| clp | linear | Ridge |' in text


def test_mixed_normalised_and_raw_features_are_refused(wd, capsys):
    """A near-domain run reads NCT_train and NCT_test: one L2-normalised and
    one raw is refused (the published protocol normalises both)."""
    for name in ('NCT_train', 'NCT_test'):
        fpath = paths.features_path(wd, 'clp', name)
        f = np.load(fpath)
        np.save(fpath, f / np.linalg.norm(f, axis=1, keepdims=True))
    cli_ok(GEN, _gen(wd), capsys)
    cli_ok(META, _meta(wd, '--mode', 'linear'), capsys)
    fpath = paths.features_path(wd, 'clp', 'NCT_test')
    np.save(fpath, np.load(fpath) * 3)
    cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
           'is L2-normalised but')
    # and a dictionary of raw features for normalised ones
    fpath = paths.features_path(wd, 'clp', 'NCT_train')
    f = np.load(fpath)
    np.save(fpath, f * 3)
    cli_ok(DICT, ['--model', 'clp', '--novel_class', '7', '--workdir', wd, *K],
        capsys)
    np.save(fpath, f)
    with pytest.raises(InputError):  # digest differs first; normalisation too
        from openselfsup.lowshot.meta_test import Inputs
        Inputs(wd).dictionary(RunSpec('clp', 'near', 5, mode='latent_aug',
                                      novel_class=7, num_prototypes=4,
                                      num_shift_vectors=50))


def test_provenance_that_does_not_match_the_files(wd, capsys):
    """A provenance JSON records the digests the features and labels had at
    extraction; labels extracted again from another list since are one
    line, naming the command that remakes the features."""
    from openselfsup.utils import array_sha1, save_json
    cli_ok(GEN, _gen(wd), capsys)
    for name in ('NCT_train', 'NCT_test'):
        f = np.load(paths.features_path(wd, 'clp', name))
        lab = np.load(paths.labels_path(wd, name))
        save_json(paths.provenance_path(wd, 'clp', name),
                  {'features_sha1': array_sha1(f.astype(np.float32)),
                   'labels_sha1': array_sha1(lab.astype(np.int64)),
                   'normalised': False})
    cli_ok(META, _meta(wd, '--mode', 'linear'), capsys)
    lpath = paths.labels_path(wd, 'NCT_test')
    lab = np.load(lpath)
    np.save(lpath, lab[::-1].copy())
    cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
           'has changed since')


def test_features_of_different_encoders_are_not_mixed(wd, capsys):
    """Support and query features (and the dictionary's base features) whose
    provenance names different checkpoints were combined without a word: a
    result from mixed encoders (a helper's user check: F1 at chance, written
    as a normal result). Now one line naming both; imported features, whose
    encoder is unknown, are not compared."""
    def provenance(name, **encoder):
        write_provenance(wd, 'clp', name, **encoder)

    ckpt = CHECKPOINT_PROVENANCE
    cli_ok(GEN, _gen(wd), capsys)
    cli_ok(DICT, ['--model', 'clp', '--novel_class', '7', '--workdir', wd,
                  *K], capsys)
    provenance('NCT_train', **ckpt)
    provenance('NCT_test', **ckpt)
    cli_ok(META, _meta(wd, '--mode', 'linear'), capsys)
    # the test set extracted with another checkpoint into the same folder
    provenance('NCT_test', **dict(ckpt, checkpoint='/w/fsp.pth',
                                  checkpoint_sha256='b' * 64))
    err = cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
                    'come from different encoders')
    assert '/w/clp.pth (SHA-256 aaaaaaaaaaaa) vs /w/fsp.pth' in err, err
    # a random encoder against a checkpoint
    provenance('NCT_test', checkpoint=None, checkpoint_sha256=None,
               checkpoint_kind='random init (seed 0)')
    cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
              'vs random init (seed 0)')
    # imported features: the encoder is unknown, not compared
    provenance('NCT_test', checkpoint=None, checkpoint_kind='imported '
               'features', source='/w/feats.h5', source_sha256='c' * 64)
    cli_ok(META, _meta(wd, '--mode', 'linear'), capsys)
    # the dictionary's base features against the run's: the same check
    from openselfsup.lowshot.dictionary import check_dictionary, \
        load_dictionary
    from openselfsup.lowshot.features import load_features
    spec = RunSpec('clp', 'near', 5, mode='latent_aug', novel_class=7,
                   num_prototypes=4, num_shift_vectors=50).dictionary
    base = load_features(wd, 'clp', 'NCT_train')
    run = load_features(wd, 'clp', 'NCT_train')
    run.provenance = dict(run.provenance, checkpoint_sha256='b' * 64)
    dic = load_dictionary(spec.path(wd))
    check_dictionary(dic, spec, base)
    with pytest.raises(InputError, match='come from different encoders'):
        check_dictionary(dic, spec, base, run)


def test_a_set_without_provenance_beside_one_with_it_is_refused(wd, capsys):
    """A feature file copied from another model's folder without its
    provenance JSON (the random encoder's NCT_test into clp's) was used
    beside clp's NCT_train without a word: check_same_kind compares the
    encoders their provenance names, and a set without one was not
    compared (F1 at chance, written as clp's result; with the JSON copied
    too, refused). Now one line naming the file, the JSON it lacks and
    the two commands that write one; sets that all lack provenance, and
    imported ones, stay not compared. Reference: which sets of the run
    have a JSON, set by hand in each case."""
    from openselfsup.lowshot.features import (check_same_kind,
                                              load_features)
    cli_ok(GEN, _gen(wd), capsys)
    # no set with provenance (the fixture): not judged
    cli_ok(META, _meta(wd, '--mode', 'linear'), capsys)
    # the support set extracted, the query set a bare copy
    write_provenance(wd, 'clp', 'NCT_train', **CHECKPOINT_PROVENANCE)
    qry = paths.features_path(wd, 'clp', 'NCT_test')
    err = cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
                    f'{qry} has no provenance JSON')
    assert paths.provenance_path(wd, 'clp', 'NCT_test') in err, err
    # the commands named refuse a set without its JSON at their --output
    # (check_replaceable): the line says to delete it first
    assert 'delete it (the commands that write a set do not replace one ' \
        'without its JSON) and extract it again' in err, err
    # the recorded checkpoint and settings (write_provenance: raw
    # features), not a placeholder (r81); the images, which NCT_train's
    # JSON does not locate, a DATA_ROOT to fill in (h223: not the
    # checkout's data/NCT)
    assert f'{ROOT}/wsi_workdir/extract.py --config ' \
        f'{ROOT}/configs/extraction/' \
        f'nct_test.py --pretrained /w/clp.pth --no-normalise --data-root ' \
        f'DATA_ROOT --output {qry} (DATA_ROOT: ' in err, err
    # the import keeps the rows raw as the recorded set's are (r153: it
    # dropped --no-normalise)
    assert f'{ROOT}/wsi_workdir/import_features.py --config ' \
        f'{ROOT}/configs/extraction/' \
        f'nct_test.py --source FEATURES [--paths PATHS] --cfg-options ' \
        f'dataset.data_root=DATA_ROOT --no-normalise --output {qry}' \
        in err, err
    # either order of the sets: the one without is named
    sup, q = (load_features(wd, 'clp', n) for n in ('NCT_train', 'NCT_test'))
    for sets in ((sup, q), (q, sup), (sup, sup, q)):
        with pytest.raises(InputError, match=re.escape(
                f'{qry} has no provenance JSON')):
            check_same_kind(*sets)
    # the query set imported (its encoder unknown by its record): runs
    write_provenance(wd, 'clp', 'NCT_test', checkpoint=None,
                     checkpoint_kind='imported features',
                     source='/w/feats.h5', source_sha256='c' * 64)
    cli_ok(META, _meta(wd, '--mode', 'linear'), capsys)


def test_a_set_without_provenance_is_judged_beside_its_model_folder(
        wd, capsys):
    """r77: LC.npy copied into clp's folder without its JSON, clp's other
    sets with theirs: the mixture domain draws support and queries from
    LC alone, so the run had no other set to compare it with and ran as
    clp's (its result recording no extraction). Any other set of the
    model's folder with a provenance JSON now judges it, as within a run.
    Reference: which JSONs exist, set by hand; with LC's own JSON, or
    with no set of the model recorded, it runs."""
    gen = ['--task', 'mixture', '--num_shots', '1', '--num_task', '3',
           '--workdir', wd]
    meta = [*gen, '--model', 'clp', '--mode', 'linear']
    cli_ok(GEN, gen, capsys)
    cli_ok(META, meta, capsys)  # no set of clp recorded: not judged
    for name in ('NCT_train', 'NCT_test', 'PAIP_train', 'PAIP_test'):
        write_provenance(wd, 'clp', name, **CHECKPOINT_PROVENANCE)
    lc = paths.features_path(wd, 'clp', 'LC')
    err = cli_fails(META, meta, capsys, wd, f'{lc} has no provenance JSON')
    assert f"but {paths.features_path(wd, 'clp', 'NCT_train')} has one" \
        in err, err
    # LC with its own JSON: compared, the same encoder
    write_provenance(wd, 'clp', 'LC', **CHECKPOINT_PROVENANCE)
    cli_ok(META, meta, capsys)


def _copies_args(command: str):
    """A named copies' extraction (``python wsi_workdir/extract.py ...
    --aug_times N``) read back by extract.py's parser, its ``N`` given a
    count as a user would, checked to be NCT_aug's config with copies."""
    from lowshot_data import without_fill_note
    extract = script_main('wsi_workdir/extract.py').__globals__['parse_args']
    argv = shlex.split(without_fill_note(command))
    # h167: the checkout's, absolute: run from any folder
    assert argv[:2] == ['python', os.path.join(ROOT, 'wsi_workdir',
                                               'extract.py')], command
    args = extract(['4' if a == 'N' else a for a in argv[2:]])
    assert args.config == [os.path.join(ROOT, 'configs', 'extraction',
                                        'nct_aug.py')], command
    assert args.aug_times == 4, command  # the copies, not one pass
    return args


@pytest.mark.parametrize('recorded, encoder', [
    (CHECKPOINT_PROVENANCE, {'pretrained': ['/w/clp.pth']}),
    (dict(checkpoint=None, checkpoint_kind='random init',
          seed=3), {'random_init': True, 'seed': 3}),
    (None, {'pretrained': ['CKPT']})])
def test_missing_copies_are_named_with_their_extraction(wd, recorded,
                                                        encoder):
    """NCT_aug not found named ``extract.py --config
    configs/extraction/nct_aug.py --pretrained CKPT --output ...``: one
    pass over the list, without ``--aug_times``, which the ablation then
    refuses as no copies; and the copies' extraction named ``--pretrained
    CKPT`` where the checkpoint is recorded beside them (NCT_train's
    JSON). Both now name the copies' one spelling (copies_command) with
    the encoder the model's other set records (its checkpoint, or its
    seeded random initialisation; ``CKPT`` where none is recorded). The
    reference: extract.py's parser, against the provenance written by
    hand."""
    from openselfsup.lowshot.features import (check_copies_of,
                                              load_features)
    if recorded is not None:
        write_provenance(wd, 'clp', 'NCT_train', **recorded)
    aug = paths.features_path(wd, 'clp', 'NCT_aug')
    with pytest.raises(InputError) as e:
        load_features(wd, 'clp', 'NCT_aug')
    line = str(e.value)
    assert line.startswith(f'features not found: {aug} (make it with: ')
    args = _copies_args(line.split('make it with: ')[1].rstrip(')'))
    assert args.output == [aug]
    assert {k: getattr(args, k) for k in encoder} == encoder, line
    # copies of one pass (no aug_times recorded): the same command
    sup = load_features(wd, 'clp', 'NCT_train')
    np.save(aug, sup.features)
    np.save(paths.labels_path(wd, 'NCT_aug'), sup.labels)
    write_provenance(wd, 'clp', 'NCT_aug', **(recorded or {}), aug_times=0)
    with pytest.raises(InputError) as e:
        check_copies_of(sup, load_features(wd, 'clp', 'NCT_aug'))
    args = _copies_args(str(e.value).split('extract them: ')[1])
    assert {k: getattr(args, k) for k in encoder} == encoder, e.value


@pytest.fixture(scope='module')
def nct_16_a_class(tmp_path_factory):
    """Synthetic NCT at 32 px, 16 train and 16 test images a class (15
    queries a class: the ablation's tasks), rendered once for the module
    (some 11 s of drawing a time beside other work); copy it to write."""
    from openselfsup.datasets.synthetic import SyntheticSpec, make_synthetic
    root = str(tmp_path_factory.mktemp('nct_16') / 'data')
    make_synthetic(root, SyntheticSpec(size=32, nct_train=16, nct_test=16,
                                       domains=('nct', )))
    return root


#: the case of test_the_named_copies_command_writes_copies_the_ablation_takes
#: whose printed command is run by the shell, from both folders (a python
#: start-up each, some 7 s); the others run its words in-process, split as
#: the shell splits them (every case's paths hold spaces)
_COPIES_BY_THE_SHELL = 'config list'


@pytest.mark.parametrize('where', ['absolute', 'relative', 'config',
                                   'list', 'spaced list', 'workdir',
                                   'config list'])
def test_the_named_copies_command_writes_copies_the_ablation_takes(
        tmp_path, capsys, monkeypatch, where, nct_16_a_class):
    """r85: the copies' command kept the checkpoint alone of what
    NCT_train's JSON records, so for a width-16 encoder at 32 px (its
    ``--cfg-options``) the copies it wrote were refused by the ablation
    (another model, another image size), and a path with a space did not
    run as printed. The command named now spells back every recorded
    setting as the other sets' commands do: the model's options, the
    image size at nct_aug.py's own size key (a Resize's ``(w, h)`` is its
    RandomResizedCrop's ``(h, w)``), ``--no-normalise``; paths quoted.
    The reference: the ablation itself, run on what the printed command,
    run verbatim by the shell with N given (``_COPIES_BY_THE_SHELL``; the
    other cases run its words in-process, as the shell splits them),
    wrote. r92: ``NCT_train``
    extracted from another folder with a relative ``--data-root``
    (``relative``), or with none, the config's ``data/NCT`` read there
    (``config``): the command, run from the repository root, named the
    relative folder as recorded and found no images there. h154:
    ``NCT_train`` read from a list of its own (fewer images than the
    config's), by an absolute ``dataset.ann_file`` (``list``) or one with
    a space (``spaced list``): the list was said not to spell back as a
    flag (a pattern refused a leading ``/`` and spaces), so the command
    made copies of the config's list, which the ablation refused; and the
    ablation run from another folder with a relative ``--workdir``
    (``workdir``): ``--output`` was printed relative to that folder, so
    the command, run from the repository root, wrote the copies where the
    ablation never looks. h167: an absolute list read with the config's
    ``data/NCT`` from another folder (``config list``): no ``--data-root``
    was named (the config's folder was inferred only for a list under
    it), so the copies' images were looked for under the root's
    ``data/NCT``; and the command ran only from the repository root (its
    script and config relative), never said so, and failed from the
    folder the ablation ran in: it now runs from either."""
    import torch
    from mmpretrain.models import ResNet
    space = tmp_path / 'my run'
    data = str(space / ('data' if where.startswith('config') else
                        'da ta'))
    shutil.copytree(nct_16_a_class, data)  # each case writes its own lists
    ckpt = str(space / 'enc 8.pth')
    torch.manual_seed(1)
    torch.save({'state_dict': ResNet(depth=18, base_channels=8,
                                     stem_channels=8,
                                     out_indices=(3, )).state_dict()}, ckpt)
    # the ablation's workdir: relative to the folder it is run from
    w = 'w d' if where == 'workdir' else str(space / 'w d')
    sets = ('NCT_train', 'NCT_test')
    roots = {'relative': ['--data-root', *[os.path.join('da ta', 'NCT')] * 2],
             'config': [], 'config list': []}.get(where, [
                 '--data-root', *[os.path.join(data, 'NCT')] * 2])
    if where in ('relative', 'config', 'workdir', 'config list'):
        monkeypatch.chdir(space)  # from another folder
    listed = {'list': str(space / 'my lists' / 'train.txt'),
              'config list': str(space / 'my lists' / 'train.txt'),
              'spaced list': 'meta/my train.txt'}.get(where)
    if listed:  # NCT_train's own list: the config's but its last image
        nct = os.path.join(data, 'NCT')  # a relative list lies under it
        with open(os.path.join(nct, 'meta', 'train_labeled.txt')) as f:
            lines = f.readlines()
        os.makedirs(os.path.dirname(os.path.join(nct, listed)),
                    exist_ok=True)
        with open(os.path.join(nct, listed), 'w') as f:
            f.writelines(lines[:-1])
    extract = script_main('wsi_workdir/extract.py')
    options = ['model.backbone.base_channels=8',
               'model.backbone.stem_channels=8',
               'dataset.pipeline.1.scale=[32,24]']
    for i, n in enumerate(sets):  # the list NCT_train's alone
        cli_ok(extract, [
            '--config', os.path.join(ROOT, 'configs', 'extraction',
                                     f'{n.lower()}.py'),
            '--pretrained', ckpt, '--output',
            paths.features_path(w, 'clp_wo_78', n), *roots[:2],
            '--workers', '0', '--no-progress', '--no-normalise',
            '--cfg-options', *options,
            *([f'dataset.ann_file={listed}'] if listed and i == 0 else [])],
            capsys)
    ablation = script_main('wsi_workdir/ablation.py')
    args = ['--model', 'clp_wo_78', '--workdir', w, '--num_task', '2',
            '--prototypes', '--latent', '--hybrid', '--image', '2']
    aug = paths.features_path(w, 'clp_wo_78', 'NCT_aug')
    err = cli_fails(ablation, args, capsys, w,
                    f'features not found: {aug} (make it with: python ')
    command = err.split('make it with: ')[1][:-1]
    assert ' (with the settings' not in command, command
    # run as printed, by the shell, from the folder the ablation ran in
    # and from the repository root (the images are NCT_train's: its
    # --data-root); the file it writes is the one the ablation reads
    # (checked first: a relative one is not written into the repository)
    argv = shlex.split(command)
    assert argv[argv.index('--aug_times') + 1] == 'N', command
    written = os.path.join(ROOT, argv[argv.index('--output') + 1])
    assert os.path.abspath(written) == os.path.abspath(aug), command
    folder = os.path.dirname(aug)
    before = set(os.listdir(folder))
    for cwd in dict.fromkeys((os.getcwd(), ROOT)):
        run = (command.replace(' --aug_times N ', ' --aug_times 2 ') +
               ' --workers 0 --no-progress')
        if where == _COPIES_BY_THE_SHELL:  # the user's path: a process
            done = subprocess.run(
                run, shell=True, cwd=cwd, capture_output=True, text=True,
                env={**os.environ, 'PYTHONPATH': ROOT})
            assert done.returncode == 0, (cwd, done.stderr[-2000:])
        else:  # the same words, read as the shell reads them, in-process
            argv = shlex.split(run)
            assert argv[0] == 'python', command
            with monkeypatch.context() as m:
                m.chdir(cwd)  # the script as python finds it from there
                assert os.path.isfile(argv[1]), (cwd, command)
                cli_ok(script_main(os.path.abspath(argv[1])), argv[2:],
                       capsys)
        assert np.load(aug).shape[0] == 2 * np.load(
            paths.features_path(w, 'clp_wo_78', 'NCT_train')).shape[0]
        cli_ok(ablation, args, capsys)
        for made in set(os.listdir(folder)) - before:  # for the next run
            os.remove(os.path.join(folder, made))


@pytest.mark.parametrize('recorded, folder', [
    # read from the root with the config's data/NCT: nothing was named,
    # so the command run from another folder read that folder's data/NCT
    (dict(cwd=ROOT, list_file='data/NCT/meta/train_labeled.txt',
          data_prefix='data/NCT/data'), os.path.join(ROOT, 'data', 'NCT')),
    # an absolute list read with the config's data/NCT from /x/my run
    (dict(cwd='/x/my run', list_file='/x/my run/my lists/t.txt',
          data_prefix='data/NCT/data',
          cfg_options={'dataset.ann_file': '/x/my run/my lists/t.txt'}),
     '/x/my run/data/NCT'),
    # a relative --data-root of a run that recorded no folder (an older
    # JSON): unknown, a DATA_ROOT to fill in (r143: joined with the
    # checkout by guess, the command read the checkout's d/NCT)
    (dict(list_file='d/NCT/meta/train_labeled.txt', data_prefix='d/NCT/data',
          cfg_options={'dataset.data_root': 'd/NCT'}), 'DATA_ROOT'),
    # nothing recorded of the images: a DATA_ROOT to fill in (h223: the
    # checkout's data/NCT, which a user whose data lies elsewhere read)
    ({}, 'DATA_ROOT')])
def test_the_copies_command_names_its_images_folder_absolute(
        wd, recorded, folder):
    """h167: the copies' command, whose script and config are now the
    checkout's and run from any folder, names the folder NCT_train's
    images were read from absolute in every case, as a hand-joined
    reference: the config's ``data/NCT`` read from the repository root
    was not named (the command, run elsewhere, would read that folder's),
    nor for an absolute list read with it from another folder (the folder
    was inferred only for a list under ``data/NCT``); a relative folder
    recorded without the folder it was relative to is not known, a
    ``DATA_ROOT`` to fill in (review r143: it was joined with the
    repository root by guess). Read back by extract.py's parser."""
    from openselfsup.lowshot.features import copies_command
    aug = paths.features_path(wd, 'clp_wo_78', 'NCT_aug')
    sibling = paths.provenance_path(wd, 'clp_wo_78', 'NCT_train')
    args = _copies_args(copies_command(
        aug, dict(CHECKPOINT_PROVENANCE, **recorded,
                  outputs=_describing(wd, 'clp_wo_78', 'NCT_train')),
        sibling))
    assert args.data_root == [folder], args


def _describing(wd, model, name):
    """The ``outputs`` of a provenance written by hand that describes
    ``model``'s set ``name`` in ``wd``, as extract.py records them: a
    printed command takes the encoder of such a JSON alone (r153)."""
    return {'features': paths.features_path(wd, model, name)}


def _printed_commands(err, *leads):
    """The commands of a refusal ``err`` after each of ``leads``, up to
    the next lead, or the bracket the command closes."""
    commands = []
    for lead, after in zip(leads, leads[1:] + (None, )):
        rest = err.split(lead, 1)[1]
        rest = rest.split(after, 1)[0] if after else rest
        if rest.endswith(')') and rest.count(')') > rest.count('('):
            rest = rest[:-1]
        commands.append(rest)
    return commands


def _remove(*files):
    for f in files:
        os.remove(f)


@pytest.mark.parametrize('case', ['features', 'imported', 'labels',
                                  'changed', 'unrecorded', 'meta'])
def test_a_printed_command_writes_the_file_read_from_another_folder(
        tmp_path, capsys, monkeypatch, case):
    """h166: a command run from another folder with a relative
    ``--workdir`` (``cd wsi_workdir && python distributed_meta_test.py
    --workdir workdir``) printed the ``extract.py`` / ``import_features.py``
    command that makes a missing or stale set with ``--output`` relative
    to that folder, while the command says to run it from the repository
    root: run there, it wrote the set where no reader looks (the features
    or labels not found, the import's line, a set changed since
    extraction, the missing-provenance line's two commands). A PAIP set's
    missing meta JSON named ``--output OUT.npy``, which writes no
    workdir meta at all. The reference: the files the printed command's
    ``--output`` writes, read by the script's own parser from another folder
    (``printed_output``), against those the refusing reader reads."""
    monkeypatch.chdir(tmp_path)
    w = 'w d'  # relative to the folder the reader is run from
    make_workdir(w, spread=0.25)
    name, key = ('PAIP_train', 'meta') if case == 'meta' else \
        ('NCT_test', 'labels' if case == 'labels' else 'features')
    feats = paths.features_path(w, 'clp', name)
    leads = ('make it with: ', )
    if case == 'features':
        _remove(feats)
    elif case == 'imported':  # the model's sets were imported
        write_provenance(w, 'clp', 'NCT_train',
                         checkpoint_kind='imported features')
        _remove(feats)
    elif case == 'labels':
        _remove(paths.labels_path(w, name))
    elif case == 'changed':  # NCT_test written again by hand
        write_provenance(w, 'clp', name, **CHECKPOINT_PROVENANCE)
        np.save(feats, np.load(feats)[::-1].copy())
        leads = ('make them again with: ', )
    elif case == 'unrecorded':  # NCT_test without its provenance JSON
        write_provenance(w, 'clp', 'NCT_train', **CHECKPOINT_PROVENANCE)
        leads = ('extract it again: ', ', or, computed elsewhere, import '
                 'it: ')
    else:
        _remove(paths.meta_path(w, name))
        leads = ('written by extraction: ', )
    read = {'features': feats, 'labels': paths.labels_path(w, name),
            'meta': paths.meta_path(w, name)}[key]
    command, args = (GEN, ['--task', 'out', '--mode', 'homo', '--num_shots',
                           '5', '--num_task', '4', '--workdir', w]) \
        if case == 'meta' else (META, _meta(w))
    err = cli_fails(command, args, capsys, w, leads[0])
    commands = _printed_commands(err, *leads)
    assert [os.path.relpath(shlex.split(c)[1], ROOT) for c in commands] == [
        'wsi_workdir/extract.py', 'wsi_workdir/import_features.py'][
            :len(leads)] if case != 'imported' else \
        ['wsi_workdir/import_features.py'], err
    for printed in commands:
        assert printed_output(printed)[key] == os.path.abspath(read), err


@pytest.mark.parametrize('case', ['tasks', 'more tasks', 'dictionary'])
def test_a_printed_store_or_dictionary_command_names_the_workdir_read(
        tmp_path, capsys, monkeypatch, case):
    """h170: the ``generate_task.py`` and ``dict_construction.py``
    commands a meta-test prints for a missing task store, a store of
    fewer tasks and a missing dictionary named a relative ``--workdir`` as
    given in the folder it was run from (``cd wsi_workdir && python
    distributed_meta_test.py --workdir workdir``), unquoted, while they are
    run from the repository root: there they wrote the store or
    dictionary into another workdir (and ``'w d'`` split into two
    words). The reference: the printed command's ``--workdir`` as the
    script's own parser reads it from another folder (``printed_args``), the
    store and dictionary of those settings there, against those the
    refusing reader reads."""
    from lowshot_data import from_elsewhere, printed_args
    monkeypatch.chdir(tmp_path)
    w = 'w d'  # relative to the folder the reader is run from
    make_workdir(w, spread=0.25)
    tspec = TaskSpec('near', 5, 10, 7)
    script, read = 'wsi_workdir/tools/generate_task.py', tspec.path(w)
    lead, extra = 'make it with: ', ['--mode', 'linear']
    if case == 'more tasks':
        cli_ok(GEN, near_args(w, num_task=4), capsys)
        lead = 'draw the rest with: '
    elif case == 'dictionary':
        cli_ok(GEN, _gen(w), capsys)
        dspec = RunSpec('clp', 'near', 5, mode='latent_aug', novel_class=7,
                        num_task=10, num_prototypes=4,
                        num_shift_vectors=50).dictionary
        script, read = 'wsi_workdir/dict_construction.py', dspec.path(w)
        extra = ['--mode', 'latent_aug', *K]
    err = cli_fails(META, _meta(w, *extra), capsys, w, lead)
    [printed] = _printed_commands(err, lead)
    printed = printed.split(' (its ')[0].split(', or run ')[0]
    args = printed_args(printed, script)
    at = from_elsewhere(args.workdir)
    assert at == os.path.abspath(w), err
    there = tspec.path(at) if script.endswith('generate_task.py') else \
        dspec.path(at)
    assert there == os.path.abspath(read), err


def test_the_copies_command_of_imported_features_spells_what_is_known(
        tmp_path, capsys, monkeypatch):
    """r92: for an imported NCT_train the copies' command was
    ``--pretrained CKPT`` alone: the images' folder its JSON records and
    ``--no-normalise`` (raw rows kept) were dropped, so the copies were
    read from data/NCT and normalised, and nothing said which encoder
    CKPT must be. Now both are spelt back (the folder as found from the
    repository root, the import run with a relative one from another
    folder) and the line says the copies must come from the encoder that
    computed the imported features. The reference: the import run for
    real, its flags against extract.py's parser of the printed command."""
    from openselfsup.datasets.synthetic import SyntheticSpec, make_synthetic
    from openselfsup.lowshot.features import load_features
    space = tmp_path / 'my run'
    make_synthetic(str(space / 'dat'), SyntheticSpec(
        size=32, nct_train=4, nct_test=4, domains=('nct', )))
    monkeypatch.chdir(space)
    root = os.path.join('dat', 'NCT')
    with open(os.path.join(root, 'meta', 'train_labeled.txt')) as f:
        rels = [line.split()[0] for line in f if line.strip()]
    np.save('f.npy', 3 * np.random.default_rng(0).normal(
        size=(len(rels), 4)).astype(np.float32))
    (space / 'p.txt').write_text('\n'.join(rels) + '\n')
    w = str(space / 'w d')
    out = paths.features_path(w, 'mine', 'NCT_train')
    cli_ok(script_main('wsi_workdir/import_features.py'), [
        '--config', os.path.join(ROOT, 'configs', 'extraction',
                                 'nct_train.py'), '--source', 'f.npy',
        '--paths', 'p.txt', '--output', out, '--no-normalise',
        '--cfg-options', f'dataset.data_root={root}'], capsys)
    aug = paths.features_path(w, 'mine', 'NCT_aug')
    with pytest.raises(InputError) as e:
        load_features(w, 'mine', 'NCT_aug')
    line = str(e.value)
    assert line.startswith(f'features not found: {aug} (make it with: ')
    command, note = line.split('make it with: ')[1].split(' (CKPT: ')
    args = _copies_args(command)
    assert (args.pretrained, args.normalise, args.data_root,
            args.output) == (['CKPT'], False, [str(space / root)], [aug]), \
        line
    assert note == ('a checkpoint of the encoder that computed the imported '
                    'features recorded in '
                    f'{paths.provenance_path(w, "mine", "NCT_train")}: the '
                    'copies must come from it))'), line


@pytest.mark.parametrize('value', [
    '/d/NCT/meta/train.txt', 'meta/my train.txt', '/my run/a b.txt',
    'data/NCT', "it's/a.txt", 'x=y', 'none', '/', 'token', 'a\tb', '',
    '[a', 'a(b', 'a{b}', '-x', 16, 0.5, True, None, [32, 24],
    # do not read back as themselves: refused
    '16', '1e5', '1_0', 'nan', 'inf', '-Infinity', 'True', 'FALSE',
    'None', 'a,b', '[a]', '(a)', '{a}', '{a: 1}', 'a{b', ' a', 'a ', "'a'",
    '"a', [], ['a'], {'a': 1}])
def test_a_spelt_value_reads_back_as_itself(value):
    """h154: a string value of a KEY=VALUE flag of the copies' command
    (``dataset.ann_file`` ...) was spelt back only where a pattern
    allowed it, which refused a leading ``/`` and any space: an absolute
    list, or one whose path holds a space, was said not to spell back as
    flags. Now every value spelt reads back as itself, and an absolute
    path, or one with spaces inside, is spelt. The reference:
    extract.py's own reader of ``--cfg-options`` (parse_cfg_options) on
    the item as the shell passes it (the command quotes each item); for
    ``--pool``, a value of its own that starts with ``-`` too, extract.py's
    parser."""
    from openselfsup.config import parse_cfg_options
    from openselfsup.lowshot.features import _key_values

    def read(item):  # extract.py's reading of one item, or None
        try:
            read = parse_cfg_options([item]).get('dataset.ann_file')
        except InputError:
            return None
        return read if type(read) is type(value) and read == value \
            else None
    unmapped = []
    flags = _key_values('--cfg-options', {'dataset.ann_file': value},
                        unmapped)
    if isinstance(value, str):  # spelt exactly where it reads back
        assert (not unmapped) == (read(f'dataset.ann_file={value}')
                                  is not None), (value, flags)
    if isinstance(value, str) and value.startswith(('/', 'meta/', 'data/')):
        assert not unmapped, value  # a path is spelt
    if unmapped:
        assert flags == '' and unmapped == ['--cfg-options '
                                            'dataset.ann_file'], value
        return
    argv = shlex.split(flags)  # as the shell passes it
    assert argv[0] == '--cfg-options' and len(argv) == 2, flags
    assert read(argv[1]) == value, flags
    if isinstance(value, str):  # --pool, a flag's own value, read so
        from openselfsup.lowshot.features import _encoder_flags
        flags, unmapped = _encoder_flags({'encoder': {
            'library': 'timm', 'model': 'm',
            'model_kwargs': {'global_pool': value}}})
        parse = script_main('wsi_workdir/extract.py').__globals__[
            'parse_args']
        assert not unmapped and parse(shlex.split(flags) + [
            '--config', 'c.py', '--output', 'o.npy']).pool == value, flags


def test_the_copies_command_takes_no_encoder_it_is_not_sure_of(wd):
    """r158: no copies test failed with ``copies_command``'s doubt
    dropped: the copies of NCT_train whose JSON is another model's set
    copied, or whose encoder NCT_test beside it contradicts, took its
    checkpoint, and pasted extracted other weights' copies. They say
    ``--pretrained CKPT``, the checkpoint asked for as NCT_train's, and
    the settings its JSON records named as flags to add; NCT_train's own
    JSON, the sets agreeing, its checkpoint. The reference: the values
    written into the JSONs here, read by extract.py's parser."""
    from openselfsup.lowshot.features import copies_command
    aug = paths.features_path(wd, 'clp_wo_78', 'NCT_aug')
    sibling = paths.provenance_path(wd, 'clp_wo_78', 'NCT_train')
    mine = dict(CHECKPOINT_PROVENANCE, cfg_options={'model.k': 3},
                outputs=_describing(wd, 'clp_wo_78', 'NCT_train'))
    args = _copies_args(copies_command(aug, mine, sibling))
    assert args.pretrained == [CHECKPOINT_PROVENANCE['checkpoint']]
    for train, test, why in (
            (dict(mine, outputs=_describing(wd, 'fsp', 'NCT_train')), mine,
             "another model folder's set"),
            (mine, dict(mine, checkpoint_sha256='b' * 64),
             'NCT_test beside it records another encoder')):
        line = copies_command(aug, train, sibling,
                              {'NCT_train': train, 'NCT_test': test})
        args = _copies_args(line)
        assert args.pretrained == ['CKPT'] and not args.cfg_options, line
        assert why in line and 'give the checkpoint NCT_train was ' \
            'extracted with, and add the settings that JSON records where ' \
            'they are those NCT_train was extracted with: --cfg-options ' \
            'model.k=3' in line, line


def test_the_copies_command_spells_every_recorded_setting(wd):
    """r85: the copies' command kept the recorded checkpoint alone. It now
    spells back the model's ``--cfg-options``, the image size at the
    copies' config's own size key and order (:data:`COPIES_SIZE`, checked
    here against nct_aug.py as the config reader resolves it), ``--amp``
    with its ``--device``, ``--no-normalise``; an option of another op of
    the set's own pipeline, and a random initialisation's unrecorded
    seed, are named as the JSON's, not claimed. The reference: extract.py's
    parser, and the image size nct_aug.py gives with the options read
    back, against the provenance written by hand."""
    from openselfsup.apis.extract import check_not_copies
    from openselfsup.config import (load_config, parse_cfg_options,
                                    pipeline_image_size)
    from openselfsup.lowshot.features import (COPIES_SIZE, DATA_PREFIX,
                                              DATA_ROOTS, LIST_FILES,
                                              copies_command, load_features,
                                              no_library_copies)
    cfg = os.path.join(ROOT, 'configs', 'extraction', 'nct_aug.py')
    key, size, _ = COPIES_SIZE
    for config, root in DATA_ROOTS.items():  # every set's, as read
        dataset = load_config(os.path.join(
            ROOT, 'configs', 'extraction', config + '.py')).dataset
        assert (dataset.data_root, dataset.ann_file, dataset.data_prefix) \
            == (root, LIST_FILES[config], DATA_PREFIX), config
    assert sorted(DATA_ROOTS) == sorted(n.lower() for n in
                                        paths.FEATURE_NAMES)
    assert pipeline_image_size(load_config(cfg).dataset.pipeline,
                               'dataset.pipeline') == COPIES_SIZE
    aug = paths.features_path(wd, 'clp_wo_78', 'NCT_aug')
    sibling = paths.provenance_path(wd, 'clp_wo_78', 'NCT_train')
    recorded = dict(CHECKPOINT_PROVENANCE, amp=True, device='cuda:1',
                    normalised=False,
                    outputs=_describing(wd, 'clp_wo_78', 'NCT_train'),
                    image_size=[32, 24], cfg_options={
                        'model.backbone.base_channels': 16,
                        'dataset.data_root': '/d/NCT',
                        'dataset.ann_file': 'meta/my_train.txt',
                        'dataset.pipeline.1.scale': [32, 24],
                        'dataset.pipeline.2.meta_keys': ['img_path']})
    line = copies_command(aug, recorded, sibling)
    command, note = line.split(' (with the settings recorded in ')
    args = _copies_args(command)
    options = parse_cfg_options(args.cfg_options)
    # r92: the list (relative to the data root) was said not to spell back
    assert options == {'model.backbone.base_channels': 16,
                       key: [24, 32],
                       'dataset.ann_file': 'meta/my_train.txt'}, line
    assert 'ann_file' not in note, line
    assert pipeline_image_size(load_config(cfg, options).dataset.pipeline,
                               'dataset.pipeline')[1] == (32, 24)
    assert (args.pretrained, args.amp, args.device, args.normalise,
            args.data_root, args.output) == (
        ['/w/clp.pth'], True, 'cuda:1', False, ['/d/NCT'], [aug]), line
    assert note.startswith(f'{sibling}: --cfg-options '
                           'dataset.pipeline.2.meta_keys'), line
    # a square size at the copies' own: nothing to spell
    square = dict(recorded, image_size=list(size),
                  cfg_options={'dataset.pipeline.1.scale': size[0]})
    assert '--cfg-options' not in copies_command(aug, square, sibling)
    # a random initialisation without its seed: SEED, said to be unknown
    line = copies_command(aug, dict(checkpoint=None, checkpoint_kind=(
        'random init'), outputs=recorded['outputs']), sibling)
    assert '--random-init --seed SEED ' in line and 'no seed' in line.split(
        ' (with the settings recorded in ')[1], line
    # extract.py's and import_features.py's own refusal of one pass there:
    # the encoder NCT_train records, not --pretrained CKPT
    os.makedirs(os.path.dirname(aug))
    shutil.copy(paths.features_path(wd, 'clp', 'NCT_train'),
                paths.features_path(wd, 'clp_wo_78', 'NCT_train'))
    write_provenance(wd, 'clp_wo_78', 'NCT_train', **recorded)
    with pytest.raises(InputError) as e:
        check_not_copies(aug, 'import_features.py writes one row per image')
    assert str(e.value).endswith('not copies: extract them with '
                                 + copies_command(aug, recorded, sibling))
    # beside a library model's sets there are none to make: the line said
    # "make it with: none for a library model"
    write_provenance(wd, 'clp_wo_78', 'NCT_train', checkpoint='/w/uni.bin',
                     checkpoint_sha256='a' * 64, checkpoint_kind='weights',
                     encoder={'library': 'open_clip', 'model': 'ViT-B-16'})
    with pytest.raises(InputError) as e:
        load_features(wd, 'clp_wo_78', 'NCT_aug')
    assert str(e.value) == \
        f'features not found: {aug} ({no_library_copies()})'


def test_the_missing_provenance_line_names_commands_that_write_the_set(
        wd):
    """r77: for NCT_aug both ways out of the missing-provenance line were
    refused commands (extract.py without --aug_times, and the import,
    one pass over the list, not copies); for a model whose other sets
    came from a library model (--model-source) it named --pretrained
    CKPT. The commands named are read back by the parsers that take them
    (extract.py's), against the sibling's provenance written by hand."""
    from openselfsup.lowshot.features import (check_same_kind, copies_command,
                                              load_features)
    extract = script_main('wsi_workdir/extract.py').__globals__['parse_args']
    # a library model: its source and weights as recorded
    library = dict(checkpoint='/w/uni.bin', checkpoint_sha256='a' * 64,
                   checkpoint_kind='open_clip weights (safetensors)',
                   encoder={'library': 'open_clip', 'model': 'ViT-B-16',
                            'pretrained_tag': 'laion'})
    write_provenance(wd, 'clp', 'NCT_train', **library)
    sup, qry = (load_features(wd, 'clp', n) for n in ('NCT_train', 'NCT_test'))
    with pytest.raises(InputError) as e:
        check_same_kind(sup, qry)
    line = str(e.value)
    assert '--pretrained' not in line, line
    command = line.split('extract it again: python ')[1].split(' (')[0]
    args = extract(shlex.split(command)[1:])
    assert (args.model_source, args.weights, args.output) == (
        'open_clip:ViT-B-16:laion', '/w/uni.bin',
        [paths.features_path(wd, 'clp', 'NCT_test')]), command
    # NCT_aug: the copies' extraction alone, no import
    aug = paths.features_path(wd, 'clp', 'NCT_aug')
    np.save(aug, sup.features)
    np.save(paths.labels_path(wd, 'NCT_aug'), sup.labels)
    write_provenance(wd, 'clp', 'NCT_train', **CHECKPOINT_PROVENANCE)
    sup, copies = (load_features(wd, 'clp', n)
                   for n in ('NCT_train', 'NCT_aug'))
    with pytest.raises(InputError) as e:
        check_same_kind(sup, copies, pipeline=False)
    line = str(e.value)
    named = _copies_args(line.split('extract it again: ')[1])
    assert (named.pretrained, named.output) == (
        [CHECKPOINT_PROVENANCE['checkpoint']], [aug]), line
    assert 'import' not in line, line
    # beside a library model's sets: no copies can be made, the image
    # parts are skipped (flags read back by ablation.py's parser)
    write_provenance(wd, 'clp', 'NCT_train', **library)
    with pytest.raises(InputError) as e:
        check_same_kind(load_features(wd, 'clp', 'NCT_train'), copies,
                        pipeline=False)
    line = str(e.value)
    # r81: the config checkpoint's extraction, which would be refused as
    # another encoder, is not named; the parts are skipped, by ablation.py's
    # flags to add (read back by its parser; review r115: no command of
    # its own, which dropped the user's settings)
    assert copies_command(aug) not in line and '--pretrained' not in line, \
        line
    skip = line.split('add ')[1].split(' to your ablation.py')[0].split()
    ablation = script_main('wsi_workdir/ablation.py').__globals__
    args = ablation['parse_args'](skip)
    assert args.skipped == {'image': 'none', 'hybrid': 'none'}, line


def test_the_missing_provenance_line_names_the_recorded_settings(wd):
    """r81: a config model's random-init baseline was named
    ``--pretrained CKPT``; it is ``--random-init --seed`` as recorded. A
    library model's setting that does not spell back as a flag (a dict
    keyword) is not claimed: the line names the sibling's JSON for it.
    Read back by extract.py's parser against the provenance written by
    hand."""
    from openselfsup.lowshot.features import check_same_kind, load_features
    extract = script_main('wsi_workdir/extract.py').__globals__['parse_args']
    sibling = paths.provenance_path(wd, 'clp', 'NCT_train')

    def named(**prov):
        write_provenance(wd, 'clp', 'NCT_train', **prov)
        sup, qry = (load_features(wd, 'clp', n)
                    for n in ('NCT_train', 'NCT_test'))
        with pytest.raises(InputError) as e:
            check_same_kind(sup, qry)
        line = str(e.value)
        return line, line.split('extract it again: python ')[1].split(
            ', or')[0]

    line, command = named(checkpoint=None, seed=3,
                          checkpoint_kind='random init (seed 3)',
                          cfg_options={'dataset.data_root': '/d/NCT',
                                       'model.backbone.depth': 18})
    args = extract(shlex.split(command)[1:])
    # the model's option, not where the sibling's images lie; those
    # images' folder, NCT_test's config reading NCT_train's data root
    assert (args.pretrained, args.random_init, args.seed,
            args.model_source, args.cfg_options, args.data_root) == (
        None, True, 3, None, ['model.backbone.depth=18'], ['/d/NCT']), line
    assert sibling not in line, line
    line, command = named(
        checkpoint='/w/m.bin', checkpoint_sha256='a' * 64,
        checkpoint_kind='timm weights (safetensors)',
        encoder={'library': 'timm', 'model': 'vit', 'source': 'timm:vit',
                 'model_kwargs': {'depth': 2, 'act': {'k': 1}}})
    assert command.split(' (DATA_ROOT: ')[0].endswith(
        f'(with the settings recorded in {sibling}: --model-kwargs act do '
        'not spell back as flags)'), line
    args = extract(shlex.split(command.split(' (')[0])[1:])
    assert (args.model_source, args.weights, args.model_kwargs) == (
        'timm:vit', '/w/m.bin', ['depth=2']), line


def test_support_and_queries_that_share_an_image_are_refused(wd, tmp_path,
                                                            capsys):
    """Nothing checked that the support and query sets hold other images:
    a hand-made or imported list that put a test image into NCT_train
    scored that query against its own support feature (F1 up, without a
    word). Judged by the paths the meta JSONs record under each set's data
    folder (the set's provenance's, else the meta JSON's; absolute folders
    resolved): one line naming the image and both feature files, nothing
    written. Silent where the records cannot tell (no folder recorded, as
    in this fixture and older files; one folder absolute and the other
    relative), and for an image named twice within one set (PAIP19's
    published train list)."""
    from openselfsup.lowshot.meta_test import Inputs

    def read(name):
        with open(paths.meta_path(wd, name)) as f:
            return json.load(f)

    def meta(name, rels, root):
        m = dict(read(name), paths=rels, data_prefix=root)
        with open(paths.meta_path(wd, name), 'w') as f:
            json.dump(m, f)

    def size(name):
        return len(np.load(paths.labels_path(wd, name)))

    sup = paths.features_path(wd, 'clp', 'NCT_train')
    qry = paths.features_path(wd, 'clp', 'NCT_test')
    cli_ok(GEN, _gen(wd), capsys)
    # the fixture's metas name img0... in both sets, under no recorded
    # folder: not judged
    cli_ok(META, _meta(wd, '--mode', 'linear'), capsys)
    fixture = [read(n)['paths'] for n in ('NCT_train', 'NCT_test')]
    # under one folder: the queries' 180 images are all support images,
    # the first in support order slide0/img0.png
    meta('NCT_train', fixture[0], 'data/NCT')
    meta('NCT_test', fixture[1], 'data/NCT')
    assert size('NCT_test') == 180
    err = cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
                    f'{sup} (support) and {qry} (queries) hold the same '
                    'image data/NCT/slide0/img0.png and 179 more')
    # the published layout: other folders, other names; one support image
    # named twice is no shared image
    train = [f'NCT-CRC-HE-100K-NONORM/C{i % 9}/TR-{i}.tif'
             for i in range(size('NCT_train'))]
    test = [f'CRC-VAL-HE-7K/C{i % 9}/TE-{i}.tif'
            for i in range(size('NCT_test'))]
    train[40] = train[17]
    meta('NCT_train', train, 'data/NCT')
    meta('NCT_test', test, 'data/NCT')
    cli_ok(META, _meta(wd, '--mode', 'linear'), capsys)
    # a test image in the support list (twice): one image shared
    train[17] = train[40] = test[5]
    meta('NCT_train', train, 'data/NCT')
    err = cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
                    'hold the same image data/NCT/CRC-VAL-HE-7K/C5/TE-5.tif'
                    ' (by the paths of NCT_train_meta.json and '
                    'NCT_test_meta.json')
    assert 'more' not in err, err
    # one folder spelt another way: under a link to it, and the folder
    # above with longer paths (resolved); relative against absolute: not
    # judged
    real = tmp_path / 'NCT'
    real.mkdir()
    os.symlink(real, tmp_path / 'alias')
    meta('NCT_train', train, str(real))
    meta('NCT_test', test, str(tmp_path / 'alias'))
    cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
              f'hold the same image {real}/CRC-VAL-HE-7K/C5/TE-5.tif')
    meta('NCT_test', ['NCT/' + p for p in test], str(tmp_path))
    cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
              f'hold the same image {real}/CRC-VAL-HE-7K/C5/TE-5.tif')
    meta('NCT_test', test, 'data/NCT')
    cli_ok(META, _meta(wd, '--mode', 'linear'), capsys)
    # the model's own provenance names its folder (the meta JSON's is the
    # last model's written): another folder, no shared image; the same
    meta('NCT_train', train, 'data/NCT')
    # (the queries' provenance recording no folder: a set without one
    # beside one with one is refused, check_all_recorded)
    write_provenance(wd, 'clp', 'NCT_test')
    write_provenance(wd, 'clp', 'NCT_train', data_prefix='other/NCT')
    cli_ok(META, _meta(wd, '--mode', 'linear'), capsys)
    write_provenance(wd, 'clp', 'NCT_train', data_prefix='data/NCT')
    cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
              'hold the same image data/NCT/CRC-VAL-HE-7K/C5/TE-5.tif')
    # a relative folder under the working folder its provenance records
    # (extract.py's cwd) is compared with an absolute one: judged
    meta('NCT_test', test, str(real))
    cli_ok(META, _meta(wd, '--mode', 'linear'), capsys)  # cannot tell
    write_provenance(wd, 'clp', 'NCT_train', data_prefix='NCT',
                     cwd=str(tmp_path))
    cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
              f'hold the same image {real}/CRC-VAL-HE-7K/C5/TE-5.tif')
    # and two relative folders extracted from different working folders
    # are different folders (they were compared as one place)
    meta('NCT_test', test, 'NCT')
    write_provenance(wd, 'clp', 'NCT_test', data_prefix='NCT',
                     cwd=str(tmp_path / 'elsewhere'))
    cli_ok(META, _meta(wd, '--mode', 'linear'), capsys)
    write_provenance(wd, 'clp', 'NCT_test', data_prefix='NCT',
                     cwd=str(tmp_path / 'alias'))
    cli_ok(META, _meta(wd, '--mode', 'linear'), capsys)  # alias/NCT
    write_provenance(wd, 'clp', 'NCT_test', data_prefix='alias/../NCT',
                     cwd=str(tmp_path))
    cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
              f'hold the same image {real}/CRC-VAL-HE-7K/C5/TE-5.tif')
    # the out domain: PAIP's train list names patches twice within train
    # (published); a test slide's patch in it is refused
    ptrain = [f's{i % 3}/{i % 3}/{i}+0+{i % 3}.png'
              for i in range(size('PAIP_train'))]
    ptest = [f's9/{i % 3}/{i}+0+{i % 3}.png'
             for i in range(size('PAIP_test'))]
    ptrain[1] = ptrain[0]
    meta('PAIP_train', ptrain, 'data/PAIP19')
    meta('PAIP_test', ptest, 'data/PAIP19')
    # (clp's NCT sets recorded: its PAIP sets must be too, a set without
    # a JSON being judged beside its model folder's, check_all_recorded)
    for name in ('PAIP_train', 'PAIP_test'):
        write_provenance(wd, 'clp', name)
    Inputs(wd).pools(RunSpec('clp', 'out', 5))
    ptrain[2] = ptest[3]
    meta('PAIP_train', ptrain, 'data/PAIP19')
    with pytest.raises(InputError, match='hold the same image '
                       'data/PAIP19/s9/0/3\\+0\\+0.png'):
        Inputs(wd).pools(RunSpec('clp', 'out', 5))


def test_dictionary_of_other_labels_is_refused(wd, capsys):
    """A dictionary leaves out the rows its base set's labels gave the
    novel class when it was built; its labels' digest was recorded but
    never compared: NCT_train's labels written again in another order
    (features without a provenance JSON, as imported: nothing else judged
    them) kept the dictionary, reused by dict_construction.py and the
    meta-test, with the novel class's rows (by the labels now) in its base
    set. Now one line with the command that builds it again; a dictionary
    of all classes, which the labels do not enter, is kept."""
    dict_args = ['--model', 'clp', '--novel_class', '7', '--workdir', wd,
                 *K]
    all_args = ['--model', 'clp', '--workdir', wd, *K]  # no novel class
    cli_ok(DICT, dict_args, capsys)
    cli_ok(DICT, all_args, capsys)
    lpath = paths.labels_path(wd, 'NCT_train')
    lab = np.load(lpath)
    swapped = lab.copy()
    swapped[lab == 7], swapped[lab == 3] = 3, 7
    np.save(lpath, swapped)
    err = cli_fails(DICT, dict_args, capsys, wd, 'built from other labels')
    assert '--overwrite' in err, err
    assert 'reusing' in cli_ok(DICT, all_args, capsys)
    cli_ok(DICT, dict_args + ['--overwrite'], capsys)
    cli_ok(DICT, dict_args, capsys)


def test_dictionary_of_other_settings_under_its_name_is_refused(wd,
                                                                 capsys):
    """The file name of a dictionary says its K, M and seed, and the run
    records them as its settings, but nothing compared them with the
    file's arrays: a K=4 dictionary copied to the K=8 name was used as
    K=8 and its results filed as K=8, as a 5-shot task store renamed as
    the 1-shot one was before the stores were checked. Now one line
    naming what differs."""
    from openselfsup.lowshot.spec import DictionarySpec
    cli_ok(DICT, ['--model', 'clp', '--novel_class', '7', '--workdir', wd,
                  *K], capsys)
    made = DictionarySpec('clp', 7, num_prototypes=4, num_shift_vectors=50)
    for other, says in (
            (dict(num_prototypes=8), 'K=4 prototypes (asked: 8)'),
            (dict(num_shift_vectors=60),
             'M=50 shift vectors (asked: 60)'),
            (dict(seed=1), 'seed 0 (asked: 1)')):
        spec = DictionarySpec('clp', 7, **{'num_prototypes': 4,
                                           'num_shift_vectors': 50,
                                           **other})
        shutil.copy(made.path(wd), spec.path(wd))
        args = ['--model', 'clp', '--novel_class', '7', '--workdir', wd,
                '--num_prototypes', str(spec.num_prototypes),
                '--num_shift_vectors', str(spec.num_shift_vectors),
                '--dict_seed', str(spec.seed)]
        err = cli_fails(DICT, args, capsys, wd, says)
        assert spec.path(wd) in err, err
        os.remove(spec.path(wd))


def test_features_of_other_pipeline_overrides_are_not_mixed(wd, capsys):
    """Support and query features of one checkpoint extracted with other
    model or pipeline --cfg-options (the test set again at another image
    size, dataset.pipeline.1.scale=64) were combined without a word: a
    resolution shift between support and queries, written as a normal
    result. Now one line naming the option and both values; options of
    where the images are (data_root, ann_file) may differ."""
    def provenance(name, **options):
        write_provenance(wd, 'clp', name, **CHECKPOINT_PROVENANCE,
                         cfg_options=options)

    cli_ok(GEN, _gen(wd), capsys)
    small = {'dataset.pipeline.1.scale': 32, 'model.backbone.base_channels':
             16}
    provenance('NCT_train', **small, **{'dataset.data_root': '/a/NCT'})
    provenance('NCT_test', **small, **{'dataset.data_root': '/b/NCT',
                                       'dataset.ann_file': 'my_test.txt'})
    cli_ok(META, _meta(wd, '--mode', 'linear'), capsys)
    provenance('NCT_test', **dict(small, **{'dataset.pipeline.1.scale': 64}))
    err = cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
                    'were extracted with other --cfg-options')
    assert '(dataset.pipeline.1.scale: 32 vs 64)' in err, err
    provenance('NCT_test', **{'dataset.pipeline.1.scale': 32})
    err = cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
                    'were extracted with other --cfg-options')
    assert '(model.backbone.base_channels: 16 vs not set)' in err, err


def test_features_are_compared_by_their_resolved_extraction_settings(
        wd, capsys):
    """The literal --cfg-options told other settings from the same ones
    spelt another way (``scale=64`` and ``(64, 64)``; ``depth=18``, the
    config's own value, given or not: refused) and missed other settings
    spelt alike (another config file at another size, or options recorded
    on one side only: passed). Where both provenance files record the
    digests of the resolved model and pipeline, those are compared; the
    refusal names both sets, what differs and the fix."""
    def provenance(name, config='/c/nct.py', options=None, **settings):
        write_provenance(wd, 'clp', name, **CHECKPOINT_PROVENANCE,
                         config=config, cfg_options=options, **settings)

    same = dict(model_sha1='m' * 40, pipeline_sha1='p' * 40,
                image_size=[64, 64])
    cli_ok(GEN, _gen(wd), capsys)
    provenance('NCT_train', options={'dataset.pipeline.1.scale': 64},
               **same)
    provenance('NCT_test', options={'dataset.pipeline.1.scale': [64, 64],
                                    'model.backbone.depth': 18}, **same)
    cli_ok(META, _meta(wd, '--mode', 'linear'), capsys)
    # another config file, its own size, the same options
    provenance('NCT_test', '/c/nct_64.py', {'dataset.pipeline.1.scale': 64},
               **dict(same, pipeline_sha1='q' * 40, image_size=[32, 32]))
    err = cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
                    'were extracted with another image pipeline (image size '
                    '64 x 64 vs 32 x 32); extract one of them again with '
                    'the config and --cfg-options of the other')
    assert 'NCT_train.npy and ' in err and 'NCT_test.npy' in err, err
    # no options on one side: the digests still tell, the configs named
    provenance('NCT_test', **dict(same, pipeline_sha1='q' * 40))
    cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
              '(/c/nct.py with --cfg-options dataset.pipeline.1.scale=64 vs'
              ' /c/nct.py with no such --cfg-options)')
    provenance('NCT_test', **dict(same, model_sha1='n' * 40))
    cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
              'were extracted with another model (model_sha1 mmmmmmmmmmmm '
              'vs nnnnnnnnnnnn, both from /c/nct.py with no such '
              "--cfg-options: the file or this project's model digest "
              'changed in between)')
    # a side written before the digests: its literal options, as before
    provenance('NCT_test', options={'dataset.pipeline.1.scale': 32})
    cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
              'other --cfg-options (dataset.pipeline.1.scale: 64 vs 32)')
    provenance('NCT_test', options={'dataset.pipeline.1.scale': 64})
    cli_ok(META, _meta(wd, '--mode', 'linear'), capsys)


def test_missing_store_and_dictionary_name_the_command_that_makes_them(
        wd, capsys):
    """A single meta-test without its task store or dictionary said 'make
    it with: python .../generate_task.py ...' (or '--model M
    [--novel_class C] ...'); the line now holds the whole command, and
    running that command makes what was missing."""
    import shlex
    err = cli_fails(META, _meta(wd, '--mode', 'linear', '--task_seed', '3'),
                    capsys, wd, 'task store not found')
    cmd = err.split('make it with: ')[1].rstrip(')')
    assert cmd == (f'python {ROOT}/wsi_workdir/tools/generate_task.py '
                   '--task near '
                   f'--num_shots 5 --num_task 10 --novel_class 7 --seed 3 '
                   f'--workdir {wd}')
    cli_ok(GEN, shlex.split(cmd)[2:], capsys)
    err = cli_fails(META, _meta(wd, '--mode', 'latent_aug', '--task_seed',
                                '3', *K), capsys, wd, 'dictionary not found')
    cmd = err.split('make it with: ')[1].split(', or run')[0]
    assert cmd == (f'python {ROOT}/wsi_workdir/dict_construction.py '
                   '--model clp '
                   '--novel_class 7 --num_prototypes 4 --num_shift_vectors '
                   f'50 --workdir {wd}')
    cli_ok(DICT, shlex.split(cmd)[2:], capsys)
    cli_ok(META, _meta(wd, '--mode', 'latent_aug', '--task_seed', '3', *K),
           capsys)


def test_a_store_with_fewer_tasks_is_extended_its_tasks_kept(wd, capsys):
    """A store of 10 tasks asked for 20 was refused ('holds 10 tasks
    (asked: 20); draw it again with: ... --overwrite'), one store per
    rerun of a script. Stores are drawn in blocks, so the 20 tasks' first
    10 are the 10: the store is extended, its 10 tasks kept bit for bit,
    the 20 those of a store drawn for 20 at once (elsewhere), and a result
    on the 10 stays current for the summary."""
    from openselfsup.lowshot.report import changed_inputs
    from openselfsup.lowshot.spec import TaskSpec
    from openselfsup.lowshot.tasks import TaskStore, generate_task_store
    cli_ok(GEN, _gen(wd), capsys)
    path = TaskSpec('near', 5, 10, 7).path(wd)
    before = TaskStore.load(path)
    out = cli_ok(META, _meta(wd, '--mode', 'linear', '--clf', 'Ridge'),
                 capsys)
    result_file = out.split('wrote ')[1].split(' (')[0]
    out = cli_ok(GEN, near_args(wd, num_task=20), capsys)
    assert f'note: extended {path} from 10 to 20 tasks' in out, out
    after = TaskStore.load(path)
    assert after.num_task == 20
    for k in ('support_idx', 'query_idx', 'support_labels',
              'query_labels'):
        np.testing.assert_array_equal(getattr(after, k)[:10],
                                      getattr(before, k))
    # the reference: 20 tasks drawn at once in a copy of the labels
    other = os.path.join(os.path.dirname(wd), 'other')
    shutil.copytree(os.path.join(wd, 'extracted_feats'),
                    os.path.join(other, 'extracted_feats'))
    fresh, _ = generate_task_store(other, TaskSpec('near', 5, 20, 7))
    assert fresh.sha1 == after.sha1
    with open(result_file) as f:
        assert changed_inputs(json.load(f), wd) == []
    cli_ok(META, _meta(wd, '--mode', 'linear', '--num_task', '20'), capsys)


def test_a_store_whose_first_tasks_depend_on_its_size_is_not_extended(
        wd, capsys, monkeypatch):
    """A store drawn all at once (sampler 2, of another count than 1000:
    its first tasks differ from a larger draw's) cannot be extended
    exactly: refused with the command that draws it again, untouched. The
    meta-test of more tasks said 'draw the rest with: <the command
    without --overwrite> (its 10 tasks are kept as they are)', a command
    that was then refused: it names the reason and the command that draws
    the store again."""
    from openselfsup.lowshot import tasks
    monkeypatch.setattr(tasks, 'TASK_BLOCK', 10)  # one block of 10: 2's
    cli_ok(GEN, _gen(wd), capsys)
    monkeypatch.undo()
    path = TaskSpec('near', 5, 10, 7).path(wd)
    with np.load(path) as z:  # its sampler field as sampler 2 wrote it
        np.savez(path, **dict({k: z[k] for k in z.files},
                              sampler=np.int64(2)))
    reason = ('drawn by an earlier version whose first tasks depend on how '
              'many were drawn, so it cannot be extended; draw it again '
              'with: ')
    err = cli_fails(GEN, near_args(wd, num_task=20), capsys, wd,
                    'holds 10 tasks (asked: 20), ' + reason)
    cmd = err.split('draw it again with: ')[1]
    assert cmd.endswith(' --num_task 20 --novel_class 7 --workdir '
                        f'{wd} --overwrite'), cmd
    err = cli_fails(META, _meta(wd, '--mode', 'linear', '--num_task', '20'),
                    capsys, wd, f'--num_task 20 is larger than the 10 tasks '
                    f'in {path}, {reason}')
    assert err.split('draw it again with: ')[1] == cmd, err
    cli_ok(GEN, shlex.split(cmd)[2:], capsys)
    cli_ok(META, _meta(wd, '--mode', 'linear', '--num_task', '20'), capsys)


def test_a_meta_test_of_more_tasks_than_its_store_names_the_way_out(
        wd, capsys):
    """``distributed_meta_test.py --num_task 20`` on a 10-task store said
    'larger than the 10 tasks in ...' and no more; the line now holds the
    command that draws the rest, which extends the store."""
    cli_ok(GEN, _gen(wd), capsys)
    err = cli_fails(META, _meta(wd, '--mode', 'linear', '--num_task', '20'),
                    capsys, wd, '--num_task 20 is larger than the 10 tasks')
    cmd = err.split('draw the rest with: ')[1].split(' (its 10')[0]
    assert cmd == (f'python {ROOT}/wsi_workdir/tools/generate_task.py '
                   '--task near '
                   '--num_shots 5 --num_task 20 --novel_class 7 '
                   f'--workdir {wd}'), cmd
    cli_ok(GEN, shlex.split(cmd)[2:], capsys)
    cli_ok(META, _meta(wd, '--mode', 'linear', '--num_task', '20'), capsys)


def test_sweep_and_ablation_name_their_own_flags(wd, capsys):
    """A bad value is named by the flag the user typed (--shots, --prototypes),
    not the spec field behind it (--num_shots, --num_prototypes); novel
    classes for a sweep without the near domain are refused, not ignored."""
    abl = script_main('wsi_workdir/ablation.py')
    err = cli_fails(SWEEP, ['--workdir', wd, '--model', 'clp', '--task',
                            'mixture', '--shots', '1', '0'], capsys, wd,
                    '--shots 0: shot counts must be at least 1')
    assert '--num_shots' not in err
    cli_fails(SWEEP, ['--workdir', wd, '--model', 'clp', '--task', 'mixture',
                      '--novel_classes', '3'], capsys, wd,
              '--novel_classes applies to the near domain; --task mixture '
              'has none')
    cli_fails(SWEEP, ['--workdir', wd, '--model', 'clp', '--task', 'mixture',
                      '--output', os.path.join(wd, 'o.txt')], capsys, wd,
              'the sweep index is JSON; give a .json path')
    for part in ('prototypes', 'latent', 'hybrid', 'image'):
        err = cli_fails(abl, ['--workdir', wd, f'--{part}', '4', '0'],
                        capsys, wd, f'--{part} 0: values must be whole '
                        'numbers of at least 1')
        assert '--num_' not in err


def test_sweep_refuses_shots_of_a_task_it_does_not_run(wd, capsys):
    """--<task>_shots (one list per task: out and out_homo have other
    published shots) for a task not in --task would be ignored: refused;
    a bad or repeated value is named by that flag."""
    cli_fails(SWEEP, ['--workdir', wd, '--model', 'clp', '--task', 'out',
                      '--out_homo_shots', '5'], capsys, wd,
              '--out_homo_shots applies to --task out_homo; --task out does '
              'not run it')
    cli_fails(SWEEP, ['--workdir', wd, '--model', 'clp', '--task', 'out',
                      'out_homo', '--out_homo_shots', '5', '0'], capsys, wd,
              '--out_homo_shots 0: shot counts must be at least 1')
    cli_fails(SWEEP, ['--workdir', wd, '--model', 'clp', '--task', 'out',
                      '--out_shots', '5', '5'], capsys, wd,
              '--out_shots: 5 given twice')


def test_sweep_refuses_shots_that_give_out_homo_an_unpublished_count(wd,
                                                                     capsys):
    """--shots reaches every task without its own list, so --task near
    out_homo --shots 1 5 ran homo 1-shot, which the published protocol
    never ran (homo: 5 10 50 100; its 1-shot runs failed): refused with one
    line naming --out_homo_shots; a --shots within the published homo list,
    or out_homo's own list, still runs."""
    import argparse
    from openselfsup.lowshot.sweep_settings import cli_specs
    err = cli_fails(SWEEP, ['--workdir', wd, '--model', 'clp', '--task',
                            'near', 'out_homo', '--shots', '1', '5'],
                    capsys, wd, '--shots 1 5 would run --task out_homo at 1 '
                    'shots, which the published homo protocol never ran '
                    '(its shots: 5 10 50 100); give out_homo its own list '
                    'with --out_homo_shots')
    assert 'OUT_HOMO_SHOTS' in err
    cli_fails(SWEEP, ['--workdir', wd, '--model', 'clp', '--task',
                      'out', 'out_homo', '--shots', '5', '20'], capsys, wd,
              'at 20 shots')
    # --shots 0: named as the bad count it is, not as an unpublished one
    cli_fails(SWEEP, ['--workdir', wd, '--model', 'clp', '--task',
                      'near', 'out_homo', '--shots', '0', '1'], capsys, wd,
              '--shots 0: shot counts must be at least 1')
    base = dict(model='clp', novel_classes=[None], clfs=['Ridge'],
                modes=['linear'], model_template='{model}', shots=[1, 5],
                **{f'{t}_shots': None for t in ('near', 'mixture', 'out',
                                                'out_homo')})
    shots = {(sp.task, sp.shots) for sp in cli_specs(argparse.Namespace(
        **{**base, 'task': ['near', 'out_homo'], 'out_homo_shots': [5]}))}
    assert shots == {('near', 1), ('near', 5), ('out_homo', 5)}
    shots = {(sp.task, sp.shots) for sp in cli_specs(argparse.Namespace(
        **{**base, 'task': ['out', 'out_homo'], 'shots': [5, 10],
           'novel_classes': None}))}
    assert shots == {(t, s) for t in ('out', 'out_homo') for s in (5, 10)}
    # a --shots that reaches out_homo alone is meant for it: taken as given
    # (as --out_homo_shots is), also a count the published runs lack; so is
    # one beside tasks that each have their own list
    for extra in ({'task': ['out_homo'], 'shots': [1, 20]},
                  {'task': ['near', 'out_homo'], 'shots': [1, 20],
                   'near_shots': [1]}):
        shots = {(sp.task, sp.shots) for sp in cli_specs(
            argparse.Namespace(**{**base, 'novel_classes': None, **extra}))}
        assert {s for t, s in shots if t == 'out_homo'} == {1, 20}, shots


def test_a_wo_model_of_another_class_is_named_by_the_commands_flags(
        wd, capsys):
    """ablation.py --model clp_wo_3 (novel class 78 is the ablation's
    own) was refused with the meta-test's advice, 'give --novel_class 3',
    a flag ablation.py does not have: the line names the ablation's novel
    class and advises the model without it only. sweep.py's line named
    --novel_class (its flag is --novel_classes) and, for a
    --model_template that gave the name, a --model the user had not typed.
    Refused before anything is read or written; clp_wo_78 and a name
    without the suffix pass."""
    from openselfsup.lowshot.ablation import ablation_settings
    abl = script_main('wsi_workdir/ablation.py')
    err = cli_fails(abl, ['--workdir', wd, '--model', 'clp_wo_3'], capsys,
                    wd, '--model clp_wo_3 is named as the encoder trained '
                    "without class 3 (LYM), but the ablation's novel class "
                    '78 (STR+TUM) scores it on that class\'s tasks')
    assert '--novel_class' not in err, err
    assert 'give the model without class 78 (clp_wo_78);' in err, err
    for model in ('clp_wo_78', 'clp'):
        assert ablation_settings(model, prototypes=[4], image=[], latent=[],
                                 hybrid=[])[0][2].model == model
    sweep = ['--workdir', wd, '--novel_classes', '4', '--model']
    err = cli_fails(SWEEP, [*sweep, 'clp_wo_3', '--model_template',
                            '{model}'], capsys, wd,
                    '--model clp_wo_3 is named as the encoder trained '
                    'without class 3 (LYM), but --novel_classes 4 (MUC)')
    assert 'give --novel_classes 3 or the model without class 4 ' \
        '(clp_wo_4);' in err, err
    cli_fails(SWEEP, [*sweep, 'clp', '--model_template', 'clp_wo_3'],
              capsys, wd, "error: --model_template 'clp_wo_3' (clp_wo_3 for "
              'novel class 4) is named as the encoder trained without '
              'class 3 (LYM), but --novel_classes 4 (MUC)')


def test_fractional_strengths_are_accepted(wd, capsys):
    """--alpha 0.5 and --C 0.1 are positive: they were refused as 'must be
    a positive number' (the count rule, at least 1, applied to reals);
    0, negative and NaN stay refused."""
    from openselfsup.lowshot.spec import RunSpec
    cli_ok(GEN, _gen(wd), capsys)
    cli_ok(META, _meta(wd, '--mode', 'linear', '--alpha', '0.5'), capsys)
    cli_ok(META, _meta(wd, '--mode', 'linear', '--clf',
                       'logistic_regression', '--C', '0.1'), capsys)
    assert RunSpec('clp', 'near', 1, alpha=0.25).variant == 'alpha0.25'
    for bad in (0.0, -0.5, float('nan'), float('inf')):
        with pytest.raises(InputError, match='--alpha must be a positive'):
            RunSpec('clp', 'near', 1, alpha=bad)


# -- where extract.py / import_features.py write ----------------------------
IMPORT = script_main('wsi_workdir/import_features.py')
_SETS = {'NCT_train': ('nct_train.py', 'NCT', 'train_labeled.txt'),
         'NCT_test': ('nct_test.py', 'NCT', 'test_labeled.txt'),
         'LC': ('lc.py', 'LC25000', 'img_list_labeled.txt'),
         'PAIP_train': ('paip_train.py', 'PAIP19', 'paip_train_labeled.txt'),
         'PAIP_test': ('paip_test.py', 'PAIP19', 'paip_test_labeled.txt')}


def _import_args(root, tmp_path, name, output, config=None):
    """import_features.py flags for random rows of feature set ``name``'s
    list (``config``: another extraction config than the set's own)."""
    cfg, domain, listed = _SETS[name]
    if config is not None:
        cfg, domain, listed = _SETS[config]
    with open(os.path.join(root, domain, 'meta', listed)) as f:
        rels = [line.split()[0] for line in f if line.strip()]
    src, lst = str(tmp_path / f'{name}.npy'), str(tmp_path / f'{name}.txt')
    np.save(src, np.random.default_rng(0).normal(
        size=(len(rels), 4)).astype(np.float32) + 2)
    with open(lst, 'w') as f:
        f.write('\n'.join(rels) + '\n')
    return ['--config', os.path.join(ROOT, 'configs', 'extraction', cfg),
            '--source', src, '--paths', lst, '--output', output,
            '--cfg-options', f'dataset.data_root={os.path.join(root, domain)}']


def test_features_without_their_model_folder_are_refused(synthetic_root,
                                                         tmp_path, capsys):
    """``--output <workdir>/extracted_feats/NCT_test.npy`` (the model's
    folder left out) wrote its labels and meta over the workdir's shared
    ``NCT_test_labels.npy`` / ``NCT_test_meta.json``, which every model's
    NCT_test features are checked against, without the check that refuses
    another list's labels there."""
    w = str(tmp_path / 'w')
    cli_ok(IMPORT, _import_args(synthetic_root, tmp_path, 'NCT_test',
                                paths.features_path(w, 'clp', 'NCT_test')),
           capsys)
    bad = os.path.join(w, 'extracted_feats', 'NCT_test.npy')
    err = cli_fails(IMPORT, _import_args(synthetic_root, tmp_path, 'NCT_test',
                                         bad), capsys, w,
                    "goes into its model's folder, extracted_feats/<model>/"
                    'NCT_test.npy')
    assert bad in err


def test_feature_set_name_in_another_case_is_refused(synthetic_root,
                                                     tmp_path, capsys):
    """``extracted_feats/clp/nct_test.npy`` was written as a file outside
    the layout (its labels beside it): every low-shot command then said the
    features were not found, under the name it had not been given."""
    w = str(tmp_path / 'w')
    for bad in ('nct_test', 'Nct_Test'):
        out = os.path.join(w, 'extracted_feats', 'clp', f'{bad}.npy')
        cli_fails(IMPORT, _import_args(synthetic_root, tmp_path, 'NCT_test',
                                       out), capsys, str(tmp_path),
                  'the low-shot commands read NCT_test.npy (feature sets: '
                  'NCT_train, NCT_test, LC')
    # a name of its own outside the layout stays a free choice
    cli_ok(IMPORT, _import_args(synthetic_root, tmp_path, 'NCT_test',
                                os.path.join(w, 'extracted_feats', 'clp',
                                             'nct_test_v2.npy')), capsys)


def test_features_of_another_domain_under_a_set_name_are_refused(
        synthetic_root, tmp_path, capsys):
    """LC25000 features written as ``NCT_test.npy`` (the config changed,
    the output not) were accepted, with the LC25000 labels as the shared
    NCT_test labels: near-domain tasks then drew from them."""
    w = str(tmp_path / 'w')
    out = paths.features_path(w, 'clp', 'NCT_test')
    cli_fails(IMPORT, _import_args(synthetic_root, tmp_path, 'NCT_test', out,
                                   config='LC'), capsys, str(tmp_path),
              f'{out}: NCT_test holds images of the classes BACK, ADI, DEB, '
              'LYM, MUC, MUS, NORM, STR, TUM, but ')
    # the set these features are is named; the right pairing works
    pt = paths.features_path(w, 'clp', 'PAIP_test')
    cli_fails(IMPORT, _import_args(synthetic_root, tmp_path, 'LC', pt),
              capsys, str(tmp_path), 'or write these as LC.npy')
    cli_ok(IMPORT, _import_args(synthetic_root, tmp_path, 'LC',
                                paths.features_path(w, 'clp', 'LC')), capsys)
    # a user's own classes (given over the set's own config): that config
    # was named as the way out; no set takes them, and the line says so
    own = cli_fails(IMPORT, _import_args(
        synthetic_root, tmp_path, 'NCT_test', out) + [
        'dataset.classes=[a,b,c,d,e,f,g,h,i]'],  # after its --cfg-options
        capsys, str(tmp_path), 'lists the classes a, b, c, d, e, f, g, h, '
        'i; no low-shot set holds these classes: write their features to an '
        '--output outside extracted_feats/ (docs/own_data.md)')
    assert 'configs/extraction/nct_test.py' not in own.split('; ')[-1]


def test_features_not_found_name_the_models_there(wd, capsys, tmp_path):
    """A misspelt --model (or a wrong --workdir) was told only how to
    extract that model's features; the line now names the models whose
    features the workdir has, and for the sweep's default ``<model>_wo_<c>``
    on an encoder of all classes, the template that reads it."""
    root = os.path.join(wd, 'extracted_feats')
    cli_ok(GEN, _gen(wd), capsys)
    # (the command's DATA_ROOT note before: no cpl set records a folder)
    cli_fails(META, near_args(wd, '--model', 'cpl', num_task=10), capsys, wd,
              f'data/NCT)); models with features in {root}: clp')
    cli_fails(SWEEP, ['--workdir', wd, '--model', 'clp', '--task', 'near',
                      '--novel_classes', '7', '--shots', '5', '--num_task',
                      '10', '--modes', 'linear', '--clfs', 'Ridge'],
              capsys, wd, f"data/NCT)); models with features in "
              f"{root}: clp (clp: an encoder of all classes; sweep.py "
              "--model_template '{model}' tests it on every novel class)")
    other = str(tmp_path / 'elsewhere')
    cli_fails(META, near_args(other, '--model', 'clp', num_task=10), capsys,
              str(tmp_path), f'; {other} holds no features of any model '
              '(--workdir?)')
    # the model's own folder without the set: no list of models
    os.remove(paths.features_path(wd, 'clp', 'NCT_test'))
    err = cli_fails(META, _meta(wd), capsys, wd, 'NCT_test.npy (make it')
    assert 'models with features' not in err


@pytest.mark.parametrize('script,args,setting,read,who', [
    ('near_domain.sh', (), 'NUM_TASKS', 'NUM_TASK', 'the scripts read'),
    ('ablation.sh', (), 'IMAGES', 'IMAGE', 'the scripts read'),
    ('generate_near_domain_tasks.sh', (), 'NOVEL_CLASS', 'NOVEL_CLASSES',
     'the scripts read'),
    ('evaluate_encoder.sh', ('m', '-'), 'SHOT', 'SHOTS', 'the scripts read'),
    ('demo_lowshot.sh', ('ckpt.pth',), 'NUMTASK', 'NUM_TASK',
     'the scripts read'),
    # the commands' flag names of a setting the scripts name otherwise
    # (--num_shots: NUM_SHOTS=20 ran the default shots without a word;
    # each script's own shots settings:
    # test_num_shots_is_refused_with_the_scripts_own_shots_settings)
    ('near_domain.sh', (), 'NUM_SHOTS', 'SHOTS', 'this script reads'),
    ('generate_mixture_and_out_domain_tasks.sh', (), 'TASK_SEED', 'SEED',
     'the scripts read'),
    ('evaluate_encoder.sh', ('m', '-'), 'DICT_SEED', 'SEED',
     'the scripts read'),
    # demo_lowshot.sh's own settings, to a script that reads the other form
    ('near_domain.sh', (), 'MODEL', 'MODELS', 'this script reads'),
    ('extract_near_domain_feats.sh', (), 'NOVEL', 'NOVEL_CLASSES',
     'this script reads'),
    ('evaluate_encoder.sh', ('m', '-'), 'NOVEL', 'NOVEL_CLASSES',
     'this script reads'),
    # and the other scripts' forms to demo_lowshot.sh, which set
    # NOVEL_CLASSES from NOVEL over the one given (no novel class ran)
    ('demo_lowshot.sh', ('ckpt.pth',), 'NOVEL_CLASSES', 'NOVEL',
     'this script reads'),
    ('demo_lowshot.sh', ('ckpt.pth',), 'MODELS', 'MODEL',
     'this script reads'),
])
def test_misspelt_script_settings_are_refused(tmp_path, script, args,
                                              setting, read, who):
    """A setting in the environment under a near-miss name (a plural,
    a singular, no underscore) was ignored: ``NUM_TASKS=300 sh
    near_domain.sh`` ran the default 1000 tasks; so were ``MODEL`` and
    ``NOVEL`` (demo_lowshot.sh's) given to a script that reads ``MODELS``
    and ``NOVEL_CLASSES`` (``MODEL=clp sh near_domain.sh`` ran both
    families), and ``MODELS`` and ``NOVEL_CLASSES`` to demo_lowshot.sh
    (``NOVEL_CLASSES=7`` ran without a novel class, ``MODELS=fsp`` the
    model clp). Now one line, exit 2, before any command; the right name
    runs."""
    path = os.path.join(ROOT, 'wsi_workdir', 'scripts', script)
    # PYTHON=echo: the commands are printed, not run
    env = dict(os.environ, PYTHON='echo', WORKDIR=str(tmp_path / 'w'))
    for name in ('MODEL', 'MODELS', 'NOVEL', 'NOVEL_CLASSES', read):
        env.pop(name, None)
    out = subprocess.run(['sh', path, *args], cwd=ROOT, capture_output=True,
                         text=True, env={**env, setting: '7'})
    assert out.returncode == 2 and out.stdout == '', out.stdout
    assert out.stderr.strip() == (
        f'error: {path}: {setting} is set, but {who} {read} (set {read} '
        f'instead; unset {setting} if it is meant for another program)')
    out = subprocess.run(['sh', path, *args], cwd=ROOT, capture_output=True,
                         text=True, env={**env, read: '7'})
    assert out.returncode == 0 and '+ echo ' in out.stdout, out.stderr


_SHOTS_READ = ('SHOTS', 'OUT_SHOTS', 'OUT_HOMO_SHOTS')
# the paper's protocol, in the order GETTING_STARTED.md runs it, and the
# shots settings each reads
_CHAIN = {'extract_near_domain_feats.sh': (),
          'extract_mixture_and_out_domain_feats.sh': (),
          'generate_near_domain_tasks.sh': ('SHOTS',),
          'generate_mixture_and_out_domain_tasks.sh': _SHOTS_READ,
          'near_domain.sh': ('SHOTS',), 'mixture_domain.sh': ('SHOTS',),
          'out_domain.sh': ('OUT_SHOTS', 'OUT_HOMO_SHOTS')}
_WHY = {'SHOTS': 'SHOTS gives the near and mixture domains their shots',
        'OUT_SHOTS': 'OUT_SHOTS gives the out domain its shots',
        'OUT_HOMO_SHOTS': 'OUT_HOMO_SHOTS gives the out_homo domain its '
                          'shots'}


def _script_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ('NUM_TASK', 'SEED', 'DOMAINS', 'MODEL', 'MODELS',
                        'OVERWRITE', *_SHOTS_READ)}
    env.update(PYTHON='echo', WORKDIR=str(tmp_path / 'w'), **extra)
    return env


def test_unread_shots_settings_of_the_chain(tmp_path):
    """``export SHOTS="1 5"`` over the documented chain (GETTING_STARTED.md,
    the paper's protocol; the docs export settings for a chain of
    scripts) stopped at out_domain.sh, which reads OUT_SHOTS and
    OUT_HOMO_SHOTS; OUT_SHOTS and OUT_HOMO_SHOTS given to near_domain.sh
    or mixture_domain.sh were ignored without a word. A script of the
    chain now names a shots setting it does not read in one note line and
    runs its commands as without it. Reference: each script's run without
    the setting, and the settings each reads (written here by hand)."""
    given = {'SHOTS': '1 5', 'OUT_SHOTS': '1', 'OUT_HOMO_SHOTS': '5'}
    for script, reads in _CHAIN.items():
        path = os.path.join(ROOT, 'wsi_workdir', 'scripts', script)
        run = lambda **e: subprocess.run(  # noqa: E731
            ['sh', path], cwd=ROOT, capture_output=True, text=True,
            env=_script_env(tmp_path, **e))
        plain = run(**{k: given[k] for k in reads})
        out = run(**given)
        assert out.returncode == 0, (script, out.stderr)
        commands = [[ln for ln in p.stdout.splitlines() if ln[:1] == '+']
                    for p in (out, plain)]
        assert commands[0] and commands[0] == commands[1], script
        unread = [k for k in _SHOTS_READ if k not in reads]
        does = 'draws no tasks' if not reads else 'reads ' + {
            ('SHOTS',): 'SHOTS',
            ('OUT_SHOTS', 'OUT_HOMO_SHOTS'):
                'OUT_SHOTS (out) and OUT_HOMO_SHOTS (out_homo)'}.get(reads, '')
        assert out.stderr == ''.join(
            f'note: {path}: {k} is not read by this script, which {does} '
            f"({_WHY[k]}; the protocol's other scripts read it)\n"
            for k in unread), out.stderr


@pytest.mark.parametrize('script,args,domains,name,reads', [
    ('evaluate_encoder.sh', ('m', '-'), 'near', 'OUT_SHOTS', 'SHOTS'),
    ('evaluate_encoder.sh', ('m', '-'), 'near mixture', 'OUT_HOMO_SHOTS',
     'SHOTS'),
    ('demo_lowshot.sh', ('ckpt.pth',), 'near', 'OUT_SHOTS', 'SHOTS'),
    ('ablation.sh', (), None, 'OUT_SHOTS', None),
    ('extract_ablation_feats.sh', (), None, 'SHOTS', '-'),
    ('extract_ablation_feats.sh', (), None, 'OUT_HOMO_SHOTS', '-')])
def test_unread_shots_settings_outside_the_chain_are_refused(
        tmp_path, script, args, domains, name, reads):
    """OUT_SHOTS / OUT_HOMO_SHOTS given to evaluate_encoder.sh (or the
    demo) whose DOMAINS do not take them, to the ablation, and SHOTS to
    the ablation's extraction script (GETTING_STARTED.md: a SHOTS a script
    does not read is refused) ran without a word. Refused now in one line
    naming what the script reads. Reference: the lines written here."""
    path = os.path.join(ROOT, 'wsi_workdir', 'scripts', script)
    env = _script_env(tmp_path, **{name: '5'},
                      **({'DOMAINS': domains} if domains else {}))
    out = subprocess.run(['sh', path, *args], cwd=ROOT, capture_output=True,
                         text=True, env=env)
    who = f'this script, with DOMAINS="{domains}",' if domains else \
        'this script'
    assert out.returncode == 2 and out.stdout == '', out.stdout
    if reads == '-':
        tail = f'{who} draws no tasks ({_WHY[name]}; unset {name})'
    elif reads is None:
        tail = (f'{who} takes no shots: its tasks are 5-shot, as published '
                f'({_WHY[name]}; unset {name})')
    else:
        tail = (f'{who} reads {reads} ({_WHY[name]}; set {reads} instead '
                f'and unset {name})')
    assert out.stderr == f'error: {path}: {name} is set, but {tail}\n', \
        out.stderr


@pytest.mark.parametrize('script,setting', [
    ('extract_near_domain_feats.sh', 'OVERWRITE'),
    ('extract_mixture_and_out_domain_feats.sh', 'OVERWRITE'),
    ('extract_ablation_feats.sh', 'OVERWRITE'),
    ('ablation.sh', 'OVERWRITE'),
    ('extract_near_domain_feats.sh', 'TASK_SEED'),
    ('extract_mixture_and_out_domain_feats.sh', 'DICT_SEED')])
def test_refusals_name_only_what_the_script_reads(tmp_path, script,
                                                  setting):
    """The OVERWRITE refusal told the extraction scripts (no task store)
    and the ablation (no shots) to use "this script's NUM_TASK, SEED and
    shots"; TASK_SEED / DICT_SEED told extraction scripts that read no
    seed to "set SEED". Reference: the lines written here."""
    path = os.path.join(ROOT, 'wsi_workdir', 'scripts', script)
    out = subprocess.run(['sh', path], cwd=ROOT, capture_output=True,
                         text=True, env=_script_env(tmp_path,
                                                    **{setting: '1'}))
    only = ('only generate_near_domain_tasks.sh and '
            'generate_mixture_and_out_domain_tasks.sh read it')
    if setting != 'OVERWRITE':
        line = (f'{setting} is set, but no script reads it, and this script '
                "reads no seed (the scripts' SEED sets the task and "
                f'dictionary seeds; unset {setting} if it is meant for '
                'another program)')
    elif script == 'ablation.sh':
        line = ('OVERWRITE is set, but this script never replaces a task '
                f'store: {only} (run generate_near_domain_tasks.sh with '
                'OVERWRITE=1 NOVEL_CLASSES=78 SHOTS=5 and this script\'s '
                'NUM_TASK and SEED, then this script without OVERWRITE)')
    else:
        line = (f'OVERWRITE is set, but this script uses no task store: '
                f'{only} (unset OVERWRITE)')
    assert out.returncode == 2 and out.stdout == '', out.stdout
    assert out.stderr == f'error: {path}: {line}\n', out.stderr


@pytest.mark.parametrize('script,args,domains,reads,named', [
    ('mixture_domain.sh', (), None, ['SHOTS'], 'SHOTS'),
    ('out_domain.sh', (), None, ['OUT_SHOTS', 'OUT_HOMO_SHOTS'],
     'OUT_SHOTS (out) and OUT_HOMO_SHOTS (out_homo)'),
    ('generate_mixture_and_out_domain_tasks.sh', (), None,
     ['SHOTS', 'OUT_SHOTS', 'OUT_HOMO_SHOTS'],
     'SHOTS (mixture), OUT_SHOTS (out) and OUT_HOMO_SHOTS (out_homo)'),
    ('ablation.sh', (), None, [], None),
    ('extract_near_domain_feats.sh', (), None, None, None),
    ('evaluate_encoder.sh', ('m', '-'), 'out', ['OUT_SHOTS'], 'OUT_SHOTS'),
    ('evaluate_encoder.sh', ('m', '-'), 'out out_homo',
     ['OUT_SHOTS', 'OUT_HOMO_SHOTS'],
     'OUT_SHOTS (out) and OUT_HOMO_SHOTS (out_homo)'),
    ('demo_lowshot.sh', ('ckpt.pth',), 'out', ['OUT_SHOTS'], 'OUT_SHOTS'),
    ('demo_lowshot.sh', ('ckpt.pth',), 'near mixture out_homo',
     ['SHOTS', 'OUT_HOMO_SHOTS'],
     'SHOTS (near and mixture) and OUT_HOMO_SHOTS (out_homo)')])
def test_num_shots_is_refused_with_the_scripts_own_shots_settings(
        tmp_path, script, args, domains, reads, named):
    """NUM_SHOTS (the commands' flag name) was refused with "set SHOTS
    instead" by every script: out_domain.sh reads OUT_SHOTS and
    OUT_HOMO_SHOTS, the ablation takes no shots, evaluate_encoder.sh with
    DOMAINS=out reads OUT_SHOTS. The line now names the script's own
    settings (reads: None, a script that draws no tasks), and a SHOTS the
    script does not read is refused (out_domain.sh, the ablation and
    DOMAINS=out ran the published shots without a word). Reference: the
    lines written here by hand; each setting named changes the commands
    the script runs (PYTHON=echo prints them)."""
    path = os.path.join(ROOT, 'wsi_workdir', 'scripts', script)
    env = {k: v for k, v in os.environ.items()
           if k not in ('NUM_TASK', 'SEED', 'DOMAINS', *_SHOTS_READ)}
    env.update(PYTHON='echo', WORKDIR=str(tmp_path / 'w'),
               **({'DOMAINS': domains} if domains else {}))

    def run(**extra):
        return subprocess.run(['sh', path, *args], cwd=ROOT,
                              capture_output=True, text=True,
                              env={**env, **extra})
    who = 'this script' if domains is None else \
        f'this script, with DOMAINS="{domains}",'
    instead = 'set those instead' if reads and len(reads) > 1 else \
        f'set {named} instead'
    none = {None: 'draws no tasks',
            0: 'takes no shots: its tasks are 5-shot, as published'}.get(
                None if reads is None else len(reads))
    out = run(NUM_SHOTS='7')
    assert out.returncode == 2 and out.stdout == '', out.stdout
    assert out.stderr == f'error: {path}: NUM_SHOTS is set, but ' + (
        f'no script reads it, and {who} {none} (' if none else
        f'{who} reads {named} ({instead}; ') + (
        'unset NUM_SHOTS if it is meant for another program)\n')
    plain = run()
    assert plain.returncode == 0, plain.stderr
    for name in reads or ():  # each setting named is read
        given = run(**{name: '7'})
        assert given.returncode == 0, given.stderr
        assert given.stdout != plain.stdout, name
    if reads is None or 'SHOTS' in reads:
        return
    out = run(SHOTS='7')
    if script in _CHAIN:  # test_unread_shots_settings_of_the_chain
        assert out.returncode == 0, out.stderr
        assert [ln for ln in out.stdout.splitlines() if ln[:1] == '+'] == \
            [ln for ln in plain.stdout.splitlines() if ln[:1] == '+']
        return
    assert out.returncode == 2 and out.stdout == '', out.stdout
    why = 'SHOTS gives the near and mixture domains their shots'
    assert out.stderr == f'error: {path}: SHOTS is set, but ' + (
        f'{who} {none} ({why}; unset SHOTS)\n' if none else
        f'{who} reads {named} ({why}; {instead} and unset SHOTS)\n')


@pytest.mark.parametrize('script', [
    'near_domain.sh', 'mixture_domain.sh', 'out_domain.sh',
    'extract_near_domain_feats.sh', 'extract_mixture_and_out_domain_feats.sh',
    'ablation.sh'])
@pytest.mark.parametrize('models', ['clp fsp fsp', 'clp clp', 'fsp clp fsp'])
def test_a_family_named_twice_in_models_is_refused(tmp_path, script, models):
    """MODELS="clp fsp fsp" stopped on the sweep's "error: --check_models:
    fsp given twice" (a flag the user never typed, no script named);
    MODELS="clp clp" ran clp twice without a word. Now one line of the
    script naming MODELS, before any command (no documented use repeats a
    family). Reference: the repeats counted here."""
    path = os.path.join(ROOT, 'wsi_workdir', 'scripts', script)
    env = {k: v for k, v in os.environ.items() if k not in ('MODEL',)}
    env.update(PYTHON='echo', WORKDIR=str(tmp_path / 'w'), MODELS=models)
    out = subprocess.run(['sh', path], cwd=ROOT, capture_output=True,
                         text=True, env=env)
    _assert_repeats_refused(out, path, 'MODELS', models, 'family')



def _assert_repeats_refused(out, path: str, setting: str, value: str,
                            noun: str) -> None:
    """``out`` (a script's run) is the one line refusing a ``setting``
    whose ``value`` names a word more than once: the repeats counted
    here, each named once, and the list with each once."""
    words = value.split()
    twice = ' '.join(dict.fromkeys(
        w for i, w in enumerate(words) if w in words[:i]))
    once = ' '.join(dict.fromkeys(words))
    assert out.returncode == 2 and out.stdout == '', out.stdout
    assert out.stderr == (
        f'error: {path}: {setting}="{value}" names {twice} more than once '
        f'(each {noun} runs once: {setting}="{once}")\n'), out.stderr

@pytest.mark.parametrize('script,args', [
    ('evaluate_encoder.sh', ('m', '-')), ('demo_lowshot.sh', ('ckpt.pth',))])
@pytest.mark.parametrize('domains', ['near near', 'out near out near'])
def test_a_domain_named_twice_is_refused(tmp_path, script, args, domains):
    """DOMAINS="near near" ended on the check's "error: --task: near given
    twice" (a flag the user never typed). Now one line of the script naming
    DOMAINS, before any command, as for MODELS. Reference: the repeats
    counted here."""
    path = os.path.join(ROOT, 'wsi_workdir', 'scripts', script)
    env = {k: v for k, v in os.environ.items() if k not in ('MODELS',)}
    env.update(PYTHON='echo', DOMAINS=domains)
    out = subprocess.run(['sh', path, *args, str(tmp_path / 'w')], cwd=ROOT,
                         capture_output=True, text=True, env=env)
    _assert_repeats_refused(out, path, 'DOMAINS', domains, 'domain')


@pytest.mark.parametrize('script,args', [
    ('evaluate_encoder.sh', ('m', '-')), ('demo_lowshot.sh', ('ckpt.pth',))])
@pytest.mark.parametrize('domains', ['nera', 'near nera', ' '])
def test_domains_are_checked_before_the_shots_they_read(tmp_path, script,
                                                        args, domains):
    """The shots settings were checked before DOMAINS: ``DOMAINS=nera
    SHOTS=1 sh evaluate_encoder.sh m - W`` was told the ablation's "takes
    no shots: its tasks are 5-shot" (a domain it reads no shots of); a
    blank DOMAINS the same. Now an unknown domain gets its own line, a
    blank DOMAINS the blank-list line. Reference: the lines written here
    by hand."""
    path = os.path.join(ROOT, 'wsi_workdir', 'scripts', script)
    env = {k: v for k, v in os.environ.items()
           if k not in ('DOMAINS', *_SHOTS_READ)}
    env.update(PYTHON='echo', WORKDIR=str(tmp_path / 'w'), DOMAINS=domains,
               SHOTS='1')
    out = subprocess.run(['sh', path, *args], cwd=ROOT, capture_output=True,
                         text=True, env=env)
    assert out.returncode == 2 and out.stdout == '', out.stdout
    if domains.strip():
        line = (f'unknown domain nera in DOMAINS="{domains}" (near, '
                'mixture, out, out_homo)')
    else:
        line = (f"DOMAINS='{domains}' is blank: it names no value (unset "
                'it for the default, or give the values)')
    assert out.stderr == f'error: {path}: {line}\n', out.stderr


@pytest.mark.parametrize('script,args', [
    ('evaluate_encoder.sh', ('m', '-')), ('demo_lowshot.sh', ('ckpt.pth',)),
    ('near_domain.sh', ()), ('generate_near_domain_tasks.sh', ())])
def test_overwrite_is_refused_where_no_store_is_replaced(tmp_path, script,
                                                         args):
    """OVERWRITE=1 was read by the generate_*_tasks.sh scripts only:
    evaluate_encoder.sh and demo_lowshot.sh (and the domain scripts)
    ignored it without a word, and a larger NUM_TASK than the stores
    then stopped on the sweep's refusal of each store. Now one line, exit
    2, before any command; the generate scripts pass --overwrite on (the
    reference: the command they print)."""
    path = os.path.join(ROOT, 'wsi_workdir', 'scripts', script)
    env = dict(os.environ, PYTHON='echo', WORKDIR=str(tmp_path / 'w'),
               OVERWRITE='1')
    out = subprocess.run(['sh', path, *args], cwd=ROOT, capture_output=True,
                         text=True, env=env)
    if script.startswith('generate_'):
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines()[0].endswith(' --overwrite'), out.stdout
        return
    assert out.returncode == 2 and out.stdout == '', out.stdout
    assert out.stderr.strip() == (
        f'error: {path}: OVERWRITE is set, but this script never replaces a '
        'task store: only generate_near_domain_tasks.sh and '
        'generate_mixture_and_out_domain_tasks.sh read it (run one with '
        "OVERWRITE=1 and this script's NUM_TASK, SEED and shots, then this "
        'script without OVERWRITE)'), out.stderr


@pytest.mark.parametrize('script,args', [
    ('demo_lowshot.sh', ('ckpt.pth',)), ('evaluate_encoder.sh', ('m', '-'))])
def test_model_is_read_where_it_is_a_setting(tmp_path, script, args):
    """demo_lowshot.sh reads MODEL; evaluate_encoder.sh takes it as its
    argument: MODEL in the environment is not refused there."""
    env = dict(os.environ, PYTHON='echo', WORKDIR=str(tmp_path / 'w'),
               MODEL='clp')
    out = subprocess.run(
        ['sh', os.path.join(ROOT, 'wsi_workdir', 'scripts', script), *args],
        cwd=ROOT, capture_output=True, text=True, env=env)
    assert out.returncode == 0 and '+ echo ' in out.stdout, out.stderr


@pytest.mark.parametrize('script', ['ablation.sh',
                                    'extract_ablation_feats.sh'])
def test_ablation_scripts_take_one_model_family(tmp_path, script):
    """The ablation scripts ran the first family of MODELS and dropped the
    others without a word (``MODELS="clp fsp"``: clp only). Now MODELS
    names their one family (default clp, the published ablation's); several
    are refused in one line, before any command."""
    path = os.path.join(ROOT, 'wsi_workdir', 'scripts', script)
    env = dict(os.environ, PYTHON='echo', WORKDIR=str(tmp_path / 'w'))
    env.pop('MODELS', None)

    def run(**extra):
        return subprocess.run(['sh', path], cwd=ROOT, capture_output=True,
                              text=True, env={**env, **extra})

    def models(out):  # the feature folders of the commands run
        assert out.returncode == 0, out.stderr
        return {m for m in ('clp_wo_78', 'fsp_wo_78') if m in out.stdout}
    assert models(run()) == models(run(MODELS='')) == {'clp_wo_78'}
    assert models(run(MODELS='fsp')) == {'fsp_wo_78'}
    out = run(MODELS='clp fsp')
    assert out.returncode == 2 and out.stdout == '', out.stdout
    assert out.stderr == (
        f'error: {path}: MODELS="clp fsp" names 2 model families, but the '
        "ablation runs one encoder (the published ablation is CLP's: "
        'MODELS=clp, the default); run it once per family, e.g. '
        f'MODELS=clp sh {path}\n')
    if script == 'extract_ablation_feats.sh':
        # a misspelt family: refused (exit 2, before any command) without
        # the "error:" every refusal starts with
        out = run(MODELS='cpl')
        assert out.returncode == 2 and '+ ' not in out.stdout, out.stdout
        assert out.stderr == (f"error: {path}: unknown model family 'cpl' "
                              '(clp or fsp)\n')


@pytest.mark.parametrize('script', [
    'extract_ablation_feats.sh', 'extract_near_domain_feats.sh',
    'extract_mixture_and_out_domain_feats.sh'])
def test_extraction_scripts_refuse_a_family_before_any_output(tmp_path,
                                                                script):
    """``MODELS=cpl`` (no such family) is refused by the checkpoint
    look-up; the extraction scripts printed the date first, so the
    refusal was not the only output. Now nothing reaches stdout: one
    line on stderr, exit 2 (a blank ``MODELS`` or ``NOVEL_CLASSES``:
    ``test_a_blank_list_setting_is_refused_before_any_output``)."""
    path = os.path.join(ROOT, 'wsi_workdir', 'scripts', script)
    env = dict(os.environ, PYTHON='echo', WORKDIR=str(tmp_path / 'w'),
               MODELS='cpl')
    out = subprocess.run(['sh', path], cwd=ROOT, capture_output=True,
                         text=True, env=env)
    assert (out.returncode, out.stdout) == (2, ''), out.stdout
    assert out.stderr == (f"error: {path}: unknown model family 'cpl' "
                          '(clp or fsp)\n')
    assert not os.path.exists(tmp_path / 'w')


@pytest.mark.parametrize('script', [
    'extract_near_domain_feats.sh', 'extract_mixture_and_out_domain_feats.sh'])
def test_extraction_scripts_refuse_a_library_model_without_weights(
        tmp_path, script):
    """``EXTRACT_SOURCE`` (a timm / open_clip model for every family)
    without ``EXTRACT_WEIGHTS``, which the extraction scripts give as its
    ``--weights`` (docs/refusals.md, the scripts): one line, exit 2,
    before any command runs (the stand-in ``PYTHON`` logs each call) or
    the workdir is made."""
    path = os.path.join(ROOT, 'wsi_workdir', 'scripts', script)
    log = tmp_path / 'commands.log'
    recorder = tmp_path / 'python'
    recorder.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\n')
    recorder.chmod(0o755)
    env = dict(os.environ, PYTHON=str(recorder), WORKDIR=str(tmp_path / 'w'),
               EXTRACT_SOURCE='timm:resnet18')
    env.pop('EXTRACT_WEIGHTS', None)
    out = subprocess.run(['sh', path], cwd=ROOT, capture_output=True,
                         text=True, env=env)
    assert (out.returncode, out.stdout) == (2, ''), out.stdout
    assert out.stderr == (f'error: {path}: EXTRACT_SOURCE=timm:resnet18 '
                          'needs EXTRACT_WEIGHTS (file, folder or random)\n')
    assert sorted(os.listdir(tmp_path)) == ['python']


@pytest.mark.parametrize('script,name,args', [
    ('near_domain.sh', 'MODELS', ()), ('mixture_domain.sh', 'MODELS', ()),
    ('out_domain.sh', 'MODELS', ()), ('ablation.sh', 'MODELS', ()),
    ('extract_ablation_feats.sh', 'MODELS', ()),
    ('extract_near_domain_feats.sh', 'MODELS', ()),
    ('extract_near_domain_feats.sh', 'NOVEL_CLASSES', ()),
    ('extract_mixture_and_out_domain_feats.sh', 'MODELS', ()),
    ('near_domain.sh', 'NOVEL_CLASSES', ()), ('near_domain.sh', 'CLFS', ()),
    ('mixture_domain.sh', 'MODES', ()), ('mixture_domain.sh', 'SHOTS', ()),
    ('out_domain.sh', 'OUT_SHOTS', ()),
    ('out_domain.sh', 'OUT_HOMO_SHOTS', ()),
    ('generate_near_domain_tasks.sh', 'NOVEL_CLASSES', ()),
    ('evaluate_encoder.sh', 'DOMAINS', ('m', 'random')),
    ('demo_lowshot.sh', 'NOVEL', ('random',))])
def test_a_blank_list_setting_is_refused_before_any_output(tmp_path, script,
                                                           name, args):
    """A list setting given blank (``MODELS=" "``: a variable expanded
    empty inside quotes) names nothing. The domain scripts' loop over
    MODELS ran no sweep and then the summary of the results already
    there, exit 0; a blank NOVEL_CLASSES, CLFS, MODES, DOMAINS or shots
    list became a flag without values after the date (the command's
    usage lines; evaluate_encoder.sh extracted NCT_train first); the
    ablation scripts took it as clp. Now: one line, exit 2, no command
    run (PYTHON records every command it is given)."""
    path = os.path.join(ROOT, 'wsi_workdir', 'scripts', script)
    log = tmp_path / 'commands.log'
    recorder = tmp_path / 'python'
    recorder.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {log}\n')
    recorder.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in (
        'MODELS', 'NOVEL_CLASSES', 'MODES', 'CLFS', 'DOMAINS', 'SHOTS',
        'OUT_SHOTS', 'OUT_HOMO_SHOTS', 'NOVEL', 'MODEL')}
    env.update(PYTHON=str(recorder), WORKDIR=str(tmp_path / 'w'),
               **{name: ' \t '})
    out = subprocess.run(['sh', path, *args, *([str(tmp_path / 'w')]
                                               if args else [])],
                         cwd=ROOT, capture_output=True, text=True, env=env)
    assert (out.returncode, out.stdout) == (2, ''), (out.stdout, out.stderr)
    assert out.stderr == (f"error: {path}: {name}=' \t ' is blank: it names "
                          'no value (unset it for the default, or give the '
                          'values)\n')
    assert not log.exists()  # no command was run


def test_ablation_of_a_misspelt_family_names_the_ones_there(tmp_path):
    """``MODELS=cpl sh ablation.sh`` (a family the script takes as given:
    imported features, ``vit_wo_78``, are run so) was refused as features
    of ``cpl_wo_78`` not found, with every model of the workdir; the line
    now also says which of them held out the ablation's classes 78 (the
    families it can run), or none."""
    w = str(tmp_path / 'w')
    for model in ('clp_wo_3', 'clp_wo_78', 'fsp'):
        make_workdir(w, model=model)
    root = os.path.join(w, 'extracted_feats')
    path = os.path.join(ROOT, 'wsi_workdir', 'scripts', 'ablation.sh')
    env = dict(os.environ, WORKDIR=w, MODELS='cpl', NUM_TASK='2')

    def refusal():
        out = subprocess.run(['sh', path], cwd=ROOT, capture_output=True,
                             text=True, env=env)
        lines = out.stderr.strip().splitlines()
        assert out.returncode == 2 and len(lines) == 1, out.stderr
        return lines[0]
    models = 'clp_wo_3, clp_wo_78, fsp'
    line = refusal()
    assert f'/cpl_wo_78/NCT_train.npy (DATA_ROOT: ' in line, line
    assert line.endswith(
        f'data/NCT)); models with features in {root}: '
        f'{models}; of these, the encoders without 78 (as cpl_wo_78): '
        'clp_wo_78'), line
    shutil.rmtree(os.path.join(root, 'clp_wo_78'))
    assert refusal().endswith(
        f'models with features in {root}: clp_wo_3, fsp; of these, the '
        'encoders without 78 (as cpl_wo_78): none')


def test_a_misspelt_model_names_the_ones_holding_out_its_classes(
        tmp_path, capsys):
    """The hint of features not found names the workdir's models whose
    encoder held out the same classes as the misspelt one; it compared the
    suffixes as text, so ``cpl_wo_07`` (class 7) named none where
    ``clp_wo_7`` and ``fsp_wo_7`` are there."""
    w = str(tmp_path / 'w')
    for model in ('clp_wo_7', 'clp_wo_78', 'fsp_wo_7', 'fsp'):
        make_workdir(w, model=model)
    root = os.path.join(w, 'extracted_feats')
    for model, novel, same in (('cpl_wo_07', '7', 'clp_wo_7, fsp_wo_7'),
                               ('cpl_wo_078', '78', 'clp_wo_78'),
                               ('cpl_wo_7', '7', 'clp_wo_7, fsp_wo_7')):
        err = cli_fails(META, ['--workdir', w, '--model', model, '--task',
                               'mixture', '--num_shots', '1', '--num_task',
                               '4'], capsys, w, 'features not found')
        assert err.endswith(
            f'models with features in {root}: clp_wo_7, clp_wo_78, fsp, '
            f'fsp_wo_7; of these, the encoders without {novel} (as '
            f'{model}): {same}'), err


def test_reports_are_not_written_among_the_results(wd, capsys):
    """``summarize.py --output <workdir>/results`` (or a sweep index there)
    was written, and every later summary then stopped at it: every JSON
    under results/ is read as a meta-test result."""
    cli_ok(GEN, _gen(wd), capsys)
    cli_ok(META, _meta(wd, '--mode', 'linear'), capsys)
    results = paths.results_dir(wd)
    for out in (results, results + os.sep, os.path.join(results, 'clp',
                                                         'table')):
        cli_fails(SUMMARY, ['--workdir', wd, '--output', out], capsys, wd,
                  f'inside {results}, where every JSON is read as a '
                  'meta-test result')
    cli_fails(SWEEP, ['--workdir', wd, '--model', 'clp', '--task', 'near',
                      '--novel_classes', '7', '--model_template', '{model}',
                      '--shots', '5', '--num_task', '10', '--modes', 'linear',
                      '--clfs', 'Ridge', '--output',
                      os.path.join(results, 'sweep.json')], capsys, wd,
              f'inside {results}, where every JSON is read as a meta-test '
              f'result (the summary would stop at this index); write it '
              f'elsewhere (default {os.path.join(wd, "sweeps")})')
    # beside it is fine, and the summary still reads the results
    cli_ok(SUMMARY, ['--workdir', wd, '--output',
                     os.path.join(wd, 'results_table')], capsys)
    cli_ok(SUMMARY, ['--workdir', wd], capsys)


def test_augmented_copies_under_another_set_name_are_refused(synthetic_root,
                                                             tmp_path,
                                                             capsys):
    """``--aug_times 2 --output .../NCT_train.npy`` (the ablation's command
    with the output of the base set) wrote two augmented copies as the
    NCT_train features, and their tiled labels as the shared NCT_train
    labels: every near-domain run then read them as the base set."""
    extract = script_main('wsi_workdir/extract.py')
    ckpt = tmp_path / 'ckpt.pth'
    ckpt.write_bytes(b'')
    w = str(tmp_path / 'w')
    for name in ('NCT_train', 'NCT_test'):
        out = paths.features_path(w, 'clp', name)
        cli_fails(extract, [
            '--config', os.path.join(ROOT, 'configs', 'extraction',
                                     'nct_aug.py'),
            '--pretrained', str(ckpt), '--output', out, '--aug_times', '2',
            '--data-root', os.path.join(synthetic_root, 'NCT')], capsys,
            str(tmp_path), f'{out}: --aug_times 2 writes augmented copies, '
            'which the workdir reads as NCT_aug.npy only')


def test_list_split_reads_the_list_files_name():
    """The split a list file's name says, by hand: words are runs of
    letters, its folders are not read, a name of both splits or none says
    nothing."""
    from openselfsup.apis.extract import list_split
    from openselfsup.lowshot.spec import feature_set_split
    cases = {'data/NCT/meta/train_labeled.txt': 'train',
             'data/NCT/meta/test_labeled.txt': 'test',
             'meta/paip_train_labeled.txt': 'train',
             'meta/paip_test_labeled.txt': 'test',
             'meta/wo_7_train_labeled.txt': 'train',
             'CRC-VAL-HE-7K.txt': 'test', 'NCT_Test2.txt': 'test',
             '/tmp/pytest-0/test_x0/train.txt': 'train',
             'meta/img_list_labeled.txt': None, 'trainval.txt': None,
             'train_test.txt': None, 'latest.txt': None}
    for path, split in cases.items():
        assert list_split(path) == split, path
    assert {n: feature_set_split(n) for n in paths.FEATURE_NAMES} == {
        'NCT_train': 'train', 'NCT_test': 'test', 'LC': None,
        'PAIP_train': 'train', 'PAIP_test': 'test', 'NCT_aug': 'train'}
    assert feature_set_split('mine') is None


@pytest.mark.parametrize('name,other', [
    ('NCT_train', 'NCT_test'), ('NCT_test', 'NCT_train'),
    ('PAIP_train', 'PAIP_test'), ('PAIP_test', 'PAIP_train')])
def test_features_of_the_other_split_under_a_set_name_are_refused(
        synthetic_root, tmp_path, capsys, name, other):
    """The NCT test list written as ``NCT_train.npy`` (``--config
    configs/extraction/nct_test.py``, the output of the train set) was
    accepted in a workdir without NCT_train labels yet: the classes are
    the same, so every dictionary and support pool was then drawn from
    the query images (and the reverse, and PAIP19's). Refused by import
    and by extraction, nothing written; the right pairings work."""
    w = str(tmp_path / 'w')
    # the workdir holds the other set already; this set has no labels yet
    cli_ok(IMPORT, _import_args(synthetic_root, tmp_path, other,
                                paths.features_path(w, 'clp', other)), capsys)
    assert not os.path.exists(paths.labels_path(w, name))
    out = paths.features_path(w, 'clp', name)
    cfg, domain, listed = _SETS[other]
    want, got = name.split('_')[1], other.split('_')[1]
    expected = (
        f'{out}: {name} holds the {want} split, but '
        f'{os.path.join(ROOT, "configs", "extraction", cfg)} reads '
        f'{os.path.join(synthetic_root, domain, "meta", listed)}, a {got} '
        f'list; extract {name} with configs/extraction/{name.lower()}.py, '
        f'or write these as {other}.npy')
    err = cli_fails(IMPORT, _import_args(synthetic_root, tmp_path, name, out,
                                         config=other), capsys, w, expected)
    assert err == 'error: ' + expected
    extract = script_main('wsi_workdir/extract.py')
    root = os.path.join(synthetic_root, domain)
    cli_fails(extract, [
        '--config', os.path.join(ROOT, 'configs', 'extraction', cfg),
        '--random-init', '--output', out, '--workers', '0', '--no-progress',
        '--cfg-options', f'dataset.data_root={root}'], capsys, w, expected)
    assert not os.path.exists(out) and \
        not os.path.exists(paths.labels_path(w, name))
    cli_ok(IMPORT, _import_args(synthetic_root, tmp_path, name, out), capsys)


def test_the_split_check_walks_a_list_once_per_call(synthetic_root, tmp_path,
                                                   monkeypatch):
    """The split check walked a list's images (``entries_split``) again
    for every output it was written as (NCT train for several models in
    one call). Counted: once per list within one call, again in the next
    call (nothing kept between calls), and again for other entries of
    the same file (a config's ``indices``); the answers are a lone
    call's, the refusal of the test list as ``NCT_train`` included."""
    from openselfsup.apis import extract as ex
    from openselfsup.datasets import prepare
    walked = []
    real = prepare.entries_split

    def counting(classes, entries, *args, **kwargs):
        walked.append(list(entries))
        return real(classes, entries, *args, **kwargs)
    monkeypatch.setattr(prepare, 'entries_split', counting)
    folder = os.path.join(ROOT, 'configs', 'extraction')
    opts = {'dataset.data_root': os.path.join(synthetic_root, 'NCT')}
    w = str(tmp_path / 'w')
    train = os.path.join(folder, 'nct_train.py')
    outs = [paths.features_path(w, m, 'NCT_train')
            for m in ('clp', 'fsp', 'sup')]
    ex.open_lists([train] * 3, outs, cfg_options=opts, need_model=False)
    assert len(walked) == 1
    ex.open_lists([train], outs[:1], cfg_options=opts, need_model=False)
    assert len(walked) == 2
    # the test list as NCT_test, then as NCT_train: refused as alone
    test = os.path.join(folder, 'nct_test.py')
    wrong = paths.features_path(w, 'fsp', 'NCT_train')
    with pytest.raises(InputError) as alone:
        ex.open_lists([test], [wrong], cfg_options=opts, need_model=False)
    walked.clear()
    with pytest.raises(InputError) as second:
        ex.open_lists([test] * 2, [paths.features_path(w, 'clp', 'NCT_test'),
                                   wrong], cfg_options=opts,
                      need_model=False)
    assert str(second.value) == str(alone.value)
    assert 'a test list' in str(alone.value)
    assert len(walked) == 1
    # one list file, other entries: walked again, and its own answer
    # (the 7K test folder, then the 100K that says nothing)
    splits, walked[:] = {}, []
    out = ex.output_paths(paths.features_path(w, 'clp', 'NCT_train'))
    meta = dict(list_file=str(tmp_path / 'img_list.txt'),
                data_prefix='data/NCT/data',
                paths=['CRC-VAL-HE-7K/ADI/a.tif', 'CRC-VAL-HE-7K/TUM/b.tif'])
    for _ in range(2):
        with pytest.raises(InputError, match='whose images are the test '
                           'split'):
            ex._check_set_split(out, meta, 'mine.py', splits)
    assert len(walked) == 2  # the folder's rule, then the images' alone
    ex._check_set_split(out, dict(meta, paths=[
        'NCT-CRC-HE-100K/ADI/a.tif']), 'mine.py', splits)
    assert len(walked) == 3


def test_entries_split_reads_the_real_layouts(synthetic_root):
    """The split a list's images say, by hand: NCT's official folders (in
    the path or the data folder above it), the published lists' images
    exactly (a subset, a mixture or the two rules disagreeing say
    nothing), PAIP19's published slide sets; LC25000 and the synthetic
    generator's own lists say nothing."""
    from openselfsup.classes import LC_CLASSES, NCT_CLASSES, PAIP_CLASSES
    from openselfsup.datasets.prepare import entries_split
    from openselfsup.datasets.splits import read_published
    nct = {s: [p for p, _ in read_published(f'nct_{s}')]
           for s in ('train', 'test')}
    nonorm = 'NCT-CRC-HE-100K-NONORM'
    cases = [
        (['CRC-VAL-HE-7K/ADI/ADI-TCGA-AAICEQFN.tif',
          'CRC-VAL-HE-7K/TUM/TUM-TCGA-ZZZZ.tif'], 'data/NCT/data',
         ('test', 'every image under CRC-VAL-HE-7K/')),
        (['ADI/ADI-TCGA-AAICEQFN.tif'], 'data/NCT/data/CRC-VAL-HE-7K',
         ('test', 'every image under CRC-VAL-HE-7K/')),
        # the 100K folder: the official train set, or the pool of a user's
        # own split of the stain-normalised images: nothing
        (['NCT-CRC-HE-100K/ADI/ADI-AAAFLCLY.tif'], 'data/NCT/data', None),
        (['ADI/ADI-AAAFLCLY.tif'], 'data/NCT/data/NCT-CRC-HE-100K', None),
        (['NCT-CRC-HE-100K/ADI/a.tif', 'CRC-VAL-HE-7K/ADI/b.tif'],
         'data/NCT/data', None),
        ([f'{nonorm}/ADI/ADI-AAAFLCLY.tif'], 'data/NCT/data', None),
        (nct['test'], 'data/NCT/data',
         ('test', 'the images of the published NCT test list')),
        ([f'{nonorm}/{p}' for p in nct['train']], 'data/NCT/data',
         ('train', 'the images of the published NCT train list')),
        (nct['test'][:-1], 'data/NCT/data', None),  # a subset
        (nct['test'] + nct['train'][:1], 'data/NCT/data', None),
        # the 100K folder, the published test images: the published test
        # split of the stain-normalised images
        ([f'NCT-CRC-HE-100K/{p}' for p in nct['test']], 'data',
         ('test', 'the images of the published NCT test list')),
        # the 7K folder and the published train images disagree: nothing
        ([f'CRC-VAL-HE-7K/{p}' for p in nct['train']], 'data', None),
        # paths leading out of the data folder (``..``, absolute) are
        # judged by the folders they name, not the data folder's (the 7K
        # folder's release was given to images elsewhere)
        (['../../mnt/nct/ADI/ADI-AAAFLCLY.tif'],
         'data/NCT/data/CRC-VAL-HE-7K', None),
        (['/mnt/nct/ADI/ADI-AAAFLCLY.tif'], 'data/NCT/data/CRC-VAL-HE-7K',
         None),
        (['../CRC-VAL-HE-7K/ADI/ADI-TCGA-AAICEQFN.tif'], 'data/NCT/data/x',
         ('test', 'every image under CRC-VAL-HE-7K/')),
        (['/mnt/CRC-VAL-HE-7K/ADI/ADI-TCGA-AAICEQFN.tif'], 'data/NCT/data',
         ('test', 'every image under CRC-VAL-HE-7K/')),
        # with folders=False (the list's name says a split) below
    ]
    for paths_, prefix, expected in cases:
        assert entries_split(NCT_CLASSES, paths_, prefix) == expected, \
            paths_[:2]
    # a list whose name says its split: the folder says nothing, the
    # published lists still do
    assert entries_split(NCT_CLASSES, cases[0][0], cases[0][1],
                         folders=False) is None
    assert entries_split(NCT_CLASSES, [f'CRC-VAL-HE-7K/{p}' for p in
                                       nct['test']], 'd', folders=False) \
        == ('test', 'the images of the published NCT test list')
    paip = {s: [p for p, _ in read_published(f'paip_{s}')]
            for s in ('train', 'test')}
    one_each = sorted({p.split('/')[0] + '/2/0+0+2.png'
                       for p in paip['train']})
    assert len(one_each) == 15
    assert entries_split(PAIP_CLASSES, one_each, 'data/PAIP19/data') == (
        'train', 'the slides of the published PAIP19 train list')
    assert entries_split(PAIP_CLASSES, paip['test'], 'd') == (
        'test', 'the slides of the published PAIP19 test list')
    assert entries_split(PAIP_CLASSES, one_each[1:], 'd') is None
    assert entries_split(LC_CLASSES, paip['test'], 'd') is None
    # the generator's own lists: no signal, their names decide
    for domain, listed, classes in (
            ('NCT', 'train_labeled.txt', NCT_CLASSES),
            ('NCT', 'test_labeled.txt', NCT_CLASSES),
            ('PAIP19', 'paip_test_labeled.txt', PAIP_CLASSES)):
        with open(os.path.join(synthetic_root, domain, 'meta', listed)) as f:
            rels = [line.split()[0] for line in f if line.strip()]
        assert entries_split(classes, rels, os.path.join(
            synthetic_root, domain, 'data')) is None, listed


def test_the_split_reads_the_release_as_the_list_is_read(
        synthetic_root, tmp_path, monkeypatch):
    """The 7K folder says the test split where the list is read as 7K's
    images: the folder above an image's class folder names its release
    (``written_release``, ImageList's rule); a release name further up
    says nothing. A NONORM copy kept in ``CRC-VAL-HE-7K/nonorm/`` (read
    as NONORM's images) was refused as ``NCT_train`` ('whose images are
    the test split (every image under CRC-VAL-HE-7K/)'); the same images
    in ``CRC-VAL-HE-7K/<CLS>/`` still are. A relative data folder is read
    from the current folder, as ImageList opens the images."""
    from openselfsup.apis import extract as ex
    from openselfsup.classes import NCT_CLASSES
    from openselfsup.datasets.prepare import entries_split
    test = ('test', 'every image under CRC-VAL-HE-7K/')
    for paths_, prefix, expected in (
            (['ADI/a.tif'], 'd/CRC-VAL-HE-7K/nonorm', None),
            (['CRC-VAL-HE-7K/nonorm/ADI/a.tif'], 'd', None),
            (['nonorm/ADI/a.tif'], '/d/CRC-VAL-HE-7K', None),
            (['ADI/a.tif'], 'd/CRC-VAL-HE-7K/nonorm/..', test),
            (['x/../ADI/a.tif'], 'd/CRC-VAL-HE-7K', test),
            (['a.tif'], 'd/CRC-VAL-HE-7K/ADI', test)):
        assert entries_split(NCT_CLASSES, paths_, prefix) == expected, \
            (paths_, prefix)
    seven = tmp_path / 'CRC-VAL-HE-7K'
    seven.mkdir()
    monkeypatch.chdir(seven)
    assert entries_split(NCT_CLASSES, ['ADI/a.tif'], '') == test
    assert entries_split(NCT_CLASSES, ['ADI/a.tif'], 'nonorm') is None
    # a user's list (named without a split) of NONORM images, by command
    src = os.path.join(synthetic_root, 'NCT')
    with open(os.path.join(src, 'meta', 'train_labeled.txt')) as f:
        rels = [line.split()[0] for line in f if line.strip()][:3]
    for folder in ('nonorm', ''):
        for rel in rels:
            dst = seven / folder / '/'.join(rel.split('/')[-2:])
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(os.path.join(src, 'data', rel), dst)
    listed = tmp_path / 'my_list.txt'
    listed.write_text(''.join(
        f'{"/".join(r.split("/")[-2:])} {NCT_CLASSES.index(r.split("/")[-2])}'
        '\n' for r in rels))
    out = paths.features_path(str(tmp_path / 'w'), 'clp', 'NCT_train')
    config = os.path.join(ROOT, 'configs', 'extraction', 'nct_train.py')

    def opened(prefix):
        ex.open_lists([config], [out], need_model=False, cfg_options={
            'dataset.data_root': '', 'dataset.ann_file': str(listed),
            'dataset.data_prefix': str(seven / prefix)})
    opened('nonorm')
    with pytest.raises(InputError, match=r'whose images are the test split '
                       r'\(every image under CRC-VAL-HE-7K/\)'):
        opened('')


def _official_nct(synthetic_root, root):
    """The synthetic NCT images in the official layout (its train images
    under NCT-CRC-HE-100K/, its test images under CRC-VAL-HE-7K/), lists
    written by ``prepare_nct.py --split official``; returns the NCT
    folder."""
    from openselfsup.datasets.prepare import OFFICIAL, prepare_nct
    src = os.path.join(synthetic_root, 'NCT')
    nct = os.path.join(root, 'NCT')
    for folder, listed in zip(OFFICIAL, ('train_labeled.txt',
                                         'test_labeled.txt')):
        with open(os.path.join(src, 'meta', listed)) as f:
            for line in f:
                rel = line.split()[0]
                dst = os.path.join(nct, 'data', folder,
                                   *rel.split('/')[-2:])
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copy(os.path.join(src, 'data', rel), dst)
    prepare_nct(nct, 'official')
    return nct


def test_lists_whose_images_say_the_other_split_are_refused(
        synthetic_root, tmp_path, capsys):
    """A list named without a split word (``my_list.txt``, a copy of the
    official test list) was not checked: written as ``NCT_train.npy``, the
    test images became the support pool. Its images say the split (every
    one under CRC-VAL-HE-7K/): refused; the same list as ``NCT_test.npy``
    is extracted. A name that says a split decides over the folder: a
    user's own split of the 7K set (``my_train.txt``) is extracted as
    ``NCT_train``."""
    root = str(tmp_path / 'official')
    nct = _official_nct(synthetic_root, root)
    meta = os.path.join(nct, 'meta')
    for name in ('my_list.txt', 'my_train.txt'):
        shutil.copy(os.path.join(meta, 'test_labeled.txt'),
                    os.path.join(meta, name))
    extract = script_main('wsi_workdir/extract.py')
    w = str(tmp_path / 'w')
    train = paths.features_path(w, 'clp', 'NCT_train')
    cfg = os.path.join(ROOT, 'configs', 'extraction', 'nct_train.py')
    lst = os.path.join(meta, 'my_list.txt')
    line = (f'{train}: NCT_train holds the train split, but {cfg} reads '
            f'{lst}, whose images are the test split (every image under '
            'CRC-VAL-HE-7K/); extract NCT_train with '
            'configs/extraction/nct_train.py, or write these as '
            'NCT_test.npy (a split of your own: name the list with its '
            'split, train)')
    err = cli_fails(extract, _extract_args(
        root, 'nct_train.py', train,
        '--cfg-options', 'dataset.ann_file=meta/my_list.txt'),
        capsys, str(tmp_path), line)
    assert err == f'error: {line}'
    assert not os.path.exists(train)
    test = paths.features_path(w, 'clp', 'NCT_test')
    cli_ok(extract, _extract_args(root, 'nct_test.py', test, '--cfg-options',
                                  'dataset.ann_file=meta/my_list.txt'),
           capsys)
    # the name decides over the folder: a user's own split of the 7K set
    own = str(tmp_path / 'own')
    cli_ok(extract, _extract_args(
        root, 'nct_train.py', paths.features_path(own, 'clp', 'NCT_train'),
        '--cfg-options', 'dataset.ann_file=meta/my_train.txt'), capsys)
    assert np.load(paths.labels_path(own, 'NCT_train')).tolist() == \
        np.load(paths.labels_path(w, 'NCT_test')).tolist()
    # the official train list as NCT_train, under a name without a split
    shutil.copy(os.path.join(meta, 'train_labeled.txt'),
                os.path.join(meta, 'img_list_labeled.txt'))
    cli_ok(extract, _extract_args(
        root, 'nct_train.py', train, '--cfg-options',
        'dataset.ann_file=meta/img_list_labeled.txt'), capsys)


@pytest.mark.parametrize('domain,name,published', [
    ('NCT', 'NCT_train', 'nct_test'), ('PAIP19', 'PAIP_test', 'paip_train')])
def test_lists_of_the_published_other_split_are_refused(
        tmp_path, capsys, domain, name, published):
    """The published NCT test list, or PAIP19's training slides, under a
    name without a split word (``mine_labeled.txt``), imported as the
    other split: refused by their images (no image read: import checks
    the list alone); as their own split, written."""
    from openselfsup.datasets.splits import read_published
    entries = read_published(published)
    if domain == 'PAIP19':  # one patch of each slide says the slides
        entries = sorted({(p.split('/')[0] + '/0/0+0+0.png', 0)
                          for p, _ in entries})
    data_root = tmp_path / domain
    (data_root / 'meta').mkdir(parents=True)
    lst = data_root / 'meta' / 'mine_labeled.txt'
    lst.write_text(''.join(f'{p} {c}\n' for p, c in entries))
    rows = tmp_path / 'rows.txt'
    rows.write_text(''.join(f'{p}\n' for p, _ in entries))
    src = str(tmp_path / 'feats.npy')
    np.save(src, np.random.default_rng(0).normal(
        size=(len(entries), 4)).astype(np.float32) + 2)
    split = published.split('_')[1]
    own = f'{name.split("_")[0]}_{split}'
    w = str(tmp_path / 'w')

    def args(set_name):
        cfg = os.path.join(ROOT, 'configs', 'extraction',
                           f"{set_name.lower()}.py")
        return ['--config', cfg, '--source', src, '--paths', str(rows),
                '--output', paths.features_path(w, 'clp', set_name),
                '--cfg-options', f'dataset.data_root={data_root}',
                'dataset.ann_file=meta/mine_labeled.txt']
    what = 'images of the published NCT' if domain == 'NCT' else \
        'slides of the published PAIP19'
    out = paths.features_path(w, 'clp', name)
    cli_fails(IMPORT, args(name), capsys, str(tmp_path),
              f'{out}: {name} holds the {name.split("_")[1]} split, but '
              f'{args(name)[1]} reads {lst}, whose images are the {split} '
              f'split (the {what} {split} list); extract {name} with '
              f'configs/extraction/{name.lower()}.py, or write these as '
              f'{own}.npy')
    cli_ok(IMPORT, args(own), capsys)
    # under a name that says the other split, the published list still
    # decides: a name and images that disagree
    shutil.copy(lst, data_root / 'meta' / f'{name.split("_")[1]}_mine.txt')
    named = args(name)
    named[-1] = f'dataset.ann_file=meta/{name.split("_")[1]}_mine.txt'
    cli_fails(IMPORT, named, capsys, str(tmp_path),
              f'but whose images are the {split} split (the {what} {split} '
              'list)')


def _extract_args(root, config, output, *extra):
    """extract.py flags of a narrow random encoder on 32-px NCT images."""
    return ['--config', os.path.join(ROOT, 'configs', 'extraction', config),
            '--random-init', '--output', output, '--workers', '0',
            '--no-progress', '--data-root', os.path.join(root, 'NCT'),
            *extra, '--cfg-options', 'model.backbone.base_channels=8',
            'model.backbone.stem_channels=8', 'dataset.pipeline.1.scale=32']


def test_one_pass_of_the_random_pipeline_is_refused(synthetic_root, tmp_path,
                                                    capsys):
    """``configs/extraction/nct_aug.py`` without ``--aug_times``, written
    as ``NCT_train.npy``: one unseeded augmented pass was saved as the
    deterministic train features (the train list, so no other check
    noticed), and another pass on every run; as ``NCT_aug.npy`` or a file
    of its own, one unseeded copy. Refused before any encoder is built,
    nothing written; the right commands work."""
    extract = script_main('wsi_workdir/extract.py')
    w = str(tmp_path / 'w')
    cli_ok(extract, _extract_args(synthetic_root, 'nct_test.py',
                                  paths.features_path(w, 'clp', 'NCT_test')),
           capsys)
    cfg = os.path.join(ROOT, 'configs', 'extraction', 'nct_aug.py')
    random = f'{cfg} passes the images through a random pipeline ' \
        '(dataset.pipeline.1: RandomResizedCrop), which with --aug_times 0 ' \
        '(the default) is one unseeded augmented pass; '
    train = paths.features_path(w, 'clp', 'NCT_train')
    aug = paths.features_path(w, 'clp', 'NCT_aug')
    own = str(tmp_path / 'mine' / 'nct_aug_once.npy')
    for out, fix in (
            (train, 'extract NCT_train with configs/extraction/nct_train.py, '
             f'or augmented copies with --aug_times N as {aug}'),
            (own, 'give --aug_times N for N seeded augmented copies')):
        # --aug_times 0 given: the line said "without --aug_times"
        for zero in ((), ('--aug_times', '0')):
            err = cli_fails(extract, _extract_args(
                synthetic_root, 'nct_aug.py', out, *zero), capsys,
                str(tmp_path), f'{out}: {random}{fix}')
            assert err == f'error: {out}: {random}{fix}'
    # NCT_aug without --aug_times, of either pipeline (the deterministic
    # one's pass was taken for one augmented copy: the support features
    # themselves), before anything is read
    # (r85: the way out named --pretrained CKPT, not the user's encoder and
    # options: it is this command with --aug_times, run below)
    copies = f"{aug}: NCT_aug holds the augmentation ablation's augmented " \
        'copies of NCT_train; extract.py with --aug_times 0 (the default) ' \
        'writes one pass over the list, not copies: add --aug_times N to ' \
        'this command (N seeded copies; its --config a random pipeline, ' \
        'configs/extraction/nct_aug.py)'
    for config, zero in (('nct_aug.py', ()),
                         ('nct_train.py', ('--aug_times', '0'))):
        err = cli_fails(extract, _extract_args(synthetic_root, config, aug,
                                               *zero),
                        capsys, str(tmp_path), copies)
        assert err == f'error: {copies}'
        assert not os.path.exists(aug)
    assert not os.path.exists(os.path.dirname(own))
    # and the reverse: copies of a deterministic pipeline were identical,
    # taken for augmented ones by the ablation
    det = os.path.join(ROOT, 'configs', 'extraction', 'nct_train.py')
    line = (f'{aug}: --aug_times 2 with {det}, whose pipeline has no random '
            "transform (one named Random..., marking its methods with "
            "mmcv's @cache_randomness, or one of HiDiscAugment, Lighting, "
            'ColorJitter, GaussianBlur, AutoAugment, RandAugment, '
            'TrivialAugmentWide, AugMix, ElasticTransform; not where its '
            'settings fix the outcome: probability 0, or 1 for an op that '
            'then draws nothing (its magnitude set, its sign fixed by '
            'random_negative_prob 0 or 1), a RandomChoice or AutoAugment '
            'that takes one candidate every time): the copies would be '
            'identical; use a random pipeline, e.g. '
            'configs/extraction/nct_aug.py')
    err = cli_fails(extract, _extract_args(synthetic_root, 'nct_train.py',
                                           aug, '--aug_times', '2'),
                    capsys, str(tmp_path), line)
    assert err == f'error: {line}'
    assert not os.path.exists(aug)
    # the documented commands: deterministic train features, seeded copies
    cli_ok(extract, _extract_args(synthetic_root, 'nct_train.py', train),
           capsys)
    cli_ok(extract, _extract_args(synthetic_root, 'nct_aug.py', aug,
                                  '--aug_times', '2'), capsys)
    assert np.load(aug).shape[0] == 2 * np.load(train).shape[0]


def test_random_transforms_are_found_in_any_pipeline():
    """Which transform of a config's pipeline draws random numbers, by
    hand: the shipped extraction configs (nct_aug alone is random), and
    pipelines with a nested, an inherited and an undeclared random
    transform, against deterministic ones."""
    from openselfsup.apis.extract import pipeline_randomness
    from openselfsup.config import load_config
    folder = os.path.join(ROOT, 'configs', 'extraction')
    found = {f: pipeline_randomness(load_config(os.path.join(folder, f)))[0]
             for f in sorted(os.listdir(folder)) if f.endswith('.py')}
    assert found == {'lc.py': None, 'nct_aug.py': ('dataset.pipeline.1',
                                                   'RandomResizedCrop'),
                     'nct_test.py': None, 'nct_train.py': None,
                     'paip_test.py': None, 'paip_train.py': None}
    load = dict(type='LoadImageFromFile')
    pack = dict(type='PackInputs')
    cases = [
        ([dict(type='Resize', scale=32), dict(type='CenterCrop',
                                              crop_size=28)], None),
        ([dict(type='ResizeEdge', scale=32)], None),
        ([dict(type='Resize', scale=32),  # inside a wrapper
          dict(type='RandomApply', prob=0.8, transforms=[
              dict(type='HueWrapColorJitter', brightness=0.4)])],
         ('dataset.pipeline.2', 'RandomApply')),
        ([dict(type='Resize', scale=32),  # a wrapper always applied
          dict(type='RandomApply', prob=1.0, transforms=[
              dict(type='HueWrapColorJitter', brightness=0.4)])],
         ('dataset.pipeline.2.transforms.0', 'HueWrapColorJitter')),
        ([dict(type='Resize', scale=32), dict(  # a subclass of ColorJitter
            type='HueWrapColorJitter', brightness=0.4)],
         ('dataset.pipeline.2', 'HueWrapColorJitter')),
        ([dict(type='HiDiscAugment', crop_size=32)],
         ('dataset.pipeline.1', 'HiDiscAugment')),
        # mmpretrain's wrappers of torchvision's transforms (a partial of
        # its wrapper class): random by the torchvision op they wrap
        ([dict(type='torchvision/Resize', size=32)], None),
        ([dict(type='torchvision/Resize', size=32),
          dict(type='torchvision/ColorJitter', brightness=0.4)],
         ('dataset.pipeline.2', 'torchvision/ColorJitter')),
        ([dict(type='torchvision/GaussianBlur', kernel_size=3)],
         ('dataset.pipeline.1', 'torchvision/GaussianBlur')),
    ]
    from mmengine.registry import init_default_scope

    from openselfsup.registry import TRANSFORMS
    init_default_scope('openselfsup')
    for steps, expected in cases:
        cfg = load_config(os.path.join(folder, 'nct_train.py'))
        cfg.dataset.pipeline = [load, *steps, pack]
        assert pipeline_randomness(cfg)[0] == expected, steps
        if expected and expected[1].startswith('torchvision/'):
            # the reference: the built op draws (two calls, two results)
            import torch
            op = TRANSFORMS.build(steps[-1]).t
            img = torch.rand(3, 16, 16)
            torch.manual_seed(0)
            assert not torch.equal(op(img), op(img)), steps


def _run_seeded(steps, seed):
    """The image a pipeline of ``steps`` makes of one fixed 16 x 16 colour
    image, with every random generator seeded with ``seed``."""
    import random

    import torch
    from mmcv.transforms import Compose
    from mmengine.registry import init_default_scope
    init_default_scope('openselfsup')
    from openselfsup.datasets import registered  # noqa: F401
    img = np.random.default_rng(7).integers(0, 256, (16, 16, 3),
                                            dtype=np.uint8)
    np.random.seed(seed)
    random.seed(seed)
    torch.manual_seed(seed)
    out = Compose([dict(s) for s in steps])(
        dict(img=img.copy(), img_shape=(16, 16), ori_shape=(16, 16)))
    return np.asarray(out['img']), img


#: transforms whose settings fix their outcome or not: 'never' (not
#: applied), 'fixed' (applied, nothing drawn), 'random'
_SETTINGS_CASES = [
    ([dict(type='RandomFlip', prob=0.)], 'never'),
    ([dict(type='RandomFlip', prob=1.)], 'fixed'),
    ([dict(type='RandomFlip', prob=1., direction='vertical')], 'fixed'),
    ([dict(type='RandomFlip', prob=[0., 1.],
           direction=['horizontal', 'vertical'])], 'fixed'),
    ([dict(type='RandomFlip', prob=[0., 0.],
           direction=['horizontal', 'vertical'])], 'never'),
    ([dict(type='RandomFlip', prob=1.,
           direction=['horizontal', 'vertical'])], 'random'),
    ([dict(type='RandomFlip', prob=0.5)], 'random'),
    ([dict(type='PillowGrayscale', prob=1.)], 'fixed'),
    ([dict(type='PillowGrayscale', prob=0.)], 'never'),
    ([dict(type='PillowGrayscale', prob=0.5)], 'random'),
    ([dict(type='RandomGrayscale', prob=1.)], 'fixed'),
    ([dict(type='Equalize', prob=1.)], 'fixed'),
    ([dict(type='Equalize')], 'random'),  # prob 0.5 by default
    ([dict(type='Solarize', thr=100, prob=1.)], 'fixed'),
    ([dict(type='Cutout', shape=4, prob=1.)], 'random'),  # its position
    ([dict(type='Cutout', shape=4, prob=0.)], 'never'),
    ([dict(type='RandomApply', prob=1., transforms=[
        dict(type='PillowGrayscale', prob=1.)])], 'fixed'),
    ([dict(type='RandomApply', prob=0., transforms=[
        dict(type='HueWrapColorJitter', brightness=0.4)])], 'never'),
    ([dict(type='RandomApply', prob=1., transforms=[
        dict(type='HueWrapColorJitter', brightness=0.4)])], 'random'),
    ([dict(type='RandomApply', prob=0.5, transforms=[
        dict(type='PillowGrayscale', prob=1.)])], 'random'),
    ([dict(type='NumpyToPIL'),
      dict(type='torchvision/RandomHorizontalFlip', p=1.),
      dict(type='PILToNumpy')], 'fixed'),
    ([dict(type='NumpyToPIL'),
      dict(type='torchvision/RandomHorizontalFlip', p=0.5),
      dict(type='PILToNumpy')], 'random'),
    # mmcv's RandomChoice: one candidate (a list of transforms or one
    # transform, prob uniform or [1.]) is that candidate every time
    ([dict(type='RandomChoice', transforms=[[
        dict(type='PillowGrayscale', prob=1.),
        dict(type='Equalize', prob=1.)]])], 'fixed'),
    ([dict(type='RandomChoice', prob=[1.], transforms=[
        dict(type='PillowGrayscale', prob=1.)])], 'fixed'),
    ([dict(type='RandomChoice', transforms=[[dict(  # nested
        type='RandomChoice', transforms=[dict(type='Equalize',
                                              prob=1.)])]])], 'fixed'),
    ([dict(type='RandomChoice', transforms=[  # two candidates
        [dict(type='PillowGrayscale', prob=1.)],
        [dict(type='Equalize', prob=1.)]])], 'random'),
    ([dict(type='RandomChoice', transforms=[[  # one random candidate
        dict(type='RandomFlip', prob=0.5)]])], 'random'),
    ([dict(type='RandomChoice', transforms=[[dict(
        type='RandomChoice', transforms=[
            dict(type='PillowGrayscale', prob=1.),
            dict(type='Equalize', prob=1.)])]])], 'random'),
    # several candidates, one alone of probability above 0: that one
    # every time (np.random.choice never takes a 0), the others not read
    ([dict(type='RandomChoice', prob=[0., 1., 0.], transforms=[
        [dict(type='RandomFlip', prob=0.5)],
        [dict(type='PillowGrayscale', prob=1.)],
        dict(type='RandomFlip', prob=0.5)])], 'fixed'),
    ([dict(type='RandomChoice', prob=[1., 0.], transforms=[
        dict(type='RandomChoice', prob=[0., 1.], transforms=[
            dict(type='RandomFlip', prob=0.5),
            dict(type='Equalize', prob=1.)]),
        dict(type='RandomFlip', prob=0.5)])], 'fixed'),
    ([dict(type='RandomChoice', prob=[0., 1.], transforms=[  # taken: random
        [dict(type='PillowGrayscale', prob=1.)],
        [dict(type='RandomFlip', prob=0.5)]])], 'random'),
    ([dict(type='RandomChoice', prob=[0.5, 0.5, 0.], transforms=[
        [dict(type='PillowGrayscale', prob=1.)],
        [dict(type='Equalize', prob=1.)],
        [dict(type='RandomFlip', prob=0.5)]])], 'random'),
    # mmpretrain's AutoAugment, a RandomChoice of its policies: one policy
    # is that policy every time, its ops read on their own
    ([dict(type='AutoAugment', policies=[[
        dict(type='Rotate', angle=30., prob=1., random_negative_prob=0.),
        dict(type='Equalize', prob=1.)]])], 'fixed'),
    ([dict(type='AutoAugment', policies=[[
        dict(type='Rotate', angle=30., prob=1.)]])], 'random'),  # the sign
    ([dict(type='AutoAugment', policies=[
        [dict(type='Equalize', prob=1.)],
        [dict(type='Invert', prob=1.)]])], 'random'),
    ([dict(type='AutoAugment', policies='imagenet')], 'random'),
    # its hparams do not reach the ops it builds (mmpretrain 1.2): prob=1.
    # there leaves Equalize at its own 0.5
    ([dict(type='AutoAugment', policies=[[dict(type='Equalize')]],
           hparams=dict(prob=1.))], 'random'),
    # mmpretrain's auto-augment ops with a sign: fixed by
    # random_negative_prob 0 or 1, a set or noiseless magnitude, prob 1
    ([dict(type='Rotate', angle=30., prob=1., random_negative_prob=0.)],
     'fixed'),
    ([dict(type='Rotate', angle=30., prob=1., random_negative_prob=1.)],
     'fixed'),
    ([dict(type='Rotate', angle=30., prob=1.)], 'random'),  # sign: 0.5
    ([dict(type='Rotate', angle=30., prob=0.5, random_negative_prob=0.)],
     'random'),
    ([dict(type='Rotate', angle=30., prob=0., random_negative_prob=0.5)],
     'never'),
    ([dict(type='Rotate', magnitude_range=(0, 30), magnitude_level=6,
           prob=1., random_negative_prob=1.)], 'fixed'),
    ([dict(type='Rotate', magnitude_range=(0, 30), magnitude_level=6,
           magnitude_std=1., prob=1., random_negative_prob=1.)], 'random'),
    ([dict(type='Shear', magnitude=0.3, prob=1., random_negative_prob=0.)],
     'fixed'),
    ([dict(type='Shear', magnitude=0.3, prob=1., random_negative_prob=0.3)],
     'random'),
    ([dict(type='Translate', magnitude=0.25, prob=1.,
           random_negative_prob=1.)], 'fixed'),
    ([dict(type='Translate', magnitude=0.25, prob=1.)], 'random'),
    ([dict(type='Brightness', magnitude=0.5, prob=1.,
           random_negative_prob=0.)], 'fixed'),
    # Solarize from magnitude_range: its threshold is fixed unless
    # magnitude_std draws it
    ([dict(type='Solarize', magnitude_range=(0, 256), magnitude_level=5,
           prob=1.)], 'fixed'),
    ([dict(type='Solarize', magnitude_range=(0, 256), magnitude_level=5,
           magnitude_std=1., prob=1.)], 'random'),
    ([dict(type='Solarize', magnitude_range=(0, 256), magnitude_level=5,
           magnitude_std='inf', prob=1.)], 'random'),
]


@pytest.mark.parametrize('steps,outcome', _SETTINGS_CASES)
def test_settings_that_fix_a_transforms_outcome_make_it_deterministic(
        steps, outcome):
    """``RandomFlip(prob=0.)``, ``PillowGrayscale(prob=1.)``,
    ``Equalize(prob=1.)``... were random by their class alone, so a config
    of them was refused without ``--aug_times``, with no way round. By
    hand for each case, and against the reference: the pipeline run with
    eight seeds gives one image where it is called deterministic (the
    input where never applied, another where applied), several where
    random."""
    from openselfsup.apis.extract import pipeline_randomness
    from openselfsup.config import load_config
    cfg = load_config(os.path.join(ROOT, 'configs', 'extraction',
                                   'nct_train.py'))
    cfg.dataset.pipeline = [dict(type='LoadImageFromFile'), *steps,
                            dict(type='PackInputs')]
    found = pipeline_randomness(cfg)[0]
    assert (found is None) == (outcome != 'random'), (steps, found)
    runs = [_run_seeded(steps, seed) for seed in range(8)]
    images = {out.tobytes() for out, _ in runs}
    if outcome == 'random':
        assert len(images) > 1, steps
    else:
        assert len(images) == 1, steps
        assert np.array_equal(*runs[0]) == (outcome == 'never'), steps


def test_hidisc_augment_with_p0_stays_random(monkeypatch):
    """``HiDiscAugment(p=0.)`` is not fixed, so it stays random for
    ``--aug_times``: its ops wrapped in torchvision's ``RandomApply``
    apply when ``p`` is not below a float32 draw, so at ``p=0`` when the
    draw is exactly 0 (odds of 2**-24 per op and image: a few images of
    an NCT-sized pass). The reference: a draw of 0 applies the noise."""
    import torch

    from openselfsup.apis.extract import pipeline_randomness
    from openselfsup.config import load_config
    from openselfsup.datasets.hidisc_transforms import HiDiscAugment
    cfg = load_config(os.path.join(ROOT, 'configs', 'extraction',
                                   'nct_train.py'))
    cfg.dataset.pipeline = [dict(type='LoadImageFromFile'),
                            dict(type='HiDiscAugment', crop_size=16, p=0.),
                            dict(type='PackInputs')]
    assert pipeline_randomness(cfg) == (
        ('dataset.pipeline.1', 'HiDiscAugment'), [])
    aug = HiDiscAugment(crop_size=16, p=0.,
                        ops=[dict(which='gaussian_noise')])
    img = torch.full((3, 16, 16), 0.5)
    torch.manual_seed(0)
    assert torch.equal(aug.transform(dict(img=img))['img'], img)
    zeros = torch.zeros
    monkeypatch.setattr(torch, 'rand', lambda *a, **k: zeros(*a, **k))
    assert not torch.equal(aug.transform(dict(img=img))['img'], img)


def test_fixed_auto_augment_settings_give_the_value_they_fix():
    """What the fixed settings above fix, against the op given that value
    outright (a seeded run, any seed): ``random_negative_prob=1.`` the
    negated magnitude, a ``magnitude_range`` without ``magnitude_std``
    ``magnitude_level / total_level`` of the range (total 10 by
    default)."""
    pairs = [
        (dict(type='Rotate', angle=30., prob=1., random_negative_prob=1.),
         dict(type='Rotate', angle=-30., prob=1., random_negative_prob=0.)),
        (dict(type='Rotate', magnitude_range=(0, 30), magnitude_level=6,
              prob=1., random_negative_prob=1.),
         dict(type='Rotate', angle=-18., prob=1., random_negative_prob=0.)),
        (dict(type='Translate', magnitude=0.25, prob=1.,
              random_negative_prob=1.),
         dict(type='Translate', magnitude=-0.25, prob=1.,
              random_negative_prob=0.)),
        (dict(type='Solarize', magnitude_range=(0, 256), magnitude_level=5,
              prob=1.),
         dict(type='Solarize', thr=128, prob=1.)),
    ]
    for fixed, outright in pairs:
        got, img = _run_seeded([fixed], 3)
        want, _ = _run_seeded([outright], 4)
        assert np.array_equal(got, want), fixed
        assert not np.array_equal(got, img), fixed


def test_a_fixed_transform_is_one_pass_and_takes_no_aug_times(
        synthetic_root, tmp_path, capsys):
    """``RandomFlip(prob=0.)`` after the resize: extracted without
    ``--aug_times`` (the same features as without the flip), and refused
    with it (its copies would be identical)."""
    extract = script_main('wsi_workdir/extract.py')
    base = os.path.join(ROOT, 'configs', 'extraction', 'nct_train.py')
    cfg = tmp_path / 'nct_train_noflip.py'
    cfg.write_text(
        f'_base_ = {base!r}\n'
        "dataset = dict(pipeline=[\n"
        "    dict(type='LoadImageFromFile', imdecode_backend='pillow'),\n"
        "    dict(type='Resize', scale=224, backend='pillow',\n"
        "         interpolation='bilinear'),\n"
        "    dict(type='RandomFlip', prob=0.),\n"
        "    dict(type='PackInputs')])\n")
    w = str(tmp_path / 'w')
    train = paths.features_path(w, 'clp', 'NCT_train')
    cli_ok(extract, _extract_args(synthetic_root, str(cfg), train), capsys)
    plain = str(tmp_path / 'plain' / 'nct_train.npy')
    cli_ok(extract, _extract_args(synthetic_root, 'nct_train.py', plain),
           capsys)
    assert np.array_equal(np.load(train), np.load(plain))
    aug = paths.features_path(w, 'clp', 'NCT_aug')
    err = cli_fails(extract, _extract_args(synthetic_root, str(cfg), aug,
                                           '--aug_times', '2'), capsys,
                    str(tmp_path), f'{aug}: --aug_times 2 with {cfg}, '
                    'whose pipeline has no random transform')
    assert not os.path.exists(aug)
    # the line names the transforms it counts as fixed (the flip here; a
    # RandomChoice of one candidate and a sign never negated below), and
    # what to change in them
    assert '; fixed here: dataset.pipeline.2: RandomFlip): the copies ' \
        'would be identical; give one of the fixed ones settings that ' \
        'draw, or use a random pipeline, e.g. ' \
        'configs/extraction/nct_aug.py' in err
    cfg.write_text(
        f'_base_ = {base!r}\n'
        "dataset = dict(pipeline=[\n"
        "    dict(type='LoadImageFromFile', imdecode_backend='pillow'),\n"
        "    dict(type='Resize', scale=224, backend='pillow',\n"
        "         interpolation='bilinear'),\n"
        "    dict(type='RandomChoice', transforms=[[dict(\n"
        "        type='Rotate', angle=30., prob=1.,\n"
        "        random_negative_prob=0.)]]),\n"
        "    dict(type='PackInputs')])\n")
    err = cli_fails(extract, _extract_args(synthetic_root, str(cfg), aug,
                                           '--aug_times', '2'), capsys,
                    str(tmp_path), f'{aug}: --aug_times 2 with {cfg}, '
                    'whose pipeline has no random transform')
    assert '; fixed here: dataset.pipeline.2: RandomChoice, ' \
        'dataset.pipeline.2.transforms.0.0: Rotate): the copies ' in err
    assert not os.path.exists(aug)


@pytest.mark.parametrize('args,match', [
    (['--threads', '-1'], '--threads'),
    (['--chunk_size', '0'], '--chunk_size'),
    (['--device', 'gpu'], '--device'),
])
def test_sweep_refuses_bad_execution_flags_before_drawing_or_building(
        wd, capsys, args, match):
    """A typo in --device / --threads / --chunk_size was refused only when
    the first setting ran: after the sweep had drawn its task stores and
    built its dictionaries (minutes on the real data), which it left
    behind. Refused first, nothing written."""
    cli_fails(SWEEP, ['--workdir', wd, '--model', 'clp', '--task', 'mixture',
                      '--shots', '1', '--modes', 'latent_aug', '--clfs',
                      'Ridge', '--num_task', '3', *K, *args], capsys, wd,
              match)


@pytest.mark.parametrize('flag,values', [
    ('--shots', ['1', '1']),
    ('--clfs', ['Ridge', 'Ridge']),
    ('--modes', ['linear', 'linear']),
    ('--task', ['mixture', 'mixture']),
    ('--novel_classes', ['3', '3']),
    ('--novel_classes', ['none', 'None']),
])
def test_sweep_refuses_a_value_given_twice(wd, capsys, flag, values):
    """--shots 1 1 ran every 1-shot setting twice, writing its result JSON
    twice, listing it twice in the index and counting it as two settings
    in the average table ('n=2', meant as two novel classes)."""
    args = {'--task': ['mixture'], '--shots': ['1'], '--clfs': ['Ridge'],
            '--modes': ['linear']}
    if flag == '--novel_classes':
        args['--task'] = ['near']
    args[flag] = values
    flat = [x for k, v in args.items() for x in [k, *v]]
    cli_fails(SWEEP, ['--workdir', wd, '--model', 'clp', '--num_task', '3',
                      '--model_template', '{model}', *flat], capsys, wd,
              f'{flag}: {"none" if values[0] == "none" else values[0]} '
              'given twice')


def test_ablation_refuses_a_value_given_twice(wd, capsys):
    """--prototypes 4 4 printed the K=4 row twice in the table, the JSON
    and the plot."""
    abl = script_main('wsi_workdir/ablation.py')
    cli_fails(abl, ['--workdir', wd, '--model', 'clp', '--num_task', '3',
                    '--prototypes', '4', '8', '4', '--image', 'none',
                    '--latent', 'none', '--hybrid', 'none'], capsys, wd,
              '--prototypes: 4 given twice')


@pytest.mark.parametrize('part', ['prototypes', 'image', 'latent',
                                  'hybrid'])
def test_ablation_refuses_none_beside_values(wd, capsys, part):
    """``none`` skips a part and goes alone (docs/refusals.md, ablation.py):
    ``--<part> 4 none`` is refused as argparse refuses a flag's value,
    its usage lines then the one error line, and nothing written."""
    from lowshot_data import snapshot
    abl = script_main('wsi_workdir/ablation.py')
    flags = {p: ['none'] for p in ('prototypes', 'image', 'latent',
                                   'hybrid')}
    flags[part] = ['4', 'none']
    before = snapshot(wd)
    with pytest.raises(SystemExit) as stop:
        abl(['--workdir', wd, '--model', 'clp', '--num_task', '3',
             *[x for p, v in flags.items() for x in [f'--{p}', *v]]])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].startswith('usage: '), err
    assert err[-1].endswith(
        f'error: --{part}: none goes alone (skips the part)'), err
    assert snapshot(wd) == before


def test_missing_set_of_imported_features_names_the_import(wd, capsys):
    """A model whose features were imported (import_features.py; then
    evaluate_encoder.sh MODEL -) and that lacks a set was told to make it
    with extract.py --pretrained CKPT, which it has no checkpoint for; the
    line names import_features.py. An extracted model keeps extract.py."""
    cli_ok(GEN, _gen(wd), capsys)
    os.remove(paths.features_path(wd, 'clp', 'NCT_test'))
    err = cli_fails(META, _meta(wd), capsys, wd, 'NCT_test.npy (make it '
                    f'with: python {ROOT}/wsi_workdir/extract.py --config '
                    f'{ROOT}/configs/extraction/nct_test.py --pretrained '
                    'CKPT')
    assert 'import_features' not in err
    with open(paths.provenance_path(wd, 'clp', 'NCT_train'), 'w') as f:
        json.dump({'checkpoint': None,
                   'checkpoint_kind': 'imported features'}, f)
    out = paths.features_path(wd, 'clp', 'NCT_test')
    cli_fails(META, _meta(wd), capsys, wd, 'NCT_test.npy (make it with: '
              f'python {ROOT}/wsi_workdir/import_features.py --config '
              f'{ROOT}/configs/extraction/nct_test.py --source FEATURES '
              '[--paths PATHS] --cfg-options dataset.data_root=DATA_ROOT '
              f'--output {out} (DATA_ROOT: ')


def test_a_successful_load_reads_no_other_provenance(wd, monkeypatch):
    """The hint of a missing set (extract.py or import_features.py, by the
    model's other provenance JSONs) was built before every load: each
    load_features read up to the five other sets' JSONs, also when the set
    was there. A load reads its own provenance only; the hint reads the
    others when the set is missing."""
    import builtins
    from openselfsup.lowshot.features import load_features
    for name in paths.FEATURE_NAMES:  # extracted sets: the hint reads all
        with open(paths.provenance_path(wd, 'clp', name), 'w') as f:
            json.dump({'checkpoint_kind': 'full'}, f)
    provenance = {os.path.abspath(paths.provenance_path(wd, 'clp', n)): n
                  for n in paths.FEATURE_NAMES}
    reads = []
    real_open = builtins.open

    def counting_open(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)) and \
                os.path.abspath(file) in provenance:
            reads.append(provenance[os.path.abspath(file)])
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, 'open', counting_open)
    fs = load_features(wd, 'clp', 'NCT_test')
    assert fs.provenance == {'checkpoint_kind': 'full'}
    assert reads == ['NCT_test']  # its own, no other
    os.remove(paths.features_path(wd, 'clp', 'NCT_test'))
    reads.clear()
    with pytest.raises(InputError, match='extract.py --config'):
        load_features(wd, 'clp', 'NCT_test')
    assert sorted(reads) == sorted(paths.FEATURE_NAMES)  # the hint's


def test_a_workdir_that_is_a_file_is_named(tmp_path, capsys):
    """generate_task.py and summarize.py with a --workdir that is a file
    said 'labels not found ... make it with extract.py' and 'no results
    directory; run distributed_meta_test.py first'."""
    blocker = str(tmp_path / 'notes.txt')
    with open(blocker, 'w') as f:
        f.write('x')
    cli_fails(GEN, _gen(blocker), capsys, str(tmp_path),
              f'{blocker} is a file, not a directory')
    cli_fails(SUMMARY, ['--workdir', blocker], capsys, str(tmp_path),
              f'--workdir {blocker} is a file, not a directory')


def test_sweep_of_only_settings_without_a_closed_form_says_why(wd, capsys):
    """--modes latent_aug_expected --clfs logistic_regression: every setting
    is skipped (no closed form), and the line said only 'nothing to run:
    the sweep has no settings'."""
    cli_fails(SWEEP, ['--workdir', wd, '--model', 'clp', '--task', 'mixture',
                      '--shots', '1', '--num_task', '3', '--modes',
                      'latent_aug_expected', '--clfs', 'logistic_regression'],
              capsys, wd, 'latent_aug_expected has a closed form for Ridge '
              'and nearest_centroid only, not logistic_regression')


def test_single_run_and_sweep_say_the_same_about_no_closed_form(wd, capsys):
    """The single meta-test and the sweep refuse latent_aug_expected for
    logistic regression in the same words (each after its own flag; the
    sweep adds that nothing is left to run)."""
    single = cli_fails(META, _meta(wd, '--mode', 'latent_aug_expected',
                                   '--clf', 'logistic_regression'),
                       capsys, wd, '--mode latent_aug_expected')
    swept = cli_fails(SWEEP, ['--workdir', wd, '--model', 'clp', '--task',
                              'mixture', '--shots', '1', '--num_task', '3',
                              '--modes', 'latent_aug_expected', '--clfs',
                              'logistic_regression'], capsys, wd, '--modes')
    assert swept == single.replace('--mode ', '--modes ', 1) + \
        ': nothing to run'


@pytest.mark.parametrize('features', ['LC', 'PAIP_train', 'PAIP_test'])
def test_novel_class_of_a_dictionary_of_other_classes_is_refused(
        wd, capsys, features):
    """--novel_class is an NCT class: dict_construction --features LC
    --novel_class 8 wrote LC_..._wo8.npz, 'classes [8] left out' of a set
    without a class 8 (and --novel_class 3 left out LC's lung_n)."""
    cli_fails(DICT, ['--model', 'clp', '--workdir', wd, '--features',
                     features, '--novel_class', '8', *K], capsys, wd,
              f'--novel_class 8 is an NCT class; --features {features}')
    out = cli_ok(DICT, ['--model', 'clp', '--workdir', wd, '--features',
                        features, *K], capsys)  # all of its classes
    # built as asked, and said to be read by no low-shot run
    assert out.splitlines()[-1] == (
        'note: the meta-test reads NCT_train dictionaries only; this '
        f'{features} dictionary is not read by any low-shot run')
    assert 'note:' not in cli_ok(DICT, ['--model', 'clp', '--workdir', wd,
                                        *K], capsys)


def test_an_output_that_is_a_users_own_file_is_not_replaced(
        wd, capsys, tmp_path):
    """--output naming an existing file the command did not write (a
    user's notes.md, paper.json) replaced it without a word; now it is
    refused and the file kept, and a command's own earlier output is still
    replaced (a rerun)."""
    mine = tmp_path / 'mine'
    mine.mkdir()
    for name, text in (('notes.txt', 'keep\n'), ('paper.json', '{"a": 1}'),
                       ('report.md', '# my report\n'),
                       ('figure.png', 'my figure')):
        (mine / name).write_text(text)
    cli_ok(GEN, _gen(wd), capsys)
    linear = ('--mode', 'linear')
    for out in ('notes.txt', 'paper.json'):
        cli_fails(META, _meta(wd, *linear, '--output', str(mine / out)),
                  capsys, str(tmp_path), 'exists and is not a meta-test '
                  'result; give another --output or delete it first')
    own = str(tmp_path / 'own.json')
    for _ in range(2):  # its own result: written, then replaced
        cli_ok(META, _meta(wd, *linear, '--output', own), capsys)
    # a report's three files: a user's JSON, or an .md beside no report
    cli_ok(META, _meta(wd, *linear), capsys)
    for out in ('paper', 'report.md'):
        cli_fails(SUMMARY, ['--workdir', wd, '--output', str(mine / out)],
                  capsys, str(tmp_path), 'is not a summary written by '
                  'summarize.py')
    for _ in range(2):
        cli_ok(SUMMARY, ['--workdir', wd, '--output',
                         str(tmp_path / 'rep' / 'table.md')], capsys)
    sweep = ['--model', 'clp', '--model_template', '{model}', '--task',
             'near', '--novel_classes', '7', '--shots', '5', '--clfs',
             'Ridge', '--modes', 'linear', '--num_task', '10',
             '--workdir', wd, '--output']
    # report.json: its .md; figure.json: its .png (the sweep's plot)
    for out in ('paper.json', 'report.json', 'figure.json'):
        cli_fails(SWEEP, sweep + [str(mine / out)], capsys, str(tmp_path),
                  'is not a sweep index written by sweep.py')
    for _ in range(2):
        cli_ok(SWEEP, sweep + [str(tmp_path / 'sw.json')], capsys)


def test_a_users_file_at_the_default_output_says_to_pass_one(wd, capsys):
    """A user's file at a command's default result path (no --output
    given) was refused with "give another --output", an option the user
    never gave; the line now says to pass one or move the file away."""
    import glob
    cli_ok(GEN, _gen(wd), capsys)
    meta = _meta(wd, '--mode', 'linear')
    cli_ok(META, meta, capsys)
    cli_ok(SUMMARY, ['--workdir', wd], capsys)
    [result] = glob.glob(os.path.join(wd, 'results', '**', '*.json'),
                         recursive=True)
    summary = os.path.join(wd, 'summary', 'summary.json')
    sweep = paths.sweep_path(wd, 'clp', ['near'])
    os.makedirs(os.path.dirname(sweep), exist_ok=True)
    sweep_args = ['--model', 'clp', '--model_template', '{model}', '--task',
                  'near', '--novel_classes', '7', '--shots', '5', '--clfs',
                  'Ridge', '--modes', 'linear', '--num_task', '10',
                  '--workdir', wd]
    for path, main, args, what in (  # the summary first: it reads results
            (summary, SUMMARY, ['--workdir', wd],
             'a summary written by summarize.py'),
            (sweep, SWEEP, sweep_args, 'a sweep index written by sweep.py'),
            (result, META, meta, 'a meta-test result')):
        with open(path, 'w') as f:
            f.write('{"mine": 1}')
        err = cli_fails(main, args, capsys, wd, 'exists and is not')
        assert err == (f'error: {path}: exists and is not {what}; pass '
                       '--output to write elsewhere, or move it away '
                       'first'), err


def test_a_zip_archive_named_npy_is_one_line(wd, capsys):
    """A ``torch.save`` file or an ``.npz`` saved as a workdir's ``.npy``
    (features, labels): ``np.load`` returned its zip archive and the
    meta-test stopped on ``AttributeError: 'NpzFile' object has no
    attribute 'ndim'``, a traceback. Now one line naming the file."""
    import torch
    cli_ok(GEN, _gen(wd), capsys)
    feats = paths.features_path(wd, 'clp', 'NCT_test')
    labels = paths.labels_path(wd, 'NCT_test')
    torch.save(torch.zeros(3), feats)
    line = 'cannot read features (a zip archive, as torch.save and ' \
        'np.savez write, not a .npy file)'
    cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd, line)
    with open(labels, 'wb') as f:
        np.savez(f, labels=np.zeros(3))
    cli_fails(GEN, _gen(wd, '--novel_class', '3'), capsys, wd,
              'cannot read labels (a zip archive')


def test_a_count_beyond_the_machines_memory_is_one_line(wd, capsys):
    """``--num_task 10**16`` (beyond any address space, so refused with
    overcommit too; 10**13 is 72 TB of task indices) stopped on
    numpy's ``_ArrayMemoryError`` traceback; now one line (run_cli: any
    MemoryError), exit 2, nothing written."""
    from openselfsup.utils import run_cli
    cli_fails(GEN, _gen(wd, '--num_task', str(10 ** 16)), capsys, wd,
              'error: out of memory (Unable to allocate')

    def bare(argv):
        raise MemoryError
    assert run_cli(bare, []) == 2
    assert capsys.readouterr().err == \
        'error: out of memory (MemoryError); give smaller counts or sizes\n'


def test_torch_cpu_allocation_failure_is_one_line(wd, capsys):
    """``--num_aug_shots 30000000`` on the CPU: torch's allocator raised
    ``RuntimeError: [enforce fail at alloc_cpu.cpp] ... DefaultCPUAllocator:
    can't allocate memory`` as a traceback; now the out-of-memory line. So
    is a CUDA allocation (extract.py or knn_eval.py at a batch size beyond
    the GPU; made here without one), by its first line. Another
    RuntimeError is still raised as it is, and training keeps the
    traceback."""
    import torch

    from openselfsup.utils import run_cli
    cpu = RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. "
                       "DefaultCPUAllocator: can't allocate memory: you tried "
                       "to allocate 138239995392 bytes. Error code 12 "
                       "(Cannot allocate memory)")
    cuda = torch.cuda.OutOfMemoryError(  # torch 2.x: one long line
        'CUDA out of memory. Tried to allocate 20.00 GiB. GPU 0 has a total '
        'capacity of 79.19 GiB of which 1.20 GiB is free. Process 7 has '
        '78.00 GiB memory in use. Of the allocated memory 77.50 GiB is '
        'allocated by PyTorch. If reserved but unallocated memory is large '
        'try setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to '
        'avoid fragmentation.  See documentation for Memory Management')

    def raising(exc):
        def main(argv):
            raise exc
        return main
    for exc, why in ((cpu, "DefaultCPUAllocator: can't allocate memory: you "
                      'tried to allocate 138239995392 bytes. Error code 12 '
                      '(Cannot allocate memory)'),
                     (cuda, 'CUDA out of memory. Tried to allocate 20.00 GiB. '
                      'GPU 0 has a total capacity of 79.19 GiB of which 1.20 '
                      'GiB is free')):
        assert run_cli(raising(exc), []) == 2
        assert capsys.readouterr().err == (
            f'error: out of memory ({why}); give smaller counts or sizes\n')
    with pytest.raises(RuntimeError, match='a bug'):
        run_cli(raising(RuntimeError('a bug')), [])
    # training (tools/train.py, balance_sweep.py) keeps the traceback
    with pytest.raises(RuntimeError, match='DefaultCPUAllocator'):
        run_cli(raising(cpu), [], memory_line=False)
    for tool in ('tools/train.py', 'tools/balance_sweep.py'):
        text = open(os.path.join(ROOT, tool)).read()
        assert re.search(r'sys\.exit\(run_cli\(main, memory_line=False[,)]',
                         text), tool


def test_shared_image_one_set_with_cwd_one_without():
    """A workdir with one set extracted before the provenance recorded its
    working folder (cwd) and one after: the new set's relative folder was
    joined to its cwd, the old one's left relative, and the pair was
    'one absolute, one relative': silent, where before both relative
    folders were compared as relative to one place (a test image in
    NCT_train refused). Compared as written again, as for two sets
    without cwd; two sets with cwd are compared joined."""
    from types import SimpleNamespace
    from openselfsup.lowshot.features import shared_image

    def fs(**prov):
        return SimpleNamespace(labels=np.zeros(2), provenance=prov)

    sup = {'paths': ['C0/a.tif', 'C1/b.tif']}
    qry = {'paths': ['C2/c.tif', 'C1/b.tif']}
    old = fs(data_prefix='data/NCT')
    new = fs(data_prefix='data/NCT', cwd='/home/u/run')
    want = ('data/NCT/C1/b.tif', 1)
    assert shared_image(old, fs(data_prefix='data/NCT'), sup, qry) == want
    assert shared_image(old, new, sup, qry) == want
    assert shared_image(new, old, sup, qry) == want
    # both recording cwd: other working folders are other places
    assert shared_image(new, fs(data_prefix='data/NCT', cwd='/elsewhere'),
                        sup, qry) is None
    assert shared_image(new, new, sup, qry) == (
        '/home/u/run/data/NCT/C1/b.tif', 1)
    # an absolute folder against an old relative one: cannot tell
    assert shared_image(fs(data_prefix='/data/NCT'), old, sup, qry) is None


@pytest.mark.parametrize('mode,shots,match', [
    ('hetero', ['1', '50'], 'class 0 has 36 samples, fewer than shots = 50'),
    ('homo', ['5', '20'], 'no slide has 20 samples of every class')])
def test_generate_task_draws_every_store_before_writing_one(wd, capsys, mode,
                                                            shots, match):
    """Several --num_shots of which the last cannot be drawn (the
    out-domain 100-shot tasks on the quick start's PAIP19 data): the
    command wrote the stores before it, then stopped with its one line.
    Every store is drawn first; a refusal leaves the workdir as it was."""
    cli_fails(GEN, ['--task', 'out', '--mode', mode, '--num_shots', *shots,
                    '--num_task', '10', '--workdir', wd], capsys, wd, match)
    # the drawable ones alone are written, as before
    out = cli_ok(GEN, ['--task', 'out', '--mode', mode, '--num_shots',
                       shots[0], '--num_task', '10', '--workdir', wd], capsys)
    assert out.startswith('wrote '), out


def test_the_shots_a_too_few_line_allows_can_be_drawn(wd, capsys):
    """r77: the bound the line named was the first short class's own
    count: PAIP_train classes of 52, 20 and 36 samples, --num_shots 55
    said 'run at most 52 shots', and 52 then said 'at most 20'; and the
    queries were checked class by class beside the support, so a short
    query class after a short support class got 'run at most N shots'
    where no shot count works. The bound is now the least over the
    task's classes, each class's queries counted (one pool), and a query
    class short says that no shot count works. Reference: the counts,
    made by hand from the fixture's (36 of each PAIP_train class, 20 of
    PAIP_test, 40 of LC; 15 queries); the bound named is drawn."""
    def relabel(name, frm, to, n):
        lp = paths.labels_path(wd, name)
        lab = np.load(lp)
        lab[np.flatnonzero(lab == frm)[:n]] = to
        np.save(lp, lab)
        return np.bincount(lab).tolist()

    def gen(task, shots):
        return ['--task', task, '--num_shots', str(shots), '--num_task', '2',
                '--workdir', wd]

    assert relabel('PAIP_train', 1, 0, 16) == [52, 20, 36]
    for shots in (55, 21):
        cli_fails(GEN, gen('out', shots), capsys, wd,
                  f'PAIP_train: class 1 has 20 samples, fewer than shots = '
                  f'{shots}; run at most 20 shots (')
    assert cli_ok(GEN, gen('out', 20), capsys).startswith('wrote ')
    # one pool: 15 queries of each class come first
    assert relabel('LC', 2, 0, 22) == [62, 40, 18, 40, 40]
    cli_fails(GEN, gen('mixture', 5), capsys, wd,
              'LC: class 2 has 18 samples, fewer than shots + queries '
              '(5 + 15) = 20; run at most 3 shots (')
    assert cli_ok(GEN, gen('mixture', 3), capsys).startswith('wrote ')
    assert relabel('LC', 2, 0, 3) == [65, 40, 15, 40, 40]
    err = cli_fails(GEN, gen('mixture', 1), capsys, wd,
                    'LC: class 2 has 15 samples, fewer than shots + queries '
                    '(1 + 15) = 16; no shot count works: give it more '
                    'samples per class')
    assert 'run at most' not in err, err
    # a query class short, the support short too: no shot count works
    assert relabel('PAIP_test', 2, 0, 10) == [30, 20, 10]
    for mode in ('hetero', 'homo'):
        err = cli_fails(GEN, [*gen('out', 55), '--mode', mode], capsys, wd,
                        'PAIP_test: class 2 has 10 samples, fewer than '
                        'queries = 15; no shot count works: give it more '
                        'samples per class')
        assert 'run at most' not in err, err


def test_a_refused_shot_count_leaves_smaller_stores_as_they_were(wd,
                                                                 capsys):
    """r77's mutant: a store extension written as soon as it is drawn,
    before the later stores are (a shot count the data cannot give among
    them), passed every test. Stores of fewer tasks than asked and a shot
    count refused, by generate_task.py and by the sweep: every store is
    left as it was, byte for byte (cli_fails compares the workdir's files
    before and after); then, the count dropped, both are extended."""
    cli_ok(GEN, ['--task', 'out', '--num_task', '5', '--workdir', wd,
                 '--num_shots', '1', '2'], capsys)
    more = ['--task', 'out', '--num_task', '1500', '--workdir', wd]
    cli_fails(GEN, [*more, '--num_shots', '1', '2', '50'], capsys, wd,
              'fewer than shots = 50')
    sweep = ['--model', 'clp', '--clfs', 'Ridge', '--modes', 'linear',
             '--quiet', *more, '--shots', '1', '2', '50']
    cli_fails(SWEEP, sweep, capsys, wd, 'fewer than shots = 50')
    out = cli_ok(GEN, [*more, '--num_shots', '1', '2'], capsys)
    assert out.count('note: extended') == 2, out


@pytest.mark.parametrize('task,shots,flag,setting,line', [
    ('out', ['1', '50'], '--out_shots', 'OUT_SHOTS',
     'PAIP_train: class 0 has 36 samples, fewer than shots = 50; run at '
     'most 36 shots'),
    ('out_homo', ['5', '20'], '--out_homo_shots', 'OUT_HOMO_SHOTS',
     'PAIP_train: no slide has 20 samples of every class (needed by homo '
     'tasks); run at most 12 shots')])
def test_a_sweep_draws_every_store_before_writing_one(wd, capsys, task,
                                                      shots, flag, setting,
                                                      line):
    """``sweep.py --task out`` at the published shots on the quick start's
    PAIP19 (60 samples a class) wrote the 10- and 50-shot stores, then
    stopped at 100 with a line naming neither fewer shots nor more data.
    Every store of the sweep is now drawn before one is written (nothing
    written by a refused sweep), and the line names the sweep's flag of
    the domain, the scripts' setting and the generator's flag of the set.
    Reference: the fixture's PAIP_train, 3 slides cycling over 108 rows,
    12 rows of each class on a slide (36 in all); the flags, read from
    the parsers that take them."""
    argv = ['--workdir', wd, '--model', 'clp', '--task', task, '--shots',
            *shots, '--clfs', 'Ridge', '--modes', 'linear', '--num_task',
            '2', '--quiet']
    from openselfsup.lowshot.tasks import more_samples_way_out
    err = cli_fails(SWEEP, argv, capsys, wd, line)
    # the way to more samples: its commands, tests/test_printed_commands.py
    assert f'(sweep.py {flag}, {setting} in the scripts; --num_shots of ' \
        'generate_task.py and distributed_meta_test.py), or ' \
        + more_samples_way_out('PAIP_train', wd) in err, err
    # the counts in the line, from the fixture's labels and slides
    lab = np.load(paths.labels_path(wd, 'PAIP_train'))
    with open(paths.meta_path(wd, 'PAIP_train')) as f:
        slide = np.array([p.split('/')[0] for p in json.load(f)['paths']])
    assert (lab == 0).sum() == 36
    assert max(min((slide[lab == c] == s).sum() for c in range(3))
               for s in set(slide)) == 12
    # the flags named exist: the sweep's takes the shots that fit
    out = cli_ok(SWEEP, [*argv[:argv.index('--shots')], flag, shots[0],
                         *argv[argv.index('--shots') + 1 + len(shots):]],
                 capsys)
    assert 'wrote ' in out, out
    gen = script_main('tools/prepare_data/make_synthetic.py')
    assert gen.__globals__['parse_args'](
        ['--paip-per-class', '5']).paip_per_class == 5


def test_support_and_queries_of_other_library_releases_are_not_mixed(
        wd, capsys):
    """Support and query sets of one checkpoint extracted by hand under
    other library releases (NCT_train before a torch / timm upgrade,
    NCT_test after, without --reuse) were used together without a word,
    though a release may preprocess otherwise or give other weights (the
    reuse and the stale-result check already tell them apart). Refused
    now as another model or precision is, in one line naming each library
    both sets record at another release and both releases; a library one
    side does not record, or a set without versions, is not judged."""
    def provenance(name, **versions):
        write_provenance(wd, 'clp', name, **CHECKPOINT_PROVENANCE,
                         **({'versions': versions} if versions else {}))

    cli_ok(GEN, _gen(wd), capsys)
    provenance('NCT_train', torch='2.4.1', mmcv='2.1.0', PIL='10.4.0')
    provenance('NCT_test', torch='2.4.1', mmcv='2.1.0')  # PIL: not recorded
    cli_ok(META, _meta(wd, '--mode', 'linear'), capsys)
    provenance('NCT_test')  # written before versions were recorded
    cli_ok(META, _meta(wd, '--mode', 'linear'), capsys)
    provenance('NCT_test', torch='2.5.0', mmcv='2.1.0', PIL='11.0.0')
    err = cli_fails(META, _meta(wd, '--mode', 'linear'), capsys, wd,
                    'were extracted under other library releases (PIL '
                    '10.4.0 vs 11.0.0, torch 2.4.1 vs 2.5.0')
    assert 'NCT_train.npy and ' in err and 'NCT_test.npy' in err, err
    assert 'mmcv' not in err and len(err.strip().splitlines()) == 1, err


_CHECKED = ("is refused by the sweep's check of this script's settings "
            '(sweep.py --check, before any extraction): ')


@pytest.mark.parametrize('script, flags, setting', [
    ('/s/evaluate_encoder.sh', ['--task', 'out', '--out_shots', '1', '0'],
     'OUT_SHOTS="1 0"'),
    ('/s/evaluate_encoder.sh', ['--task', 'near', '--novel_classes', '9'],
     'NOVEL_CLASSES="9"'),
    ('/s/demo_lowshot.sh', ['--task', 'near', '--novel_classes', '9'],
     'NOVEL="9"'),
    ('/s/evaluate_encoder.sh', ['--seed', '-1'], 'SEED="-1"'),
    ('/s/evaluate_encoder.sh', ['--num_task', 'x'], 'NUM_TASK="x"'),
    ('/s/evaluate_encoder.sh', ['--device', 'cpu\nx'], 'DEVICE="cpu\\nx"'),
    ('/s/evaluate_encoder.sh', ['--chunk_size', '0'], None)])
def test_sweep_check_as_script_names_the_setting(tmp_path, capsys, script,
                                                 flags, setting):
    """evaluate_encoder.sh's check_refusal (_env.sh) re-parsed the line of
    sweep.py --check in shell to name the setting a flag came from; the
    check now phrases it itself (--as_script SCRIPT, the table in
    openselfsup/lowshot/script_settings.py), argparse's refusals too,
    without usage lines; the value is the one the flag got (a negative
    number too; a newline written \\n: one line). Reference: the check's
    own line, the same command without --as_script; a flag of no setting
    (--chunk_size) gets the line that names none."""
    from openselfsup.utils import run_cli
    argv = ['--model', 'm', '--workdir', str(tmp_path / 'w'), '--check']
    argv += flags
    try:  # (argparse's refusal exits)
        assert run_cli(SWEEP, argv) == 2
    except SystemExit as exc:
        assert exc.code == 2
    own = capsys.readouterr().err.strip().splitlines()[-1]
    own = own[own.index('error: ') + len('error: '):]
    err = cli_fails(SWEEP, argv + ['--as_script', script], capsys,
                    str(tmp_path), own)
    if setting is None:
        assert err == (f"error: {script}: the sweep's check of this "
                       "script's settings (sweep.py --check, before any "
                       f'extraction) refuses them: {own}'), err
    else:
        assert err == f'error: {script}: {setting} {_CHECKED}{own}', err


def test_sweep_as_script_without_check_is_refused(tmp_path, capsys):
    """--as_script phrases the check's refusals (they say "sweep.py
    --check, before any extraction"): on a run it would have said so of
    a run; refused, nothing written."""
    cli_fails(SWEEP, ['--model', 'm', '--workdir', str(tmp_path / 'w'),
                      '--as_script', '/s/evaluate_encoder.sh'], capsys,
              str(tmp_path), '--as_script phrases the refusals of --check '
              'only (give --check)')


def test_script_refusal_reads_the_setting_from_the_command():
    """The value is the setting's as the command got it: MODEL's from
    --model where the line names --model_template (the scripts pass '{model}'
    there, their own); a line naming a setting's flag the command did not
    get has the line that names no setting (it raised UnboundLocalError).
    Hand-written lines."""
    from openselfsup.lowshot.script_settings import script_refusal
    argv = ['--model', 'enc', '--model_template', '{model}', '--check']
    said = ("the sweep's check of this script's settings (sweep.py --check, "
            'before any extraction)')
    assert script_refusal('/s/e.sh', "--model_template '{model}': bad",
                          argv) == ('/s/e.sh: MODEL="enc" is refused by '
                                    f"{said}: --model_template '{{model}}': "
                                    'bad')
    assert script_refusal('/s/e.sh', '--novel_class 9: bad', argv) == \
        f'/s/e.sh: {said} refuses them: --novel_class 9: bad'
    # the environment's value where its words are the command's (as the
    # user gave it), else the command's (evaluate_encoder.sh's MODEL is
    # its argument, not a MODEL of the environment)
    argv = ['--model', 'enc', '--near_shots', '1', '0', '--check']
    line = '--near_shots 0: bad'
    for env, value in [({'SHOTS': '1  0'}, '1  0'),
                       ({'SHOTS': '\t1 0\n'}, '\t1 0\\n'),
                       ({'SHOTS': '1 5'}, '1 0'), ({}, '1 0')]:
        assert script_refusal('/s/e.sh', line, argv, env) == (
            f'/s/e.sh: SHOTS="{value}" is refused by {said}: {line}')
    assert script_refusal('/s/e.sh', "--model 'enc': bad", argv,
                          {'MODEL': 'other'}).startswith(
        '/s/e.sh: MODEL="enc" is refused')


def _missing_sets_root(wd, name):
    """The ``--data-root`` of the command that makes ``clp``'s missing set
    ``name`` (read back by extract.py's parser) and the words of its note
    on ``DATA_ROOT`` (None where it names a folder)."""
    from lowshot_data import printed_args
    from openselfsup.lowshot.features import load_features
    with pytest.raises(InputError) as e:
        load_features(wd, 'clp', name)
    line = str(e.value)
    args = printed_args(line.split('make it with: ')[1][:-1],
                        'wsi_workdir/extract.py')
    note = line.split('(DATA_ROOT: ')[1] if '(DATA_ROOT: ' in line else None
    assert (note is None) == (args.data_root != ['DATA_ROOT']), line
    return args.data_root[0], note


def test_a_missing_sets_command_reads_the_folder_its_siblings_record(wd):
    """h223: the command that makes a missing set named no ``--data-root``
    (pasted elsewhere it read that folder's ``data/<set>``), and h221's the
    checkout's ``data/<set>`` (r136). It names the folder the model's sets
    whose configs read the same data root record (NCT_train's for
    NCT_test, PAIP_train's for PAIP_test: a ``--data-root``, or the
    config's own relative folder, each joined with the folder the set was
    extracted in), and ``DATA_ROOT`` where none does (LC beside NCT's and
    PAIP's) or two record other folders. The reference: the provenance
    written by hand, the folders joined by hand, read back by extract.py's
    parser."""
    from openselfsup.lowshot.features import load_features

    def root_of(name):
        return [_missing_sets_root(wd, name)[0]]

    write_provenance(wd, 'clp', 'NCT_train', **CHECKPOINT_PROVENANCE,
                     cfg_options={'dataset.data_root': '/a/data/NCT'})
    write_provenance(wd, 'clp', 'PAIP_train', **CHECKPOINT_PROVENANCE,
                     cwd='/runs',
                     list_file='p/PAIP19/meta/paip_train_labeled.txt',
                     cfg_options={'dataset.data_root': 'p/PAIP19'})
    for name in ('NCT_test', 'PAIP_test', 'LC'):
        os.remove(paths.features_path(wd, 'clp', name))
    assert root_of('NCT_test') == ['/a/data/NCT']
    assert root_of('PAIP_test') == ['/runs/p/PAIP19']
    assert root_of('LC') == ['DATA_ROOT']
    # a second NCT set, read under the config's own data/NCT from /a: the
    # same folder; from /b: two folders, none taken
    sup = load_features(wd, 'clp', 'NCT_train')
    np.save(paths.features_path(wd, 'clp', 'NCT_aug'), sup.features)
    np.save(paths.labels_path(wd, 'NCT_aug'), sup.labels)
    for cwd, want in (('/a', ['/a/data/NCT']), ('/b', ['DATA_ROOT'])):
        write_provenance(wd, 'clp', 'NCT_aug', **CHECKPOINT_PROVENANCE,
                         cwd=cwd, list_file='data/NCT/meta/train_labeled.txt')
        assert root_of('NCT_test') == want, cwd


def test_a_printed_command_takes_no_folder_it_cannot_be_sure_of(wd):
    """Review r143 of h223: a missing set's command, and the lines of a set
    without its JSON, took a sibling's recorded folder without the
    ``dataset.data_prefix`` (or ``dataset.ann_file``) it read with, so
    pasted elsewhere it read other images, exit 0; a relative folder
    recorded without ``cwd`` (an older JSON) was joined with the checkout,
    whose ``data/<set>`` it then read. Now ``DATA_ROOT``, with a note that
    says why, where the sibling read a layout of its own (its config's own
    values given as options, and its layout, still give the folder) or
    its relative folder's ``cwd`` is not recorded. The note said no set
    records where the images lie where the set's own JSON does (its .npy
    moved away: now its folder), or where two sets record one folder spelt
    two ways (now one folder), or two folders (now named). The reference:
    provenance written by hand, the commands read back by extract.py's and
    import_features.py's parsers."""
    from lowshot_data import printed_args, without_fill_note
    from openselfsup.lowshot.features import (copies_way, extract_command,
                                              load_features)
    from openselfsup.utils import load_json

    def missing(name):
        return _missing_sets_root(wd, name)

    def train(**fields):
        write_provenance(wd, 'clp', 'NCT_train', **CHECKPOINT_PROVENANCE,
                         **fields)

    test_npy = paths.features_path(wd, 'clp', 'NCT_test')
    kept = np.load(test_npy)
    os.remove(test_npy)
    # 1. a sibling read with a layout of its own: not this set's folder
    for options, fields, said in (
            ({'dataset.data_prefix': 'alt'}, {}, 'dataset.data_prefix=alt'),
            ({'dataset.ann_file': 'meta/mine.txt'}, {},
             'dataset.ann_file=meta/mine.txt'),
            ({}, dict(data_prefix='/a/NCT/imgs'),
             'data_prefix /a/NCT/imgs')):  # a config file of the user's
        train(cfg_options={'dataset.data_root': '/a/NCT', **options},
              list_file='/a/NCT/meta/train_labeled.txt', **fields)
        root, note = missing('NCT_test')
        assert root == 'DATA_ROOT' and note.startswith(
            f'NCT_train read its images under /a/NCT with {said}, not as '
            'nct_train.py lays them out there'), note
        # its line without JSON, extract and import alike
        np.save(test_npy, kept)
        command, imported, _ = without_json_commands(wd, 'NCT_test')
        os.remove(test_npy)
        assert printed_args(command, 'wsi_workdir/extract.py'
                            ).data_root == ['DATA_ROOT'], command
        assert 'dataset.data_root=DATA_ROOT' in shlex.split(
            without_fill_note(imported)), imported
        assert '/a/NCT' not in without_fill_note(command) + \
            without_fill_note(imported)
    # the config's own values given as options, and its layout: the folder
    train(cfg_options={'dataset.data_root': '/a/NCT',
                       'dataset.data_prefix': 'data'},
          list_file='/a/NCT/meta/train_labeled.txt',
          data_prefix='/a/NCT/data')
    assert missing('NCT_test') == ('/a/NCT', None)
    # a relative folder without the folder it was read from (an older
    # JSON): unknown
    train(cfg_options={'dataset.data_root': 'd/NCT'},
          list_file='d/NCT/meta/train_labeled.txt', data_prefix='d/NCT/data')
    root, note = missing('NCT_test')
    assert root == 'DATA_ROOT' and note.startswith(
        'the relative data root d/NCT is recorded without the folder it '
        'was read from'), note
    # the same in the copies' command (NCT_train's folder), the other
    # images' (the newer set's) and changed features' (the set's own)
    old = load_json(paths.provenance_path(wd, 'clp', 'NCT_train'))
    for command in (
            copies_way(paths.features_path(wd, 'clp', 'NCT_aug')),
            extract_command(paths.features_path(wd, 'm', 'NCT_train'),
                            'NCT_train', old, 'm.json', old)):
        assert printed_args(command, 'wsi_workdir/extract.py').data_root \
            == ['DATA_ROOT'] and '(DATA_ROOT: the relative data root d/NCT ' \
            'is recorded without' in command, command
    np.save(paths.features_path(wd, 'clp', 'NCT_train'),
            -load_features(wd, 'clp', 'NCT_train').features)
    with pytest.raises(InputError) as e:
        load_features(wd, 'clp', 'NCT_train')
    command = str(e.value).split('make them again with: ')[1]
    assert printed_args(command, 'wsi_workdir/extract.py').data_root == \
        ['DATA_ROOT'] and '(DATA_ROOT: the relative data root' in command
    np.save(paths.features_path(wd, 'clp', 'NCT_train'),
            -np.load(paths.features_path(wd, 'clp', 'NCT_train')))
    # with it: joined
    train(cfg_options={'dataset.data_root': 'd/NCT'}, cwd='/runs',
          list_file='d/NCT/meta/train_labeled.txt')
    assert missing('NCT_test') == ('/runs/d/NCT', None)
    # one folder spelt two ways agrees; two folders are named
    sup = load_features(wd, 'clp', 'NCT_train')
    np.save(paths.features_path(wd, 'clp', 'NCT_aug'), sup.features)
    np.save(paths.labels_path(wd, 'NCT_aug'), sup.labels)
    train(cfg_options={'dataset.data_root': '/x/NCT'})
    for aug, want in (('/x//NCT/', ('/x/NCT', None)),
                      ('/y/NCT', ('DATA_ROOT', 'the sets here record '
                                  'different folders: NCT_train /x/NCT, '
                                  'NCT_aug /y/NCT; give'))):
        write_provenance(wd, 'clp', 'NCT_aug', **CHECKPOINT_PROVENANCE,
                         cfg_options={'dataset.data_root': aug})
        root, note = missing('NCT_test')
        assert root == want[0] and (note is None) == (want[1] is None) \
            and (note or '').startswith(want[1] or ''), (aug, note)
    # the set's own JSON, its features moved away: its folder, not none
    write_provenance(wd, 'clp', 'LC', **CHECKPOINT_PROVENANCE,
                     cfg_options={'dataset.data_root': '/l/LC25000'})
    os.remove(paths.features_path(wd, 'clp', 'LC'))
    assert missing('LC') == ('/l/LC25000', None)


def test_a_sets_own_json_gives_its_folder_only_where_it_is_sure(wd,
                                                                tmp_path):
    """Review r146 of h232: a missing set's own JSON, left behind, was
    taken as the record of its images without the checks a sibling's
    gets. Written with a config of the user's that reads another image
    folder under the data root (``data_prefix='alt'``, recorded as
    ``data_prefix data/NCT/alt``, no option) its folder was printed
    without that folder, so the command read ``data``; one of a config
    naming its list absolute (under no data root of the config) gave way
    to the sibling's folder; one left by an older run (the decoy folder)
    beat NCT_train's, the folder the set's images lie in now. Each is
    ``DATA_ROOT`` now, with a note that says why, and so are the line of
    features that differ from the JSON and the other-images command that
    reads the JSON (of a newer set); the JSON's list and image options,
    which the command gives as recorded, and its folder agreeing with the
    siblings' (written another way), still give the folder. The
    reference: provenance written by hand, the commands read back by
    extract.py's parser."""
    from lowshot_data import printed_args
    from openselfsup.lowshot.features import extract_command, load_features

    def own(**fields):
        np.save(test_npy, kept)
        write_provenance(wd, 'clp', 'NCT_test', **CHECKPOINT_PROVENANCE,
                         **fields)
        os.remove(test_npy)

    def changed():  # the features-differ line of the same JSON
        np.save(test_npy, -kept)
        with pytest.raises(InputError) as e:
            load_features(wd, 'clp', 'NCT_test')
        os.remove(test_npy)
        return str(e.value).split('make them again with: ')[1]

    def newer():  # the other-images command that reads the JSON
        prov = json.load(open(paths.provenance_path(wd, 'clp', 'NCT_test')))
        return extract_command(paths.features_path(wd, 'm', 'NCT_test'),
                               'NCT_test', None, None, prov)

    def root_of(command):
        return printed_args(command, 'wsi_workdir/extract.py').data_root

    def train_read_at_s():  # NCT_train read from /s/NCT, its layout
        write_provenance(wd, 'clp', 'NCT_train', **CHECKPOINT_PROVENANCE,
                         cfg_options={'dataset.data_root': '/s/NCT'},
                         list_file='/s/NCT/meta/train_labeled.txt',
                         data_prefix='/s/NCT/data')

    train_read_at_s()
    test_npy = paths.features_path(wd, 'clp', 'NCT_test')
    kept = np.load(test_npy)
    os.remove(test_npy)
    # 1. a config of the user's with another image folder under the root
    own(cwd='/u', list_file='data/NCT/meta/test_labeled.txt',
        data_prefix='data/NCT/alt', config='/u/my_nct_test.py')
    root, note = _missing_sets_root(wd, 'NCT_test')
    assert root == 'DATA_ROOT' and note.startswith(
        'NCT_test records its data_prefix /u/data/NCT/alt, not as '
        'nct_test.py lays out its list and images under /u/data/NCT'), note
    for command in (changed(), newer()):
        assert root_of(command) == ['DATA_ROOT'] and \
            '(DATA_ROOT: NCT_test records its data_prefix /u/data/NCT/alt' \
            in \
            command, command
    # ... the same folder given as the option, which the command gives
    # (the data root NCT_train's, NCT relative to /s)
    own(cwd='/s', list_file='NCT/meta/test_labeled.txt',
        data_prefix='NCT/alt',
        cfg_options={'dataset.data_root': 'NCT',
                     'dataset.data_prefix': 'alt'})
    for command in (changed(), newer()):
        args = printed_args(command, 'wsi_workdir/extract.py')
        assert args.data_root == ['/s/NCT'] and \
            'dataset.data_prefix=alt' in shlex.split(command), command
    # ... but not one the command cannot give (it reads as a number)
    own(cwd='/s', list_file='NCT/meta/test_labeled.txt', data_prefix='NCT/1',
        cfg_options={'dataset.data_root': 'NCT', 'dataset.data_prefix': '1'})
    root, note = _missing_sets_root(wd, 'NCT_test')
    assert root == 'DATA_ROOT' and note.startswith(
        'NCT_test read its images under /s/NCT with dataset.data_prefix=1'
    ), note
    # ... a list named absolute, under no data root of the config
    own(list_file='/mine/NCT/meta/test_labeled.txt',
        data_prefix='/mine/NCT/data', config='/u/my_nct_test.py')
    root, note = _missing_sets_root(wd, 'NCT_test')
    assert root == 'DATA_ROOT' and note.startswith(
        'NCT_test read its list_file /mine/NCT/meta/test_labeled.txt, '
        'data_prefix /mine/NCT/data under no data root of nct_test.py'), note
    # 2. an older run's folder: both named; the siblings' spelt another
    # way, one folder; a JSON of another set's features: unknown
    own(cfg_options={'dataset.data_root': '/o/NCT'})
    root, note = _missing_sets_root(wd, 'NCT_test')
    assert root == 'DATA_ROOT' and note.startswith(
        'the sets here record different folders: NCT_test /o/NCT, '
        'NCT_train /s/NCT; give'), note
    assert root_of(changed()) == ['DATA_ROOT']
    own(cfg_options={'dataset.data_root': '/s//NCT/'})
    assert _missing_sets_root(wd, 'NCT_test') == ('/s/NCT', None)
    assert root_of(changed()) == ['/s/NCT']
    own(cfg_options={'dataset.data_root': '/s/NCT'},
        outputs={'features': '/w/extracted_feats/clp/NCT_train.npy'})
    root, note = _missing_sets_root(wd, 'NCT_test')
    assert root == 'DATA_ROOT' and note.startswith(
        'the provenance of NCT_test records the features of another set, '
        '/w/extracted_feats/clp/NCT_train.npy'), note
    # r153: the set of the name in another model's folder (copied): its
    # images are not sure either; r158: the same model's set in another
    # workdir is this one's own JSON, the workdir moved or copied whole
    own(cfg_options={'dataset.data_root': '/s/NCT'},
        outputs={'features': '/w/extracted_feats/fsp/NCT_test.npy'})
    root, note = _missing_sets_root(wd, 'NCT_test')
    assert root == 'DATA_ROOT' and note.startswith(
        'the provenance of NCT_test left at ') and \
        "its JSON describes /w/extracted_feats/fsp/NCT_test.npy, another " \
        "model folder's set" in note, note
    own(cfg_options={'dataset.data_root': '/s/NCT'},
        outputs={'features': '/w/extracted_feats/clp/NCT_test.npy'})
    assert _missing_sets_root(wd, 'NCT_test') == ('/s/NCT', None)
    own(cfg_options={'dataset.data_root': '/s/NCT'},
        outputs={'features': paths.features_path(wd, 'clp', 'NCT_test')})
    assert _missing_sets_root(wd, 'NCT_test') == ('/s/NCT', None)
    # 3. review r150: NCT_train read under its data root with a layout of
    # its own (an option, or a config of the user's), or under no data
    # root: it still records where it read, another folder than the older
    # own JSON's (a disagreement), or none to compare (unknown)
    own(cfg_options={'dataset.data_root': '/o/NCT'})
    for train, said in (
            (dict(cfg_options={'dataset.data_root': '/s/NCT',
                               'dataset.data_prefix': 'alt'},
                  list_file='/s/NCT/meta/train_labeled.txt',
                  data_prefix='/s/NCT/alt'),
             'the sets here record different folders: NCT_test /o/NCT, '
             'NCT_train /s/NCT; give'),
            (dict(cfg_options={'dataset.data_root': '/s/NCT'},
                  list_file='/s/NCT/meta/train_labeled.txt',
                  data_prefix='/s/NCT/alt', config='/u/my_nct_train.py'),
             'the sets here record different folders: NCT_test /o/NCT, '
             'NCT_train /s/NCT; give'),
            (dict(list_file='/s/NCT/meta/train_labeled.txt',
                  data_prefix='/s/NCT/data', config='/u/my_nct_train.py'),
             'NCT_train beside it records no folder its images were read '
             "from (to compare with NCT_test's /o/NCT); give"),
            # a relative data root without its cwd: its own reason (r151)
            (dict(cfg_options={'dataset.data_root': 'NCT'},
                  list_file='NCT/meta/train_labeled.txt',
                  data_prefix='NCT/alt'),
             'the relative data root NCT is recorded without the folder it '
             "was read from (a JSON written before that was recorded) (to "
             "compare with NCT_test's /o/NCT); give")):
        write_provenance(wd, 'clp', 'NCT_train', **CHECKPOINT_PROVENANCE,
                         **train)
        root, note = _missing_sets_root(wd, 'NCT_test')
        assert root == 'DATA_ROOT' and note.startswith(said), note
        assert root_of(changed()) == ['DATA_ROOT']
    # ... also where NCT_train's features were moved away too, its JSON
    # left (both to be extracted again; r150: the older own JSON's folder
    # was printed)
    train_read_at_s()
    train_npy = paths.features_path(wd, 'clp', 'NCT_train')
    moved = np.load(train_npy)
    os.remove(train_npy)
    root, note = _missing_sets_root(wd, 'NCT_test')
    assert root == 'DATA_ROOT' and note.startswith(
        'the sets here record different folders: NCT_test /o/NCT, '
        'NCT_train /s/NCT; give'), note
    np.save(train_npy, moved)
    # ... and where NCT_train's data root is the own JSON's, its own
    # layout under it is no disagreement
    write_provenance(wd, 'clp', 'NCT_train', **CHECKPOINT_PROVENANCE,
                     cfg_options={'dataset.data_root': '/o/NCT',
                                  'dataset.data_prefix': 'alt'},
                     list_file='/o/NCT/meta/train_labeled.txt',
                     data_prefix='/o/NCT/alt')
    assert _missing_sets_root(wd, 'NCT_test') == ('/o/NCT', None)


def test_a_recorded_folder_is_printed_as_recorded_and_compared_resolved(
        wd, tmp_path):
    """Review r146 of h232: a recorded data root was normalised lexically
    (``os.path.normpath``), which takes ``..`` after a link to a folder
    for the link's parent: ``s1/lnk/../NCT`` (``lnk`` a link to
    ``real/LC``, so ``real/NCT``) was printed as ``s1/NCT``, another
    folder, and the copies' command read it. The folder is printed as
    recorded now (repeated and trailing slashes dropped), and two sets'
    folders are compared resolved where they exist: ``s1/NCT`` against
    ``s1/lnk/../NCT`` is two folders (DATA_ROOT), ``real/NCT`` the same.
    And the lines of a set without its JSON (``_write_again``) judged one
    sibling: NCT_train's folder was printed where NCT_aug records
    another, as the missing set's line already said. The reference: the
    folders made here, the commands read back by extract.py's parser."""
    from lowshot_data import printed_args
    from openselfsup.lowshot.features import copies_way, load_features
    for folder in ('real/LC', 'real/NCT', 's1/NCT'):
        os.makedirs(tmp_path / folder)
    os.symlink(tmp_path / 'real' / 'LC', tmp_path / 's1' / 'lnk')
    linked = f'{tmp_path}/s1/lnk/../NCT'
    write_provenance(wd, 'clp', 'NCT_train', **CHECKPOINT_PROVENANCE,
                     cfg_options={'dataset.data_root': linked},
                     list_file=f'{linked}/meta/train_labeled.txt',
                     data_prefix=f'{linked}/data')
    command = copies_way(paths.features_path(wd, 'clp', 'NCT_aug'))
    assert printed_args(command, 'wsi_workdir/extract.py').data_root == \
        [linked], command
    test_npy = paths.features_path(wd, 'clp', 'NCT_test')
    kept = np.load(test_npy)
    os.remove(test_npy)
    assert _missing_sets_root(wd, 'NCT_test') == (linked, None)
    # its own JSON left behind: the decoy s1/NCT is another folder, the
    # one the link leads to the same
    for folder, want in ((tmp_path / 's1' / 'NCT', 'DATA_ROOT'),
                         (tmp_path / 'real' / 'NCT', str(tmp_path / 'real'
                                                         / 'NCT'))):
        np.save(test_npy, kept)
        write_provenance(wd, 'clp', 'NCT_test', **CHECKPOINT_PROVENANCE,
                         cfg_options={'dataset.data_root': str(folder)})
        os.remove(test_npy)
        root, note = _missing_sets_root(wd, 'NCT_test')
        assert root == want, (folder, note)
        assert want != 'DATA_ROOT' or note.startswith(
            f'the sets here record different folders: NCT_test {folder}, '
            f'NCT_train {linked}; give'), note
    # a set without its JSON beside two that record other folders
    os.remove(paths.provenance_path(wd, 'clp', 'NCT_test'))
    np.save(test_npy, kept)
    sup = load_features(wd, 'clp', 'NCT_train')
    np.save(paths.features_path(wd, 'clp', 'NCT_aug'), sup.features)
    np.save(paths.labels_path(wd, 'NCT_aug'), sup.labels)
    write_provenance(wd, 'clp', 'NCT_aug', **CHECKPOINT_PROVENANCE,
                     cfg_options={'dataset.data_root': '/o/NCT'})
    command, imported, _ = without_json_commands(wd, 'NCT_test')
    assert printed_args(command, 'wsi_workdir/extract.py').data_root == \
        ['DATA_ROOT'] and '(DATA_ROOT: the sets here record different ' \
        f'folders: NCT_train {linked}, NCT_aug /o/NCT' in command, command
    assert 'dataset.data_root=DATA_ROOT' in shlex.split(
        without_fill_note(imported)), imported


def test_each_printed_command_that_needs_data_root_carries_its_note(wd):
    """h237: the line of a set without its JSON beside one with one names
    two commands, the extraction and, computed elsewhere, the import;
    where neither knows where the set's images lie (LC beside NCT's sets:
    another data root) both leave ``DATA_ROOT``, but only the extraction
    said why and what to put there: a user who took the import read no
    word on it. Each carries the same note now, and each, without its
    note, is the command its parser reads with ``DATA_ROOT`` as the data
    root."""
    write_provenance(wd, 'clp', 'NCT_train', **CHECKPOINT_PROVENANCE,
                     cfg_options={'dataset.data_root': '/a/data/NCT'})
    assert not os.path.exists(paths.provenance_path(wd, 'clp', 'LC'))
    extract, imported, line = without_json_commands(wd, 'LC')
    notes = [c[len(without_fill_note(c)):] for c in (extract, imported)]
    assert notes[0].startswith(' (DATA_ROOT: no set here records where '
                               'its images lie; give the folder'), line
    assert notes[1] == notes[0], line
    args = script_main('wsi_workdir/extract.py').__globals__['parse_args'](
        shlex.split(without_fill_note(extract))[2:])
    assert args.data_root == ['DATA_ROOT'], extract
    assert 'dataset.data_root=DATA_ROOT' in shlex.split(
        without_fill_note(imported)), imported


def test_the_data_root_note_says_a_recorded_folder_absolute(wd):
    """h237: the note on ``DATA_ROOT`` named a folder or list a set's JSON
    records relative as recorded (``NCT_train read its images under p/NCT
    with dataset.data_prefix=alt``), without the folder it is relative
    to. It names it joined with the ``cwd`` the JSON records, or, where
    it records none, says it is relative to a folder not recorded. The
    reference: the JSONs written by hand, the folders joined by hand. A
    sibling's layout of its own, and the set's own JSON left behind that
    read its list under no data root of its config, or another list
    under it."""
    test_npy = paths.features_path(wd, 'clp', 'NCT_test')
    alt = dict(CHECKPOINT_PROVENANCE, list_file='p/NCT/meta/train_labeled.txt',
               data_prefix='p/NCT/alt', cfg_options={
                   'dataset.data_root': 'p/NCT', 'dataset.data_prefix': 'alt'})
    os.rename(test_npy, test_npy + '.away')
    write_provenance(wd, 'clp', 'NCT_train', **alt, cwd='/runs')
    assert _missing_sets_root(wd, 'NCT_test')[1].startswith(
        'NCT_train read its images under /runs/p/NCT with '
        'dataset.data_prefix=alt, not as nct_train.py lays them out')
    write_provenance(wd, 'clp', 'NCT_train', **alt)  # no cwd recorded
    assert _missing_sets_root(wd, 'NCT_test')[1].startswith(
        'NCT_train read its images under p/NCT (relative to a folder not '
        'recorded) with dataset.data_prefix=alt, not as')
    # NCT_test's own JSON, left behind: NCT_train records nothing
    write_provenance(wd, 'clp', 'NCT_train', **CHECKPOINT_PROVENANCE)
    os.rename(test_npy + '.away', test_npy)
    for (list_file, prefix), said in (
            (('mine/meta/t.txt', 'mine/imgs'),
             'NCT_test read its list_file /runs/mine/meta/t.txt, data_prefix'
             ' /runs/mine/imgs under no data root of nct_test.py'),
            (('data/NCT/other/t.txt', 'data/NCT/data'),
             'NCT_test records its list_file /runs/data/NCT/other/t.txt, '
             'not as nct_test.py lays out its list and images under '
             '/runs/data/NCT')):
        write_provenance(wd, 'clp', 'NCT_test', **CHECKPOINT_PROVENANCE,
                         list_file=list_file, data_prefix=prefix,
                         cwd='/runs')
        os.rename(test_npy, test_npy + '.away')
        assert _missing_sets_root(wd, 'NCT_test')[1].startswith(said)
        os.rename(test_npy + '.away', test_npy)


def _moved_away_line(wd, test=None, train=None):
    """The line for ``clp``'s NCT_test moved away with its JSON left
    (provenance ``test``, written by hand; NCT_train's ``train``, else
    the same encoder), and the extraction command it names."""
    from openselfsup.lowshot.features import load_features
    test = dict(CHECKPOINT_PROVENANCE) if test is None else test
    write_provenance(wd, 'clp', 'NCT_train',
                     **(dict(test, outputs=None) if train is None
                        else train))
    test_npy = paths.features_path(wd, 'clp', 'NCT_test')
    if os.path.exists(test_npy + '.away'):
        os.rename(test_npy + '.away', test_npy)
    write_provenance(wd, 'clp', 'NCT_test', **test)
    os.rename(test_npy, test_npy + '.away')
    with pytest.raises(InputError) as e:
        load_features(wd, 'clp', 'NCT_test')
    line = str(e.value)
    return line, line.split('make it with: ')[1].split(' --output ')[0]


def test_a_recorded_encoder_is_printed_only_where_it_is_sure(wd, tmp_path):
    """r153: the command of a set moved away took the encoder its own
    JSON records without asking whether it is the set's: a checkpoint
    replaced by another file of the name, a checkpoint or hub folder
    recorded relative (pasted elsewhere, that folder's), a JSON copied
    from another model's set of the name, one whose encoder another set
    of the model contradicts: each printed other weights that ran, exit
    0. Each prints ``CKPT`` (refused as printed) with why; a sure one the
    weights absolute. The reference: the files and JSONs written here,
    their digests computed here."""
    import hashlib
    from lowshot_data import printed_args
    ckpt = tmp_path / 'ckpt' / 'c.pth'
    os.makedirs(ckpt.parent)
    ckpt.write_bytes(b'the weights the set was extracted with')
    sha = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    mine = dict(checkpoint=str(ckpt), checkpoint_sha256=sha,
                checkpoint_kind='backbone weights', cwd=str(tmp_path))

    def pretrained(command):
        return printed_args(command + ' --output o.npy',
                            'wsi_workdir/extract.py').pretrained[0]
    line, command = _moved_away_line(wd, mine)
    assert pretrained(command) == str(ckpt) and 'CKPT' not in line, line
    # relative, joined with the recorded cwd; without one, CKPT
    line, command = _moved_away_line(wd, dict(mine, checkpoint='ckpt/c.pth'))
    assert pretrained(command) == str(ckpt), line
    line, command = _moved_away_line(wd, dict(
        mine, checkpoint='ckpt/c.pth', cwd=None))
    assert pretrained(command) == 'CKPT' and 'the weights ckpt/c.pth are ' \
        'recorded relative, without the folder' in line, line
    # the same path, another file: CKPT, both digests' starts named
    ckpt.write_bytes(b'other weights saved over it')
    now = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    line, command = _moved_away_line(wd, mine)
    assert pretrained(command) == 'CKPT', line
    assert f'the file at {ckpt} is no longer the one the set was ' \
        f'extracted with (SHA-256 now {now[:12]}, recorded {sha[:12]})' \
        in line, line
    # a JSON copied from another model's set of the name: CKPT, and none
    # of its settings
    copied = dict(CHECKPOINT_PROVENANCE, cfg_options={'model.k': 3},
                  outputs={'features': os.path.join(
                      wd, 'extracted_feats', 'fsp', 'NCT_test.npy')})
    line, command = _moved_away_line(wd, copied, dict(CHECKPOINT_PROVENANCE))
    assert pretrained(command) == 'CKPT' and 'model.k' not in command, line
    assert "fsp/NCT_test.npy, another model folder's set" in line, line
    # the sets beside it record another encoder
    line, command = _moved_away_line(wd, dict(CHECKPOINT_PROVENANCE), dict(
        CHECKPOINT_PROVENANCE, checkpoint_sha256='b' * 64))
    assert pretrained(command) == 'CKPT' and \
        'NCT_train beside it records another encoder' in line, line


def test_an_own_json_without_a_features_path_is_judged_by_its_siblings(
        wd):
    """r158: a JSON written before ``outputs`` was (2026-12-04), or one
    whose features path is relative without its ``cwd``, got ``CKPT``
    for its encoder where the base printed it, while its images' folder
    was taken: one rule for both now. Such a JSON is the set's own where
    no set beside it records another encoder (its checkpoint and its
    folder printed), and neither where one does (``CKPT`` and
    ``DATA_ROOT``, each saying why); a relative path whose
    ``extracted_feats/<model>/`` tail is another model's is another
    model's set. The reference: the values written into the JSONs here,
    read back by extract.py's parser."""
    from lowshot_data import printed_args
    mine = dict(CHECKPOINT_PROVENANCE, cwd=None,
                cfg_options={'dataset.data_root': '/s/NCT'})
    for outputs in (None, {'features': 'w/extracted_feats/clp/'
                                       'NCT_test.npy'}):
        line, command = _moved_away_line(wd, dict(mine, outputs=outputs),
                                         dict(mine, outputs=None))
        args = printed_args(command + ' --output o.npy',
                            'wsi_workdir/extract.py')
        assert args.pretrained == ['/w/clp.pth'] and \
            args.data_root == ['/s/NCT'], line
        assert 'CKPT' not in line and 'DATA_ROOT' not in line, line
    other = dict(mine, checkpoint_sha256='b' * 64, outputs=None)
    line, command = _moved_away_line(wd, dict(mine, outputs=None), other)
    args = printed_args(command + ' --output o.npy', 'wsi_workdir/extract.py')
    assert args.pretrained == ['CKPT'] and args.data_root == ['DATA_ROOT'], \
        line
    why = ('its JSON records no features path that tells whose set it '
           'describes, and NCT_train beside it records another encoder')
    assert line.count(why) == 2, line
    line, command = _moved_away_line(wd, dict(mine, outputs={
        'features': 'w/extracted_feats/fsp/NCT_test.npy'}),
        dict(mine, outputs=None))
    args = printed_args(command + ' --output o.npy', 'wsi_workdir/extract.py')
    assert args.pretrained == ['CKPT'] and args.data_root == ['DATA_ROOT'] \
        and "w/extracted_feats/fsp/NCT_test.npy, another model folder's " \
        'set' in line, line


def test_an_encoder_not_taken_is_asked_for_in_its_kinds_form(wd):
    """r158: an encoder not sure to be the set's was always asked for as
    ``--pretrained CKPT``, which a random initialisation or a library
    model cannot take. A random initialisation's is ``--random-init
    --seed SEED`` (the seed its JSON records named as that JSON's), a
    library model's ``--model-source <as recorded> --weights CKPT``, each
    with the settings that JSON records named as flags. The reference:
    the values written into the JSONs here, read by extract.py's
    parser."""
    from lowshot_data import printed_args
    contra = dict(CHECKPOINT_PROVENANCE, checkpoint_sha256='b' * 64)
    rnd = dict(checkpoint=None, checkpoint_kind='random init (seed 5)',
               seed=5, cfg_options={'model.k': 3})
    line, command = _moved_away_line(wd, rnd, contra)
    assert ' --random-init --seed SEED' in command + ' ' and \
        'model.k' not in command, line
    assert "give the seed of the random initialisation NCT_test was " \
        "extracted with (that JSON records 5), and add the settings that " \
        "JSON records where they are those NCT_test was extracted with: " \
        "--cfg-options model.k=3" in line, line
    lib = dict(CHECKPOINT_PROVENANCE, checkpoint_kind='timm weights',
               encoder={'source': 'timm:resnet18', 'library': 'timm',
                        'model': 'resnet18', 'model_kwargs': {'depth': 2}})
    line, command = _moved_away_line(wd, lib, contra)
    args = printed_args(command + ' --output o.npy', 'wsi_workdir/extract.py')
    assert args.model_source == 'timm:resnet18' and args.weights == 'CKPT' \
        and not args.model_kwargs, line
    assert 'give the weights NCT_test was extracted with, and add the ' \
        'settings that JSON records where they are those NCT_test was ' \
        'extracted with: --model-kwargs depth=2' in line, line


def test_a_random_init_without_its_seed_field_takes_the_kinds(wd):
    """r153: a random initialisation's JSON without ``seed`` printed
    ``--random-init`` alone, which ran seed 0, exit 0, and said none was
    recorded, though ``checkpoint_kind`` says ``random init (seed 5)``.
    The seed is read from there; where neither records one, ``--seed
    SEED``, which extract.py's parser refuses as printed. The reference:
    the parser, given the command."""
    from lowshot_data import printed_args
    rnd = dict(checkpoint=None, checkpoint_sha256=None,
               checkpoint_kind='random init (seed 5)')
    line, command = _moved_away_line(wd, rnd)
    args = printed_args(command + ' --output o.npy', 'wsi_workdir/extract.py')
    assert args.random_init and args.seed == 5, line
    assert 'seed' not in line.split(' --output ')[1], line
    line, command = _moved_away_line(wd, dict(rnd,
                                              checkpoint_kind='random init'))
    assert ' --random-init --seed SEED ' in command + ' ', line
    assert 'SEED: no seed of its random initialisation is recorded' in line
    with pytest.raises(SystemExit):
        printed_args(command + ' --output o.npy', 'wsi_workdir/extract.py')


def test_a_library_models_hub_folder_is_printed_absolute(wd, tmp_path):
    """r153: a library model's hub folder, recorded as typed
    (``encoder.model_config`` ``hub/config.json``), was printed
    ``--weights hub``: pasted in another folder it read that folder's
    weights, exit 0. It is joined with the recorded ``cwd``, or, without
    one, the folder of the recorded absolute checkpoint. The reference:
    the folders joined by hand. r158: only while the folder gives the
    recorded files (their digests computed here); a JSON that records no
    digest of its config file gets ``CKPT``."""
    import hashlib
    from lowshot_data import printed_args
    os.makedirs(tmp_path / 'hub')
    digests = {}
    for name in ('pytorch_model.bin', 'config.json'):
        (tmp_path / 'hub' / name).write_bytes(name.encode())
        digests[name] = hashlib.sha256(name.encode()).hexdigest()
    lib = dict(checkpoint=str(tmp_path / 'hub' / 'pytorch_model.bin'),
               checkpoint_sha256=digests['pytorch_model.bin'],
               checkpoint_kind='timm weights (torch)', cwd=str(tmp_path),
               encoder={'source': 'timm', 'library': 'timm', 'model': 'r',
                        'model_config': 'hub/config.json',
                        'model_config_sha256': digests['config.json']})
    for prov in (lib, dict(lib, cwd=None)):
        line, command = _moved_away_line(wd, prov)
        args = printed_args(command + ' --output o.npy',
                            'wsi_workdir/extract.py')
        assert args.weights == str(tmp_path / 'hub'), line
    line, command = _moved_away_line(wd, dict(lib, encoder=dict(
        lib['encoder'], model_config_sha256=None)))
    assert printed_args(command + ' --output o.npy',
                        'wsi_workdir/extract.py').weights == 'CKPT' and \
        f'the digest of {tmp_path}/hub/config.json is not recorded' in line


def test_a_number_beyond_int64_is_named_as_the_jsons(wd):
    """r153: an integer beyond int64 in the recorded ``cfg_options`` made
    the value check (``np.isfinite``) raise a TypeError inside the line.
    It is named as the JSON's, the others given."""
    line, command = _moved_away_line(wd, dict(
        CHECKPOINT_PROVENANCE, cfg_options={'model.big': 2 ** 70,
                                            'model.k': 2 ** 62}))
    assert f"'model.k={2 ** 62}'" in command or \
        f'model.k={2 ** 62}' in command, line
    assert 'model.big' not in command and \
        '--cfg-options model.big do not spell back' in line, line


def test_the_import_of_raw_features_keeps_them_raw(wd):
    """r153: the import printed for a set of imported features dropped
    the ``--no-normalise`` its JSON records (the import then normalised
    the rows), where the copies' command gave it. The reference:
    import_features.py's parser, given the command."""
    from lowshot_data import printed_args
    from openselfsup.lowshot.features import load_features
    for normalised in (False, True):
        line, _ = _moved_away_line(wd, dict(
            checkpoint=None, checkpoint_kind='imported features',
            normalised=normalised))
        command = line.split('make it with: ')[1][:-1]
        args = printed_args(command.replace('FEATURES [--paths PATHS]',
                                            'f.npy'),
                            'wsi_workdir/import_features.py')
        assert args.normalise == normalised, line
        # r158: the set moved away with its JSON, beside raw imported
        # siblings: the import named for it kept the rows raw only in
        # _write_again's line (r153's fix), not in the missing set's
        os.remove(paths.provenance_path(wd, 'clp', 'NCT_test'))
        with pytest.raises(InputError) as e:
            load_features(wd, 'clp', 'NCT_test')
        line = str(e.value)
        command = line.split('make it with: ')[1][:-1]
        args = printed_args(command.replace('FEATURES [--paths PATHS]',
                                            'f.npy'),
                            'wsi_workdir/import_features.py')
        assert args.normalise == normalised, line


def test_a_config_root_taken_lexically_is_not_said_to_be_read(wd):
    """r153: where a set's recorded list lay under its config's data root
    lexically only (``data/lnk/../NCT``, ``lnk`` not resolvable here), the
    note said it read its images under ``/u/data/NCT``, a folder it did
    not read. It names the paths it records and the root they were
    compared with. The reference: the JSON written by hand."""
    _, note = _missing_sets_root_of(wd, dict(
        CHECKPOINT_PROVENANCE, cwd='/u',
        list_file='data/lnk/../NCT/meta/test_labeled.txt',
        data_prefix='data/NCT/data'))
    assert note.startswith(
        'NCT_test records its list_file /u/data/lnk/../NCT/meta/'
        'test_labeled.txt, not as nct_test.py lays out its list and '
        'images under /u/data/NCT'), note


def _missing_sets_root_of(wd, test):
    """:func:`_missing_sets_root` of NCT_test moved away with its JSON
    ``test`` left, NCT_train recording none."""
    _moved_away_line(wd, test)
    os.remove(paths.provenance_path(wd, 'clp', 'NCT_train'))
    write_provenance(wd, 'clp', 'NCT_train', **CHECKPOINT_PROVENANCE)
    return _missing_sets_root(wd, 'NCT_test')
