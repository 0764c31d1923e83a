"""Image-list datasets: one ``relative/path [label]`` per line.

This is the list-file format of the original OpenSelfSup-based code and of
the list files the converters and the synthetic generator write
(``data/NCT/meta/train_labeled.txt`` and friends; the format's reader and
writer live in :mod:`.list_files`). Every list is validated once, when the
dataset is built, so that a bad file stops the run with one line naming the
file, the line and the problem before any training starts.
"""
import logging
import os
from typing import Any, List, Optional, Sequence

from mmengine.logging import print_log
from mmpretrain.datasets import BaseDataset
from PIL import Image

from ..classes import (DOMAIN_CLASSES, NCT_CLASSES, held_out_words,
                       list_held_out, list_held_out_id,
                       unjudged_held_out_note)
from ..registry import DATASETS
from ..utils import InputError, first_line
from ..utils.once import Once
from .list_files import (REPLACE_IMAGE, CheckedIndices,  # noqa: F401
                         ListEntry, check_listed_files, kept_entries,
                         read_list_file)  # (ListEntry, REPLACE_IMAGE
# re-exported)
from .prepare import (check_list_releases, entry_nct_classes,
                      first_nct_entry, nct_list_said, own_folder)


class UnreadableImage(InputError):
    """An image a step drew and could not decode
    (:meth:`NamesUndecodableImages.prepare_data`), possibly hours into a
    run: a training run it stopped after saving a checkpoint adds that
    ``--resume`` continues it (:class:`~openselfsup.engine.runner.
    AtomicRunner`); a lambda sweep's run, that the sweep is run again
    without ``--resume`` once it is mended (:func:`~openselfsup.apis.
    balance_sweep._how_to_continue`)."""


class NamesUndecodableImages:
    """Base of a dataset of image files, before MMEngine's
    ``BaseDataset``: an item whose pipeline fails on an image that does
    not fully decode raises :class:`UnreadableImage` naming the file, its
    annotation file and :attr:`image_way_out` (a build-time check reads
    headers at most, so image data cut short fails while decoding, and a
    loader's traceback said only what PIL said, 'image file is
    truncated'); other errors pass unchanged."""

    #: what to do about the image, the end of the line
    image_way_out = REPLACE_IMAGE

    def prepare_data(self, idx: int):
        """Run the pipeline on item ``idx``; blame a corrupt image by
        name."""
        try:
            return super().prepare_data(idx)
        except InputError:
            raise
        except Exception as exc:
            path = self.get_data_info(idx).get('img_path')
            problem = _decode_problem(path) if path else None
            if problem is None:
                raise
            raise UnreadableImage(f'{path}: corrupt image, cannot decode '
                                  f'({problem}); listed in {self.ann_file}: '
                                  f'{self.image_way_out}') from exc


def check_images(root: str, entries: Sequence[ListEntry], list_path: str,
                 mode: str = 'header', indices: Any = None) -> None:
    """Check that the images a list names exist (and open).

    Args:
        root (str): directory the relative paths are relative to.
        entries: output of :func:`read_list_file`.
        list_path (str): the list file, for the error message.
        mode (str): ``'none'``, ``'exists'`` (file present and not
            empty) or ``'header'`` (that, and PIL can read the header of
            each image the dataset keeps).
        indices: the dataset's ``indices`` (MMEngine's: None, all; an int,
            the first or last N; a sequence, those): the headers read are
            those of the entries it keeps (:func:`kept_entries`), every
            listed file still looked for; all of them where an index lies
            beyond the list (refused where MMEngine applies them:
            :class:`~.list_files.CheckedIndices`). A run on 8 entries of
            a list of 548 read 548 headers (0.38 s of a 1.5 s build).

    Raises:
        InputError: naming the list file, the line and the image; files
            missing or empty, all counted in one line
            (:func:`~.list_files.check_listed_files`).
    """
    if mode == 'none':
        return
    if mode not in ('exists', 'header'):
        raise ValueError(f'check mode must be none|exists|header, got {mode}')
    # every file missing or empty counted in one line first (a stat per
    # entry: the training data check runs the same before the runner, and
    # a list it passed is not looked at again within the run's start)
    check_listed_files(root, entries, list_path)
    if mode != 'header':
        return
    numbered = list(enumerate(entries, 1))
    try:
        kept = kept_entries(numbered, indices)
    except IndexError:  # refused as MMEngine applies them
        kept = None
    for lineno, (rel, _) in numbered if kept is None else kept:
        full = os.path.join(root, rel)
        try:
            with Image.open(full) as im:
                im.size  # noqa: B018  (reads the header)
        except Exception as exc:  # PIL raises several types
            raise InputError(
                f'{list_path}: entry {lineno} names an unreadable image '
                f'{full} ({first_line(exc, with_type=True)}); '
                f'{REPLACE_IMAGE}') from None


