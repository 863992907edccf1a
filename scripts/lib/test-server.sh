# Shared by scripts/prosody.sh and scripts/ejabberd.sh (sourced, not run): installing a server package without
# letting apt start a system instance, waiting for loopback ports, and stopping a server by its PID file.
# The sourcing script defines die().

# apt_install_quietly PACKAGE...: as root, installs Debian packages with a temporary policy-rc.d that refuses service
# starts (otherwise apt starts a system server on 0.0.0.0 that takes the ports tests use). Returns apt's status.
apt_install_quietly() {
  local created_policy=0 rc=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null; } || rc=$?
  if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  return "$rc"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# stop_by_pidfile NAME PIDFILE TRIES: SIGTERM to the PID in PIDFILE (never to a name), then SIGKILL if it is still
# alive after TRIES checks 50 ms apart. Succeeds when nothing runs.
stop_by_pidfile() {
  local name=$1 pidfile=$2 tries=$3 pid i
  [ -s "$pidfile" ] || { echo "$name not running ($pidfile)"; return 0; }
  pid=$(cat "$pidfile")
  case "$pid" in (*[!0-9]*|'') die "bad pidfile $pidfile";; esac
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 "$tries"); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; echo "$name stopped ($pid)"; return 0; }
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  echo "$name killed ($pid)"
}
