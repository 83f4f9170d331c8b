#!/usr/bin/env bash
# Latency at a fixed rate (issue 23): submit (202) latency and queued→running latency at
# RATE_FRACTION (½) of the peak end-to-end rate, measured with an open-loop load (bench/Paced),
# for the embedded `serve` and the distributed deployment (1 api + 1 executor + recon on
# PostgreSQL and Redis). See bench/README.md, "Issue 23: latency at a fixed rate".
#
#   bench/run-latency.sh
#
# Each round, for each deployment, on one fresh store and one set of fresh processes:
#   peak   wrk (closed loop, bench/submit.lua, -tTHREADS -cCONNECTIONS) sends WARMUP_REQUESTS
#          (drained), then PEAK_REQUESTS unique-body POSTs: accepted/s (wrk's 202s ÷ its seconds)
#          and end-to-end/s (the store: requests ÷ (last finished_at − first created_at));
#          drained again;
#   paced  bench/Paced at RATE = RATE_FRACTION × this round's end-to-end/s over PACED_CONNECTIONS
#          connections: PACED_WARMUP s unmeasured, then DURATION s measured. Submit latency:
#          from each request's scheduled time to its 202 (the generator's percentiles).
#          Queued→running: started_at − created_at of every request of the measured phase, read
#          from the store once drained (both are whole milliseconds of the wall clock, written
#          by the api and by the executor: a value is within ±1 ms of the real wait).
# Every request of both phases must be a 202 and every one must succeed.
#
# Environment (all optional):
#   RUNS=3                 rounds; medians over them
#   DEPLOYMENTS="embedded distributed"
#   DURATION=20            seconds of the measured paced phase
#   PACED_WARMUP=5         seconds of unmeasured paced load before it (same rate, same process)
#   RATE_FRACTION=0.5      the paced rate as a fraction of the round's peak end-to-end rate
#   RATE=                  a fixed rate (requests/s) instead, the same for every deployment
#   PACED_CONNECTIONS=64   HTTP/1.1 connections of the paced load (at most that many in flight)
#   PEAK_REQUESTS=30000    measured wrk requests of the peak phase
#   WARMUP_REQUESTS=10000  wrk requests before it (the JIT needs them), drained
#   THREADS=2, CONNECTIONS=64   wrk -t -c of the peak phase
#   SERVE_ARGS=            extra `serve` arguments; EXECUTOR_ARGS= extra `executor` arguments
#   PG_SETTINGS="-c shared_buffers=512MB"   as bench/run-distributed.sh (durable defaults)
#   DRAIN_TIMEOUT=300, SUBMIT_TIMEOUT=300   seconds for a backlog to drain, for wrk's batch
#   QUIET_MAX=15, QUIET_WAIT=30   before each measured phase, wait up to QUIET_WAIT s while the
#                          rest of the machine uses more than QUIET_MAX % of all cores
#   PLOTS=1                0: do not rewrite bench/latency-submit.svg and bench/latency-start.svg
#   SKIP_BUILD=1           use the existing Release builds (Switchboard, bench/Paced)
#   SWITCHBOARD=           the executable to measure (default: the Release build of src/Switchboard)
# Only 127.0.0.1 is used. Output: bench/out/latency-<time>/ and bench/out/latency-results-<time>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

RUNS=${RUNS:-3}
DEPLOYMENTS=${DEPLOYMENTS:-embedded distributed}
DURATION=${DURATION:-20}
PACED_WARMUP=${PACED_WARMUP:-5}
RATE_FRACTION=${RATE_FRACTION:-0.5}
RATE=${RATE:-}
PACED_CONNECTIONS=${PACED_CONNECTIONS:-64}
PEAK_REQUESTS=${PEAK_REQUESTS:-30000}
WARMUP_REQUESTS=${WARMUP_REQUESTS:-10000}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
SERVE_ARGS=${SERVE_ARGS:-}
EXECUTOR_ARGS=${EXECUTOR_ARGS:-}
PG_SETTINGS=${PG_SETTINGS:--c shared_buffers=512MB}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-300}
SUBMIT_TIMEOUT=${SUBMIT_TIMEOUT:-300}
PLOTS=${PLOTS:-1}

# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_start latency
[[ "$SWITCHBOARD" == /* ]] || SWITCHBOARD="$ROOT/$SWITCHBOARD"
PACED=bench/Paced/bin/Release/net10.0/Paced

WORK=""
DISTRIBUTED=0
[[ " $DEPLOYMENTS " == *" distributed "* ]] && DISTRIBUTED=1
for d in $DEPLOYMENTS; do
  [[ "$d" == embedded || "$d" == distributed ]] || die "unknown deployment '$d' (embedded, distributed)"
done

# The EXIT trap: what bench_start's does (our processes, temp dirs), then PostgreSQL and Redis.
cleanup() {
  local status=$?
  set +e
  kill_owned
  declare -F stop_services >/dev/null && stop_services
  [[ -n "$WORK" && -d "$WORK" ]] && rm -rf -- "$WORK"
  exit "$status"
}
trap cleanup EXIT

fmt() { awk -v v="$1" -v d="${2:-0}" 'BEGIN { if (v == "" || v == "nan") print "–"; else printf "%.*f", d, v }'; }

# Nearest-rank p50, p90, p99, p99.9 and the maximum of the numbers on stdin, on one line.
percentiles() {
  sort -g | awk 'BEGIN { n = split("50 90 99 99.9 100", P, " ") }
    { v[NR] = $1 }
    END {
      for (i = 1; i <= n; i++) {
        if (NR == 0) { printf "nan%s", (i < n ? " " : "\n"); continue }
        x = P[i] / 100 * NR - 1e-9; r = int(x); if (r < x) r++; if (r < 1) r = 1
        printf "%s%s", v[r], (i < n ? " " : "\n")
      }
    }'
}

# ---- tools, builds, services ---------------------------------------------------------------------
need_apt wrk:wrk curl:curl sqlite3:sqlite3
((DISTRIBUTED == 0)) || need_apt psql:postgresql-client ps:procps
command -v dotnet >/dev/null || die "dotnet is not installed"
build_switchboard
if [[ "${SKIP_BUILD:-}" != 1 ]]; then
  dotnet build -c Release -nologo -v q bench/Paced/Paced.csproj >"$LOG/build-paced.log" 2>&1 \
    || die "build of bench/Paced (see $LOG/build-paced.log)"
fi
[[ -x "$PACED" ]] || die "Release build of bench/Paced missing ($PACED)"

EXTRA=()
if ((DISTRIBUTED)); then
  # shellcheck source=scripts/services.sh
  source scripts/services.sh
  ensure_packages >"$LOG/services-install.log" 2>&1 || die "installing PostgreSQL / Redis (see $LOG/services-install.log)"
  WORK=$(mktemp -d /tmp/switchboard-latency.XXXXXX)
  chmod 755 "$WORK"
  # shellcheck disable=SC2086 # PG_SETTINGS is a list of words on purpose
  start_db_services "$WORK/svc" $PG_SETTINGS
  EXTRA+=("${DB_VERSIONS[@]}")
  # shellcheck source=bench/lib-distributed.sh
  source bench/lib-distributed.sh
  GATE=""
  EXEC_HANDLERS=()
fi
describe_machine "${EXTRA[@]}"
log "RUNS=$RUNS DEPLOYMENTS='$DEPLOYMENTS' DURATION=$DURATION PACED_WARMUP=$PACED_WARMUP RATE_FRACTION=$RATE_FRACTION RATE=$RATE PACED_CONNECTIONS=$PACED_CONNECTIONS PEAK_REQUESTS=$PEAK_REQUESTS WARMUP_REQUESTS=$WARMUP_REQUESTS THREADS=$THREADS CONNECTIONS=$CONNECTIONS"

# ---- one deployment: start, store access, stop ----------------------------------------------------
# start_deployment DEP ROUND: fresh store and processes; sets URL, SB_KEY and (distributed) DB.
start_deployment() {
  if [[ "$1" == embedded ]]; then
    fresh_store
    echo "$ECHO_CATALOG" >"$SB_DIR/catalog.yaml"
    "$SWITCHBOARD" catalog apply "$SB_DIR/catalog.yaml" --data "$SB_DIR" >/dev/null
    # shellcheck disable=SC2086 # SERVE_ARGS is a list of words on purpose
    start_server "$LOG/embedded-$2-serve.log" /svc/ '"/svc/bench/echo/"' "$SWITCHBOARD" serve --data "$SB_DIR" $SERVE_ARGS
    SB_PID=$SERVER_PID
    URL=$SERVER_URL
  else
    DB="lat_r$2"
    start_switchboard "$DB" 1
    URL=$API_URL
  fi
}

stop_deployment() {
  if [[ "$1" == embedded ]]; then
    stop_serve
  else
    stop_switchboard
    psql_db postgres "DROP DATABASE $DB" >/dev/null
    redis-cli -p "$REDIS_PORT" FLUSHALL >/dev/null
  fi
}

# store DEP QUERY: rows of the deployment's store, columns separated by |.
store() { if [[ "$1" == embedded ]]; then sql "$2"; else psql_db "$DB" "$2"; fi; }

# wait_drained DEP: until no request is queued or running (DRAIN_TIMEOUT).
wait_drained() {
  local deadline=$(($(date +%s) + DRAIN_TIMEOUT)) pending
  while true; do
    pending=$(store "$1" "SELECT COUNT(*) FROM requests WHERE status IN ('queued', 'running')")
    [[ "$pending" == 0 ]] && return 0
    (($(date +%s) < deadline)) || die "$1: $pending requests still pending after ${DRAIN_TIMEOUT} s (logs in $LOG)"
    sleep 0.2
  done
}

# wrk_batch OUT TAG N: exactly N unique-body POSTs (bench/submit.lua's fixed-count mode), all 202.
wrk_batch() {
  local out=$1 done_dir k
  done_dir=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-latency-wrk.XXXXXX")
  TMPDIRS+=("$done_dir")
  BENCH_KEY=$SB_KEY BENCH_TAG=$2 BENCH_REQUESTS=$3 BENCH_THREADS=$THREADS BENCH_DONE_DIR=$done_dir \
    wrk "-t$THREADS" "-c$CONNECTIONS" "-d${SUBMIT_TIMEOUT}s" --latency -s bench/submit.lua "$URL" >"$out" 2>&1 \
    || die "wrk failed (see $out)"
  for k in non_2xx other_2xx socket_errors; do
    [[ "$(field "$out" "$k")" == 0 ]] || die "$k in $out"
  done
  [[ "$(field "$out" accepted_202)" == "$3" ]] || die "wrk counted $(field "$out" accepted_202) 202s, not $3 (see $out)"
}

# ---- the two phases of a round -------------------------------------------------------------------
# peak DEP ROUND: sets R_ACCEPT and R_E2E (closed loop, wrk).
peak() {
  local dep=$1 r=$2 out="$LOG/$1-$2-peak.txt" t0 row count bad first last
  wrk_batch "$LOG/$dep-$r-warmup.txt" "warm-$dep-$r" "$WARMUP_REQUESTS"
  wait_drained "$dep"
  quiet_check "$dep peak"
  t0=$(now_ms)
  wrk_batch "$out" "peak-$dep-$r" "$PEAK_REQUESTS"
  wait_drained "$dep"
  row=$(store "$dep" "SELECT COUNT(*), SUM(CASE WHEN status = 'succeeded' THEN 0 ELSE 1 END), MIN(created_at), MAX(finished_at) FROM requests WHERE created_at >= $t0")
  IFS='|' read -r count bad first last <<<"$row"
  [[ "$count" == "$PEAK_REQUESTS" ]] || die "$dep: the store holds $count requests of the peak batch, not $PEAK_REQUESTS"
  [[ "$bad" == 0 ]] || die "$dep: $bad requests of the peak batch did not succeed (logs in $LOG)"
  R_ACCEPT=$(field "$out" accepted_per_s)
  R_E2E=$(awk -v n="$count" -v a="$first" -v b="$last" 'BEGIN { printf "%.1f", n * 1000 / (b - a) }')
  echo "bench: e2e_per_s $R_E2E" >>"$out"
}

# paced DEP ROUND: sets R_RATE, R_ACHIEVED, R_SUBMIT and R_START ("p50 p90 p99 p99.9 max", ms),
# R_LAG (the pacer's lateness p99 and the generator's CPU).
paced() {
  local dep=$1 r=$2 out="$LOG/$1-$2-paced.txt" k t0 row count bad p50 p90 p99 p999 max
  R_RATE=${RATE:-$(awk -v f="$RATE_FRACTION" -v e="$R_E2E" 'BEGIN { printf "%.0f", f * e }')}
  awk -v r="$R_RATE" 'BEGIN { exit !(r > 0) }' || die "$dep: paced rate '$R_RATE' (RATE must be a number of requests/s > 0)"
  quiet_check "$dep paced"
  log "round $r/$RUNS $dep: paced load at $R_RATE/s, ${PACED_WARMUP} s warm-up + ${DURATION} s measured, $PACED_CONNECTIONS connections"
  BENCH_KEY=$SB_KEY "$PACED" --url "$URL" --rate "$R_RATE" --duration "$DURATION" --warmup "$PACED_WARMUP" \
    --connections "$PACED_CONNECTIONS" --tag "$dep-$r" >"$out" 2>"$LOG/$dep-$r-paced.err" \
    || die "bench/Paced failed (see $LOG/$dep-$r-paced.err)"
  for k in non_2xx other_2xx errors; do
    [[ "$(field "$out" "$k")" == 0 ]] || die "$dep: $k in $out (see $LOG/$dep-$r-paced.err)"
  done
  [[ "$PACED_WARMUP" == 0 || "$(field "$out" warmup_not_202)" == 0 ]] || die "$dep: paced warm-up requests not answered 202 (see $LOG/$dep-$r-paced.err)"
  [[ "$(field "$out" accepted_202)" == "$(field "$out" sent)" ]] || die "$dep: not every paced request was accepted (see $out)"
  t0=$(field "$out" t0_unix_ms)
  wait_drained "$dep"
  row=$(store "$dep" "SELECT COUNT(*), SUM(CASE WHEN status = 'succeeded' THEN 0 ELSE 1 END) FROM requests WHERE created_at >= $t0")
  IFS='|' read -r count bad <<<"$row"
  [[ "$count" == "$(field "$out" accepted_202)" ]] || die "$dep: the store holds $count requests of the paced phase, the generator counted $(field "$out" accepted_202) 202s"
  [[ "$bad" == 0 ]] || die "$dep: $bad paced requests did not succeed (logs in $LOG)"
  R_START=$(store "$dep" "SELECT started_at - created_at FROM requests WHERE created_at >= $t0" | percentiles)
  read -r p50 p90 p99 p999 max <<<"$R_START"
  {
    echo "bench: start_latency_p50_ms $p50"
    echo "bench: start_latency_p90_ms $p90"
    echo "bench: start_latency_p99_ms $p99"
    echo "bench: start_latency_p999_ms $p999"
    echo "bench: start_latency_max_ms $max"
  } >>"$out"
  R_SUBMIT="$(field "$out" latency_p50_ms) $(field "$out" latency_p90_ms) $(field "$out" latency_p99_ms) $(field "$out" latency_p999_ms) $(field "$out" latency_max_ms)"
  R_ACHIEVED=$(field "$out" achieved_rate)
  R_LAG="$(field "$out" send_lag_p99_ms) ms, $(field "$out" generator_cpu_percent) %"
}

# ---- rounds --------------------------------------------------------------------------------------
declare -A ACCEPT E2E RATE_OF ACHIEVED SUBMIT START LAG
BUSY=()
for ((r = 1; r <= RUNS; r++)); do
  ROUND_BUSY=0
  for dep in $DEPLOYMENTS; do
    log "round $r/$RUNS $dep: peak, $WARMUP_REQUESTS + $PEAK_REQUESTS requests by wrk -t$THREADS -c$CONNECTIONS"
    start_deployment "$dep" "$r"
    peak "$dep" "$r"
    paced "$dep" "$r"
    stop_deployment "$dep"
    ACCEPT[$dep,$r]=$R_ACCEPT
    E2E[$dep,$r]=$R_E2E
    RATE_OF[$dep,$r]=$R_RATE
    ACHIEVED[$dep,$r]=$R_ACHIEVED
    SUBMIT[$dep,$r]=$R_SUBMIT
    START[$dep,$r]=$R_START
    LAG[$dep,$r]=$R_LAG
    log "round $r/$RUNS $dep: peak accepted $(fmt "$R_ACCEPT")/s e2e $(fmt "$R_E2E")/s; at $R_RATE/s (achieved $(fmt "$R_ACHIEVED")/s): submit p50/p90/p99/p99.9/max $R_SUBMIT ms, queued→running $R_START ms"
  done
  BUSY+=("$ROUND_BUSY")
done

# ---- report ----------------------------------------------------------------------------------------
# med ARRAY DEP [FIELD]: the median over the rounds (of the FIELD-th word of each value).
med() {
  local -n arr=$1
  local i
  for ((i = 1; i <= RUNS; i++)); do awk -v f="${3:-1}" '{ print $f }' <<<"${arr[$2,$i]}"; done | median
}
label() { [[ "$1" == embedded ]] && echo "embedded serve (SQLite)" || echo "distributed 1 api + 1 executor + recon (PostgreSQL, Redis)"; }
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v < t ? "met" : "NOT met") }'; }

TABLE="| deployment | peak accepted/s | peak end-to-end/s | paced rate/s (achieved) | submit p50 / p90 / p99 / p99.9 / max ms | queued→running p50 / p90 / p99 / p99.9 / max ms | submit p99 < 10 ms | queued→running p99 < 5 ms |
|---|---:|---:|---:|---:|---:|---|---|"
ROUNDS="| round | deployment | peak accepted/s | peak e2e/s | paced rate/s | achieved/s | submit p50 / p90 / p99 / p99.9 / max ms | queued→running p50 / p90 / p99 / p99.9 / max ms | pacer lag p99, Paced's CPU (% of a core) |
|---|---|---:|---:|---:|---:|---:|---:|---:|"
CSV_SUBMIT="series,x,y"
CSV_START="series,x,y"
NINES=(0.301 1 2 3)
for dep in $DEPLOYMENTS; do
  s=() q=()
  for f in 1 2 3 4 5; do
    s+=("$(med SUBMIT "$dep" "$f")")
    q+=("$(med START "$dep" "$f")")
  done
  TABLE+="
| $(label "$dep") | $(fmt "$(med ACCEPT "$dep")") | $(fmt "$(med E2E "$dep")") | $(fmt "$(med RATE_OF "$dep")") ($(fmt "$(med ACHIEVED "$dep")")) | $(fmt "${s[0]}" 2) / $(fmt "${s[1]}" 2) / **$(fmt "${s[2]}" 2)** / $(fmt "${s[3]}" 2) / $(fmt "${s[4]}" 2) | $(fmt "${q[0]}" 1) / $(fmt "${q[1]}" 1) / **$(fmt "${q[2]}" 1)** / $(fmt "${q[3]}" 1) / $(fmt "${q[4]}" 1) | $(verdict "${s[2]}" 10) | $(verdict "${q[2]}" 5) |"
  for ((f = 0; f < 4; f++)); do
    CSV_SUBMIT+="
$dep,${NINES[f]},${s[f]}"
    # The store's values are whole ms: a 0 (under 1 ms) is drawn at 0.5 on the log scale.
    CSV_START+="
$dep,${NINES[f]},$(awk -v v="${q[f]}" 'BEGIN { print (v < 0.5 ? 0.5 : v) }')"
  done
  for ((i = 1; i <= RUNS; i++)); do
    ROUNDS+="
| $i | $dep | $(fmt "${ACCEPT[$dep,$i]}") | $(fmt "${E2E[$dep,$i]}") | ${RATE_OF[$dep,$i]} | $(fmt "${ACHIEVED[$dep,$i]}") | ${SUBMIT[$dep,$i]// / \/ } | ${START[$dep,$i]// / \/ } | ${LAG[$dep,$i]} |"
  done
done

COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo "?")
write_report "Run $STAMP on $COMMIT: \`bench/run-latency.sh\` with RUNS=$RUNS DEPLOYMENTS='$DEPLOYMENTS' DURATION=$DURATION PACED_WARMUP=$PACED_WARMUP RATE_FRACTION=$RATE_FRACTION RATE=$RATE PACED_CONNECTIONS=$PACED_CONNECTIONS PEAK_REQUESTS=$PEAK_REQUESTS WARMUP_REQUESTS=$WARMUP_REQUESTS THREADS=$THREADS CONNECTIONS=$CONNECTIONS SERVE_ARGS='$SERVE_ARGS' EXECUTOR_ARGS='$EXECUTOR_ARGS'" "Medians of $RUNS round(s):

$TABLE

Every round (other processes' CPU before the measured phases, worst per round: ${BUSY[*]/%/%}):

$ROUNDS"

# The plots come after the report, so that a failed plot (matplotlib not installable) loses no
# numbers; their data stay in LOG/latency-*.csv.
echo "$CSV_SUBMIT" >"$LOG/latency-submit.csv"
echo "$CSV_START" >"$LOG/latency-start.csv"
if [[ "$PLOTS" == 1 ]]; then
  # The targets as flat lines, and how busy the machine was, in the chart itself.
  CSV_SUBMIT+=$'\ntarget p99 < 10 ms,0.301,10\ntarget p99 < 10 ms,3,10'
  CSV_START+=$'\ntarget p99 < 5 ms,0.301,5\ntarget p99 < 5 ms,3,5'
  echo "$CSV_SUBMIT" >"$LOG/latency-submit.csv"
  echo "$CSV_START" >"$LOG/latency-start.csv"
  WORST=$(printf '%s\n' "${BUSY[@]}" | sort -g | tail -n 1)
  WHAT="median of $RUNS round(s), ${DURATION} s at $([[ -n "$RATE" ]] && echo "$RATE/s" || echo "${RATE_FRACTION} × peak"), $COMMIT; other CPU before phases ≤ ${WORST}%"
  XLABEL="percentile, in nines (0.3 = p50, 1 = p90, 2 = p99, 3 = p99.9)"
  # In subshells: plot's die ends only the subshell. /usr/bin first: plot installs Debian's
  # python3-matplotlib, for Debian's python3, while the python3 first on PATH may be another
  # (pyenv's on the bench machine, without matplotlib).
  if (plot line bench/latency-submit.svg --title "Submit (202) latency at a fixed rate"$'\n'"$WHAT" --xlabel "$XLABEL" --ylabel "ms from the scheduled send" --logy <"$LOG/latency-submit.csv") \
    && (plot line bench/latency-start.svg --title "Queued→running at a fixed rate"$'\n'"$WHAT" --xlabel "$XLABEL" --ylabel "ms, started_at − created_at (0 drawn at 0.5)" --logy <"$LOG/latency-start.csv"); then
    log "plots: bench/latency-submit.svg, bench/latency-start.svg"
  else
    log "WARNING: the plots were not drawn (data in $LOG/latency-*.csv)"
  fi
fi
