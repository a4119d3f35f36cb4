#!/usr/bin/env bash
# Makes sure the MariaDB binaries the testkit runs exist: mariadbd, mariadb-install-db and the
# mariadb client (Debian's mariadb-server, which pulls in mariadb-client). The testkit starts its
# own servers from them on free loopback ports with --no-defaults; it never uses the machine's
# own MariaDB service, and installing the package here must not start one either.
set -euo pipefail

have_mariadb() {
  if [ -n "${MARIADB_BIN:-}" ]; then
    [ -x "$MARIADB_BIN/mariadbd" ] && [ -x "$MARIADB_BIN/mariadb-install-db" ] && [ -x "$MARIADB_BIN/mariadb" ]
    return
  fi
  command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || return 1
  command -v mariadb-install-db >/dev/null 2>&1 || [ -x /usr/bin/mariadb-install-db ] || return 1
  command -v mariadb >/dev/null 2>&1 || [ -x /usr/bin/mariadb ] || return 1
}

if have_mariadb; then
  echo "MariaDB binaries found."
  exit 0
fi

echo "No MariaDB binaries found: installing mariadb-server with apt-get (its service is not started)."
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d exit 101 tells invoke-rc.d not to start (or restart) any service while we install;
# a policy-rc.d that was already there (e.g. in a container image) is kept as it was.
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"
  chmod 755 "$policy"
  own_policy=yes
fi
cleanup() { if [ -n "$own_policy" ]; then rm -f "$policy"; fi; }
trap cleanup EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends mariadb-server >/dev/null
have_mariadb || { echo "MariaDB binaries still missing after apt-get install mariadb-server" >&2; exit 1; }
echo "MariaDB binaries installed."
