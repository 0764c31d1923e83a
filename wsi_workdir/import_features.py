r"""Import features computed elsewhere into the low-shot workdir layout.

One row per image in a .npy, .pt or .h5 file, plus the image paths of the
rows (a text file, or inside the .pt / .h5 file); the rows are put in the
order of the dataset's list file (named by an extraction config), matched by
path, and written where extract.py writes (features, shared labels and meta,
provenance). An image of the list without a row, two rows for one image, or
rows outside the list (unless --ignore-extra) are refused with one line.
Rows are L2-normalised, as the protocol's features are (--no-normalise keeps
them as found; the provenance records both).

    python wsi_workdir/import_features.py --config configs/extraction/nct_train.py \
        --source my_feats/nct.h5 --ignore-extra \
        --output wsi_workdir/workdir/extracted_feats/mymodel/NCT_train.npy
    python wsi_workdir/import_features.py --config configs/extraction/lc.py \
        --source lc_feats.npy --paths lc_paths.txt \
        --output wsi_workdir/workdir/extracted_feats/mymodel/LC.npy
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from openselfsup.utils import run_cli  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--config', required=True,
                        help='extraction config whose dataset names the list '
                        'file, e.g. configs/extraction/nct_train.py')
    parser.add_argument('--source', required=True,
                        help='features: .npy, .pt/.pth or .h5/.hdf5, one row '
                        'per image')
    parser.add_argument('--paths', default=None,
                        help='text file with the image path of each row, one '
                        'per line (default: the source\'s --paths-key entry)')
    parser.add_argument('--key', default='features',
                        help='features entry of a .pt dict or .h5 file '
                        '(default features)')
    parser.add_argument('--paths-key', default='paths',
                        help='paths entry of a .pt dict or .h5 file '
                        '(default paths)')
    parser.add_argument('--output', required=True,
                        help='features .npy, e.g. <workdir>/extracted_feats/'
                        '<model>/NCT_train.npy (an existing file these '
                        'commands did not write is refused)')
    parser.add_argument('--ignore-extra', action='store_true',
                        help='drop rows of images that are not in the list '
                        '(default: refuse them)')
    parser.add_argument('--no-normalise', dest='normalise',
                        action='store_false',
                        help='keep the rows as found (default: L2-normalise, '
                        'as the protocol does)')
    parser.add_argument('--cfg-options', nargs='+', action='extend',
                        default=None, metavar='KEY=VALUE',
                        help='override config keys, e.g. '
                        'dataset.data_root=data/NCT')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from openselfsup.apis.import_features import import_features, summary_line
    from openselfsup.config import parse_cfg_options
    record = import_features(
        args.config, args.source, args.output, paths=args.paths,
        key=args.key, paths_key=args.paths_key,
        cfg_options=parse_cfg_options(args.cfg_options),
        normalise=args.normalise, ignore_extra=args.ignore_extra)
    print(summary_line(record))


if __name__ == '__main__':
    sys.exit(run_cli(main))
