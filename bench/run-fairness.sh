#!/usr/bin/env bash
# Switchboard fairness benchmark (issue 22), embedded serve (SQLite, in-process queue). See
# bench/README.md, "Fair queuing and priorities (issue 22)".
#
#   bench/run-fairness.sh
#
# Each round, each phase on a fresh data dir, process and port, fair on and off in the same round:
#   (a) throughput  WARMUP seconds of unmeasured submissions (tiered JIT), drained; then REQUESTS
#                   submissions of one user to bench/echo by wrk, drained: end-to-end completed/s
#                   (as run.sh's (b)); Switchboard:Fair=true, then false
#   (b) backlog     bench/slow (echo with delay_ms SLOW_MS) on a serve of SLOW_WORKERS workers, so
#                   that the executor runs far fewer a second than wrk submits: user alice submits
#                   BACKLOG requests; the moment wrk ends, user bob submits one request; bob's
#                   start delay (started_at − created_at) and finish delay (finished_at −
#                   created_at) as the store recorded them, and how many of alice's were still
#                   queued when bob came; fair on, then off (off waits for the backlog ahead of
#                   bob). The rest of the backlog is not drained: the process is stopped.
#
# Environment (all optional):
#   RUNS=3 REQUESTS=20000 WARMUP=10 BACKLOG=100000 SLOW_MS=10 SLOW_WORKERS=8 THREADS=2 CONNECTIONS=64
#   SERVE_ARGS=       extra `serve` arguments (e.g. "--workers 256")
#   DRAIN_TIMEOUT=    seconds to wait for a backlog to drain (default 1800)
#   QUIET_MAX, QUIET_WAIT, SKIP_BUILD, SWITCHBOARD: as in the other scripts (bench/lib.sh)
# Only 127.0.0.1 is ever loaded. Output: bench/out/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
REQUESTS=${REQUESTS:-20000}
WARMUP=${WARMUP:-10}
BACKLOG=${BACKLOG:-100000}
SLOW_MS=${SLOW_MS:-10}
SLOW_WORKERS=${SLOW_WORKERS:-8}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
SERVE_ARGS=${SERVE_ARGS:-}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-1800}

# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_start fairness
need_apt wrk:wrk sqlite3:sqlite3 curl:curl
command -v dotnet >/dev/null || die "dotnet is not installed"
build_switchboard
describe_machine
log "RUNS=$RUNS REQUESTS=$REQUESTS WARMUP=$WARMUP BACKLOG=$BACKLOG SLOW_MS=$SLOW_MS SLOW_WORKERS=$SLOW_WORKERS THREADS=$THREADS CONNECTIONS=$CONNECTIONS SERVE_ARGS='$SERVE_ARGS'"

# start_serve NAME FAIR [ARGS...]: a fresh store (user bench, SB_KEY) with the echo catalog and
# bench/slow, serve with Switchboard:Fair=FAIR and ARGS. Sets SB_DIR, SB_DB, SB_URL, SB_PID.
start_serve() {
  local name=$1 fair=$2
  shift 2
  fresh_store
  printf '%s\n  - {service: bench, action: slow, handler: echo.render, price: 1, prompt_template: "Slow {text}", params: {delay_ms: %s}}\n' \
    "$ECHO_CATALOG" "$SLOW_MS" >"$SB_DIR/catalog.yaml"
  "$SWITCHBOARD" catalog apply "$SB_DIR/catalog.yaml" --data "$SB_DIR" >/dev/null
  # shellcheck disable=SC2086 # SERVE_ARGS is a list of arguments
  start_server "$LOG/$name-serve.log" /svc/ '"/svc/bench/slow/"' "$SWITCHBOARD" serve --data "$SB_DIR" \
    "--Switchboard:Fair=$fair" $SERVE_ARGS "$@"
  SB_PID=$SERVER_PID
  SB_URL=$SERVER_URL
}

