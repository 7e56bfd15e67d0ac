#!/usr/bin/env bash
# Issue 8's figures: hello-world throughput of
#   prefork: `raindrops serve --workers 2` (2 processes, a current-thread runtime each),
#   single:  the same axum handler and middleware in one multi-threaded process
#            (crates/raindrops-http/examples/axum.rs, a thread per core),
#   unicorn: Ruby's unicorn, 2 workers, a config.ru hello world (-E production: no Rack::Lint or access log),
# with `wrk -t2 -c64` on loopback, alternating, several rounds; medians and ratios.
# Nothing is pinned: each server may use both cores, as in production, so the figures share
# the machine with wrk. Needs Debian's wrk and unicorn (`apt-get install -y wrk unicorn`).
# ROUNDS and DURATION override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p raindrops-cli
cargo build --release -q -p raindrops-http --example axum
raindrops=target/release/raindrops
single=target/release/examples/axum
addr=127.0.0.1:18282
rounds=${ROUNDS:-5}
duration=${DURATION:-5s}

pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start() { # variant -> starts the server, waits until it answers
  case "$1" in
    prefork) "$raindrops" serve --workers 2 --listen "$addr" 2>/dev/null & ;;
    single) "$single" "$addr" 2>/dev/null & ;;
    unicorn) unicorn -E production -c benches/ruby/unicorn.conf.rb -l "$addr" benches/ruby/hello.ru 2>/dev/null & ;;
  esac
  server=$!; pids+=("$server")
  for _ in $(seq 100); do curl -s -o /dev/null "http://$addr/" && return; sleep 0.1; done
  echo "server $1 did not start" >&2; exit 1
}
stop() { # QUIT: graceful stop of the prefork master and unicorn; TERM ends the example
  if [ "$variant" = single ]; then kill -TERM "$server"; else kill -QUIT "$server"; fi
  wait "$server" 2>/dev/null || true
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A runs
variants=(prefork single unicorn)
for _ in $(seq "$rounds"); do
  for variant in "${variants[@]}"; do
    start "$variant"
    rps=$(wrk -t2 -c64 -d"$duration" "http://$addr/" | awk '/Requests\/sec/ {print $2}')
    stop
    runs[$variant]+="$rps "
  done
done
declare -A med
for variant in "${variants[@]}"; do
  med[$variant]=$(printf '%s\n' ${runs[$variant]} | median)
  echo "$variant req/s: ${runs[$variant]}(median ${med[$variant]})"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a/b}'; }
echo "prefork/single $(ratio "${med[prefork]}" "${med[single]}") (goal >= 0.9)," \
  "prefork/unicorn $(ratio "${med[prefork]}" "${med[unicorn]}")"
