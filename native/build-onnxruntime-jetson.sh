#!/usr/bin/env bash
# Builds onnxruntime with the CUDA and TensorRT execution providers and its Node.js binding on a
# Jetson board, and packs the binding as an overlay for edgeseg's onnxruntime-node (the npm package
# ships a CPU-only build for linux/arm64). Run on the board itself; see native/README.md.
#
#   native/build-onnxruntime-jetson.sh [--dry-run] [--workdir DIR] [--out DIR] [--jobs N]
#                                      [--cuda-arch NN] [--cuda-home DIR] [--root DIR]
#
#   --dry-run        detect and check everything, print every step, build nothing
#   --workdir DIR    where the sources and the build go (default ~/edgeseg-native-build; ~25 GiB)
#   --out DIR        where the overlay tarball goes (default native/out)
#   --jobs N         parallel compile jobs (default: what RAM + swap allow, at most the CPU count)
#   --cuda-arch NN   GPU compute capability without the dot (default: from the SoC, 87 on Orin)
#   --cuda-home DIR  CUDA toolkit (default /usr/local/cuda)
#   --root DIR       read the board's version files under DIR (a board image; the tests use it)
#
# The onnxruntime version follows the board: on JetPack 6.1 and newer the one package.json pins for
# onnxruntime-node (the overlay replaces the npm package's binaries); on JetPack 4.6 (TX1, TX2)
# ORT_JETPACK4_VERSION from native/versions.env, the last release built against TensorRT 8.2, with
# native/patches/onnxruntime-1.11-node-gpu-providers.patch (the overlay is then that whole npm
# package with the board's binaries). Install the result with: sudo deploy/install.sh --native DIR
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
SCRIPT_NAME="build-onnxruntime-jetson"
# shellcheck source=native/lib/common.sh
. "$HERE/lib/common.sh"

NEED_DISK_GB=25
NEED_MEMORY_GB=12
GB_PER_JOB=3
MIN_CMAKE=3.28

usage() { sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  if common_option "$@"; then
    shift "$COMMON_SHIFT"
    continue
  fi
  case "$1" in
    -h | --help) usage; exit 0 ;;
    *) fail "unknown option $1 (see --help)" ;;
  esac
done
check_common_options
load_versions

NPM_ORT_VERSION="$(sed -n 's/^[[:space:]]*"onnxruntime-node":[[:space:]]*"[\^~]\{0,1\}\([0-9][0-9.]*\)".*/\1/p' "$REPO/package.json" | head -n1)"
[ -n "$NPM_ORT_VERSION" ] || fail "cannot read the onnxruntime-node version from $REPO/package.json"

say "onnxruntime with CUDA + TensorRT and the Node.js binding$([ "$DRY_RUN" -eq 1 ] && echo ' (dry run: nothing is built)')"
if [ "$DRY_RUN" -eq 0 ] && [ "$(uname -m)" != aarch64 ]; then
  fail "run this on the Jetson itself (this machine is $(uname -m)); --dry-run works anywhere"
fi

detect_l4t
detect_module
detect_cuda
detect_cudnn
detect_tensorrt
print_detected

# Which onnxruntime this board's CUDA, cuDNN and TensorRT can build (see README.md, "Which boards"):
# - JetPack 6.1+ (CUDA 12, cuDNN 9, TensorRT 10): package.json's, as the npm JavaScript expects.
# - JetPack 4.6 (CUDA 10.2, cuDNN 8, TensorRT 8.2; TX1, TX2, Nano): 1.11, the last release built
#   against TensorRT 8.2 (1.12 moved to 8.4); its whole npm package is the overlay.
# - JetPack 5 (CUDA 11.4, TensorRT 8.5) falls between the two and is refused.
if [ "${CUDA_VERSION%%.*}" = 10 ] && version_ge "$CUDA_VERSION" 10.2 && [ "${CUDNN_VERSION%%.*}" = 8 ] &&
  [ "${TRT_VERSION%.*}" = 8.2 ]; then
  ORT_VERSION="$ORT_JETPACK4_VERSION"
  OVERLAY=package # the npm package of that version, its binaries replaced by this build
  BIN_DIR="bin/napi-v3/linux/arm64"
  MIN_CMAKE=3.18
  say "JetPack $JETPACK: onnxruntime $ORT_VERSION (TensorRT 8.2's; package.json's $NPM_ORT_VERSION needs CUDA 12 and TensorRT 10) with its Node.js binding patched for CUDA and TensorRT"
