"""Build the list files from the real downloads, with the published splits.

Each converter scans a dataset's image folders and writes the same list
files the synthetic generator writes (:mod:`.list_files`), so every config
and script works unchanged on real data. Images are not copied: place (or
symlink) the extracted downloads under ``<root>/data`` first. Before any
work each converter checks that ``<root>/meta`` can be written; on any
error it writes nothing. It replaces only lists it (or the synthetic
generator) wrote there, as ``meta/lists.json`` records them: a
hand-made or hand-edited ``train.txt`` is refused
(:func:`.list_files.write_list_set`). A class (or slide) folder's images
are its files with an extension of :data:`IMAGE_EXTENSIONS`, in any case;
a file of another image format (:data:`OTHER_IMAGE_EXTENSIONS`) is
refused, other files (not hidden ones) are left out with a note counting
them.

========  ============================================================  ======================================
dataset   expected under ``<root>/data``                                lists written to ``<root>/meta``
========  ============================================================  ======================================
NCT       ``NCT-CRC-HE-100K-NONORM/<CLS>/*.tif`` or ``<CLS>/*.tif``      ``train``, ``test``, ``wo_<c>_train``
          (NONORM; the published 80,000 / 20,000 split, the             (``_labeled`` variants), ``classes.txt``
          default), or ``NCT-CRC-HE-100K/<CLS>/*.tif`` (train) and
          ``CRC-VAL-HE-7K/<CLS>/*.tif`` (test) with ``split='official'``
LC25000   ``{colon,lung}_image_sets/<cls>/*.jpeg`` (optionally inside   ``img_list[_labeled]``, ``classes.txt``
          ``lung_colon_image_set/``, as in the zip)
PAIP19    ``<slide>/<label>/<x>+<y>+<label>.png`` (the published        ``paip_{train,test}[_labeled]``,
          patches, labels 0, 1, 2); also ``<slide>/<cls>/*.png`` and    ``classes.txt``
          ``<slide>/<slide>_<cls>_<n>.png`` (class names)
========  ============================================================  ======================================

The published lists (:mod:`.splits`) decide by default:

- NCT: train and test are the published lists, in their order (the split
  cannot be derived from the images); images of them missing is an error.
  ``split='official'`` refuses an incomplete copy of NCT-CRC-HE-100K
  (some of the published lists' file names, which it shares, in any
  extension; none of them: a note says it was not checked), and either
  split a folder linked to another NCT release's download. The releases
  share file names and nothing in the images tells them apart, so the
  folder's name decides; a note (and ``meta/lists.json``'s ``release``)
  says which release was taken and why: ``<CLS>/`` directly under
  ``data/`` names none and is assumed NONORM, said so.
- PAIP19: when every patch the published lists name is there, the
  published lists (500 patches per class per slide, drawn with
  replacement; patches not in them are left out); otherwise every patch
  found, split by the published rule: the first 15 slide IDs in sorted
  order train, the others test.
- LC25000: the published list, in its order, when its 25,000 images are
  there (other images found are left out, with a note); when none is,
  every image found, sorted; some but not all: refused (an incomplete
  copy; ``every_image`` takes every image found, sorted).

Written from the published lists, the files equal the published ones
byte for byte up to line ends (and a folder prefix such as
``NCT-CRC-HE-100K-NONORM/``). Every converter prints a note saying which
split and order it used.
"""
import functools
import os
import posixpath
import re
from dataclasses import dataclass, field
from typing import (Callable, Dict, Iterator, List, Mapping, Optional,
                    Sequence, Tuple)

import numpy as np

from ..classes import LC_FILE_STEMS
from ..utils import (InputError, check_distinct, check_seed,
                     check_writable_dir, read_once)
from .list_files import (LC_CLASSES, NCT_CLASSES, NONORM, PAIP_CLASSES,
                         Entry, ListEntry, nct_lists, read_list_file,
                         slide_order, write_list_set)
from .splits import PUBLISHED, read_published

#: the image files the converters list, in any case (``.TIF``, ``.JPEG``);
#: the real downloads hold ``.tif`` (NCT), ``.jpeg`` (LC25000) and ``.png``
#: (the PAIP19 patches); ``.jpe`` and ``.jfif`` name JPEG files too (read
#: by content, as every image the lists name: Pillow)
IMAGE_EXTENSIONS = ('.tif', '.tiff', '.png', '.jpg', '.jpeg', '.jpe',
                    '.jfif', '.bmp')
#: images of other formats (Pillow's and whole-slide ones): in a folder the
#: converters read, refused, where they were left out without a word
OTHER_IMAGE_EXTENSIONS = (
    '.webp', '.gif', '.jp2', '.j2k', '.jpx', '.jpf', '.heic', '.heif',
    '.avif', '.tga', '.ppm', '.pgm', '.pbm', '.pnm', '.ico', '.dib',
    '.exr', '.svs', '.ndpi', '.mrxs', '.scn', '.vms', '.vmu', '.svslide',
    '.bif', '.dcm')

#: train and test folders of ``split='official'``
OFFICIAL = ('NCT-CRC-HE-100K', 'CRC-VAL-HE-7K')
NCT_SPLITS = ('published', 'official')
#: the published PAIP19 split: this many slide IDs, sorted, train
PAIP_TRAIN_SLIDES = 15
#: the NCT releases, whose images share their file names: NONORM (the
#: published protocol's), the stain-normalised NCT-CRC-HE-100K and
#: CRC-VAL-HE-7K
NCT_RELEASES = (NONORM, ) + OFFICIAL


def nct_release(parts: Sequence[str], entry: bool = False) -> Optional[str]:
    """The NCT release (:data:`NCT_RELEASES`) a path, split into its
    components ``parts``, names: its last release folder; a list entry
    (``entry``) ``<CLS>/<file>`` of an NCT class is NONORM's (the
    published lists' layout); None when unknown (LC25000, PAIP19)."""
    found = [p for p in parts if p in NCT_RELEASES]
    if found:
        return found[-1]
    if entry and len(parts) == 2 and parts[0] in NCT_CLASSES:
        return NONORM
    return None


@functools.lru_cache(maxsize=None)
def _published_sets(domain: str) -> Dict[str, frozenset]:
    """What tells the published splits of ``domain`` (``'nct'``,
    ``'paip'``) apart, per split: the NCT lists' images
    (``<CLS>/<file>``), the PAIP19 lists' slides."""
    def key(path):
        return path.split('/', 1)[0] if domain == 'paip' else path
    return {s: frozenset(key(p) for p, _ in read_published(f'{domain}_{s}'))
            for s in ('train', 'test')}


def entries_split(classes: Sequence[str], paths: Sequence[str],
                  prefix: str = '', folders: bool = True
                  ) -> Optional[Tuple[str, str]]:
    """The split a list's image paths say, where they say it alone, in
    the layouts the converters write:

    - NCT: every image in ``CRC-VAL-HE-7K/``, the official test set,
      test: the folder above its class folder (under ``prefix``) names
      the release, as the list is read (:func:`entry_release`); a
      release name further up says nothing (a NONORM copy kept as
      ``.../CRC-VAL-HE-7K/nonorm/<CLS>/``, read as NONORM's images); or the
      images (``<CLS>/<file>``, under any folder) exactly those of the
      published train or test list. A subset says nothing: the published
      protocol and ``--split-lists`` split one pool, NONORM, so its images
      alone do not tell a user's split; where the two rules disagree,
      nothing either. ``NCT-CRC-HE-100K/`` says nothing: the official
      train set, but also the pool of a user's own split of the
      stain-normalised images. With ``folders=False`` the folder says
      nothing either (a list whose name says its split: a user's own
      split of the 7K set, named ``my_train.txt``, decides by its name);
    - PAIP19: the slides (first path component) exactly those of the
      published train or test list (the first 15 slide IDs train, the
      other 35 test; every patch found of them or the published sample).
      Other slide sets (the synthetic data's, ``--train-slides``, a
      subset) say nothing;
    - LC25000 and other classes: nothing (LC25000 has no split).

    Reads the domain's shipped lists once per process, when first asked;
    no image.

    Args:
        classes (sequence[str]): the list's classes (its domain).
        paths (sequence[str]): its entries, relative to ``prefix``.
        prefix (str): the data folder they are under.
        folders (bool): whether the official test folder says the split.

    Returns:
        tuple or None: ``('train' | 'test', why)``, ``why`` saying which
        rule, e.g. ``'every image under CRC-VAL-HE-7K/'``.
    """
    classes = tuple(classes)
    if not paths or classes not in (NCT_CLASSES, PAIP_CLASSES):
        return None
    split_paths = [entry_parts(p) for p in paths]
    if classes == PAIP_CLASSES:
        slides = {parts[0] for parts in split_paths}
        found = [(s, f'the slides of the published PAIP19 {s} list')
                 for s, kept in _published_sets('paip').items()
                 if slides == kept]
        return found[0] if found else None
    # the 100K: maybe a user's own split
    official = {OFFICIAL[1]: 'test'} if folders else {}
    # each image's release as the list is read (ImageList's
    # check_list_releases); once per folder
    releases = {entry_release(prefix, f)
                for f in {'/'.join(parts[:-1]) for parts in split_paths}}
    folder = releases.pop() if len(releases) == 1 else None
    by_folder = official.get(folder)
    names = {'/'.join(parts[-2:]) for parts in split_paths}
    by_images = next((s for s, kept in _published_sets('nct').items()
                      if names == kept), None)
    if by_folder and by_images and by_folder != by_images:
        return None
    if by_folder:
        return by_folder, f'every image under {folder}/'
    if by_images:
        return by_images, f'the images of the published NCT {by_images} list'
    return None


