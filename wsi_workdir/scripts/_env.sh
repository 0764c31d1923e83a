# Settings shared by the low-shot experiment scripts; sourced, not run.
# Every variable can be set from the environment, e.g.
#   NUM_TASK=300 DEVICE=cuda sh wsi_workdir/scripts/near_domain.sh
# Run the scripts from the repository root.

PYTHON=${PYTHON:-python}
WORKDIR=${WORKDIR:-wsi_workdir/workdir}   # features, tasks, dictionaries, results
DATA=${DATA:-data}                        # data/NCT, data/LC25000, data/PAIP19
NUM_TASK=${NUM_TASK:-1000}                # tasks per setting (the paper: 1000)
DEVICE=${DEVICE:-cpu}                     # cpu or cuda (extraction and meta-test)
SEED=${SEED:-0}                           # seed of task sampling, dictionary, augmentation
MODELS=${MODELS:-"clp fsp"}               # model families: CLP (MoCo-v3) and FSP (supervised)
NOVEL_CLASSES=${NOVEL_CLASSES:-"0 1 2 3 4 5 6 7 8"}   # held-out NCT classes (add 78 for 7+8)
SHOTS=${SHOTS:-"1 5 10"}
MODES=${MODES:-"linear latent_aug"}
CLFS=${CLFS:-"Ridge logistic_regression nearest_centroid"}
NUM_PROTOTYPES=${NUM_PROTOTYPES:-16}      # base dictionary size
NUM_SHIFT_VECTORS=${NUM_SHIFT_VECTORS:-2000}
NUM_AUG_SHOTS=${NUM_AUG_SHOTS:-100}
EXTRACT_BATCH=${EXTRACT_BATCH:-256}
EXTRACT_OPTS=${EXTRACT_OPTS:-}            # extra --cfg-options for extraction, e.g.
                                          # "model.backbone.base_channels=16 model.backbone.stem_channels=16"

# Checkpoints as tools/train.py writes them: <DIR>/<config name>/<CKPT>.
# CKPT=last reads the work dir's last_checkpoint file instead.
CLP_DIR=${CLP_DIR:-work_dirs/wsi_selfsup/moco_v3}
CLP_CKPT=${CLP_CKPT:-epoch_200.pth}
FSP_DIR=${FSP_DIR:-work_dirs/classification/nct}
FSP_CKPT=${FSP_CKPT:-epoch_100.pth}

# checkpoint FAMILY VARIANT: the checkpoint of clp|fsp trained on all|wo_<c>
checkpoint() {
    case $1 in
        clp) _dir=$CLP_DIR/r18_bs256_ep200_$2; _ckpt=$CLP_CKPT ;;
        fsp) _dir=$FSP_DIR/r18_bs512_ep100_$2; _ckpt=$FSP_CKPT ;;
        *) echo "unknown model family '$1' (clp or fsp)" >&2; exit 2 ;;
    esac
    if [ "$_ckpt" = last ]; then
        if [ ! -f "$_dir/last_checkpoint" ]; then
            echo "$_dir/last_checkpoint not found: train $_dir first" >&2; exit 2
        fi
        cat "$_dir/last_checkpoint"
    else
        echo "$_dir/$_ckpt"
    fi
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
# (NCT_train NCT_test LC PAIP_train PAIP_test), in the workdir layout
extract() {
    _model=$1; _ckpt=$2; shift 2
    for _name in "$@"; do
        _cfg=configs/extraction/$(echo "$_name" | tr 'A-Z' 'a-z').py
        run $PYTHON -u wsi_workdir/extract.py \
            --config "$_cfg" \
            --pretrained "$_ckpt" \
            --output "$WORKDIR/extracted_feats/$_model/$_name.npy" \
            --batch-size "$EXTRACT_BATCH" \
            --device "$DEVICE" \
            --cfg-options dataset.data_root="$(data_root "$_name")" $EXTRACT_OPTS
    done
}

# meta_test TASK MODEL NOVEL(-|c): every shot x mode x classifier of one model
meta_test() {
    _task=$1; _model=$2; _novel=$3
    if [ "$_novel" = - ]; then _novel_arg=""; else _novel_arg="--novel_class $_novel"; fi
    for _clf in $CLFS; do
        for _shots in $SHOTS; do
            for _mode in $MODES; do
                run $PYTHON -u wsi_workdir/distributed_meta_test.py \
                    --task "$_task" \
                    --num_task "$NUM_TASK" \
                    --num_shots "$_shots" \
                    --mode "$_mode" \
                    --model "$_model" \
                    $_novel_arg \
                    --clf "$_clf" \
                    --num_aug_shots "$NUM_AUG_SHOTS" \
                    --num_prototypes "$NUM_PROTOTYPES" \
                    --num_shift_vectors "$NUM_SHIFT_VECTORS" \
                    --dict_seed "$SEED" \
                    --device "$DEVICE" \
                    --seed "$SEED" \
                    --workdir "$WORKDIR"
            done
        done
    done
}

# dictionary MODEL NOVEL(-|c): the base dictionary of MODEL on NCT_train
dictionary() {
    if [ "$2" = - ]; then _novel_arg=""; else _novel_arg="--novel_class $2"; fi
    run $PYTHON -u wsi_workdir/dict_construction.py \
        --model "$1" \
        $_novel_arg \
        --num_prototypes "$NUM_PROTOTYPES" \
        --num_shift_vectors "$NUM_SHIFT_VECTORS" \
        --seed "$SEED" \
        --workdir "$WORKDIR"
}

# run CMD...: print the command (for the log), then run it
run() {
    echo "+ $*"
    "$@"
}
