#!/usr/bin/env bash
# A private, throw-away PostgreSQL cluster for tests and demos.
#   scripts/postgres.sh start DIR PORT   -> initdb in DIR, listen on 127.0.0.1:PORT, create database bridge_test;
#                                           prints the connection string as the last line of stdout
#   scripts/postgres.sh stop DIR         -> stops the cluster in DIR (pg_ctl, via its postmaster.pid)
#   scripts/postgres.sh restart DIR      -> fast restart of the cluster in DIR (every session ends), for failover tests
# Installs Debian's postgresql package when no server binaries are present (needs root and apt).
# Trust authentication on loopback only: never point this at a directory holding real data.
set -euo pipefail

usage() {
    echo "usage: $0 start DIR PORT | stop DIR" >&2
    exit 2
}

log() { echo "postgres.sh: $*" >&2; }

find_bindir() {
    local d
    # Newest installed major version wins.
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then
            echo "$d"
            return 0
        fi
    done
    return 1
}

install_postgres() {
    if [[ $(id -u) -ne 0 ]]; then
        log "PostgreSQL server binaries are missing and installing them needs root (apt-get install postgresql)"
        exit 1
    fi
    local created_policy=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        # Exit code 101 tells invoke-rc.d not to start services: we want the binaries, not the system cluster running.
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    local rc=0
    {
        log "installing postgresql (apt-get)"
        apt-get update -qq >&2 &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
    } || rc=$?
    if [[ $created_policy -eq 1 ]]; then
        rm -f /usr/sbin/policy-rc.d
    fi
    if [[ $rc -ne 0 ]]; then
        log "apt-get install postgresql failed (exit $rc)"
        exit 1
    fi
}

# Runs a PostgreSQL binary as the cluster owner: the server refuses to run as root.
as_owner() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start() {
    local dir=$1 port=$2
    [[ $port =~ ^[0-9]+$ ]] || usage
    local bindir
    if ! bindir=$(find_bindir); then
        install_postgres
        bindir=$(find_bindir) || { log "no initdb under /usr/lib/postgresql/*/bin after install"; exit 1; }
    fi

    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    local data=$dir/data sock=$dir/sock logfile=$dir/postgres.log
    if [[ -e $data/PG_VERSION ]]; then
        log "$data already holds a cluster; refusing to initdb over it"
        exit 1
    fi
    mkdir -p "$sock"
    if [[ $(id -u) -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || { log "user 'postgres' does not exist"; exit 1; }
        chown -R postgres: "$dir"
        if ! runuser -u postgres -- test -w "$dir"; then
            log "$dir is not reachable by the postgres user (a parent directory is not searchable); use a directory under /tmp"
            exit 1
        fi
    fi

    log "initdb in $data ($bindir)"
    as_owner "$bindir/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
        log "initdb failed:"; cat "$dir/initdb.log" >&2; exit 1; }

    cat >>"$data/postgresql.conf" <<EOF
# Added by scripts/postgres.sh: loopback TCP only, socket inside the cluster directory.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$sock'
max_connections = 100
shared_buffers = 64MB
EOF

    log "starting on 127.0.0.1:$port"
    as_owner "$bindir/pg_ctl" -D "$data" -l "$logfile" -w -t 60 start >&2 || {
        log "pg_ctl start failed; server log:"; cat "$logfile" >&2 || true; exit 1; }

    local i
    for i in $(seq 1 60); do
        if "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port"; then
            break
        fi
        if [[ $i -eq 60 ]]; then
            log "server did not become ready; log:"; cat "$logfile" >&2 || true; exit 1
        fi
        sleep 0.5
    done

    as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres bridge_test
    log "ready"
    echo "Host=127.0.0.1;Port=$port;Username=postgres;Database=bridge_test"
}

stop() {
    local dir=$1
    local data=$dir/data
    if [[ ! -f $data/postmaster.pid ]]; then
        log "no running cluster in $dir"
        return 0
    fi
    local bindir
    bindir=$(find_bindir) || { log "no pg_ctl found"; exit 1; }
    # pg_ctl stop signals the PID recorded in postmaster.pid: only this cluster is touched.
    as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >&2
}

restart() {
    local dir=$1
    local data=$dir/data
    local bindir
    bindir=$(find_bindir) || { log "no pg_ctl found"; exit 1; }
    as_owner "$bindir/pg_ctl" -D "$data" -l "$dir/postgres.log" -m fast -w -t 60 restart >&2
}

[[ $# -ge 1 ]] || usage
case $1 in
    start) [[ $# -eq 3 ]] || usage; start "$2" "$3" ;;
    stop) [[ $# -eq 2 ]] || usage; stop "$2" ;;
    restart) [[ $# -eq 2 ]] || usage; restart "$2" ;;
    *) usage ;;
esac