@dataclass
class Prepared:
    """What a converter wrote.

    Args:
        counts: number of images per list (``'NCT train'`` -> 80000).
        notes: one line each: split used, published order or not, images
            left out.
    """
    counts: Dict[str, int]
    notes: List[str] = field(default_factory=list)

    def lines(self, unit: str = 'images') -> List[str]:
        """The summary a command prints."""
        return [f'{name:14s} {n:7d} {unit}'
                for name, n in self.counts.items()] + self.notes


def _image_name(name: str) -> bool:
    """Whether a file name is an image's: an image extension, not hidden
    (``.DS_Store``, a Mac's ``._x.tif``)."""
    return name.lower().endswith(IMAGE_EXTENSIONS) and \
        not name.startswith('.')


def _other_image_name(name: str) -> bool:
    """Whether a file name is an image's of a format the converters do not
    list (:data:`OTHER_IMAGE_EXTENSIONS`), not hidden."""
    return name.lower().endswith(OTHER_IMAGE_EXTENSIONS) and \
        not name.startswith('.')


def _images(folder: str, skipped: Optional[List[str]] = None) -> List[str]:
    """Image file names in ``folder`` (not recursive), sorted: regular
    files (or links to one) with an image extension, not hidden; a folder
    with such a name is not an image.

    Args:
        skipped (list, optional): the paths of the other files (not hidden:
            ``notes.txt``, ``Thumbs.db``; not ``.DS_Store``) are appended
            to it, for a note; None: not gathered.

    Raises:
        InputError: a link with an image's name whose target does not
            exist (a list naming it would name an image no one can read);
            a file of another image format (:data:`OTHER_IMAGE_EXTENSIONS`,
            ``x.webp``), which would be left out.
    """
    names = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not _image_name(name):
            if name.startswith('.') or not os.path.isfile(path):
                continue
            if _other_image_name(name):
                raise InputError(
                    f'{path}: an image in a format the converters do not '
                    f'list ({os.path.splitext(name)[1]}; they list '
                    f'{", ".join(IMAGE_EXTENSIONS)}, in any case), which '
                    'would be left out: convert it or move it out; nothing '
                    'written')
            if skipped is not None:
                skipped.append(path)
            continue
        if os.path.isfile(path):
            names.append(name)
        elif os.path.islink(path) and not os.path.exists(path):
            raise InputError(
                f'{path}: a link to {os.readlink(path)}, which does not exist '
                '(moved, or a download not finished?): restore it or remove '
                'the link; nothing written')
    return names


def _skipped_note(skipped: Sequence[str], data: str,
                  where: str = 'class') -> List[str]:
    """The note on the files :func:`_images` left out of the ``where``
    folders, none when there are none."""
    if not skipped:
        return []
    return [f'{len(skipped)} file(s) in the {where} folders are not images, '
            f'left out (first: {os.path.relpath(skipped[0], data)})']


def _subfolders(folder: str) -> List[str]:
    """Folder names in ``folder``, sorted; hidden ones and the
    ``__MACOSX`` folder of a zip made on a Mac left out."""
    return sorted(d for d in os.listdir(folder)
                  if os.path.isdir(os.path.join(folder, d))
                  and not d.startswith('.') and d != '__MACOSX')


def _image_files_below(folder: str) -> Iterator[str]:
    """The image files ``folder`` holds, at any depth, as found (of a
    format the converters do not list too: in a nested copy, left out as
    well)."""
    return (f for _, _, files in os.walk(folder) for f in files
            if _image_name(f) or _other_image_name(f))


def _holds_images(folder: str) -> bool:
    """Whether ``folder`` holds an image file at any depth (the walk stops
    at the first: a layout's folder of 100,000 images is not listed
    here)."""
    return next(_image_files_below(folder), None) is not None


def _class_images(folder: str,
                  skipped: Optional[List[str]] = None) -> List[str]:
    """:func:`_images` of a class folder (a PAIP19 label folder too), which
    the published layouts keep flat (``skipped``: as :func:`_images`).

    Raises:
        InputError: a subfolder holding images (at any depth: a nested
            copy, ``ADI/sub/x.tif``), which the lists would leave out.
    """
    for sub in _subfolders(folder):
        path = os.path.join(folder, sub)
        held = sum(1 for _ in _image_files_below(path))
        if held:
            raise InputError(
                f'{path}: a subfolder of the class folder holding {held} '
                'image(s) (a nested copy?), which the lists would leave '
                f'out: move them up into {folder} or remove it; nothing '
                'written')
    return _images(folder, skipped)


def _check_no_loose_images(folder: str, holder: str) -> None:
    """Refuse images directly in ``folder``, a folder of class (or slide)
    folders (``holder``): they belong to none, and the lists would leave
    them out without a word. Other files there (``Thumbs.db``, notes) are
    not judged; an image of another format is refused (:func:`_images`)."""
    loose = _images(folder)
    if loose:
        raise InputError(
            f'{folder}: {len(loose)} image(s) directly in it, in no '
            f'{holder} folder (first: {loose[0]}), which the lists would '
            f'leave out: move them into their {holder} folder or remove '
            'them; nothing written')


_LC_STEM_CLASS = {stem: cls for cls, stem in LC_FILE_STEMS.items()}


def named_class(name: str, classes: Sequence[str]) -> Optional[str]:
    """The class an NCT or LC25000 file name says, as the downloads name
    their images (``ADI-AAAWMSFI.tif``, ``colonca12.jpeg``); None for a
    name of another form (images of another source) or other classes."""
    if tuple(classes) == NCT_CLASSES:
        m = re.match(r'([A-Z]+)-', name)
        return m.group(1) if m and m.group(1) in NCT_CLASSES else None
    if tuple(classes) == LC_CLASSES:
        m = re.match(r'([a-z]+)\d+\.', name)
        return _LC_STEM_CLASS.get(m.group(1)) if m else None
    return None


def entry_parts(rel: str, root: Optional[str] = None) -> List[str]:
    """The components of a list entry's path (``/`` or ``\\`` between
    them): ``NCT/ADI/ADI-X.tif`` -> ``['NCT', 'ADI', 'ADI-X.tif']``;
    normalised as the image is opened (``posixpath.normpath``:
    ``LYM//0001.tif``, ``LYM/./0001.tif`` and ``x/../LYM/0001.tif`` lie in
    ``LYM/``), once for every reader of an entry's folders (review r109:
    :func:`written_release` normalised, :func:`own_folder` did not, so a
    ``wo_3`` list of ``NCT-CRC-HE-100K-NONORM/LYM//0001.tif`` held NCT
    images whose folder read as ``''`` and trained with LYM kept).
    ``root``: the folder the list's entries are relative to, where the
    caller knows it (ImageList's data prefix): the entry is then read
    under it, a relative root from the current folder, as its image is
    opened (``LYM/0001.tif`` under ``data/NCT-CRC-HE-100K-NONORM`` ->
    ``[..., 'data', 'NCT-CRC-HE-100K-NONORM', 'LYM', '0001.tif']``);
    None: the entry alone (a list file read without its dataset)."""
    path = rel.replace('\\', '/')
    if root is not None:
        path = os.path.abspath(os.path.join(root, path)).replace('\\', '/')
    return posixpath.normpath(path).split('/')


