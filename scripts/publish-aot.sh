#!/usr/bin/env bash
# Publishes the daemon under Native AOT (not the shipped build; docs/performance.md, "Native AOT") and fails on any
# trim or AOT warning (IL2xxx, IL3xxx): a new reflection-based path fails at run time under AOT, so it must fail here.
# Usage: scripts/publish-aot.sh [OUTPUT DIR (default /tmp/bridge-aot)] [more dotnet publish arguments, e.g. -p:OptimizationPreference=Size]
# Takes several minutes on 2 cores.
# The normal build's outputs under src/*/obj are made for no runtime identifier and confuse this publish: they are
# removed first (run it in a work tree where no other build is running).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/bridge-aot}
shift || true
log=$(mktemp)
trap 'rm -f "$log"' EXIT
rm -rf src/*/obj src/*/bin
# TreatWarningsAsErrors stays on (Directory.Build.props): the compiler's trim and AOT analyzers and the native
# compiler's warnings are errors. Debug information off: ilc stops on it ("Sequence point value is out of range").
set +e
dotnet publish src/Bridge.Host -c Release -r linux-x64 -p:PublishAot=true -p:PublishReadyToRun=false \
  -p:DebugSymbols=false -p:DebugType=none -nologo -o "$out" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
warnings=$(grep -E 'warning IL[0-9]+' "$log" | sort -u || true)
if [ -n "$warnings" ]; then
  echo "publish-aot: $(echo "$warnings" | wc -l) distinct trim/AOT warnings (each is a path that fails under Native AOT):" >&2
  echo "$warnings" >&2
  exit 1
fi
if [ "$rc" -ne 0 ]; then
  echo "publish-aot: dotnet publish failed ($rc)" >&2
  exit "$rc"
fi
echo "publish-aot: $out/bridge, no trim or AOT warning"
