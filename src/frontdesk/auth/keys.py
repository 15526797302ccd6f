"""API keys: random ``fd_`` tokens stored only as sha256 hashes, with a role and a tenant."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal, cast

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from frontdesk.errors import ValidationFailed
from frontdesk.memory.dialects import WRITE_OPTION
from frontdesk.memory.schema import api_keys

Role = Literal["admin", "agent", "client"]
ROLES: tuple[Role, ...] = ("admin", "agent", "client")
TOKEN_PREFIX = "fd_"
DISPLAY_PREFIX_CHARS = 10


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling. ``tenant_id`` None means every tenant (the settings admin token)."""

    key_id: str
    name: str
    role: Role
    tenant_id: str | None

    def can_see(self, tenant_id: str) -> bool:
        return self.tenant_id is None or self.tenant_id == tenant_id


@dataclass(frozen=True, slots=True)
class KeyInfo:
    id: str
    tenant_id: str
    name: str
    role: Role
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class CreatedKey:
    info: KeyInfo
    token: str
    """The secret, shown once: only its hash is stored."""


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def admin_principal() -> Principal:
    return Principal(key_id="settings-admin-token", name="admin", role="admin", tenant_id=None)


def matches_admin_token(token: str, admin_token: str) -> bool:
    return bool(admin_token) and hmac.compare_digest(token.encode(), admin_token.encode())


def _info(row: object) -> KeyInfo:
    r = cast("dict[str, object]", row)
    return KeyInfo(
        id=cast(str, r["id"]),
        tenant_id=cast(str, r["tenant_id"]),
        name=cast(str, r["name"]),
        role=cast(Role, r["role"]),
        prefix=cast(str, r["prefix"]),
        created_at=cast(datetime, r["created_at"]),
        last_used_at=cast("datetime | None", r["last_used_at"]),
        revoked_at=cast("datetime | None", r["revoked_at"]),
    )


class ApiKeyStore:
    """Keys in the ``api_keys`` table (same engine as the conversation store)."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        cache_seconds: float = 10.0,
    ) -> None:
        self._engine = engine
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        """key hash → (expiry, principal): a revoked key stops working within cache_seconds
        on other workers (at once on the worker that revoked it)."""

    async def create(self, *, name: str, role: str, tenant_id: str = "default") -> CreatedKey:
        if role not in ROLES:
            raise ValidationFailed(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
        if not name.strip():
            raise ValidationFailed("a key needs a name")
        token = new_token()
        values: dict[str, object] = {
            "id": str(uuid.uuid4()),
            "tenant_id": tenant_id,
            "name": name.strip(),
            "role": role,
            "prefix": token[:DISPLAY_PREFIX_CHARS],
            "key_hash": hash_token(token),
            "created_at": self._clock(),
            "last_used_at": None,
            "revoked_at": None,
        }
        async with self._writer.begin() as conn:
            await conn.execute(insert(api_keys).values(values))
        return CreatedKey(info=_info(values), token=token)

    async def authenticate(self, token: str) -> Principal | None:
        """The principal of a live key, or None for an unknown or revoked one."""
        if not token.startswith(TOKEN_PREFIX):
            return None
        digest = hash_token(token)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        query = select(api_keys).where(api_keys.c.key_hash == digest)
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        principal = None
        if row is not None and row["revoked_at"] is None:
            principal = Principal(
                key_id=row["id"], name=row["name"], role=row["role"], tenant_id=row["tenant_id"]
            )
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[digest] = (now + self._cache_seconds, principal)
        return principal

    async def touch(self, key_id: str) -> None:
        async with self._writer.begin() as conn:
            await conn.execute(
                update(api_keys).where(api_keys.c.id == key_id).values(last_used_at=self._clock())
            )

    async def list_keys(self, tenant_id: str | None = None) -> list[KeyInfo]:
        query = select(api_keys).order_by(api_keys.c.created_at)
        if tenant_id is not None:
            query = query.where(api_keys.c.tenant_id == tenant_id)
        async with self._engine.connect() as conn:
            return [_info(dict(r)) for r in (await conn.execute(query)).mappings()]

    async def revoke(self, key_id: str) -> bool:
        async with self._writer.begin() as conn:
            result = await conn.execute(
                update(api_keys)
                .where(api_keys.c.id == key_id)
                .where(api_keys.c.revoked_at.is_(None))
                .values(revoked_at=self._clock())
            )
        self._cache.clear()
        return result.rowcount > 0
