"""One tenant's identity verification, per request, with the reason logged when it fails."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from frontdesk.identity.config import IdentityConfig
from frontdesk.identity.model import Anonymous, Presented, Verification
from frontdesk.identity.user_hash import UserHashVerifier

if TYPE_CHECKING:
    from frontdesk.identity.jwt_tokens import JwtVerifier

log = logging.getLogger(__name__)


class IdentityVerifier:
    """Verifies what a request presented: a JWT, or a user id with its HMAC hash.

    Never raises for anything a client sent: the result is an
    :class:`~frontdesk.identity.model.Identity` or an
    :class:`~frontdesk.identity.model.Anonymous` with a reason code. A rejection is logged
    (reason, tenant, method; never the token or the hash).
    """

    def __init__(
        self,
        config: IdentityConfig | None,
        *,
        tenant: str = "default",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        tenant = config.tenant if config is not None else tenant
        self.tenant = tenant
        self._jwt: JwtVerifier | None = None
        if config is not None and config.jwt is not None:
            from frontdesk.identity.jwt_tokens import JwtVerifier  # PyJWT + cryptography: ~90 ms

            self._jwt = JwtVerifier(tenant, config.jwt, clock=clock)
        self._hmac = (
            UserHashVerifier(tenant, config.hmac)
            if config is not None and config.hmac is not None
            else None
        )

    @property
    def enabled(self) -> bool:
        return self._jwt is not None or self._hmac is not None

    def verify(self, presented: Presented) -> Verification:
        if presented.empty:
            return Anonymous("missing")  # the ordinary anonymous visitor: not logged
        if presented.token:
            method = "jwt"
            result = (
                self._jwt.verify(presented.token)
                if self._jwt is not None
                else Anonymous("not_configured", "this tenant does not accept JWT identities")
            )
        else:
            method = "hmac"
            result = (
                self._hmac.verify(presented.user_id, presented.user_hash)
                if self._hmac is not None
                else Anonymous("not_configured", "this tenant does not accept user hashes")
            )
        if isinstance(result, Anonymous):
            log.info(
                "identity rejected: the visitor is anonymous",
                extra={
                    "identity_reason": result.reason,
                    "identity_detail": result.detail,
                    "identity_method": method,
                    "tenant": self.tenant,
                },
            )
        return result
