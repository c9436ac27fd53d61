#!/usr/bin/env bash
# Builds the Node.js runtime edgeseg needs on a board whose glibc is too old for the official
# binaries (JetPack 4.6: Ubuntu 18.04, glibc 2.27; Node.js 18 and newer need 2.28), from the
# release's source tarball with a newer GCC, and packs it as an overlay that install.sh unpacks to
# /opt/edgeseg-node. Run on the board; see native/README.md.
#
#   native/build-node-jetson.sh [--dry-run] [--workdir DIR] [--out DIR] [--jobs N] [--root DIR]
#                               [--node-version V] [--force]
#
#   --dry-run          detect and check everything, print every step, build nothing
#   --workdir DIR      where the source and the build go (default ~/edgeseg-native-build; ~10 GiB)
#   --out DIR          where the overlay tarball goes (default native/out)
#   --jobs N           parallel compile jobs (default: what RAM + swap allow, at most the CPU count)
#   --root DIR         read the board's version files under DIR (a board image; the tests use it)
#   --node-version V   Node.js release (default: NODE_VERSION in native/versions.env)
#   --force            build even where the official binaries would run (glibc 2.28 or newer)
#
# Install the result with: sudo deploy/install.sh --native DIR (the service then runs
# /opt/edgeseg/bin/node -> /opt/edgeseg-node/bin/node).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
SCRIPT_NAME="build-node-jetson"
# shellcheck source=native/lib/common.sh
. "$HERE/lib/common.sh"
load_versions

PREFIX=/opt/edgeseg-node
NEED_DISK_GB=10
NEED_MEMORY_GB=6
GB_PER_JOB=2
# Node.js 20's BUILDING.md: GCC 10.1 or newer, Python 3.8 or newer.
MIN_GCC=10.1
MIN_PYTHON=3.8
force=0

usage() { sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  if common_option "$@"; then
    shift "$COMMON_SHIFT"
    continue
  fi
  case "$1" in
    --node-version) NODE_VERSION="${2:?--node-version needs e.g. 20.20.2}"; shift ;;
    --force) force=1 ;;
    -h | --help) usage; exit 0 ;;
    *) fail "unknown option $1 (see --help)" ;;
  esac
  shift
