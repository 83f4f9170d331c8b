#!/usr/bin/env bash
# BullMQ peer of the distributed benchmark: no-op jobs through BullMQ on a given Redis.
#
#   bench/bullmq/run.sh REDIS_PORT [JOBS=20000] [CONCURRENCY=100]
#
# Installs bullmq and ioredis with npm into bench/out/node (ignored by git) the first time, then
# runs bench.mjs against 127.0.0.1:REDIS_PORT on a fresh queue, which it obliterates afterwards.
# Prints one JSON line (see bench.mjs for the fields and the optional environment: ADD_INFLIGHT,
# BULK, BULK_SIZE, WARMUP, KEEP_COMPLETED, TIMEOUT). Needs node and npm (Node.js >= 18).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

if [ "$#" -lt 1 ]; then
  echo "usage: $0 REDIS_PORT [JOBS=20000] [CONCURRENCY=100]" >&2
  exit 2
fi

# Versions pinned so that numbers from different days compare like for like.
BULLMQ_VERSION=${BULLMQ_VERSION:-6.7.0}
IOREDIS_VERSION=${IOREDIS_VERSION:-6.0.0}
node_dir="$root/bench/out/node"
installed() {
  node -e 'const [d, v] = process.argv.slice(1);
    process.exit(require(d + "/node_modules/bullmq/package.json").version === v ? 0 : 1)' \
    "$node_dir" "$BULLMQ_VERSION" 2>/dev/null \
    && [ -f "$node_dir/node_modules/ioredis/package.json" ]
}
if ! installed; then
  echo "installing bullmq@$BULLMQ_VERSION and ioredis@$IOREDIS_VERSION into bench/out/node" >&2
  mkdir -p "$node_dir"
  npm install --prefix "$node_dir" --no-audit --no-fund --loglevel=error \
    "bullmq@$BULLMQ_VERSION" "ioredis@$IOREDIS_VERSION" >&2
fi

SB_NODE_MODULES="$node_dir" exec node "$here/bench.mjs" "$@"
