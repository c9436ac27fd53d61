#!/usr/bin/env bash
# Shared by the native build scripts: logging, dry-run aware step runner, option helpers, and the
# detection of L4T/JetPack, the Jetson module, CUDA, cuDNN and TensorRT, RAM, swap and disk.
# Everything reads files under $ROOT (default /), so the detection can be exercised against a fake
# board tree (the tests do): `--root DIR`.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the detected values are read by the scripts that source this file

ROOT="${ROOT:-/}"
DRY_RUN="${DRY_RUN:-0}"
SCRIPT_NAME="${SCRIPT_NAME:-$(basename "$0")}"

say() { printf '%s: %s\n' "$SCRIPT_NAME" "$*"; }
warn() { printf '%s: warning: %s\n' "$SCRIPT_NAME" "$*" >&2; }
fail() {
  printf '%s: error: %s\n' "$SCRIPT_NAME" "$*" >&2
  exit 1
}

# Runs a command, or in --dry-run prints it (quoted so it can be pasted) and skips it.
STEP=0
step() {
  STEP=$((STEP + 1))
  printf '%s: step %d: %s\n' "$SCRIPT_NAME" "$STEP" "$1"
}
run() {
  printf '  $'
  printf ' %q' "$@"
  printf '\n'
  if [ "$DRY_RUN" -eq 1 ]; then return 0; fi
  "$@"
}
# `run_in DIR cmd...`: run in a folder (printed as `cd DIR && cmd`).
run_in() {
  local dir="$1"
  shift
  printf '  $ cd %q &&' "$dir"
  printf ' %q' "$@"
  printf '\n'
  if [ "$DRY_RUN" -eq 1 ]; then return 0; fi
  (cd "$dir" && "$@")
}

# `apply_checked_patch SRC PATCH WHY_NOT`: applies PATCH (-p1) to the checkout SRC once. It
# recognises an already-patched tree, proves the patch applies exactly (patch --dry-run --fuzz=0)
# before anything is configured or built, and otherwise stops with "WHY_NOT; nothing was built".
# In a dry run without a checkout yet it only prints the command.
apply_checked_patch() {
  local src="$1" patch_file="$2" why_not="$3"
  if [ ! -d "$src" ]; then
    say "(the patch is checked against the checkout with patch --dry-run once it is fetched)"
    run patch --forward --fuzz=0 -p1 -d "$src" -i "$patch_file"
  elif patch --dry-run --reverse --force --silent -p1 -d "$src" -i "$patch_file" >/dev/null 2>&1; then
    say "already applied in $src"
  else
    patch --dry-run --forward --fuzz=0 --silent -p1 -d "$src" -i "$patch_file" >/dev/null 2>&1 ||
      fail "$why_not; nothing was built"
    say "the patch applies cleanly to $src"
    run patch --forward --fuzz=0 -p1 -d "$src" -i "$patch_file"
  fi
}

# Options both build scripts take. `common_option "$@"` handles "$1" (and its value) and sets
# COMMON_SHIFT to how many arguments it used; it returns 1 for an option it does not know.
WORKDIR="${HOME:-/tmp}/edgeseg-native-build"
OUT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/out"
JOBS=""
COMMON_SHIFT=0
common_option() {
  COMMON_SHIFT=2
  case "$1" in
    --dry-run) DRY_RUN=1 COMMON_SHIFT=1 ;;
    --workdir) WORKDIR="${2:?--workdir needs a folder}" ;;
    --out) OUT="${2:?--out needs a folder}" ;;
    --jobs) JOBS="${2:?--jobs needs a number}" ;;
    --cuda-arch) CUDA_ARCH_OVERRIDE="${2:?--cuda-arch needs the compute capability without the dot, e.g. 87}" ;;
    --cuda-home) CUDA_HOME_OVERRIDE="${2:?--cuda-home needs a folder}" ;;
    --root) ROOT="${2:?--root needs a folder}" ;;
    *) return 1 ;;
  esac
}

check_common_options() {
  [ -d "$ROOT" ] || fail "--root $ROOT is not a folder"
  case "$JOBS" in "" | *[!0-9]*) [ -z "$JOBS" ] || fail "--jobs must be a positive number, not '$JOBS'" ;; esac
  return 0
}

under_root() {
  # Path of $1 (absolute, on the board) inside $ROOT.
  if [ "$ROOT" = "/" ]; then printf '%s' "$1"; else printf '%s%s' "${ROOT%/}" "$1"; fi
}

# version_ge A B: true when dotted version A >= B.
version_ge() {
  [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]
}