# backlog ROUND FAIR: phase (b). Sets QUEUED, START_MS, FINISH_MS.
backlog() {
  local out="$LOG/backlog-$2-$1" bob id row created started finished done_dir status
  start_serve "backlog-$2-$1" "$2" --workers "$SLOW_WORKERS"
  bob=$(new_key bob --credits 10 --data "$SB_DIR")
  done_dir=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-bench-done.XXXXXX")
  TMPDIRS+=("$done_dir")
  quiet_check "the backlog (fair=$2)"
  BENCH_KEY=$SB_KEY BENCH_TAG="b$1" BENCH_PATH=/svc/bench/slow/ BENCH_REQUESTS=$BACKLOG BENCH_THREADS=$THREADS \
    BENCH_DONE_DIR=$done_dir wrk "-t$THREADS" "-c$CONNECTIONS" -d3600s -s bench/submit.lua "$SB_URL" >"$out-submit.txt" 2>&1 \
    || die "wrk failed (see $out-submit.txt)"
  [[ "$(field "$out-submit.txt" accepted_202)" == "$BACKLOG" ]] || die "not every submission was accepted (see $out-submit.txt)"
  QUEUED=$(sql "SELECT COUNT(*) FROM requests WHERE status = 'queued'")
  id=$(curl -sS -X POST "$SB_URL/svc/bench/slow/" -H "Authorization: Bearer $bob" -H 'Content-Type: application/json' \
    -d "{\"text\": \"bob $1 $2\"}" | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p')
  [[ -n "$id" ]] || die "bob's submission was not accepted"
  local deadline=$(($(date +%s) + DRAIN_TIMEOUT))
  while status=$(sql "SELECT status FROM requests WHERE id = '$id'"); [[ "$status" != succeeded ]]; do
    (($(date +%s) < deadline)) || die "bob's request is $status after ${DRAIN_TIMEOUT} s"
    sleep 0.05
  done
  row=$(sql "SELECT created_at, started_at, finished_at FROM requests WHERE id = '$id'")
  IFS='|' read -r created started finished <<<"$row"
  START_MS=$((started - created))
  FINISH_MS=$((finished - created))
  stop_serve
}

declare -A COL
for ((round = 1; round <= RUNS; round++)); do
  ROUND_BUSY=0
  for fair in true false; do
    start_serve "throughput-$fair-$round" "$fair"
    BENCH_KEY=$SB_KEY BENCH_TAG="w$round" BENCH_PATH=/svc/bench/echo/ BENCH_THREADS=$THREADS \
      wrk "-t$THREADS" "-c$CONNECTIONS" "-d${WARMUP}s" -s bench/submit.lua "$SB_URL" >"$LOG/throughput-$fair-$round-warmup.txt" 2>&1 \
      || die "wrk failed (see $LOG/throughput-$fair-$round-warmup.txt)"
    drain
    submit_drained /svc/bench/echo/ "$round" "$LOG/throughput-$fair-$round" "throughput (fair=$fair)"
    COL[e2e-$fair-$round]=$E2E
    stop_serve
  done
  for fair in true false; do
    backlog "$round" "$fair"
    COL[queued-$fair-$round]=$QUEUED
    COL[start-$fair-$round]=$START_MS
    COL[finish-$fair-$round]=$FINISH_MS
  done
  log "round $round: completed/s fair ${COL[e2e-true-$round]} unfair ${COL[e2e-false-$round]};" \
    "bob behind ${COL[queued-true-$round]}/${COL[queued-false-$round]} queued: start ${COL[start-true-$round]}/${COL[start-false-$round]} ms," \
    "finish ${COL[finish-true-$round]}/${COL[finish-false-$round]} ms (fair/unfair); other CPU before runs ≤ ${ROUND_BUSY}%"
done

median_of() { local i; for ((i = 1; i <= RUNS; i++)); do echo "${COL[$1-$i]}"; done | median; }
ON=$(median_of e2e-true)
OFF=$(median_of e2e-false)
TABLE="| | fair on | fair off |
|---|---|---|
| (a) end-to-end completed/s, median of $RUNS | $ON | $OFF |
| (a) fair on ÷ fair off | $(ratio "$ON" "$OFF") | |
| (b) alice's requests still queued when bob submits, median | $(median_of queued-true) | $(median_of queued-false) |
| (b) bob's submit → start, ms, median | $(median_of start-true) | $(median_of start-false) |
| (b) bob's submit → finished, ms, median | $(median_of finish-true) | $(median_of finish-false) |"
write_report "Fair queuing (issue 22): RUNS=$RUNS REQUESTS=$REQUESTS WARMUP=$WARMUP BACKLOG=$BACKLOG SLOW_MS=$SLOW_MS SLOW_WORKERS=$SLOW_WORKERS THREADS=$THREADS CONNECTIONS=$CONNECTIONS SERVE_ARGS='$SERVE_ARGS'" "$TABLE"
