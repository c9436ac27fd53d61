#!/usr/bin/env bash
# Installs edgeseg on a board (run as root from an unpacked release: a checkout with dist/ built).
#   install.sh                 install or upgrade, enable and start the service
#   install.sh --no-start      install, do not start
#   install.sh --skip-npm      do not run npm ci (dependencies already in place)
#   install.sh --native DIR    also install the overlays native/build-*-jetson.sh wrote to DIR (the
#                              CUDA/TensorRT onnxruntime binding, tfjs-node on libtensorflow, the
#                              Node.js runtime for JetPack 4.6); they are kept in
#                              /opt/edgeseg-native and re-applied on every upgrade
#   install.sh --uninstall     stop and remove the service and /opt/edgeseg (keeps /etc/edgeseg and
#                              /var/lib/edgeseg; add --purge to remove those too)
# DESTDIR=/some/dir stages the files under that folder instead (no user, npm or systemctl).
# Idempotent: an existing /etc/edgeseg/config.yaml or edgeseg.env is never overwritten.
# --uninstall --purge also removes /etc/edgeseg, /var/lib/edgeseg, /opt/edgeseg-native and
# /opt/edgeseg-node.
# The service runs /opt/edgeseg/bin/node, a link to the first Node.js 20.10+ that runs here: the
# one native/build-node-jetson.sh built (/opt/edgeseg-node/bin/node), else node on PATH.
set -euo pipefail

RELEASE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DESTDIR="${DESTDIR:-}"
PREFIX="${DESTDIR}/opt/edgeseg"
ETC="${DESTDIR}/etc/edgeseg"
STATE="${DESTDIR}/var/lib/edgeseg"
UNIT_DIR="${DESTDIR}/etc/systemd/system"
NATIVE="${DESTDIR}/opt/edgeseg-native"
NODE_PREFIX="${DESTDIR}/opt/edgeseg-node"
MIN_NODE_MAJOR=20
MIN_NODE_MINOR=10

start=1
run_npm=1
uninstall=0
purge=0
native_from=""
while [ $# -gt 0 ]; do
  case "$1" in
    --no-start) start=0 ;;
    --skip-npm) run_npm=0 ;;
    --uninstall) uninstall=1 ;;
    --purge) purge=1 ;;
    --native)
      if [ $# -lt 2 ]; then
        echo "install.sh: --native needs the folder the native build wrote (native/out)" >&2
        exit 2
      fi
      native_from="$2"
      shift
      ;;
    -h | --help)
      sed -n '2,17p' "${BASH_SOURCE[0]}"
      exit 0
      ;;
    *)
      echo "install.sh: unknown option $1 (see --help)" >&2
      exit 2
      ;;
  esac
  shift
done

say() { echo "edgeseg install: $*"; }
fail() {
  echo "edgeseg install: $*" >&2
  exit 1
}
staged() { [ -n "$DESTDIR" ]; }

# The JSON field $2 of a native overlay's edgeseg-native.json ($1 is the tarball).
overlay_field() {
  { tar -xzOf "$1" ./edgeseg-native.json || tar -xzOf "$1" edgeseg-native.json; } 2>/dev/null |
    sed -n "s/.*\"$2\": *\"\([^\"]*\)\".*/\1/p"
}

