#!/usr/bin/env bash
# Deploys edgeseg from a workstation to a board over ssh, then waits until the daemon reports
# status=online and a first health message over MQTT.
#   deploy/deploy.sh [user@]HOST [--broker HOST] [--device ID] [--timeout SECONDS]
# Needs: ssh access with sudo on the board, rsync, and mosquitto_sub (mosquitto-clients) here.
set -euo pipefail

usage() { sed -n '2,5p' "${BASH_SOURCE[0]}"; }
[ $# -ge 1 ] || {
  usage
  exit 2
}
target="$1"
shift
broker="${target#*@}"
device="+"
timeout=120
while [ $# -gt 0 ]; do
  case "$1" in
    --broker) broker="$2"; shift 2 ;;
    --device) device="$2"; shift 2 ;;
    --timeout) timeout="$2"; shift 2 ;;
    *) echo "deploy.sh: unknown option $1" >&2; usage; exit 2 ;;
  esac
done

for tool in ssh rsync mosquitto_sub npm; do
  command -v "$tool" >/dev/null || { echo "deploy.sh: $tool is not installed here" >&2; exit 1; }
done

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
release=/tmp/edgeseg-release
echo "==> building"
# package.json's allowScripts denies onnxruntime-node's CUDA download to npm 11; the variable does
# the same for an older npm on the workstation.
(cd "$repo" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund && npm run build)
echo "==> shipping to $target:$release"
rsync -az --delete --relative --exclude 'native/out/' \
  "$repo/./dist" "$repo/./models" "$repo/./docs" "$repo/./systemd" "$repo/./deploy" "$repo/./native" \
  "$repo/./package.json" "$repo/./package-lock.json" "$target:$release/"
echo "==> installing"
# shellcheck disable=SC2029 # $release is meant to expand here, on the workstation
ssh "$target" "sudo bash $release/deploy/install.sh"
echo "==> waiting for status online and health from $broker (up to ${timeout}s)"
if mosquitto_sub -h "$broker" -t "edgeseg/$device/status" -C 1 -W "$timeout" | grep -q '"state":"online"' &&
  mosquitto_sub -h "$broker" -t "edgeseg/$device/health" -C 1 -W "$timeout" >/dev/null; then
  echo "==> edgeseg is online on $target"
else
  echo "==> edgeseg did not report online and healthy within ${timeout}s; last journal lines:" >&2
  ssh "$target" "sudo journalctl -u edgeseg -n 30 --no-pager" >&2 || true
  exit 1
fi
