#!/usr/bin/env bash
# The change feed's latency (issue 19): the time from a committed change (the lifecycle's
# Publish, right after the commit) to a follower in ANOTHER process through Redis pub/sub, under
# RATE changes a second, and in the same run the local feed (embedded: publisher and follower in
# one process) as the baseline. See bench/README.md, "The change feed (issue 19)".
#
#   bench/run-feed.sh
#
# Each round and transport: bench/FeedLatency follows one request; for Redis it starts a second
# FeedLatency process that publishes RATE partial changes a second (bursts every 10 ms) for
# DURATION seconds through Switchboard's own RedisChangeFeed (batched, fire-and-forget); each
# change carries its publish time, the follower records receive − publish per change (both on
# this machine's clock) and prints p50, p99 and max; the medians over rounds are reported.
#
# Environment (all optional):
#   RUNS=3 RATE=1000 DURATION=10
#   REDIS_URL=   a Redis to use (redis://host:port); by default a throwaway redis-server on a
#                free 127.0.0.1 port, stopped at the end
#   SKIP_BUILD=1 use the existing Release build of bench/FeedLatency
# Output: bench/out/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
RATE=${RATE:-1000}
DURATION=${DURATION:-10}
STAMP=$(date -u +%Y%m%d-%H%M%S)
LOG=bench/out/feed-$STAMP
mkdir -p "$LOG"
log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
die() { log "error: $*"; exit 1; }
QUIET_MAX=15 QUIET_WAIT=30
# shellcheck source=bench/lib.sh
. bench/lib.sh
own_cleanup

FEED=bench/FeedLatency/bin/Release/net10.0/FeedLatency
if [[ "${SKIP_BUILD:-}" != 1 ]]; then
  log "building bench/FeedLatency (Release)"
  dotnet build -c Release -nologo -v q bench/FeedLatency/FeedLatency.csproj >"$LOG/build.log" 2>&1 || die "build (see $LOG/build.log)"
fi
[[ -x "$FEED" ]] || die "no build at $FEED"

if [[ -z "${REDIS_URL:-}" ]]; then
  need_apt redis-server:redis-server
  port=$(free_port)
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no >"$LOG/redis.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  REDIS_URL="redis://127.0.0.1:$port"
fi
describe_machine "$(redis-server --version | awk '{ print $1, $2, $3 }')"

declare -A P50 P99 MAX
BUSY=""
for ((round = 1; round <= RUNS; round++)); do
  for transport in redis local; do
    ROUND_BUSY=0
    quiet_check "$transport round $round"
    BUSY+="$ROUND_BUSY "
    out="$LOG/$transport-$round.txt"
    "$FEED" follow "$transport" "$REDIS_URL" "feedbench$round" "$RATE" "$DURATION" >"$out" 2>&1 || die "$transport round $round (see $out)"
    [[ "$(field "$out" received)" == $((RATE / 100 * 100 * DURATION)) ]] || die "$transport round $round lost changes (see $out)"
    P50[$transport]+="$(field "$out" p50_ms) "
    P99[$transport]+="$(field "$out" p99_ms) "
    MAX[$transport]+="$(field "$out" max_ms) "
    log "round $round $transport: p50 $(field "$out" p50_ms) ms, p99 $(field "$out" p99_ms) ms, max $(field "$out" max_ms) ms"
  done
done

med() { tr ' ' '\n' <<<"$1" | grep -v '^$' | median; }
{
  echo "## The change feed (issue 19) — $STAMP"
  echo
  echo "\`RUNS=$RUNS RATE=$RATE DURATION=$DURATION bench/run-feed.sh\`; $MACHINE; other processes' CPU before each part: ${BUSY% } %"
  echo
  echo "| feed | p50 ms | p99 ms | max ms | per round (p50 / p99) |"
  echo "|---|---|---|---|---|"
  for transport in redis local; do
    read -ra a <<<"${P50[$transport]}"; read -ra b <<<"${P99[$transport]}"
    rounds=""; for i in "${!a[@]}"; do rounds+="${a[$i]} / ${b[$i]}; "; done
    echo "| $transport | $(med "${P50[$transport]}") | $(med "${P99[$transport]}") | $(med "${MAX[$transport]}") | ${rounds%; } |"
  done
} | tee "$LOG/results.md"
cp "$LOG/results.md" bench/out/feed-latest.md
