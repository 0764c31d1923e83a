"""Hierarchical datasets (generic and OpenSRH layouts), the published patient
sampling and augmentations, the synthetic generator and bad metadata."""
import copy
import json
import logging
import os
import re

import numpy as np
import pytest
from PIL import Image

from openselfsup.datasets.hierarchical import (HierarchicalPatchDataset,
                                               HierarchicalPatientDataset,
                                               balance_by_class,
                                               draw_with_reuse, read_hierarchy,
                                               read_opensrh, read_srh_tiff)
from openselfsup.utils import InputError

VIEWS = [dict(type='LoadHistoPatch'),
         dict(type='MultiView', num_views=2,
              transforms=[[dict(type='RandomFlip', prob=0.5,
                                direction='horizontal')]]),
         dict(type='PackInputs')]


def _write(tmp_path, meta, split):
    (tmp_path / 'metadata.json').write_text(json.dumps(meta))
    (tmp_path / 'split.json').write_text(json.dumps(split))
    return str(tmp_path / 'metadata.json'), str(tmp_path / 'split.json')


def _patch(tmp_path, rel, value):
    path = tmp_path / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((8, 8, 3), value, np.uint8)).save(path)
    return rel


@pytest.fixture()
def tiny(tmp_path):
    """Train: patient A (1 slide x 1 patch), patient B (3 slides x 4
    patches); val: patient C (1 slide x 2 patches). Patient-disjoint, as a
    split should be (:func:`tiny_shared` is the leak)."""
    meta = {'A': {'class': 'x', 'slides': {
        'A0': [_patch(tmp_path, 'A/0.png', 10)]}},
        'B': {'class': 'y', 'slides': {
            f'B{s}': [_patch(tmp_path, f'B/{s}_{p}.png', 40 * s + p)
                      for p in range(4)] for s in range(3)}},
        'C': {'class': 'y', 'slides': {
            'C0': [_patch(tmp_path, f'C/0_{p}.png', 200 + p)
                   for p in range(2)]}}}
    return _write(tmp_path, meta, {'train': ['A', 'B'], 'val': ['C']})


@pytest.fixture()
def tiny_shared(tiny, tmp_path):
    """:func:`tiny`'s metadata with a split file that names patient B in
    both splits (train: A, B; val: B): the leak the split warning names."""
    meta, _ = tiny
    split = tmp_path / 'split_shared.json'
    split.write_text(json.dumps({'train': ['A', 'B'], 'val': ['B']}))
    return meta, str(split)


def test_draw_with_reuse_is_hidiscs_tiled_permutation():
    """HiDisc: a permutation, repeated and cut (np.tile(perm, n)[:wanted])."""
    got = draw_with_reuse(np.random.default_rng(0), 3, 7)
    perm = np.random.default_rng(0).permutation(3)
    np.testing.assert_array_equal(got, np.tile(perm, 3)[:7])
    assert sorted(got[:3]) == [0, 1, 2]
    got = draw_with_reuse(np.random.default_rng(1), 5, 3)
    assert len(set(got)) == 3


def test_tiling_with_too_few_slides_and_patches(tiny):
    meta, split = tiny
    ds = HierarchicalPatientDataset(meta, split, num_slides=2, num_patches=2,
                                    pipeline=VIEWS)
    assert ds.metainfo['classes'] == ('x', 'y')
    a = ds.sample_paths(0)  # one slide, one patch: everything re-used
    assert len(a) == 2 and all(len(s) == 2 for s in a)
    assert len({p for s in a for p in s}) == 1
    b = ds.sample_paths(1)  # enough: distinct slides, distinct patches
    slides = {os.path.basename(p).split('_')[0] for s in b for p in s}
    assert len(slides) == 2
    assert all(len(set(s)) == 2 for s in b)
    item = ds[0]
    assert len(item['inputs']) == 2 * 2 * 2
    assert item['data_samples'].metainfo['hierarchy'] == (2, 2, 2)
    assert int(item['data_samples'].gt_label) == 0
    big = HierarchicalPatientDataset(meta, split, num_slides=4, num_patches=5,
                                     pipeline=VIEWS)
    slides_b = big.sample_paths(1)
    assert len(slides_b) == 4 and all(len(s) == 5 for s in slides_b)
    # 3 slides available, 4 wanted: each slide at least once
    assert {os.path.basename(s[0]).split('_')[0] for s in slides_b} == \
        {'0', '1', '2'}
    # each slide: its 4 patches all used before one is repeated
    assert all(len(set(s)) == 4 for s in slides_b)


@pytest.mark.parametrize('key,value', [
    ('num_slides', 0), ('num_patches', 0), ('num_slides', -1),
    ('num_patches', 1.5), ('num_patches', True)])
def test_counts_drawn_per_patient_must_be_positive(tiny, key, value):
    """0 slides or patches built, then failed at the first item with an
    AttributeError (no view was drawn: no data sample to label); -1 was a
    numpy ValueError, 1.5 a TypeError, True drew 1. Now one line when the
    dataset is built, naming the key and its value."""
    meta, split = tiny
    with pytest.raises(InputError, match=rf'^HierarchicalPatientDataset: '
                       rf'{key}={value!r}: use a positive integer') as err:
        HierarchicalPatientDataset(meta, split, pipeline=VIEWS,
                                   **{key: value})
    assert '\n' not in str(err.value)


def test_class_balancing_by_patient():
    pats = [dict(patient=f'p{i}', label=0) for i in range(3)] + \
        [dict(patient=f'q{i}', label=1) for i in range(2)] + \
        [dict(patient='r', label=2)]
    out = balance_by_class(pats, np.random.default_rng(0))
    labels = [p['label'] for p in out]
    assert [labels.count(c) for c in range(3)] == [3, 3, 3]
    assert {p['patient'] for p in out if p['label'] == 0} == {'p0', 'p1', 'p2'}
    # 2 patients for 3 places: each once, one of them twice (published)
    q = sorted(p['patient'] for p in out if p['label'] == 1)
    assert set(q) == {'q0', 'q1'} and len(q) == 3


def test_patch_dataset_carries_patient_and_slide(tiny, monkeypatch):
    from openselfsup.datasets import hierarchical as hier
    lines = []
    monkeypatch.setattr(hier, 'print_log',
                        lambda msg, **kw: lines.append(msg))
    meta, split = tiny
    pipe = [dict(type='LoadHistoPatch'), dict(type='PackInputs')]
    ds = HierarchicalPatchDataset(meta, split, split_name='train',
                                  pipeline=pipe)
    assert lines == []  # patient-disjoint splits: no leak to warn of
    arr = ds.hierarchy_arrays()
    assert len(ds) == 13
    np.testing.assert_array_equal(arr['label'], [0] + [1] * 12)
    np.testing.assert_array_equal(arr['patient_id'], [0] + [1] * 12)
    np.testing.assert_array_equal(arr['slide_id'],
                                  [0] + [1] * 4 + [2] * 4 + [3] * 4)
    assert ds[3]['inputs'].shape == (3, 8, 8)
    val = HierarchicalPatchDataset(meta, split, split_name='val',
                                   pipeline=pipe).hierarchy_arrays()
    assert val['patient'] == ['C', 'C']
    np.testing.assert_array_equal(val['label'], [1, 1])  # of all classes


def test_a_patient_in_two_splits_is_one_warning_line(tiny_shared, tmp_path,
                                                    monkeypatch):
    """A split file naming a patient in train and val was read without a
    word (only kNN evaluation counted it): the patient is trained on and
    evaluated on. The first dataset built from the file says so in one
    line, naming the count, the splits that share patients and the first
    patients; disjoint splits are silent. Read, not refused."""
    from openselfsup.datasets import hierarchical as hier
    lines = []
    monkeypatch.setattr(hier, 'print_log',
                        lambda msg, **kw: lines.append((msg, kw['level'])))
    meta, split = tiny_shared  # train: A, B; val: B
    HierarchicalPatchDataset(meta, split, split_name='val',
                             pipeline=VIEWS[:1])
    assert [lv for _, lv in lines] == [logging.WARNING]
    assert '\n' not in lines[0][0]
    assert lines[0][0].startswith(f"{split}: 1 patient(s) in more than one "
                                  "of its splits ('train' and 'val': B): ")
    # more patients than named: the count, the first three, then '...';
    # every split that shares one, in the file's order
    names = [f'P{i}' for i in range(6)]
    many = {p: {'class': 'x', 'slides': {'s': [_patch(tmp_path,
                                                        f'{p}.png', 9)]}}
            for p in names}
    spl = {'train': names[:4], 'val': ['P5', 'P1', 'P3'],
           'test': ['P4', 'P1', 'P5'], 'extra': ['P0']}
    meta, split = _write(tmp_path, many, spl)
    lines.clear()
    HierarchicalPatientDataset(meta, split, pipeline=VIEWS)
    count = {p: sum(p in v for v in spl.values()) for p in names}
    shared = sorted(p for p in names if count[p] > 1)
    assert len(lines) == 1
    assert (f"{len(shared)} patient(s) in more than one of its splits "
            f"('train', 'val', 'test', 'extra': {', '.join(shared[:3])}, "
            "...): ") in lines[0][0]
    lines.clear()
    meta, split = _write(tmp_path, many, {'train': names[:4],
                                          'val': names[4:]})
    HierarchicalPatientDataset(meta, split, pipeline=VIEWS)
    HierarchicalPatchDataset(meta, split, pipeline=VIEWS[:1])
    assert lines == []