require_tool() {
  # require_tool NAME HINT
  command -v "$1" >/dev/null 2>&1 || fail "missing prerequisite: $1 is not on PATH ($2)"
}

# ---------------------------------------------------------------------------------------------
# L4T / JetPack

L4T_MAJOR=""
L4T_VERSION=""
JETPACK=""

detect_l4t() {
  local file line revision
  file="$(under_root /etc/nv_tegra_release)"
  [ -r "$file" ] || fail "not a Jetson: $file is missing (L4T writes it; flash the board with JetPack, or pass --root for a board image)"
  line="$(head -n1 "$file")"
  # "# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64, DATE: ..."
  L4T_MAJOR="$(printf '%s' "$line" | sed -n 's/^# R\([0-9][0-9]*\) (release).*/\1/p')"
  revision="$(printf '%s' "$line" | sed -n 's/.*REVISION: \([0-9][0-9.]*\),.*/\1/p')"
  if [ -z "$L4T_MAJOR" ] || [ -z "$revision" ]; then
    fail "cannot read the L4T release from $file: '$line'"
  fi
  L4T_VERSION="${L4T_MAJOR}.${revision}"
  JETPACK="$(jetpack_for_l4t "$L4T_VERSION")"
}

# JetPack release for an L4T version (NVIDIA's release table; unknown revisions give "x").
jetpack_for_l4t() {
  case "$1" in
    32.7.*) echo "4.6.x" ;;
    32.6.*) echo "4.6" ;;
    32.5.*) echo "4.5.x" ;;
    32.*) echo "4.x" ;;
    35.1.*) echo "5.0.2" ;;
    35.2.*) echo "5.1" ;;
    35.3.*) echo "5.1.1" ;;
    35.4.*) echo "5.1.2" ;;
    35.5.*) echo "5.1.3" ;;
    35.6.*) echo "5.1.4" ;;
    35.*) echo "5.x" ;;
    36.2.*) echo "6.0 DP" ;;
    36.3.*) echo "6.0" ;;
    36.4.0 | 36.4.0.*) echo "6.1" ;;
    36.4.*) echo "6.2" ;;
    36.*) echo "6.x" ;;
    38.*) echo "7.0" ;;
    39.*) echo "7.x" ;;
    *) echo "unknown" ;;
  esac
}

# Ubuntu release and glibc of the board image (/etc/os-release; each L4T line ships one Ubuntu).
UBUNTU_VERSION=""
GLIBC_VERSION=""

detect_os() {
  local file
  file="$(under_root /etc/os-release)"
  UBUNTU_VERSION=""
  [ ! -r "$file" ] || UBUNTU_VERSION="$(sed -n 's/^VERSION_ID="\{0,1\}\([0-9.]*\)"\{0,1\}$/\1/p' "$file" | head -n1)"
  case "$UBUNTU_VERSION" in
    18.04) GLIBC_VERSION=2.27 ;; # JetPack 4.x (L4T R32)
    20.04) GLIBC_VERSION=2.31 ;; # JetPack 5.x (R35)
    22.04) GLIBC_VERSION=2.35 ;; # JetPack 6.x (R36)
    24.04) GLIBC_VERSION=2.39 ;; # JetPack 7.x (R38)
    *) GLIBC_VERSION="" ;;
  esac
  if [ -z "$GLIBC_VERSION" ] && [ "$ROOT" = "/" ] && command -v getconf >/dev/null 2>&1; then
    GLIBC_VERSION="$(getconf GNU_LIBC_VERSION | sed -n 's/^glibc \([0-9.]*\)$/\1/p')"
  fi
  [ -n "$GLIBC_VERSION" ] || fail "cannot tell the glibc version: $file has no known Ubuntu VERSION_ID ('${UBUNTU_VERSION:-none}')"
}

# The versions native/versions.env pins for boards that cannot take package.json's.
load_versions() {
  local file
  file="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/versions.env"
  [ -r "$file" ] || fail "missing $file"
  # shellcheck source=native/versions.env
  . "$file"
}

