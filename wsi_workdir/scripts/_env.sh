# Settings shared by the low-shot experiment scripts; sourced, not run,
# after _help.sh (whose refuse its checks call).
# Every variable can be set from the environment, e.g.
#   NUM_TASK=300 DEVICE=cuda sh wsi_workdir/scripts/near_domain.sh
# Run the scripts from the repository root.
#
# The protocol's parameters (NUM_TASK, NUM_PROTOTYPES, NUM_SHIFT_VECTORS,
# NUM_AUG_SHOTS, SEED, SHOTS, OUT_SHOTS, OUT_HOMO_SHOTS) have no value
# here: a flag is passed only when its variable is set, so the defaults
# are the commands' own, i.e. the published protocol's
# (openselfsup/lowshot/spec.py: 1000 tasks, K 16, M 2000, 100 augmentation
# shots; shots 1 5 10, out domain hetero 1 5 10 50 100 and homo 5 10 50
# 100). SHOTS is the near and mixture list, OUT_SHOTS the out (hetero) one,
# OUT_HOMO_SHOTS the out_homo one: no script gives SHOTS to out_homo;
# a shots setting a script does not read is refused (ablation.sh,
# evaluate_encoder.sh without near or mixture in DOMAINS), or named in a
# note by the scripts of the protocol's chain (check_shots_settings).
#   sh wsi_workdir/scripts/_env.sh --help    these words and every setting

# run itself (sh wsi_workdir/scripts/_env.sh --help), not sourced: its
# help, or its one line (it printed nothing, or 'refuse: command not
# found' outside the root)
case $0 in
    *_env.sh)
        . "$(dirname "$0")/_help.sh"
        refuse "is sourced by the low-shot scripts, not run; its settings:" \
            "sh $0 --help" ;;
esac

# the commands' paths (wsi_workdir/*.py, configs/, the defaults below) are
# the repository root's: run from another folder, a script stopped at its
# first command with python's "can't open file"
if [ ! -f wsi_workdir/sweep.py ] || [ ! -d configs ]; then
    refuse "run the scripts from the repository root (the folder" \
        "holding wsi_workdir/ and configs/); the current folder $(pwd)" \
        "is not it"
fi

PYTHON=${PYTHON:-python}
WORKDIR=${WORKDIR:-wsi_workdir/workdir}   # features, tasks, dictionaries, results
DATA=${DATA:-data}                        # data/NCT, data/LC25000, data/PAIP19
# DATA=DATA: the placeholder of a printed way out (too few samples) left
# as printed; a folder named DATA is ./DATA (openselfsup.utils.check_filled)
if [ "$DATA" = DATA ]; then
    refuse "DATA=DATA: a placeholder of a printed command; give the folder" \
        "the data was read from (it holds NCT, LC25000 and PAIP19) in its" \
        "place (a folder named DATA: ./DATA, or its absolute path)"
fi
DEVICE=${DEVICE:-cpu}                     # cpu, cuda or cuda:N (extraction and meta-test)
_models_given=${MODELS:-}                 # (the ablation scripts read it: one_model)
MODELS=${MODELS:-"clp fsp"}               # model families: CLP (MoCo-v3) and FSP (supervised);
                                          # the ablation scripts take one, default clp
_novel_given=${NOVEL_CLASSES:-}           # (evaluate_encoder.sh gives it to novel_default)
NOVEL_CLASSES=${NOVEL_CLASSES:-"0 1 2 3 4 5 6 7 8"}   # held-out NCT classes (add 78 for 7+8;
                                          # none: no novel class, the families' models of all classes)
MODES=${MODES:-"linear latent_aug"}
CLFS=${CLFS:-"Ridge logistic_regression nearest_centroid"}
RECOMPUTE=${RECOMPUTE:-}                  # set (RECOMPUTE=1): the sweeps compute every setting again;
                                          # unset: a setting whose result is current for it is reused
EXTRACT_BATCH=${EXTRACT_BATCH:-256}
EXTRACT_OPTS=${EXTRACT_OPTS:-}            # extra --cfg-options for extraction, e.g.
                                          # "model.backbone.base_channels=16 model.backbone.stem_channels=16"
# Any timm / open_clip encoder instead of this project's checkpoints:
EXTRACT_SOURCE=${EXTRACT_SOURCE:-}        # timm:<name> or open_clip:<name>[:<tag>]; the checkpoint
                                          # argument of extract() is then its --weights
