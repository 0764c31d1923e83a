#!/bin/sh
# Ablation features of the encoder pre-trained without STR and TUM
# (clp_wo_78): NCT train and test, and AUG_TIMES image-augmented copies of
# NCT train (configs/extraction/nct_aug.py: RandomResizedCrop 224 scale
# (0.8, 1), flip, colour jitter 0.4/0.4/0.4 hue 0.2 with p 0.8; seeded).
# AUG_TIMES (default 16) bounds the image part of ablation.sh: its largest
# aug_times needs AUG_TIMES >= aug_times - 1 copies (80,000 x 512 float32 =
# 164 MB per copy at paper scale). Settings: wsi_workdir/scripts/_env.sh
# (not EXTRACT_SOURCE: the copies take a checkpoint of the config's encoder;
# MODELS is one family, default clp, as published; several are refused).
#   sh wsi_workdir/scripts/extract_ablation_feats.sh 2>&1 | tee wsi_workdir/logs/extract_ablation_feats.txt
set -e
. "$(dirname "$0")/_help.sh"
. "$(dirname "$0")/_env.sh"
no_arguments "$@"
AUG_TIMES=${AUG_TIMES:-16}
# the augmented copies come from the config's random pipeline, which a
# timm / open_clip model (--model-source) does not take: refused before
# NCT train and test are extracted (the copies' command failed after them)
if [ -n "$EXTRACT_SOURCE" ]; then
    refuse "EXTRACT_SOURCE is set, but the ablation's augmented copies" \
        "(NCT_aug: extract.py --aug_times, the config's random pipeline)" \
        "take a checkpoint of the config's encoder, not a timm or" \
        "open_clip model; unset EXTRACT_SOURCE (ablation.sh with" \
        "IMAGE=none HYBRID=none needs no NCT_aug: extract NCT_train and" \
        "NCT_test of <model>_wo_78 with evaluate_encoder.sh or extract.py)"
fi

# the family and its checkpoint are looked up (and refused) before any
# output: a refusal is the one line the script prints
family=$(one_model)
ckpt=$(checkpoint "$family" wo_78)
date
extract "${family}_wo_78" "$ckpt" NCT_train NCT_test
run $PYTHON -u wsi_workdir/extract.py \
    --config configs/extraction/nct_aug.py \
    --pretrained "$ckpt" \
    --output "$WORKDIR/extracted_feats/${family}_wo_78/NCT_aug.npy" \
    --batch-size "$EXTRACT_BATCH" \
    --device "$DEVICE" \
    --aug_times "$AUG_TIMES" ${SEED:+--seed $SEED} \
    --cfg-options dataset.data_root="$DATA/NCT" $EXTRACT_OPTS
