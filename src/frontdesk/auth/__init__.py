"""API keys with roles and tenants (admin, agent, client)."""

from frontdesk.auth.keys import (
    ROLES,
    ApiKeyStore,
    CreatedKey,
    KeyInfo,
    Principal,
    Role,
    hash_token,
    new_token,
)

__all__ = [
    "ROLES",
    "ApiKeyStore",
    "CreatedKey",
    "KeyInfo",
    "Principal",
    "Role",
    "hash_token",
    "new_token",
]
