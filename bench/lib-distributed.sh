# shellcheck shell=bash
# The Switchboard processes of the distributed deployment (recon, executors, api on PostgreSQL
# and Redis), shared by bench/run-distributed.sh and bench/run-latency.sh. Sourced after
# bench/lib.sh and scripts/services.sh, once PostgreSQL and Redis run; uses the caller's
# SWITCHBOARD, LOG, WORK, PG_PORT, REDIS_URI, PIDS, psql_db, EXECUTOR_ARGS, GATE, EXEC_HANDLERS
# and UPSTREAM_PORT (the last three only for the gated and groups configurations).
# shellcheck disable=SC2154 # those are the caller's

# wait_log PID FILE PATTERN: until FILE contains PATTERN (60 s); fails if PID exits first.
wait_log() {
  local i
  for ((i = 0; i < 600; i++)); do
    grep -q -- "$3" "$2" 2>/dev/null && return 0
    kill -0 "$1" 2>/dev/null || die "process $1 exited at start (see $2)"
    sleep 0.1
  done
  die "'$3' did not appear in $2 within 60 s"
}

# start_api LOG: Switchboard api on a free port, until GET /svc/ lists the offer (on another port
# if it exits at start). Sets API_PID and API_URL.
start_api() {
  local log=$1 attempt port i
  : >"$log"
  for ((attempt = 1; attempt <= 5; attempt++)); do
    port=$(free_port) || die "no free port"
    API_URL="http://127.0.0.1:$port"
    "$SWITCHBOARD" api --config "$CFG" --urls "$API_URL" >>"$log" 2>&1 &
    API_PID=$!
    PIDS+=("$API_PID")
    # Ready: the store answers and the offer is listed. (The api connects to Redis at its first
    # submission; the warm-up batch pays for that.)
    for ((i = 0; i < 600; i++)); do
      if curl -fsS --max-time 2 "$API_URL/readyz" >/dev/null 2>&1 \
        && curl -fsS --max-time 2 "$API_URL/svc/" 2>/dev/null | grep -q '"/svc/bench/echo/"'; then
        return 0
      fi
      kill -0 "$API_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$API_PID" 2>/dev/null && die "api did not become ready within 60 s (see $log)"
    wait "$API_PID" 2>/dev/null || true
    forget_pid "$API_PID"
    log "api exited at start on port $port (see $log); trying another port"
  done
  die "could not start the api (see $log)"
}

# The second offer of EXECUTOR_GROUPS=1: openai.chat at the fake upstream (svc_handlers' default
# profile), on the same resource as echo.render.
CHAT_CATALOG='  - id: openai.chat
    credits: 1
    resource: local'
CHAT_OFFER='  - service: bench
    action: chat
    handler: openai.chat
    price: 1
    prompt_template: "Echo {text}"
    create_qty: 1
    params: {model: bench}'

# chat_catalog: ECHO_CATALOG with openai.chat and its offer bench/chat. The handlers list comes
# first in ECHO_CATALOG: openai.chat goes after its entry, the offer at the end.
chat_catalog() {
  awk -v h="$CHAT_CATALOG" '{ print } /^    resource: local$/ && !done { print h; done = 1 }' <<<"$ECHO_CATALOG"
  echo "$CHAT_OFFER"
}

# apply_catalog DIR CHAT STORE_ARGS…: writes the bench catalog into DIR and applies it to the
# store STORE_ARGS name (--config FILE or --data DIR); with CHAT not empty, the catalog has
# openai.chat too and the svc_handlers config pointing it at the fake upstream is pushed first.
apply_catalog() {
  local dir=$1 chat=$2
  shift 2
  if [[ -n "$chat" ]]; then
    chat_catalog >"$dir/catalog.yaml"
    printf 'openai:\n  base_url: http://127.0.0.1:%s/v1\n' "$UPSTREAM_PORT" >"$dir/svc_handlers.yaml"
    "$SWITCHBOARD" config push "$dir/svc_handlers.yaml" --id svc_handlers "$@" >/dev/null
  else
    echo "$ECHO_CATALOG" >"$dir/catalog.yaml"
  fi
  "$SWITCHBOARD" catalog apply "$dir/catalog.yaml" "$@" >/dev/null
}

