"""Bad input to the data converters, the synthetic generator and the list
reader (issue 17): one line, exit code 2, nothing written or the previous
files unchanged."""
import functools
import gzip
import os
import re
import shutil

import pytest

from _data_helpers import refused_before_writing, run_data_tool
from _foundation_helpers import REPO, error_lines, run_tool, tool_module
from openselfsup.datasets.list_files import NONORM
from openselfsup.utils import InputError

NCT_ORDER = ('BACK', 'ADI', 'DEB', 'LYM', 'MUC', 'MUS', 'NORM', 'STR', 'TUM')


def _a_complete_official_copy_converts(tmp_path, capsys):
    """An official-layout tree of every class converts (beside a refused
    one: the refusal is the copy's, not the layout's); its output."""
    other = tmp_path / 'other'
    _official_nct(other)
    rc, out, lines = run_data_tool(
        'prepare_nct', ['--root', str(other), '--split', 'official'], capsys)
    assert rc == 0 and 'NCT train           18 images' in out, lines
    return out


def _official_nct(root):
    """NCT-CRC-HE-100K and CRC-VAL-HE-7K with two tiny files per class."""
    for split in ('NCT-CRC-HE-100K', 'CRC-VAL-HE-7K'):
        for cls in NCT_ORDER:
            d = root / 'data' / split / cls
            d.mkdir(parents=True)
            for i in range(2):
                (d / f'{cls}-{i}.tif').write_bytes(b'x')


def _snapshot(folder):
    if not os.path.isdir(folder):
        return None
    return {n: open(os.path.join(folder, n), 'rb').read()
            for n in sorted(os.listdir(folder))}


def test_every_whitespace_character_is_refused_in_a_listed_path(tmp_path):
    """``check_list_paths`` finds whitespace with one regular-expression
    scan: the reference is ``str.isspace`` on every code point (the rule
    the reader splits lines by), each in a path of its own; and a path
    without any passes."""
    from openselfsup.datasets.list_files import check_list_paths
    from openselfsup.utils import InputError
    for code in range(0x110000):
        ch = chr(code)
        if 0xD800 <= code <= 0xDFFF:
            continue  # surrogates: refused as not UTF-8, judged below
        path = f'ADI/a{ch}b.tif'
        if ch.isspace():
            with pytest.raises(InputError, match='has whitespace'):
                check_list_paths([path], str(tmp_path))
        elif code % 997 == 0:  # a sample of the rest (each call is slow)
            check_list_paths([path], str(tmp_path))
    # whitespace checks found none in these: one call over every other
    # code point passes
    check_list_paths([chr(c) for c in range(0x110000)
                      if not chr(c).isspace()
                      and not 0xD800 <= c <= 0xDFFF], str(tmp_path))
    with pytest.raises(InputError, match='not UTF-8'):
        check_list_paths(['ADI/a\udc80.tif'], str(tmp_path))


def test_space_in_file_name_refused_at_conversion(tmp_path, capsys):
    """A file name with a space used to be written into the lists, and the
    reader later rejected the line, blaming the label. Now the converter
    refuses it: one line naming the file; no lists, or the previous ones
    unchanged."""
    root = tmp_path / 'NCT'
    _official_nct(root)
    bad = root / 'data' / 'CRC-VAL-HE-7K' / 'ADI' / 'ADI copy.tif'
    bad.write_bytes(b'x')
    rc, _, lines = run_data_tool('prepare_nct', ['--root', str(root)], capsys)
    assert rc == 2 and len(lines) == 1, lines
    assert "ADI copy.tif' has whitespace in its path, which a list file" \
        in lines[0]
    assert not (root / 'meta').exists()

    bad.unlink()
    rc, out, lines = run_data_tool('prepare_nct', ['--root', str(root)],
                                   capsys)
    assert rc == 0, lines
    # chosen because no NONORM images are there: said
    assert 'no NCT-CRC-HE-100K-NONORM images found, so not the published ' \
        'split' in out
    before = _snapshot(root / 'meta')
    assert len(before) == 2 * 12 + 2  # the lists, classes.txt, lists.json
    (root / 'data' / 'NCT-CRC-HE-100K' / 'TUM' / 'TUM 9.tif').write_bytes(b'x')
    rc, _, lines = run_data_tool('prepare_nct', ['--root', str(root)], capsys)
    assert rc == 2 and len(lines) == 1 and 'TUM 9.tif' in lines[0], lines
    assert _snapshot(root / 'meta') == before

    # a slide folder with a space (PAIP19) is refused the same way
    paip = tmp_path / 'PAIP19'
    for slide in ('01_01_0001', '01_01 0002'):
        (paip / 'data' / slide / '0').mkdir(parents=True)
        (paip / 'data' / slide / '0' / '0+0+0.png').write_bytes(b'x')
    rc, _, lines = run_data_tool(
        'prepare_paip19', ['--root', str(paip), '--train-slides', '1'],
        capsys)
    assert rc == 2 and len(lines) == 1, lines
    assert '01_01 0002/0/0+0+0.png' in lines[0] and 'whitespace' in lines[0]
    assert not (paip / 'meta').exists()


def test_reader_names_a_space_not_just_the_label(tmp_path):
    """A list written by something else with a space in a path: the reader's
    one line says that a path cannot hold a space."""
    from openselfsup.datasets import read_list_file
    from openselfsup.utils import InputError
    unlabeled = tmp_path / 'train.txt'
    unlabeled.write_text('ADI/ADI-1.tif\nADI/ADI copy.tif\n')
    with pytest.raises(InputError, match=r'train.txt:2: second field '
                       r"'copy.tif' is not an integer label .*a path with a "
                       'space in it cannot be listed'):
        read_list_file(str(unlabeled))
    labeled = tmp_path / 'train_labeled.txt'
    labeled.write_text('ADI/ADI copy.tif 1\n')
    with pytest.raises(InputError, match='got 3 fields .a path with a space'):
        read_list_file(str(labeled))


@pytest.mark.parametrize('args,expected', [
    (['--lc', '0'], '--lc 0: must be an integer of at least 1'),
    (['--size', '0'], '--size 0: must be an integer of at least 1'),
    (['--size', '-32'], '--size -32: must be an integer of at least 1'),
    (['--size', '100000'], '--size 100000: at most 4096 px'),
    (['--nct-train', '-1'], '--nct-train -1: must be an integer of at least'),
    (['--nct-test', '0'], '--nct-test 0: must be'),
    (['--paip-train-slides', '0'], '--paip-train-slides 0: must be'),
    (['--paip-test-slides', '-2'], '--paip-test-slides -2: must be'),
    (['--paip-per-class', '0'], '--paip-per-class 0: must be'),
    (['--seed', '-1'], '--seed must be an integer in [0, 2^63), got -1'),
    (['--seed', str(2 ** 63)], '--seed must be an integer in [0, 2^63), got '
     f'{2 ** 63}'),
])
def test_make_synthetic_refuses_sizes_counts_seeds(tmp_path, capsys, args,
                                                   expected):
    """``--lc 0`` used to write empty lists with exit 0; ``--size 0`` and a
    negative seed were tracebacks."""
    out = tmp_path / 'data'
    rc, _, lines = run_data_tool('make_synthetic', ['--out', str(out),
                                                    '--size', '8'] + args,
                                 capsys)
    assert rc == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f'error: {expected}'), lines
    assert not out.exists()


@pytest.mark.parametrize('made', ['generator', 'download'])
def test_make_synthetic_refuses_a_domain_folder_as_out(tmp_path, capsys,
                                                      made):
    """``--out data/NCT`` (the domain folder, not the folder above it) wrote
    a second dataset under ``data/NCT/NCT/`` with exit 0, and training
    went on reading the old ``data/NCT/meta`` lists. A folder that is
    itself a domain folder (the generator's marker, or ``data/`` beside
    ``meta/``) is refused in one line naming the --out to give."""
    root = tmp_path / 'data'
    if made == 'generator':
        rc, _, _ = run_data_tool('make_synthetic', [
            '--out', str(root), '--size', '8', '--nct-train', '1',
            '--nct-test', '1', '--domains', 'nct'], capsys)
        assert rc == 0
    else:
        (root / 'NCT' / 'data').mkdir(parents=True)
        (root / 'NCT' / 'meta').mkdir()
    before = sorted(p.name for p in (root / 'NCT').iterdir())
    rc, _, lines = run_data_tool('make_synthetic', [
        '--out', str(root / 'NCT'), '--size', '8', '--nct-train', '1',
        '--nct-test', '1', '--domains', 'nct'], capsys)
    assert rc == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f'error: --out {root / "NCT"}: a dataset '
                               'folder'), lines
    assert f'give --out {root}' in lines[0], lines
    assert sorted(p.name for p in (root / 'NCT').iterdir()) == before


@pytest.mark.parametrize('seed', [-1, 2 ** 63])
def test_make_crossmodal_seed_is_the_seed_rule(tmp_path, capsys, seed):
    """``make_crossmodal.py`` spelled its own check ("must be
    non-negative") and took 2**63 and beyond; now ``utils.check_seed``, the
    rule of every seed flag, before anything is written."""
    out = tmp_path / 'balance'
    rc, _, lines = run_data_tool('make_crossmodal', ['--out', str(out),
                                                     '--seed', str(seed)],
                                 capsys)
    assert rc == 2 and lines == [
        f'error: --seed must be an integer in [0, 2^63), got {seed}'], lines
    assert not out.exists()


def test_shipped_seeds_pass_the_seed_rule():
    """The defaults (the quick start's and demos' seed 0) and the largest
    seed pass every generator's check."""
    from openselfsup.datasets.synthetic import SyntheticSpec
    from openselfsup.datasets.synthetic.crossmodal import (
        CaptionedImagesSpec, SlideReportsSpec)
    for spec in (SyntheticSpec, CaptionedImagesSpec, SlideReportsSpec):
        spec().check()
        spec(seed=2 ** 63 - 1).check()


def test_make_synthetic_refusal_from_the_command_line(tmp_path):
    """The same, as a user runs it: one stderr line, no traceback."""
    rc, out, err = run_tool(['tools/prepare_data/make_synthetic.py', '--out',
                             str(tmp_path / 'data'), '--lc', '0'])
    assert rc == 2 and error_lines(err) == [
        'error: --lc 0: must be an integer of at least 1'], err
    assert not (tmp_path / 'data').exists()


@pytest.mark.parametrize('args,expected', [
    (['--seed', '-1', '--test-fraction', '0.3'], '--seed must be an integer '
     'in [0, 2^63), got -1'),
    (['--seed', str(2 ** 63), '--test-fraction', '0.3'], '--seed must be an '
     f'integer in [0, 2^63), got {2 ** 63}'),
    (['--train-slides', '0'], '--train-slides 0: must be at least 1'),
    (['--train-slides', '-4'], '--train-slides -4: must be at least 1'),
    (['--test-fraction', '0'], '--test-fraction 0.0: must lie in (0, 1)'),
    (['--test-fraction', '1.5'], '--test-fraction 1.5: must lie in (0, 1)'),
    (['--train-slides', '3'], '3 slide folders; the split trains on the '
     'first 3 slide IDs'),
    # a slide given twice: named twice in the split's note, exit 0
    (['--test-slides', '01_01_0003', '01_01_0003'],
     '--test-slides: 01_01_0003 given twice'),
])
def test_prepare_paip19_refuses_sizes_and_seeds(synthetic_root, tmp_path,
                                                capsys, args, expected):
    root = tmp_path / 'PAIP19'
    root.mkdir()
    os.symlink(os.path.join(synthetic_root, 'PAIP19', 'data'), root / 'data')
    rc, _, lines = run_data_tool('prepare_paip19',
                                 ['--root', str(root)] + args, capsys)
    assert rc == 2 and len(lines) == 1 and expected in lines[0], lines
    assert not (root / 'meta').exists()


@pytest.mark.parametrize('rules', [
    {'train_slides': 2, 'test_fraction': 0.3},
    {'test_slides': ['01_01_0003'], 'test_fraction': 0.3},
    {'train_slides': 2, 'test_slides': ['01_01_0003']}])
def test_prepare_paip19_refuses_two_split_rules(synthetic_root, tmp_path,
                                                capsys, rules):
    """Two split rules (docs/refusals.md, prepare_paip19.py's first row):
    the command's flags are one argparse group (its usage lines and
    "not allowed with"), and ``prepare_paip19()`` itself names both
    rules in one line; no list written either way."""
    from openselfsup.datasets.prepare import prepare_paip19
    from openselfsup.utils import InputError
    root = tmp_path / 'PAIP19'
    root.mkdir()
    os.symlink(os.path.join(synthetic_root, 'PAIP19', 'data'), root / 'data')
    flags = {k: f"--{k.replace('_', '-')}" for k in rules}
    argv = ['--root', str(root)]
    for key, value in rules.items():
        argv += [flags[key], *map(str, value if isinstance(value, list)
                                  else [value])]
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:
        tool_module('tools/prepare_data/prepare_paip19.py').main(argv)
    assert stop.value.code == 2
    second, first = list(flags.values())[1], list(flags.values())[0]
    assert capsys.readouterr().err.splitlines()[-1].endswith(
        f'error: argument {second}: not allowed with argument {first}')
    with pytest.raises(InputError) as refused:
        prepare_paip19(str(root), **rules)
    assert str(refused.value) == \
        f'{" and ".join(flags.values())}: give one split rule'
    assert not (root / 'meta').exists()


@pytest.mark.parametrize('tool,folder', [('prepare_nct', 'NCT'),
                                         ('prepare_lc25000', 'LC25000'),
                                         ('prepare_paip19', 'PAIP19')])
def test_converters_refuse_a_half_written_synthetic_folder(
        synthetic_root, tmp_path, capsys, monkeypatch, tool, folder):
    """A converter run on a folder whose synthetic generator was stopped
    (marker 'writing', a part of the images there) made list files from
    the part, which then looked whole (an interruption audit); now one
    line naming the generator to rerun, and no list written. It is the
    data check's line (``ownership.check_finished``): the converter's own
    named make_synthetic.py for every folder, never the command recorded
    nor a generator still writing (its lock held)."""
    import json
    import re
    import shutil

    from openselfsup.datasets.synthetic.ownership import COMMAND, MARKER
    from openselfsup.utils import locked
    root = tmp_path / folder
    shutil.copytree(os.path.join(synthetic_root, folder), root)
    shutil.rmtree(root / 'meta')
    marker = root / MARKER
    state = json.loads(marker.read_text())
    assert state['state'] == 'done'
    marker.write_text(json.dumps(dict(state, state='writing', files=None)))
    rc, _, lines = run_data_tool(tool, ['--root', str(root)], capsys)
    assert rc == 2 and lines == [
        f'error: {root}: not read: was left unfinished by make_synthetic.py '
        f'({folder}) (interrupted); rerun make_synthetic.py with the same '
        'flags'], lines
    # the command the generator recorded, its --out the one that writes
    # the folder where it is now, from the current directory
    monkeypatch.chdir(tmp_path)
    (root / COMMAND).write_text(json.dumps(dict(
        argv=['tools/prepare_data/make_synthetic.py', '--out', 'syn',
              '--size', '8'], cwd=str(tmp_path / 'x'),
        folder=str(tmp_path / 'x' / 'syn' / folder),
        out=str(tmp_path / 'x' / 'syn'))))
    rc, _, lines = run_data_tool(tool, ['--root', str(root)], capsys)
    assert rc == 2 and lines == [
        f'error: {root}: not read: was left unfinished by make_synthetic.py '
        f'({folder}) (interrupted); rerun python tools/prepare_data/'
        'make_synthetic.py --out . --size 8'], lines
    with locked(str(root)):  # a generator writing it now: wait
        rc, _, lines = run_data_tool(tool, ['--root', str(root)], capsys)
    assert rc == 2 and len(lines) == 1 and re.fullmatch(
        rf'error: {re.escape(str(root))}: not read: is being written by '
        rf'make_synthetic.py \({folder}\) \({os.getpid()}@\S+ since .+\); '
        'wait for it to end', lines[0]), lines
    assert not (root / 'meta').exists()


