#!/usr/bin/env bash
# Cost growth (issue 23): how submit and claim latency, the reads (a request by id, the user's
# list, the admin search), recon's pass and each process's memory change as the store fills with
# finished requests and as a backlog of queued requests builds up; on the embedded `serve`
# (SQLite) and on the distributed roles (api + executor + recon on PostgreSQL and Redis). See
# bench/README.md, "Issue 23: cost growth and scaling".
#
#   bench/run-growth.sh
#   SIZES="1000 10000" BACKLOGS="1000" bench/run-growth.sh      # a quick check, end to end
#
# Per mode (MODES), on one fresh store:
#   1. The users (USERS clients u1…uN with 10⁹ credits each, an admin `root`) and a catalog of
#      two offers: bench/echo (echo.render, which the executor serves) and bench/chat (openai.chat,
#      which no process serves: `serve --handlers echo.render`, `executor --handlers echo.render`).
#   2. TEMPLATES real requests per user through the API, finished: the rows the seed copies.
#   3. Per size S in SIZES (ascending): the processes stopped, the store filled to S requests by
#      copies of the templates (INSERT … SELECT straight into SQLite or PostgreSQL, CHUNK rows per
#      transaction, a charge in the ledger for each as the real submit writes; created_at spread
#      1 s apart before the run, the other times shifted with it), PostgreSQL vacuumed and
#      analysed (as autovacuum would have); the processes started again, WARMUP requests of
#      u1 (drained, for the JIT), then the phase "size S" is measured (below). The seed stops
#      WARMUP + SUBMITS short of S: the warm-up and the phase's own submissions make up the rest.
#   4. Backlogs: a second fresh store filled to SIZES' first size (steps 1–3), then per backlog B
#      in BACKLOGS (ascending) as many more POSTs to bench/chat as make B queued requests that no
#      executor takes (wrk -t2 -cBACKLOG_CONNECTIONS, spread over the users, through the API, so
#      the queue holds them as it would), and the phase "backlog B" is measured.
# Each phase measures, once the machine is quiet (quiet_check):
#   submit   SUBMITS POSTs to bench/echo by u1, one at a time (wrk -t1 -c1, bench/submit.lua with
#            BENCH_REQUESTS): wrk's p50/p99;
#   claim    started_at − created_at of those requests, from the store (p50/p99): at this low load
#            it is the dispatch and the claim, not a queue;
#   get_old, get_new  GET /svc/request/<id>/ of u1's oldest seeded request and newest request;
#   get_queued        (backlog phases) GET of a queued bench/chat request from the middle of the backlog;
#   list     GET /svc/requests/ of u1 (the first page, newest first);
#   search   GET /admin/api/requests?user=u2 by the admin (the first page);
#            each read GET_S seconds of calls one at a time (wrk -t1 -c1 bench/get200.lua, every
#            answer a 200): p50/p99;
#   recon    CPU of the process that runs recon over RECON_WINDOW idle seconds ÷ the passes in it
#            (one per 2 s, ReconInterval): ms of CPU per pass. The embedded serve runs everything,
#            so its figure is the whole idle process per 2 s; distributed: the recon process, and
#            PostgreSQL's CPU over the same window per pass (all processes' idle queries), and the
#            time of the recon process's statements in PostgreSQL per pass, all and those on
#            requests (its sessions log every statement's duration: recon_statements). There is
#            no recon duration metric (Observability/SwitchboardMetrics.cs) nor a log line per
#            pass to read instead;
#   rss      VmRSS of every process (/proc/PID/status) after the phase; PostgreSQL: the sum over
#            its processes (shared buffers counted in each that touched them); Redis;
#   store    the SQLite file with its WAL, or pg_database_size.
# Every figure is also given ÷ the same figure of SIZES' first size (the issue's reference, 10⁴).
#
# Environment (all optional):
#   MODES="embedded distributed"
#   SIZES="10000 100000 1000000"   requests in the store per size phase (ascending)
#   BACKLOGS="10000 100000"        queued requests per backlog phase (ascending; "" for none)
#   USERS=4                        client users the seeded requests are spread over
#   TEMPLATES=50                   real requests per user copied by the seed
#   CHUNK=50000                    seeded rows per transaction
#   WARMUP=2000                    requests of u1 after each start, drained, not measured
#   SUBMITS=500                    measured sequential submissions per phase
#   GET_S=3                        seconds of sequential GETs per read and phase
#   RECON_WINDOW=30                idle seconds over which recon is measured (30: one sweep of the
#                                  queued requests from the oldest, ReconService.SweepInterval)
#   RECON_SETTLE=5                 idle seconds before that window (the JIT's background work after the load)
#   BACKLOG_CONNECTIONS=16         wrk connections that build the backlog
#   PG_SETTINGS="-c shared_buffers=512MB"   as in run-distributed.sh (durable defaults otherwise)
#   PLOTS=bench                    where the SVG plots go (bench/growth-*.svg, shown in the README)
#   DRAIN_TIMEOUT=300, QUIET_MAX=15, QUIET_WAIT=30, SKIP_BUILD=1, SWITCHBOARD=   as in the other scripts
# Only 127.0.0.1 is used. Output: bench/out/growth-results-<time>.md, logs in bench/out/growth-<time>/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_start growth
# shellcheck source=scripts/services.sh
source scripts/services.sh

