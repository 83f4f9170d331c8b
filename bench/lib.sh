# shellcheck shell=bash
# Helpers shared by the bench/run*.sh scripts. run-traces.sh, run-webhooks.sh, run-binary.sh,
# run-cli.sh and run-panel.sh source it first and call bench_start, which defines log, die, LOG
# (the run's log folder), QUIET_MAX, QUIET_WAIT and the cleanup (PIDS, TMPDIRS); run.sh,
# run-deals.sh, run-distributed.sh, run-feed.sh and run-streams.sh define their own before
# sourcing it.

now_ms() { date +%s%3N; }

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit } if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

field() { awk -v k="$2" '$1 == "bench:" && $2 == k { print $3 }' "$1"; }

# Busy and all ticks of the whole machine.
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $6 }' /proc/stat; }

forget_pid() {
  local keep=() p
  for p in "${PIDS[@]:-}"; do [[ -n "$p" && "$p" != "$1" ]] && keep+=("$p"); done
  PIDS=("${keep[@]:-}")
}

# Graceful stop (SIGTERM), SIGKILL after 20 s.
stop_process() {
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 200; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}

busy_percent() {
  local a b
  a=$(machine_ticks)
  sleep 1
  b=$(machine_ticks)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2]; printf "%.0f", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }'
}

# Before a measured batch: wait until the machine is quiet; the worst value seen goes to ROUND_BUSY.
quiet_check() {
  local busy deadline=$(($(date +%s) + QUIET_WAIT))
  busy=$(busy_percent)
  while ((busy > QUIET_MAX && $(date +%s) < deadline)); do
    log "machine busy (${busy}% CPU used by other processes), waiting"
    busy=$(busy_percent)
  done
  ((busy > QUIET_MAX)) && log "WARNING: ${busy}% CPU used by other processes before $1; this round is suspect"
  ((busy > ROUND_BUSY)) && ROUND_BUSY=$busy
  return 0
}

# ---- servers on 127.0.0.1 (run.sh, run-deals.sh; run-distributed.sh takes free_port from
# scripts/services.sh, sourced after this file) -----------------------------------------------
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Our servers listen below the kernel's ephemeral range, where no client socket (wrk's, curl's)
# can already hold the port.
EPHEMERAL_LOW=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
free_port() {
  local port i low=20000 high=$((EPHEMERAL_LOW - 1))
  ((high - low >= 1000)) || low=$((high - 1000))
  for ((i = 0; i < 100; i++)); do
    port=$((low + RANDOM % (high - low + 1)))
    if ! port_in_use "$port"; then echo "$port"; return 0; fi
  done
  die "no free port found"
}

# wait_http PID URL PATTERN: until GET URL answers with a body containing PATTERN (30 s).
# Returns 1 at once if process PID exits first.
wait_http() {
  local i
  for ((i = 0; i < 300; i++)); do
    if curl -fsS --max-time 2 "$2" 2>/dev/null | grep -q -- "$3"; then return 0; fi
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.1
  done
  die "$2 did not answer with '$3' within 30 s"
}

# start_server LOG PATH PATTERN COMMAND...: runs COMMAND --urls http://127.0.0.1:PORT on a free
# port until GET PATH answers with PATTERN; on another port if it exits at start (port taken
# after all). Sets SERVER_PID and SERVER_URL.
start_server() {
  local log=$1 path=$2 pattern=$3 attempt port
  shift 3
  : >"$log"
  for ((attempt = 1; attempt <= 5; attempt++)); do
    port=$(free_port)
    SERVER_URL="http://127.0.0.1:$port"
    "$@" --urls "$SERVER_URL" >>"$log" 2>&1 &
    SERVER_PID=$!
    PIDS+=("$SERVER_PID")
    if wait_http "$SERVER_PID" "$SERVER_URL$path" "$pattern"; then return 0; fi
    wait "$SERVER_PID" 2>/dev/null || true
    forget_pid "$SERVER_PID"
    log "$1 exited at start on port $port (see $log); trying another port"
  done
  die "could not start $1 (see $log)"
}

# ---- tools, build, services --------------------------------------------------------------------
need_apt() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
  done
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]} with apt-get"
  apt-get install -y "${missing[@]}" >"$LOG/apt.log" 2>&1 \
    || { apt-get update >>"$LOG/apt.log" 2>&1 && apt-get install -y "${missing[@]}" >>"$LOG/apt.log" 2>&1; } \
    || die "apt-get install ${missing[*]} (see $LOG/apt.log)"
}

