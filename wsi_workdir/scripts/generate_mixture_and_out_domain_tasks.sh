#!/bin/sh
# Mixture-domain (5-way LC25000) and out-domain (3-way PAIP19; hetero: support
# from any training slide, homo: from one slide) task stores. An existing store
# is reused, never replaced (OVERWRITE=1 draws it again). Needs the labels
# written by extract_mixture_and_out_domain_feats.sh.
# Settings: wsi_workdir/scripts/_env.sh; OUT_SHOTS (default SHOTS) for PAIP19.
#   sh wsi_workdir/scripts/generate_mixture_and_out_domain_tasks.sh 2>&1 | tee wsi_workdir/logs/generate_mixture_and_out_domain_tasks.txt
set -e
. "$(dirname "$0")/_env.sh"
OUT_SHOTS=${OUT_SHOTS:-$SHOTS}
if [ -n "${OVERWRITE:-}" ]; then OVERWRITE_ARG=--overwrite; else OVERWRITE_ARG=; fi
family=$(echo $MODELS | cut -d' ' -f1)

for shots in $SHOTS; do
    run $PYTHON -u wsi_workdir/tools/generate_task.py \
        --task mixture --num_shots "$shots" --num_task "$NUM_TASK" \
        --model "$family" --seed "$SEED" --workdir "$WORKDIR" $OVERWRITE_ARG
done
for mode in hetero homo; do
    for shots in $OUT_SHOTS; do
        run $PYTHON -u wsi_workdir/tools/generate_task.py \
            --task out --mode "$mode" --num_shots "$shots" --num_task "$NUM_TASK" \
            --model "$family" --seed "$SEED" --workdir "$WORKDIR" $OVERWRITE_ARG
    done
done
