#!/usr/bin/env bash
# Builds libtensorflow (the TensorFlow C API) for aarch64 + CUDA on a Jetson board with the Eigen
# fix from native/patches/, then builds tfjs-node from source against it and packs the result as an
# overlay for edgeseg's @tensorflow/tfjs-node (npm has no linux/arm64 libtensorflow), so the tfjs
# fallback engine and `edgeseg train` run natively on the board. Run on the board; see
# native/README.md.
#
#   native/build-libtensorflow-jetson.sh [--dry-run] [--workdir DIR] [--out DIR] [--jobs N]
#                                        [--cuda-arch NN] [--cuda-home DIR] [--root DIR]
#                                        [--tf-version V] [--eigen-commit SHA --eigen-sha256 SUM]
#
#   --dry-run        detect and check everything, check the patch, print every step, build nothing
#   --workdir DIR    where the sources and the build go (default ~/edgeseg-native-build; ~40 GiB)
#   --out DIR        where the tarballs go (default native/out)
#   --jobs N         parallel Bazel jobs (default: what RAM + swap allow, at most the CPU count)
#   --cuda-arch NN   GPU compute capability without the dot (default: from the SoC)
#   --cuda-home DIR  CUDA toolkit (default /usr/local/cuda)
#   --root DIR       read the board's version files under DIR (a board image; the tests use it)
#   --tf-version V   TensorFlow tag (default by CUDA: 2.9.1, the libtensorflow tfjs-node 4.22 is
#                    made for, on CUDA 11.2-11.8; TF_JETPACK4_VERSION from native/versions.env on
#                    JetPack 4.6's CUDA 10.2)
#   --eigen-commit / --eigen-sha256   Eigen revision for the Eigen fix (default: the patch's)
#
# Install the result with: sudo deploy/install.sh --native DIR
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
SCRIPT_NAME="build-libtensorflow-jetson"
# shellcheck source=native/lib/common.sh
. "$HERE/lib/common.sh"

load_versions
TF_VERSION=""
TFJS_LIBTENSORFLOW=2.9.1
EIGEN_COMMIT=""
EIGEN_SHA256=""
PATCH="$HERE/patches/tensorflow-eigen-aarch64.patch"
NEED_DISK_GB=40
NEED_MEMORY_GB=16
GB_PER_JOB=4

usage() { sed -n '2,26p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  if common_option "$@"; then
    shift "$COMMON_SHIFT"
    continue
  fi
  case "$1" in
    --tf-version) TF_VERSION="${2:?--tf-version needs e.g. 2.9.1}"; shift ;;
    --eigen-commit) EIGEN_COMMIT="${2:?--eigen-commit needs a commit}"; shift ;;
    --eigen-sha256) EIGEN_SHA256="${2:?--eigen-sha256 needs a checksum}"; shift ;;
    -h | --help) usage; exit 0 ;;
    *) fail "unknown option $1 (see --help)" ;;
  esac
  shift
done
check_common_options
if { [ -n "$EIGEN_COMMIT" ] && [ -z "$EIGEN_SHA256" ]; } || { [ -z "$EIGEN_COMMIT" ] && [ -n "$EIGEN_SHA256" ]; }; then
  fail "--eigen-commit and --eigen-sha256 go together (Bazel checks the archive against the checksum)"
fi
[[ -z "$EIGEN_COMMIT" || "$EIGEN_COMMIT" =~ ^[0-9a-f]{40}$ ]] || fail "--eigen-commit must be a 40-digit commit hash"
[[ -z "$EIGEN_SHA256" || "$EIGEN_SHA256" =~ ^[0-9a-f]{64}$ ]] || fail "--eigen-sha256 must be 64 hex digits"
[ -r "$PATCH" ] || fail "the Eigen fix is missing: $PATCH"

TFJS_VERSION="$(sed -n 's/^[[:space:]]*"@tensorflow\/tfjs-node":[[:space:]]*"[\^~]\{0,1\}\([0-9][0-9.]*\)".*/\1/p' "$REPO/package.json" | head -n1)"
[ -n "$TFJS_VERSION" ] || fail "cannot read the @tensorflow/tfjs-node version from $REPO/package.json"

say "libtensorflow (C API, CUDA) and tfjs-node $TFJS_VERSION$([ "$DRY_RUN" -eq 1 ] && echo ' (dry run: nothing is built)')"
if [ "$DRY_RUN" -eq 0 ] && [ "$(uname -m)" != aarch64 ]; then
  fail "run this on the Jetson itself (this machine is $(uname -m)); --dry-run works anywhere"
fi

detect_l4t
detect_module
detect_cuda
detect_cudnn
print_detected