def test_prepare_paip19_draws_per_class_per_slide(tmp_path, capsys):
    """--per-class-slide N: N patches of every (slide, class), drawn with
    replacement from that slide's patches of that class (the published
    lists' design), split by the slide rule, reproducible from --seed;
    0 is refused."""
    from collections import Counter

    from PIL import Image
    root = tmp_path / 'PAIP19'
    counts = {f'{s:04d}': n for s, n in zip(range(1, 18), [1, 2, 3] * 6)}
    for slide, n in counts.items():
        for label in (0, 1, 2):
            folder = root / 'data' / slide / str(label)
            folder.mkdir(parents=True)
            for i in range(n * (label + 1)):
                Image.new('RGB', (4, 4)).save(
                    folder / f'{i}+{i}+{label}.png')

    def lists():
        out = {}
        for name in ('paip_train', 'paip_test'):
            with open(root / 'meta' / f'{name}_labeled.txt') as f:
                out[name] = [line.split() for line in f if line.strip()]
        return out
    rc, _, lines = run_data_tool('prepare_paip19', [
        '--root', str(root), '--per-class-slide', '7', '--seed', '3'],
        capsys)
    assert rc == 0, lines
    first = lists()
    for name, rows in first.items():
        per = Counter((p.split('/')[0], int(lab)) for p, lab in rows)
        slides = sorted(counts)[:15] if name == 'paip_train' \
            else sorted(counts)[15:]
        assert per == {(s, c): 7 for s in slides for c in (0, 1, 2)}
        for p, lab in rows:   # the patch is of that slide's class folder
            assert p.split('/')[1] == lab and os.path.isfile(
                root / 'data' / p)
    # a slide with one patch of class 0: drawn 7 times
    assert sum(p.startswith('0001/0/') for p, _ in first['paip_train']) == 7
    assert len({p for p, _ in first['paip_train']}) < len(
        first['paip_train'])
    rc, _, _ = run_data_tool('prepare_paip19', [
        '--root', str(root), '--per-class-slide', '7', '--seed', '3'],
        capsys)
    assert rc == 0 and lists() == first
    rc, _, lines = run_data_tool('prepare_paip19', [
        '--root', str(root), '--per-class-slide', '0'], capsys)
    assert rc == 2 and '--per-class-slide 0: must be at least 1' in lines[0]


def test_binary_list_file_is_one_line(tmp_path, capsys):
    """A binary file given as a list: the reader (and so ImageList and the
    converters) says so in one line instead of a UnicodeDecodeError."""
    from openselfsup.datasets import ImageList, read_list_file
    from openselfsup.utils import InputError
    binary = tmp_path / 'model.pth'
    binary.write_bytes(bytes(range(256)) * 8)
    nuls = tmp_path / 'zeros.txt'
    nuls.write_bytes(b'\0' * 64)
    broken_gz = tmp_path / 'list.txt.gz'
    broken_gz.write_bytes(gzip.compress(b'ADI/ADI-1.tif 1\n' * 50)[:40])
    for path, expected in ((binary, 'not a text list file (it holds bytes '
                                    'that are not UTF-8 text)'),
                           (nuls, 'not a text list file (binary data on '
                                  'line 1)'),
                           (broken_gz, 'cannot read the list file')):
        with pytest.raises(InputError) as info:
            read_list_file(str(path))
        assert str(info.value).startswith(f'{path}: {expected}'), info.value
        assert '\n' not in str(info.value)
    with pytest.raises(InputError, match='model.pth: not a text list file'):
        ImageList(ann_file=str(binary), data_prefix=str(tmp_path))
    # through a converter's command line
    root = tmp_path / 'NCT'
    (root / 'data' / 'ADI').mkdir(parents=True)
    rc, _, lines = run_data_tool('prepare_nct', [
        '--root', str(root), '--split-lists', str(binary), str(binary)],
        capsys)
    assert rc == 2 and lines == [f'error: {binary}: not a text list file (it '
                                 'holds bytes that are not UTF-8 text)']
    assert not (root / 'meta').exists()


def _unwritable_cases(tmp_path):
    """(output dir, expected message part): below a file; read-only dir
    (only when permission bits stop this user)."""
    blocker = tmp_path / 'a_file'
    blocker.write_text('x')
    cases = [(blocker / 'sub', 'a_file is a file, not a directory')]
    if os.geteuid() != 0:
        ro = tmp_path / 'read_only'
        ro.mkdir(mode=0o555)
        cases.append((ro / 'sub', 'output directory is not writable'))
    return cases


def test_unwritable_output_refused_before_any_work(tmp_path, capsys):
    """make_synthetic and the converters check their output directory
    first: one line, before a single image is drawn or a folder scanned."""
    for out, expected in _unwritable_cases(tmp_path):
        rc, _, lines = run_data_tool('make_synthetic', [
            '--out', str(out), '--domains', 'lc', '--size', '8'], capsys)
        assert rc == 2 and len(lines) == 1 and expected in lines[0], lines
        assert not out.exists()
    # a converter whose meta/ cannot be made: the writability check comes
    # before the data scan (there is no data/ folder at all here)
    for tool in ('prepare_nct', 'prepare_lc25000', 'prepare_paip19'):
        root = tmp_path / tool
        root.mkdir()
        (root / 'meta').write_text('a file where the lists would go')
        rc, _, lines = run_data_tool(tool, ['--root', str(root)], capsys)
        assert rc == 2 and len(lines) == 1, lines
        assert f'{root}/meta: cannot write there, {root}/meta is a file' \
            in lines[0], lines


def test_a_folder_where_a_list_goes_is_one_line_nothing_written(
        tmp_path, capsys):
    """meta/train_labeled.txt made as a folder: one line, and no list
    written (it was a traceback after train.txt had been moved in)."""
    root = tmp_path / 'NCT'
    _official_nct(root)
    (root / 'meta' / 'train_labeled.txt').mkdir(parents=True)
    rc, _, lines = run_data_tool(
        'prepare_nct', ['--root', str(root), '--split', 'official'], capsys)
    assert rc == 2 and lines == [
        f'error: {root}/meta/train_labeled.txt: is a folder where a file '
        'goes; move it away or delete it (nothing written)'], lines
    assert os.listdir(root / 'meta') == ['train_labeled.txt']


def test_split_lists_in_the_old_label_order_refused(tmp_path, capsys):
    """A split list labelled in the old order (ADI 0) is refused, naming the
    published order; an image listed in both lists too."""
    root = tmp_path / 'NCT'
    for cls in NCT_ORDER:
        (root / 'data' / cls).mkdir(parents=True)
        (root / 'data' / cls / f'{cls}-1.tif').write_bytes(b'x')
        (root / 'data' / cls / f'{cls}-2.tif').write_bytes(b'x')
    train, test = tmp_path / 'train.txt', tmp_path / 'test.txt'
    test.write_text(''.join(f'{c}/{c}-2.tif\n' for c in NCT_ORDER))
    train.write_text('ADI/ADI-1.tif 0\n')
    argv = ['--root', str(root), '--split-lists', str(train), str(test)]
    rc, _, lines = run_data_tool('prepare_nct', argv, capsys)
    assert rc == 2 and lines == [
        f'error: {train}: entry 1 (ADI/ADI-1.tif) has label 0, but ADI is '
        'label 1 in the published order (BACK 0, ADI 1, DEB 2, LYM 3, '
        'MUC 4, MUS 5, NORM 6, STR 7, TUM 8)'], lines
    train.write_text('x/ADI/ADI-2.tif 1\n')
    rc, _, lines = run_data_tool('prepare_nct', argv, capsys)
    assert rc == 2 and len(lines) == 1, lines
    assert 'ADI/ADI-2.tif is listed twice' in lines[0]
    assert not (root / 'meta').exists()
    train.write_text(''.join(f'{c}/{c}-1.tif {k}\n'
                             for k, c in enumerate(NCT_ORDER)))
    rc, out, lines = run_data_tool('prepare_nct', argv, capsys)
    assert rc == 0 and 'NCT train            9 images' in out, lines


def test_split_lists_of_another_release_refused(tmp_path, capsys):
    """NCT-CRC-HE-100K (stain-normalised) has NONORM's file names: split
    lists naming NCT-CRC-HE-100K/<CLS>/<file> were written as the NONORM
    images of those names without a word (other pixels than the user's
    split). Refused in one line, nothing written; NONORM paths (any folder
    above, absolute too; a NONORM copy kept in NCT-CRC-HE-100K/nonorm/)
    convert."""
    root = tmp_path / 'NCT'
    for release in (NONORM, 'NCT-CRC-HE-100K'):
        for cls in NCT_ORDER:
            (root / 'data' / release / cls).mkdir(parents=True)
            for tag in 'AB':
                (root / 'data' / release / cls / f'{cls}-{tag}.tif'
                 ).write_bytes(b'x')
    train, test = tmp_path / 'train.txt', tmp_path / 'test.txt'
    argv = ['--root', str(root), '--split-lists', str(train), str(test)]
    test.write_text(''.join(f'{NONORM}/{c}/{c}-B.tif\n' for c in NCT_ORDER))
    train.write_text(''.join(f'/mnt/NCT-CRC-HE-100K/{c}/{c}-A.tif {k}\n'
                             for k, c in enumerate(NCT_ORDER)))
    rc, _, lines = run_data_tool('prepare_nct', argv, capsys)
    assert rc == 2 and lines == [
        f'error: {train}: entry 1 (/mnt/NCT-CRC-HE-100K/BACK/BACK-A.tif) is '
        f'an image of NCT-CRC-HE-100K/, but --split-lists splits the {NONORM}'
        ' images (the releases share file names, not pixels): give NONORM '
        'paths, or --split official for NCT-CRC-HE-100K and CRC-VAL-HE-7K'
    ], lines
    assert not (root / 'meta').exists()
    # the folder above the class folder names the release, as the lists
    # are read (a NONORM copy kept in NCT-CRC-HE-100K/nonorm/ was refused
    # as NCT-CRC-HE-100K's images)
    for above in (f'/mnt/{NONORM}', 'NCT-CRC-HE-100K/nonorm'):
        train.write_text(''.join(f'{above}/{c}/{c}-A.tif {k}\n'
                                 for k, c in enumerate(NCT_ORDER)))
        shutil.rmtree(root / 'meta', ignore_errors=True)
        rc, out, lines = run_data_tool('prepare_nct', argv, capsys)
        assert rc == 0 and 'NCT train            9 images' in out, lines


def test_only_readable_files_are_listed_once_each(tmp_path, capsys):
    """The NCT converter listed every name with an image's extension: a
    folder ``dir.tif`` and a link whose target is gone were written into
    the lists (and counted as present for a split), and one image in two
    formats (``ADI-0.png`` beside ``ADI-0.tif``) was listed twice. Now a
    folder is not an image, a broken link is refused in one line naming
    it, and two files of one name but the extension that would both be
    listed are refused (within a list or across train and test); nothing
    written in either case."""
    root = tmp_path / 'NCT'
    _official_nct(root)
    adi = root / 'data' / 'NCT-CRC-HE-100K' / 'ADI'
    (adi / 'dir.tif').mkdir()
    broken = adi / 'ADI-broken.tif'
    broken.symlink_to(tmp_path / 'gone.tif')
    argv = ['--root', str(root)]
    rc, _, lines = run_data_tool('prepare_nct', argv, capsys)
    assert rc == 2 and lines == [
        f'error: {broken}: a link to {tmp_path / "gone.tif"}, which does not '
        'exist (moved, or a download not finished?): restore it or remove '
        'the link; nothing written'], lines
    broken.unlink()
    (adi / 'ADI-0.png').write_bytes(b'x')
    refused_before_writing(
        'prepare_nct', argv, capsys, root,
        f'{adi}: ADI-0.png and ADI-0.tif have one name but the '
        'extension (one image in two formats?) and would both be listed; '
        'keep one (nothing written)')
    (adi / 'ADI-0.png').unlink()
    rc, _, lines = run_data_tool('prepare_nct', argv, capsys)
    assert rc == 0, lines
    assert [line for line in (root / 'meta' / 'train.txt').read_text(
    ).splitlines() if '/ADI/' in line] == [
        'NCT-CRC-HE-100K/ADI/ADI-0.tif', 'NCT-CRC-HE-100K/ADI/ADI-1.tif']

    # a split of NONORM images: what it names must be a readable file
    nonorm = tmp_path / 'NONORM'
    for cls in NCT_ORDER:
        (nonorm / 'data' / cls).mkdir(parents=True)
        for name in (f'{cls}-1.tif', f'{cls}-2.tif', f'{cls}-2.png'):
            (nonorm / 'data' / cls / name).write_bytes(b'x')
    (nonorm / 'data' / 'ADI' / 'dir.tif').mkdir()
    train, test = tmp_path / 'train.txt', tmp_path / 'test.txt'
    argv = ['--root', str(nonorm), '--split-lists', str(train), str(test)]
    test.write_text(''.join(f'{c}/{c}-2.tif\n' for c in NCT_ORDER))
    train.write_text('ADI/dir.tif\n')
    rc, _, lines = run_data_tool('prepare_nct', argv, capsys)
    assert rc == 2 and len(lines) == 1, lines
    assert '1 of the 10 images of the split of --split-lists are missing ' \
        '(first: ADI/dir.tif)' in lines[0]
    # the test list has ADI-2.tif
    train.write_text('ADI/ADI-2.png\nBACK/BACK-1.tif\n')
    refused_before_writing(
        'prepare_nct', argv, capsys, nonorm,
        f'{nonorm / "data"}/ADI: ADI-2.png and ADI-2.tif have one '
        'name but the extension (one image in two formats?) and would both '
        'be listed; keep one (nothing written)')
    # ADI-2.png not listed: not refused, left out
    train.write_text('ADI/ADI-1.tif\nBACK/BACK-1.tif\n')
    rc, out, lines = run_data_tool('prepare_nct', argv, capsys)
    assert rc == 0 and 'NCT train            2 images' in out, lines


@pytest.mark.parametrize('content,name,match', [
    ('model = dict(\n  type=1,,\n', 'cfg.py', 'syntax error in the config'),
    ('x = 1\n', 'cfg.txt', 'a config is a Python file'),
    ("_base_ = './missing.py'\n", 'cfg.py', 'cannot read the config'),
])
def test_bad_config_files_are_one_line(tmp_path, content, name, match):
    """A .txt, a syntax error or a missing _base_ as config: one line that
    names the file (every command loads configs through load_config)."""
    from openselfsup.config import load_config
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputError) as exc:
        load_config(str(path))
    assert match in str(exc.value) and str(path) in str(exc.value)
    assert '\n' not in str(exc.value)


def test_a_folder_given_as_config_is_named_a_folder(tmp_path):
    """A folder where a config goes (a tab completion that stopped at
    configs/demo/) was 'config file not found', though it is there: the
    line says it is a folder and names configs in it; a missing file is
    still 'not found'."""
    from openselfsup.config import load_config
    for name in ('b.py', 'a.py', 'c.py', 'd.py', 'notes.txt'):
        (tmp_path / name).write_text('x = 1\n')
    (tmp_path / '_base_').mkdir()
    with pytest.raises(InputError) as exc:
        load_config(str(tmp_path))
    assert str(exc.value) == (
        f'{tmp_path}: is a folder, not a config file; give a config in '
        'it (a.py, b.py, c.py, ...)')
    with pytest.raises(InputError) as exc:
        load_config(str(tmp_path / '_base_'))
    assert str(exc.value) == (
        f'{tmp_path / "_base_"}: is a folder, not a config file')
    with pytest.raises(InputError) as exc:
        load_config(str(tmp_path / 'e.py'))
    assert str(exc.value) == f'{tmp_path / "e.py"}: config file not found'


