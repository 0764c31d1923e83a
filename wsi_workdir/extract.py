r"""Extract features of image sets with a pre-trained encoder.

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

Any timm or open_clip image model with local weights (the images are the
config's list; the preprocessing is the model's own, recorded in the
provenance JSON; --preprocess overrides it: a timm name with a weights file
takes that of timm's default weights for the name, mean and std 0.5 and
crop_pct 0.9 here, not the ImageNet mean/std and no crop of UNI's own
transform)::

    python wsi_workdir/extract.py --config configs/extraction/nct_train.py \
        --model-source timm:vit_large_patch16_224 --weights uni/pytorch_model.bin \
        --model-kwargs init_values=1e-5 dynamic_img_size=True \
        --preprocess mean=0.485,0.456,0.406 std=0.229,0.224,0.225 crop_pct=1.0 \
        --output wsi_workdir/workdir/extracted_feats/uni/NCT_train.npy
    python wsi_workdir/extract.py --config configs/extraction/lc.py \
        --model-source open_clip:ViT-B-32 --weights quilt/open_clip_pytorch_model.bin \
        --output wsi_workdir/workdir/extracted_feats/quilt/LC.npy

--random-init takes the encoder at its own seeded random initialisation
(--seed), a baseline.

Several sets in one process (what the experiment scripts do): one --output
per --config, in order, and optionally one --data-root per --config (its
dataset.data_root); every list is checked before any work, the model is
built and its weights read once, each set is written when it is done::

    python wsi_workdir/extract.py --pretrained CKPT \
        --config configs/extraction/nct_train.py configs/extraction/lc.py \
        --data-root data/NCT data/LC25000 \
        --output wsi_workdir/workdir/extracted_feats/clp/NCT_train.npy \
                 wsi_workdir/workdir/extracted_feats/clp/LC.npy

Several encoders in one process: one --pretrained per --config (every
checkpoint is read and checked against its config's encoder before the
first set; the near-domain script extracts its 18 models so)::

    python wsi_workdir/extract.py \
        --config configs/extraction/nct_test.py configs/extraction/nct_test.py \
        --pretrained CKPT_WO_0 CKPT_WO_1 \
        --output wsi_workdir/workdir/extracted_feats/clp_wo_0/NCT_test.npy \
                 wsi_workdir/workdir/extracted_feats/clp_wo_1/NCT_test.npy

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
    parser.add_argument('--config', required=True, nargs='+',
                        action='extend',
                        help='extraction config(s), e.g. '
                        'configs/extraction/nct_train.py')
    which = parser.add_mutually_exclusive_group()
    which.add_argument('--pretrained', '--pretrain', dest='pretrained',
                       nargs='+', action='extend', metavar='CKPT',
                       help='full training checkpoint (tools/train.py), '
                       'a run\'s work dir (its last complete checkpoint, '
                       'of a run that has ended), '
                       'backbone weights (tools/extract_backbone_weights.py) '
                       'or a state dict (bare, or under \'model\' as DINO / '
                       'DeiT save it) '
                       'of the config\'s encoder: one for every --config, '
                       'or one per --config (several encoders in one '
                       'process)')
    which.add_argument('--model-source', metavar='LIB:NAME',
                       help='a timm or open_clip model instead of the '
                       'config\'s: timm:<name> (e.g. '
                       'timm:vit_large_patch16_224) or open_clip:<name>'
                       '[:<tag>] (e.g. open_clip:RN50-quickgelu, '
                       'open_clip:ViT-B-16-SigLIP:webli: the tag\'s '
                       'preprocessing); with --weights')
    parser.add_argument('--random-init', action='store_true',
                        help='the encoder (the config\'s, or --model-source '
                        'without --weights) at its random initialisation '
                        '(seeded by --seed), a baseline')
    parser.add_argument('--output', required=True, nargs='+',
                        action='extend',
                        help='features .npy, one per --config; labels, meta '
                        'and provenance go beside it (or to the workdir '
                        'layout under extracted_feats/); an existing file '
                        'that extract.py or import_features.py did not '
                        'write is refused, never replaced; a set of '
                        'another encoder is replaced with a warning line '
                        'naming both')
    parser.add_argument('--data-root', nargs='+', action='extend',
                        default=None,
                        help='dataset.data_root of each --config, in order '
                        '(default: the configs\' own, data/NCT, '
                        'data/LC25000, data/PAIP19)')
    parser.add_argument('--batch-size', type=int, default=64,
                        help='images per forward pass (default 64)')
    parser.add_argument('--device', default='cpu',
                        help='cpu, cuda or cuda:N (default cpu)')
    parser.add_argument('--workers', type=int, default=min(4, os.cpu_count() or 1),
                        help='data loading processes (default min(4, cores))')
    parser.add_argument('--amp', action='store_true',
                        help='mixed-precision forward pass: float16 '
                        'autocast on CUDA, bfloat16 on the CPU (features '
                        'saved as float32; sets of other precisions are not '
                        'scored together); without it float32, on CUDA '
                        'without TF32 (as the published extraction)')
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
                        help='seed of the --aug_times passes and of '
                        '--random-init (default 0)')
    ext = parser.add_argument_group(
        'timm / open_clip models (--model-source)')
    ext.add_argument('--weights', default=None,
                     help='local weights: .safetensors, .bin, .pth, .pt, or a '
                     'folder in the library\'s hub layout (config.json / '
                     'open_clip_config.json beside the weights); read '
                     'without running pickled code. Leave out with '
                     '--random-init')
    ext.add_argument('--model-kwargs', nargs='+', metavar='KEY=VALUE',
                     default=None,
                     help='keyword arguments of the library\'s create_model, '
                     'e.g. init_values=1e-5 dynamic_img_size=True (timm) or '
                     'force_image_size=448 (open_clip)')
    ext.add_argument('--preprocess', nargs='+', metavar='KEY=VALUE',
                     default=None,
                     help='override the model\'s preprocessing config, e.g. '
                     'mean=0.485,0.456,0.406 std=0.229,0.224,0.225 '
                     'crop_pct=1.0 (timm: input_size|size, mean, std, '
                     'crop_pct, crop_mode, interpolation; open_clip: size, '
                     'mean, std, resize_mode, interpolation)')
    ext.add_argument('--pool', default=None,
                     help='timm: global_pool of the embedding (token = class '
                     'token, avg = mean of the tokens / feature map; '
                     'default: the model\'s own)')
    ext.add_argument('--no-proj', dest='projection', action='store_false',
                     help='open_clip: the image tower\'s pooled output '
                     'before the projection into the joint space (default: '
                     'the projected image embedding, encode_image)')
    parser.add_argument('--reuse', nargs='*', action='append',
                        metavar='OUTPUT', default=None,
                        help='alone: for every set, with OUTPUTs: for the '
                        'sets of those --output files only, '
                        'keep a set whose files are this extraction '
                        'already (its provenance: the same encoder, by the '
                        'weights\' SHA-256 or the seeded random init, and '
                        'library model; the same list and images, by their '
                        'digests; the same resolved model and pipeline, '
                        'normalisation, --aug_times, --seed and precision; '
                        'the same releases of the libraries that build the '
                        'encoder and read the images (a set that records '
                        'none is extracted again); not a CUDA float32 set '
                        'recorded without tf32: false (its convolutions '
                        'ran in TF32: extracted again); '
                        'the files those it describes) instead of '
                        'extracting it again; where the images lie, '
                        '--batch-size, --workers and --device aside (a '
                        'kept set\'s provenance names this run\'s image '
                        'folder, config, --cfg-options and checkpoint '
                        'path, those it was extracted with under '
                        'extracted_with). '
                        'evaluate_encoder.sh passes it (a rerun with other '
                        'shots or classifiers extracts nothing again); '
                        'extract_near_domain_feats.sh (with NOVEL_CLASSES '
                        'none) and extract_mixture_and_out_domain_feats.sh '
                        'pass it with the family\'s NCT_train, the one set '
                        'both write')
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bar')
    parser.add_argument('--cfg-options', nargs='+', action='extend',
                        default=None, metavar='KEY=VALUE',
                        help='override config keys, e.g. '
                        'model.backbone.base_channels=16 dataset.data_root=data/NCT')
    args = parser.parse_args(argv)
    # --reuse alone: every set (True); --reuse OUTPUT...: those sets' outputs
    args.reuse = args.reuse is not None and (
        [] in args.reuse or [o for g in args.reuse for o in g])
    return args


def main(argv=None):
    args = parse_args(argv)
    from openselfsup.apis.extract import (check_encoder_flags,
                                          extract_external_many,
                                          extract_many, summary_line)
    from openselfsup.config import parse_cfg_options
    check_encoder_flags(vars(args))
    run = dict(cfg_options=parse_cfg_options(args.cfg_options),
               batch_size=args.batch_size, device=args.device,
               workers=args.workers, amp=args.amp,
               channels_last=args.channels_last,
               progress=not args.no_progress, normalise=args.normalise,
               seed=args.seed, reuse=args.reuse,
               # one line per set as soon as it is written
               on_written=lambda record: print(summary_line(record),
                                               flush=True))
    if args.model_source:
        extract_external_many(
            args.config, args.model_source, args.output, args.data_root,
            weights=None if args.random_init else args.weights,
            # keyword arguments: a dict value stays a dict
            model_kwargs=parse_cfg_options(args.model_kwargs,
                                           '--model-kwargs', dotted=False),
            preprocess=parse_cfg_options(args.preprocess, '--preprocess',
                                         dotted=False),
            pool=args.pool, projection=args.projection, **run)
    else:
        extract_many(args.config, args.pretrained, args.output,
                     args.data_root, aug_times=args.aug_times,
                     random_init=args.random_init, **run)


if __name__ == '__main__':
    sys.exit(run_cli(main, freeze_start_up=True))