# start_db_services DIR PG_ARGS...: PostgreSQL (with PG_ARGS) and Redis of scripts/services.sh
# (sourced by the caller) in DIR; DB_VERSIONS: their versions and durability settings, for
# describe_machine. psql_db DB SQL then queries that PostgreSQL.
start_db_services() {
  local dir=$1
  shift
  mkdir -p "$dir"
  start_postgres "$dir" "$@" 2>>"$LOG/services.log" || die "PostgreSQL did not start (see $LOG/services.log)"
  start_redis "$dir" 2>>"$LOG/services.log" || die "Redis did not start (see $LOG/services.log)"
  DB_VERSIONS=(
    "PostgreSQL $(psql_db postgres "SHOW server_version" | awk '{ print $1 }') ($(psql_db postgres "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers', 'full_page_writes')"))"
    "Redis $(redis-server --version | grep -o 'v=[^ ]*' | cut -c3-)"
  )
}
psql_db() { psql -X -q -A -t -F '|' -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d "$1" -c "$2"; }

# new_pg_store NAME FILE: a fresh database NAME on that PostgreSQL and, in FILE, the Switchboard
# bootstrap config that uses it and the Redis at REDIS_URI under the prefix NAME.
new_pg_store() {
  psql_db postgres "CREATE DATABASE $1" >/dev/null
  cat >"$2" <<YAML
version: 1.0
meta: {source: postgres}
postgres: {uri: 'Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=$1'}
redis: {uri: '$REDIS_URI', prefix: $1}
YAML
}

# plot KIND OUT.svg ARGS... < CSV: an SVG chart by bench/plot.py (series,x,y rows on stdin);
# installs Debian's python3-matplotlib the first time.
plot() {
  # Debian's python3, where apt puts matplotlib (a python3 first on PATH, e.g. pyenv's, lacks it).
  if ! /usr/bin/python3 -c 'import matplotlib' 2>/dev/null; then
    log "installing python3-matplotlib with apt-get"
    apt-get install -y python3-matplotlib >"$LOG/apt-plot.log" 2>&1 \
      || { apt-get update >>"$LOG/apt-plot.log" 2>&1 && apt-get install -y python3-matplotlib >>"$LOG/apt-plot.log" 2>&1; } \
      || die "apt-get install python3-matplotlib (see $LOG/apt-plot.log)"
  fi
  /usr/bin/python3 bench/plot.py "$@"
}

# The EXIT trap's work: SIGKILL every process in PIDS, remove every folder in TMPDIRS.
kill_owned() {
  local pid dir
  for pid in "${PIDS[@]:-}"; do
    if [[ -n "$pid" ]]; then kill -KILL "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; fi
  done
  for dir in "${TMPDIRS[@]:-}"; do
    if [[ -n "$dir" && -d "$dir" ]]; then rm -rf -- "$dir"; fi
  done
}

# The EXIT trap of the scripts that call own_cleanup (bench_start does): kill what the script
# started (PIDS), remove its temp dirs (TMPDIRS), keep its exit status.
_exit_owned() {
  local status=$?
  set +e
  kill_owned
  exit "$status"
}

own_cleanup() {
  PIDS=()
  TMPDIRS=()
  trap _exit_owned EXIT
  trap 'exit 130' INT TERM
}

# bench_start NAME: the start every script shares. LOG=bench/out/NAME-<STAMP> (made), log and die
# (lines prefixed with NAME, on stderr; die exits 1), the EXIT trap (own_cleanup), and the defaults
# of SWITCHBOARD (the Release build of src/Switchboard), QUIET_MAX=15 and QUIET_WAIT=30.
# shellcheck disable=SC2034,SC2317 # OUT, STAMP, SWITCHBOARD, the QUIET_*, log and die are the scripts'
bench_start() {
  BENCH_NAME=$1
  OUT=bench/out
  STAMP=$(date -u +%Y%m%dT%H%M%SZ)
  LOG="$OUT/$1-$STAMP"
  mkdir -p "$LOG"
  SWITCHBOARD=${SWITCHBOARD:-src/Switchboard/bin/Release/net10.0/switchboard}
  QUIET_MAX=${QUIET_MAX:-15}
  QUIET_WAIT=${QUIET_WAIT:-30}
  log() { printf '[%s %s] %s\n' "$BENCH_NAME" "$(date +%H:%M:%S)" "$*" >&2; }
  die() { log "FAILED: $*"; exit 1; }
  own_cleanup
}

