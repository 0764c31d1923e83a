"""Converters rebuild the generator's list files; the generator's classes are
learnable but not trivial."""
import os

import numpy as np
import pytest

from _foundation_helpers import error_lines, run_tool
from openselfsup.datasets.list_files import LISTS_RECORD


def _link_data(synthetic_root, tmp_path, domain):
    """``tmp/<domain>/data`` -> the generator's images; no meta yet."""
    root = tmp_path / domain
    root.mkdir()
    os.symlink(os.path.join(synthetic_root, domain, 'data'), root / 'data')
    return root


def _lines(path):
    with open(path) as f:
        return [ln for ln in f.read().splitlines() if ln.strip()]


def _same_lists(generated_meta, converted_meta):
    names = sorted(os.listdir(generated_meta))
    assert names == sorted(os.listdir(converted_meta))
    for name in names:
        if name == LISTS_RECORD:  # the digests of lists in another order
            continue
        a = _lines(os.path.join(generated_meta, name))
        b = _lines(os.path.join(converted_meta, name))
        assert sorted(a) == sorted(b), name


def test_prepare_nct_matches_generator(synthetic_root, tmp_path):
    """The generator writes the published protocol's layout (one NONORM
    pool, split in two); the converter, given the generator's split in the
    published list format, rebuilds every list. By default it looks for the
    published split, whose images the generator does not have."""
    root = _link_data(synthetic_root, tmp_path, 'NCT')
    gen = os.path.join(synthetic_root, 'NCT', 'meta')
    tool = ['tools/prepare_data/prepare_nct.py', '--root', str(root)]
    rc, _, err = run_tool(tool)
    lines = error_lines(err)
    assert rc == 2 and len(lines) == 1, err
    assert '100000 of the 100000 images of the published split are ' \
        'missing' in lines[0] and 'MUS/MUS-SNSFKSAN.tif' in lines[0]
    assert not (root / 'meta').exists()
    rc, out, err = run_tool(tool + [
        '--split-lists', os.path.join(gen, 'train_labeled.txt'),
        os.path.join(gen, 'test.txt')])
    assert rc == 0, err
    _same_lists(gen, root / 'meta')
    # same order too (class, then file name)
    assert _lines(os.path.join(gen, 'train_labeled.txt')) == _lines(
        root / 'meta' / 'train_labeled.txt')
    assert 'NCT train' in out and str(12 * 9) in out


def test_prepare_lc25000_matches_generator(synthetic_root, tmp_path):
    from openselfsup.datasets.prepare import prepare_lc25000
    root = _link_data(synthetic_root, tmp_path, 'LC25000')
    # the generator's files carry the first published names: every image
    # found, not the published list (an incomplete copy, refused without)
    assert prepare_lc25000(str(root), every_image=True).counts == {
        'LC25000': 8 * 5}
    _same_lists(os.path.join(synthetic_root, 'LC25000', 'meta'),
                root / 'meta')
    # the zip's extra lung_colon_image_set/ level is accepted
    nested = tmp_path / 'nested'
    (nested / 'data').mkdir(parents=True)
    os.symlink(os.path.join(synthetic_root, 'LC25000', 'data'),
               nested / 'data' / 'lung_colon_image_set')
    prepare_lc25000(str(nested), every_image=True)
    first = _lines(nested / 'meta' / 'img_list_labeled.txt')[0]
    assert first.startswith('lung_colon_image_set/colon_image_sets/')


def test_prepare_paip19_matches_generator(synthetic_root, tmp_path):
    """The generator's 3 slides: the published rule (the first N slide IDs
    in sorted order train) with its N = 2 rebuilds its lists; the published
    N = 15 needs more slides and says so."""
    from openselfsup.datasets.prepare import prepare_paip19
    from openselfsup.utils import InputError
    gen = os.path.join(synthetic_root, 'PAIP19', 'meta')
    test_slides = sorted({ln.split('/')[0] for ln in _lines(
        os.path.join(gen, 'paip_test.txt'))})
    root = _link_data(synthetic_root, tmp_path, 'PAIP19')
    with pytest.raises(InputError, match='3 slide folders; the split trains '
                       'on the first 15 slide IDs'):
        prepare_paip19(str(root))
    assert not (root / 'meta').exists()
    done = prepare_paip19(str(root), train_slides=2)
    assert done.counts == {'PAIP19 train': 2 * 3 * 4,
                           'PAIP19 test': 1 * 3 * 4}
    _same_lists(gen, root / 'meta')
    assert _lines(os.path.join(gen, 'paip_train_labeled.txt')) == _lines(
        root / 'meta' / 'paip_train_labeled.txt')
    # naming the test slides gives the same lists
    prepare_paip19(str(root), test_slides=test_slides)
    _same_lists(gen, root / 'meta')
    # a random split by slide: disjoint, complete, seeded
    prepare_paip19(str(root), test_fraction=0.4, seed=1)
    tr = {ln.split('/')[0] for ln in _lines(root / 'meta' / 'paip_train.txt')}
    te = {ln.split('/')[0] for ln in _lines(root / 'meta' / 'paip_test.txt')}
    assert tr.isdisjoint(te) and len(tr | te) == 3 and len(te) == 1


