# shellcheck shell=bash
# Throwaway PostgreSQL and Redis servers on 127.0.0.1 for the tests and the benchmarks.
# Meant to be sourced (by test.sh, bench scripts), not run:
#
#   source scripts/services.sh
#   ensure_packages                     # apt-get install redis-server / postgresql / python3 if missing
#   ensure_monitoring_packages          # apt-get install prometheus / prometheus-alertmanager
#   ensure_chromium                     # apt-get install chromium (the admin panel's browser tests)
#   ensure_tour_tools                   # apt-get install curl / jq (the README tour's test)
#   ensure_node                         # apt-get install nodejs / npm when npm is missing (OpenAPI tools)
#   dir=$(mktemp -d /tmp/sb-svc.XXXXXX)
#   trap 'stop_services; rm -rf "$dir"' EXIT
#   start_postgres "$dir" -c fsync=off  # exports PG_PORT, PG_URI (Npgsql connection string)
#   start_redis "$dir"                  # exports REDIS_PORT, REDIS_URI (host:port)
#   ...
#   stop_services                       # idempotent; safe when a server never started
#
# PostgreSQL refuses to run as root, so as root its cluster is made and run as the `postgres`
# user (DIR must then be reachable by that user: a folder under /tmp is, one under /root is not).
# The server binaries are Debian's, /usr/lib/postgresql/<highest version>/bin, never whatever
# pg_ctl is first on PATH. Each start function waits at most SB_SERVICE_TIMEOUT (30) seconds and
# on failure prints the tail of the server's log and returns non-zero.

SB_SERVICE_TIMEOUT=${SB_SERVICE_TIMEOUT:-30}

_sb_say() { echo "services: $*" >&2; }

# The bin folder of the highest PostgreSQL version Debian installed, or nothing.
_sb_pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ] && [ -x "$d/postgres" ]; then
    echo "$d"
  fi
}

# Runs a command as the postgres user when we are root (postgres will not run as root), else as
# ourselves; from / so that an unreadable current directory (/root/...) does not matter.
_sb_as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

# apt-get install PACKAGES… as root (one apt-get update per shell), or say what to install and
# fail when not root.
_sb_apt_install() {
  if [ "$(id -u)" -ne 0 ]; then
    _sb_say "missing $* and not root: install them (apt-get install $*)"
    return 1
  fi
  _sb_say "installing $* with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "${_sb_apt_updated:-}" ]; then
    apt-get update -q || return 1
    _sb_apt_updated=1
  fi
  apt-get install -y -q --no-install-recommends "$@"
}

ensure_packages() {
  local missing=()
  command -v redis-server >/dev/null 2>&1 && command -v redis-cli >/dev/null 2>&1 \
    || missing+=(redis-server)
  [ -n "$(_sb_pg_bin)" ] || missing+=(postgresql)
  # scripts/folder-graph (Architecture/FolderGraphTests) and the failed-tests summary are Python.
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  # The postgresql package may create and start a default cluster on 5432; we never use it.
  _sb_apt_install "${missing[@]}" || return 1
  if ! command -v redis-server >/dev/null 2>&1 || [ -z "$(_sb_pg_bin)" ]; then
    _sb_say "redis-server or the PostgreSQL server binaries are still missing after apt-get install"
    return 1
  fi
}

# Prometheus, promtool, Alertmanager and amtool from Debian (2.42 and 0.25 on Debian 12), for
# the checks of deploy/ and the test that scrapes a running server. The packages may start their
# own services on :9090 and :9093 where an init system lets them; the tests never use those.
ensure_monitoring_packages() {
  local missing=()
  command -v prometheus >/dev/null 2>&1 && command -v promtool >/dev/null 2>&1 \
    || missing+=(prometheus)
  command -v amtool >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  _sb_apt_install "${missing[@]}" || return 1
  if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1 \
      || ! command -v amtool >/dev/null 2>&1; then
    _sb_say "prometheus, promtool or amtool is still missing after apt-get install"
    return 1
  fi
}

# Debian's chromium at /usr/bin/chromium, which the admin panel's Playwright tests drive
# (Playwright never downloads a browser here).
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  _sb_apt_install chromium || return 1
  if [ ! -x /usr/bin/chromium ]; then
    _sb_say "/usr/bin/chromium is still missing after apt-get install"
    return 1
  fi
}

# Node.js and npm from Debian when npm is missing: the OpenAPI tools of tests/openapi-client.
ensure_node() {
  command -v npm >/dev/null 2>&1 && return 0
  _sb_apt_install nodejs npm || return 1
  command -v npm >/dev/null 2>&1 || { _sb_say "npm is still missing after apt-get install"; return 1; }
}

# curl and jq from Debian: the README's tour uses them, and its test runs the tour as written.
ensure_tour_tools() {
  local missing=()
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  command -v jq >/dev/null 2>&1 || missing+=(jq)
  if [ "${#missing[@]}" -eq 0 ]; then
    return 0
  fi
  _sb_apt_install "${missing[@]}" || return 1
  if ! command -v curl >/dev/null 2>&1 || ! command -v jq >/dev/null 2>&1; then
    _sb_say "curl or jq is still missing after apt-get install"
    return 1
  fi
}

