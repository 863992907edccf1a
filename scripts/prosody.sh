#!/usr/bin/env bash
# A private Prosody on 127.0.0.1 for tests and demos. Several instances (different DIRs) can run at once.
#
#   prosody.sh start DIR C2S_PORT COMPONENT_PORT [DOMAIN] [COMPONENT_DOMAIN] [SECRET]
#   prosody.sh stop DIR
#   prosody.sh register DIR USER DOMAIN PASSWORD
#
# Environment:
#   MUC_ROOM_LOCKING=1|0   new rooms stay locked until their owner submits the config form (default 1, as in
#                          real deployments: the bridge must send the instant-room form)
#   MUC_MAM=1|0            archive MUC rooms (XEP-0313, gives XEP-0359 stanza-ids; default 1)
#   MUC_DOMAIN=...         the MUC service (default conference.DOMAIN)
#   EJABBERD=1             run ejabberd instead of Prosody (installed likewise if missing; same arguments and layout;
#                          MUC archive follows MUC_MAM, default off for ejabberd because its Mnesia archive is slow;
#                          room locking is ejabberd's own)
set -euo pipefail

die() { echo "prosody.sh: $*" >&2; exit 1; }

# ensure_installed [ejabberd]: installs the server (prosody + lua-unbound, or ejabberd) and python3-slixmpp if missing.
ensure_installed() {
  local server=${1:-prosody} packages
  if [ "$server" = ejabberd ]; then packages="ejabberd python3-slixmpp"; else packages="prosody lua-unbound python3-slixmpp"; fi
  if command -v "$([ "$server" = ejabberd ] && echo ejabberdctl || echo prosody)" >/dev/null 2>&1 &&
     /usr/bin/python3 -c 'import slixmpp' >/dev/null 2>&1; then
    return
  fi
  [ "$(id -u)" = 0 ] || die "$packages: missing and not root, install them first"
  # Without a policy-rc.d that refuses, apt starts a system Prosody on 0.0.0.0:5222 that takes the ports.
  local created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  local rc=0
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages >/dev/null; } || rc=$?
  if [ "$created_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  [ "$rc" = 0 ] || die "apt-get install failed ($rc)"
}

