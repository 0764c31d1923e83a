#!/bin/sh
# The augmentation ablation (published ablation.sh) on the encoder without
# STR and TUM: baseline, K prototypes, image-space augmentation, latent
# augmentation shots, image x latent; 9-way 5-shot tasks with novel classes
# 7 and 8, 300 tasks, Ridge; one process (wsi_workdir/ablation.py), one
# block per setting, one table at the end. Needs extract_ablation_feats.sh
# first. Settings: wsi_workdir/scripts/_env.sh; PROTOTYPES, IMAGE, LATENT,
# HYBRID override the values of a part (e.g. IMAGE="4 9 16"; "none" skips
# it: IMAGE=none HYBRID=none need no NCT_aug features); MODELS is one
# family (default clp, as published; MODELS=fsp for FSP; several are
# refused); SHOTS, OUT_SHOTS and OUT_HOMO_SHOTS are refused (the tasks
# are 5-shot, as published).
# Results go to $WORKDIR/ablation_results/, apart from the
# near-domain results (near_domain.sh with 78 shares two settings).
#   sh wsi_workdir/scripts/ablation.sh 2>&1 | tee wsi_workdir/logs/ablation.txt
set -e
. "$(dirname "$0")/_help.sh"
. "$(dirname "$0")/_env.sh"
no_arguments "$@"

family=$(one_model)
date
run $PYTHON -u wsi_workdir/ablation.py \
    --model "${family}_wo_78" \
    ${NUM_TASK:+--num_task $NUM_TASK} \
    ${PROTOTYPES:+--prototypes $PROTOTYPES} \
    ${IMAGE:+--image $IMAGE} \
    ${LATENT:+--latent $LATENT} \
    ${HYBRID:+--hybrid $HYBRID} \
    ${NUM_SHIFT_VECTORS:+--num_shift_vectors $NUM_SHIFT_VECTORS} \
    ${SEED:+--seed $SEED --task_seed $SEED --dict_seed $SEED} \
    --device "$DEVICE" --workdir "$WORKDIR"
