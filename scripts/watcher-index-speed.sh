#!/bin/sh
# The Watcher index's speed with 1,000 listeners and an hour of history (issue 18's figures):
# server render time per sample and page weight (plain and gzipped), from the release build's
# index::bench; then Chromium's first paint of that page (3 runs, a fresh profile each).
# Usage: scripts/watcher-index-speed.sh   (needs chromium for the last part)
set -eu
cd "$(dirname "$0")/.."
cargo test --release -q -p raindrops-http --lib index::bench -- --ignored --nocapture 2>/dev/null |
    grep -E 'window|gzip'
page="${TMPDIR:-/tmp}/raindrops-index-1000.html"
command -v chromium >/dev/null || { echo "chromium not found (apt-get install chromium)"; exit 0; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# The page with a probe that records its paint and load times into the DOM.
probe='<script>addEventListener("load",function(){setTimeout(function(){var n=performance.getEntriesByType("navigation")[0];document.body.setAttribute("data-perf",performance.getEntriesByType("paint").map(function(e){return e.name+"="+Math.round(e.startTime)+"ms"}).join(" ")+" domcontentloaded="+Math.round(n.domContentLoadedEventEnd)+"ms load="+Math.round(n.loadEventEnd)+"ms")},500)})</script></body>'
sed "s|</body>|$probe|" "$page" >"$dir/page.html"
for run in 1 2 3; do
    chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$dir/profile$run" --window-size=1280,800 --virtual-time-budget=3000 \
        --dump-dom "file://$dir/page.html" 2>/dev/null |
        grep -o 'data-perf="[^"]*"' | sed "s/^/chromium run $run: /"
done
