#!/bin/sh
# Mixture-domain meta-test (5-way LC25000) of the models pre-trained on all
# NCT classes: every classifier x shots x mode, the base dictionary on NCT
# train; one process per family (wsi_workdir/sweep.py); a summary at the
# end. Needs extract_mixture_and_out_domain_feats.sh first (task stores
# and dictionaries are made if missing). The table reports the published
# final metric, the harmonic mean of the colon and lung class means with
# its CI. A setting whose result JSON is current for it (same settings,
# precision, device kind, features, tasks and dictionary) is reused, not computed
# again: run again after an interruption, the script goes on where it
# stopped; RECOMPUTE=1 computes every setting again.
# Settings: wsi_workdir/scripts/_env.sh.
#   sh wsi_workdir/scripts/mixture_domain.sh 2>&1 | tee wsi_workdir/logs/mixture_domain.txt
set -e
. "$(dirname "$0")/_help.sh"
. "$(dirname "$0")/_env.sh"
no_arguments "$@"

sweep_families mixture -- ${SHOTS:+--shots $SHOTS}
date
run $PYTHON wsi_workdir/summarize.py --workdir "$WORKDIR"
