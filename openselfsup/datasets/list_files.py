"""The list-file format (reader and writer) and the lists every domain gets.

A list file has one ``relative/path [label]`` per line, paths relative to
``<domain>/data``; ``<name>.txt`` holds the paths, ``<name>_labeled.txt``
the same paths with their labels. This is the format of the published
code's ``data/<DOMAIN>/meta`` files. Whitespace separates the fields, so a
path with whitespace in it cannot be written: :func:`write_list_set`
refuses it (naming the file) before it writes anything.

Shared by the synthetic generator (:mod:`.synthetic.layouts`) and the
real-data converters (:mod:`.prepare`), so both write exactly the same
files:

- for NCT, ``train``, ``test`` and ``wo_<c>_train`` for each held-out
  variant in :data:`NCT_HELD_OUT` (original labels kept);
- LC25000 ``img_list``; PAIP19 ``paip_train`` and ``paip_test``;
- ``classes.txt``, the class names in label order;
- ``lists.json`` (:data:`LISTS_RECORD`), the files written and their
  digests: a file of a list's name that it does not record (a hand-made
  ``train.txt``) is not replaced.

The reader reads plain or gzip-compressed (``.gz``) lists, with ``\\n`` or
``\\r\\n`` line ends (the published NCT training list has the latter).
"""
import gzip
import hashlib
import os
import posixpath
import re
import stat
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

from ..classes import (LC_CLASSES, NCT_CLASSES, NCT_HELD_OUT,  # noqa: F401
                       PAIP_CLASSES)
from ..utils import (InputError, check_replaceable, file_sha1,
                     is_index_sequence, json_object_or_none, read_once,
                     save_set, with_missing_note)
from ..utils.fingerprint import file_digest_kept, read_digested

#: the record :func:`write_list_set` keeps in a meta folder: the files it
#: wrote there and their digests (the lists it may replace)
LISTS_RECORD = 'lists.json'

#: the folder NCT-CRC-HE-100K-NONORM.zip extracts to; the published lists
#: name its images ``<CLS>/<file>`` (the folder itself as ``data/``)
NONORM = 'NCT-CRC-HE-100K-NONORM'

Entry = Tuple[str, int]
ListEntry = Tuple[str, Optional[int]]

_FORMAT = '"relative/path [label]" per line'

#: a character ``str.isspace`` holds true (the ``re`` module's ``\s`` in a
#: str pattern is that same Unicode test), found by one scan of the path:
#: a generator of ``isspace`` per character made the conversion of the
#: published trees' 183,000 paths take seconds
_WHITESPACE = re.compile(r'\s')


def _parse_line(raw: str, where: str, num_classes: Optional[int],
                require_labels: bool) -> Optional[ListEntry]:
    """One line -> ``(path, label | None)``; None for a blank line."""
    parts = raw.split()
    if not parts:
        return None
    if len(parts) > 2:
        raise InputError(f'{where}: expected {_FORMAT}, got {len(parts)} '
                         'fields (a path with a space in it cannot be listed)')
    if len(parts) == 1:
        if require_labels:
            raise InputError(f'{where}: line has no label, but this dataset '
                             'needs labels')
        return parts[0], None
    try:
        label = int(parts[1])
    except ValueError:
        raise InputError(
            f'{where}: second field {parts[1]!r} is not an integer label '
            f'(expected {_FORMAT}; a path with a space in it cannot be '
            'listed)') from None
    if label < 0 or (num_classes is not None and label >= num_classes):
        bound = (f'[0, {num_classes})' if num_classes is not None
                 else 'non-negative')
        raise InputError(f'{where}: label {label} is outside the class '
                         f'range {bound}')
    return parts[0], label


