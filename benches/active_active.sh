#!/usr/bin/env bash
# Active-active directors in the IPVS VM (tests/ipvs_vm/active_active.rs's lab: an FRR
# ECMP router, three directors with ldirector and BIRD, DR real servers, 200 held
# connections and a new one every 0.05 s): per mode, the spread of flows over directors and
# the connections broken when a director is lost, added, drained, and lost while a real
# server joins. Prints a markdown table for docs/benchmarks.md.
#   bash benches/active_active.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/need.sh
need_apt frr bird2 python3 qemu-system-x86 linux-image-amd64 ipvsadm
LDIRECTOR_VM_TESTS="bench_active_active --nocapture" cargo test --quiet --test ipvs_vm \
  -- --nocapture 2>&1 | grep '^|'
