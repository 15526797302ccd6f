"""Signed sample identities: what the company's backend would hand the chat page."""

from __future__ import annotations

import time

import jwt

from frontdesk.demo.northwind_data import sample_accounts
from frontdesk.identity.user_hash import user_hash

ISSUER = "https://app.northwind.example"
AUDIENCE = "frontdesk"


def sample_token(secret: str, user_id: str, *, minutes: int = 30, now: float | None = None) -> str:
    """A short-lived HS256 identity token for one of the sample customers."""
    account = sample_accounts().get(user_id)
    if account is None:
        raise KeyError(f"no sample customer {user_id!r} (try u_1001, u_2002, u_3003)")
    issued = int(time.time() if now is None else now)
    claims = {
        "sub": account.user_id,
        "email": account.email,
        "name": account.name,
        "plan": account.plan,
        "workspace": account.workspace,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": issued,
        "exp": issued + minutes * 60,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def sample_user_hash(secret: str, user_id: str) -> str:
    return user_hash(secret, user_id)
