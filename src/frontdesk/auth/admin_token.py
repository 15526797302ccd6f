"""When the settings admin token is too weak to start with.

The dev default (``dev-admin-token``) is accepted only in development or test mode on a
loopback address. Any other token needs 32 characters or more and some variety (at least
10 distinct characters, no run of one character over a quarter of it): a token that can
be guessed is an open admin console on the internet.
"""

from __future__ import annotations

import ipaddress

DEV_ADMIN_TOKEN = "dev-admin-token"
MIN_LENGTH = 32
MIN_DISTINCT = 10
_HINT = 'generate one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def admin_token_problem(token: str, *, env: str, host: str) -> str | None:
    """Why start-up must refuse ``token`` (None when it is acceptable)."""
    if token == DEV_ADMIN_TOKEN:
        if env == "production":
            return f"FRONTDESK_ADMIN_TOKEN must be set to a secret value in production; {_HINT}"
        if not is_loopback(host):
            return (
                f"FRONTDESK_ADMIN_TOKEN is the development default and the server would listen "
                f"on {host!r}, not a loopback address; set a secret token ({_HINT})"
            )
        return None
    if len(token) < MIN_LENGTH:
        return f"FRONTDESK_ADMIN_TOKEN must be at least {MIN_LENGTH} characters; {_HINT}"
    most_common = max(token.count(c) for c in set(token))
    if len(set(token)) < MIN_DISTINCT or most_common > len(token) // 4:
        return f"FRONTDESK_ADMIN_TOKEN is too repetitive to be secret; {_HINT}"
    return None