def test_custom_imports_after_the_overrides_check(tmp_path, monkeypatch):
    """A config's custom_imports (the balance configs': the model stack,
    seconds) is imported after the --cfg-options check: a typo is refused
    without importing it; a good read imports what the overrides leave
    (an override of custom_imports is the one imported); a module that
    fails to import is one line naming the file."""
    import sys
    from openselfsup.config import load_config
    for name in ('cfgmod_a', 'cfgmod_b'):
        (tmp_path / f'{name}.py').write_text('VALUE = 1\n')
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / 'cfg.py'
    path.write_text("custom_imports = dict(imports=['cfgmod_a'], "
                    "allow_failed_imports=False)\n"
                    "train_cfg = dict(max_epochs=1)\n")
    with pytest.raises(InputError, match='did you mean'):
        load_config(str(path), {'train_cfg.max_epoch': 2})
    assert 'cfgmod_a' not in sys.modules
    cfg = load_config(str(path), {'custom_imports.imports': ['cfgmod_b']})
    assert 'cfgmod_b' in sys.modules and 'cfgmod_a' not in sys.modules
    assert cfg.custom_imports.imports == ['cfgmod_b']
    load_config(str(path))
    assert 'cfgmod_a' in sys.modules
    with pytest.raises(InputError) as exc:
        load_config(str(path), {'custom_imports.imports': ['cfgmod_none']})
    msg = str(exc.value)
    assert msg.startswith(f'{path}: cannot read the config (custom_imports')
    assert 'cfgmod_none' in msg and '\n' not in msg
    # a module that stops the process on import is one line too (the
    # helper extract.py's recorded imports share, review r120: rc 3, none),
    # naming that module among those the setting names (it said
    # 'SystemExit: 3', which names none)
    (tmp_path / 'cfgmod_exits.py').write_text('import sys\nsys.exit(3)\n')
    monkeypatch.delitem(sys.modules, 'cfgmod_exits', raising=False)
    with pytest.raises(InputError) as exc:
        load_config(str(path), {'custom_imports.imports': ['cfgmod_a',
                                                           'cfgmod_exits']})
    assert str(exc.value) == (f'{path}: cannot read the config '
                              '(custom_imports: importing cfgmod_exits '
                              'raised SystemExit: 3)')


@pytest.mark.parametrize('case', ['nct_zip_in_own_folder', 'nct_official',
                                  'nct_container', 'lc_container',
                                  'paip_container'])
def test_images_one_folder_too_deep_named_with_the_move(tmp_path, capsys,
                                                        case):
    """A download unpacked into a folder of its own name (or inside one
    container folder) is the commonest layout slip: the converter says
    where the images are and what to move, in one line, writes nothing; the
    same tree moved up converts. A ``__MACOSX`` folder beside the images
    (a zip made on a Mac) is ignored."""
    tool, root = {'nct': ('prepare_nct', tmp_path / 'NCT'),
                  'lc_': ('prepare_lc25000', tmp_path / 'LC25000'),
                  'pai': ('prepare_paip19', tmp_path / 'PAIP19')}[case[:3]]
    data = root / 'data'
    args = ['--root', str(root)]
    if case == 'nct_zip_in_own_folder':
        # data/NONORM/NONORM/<CLS>/ (unzipped into a folder of its name)
        where = data / NONORM
        inner = where / NONORM
        for cls in NCT_ORDER:
            (inner / cls).mkdir(parents=True)
            for tag in 'AB':
                (inner / cls / f'{cls}-{tag}.tif').write_bytes(b'x')
        args += ['--split-lists', str(_nct_list(tmp_path, 'train', 'A')),
                 str(_nct_list(tmp_path, 'test', 'B'))]
    elif case == 'nct_official':
        _official_nct(tmp_path / 'tmp')
        where = data / 'NCT-CRC-HE-100K'
        for split in ('NCT-CRC-HE-100K', 'CRC-VAL-HE-7K'):
            target = data / split
            target.mkdir(parents=True)
            src = tmp_path / 'tmp' / 'data' / split
            if split == 'NCT-CRC-HE-100K':
                target = target / split
            src.rename(target)
        inner = where / 'NCT-CRC-HE-100K'
    elif case == 'nct_container':
        _official_nct(tmp_path / 'tmp')
        where, inner = data, data / 'downloads'
        data.mkdir(parents=True)
        (tmp_path / 'tmp' / 'data').rename(inner)
    elif case == 'lc_container':
        where, inner = data, data / 'LC25000'
        for sets, classes in (('colon_image_sets', ('colon_aca', 'colon_n')),
                              ('lung_image_sets', ('lung_aca', 'lung_n',
                                                   'lung_scc'))):
            for cls in classes:
                d = inner / 'lung_colon_image_set' / sets / cls
                d.mkdir(parents=True)
                (d / f'{cls}1.jpeg').write_bytes(b'x')
    else:
        where, inner = data, data / 'patches'
        for slide in ('01_01_0001', '01_01_0002'):
            (inner / slide / '0').mkdir(parents=True)
            (inner / slide / '0' / '0+0+0.png').write_bytes(b'x')
        args += ['--train-slides', '1']
    (where / '__MACOSX').mkdir()
    rc, _, lines = run_data_tool(tool, args, capsys)
    assert rc == 2 and len(lines) == 1, lines
    assert lines[0].startswith(f'error: {where}: the ') and \
        f'one level down, in {inner.name}/' in lines[0] and \
        f'move the contents of {inner} up into {where}' in lines[0], lines
    assert not (root / 'meta').exists()
    # moved up as the line says: converts
    for item in inner.iterdir():
        item.rename(where / item.name)
    inner.rmdir()
    rc, out, lines = run_data_tool(tool, args, capsys)
    assert rc == 0, lines
    assert (root / 'meta').is_dir()


def _nct_list(tmp_path, name, *tags):
    """A NONORM split list naming ``<CLS>/<CLS>-<tag>.tif`` per class."""
    path = tmp_path / f'{name}.txt'
    path.write_text(''.join(f'{cls}/{cls}-{t}.tif\n' for cls in NCT_ORDER
                            for t in tags))
    return path


@pytest.mark.parametrize('tool', ['prepare_nct', 'prepare_lc25000',
                                  'prepare_paip19'])
def test_images_folder_given_as_the_root_names_the_root(tmp_path, capsys,
                                                        tool):
    """``--root data/NCT/data`` (the images' folder, not the dataset's) was
    told that data/NCT/data/data was not found, with the advice to extract
    the download there; the line now names the --root to give. Nothing is
    written (no meta/ beside the images)."""
    _official_nct(tmp_path / 'NCT')
    images = tmp_path / 'NCT' / 'data'
    before = sorted(p for p in images.rglob('*'))
    rc, _, lines = run_data_tool(tool, ['--root', str(images)], capsys)
    assert rc == 2 and len(lines) == 1, lines
    assert lines[0] == (
        f'error: {images}/data: folder not found; --root is the dataset\'s '
        'folder that holds data/ (the images) and meta/ (the lists): give '
        f'--root {tmp_path / "NCT"}')
    assert sorted(p for p in images.rglob('*')) == before


def test_held_out_list_holding_a_class_it_is_named_for_is_refused(
        tmp_path):
    """A ``wo_<c>`` pre-training list is judged by its name alone (the
    resume check, extraction's check of the model folder, the meta-test's
    pairing of ``fsp_wo_0`` with novel class 0): an FSP list numbered in
    ImageFolder's order (ADI 0, BACK 1) and written without label 0 left
    out ADI but trained on BACK, and the meta-test scored BACK as a novel
    class the encoder had seen, without a word. Its labels do not matter
    (the classifier head is dropped; a list relabelled after the class is
    taken out trains the same backbone): which images it holds does. An
    entry in the folder of a class the name leaves out is refused, labelled
    or not; lists without such a name are not judged."""
    from openselfsup.datasets import ImageList
    alpha = {cls: i for i, cls in enumerate(sorted(NCT_ORDER))}
    kwargs = dict(data_prefix=str(tmp_path), num_classes=9, check='none')

    def write(name, lines):
        path = tmp_path / name
        path.write_text(''.join(f'{line}\n' for line in lines))
        return str(path)

    alphabetical = write('wo_0_train_labeled.txt', [
        f'{NONORM}/{cls}/{cls}-0.tif {alpha[cls]}' for cls in NCT_ORDER
        if alpha[cls] != 0])
    with pytest.raises(InputError) as info:
        ImageList(ann_file=alphabetical, **kwargs)
    msg = str(info.value)
    assert msg.startswith(
        f'{alphabetical}: its name says it leaves out BACK, but entry 1 '
        f'({NONORM}/BACK/BACK-0.tif) lies in the folder of BACK'), msg
    assert '\n' not in msg
    unlabelled = write('wo_78_train.txt', [f'{NONORM}/{cls}/{cls}-0.tif'
                                           for cls in NCT_ORDER[6:]])
    with pytest.raises(InputError, match=r'entry 2 \(.*/STR/STR-0.tif\) '
                       'lies in the folder of STR'):
        ImageList(ann_file=unlabelled, **kwargs)
    # the published order, and a list relabelled 0..7 after LYM is out
    published = write('wo_0_train_labeled.txt', [
        f'{NONORM}/{cls}/{cls}-0.tif {i}' for i, cls in enumerate(NCT_ORDER)
        if i != 0])
    assert len(ImageList(ann_file=published, **kwargs)) == 8
    relabelled = write('wo_3_train_labeled.txt', [
        f'{NONORM}/{cls}/{cls}-0.tif {i}' for i, cls in enumerate(
            c for c in NCT_ORDER if c != 'LYM')])
    assert len(ImageList(ann_file=relabelled, **kwargs)) == 8
    # a name that says no held-out class: not judged
    assert len(ImageList(ann_file=write('my_train.txt', [
        f'{NONORM}/BACK/BACK-0.tif']), **kwargs)) == 1


def test_held_out_list_is_judged_by_what_makes_a_list_nct_s(tmp_path):
    """A ``wo_<c>`` list was judged by its entries' folder names alone, in
    their own case: a ``wo_8`` list holding ``nct/tum/TUM-AAAWMSFI.tif``
    (an NCT download's image of TUM, class 8) trained without a word,
    while a user's own ``mine/TUM/`` beside ``mine/normal/`` was refused
    for ``wo_8`` and passed for ``wo_9``. Judged now as extraction judges
    a list (review r105): a list of NCT images (``first_nct_entry``) is
    refused where an entry's folder, in any case, or its file name names a
    class it leaves out; a list of no NCT image is not judged under any
    ``wo_<c>`` name, as ``check_held_out`` does not judge an encoder
    trained on it (the reference: the same files, extracted under a
    folder of another class, are refused where the list is NCT's)."""
    from openselfsup.apis.extract import check_held_out
    from openselfsup.datasets import ImageList
    assert NCT_ORDER.index('TUM') == 8
    kwargs = dict(data_prefix=str(tmp_path), num_classes=9, check='none')
    meta = tmp_path / 'meta'
    meta.mkdir()

    def built(name, lines):
        """the list's length built, else the refusal (list as LIST)"""
        path = meta / name
        path.write_text(''.join(f'{line}\n' for line in lines))
        try:
            return len(ImageList(ann_file=str(path), **kwargs))
        except InputError as err:
            return str(err).replace(str(path), 'LIST')

    def extracted(name, model):
        """check_held_out of features under ``model`` from a checkpoint
        trained on meta/``name`` (read where it lies): refused or not"""
        out = str(tmp_path / 'extracted_feats' / model / 'NCT_train.npy')
        try:
            check_held_out(out, 'ck.pth',
                           ((f'meta/{name}', str(tmp_path)),))
        except InputError:
            return True
        return False

    downloads = ['nct/adi/ADI-AAAWMSFI.tif', 'nct/tum/TUM-AAAWMSFI.tif']
    tail = ('; every check and the meta-test read a held-out class from '
            'the name')
    assert built('wo_8_train.txt', downloads) == (
        'LIST: its name says it leaves out TUM, but entry 2 '
        '(nct/tum/TUM-AAAWMSFI.tif) lies in the folder of TUM, in a list of '
        'NCT images (entry 1 (nct/adi/ADI-AAAWMSFI.tif) is one)' + tail +
        ', in the published order (BACK 0, ADI 1, ... TUM 8; the converters '
        'in tools/prepare_data write wo_<c> lists so): write the list '
        'without those images, or name it for the classes it leaves out')
    assert built('wo_1_train.txt', downloads[1:]) == 1
    # named by the class it leaves out, in a list of NCT images: its name
    named = built('wo_8_train.txt', downloads[:1] + ['mine/x/TUM-1.png'])
    assert named.startswith('LIST: its name says it leaves out TUM, but '
                            'entry 2 (mine/x/TUM-1.png) is named as an '
                            'image of TUM, in a list of NCT images (entry 1 '
                            '(nct/adi/ADI-AAAWMSFI.tif) is one)' + tail), named
    assert extracted('wo_8_train.txt', 'clp_wo_3')  # judged: NCT's
    # a user's own list: not judged under either name, as extraction
    own = ['mine/TUM/a.png', 'mine/normal/b.png']
    for name in ('wo_8_train.txt', 'wo_9_train.txt'):
        assert built(name, own) == 2
        assert not extracted(name, 'clp_wo_3')
    # the same folder in a list of NCT images: refused under both names,
    # naming the entry that makes the list NCT's (review r109: the line
    # named the user's own entry alone), as the wo_9 line names it
    mixed = built('wo_8_train.txt', downloads[:1] + own)
    assert mixed.startswith('LIST: its name says it leaves out TUM, but '
                            'entry 2 (mine/TUM/a.png) lies in the folder of '
                            'TUM, in a list of NCT images (entry 1 '
                            '(nct/adi/ADI-AAAWMSFI.tif) is one)' + tail), mixed
    assert '\n' not in mixed
    # the entry refused is the one that makes it NCT's: said so
    assert built('wo_8_train.txt', downloads[1:] + own).startswith(
        'LIST: its name says it leaves out TUM, but entry 1 '
        '(nct/tum/TUM-AAAWMSFI.tif) lies in the folder of TUM, in a list of '
        'NCT images (this entry is one)' + tail)
    assert built('wo_9_train.txt', downloads[:1] + own).startswith(
        'LIST: its name says wo_9, which names no NCT class')


def test_renamed_nct_images_in_a_release_folder_are_nct_s(tmp_path):
    """NCT images renamed (``0001.png``) beside one entry of the user's
    own held no NCT image by the content rule (every entry in an NCT class
    folder fails with one own entry), so a ``wo_3`` list keeping LYM's
    images passed, and extraction took its encoder for another dataset's.
    Those in a class folder of an NCT release's folder
    (``NCT-CRC-HE-100K-NONORM/LYM/``) are NCT's now, for every check of
    the rule; those in folders of the user's naming (``NCT/LYM/``) are
    not: by their paths they are the user's own class folders of an NCT
    class's name (``mine/TUM/`` beside ``mine/normal/``), which pass."""
    from openselfsup.apis.extract import check_held_out
    from openselfsup.datasets import ImageList
    from openselfsup.datasets.prepare import first_nct_entry
    own = 'mine/normal/b.png'
    cases = {  # the entries, the line of the first NCT image (by hand)
        (f'{NONORM}/LYM/0001.png', own): 1,
        (own, 'CRC-VAL-HE-7K/TUM/x.png', 'NCT-CRC-HE-100K/ADI/y.png'): 2,
        ('x\\NCT-CRC-HE-100K\\TUM\\0001.png', own): 1,
        ('NCT/LYM/0001.png', own): None,  # a folder of the user's naming
        (f'{NONORM}/mine/LYM/0001.png', own): None,  # not the release's
        (f'{NONORM}/normal/b.png', own): None,  # no NCT class folder
        (f'{NONORM}/lym/0001.png', own): 1,  # in any case (r109)
        ('mine/TUM/a.png', own): None,
    }
    for paths, line in cases.items():
        assert first_nct_entry([(p, None) for p in paths]) == line, paths
    kwargs = dict(data_prefix=str(tmp_path), num_classes=9, check='none')
    meta = tmp_path / 'meta'
    meta.mkdir()
    out = str(tmp_path / 'extracted_feats' / 'clp_wo_3' / 'NCT_train.npy')
    for folder, nct in ((NONORM, True), ('NCT', False)):
        lines = f'{folder}/LYM/0001.png\n{folder}/ADI/0002.png\n{own}\n'
        listed = meta / 'wo_3_train.txt'
        listed.write_text(lines)
        every = meta / 'train.txt'
        every.write_text(lines)
        if nct:
            with pytest.raises(InputError, match=re.escape(
                    f'{listed}: its name says it leaves out LYM, but entry '
                    f'1 ({folder}/LYM/0001.png) lies in the folder of LYM')):
                ImageList(ann_file=str(listed), **kwargs)
            with pytest.raises(InputError, match='which holds every class'):
                check_held_out(out, 'ck.pth',
                               (('meta/train.txt', str(tmp_path)),))
        else:
            assert len(ImageList(ann_file=str(listed), **kwargs)) == 3
            check_held_out(out, 'ck.pth',
                           (('meta/train.txt', str(tmp_path)),))


