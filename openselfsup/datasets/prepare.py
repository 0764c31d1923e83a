"""Build the list files from the real downloads.

Each converter scans a dataset's image folders and writes the same list
files the synthetic generator writes (:mod:`.list_files`), so every config
and script works unchanged on real data. Images are not copied: place (or
symlink) the extracted downloads under ``<root>/data`` first.

==========  =====================================================  =====================================
dataset     expected under ``<root>/data``                          lists written to ``<root>/meta``
==========  =====================================================  =====================================
NCT         ``NCT-CRC-HE-100K/<CLS>/*.tif`` (train) and             ``train``, ``test``, ``wo_<c>_train``
            ``CRC-VAL-HE-7K/<CLS>/*.tif`` (test)                    (``_labeled`` variants), ``classes.txt``
LC25000     ``{colon,lung}_image_sets/<cls>/*.jpeg`` (optionally    ``img_list[_labeled]``, ``classes.txt``
            inside ``lung_colon_image_set/``, as in the zip)
PAIP19      ``<slide_id>/<slide_id>_<cls>_<n>.png`` or              ``paip_{train,test}[_labeled]``,
            ``<slide_id>/<cls>/*.png`` (patches cut from the WSIs)  ``classes.txt``
==========  =====================================================  =====================================
"""
import os
import re
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..utils import InputError
from .list_files import (LC_CLASSES, NCT_CLASSES, PAIP_CLASSES, Entry,
                         write_classes, write_lists, write_nct_lists)

IMAGE_EXTENSIONS = ('.tif', '.tiff', '.png', '.jpg', '.jpeg', '.bmp')


def _images(folder: str) -> List[str]:
    """Image file names in ``folder`` (not recursive), sorted."""
    return sorted(f for f in os.listdir(folder)
                  if f.lower().endswith(IMAGE_EXTENSIONS)
                  and not f.startswith('.'))


def _class_folders(split_dir: str, classes: Sequence[str],
                   rel_prefix: str) -> List[Entry]:
    """Entries of ``split_dir/<class>/<image>``, labels in ``classes`` order.

    Raises:
        InputError: a class folder is missing or empty, or an unknown
            folder is present.
    """
    if not os.path.isdir(split_dir):
        raise InputError(f'{split_dir}: folder not found')
    present = sorted(d for d in os.listdir(split_dir)
                     if os.path.isdir(os.path.join(split_dir, d)))
    unknown = [d for d in present if d not in classes]
    if unknown:
        raise InputError(f'{split_dir}: unknown class folder(s) '
                         f'{", ".join(unknown)}; expected {", ".join(classes)}')
    entries: List[Entry] = []
    for label, cls in enumerate(classes):
        folder = os.path.join(split_dir, cls)
        if not os.path.isdir(folder):
            raise InputError(f'{folder}: class folder not found')
        names = _images(folder)
        if not names:
            raise InputError(f'{folder}: no images in this class folder')
        entries += [(f'{rel_prefix}{cls}/{n}', label) for n in names]
    return entries


def prepare_nct(root: str) -> Dict[str, int]:
    """List files for NCT-CRC-HE-100K (train) and CRC-VAL-HE-7K (test).

    Args:
        root (str): the NCT directory (``data/NCT``) whose ``data/`` holds
            the two extracted folders.

    Returns:
        dict: number of images per split.
    """
    data = os.path.join(root, 'data')
    train = _class_folders(os.path.join(data, 'NCT-CRC-HE-100K'),
                           NCT_CLASSES, 'NCT-CRC-HE-100K/')
    test = _class_folders(os.path.join(data, 'CRC-VAL-HE-7K'), NCT_CLASSES,
                          'CRC-VAL-HE-7K/')
    write_nct_lists(os.path.join(root, 'meta'), train, test)
    return {'NCT train': len(train), 'NCT test': len(test)}


