#!/usr/bin/env bash
# Makes sure PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup, postgres) exist.
# The testkit starts its own clusters from them; it never touches a running server.
set -euo pipefail

have_pg() {
  if [ -n "${PG_BIN:-}" ] && [ -x "$PG_BIN/initdb" ]; then return 0; fi
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then return 0; fi
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/initdb" ] && return 0
  done
  return 1
}

if have_pg; then
  echo "PostgreSQL server binaries found."
  exit 0
fi

echo "No PostgreSQL server binaries found: installing them with apt-get."
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql >/dev/null
have_pg || { echo "PostgreSQL binaries still missing after apt-get install postgresql" >&2; exit 1; }
