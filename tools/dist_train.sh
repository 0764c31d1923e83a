#!/usr/bin/env bash
# Train on GPUS processes of this machine with torchrun.
#
#   bash tools/dist_train.sh CONFIG GPUS [tools/train.py arguments]
#   bash tools/dist_train.sh configs/wsi_selfsup/moco_v3/r18_bs256_ep200_all.py 8
#
# The config's total batch is split over the GPUs (see the run's log).
# Run by sh (dash), the script runs itself again under bash.
# GPUS=1 also works on a CPU-only machine (one process, no process group).
# The rendezvous port: PORT (else MASTER_PORT; PORT wins where both are
# set); neither set, a free port of this machine on one machine (torchrun's
# standalone rendezvous, the processes meeting at 127.0.0.1; a second
# run here no longer meets the first on 29500); default 29500 on
# several machines.
# Several machines: NNODES (default 1), NODE_RANK (default 0), MASTER_ADDR
# (default 127.0.0.1; needed where NODE_RANK is 1 or more) and PORT as for
# torchrun; an NNODES=MIN:MAX waits for MAX machines (the script starts
# torchrun's static rendezvous at MASTER_ADDR:PORT, which is not elastic).
. "$(dirname "$0")/../wsi_workdir/scripts/_help.sh"
in_bash "$@"
set -euo pipefail

if [ $# -lt 2 ]; then
    refuse "usage: bash $0 CONFIG GPUS [tools/train.py args] (got $#" \
        "arguments; see $0 --help)"
fi
CONFIG=$1
# whole numbers, refused in one line here (torchrun's usage block or its
# traceback), leading zeros dropped (010 is 10 processes, not octal 8)
GPUS=$(whole_number GPUS "$2" 1)
shift 2
NNODES=${NNODES:-1}
# the values as given, for the refusals (NODE_RANK=01 was echoed '1')
NNODES_GIVEN=$NNODES
NODE_RANK_GIVEN=${NODE_RANK:-0}
# torchrun's MIN:MAX, or one count. NODES: the machines the run waits for;
# torchrun's static rendezvous, the one this script starts for several
# machines or a PORT given (MASTER_ADDR:PORT), waits for MAX of them:
# MIN:MAX is not elastic here (one machine with NNODES=1:2 waited for a
# second without a word), and the checks below count MAX
case $NNODES in
    *:*)
        if ! MIN=$(whole_number NNODES "${NNODES%%:*}" 1 2>/dev/null) ||
            ! MAX=$(whole_number NNODES "${NNODES#*:}" "$MIN" 2>/dev/null); then
            refuse "NNODES must be a whole number of at least 1 or" \
                "MIN:MAX with 1 <= MIN <= MAX (torchrun's node range; MAX" \
                "machines here)," \
                "got '$NNODES'"
        fi
        NNODES=$MIN:$MAX
        NODES=$MAX ;;
    *) NNODES=$(whole_number NNODES "$NNODES" 1)
       NODES=$NNODES ;;
esac
NODE_RANK=$(whole_number NODE_RANK "$NODE_RANK_GIVEN" 0)
# a rank of no machine (NODE_RANK=1 of NNODES=1) waited for a rendezvous
# that never came, without a word
if [ "$NODE_RANK" -ge "$NODES" ]; then
    refuse "NODE_RANK must be from 0 to $((NODES - 1)) (one of the" \
        "$NODES machines of NNODES=$NNODES_GIVEN), got '$NODE_RANK_GIVEN'"
