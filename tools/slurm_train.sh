#!/usr/bin/env bash
# Train on a Slurm cluster with srun (one task per GPU).
#
#   bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG [GPUS] [tools/train.py args]
#   bash tools/slurm_train.sh gpu clp configs/wsi_selfsup/moco_v3/r18_bs256_ep200_all.py 8
#
# GPUS defaults to 8; GPUS_PER_NODE (default min(GPUS, 8)), CPUS_PER_TASK
# (default 5) and SRUN_ARGS (extra srun options) come from the environment;
# inside an allocation (salloc, sbatch) with a task count, GPUS defaults to
# its SLURM_NTASKS and the 8 per node to its SLURM_NTASKS_PER_NODE, else
# to the most of its SLURM_TASKS_PER_NODE (salloc -N2 -n8: 4), fewer than
# the GPUs it holds on a node said in a note (GPUs idle); without
# one, the 8 per node to the GPUs it holds on a node (SLURM_JOB_GPUS,
# SLURM_GPUS_ON_NODE or SLURM_GPUS_PER_NODE; 8 where none is set, as in
# salloc's shell) and GPUS to those of all its nodes; inside either, the
# 5 CPUs to its SLURM_CPUS_PER_TASK (with a task count), else to at most
# its CPUs on a node shared by the node's tasks (srun refuses a step of
# more; without a task count the job's -c is its one task's); tasks its
# CPUs do not hold (CPUS_PER_TASK each; SRUN_ARGS=--overcommit lets
# them) are refused; inside a step (srun --pty bash in salloc's shell)
# SLURM_NTASKS and SLURM_TASKS_PER_NODE are the step's: a note names them
# and the counts to give (GPUS_PER_NODE and GPUS) to use the allocation;
# DATA_CHECK=0 when the data (or load_from) is where only the compute nodes
# see it (node-local staging): the data paths are then checked by each task
# (DATA_CHECK is 0 or 1, default 1; another value is refused).
# The rendezvous port: the config's env_cfg.dist_cfg.port where it sets
# one, else MASTER_PORT where set (exported, srun passes it on); else one
# of the job step's own, 20000 + (SLURM_JOB_ID + 1000 * SLURM_STEP_ID)
# % 9500, which every task of the step computes alike (MMEngine took 29500
# for every job, and a second job on a node stopped on EADDRINUSE); a port
# taken there ends the run in one line naming it and the MASTER_PORT (or
# the --cfg-options env_cfg.dist_cfg.port) to give, one no job derives,
# 63001 to 65535, clear of Kubernetes' NodePorts and Linux's default
# ephemeral ports (slurm_job_port, SLURM_SPARE_PORTS, slurm_spare_port of
# openselfsup/utils/launcher.py).
# The config's total batch is split over the GPUs (see the run's log).
# Run by sh (dash), the script runs itself again under bash.
. "$(dirname "$0")/../wsi_workdir/scripts/_help.sh"
in_bash "$@"
set -euo pipefail

if [ $# -lt 3 ]; then
    refuse "usage: bash $0 PARTITION JOB_NAME CONFIG [GPUS]" \
        "[tools/train.py args] (got $# arguments; see $0 --help)"
fi
# DATA_CHECK: 0 or 1 (unset or empty: 1); DATA_CHECK=no, false or off
# left the check on (only 0 turned it off): refused here, before Python
case ${DATA_CHECK:-1} in
    0|1) ;;
    *) refuse "DATA_CHECK must be 0 (the data paths left to the tasks)" \
        "or 1 (checked here, the default), got '$DATA_CHECK'" ;;
