#!/usr/bin/env bash
# The event stream (issue 19): 5,000 open streams on one `serve`, the server's CPU while nothing
# changes (beside its idle CPU with no stream open, measured in the same round), and the time
# from a committed change to the client (p50/p99) with changes committed at 1,000/s. See
# bench/README.md, "Event streams (issue 19)". The load client is bench/streams/client.mjs
# (Node's own http; 127.0.0.1 only; bounded by STREAMS).
#
#   bench/run-streams.sh
#
# Environment (all optional):
#   RUNS=3          rounds, each on a fresh data dir and a fresh serve; medians are over rounds
#   STREAMS=5000    requests and streams per round
#   IDLE_S=30       seconds of each CPU measurement
#   RATE=1000       changes (cancels) per second
#   SKIP_BUILD=1    use the existing Release build
#   SWITCHBOARD=    the executable to measure (default: the Release build of src/Switchboard)
# Output: bench/out/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
STREAMS=${STREAMS:-5000}
IDLE_S=${IDLE_S:-30}
RATE=${RATE:-1000}
SWITCHBOARD=${SWITCHBOARD:-src/Switchboard/bin/Release/net10.0/switchboard}
OUT=bench/out
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOG="$OUT/streams-$STAMP"
mkdir -p "$LOG"

log() { printf '[streams %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/lib.sh
source bench/lib.sh

own_cleanup
need_apt curl:curl jq:jq node:nodejs
command -v dotnet >/dev/null || die "dotnet is not installed"
build_switchboard
describe_machine "Node $(node --version)"
(( $(ulimit -n) >= 2 * STREAMS + 1000 )) || ulimit -n $((2 * STREAMS + 1000)) || die "ulimit -n is below $((2 * STREAMS + 1000))"
log "RUNS=$RUNS STREAMS=$STREAMS IDLE_S=$IDLE_S RATE=$RATE"

# bench/hold: a request that stays queued or running for ten minutes, so nothing changes until
# the client cancels it.
CATALOG="$ECHO_CATALOG
  - service: bench
    action: hold
    handler: echo.render
    price: 1
    prompt_template: \"Hold {text}\"
    create_qty: 1
    params: {delay_ms: 600000}"

for ((round = 1; round <= RUNS; round++)); do
  SB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-bench.XXXXXX")
  TMPDIRS+=("$SB_DIR")
  SB_KEY=$(new_key bench --credits 1000000000 --data "$SB_DIR")
  echo "$CATALOG" >"$SB_DIR/catalog.yaml"
  "$SWITCHBOARD" catalog apply "$SB_DIR/catalog.yaml" --data "$SB_DIR" >/dev/null
  # The caps raised for the bench through settings, not code.
  start_server "$LOG/serve-$round.log" /svc/ '"/svc/bench/hold/"' "$SWITCHBOARD" serve --data "$SB_DIR" \
    --Switchboard:LiveChannelsPerUser=$((STREAMS + 100)) --Switchboard:LiveChannelsPerProcess=$((STREAMS + 100))
  SB_PID=$SERVER_PID
  log "round $round: serve pid $SB_PID at $SERVER_URL"
  SB_URL=$SERVER_URL SB_KEY=$SB_KEY SB_PID=$SB_PID STREAMS=$STREAMS IDLE_S=$IDLE_S RATE=$RATE CLK_TCK=$(getconf CLK_TCK) \
    node bench/streams/client.mjs >"$LOG/round-$round.json" 2>"$LOG/client-$round.log" || die "client failed (see $LOG/client-$round.log)"
  log "round $round: $(cat "$LOG/round-$round.json")"
  stop_process "$SB_PID"
done

med() { jq -s "map($1) | sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end" "$LOG"/round-*.json; }
BASE=$(med .cpu_idle_baseline_pct)
IDLE=$(med .cpu_idle_streams_pct)
P50=$(med .latency_ms.p50)
P99=$(med .latency_ms.p99)
ACHIEVED=$(med .achieved_rate)
{
  echo "### Event streams, $(date -u +%Y-%m-%d) ($RUNS rounds, medians)"
  echo
  echo "Machine: $MACHINE"
  echo
  echo "| measure | median |"
  echo "|---|---|"
  echo "| server CPU, idle, no stream open (baseline, % of one core over ${IDLE_S} s) | $BASE |"
  echo "| server CPU, idle, $STREAMS streams open (% of one core over ${IDLE_S} s) | $IDLE |"
  echo "| extra idle CPU of $STREAMS streams (points of one core) | $(awk -v a="$IDLE" -v b="$BASE" 'BEGIN { printf "%.2f", a - b }') |"
  echo "| changes per second achieved (target $RATE) | $ACHIEVED |"
  echo "| commit → client p50 (ms) | $P50 |"
  echo "| commit → client p99 (ms) | $P99 |"
  echo
  echo "Rounds: $(jq -c . "$LOG"/round-*.json | paste -sd ' ')"
} | tee "$OUT/streams-latest.md"
