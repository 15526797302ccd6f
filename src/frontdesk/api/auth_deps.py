"""Authentication dependencies: ``Authorization: Bearer <key>`` with a role check.

Keys are the ``fd_...`` API keys of :mod:`frontdesk.auth`; the settings admin
token is accepted as an admin key for every tenant. Customer-facing chat
endpoints stay anonymous.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from frontdesk.auth.keys import Principal, Role, admin_principal, matches_admin_token
from frontdesk.errors import ConfigError, Forbidden, Unauthorized
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


async def authenticate(request: Request) -> Principal:
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("missing API key: send 'Authorization: Bearer <key>'")
    admin_token = request.app.state.services.settings.admin_token.get_secret_value()
    if matches_admin_token(token, admin_token):
        return admin_principal()
    principal = await get_escalation(request).api_keys.authenticate(token)
    if principal is None:
        raise Unauthorized("invalid or revoked API key")
    return principal


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
