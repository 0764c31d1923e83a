#!/usr/bin/env bash
# The README's quick start: synthetic data, a short CLP pre-training on the
# CPU, then the low-shot evaluation of the encoder (features, dictionary,
# tasks, meta-tests, summary), the same evaluation of the network at random
# initialisation and the paired comparison of the two on the same tasks.
#
#   bash tools/quickstart.sh            # from the repository root
#
# Outputs: data/ (synthetic NCT, LC25000, PAIP19 at 64 px),
# work_dirs/demo/clp_r18_demo/ (log, TensorBoard scalars, checkpoints,
# backbone.pth) and wsi_workdir/workdir/demo/ (features, task stores,
# dictionary, result JSONs, summary/summary.{md,json,png},
# summary/compare/clp/vs_random/all.{md,json,png}).
. "$(dirname "$0")/../wsi_workdir/scripts/_help.sh"
in_bash "$@"
set -euo pipefail
no_arguments "$@"
cd "$(dirname "$0")/.."
# OpenMP threads that wait for work sleep instead of spinning (a user's own
# OMP_WAIT_POLICY is kept): on 2 shared cores the spinning threads of
# torch's 2-thread ops burned 3-5x the CPU of the work and took the cores
# from each other (CLP training 950 s, 351 s of CPU, at load 9); the same
# threads split the same work, so every number is bitwise the same
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

echo "== 1. synthetic data (64 px) -> data/"
python tools/prepare_data/make_synthetic.py --out data --size 64

echo "== 2. CLP pre-training (MoCo-v3, shrunk demo recipe) -> work_dirs/demo/clp_r18_demo"
python tools/train.py configs/demo/clp_r18_demo.py
WORK=work_dirs/demo/clp_r18_demo
python tools/extract_backbone_weights.py "$WORK" "$WORK/backbone.pth"

echo "== 3. low-shot evaluation of the CLP encoder -> wsi_workdir/workdir/demo"
# features of the five sets, base dictionary, 30 tasks per setting on the
# near / mixture / out domains (every classifier, linear and latent_aug,
# 1 and 5 shots), summary table and plot; the extraction options match the
# demo encoder (width 16, 64 px input)
sh wsi_workdir/scripts/demo_lowshot.sh "$WORK/backbone.pth" \
    wsi_workdir/workdir/demo \
    "model.backbone.base_channels=16 model.backbone.stem_channels=16 dataset.pipeline.1.scale=64"

echo "== 4. the same evaluation of the same network at random initialisation," \
    "and the paired comparison on the same tasks"
# MODEL=random: the demo config's ResNet-18 (width 16) at its own seeded
# initialisation, meta-tested on the task stores of step 3; then per setting
# the mean paired difference of task F1 (clp - random) with its 95% CI, the
# Wilcoxon signed-rank p over tasks and the Holm-adjusted p
MODEL=random sh wsi_workdir/scripts/demo_lowshot.sh random \
    wsi_workdir/workdir/demo \
    "model.backbone.base_channels=16 model.backbone.stem_channels=16 dataset.pipeline.1.scale=64"
python wsi_workdir/summarize.py --workdir wsi_workdir/workdir/demo \
    --compare clp random

echo "== done: table wsi_workdir/workdir/demo/summary/summary.md," \
    "plot wsi_workdir/workdir/demo/summary/summary.png," \
    "paired comparison" \
    "wsi_workdir/workdir/demo/summary/compare/clp/vs_random/all.{md,png}"
