"""kNN evaluation of a checkpoint at patch, slide and patient level.

Bank = the config's knn_eval.bank patches (training split), queries =
knn_eval.query patches (validation split); k = 200 capped at the bank size,
neighbour weights exp(sim / 0.07) (as published); slide and patient
predictions sum their patches' L1-normalised, soft-maxed scores (the
published rule; knn_eval.aggregation='sum' sums the raw scores). Prints a
table, writes knn_<ckpt>.json, .txt and .png (at random initialisation
knn_random_init_<config>_seed<S>.*); the printed table, the .txt and the
plot are titled kNN (k=...) and the files' name after knn_: e.g.
kNN (k=20) iter_300, or kNN (k=20) random_init_<config>_seed<S>.

Example:
    python tools/knn_eval.py configs/demo/hlss_rn50w8_synthetic.py \\
        work_dirs/demo/hlss_rn50w8_synthetic/iter_300.pth
    # baseline: the same model at its initialisation
    python tools/knn_eval.py configs/demo/hlss_rn50w8_synthetic.py \\
        --random-init --out-dir work_dirs/demo/random_init_hlss

kNN evaluation is for HLSS / HiDisc encoders (model.type 'HLSS'): a
config of another algorithm (CLP's MoCoV3, FSP's ImageClassifier, a
balanced cross-modal tuning) is refused before anything is read, in one
line naming its model.type and how it is evaluated instead (a CLP / FSP
encoder: the low-shot protocol, wsi_workdir/extract.py then the
meta-test); a model.type of another name (a user's own class) is judged
by its class once the model stack is imported: HLSS or a subclass of it
evaluates, another (a subclass of MoCoV3) is refused the same way, naming
its base classes, before a model is built. The checkpoint is read once with torch.load(weights_only=True),
its SHA-1 recorded; one of another architecture is refused with one line
naming its first mismatched tensors and, where its meta records them, the
config it was trained with (by its path where that config is a file beside
the checkpoint or the config, else as its meta names it) and the first
difference of the two models; a checkpoint of an algorithm without kNN
evaluation is named as one. A missing bank
or query data folder or file is refused as tools/train.py refuses it,
naming its config key. Results under the output name of another model,
or of the same model under other kNN settings (another config's knn_eval:
its splits, data, k), are refused, never replaced (a checkpoint is known
by its SHA-1 and the config's model settings, as another pooling or
out_indices gives other features from the same weights, but those naming
initial weights, init_cfg or pretrained, which its weights replace; a
model at initialisation by its seed, the config's model settings and the
contents of the files they name; an evaluation also by its knn_eval
settings, but batch_size and num_workers, and the contents of the files
they name); a rerun with the same replaces its own. Results of a checkpoint
whose file was replaced since (trained again into its work dir) are refused
as such: give another --out-dir to keep both, or delete them.

A checkpoint whose weights load but whose meta records other settings that
change its features (the data preprocessor's mean / std, a backbone setting,
the size the kNN pipeline resizes its patches to, where the training's
knn_eval set one) is warned, one line naming each difference and how to
evaluate it as trained (its run's config, or --cfg-options, with another
--out-dir); the results are written, and record those differences
(settings_other_than_trained), which knn_summary.py notes. The size of the
patches as the data gives them is not compared with the size trained on
(48 px patches evaluated by a HiDisc encoder trained on 32 px ones run
without a word: neither config states it); an open_clip image tower
refuses a size it cannot take.
"""
import argparse
import os
import sys

from openselfsup.utils import run_cli
from openselfsup.utils.cfg_options import CfgOptionsAction


def parse_args(argv):
    p = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('config', help='training config with a knn_eval section')
    p.add_argument('checkpoint', nargs='?', default=None,
                   help='checkpoint file, or the run\'s work dir (its '
                   'last complete checkpoint); omit with --random-init')
    p.add_argument('--random-init', action='store_true',
                   help='evaluate the model at its initialisation (random, '
                        'or the pretrained weights the config names: a '
                        'baseline); needs --out-dir')
    p.add_argument('--seed', type=int, default=None,
                   help='seed of the random initialisation (default 0); '
                   'with --random-init only')
    p.add_argument('--out-dir', default=None,
                   help='folder for the JSON, table and plot (default: beside the '
                        'checkpoint, as knn_<ckpt>.*; in this folder '
                        'knn_<checkpoint folder>_<ckpt>.*)')
    p.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction,
                   help='override config settings, key=value')
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    # imported once the flags are read: --help loads no mmengine.config
    from openselfsup.apis.knn import check_knn_arguments, knn_eval_checkpoint
    # before the model stack is imported (8 s), which this module does not
    check_knn_arguments(a.checkpoint, a.random_init, a.seed, a.out_dir)
    # the library checks the config and checkpoint path before it imports
    # the stack: nothing of it here before that
    res, path = knn_eval_checkpoint(a.config, a.checkpoint, a.out_dir,
                                    a.cfg_options, seed=a.seed or 0)
    from openselfsup.evaluation.knn import format_table
    print(format_table(res, res['title']), end='')  # the .txt's table
    stem = os.path.splitext(path)[0]
    print(f'written {path}, {stem}.txt and {stem}.png')


if __name__ == '__main__':
    sys.exit(run_cli(main, freeze_start_up=True))
