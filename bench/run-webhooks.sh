#!/usr/bin/env bash
# Switchboard completion webhooks benchmark (issue 19) on one embedded `serve` (SQLite): the
# submit -> succeed path with no webhook endpoint (the baseline) and with one endpoint registered
# (every success writes an event in its unit, and the delivery worker posts it), in the same run;
# and the deliveries per second to a local receiver. See bench/README.md, "Completion webhooks
# (issue 19)".
#
#   bench/run-webhooks.sh
#
# Each round, on a fresh data dir and a fresh serve for each of the two phases:
#   none: REQUESTS submissions by wrk (unique bodies), drained; completed/s = requests /
#         (last finished_at - first created_at) as the store recorded them.
#   hook: the same, after the bench user registered one endpoint for request.succeeded at the
#         receiver (tests/node-clients/webhook-receiver.mjs on 127.0.0.1, which verifies every
#         signature with the npm standardwebhooks package and answers 204); completed/s as above,
#         then, once every event is delivered, deliveries/s = events / (last delivered attempt's
#         finished_at - first event's created_at).
#
# Environment (all optional):
#   RUNS=3  REQUESTS=3000  THREADS=2 CONNECTIONS=16  DRAIN_TIMEOUT=300
#   QUIET_MAX=15 QUIET_WAIT=30   as in bench/run.sh
#   SKIP_BUILD=1  SWITCHBOARD=   as in bench/run.sh
# Only 127.0.0.1 is ever loaded. Output: bench/out/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_start webhooks

RUNS=${RUNS:-3}
REQUESTS=${REQUESTS:-3000}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-16}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-300}

need_apt wrk:wrk sqlite3:sqlite3 curl:curl node:nodejs npm:npm
command -v dotnet >/dev/null || die "dotnet is not installed"
build_switchboard
if [[ ! -d tests/node-clients/node_modules/standardwebhooks ]]; then
  (cd tests/node-clients && npm ci --no-audit --no-fund >"../../$LOG/npm.log" 2>&1) || die "npm ci in tests/node-clients (see $LOG/npm.log)"
fi
describe_machine "SQLite $(sqlite3 --version | awk '{ print $1 }')" "node $(node --version)"
log "RUNS=$RUNS REQUESTS=$REQUESTS THREADS=$THREADS CONNECTIONS=$CONNECTIONS"

start_server "$LOG/receiver.log" /_log ']' node tests/node-clients/webhook-receiver.mjs
RECEIVER_URL=$SERVER_URL

# measure PHASE ROUND: sets E2E (completed/s) and, for hook, DELIVERED (deliveries/s).
measure() {
  local phase=$1 round=$2 row count first last secret
  fresh_store
  echo "$ECHO_CATALOG" >"$SB_DIR/catalog.yaml"
  "$SWITCHBOARD" catalog apply "$SB_DIR/catalog.yaml" --data "$SB_DIR" >/dev/null
  # The receiver is on loopback over http: allowed for this process only (operators' settings).
  start_server "$LOG/$phase-$round-serve.log" /svc/ '"/svc/bench/echo/"' "$SWITCHBOARD" serve --data "$SB_DIR" \
    --Switchboard:Outbound:AllowLoopback=true --Switchboard:Webhooks:AllowHttp=true
  SB_PID=$SERVER_PID
  SB_URL=$SERVER_URL
  if [[ "$phase" == hook ]]; then
    secret=$(curl -fsS -H "Authorization: Bearer $SB_KEY" -H 'Content-Type: application/json' "$SB_URL/svc/me/webhooks" \
      -d "{\"url\": \"$RECEIVER_URL/r$round\", \"events\": [\"request.succeeded\"]}" | sed -n 's/.*"secret":"\([^"]*\)".*/\1/p')
    [[ -n "$secret" ]] || die "registering the endpoint printed no secret"
    curl -fsS -H 'Content-Type: application/json' "$RECEIVER_URL/_secrets/r$round" -d "{\"secrets\": [\"$secret\"]}" \
      || die "the receiver did not take the secret"
  fi
  submit_drained /svc/bench/echo/ "$round" "$LOG/$phase-$round" "$phase submissions"
  DELIVERED=nan
  if [[ "$phase" == hook ]]; then
    local deadline=$(($(date +%s) + DRAIN_TIMEOUT)) pending
    while true; do
      pending=$(sql "SELECT COUNT(*) FROM webhook_events WHERE status <> 'delivered'")
      [[ "$pending" == 0 ]] && break
      (($(date +%s) < deadline)) || die "$pending webhook events undelivered after ${DRAIN_TIMEOUT} s"
      sleep 0.2
    done
    [[ "$(sql "SELECT COUNT(*) FROM webhook_events")" == "$REQUESTS" ]] || die "not one event per request"
    [[ "$(sql "SELECT COUNT(*) FROM webhook_attempts WHERE outcome <> 'delivered' OR outcome IS NULL")" == 0 ]] || die "some attempts were not delivered (receiver refused a signature?)"
    row=$(sql "SELECT COUNT(*), (SELECT MIN(created_at) FROM webhook_events), MAX(finished_at) FROM webhook_attempts")
    IFS='|' read -r count first last <<<"$row"
    DELIVERED=$(awk -v n="$count" -v a="$first" -v b="$last" 'BEGIN { printf "%.1f", n * 1000 / (b - a) }')
  fi
  stop_serve
}

fmt() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }

declare -A COL
BUSY=()
TABLE="| round | completed/s, no endpoint | completed/s, one endpoint | with ÷ without | deliveries/s | other CPU |
|---|---:|---:|---:|---:|---:|"
for ((r = 1; r <= RUNS; r++)); do
  ROUND_BUSY=0
  for phase in none hook; do
    log "round $r/$RUNS: $phase ($REQUESTS submissions)"
    measure "$phase" "$r"
    COL[$phase-$r]=$E2E
    [[ "$phase" == hook ]] && COL[delivered-$r]=$DELIVERED
    log "round $r/$RUNS: $phase completed $E2E/s$([[ "$phase" == hook ]] && echo ", delivered $DELIVERED/s")"
  done
  BUSY+=("$ROUND_BUSY")
  COL[ratio-$r]=$(ratio "${COL[hook-$r]}" "${COL[none-$r]}")
  TABLE+="
| $r | $(fmt "${COL[none-$r]}") | $(fmt "${COL[hook-$r]}") | ${COL[ratio-$r]} | $(fmt "${COL[delivered-$r]}") | ${ROUND_BUSY}% |"
done

TABLE+="
| **median** | **$(fmt "$(col_median none)")** | **$(fmt "$(col_median hook)")** | **$(printf '%.3f' "$(col_median ratio)")** | **$(fmt "$(col_median delivered)")** | |"

write_report "Run $STAMP: \`bench/run-webhooks.sh\` with RUNS=$RUNS REQUESTS=$REQUESTS THREADS=$THREADS CONNECTIONS=$CONNECTIONS" "$TABLE"