def own_folder(rel: str, root: Optional[str] = None) -> Optional[str]:
    """The folder an image of a list lies in directly (its class folder in
    the real layouts: NCT ``BACK/BACK-....tif``), not those above; None
    for a bare file name (with no ``root``: :func:`entry_parts`)."""
    parts = entry_parts(rel, root)
    return parts[-2] if len(parts) > 1 else None


#: the stem of an image's name in the NCT downloads themselves: its class,
#: then eight capitals (NCT-CRC-HE-100K ``ADI-AAAWMSFI``), or ``TCGA-`` and
#: eight (CRC-VAL-HE-7K ``ADI-TCGA-AAICEQFN``); every name of the published
#: lists has it, and so has every name the synthetic generator writes
_NCT_DOWNLOAD_STEM = re.compile(r'[A-Z]+-(?:TCGA-)?[A-Z]{8}')


def _nct_download_name(name: str) -> bool:
    """Whether the file name ``name`` is an image's name of the NCT
    downloads (:data:`_NCT_DOWNLOAD_STEM`), with any extension of
    :data:`IMAGE_EXTENSIONS` in any case (:func:`_image_name`): a copy
    converted to another format (``ADI-AAAWMSFI.png``, ``.TIF``,
    ``.tiff``) keeps the download's name (review r108: only ``.tif``
    was, and an encoder trained on such a copy's every-class list was
    written for ``clp_wo_7`` without a word)."""
    return _image_name(name) and _NCT_DOWNLOAD_STEM.fullmatch(
        os.path.splitext(name)[0]) is not None


def _nct_named(rel: str, root: Optional[str] = None) -> bool:
    """Whether the list entry ``rel`` is an NCT image by its names: named
    as the downloads name their images, by an NCT class
    (:func:`named_class`; :func:`_nct_download_name`: ``ADI-AAAWMSFI.tif``
    or ``.png``, in any folder), or lying in an NCT class folder of a
    folder named as an NCT release, under any file name
    (:func:`written_release`: ``NCT-CRC-HE-100K-NONORM/ADI/0001.png``,
    renamed in the downloads' own folders; review r105: beside one entry
    of the user's own, such a list held no NCT image); under such a
    release folder (named as the downloads name it) the class folder is
    read in any case, as :func:`entry_nct_classes` reads the class it
    holds (``NCT-CRC-HE-100K-NONORM/lym/0001.png``, review r109: not
    NCT's, so beside one own entry its ``wo_3`` list passed); elsewhere
    a class folder alone makes no entry NCT's (below). A user's own
    patches named by class (``tumour/TUM-0001.png``, review r105), also
    in a folder of that class's name in any case (``mine/TUM/TUM-0001.png``,
    ``tum/``, review r108), are not: they were taken for NCT's and
    refused as its all-class list. Nor are images renamed in folders of
    the user's naming (``NCT/ADI/0001.png``): by their paths they are the
    user's own class folders that share an NCT class's name
    (``mine/TUM/a.png``, review r104). Its folders are read under
    ``root`` where given (:func:`entry_parts`): ``LYM/0001.png`` of a
    data prefix ``.../NCT-CRC-HE-100K-NONORM``."""
    parts = entry_parts(rel, root)
    if entry_nct_classes(rel, root)[0] is not None and len(parts) > 2 \
            and parts[-3] in NCT_RELEASES:  # as written_release reads it
        return True
    return named_class(parts[-1], NCT_CLASSES) is not None and \
        _nct_download_name(parts[-1])


def entry_nct_classes(rel: str, root: Optional[str] = None
                      ) -> Tuple[Optional[str], Optional[str]]:
    """The NCT classes the list entry ``rel`` names: its own folder's
    (:func:`own_folder`, in any case: ``tum/`` names TUM) and its file
    name's (:func:`named_class`: ``TUM-0001.png``); None for either that
    names none. In a list of NCT images (:func:`first_nct_entry`), the
    classes an entry holds (:func:`~.image_list.check_held_out_folders`);
    they do not make an entry NCT's (:func:`_nct_named`: a user's own
    ``mine/TUM/TUM-0001.png`` names TUM twice). ``root``: as
    :func:`entry_parts` reads it."""
    folder = (own_folder(rel, root) or '').upper()
    return (folder if folder in NCT_CLASSES else None,
            named_class(entry_parts(rel)[-1], NCT_CLASSES))


def first_nct_entry(entries: Sequence[ListEntry],
                    root: Optional[str] = None) -> Optional[int]:
    """The line (from 1) of the first NCT image of a list: an entry NCT
    names (:func:`_nct_named`: a download's name, ``ADI-AAAWMSFI.tif`` or
    a converted ``ADI-AAAWMSFI.png``, in any folder, or any name in a
    class folder of an NCT release's folder,
    ``NCT-CRC-HE-100K-NONORM/ADI/0001.png``), else 0, no one line, where
    every entry lies in the folder of an NCT class as the entry names it,
    not its ``root`` (``STR/x.png``; bare ``a.png`` under ``.../TUM`` does
    not, review r116; it was line 1, and the refusals named entry 1 as an
    NCT image, :func:`nct_list_said`); None
    otherwise: a list of no NCT image (LC25000's, PAIP19's, a user's own
    classes, also where some of its class folders bear an NCT class's
    name, ``mine/TUM/a.png`` beside ``mine/normal/b.png``, and its
    patches are named by class, ``mine/TUM/TUM-0001.png``). NCT images
    renamed in folders of the user's naming (``NCT/ADI/0001.png``) beside
    one entry of the user's own are not found: no rule of names tells
    them from ``mine/TUM/a.png``, which must pass, and a folder above
    says nothing (a user's per-slide folders, ``mine/slide2/TUM/``, hold
    some slides of one class only). ``root``: the folder the entries are
    relative to, where the caller knows it (ImageList: its data prefix),
    as :func:`entry_parts` reads it: the release folder may be the data
    root's (``LYM/0001.png`` under ``.../NCT-CRC-HE-100K-NONORM``, review
    r109: read from the entry alone, such a list beside one own entry
    held no NCT image, and its ``wo_3`` list trained with LYM kept);
    None: the entries alone (:func:`holds_nct_images`, whose callers
    know the list file only)."""
    named = next((lineno for lineno, (rel, _) in enumerate(entries, 1)
                  if _nct_named(rel, root)), None)
    if named is not None:
        return named
    # the entries' own folders, not the root's (review r116: bare a.png
    # under a data prefix .../TUM read as lying in TUM/, a user's own
    # wo_8 list refused; with data prefix '' the verdict followed the
    # current folder)
    return 0 if entries and all(own_folder(rel) in NCT_CLASSES
                                for rel, _ in entries) else None


def nct_list_said(entries: Sequence[ListEntry], first: int,
                  image: str = 'an NCT image') -> str:
    """What makes a list NCT's, for a refusal: ``first`` as
    :func:`first_nct_entry` gives it (not None): ``entry 2 (x) is an NCT
    image`` (``image``: what the entry is called, ``one`` after ``a list
    of NCT images``), or ``every entry lies in an NCT class folder``
    (0)."""
    if first == 0:
        return 'every entry lies in an NCT class folder'
    return f'entry {first} ({entries[first - 1][0]}) is {image}'


def holds_nct_images(list_file: str, prefix: Optional[str] = None
                     ) -> Optional[bool]:
    """Whether the training list ``list_file`` holds NCT images
    (:func:`first_nct_entry`), wherever it lies; None for a file not read
    here (missing, unreadable: not known). ``prefix``: the folder its
    entries are read under (its dataset's data prefix, as the
    training-time check reads them:
    :func:`~.image_list.check_held_out_folders`); None: the entries
    alone."""
    entries = _entries_if_read(list_file)
    return None if entries is None else \
        first_nct_entry(entries, prefix) is not None


def _entries_if_read(list_file: str) -> Optional[List[ListEntry]]:
    """The entries of the list file ``list_file``; None where it is not
    read here (missing, unreadable). Within a
    :func:`~openselfsup.utils.reading_once` scope (a run's start), read
    once while the file is unchanged (:func:`~openselfsup.utils.read_once`),
    whichever check asks: each held-out check has a reader of its own
    prefixes (:func:`nct_list_reader`), so a list on both sides of the
    resume check, or in the run and its ``load_from``, was parsed again
    for each (NCT's 100,000 lines up to four times at a run's start)."""
    try:
        return read_once('list entries', list_file, read_list_file)
    except (InputError, OSError, UnicodeDecodeError):
        return None