EXTRACT_WEIGHTS=${EXTRACT_WEIGHTS:-}      # what checkpoint() returns when EXTRACT_SOURCE is set
EXTRACT_MODEL_OPTS=${EXTRACT_MODEL_OPTS:-}  # e.g. "--model-kwargs init_values=1e-5
                                          # dynamic_img_size=True --preprocess crop_pct=1.0"

# Checkpoints as tools/train.py writes them: <DIR>/<config name>/<CKPT>.
# CKPT=last: the work dir's last complete checkpoint (as --resume picks it),
# of a run that has ended (extract.py refuses an interrupted run's folder).
CLP_DIR=${CLP_DIR:-work_dirs/wsi_selfsup/moco_v3}
CLP_CKPT=${CLP_CKPT:-epoch_200.pth}
FSP_DIR=${FSP_DIR:-work_dirs/classification/nct}
FSP_CKPT=${FSP_CKPT:-epoch_100.pth}

# protocol flags of the set variables only (see above)
SPEC_OPTS="${NUM_TASK:+--num_task $NUM_TASK} \
${NUM_PROTOTYPES:+--num_prototypes $NUM_PROTOTYPES} \
${NUM_SHIFT_VECTORS:+--num_shift_vectors $NUM_SHIFT_VECTORS} \
${NUM_AUG_SHOTS:+--num_aug_shots $NUM_AUG_SHOTS} \
${SEED:+--seed $SEED --task_seed $SEED --dict_seed $SEED}"

# checkpoint FAMILY VARIANT: the checkpoint of clp|fsp trained on all|wo_<c>
# ($EXTRACT_WEIGHTS for any family when EXTRACT_SOURCE is set)
checkpoint() {
    if [ -n "$EXTRACT_SOURCE" ]; then
        if [ -z "$EXTRACT_WEIGHTS" ]; then
            refuse "EXTRACT_SOURCE=$EXTRACT_SOURCE needs EXTRACT_WEIGHTS (file, folder or random)"
        fi
        echo "$EXTRACT_WEIGHTS"; return
    fi
    case $1 in
        clp) _dir=$CLP_DIR/r18_bs256_ep200_$2; _ckpt=$CLP_CKPT ;;
        fsp) _dir=$FSP_DIR/r18_bs512_ep100_$2; _ckpt=$FSP_CKPT ;;
        *) refuse "unknown model family '$1' (clp or fsp)" ;;
    esac
    if [ "$_ckpt" = last ]; then
        if [ ! -d "$_dir" ]; then
            refuse "$_dir not found: train it first"
        fi
        echo "$_dir"  # extract.py reads the run's last complete checkpoint
    else
        echo "$_dir/$_ckpt"
    fi
}

# held_class MODEL [VARIABLE]: the class id a MODEL named <family>_wo_<c>
# says its encoder held out (c; clp_wo_07: 7), nothing for another name
# (clp, fsp_wo_LYM, clp_wo_3_seed1), as the library reads it
# (openselfsup.lowshot.spec.script_novel_class, on classes.model_held_out);
# a suffix that is no novel class id (clp_wo_99) is one error: line naming
# MODEL and VARIABLE (default NOVEL_CLASSES), the variable that would
# choose a class instead. Python is given the repository root from this
# script's place, first on sys.path, as the wsi_workdir/*.py commands
# insert it themselves (python -m found the package only where the
# current folder is on sys.path, not under PYTHONSAFEPATH=1, or where one
# is installed, perhaps another copy). Call it as
# _c=$(held_class "$MODEL"), so that set -e stops the script where it fails
held_class() {
    $PYTHON -c 'import sys; sys.path.insert(0, sys.argv[1]); '\
'from openselfsup.lowshot.spec import held_class_main; '\
'from openselfsup.utils import run_cli; '\
'sys.exit(run_cli(held_class_main, sys.argv[2:]))' \
        "$(cd "$(dirname "$0")/../.." && pwd)" "$@"
}

# novel_default GIVEN VARIABLE DEFAULT MODEL DOMAIN...: sets NOVEL_CLASSES,
# where GIVEN (the novel classes the user gave) is empty, to the class a
# MODEL named <family>_wo_<c> held out (held_class: the published pairing;
# the default 0..8 paired such a model with classes its encoder trained
# on, and the sweep stopped at the first, 0), else to DEFAULT (the
# script's: demo_lowshot.sh's none, else the default above); classes given
# are kept. VARIABLE names the variable the user sets (NOVEL_CLASSES;
# demo_lowshot.sh's NOVEL), for held_class's line. The novel class is the
# near domain's alone (sweep passes --novel_classes for near only):
# without near among the DOMAINs nothing is asked, and a MODEL whose
# suffix is no class (clp_wo_99) runs
novel_default() {
    if [ -n "$1" ]; then return 0; fi
    _variable=$2
    _default=$3
    shift 3
    case " $* " in *" near "*) ;; *) return 0 ;; esac
    _c=$(held_class "$1" "$_variable")
    NOVEL_CLASSES=${_c:-$_default}
}

