#!/usr/bin/env bash
# The bridge's main job on the embedded default store: local servers for each organisation, the real daemon,
# real clients saying hello, and what arrived where. Keeps running until Ctrl-C.
#   scripts/demo.sh          run and keep the bridge up
#   scripts/demo.sh --once   exit 0 only after every greeting crossed every link, non-zero otherwise
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build tools/Bridge.Demo -c Release -nologo -clp:ErrorsOnly -v:q
exec dotnet tools/Bridge.Demo/bin/Release/net10.0/Bridge.Demo.dll "$@"
