"""The acting-for token: the runtime's word to the company's API about whose data a call is.

A short-lived JWT (HS256) signed with the tenant's action secret, minted by the runtime for
one call of one action on behalf of one verified customer; the model never sees it, and it is
never stored or logged. The company's API checks it with :func:`verify_acting_for` (or any
JWT library) and serves only that customer's data::

    {"iss": "frontdesk", "aud": "company-api", "sub": "<user id>", "tenant": "default",
     "act": "<action name>", "scope": "action:<action name>", "iat": ..., "exp": iat + 60,
     "jti": "<call id>", "email": "<verified email, when known>"}
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from pydantic import SecretStr

from frontdesk.identity.model import Identity

ISSUER = "frontdesk"
ALGORITHM = "HS256"


@dataclass(frozen=True)
class ActingFor:
    secret: SecretStr
    audience: str = "company-api"
    ttl_seconds: int = 60
    clock: Callable[[], float] = time.time

    def mint(self, identity: Identity, action: str, call_id: str) -> str:
        now = int(self.clock())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": self.audience,
            "sub": identity.user_id,
            "tenant": identity.tenant,
            "act": action,
            "scope": f"action:{action}",
            "iat": now,
            "exp": now + self.ttl_seconds,
            "jti": call_id,
        }
        if identity.email:
            claims["email"] = identity.email
        return jwt.encode(claims, self.secret.get_secret_value(), algorithm=ALGORITHM)


def verify_acting_for(
    token: str,
    secret: str,
    *,
    audience: str = "company-api",
    action: str | None = None,
    leeway_seconds: int = 10,
) -> Mapping[str, Any]:
    """The claims of a valid acting-for token (for the company's API); raises
    ``jwt.InvalidTokenError`` otherwise, including a token scoped to another action."""
    claims: dict[str, Any] = jwt.decode(
        token,
        secret,
        algorithms=[ALGORITHM],
        audience=audience,
        issuer=ISSUER,
        leeway=leeway_seconds,
        options={"require": ["exp", "iat", "sub", "act", "jti"]},
    )
    if action is not None and claims.get("act") != action:
        raise jwt.InvalidTokenError(f"token is scoped to {claims.get('act')!r}, not {action!r}")
    return claims