# data_root NAME: the dataset folder a feature set is read from
data_root() {
    case $1 in
        NCT_*) echo "$DATA/NCT" ;;
        LC) echo "$DATA/LC25000" ;;
        PAIP_*) echo "$DATA/PAIP19" ;;
    esac
}

# extract MODEL CHECKPOINT NAME...: features of MODEL for each feature set NAME
# (NCT_train NCT_test LC PAIP_train PAIP_test), in the workdir layout, in
# one extract.py process (the model is built and its weights read once).
# CHECKPOINT: a checkpoint of the config's encoder (tools/train.py), or with
# EXTRACT_SOURCE set the weights of that timm / open_clip model (file or
# hub-layout folder; EXTRACT_MODEL_OPTS adds its flags); "random": the
# encoder at its seeded random initialisation (a baseline).
extract() {
    _model=$1; _ckpt=$2; shift 2
    extract_models "$*" "$_model" "$_ckpt"
}

# check_model_pairs MODEL CHECKPOINT [MODEL CHECKPOINT...]: refuses none,
# or an odd count (a script calls it before its first output, so that a
# refusal is the one line it prints; extract_models calls it again)
check_model_pairs() {
    if [ $# = 0 ]; then
        refuse "extract_models: no models to extract (MODELS or NOVEL_CLASSES empty?)"
    fi
    if [ $(($# % 2)) != 0 ]; then
        refuse "extract_models: give MODEL CHECKPOINT pairs after the names, got: $*"
    fi
}

# extract_models "NAME..." MODEL CHECKPOINT [MODEL CHECKPOINT...]: the same
# for several models in one extract.py process (every checkpoint is read
# and checked before the first set; one start-up instead of one per model).
# With _reuse set (evaluate_encoder.sh), extract.py --reuse keeps the sets
# that are this extraction already (same encoder, images and settings);
# with _reuse_sets ("MODEL/NAME ...": the extraction scripts' family
# NCT_train, which both write), those sets only (--reuse OUTPUT).
extract_models() {
    _names=$1; shift
    _src=${EXTRACT_SOURCE:+--model-source $EXTRACT_SOURCE}
    check_model_pairs "$@"
    # one checkpoint for all models, or each model's own (--pretrained per set)
    _one=$2; _each=no; _random=no; _i=0
    for _a in "$@"; do
        if [ $((_i % 2)) = 1 ]; then
            if [ "$_a" != "$_one" ]; then _each=yes; fi
            if [ "$_a" = random ]; then _random=yes; fi
        fi
        _i=$((_i + 1))
    done
    if [ "$_each" = yes ] && { [ -n "$EXTRACT_SOURCE" ] || [ "$_random" = yes ]; }; then
        refuse "extract_models: models with different checkpoints take config checkpoints only (not EXTRACT_SOURCE or random)"
    fi
    if [ "$_each" = yes ]; then _flag=; _one=
    elif [ "$_one" = random ]; then _flag=--random-init; _one=
    elif [ -n "$EXTRACT_SOURCE" ]; then _flag=--weights
    else _flag=--pretrained; fi
    _opts=$(printf '%s ' $EXTRACT_OPTS)   # its words, one blank apart
    _opts=${_opts% }                        # ("" when EXTRACT_OPTS is blank)
    # a dataset.data_root in EXTRACT_OPTS wins over $DATA, as it always did
    case " $_opts " in *" dataset.data_root="*) _roots=no ;; *) _roots=yes ;; esac
    # each MODEL x NAME becomes "--config C --output O [--data-root D]
    # [--pretrained CHECKPOINT]" (appended to the arguments while the
    # MODEL CHECKPOINT pairs are shifted off the front)
    _pairs=$(($# / 2))
    while [ "$_pairs" -gt 0 ]; do
        _model=$1; _ckpt=$2; shift 2
        for _name in $_names; do
            set -- "$@" \
                --config "configs/extraction/$(echo "$_name" | tr 'A-Z' 'a-z').py" \
                --output "$WORKDIR/extracted_feats/$_model/$_name.npy"
            if [ "$_roots" = yes ]; then
                set -- "$@" --data-root "$(data_root "$_name")"
            fi
            if [ "$_each" = yes ]; then set -- "$@" --pretrained "$_ckpt"; fi
            case " ${_reuse_sets:-} " in
                *" $_model/$_name "*) set -- "$@" --reuse \
                    "$WORKDIR/extracted_feats/$_model/$_name.npy" ;;
            esac
        done
        _pairs=$((_pairs - 1))
    done
    # a refusal that names --cfg-options (a checkpoint of another width
    # than the config's) says how this script takes them (a subshell: the
    # variable reaches extract.py only)
    (
    export OPENSELFSUP_CFG_OPTIONS_AS="$(cfg_options_as)"
    # a --data-root of $DATA whose folder is not there: extract.py's line
    # names the setting it came from (it named the --data-root the script
    # gave, which the user never typed)
    if [ "$_roots" = yes ]; then export OPENSELFSUP_DATA_ROOT_AS="DATA=$DATA"; fi
    run $PYTHON -u wsi_workdir/extract.py "$@" \
        $_src $_flag ${_one:+"$_one"} $EXTRACT_MODEL_OPTS ${_reuse:+--reuse} \
        --batch-size "$EXTRACT_BATCH" \
        --device "$DEVICE" \
        ${_opts:+--cfg-options $_opts}
    )
}

# cfg_options_as: how this script takes extract.py's --cfg-options, in a
# sentence (demo_lowshot.sh: its third argument; the others: EXTRACT_OPTS)
cfg_options_as() {
    case $(basename "$0") in
        demo_lowshot.sh) echo "demo_lowshot.sh takes them as its third" \
            "argument, CONFIG_OPTS, one quoted string: sh $0 CKPT WORKDIR" \
            "\"KEY=VALUE ...\"" ;;
        *) echo "$(basename "$0") takes them in the environment:" \
            "EXTRACT_OPTS=\"KEY=VALUE ...\" sh $0" ;;
    esac
}

# feature_sets DOMAIN...: the feature sets the domains read in the MODES
# run: NCT_train for the near domain and, the base set of the dictionary,
# for any mode but linear (with MODES=linear the mixture and out domains
# read their own sets only; NCT_train is 80,000 of the real images)
feature_sets() {
    _sets=
    case " $* " in *" near "*) _sets="NCT_train NCT_test" ;; esac
    for _mode in $MODES; do
        if [ "$_mode" != linear ] && [ -z "$_sets" ]; then _sets=NCT_train; fi
    done
    case " $* " in *" mixture "*) _sets="$_sets LC" ;; esac
    case " $* " in *" out"*) _sets="$_sets PAIP_train PAIP_test" ;; esac
    echo "$_sets"
}

