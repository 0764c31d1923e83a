#!/bin/sh
# Near-domain task stores: 9-way tasks on NCT (support from train, queries from
# test), one store per held-out class and shot count, all in one process.
# Tasks are indices, so one store serves every model; an existing store is
# reused, never replaced (OVERWRITE=1 draws it again). Needs the labels written
# by extract_near_domain_feats.sh. (near_domain.sh also makes missing stores.)
# Settings: wsi_workdir/scripts/_env.sh.
#   sh wsi_workdir/scripts/generate_near_domain_tasks.sh 2>&1 | tee wsi_workdir/logs/generate_near_domain_tasks.txt
set -e
. "$(dirname "$0")/_help.sh"
. "$(dirname "$0")/_env.sh"
no_arguments "$@"
if [ -n "${OVERWRITE:-}" ]; then OVERWRITE_ARG=--overwrite; else OVERWRITE_ARG=; fi

run $PYTHON -u wsi_workdir/tools/generate_task.py \
    --task near \
    ${SHOTS:+--num_shots $SHOTS} \
    --novel_class $NOVEL_CLASSES \
    ${NUM_TASK:+--num_task $NUM_TASK} ${SEED:+--seed $SEED} \
    --workdir "$WORKDIR" $OVERWRITE_ARG
