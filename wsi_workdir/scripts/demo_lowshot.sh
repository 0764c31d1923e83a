#!/bin/sh
# The low-shot chain, shortened, for one encoder on the synthetic data:
# evaluate_encoder.sh with demo settings: the five feature sets, the base
# dictionary, 30 tasks per setting (every classifier, linear and latent_aug,
# 1 and 5 shots, near / mixture / out domain, no novel class (a MODEL
# named <family>_wo_<c>: novel class c, see NOVEL below); K 8, 10
# augmentation shots) in one sweep process, then the summary. A couple of
# minutes on 2 CPU cores.
#
#   sh wsi_workdir/scripts/demo_lowshot.sh CKPT [WORKDIR] [CONFIG_OPTS]
#
# CKPT         a checkpoint from tools/train.py (or backbone weights);
#              "random": the config's encoder at its random initialisation;
#              with EXTRACT_SOURCE=timm:<name> / open_clip:<name>: that
#              model's weights (see evaluate_encoder.sh)
# WORKDIR      low-shot workdir (default wsi_workdir/workdir/demo)
# CONFIG_OPTS  extraction --cfg-options matching the encoder, one string, e.g.
#              "model.backbone.base_channels=16 model.backbone.stem_channels=16 dataset.pipeline.1.scale=64"
#              (default: $EXTRACT_OPTS, as the other scripts read it)
# Environment: MODEL (name in the workdir, default clp), NUM_TASK (30), SHOTS
# ("1 5": near and mixture), OUT_SHOTS ("1 5": out), OUT_HOMO_SHOTS ("5":
# out_homo, which has no published 1-shot), DOMAINS ("near mixture out"; add
# out_homo), NOVEL (near-domain novel class; default: c for a MODEL named
# <family>_wo_<c>, the encoder trained without class c (the published
# pairing), else none; NOVEL=none runs such a model without one on
# purpose; a suffix that is no class id, clp_wo_99, stops the script
# with the ways out), DATA (data),
# DEVICE (cpu), RECOMPUTE (set: every setting computed again; unset, a
# setting whose result is current for it is reused); see also _env.sh (whose MODELS and NOVEL_CLASSES this
# script refuses: MODEL and NOVEL are its forms).
set -e
. "$(dirname "$0")/_help.sh"
positional_arguments "CKPT [WORKDIR] [CONFIG_OPTS]" 1 3 "$@"
CKPT=$1
WORKDIR=${2:-wsi_workdir/workdir/demo}
EXTRACT_OPTS=${3:-${EXTRACT_OPTS:-}}  # the argument, else the environment's
MODEL=${MODEL:-clp}
NUM_TASK=${NUM_TASK:-30}
DOMAINS=${DOMAINS:-"near mixture out"}
# the shots of each domain where its setting is unset or empty (shots_of
# in _env.sh; the settings themselves stay the user's: one given for no
# domain run is refused)
_default_SHOTS="1 5"
_default_OUT_SHOTS="1 5"
_default_OUT_HOMO_SHOTS=5
# a MODEL named <family>_wo_<c> is scored on its own class c where NOVEL
# is unset (novel_default of _env.sh, which evaluate_encoder.sh calls with
# the two below and which asks the library's reader of the name): passing
# none on the user's behalf ran clp_wo_7 on near-domain tasks of no novel
# class, which distributed_meta_test.py refuses; another MODEL runs
# without one
NOVEL_CLASSES=${NOVEL:-}
_default_NOVEL_CLASSES=none
_novel_variable=NOVEL
NUM_PROTOTYPES=${NUM_PROTOTYPES:-8}
NUM_AUG_SHOTS=${NUM_AUG_SHOTS:-10}
EXTRACT_BATCH=${EXTRACT_BATCH:-64}
# the protocol for one encoder, with the settings above (sourced: $0 stays
# this script, so evaluate_encoder.sh finds _env.sh beside it)
set -- "$MODEL" "$CKPT" "$WORKDIR"
. "$(dirname "$0")/evaluate_encoder.sh"
