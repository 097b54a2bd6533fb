#!/usr/bin/env bash
# Throwaway PostgreSQL for tests.
#
#   scripts/postgres.sh start [DIR]   start a server; prints "dir=DIR" then its URL as the last
#                                     stdout line, e.g. postgres://sluice@127.0.0.1:41234/sluice.
#                                     With DIR of a server this script started that is still
#                                     running, prints that server's URL instead.
#   scripts/postgres.sh stop DIR|URL  stop that server and delete its directory.
#   scripts/postgres.sh status DIR    exit 0 if it runs.
#
# Installs Debian's postgresql when no initdb is found. The server runs as the `postgres`
# user when we are root (postgres refuses root), trusts connections on 127.0.0.1 and its own
# socket only, and listens on a free ephemeral port. Everything lives in DIR
# (default: a new ${TMPDIR:-/tmp}/sluice-pg.XXXXXX): data/, log, port, url, and the socket.
# Every wait is bounded. Progress goes to stderr.
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }
die() { log "$*"; exit 1; }

# Directory of the newest installed server binaries (Debian keeps them off PATH).
find_bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$d" && -x "$d/initdb" ]]; then echo "$d"; return 0; fi
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v initdb)")"; return 0
    fi
    return 1
}

ensure_installed() {
    if BIN=$(find_bindir); then return 0; fi
    [[ $(id -u) -eq 0 ]] || die "no PostgreSQL found and not root: install the postgresql package"
    log "installing postgresql (apt)"
    export DEBIAN_FRONTEND=noninteractive
    timeout 600 apt-get update -qq >&2
    timeout 900 apt-get install -y -qq --no-install-recommends postgresql >&2
    BIN=$(find_bindir) || die "postgresql installed but no initdb found"
}

# Runs a server binary as the postgres user when we are root, else as ourselves.
as_pg() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
    else
        echo $(( 20000 + RANDOM % 40000 ))
    fi
}

is_ours() { [[ -f "$1/.sluice-pg" && -d "$1/data" ]]; }

running() { is_ours "$1" && as_pg "$BIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1; }

start() {
    ensure_installed
    local dir="${1:-}"
    if [[ -n "$dir" ]] && running "$dir"; then
        echo "dir=$dir"; cat "$dir/url"; return 0
    fi
    if [[ $(id -u) -eq 0 ]] && ! id postgres >/dev/null 2>&1; then
        useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/sh postgres
    fi
    if [[ -z "$dir" ]]; then
        dir=$(mktemp -d "${TMPDIR:-/tmp}/sluice-pg.XXXXXX")
    else
        mkdir -p "$dir"
    fi
    dir=$(cd "$dir" && pwd)
    touch "$dir/.sluice-pg"
    [[ $(id -u) -eq 0 ]] && chown -R postgres: "$dir"
    chmod 700 "$dir"

    if [[ ! -f "$dir/data/PG_VERSION" ]]; then
        as_pg "$BIN/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 \
            --locale=C --no-sync >"$dir/initdb.log" 2>&1 \
            || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
        # Trust only our socket and loopback; listen on loopback only.
        as_pg sh -c "cat > '$dir/data/pg_hba.conf'" <<'HBA'
local all all              trust
host  all all 127.0.0.1/32 trust
HBA
        as_pg sh -c "cat >> '$dir/data/postgresql.conf'" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
max_connections = 50
CONF
    fi

    # A port that was free a moment ago can be taken before the server binds it: retry.
    local port attempt
    for attempt in 1 2 3 4 5; do
        port=$(free_port)
        if as_pg "$BIN/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 -o "-p $port" start >&2; then
            break
        fi
        log "start on port $port failed (attempt $attempt), see $dir/log"
        port=""
        as_pg "$BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop >/dev/null 2>&1 || true
    done
    [[ -n "$port" ]] || { tail -n 20 "$dir/log" >&2 || true; die "could not start postgres"; }
    echo "$port" > "$dir/port"

    local psql=("$BIN/psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1)
    as_pg "${psql[@]}" -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'sluice') THEN CREATE ROLE sluice LOGIN CREATEDB; END IF; END \$\$;" >&2
    if [[ -z $(as_pg "${psql[@]}" -tA -c "SELECT 1 FROM pg_database WHERE datname = 'sluice'") ]]; then
        as_pg "${psql[@]}" -c "CREATE DATABASE sluice OWNER sluice" >&2
    fi

    local url="postgres://sluice@127.0.0.1:$port/sluice"
    echo "$url" > "$dir/url"
    log "running in $dir; stop with: $0 stop $dir"
    echo "dir=$dir"
    echo "$url"
}

stop() {
    local target="${1:-}" dir=""
    [[ -n "$target" ]] || die "usage: $0 stop DIR|URL"
    if [[ -d "$target" ]]; then
        dir=$(cd "$target" && pwd)
        # Accept the data directory too.
        [[ -f "$dir/.sluice-pg" ]] || { [[ -f "$dir/../.sluice-pg" ]] && dir=$(cd "$dir/.." && pwd); }
    else
        local f
        for f in "${TMPDIR:-/tmp}"/sluice-pg.*/url; do
            [[ -f "$f" && "$(cat "$f")" == "$target" ]] && dir=$(dirname "$f")
        done
    fi
    [[ -n "$dir" ]] && is_ours "$dir" || die "no server started by this script at '$target'"
    BIN=$(find_bindir) || die "no PostgreSQL binaries found"
    as_pg "$BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >&2 || true
    if running "$dir"; then
        as_pg "$BIN/pg_ctl" -D "$dir/data" -m immediate -w -t 10 stop >&2 || true
    fi
    rm -rf "$dir"
    log "stopped and removed $dir"
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) shift; stop "$@" ;;
    status) shift; BIN=$(find_bindir) || exit 1; running "${1:?usage: $0 status DIR}" ;;
    *) echo "usage: $0 start [DIR] | stop DIR|URL | status DIR" >&2; exit 2 ;;
esac