# start_switchboard NAME EXECUTORS [gated] [groups]: fresh database and Redis prefix NAME, a bench
# user, the echo.render offer, then recon, the executors and the api. Sets CFG, SB_KEY, SB_PIDS
# (role:pid). "groups": the catalog has openai.chat (offer bench/chat) too, svc_handlers points it
# at the fake upstream, executors may call loopback, and executor i gets `--handlers
# ${EXEC_HANDLERS[i-1]}` when that is not empty.
start_switchboard() {
  local name=$1 executors=$2 gated=${3:-} groups=${4:-} i pid handlers
  CFG="$WORK/$name.yaml"
  new_pg_store "$name" "$CFG"
  SB_KEY=$(new_key bench --credits 1000000000 --config "$CFG")
  # An experiment's SQL on the migrated database before any process starts (e.g. an index
  # dropped to measure what it costs); never set by default.
  [[ -z "${DB_SQL:-}" ]] || psql_db "$name" "$DB_SQL" >/dev/null
  apply_catalog "$WORK" "$groups" --config "$CFG"
  if [[ -n "$gated" ]]; then
    printf 'resource_map:\n  local: %s\n' "$GATE" >"$WORK/resources.yaml"
    "$SWITCHBOARD" config push "$WORK/resources.yaml" --id resource_map --config "$CFG" >/dev/null
  fi
  SB_PIDS=()
  "$SWITCHBOARD" recon --config "$CFG" >"$LOG/$name-recon.log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  SB_PIDS+=("recon:$pid")
  wait_log "$pid" "$LOG/$name-recon.log" "Recon started"
  for ((i = 1; i <= executors; i++)); do
    handlers=()
    [[ -n "$groups" && -n "${EXEC_HANDLERS[i - 1]:-}" ]] && handlers=(--handlers "${EXEC_HANDLERS[i - 1]}")
    # shellcheck disable=SC2086 # EXECUTOR_ARGS is a list of words on purpose
    if [[ -n "$groups" ]]; then
      Switchboard__Outbound__AllowLoopback=true "$SWITCHBOARD" executor --config "$CFG" "${handlers[@]}" $EXECUTOR_ARGS >"$LOG/$name-executor$i.log" 2>&1 &
    else
      "$SWITCHBOARD" executor --config "$CFG" $EXECUTOR_ARGS >"$LOG/$name-executor$i.log" 2>&1 &
    fi
    pid=$!
    PIDS+=("$pid")
    SB_PIDS+=("executor$i:$pid")
    wait_log "$pid" "$LOG/$name-executor$i.log" "Executor started"
  done
  start_api "$LOG/$name-api.log"
  SB_PIDS=("api:$API_PID" "${SB_PIDS[@]}")
  # The api connects to Redis at its first submission. Under 64 concurrent first requests that
  # connect took 15 s (StackExchange.Redis gave up once, then reconnected) and wrk's 2 s timeout
  # counted socket errors, so one request goes first, alone.
  local t status
  t=$(now_ms)
  status=$(curl -sS -o "$LOG/$name-first.json" -w '%{http_code}' --max-time 60 -X POST "$API_URL/svc/bench/echo/" \
    -H "Authorization: Bearer $SB_KEY" -H 'Content-Type: application/json' -d "{\"text\":\"first-$name\"}") || true
  [[ "$status" == 202 ]] || die "the first submission answered '$status' (see $LOG/$name-first.json, $LOG/$name-api.log)"
  log "$name: first submission (api connects to Redis) took $(($(now_ms) - t)) ms"
}

stop_switchboard() {
  local entry
  for entry in "${SB_PIDS[@]}"; do stop_process "${entry#*:}"; done
}
