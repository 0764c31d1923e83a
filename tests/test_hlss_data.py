"""Hierarchical datasets, the synthetic generator and bad metadata."""
import json
import os

import numpy as np
import pytest
from PIL import Image

from openselfsup.datasets.hierarchical import (HierarchicalPatchDataset,
                                               HierarchicalPatientDataset,
                                               balance_by_class,
                                               draw_with_reuse, read_hierarchy,
                                               read_srh_tiff)
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
    """Patient A: 1 slide x 1 patch; patient B: 3 slides x 4 patches."""
    meta = {'A': {'class': 'x', 'slides': {
        'A0': [_patch(tmp_path, 'A/0.png', 10)]}},
        'B': {'class': 'y', 'slides': {
            f'B{s}': [_patch(tmp_path, f'B/{s}_{p}.png', 40 * s + p)
                      for p in range(4)] for s in range(3)}}}
    return _write(tmp_path, meta, {'train': ['A', 'B'], 'val': ['B']})


def test_draw_with_reuse_covers_all_before_repeating():
    rng = np.random.default_rng(0)
    got = draw_with_reuse(rng, 3, 7)
    assert len(got) == 7 and set(got[:3]) == {0, 1, 2}
    got = draw_with_reuse(rng, 5, 3)
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


def test_class_balancing_by_patient():
    pats = [dict(patient=f'p{i}', label=0) for i in range(3)] + \
        [dict(patient='q', label=1)]
    out = balance_by_class(pats, np.random.default_rng(0))
    labels = [p['label'] for p in out]
    assert labels.count(0) == 3 and labels.count(1) == 3
    assert {p['patient'] for p in out if p['label'] == 0} == {'p0', 'p1', 'p2'}


def test_patch_dataset_carries_patient_and_slide(tiny):
    meta, split = tiny
    ds = HierarchicalPatchDataset(meta, split, split_name='train',
                                  pipeline=[dict(type='LoadHistoPatch'),
                                            dict(type='PackInputs')])
    arr = ds.hierarchy_arrays()
    assert len(ds) == 13
    np.testing.assert_array_equal(arr['label'], [0] + [1] * 12)
    np.testing.assert_array_equal(arr['patient_id'], [0] + [1] * 12)
    np.testing.assert_array_equal(arr['slide_id'],
                                  [0] + [1] * 4 + [2] * 4 + [3] * 4)
    assert ds[3]['inputs'].shape == (3, 8, 8)


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