def test_the_split_warning_is_said_once_per_split_file(tiny_shared, tmp_path,
                                                     monkeypatch):
    """kNN evaluation during training (KNNEvalHook -> run_knn) builds its
    bank and query datasets again at every evaluation, and each build
    warned of the split file's shared patients (twice per evaluation; the
    log showed each text once, MMEngine's handlers dropping a repeated
    warning, but the train and val builds said it in two texts, and a file
    named another way again). It is one line per split file and finding
    per process: the training set's build says it, the evaluations'
    builds do not; a rewritten file with another finding says it again."""
    from openselfsup.datasets import hierarchical as hier
    from openselfsup.evaluation import knn
    lines = []
    monkeypatch.setattr(hier, 'print_log',
                        lambda msg, **kw: lines.append(msg))
    monkeypatch.setattr(knn, 'extract_features',  # no model needed
                        lambda model, loader, desc='': np.random.default_rng(
                            0).normal(size=(len(loader.dataset), 4)))
    meta, split = tiny_shared  # train: A, B; val: B
    HierarchicalPatientDataset(meta, split, pipeline=VIEWS)
    patches = dict(type='HierarchicalPatchDataset', metadata=meta,
                   split=split, pipeline=VIEWS[:1] + VIEWS[2:])
    for _ in range(3):  # three evaluations
        knn.run_knn(None, bank=dict(patches, split_name='train'),
                    query=dict(patches, split_name='val'), k=2)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"{split}: 1 patient(s) in more than one "
                               "of its splits ('train' and 'val': B): ")
    # the same file read by another name: the same file, said already
    HierarchicalPatchDataset(meta, os.path.relpath(split),
                             pipeline=VIEWS[:1])
    assert len(lines) == 1
    # rewritten with another leak: said again, once
    json.dump({'train': ['A', 'B'], 'val': ['A', 'B']}, open(split, 'w'))
    for name in ('train', 'val', 'train'):
        HierarchicalPatchDataset(meta, split, split_name=name,
                                 pipeline=VIEWS[:1])
    assert len(lines) == 2, lines
    assert lines[1].startswith(f"{split}: 2 patient(s) in more than one "
                               "of its splits ('train' and 'val': A, B): ")


def test_a_patient_named_twice_in_one_split_warns(tiny, monkeypatch):
    """A split naming a patient twice within one split was read without a
    word, every mention as another patient: two training items (twice the
    weight), and in kNN its patches twice in the bank or two query
    patients. It is still read that way (the published readers do), with
    one warning line naming the file, the count and the first repeats with
    their split, whichever split is read (the training set's build says so
    of a repeat that only kNN evaluation would read), once per file."""
    from openselfsup.datasets import hierarchical as hier
    lines = []
    monkeypatch.setattr(hier, 'print_log',
                        lambda msg, **kw: lines.append(msg))
    monkeypatch.setattr(hier, '_SHARED_SAID', hier.Once())
    meta, split = tiny  # train: A, B; val: C
    once = HierarchicalPatientDataset(meta, split, pipeline=VIEWS)
    once_val = HierarchicalPatchDataset(meta, split, split_name='val',
                                        pipeline=VIEWS[:1])
    assert lines == []
    with open(split) as f:
        spl = json.load(f)
    spl['train'] += ['A']
    spl['val'] += ['C']
    with open(split, 'w') as f:
        json.dump(spl, f)
    twice = HierarchicalPatientDataset(meta, split, pipeline=VIEWS)
    # read as published: A is two training items
    assert len(twice) == len(once) + 1
    patches = HierarchicalPatchDataset(meta, split, split_name='val',
                                       pipeline=VIEWS[:1])
    assert len(lines) == 1, lines  # the val build: said already
    assert lines[0] == (
        f"{split}: 2 patient(s) named more than once within one split "
        "(A 2x in 'train', C 2x in 'val'): each mention is read as another "
        "patient (as the published readers do), in training and in kNN "
        "evaluation (its patches once more: one query patient, as the "
        "published evaluation groups them); name each patient once per "
        "split")
    # val holds only C: its patches twice
    assert len(patches) == 2 * len(once_val)
    # ... but one query patient and its slides once each, as the published
    # evaluation groups patches by patient and slide name (each mention was
    # another patient: two of them, at the slide level twice the slides)
    from openselfsup.evaluation.knn import knn_evaluate
    arr, one = patches.hierarchy_arrays(), once_val.hierarchy_arrays()
    np.testing.assert_array_equal(arr['patient_id'], [0] * len(patches))
    np.testing.assert_array_equal(arr['slide_id'],
                                  np.tile(one['slide_id'], 2))
    feats = np.eye(len(patches), 4, dtype=np.float32) + 1
    res = knn_evaluate(feats, np.zeros(len(patches), int), feats, arr, 2,
                       k=2)
    assert (res['patch']['n'], res['slide']['n'], res['patient']['n']) == \
        (len(patches), len(set(one['slide_id'])), 1)
    # more repeats than named: the count, the first three in the file's
    # order (each with its mentions), then '...'
    spl = {'train': ['A', 'B', 'A', 'B', 'A'], 'val': ['C', 'C', 'B', 'B']}
    with open(split, 'w') as f:
        json.dump(spl, f)
    repeats = [(name, p, pids.count(p)) for name, pids in spl.items()
               for p in dict.fromkeys(pids) if pids.count(p) > 1]
    assert len(repeats) == 4
    read_hierarchy(meta, split, 'train')
    assert len(lines) >= 2 and lines[1].startswith(
        f"{split}: 4 patient(s) named more than once within one split "
        "(A 3x in 'train', B 2x in 'train', C 2x in 'val', ...): ")
    assert '\n' not in lines[1]


def test_srh_tiff_third_channel_is_difference(tmp_path):
    tifffile = pytest.importorskip('tifffile')
    rng = np.random.default_rng(0)
    two = rng.integers(0, 40000, (2, 6, 5)).astype(np.uint16)
    path = str(tmp_path / 'srh.tif')
    tifffile.imwrite(path, two)
    img = read_srh_tiff(path)
    ch2, ch3 = two[0].astype(float), two[1].astype(float)
    want = np.stack([ch3 - ch2 + 5000, ch2, ch3], -1) / 65536
    np.testing.assert_allclose(img, np.clip(want, 0, 1) * 255, rtol=1e-5)
    tifffile.imwrite(str(tmp_path / 'hw2.tif'), np.moveaxis(two, 0, -1))
    np.testing.assert_allclose(read_srh_tiff(str(tmp_path / 'hw2.tif')), img)


def test_bad_metadata_one_line_errors(tmp_path):
    _patch(tmp_path, 'a.png', 1)
    good = {'A': {'class': 'x', 'slides': {'s': ['a.png']}}}
    cases = [
        ({'A': {'class': 'x', 'slides': {'s': ['a.png', 'gone.png']}}},
         {'train': ['A']}, 'names a missing patch'),
        ({'A': {'class': 'x', 'slides': {}}}, {'train': ['A']},
         "patient 'A' has no slides"),
        (good, {'train': ['A', 'Z']}, "unknown patient 'Z'"),
        (good, {'val': ['A']}, "no split named 'train'"),
        # a split that is not a list of names (a list entry is unhashable:
        # it was a TypeError traceback; a string was read letter by letter)
        (good, {'train': [['A']]}, "split 'train' must be a list of patient "
         r"names \(strings\), got \[\['A'\]\]"),
        (good, {'train': 'A'}, "must be a list of patient names"),
    ]
    for meta, split, msg in cases:
        m, s = _write(tmp_path, meta, split)
        with pytest.raises(InputError, match=msg) as err:
            read_hierarchy(m, s, 'train')
        assert '\n' not in str(err.value)
    (tmp_path / 'metadata.json').write_text('{"A": ')
    with pytest.raises(InputError, match='invalid JSON'):
        read_hierarchy(str(tmp_path / 'metadata.json'), s, 'train')


def test_synthetic_hierarchical_layout(tmp_path):
    from openselfsup.datasets.synthetic import (HierarchicalSpec,
                                                make_synthetic_hierarchical)
    spec = HierarchicalSpec(size=16, classes=('TUM', 'ADI'),
                            train_patients=2, val_patients=1, slides=(1, 3),
                            patches=(1, 2), seed=3)
    counts = make_synthetic_hierarchical(str(tmp_path / 'a'), spec)
    meta = json.loads((tmp_path / 'a' / 'metadata.json').read_text())
    split = json.loads((tmp_path / 'a' / 'split.json').read_text())
    assert len(split['train']) == 4 and len(split['val']) == 2
    assert not set(split['train']) & set(split['val'])
    assert counts['train patients'] == 4
    assert sum(len(p) for pid in split['train']
               for p in meta[pid]['slides'].values()) == \
        counts['train patches']
    pats, classes = read_hierarchy(str(tmp_path / 'a' / 'metadata.json'),
                                   str(tmp_path / 'a' / 'split.json'), 'val')
    assert classes == ('ADI', 'TUM') and len(pats) == 2
    make_synthetic_hierarchical(str(tmp_path / 'b'), spec)
    first = meta[split['train'][0]]['slides']
    rel = next(iter(first.values()))[0]
    assert (tmp_path / 'a' / rel).read_bytes() == \
        (tmp_path / 'b' / rel).read_bytes()


def test_srh_patients_through_the_view_pipeline(tmp_path):
    tifffile = pytest.importorskip('tifffile')
    rng = np.random.default_rng(1)
    for k in range(2):
        tifffile.imwrite(str(tmp_path / f'{k}.tif'), rng.integers(
            0, 30000, (2, 8, 8)).astype(np.uint16))
    meta, split = _write(tmp_path, {'A': {'class': 'gbm', 'slides': {
        's': ['0.tif', '1.tif']}}}, {'train': ['A']})
    pipeline = [dict(type='LoadHistoPatch', mode='srh')] + VIEWS[1:]
    item = HierarchicalPatientDataset(meta, split, pipeline=pipeline)[0]
    assert len(item['inputs']) == 8
    assert item['inputs'][0].dtype.is_floating_point
    assert item['inputs'][0].shape == (3, 8, 8)


