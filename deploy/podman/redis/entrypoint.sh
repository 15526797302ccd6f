#!/bin/sh
# redis-server without a config file listens on every interface but, with protected mode on,
# refuses every client that is not on loopback: turn it off as the official image does.
set -eu
if [ "${1:-}" = "redis-server" ]; then
    shift
    exec redis-server --protected-mode no "$@"
fi
exec "$@"