# Run a command as the prosody user when we are root (Prosody refuses root and half-starts), else as ourselves.
as_prosody() {
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid=prosody --regid=prosody --init-groups -- "$@"
  else
    "$@"
  fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

write_config() {
  local dir=$1 c2s=$2 comp=$3 domain=$4 cdomain=$5 secret=$6
  local muc_domain=${MUC_DOMAIN:-conference.$domain}
  local locking=true mam_modules='"muc_mam";'
  [ "${MUC_ROOM_LOCKING:-1}" = 0 ] && locking=false
  [ "${MUC_MAM:-1}" = 0 ] && mam_modules=''
  cat > "$dir/prosody.cfg.lua" <<CFG
-- Written by scripts/prosody.sh: a private test server on loopback.
pidfile = "$dir/prosody.pid"
data_path = "$dir/data"
log = { { levels = { min = "${PROSODY_LOG_LEVEL:-info}" }; to = "file"; filename = "$dir/prosody.log" } }
prosodyctl_service_warnings = false
network_settings = { nagle = false; }
interfaces = { "127.0.0.1" }
c2s_ports = { $c2s }
c2s_interfaces = { "127.0.0.1" }
component_ports = { $comp }
component_interfaces = { "127.0.0.1" }
c2s_direct_tls_ports = { }
http_ports = { }
https_ports = { }
modules_enabled = { "roster"; "saslauth"; "disco"; "register"; "ping"; "posix"; "carbons"; "mam"; }
modules_disabled = { "s2s"; "s2s_auth_certs"; "dialback"; "offline"; "limits"; }
authentication = "internal_hashed"
storage = "internal"
storage_archive_item_limit = 1000000
allow_registration = true
min_seconds_between_registrations = 0
c2s_require_encryption = false
allow_unencrypted_plain_auth = true

VirtualHost "$domain"

Component "$muc_domain" "muc"
  modules_enabled = { $mam_modules }
  muc_room_locking = $locking
  muc_room_default_public = true
  muc_room_default_persistent = true
  restrict_room_creation = false

Component "$cdomain"
  component_secret = "$secret"
  component_conflict_resolve = "kick_old"
CFG
}

# ---------------------------------------------------------------- ejabberd (EJABBERD=1)

ej_node() { echo "ejb$(echo -n "$1" | sha1sum | cut -c1-10)@localhost"; }

ej_ctl() {
  local dir=$1; shift
  if [ "$(id -u)" = 0 ]; then
    setpriv --reuid=ejabberd --regid=ejabberd --init-groups -- env HOME="$dir" ejabberdctl --ctl-config "$dir/ejabberdctl.cfg" \
      --config-dir "$dir" --config "$dir/ejabberd.yml" --logs "$dir/logs" --spool "$dir/spool" --node "$(ej_node "$dir")" "$@"
  else
    env HOME="$dir" ejabberdctl --ctl-config "$dir/ejabberdctl.cfg" --config-dir "$dir" --config "$dir/ejabberd.yml" \
      --logs "$dir/logs" --spool "$dir/spool" --node "$(ej_node "$dir")" "$@"
  fi
}

ej_start() {
  local dir=$1 c2s=$2 comp=$3 domain=$4 cdomain=$5 secret=$6
  local muc_domain=${MUC_DOMAIN:-conference.$domain} mam=false
  [ "${MUC_MAM:-0}" = 1 ] && mam=true
  ensure_installed ejabberd
  mkdir -p "$dir/logs" "$dir/spool"
  [ -f /etc/ejabberd/inetrc ] && cp /etc/ejabberd/inetrc "$dir/inetrc"
  cat > "$dir/ejabberdctl.cfg" <<CFG
ERLANG_NODE=$(ej_node "$dir")
INET_DIST_INTERFACE=127.0.0.1
EJABBERD_PID_PATH=$dir/ejabberd.pid
ERL_OPTIONS="-env ERL_CRASH_DUMP_BYTES 0"
CFG
  cat > "$dir/ejabberd.yml" <<CFG
hosts: ["$domain"]
loglevel: info
log_rotate_count: 0
certfiles: []
auth_method: internal
listen:
  - port: $c2s
    ip: "127.0.0.1"
    module: ejabberd_c2s
    starttls: false
    shaper: none
  - port: $comp
    ip: "127.0.0.1"
    module: ejabberd_service
    hosts:
      "$cdomain":
        password: "$secret"
acl:
  local:
    user_regexp: ""
access_rules:
  local:
    allow: local
  c2s:
    allow: all
  register:
    allow: all
shaper_rules:
  c2s_shaper: none
  s2s_shaper: none
modules:
  mod_disco: {}
  mod_ping: {}
  mod_roster: {}
  mod_mam: {}
  mod_muc:
    host: "$muc_domain"
    access: all
    access_create: all
    access_persistent: all
    access_mam: all
    default_room_options:
      persistent: true
      public: true
      mam: $mam
CFG
  if [ "$(id -u)" = 0 ]; then chown -R ejabberd:ejabberd "$dir"; fi
  rm -f "$dir/ejabberd.pid"
  setsid bash -c "$(declare -f ej_ctl ej_node); ej_ctl '$dir' foreground" >"$dir/stdout.log" 2>&1 < /dev/null &
  local launcher=$! i
  for i in $(seq 1 600); do
    if [ -s "$dir/ejabberd.pid" ] && port_open "$c2s" && port_open "$comp"; then
      echo "ejabberd started in $dir (pid $(cat "$dir/ejabberd.pid"), c2s $c2s, component $comp, $cdomain)"
      return 0
    fi
    if ! kill -0 "$launcher" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "--- stdout.log" >&2; tail -n 40 "$dir/stdout.log" >&2 || true
  [ -s "$dir/ejabberd.pid" ] && kill -9 "$(cat "$dir/ejabberd.pid")" 2>/dev/null || true
  die "ejabberd did not become ready in $dir"
}

cmd_start() {
  [ $# -ge 3 ] || die "usage: prosody.sh start DIR C2S_PORT COMPONENT_PORT [DOMAIN] [COMPONENT_DOMAIN] [SECRET]"
  local dir=$1 c2s=$2 comp=$3 domain=${4:-localhost}
  local cdomain=${5:-bridge.$domain} secret=${6:-secret}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  if [ "${EJABBERD:-0}" = 1 ]; then
    echo ejabberd > "$dir/server-kind"
    ej_start "$dir" "$c2s" "$comp" "$domain" "$cdomain" "$secret"
    return
  fi
  echo prosody > "$dir/server-kind"
  ensure_installed
  mkdir -p "$dir/data" "$dir/certs"
  if [ -s "$dir/prosody.pid" ] && kill -0 "$(cat "$dir/prosody.pid")" 2>/dev/null; then
    die "already running in $dir (pid $(cat "$dir/prosody.pid"))"
  fi
  rm -f "$dir/prosody.pid"
  write_config "$dir" "$c2s" "$comp" "$domain" "$cdomain" "$secret"
  if [ "$(id -u)" = 0 ]; then chown -R prosody:prosody "$dir"; fi
  # setsid + redirected output: the caller (a test runner) must not wait on our pipes or share our signals.
  if [ "$(id -u)" = 0 ]; then
    setsid setpriv --reuid=prosody --regid=prosody --init-groups -- prosody --config "$dir/prosody.cfg.lua" -F \
      >"$dir/stdout.log" 2>&1 < /dev/null &
  else
    setsid prosody --config "$dir/prosody.cfg.lua" -F >"$dir/stdout.log" 2>&1 < /dev/null &
  fi
  local launcher=$!
  local i
  for i in $(seq 1 200); do
    if [ -s "$dir/prosody.pid" ] && port_open "$c2s" && port_open "$comp"; then
      echo "prosody started in $dir (pid $(cat "$dir/prosody.pid"), c2s $c2s, component $comp, $cdomain)"
      return 0
    fi
    if ! kill -0 "$launcher" 2>/dev/null; then break; fi
    sleep 0.05
  done
  echo "--- stdout.log" >&2; cat "$dir/stdout.log" >&2 || true
  echo "--- prosody.log" >&2; tail -n 30 "$dir/prosody.log" >&2 || true
  if [ -s "$dir/prosody.pid" ]; then kill -9 "$(cat "$dir/prosody.pid")" 2>/dev/null || true; fi
  kill -9 "$launcher" 2>/dev/null || true
  die "prosody did not become ready in $dir"
}

cmd_stop() {
  [ $# -ge 1 ] || die "usage: prosody.sh stop DIR"
  local dir=$1 pid pidfile="$1/prosody.pid"
  [ "$(cat "$dir/server-kind" 2>/dev/null)" = ejabberd ] && pidfile="$dir/ejabberd.pid"
  [ -s "$pidfile" ] || { echo "not running in $dir"; return 0; }
  pid=$(cat "$pidfile")
  case "$pid" in (*[!0-9]*|'') die "bad pidfile $pidfile";; esac
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 100); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; echo "server stopped ($pid)"; return 0; }
    sleep 0.05
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
  echo "server killed ($pid)"
}

cmd_register() {
  [ $# -ge 4 ] || die "usage: prosody.sh register DIR USER DOMAIN PASSWORD"
  local dir=$1
  dir=$(cd "$dir" && pwd)
  if [ "$(cat "$dir/server-kind" 2>/dev/null)" = ejabberd ]; then
    ej_ctl "$dir" register "$2" "$3" "$4"
    return
  fi
  as_prosody prosodyctl --config "$dir/prosody.cfg.lua" register "$2" "$3" "$4"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  register) shift; cmd_register "$@" ;;
  *) die "usage: prosody.sh start|stop|register ..." ;;
esac
