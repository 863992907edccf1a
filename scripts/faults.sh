#!/usr/bin/env bash
# Issue 13's faults against the real daemon, and a table of what happened: per scenario the messages sent (counted once
# per destination), delivered, lost, duplicated, whether order was kept, the p99 delay between the networks the fault
# does not touch without the fault and during it (measured side by side in one run), and what /healthz said.
# Scenarios: xmpp down, matrix down, mattermost down, all down at once, matrix slow (2 s each way through the kit's
# DelayingTcpProxy), matrix 500, matrix 429 (retry_after_ms 2000), mattermost rate limit (X-RateLimit-*, 1/s).
# Usage: scripts/faults.sh [SECONDS] [SCENARIO-PREFIX]   (outage length, default 60; e.g. "matrix 4" for the 429 one only)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
only=${2:-}
scripts/deps.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
dotnet build tests/Bridge.Tests -c Release -nologo -clp:ErrorsOnly -v:q

table=$(mktemp)
log=$(mktemp)
trap 'rm -f "$table" "$log"' EXIT
set +e
FAULTS_SECONDS=$seconds FAULTS_ONLY=$only FAULTS_TABLE=$table \
  dotnet test tests/Bridge.Tests -c Release --no-build -nologo --filter "Category=Faults" >"$log" 2>&1
rc=$?
set -e

echo "faults: outage ${seconds} s each, delivery:maxAttempts 2 (a fault that counted toward dead-lettering would lose messages)"
if [[ -s $table ]]; then
  column -t -s '|' -o '|' "$table" 2>/dev/null || cat "$table"
else
  echo "no table was written; the test's output follows"
fi
if [[ $rc -ne 0 ]]; then
  grep -E "Failed |Assert|Exception|Timeout" "$log" | head -40
  echo "faults: FAILED (exit $rc)"
fi
exit "$rc"