def read_list_file(path: str,
                   num_classes: Optional[int] = None,
                   require_labels: bool = False) -> List[ListEntry]:
    """Parse a list file into ``(relative_path, label_or_None)`` pairs.

    Of a list whose fingerprint a training run will ask
    (:func:`~openselfsup.utils.fingerprint.want_digests`), the entries'
    fingerprint (:func:`entries_sha1`) is kept with the version of the
    file they were read from
    (:func:`~openselfsup.utils.fingerprint.read_digested`):
    :func:`list_entries_sha1` gives it without parsing the file again
    while the file is unchanged. Other lists are not digested: the digest
    adds about a quarter to a read (0.04-0.06 s to 0.18-0.25 s for
    100,000 lines, measured on two shared CPU cores at load 8).

    Args:
        path (str): the list file (``.gz``: gzip-compressed).
        num_classes (int, optional): if given, every label must lie in
            ``[0, num_classes)``.
        require_labels (bool): if True, every line must carry a label.

    Returns:
        list[tuple[str, int | None]]: one entry per non-blank line.

    Raises:
        InputError: missing, empty, binary (not UTF-8 text) or unreadable
            file, a malformed line, a label that is not an integer or is out
            of range, or lines with and without labels mixed.
    """
    return read_digested(
        path, lambda p: _read_entries(p, num_classes, require_labels),
        _list_file_sha1, entries_sha1)


def _read_entries(path: str, num_classes: Optional[int] = None,
                  require_labels: bool = False) -> List[ListEntry]:
    """:func:`read_list_file`'s parse, without a digest kept."""
    if os.path.isdir(path):  # was "list file not found"
        raise InputError(f'{path}: is a folder, not a list file')
    from .synthetic.ownership import check_finished, unfinished_not_found
    if not os.path.isfile(path):
        line = f'{path}: list file not found'
        # in a generator's folder, stopped while writing: said so
        raise InputError(unfinished_not_found(line, path) or
                         with_missing_note(line, path))
    check_finished(path)  # there, but its folder not marked done
    entries: List[ListEntry] = []
    try:
        opener = gzip.open if path.endswith('.gz') else open
        with opener(path, 'rt', encoding='utf-8') as f:
            for lineno, raw in enumerate(f, 1):
                if '\x00' in raw:
                    raise InputError(f'{path}: not a text list file (binary '
                                     f'data on line {lineno})')
                entry = _parse_line(raw, f'{path}:{lineno}', num_classes,
                                    require_labels)
                if entry is not None:
                    entries.append(entry)
    except UnicodeDecodeError:
        raise InputError(f'{path}: not a text list file (it holds bytes that '
                         'are not UTF-8 text)') from None
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise InputError(f'{path}: cannot read the list file '
                         f'({type(exc).__name__}: {exc})') from None
    if not entries:
        raise InputError(f'{path}: list file is empty')
    has_label = {label is not None for _, label in entries}
    if len(has_label) > 1:
        raise InputError(f'{path}: some lines have labels and some do not')
    return entries


def list_line(path: str, label: Optional[int] = None) -> str:
    """One entry of a list file as :func:`write_list_set` writes it:
    ``'path label\\n'``, or ``'path\\n'`` without a label."""
    return f'{path}\n' if label is None else f'{path} {label}\n'


def entries_sha1(entries: Sequence[ListEntry]) -> Tuple[int, str]:
    """The fingerprint of a list's ``entries`` (:func:`read_list_file`'s):
    their count and the hex SHA-1 of them written one a line
    (:func:`list_line`; of a list :func:`write_list_set` wrote, the SHA-1
    of its bytes)."""
    digest = hashlib.sha1()
    for rel, label in entries:
        digest.update(list_line(rel, label).encode('utf-8'))
    return len(entries), digest.hexdigest()


def list_entries_sha1(path: str) -> Tuple[int, str]:
    """A list file's fingerprint, of what the datasets read of it: its
    entries, as :func:`read_list_file` reads them (a ``.gz`` list
    decompressed, any line end, blank lines skipped), and the hex SHA-1
    of them (:func:`entries_sha1`). The same
    entries give the same fingerprint whatever the file's bytes: the
    list gzipped again (another gzip time stamp), its line ends or its
    blank lines changed. What a checkpoint records of its training
    lists (``engine.runner.data_file_changes`` compares them).

    The fingerprint kept of the file (by :func:`read_list_file`, the
    dataset's read when the run was built, or an earlier call), where it
    is still that version
    (:func:`~openselfsup.utils.fingerprint.file_digest_kept`: the same
    device, inode, size and times, and none kept of a file changed less
    than ``RECENT_NS`` before, which a same-size rewrite within the file
    system's clock granularity could hide); otherwise the file is parsed.

    Raises:
        InputError: as :func:`read_list_file`.
    """
    return file_digest_kept(path, _list_file_sha1)


