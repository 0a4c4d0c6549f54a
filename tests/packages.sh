#!/usr/bin/env bash
# ldirector's packages, checked as an operator would get them: build the .deb and the .rpm
# (packaging/build.sh); lintian finds no error in the .deb; the .deb installs into a clean
# Debian root made by debootstrap, where `ldirector --version` and `ldirector check` on the
# packaged configuration run and the script user exists; the .rpm's metadata and file list
# (rpm -qip / -qlp) and an install into a scratch root (rpm --root); systemd-analyze
# verify on the unit as installed; and a package upgrade (dpkg -i of the next version)
# under a running ldirector in the Debian root: it hands over (same PID, no transition). Run by tests/run.sh (as root; installs what it needs).
set -euo pipefail
cd "$(dirname "$0")/.."
fail() { echo "packages: FAILED: $*" >&2; exit 1; }

APT_PACKAGES=(lintian debootstrap rpm binutils man-db)
. tests/need.sh
need_apt "${APT_PACKAGES[@]}"
# the packaging tools, pinned
for tool in cargo-deb@3.8.0 cargo-generate-rpm@0.21.1; do
  command -v "${tool%@*}" >/dev/null || { echo "installing: $tool"; cargo install --locked --quiet "$tool"; }
done

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
echo "== build the packages ($version)"
bash packaging/build.sh
deb=$(ls target/packages/*.deb)
rpm=$(ls target/packages/*.rpm)

echo "== lintian $deb"
lintian --fail-on error --tag-display-limit 0 "$deb" || fail "lintian reports errors"

echo "== the .deb in a clean Debian root"
root=target/debroot
if [ ! -x "$root/usr/bin/dpkg" ]; then
  rm -rf "$root"
  debootstrap --variant=minbase --include=adduser,systemd bookworm "$root" http://deb.debian.org/debian >/dev/null \
    || fail "debootstrap"
fi
chroot "$root" dpkg --purge ldirector >/dev/null 2>&1 || true
cp "$deb" "$root/tmp/ldirector.deb"
chroot "$root" dpkg -i /tmp/ldirector.deb || fail "dpkg -i in the Debian root"
out=$(chroot "$root" /usr/sbin/ldirector --version)
[ "$out" = "ldirector $version" ] || fail "ldirector --version in the root said: $out"
chroot "$root" /usr/sbin/ldirector check -f /etc/ldirector/ldirector.toml || fail "check on the packaged config"
chroot "$root" getent passwd ldirector_script >/dev/null || fail "no ldirector_script user"
for f in /usr/share/man/man8/ldirector.8.gz /usr/share/man/man5/ldirector.toml.5.gz \
  /usr/share/bash-completion/completions/ldirector /etc/default/ldirector \
  /lib/systemd/system/ldirector.service /usr/share/doc/ldirector/migration.md \
  /usr/share/doc/ldirector/examples/keepalived.conf /usr/share/doc/ldirector/anycast.md \
  /usr/share/doc/ldirector/examples/anycast/bird-bgp.conf /etc/iproute2/rt_protos.d/ldirector.conf \
  /usr/share/ldirector/monitoring/ldirector.rules.yml /usr/share/ldirector/monitoring/ldirector.dashboard.json; do
  [ -e "$root$f" ] || fail "$f missing from the installed package"
done
grep -qx /etc/ldirector/ldirector.toml "$root/var/lib/dpkg/info/ldirector.conffiles" \
  || fail "the config is not a conffile"
# the man pages render
man -l "$root/usr/share/man/man5/ldirector.toml.5.gz" >/dev/null 2>&1 || fail "ldirector.toml(5) does not render"
# the unit, as installed (its ExecStart resolved in the root)
systemd-analyze verify --man=no --root="$root" /lib/systemd/system/ldirector.service \
  || fail "systemd-analyze verify"

echo "== a package upgrade hands the running daemon over (same PID, no transition)"
# the next version of the package: the same binary, a new file (dpkg replaces it)
next="${version}-2"
rm -rf target/packages/next
cargo deb --no-build --no-strip --deb-version "$next" --output target/packages/next/ >/dev/null
cp target/packages/next/*.deb "$root/tmp/ldirector-next.deb"
ns=ldpkgup
cat >"$root/tmp/pkgup.conf" <<'CONF'
vrrp_instance UP {
  interface eth0
  virtual_router_id 61
  version 3
  priority 150
  advert_int 0.1
  virtual_ipaddress { 192.0.2.100/24 }
}
CONF
daemon_pid=
upgrade_cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && sleep 1
  umount "$root/proc" 2>/dev/null || true
  umount "$root/dev" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
}
trap upgrade_cleanup EXIT
ip netns del "$ns" 2>/dev/null || true
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add eth0 type veth peer name eth1
ip -n "$ns" link set eth0 up
ip -n "$ns" link set eth1 up
ip -n "$ns" addr add 192.0.2.11/24 dev eth0
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mkdir -p "$root/run/ldirector"
ip netns exec "$ns" chroot "$root" /usr/sbin/ldirector run -f /tmp/pkgup.conf \
  --run-dir /run/ldirector >"$root/tmp/pkgup.log" 2>&1 &
daemon_pid=$!
state() {
  chroot "$root" /usr/sbin/ldirector status --json --run-dir /run/ldirector 2>/dev/null \
    | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["pid"], s["upgrades"], s["vrrp"][0]["state"])' \
    2>/dev/null || true
}
for _ in $(seq 60); do
  [ "$(state)" = "$daemon_pid 0 MASTER" ] && break
  sleep 0.5
done
[ "$(state)" = "$daemon_pid 0 MASTER" ] || { cat "$root/tmp/pkgup.log"; fail "the daemon in the root did not become MASTER: $(state)"; }
chroot "$root" dpkg -i /tmp/ldirector-next.deb || fail "dpkg -i of the next version"
[ "$(chroot "$root" dpkg-query -W -f '${Version}' ldirector)" = "$next" ] || fail "the next version is not installed"
[ "$(state)" = "$daemon_pid 1 MASTER" ] || { cat "$root/tmp/pkgup.log"; fail "after the upgrade: $(state) (want: same pid, 1 upgrade, MASTER)"; }
exe=$(readlink "/proc/$daemon_pid/exe")
case "$exe" in *deleted*) fail "the daemon still runs the replaced binary: $exe" ;; esac
# the process runs the file the new package installed (the same bits, a new file: the
# version string cannot differ without a second build; the inode says which file runs)
[ "$(stat -L -c %i "/proc/$daemon_pid/exe")" = "$(stat -c %i "$root/usr/sbin/ldirector")" ] \
  || fail "the daemon does not run the installed binary"
masters=$(grep -c "is now MASTER" "$root/tmp/pkgup.log" || true)
[ "$masters" = 1 ] || { cat "$root/tmp/pkgup.log"; fail "$masters MASTER transitions (want 1: the start)"; }
grep -q "continue where the previous binary left off" "$root/tmp/pkgup.log" || fail "no hand-over in the log"
kill "$daemon_pid"
for _ in $(seq 40); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.25; done
kill -0 "$daemon_pid" 2>/dev/null && fail "the daemon did not stop"
daemon_pid=
upgrade_cleanup
trap - EXIT

chroot "$root" dpkg --purge ldirector >/dev/null || fail "dpkg --purge"

echo "== the .rpm"
info=$(rpm -qip "$rpm")
echo "$info"
grep -q "^Name *: ldirector" <<<"$info" || fail "rpm name"
grep -q "^Version *: $version" <<<"$info" || fail "rpm version"
files=$(rpm -qlp "$rpm")
for f in /usr/sbin/ldirector /usr/lib/systemd/system/ldirector.service \
  /etc/ldirector/ldirector.toml /etc/sysconfig/ldirector /usr/share/man/man8/ldirector.8.gz \
  /usr/share/man/man5/ldirector.toml.5.gz /usr/share/doc/ldirector/migration.md \
  /etc/iproute2/rt_protos.d/ldirector.conf /usr/share/doc/ldirector/examples/anycast/frr-bgpd.conf \
  /usr/share/ldirector/monitoring/ldirector.rules.yml /usr/share/ldirector/monitoring/ldirector.dashboard.json; do
  grep -qx "$f" <<<"$files" || fail "$f not in the rpm"
done
rpm -qp --configfiles "$rpm" | grep -qx /etc/ldirector/ldirector.toml || fail "config not marked"
rpm -qp --scripts "$rpm" | grep -q "useradd -r" || fail "no script user in %pre"
# (a scratch root runs no scriptlet: the upgrade is the %posttrans's, checked as written)
scripts=$(rpm -qp --scripts "$rpm")
posttrans=$(sed -n "/^posttrans/,/^exit 0/p" <<<"$scripts")
grep -q "ldirector upgrade --run-dir" <<<"$posttrans" || fail "no hand-over in %posttrans"
grep -q "try-restart" <<<"$posttrans" || fail "no restart fallback in %posttrans"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
rpm --root "$scratch" --initdb
# a scratch root has no shell or libraries: files only
rpm --root "$scratch" -i --nodeps --noscripts "$rpm" || fail "rpm --root install"
rpm --root "$scratch" -q ldirector || fail "rpm -q in the scratch root"
"$scratch/usr/sbin/ldirector" --version | grep -qx "ldirector $version" || fail "rpm's binary"
"$scratch/usr/sbin/ldirector" check -f "$scratch/etc/ldirector/ldirector.toml" || fail "rpm's config"
echo "packages: ok"
