#!/bin/sh
# Mixture and out domain: features of the models pre-trained on all NCT
# classes (clp, fsp): NCT_train (base dictionary), LC25000, PAIP19 train/test,
# in one extract.py process. The NCT_train of a family is the one
# extract_near_domain_feats.sh writes with NOVEL_CLASSES none: one already
# there of the same checkpoint, images and settings is kept (extract.py
# --reuse of that set), not extracted again (80,000 images on the real
# data). Settings: wsi_workdir/scripts/_env.sh.
#   sh wsi_workdir/scripts/extract_mixture_and_out_domain_feats.sh 2>&1 | tee wsi_workdir/logs/extract_mixture_and_out_domain_feats.txt
set -e
. "$(dirname "$0")/_help.sh"
. "$(dirname "$0")/_env.sh"
no_arguments "$@"

# every checkpoint is looked up (a family refused, and no model at all)
# before any output: a refusal is the one line the script prints
set --
_reuse_sets=
for family in $MODELS; do
    ckpt=$(checkpoint "$family" all)
    set -- "$@" "$family" "$ckpt"
    _reuse_sets="$_reuse_sets $family/NCT_train"
done
check_model_pairs "$@"
date
extract_models "NCT_train LC PAIP_train PAIP_test" "$@"
date
