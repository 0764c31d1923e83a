import os
import re

import numpy as np
import pytest
from PIL import Image

from openselfsup.datasets import read_list_file
from openselfsup.datasets.synthetic import (LC_CLASSES, NCT_CLASSES,
                                            PAIP_CLASSES, SyntheticSpec,
                                            make_synthetic)


def test_layout_and_lists(synthetic_root):
    meta = os.path.join(synthetic_root, 'NCT', 'meta')
    train = read_list_file(os.path.join(meta, 'train_labeled.txt'), 9)
    assert len(train) == 12 * len(NCT_CLASSES)
    # the published protocol: one NONORM pool, split in two; labels in the
    # published order, from the class folder
    order = ('BACK', 'ADI', 'DEB', 'LYM', 'MUC', 'MUS', 'NORM', 'STR', 'TUM')
    test = read_list_file(os.path.join(meta, 'test_labeled.txt'), 9)
    assert len(test) == 6 * len(NCT_CLASSES)
    for p, lab in train + test:
        top, cls, _ = p.split('/')
        assert top == 'NCT-CRC-HE-100K-NONORM' and order[lab] == cls
    assert not {p for p, _ in train} & {p for p, _ in test}
    for c in range(9):
        wo = read_list_file(os.path.join(meta, f'wo_{c}_train_labeled.txt'))
        assert {lab for _, lab in wo} == set(range(9)) - {c}
    wo78 = read_list_file(os.path.join(meta, 'wo_78_train_labeled.txt'))
    assert {lab for _, lab in wo78} == set(range(7))
    unlabeled = read_list_file(os.path.join(meta, 'train.txt'))
    assert [p for p, _ in unlabeled] == [p for p, _ in train]
    assert all(lab is None for _, lab in unlabeled)

    lc = read_list_file(os.path.join(synthetic_root, 'LC25000', 'meta',
                                     'img_list_labeled.txt'),
                        len(LC_CLASSES))
    assert {p.split('/')[0] for p, _ in lc} == {'colon_image_sets',
                                                'lung_image_sets'}
    paip_meta = os.path.join(synthetic_root, 'PAIP19', 'meta')
    tr = read_list_file(os.path.join(paip_meta, 'paip_train_labeled.txt'),
                        len(PAIP_CLASSES))
    te = read_list_file(os.path.join(paip_meta, 'paip_test_labeled.txt'))
    # slide id is the first path component; train and test slides differ,
    # the train slides first in sorted order (2 train, 1 test slides);
    # <slide>/<label>/<x>+<y>+<label>.png, 4 per class per slide
    tr_slides = {p.split('/')[0] for p, _ in tr}
    te_slides = {p.split('/')[0] for p, _ in te}
    assert sorted(tr_slides | te_slides)[:2] == sorted(tr_slides)
    assert len(te_slides) == 1 and len(tr) == 2 * 3 * 4
    for p, lab in tr + te:
        _, folder, name = p.split('/')
        assert folder == str(lab) and name.endswith(f'+{lab}.png')
        assert len(name.split('+')) == 3
    for rel, _ in train[:3] + lc[:3] + tr[:3]:
        domain = ('NCT' if rel.startswith('NCT') else
                  'LC25000' if 'image_sets' in rel else 'PAIP19')
        with Image.open(os.path.join(synthetic_root, domain, 'data',
                                     rel)) as im:
            assert im.size == (32, 32) and im.mode == 'RGB'


def test_deterministic_for_seed(tmp_path):
    spec = SyntheticSpec(size=32, nct_train=2, nct_test=1, seed=3,
                         domains=['nct'])
    make_synthetic(str(tmp_path / 'a'), spec)
    make_synthetic(str(tmp_path / 'b'), spec)
    rel = 'NCT/data/NCT-CRC-HE-100K-NONORM/TUM/TUM-SYNAAAAB.tif'
    a = np.asarray(Image.open(tmp_path / 'a' / rel))
    b = np.asarray(Image.open(tmp_path / 'b' / rel))
    assert np.array_equal(a, b)
    make_synthetic(str(tmp_path / 'c'), SyntheticSpec(
        size=32, nct_train=2, nct_test=1, seed=4, domains=['nct']))
    c = np.asarray(Image.open(tmp_path / 'c' / rel))
    assert not np.array_equal(a, c)


