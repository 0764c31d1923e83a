"""The published ICLR-22 list files, shipped with the package (gzip).

Facts about public datasets, taken unchanged from the published code
(github.com/TencentAILabHealthcare/Few-shot-WSI at commit
:data:`SOURCE_COMMIT`, ``data/<DOMAIN>/meta/``); each ``.txt.gz`` here
decompresses to exactly the bytes of the file it names (its git blob id is
recorded below and checked by ``tests/test_published_splits.py``).

=============  =========================================  ======  ==================================
name           published file (``data/...``)              lines   what it fixes
=============  =========================================  ======  ==================================
``nct_train``  ``NCT/meta/train_labeled.txt``              80,000  the split of NCT-CRC-HE-100K-NONORM
``nct_test``   ``NCT/meta/test_labeled.txt``               20,000  (``<CLS>/<file> label``)
``paip_train`` ``PAIP19/meta/paip_train_labeled.txt``      22,500  500 patches per class per slide,
``paip_test``  ``PAIP19/meta/paip_test_labeled.txt``       52,500  drawn with replacement; 15 / 35
                                                                   slides (the first 15 IDs train)
``lc25000``    ``LC25000/meta/img_list_labeled.txt``       25,000  the LC25000 list order
=============  =========================================  ======  ==================================

The NCT split cannot be derived from the images, so the NCT converter reads
it from here; the PAIP19 and LC25000 converters derive membership from the
images and use these lists for the published order (and to say whether the
images found are the published ones).
"""
import os
from dataclasses import dataclass
from typing import Dict, List

#: the commit of the published repository the lists come from
SOURCE_COMMIT = '9c0ca4a7ed8d68dbd02ff9e7f7d1741658eb7a39'


@dataclass(frozen=True)
class PublishedList:
    """One shipped list.

    Args:
        file: file name in this folder.
        source: path of the published file in the published repository.
        blob: git blob id (SHA-1) of the published file's bytes.
        lines: number of entries.
    """
    file: str
    source: str
    blob: str
    lines: int


PUBLISHED: Dict[str, PublishedList] = {
    'nct_train': PublishedList(
        'nct_train_labeled.txt.gz', 'data/NCT/meta/train_labeled.txt',
        'f1ddf20990967c98c91dec4a766c345190ccf9a6', 80000),
    'nct_test': PublishedList(
        'nct_test_labeled.txt.gz', 'data/NCT/meta/test_labeled.txt',
        'd11aa49be7a9539e82815f4f880874ba08b10bbc', 20000),
    'paip_train': PublishedList(
        'paip_train_labeled.txt.gz', 'data/PAIP19/meta/paip_train_labeled.txt',
        '62bdd753351edde5ae942d38c7d0c95a9be3f927', 22500),
    'paip_test': PublishedList(
        'paip_test_labeled.txt.gz', 'data/PAIP19/meta/paip_test_labeled.txt',
        '200c6b399c2acd600fdecf514166f1cf2807ae9d', 52500),
    'lc25000': PublishedList(
        'lc25000_img_list_labeled.txt.gz',
        'data/LC25000/meta/img_list_labeled.txt',
        '70d0d89e57ecc232b6ff1d589ebef55584a6dbbe', 25000),
}


def published_path(name: str) -> str:
    """Path of the shipped ``.txt.gz`` of list ``name`` (a key of
    :data:`PUBLISHED`)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        PUBLISHED[name].file)


def read_published(name: str) -> List[tuple]:
    """Entries ``(relative_path, label)`` of a shipped list, in its order."""
    from ..list_files import read_list_file
    return read_list_file(published_path(name), require_labels=True)
