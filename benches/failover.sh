#!/usr/bin/env bash
# Failover time of ldirector and keepalived, side by side in the same netns lab (root,
# iproute2, keepalived). Prints a markdown table for docs/benchmarks.md.
#   bash benches/failover.sh [--phase after-advert|random] [RUNS] [SETTING...]
#   settings: v2-1 v3-0.1 v3-0.01 (default: after-advert, 10 runs, all settings)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release --bin ldirector --example failover
exec ./target/release/examples/failover "$@"
