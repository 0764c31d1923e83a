"""Embed a config's HLSS attribute descriptions into per-level .npy files.

Writes OUT/<level>.npy ([K, D], rows L2-normalised: each attribute's sentence
embeddings normalised and averaged) with the config's model.text_encoder (the
frozen CLIP text tower in the paper config) and OUT/<level>.npy.json (the
level, a digest of its sentences and the text encoder: a head given the file
of other sentences refuses it, and a model with another text encoder: settings
or weights' SHA-256), and prints the --cfg-options that make training read
them instead of running the text tower again.

Example:
    python tools/make_attribute_embeddings.py \\
        configs/hlss/hlss_clip-rn50_b32p_opensrh.py --out data/opensrh/text \\
        --cfg-options model.text_encoder.pretrained=ckpt/rn50-quickgelu-cc12m-f000538c.pt
"""
import argparse
import sys

from openselfsup.utils import run_cli
from openselfsup.utils.cfg_options import CfgOptionsAction


def parse_args(argv):
    p = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='HLSS config with TextInitHead heads')
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--seed', type=int, default=0,
                   help="torch's seed while the text encoder is built: a text "
                   'tower without pretrained weights (the demo config) '
                   'starts at random initialisation, so the same seed '
                   'writes the same files (default: 0)')
    p.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                   help='override config settings, key=value')
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    # imported once the flags are read: --help loads no mmengine.config
    from openselfsup.config import load_config
    cfg = load_config(a.config, a.cfg_options)
    import openselfsup.models  # noqa: F401  (registers the text encoders)
    from openselfsup.models.heads import export_attribute_embeddings
    files = export_attribute_embeddings(cfg.model, a.out, seed=a.seed,
                                        source=a.config)
    for level, path in files.items():
        print(f'{level:8s} {path}')
    opts = ' '.join(f'model.heads.{lv}.embeddings_file={p}'
                    for lv, p in files.items())
    print(f'train with: --cfg-options {opts}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
