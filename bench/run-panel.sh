#!/usr/bin/env bash
# Switchboard admin panel and admin API benchmark (issue 8): req/s and latency of the admin JSON
# endpoints and the panel's HTML pages on a store seeded with tens of thousands of requests, each
# beside GET /healthz measured in the same run, on one embedded `serve` (SQLite). See
# bench/README.md, "Admin panel and admin API (issue 8)".
#
#   bench/run-panel.sh
#
# Steps: a fresh data dir with an admin (`root`, a random throwaway password) and a client user;
# a catalog with offers bench/echo (echo.render), bench/fail (echo.render told to fail
# permanently), bench/rare and the deal bench-pack (never asked for: their searches find nothing);
# serve; SEED_S seconds of unique-body POSTs (every FAIL_EVERY-th to bench/fail),
# drained; a panel session cookie from the login form; then RUNS runs, each measuring every
# endpoint in turn for DURATION seconds with wrk on one connection (one request at a time).
#
# Environment (all optional):
#   RUNS=3          runs; medians are taken over them
#   DURATION=5      seconds of each measured wrk run (per endpoint and run)
#   WARMUP=2        seconds of un-measured load per endpoint before the first run (JIT)
#   SEED_S=20       seconds of submissions that fill the store (wrk -t2 -c64)
#   FAIL_EVERY=100  every N-th submission of a wrk thread goes to the failing offer (0: none)
#   SPREAD_HOURS=0  after seeding, move each request's created_at back by (seq % N) hours, so the
#                   store holds N hours of history as a day of traffic would (0: all made now)
#   SERVE_ARGS=     extra arguments for `switchboard serve`
#   DRAIN_TIMEOUT=120  seconds the executor gets to finish the seeded backlog
#   QUIET_MAX=15    before each run, wait (up to QUIET_WAIT=30 s) until the rest of the machine
#                   uses less than this % of all cores; the value seen is reported per run
#   SKIP_BUILD=1    use the existing Release build
#   SWITCHBOARD=    the Switchboard executable to measure (default: the Release build of src/Switchboard)
# Only 127.0.0.1 is ever loaded. Output: bench/out/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-2}
SEED_S=${SEED_S:-20}
FAIL_EVERY=${FAIL_EVERY:-100}
SPREAD_HOURS=${SPREAD_HOURS:-0}
SERVE_ARGS=${SERVE_ARGS:-}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-120}
QUIET_MAX=${QUIET_MAX:-15}
QUIET_WAIT=${QUIET_WAIT:-30}

SWITCHBOARD=${SWITCHBOARD:-src/Switchboard/bin/Release/net10.0/switchboard}
OUT=bench/out
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOG="$OUT/panel-$STAMP"
mkdir -p "$LOG"