esac
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
shift 3
# node_counts NAME VALUE max|min|room [TASKS CPUS]: the most (or fewest)
# of a per-node count list as Slurm writes one (4(x2),3), each a whole
# number of at least 1 (NAME in the refusal); room: of a CPU list, the
# tasks of CPUS CPUs each its nodes hold, at most TASKS a node (4(x2),3
# of 2 CPUs a task, at most 2 a node: 2 + 2 + 1)
node_counts() {
    _found=
    IFS=, read -ra _counts <<< "$2"
    for _count in "${_counts[@]}"; do
        _nodes=1
        case $_count in
            *'(x'*')') _nodes=${_count#*(x}
                _nodes=$(whole_number "$1" "${_nodes%)}" 1) || exit 2 ;;
        esac
        _count=$(whole_number "$1" "${_count%%(*}" 1) || exit 2
        if [ "$3" = room ]; then
            _fit=$((_count / $5))
            if [ "$_fit" -gt "$4" ]; then _fit=$4; fi
            _found=$((${_found:-0} + _fit * _nodes))
        elif [ -z "$_found" ] ||
            { [ "$3" = max ] && [ "$_count" -gt "$_found" ]; } ||
            { [ "$3" = min ] && [ "$_count" -lt "$_found" ]; }; then
            _found=$_count
        fi
    done
    echo "$_found"
}
# whole numbers, leading zeros dropped (010 is 10 tasks, not octal 8).
# Run inside an allocation (salloc, sbatch) that set its task count, the
# defaults are the allocation's: OpenMMLab's 8 and 8 per node started 8
# tasks of an allocation of 2 x 8, one machine idle, and asked 8 per node
# of machines allocated 4 each. Slurm sets SLURM_NTASKS only for -n or a
# --ntasks-per-* option, SLURM_NTASKS_PER_NODE only for
# --ntasks-per-node, and SLURM_TASKS_PER_NODE always, as the tasks of
# each node (4(x2),3: 4 on each of two nodes, then 3; without a task
# count, one per CPU): salloc -N2 -n8 sets SLURM_NTASKS=8 and
# SLURM_TASKS_PER_NODE=4(x2) (its default layout), of which srun was
# asked 8 per node
PER_NODE=8
NODES=1
# the GPUs the job holds on this node, empty where Slurm says none:
# SLURM_JOB_GPUS (their IDs, the batch step's and an interactive one's),
# SLURM_GPUS_ON_NODE (a step's), or --gpus-per-node's SLURM_GPUS_PER_NODE
# ([type:]count); none of them in salloc's shell on the login node
NODE_GPUS=
if [ -n "${SLURM_JOB_GPUS:-}" ]; then
    IFS=, read -ra IDS <<< "$SLURM_JOB_GPUS"
    NODE_GPUS=${#IDS[@]}
elif [ -n "${SLURM_GPUS_ON_NODE:-}" ]; then
    NODE_GPUS=$(whole_number SLURM_GPUS_ON_NODE "$SLURM_GPUS_ON_NODE" 1)
elif [ -n "${SLURM_GPUS_PER_NODE:-}" ]; then
    NODE_GPUS=$(whole_number SLURM_GPUS_PER_NODE \
        "${SLURM_GPUS_PER_NODE##*:}" 1)
fi
# the variable each default count was read from (for the note of a step)
PER_NODE_FROM=
if [ -n "${SLURM_NTASKS_PER_NODE:-}" ]; then
    PER_NODE=$(whole_number SLURM_NTASKS_PER_NODE \
        "$SLURM_NTASKS_PER_NODE" 1)
    PER_NODE_FROM="SLURM_NTASKS_PER_NODE=$SLURM_NTASKS_PER_NODE"
elif [ -n "${SLURM_NTASKS:-}" ] && [ -n "${SLURM_TASKS_PER_NODE:-}" ]; then
    # the most tasks a node runs (srun takes --ntasks-per-node as the
    # most per node when --ntasks is given too)
    PER_NODE=$(node_counts SLURM_TASKS_PER_NODE "$SLURM_TASKS_PER_NODE" max)
    PER_NODE_FROM="SLURM_TASKS_PER_NODE=$SLURM_TASKS_PER_NODE"
elif [ -z "${SLURM_NTASKS:-}" ] && [ -n "${SLURM_JOB_NUM_NODES:-}" ]; then
    # an allocation without a task count (salloc -N1 --gres=gpu:4): a
    # step may start any number of tasks in it, but no more GPUs (nor
    # CPUs, below) on a node than the job holds there (srun: "Invalid
    # generic resource (gres) specification"), so one task per GPU it
    # holds on this node (NODE_GPUS; 8 where Slurm says none, as in
    # salloc's shell on the login node). On every node of it:
    # OpenMMLab's 8 started 8 tasks of salloc -N2 --gres=gpu:8, one
    # machine idle, and asked 8 GPUs of a node allocated 4
    NODES=$(whole_number SLURM_JOB_NUM_NODES "$SLURM_JOB_NUM_NODES" 1)
    if [ -n "$NODE_GPUS" ]; then PER_NODE=$NODE_GPUS; fi
fi
GPUS_GIVEN=
GPUS_FROM=
if [ $# -gt 0 ] && [[ "$1" =~ ^[0-9]+$ ]]; then
    GPUS=$(whole_number GPUS "$1" 1)
    GPUS_GIVEN=1
    shift
elif [ -n "${SLURM_NTASKS:-}" ]; then
    GPUS=$(whole_number SLURM_NTASKS "$SLURM_NTASKS" 1)
    GPUS_FROM="SLURM_NTASKS=$SLURM_NTASKS"
else
    GPUS=$((PER_NODE * NODES))
fi
if [ "$GPUS" -lt "$PER_NODE" ]; then DEFAULT_PER_NODE=$GPUS
else DEFAULT_PER_NODE=$PER_NODE; fi
GPUS_PER_NODE_GIVEN=${GPUS_PER_NODE:-}
GPUS_PER_NODE=$(whole_number GPUS_PER_NODE "${GPUS_PER_NODE:-$DEFAULT_PER_NODE}" 1)
# inside a job step (srun --pty bash in salloc's allocation) the counts
# read above are the step's: srun sets SLURM_STEP_NUM_TASKS (and the other
# SLURM_STEP_* variables, which salloc and sbatch do not set) in the tasks
# it starts, where SLURM_NTASKS is the "Total number of processes in the
# current job or job step" and SLURM_TASKS_PER_NODE the step's layout
# (srun(1), OUTPUT ENVIRONMENT VARIABLES). The job's task count is not in
# a step's environment (but for srun --preserve-env, which passes the
# job's SLURM_NTASKS through: the interactive step of slurm.conf's
# use_interactive_step), so the counts stay, said in a note with the
# counts to give; and --overlap: "By default, a job step is allocated all
# of the generic resources that have been requested by the job", and "By
# default steps do not share resources with other parallel steps"
# (srun(1), --gres and --overlap), so the training step may wait for the
# GPUs the shell's step holds
# (SLURM_NTASKS other than SLURM_STEP_NUM_TASKS is the job's, passed
# through by srun --preserve-env: not named among the step's)
USED=
if [ -n "$GPUS_FROM" ] && { [ -z "${SLURM_STEP_NUM_TASKS:-}" ] ||
    [ "$GPUS" = "$(whole_number SLURM_STEP_NUM_TASKS \
        "$SLURM_STEP_NUM_TASKS" 1)" ]; }; then
    USED=$GPUS_FROM
fi
if [ -n "$PER_NODE_FROM" ] && [ -z "$GPUS_PER_NODE_GIVEN" ] &&
    [ "$GPUS" -ge "$PER_NODE" ]; then
    USED="${USED:+$USED and }$PER_NODE_FROM"
fi
STEP_NOTE=
if [ -n "${SLURM_STEP_NUM_TASKS:-}" ] && [ -n "$USED" ]; then
    STEP_NOTE=1
    if [ -n "$NODE_GPUS" ] && [ -n "${SLURM_JOB_NUM_NODES:-}" ]; then
        JOB_NODES=$(whole_number SLURM_JOB_NUM_NODES \
            "$SLURM_JOB_NUM_NODES" 1)
        FOR="$NODE_GPUS bash $0 PARTITION JOB_NAME CONFIG"
        FOR="$FOR $((NODE_GPUS * JOB_NODES)) for $NODE_GPUS GPUs a node on"
        FOR="$FOR its $JOB_NODES node(s)"
    else
        FOR="G bash $0 PARTITION JOB_NAME CONFIG N: G a node, N in all"
    fi
    echo "note: $0: $GPUS task(s), $GPUS_PER_NODE a node, from $USED," \
        "which inside a Slurm step (srun --pty bash) are the step's, not" \
        "the allocation's: give both counts to use it (GPUS_PER_NODE=$FOR)," \
        "and SRUN_ARGS=--overlap where this step holds the GPUs (srun(1):" \
        "a step is given all the job's GPUs, and steps share none by" \
        "default)" >&2
fi
# fewer tasks on a node than the GPUs the job holds there, by the
# allocation's task count (sbatch --ntasks-per-node=1 --gres=gpu:4, a
# torchrun-style job: one task a node, 3 GPUs idle), said, not silent
# (inside a step: the note above)
if [ -n "$NODE_GPUS" ] && [ -z "$GPUS_GIVEN" ] && [ -z "$STEP_NOTE" ] &&
    [ -z "$GPUS_PER_NODE_GIVEN" ] && [ "$GPUS_PER_NODE" -lt "$NODE_GPUS" ]
then
    echo "note: $0: $GPUS_PER_NODE task(s) a node, one GPU each, of the" \
        "$NODE_GPUS GPUs the job holds on a node: the rest stay idle" \
        "(one task per GPU: salloc or sbatch" \
        "--ntasks-per-node=$NODE_GPUS)" >&2
fi
# 5 CPUs a task, or inside an allocation its own -c (SLURM_CPUS_PER_TASK),
# at most the CPUs it holds on a node (the fewest of
# SLURM_JOB_CPUS_PER_NODE) shared by the node's tasks, at least 1: srun
# refuses a step of more ("More processors requested than permitted"),
# as 5 for each of the 4 tasks a node of salloc -N2 -n8 runs on its 4,
# and -c 8 for each of the 4 GPUs of sbatch -N1 --gres=gpu:4 -c 8 (no
# task count: one task of 8 CPUs, all the job holds there). With a task
# count the job's -c is each of its tasks', taken as it is (the step
# has the job's tasks, the layout the fewest CPUs of a node cannot tell)
WANTED_CPUS=5
if [ -n "${SLURM_CPUS_PER_TASK:-}" ]; then
    WANTED_CPUS=$(whole_number SLURM_CPUS_PER_TASK "$SLURM_CPUS_PER_TASK" 1)
fi
DEFAULT_CPUS=$WANTED_CPUS
CPUS_NOTE=
if [ -n "${SLURM_JOB_CPUS_PER_NODE:-}" ] && {
    [ -z "${SLURM_CPUS_PER_TASK:-}" ] || [ -z "${SLURM_NTASKS:-}" ]; }; then
    CPUS_ON_NODE=$(node_counts SLURM_JOB_CPUS_PER_NODE \
        "$SLURM_JOB_CPUS_PER_NODE" min)
    SHARE=$((CPUS_ON_NODE / GPUS_PER_NODE))
    if [ "$SHARE" -lt 1 ]; then SHARE=1; fi
    if [ "$SHARE" -lt "$DEFAULT_CPUS" ]; then DEFAULT_CPUS=$SHARE; fi
    if [ "$DEFAULT_CPUS" -lt "$WANTED_CPUS" ] &&
        [ -z "${CPUS_PER_TASK:-}" ]; then
        CPUS_NOTE=1
    fi
fi
ASK_CPUS=${CPUS_PER_TASK:-$WANTED_CPUS}
CPUS_PER_TASK=$(whole_number CPUS_PER_TASK "${CPUS_PER_TASK:-$DEFAULT_CPUS}" 1)
SRUN_ARGS=${SRUN_ARGS:-}
# srun starts at most one task per CPU ("Normally, srun will not allocate
# more than one process per CPU", srun(1), --overcommit): tasks that the
# allocation's CPUs do not hold (4 tasks, one per GPU, of salloc -N1
# --gres=gpu:4 -c 2) were srun's "More processors requested than
# permitted"; refused first, the room counted node by node (an uneven
# layout that fits, salloc -N3 -n8 on 3, 3 and 2 CPUs, is not), unless
# SRUN_ARGS overcommits. Where the tasks a node times the nodes are too
# few, whatever the CPUs, srun is left to say so, as before
OVERCOMMIT=
for ARG in $SRUN_ARGS; do
    case $ARG in -O|--overcommit) OVERCOMMIT=1 ;; esac
done
if [ -n "${SLURM_JOB_CPUS_PER_NODE:-}" ] && [ -z "$OVERCOMMIT" ]; then
    A_NODE=$GPUS_PER_NODE
    if [ "$GPUS" -lt "$A_NODE" ]; then A_NODE=$GPUS; fi
    ROOM=$(node_counts SLURM_JOB_CPUS_PER_NODE "$SLURM_JOB_CPUS_PER_NODE" \
        room "$A_NODE" "$CPUS_PER_TASK")
    # the nodes listed: room for one task of one CPU on each
    LISTED=$(node_counts SLURM_JOB_CPUS_PER_NODE \
        "$SLURM_JOB_CPUS_PER_NODE" room 1 1)
    if [ "$ROOM" -lt "$GPUS" ] && [ $((A_NODE * LISTED)) -ge "$GPUS" ]; then
        refuse "$A_NODE task(s) a node of $CPUS_PER_TASK CPU(s) each do" \
            "not fit the allocation's CPUs" \
            "(SLURM_JOB_CPUS_PER_NODE=$SLURM_JOB_CPUS_PER_NODE: room for" \
            "$ROOM of the $GPUS tasks; srun starts at most one task per" \
            "CPU): ask for salloc or sbatch --ntasks-per-node=$A_NODE" \
            "-c $ASK_CPUS with the GPUs, or start fewer tasks (GPUS)"
    fi
fi
if [ -n "$CPUS_NOTE" ]; then
    # fewer data-loading CPUs than asked: said, not silent, with the
    # allocation that gives each task 5 (-c 5 alone is one task's)
    echo "note: $0: $DEFAULT_CPUS CPU(s) a task: the allocation holds" \
        "$CPUS_ON_NODE on a node for $GPUS_PER_NODE tasks (salloc or" \
        "sbatch --ntasks-per-node=$GPUS_PER_NODE -c 5 gives each 5)" >&2
fi
TOOLS="$(cd "$(dirname "$0")" && pwd)"
# this checkout first, as the OpenMMLab launchers do
export PYTHONPATH="$TOOLS/..${PYTHONPATH:+:$PYTHONPATH}"

# one clear line (and no job submitted) for a bad config or override (or
# one that does not train: an extraction config), a
# --resume checkpoint missing or cut short, or one (named, or the work
# dir's latest) whose meta shows it to be no training checkpoint, another
# model's, of a run on other held-out classes or with a seed out of numpy's
# reach on the GPUS tasks (config.check_resume_meta, the meta read without
# torch; a meta that does not read so is left to the run), a config seed
# out of that reach, a total batch or groups that do not split over the
# GPUS tasks, or a data folder or list file or the load_from checkpoint of
# a new run missing, a validation set holding training samples, or a
# training list (ImageList) with fewer images per task than one batch (as
# seen from this machine and directory: the tasks start in the same
# directory), an --auto-scale-lr without the config's auto_scale_lr, or a
# --launcher among the arguments (it would replace slurm below)
# (DATA_CHECK=0: not the data paths, nor load_from, nor the validation
# set, nor the list; the --resume checkpoint and its meta still are)
NO_DATA_CHECK=
if [ "${DATA_CHECK:-1}" = 0 ]; then NO_DATA_CHECK=--no-data-check; fi
python "$TOOLS/train.py" "$CONFIG" "$@" --check-config --check-world "$GPUS" \
    $NO_DATA_CHECK
exec srun -p "$PARTITION" \
    --job-name="$JOB_NAME" \
    --gres=gpu:"$GPUS_PER_NODE" \
    --ntasks="$GPUS" \
    --ntasks-per-node="$GPUS_PER_NODE" \
    --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 \
    $SRUN_ARGS \
    python -u "$TOOLS/train.py" "$CONFIG" --launcher slurm "$@"
