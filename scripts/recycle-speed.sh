#!/usr/bin/env bash
# `raindrops recycle`'s speed (issue 17's figures), with the release build, on loopback:
#
#  1. CPU: unicorn with 16 workers watched at --interval 1s by four sidecars side by side, none
#     recycling anything: USS limits of 1G..2G (each worker's RSS shows it far under: its
#     smaps_rollup is not read); a USS limit at the largest worker's RSS (smaps_rollup read for
#     every worker every interval); 1G..2G with --metrics-listen scraped once a second (every
#     size read); RSS limits (statm). Each one's utime+stime from /proc/PID/stat over 60 s, as
#     a percentage of one core (goal: at most 0.5%), and its own RSS; `uptime` before and after.
#  2. Decision latency: unicorn with 2 workers, --max-memory drawn so that one /leak request
#     (8 MiB kept) puts a worker over; RUNS times (default 10), after a random wait of up to
#     an interval, a worker is pushed over. From the end of the response that crossed (client
#     side, CLOCK_REALTIME) to recycle's log line of the graceful signal, stamped as it arrives
#     on its stderr pipe (goal: at most interval + 10 ms). Also the part that is recycle's own:
#     from the start of the interval whose read saw the crossing (scheduled every interval
#     after the "watching" line) to the signal, and from the decision line to the signal.
#
#   bash scripts/recycle-speed.sh [RUNS]
#
# Takes about 2 minutes once built (the release build itself takes minutes the first time).
# Needs unicorn and python3; skips with the Debian package to install when either is missing.
# Starts and stops only its own processes, in a temporary directory it removes.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-10}
if ! [[ $runs =~ ^[1-9][0-9]?$ ]]; then
  echo "recycle-speed: RUNS must be a whole number from 1 to 99, not \"$runs\"" >&2
  exit 2
fi
for need in unicorn:unicorn python3:python3; do
  if ! command -v "${need%%:*}" >/dev/null; then
    echo "recycle-speed: skipped: ${need%%:*} not found (apt-get install ${need#*:})"
    exit 0
  fi
done

cargo build --release -q -p raindrops-cli
bin="$(pwd)/${CARGO_TARGET_DIR:-target}/release/raindrops"
dir=$(mktemp -d)
pids=()
# Stops what this script started, by pid, newest first: helpers and sidecars, unicorn's master
# last (TERM: it stops its workers); each one is given 10 s, then KILL.
stop() {
  local pid i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    pid=${pids[i]}
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in {1..100}; do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  pids=()
}
trap 'stop; rm -rf "$dir"' EXIT
trap 'exit 1' INT TERM

# wait_for WHAT SECONDS COMMAND...: polls COMMAND every 0.1 s; fails naming WHAT after SECONDS.
wait_for() {
  local what=$1 seconds=$2 i
  shift 2
  for ((i = 0; i < seconds * 10; i++)); do
    if "$@"; then return 0; fi
    sleep 0.1
  done
  echo "recycle-speed: timed out after ${seconds}s waiting for $what" >&2
  exit 1
}
# The number of children of process $1, from /proc.
children() { cat /proc/"$1"/task/*/children 2>/dev/null | wc -w; }
has_children() { [ "$(children "$1")" -ge "$2" ]; }
# Whether file $1 has at least $2 lines matching $3.
has_lines() { [ "$(grep -c -- "$3" "$1" || true)" -ge "$2" ]; }
# utime and stime of process $1 in clock ticks (fields 14 and 15 of /proc/PID/stat).
cpu_ticks() { sed 's/.*) //' /proc/"$1"/stat | awk '{ print $12, $13 }'; }
now() { date +%s.%N; }
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The Rack app: answers its worker's pid; /leak keeps 8 MiB for the worker's life.
cat >"$dir/config.ru" <<'EOF'
KEEP = []
run lambda { |env|
  KEEP << ("x" * (8 << 20)) if env["PATH_INFO"] == "/leak"
  body = "#{Process.pid}\n"
  [200, { "content-type" => "text/plain", "content-length" => body.bytesize.to_s }, [body]]
}
EOF

echo "== recycle-speed: $("$bin" --version), $(nproc) cores, CLK_TCK $(getconf CLK_TCK)"
echo "uptime before: $(uptime)"

# 1. CPU with 16 workers.
port=$(free_port)
printf 'worker_processes 16\nlisten "127.0.0.1:%s"\ntimeout 60\n' "$port" >"$dir/cpu.conf"
unicorn -c "$dir/cpu.conf" "$dir/config.ru" >"$dir/cpu-unicorn.log" 2>&1 &
master=$!
pids+=("$master")
wait_for "unicorn's 16 workers (log: $dir/cpu-unicorn.log)" 120 has_children "$master" 16
wait_for "unicorn answering on 127.0.0.1:$port" 60 \
  python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/', timeout=5)"
# The largest worker's RSS as a USS limit: no worker is over it, yet none is far enough under
# for its RSS alone to tell, so each one's smaps_rollup is read every interval.
near=$(for pid in $(cat /proc/"$master"/task/*/children); do
  awk '/^VmRSS/ { print $2 }' /proc/"$pid"/status
