#!/bin/sh
# Out-domain meta-test (3-way PAIP19): support drawn from any training slide
# (out) and from one slide (out_homo), every classifier x shots x mode, for the
# models pre-trained on all NCT classes; a summary at the end. Builds the base
# dictionary (NCT train) as mixture_domain.sh does. Needs
# extract_mixture_and_out_domain_feats.sh and
# generate_mixture_and_out_domain_tasks.sh first.
# Settings: wsi_workdir/scripts/_env.sh; OUT_SHOTS (default SHOTS).
#   sh wsi_workdir/scripts/out_domain.sh 2>&1 | tee wsi_workdir/logs/out_domain.txt
set -e
. "$(dirname "$0")/_env.sh"
SHOTS=${OUT_SHOTS:-$SHOTS}

for family in $MODELS; do
    date
    dictionary "$family" -
    for task in out out_homo; do
        meta_test "$task" "$family" -
    done
done
date
run $PYTHON wsi_workdir/summarize.py --workdir "$WORKDIR"
