#!/usr/bin/env bash
# Switchboard admin panel and admin API benchmark (issues 8 and 21): req/s and latency of the admin
# JSON endpoints and the panel's HTML pages on a store seeded with tens of thousands of requests,
# on this build and on a BASELINE build measured in the same run, interleaved, on one embedded
# `serve` (SQLite) each. See bench/README.md, "Admin panel and admin API (issue 8)" and
# "This build against a baseline (issue 21)".
#
#   bench/run-panel.sh
#
# Steps: a fresh data dir with an admin (`root`, a random throwaway password) and a client user;
# a catalog with offers bench/echo (echo.render), bench/fail (echo.render told to fail
# permanently), bench/rare and the deal bench-pack (never asked for: their searches find nothing);
# serve (the baseline build); SEED_S seconds of unique-body POSTs (every FAIL_EVERY-th to
# bench/fail), drained; that serve stopped and its data dir copied, so that both builds serve the
# same rows (this build migrates its copy forward if it has newer migrations; the baseline never
# meets a store newer than itself); a serve of each build on its copy; a panel session from each
# one's login form; then RUNS rounds, each measuring every endpoint on both builds back to back
# (the baseline first in odd rounds, this build first in even ones) for DURATION seconds with wrk
# on one connection (one request at a time). Per endpoint: each build's req/s and this ÷ baseline,
# medians over the rounds.
#
# Environment (all optional):
#   RUNS=3          rounds; medians are taken over them
#   DURATION=3      seconds of each measured wrk run (per endpoint, build and round)
#   WARMUP=1        seconds of un-measured load per endpoint and build before the first round (JIT)
#   SEED_S=10       seconds of submissions that fill the store (wrk -t2 -c64)
#   FAIL_EVERY=100  every N-th submission of a wrk thread goes to the failing offer (0: none)
#   SPREAD_HOURS=0  after seeding, move each request's created_at back by (seq % N) hours, so the
#                   store holds N hours of history as a day of traffic would (0: all made now)
#   SERVE_ARGS=     extra arguments for `switchboard serve` (both builds)
#   DRAIN_TIMEOUT=120  seconds the executor gets to finish the seeded backlog
#   QUIET_MAX=15    before each round, wait (up to QUIET_WAIT=30 s) until the rest of the machine
#                   uses less than this % of all cores; the value seen is reported per round
#   SKIP_BUILD=1    use the existing Release build
#   SWITCHBOARD=    the Switchboard executable to measure (default: the Release build of src/Switchboard)
#   BASE_REF=f9c1309  the commit whose build is the baseline (default: the last commit before the
#                   panel became Razor Components, issue 21); built here from `git archive`
#   BASELINE=       the baseline's executable, already built (BASE_REF then only names it)
# Only 127.0.0.1 is ever loaded. Output: bench/out/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_start panel

RUNS=${RUNS:-3}
DURATION=${DURATION:-3}
WARMUP=${WARMUP:-1}
SEED_S=${SEED_S:-10}
FAIL_EVERY=${FAIL_EVERY:-100}
SPREAD_HOURS=${SPREAD_HOURS:-0}
SERVE_ARGS=${SERVE_ARGS:-}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-120}
BASE_REF=${BASE_REF:-f9c1309389e775e4bfcebc170aba53e98de2bb58}
BASELINE=${BASELINE:-}

need_apt wrk:wrk sqlite3:sqlite3 curl:curl python3:python3
command -v dotnet >/dev/null || die "dotnet is not installed"

build_switchboard
BASE_REF=$(git rev-parse --verify "$BASE_REF^{commit}") || die "BASE_REF is no commit of this repository"
if [[ -z "$BASELINE" ]]; then
  build_baseline "$BASE_REF" "the panel before Razor Components"
fi
[[ -x "$BASELINE" ]] || die "baseline executable missing ($BASELINE)"

# ---- the machine -------------------------------------------------------------------------------
describe_machine
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]] || COMMIT+=" with uncommitted changes"
log "RUNS=$RUNS DURATION=$DURATION WARMUP=$WARMUP SEED_S=$SEED_S FAIL_EVERY=$FAIL_EVERY SPREAD_HOURS=$SPREAD_HOURS SERVE_ARGS='$SERVE_ARGS'"
log "this build: $SWITCHBOARD (checkout at $COMMIT); baseline: ${BASE_REF:0:12} ($BASELINE)"

