#!/bin/bash
# Entrypoint of localhost/r2dbc-routing/postgres:15 (built by .ci/containers/setup.sh).
#
# Behaves like the official `postgres` image for the parts the project uses:
#   POSTGRES_USER (default postgres), POSTGRES_PASSWORD (required unless
#   POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_DB (default $POSTGRES_USER),
#   PGDATA (default /var/lib/postgresql/data), /docker-entrypoint-initdb.d/*.sql|*.sh,
#   extra arguments passed to postgres (`-c wal_level=replica`, ...).
# As in the official image, a first start runs a temporary server for the init
# scripts, so a fresh PRIMARY logs "database system is ready to accept connections"
# TWICE (Testcontainers' PostgreSQLContainer waits for 2; do the same).
#
# Replica mode: REPLICATE_FROM=host:port (same POSTGRES_USER/POSTGRES_PASSWORD as the
# primary; that user must have REPLICATION, which the bootstrap superuser has) makes a
# first start run `pg_basebackup -R -X stream` from that primary instead of initdb,
# retrying for REPLICATE_TIMEOUT seconds (default 120) until the primary answers.
# The replica then starts as a hot standby and logs
# "database system is ready to accept read-only connections" ONCE.
set -Eeuo pipefail

PG_BIN=/usr/lib/postgresql/15/bin
export PATH="$PG_BIN:$PATH"
export PGDATA="${PGDATA:-/var/lib/postgresql/data}"
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
AUTH="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}"

log() { echo "entrypoint: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
# Until `exec postgres`, bash is PID 1 and would ignore SIGINT/SIGTERM (no default
# action for PID 1): honour them so `podman stop` during init/basebackup is prompt.
trap 'log "interrupted during init"; exit 130' INT TERM
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; }

# `docker run IMAGE -c x=y` -> postgres -c x=y ; `docker run IMAGE postgres ...` as well.
if [ "$#" -eq 0 ] || [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi
if [ "$1" != 'postgres' ]; then
  exec "$@"   # e.g. `bash`, `psql`, `pg_basebackup --version`
fi

if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$AUTH" != trust ]; then
  die "POSTGRES_PASSWORD is not set (or set POSTGRES_HOST_AUTH_METHOD=trust)"
fi

mkdir -p "$PGDATA" /var/run/postgresql
chown postgres:postgres "$PGDATA" /var/run/postgresql
chmod 700 "$PGDATA"
chmod 2775 /var/run/postgresql

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -n "${REPLICATE_FROM:-}" ]; then
    # ---------------------------------------------------------------- replica
    rhost="${REPLICATE_FROM%:*}"; rport="${REPLICATE_FROM##*:}"
    [ "$rhost" != "$REPLICATE_FROM" ] || rport=5432
    deadline=$(( $(date +%s) + ${REPLICATE_TIMEOUT:-120} ))
    log "replica mode: pg_basebackup from $rhost:$rport as $POSTGRES_USER"
    until as_postgres env PGPASSWORD="${POSTGRES_PASSWORD:-}" PGCONNECT_TIMEOUT=3 \
          pg_basebackup -h "$rhost" -p "$rport" -U "$POSTGRES_USER" -D "$PGDATA" \
                        -R -X stream -c fast ${REPLICATE_SLOT:+-C -S "$REPLICATE_SLOT"} -w; do
      [ "$(date +%s)" -lt "$deadline" ] || die "pg_basebackup from $rhost:$rport did not succeed in ${REPLICATE_TIMEOUT:-120}s"
      find "$PGDATA" -mindepth 1 -delete 2>/dev/null || true
      log "primary $rhost:$rport not ready yet; retrying in 1s"
      sleep 1
    done
    # -R wrote standby.signal and primary_conninfo (with the password) into
    # postgresql.auto.conf; hot_standby is on by default.
    log "base backup done; starting as hot standby"
  else
    # ---------------------------------------------------------------- primary
    log "initdb into $PGDATA for user $POSTGRES_USER"
    pwfile="$(mktemp)"; chown postgres "$pwfile"
    printf '%s\n' "${POSTGRES_PASSWORD:-}" > "$pwfile"
    as_postgres initdb --username="$POSTGRES_USER" --pwfile="$pwfile" \
        --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host="$AUTH" \
        ${POSTGRES_INITDB_ARGS:-} >/dev/null
    rm -f "$pwfile"
    {
      echo
      echo "# added by r2dbc-routing entrypoint"
      echo "host all all all $AUTH"
      echo "host replication all all $AUTH"
    } >> "$PGDATA/pg_hba.conf"
    # jit=off: the image leaves out the LLVM JIT provider to stay small.
    printf "listen_addresses = '*'\njit = off\n" >> "$PGDATA/postgresql.conf"

    # Temporary socket-only server for POSTGRES_DB and init scripts (like the
    # official image; it logs "ready to accept connections" a first time).
    as_postgres pg_ctl -D "$PGDATA" -w -o "-c listen_addresses='' -p 5432" start
    export PGUSER="$POSTGRES_USER" PGHOST=/var/run/postgresql PGPORT=5432
    if [ "$POSTGRES_DB" != postgres ]; then
      as_postgres psql -v ON_ERROR_STOP=1 -q -d postgres \
        -c "CREATE DATABASE \"$POSTGRES_DB\"" >/dev/null
    fi
    for f in /docker-entrypoint-initdb.d/*; do
      [ -e "$f" ] || continue
      case "$f" in
        *.sh)  log "running $f"; . "$f" ;;
        *.sql) log "running $f"; as_postgres psql -v ON_ERROR_STOP=1 -q -d "$POSTGRES_DB" -f "$f" ;;
        *)     log "ignoring $f" ;;
      esac
    done
    as_postgres pg_ctl -D "$PGDATA" -m fast -w stop
    unset PGUSER PGHOST PGPORT
    log "init done; starting postgres"
  fi
fi

exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
