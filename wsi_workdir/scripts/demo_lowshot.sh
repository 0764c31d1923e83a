#!/bin/sh
# The low-shot chain, shortened, for one encoder on the synthetic data:
# extract the five feature sets, draw 30 tasks per setting, build the base
# dictionary, meta-test (every classifier, linear and latent_aug, 1 and 5
# shots) and summarise. A couple of minutes on 2 CPU cores.
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
if [ -n "$NOVEL" ]; then NOVEL_ARG="--novel_class $NOVEL"; else NOVEL_ARG=; NOVEL=-; fi

echo "== 1/5 features of $MODEL from $CKPT"; date
extract "$MODEL" "$CKPT" NCT_train NCT_test LC PAIP_train PAIP_test

echo "== 2/5 tasks: $NUM_TASK per setting"; date
for domain in $DOMAINS; do
    for shots in $SHOTS; do
        case $domain in
            near) args="--task near $NOVEL_ARG" ;;
            mixture) args="--task mixture" ;;
            out) args="--task out --mode hetero" ;;
            out_homo) args="--task out --mode homo" ;;
            *) echo "unknown domain $domain (near, mixture, out, out_homo)" >&2; exit 2 ;;
        esac
        run $PYTHON -u wsi_workdir/tools/generate_task.py $args \
            --num_shots "$shots" --num_task "$NUM_TASK" --model "$MODEL" \
            --seed "$SEED" --workdir "$WORKDIR"
    done
done

echo "== 3/5 base dictionary"; date
dictionary "$MODEL" -

echo "== 4/5 meta-tests"; date
for domain in $DOMAINS; do
    if [ "$domain" = near ]; then meta_test near "$MODEL" "$NOVEL"
    else meta_test "$domain" "$MODEL" -; fi
done

echo "== 5/5 summary"; date
run $PYTHON wsi_workdir/summarize.py --workdir "$WORKDIR"
