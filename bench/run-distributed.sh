#!/usr/bin/env bash
# Distributed-mode benchmark: Switchboard (api + executor(s) + recon on PostgreSQL and Redis)
# against the BullMQ peer (bench/bullmq) on the same Redis and the Fastify + BullMQ peer
# (bench/fastify-bullmq) on a Redis of its own, and the embedded serve, in one run.
# See bench/README.md, "Distributed mode (PostgreSQL + Redis) vs BullMQ" and "Issue 23: against
# Fastify + BullMQ".
#
#   bench/run-distributed.sh
#
# Each round measures, in this order:
#   sb1     Switchboard: 1 api + 1 executor + 1 recon
#   sb2     Switchboard: 1 api + 2 executors + 1 recon
#   bullmq  bench/bullmq/run.sh with the same number of jobs
#   fastify bench/fastify-bullmq/run.sh: Fastify 5 api + BullMQ 6.7 worker (two node processes) on
#           a Redis of its own with appendfsync everysec, the same wrk script, THREADS,
#           CONNECTIONS, WARMUP_REQUESTS (drained) and REQUESTS
#   embedded  `switchboard serve` (SQLite, synchronous=FULL, fresh data dir): the same warm-up
#           and batch by wrk, drained; numbers read back from its SQLite store
#   embchat the same serve as a gateway: every request to openai.chat (offer bench/chat) against
#           the fake upstream below; its CPU per call is the serve's alone (issue 23's target)
#   g1, g2  with EXECUTOR_GROUPS=1 (executor groups, issue 18): 1 api + 2 executors + 1 recon,
#           every second request to openai.chat against a fake upstream on 127.0.0.1 (a Node
#           server answering each chat completion at once), the others to echo.render;
#           g1: neither executor has --handlers (one group serving both handlers);
#           g2: `--handlers echo.render` and `--handlers openai.chat` (two groups, each
#           reading its handler's stream only)
# For Switchboard every configuration and round gets a fresh database and Redis prefix, a warm-up
# batch (drained), then exactly REQUESTS unique-body POSTs (every one a new 202) with wrk at
# CONNECTIONS connections; the numbers are read back from PostgreSQL.
#
# Environment (all optional):
#   RUNS=3                rounds; medians are taken over them
#   REQUESTS=20000        measured Switchboard requests and BullMQ jobs per configuration
#   WARMUP_REQUESTS=5000  un-measured requests before the measured batch (the JIT needs them)
#   THREADS=2             wrk threads
#   CONNECTIONS=64        wrk connections (requests in flight at once)
#   EXECUTORS="1 2"       the Switchboard configurations: executor processes in each ("" for none)
#   APIS=1                api processes: "1 2" adds, per executor count N, sbNa2: the same with two
#                         api processes (two wrk instances, each half the requests and connections,
#                         one per api), and a bar chart of end-to-end/s by process counts goes to
#                         PLOTS/dist-scaling.svg (issue 23)
#   PLOTS=bench           where that chart goes
#   EXECUTOR_GROUPS=0     1 adds the configurations g1 and g2 (above) to every round
#   EXECUTOR_ARGS=        extra `executor` arguments, e.g. "--workers 256" (default: 128 workers)
#   GATE=                 a resource spec, e.g. "{max_concurrent: 64}": every Switchboard configuration
#                         is then also measured with the benchmark handler's resource gated by it
#                         (configuration sbNg, pushed as the resource_map config), in the same round
#   FAIRNESS=0            1 adds, per Switchboard configuration sbN, sbNu: the same with fairness off
#                         (Switchboard__Fair=false in every process: jobs straight into the streams,
#                         FIFO), in the same round; its ratio column is off ÷ on (issue 22)
#   BULLMQ=1              0 skips the BullMQ peer (e.g. when only the gate's cost is wanted)
#   BULLMQ_CONCURRENCY=100  BullMQ worker concurrency (bench/bullmq/run.sh and the Fastify peer's)
#   FASTIFY=1             0 skips the Fastify + BullMQ peer
#   EMBEDDED=1            0 skips the embedded serve
#   EMBEDDED_CHAT=1       0 skips embchat (the embedded serve calling openai.chat at the fake upstream)
#   SERVE_ARGS=           extra `serve` arguments for the embedded serve
#   PG_SETTINGS="-c shared_buffers=512MB"   extra postgres settings (fsync and synchronous_commit
#                         stay at their durable defaults unless you add them here)
#   PG_STAT_STATEMENTS=1  load pg_stat_statements and save the top statements per configuration
#   DB_SQL=               SQL run on every fresh database once migrated, before the processes
#                         start: an experiment (e.g. "DROP INDEX requests_created" to measure an
#                         index's cost); empty by default
#   DRAIN_TIMEOUT=300     seconds the executors get to finish a batch
#   SUBMIT_TIMEOUT=300    seconds wrk gets to submit a batch
#   QUIET_MAX=15, QUIET_WAIT=30   before a measured batch, wait up to QUIET_WAIT s while the rest
#                         of the machine uses more than QUIET_MAX % of all cores
#   SKIP_BUILD=1          use the existing Release build
#   SWITCHBOARD=          the executable to measure (default: the Release build of src/Switchboard)
# Only 127.0.0.1 is used. Output: bench/out/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

RUNS=${RUNS:-3}
REQUESTS=${REQUESTS:-20000}
WARMUP_REQUESTS=${WARMUP_REQUESTS:-5000}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
EXECUTORS=${EXECUTORS-1 2}
APIS=${APIS:-1}
PLOTS=${PLOTS:-bench}
API_COUNT=1
EXECUTOR_GROUPS=${EXECUTOR_GROUPS:-0}
EXECUTOR_ARGS=${EXECUTOR_ARGS:-}
GATE=${GATE:-}
FAIRNESS=${FAIRNESS:-0}
BULLMQ=${BULLMQ:-1}
BULLMQ_CONCURRENCY=${BULLMQ_CONCURRENCY:-100}
FASTIFY=${FASTIFY:-1}
EMBEDDED=${EMBEDDED:-1}
EMBEDDED_CHAT=${EMBEDDED_CHAT:-1}
SERVE_ARGS=${SERVE_ARGS:-}
PG_SETTINGS=${PG_SETTINGS:--c shared_buffers=512MB}
PG_STAT_STATEMENTS=${PG_STAT_STATEMENTS:-0}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-300}
SUBMIT_TIMEOUT=${SUBMIT_TIMEOUT:-300}
QUIET_MAX=${QUIET_MAX:-15}
QUIET_WAIT=${QUIET_WAIT:-30}