def nct_list_reader(prefixes: Mapping[str, Sequence[str]]
                    ) -> Callable[[str], Optional[bool]]:
    """:func:`holds_nct_images` of a list file (as
    :func:`~openselfsup.config._list_path` names it), each file read once,
    its entries under each folder ``prefixes`` records for it
    (:func:`~openselfsup.config.saved_list_prefixes`: a checkpoint's
    training lists, :func:`~openselfsup.config.trained_list_prefixes`: a
    config's, read as the training-time check read each part of its
    dataset: NCT's ``LYM/0001.png`` under a data prefix
    ``.../NCT-CRC-HE-100K-NONORM`` beside one own entry is NCT's, under
    any one of its parts' prefixes), else alone (an initial list, or
    backbone weights exported before the prefix was recorded). The
    reader of every held-out check (extraction, the resume, the initial
    weights: :data:`~openselfsup.config.ListReader`)."""
    @functools.lru_cache(maxsize=None)
    def holds(list_file: str) -> Optional[bool]:
        entries = _entries_if_read(list_file)  # once, whatever the prefixes
        if entries is None:
            return None
        return any(first_nct_entry(entries, folder) is not None
                   for folder in prefixes.get(list_file) or (None,))
    return holds


def _check_names_say_folders(entries: Sequence[Entry],
                             classes: Sequence[str], data: str) -> None:
    """Refuse an entry whose file name says another class than its class
    folder (``BACK/ADI-X.tif``, ``colon_n/colonca1.jpeg``): the downloads
    name each image by its class, so it was copied into the wrong folder
    (one name under two class folders) and would be listed under the
    folder's label."""
    for rel, label in entries:
        named = named_class(rel.rsplit('/', 1)[-1], classes)
        if named is not None and named != classes[label]:
            raise InputError(
                f'{os.path.join(data, rel)}: the file name says class '
                f'{named}, the folder {classes[label]} (copied into the '
                'wrong class folder?): move it or remove it; nothing written')


def _check_not_nested(folder: str, holds: Callable[[str], bool],
                      what: str,
                      fix: Optional[Callable[[str], Optional[str]]] = None
                      ) -> None:
    """One line when ``folder`` lacks what ``holds`` looks for but its only
    subfolder has it: a download unpacked into a folder of its own name
    (``data/X/X/...``) or a container folder; the line says what to move
    where, or what ``fix`` says of that subfolder (where it returns
    something: a move up would mislead). Nothing is said when ``folder``
    is missing or already holds it.
    """
    if not os.path.isdir(folder) or holds(folder):
        return
    subs = _subfolders(folder)
    inner = os.path.join(folder, subs[0]) if len(subs) == 1 else None
    if inner is not None and holds(inner):
        raise InputError(
            f'{folder}: the {what} are one level down, in {subs[0]}/ (a '
            'download unpacked into a folder of its own?)'
            + ((fix and fix(inner)) or
               f': move the contents of {inner} up into {folder}'))


def _class_folders(split_dir: str, classes: Sequence[str],
                   rel_prefix: str,
                   skipped: Optional[List[str]] = None) -> List[Entry]:
    """Entries of ``split_dir/<class>/<image>``, labels in ``classes`` order
    (``skipped``: as :func:`_images`).

    Raises:
        InputError: a class folder is missing or empty, or an unknown
            folder is present.
    """
    if not os.path.isdir(split_dir):
        raise InputError(f'{split_dir}: folder not found')
    _check_not_nested(split_dir, lambda d: any(
        os.path.isdir(os.path.join(d, c)) for c in classes), 'class folders')
    present = _subfolders(split_dir)
    unknown = [d for d in present if d not in classes]
    if unknown:
        raise InputError(f'{split_dir}: unknown class folder(s) '
                         f'{", ".join(unknown)}; expected {", ".join(classes)}')
    _check_no_loose_images(split_dir, 'class')
    entries: List[Entry] = []
    for label, cls in enumerate(classes):
        folder = os.path.join(split_dir, cls)
        if not os.path.isdir(folder):
            raise InputError(f'{folder}: class folder not found')
        names = _class_images(folder, skipped)
        if not names:
            raise InputError(f'{folder}: no images in this class folder')
        entries += [(f'{rel_prefix}{cls}/{n}', label) for n in names]
    return entries


def _published_lists(found: List[Entry], names: Sequence[str], prefix: str,
                     where: str, instead: str
                     ) -> Tuple[Optional[Dict[str, List[Entry]]], str]:
    """The shipped lists ``names`` if every image they name was found.

    Args:
        found: the entries the converter found.
        names: keys of :data:`.splits.PUBLISHED`.
        prefix: folder prefix of ``found``'s paths that the published
            paths lack.
        where: the data folder (messages).
        instead: appended to the refusal of an incomplete copy (some
            but not all of the published images found): what the user can
            do instead (PAIP19: what is there would be a different sample;
            LC25000: sorted, not in the published order). With all of them
            there, images not in them are left out (the note says how
            many).

    Returns:
        (the published lists with ``prefix``, in their order, or None when
        none of their images was found; a one-line note).

    Raises:
        InputError: an incomplete copy, with ``instead``.
    """
    published = {n: [(prefix + p, c) for p, c in read_published(n)]
                 for n in names}
    want = set().union(*map(set, published.values()))
    have = set(found)
    absent, extra = len(want - have), len(have - want)
    what = ' and '.join(PUBLISHED[n].source.rsplit('/', 1)[1] for n in names)
    if absent and absent == len(want):
        return None, (f'not the published images ({absent} of the {len(want)} '
                      f'that {what} name absent)')
    if absent:
        first = next(p for n in names for p, c in published[n]
                     if (p, c) not in have)
        raise InputError(
            f'{where}: {absent} of the {len(want)} images that {what} name '
            f'are absent (first: {first}): an incomplete copy of the '
            f'published data; nothing written{instead}')
    note = f'the published {what}, in their order'
    if extra:
        note += f'; {extra} image(s) not in them left out'
    return published, note


def _check_data_folder(data: str) -> None:
    """One line when ``<root>/data`` (where the images go) is missing, or
    when ``<root>`` is synthetic data whose generator was stopped."""
    from .synthetic.ownership import check_finished
    check_finished(os.path.dirname(os.path.abspath(data)))
    if not os.path.isdir(data):
        root = os.path.dirname(os.path.normpath(data))
        if os.path.basename(root) == 'data' and os.path.isdir(root):
            # --root data/NCT/data: the images' folder given as the root
            raise InputError(
                f'{data}: folder not found; --root is the dataset\'s folder '
                f'that holds data/ (the images) and meta/ (the lists): '
                f'give --root {os.path.dirname(root) or "."}')
        raise InputError(f'{data}: folder not found (the images go under '
                         'it: extract the download there, or make it a '
                         'symlink to the extracted folder)')


# -- NCT ----------------------------------------------------------------------

def _nonorm_folder(data: str) -> Optional[Tuple[str, str]]:
    """(folder holding the ``<CLS>/`` folders, list prefix) of NONORM. A
    ``NCT-CRC-HE-100K-NONORM/`` folder holding no image (left empty, its
    images moved up into ``data/<CLS>/``) is no layout: it was read, and
    beside ``<CLS>/`` folders refused as "images in both layouts"."""
    nested = os.path.join(data, NONORM)
    if os.path.isdir(nested) and _holds_images(nested):
        return nested, f'{NONORM}/'
    if any(os.path.isdir(os.path.join(data, c)) for c in NCT_CLASSES):
        return data, ''
    return None


def _nct_folder_named(inner: str) -> Optional[str]:
    """What to do with ``data/<inner>/``, the only folder in ``data/``,
    holding NCT class folders or CRC-VAL-HE-7K (:func:`_check_not_nested`'s
    ``fix``): moved up into ``data/``, its images would be read as NONORM
    without a check, though the stain-normalised release has the same file
    names. None for a container of release folders (moved up as usual)."""
    if os.path.basename(inner) == OFFICIAL[1]:
        return (f', the official test set: --split official needs '
                f'{OFFICIAL[0]}/ beside it')
    if not any(os.path.isdir(os.path.join(inner, c)) for c in NCT_CLASSES):
        return None
    return (', a folder named for no NCT release (the releases share file '
            'names: moved up into data/, its images are read as NONORM '
            f'unchecked): rename it {NONORM} if it holds the NONORM images '
            f'(the published protocol\'s), or {OFFICIAL[0]} if the '
            f'stain-normalised ones (with {OFFICIAL[1]}/ beside it, --split '
            'official)')