# A Release build of the app into LOG/build-switchboard.log (skipped with SKIP_BUILD=1); dies
# when there is none to run at $SWITCHBOARD.
build_switchboard() {
  if [[ "${SKIP_BUILD:-}" != 1 ]]; then
    log "building Release"
    dotnet build -c Release -nologo -v q src/Switchboard/Switchboard.csproj >"$LOG/build-switchboard.log" 2>&1 \
      || die "build of Switchboard (see $LOG/build-switchboard.log)"
  fi
  [[ -x "$SWITCHBOARD" ]] || die "Release build missing ($SWITCHBOARD)"
}

# ---- a baseline: an older commit's build, measured beside this one in the same run -------------
# commit_before_adding FILE: the parent of the commit that added FILE (dies when none did).
commit_before_adding() {
  local added
  added=$(git log --format=%H --diff-filter=A -1 -- "$1")
  [[ -n "$added" ]] || die "no commit adds $1: give BASELINE=an older build's executable"
  git rev-parse "$added^"
}

# build_baseline REF WHAT: the tree of commit REF (git archive: what the checkout has changed since
# stays out) built in Release in a temp dir removed at exit (LOG/build-baseline.log); sets
# BASELINE to its executable. WHAT says in the log what REF is.
build_baseline() {
  local dir
  dir=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-bench-base.XXXXXX")
  TMPDIRS+=("$dir")
  log "building the baseline ${1:0:12} ($2)"
  git archive "$1" | tar -x -C "$dir" || die "git archive $1"
  dotnet build -c Release -nologo -v q "$dir/src/Switchboard/Switchboard.csproj" >"$LOG/build-baseline.log" 2>&1 \
    || die "build of the baseline (see $LOG/build-baseline.log)"
  BASELINE="$dir/src/Switchboard/bin/Release/net10.0/switchboard"
  [[ -x "$BASELINE" ]] || die "baseline executable missing ($BASELINE)"
}

# MACHINE: cores, CPU, memory, OS, kernel, .NET; then whatever the script adds ("$@", e.g. the
# PostgreSQL and Redis versions), then wrk's version.
# shellcheck disable=SC2120  # the arguments are optional
describe_machine() {
  local cpu mem os runtime virt wrk_version
  cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
  mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
  os=$( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || uname -s)
  runtime=$(dotnet --list-runtimes | awk '/^Microsoft.AspNetCore.App / { v = $2 } END { print v }')
  virt=$(lscpu 2>/dev/null | awk -F': *' '/^Hypervisor vendor/ { print ", " $2 " guest" }')
  wrk_version=$( { wrk -v 2>&1 || true; } | awk 'NR == 1 { print $1, $2 }')
  MACHINE="$(nproc) cores ($cpu$virt), $mem RAM, $os, kernel $(uname -r), .NET SDK $(dotnet --version) (ASP.NET Core $runtime)"
  local extra
  for extra in "$@"; do MACHINE+=", $extra"; done
  MACHINE+=", $wrk_version"
  log "machine: $MACHINE"
}

# ---- the embedded serve's store (SB_DB, SB_DIR, SB_PID of the script's current serve) ----------
sql() { sqlite3 -cmd '.timeout 10000' "$SB_DB" "$1"; }

stop_serve() {
  stop_process "$SB_PID"
  rm -rf -- "$SB_DIR"
}

# Until no request, deal or step is queued or running; dies after DRAIN_TIMEOUT seconds. A
# waiting step always has a running deal, so this covers steps that wait too. Two counts on the
# partial indexes of queued and running rows, not a scan of the table while the executor drains.
drain() {
  local deadline=$(($(date +%s) + DRAIN_TIMEOUT)) pending
  while true; do
    pending=$(sql "SELECT (SELECT COUNT(*) FROM requests WHERE status = 'queued') + (SELECT COUNT(*) FROM requests WHERE status = 'running')")
    [[ "$pending" == 0 ]] && return 0
    (($(date +%s) < deadline)) || die "$pending requests still pending after ${DRAIN_TIMEOUT} s (server log in $LOG)"
    sleep 0.2
  done
}

