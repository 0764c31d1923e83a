"""Write PAIP19 list files from patches cut from the PAIP 2019 slides.

Expected: one folder per slide; the published patches are
    data/PAIP19/data/<slide_id>/<label>/<x>+<y>+<label>.png   (labels 0, 1, 2)
(also accepted: data/PAIP19/data/<slide_id>/<cls>/*.png and
data/PAIP19/data/<slide_id>/<slide_id>_<cls>_<n>.png, classes normal,
viable_tumor, non_viable_tumor). Then run
    python tools/prepare_data/prepare_paip19.py --root data/PAIP19
It writes data/PAIP19/meta/paip_{train,test}[_labeled].txt and classes.txt,
split by slide (never a slide in both) as published: the first 15 slide IDs
in sorted order train, the others test. With the published patches (every
one the shipped published lists name) the lists are those lists (500
patches per class per slide, drawn with replacement); with patches cut
anew, every patch found; an incomplete copy of the published patches is
refused (--train-slides 15 then takes every patch found). Other rules:
--train-slides N, --test-slides ID ..., or --test-fraction F --seed S.
With patches cut anew, --per-class-slide 500 draws the published lists'
design (500 patches per class per slide, with replacement, seeded by
--seed: every slide weighs the same) instead of every patch found.
"""
import argparse
import os
import sys

from openselfsup.utils import run_cli


def main(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--root', default='data/PAIP19',
                   help='the dataset\'s folder: images under ROOT/data, lists '
                   'written to ROOT/meta (default: %(default)s)')
    rule = p.add_mutually_exclusive_group()
    rule.add_argument('--train-slides', type=int,
                      help='the first N slide IDs in sorted order train, the '
                      'others test (default: 15, the published split)')
    rule.add_argument('--test-slides', nargs='+',
                      help='slide ids of the test split')
    rule.add_argument('--test-fraction', type=float,
                      help='fraction of the slides drawn for test (with '
                      '--seed)')
    p.add_argument('--per-class-slide', type=int, default=None,
                   metavar='N',
                   help='N patches per class per slide, drawn with '
                   'replacement, instead of every patch found (the published '
                   'lists hold 500 drawn so: every slide weighs the same; '
                   'for patches cut anew)')
    p.add_argument('--seed', type=int, default=0,
                   help='seed of the --test-fraction and --per-class-slide '
                   'draws (default: 0)')
    a = p.parse_args(argv)
    from openselfsup.datasets.prepare import prepare_paip19
    done = prepare_paip19(a.root, a.train_slides, a.test_slides,
                          a.test_fraction, a.seed, a.per_class_slide)
    print('\n'.join(done.lines('patches')))
    print(f'lists written under {os.path.join(a.root, "meta", "")}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
