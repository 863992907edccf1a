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
#   HTTP_UPLOAD_PORT=N     add a XEP-0363 upload service upload.DOMAIN (mod_http_file_share) serving
#                          http://127.0.0.1:N/ (default: none)
#   HTTP_UPLOAD_SIZE_LIMIT=BYTES  its largest file (default 10485760, the module's own default)
#   MUC_ROOM_CACHE_SIZE=N  rooms the MUC service keeps live in memory (default: Prosody's own, 100); past it the
#                          least recently used room is written to disk and read back on its next stanza
#
# ejabberd has its own script with the same arguments: scripts/ejabberd.sh.
set -euo pipefail

die() { echo "prosody.sh: $*" >&2; exit 1; }
# shellcheck source=lib/test-server.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/test-server.sh"

# ensure_installed: installs prosody, lua-unbound and python3-slixmpp if missing.
ensure_installed() {
  local packages="prosody lua-unbound python3-slixmpp"
  if command -v prosody >/dev/null 2>&1 && /usr/bin/python3 -c 'import slixmpp' >/dev/null 2>&1; then
    return
  fi
  [ "$(id -u)" = 0 ] || die "$packages: missing and not root, install them first"
  local rc=0
  # shellcheck disable=SC2086
  apt_install_quietly $packages || rc=$?
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

write_config() {
  local dir=$1 c2s=$2 comp=$3 domain=$4 cdomain=$5 secret=$6
  local muc_domain=${MUC_DOMAIN:-conference.$domain}
  local locking=true mam_modules='"muc_mam";' room_cache=''
  [ -n "${MUC_ROOM_CACHE_SIZE:-}" ] && room_cache="muc_room_cache_size = $MUC_ROOM_CACHE_SIZE"
  [ "${MUC_ROOM_LOCKING:-1}" = 0 ] && locking=false
  [ "${MUC_MAM:-1}" = 0 ] && mam_modules=''
  local http_ports='' upload_component=''
  if [ -n "${HTTP_UPLOAD_PORT:-}" ]; then
    http_ports=$HTTP_UPLOAD_PORT
    # Any host of this server may ask for a slot (the module's default access): users and the bridge component.
    upload_component="
Component \"upload.$domain\" \"http_file_share\"
  http_host = \"127.0.0.1\"
  http_external_url = \"http://127.0.0.1:$HTTP_UPLOAD_PORT/\"
  http_file_share_size_limit = ${HTTP_UPLOAD_SIZE_LIMIT:-10485760}
  http_file_share_daily_quota = 1073741824
"
  fi
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
http_ports = { $http_ports }
http_interfaces = { "127.0.0.1" }
https_ports = { }
modules_enabled = { "roster"; "saslauth"; "disco"; "register"; "ping"; "posix"; "carbons"; "mam"; "vcard"; }
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
  $room_cache

Component "$cdomain"
  component_secret = "$secret"
  component_conflict_resolve = "kick_old"
$upload_component
CFG
}

cmd_start() {
  [ $# -ge 3 ] || die "usage: prosody.sh start DIR C2S_PORT COMPONENT_PORT [DOMAIN] [COMPONENT_DOMAIN] [SECRET]"
  local dir=$1 c2s=$2 comp=$3 domain=${4:-localhost}
  local cdomain=${5:-bridge.$domain} secret=${6:-secret}
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
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
  stop_by_pidfile prosody "$1/prosody.pid" 100
}

cmd_register() {
  [ $# -ge 4 ] || die "usage: prosody.sh register DIR USER DOMAIN PASSWORD"
  local dir=$1
  dir=$(cd "$dir" && pwd)
  as_prosody prosodyctl --config "$dir/prosody.cfg.lua" register "$2" "$3" "$4"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  register) shift; cmd_register "$@" ;;
  *) die "usage: prosody.sh start|stop|register ..." ;;
esac
