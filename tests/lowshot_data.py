"""Class-structured synthetic features in the low-shot workdir layout (tests)."""
import json
import os

import numpy as np

from openselfsup.lowshot import paths

#: (feature set, number of classes, samples per class)
SETS = {'NCT_train': (9, 40), 'NCT_test': (9, 20), 'LC': (5, 40),
        'PAIP_train': (3, 36), 'PAIP_test': (3, 20)}


def class_features(rng, num_classes, per_class, dim, centers, noise=1.0):
    """Features around class centers: float32 [C*per_class, D], labels."""
    labels = np.repeat(np.arange(num_classes), per_class)
    feats = centers[labels] + noise * rng.normal(size=(len(labels), dim))
    return np.abs(feats).astype(np.float32), labels.astype(np.int64)


def make_workdir(root, model='clp', dim=64, seed=0, spread=1.0):
    """Write features, labels and meta JSONs of every set under ``root``.

    PAIP sets get slides: train rows cycle over 3 slides, test over 1.
    """
    rng = np.random.default_rng(seed)
    centers = {9: rng.normal(size=(9, dim)) * spread + 3,
               5: rng.normal(size=(5, dim)) * spread + 3,
               3: rng.normal(size=(3, dim)) * spread + 3}
    for name, (c, per) in SETS.items():
        feats, labels = class_features(rng, c, per, dim, centers[c])
        fpath = paths.features_path(root, model, name)
        os.makedirs(os.path.dirname(fpath), exist_ok=True)
        np.save(fpath, feats)
        np.save(paths.labels_path(root, name), labels)
        nslides = 3 if name == 'PAIP_train' else 1
        img = [f'slide{i % nslides}/img{i}.png' for i in range(len(labels))]
        with open(paths.meta_path(root, name), 'w') as f:
            json.dump({'paths': img,
                       'classes': [f'c{i}' for i in range(c)]}, f)
    return root


# -- running the low-shot commands in-process -------------------------------
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def script_main(rel):
    """``main`` of a command under the repository root (e.g.
    ``'wsi_workdir/sweep.py'``), imported once a session
    (``tool_module``)."""
    from _foundation_helpers import tool_module
    return tool_module(rel).main


#: the folder a printed command is read as run from: not the repository
#: root, as a user runs it from any folder (h177: the script and config
#: were printed relative to the root)
ELSEWHERE = os.path.dirname(ROOT)


def without_fill_note(command):
    """A printed command without the words after it on the ``DATA_ROOT``
    a user fills in (``features._images_flags``) and on an encoder not
    taken (``features._doubt_note``, which names flags to add): the
    command as pasted, ``DATA_ROOT`` left in it."""
    for note in (' (CKPT: the encoder recorded in ',
                 ' (SEED: the encoder recorded in ', ' (DATA_ROOT: '):
        command = command.split(note)[0]
    return command


def printed_args(command, *scripts):
    """A printed command (``python <script> ...``, ``<script>`` one of
    ``scripts``, relative to the repository root) as that script's own
    parser reads it, run from another folder than the root
    (:data:`ELSEWHERE`; a path it names: :func:`from_elsewhere`): the
    script it names there must be that checkout's file; the
    placeholders a user fills in given (``--aug_times N``,
    ``[--paths PATHS]``, the ablation's trailing words that name the
    parts' flags to add where they are unknown,
    ``ablation.PARTS_TO_ADD``), the words on ``DATA_ROOT`` dropped
    (:func:`without_fill_note`)."""
    import shlex

    from openselfsup.lowshot.ablation import PARTS_TO_ADD
    command = without_fill_note(command.split(PARTS_TO_ADD)[0])
    argv = shlex.split(command)
    assert argv[0] == 'python', command
    script = os.path.relpath(from_elsewhere(argv[1]), ROOT)
    assert script in scripts and os.path.isfile(from_elsewhere(argv[1])), \
        f'{command} names no script of {scripts} run from {ELSEWHERE}'
    if '--config' in argv:  # the config it names, there, too
        config = from_elsewhere(argv[argv.index('--config') + 1])
        assert os.path.isfile(config), f'{command}: {config} not found'
    parse = script_main(script).__globals__['parse_args']
    return parse(['2' if a == 'N' else a for a in argv[2:]
                  if a not in ('[--paths', 'PATHS]')])


def printed_scripts(line, env=False):
    """The shell-script commands a printed ``line`` names (``cd <root> &&
    sh <script>.sh [ARGS]``), each read as the shell reads
    it (``shlex``: a quoted root, ``cd '/a b/repo'``, is one word) and as a
    user pastes it in another folder than the root (:data:`ELSEWHERE`):
    the folder it runs the script in must be a checkout's root as the
    scripts' own check reads it (``wsi_workdir/sweep.py`` and ``configs/``
    there: ``_env.sh`` refuses any other folder), and the script a file
    there; a script named without its ``cd`` is refused. Returns
    ``[(script path relative to that root, [ARGS])]``; ``env``: with the
    settings given before ``sh`` (``DATA=/x sh ...``), ``[(script, [ARGS],
    {NAME: value})]``."""
    import re
    import shlex
    starts = [m.start() for m in re.finditer(r'(?<![^\s(])cd ', line)]
    assert starts, f'no script command in: {line}'
    assert len(starts) == len(re.findall(r'\bsh \S+\.sh', line)), \
        f'a script named without its cd in: {line}'
    out = []
    for start in starts:
        lex = shlex.shlex(line[start:], posix=True, punctuation_chars=True)
        lex.whitespace_split = True
        assert lex.get_token() == 'cd', line
        root = lex.get_token()
        assert lex.get_token() == '&&', line
        settings = {}
        word = lex.get_token()
        while re.fullmatch(r'[A-Z_]+=.*', word or ''):
            key, value = word.split('=', 1)
            settings[key] = value
            word = lex.get_token()
        assert word == 'sh', line
        script, args = lex.get_token(), []
        while True:
            try:
                word = lex.get_token()
            except ValueError:  # prose after the command (an apostrophe)
                break
            found = re.fullmatch(r'([A-Z][A-Z_]*)(,?)', word or '')
            if not found:
                break
            args.append(found.group(1))
            if found.group(2):  # the command ends at its comma
                break
        where = from_elsewhere(root)
        assert os.path.isfile(os.path.join(where, 'wsi_workdir', 'sweep.py')) \
            and os.path.isdir(os.path.join(where, 'configs')), \
            f'{script} of {line!r} is run in {where}, which _env.sh refuses'
        assert os.path.isfile(os.path.join(where, script)), (script, line)
        assert os.path.realpath(where) == os.path.realpath(ROOT), where
        out.append((script, args, settings) if env else (script, args))
    return out