# ---- the baseline's serve with an admin, a client and the catalog ------------------------------
# The store is made and seeded by the baseline: this build can read an older store (it migrates
# it), the baseline a newer one not.
WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-panel.XXXXXX")
TMPDIRS+=("$WORK")
SB_DIR="$WORK/base"
SB_DB="$SB_DIR/switchboard.db"

# A throwaway password for a throwaway store (it is gone with the temp dir when the script ends).
ADMIN_PASSWORD="bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
ADMIN_KEY=$(SWITCHBOARD=$BASELINE new_key root --admin --password "$ADMIN_PASSWORD" --data "$SB_DIR")
CLIENT=client
CLIENT_KEY=$(SWITCHBOARD=$BASELINE new_key "$CLIENT" --credits 1000000000 --data "$SB_DIR")
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
"$BASELINE" catalog apply "$SB_DIR/catalog.yaml" --data "$SB_DIR" >"$LOG/catalog.log" 2>&1 \
  || die "catalog apply (see $LOG/catalog.log)"

# serve_build BUILD DIR LOG: a serve of BUILD (base or this) on DIR. Sets SB_PID and SB_URL.
serve_build() {
  local exe=$SWITCHBOARD
  [[ "$1" == base ]] && exe=$BASELINE
  # shellcheck disable=SC2086 # SERVE_ARGS is a list of words on purpose
  start_server "$3" /svc/ '"/svc/bench/fail/"' "$exe" serve --data "$2" $SERVE_ARGS
  SB_PID=$SERVER_PID
  SB_URL=$SERVER_URL
  log "$1 serve on $SB_URL (pid $SB_PID), data in $2"
}
serve_build base "$SB_DIR" "$LOG/serve-seeding.log"

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

# ---- the same rows for both builds -----------------------------------------------------------------
# Stopped first: the copy is then the whole store, WAL included, and the folder's lock free.
stop_process "$SB_PID"
cp -a "$SB_DIR" "$WORK/this"
declare -A URL DIR=([base]="$WORK/base" [this]="$WORK/this")
for b in base this; do
  serve_build "$b" "${DIR[$b]}" "$LOG/serve-$b.log"
  URL[$b]=$SB_URL
done
SB_DB="${DIR[this]}/switchboard.db"

# How SQLite runs the queries behind the slower endpoints on this build's copy (the text of
# RequestAdmin.Search and HourlyRequestCounts with the parameters filled in), for the README.
{
  for where in "" "AND r.status = 'failed'" "AND r.user_id = (SELECT id FROM users WHERE name = '$CLIENT')" \
    "AND r.kind = 'offer' AND r.service = 'bench' AND r.action = 'rare'" "AND r.kind = 'deal' AND r.service = 'deal' AND r.action = 'bench-pack'"; do
    echo "-- GET /admin/api/requests ${where:+($where)}"
    sql "EXPLAIN QUERY PLAN SELECT r.seq, r.id, r.kind, r.service, r.action, u.name, r.status, r.price, r.run, r.attempts, r.max_attempts, r.created_at FROM requests r JOIN users u ON u.id = r.user_id WHERE r.kind <> 'step' $where ORDER BY r.seq DESC LIMIT 51"
  done
  echo "-- dashboard: HourlyRequestCounts"
  sql "EXPLAIN QUERY PLAN SELECT created_at / 3600000 AS h, COUNT(*), SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), SUM(CASE WHEN status IN ('queued', 'running', 'waiting') THEN 1 ELSE 0 END) FROM requests WHERE created_at >= 0 GROUP BY h"
} >"$LOG/query-plans.txt" 2>&1

