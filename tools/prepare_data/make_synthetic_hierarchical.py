"""Write synthetic patient / slide / patch histology (HiDisc / HLSS layout).

Patients inherit their class's tissue look with their own variation; each
slide adds a stain and scanner shift.

The folder gets a SYNTHETIC.json naming its generator; a folder that is not
empty and was not written by this generator (another generator's included:
--out data/balance/images), or changed since, and a folder inside another
generator's data are refused, its own is emptied before it is written
again.

Example (what configs/demo/hlss_rn50w8_synthetic.py and
hidisc_r18w8_synthetic.py read):
    python tools/prepare_data/make_synthetic_hierarchical.py --out data/hier32 --size 32
"""
import argparse
import os
import sys

from openselfsup.datasets.synthetic import (HierarchicalSpec,
                                            make_synthetic_hierarchical)
from openselfsup.datasets.synthetic.hierarchical import WRITTEN
from openselfsup.utils import RawDefaultsHelpFormatter, run_cli


def parse_args(argv):
    d = HierarchicalSpec()
    p = argparse.ArgumentParser(
        description=__doc__, epilog=WRITTEN,
        formatter_class=RawDefaultsHelpFormatter)
    p.add_argument('--out', default='data/hier', help='output folder')
    p.add_argument('--size', type=int, default=d.size, help='patch size, px')
    p.add_argument('--classes', nargs='+', default=list(d.classes),
                   help='tissue styles, one per class')
    p.add_argument('--train-patients', type=int, default=d.train_patients,
                   help='training patients per class')
    p.add_argument('--val-patients', type=int, default=d.val_patients,
                   help='validation patients per class')
    p.add_argument('--slides', type=int, nargs=2, default=list(d.slides),
                   metavar=('MIN', 'MAX'), help='slides per patient')
    p.add_argument('--patches', type=int, nargs=2, default=list(d.patches),
                   metavar=('MIN', 'MAX'), help='patches per slide')
    p.add_argument('--patient-shift', type=float, default=d.patient_shift,
                   help='std of the per-patient stain factor')
    p.add_argument('--slide-shift', type=float, default=d.slide_shift,
                   help='std of the per-slide stain/scanner gain')
    p.add_argument('--seed', type=int, default=d.seed, help='random seed')
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    spec = HierarchicalSpec(
        size=a.size, classes=tuple(a.classes),
        train_patients=a.train_patients, val_patients=a.val_patients,
        slides=tuple(a.slides), patches=tuple(a.patches),
        patient_shift=a.patient_shift, slide_shift=a.slide_shift,
        seed=a.seed)
    counts = make_synthetic_hierarchical(a.out, spec)
    for name, n in counts.items():
        print(f'{name:16s} {n:6d}')
    print(f'written under {os.path.join(a.out, "")} (metadata.json, '
          'split.json)')


if __name__ == '__main__':
    sys.exit(run_cli(main))