# Whether something accepts connections on 127.0.0.1:PORT.
_sb_port_busy() {
  if command -v ss >/dev/null 2>&1; then
    [ -n "$(ss -Htan "sport = :$1" 2>/dev/null)" ] && return 0
  fi
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints a TCP port that nothing on this machine uses (random, so that runs side by side rarely
# pick the same one).
free_port() {
  local port _
  for _ in $(seq 1 200); do
    port=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    if ! _sb_port_busy "$port"; then
      echo "$port"
      return 0
    fi
  done
  _sb_say "no free port found"
  return 1
}

# start_postgres DIR [postgres options…], e.g. start_postgres "$dir" -c fsync=off
# A fresh cluster in DIR/pg, socket in DIR/pgsock, log DIR/pg.log. Exports PG_PORT and PG_URI.
start_postgres() {
  local dir=$1
  shift
  local bin
  bin=$(_sb_pg_bin)
  if [ -z "$bin" ]; then
    _sb_say "no PostgreSQL under /usr/lib/postgresql/*/bin (run ensure_packages)"
    return 1
  fi
  dir=$(cd "$dir" && pwd) || return 1
  mkdir -p "$dir/pg" "$dir/pgsock" || return 1
  : > "$dir/pg.log"
  chmod 755 "$dir"
  chmod 700 "$dir/pg"
  if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$dir/pg" "$dir/pgsock" "$dir/pg.log" || return 1
    if ! runuser -u postgres -- test -w "$dir/pg"; then
      _sb_say "user postgres cannot reach $dir (put it under /tmp)"
      return 1
    fi
  fi
  _sb_pg_dir=$dir
  _sb_pg_binpath=$bin
  if ! _sb_as_pg "$bin/initdb" -D "$dir/pg" -U postgres --auth=trust -E UTF8 --no-sync \
      > "$dir/initdb.log" 2>&1; then
    _sb_say "initdb failed:"
    tail -n 20 "$dir/initdb.log" >&2
    return 1
  fi
  local port
  port=$(free_port) || return 1
  local opts="-p $port -k '$dir/pgsock' -c listen_addresses=127.0.0.1 -c max_connections=400"
  if [ "$#" -gt 0 ]; then
    opts="$opts $*"
  fi
  local ok=0
  if _sb_as_pg "$bin/pg_ctl" -D "$dir/pg" -l "$dir/pg.log" -w -t "$SB_SERVICE_TIMEOUT" \
      -o "$opts" start > "$dir/pg_ctl.log" 2>&1; then
    local waited=0
    while [ "$waited" -lt "$SB_SERVICE_TIMEOUT" ]; do
      if "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres; then
        ok=1
        break
      fi
      sleep 1
      waited=$((waited + 1))
    done
  fi
  if [ "$ok" -ne 1 ]; then
    _sb_say "PostgreSQL did not start on 127.0.0.1:$port; pg_ctl said:"
    tail -n 5 "$dir/pg_ctl.log" >&2
    _sb_say "tail of $dir/pg.log:"
    tail -n 20 "$dir/pg.log" >&2
    _sb_stop_postgres
    return 1
  fi
  export PG_PORT=$port
  export PG_URI="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
  _sb_say "PostgreSQL $(basename "$(dirname "$bin")") on 127.0.0.1:$port"
}

# start_redis DIR: redis-server without persistence, files in DIR. Exports REDIS_PORT, REDIS_URI.
start_redis() {
  local dir=$1
  dir=$(cd "$dir" && pwd) || return 1
  local port
  port=$(free_port) || return 1
  _sb_redis_dir=$dir
  _sb_redis_port=$port
  local ok=0
  if redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" \
      --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
      > "$dir/redis-start.log" 2>&1; then
    local waited=0
    while [ "$waited" -lt "$((SB_SERVICE_TIMEOUT * 4))" ]; do
      if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ]; then
        ok=1
        break
      fi
      sleep 0.25
      waited=$((waited + 1))
    done
  fi
  if [ "$ok" -ne 1 ]; then
    _sb_say "redis-server did not start on 127.0.0.1:$port; tail of its logs:"
    tail -n 20 "$dir/redis-start.log" "$dir/redis.log" >&2 2>/dev/null
    _sb_stop_redis
    return 1
  fi
  export REDIS_PORT=$port
  export REDIS_URI="127.0.0.1:$port"
  _sb_say "redis-server $(redis-server --version | grep -o 'v=[^ ]*' | cut -c3-) on 127.0.0.1:$port"
}

# Whether process PID runs (a zombie does not: a daemon's parent is init, which may reap late).
_sb_alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

# Waits (up to 10 s) until process PID is gone, then kills it for good.
_sb_reap() {
  local pid=$1 _
  for _ in $(seq 1 100); do
    _sb_alive "$pid" || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

_sb_stop_postgres() {
  [ -n "${_sb_pg_dir:-}" ] || return 0
  local pidfile="$_sb_pg_dir/pg/postmaster.pid" pid=""
  if [ -f "$pidfile" ]; then
    pid=$(head -n 1 "$pidfile" 2>/dev/null || true)
    _sb_as_pg "$_sb_pg_binpath/pg_ctl" -D "$_sb_pg_dir/pg" -m immediate -w -t 10 stop \
      > /dev/null 2>&1 || true
    [ -z "$pid" ] || _sb_reap "$pid"
  fi
  _sb_pg_dir=
  unset PG_PORT PG_URI
}

_sb_stop_redis() {
  [ -n "${_sb_redis_dir:-}" ] || return 0
  local pidfile="$_sb_redis_dir/redis.pid" pid=""
  [ -f "$pidfile" ] && pid=$(cat "$pidfile" 2>/dev/null || true)
  redis-cli -h 127.0.0.1 -p "$_sb_redis_port" shutdown nosave > /dev/null 2>&1 || true
  [ -z "$pid" ] || _sb_reap "$pid"
  _sb_redis_dir=
  unset REDIS_PORT REDIS_URI
}

# Stops whatever start_postgres / start_redis started. Idempotent.
stop_services() {
  _sb_stop_redis
  _sb_stop_postgres
}
