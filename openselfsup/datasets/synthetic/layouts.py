"""Write synthetic datasets in exactly the real datasets' layouts.

=========  ==========================================================  =====================================
domain     images                                                      list files (``<root>/meta/``)
=========  ==========================================================  =====================================
NCT        ``NCT/data/NCT-CRC-HE-100K/<CLS>/<CLS>-<ID>.tif`` (train),  ``train[_labeled].txt``,
           ``NCT/data/CRC-VAL-HE-7K/<CLS>/<CLS>-<ID>.tif`` (test)      ``test[_labeled].txt``,
                                                                       ``wo_<c>_train[_labeled].txt`` (c in
                                                                       0..8 and ``78``)
LC25000    ``LC25000/data/{colon,lung}_image_sets/<cls>/<img>.jpeg``   ``img_list[_labeled].txt``
PAIP19     ``PAIP19/data/<slide_id>/<slide_id>_<cls>_<n>.png``         ``paip_{train,test}[_labeled].txt``
=========  ==========================================================  =====================================

List paths are relative to ``<domain>/data``. ``wo_<c>`` lists drop class
``c`` (``wo_78`` drops 7 and 8) and keep the original labels, so a ``wo_``
model's classifier keeps nine outputs and feature labels stay comparable.
Each domain's ``meta/classes.txt`` names its classes in label order.
"""
import os
from dataclasses import dataclass
from typing import Dict, Sequence

import numpy as np
from PIL import Image
from tqdm import tqdm

from ..list_files import (LC_CLASSES, NCT_CLASSES, NCT_HELD_OUT,  # noqa: F401
                          PAIP_CLASSES, write_classes, write_lists,
                          write_nct_lists)
from .tissue import PALETTES, STYLES, render_patch

DOMAINS = ('nct', 'lc', 'paip')

_LC_FILE_STEM = {'colon_aca': 'colonca', 'colon_n': 'colonn',
                 'lung_aca': 'lungaca', 'lung_n': 'lungn',
                 'lung_scc': 'lungscc'}


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


def _save_image(path: str, array: np.ndarray) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(array).save(path)


def _render_all(jobs, size: int, seed: int, desc: str) -> None:
    """jobs: list of (path, style, palette, shift); one child seed each."""
    seqs = np.random.SeedSequence(seed).spawn(len(jobs))
    for (path, style, palette, shift), seq in tqdm(
            list(zip(jobs, seqs)), desc=desc, unit='img', leave=False):
        rng = np.random.default_rng(seq)
        _save_image(path, render_patch(rng, STYLES[style], palette, size,
                                       shift))


def _make_nct(root: str, spec: SyntheticSpec) -> Dict[str, int]:
    data, meta = os.path.join(root, 'NCT', 'data'), os.path.join(root, 'NCT',
                                                                 'meta')
    lists = {}
    jobs = []
    for split, folder, n in (('train', 'NCT-CRC-HE-100K', spec.nct_train),
                             ('test', 'CRC-VAL-HE-7K', spec.nct_test)):
        entries = []
        for c, cls in enumerate(NCT_CLASSES):
            for i in range(n):
                rel = f'{folder}/{cls}/{cls}-{split.upper()}{i:05d}.tif'
                entries.append((rel, c))
                jobs.append((os.path.join(data, rel), cls, PALETTES['nct'],
                             None))
        lists[split] = entries
    _render_all(jobs, spec.size, spec.seed * 1000 + 1, 'NCT')
    write_nct_lists(meta, lists['train'], lists['test'])
    return {'NCT train': len(lists['train']), 'NCT test': len(lists['test'])}


def _make_lc(root: str, spec: SyntheticSpec) -> Dict[str, int]:
    data, meta = os.path.join(root, 'LC25000', 'data'), os.path.join(
        root, 'LC25000', 'meta')
    entries, jobs = [], []
    for c, cls in enumerate(LC_CLASSES):
        organ = cls.split('_')[0]
        for i in range(spec.lc):
            rel = f'{organ}_image_sets/{cls}/{_LC_FILE_STEM[cls]}{i + 1}.jpeg'
            entries.append((rel, c))
            jobs.append((os.path.join(data, rel), cls, PALETTES['lc'], None))
    _render_all(jobs, spec.size, spec.seed * 1000 + 2, 'LC25000')
    write_lists(meta, 'img_list', entries)
    write_classes(meta, LC_CLASSES)
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
                rel = f'{slide}/{slide}_{cls}_{i:04d}.png'
                lists[split].append((rel, c))
                jobs.append((os.path.join(data, rel), cls, PALETTES['paip'],
                             shifts[s]))
    _render_all(jobs, spec.size, spec.seed * 1000 + 4, 'PAIP19')
    for name, entries in lists.items():
        write_lists(meta, name, entries)
    write_classes(meta, PAIP_CLASSES)
    return {'PAIP19 train': len(lists['paip_train']),
            'PAIP19 test': len(lists['paip_test'])}


def make_synthetic(root: str, spec: SyntheticSpec) -> Dict[str, int]:
    """Write the synthetic datasets under ``root``.

    Args:
        root: output directory (``data`` in the README); the domains go to
            ``root/NCT``, ``root/LC25000`` and ``root/PAIP19``.
        spec: sizes, counts and seed.

    Returns:
        dict: number of images written per split, for a summary.
    """
    unknown = set(spec.domains) - set(DOMAINS)
    if unknown:
        raise ValueError(f'unknown domains {sorted(unknown)}; '
                         f'choose from {DOMAINS}')
    counts: Dict[str, int] = {}
    makers = {'nct': _make_nct, 'lc': _make_lc, 'paip': _make_paip}
    for d in DOMAINS:
        if d in spec.domains:
            counts.update(makers[d](root, spec))
    return counts