def _nonorm_said(data: str, folder: str) -> Tuple[Dict[str, str], str]:
    """How ``folder`` (:func:`_nonorm_folder`) was taken for NONORM: by its
    name (or the name of the folder it links to), or assumed, ``data/<CLS>/``
    naming no release: the record :func:`.list_files.write_list_set` keeps
    and the note to print. The releases share file names, and nothing in
    the files tells the stain-normalised ones apart, so the note says
    where each goes."""
    named = [p for p in (folder, os.path.realpath(folder))
             if os.path.basename(os.path.normpath(p)) == NONORM]
    if named:
        by = f'the folder name {named[0]}'
        note = (f'release: {NONORM} (the published protocol\'s), by {by}'
                + (f' ({folder} links to it)' if named[0] != folder else ''))
    else:
        by = f'assumed: {data}/<CLS>/ names no release'
        note = (f'release: {NONORM} assumed, not checked: {data}/<CLS>/ '
                f'names no release, and the stain-normalised {OFFICIAL[0]} '
                'has the same file names (other pixels; nothing here tells '
                'them apart): if these are the normalised images, move them '
                f'to {os.path.join(data, OFFICIAL[0])}/ beside {OFFICIAL[1]}/ '
                'and give --split official; NONORM images in '
                f'{os.path.join(data, NONORM)}/ are taken by that name')
    return {'train': NONORM, 'test': NONORM, 'by': by}, note


def link_reached(path: str, up: bool = False
                 ) -> Tuple[Optional[str], Optional[str]]:
    """``(release, via)``: the NCT release a symbolic link on the way to
    the folder ``path`` reaches, by the name of the folder it reaches:
    ``path``'s target's own name, or (``up``: ``path`` a class folder) its
    target's parent's; None where that names no release or the one
    ``path``'s own name says (a release name further up says nothing: a
    NONORM copy kept as ``/datasets/NCT-CRC-HE-100K/nonorm/``); ``via``
    the folder whose name says it (None with it). Of a chain of links,
    the folder nearest the images that names a release judges (a
    ``NCT-CRC-HE-100K-NONORM`` link to ``/datasets/NCT-CRC-HE-100K``,
    itself a link to the volume that holds it, ``/vol3/nct_norm``: the
    normalised images; only the end's name was read, which names none)."""
    def named(p):
        name = os.path.basename(os.path.dirname(p) if up else p)
        return name if name in NCT_RELEASES else None
    hop, reached = os.path.abspath(path), []
    for _ in range(40):  # the targets of the link at the end, in turn
        if not os.path.islink(hop):
            break
        hop = os.path.normpath(os.path.join(
            os.path.realpath(os.path.dirname(hop)), os.readlink(hop)))
        reached.append(hop)
    reached.append(os.path.realpath(path))
    via = next((p for p in reversed(reached) if named(p)), None)
    found = named(via) if via else None
    if found == named(os.path.abspath(path)):
        return None, None
    return found, via


def linked_release(image_folder: str
                   ) -> Tuple[Optional[str], Optional[str]]:
    """``(release, via)``: the NCT release a link on the way to an image's
    class folder ``image_folder`` reaches (:func:`link_reached` of it and
    of the release folder above it), ``(None, None)`` where none does or
    the folder is not on this machine: the releases share file names, so
    the names of the folders as written tell another release's images
    linked under them from their own."""
    if not os.path.isdir(image_folder):
        return None, None
    found = link_reached(image_folder, up=True)
    return found if found[0] else link_reached(
        os.path.dirname(os.path.abspath(image_folder)))


def written_release(folder: str, unnamed: Optional[str] = NONORM
                    ) -> Optional[str]:
    """The NCT release an image's folder ``folder`` is written as, by its
    names: the release the folder above its NCT class folder names, else
    ``unnamed`` (NONORM for a list's entry, as :func:`_nonorm_said` takes
    ``data/<CLS>/``; None, unknown, for a feature row's path); None for
    a folder that is no NCT class. A release name further up says
    nothing, as where a link reaches (:func:`link_reached`): a NONORM
    copy kept as ``/datasets/NCT-CRC-HE-100K/nonorm/ADI/``. Names only:
    a list's entry is read where its image is opened
    (:func:`entry_release`)."""
    head, cls = os.path.split(os.path.normpath(folder))
    if cls not in NCT_CLASSES:
        return None
    parent = os.path.basename(head)
    return parent if parent in NCT_RELEASES else unnamed


def entry_release(root: str, folder: str) -> Optional[str]:
    """The NCT release a list's entry is read as: :func:`written_release`
    of its folder ``folder`` under the list's data folder ``root``, a
    relative one from the current folder, as the image is opened
    (``<CLS>/<file>`` entries of a data root ``''`` run inside
    ``CRC-VAL-HE-7K/``: its images). ImageList's check, the split a
    list's images say and ``import_features.py``'s rows read it here, and
    the content rule reads an entry under its root alike
    (:func:`entry_parts`)."""
    return written_release('/'.join(entry_parts(folder, root)))


def check_list_releases(root: str, entries: Sequence[Tuple[str, object]],
                        list_path: str) -> None:
    """Refuse an entry of a list whose NCT class folder (its own folder,
    under ``root``) a symbolic link on the way takes to the images of
    another NCT release than the one it is written as (:func:`linked_release`:
    by the name of the folder the link reaches): the releases share file
    names, so the stain-normalised NCT-CRC-HE-100K linked as
    ``NCT-CRC-HE-100K-NONORM`` (or as ``data/`` of ``<CLS>/<file>``
    entries, NONORM's layout) was read as NONORM's images. An entry is
    written as the release its class folder's parent names, else as
    NONORM (:func:`entry_release`, as ``import_features.py`` reads an
    entry too). The check
    :func:`prepare_nct` makes of the data folder before it writes the
    lists, made again where the lists are read (a link made since, or the
    lists copied beside one). Judged once per folder; an entry whose own
    folder is no NCT class (LC25000, PAIP19) is not, nor is a folder not
    on this machine.

    Args:
        root (str): the folder the entries are relative to.
        entries (sequence): ``(path, label)`` of the list, in order.
        list_path (str): the list file, for the line.

    Raises:
        InputError: the list, the entry, its folder, the folder reached and
            both releases.
    """
    seen = set()
    for lineno, (rel, _) in enumerate(entries, 1):
        here = os.path.join(root, os.path.dirname(rel))
        if here in seen:
            continue
        seen.add(here)
        mine = entry_release(root, os.path.dirname(rel))
        if mine is None:  # no NCT class folder
            continue
        theirs, via = linked_release(here)
        if theirs is None or theirs == mine:
            continue
        real = os.path.realpath(here)
        raise InputError(
            f'{list_path}: entry {lineno} ({rel}) is an image of {mine}, '
            f'but its folder {here} leads to {real}'
            + (f' (through {via})' if via != os.path.realpath(via) else '')
            + f', images of {theirs} (the NCT releases share file names, '
            'not pixels; prepare_nct.py refuses this link where it writes '
            f'the lists): link the folder of {mine}, or write lists for '
            f'{theirs}\'s images'
            + (' (prepare_nct.py --split official)' if theirs in OFFICIAL
               else ''))


def _check_release_folder(folder: str, release: str) -> None:
    """Refuse ``folder``, read as ``release``'s images, when it or one of
    its NCT class folders is a symbolic link (somewhere on the way) to
    another NCT release's folder (``data -> /datasets/NCT-CRC-HE-100K``
    read as NONORM): the releases share file names, so the published
    split would be written for the other release's pixels.

    Only the name of the folder the link reaches judges
    (:func:`link_reached`): ``folder``'s target's own name, a class
    folder's target's parent (the release folder holding the class
    folders).
    """
    for path in [folder] + [os.path.join(folder, c) for c in NCT_CLASSES]:
        if not os.path.isdir(path):
            continue
        real = os.path.realpath(path)
        found, via = link_reached(path, up=path != folder)
        if found in (None, release):
            continue
        raise InputError(
            f'{path}: a link to {real}'
            + (f' (through {via})' if via != os.path.realpath(via) else '')
            + f', images of {found}, read here as '
            f'{release}\'s (the NCT releases share file names, not pixels; '
            'nothing written): link the folder of the release meant'
            + (f' ({OFFICIAL[0]}/ and {OFFICIAL[1]}/ under data/ with '
               '--split official for the stain-normalised images)'
               if release == NONORM else ''))