# sweep FAMILY TASK... [-- EXTRA FLAGS]: every novel class x classifier x
# shots x mode of one model family on the given domains, in one process
# (wsi_workdir/sweep.py): features, task stores and dictionaries are loaded
# once; missing stores and dictionaries are made; each setting prints its
# table and writes its result JSON under $WORKDIR/results/; a setting whose
# result there is current for it (same settings, precision and device kind, same
# features, tasks and dictionary) is reused, not computed again, so a
# script run again after an interruption goes on where it stopped
# (RECOMPUTE=1: sweep.py --recompute, every setting computed again). With --check
# among the extra flags: the settings checked only, the command not
# printed; sweep.py --as_script "$0" phrases a refusal as one line of this
# script naming the setting and its value (SHOTS="0", not the
# --near_shots 0 the user never typed: openselfsup/lowshot/script_settings.py),
# its stdout, stderr and exit code passing as they are.
sweep() {
    _family=$1; shift
    _tasks=
    while [ $# -gt 0 ] && [ "$1" != -- ]; do _tasks="$_tasks $1"; shift; done
    [ "${1:-}" = -- ] && shift
    # novel classes are the near domain's (sweep.py refuses them without)
    _novel=
    case " $_tasks " in *" near "*) _novel="--novel_classes $NOVEL_CLASSES" ;; esac
    case " $* " in
        *" --check "*) _run=; set -- "$@" --as_script "$0" ;;
        *) _run=run ;;
    esac
    $_run $PYTHON -u wsi_workdir/sweep.py \
        --model "$_family" \
        --task $_tasks \
        $_novel \
        --clfs $CLFS \
        --modes $MODES \
        --device "$DEVICE" \
        --workdir "$WORKDIR" \
        $SPEC_OPTS ${RECOMPUTE:+--recompute} "$@"
}

