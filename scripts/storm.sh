#!/usr/bin/env bash
# Crash storm: one channel over Prosody, the sandbox Matrix homeserver and the sandbox Mattermost server, a person on
# each sending messages, edits, reactions and files, while the daemon is killed and restarted N times (half SIGKILL,
# half SIGTERM, 0.5-4 s apart) on the same store. Prints sent / delivered / lost / duplicated / reordered per directed
# pair and the seed; exits non-zero on any loss, duplicate or reordering. Not part of the default suite (a 10-kill
# storm is: tests/Bridge.Tests/EndToEnd/CrashStormTests.cs).
#   scripts/storm.sh [--kills N] [--seed S] [--rate ACTIONS_PER_SECOND_PER_PERSON] [--logs DIR] [--log-level Debug]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build tools/Bridge.Storm -c Release -nologo -clp:ErrorsOnly -v:q
exec dotnet tools/Bridge.Storm/bin/Release/net10.0/Bridge.Storm.dll "$@"
