#!/usr/bin/env bash
# The status page at scale: a daemon with SERVICES virtual servers and REALS real servers
# (every 1,000th checked on a closed port, so some are down; the rest unchecked), no IPVS
# needed. Per run, median of RUNS: the JSON behind the page (/status?compact, and /status as
# curl users read it), `ldirector status` (the table operators read today), and the page in
# headless Chromium driven over the DevTools protocol in real time (benches/common/
# cdp_page.py): from navigation to the first drawing, and the page's own measure of that
# refresh (fetch, JSON parse, drawing the DOM). Prints a markdown table for docs/benchmarks.md.
#   bash benches/status_page.sh [SERVICES REALS [RUNS]]     (default 2000 37000 5)
set -euo pipefail
cd "$(dirname "$0")/.."
services=${1:-2000} reals=${2:-37000} runs=${3:-5}
. tests/need.sh
need_apt chromium curl python3 iproute2
bin=${LDIRECTOR_BIN:-$PWD/target/release/ldirector}
[[ -x $bin ]] || cargo build --release --quiet
ns=sp$$
work=$(mktemp -d /tmp/statuspage.XXXX)
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" route add local 198.18.0.0/15 dev lo

python3 - "$services" "$reals" > "$work/k.conf" <<'PY'
import sys
services, reals = int(sys.argv[1]), int(sys.argv[2])
n = 0
for v in range(services):
    print(f"virtual_server 198.18.{v // 250}.{v % 250 + 1} 80 {{\n  delay_loop 5\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP")
    for _ in range(reals // services + (1 if v < reals % services else 0)):
        addr = f"198.19.{n // 250}.{n % 250 + 1}"
        if n % 1000 == 0:
            print(f"  real_server {addr} 9 {{\n    TCP_CHECK {{\n      connect_timeout 1\n      retry 0\n    }}\n  }}")
        else:
            print(f"  real_server {addr} 80 {{\n  }}")
        n += 1
    print("}")
PY
ip netns exec "$ns" "$bin" run -f "$work/k.conf" --run-dir "$work/run" --http-listen 127.0.0.1:9091 > "$work/log" 2>&1 &
pid=$!
for _ in $(seq 600); do
  ip netns exec "$ns" curl -sf http://127.0.0.1:9091/healthz >/dev/null 2>&1 && break
  sleep 0.2
done
sleep 3

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ms() { python3 -c 'import sys; print(f"{float(sys.argv[1])*1000:.0f}")' "$1"; }
curl_ms() {
  for _ in $(seq "$runs"); do
    ip netns exec "$ns" curl -s -o /dev/null -w '%{time_total}\n' "$1"
  done | median
}
size() { ip netns exec "$ns" curl -s "$1" | wc -c; }
cli_ms() {
  for _ in $(seq "$runs"); do
    s=$(date +%s%N); "$bin" status --run-dir "$work/run" >/dev/null; e=$(date +%s%N)
    echo $(((e - s) / 1000000))
  done | median
}
chrome() {
  ip netns exec "$ns" timeout -k 5 180 chromium --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$work/chromium$RANDOM" --dump-dom "$1" 2>/dev/null
}
# the page over the DevTools protocol (real time): wall ms to the first drawing, and the
# page's own fetch / parse / draw ms
page_runs() {
  for i in $(seq "$runs"); do
    ip netns exec "$ns" python3 benches/common/cdp_page.py http://127.0.0.1:9091/ "$work/cdp$i"
  done
}
blank_ms() {
  for _ in $(seq "$runs"); do
    s=$(date +%s%N); chrome about:blank >/dev/null; e=$(date +%s%N)
    echo $(((e - s) / 1000000))
  done | median
}

compact=$(curl_ms "http://127.0.0.1:9091/status?compact")
pretty=$(curl_ms "http://127.0.0.1:9091/status")
cli=$(cli_ms)
page=$(page_runs)
blank=$(blank_ms)
col() { awk -v c="$1" '{print $c}' <<<"$page" | median; }
echo "| $services vs / $reals rs | median of $runs |"
echo "|---|---|"
echo "| /status?compact (the page's source), $(size "http://127.0.0.1:9091/status?compact") bytes | $(ms "$compact") ms |"
echo "| /status (pretty), $(size "http://127.0.0.1:9091/status") bytes | $(ms "$pretty") ms |"
echo "| \`ldirector status\` (the table) | $cli ms |"
echo "| page in headless Chromium: navigation to first drawing | $(col 1) ms |"
echo "| (headless Chromium's start and an empty page, for reference) | $blank ms |"
echo "| the page's first refresh: fetch / JSON parse / draw | $(col 2) / $(col 3) / $(col 4) ms |"