# sweep_families TASK... -- [EXTRA FLAGS]: sweep for every family of
# MODELS, one process each; the first family's sweep checks the later
# families' feature sets present with its own before it makes anything
# (sweep.py --check_models), so that a missing one of the second family
# stops the script before the first family's sweep, not after it (hours,
# at paper scale), and without a process of its own (a check process per
# family added a torch start-up each, ~1.3 s)
sweep_families() {
    _first=; _later=
    for _f in $MODELS; do
        if [ -z "$_first" ]; then _first=$_f; else _later="$_later $_f"; fi
    done
    date
    sweep "$_first" "$@" ${_later:+--check_models $_later}
    for _f in $_later; do
        date
        sweep "$_f" "$@"
    done
}

# one_model: the one model family of the ablation scripts (the published
# ablation is CLP's): MODELS as given, else clp (not the default's "clp
# fsp"); a MODELS of several families is refused (the scripts ran the
# first and dropped the others without a word). Call it as
# family=$(one_model), so that set -e stops the script on the refusal.
one_model() {
    set -- $_models_given
    if [ $# = 0 ]; then echo clp; return; fi
    if [ $# -gt 1 ]; then
        refuse "MODELS=\"$_models_given\" names $# model families, but" \
            "the ablation runs one encoder (the published ablation is" \
            "CLP's: MODELS=clp, the default); run it once per family," \
            "e.g. MODELS=$1 sh $0"
    fi
    echo "$1"
}

# run CMD...: print the command (for the log), then run it
run() {
    echo "+ $*"
    "$@"
}

# The domains and the shots setting that gives each its shots (SHOTS the
# near and mixture domains, OUT_SHOTS out, OUT_HOMO_SHOTS out_homo): the
# rule of openselfsup/lowshot/script_settings.py (DOMAIN_SHOTS, spec.TASKS;
# the sweep's check phrases its refusals by it), written here as its
# shell_rules() writes it (tests/test_lowshot_scripts.py checks these two
# lines against it): the checks below run before any python process
DOMAIN_NAMES="near mixture out out_homo"
DOMAIN_SHOTS="near:SHOTS mixture:SHOTS out:OUT_SHOTS out_homo:OUT_HOMO_SHOTS"
# the shots settings, each once, in that order
SHOTS_SETTINGS=
for _p in $DOMAIN_SHOTS; do
    case " $SHOTS_SETTINGS " in
        *" ${_p#*:} "*) ;;
        *) SHOTS_SETTINGS="${SHOTS_SETTINGS:+$SHOTS_SETTINGS }${_p#*:}" ;;
    esac
done
# setting_domains SETTING "DOMAIN...": sets _ds to those of the DOMAINs
# SETTING gives their shots, in their order, joined by " and "
setting_domains() {
    _ds=
    for _d in $2; do
        case " $DOMAIN_SHOTS " in
            *" $_d:$1 "*) _ds="${_ds:+$_ds and }$_d" ;;
        esac
    done
}
# shots_of DOMAIN: sets _list to the value of DOMAIN's shots setting,
# else (unset or empty) to the script's default of it, _default_<SETTING>
# (demo_lowshot.sh's), else to ""
shots_of() {
    _list=
    for _p in $DOMAIN_SHOTS; do
        case $_p in
            "$1:"*) eval "_list=\${${_p#*:}:-\${_default_${_p#*:}:-}}" ;;
        esac
    done
}