def _decode_problem(path: str) -> Optional[str]:
    """None if PIL fully decodes ``path``, else a short reason."""
    try:
        with Image.open(path) as im:
            im.load()
    except Exception as exc:  # PIL raises several types
        return first_line(exc, with_type=True)
    return None


def check_label_folders(entries: Sequence[ListEntry],
                        classes: Optional[Sequence[str]],
                        list_path: str) -> None:
    """Refuse a labelled entry that lies in the folder of another class.

    The real layouts keep each class in a folder of its name (NCT
    ``BACK/BACK-....tif``, LC25000 ``colon_image_sets/colon_aca/...``): a
    list whose labels follow another class order (``ImageFolder``'s
    alphabetical ADI 0, BACK 1 for NCT, whose published order is BACK 0,
    ADI 1) would have every table name the wrong class. Entries whose
    folders name no class of ``classes`` (PAIP19's ``<slide>/<digit>/``)
    are not judged, nor are folders above the image's own (an absolute
    path under ``/mnt/TUM/``: every layout keeps an image directly in its
    class folder).

    Args:
        entries: output of :func:`read_list_file`.
        classes (sequence[str], optional): class names in label order;
            None or empty: nothing is checked.
        list_path (str): the list file, for the error message.

    Raises:
        InputError: naming the list file, the line, the label's class and
            the folder's.
    """
    if not classes:
        return
    index = {name: i for i, name in enumerate(classes)}
    for lineno, (rel, label) in enumerate(entries, 1):
        if label is None or label >= len(classes):
            continue
        folder = own_folder(rel)
        found = index.get(folder)
        if found is not None and found != label:
            # the converters write a known dataset's lists, not own ones
            tail = ('(the converters in tools/prepare_data write lists in '
                    'this order)') if tuple(classes) in \
                DOMAIN_CLASSES.values() else (
                '(the config\'s classes, label 0 first): number the list '
                'in that order, or give the classes in the list\'s order '
                'in the dataset\'s classes key (dataset.classes for '
                'extract.py, train_dataloader.dataset.classes for '
                'tools/train.py)')
            raise InputError(
                f'{list_path}: entry {lineno} ({rel}) is labelled '
                f'{label} ({classes[label]}) but lies in the folder of '
                f'class {folder} (label {found}); the list numbers the '
                f'classes in another order than {", ".join(classes)} '
                + tail)
    check_own_class_folders(entries, classes, list_path)


#: the class folders :func:`check_own_class_folders` names, the others
#: counted
_OWN_FOLDERS_NAMED = 9


def _ids_of_one_pattern(names) -> bool:
    """Whether every name of ``names`` is an id of one pattern: one prefix
    (none too) and a number, ``TCGA-01``, ``TCGA-02`` or ``3``, ``17``
    (:func:`check_own_class_folders` leaves such folders unjudged)."""
    stems = set()
    for name in names:
        stem = name.rstrip('0123456789')
        if stem == name:
            return False
        stems.add(stem)
    return len(stems) == 1


def check_own_class_folders(entries: Sequence[ListEntry],
                            classes: Sequence[str], list_path: str) -> None:
    """Refuse a labelled list laid out in class folders of its own, none
    of which is named as a class of ``classes`` (the config's), in any
    case: its labels would be read as those classes (review r198: a
    user's ``fat/``, ``tumour/``, ... extracted with
    ``configs/extraction/nct_train.py`` was written as NCT's ``ADI``,
    ``BACK``, ..., and as ``NCT_train`` of a workdir its 9 classes were
    scored as NCT's). The rest of :func:`check_label_folders`: where some
    folder is named as a class, that check reads the labels by it.

    A class layout is read where every entry is labelled and lies in a
    folder (:func:`~.prepare.own_folder`, the folder the image lies in
    directly: the one the order check reads), at least two folders in
    all, each holding one label and each label in one folder (labels
    onto folders one to one), no more folders than the config has
    classes. Not judged (review r204: the first two were refused, valid
    lists): folders named as ids of one pattern, a common prefix and a
    number (slides or patients, ``TCGA-01/``, ``TCGA-02/``, one label
    each; digits alone, PAIP19's ``<slide>/<label>/``); folders of which
    one is an NCT class folder (:data:`~openselfsup.classes.NCT_CLASSES`,
    case aside: NCT's own ``BACK/``, ``ADI/`` under display names such as
    ``background``, ``adipose`` in ``classes``); a folder holding several
    labels, or a label in several folders (a slide's, a flat
    ``images/``); bare file names.

    Raises:
        InputError: naming the list, its folders with their labels, the
            config's classes and the keys that name the list's classes.
    """
    folders: dict = {}
    for rel, label in entries:
        folder = own_folder(rel)
        if label is None or not folder or folder.isdigit():
            return
        folders.setdefault(folder, set()).add(label)
    if len(folders) < 2 or len(folders) > len(classes) or any(
            len(labels) > 1 for labels in folders.values()):
        return
    if len({min(labels) for labels in folders.values()}) < len(folders):
        return  # a label in several folders: not one folder a class
    if _ids_of_one_pattern(folders):
        return  # slide or patient ids (TCGA-01/, TCGA-02/, ...)
    wanted = {str(name).lower() for name in classes} | {
        name.lower() for name in NCT_CLASSES}  # NCT's folders, any names
    if any(folder.lower() in wanted for folder in folders):
        return
    order = sorted(folders, key=lambda f: (min(folders[f]), f))
    shown = ', '.join(f'{f}/ ({min(folders[f])})'
                      for f in order[:_OWN_FOLDERS_NAMED])
    more = len(order) - _OWN_FOLDERS_NAMED
    if more > 0:
        shown += f' and {more} more'
    # the value to give, where each label 0..K-1 has one folder
    by_label = {min(folders[f]): f for f in order}
    value = ''
    if sorted(by_label) == list(range(len(order))):
        names = ','.join(by_label[i] for i in range(len(order)))
        value = (f" (extract.py: --cfg-options 'dataset.classes=[{names}]' "
                 f'dataset.num_classes={len(order)})')
    raise InputError(
        f'{list_path}: every entry lies in a class folder of its own, '
        f'{shown}, and none is named as a class the config lists '
        f'({", ".join(map(str, classes))}; case aside): its labels would '
        'be read as those classes; give the list\'s classes, label 0 '
        'first, in the dataset\'s classes key and their count in '
        f'num_classes{value}, and write features of your own classes to '
        'an --output outside a workdir\'s extracted_feats/ '
        '(docs/own_data.md)')


