#!/usr/bin/env bash
# Wheels of this project's dependencies that a GPU machine without network
# lacks, when its Python already has torch, torchvision, numpy, scipy,
# scikit-learn, matplotlib, pillow, opencv, rich, einops, tqdm, pyyaml and
# zipp (as the lent H200 machines' image does). Run here (with network or a
# local index), then carry .whl/ along; benchmarks/gpu_run.sh installs them.
#
#   bash benchmarks/gpu_wheels.sh            # for Python 3.12
#   PY_VERSION=3.11 bash benchmarks/gpu_wheels.sh
#
# Versions: those that ran on an H200 machine on 2026-11-30; importlib_metadata
# 10.x would need the lazy_importer package (mmpretrain imports it).
set -euo pipefail
PY_VERSION=${PY_VERSION:-3.12}
mkdir -p .whl
plat=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 \
         manylinux2014_x86_64 manylinux1_x86_64 any; do
  plat+=(--platform "$p")
done
python3 -m pip download -q --no-deps --only-binary=:all: \
  --python-version "$PY_VERSION" --implementation cp "${plat[@]}" -d .whl \
  mmengine==0.10.7 mmcv-lite==2.2.0 mmpretrain==1.2.0 faiss-cpu==1.15.1 \
  addict==2.4.0 yapf==0.43.0 platformdirs==4.14.9 termcolor==3.3.0 \
  modelindex==0.0.2 model-index==0.1.11 ordered-set==4.1.0 mat4py==0.6.0 \
  importlib_metadata==8.7.0
ls .whl
