"""The datasets' class names and the list files every domain gets.

Shared by the synthetic generator (:mod:`.synthetic.layouts`) and the
real-data converters (:mod:`.prepare`), so both write exactly the same
files:

- ``<name>.txt`` (``relative/path`` per line) and ``<name>_labeled.txt``
  (``relative/path label``), paths relative to ``<domain>/data``;
- for NCT, ``train``, ``test`` and ``wo_<c>_train`` for each held-out
  variant in :data:`NCT_HELD_OUT` (original labels kept);
- ``classes.txt``, the class names in label order.
"""
import os
from typing import List, Sequence, Tuple

from ..classes import (LC_CLASSES, NCT_CLASSES, NCT_HELD_OUT,  # noqa: F401
                       PAIP_CLASSES)
from ..utils import save_text

Entry = Tuple[str, int]


def write_lists(meta: str, name: str, entries: List[Entry]) -> None:
    """Write ``<meta>/<name>.txt`` and ``<meta>/<name>_labeled.txt``.

    Args:
        meta (str): the domain's ``meta`` directory.
        name (str): list name, e.g. ``'train'`` or ``'img_list'``.
        entries (list[tuple[str, int]]): ``(relative_path, label)``.
    """
    save_text(os.path.join(meta, f'{name}.txt'),
              ''.join(f'{p}\n' for p, _ in entries))
    save_text(os.path.join(meta, f'{name}_labeled.txt'),
              ''.join(f'{p} {c}\n' for p, c in entries))


def write_classes(meta: str, classes: Sequence[str]) -> None:
    """Write ``<meta>/classes.txt``: one class name per line, label order."""
    save_text(os.path.join(meta, 'classes.txt'), '\n'.join(classes) + '\n')


def write_nct_lists(meta: str, train: List[Entry],
                    test: List[Entry]) -> None:
    """Write every NCT list: train, test, the ``wo_`` variants, classes.

    Args:
        meta (str): ``<root>/NCT/meta``.
        train (list[tuple[str, int]]): NCT-CRC-HE-100K entries.
        test (list[tuple[str, int]]): CRC-VAL-HE-7K entries.
    """
    write_lists(meta, 'train', train)
    write_lists(meta, 'test', test)
    for name, dropped in NCT_HELD_OUT.items():
        write_lists(meta, f'{name}_train',
                    [e for e in train if e[1] not in dropped])
    write_classes(meta, NCT_CLASSES)