# ---- a panel session on each build, from its login form ---------------------------------------------
# login BUILD: GET /admin/login with a cookie jar, POST the form (user root, its password, every
# hidden field) as a browser does; it must answer a redirect to /admin/. Sets COOKIE[BUILD]: every
# cookie of the jar (the session and the antiforgery cookie, as a browser sends them both; curl
# writes HttpOnly cookies as "#HttpOnly_<domain>" lines).
declare -A COOKIE
login() {
  local b=$1 url=${URL[$1]} jar="$WORK/cookies-$1.txt" page="$WORK/login-$1.html" form action answer args=() i
  curl -fsS --max-time 10 -c "$jar" -b "$jar" "$url/admin/login" >"$page" || die "$b: GET /admin/login failed"
  form=$(python3 bench/login-form.py "$page") || die "$b: no login form in GET /admin/login"
  mapfile -t form <<<"$form"
  ((${#form[@]} > 3)) || die "$b: the login form has no hidden field (no antiforgery token)"
  case ${form[0]} in
    "") action="$url/admin/login" ;;
    http://* | https://*) action=${form[0]} ;;
    /*) action="$url${form[0]}" ;;
    *) action="$url/admin/${form[0]}" ;;
  esac
  args=(--data-urlencode "${form[1]}=root" --data-urlencode "${form[2]}=$ADMIN_PASSWORD")
  for ((i = 3; i < ${#form[@]}; i++)); do args+=(--data-urlencode "${form[i]}"); done
  answer=$(curl -sS --max-time 10 -c "$jar" -b "$jar" -o /dev/null -w '%{http_code} %{redirect_url}' "${args[@]}" "$action") \
    || die "$b: POST $action failed"
  [[ "$answer" =~ ^30[23]\ ${url}/admin/?$ ]] || die "$b: POST $action answered '$answer', not a redirect to /admin/"
  COOKIE[$b]=$(awk -F'\t' 'NF == 7 && ($1 !~ /^#/ || $1 ~ /^#HttpOnly_/) { printf "%s%s=%s", (n++ ? "; " : ""), $6, $7 }' "$jar")
  [[ "${COOKIE[$b]}" == *switchboard_admin=* ]] || die "$b: no switchboard_admin cookie after the login"
  log "$b: logged in to the panel as root (posted $(printf '%s\n' "${form[@]:1:2}" "${form[@]:3}" | sed 's/=.*//' | paste -sd ' '))"
}
for b in base this; do login "$b"; done

# ---- endpoints ------------------------------------------------------------------------------------
# label|path|auth (none, key: the admin's API key, cookie: the panel session)
ENDPOINTS=(
  "GET /healthz|/healthz|none"
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

# header_args BUILD AUTH: the -H arguments (one per line) for wrk or curl.
header_args() {
  case $2 in
    key) printf '%s\n' -H "Authorization: Bearer $ADMIN_KEY" ;;
    cookie) printf '%s\n' -H "Cookie: ${COOKIE[$1]}" ;;
  esac
}

# Each endpoint once on each build: it must answer 200 (a 302 to the login page or a problem fails
# the run); its size goes to the table.
declare -A BYTES
for b in base this; do
  for ((e = 0; e < N; e++)); do
    mapfile -t H < <(header_args "$b" "${AUTH[e]}")
    answer=$(curl -sS --max-time 30 "${H[@]}" -o "$LOG/answer-$b-$e.body" -w '%{http_code} %{size_download}' "${URL[$b]}${URLPATH[e]}") \
      || die "$b: ${LABEL[e]}: curl failed"
    [[ "${answer%% *}" == 200 ]] || die "$b: ${LABEL[e]} answered ${answer%% *}, not 200 (body in $LOG/answer-$b-$e.body)"
    BYTES[$b,$e]=${answer#* }
  done
  grep -q '"requests":\[{' "$LOG/answer-$b-2.body" || die "$b: GET /admin/api/requests?status=failed found no failed request"
  grep -q 'Requests per minute, last 24 h' "$LOG/answer-$b-6.body" || die "$b: /admin/ is not the dashboard (see $LOG/answer-$b-6.body)"
done
log "every endpoint answered 200 on both builds"

# measure BUILD E OUT SECONDS: one wrk run on one connection against endpoint E of BUILD, checked.
measure() {
  local b=$1 e=$2 out=$3 seconds=$4 n
  mapfile -t H < <(header_args "$b" "${AUTH[e]}")
  wrk -t1 -c1 "-d${seconds}s" --timeout 30s "${H[@]}" -s bench/get200.lua "${URL[$b]}${URLPATH[e]}" >"$out" 2>&1 \
    || die "wrk failed (see $out)"
  for n in non_200 socket_errors; do
    [[ "$(field "$out" "$n")" == 0 ]] || die "$n in $out ($b: ${LABEL[e]})"
  done
  [[ "$(field "$out" ok_200)" -gt 0 ]] || die "no answer in $out ($b: ${LABEL[e]})"
}

log "warm-up: ${WARMUP} s per endpoint and build"
for b in base this; do
  for ((e = 0; e < N; e++)); do measure "$b" "$e" "$LOG/warmup-$b-$e.txt" "$WARMUP"; done
done

# Each endpoint on both builds back to back, the order swapped every round: a slower stretch of
# the machine falls on both, and neither always runs right after the other's load.
declare -A RPS P50 P99 RATIO
BUSY=()
for ((r = 1; r <= RUNS; r++)); do
  ROUND_BUSY=0
  quiet_check "round $r"
  BUSY+=("$ROUND_BUSY")
  order=(base this)
  ((r % 2)) || order=(this base)
  # shellcheck disable=SC2034 # P50, P99 and RATIO are read through med's nameref
  for ((e = 0; e < N; e++)); do
    for b in "${order[@]}"; do
      out="$LOG/$r-$b-$e.txt"
      measure "$b" "$e" "$out" "$DURATION"
      RPS[$b,$e,$r]=$(field "$out" per_s)
      P50[$b,$e,$r]=$(field "$out" latency_p50_ms)
      P99[$b,$e,$r]=$(field "$out" latency_p99_ms)
    done
    RATIO[x,$e,$r]=$(ratio "${RPS[this,$e,$r]}" "${RPS[base,$e,$r]}")
  done
  log "round $r/$RUNS done (other processes before it: up to ${ROUND_BUSY}% CPU; dashboard: baseline ${RPS[base,6,$r]}/s, this build ${RPS[this,6,$r]}/s)"
done

# ---- report ----------------------------------------------------------------------------------------
# med ARRAY KEY: the median over the rounds of ARRAY[KEY,round].
med() {
  local -n a=$1
  local i
  for ((i = 1; i <= RUNS; i++)); do echo "${a[$2,$i]}"; done | median
}
fmt() { awk -v v="$1" -v d="${2:-0}" 'BEGIN { printf "%.*f", d, v }'; }

SUMMARY="| endpoint (medians of $RUNS rounds, 1 connection) | baseline req/s | this build req/s | this ÷ baseline | p50 ms, baseline / this | p99 ms, baseline / this | answer bytes, baseline / this |
|---|---:|---:|---:|---:|---:|---:|"
for ((e = 0; e < N; e++)); do
  SUMMARY+="
| \`${LABEL[e]}\` | $(fmt "$(med RPS "base,$e")") | $(fmt "$(med RPS "this,$e")") | **$(fmt "$(med RATIO "x,$e")" 3)** | $(fmt "$(med P50 "base,$e")" 2) / $(fmt "$(med P50 "this,$e")" 2) | $(fmt "$(med P99 "base,$e")" 2) / $(fmt "$(med P99 "this,$e")" 2) | ${BYTES[base,$e]} / ${BYTES[this,$e]} |"
done
HEAD="| endpoint |"
SEP="|---|"
for ((r = 1; r <= RUNS; r++)); do
  HEAD+=" round $r: baseline / this req/s (this ÷ baseline) |"
  SEP+="---:|"
done
TABLE="$HEAD
$SEP"
for ((e = 0; e < N; e++)); do
  TABLE+="
| \`${LABEL[e]}\` |"
  for ((r = 1; r <= RUNS; r++)); do
    TABLE+=" $(fmt "${RPS[base,$e,$r]}") / $(fmt "${RPS[this,$e,$r]}") (${RATIO[x,$e,$r]}) |"
  done
done
TABLE+="
| other CPU before the round |"
for ((r = 1; r <= RUNS; r++)); do TABLE+=" ${BUSY[r - 1]}% |"; done

write_report "Run $STAMP: \`bench/run-panel.sh\` with RUNS=$RUNS DURATION=$DURATION WARMUP=$WARMUP SEED_S=$SEED_S FAIL_EVERY=$FAIL_EVERY SPREAD_HOURS=$SPREAD_HOURS SERVE_ARGS='$SERVE_ARGS'; this build: the checkout at $COMMIT; baseline: ${BASE_REF:0:12}" \
"Store (made by the baseline, a copy for each build): $ROWS requests ($SUCCEEDED succeeded, $FAILED failed), $LEDGER_ROWS ledger rows, ${DB_MB} MB data dir; seeded at $(field "$LOG/seed.txt" accepted_per_s) accepted/s, drained ${DRAIN_S} s after the load (other CPU before the seeding: ${SEED_BUSY}%).

$SUMMARY

this ÷ baseline: the median of the per-round ratios (each endpoint's req/s on this build ÷ on the baseline, measured back to back). The endpoints neither build changed (\`/healthz\`, the admin API) show this machine's noise. Every run: wrk -t1 -c1, each answer checked to be 200.

$TABLE

Query plans (sqlite3 EXPLAIN QUERY PLAN on this build's copy of the store):

\`\`\`
$(cat "$LOG/query-plans.txt")
\`\`\`"
cp "$REPORT" "$OUT/panel-latest.md"