def test_an_entry_is_read_in_the_form_its_image_is_opened(tmp_path):
    """Review r109. The content rule read an entry's release from its
    normalised path (``written_release``) but its class from the path as
    written (``own_folder``): ``NCT-CRC-HE-100K-NONORM/LYM//0001.png``
    (or ``LYM/./``) was an NCT image whose folder read as ``''`` (``'.'``),
    so a ``wo_3`` list of such entries trained with LYM's images kept.
    Each form is judged now as the path its image is opened at (the
    reference: that path written plainly, by hand), and the files are
    there (``check='exists'``), as a run opens them."""
    from openselfsup.datasets import ImageList
    from openselfsup.datasets.prepare import holds_nct_images, own_folder
    own = 'mine/normal/b.png'
    for rel in (f'{NONORM}/LYM/0001.png', f'{NONORM}/ADI/0002.png', own):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b'x')
    kwargs = dict(data_prefix=str(tmp_path), num_classes=9, check='exists')
    meta = tmp_path / 'meta'
    meta.mkdir()
    listed = meta / 'wo_3_train.txt'
    plain = f'{NONORM}/LYM/0001.png'
    written = {  # each form, as written, of the plain path (by hand)
        f'{NONORM}/LYM//0001.png', f'{NONORM}/LYM/./0001.png',
        f'./{NONORM}/LYM/0001.png', f'{NONORM}/ADI/../LYM/0001.png',
        f'{NONORM}//LYM/0001.png', plain}
    for form in sorted(written):
        assert own_folder(form) == 'LYM', form
        for tail in ([f'{NONORM}/ADI/0002.png'],
                     [f'{NONORM}/ADI/0002.png', own]):
            listed.write_text('\n'.join([form] + tail) + '\n')
            assert holds_nct_images(str(listed)) is True, form
            with pytest.raises(InputError, match=re.escape(
                    f'{listed}: its name says it leaves out LYM, but entry '
                    f'1 ({form}) lies in the folder of LYM')):
                ImageList(ann_file=str(listed), **kwargs)
    # the reference passes where the list leaves LYM out
    listed.write_text(f'{NONORM}/ADI/0002.png\n{own}\n')
    assert len(ImageList(ann_file=str(listed), **kwargs)) == 2


def _list_built(meta, name, lines, prefix):
    """The length of an ImageList of ``lines`` written to ``meta/name``
    under ``data_prefix=prefix`` (its images checked to exist), or its
    refusal, the list's path written ``LIST``."""
    from openselfsup.datasets import ImageList
    meta.mkdir(exist_ok=True)
    path = meta / name
    path.write_text(''.join(f'{line}\n' for line in lines))
    try:
        return len(ImageList(ann_file=str(path), data_prefix=prefix,
                             num_classes=9, check='exists'))
    except InputError as err:
        return str(err).replace(str(path), 'LIST')


def test_the_release_folder_may_be_the_data_root_s(tmp_path, monkeypatch):
    """Review r109. The content rule read an entry's release from the
    entry alone: ``LYM/0001.png`` under a data prefix
    ``.../NCT-CRC-HE-100K-NONORM`` (a layout in use: the data root is the
    release folder, the entries ``<CLS>/<file>``) beside one own entry
    given by its absolute path held no NCT image, and its ``wo_3`` list
    trained with LYM's images kept. ImageList reads an entry under its
    data prefix now, as the image is opened (a relative prefix from the
    current folder). The reference: the same images listed under the
    folder above, ``NCT-CRC-HE-100K-NONORM/LYM/0001.png``, refused by the
    rule as it was."""
    from openselfsup.datasets.prepare import first_nct_entry
    release = tmp_path / 'NCT' / NONORM
    own = tmp_path / 'mine' / 'normal' / 'b.png'
    for path in (release / 'LYM' / '0001.png', release / 'ADI' / '0002.png',
                 own, tmp_path / 'mine' / 'TUM' / 'a.png'):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'x')
    built = functools.partial(_list_built, tmp_path / 'meta')

    entries = ['LYM/0001.png', 'ADI/0002.png', str(own)]
    said = ('LIST: its name says it leaves out LYM, but entry 1 ({}) lies '
            'in the folder of LYM')
    # the reference: the release in the entries
    above = built('wo_3_train.txt', [f'{NONORM}/{e}' for e in entries[:2]]
                  + entries[2:], str(tmp_path / 'NCT'))
    assert above.startswith(said.format(f'{NONORM}/LYM/0001.png')), above
    refused = built('wo_3_train.txt', entries, str(release))
    assert refused.startswith(said.format('LYM/0001.png')), refused
    monkeypatch.chdir(tmp_path / 'NCT')  # a relative data prefix
    refused = built('wo_3_train.txt', entries, NONORM)
    assert refused.startswith(said.format('LYM/0001.png')), refused
    assert built('wo_9_train.txt', entries, NONORM).startswith(
        'LIST: its name says wo_9, which names no NCT class')
    # the prefix read, not the entries alone (their form passes there)
    assert [first_nct_entry([(e, None) for e in entries], root)
            for root in (None, NONORM, str(release), str(tmp_path))] == [
        None, 1, 1, None]
    # left out: passes; and a user's own data under its own root is not
    # NCT's, its TUM folder beside normal/ (review r104)
    assert built('wo_3_train.txt', entries[1:], str(release)) == 2
    assert built('wo_8_train.txt', ['TUM/a.png', 'normal/b.png'],
                 str(tmp_path / 'mine')) == 2


def test_bare_names_are_judged_by_their_own_folders_and_the_release_s(
        tmp_path, monkeypatch):
    """Review r116. The rule "every entry lies in an NCT class folder"
    read an entry under its data prefix: a user's own ``a.png`` and
    ``b.png`` listed by bare names under ``data_prefix=.../home/TUM`` in
    ``wo_8_train.txt`` were refused as lying in TUM's folder (built
    before r109), and with ``data_prefix=''`` the verdict followed the
    current folder. That rule reads the entries' own folders; the release
    folder is still read under the prefix: bare ``1.png`` under
    ``.../NCT-CRC-HE-100K-NONORM/LYM`` and ``LYM/0001.png`` under
    ``.../NCT-CRC-HE-100K-NONORM`` beside an own entry are LYM's NCT
    images, refused for ``wo_3`` (each entry's class read under the
    prefix too: read from the entry alone, bare ``1.png`` names none).
    The reference: the same bare names under a root of another name."""
    release = tmp_path / 'NCT' / NONORM
    own = tmp_path / 'mine' / 'normal' / 'b.png'
    paths = [release / 'LYM' / '0001.png', release / 'LYM' / '1.png',
             release / 'LYM' / '2.png', own]
    for root in ('TUM', 'mine', 'c/TUM'):
        paths += [tmp_path / 'home' / root / n for n in ('a.png', 'b.png')]
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b'x')
    built = functools.partial(_list_built, tmp_path / 'meta')

    bare = ['a.png', 'b.png']
    # the reference: a root of another name
    assert built('wo_8_train.txt', bare, str(tmp_path / 'home' / 'mine')) \
        == 2
    for name in ('wo_8_train.txt', 'wo_9_train.txt', 'wo_0_train.txt'):
        assert built(name, bare, str(tmp_path / 'home' / 'TUM')) == 2, name
    monkeypatch.chdir(tmp_path / 'home' / 'c' / 'TUM')
    assert built('wo_8_train.txt', bare, '') == 2
    monkeypatch.chdir(tmp_path)
    said = ('LIST: its name says it leaves out LYM, but entry 1 ({}) lies '
            'in the folder of LYM')
    refused = built('wo_3_train.txt', ['1.png', '2.png'],
                    str(release / 'LYM'))
    assert str(refused).startswith(said.format('1.png')), refused
    refused = built('wo_3_train.txt', ['LYM/0001.png', str(own)],
                    str(release))
    assert str(refused).startswith(said.format('LYM/0001.png')), refused


def test_a_list_nct_s_by_its_class_folders_names_no_one_entry(tmp_path):
    """Review r116 #2. A list NCT's because every entry lies in an NCT
    class folder (``ADI/a.png`` beside ``TUM/b.png``: no entry is an NCT
    image by itself) was refused naming entry 1 as the one that makes it
    NCT's (``(entry 1 (ADI/a.png) is one)``, for ``wo_9`` ``entry 1
    (ADI/a.png) is an NCT image``); it says the rule now. The reference:
    beside a download's name, that entry is named."""
    from openselfsup.datasets import ImageList
    from openselfsup.datasets.prepare import first_nct_entry
    meta = tmp_path / 'meta'
    meta.mkdir()

    def refusal(name, lines):
        path = meta / name
        path.write_text(''.join(f'{line}\n' for line in lines))
        with pytest.raises(InputError) as err:
            ImageList(ann_file=str(path), data_prefix=str(tmp_path),
                      check='none')
        return str(err.value).replace(str(path), 'LIST')

    folders = ['ADI/a.png', 'TUM/b.png']
    assert first_nct_entry([(p, None) for p in folders]) == 0
    msg = refusal('wo_8_train.txt', folders)
    assert msg.startswith(
        'LIST: its name says it leaves out TUM, but entry 2 (TUM/b.png) '
        'lies in the folder of TUM, in a list of NCT images (every entry '
        'lies in an NCT class folder); '), msg
    msg = refusal('wo_9_train.txt', folders)
    assert 'or wo_78), but every entry lies in an NCT class folder; ' \
        in msg, msg
    # the reference: an entry that is an NCT image by its name is named
    named = ['ADI/ADI-AAAWMSFI.tif', 'TUM/b.png']
    assert first_nct_entry([(p, None) for p in named]) == 1
    assert '(entry 1 (ADI/ADI-AAAWMSFI.tif) is one); ' in refusal(
        'wo_8_train.txt', named)
    assert 'but entry 1 (ADI/ADI-AAAWMSFI.tif) is an NCT image; ' in \
        refusal('wo_9_train.txt', named)


def test_class_folders_of_a_release_folder_are_read_in_any_case(tmp_path):
    """Review r109. A class folder in a release's folder in lower case
    (``NCT-CRC-HE-100K-NONORM/lym/0001.png``) made no entry NCT's, while
    the classes an entry holds are read in any case: beside one own entry
    its ``wo_3`` list trained with LYM's images kept. Any case now, as
    the class is read; the reference: the same list in the downloads'
    case, refused at the same line. The release's folder keeps its
    name's case, and class folders of no release's folder stay a user's
    own (``lym/`` beside ``adi/``, as ``mine/TUM/``, review r104)."""
    from openselfsup.datasets import ImageList
    from openselfsup.datasets.prepare import first_nct_entry
    own = 'mine/normal/b.png'
    meta = tmp_path / 'meta'
    meta.mkdir()

    def refusal(lines):
        path = meta / 'wo_3_train.txt'
        path.write_text(''.join(f'{line}\n' for line in lines))
        try:
            ImageList(ann_file=str(path), data_prefix=str(tmp_path),
                      num_classes=9, check='none')
        except InputError as err:
            return str(err).replace(str(path), 'LIST')
        return None

    for cls in ('LYM', 'lym', 'Lym'):
        lines = [f'{NONORM}/adi/0002.png', f'{NONORM}/{cls}/0001.png', own]
        assert first_nct_entry([(p, None) for p in lines]) == 1, cls
        msg = refusal(lines)
        assert msg is not None and msg.startswith(
            'LIST: its name says it leaves out LYM, but entry 2 '
            f'({NONORM}/{cls}/0001.png) lies in the folder of LYM'), msg
    for paths in ((f'{NONORM.lower()}/lym/0001.png', own),
                  ('lym/0001.png', 'adi/0002.png')):
        assert first_nct_entry([(p, None) for p in paths]) is None, paths
        assert refusal(paths) is None, paths


def test_nct_download_names_are_nct_s_in_any_image_extension_only(
        tmp_path):
    """Review r108. A flat copy of NCT converted to another format
    (``NCT/ADI-AAAWMSFI.png``, ``.TIF``, ``.tiff``) held no NCT image: a
    download's name was one ending in a literal ``.tif``, so an encoder
    trained on its every-class list was written for ``clp_wo_7`` without
    a word. And a user's own patches named by class in a folder of that
    class's name, in any case (``mine/TUM/TUM-0001.png`` beside
    ``mine/normal/NORM-0001.png``, ``tum/``, ``Tum/``), made the list
    NCT's, refused as its every-class list. A class-named file is NCT's
    where it bears the downloads' name form, with any image extension the
    converters read, in any case: every name of the published lists (read
    here with gzip) and every name the synthetic generator writes, each
    in a folder of the user's naming beside an own entry; the user's own
    names are not."""
    from openselfsup.apis.extract import check_held_out
    from openselfsup.datasets.prepare import IMAGE_EXTENSIONS, first_nct_entry
    from openselfsup.datasets.splits import published_path
    from openselfsup.datasets.synthetic import SyntheticSpec, make_synthetic
    own = 'mine/normal/b.png'

    def first(*paths):
        return first_nct_entry([(p, None) for p in paths])

    # each extension in lower and upper case, each published name once
    exts = [e for ext in IMAGE_EXTENSIONS for e in (ext, ext.upper())]
    names = []
    for split in ('nct_train', 'nct_test'):
        with gzip.open(published_path(split), 'rt') as f:
            names += [line.split()[0].rsplit('/', 1)[1] for line in f
                      if line.strip()]
    assert len(names) == 100000 and all(n.endswith('.tif') for n in names)
    not_nct = [n for i, n in enumerate(names)
               if first(own, f'copy/{n[:-4]}{exts[i % len(exts)]}') != 2]
    assert not_nct == []
    for name in ('ADI-TCGA-AAICEQFN.tif', 'ADI-TCGA-AAICEQFN.JPG'):  # 7K
        assert first(own, f'copy/{name}') == 2, name
    # the generator's names, flat in a folder of the user's naming
    make_synthetic(str(tmp_path / 'syn'), SyntheticSpec(
        size=16, nct_train=2, nct_test=1, domains=['nct']))
    listed = (tmp_path / 'syn' / 'NCT' / 'meta' / 'train.txt').read_text()
    written = [line.rsplit('/', 1)[1] for line in listed.split()]
    assert len(written) == 18
    for name in written:
        assert first(own, f'copy/{name}') == 2, name
    cases = {  # the entries, the line of the first NCT image (by hand)
        (own, 'NCT/ADI-AAAWMSFI.png'): 2,
        (own, 'NCT/ADI-AAAWMSFI.TIF'): 2,
        (own, 'x\\STR-AAAAAAAA.tiff'): 2,
        (own, 'NCT/ADI-AAAWMSFI.webp'): None,  # no image the lists read
        (own, 'NCT/ADI-AAAWMSFI.txt'): None,
        (own, 'NCT/ADI-AAAWMSFI'): None,
        (own, 'NCT/ADI-AAAWMSF.png'): None,  # seven capitals: not the form
        (own, 'NCT/XYZ-AAAWMSFI.png'): None,  # no NCT class
        ('mine/TUM/TUM-0001.png', 'mine/normal/NORM-0001.png'): None,
        ('mine/tum/TUM-0001.png', 'mine/norm/NORM-0001.png'): None,
        ('mine/Tum/TUM-0001.png', own): None,
        ('mine/TUM/TUM-0001.png', own, 'mine/TUM/TUM-AAAWMSFI.png'): 3,
        # every entry in an NCT class folder (the rule of folders alone)
        ('TUM/TUM-0001.png', 'NORM/NORM-0001.png'): 0,  # no one entry
    }
    for paths, line in cases.items():
        assert first(*paths) == line, paths
    # what extraction writes (the reviewer's commands): the converted
    # copy's every-class list refused for clp_wo_7, the user's written
    out = str(tmp_path / 'extracted_feats' / 'clp_wo_7' / 'NCT_train.npy')
    for lines, refused in (
            (['NCT/ADI-AAAWMSFI.png 1', 'NCT/STR-AAAAAAAA.png 7'], True),
            (['tum/TUM-0001.png 0', 'norm/NORM-0001.png 1'], False),
            (['mine/TUM/TUM-0001.png 0', 'mine/normal/NORM-0001.png 1'],
             False)):
        root = tmp_path / ('R%d' % len(list(tmp_path.glob('R*'))))
        (root / 'meta').mkdir(parents=True)
        (root / 'meta' / 'train.txt').write_text('\n'.join(lines) + '\n')
        judged = lambda: check_held_out(  # noqa: E731
            out, 'ck.pth', (('meta/train.txt', f'{root}/'),))
        if refused:
            with pytest.raises(InputError, match='which holds every class'):
                judged()
        else:
            judged()


