#!/bin/sh
# Out-domain meta-test (3-way PAIP19): support drawn from any training slide
# (out: 1 5 10 50 100 shots, as published) and from one slide (out_homo:
# 5 10 50 100), every classifier x mode, for the models pre-trained on all
# NCT classes; one process per family (wsi_workdir/sweep.py); a summary at
# the end. Needs extract_mixture_and_out_domain_feats.sh first (task
# stores and dictionaries are made if missing). A setting whose result
# JSON is current for it (same settings, precision, device kind, features, tasks and
# dictionary) is reused, not computed again: run again after an
# interruption, the script goes on where it stopped; RECOMPUTE=1 computes
# every setting again.
# Settings: wsi_workdir/scripts/_env.sh; OUT_SHOTS replaces the hetero
# shots, OUT_HOMO_SHOTS the homo ones (each its own list: the published
# scripts never ran homo 1-shot); SHOTS (the near and mixture domains')
# is not read, and named in a note line (exported for the whole chain).
#   sh wsi_workdir/scripts/out_domain.sh 2>&1 | tee wsi_workdir/logs/out_domain.txt
set -e
. "$(dirname "$0")/_help.sh"
. "$(dirname "$0")/_env.sh"
no_arguments "$@"

sweep_families out out_homo -- ${OUT_SHOTS:+--out_shots $OUT_SHOTS} \
    ${OUT_HOMO_SHOTS:+--out_homo_shots $OUT_HOMO_SHOTS}
date
run $PYTHON wsi_workdir/summarize.py --workdir "$WORKDIR"
