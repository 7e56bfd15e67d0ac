#!/usr/bin/env bash
# Issue 16's scale figures: the CPU of the Watcher's sampler thread (`raindrops-sampler`, user +
# system, so the kernel's netlink work counts) at the default 1 s delay, with queue waits on and
# with `--no-wait`, side by side in one run (two release `raindrops watch` processes sampling
# the same listeners over the same window), for each number of listeners and of connections.
#
# Per cell: a fixture (benches/support/listeners.py hold) binds the listeners on 127.0.0.1 and
# opens the connections round-robin over them from 127.0.0.2-9, all accepted but 2 per listener
# (at most a tenth of them), left queued so the waits have work; both watchers are given the
# listeners as ADDRs; after WARMUP_S, the sampler threads' CPU is read from
# /proc/PID/task/TID/stat (utime + stime, clock ticks) and schedstat (ns on the CPU) over
# SECONDS_CPU while fewer than QUIET other TCP sockets share the network namespace (the kernel
# walks them all; a window they disturb is measured again, at most 3 times, then marked
# busy). Loopback only; every process is the script's own, killed by pid; the fixture exits
# by itself after 10 minutes.
#
# Usage: scripts/watcher-sampler-cpu.sh
#   LISTENERS="10 100 1000" CONNS="1000 10000 50000" SECONDS_CPU=20 WARMUP_S=3 QUIET=1000
#   override.
set -euo pipefail
cd "$(dirname "$0")/.."
listeners_list=${LISTENERS:-10 100 1000}
conns_list=${CONNS:-1000 10000 50000}
cpu_seconds=${SECONDS_CPU:-20}
warmup=${WARMUP_S:-3}
quiet=${QUIET:-1000}
cargo build --release -q -p raindrops-cli
bin=$PWD/target/release/raindrops
hz=$(getconf CLK_TCK)
tmp=$(mktemp -d)
pids=()
stop() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pids=()
}
trap 'stop; rm -rf "$tmp"' EXIT

# Starts `raindrops watch` on the fixture's listeners (extra flags in $1); sets watch_pid and
# watch_addr once it serves.
watch() {
    local log="$tmp/watch$#${1:-on}"
    : >"$log"
    # shellcheck disable=SC2046
    "$bin" watch --listen 127.0.0.1:0 $1 $(cat "$tmp/addrs") 2>"$log" >/dev/null &
    watch_pid=$!
    pids+=("$watch_pid")
    watch_addr=
    for _ in $(seq 300); do
        watch_addr=$(sed -n 's|^raindrops watch: serving http://\(.*\)/$|\1|p' "$log")
        [ -n "$watch_addr" ] && return
        sleep 0.1
    done
    echo "raindrops watch $1 did not start: $(cat "$log")" >&2
    exit 1
}

# The sampler thread's /proc directory of process $1.
sampler() {
    local comm
    comm=$(grep -l '^raindrops-sampl' /proc/"$1"/task/*/comm | head -1)
    echo "${comm%/comm}"
}

# TCP sockets of the network namespace that are not the fixture's ($1: how many it holds, plus
# the two watchers' listeners): another program's sockets lengthen every dump.
others() { awk -v ours="$(($1 + 2))" '$1 == "TCP:" {print $3 - ours}' /proc/net/sockstat; }

# CPU of a task directory: "ticks ns" (utime + stime; the schedstat's time on the CPU).
cpu() { echo "$(awk '{print $14 + $15}' "$1/stat") $(awk '{print $1}' "$1/schedstat")"; }

# "P% (T ticks)" of one core over the window, from two cpu readings.
percent() {
    awk -v a="$1" -v b="$2" -v hz="$hz" -v s="$cpu_seconds" 'BEGIN {
        split(a, x, " "); split(b, y, " ");
        printf "%.2f%% (%.2f%% by ticks, %d)", 100 * (y[2] - x[2]) / 1e9 / s,
            100 * (y[1] - x[1]) / hz / s, y[1] - x[1] }'
}

echo "# $(date -u +%FT%TZ) $(uname -r), $(nproc) cores, HZ ticks $hz/s; $(git rev-parse --short HEAD)"
declare -A cell
for n in $listeners_list; do
    for m in $conns_list; do
        queued=$((2 * n < m / 10 ? 2 * n : m / 10))
        rm -f "$tmp/addrs"
        timeout 600 python3 benches/support/listeners.py hold "$n" "$m" "$queued" "$tmp/addrs" &
        pids+=($!)
        for _ in $(seq 1200); do [ -f "$tmp/addrs" ] && break; sleep 0.1; done
        [ -f "$tmp/addrs" ] || { echo "fixture $n/$m did not start in 120 s" >&2; exit 1; }
        watch ""
        on=$watch_pid on_addr=$watch_addr
        watch --no-wait
        off=$watch_pid
        sleep "$warmup"
        ours=$((n + 2 * m))
        # A window in which another program's sockets came (the kernel walks them too) is
        # measured again, at most 3 times in all, each after waiting (at most 2 min) for quiet.
        for attempt in 1 2 3; do
            for _ in $(seq 60); do [ "$(others "$ours")" -lt "$quiet" ] && break; sleep 2; done
            on_task=$(sampler "$on") off_task=$(sampler "$off")
            on0=$(cpu "$on_task") off0=$(cpu "$off_task")
            most=0
            for _ in $(seq "$cpu_seconds"); do
                sleep 1
                o=$(others "$ours")
                most=$((o > most ? o : most))
            done
            on1=$(cpu "$on_task") off1=$(cpu "$off_task")
            [ "$most" -lt "$quiet" ] && break
        done
        seen=$(curl -s "http://$on_addr/metrics" | awk '
            /^raindrops_listener_active\{/ {n++; a += $2}
            /^raindrops_listener_queued\{/ {q += $2}
            /^raindrops_listener_queue_oldest_seconds\{/ && $2 > 0 {w++}
            END {printf "%d listeners, %d active, %d queued, %d with a wait", n, a, q, w}')
        on_pct=$(percent "$on0" "$on1") off_pct=$(percent "$off0" "$off1")
        echo "$n listeners, $m connections ($queued queued; watched: $seen)"
        echo "  waits on:  $on_pct"
        echo "  --no-wait: $off_pct"
        echo "  window $attempt; most other TCP sockets in the namespace during it: $most"
        echo "  uptime:$(uptime)"
        mark=$([ "$most" -lt "$quiet" ] || echo " (busy)")
        cell[$n,$m]="${on_pct%% *} / ${off_pct%% *}$mark"
        stop
    done
done

echo
echo "Sampler thread, % of one core (schedstat over ${cpu_seconds} s), waits on / --no-wait:"
echo
printf '| listeners |'
for m in $conns_list; do printf ' %s connections |' "$m"; done
printf '\n|---|'
for _ in $conns_list; do printf -- '---|'; done
echo
for n in $listeners_list; do
    printf '| %s |' "$n"
    for m in $conns_list; do printf ' %s |' "${cell[$n,$m]}"; done
    echo
done
