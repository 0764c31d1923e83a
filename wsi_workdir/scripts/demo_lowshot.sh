#!/bin/sh
# The low-shot chain, shortened, for one encoder on the synthetic data:
# extract the five feature sets, build the base dictionary, draw 30 tasks per
# setting and meta-test them (every classifier, linear and latent_aug, 1 and 5
# shots; one sweep process for all domains) and summarise. A couple of
# minutes on 2 CPU cores.
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
NOVEL=${NOVEL:-none}
NUM_PROTOTYPES=${NUM_PROTOTYPES:-8}
NUM_AUG_SHOTS=${NUM_AUG_SHOTS:-10}
EXTRACT_BATCH=${EXTRACT_BATCH:-64}
. "$(dirname "$0")/_env.sh"
for domain in $DOMAINS; do
    case $domain in
        near|mixture|out|out_homo) ;;
        *) echo "unknown domain $domain (near, mixture, out, out_homo)" >&2; exit 2 ;;
    esac
done

echo "== 1/3 features of $MODEL from $CKPT"; date
extract "$MODEL" "$CKPT" NCT_train NCT_test LC PAIP_train PAIP_test

# One process for every domain (wsi_workdir/sweep.py): it draws the task
# stores and builds the base dictionary it lacks, loads the features once
# and writes every setting's result JSON under results/.
echo "== 2/3 tasks, dictionary and meta-tests: $NUM_TASK tasks per setting"; date
NOVEL_CLASSES=$NOVEL sweep "$MODEL" $DOMAINS -- --model_template '{model}' \
    --shots $SHOTS

echo "== 3/3 summary"; date
run $PYTHON wsi_workdir/summarize.py --workdir "$WORKDIR"
