#!/bin/sh
# wasm training without and with one gradient worker against PyTorch (2 threads, Debian's
# python3-torch for /usr/bin/python3), same network, batch and size, in alternating rounds (the
# order rotates each round); prints each run's images/s and the load average before it, then the
# medians. For docs/training.md (Speed).
# Usage: scripts/bench-train-workers.sh [rounds] [width] [HxW] [batch]
set -eu
rounds=${1:-3}
width=${2:-0.25}
size=${3:-96x288}
batch=${4:-4}
cd "$(dirname "$0")/.."
out=$(mktemp)
run() {
  load=$(cut -d' ' -f1 /proc/loadavg)
  case $1 in
    w0 | w1)
      line=$(timeout 1200 bin/edgeseg bench --training --tf-backends wasm --train-workers "${1#w}" \
        --train-width "$width" --size "$size" --train-batch "$batch" 2>/dev/null | tail -1) ;;
    torch)
      line=$(timeout 1200 /usr/bin/python3 scripts/pytorch-train-bench.py --width "$width" --size "$size" --batch "$batch") ;;
  esac
  ips=$(echo "$line" | grep -o '[0-9.]* images/s' | head -1 | cut -d' ' -f1)
  echo "$1 $ips load $load" | tee -a "$out"
}
i=0
while [ "$i" -lt "$rounds" ]; do
  case $((i % 3)) in
    0) order="w0 w1 torch" ;;
    1) order="w1 torch w0" ;;
    2) order="torch w0 w1" ;;
  esac
  echo "round $((i + 1)):"
  for what in $order; do run "$what"; done
  i=$((i + 1))
done
median() { grep "^$1 " "$out" | cut -d' ' -f2 | sort -n | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
w0=$(median w0); w1=$(median w1); torch=$(median torch)
echo "medians: wasm $w0, wasm +1 worker $w1, pytorch $torch images/s"
awk -v a="$w0" -v b="$w1" -v t="$torch" 'BEGIN {printf "1 worker / 0: %.2fx; to PyTorch: 0 workers %.2fx, 1 worker %.2fx\n", b/a, a/t, b/t}'
rm -f "$out"
