#!/usr/bin/env bash
# Issue 5's figures, on loopback, every run bounded:
# 1. throughput of hello-world axum without the layer and with it (O(1) listener numbers),
#    wrk -t2 -c32, alternating runs, medians and the ratio;
# 2. /_raindrops latency (wrk -t1 -c1 --latency) at 0 and 10,000 open connections, for the
#    O(1) source (CountingListener + TCP_INFO) and the netlink source (KernelListeners).
# The server is pinned to CPU 0 and wrk to CPU 1 (2-core machines) to cut noise.
# Needs Debian's wrk. ROUNDS, DURATION and CONNS override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p raindrops-http --bench hello
bin=$(ls -t target/release/deps/hello-* | grep -v '\.d$' | head -1)
addr=127.0.0.1:18181
rounds=${ROUNDS:-7}
duration=${DURATION:-5s}
conns=${CONNS:-10000}
ulimit -n $((conns + 1024))

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start() { # variant -> starts the server, waits until it answers
  taskset -c 0 "$bin" "$addr" "$1" & server=$!; pids+=("$server")
  for _ in $(seq 50); do curl -s -o /dev/null "http://$addr/" && return; sleep 0.1; done
  echo "server $1 did not start" >&2; exit 1
}
stop() { kill "$server"; wait "$server" 2>/dev/null || true; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -a plain owned
for _ in $(seq "$rounds"); do
  for variant in plain owned; do
    start "$variant"
    rps=$(taskset -c 1 wrk -t2 -c32 -d"$duration" "http://$addr/" | awk '/Requests\/sec/ {print $2}')
    stop
    if [ "$variant" = plain ]; then plain+=("$rps"); else owned+=("$rps"); fi
  done
done
echo "plain req/s: ${plain[*]}"
echo "owned req/s: ${owned[*]}"
p=$(printf '%s\n' "${plain[@]}" | median); o=$(printf '%s\n' "${owned[@]}" | median)
echo "median plain $p, with layer $o, ratio $(awk -v a="$o" -v b="$p" 'BEGIN {printf "%.3f", a/b}')"

latency() { # variant open-connections
  start "$1"
  if [ "$2" -gt 0 ]; then
    "$bin" "$addr" hold "$2" & holder=$!; pids+=("$holder")
    for _ in $(seq 200); do
      n=$(curl -s "http://$addr/_raindrops" | awk '/active/ {print $3}')
      [ "${n:-0}" -ge "$2" ] && break; sleep 0.1
    done
  fi
  printf '%-7s %5s conns: ' "$1" "$2"
  taskset -c 1 wrk -t1 -c1 -d"$duration" --latency "http://$addr/_raindrops" |
    awk '/^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Requests\/sec/ {r=$2} END {print "p50", p50, "p99", p99, "req/s", r}'
  [ "$2" -gt 0 ] && { kill "$holder"; wait "$holder" 2>/dev/null || true; }
  stop
}
echo "/_raindrops latency (wrk -t1 -c1 --latency):"
for variant in owned kernel; do
  latency "$variant" 0
  latency "$variant" "$conns"
done
