#!/bin/sh
# The image's entry point.
#   serve [ARGS]  migrate, ingest $FRONTDESK_INGEST_ON_START (idempotent), then serve (default)
#   migrate       migrate and ingest only (a Kubernetes Job, a compose one-shot); then exit
#   serve-only    serve without touching the schema (workers of a deployment whose Job migrates)
#   anything else is run as a command, e.g. `frontdesk keys create --role agent --name alice`
set -eu

# A database that is still starting (compose without health conditions, a pod beside its
# database) is waited for, up to $FRONTDESK_DATABASE_WAIT seconds (default 60; 0: no wait).
wait_for_database() {
    case "${FRONTDESK_DATABASE_URL:-}" in
        postgresql*) ;;
        *) return 0 ;;
    esac
    python3 - "${FRONTDESK_DATABASE_WAIT:-60}" <<'PY'
import os, sys, time
import psycopg
from sqlalchemy.engine import make_url

url = make_url(os.environ["FRONTDESK_DATABASE_URL"]).set(drivername="postgresql")
dsn = url.render_as_string(hide_password=False)
deadline = time.monotonic() + float(sys.argv[1])
while True:
    try:
        psycopg.connect(dsn, connect_timeout=3).close()
        break
    except psycopg.OperationalError as exc:
        if time.monotonic() >= deadline:
            sys.exit(f"the database is not reachable: {exc}")
        print(f"waiting for the database: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        time.sleep(1)
PY
}

prepare() {
    wait_for_database
    frontdesk db upgrade
    if [ -n "${FRONTDESK_INGEST_ON_START:-}" ]; then
        # word splitting on purpose: several paths separated by spaces
        # shellcheck disable=SC2086
        frontdesk ingest ${FRONTDESK_INGEST_ON_START}
    fi
}

command="${1:-serve}"
[ "$#" -gt 0 ] && shift
case "$command" in
    serve)
        prepare
        exec frontdesk serve --no-upgrade "$@"
        ;;
    migrate)
        prepare
        ;;
    serve-only)
        wait_for_database
        exec frontdesk serve --no-upgrade "$@"
        ;;
    *)
        exec "$command" "$@"
        ;;
esac
