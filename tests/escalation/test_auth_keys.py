"""API keys on a real SQLite database: only hashes are stored; roles, tenants, revocation."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from frontdesk.auth.keys import ApiKeyStore, admin_principal, matches_admin_token
from frontdesk.errors import ValidationFailed
from frontdesk.memory.dialects import create_engine
from frontdesk.memory.schema import api_keys
from frontdesk.settings import Settings


@pytest.fixture
async def keys(migrated: Settings) -> AsyncIterator[ApiKeyStore]:
    engine = create_engine(migrated.resolved_database_url)
    try:
        yield ApiKeyStore(engine)
    finally:
        await engine.dispose()


async def test_a_key_is_shown_once_and_stored_as_its_hash(
    keys: ApiKeyStore, migrated: Settings
) -> None:
    created = await keys.create(name="alice", role="agent", tenant_id="acme")
    assert created.token.startswith("fd_")
    assert len(created.token) > 40
    assert created.info.prefix == created.token[:10]
    engine = create_engine(migrated.resolved_database_url)
    try:
        async with engine.connect() as conn:
            row = (await conn.execute(select(api_keys))).mappings().one()
    finally:
        await engine.dispose()
    assert row["key_hash"] == hashlib.sha256(created.token.encode()).hexdigest()
    assert created.token not in {str(v) for v in row.values()}
    principal = await keys.authenticate(created.token)
    assert principal is not None
    assert (principal.name, principal.role, principal.tenant_id) == ("alice", "agent", "acme")
    assert principal.can_see("acme")
    assert not principal.can_see("other")


async def test_unknown_wrong_and_revoked_keys_are_refused(keys: ApiKeyStore) -> None:
    created = await keys.create(name="bob", role="client")
    assert await keys.authenticate(created.token + "x") is None
    assert await keys.authenticate("not-even-prefixed") is None
    assert await keys.revoke(created.info.id)
    assert not await keys.revoke(created.info.id)
    assert await keys.authenticate(created.token) is None
    [info] = await keys.list_keys()
    assert info.revoked_at is not None


async def test_roles_and_names_are_validated(keys: ApiKeyStore) -> None:
    with pytest.raises(ValidationFailed, match="unknown role"):
        await keys.create(name="x", role="superuser")
    with pytest.raises(ValidationFailed):
        await keys.create(name="  ", role="agent")


def test_the_settings_admin_token_is_an_admin_of_every_tenant() -> None:
    assert matches_admin_token("s3cret", "s3cret")
    assert not matches_admin_token("s3cre", "s3cret")
    assert not matches_admin_token("", "")
    admin = admin_principal()
    assert admin.role == "admin"
    assert admin.can_see("any-tenant")
