#!/bin/sh
# Mixture-domain (5-way LC25000) and out-domain (3-way PAIP19; hetero: support
# from any training slide, homo: from one slide) task stores, with the
# published shots (mixture 1 5 10; hetero 1 5 10 50 100; homo 5 10 50 100).
# An existing store is reused, never replaced (OVERWRITE=1 draws it again).
# Needs the labels written by extract_mixture_and_out_domain_feats.sh.
# (mixture_domain.sh and out_domain.sh also make missing stores.)
# Settings: wsi_workdir/scripts/_env.sh; SHOTS (mixture), OUT_SHOTS (PAIP19
# hetero) and OUT_HOMO_SHOTS (PAIP19 homo).
#   sh wsi_workdir/scripts/generate_mixture_and_out_domain_tasks.sh 2>&1 | tee wsi_workdir/logs/generate_mixture_and_out_domain_tasks.txt
set -e
. "$(dirname "$0")/_help.sh"
. "$(dirname "$0")/_env.sh"
no_arguments "$@"
if [ -n "${OVERWRITE:-}" ]; then OVERWRITE_ARG=--overwrite; else OVERWRITE_ARG=; fi
COMMON="${NUM_TASK:+--num_task $NUM_TASK} ${SEED:+--seed $SEED} --workdir $WORKDIR $OVERWRITE_ARG"

run $PYTHON -u wsi_workdir/tools/generate_task.py --task mixture \
    ${SHOTS:+--num_shots $SHOTS} $COMMON
run $PYTHON -u wsi_workdir/tools/generate_task.py --task out --mode hetero \
    ${OUT_SHOTS:+--num_shots $OUT_SHOTS} $COMMON
run $PYTHON -u wsi_workdir/tools/generate_task.py --task out --mode homo \
    ${OUT_HOMO_SHOTS:+--num_shots $OUT_HOMO_SHOTS} $COMMON
