#!/usr/bin/env bash
# The daemon's responsiveness while IPVS writes a large table (issue 17): `ldirector run`
# with 2,284 services and 37,298 destinations (keepalived issue #2318's scale) in the IPVS
# VM; after its start, a prober asks `status` over the control socket every 20 ms for 40 s,
# and 2 s in the daemon reloads a configuration changing 10% of the weights. Prints the
# answers' latencies and how long the kernel took to hold the new weights.
#   bash benches/loop_latency_vm.sh [BIN...]   ldirector binaries to compare (default: this
#                                               tree's release build)
set -euo pipefail
cd "$(dirname "$0")/.."
tgt=${CARGO_TARGET_DIR:-$PWD/target}
bins=("$@")
if [ ${#bins[@]} -eq 0 ]; then
  cargo build --quiet --release
  bins=("$tgt/release/ldirector")
fi
cargo build --quiet --release --example ipvs_apply
work=$(mktemp -d /tmp/looplat.XXXX)
"$tgt/release/examples/ipvs_apply" gen 2284 37298 "$work/t"
cat > "$work/probe.py" <<'PY'
import socket, sys, time
path, dur = sys.argv[1], float(sys.argv[2])
lat, failed = [], 0
end = time.time() + dur
while time.time() < end:
    t0 = time.time()
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(60)
        s.connect(path)
        s.sendall(b"status\n")
        while s.recv(1 << 20):
            pass
        s.close()
        lat.append(time.time() - t0)
    except OSError:
        failed += 1
    time.sleep(0.02)
lat.sort()
ms = lambda x: f"{x * 1000:.0f} ms"
print(f"status answers: {len(lat)} ({failed} failed); median {ms(lat[len(lat) // 2])}, "
      f"p99 {ms(lat[int(len(lat) * 0.99)])}, max {ms(lat[-1])}")
PY
cat > "$work/driver.sh" <<DRIVER
set -u
modprobe ip_vs; modprobe ip_vs_wrr
count() { ip netns exec lb sh -c "ipvsadm -Ln | grep -c -- '\$1'"; }
for bin in ${bins[*]}; do
  echo "## \$bin"
  ip netns add lb; ip -n lb link set lo up
  cp $work/t.conf $work/live.conf
  ip netns exec lb \$bin run -f $work/live.conf --run-dir $work/run > $work/ld.log 2>&1 &
  ld=\$!
  n=0; until [ "\$(count '-> [0-9]')" -ge 37298 ] || [ \$n -ge 1200 ]; do sleep 0.5; n=\$((n+1)); done
  until [ -S $work/run/ldirector.sock ]; do sleep 0.2; done
  sleep 2
  ip netns exec lb python3 $work/probe.py $work/run/ldirector.sock 40 &
  probe=\$!
  sleep 2
  cp $work/t-10.conf $work/live.conf
  t0=\$(date +%s.%N); kill -HUP \$ld
  want=\$(grep -c 'weight 5' $work/t-10.conf)
  n=0; until [ "\$(count ' 5 ')" -ge "\$want" ] || [ \$n -ge 600 ]; do sleep 0.2; n=\$((n+1)); done
  t1=\$(date +%s.%N)
  echo "reload 10%: new weights in the kernel after \$(awk "BEGIN{printf \\"%.2f\\", \$t1 - \$t0}") s"
  wait \$probe
  kill -TERM \$ld; wait \$ld
  grep -E "IPVS: .*service|reload" $work/ld.log | tail -3
  ip netns del lb
done
DRIVER
vng --disable-kvm --memory 2G --cpus 2 --user root --run /boot/vmlinuz-* --exec "bash $work/driver.sh" | cat
rm -rf "$work"
