#!/usr/bin/env bash
# Switchboard binary results benchmark (issue 18): the image result path on one embedded `serve`
# (SQLite), beside a baseline of the same load with small text results, in the same run. See
# bench/README.md, "Binary results (issue 18)".
#
#   bench/run-binary.sh
#
# Each round, for each of three offers, on a fresh data dir and a fresh serve: bench/echo
# (echo.render, a short text result: the baseline), bench/image (echo.render with
# `result_bytes: 1048576`, image/png: one 1 MiB binary result made in the process, so the host's
# path alone: store once by hash, list, serve) and bench/upstream (openai.image through the
# official SDK against bench/FakeImages on 127.0.0.1, which answers a 1 MiB PNG as base64 JSON,
# as OpenAI's images API does: the provider's path added):
#   1. end-to-end: REQUESTS submissions (unique bodies, so every image has its own bytes) by wrk
#      at a fixed count, drained; completed/s = requests ÷ (last finished_at − first created_at)
#      as the store recorded them, and for the image its bytes/s (× 1 MiB);
#   2. serving: DURATION seconds of GETs of one result by its owner (wrk, every answer must be
#      200): the request object (text) or the binary result's url (image), req/s and bytes/s;
#   3. the serve process's peak resident memory (VmHWM) over both, and its RSS after the drain.
#
# Environment (all optional):
#   RUNS=3          rounds; medians are taken over them
#   REQUESTS=300    submissions per offer and round (300 images: 300 MiB in the store)
#   DURATION=5      seconds of each serving run
#   THREADS=2 CONNECTIONS=16   wrk's -t and -c (submissions and serving)
#   DRAIN_TIMEOUT=300  seconds the executor gets to finish a round's submissions
#   QUIET_MAX=15    before each measured part, wait (up to QUIET_WAIT=30 s) until the rest of the
#                   machine uses less than this % of all cores; the value seen is reported per round
#   OFFERS="echo image upstream"   which of the three to measure
#   SKIP_BUILD=1    use the existing Release builds (Switchboard and bench/FakeImages)
#   SWITCHBOARD=    the Switchboard executable to measure (default: the Release build of src/Switchboard)
# Only 127.0.0.1 is ever loaded. Output: bench/out/ (ignored by git).
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=bench/lib.sh
source bench/lib.sh
bench_start binary

RUNS=${RUNS:-3}
REQUESTS=${REQUESTS:-300}
DURATION=${DURATION:-5}
THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-16}
DRAIN_TIMEOUT=${DRAIN_TIMEOUT:-300}
IMAGE_BYTES=1048576
OFFERS=${OFFERS:-echo image upstream}
FAKE=bench/FakeImages/bin/Release/net10.0/FakeImages

need_apt wrk:wrk sqlite3:sqlite3 curl:curl
command -v dotnet >/dev/null || die "dotnet is not installed"
build_switchboard
if [[ "${SKIP_BUILD:-}" != 1 ]]; then
  dotnet build -c Release -nologo -v q bench/FakeImages/FakeImages.csproj >"$LOG/build-fake.log" 2>&1 \
    || die "build of bench/FakeImages (see $LOG/build-fake.log)"
fi
[[ -x "$FAKE" ]] || die "Release build missing ($FAKE)"
describe_machine "SQLite $(sqlite3 --version | awk '{ print $1 }')"
log "RUNS=$RUNS REQUESTS=$REQUESTS DURATION=$DURATION THREADS=$THREADS CONNECTIONS=$CONNECTIONS"

# The fake upstream's key: any value, the fake does not check it; the profile names the variable.
export BENCH_FAKE_OPENAI_KEY=sk-bench-fake
CATALOG="${ECHO_CATALOG/offers:/  - id: openai.image
    credits: 1