# Unpacks the overlays kept in /opt/edgeseg-native: `runtime` the Node.js build into
# /opt/edgeseg-node (before npm needs it), `packages` the others over the npm package each was built
# for, after checking that the installed package has the version the overlay's binding was built
# against. An overlay marked "overlay": "package" (onnxruntime 1.11 for JetPack 4.6) is that whole
# package and replaces npm's, whatever version npm installed.
apply_native_overlays() {
  local kind="$1" archive package version target installed
  for archive in "$NATIVE"/*.tar.gz; do
    [ -e "$archive" ] || continue
    package="$(overlay_field "$archive" package)"
    version="$(overlay_field "$archive" version)"
    if [ "$package" = node ]; then
      [ "$kind" = runtime ] || continue
      rm -rf "$NODE_PREFIX"
      mkdir -p "$NODE_PREFIX"
      tar -xzf "$archive" -C "$NODE_PREFIX"
      say "native overlay $(basename "$archive") -> ${NODE_PREFIX#"$DESTDIR"}"
      continue
    fi
    [ "$kind" = packages ] || continue
    target="${PREFIX}/node_modules/${package}"
    if [ "$(overlay_field "$archive" overlay)" = package ]; then
      rm -rf "$target"
      mkdir -p "$target"
      tar -xzf "$archive" -C "$target"
      say "native overlay $(basename "$archive") -> ${target#"$DESTDIR"} (the whole package, ${package} ${version})"
      continue
    fi
    installed=""
    if [ -f "${target}/package.json" ]; then
      installed="$(sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' "${target}/package.json" | head -n1)"
    fi
    if [ -n "$installed" ] && [ "$installed" != "$version" ]; then
      echo "edgeseg install: warning: skipped $(basename "$archive"): built for ${package} ${version}, but ${installed} is installed; rebuild it with native/build-*-jetson.sh (the npm build runs meanwhile)" >&2
      continue
    fi
    mkdir -p "$target"
    tar -xzf "$archive" -C "$target"
    say "native overlay $(basename "$archive") -> ${target#"$DESTDIR"}"
  done
  return 0
}

if ! staged && [ "$(id -u)" -ne 0 ]; then
  fail "run as root (sudo $0), or set DESTDIR to stage the files"
fi

if [ "$uninstall" -eq 1 ]; then
  if ! staged && command -v systemctl >/dev/null; then
    systemctl disable --now edgeseg.service 2>/dev/null || true
  fi
  rm -f "${UNIT_DIR}/edgeseg.service"
  rm -rf "$PREFIX"
  if [ "$purge" -eq 1 ]; then
    rm -rf "$ETC" "$STATE" "$NATIVE" "$NODE_PREFIX"
    say "removed the service, /opt/edgeseg, /etc/edgeseg, /var/lib/edgeseg, /opt/edgeseg-native and /opt/edgeseg-node"
  else
    say "removed the service and /opt/edgeseg (kept /etc/edgeseg and /var/lib/edgeseg; --purge removes them)"
  fi
  if ! staged && command -v systemctl >/dev/null; then systemctl daemon-reload; fi
  exit 0
fi

case "$(uname -m)" in
  aarch64 | arm64 | x86_64) ;;
  *) fail "unsupported architecture $(uname -m): edgeseg runs on aarch64 (Jetson) and x86_64" ;;
esac

# NODE_BIN: the first Node.js that runs here and is new enough, the built runtime first.
resolve_node() {
  local candidate version major rest minor problems=""
  for candidate in "${NODE_PREFIX}/bin/node" "$(command -v node || true)"; do
    if [ -z "$candidate" ] || [ ! -x "$candidate" ]; then continue; fi
    if ! version="$("$candidate" -p 'process.versions.node' 2>&1)"; then
      problems="${problems}; ${candidate#"$DESTDIR"} does not run here ($(printf '%s' "$version" | head -n1))"
      continue
    fi
    major="${version%%.*}"
    rest="${version#*.}"
    minor="${rest%%.*}"
    if [ "$major" -gt "$MIN_NODE_MAJOR" ] || { [ "$major" -eq "$MIN_NODE_MAJOR" ] && [ "$minor" -ge "$MIN_NODE_MINOR" ]; }; then
      NODE_BIN="$candidate"
      return 0
    fi
    problems="${problems}; ${candidate#"$DESTDIR"} is Node.js $version, too old"
  done
  fail "no Node.js ${MIN_NODE_MAJOR}.${MIN_NODE_MINOR} or newer that runs here${problems:-: none installed}. On JetPack 4.6 (glibc 2.27; the official Node.js 18+ binaries need 2.28) build one with native/build-node-jetson.sh and install with: install.sh --native native/out; elsewhere install Node.js ${MIN_NODE_MAJOR}.${MIN_NODE_MINOR} or newer (e.g. from NodeSource)"
}

[ -f "${RELEASE_DIR}/dist/cli/index.js" ] || fail "${RELEASE_DIR}/dist is missing: build first (npm ci && npm run build)"

if ! staged; then
  if ! id edgeseg >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/edgeseg --shell /usr/sbin/nologin --groups video edgeseg
    say "created system user edgeseg"
  fi
fi

install -d -m 0755 "$PREFIX" "$ETC" "$UNIT_DIR"
install -d -m 0750 "$STATE" "${STATE}/engine-cache" "${STATE}/models"

# The app: replace /opt/edgeseg's code wholesale, keep nothing stale.
rm -rf "${PREFIX}/dist" "${PREFIX}/models" "${PREFIX}/docs"
cp -R "${RELEASE_DIR}/dist" "${RELEASE_DIR}/models" "${RELEASE_DIR}/docs" "$PREFIX/"
install -m 0644 "${RELEASE_DIR}/package.json" "${RELEASE_DIR}/package-lock.json" "$PREFIX/"

if [ -n "$native_from" ]; then
  [ -d "$native_from" ] || fail "--native $native_from is not a folder"
  install -d -m 0755 "$NATIVE"
  found=0
  for archive in "$native_from"/*.tar.gz; do
    [ -e "$archive" ] || continue
    if [ -z "$(overlay_field "$archive" package)" ]; then continue; fi # e.g. the bare libtensorflow tarball
    install -m 0644 "$archive" "$NATIVE/"
    found=$((found + 1))
  done
  [ "$found" -gt 0 ] || fail "no native overlay in $native_from (expected the .tar.gz files native/build-*-jetson.sh write, each with an edgeseg-native.json)"
fi

if [ ! -f "${ETC}/config.yaml" ]; then
  install -m 0644 "${RELEASE_DIR}/deploy/config.example.yaml" "${ETC}/config.yaml"
  say "installed ${ETC}/config.yaml (edit device_id, source and mqtt.url)"
else
  say "kept the existing ${ETC}/config.yaml"
fi
if [ ! -f "${ETC}/edgeseg.env" ]; then
  install -m 0600 "${RELEASE_DIR}/systemd/edgeseg.env.example" "${ETC}/edgeseg.env"
fi
install -m 0644 "${RELEASE_DIR}/systemd/edgeseg.service" "${UNIT_DIR}/edgeseg.service"

apply_native_overlays runtime
resolve_node
install -d -m 0755 "${PREFIX}/bin"
ln -sfn "${NODE_BIN#"$DESTDIR"}" "${PREFIX}/bin/node"
say "Node.js $("$NODE_BIN" -p 'process.versions.node'): /opt/edgeseg/bin/node -> ${NODE_BIN#"$DESTDIR"}"

if staged; then
  apply_native_overlays packages
  say "staged under $DESTDIR (skipped: user creation, chown, npm ci, systemctl)"
  exit 0
fi

chown -R edgeseg:edgeseg "$STATE"
if [ "$run_npm" -eq 1 ]; then
  # Production dependencies only. dist/ ships built, so no lifecycle scripts (the package's own
  # `prepare` would need the dev-only TypeScript compiler); sharp, koffi and onnxruntime-node use their
  # prebuilt binaries, and native/ builds the CUDA/TensorRT onnxruntime for Jetson.
  (cd "$PREFIX" && PATH="$(dirname "$NODE_BIN"):$PATH" npm ci --omit=dev --ignore-scripts --no-audit --no-fund)
fi
apply_native_overlays packages
systemctl daemon-reload
if [ "$start" -eq 1 ]; then
  systemctl enable edgeseg.service
  systemctl restart edgeseg.service
  say "started: journalctl -u edgeseg -f"
else
  say "installed; start with: systemctl enable --now edgeseg"
fi
