#!/usr/bin/env bash
# IPVS apply times in the VM (Debian's kernel under qemu, software emulation: compare the
# tools with each other, not with bare metal): ldirector vs `ipvsadm -R` vs keepalived
# starting with the equivalent keepalived.conf, each in a fresh network namespace.
#   bash benches/ipvs_vm.sh [SIZES...]   sizes like 100x10 1000x10 1000x100 2284x37298
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --release --example ipvs_apply
sizes=("${@:-100x10 1000x10 1000x100 2284x37298}")
work=$(mktemp -d /tmp/ipvsbench.XXXX)
for s in ${sizes[@]}; do
  total=$(( ${s%x*} * ${s#*x} ))
  # keepalived issue #2318's scale: 37,298 destinations in all, not per service
  [ "$s" = 2284x37298 ] && total=37298
  ./target/release/examples/ipvs_apply gen "${s%x*}" "$total" "$work/$s"
done
cat > "$work/driver.sh" <<DRIVER
set -u
modprobe ip_vs; modprobe ip_vs_wrr
now() { date +%s.%N; }
dt() { awk "BEGIN{printf \\"%.2f\\", \$2 - \$1}"; }

for s in ${sizes[*]}; do
  want=\$(grep -c '^-a' $work/\$s.rules)
  echo "## \$s: \$(grep -c '^-A' $work/\$s.rules) services, \$want destinations"
  ip netns add bl; ip -n bl link set lo up; ip netns exec bl $PWD/target/release/examples/ipvs_apply run $work/\$s.conf $work/\$s-10.conf; ip netns del bl
  ip netns add br; ip -n br link set lo up
  t0=\$(now); ip netns exec br ipvsadm -R < $work/\$s.rules; t1=\$(now)
  echo "ipvsadm -R: \$(dt \$t0 \$t1) s"
  ip netns del br
  ip netns add bk; ip -n bk link set lo up
  t0=\$(now)
  ip netns exec bk keepalived -C -n -l -D -G -f $work/\$s.conf -p $work/k.pid -c $work/c.pid -r $work/r.pid >/dev/null 2>&1 &
  k=\$!
  until [ "\$(ip netns exec bk sh -c 'ipvsadm -Ln | grep -c -- "-> [0-9]"')" -ge "\$want" ]; do sleep 0.5; done
  t1=\$(now); echo "keepalived start: \$(dt \$t0 \$t1) s"
  cp $work/\$s-10.conf $work/\$s.conf.live; cp $work/\$s.conf $work/\$s.orig
  cp $work/\$s-10.conf $work/\$s.conf
  want10=\$(grep -c 'weight 5' $work/\$s-10.conf)
  t0=\$(now); kill -HUP \$k
  until [ "\$(ip netns exec bk sh -c 'ipvsadm -Ln | grep -c -- " 5 "')" -ge "\$want10" ]; do sleep 0.5; done
  t1=\$(now); echo "keepalived reload 10%: \$(dt \$t0 \$t1) s"
  cp $work/\$s.orig $work/\$s.conf
  t0=\$(now); kill -TERM \$k; wait \$k; t1=\$(now)
  echo "keepalived stop: \$(dt \$t0 \$t1) s, \$(ip netns exec bk sh -c 'ipvsadm -Ln | grep -c -- "-> [0-9]"') destinations left"
  ip netns del bk
done
DRIVER
vng --disable-kvm --memory 2G --cpus 2 --user root --run /boot/vmlinuz-* --exec "bash $work/driver.sh" | cat
rm -rf "$work"
