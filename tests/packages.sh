#!/usr/bin/env bash
# ldirector's packages, checked as an operator would get them: build the .deb and the .rpm
# (packaging/build.sh); lintian finds no error in the .deb; the .deb installs into a clean
# Debian root made by debootstrap, where `ldirector --version` and `ldirector check` on the
# packaged configuration run and the script user exists; the .rpm's metadata and file list
# (rpm -qip / -qlp) and an install into a scratch root (rpm --root); systemd-analyze
# verify on the unit as installed. Run by tests/run.sh (as root; installs what it needs).
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
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
rpm --root "$scratch" --initdb
# a scratch root has no shell or libraries: files only
rpm --root "$scratch" -i --nodeps --noscripts "$rpm" || fail "rpm --root install"
rpm --root "$scratch" -q ldirector || fail "rpm -q in the scratch root"
"$scratch/usr/sbin/ldirector" --version | grep -qx "ldirector $version" || fail "rpm's binary"
"$scratch/usr/sbin/ldirector" check -f "$scratch/etc/ldirector/ldirector.toml" || fail "rpm's config"
echo "packages: ok"