def _patch_one_shape_at_a_time(rng, style, palette, size, shift=None):
    """The reference of :func:`~openselfsup.datasets.synthetic.tissue.
    render_patch`: every shape drawn with its own scalar draws, one
    polygon at a time, each ellipse's vertices and colour computed
    alone (as the generator drew them before its shapes were batched)."""
    from PIL import ImageDraw, ImageFilter
    from openselfsup.datasets.synthetic import tissue

    def ellipse(cx, cy, rx, ry, angle, n):
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        x, y = rx * np.cos(t), ry * np.sin(t)
        c, s = np.cos(angle), np.sin(angle)
        return list(zip(cx + c * x - s * y, cy + s * x + c * y))

    def col(c, k=1.0):
        return tuple(int(v) for v in np.clip(np.asarray(c) * k, 0, 255))

    def jitter(colour, amount):
        return np.clip(np.asarray(colour, float) *
                       (1 + rng.normal(0, amount, 3)), 0, 255)

    s, j = size / 224.0, palette.jitter
    stroma = jitter(palette.stroma, j) * style.stroma_tone
    nucleus, fibre = jitter(palette.nucleus, j), jitter(palette.fibre, j)
    lumen, mucin = jitter(palette.lumen, j / 3), jitter(palette.mucin, j)
    img = Image.new('RGB', (size, size), tuple(int(v) for v in stroma))
    draw = ImageDraw.Draw(img)
    angle = rng.uniform(0, np.pi)
    if style.glass > 0:
        for _ in range(3):
            cx, cy = rng.uniform(0, size, 2)
            r = size * np.sqrt(style.glass) * rng.uniform(0.6, 0.9)
            draw.polygon(ellipse(cx, cy, r, r * rng.uniform(0.7, 1.0),
                                 angle, 16), fill=col(lumen))
    if style.mucin > 0:
        for _ in range(int(1 + 6 * style.mucin)):
            cx, cy = rng.uniform(0, size, 2)
            r = size * rng.uniform(0.15, 0.4) * style.mucin ** 0.5
            draw.polygon(ellipse(cx, cy, r, r * rng.uniform(0.4, 1.0),
                                 rng.uniform(0, np.pi), 14), fill=col(mucin))
    for _ in range(style.fibres):
        a = angle + rng.normal(0, 0.25)
        x0, y0 = rng.uniform(-0.1, 1.1, 2) * size
        length = rng.uniform(0.3, 0.9) * size
        pts = [(x0, y0)]
        for _ in range(5):
            a += rng.normal(0, 0.15)
            pts.append((pts[-1][0] + np.cos(a) * length / 5,
                        pts[-1][1] + np.sin(a) * length / 5))
        draw.line(pts, fill=col(fibre, rng.uniform(0.9, 1.05)),
                  width=max(1, int(round(rng.uniform(1, 2.5) * s))))
    glands = []
    for _ in range(style.glands if style.arrangement == 'glands' else 0):
        gr = rng.uniform(0.12, 0.22) * size
        gx, gy = rng.uniform(gr, size - gr, 2)
        glands.append((gx, gy, gr))
        draw.polygon(ellipse(gx, gy, gr, gr * rng.uniform(0.7, 1.0),
                             rng.uniform(0, np.pi), 18), fill=col(lumen))
    for _ in range(style.vacuoles):
        r = rng.uniform(*style.vacuole_radius) * s
        cx, cy = rng.uniform(0, size, 2)
        draw.polygon(ellipse(cx, cy, r, r * rng.uniform(0.75, 1.0),
                             rng.uniform(0, np.pi), 14),
                     fill=col(lumen), outline=col(fibre))
    count = int(round(style.nuclei * rng.uniform(0.8, 1.2)))
    for cx, cy in tissue._nucleus_centres(rng, style, size, count, glands,
                                          angle):
        r = rng.uniform(*style.nucleus_radius) * s
        e = rng.uniform(*style.elongation)
        a = (angle + rng.normal(0, 0.2) if style.arrangement == 'aligned'
             else rng.uniform(0, np.pi))
        dark = rng.uniform(*style.darkness)
        draw.polygon(ellipse(cx, cy, max(r * e ** 0.5, 0.6),
                             max(r / e ** 0.5, 0.6), a, 8),
                     fill=col(nucleus, 1 / dark))
    for _ in range(style.debris):
        r = rng.uniform(0.8, 2.5) * s
        cx, cy = rng.uniform(0, size, 2)
        c = nucleus if rng.random() < 0.5 else fibre
        draw.polygon(ellipse(cx, cy, r, r * rng.uniform(0.3, 1.0),
                             rng.uniform(0, np.pi), 5),
                     fill=col(c, rng.uniform(0.7, 1.1)))
    img = img.filter(ImageFilter.GaussianBlur(radius=max(0.3, 0.7 * s)))
    out = np.asarray(img, dtype=np.float32)
    out *= tissue._smooth_field(rng, size, 4, 0.06)[..., None]
    if shift is not None:
        out *= np.asarray(shift, np.float32)[None, None, :]
    out += rng.normal(0, 4.0, out.shape).astype(np.float32)
    return np.clip(out, 0, 255).astype(np.uint8)


@pytest.mark.parametrize('size', [7, 32, 61, 224])
def test_batched_shapes_draw_the_pixels_of_one_shape_at_a_time(
        size, monkeypatch):
    """render_patch draws each kind of shape with one rng.random block
    and batched vertices and colours (the draws about 100 times faster
    than a loop of scalar draws): every pixel of every style and palette
    is the one a shape-at-a-time reference draws from the same seed, and
    so is every argument of every polygon and line drawn, bit for bit
    (r144: a vertex or colour off by one bit seldom moves a pixel; a
    draw out of order does)."""
    from PIL import ImageDraw
    from openselfsup.datasets.synthetic import PALETTES, STYLES, render_patch
    from openselfsup.datasets.synthetic.tissue import with_palette_shift
    calls = []
    polygon, line = ImageDraw.ImageDraw.polygon, ImageDraw.ImageDraw.line

    def flat(xy):
        return tuple(float(v) for p in xy
                     for v in (p if isinstance(p, (tuple, list)) else (p,)))

    def drawn_polygon(self, xy, fill=None, outline=None, width=1):
        calls.append(('polygon', flat(xy), tuple(map(int, fill)), outline))
        return polygon(self, xy, fill, outline, width)

    def drawn_line(self, xy, fill=None, width=0, joint=None):
        calls.append(('line', flat(xy), tuple(map(int, fill)), width))
        return line(self, xy, fill, width, joint)
    monkeypatch.setattr(ImageDraw.ImageDraw, 'polygon', drawn_polygon)
    monkeypatch.setattr(ImageDraw.ImageDraw, 'line', drawn_line)
    for i, (name, style) in enumerate(sorted(STYLES.items())):
        for seed in (i, 1000 + i):
            palette = PALETTES[('nct', 'lc', 'paip')[seed % 3]]
            shift = None if seed % 2 else np.array([1.03, 0.97, 1.01])
            if seed > 1000:  # a patient's palette
                palette = with_palette_shift(palette, [0.95, 1.04, 1.0])
            args = (style, palette, size, shift)
            calls.clear()
            want = _patch_one_shape_at_a_time(np.random.default_rng(seed),
                                              *args)
            want_calls = list(calls)
            calls.clear()
            got = render_patch(np.random.default_rng(seed), *args)
            assert got.dtype == np.uint8 and got.shape == (size, size, 3)
            assert np.array_equal(got, want), (name, seed, size)
            assert want_calls and calls == want_calls, (name, seed, size)


