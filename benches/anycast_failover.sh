#!/usr/bin/env bash
# Anycast failover, failback and the healthy site's lost probes, side by side: ldirector
# with BIRD (BGP withdraw, BGP metric change, OSPF) and FRR ripd (RIP), ExaBGP's
# healthcheck, and a shell loop driving FRR with vtysh — in the same two-site lab of
# tests/anycast_netns.rs (root; frr, bird2, exabgp, curl from Debian). Prints a markdown
# table for docs/benchmarks.md.
#   bash benches/anycast_failover.sh [ANNOUNCER]   (BgpWithdraw, BgpMetric, Ospf, Rip,
#                                                   ExaBgp, VtyshLoop; default: all)
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/need.sh
need_apt frr bird2 exabgp curl python3
ANYCAST_BENCH="${1:-}" cargo test --quiet --test anycast_netns bench_anycast_failover \
  -- --ignored --nocapture --test-threads 1 2>&1 | grep '^|'
