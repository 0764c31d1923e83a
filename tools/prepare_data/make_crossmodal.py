"""Write synthetic paired data for balanced cross-modal tuning.

<out>/images/  multi-label 2x2 tissue mosaics with templated captions
<out>/slides/  ISUP 0-5 cases: region features per case and templated
               reports

Each setting's folder gets a SYNTHETIC.json naming its generator; a folder
that is not empty and was not written by this generator (another
generator's included), or changed since, and a folder inside another
generator's data (--out data/hier32) are refused, its own is emptied before
it is written again.

Example (what configs/demo/balance_*_synthetic.py read):
    python tools/prepare_data/make_crossmodal.py --out data/balance
"""
import argparse
import os
import sys

from openselfsup.datasets.synthetic import (CaptionedImagesSpec,
                                            SlideReportsSpec,
                                            make_captioned_images,
                                            make_slide_reports)
from openselfsup.datasets.synthetic.crossmodal import KINDS, WRITTEN
from openselfsup.datasets.synthetic.ownership import check_ours, writing
from openselfsup.utils import check_writable_dir, run_cli


def parse_args(argv):
    di, ds = CaptionedImagesSpec(), SlideReportsSpec()
    p = argparse.ArgumentParser(
        description=__doc__, epilog=WRITTEN,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', default='data/balance', help='output root '
                   '(default: %(default)s)')
    p.add_argument('--settings', nargs='+', default=['images', 'slides'],
                   choices=['images', 'slides'],
                   help='what to write: <out>/images/ (captioned images), '
                   '<out>/slides/ (slide reports) (default: both)')
    p.add_argument('--size', type=int, default=di.size,
                   help='image size in px (default: %(default)s)')
    p.add_argument('--images-train', type=int, default=di.train,
                   help='training images (default: %(default)s)')
    p.add_argument('--images-val', type=int, default=di.val,
                   help='validation images (default: %(default)s)')
    p.add_argument('--captions', type=int, default=di.captions,
                   help='captions per image (default: %(default)s)')
    p.add_argument('--slides-train', type=int, default=ds.train,
                   help='training cases (default: %(default)s)')
    p.add_argument('--slides-val', type=int, default=ds.val,
                   help='validation cases (default: %(default)s)')
    p.add_argument('--feat-dim', type=int, default=ds.feat_dim,
                   help='region feature width D (default: %(default)s)')
    p.add_argument('--seed', type=int, default=0,
                   help='random seed (default: %(default)s)')
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    images = CaptionedImagesSpec(size=a.size, train=a.images_train,
                                 val=a.images_val, captions=a.captions,
                                 seed=a.seed)
    slides = SlideReportsSpec(train=a.slides_train, val=a.slides_val,
                              feat_dim=a.feat_dim, seed=a.seed)
    # every value and output folder checked before anything is written
    check_writable_dir(a.out)
    for setting, spec in (('images', images), ('slides', slides)):
        if setting in a.settings:
            spec.check()
            check_ours(os.path.join(a.out, setting), kind=KINDS[setting])
    # every setting's lock before the first is written: another run
    # writing the second is refused before the first changes
    chosen = [s for s in ('images', 'slides') if s in a.settings]
    with writing([os.path.join(a.out, s) for s in chosen]):
        if 'images' in chosen:
            n = make_captioned_images.unlocked(
                os.path.join(a.out, 'images'), images)
            print(f'images  train {n["train"]:5d}  val {n["val"]:5d}  '
                  f'-> {os.path.join(a.out, "images", "")}')
        if 'slides' in chosen:
            n = make_slide_reports.unlocked(os.path.join(a.out, 'slides'),
                                            slides)
            print(f'slides  train {n["train"]:5d}  val {n["val"]:5d}  '
                  f'-> {os.path.join(a.out, "slides", "")}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
