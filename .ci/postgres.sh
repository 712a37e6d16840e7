#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the PostgreSQL tests, on a free loopback port.
#
#   eval "$(bash .ci/postgres.sh start)"   # exports CAMPAIGNSYNC_TEST_POSTGRES_URL and _DIR
#   python -m pytest -m postgres
#   bash .ci/postgres.sh stop "$CAMPAIGNSYNC_TEST_POSTGRES_DIR"
#
# Installs Debian's postgresql package when no server is found and we are root. The server
# refuses to run as root, so as root it runs as the `postgres` user. It listens on 127.0.0.1
# only, with password authentication; the password is made up here and lives only in the
# exported URL. Everything it writes stays in one temporary folder, removed by `stop`.
set -euo pipefail

find_bin() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -z "$found" ]] && command -v initdb >/dev/null; then
        found=$(dirname "$(command -v initdb)")
    fi
    echo "$found"
}

as_server_user() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

start() {
    local bin folder port password
    bin=$(find_bin)
    if [[ -z "$bin" ]]; then
        if [[ $(id -u) -ne 0 ]]; then
            echo "PostgreSQL is not installed: run 'sudo apt-get install postgresql' first." >&2
            exit 1
        fi
        apt-get update >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql >&2
        bin=$(find_bin)
    fi
    folder=$(mktemp -d /tmp/campaignsync-pg.XXXXXX)
    # A start that fails half-way leaves no server running and no folder behind.
    trap 'stop "$folder"; rm -rf "$folder"' ERR
    chmod 755 "$folder"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$folder"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    printf '%s\n' "$password" >"$folder/password"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$folder/password"
    as_server_user "$bin/initdb" --pgdata="$folder/data" --username=campaignsync \
        --pwfile="$folder/password" --auth=scram-sha-256 --encoding=UTF8 >&2
    rm -f "$folder/password"
    printf 'host all all 127.0.0.1/32 scram-sha-256\n' >"$folder/data/pg_hba.conf"
    as_server_user "$bin/pg_ctl" --pgdata="$folder/data" --log="$folder/server.log" --wait \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$folder'" \
        start >&2
    local url="postgresql://campaignsync:$password@127.0.0.1:$port"
    PGPASSWORD=$password as_server_user "$bin/createdb" --host=127.0.0.1 --port="$port" \
        --username=campaignsync campaignsync >&2
    trap - ERR
    echo "export CAMPAIGNSYNC_TEST_POSTGRES_URL='$url/campaignsync'"
    echo "export CAMPAIGNSYNC_TEST_POSTGRES_DIR='$folder'"
}

stop() {
    local folder=${1:?usage: postgres.sh stop FOLDER}
    [[ -d "$folder/data" ]] || exit 0
    as_server_user "$(find_bin)/pg_ctl" --pgdata="$folder/data" --mode=fast --wait stop >&2 || true
    rm -rf "$folder"
}

case "${1:-}" in
start) start ;;
stop) stop "${2:-}" ;;
*)
    echo "usage: $0 start | stop FOLDER" >&2
    exit 2
    ;;
esac
