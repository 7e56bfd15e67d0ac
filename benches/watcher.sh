#!/usr/bin/env bash
# Issue 6's figures: the Watcher's sampler CPU at a 1 s delay while watching 100 listeners
# with 10,000 established connections, then endpoint latency under wrk -t2 -c50 for `/` and
# `/active/ADDR.txt`. Loopback only; every run is bounded. Needs Debian's wrk and python3.
# LISTENERS, CONNS, SECONDS_CPU and DURATION override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
listeners=${LISTENERS:-100}
conns=${CONNS:-10000}
cpu_seconds=${SECONDS_CPU:-30}
duration=${DURATION:-10s}
ulimit -n "$(ulimit -Hn)" # each fixture process holds one end of every connection
cargo build --release -q -p raindrops-cli
bin=target/release/raindrops
tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

python3 benches/support/listeners.py serve "$listeners" "$tmp/addrs" & pids+=($!)
for _ in $(seq 100); do [ -f "$tmp/addrs" ] && break; sleep 0.1; done
python3 benches/support/listeners.py connect "$conns" "$tmp/addrs" & pids+=($!)
for _ in $(seq 600); do [ -f "$tmp/addrs.connected" ] && break; sleep 0.1; done
[ -f "$tmp/addrs.connected" ] || { echo "fixture did not start" >&2; exit 1; }
mapfile -t addrs < "$tmp/addrs"

watch=127.0.0.1:19292
"$bin" watch --listen "$watch" --delay 1s "${addrs[@]}" 2>/dev/null & watcher=$!; pids+=("$watcher")
for _ in $(seq 100); do curl -sf -o /dev/null "http://$watch/" && break; sleep 0.1; done

# CPU ticks (user + system, so the kernel's netlink work counts) of a /proc stat file.
ticks() { awk '{print $14 + $15}' "$1"; }
sampler=$(grep -l '^raindrops-sampl' /proc/"$watcher"/task/*/comm | head -1)
sampler=${sampler%/comm}/stat
hz=$(getconf CLK_TCK)
sleep 2 # past start-up
s0=$(ticks "$sampler"); p0=$(ticks "/proc/$watcher/stat")
sleep "$cpu_seconds"
s1=$(ticks "$sampler"); p1=$(ticks "/proc/$watcher/stat")
percent() { awk -v d="$1" -v hz="$hz" -v s="$cpu_seconds" 'BEGIN {printf "%.2f%% of one core (%d ticks in %d s)", 100 * d / hz / s, d, s}'; }
echo "$listeners listeners, $conns connections, 1 s delay, no requests:"
echo "  sampler thread: $(percent $((s1 - s0)))"
echo "  whole process:  $(percent $((p1 - p0)))"
curl -s "http://$watch/metrics" |
  awk '/^raindrops_listener_active\{/ {n++; s += $2} END {print "watched:", n, "listeners,", s, "active"}'

first=${addrs[0]}
escaped=${first//:/%3A}
for path in / "/active/$escaped.txt"; do
  printf '%-28s ' "$path"
  wrk -t2 -c50 -d"$duration" --latency "http://$watch$path" |
    awk '/^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Requests\/sec/ {r=$2} END {print "p50", p50, "p99", p99, "req/s", r}'
done
