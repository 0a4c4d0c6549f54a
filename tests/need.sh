# Sourced by tests/run.sh and tests/packages.sh: `need_apt PKG...` installs the Debian
# packages that are missing (and only those).
need_apt() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # the packages' services (frr, bird, keepalived, nginx...) must not start on the
    # host: the tests run their own, per namespace
    local policy=/usr/sbin/policy-rc.d own=
    if [[ ! -e $policy ]]; then
      printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && own=1
    fi
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}"
    if [[ -n $own ]]; then rm -f "$policy"; fi
  fi
}
