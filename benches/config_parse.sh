#!/usr/bin/env bash
# Side by side: `keepalived -t` and `ldirector check` on the same generated keepalived.conf
# (2,284 virtual servers, 37,298 real servers), timed by hyperfine (no shell between the
# timer and the program, warm-up runs first). Prints each median and the ratio.
# Needs keepalived and hyperfine (apt-get install keepalived hyperfine) and a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-15}
command -v hyperfine >/dev/null || apt-get install -y -q hyperfine >/dev/null
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cargo build --release --quiet --example gen_config --bin ldirector
./target/release/examples/gen_config 2284 37298 > "$dir/keepalived.conf"
echo "config: $(wc -l < "$dir/keepalived.conf") lines, $(du -h "$dir/keepalived.conf" | cut -f1)"
./target/release/ldirector check -f "$dir/keepalived.conf"
keepalived -t -f "$dir/keepalived.conf" -p "$dir/k.pid" -r "$dir/v.pid" -c "$dir/c.pid" >/dev/null 2>&1
echo "keepalived -t exit status: $?"
hyperfine -N --warmup 3 --runs "$N" --export-json "$dir/times.json" \
  -n keepalived "keepalived -t -f $dir/keepalived.conf -p $dir/k.pid -r $dir/v.pid -c $dir/c.pid" \
  -n ldirector "./target/release/ldirector check -f $dir/keepalived.conf" >/dev/null
python3 - "$dir/times.json" <<'PY'
import json, sys
r = {b["command"]: b for b in json.load(open(sys.argv[1]))["results"]}
k, l = (r[n]["median"] * 1000 for n in ("keepalived", "ldirector"))
print(f"keepalived -t:   median {k:.0f} ms  (min {r['keepalived']['min']*1000:.0f}, max {r['keepalived']['max']*1000:.0f})")
print(f"ldirector check: median {l:.0f} ms  (min {r['ldirector']['min']*1000:.0f}, max {r['ldirector']['max']*1000:.0f})")
print(f"ratio ldirector/keepalived: {l / k:.2f} (target <= 0.20)")
PY
