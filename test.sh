#!/usr/bin/env bash
# The whole test suite, from a clean clone: installs what the tests need (redis-server,
# PostgreSQL, Prometheus, Alertmanager, chromium, curl and jq from Debian, via scripts/services.sh;
# docker.io, docker-compose and debootstrap, via scripts/containers.sh), checks deploy/
# with promtool and amtool, starts its own dockerd with base images made offline and runs the
# container test (Deployment/) alone first, starts a throwaway PostgreSQL and Redis on
# free 127.0.0.1 ports (handed to the tests as SWITCHBOARD_TEST_PG / SWITCHBOARD_TEST_REDIS),
# restores, builds and runs every test, stops the servers and removes their files on exit (also
# on failure), and ends with one line "N passed, N failed". Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE=1

# Services the tests need are installed and started here, never assumed: a missing one fails the
# run instead of skipping tests. The PostgreSQL instance is thrown away after the run, so it runs
# without durability.
source scripts/services.sh
source scripts/containers.sh

results=$(mktemp -d)
services=$(mktemp -d /tmp/sb-test-services.XXXXXX)
docker_dir=$(mktemp -d /tmp/sb-docker.XXXXXX)
images_pid=
trap '[ -z "$images_pid" ] || kill "$images_pid" 2>/dev/null; stop_dockerd; stop_services; rm -rf "$results" "$services" "$docker_dir"' EXIT

setup_failed() { echo "could not $1"; echo "0 passed, 1 failed"; exit 1; }
ensure_packages || setup_failed "install redis-server and PostgreSQL"
ensure_monitoring_packages || setup_failed "install prometheus and prometheus-alertmanager"
ensure_chromium || setup_failed "install chromium"
ensure_tour_tools || setup_failed "install curl and jq"
ensure_docker || setup_failed "install docker.io, docker-compose and debootstrap"
# The admin panel's browser tests save screenshots here (login, dashboard, and any failed
# scenario's page); the folder is kept after the run.
export SWITCHBOARD_TEST_SCREENSHOTS="$PWD/TestResults/screenshots"
# The test that scrapes a running server starts this Prometheus (and fails without it).
SWITCHBOARD_TEST_PROMETHEUS=$(command -v prometheus)
export SWITCHBOARD_TEST_PROMETHEUS

# deploy/ is checked by the real tools: a config they refuse fails the run before any test.
deploy_checks() {
  promtool check config deploy/prometheus.yml &&
    promtool check config deploy/prometheus.compose.yml &&
    promtool check rules deploy/alerts.yml &&
    promtool test rules deploy/alerts.test.yml &&
    amtool check-config deploy/alertmanager.yml
}
deploy_checks || setup_failed "pass the promtool and amtool checks of deploy/ (see above)"
# The OpenAPI documents are checked by tools no one here wrote (OpenApiClientTests): redocly,
# openapi-typescript, tsc and openapi-fetch, pinned by tests/openapi-client/package-lock.json.
ensure_node || setup_failed "install node and npm"
(cd tests/openapi-client && npm ci --no-audit --no-fund) || setup_failed "install tests/openapi-client (npm ci)"
# standardwebhooks (verifies webhook signatures) and eventsource (follows event streams), pinned by tests/node-clients/package-lock.json.
(cd tests/node-clients && npm ci --no-audit --no-fund) || setup_failed "install tests/node-clients (npm ci)"
start_postgres "$services" -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
  || setup_failed "start PostgreSQL"
start_redis "$services" || setup_failed "start redis-server"
export SWITCHBOARD_TEST_PG="$PG_URI" SWITCHBOARD_TEST_REDIS="$REDIS_URI"

# The container test's dockerd (its own socket, data root and no iptables rules; stopped and
# iptables checked in the trap) and the images the Dockerfile and deploy/compose.yaml name, made
# offline while the solution builds (scripts/containers.sh: debootstrap, this machine's .NET,
# PostgreSQL, Redis, Prometheus and Alertmanager).
containers_started=$SECONDS
start_dockerd "$docker_dir" || setup_failed "start dockerd"
(make_base_images && make_service_images) > "$docker_dir/images.log" 2>&1 &
images_pid=$!

dotnet restore Switchboard.slnx
dotnet build Switchboard.slnx -c Release --no-restore

images_status=0
wait "$images_pid" || images_status=$?
images_pid=
cat "$docker_dir/images.log"
[ "$images_status" -eq 0 ] || setup_failed "make the container images (see above)"

status=0
# The container test first and alone: it builds the image (a restore and a publish) and runs the
# compose stack, which would slow every other test down beside it. Then dockerd stops.
SWITCHBOARD_TEST_DOCKER=1 dotnet test tests/Switchboard.Tests -c Release --no-build \
  --filter "FullyQualifiedName~Switchboard.Tests.Deployment." \
  --logger "trx;LogFilePrefix=tests-containers" --logger "console;verbosity=normal" \
  --results-directory "$results" --blame-hang-timeout 10m || status=$?
stop_dockerd
echo "containers: $((SECONDS - containers_started)) s (dockerd, images, the container tests)"

# One .trx per test project (the suite and examples/handlers' sample plugin tests), and the
# container tests' tests-containers_…: LogFilePrefix names each tests…_<framework>_<time>.trx;
# the counts below add them all up.
# --blame-hang-timeout: a hung test ends the run with a dump instead of eating CI's time.
dotnet test Switchboard.slnx -c Release --no-build \
  --filter "FullyQualifiedName!~Switchboard.Tests.Deployment." \
  --logger "trx;LogFilePrefix=tests" --logger "console;verbosity=normal" \
  --results-directory "$results" --blame-hang-timeout 10m || status=$?

mapfile -t trxs < <(find "$results" -name 'tests*.trx' | sort)
if [ "${#trxs[@]}" -eq 0 ]; then
  echo "no test results were written"
  echo "0 passed, 1 failed"
  exit 1
fi
count() {
  local total=0 n
  for trx in "${trxs[@]}"; do
    n=$(grep -o '<Counters [^>]*>' "$trx" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || true)
    total=$((total + ${n:-0}))
  done
  echo "$total"
}
passed=$(count passed)
failed=$(( $(count failed) + $(count error) + $(count timeout) + $(count aborted) ))
if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "no test ran"
  status=1
fi
if [ "$failed" -gt 0 ] && [ "$status" -eq 0 ]; then
  status=1
fi
if [ "$failed" -gt 0 ]; then
  # The failures again, last: CI logs keep the tail of the output.
  for trx in "${trxs[@]}"; do
    python3 scripts/failed-tests.py "$trx" || grep -o 'testName="[^"]*"[^>]*outcome="Failed"' "$trx"
  done
fi
echo "$passed passed, $failed failed"
exit "$status"