# The newest of the given compilers/interpreters on PATH whose version is at least $1:
# pick_tool MIN NAME... prints "NAME VERSION" (version from --version's first number).
pick_tool() {
  local min="$1" name version
  shift
  for name in "$@"; do
    command -v "$name" >/dev/null 2>&1 || continue
    version="$("$name" --version 2>&1 | head -n1 | grep -o '[0-9][0-9]*\.[0-9][0-9.]*' | tail -n1)"
    if [ -n "$version" ] && version_ge "$version" "$min"; then
      printf '%s %s\n' "$name" "$version"
      return 0
    fi
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
# Module and GPU compute capability

MODULE=""
SOC=""
CUDA_ARCH=""

detect_module() {
  local compatible model
  compatible="$(under_root /proc/device-tree/compatible)"
  model="$(under_root /proc/device-tree/model)"
  MODULE="unknown Jetson"
  [ -r "$model" ] && MODULE="$(tr -d '\0' <"$model")"
  SOC=""
  if [ -r "$compatible" ]; then
    SOC="$(tr '\0' '\n' <"$compatible" | sed -n 's/^nvidia,\(tegra[0-9][0-9]*\)$/\1/p' | head -n1)"
  fi
  case "$SOC" in
    tegra210) CUDA_ARCH="53" ;; # TX1, Nano (Maxwell)
    tegra186) CUDA_ARCH="62" ;; # TX2 (Pascal)
    tegra194) CUDA_ARCH="72" ;; # AGX Xavier, Xavier NX (Volta)
    tegra234) CUDA_ARCH="87" ;; # AGX Orin, Orin NX, Orin Nano (Ampere)
    tegra264) CUDA_ARCH="110" ;; # Thor (Blackwell; CUDA 13 numbering)
    "") CUDA_ARCH="" ;;
    *) CUDA_ARCH="" ;;
  esac
  if [ -n "${CUDA_ARCH_OVERRIDE:-}" ]; then CUDA_ARCH="$CUDA_ARCH_OVERRIDE"; fi
  [ -n "$CUDA_ARCH" ] || fail "cannot tell the GPU compute capability: no known nvidia,tegraNNN in $compatible (SoC '${SOC:-none}'); pass --cuda-arch, e.g. --cuda-arch 87 for Orin"
}

cuda_arch_dotted() { printf '%s.%s' "${1%?}" "${1: -1}"; }

# ---------------------------------------------------------------------------------------------
# CUDA, cuDNN, TensorRT

CUDA_HOME=""
CUDA_VERSION=""
CUDNN_VERSION=""
CUDNN_INCLUDE=""
CUDNN_HOME=""
TRT_VERSION=""
TRT_INCLUDE=""
TRT_HOME=""

detect_cuda() {
  local home json txt
  home="${CUDA_HOME_OVERRIDE:-/usr/local/cuda}"
  json="$(under_root "$home/version.json")"
  txt="$(under_root "$home/version.txt")"
  if [ -r "$json" ]; then
    # {"cuda": {"name": "CUDA SDK", "version": "12.6.68"}, ...}: the first "version" is the SDK's.
    CUDA_VERSION="$(tr -d '\n' <"$json" | sed -n 's/.*"cuda"[^}]*"version"[[:space:]]*:[[:space:]]*"\([0-9.]*\)".*/\1/p')"
  elif [ -r "$txt" ]; then
    CUDA_VERSION="$(sed -n 's/^CUDA Version \([0-9.]*\).*/\1/p' "$txt")"
  fi
  [ -n "$CUDA_VERSION" ] || fail "CUDA not found: neither $json nor $txt (install JetPack's CUDA: sudo apt install nvidia-jetpack, or pass --cuda-home)"
  CUDA_HOME="$home"
}

# Reads "#define NAME value" from a header, following one level of "#define NAME OTHER".
header_define() {
  local header="$1" name="$2" value
  value="$(sed -n "s/^#define[[:space:]][[:space:]]*${name}[[:space:]][[:space:]]*\([A-Za-z0-9_]*\).*/\1/p" "$header" | head -n1)"
  if [ -n "$value" ] && ! [[ "$value" =~ ^[0-9]+$ ]]; then
    value="$(sed -n "s/^#define[[:space:]][[:space:]]*${value}[[:space:]][[:space:]]*\([0-9][0-9]*\).*/\1/p" "$header" | head -n1)"
  fi
  printf '%s' "$value"
}

detect_cudnn() {
  local dir header major minor patch
  for dir in /usr/include/aarch64-linux-gnu /usr/include "$CUDA_HOME/include"; do
    for header in "$(under_root "$dir")"/cudnn_version.h "$(under_root "$dir")"/cudnn_version_v*.h "$(under_root "$dir")"/cudnn.h; do
      [ -r "$header" ] || continue
      major="$(header_define "$header" CUDNN_MAJOR)"
      [ -n "$major" ] || continue
      minor="$(header_define "$header" CUDNN_MINOR)"
      patch="$(header_define "$header" CUDNN_PATCHLEVEL)"
      CUDNN_VERSION="$major.${minor:-0}.${patch:-0}"
      CUDNN_INCLUDE="$dir"
      # JetPack installs cuDNN as system packages (lib in /usr/lib/aarch64-linux-gnu).
      CUDNN_HOME=/usr/lib/aarch64-linux-gnu
      if [ "$dir" = "$CUDA_HOME/include" ]; then CUDNN_HOME="$CUDA_HOME"; fi
      return 0
    done
  done
  fail "cuDNN not found: no cudnn_version.h under /usr/include or $CUDA_HOME/include in $ROOT (install libcudnn*-dev from JetPack)"
}

