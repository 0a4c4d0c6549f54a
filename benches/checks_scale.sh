#!/usr/bin/env bash
# Health-check cost at scale, one measurement: TOOL (ldirector | keepalived) checks N real
# servers with KIND (tcp: TCP_CHECK | http: HTTP_GET) at delay_loop 1 s; over a WINDOW of
# seconds after a warm-up: the checker's CPU seconds and peak RSS, the checks seen at the
# server (SYNs captured with tcpdump), achieved / configured rate, and the drift of each
# real server's check interval (actual minus configured, p50 / p99 / max).
#
#   bash benches/checks_scale.sh TOOL KIND N [WINDOW]
#
# One namespace: the real servers are 198.18.0.0/15 made local on lo (AnyIP), all served by
# one nginx; the checker runs on CPU 0, nginx and tcpdump on CPU 1 (so the listener's half
# of each handshake is not charged to the checker). keepalived needs IPVS (run it in the VM,
# benches/checks_scale_vm.sh); ldirector runs its checks without IPVS too.
set -euo pipefail
cd "$(dirname "$0")/.."
tool=$1 kind=$2 n=$3 window=${4:-30}
warm=12
ns=cs$$
work=$(mktemp -d /tmp/checkscale.XXXX)
bin=${LDIRECTOR_BIN:-$PWD/target/release/ldirector}
cleanup() {
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" route add local 198.18.0.0/15 dev lo
ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" \
  net.ipv4.tcp_tw_reuse=1 net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535

python3 - "$kind" "$n" > "$work/k.conf" <<'PY'
import sys
kind, n = sys.argv[1], int(sys.argv[2])
per = 100
print("global_defs {\n  router_id bench\n}")
for v in range((n + per - 1) // per):
    print(f"virtual_server 192.0.2.{v % 250 + 1} {8000 + v} {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP")
    for r in range(v * per, min(n, (v + 1) * per)):
        a = f"198.18.{r // 256}.{r % 256}"
        if kind == "tcp":
            chk = "    TCP_CHECK {\n      connect_timeout 2\n    }"
        else:
            chk = "    HTTP_GET {\n      url {\n        path /\n        status_code 200\n      }\n      connect_timeout 2\n    }"
        print(f"  real_server {a} 80 {{\n{chk}\n  }}")
    print("}")
PY

cat > "$work/nginx.conf" <<EOF
user root;
worker_processes 1;
worker_rlimit_nofile 65535;
pid $work/nginx.pid;
error_log $work/nginx.err;
events { worker_connections 32768; }
http {
  access_log off;
  client_body_temp_path $work;
  proxy_temp_path $work;
  fastcgi_temp_path $work;
  uwsgi_temp_path $work;
  scgi_temp_path $work;
  server {
    listen 80 backlog=65535 reuseport;
    location / { return 200 "ok\n"; }
  }
}
EOF
ip netns exec "$ns" taskset -c 1 nginx -c "$work/nginx.conf" -g "daemon off;" &
sleep 1

case $tool in
  ldirector)
    ip netns exec "$ns" taskset -c 0 "$bin" run -f "$work/k.conf" --run-dir "$work/run" \
      2> "$work/tool.log" &
    sleep 1
    pid=$(ip netns pids "$ns" | while read -r p; do
      [ "$(readlink "/proc/$p/exe")" = "$(readlink -f "$bin")" ] && echo "$p"; done | head -1)
    ;;
  keepalived)
    ip netns exec "$ns" taskset -c 0 keepalived -C -n -l -D -f "$work/k.conf" \
      -p "$work/k.pid" -c "$work/c.pid" > "$work/tool.log" 2>&1 &
    for _ in $(seq 100); do [ -s "$work/c.pid" ] && break; sleep 0.1; done
    pid=$(cat "$work/c.pid")
    ;;
  *) echo "TOOL: ldirector or keepalived" >&2; exit 2 ;;
esac
[ -n "${pid:-}" ] || { echo "no checker process" >&2; cat "$work/tool.log" >&2; exit 1; }

sleep "$warm"
cpu() { awk '{print $14, $15}' "/proc/$pid/stat"; }
hz=$(getconf CLK_TCK)
read -r u0 s0 < <(cpu)
ip netns exec "$ns" taskset -c 1 tcpdump -q -n -i lo -s 64 -B 65536 -w "$work/syn.pcap" \
  'tcp dst port 80 and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn' 2> "$work/tcpdump.err" &
td=$!
sleep "$window"
kill -INT "$td"; wait "$td" || true
read -r u1 s1 < <(cpu)
rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
now_rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
alive=$(kill -0 "$pid" 2>/dev/null && echo yes || echo no)
downs=$(grep -c -i -E "is down|failed|down\b" "$work/tool.log" || true)

tcpdump -tt -n -r "$work/syn.pcap" 2>/dev/null | python3 -c '
import sys, collections
n, window, delay = int(sys.argv[1]), float(sys.argv[2]), 1.0
seen = collections.defaultdict(list)
total = 0
for line in sys.stdin:
    f = line.split()
    if len(f) < 5: continue
    ts = float(f[0]); dst = f[4].rstrip(":").rsplit(".", 1)[0]
    seen[dst].append(ts); total += 1
drift = []
for ts in seen.values():
    ts.sort()
    drift += [b - a - delay for a, b in zip(ts, ts[1:])]
drift.sort()
q = lambda p: drift[min(len(drift) - 1, int(p * len(drift)))] * 1000 if drift else float("nan")
print(f"checks/s {total / window:.0f} of {n} configured ({total / window / n:.2f}); "
      f"servers seen {len(seen)}; interval drift ms p50 {q(0.5):.1f} p99 {q(0.99):.1f} max {q(1.0):.1f}")
' "$n" "$window"
awk -v u="$((u1 - u0))" -v k="$((s1 - s0))" -v hz="$hz" -v w="$window" -v rss="$rss" -v now="$now_rss" -v n="$n" \
  'BEGIN { s = (u + k) / hz; printf "checker CPU %.2f s in %d s (%.0f%%; user %.2f s, system %.2f s), %.0f us per configured check; RSS %.1f MiB, peak %.1f MiB\n", s, w, 100 * s / w, u / hz, k / hz, 1e6 * s / (w * n), now / 1024, rss / 1024 }'
grep -h "dropped by kernel" "$work/tcpdump.err" || true
echo "checker alive at the end: $alive; log lines about failures: $downs"
