#!/usr/bin/env bash
# The whole test suite, from a clean clone: installs what the tests need, restores, builds and
# runs every test, and ends with one line "N passed, N failed". Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_CLI_WORKLOAD_UPDATE_NOTIFY_DISABLE=1

# Nothing outside the .NET SDK is needed yet: the embedded default runs on SQLite in process.
# Services the later deployments need (redis-server, PostgreSQL, Chromium) are installed and
# started here, never assumed: a missing one fails the run instead of skipping tests.

results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

dotnet restore Switchboard.slnx
dotnet build Switchboard.slnx -c Release --no-restore

status=0
# --blame-hang-timeout: a hung test ends the run with a dump instead of eating CI's time.
dotnet test Switchboard.slnx -c Release --no-build \
  --logger "trx;LogFileName=tests.trx" --logger "console;verbosity=normal" \
  --results-directory "$results" --blame-hang-timeout 10m || status=$?

trx=$(find "$results" -name 'tests.trx' | head -n 1)
if [ -z "$trx" ]; then
  echo "no test results were written"
  echo "0 passed, 1 failed"
  exit 1
fi
counters=$(grep -o '<Counters [^>]*>' "$trx")
count() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*'; }
passed=$(count passed)
failed=$(( $(count failed) + $(count error) + $(count timeout) + $(count aborted) ))
if [ "$passed" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "no test ran"
  status=1
fi
if [ "$failed" -gt 0 ] && [ "$status" -eq 0 ]; then
  status=1
fi
echo "$passed passed, $failed failed"
exit "$status"
