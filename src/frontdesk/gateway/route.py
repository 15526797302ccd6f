"""``POST /v1/chat/completions`` for gateway models as pure ASGI, in front of FastAPI.

FastAPI's per-request work on this route (dependency solving, the tenant and client
dependencies that the gateway does not use, the API key checked three times) was about
a fifth of a gateway request's CPU. :class:`GatewayRoute` serves the plain case itself:
no site key and no query string, a JSON body that the route's own model
(:class:`~frontdesk.api.openai_compat.OAIChatRequest`) accepts, a gateway model, and a
valid client or admin key of the default tenant. The key is checked once.

Everything else goes to the app unchanged, with the body it already read replayed, so
every refusal (400 malformed JSON, 422, 401, 403, 404, 429 for a blocked address, a
tenant's key, the bot model) comes from the same code as before: nothing that the fast
path looks at before deciding has a side effect. Once it has decided, the
:class:`~frontdesk.errors.FrontdeskError` (and database) errors it meets (429 over a
limit, 422 for tools, 502/503 from the upstream) are rendered by the app's own
exception handlers; anything else propagates to the app's 500 handler, as before.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from frontdesk.api.auth_deps import identify
from frontdesk.api.openai_compat import OAIChatRequest
from frontdesk.auth.keys import Principal
from frontdesk.gateway.api import GATEWAY_ROLES, serve_completion
from frontdesk.gateway.service import Gateway
from frontdesk.services import Services
from frontdesk.tenants.config import DEFAULT_TENANT
from frontdesk.tenants.resolve import SITE_HEADER

PATH = "/v1/chat/completions"
_SITE_HEADER = SITE_HEADER.lower().encode("latin-1")
Handler = Callable[[Request, Exception], Awaitable[Response]]


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` that first hands out ``messages`` (already read) again."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def _json_content(content_type: bytes | None) -> bool:
    """``application/json``, which FastAPI reads as JSON (it refuses a body without a
    content type; other JSON types are left to it)."""
    if content_type is None:
        return False
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json"


class GatewayRoute:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._route: object | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != PATH
            or scope["method"] != "POST"
            or scope.get("query_string")
        ):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        chunks: list[bytes] = []
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":  # the client left (or a 413): the app sees it
                await self.app(scope, _replay(messages, receive), send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        replayed = _replay(messages, receive)
        request = Request(scope, replayed)
        chosen = await self._choose(scope, request, b"".join(chunks))
        if chosen is None:
            await self.app(scope, replayed, send)
            return
        await self._serve(scope, request, *chosen, send)

    async def _choose(
        self, scope: Scope, request: Request, raw: bytes
    ) -> tuple[OAIChatRequest, Principal, Gateway] | None:
        """The body, principal and gateway when this request is the fast path's, else None.
        Nothing here has a side effect: the app answers whatever is refused."""
        headers = dict(scope["headers"])
        if _SITE_HEADER in headers or not _json_content(headers.get(b"content-type")):
            return None
        services: Services = scope["app"].state.services
        gateway = services.gateway
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            return None  # the app answers 400, as for any body it cannot read
        if gateway is None or not isinstance(data, dict):
            return None
        model = data.get("model")
        if not isinstance(model, str) or not gateway.has(model):
            return None
        try:
            body = OAIChatRequest.model_validate(data)
        except ValidationError:
            return None
        try:
            principal = await identify(request)  # None: invalid, or a blocked address
        except Exception:  # the app checks again and answers (a busy database: 503)
            return None
        if principal is None or principal.role not in GATEWAY_ROLES:
            return None
        tenant = principal.tenant_id
        if tenant is not None and tenant != DEFAULT_TENANT and services.tenants is not None:
            return None  # a tenant's key: the app resolves its tenant (no gateway there)
        return body, principal, gateway

    async def _serve(
        self,
        scope: Scope,
        request: Request,
        body: OAIChatRequest,
        principal: Principal,
        gateway: Gateway,
        send: Send,
    ) -> None:
        scope["route"] = self._app_route(scope)  # the access log's and metrics' route label
        idempotency_key = request.headers.get("idempotency-key")
        response: Response
        try:
            response = await serve_completion(body, principal, idempotency_key, gateway)
        except Exception as exc:
            handler = _handler_for(scope["app"], exc)
            if handler is None:
                raise  # the app's 500 handler answers, as it does for the route
            response = await handler(request, exc)
        await response(scope, request.receive, send)

    def _app_route(self, scope: Scope) -> object:
        """The app's route for ``PATH`` (looked up once), else a stand-in with its path:
        FastAPI 0.165 keeps an included router's routes inside an ``_IncludedRouter``, so
        the app's own list has none of them (and every request searched it in vain)."""
        if self._route is None:
            self._route = _ROUTE_LABEL
            for route in scope["app"].router.routes:
                if getattr(route, "path", None) == PATH and "POST" in getattr(route, "methods", ()):
                    self._route = route
                    break
        return self._route


@dataclass(frozen=True, slots=True)
class _RouteLabel:
    """What the access log and the metrics read off ``scope["route"]``."""

    path: str
    methods: frozenset[str]


_ROUTE_LABEL = _RouteLabel(PATH, frozenset({"POST"}))


def _handler_for(app: Any, exc: Exception) -> Handler | None:
    """The app's exception handler for ``exc`` (by class, most specific first), leaving out
    the catch-all ones, which run outside the routes (Starlette's ServerErrorMiddleware)."""
    handlers: dict[Any, Handler] = app.exception_handlers
    for cls in type(exc).__mro__:
        if cls in (Exception, BaseException):
            return None
        handler = handlers.get(cls)
        if handler is not None:
            return handler
    return None