def _srh(path, rng, size=8):
    import tifffile
    path.parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(str(path), rng.integers(
        0, 30000, (2, size, size)).astype(np.uint16))


def write_opensrh(root, rng, size=8):
    """A small OpenSRH release: classes, tumour / normal patch lists, a slide
    without tumour patches, the published split file."""
    meta, split = {}, {'train': [], 'val': []}
    plan = [('NIO_001', 'hgg', 'train'), ('NIO_002', 'normal', 'train'),
            ('NIO_003', 'hgg', 'train'), ('NIO_004', 'normal', 'val'),
            ('NIO_005', 'hgg', 'val')]
    for pid, cls, part in plan:
        slides = {}
        for s in ('1', '2'):
            base = f'studies/{pid}/{s}/patches'
            tumour = [f'{base}/{pid}-{s}-t{k}.tif' for k in range(2)]
            normal = [f'{base}/{pid}-{s}-n{k}.tif' for k in range(3)]
            if pid == 'NIO_003' and s == '2':
                tumour = []  # no tumour patches: the slide is left out
            for rel in tumour + normal:
                _srh(root / rel, rng, size)
            slides[s] = {'tumor_patches': tumour, 'normal_patches': normal,
                         'nondiagnostic_patches': []}
        meta[pid] = {'class': cls, 'slides': slides}
        split[part].append(pid)
    (root / 'meta').mkdir(parents=True, exist_ok=True)
    (root / 'meta' / 'opensrh.json').write_text(json.dumps(meta))
    (root / 'meta' / 'train_val_split.json').write_text(json.dumps(split))
    return meta


def test_opensrh_layout(tmp_path):
    pytest.importorskip('tifffile')
    write_opensrh(tmp_path, np.random.default_rng(0))
    pats, classes = read_opensrh(str(tmp_path), 'train')
    assert classes == ('hgg', 'normal')
    by_id = {p['patient']: p for p in pats}
    assert list(by_id) == ['NIO_001', 'NIO_002', 'NIO_003']
    # normal patients use normal_patches, the others tumor_patches
    assert all('-n' in os.path.basename(f) for _, fs in
               by_id['NIO_002']['slides'] for f in fs)
    assert all('-t' in os.path.basename(f) for _, fs in
               by_id['NIO_001']['slides'] for f in fs)
    assert [len(fs) for _, fs in by_id['NIO_002']['slides']] == [3, 3]
    assert [s for s, _ in by_id['NIO_003']['slides']] == ['1']
    assert by_id['NIO_002']['label'] == 1
    pipe = [dict(type='LoadHistoPatch', mode='srh'),
            dict(type='ToUnitTensor'), dict(type='PackInputs')]
    ds = HierarchicalPatchDataset(data_root=str(tmp_path), layout='opensrh',
                                  split_name='val', pipeline=pipe)
    arr = ds.hierarchy_arrays()
    assert len(ds) == 2 * 3 + 2 * 2  # NIO_004 normal, NIO_005 tumour
    np.testing.assert_array_equal(arr['patient_id'], [0] * 6 + [1] * 4)
    x = ds[0]['inputs']
    assert x.shape == (3, 8, 8) and 0 <= float(x.min()) <= float(x.max()) <= 1
    # the same values as the published base processing
    import tifffile
    two = tifffile.imread(ds.get_data_info(0)['img_path']).astype(np.float32)
    ch2, ch3 = two[0] / 65536, two[1] / 65536
    want = np.clip(np.stack([ch3 - ch2 + 5000 / 65536, ch2, ch3]), 0, 1)
    np.testing.assert_allclose(x.numpy(), want, atol=1e-6)
    with pytest.raises(InputError, match='layout=opensrh needs data_root'):
        read_opensrh('', 'train')
    meta = json.loads((tmp_path / 'meta' / 'opensrh.json').read_text())
    del meta['NIO_001']['slides']['1']['tumor_patches']
    (tmp_path / 'meta' / 'opensrh.json').write_text(json.dumps(meta))
    with pytest.raises(InputError, match='has no "tumor_patches"'):
        read_opensrh(str(tmp_path), 'train')


def test_opensrh_split_naming_a_patient_twice_warns(tmp_path, monkeypatch):
    """The same line for the OpenSRH layout (its own reader), silent on the
    release's disjoint split."""
    pytest.importorskip('tifffile')
    from openselfsup.datasets import hierarchical as hier
    lines = []
    monkeypatch.setattr(hier, 'print_log',
                        lambda msg, **kw: lines.append(msg))
    write_opensrh(tmp_path, np.random.default_rng(0))
    read_opensrh(str(tmp_path), 'val')
    assert lines == []
    path = tmp_path / 'meta' / 'train_val_split.json'
    spl = json.loads(path.read_text())
    spl['val'].append('NIO_002')
    path.write_text(json.dumps(spl))
    read_opensrh(str(tmp_path), 'val')
    assert len(lines) == 1
    assert lines[0].startswith(f"{path}: 1 patient(s) in more than one of "
                               "its splits ('train' and 'val': NIO_002): ")
    # a patient named twice within one split: warned by this reader too
    spl['train'].append('NIO_001')
    path.write_text(json.dumps(spl))
    read_opensrh(str(tmp_path), 'val')
    assert any(line.startswith(
        f"{path}: 1 patient(s) named more than once within one split "
        "(NIO_001 2x in 'train'): ") for line in lines[1:]), lines


def test_hidisc_augmentations_as_published():
    import torch
    from torchvision import transforms as T

    from openselfsup.datasets.hidisc_transforms import (PUBLISHED_OPS,
                                                        GaussianNoise,
                                                        HiDiscAugment,
                                                        ToUnitTensor)
    aug = HiDiscAugment(crop_size=24)
    ops = aug.ops.transforms
    names = [o['which'] for o in PUBLISHED_OPS]
    assert names == ['random_horiz_flip', 'random_vert_flip',
                     'gaussian_noise', 'color_jitter', 'random_autocontrast',
                     'random_solarize', 'random_sharpness', 'gaussian_blur',
                     'random_affine', 'random_resized_crop', 'random_erasing']
    assert all(o.p == 0.5 for o in ops)
    inner = {n: (o.transforms[0] if isinstance(o, T.RandomApply) else o)
             for n, o in zip(names, ops)}
    assert isinstance(inner['gaussian_noise'], GaussianNoise)
    assert inner['random_solarize'].threshold == 0.2
    assert inner['random_sharpness'].sharpness_factor == 2
    assert inner['gaussian_blur'].kernel_size == (5, 5)
    assert inner['gaussian_blur'].sigma == (1, 1)
    assert inner['random_affine'].degrees == [-10.0, 10.0]
    assert inner['random_affine'].translate == (0.1, 0.3)
    assert inner['random_resized_crop'].size == (24, 24)
    assert inner['random_erasing'].scale == (0.02, 0.33)
    # published ColorJitter() changes nothing
    x = torch.rand(3, 32, 32)
    assert torch.equal(inner['color_jitter'](x), x)
    # each op applied with p = 1: a flip is a flip, the crop has its size
    flip = HiDiscAugment(24, p=1.0, ops=[dict(which='random_horiz_flip')])
    out = flip.transform(dict(img=x))['img']
    assert torch.equal(out, x.flip(-1))
    crop = HiDiscAugment(24, p=1.0, ops=[dict(which='random_resized_crop')])
    assert crop.transform(dict(img=x))['img'].shape == (3, 24, 24)
    torch.manual_seed(0)
    x24 = torch.rand(3, 24, 24)
    out = aug.transform(dict(img=(x24 * 255).numpy().transpose(1, 2, 0)))
    assert out['img'].dtype == torch.float32
    assert 0 <= float(out['img'].min()) and float(out['img'].max()) <= 1
    # uint8 RGB to [0, 1], and the published bicubic resize to 224
    img = np.random.default_rng(0).integers(0, 256, (30, 30, 3), np.uint8)
    unit = ToUnitTensor().transform(dict(img=img))['img']
    np.testing.assert_allclose(unit.numpy(), img.transpose(2, 0, 1) / 255,
                               rtol=1e-6)
    big = ToUnitTensor(size=56).transform(dict(img=img))
    assert big['img'].shape == (3, 56, 56) and big['img_shape'] == (56, 56)
    with pytest.raises(ValueError, match='unknown op'):
        HiDiscAugment(24, ops=[dict(which='mixup')])
    demo = HiDiscAugment(24, skip=['random_solarize'])
    assert len(demo.ops.transforms) == 10
    assert not any(isinstance(o, T.RandomSolarize)
                   for o in demo.ops.transforms)
    with pytest.raises(ValueError, match='not in the list'):
        HiDiscAugment(24, skip=['solarise'])
    with pytest.raises(InputError, match='32x32 px, HiDiscAugment '
                       'crop_size=24'):
        aug.transform(dict(img=x, img_path='a.tif'))


