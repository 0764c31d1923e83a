"""Encode a config's HLSS attribute descriptions into per-level .npy files.

Writes OUT/<level>.npy ([K, D], rows L2-normalised: each attribute's
sentence embeddings averaged) with the text encoder named in the config (or
--encoder-type), and prints the --cfg-options that make training read them.

Example:
    python tools/make_attribute_embeddings.py \\
        configs/hlss/hlss_r50_b32p_hierarchical.py --out data/hier/text
"""
import argparse
import sys

from openselfsup.config import load_config
from openselfsup.models.heads import export_attribute_embeddings
from openselfsup.utils import run_cli


def parse_args(argv):
    p = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='HLSS config with TextInitHead heads')
    p.add_argument('--out', required=True, help='output folder')
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    cfg = load_config(a.config)
    import openselfsup.models  # noqa: F401  (registers the text encoders)
    files = export_attribute_embeddings(cfg.model.heads, a.out)
    for level, path in files.items():
        print(f'{level:8s} {path}')
    opts = ' '.join(f'model.heads.{lv}.embeddings_file={p}'
                    for lv, p in files.items())
    print(f'train with: --cfg-options {opts}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
