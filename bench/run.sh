#!/usr/bin/env bash
# Switchboard benchmark: accepted requests/s (POST /svc/…, 202 path) and end-to-end completed
# echo.render requests/s, each beside a plain Kestrel hello world measured in the same round.
# See bench/README.md for what the numbers mean.
#
#   bench/run.sh
#
# Environment (all optional):
#   RUNS=3          rounds; medians are taken over them
#   DURATION=10     seconds of each measured wrk run
#   WARMUP=10       seconds of un-measured wrk load before each measured run (tiered JIT needs
#                   several seconds under load on 2 cores before the code is at full speed)
#   THREADS=2       wrk threads
#   CONNECTIONS=64  wrk connections
#   SERVE_ARGS=     extra arguments for `switchboard serve` (e.g. "--workers 16")
#   DRAIN_TIMEOUT=  seconds to wait for the executor to finish the backlog (default 30 + 30×DURATION)
#   QUIET_MAX=15    before each measured run, wait (up to QUIET_WAIT=30 s) until the rest of the
#                   machine uses less than this % of all cores; the value seen is reported per round
#   SKIP_BUILD=1    use the existing Release builds
#   SWITCHBOARD=    the Switchboard executable to measure (default: the Release build of
#                   src/Switchboard), e.g. a patched build for an A/B comparison
# Only 127.0.0.1 is ever loaded. Output: bench/out/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-10}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
SERVE_ARGS=${SERVE_ARGS:-}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-$((30 + 30 * DURATION))}
QUIET_MAX=${QUIET_MAX:-15}
QUIET_WAIT=${QUIET_WAIT:-30}

SWITCHBOARD=${SWITCHBOARD:-src/Switchboard/bin/Release/net10.0/switchboard}
HELLO=bench/Hello/bin/Release/net10.0/Hello
OUT=bench/out
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOG="$OUT/run-$STAMP"
mkdir -p "$LOG"

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/lib.sh
source bench/lib.sh

own_cleanup

# port_in_use, free_port, wait_http and start_server are in bench/lib.sh.

need_apt wrk:wrk sqlite3:sqlite3 curl:curl
command -v dotnet >/dev/null || die "dotnet is not installed"

if [[ "${SKIP_BUILD:-}" != 1 ]]; then
  log "building Release"
  dotnet build -c Release -nologo -v q src/Switchboard/Switchboard.csproj >"$LOG/build-switchboard.log" 2>&1 \
    || die "build of Switchboard (see $LOG/build-switchboard.log)"
  dotnet build -c Release -nologo -v q bench/Hello/Hello.csproj >"$LOG/build-hello.log" 2>&1 \
    || die "build of bench/Hello (see $LOG/build-hello.log)"
fi
[[ -x "$SWITCHBOARD" && -x "$HELLO" ]] || die "Release builds missing ($SWITCHBOARD, $HELLO)"

# ---- the machine -------------------------------------------------------------------------------
describe_machine
log "RUNS=$RUNS DURATION=$DURATION WARMUP=$WARMUP THREADS=$THREADS CONNECTIONS=$CONNECTIONS SERVE_ARGS='$SERVE_ARGS' SWITCHBOARD=$SWITCHBOARD"

WRK=(wrk "-t$THREADS" "-c$CONNECTIONS" --latency)

# ---- hello world ---------------------------------------------------------------------------
# Sets RESULT to the measured requests/s of a hello-world process on a fresh port.
# (The measure_* functions run in this shell, not in $(…), so that cleanup knows their processes.)
measure_hello() {
  local round=$1 pid url rps
  start_server "$LOG/hello-$round.log" / "Hello World!" "$HELLO"
  pid=$SERVER_PID
  url=$SERVER_URL
  "${WRK[@]}" "-d${WARMUP}s" "$url/" >"$LOG/hello-$round-warmup.txt" 2>&1
  quiet_check "hello world"
  "${WRK[@]}" "-d${DURATION}s" "$url/" >"$LOG/hello-$round.txt" 2>&1
  stop_process "$pid"
  grep -q "Non-2xx\|Socket errors" "$LOG/hello-$round.txt" && die "hello world answered errors (see $LOG/hello-$round.txt)"
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$LOG/hello-$round.txt")
  [[ -n "$rps" ]] || die "no Requests/sec in $LOG/hello-$round.txt"
  RESULT=$rps
}