done
check_common_options
[[ "$NODE_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "--node-version must look like 20.20.2, not '$NODE_VERSION'"
version_ge "$NODE_VERSION" 20.10 || fail "edgeseg needs Node.js 20.10 or newer (package.json engines), not $NODE_VERSION"

say "Node.js v$NODE_VERSION for $PREFIX$([ "$DRY_RUN" -eq 1 ] && echo ' (dry run: nothing is built)')"
if [ "$DRY_RUN" -eq 0 ] && [ "$(uname -m)" != aarch64 ]; then
  fail "run this on the Jetson itself (this machine is $(uname -m)); --dry-run works anywhere"
fi

detect_l4t
detect_os
say "L4T R$L4T_VERSION (JetPack $JETPACK), Ubuntu $UBUNTU_VERSION with glibc $GLIBC_VERSION"
if version_ge "$GLIBC_VERSION" 2.28 && [ "$force" -eq 0 ]; then
  say "nothing to build: glibc $GLIBC_VERSION runs the official Node.js $NODE_VERSION binaries (e.g. from nodejs.org or NodeSource); --force builds anyway"
  exit 0
fi

check_resources "$NEED_DISK_GB" "$NEED_MEMORY_GB" "$WORKDIR"
[ -n "$JOBS" ] || JOBS="$(build_jobs "$GB_PER_JOB")"
say "parallel jobs: $JOBS"

require_tool curl "sudo apt install curl"
require_tool make "sudo apt install build-essential"
require_tool xz "sudo apt install xz-utils"
require_tool objdump "sudo apt install binutils"
read -r CXX CXX_VERSION <<<"$(pick_tool "$MIN_GCC" g++-13 g++-12 g++-11 g++-10 g++ || true)"
[ -n "${CXX:-}" ] || fail "missing prerequisite: GCC $MIN_GCC or newer (Node.js ${NODE_VERSION%%.*} needs it; Ubuntu $UBUNTU_VERSION has $(g++ -dumpversion 2>/dev/null || echo none)): sudo add-apt-repository ppa:ubuntu-toolchain-r/test && sudo apt-get update && sudo apt-get install g++-10"
CC="${CXX/g++/gcc}"
command -v "$CC" >/dev/null 2>&1 || fail "missing prerequisite: $CC next to $CXX (sudo apt-get install ${CC})"
read -r PYTHON PYTHON_VERSION <<<"$(pick_tool "$MIN_PYTHON" python3.12 python3.11 python3.10 python3.9 python3.8 python3 || true)"
[ -n "${PYTHON:-}" ] || fail "missing prerequisite: Python $MIN_PYTHON or newer for Node.js's configure (Ubuntu 18.04's python3 is 3.6): sudo apt-get install python3.8"
say "compilers: $CXX $CXX_VERSION, $PYTHON $PYTHON_VERSION"

TARBALL="node-v$NODE_VERSION.tar.xz"
SRC="$WORKDIR/node-v$NODE_VERSION"
STAGE="$WORKDIR/stage/node-v$NODE_VERSION"
ARCHIVE="node-v$NODE_VERSION-linux-arm64-glibc$GLIBC_VERSION-jetpack${JETPACK// /}.tar.gz"
URL="https://nodejs.org/dist/v$NODE_VERSION"

step "fetch the Node.js v$NODE_VERSION source and check it against the release's SHASUMS256.txt"
run mkdir -p "$WORKDIR"
run_in "$WORKDIR" curl -fsSLO "$URL/$TARBALL" -O "$URL/SHASUMS256.txt"
run_in "$WORKDIR" sh -c "grep ' $TARBALL\$' SHASUMS256.txt | sha256sum -c -"
run rm -rf "$SRC"
run tar -xJf "$WORKDIR/$TARBALL" -C "$WORKDIR"

# --partly-static links libstdc++ and libgcc in: the binary then needs only the board's glibc
# 2.27, not the toolchain PPA's libstdc++ (which native addons built with GCC 7 do not need either).
step "configure for $PREFIX with $CXX (libstdc++ linked statically)"
run_in "$SRC" env "CC=$CC" "CXX=$CXX" "PYTHON=$PYTHON" "$PYTHON" configure.py --prefix="$PREFIX" --partly-static

step "build Node.js ($JOBS jobs; hours on a Jetson)"
run_in "$SRC" make -j"$JOBS"

step "install into a staging folder and check it needs nothing newer than glibc $GLIBC_VERSION"
run rm -rf "$STAGE"
run_in "$SRC" make install DESTDIR="$STAGE"
# shellcheck disable=SC2016 # expanded by that sh
run sh -c 'need=$(objdump -T "$1" | grep -o "GLIBC_[0-9.]*" | sed "s/GLIBC_//" | sort -V | tail -n1); [ "$(printf "%s\n%s\n" "$need" "$2" | sort -V | tail -n1)" = "$2" ] || { echo "$1 needs glibc $need, the board has $2" >&2; exit 1; }' \
  sh "$STAGE$PREFIX/bin/node" "$GLIBC_VERSION"

step "smoke test: the new node runs, with its npm"
run "$STAGE$PREFIX/bin/node" -e "console.log('node', process.version, process.arch, 'glibc', process.report.getReport().header.glibcVersionRuntime)"
run "$STAGE$PREFIX/bin/node" "$STAGE$PREFIX/lib/node_modules/npm/bin/npm-cli.js" --version

step "pack the overlay"
info="{\"package\": \"node\", \"version\": \"$NODE_VERSION\", \"prefix\": \"$PREFIX\", \"l4t\": \"$L4T_VERSION\", \"jetpack\": \"$JETPACK\", \"glibc\": \"$GLIBC_VERSION\", \"compiler\": \"$CXX $CXX_VERSION\"}"
say "build info: $info"
if [ "$DRY_RUN" -eq 0 ]; then printf '%s\n' "$info" >"$STAGE$PREFIX/edgeseg-native.json"; fi
run mkdir -p "$OUT"
run tar -czf "$OUT/$ARCHIVE" -C "$STAGE$PREFIX" .
run_in "$OUT" sh -c "sha256sum '$ARCHIVE' > '$ARCHIVE.sha256'"

say "done: $OUT/$ARCHIVE"
say "install it on this board with: sudo $REPO/deploy/install.sh --native $OUT"
