#!/usr/bin/env bash
# Issue 9's figures for `raindrops serve --workers 2` (hello world at /, keep-alive, loopback):
#   plain:   no recycling;
#   killer:  the killer layer checking every 16 responses, with limits never reached
#            (memory 64G by the chosen metric, requests 10^15): the cost of the check;
#   recycle: a request limit drawn in [T/16, T/12] (T = requests the plain run served), so
#            that workers are replaced again and again during the run (>= 5 recycles);
# with `wrk -t2 -c64 --latency` on loopback, alternating, several rounds; medians of req/s
# and of p99 latency, and the ratios killer/plain (goal >= 0.99) and recycle/plain p99
# (goal <= 1.5). The recycle runs also report wrk's socket errors and non-2xx answers, which
# should stay 0, and the recycles counted by the server.
# Needs Debian's wrk. ROUNDS, DURATION and METRIC (uss|pss|rss) override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p raindrops-cli
raindrops=target/release/raindrops
addr=127.0.0.1:18383
rounds=${ROUNDS:-5}
duration=${DURATION:-10s}
metric=${METRIC:-uss}

pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start() { # variant -> starts the server, waits until it answers
  local args=()
  case "$1" in
    plain) ;;
    killer) args=(--memory-metric "$metric" --max-memory 64G --max-requests 1000000000000000) ;;
    recycle) args=(--max-requests "$limit") ;;
  esac
  "$raindrops" serve --workers 2 --listen "$addr" "${args[@]}" 2>/dev/null &
  server=$!; pids+=("$server")
  for _ in $(seq 100); do curl -s -o /dev/null "http://$addr/" && return; sleep 0.1; done
  echo "server $1 did not start" >&2; exit 1
}
stop() { kill -QUIT "$server"; wait "$server" 2>/dev/null || true; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
micros() { # wrk's 1.23ms / 456.78us / 1.2s -> microseconds
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") f = 1; else if (u == "ms") f = 1000; else if (u == "s") f = 1000000; else f = 1
    printf "%.1f", n * f }'
}

declare -A rps p99
limit=""
for round in $(seq "$rounds"); do
  for variant in plain killer recycle; do
    [ "$variant" = recycle ] && [ -z "$limit" ] && continue
    start "$variant"
    out=$(wrk -t2 -c64 -d"$duration" --latency "http://$addr/")
    if [ "$variant" = recycle ]; then
      recycles=$(curl -s "http://$addr/_raindrops.json" | sed 's/.*"requests":\([0-9]*\),"lifetime".*/\1/')
      errors=$(echo "$out" | awk '/Socket errors|Non-2xx/ {print}' | tr '\n' ' ')
      echo "round $round recycle (limit $limit): $recycles recycles; wrk errors: ${errors:-none}"
    fi
    stop
    rps[$variant]+="$(echo "$out" | awk '/Requests\/sec/ {print $2}') "
    p99[$variant]+="$(micros "$(echo "$out" | awk '$1 == "99%" {print $2}')") "
    if [ "$variant" = plain ] && [ -z "$limit" ]; then
      total=$(echo "$out" | awk '/requests in/ {print $1}')
      limit="$((total / 16))..$((total / 12))"
    fi
  done
done
declare -A med med99
for variant in plain killer recycle; do
  med[$variant]=$(printf '%s\n' ${rps[$variant]} | median)
  med99[$variant]=$(printf '%s\n' ${p99[$variant]} | median)
  echo "$variant req/s: ${rps[$variant]}(median ${med[$variant]}); p99 us: ${p99[$variant]}(median ${med99[$variant]})"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a/b}'; }
echo "killer/plain throughput $(ratio "${med[killer]}" "${med[plain]}") (goal >= 0.99, metric $metric)"
echo "recycle/plain p99 $(ratio "${med99[recycle]}" "${med99[plain]}") (goal <= 1.5)"
