#!/usr/bin/env bash
# Side by side: `keepalived -t` and `ldirector check` on the same generated keepalived.conf
# (2,284 virtual servers, 37,298 real servers). Prints the median of N runs of each.
# Needs keepalived (apt-get install keepalived) and a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-7}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cargo build --release --quiet --example gen_config --bin ldirector
./target/release/examples/gen_config 2284 37298 > "$dir/keepalived.conf"
echo "config: $(wc -l < "$dir/keepalived.conf") lines, $(du -h "$dir/keepalived.conf" | cut -f1)"
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_ms() { local s e; s=$(date +%s%N); "$@" >/dev/null 2>&1 || true; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
ka=(); ld=()
for _ in $(seq "$N"); do
  # alternate the two so drift affects both alike
  ka+=("$(time_ms keepalived -t -f "$dir/keepalived.conf" -p "$dir/k.pid" -r "$dir/v.pid" -c "$dir/c.pid")")
  ld+=("$(time_ms ./target/release/ldirector check -f "$dir/keepalived.conf")")
done
k=$(printf '%s\n' "${ka[@]}" | median); l=$(printf '%s\n' "${ld[@]}" | median)
./target/release/ldirector check -f "$dir/keepalived.conf"
keepalived -t -f "$dir/keepalived.conf" -p "$dir/k.pid" -r "$dir/v.pid" -c "$dir/c.pid" >/dev/null 2>&1; echo "keepalived -t exit status: $?"
echo "keepalived -t:     median ${k} ms  (runs: ${ka[*]})"
echo "ldirector check:   median ${l} ms  (runs: ${ld[*]})"
awk -v k="$k" -v l="$l" 'BEGIN { printf "ratio ldirector/keepalived: %.2f (target <= 0.20)\n", l / k }'