MODES=${MODES:-embedded distributed}
SIZES=${SIZES:-10000 100000 1000000}
BACKLOGS=${BACKLOGS-10000 100000}
USERS=${USERS:-4}
TEMPLATES=${TEMPLATES:-50}
CHUNK=${CHUNK:-50000}
WARMUP=${WARMUP:-2000}
SUBMITS=${SUBMITS:-500}
GET_S=${GET_S:-3}
RECON_WINDOW=${RECON_WINDOW:-30}
RECON_SETTLE=${RECON_SETTLE:-5}
BACKLOG_CONNECTIONS=${BACKLOG_CONNECTIONS:-16}
PG_SETTINGS=${PG_SETTINGS:--c shared_buffers=512MB}
PLOTS=${PLOTS:-bench}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-300}
[[ "$SWITCHBOARD" == /* ]] || SWITCHBOARD="$ROOT/$SWITCHBOARD"
RECON_INTERVAL_S=2
CLK_TCK=$(getconf CLK_TCK)
ROUND_BUSY=0

# Besides lib.sh's cleanup: PostgreSQL and Redis when they were started.
cleanup() {
  local status=$?
  set +e
  kill_owned
  stop_services
  exit "$status"
}
trap cleanup EXIT

need_apt wrk:wrk sqlite3:sqlite3 curl:curl
command -v dotnet >/dev/null || die "dotnet is not installed"
build_switchboard

WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-growth.XXXXXX")
chmod 755 "$WORK"
TMPDIRS+=("$WORK")

EXTRA=()
if [[ " $MODES " == *" distributed "* ]]; then
  need_apt psql:postgresql-client
  ensure_packages >"$LOG/services-install.log" 2>&1 || die "installing PostgreSQL / Redis (see $LOG/services-install.log)"
  # shellcheck disable=SC2086 # PG_SETTINGS is a list of words on purpose
  start_db_services "$WORK/svc" $PG_SETTINGS
  EXTRA+=("${DB_VERSIONS[@]}")
fi
describe_machine "${EXTRA[@]}"
log "MODES='$MODES' SIZES='$SIZES' BACKLOGS='$BACKLOGS' USERS=$USERS TEMPLATES=$TEMPLATES CHUNK=$CHUNK WARMUP=$WARMUP SUBMITS=$SUBMITS GET_S=$GET_S RECON_WINDOW=$RECON_WINDOW"
FIRST_SIZE=${SIZES%% *}

# ---- helpers -----------------------------------------------------------------------------------
# percentiles: "p50 p99" of the numbers on stdin (nearest rank).
percentiles() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "nan nan"; exit } i = int(NR * 0.5 + 0.5); j = int(NR * 0.99 + 0.5); if (i < 1) i = 1; if (j < 1) j = 1; print v[i], v[j] }'; }
rss_mb() { awk '/^VmRSS/ { printf "%.0f", $2 / 1024; found = 1 } END { if (!found) print "nan" }' "/proc/$1/status" 2>/dev/null || echo nan; }
ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_pids() { local pm; pm=$(head -n 1 "$WORK/svc/pg/postmaster.pid"); echo "$pm"; ps -o pid= --ppid "$pm"; }
pg_ticks() { local p t=0; for p in $(pg_pids); do t=$((t + $(ticks "$p"))); done; echo "$t"; }
pg_rss_mb() { local p; for p in $(pg_pids); do awk '/^VmRSS/ { print $2 }' "/proc/$p/status" 2>/dev/null; done | awk '{ s += $1 } END { printf "%.0f", s / 1024 }'; }

# store_sql SQL: on the mode's store (sqlite3 on SB_DB, or psql on database DB).
store_sql() {
  if [[ "$MODE" == embedded ]]; then sql "$1"; else psql_db "$DB" "$1"; fi
}

# The catalog: echo.render (served) and openai.chat (nobody serves it; its endpoint is a closed
# port of 127.0.0.1 that no request ever reaches).
write_catalog() {
  {
    echo "$ECHO_CATALOG" | awk '{ print } /^    resource: local$/ && !done { print "  - id: openai.chat\n    credits: 1\n    resource: local"; done = 1 }'
    cat <<'YAML'
  - service: bench
    action: chat
    handler: openai.chat
    price: 1
    prompt_template: "Echo {text}"
    create_qty: 1
    params: {model: bench}
YAML
  } >"$WORK/catalog.yaml"
  printf 'openai:\n  base_url: http://127.0.0.1:9/v1\n' >"$WORK/svc_handlers.yaml"
}

# ---- the processes of a mode -------------------------------------------------------------------
# start_mode: serve, or recon + executor + api. Sets URL and ROLES (role:pid).
start_mode() {
  local pid i
  ROLES=()
  if [[ "$MODE" == embedded ]]; then
    start_server "$LOG/$TAG-serve.log" /svc/ '"/svc/bench/echo/"' "$SWITCHBOARD" serve --data "$SB_DIR" --handlers echo.render
    URL=$SERVER_URL
    ROLES=("serve:$SERVER_PID")
    return 0
  fi
  "$SWITCHBOARD" recon --config "$CFG_RECON" >>"$LOG/$TAG-recon.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  ROLES+=("recon:$pid")
  "$SWITCHBOARD" executor --config "$CFG" --handlers echo.render >>"$LOG/$TAG-executor.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  ROLES+=("executor:$pid")
  for ((i = 0; i < 600; i++)); do
    grep -qs "Recon started" "$LOG/$TAG-recon.log" && grep -qs "Executor started" "$LOG/$TAG-executor.log" && break
    { kill -0 "${ROLES[0]#*:}" && kill -0 "${ROLES[1]#*:}"; } 2>/dev/null || die "recon or executor exited at start (see $LOG/$TAG-*.log)"
    sleep 0.1
  done
  start_server "$LOG/$TAG-api.log" /svc/ '"/svc/bench/echo/"' "$SWITCHBOARD" api --config "$CFG"
  URL=$SERVER_URL
  ROLES=("api:$SERVER_PID" "${ROLES[@]}")
}

stop_mode() {
  local entry
  for entry in "${ROLES[@]}"; do stop_process "${entry#*:}"; done
  ROLES=()
}

# new_store: a fresh store with the users and the catalog. Sets SB_DIR/SB_DB or CFG/DB, KEYS
# (KEYS[1] … KEYS[USERS]) and ADMIN_KEY.
declare -a KEYS
STORE_N=0
new_store() {
  local store i
  STORE_N=$((STORE_N + 1))
  if [[ "$MODE" == embedded ]]; then
    SB_DIR="$WORK/sqlite-$STORE_N"
    # shellcheck disable=SC2034 # lib.sh's sql reads it
    SB_DB="$SB_DIR/switchboard.db"
    store=(--data "$SB_DIR")
  else
    DB="growth_$STORE_N"
    CFG="$WORK/$DB.yaml"
    new_pg_store "$DB" "$CFG"
    store=(--config "$CFG")
    # recon's: the same store, its sessions named and every statement of theirs logged with its
    # duration (PostgreSQL's log, read by recon_statements).
    CFG_RECON="$WORK/$DB-recon.yaml"
    sed "s|Database=$DB'|Database=$DB;Application Name=growth-recon;Options=-c log_min_duration_statement=0'|" "$CFG" >"$CFG_RECON"
  fi
  ADMIN_KEY=$(new_key root --admin "${store[@]}")
  for ((i = 1; i <= USERS; i++)); do KEYS[i]=$(new_key "u$i" --credits 1000000000 "${store[@]}"); done
  "$SWITCHBOARD" catalog apply "$WORK/catalog.yaml" "${store[@]}" >"$LOG/$TAG-catalog.log" 2>&1 || die "catalog apply (see $LOG/$TAG-catalog.log)"
  "$SWITCHBOARD" config push "$WORK/svc_handlers.yaml" --id svc_handlers "${store[@]}" >>"$LOG/$TAG-catalog.log" 2>&1 || die "config push (see $LOG/$TAG-catalog.log)"
}

# submit_n OUT KEY PATH N THREADS CONNECTIONS TAG: exactly N POSTs (bench/submit.lua), all 202.
submit_n() {
  local out=$1 done_dir k
  done_dir=$(mktemp -d "$WORK/wrk.XXXXXX")
  BENCH_KEY=$2 BENCH_PATH=$3 BENCH_REQUESTS=$4 BENCH_THREADS=$5 BENCH_TAG=$7 BENCH_DONE_DIR=$done_dir \
    wrk "-t$5" "-c$6" -d600s -s bench/submit.lua "$URL" >"$out" 2>&1 || die "wrk failed (see $out)"
  rm -rf -- "$done_dir"
  for k in non_2xx other_2xx; do
    [[ "$(field "$out" "$k")" == 0 ]] || die "$k in $out"
  done
  # Every request answered with a 202. wrk's socket errors are not checked: its timeout count
  # includes the connections that wait, their share sent, for more than 2 s before the last
  # answer of a slow run (submit.lua parks them), which lose nothing.
  [[ "$(field "$out" accepted_202)" == "$4" ]] || die "wrk counted $(field "$out" accepted_202) 202s, not $4 (see $out)"
}

# Until no echo.render request is queued or running (the unserved backlog stays queued).
drain_echo() {
  local deadline=$(($(date +%s) + DRAIN_TIMEOUT)) pending
  while true; do
    pending=$(store_sql "SELECT COUNT(*) FROM requests WHERE status IN ('queued', 'running') AND handler = 'echo.render'")
    [[ "$pending" == 0 ]] && return 0
    (($(date +%s) < deadline)) || die "$pending requests still pending after ${DRAIN_TIMEOUT} s (logs in $LOG)"
    sleep 0.2
  done
}

# ---- the seed ------------------------------------------------------------------------------------
# seed_to N: copies of the template rows (the first TEMPLATE_MAX_SEQ rows, all real and finished)
# until the store holds N requests; processes stopped.
SEED_INDEX=0
seed_to() {
  local target=$1 have n cols c e g0 chunk maxseq t
  have=$(store_sql "SELECT COUNT(*) FROM requests")
  n=$((target - have))
  ((n > 0)) || return 0
  # Every column but seq, as the table has it now (later migrations' columns included); the id
  # and the times are made per copy, the rest is the template's.
  if [[ "$MODE" == embedded ]]; then
    cols=$(sql "SELECT name FROM pragma_table_info('requests') WHERE name <> 'seq' ORDER BY cid")
  else
    cols=$(psql_db "$DB" "SELECT column_name FROM information_schema.columns WHERE table_name = 'requests' AND column_name <> 'seq' ORDER BY ordinal_position")
  fi
  local list="" exprs=""
  for c in $cols; do
    list+="${list:+, }$c"
    case $c in
      # 32 hex digits like a real id: the template's first 20 and the copy's number in 12.
      id) if [[ "$MODE" == embedded ]]; then e="substr(t.id, 1, 20) || printf('%012x', g.i)"; else e="left(t.id, 20) || lpad(to_hex(g.i), 12, '0')"; fi ;;
      created_at) e="$SEED_BASE + g.i * 1000" ;;
      updated_at | started_at | finished_at) e="$SEED_BASE + g.i * 1000 + (t.$c - t.created_at)" ;;
      *) e="t.$c" ;;
    esac
    exprs+="${exprs:+, }$e"
  done
  t=$(now_ms)
  while ((n > 0)); do
    chunk=$((n < CHUNK ? n : CHUNK))
    g0=$SEED_INDEX
    maxseq=$(store_sql "SELECT COALESCE(MAX(seq), 0) FROM requests")
    local tpl="SELECT row_number() OVER (ORDER BY seq) - 1 AS k, * FROM requests WHERE seq <= $TEMPLATE_MAX_SEQ AND status = 'succeeded'"
    local ledger="INSERT INTO ledger (user_id, kind, amount, request_id, request_seq, run, created_at)
      SELECT user_id, 'charge', -price, id, seq, run, created_at FROM requests WHERE seq > $maxseq AND price > 0;"
    if [[ "$MODE" == embedded ]]; then
      sql "BEGIN;
        WITH RECURSIVE g(i) AS (SELECT $g0 UNION ALL SELECT i + 1 FROM g WHERE i < $((g0 + chunk - 1))),
          t AS ($tpl)
        INSERT INTO requests ($list) SELECT $exprs FROM g JOIN t ON t.k = g.i % $TEMPLATE_COUNT ORDER BY g.i;
        $ledger
        COMMIT;" >/dev/null || die "seeding SQLite failed"
    else
      psql_db "$DB" "BEGIN;
        INSERT INTO requests ($list)
          SELECT $exprs FROM generate_series($g0, $((g0 + chunk - 1))) AS g(i) JOIN ($tpl) t ON t.k = g.i % $TEMPLATE_COUNT ORDER BY g.i;
        $ledger
        COMMIT;" >/dev/null || die "seeding PostgreSQL failed"
    fi
    SEED_INDEX=$((SEED_INDEX + chunk))
    n=$((n - chunk))
  done
  if [[ "$MODE" == distributed ]]; then
    psql_db "$DB" "VACUUM ANALYZE requests" >/dev/null || die "VACUUM ANALYZE requests failed"
    psql_db "$DB" "VACUUM ANALYZE ledger" >/dev/null || die "VACUUM ANALYZE ledger failed"
  fi
  log "$TAG: seeded to $(store_sql "SELECT COUNT(*) FROM requests") requests in $((($(now_ms) - t) / 1000)) s"
}

# recon_statements FROM TO PIDS…: from PostgreSQL's log between byte offsets FROM and TO, the
# entries of the backends PIDS with a duration (log_min_duration_statement=0 on recon's sessions;
# a statement's text may go on over several lines): prints "ALL_MS REQUESTS_MS ENTRIES", the sum
# of the durations (parse, bind and execute each count) of all of them and of those whose text
# names the requests table (recon's scans and repairs, the health watch's queue counts), and how
# many entries there were.
recon_statements() {
  local from=$1 to=$2
  shift 2
  tail -c "+$((from + 1))" "$WORK/svc/pg.log" | head -c "$((to - from))" \
    | awk -v pids=" $* " '
      function take(r,    f, pid, d) {
        split(r, f, " ")
        pid = f[4]; gsub(/[\[\]]/, "", pid)
        if (index(pids, " " pid " ") == 0 || !match(r, /duration: [0-9.]+ ms/)) return
        d = substr(r, RSTART + 10, RLENGTH - 13) + 0
        all += d; n++
        if (r ~ /requests/) req += d
      }
      /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] / { if (rec != "") take(rec); rec = $0; next }
      { rec = rec " " $0 }
      END { if (rec != "") take(rec); printf "%.2f %.2f %d\n", all, req, n }'
}
recon_pids() { psql_db postgres "SELECT pid FROM pg_stat_activity WHERE application_name = 'growth-recon'" | tr '\n' ' '; }

# ---- one phase -----------------------------------------------------------------------------------
declare -A V  # V[mode,phase,figure]
PHASES=()     # mode|phase|x (x: the store size, for the plots)

# put KEY FIGURE "P50 P99": V[KEY,FIGURE_p50] and V[KEY,FIGURE_p99].
put() {
  local p50 p99
  read -r p50 p99 <<<"$3"
  V[$1,${2}_p50]=$p50
  V[$1,${2}_p99]=$p99
}

# get_p OUT PATH KEY: GET_S seconds of GET PATH one at a time; sets GP (p50 p99).
get_p() {
  wrk -t1 -c1 "-d${GET_S}s" -s bench/get200.lua -H "Authorization: Bearer $3" "$URL$2" >"$1" 2>&1 || die "wrk failed (see $1)"
  [[ "$(field "$1" non_200)" == 0 && "$(field "$1" socket_errors)" == 0 ]] || die "GET $2: not every answer was a 200 (see $1)"
  GP="$(field "$1" latency_p50_ms) $(field "$1" latency_p99_ms)"
}

measure() { # measure PHASE X
  local phase=$1 x=$2 p out t0 entry role a b w busy0 busy1 old new queued u1 log0 rpids rsum rreq rlines
  local k="$MODE,$phase"
  PHASES+=("$MODE|$phase|$x")
  out="$LOG/$TAG-$phase"
  quiet_check "$MODE $phase"
  V[$k,busy]=$ROUND_BUSY
  ROUND_BUSY=0
  t0=$(now_ms)
  submit_n "$out-submit.txt" "${KEYS[1]}" /svc/bench/echo/ "$SUBMITS" 1 1 "m-$phase"
  put "$k" submit "$(field "$out-submit.txt" latency_p50_ms) $(field "$out-submit.txt" latency_p99_ms)"
  drain_echo
  put "$k" claim "$(store_sql "SELECT started_at - created_at FROM requests WHERE created_at >= $t0 AND handler = 'echo.render'" | percentiles)"
  u1=$(store_sql "SELECT id FROM users WHERE name = 'u1'")
  old=$(store_sql "SELECT id FROM requests WHERE user_id = '$u1' ORDER BY seq LIMIT 1 OFFSET $TEMPLATES")
  new=$(store_sql "SELECT id FROM requests WHERE user_id = '$u1' ORDER BY seq DESC LIMIT 1")
  get_p "$out-get_old.txt" "/svc/request/$old/" "${KEYS[1]}"
  put "$k" get_old "$GP"
  get_p "$out-get_new.txt" "/svc/request/$new/" "${KEYS[1]}"
  put "$k" get_new "$GP"
  if [[ "$phase" == backlog* ]]; then
    queued=$(store_sql "SELECT id FROM requests WHERE status = 'queued' AND handler = 'openai.chat' AND user_id = '$u1' ORDER BY seq LIMIT 1 OFFSET $((${phase#backlog} / USERS / 2))")
    get_p "$out-get_queued.txt" "/svc/request/$queued/" "${KEYS[1]}"
    put "$k" get_queued "$GP"
    curl -fsS --max-time 10 -H "Authorization: Bearer ${KEYS[1]}" "$URL/svc/request/$queued/" >"$out-queued.json" 2>&1 || true
  fi
  get_p "$out-list.txt" /svc/requests/ "${KEYS[1]}"
  put "$k" list "$GP"
  get_p "$out-search.txt" "/admin/api/requests?user=u2" "$ADMIN_KEY"
  put "$k" search "$GP"
  # Recon: CPU over an idle window (the process running it; PostgreSQL's whole CPU too).
  role=${ROLES[0]}
  for entry in "${ROLES[@]}"; do [[ "${entry%%:*}" == recon ]] && role=$entry; done
  sleep "$RECON_SETTLE"
  a=$(ticks "${role#*:}")
  if [[ "$MODE" == distributed ]]; then
    busy0=$(pg_ticks)
    log0=$(stat -c %s "$WORK/svc/pg.log")
    rpids=$(recon_pids)
  fi
  sleep "$RECON_WINDOW"
  b=$(ticks "${role#*:}")
  w=$((RECON_WINDOW / RECON_INTERVAL_S))
  V[$k,recon_cpu]=$(awk -v a="$a" -v b="$b" -v t="$CLK_TCK" -v n="$w" 'BEGIN { printf "%.1f", 1000 * (b - a) / t / n }')
  if [[ "$MODE" == distributed ]]; then
    busy1=$(pg_ticks)
    # shellcheck disable=SC2046,SC2086 # lists of pids, split on purpose
    read -r rsum rreq rlines <<<"$(recon_statements "$log0" "$(stat -c %s "$WORK/svc/pg.log")" $rpids $(recon_pids))"
    V[$k,recon_sql]=$(awk -v s="$rsum" -v n="$w" 'BEGIN { printf "%.2f", s / n }')
    V[$k,recon_sql_requests]=$(awk -v s="$rreq" -v n="$w" 'BEGIN { printf "%.2f", s / n }')
    V[$k,recon_statements]=$(awk -v s="$rlines" -v n="$w" 'BEGIN { printf "%.0f", s / n }')
    V[$k,pg_cpu]=$(awk -v a="$busy0" -v b="$busy1" -v t="$CLK_TCK" -v n="$w" 'BEGIN { printf "%.1f", 1000 * (b - a) / t / n }')
    V[$k,rss_pg]=$(pg_rss_mb)
    V[$k,rss_redis]=$(rss_mb "$(cat "$WORK/svc/redis.pid")")
    V[$k,store_mb]=$(psql_db postgres "SELECT pg_database_size('$DB') / 1048576")
  else
    V[$k,store_mb]=$(du -sm "$SB_DIR" | awk '{ print $1 }')
  fi
  for entry in "${ROLES[@]}"; do V[$k,rss_${entry%%:*}]=$(rss_mb "${entry#*:}"); done
  V[$k,rows]=$(store_sql "SELECT COUNT(*) FROM requests")
  V[$k,queued]=$(store_sql "SELECT COUNT(*) FROM requests WHERE status = 'queued'")
  log "$MODE $phase: $(for f in submit claim get_old get_new get_queued list search; do if [[ -n "${V[$k,${f}_p50]:-}" ]]; then printf '%s %s/%s ms, ' "$f" "${V[$k,${f}_p50]}" "${V[$k,${f}_p99]}"; fi; done)recon ${V[$k,recon_cpu]} ms CPU/pass${V[$k,recon_sql]:+, ${V[$k,recon_sql]} ms in PostgreSQL/pass (${V[$k,recon_sql_requests]} on requests)}, RSS $(for entry in "${ROLES[@]}"; do printf '%s %s MB ' "${entry%%:*}" "${V[$k,rss_${entry%%:*}]}"; done)"
}

# warm_up: WARMUP requests of u1, drained (after every start: the JIT and the connections).
warm_up() {
  submit_n "$LOG/$TAG-warmup-$1.txt" "${KEYS[1]}" /svc/bench/echo/ "$WARMUP" 2 16 "w-$1"
  drain_echo
}

# templates: TEMPLATES real requests per user, finished; the seed copies them.
make_templates() {
  local i
  for ((i = 1; i <= USERS; i++)); do
    submit_n "$LOG/$TAG-templates-u$i.txt" "${KEYS[i]}" /svc/bench/echo/ "$TEMPLATES" 1 4 "tpl-u$i"
  done
  drain_echo
  TEMPLATE_MAX_SEQ=$(store_sql "SELECT MAX(seq) FROM requests")
  TEMPLATE_COUNT=$(store_sql "SELECT COUNT(*) FROM requests WHERE status = 'succeeded'")
  ((TEMPLATE_COUNT == USERS * TEMPLATES)) || die "$TEMPLATE_COUNT template requests succeeded, not $((USERS * TEMPLATES)) (logs in $LOG)"
}

# template_store: a new store, its processes started, the template requests made, and the seed
# set to start again: copies are created 1 s apart, ending an hour before the run started.
template_store() {
  new_store
  start_mode
  make_templates
  SEED_BASE=$(($(now_ms) - MAX_SIZE * 1000 - 3600000))
  SEED_INDEX=0
}

# ---- the run --------------------------------------------------------------------------------------
write_catalog
MAX_SIZE=0
for s in $SIZES; do ((s > MAX_SIZE)) && MAX_SIZE=$s; done
for MODE in $MODES; do
  [[ "$MODE" == embedded || "$MODE" == distributed ]] || die "MODES: '$MODE' is neither embedded nor distributed"
  # Sizes: one store, filled further before each phase.
  TAG="$MODE-sizes"
  template_store
  for s in $SIZES; do
    stop_mode
    # The warm-up and the measured submissions add theirs: the phase measures about S.
    seed_to "$((s - WARMUP - SUBMITS))"
    start_mode
    warm_up "$s"
    measure "size$s" "$s"
  done
  stop_mode
  # Backlogs: a fresh store of the first size, then queued requests nobody serves.
  if [[ -n "$BACKLOGS" ]]; then
    TAG="$MODE-backlog"
    template_store
    stop_mode
    seed_to "$((FIRST_SIZE - WARMUP - SUBMITS))"
    start_mode
    warm_up backlog
    have=0
    for bl in $BACKLOGS; do
      n=$((bl - have))
      log "$MODE: $n more queued bench/chat requests (backlog $bl)"
      per=$((n / USERS))
      for ((i = 1; i <= USERS; i++)); do
        m=$((i == USERS ? n - per * (USERS - 1) : per))
        submit_n "$LOG/$TAG-fill-$bl-u$i.txt" "${KEYS[i]}" /svc/bench/chat/ "$m" 2 "$BACKLOG_CONNECTIONS" "b$bl-u$i"
      done
      have=$bl
      measure "backlog$bl" "$FIRST_SIZE"
    done
    stop_mode
  fi
done

# ---- report ----------------------------------------------------------------------------------------
fmt() { awk -v v="$1" 'BEGIN { if (v == "" || v == "nan") print "–"; else if (v + 0 >= 100) printf "%.0f", v; else printf "%.2f", v }'; }
# cell VALUE BASE: "value (÷ base)"
cell() {
  if [[ -z "$1" || "$1" == nan ]]; then echo "–"; return; fi
  if [[ -z "$2" || "$2" == nan ]] || awk -v b="$2" 'BEGIN { exit !(b == 0) }'; then fmt "$1"; return; fi
  printf '%s (%s)' "$(fmt "$1")" "$(ratio "$1" "$2")"
}
FIGS="submit claim get_old get_new get_queued list search"
TABLES=""
for MODE in $MODES; do
  base="$MODE,size$FIRST_SIZE"
  for pct in p50 p99; do
    TABLES+="
**$MODE, $pct in ms (÷ the same figure at $FIRST_SIZE requests):**

| phase | requests in store | queued | submit | claim (queued→running) | GET old id | GET new id | GET queued id | GET /svc/requests/ | admin search |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for entry in "${PHASES[@]}"; do
      IFS='|' read -r m ph _ <<<"$entry"
      [[ "$m" == "$MODE" ]] || continue
      row="| $ph | ${V[$m,$ph,rows]} | ${V[$m,$ph,queued]} |"
      for f in $FIGS; do row+=" $(cell "${V[$m,$ph,${f}_$pct]:-}" "${V[$base,${f}_$pct]:-${V[$base,get_new_$pct]}}") |"; done
      # A queued id's GET is compared with a finished one's (new id) at the first size.
      TABLES+="
$row"
    done
    TABLES+="
"
  done
  if [[ "$MODE" == embedded ]]; then
    TABLES+="
**embedded: recon and memory (÷ the same figure at $FIRST_SIZE requests):**

| phase | serve CPU per 2 s idle (recon pass and timers), ms | serve RSS MB | store on disk MB | other processes' CPU before the phase |
|---|---:|---:|---:|---:|"
    for entry in "${PHASES[@]}"; do
      IFS='|' read -r m ph _ <<<"$entry"
      [[ "$m" == embedded ]] || continue
      TABLES+="
| $ph | $(cell "${V[$m,$ph,recon_cpu]}" "${V[$base,recon_cpu]}") | $(cell "${V[$m,$ph,rss_serve]}" "${V[$base,rss_serve]}") | ${V[$m,$ph,store_mb]} | ${V[$m,$ph,busy]}% |"
    done
  else
    TABLES+="
**distributed: recon and memory (÷ the same figure at $FIRST_SIZE requests):**

| phase | recon CPU per pass, ms | recon process's statements per pass: time in PostgreSQL, ms | of which on requests, ms | statements (parse, bind, execute) per pass | PostgreSQL CPU per 2 s idle, ms | api RSS MB | executor RSS MB | recon RSS MB | PostgreSQL RSS MB (sum) | Redis RSS MB | database MB | other processes' CPU before the phase |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for entry in "${PHASES[@]}"; do
      IFS='|' read -r m ph _ <<<"$entry"
      [[ "$m" == distributed ]] || continue
      TABLES+="
| $ph | $(cell "${V[$m,$ph,recon_cpu]}" "${V[$base,recon_cpu]}") | $(cell "${V[$m,$ph,recon_sql]}" "${V[$base,recon_sql]}") | $(cell "${V[$m,$ph,recon_sql_requests]}" "${V[$base,recon_sql_requests]}") | ${V[$m,$ph,recon_statements]} | $(cell "${V[$m,$ph,pg_cpu]}" "${V[$base,pg_cpu]}") | $(cell "${V[$m,$ph,rss_api]}" "${V[$base,rss_api]}") | $(cell "${V[$m,$ph,rss_executor]}" "${V[$base,rss_executor]}") | $(cell "${V[$m,$ph,rss_recon]}" "${V[$base,rss_recon]}") | $(cell "${V[$m,$ph,rss_pg]}" "${V[$base,rss_pg]}") | $(cell "${V[$m,$ph,rss_redis]}" "${V[$base,rss_redis]}") | ${V[$m,$ph,store_mb]} | ${V[$m,$ph,busy]}% |"
    done
  fi
  TABLES+="
"
done
write_report "Run $STAMP: \`bench/run-growth.sh\` with MODES='$MODES' SIZES='$SIZES' BACKLOGS='$BACKLOGS' USERS=$USERS TEMPLATES=$TEMPLATES WARMUP=$WARMUP SUBMITS=$SUBMITS GET_S=$GET_S RECON_WINDOW=$RECON_WINDOW" "$TABLES"

# Every figure as mode,phase,figure,value (for other tables and plots).
for r in "${!V[@]}"; do echo "$r,${V[$r]}"; done | sort >"$LOG/figures.csv"
log "every figure: $LOG/figures.csv"

# ---- plots: p50 and p99 of each figure against the store size (size phases) ------------------------
mkdir -p "$PLOTS"
for MODE in $MODES; do
  for pct in p50 p99; do
    {
      echo "series,x,y"
      for entry in "${PHASES[@]}"; do
        IFS='|' read -r m ph x <<<"$entry"
        [[ "$m" == "$MODE" && "$ph" == size* ]] || continue
        for f in submit claim get_old get_new list search; do
          val=${V[$m,$ph,${f}_$pct]:-}
          if [[ -n "$val" && "$val" != nan ]]; then echo "$f,$x,$val"; fi
        done
      done
    } | plot line "$PLOTS/growth-$MODE-$pct.svg" --logx --title "$MODE: $pct latency by requests in the store" --xlabel "finished requests in the store" --ylabel "$pct ms"
  done
  {
    echo "series,x,y"
    for entry in "${PHASES[@]}"; do
      IFS='|' read -r m ph x <<<"$entry"
      [[ "$m" == "$MODE" && "$ph" == size* ]] || continue
      for r in "${!V[@]}"; do
        if [[ "$r" == "$m,$ph,rss_"* ]]; then echo "${r##*,rss_},$x,${V[$r]}"; fi
      done | sort
    done
  } | plot line "$PLOTS/growth-$MODE-rss.svg" --logx --title "$MODE: RSS by requests in the store" --xlabel "finished requests in the store" --ylabel "RSS MB"
done
log "plots: $PLOTS/growth-{$(tr ' ' ',' <<<"$MODES")}-{p50,p99,rss}.svg"
