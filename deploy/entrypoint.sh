#!/bin/sh
# The image's entry point.
#   serve [ARGS]  migrate, ingest $FRONTDESK_INGEST_ON_START (idempotent), then serve (default)
#   migrate       migrate and ingest only (a Kubernetes Job, a compose one-shot); then exit
#   serve-only    serve without touching the schema (workers of a deployment whose Job migrates)
#   anything else is run as a command, e.g. `frontdesk keys create --role agent --name alice`
set -eu

prepare() {
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
        exec frontdesk serve --no-upgrade "$@"
        ;;
    *)
        exec "$command" "$@"
        ;;
esac
