#!/bin/sh
# Mixture-domain meta-test (5-way LC25000) of the models pre-trained on all NCT
# classes: base dictionary on NCT train, then every classifier x shots x mode;
# a summary at the end. Needs extract_mixture_and_out_domain_feats.sh and
# generate_mixture_and_out_domain_tasks.sh first.
# Settings: wsi_workdir/scripts/_env.sh.
#   sh wsi_workdir/scripts/mixture_domain.sh 2>&1 | tee wsi_workdir/logs/mixture_domain.txt
set -e
. "$(dirname "$0")/_env.sh"

for family in $MODELS; do
    date
    dictionary "$family" -
    meta_test mixture "$family" -
done
date
run $PYTHON wsi_workdir/summarize.py --workdir "$WORKDIR"