def prepare_lc25000(root: str) -> Dict[str, int]:
    """List files for LC25000 (colon and lung, benign and malignant).

    Args:
        root (str): the LC25000 directory (``data/LC25000``) whose ``data/``
            holds ``colon_image_sets`` and ``lung_image_sets`` (directly or
            inside ``lung_colon_image_set/``).

    Returns:
        dict: number of images.
    """
    data = os.path.join(root, 'data')
    prefix = ''
    if not os.path.isdir(os.path.join(data, 'colon_image_sets')) and \
            os.path.isdir(os.path.join(data, 'lung_colon_image_set')):
        prefix = 'lung_colon_image_set/'
    entries: List[Entry] = []
    for organ, classes in (('colon', LC_CLASSES[:2]), ('lung', LC_CLASSES[2:])):
        sets = f'{prefix}{organ}_image_sets'
        got = _class_folders(os.path.join(data, sets), classes, f'{sets}/')
        offset = LC_CLASSES.index(classes[0])
        entries += [(p, c + offset) for p, c in got]
    write_lists(os.path.join(root, 'meta'), 'img_list', entries)
    write_classes(os.path.join(root, 'meta'), LC_CLASSES)
    return {'LC25000': len(entries)}


def _paip_class(name: str) -> Optional[int]:
    """Label of a PAIP19 patch file name ``<slide>_<cls>_<n>.<ext>``."""
    stem = os.path.splitext(name)[0]
    # longest names first: 'viable_tumor' is part of 'non_viable_tumor'
    for cls in sorted(PAIP_CLASSES, key=len, reverse=True):
        if re.search(rf'(^|_){cls}(_|$)', stem):
            return PAIP_CLASSES.index(cls)
    return None


def _paip_slide(data: str, slide: str) -> List[Entry]:
    folder = os.path.join(data, slide)
    entries: List[Entry] = []
    for name in _images(folder):
        label = _paip_class(name)
        if label is None:
            raise InputError(f'{os.path.join(folder, name)}: no class name '
                             f'({", ".join(PAIP_CLASSES)}) in the file name')
        entries.append((f'{slide}/{name}', label))
    for label, cls in enumerate(PAIP_CLASSES):
        sub = os.path.join(folder, cls)
        if os.path.isdir(sub):
            entries += [(f'{slide}/{cls}/{n}', label) for n in _images(sub)]
    return sorted(entries, key=lambda e: (e[1], e[0]))


def prepare_paip19(root: str, test_slides: Optional[Sequence[str]] = None,
                   test_fraction: float = 1 / 3,
                   seed: int = 0) -> Dict[str, int]:
    """List files for PAIP19 patches, split into train and test by slide.

    The slide id is the first path component of every list entry, so
    slide-level evaluation can group patches.

    Args:
        root (str): the PAIP19 directory (``data/PAIP19``) whose ``data/``
            holds one folder per slide.
        test_slides (sequence[str], optional): slide ids for the test split.
        test_fraction (float): if ``test_slides`` is None, this fraction of
            the slides (at least one) goes to test, drawn with ``seed``.
        seed (int): seed of that draw.

    Returns:
        dict: number of patches per split.
    """
    data = os.path.join(root, 'data')
    if not os.path.isdir(data):
        raise InputError(f'{data}: folder not found')
    slides = sorted(d for d in os.listdir(data)
                    if os.path.isdir(os.path.join(data, d)))
    if len(slides) < 2:
        raise InputError(f'{data}: need at least two slide folders for a '
                         f'train/test split, found {len(slides)}')
    if test_slides is None:
        if not 0 < test_fraction < 1:
            raise InputError(f'test_fraction {test_fraction} must lie in '
                             '(0, 1)')
        n = min(len(slides) - 1, max(1, round(len(slides) * test_fraction)))
        rng = np.random.default_rng(seed)
        test = set(rng.choice(slides, n, replace=False).tolist())
    else:
        test = set(test_slides)
        missing = sorted(test - set(slides))
        if missing:
            raise InputError(f'{data}: test slide(s) {", ".join(missing)} '
                             'not found')
    lists: Dict[str, List[Entry]] = {'paip_train': [], 'paip_test': []}
    for slide in slides:
        entries = _paip_slide(data, slide)
        if not entries:
            raise InputError(f'{os.path.join(data, slide)}: no patches in '
                             'this slide folder')
        lists['paip_test' if slide in test else 'paip_train'] += entries
    if not lists['paip_train']:
        raise InputError(f'{data}: every slide is in the test split')
    meta = os.path.join(root, 'meta')
    for name, entries in lists.items():
        write_lists(meta, name, entries)
    write_classes(meta, PAIP_CLASSES)
    return {'PAIP19 train': len(lists['paip_train']),
            'PAIP19 test': len(lists['paip_test'])}
