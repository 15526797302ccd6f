"""Authentication dependencies: ``Authorization: Bearer <key>`` with a role check.

Keys are the ``fd_...`` API keys of :mod:`frontdesk.auth`; the settings admin
token is accepted as an admin key for every tenant. Customer-facing chat
endpoints stay anonymous.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from frontdesk.api.client_address import TrustedProxies, client_address
from frontdesk.auth.keys import Principal, Role, admin_principal, matches_admin_token
from frontdesk.auth.throttle import FailureCounter, MemoryFailureCounter, RedisFailureCounter
from frontdesk.errors import ConfigError, Forbidden, RateLimited, Unauthorized
from frontdesk.escalation.build import Escalation


def get_escalation(request: Request) -> Escalation:
    services = request.app.state.services
    escalation = getattr(services, "escalation", None)
    if not isinstance(escalation, Escalation):
        raise ConfigError("the escalation feature is not wired into this app")
    return escalation


async def _escalation_dependency(request: Request) -> Escalation:
    return get_escalation(request)  # async: a sync dependency costs a thread-pool hop


EscalationDep = Annotated[Escalation, Depends(_escalation_dependency)]


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _throttle(request: Request) -> FailureCounter:
    """The failed-authentication counter: Redis when the app has it, else one per app."""
    services = request.app.state.services
    settings = services.settings
    redis = getattr(services, "redis", None)
    if redis is not None:
        return RedisFailureCounter(
            redis, settings.auth_failure_limit, settings.auth_failure_window_seconds
        )
    counter = getattr(request.app.state, "auth_failures", None)
    if not isinstance(counter, MemoryFailureCounter):
        counter = MemoryFailureCounter(
            settings.auth_failure_limit, settings.auth_failure_window_seconds
        )
        request.app.state.auth_failures = counter
    return counter


def _address(request: Request) -> str:
    settings = request.app.state.services.settings
    trusted = TrustedProxies.parse(settings.trusted_proxies, settings.trusted_proxy_header)
    return client_address(request, trusted)


async def _check(request: Request, token: str) -> Principal | None:
    admin_token = request.app.state.services.settings.admin_token.get_secret_value()
    if matches_admin_token(token, admin_token):
        return admin_principal()
    return await get_escalation(request).api_keys.authenticate(token)


async def authenticate(request: Request) -> Principal:
    """The caller's principal; 401 for a bad key, 429 after too many from one address."""
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    throttle, address = _throttle(request), _address(request)
    wait = await throttle.blocked_for(address)
    if wait is not None:
        raise RateLimited(
            "too many failed authentications from this address; try again later",
            retry_after=wait,
        )
    principal = await _check(request, token)
    if principal is None:
        await throttle.record_failure(address)
        raise Unauthorized("invalid or revoked API key")
    return principal


async def identify(request: Request) -> Principal | None:
    """The principal of a valid key, else None (anonymous), never raising.

    For routes that serve anonymous callers too (OpenAI clients always send some key): a
    wrong key is not counted as a failure, and an address that is blocked for failed
    authentications is not checked at all, so this cannot be used to guess keys.
    """
    token = bearer_token(request)
    if token is None or await _throttle(request).blocked_for(_address(request)) is not None:
        return None
    return await _check(request, token)


def require_role(*roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency admitting callers with one of ``roles`` (admin is always admitted)."""
    allowed = set(roles) | {"admin"}

    async def dependency(request: Request) -> Principal:
        principal = await authenticate(request)
        if principal.role not in allowed:
            raise Forbidden(f"this needs the {' or '.join(sorted(allowed))} role")
        return principal

    return dependency


AgentDep = Annotated[Principal, Depends(require_role("agent"))]
AdminDep = Annotated[Principal, Depends(require_role("admin"))]
