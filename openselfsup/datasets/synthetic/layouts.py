"""Write synthetic datasets in exactly the real datasets' layouts.

=========  ===============================================================  =====================================
domain     images                                                           list files (``<root>/meta/``)
=========  ===============================================================  =====================================
NCT        ``NCT/data/NCT-CRC-HE-100K-NONORM/<CLS>/<CLS>-SYN<id>.tif``,     ``train[_labeled].txt``,
           one pool per class; the first ``nct_train`` of each class        ``test[_labeled].txt``,
           train, the next ``nct_test`` test (the published protocol:       ``wo_<c>_train[_labeled].txt`` (c in
           one set, split in two)                                           0..8 and ``78``)
LC25000    ``LC25000/data/{colon,lung}_image_sets/<cls>/<img>.jpeg``        ``img_list[_labeled].txt``
PAIP19     ``PAIP19/data/<slide_id>/<label>/<x>+<y>+<label>.png``           ``paip_{train,test}[_labeled].txt``
=========  ===============================================================  =====================================

Labels follow :mod:`openselfsup.classes` (NCT: BACK 0, ADI 1, ... TUM 8).
List paths are relative to ``<domain>/data``. ``wo_<c>`` lists drop class
``c`` (``wo_78`` drops 7 and 8) and keep the original labels, so a ``wo_``
model's classifier keeps nine outputs and feature labels stay comparable.
Each domain's ``meta/classes.txt`` names its classes in label order, and
``<domain>/SYNTHETIC.json`` marks the folder as the generator's
(:mod:`.ownership`: a folder without it that is not empty, whose images
changed since, or reached through a symbolic link is refused; its own
``data/`` and ``meta/`` are replaced when it writes there again).

PAIP19 is split by slide with the published rule (the first slide IDs in
sorted order train, the others test), scaled to the generator's own slide
count: slides ``01_01_0001`` ... in order, the first
``paip_train_slides`` of them train. ``prepare_paip19.py --train-slides N``
with that N rebuilds the lists (the default N, 15, is the published
count). The NCT lists, like the published ones, come from one pool:
``prepare_nct.py --split-lists meta/train_labeled.txt meta/test_labeled.txt``
rebuilds them.
"""
import os
from dataclasses import dataclass, fields
from typing import Dict, Iterable, Sequence, Tuple

import numpy as np
from PIL import Image

from ...classes import LC_FILE_STEMS
from ...utils import InputError, check_seed, check_writable_dir
from ...utils.progress import progress_bar
from .ownership import (KINDS, MARKER, check_ours, claim,  # noqa: F401
                        mark_done, writing)
from ..list_files import (LC_CLASSES, NCT_CLASSES, NCT_HELD_OUT,  # noqa: F401
                          NONORM, PAIP_CLASSES, nct_lists, slide_order,
                          write_list_set)
from .tissue import PALETTES, STYLES, render_patch

DOMAINS = ('nct', 'lc', 'paip')
#: what :func:`make_synthetic` writes, for ``make_synthetic.py --help``
#: (``tests/test_synthetic.py`` holds it to the files a run writes)
WRITTEN = """\
written under --out, one folder per domain of --domains:
  NCT/data/NCT-CRC-HE-100K-NONORM/<CLS>/<CLS>-SYN<id>.tif
                                   images, one pool per class
  NCT/meta/{train,test}[_labeled].txt
                                   the lists of the train / test split
  NCT/meta/wo_<c>_train[_labeled].txt
                                   train lists without class c (0..8, 78)
  LC25000/data/{colon,lung}_image_sets/<cls>/<img>.jpeg
  LC25000/meta/img_list[_labeled].txt
  PAIP19/data/<slide>/<label>/<x>+<y>+<label>.png
  PAIP19/meta/paip_{train,test}[_labeled].txt
  <domain>/meta/classes.txt        class names in label order
  <domain>/meta/lists.json         the lists written and their digests
  <domain>/SYNTHETIC.json          marks the folder as the generator's
List paths are relative to <domain>/data; a _labeled list adds the label.
"""
#: largest patch side accepted (the real patches are 224 px)
MAX_SIZE = 4096


def check_counts(flags: Iterable[Tuple[str, object]]) -> None:
    """One line naming the first generator flag whose value is not an
    integer of at least 1 (sizes and counts of every generator).

    Args:
        flags: ``(flag, value)`` pairs, e.g. ``('--lc', 0)``.
    """
    for flag, value in flags:
        if not isinstance(value, (int, np.integer)) or value < 1:
            raise InputError(f'{flag} {value}: must be an integer of at '
                             'least 1')


