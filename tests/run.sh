#!/usr/bin/env bash
# The whole test suite, as CI runs it on a fresh machine (as root): installs what it needs
# (idempotent, skipping what is present), then format check, clippy, and every test.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests use. Installed only when missing.
# iproute2: network namespaces for the VRRP tests; keepalived: the interoperability peer;
# iputils-ping: the lab client reaching the VIPs; procps: sysctl inside the namespaces;
# tcpdump: announcements seen on the wire; nftables: no_accept (vrrp_strict).
APT_PACKAGES=(iproute2 keepalived iputils-ping procps tcpdump nftables)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
fi

for tool in rustfmt clippy-driver; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing (rustup component add ${tool%-driver})" >&2; exit 1; }
done

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --all-targets -- -D warnings
echo "== cargo test"
cargo test --all-targets
echo "== fuzz target builds (cargo fuzz run config_reader explores it)"
cargo check --quiet --manifest-path fuzz/Cargo.toml
echo "all tests passed"
