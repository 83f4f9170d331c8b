# shellcheck shell=bash
# Helpers shared by bench/run.sh, bench/run-deals.sh and bench/run-distributed.sh; sourced after each defines
# log, die, LOG (its log folder), PIDS (processes to clean up), QUIET_MAX and QUIET_WAIT.

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

# The EXIT trap of run.sh, run-deals.sh and run-panel.sh: kill what the script started (PIDS),
# remove its temp dirs (TMPDIRS), keep its exit status.
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

# ---- the embedded serve's store (run.sh, run-deals.sh, run-panel.sh: SB_DB, SB_DIR, SB_PID) -----
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
