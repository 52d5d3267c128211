#!/usr/bin/env bash
# tango-db.sh - an embedded Tango database for this checkout: a private MariaDB instance on 127.0.0.1 and Debian's
# DataBaseds (on 127.0.0.1 unless LIMA2_TANGO_ADDRESS says otherwise), with their data and logs under one folder. Nothing under /etc,
# /run or /var/lib/mysql is touched, so it runs beside a beamline's own Tango host.
#
#   scripts/tango-db.sh up       start MariaDB + DataBaseds (idempotent; creates the schema on first use)
#   scripts/tango-db.sh down     stop what `up` started, by PID, keeping the data
#   scripts/tango-db.sh status   say what runs
#   scripts/tango-db.sh purge    down, then delete the data folder
#   scripts/tango-db.sh env      print the export line for TANGO_HOST
#
# Settings (environment): LIMA2_TANGO_DIR (default <repo>/.data/tango), TANGO_PORT (10000),
# LIMA2_MYSQL_PORT (3307), LIMA2_TANGO_ADDRESS (127.0.0.1: the address DataBaseds listens on; an address other
# hosts reach serves them too). ORBendPoint is left as the user set it. Packages come from scripts/setup.sh.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${LIMA2_TANGO_DIR:-$repo/.data/tango}
tango_port=${TANGO_PORT:-10000}
mysql_port=${LIMA2_MYSQL_PORT:-3307}
run=$dir/run
logs=$dir/log
mysql_data=$dir/mysql
socket=$dir/mysqld.sock
db_user=lima2
db_pass=lima2-embedded   # loopback-only test database: the password only keeps other local users out

address=${LIMA2_TANGO_ADDRESS:-127.0.0.1}
export TANGO_HOST=$address:$tango_port

