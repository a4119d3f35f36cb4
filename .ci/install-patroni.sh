#!/usr/bin/env bash
# Makes sure Patroni and etcd exist (Debian packages patroni and etcd-server) for the testkit's
# PatroniCluster, which starts its own etcd and Patroni processes on free loopback ports.
# The packages' system services (etcd on port 2379, patroni) are never started, and are
# disabled so that a reboot does not start them either.
set -euo pipefail

have_patroni() {
  command -v patroni >/dev/null 2>&1 && command -v etcd >/dev/null 2>&1
}

disable_services() {
  if command -v systemctl >/dev/null 2>&1; then
    # works with and without a running systemd (then it only removes the enablement links)
    systemctl disable --now etcd.service patroni.service >/dev/null 2>&1 || true
  fi
}

if have_patroni; then
  echo "Patroni and etcd found: $(patroni --version 2>&1 | head -1), $(etcd --version 2>&1 | head -1)."
  disable_services
  exit 0
fi

echo "Patroni or etcd missing: installing the Debian packages patroni and etcd-server with apt-get."
export DEBIAN_FRONTEND=noninteractive
# Keep the packages' services from starting during the install: invoke-rc.d asks policy-rc.d,
# and exit code 101 means "action forbidden". Only when the machine has no policy of its own.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  trap 'rm -f "$policy"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends patroni etcd-server >/dev/null
disable_services
have_patroni || { echo "patroni or etcd still missing after apt-get install patroni etcd-server" >&2; exit 1; }
echo "Installed $(patroni --version 2>&1 | head -1) and $(etcd --version 2>&1 | head -1)."
