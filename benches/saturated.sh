#!/usr/bin/env bash
# VRRP deadlines on a saturated machine: ldirector and keepalived side by side in the same
# netns lab (root, iproute2, keepalived, tcpdump). Prints a markdown table for
# docs/benchmarks.md.
#   bash benches/saturated.sh [SECONDS] [ldirector|keepalived|keepalived-rt ...]
#   (default: 300 seconds each, all three)
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release --bin ldirector --example saturated
exec ./target/release/examples/saturated "$@"