def test_held_out_list_name_is_read_as_a_number_or_refused(tmp_path):
    """A ``wo_<c>`` list name was read as text: ``wo_00_train.txt`` (or
    ``wo_07``) named no class and was judged by nothing, so a ``wo_00``
    list written in ImageFolder's order (ADI 0 left out, BACK kept)
    trained without a word the encoder the meta-test then scored on BACK
    as novel (``wo_0`` of the same lines is refused), and a ``wo_07``
    checkpoint's features passed for ``clp_wo_3``. The id is a number now,
    as a model name's (``clp_wo_07`` is class 7). A ``wo_<c>`` of no NCT
    class (``wo_9``, ``wo_87``) left every check unjudged: refused where
    the list holds NCT images; LC25000's lists are not judged."""
    from openselfsup.apis.extract import check_held_out
    from openselfsup.classes import list_held_out
    from openselfsup.datasets import ImageList
    alpha = {cls: i for i, cls in enumerate(sorted(NCT_ORDER))}
    kwargs = dict(data_prefix=str(tmp_path), num_classes=9, check='none')
    lines = ''.join(f'{NONORM}/{cls}/{cls}-0.tif {alpha[cls]}\n'
                    for cls in NCT_ORDER if alpha[cls] != 0)

    def refusal(name):
        path = tmp_path / name
        path.write_text(lines)
        with pytest.raises(InputError) as info:
            ImageList(ann_file=str(path), **kwargs)
        return str(info.value).replace(str(path), 'LIST')

    # the same lines under either spelling of class 0: the same line
    assert refusal('wo_00_train_labeled.txt') == \
        refusal('wo_0_train_labeled.txt')
    assert [list_held_out(n) for n in ('wo_07_train.txt', 'wo_078_x.txt',
                                       'wo_0_train.txt')] == \
        [(7,), (7, 8), (0,)]
    # extraction: a wo_07 checkpoint is judged as wo_7's
    out = str(tmp_path / 'extracted_feats' / 'clp_wo_3' / 'NCT_train.npy')
    for trained in ('wo_07_train.txt', 'wo_7_train.txt'):
        with pytest.raises(InputError, match='which leaves out STR'):
            check_held_out(out, 'ck.pth', ((trained, None), ))
        check_held_out(out.replace('wo_3', 'wo_7'), 'ck.pth',
                       ((trained, None), ))
    # a user-named list beside (its initial weights' or a part's) can only
    # add seen classes: a wo_3 run's encoder has seen STR, whatever else
    # (each list with its root, here not recorded: judged by its name, as
    # the line says, the user-named list not; the encoder's own list, so
    # exported again it is read)
    for lists, init in (((('wo_3_train.txt', None),),
                         (('my_list.txt', None),)),
                        ((('wo_3_train.txt', None), ('my_list.txt', None)),
                         ())):
        with pytest.raises(InputError, match=re.escape(
                'which leaves out at most LYM (by name only: the list '
                'wo_3_train.txt, recorded without its root, was judged by '
                "its name as NCT's list leaving out LYM, and may be another "
                "dataset's list of that name); give the checkpoint trained "
                "without STR, or, if wo_3_train.txt is another dataset's, "
                'export the weights again from their training checkpoint '
                'with tools/extract_backbone_weights.py (it records the '
                'data root: run where that folder is found, so the list is '
                'read), or, without that checkpoint, write its features '
                'under extracted_feats/clp_novel_7/ (a folder without the '
                '_wo_<c> suffix is not judged) and give the meta-test '
                '--model clp_novel_7 --novel_class 7') + '$'):
            check_held_out(out.replace('wo_3', 'wo_7'), 'ck.pth', lists,
                           init)
        check_held_out(out, 'ck.pth', lists, init)  # not decided: written
    # a wo_<c> of no NCT class, of NCT images: refused in one line
    for name, said in (('wo_9_train_labeled.txt', 'wo_9'),
                       ('wo_87_train.txt', 'wo_87')):
        msg = refusal(name)
        assert msg.startswith(
            f'LIST: its name says {said}, which names no NCT class to leave '
            f'out (wo_0 .. wo_8 in the published order BACK 0, ADI 1, ... '
            f'TUM 8, or wo_78), but entry 1 ({NONORM}/BACK/BACK-0.tif) is '
            'an NCT image'), msg
        assert '\n' not in msg
    # LC25000's images under such a name: not judged
    lc = tmp_path / 'wo_9_train.txt'
    lc.write_text('lung_colon_image_set/colon_image_sets/colon_n/a.jpeg 1\n')
    assert len(ImageList(ann_file=str(lc), **kwargs)) == 1


def test_a_held_out_list_named_by_a_class_name_is_warned_once(
        tmp_path, monkeypatch):
    """``wo_LYM_train.txt`` (a class name where the published lists write
    its number, ``wo_3``) trained as a user's own list without a word:
    the held-out id is read as digits only, so every check (the resume's,
    the initial weights', extraction's folder, the meta-test's pairing)
    passed it unjudged. It is still not read as the class (``wo_norm``
    of a user may mean another thing left out), but warned of once per
    list when it is read, naming the id that is judged where the word
    names classes an id stands for. The reference: the same lines as
    ``wo_3_train.txt`` are judged (LYM left out), and a list of another
    name, or of a known id, says nothing."""
    from openselfsup.classes import list_held_out, lists_held_out_at_most
    from openselfsup.datasets import ImageList
    from openselfsup.datasets import image_list as il
    from openselfsup.utils.once import Once
    lines = []
    monkeypatch.setattr(il, 'print_log', lambda msg, **kw: lines.append(msg),
                        raising=False)
    monkeypatch.setattr(il, '_UNJUDGED_SAID', Once(), raising=False)
    kwargs = dict(data_prefix=str(tmp_path), num_classes=9, check='none')
    text = ''.join(f'{NONORM}/{cls}/{cls}-0.tif\n' for cls in NCT_ORDER
                   if cls != 'LYM')

    def read(name):
        path = tmp_path / 'meta' / name
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        ImageList(ann_file=str(path), **kwargs)
        return str(path)

    known = read('wo_3_train.txt')
    assert lists_held_out_at_most([known]) == (3, )  # judged: LYM
    read('train_mine.txt')
    assert lines == []
    named = read('wo_LYM_train.txt')
    read('wo_LYM_train.txt')  # read again (validation, a second build)
    assert lists_held_out_at_most([named]) is None  # not judged
    head = ('which names no held-out class the checks read (wo_0 .. wo_8 in '
            'the published order BACK 0, ADI 1, ... TUM 8, or wo_78): which '
            'classes it leaves out is not judged, as for a list of the '
            "user's own")
    assert lines == [f'{named}: its name says wo_LYM, {head}; if it leaves '
                     'out LYM, name it wo_3 in its place to have it judged']
    pair = read('wo_str+tum_train.txt')
    other = read('wo_stain_train.txt')
    assert lines[1:] == [
        f'{pair}: its name says wo_str+tum, {head}; if it leaves out '
        'STR+TUM, name it wo_78 in its place to have it judged',
        f'{other}: its name says wo_stain, {head}']
    assert list_held_out('wo_78_train.txt') == (7, 8)


def test_list_labelled_in_another_class_order_is_refused(tmp_path):
    """A labelled list numbering NCT's classes alphabetically (ADI 0,
    BACK 1: ImageFolder's order) instead of the published BACK 0, ADI 1
    was read as it was: every table named class 0 BACK for ADI's images.
    ImageList with class names refuses an entry in another class's folder,
    naming the line; folders that name no class (PAIP19's digits) and the
    published order pass."""
    from openselfsup.datasets import ImageList
    lines = [f'{NONORM}/{cls}/{cls}-0.tif {i}'
             for i, cls in enumerate(NCT_ORDER)]
    good = tmp_path / 'train_labeled.txt'
    good.write_text('\n'.join(lines) + '\n')
    kwargs = dict(data_prefix=str(tmp_path), classes=NCT_ORDER,
                  num_classes=9, check='none')
    assert len(ImageList(ann_file=str(good), **kwargs)) == 9
    alpha = {cls: i for i, cls in enumerate(sorted(NCT_ORDER))}
    swapped = tmp_path / 'my_train_labeled.txt'
    swapped.write_text(''.join(f'{NONORM}/{cls}/{cls}-0.tif {alpha[cls]}\n'
                               for cls in NCT_ORDER))
    with pytest.raises(InputError) as info:
        ImageList(ann_file=str(swapped), **kwargs)
    msg = str(info.value)
    assert msg.startswith(
        f'{swapped}: entry 1 ({NONORM}/BACK/BACK-0.tif) is labelled 1 (ADI) '
        'but lies in the folder of class BACK (label 0)'), msg
    assert msg.endswith('(the converters in tools/prepare_data write lists '
                        'in this order)'), msg
    assert '\n' not in msg
    # a user's own classes: no converter writes their lists; the line
    # says the order it reads and the two ways out
    own = ('tumour', 'stroma')
    mine = tmp_path / 'mine_labeled.txt'
    mine.write_text('stroma/stroma_0.png 0\ntumour/tumour_0.png 1\n')
    with pytest.raises(InputError) as info:
        ImageList(ann_file=str(mine), data_prefix=str(tmp_path),
                  classes=own, num_classes=2, check='none')
    assert str(info.value) == (
        f'{mine}: entry 1 (stroma/stroma_0.png) is labelled 0 (tumour) but '
        'lies in the folder of class stroma (label 1); the list numbers the '
        'classes in another order than tumour, stroma (the config\'s '
        'classes, label 0 first): number the list in that order, or give '
        'the classes in the list\'s order in the dataset\'s classes key '
        '(dataset.classes for extract.py, train_dataloader.dataset.classes '
        'for tools/train.py)')
    # the keys named are the ImageList's of those commands' configs, and
    # the list's order given there is the way out
    from mmengine.config import Config
    for config, key in (('configs/extraction/nct_test.py', 'dataset'),
                        ('configs/demo/fsp_r18_demo.py',
                         'train_dataloader.dataset')):
        node = Config.fromfile(os.path.join(REPO, config))
        for part in key.split('.'):
            node = node[part]
        assert node['type'] == 'ImageList', (config, key)
    assert len(ImageList(ann_file=str(mine), data_prefix=str(tmp_path),
                         classes=own[::-1], num_classes=2,
                         check='none')) == 2
    # no class names: nothing to judge; folders naming no class: passes
    assert len(ImageList(ann_file=str(swapped), data_prefix=str(tmp_path),
                         num_classes=9, check='none')) == 9
    # folders above the image's own are not judged: a published-order
    # list of absolute paths under a folder named TUM (a mount, an
    # institute) was refused, entry 1 (BACK) said to lie in TUM's folder
    mounted = tmp_path / 'TUM' / 'data'
    absolute = tmp_path / 'abs_train_labeled.txt'
    absolute.write_text(''.join(f'{mounted}/{line}\n' for line in lines))
    assert len(ImageList(ann_file=str(absolute), **kwargs)) == 9
    paip = tmp_path / 'paip_train_labeled.txt'
    paip.write_text('S01/0/1+2+0.png 0\nS01/2/3+4+2.png 2\n')
    assert len(ImageList(ann_file=str(paip), data_prefix=str(tmp_path),
                         classes=('normal', 'viable_tumor',
                                  'non_viable_tumor'), num_classes=3,
                         check='none')) == 2


def test_data_linked_to_another_nct_release_refused(tmp_path, capsys):
    """The releases share file names: ``data -> .../NCT-CRC-HE-100K`` (the
    stain-normalised images; the docs say to link the download) was read
    as NONORM and given the published split without a word, and so was a
    NONORM folder or a class folder linked to it, and an official folder
    linked to NONORM. Each is refused in one line, nothing written; the
    NONORM download linked converts."""
    downloads = tmp_path / 'downloads'
    for release in (NONORM, 'NCT-CRC-HE-100K', 'CRC-VAL-HE-7K'):
        for cls in NCT_ORDER:
            (downloads / release / cls).mkdir(parents=True)
            for tag in 'AB':
                (downloads / release / cls / f'{cls}-{tag}.tif'
                 ).write_bytes(b'x')
    lists = [str(_nct_list(tmp_path, 'train', 'A')),
             str(_nct_list(tmp_path, 'test', 'B'))]
    normed = downloads / 'NCT-CRC-HE-100K'
    cases = {  # root -> (links, the link named, split arguments)
        'direct': ({'data': normed}, 'data', ['--split-lists', *lists]),
        'nested': ({f'data/{NONORM}': normed}, f'data/{NONORM}',
                   ['--split-lists', *lists]),
        'class': ({'data/ADI': normed / 'ADI',
                   **{f'data/{c}': downloads / NONORM / c
                      for c in NCT_ORDER if c != 'ADI'}}, 'data/ADI',
                  ['--split-lists', *lists]),
        'official': ({'data/NCT-CRC-HE-100K': downloads / NONORM,
                      'data/CRC-VAL-HE-7K': downloads / 'CRC-VAL-HE-7K'},
                     'data/NCT-CRC-HE-100K', ['--split', 'official']),
    }
    for case, (links, named, args) in cases.items():
        root = tmp_path / case
        for link, target in links.items():
            (root / link).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(target, root / link)
        rc, _, lines = run_data_tool(
            'prepare_nct', ['--root', str(root), *args], capsys)
        assert rc == 2 and len(lines) == 1, (case, lines)
        real = os.path.realpath(root / named)
        got, read = ((NONORM, 'NCT-CRC-HE-100K') if case == 'official'
                     else ('NCT-CRC-HE-100K', NONORM))
        assert lines[0].startswith(
            f'error: {root / named}: a link to {real}, images of {got}, '
            f"read here as {read}'s (the NCT releases share file names, "
            'not pixels; nothing written)'), (case, lines)
        assert not (root / 'meta').exists(), case
    root = tmp_path / 'right'
    root.mkdir()
    os.symlink(downloads / NONORM, root / 'data')
    rc, out, lines = run_data_tool(
        'prepare_nct', ['--root', str(root), '--split-lists', *lists], capsys)
    assert rc == 0 and 'NCT train            9 images' in out, lines


def test_data_linked_through_a_chain_to_another_release_refused(
        tmp_path, capsys):
    """``data -> /datasets/NCT-CRC-HE-100K``, itself a link to the volume
    that holds the download under a name of no release (``/vol3/
    nct_norm``): only the chain's end was read, which names no release,
    and the stain-normalised images were converted as NONORM (exit 0).
    The folder nearest the images that names a release judges (as
    ``nonorm`` under a release folder still converts: the test above)."""
    vol = tmp_path / 'vol3' / 'nct_norm'
    for cls in NCT_ORDER:
        (vol / cls).mkdir(parents=True)
        for tag in 'AB':
            (vol / cls / f'{cls}-{tag}.tif').write_bytes(b'x')
    (tmp_path / 'datasets').mkdir()
    named = tmp_path / 'datasets' / 'NCT-CRC-HE-100K'
    os.symlink(os.path.relpath(vol, named.parent), named)  # relative
    lists = [str(_nct_list(tmp_path, 'train', 'A')),
             str(_nct_list(tmp_path, 'test', 'B'))]
    for case, link in (('data', 'data'), ('nested', f'data/{NONORM}'),
                       ('class', None)):
        root = tmp_path / case
        if link:
            (root / link).parent.mkdir(parents=True, exist_ok=True)
            os.symlink(named, root / link)
        else:  # each class folder linked into the linked release folder
            for cls in NCT_ORDER:
                (root / 'data').mkdir(parents=True, exist_ok=True)
                os.symlink(named / cls, root / 'data' / cls)
            link = 'data/BACK'
        rc, _, lines = run_data_tool(
            'prepare_nct', ['--root', str(root), '--split-lists', *lists],
            capsys)
        assert rc == 2 and len(lines) == 1, (case, lines)
        real = os.path.realpath(root / link)
        via = named / 'BACK' if case == 'class' else named
        assert lines[0].startswith(
            f'error: {root / link}: a link to {real} (through {via}), '
            f'images of NCT-CRC-HE-100K, read here as {NONORM}\'s'), lines
        assert not (root / 'meta').exists(), case


