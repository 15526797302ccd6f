"""The privacy admin routes (scoped by the key's tenant) and the retention job the server
runs on its own."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import update

from frontdesk.auth.cli import create_key
from frontdesk.memory.schema import conversations
from frontdesk.memory.sql import SqlMemoryStore
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from tests.apphelpers import Running, new_conversation, send

ADMIN = {"Authorization": "Bearer dev-admin-token"}


def with_user(client: httpx.Client, user_id: str) -> str:
    resp = client.post("/api/conversations", json={"metadata": {"user_id": user_id}})
    assert resp.status_code == 201, resp.text
    cid: str = resp.json()["id"]
    send(client, cid, f"Hello, I am {user_id}")
    return cid


def test_export_and_erase_one_user(running: Running, migrated: Settings) -> None:
    other = create_key(migrated.resolved_database_url, role="admin", name="o", tenant_id="other")
    elsewhere = {"Authorization": f"Bearer {other.token}"}
    with running(ScriptedProvider.from_texts(["Hello!"])) as client:
        mine = [with_user(client, "u-1") for _ in range(2)]
        theirs = with_user(client, "u-2")
        resp = client.get(f"/api/admin/conversations/{mine[0]}/export", headers=ADMIN)
        assert resp.status_code == 200, resp.text
        assert "attachment" in resp.headers["content-disposition"]
        document = resp.json()
        assert document["format"] == "frontdesk.conversation.v1"
        assert [(m["role"], m["content"]) for m in document["messages"]] == [
            ("user", "Hello, I am u-1"),
            ("assistant", "Hello!"),
        ]
        assert document["turns"][0]["model"] == "scripted-1"
        export = f"/api/admin/conversations/{mine[0]}/export"
        assert client.get(export, headers=elsewhere).status_code == 404
        assert client.get(export).status_code == 401
        assert client.get("/api/admin/conversations/nope/export", headers=ADMIN).status_code == 404
        # another tenant's admin erases nothing here
        gone = client.post("/api/admin/users/erase", json={"user_id": "u-1"}, headers=elsewhere)
        assert gone.json() == {"conversations": 0, "attachments": 0}
        erased = client.post("/api/admin/users/erase", json={"user_id": "u-1"}, headers=ADMIN)
        assert erased.status_code == 200, erased.text
        assert erased.json() == {"conversations": 2, "attachments": 0}
        for cid in mine:
            assert client.get(f"/api/conversations/{cid}").status_code == 404
        assert client.get(f"/api/conversations/{theirs}").status_code == 200
        empty = client.post("/api/admin/users/erase", json={}, headers=ADMIN)
        assert empty.status_code == 422
        unknown = client.post("/api/admin/users/erase", json={"email": "x"}, headers=ADMIN)
        assert unknown.status_code == 422


def age(settings: Settings, conversation_id: str, days: float) -> None:
    """Move a conversation's last activity ``days`` into the past."""

    async def move() -> None:
        store = SqlMemoryStore.from_url(settings.resolved_database_url)
        try:
            async with store.engine.begin() as conn:
                await conn.execute(
                    update(conversations)
                    .where(conversations.c.id == conversation_id)
                    .values(updated_at=datetime.now(UTC) - timedelta(days=days))
                )
        finally:
            await store.close()

    asyncio.run(move())


def test_the_server_runs_retention_on_its_own(running: Running, migrated: Settings) -> None:
    with running(
        ScriptedProvider.from_texts(["Hi."]), retention_days=30, retention_interval_seconds=0.4
    ) as client:
        old, fresh = new_conversation(client), new_conversation(client)
        send(client, old, "an old question")
        age(migrated, old, 31)
        age(migrated, fresh, 29)
        deadline = time.monotonic() + 20
        while client.get(f"/api/conversations/{old}").status_code != 404:
            assert time.monotonic() < deadline, "retention never ran"
            time.sleep(0.1)
        assert client.get(f"/api/conversations/{fresh}").status_code == 200