def _list_file_sha1(path: str) -> Tuple[int, str]:
    """:func:`entries_sha1` of the list file ``path``, parsed now (what
    :func:`list_entries_sha1` keeps)."""
    return entries_sha1(_read_entries(path))


def check_list_indices(indices: Any, samples: int, path: str,
                       where: str = '') -> None:
    """Refuse a dataset's sequence of ``indices`` (a list, a tuple, a
    ``range``) that names a sample the list file ``path`` (of ``samples``
    samples) does not have: MMEngine's BaseDataset takes each as a Python
    list index (from the end when negative), an IndexError when the
    dataset was built. An int (the first or last N: all of them where
    there are fewer), None and other types are not checked here.

    Args:
        where (str): the config key, for the message (e.g. ``' (train_
            dataloader.dataset.indices in cfg.py)'``).

    Raises:
        InputError: naming the first such index, the list and its size.
    """
    if not is_index_sequence(indices):
        return
    for index in indices:
        if isinstance(index, int) and not -samples <= index < samples:
            raise InputError(
                f'{path}: indices holds {index}, but the list has '
                f'{samples} sample(s){where}; an index runs from 0 to '
                f'{samples - 1} (-{samples} to -1 from the end)')


def kept_entries(entries: Sequence, indices: Any) -> Optional[list]:
    """The ``entries`` of a list (:func:`read_list_file`'s) that a dataset
    of ``indices`` keeps, as MMEngine's BaseDataset takes them: None, all
    of them; an int, the first N (a negative one: the last -N); a sequence
    (a range too), those it lists (run :func:`check_list_indices` first).
    None for another type (``apis.train.check_indices`` refuses it)."""
    if indices is None:
        return list(entries)
    if isinstance(indices, int):
        return list(entries[:indices] if indices >= 0 else
                    entries[indices:])
    if is_index_sequence(indices):
        return [entries[i] for i in indices]
    return None


def empty_indices(indices: Any, samples: int, path: str,
                  where: str = '') -> InputError:
    """The refusal of ``indices`` that keep none of the ``samples`` of
    ``path`` (``0``, ``[]``, ``range(0)``): an empty dataset, which
    MMEngine's BaseDataset fails to serialize ("need at least one array to
    concatenate") when the dataset is built."""
    return InputError(
        f'{path}: indices={indices!r} keeps none of its {samples} '
        f'sample(s){where}: an empty dataset (indices=None keeps them all)')


class CheckedIndices:
    """Base of the project's datasets, before MMEngine's ``BaseDataset``
    (``class ImageList(CheckedIndices, BaseDataset)``): a dataset's
    ``indices`` checked where MMEngine applies them to the data list
    (``full_init``, ``get_subset`` of an unserialized one), in one line:
    an index beyond the list (:func:`check_list_indices`; MMEngine's
    IndexError), and indices that keep no sample where the data is
    serialized (:func:`empty_indices`; MMEngine's "need at least one array
    to concatenate"). An empty unserialized dataset (``serialize_data=
    False``) MMEngine builds; training on it is refused where the run
    counts its steps (``apis.train.check_steps``)."""

    def indices_source(self) -> str:
        """What the refusals name: the annotation file, or the class."""
        return getattr(self, 'ann_file', '') or type(self).__name__

    def _get_unserialized_subset(self, indices):
        samples = len(self.data_list)
        check_list_indices(indices, samples, self.indices_source())
        subset = super()._get_unserialized_subset(indices)
        if not subset and samples and self.serialize_data:
            raise empty_indices(indices, samples, self.indices_source())
        return subset


#: the way out of an image of a list that does not open or decode, or is
#: empty (:func:`check_listed_files`; ``image_list.check_images``,
#: ``NamesUndecodableImages.prepare_data``); how a training run it stopped
#: continues is the runner's to say (``image_list.UnreadableImage``): at
#: the build no run has started, and extraction has no ``--resume``
REPLACE_IMAGE = ('replace it with a readable copy, or take its line out of '
                 'the list')

