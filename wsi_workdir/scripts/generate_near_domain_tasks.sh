#!/bin/sh
# Near-domain task stores: 9-way tasks on NCT (support from train, queries from
# test), one store per held-out class and shot count. Tasks are indices, so one
# store serves every model; an existing store is reused, never replaced (pass
# OVERWRITE=1 to draw it again). Needs the labels written by
# extract_near_domain_feats.sh. Settings: wsi_workdir/scripts/_env.sh.
#   sh wsi_workdir/scripts/generate_near_domain_tasks.sh 2>&1 | tee wsi_workdir/logs/generate_near_domain_tasks.txt
set -e
. "$(dirname "$0")/_env.sh"
if [ -n "${OVERWRITE:-}" ]; then OVERWRITE_ARG=--overwrite; else OVERWRITE_ARG=; fi
family=$(echo $MODELS | cut -d' ' -f1)

for c in $NOVEL_CLASSES; do
    for shots in $SHOTS; do
        run $PYTHON -u wsi_workdir/tools/generate_task.py \
            --task near \
            --num_shots "$shots" \
            --num_task "$NUM_TASK" \
            --novel_class "$c" \
            --model "${family}_wo_$c" \
            --seed "$SEED" \
            --workdir "$WORKDIR" $OVERWRITE_ARG
    done
done