def test_generator_reruns_never_leave_old_metadata_beside_new_patches(
        tmp_path, monkeypatch):
    """A rerun over an earlier output overwrote the patches in place and
    wrote the JSON last: interrupted, the old metadata named new patches of
    other classes (silently mislabelled, a helper's user check); a smaller
    rerun left old patches behind; another folder was written over. The
    generator now refuses a folder it did not write and empties its own
    first; the cross-modal generator the same."""
    import openselfsup.datasets.synthetic.hierarchical as hier
    from openselfsup.datasets.synthetic import (CaptionedImagesSpec,
                                                HierarchicalSpec,
                                                make_captioned_images,
                                                make_synthetic_hierarchical)
    from openselfsup.utils import InputError
    out = tmp_path / 'h'
    spec = dict(size=16, train_patients=2, val_patients=1, slides=(1, 1),
                patches=(2, 2))
    make_synthetic_hierarchical(str(out), HierarchicalSpec(**spec))
    real = hier.render_patch
    calls = []

    def dies(*args, **kwargs):
        calls.append(1)
        if len(calls) > 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)
    monkeypatch.setattr(hier, 'render_patch', dies)
    with pytest.raises(KeyboardInterrupt):
        make_synthetic_hierarchical(str(out), HierarchicalSpec(
            **spec, classes=('STR', 'NORM', 'TUM')))
    assert not (out / 'metadata.json').exists()  # no old labels left
    monkeypatch.setattr(hier, 'render_patch', real)
    make_synthetic_hierarchical(str(out), HierarchicalSpec(
        **dict(spec, train_patients=1), classes=('STR', 'NORM')))
    meta = json.loads((out / 'metadata.json').read_text())
    assert sorted(os.listdir(out / 'patches')) == sorted(meta)  # no stale
    assert {m['class'] for m in meta.values()} == {'STR', 'NORM'}
    # a folder the generator did not write
    (tmp_path / 'mine').mkdir()
    (tmp_path / 'mine' / 'metadata.json').write_text('{"P0": "mine"}')
    for make in (lambda: make_synthetic_hierarchical(
                     str(tmp_path / 'mine'), HierarchicalSpec(**spec)),
                 lambda: make_captioned_images(
                     str(tmp_path / 'mine'), CaptionedImagesSpec(
                         size=16, train=2, val=1))):
        with pytest.raises(InputError, match='mine: holds files this '
                           'generator did not write'):
            make()
    assert (tmp_path / 'mine' / 'metadata.json').read_text() == \
        '{"P0": "mine"}'
    with pytest.raises(InputError, match='--slides 3 1: MIN must be at '
                       'least 1 and MAX at least MIN'):
        make_synthetic_hierarchical(str(tmp_path / 'x'), HierarchicalSpec(
            **dict(spec, slides=(3, 1))))
    with pytest.raises(InputError, match='--captions 0: must be an integer'):
        make_captioned_images(str(tmp_path / 'x'), CaptionedImagesSpec(
            size=16, captions=0))
    assert not (tmp_path / 'x').exists()


def test_indices_beyond_or_keeping_none_are_one_line(tiny):
    """A hierarchical dataset's ``indices`` beyond its items (MMEngine's
    IndexError traceback when built) or keeping none where the items are
    serialized (the patch dataset: MMEngine's "need at least one array to
    concatenate"): one line naming the dataset, the index and its size.
    The patient dataset (``serialize_data=False``) is built empty, as by
    MMEngine, and training on it is check_steps' line (no step)."""
    from types import SimpleNamespace

    from mmengine.dataset import BaseDataset, DefaultSampler
    from torch.utils.data import DataLoader

    from openselfsup.apis.train import check_steps
    meta, split = tiny

    def bare(n, indices, serialize):  # MMEngine itself, the reference
        class Bare(BaseDataset):
            def load_data_list(self):
                return [dict(i=i) for i in range(n)]
        return Bare(indices=indices, serialize_data=serialize)

    runs = dict(
        patient=(lambda **kw: HierarchicalPatientDataset(
            meta, split, pipeline=VIEWS, **kw), 2, False,
            f"HierarchicalPatientDataset 'train' of {split}"),
        patch=(lambda **kw: HierarchicalPatchDataset(
            meta, split, split_name='val', pipeline=VIEWS[:1], **kw), 2,
            True, f"HierarchicalPatchDataset 'val' of {split}"))
    for name, (build, n, serialize, source) in runs.items():
        assert len(build()) == n
        with pytest.raises(IndexError):
            bare(n, [0, n], serialize)
        with pytest.raises(InputError) as exc:
            build(indices=[0, n])
        assert str(exc.value) == (
            f'{source}: indices holds {n}, but the list has {n} sample(s); '
            f'an index runs from 0 to {n - 1} (-{n} to -1 from the end)')
        assert len(build(indices=[-n])) == len(bare(n, [-n], serialize)) == 1
        for none in (0, []):
            if serialize:
                with pytest.raises(ValueError, match='concatenate'):
                    bare(n, none, serialize)
                with pytest.raises(InputError) as exc:
                    build(indices=none)
                assert str(exc.value) == (
                    f'{source}: indices={none!r} keeps none of its {n} '
                    'sample(s): an empty dataset (indices=None keeps them '
                    'all)')
                continue
            empty = build(indices=none)
            assert len(empty) == len(bare(n, none, serialize)) == 0
            loader = DataLoader(empty, batch_size=1, sampler=DefaultSampler(
                empty, shuffle=False))
            with pytest.raises(InputError, match=r'cfg\.py: the training '
                               r'list has 0 sample\(s\), fewer than one '
                               'batch of 1 per process'):
                check_steps(SimpleNamespace(
                    train_loop=SimpleNamespace(dataloader=loader),
                    world_size=1), 'cfg.py')


def test_synthetic_hierarchical_refuses_nan_shift_and_a_style_twice(
        tmp_path):
    """``--slide-shift nan`` passed the ``< 0`` check and wrote every patch
    black (all zeros) without a word; ``--classes TUM TUM`` wrote two
    classes of one name. Both refused before the folder is touched (an
    earlier run's data kept)."""
    from openselfsup.datasets.synthetic import (HierarchicalSpec,
                                                make_synthetic_hierarchical)
    from openselfsup.utils import InputError
    from lowshot_data import snapshot
    out = str(tmp_path / 'h')
    spec = dict(size=8, train_patients=1, val_patients=1, slides=(1, 1),
                patches=(1, 1))
    make_synthetic_hierarchical(out, HierarchicalSpec(**spec))
    before = snapshot(out)
    for bad, match in ((dict(slide_shift=float('nan')),
                        '--slide-shift nan: must be a finite number'),
                       (dict(patient_shift=float('inf')),
                        '--patient-shift inf: must be a finite number'),
                       (dict(classes=('TUM', 'NORM', 'TUM')),
                        '--classes: TUM given twice')):
        with pytest.raises(InputError, match=match):
            make_synthetic_hierarchical(out, HierarchicalSpec(**spec, **bad))
        assert snapshot(out) == before


def test_synthetic_hierarchical_seed_is_the_seed_rule():
    """The shift check also judged ``--seed``: ``-1`` was called "a finite
    number of at least 0" (a seed is an integer) and a seed of 400 digits
    stopped on math.isfinite's OverflowError traceback. The seed follows
    ``utils.check_seed``, the rule of every command."""
    from openselfsup.datasets.synthetic import HierarchicalSpec
    from openselfsup.utils import InputError
    for seed in (-1, 10 ** 400):
        with pytest.raises(InputError) as err:
            HierarchicalSpec(seed=seed).check()
        assert str(err.value) == \
            f'--seed must be an integer in [0, 2^63), got {seed}'
    HierarchicalSpec(seed=2 ** 63 - 1).check()


def test_a_batch_groups_views_by_the_metadata_hierarchy(tmp_path):
    """End to end, on a tiny case: metadata -> HierarchicalPatientDataset
    items -> MMEngine's collate -> the model's stacking of the views
    (``HLSS.loss`` itself; before, the test stacked the views with a copy
    of its line) -> the rows ``HiDiscLoss`` groups by
    ``hierarchy_ids``. Each patch image holds its own id as its value, so
    every row says which patch it is. Reference, brute force: the groups
    of the published HiDisc reshapes (``[B, S, P, V]`` row numbers
    reshaped to ``[B, -1]``, ``[B*S, -1]``, ``[B*S*P, -1]``) must be the
    ids' groups, and every such group must hold the patches of one
    patient, of one metadata slide, of one patch; a patient with enough
    slides (a slide with enough patches) gives distinct ones, drawn
    without replacement as HiDisc draws them."""
    from mmengine.dataset import default_collate

    from openselfsup.models.losses.hidisc import hierarchy_ids
    plan = {'A': [1], 'B': [3, 4, 2], 'C': [2, 1], 'D': [5, 5], 'E': [1, 3]}
    meta, where, k = {}, {}, 0
    for pid, counts in plan.items():
        slides = {}
        for s, n in enumerate(counts):
            slides[f'{pid}{s}'] = []
            for _ in range(n):
                slides[f'{pid}{s}'].append(_patch(tmp_path, f'{k}.png', k))
                where[k] = (pid, f'{pid}{s}')
                k += 1
        meta[pid] = {'class': 'x' if pid in 'AB' else 'y', 'slides': slides}
    metadata, split = _write(tmp_path, meta, {'train': list(plan)})
    S, P, V = 3, 2, 2  # S != P: a slide and a patch swapped would show
    ds = HierarchicalPatientDataset(metadata, split, num_slides=S,
                                    num_patches=P, pipeline=VIEWS,
                                    class_balance=True, seed=3)
    items = [ds[i] for i in range(len(ds))]
    B = len(items)
    batch = default_collate(items)
    # the model's own stacking (HLSS.loss), its backbone and loss stubbed
    # to keep the rows it extracts and the shape it hands the loss
    from types import SimpleNamespace

    from openselfsup.models.algorithms.hlss import HLSS
    seen = {}

    def keep(name):
        return lambda value, *shape: seen.update(
            {name: shape[0] if shape else value}) or {}
    HLSS.loss(SimpleNamespace(extract_feat=keep('rows'), level_heads={},
                              hier_loss=keep('shape')),
              list(batch['inputs']), batch['data_samples'])
    rows = seen['rows']  # [B*S*P*V, 3, H, W]
    patch = [int(r[0, 0, 0]) for r in rows]
    patients = [it['data_samples'].metainfo['patient'] for it in items]
    # the published reshapes of the row numbers
    import torch
    num = torch.arange(B * S * P * V).reshape(B, S, P, V)
    published = dict(patient=num.reshape(B, -1), slide=num.reshape(B * S, -1),
                     patch=num.reshape(B * S * P, -1))
    assert seen['shape'] == (B, S, P, V)
    ids = hierarchy_ids(seen['shape'])
    for level, groups in published.items():
        want = torch.zeros(len(rows), len(rows), dtype=torch.bool)
        for g in groups:
            want[g[:, None], g[None, :]] = True
        got = ids[level][:, None] == ids[level][None, :]
        assert torch.equal(got, want), level
    for b, g in enumerate(published['patient']):
        assert {where[patch[i]][0] for i in g.tolist()} == {patients[b]}
        slides = [{where[patch[i]][1] for i in s.tolist()}
                  for s in num[b].reshape(S, -1)]
        assert all(len(s) == 1 for s in slides)  # one metadata slide each
        have = len(plan[patients[b]])
        assert len(set.union(*slides)) == min(S, have)
        for s in range(S):
            picks = [patch[int(num[b, s, p, 0])] for p in range(P)]
            n = plan[patients[b]][int(next(iter(slides[s]))[1:])]
            assert len(set(picks)) == min(P, n)
    for g in published['patch']:  # the V views of one patch
        assert len({patch[i] for i in g.tolist()}) == 1
    # class balancing: as many patients of each class (x: A, B; y: C, D,
    # E), one x patient twice, in two items (two patients of the batch)
    x = [p for p in patients if p in 'AB']
    assert len(patients) == 6 and len(x) == 3 and set(x) == {'A', 'B'}


