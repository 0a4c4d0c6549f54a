#!/usr/bin/env bash
# ldirector's and keepalived's health checkers side by side, in the IPVS VM (keepalived's
# checker needs IPVS; this machine's kernel has none): benches/checks_scale.sh for each tool,
# alternating, twice each, per check kind. Under software emulation 10,000 checks a second
# saturate the vCPUs for any checker (../shared/notes/check-scale.md): compare at a few
# thousand real servers here, and run `bash benches/checks_scale.sh ldirector tcp 10000` on
# the host for the 10,000 figures.
#   bash benches/checks_scale_vm.sh [N] [WINDOW] [KINDS...]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2000} window=${2:-30}
shift 2 2>/dev/null || true
kinds=("${@:-tcp http}")
cargo build --quiet --release
out=$(mktemp /tmp/checkscale-vm.XXXX)
cat > "$out.sh" <<DRIVER
set -u
modprobe ip_vs; modprobe ip_vs_rr
cd $PWD
for kind in ${kinds[*]}; do
  for round in 1 2; do
    for tool in keepalived ldirector; do
      echo "## \$tool \$kind $n real servers, round \$round"
      bash benches/checks_scale.sh \$tool \$kind $n $window 2>&1 | grep -v Killed
    done
  done
done
DRIVER
vng --disable-kvm --memory 2G --cpus 2 --user root --run /boot/vmlinuz-* --exec "bash $out.sh" | tee "$out"
rm -f "$out.sh"
echo "(output kept in $out)"