# ---- switchboard serve -----------------------------------------------------------------------
# start_serve NAME: fresh data dir with a bench user and an echo.render offer, then serve on a
# fresh port. Sets SB_DIR, SB_DB, SB_URL, SB_PID, SB_KEY.
start_serve() {
  local name=$1
  SB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-bench.XXXXXX")
  TMPDIRS+=("$SB_DIR")
  SB_DB="$SB_DIR/switchboard.db"
  SB_KEY=$(new_key bench --credits 1000000000 --data "$SB_DIR")
  echo "$ECHO_CATALOG" >"$SB_DIR/catalog.yaml"
  "$SWITCHBOARD" catalog apply "$SB_DIR/catalog.yaml" --data "$SB_DIR" >/dev/null
  # The offer is live once the catalog lists it.
  # shellcheck disable=SC2086 # SERVE_ARGS is a list of words on purpose
  start_server "$LOG/$name-serve.log" /svc/ '"/svc/bench/echo/"' "$SWITCHBOARD" serve --data "$SB_DIR" $SERVE_ARGS
  SB_PID=$SERVER_PID
  SB_URL=$SERVER_URL
}

# submit_load OUTFILE TAG SECONDS: the unique-body POST load, checked for errors.
submit_load() {
  local out=$1 tag=$2 seconds=$3 n
  BENCH_KEY=$SB_KEY BENCH_TAG=$tag "${WRK[@]}" "-d${seconds}s" -s bench/submit.lua "$SB_URL" >"$out" 2>&1 \
    || die "wrk failed (see $out)"
  for n in non_2xx other_2xx socket_errors; do
    [[ "$(awk -v k="$n" '$1 == "bench:" && $2 == k { print $3 }' "$out")" == 0 ]] || die "$n in $out"
  done
}


# check_stored WRK_OUTPUT STORED: every 202 wrk counted is a stored request. The store may hold up
# to one more per connection: requests in flight when wrk stopped, stored but never counted.
check_stored() {
  local accepted
  accepted=$(field "$1" accepted_202)
  ((accepted <= $2 && $2 <= accepted + CONNECTIONS)) || die "wrk counted $accepted 202s, the store holds $2 new requests"
}

# (a) accepted/s: 202s per second of the measured wrk run, executor running as in production.
measure_accept() {
  local round=$1
  local out="$LOG/accept-$round.txt" t0
  start_serve "accept-$round"
  submit_load "$LOG/accept-$round-warmup.txt" "warm$round" "$WARMUP"
  drain
  quiet_check "accepted/s"
  t0=$(now_ms)
  submit_load "$out" "run$round" "$DURATION"
  check_stored "$out" "$(sql "SELECT COUNT(*) FROM requests WHERE created_at >= $t0")"
  stop_serve
  RESULT=$(field "$out" accepted_per_s)
}

# (b) end-to-end: all requests of the measured wrk run, from the first created_at to the last
# finished_at, as recorded by the store itself.
measure_e2e() {
  local round=$1
  local out="$LOG/e2e-$round.txt" t0 row count first last bad
  start_serve "e2e-$round"
  submit_load "$LOG/e2e-$round-warmup.txt" "warm$round" "$WARMUP"
  drain
  quiet_check "end-to-end"
  t0=$(now_ms)
  submit_load "$out" "run$round" "$DURATION"
  drain
  bad=$(sql "SELECT COUNT(*) FROM requests WHERE created_at >= $t0 AND status <> 'succeeded'")
  [[ "$bad" == 0 ]] || die "$bad requests of the e2e run did not succeed (server log in $LOG)"
  row=$(sql "SELECT COUNT(*), MIN(created_at), MAX(finished_at) FROM requests WHERE created_at >= $t0")
  IFS='|' read -r count first last <<<"$row"
  check_stored "$out" "$count"
  {
    echo "bench: completed $count"
    echo "bench: e2e_seconds $(awk -v a="$first" -v b="$last" 'BEGIN { printf "%.3f", (b - a) / 1000 }')"
    echo "bench: e2e_per_s $(awk -v n="$count" -v a="$first" -v b="$last" 'BEGIN { printf "%.1f", n * 1000 / (b - a) }')"
  } >>"$out"
  stop_serve
  RESULT=$(field "$out" e2e_per_s)
}

