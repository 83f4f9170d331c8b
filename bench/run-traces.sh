#!/usr/bin/env bash
# Switchboard traces benchmark (issue 20) on one embedded `serve` (SQLite): the submit -> succeed
# path on the build before tracing (the baseline), on this build with tracing off, and on this
# build with tracing on (every request sampled, OTLP/HTTP to a local sink), interleaved in each
# round. The claim: off costs nothing measurable. See bench/README.md, "Traces (issue 20)".
#
#   bench/run-traces.sh
#
# Each round, on a fresh data dir and a fresh serve for each phase, in the order base, off, on:
#   REQUESTS submissions by wrk (bench/submit.lua, unique bodies), drained;
#   completed/s = requests / (last finished_at - first created_at) as the store recorded them.
#   on: OTEL_EXPORTER_OTLP_ENDPOINT to a sink on 127.0.0.1 (python3: reads each export, answers
#   200), OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf; the script checks the sink received exports
#   and that every request of the phase stored a traceparent (and none in the off phase).
#
# Environment (all optional):
#   RUNS=3  REQUESTS=3000  THREADS=2 CONNECTIONS=16  DRAIN_TIMEOUT=300
#   QUIET_MAX=15 QUIET_WAIT=30   as in bench/run.sh
#   SKIP_BUILD=1  SWITCHBOARD=   as in bench/run.sh
#   BASELINE=     an executable of the build before tracing; default: built here from the parent
#                 of the commit that added src/Switchboard/Observability/Tracing.cs (git archive)
# Only 127.0.0.1 is ever loaded. Output: bench/out/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
REQUESTS=${REQUESTS:-3000}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-16}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-300}
QUIET_MAX=${QUIET_MAX:-15}
QUIET_WAIT=${QUIET_WAIT:-30}

SWITCHBOARD=${SWITCHBOARD:-src/Switchboard/bin/Release/net10.0/switchboard}
BASELINE=${BASELINE:-}
OUT=bench/out
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOG="$OUT/traces-$STAMP"
mkdir -p "$LOG"

log() { printf '[traces %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
# shellcheck source=bench/lib.sh
source bench/lib.sh

own_cleanup

need_apt wrk:wrk sqlite3:sqlite3 curl:curl python3:python3
command -v dotnet >/dev/null || die "dotnet is not installed"
build_switchboard
if [[ -z "$BASELINE" ]]; then
  added=$(git log --format=%H --diff-filter=A -1 -- src/Switchboard/Observability/Tracing.cs)
  [[ -n "$added" ]] || die "no commit adds Observability/Tracing.cs: give BASELINE=an older build's executable"
  BASE_REF=$(git rev-parse "$added^")
  BASE_DIR=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-bench-base.XXXXXX")
  TMPDIRS+=("$BASE_DIR")
  log "building the baseline ${BASE_REF:0:12} (the commit before tracing)"
  git archive "$BASE_REF" | tar -x -C "$BASE_DIR"
  dotnet build -c Release -nologo -v q "$BASE_DIR/src/Switchboard/Switchboard.csproj" >"$LOG/build-baseline.log" 2>&1 \
    || die "build of the baseline (see $LOG/build-baseline.log)"
  BASELINE="$BASE_DIR/src/Switchboard/bin/Release/net10.0/switchboard"
else
  BASE_REF="given: $BASELINE"
fi
[[ -x "$BASELINE" ]] || die "baseline executable missing ($BASELINE)"
describe_machine "SQLite $(sqlite3 --version | awk '{ print $1 }')"
log "RUNS=$RUNS REQUESTS=$REQUESTS THREADS=$THREADS CONNECTIONS=$CONNECTIONS baseline=${BASE_REF:0:12}"

# The OTLP sink: takes POST /v1/traces, reads the body, answers 200; GET /_count says how many exports came.
SINK_PORT=$(free_port)
python3 - "$SINK_PORT" >"$LOG/sink.log" 2>&1 <<'EOF' &
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
count = 0
class Sink(BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        count += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()
    def do_GET(self):
        body = str(count).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
EOF
PIDS+=("$!")
SINK_URL="http://127.0.0.1:$SINK_PORT"
for ((i = 0; i < 50; i++)); do curl -fsS "$SINK_URL/_count" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$SINK_URL/_count" >/dev/null || die "the OTLP sink did not start (see $LOG/sink.log)"

# measure PHASE ROUND: sets E2E (completed/s).
measure() {
  local phase=$1 round=$2 out="$LOG/$1-$2" done_dir t0 row count first last exe=$SWITCHBOARD traced exports
  [[ "$phase" == base ]] && exe=$BASELINE
  SB_DIR=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-bench.XXXXXX")
  TMPDIRS+=("$SB_DIR")
  SB_DB="$SB_DIR/switchboard.db"
  SB_KEY=$(SWITCHBOARD=$exe new_key bench --credits 1000000000 --data "$SB_DIR")
  echo "$ECHO_CATALOG" >"$SB_DIR/catalog.yaml"
  "$exe" catalog apply "$SB_DIR/catalog.yaml" --data "$SB_DIR" >/dev/null
  exports=$(curl -fsS "$SINK_URL/_count")
  if [[ "$phase" == on ]]; then
    OTEL_EXPORTER_OTLP_ENDPOINT=$SINK_URL OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
      start_server "$LOG/$phase-$round-serve.log" /svc/ '"/svc/bench/echo/"' "$exe" serve --data "$SB_DIR"
  else
    start_server "$LOG/$phase-$round-serve.log" /svc/ '"/svc/bench/echo/"' "$exe" serve --data "$SB_DIR"
  fi
  SB_PID=$SERVER_PID
  SB_URL=$SERVER_URL
  done_dir=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-bench-done.XXXXXX")
  TMPDIRS+=("$done_dir")
  quiet_check "$phase submissions"
  t0=$(now_ms)
  BENCH_KEY=$SB_KEY BENCH_TAG="r$round" BENCH_PATH=/svc/bench/echo/ BENCH_REQUESTS=$REQUESTS BENCH_THREADS=$THREADS \
    BENCH_DONE_DIR=$done_dir wrk "-t$THREADS" "-c$CONNECTIONS" -d600s -s bench/submit.lua "$SB_URL" >"$out-submit.txt" 2>&1 \
    || die "wrk failed (see $out-submit.txt)"
  [[ "$(field "$out-submit.txt" accepted_202)" == "$REQUESTS" ]] || die "not every submission was accepted (see $out-submit.txt)"
  drain
  row=$(sql "SELECT COUNT(*), MIN(created_at), MAX(finished_at) FROM requests WHERE created_at >= $t0 AND status = 'succeeded'")
  IFS='|' read -r count first last <<<"$row"
  [[ "$count" == "$REQUESTS" ]] || die "$count of $REQUESTS requests succeeded (server log in $LOG)"
  E2E=$(awk -v n="$count" -v a="$first" -v b="$last" 'BEGIN { printf "%.1f", n * 1000 / (b - a) }')
  case $phase in
    off) traced=$(sql "SELECT COUNT(*) FROM requests WHERE trace_parent IS NOT NULL")
         [[ "$traced" == 0 ]] || die "tracing off, yet $traced requests stored a traceparent" ;;
    on) traced=$(sql "SELECT COUNT(*) FROM requests WHERE trace_parent IS NOT NULL")
        [[ "$traced" == "$REQUESTS" ]] || die "tracing on, yet only $traced of $REQUESTS requests stored a traceparent" ;;
  esac
  stop_serve
  if [[ "$phase" == on ]]; then
    # Stopping flushes the batch: the sink has had exports of this phase.
    (($(curl -fsS "$SINK_URL/_count") > exports)) || die "the OTLP sink received nothing while tracing was on"
  fi
}