done | sort -n | tail -n 1)K
common=(recycle --master "$master" --preset unicorn --interval 1s)
names=(uss uss-near uss+metrics rss)
limits=(1G..2G "$near..$near" 1G..2G 1G..2G)
extra=("" "" "--metrics-listen 127.0.0.1:0" "")
metrics=(uss uss uss rss)
sidecars=()
for i in 0 1 2 3; do
  # shellcheck disable=SC2086 # extra[i] is words
  "$bin" "${common[@]}" --max-memory "${limits[i]}" --memory-metric "${metrics[i]}" ${extra[i]} \
    2>"$dir/${names[i]}.log" &
  pids+=($!)
  sidecars+=($!)
done
# Warmed up: each has read all 16 workers once (its first interval's "new worker" lines).
for name in "${names[@]}"; do
  wait_for "the first read of recycle ($name)" 60 has_lines "$dir/$name.log" 16 'recycle: new worker '
done
wait_for "recycle's metrics address" 10 has_lines "$dir/uss+metrics.log" 1 'metrics on http://'
addr=$(sed -n 's|.*metrics on http://\(.*\)/metrics|\1|p' "$dir/uss+metrics.log")
# As Prometheus would: one scrape a second, bounded to 70, each one's status recorded.
python3 - "$addr" >"$dir/scrapes" <<'EOF' &
import sys, time, urllib.request
for _ in range(70):
    try:
        with urllib.request.urlopen(f"http://{sys.argv[1]}/metrics", timeout=5) as r:
            r.read()
            print(r.status, flush=True)
    except Exception as err:
        print(err, flush=True)
    time.sleep(1)
EOF
pids+=($!)
before=() after=()
for i in 0 1 2 3; do before[i]=$(cpu_ticks "${sidecars[i]}"); done
t0=$(now)
sleep 60
for i in 0 1 2 3; do after[i]=$(cpu_ticks "${sidecars[i]}"); done
t1=$(now)
hz=$(getconf CLK_TCK)
echo "-- CPU of raindrops recycle watching 16 unicorn workers at --interval 1s, over $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s:"
for i in 0 1 2 3; do
  pid=${sidecars[i]}
  read -r user0 system0 <<<"${before[i]}"
  read -r user1 system1 <<<"${after[i]}"
  user=$((user1 - user0)) system=$((system1 - system0))
  rss=$(awk '/^VmRSS/ { printf "%.1f MiB", $2 / 1024 }' /proc/"$pid"/status)
  awk -v name="${names[i]}" -v u="$user" -v s="$system" -v hz="$hz" -v a="$t0" -v b="$t1" \
    -v rss="$rss" -v args="--max-memory ${limits[i]} --memory-metric ${metrics[i]} ${extra[i]}" \
    'BEGIN { printf "  %-12s %3d ticks (user %d, system %d) = %.2f%% of one core, own RSS %s: %s\n",
      name, u + s, u, s, 100 * (u + s) / (hz * (b - a)), rss, args }'