def _uneven(tmp_path, big=30, small=20):
    """Metadata and split of ``big`` patients of class 'a' and ``small`` of
    class 'b' (one slide of one patch each; the files are not written, the
    datasets are built with ``check_files=False``)."""
    names = [f'a{i:02d}' for i in range(big)] + \
        [f'b{i:02d}' for i in range(small)]
    meta = {p: {'class': p[0], 'slides': {f'{p}s': [f'{p}.png']}}
            for p in names}
    return _write(tmp_path, meta, {'train': names})


def _repeated(ds):
    """The patients a class-balanced dataset holds more than once."""
    names = [ds.get_data_info(i)['patient'] for i in range(len(ds))]
    return sorted({p for p in names if names.count(p) > 1})


def _published_repeats(seed, big=30, small=20):
    """The class-'b' patients the documented rule repeats, drawn by hand:
    the classes in sorted order each take one permutation of their
    patients from ``default_rng([seed, 1])``, tiled and cut to the largest
    class's count, so the first ``big - small`` of b's order come twice."""
    rng = np.random.default_rng([seed, 1])
    rng.permutation(big)  # class 'a' first, repeated by none
    order = rng.permutation(small)
    return sorted(f'b{i:02d}' for i in order[:big - small])


def _loader(dataset):
    """A training data-loader config of ``dataset`` (no workers)."""
    return dict(batch_size=2, num_workers=0,
                sampler=dict(type='DefaultSampler', shuffle=False),
                dataset=dataset)


def _balanced(meta, split, **kw):
    return dict(type='HierarchicalPatientDataset', metadata=meta,
                split=split, class_balance=True, check_files=False, **kw)


def _run_built(loader, seed, diff_rank_seed=False):
    """The dataset the runner's data-loader build makes of ``loader`` as
    MMEngine's loops call it on a process of ``runner.seed`` ``seed``."""
    from mmengine.registry import DefaultScope

    from openselfsup.engine.runner import AtomicRunner
    with DefaultScope.overwrite_default_scope('openselfsup'):
        return AtomicRunner.build_dataloader(
            loader, seed=seed, diff_rank_seed=diff_rank_seed).dataset


def test_class_balancing_follows_the_run_seed(tmp_path):
    """The patients a class-balanced dataset of no ``seed`` of its own
    repeats in a training run come from the run's seed, which the runner's
    data-loader build gives it (the published ``replicate_balance_instances``
    draws from the global ``random`` that ``seed_everything`` seeds): they
    came from the dataset's own ``seed=0`` whatever ``randomness.seed``, so
    a seed sweep repeated the same patients in every run (review r161). 10
    of 20 patients repeated: two seeds pick the same 10 once in 184,756.
    The config given is left as written (the run dumps and records it)."""
    meta, split = _uneven(tmp_path)
    loader = _loader(_balanced(meta, split))
    got = {}
    for seed in (1000, 0, 7, 1000):
        ds = _run_built(loader, seed)
        got.setdefault(seed, []).append(_repeated(ds))
        assert got[seed][-1] == _published_repeats(seed), seed
        assert ds.seed == seed
    assert 'seed' not in loader['dataset']
    assert got[1000][0] == got[1000][1]  # the same run seed, the same
    assert len({tuple(v[0]) for v in got.values()}) == 3
    # the dataset's own seed wins over the run's
    ds = _run_built(_loader(_balanced(meta, split, seed=7)), 1000)
    assert _repeated(ds) == got[7][0] and ds.seed == 7


def test_a_wrapped_dataset_takes_the_run_seed(tmp_path):
    """Through MMEngine's ``RepeatDataset`` (as ``knn_eval.py``'s
    ``trained_patients`` reads a wrapped training set again with the run's
    seed) and each part of a ``ConcatDataset``, the class-balanced dataset
    repeats the run seed's patients; a part with a seed of its own keeps
    it, and the config given is left as written."""
    meta, split = _uneven(tmp_path)
    loader = _loader(dict(type='RepeatDataset', times=2,
                          dataset=_balanced(meta, split)))
    ds = _run_built(loader, 1000)
    assert _repeated(ds.dataset) == _published_repeats(1000)
    assert 'seed' not in loader['dataset']['dataset']
    ds = _run_built(_loader(dict(type='ConcatDataset', datasets=[
        _balanced(meta, split), _balanced(meta, split, seed=7)])), 1000)
    assert [_repeated(d) for d in ds.datasets] == [
        _published_repeats(1000), _published_repeats(7)]


def test_the_runners_loader_build_leaves_the_config_as_written(tmp_path):
    """``AtomicRunner.build_dataloader`` of a loader config holding both
    keys it changes, ``reuse_batch_memory=True`` (popped: no DataLoader
    argument) and a dataset that takes the run's seed (set in the
    dataset's dict): the loader it builds has both (the ring's class, the
    run's seed), and the caller's dict, nested parts included, is equal to
    a copy taken before (the run dumps and reads its config again)."""
    from mmengine.registry import DefaultScope

    from openselfsup.datasets.batch_aug import decoded_collate
    from openselfsup.datasets.batch_ring import RingLoader
    from openselfsup.engine.runner import AtomicRunner
    meta, split = _uneven(tmp_path)
    loader = dict(_loader(_balanced(meta, split)),
                  collate_fn=dict(type=decoded_collate),
                  reuse_batch_memory=True)
    before = copy.deepcopy(loader)
    with DefaultScope.overwrite_default_scope('openselfsup'):
        built = AtomicRunner.build_dataloader(loader, seed=1000)
    assert isinstance(built, RingLoader) and built.dataset.seed == 1000
    assert loader == before


def test_a_wrappers_scope_reaches_what_it_wraps(tmp_path):
    """A ``RepeatDataset`` of ``_scope_='openselfsup'`` built under the
    default scope ``mmpretrain``: MMEngine builds what it wraps inside the
    wrapper's scope (there the dataset is found), and the class-balanced
    dataset repeats the run seed's patients; the lookup of its class was
    made in the default scope, which does not hold it, and it drew with
    seed 0 (review r165). mmpretrain's ``KFoldDataset``, not one of
    MMEngine's wrappers, gives what it wraps no seed: it draws with 0, as
    said in ``give_run_seed``."""
    from mmengine.registry import DefaultScope

    from openselfsup.engine.runner import AtomicRunner
    meta, split = _uneven(tmp_path)
    loader = _loader(dict(type='RepeatDataset', times=2,
                          _scope_='openselfsup',
                          dataset=_balanced(meta, split)))
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        ds = AtomicRunner.build_dataloader(loader, seed=1000).dataset
    assert type(ds.dataset) is HierarchicalPatientDataset
    assert _repeated(ds.dataset) == _published_repeats(1000)
    assert ds.dataset.seed == 1000
    ds = _run_built(_loader(dict(type='KFoldDataset', fold=0, num_splits=2,
                                 dataset=_balanced(meta, split))), 1000)
    assert ds.dataset.seed == 0
    assert _repeated(ds.dataset) == _published_repeats(0)


@pytest.mark.parametrize('diff_rank_seed', [False, True])
def test_runner_balances_alike_on_every_rank(tmp_path, monkeypatch,
                                             diff_rank_seed):
    """The runner's data-loader build gives the dataset rank 0's seed:
    with ``diff_rank_seed`` MMEngine hands rank r ``seed + r``, and a
    balancing drawn from it would differ per rank while the sampler splits
    one list between the ranks. Rank 1 of a run of seed 5 (as MMEngine's
    loops call ``build_dataloader``: ``runner.seed``) repeats the patients
    seed 5 draws, as rank 0 does."""
    import mmengine.dist
    meta, split = _uneven(tmp_path)
    loader = _loader(_balanced(meta, split))
    for rank in (0, 1):
        monkeypatch.setattr(mmengine.dist, 'get_rank', lambda: rank)
        seed = 5 + rank if diff_rank_seed else 5
        ds = _run_built(loader, seed, diff_rank_seed)
        assert _repeated(ds) == _published_repeats(5), rank
        assert ds.seed == 5, rank


