#!/usr/bin/env bash
# Prints the bridge's figures (latency, throughput, CPU and memory per message) against real servers on loopback.
# Compare with shared/notes/peers-measured.md. Usage: scripts/bench.sh [--latency N] [--burst N]
#        scripts/bench.sh --flood N [--quiet N] [--sender-rate R] [--link-rate R] [--vs DAEMON]: one link flooded, the quiet link's delay, stages
#        scripts/bench.sh --translate [N]: latency added per message by each translation engine, N messages each (default 50)
#        scripts/bench.sh --pairs N: every directed pair of XMPP, Matrix and Mattermost one message at a time, and the daemon's stages
#        scripts/bench.sh --start N [--vs DAEMON]: start to ready / first relayed message, this build and DAEMON in turn
#        scripts/bench.sh --scale LINKS [--puppets N] [--mm-delay MS] [--vs DAEMON]: LINKS links x XMPP, Matrix and Mattermost: start, joins, warnings, RSS, one message per person, fairness (--mm-delay: the sandbox Mattermost answers each request after MS ms)
#        scripts/bench.sh --soak MINUTES [--rate R] [--vs DAEMON]: R msg/s each way (default 20), RSS, heap and CPU every minute, builds in turn
#        scripts/bench.sh --peer MATTERBRIDGE [--latency N] [--burst N] [--rounds R]: the bridge and a matterbridge binary in turn, XMPP ⇄ XMPP, one side-by-side table
#        scripts/bench.sh --micro [BENCHMARKDOTNET ARGS]: the hot paths' micro-benchmarks (tools/Bridge.MicroBench), mean and allocated
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ "${1:-}" == "--micro" ]]; then
  shift
  dotnet build tools/Bridge.MicroBench -c Release -nologo -clp:ErrorsOnly -v:q
  exec dotnet tools/Bridge.MicroBench/bin/Release/net10.0/Bridge.MicroBench.dll "$@"
fi
scripts/deps.sh
dotnet build tools/Bridge.Bench -c Release -nologo -clp:ErrorsOnly -v:q
exec dotnet tools/Bridge.Bench/bin/Release/net10.0/Bridge.Bench.dll "$@"
