#!/usr/bin/env bash
# Soak: runs the whole suite (`cargo test --workspace`) N times in a row (default 5) while
# `stress-ng --cpu 2` keeps both cores busy, to show the tests wait for events, not for time.
#
#   scripts/soak-tests.sh [N]
#
# It builds the tests once, starts stress-ng (bounded by its own --timeout, and stopped by pid
# when this script ends), then runs the suite N times, printing each run's result and
# duration. It stops at the first failing run (the point is N passes in a row; that run's
# log tells why) and exits 1 if a run failed, 2 on a usage error or a missing stress-ng.
# Logs: target/soak/run-K.log. SOAK_CPU_WORKERS sets stress-ng's workers (default 2).
set -uo pipefail
cd "$(dirname "$0")/.."

runs=${1:-5}
if ! [[ $runs =~ ^[1-9][0-9]*$ ]]; then
  echo "soak-tests: N must be a positive whole number, not \"$runs\"" >&2
  exit 2
fi
workers=${SOAK_CPU_WORKERS:-2}
if ! [[ $workers =~ ^[1-9][0-9]*$ ]]; then
  echo "soak-tests: SOAK_CPU_WORKERS must be a positive whole number, not \"$workers\"" >&2
  exit 2
fi
if ! command -v stress-ng >/dev/null; then
  echo "soak-tests: stress-ng not found (apt-get install stress-ng)" >&2
  exit 2
fi

logs=target/soak
mkdir -p "$logs"
echo "soak-tests: building the tests once"
if ! cargo test --workspace --no-run >"$logs/build.log" 2>&1; then
  tail -n 30 "$logs/build.log" >&2
  echo "soak-tests: the build failed (log: $logs/build.log)" >&2
  exit 1
fi

stress=
stop_stress() {
  if [ -n "$stress" ]; then
    kill "$stress" 2>/dev/null
    wait "$stress" 2>/dev/null
    stress=
  fi
}
# Bounded: an hour per run at most, in case this script is killed too hard to trap.
start_stress() {
  stress-ng --cpu "$workers" --timeout "$((runs * 3600))s" --quiet &
  stress=$!
}
trap stop_stress EXIT
trap 'stop_stress; exit 130' INT TERM
start_stress
echo "soak-tests: stress-ng --cpu $workers running (pid $stress); $runs runs of cargo test --workspace"

passed=0
total_start=$(date +%s)
for run in $(seq "$runs"); do
  if ! kill -0 "$stress" 2>/dev/null; then
    echo "soak-tests: stress-ng had stopped; starting it again" >&2
    start_stress
  fi
  log="$logs/run-$run.log"
  start=$(date +%s)
  cargo test --workspace >"$log" 2>&1
  status=$?
  seconds=$(($(date +%s) - start))
  tests=$(grep -o '^test result: ok. [0-9]*' "$log" | awk '{ n += $4 } END { print n + 0 }')
  if [ "$status" -eq 0 ]; then
    passed=$((passed + 1))
    echo "run $run/$runs: pass in ${seconds}s ($tests tests passed; log: $log)"
  else
    echo "run $run/$runs: FAIL in ${seconds}s (exit $status; log: $log)"
    grep -E '^test .* FAILED$|^---- .* stdout ----$|panicked at' "$log" | head -n 20 | sed 's/^/  /'
    break
  fi
done
stop_stress

echo "soak-tests: $passed of $runs runs passed in a row in $(($(date +%s) - total_start))s"
[ "$passed" -eq "$runs" ]
