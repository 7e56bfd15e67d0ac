#!/bin/sh
# The Watcher index's speed with 1,000 listeners and an hour of history (issue 18's figures),
# from the release build: for each window, the server's render time per sample and the size of
# the page and of /index.json (the poll of every open page), plain and gzipped, and a further
# client's copy from the per-sample cache (index::bench, which also writes the 10-minute page);
# then Chromium's first contentful paint, DOMContentLoaded and load of that page served gzipped
# over loopback (3 runs, a fresh headless Chromium each, driven over the DevTools protocol).
# Usage: scripts/watcher-index-speed.sh   (needs Debian's chromium for the last part)
set -eu
cd "$(dirname "$0")/.."
cargo test --release -q -p raindrops-http --lib index::bench -- --ignored --nocapture 2>/dev/null |
    grep -E 'window|written|cache'
cargo test --release -q -p raindrops-http --test watcher_index_speed -- --ignored --nocapture \
    2>&1 | grep -E '^(the page|chromium run|skipped|thread|  )'