#: the lists :func:`check_held_out_folders` warned of (once a process)
_UNJUDGED_SAID = Once()


def check_held_out_folders(entries: Sequence[ListEntry], list_path: str,
                           root: Optional[str] = None) -> None:
    """Refuse an entry of a list of NCT images named for the NCT classes
    it leaves out (``wo_7_train.txt``:
    :func:`~openselfsup.classes.list_held_out`) that is an image of such a
    class.

    Every later check reads the name alone (the resume check, extraction's
    ``<model>_wo_<c>`` folder check, the meta-test pairing ``fsp_wo_0``
    with novel class 0), so a list that kept the class (numbered in
    another order, ImageFolder's ADI 0, BACK 1, and written without label
    0: ADI left out, BACK kept) had its encoder scored on a novel class it
    was trained on. A list is judged where it holds NCT images, by the
    rule extraction's check judges a list by
    (:func:`~.prepare.first_nct_entry`), each under its data prefix
    (``root`` here; extraction, the prefix the checkpoint records:
    :func:`~.prepare.nct_list_reader`, so a list whose NCT release folder
    is the data prefix's, ``LYM/0001.png`` under
    ``.../NCT-CRC-HE-100K-NONORM``, is NCT's to both; the resume and
    initial-weights checks still read the list alone, without it, a known
    limit); then each of its entries is of
    the classes its folder or its file name names
    (:func:`~.prepare.entry_nct_classes`: ``nct/tum/TUM-AAAWMSFI.tif``,
    and in such a list ``NCT/TUM/0001.png`` or ``x/TUM-1.png``, are TUM's;
    review r105: the folder was read alone, and in its own case, so the
    first passed for ``wo_8``). The
    labels are not judged (the classifier head is dropped: a list
    relabelled after the class is taken out trains the same backbone),
    nor are folders that name no NCT class. A list of no NCT image (a
    user's own ``mine/TUM/`` beside ``mine/normal/``, LC25000's) is not
    judged under any ``wo_<c>`` name, as
    :func:`~openselfsup.apis.extract.check_held_out` judges no encoder
    trained on such lists alone (its ``mine/TUM/`` was refused for
    ``wo_8`` and passed for ``wo_9``), and the initial-weights and resume
    checks judge no such list (:func:`~openselfsup.config.
    nct_train_lists`). So a list of NCT images renamed in
    folders of the user's naming (``NCT/ADI/0001.png``; in an NCT
    release's folder, ``NCT-CRC-HE-100K-NONORM/ADI/0001.png``, they are
    NCT's) beside an entry of the user's own is not judged either: by
    their paths they are the user's own class folders that share an NCT
    class's name, which must pass (review r104), and no sound rule tells
    them apart (a folder above them says nothing: a user's per-slide
    folders hold some slides of one class only, ``mine/slide2/TUM/``).
    ``root``: the folder the entries are relative to (ImageList's data
    prefix), where an entry's folders are read as its image is opened
    (:func:`~.prepare.entry_parts`: the NCT release folder may be the
    data root's, ``LYM/0001.png`` under ``.../NCT-CRC-HE-100K-NONORM``,
    review r109); None: the entries alone.

    Raises:
        InputError: naming the list file, what its name leaves out, the
            line and the folder, and the entry that makes the list NCT's.
    """
    held = list_held_out(list_path)
    said = list_held_out_id(list_path)
    # wo_LYM: a class name where the checks read a number, not judged
    note = unjudged_held_out_note(list_path) if held is None else None
    if note and _UNJUDGED_SAID(os.path.realpath(list_path)):
        print_log(note, logger='current', level=logging.WARNING)
    if held is None and said is not None:
        # wo_9, wo_87: a name of the held-out convention that names no NCT
        # class; every check then let the list by unjudged (a typo for
        # wo_8 that kept TUM was scored on TUM as novel). Refused where
        # the list holds NCT images (LC25000's, PAIP19's are not judged)
        lineno = first_nct_entry(entries, root)
        if lineno is not None:
            raise InputError(
                f'{list_path}: its name says wo_{said}, which names no '
                'NCT class to leave out (wo_0 .. wo_8 in the published '
                'order BACK 0, ADI 1, ... TUM 8, or wo_78), but '
                f'{nct_list_said(entries, lineno)}; '
                'every check and the meta-test read a held-out class from '
                'the name: name it for the classes it leaves out, or '
                'without wo_')
        return
    first = first_nct_entry(entries, root) if held else None
    if first is None:
        return  # none left out, or no NCT image: not judged
    names = {NCT_CLASSES[i] for i in held}
    for lineno, (rel, _) in enumerate(entries, 1):
        folder, named = entry_nct_classes(rel, root)
        where = (f'lies in the folder of {folder}' if folder in names else
                 f'is named as an image of {named}' if named in names
                 else None)
        if where:
            # the entry that makes the list NCT's (review r109: a user's
            # own mine/TUM/a.png was refused without it)
            nct = 'this entry is one' if lineno == first else \
                nct_list_said(entries, first, 'one')
            raise InputError(
                f'{list_path}: its name says it {held_out_words(held)}, but '
                f'entry {lineno} ({rel}) {where}, in a list of NCT images '
                f'({nct}); '
                'every check and the meta-test read a held-out class from '
                'the name, in the published order (BACK 0, ADI 1, ... TUM '
                '8; the converters in tools/prepare_data write wo_<c> '
                'lists so): write the list without those images, or name '
                'it for the classes it leaves out')


