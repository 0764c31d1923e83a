"""The published ICLR-22 lists shipped with the package, and the converters
that apply them: trees of files named as the published lists give exactly
the published membership, labels (and order).

The tests read the shipped ``.txt.gz`` files with ``gzip`` themselves and
hold the published label order in their own tuple, independently of the
package's reader and class table."""
import gzip
import hashlib
import os
import pathlib
import re
import shutil
import tempfile
from collections import Counter

import pytest

from _data_helpers import run_data_tool

# the published NCT label order, written out here on purpose
ORDER = ('BACK', 'ADI', 'DEB', 'LYM', 'MUC', 'MUS', 'NORM', 'STR', 'TUM')
NONORM = 'NCT-CRC-HE-100K-NONORM'


def _shipped(name):
    from openselfsup.datasets.splits import published_path
    with gzip.open(published_path(name), 'rb') as f:
        return f.read()


def _entries(name):
    """``[(path, label)]`` of a shipped list, in its order."""
    lines = _shipped(name).decode().replace('\r\n', '\n').split('\n')
    return [(ln.split(' ')[0], int(ln.split(' ')[1])) for ln in lines if ln]


def _lines(path):
    with open(path) as f:
        return f.read().splitlines()


def _link_tree(base, paths, src):
    """Hard links to ``src`` at ``base/<path>`` for every path."""
    for d in {os.path.dirname(p) for p in paths}:
        os.makedirs(os.path.join(base, d), exist_ok=True)
    for p in paths:
        os.link(src, os.path.join(base, p))


#: inodes of the full published trees, with room to spare: 183,222 files
#: (NCT's 100,000 and one not listed, PAIP19's 58,220 distinct names and
#: one, LC25000's 25,000) and some 200 folders, all there at once
FULL_TREES_FILES = 184_000


def remove_stale_trees(shm):
    """Remove the folders :func:`memory_tmp_path` left in ``shm`` from a
    test process no longer running (``published_trees_<pid>_...``): one
    killed (a SIGTERM, a timeout) leaves its 100,000 files on the memory
    file system, its ``finally`` never run. Folders named otherwise (of
    older checkouts, no pid) are left alone."""
    from openselfsup.utils.io import _pid_alive
    for entry in os.scandir(shm):
        owner = re.fullmatch(r'published_trees_(\d+)_.*', entry.name)
        if owner and not _pid_alive(int(owner.group(1))):
            shutil.rmtree(entry.path, ignore_errors=True)


