#!/usr/bin/env bash
# The GPU checks and benchmarks of RESULTS.md in one go, for a machine with
# one CUDA GPU (run from the repository root). Stages, in order (pass the
# ones wanted; default all):
#   tests    the CUDA tests (engine CUDA vs CPU, extraction AMP, AMP step)
#   train    the quick start on the GPU (CLP demo with --amp, low-shot chain)
#            and the balance demo with --amp
#   meta     bench_meta_test --device cuda (engine on CUDA vs loop on CPU)
#   extract  bench_extract on CUDA (images/s, AMP, channels-last)
#   sweep1   bench_sweep on CUDA, one novel class (linear, analytic, sampled)
#   sweep    bench_sweep on CUDA, all 9 novel classes (the GPU target of
#            issue 6, in-process)
#   script   bench_scripts: the shipped near_domain.sh with DEVICE=cuda,
#            both families x 9 novel classes, linear + latent_aug, 1000
#            tasks, whole script (issue 14's GPU target, <= 300 s)
#   pretrain bench_pretrain: CLP and FSP at 224 px, (a) compute ceiling
#            (bf16 with each GhostBN computation: per-group calls, one
#            call, grouped view, contiguous and channels-last; the
#            grouped view's two rows a recipe added 2026-12-06, h284,
#            a few seconds each, not measured on a GPU yet),
#            (b) end to end from synthetic images on disk, data path per
#            worker, projected 200 / 100 epoch times, ops per step, and a
#            profile of 3 default-path steps (GPU busy time, host / GPU
#            time of views, forward, backward + step; top ops); (b) also
#            with compile_views, with prefetch_views, with
#            reuse_batch_memory and with the two together (issue 16; one
#            (b) run a recipe each, about 20-40 s each, not measured on a
#            GPU yet)
#   pretrain_compiled  bench_pretrain --compile-encoders: (a) and (b) of
#            both recipes, each beside its run with compile_encoders=True
#            (bf16 channels-last; graphs and compile time printed), no
#            data path, op counts or profile. Not measured yet: expected
#            about 5-7 min (pretrain's (a) and (b), about 3 min of its
#            248 s on the H100, plus about a minute of compiling for each
#            of the 4 compiled runs), inside one 10-minute call.
# Outputs go to $OUT (or benchmarks/out/) as JSON and logs. The pretrain
# stages write their whole output to $OUT/pretrain*.log as it comes and
# their JSON before each part (each count, (a) variant and (b) run) and
# after each recipe, so a call cut short at its time limit
# (the console's tail is printed only at the end) still brings back what
# was measured.
#
# On a machine without network whose Python already has torch and
# torchvision (e.g. a lent GPU machine): download the other dependencies
# here first with `bash benchmarks/gpu_wheels.sh` (wheels in .whl/, for
# that machine's Python, 3.12 by default); this script installs them into
# /tmp/site and puts the repository and them on PYTHONPATH.
#
# Time on one H200 (2026-11-30, measured): `tests script` 273 s in all
# (tests 62 s while the script's setup, 82 s, runs in the background; the
# script 166 s). pretrain: about 5 min projected with its profiled run (a
# CLP-only run with 10 steps took 172 s). Two commands, `tests script` and
# `pretrain`, fit a 10-minute limit each.
set -uo pipefail
all_stages="tests train meta extract sweep1 sweep script pretrain pretrain_compiled"
stages=${*:-$all_stages}
for st in $stages; do  # a misspelt stage ran nothing, silently
  case " $all_stages " in
    *" $st "*) ;;
    *) echo "gpu_run.sh: no stage '$st' (stages: $all_stages)" >&2; exit 2 ;;
  esac
