#!/usr/bin/env bash
# Container engine for the Testcontainers suite: podman serving the Docker API,
# plus a locally built PostgreSQL 15 image (no registry can be reached here).
#
#   bash .ci/containers/setup.sh          # install/start/build as needed, print env
#   bash .ci/containers/setup.sh stop     # stop the podman API service started here
#   bash .ci/containers/setup.sh cleanup  # remove ALL Testcontainers-labelled containers,
#                                         # networks and volumes (CI only: with Ryuk
#                                         # disabled, a crashed JVM leaves them behind)
#
# Run as root on Debian bookworm. Idempotent: a second run takes a few seconds.
# On success it writes $STATE_DIR/env.sh (source it before `mvn`) and prints it.
# Exit codes (a CI script maps 3 and 4 to "container suite SKIPPED", never "passed"):
#   0  engine answers and the image exists
#   3  no usable container engine (packages could not be installed, service did not answer)
#   4  engine is up but the image could not be built
#   1  anything else (usage, bug in this script)
set -Eeuo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE_DIR="${R2DBC_PODMAN_STATE_DIR:-/run/r2dbc-routing-podman}"
CACHE_DIR="${R2DBC_PODMAN_CACHE_DIR:-/var/cache/r2dbc-routing}"
SOCK="$STATE_DIR/podman.sock"
CONF="$STATE_DIR/containers.conf"
ENV_FILE="$STATE_DIR/env.sh"
PID_FILE="$STATE_DIR/podman-service.pid"
SERVICE_LOG="$STATE_DIR/podman-service.log"
IMAGE="${R2DBC_PG_IMAGE:-localhost/r2dbc-routing/postgres:15}"
BASE_IMAGE="localhost/r2dbc-routing/postgres-rootfs:15"
ROOTFS_TAR="$CACHE_DIR/rootfs-bookworm-postgresql-15.tar"
SUITE=bookworm
PACKAGES=(podman runc conmon netavark aardvark-dns iptables debootstrap curl ca-certificates)

EXIT_NO_ENGINE=3
EXIT_NO_IMAGE=4

T0=$(date +%s)
say()  { printf '[containers-setup +%ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }
loud() {
  local code="$1"; shift
  {
    echo
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    echo "!!! r2dbc-routing container setup FAILED (exit $code): $*"
    echo "!!! The Testcontainers suite cannot run: report it as SKIPPED, not passed."
    echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
  } >&2
  exit "$code"
}
trap 'loud 1 "unexpected error at line $LINENO: $BASH_COMMAND"' ERR

[ "$(id -u)" -eq 0 ] || loud "$EXIT_NO_ENGINE" "must run as root"

ping_engine() { curl -fsS --max-time 3 --unix-socket "$SOCK" http://d/_ping 2>/dev/null | grep -qx OK; }

stop_service() {
  if [ -s "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; then
    kill "$(cat "$PID_FILE")" && say "stopped podman API service (pid $(cat "$PID_FILE"))"
  fi
  rm -f "$PID_FILE" "$SOCK"
}

case "${1:-up}" in
  up) ;;
  stop) stop_service; exit 0 ;;
  cleanup)
    export CONTAINERS_CONF="$CONF"
    ids="$(podman ps -aq --filter label=org.testcontainers=true)"
    [ -z "$ids" ] || podman rm -f -t 0 -v $ids >/dev/null
    nets="$(podman network ls -q --filter label=org.testcontainers=true)"
    [ -z "$nets" ] || podman network rm -f $nets >/dev/null
    podman volume prune -f --filter label=org.testcontainers=true >/dev/null 2>&1 || true
    say "removed $(echo $ids | wc -w) container(s), $(echo $nets | wc -w) network(s) labelled org.testcontainers=true"
    exit 0 ;;
  *) echo "usage: $0 [up|stop|cleanup]" >&2; exit 1 ;;
esac

mkdir -p "$STATE_DIR" "$CACHE_DIR"

# ------------------------------------------------------------------ packages
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } \
    || loud "$EXIT_NO_ENGINE" "apt-get install ${missing[*]} failed"
  say "packages installed"
fi

# ------------------------------------------------------------- containers.conf
# crun fails on this kernel's cgroup (v1) setup -> runc. default_ulimits=[] because
# the packaged default (nofile=1048576) exceeds the sandbox's hard limit.
cat > "$CONF.tmp" <<'EOF'
# written by .ci/containers/setup.sh
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
network_backend = "netavark"
EOF
mv "$CONF.tmp" "$CONF"
export CONTAINERS_CONF="$CONF"

# ------------------------------------------------------------ API service
if ping_engine; then
  say "podman API already answers on $SOCK"
else
  stop_service
  say "starting podman system service on unix://$SOCK"
  # setsid + nohup: survives this shell; --time=0: never exits on idle.
  setsid nohup env CONTAINERS_CONF="$CONF" \
    podman system service --time=0 "unix://$SOCK" >"$SERVICE_LOG" 2>&1 < /dev/null &
  echo $! > "$PID_FILE"
  for _ in $(seq 1 150); do   # up to ~30 s; stop early if the service died
    ping_engine && break
    kill -0 "$(cat "$PID_FILE")" 2>/dev/null || break
    sleep 0.2
  done
  ping_engine || { tail -n 20 "$SERVICE_LOG" >&2 || true
                   loud "$EXIT_NO_ENGINE" "podman API did not answer on $SOCK (log: $SERVICE_LOG)"; }
  say "podman API answers (pid $(cat "$PID_FILE"))"
fi

