#!/usr/bin/env bash
# incr cost: our Drops vs the floor vs Ruby raindrops, in one run.
# Needs Debian's ruby-raindrops.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench -p raindrops --bench incr
ruby benches/ruby/incr.rb
