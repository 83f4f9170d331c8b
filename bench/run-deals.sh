#!/usr/bin/env bash
# Switchboard deals benchmark (issue 6): end-to-end completed deals/s and steps/s of a 3-item
# pipeline deal, beside end-to-end completed offer requests/s measured in the same round, each on
# a fresh embedded `serve` (SQLite). See bench/README.md, "Deals (issue 6)".
#
#   bench/run-deals.sh
#
# Each round, each phase on a fresh data dir, process and port:
#   baseline   POST /svc/bench/echo/ (as run.sh's end-to-end number)
#   pipe3      POST /svc/deal/pipe3/: bench/echo, then bench/relay (overwrite), bench/relay (extend)
#   parallel3  POST /svc/deal/parallel3/: bench/echo three times, all pipeline: none (PARALLEL=0 skips)
#
# Environment (all optional):
#   RUNS=3          rounds; medians are taken over them
#   DURATION=10     seconds of each measured wrk run
#   WARMUP=10       seconds of un-measured load before each measured run (then drained)
#   THREADS=2       wrk threads
#   CONNECTIONS=64  wrk connections
#   PARALLEL=1      also measure parallel3 (0: baseline and pipe3 only)
#   SERVE_ARGS=     extra arguments for `switchboard serve` (e.g. "--workers 256")
#   DRAIN_TIMEOUT=  seconds to wait for the executor to finish a backlog (default 30 + 30×DURATION)
#   QUIET_MAX=15    before each measured run, wait (up to QUIET_WAIT=30 s) until the rest of the
#                   machine uses less than this % of all cores; the value seen is reported per round
#   SKIP_BUILD=1    use the existing Release build
#   SWITCHBOARD=    the Switchboard executable to measure (default: the Release build of src/Switchboard)
# Only 127.0.0.1 is ever loaded. Output: bench/out/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-10}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
PARALLEL=${PARALLEL:-1}
SERVE_ARGS=${SERVE_ARGS:-}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-$((30 + 30 * DURATION))}
QUIET_MAX=${QUIET_MAX:-15}
QUIET_WAIT=${QUIET_WAIT:-30}

SWITCHBOARD=${SWITCHBOARD:-src/Switchboard/bin/Release/net10.0/switchboard}
OUT=bench/out
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOG="$OUT/deals-$STAMP"
mkdir -p "$LOG"

log() { printf '[deals %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/lib.sh
source bench/lib.sh

own_cleanup

need_apt wrk:wrk sqlite3:sqlite3 curl:curl
command -v dotnet >/dev/null || die "dotnet is not installed"

build_switchboard

# ---- the machine -------------------------------------------------------------------------------
describe_machine
log "RUNS=$RUNS DURATION=$DURATION WARMUP=$WARMUP THREADS=$THREADS CONNECTIONS=$CONNECTIONS PARALLEL=$PARALLEL SERVE_ARGS='$SERVE_ARGS' SWITCHBOARD=$SWITCHBOARD"

WRK=(wrk "-t$THREADS" "-c$CONNECTIONS" --latency)
CLK_TCK=$(getconf CLK_TCK)

# CPU ticks (user + system) of one process so far (all its threads, also those that exited).
proc_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
# Serve's threads as Linux names them (cut to 15 characters): the store writer is the one
# thread of a LongRunning task in Switchboard (StoreWriter's loop: every write unit and nothing
# else, its completions continue on the thread pool); the tiered JIT compiles hot methods again.
WRITER_THREAD=".NET Long Runni"
JIT_THREAD=".NET Tiered Com"
# thread_ticks PID: "tid<TAB>name<TAB>ticks" of each live thread.
thread_ticks() {
  local task
  for task in /proc/"$1"/task/*; do
    printf '%s\t%s\t%s\n' "${task##*/}" "$(cat "$task/comm" 2>/dev/null)" "$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "$task/stat" 2>/dev/null)"
  done
}
# thread_report BEFORE AFTER TOTAL_TICKS: CPU ms per thread name between two thread_ticks
# snapshots, largest first; threads that exited in between show only in the process total.
thread_report() {
  awk -F'\t' -v hz="$CLK_TCK" -v total="$3" '
    FNR == NR { before[$1] = $3; next }
    { by[$2] += $3 - ($1 in before ? before[$1] : 0); sum += $3 - ($1 in before ? before[$1] : 0) }
    END {
      for (n in by) printf "%10.0f ms  %s\n", by[n] * 1000 / hz, n
      printf "%10.0f ms  %s\n", (total - sum) * 1000 / hz, "(threads that exited)"
    }' "$1" "$2" | sort -rn
}
# thread_ms REPORT NAME COUNT: the CPU ms of threads NAME in a thread_report, per COUNT.
thread_ms() { awk -v n="$2" -v c="$3" '{ ms = $1; sub(/^ *[-0-9]+ ms  /, "") } $0 == n { t += ms } END { printf "%.3f", t / c }' "$1"; }