@DATASETS.register_module()
class ImageList(CheckedIndices, NamesUndecodableImages, BaseDataset):
    """A dataset of images named by a list file, with optional labels.

    Args:
        ann_file (str): the list file (``relative/path [label]`` per line).
        data_root (str): prefix for ``ann_file`` and ``data_prefix``.
        data_prefix (str): directory the list's relative paths start from.
        num_classes (int, optional): validate labels against this range.
        classes (sequence[str], optional): class names (metainfo).
        require_labels (bool): fail on a line without label (supervised
            training and extraction of labelled sets). Defaults to False.
        check (str): image check at build time: ``'none'``, ``'exists'`` or
            ``'header'``. Defaults to ``'header'``. Unless ``'none'``, an
            NCT class folder linked to another NCT release's images than
            the one its entries are written as is refused too
            (:func:`~.prepare.check_list_releases`).
        **kwargs: passed to :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode``, ``indices``...).

    Unlabelled lines get ``gt_label = -1``.
    """

    #: the pipeline is built by mmpretrain's ``BaseDataset``, through
    #: mmpretrain's transform registry in the run's default scope
    #: (``config.REGISTRY_BUILT``: what the scope check follows)
    REGISTRY_BUILT = {'pipeline': 'mmpretrain'}

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix: str = '',
                 num_classes: Optional[int] = None,
                 classes: Optional[Sequence[str]] = None,
                 require_labels: bool = False,
                 check: str = 'header',
                 **kwargs):
        self.num_classes = num_classes
        self.require_labels = require_labels
        self.check = check
        metainfo = kwargs.pop('metainfo', None)
        if classes is not None:
            metainfo = dict(metainfo or {}, classes=tuple(classes))
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            metainfo=metainfo,
            **kwargs)

    def load_data_list(self) -> List[dict]:
        entries = read_list_file(self.ann_file, self.num_classes,
                                 self.require_labels)
        check_label_folders(entries, self.metainfo.get('classes'),
                            self.ann_file)
        root = self.img_prefix
        check_held_out_folders(entries, self.ann_file, root)
        check_images(root, entries, self.ann_file, self.check,
                     self._indices)
        if self.check != 'none':  # the folders, as prepare_nct.py did
            check_list_releases(root, entries, self.ann_file)
        return [
            dict(img_path=os.path.join(root, rel),
                 gt_label=-1 if label is None else label)
            for rel, label in entries
        ]
