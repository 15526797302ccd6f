"""Verified customer identity: who the visitor is, as the company's own backend signed it.

The company's backend signs the signed-in customer (a short-lived JWT, or an HMAC user hash as
Intercom and Chatwoot do); the web chat and widget pass it on each request; Frontdesk verifies
it per request and per tenant (:class:`IdentityVerifier`) and binds the conversation to that
customer (:mod:`frontdesk.identity.binding`). Anything unsigned, expired or tampered with is
anonymous, with a reason code in the logs (never the token).
"""

from frontdesk.identity.config import (
    HmacConfig,
    IdentityConfig,
    IdentitySection,
    JwtConfig,
    identity_config_for,
)
from frontdesk.identity.model import Anonymous, Identity, Presented, Verification
from frontdesk.identity.verifier import IdentityVerifier

__all__ = [
    "Anonymous",
    "HmacConfig",
    "Identity",
    "IdentityConfig",
    "IdentitySection",
    "IdentityVerifier",
    "JwtConfig",
    "Presented",
    "Verification",
    "identity_config_for",
]
