# shellcheck shell=bash
# Docker for the container test (tests/Switchboard.Tests/Deployment), on a machine that reaches
# no image registry. Meant to be sourced (by test.sh), not run:
#
#   source scripts/services.sh     # first: _sb_apt_install, and the packages the images copy
#   source scripts/containers.sh
#   ensure_docker                  # apt-get install docker.io docker-compose debootstrap if missing
#   dir=$(mktemp -d /tmp/sb-docker.XXXXXX)
#   trap 'stop_dockerd; rm -rf "$dir"' EXIT
#   start_dockerd "$dir"           # a dockerd of our own; exports DOCKER_HOST
#   make_base_images               # the Dockerfile's FROM images, made offline
#   make_service_images            # compose.yaml's postgres, redis, prometheus, alertmanager images
#   ...
#   stop_dockerd                   # idempotent; puts iptables back as it was
#
# The dockerd started here is private to the run: its socket, data root, exec root and pid file
# are under DIR, so it neither uses nor leaves anything in /var/lib/docker, and it runs beside a
# system dockerd if there is one. It adds no iptables rules (--iptables=false: the test uses
# host networking and the build --network host, so no NAT is needed); the ruleset is still
# recorded before and put back after, in case a dockerd changes it anyway (by default it adds
# its chains and sets the FORWARD policy to DROP).
#
# The base images are the names the Dockerfile's FROM uses by default
# (mcr.microsoft.com/dotnet/aspnet:10.0 and mcr.microsoft.com/dotnet/sdk:10.0), made here from a
# `debootstrap --variant=minbase bookworm` tree (from the Debian mirror apt already uses) with
# this machine's /usr/share/dotnet copied in. The classic builder (DOCKER_BUILDKIT=0) finds them
# locally and never pulls. The SDK image also carries this machine's CA bundle, so the build's
# `dotnet restore` trusts the same NuGet source the host does; it is made here, never committed
# or pushed. The debootstrap tree is cached as a tarball in SB_CONTAINER_CACHE (default
# /var/cache/switchboard-containers, outside the repository), so a second run skips the ~80 s.

SB_DOCKER_TIMEOUT=${SB_DOCKER_TIMEOUT:-60}
SB_CONTAINER_CACHE=${SB_CONTAINER_CACHE:-/var/cache/switchboard-containers}
SB_SDK_IMAGE=${SB_SDK_IMAGE:-mcr.microsoft.com/dotnet/sdk:10.0}
SB_RUNTIME_IMAGE=${SB_RUNTIME_IMAGE:-mcr.microsoft.com/dotnet/aspnet:10.0}

_sb_docker_say() { echo "containers: $*" >&2; }

ensure_docker() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1 || missing+=(docker.io)
  command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
  command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  # Debian's docker.io may start the system dockerd where an init system lets it; we never use it.
  _sb_apt_install "${missing[@]}" || return 1
  if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker-compose >/dev/null 2>&1 \
      || ! command -v debootstrap >/dev/null 2>&1; then
    _sb_docker_say "dockerd, docker-compose or debootstrap is still missing after apt-get install"
    return 1
  fi
}

# iptables-save of both families, or nothing when the tools are missing.
_sb_iptables_state() {
  { iptables-save 2>/dev/null | grep -v '^#'; echo '--- v6'; ip6tables-save 2>/dev/null | grep -v '^#'; } || true
}

# start_dockerd DIR: dockerd as root with everything under DIR (a short path: the socket's must
# stay under 108 bytes). Exports DOCKER_HOST for docker and docker-compose.
start_dockerd() {
  local dir
  dir=$(cd "$1" && pwd) || return 1
  if [ "$(id -u)" -ne 0 ]; then
    _sb_docker_say "dockerd needs root"
    return 1
  fi
  mkdir -p "$dir/data" "$dir/exec" || return 1
  _sb_dockerd_dir=$dir
  _sb_iptables_before=$(_sb_iptables_state)
  dockerd --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
    --host "unix://$dir/docker.sock" --iptables=false --ip6tables=false \
    > "$dir/dockerd.log" 2>&1 &
  _sb_dockerd_pid=$!
  export DOCKER_HOST="unix://$dir/docker.sock"
  local waited=0
  while [ "$waited" -lt "$((SB_DOCKER_TIMEOUT * 2))" ]; do
    if docker version >/dev/null 2>&1; then
      _sb_docker_say "dockerd $(docker version --format '{{.Server.Version}}') at $DOCKER_HOST"
      return 0
    fi
    if ! kill -0 "$_sb_dockerd_pid" 2>/dev/null; then
      break
    fi
    sleep 0.5
    waited=$((waited + 1))
  done
  _sb_docker_say "dockerd did not start; tail of $dir/dockerd.log:"
  tail -n 20 "$dir/dockerd.log" >&2
  stop_dockerd
  return 1
}

