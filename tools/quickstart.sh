#!/usr/bin/env bash
# The README's quick start: synthetic data, then a short CLP pre-training on
# the CPU (a couple of minutes on 2 cores), then the rest of the pipeline.
#
#   bash tools/quickstart.sh            # from the repository root
#
# Outputs: data/ (synthetic NCT, LC25000, PAIP19 at 64 px) and
# work_dirs/demo/clp_r18_demo/ (log, TensorBoard scalars, checkpoints,
# backbone.pth).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== 1. synthetic data (64 px) -> data/"
python tools/prepare_data/make_synthetic.py --out data --size 64

echo "== 2. CLP pre-training (MoCo-v3, shrunk demo recipe) -> work_dirs/demo/clp_r18_demo"
python tools/train.py configs/demo/clp_r18_demo.py
WORK=work_dirs/demo/clp_r18_demo
python tools/extract_backbone_weights.py "$(cat "$WORK/last_checkpoint")" \
    "$WORK/backbone.pth"

# ---------------------------------------------------------------------------
# LOW-SHOT CHAIN (appended by the lead): feature extraction, task generation,
# base dictionary, meta-testing on near / mixture / out-domain tasks.
# Inputs available here: data/ lists and $WORK (checkpoint, backbone.pth).
# ---------------------------------------------------------------------------