# ---- a round of submissions on a fresh store (run-traces.sh, run-webhooks.sh, run-binary.sh) ----
# fresh_store [EXE]: a fresh data dir (SB_DIR, SB_DB; removed at exit) and in it the user bench
# with 10⁹ credits (its API key in SB_KEY), made by EXE (default: SWITCHBOARD).
# shellcheck disable=SC2120 # EXE is optional
fresh_store() {
  SB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-bench.XXXXXX")
  TMPDIRS+=("$SB_DIR")
  SB_DB="$SB_DIR/switchboard.db"
  SB_KEY=$(SWITCHBOARD=${1:-$SWITCHBOARD} new_key bench --credits 1000000000 --data "$SB_DIR")
}

# submit_drained PATH ROUND OUT WHAT: once the machine is quiet (quiet_check WHAT), REQUESTS
# submissions to PATH on SB_URL with SB_KEY by wrk (-tTHREADS -cCONNECTIONS, bench/submit.lua:
# unique bodies tagged rROUND), every one accepted (wrk's output in OUT-submit.txt); drained;
# every one succeeded. Sets T0 (ms, before the first submission) and E2E: completed/s =
# requests ÷ (last finished_at − first created_at), as the store recorded them.
# shellcheck disable=SC2034 # T0 and E2E are the scripts'
submit_drained() {
  local path=$1 round=$2 out=$3 done_dir row count succeeded first last
  done_dir=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-bench-done.XXXXXX")
  TMPDIRS+=("$done_dir")
  quiet_check "$4"
  T0=$(now_ms)
  BENCH_KEY=$SB_KEY BENCH_TAG="r$round" BENCH_PATH=$path BENCH_REQUESTS=$REQUESTS BENCH_THREADS=$THREADS \
    BENCH_DONE_DIR=$done_dir wrk "-t$THREADS" "-c$CONNECTIONS" -d600s -s bench/submit.lua "$SB_URL" >"$out-submit.txt" 2>&1 \
    || die "wrk failed (see $out-submit.txt)"
  [[ "$(field "$out-submit.txt" accepted_202)" == "$REQUESTS" ]] || die "not every submission was accepted (see $out-submit.txt)"
  drain
  row=$(sql "SELECT COUNT(*), SUM(status = 'succeeded'), MIN(created_at), MAX(finished_at) FROM requests WHERE created_at >= $T0")
  IFS='|' read -r count succeeded first last <<<"$row"
  [[ "$count" == "$REQUESTS" ]] || die "the store holds $count requests of this round, $REQUESTS were accepted"
  [[ "$succeeded" == "$REQUESTS" ]] || die "$succeeded of $REQUESTS requests succeeded (server log in $LOG)"
  E2E=$(awk -v n="$count" -v a="$first" -v b="$last" 'BEGIN { printf "%.1f", n * 1000 / (b - a) }')
}

# col_median KEY: the median of COL[KEY-1] … COL[KEY-RUNS] (the scripts' table of rounds).
col_median() {
  local i v=()
  for ((i = 1; i <= RUNS; i++)); do v+=("${COL[$1-$i]}"); done
  printf '%s\n' "${v[@]}" | median
}

# write_report TITLE TABLE: OUT/NAME-results-STAMP.md (REPORT) with TITLE, the machine and TABLE;
# printed, and where it and the raw output are logged.
write_report() {
  REPORT="$OUT/$BENCH_NAME-results-$STAMP.md"
  {
    echo "$1"
    echo
    echo "Machine: $MACHINE"
    echo
    echo "$2"
  } >"$REPORT"
  echo
  cat "$REPORT"
  echo
  log "markdown table: $REPORT (raw wrk output and server logs: $LOG)"
}

# ---- the bench store's user and catalog -------------------------------------------------------
# new_key NAME [OPTIONS…]: creates the user with the CLI (OPTIONS: --credits, --admin, the
# store's --data or --config) and prints its API key; fails when none was printed.
new_key() {
  local key
  key=$("$SWITCHBOARD" users create "$@" | sed -n 's/.*"api_key":"\([^"]*\)".*/\1/p')
  [[ -n "$key" ]] || die "users create $1 printed no api_key"
  echo "$key"
}

# The catalog every script starts from: echo.render on the resource "local" and the offer
# bench/echo. A script appends its own entries of the offers list (and a deals section).
# shellcheck disable=SC2034 # used by the scripts that source this file
ECHO_CATALOG='handlers:
  - id: echo.render
    credits: 1
    resource: local
offers:
  - service: bench
    action: echo
    handler: echo.render
    price: 1
    prompt_template: "Echo {text}"
    create_qty: 1
    params: {}'
