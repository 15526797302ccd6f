"""Browser sessions: an HMAC-signed token the server issues, never a client-chosen id.

``POST /api/conversations`` without a valid session issues one: a cookie
(``HttpOnly``, ``SameSite=Lax``, ``Secure`` over HTTPS) and the same token in the
JSON (``session``), so the widget iframe and API clients can send it back as the
``X-Frontdesk-Session`` header. Limits and the anonymous budget are kept per
session (and per client address, which a client cannot choose either).

Token: ``<id>.<issued unix seconds>.<signature>``; the signature is
HMAC-SHA256 over ``<id>.<issued>`` with the session secret (``FRONTDESK_SESSION_SECRET``,
else a key derived from the admin token, so every worker agrees without setup).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request, Response

from frontdesk.settings import Settings

SESSION_COOKIE = "frontdesk_session"
SESSION_HEADER = "X-Frontdesk-Session"
MAX_AGE_SECONDS = 30 * 24 * 3600
_MAX_TOKEN_CHARS = 128


def session_secret(settings: Settings) -> bytes:
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value().encode()
    admin = settings.admin_token.get_secret_value().encode()
    return hmac.new(admin, b"frontdesk-session-v1", hashlib.sha256).digest()


@dataclass(frozen=True)
class SessionTokens:
    secret: bytes
    max_age: int = MAX_AGE_SECONDS
    clock: Callable[[], float] = field(default=time.time)

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self.secret, payload.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:24]).decode().rstrip("=")

    def issue(self) -> tuple[str, str]:
        """A new (session id, token)."""
        sid = secrets.token_urlsafe(16)
        payload = f"{sid}.{int(self.clock())}"
        return sid, f"{payload}.{self._sign(payload)}"

    def verify(self, token: str) -> str | None:
        """The session id of a valid, unexpired token, else None."""
        if len(token) > _MAX_TOKEN_CHARS:
            return None
        parts = token.split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        sid, issued, signature = parts
        if not hmac.compare_digest(signature, self._sign(f"{sid}.{issued}")):
            return None
        age = self.clock() - int(issued)
        if age < -60 or age > self.max_age:
            return None
        return sid


def tokens_for(request: Request) -> SessionTokens:
    settings: Settings = request.app.state.services.settings
    return SessionTokens(session_secret(settings))


def presented_token(request: Request) -> str | None:
    """The header wins over the cookie (the widget iframe may not get third-party cookies)."""
    return request.headers.get(SESSION_HEADER) or request.cookies.get(SESSION_COOKIE)


def request_session(request: Request) -> str | None:
    token = presented_token(request)
    return None if token is None else tokens_for(request).verify(token)


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=MAX_AGE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
