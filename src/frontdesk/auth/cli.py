"""Functions behind ``frontdesk keys ...`` (the CLI module wires them to commands)."""

from __future__ import annotations

import asyncio

from frontdesk.auth.keys import ApiKeyStore, CreatedKey, KeyInfo
from frontdesk.memory.dialects import create_engine
from frontdesk.memory.migrate import check_at_head


async def create_key_async(
    database_url: str, *, role: str, name: str, tenant_id: str = "default"
) -> CreatedKey:
    engine = create_engine(database_url)
    try:
        await check_at_head(engine)
        return await ApiKeyStore(engine).create(name=name, role=role, tenant_id=tenant_id)
    finally:
        await engine.dispose()


def create_key(
    database_url: str, *, role: str, name: str, tenant_id: str = "default"
) -> CreatedKey:
    """Create a key; the returned ``token`` is the only time the secret is visible."""
    return asyncio.run(create_key_async(database_url, role=role, name=name, tenant_id=tenant_id))


async def _list(database_url: str) -> list[KeyInfo]:
    engine = create_engine(database_url)
    try:
        await check_at_head(engine)
        return await ApiKeyStore(engine).list_keys()
    finally:
        await engine.dispose()


def list_keys(database_url: str) -> list[KeyInfo]:
    return asyncio.run(_list(database_url))


async def _revoke(database_url: str, key_id: str) -> bool:
    engine = create_engine(database_url)
    try:
        await check_at_head(engine)
        return await ApiKeyStore(engine).revoke(key_id)
    finally:
        await engine.dispose()


def revoke_key(database_url: str, key_id: str) -> bool:
    return asyncio.run(_revoke(database_url, key_id))