fi
# port 0 is no port: the processes waited to connect to it, without a word
# (one line for every bad PORT: a word, 0 or one past 65535). MASTER_PORT
# (the name of PyTorch's env:// rendezvous, which a cluster's job script
# exports beside MASTER_ADDR), when PORT is unset: it was ignored, the
# rendezvous opened on 29500; both set to other ports: PORT, this script's
# own setting, as before MASTER_PORT was read (a pod that exports
# MASTER_PORT and a second run given another PORT), with a note line.
# Neither set: one machine's rendezvous on a free port (torchrun's
# --standalone; every run took 29500, and a second run on the machine, or
# any program there holding 29500, stopped it), several machines' on 29500
# (every machine must name the same port)
port_number() {
    if ! _p=$(whole_number "$1" "$2" 1 2>/dev/null) || [ "$_p" -gt 65535 ]
    then
        refuse "$1 must be a port number from 1 to 65535, got '$2'"
    fi
    echo "$_p"
}
if [ -n "${PORT:-}" ]; then
    PORT_GIVEN=$PORT
    PORT=$(port_number PORT "$PORT")
    if [ -n "${MASTER_PORT:-}" ]; then
        OTHER=$(port_number MASTER_PORT "$MASTER_PORT")
        if [ "$OTHER" != "$PORT" ]; then
            echo "note: $0: the rendezvous is on PORT $PORT_GIVEN, not on" \
                "MASTER_PORT $MASTER_PORT (PORT is this script's setting)" >&2
        fi
    fi
elif [ -n "${MASTER_PORT:-}" ]; then
    PORT=$(port_number MASTER_PORT "$MASTER_PORT")
elif [ "$NODES" -gt 1 ]; then
    PORT=29500
fi
# a machine of NODE_RANK 1 or more without MASTER_ADDR: torchrun's default
# 127.0.0.1 is this machine, where machine 0's rendezvous is not (unless
# all are this one): it waited 600 s without a word, then a traceback
if [ "$NODE_RANK" -gt 0 ] && [ -z "${MASTER_ADDR:-}" ]; then
    refuse "NODE_RANK=$NODE_RANK_GIVEN needs MASTER_ADDR, the address of" \
        "the machine of NODE_RANK 0 (the default, 127.0.0.1, is this" \
        "machine; MASTER_ADDR=127.0.0.1 where all the machines are this one)"
fi
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
if [ -n "${PORT:-}" ]; then
    RENDEZVOUS=(--master_addr="$MASTER_ADDR" --master_port="$PORT")
else
    # the processes meet at 127.0.0.1, this machine: with --standalone
    # alone they were given its host name, and where that does not
    # resolve the launch waited 10 minutes, then a traceback; a
    # MASTER_ADDR left in the environment (a cluster job's, an old
    # export) is not this machine's address where it names another one
    # (it waited 5 minutes, then a traceback), and one machine needs none
    RENDEZVOUS=(--standalone --local_addr=127.0.0.1)
fi
TOOLS="$(cd "$(dirname "$0")" && pwd)"
# this checkout first, as the OpenMMLab launchers do
export PYTHONPATH="$TOOLS/..${PYTHONPATH:+:$PYTHONPATH}"

# one clear line (and no torchrun start) for a bad config or override (or
# one that does not train: an extraction config), a
# --resume checkpoint missing or cut short, or one (named, or the work
# dir's latest) whose meta shows it to be no training checkpoint, another
# model's, of a run on other held-out classes or with a seed out of numpy's
# reach on the processes (config.check_resume_meta, the meta read without
# torch; a meta that does not read so is left to the run), a config seed
# out of that reach, a total batch or groups that do not split over the
# processes, a missing data folder or list file or load_from checkpoint (of
# a new run: not read where --resume finds one), a validation set holding
# training samples, a training list (ImageList) with fewer images per
# process than one batch, an --auto-scale-lr without the config's
# auto_scale_lr, or a --launcher among the arguments (it would replace
# pytorch below)
python "$TOOLS/train.py" "$CONFIG" "$@" --check-config \
    --check-world $((GPUS * NODES))

# one clear line (and no process started) where this machine has fewer
# GPUs than GPUS (apis.train.launch); then torchrun, with a failed
# process's message as the last lines (not under torchrun's traceback) and
# its exit status
exec python -c 'import sys
from openselfsup.apis.train import launch
from openselfsup.utils import run_cli
sys.exit(run_cli(launch, sys.argv[1:]))' \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --nproc_per_node="$GPUS" \
    "${RENDEZVOUS[@]}" \
    "$TOOLS/train.py" "$CONFIG" --launcher pytorch "$@"
