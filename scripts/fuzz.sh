#!/usr/bin/env bash
# Runs every fuzz target (tests/Bridge.Fuzz.Tests) with FUZZ_CASES cases each (default 1,000,000) and prints, per
# target, the cases run, the time and the outcome. Not part of scripts/test.sh (the default suite runs 10,000 each).
# Usage: scripts/fuzz.sh [filter]   e.g. scripts/fuzz.sh Xmpp
set -uo pipefail
cd "$(dirname "$0")/.."
export FUZZ_CASES="${FUZZ_CASES:-1000000}"
export FUZZ_REPORT="$(mktemp)"
filter="FullyQualifiedName~Bridge.Fuzz.Tests${1:+&FullyQualifiedName~$1}"
dotnet build tests/Bridge.Fuzz.Tests -c Release -nologo -clp:ErrorsOnly || exit 1
dotnet test tests/Bridge.Fuzz.Tests -c Release --no-build --filter "$filter" --logger "console;verbosity=normal" \
  | grep -E "Failed |Error Message|CsCheck|^-+ System|Total tests|Passed:|Failed:" ; status=${PIPESTATUS[0]}
echo "--- per target (FUZZ_CASES=$FUZZ_CASES) ---"
cat "$FUZZ_REPORT"; rm -f "$FUZZ_REPORT"
exit "$status"
