#!/usr/bin/env bash
# Runs `cargo test --workspace` as on a machine with only the Rust toolchain: in a private mount
# namespace, an overlay on /usr hides every file of the Debian packages the tests drive
# (whiteouts), so each test needing one must skip with one line
# `skipped: X not found (apt-get install PACKAGE)` and the run must still pass. Not run by CI.
#
# Usage (as root, for unshare and mount; the packages need not be installed):
#   scripts/fresh-machine-check.sh [CARGO TEST ARGS...]   # default: --workspace --no-fail-fast
#   RAINDROPS_REQUIRE_EXTERNAL=1 scripts/fresh-machine-check.sh   # must fail: nothing may skip
#   HIDE="tmux" scripts/fresh-machine-check.sh -p raindrops-cli --test it top::
# HIDE: the packages to hide (default: all those .ci/run installs for the tests, except python3).
# Prints the distinct skip lines with their counts, then the totals of cargo's test results.
set -euo pipefail
cd "$(dirname "$0")/.."

HIDE=${HIDE:-"chromium prometheus tmux stress-ng procps ruby ruby-raindrops ruby-aggregate ruby-rack python3-prometheus-client"}
if [ "$(id -u)" != 0 ]; then
  echo "fresh-machine-check: needs root (unshare -m, mount)" >&2
  exit 2
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The inner script: every file (not directory) of the packages under /usr gets a whiteout in
# a tmpfs upper layer, and the overlay replaces /usr in this namespace only.
inner='
set -euo pipefail
scratch=$(mktemp -d)
mount -t tmpfs fresh-machine-check "$scratch"
mkdir "$scratch/upper" "$scratch/work"
hidden=0
for package in $HIDE; do
  dpkg -L "$package" >/dev/null 2>&1 || continue # not installed: nothing to hide
  while IFS= read -r file; do
    [ -e "$file" ] || [ -L "$file" ] || continue
    [ -d "$file" ] && [ ! -L "$file" ] && continue
    # /bin/ps is /usr/bin/ps on merged-/usr systems.
    real="$(readlink -f "$(dirname "$file")")/$(basename "$file")"
    case $real in /usr/*) ;; *) continue ;; esac
    mkdir -p "$scratch/upper$(dirname "${real#/usr}")"
    [ -e "$scratch/upper${real#/usr}" ] || mknod "$scratch/upper${real#/usr}" c 0 0
    hidden=$((hidden + 1))
  done < <(dpkg -L "$package")
done
mount -t overlay overlay -o "lowerdir=/usr,upperdir=$scratch/upper,workdir=$scratch/work" /usr
echo "fresh-machine-check: hid $hidden files of: $HIDE" >&2
for program in chromium prometheus promtool tmux stress-ng ps ruby; do
  if command -v "$program" >/dev/null; then echo "fresh-machine-check: $program still visible" >&2; fi
done
[ $# != 0 ] || set -- --workspace --no-fail-fast
exec cargo test "$@"
'
status=0
HIDE=$HIDE unshare -m --propagation private bash -c "$inner" fresh-machine-check "$@" 2>&1 |
  tee "$log" || status=$?

echo
echo "== skip lines (count, line)"
# Anywhere on a line: libtest may have written half of its own line to stdout just before.
skips='skipped: [^ ].* not found \(apt-get install [^)]*\)'
grep -oE "$skips" "$log" | sort | uniq -c || echo "   none"
awk '/^test result:/ {
       for (i = 1; i <= NF; i++) {
         if ($(i) ~ /^(passed|failed|ignored);?$/) { sub(";", "", $(i)); total[$(i)] += $(i - 1) }
       }
     }
     END { printf "== cargo test: %d passed, %d failed, %d ignored\n", total["passed"], total["failed"], total["ignored"] }' "$log"
echo "== skipped: $(grep -oE "$skips" "$log" | wc -l) tests (doc tests skip unseen); cargo test exit status: $status"
exit "$status"