def test_outside_a_run_no_seed_balances_as_seed_0(tmp_path):
    """Built outside a training run without a ``seed`` (a script, a
    notebook, ``knn_eval.py``'s builds), a class-balanced dataset repeats
    the patients of seed 0 in every process: the run's seed was read from
    ``torch.initial_seed()``, which a process that never seeded torch draws
    at random, so each such build repeated other patients. Two processes
    that never seeded torch, forks of the tests' server
    (``forked_python_c``: each reseeds torch's global generator at random,
    as a fresh interpreter starts; a plain fork would share its parent's
    seed), against seed 0's draw by hand."""
    from _foundation_helpers import MODEL_STACK_IMPORT, forked_python_c
    meta, split = _uneven(tmp_path)
    code = ('import sys, torch\n'
            'from openselfsup.datasets.hierarchical import '
            'HierarchicalPatientDataset as D\n'
            'ds = D(sys.argv[1], sys.argv[2], class_balance=True, '
            'check_files=False)\n'
            "names = [ds.get_data_info(i)['patient'] "
            'for i in range(len(ds))]\n'
            "print(' '.join(sorted({p for p in names "
            'if names.count(p) > 1})), torch.initial_seed())\n')
    runs = []
    for _ in range(2):
        rc, out, err = forked_python_c(MODEL_STACK_IMPORT, code,
                                       [meta, split])
        assert rc == 0, err[-3000:]
        runs.append(out.split())
    assert runs[0][-1] != runs[1][-1]  # torch's seeds differ
    for run in runs:
        assert run[:-1] == _published_repeats(0), run


def test_trained_patients_of_a_run_seeded_balance(tmp_path):
    """``knn_eval.py``'s trained patients (:func:`trained_patients`) read a
    class-balanced training set of no ``seed`` of its own again with the
    seed the run gave it, the checkpoint's ``meta['dataset_seed']``, as
    the run drew its balance, not the run's ``meta['seed']`` (a resume
    under another seed records that seed while its set keeps the first
    run's patients): with ``indices`` (items 30 to 39: the first 10 of
    class b's shuffled order) the patients kept are those of that seed's
    order, drawn by hand, not those of another seed's. A checkpoint that
    records no ``dataset_seed`` (written before it was recorded, when the
    set drew with its default 0 whatever the run's seed) is read with 0.
    A dataset seed recorded in the config still wins."""
    from openselfsup.apis.knn import trained_patients
    meta, split = _uneven(tmp_path)

    def text(extra=''):
        return ("train_dataloader = dict(dataset=dict(type="
                f"'HierarchicalPatientDataset', metadata={meta!r}, "
                f"split={split!r}, class_balance=True, "
                f"indices={list(range(30, 40))}{extra}))\n")

    def first_b(seed):
        rng = np.random.default_rng([seed, 1])
        rng.permutation(30)
        return sorted(f'b{i:02d}' for i in rng.permutation(20)[:10])
    assert len({tuple(first_b(s)) for s in (0, 7, 1000)}) == 3
    for seed in (0, 1000):
        found = trained_patients({'meta': {'cfg': text(), 'seed': 7,
                                           'dataset_seed': seed}},
                                 'ckpt.pth')
        assert sorted(found) == first_b(seed), seed
    # older: no dataset_seed recorded, its set drew with 0
    found = trained_patients({'meta': {'cfg': text(), 'seed': 1000}},
                             'ckpt.pth')
    assert sorted(found) == first_b(0)
    found = trained_patients({'meta': {'cfg': text(', seed=0'),
                                       'seed': 1000, 'dataset_seed': 7}},
                             'ckpt.pth')
    assert sorted(found) == first_b(0)


def test_each_run_seeded_dataset_names_an_argument_of_no_seed():
    """A project dataset class that declares the argument a training run
    gives its seed to (``RUN_SEEDED``) takes that argument, defaulting to
    None (the runner gives it where the config leaves it unset or None,
    ``engine.runner.give_run_seed``): a declaration naming no argument
    would build with an unknown keyword, and one of another default would
    mean one thing unset and another given None. The class-balanced
    ``HierarchicalPatientDataset`` declares ``seed``."""
    import inspect

    from openselfsup.registry import DATASETS
    from openselfsup.utils.run_seed import RUN_SEEDED
    DATASETS.import_from_location()
    declared = {name: getattr(cls, RUN_SEEDED)
                for name, cls in DATASETS.module_dict.items()
                if getattr(cls, RUN_SEEDED, None) is not None}
    assert declared.get('HierarchicalPatientDataset') == 'seed', declared
    for name, arg in declared.items():
        params = inspect.signature(DATASETS.get(name)).parameters
        assert arg in params and params[arg].default is None, (name, arg)


def _seed_1000_runner(tmp_path, diff_rank_seed):
    """The runner (not trained) of the HiDisc demo on :func:`_uneven`'s
    patients, class-balanced, at ``randomness.seed`` 1000."""
    from mmengine.config import Config

    from openselfsup.engine.runner import AtomicRunner
    meta, split = _uneven(tmp_path)
    cfg = Config.fromfile('configs/demo/hidisc_r18w8_synthetic.py')
    cfg.train_dataloader.dataset.update(
        metadata=meta, split=split, class_balance=True, check_files=False)
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False)
    cfg.randomness = dict(seed=1000, diff_rank_seed=diff_rank_seed)
    cfg.custom_hooks = []
    cfg.work_dir = str(tmp_path / 'work')
    # a name of its own: runners built within one second share MMEngine's
    cfg.experiment_name = f'uneven_{tmp_path.name}'
    return AtomicRunner.from_cfg(cfg)


@pytest.mark.parametrize('diff_rank_seed', [False, True])
def test_a_training_runs_own_loop_balances_with_the_run_seed(
        tmp_path, diff_rank_seed):
    """The training loop a run builds (``runner.train_loop``: its training
    set built first, inside the ranks' agreement on refusals, then handed
    to MMEngine's loader build) repeats the patients of ``randomness.seed``,
    as the runner's ``build_dataloader`` alone does: the two landed apart
    (the agreement built the set from the config with no seed given, and
    every run repeated seed 0's patients again)."""
    runner = _seed_1000_runner(tmp_path, diff_rank_seed)
    ds = runner.train_loop.dataloader.dataset
    assert _repeated(ds) == _published_repeats(1000)
    assert ds.seed == 1000
    assert 'seed' not in runner.cfg.train_dataloader.dataset


def test_a_training_runs_own_loop_on_rank_1_balances_as_rank_0(
        tmp_path, monkeypatch):
    """Rank 1 of a run of ``randomness.seed`` 1000 under
    ``diff_rank_seed`` (MMEngine's ``runner.seed`` there is 1001) builds
    its training loop (``runner.train_loop``) on the patients rank 0's
    seed draws, as the sampler splits one list between the ranks: the
    single-process case above gives the seed as is, so a loop given
    ``runner.seed`` unchanged passed it while two ranks split different
    lists (review r165)."""
    import mmengine.dist
    runner = _seed_1000_runner(tmp_path, True)
    # as MMEngine's set_random_seed seeds rank 1 under diff_rank_seed
    monkeypatch.setattr(mmengine.dist, 'get_rank', lambda *a: 1)
    runner._seed = 1001
    ds = runner.train_loop.dataloader.dataset
    assert _published_repeats(1001) != _published_repeats(1000)
    assert _repeated(ds) == _published_repeats(1000)
    assert ds.seed == 1000


#: the config of :func:`uneven_options`' runs
HIDISC_DEMO = 'configs/demo/hidisc_r18w8_synthetic.py'


def _uneven_run(tmp_path, work_dir, seed, iters, resume=False, **more):
    """The runner of a HiDisc demo run (no kNN hook) of ``iters``
    iterations at ``randomness.seed`` ``seed`` on :func:`_uneven`'s
    patients (:func:`uneven_options`); ``more``: further ``--cfg-options``
    (dotted keys)."""
    from openselfsup.apis import train
    return train(HIDISC_DEMO, work_dir=str(work_dir),
                 cfg_options=uneven_options(tmp_path, seed, iters, **more),
                 resume=resume)


def uneven_options(tmp_path, seed, iters, **more):
    """The ``--cfg-options`` (dotted keys) that make :data:`HIDISC_DEMO`
    a run (no kNN hook) of ``iters`` iterations at ``randomness.seed``
    ``seed`` on :func:`_uneven`'s patients, class-balanced (each a 32 px
    patch written here), a checkpoint saved each iteration; ``more``:
    further ones."""
    meta, split = _uneven(tmp_path)
    for name in json.loads(open(split).read())['train']:
        if not (tmp_path / f'{name}.png').exists():
            Image.fromarray(np.full((32, 32, 3), len(name) + int(name[1:]),
                                    np.uint8)).save(tmp_path / f'{name}.png')
    opts = {'train_dataloader.dataset.metadata': meta,
            'train_dataloader.dataset.split': split,
            'train_dataloader.dataset.data_root': str(tmp_path),
            'train_dataloader.dataset.class_balance': True,
            'train_dataloader.batch_size': 2,
            'train_dataloader.num_workers': 0,
            'train_dataloader.persistent_workers': False,
            'custom_hooks': [], 'randomness.seed': seed,
            'train_cfg.max_iters': iters,
            'default_hooks.checkpoint.interval': 1,
            'default_hooks.logger.interval': 1, **more}
    return opts


def _items(ds):
    return [ds.get_data_info(i)['patient'] for i in range(len(ds))]


