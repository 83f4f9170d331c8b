#!/usr/bin/env bash
# Switchboard's first-hour costs (issue 16): how long a management command takes through the
# published binary (the README's way) and through `dotnet run --no-build` (the old tour's), how
# long `--help` takes, and how long `serve` takes from its start to a ready `/readyz`, beside a
# BASELINE build measured in the same run. Also the latency of the documents a newcomer fetches
# (`/svc/openapi.json`, `/readyz`). See bench/README.md, "A newcomer's first hour (issue 16)".
#
#   bench/run-cli.sh
#
# Environment (all optional):
#   RUNS=15         runs of each timed command (hyperfine --runs), and serve starts per build
#   DURATION=5      seconds of each wrk run against the documents (one connection)
#   SKIP_BUILD=1    use the existing Release build
#   SWITCHBOARD=    the executable to measure (default: the Release build of src/Switchboard)
#   BASELINE=       an older build's executable: its serve start is measured beside (optional;
#                   builds before issue 16 serve when given `serve --urls URL --data DIR` too)
#   QUIET_MAX=15    before each batch, wait (up to QUIET_WAIT=30 s) until the rest of the machine
#                   uses less than this % of all cores
# Only 127.0.0.1 is ever used. Output: bench/out/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_start cli

RUNS=${RUNS:-15}
DURATION=${DURATION:-5}
BASELINE=${BASELINE:-}

need_apt hyperfine:hyperfine wrk:wrk curl:curl jq:jq
build_switchboard
describe_machine "$(hyperfine --version)"
ROUND_BUSY=0

SB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-cli.XXXXXX")
TMPDIRS+=("$SB_DIR")
"$SWITCHBOARD" users create alice --credits 100 --data "$SB_DIR/data" >/dev/null || die "users create"
"$SWITCHBOARD" catalog apply examples/catalog.yaml --data "$SB_DIR/data" >/dev/null 2>&1 || die "catalog apply"

# hyperfine's median of one command, in ms. (Callers run quiet_check first: these run in a
# subshell, where ROUND_BUSY would be lost.)
timed() {
  local name=$1
  shift
  hyperfine --runs "$RUNS" --warmup 2 --style none --export-json "$LOG/$name.json" "$@" >"$LOG/$name.txt" 2>&1 \
    || die "hyperfine $name (see $LOG/$name.txt)"
  jq -r '.results[0].median * 1000 | floor' "$LOG/$name.json"
}

# ms from the start of `serve` to the first 200 of /readyz, median of RUNS starts on fresh data.
serve_start() {
  local exe=$1 name=$2 i t0 pid port samples=()
  for ((i = 0; i < RUNS; i++)); do
    port=$(free_port)
    rm -rf "$SB_DIR/start"
    t0=$(now_ms)
    "$exe" serve --urls "http://127.0.0.1:$port" --data "$SB_DIR/start" >>"$LOG/$name.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    until curl -fs -o /dev/null "http://127.0.0.1:$port/readyz"; do
      kill -0 "$pid" 2>/dev/null || die "$name exited at start (see $LOG/$name.log)"
      (($(now_ms) - t0 < 60000)) || die "$name not ready within 60 s"
      sleep 0.01
    done
    samples+=($(($(now_ms) - t0)))
    stop_process "$pid"
  done
  printf '%s\n' "${samples[@]}" | median
}

quiet_check help
HELP=$(timed help "$SWITCHBOARD --help")
quiet_check users-list
LIST=$(timed users-list "$SWITCHBOARD users list --data $SB_DIR/data")
quiet_check dotnet-run
DOTNET_RUN=$(timed dotnet-run-users-list "dotnet run --project src/Switchboard -c Release --no-build -- users list --data $SB_DIR/data")
quiet_check serve-start
START=$(serve_start "$SWITCHBOARD" serve-start)
BASE_START=
if [[ -n "$BASELINE" ]]; then
  quiet_check baseline-serve-start
  BASE_START=$(serve_start "$BASELINE" baseline-serve-start)
fi

# The documents, on one serve with the example catalog.
start_server "$LOG/serve.log" /healthz healthy "$SWITCHBOARD" serve --data "$SB_DIR/data"
docs_rps() {
  wrk -t1 -c1 -d"${DURATION}s" --latency "$SERVER_URL$1" >"$LOG/wrk-${1//\//_}.txt" 2>&1 || die "wrk $1"
  awk '/^Requests\/sec/ { printf "%.0f", $2 }' "$LOG/wrk-${1//\//_}.txt"
}
quiet_check openapi
OPENAPI_RPS=$(docs_rps /svc/openapi.json)
quiet_check readyz
READYZ_RPS=$(docs_rps /readyz)
quiet_check healthz
HEALTHZ_RPS=$(docs_rps /healthz)

{
  echo "bench: machine $MACHINE"
  echo "bench: busy_max_percent $ROUND_BUSY"
  echo "bench: help_ms $HELP"
  echo "bench: users_list_ms $LIST"
  echo "bench: dotnet_run_users_list_ms $DOTNET_RUN"
  echo "bench: serve_to_ready_ms $START"
  [[ -n "$BASE_START" ]] && echo "bench: baseline_serve_to_ready_ms $BASE_START"
  echo "bench: openapi_json_rps $OPENAPI_RPS"
  echo "bench: readyz_rps $READYZ_RPS"
  echo "bench: healthz_rps $HEALTHZ_RPS"
} | tee "$LOG/summary.txt"
