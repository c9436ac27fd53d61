#!/usr/bin/env bash
# Installs edgeseg on a board (run as root from an unpacked release: a checkout with dist/ built).
#   install.sh                 install or upgrade, enable and start the service
#   install.sh --no-start      install, do not start
#   install.sh --skip-npm      do not run npm ci (dependencies already in place)
#   install.sh --native DIR    also install the overlays native/build-*-jetson.sh wrote to DIR (the
#                              CUDA/TensorRT onnxruntime binding, tfjs-node on libtensorflow); they
#                              are kept in /opt/edgeseg-native and re-applied on every upgrade
#   install.sh --uninstall     stop and remove the service and /opt/edgeseg (keeps /etc/edgeseg and
#                              /var/lib/edgeseg; add --purge to remove those too)
# DESTDIR=/some/dir stages the files under that folder instead (no user, npm or systemctl).
# Idempotent: an existing /etc/edgeseg/config.yaml or edgeseg.env is never overwritten.
# --uninstall --purge also removes /etc/edgeseg, /var/lib/edgeseg and /opt/edgeseg-native.
set -euo pipefail

RELEASE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DESTDIR="${DESTDIR:-}"
PREFIX="${DESTDIR}/opt/edgeseg"
ETC="${DESTDIR}/etc/edgeseg"
STATE="${DESTDIR}/var/lib/edgeseg"
UNIT_DIR="${DESTDIR}/etc/systemd/system"
NATIVE="${DESTDIR}/opt/edgeseg-native"
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
      sed -n '2,13p' "${BASH_SOURCE[0]}"
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

# Unpacks every overlay kept in /opt/edgeseg-native over the npm package it was built for, after
# checking that the installed package has the version the overlay's binding was built against.
apply_native_overlays() {
  local archive package version target installed
  for archive in "$NATIVE"/*.tar.gz; do
    [ -e "$archive" ] || continue
    package="$(overlay_field "$archive" package)"
    version="$(overlay_field "$archive" version)"
    target="${PREFIX}/node_modules/${package}"
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
    rm -rf "$ETC" "$STATE" "$NATIVE"
    say "removed the service, /opt/edgeseg, /etc/edgeseg, /var/lib/edgeseg and /opt/edgeseg-native"
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

if ! staged || [ "$run_npm" -eq 1 ]; then
  command -v node >/dev/null || fail "Node.js is not installed (need ${MIN_NODE_MAJOR}.${MIN_NODE_MINOR} or newer)"
  node_version="$(node -p 'process.versions.node')"
  major="${node_version%%.*}"
  rest="${node_version#*.}"
  minor="${rest%%.*}"
  if [ "$major" -lt "$MIN_NODE_MAJOR" ] || { [ "$major" -eq "$MIN_NODE_MAJOR" ] && [ "$minor" -lt "$MIN_NODE_MINOR" ]; }; then
    fail "Node.js $node_version is too old: need ${MIN_NODE_MAJOR}.${MIN_NODE_MINOR} or newer"
  fi
fi

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

if staged; then
  apply_native_overlays
  say "staged under $DESTDIR (skipped: user creation, chown, npm ci, systemctl)"
  exit 0
fi

chown -R edgeseg:edgeseg "$STATE"
if [ "$run_npm" -eq 1 ]; then
  # Production dependencies only. dist/ ships built, so no lifecycle scripts (the package's own
  # `prepare` would need the dev-only TypeScript compiler); sharp, koffi and onnxruntime-node use their
  # prebuilt binaries, and native/ builds the CUDA/TensorRT onnxruntime for Jetson.
  (cd "$PREFIX" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund)
fi
apply_native_overlays
systemctl daemon-reload
if [ "$start" -eq 1 ]; then
  systemctl enable edgeseg.service
  systemctl restart edgeseg.service
  say "started: journalctl -u edgeseg -f"
else
  say "installed; start with: systemctl enable --now edgeseg"
fi