say() { printf '[tango-db] %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# A PID is ours while it lives (not a zombie) and its command line still names what we started.
pid_of() { cat "$run/$1.pid" 2>/dev/null || true; }
alive() {
    local pid=$1 expect=$2
    [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
    [ "$(awk '{print $3}' "/proc/$pid/stat")" != Z ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$expect"
}
spawn() {
    local name=$1; shift
    setsid "$@" >"$logs/$name.log" 2>&1 </dev/null &
    echo $! >"$run/$name.pid"
}
stop() {
    local name=$1 expect=$2 pid
    pid=$(pid_of "$name")
    if alive "$pid" "$expect"; then
        kill -TERM "$pid"
        for _ in $(seq 150); do alive "$pid" "$expect" || break; sleep 0.1; done
        if alive "$pid" "$expect"; then say "$name ignored SIGTERM: killing"; kill -KILL "$pid"; fi
        say "stopped $name (pid $pid)"
    fi
    rm -f "$run/$name.pid"
}
poll() { # poll SECONDS command...
    local tries=$(($1 * 10)); shift
    for _ in $(seq "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    return 1
}
port_free() { ! (exec 3<>"/dev/tcp/$2/$1") 2>/dev/null; }
sql() { mariadb --no-defaults -uroot --socket="$socket" "$@"; }

start_mariadb() {
    alive "$(pid_of mariadbd)" "$mysql_data" && return
    port_free "$mysql_port" 127.0.0.1 || die "port $mysql_port is taken: set LIMA2_MYSQL_PORT"
    # mariadbd refuses root unless told; Debian's mysql user exists only with the full mariadb-server package
    local as_user=() owner=
    if [ "$(id -u)" = 0 ]; then
        owner=$(id -u mysql >/dev/null 2>&1 && echo mysql || echo root)
        as_user=(--user="$owner")
    fi
    if [ ! -d "$mysql_data/mysql" ]; then
        mkdir -p "$mysql_data"
        [ -n "$owner" ] && chown -R "$owner:" "$mysql_data"
        mariadb-install-db --no-defaults "${as_user[@]}" --datadir="$mysql_data" \
            --auth-root-authentication-method=socket --skip-test-db >"$logs/mariadb-install-db.log" 2>&1 \
            || { cat "$logs/mariadb-install-db.log" >&2; die "mariadb-install-db failed"; }
    fi
    spawn mariadbd /usr/sbin/mariadbd --no-defaults "${as_user[@]}" --datadir="$mysql_data" \
        --socket="$socket" --port="$mysql_port" --bind-address=127.0.0.1 \
        --pid-file="$dir/mariadbd.pid" --log-error="$logs/mariadbd.err"
    poll 30 mariadb-admin --no-defaults -uroot --socket="$socket" ping \
        || { cat "$logs/mariadbd.err" >&2 || true; die "MariaDB did not start"; }
    say "MariaDB up on 127.0.0.1:$mysql_port"
}

ensure_schema() {
    local user
    for user in "'$db_user'@'localhost'" "'$db_user'@'127.0.0.1'"; do
        sql -e "CREATE USER IF NOT EXISTS $user IDENTIFIED BY '$db_pass'; GRANT ALL PRIVILEGES ON tango.* TO $user;"
    done
    sql -e "CREATE DATABASE IF NOT EXISTS tango"
    if [ "$(sql -N -e "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='tango' AND table_name='device'")" = 0 ]; then
        # Debian's tango-db schema: tables, stored procedures, sys/database/2 and friends
        sql tango </usr/share/dbconfig-common/data/tango-db/install/mysql
        say "Tango schema created"
    fi
}

start_databaseds() {
    alive "$(pid_of databaseds)" DataBaseds && return
    port_free "$tango_port" "$address" || die "port $tango_port is taken by another process: set TANGO_PORT"
    # DataBaseds takes its endpoint from the command line; an ORBendPoint variable would open a second one.
    spawn databaseds env -u ORBendPoint MYSQL_HOST="127.0.0.1:$mysql_port" MYSQL_USER="$db_user" \
        MYSQL_PASSWORD="$db_pass" /usr/lib/tango/DataBaseds 2 -ORBendPoint "giop:tcp:$address:$tango_port"
    poll 30 tango_admin --ping-database || { cat "$logs/databaseds.log" >&2; die "DataBaseds does not answer"; }
    say "DataBaseds up: TANGO_HOST=$TANGO_HOST"
}

status() {
    local name expect
    for name in mariadbd:"$mysql_data" databaseds:DataBaseds; do
        expect=${name#*:}; name=${name%%:*}
        if alive "$(pid_of "$name")" "$expect"; then echo "$name: running (pid $(pid_of "$name"))"; else echo "$name: stopped"; fi
    done
    if tango_admin --ping-database >/dev/null 2>&1; then echo "TANGO_HOST=$TANGO_HOST answers"; else echo "TANGO_HOST=$TANGO_HOST does not answer"; fi
}

case "${1:-}" in
    up)
        # Another checkout's embedded database (or a beamline's) already serves this TANGO_HOST: use it.
        if tango_admin --ping-database >/dev/null 2>&1 && ! alive "$(pid_of databaseds)" DataBaseds; then
            say "a Tango database already answers on $TANGO_HOST: using it"
            exit 0
        fi
        command -v mariadbd >/dev/null || [ -x /usr/sbin/mariadbd ] || die "MariaDB is not installed: run scripts/setup.sh"
        mkdir -p "$run" "$logs"
        start_mariadb
        ensure_schema
        start_databaseds
        ;;
    down) stop databaseds DataBaseds; stop mariadbd "$mysql_data" ;;
    status) status ;;
    purge) stop databaseds DataBaseds; stop mariadbd "$mysql_data"; rm -rf "$dir"; say "removed $dir" ;;
    env) echo "export TANGO_HOST=$TANGO_HOST" ;;
    *) echo "usage: $0 up|down|status|purge|env" >&2; exit 2 ;;
esac
