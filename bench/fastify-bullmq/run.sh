#!/usr/bin/env bash
# The Fastify + BullMQ peer of the distributed benchmark (issue 23): BullMQ behind a small
# Fastify api, api and worker as two node processes (as Switchboard's api and executor), on a
# Redis of its own with appendfsync everysec, loaded by the same wrk script as Switchboard.
#
#   bench/fastify-bullmq/run.sh [REQUESTS=20000] [CONCURRENCY=100]
#
# Installs fastify, bullmq and ioredis with npm into bench/out/node (ignored by git) the first
# time; starts redis-server on a free port of 127.0.0.1 (`--appendonly yes --appendfsync everysec
# --save ''`, files in a temp dir), worker.mjs (a BullMQ Worker of CONCURRENCY) and api.mjs
# (Fastify); one POST alone first, then WARMUP_REQUESTS by wrk (drained), then exactly REQUESTS
# unique-body POSTs by `wrk -tTHREADS -cCONNECTIONS -s bench/submit.lua`, every one a 202,
# drained. Everything it started is stopped on exit. Prints one JSON line (the fields of
# bench/bullmq/run.sh's, and the CPU of each process):
#   added_per_s        wrk's 202s per second (bench/submit.lua's accepted_per_s)
#   completed_per_s    jobs ÷ (last finishedOn − first timestamp) of the measured jobs, as BullMQ
#                      recorded them (stats.mjs)
#   start_latency_ms_p50/p99   processedOn − timestamp of the measured jobs
#   api_cpu_s, worker_cpu_s, redis_cpu_s   CPU seconds (user + system, /proc/PID/stat) of each
#                      process from the first measured request to the drained batch
#   cpu_ms_per_request (api + worker + redis) ÷ jobs, in ms; wrk_cpu_s is the client's
#   aof_bytes, redis_forks  the AOF's size at the end and Redis's forks (AOF rewrites) in the run
#   busy_before_percent  the rest of the machine's CPU use before the batch (quiet_check)
# Environment (all optional): WARMUP_REQUESTS=5000 THREADS=2 CONNECTIONS=64 DRAIN_TIMEOUT=300
# SUBMIT_TIMEOUT=300 QUIET_MAX=15 QUIET_WAIT=30, and LOG_DIR (default bench/out/fastify-<time>):
# the processes' logs and wrk's output. Needs node (>= 20), npm, wrk, redis-server, curl.
# Only 127.0.0.1 is used.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)