# TensorFlow 2.9 builds with CUDA 11.2 to 11.8 and cuDNN 8: JetPack 5.x (Xavier, Orin). JetPack
# 4.6 (TX1, TX2, Nano) has CUDA 10.2 and cuDNN 8.2: TensorFlow 2.7, the last release NVIDIA built
# for it (2.7.0+nv22.1). JetPack 6 has CUDA 12, which neither builds with.
cuda_fits_2_9() {
  version_ge "$CUDA_VERSION" 11.2 && ! version_ge "$CUDA_VERSION" 12.0 && [ "${CUDNN_VERSION%%.*}" = 8 ]
}
jetpack4_cuda() { [ "${CUDA_VERSION%.*}" = 10.2 ] && [ "${CUDNN_VERSION%%.*}" = 8 ]; }
if [ -z "$TF_VERSION" ]; then
  if cuda_fits_2_9; then
    TF_VERSION="$TFJS_LIBTENSORFLOW"
  elif jetpack4_cuda; then
    TF_VERSION="$TF_JETPACK4_VERSION"
    say "JetPack $JETPACK: TensorFlow $TF_VERSION (CUDA 10.2); tfjs-node $TFJS_VERSION was built against libtensorflow $TFJS_LIBTENSORFLOW, and the smoke test below is what shows its C API calls resolve in $TF_VERSION"
  else
    fail "no TensorFlow release to build for CUDA $CUDA_VERSION and cuDNN $CUDNN_VERSION (JetPack $JETPACK): 2.9.1 needs CUDA 11.2-11.8 and cuDNN 8 (JetPack 5.x), $TF_JETPACK4_VERSION CUDA 10.2 and cuDNN 8 (JetPack 4.6). Pass --tf-version for a TensorFlow release that supports them (tfjs-node talks to libtensorflow through its C API, which TensorFlow keeps stable across 2.x releases, but only $TFJS_LIBTENSORFLOW is what tfjs-node $TFJS_VERSION was built against; the Eigen patch must still apply, which this script checks)."
  fi
fi
say "TensorFlow v$TF_VERSION"

check_resources "$NEED_DISK_GB" "$NEED_MEMORY_GB" "$WORKDIR"
[ -n "$JOBS" ] || JOBS="$(build_jobs "$GB_PER_JOB")"
say "parallel jobs: $JOBS"

require_tool git "sudo apt install git"
require_tool patch "sudo apt install patch"
# TensorFlow 2.7 to 2.9 need Python 3.7 to 3.10 to configure and build; Ubuntu 18.04's python3 is 3.6.
read -r PYTHON PYTHON_VERSION <<<"$(pick_tool 3.7 python3.9 python3.8 python3.7 python3.10 python3 || true)"
[ -n "${PYTHON:-}" ] || fail "missing prerequisite: Python 3.7 or newer for TensorFlow's configure (Ubuntu 18.04's python3 is 3.6): sudo apt install python3.8 python3.8-dev && python3.8 -m pip install --user numpy"
PYTHON="$(command -v "$PYTHON")"
say "python: $PYTHON ($PYTHON_VERSION)"
require_tool g++ "sudo apt install build-essential"
require_tool node "install Node.js 20 or newer (see docs/deployment.md)"
require_tool npm "install Node.js 20 or newer (see docs/deployment.md)"
BAZEL="$(command -v bazelisk || command -v bazel || true)"
[ -n "$BAZEL" ] || fail "missing prerequisite: bazelisk (it fetches the Bazel version the TensorFlow tag asks for): download bazelisk-linux-arm64 from github.com/bazelbuild/bazelisk/releases to /usr/local/bin/bazelisk"

SRC="$WORKDIR/tensorflow-$TF_VERSION"
LIB_TARBALL="libtensorflow-gpu-linux-arm64-$TF_VERSION.tar.gz"
TFJS="$WORKDIR/tfjs-node-$TFJS_VERSION"
ARCHIVE="tfjs-node-$TFJS_VERSION-linux-arm64-tf$TF_VERSION-jetpack${JETPACK// /}-cuda${CUDA_VERSION%.*}-sm$CUDA_ARCH.tar.gz"

step "fetch TensorFlow v$TF_VERSION"
if [ -d "$SRC/.git" ]; then
  say "reusing $SRC"
else
  run mkdir -p "$WORKDIR"
  run git clone --branch "v$TF_VERSION" --depth 1 https://github.com/tensorflow/tensorflow.git "$SRC"
fi

step "apply the Eigen fix ($(basename "$PATCH"))"
apply_checked_patch "$SRC" "$PATCH" \
  "the Eigen fix does not apply to TensorFlow v$TF_VERSION ($SRC/third_party/eigen3/workspace.bzl has another layout)"
if [ -n "$EIGEN_COMMIT" ]; then
  run sed -i "/edgeseg native\/patches/,/EIGEN_SHA256/{s/EIGEN_COMMIT = \"[0-9a-f]*\"/EIGEN_COMMIT = \"$EIGEN_COMMIT\"/;s/EIGEN_SHA256 = \"[0-9a-f]*\"/EIGEN_SHA256 = \"$EIGEN_SHA256\"/}" \
    "$SRC/third_party/eigen3/workspace.bzl"
