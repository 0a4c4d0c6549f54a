#!/usr/bin/env bash
# Hitless upgrade against restarts (tests/upgrade_lab.rs's lab: a master with a keepalived
# backup, VRRPv3 at advert_int 0.1, a client probing the VIP every 10 ms, a watcher on the
# switch): 20 rounds each of `ldirector upgrade`, a restart of ldirector and a restart of
# keepalived. Prints a markdown table for docs/benchmarks.md.
#   bash benches/upgrade.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/need.sh
need_apt keepalived python3 iproute2
cargo test --quiet --test upgrade_lab -- --ignored bench_ --nocapture 2>&1 | grep '^|'