def _check_whole_release(folder: str, entries: Sequence[Entry]) -> List[str]:
    """Refuse an incomplete copy of the NCT-CRC-HE-100K release: ``entries``
    (``<folder>/<CLS>/<file>``) holding some but not all of the 100,000
    file names it shares with NONORM (the published lists' names), compared
    without their extension (a copy converted to ``.png``, or renamed to
    ``.TIF``, is judged as the download is). None of them (renamed files,
    images of another source): not judged, and a note says so.

    Returns:
        list[str]: that note, or none.
    """
    def stem(path):
        return os.path.splitext(path)[0]
    names = {stem(p.split('/', 1)[1]) for p, _ in entries}
    release = frozenset(
        stem(p) for p in frozenset().union(*_published_sets('nct').values()))
    absent = len(release - names)
    if absent == 0:
        return []
    if absent == len(release):
        return [f'{OFFICIAL[0]}/ holds none of the file names of the release '
                '(those of the published NONORM lists, any extension): '
                'renamed files or images of another source, not checked '
                'for completeness']
    first = next(p for s in ('train', 'test')
                 for p, _ in read_published(f'nct_{s}')
                 if stem(p) not in names)
    raise InputError(
        f'{folder}: {absent} of the {len(release)} images of the '
        f'{OFFICIAL[0]} release are absent (first: {first}; it has the '
        'file names of the published NONORM lists): an incomplete copy; '
        'nothing written')


def _split_entries(path: str, entries) -> List[Entry]:
    """``[...]/<CLS>/<file> [label]`` entries -> ``(<CLS>/<file>, label)``.

    A label, where given, must be the class folder's label in the published
    order (:data:`NCT_CLASSES`). An entry under the folder of another NCT
    release (``NCT-CRC-HE-100K/``, whose stain-normalised images have
    NONORM's file names; the folder above its class folder,
    :func:`written_release`: a NONORM copy kept in
    ``NCT-CRC-HE-100K/nonorm/`` is NONORM's) is refused: it would be read
    as the NONORM image of that name.
    """
    out: List[Entry] = []
    for i, (rel, label) in enumerate(entries, 1):
        parts = entry_parts(rel)
        cls = parts[-2] if len(parts) >= 2 else None
        if cls not in NCT_CLASSES:
            raise InputError(f'{path}: entry {i} ({rel}) is not '
                             f'<CLS>/<file> with CLS one of '
                             f'{", ".join(NCT_CLASSES)}')
        release = written_release('/'.join(parts[:-1]), unnamed=None)
        if release not in (None, NONORM):
            raise InputError(
                f'{path}: entry {i} ({rel}) is an image of {release}/, but '
                f'--split-lists splits the {NONORM} images (the releases '
                'share file names, not pixels): give NONORM paths, or '
                '--split official for NCT-CRC-HE-100K and CRC-VAL-HE-7K')
        c = NCT_CLASSES.index(cls)
        if label is not None and label != c:
            order = ', '.join(f'{n} {k}' for k, n in enumerate(NCT_CLASSES))
            raise InputError(
                f'{path}: entry {i} ({rel}) has label {label}, but {cls} is '
                f'label {c} in the published order ({order})')
        out.append((f'{cls}/{parts[-1]}', c))
    return out


def _other_extension_hint(missing: Sequence[str],
                          present: Dict[str, set],
                          split_lists: Optional[Sequence[str]]) -> str:
    """What to say of ``missing`` (``<CLS>/<file>`` of the split) found in
    their class folder (``present``: class -> file names) under another
    extension (``ADI-X.png`` for ``ADI-X.tif``): a copy converted to
    another format or renamed, not images of another source. '' when none
    is."""
    stems = {cls: {os.path.splitext(n)[0]: n for n in sorted(names)}
             for cls, names in present.items()}
    found = []
    for rel in missing:
        cls, name = rel.split('/')
        other = stems[cls].get(os.path.splitext(name)[0])
        if other is not None:
            found.append((rel, f'{cls}/{other}'))
    if not found:
        return ''
    ext = os.path.splitext(found[0][0])[1]
    fix = ('the lists name the download\'s {} files: convert them back, or '
           'give --split-lists TRAIN TEST naming these files (the published '
           'lists are in openselfsup/datasets/splits/)'
           if split_lists is None else
           'your lists name {} files: convert them back, or name these '
           'files in your lists')
    return (f'; {len(found)} of them are here under another extension '
            f'({found[0][1]} for {found[0][0]}: a converted copy?): '
            + fix.format(ext))


def _nct_split(split_lists: Optional[Sequence[str]]
               ) -> Tuple[List[Entry], List[Entry], str]:
    """Train and test ``(<CLS>/<file>, label)`` entries, and their name."""
    if split_lists is None:
        return (read_published('nct_train'), read_published('nct_test'),
                'published split')
    if len(split_lists) != 2:
        raise InputError(f'--split-lists takes two list files (train, test), '
                         f'got {len(split_lists)}')
    train, test = (_split_entries(p, read_list_file(p, len(NCT_CLASSES)))
                   for p in split_lists)
    seen: Dict[str, str] = {}
    for path, entries in zip(split_lists, (train, test)):
        for rel, _ in entries:
            if rel in seen:
                raise InputError(f'{path}: {rel} is listed twice (also in '
                                 f'{seen[rel]})')
            seen[rel] = path
    return train, test, 'split of --split-lists'