fi

step "configure TensorFlow for CUDA $CUDA_VERSION, cuDNN $CUDNN_VERSION, compute capability $(cuda_arch_dotted "$CUDA_ARCH")"
run_in "$SRC" env TF_NEED_CUDA=1 TF_NEED_TENSORRT=0 TF_NEED_ROCM=0 TF_CUDA_CLANG=0 TF_ENABLE_XLA=0 \
  TF_SET_ANDROID_WORKSPACE=0 TF_CUDA_VERSION="${CUDA_VERSION%.*}" TF_CUDNN_VERSION="${CUDNN_VERSION%%.*}" \
  TF_CUDA_PATHS="$CUDA_HOME,/usr/lib/aarch64-linux-gnu,/usr/include/aarch64-linux-gnu,/usr/include" \
  TF_CUDA_COMPUTE_CAPABILITIES="$(cuda_arch_dotted "$CUDA_ARCH")" GCC_HOST_COMPILER_PATH=/usr/bin/gcc \
  CC_OPT_FLAGS="-march=armv8-a" PYTHON_BIN_PATH="$PYTHON" USE_DEFAULT_PYTHON_LIB_PATH=1 ./configure

step "build libtensorflow with Bazel ($JOBS jobs; hours on a Jetson)"
run_in "$SRC" "$BAZEL" build --config=opt --config=cuda --config=noaws --config=nogcp --config=nohdfs \
  --config=nonccl --jobs="$JOBS" --local_ram_resources=HOST_RAM*.8 \
  //tensorflow/tools/lib_package:libtensorflow
run mkdir -p "$OUT"
run cp "$SRC/bazel-bin/tensorflow/tools/lib_package/libtensorflow.tar.gz" "$OUT/$LIB_TARBALL"

step "build tfjs-node $TFJS_VERSION from source against it"
run rm -rf "$TFJS" "$WORKDIR/package"
run_in "$WORKDIR" npm pack "@tensorflow/tfjs-node@$TFJS_VERSION"
run_in "$WORKDIR" tar -xzf "tensorflow-tfjs-node-$TFJS_VERSION.tgz"
run mv "$WORKDIR/package" "$TFJS"
run mkdir -p "$TFJS/deps"
run tar -xzf "$OUT/$LIB_TARBALL" -C "$TFJS/deps"
# tfjs-node expects the libraries named for its own libtensorflow version.
# shellcheck disable=SC2016 # expanded by that sh, on the board
run_in "$TFJS/deps/lib" sh -c 'v=$(node -p "require(\"../../scripts/deps-constants.js\").LIBTENSORFLOW_VERSION"); for l in libtensorflow libtensorflow_framework; do [ -e "$l.so.$v" ] || ln -s "$(readlink -f "$l.so")" "$l.so.$v"; done'
run_in "$TFJS" npm install --omit=dev --ignore-scripts --no-audit --no-fund
run_in "$TFJS" npx --no-install node-pre-gyp install --build-from-source

step "smoke test: tfjs-node on the GPU"
run_in "$TFJS" node -e "const tf = require('.'); const a = tf.randomNormal([256, 256]); tf.matMul(a, a).dataSync(); console.log('tfjs-node', tf.version.tfjs, 'backend', tf.getBackend(), 'GPU devices visible:', require('fs').existsSync('/dev/nvhost-ctrl-gpu') ? 'yes' : 'no');"

step "pack the overlay"
info="{\"package\": \"@tensorflow/tfjs-node\", \"version\": \"$TFJS_VERSION\", \"tensorflow\": \"$TF_VERSION\", \"l4t\": \"$L4T_VERSION\", \"jetpack\": \"$JETPACK\", \"cuda\": \"$CUDA_VERSION\", \"cudnn\": \"$CUDNN_VERSION\", \"cudaArch\": \"$CUDA_ARCH\", \"eigen\": \"$(basename "$PATCH")${EIGEN_COMMIT:+ at $EIGEN_COMMIT}\"}"
say "build info: $info"
if [ "$DRY_RUN" -eq 0 ]; then printf '%s\n' "$info" >"$TFJS/edgeseg-native.json"; fi
run_in "$TFJS" tar -czf "$OUT/$ARCHIVE" ./edgeseg-native.json ./deps/lib ./lib
run_in "$OUT" sh -c "sha256sum '$ARCHIVE' '$LIB_TARBALL' > '$ARCHIVE.sha256'"

say "done: $OUT/$ARCHIVE (and $OUT/$LIB_TARBALL, the C library on its own)"
say "install it on this board with: sudo $REPO/deploy/install.sh --native $OUT"