offers:}
  - service: bench
    action: upstream
    handler: openai.image
    price: 1
    prompt_template: \"Image {text}\"
    create_qty: 1
    params: {model: dall-e-2, size: 1024x1024}
  - service: bench
    action: image
    handler: echo.render
    price: 1
    prompt_template: \"Image {text}\"
    create_qty: 1
    params: {result_bytes: $IMAGE_BYTES, media_type: image/png}"

# start_serve NAME: fresh data dir with a bench user and the catalog, then serve on a fresh port.
# Sets SB_DIR, SB_DB, SB_URL, SB_PID, SB_KEY.
start_serve() {
  local name=$1
  fresh_store
  echo "$CATALOG" >"$SB_DIR/catalog.yaml"
  printf 'openai:\n  base_url: %s/v1\n  api_key_env: BENCH_FAKE_OPENAI_KEY\n' "$FAKE_URL" >"$SB_DIR/svc_handlers.yaml"
  "$SWITCHBOARD" config push "$SB_DIR/svc_handlers.yaml" --id svc_handlers --data "$SB_DIR" >/dev/null
  "$SWITCHBOARD" catalog apply "$SB_DIR/catalog.yaml" --data "$SB_DIR" >/dev/null
  # Loopback allowed for the fake upstream only in this process (operators' setting, never a client's).
  start_server "$LOG/$name-serve.log" /svc/ '"/svc/bench/upstream/"' "$SWITCHBOARD" serve --data "$SB_DIR" \
    --Switchboard:Outbound:AllowLoopback=true
  SB_PID=$SERVER_PID
  SB_URL=$SERVER_URL
}

# kib FIELD: a field of the serve process's /proc status (VmHWM: peak resident, VmRSS: now), in KiB.
kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$SB_PID/status"; }

# measure OFFER ROUND: sets E2E (completed/s), GET (req/s), GET_BYTES (bytes per answer),
# PEAK_MIB and DRAINED_MIB.
measure() {
  local offer=$1 round=$2 out="$LOG/$1-$2" url
  start_serve "$offer-$round"
  submit_drained "/svc/bench/$offer/" "$round" "$out" "$offer end-to-end"
  DRAINED_MIB=$(awk -v k="$(kib VmRSS)" 'BEGIN { printf "%.0f", k / 1024 }')
  if [[ "$offer" != echo ]]; then
    [[ "$(sql "SELECT COUNT(*) FROM blobs")" == "$REQUESTS" ]] || die "the store does not hold one blob per image"
    url=$(sql "SELECT json_extract(results, '\$[0].url') FROM requests WHERE created_at >= $T0 LIMIT 1")
    GET_BYTES=$IMAGE_BYTES
  else
    url="/svc/request/$(sql "SELECT id FROM requests WHERE created_at >= $T0 LIMIT 1")/"
    GET_BYTES=$(curl -fsS -H "Authorization: Bearer $SB_KEY" "$SB_URL$url" | wc -c)
  fi
  [[ "$(curl -fsS -H "Authorization: Bearer $SB_KEY" "$SB_URL$url" | wc -c)" == "$GET_BYTES" ]] || die "GET $url did not answer $GET_BYTES bytes"
  quiet_check "$offer serving"
  wrk "-t$THREADS" "-c$CONNECTIONS" "-d${DURATION}s" -H "Authorization: Bearer $SB_KEY" -s bench/get200.lua "$SB_URL$url" >"$out-get.txt" 2>&1 \
    || die "wrk failed (see $out-get.txt)"
  [[ "$(field "$out-get.txt" non_200)" == 0 && "$(field "$out-get.txt" socket_errors)" == 0 ]] || die "GET $url answered errors (see $out-get.txt)"
  GET=$(field "$out-get.txt" per_s)
  PEAK_MIB=$(awk -v k="$(kib VmHWM)" 'BEGIN { printf "%.0f", k / 1024 }')
  stop_serve
}

