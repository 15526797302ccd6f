#!/bin/sh
# PostgreSQL with pgvector, started like the official image: on an empty data directory
# ($PGDATA) initdb with superuser $POSTGRES_USER / $POSTGRES_PASSWORD (scram-sha-256 over TCP,
# peer on the local socket) and create database $POSTGRES_DB; then run postgres as user
# postgres, listening on every interface.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"

as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        setpriv --reuid postgres --regid postgres --init-groups "$@"
    else
        "$@"
    fi
}

if [ "${1:-postgres}" != "postgres" ]; then
    exec "$@"
fi
[ "$#" -gt 0 ] && shift

if [ "$(id -u)" = 0 ]; then
    mkdir -p "$PGDATA" /run/postgresql
    chown postgres:postgres "$PGDATA" /run/postgresql
    chmod 700 "$PGDATA"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
    if [ -z "${POSTGRES_PASSWORD:-}" ]; then
        echo "postgres entrypoint: set POSTGRES_PASSWORD" >&2
        exit 1
    fi
    pwfile="$(mktemp)"
    printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    chown postgres "$pwfile" 2>/dev/null || true
    as_postgres "$BIN/initdb" -D "$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" \
        --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256
    rm -f "$pwfile"
    printf 'host all all all scram-sha-256\n' >>"$PGDATA/pg_hba.conf"
    as_postgres "$BIN/pg_ctl" -D "$PGDATA" -w -o "-c listen_addresses=''" start
    if [ "$POSTGRES_DB" != "postgres" ]; then
        as_postgres "$BIN/createdb" -U "$POSTGRES_USER" "$POSTGRES_DB"
    fi
    as_postgres "$BIN/pg_ctl" -D "$PGDATA" -w -m fast stop
fi

if [ "$(id -u)" = 0 ]; then
    exec setpriv --reuid postgres --regid postgres --init-groups \
        "$BIN/postgres" -D "$PGDATA" -c listen_addresses='*' -c jit=off "$@"
fi
exec "$BIN/postgres" -D "$PGDATA" -c listen_addresses='*' -c jit=off "$@"