#: the way out of several listed images missing or empty
_RESTORE_IMAGES = ('restore those files, or take their lines out of the '
                   'list')

#: the folders a summary of :func:`check_listed_files` names, the others
#: counted
_FOLDERS_NAMED = 3


def listed_file_problems(root: str, entries: Sequence[ListEntry]
                         ) -> Tuple[List[Tuple[int, str]],
                                    List[Tuple[int, str]]]:
    """The entries of a list (:func:`read_list_file`'s) whose image files,
    joined to ``root`` (the folder the dataset joins them to), are missing
    (no regular file there: none, a folder, a broken link, a folder on the
    way that cannot be searched) or empty (0 bytes, which no image
    format is): ``(missing, empty)``, each ``[(entry number from 1, the
    joined path)]``. One ``os.stat`` per entry, no file opened: 1.5 to
    2.0 s per 100,000 entries (5 runs, files on /dev/shm, 2 shared cores
    at load 13, 2026-12-07), as long as the ``os.path.isfile`` per entry
    it replaced in the image check took there."""
    missing, empty = [], []
    for lineno, (rel, _) in enumerate(entries, 1):
        full = os.path.join(root, rel)
        try:
            st = os.stat(full)
        except (OSError, ValueError):  # ValueError: a NUL in the path
            missing.append((lineno, full))
            continue
        if not stat.S_ISREG(st.st_mode):
            missing.append((lineno, full))
        elif st.st_size == 0:
            empty.append((lineno, full))
    return missing, empty


def _folders_words(found: Sequence[Tuple[int, str]]) -> str:
    """Where the files of ``found`` (several) lie: ``all in F/`` (with
    ``, a folder not found`` where it is missing), or ``in N folders: F/
    (k), ...`` (the :data:`_FOLDERS_NAMED` holding most, then the count
    of the others), a folder with a slash, as given."""
    counts: Dict[str, int] = {}
    for _, full in found:
        folder = os.path.dirname(full)
        counts[folder] = counts.get(folder, 0) + 1

    def named(folder: str) -> str:
        shown = os.path.join(folder, '') if folder else './'
        return shown if not folder or os.path.isdir(folder) else \
            f'{shown}, a folder not found'
    if len(counts) == 1:
        return f'all in {named(next(iter(counts)))}'
    top = sorted(counts, key=lambda f: (-counts[f], f))
    words = ', '.join(f'{named(f)} ({counts[f]})'
                      for f in top[:_FOLDERS_NAMED])
    more = len(top) - _FOLDERS_NAMED
    return f'in {len(top)} folders: {words}' + (
        f' and {more} more folder(s)' if more > 0 else '')


def check_listed_files(root: str, entries: Sequence[ListEntry],
                       list_path: str) -> None:
    """Refuse a list any of whose image files is missing or empty
    (:func:`listed_file_problems`), all of them counted in one line: a
    class folder left out of a copy named its first image alone, and the
    user mended one problem per run. The check of every ``ImageList`` when
    built whose image check is not ``'none'`` (``image_list.
    check_images``), and of the training data before the runner is built
    (``apis.train.check_dataset_paths``), without torch.

    Within a :func:`~openselfsup.utils.reading_once` scope (a training
    run's start, up to its training set's build), a list that passed is
    not checked again under the same ``root`` while its file is the same,
    unchanged one (:func:`~openselfsup.utils.read_once`, of its entries'
    count too): the training list was checked by the early check and
    again by its dataset's build, a stat per image each (1.5 to 2.0 s per
    100,000 entries). A list that fails is checked again by the next
    caller (the same line); a dataset built outside such a scope (the
    extraction, a test, a run's validation set, built after the start)
    checks its list when built.

    Args:
        root (str): the folder the entries are joined to (ImageList's
            image prefix).
        entries: output of :func:`read_list_file`.
        list_path (str): the list file, for the line.

    Raises:
        InputError: one missing image alone: ``<list>: entry N names a
            missing image <file>``; one empty alone, the same with the
            way out; else the count of each kind, where they lie, the
            first of each, and the way out.
    """
    read_once(f'listed files under {os.path.abspath(root)}, '
              f'{len(entries)} entries', list_path,
              lambda path: _check_listed_files(root, entries, path))