# Stops the dockerd start_dockerd started (its containers first), and puts the iptables
# ruleset back if it changed. Idempotent.
stop_dockerd() {
  [ -n "${_sb_dockerd_pid:-}" ] || return 0
  local ids
  ids=$(docker ps -aq 2>/dev/null || true)
  # shellcheck disable=SC2086
  [ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
  kill "$_sb_dockerd_pid" 2>/dev/null || true
  local _
  for _ in $(seq 1 150); do
    kill -0 "$_sb_dockerd_pid" 2>/dev/null || break
    sleep 0.2
  done
  kill -9 "$_sb_dockerd_pid" 2>/dev/null || true
  wait "$_sb_dockerd_pid" 2>/dev/null || true
  # The managed containerd normally exits with dockerd; its pid file says otherwise.
  local cpid
  cpid=$(cat "$_sb_dockerd_dir/exec/containerd/containerd.pid" 2>/dev/null || true)
  if [ -n "$cpid" ] && kill -0 "$cpid" 2>/dev/null; then
    kill "$cpid" 2>/dev/null || true
  fi
  # Mounts left under the data root (overlay layers, the exec root's netns) would keep rm -rf
  # from removing the folder.
  local m
  for m in $(grep -o " $_sb_dockerd_dir/[^ ]*" /proc/mounts 2>/dev/null | sort -r || true); do
    umount -l "$m" 2>/dev/null || true
  done
  if [ "$(_sb_iptables_state)" != "$_sb_iptables_before" ]; then
    _sb_docker_say "dockerd changed the iptables rules; restoring them"
    printf '%s\n' "$_sb_iptables_before" | sed '/^--- v6$/,$d' | iptables-restore 2>/dev/null || true
    printf '%s\n' "$_sb_iptables_before" | sed '1,/^--- v6$/d' | ip6tables-restore 2>/dev/null || true
  fi
  _sb_dockerd_pid=
  unset DOCKER_HOST
}

# The first Debian mirror of apt's sources (deb822 .sources or one-line .list), e.g.
# http://deb.debian.org/debian: debootstrap fetches from where apt already does.
_sb_debian_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(grep -hoE '(URIs:|^deb)[[:space:]]+(\[[^]]*\][[:space:]]+)?[a-z]+://[^[:space:]]+' "$f" \
      | grep -oE '[a-z]+://[^[:space:]]+' | grep -vE 'security|updates' \
      | grep -E '/debian/?$' | head -n 1)
    if [ -n "$uri" ]; then
      echo "${uri%/}"
      return 0
    fi
  done
  return 1
}

# What .NET needs on top of minbase: ICU, OpenSSL, CA certificates, zlib, time zones, and GSSAPI
# (Npgsql loads it at its first connection and says so on stderr when it is missing).
_SB_BASE_PACKAGES=ca-certificates,libicu72,libssl3,zlib1g,tzdata,libgssapi-krb5-2

# A tarball of a minbase bookworm with _SB_BASE_PACKAGES, made once and kept in
# SB_CONTAINER_CACHE (named after the package list, so a changed list makes a new one). Prints
# its path.
_sb_base_tarball() {
  local tarball
  tarball="$SB_CONTAINER_CACHE/bookworm-minbase-$(printf '%s' "$_SB_BASE_PACKAGES" | md5sum | cut -c1-8).tar"
  if [ -s "$tarball" ]; then
    echo "$tarball"
    return 0
  fi
  local mirror
  mirror=$(_sb_debian_mirror) || { _sb_docker_say "no Debian mirror in /etc/apt/sources.list(.d)"; return 1; }
  mkdir -p "$SB_CONTAINER_CACHE" || return 1
  local root
  root=$(mktemp -d "$SB_CONTAINER_CACHE/root.XXXXXX") || return 1
  _sb_docker_say "debootstrap --variant=minbase bookworm from $mirror (about 80 s)"
  if ! debootstrap --variant=minbase \
      --include="$_SB_BASE_PACKAGES" \
      bookworm "$root" "$mirror" > "$SB_CONTAINER_CACHE/debootstrap.log" 2>&1; then
    _sb_docker_say "debootstrap failed; tail of $SB_CONTAINER_CACHE/debootstrap.log:"
    tail -n 20 "$SB_CONTAINER_CACHE/debootstrap.log" >&2
    rm -rf "$root"
    return 1
  fi
  # The apt lists and downloaded packages are not needed in an image.
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -cf "$tarball.tmp" . && mv "$tarball.tmp" "$tarball" || { rm -rf "$root"; return 1; }
  rm -rf "$root"
  echo "$tarball"
}