done
OUT=${OUT:-benchmarks/out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 TQDM_MININTERVAL=30
if ! command -v python > /dev/null; then  # only python3 there
  mkdir -p /tmp/gpu_run_bin
  printf '#!/bin/sh\nexec python3 "$@"\n' > /tmp/gpu_run_bin/python
  chmod +x /tmp/gpu_run_bin/python
  export PATH=/tmp/gpu_run_bin:$PATH
fi
if ls .whl/*.whl > /dev/null 2>&1; then
  python -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=$PWD:/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
nvidia-smi -L
python -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name())"
SCRIPT_ARGS=(--device cuda --families clp fsp --novel_classes 0 1 2 3 4 5 6 7 8
             --modes linear latent_aug --modes_in_one_run --workdir /tmp/bs_gpu)
prep=
failed=
# a stage whose command failed (a failing test, a benchmark's error) is
# named at the end and makes the script's exit status 1 (pipefail: the
# status of a command piped to tee / tail is the command's); a second
# argument names a part that is not a stage (the script's background setup)
mark() { [ "$1" = 0 ] || failed="$failed ${2:-$st}"; }
case " $stages " in *" tests "*"script "*)
  # the script's inputs (paper-scale features of 18 models, task stores,
  # dictionaries: CPU work) are made while the CUDA tests run (no timing
  # there); the stages after the tests wait for it
  python -m benchmarks.bench_scripts "${SCRIPT_ARGS[@]}" --prepare_only \
    > "$OUT/scripts_prepare.log" 2>&1 &
  prep=$! ;;
esac
for st in $stages; do
  echo "=== $st $(date -u +%H:%M:%S)"
  case $st in
    tests) python -m pytest -q -rs -p no:cacheprovider \
             tests/test_lowshot_determinism.py tests/test_extract.py \
             tests/test_balance.py tests/test_pretrain_batch_aug.py \
             tests/test_pretrain_recipes.py tests/test_foundation_train.py \
             tests/test_prefetch_views.py \
             -k "cuda or amp or gpu" 2>&1 \
             | tee "$OUT/tests.log" | tail -15
           mark $?
           if [ -n "$prep" ]; then
             # a failed setup is named too (the script stage then fails,
             # and its own output does not say why)
             wait $prep; r=$?; mark $r script-prepare
             tail -1 "$OUT/scripts_prepare.log"
             [ $r = 0 ] || echo "script-prepare FAILED: $OUT/scripts_prepare.log"
             prep=
           fi ;;
    train) bash tools/quickstart.sh > "$OUT/quickstart.log" 2>&1
           r=$?; mark $r; [ $r = 0 ] && echo quickstart ok || echo quickstart FAILED
           tail -3 "$OUT/quickstart.log" ;
           (python tools/prepare_data/make_crossmodal.py --out data/balance \
              && python tools/train.py configs/demo/balance_slide_synthetic.py \
                 --amp --work-dir /tmp/balance_amp) > "$OUT/balance_amp.log" 2>&1
           r=$?; mark $r; [ $r = 0 ] && echo balance amp ok || echo balance amp FAILED
           grep -i "amp\|loss" "$OUT/balance_amp.log" | tail -3 ;;
    meta) python -m benchmarks.bench_meta_test --device cuda --loop-tasks 200 \
            --output "$OUT/meta_test_cuda.json" 2>&1 | tail -12; mark $? ;;
    extract) python -m benchmarks.bench_extract \
            --output "$OUT/extract_cuda.json" 2>&1 | tail -12; mark $? ;;
    sweep1) python -m benchmarks.bench_sweep --device cuda --sampled \
            --threads 0 --skip loop --novel_classes 0 --workdir /tmp/pb \
            --output "$OUT/sweep_cuda_1class.json" 2>&1 | tail -16; mark $? ;;
    sweep) python -m benchmarks.bench_sweep --device cuda --sampled \
            --threads 0 --skip loop --workdir /tmp/pb \
            --output "$OUT/sweep_cuda.json" 2>&1 | tail -16; mark $? ;;
    script) python -m benchmarks.bench_scripts "${SCRIPT_ARGS[@]}" \
            --output "$OUT/scripts_cuda.json" 2>&1 | tail -8; mark $?
            cp /tmp/bs_gpu/logs/near_domain_linear_latent_aug.txt "$OUT/" ;;
    pretrain) python -m benchmarks.bench_pretrain --seconds 3 \
            --augment_on auto --profile 3 --compile-views --prefetch-views \
            --reuse-batch-memory --skip step_ops_bf16 \
            --output "$OUT/pretrain_cuda.json" 2>&1 | tee "$OUT/pretrain.log" \
            | { grep -v "^[0-9/]* [0-9:]* - mmengine\|FutureWarning\|loss_scaler\|^USDT\|^ERROR:.*DeviceProperties" \
            || true; } | tail -90; mark $? ;;
    pretrain_compiled) python -m benchmarks.bench_pretrain --seconds 1 \
            --augment_on auto --skip cpu_path step_ops --compile-encoders \
            --output "$OUT/pretrain_compiled_cuda.json" 2>&1 \
            | tee "$OUT/pretrain_compiled.log" | { grep -v "^[0-9/]* [0-9:]* - mmengine\|FutureWarning\|loss_scaler\|^USDT\|^ERROR:.*DeviceProperties" \
            || true; } | tail -40; mark $? ;;
  esac
done
echo "=== end $(date -u +%H:%M:%S)${failed:+: FAILED:$failed}"
[ -z "$failed" ]
