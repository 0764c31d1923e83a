#!/bin/sh
# Near domain: NCT train/test features of every held-out-class model
# (clp_wo_<c>, fsp_wo_<c>), all in one extract.py process (every checkpoint
# is checked before the first set). "none" in NOVEL_CLASSES (tasks without
# a novel class) reads the models of all classes, clp and fsp (checkpoints
# <family>_all, as extract_mixture_and_out_domain_feats.sh), whose features
# near_domain.sh then uses for those tasks; their NCT_train is the one
# extract_mixture_and_out_domain_feats.sh writes too: one already there
# of the same checkpoint, images and settings is kept (extract.py --reuse
# of that set), not extracted again. Settings: wsi_workdir/scripts/_env.sh.
#   sh wsi_workdir/scripts/extract_near_domain_feats.sh 2>&1 | tee wsi_workdir/logs/extract_near_domain_feats.txt
set -e
. "$(dirname "$0")/_help.sh"
. "$(dirname "$0")/_env.sh"
no_arguments "$@"

# every checkpoint is looked up (a family refused, and no model at all)
# before any output: a refusal is the one line the script prints
set --
_reuse_sets=
for family in $MODELS; do
    for c in $NOVEL_CLASSES; do
        # (an assignment, so that set -e stops on checkpoint's refusal)
        case $c in
            # no novel class: the family's model of all classes
            [Nn][Oo][Nn][Ee]) model=$family; ckpt=$(checkpoint "$family" all)
                _reuse_sets="$_reuse_sets $family/NCT_train" ;;
            *) model=${family}_wo_$c; ckpt=$(checkpoint "$family" "wo_$c") ;;
        esac
        set -- "$@" "$model" "$ckpt"
    done
done
check_model_pairs "$@"
date
extract_models "NCT_train NCT_test" "$@"
date