# ---- rounds -------------------------------------------------------------------------------------
HELLO_RPS=()
ACCEPT_RPS=()
E2E_RPS=()
BUSY=()
for ((r = 1; r <= RUNS; r++)); do
  ROUND_BUSY=0
  log "round $r/$RUNS: hello world"
  measure_hello "$r"
  HELLO_RPS+=("$RESULT")
  log "round $r/$RUNS: accepted/s (POST /svc/bench/echo/, 202)"
  measure_accept "$r"
  ACCEPT_RPS+=("$RESULT")
  log "round $r/$RUNS: end-to-end completed/s (echo.render)"
  measure_e2e "$r"
  E2E_RPS+=("$RESULT")
  BUSY+=("$ROUND_BUSY")
  log "round $r/$RUNS: hello ${HELLO_RPS[-1]}/s, accepted ${ACCEPT_RPS[-1]}/s, e2e ${E2E_RPS[-1]}/s (other processes before the runs: up to ${ROUND_BUSY}% CPU)"
done

fmt() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }

ACCEPT_RATIOS=()
E2E_RATIOS=()
TABLE="| round | hello world req/s | accepted req/s (202) | accepted ÷ hello | end-to-end completed req/s | end-to-end ÷ hello | other CPU before runs |
|---|---:|---:|---:|---:|---:|---:|"
for ((i = 0; i < RUNS; i++)); do
  ACCEPT_RATIOS+=("$(ratio "${ACCEPT_RPS[i]}" "${HELLO_RPS[i]}")")
  E2E_RATIOS+=("$(ratio "${E2E_RPS[i]}" "${HELLO_RPS[i]}")")
  TABLE+="
| $((i + 1)) | $(fmt "${HELLO_RPS[i]}") | $(fmt "${ACCEPT_RPS[i]}") | ${ACCEPT_RATIOS[i]} | $(fmt "${E2E_RPS[i]}") | ${E2E_RATIOS[i]} | ${BUSY[i]}% |"
done
M_HELLO=$(printf '%s\n' "${HELLO_RPS[@]}" | median)
M_ACCEPT=$(printf '%s\n' "${ACCEPT_RPS[@]}" | median)
M_E2E=$(printf '%s\n' "${E2E_RPS[@]}" | median)
M_ACCEPT_RATIO=$(printf '%s\n' "${ACCEPT_RATIOS[@]}" | median)
M_E2E_RATIO=$(printf '%s\n' "${E2E_RATIOS[@]}" | median)
TABLE+="
| **median** | **$(fmt "$M_HELLO")** | **$(fmt "$M_ACCEPT")** | **$(printf '%.3f' "$M_ACCEPT_RATIO")** | **$(fmt "$M_E2E")** | **$(printf '%.3f' "$M_E2E_RATIO")** | |"

verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v >= t ? "met" : "NOT met") }'; }
REPORT="$OUT/results-$STAMP.md"
{
  echo "Run $STAMP: \`bench/run.sh\` with RUNS=$RUNS DURATION=$DURATION WARMUP=$WARMUP THREADS=$THREADS CONNECTIONS=$CONNECTIONS SERVE_ARGS='$SERVE_ARGS'"
  echo
  echo "Machine: $MACHINE"
  echo
  echo "$TABLE"
  echo
  echo "Targets: accepted ≥ 10,000 req/s: $(verdict "$M_ACCEPT" 10000) ($(fmt "$M_ACCEPT")); end-to-end ≥ 5,000 req/s: $(verdict "$M_E2E" 5000) ($(fmt "$M_E2E"))."
} >"$REPORT"
cp "$REPORT" "$OUT/latest.md"

echo
echo "medians of $RUNS rounds:"
echo "  hello world           $(fmt "$M_HELLO") req/s"
echo "  accepted (202)        $(fmt "$M_ACCEPT") req/s   ratio to hello $(printf '%.3f' "$M_ACCEPT_RATIO")"
echo "  end-to-end completed  $(fmt "$M_E2E") req/s   ratio to hello $(printf '%.3f' "$M_E2E_RATIO")"
echo
cat "$REPORT"
echo
log "markdown table: $REPORT (raw wrk output and server logs: $LOG)"