@pytest.mark.parametrize('seed', [7, None])
def test_a_resume_under_another_seed_keeps_the_patients(
        tmp_path, monkeypatch, seed):
    """A run of seed 1000 resumed with ``randomness.seed`` 7, or unset
    (MMEngine draws one), trains on the patients the first run repeated
    (seed 1000's, drawn by hand), and its next checkpoint records that
    seed as the one its training set drew with, which ``knn_eval.py``'s
    trained patients read: MMEngine builds the loop from the config's
    seed before the resume sets the checkpoint's, and the resumed run
    repeated the patients of seed 7 while ``trained_patients`` read seed
    1000's (review r165)."""
    import torch

    from _foundation_helpers import REPO
    from openselfsup.apis.knn import trained_patients
    from openselfsup.utils.run_seed import DRAWN_SEED_KEY
    monkeypatch.chdir(REPO)
    work = tmp_path / 'work'
    first = _items(_uneven_run(tmp_path, work, 1000, 1)
                   .train_loop.dataloader.dataset)
    runner = _uneven_run(tmp_path, work, seed, 2, resume=True)
    ds = runner.train_loop.dataloader.dataset
    assert _repeated(ds) == _published_repeats(1000)
    assert _items(ds) == first
    for name in ('iter_1.pth', 'iter_2.pth'):
        ckpt = torch.load(work / name, map_location='cpu',
                          weights_only=False)
        assert ckpt['meta'][DRAWN_SEED_KEY] == 1000, name
        assert trained_patients(ckpt, name) == ds.patient_names(), name


def _evaluated_options(tmp_path, **dataset):
    """``--cfg-options`` (dotted keys) that give :func:`uneven_options`'
    run a validation loop (never run: the HLSS algorithm predicts
    nothing) whose set is a class-balanced ``HierarchicalPatientDataset``
    of :func:`_uneven`'s patients; ``dataset``: its further arguments."""
    meta, split = _uneven(tmp_path)
    return {'val_dataloader': _loader(dict(
                _balanced(meta, split, **dataset), data_root=str(tmp_path))),
            'val_cfg': dict(type='ValLoop'),
            'val_evaluator': dict(type='Accuracy'),
            'train_cfg.val_begin': 10 ** 6}


@pytest.mark.parametrize('own', [None, 5])
def test_a_resume_under_an_unset_seed_validates_on_the_first_runs_patients(
        tmp_path, monkeypatch, own):
    """A run of unset ``randomness.seed`` (MMEngine draws one) whose
    class-balanced validation set leaves its seed to the run, resumed
    under an unset seed again, validates on the patients the first run's
    validation set repeated, those its recorded seed draws (by hand),
    beside a training set that leaves its seed to the run too or sets its
    own (5): MMEngine builds the validation loop before the resume, from
    the seed drawn for the resumed run, and it repeated other patients
    (10 of 20: the same 10 once in 184,756), the training set's kept."""
    import torch

    from _foundation_helpers import REPO
    from openselfsup.utils.run_seed import DRAWN_SEED_KEY
    monkeypatch.chdir(REPO)
    work = tmp_path / 'work'
    more = _evaluated_options(tmp_path)
    if own is not None:
        more['train_dataloader.dataset.seed'] = own
    first = _uneven_run(tmp_path, work, None, 1, **more)
    drew = torch.load(work / 'iter_1.pth', map_location='cpu',
                      weights_only=False)['meta'][DRAWN_SEED_KEY]
    assert drew == first.seed
    val = first.val_loop.dataloader.dataset
    assert _repeated(val) == _published_repeats(drew)
    resumed = _uneven_run(tmp_path, work, None, 2, resume=True, **more)
    again = resumed.val_loop.dataloader.dataset
    assert _repeated(again) == _published_repeats(drew)
    assert _items(again) == _items(val)
    assert _repeated(resumed.train_loop.dataloader.dataset) == \
        _published_repeats(drew if own is None else own)


@pytest.mark.parametrize('unread', ['unparsed', 'remote'])
def test_a_resume_whose_look_ahead_failed_is_refused_on_another_seed(
        tmp_path, monkeypatch, unread):
    """A run of seed 1000 resumed with ``randomness.seed`` 7 where the
    look-ahead read of the checkpoint's meta fails (a file it does not
    parse but torch reads: ``checkpoint_meta`` raising; an ``s3://`` path,
    which MMEngine reads at the resume: ``local_file`` None) built its
    class-balanced set with the run's seed 7, not the checkpoint's 1000,
    and trained on other patients without a word. Now one line once
    MMEngine has loaded the checkpoint, before any step: no checkpoint,
    log folder or config dump written. Under the recorded seed, the way
    out the line gives, the resume trains on seed 1000's patients (drawn
    by hand), and so does a later resume under seed 7 that reads the
    checkpoint."""
    from _foundation_helpers import REPO
    from openselfsup.engine import runner as runner_module
    from openselfsup.utils import InputError
    monkeypatch.chdir(REPO)
    work = tmp_path / 'work'
    _uneven_run(tmp_path, work, 1000, 1)
    before = sorted(p.name for p in work.iterdir())

    def unparsed(path):
        raise ValueError(f'{path}: not parsed')

    if unread == 'unparsed':
        monkeypatch.setattr(runner_module, 'checkpoint_meta', unparsed)
    else:
        monkeypatch.setattr(runner_module, 'local_file', lambda path: None)
    with pytest.raises(InputError) as refused:
        _uneven_run(tmp_path, work, 7, 2, resume=True)
    assert str(refused.value) == (
        f'--resume from {work / "iter_1.pth"}: its run drew the patients its '
        'class-balanced training set (train_dataloader.dataset) repeats with '
        "seed 1000 (meta['dataset_seed']), this run built the set with seed "
        '7, as the checkpoint could not be read before the set was built: it '
        'would train on other patients than the run it continues; resume '
        'from a local copy of the checkpoint that reads, or under the seed '
        'it records: --cfg-options randomness.seed=1000')
    assert sorted(p.name for p in work.iterdir()) == before
    ds = _uneven_run(tmp_path, work, 1000, 2, resume=True
                     ).train_loop.dataloader.dataset
    assert _repeated(ds) == _published_repeats(1000)
    monkeypatch.undo()
    monkeypatch.chdir(REPO)
    ds = _uneven_run(tmp_path, work, 7, 3, resume=True
                     ).train_loop.dataloader.dataset
    assert _repeated(ds) == _published_repeats(1000)


def test_a_resume_whose_look_ahead_failed_refuses_another_val_seed(
        tmp_path, monkeypatch):
    """A run of seed 1000 whose class-balanced validation set leaves its
    seed to the run, beside a training set that is not balanced, resumed
    under seed 7 where the look-ahead cannot read the checkpoint (an
    ``s3://`` path: ``local_file`` None) built the validation set with the
    run's 7 and validated on other patients without a word (no balanced
    training set to refuse it). Now one line once MMEngine has loaded the
    checkpoint: nothing written. Under the recorded seed, the way out the
    line gives, the validation set repeats seed 1000's patients (drawn by
    hand)."""
    from _foundation_helpers import REPO
    from openselfsup.engine import runner as runner_module
    from openselfsup.utils import InputError
    monkeypatch.chdir(REPO)
    work = tmp_path / 'work'
    more = dict(_evaluated_options(tmp_path),
                **{'train_dataloader.dataset.class_balance': False})
    _uneven_run(tmp_path, work, 1000, 1, **more)
    before = sorted(p.name for p in work.iterdir())
    monkeypatch.setattr(runner_module, 'local_file', lambda path: None)
    with pytest.raises(InputError) as refused:
        _uneven_run(tmp_path, work, 7, 2, resume=True, **more)
    assert str(refused.value) == (
        f'--resume from {work / "iter_1.pth"}: its run drew the patients its '
        "class-balanced sets repeat with seed 1000 (meta['dataset_seed']), "
        'this run built its class-balanced evaluation set '
        '(val_dataloader.dataset) with seed 7, as the checkpoint could not '
        'be read before the set was built: it would evaluate on other '
        'patients than the run it continues; resume from a local copy of '
        'the checkpoint that reads, or under the seed it records: '
        '--cfg-options randomness.seed=1000')
    assert sorted(p.name for p in work.iterdir()) == before
    val = _uneven_run(tmp_path, work, 1000, 2, resume=True, **more
                      ).val_loop.dataloader.dataset
    assert _repeated(val) == _published_repeats(1000)


def test_the_drawn_seed_check_judges_balanced_sets_left_to_the_run():
    """The resume's check of the seed the training set was built with
    (``AtomicRunner._check_drawn_seed``, on a stand-in runner) refuses a
    class-balanced ``HierarchicalPatientDataset`` that leaves its seed to
    the run, inside a ``RepeatDataset`` too (its key named), built with
    another seed than the checkpoint records (0 where it records none);
    not a set that is not balanced, one whose config gives its seed, the
    same seed, or a runner that built no training set."""
    from types import SimpleNamespace

    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from openselfsup.engine.runner import AtomicRunner
    from openselfsup.utils import InputError

    def check(dataset, built, meta):
        runner = SimpleNamespace(
            cfg=Config(dict(train_dataloader=dict(dataset=dataset))),
            _drawn_seed=built, _load_from='c.pth')
        with DefaultScope.overwrite_default_scope('openselfsup'):
            AtomicRunner._check_drawn_seed(runner, dict(meta=meta))

    hier = dict(type='HierarchicalPatientDataset', class_balance=True)
    wrapped = dict(type='RepeatDataset', times=2, dataset=hier)
    with pytest.raises(InputError, match=re.escape(
            'set (train_dataloader.dataset.dataset) repeats with seed 1000 '
            "(meta['dataset_seed']), this run built the set with seed 7,")):
        check(wrapped, 7, dict(dataset_seed=1000))
    with pytest.raises(InputError, match='repeats with seed 0 '):
        check(hier, 7, dict(seed=1000))
    check(dict(hier, class_balance=False), 7, dict(dataset_seed=1000))
    check(dict(hier, seed=1000), 7, dict(dataset_seed=1000))
    check(hier, 1000, dict(dataset_seed=1000))
    check(hier, None, dict(dataset_seed=1000))


