#!/bin/sh
# Near domain: NCT train/test features of every held-out-class model
# (clp_wo_<c>, fsp_wo_<c>). Settings: wsi_workdir/scripts/_env.sh.
#   sh wsi_workdir/scripts/extract_near_domain_feats.sh 2>&1 | tee wsi_workdir/logs/extract_near_domain_feats.txt
set -e
. "$(dirname "$0")/_env.sh"

for family in $MODELS; do
    for c in $NOVEL_CLASSES; do
        date
        ckpt=$(checkpoint "$family" "wo_$c")
        extract "${family}_wo_$c" "$ckpt" NCT_train NCT_test
    done
done
