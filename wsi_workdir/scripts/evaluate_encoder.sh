#!/bin/sh
# The low-shot protocol for one encoder: the feature sets its domains read
# (NCT_train, the dictionary's base set, for near or a mode but linear),
# then one sweep process for every domain (task stores and the base
# dictionary made where missing, every novel class x classifier x shots x
# mode, each setting's result JSON under $WORKDIR/results/MODEL/), then the
# summary. Defaults are the published protocol's (_env.sh, spec.py): 1000
# tasks, shots 1 5 10 (out: 1 5 10 50 100, homo 5 10 50 100), novel classes
# 0..8 (c alone for a MODEL named <family>_wo_<c>), Ridge / logistic
# regression / nearest centroid, linear and latent_aug. A setting whose
# result JSON is current for it (same settings, precision, device kind, features, tasks
# and dictionary) is reused, not computed again: run again after an
# interruption, the script goes on where it stopped; RECOMPUTE=1 computes
# every setting again.
#
#   sh wsi_workdir/scripts/evaluate_encoder.sh MODEL ENCODER [WORKDIR]
#
# MODEL    the name of the encoder in the workdir (extracted_feats/MODEL/)
# ENCODER  a checkpoint of this project (tools/train.py), or with
#          EXTRACT_SOURCE=timm:<name> / open_clip:<name>[:<tag>] that model's
#          weights (file or hub-layout folder; EXTRACT_MODEL_OPTS adds
#          --model-kwargs / --preprocess / --pool / --no-proj), or "random"
#          (the encoder at its seeded random initialisation), or "-": the
#          features are in the workdir already (import_features.py).
#          A set extracted already from the same encoder, image list,
#          settings and library releases is kept (extract.py --reuse): a
#          rerun with other shots, classifiers or modes extracts nothing
#          again.
# WORKDIR  low-shot workdir (default $WORKDIR or wsi_workdir/workdir)
# Environment: DOMAINS ("near mixture out out_homo"), NOVEL_CLASSES (near
# domain; default 0..8, but c for a MODEL named <family>_wo_<c>, the
# encoder trained without class c (the published pairing: the near domain
# scores it on c alone, and refuses it on another class; a suffix that is
# no class id, clp_wo_99, stops the script with the ways out); "none":
# tasks without a novel class; given, it is kept), SHOTS (near and mixture),
# OUT_SHOTS (out) and OUT_HOMO_SHOTS (out_homo), each unset the published
# list (as in the domain scripts: SHOTS never reaches out_homo, whose
# published shots have no 1-shot; each is refused where DOMAINS hold
# no domain that reads it: SHOTS without near or mixture), NUM_TASK, MODES, CLFS, DEVICE, and the
# rest of _env.sh (OVERWRITE is refused: the sweep never replaces a task
# store; generate_*_tasks.sh with OVERWRITE=1 draws them again). Every
# encoder evaluated in one workdir is tested on the same task stores, so
# two of them can be compared pair by pair: python wsi_workdir/summarize.py --workdir W --compare A B
set -e
. "$(dirname "$0")/_help.sh"
positional_arguments "MODEL ENCODER [WORKDIR]" 2 3 "$@"
MODEL=$1
ENCODER=$2
WORKDIR=${3:-${WORKDIR:-wsi_workdir/workdir}}
DOMAINS=${DOMAINS:-"near mixture out out_homo"}
. "$(dirname "$0")/_env.sh"
# a MODEL named <family>_wo_<c> pairs with novel class c where
# NOVEL_CLASSES is unset (novel_default, _env.sh); demo_lowshot.sh, which
# sources this script and sets NOVEL_CLASSES from its NOVEL, gives that
# variable's name and its default (none) in _novel_variable and
# _default_NOVEL_CLASSES
novel_default "$_novel_given" "${_novel_variable:-NOVEL_CLASSES}" \
    "${_default_NOVEL_CLASSES:-$NOVEL_CLASSES}" "$MODEL" $DOMAINS

# each domain's own shots flag, where it runs and its variable is set
# (SHOTS: near and mixture; OUT_SHOTS: out; OUT_HOMO_SHOTS: out_homo:
# shots_of, _env.sh's DOMAIN_SHOTS)
_shots=
for domain in $DOMAINS; do
    shots_of "$domain"
    _shots="$_shots ${_list:+--${domain}_shots $_list}"
done

if [ "$ENCODER" = - ]; then
    echo "== 1/3 features of $MODEL: already in $WORKDIR/extracted_feats/$MODEL"
else
    # the sweep's settings (NUM_TASK, SHOTS, MODES, CLFS, NOVEL_CLASSES,
    # DEVICE, ...) checked first: a bad one (NUM_TASK=0, MODES=latent) was
    # refused by sweep.py only after every feature set was extracted
    sweep "$MODEL" $DOMAINS -- --model_template '{model}' $_shots --check
    echo "== 1/3 features of $MODEL from $ENCODER"; date
    # a set extracted already from this encoder, list, images and settings
    # is kept (extract.py --reuse): a rerun with other SHOTS, CLFS, MODES or
    # NUM_TASK extracted every set again; another checkpoint, list, images
    # or EXTRACT_OPTS extracts it again
    _reuse=yes
    extract "$MODEL" "$ENCODER" $(feature_sets $DOMAINS)
fi

# one process for every domain (wsi_workdir/sweep.py): it draws the task
# stores and builds the base dictionaries it lacks and loads the features
# once; near-domain settings use MODEL's features for every novel class
echo "== 2/3 tasks, dictionaries and meta-tests"; date
sweep "$MODEL" $DOMAINS -- --model_template '{model}' $_shots

echo "== 3/3 summary"; date
run $PYTHON wsi_workdir/summarize.py --workdir "$WORKDIR"