def test_a_style_s_bad_range_or_count_is_as_the_scalar_draws_had_it():
    """A range the scalar ``rng.uniform`` refused is refused by the
    batched draws too, whatever the arrangement (r144: an inverted
    ``nucleus_radius`` or a NaN ``darkness`` drew a patch without a
    word), and a negative count draws none of that shape, as the loop
    did (it raised numpy's 'negative dimensions')."""
    import dataclasses
    from openselfsup.datasets.synthetic import PALETTES, STYLES, render_patch
    style, palette = STYLES['TUM'], PALETTES['nct']
    for bad, error in ((dict(nucleus_radius=(5.0, 3.0)), ValueError),
                       (dict(vacuole_radius=(16.0, 8.0), vacuoles=3),
                        ValueError),
                       (dict(darkness=(1.1, 0.9)), ValueError),
                       (dict(nucleus_radius=(float('nan'), 3.0)),
                        OverflowError),
                       (dict(darkness=(0.9, float('inf'))), OverflowError)):
        with pytest.raises(error):  # the reference's scalar draws too
            _patch_one_shape_at_a_time(np.random.default_rng(0),
                                       dataclasses.replace(style, **bad),
                                       palette, 32)
        with pytest.raises(error):
            render_patch(np.random.default_rng(0),
                         dataclasses.replace(style, **bad), palette, 32)
    fewer = dataclasses.replace(style, vacuoles=-1, debris=-2)
    none = dataclasses.replace(style, vacuoles=0, debris=0)
    assert np.array_equal(
        render_patch(np.random.default_rng(1), fewer, palette, 32),
        render_patch(np.random.default_rng(1), none, palette, 32))
    assert np.array_equal(
        render_patch(np.random.default_rng(1), fewer, palette, 32),
        _patch_one_shape_at_a_time(np.random.default_rng(1), fewer,
                                   palette, 32))


@pytest.mark.parametrize('argv', [
    ['tools/prepare_data/make_synthetic.py', '--size', '8', '--nct-train',
     '1', '--nct-test', '1', '--lc', '1', '--paip-train-slides', '1',
     '--paip-test-slides', '1', '--paip-per-class', '1'],
    ['tools/prepare_data/make_synthetic_hierarchical.py', '--size', '8',
     '--train-patients', '1', '--val-patients', '1'],
    ['tools/prepare_data/make_crossmodal.py', '--settings', 'images',
     '--size', '8', '--images-train', '1', '--images-val', '1'],
])
def test_an_image_generator_loads_no_training_stack(tmp_path, argv):
    """The generators the quick start and the tests run write images with
    numpy and Pillow: a fresh process imports no mmengine, mmpretrain,
    mmcv or torch (mmengine, about 0.5 s of each run, came in with the --help
    formatter of openselfsup.config)."""
    from _foundation_helpers import loaded_modules
    rc, _, lines, loaded = loaded_modules(
        argv + ['--out', str(tmp_path / 'out')],
        ('mmengine', 'mmpretrain', 'mmcv', 'torch'))
    assert rc == 0, lines[-20:]
    assert loaded == [], loaded