def prepare_nct(root: str, split: Optional[str] = None,
                split_lists: Optional[Sequence[str]] = None) -> Prepared:
    """NCT list files: the published NONORM split, or the official sets.

    Args:
        root (str): the NCT directory (``data/NCT``) whose ``data/`` holds
            the images.
        split (str, optional): ``'published'``: NCT-CRC-HE-100K-NONORM
            (``data/NCT-CRC-HE-100K-NONORM/<CLS>/`` or ``data/<CLS>/``)
            split into the published 80,000 training and 20,000 test
            images; ``'official'``: NCT-CRC-HE-100K (train) and
            CRC-VAL-HE-7K (test). None: ``'published'`` when NONORM images
            are there, else ``'official'``.
        split_lists (sequence[str], optional): two list files (train, test)
            to use instead of the published split, in its format
            (``[...]/<CLS>/<file> [label]`` per line); with the NONORM
            images only.

    Returns:
        Prepared: images per list and notes.

    Raises:
        InputError: no images in either layout, a class folder missing or
            unknown (official), images of the split missing (the count and
            the first), an incomplete copy of NCT-CRC-HE-100K (official), a
            folder linked to another release's download, a bad split list
            or one naming another release, an image of another format, a
            file name saying another class than its folder, an unwritable
            ``meta``.
    """
    data, meta = os.path.join(root, 'data'), os.path.join(root, 'meta')
    check_writable_dir(meta)
    if split is not None and split not in NCT_SPLITS:
        raise InputError(f'--split {split}: expected one of '
                         f'{", ".join(NCT_SPLITS)}')
    _check_data_folder(data)
    _check_not_nested(data, lambda d: any(
        os.path.isdir(os.path.join(d, f))
        for f in (NONORM, OFFICIAL[0], *NCT_CLASSES)), 'NCT folders',
        _nct_folder_named)
    nonorm = _nonorm_folder(data)
    skipped: List[str] = []
    if nonorm is not None:
        _check_not_nested(nonorm[0], lambda d: any(
            os.path.isdir(os.path.join(d, c)) for c in NCT_CLASSES),
            'class folders')
    chosen = split is None and nonorm is None and split_lists is None and \
        os.path.isdir(os.path.join(data, OFFICIAL[0]))
    if split is None:
        split = 'official' if chosen else 'published'
    if split == 'official':
        if split_lists is not None:
            raise InputError('--split-lists splits the NONORM images; it does '
                             'not go with --split official')
        if chosen and not os.path.isdir(os.path.join(data, OFFICIAL[1])):
            raise InputError(
                f'{data}: no {NONORM} images (the published protocol\'s: '
                f'{NONORM}/<CLS>/ or <CLS>/), only {OFFICIAL[0]}/; the '
                f'official split also needs {OFFICIAL[1]}/<CLS>/ for test '
                f'(NONORM images in {OFFICIAL[0]}/? their folder is '
                f'{NONORM}/: the releases share file names)')
        for release in OFFICIAL:
            _check_release_folder(os.path.join(data, release), release)
        train = _class_folders(os.path.join(data, OFFICIAL[0]), NCT_CLASSES,
                               f'{OFFICIAL[0]}/', skipped)
        unchecked = _check_whole_release(os.path.join(data, OFFICIAL[0]),
                                         train)
        test = _class_folders(os.path.join(data, OFFICIAL[1]), NCT_CLASSES,
                              f'{OFFICIAL[1]}/', skipped)
        notes = [f'split: {OFFICIAL[0]} (train), {OFFICIAL[1]} (test)'
                 + (f' (no {NONORM} images found, so not the published '
                    'split)' if chosen else ''),
                 f'release: {OFFICIAL[0]} (stain-normalised, train) and '
                 f'{OFFICIAL[1]} (test), by their folder names'
                 + (f'; NONORM images (the published protocol\'s) placed in '
                    f'{OFFICIAL[0]}/ would be read as the normalised ones: '
                    f'their folder is {NONORM}/' if chosen else '')
                 ] + unchecked
        record = {'train': OFFICIAL[0], 'test': OFFICIAL[1],
                  'by': 'the folder names'}
    else:
        if nonorm is None:
            raise InputError(
                f'{data}: no NCT-CRC-HE-100K-NONORM images (expected '
                f'{NONORM}/<CLS>/ or <CLS>/ folders, CLS one of '
                f'{", ".join(NCT_CLASSES)}); for NCT-CRC-HE-100K and '
                f'CRC-VAL-HE-7K give --split official')
        folder, prefix = nonorm
        direct = [c for c in _subfolders(data)
                  if c in NCT_CLASSES and _images(os.path.join(data, c))]
        if prefix and direct:
            # the NONORM/ copy was read, the other left out without a word
            raise InputError(
                f'{data}: NCT images in both layouts, {NONORM}/<CLS>/ and '
                f'<CLS>/ ({direct[0]}/, ...): two copies? keep one; nothing '
                'written')
        _check_release_folder(folder, NONORM)
        train, test, what = _nct_split(split_lists)
        by_case = {d.upper(): d for d in _subfolders(folder)}
        for cls in NCT_CLASSES:
            other = by_case.get(cls)
            if other is not None and other != cls and \
                    not os.path.isdir(os.path.join(folder, cls)):
                # its images read as missing: "images of another source"
                raise InputError(
                    f'{os.path.join(folder, other)}: a class folder in '
                    f'another case; the lists name {cls}/ (names are '
                    'case-sensitive): rename it; nothing written')
        present = {}
        for cls in NCT_CLASSES:
            d = os.path.join(folder, cls)
            present[cls] = set(_class_images(d, skipped)) \
                if os.path.isdir(d) \
                else set()
        wanted = train + test
        missing = [rel for rel, _ in wanted
                   if rel.split('/')[1] not in present[rel.split('/')[0]]]
        if missing:
            other = len(missing) == len(wanted) and split_lists is None
            hint = _other_extension_hint(missing, present, split_lists) or (
                '; none of them is here: images of another source (the '
                'synthetic generator writes its own lists, nothing to '
                'prepare), or --split-lists TRAIN TEST to split these '
                'by your lists' if other else '')
            raise InputError(
                f'{folder}: {len(missing)} of the {len(wanted)} images of the '
                f'{what} are missing (first: {missing[0]}){hint}; nothing '
                'written')
        extra = sum(map(len, present.values())) - len(wanted)
        record, said = _nonorm_said(data, folder)
        notes = [f'split: the {what} of {folder}, in its order', said]
        if extra:
            notes.append(f'{extra} image(s) in the class folders are not in '
                         'the split and left out')
        train = [(prefix + p, c) for p, c in train]
        test = [(prefix + p, c) for p, c in test]
    _check_names_say_folders(train + test, NCT_CLASSES, data)
    notes += write_list_set(meta, nct_lists(train, test), NCT_CLASSES, data,
                            record)
    notes += _skipped_note(skipped, data)
    return Prepared({'NCT train': len(train), 'NCT test': len(test)}, notes)


# -- LC25000 ------------------------------------------------------------------

def prepare_lc25000(root: str, every_image: bool = False) -> Prepared:
    """List files for LC25000 (colon and lung, benign and malignant).

    The published list, in its order, when its 25,000 images are there
    (others found are left out, with a note); when none of them is (images
    of another source), every image found, sorted. Some but not all of
    them (an incomplete copy) are refused: sorted, they would be in
    another order than the published one, and tasks, drawn by index, pick
    other images.

    Args:
        root (str): the LC25000 directory (``data/LC25000``) whose ``data/``
            holds ``colon_image_sets`` and ``lung_image_sets`` (directly or
            inside ``lung_colon_image_set/``).
        every_image (bool): every image found, sorted by path, instead of
            the published list (an incomplete copy, a subset).

    Returns:
        Prepared: number of images and a note on the order.
    """
    data, meta = os.path.join(root, 'data'), os.path.join(root, 'meta')
    check_writable_dir(meta)
    _check_data_folder(data)
    _check_not_nested(data, lambda d: any(
        os.path.isdir(os.path.join(d, f)) for f in (
            'colon_image_sets', 'lung_image_sets', 'lung_colon_image_set')),
        'LC25000 image sets')
    sets = ('colon_image_sets', 'lung_image_sets')
    if all(any(os.path.isdir(os.path.join(data, *up, s))
               and _holds_images(os.path.join(data, *up, s)) for s in sets)
           for up in ((), ('lung_colon_image_set',))):
        # the direct copy was read, the other left out without a word;
        # a layout's folders left empty (images moved out) are no copy
        raise InputError(
            f'{data}: LC25000 images in both layouts, lung_colon_image_set/'
            '{colon,lung}_image_sets/ and {colon,lung}_image_sets/: two '
            'copies? keep one; nothing written')
    prefix = ''
    if not os.path.isdir(os.path.join(data, 'colon_image_sets')) and \
            os.path.isdir(os.path.join(data, 'lung_colon_image_set')):
        prefix = 'lung_colon_image_set/'
    entries: List[Entry] = []
    skipped: List[str] = []
    for organ, classes in (('colon', LC_CLASSES[:2]), ('lung', LC_CLASSES[2:])):
        sets = f'{prefix}{organ}_image_sets'
        got = _class_folders(os.path.join(data, sets), classes, f'{sets}/',
                             skipped)
        offset = LC_CLASSES.index(classes[0])
        entries += [(p, c + offset) for p, c in got]
    if every_image:
        published, note = None, ('every image found, sorted '
                                 '(--every-image), not the published list')
    else:
        published, note = _published_lists(
            entries, ['lc25000'], prefix, data,
            '; --every-image lists every image found, sorted, instead (not '
            'the published order: tasks drawn by index pick other images)')
        if not published:
            note += '; all images found, sorted'
    lists = {'img_list': published['lc25000'] if published else entries}
    _check_names_say_folders(lists['img_list'], LC_CLASSES, data)
    notes = write_list_set(meta, lists, LC_CLASSES, data)
    return Prepared({'LC25000': len(lists['img_list'])},
                    [note] + notes + _skipped_note(skipped, data))


# -- PAIP19 -------------------------------------------------------------------

_PAIP_FOLDER_LABELS = {**{str(c): c for c in range(len(PAIP_CLASSES))},
                       **{cls: c for c, cls in enumerate(PAIP_CLASSES)}}
_PAIP_PATCH = re.compile(r'^(\d+)\+(\d+)\+(\d+)\.[^.]+$')


def _paip_class(name: str) -> Optional[int]:
    """Label of a PAIP19 patch file name ``<slide>_<cls>_<n>.<ext>``."""
    stem = os.path.splitext(name)[0]
    # longest names first: 'viable_tumor' is part of 'non_viable_tumor'
    for cls in sorted(PAIP_CLASSES, key=len, reverse=True):
        if re.search(rf'(^|_){cls}(_|$)', stem):
            return PAIP_CLASSES.index(cls)
    return None


