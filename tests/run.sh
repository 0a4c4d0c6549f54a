#!/usr/bin/env bash
# The whole test suite, as CI runs it on a fresh machine (as root): installs what it needs
# (idempotent, skipping what is present), then format check, clippy, and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests use. Installed only when missing.
# iproute2: network namespaces for the VRRP tests; keepalived: the interoperability peer;
# iputils-ping: the lab client reaching the VIPs; procps: sysctl inside the namespaces;
# tcpdump: announcements seen on the wire; nftables: no_accept (vrrp_strict).
# qemu-system-x86, linux-image-amd64, busybox-static: a VM booting Debian's kernel, which has
# IPVS (this machine's kernel does not), for tests/ipvs_vm.rs; ipvsadm: the reference tool.
# nginx-light, dnsmasq-base, python3-aiosmtpd, openssl: the real servers of the health-check
# tests (tests/checks_netns.rs; keepalived's genhash computes their digests).
APT_PACKAGES=(iproute2 keepalived iputils-ping procps tcpdump nftables
  qemu-system-x86 linux-image-amd64 busybox-static ipvsadm
  nginx-light dnsmasq-base python3-aiosmtpd openssl)
. tests/need.sh
need_apt "${APT_PACKAGES[@]}"

# virtme-ng boots the VM (vng); from PyPI.
if ! command -v vng >/dev/null; then
  echo "installing: virtme-ng (pip)"
  pip install -q virtme-ng
  # pyenv (as on these machines) needs its shims refreshed for a new command
  if command -v pyenv >/dev/null; then pyenv rehash; fi
  hash -r
fi
command -v vng >/dev/null || { echo "error: vng not on PATH after pip install virtme-ng" >&2; exit 1; }

for tool in rustfmt clippy-driver; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing (rustup component add ${tool%-driver})" >&2; exit 1; }
done

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets -- -D warnings
echo "== cargo test"
cargo test --all-targets
echo "== monitoring (alert rules: promtool check and unit tests; /metrics: promtool check metrics)"
bash tests/monitoring.sh
echo "== fuzz target builds (cargo fuzz run config_reader explores it)"
cargo check --quiet --manifest-path fuzz/Cargo.toml
echo "== packages (deb and rpm: built, lintian, installed into clean roots)"
bash tests/packages.sh
echo "all tests passed"