def test_nonorm_copy_stored_under_a_release_named_folder_converts(
        tmp_path, capsys):
    """A NONORM copy kept as ``/datasets/NCT-CRC-HE-100K/nonorm/`` and
    linked as ``data`` (or ``data/NCT-CRC-HE-100K-NONORM``) was refused as
    the stain-normalised release: the last release name anywhere in the
    link's real path judged it. Only the linked folder's own name (a class
    folder's: its parent's) says the release; both convert."""
    nonorm = tmp_path / 'datasets' / 'NCT-CRC-HE-100K' / 'nonorm'
    for cls in NCT_ORDER:
        (nonorm / cls).mkdir(parents=True)
        for tag in 'AB':
            (nonorm / cls / f'{cls}-{tag}.tif').write_bytes(b'x')
    lists = [str(_nct_list(tmp_path, 'train', 'A')),
             str(_nct_list(tmp_path, 'test', 'B'))]
    for case, link in (('direct', 'data'), ('nested', f'data/{NONORM}')):
        root = tmp_path / case
        (root / link).parent.mkdir(parents=True)
        os.symlink(nonorm, root / link)
        rc, out, lines = run_data_tool(
            'prepare_nct', ['--root', str(root), '--split-lists', *lists],
            capsys)
        assert rc == 0 and 'NCT train            9 images' in out, \
            (case, lines)
        prefix = f'{NONORM}/' if case == 'nested' else ''
        assert (root / 'meta' / 'train.txt').read_text().splitlines()[0] \
            == f'{prefix}BACK/BACK-A.tif', case


def test_incomplete_copy_of_the_official_release_refused(tmp_path, capsys):
    """NCT-CRC-HE-100K has the 100,000 file names of the published NONORM
    lists: a copy holding some of them (one per class here) was converted
    by --split official into a smaller training list without a word. It is
    refused in one line naming how many are absent and the first; images
    of another source (none of the names) still convert."""
    from openselfsup.datasets.splits import published_path
    published = []
    for name in ('nct_train', 'nct_test'):
        with gzip.open(published_path(name), 'rt') as f:
            published += [ln.split()[0] for ln in f if ln.strip()]
    kept = [next(p for p in published if p.startswith(f'{c}/'))
            for c in NCT_ORDER]
    root = tmp_path / 'NCT'
    _official_nct(root)
    for cls in NCT_ORDER:
        (root / 'data' / 'NCT-CRC-HE-100K' / cls / f'{cls}-0.tif').unlink()
        (root / 'data' / 'NCT-CRC-HE-100K' / cls / f'{cls}-1.tif').unlink()
    for rel in kept:
        (root / 'data' / 'NCT-CRC-HE-100K' / rel).write_bytes(b'x')
    argv = ['--root', str(root), '--split', 'official']
    rc, _, lines = run_data_tool('prepare_nct', argv, capsys)
    first = next(p for p in published if p not in kept)
    assert rc == 2 and lines == [
        f'error: {root}/data/NCT-CRC-HE-100K: {100000 - 9} of the 100000 '
        f'images of the NCT-CRC-HE-100K release are absent (first: {first}; '
        'it has the file names of the published NONORM lists): an '
        'incomplete copy; nothing written'], lines
    assert not (root / 'meta').exists()
    _a_complete_official_copy_converts(tmp_path, capsys)


def test_images_in_a_subfolder_of_a_class_folder_refused(tmp_path, capsys):
    """Class folders are flat in every published layout: images in a
    subfolder (``ADI/sub/x.tif``, a nested copy) were silently left out of
    the lists. Now refused in one line naming the subfolder and how many
    images it holds, nothing written (the official sets and a NONORM
    split); an empty subfolder says nothing."""
    root = tmp_path / 'NCT'
    _official_nct(root)
    sub = root / 'data' / 'NCT-CRC-HE-100K' / 'ADI' / 'sub'
    (sub / 'deeper').mkdir(parents=True)
    (sub / 'x.tif').write_bytes(b'x')
    (sub / 'deeper' / 'y.png').write_bytes(b'x')
    (sub / 'notes.txt').write_bytes(b'x')
    argv = ['--root', str(root), '--split', 'official']
    refused_before_writing(
        'prepare_nct', argv, capsys, root,
        f'{sub}: a subfolder of the class folder holding 2 image(s) '
        '(a nested copy?), which the lists would leave out: move them up '
        f'into {sub.parent} or remove it; nothing written')

    nonorm = tmp_path / 'NONORM'
    for cls in NCT_ORDER:
        (nonorm / 'data' / cls).mkdir(parents=True)
        for tag in 'AB':
            (nonorm / 'data' / cls / f'{cls}-{tag}.tif').write_bytes(b'x')
    (nonorm / 'data' / 'TUM' / 'copy').mkdir()
    (nonorm / 'data' / 'TUM' / 'copy' / 'TUM-C.tif').write_bytes(b'x')
    lists = [str(_nct_list(tmp_path, 'train', 'A')),
             str(_nct_list(tmp_path, 'test', 'B'))]
    argv = ['--root', str(nonorm), '--split-lists', *lists]
    rc, _, lines = run_data_tool('prepare_nct', argv, capsys)
    assert rc == 2 and len(lines) == 1 and lines[0].startswith(
        f'error: {nonorm / "data" / "TUM" / "copy"}: a subfolder of the class '
        'folder holding 1 image(s)'), lines
    assert not (nonorm / 'meta').exists()
    (nonorm / 'data' / 'TUM' / 'copy' / 'TUM-C.tif').unlink()
    rc, out, lines = run_data_tool('prepare_nct', argv, capsys)
    assert rc == 0 and 'NCT train            9 images' in out, lines


def _paip_tree(root, slides=3):
    """PAIP19 patches in the published layout: one per label per slide."""
    for s in range(slides):
        for label in range(3):
            d = root / 'data' / f'01_01_{s:04d}' / str(label)
            d.mkdir(parents=True)
            (d / f'{s}+{label}+{label}.png').write_bytes(b'x')


def test_images_in_a_subfolder_of_a_paip_label_folder_refused(tmp_path,
                                                              capsys):
    """A PAIP19 label folder is flat as NCT's and LC25000's class folders:
    patches in a subfolder (``<slide>/0/sub/x.png``) were left out of the
    lists without a word; now the one line of the class folders."""
    root = tmp_path / 'PAIP19'
    _paip_tree(root)
    sub = root / 'data' / '01_01_0000' / '0' / 'sub'
    sub.mkdir()
    (sub / '1+1+0.png').write_bytes(b'x')
    argv = ['--root', str(root), '--train-slides', '2']
    refused_before_writing(
        'prepare_paip19', argv, capsys, root,
        f'{sub}: a subfolder of the class folder holding 1 image(s) '
        '(a nested copy?), which the lists would leave out: move them up '
        f'into {sub.parent} or remove it; nothing written')
    (sub / '1+1+0.png').unlink()  # an empty subfolder says nothing
    rc, out, lines = run_data_tool('prepare_paip19', argv, capsys)
    assert rc == 0 and 'PAIP19 train         6 patches' in out, lines


@pytest.mark.parametrize('name,says', [('7+7+1.png', 'label 1'),
                                       ('01_01_0000_viable_tumor_3.png',
                                        'class viable_tumor (label 1)')])
def test_paip_file_name_saying_another_label_than_its_folder_refused(
        tmp_path, capsys, name, says):
    """A patch whose name says another label than its label folder
    (``0/7+7+1.png``, ``0/<slide>_viable_tumor_3.png``): one line, nothing
    written. A class name in the name was listed under the folder's label
    without a word (the ``<x>+<y>+<label>`` name was already refused)."""
    root = tmp_path / 'PAIP19'
    _paip_tree(root)
    patch = root / 'data' / '01_01_0000' / '0' / name
    patch.write_bytes(b'x')
    rc, _, lines = run_data_tool(
        'prepare_paip19', ['--root', str(root), '--train-slides', '2'],
        capsys)
    assert rc == 2 and lines == [
        f'error: {patch}: the file name says {says}, the folder 0'], lines
    assert not (root / 'meta').exists()


def test_paip_two_label_folders_of_one_label_refused(tmp_path, capsys):
    """``<slide>/0/`` and ``<slide>/normal/`` (the two namings of label 0)
    both holding patches: one line, nothing written. Both were listed, a
    patch copied into both twice, without a word; an empty one of the two
    says nothing."""
    root = tmp_path / 'PAIP19'
    _paip_tree(root)
    slide = root / 'data' / '01_01_0000'
    (slide / 'normal').mkdir()
    (slide / 'normal' / '0+0+0.png').write_bytes(b'x')
    argv = ['--root', str(root), '--train-slides', '2']
    refused_before_writing(
        'prepare_paip19', argv, capsys, root,
        f'{slide}: label folders 0/ and normal/ both hold label 0 '
        '(normal) (one set of patches under its two names?): keep one; '
        'nothing written')
    (slide / 'normal' / '0+0+0.png').unlink()
    rc, out, lines = run_data_tool('prepare_paip19', argv, capsys)
    assert rc == 0 and 'PAIP19 train         6 patches' in out, lines


def test_images_outside_any_class_or_slide_folder_refused(tmp_path, capsys):
    """Images directly in a folder of class folders (``NCT-CRC-HE-100K/``,
    ``colon_image_sets/``) or of slide folders (PAIP19's ``data/``) belong
    to no class or slide: they were left out of the lists without a word.
    Now one line naming the folder, how many and the first; nothing
    written. Other files there (``Thumbs.db``, ``.DS_Store``, notes) are
    not judged."""
    nct = tmp_path / 'NCT'
    _official_nct(nct)
    test_dir = nct / 'data' / 'CRC-VAL-HE-7K'
    for name in ('Thumbs.db', '.DS_Store', 'README.txt', 'ADI-9.tif'):
        (test_dir / name).write_bytes(b'x')
    refused_before_writing(
        'prepare_nct', ['--root', str(nct), '--split', 'official'], capsys,
        nct,
        f'{test_dir}: 1 image(s) directly in it, in no class folder '
        '(first: ADI-9.tif), which the lists would leave out: move them into '
        'their class folder or remove them; nothing written')
    (test_dir / 'ADI-9.tif').unlink()
    rc, _, lines = run_data_tool(
        'prepare_nct', ['--root', str(nct), '--split', 'official'], capsys)
    assert rc == 0, lines

    paip = tmp_path / 'PAIP19'
    _paip_tree(paip)
    for name in ('Thumbs.db', '01_01_0009_normal_1.png', 'x.jpg'):
        (paip / 'data' / name).write_bytes(b'x')
    argv = ['--root', str(paip), '--train-slides', '2']
    refused_before_writing(
        'prepare_paip19', argv, capsys, paip,
        f'{paip / "data"}: 2 image(s) directly in it, in no slide '
        'folder (first: 01_01_0009_normal_1.png), which the lists would '
        'leave out: move them into their slide folder or remove them; '
        'nothing written')


def test_both_accepted_layouts_at_once_refused(tmp_path, capsys):
    """Two copies in the two layouts a converter accepts (NONORM's
    ``data/NCT-CRC-HE-100K-NONORM/<CLS>/`` and ``data/<CLS>/``; LC25000's
    ``data/colon_image_sets/`` and ``data/lung_colon_image_set/``): one was
    read and the other left out without a word. Now one line naming both;
    nothing written."""
    nct = tmp_path / 'NCT'
    for prefix in (NONORM + '/', ''):
        for cls in NCT_ORDER:
            d = nct / 'data' / prefix / cls
            d.mkdir(parents=True, exist_ok=True)
            for tag in 'AB':
                (d / f'{cls}-{tag}.tif').write_bytes(b'x')
    lists = [str(_nct_list(tmp_path, 'train', 'A')),
             str(_nct_list(tmp_path, 'test', 'B'))]
    refused_before_writing(
        'prepare_nct', ['--root', str(nct), '--split-lists', *lists],
        capsys, nct,
        f'{nct / "data"}: NCT images in both layouts, '
        f'{NONORM}/<CLS>/ and <CLS>/ (ADI/, ...): two copies? keep one; '
        'nothing written')

    lc = tmp_path / 'LC25000'
    for prefix in ('', 'lung_colon_image_set/'):
        for organ, classes in (('colon', ('colon_aca', 'colon_n')),
                               ('lung', ('lung_aca', 'lung_n', 'lung_scc'))):
            for cls in classes:
                d = lc / 'data' / f'{prefix}{organ}_image_sets' / cls
                d.mkdir(parents=True)
                (d / f'{cls}1.jpeg').write_bytes(b'x')
    rc, _, lines = run_data_tool('prepare_lc25000', ['--root', str(lc)],
                                 capsys)
    assert rc == 2 and lines == [
        f'error: {lc / "data"}: LC25000 images in both layouts, '
        'lung_colon_image_set/{colon,lung}_image_sets/ and '
        '{colon,lung}_image_sets/: two copies? keep one; nothing written'], \
        lines
    assert not (lc / 'meta').exists()
    # the other layout's folders left empty (images moved out of
    # lung_colon_image_set/): no second copy, converted as before
    for organ in ('colon', 'lung'):
        for d in (lc / 'data' / 'lung_colon_image_set' /
                  f'{organ}_image_sets').iterdir():
            for f in d.iterdir():
                f.unlink()
    rc, _, lines = run_data_tool('prepare_lc25000', ['--root', str(lc)],
                                 capsys)
    assert rc == 0, lines
    assert len((lc / 'meta' / 'img_list.txt').read_text().split()) == 5


def test_one_file_under_two_listed_paths_refused(tmp_path, capsys):
    """A slide folder linked to another (``01_01_0009 -> 01_01_0000``): its
    patches were listed under both slide IDs, a training slide's patches
    in the test list without a word. Two listed paths reaching one file
    through a symbolic link are refused in one line naming both, nothing
    written; a link to a file nothing else lists converts as before."""
    root = tmp_path / 'PAIP19'
    _paip_tree(root)
    data = root / 'data'
    os.symlink('01_01_0000', data / '01_01_0009')
    argv = ['--root', str(root), '--train-slides', '2']
    refused_before_writing(
        'prepare_paip19', argv, capsys, root,
        f'{data}/01_01_0000/0/0+0+0.png and '
        f'{data}/01_01_0009/0/0+0+0.png are one file (through a symbolic '
        'link), which would be listed twice (in paip_train and paip_test); '
        'keep one (nothing written)')
    os.remove(data / '01_01_0009')
    outside = tmp_path / 'elsewhere.png'
    outside.write_bytes(b'x')
    os.symlink(outside, data / '01_01_0002' / '0' / '9+9+0.png')
    rc, out, lines = run_data_tool('prepare_paip19', argv, capsys)
    assert rc == 0 and 'PAIP19 test          4 patches' in out, lines


def test_nonorm_class_folder_in_another_case_named(tmp_path, capsys):
    """NONORM class folders in another case (``adi/``, as a case-blind file
    system or a re-zip may leave them): the line said the images were of
    another source, the synthetic generator's; it now names the folder and
    the name to give it. Nothing written."""
    root = tmp_path / 'NCT'
    folder = root / 'data' / NONORM
    for cls in NCT_ORDER:
        (folder / cls).mkdir(parents=True)
        for tag in 'AB':
            (folder / cls / f'{cls}-{tag}.tif').write_bytes(b'x')
    os.rename(folder / 'ADI', folder / 'adi')
    lists = [str(_nct_list(tmp_path, 'train', 'A')),
             str(_nct_list(tmp_path, 'test', 'B'))]
    for argv in (['--root', str(root)],
                 ['--root', str(root), '--split-lists', *lists]):
        rc, _, lines = run_data_tool('prepare_nct', argv, capsys)
        assert rc == 2 and lines == [
            f'error: {folder / "adi"}: a class folder in another case; the '
            'lists name ADI/ (names are case-sensitive): rename it; nothing '
            'written'], lines
        assert not (root / 'meta').exists()