# make_base_images: the runtime image (bookworm + this machine's .NET runtimes) and the SDK
# image (the same + the SDK and this machine's CA bundle), tagged as SB_RUNTIME_IMAGE and
# SB_SDK_IMAGE. Needs start_dockerd first.
make_base_images() {
  local tarball
  tarball=$(_sb_base_tarball) || return 1
  local dotnet=/usr/share/dotnet
  if [ ! -x "$dotnet/dotnet" ]; then
    _sb_docker_say "no .NET at $dotnet"
    return 1
  fi
  local work
  work=$(mktemp -d /tmp/sb-images.XXXXXX) || return 1
  # One root tree: the base, plus the runtimes (imported as the runtime image), plus the SDK and
  # the CA bundle (imported as the SDK image). docker import refuses a tar stream with a path
  # twice, so the tree is assembled on disk rather than by appending tarballs.
  local root="$work/root" ok=1
  {
    mkdir -p "$root/usr/share/dotnet" &&
      tar -C "$root" -xf "$tarball" &&
      (cd "$dotnet" && tar -cf - --exclude=./sdk --exclude=./packs --exclude=./sdk-manifests \
        --exclude=./templates .) | tar -C "$root/usr/share/dotnet" -xf - &&
      ln -sf ../share/dotnet/dotnet "$root/usr/bin/dotnet" &&
      tar -C "$root" -cf - . | docker import -c 'ENV DOTNET_ROOT=/usr/share/dotnet' \
        -c 'ENV DOTNET_CLI_TELEMETRY_OPTOUT=1' - "$SB_RUNTIME_IMAGE" >/dev/null &&
      (cd "$dotnet" && tar -cf - ./sdk ./packs ./sdk-manifests ./templates) \
        | tar -C "$root/usr/share/dotnet" -xf - &&
      cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt" &&
      tar -C "$root" -cf - . | docker import -c 'ENV DOTNET_ROOT=/usr/share/dotnet' \
        -c 'ENV DOTNET_CLI_TELEMETRY_OPTOUT=1' -c 'ENV DOTNET_NOLOGO=1' - "$SB_SDK_IMAGE" >/dev/null
  } || ok=0
  rm -rf "$work"
  if [ "$ok" -ne 1 ]; then
    _sb_docker_say "making the base images failed"
    return 1
  fi
  _sb_docker_say "base images $SB_RUNTIME_IMAGE and $SB_SDK_IMAGE made from $tarball"
}