@dataclass
class SyntheticSpec:
    """How much synthetic data to write.

    Args:
        size: patch width and height in px (224 as the real data; 32 to 64
            for tests).
        nct_train: NCT training images per class.
        nct_test: NCT test images per class.
        lc: LC25000 images per class.
        paip_train_slides: PAIP19 training slides.
        paip_test_slides: PAIP19 test slides.
        paip_per_class: patches per class per slide.
        seed: seed for every random choice.
        domains: which of 'nct', 'lc', 'paip' to write.
    """
    size: int = 224
    nct_train: int = 60
    nct_test: int = 30
    lc: int = 40
    paip_train_slides: int = 4
    paip_test_slides: int = 2
    paip_per_class: int = 15
    seed: int = 0
    domains: Sequence[str] = DOMAINS

    def check(self) -> None:
        """Refuse sizes, counts and seeds that cannot make a dataset.

        Raises:
            InputError: naming the ``make_synthetic.py`` flag, e.g.
                ``--lc 0: must be at least 1``.
        """
        unknown = sorted(set(self.domains) - set(DOMAINS))
        if unknown:
            raise InputError(f'--domains {" ".join(unknown)}: unknown; '
                             f'choose from {" ".join(DOMAINS)}')
        check_counts((f'--{f.name.replace("_", "-")}', getattr(self, f.name))
                     for f in fields(self)
                     if f.name not in ('domains', 'seed'))
        if self.nct_train + self.nct_test > NCT_SYNTHETIC_IDS:
            raise InputError(
                f'--nct-train {self.nct_train} --nct-test {self.nct_test}: '
                f'at most {NCT_SYNTHETIC_IDS} NCT images per class in all '
                '(their ids, SYNAAAAA .. SYNZZZZZ, name no more)')
        if self.size > MAX_SIZE:
            raise InputError(f'--size {self.size}: at most {MAX_SIZE} px '
                             '(the real patches are 224 px)')
        check_seed(self.seed)


def _save_image(path: str, array: np.ndarray) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


def _render_all(jobs, size: int, seed: int, desc: str) -> None:
    """jobs: list of (path, style, palette, shift); one child seed each."""
    seqs = np.random.SeedSequence(seed).spawn(len(jobs))
    for (path, style, palette, shift), seq in progress_bar(
            list(zip(jobs, seqs)), desc=desc, unit='img', leave=False):
        rng = np.random.default_rng(seq)
        _save_image(path, render_patch(rng, STYLES[style], palette, size,
                                       shift))


#: NCT images per class the generator can name (:func:`nct_synthetic_id`)
NCT_SYNTHETIC_IDS = 26 ** 5


def nct_synthetic_id(i: int) -> str:
    """The id of a class's ``i``-th synthetic NCT image: ``SYN`` and ``i``
    in five capitals (A 0 ... Z 25: ``SYNAAAAA``, ``SYNAAAAB``, ...), eight
    capitals as the downloads' ids (``ADI-AAAWMSFI.tif``), so that the
    rule that tells NCT's images by their names reads the generator's as
    NCT's (:func:`~..prepare.first_nct_entry`; review r108: ``SYN00001``
    was not of the downloads' form), in the order of ``i``."""
    letters = ''
    for _ in range(5):
        i, digit = divmod(i, 26)
        letters = chr(ord('A') + digit) + letters
    return 'SYN' + letters


def _make_nct(root: str, spec: SyntheticSpec) -> Dict[str, int]:
    data, meta = os.path.join(root, 'NCT', 'data'), os.path.join(root, 'NCT',
                                                                 'meta')
    lists: Dict[str, list] = {'train': [], 'test': []}
    jobs = []
    for c, cls in enumerate(NCT_CLASSES):
        for i in range(spec.nct_train + spec.nct_test):
            rel = f'{NONORM}/{cls}/{cls}-{nct_synthetic_id(i)}.tif'
            lists['train' if i < spec.nct_train else 'test'].append((rel, c))
            jobs.append((os.path.join(data, rel), cls, PALETTES['nct'], None))
    _render_all(jobs, spec.size, spec.seed * 1000 + 1, 'NCT')
    write_list_set(meta, nct_lists(lists['train'], lists['test']),
                   NCT_CLASSES, data)
    return {'NCT train': len(lists['train']), 'NCT test': len(lists['test'])}