def from_elsewhere(path):
    """``path`` of a printed command as read run from :data:`ELSEWHERE`,
    absolute."""
    return os.path.normpath(os.path.join(ELSEWHERE, path))


def printed_output(command):
    """The files a printed command (``python .../wsi_workdir/extract.py
    ...`` or ``import_features.py ...``) writes run from another folder
    than the root: its ``--output`` as the script's own parser reads it
    (:func:`printed_args`), joined with that folder, and the labels, meta
    and provenance written with it (``apis.extract.output_paths``)."""
    from openselfsup.apis.extract import output_paths
    args = printed_args(command, 'wsi_workdir/extract.py',
                        'wsi_workdir/import_features.py')
    out = args.output[0] if isinstance(args.output, list) else args.output
    return output_paths(from_elsewhere(out))


def snapshot(root):
    """Every file under ``root`` and its bytes."""
    out = {}
    for d, _, fs in os.walk(root):
        for f in fs:
            p = os.path.join(d, f)
            with open(p, 'rb') as fh:
                out[os.path.relpath(p, root)] = fh.read()
    return out


def cli_ok(main, args, capsys):
    """Run a command's main: exit 0 expected; returns its stdout."""
    from openselfsup.utils import run_cli
    assert run_cli(main, args) == 0, capsys.readouterr().err
    return capsys.readouterr().out


def cli_fails(main, args, capsys, root, match):
    """Run a command's main: one ``error:`` line containing ``match``, a
    non-zero exit, and every file under ``root`` unchanged."""
    from openselfsup.utils import run_cli
    before = snapshot(root)
    assert run_cli(main, args) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith('error: ') and '\n' not in err, err
    assert match in err, err
    assert snapshot(root) == before
    return err


def near_args(workdir, *extra, meta=False, num_task=20):
    """Flags of a near-domain 5-shot novel-7 store (or meta-test)."""
    args = ['--task', 'near', '--num_shots', '5', '--num_task', str(num_task),
            '--novel_class', '7', '--workdir', workdir]
    return args + (['--model', 'clp'] if meta else []) + list(extra)


#: the provenance fields of a feature set extracted from one checkpoint
CHECKPOINT_PROVENANCE = dict(checkpoint='/w/clp.pth',
                             checkpoint_sha256='a' * 64,
                             checkpoint_kind='MoCo checkpoint')


def write_provenance(workdir, model, name, **fields):
    """Write the provenance JSON of ``model``'s feature set ``name`` in
    ``workdir``: the digests of its features and labels as they are (so
    that it describes them), not normalised, and ``fields`` (the encoder,
    the ``cfg_options``); ``NCT_aug``'s records its copies (``aug_times``,
    as extract.py does) unless ``fields`` gives them; the features it
    describes, ``outputs.features`` (absolute), as extract.py records them
    unless ``fields`` gives them (a printed command takes the encoder of
    a JSON that names its folder's set alone); ``outputs=None``, none, as
    a JSON written before they were (2026-12-04)."""
    from openselfsup.utils import array_sha1, save_json
    fields.setdefault('outputs', {'features': os.path.abspath(
        paths.features_path(workdir, model, name))})
    if fields['outputs'] is None:
        del fields['outputs']
    f = np.load(paths.features_path(workdir, model, name))
    lab = np.load(paths.labels_path(workdir, name))
    if name == 'NCT_aug':  # extract.py --aug_times A: A copies, recorded
        fields.setdefault('aug_times', len(lab) // len(np.load(
            paths.labels_path(workdir, 'NCT_train'))))
    save_json(paths.provenance_path(workdir, model, name), {
        'features_sha1': array_sha1(f.astype(np.float32)),
        'labels_sha1': array_sha1(lab.astype(np.int64)),
        'normalised': False, **fields})


def without_json_commands(workdir, name, model='clp'):
    """The two commands the line of ``model``'s set ``name`` without its
    provenance JSON beside its ``NCT_train`` with one names
    (``features.check_all_recorded``, through ``check_same_kind``): the
    extraction and, computed elsewhere, the import, each with the words
    after it; and the whole line."""
    import pytest

    from openselfsup.lowshot.features import check_same_kind, load_features
    from openselfsup.utils import InputError
    with pytest.raises(InputError) as e:
        check_same_kind(load_features(workdir, model, 'NCT_train'),
                        load_features(workdir, model, name))
    line = str(e.value)
    extract, imported = line.split('extract it again: ')[1].split(
        ', or, computed elsewhere, import it: ')
    return extract, imported, line
