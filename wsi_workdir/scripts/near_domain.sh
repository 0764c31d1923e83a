#!/bin/sh
# Near-domain meta-test: for each model family, the 9-way NCT tasks of every
# held-out class c on the features of <family>_wo_<c> (the encoder
# pre-trained without c), every classifier x shots x mode, the base
# dictionary of <family>_wo_<c> leaving c out; one process per family
# (wsi_workdir/sweep.py), one block per setting in the log; a summary at
# the end. Needs extract_near_domain_feats.sh first (task stores and
# dictionaries are made if missing). A setting whose result JSON is current
# for it (same settings, precision, device kind, features, tasks and dictionary) is
# reused, not computed again: run again after an interruption, the script
# goes on where it stopped; RECOMPUTE=1 computes every setting again.
# Settings: wsi_workdir/scripts/_env.sh.
#   sh wsi_workdir/scripts/near_domain.sh 2>&1 | tee wsi_workdir/logs/near_domain.txt
set -e
. "$(dirname "$0")/_help.sh"
. "$(dirname "$0")/_env.sh"
no_arguments "$@"

sweep_families near -- ${SHOTS:+--shots $SHOTS} \
    --model_template '{model}_wo_{novel}'
date
run $PYTHON wsi_workdir/summarize.py --workdir "$WORKDIR"
