"""The HMAC user hash (Intercom and Chatwoot style): ``hex(HMAC-SHA256(secret, user_id))``.

The company's backend computes it when it renders the page; only the user id is signed, so
nothing else the page says about the visitor (email, plan) is trusted. It does not expire:
prefer a short-lived JWT where the backend can mint one.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from frontdesk.identity.config import HmacConfig
from frontdesk.identity.model import Anonymous, Identity, Verification

MAX_USER_ID_CHARS = 256
_HEX = re.compile(r"[0-9a-f]{64}")


def user_hash(secret: str, user_id: str) -> str:
    """What the company's backend computes for ``user_id``."""
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


class UserHashVerifier:
    def __init__(self, tenant: str, config: HmacConfig) -> None:
        self.tenant = tenant
        self._secret = config.secret

    def verify(self, user_id: str | None, presented_hash: str | None) -> Verification:
        if not user_id or not presented_hash:
            return Anonymous("missing", "the user id and its hash are both needed")
        if len(user_id) > MAX_USER_ID_CHARS or not user_id.isprintable():
            return Anonymous("malformed", "the user id is too long or not printable")
        digest = presented_hash.strip().lower()
        if not _HEX.fullmatch(digest):
            return Anonymous("malformed", "the hash is not 64 hex digits")
        expected = user_hash(self._secret.get_secret_value(), user_id)
        if not hmac.compare_digest(expected, digest):
            return Anonymous("bad_signature", "the hash does not match the user id")
        return Identity(tenant=self.tenant, user_id=user_id, method="hmac", claims={"sub": user_id})