else
  problems=()
  version_ge "$CUDA_VERSION" 12.0 || problems+=("CUDA $CUDA_VERSION (needs 12 or newer)")
  version_ge "$CUDNN_VERSION" 9.0 || problems+=("cuDNN $CUDNN_VERSION (needs 9 or newer)")
  version_ge "$TRT_VERSION" 10.0 || problems+=("TensorRT $TRT_VERSION (needs 10 or newer)")
  if [ ${#problems[@]} -gt 0 ]; then
    fail "onnxruntime $NPM_ORT_VERSION cannot be built with GPU providers on JetPack $JETPACK: $(
      IFS=';'
      echo "${problems[*]}"
    ). It needs JetPack 6.1 or newer (Orin); on JetPack 4.6 (CUDA 10.2, cuDNN 8, TensorRT 8.2: TX1, TX2) this script builds onnxruntime $ORT_JETPACK4_VERSION instead. On Xavier (JetPack 5) edgeseg runs on the CPU provider of the npm package, or on the tfjs fallback (native/build-libtensorflow-jetson.sh)."
  fi
  ORT_VERSION="$NPM_ORT_VERSION"
  OVERLAY=binaries # over the npm package of the same version
  BIN_DIR="bin/napi-v6/linux/arm64"
fi
say "onnxruntime v$ORT_VERSION"

check_resources "$NEED_DISK_GB" "$NEED_MEMORY_GB" "$WORKDIR"
[ -n "$JOBS" ] || JOBS="$(build_jobs "$GB_PER_JOB")"
say "parallel jobs: $JOBS"

require_tool git "sudo apt install git"
require_tool python3 "sudo apt install python3"
require_tool g++ "sudo apt install build-essential"
require_tool node "install Node.js 20 or newer (see docs/deployment.md)"
require_tool npm "install Node.js 20 or newer (see docs/deployment.md)"
require_tool cmake "onnxruntime needs CMake $MIN_CMAKE or newer: python3 -m pip install --user 'cmake>=$MIN_CMAKE'"
cmake_version="$(cmake --version | sed -n 's/^cmake version \([0-9.]*\).*/\1/p')"
version_ge "$cmake_version" "$MIN_CMAKE" || fail "missing prerequisite: CMake $MIN_CMAKE or newer (found $cmake_version): python3 -m pip install --user 'cmake>=$MIN_CMAKE' and put ~/.local/bin first on PATH"

SRC="$WORKDIR/onnxruntime-$ORT_VERSION"
BUILD="$SRC/build/Linux/Release"
STAGE="$WORKDIR/stage/onnxruntime-node-$ORT_VERSION"
NODE_PATCH="$HERE/patches/onnxruntime-1.11-node-gpu-providers.patch"
ARCHIVE="onnxruntime-node-$ORT_VERSION-linux-arm64-jetpack${JETPACK// /}-cuda${CUDA_VERSION%.*}-trt${TRT_VERSION%.*}-sm$CUDA_ARCH.tar.gz"

step "fetch onnxruntime v$ORT_VERSION with its submodules"
if [ -d "$SRC/.git" ]; then
  say "reusing $SRC"
else
  run mkdir -p "$WORKDIR"
  run git clone --branch "v$ORT_VERSION" --depth 1 --recurse-submodules --shallow-submodules \
    https://github.com/microsoft/onnxruntime.git "$SRC"
fi

if [ "$OVERLAY" = package ]; then
  step "let the Node.js binding register CUDA and TensorRT ($(basename "$NODE_PATCH"))"
  apply_checked_patch "$SRC" "$NODE_PATCH" \
    "$(basename "$NODE_PATCH") does not apply to onnxruntime v$ORT_VERSION ($SRC/js/node/src/session_options_helper.cc has another layout)"
fi

step "build onnxruntime (Release, CUDA + TensorRT providers, Node.js binding) for sm_$CUDA_ARCH"
build_args=(
  ./build.sh --config Release --update --build --parallel "$JOBS"
  --build_shared_lib --build_nodejs --skip_tests
  --use_cuda --cuda_home "$CUDA_HOME" --cudnn_home "$CUDNN_HOME"
  --use_tensorrt --tensorrt_home "$TRT_HOME"
  --cmake_extra_defines "CMAKE_CUDA_ARCHITECTURES=$CUDA_ARCH" onnxruntime_BUILD_UNIT_TESTS=OFF
)
# Warnings as errors arrived as a default after 1.11 (so did the switch to turn it off).
[ "$OVERLAY" = package ] || build_args+=(--compile_no_warning_as_error)
[ "$(id -u)" -ne 0 ] || build_args+=(--allow_running_as_root)
run_in "$SRC" env "CUDACXX=$CUDA_HOME/bin/nvcc" "PATH=$CUDA_HOME/bin:$PATH" "${build_args[@]}"

step "stage the binding, libonnxruntime and the provider libraries"
run rm -rf "$STAGE"
if [ "$OVERLAY" = package ]; then
  # The JavaScript half is npm's own onnxruntime-node $ORT_VERSION (what test/engine/ort-compat
  # runs edgeseg's engine against), with its onnxruntime-common inside so that the project's
  # newer one does not answer its require().
  run_in "$WORKDIR" npm pack "onnxruntime-node@$ORT_VERSION" "onnxruntime-common@$ORT_VERSION"
  run mkdir -p "$STAGE/node_modules/onnxruntime-common"
  run tar -xzf "$WORKDIR/onnxruntime-node-$ORT_VERSION.tgz" -C "$STAGE" --strip-components=1
  run tar -xzf "$WORKDIR/onnxruntime-common-$ORT_VERSION.tgz" -C "$STAGE/node_modules/onnxruntime-common" --strip-components=1
fi
run mkdir -p "$STAGE/$BIN_DIR"
run cp -a "$SRC/js/node/$BIN_DIR/." "$STAGE/$BIN_DIR/"
run cp -a "$BUILD/libonnxruntime_providers_shared.so" "$BUILD/libonnxruntime_providers_cuda.so" \
  "$BUILD/libonnxruntime_providers_tensorrt.so" "$STAGE/$BIN_DIR/"
info="{\"package\": \"onnxruntime-node\", \"version\": \"$ORT_VERSION\", \"overlay\": \"$OVERLAY\", \"target\": \"$BIN_DIR\", \"l4t\": \"$L4T_VERSION\", \"jetpack\": \"$JETPACK\", \"cuda\": \"$CUDA_VERSION\", \"cudnn\": \"$CUDNN_VERSION\", \"tensorrt\": \"$TRT_VERSION\", \"cudaArch\": \"$CUDA_ARCH\", \"providers\": [\"tensorrt\", \"cuda\", \"cpu\"]}"
say "build info: $info"
if [ "$DRY_RUN" -eq 0 ]; then printf '%s\n' "$info" >"$STAGE/edgeseg-native.json"; fi

step "smoke test: load the new binding and run the demo model on TensorRT, CUDA and the CPU"
run node "$HERE/lib/ort-smoke.cjs" "$([ "$OVERLAY" = package ] && echo "$STAGE" || echo "$SRC/js/node")" "$REPO/models/synthetic-road-fcn8s"

step "pack the overlay"
run mkdir -p "$OUT"
run tar -czf "$OUT/$ARCHIVE" -C "$STAGE" .
run_in "$OUT" sh -c "sha256sum '$ARCHIVE' > '$ARCHIVE.sha256'"

say "done: $OUT/$ARCHIVE"
say "install it on this board with: sudo $REPO/deploy/install.sh --native $OUT"
