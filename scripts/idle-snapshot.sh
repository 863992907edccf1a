#!/bin/bash
# A daemon wrapper for the memory bench that takes an idle snapshot: it execs SNAPSHOT_DAEMON (the daemon; same PID),
# and a background job waits until the daemon has run 20 s and its RSS has stayed within 512 KiB for 6 s, then writes
# to SNAPSHOT_DIR/PID: smaps and smaps_rollup, status, thread names, 6 s of dotnet-counters (System.Runtime), and a
# gcdump last (it collects, so it comes after the rest). Usage, one build:
#   SNAPSHOT_DAEMON=/tmp/pub/bridge BRIDGE_TEST_DAEMON=scripts/idle-snapshot.sh scripts/bench.sh --memory 1 --rounds 1
# (a burst of one message leaves 45 s of idle for the snapshot). Then: scripts/smaps-summary.py SNAPSHOT_DIR/PID/smaps
daemon=${SNAPSHOT_DAEMON:?set SNAPSHOT_DAEMON to the daemon to run}
pid=$$
out=${SNAPSHOT_DIR:-/tmp/bridge-idle-snapshot}/$pid
mkdir -p "$out"
(
  export PATH=$PATH:$HOME/.dotnet/tools
  start=$(date +%s); last=0; stable=0
  while kill -0 $pid 2>/dev/null; do
    rss=$(awk '/VmRSS/{print $2}' /proc/$pid/status 2>/dev/null)
    echo "$(( $(date +%s) - start )) $rss" >> "$out/rss.log"
    if [ -n "$rss" ] && [ $(( rss - last )) -lt 512 ] && [ $(( last - rss )) -lt 512 ]; then stable=$((stable + 1)); else stable=0; fi
    last=$rss
    if [ $stable -ge 6 ] && [ $(( $(date +%s) - start )) -gt 20 ]; then
      cat /proc/$pid/smaps_rollup > "$out/smaps_rollup"
      cat /proc/$pid/smaps > "$out/smaps"
      cat /proc/$pid/status > "$out/status"
      for t in /proc/$pid/task/*; do cat "$t/comm"; done | sort | uniq -c | sort -rn > "$out/threads"
      dotnet-counters collect -p $pid --duration 00:00:00:06 --refresh-interval 2 --format csv -o "$out/counters.csv" > "$out/counters.out" 2>&1
      dotnet-gcdump collect -p $pid -o "$out/idle.gcdump" > "$out/gcdump.out" 2>&1
      break
    fi
    sleep 1
  done
) > /dev/null 2>&1 &
exec "$daemon" "$@"
