#!/usr/bin/env bash
# A private ejabberd (Debian's package, 23.01) on 127.0.0.1 for tests and demos. Several instances (different DIRs)
# can run at once, beside Prosody and beside each other: each has its own config, Mnesia spool, logs, Erlang node
# name and cookie, and no epmd (Erlang distribution listens on a private loopback port chosen at start).
#
#   ejabberd.sh start DIR C2S_PORT COMPONENT_PORT [DOMAIN] [COMPONENT_DOMAIN] [SECRET]
#   ejabberd.sh stop DIR
#   ejabberd.sh register DIR USER DOMAIN PASSWORD
#
# Environment:
#   MUC_DOMAIN=...          the MUC service (default conference.DOMAIN)
#   MUC_MAM=1|0             archive MUC rooms (XEP-0313, gives XEP-0359 stanza-ids; default 0: Mnesia archives are slow)
#   EJABBERD_LOG_LEVEL=...  none|emergency|alert|critical|error|warning|notice|info|debug (default info)
#   HTTP_UPLOAD_PORT=N      add a XEP-0363 upload service upload.DOMAIN (mod_http_upload) serving
#                           http://127.0.0.1:N/upload, files kept in DIR/upload (default: none)
#   HTTP_UPLOAD_SIZE_LIMIT=BYTES  its largest file (default 104857600, the module's own default)
#
# Layout of DIR: ejabberd.yml, ejabberdctl.cfg, vm.args, inetrc (written on every start), node and cookie (made once:
# the Mnesia schema is bound to the node name, so a restart must reuse it), spool/ (Mnesia), logs/, ejabberd.pid.
set -euo pipefail

die() { echo "ejabberd.sh: $*" >&2; exit 1; }
# shellcheck source=lib/test-server.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/test-server.sh"

ensure_installed() {
  if [ -x /usr/sbin/ejabberdctl ] && [ -x /usr/bin/erl ]; then
    return
  fi
  [ "$(id -u)" = 0 ] || die "ejabberd missing and not root: apt-get install ejabberd"
  local rc=0
  apt_install_quietly ejabberd || rc=$?
  [ "$rc" = 0 ] || die "apt-get install ejabberd failed ($rc)"
}

# Below the kernel's ephemeral range (as tests/Bridge.Testing/FreePorts.cs), so an outgoing connection cannot take it first.
free_port() {
  /usr/bin/python3 - <<'PY'
import random, socket
for _ in range(1000):
    port = random.randint(32001, 32700)
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    finally:
        s.close()
    print(port)
    break
PY
}

# Debian's ejabberdctl only runs as root (it su's to the ejabberd user) or as ejabberd. Anyone else gets a copy whose
# install user is empty, so it runs the node as the caller (the spool and logs are in DIR, writable by the caller).
ctl() {
  local dir=$1; shift
  local args=(--config-dir "$dir" --config "$dir/ejabberd.yml" --ctl-config "$dir/ejabberdctl.cfg" --logs "$dir/logs" --spool "$dir/spool")
  # ejabberdctl prefers these from the environment over its options: a caller's (or /etc/default/ejabberd's) values
  # would point this instance at the system's files.
  unset EJABBERD_LOG_PATH EJABBERDCTL_CONFIG_PATH VMARGS ERL_OPTIONS ERLANG_NODE ERL_EPMD_PORT ERL_EPMD_ADDRESS \
    CONTRIB_MODULES_PATH CONTRIB_MODULES_CONF_DIR
  case "$(id -un)" in
    root|ejabberd) /usr/sbin/ejabberdctl "${args[@]}" "$@" ;;
    *)
      local copy="$dir/ejabberdctl"
      sed 's/^INSTALLUSER=ejabberd$/INSTALLUSER=/' /usr/sbin/ejabberdctl > "$copy"
      # HOME: Erlang reads ~/.erlang at boot; the caller's may be unreadable after a change of user.
      HOME="$dir" SCRIPT=/usr/sbin/ejabberdctl bash "$copy" "${args[@]}" "$@" ;;
  esac
}

