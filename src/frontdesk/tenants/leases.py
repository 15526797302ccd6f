"""Requests hold their tenant's bot until the response is sent (streams included).

:class:`BotLeases` is a pure ASGI middleware: it gives each request a list of release
callbacks and calls them once the app has finished with the request, body sent, so a
bot replaced by a config change (or a deleted tenant's bot) is closed only after the
turns streaming on it end (:mod:`frontdesk.tenants.registry`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)
LEASES = "frontdesk_bot_leases"


class BotLeases:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        releases: list[Callable[[], None]] = []
        scope.setdefault("state", {})[LEASES] = releases
        try:
            await self.app(scope, receive, send)
        finally:
            for release in releases:
                try:
                    release()
                except Exception:
                    log.exception("releasing a tenant bot failed")


def hold(connection: HTTPConnection, release: Callable[[], None]) -> None:
    """Release when the request ends; at once outside :class:`BotLeases` (nothing to hold)."""
    state = connection.scope.get("state")
    releases = state.get(LEASES) if isinstance(state, dict) else None
    if isinstance(releases, list):
        releases.append(release)
    else:
        release()