# ---- switchboard serve -----------------------------------------------------------------------
# start_serve NAME: fresh data dir with a bench user, the two offers and the two deals, then serve
# on a fresh port. Sets SB_DIR, SB_DB, SB_URL, SB_PID, SB_KEY.
start_serve() {
  local name=$1
  SB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-deals.XXXXXX")
  TMPDIRS+=("$SB_DIR")
  SB_DB="$SB_DIR/switchboard.db"
  SB_KEY=$(new_key bench --credits 1000000000 --data "$SB_DIR")
  {
    echo "$ECHO_CATALOG"
    cat <<'YAML'
  - service: bench
    action: relay
    handler: echo.render
    price: 1
    prompt_template: "Relay {input}"
    create_qty: 1
    params: {}
deals:
  - name: pipe3
    offers:
      - {offer: bench/echo, pipeline: none}
      - {offer: bench/relay, pipeline: overwrite}
      - {offer: bench/relay, pipeline: extend}
    price_modifier: 10
  - name: parallel3
    offers:
      - {offer: bench/echo, pipeline: none}
      - {offer: bench/echo, pipeline: none}
      - {offer: bench/echo, pipeline: none}
    price_modifier: 10
YAML
  } >"$SB_DIR/catalog.yaml"
  "$SWITCHBOARD" catalog apply "$SB_DIR/catalog.yaml" --data "$SB_DIR" >"$LOG/$name-catalog.log" 2>&1 \
    || die "catalog apply (see $LOG/$name-catalog.log)"
  # The catalog (deals included) is live once /svc/ lists the offers.
  # shellcheck disable=SC2086 # SERVE_ARGS is a list of words on purpose
  start_server "$LOG/$name-serve.log" /svc/ '"/svc/bench/relay/"' "$SWITCHBOARD" serve --data "$SB_DIR" $SERVE_ARGS
  SB_PID=$SERVER_PID
  SB_URL=$SERVER_URL
}

# smoke DEAL: one deal alone, before any load; it must succeed with the expected step results
# (for pipe3: the pipeline's hand-over, overwrite then extend). Fails the run with what it saw.
smoke() {
  local deal=$1 body id i status results expected
  body=$(curl -sS --max-time 10 -X POST "$SB_URL/svc/deal/$deal/" -H "Authorization: Bearer $SB_KEY" \
    -H 'Content-Type: application/json' -d '{"inputs":{"text":"smoke"}}') || die "POST /svc/deal/$deal/ failed"
  id=$(sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' <<<"$body")
  [[ -n "$id" ]] || die "POST /svc/deal/$deal/ answered: $body"
  for ((i = 0; i < 100; i++)); do
    status=$(sql "SELECT status FROM requests WHERE id = '$id'")
    [[ "$status" == succeeded || "$status" == failed ]] && break
    sleep 0.1
  done
  results=$(sql "SELECT group_concat(step || ':' || status || ':' || IFNULL(results, ''), ' ') FROM (SELECT * FROM requests WHERE parent = '$id' ORDER BY step)")
  case $deal in
    pipe3) expected='0:succeeded:["Echo smoke #1"] 1:succeeded:["Relay Echo smoke #1 #1"] 2:succeeded:["Relay Relay Echo smoke #1 #1 #1"]' ;;
    *) expected='0:succeeded:["Echo smoke #1"] 1:succeeded:["Echo smoke #1"] 2:succeeded:["Echo smoke #1"]' ;;
  esac
  [[ "$status" == succeeded && "$results" == "$expected" ]] \
    || die "smoke deal $deal: status '$status', steps '$results' (expected succeeded, '$expected'); answer $(curl -sS --max-time 5 "$SB_URL/svc/request/$id/" -H "Authorization: Bearer $SB_KEY")"
}

