#!/usr/bin/env bash
# Installs what the tests and the demo need beyond the .NET SDK, from Debian's packages, if missing:
# Prosody (+ lua-unbound), ejabberd, python3-slixmpp (real XMPP clients), PostgreSQL, Node.js + npm,
# Apertium with the English-Spanish pair (offline translation engine), Chromium (the console's browser tests drive
# Debian's build through Playwright, so no browser is downloaded) with a font for its text.
# Package installs must not start system servers on the ports tests use, so a policy-rc.d that refuses
# service starts is in place during the install (only if none existed).
set -euo pipefail

need=()
command -v prosody >/dev/null 2>&1 || need+=(prosody lua-unbound)
command -v ejabberdctl >/dev/null 2>&1 || need+=(ejabberd)
/usr/bin/python3 -c 'import slixmpp' >/dev/null 2>&1 || need+=(python3-slixmpp)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
command -v apertium >/dev/null 2>&1 || need+=(apertium)
[ -e /usr/share/apertium/modes/eng-spa.mode ] || need+=(apertium-eng-spa)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need+=(fonts-dejavu-core)
command -v sqlite3 >/dev/null 2>&1 || need+=(sqlite3)   # the soak bench prints the store's largest tables
[ ${#need[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
# An if, not `[ ] && rm`: the trap's status becomes the script's, and a false test would make a good install exit 1.
cleanup() { if [ "$created_policy" = 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

echo "deps: installing ${need[*]}" >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