def test_the_drawn_seed_is_recorded_only_where_a_set_took_it(
        tmp_path, monkeypatch):
    """A checkpoint's ``meta['dataset_seed']`` is the seed the run gave a
    training set that left it to the run: a HiDisc run whose set sets its
    own seed 5 records none (it recorded the run's 1000, given to no set),
    one that leaves it records the run's 1000."""
    import torch

    from _foundation_helpers import REPO
    from openselfsup.utils.run_seed import DRAWN_SEED_KEY
    monkeypatch.chdir(REPO)
    _uneven_run(tmp_path, tmp_path / 'own', 1000, 1,
                **{'train_dataloader.dataset.seed': 5})
    _uneven_run(tmp_path, tmp_path / 'run', 1000, 1)
    meta = {name: torch.load(tmp_path / name / 'iter_1.pth', map_location='cpu',
                             weights_only=False)['meta']
            for name in ('own', 'run')}
    assert DRAWN_SEED_KEY not in meta['own'] and meta['own']['seed'] == 1000
    assert meta['run'][DRAWN_SEED_KEY] == 1000


def test_a_fine_tune_keeps_its_seed_a_resume_of_a_path_takes_its_own(
        tmp_path, monkeypatch):
    """Of a run of seed 1000 (work dir ``a``): a new run of seed 7 in
    another work dir started from its weights (``load_from``, no resume)
    draws its class-balanced patients with its own seed 7, and records
    7; a ``--resume`` of its checkpoint by path from another work dir
    under seed 7 draws them with the checkpoint's 1000 (both drawn by
    hand), the checkpoint named being the one resumed, not the work
    dir's (none)."""
    import torch

    from _foundation_helpers import REPO
    from openselfsup.utils.run_seed import DRAWN_SEED_KEY
    monkeypatch.chdir(REPO)
    _uneven_run(tmp_path, tmp_path / 'a', 1000, 1)
    saved = str(tmp_path / 'a' / 'iter_1.pth')
    ds = _uneven_run(tmp_path, tmp_path / 'tuned', 7, 1, load_from=saved
                     ).train_loop.dataloader.dataset
    assert _repeated(ds) == _published_repeats(7)
    assert torch.load(tmp_path / 'tuned' / 'iter_1.pth', map_location='cpu',
                      weights_only=False)['meta'][DRAWN_SEED_KEY] == 7
    ds = _uneven_run(tmp_path, tmp_path / 'resumed', 7, 2, resume=saved
                     ).train_loop.dataloader.dataset
    assert _repeated(ds) == _published_repeats(1000)


def test_a_checkpoint_without_its_drawn_seed_resumes_with_0(
        tmp_path, monkeypatch):
    """A checkpoint written before the seed its training set drew with was
    recorded (meta without ``dataset_seed``: its class-balanced set drew
    with its default 0 whatever the run's seed) resumes on seed 0's
    patients, drawn by hand, not the run seed's (1000), and its next
    checkpoint records 0: the resume switched to seed 1000's patients
    without a word (review r165)."""
    import torch

    from _foundation_helpers import REPO
    from openselfsup.utils.run_seed import DRAWN_SEED_KEY
    monkeypatch.chdir(REPO)
    work = tmp_path / 'work'
    _uneven_run(tmp_path, work, 1000, 1)
    ckpt = torch.load(work / 'iter_1.pth', map_location='cpu',
                      weights_only=False)
    ckpt['meta'].pop(DRAWN_SEED_KEY, None)
    torch.save(ckpt, work / 'iter_1.pth')
    runner = _uneven_run(tmp_path, work, 1000, 2, resume=True)
    ds = runner.train_loop.dataloader.dataset
    assert _repeated(ds) == _published_repeats(0)
    ckpt = torch.load(work / 'iter_2.pth', map_location='cpu',
                      weights_only=False)
    assert ckpt['meta'][DRAWN_SEED_KEY] == 0 and ckpt['meta']['seed'] == 1000


def test_a_seed_change_says_the_balanced_patients_are_kept():
    """The warning of a resume under another ``randomness.seed`` says that
    a class-balanced training set (here inside a ``RepeatDataset``) keeps
    the patients of the checkpoint's run, with the seed they were drawn
    with (0 for a checkpoint that records none); a set not balanced, not
    a word of it."""
    from mmengine.config import Config

    from openselfsup.engine.runner import seed_change
    inner = dict(type='HierarchicalPatientDataset', class_balance=True)
    c = Config(dict(default_scope='openselfsup', randomness=dict(seed=7),
                    runner_type='AtomicRunner', train_dataloader=dict(
                        num_workers=0, dataset=dict(type='RepeatDataset',
                                                    times=2, dataset=inner))))
    kept = ("; the patients the class-balanced training set repeats are "
            "kept from the checkpoint's run (drawn with seed {})")
    line = seed_change({'seed': 1000, 'dataset_seed': 1000}, c)
    assert line.endswith('randomness.seed=1000)' + kept.format(1000)), line
    assert seed_change({'seed': 1000}, c).endswith(kept.format(0))
    c.train_dataloader.dataset.dataset.class_balance = False
    assert seed_change({'seed': 1000}, c).endswith(
        'randomness.seed=1000)')


def test_a_seed_change_says_the_evaluation_sets_patients_are_kept():
    """The warning of a resume under another ``randomness.seed`` names
    the class-balanced validation and test sets the config has beside the
    training set: left to the run, they keep the checkpoint's run's
    patients too, given the training set's seed where it takes the run's
    (0 from a checkpoint that records none), else the one the checkpoint
    records, else this run's (``AtomicRunner._evaluation_set_seed``); one
    of its own seed draws with it. Before, the line spoke of the training
    set alone. The sets here and their seeds are worked out by hand."""
    from mmengine.config import Config

    from openselfsup.engine.runner import seed_change
    balanced = dict(type='HierarchicalPatientDataset', class_balance=True)

    def line(train, meta, runner_type='AtomicRunner', **loaders):
        c = Config(dict(default_scope='openselfsup', randomness=dict(seed=7),
                        runner_type=runner_type,
                        train_dataloader=dict(num_workers=0, dataset=train),
                        **{k: dict(dataset=v) for k, v in loaders.items()}))
        return seed_change(dict(meta, seed=1000), c)

    end = 'randomness.seed=1000); the patients the class-balanced '
    kept = "kept from the checkpoint's run (drawn with seed {})"
    assert line(balanced, {'dataset_seed': 1000}, val_dataloader=balanced,
                test_dataloader=balanced).endswith(
        end + 'training, validation and test sets repeat are '
        + kept.format(1000))
    assert line(balanced, {}, val_dataloader=balanced).endswith(
        end + 'training and validation sets repeat are ' + kept.format(0))
    # a training set that takes the run's seed unbalanced: the validation
    # set takes its seed, 0 where the checkpoint records none
    plain = dict(type='HierarchicalPatientDataset')
    assert line(plain, {}, test_dataloader=balanced).endswith(
        end + 'test set repeats are ' + kept.format(0))
    # a training set that takes no run seed: the recorded one, else this
    # run's
    images = dict(type='ImageList', class_balance=True)
    assert line(images, {'dataset_seed': 3},
                val_dataloader=balanced).endswith(
        end + 'validation set repeats are ' + kept.format(3))
    assert line(images, {}, val_dataloader=balanced).endswith(
        end + "validation set repeats are drawn with this config's seed 7, "
        'as the checkpoint records none its sets drew with')
    assert line(images, {}, val_dataloader=plain).endswith(
        'randomness.seed=1000)')
    assert line(balanced, {'dataset_seed': 1000}, val_dataloader=dict(
        balanced, seed=5)).endswith(
        end + 'training set repeats are ' + kept.format(1000) + '; the '
        'patients the class-balanced validation set val_dataloader.dataset '
        'repeats are drawn with its own seed 5')
    # MMEngine's own Runner gives no data set the run's seed: each draws
    # with its default, 0 (it was said to keep seed 1000, or to draw with
    # this config's seed 7, r185)
    default = ("drawn with the data set's default seed 0 (MMEngine's own "
               'Runner gives them no run seed)')
    for train, meta in ((balanced, {'dataset_seed': 1000}), (images, {})):
        assert line(train, meta, 'Runner', val_dataloader=balanced).endswith(
            'sets repeat are ' + default if train is balanced else
            'set repeats are ' + default)


def test_a_seed_change_names_no_kept_patients_of_sets_not_left_to_it():
    """The warning's clause of the kept patients is for class-balanced
    sets whose class takes the run's seed and whose config leaves it
    unset (``run_seeded_parts``): a balanced ``HierarchicalPatientDataset``
    of its own seed 5 is said to draw with 5 (it was said to keep the
    checkpoint's run's, drawn with that run's seed), and an ``ImageList``
    with ``class_balance=True`` (no seed taken) gets no word of it."""
    from mmengine.config import Config

    from openselfsup.engine.runner import seed_change

    def line(*parts):
        c = Config(dict(default_scope='openselfsup',
                        randomness=dict(seed=7), train_dataloader=dict(
                            num_workers=0, dataset=dict(
                                type='ConcatDataset', datasets=list(parts)))))
        return seed_change({'seed': 1000, 'dataset_seed': 1000}, c)

    own = dict(type='HierarchicalPatientDataset', class_balance=True, seed=5)
    images = dict(type='ImageList', class_balance=True)
    assert line(own, images).endswith(
        'randomness.seed=1000); the patients the class-balanced training '
        'set train_dataloader.dataset.datasets.0 repeats are drawn with its '
        'own seed 5')
    assert line(images).endswith('randomness.seed=1000)')