fmt() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }

declare -A COL
TABLE="| round | completed/s, before tracing | completed/s, tracing off | completed/s, tracing on | off ÷ before | on ÷ off | other CPU |
|---|---:|---:|---:|---:|---:|---:|"
for ((r = 1; r <= RUNS; r++)); do
  ROUND_BUSY=0
  for phase in base off on; do
    log "round $r/$RUNS: $phase ($REQUESTS submissions)"
    measure "$phase" "$r"
    COL[$phase-$r]=$E2E
    log "round $r/$RUNS: $phase completed $E2E/s"
  done
  COL[offratio-$r]=$(ratio "${COL[off-$r]}" "${COL[base-$r]}")
  COL[onratio-$r]=$(ratio "${COL[on-$r]}" "${COL[off-$r]}")
  TABLE+="
| $r | $(fmt "${COL[base-$r]}") | $(fmt "${COL[off-$r]}") | $(fmt "${COL[on-$r]}") | ${COL[offratio-$r]} | ${COL[onratio-$r]} | ${ROUND_BUSY}% |"
done

med() { local i v=(); for ((i = 1; i <= RUNS; i++)); do v+=("${COL[$1-$i]}"); done; printf '%s\n' "${v[@]}" | median; }
TABLE+="
| **median** | **$(fmt "$(med base)")** | **$(fmt "$(med off)")** | **$(fmt "$(med on)")** | **$(printf '%.3f' "$(med offratio)")** | **$(printf '%.3f' "$(med onratio)")** | |"

REPORT="$OUT/traces-results-$STAMP.md"
{
  echo "Run $STAMP: \`bench/run-traces.sh\` with RUNS=$RUNS REQUESTS=$REQUESTS THREADS=$THREADS CONNECTIONS=$CONNECTIONS, baseline ${BASE_REF:0:12}"
  echo
  echo "Machine: $MACHINE"
  echo
  echo "$TABLE"
} >"$REPORT"
echo
cat "$REPORT"
echo
log "markdown table: $REPORT (raw wrk output and server logs: $LOG)"
