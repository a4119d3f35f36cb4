#!/usr/bin/env bash
# Smoke test of the engine + image through the podman CLI (no Java): a primary and a
# streaming replica on a private podman network, a row written on the primary read
# back on the replica, pg_is_in_recovery() checked on both, published ports reachable
# on 127.0.0.1. Removes what it started. Run after setup.sh; exit 0 = OK.
set -Eeuo pipefail
ENV_FILE="${R2DBC_PODMAN_STATE_DIR:-/run/r2dbc-routing-podman}/env.sh"
[ -r "$ENV_FILE" ] || { echo "smoke: $ENV_FILE missing: run .ci/containers/setup.sh first" >&2; exit 3; }
. "$ENV_FILE"

tag="r2r-smoke-$$"
net="$tag-net"
cleanup() {
  podman rm -f -t 0 "$tag-pg0" "$tag-pg1" >/dev/null 2>&1 || true
  podman network rm -f "$net" >/dev/null 2>&1 || true
}
trap cleanup EXIT

now() { date +%s%N; }
ms() { echo $(( ($(now) - $1) / 1000000 )); }
wait_log() {  # container, regex, count, timeout_s
  local deadline=$(( $(date +%s) + $4 ))
  until [ "$(podman logs "$1" 2>&1 | grep -cE "$2")" -ge "$3" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { podman logs "$1" >&2; echo "smoke: $1 not ready" >&2; exit 1; }
    sleep 0.25
  done
}
sql() { podman exec -e PGPASSWORD=secret "$1" psql -h 127.0.0.1 -U app -d app -XAtq -v ON_ERROR_STOP=1 -c "$2"; }
port_of() { podman port "$1" 5432/tcp | head -n1 | sed 's/.*://'; }

podman network create "$net" >/dev/null

t=$(now)
podman run -d --name "$tag-pg0" --network "$net" --network-alias pg-0 -p 127.0.0.1::5432 \
  -e POSTGRES_USER=app -e POSTGRES_PASSWORD=secret -e POSTGRES_DB=app \
  "$R2DBC_PG_IMAGE" -c wal_level=replica -c max_wal_senders=10 >/dev/null
wait_log "$tag-pg0" 'database system is ready to accept connections' 2 60
echo "primary ready in $(ms "$t") ms (port $(port_of "$tag-pg0") on 127.0.0.1)"

t=$(now)
podman run -d --name "$tag-pg1" --network "$net" --network-alias pg-1 -p 127.0.0.1::5432 \
  -e POSTGRES_USER=app -e POSTGRES_PASSWORD=secret -e REPLICATE_FROM=pg-0:5432 \
  "$R2DBC_PG_IMAGE" >/dev/null
wait_log "$tag-pg1" 'ready to accept read-only connections' 1 60
echo "replica ready in $(ms "$t") ms (port $(port_of "$tag-pg1") on 127.0.0.1)"

for c in pg0 pg1; do   # published ports answer on loopback
  p="$(port_of "$tag-$c")"
  timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$p" || { echo "smoke: 127.0.0.1:$p ($c) refused" >&2; exit 1; }
done

sql "$tag-pg0" "CREATE TABLE smoke(id int PRIMARY KEY, v text); INSERT INTO smoke VALUES (1, 'from primary')"
[ "$(sql "$tag-pg0" 'SELECT pg_is_in_recovery()')" = f ] || { echo "smoke: primary in recovery" >&2; exit 1; }
[ "$(sql "$tag-pg1" 'SELECT pg_is_in_recovery()')" = t ] || { echo "smoke: replica not in recovery" >&2; exit 1; }
v=""
for _ in $(seq 1 50); do
  v="$(sql "$tag-pg1" 'SELECT v FROM smoke WHERE id = 1' 2>/dev/null || true)"
  [ -n "$v" ] && break; sleep 0.1
done
[ "$v" = 'from primary' ] || { echo "smoke: row did not reach the replica" >&2; exit 1; }
if sql "$tag-pg1" "INSERT INTO smoke VALUES (2, 'x')" >/dev/null 2>&1; then
  echo "smoke: replica accepted a write" >&2; exit 1
fi
echo "replication: $(sql "$tag-pg0" 'SELECT application_name, state FROM pg_stat_replication' | tr '\n' ' ')"
echo "smoke OK: row replicated, replica in recovery and read-only"