REQUESTS=${1:-20000}
CONCURRENCY=${2:-100}
WARMUP_REQUESTS=${WARMUP_REQUESTS:-5000}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-300}
SUBMIT_TIMEOUT=${SUBMIT_TIMEOUT:-300}
QUIET_MAX=${QUIET_MAX:-15}
QUIET_WAIT=${QUIET_WAIT:-30}
LOG=${LOG_DIR:-bench/out/fastify-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$LOG"

log() { printf '[fastify %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/lib.sh
source bench/lib.sh
own_cleanup

for tool in node npm wrk redis-server redis-cli curl; do
  command -v "$tool" >/dev/null || die "$tool is not installed"
done

# Versions pinned so that numbers from different days compare like for like (ioredis as
# bench/bullmq/run.sh).
FASTIFY_VERSION=${FASTIFY_VERSION:-5.12.8}
BULLMQ_VERSION=${BULLMQ_VERSION:-6.7.0}
IOREDIS_VERSION=${IOREDIS_VERSION:-6.0.0}
NODE_DIR="$ROOT/bench/out/node"
export SB_NODE_MODULES=$NODE_DIR
installed() {
  node -e 'const [d, ...want] = process.argv.slice(1);
    for (const w of want) { const [n, v] = w.split("@");
      if (require(d + "/node_modules/" + n + "/package.json").version !== v) process.exit(1); }' \
    "$NODE_DIR" "fastify@$FASTIFY_VERSION" "bullmq@$BULLMQ_VERSION" "ioredis@$IOREDIS_VERSION" 2>/dev/null
}
if ! installed; then
  log "installing fastify@$FASTIFY_VERSION, bullmq@$BULLMQ_VERSION and ioredis@$IOREDIS_VERSION into bench/out/node"
  mkdir -p "$NODE_DIR"
  npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error \
    "fastify@$FASTIFY_VERSION" "bullmq@$BULLMQ_VERSION" "ioredis@$IOREDIS_VERSION" >"$LOG/npm.log" 2>&1 \
    || die "npm install (see $LOG/npm.log)"
fi

CLK_TCK=$(getconf CLK_TCK)
# CPU ticks (user + system) of one process and of its reaped children (Redis's AOF rewrite runs
# in a forked child).
proc_ticks() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
  awk '{ sub(/^.*\) /, ""); print $12 + $13 + $14 + $15 }' <<<"$stat"
}
# children_seconds VAR: CPU seconds of this shell's reaped children (wrk runs in the foreground)
# into VAR. `times` must run in this shell, not in $(…), whose subshell has children of its own.
children_seconds() {
  times >"$WORK/times.txt"
  printf -v "$1" '%s' "$(awk 'NR == 2 { n = split($0, f, " "); s = 0; for (i = 1; i <= n; i++) { split(f[i], p, "m"); s += p[1] * 60 + p[2] } print s }' "$WORK/times.txt")"
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-fastify.XXXXXX")
TMPDIRS+=("$WORK")

# ---- Redis of its own: AOF, fsync once a second, no RDB snapshots ------------------------------
REDIS_PID=""
for ((attempt = 1; attempt <= 5; attempt++)); do
  port=$(free_port)
  redis-server --port "$port" --bind 127.0.0.1 --dir "$WORK" --appendonly yes --appendfsync everysec \
    --save '' --logfile "$ROOT/$LOG/redis.log" &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  for ((i = 0; i < 100; i++)); do
    [[ "$(redis-cli -p "$port" ping 2>/dev/null)" == PONG ]] && break
    kill -0 "$REDIS_PID" 2>/dev/null || break
    sleep 0.1
  done
  [[ "$(redis-cli -p "$port" ping 2>/dev/null)" == PONG ]] && break
  stop_process "$REDIS_PID"
  REDIS_PID=""
done
[[ -n "$REDIS_PID" ]] || die "redis-server did not start (see $LOG/redis.log)"
REDIS_PORT=$port
[[ "$(redis-cli -p "$REDIS_PORT" CONFIG GET appendfsync | tail -n 1)" == everysec ]] || die "Redis is not on appendfsync everysec"
REDIS_VERSION=$(redis-cli -p "$REDIS_PORT" INFO server | awk -F: '/^redis_version:/ { print $2 }' | tr -d '\r')

# ---- the key set, the worker, the api --------------------------------------------------------------
# 1,000 users with random keys; the api keeps only their SHA-256. bench is the one wrk uses.
QUEUE="peer-$(date +%s)-$$"
node -e 'const c = require("crypto");
  for (let i = 0; i < 999; i++) console.log("user" + i, "sk_" + c.randomBytes(24).toString("hex"));
  console.log("bench", process.argv[1]);' "sk_$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')" >"$WORK/keys.txt"
KEY=$(awk '$1 == "bench" { print $2 }' "$WORK/keys.txt")

node bench/fastify-bullmq/worker.mjs "$REDIS_PORT" "$QUEUE" "$CONCURRENCY" >"$LOG/worker.log" 2>&1 &
WORKER_PID=$!
PIDS+=("$WORKER_PID")
for ((i = 0; i < 300; i++)); do
  grep -q 'worker ready' "$LOG/worker.log" && break
  kill -0 "$WORKER_PID" 2>/dev/null || die "worker.mjs exited at start (see $LOG/worker.log)"
  sleep 0.1
done
grep -q 'worker ready' "$LOG/worker.log" || die "worker.mjs not ready within 30 s (see $LOG/worker.log)"

API_PID=""
for ((attempt = 1; attempt <= 5; attempt++)); do
  port=$(free_port)
  API_URL="http://127.0.0.1:$port"
  node bench/fastify-bullmq/api.mjs "$port" "$REDIS_PORT" "$QUEUE" "$WORK/keys.txt" >>"$LOG/api.log" 2>&1 &
  API_PID=$!
  PIDS+=("$API_PID")
  wait_http "$API_PID" "$API_URL/healthz" ok && break
  wait "$API_PID" 2>/dev/null || true
  forget_pid "$API_PID"
  API_PID=""
done
[[ -n "$API_PID" ]] || die "api.mjs did not start (see $LOG/api.log)"

# The api's answers to a bad key, a bad body and an unknown offer, checked once (not timed).
post() { curl -sS -o /dev/null -w '%{http_code}' --max-time 10 -X POST "$API_URL$1" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' -d "$3"; }
[[ "$(post /svc/bench/echo/ wrong '{"text":"x"}')" == 401 ]] || die "a wrong key was not refused with 401"
[[ "$(post /svc/bench/echo/ "$KEY" '{"text":1}')" == 400 ]] || die "a body without a string text was not refused with 400"
[[ "$(post /svc/bench/nope/ "$KEY" '{"text":"x"}')" == 404 ]] || die "an unknown offer was not refused with 404"
[[ "$(post /svc/bench/echo/ "$KEY" '{"text":"first"}')" == 202 ]] || die "the first submission was not accepted (see $LOG/api.log)"
# The same submission again is the same job (jobId = the request id): still one job to wait for.
[[ "$(post /svc/bench/echo/ "$KEY" '{"text":"first"}')" == 202 ]] || die "the repeated submission was not accepted"
SUBMITTED=1

# submit OUTFILE TAG N: exactly N unique-body POSTs (as run-distributed.sh's submit).
submit() {
  local out=$1 tag=$2 n=$3 k done_dir
  done_dir=$(mktemp -d "$WORK/wrk.XXXXXX")
  BENCH_KEY=$KEY BENCH_TAG=$tag BENCH_REQUESTS=$n BENCH_THREADS=$THREADS BENCH_DONE_DIR=$done_dir \
    wrk "-t$THREADS" "-c$CONNECTIONS" "-d${SUBMIT_TIMEOUT}s" --latency -s bench/submit.lua "$API_URL" >"$out" 2>&1 \
    || die "wrk failed (see $out)"
  rm -rf -- "$done_dir"
  for k in non_2xx other_2xx socket_errors; do
    [[ "$(field "$out" "$k")" == 0 ]] || die "$k in $out"
  done
  [[ "$(field "$out" accepted_202)" == "$n" ]] || die "wrk counted $(field "$out" accepted_202) 202s, not $n (see $out)"
  SUBMITTED=$((SUBMITTED + n))
}

# Until every job accepted so far has completed; fails on a failed job, on more jobs than distinct
# submissions (a repeated one must not be a second job) or after DRAIN_TIMEOUT.
drain() {
  local deadline=$(($(date +%s) + DRAIN_TIMEOUT)) completed failed
  while true; do
    completed=$(redis-cli -p "$REDIS_PORT" ZCARD "bull:$QUEUE:completed")
    failed=$(redis-cli -p "$REDIS_PORT" ZCARD "bull:$QUEUE:failed")
    [[ "$failed" == 0 ]] || die "$failed jobs failed (see $LOG/worker.log)"
    ((completed > SUBMITTED)) && die "$completed jobs completed for $SUBMITTED distinct submissions"
    ((completed == SUBMITTED)) && return 0
    (($(date +%s) < deadline)) || die "$((SUBMITTED - completed)) jobs still pending after ${DRAIN_TIMEOUT} s"
    sleep 0.25
  done
}

if ((WARMUP_REQUESTS > 0)); then
  submit "$LOG/warmup.txt" "warm-fastify-$$" "$WARMUP_REQUESTS"
fi
drain
ROUND_BUSY=0
quiet_check "the Fastify + BullMQ peer"
api0=$(proc_ticks "$API_PID")
worker0=$(proc_ticks "$WORKER_PID")
redis0=$(proc_ticks "$REDIS_PID")
wrk0=0 wrk1=0
children_seconds wrk0
T0=$(now_ms)
submit "$LOG/measured.txt" "run-fastify-$$" "$REQUESTS"
children_seconds wrk1
drain
api1=$(proc_ticks "$API_PID")
worker1=$(proc_ticks "$WORKER_PID")
redis1=$(proc_ticks "$REDIS_PID")
T_END=$(now_ms)

STATS=$(node bench/fastify-bullmq/stats.mjs "$REDIS_PORT" "$QUEUE" "$T0") || die "stats.mjs failed"
echo "$STATS" >"$LOG/stats.json"
jget() { node -e 'const v = JSON.parse(process.argv[1])[process.argv[2]]; console.log(v ?? "")' "$STATS" "$1"; }
[[ "$(jget jobs)" == "$REQUESTS" ]] || die "Redis holds $(jget jobs) completed jobs of the measured batch, not $REQUESTS"
[[ "$(jget failed)" == 0 ]] || die "$(jget failed) jobs failed"
FIRST=$(jget first_created)
LAST=$(jget last_finished)
# Redis's persistence and fork counters (AOF size, rewrites during the run) for the record.
redis-cli -p "$REDIS_PORT" INFO persistence >"$LOG/redis-persistence.txt"
redis-cli -p "$REDIS_PORT" INFO stats >"$LOG/redis-stats.txt"
info() { awk -F: -v k="$2" '$1 == k { gsub(/\r/, ""); print $2 }' "$LOG/redis-$1.txt"; }
AOF_ENABLED=$(info persistence aof_enabled)
AOF_BYTES=$(info persistence aof_current_size)
FORKS=$(info stats total_forks)

stop_process "$API_PID"
stop_process "$WORKER_PID"
stop_process "$REDIS_PID"

secs() { awk -v a="$1" -v b="$2" -v t="$CLK_TCK" 'BEGIN { printf "%.2f", (b - a) / t }'; }
API_CPU=$(secs "$api0" "$api1")
WORKER_CPU=$(secs "$worker0" "$worker1")
REDIS_CPU=$(secs "$redis0" "$redis1")
awk -v n="$REQUESTS" -v a="$FIRST" -v b="$LAST" -v p50="$(jget p50)" -v p99="$(jget p99)" \
  -v added="$(field "$LOG/measured.txt" accepted_per_s)" -v api="$API_CPU" -v worker="$WORKER_CPU" -v redis="$REDIS_CPU" \
  -v wrk0="$wrk0" -v wrk1="$wrk1" -v t0="$T0" -v t1="$T_END" -v busy="$ROUND_BUSY" -v aof="$AOF_ENABLED" -v aof_bytes="$AOF_BYTES" -v forks="$FORKS" \
  -v fastify="$FASTIFY_VERSION" -v bullmq="$BULLMQ_VERSION" -v redisv="$REDIS_VERSION" -v c="$CONCURRENCY" \
  -v threads="$THREADS" -v conns="$CONNECTIONS" -v warm="$WARMUP_REQUESTS" 'BEGIN {
  printf "{\"peer\":\"fastify-bullmq\",\"fastify\":\"%s\",\"bullmq\":\"%s\",\"redis\":\"%s\",\"appendonly\":%s,\"appendfsync\":\"everysec\",", fastify, bullmq, redisv, (aof == 1 ? "true" : "false")
  printf "\"jobs\":%d,\"warmup\":%d,\"add\":\"HTTP POST by wrk -t%d -c%d, one queue.add per request\",\"concurrency\":%d,\"worker\":\"own process\",\"keep_completed\":true,", n, warm, threads, conns, c
  printf "\"added_per_s\":%.1f,\"completed_per_s\":%.1f,\"start_latency_ms_p50\":%s,\"start_latency_ms_p99\":%s,", added, n * 1000 / (b - a), p50, p99
  printf "\"seconds\":%.2f,\"cpu_window_s\":%.2f,\"api_cpu_s\":%s,\"worker_cpu_s\":%s,\"redis_cpu_s\":%s,\"wrk_cpu_s\":%.2f,", (b - a) / 1000, (t1 - t0) / 1000, api, worker, redis, wrk1 - wrk0
  printf "\"cpu_ms_per_request\":%.3f,\"aof_bytes\":%d,\"redis_forks\":%d,\"busy_before_percent\":%d}\n", (api + worker + redis) * 1000 / n, aof_bytes, forks, busy
}'