def _check_listed_files(root: str, entries: Sequence[ListEntry],
                        list_path: str) -> None:
    """:func:`check_listed_files`, each file looked at now."""
    missing, empty = listed_file_problems(root, entries)
    if not missing and not empty:
        return
    if len(missing) + len(empty) == 1:
        if missing:
            (lineno, full), = missing
            raise InputError(f'{list_path}: entry {lineno} names a missing '
                             f'image {full}')
        (lineno, full), = empty
        raise InputError(f'{list_path}: entry {lineno} names an empty '
                         f'image {full} (0 bytes); {REPLACE_IMAGE}')
    total = f'{len(missing) + len(empty)} of its {len(entries)} entries'
    if not empty or not missing:  # one kind
        found, kind = (missing, 'missing') if missing else (empty, 'empty')
        lineno, full = found[0]
        raise InputError(
            f'{list_path}: {total} name {kind} images, '
            f'{_folders_words(found)} (first: entry {lineno}, {full}); '
            f'{_RESTORE_IMAGES}')
    parts = []
    for found, kind in ((missing, 'missing'), (empty, 'empty')):
        lineno, full = found[0]
        parts.append(
            f'1 {kind} (entry {lineno}, {full})' if len(found) == 1 else
            f'{len(found)} {kind}, {_folders_words(found)} (first: entry '
            f'{lineno}, {full})')
    raise InputError(
        f'{list_path}: {total} name missing or empty images: '
        f'{"; ".join(parts)}; {_RESTORE_IMAGES}')


def check_list_paths(paths: Iterable[str], data_dir: str) -> None:
    """Refuse paths a list file cannot hold (whitespace, not UTF-8).

    Args:
        paths: relative paths, as they would be written.
        data_dir (str): what they are relative to (for the message).

    Raises:
        InputError: naming the first such file.
    """
    for rel in paths:
        problem = None
        if _WHITESPACE.search(rel):
            problem = 'has whitespace in its path'
        else:
            try:
                rel.encode('utf-8')
            except UnicodeEncodeError:
                problem = 'has a name that is not UTF-8'
        if problem:
            raise InputError(
                f'{os.path.join(data_dir, rel)!r} {problem}, which a list '
                f'file ({_FORMAT}) cannot hold; rename it (nothing written)')


def _check_one_file_per_image(lists: Dict[str, List[Entry]],
                              data_dir: str) -> None:
    """Refuse two files of one folder and one name but the extension
    (``ADI-A.png`` and ``ADI-A.tif``) in a set of lists: one image in two
    formats, listed twice (in one list, or once in train and once in
    test)."""
    seen: Dict[Tuple[str, str], str] = {}
    for rel in sorted({p for entries in lists.values() for p, _ in entries}):
        folder, name = posixpath.split(rel.replace('\\', '/'))
        key = (folder, os.path.splitext(name)[0])
        if key in seen:
            raise InputError(
                f'{os.path.join(data_dir, folder)}: {seen[key]} and {name} '
                'have one name but the extension (one image in two '
                'formats?) and would both be listed; keep one (nothing '
                'written)')
        seen[key] = name


