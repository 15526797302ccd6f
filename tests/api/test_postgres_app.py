"""The whole app served on the real PostgreSQL: migrations, turns, idempotency, escalation."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from frontdesk.app import create_app
from frontdesk.memory.migrate import upgrade
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from tests.apphelpers import new_conversation, send, text_of
from tests.conftest import make_bot
from tests.memory.pg import temporary_database
from tests.servers import serve

pytestmark = pytest.mark.postgres


def test_conversation_on_postgresql(settings: Settings) -> None:
    with temporary_database() as url, ThreadPoolExecutor(1) as pool:
        pool.submit(upgrade, url).result()
        pg = settings.model_copy(update={"database_url": url.replace("+asyncpg", "")})
        provider = ScriptedProvider.from_texts(["Stored in PostgreSQL."])
        app = create_app(pg, bot=make_bot(), provider=provider)
        with serve(app) as base, httpx.Client(base_url=base, timeout=30) as client:
            cid = new_conversation(client)
            a = send(client, cid, "hello", client_message_id="m-1")
            b = send(client, cid, "hello", client_message_id="m-1")
            assert text_of(a) == text_of(b) == "Stored in PostgreSQL."
            held = send(client, cid, "I want to talk to a person")
            assert any(e.event == "escalated" for e in held)
            conv = client.get(f"/api/conversations/{cid}").json()
            assert conv["status"] == "waiting_for_agent"
            assert [m["role"] for m in conv["messages"]] == [
                "user",
                "assistant",
                "user",
                "assistant",
            ]
