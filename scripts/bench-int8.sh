#!/usr/bin/env bash
# int8 against fp32 on this machine: builds the full-size FCN-8s (width 1, 160x576, random weights)
# with `edgeseg model init` + `export`, quantizes it with `edgeseg quantize`, then times both in one
# `edgeseg bench --compare` run (alternating rounds, medians). Random weights: speed only.
#
# Usage: scripts/bench-int8.sh [WORKDIR] [extra bench flags, e.g. --json --threads 2]
# Needs `npm run build` (npm ci does it), ~1.3 GB of disk in WORKDIR and ~3 GB of memory.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work=${1:-$root/runs/bench-int8}
shift || true

# Low priority: the machine stays usable while the 537 MB model loads and runs.
edgeseg() { nice -n 10 node "$root/dist/cli/index.js" "$@"; }

mkdir -p "$work"
if [ ! -f "$work/fp32/model.onnx" ]; then
  edgeseg model init --classes 2 --size 160x576 --width 1 --out "$work/ckpt"
  edgeseg export "$work/ckpt" --out "$work/fp32"
  rm -rf "$work/ckpt"
fi
if [ ! -f "$work/int8/model.onnx" ]; then
  # The score layers of an untrained model are zero, so no layer's accuracy can be measured:
  # every convolution goes to int8 and one method is enough.
  edgeseg quantize "$work/fp32" --out "$work/int8" \
    --data-source "$here/bench-int8/two-class-road.mjs" --calibration-images 16 --num-validation 8 \
    --method minmax --float-layers none --no-progress
fi
edgeseg bench --model "$work/fp32" --compare "$work/int8" --rounds 5 --frames 5 "$@"
