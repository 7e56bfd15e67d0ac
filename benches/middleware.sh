#!/usr/bin/env bash
# Throughput of hello-world axum with and without RaindropsLayer (wrk -t2 -c32, alternating
# runs), and /_raindrops latency (wrk -t1 -c1 --latency). Loopback only; every run is bounded.
# Needs Debian's wrk.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p raindrops-http --bench hello
bin=$(ls -t target/release/deps/hello-* | grep -v '\.d$' | head -1)
addr=127.0.0.1:18181
rounds=${ROUNDS:-3}
duration=${DURATION:-5s}

run() { # variant -> prints requests/sec
  "$bin" "$addr" "$1" & pid=$!
  for _ in $(seq 50); do curl -s -o /dev/null "http://$addr/" && break; sleep 0.1; done
  wrk -t2 -c32 -d"$duration" "http://$addr/" | awk '/Requests\/sec/ {print $2}'
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

declare -a plain layer
for i in $(seq "$rounds"); do
  plain+=("$(run plain)")
  layer+=("$(run layer)")
done
echo "plain req/s: ${plain[*]}"
echo "layer req/s: ${layer[*]}"
printf '%s\n' "${plain[@]}" | sort -n | awk '{a[NR]=$1} END {print "plain median", a[int((NR+1)/2)]}'
printf '%s\n' "${layer[@]}" | sort -n | awk '{a[NR]=$1} END {print "layer median", a[int((NR+1)/2)]}'

"$bin" "$addr" layer & pid=$!
for _ in $(seq 50); do curl -s -o /dev/null "http://$addr/" && break; sleep 0.1; done
echo "/_raindrops latency (wrk -t1 -c1 --latency):"
wrk -t1 -c1 -d"$duration" --latency "http://$addr/_raindrops" | grep -E '50%|90%|99%|Requests/sec'
kill "$pid"; wait "$pid" 2>/dev/null || true