write_config() {
  local dir=$1 c2s=$2 comp=$3 domain=$4 cdomain=$5 secret=$6 dist=$7
  local muc_domain=${MUC_DOMAIN:-conference.$domain}
  local node cookie mam=false mam_module=''
  if [ "${MUC_MAM:-0}" = 1 ]; then
    mam=true
    # Room archives only: people's own archives stay off.
    mam_module=$'  mod_mam:\n    db_type: mnesia\n    default: never\n    assume_mam_usage: true'
  fi
  local upload_listener='' upload_module='' upload_acl=''
  if [ -n "${HTTP_UPLOAD_PORT:-}" ]; then
    mkdir -p "$dir/upload"
    upload_listener="  -
    port: $HTTP_UPLOAD_PORT
    ip: \"127.0.0.1\"
    module: ejabberd_http
    request_handlers:
      /upload: mod_http_upload"
    # The module's default access is local users only: the bridge's component (its puppets) must be let in too.
    upload_acl="  bridge_component:
    server: \"$cdomain\""
    upload_module="  mod_http_upload:
    host: \"upload.$domain\"
    put_url: \"http://127.0.0.1:$HTTP_UPLOAD_PORT/upload\"
    get_url: \"http://127.0.0.1:$HTTP_UPLOAD_PORT/upload\"
    docroot: \"$dir/upload\"
    max_size: ${HTTP_UPLOAD_SIZE_LIMIT:-104857600}
    access: upload"
  fi
  node=$(cat "$dir/node") cookie=$(cat "$dir/cookie")
  # ejabberdctl sources this file. ERL_DIST_PORT makes it pass -erl_epmd_port/-start_epmd false (no epmd at all:
  # the node listens on that port and ejabberdctl's client connects straight to it).
  cat > "$dir/ejabberdctl.cfg" <<CFG
# Written by scripts/ejabberd.sh.
ERLANG_NODE=$node
ERL_DIST_PORT=$dist
ERL_OPTIONS="-setcookie $cookie -env ERL_CRASH_DUMP_BYTES 0"
EJABBERD_BYPASS_WARNINGS=true
CFG
  # Erlang distribution on loopback only.
  cat > "$dir/vm.args" <<ARGS
-kernel inet_dist_use_interface {127,0,0,1}
ARGS
  : > "$dir/inetrc"
  cat > "$dir/ejabberd.yml" <<YML
# Written by scripts/ejabberd.sh: a private test server on loopback. No TLS, no shaping, no registration limits.
loglevel: ${EJABBERD_LOG_LEVEL:-info}
log_rotate_count: 0
hide_sensitive_log_data: false
hosts:
  - "$domain"
language: "en"
auth_method: internal
auth_password_format: scram
registration_timeout: infinity
acme:
  auto: false
listen:
  -
    port: $c2s
    ip: "127.0.0.1"
    backlog: 128
    module: ejabberd_c2s
    max_stanza_size: 262144
    shaper: none
    access: c2s
    starttls: false
    starttls_required: false
  -
    port: $comp
    ip: "127.0.0.1"
    backlog: 128
    module: ejabberd_service
    max_stanza_size: 524288
    shaper: none
    access: all
    hosts:
      "$cdomain":
        password: "$secret"
$upload_listener
acl:
  local:
    user_regexp: ""
$upload_acl
  loopback:
    ip:
      - 127.0.0.0/8
access_rules:
  local:
    allow: local
  c2s:
    allow: all
  register:
    allow: all
  muc_create:
    allow: all
  upload:
    allow: local
    allow: bridge_component
shaper_rules:
  max_user_sessions: 1000
  c2s_shaper: none
  s2s_shaper: none
modules:
  mod_disco: {}
  mod_ping: {}
  mod_roster: {}
  mod_carboncopy: {}
  mod_register:
    access: register
    ip_access: all
    welcome_message:
      subject: ""
      body: ""
  mod_muc:
    host: "$muc_domain"
    access: all
    access_create: all
    access_persistent: all
    access_register: all
    access_mam: all
    history_size: 50
    max_users: 5000
    max_user_conferences: 1000
    max_users_admin_threshold: 5000
    min_message_interval: 0
    min_presence_interval: 0
    default_room_options:
      persistent: true
      public: true
      mam: $mam
$mam_module
$upload_module
YML
}