log() { printf '[panel %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/lib.sh
source bench/lib.sh

own_cleanup

need_apt wrk:wrk sqlite3:sqlite3 curl:curl
command -v dotnet >/dev/null || die "dotnet is not installed"

build_switchboard

# ---- the machine -------------------------------------------------------------------------------
describe_machine
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
log "RUNS=$RUNS DURATION=$DURATION WARMUP=$WARMUP SEED_S=$SEED_S FAIL_EVERY=$FAIL_EVERY SPREAD_HOURS=$SPREAD_HOURS SERVE_ARGS='$SERVE_ARGS' SWITCHBOARD=$SWITCHBOARD (on $COMMIT)"

# ---- serve with an admin, a client and the catalog ----------------------------------------------
SB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-panel.XXXXXX")
TMPDIRS+=("$SB_DIR")
SB_DB="$SB_DIR/switchboard.db"

# A throwaway password for a throwaway store (it is gone with the temp dir when the script ends).
ADMIN_PASSWORD="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
ADMIN_KEY=$(new_key root --admin --password "$ADMIN_PASSWORD" --data "$SB_DIR")
CLIENT=client
CLIENT_KEY=$(new_key "$CLIENT" --credits 1000000000 --data "$SB_DIR")
{
  echo "$ECHO_CATALOG"
  cat <<'YAML'
  - service: bench
    action: fail
    handler: echo.render
    price: 1
    prompt_template: "Fail {text}"
    create_qty: 1
    params:
      fail: "told to fail by bench/run-panel.sh"
  - service: bench
    action: rare
    handler: echo.render
    price: 1
    prompt_template: "Never asked for {text}"
deals:
  - name: bench-pack
    offers:
      - {offer: bench/echo, pipeline: none}
      - {offer: bench/rare, pipeline: none}
YAML
} >"$SB_DIR/catalog.yaml"
"$SWITCHBOARD" catalog apply "$SB_DIR/catalog.yaml" --data "$SB_DIR" >"$LOG/catalog.log" 2>&1 \
  || die "catalog apply (see $LOG/catalog.log)"
# shellcheck disable=SC2086 # SERVE_ARGS is a list of words on purpose
start_server "$LOG/serve.log" /svc/ '"/svc/bench/fail/"' "$SWITCHBOARD" serve --data "$SB_DIR" $SERVE_ARGS
SB_PID=$SERVER_PID
SB_URL=$SERVER_URL
log "serve on $SB_URL (pid $SB_PID), data in $SB_DIR"

# ---- seed the store ------------------------------------------------------------------------------
ROUND_BUSY=0
quiet_check seeding
SEED_BUSY=$ROUND_BUSY
log "seeding: ${SEED_S} s of POST /svc/bench/echo/ (every ${FAIL_EVERY}th to /svc/bench/fail/), wrk -t2 -c64"
BENCH_KEY=$CLIENT_KEY BENCH_TAG="seed$STAMP" BENCH_FAIL_EVERY=$FAIL_EVERY \
  wrk -t2 -c64 "-d${SEED_S}s" -s bench/submit.lua "$SB_URL" >"$LOG/seed.txt" 2>&1 || die "wrk failed (see $LOG/seed.txt)"
for n in non_2xx other_2xx socket_errors; do
  [[ "$(field "$LOG/seed.txt" "$n")" == 0 ]] || die "$n in $LOG/seed.txt"
done
log "seeded: $(field "$LOG/seed.txt" accepted_202) requests accepted ($(field "$LOG/seed.txt" accepted_per_s)/s); draining"
T_DRAIN=$(now_ms)
drain
DRAIN_S=$((($(now_ms) - T_DRAIN) / 1000))
log "drained in ${DRAIN_S} s"
IFS='|' read -r ROWS SUCCEEDED FAILED OTHER <<<"$(sql "SELECT COUNT(*), SUM(status = 'succeeded'), SUM(status = 'failed'), SUM(status NOT IN ('succeeded', 'failed')) FROM requests")"
LEDGER_ROWS=$(sql "SELECT COUNT(*) FROM ledger")
DB_MB=$(du -sm "$SB_DIR" | awk '{ print $1 }')
log "store: $ROWS requests ($SUCCEEDED succeeded, $FAILED failed, $OTHER other), $LEDGER_ROWS ledger rows, ${DB_MB} MB on disk"
((ROWS >= 1000)) || die "only $ROWS requests in the store"
((FAILED > 0 || FAIL_EVERY == 0)) || die "no failed requests in the store (see $LOG/serve.log)"
{
  echo "bench: requests $ROWS"
  echo "bench: succeeded $SUCCEEDED"
  echo "bench: failed $FAILED"
  echo "bench: other $OTHER"
  echo "bench: ledger_rows $LEDGER_ROWS"
  echo "bench: data_dir_mb $DB_MB"
  echo "bench: drain_s $DRAIN_S"
} >>"$LOG/seed.txt"
if ((SPREAD_HOURS > 0)); then
  # Every request has finished (drained): moving created_at changes only what the dashboard
  # and the time filters read.
  sql "UPDATE requests SET created_at = created_at - (seq % $SPREAD_HOURS) * 3600000" >/dev/null
  log "spread the requests' created_at over $SPREAD_HOURS hours"
fi
# A failed request (charge and refund in its ledger) from the middle of the history.
SAMPLE_ID=$(sql "SELECT id FROM requests WHERE status = 'failed' ORDER BY seq LIMIT 1 OFFSET $((FAILED / 2))")
[[ -n "$SAMPLE_ID" ]] || SAMPLE_ID=$(sql "SELECT id FROM requests ORDER BY seq LIMIT 1 OFFSET $((ROWS / 2))")

# How SQLite runs the queries behind the slower endpoints (the text of RequestAdmin.Search and
# HourlyRequestCounts with the parameters filled in), for the reading in the README.
{
  for where in "" "AND r.status = 'failed'" "AND r.user_id = (SELECT id FROM users WHERE name = '$CLIENT')" \
    "AND r.kind = 'offer' AND r.service = 'bench' AND r.action = 'rare'" "AND r.kind = 'deal' AND r.service = 'deal' AND r.action = 'bench-pack'"; do
    echo "-- GET /admin/api/requests ${where:+($where)}"
    sql "EXPLAIN QUERY PLAN SELECT r.seq, r.id, r.kind, r.service, r.action, u.name, r.status, r.price, r.run, r.attempts, r.max_attempts, r.created_at FROM requests r JOIN users u ON u.id = r.user_id WHERE r.kind <> 'step' $where ORDER BY r.seq DESC LIMIT 51"
  done
  echo "-- dashboard: HourlyRequestCounts"
  sql "EXPLAIN QUERY PLAN SELECT created_at / 3600000 AS h, COUNT(*), SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), SUM(CASE WHEN status IN ('queued', 'running', 'waiting') THEN 1 ELSE 0 END) FROM requests WHERE created_at >= 0 GROUP BY h"
} >"$LOG/query-plans.txt" 2>&1

# ---- the panel's session cookie, from the login form -----------------------------------------------
JAR="$SB_DIR/cookies.txt"
curl -fsS --max-time 10 -c "$JAR" -b "$JAR" "$SB_URL/admin/login" >"$SB_DIR/login.html" || die "GET /admin/login failed"
TOKEN_NAME=$(sed -n 's/.*<input type="hidden" name="\([^"]*\)" value="[^"]*".*/\1/p' "$SB_DIR/login.html" | head -n 1)
TOKEN_VALUE=$(sed -n 's/.*<input type="hidden" name="[^"]*" value="\([^"]*\)".*/\1/p' "$SB_DIR/login.html" | head -n 1)
[[ -n "$TOKEN_NAME" && -n "$TOKEN_VALUE" ]] || die "no antiforgery field in the login form"
LOGIN=$(curl -sS --max-time 10 -c "$JAR" -b "$JAR" -o /dev/null -w '%{http_code} %{redirect_url}' \
  --data-urlencode "username=root" --data-urlencode "password=$ADMIN_PASSWORD" --data-urlencode "$TOKEN_NAME=$TOKEN_VALUE" \
  "$SB_URL/admin/login") || die "POST /admin/login failed"
[[ "$LOGIN" == "302 $SB_URL/admin/" ]] || die "POST /admin/login answered '$LOGIN', not a redirect to /admin/"
# Every cookie of the jar (the session and the antiforgery cookie, as a browser sends them both;
# curl writes HttpOnly cookies as "#HttpOnly_<domain>" lines).
COOKIE=$(awk -F'\t' 'NF == 7 && ($1 !~ /^#/ || $1 ~ /^#HttpOnly_/) { printf "%s%s=%s", (n++ ? "; " : ""), $6, $7 }' "$JAR")
[[ "$COOKIE" == *switchboard_admin=* ]] || die "no switchboard_admin cookie after the login"
log "logged in to the panel as root (token field $TOKEN_NAME)"

# ---- endpoints ------------------------------------------------------------------------------------
# label|path|auth (none, key: the admin's API key, cookie: the panel session)
ENDPOINTS=(
  "GET /healthz (baseline)|/healthz|none"
  "GET /admin/api/requests|/admin/api/requests|key"
  "GET /admin/api/requests?status=failed|/admin/api/requests?status=failed|key"
  "GET /admin/api/requests?user=$CLIENT|/admin/api/requests?user=$CLIENT|key"
  "GET /admin/api/requests/{id}|/admin/api/requests/$SAMPLE_ID|key"
  "GET /admin/api/health|/admin/api/health|key"
  "panel /admin/ (dashboard)|/admin/|cookie"
  "panel /admin/requests|/admin/requests|cookie"
  "panel /admin/requests?status=failed|/admin/requests?status=failed|cookie"
  "panel /admin/resources|/admin/resources|cookie"
  "panel /admin/users|/admin/users|cookie"
  "GET /admin/api/requests?offer=bench/fail|/admin/api/requests?offer=bench/fail|key"
  "GET /admin/api/requests?offer=bench/rare (none)|/admin/api/requests?offer=bench/rare|key"
  "GET /admin/api/requests?deal=bench-pack (none)|/admin/api/requests?deal=bench-pack|key"
)
N=${#ENDPOINTS[@]}
LABEL=() URLPATH=() AUTH=()
for ((e = 0; e < N; e++)); do
  IFS='|' read -r l u a <<<"${ENDPOINTS[e]}"
  LABEL+=("$l") URLPATH+=("$u") AUTH+=("$a")
done

# header_args AUTH: the -H arguments (one per line) for wrk or curl.
header_args() {
  case $1 in
    key) printf '%s\n' -H "Authorization: Bearer $ADMIN_KEY" ;;
    cookie) printf '%s\n' -H "Cookie: $COOKIE" ;;
  esac
}