done
echo "  uss+metrics was scraped $(grep -c '^200$' "$dir/scrapes" || true) times (HTTP 200), once a second"
recycled=$(cat "$dir"/*.log | grep -c 'recycling worker' || true)
echo "  workers recycled: $recycled"
echo "uptime after: $(uptime)"
stop # part 1's processes, so that they do not load part 2

# 2. Decision latency with 2 workers.
python3 - "$bin" "$dir" "$runs" <<'EOF' &
import http.client, math, os, random, re, signal, socket, statistics, subprocess, sys, threading, time

BIN, DIR, RUNS = sys.argv[1], sys.argv[2], int(sys.argv[3])
INTERVAL = 1.0
DEADLINE = time.monotonic() + 60 + 10 * RUNS
MIB = 1 << 20
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
# The log reader wakes at once, not after another thread's 5 ms turn.
sys.setswitchinterval(1e-4)


def waiting(what):
    if time.monotonic() > DEADLINE:
        sys.exit(f"recycle-speed: timed out waiting for {what}")
    time.sleep(0.01)


def children(pid):
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(p) for p in f.read().split()]
        except OSError:
            pass
    return found


def uss(pid):
    """Private_Clean + Private_Dirty + Private_Hugetlb of smaps_rollup, as recycle reads it."""
    total = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("Private_Clean", "Private_Dirty", "Private_Hugetlb"):
                total += int(rest.split()[0]) * 1024
    return total


def get(port, path):
    """GET path on a new connection: the pid that answered and when the response ended (ns)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        ended = time.time_ns()
    finally:
        conn.close()
    if response.status != 200:
        sys.exit(f"recycle-speed: GET {path}: {response.status}")
    return int(body), ended


log = []  # (arrival time in ns, line) of recycle's stderr


def read_log(stream):
    for line in stream:
        log.append((time.time_ns(), line.rstrip("\n")))


def find(pattern, after=0):
    for stamp, line in list(log):
        if stamp >= after and re.search(pattern, line):
            return stamp, line
    return None


def await_line(what, pattern, after=0):
    while (found := find(pattern, after)) is None:
        waiting(what)
    return found


with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
with open(f"{DIR}/latency.conf", "w") as f:
    f.write(f'worker_processes 2\nlisten "127.0.0.1:{port}"\ntimeout 60\n')
server_log = open(f"{DIR}/latency-unicorn.log", "w")
unicorn = subprocess.Popen(
    ["unicorn", "-c", f"{DIR}/latency.conf", f"{DIR}/config.ru"], stdout=server_log, stderr=server_log
)
recycle = None
try:
    while len(children(unicorn.pid)) < 2:
        waiting("unicorn's 2 workers")
    answered = set()
    while len(answered) < 2:
        try:
            answered.add(get(port, "/")[0])
        except OSError:
            waiting("unicorn answering")
    # One /leak puts a worker over: 4 MiB above the larger worker's USS.
    base = max(uss(pid) for pid in children(unicorn.pid))
    limit = math.ceil((base + 4 * MIB) / MIB)
    recycle = subprocess.Popen(
        [BIN, "recycle", "--master", str(unicorn.pid), "--preset", "unicorn",
         "--max-memory", f"{limit}M..{limit}M", "--memory-metric", "uss", "--interval", "1s"],
        stderr=subprocess.PIPE, text=True,
    )
    threading.Thread(target=read_log, args=(recycle.stderr,), daemon=True).start()
    watching, _ = await_line("recycle watching", r"recycle: watching the workers")
    print(f"-- decision latency: 2 unicorn workers (USS {base / MIB:.1f} MiB), "
          f"--max-memory {limit}M..{limit}M --memory-metric uss --interval 1s, {RUNS} runs:")
    latencies, from_read, from_decision = [], [], []
    for run in range(1, RUNS + 1):
        workers = children(unicorn.pid)
        while len(workers) < 2 or not all(find(rf"recycle: new worker {w}\b") for w in workers):
            waiting("2 workers, each one seen by recycle")
            workers = children(unicorn.pid)
        for pid in workers:
            if uss(pid) > limit * MIB:
                sys.exit(f"recycle-speed: worker {pid} is over {limit}M before any /leak")
        time.sleep(random.uniform(0, INTERVAL))
        pid, crossed = get(port, "/leak")
        measured = uss(pid)
        if measured <= limit * MIB:
            sys.exit(f"recycle-speed: one /leak left worker {pid} at {measured} bytes, under {limit}M")
        decided, _ = await_line(f"worker {pid}'s decision", rf"recycle: recycling worker {pid}:")
        sent, line = await_line(f"worker {pid}'s signal", rf"recycling: sending SIGQUIT .*\bpid={pid}\b")
        # recycle reads at its scheduled instants: `watching` + k intervals.
        k = round((decided - watching) / 1e9 / INTERVAL)
        read = watching + int(k * INTERVAL * 1e9)
        latencies.append((sent - crossed) / 1e9)
        from_read.append((sent - read) / 1e6)
        from_decision.append((sent - decided) / 1e6)
        print(f"  run {run:2}: worker {pid} over at {measured / MIB:.1f} MiB; signal "
              f"{latencies[-1]:.3f} s after the crossing response; {from_read[-1]:.2f} ms after "
              f"the start of the interval that read it, {from_decision[-1]:.2f} ms after the decision line")
        while pid in children(unicorn.pid):
            waiting(f"worker {pid} to exit")

    def summary(values, unit, digits):
        return "/".join(f"{v:.{digits}f}" for v in (min(values), statistics.median(values), max(values))) + f" {unit}"

    print(f"  crossing -> graceful signal, min/median/max: {summary(latencies, 's', 3)} (goal <= 1.010 s)")
    print(f"  recycle's own: interval start (read) -> signal {summary(from_read, 'ms', 2)}; decision line -> signal "
          f"{summary(from_decision, 'ms', 2)}")
finally:
    if recycle is not None:
        recycle.terminate()
        recycle.wait(10)
    unicorn.terminate()
    try:
        unicorn.wait(30)
    except subprocess.TimeoutExpired:
        unicorn.kill()
        unicorn.wait()
EOF
pids+=($!)
wait "${pids[-1]}"