# make_service_images: stand-ins for the official images deploy/compose.yaml names by default
# (postgres:15, redis:7, prom/prometheus:v2.42.0, prom/alertmanager:v0.25.0), none of which
# can be pulled here: the bookworm base with this machine's own PostgreSQL 15, redis-server,
# prometheus and alertmanager copied in (the packages scripts/services.sh installs), each
# binary with the shared libraries ldd names (an apt-get install in a build would take
# PostgreSQL's LLVM along and cost a minute and a half). Each image keeps its official image's
# contract as far as the compose file uses it: the command line, the data folder, and for
# PostgreSQL the POSTGRES_USER, POSTGRES_PASSWORD and POSTGRES_DB variables of a first start.
# Grafana gets none (no Debian package): its service is only checked by `docker-compose config`.
# Needs start_dockerd first.
make_service_images() {
  local tarball
  tarball=$(_sb_base_tarball) || return 1
  local pg=/usr/lib/postgresql/15 redis prometheus alertmanager
  redis=$(command -v redis-server) && prometheus=$(command -v prometheus) \
    && alertmanager=$(command -v prometheus-alertmanager) && [ -x "$pg/bin/postgres" ] \
    || { _sb_docker_say "PostgreSQL 15, redis-server, prometheus and alertmanager must be installed (ensure_packages, ensure_monitoring_packages)"; return 1; }
  local work
  work=$(mktemp -d /tmp/sb-service-images.XXXXXX) || return 1
  local root="$work/root" ok=1
  {
    docker import "$tarball" switchboard-local/bookworm:base >/dev/null &&
      mkdir -p "$root/usr/local/bin" "$root/usr/share/postgresql" "$root/usr/lib/postgresql" &&
      cp -a "$pg" "$root/usr/lib/postgresql/" && rm -f "$root$pg"/lib/llvmjit* &&
      cp -a /usr/share/postgresql/15 "$root/usr/share/postgresql/" &&
      cp -L "$redis" "$prometheus" "$root/usr/local/bin/" && cp -L "$alertmanager" "$root/usr/local/bin/alertmanager" &&
      _sb_copy_libraries "$root" "$root$pg"/bin/* "$root$pg"/lib/*.so "$redis" &&
      _sb_postgres_entrypoint > "$root/usr/local/bin/postgres-entrypoint.sh" &&
      chmod 755 "$root/usr/local/bin/postgres-entrypoint.sh" &&
      cat > "$work/Dockerfile" <<'EOF' &&
FROM switchboard-local/bookworm:base
COPY root/ /
RUN groupadd --system postgres && useradd --system --gid postgres --home-dir /var/lib/postgresql postgres \
 && groupadd --system redis && useradd --system --gid redis --home-dir /data redis \
 && mkdir -p /prometheus /alertmanager /data /var/lib/postgresql/data \
 && chown nobody:nogroup /prometheus /alertmanager && chown redis:redis /data \
 && chown -R postgres:postgres /var/lib/postgresql
EOF
      _sb_docker_build -t switchboard-local/services "$work" &&
      _sb_service_image postgres:15 'FROM switchboard-local/services
ENV PATH=/usr/lib/postgresql/15/bin:$PATH PGDATA=/var/lib/postgresql/data
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
CMD ["postgres"]' &&
      _sb_service_image redis:7 'FROM switchboard-local/services
USER redis
WORKDIR /data
CMD ["redis-server"]' &&
      _sb_service_image prom/prometheus:v2.42.0 'FROM switchboard-local/services
USER nobody
WORKDIR /prometheus
ENTRYPOINT ["/usr/local/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]' &&
      _sb_service_image prom/alertmanager:v0.25.0 'FROM switchboard-local/services
USER nobody
WORKDIR /alertmanager
ENTRYPOINT ["/usr/local/bin/alertmanager"]
CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]'
  } || ok=0
  rm -rf "$work"
  if [ "$ok" -ne 1 ]; then
    _sb_docker_say "making the service images failed"
    return 1
  fi
  _sb_docker_say "service images postgres:15, redis:7, prom/prometheus:v2.42.0, prom/alertmanager:v0.25.0 made"
}

# _sb_copy_libraries ROOT FILE…: copies the shared libraries the ELF files among FILE… load
# (ldd) into ROOT at their real paths (/lib is a link to /usr/lib on bookworm: a copy under
# ROOT/lib would replace that link in the image; the binaries go to /usr/local/bin for the
# same reason).
_sb_copy_libraries() {
  local root=$1 lib real
  shift
  for lib in $(ldd "$@" 2>/dev/null | grep -E '^[[:space:]]' | grep -oE '/[^ ]+\.so[^ ]*' | sort -u); do
    real="$(readlink -f "$(dirname "$lib")")/$(basename "$lib")"
    mkdir -p "$root$(dirname "$real")" && cp -L "$lib" "$root$real" || return 1
  done
}

# _sb_docker_build ARGS…: docker build with the classic builder (it never pulls an image that
# is present), quiet unless it fails.
_sb_docker_build() {
  local log
  log=$(mktemp) || return 1
  if ! DOCKER_BUILDKIT=0 docker build -q --force-rm "$@" > "$log" 2>&1; then
    _sb_docker_say "docker build $* failed:"
    tail -n 30 "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

# _sb_service_image TAG DOCKERFILE: a one-layer image of metadata on top of the services image.
_sb_service_image() {
  printf '%s\n' "$2" | _sb_docker_build -t "$1" -
}

# The official postgres image's first start, as far as deploy/compose.yaml relies on it: a
# cluster in PGDATA owned by postgres, POSTGRES_USER as its superuser with POSTGRES_PASSWORD
# (scram-sha-256 over TCP from anywhere, trust on the socket), POSTGRES_DB created, listening on
# every interface unless the command line says otherwise; then the command as postgres.
_sb_postgres_entrypoint() {
  cat <<'EOF'
#!/bin/sh
set -eu
if [ "${1:-}" = postgres ] && [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown -R postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=$(mktemp)
    printf '%s\n' "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is not set}" > "$pwfile"
    chown postgres "$pwfile"
    runuser -u postgres -- initdb -D "$PGDATA" -U "${POSTGRES_USER:-postgres}" --pwfile="$pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    db=${POSTGRES_DB:-${POSTGRES_USER:-postgres}}
    if [ "$db" != postgres ]; then
      echo "CREATE DATABASE \"$db\"" | runuser -u postgres -- postgres --single -D "$PGDATA" postgres >/dev/null
    fi
  fi
  exec runuser -u postgres -- "$@"
fi
exec "$@"
EOF
}