SWITCHBOARD=${SWITCHBOARD:-src/Switchboard/bin/Release/net10.0/switchboard}
[[ "$SWITCHBOARD" == /* ]] || SWITCHBOARD="$ROOT/$SWITCHBOARD"
OUT=bench/out
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOG="$OUT/dist-$STAMP"
mkdir -p "$LOG"

log() { printf '[dist %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/lib.sh
source bench/lib.sh

# shellcheck source=../scripts/services.sh
source scripts/services.sh

# ---- processes and the temp dir we own, cleaned up on any exit ------------------------------
PIDS=()
WORK=""
cleanup() {
  local status=$?
  set +e
  kill_owned
  stop_services
  [[ -n "$WORK" && -d "$WORK" ]] && rm -rf -- "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM



fmt() { awk -v v="$1" -v d="${2:-0}" 'BEGIN { if (v == "" || v == "nan") print "–"; else printf "%.*f", d, v }'; }

# ---- CPU accounting -----------------------------------------------------------------------
CLK_TCK=$(getconf CLK_TCK)
# CPU ticks (user + system) of one process; with "all", also of its reaped children.
proc_ticks() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  # Fields after "(comm) ": state ppid … utime(12) stime(13) cutime(14) cstime(15).
  awk -v all="${2:-}" '{ sub(/^.*\) /, ""); print $12 + $13 + (all == "all" ? $14 + $15 : 0) }' <<<"$stat"
}
# PostgreSQL: the postmaster, its reaped children (backends that exited) and its live children.
pg_ticks() {
  local pm total child
  pm=$(head -n 1 "$WORK/svc/pg/postmaster.pid")
  total=$(proc_ticks "$pm" all)
  for child in $(ps -o pid= --ppid "$pm"); do
    total=$((total + $(proc_ticks "$child")))
  done
  echo "$total"
}
redis_ticks() { proc_ticks "$(cat "$WORK/svc/redis.pid")"; }
# children_seconds VAR: CPU seconds of this shell's reaped children (wrk runs in the foreground)
# into VAR. `times` must run in this shell: in $(…) it reported the subshell's own children (0).
children_seconds() {
  times >"$WORK/times.txt"
  printf -v "$1" '%s' "$(awk 'NR == 2 { n = split($0, f, " "); s = 0; for (i = 1; i <= n; i++) { split(f[i], p, "m"); s += p[1] * 60 + p[2] } print s }' "$WORK/times.txt")"
}



need_apt wrk:wrk curl:curl psql:postgresql-client ps:procps node:nodejs npm:npm sqlite3:sqlite3
ensure_packages >"$LOG/services-install.log" 2>&1 || die "installing PostgreSQL / Redis (see $LOG/services-install.log)"
command -v dotnet >/dev/null || die "dotnet is not installed"

if [[ "${SKIP_BUILD:-}" != 1 ]]; then
  log "building Release"
  dotnet build -c Release -nologo -v q src/Switchboard/Switchboard.csproj >"$LOG/build-switchboard.log" 2>&1 \
    || die "build of Switchboard (see $LOG/build-switchboard.log)"
fi
[[ -x "$SWITCHBOARD" ]] || die "Release build missing ($SWITCHBOARD)"

WORK=$(mktemp -d /tmp/switchboard-dist.XXXXXX)
chmod 755 "$WORK"
# shellcheck disable=SC2086 # PG_SETTINGS is a list of words on purpose
set -- $PG_SETTINGS
[[ "$PG_STAT_STATEMENTS" == 1 ]] && set -- "$@" -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all
start_db_services "$WORK/svc" "$@"
cp "$WORK/svc/pg.log" "$LOG/pg-start.log" 2>/dev/null || true
[[ "$PG_STAT_STATEMENTS" == 1 ]] && psql_db postgres "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" >/dev/null

# ---- the machine -------------------------------------------------------------------------------
describe_machine "${DB_VERSIONS[@]}" "Node.js $(node --version)"
log "RUNS=$RUNS REQUESTS=$REQUESTS WARMUP_REQUESTS=$WARMUP_REQUESTS THREADS=$THREADS CONNECTIONS=$CONNECTIONS EXECUTORS='$EXECUTORS' EXECUTOR_ARGS='$EXECUTOR_ARGS' BULLMQ_CONCURRENCY=$BULLMQ_CONCURRENCY FASTIFY=$FASTIFY EMBEDDED=$EMBEDDED SERVE_ARGS='$SERVE_ARGS'"

# BullMQ's npm install happens once, here, not inside a measured round.
log "preparing the BullMQ peer"
bench/bullmq/run.sh "$REDIS_PORT" 200 10 >"$LOG/bullmq-prepare.txt" 2>&1 || die "bench/bullmq/run.sh failed (see $LOG/bullmq-prepare.txt)"
redis-cli -p "$REDIS_PORT" FLUSHALL >/dev/null
# The Fastify peer's npm install too, with a small run of it as its smoke test.
if [[ "$FASTIFY" != 0 ]]; then
  log "preparing the Fastify + BullMQ peer"
  LOG_DIR="$LOG/fastify-prepare" WARMUP_REQUESTS=0 QUIET_WAIT=0 THREADS=$THREADS CONNECTIONS=$CONNECTIONS \
    bench/fastify-bullmq/run.sh 200 "$BULLMQ_CONCURRENCY" >"$LOG/fastify-prepare.txt" 2>&1 \
    || die "bench/fastify-bullmq/run.sh failed (see $LOG/fastify-prepare.txt)"
fi

# ---- the fake upstream of openai.chat (EXECUTOR_GROUPS=1) -----------------------------------------
# A Node server on 127.0.0.1 that answers every POST …/chat/completions at once with one choice
# (keep-alive, no work): the second handler's jobs cost an HTTP round trip on the machine, no
# network. Started once for the whole run; its CPU is reported as "upstream".
UPSTREAM_PID=""
if [[ "$EXECUTOR_GROUPS" == 1 || "$EMBEDDED_CHAT" == 1 ]]; then
  cat >"$WORK/upstream.js" <<'JS'
const http = require("http");
const answer = JSON.stringify({
  id: "chatcmpl-bench", object: "chat.completion", model: "bench",
  choices: [{ index: 0, message: { role: "assistant", content: "ok" }, finish_reason: "stop" }],
  usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 },
});
const server = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    if (req.method === "POST" && req.url.endsWith("/chat/completions")) {
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(answer) });
      res.end(answer);
    } else {
      res.writeHead(req.url === "/ready" ? 200 : 404, { "Content-Type": "text/plain" });
      res.end(req.url === "/ready" ? "ready" : "not found");
    }
  });
});
server.keepAliveTimeout = 60000;
server.listen(Number(process.argv[2]), "127.0.0.1");
JS
  for ((attempt = 1; attempt <= 5; attempt++)); do
    UPSTREAM_PORT=$(free_port) || die "no free port"
    node "$WORK/upstream.js" "$UPSTREAM_PORT" >"$LOG/upstream.log" 2>&1 &
    UPSTREAM_PID=$!
    PIDS+=("$UPSTREAM_PID")
    for ((i = 0; i < 100; i++)); do
      curl -fsS --max-time 2 "http://127.0.0.1:$UPSTREAM_PORT/ready" >/dev/null 2>&1 && break 2
      kill -0 "$UPSTREAM_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$UPSTREAM_PID" 2>/dev/null || true
    wait "$UPSTREAM_PID" 2>/dev/null || true
    forget_pid "$UPSTREAM_PID"
    UPSTREAM_PID=""
  done
  [[ -n "$UPSTREAM_PID" ]] || die "the fake upstream did not start (see $LOG/upstream.log)"
  log "fake upstream of openai.chat on 127.0.0.1:$UPSTREAM_PORT"
fi

# ---- Switchboard -------------------------------------------------------------------------------
# wait_log, start_api, start_switchboard (the catalog, recon, executors, api) and stop_switchboard:
# shellcheck source=bench/lib-distributed.sh
source bench/lib-distributed.sh

# submit OUTFILE TAG N: exactly N unique-body POSTs, each thread stopping after its share. With
# SPLIT=1, every second request of a thread goes to bench/chat (openai.chat) instead of bench/echo.
SPLIT=0
submit() {
  ((API_COUNT == 1)) || { submit_split "$@"; return; }
  local out=$1 tag=$2 n=$3 k done_dir
  done_dir=$(mktemp -d "$WORK/wrk.XXXXXX")
  # -d is only a safety net: wrk ends when every thread has all its answers.
  BENCH_FAIL_EVERY=$((SPLIT == 1 ? 2 : 0)) BENCH_FAIL_PATH=/svc/bench/chat/ BENCH_PATH=${BENCH_PATH:-/svc/bench/echo/} BENCH_KEY=$SB_KEY BENCH_TAG=$tag BENCH_REQUESTS=$n BENCH_THREADS=$THREADS BENCH_DONE_DIR=$done_dir \
    wrk "-t$THREADS" "-c$CONNECTIONS" "-d${SUBMIT_TIMEOUT}s" --latency -s bench/submit.lua "$API_URL" >"$out" 2>&1 \
    || die "wrk failed (see $out)"
  rm -rf -- "$done_dir"
  for k in non_2xx other_2xx socket_errors; do
    [[ "$(field "$out" "$k")" == 0 ]] || die "$k in $out"
  done
  [[ "$(field "$out" accepted_202)" == "$n" ]] || die "wrk counted $(field "$out" accepted_202) 202s, not $n (see $out)"
}


# Until no request of the database is queued or running; fails after DRAIN_TIMEOUT seconds.
# Whether any row is in the partial indexes of queued and running rows (the first entry
# answers): `COUNT(*) … status IN (…)` can use neither and scanned the table, 65 ms of
# PostgreSQL's CPU four times a second during the measurement; two counts still took 17 ms.
drain() {
  local db=$1 deadline=$(($(date +%s) + DRAIN_TIMEOUT)) pending
  while true; do
    pending=$(psql_db "$db" "SELECT EXISTS (SELECT 1 FROM requests WHERE status = 'queued') OR EXISTS (SELECT 1 FROM requests WHERE status = 'running')")
    [[ "$pending" == f ]] && return 0
    (($(date +%s) < deadline)) || die "$(psql_db "$db" "SELECT COUNT(*) FROM requests WHERE status IN ('queued', 'running')") requests still pending after ${DRAIN_TIMEOUT} s (logs in $LOG)"
    sleep 0.25
  done
}

# cpu_snapshot: "name=ticks" per Switchboard process, plus pg, redis and the machine.
cpu_snapshot() {
  local entry
  for entry in "${SB_PIDS[@]}"; do echo "${entry%%:*}=$(proc_ticks "${entry#*:}")"; done
  echo "postgres=$(pg_ticks)"
  echo "redis=$(redis_ticks)"
  [[ -z "$UPSTREAM_PID" ]] || echo "upstream=$(proc_ticks "$UPSTREAM_PID")"
  read -r busy all iowait <<<"$(machine_ticks)"
  echo "machine_busy=$busy"
  echo "machine_all=$all"
  echo "machine_iowait=$iowait"
}
snap() { awk -F= -v k="$2" '$1 == k { print $2 }' <<<"$1"; }

# Cluster-wide WAL counters (PostgreSQL 14+): WAL bytes and fsyncs.
wal_stats() { psql_db postgres "SELECT wal_bytes, wal_sync FROM pg_stat_wal"; }

# read_peer OUT: the JSON line a peer's run.sh printed last in OUT (json, jget FIELD) and its
# rates and start latencies (R_ACCEPT, R_E2E, R_P50, R_P99).
read_peer() {
  json=$(tail -n 1 "$1")
  jget() { node -e 'const o = JSON.parse(process.argv[1]); const v = o[process.argv[2]]; console.log(v === null || v === undefined ? "" : v)' "$json" "$1"; }
  R_ACCEPT=$(jget added_per_s)
  R_E2E=$(jget completed_per_s)
  R_P50=$(jget start_latency_ms_p50)
  R_P99=$(jget start_latency_ms_p99)
}

# measure_switchboard NAME EXECUTORS ROUND [gated] [groups]: sets the R_* results of one
# configuration ("groups": half the requests to openai.chat, see start_switchboard).
measure_switchboard() {
  local name=$1 executors=$2 round=$3 gated=${4:-} groups=${5:-}
  local out="$LOG/$name-measured.txt" t0 t_end before after row count bad first last p50 p99 wal0 wal1
  local wrk_cpu0 wrk_cpu1 entry key window stats
  wal0=$(wal_stats)
  start_switchboard "$name" "$executors" "$gated" "$groups"
  ((API_COUNT == 1)) || start_more_apis "$name"
  SPLIT=$([[ -n "$groups" ]] && echo 1 || echo 0)
  submit "$LOG/$name-warmup.txt" "warm-$name" "$WARMUP_REQUESTS"
  drain "$name"
  quiet_check "$name"
  # Redis's per-command counts over the measured batch (saved with the results below).
  redis-cli -p "$REDIS_PORT" CONFIG RESETSTAT >/dev/null
  before=$(cpu_snapshot)
  children_seconds wrk_cpu0
  t0=$(now_ms)
  submit "$out" "run-$name" "$REQUESTS"
  children_seconds wrk_cpu1
  drain "$name"
  after=$(cpu_snapshot)
  t_end=$(now_ms)
  stop_switchboard

  row=$(psql_db "$name" "SELECT COUNT(*), COUNT(*) FILTER (WHERE status <> 'succeeded'), MIN(created_at), MAX(finished_at),
      percentile_cont(0.5) WITHIN GROUP (ORDER BY started_at - created_at),
      percentile_cont(0.99) WITHIN GROUP (ORDER BY started_at - created_at)
    FROM requests WHERE created_at >= $t0")
  IFS='|' read -r count bad first last p50 p99 <<<"$row"
  # Per handler (the groups' configurations): each handler's completions over its own span.
  [[ -z "$groups" ]] || psql_db "$name" "SELECT handler, COUNT(*), ROUND(COUNT(*) * 1000.0 / NULLIF(MAX(finished_at) - MIN(created_at), 0), 1)
      FROM requests WHERE created_at >= $t0 GROUP BY handler ORDER BY handler" | sed 's/^/bench: per_handler /' >"$LOG/$name-per-handler.txt"
  R_HANDLERS=""
  [[ -z "$groups" ]] || R_HANDLERS=$(awk -F'|' '{ sub(/^bench: per_handler /, "", $1); printf "%s%s %d in %s/s", (NR > 1 ? ", " : ""), $1, $2, $3 }' "$LOG/$name-per-handler.txt")
  [[ "$bad" == 0 ]] || die "$bad requests of $name did not succeed (logs in $LOG)"
  [[ "$count" == "$REQUESTS" ]] || die "$name: the store holds $count requests of the measured batch, not $REQUESTS"
  # Whole-database counters (warm-up + measured batch; every backend of this database has exited,
  # so its statistics are flushed).
  stats=$(psql_db postgres "SELECT xact_commit FROM pg_stat_database WHERE datname = '$name'")
  wal1=$(wal_stats)
  if [[ "$PG_STAT_STATEMENTS" == 1 ]]; then
    psql -X -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "SELECT calls, round(total_exec_time::numeric, 0) AS total_ms, round(mean_exec_time::numeric, 3) AS mean_ms, rows, wal_bytes, left(regexp_replace(query, '\s+', ' ', 'g'), 160) AS query FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '$name' ORDER BY total_exec_time DESC LIMIT 25" >"$LOG/$name-pg_stat_statements.txt" 2>&1 || true
  fi
  psql_db postgres "DROP DATABASE $name" >/dev/null
  # Calls per request of each Redis command over the measured batch (the drain's end included).
  redis-cli -p "$REDIS_PORT" INFO commandstats | awk -F'[:=,]' -v n="$REQUESTS" \
    '/^cmdstat_/ { printf "%-28s %10d calls %8.3f per request %10.1f µs total/req\n", substr($1, 9), $3, $3 / n, $5 / n }' \
    | sort -k4 -rn >"$LOG/$name-redis-commands.txt"
  redis-cli -p "$REDIS_PORT" FLUSHALL >/dev/null

  R_ACCEPT=$(field "$out" accepted_per_s)
  R_E2E=$(awk -v n="$count" -v a="$first" -v b="$last" 'BEGIN { printf "%.1f", n * 1000 / (b - a) }')
  R_P50=$p50
  R_P99=$p99
  window=$(awk -v a="$t0" -v b="$t_end" 'BEGIN { print (b - a) / 1000 }')
  # CPU in % of one core over the window from the first request to the drained batch.
  R_CPU=""
  for entry in "${SB_PIDS[@]}" postgres redis $([[ -n "$UPSTREAM_PID" && -n "$groups" ]] && echo upstream); do
    key=${entry%%:*}
    R_CPU+="$key=$(awk -v a="$(snap "$before" "$key")" -v b="$(snap "$after" "$key")" -v w="$window" -v t="$CLK_TCK" 'BEGIN { printf "%.0f", 100 * (b - a) / t / w }') "
  done
  # CPU per request: every process of the configuration, PostgreSQL and Redis (not wrk, not the
  # fake upstream, which stands for the provider).
  R_CPU_MS=0
  for entry in "${SB_PIDS[@]}" postgres redis; do
    key=${entry%%:*}
    R_CPU_MS=$(awk -v s="$R_CPU_MS" -v a="$(snap "$before" "$key")" -v b="$(snap "$after" "$key")" -v t="$CLK_TCK" 'BEGIN { print s + (b - a) / t }')
  done
  R_CPU_MS=$(awk -v s="$R_CPU_MS" -v n="$REQUESTS" 'BEGIN { printf "%.3f", s * 1000 / n }')
  R_CPU+="wrk=$(awk -v a="$wrk_cpu0" -v b="$wrk_cpu1" -v w="$window" 'BEGIN { printf "%.0f", 100 * (b - a) / w }') "
  R_CPU+="machine=$(awk -v a="$(snap "$before" machine_busy)" -v b="$(snap "$after" machine_busy)" -v x="$(snap "$before" machine_all)" -v y="$(snap "$after" machine_all)" 'BEGIN { printf "%.0f", 100 * (b - a) / (y - x) }') "
  R_CPU+="iowait=$(awk -v a="$(snap "$before" machine_iowait)" -v b="$(snap "$after" machine_iowait)" -v x="$(snap "$before" machine_all)" -v y="$(snap "$after" machine_all)" 'BEGIN { printf "%.0f", 100 * (b - a) / (y - x) }')"
  local total=$((REQUESTS + WARMUP_REQUESTS))
  R_PG=$(awk -v c="$stats" -v w0="$wal0" -v w1="$wal1" -v n="$total" 'BEGIN { split(w0, a, "|"); split(w1, b, "|"); printf "commits/req=%.3f wal_fsyncs/req=%.3f wal_bytes/req=%.0f", c / n, (b[2] - a[2]) / n, (b[1] - a[1]) / n }')
  {
    echo "bench: completed $count"
    echo "bench: e2e_seconds $(awk -v a="$first" -v b="$last" 'BEGIN { printf "%.3f", (b - a) / 1000 }')"
    echo "bench: e2e_per_s $R_E2E"
    echo "bench: start_latency_p50_ms $p50"
    echo "bench: start_latency_p99_ms $p99"
    echo "bench: cpu_percent_of_one_core $R_CPU"
    echo "bench: cpu_ms_per_request $R_CPU_MS"
    echo "bench: postgres $R_PG"
  } >>"$out"
}

# measure_bullmq ROUND: sets R_* from bench/bullmq/run.sh's JSON line.
measure_bullmq() {
  local round=$1 out json
  out="$LOG/bullmq-$round.json"
  quiet_check bullmq
  bench/bullmq/run.sh "$REDIS_PORT" "$REQUESTS" "$BULLMQ_CONCURRENCY" >"$out" 2>"$LOG/bullmq-$round.log" \
    || die "bench/bullmq/run.sh failed (see $LOG/bullmq-$round.log)"
  read_peer "$out"
  local seconds node_cpu redis_cpu
  seconds=$(jget seconds)
  node_cpu=$(jget node_cpu_s)
  redis_cpu=$(jget redis_cpu_s)
  R_CPU="node=$(awk -v c="$node_cpu" -v s="$seconds" 'BEGIN { printf "%.0f", 100 * c / s }') redis=$(awk -v c="$redis_cpu" -v s="$seconds" 'BEGIN { printf "%.0f", 100 * c / s }')"
  R_CPU_MS=$(awk -v a="$node_cpu" -v b="$redis_cpu" -v n="$REQUESTS" 'BEGIN { printf "%.3f", (a + b) * 1000 / n }')
  R_PG=""
  redis-cli -p "$REDIS_PORT" FLUSHALL >/dev/null
}

# measure_fastify ROUND: sets R_* from bench/fastify-bullmq/run.sh's JSON line (its own Redis, its
# own quiet check before the measured batch; its busy figure joins the round's).
measure_fastify() {
  local round=$1 out json seconds busy
  out="$LOG/fastify-$round.json"
  LOG_DIR="$LOG/fastify-$round" WARMUP_REQUESTS=$WARMUP_REQUESTS THREADS=$THREADS CONNECTIONS=$CONNECTIONS \
    DRAIN_TIMEOUT=$DRAIN_TIMEOUT SUBMIT_TIMEOUT=$SUBMIT_TIMEOUT QUIET_MAX=$QUIET_MAX QUIET_WAIT=$QUIET_WAIT \
    bench/fastify-bullmq/run.sh "$REQUESTS" "$BULLMQ_CONCURRENCY" >"$out" 2>"$LOG/fastify-$round.log" \
    || die "bench/fastify-bullmq/run.sh failed (see $LOG/fastify-$round.log)"
  read_peer "$out"
  seconds=$(jget cpu_window_s)
  busy=$(jget busy_before_percent)
  ((busy > ROUND_BUSY)) && ROUND_BUSY=$busy
  pct() { awk -v c="$1" -v s="$seconds" 'BEGIN { printf "%.0f", 100 * c / s }'; }
  R_CPU="api=$(pct "$(jget api_cpu_s)") worker=$(pct "$(jget worker_cpu_s)") redis=$(pct "$(jget redis_cpu_s)") wrk=$(pct "$(jget wrk_cpu_s)")"
  R_CPU_MS=$(jget cpu_ms_per_request)
  R_PG=""
}

# measure_embedded ROUND [chat]: one `switchboard serve` on a fresh SQLite data dir (as
# bench/run.sh's): the warm-up batch, drained, then the measured batch by the same submit,
# drained; e2e and queued→running from its store; CPU of the serve process (the whole of
# Switchboard here). With "chat" (configuration embchat) every request goes to bench/chat, the
# openai.chat handler calling the fake upstream (its CPU is shown apart, as "upstream").
measure_embedded() {
  local round=$1 chat=${2:-} name=embedded path=/svc/bench/echo/ out dir db t0 t_end cpu0 cpu1 wrk_cpu0 wrk_cpu1 up0 up1 row count bad first last p50 p99 window
  [[ -z "$chat" ]] || { name=embchat; path=/svc/bench/chat/; }
  out="$LOG/$name-$round-measured.txt"
  dir=$(mktemp -d "$WORK/embedded.XXXXXX")
  db="$dir/switchboard.db"
  SB_KEY=$(new_key bench --credits 1000000000 --data "$dir")
  apply_catalog "$dir" "$chat" --data "$dir"
  # shellcheck disable=SC2086 # SERVE_ARGS is a list of words on purpose
  Switchboard__Outbound__AllowLoopback=$([[ -n "$chat" ]] && echo true || echo false) \
    start_server "$LOG/$name-$round-serve.log" /svc/ "\"$path\"" "$SWITCHBOARD" serve --data "$dir" $SERVE_ARGS
  API_URL=$SERVER_URL
  # One POST alone first, as for the distributed configurations and the peer.
  [[ "$(curl -sS -o /dev/null -w '%{http_code}' --max-time 60 -X POST "$API_URL$path" -H "Authorization: Bearer $SB_KEY" \
    -H 'Content-Type: application/json' -d "{\"text\":\"first-$name-$round\"}")" == 202 ]] \
    || die "$name: the first submission was not accepted (see $LOG/$name-$round-serve.log)"
  esql() { sqlite3 -cmd '.timeout 10000' "$db" "$1"; }
  edrain() {
    local deadline=$(($(date +%s) + DRAIN_TIMEOUT)) pending
    while true; do
      pending=$(esql "SELECT (SELECT COUNT(*) FROM requests WHERE status = 'queued') + (SELECT COUNT(*) FROM requests WHERE status = 'running')")
      [[ "$pending" == 0 ]] && return 0
      (($(date +%s) < deadline)) || die "$name: $pending requests still pending after ${DRAIN_TIMEOUT} s (see $LOG/$name-$round-serve.log)"
      sleep 0.25
    done
  }
  SPLIT=0
  BENCH_PATH=$path submit "$LOG/$name-$round-warmup.txt" "warm-$name-$round" "$WARMUP_REQUESTS"
  edrain
  quiet_check "$name"
  cpu0=$(proc_ticks "$SERVER_PID")
  up0=$([[ -n "$chat" ]] && proc_ticks "$UPSTREAM_PID" || echo 0)
  children_seconds wrk_cpu0
  t0=$(now_ms)
  BENCH_PATH=$path submit "$out" "run-$name-$round" "$REQUESTS"
  children_seconds wrk_cpu1
  edrain
  cpu1=$(proc_ticks "$SERVER_PID")
  up1=$([[ -n "$chat" ]] && proc_ticks "$UPSTREAM_PID" || echo 0)
  t_end=$(now_ms)
  stop_process "$SERVER_PID"
  row=$(esql "SELECT COUNT(*), SUM(status <> 'succeeded'), MIN(created_at), MAX(finished_at) FROM requests WHERE created_at >= $t0")
  IFS='|' read -r count bad first last <<<"$row"
  [[ "$bad" == 0 ]] || die "$name: $bad requests did not succeed (see $LOG/$name-$round-serve.log)"
  [[ "$count" == "$REQUESTS" ]] || die "$name: the store holds $count requests of the measured batch, not $REQUESTS"
  # Percentiles as stats.mjs takes them: the value at rank ceil(p × n).
  p50=$(esql "SELECT started_at - created_at FROM requests WHERE created_at >= $t0 ORDER BY 1 LIMIT 1 OFFSET $(((count * 50 + 99) / 100 - 1))")
  p99=$(esql "SELECT started_at - created_at FROM requests WHERE created_at >= $t0 ORDER BY 1 LIMIT 1 OFFSET $(((count * 99 + 99) / 100 - 1))")
  rm -rf -- "$dir"
  window=$(awk -v a="$t0" -v b="$t_end" 'BEGIN { print (b - a) / 1000 }')
  R_ACCEPT=$(field "$out" accepted_per_s)
  R_E2E=$(awk -v n="$count" -v a="$first" -v b="$last" 'BEGIN { printf "%.1f", n * 1000 / (b - a) }')
  R_P50=$p50
  R_P99=$p99
  R_CPU="serve=$(awk -v a="$cpu0" -v b="$cpu1" -v w="$window" -v t="$CLK_TCK" 'BEGIN { printf "%.0f", 100 * (b - a) / t / w }') wrk=$(awk -v a="$wrk_cpu0" -v b="$wrk_cpu1" -v w="$window" 'BEGIN { printf "%.0f", 100 * (b - a) / w }')"
  [[ -z "$chat" ]] || R_CPU+=" upstream=$(awk -v a="$up0" -v b="$up1" -v w="$window" -v t="$CLK_TCK" 'BEGIN { printf "%.0f", 100 * (b - a) / t / w }')"
  R_CPU_MS=$(awk -v a="$cpu0" -v b="$cpu1" -v t="$CLK_TCK" -v n="$REQUESTS" 'BEGIN { printf "%.3f", (b - a) / t * 1000 / n }')
  R_PG=""
  {
    echo "bench: completed $count"
    echo "bench: e2e_per_s $R_E2E"
    echo "bench: start_latency_p50_ms $p50"
    echo "bench: start_latency_p99_ms $p99"
    echo "bench: cpu_percent_of_one_core $R_CPU"
    echo "bench: cpu_ms_per_request $R_CPU_MS"
  } >>"$out"
}

# ---- process scaling (APIS, issue 23) -----------------------------------------------------------
# start_more_apis NAME: apis 2 … API_COUNT of the configuration (start_api on other ports), each in
# SB_PIDS as apiN; API_URLS lists every api's URL. The first api's API_PID and API_URL stay.
API_URLS=()
start_more_apis() {
  local first_pid=$API_PID first_url=$API_URL i
  API_URLS=("$API_URL")
  local status
  for ((i = 2; i <= API_COUNT; i++)); do
    start_api "$LOG/$1-api$i.log"
    SB_PIDS+=("api$i:$API_PID")
    API_URLS+=("$API_URL")
    # One request alone first, as the first api gets (start_switchboard).
    status=$(curl -sS -o "$LOG/$1-first-api$i.json" -w '%{http_code}' --max-time 60 -X POST "$API_URL/svc/bench/echo/" \
      -H "Authorization: Bearer $SB_KEY" -H 'Content-Type: application/json' -d "{\"text\":\"first-$1-api$i\"}") || true
    [[ "$status" == 202 ]] || die "the first submission to api $i answered '$status' (see $LOG/$1-first-api$i.json, $LOG/$1-api$i.log)"
  done
  API_PID=$first_pid
  API_URL=$first_url
}

# submit_split OUTFILE TAG N: as submit, spread over the API_COUNT apis. wrk takes one URL, so one
# wrk per api, started together, each with its share of N, of CONNECTIONS and of THREADS (at least
# one); a TCP balancer in front would add a process of its own on the same two cores. OUTFILE gets
# each wrk's output and the sums as "bench:" lines (seconds: the slowest wrk's; accepted_per_s:
# all 202s ÷ that).
submit_split() {
  local out=$1 tag=$2 n=$3 i share conns threads done_dir k pids=()
  threads=$((THREADS / API_COUNT > 0 ? THREADS / API_COUNT : 1))
  conns=$((CONNECTIONS / API_COUNT > 0 ? CONNECTIONS / API_COUNT : 1))
  for ((i = 1; i <= API_COUNT; i++)); do
    share=$((n / API_COUNT + (i <= n % API_COUNT ? 1 : 0)))
    done_dir=$(mktemp -d "$WORK/wrk.XXXXXX")
    BENCH_KEY=$SB_KEY BENCH_TAG="$tag-api$i" BENCH_REQUESTS=$share BENCH_THREADS=$threads BENCH_DONE_DIR=$done_dir \
      wrk "-t$threads" "-c$conns" "-d${SUBMIT_TIMEOUT}s" --latency -s bench/submit.lua "${API_URLS[i - 1]}" >"$out.api$i" 2>&1 &
    pids+=($!)
  done
  for i in "${!pids[@]}"; do wait "${pids[i]}" || die "wrk failed (see $out.api$((i + 1)))"; done
  # Every request of each share answered with a 202. Socket errors are not checked here: wrk
  # counts as timeouts the connections that wait, their share sent, more than 2 s for the last
  # answers (submit.lua parks them), which a cold api's first batch of a few hundred can take.
  for ((i = 1; i <= API_COUNT; i++)); do
    for k in non_2xx other_2xx; do
      [[ "$(field "$out.api$i" "$k")" == 0 ]] || die "$k in $out.api$i"
    done
  done
  cat "$out".api* | awk '$1 == "bench:" { if ($2 == "seconds") { if ($3 > s) s = $3 } else if ($2 ~ /^(responses|answered|accepted_202|other_2xx|non_2xx|socket_errors)$/) v[$2] += $3 }
    END { for (k in v) print "bench:", k, v[k]; print "bench: seconds", s; printf "bench: accepted_per_s %.1f\n", v["accepted_202"] / s }' >"$out"
  [[ "$(field "$out" accepted_202)" == "$n" ]] || die "the wrk instances counted $(field "$out" accepted_202) 202s, not $n (see $out.api*)"
}

# more_apis_cpu CONFIG: " + N%" per api after the first (the CPU table's api column).
more_apis_cpu() {
  local a n=${1#sb} i
  [[ "$1" == sb*a* ]] || return 0
  a=${n#*a}
  for ((i = 2; i <= a; i++)); do printf ' + %s%%' "$(fmt "$(med_cpu "$1" "api$i")")"; done
}

# scaling_plot: when APIS names more than one count, a bar chart of the plain configurations'
# (sbN, sbNaM) median end-to-end/s: x = executors, one bar per api count.
scaling_plot() {
  local c n plain=()
  [[ "$(wc -w <<<"$APIS")" -gt 1 ]] || return 0
  for c in "${CONFIGS[@]}"; do [[ "$c" =~ ^sb[0-9]+(a[0-9]+)?$ ]] && plain+=("$c"); done
  ((${#plain[@]} > 1)) || return 0
  mkdir -p "$PLOTS"
  {
    echo "series,x,y"
    for c in "${plain[@]}"; do
      n=${c#sb}
      if [[ "$n" == *a* ]]; then echo "${n#*a} apis,${n%a*} executor(s),$(med E2E "$c")"; else echo "1 api,$n executor(s),$(med E2E "$c")"; fi
    done
  } | plot bar "$PLOTS/dist-scaling.svg" --title "Distributed: end-to-end/s by process count (2 cores: overhead, not speed-up)" --ylabel "completed req/s (median of $RUNS)"
  log "chart: $PLOTS/dist-scaling.svg"
}

# ---- rounds -------------------------------------------------------------------------------------
CONFIGS=()
for n in $EXECUTORS; do
  CONFIGS+=("sb$n")
  for a in $APIS; do ((a == 1)) || CONFIGS+=("sb${n}a$a"); done
  [[ -z "$GATE" ]] || CONFIGS+=("sb${n}g")
  [[ "$FAIRNESS" != 1 ]] || CONFIGS+=("sb${n}u")
done
[[ "$EXECUTOR_GROUPS" == 1 ]] && CONFIGS+=(g1 g2)
[[ "$BULLMQ" == 0 ]] || CONFIGS+=(bullmq)
[[ "$FASTIFY" == 0 ]] || CONFIGS+=(fastify)
[[ "$EMBEDDED" == 0 ]] || CONFIGS+=(embedded)
[[ "$EMBEDDED_CHAT" == 0 ]] || CONFIGS+=(embchat)
((${#CONFIGS[@]} > 0)) || die "nothing to measure (EXECUTORS is empty, EXECUTOR_GROUPS=0, BULLMQ=0, FASTIFY=0 and EMBEDDED=0)"
declare -A ACCEPT E2E P50 P99 CPUS PGS HANDLERS CPUMS
R_HANDLERS=""
EXEC_HANDLERS=()
BUSY=()
for ((r = 1; r <= RUNS; r++)); do
  ROUND_BUSY=0
  for c in "${CONFIGS[@]}"; do
    if [[ "$c" == bullmq ]]; then
      log "round $r/$RUNS: BullMQ, $REQUESTS jobs, concurrency $BULLMQ_CONCURRENCY"
      measure_bullmq "$r"
    elif [[ "$c" == fastify ]]; then
      log "round $r/$RUNS: Fastify + BullMQ peer (api + worker, Redis appendfsync everysec), $REQUESTS requests, concurrency $BULLMQ_CONCURRENCY"
      measure_fastify "$r"
    elif [[ "$c" == embedded ]]; then
      log "round $r/$RUNS: embedded switchboard serve (SQLite), $REQUESTS requests"
      measure_embedded "$r"
    elif [[ "$c" == embchat ]]; then
      log "round $r/$RUNS: embedded switchboard serve (SQLite), $REQUESTS openai.chat calls to the fake upstream"
      measure_embedded "$r" chat
    elif [[ "$c" == g1 || "$c" == g2 ]]; then
      # g1: neither executor has --handlers; g2: one per handler.
      if [[ "$c" == g1 ]]; then EXEC_HANDLERS=("" ""); else EXEC_HANDLERS=(echo.render openai.chat); fi
      log "round $r/$RUNS: Switchboard, 1 api + 2 executors ($([[ $c == g1 ]] && echo "one group: no --handlers" || echo "two groups: --handlers echo.render, --handlers openai.chat")) + 1 recon, $REQUESTS requests, half echo.render, half openai.chat"
      measure_switchboard "${c}_r$r" 2 "$r" "" groups
    elif [[ "$c" == sb*u ]]; then
      n=${c#sb}
      n=${n%u}
      log "round $r/$RUNS: Switchboard, 1 api + $n executor(s) + 1 recon, $REQUESTS requests, fairness off"
      # Every process of the configuration inherits it.
      export Switchboard__Fair=false
      measure_switchboard "${c}_r$r" "$n" "$r"
      unset Switchboard__Fair
    elif [[ "$c" == sb*a* ]]; then
      n=${c#sb}
      API_COUNT=${n#*a}
      n=${n%a*}
      log "round $r/$RUNS: Switchboard, $API_COUNT apis + $n executor(s) + 1 recon, $REQUESTS requests (a wrk per api)"
      measure_switchboard "${c}_r$r" "$n" "$r"
      API_COUNT=1
    else
      n=${c#sb}
      n=${n%g}
      log "round $r/$RUNS: Switchboard, 1 api + $n executor(s) + 1 recon, $REQUESTS requests$([[ $c == *g ]] && echo ", gated by $GATE")"
      measure_switchboard "${c}_r$r" "$n" "$r" "$([[ $c == *g ]] && echo gated)"
    fi
    ACCEPT[$c,$r]=$R_ACCEPT
    E2E[$c,$r]=$R_E2E
    P50[$c,$r]=$R_P50
    P99[$c,$r]=$R_P99
    CPUS[$c,$r]=$R_CPU
    PGS[$c,$r]=$R_PG
    CPUMS[$c,$r]=$R_CPU_MS
    HANDLERS[$c,$r]=${R_HANDLERS:-}
    R_HANDLERS=""
    log "round $r/$RUNS $c: accepted $(fmt "$R_ACCEPT")/s, e2e $(fmt "$R_E2E")/s, queued→running p50 $(fmt "$R_P50" 1) ms p99 $(fmt "$R_P99" 1) ms; CPU % of a core: $R_CPU; CPU $R_CPU_MS ms per request${R_PG:+; $R_PG}"
  done
  BUSY+=("$ROUND_BUSY")
done

# ---- report ---------------------------------------------------------------------------------------
label() {
  case $1 in
    bullmq) echo "BullMQ $(node -e 'console.log(require(process.argv[1] + "/node_modules/bullmq/package.json").version)' "$ROOT/bench/out/node" 2>/dev/null), concurrency $BULLMQ_CONCURRENCY" ;;
    fastify) echo "Fastify $(node -e 'console.log(require(process.argv[1] + "/node_modules/fastify/package.json").version)' "$ROOT/bench/out/node" 2>/dev/null) + BullMQ, api + worker (concurrency $BULLMQ_CONCURRENCY), Redis appendfsync everysec" ;;
    embedded) echo "Switchboard embedded serve (SQLite)" ;;
    embchat) echo "Switchboard embedded serve (SQLite), every request an openai.chat call to a fake upstream (CPU: the serve's)" ;;
    sb1) echo "Switchboard 1 api + 1 executor" ;;
    g1) echo "Switchboard 1 api + 2 executors, one group (no --handlers); ½ echo.render, ½ openai.chat" ;;
    g2) echo "Switchboard 1 api + 2 executors, two groups (--handlers echo.render, --handlers openai.chat); ½ each" ;;
    sb*g) echo "$(label "${1%g}"), resource gated by $GATE" ;;
    sb*u) echo "$(label "${1%u}"), fairness off" ;;
    sb*a*) local n=${1#sb}; echo "Switchboard ${n#*a} apis + ${n%a*} executor(s)" ;;
    *) echo "Switchboard 1 api + ${1#sb} executors" ;;
  esac
}
med() { # med ARRAYNAME CONFIG
  local -n arr=$1
  local r
  for ((r = 1; r <= RUNS; r++)); do echo "${arr[$2,$r]}"; done | median
}
# Median of one key=value field of the CPU strings.
med_cpu() {
  local r
  for ((r = 1; r <= RUNS; r++)); do tr ' ' '\n' <<<"${CPUS[$1,$r]}" | awk -F= -v k="$2" '$1 == k { print $2 }'; done | median
}

# What a configuration's e2e is compared with in the same round: a gated one with itself ungated
# (the gate's cost), two groups with one group (routing's cost), the others with BullMQ.
baseline() {
  case $1 in
    sb*g) echo "${1%g}" ;;
    sb*u) echo "${1%u}" ;;
    g2) echo g1 ;;
    *) echo bullmq ;;
  esac
}
ratio_to() { # ratio_to CONFIG ROUND BASE: CONFIG's e2e ÷ BASE's in the same round, or –
  local a=${E2E[$1,$2]:-} b=${E2E[$3,$2]:-}
  if [[ -n "$a" && -n "$b" ]]; then ratio "$a" "$b"; else echo "–"; fi
}
base_ratio() { ratio_to "$1" "$2" "$(baseline "$1")"; } # base_ratio CONFIG ROUND
# The median over rounds of a per-round ratio (FUNCTION CONFIG ROUND [BASE]), or – without one.
med_ratio() {
  local f=$1 c=$2 r v=()
  for ((r = 1; r <= RUNS; r++)); do v+=("$("$f" "$c" "$r" "${3:-}")"); done
  if [[ "${v[0]}" == "–" ]]; then echo "–"; else printf '%s\n' "${v[@]}" | median | xargs printf '%.3f'; fi
}

TABLE="| configuration | accepted req/s | end-to-end completed req/s | queued→running p50 ms | queued→running p99 ms | e2e ÷ baseline (BullMQ; gated: the same configuration ungated; two groups: one group; fairness off: the same with it on) | e2e ÷ Fastify + BullMQ | CPU ms per request, all processes |
|---|---:|---:|---:|---:|---:|---:|---:|"
for c in "${CONFIGS[@]}"; do
  TABLE+="
| $(label "$c") | $(fmt "$(med ACCEPT "$c")") | $(fmt "$(med E2E "$c")") | $(fmt "$(med P50 "$c")" 1) | $(fmt "$(med P99 "$c")" 1) | $(if [[ $c == bullmq ]]; then echo 1; else med_ratio base_ratio "$c"; fi) | $(med_ratio ratio_to "$c" fastify) | $(fmt "$(med CPUMS "$c")" 3) |"
done

ROUNDS="| round | configuration | accepted req/s | end-to-end req/s | p50 ms | p99 ms | e2e ÷ baseline (same round) | e2e ÷ Fastify + BullMQ (same round) | CPU ms per request | CPU, % of one core over the batch | PostgreSQL per request (warm-up + batch) |
|---|---|---:|---:|---:|---:|---:|---:|---:|---|---|"
for ((r = 1; r <= RUNS; r++)); do
  for c in "${CONFIGS[@]}"; do
    ROUNDS+="
| $r | $c | $(fmt "${ACCEPT[$c,$r]}") | $(fmt "${E2E[$c,$r]}") | $(fmt "${P50[$c,$r]}" 1) | $(fmt "${P99[$c,$r]}" 1) | $(base_ratio "$c" "$r") | $(ratio_to "$c" "$r" fastify) | $(fmt "${CPUMS[$c,$r]}" 3) | ${CPUS[$c,$r]} | ${PGS[$c,$r]} |"
  done
done

CPU_TABLE="| configuration | api (embedded: serve) | executor(s) (Fastify peer: its worker) | recon | PostgreSQL | Redis | node (BullMQ; groups and embchat: the fake upstream) | wrk | whole machine (of 2 cores) | iowait |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for c in "${CONFIGS[@]}"; do
  if [[ "$c" == bullmq ]]; then
    CPU_TABLE+="
| $c | | | | | $(fmt "$(med_cpu "$c" redis)")% | $(fmt "$(med_cpu "$c" node)")% | | | |"
  elif [[ "$c" == fastify ]]; then
    CPU_TABLE+="
| $c | $(fmt "$(med_cpu "$c" api)")% | $(fmt "$(med_cpu "$c" worker)")% | | | $(fmt "$(med_cpu "$c" redis)")% | | $(fmt "$(med_cpu "$c" wrk)")% | | |"
  elif [[ "$c" == embedded || "$c" == embchat ]]; then
    CPU_TABLE+="
| $c | $(fmt "$(med_cpu "$c" serve)")% | | | | | $([[ $c == embchat ]] && echo "$(fmt "$(med_cpu "$c" upstream)")%") | $(fmt "$(med_cpu "$c" wrk)")% | | |"
  else
    ex=""
    n=${c#sb}
    n=${n%g}
    n=${n%u}
    n=${n%a*}
    [[ $c == g? ]] && n=2
    for ((i = 1; i <= n; i++)); do ex+="${ex:+ + }$(fmt "$(med_cpu "$c" "executor$i")")%"; done
    CPU_TABLE+="
| $c | $(fmt "$(med_cpu "$c" api)")%$(more_apis_cpu "$c") | $ex | $(fmt "$(med_cpu "$c" recon)")% | $(fmt "$(med_cpu "$c" postgres)")% | $(fmt "$(med_cpu "$c" redis)")% | $([[ $c == g? ]] && echo "$(fmt "$(med_cpu "$c" upstream)")%") | $(fmt "$(med_cpu "$c" wrk)")% | $(fmt "$(med_cpu "$c" machine)")% | $(fmt "$(med_cpu "$c" iowait)")% |"
  fi
done

REPORT="$OUT/dist-results-$STAMP.md"
{
  echo "Run $STAMP: \`bench/run-distributed.sh\` with RUNS=$RUNS REQUESTS=$REQUESTS WARMUP_REQUESTS=$WARMUP_REQUESTS THREADS=$THREADS CONNECTIONS=$CONNECTIONS EXECUTORS='$EXECUTORS' EXECUTOR_GROUPS=$EXECUTOR_GROUPS EXECUTOR_ARGS='$EXECUTOR_ARGS' BULLMQ_CONCURRENCY=$BULLMQ_CONCURRENCY FASTIFY=$FASTIFY EMBEDDED=$EMBEDDED EMBEDDED_CHAT=$EMBEDDED_CHAT SERVE_ARGS='$SERVE_ARGS' PG_SETTINGS='$PG_SETTINGS'${DB_SQL:+ DB_SQL='$DB_SQL'}"
  echo
  echo "Machine: $MACHINE"
  echo
  echo "Medians of $RUNS rounds (ratio: median of the per-round ratios):"
  echo
  echo "$TABLE"
  echo
  if [[ "$FASTIFY" != 0 ]]; then
    verdict() { if [[ "$1" == "–" ]]; then echo "not measured"; else awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { ok = (op == "ge" ? v >= t : v <= t); printf "%s (%s)", (ok ? "met" : "NOT met"), v }'; fi; }
    echo "Issue 23's targets (medians): distributed 1 api + 1 executor e2e ÷ Fastify + BullMQ ≥ 1.0: $(verdict "$(med_ratio ratio_to sb1 fastify)" 1 ge); its CPU per request ≤ 0.4 ms: $(verdict "$( [[ -n "${CPUMS[sb1,1]:-}" ]] && fmt "$(med CPUMS sb1)" 3 || echo –)" 0.4 le) (the peer's: $(fmt "$(med CPUMS fastify)" 3) ms); embedded e2e ÷ Fastify + BullMQ ≥ 2: $(verdict "$(med_ratio ratio_to embedded fastify)" 2 ge); embedded CPU per openai.chat call ≤ 0.35 ms: $(verdict "$( [[ -n "${CPUMS[embchat,1]:-}" ]] && fmt "$(med CPUMS embchat)" 3 || echo –)" 0.35 le)."
    echo
  fi
  echo "CPU per process, % of one core over the measured batch (medians; Switchboard, the embedded serve and the Fastify peer: from the first measured request to the drained batch; BullMQ: from the first add to the last completed job):"
  echo
  echo "$CPU_TABLE"
  echo
  echo "Every round (other processes' CPU before the rounds, worst: ${BUSY[*]/%/%}):"
  echo
  echo "$ROUNDS"
  if [[ "$EXECUTOR_GROUPS" == 1 ]]; then
    echo
    echo "Per handler (g1, g2): requests completed ÷ (its last finished_at − its first created_at):"
    echo
    for ((r = 1; r <= RUNS; r++)); do
      for c in g1 g2; do echo "- round $r $c: ${HANDLERS[$c,$r]}"; done
    done
  fi
} >"$REPORT"
cp "$REPORT" "$OUT/dist-latest.md"
scaling_plot

echo
cat "$REPORT"
echo
log "markdown: $REPORT (wrk output and process logs: $LOG)"