# A misspelt setting in the environment (NUM_TASKS=300, SHOT=5,
# NOVEL_CLASS=7, CLF=Ridge) would be ignored, and the run, hours long, use
# the default: refused. The settings any script reads, and their near
# misses (a plural or singular form, the name without underscores):
SETTINGS_READ="AUG_TIMES CLFS CLP_CKPT CLP_DIR DATA DEVICE DOMAINS \
EXTRACT_BATCH EXTRACT_MODEL_OPTS EXTRACT_OPTS EXTRACT_SOURCE EXTRACT_WEIGHTS \
FSP_CKPT FSP_DIR HYBRID IMAGE LATENT MODEL MODELS MODES NOVEL NOVEL_CLASSES \
NUM_AUG_SHOTS NUM_PROTOTYPES NUM_SHIFT_VECTORS NUM_TASK OUT_HOMO_SHOTS \
OUT_SHOTS OVERWRITE PROTOTYPES PYTHON RECOMPUTE SEED SHOTS WORKDIR"
# the names set in the environment, between spaces
_set=" $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' | tr '\n' ' ') "
# refuse_setting NAME READ WHO: NAME is set, but WHO ("the scripts read",
# "this script reads") READ
refuse_setting() {
    refuse "$1 is set, but $3 $2 (set $2 instead; unset $1 if it is" \
        "meant for another program)"
}
check_setting_names() {
    for _known in $SETTINGS_READ; do
        for _alt in "${_known}S" "${_known%S}" "${_known%ES}" \
                "$(echo "$_known" | tr -d _)"; do
            case " $SETTINGS_READ " in *" $_alt "*) continue ;; esac
            case $_set in
                *" $_alt "*) refuse_setting "$_alt" "$_known" \
                    "the scripts read" ;;
            esac
        done
    done
    # the commands' flag names where a script's setting is named otherwise
    # (--task_seed and --dict_seed are SEED, which sets all three seeds;
    # --num_shots, check_shots_settings): TASK_SEED=1 ran the tasks of
    # seed 0
    for _form in TASK_SEED:SEED DICT_SEED:SEED; do
        case $_set in *" ${_form%%:*} "*) ;; *) continue ;; esac
        case $(basename "$0") in
            # (they read no seed: "set SEED instead" was said to them)
            extract_near_domain_feats.sh|extract_mixture_and_out_domain_feats.sh)
                refuse "${_form%%:*} is set, but no script reads it, and" \
                    "this script reads no seed (the scripts' SEED sets the" \
                    "task and dictionary seeds; unset ${_form%%:*} if it" \
                    "is meant for another program)" ;;
        esac
        refuse_setting "${_form%%:*}" "${_form#*:}" "the scripts read"
    done
}
check_setting_names
# repeats LIST: sets _seen to LIST's words once each, in order, and _twice
# to those it names more than once (check_domains, check_distinct_models)
repeats() {
    _seen=; _twice=
    for _f in $1; do
        case " $_seen " in
            *" $_f "*) case " $_twice " in *" $_f "*) ;;
                           *) _twice="${_twice:+$_twice }$_f" ;; esac ;;
            *) _seen="${_seen:+$_seen }$_f" ;;
        esac
    done
}
# check_domains: the DOMAINS of evaluate_encoder.sh and demo_lowshot.sh,
# each known (checked before the shots settings, which are read by domain:
# DOMAINS=nera SHOTS=1 was told the ablation's "takes no shots") and named
# once (DOMAINS="near near" stopped on the check's "error: --task: near
# given twice", a flag the user never typed)
check_domains() {
    case $(basename "$0") in
        evaluate_encoder.sh|demo_lowshot.sh) ;;
        *) return ;;
    esac
    for _d in $DOMAINS; do
        case " $DOMAIN_NAMES " in
            *" $_d "*) ;;
            *) _known=
               for _t in $DOMAIN_NAMES; do _known="${_known:+$_known, }$_t"; done
               refuse "unknown domain $_d in DOMAINS=\"$DOMAINS\" ($_known)" ;;
        esac
    done
    repeats "$DOMAINS"
    if [ -n "$_twice" ]; then
        refuse "DOMAINS=\"$DOMAINS\" names $_twice more than once (each" \
            "domain runs once: DOMAINS=\"$_seen\")"
    fi
}
check_domains
# shots_read [names]: the shots settings this script reads, in words
# ("SHOTS"; "OUT_SHOTS (out) and OUT_HOMO_SHOTS (out_homo)"), "" for a
# script that takes none (ablation.sh: its 5-shot tasks, as published), "-"
# for one that draws no tasks (the extraction scripts); with "names", their
# names only ("OUT_SHOTS OUT_HOMO_SHOTS"; "" for both kinds of none). SHOTS
# gives the near and mixture domains their shots, OUT_SHOTS out,
# OUT_HOMO_SHOTS out_homo; evaluate_encoder.sh and demo_lowshot.sh read
# those of their DOMAINS.
shots_read() {
    case $(basename "$0") in
        near_domain.sh|generate_near_domain_tasks.sh) _doms=near ;;
        mixture_domain.sh) _doms=mixture ;;
        out_domain.sh) _doms="out out_homo" ;;
        generate_mixture_and_out_domain_tasks.sh) _doms="mixture out out_homo" ;;
        evaluate_encoder.sh|demo_lowshot.sh) _doms=$DOMAINS ;;
        ablation.sh) _doms= ;;
        *) if [ "${1:-}" != names ]; then echo -; fi; return ;;
    esac
    _n=0; _words=; _names=
    for _name in $SHOTS_SETTINGS; do
        setting_domains "$_name" "$_doms"
        if [ -n "$_ds" ]; then
            _n=$((_n + 1))
            _words="${_words:+$_words, }$_name ($_ds)"
            _names="${_names:+$_names }$_name"
        fi
    done
    if [ "${1:-}" = names ]; then echo "$_names"; return; fi
    case $_n in
        0) ;;
        1) echo "${_words%% *}" ;;
        *) echo "$_words" | sed 's/\(.*\), /\1 and /' ;;
    esac
}
# The scripts of the paper's protocol, run one after another
# (GETTING_STARTED.md, "The paper's protocol on real data"), with settings
# exported for the whole chain: a shots setting one of them reads is not
# refused by another that does not (export SHOTS="1 5" stopped the chain
# at out_domain.sh), it is named in a note line
CHAIN_SCRIPTS="extract_near_domain_feats.sh \
extract_mixture_and_out_domain_feats.sh generate_near_domain_tasks.sh \
generate_mixture_and_out_domain_tasks.sh near_domain.sh mixture_domain.sh \
out_domain.sh"
# check_shots_settings: NUM_SHOTS (the commands' flag name) is refused with
# the shots settings of this script ("set SHOTS instead" was said to
# out_domain.sh, which reads OUT_SHOTS and OUT_HOMO_SHOTS, and to the
# ablation, which takes none); a shots setting (SHOTS, OUT_SHOTS,
# OUT_HOMO_SHOTS) that this script (evaluate_encoder.sh and
# demo_lowshot.sh: of its DOMAINS) does not read is refused too (the
# ablation, DOMAINS=out with SHOTS, DOMAINS=near with OUT_SHOTS ran without
# a word at the published shots), but for a script of the protocol's chain,
# which names it in a note (CHAIN_SCRIPTS)
check_shots_settings() {
    _reads=$(shots_read)
    case $(basename "$0") in
        evaluate_encoder.sh|demo_lowshot.sh)
            _who="this script, with DOMAINS=\"$DOMAINS\"," ;;
        *) _who="this script" ;;
    esac
    case $_reads in
        -) _none="draws no tasks" ;;
        '') case $(basename "$0") in
                ablation.sh) _none="takes no shots: its tasks are 5-shot, as published" ;;
                *) return ;;  # a blank DOMAINS (check_blank_lists)
            esac ;;
        *" "*) _none= ; _instead="set those instead" ;;
        *) _none= ; _instead="set $_reads instead" ;;
    esac
    case $_set in
        *" NUM_SHOTS "*)
            if [ -n "$_none" ]; then
                refuse "NUM_SHOTS is set, but no script reads it, and" \
                    "$_who $_none (unset NUM_SHOTS if it is meant for" \
                    "another program)"
            fi
            refuse "NUM_SHOTS is set, but $_who reads $_reads ($_instead;" \
                "unset NUM_SHOTS if it is meant for another program)" ;;
    esac
    _names=" $(shots_read names) "
    for _name in $SHOTS_SETTINGS; do
        case $_names in *" $_name "*) continue ;; esac
        eval "_value=\${$_name:-}"
        # given in the environment, not empty (demo_lowshot.sh's own
        # shots are _default_<SETTING>, read by shots_of where its DOMAINS
        # take them)
        case $_set in *" $_name "*) ;; *) continue ;; esac
        if [ -z "$_value" ]; then continue; fi
        setting_domains "$_name" "$DOMAIN_NAMES"
        case $_ds in
            *" and "*) _why="$_name gives the $_ds domains their shots" ;;
            *) _why="$_name gives the $_ds domain its shots" ;;
        esac
        case " $CHAIN_SCRIPTS " in
            *" $(basename "$0") "*)
                if [ -n "$_none" ]; then _does="$_none"
                else _does="reads $_reads"; fi
                _note="$_name is not read by this script, which $_does"
                _note="$_note ($_why; the protocol's other scripts read it)"
                printf '%s\n' "note: $0: $_note" >&2
                continue ;;
        esac
        if [ -n "$_none" ]; then
            refuse "$_name is set, but $_who $_none ($_why; unset $_name)"
        fi
        refuse "$_name is set, but $_who reads $_reads ($_why;" \
            "$_instead and unset $_name)"
    done
}
check_shots_settings
# MODEL and NOVEL are demo_lowshot.sh's (its one encoder and novel class;
# evaluate_encoder.sh takes MODEL as its argument): to the other scripts,
# which read MODELS and NOVEL_CLASSES, they would mean nothing; and to
# demo_lowshot.sh, MODELS and NOVEL_CLASSES would mean nothing (it set
# NOVEL_CLASSES from NOVEL over the one given: NOVEL_CLASSES=7 ran no
# novel class, MODELS=fsp the model clp)
check_singular_forms() {
    case $(basename "$0") in
        demo_lowshot.sh) _forms="MODELS:MODEL NOVEL_CLASSES:NOVEL" ;;
        evaluate_encoder.sh) _forms="NOVEL:NOVEL_CLASSES" ;;
        *) _forms="MODEL:MODELS NOVEL:NOVEL_CLASSES" ;;
    esac
    for _form in $_forms; do
        case $_set in
            *" ${_form%%:*} "*) refuse_setting "${_form%%:*}" \
                "${_form#*:}" "this script reads" ;;
        esac
    done
}
check_singular_forms
# OVERWRITE is the task-store scripts' (generate_*_tasks.sh: it draws their
# stores again); the others never replace a store (the sweep draws missing
# ones, extends one of fewer tasks, its tasks kept, and refuses one it
# cannot extend or of another seed, with the command that draws it again):
# evaluate_encoder.sh and demo_lowshot.sh ignored OVERWRITE=1 without a
# word and stopped on that refusal
check_overwrite() {
    case $(basename "$0") in generate_*_tasks.sh) return ;; esac
    if [ -z "${OVERWRITE:-}" ]; then return; fi
    _only="only generate_near_domain_tasks.sh and"
    _only="$_only generate_mixture_and_out_domain_tasks.sh read it"
    # "this script's NUM_TASK, SEED and shots" was said to the extraction
    # scripts, which use no task store, and to the ablation, which takes
    # no shots (its stores are the near domain's 5-shot ones of 78)
    case $(shots_read):$(basename "$0") in
        -:*) refuse "OVERWRITE is set, but this script uses no task store:" \
                "$_only (unset OVERWRITE)" ;;
        *:ablation.sh)
            refuse "OVERWRITE is set, but this script never replaces a" \
                "task store: $_only (run generate_near_domain_tasks.sh" \
                "with OVERWRITE=1 NOVEL_CLASSES=78 SHOTS=5 and this" \
                "script's NUM_TASK and SEED, then this script without" \
                "OVERWRITE)" ;;
    esac
    refuse "OVERWRITE is set, but this script never replaces a task" \
        "store: $_only (run one with OVERWRITE=1 and this script's" \
        "NUM_TASK, SEED and shots, then this script without OVERWRITE)"
}
check_overwrite
# A list setting given blank (MODELS=" ", a variable expanded empty inside
# quotes) names nothing: the domain scripts' loop over MODELS ran no sweep
# and printed the summary of the results already there, exit 0; a blank
# NOVEL_CLASSES, CLFS, MODES, DOMAINS or shots list became a flag without
# values, refused by the command's usage lines after the date (and
# evaluate_encoder.sh's features extracted); the ablation scripts took a
# blank MODELS as clp. Refused up front; unset (or empty), each takes its
# default.
_blanks=' 	
'
check_blank_lists() {
    # (NOVEL first: demo_lowshot.sh's, which sets NOVEL_CLASSES from it)
    for _list in NOVEL MODELS NOVEL_CLASSES MODES CLFS DOMAINS SHOTS \
            OUT_SHOTS OUT_HOMO_SHOTS; do
        eval "_value=\${$_list-}"
        # set, and no character but blanks, tabs and newlines
        case $_value in
            ''|*[!"$_blanks"]*) ;;
            *) refuse "$_list='$_value' is blank: it names no value" \
                "(unset it for the default, or give the values)" ;;
        esac
    done
}
check_blank_lists

# check_distinct_models: a family named twice in MODELS ("clp fsp fsp":
# the sweep's line named --check_models, a flag the user never typed, and
# no script; "clp clp" ran clp twice without a word, the extraction
# scripts extracted it twice); evaluate_encoder.sh and demo_lowshot.sh read
# no MODELS
check_distinct_models() {
    case $(basename "$0") in
        evaluate_encoder.sh|demo_lowshot.sh) return ;;
    esac
    repeats "$MODELS"
    if [ -n "$_twice" ]; then
        refuse "MODELS=\"$MODELS\" names $_twice more than once (each" \
            "family runs once: MODELS=\"$_seen\")"
    fi
}
check_distinct_models
