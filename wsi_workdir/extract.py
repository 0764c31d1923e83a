r"""Extract features of one image set with a pre-trained encoder.

Features are the global-average-pooled last stage, L2-normalised (as the
published extractor; --no-normalise keeps them raw; the provenance JSON
records which, and the meta-test refuses to mix the two).

Example (the layout the low-shot scripts read)::

    python wsi_workdir/extract.py \
        --config configs/extraction/nct_train.py \
        --pretrained work_dirs/wsi_selfsup/moco_v3/r18_bs256_ep200_wo_7/epoch_200.pth \
        --output wsi_workdir/workdir/extracted_feats/clp_wo_7/NCT_train.npy

writes the features (float32 [N, D]), the labels shared by all models of the
workdir (extracted_feats/NCT_train_labels.npy; another list's labels are
refused there), the image list behind them (extracted_feats/
NCT_train_meta.json) and a provenance JSON beside the features
(clp_wo_7/NCT_train.json).

The augmentation ablation extracts N augmented copies of NCT train::

    python wsi_workdir/extract.py --config configs/extraction/nct_aug.py \
        --pretrained CKPT --aug_times 16 \
        --output wsi_workdir/workdir/extracted_feats/clp_wo_78/NCT_aug.npy
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
                        help='extraction config, e.g. configs/extraction/nct_train.py')
    parser.add_argument('--pretrained', '--pretrain', dest='pretrained',
                        required=True,
                        help='full training checkpoint (tools/train.py) or '
                        'backbone weights (tools/extract_backbone_weights.py)')
    parser.add_argument('--output', required=True,
                        help='features .npy; labels, meta and provenance go '
                        'beside it (or to the workdir layout under '
                        'extracted_feats/)')
    parser.add_argument('--batch-size', type=int, default=64,
                        help='images per forward pass (default 64)')
    parser.add_argument('--device', default='cpu',
                        help='cpu, cuda or cuda:N (default cpu)')
    parser.add_argument('--workers', type=int, default=min(4, os.cpu_count() or 1),
                        help='data loading processes (default min(4, cores))')
    parser.add_argument('--amp', action='store_true',
                        help='mixed-precision forward pass (features saved as float32)')
    parser.add_argument('--channels-last', action='store_true',
                        help='channels-last memory format (faster on GPUs)')
    parser.add_argument('--no-normalise', dest='normalise',
                        action='store_false',
                        help='keep the raw pooled features (default: '
                        'L2-normalised, as the published protocol)')
    parser.add_argument('--aug_times', type=int, default=0,
                        help='ablation: N seeded passes of the config\'s '
                        'random pipeline, stacked copy-major (default 0: '
                        'one deterministic pass)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the --aug_times passes (default 0)')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bar')
    parser.add_argument('--cfg-options', nargs='+', action='extend',
                        default=None, metavar='KEY=VALUE',
                        help='override config keys, e.g. '
                        'model.backbone.base_channels=16 dataset.data_root=data/NCT')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    from openselfsup.apis.extract import extract, summary_line
    from openselfsup.config import parse_cfg_options
    record = extract(args.config, args.pretrained, args.output,
                     cfg_options=parse_cfg_options(args.cfg_options),
                     batch_size=args.batch_size, device=args.device,
                     workers=args.workers, amp=args.amp,
                     channels_last=args.channels_last,
                     progress=not args.no_progress,
                     normalise=args.normalise, aug_times=args.aug_times,
                     seed=args.seed)
    print(summary_line(record))


if __name__ == '__main__':
    sys.exit(run_cli(main))