def test_split_list_that_is_a_folder_says_so(tmp_path, capsys):
    """``--split-lists`` naming a folder: the line said "list file not
    found" of a path that is there; it now says it is a folder."""
    root = tmp_path / 'NCT'
    for cls in NCT_ORDER:
        (root / 'data' / cls).mkdir(parents=True)
        (root / 'data' / cls / f'{cls}-A.tif').write_bytes(b'x')
    test_list = str(_nct_list(tmp_path, 'test', 'A'))
    rc, _, lines = run_data_tool('prepare_nct', [
        '--root', str(root), '--split-lists', str(tmp_path), test_list],
        capsys)
    assert rc == 2 and lines == [
        f'error: {tmp_path}: is a folder, not a list file'], lines
    refused_before_writing('prepare_nct', [
        '--root', str(root), '--split-lists', str(tmp_path / 'no.txt'),
        test_list], capsys, root,
        f'{tmp_path / "no.txt"}: list file not found')


def test_two_file_links_to_one_outside_object_convert(tmp_path, capsys):
    """A git-annex / DataLad copy links each file into its object store,
    byte-identical images to one object: two such links are two listed
    images, not judged (a link to a listed file is,
    test_one_file_under_two_listed_paths_refused)."""
    root = tmp_path / 'PAIP19'
    _paip_tree(root)
    obj = tmp_path / 'annex' / 'objects' / 'SHA256E-s1--x.png'
    obj.parent.mkdir(parents=True)
    obj.write_bytes(b'x')
    for slide in ('01_01_0000', '01_01_0002'):
        os.symlink(obj, root / 'data' / slide / '0' / '5+5+0.png')
    argv = ['--root', str(root), '--train-slides', '2']
    rc, out, lines = run_data_tool('prepare_paip19', argv, capsys)
    assert rc == 0 and 'PAIP19 test          4 patches' in out, lines
    # a link to one of those links is a listed path reached twice
    chained = root / 'data' / '01_01_0002' / '0' / '6+6+0.png'
    os.symlink('5+5+0.png', chained)
    rc, _, lines = run_data_tool('prepare_paip19', argv, capsys)
    assert rc == 2 and lines == [
        f'error: {chained.parent / "5+5+0.png"} and {chained} are one file '
        '(through a symbolic link), which would be listed twice (in '
        'paip_test); keep one (nothing written)'], lines


def _lc_tree(root):
    """LC25000 in the layout without lung_colon_image_set/: one image per
    class, named as the download names them (``colonca1.jpeg``)."""
    stems = {'colon_aca': 'colonca', 'colon_n': 'colonn',
             'lung_aca': 'lungaca', 'lung_n': 'lungn', 'lung_scc': 'lungscc'}
    for cls, stem in stems.items():
        d = root / 'data' / f'{cls.split("_")[0]}_image_sets' / cls
        d.mkdir(parents=True)
        (d / f'{stem}1.jpeg').write_bytes(b'x')


def test_images_of_other_formats_refused_other_files_noted(tmp_path,
                                                           capsys):
    """A class folder's files the converters do not list were left out
    without a word: an image of another format (``ADI-9.webp``) is now
    refused in one line naming it, nothing written; any other file
    (``notes.txt``, ``Thumbs.db``; hidden ones such as ``.DS_Store`` not)
    is counted in a note naming the first; one in a subfolder is refused
    as images in a subfolder are. Upper-case extensions
    (``.TIF``, ``.JPEG``) are images, listed as before."""
    root = tmp_path / 'NCT'
    _official_nct(root)
    adi = root / 'data' / 'NCT-CRC-HE-100K' / 'ADI'
    (adi / 'ADI-9.webp').write_bytes(b'x')
    argv = ['--root', str(root), '--split', 'official']
    refused_before_writing(
        'prepare_nct', argv, capsys, root,
        f'{adi / "ADI-9.webp"}: an image in a format the converters do not '
        'list (.webp; they list .tif, .tiff, .png, .jpg, .jpeg, .jpe, '
        '.jfif, .bmp, in any case), which would be left out: convert it or '
        'move it out; nothing written')
    (adi / 'ADI-9.webp').unlink()
    (adi / 'sub').mkdir()  # in a subfolder: refused as images are
    (adi / 'sub' / 'ADI-9.webp').write_bytes(b'x')
    refused_before_writing(
        'prepare_nct', argv, capsys, root,
        f'{adi / "sub"}: a subfolder of the class folder holding 1 image(s) '
        '(a nested copy?), which the lists would leave out: move them up '
        f'into {adi} or remove it; nothing written')
    shutil.rmtree(adi / 'sub')
    for name in ('ADI-8.TIF', 'notes.txt', 'Thumbs.db', '.DS_Store'):
        (adi / name).write_bytes(b'x')
    rc, out, lines = run_data_tool('prepare_nct', argv, capsys)
    assert rc == 0, lines
    assert '2 file(s) in the class folders are not images, left out ' \
        '(first: NCT-CRC-HE-100K/ADI/Thumbs.db)' in out.splitlines()
    assert 'NCT-CRC-HE-100K/ADI/ADI-8.TIF' in \
        (root / 'meta' / 'train.txt').read_text().splitlines()

    lc = tmp_path / 'LC25000'
    _lc_tree(lc)
    colon_n = lc / 'data' / 'colon_image_sets' / 'colon_n'
    (colon_n / 'colonn2.JPEG').write_bytes(b'x')
    (colon_n / 'colonn3.gif').write_bytes(b'x')
    # 5 of the published list's names: an incomplete copy, listed sorted
    argv = ['--root', str(lc), '--every-image']
    refused_before_writing(
        'prepare_lc25000', argv, capsys, lc,
        f'{colon_n / "colonn3.gif"}: an image in a format the converters '
        'do not list (.gif; they list .tif, .tiff, .png, .jpg, .jpeg, .jpe, '
        '.jfif, .bmp, in any case), which would be left out: convert it or '
        'move it out; nothing written')
    (colon_n / 'colonn3.gif').unlink()
    rc, out, lines = run_data_tool('prepare_lc25000', argv, capsys)
    assert rc == 0 and 'not images' not in out, lines
    assert 'colon_image_sets/colon_n/colonn2.JPEG 1' in \
        (lc / 'meta' / 'img_list_labeled.txt').read_text().splitlines()


def test_empty_nonorm_folder_is_no_layout(tmp_path, capsys):
    """An empty ``NCT-CRC-HE-100K-NONORM/`` (its images moved up into
    ``data/<CLS>/``) was read as the NONORM layout: beside ``<CLS>/``
    folders refused as "NCT images in both layouts" (no image in one of
    them), beside the official folders read as NONORM images all missing.
    A NONORM folder holding no image is now no layout: the images
    there are converted."""
    nct = tmp_path / 'NCT'
    for cls in NCT_ORDER:
        (nct / 'data' / NONORM / cls).mkdir(parents=True)  # left empty
        (nct / 'data' / cls).mkdir(parents=True)
        for tag in 'AB':
            (nct / 'data' / cls / f'{cls}-{tag}.tif').write_bytes(b'x')
    lists = [str(_nct_list(tmp_path, 'train', 'A')),
             str(_nct_list(tmp_path, 'test', 'B'))]
    rc, out, lines = run_data_tool(
        'prepare_nct', ['--root', str(nct), '--split-lists', *lists],
        capsys)
    assert rc == 0 and 'NCT train            9 images' in out, lines
    assert (nct / 'meta' / 'test.txt').read_text().splitlines()[:2] == [
        'BACK/BACK-B.tif', 'ADI/ADI-B.tif']

    official = tmp_path / 'official'
    _official_nct(official)
    (official / 'data' / NONORM).mkdir()
    rc, out, lines = run_data_tool('prepare_nct', ['--root', str(official)],
                                   capsys)
    assert rc == 0, lines
    assert f'no {NONORM} images found, so not the published split' in out


@pytest.mark.parametrize('tool,folder,name,says', [
    ('prepare_nct', 'NCT-CRC-HE-100K/BACK', 'ADI-0.tif', 'class ADI, the '
     'folder BACK'),
    ('prepare_lc25000', 'colon_image_sets/colon_n', 'colonca1.jpeg',
     'class colon_aca, the folder colon_n')])
def test_file_named_for_another_class_refused(tmp_path, capsys, tool,
                                              folder, name, says):
    """The downloads name each image by its class (NCT ``ADI-<id>.tif``,
    LC25000 ``colonca<n>.jpeg``), so no name is in two class folders: a
    copy into another class folder (``BACK/ADI-0.tif`` beside
    ``ADI/ADI-0.tif``) was listed under that folder's label without a
    word. Now one line naming it, nothing written. Names of another form
    (images of another source: ``img-1.tif`` in two class folders) are not
    judged."""
    root = tmp_path / 'data_root'
    argv = ['--root', str(root)]
    if tool == 'prepare_nct':
        _official_nct(root)
        src = root / 'data' / 'NCT-CRC-HE-100K' / 'ADI' / name
    else:
        _lc_tree(root)  # some of the published names: every image found
        argv.append('--every-image')
        src = root / 'data' / 'colon_image_sets' / 'colon_aca' / name
    dst = root / 'data' / folder / name
    dst.write_bytes(src.read_bytes())
    refused_before_writing(
        tool, argv, capsys, root,
        f'{dst}: the file name says {says} (copied into the wrong class '
        'folder?): move it or remove it; nothing written')
    dst.unlink()
    other = f'img-1{os.path.splitext(name)[1]}'
    for d in (src.parent, dst.parent):
        (d / other).write_bytes(b'x')
    rc, _, lines = run_data_tool(tool, argv, capsys)
    assert rc == 0, lines


def test_paip_slide_folder_in_both_layouts_refused(tmp_path, capsys):
    """A slide folder holding patches named by class
    (``<slide>_<cls>_<n>.png``) and label folders: both were listed, a
    patch copied into both layouts twice, without a word. Now one line
    naming the slide folder, nothing written; each layout alone converts
    (``tests/test_foundation_data.py``)."""
    root = tmp_path / 'PAIP19'
    _paip_tree(root)
    slide = root / 'data' / '01_01_0000'
    for where in (slide, slide / '0'):
        (where / '01_01_0000_normal_1.png').write_bytes(b'x')
    argv = ['--root', str(root), '--train-slides', '2']
    refused_before_writing(
        'prepare_paip19', argv, capsys, root,
        f'{slide}: patches in both layouts, 1 named by class in it (first: '
        '01_01_0000_normal_1.png) and 4 in label folders (0/, 1/, 2/): two '
        'copies? keep one; nothing written')
    (slide / '01_01_0000_normal_1.png').unlink()
    rc, out, lines = run_data_tool('prepare_paip19', argv, capsys)
    assert rc == 0 and 'PAIP19 train         7 patches' in out, lines


def _paip_link_note(paths, files, test_path):
    """The hard-link note of prepare_paip19 where ``files`` files, each
    listed in both lists, are ``paths`` listed paths, the first pair
    PAIP's first train patch and ``test_path``."""
    return (f'{paths} listed paths are hard links to {files} file(s), '
            f'{files} of them in two lists (first: 01_01_0000/0/0+0+0.png '
            f'in paip_train, {test_path} in paip_test): byte-identical '
            'images linked by a deduplicating store, or a folder copied '
            'with cp -al? listed as found')

def test_hard_links_among_listed_paths_noted(tmp_path, capsys):
    """One file under two listed paths through a hard link (a slide folder
    copied with ``cp -al``: a training slide's patches in the test list)
    was listed without a word. It is not refused (a deduplicating store,
    DVC's ``cache.type hardlink`` or ``rdfind``, hard-links byte-identical
    images, as a git-annex copy symlinks them), but a note says how many,
    how many files are in two lists, and the first pair."""
    root = tmp_path / 'PAIP19'
    _paip_tree(root)
    data = root / 'data'
    argv = ['--root', str(root), '--train-slides', '2']
    rc, out, lines = run_data_tool('prepare_paip19', argv, capsys)
    assert rc == 0 and 'hard link' not in out, lines
    shutil.copytree(data / '01_01_0000', data / '01_01_0009',
                    copy_function=os.link)  # cp -al
    rc, out, lines = run_data_tool('prepare_paip19', argv, capsys)
    assert rc == 0 and 'PAIP19 test          6 patches' in out, lines
    assert _paip_link_note(6, 3, '01_01_0009/0/0+0+0.png') \
        in out.splitlines()


def test_jpeg_files_named_jpe_or_jfif_listed_and_read(tmp_path, capsys):
    """``.jpe`` and ``.jfif`` are names of JPEG files (Pillow reads them as
    it reads ``.jpg``): they were refused as "an image in a format the
    converters do not list". They are now listed as ``.jpg`` and
    ``.jpeg`` are, in any case, and the extraction config reads them."""
    from PIL import Image

    from openselfsup.apis.extract import build_dataset
    from openselfsup.config import load_config
    lc = tmp_path / 'LC25000'
    _lc_tree(lc)
    colon_n = lc / 'data' / 'colon_image_sets' / 'colon_n'
    for name in ('colonn2.jfif', 'colonn3.JPE'):
        Image.new('RGB', (4, 4), (200, 10, 10)).save(colon_n / name,
                                                      format='JPEG')
    rc, out, lines = run_data_tool(
        'prepare_lc25000', ['--root', str(lc), '--every-image'], capsys)
    assert rc == 0 and 'not images' not in out, lines
    listed = (lc / 'meta' / 'img_list_labeled.txt').read_text().splitlines()
    assert listed[1:4] == ['colon_image_sets/colon_n/colonn1.jpeg 1',
                           'colon_image_sets/colon_n/colonn2.jfif 1',
                           'colon_image_sets/colon_n/colonn3.JPE 1'], listed
    cfg = load_config(os.path.join(REPO, 'configs', 'extraction', 'lc.py'), {
        'dataset.data_root': str(lc), 'dataset.pipeline.1.scale': 8})
    dataset = build_dataset(cfg)
    for index in (2, 3):
        sample = dataset[index]
        assert tuple(sample['inputs'].shape) == (3, 8, 8)
        # red, as written (BGR, as mmcv loads; the preprocessor swaps)
        assert sample['inputs'][2].float().mean() > 150 > \
            sample['inputs'][0].float().mean()


def test_link_to_a_hard_link_of_a_listed_file_noted(tmp_path, capsys):
    """A listed symbolic link whose target is a hard link of another listed
    file (``9+9+0.png -> /store/obj.png``, ``obj.png`` hard-linked to
    ``0+0+0.png``) reaches one file under two listed paths, as two hard
    links do, but the note counted hard links only among paths that are
    no link: this pair was listed without a word. It is now counted; two
    links to one object whose other hard link is not listed are not
    (test_two_file_links_to_one_outside_object_convert)."""
    root = tmp_path / 'PAIP19'
    _paip_tree(root)
    data = root / 'data'
    store = tmp_path / 'store'
    store.mkdir()
    os.link(data / '01_01_0000' / '0' / '0+0+0.png', store / 'obj.png')
    os.symlink(store / 'obj.png', data / '01_01_0002' / '0' / '9+9+0.png')
    argv = ['--root', str(root), '--train-slides', '2']
    rc, out, lines = run_data_tool('prepare_paip19', argv, capsys)
    assert rc == 0 and 'PAIP19 test          4 patches' in out, lines
    assert _paip_link_note(2, 1, '01_01_0002/0/9+9+0.png') \
        in out.splitlines(), out
    # both links to the object, its other hard link unlisted: no note
    os.remove(data / '01_01_0002' / '0' / '9+9+0.png')
    obj = tmp_path / 'obj2.png'
    obj.write_bytes(b'y')
    os.link(obj, store / 'other.png')
    for slide in ('01_01_0001', '01_01_0002'):
        os.symlink(obj, data / slide / '0' / '5+5+0.png')
    rc, out, lines = run_data_tool('prepare_paip19', argv, capsys)
    assert rc == 0 and 'hard link' not in out, out