def _make_lc(root: str, spec: SyntheticSpec) -> Dict[str, int]:
    data, meta = os.path.join(root, 'LC25000', 'data'), os.path.join(
        root, 'LC25000', 'meta')
    entries, jobs = [], []
    for c, cls in enumerate(LC_CLASSES):
        organ = cls.split('_')[0]
        for i in range(spec.lc):
            rel = f'{organ}_image_sets/{cls}/{LC_FILE_STEMS[cls]}{i + 1}.jpeg'
            entries.append((rel, c))
            jobs.append((os.path.join(data, rel), cls, PALETTES['lc'], None))
    _render_all(jobs, spec.size, spec.seed * 1000 + 2, 'LC25000')
    write_list_set(meta, {'img_list': entries}, LC_CLASSES, data)
    return {'LC25000': len(entries)}


def _make_paip(root: str, spec: SyntheticSpec) -> Dict[str, int]:
    data, meta = os.path.join(root, 'PAIP19', 'data'), os.path.join(
        root, 'PAIP19', 'meta')
    rng = np.random.default_rng(spec.seed * 1000 + 3)
    n_slides = spec.paip_train_slides + spec.paip_test_slides
    # each slide has its own stain and scanner shift
    shifts = rng.normal(1.0, 0.04, (n_slides, 3))
    lists: Dict[str, list] = {'paip_train': [], 'paip_test': []}
    jobs = []
    for s in range(n_slides):
        slide = f'01_01_{s + 1:04d}'
        split = 'paip_train' if s < spec.paip_train_slides else 'paip_test'
        for c, cls in enumerate(PAIP_CLASSES):
            for i in range(spec.paip_per_class):
                # the published names: <x>+<y>+<label> of the patch's corner
                rel = f'{slide}/{c}/{224 * i}+{224 * c}+{c}.png'
                lists[split].append((rel, c))
                jobs.append((os.path.join(data, rel), cls, PALETTES['paip'],
                             shifts[s]))
    _render_all(jobs, spec.size, spec.seed * 1000 + 4, 'PAIP19')
    write_list_set(meta, {k: slide_order(v) for k, v in lists.items()},
                   PAIP_CLASSES, data)
    return {'PAIP19 train': len(lists['paip_train']),
            'PAIP19 test': len(lists['paip_test'])}


_FOLDERS = {'nct': 'NCT', 'lc': 'LC25000', 'paip': 'PAIP19'}
#: a domain folder's images must be unchanged to be replaced; its lists may
#: have been rewritten by a converter (they are remade)
_IMAGES, _OURS = ('data', ), ('data', 'meta')


def _kind(domain: str) -> str:
    """What a domain folder's marker names as its generator and data
    (:func:`~.ownership.check_ours`)."""
    return KINDS[_FOLDERS[domain]][0]


def _check_not_a_domain_folder(root: str) -> None:
    """``--out data/NCT`` for ``--out data``: a folder that is itself a
    domain folder (it holds the generator's marker, or ``data/`` beside
    ``meta/``) would get a second dataset under it (``data/NCT/NCT/``)."""
    if os.path.isfile(os.path.join(root, MARKER)):
        what = f'it holds {MARKER}'
    elif all(os.path.isdir(os.path.join(root, d)) for d in ('data', 'meta')):
        what = 'it holds data/ and meta/'
    else:
        return
    parent = os.path.dirname(os.path.normpath(root)) or '.'
    raise InputError(f'--out {root}: a dataset folder ({what}), not the '
                     'folder above the datasets: the domains go to '
                     f'<out>/{"/, <out>/".join(_FOLDERS.values())}/; give '
                     f'--out {parent}')


def make_synthetic(root: str, spec: SyntheticSpec) -> Dict[str, int]:
    """Write the synthetic datasets under ``root``.

    Args:
        root: output directory (``data`` in the README); the domains go to
            ``root/NCT``, ``root/LC25000`` and ``root/PAIP19``.
        spec: sizes, counts and seed.

    Returns:
        dict: number of images written per split, for a summary.

    Raises:
        InputError: a bad spec (:meth:`SyntheticSpec.check`), an unwritable
            ``root``, or a domain folder that holds files the generator did
            not write (:data:`MARKER`), or one another run is writing
            (:func:`~.ownership.writing`), before any image is drawn.
    """
    spec.check()
    _check_not_a_domain_folder(root)
    check_writable_dir(root)
    chosen = [d for d in DOMAINS if d in spec.domains]
    folders = [os.path.join(root, _FOLDERS[d]) for d in chosen]
    counts: Dict[str, int] = {}
    makers = {'nct': _make_nct, 'lc': _make_lc, 'paip': _make_paip}
    with writing(folders):  # a second run at once is refused here
        for d, folder in zip(chosen, folders):  # all before any changes
            check_ours(folder, _IMAGES, _kind(d))
        for d, folder in zip(chosen, folders):
            claim(folder, _IMAGES, _OURS, _kind(d))
            counts.update(makers[d](root, spec))
            mark_done(folder, _IMAGES, _kind(d))
    return counts