fmt() { awk -v v="$1" 'BEGIN { printf "%.0f", v }'; }
mib() { awk -v r="$1" -v b="$2" 'BEGIN { printf "%.1f", r * b / 1048576 }'; }

start_server "$LOG/fake.log" / "fake images" "$FAKE"
FAKE_URL=$SERVER_URL

declare -A COL
BUSY=()
for offer in echo image upstream; do
  for ((r = 1; r <= RUNS; r++)); do COL[$offer-e2e-$r]=nan; COL[$offer-get-$r]=nan; COL[$offer-peak-$r]=nan; COL[$offer-drained-$r]=nan; done
done
TABLE="| round | text e2e req/s | image e2e req/s (MiB/s) | upstream image e2e req/s (MiB/s) | image ÷ text e2e | upstream ÷ text e2e | text GET req/s | image GET req/s (MiB/s) | peak RSS text / image / upstream (MiB) | RSS after drain text / image / upstream (MiB) | other CPU |
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for ((r = 1; r <= RUNS; r++)); do
  ROUND_BUSY=0
  for offer in $OFFERS; do
    log "round $r/$RUNS: $offer ($REQUESTS submissions, then ${DURATION}s of GETs)"
    measure "$offer" "$r"
    COL[$offer-e2e-$r]=$E2E
    COL[$offer-get-$r]=$GET
    COL[$offer-peak-$r]=$PEAK_MIB
    COL[$offer-drained-$r]=$DRAINED_MIB
    log "round $r/$RUNS: $offer e2e $E2E/s, GET $GET/s ($GET_BYTES bytes each), peak RSS $PEAK_MIB MiB"
  done
  BUSY+=("$ROUND_BUSY")
  COL[ratio-$r]=$(ratio "${COL[image-e2e-$r]}" "${COL[echo-e2e-$r]}")
  COL[uratio-$r]=$(ratio "${COL[upstream-e2e-$r]}" "${COL[echo-e2e-$r]}")
  TABLE+="
| $r | $(fmt "${COL[echo-e2e-$r]}") | $(fmt "${COL[image-e2e-$r]}") ($(mib "${COL[image-e2e-$r]}" $IMAGE_BYTES)) | $(fmt "${COL[upstream-e2e-$r]}") ($(mib "${COL[upstream-e2e-$r]}" $IMAGE_BYTES)) | ${COL[ratio-$r]} | ${COL[uratio-$r]} | $(fmt "${COL[echo-get-$r]}") | $(fmt "${COL[image-get-$r]}") ($(mib "${COL[image-get-$r]}" $IMAGE_BYTES)) | ${COL[echo-peak-$r]} / ${COL[image-peak-$r]} / ${COL[upstream-peak-$r]} | ${COL[echo-drained-$r]} / ${COL[image-drained-$r]} / ${COL[upstream-drained-$r]} | ${ROUND_BUSY}% |"
done

TABLE+="
| **median** | **$(fmt "$(col_median echo-e2e)")** | **$(fmt "$(col_median image-e2e)") ($(mib "$(col_median image-e2e)" $IMAGE_BYTES))** | **$(fmt "$(col_median upstream-e2e)") ($(mib "$(col_median upstream-e2e)" $IMAGE_BYTES))** | **$(printf '%.3f' "$(col_median ratio)")** | **$(printf '%.3f' "$(col_median uratio)")** | **$(fmt "$(col_median echo-get)")** | **$(fmt "$(col_median image-get)") ($(mib "$(col_median image-get)" $IMAGE_BYTES))** | **$(col_median echo-peak) / $(col_median image-peak) / $(col_median upstream-peak)** | **$(col_median echo-drained) / $(col_median image-drained) / $(col_median upstream-drained)** | |"

write_report "Run $STAMP: \`bench/run-binary.sh\` with RUNS=$RUNS REQUESTS=$REQUESTS DURATION=$DURATION THREADS=$THREADS CONNECTIONS=$CONNECTIONS" "$TABLE"