def test_converter_bad_input(synthetic_root, tmp_path):
    root = tmp_path / 'NCT'
    (root / 'data' / 'NCT-CRC-HE-100K' / 'ADI').mkdir(parents=True)
    rc, _, err = run_tool(['tools/prepare_data/prepare_nct.py', '--root',
                           str(root)])
    lines = error_lines(err)
    # no NONORM images and only NCT-CRC-HE-100K: said as such (not a bare
    # "CRC-VAL-HE-7K: folder not found" of a split the user did not ask for)
    assert rc != 0 and len(lines) == 1, err
    assert 'no NCT-CRC-HE-100K-NONORM images' in lines[0]
    assert 'only NCT-CRC-HE-100K/; the official split also needs ' \
        'CRC-VAL-HE-7K/<CLS>/ for test' in lines[0]
    assert not (root / 'meta').exists()
    # with both official folders: the official layout, whose first class is
    # BACK
    (root / 'data' / 'CRC-VAL-HE-7K' / 'ADI').mkdir(parents=True)
    rc, _, err = run_tool(['tools/prepare_data/prepare_nct.py', '--root',
                           str(root)])
    lines = error_lines(err)
    assert rc != 0 and len(lines) == 1, err
    assert 'NCT-CRC-HE-100K/BACK: class folder not found' in lines[0]
    assert not (root / 'meta').exists()


@pytest.mark.slow
# 300 lbfgs steps are enough to place the accuracy; full convergence is not
# what the test asks
@pytest.mark.filterwarnings('ignore::sklearn.exceptions.ConvergenceWarning')
def test_generator_classes_learnable_not_trivial(tmp_path):
    """A logistic regression on raw 32 px NCT pixels: far above chance
    (1/9), far from perfect."""
    from PIL import Image
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    from openselfsup.datasets import read_list_file
    from openselfsup.datasets.synthetic import SyntheticSpec, make_synthetic
    make_synthetic(str(tmp_path), SyntheticSpec(
        size=32, nct_train=30, nct_test=15, seed=1, domains=['nct']))

    def load(name):
        entries = read_list_file(str(tmp_path / 'NCT' / 'meta' / name), 9)
        x = np.stack([np.asarray(Image.open(tmp_path / 'NCT' / 'data' / p),
                                 np.float32).ravel() / 255
                      for p, _ in entries])
        return x, np.array([lab for _, lab in entries])

    xtr, ytr = load('train_labeled.txt')
    xte, yte = load('test_labeled.txt')
    with threadpool_limits(1):
        clf = make_pipeline(StandardScaler(),
                            LogisticRegression(C=0.01, max_iter=300))
        acc = clf.fit(xtr, ytr).score(xte, yte)
    assert 0.4 < acc < 0.9, acc


def test_a_lists_fingerprint_is_of_the_entries_the_reader_reads(tmp_path):
    """The fingerprint a checkpoint records of a training list
    (``list_entries_sha1``): the entries ``read_list_file`` reads and
    their SHA-1. Of the published NCT split (gzipped, CRLF line ends):
    its entries, not the 2134 newlines of the compressed bytes, and the
    SHA-1 of its lines with LF ends (the reference: gzip and hashlib by
    hand). A list of other bytes with the same entries (gzipped again
    at another time, lone CR ends, blank lines, tabs between the
    fields) has the same fingerprint; a list ``write_list_set`` wrote,
    the SHA-1 of its bytes (the one its ``lists.json`` records)."""
    import gzip
    import hashlib
    import json

    from openselfsup.datasets.list_files import (list_entries_sha1,
                                                 write_list_set)
    from openselfsup.datasets.splits import published_path
    path = published_path('nct_train')
    with open(path, 'rb') as f:
        text = gzip.decompress(f.read()).decode()
    lines = [' '.join(ln.split()) + '\n' for ln in text.splitlines()
             if ln.strip()]
    assert list_entries_sha1(path) == (
        len(lines), hashlib.sha1(''.join(lines).encode()).hexdigest())
    body = b'a.png 0\nb.png 1\n'
    write_list_set(str(tmp_path), {'train': [('a.png', 0), ('b.png', 1)]},
                   ['x', 'y'], str(tmp_path))
    recorded = json.loads((tmp_path / LISTS_RECORD).read_text())['files']
    want = (2, hashlib.sha1(body).hexdigest())
    assert list_entries_sha1(str(tmp_path / 'train_labeled.txt')) == \
        (2, recorded['train_labeled.txt']) == want
    for name, data in (('a.txt.gz', gzip.compress(body, mtime=1)),
                       ('b.txt.gz', gzip.compress(body, mtime=2)),
                       ('c.txt', b'a.png 0\rb.png 1'),
                       ('d.txt', b'\r\na.png\t0\r\n\r\n  b.png 1  \r\n\n')):
        (tmp_path / name).write_bytes(data)
        assert list_entries_sha1(str(tmp_path / name)) == want, name