def _paip_slide(data: str, slide: str,
                skipped: Optional[List[str]] = None) -> List[Entry]:
    """Patches of one slide folder, any accepted layout, sorted
    (``skipped``: as :func:`_images`)."""
    folder = os.path.join(data, slide)
    entries: List[Entry] = []
    for name in _images(folder, skipped):
        label = _paip_class(name)
        if label is None:
            raise InputError(f'{os.path.join(folder, name)}: no class name '
                             f'({", ".join(PAIP_CLASSES)}) in the file name')
        entries.append((f'{slide}/{name}', label))
    loose = list(entries)  # the <slide>_<cls>_<n> layout's
    held: Dict[int, str] = {}  # label -> the folder holding its patches
    for sub in _subfolders(folder):
        path = os.path.join(folder, sub)
        label = _PAIP_FOLDER_LABELS.get(sub)
        if label is None:
            raise InputError(
                f'{path}: unknown folder; a slide folder holds label folders '
                f'0, 1, 2 (or {", ".join(PAIP_CLASSES)})')
        names = _class_images(path, skipped)
        if names and label in held:
            # 0/ and normal/: both were listed, a patch in both twice
            raise InputError(
                f'{folder}: label folders {held[label]}/ and {sub}/ both '
                f'hold label {label} ({PAIP_CLASSES[label]}) (one set of '
                'patches under its two names?): keep one; nothing written')
        if names:
            held[label] = sub
        for name in names:
            m = _PAIP_PATCH.match(name)
            named = int(m.group(3)) if m else _paip_class(name)
            if named is not None and named != label:
                says = f'label {named}' if m else \
                    f'class {PAIP_CLASSES[named]} (label {named})'
                raise InputError(f'{os.path.join(path, name)}: the file name '
                                 f'says {says}, the folder {label}')
            entries.append((f'{slide}/{sub}/{name}', label))
    if loose and held:
        # both were listed: a patch copied into both layouts twice
        raise InputError(
            f'{folder}: patches in both layouts, {len(loose)} named by '
            f'class in it (first: {loose[0][0].split("/", 1)[1]}) and '
            f'{len(entries) - len(loose)} in label folders '
            f'({", ".join(f"{d}/" for d in held.values())}): two copies? '
            'keep one; nothing written')
    return slide_order(entries)


def _paip_test_slides(data: str, slides: List[str],
                      train_slides: Optional[int],
                      test_slides: Optional[Sequence[str]],
                      test_fraction: Optional[float], seed: int
                      ) -> Tuple[set, str]:
    """The test slides of the chosen rule, and the rule in words."""
    if test_slides is not None:
        missing = sorted(set(test_slides) - set(slides))
        if missing:
            raise InputError(f'{data}: test slide(s) {", ".join(missing)} '
                             'not found')
        return set(test_slides), f'test slides {", ".join(test_slides)}'
    if test_fraction is not None:
        n = min(len(slides) - 1, max(1, round(len(slides) * test_fraction)))
        rng = np.random.default_rng(seed)
        return (set(rng.choice(slides, n, replace=False).tolist()),
                f'{n} test slides drawn with seed {seed}')
    n = PAIP_TRAIN_SLIDES if train_slides is None else train_slides
    if n >= len(slides):
        raise InputError(
            f'{data}: {len(slides)} slide folders; the split trains on the '
            f'first {n} slide IDs in sorted order and tests on the others, '
            f'so it needs more than {n} (give --train-slides N with N < '
            f'{len(slides)}, --test-slides or --test-fraction)')
    return set(slides[n:]), (f'the first {n} of {len(slides)} slide IDs '
                             'in sorted order train, the others test')


def _draw_per_class_slide(entries: List[Entry], per: int,
                          rng) -> List[Entry]:
    """``per`` patches per (slide, class), drawn with replacement (the
    published lists' design), groups in sorted order."""
    groups: Dict[Tuple[str, int], List[Entry]] = {}
    for e in entries:
        groups.setdefault((e[0].split('/', 1)[0], e[1]), []).append(e)
    out: List[Entry] = []
    for key in sorted(groups):
        pool = groups[key]
        out += [pool[i] for i in rng.integers(0, len(pool), size=per)]
    return out


def prepare_paip19(root: str, train_slides: Optional[int] = None,
                   test_slides: Optional[Sequence[str]] = None,
                   test_fraction: Optional[float] = None,
                   seed: int = 0,
                   per_class_slide: Optional[int] = None) -> Prepared:
    """List files for PAIP19 patches, split into train and test by slide.

    The slide id is the first path component of every list entry, so
    slide-level evaluation can group patches. One split rule at most.
    Without one: the published lists when every patch they name is there
    (they hold 500 patches per class per slide, drawn with replacement, so
    some patches twice; other patches found are left out); when none is
    (patches cut anew) every patch found, split by the published rule (the
    first 15 slide IDs in sorted order train); some but not all: refused
    (an incomplete copy; ``train_slides=15`` takes every patch found).

    Args:
        root (str): the PAIP19 directory (``data/PAIP19``) whose ``data/``
            holds one folder per slide.
        train_slides (int, optional): every patch found; the first this
            many slide IDs in sorted order train, the others test
            (:data:`PAIP_TRAIN_SLIDES`, 15, is the published rule).
        test_slides (sequence[str], optional): slide ids for the test split.
        test_fraction (float, optional): this fraction of the slides (at
            least one) goes to test, drawn with ``seed``.
        seed (int): seed of that draw and of ``per_class_slide``'s
            (in [0, 2^63): :func:`~openselfsup.utils.check_seed`).
        per_class_slide (int, optional): instead of every patch found,
            this many per class per slide, drawn with replacement (the
            published lists' design: 500, so that every slide weighs the
            same in a class's pools; patches cut anew otherwise weigh each
            slide by its patch count).

    Returns:
        Prepared: patches per split and notes (the split used).
    """
    data, meta = os.path.join(root, 'data'), os.path.join(root, 'meta')
    rules = [r for r, v in (('--train-slides', train_slides),
                            ('--test-slides', test_slides),
                            ('--test-fraction', test_fraction))
             if v is not None]
    if len(rules) > 1:
        raise InputError(f'{" and ".join(rules)}: give one split rule')
    if train_slides is not None and train_slides < 1:
        raise InputError(f'--train-slides {train_slides}: must be at least 1')
    # a slide given twice (as every list flag refuses: check_distinct) was
    # named twice in the rule the note prints
    check_distinct('--test-slides', test_slides or ())
    if test_fraction is not None and not 0 < test_fraction < 1:
        raise InputError(f'--test-fraction {test_fraction}: must lie in '
                         '(0, 1)')
    check_seed(seed)
    if per_class_slide is not None and (
            not isinstance(per_class_slide, int) or per_class_slide < 1):
        raise InputError(f'--per-class-slide {per_class_slide}: must be at '
                         'least 1')
    check_writable_dir(meta)
    _check_data_folder(data)

    def holds_slides(folder: str) -> bool:  # >= 2 folders, not label ones
        subs = _subfolders(folder)
        return len(subs) >= 2 and not set(subs) <= set(_PAIP_FOLDER_LABELS)
    _check_not_nested(data, holds_slides, 'slide folders')
    _check_no_loose_images(data, 'slide')
    slides = _subfolders(data)
    if len(slides) < 2:
        raise InputError(f'{data}: need at least two slide folders for a '
                         f'train/test split, found {len(slides)}')
    found: List[Entry] = []
    skipped: List[str] = []
    for slide in slides:
        entries = _paip_slide(data, slide, skipped)
        if not entries:
            raise InputError(f'{os.path.join(data, slide)}: no patches in '
                             'this slide folder')
        found += entries
    explicit = any(v is not None for v in (train_slides, test_slides,
                                           test_fraction, per_class_slide))
    published, note = (None, None) if explicit else _published_lists(
        found, ['paip_train', 'paip_test'], '', data,
        f'; --train-slides {PAIP_TRAIN_SLIDES} splits every patch found by '
        'the published rule instead')
    if published:
        lists = {name: published[name] for name in ('paip_train',
                                                     'paip_test')}
        distinct = sum(len(set(v)) for v in lists.values())
        notes = [f'split: {note} (500 per class per slide, drawn with '
                 f'replacement: {distinct} distinct patches)']
    else:
        test, rule = _paip_test_slides(data, slides, train_slides,
                                       test_slides, test_fraction, seed)
        lists = {'paip_train': [], 'paip_test': []}
        for e in found:
            lists['paip_test' if e[0].split('/', 1)[0] in test
                  else 'paip_train'].append(e)
        notes = [f'split by slide: {rule}, every patch found'] + (
            [note] if note else [])
        if per_class_slide is not None:
            rng = np.random.default_rng(seed)
            lists = {k: _draw_per_class_slide(v, per_class_slide, rng)
                     for k, v in lists.items()}
            notes[0] = (f'split by slide: {rule}; {per_class_slide} patches '
                        'per class per slide, drawn with replacement (seed '
                        f'{seed}), as the published lists')
    notes += write_list_set(meta, lists, PAIP_CLASSES, data)
    notes += _skipped_note(skipped, data, 'slide and label')
    return Prepared({'PAIP19 train': len(lists['paip_train']),
                     'PAIP19 test': len(lists['paip_test'])}, notes)