cmd_start() {
  [ $# -ge 3 ] || die "usage: ejabberd.sh start DIR C2S_PORT COMPONENT_PORT [DOMAIN] [COMPONENT_DOMAIN] [SECRET]"
  local dir=$1 c2s=$2 comp=$3 domain=${4:-localhost}
  local cdomain=${5:-bridge.$domain} secret=${6:-secret}
  ensure_installed
  mkdir -p "$dir/spool" "$dir/logs"
  dir=$(cd "$dir" && pwd)
  if [ -s "$dir/ejabberd.pid" ] && kill -0 "$(cat "$dir/ejabberd.pid")" 2>/dev/null; then
    die "already running in $dir (pid $(cat "$dir/ejabberd.pid"))"
  fi
  rm -f "$dir/ejabberd.pid"
  # A unique, stable node name and a private cookie per DIR.
  [ -s "$dir/node" ] || echo "ejabberd-$(od -An -N4 -tx4 /dev/urandom | tr -d ' \n')@localhost" > "$dir/node"
  [ -s "$dir/cookie" ] || od -An -N16 -tx1 /dev/urandom | tr -d ' \n' | tr 'a-f' 'A-F' > "$dir/cookie"
  chmod 600 "$dir/cookie"
  write_config "$dir" "$c2s" "$comp" "$domain" "$cdomain" "$secret" "$(free_port)"
  if [ "$(id -u)" = 0 ]; then chown -R ejabberd:ejabberd "$dir"; fi
  # ejabberd writes its own (beam) PID here: stop uses it, never a process name.
  export EJABBERD_PID_PATH="$dir/ejabberd.pid"
  # setsid + redirected output: the caller (a test runner) must not wait on our pipes or share our signals.
  setsid bash -c "$(declare -f ctl); ctl \"\$@\"" ejabberd.sh "$dir" foreground >"$dir/stdout.log" 2>&1 < /dev/null &
  local launcher=$!
  local i
  for i in $(seq 1 600); do
    if [ -s "$dir/ejabberd.pid" ] && port_open "$c2s" && port_open "$comp"; then
      echo "ejabberd started in $dir (pid $(cat "$dir/ejabberd.pid"), node $(cat "$dir/node"), c2s $c2s, component $comp, $cdomain)"
      return 0
    fi
    if ! kill -0 "$launcher" 2>/dev/null; then break; fi
    sleep 0.05
  done
  echo "--- stdout.log" >&2; cat "$dir/stdout.log" >&2 || true
  echo "--- ejabberd.log" >&2; tail -n 40 "$dir/logs/ejabberd.log" >&2 || true
  echo "--- error.log" >&2; tail -n 40 "$dir/logs/error.log" >&2 || true
  if [ -s "$dir/ejabberd.pid" ]; then kill -9 "$(cat "$dir/ejabberd.pid")" 2>/dev/null || true; fi
  kill -9 "$launcher" 2>/dev/null || true
  rm -f "$dir/ejabberd.pid"
  die "ejabberd did not become ready in $dir"
}

cmd_stop() {
  [ $# -ge 1 ] || die "usage: ejabberd.sh stop DIR"
  # SIGTERM makes the Erlang VM run init:stop(): listeners close, Mnesia is flushed (up to 10 s).
  stop_by_pidfile ejabberd "$1/ejabberd.pid" 200
}

cmd_register() {
  [ $# -ge 4 ] || die "usage: ejabberd.sh register DIR USER DOMAIN PASSWORD"
  local dir=$1
  dir=$(cd "$dir" && pwd)
  ctl "$dir" register "$2" "$3" "$4"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  register) shift; cmd_register "$@" ;;
  *) die "usage: ejabberd.sh start|stop|register ..." ;;
esac