detect_tensorrt() {
  local dir header major minor patch
  for dir in /usr/include/aarch64-linux-gnu /usr/include /usr/src/tensorrt/include; do
    header="$(under_root "$dir")/NvInferVersion.h"
    [ -r "$header" ] || continue
    major="$(header_define "$header" NV_TENSORRT_MAJOR)"
    [ -n "$major" ] || continue
    minor="$(header_define "$header" NV_TENSORRT_MINOR)"
    patch="$(header_define "$header" NV_TENSORRT_PATCH)"
    TRT_VERSION="$major.${minor:-0}.${patch:-0}"
    TRT_INCLUDE="$dir"
    TRT_HOME=/usr/lib/aarch64-linux-gnu
    if [ "$dir" = /usr/src/tensorrt/include ]; then TRT_HOME=/usr/src/tensorrt; fi
    return 0
  done
  fail "TensorRT not found: no NvInferVersion.h under /usr/include/aarch64-linux-gnu or /usr/include in $ROOT (install libnvinfer-dev and libnvonnxparsers-dev from JetPack)"
}

# ---------------------------------------------------------------------------------------------
# Memory, swap, disk

MEM_GB=0
SWAP_GB=0
DISK_GB=0

meminfo_gb() {
  # meminfo_gb FIELD: the field of /proc/meminfo in whole GiB (rounded down).
  local kb
  kb="$(sed -n "s/^$1:[[:space:]]*\([0-9][0-9]*\) kB/\1/p" "$(under_root /proc/meminfo)")"
  echo $((${kb:-0} / 1048576))
}

check_resources() {
  # check_resources NEED_DISK_GB NEED_MEMORY_GB WORKDIR
  local need_disk="$1" need_mem="$2" workdir="$3" probe
  [ -r "$(under_root /proc/meminfo)" ] || fail "cannot read $(under_root /proc/meminfo)"
  MEM_GB="$(meminfo_gb MemTotal)"
  SWAP_GB="$(meminfo_gb SwapTotal)"
  probe="$workdir"
  while [ ! -d "$probe" ]; do probe="$(dirname "$probe")"; done
  DISK_GB="$(df -Pk "$probe" | awk 'NR == 2 { print int($4 / 1048576) }')"
  say "memory: ${MEM_GB} GiB RAM + ${SWAP_GB} GiB swap (need ${need_mem} GiB together); disk: ${DISK_GB} GiB free at $probe (need ${need_disk} GiB)"
  if [ "$DISK_GB" -lt "$need_disk" ]; then
    fail "not enough disk: ${DISK_GB} GiB free at $probe, the build needs ${need_disk} GiB (use --workdir on an NVMe or USB drive)"
  fi
  if [ $((MEM_GB + SWAP_GB)) -lt "$need_mem" ]; then
    fail "not enough memory: ${MEM_GB} GiB RAM + ${SWAP_GB} GiB swap, the build needs ${need_mem} GiB together; add swap first, e.g.
  sudo fallocate -l $((need_mem - MEM_GB))G /var/swapfile && sudo chmod 600 /var/swapfile && sudo mkswap /var/swapfile && sudo swapon /var/swapfile"
  fi
}

# Parallel compile jobs that fit in memory (a CUDA translation unit can take ~2.5 GiB).
build_jobs() {
  local per_job_gb="$1" cpus jobs
  cpus="$(nproc 2>/dev/null || echo 1)"
  jobs=$(((MEM_GB + SWAP_GB) / per_job_gb))
  [ "$jobs" -ge 1 ] || jobs=1
  [ "$jobs" -le "$cpus" ] || jobs="$cpus"
  echo "$jobs"
}

print_detected() {
  say "board: $MODULE (${SOC:-unknown SoC}), GPU compute capability $(cuda_arch_dotted "$CUDA_ARCH")"
  say "L4T R$L4T_VERSION (JetPack $JETPACK)"
  say "CUDA $CUDA_VERSION at $CUDA_HOME"
  [ -z "$CUDNN_VERSION" ] || say "cuDNN $CUDNN_VERSION (headers in $CUDNN_INCLUDE)"
  [ -z "$TRT_VERSION" ] || say "TensorRT $TRT_VERSION (headers in $TRT_INCLUDE)"
}