# ---------------------------------------------------------------- image
# The image is labelled with a hash of image/: editing the entrypoint rebuilds it
# (cheaply, from the cached rootfs), an unchanged tree keeps it.
image_hash="$(cd "$HERE/image" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)"
have_hash=""
if podman image exists "$IMAGE"; then
  have_hash="$(podman image inspect --format '{{ index .Labels "r2dbc-routing.image-hash" }}' "$IMAGE" 2>/dev/null || true)"
fi

debian_mirror() {
  # The machine's own configured Debian mirror (deb822 .sources or one-line lists).
  [ -n "${R2DBC_DEBIAN_MIRROR:-}" ] && { echo "$R2DBC_DEBIAN_MIRROR"; return; }
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    awk -v s="$SUITE" 'BEGIN{RS=""; FS="\n"}
      { uri=""; ok=0; main=0
        for (i=1;i<=NF;i++) {
          if ($i ~ /^URIs:/)       { sub(/^URIs:[ \t]*/,"",$i); split($i,u,/[ \t]+/); uri=u[1] }
          if ($i ~ /^Suites:/)     { if ((" " $i " ") ~ (" " s " ")) ok=1 }
          if ($i ~ /^Components:/) { if ($i ~ /[ \t]main([ \t]|$)/) main=1 }
          if ($i ~ /^Enabled:[ \t]*no/) ok=0 }
        if (ok && main && uri != "" && uri !~ /security/) { print uri; exit } }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -e "$f" ] || continue
    awk -v s="$SUITE" '$1=="deb" && $0 ~ (" " s " ") && $0 ~ / main/ && $0 !~ /security/ {
        for (i=2;i<=NF;i++) if ($i !~ /^\[/ && $i !~ /\]$/) { print $i; exit } }' "$f"
  done
}

if [ -n "$have_hash" ] && [ "$have_hash" = "$image_hash" ]; then
  say "image $IMAGE present (hash $image_hash)"
else
  if ! podman image exists "$BASE_IMAGE"; then
    if [ ! -s "$ROOTFS_TAR" ]; then
      mirror="$(debian_mirror | head -n1)"
      [ -n "$mirror" ] || loud "$EXIT_NO_IMAGE" "no Debian $SUITE mirror found in /etc/apt"
      rootfs="$CACHE_DIR/rootfs.build"
      rm -rf "$rootfs"
      say "debootstrap minbase $SUITE + postgresql-15 from $mirror (one-off, cached in $ROOTFS_TAR)"
      debootstrap --variant=minbase --include=postgresql-15 "$SUITE" "$rootfs" "$mirror" \
          > "$CACHE_DIR/debootstrap.log" 2>&1 \
        || { tail -n 20 "$CACHE_DIR/debootstrap.log" >&2; loud "$EXIT_NO_IMAGE" "debootstrap failed (log: $CACHE_DIR/debootstrap.log)"; }
      # Drop the cluster the package's postinst created, caches, docs, locale
      # sources, and the LLVM JIT provider (~150 MB; the entrypoint sets jit=off, and
      # PostgreSQL treats a missing llvmjit.so as "JIT unavailable").
      rm -rf "$rootfs"/var/lib/postgresql/15 "$rootfs"/etc/postgresql/15 \
             "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
             "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
             "$rootfs"/usr/share/i18n "$rootfs"/usr/share/locale/* \
             "$rootfs"/usr/lib/postgresql/15/lib/llvmjit* "$rootfs"/usr/lib/postgresql/15/lib/bitcode \
             "$rootfs"/usr/lib/x86_64-linux-gnu/libLLVM-* "$rootfs"/usr/lib/x86_64-linux-gnu/libz3.so*
      install -d -o 0 -g 0 -m 755 "$rootfs"/var/lib/postgresql
      chroot "$rootfs" chown postgres:postgres /var/lib/postgresql
      tar --numeric-owner --xattrs -C "$rootfs" -cf "$ROOTFS_TAR.tmp" .
      mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
      rm -rf "$rootfs"
      say "rootfs cached: $(du -h "$ROOTFS_TAR" | cut -f1)"
    fi
    say "podman import $ROOTFS_TAR -> $BASE_IMAGE"
    podman import -q "$ROOTFS_TAR" "$BASE_IMAGE" >/dev/null \
      || loud "$EXIT_NO_IMAGE" "podman import failed"
  fi
  say "building $IMAGE (hash $image_hash)"
  podman build -q --pull=never --layers=false --build-arg BASE="$BASE_IMAGE" \
      --label "r2dbc-routing.image-hash=$image_hash" \
      -t "$IMAGE" -f "$HERE/image/Containerfile" "$HERE/image" >/dev/null \
    || loud "$EXIT_NO_IMAGE" "podman build of $IMAGE failed"
  podman image prune -f >/dev/null 2>&1 || true   # the replaced (dangling) build, if any
  say "image built"
fi

# ---------------------------------------------------------------- verify + env
ping_engine || loud "$EXIT_NO_ENGINE" "podman API stopped answering on $SOCK"
api_version="$(curl -fsS --unix-socket "$SOCK" http://d/version | sed -n 's/.*"ApiVersion":"\([^"]*\)".*/\1/p')"

cat > "$ENV_FILE" <<EOF
# generated by .ci/containers/setup.sh -- source before running the container suite
export CONTAINERS_CONF='$CONF'
export DOCKER_HOST='unix://$SOCK'
export TESTCONTAINERS_RYUK_DISABLED=true
export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
export R2DBC_PG_IMAGE='$IMAGE'
export R2DBC_ROUTING_TESTKIT_IMAGE='$IMAGE'
EOF
say "engine OK (Docker API $api_version), image $IMAGE"
echo "# env written to $ENV_FILE -- use: . $ENV_FILE"
cat "$ENV_FILE"