def test_official_release_judged_by_name_not_extension(tmp_path, capsys):
    """``--split official`` judges NCT-CRC-HE-100K complete by the
    100,000 file names it shares with the published NONORM lists
    (``ADI/ADI-AAAFLCLY.tif`` in both releases). A copy whose files were
    converted (``.png``) or renamed (``.TIF``) held none of those names:
    an incomplete one was converted into a smaller training list without
    a word. Names are now compared without their extension (an incomplete
    converted copy is refused as the original is); a copy holding none of
    them still converts, with a note that it was not checked."""
    from openselfsup.datasets.splits import read_published
    kept = [next(p for p, _ in read_published('nct_train')
                 if p.startswith(f'{c}/')) for c in NCT_ORDER]
    root = tmp_path / 'NCT'
    _official_nct(root)
    release = root / 'data' / 'NCT-CRC-HE-100K'
    for cls in NCT_ORDER:
        for i in range(2):
            (release / cls / f'{cls}-{i}.tif').unlink()
    for rel in kept:
        (release / rel.replace('.tif', '.png')).write_bytes(b'x')
    argv = ['--root', str(root), '--split', 'official']
    rc, _, lines = run_data_tool('prepare_nct', argv, capsys)
    assert rc == 2 and len(lines) == 1 and lines[0].startswith(
        f'error: {release}: {100000 - 9} of the 100000 images of the '
        'NCT-CRC-HE-100K release are absent (first: '), lines
    assert not (root / 'meta').exists()
    out = _a_complete_official_copy_converts(tmp_path, capsys)
    assert 'NCT-CRC-HE-100K/ holds none of the file names of the release ' \
        '(those of the published NONORM lists, any extension): renamed ' \
        'files or images of another source, not checked for completeness' \
        in out.splitlines(), out


def test_lists_not_written_here_are_not_replaced(tmp_path, capsys):
    """A converter wrote its lists over any file of their names in meta/:
    a hand-made ``train.txt`` (or one edited since) was replaced without a
    word. The lists written (by a converter or the generator) are now
    recorded in ``meta/lists.json`` with their digests; a file of a list's
    name that the record does not name as it is now, and that differs from
    what would be written, is refused in one line, nothing written. The
    converter's own lists are replaced, and a rerun rewrites them as they
    were."""
    root = tmp_path / 'NCT'
    _official_nct(root)
    meta = root / 'meta'
    meta.mkdir()
    hand = 'NCT-CRC-HE-100K/ADI/ADI-0.tif\n'
    (meta / 'train.txt').write_text(hand)
    argv = ['--root', str(root), '--split', 'official']
    refusal = ['error: {}: exists and is not a list written here (not as '
               'lists.json records it: made or edited by hand, or written '
               'before the converters kept that record?); move it away or '
               'delete it first (nothing written)']
    rc, _, lines = run_data_tool('prepare_nct', argv, capsys)
    assert rc == 2 and lines == [refusal[0].format(meta / 'train.txt')], \
        lines
    assert os.listdir(meta) == ['train.txt']
    assert (meta / 'train.txt').read_text() == hand
    (meta / 'train.txt').unlink()
    rc, _, lines = run_data_tool('prepare_nct', argv, capsys)
    assert rc == 0, lines
    first = _snapshot(meta)
    assert 'lists.json' in first and len(first) == 2 * 12 + 2
    rc, _, lines = run_data_tool('prepare_nct', argv, capsys)  # idempotent
    assert rc == 0 and _snapshot(meta) == first, lines
    # its own lists replaced by another run's
    (root / 'data' / 'NCT-CRC-HE-100K' / 'ADI' / 'ADI-1.tif').unlink()
    rc, out, lines = run_data_tool('prepare_nct', argv, capsys)
    assert rc == 0 and 'NCT train           17 images' in out, lines
    # one edited since, or a hand-made classes.txt: refused
    for name in ('test_labeled.txt', 'classes.txt'):
        before = _snapshot(meta)
        with open(meta / name, 'a') as f:
            f.write('mine\n')
        rc, _, lines = run_data_tool('prepare_nct', argv, capsys)
        assert rc == 2 and lines == [refusal[0].format(meta / name)], lines
        assert _snapshot(meta) == {**before, name: before[name] + b'mine\n'}
        (meta / name).write_bytes(before[name])
    # lists of the same entries but no record (a copy of the published
    # ones): nothing lost, replaced; a lists.json that is no record: refused
    (meta / 'lists.json').unlink()
    rc, _, lines = run_data_tool('prepare_nct', argv, capsys)
    assert rc == 0 and (meta / 'lists.json').exists(), lines
    (meta / 'lists.json').write_text('{"mine": 1}\n')
    rc, _, lines = run_data_tool('prepare_nct', argv, capsys)
    assert rc == 2 and lines == [
        f'error: {meta / "lists.json"}: exists and is not the record of the '
        'lists written here; give another --root or delete it first'], lines



def test_unreadable_file_of_a_lists_name_refused(tmp_path, capsys,
                                                 monkeypatch):
    """A file of a list's name in meta/ that cannot be read (no read
    permission; simulated, as root reads any file) cannot be judged a list
    written here: it was a traceback; now one line, nothing written."""
    root = tmp_path / 'NCT'
    _official_nct(root)
    meta = root / 'meta'
    meta.mkdir()
    (meta / 'train.txt').write_text('NCT-CRC-HE-100K/ADI/ADI-0.tif\n')
    real_open = open

    def deny(path, *args, **kwargs):
        if str(path) == str(meta / 'train.txt'):
            raise PermissionError(13, 'Permission denied', str(path))
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr('builtins.open', deny)
    rc, _, lines = run_data_tool('prepare_nct', ['--root', str(root),
                                                 '--split', 'official'],
                                 capsys)
    monkeypatch.undo()
    assert rc == 2 and lines == [
        f'error: {meta / "train.txt"}: exists and cannot be read '
        '(Permission denied) to tell whether it is a list written here; '
        'move it away or delete it first (nothing written)'], lines
    assert os.listdir(meta) == ['train.txt']

def test_incomplete_copy_of_lc25000_refused(tmp_path, capsys):
    """An LC25000 copy holding some but not all of the 25,000 images of the
    published list was listed sorted by path, not in the published order,
    with a note only: tasks, drawn by index, pick other images than the
    published code's. It is now refused in one line (how many absent, the
    first), as PAIP19's incomplete copies are; ``--every-image`` lists
    every image found, sorted, with a note. Images of another source
    (none of the names) are listed sorted, as before."""
    lc = tmp_path / 'LC25000'
    _lc_tree(lc)  # colonca1.jpeg ...: 5 of the published list's names
    refused_before_writing(
        'prepare_lc25000', ['--root', str(lc)], capsys, lc,
        f'{lc / "data"}: 24995 of the 25000 images that '
        'img_list_labeled.txt name are absent (first: '
        'colon_image_sets/colon_n/colonn982.jpeg): an incomplete copy of '
        'the published data; nothing written; --every-image lists every '
        'image found, sorted, instead (not the published order: tasks '
        'drawn by index pick other images)')
    rc, out, lines = run_data_tool(
        'prepare_lc25000', ['--root', str(lc), '--every-image'], capsys)
    assert rc == 0 and 'LC25000              5 images' in out, lines
    assert 'every image found, sorted (--every-image), not the published ' \
        'list' in out.splitlines(), out
    assert (lc / 'meta' / 'img_list.txt').read_text().splitlines()[:2] == [
        'colon_image_sets/colon_aca/colonca1.jpeg',
        'colon_image_sets/colon_n/colonn1.jpeg']
    other = tmp_path / 'other'
    for cls in ('colon_aca', 'colon_n', 'lung_aca', 'lung_n', 'lung_scc'):
        d = other / 'data' / f'{cls.split("_")[0]}_image_sets' / cls
        d.mkdir(parents=True)
        (d / 'img-1.jpeg').write_bytes(b'x')
    rc, out, lines = run_data_tool('prepare_lc25000', ['--root', str(other)],
                                   capsys)
    assert rc == 0 and 'LC25000              5 images' in out, lines
    assert 'not the published images (25000 of the 25000 that ' \
        'img_list_labeled.txt name absent); all images found, sorted' in \
        out.splitlines(), out


def test_converted_nonorm_copy_told_by_its_extension(tmp_path, capsys):
    """A NONORM copy whose images were re-saved in another format (``.png``)
    holds the published lists' file names with another extension: the
    published split's refusal called them images of another source (the
    synthetic generator's), pointing the user the wrong way. It now says
    how many are here under another extension, the first pair, and what
    to do (convert them back, or split lists naming these files)."""
    from openselfsup.datasets.splits import read_published
    kept = [next(p for p, _ in read_published('nct_train')
                 if p.startswith(f'{c}/')) for c in NCT_ORDER]
    root = tmp_path / 'NCT'
    folder = root / 'data' / NONORM
    for rel in kept:
        (folder / rel).parent.mkdir(parents=True)
        (folder / rel.replace('.tif', '.png')).write_bytes(b'x')
    first = read_published('nct_train')[0][0]
    pair = next(p for p, _ in read_published('nct_train') if p in kept)
    line = (
        f'{folder}: 100000 of the 100000 images of the published split are '
        f'missing (first: {first}); 9 of them are here under another '
        f'extension ({pair.replace(".tif", ".png")} for {pair}: a '
        'converted copy?): the lists name the download\'s .tif files: '
        'convert them back, or give --split-lists TRAIN TEST naming these '
        'files (the published lists are in openselfsup/datasets/splits/); '
        'nothing written')
    refused_before_writing('prepare_nct', ['--root', str(root)], capsys,
                           root, line)
    # by split lists naming the .tif files: the same, told of those lists
    lists = [tmp_path / 'train.txt', tmp_path / 'test.txt']
    lists[0].write_text(''.join(f'{p}\n' for p in kept[:5]))
    lists[1].write_text(''.join(f'{p}\n' for p in kept[5:]))
    refused_before_writing(
        'prepare_nct', ['--root', str(root), '--split-lists', *map(
            str, lists)], capsys, root,
        f'{folder}: 9 of the 9 images of the split of --split-lists are '
        f'missing (first: {kept[0]}); 9 of them are here under another '
        f'extension ({kept[0].replace(".tif", ".png")} for {kept[0]}: a '
        'converted copy?): your lists name .tif files: convert them back, '
        'or name these files in your lists; nothing written')


def _nonorm_tree(folder):
    """``<folder>/<CLS>/<CLS>-{A,B}.tif``: NONORM's layout, tiny."""
    for cls in NCT_ORDER:
        (folder / cls).mkdir(parents=True)
        for tag in 'AB':
            (folder / cls / f'{cls}-{tag}.tif').write_bytes(b'x')


def _release_record(root):
    import json
    with open(root / 'meta' / 'lists.json') as f:
        return json.load(f)['release']


def test_nct_release_said_and_recorded(tmp_path, capsys):
    """The NCT releases share file names, so the stain-normalised
    NCT-CRC-HE-100K unpacked as ``data/<CLS>/`` was read as NONORM without
    a word. The converter now prints which release it took and why (the
    folder's name, or, for ``data/<CLS>/``, that it assumed NONORM, what
    that cannot tell, and where each release goes), and meta/lists.json
    records it."""
    lists = [str(_nct_list(tmp_path, 'train', 'A')),
             str(_nct_list(tmp_path, 'test', 'B'))]
    # data/<CLS>/: assumed, said so
    bare = tmp_path / 'bare'
    _nonorm_tree(bare / 'data')
    rc, out, lines = run_data_tool(
        'prepare_nct', ['--root', str(bare), '--split-lists', *lists],
        capsys)
    assert rc == 0, lines
    assert (
        f'release: {NONORM} assumed, not checked: {bare / "data"}/<CLS>/ '
        'names no release, and the stain-normalised NCT-CRC-HE-100K has '
        'the same file names (other pixels; nothing here tells them '
        'apart): if these are the normalised images, move them to '
        f'{bare / "data" / "NCT-CRC-HE-100K"}/ beside CRC-VAL-HE-7K/ and '
        f'give --split official; NONORM images in {bare / "data" / NONORM}/ '
        'are taken by that name') in out.splitlines(), out
    assert _release_record(bare) == {
        'train': NONORM, 'test': NONORM,
        'by': f'assumed: {bare / "data"}/<CLS>/ names no release'}
    # data/NCT-CRC-HE-100K-NONORM/<CLS>/: by the folder's name
    named = tmp_path / 'named'
    _nonorm_tree(named / 'data' / NONORM)
    rc, out, lines = run_data_tool(
        'prepare_nct', ['--root', str(named), '--split-lists', *lists],
        capsys)
    assert rc == 0, lines
    assert f'release: {NONORM} (the published protocol\'s), by the folder ' \
        f'name {named / "data" / NONORM}' in out.splitlines(), out
    assert _release_record(named) == {
        'train': NONORM, 'test': NONORM,
        'by': f'the folder name {named / "data" / NONORM}'}
    # data/ a link to a folder of NONORM's name: by that name
    linked = tmp_path / 'linked'
    linked.mkdir()
    os.symlink(named / 'data' / NONORM, linked / 'data')
    rc, out, lines = run_data_tool(
        'prepare_nct', ['--root', str(linked), '--split-lists', *lists],
        capsys)
    assert rc == 0, lines
    assert f'release: {NONORM} (the published protocol\'s), by the folder ' \
        f'name {named / "data" / NONORM} ({linked / "data"} links to it)' \
        in out.splitlines(), out
    # the official folders: by their names; chosen, where NONORM goes
    official = tmp_path / 'official'
    _official_nct(official)
    rc, out, lines = run_data_tool('prepare_nct', ['--root', str(official)],
                                   capsys)
    assert rc == 0, lines
    assert 'release: NCT-CRC-HE-100K (stain-normalised, train) and ' \
        'CRC-VAL-HE-7K (test), by their folder names; NONORM images (the ' \
        'published protocol\'s) placed in NCT-CRC-HE-100K/ would be read ' \
        f'as the normalised ones: their folder is {NONORM}/' \
        in out.splitlines(), out
    assert _release_record(official) == {
        'train': 'NCT-CRC-HE-100K', 'test': 'CRC-VAL-HE-7K',
        'by': 'the folder names'}
    rc, out, lines = run_data_tool(
        'prepare_nct', ['--root', str(official), '--split', 'official'],
        capsys)
    assert rc == 0 and 'release: NCT-CRC-HE-100K (stain-normalised, ' \
        'train) and CRC-VAL-HE-7K (test), by their folder names' \
        in out.splitlines(), out


def test_class_folders_in_a_folder_of_another_name(tmp_path, capsys):
    """``data/mine/<CLS>/`` (the images unpacked into a folder named for no
    release): the line said to move them up into data/, where they are
    read as NONORM, though they may be the stain-normalised release (same
    file names). It now says to name the folder for its release; a
    container of release folders is still moved up
    (test_images_one_folder_too_deep_named_with_the_move), and a lone
    CRC-VAL-HE-7K/ is named as the official test set. NCT-CRC-HE-100K/
    alone (refused: no test set) says where NONORM images go."""
    root = tmp_path / 'NCT'
    _nonorm_tree(root / 'data' / 'mine')
    data = root / 'data'
    refused_before_writing(
        'prepare_nct', ['--root', str(root)], capsys, root,
        f'{data}: the NCT folders are one level down, in mine/ (a download '
        'unpacked into a folder of its own?), a folder named for no NCT '
        'release (the releases share file names: moved up into data/, its '
        f'images are read as NONORM unchecked): rename it {NONORM} if it '
        'holds the NONORM images (the published protocol\'s), or '
        'NCT-CRC-HE-100K if the stain-normalised ones (with CRC-VAL-HE-7K/ '
        'beside it, --split official)')
    os.rename(data / 'mine', data / 'CRC-VAL-HE-7K')
    refused_before_writing(
        'prepare_nct', ['--root', str(root)], capsys, root,
        f'{data}: the NCT folders are one level down, in CRC-VAL-HE-7K/ (a '
        'download unpacked into a folder of its own?), the official test '
        'set: --split official needs NCT-CRC-HE-100K/ beside it')
    os.rename(data / 'CRC-VAL-HE-7K', data / NONORM)
    rc, _, lines = run_data_tool('prepare_nct', [
        '--root', str(root), '--split-lists',
        str(_nct_list(tmp_path, 'train', 'A')),
        str(_nct_list(tmp_path, 'test', 'B'))], capsys)
    assert rc == 0, lines
    # NCT-CRC-HE-100K/ alone, the official test set absent: where NONORM goes
    official = tmp_path / 'official'
    _official_nct(official)
    shutil.rmtree(official / 'data' / 'CRC-VAL-HE-7K')
    refused_before_writing(
        'prepare_nct', ['--root', str(official)], capsys, official,
        f'{official / "data"}: no {NONORM} images (the published protocol\'s: '
        f'{NONORM}/<CLS>/ or <CLS>/), only NCT-CRC-HE-100K/; the official '
        'split also needs CRC-VAL-HE-7K/<CLS>/ for test (NONORM images in '
        f'NCT-CRC-HE-100K/? their folder is {NONORM}/: the releases share '
        'file names)')
