#!/usr/bin/env bash
# Listener-stats benchmark: ours, the raw-netlink floor, TCP_INFO and Ruby raindrops side by
# side at 0, 1,000 and 10,000 loopback connections (needs root or a high RLIMIT_NOFILE hard
# limit for 10k connections; Ruby columns need `apt-get install ruby-raindrops`).
# BENCH_MS sets the time budget per measurement (default 700).
set -euo pipefail
cd "$(dirname "$0")/../../.."
ruby -rraindrops -e 'exit 0' 2>/dev/null || echo "note: ruby-raindrops missing, Ruby columns will be '-'" >&2
exec cargo bench -p raindrops --bench listener_stats -- "$@"
