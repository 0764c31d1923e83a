#!/bin/sh
# Near-domain meta-test: for each model family and held-out class c, the base
# dictionary of <family>_wo_<c> (NCT train without c), then every classifier x
# shots x mode on the 9-way NCT tasks with novel class c; a summary at the end.
# Needs extract_near_domain_feats.sh and generate_near_domain_tasks.sh first.
# Settings: wsi_workdir/scripts/_env.sh.
#   sh wsi_workdir/scripts/near_domain.sh 2>&1 | tee wsi_workdir/logs/near_domain.txt
set -e
. "$(dirname "$0")/_env.sh"

for family in $MODELS; do
    for c in $NOVEL_CLASSES; do
        date
        dictionary "${family}_wo_$c" "$c"
        meta_test near "${family}_wo_$c" "$c"
    done
done
date
run $PYTHON wsi_workdir/summarize.py --workdir "$WORKDIR"
