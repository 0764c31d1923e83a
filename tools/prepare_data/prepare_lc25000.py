"""Write LC25000 list files from the real download.

Extract LC25000.zip so that
    data/LC25000/data/lung_colon_image_set/{colon,lung}_image_sets/<cls>/*.jpeg
(or without the lung_colon_image_set level), then run
    python tools/prepare_data/prepare_lc25000.py --root data/LC25000
It writes data/LC25000/meta/img_list[_labeled].txt and classes.txt (labels:
colon_aca 0, colon_n 1, lung_aca 2, lung_n 3, lung_scc 4): the published
list, in its order, when its 25,000 images are there (other images found
are left out, with a note); when none of them is (images of another
source), every image found, sorted. A copy holding some but not all of
them is refused (sorted, its order would not be the published one);
--every-image lists every image found, sorted, instead.
"""
import argparse
import os
import sys

from openselfsup.utils import run_cli


def main(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--root', default='data/LC25000',
                   help='the dataset\'s folder: images under ROOT/data, lists '
                   'written to ROOT/meta (default: %(default)s)')
    p.add_argument('--every-image', action='store_true',
                   help='list every image found, sorted by path, instead of '
                   'the published list (an incomplete copy, a subset: not '
                   'the published order)')
    a = p.parse_args(argv)
    from openselfsup.datasets.prepare import prepare_lc25000
    print('\n'.join(prepare_lc25000(a.root, a.every_image).lines()))
    print(f'lists written under {os.path.join(a.root, "meta", "")}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
