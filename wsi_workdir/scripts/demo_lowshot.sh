#!/bin/sh
# The low-shot chain, shortened, for one encoder on the synthetic data:
# extract the five feature sets, build the base dictionary, draw 30 tasks per
# setting and meta-test them (every classifier, linear and latent_aug, 1 and 5
# shots; one sweep process per domain) and summarise. A couple of minutes on
# 2 CPU cores.
#
#   sh wsi_workdir/scripts/demo_lowshot.sh CKPT [WORKDIR] [CONFIG_OPTS]
#
# CKPT         a checkpoint from tools/train.py (or backbone weights)
# WORKDIR      low-shot workdir (default wsi_workdir/workdir/demo)
# CONFIG_OPTS  extraction --cfg-options matching the encoder, one string, e.g.
#              "model.backbone.base_channels=16 model.backbone.stem_channels=16 dataset.pipeline.1.scale=64"
# Environment: MODEL (name in the workdir, default clp), NUM_TASK (30), SHOTS
# ("1 5"), DOMAINS ("near mixture out"; add out_homo), NOVEL (near-domain novel
# class, default none), DATA (data), DEVICE (cpu); see also _env.sh.
set -e
if [ $# -lt 1 ]; then
    echo "usage: sh $0 CKPT [WORKDIR] [CONFIG_OPTS]" >&2
    exit 2
fi
CKPT=$1
WORKDIR=${2:-wsi_workdir/workdir/demo}
EXTRACT_OPTS=${3:-}
MODEL=${MODEL:-clp}
NUM_TASK=${NUM_TASK:-30}
SHOTS=${SHOTS:-"1 5"}
DOMAINS=${DOMAINS:-"near mixture out"}
NOVEL=${NOVEL:-}
NUM_PROTOTYPES=${NUM_PROTOTYPES:-8}
NUM_AUG_SHOTS=${NUM_AUG_SHOTS:-10}
EXTRACT_BATCH=${EXTRACT_BATCH:-64}
. "$(dirname "$0")/_env.sh"
if [ -z "$NOVEL" ]; then NOVEL=-; fi

echo "== 1/4 features of $MODEL from $CKPT"; date
extract "$MODEL" "$CKPT" NCT_train NCT_test LC PAIP_train PAIP_test

echo "== 2/4 base dictionary of $MODEL"; date
dictionary "$MODEL" -

# One process per domain (wsi_workdir/sweep.py) instead of one per setting as
# near_domain.sh does: the sweep draws the task stores it lacks, loads the
# features once and writes every setting's result JSON under results/.
echo "== 3/4 tasks and meta-tests: $NUM_TASK tasks per setting"; date
if [ "$NOVEL" = - ]; then NOVEL_SWEEP=none; else NOVEL_SWEEP=$NOVEL; fi
for domain in $DOMAINS; do
    case $domain in
        near|mixture|out|out_homo) ;;
        *) echo "unknown domain $domain (near, mixture, out, out_homo)" >&2; exit 2 ;;
    esac
    run $PYTHON -u wsi_workdir/sweep.py --model "$MODEL" --task "$domain" \
        --novel_classes "$NOVEL_SWEEP" --model_template '{model}' \
        --shots $SHOTS --clfs $CLFS --modes $MODES \
        --num_task "$NUM_TASK" --num_aug_shots "$NUM_AUG_SHOTS" \
        --num_prototypes "$NUM_PROTOTYPES" \
        --num_shift_vectors "$NUM_SHIFT_VECTORS" --dict_seed "$SEED" \
        --seed "$SEED" --task_seed "$SEED" --device "$DEVICE" \
        --workdir "$WORKDIR" --write_results
done

echo "== 4/4 summary"; date
run $PYTHON wsi_workdir/summarize.py --workdir "$WORKDIR"
