#!/usr/bin/env bash
# The monitoring files that ship in the packages (packaging/monitoring/): the alert rules
# load (promtool check rules) and fire as their unit tests say (promtool test rules); the
# Grafana dashboard is valid JSON whose every query is valid PromQL (promtool checks them
# as recording rules, Grafana's variables replaced) and names only metrics ldirector
# exports; a running daemon's /metrics passes `promtool check metrics` (as root: a network
# namespace of its own). Called by tests/run.sh; installs Debian's prometheus (promtool)
# without starting its service (tests/need.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
. tests/need.sh
need_apt prometheus curl iproute2
command -v promtool >/dev/null || { echo "error: promtool missing after installing prometheus" >&2; exit 1; }

dir_q=$(mktemp --suffix=.yml)
trap 'rm -f "$dir_q"' EXIT
echo "== alert rules"
promtool check rules packaging/monitoring/ldirector.rules.yml
promtool test rules packaging/monitoring/ldirector.rules.test.yml

echo "== Grafana dashboard"
python3 - packaging/monitoring/ldirector.dashboard.json "$dir_q" src/control/metrics.rs src/check/stats.rs <<'PY'
import json, re, sys
dash = json.load(open(sys.argv[1]))
source = "".join(open(f).read() for f in sys.argv[3:])
exprs = []
def walk(o):
    if isinstance(o, dict):
        if isinstance(o.get("expr"), str):
            exprs.append(o["expr"])
        for v in o.values():
            walk(v)
    elif isinstance(o, list):
        for v in o:
            walk(v)
walk(dash)
assert len(exprs) >= 15, f"only {len(exprs)} queries"
names = {v["name"] for v in dash["templating"]["list"]}
assert {"datasource", "instance"} <= names, names
rules = []
missing = set()
for i, e in enumerate(exprs):
    # Grafana's variables, as Grafana substitutes them
    q = e.replace("$__rate_interval", "5m")
    q = re.sub(r"\$[a-z_]+", ".*", q)
    rules.append(f"      - record: dashboard:query{i}\n        expr: {json.dumps(q)}")
    for m in re.findall(r"ldirector_[a-z_]+", e):
        base = re.sub(r"_(total|bucket|count|sum)$", "", m)[len("ldirector_"):]
        # a family registered in metrics.rs or stats.rs: its name, or a traffic family's prefix and suffix
        if f'"{base}"' not in source and not any(
            base == f"{p}_{s}" for p in ("ipvs_virtual_server", "ipvs_real_server")
            for s in ("connections", "in_packets", "out_packets", "in_bytes", "out_bytes")):
            missing.add(m)
assert not missing, f"the dashboard names metrics ldirector does not export: {sorted(missing)}"
open(sys.argv[2], "w").write("groups:\n  - name: dashboard\n    rules:\n" + "\n".join(rules) + "\n")
print(f"{len(exprs)} queries")
PY
promtool check rules "$dir_q"

echo "== /metrics of a running daemon"
cargo build --quiet --bin ldirector
bin="${CARGO_TARGET_DIR:-target}/debug/ldirector"
ns="ldmon$$"
dir=$(mktemp -d)
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$dir" "$dir_q"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add eth0 type veth peer name eth1
ip -n "$ns" link set eth0 up
ip -n "$ns" link set eth1 up
ip -n "$ns" addr add 192.0.2.11/24 dev eth0
cat > "$dir/k.conf" <<CONF
vrrp_instance VI_1 {
  interface eth0
  virtual_router_id 51
  priority 150
  advert_int 1
  virtual_ipaddress {
    192.0.2.100/24
  }
}
virtual_server 192.0.2.100 80 {
  protocol TCP
  delay_loop 1
  real_server 192.0.2.11 80 {
    TCP_CHECK {
      connect_timeout 1
    }
  }
}
anycast WEB {
  address 192.0.2.80
  port 80
  TCP_CHECK {
    connect_timeout 1
  }
}
CONF
ip netns exec "$ns" "$bin" run -f "$dir/k.conf" --run-dir "$dir/run" --http-listen 127.0.0.1:9650 > "$dir/log" 2>&1 &
pid=$!
metrics=
for _ in $(seq 100); do
  metrics=$(ip netns exec "$ns" curl -sf http://127.0.0.1:9650/metrics || true)
  if grep -q 'ldirector_anycast_state' <<<"$metrics" && grep -q 'ldirector_checks_total' <<<"$metrics"; then
    break
  fi
  sleep 0.2
done
grep -q 'ldirector_vrrp_state{vrrp_instance="VI_1"' <<<"$metrics" || { cat "$dir/log"; echo "error: no VRRP metrics"; exit 1; }
grep -q 'ldirector_anycast_state{anycast="WEB"' <<<"$metrics" || { cat "$dir/log"; echo "error: no anycast metrics"; exit 1; }
promtool check metrics <<<"$metrics"
echo "monitoring: ok"
