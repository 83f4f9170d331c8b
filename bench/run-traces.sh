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

# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_start traces

RUNS=${RUNS:-3}
REQUESTS=${REQUESTS:-3000}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-16}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-300}
BASELINE=${BASELINE:-}

need_apt wrk:wrk sqlite3:sqlite3 curl:curl python3:python3
command -v dotnet >/dev/null || die "dotnet is not installed"
build_switchboard
if [[ -z "$BASELINE" ]]; then
  BASE_REF=$(commit_before_adding src/Switchboard/Observability/Tracing.cs)
  build_baseline "$BASE_REF" "the commit before tracing"
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
    timeout = 30  # a client that stops mid-request frees its thread
    def do_POST(self):
        global count
        length = int(self.headers.get("Content-Length", 0))
        if length > 64 << 20:  # far above any batch of 512 spans
            self.send_error(413)
            return
        self.rfile.read(length)
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
for ((i = 0; i < 50; i++)); do curl -fsS --max-time 2 "$SINK_URL/_count" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS --max-time 5 "$SINK_URL/_count" >/dev/null || die "the OTLP sink did not start (see $LOG/sink.log)"

# measure PHASE ROUND: sets E2E (completed/s).
measure() {
  local phase=$1 round=$2 exe=$SWITCHBOARD traced exports
  [[ "$phase" == base ]] && exe=$BASELINE
  fresh_store "$exe"
  echo "$ECHO_CATALOG" >"$SB_DIR/catalog.yaml"
  "$exe" catalog apply "$SB_DIR/catalog.yaml" --data "$SB_DIR" >/dev/null
  exports=$(curl -fsS --max-time 5 "$SINK_URL/_count")
  if [[ "$phase" == on ]]; then
    OTEL_EXPORTER_OTLP_ENDPOINT=$SINK_URL OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf \
      start_server "$LOG/$phase-$round-serve.log" /svc/ '"/svc/bench/echo/"' "$exe" serve --data "$SB_DIR"
  else
    start_server "$LOG/$phase-$round-serve.log" /svc/ '"/svc/bench/echo/"' "$exe" serve --data "$SB_DIR"
  fi
  SB_PID=$SERVER_PID
  SB_URL=$SERVER_URL
  submit_drained /svc/bench/echo/ "$round" "$LOG/$phase-$round" "$phase submissions"
  case $phase in
    off) traced=$(sql "SELECT COUNT(*) FROM requests WHERE trace_parent IS NOT NULL")
         [[ "$traced" == 0 ]] || die "tracing off, yet $traced requests stored a traceparent" ;;
    on) traced=$(sql "SELECT COUNT(*) FROM requests WHERE trace_parent IS NOT NULL")
        [[ "$traced" == "$REQUESTS" ]] || die "tracing on, yet only $traced of $REQUESTS requests stored a traceparent" ;;
  esac
  stop_serve
  if [[ "$phase" == on ]]; then
    # Stopping flushes the batch: the sink has had exports of this phase.
    (($(curl -fsS --max-time 5 "$SINK_URL/_count") > exports)) || die "the OTLP sink received nothing while tracing was on"
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

TABLE+="
| **median** | **$(fmt "$(col_median base)")** | **$(fmt "$(col_median off)")** | **$(fmt "$(col_median on)")** | **$(printf '%.3f' "$(col_median offratio)")** | **$(printf '%.3f' "$(col_median onratio)")** | |"

write_report "Run $STAMP: \`bench/run-traces.sh\` with RUNS=$RUNS REQUESTS=$REQUESTS THREADS=$THREADS CONNECTIONS=$CONNECTIONS, baseline ${BASE_REF:0:12}" "$TABLE"