@pytest.fixture
def memory_tmp_path(tmp_path):
    """A fresh folder on the machine's memory file system (``/dev/shm``,
    removed after the test, or by the next one where its process was
    killed: :func:`remove_stale_trees`) where it takes
    :data:`FULL_TREES_FILES` more files, else ``tmp_path``: the full
    published trees' empty files cost some 100 us each to create on ext4
    (about 20 s of the test, loaded), some 10 us on tmpfs. The converters
    read the tree as on any file system (``os.scandir``, ``os.stat``):
    only its making is quicker."""
    shm = '/dev/shm'
    try:
        remove_stale_trees(shm)  # first: their files take its room
        fits = os.statvfs(shm).f_favail > FULL_TREES_FILES and \
            os.access(shm, os.W_OK)
    except OSError:
        fits = False
    if not fits:
        yield tmp_path
        return
    folder = tempfile.mkdtemp(prefix=f'published_trees_{os.getpid()}_',
                              dir=shm)
    try:
        yield pathlib.Path(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _tiny(tmp_path):
    src = tmp_path / 'tiny.png'
    src.write_bytes(b'x')
    return str(src)


def test_shipped_lists_are_the_published_files():
    """Each shipped list decompresses to the published file's bytes (its git
    blob id in the published repository), with the published structure."""
    from openselfsup.datasets.splits import PUBLISHED
    for name, ref in PUBLISHED.items():
        data = _shipped(name)
        blob = hashlib.sha1(b'blob %d\0' % len(data) + data).hexdigest()
        assert blob == ref.blob, name
        assert len(_entries(name)) == ref.lines, name

    train, test = _entries('nct_train'), _entries('nct_test')
    assert (len(train), len(test)) == (80000, 20000)
    assert not {p for p, _ in train} & {p for p, _ in test}
    for p, label in train + test:
        cls, name = p.split('/')
        assert ORDER[label] == cls and name.startswith(f'{cls}-')
    # NCT-CRC-HE-100K(-NONORM) per class, as zenodo.org/record/1214456 lists
    sizes = dict(ADI=10407, BACK=10566, DEB=11512, LYM=11557, MUC=8896,
                 MUS=13536, NORM=8763, STR=10446, TUM=14317)
    assert Counter(ORDER[c] for _, c in train + test) == sizes

    ptrain, ptest = _entries('paip_train'), _entries('paip_test')
    slides = sorted({p.split('/')[0] for p, _ in ptrain + ptest})
    assert len(slides) == 50
    assert {p.split('/')[0] for p, _ in ptrain} == set(slides[:15])
    assert {p.split('/')[0] for p, _ in ptest} == set(slides[15:])
    per = Counter((p.split('/')[0], c) for p, c in ptrain + ptest)
    assert set(per.values()) == {500} and len(per) == 50 * 3
    for p, c in ptrain + ptest:
        _, folder, name = p.split('/')
        assert folder == str(c) and name.endswith(f'+{c}.png')

    lc = _entries('lc25000')
    assert Counter(c for _, c in lc) == {c: 5000 for c in range(5)}


def test_nct_published_names_converted(tmp_path, capsys):
    """A few thousand names of the published split (every 40th), hard links
    in both NONORM layouts, converted by prepare_nct.py: the published
    entries, labels and order; every wo_<c> list is the training list
    without c. The default split names what is missing and writes nothing."""
    train = _entries('nct_train')[::40]
    test = _entries('nct_test')[::40]
    split = tmp_path / 'split'
    split.mkdir()
    for name, entries in (('train', train), ('test', test)):
        (split / f'{name}.txt').write_text(
            ''.join(f'{p} {c}\n' for p, c in entries))
    src = _tiny(tmp_path)
    for prefix in (f'{NONORM}/', ''):
        root = tmp_path / (prefix.strip('/') or 'direct') / 'NCT'
        _link_tree(str(root / 'data' / prefix), [p for p, _ in train + test],
                   src)
        rc, out, err = run_data_tool('prepare_nct', [
            '--root', str(root), '--split-lists', str(split / 'train.txt'),
            str(split / 'test.txt')], capsys)
        assert rc == 0, err
        meta = root / 'meta'
        want = {'train': train, 'test': test}
        for c in range(9):
            want[f'wo_{c}_train'] = [e for e in train if e[1] != c]
        want['wo_78_train'] = [e for e in train if e[1] not in (7, 8)]
        for name, entries in want.items():
            assert _lines(meta / f'{name}_labeled.txt') == [
                f'{prefix}{p} {c}' for p, c in entries], name
            assert _lines(meta / f'{name}.txt') == [
                f'{prefix}{p}' for p, _ in entries], name
        assert _lines(meta / 'classes.txt') == list(ORDER)
        assert f'{len(train)} images' in out

    # the default is the published split: 97,500 of its images are absent
    before = {n: (meta / n).read_bytes() for n in os.listdir(meta)}
    rc, _, lines = run_data_tool('prepare_nct', ['--root', str(root)],
                                 capsys)
    assert rc == 2 and len(lines) == 1, lines
    first_absent = next(p for p, _ in _entries('nct_train')
                        if p not in {q for q, _ in train})
    assert f'{100000 - len(train) - len(test)} of the 100000 images of the ' \
        f'published split are missing (first: {first_absent})' in lines[0]
    assert {n: (meta / n).read_bytes() for n in os.listdir(meta)} == before


def test_paip_published_names_converted(tmp_path, capsys):
    """A few thousand names of the published PAIP19 lists (every 25th line),
    hard links in the published layout, converted by prepare_paip19.py: by
    default an incomplete copy of the published patches is refused (one
    line, nothing written: converting it would silently change the
    sampling from 500 per class per slide to every patch found); with
    --train-slides 15 every patch found is split by the published rule
    (first 15 slide IDs in sorted order train), which gives the published
    membership and labels."""
    train = _entries('paip_train')[::25]
    test = _entries('paip_test')[::25]
    assert len({p.split('/')[0] for p, _ in train + test}) == 50
    root = tmp_path / 'PAIP19'
    _link_tree(str(root / 'data'), {p for p, _ in train + test},
               _tiny(tmp_path))
    rc, _, lines = run_data_tool('prepare_paip19', ['--root', str(root)],
                                 capsys)
    assert rc == 2 and len(lines) == 1, lines
    assert 'an incomplete copy of the published data; nothing written; ' \
        '--train-slides 15' in lines[0]
    assert not os.path.exists(root / 'meta' / 'paip_train.txt')
    rc, out, err = run_data_tool('prepare_paip19', [
        '--root', str(root), '--train-slides', '15'], capsys)
    assert rc == 0, err
    for name, entries in (('paip_train', train), ('paip_test', test)):
        got = [tuple(ln.split(' ')) for ln in
               _lines(root / 'meta' / f'{name}_labeled.txt')]
        assert len(got) == len(set(got))
        assert {(p, int(c)) for p, c in got} == set(entries), name
        assert [p for p, _ in got] == _lines(root / 'meta' / f'{name}.txt')
    assert 'the first 15 of 50 slide IDs in sorted order train' in out


@pytest.mark.slow
def test_full_published_trees_give_the_published_lists(memory_tmp_path):
    """Every image the published lists name (empty files): the default
    conversions write the published lists, in their order: NCT 80,000 /
    20,000, PAIP19 22,500 / 52,500 (with the published duplicates),
    LC25000 25,000. The trees in memory where the machine has room
    (:func:`memory_tmp_path`)."""
    tmp_path = memory_tmp_path
    from openselfsup.datasets.prepare import (prepare_lc25000, prepare_nct,
                                              prepare_paip19)

    def touch_all(base, paths):
        for d in {os.path.dirname(p) for p in paths}:
            os.makedirs(os.path.join(base, d), exist_ok=True)
        for p in paths:
            os.close(os.open(os.path.join(base, p), os.O_CREAT | os.O_WRONLY))

    lists = {n: _entries(n) for n in ('nct_train', 'nct_test', 'paip_train',
                                      'paip_test', 'lc25000')}
    nct = tmp_path / 'NCT'
    touch_all(str(nct / 'data' / NONORM),
              {p for n in ('nct_train', 'nct_test') for p, _ in lists[n]})
    (nct / 'data' / NONORM / 'ADI' / 'ADI-EXTRA.tif').touch()
    done = prepare_nct(str(nct))
    assert done.counts == {'NCT train': 80000, 'NCT test': 20000}
    assert any('1 image(s) in the class folders are not in the split' in n
               for n in done.notes)
    for name, key in (('train', 'nct_train'), ('test', 'nct_test')):
        assert _lines(nct / 'meta' / f'{name}_labeled.txt') == [
            f'{NONORM}/{p} {c}' for p, c in lists[key]]

    paip = tmp_path / 'PAIP19'
    touch_all(str(paip / 'data'),
              {p for n in ('paip_train', 'paip_test') for p, _ in lists[n]})
    (paip / 'data' / '01_01_0083' / '0' / '1+1+0.png').touch()  # not listed
    done = prepare_paip19(str(paip))
    assert done.counts == {'PAIP19 train': 22500, 'PAIP19 test': 52500}
    for name in ('paip_train', 'paip_test'):
        assert _lines(paip / 'meta' / f'{name}_labeled.txt') == [
            f'{p} {c}' for p, c in lists[name]]
    # an explicit rule uses every patch found, each once
    done = prepare_paip19(str(paip), train_slides=15)
    assert done.counts['PAIP19 train'] == len(
        {p for p, _ in lists['paip_train']}) + 1

    lc = tmp_path / 'LC25000'
    touch_all(str(lc / 'data' / 'lung_colon_image_set'),
              [p for p, _ in lists['lc25000']])
    prepare_lc25000(str(lc))
    assert _lines(lc / 'meta' / 'img_list_labeled.txt') == [
        f'lung_colon_image_set/{p} {c}' for p, c in lists['lc25000']]


def test_memory_folders_of_processes_gone_are_removed(tmp_path):
    """:func:`remove_stale_trees`: the folder of a process no longer
    running goes, files and all; this process's, another name's and a
    folder of the old form (no pid) stay."""
    import subprocess
    gone = subprocess.Popen(['true'])
    gone.wait()
    names = [f'published_trees_{gone.pid}_x1',
             f'published_trees_{os.getpid()}_x2', 'published_trees_x3',
             f'other_{gone.pid}_x4']
    for name in names:
        (tmp_path / name / 'NCT').mkdir(parents=True)
        (tmp_path / name / 'NCT' / 'a.png').write_bytes(b'')
    remove_stale_trees(str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == sorted(names[1:])