# Each endpoint once: it must answer 200 (a 302 to the login page or a problem fails the run);
# its size goes to the table.
declare -A BYTES
for ((e = 0; e < N; e++)); do
  mapfile -t H < <(header_args "${AUTH[e]}")
  answer=$(curl -sS --max-time 30 "${H[@]}" -o "$LOG/answer-$e.body" -w '%{http_code} %{size_download}' "$SB_URL${URLPATH[e]}") \
    || die "${LABEL[e]}: curl failed"
  [[ "${answer%% *}" == 200 ]] || die "${LABEL[e]} answered ${answer%% *}, not 200 (body in $LOG/answer-$e.body)"
  BYTES[$e]=${answer#* }
done
grep -q '"requests":\[{' "$LOG/answer-2.body" || die "GET /admin/api/requests?status=failed found no failed request"
grep -q 'Requests per minute, last 24 h' "$LOG/answer-6.body" || die "/admin/ is not the dashboard (see $LOG/answer-6.body)"
log "every endpoint answered 200"

# measure E OUT SECONDS: one wrk run on one connection against endpoint E, checked.
measure() {
  local e=$1 out=$2 seconds=$3 n
  mapfile -t H < <(header_args "${AUTH[e]}")
  wrk -t1 -c1 "-d${seconds}s" --timeout 30s "${H[@]}" -s bench/get200.lua "$SB_URL${URLPATH[e]}" >"$out" 2>&1 \
    || die "wrk failed (see $out)"
  for n in non_200 socket_errors; do
    [[ "$(field "$out" "$n")" == 0 ]] || die "$n in $out (${LABEL[e]})"
  done
  [[ "$(field "$out" ok_200)" -gt 0 ]] || die "no answer in $out (${LABEL[e]})"
}

log "warm-up: ${WARMUP} s per endpoint"
for ((e = 0; e < N; e++)); do measure "$e" "$LOG/warmup-$e.txt" "$WARMUP"; done

declare -A RPS P50 P99 RATIO
BUSY=()
for ((r = 1; r <= RUNS; r++)); do
  ROUND_BUSY=0
  quiet_check "run $r"
  BUSY+=("$ROUND_BUSY")
  for ((e = 0; e < N; e++)); do
    out="$LOG/$r-$e.txt"
    measure "$e" "$out" "$DURATION"
    RPS[$e,$r]=$(field "$out" per_s)
    P50[$e,$r]=$(field "$out" latency_p50_ms)
    P99[$e,$r]=$(field "$out" latency_p99_ms)
  done
  # shellcheck disable=SC2034 # RATIO is read through med's nameref
  for ((e = 0; e < N; e++)); do RATIO[$e,$r]=$(ratio "${RPS[$e,$r]}" "${RPS[0,$r]}"); done
  log "run $r/$RUNS done (other processes before it: up to ${ROUND_BUSY}% CPU; /healthz ${RPS[0,$r]}/s, dashboard ${RPS[6,$r]}/s)"
done

# ---- report ----------------------------------------------------------------------------------------
med() {
  local -n a=$1
  local i
  for ((i = 1; i <= RUNS; i++)); do echo "${a[$2,$i]}"; done | median
}
fmt() { awk -v v="$1" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, v }'; }

SUMMARY="| endpoint (medians of $RUNS runs, 1 connection) | req/s | p50 ms | p99 ms | req/s ÷ /healthz | answer bytes |
|---|---:|---:|---:|---:|---:|"
for ((e = 0; e < N; e++)); do
  SUMMARY+="
| \`${LABEL[e]}\` | $(fmt "$(med RPS "$e")") | $(fmt "$(med P50 "$e")" 2) | $(fmt "$(med P99 "$e")" 2) | $(fmt "$(med RATIO "$e")" 3) | ${BYTES[$e]} |"
done
HEAD="| endpoint |"
SEP="|---|"
for ((r = 1; r <= RUNS; r++)); do
  HEAD+=" run $r req/s (p50 / p99 ms) |"
  SEP+="---:|"
done
TABLE="$HEAD
$SEP"
for ((e = 0; e < N; e++)); do
  TABLE+="
| \`${LABEL[e]}\` |"
  for ((r = 1; r <= RUNS; r++)); do
    TABLE+=" $(fmt "${RPS[$e,$r]}") ($(fmt "${P50[$e,$r]}" 2) / $(fmt "${P99[$e,$r]}" 2)) |"
  done
done
TABLE+="
| other CPU before the run |"
for ((r = 1; r <= RUNS; r++)); do TABLE+=" ${BUSY[r - 1]}% |"; done

REPORT="$OUT/panel-results-$STAMP.md"
{
  echo "Run $STAMP on $COMMIT: \`bench/run-panel.sh\` with RUNS=$RUNS DURATION=$DURATION WARMUP=$WARMUP SEED_S=$SEED_S FAIL_EVERY=$FAIL_EVERY SPREAD_HOURS=$SPREAD_HOURS SERVE_ARGS='$SERVE_ARGS'"
  echo
  echo "Machine: $MACHINE"
  echo
  echo "Store: $ROWS requests ($SUCCEEDED succeeded, $FAILED failed), $LEDGER_ROWS ledger rows, ${DB_MB} MB data dir; seeded at $(field "$LOG/seed.txt" accepted_per_s) accepted/s, drained ${DRAIN_S} s after the load (other CPU before the seeding: ${SEED_BUSY}%)."
  echo
  echo "$SUMMARY"
  echo
  echo "req/s ÷ /healthz: the median of the per-run ratios (each endpoint against the /healthz of its run). Every run: wrk -t1 -c1, each answer checked to be 200."
  echo
  echo "$TABLE"
  echo
  echo "Query plans (sqlite3 EXPLAIN QUERY PLAN on the seeded store):"
  echo
  echo '```'
  cat "$LOG/query-plans.txt"
  echo '```'
} >"$REPORT"
cp "$REPORT" "$OUT/panel-latest.md"

echo
cat "$REPORT"
echo
log "markdown table: $REPORT (raw wrk output and the server log: $LOG)"
