#!/usr/bin/env bash
# The encoder speed table (docs/inference.md, "Which encoder for which board") in one bench run:
# builds edgeseg's FCN-8s on vgg16, resnet18 and mobilenetv3 (width 1, 2 classes, random weights)
# with `model init` + `export` at 256x512 and 160x576 (HxW), an int8 copy of each with `quantize`,
# and torchvision's FCN-ResNet18 (segNet's network) and LR-ASPP MobileNetV3-Large exported with
# random weights by Debian's python3-torchvision as bring-your-own models; then times them all in
# one `edgeseg bench --models` run (rounds alternating over every model, medians). Speed only.
#
# Usage: scripts/bench-encoders.sh [WORKDIR] [extra bench flags, e.g. --json --rounds 5]
# Only the bench's report goes to stdout (building the models reports on stderr).
# Needs `npm run build`, /usr/bin/python3 with torch + torchvision, ~3 GB of disk and ~8 GB of memory.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
work=${1:-$root/runs/bench-encoders}
shift || true

# Low priority by default (NICE=10): the machine stays usable while the 537 MB VGG16 models load
# and run. On a machine busy with other jobs a niced run barely gets a core: NICE=0 then.
edgeseg() { nice -n "${NICE:-10}" node "$root/dist/cli/index.js" "$@"; }

# torchvision's models take ImageNet-normalised RGB: the drafted manifest says raw pixels.
byo_manifest() {
  edgeseg models manifest "$1/model.onnx" --out "$1/manifest.json" 2>/dev/null
  node -e '
    const fs = require("fs");
    const [path, name] = process.argv.slice(1);
    const manifest = JSON.parse(fs.readFileSync(path, "utf8"));
    Object.assign(manifest, { name, description: "torchvision, random weights, as bring-your-own" });
    Object.assign(manifest.input, { scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] });
    fs.writeFileSync(path, JSON.stringify(manifest, null, 2) + "\n");
  ' "$1/manifest.json" "$2"
}

exec 3>&1 1>&2 # the model building's messages to stderr; fd 3 keeps stdout for the report
models=()
sizes=(256x512 160x576)
for size in "${sizes[@]}"; do
  for encoder in vgg16 resnet18 mobilenetv3; do
    dir=$work/$encoder-$size
    if [ ! -f "$dir/model.onnx" ]; then
      edgeseg model init --classes 2 --size "$size" --width 1 --encoder "$encoder" --out "$work/ckpt"
      edgeseg export "$work/ckpt" --out "$dir" --name "$encoder-$size"
      rm -rf "$work/ckpt"
    fi
    if [ ! -f "$dir-int8/model.onnx" ]; then
      # The score layers of an untrained model are zero, so no layer's accuracy can be measured:
      # every convolution goes to int8, one method is enough, and a few images calibrate it.
      edgeseg quantize "$dir" --out "$dir-int8" --name "$encoder-$size-int8" \
        --data-source "$here/bench-int8/two-class-road.mjs" --calibration-images 4 --num-validation 2 \
        --method minmax --float-layers none --no-progress --json >"$dir-int8.quantize.json"
    fi
    models+=("$dir" "$dir-int8")
  done
  for network in fcn-resnet18 lraspp; do
    dir=$work/torchvision-$network-$size
    if [ ! -f "$dir/model.onnx" ]; then
      mkdir -p "$dir"
      /usr/bin/python3 "$here/bench-encoders/torchvision-seg.py" "$network" 2 "${size%x*}" "${size#*x}" \
        "$dir/model.onnx" 2>/dev/null
      byo_manifest "$dir" "torchvision-$network-$size"
    fi
    models+=("$dir")
  done
done
edgeseg bench --models "${models[@]}" --rounds 3 --frames 3 "$@" >&3