def _check_one_path_per_file(lists: Dict[str, List[Entry]],
                             data_dir: str) -> List[str]:
    """Refuse two listed paths that reach one file through a symbolic link
    (a slide or class folder linked to another, ``01_01_0009 ->
    01_01_0000``): one image listed twice, maybe once in train and once in
    test. A path listed twice (the published PAIP19 lists' draws) is not
    judged here; nor two file links to one target outside the lists (a
    git-annex or DataLad copy links every file into its object store,
    byte-identical images to one object). A file link whose own target is
    a listed path (``a.png -> b.png``, ``b.png`` a link into the store) is
    judged. Hard links (one file under two listed paths that reach it by
    two of its names: two hard links, or a file link to a hard link of
    another listed file) are not refused, for the same reason as the
    object store's links (a DVC cache of ``cache.type hardlink``,
    ``rdfind`` or ``jdupes -L`` link byte-identical images), but said: a
    slide folder copied with ``cp -al`` is one set of patches under two
    slide IDs. One ``lstat`` per file and a ``stat`` per file link, the
    folders resolved once each.

    Returns:
        list[str]: a note on the hard links among the listed paths (how
        many paths, the first two and the lists they are in), or none.
    """
    def holding(*paths: str) -> str:
        return ' and '.join(n for n, e in lists.items()
                            if any(p in paths for p, _ in e))

    def refuse(first: str, rel: str) -> None:
        raise InputError(
            f'{os.path.join(data_dir, first)} and '
            f'{os.path.join(data_dir, rel)} are one file (through a '
            'symbolic link), which would be listed twice (in '
            f'{holding(first, rel)}); keep one (nothing written)')

    listed = {os.path.normpath(os.path.join(data_dir, rel)): rel
              for entries in lists.values() for rel, _ in entries}
    folders: Dict[str, str] = {}
    seen: Dict[str, Tuple[str, bool]] = {}  # real -> (listed, a link)
    inodes: Dict[Tuple[int, int], List[str]] = {}  # hard-linked files
    done = set()
    for entries in lists.values():
        for rel, _ in entries:
            if rel in done:
                continue
            done.add(rel)
            path = os.path.join(data_dir, rel)
            try:
                st = os.lstat(path)
            except OSError:  # not there: not judged here
                st = None
            link = st is not None and stat.S_ISLNK(st.st_mode)
            if link:
                real = os.path.realpath(path)
                hop = listed.get(os.path.normpath(os.path.join(
                    os.path.dirname(path), os.readlink(path))))
                if hop is not None and hop != rel:
                    refuse(hop, rel)
                try:  # the target's links count: a link to a hard link
                    st = os.stat(path)
                except OSError:
                    st = None
            else:
                folder, base = os.path.split(path)
                if folder not in folders:
                    folders[folder] = os.path.realpath(folder)
                real = os.path.join(folders[folder], base)
            if st is not None and st.st_nlink > 1:
                inodes.setdefault((st.st_dev, st.st_ino), []).append(
                    (rel, real))
            first, first_link = seen.setdefault(real, (rel, link))
            if first != rel and not (link and first_link):
                refuse(first, rel)
    # one file under two names (two links to one name: the store's object)
    shared = [[rel for rel, _ in group] for group in inodes.values()
              if len({real for _, real in group}) > 1]
    if not shared:
        return []
    where: Dict[str, str] = {}  # path -> the first list holding it
    for name, entries in lists.items():
        for rel, _ in entries:
            where.setdefault(rel, name)
    across = [g for g in shared if len({where[p] for p in g}) > 1]
    a, b = (across or shared)[0][:2]
    return [f'{sum(map(len, shared))} listed paths are hard links to '
            f'{len(shared)} file(s), {len(across)} of them in two lists '
            f'(first: {a} in {where[a]}, {b} in {where[b]}): byte-identical '
            'images linked by a deduplicating store, or a folder copied '
            'with cp -al? listed as found']


def slide_order(entries: Iterable[Entry]) -> List[Entry]:
    """Sort by slide (first path component), then label, then path."""
    return sorted(entries, key=lambda e: (e[0].split('/', 1)[0], e[1], e[0]))


def nct_lists(train: List[Entry], test: List[Entry]) -> Dict[str, List[Entry]]:
    """Every NCT list: ``train``, ``test`` and ``wo_<c>_train`` (labels kept).

    Args:
        train (list[tuple[str, int]]): training entries, in list order.
        test (list[tuple[str, int]]): test entries.
    """
    lists = {'train': train, 'test': test}
    for name, dropped in NCT_HELD_OUT.items():
        lists[f'{name}_train'] = [e for e in train if e[1] not in dropped]
    return lists


