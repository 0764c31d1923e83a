"""Turn a training checkpoint into backbone weights.

Example:
    python tools/extract_backbone_weights.py \\
        work_dirs/wsi_selfsup/moco_v3/r18_bs256_ep200_all/epoch_200.pth \\
        work_dirs/wsi_selfsup/moco_v3/r18_bs256_ep200_all/backbone.pth

    python tools/extract_backbone_weights.py work_dirs/demo/clp_r18_demo \\
        work_dirs/demo/clp_r18_demo/backbone.pth

Writes {'state_dict': weights} with the 'backbone.' prefix stripped (the
query encoder for MoCo-v3, the ResNet for supervised models), atomically,
and the training image size, list file and config text beside them
(extraction warns of another image size, and of another normalisation or
backbone setting than trained, and refuses a `<model>_wo_<c>` output folder
that names other held-out classes than the list). The checkpoint is read with
torch.load(weights_only=True). A run's work dir stands for its last complete
checkpoint (the one --resume would continue from), once the run has ended
(an interrupted run's folder is refused: give a checkpoint file to take it
as it is).
"""
import argparse
import sys

from openselfsup.utils import run_cli


def parse_args(argv):
    p = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('checkpoint', help='checkpoint written by tools/train.py, '
                   'or the run\'s work dir (its last complete checkpoint, '
                   'of a run that has ended)')
    p.add_argument('output', help='output file for the backbone weights')
    p.add_argument('--prefix', default='backbone.',
                   help='key prefix of the backbone in the state dict, stripped '
                   'from the keys written (default: %(default)s, MoCo-v3\'s '
                   'query encoder and the supervised model\'s backbone)')
    return p.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    # the checkpoint readers alone: openselfsup.engine would import
    # mmpretrain and mmcv (seconds) for nothing
    from openselfsup.utils.checkpoint import (extract_backbone_weights,
                                              resolve_trained_checkpoint)
    from mmengine.logging import MMLogger
    checkpoint = resolve_trained_checkpoint(
        a.checkpoint, logger=MMLogger.get_current_instance())
    n = extract_backbone_weights(checkpoint, a.output, a.prefix)
    print(f'{n} tensors of {checkpoint} written to {a.output}')


if __name__ == '__main__':
    sys.exit(run_cli(main))