def test_nct_ids_are_eight_capitals_in_index_order():
    """The generator's NCT images are named as the downloads' are, their
    class and eight capitals (review r108: ``SYN00001`` was not of that
    form, and images of the generator's moved out of its release folder
    were not NCT's): ``SYN`` and the index in five capitals, A 0 .. Z 25,
    in the order of the index (the values by hand)."""
    from openselfsup.datasets.synthetic.layouts import nct_synthetic_id
    assert [nct_synthetic_id(i) for i in (0, 1, 25, 26, 27, 26 ** 2)] == [
        'SYNAAAAA', 'SYNAAAAB', 'SYNAAAAZ', 'SYNAAABA', 'SYNAAABB',
        'SYNAABAA']
    assert nct_synthetic_id(26 ** 5 - 1) == 'SYNZZZZZ'
    ids = [nct_synthetic_id(i) for i in range(0, 26 ** 5, 997)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    # more than the ids name: refused by the spec's check, before a run
    # would draw millions of images (26 ** 5 = 11881376, by hand)
    from openselfsup.utils import InputError
    SyntheticSpec(nct_train=11881375, nct_test=1).check()
    with pytest.raises(InputError, match=re.escape(
            '--nct-train 11881376 --nct-test 1: at most 11881376 NCT '
            'images per class in all')):
        SyntheticSpec(nct_train=11881376, nct_test=1).check()


def test_real_data_is_never_overwritten_and_reruns_leave_no_stale_images(
        tmp_path):
    """The quick start writes data/, where the docs put the real datasets,
    and LC25000 / PAIP19 synthetic files carry the real file names: a folder
    the generator did not write, one whose images changed since it wrote
    them (real images added beside the synthetic ones), and one reached
    through a symbolic link are refused before anything changes; its own
    folder (marked) is replaced whole, so a smaller run leaves no images
    of a bigger one behind, also after a converter rewrote its lists."""
    from openselfsup.datasets.prepare import prepare_nct
    from openselfsup.datasets.synthetic.layouts import MARKER
    from openselfsup.utils import InputError
    real = tmp_path / 'LC25000' / 'data' / 'lung_image_sets' / 'lung_aca'
    real.mkdir(parents=True)
    (real / 'lungaca1.jpeg').write_bytes(b'real image')
    spec = dict(size=16, nct_train=3, nct_test=1, lc=1, paip_train_slides=1,
                paip_test_slides=1, paip_per_class=1)
    with pytest.raises(InputError, match=f'LC25000: holds files this '
                       f'generator did not write \\(no {MARKER}; synthetic '
                       f'data written before 2026-12-01 has none\\)'):
        make_synthetic(str(tmp_path), SyntheticSpec(**spec))
    assert (real / 'lungaca1.jpeg').read_bytes() == b'real image'
    assert not (tmp_path / 'NCT').exists()  # checked before NCT was written
    make_synthetic(str(tmp_path), SyntheticSpec(**spec, domains=['nct']))
    tum = tmp_path / 'NCT' / 'data' / 'NCT-CRC-HE-100K-NONORM' / 'TUM'
    assert len(os.listdir(tum)) == 4
    # a converter rewriting the lists: still the generator's folder
    nct = tmp_path / 'NCT'
    prepare_nct(str(nct), split_lists=[str(nct / 'meta' / 'test.txt'),
                                       str(nct / 'meta' / 'train.txt')])
    make_synthetic(str(tmp_path), SyntheticSpec(**dict(spec, nct_train=1),
                                                domains=['nct']))
    assert sorted(os.listdir(tum)) == ['TUM-SYNAAAAA.tif', 'TUM-SYNAAAAB.tif']
    # a real image added beside the synthetic ones: refused, kept
    (tum / 'TUM-REAL.tif').write_bytes(b'real image')
    with pytest.raises(InputError, match='NCT: holds files added, removed '
                       'or changed since it was generated'):
        make_synthetic(str(tmp_path), SyntheticSpec(**spec, domains=['nct']))
    assert (tum / 'TUM-REAL.tif').read_bytes() == b'real image'
    # a folder reached through a symbolic link: refused
    (tmp_path / 'out').mkdir()
    os.symlink(tmp_path / 'LC25000', tmp_path / 'out' / 'LC25000')
    with pytest.raises(InputError, match='a symbolic link'):
        make_synthetic(str(tmp_path / 'out'),
                       SyntheticSpec(**spec, domains=['lc']))
    assert (real / 'lungaca1.jpeg').read_bytes() == b'real image'


def test_a_second_run_into_one_folder_while_one_writes_is_refused(
        tmp_path, monkeypatch):
    """Two runs into one --out at once: the second took the first's
    'writing' marker for an interrupted run of its own, cleared the images
    the first had drawn and wrote fewer; the first then listed images that
    were gone (training refused them as missing). The second is refused in
    one line now and changes nothing; the first's lists are whole."""
    from openselfsup.datasets.synthetic import layouts
    from openselfsup.utils import InputError
    spec = dict(size=16, nct_test=1, domains=['nct'])
    render, refused, started = layouts._render_all, [], []

    def render_then_start_another(jobs, *args):
        render(jobs, *args)
        if started:  # the second run's own images
            return
        started.append(True)
        try:  # the second run, started while the first is writing
            make_synthetic(str(tmp_path), SyntheticSpec(nct_train=1, **spec))
        except InputError as exc:
            refused.append(str(exc))
    monkeypatch.setattr(layouts, '_render_all', render_then_start_another)
    make_synthetic(str(tmp_path), SyntheticSpec(nct_train=3, **spec))
    nct = tmp_path / 'NCT'
    listed = [p for p, _ in read_list_file(str(nct / 'meta' / 'train.txt'))]
    assert len(listed) == 3 * len(NCT_CLASSES)
    missing = [p for p in listed if not (nct / 'data' / p).is_file()]
    assert not missing, f'{len(missing)} listed images missing'
    assert len(refused) == 1 and 'another run of a synthetic-data ' \
        'generator is writing there' in refused[0], refused
    assert not os.path.exists(tmp_path / '.NCT.lock')  # removed at the end


def test_the_lock_needs_no_writable_parent_nor_leaves_a_folder_on_a_bad_value(
        tmp_path, capsys, monkeypatch):
    """make_synthetic_hierarchical's lock sits beside --out: a folder made
    for this user in a shared one it cannot write (the generator wrote it
    before the lock) was refused 'cannot write here'; and a bad value
    (--size 0) left the lock's missing parent folder behind, where nothing
    may be written. Now the folder is written (unlocked), and the bad value
    is refused with nothing made."""
    import errno

    from _data_helpers import run_data_tool
    argv = ['--size', '8', '--train-patients', '1', '--val-patients', '1',
            '--slides', '1', '1', '--patches', '1', '1']
    code, _, lines = run_data_tool('make_synthetic_hierarchical', [
        '--out', str(tmp_path / 'new' / 'hier'), '--size', '0'] + argv[2:],
        capsys)
    assert code == 2 and len(lines) == 1, lines
    assert not os.path.exists(tmp_path / 'new')
    shared = tmp_path / 'shared'
    (shared / 'mine').mkdir(parents=True)
    real_open = os.open

    def open_(path, flags, *args, **kwargs):  # root ignores mode bits
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and \
                os.path.dirname(os.path.abspath(path)) == str(shared):
            raise PermissionError(errno.EACCES, 'Permission denied', path)
        return real_open(path, flags, *args, **kwargs)
    monkeypatch.setattr(os, 'open', open_)
    code, _, lines = run_data_tool('make_synthetic_hierarchical', [
        '--out', str(shared / 'mine')] + argv, capsys)
    assert code == 0, lines
    assert (shared / 'mine' / 'metadata.json').is_file()
    assert os.listdir(shared) == ['mine']


def test_make_crossmodal_takes_every_settings_lock_before_writing(
        tmp_path, capsys):
    """make_crossmodal locked each setting's folder only when it came to
    write it: with another run writing <out>/slides, a run of both settings
    wrote the images and was then refused at the slides (exit 2 with half
    its output written, the refusal saying 'before it changes anything').
    Every lock is taken first now: refused with nothing written."""
    from _data_helpers import run_data_tool
    from openselfsup.datasets.synthetic.ownership import writing
    out = tmp_path / 'balance'
    with writing([str(out / 'slides')]):  # another run writing the slides
        code, _, lines = run_data_tool('make_crossmodal', [
            '--out', str(out), '--size', '8', '--images-train', '1',
            '--images-val', '1', '--captions', '1', '--slides-train', '1',
            '--slides-val', '1', '--feat-dim', '4'], capsys)
    assert code == 2 and len(lines) == 1, lines
    assert 'another run of a synthetic-data generator' in lines[0], lines
    assert not os.path.exists(out / 'images'), os.listdir(out)


def test_marked_folders_stay_replaceable(tmp_path, monkeypatch):
    """A generator's folder must stay its own: stopped while the old
    contents were being deleted (the marker used to be written after), or
    copied with cp -r (new modification times), it was refused for good as
    'changed since'. The marker of the previous version is accepted."""
    import shutil

    from openselfsup.datasets.synthetic import ownership
    spec = SyntheticSpec(size=16, nct_train=2, nct_test=1, domains=['nct'])
    make_synthetic(str(tmp_path / 'a'), spec)
    shutil.copytree(tmp_path / 'a', tmp_path / 'b',
                    copy_function=shutil.copy)  # new mtimes, as cp -r
    make_synthetic(str(tmp_path / 'b'), spec)
    real_rmtree = shutil.rmtree

    def dies(path, *args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(ownership.shutil, 'rmtree', dies)
    with pytest.raises(KeyboardInterrupt):
        make_synthetic(str(tmp_path / 'a'), spec)
    monkeypatch.setattr(ownership.shutil, 'rmtree', real_rmtree)
    make_synthetic(str(tmp_path / 'a'), spec)
    nct = tmp_path / 'a' / 'NCT'
    os.remove(nct / ownership.MARKER)
    (nct / ownership.LEGACY_MARKER).write_text('synthetic\n')
    make_synthetic(str(tmp_path / 'a'), spec)
    assert (nct / ownership.MARKER).is_file()


def test_preparing_the_synthetic_nct_says_there_is_nothing_to_prepare(
        synthetic_root, tmp_path, capsys):
    """prepare_nct.py on the synthetic NCT (none of the published images):
    the line says why and what to do, and nothing is written."""
    import shutil

    from _data_helpers import run_data_tool
    root = tmp_path / 'NCT'
    shutil.copytree(os.path.join(synthetic_root, 'NCT'), root,
                    symlinks=True)
    before = {n: (root / 'meta' / n).read_bytes()
              for n in os.listdir(root / 'meta')}
    rc, _, lines = run_data_tool('prepare_nct', ['--root', str(root)],
                                 capsys)
    assert rc == 2 and len(lines) == 1, lines
    assert 'none of them is here: images of another source (the synthetic ' \
        'generator writes its own lists, nothing to prepare), or ' \
        '--split-lists TRAIN TEST' in lines[0]
    assert {n: (root / 'meta' / n).read_bytes()
            for n in os.listdir(root / 'meta')} == before


def _help_patterns(text):
    """The path patterns of a ``--help`` text's 'written under' part, as
    regular expressions: ``<name>`` one path component, ``[x]`` optional,
    ``{a,b}`` either."""
    import re
    part = text[text.index('written under'):]
    out = {}
    for token in part.split():
        if not re.search(r'\.[a-z]+$', token):  # paths of files only
            continue
        rx = ''
        for piece in re.split(r'(<[^>]+>|\[[^]]+\]|\{[^}]+\})', token):
            if piece.startswith('<'):
                rx += '[^/]+'
            elif piece.startswith('['):
                rx += f'(?:{re.escape(piece[1:-1])})?'
            elif piece.startswith('{'):
                rx += '(?:' + '|'.join(map(re.escape, piece[1:-1].split(',')))
                rx += ')'
            else:
                rx += re.escape(piece)
        out[token] = re.compile(rx)
    return out


@pytest.mark.parametrize('tool,argv', [
    ('make_synthetic', ['--size', '8', '--nct-train', '1', '--nct-test', '1',
                        '--lc', '1', '--paip-train-slides', '1',
                        '--paip-test-slides', '1', '--paip-per-class', '1']),
    ('make_synthetic_hierarchical', ['--size', '8', '--train-patients', '1',
                                     '--val-patients', '1', '--slides', '1',
                                     '1', '--patches', '1', '1']),
    ('make_crossmodal', ['--size', '8', '--images-train', '1',
                         '--images-val', '1', '--captions', '1',
                         '--slides-train', '1', '--slides-val', '1',
                         '--feat-dim', '4'])])
def test_help_names_every_file_the_generator_writes(tool, argv, tmp_path,
                                                     capsys):
    """``--help`` said nothing of the list files (meta/*.txt), the JSONs
    or the marker a generator writes: each file of a tiny run is named by a
    pattern of its help (a path's end: ``NCT/meta/wo_<c>_train[_labeled]
    .txt``), and each pattern names a file the run wrote."""
    from _data_helpers import run_data_tool
    with pytest.raises(SystemExit) as info:
        run_data_tool(tool, ['--help'], capsys)
    assert info.value.code == 0
    text = capsys.readouterr().out
    patterns = _help_patterns(text)
    code, _, lines = run_data_tool(tool, ['--out', str(tmp_path)] + argv,
                                   capsys)
    assert code == 0, lines
    written = sorted(p.relative_to(tmp_path).as_posix()
                     for p in tmp_path.rglob('*') if p.is_file())

    def named(path, rx):  # the pattern matches the path's last components
        parts = path.split('/')
        return any(rx.fullmatch('/'.join(parts[i:]))
                   for i in range(len(parts)))
    unnamed = [p for p in written
               if not any(named(p, rx) for rx in patterns.values())]
    assert not unnamed, (unnamed, sorted(patterns))
    stale = [t for t, rx in patterns.items()
             if not any(named(p, rx) for p in written)]
    assert not stale, (stale, written)


def test_an_output_folder_ending_in_a_separator_is_printed_once(
        tmp_path, capsys, synthetic_root):
    """``--out data/`` (a tab completion) printed 'written under data//';
    the converters' ``--root data/LC25000/`` 'lists written under
    data/LC25000//meta/'."""
    import shutil

    from _data_helpers import run_data_tool
    for tool, argv, says in (
            ('make_synthetic', ['--domains', 'lc', '--lc', '1', '--size',
                                '8'], 'written under {}/\n'),
            ('make_synthetic_hierarchical', [
                '--size', '8', '--train-patients', '1', '--val-patients',
                '1', '--slides', '1', '1', '--patches', '1', '1'],
             'written under {}/ (metadata.json'),
            ('make_crossmodal', ['--settings', 'slides', '--slides-train',
                                 '1', '--slides-val', '1', '--feat-dim',
                                 '4'], '-> {}/slides/\n')):
        out = str(tmp_path / tool)
        code, text, lines = run_data_tool(tool, ['--out', out + '/'] + argv,
                                          capsys)
        assert code == 0, lines
        assert says.format(out) in text and '//' not in text, text
    # the generator's LC25000 files carry the first published names: an
    # incomplete copy, listed with --every-image
    for tool, domain, argv in (('prepare_lc25000', 'LC25000',
                                ['--every-image']),
                               ('prepare_paip19', 'PAIP19',
                                ['--train-slides', '1'])):
        root = tmp_path / domain
        shutil.copytree(os.path.join(synthetic_root, domain), root)
        code, text, lines = run_data_tool(
            tool, ['--root', f'{root}/'] + argv, capsys)
        assert code == 0, lines
        assert text.endswith(f'lists written under {root}/meta/\n'), text


def _tree(folder):
    """Every file under ``folder`` with its bytes (what a refusal must
    leave as it was)."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob('*')) if p.is_file()}


def test_a_generator_never_writes_into_another_generators_data(
        tmp_path, capfd):
    """``make_crossmodal.py --out`` the HLSS patients' folder wrote its
    ``images/`` and ``slides/`` into it (whose own rerun then refused it
    as changed), the HLSS generator given the captioned images' folder
    emptied it and wrote patients there (both folders marked, each taken
    for its own), and ``make_synthetic.py`` wrote its domains into a
    folder inside the patients'. Each is refused in one line naming the
    other generator's folder, before anything is written (no lock file
    either); a marker written before the generator was recorded is told by
    the folder's entries. A generator's own rerun, and the cross-modal
    settings beside the NCT domain, still write."""
    import json

    from _foundation_helpers import run_tool_here
    from openselfsup.datasets.synthetic import ownership
    hier, balance = tmp_path / 'hier', tmp_path / 'balance'
    small = ['--images-train', '2', '--images-val', '1', '--slides-train',
             '2', '--slides-val', '1', '--size', '16']
    patients = ['--size', '16', '--train-patients', '1', '--val-patients',
                '1', '--slides', '1', '1', '--patches', '1', '1']

    def run(tool, *args):
        return run_tool_here([f'tools/prepare_data/{tool}', *args], capfd)
    assert run('make_synthetic_hierarchical.py', '--out', str(hier),
               *patients)[0] == 0
    assert run('make_crossmodal.py', '--out', str(balance), *small)[0] == 0
    assert run('make_synthetic.py', '--out', str(tmp_path), '--size', '16',
               '--nct-train', '1', '--nct-test', '1', '--domains',
               'nct')[0] == 0
    # one marker as written before the generator was recorded
    marker = balance / 'images' / ownership.MARKER
    state = json.loads(marker.read_text())
    state.pop('generator', None)
    marker.write_text(json.dumps(state))
    before = _tree(tmp_path)
    hier_kind = ('make_synthetic_hierarchical.py (patients / slides / '
                 'patches)')
    for tool, args, says in [
            ('make_crossmodal.py', ['--out', str(hier), *small],
             f'{hier / "images"}: inside {hier}, the data {hier_kind} '
             'wrote'),
            ('make_crossmodal.py', ['--out', str(tmp_path / 'NCT'), *small],
             f'{tmp_path / "NCT" / "images"}: inside {tmp_path / "NCT"}, '
             'the data make_synthetic.py (NCT) wrote'),
            ('make_synthetic_hierarchical.py',
             ['--out', str(balance / 'images'), *patients],
             f'{balance / "images"}: holds the data make_crossmodal.py '
             f'(images) wrote (SYNTHETIC.json), not {hier_kind}\'s'),
            ('make_synthetic_hierarchical.py',
             ['--out', str(tmp_path / 'NCT'), *patients],
             f'{tmp_path / "NCT"}: holds the data make_synthetic.py (NCT) '
             'wrote'),
            ('make_synthetic.py', ['--out', str(hier / 'more'), '--size',
                                   '16', '--domains', 'nct'],
             f'{hier / "more" / "NCT"}: inside {hier}, the data '
             f'{hier_kind} wrote')]:
        rc, _, err = run(tool, *args)
        assert rc == 2 and err.count('\n') == 1 and \
            err.startswith(f'error: {says}'), (tool, err)
        assert _tree(tmp_path) == before, tool
    # their own reruns, and the cross-modal settings beside NCT, write
    assert run('make_synthetic_hierarchical.py', '--out', str(hier),
               *patients)[0] == 0
    assert run('make_crossmodal.py', '--out', str(balance), *small)[0] == 0
    assert run('make_crossmodal.py', '--out', str(tmp_path), *small)[0] == 0


def test_an_interrupted_generator_and_the_next_command_say_what_to_rerun(
        tmp_path, monkeypatch, capsys):
    """Stopped by Ctrl-C, a generator printed only 'interrupted', leaving
    a folder marked 'writing'; the next command (training, extraction, the
    data check) said only '.../meta/train_labeled.txt: list file not
    found'. The 'interrupted' line names the unfinished folder and the
    command to rerun (the one typed, which the marker records); the data
    check and the list reader say the folder was left unfinished, by
    which generator, and that command, in one line."""
    from _data_helpers import run_data_tool
    from mmengine.config import Config

    from openselfsup.apis.train import check_dataset_paths
    from openselfsup.datasets.synthetic import layouts
    from openselfsup.utils import InputError
    out = tmp_path / 'syn'
    argv = ['--out', str(out), '--size', '8', '--nct-train', '1',
            '--nct-test', '1', '--domains', 'nct']
    script = 'tools/prepare_data/make_synthetic.py'
    monkeypatch.setattr('sys.argv', [script, *argv])
    real = layouts._make_nct

    def stopped(root, spec):  # Ctrl-C once some images are written
        os.makedirs(os.path.join(root, 'NCT', 'data'), exist_ok=True)
        raise KeyboardInterrupt
    monkeypatch.setattr(layouts, '_make_nct', stopped)
    code, _, lines = run_data_tool('make_synthetic', argv, capsys)
    nct = out / 'NCT'
    command = f'python {script} ' + ' '.join(argv)
    assert code == 130 and lines == [
        f'interrupted: {nct}: left unfinished; rerun {command} to write it '
        'whole']
    lst = nct / 'meta' / 'train_labeled.txt'
    said = (f'{nct}: was left unfinished by make_synthetic.py (NCT) '
            f'(interrupted); rerun {command}')
    with pytest.raises(InputError) as err:
        read_list_file(str(lst))
    assert str(err.value) == f'{lst}: list file not found: {said}'
    cfg = Config(dict(train_dataloader=dict(dataset=dict(
        type='ImageList', data_root=str(nct), data_prefix='data',
        ann_file='meta/train_labeled.txt'))))
    with pytest.raises(InputError) as err:
        check_dataset_paths(cfg, ['train_dataloader'])
    assert str(err.value) == f'{lst}: file not found: {said}'
    # written whole by the command it names: read as before
    monkeypatch.setattr(layouts, '_make_nct', real)
    assert run_data_tool('make_synthetic', argv, capsys)[0] == 0
    assert len(read_list_file(str(lst))) == len(NCT_CLASSES)
    check_dataset_paths(cfg, ['train_dataloader'])


def test_a_folder_stopped_before_its_marker_is_not_read_as_whole(
        tmp_path, monkeypatch, capsys):
    """A generator stopped after its last list but before it marked the
    folder done left every list and image there under a marker that still
    says 'writing' (and no digest): the data check and the list reader
    read it as whole, without a word, though nothing tells it from a
    folder stopped while its lists were moved in. Both now refuse it in
    one line naming the path, the folder and the command that writes it
    whole; written whole by that command, it is read as before."""
    import json

    from _data_helpers import run_data_tool
    from mmengine.config import Config

    from openselfsup.apis.train import check_dataset_paths
    from openselfsup.datasets.synthetic import layouts
    from openselfsup.datasets.synthetic.ownership import MARKER
    from openselfsup.utils import InputError, locked
    argv = ['--size', '8', '--nct-train', '1', '--nct-test', '1',
            '--domains', 'nct']
    script = 'tools/prepare_data/make_synthetic.py'
    whole, out = tmp_path / 'whole', tmp_path / 'syn'
    monkeypatch.setattr('sys.argv', [script, '--out', str(whole), *argv])
    assert run_data_tool('make_synthetic',
                         ['--out', str(whole), *argv], capsys)[0] == 0
    argv = ['--out', str(out), *argv]
    monkeypatch.setattr('sys.argv', [script, *argv])
    real = layouts.mark_done

    def stopped(*args, **kwargs):  # Ctrl-C between the lists and marker
        raise KeyboardInterrupt
    monkeypatch.setattr(layouts, 'mark_done', stopped)
    assert run_data_tool('make_synthetic', argv, capsys)[0] == 130
    nct = out / 'NCT'
    # every file of a whole run there, the same bytes; marked 'writing'
    def files(root):
        return {os.path.relpath(os.path.join(d, f), root):
                open(os.path.join(d, f), 'rb').read()
                for d, _, names in os.walk(root) for f in names
                if not f.startswith('.') and f != MARKER}
    assert files(nct) == files(whole / 'NCT')
    assert json.loads((nct / MARKER).read_text())['state'] == 'writing'
    lst = nct / 'meta' / 'train_labeled.txt'
    said = (f'{lst}: not read: {nct}: was left unfinished by '
            f'make_synthetic.py (NCT) (interrupted); rerun python {script} '
            + ' '.join(argv))
    with pytest.raises(InputError) as err:
        read_list_file(str(lst))
    assert str(err.value) == said
    (tmp_path / 'cfg.py').write_text('')  # the config's file, named
    cfg = Config(dict(train_dataloader=dict(dataset=dict(
        type='ImageList', data_root=str(nct) + '/', data_prefix='data',
        ann_file='meta/train_labeled.txt'))),
        filename=str(tmp_path / 'cfg.py'))
    with pytest.raises(InputError) as err:
        check_dataset_paths(cfg, ['train_dataloader'])
    # the config key named, as the data check's 'not found' line does; the
    # folder once (it said '<nct>/: not read: <nct>: ...')
    key = f'train_dataloader.dataset.data_root in {tmp_path}/cfg.py'
    assert str(err.value) == (
        f'{nct}/: not read ({key}): was left unfinished by '
        f'make_synthetic.py (NCT) (interrupted); rerun python {script} '
        + ' '.join(argv))
    with locked(str(nct)):  # a generator writing it now
        with pytest.raises(InputError) as err:
            check_dataset_paths(cfg, ['train_dataloader'])
    assert re.fullmatch(
        rf'{re.escape(str(nct))}/: not read \({re.escape(key)}\): is being '
        rf'written by make_synthetic.py \(NCT\) \({os.getpid()}@\S+ since '
        r'.+\); wait for it to end', str(err.value)), str(err.value)
    # written whole by the command it names: read as before
    monkeypatch.setattr(layouts, 'mark_done', real)
    assert run_data_tool('make_synthetic', argv, capsys)[0] == 0
    assert len(read_list_file(str(lst))) == len(NCT_CLASSES)
    check_dataset_paths(cfg, ['train_dataloader'])


def test_the_data_digest_does_not_depend_on_the_command_that_wrote_it(
        tmp_path, monkeypatch, capsys):
    """The generator's command, recorded in the folder's marker, entered
    the data fingerprint (the marker is one of the folder's files): the
    same data generated with the flags in another order, from another
    directory, or with --out relative, got another digest, and kNN
    results on it counted as on other data. The command is kept out of
    what the fingerprint reads: the digest is the one of the same data
    written by a library call, which records no command (as the
    generator wrote every folder before the command was recorded)."""
    from _data_helpers import run_data_tool

    from openselfsup.utils.fingerprint import data_folder_sha1
    script = 'tools/prepare_data/make_synthetic.py'
    flags = ['--size', '8', '--nct-train', '1', '--nct-test', '1',
             '--domains', 'nct']
    out = tmp_path / 'syn'
    # the flags in two orders, then a library call (no command recorded)
    firsts = [['--out', str(out), *flags],
              ['--domains', 'nct', '--nct-test', '1', '--nct-train', '1',
               '--size', '8', '--out', str(out)]]
    digests = []
    for argv in firsts:
        monkeypatch.setattr('sys.argv', [script, *argv])
        assert run_data_tool('make_synthetic', argv, capsys)[0] == 0
        digests.append((data_folder_sha1(str(out / 'NCT')),
                        data_folder_sha1(str(out))))
    monkeypatch.setattr('sys.argv', ['a_library_call'])
    assert run_data_tool('make_synthetic', firsts[0], capsys)[0] == 0
    reference = (data_folder_sha1(str(out / 'NCT')),
                 data_folder_sha1(str(out)))
    assert digests == [reference, reference]


@pytest.mark.parametrize('script, sub', [
    ('make_synthetic_hierarchical.py', None),  # --out is the folder
    ('make_synthetic.py', 'NCT')])  # --out holds the folder
def test_an_unfinished_folder_of_the_default_out_gets_its_out(
        tmp_path, monkeypatch, script, sub):
    """A generator run without --out (its default, data/hier or data)
    left the rerun hint's argv as typed: run from another directory it
    wrote elsewhere. The command file records the output root, and the
    hint gives --out naming it from the current directory (absolute where
    that is not above it). The command file is written as the generator
    writes it (claim under its argv); the --out is checked against the
    folder by os.path, from two directories."""
    import shlex

    from openselfsup.datasets.synthetic import ownership
    first = tmp_path / 'first'
    root = first / 'data' / 'gen'
    folder = root / sub if sub else root
    folder.mkdir(parents=True)
    monkeypatch.chdir(first)
    kind = ownership.KINDS[sub or 'hierarchical'][0]
    monkeypatch.setattr('sys.argv', [f'tools/prepare_data/{script}',
                                     '--size', '8'])
    ownership.claim(os.path.relpath(folder), kind=kind)
    for cwd in (tmp_path, tmp_path / 'elsewhere'):
        cwd.mkdir(exist_ok=True)
        monkeypatch.chdir(cwd)
        line = ownership.unfinished_line(str(folder))
        words = shlex.split(line.split('; rerun ', 1)[1])
        assert words[:4] == ['python', f'tools/prepare_data/{script}',
                             '--size', '8'], line
        assert words[4] == '--out', line
        assert os.path.abspath(words[5]) == str(root), line
        assert not os.path.isabs(words[5]) or cwd != tmp_path, line


def test_an_unfinished_folder_moved_or_being_written_is_named_so(
        tmp_path, monkeypatch, capsys):
    """The rerun command of an unfinished folder gave the --out typed,
    relative to the directory the generator ran in: for the folder moved
    (or the command read from another directory) it wrote elsewhere. Its
    --out is now the one that writes the folder where the line names it
    (run here: the folder is written whole). A folder a generator is
    still writing (its lock held) was said to be interrupted; it is said
    to be being written, by whom."""
    import shlex

    from _data_helpers import run_data_tool

    from openselfsup.datasets.synthetic import layouts, ownership
    from openselfsup.utils import locked
    first = tmp_path / 'first'
    first.mkdir()
    monkeypatch.chdir(first)
    argv = ['--out', 'syn', '--size', '8', '--nct-train', '1',
            '--nct-test', '1', '--domains', 'nct']
    script = 'tools/prepare_data/make_synthetic.py'
    monkeypatch.setattr('sys.argv', [script, *argv])
    real = layouts._make_nct

    def stopped(root, spec):
        raise KeyboardInterrupt
    monkeypatch.setattr(layouts, '_make_nct', stopped)
    assert run_data_tool('make_synthetic', argv, capsys)[0] == 130
    moved = tmp_path / 'elsewhere' / 'data'
    moved.parent.mkdir()
    os.rename(first / 'syn', moved)
    monkeypatch.chdir(tmp_path / 'elsewhere')
    nct = moved / 'NCT'
    line = ownership.unfinished_line(str(nct / 'meta' / 'x.txt'))
    want = ['python', script, '--out', 'data', *argv[2:]]
    assert line == (f'{nct}: was left unfinished by make_synthetic.py (NCT) '
                    f'(interrupted); rerun {shlex.join(want)}')
    # held by a generator still writing: not interrupted
    with locked(str(nct)):
        line = ownership.unfinished_line(str(nct))
    assert re.fullmatch(
        rf'{re.escape(str(nct))}: is being written by make_synthetic.py '
        rf'\(NCT\) \({os.getpid()}@\S+ since .+\); wait for it to end', line)
    # from a directory it is not below: the absolute folder
    monkeypatch.chdir(first)
    assert f'rerun {shlex.join([*want[:3], str(moved), *want[4:]])}' in \
        ownership.unfinished_line(str(nct))
    # the command given writes it whole
    monkeypatch.chdir(tmp_path / 'elsewhere')
    monkeypatch.setattr(layouts, '_make_nct', real)
    assert run_data_tool('make_synthetic', want[2:], capsys)[0] == 0
    assert ownership.unfinished_line(str(nct)) is None
    assert len(read_list_file(str(nct / 'meta' / 'train_labeled.txt'))) \
        == len(NCT_CLASSES)