def _check_lists_replaceable(meta: str, files: Dict[str, str]) -> dict:
    """Refuse to write the list set ``files`` (path -> text) over a file
    of one of its names that :data:`LISTS_RECORD` does not record as
    written here, as it is now, and whose text differs from the new one
    (line ends aside: a copy of the published lists is no loss): a
    hand-made or hand-edited ``train.txt`` was replaced without a word.
    A symbolic link is not judged (the write replaces the link, not its
    target), nor a folder (refused where the set is written).

    Returns:
        dict: the record's entries (file name -> SHA-1), {} if none.

    Raises:
        InputError: naming the first such file, or one that cannot be
            read; or a ``lists.json`` that is not such a record.
    """
    record = os.path.join(meta, LISTS_RECORD)
    check_replaceable(record, ('files', ), 'the record of the lists '
                      'written here', flag='--root')
    recorded = {}
    if os.path.isfile(record) and not os.path.islink(record):
        # the record's (check_replaceable refused any other file there)
        recorded = json_object_or_none(record)['files']
    if not isinstance(recorded, dict):  # {"files": [...]}: names nothing
        recorded = {}
    for path, text in files.items():
        if not os.path.isfile(path) or os.path.islink(path):
            continue
        try:
            if recorded.get(os.path.basename(path)) == file_sha1(path):
                continue
            with open(path, 'rb') as f:
                old = f.read().replace(b'\r\n', b'\n')
        except OSError as exc:  # not judged, so not replaced
            raise InputError(
                f'{path}: exists and cannot be read ({exc.strerror or exc}) '
                'to tell whether it is a list written here; move it away '
                'or delete it first (nothing written)') from None
        if old != text.encode('utf-8'):
            raise InputError(
                f'{path}: exists and is not a list written here (not as '
                f'{LISTS_RECORD} records it: made or edited by hand, or '
                'written before the converters kept that record?); '
                'move it away or delete it first (nothing written)')
    return recorded


def write_list_set(meta: str, lists: Dict[str, List[Entry]],
                   classes: Sequence[str], data_dir: str,
                   release: Optional[Dict[str, str]] = None) -> List[str]:
    """Check every list of one domain, then write them and ``classes.txt``.

    Writes ``<meta>/<name>.txt`` and ``<meta>/<name>_labeled.txt`` per list,
    all of them together (:func:`~openselfsup.utils.save_set`: an
    interrupted run leaves the old lists, never a mix), with
    :data:`LISTS_RECORD`, which records the files written and their
    digests. Nothing is written when a list is empty or holds a path the
    format cannot hold, or when a file of their names is there that this
    function did not write (:func:`_check_lists_replaceable`).

    Args:
        meta (str): the domain's ``meta`` directory.
        lists (dict[str, list[tuple[str, int]]]): list name (``'train'``,
            ``'img_list'``...) -> ``(relative_path, label)`` entries.
        classes (sequence[str]): class names in label order.
        data_dir (str): the directory the paths are relative to (messages).
        release (dict, optional): recorded as ``release`` in
            :data:`LISTS_RECORD`: which release of the data the lists name
            and what said so (NCT's converter: ``{'train': ..., 'test':
            ..., 'by': ...}``; its releases share file names).

    Returns:
        list[str]: notes for the command to print (hard links among the
        listed paths, :func:`_check_one_path_per_file`), maybe none.

    Raises:
        InputError: an empty list, a path with whitespace, or two files
            of one image (:func:`_check_one_file_per_image`), or two paths
            of one file (:func:`_check_one_path_per_file`), or a file of
            the set's names not written here.
    """
    for name, entries in lists.items():
        if not entries:
            raise InputError(f'{os.path.join(meta, name)}.txt would be empty; '
                             'nothing written')
        check_list_paths((p for p, _ in entries), data_dir)
    _check_one_file_per_image(lists, data_dir)
    notes = _check_one_path_per_file(lists, data_dir)
    # one set: an interrupted run leaves every old list, never a new train
    # list beside an old test list (images in both)
    files = {}
    for name, entries in lists.items():
        files[os.path.join(meta, f'{name}.txt')] = \
            ''.join(list_line(p) for p, _ in entries)
        files[os.path.join(meta, f'{name}_labeled.txt')] = \
            ''.join(list_line(p, c) for p, c in entries)
    files[os.path.join(meta, 'classes.txt')] = '\n'.join(classes) + '\n'
    recorded = _check_lists_replaceable(meta, files)
    recorded.update({os.path.basename(path): hashlib.sha1(
        text.encode('utf-8')).hexdigest() for path, text in files.items()})
    files[os.path.join(meta, LISTS_RECORD)] = dict(
        written_by='openselfsup.datasets.list_files.write_list_set',
        files=dict(sorted(recorded.items())),
        **({} if release is None else {'release': release}))
    save_set(files)
    return notes