# submit_load OUTFILE TAG SECONDS PATH: the unique-body POST load, checked for errors.
submit_load() {
  local out=$1 tag=$2 seconds=$3 path=$4 script=bench/submit.lua n
  [[ "$path" == /svc/deal/* ]] && script=bench/submit-deal.lua
  BENCH_KEY=$SB_KEY BENCH_TAG=$tag BENCH_PATH=$path "${WRK[@]}" "-d${seconds}s" -s "$script" "$SB_URL" >"$out" 2>&1 \
    || die "wrk failed (see $out)"
  for n in non_2xx other_2xx socket_errors; do
    [[ "$(awk -v k="$n" '$1 == "bench:" && $2 == k { print $3 }' "$out")" == 0 ]] || die "$n in $out"
  done
}

# check_stored WRK_OUTPUT STORED: every 202 wrk counted is a stored request (or deal). The store
# may hold up to one more per connection: submissions in flight when wrk stopped.
check_stored() {
  local accepted
  accepted=$(field "$1" accepted_202)
  ((accepted <= $2 && $2 <= accepted + CONNECTIONS)) || die "wrk counted $accepted 202s, the store holds $2 new ones"
}

# e2e_of KIND T0: "count|first created_at|last finished_at|not succeeded" of the rows of KIND
# ('offer', 'deal' or 'step') created since T0 (ms).
e2e_of() { sql "SELECT COUNT(*), MIN(created_at), MAX(finished_at), SUM(status <> 'succeeded') FROM requests WHERE kind = '$1' AND created_at >= $2"; }

# median_sql EXPR FROM_WHERE: the median of EXPR over the rows of "FROM … WHERE …" (SQLite has no
# percentile function: the middle row of the sorted values).
median_sql() {
  sql "SELECT $1 AS v $2 ORDER BY v LIMIT 1 OFFSET (SELECT COUNT(*) / 2 $2)"
}

per_s() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", n * 1000 / (b - a) }'; }

# measure ROUND PHASE: one phase (baseline, pipe3 or parallel3) on a fresh serve. Appends
# "bench: <name> <value>" lines to the phase's wrk output and sets R_* for the tables.
measure() {
  local round=$1 phase=$2 path kind t0 ticks0 ticks1 row count first last bad out="$LOG/$1-$2.txt"
  if [[ "$phase" == baseline ]]; then path=/svc/bench/echo/ kind=offer; else path=/svc/deal/$phase/ kind=deal; fi
  start_serve "$round-$phase"
  [[ "$kind" == deal ]] && smoke "$phase"
  submit_load "$LOG/$round-$phase-warmup.txt" "warm$round" "$WARMUP" "$path"
  drain
  quiet_check "$phase"
  t0=$(now_ms)
  # The per-thread window lies inside the process's: process, threads … threads, process.
  ticks0=$(proc_ticks "$SB_PID")
  thread_ticks "$SB_PID" >"$LOG/$round-$phase-threads-before.tsv"
  submit_load "$out" "run$round" "$DURATION" "$path"
  drain
  thread_ticks "$SB_PID" >"$LOG/$round-$phase-threads-after.tsv"
  ticks1=$(proc_ticks "$SB_PID")
  thread_report "$LOG/$round-$phase-threads-before.tsv" "$LOG/$round-$phase-threads-after.tsv" "$((ticks1 - ticks0))" \
    >"$LOG/$round-$phase-threads.txt"

  row=$(e2e_of "$kind" "$t0")
  IFS='|' read -r count first last bad <<<"$row"
  ((count > 0)) || die "no $kind rows created during the measured run of $phase"
  [[ "$bad" == 0 ]] || die "$bad ${kind}s of the $phase run did not succeed (server log in $LOG)"
  check_stored "$out" "$count"
  R_ACCEPTED=$(field "$out" accepted_per_s)
  R_E2E=$(per_s "$count" "$first" "$last")
  # Serve's CPU (user + system, all threads) from the first measured submission to the drained
  # backlog, per completed offer request or deal; and the parts of the store writer and the JIT.
  R_CPU_MS=$(awk -v t="$((ticks1 - ticks0))" -v hz="$CLK_TCK" -v n="$count" 'BEGIN { printf "%.3f", t * 1000 / hz / n }')
  R_WRITER_MS=$(thread_ms "$LOG/$round-$phase-threads.txt" "$WRITER_THREAD" "$count")
  R_JIT_MS=$(thread_ms "$LOG/$round-$phase-threads.txt" "$JIT_THREAD" "$count")
  R_LATENCY=$(median_sql "finished_at - created_at" "FROM requests WHERE kind = '$kind' AND created_at >= $t0")
  {
    echo "bench: completed $count"
    echo "bench: e2e_seconds $(awk -v a="$first" -v b="$last" 'BEGIN { printf "%.3f", (b - a) / 1000 }')"
    echo "bench: e2e_per_s $R_E2E"
    echo "bench: serve_cpu_ms_per_$kind $R_CPU_MS"
    echo "bench: writer_cpu_ms_per_$kind $R_WRITER_MS"
    echo "bench: jit_cpu_ms_per_$kind $R_JIT_MS"
    echo "bench: latency_created_finished_p50_ms $R_LATENCY"
  } >>"$out"

  R_STEPS=
  R_HANDOVER=
  if [[ "$kind" == deal ]]; then
    local steps sfirst slast sbad
    IFS='|' read -r steps sfirst slast sbad <<<"$(e2e_of step "$t0")"
    [[ "$sbad" == 0 ]] || die "$sbad steps of the $phase run did not succeed (server log in $LOG)"
    ((steps == 3 * count)) || die "$count deals of the $phase run have $steps steps, not $((3 * count))"
    R_STEPS=$(per_s "$steps" "$sfirst" "$slast")
    {
      echo "bench: steps_completed $steps"
      echo "bench: steps_per_s $R_STEPS"
    } >>"$out"
    if [[ "$phase" == pipe3 ]]; then
      # The pipeline's hand-over: from a step's end to the start of the step that waits for it,
      # the median over the measured deals' two hand-overs each.
      R_HANDOVER=$(median_sql "b.started_at - a.finished_at" \
        "FROM requests a JOIN requests b ON b.parent = a.parent AND b.step = a.step + 1 WHERE a.kind = 'step' AND a.created_at >= $t0")
      echo "bench: handover_p50_ms $R_HANDOVER" >>"$out"
    fi
  fi
  stop_serve
}

# ---- rounds -------------------------------------------------------------------------------------
PHASES=(baseline pipe3)
[[ "$PARALLEL" == 1 ]] && PHASES+=(parallel3)
declare -A ACC E2E STEPS CPUMS WRITERMS JITMS LAT HAND
BUSY=()
for ((r = 1; r <= RUNS; r++)); do
  ROUND_BUSY=0
  for phase in "${PHASES[@]}"; do
    log "round $r/$RUNS: $phase"
    measure "$r" "$phase"
    ACC[$phase,$r]=$R_ACCEPTED
    E2E[$phase,$r]=$R_E2E
    STEPS[$phase,$r]=$R_STEPS
    CPUMS[$phase,$r]=$R_CPU_MS
    WRITERMS[$phase,$r]=$R_WRITER_MS
    JITMS[$phase,$r]=$R_JIT_MS
    LAT[$phase,$r]=$R_LATENCY
    HAND[$phase,$r]=$R_HANDOVER
    if [[ "$phase" == baseline ]]; then
      log "round $r/$RUNS: baseline accepted $R_ACCEPTED/s, completed $R_E2E offer requests/s"
    else
      log "round $r/$RUNS: $phase accepted $R_ACCEPTED deals/s, completed $R_E2E deals/s, $R_STEPS steps/s"
    fi
  done
  BUSY+=("$ROUND_BUSY")
  log "round $r/$RUNS done (other processes before the runs: up to ${ROUND_BUSY}% CPU)"
done

fmt() { awk -v v="$1" -v d="${2:-0}" 'BEGIN { if (v == "") print "–"; else printf "%.*f", d, v }'; }
# med ARRAY PHASE: the median over rounds of ARRAY[PHASE,round].
med() {
  local -n a=$1
  local i
  for ((i = 1; i <= RUNS; i++)); do echo "${a[$2,$i]}"; done | median
}

# Per round: steps/s ÷ baseline offers/s and deals/s × 3 ÷ baseline offers/s.
declare -A SRATIO DRATIO
DEAL_PHASES=("${PHASES[@]:1}")
for phase in "${DEAL_PHASES[@]}"; do
  for ((r = 1; r <= RUNS; r++)); do
    SRATIO[$phase,$r]=$(ratio "${STEPS[$phase,$r]}" "${E2E[baseline,$r]}")
    DRATIO[$phase,$r]=$(awk -v d="${E2E[$phase,$r]}" -v b="${E2E[baseline,$r]}" 'BEGIN { printf "%.3f", d * 3 / b }')
  done
done

# per_unit PHASE MS_PER_REQUEST_OR_DEAL: serve CPU ms per offer request, or per step (a deal's ÷ 3).
per_unit() { awk -v p="$1" -v v="$2" 'BEGIN { if (v == "") print ""; else printf "%.3f", (p == "baseline" ? v : v / 3) }'; }
cpu_cell() { echo "$(fmt "$(per_unit "$1" "$2")" 3) / $(fmt "$(per_unit "$1" "$3")" 3) / $(fmt "$(per_unit "$1" "$4")" 3)"; }

TABLE="| round | phase | accepted/s (202) | completed/s (offer requests or deals) | steps completed/s | steps/s ÷ baseline | deals/s × 3 ÷ baseline | serve CPU ms per request or step: all / store writer / tiered JIT | created→finished p50 ms | step hand-over p50 ms | other CPU before runs |
|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for ((r = 1; r <= RUNS; r++)); do
  for phase in "${PHASES[@]}"; do
    TABLE+="
| $r | $phase | $(fmt "${ACC[$phase,$r]}") | $(fmt "${E2E[$phase,$r]}") | $(fmt "${STEPS[$phase,$r]}") | ${SRATIO[$phase,$r]:-} | ${DRATIO[$phase,$r]:-} | $(cpu_cell "$phase" "${CPUMS[$phase,$r]}" "${WRITERMS[$phase,$r]}" "${JITMS[$phase,$r]}") | $(fmt "${LAT[$phase,$r]}") | $(fmt "${HAND[$phase,$r]}") | ${BUSY[r - 1]}% |"
  done
done
SUMMARY="| phase (medians of $RUNS rounds) | accepted/s (202) | completed/s | steps completed/s | steps/s ÷ baseline | deals/s × 3 ÷ baseline | serve CPU ms per request or step: all / store writer / tiered JIT | created→finished p50 ms | step hand-over p50 ms |
|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for phase in "${PHASES[@]}"; do
  if [[ "$phase" == baseline ]]; then
    SUMMARY+="
| baseline: POST /svc/bench/echo/ | $(fmt "$(med ACC baseline)") | $(fmt "$(med E2E baseline)") offer requests | | 1 | 1 | $(cpu_cell baseline "$(med CPUMS baseline)" "$(med WRITERMS baseline)" "$(med JITMS baseline)") | $(fmt "$(med LAT baseline)") | |"
  else
    SUMMARY+="
| $phase: POST /svc/deal/$phase/ | $(fmt "$(med ACC "$phase")") | $(fmt "$(med E2E "$phase")") deals | $(fmt "$(med STEPS "$phase")") | **$(fmt "$(med SRATIO "$phase")" 3)** | **$(fmt "$(med DRATIO "$phase")" 3)** | $(cpu_cell "$phase" "$(med CPUMS "$phase")" "$(med WRITERMS "$phase")" "$(med JITMS "$phase")") | $(fmt "$(med LAT "$phase")") | $(fmt "$(med HAND "$phase")") |"
  fi
done

REPORT="$OUT/deals-results-$STAMP.md"
{
  echo "Run $STAMP: \`bench/run-deals.sh\` with RUNS=$RUNS DURATION=$DURATION WARMUP=$WARMUP THREADS=$THREADS CONNECTIONS=$CONNECTIONS PARALLEL=$PARALLEL SERVE_ARGS='$SERVE_ARGS'"
  echo
  echo "Machine: $MACHINE"
  echo
  echo "$SUMMARY"
  echo
  echo "Ratios are medians of the per-round ratios (each deal phase against the baseline of its round). Serve CPU: user + system of the serve process from the first measured submission to the drained backlog, per completed offer request or per step (a deal's ÷ 3), and the parts of the store writer's thread and of the tiered JIT's thread; per thread: \`<round>-<phase>-threads.txt\` in the log folder."
  echo
  echo "$TABLE"
} >"$REPORT"
cp "$REPORT" "$OUT/deals-latest.md"

echo
cat "$REPORT"
echo
log "markdown table: $REPORT (raw wrk output and server logs: $LOG)"
