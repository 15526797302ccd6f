"""Replay through the admin API: the same answer again, a diff with another endpoint,
404 across tenants, 409 for a turn recorded without inputs."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
from sqlalchemy import update

from frontdesk.auth.cli import create_key
from frontdesk.config import EndpointConfig
from frontdesk.domain import TurnRecord
from frontdesk.memory.schema import turns
from frontdesk.memory.sql import SqlMemoryStore
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from tests.apphelpers import Running, new_conversation, send, text_of
from tests.conftest import make_bot

ADMIN = {"Authorization": "Bearer dev-admin-token"}


def turns_of(settings: Settings, conversation_id: str) -> list[TurnRecord]:
    async def load() -> list[TurnRecord]:
        store = SqlMemoryStore.from_url(settings.resolved_database_url)
        try:
            return await store.list_turns(conversation_id)
        finally:
            await store.close()

    return asyncio.run(load())


def forget_inputs(settings: Settings, turn_id: str) -> None:
    async def clear() -> None:
        store = SqlMemoryStore.from_url(settings.resolved_database_url)
        try:
            async with store.engine.begin() as conn:
                await conn.execute(update(turns).where(turns.c.id == turn_id).values(inputs=None))
        finally:
            await store.close()

    asyncio.run(clear())


def bot_with_second_endpoint() -> object:
    bot = make_bot(temperature=0.7, max_output_tokens=300)
    other = EndpointConfig(
        name="other", dialect="scripted", model="other-2", script=["A different answer."]
    )
    return bot.model_copy(update={"endpoints": [*bot.endpoints, other]})


def replay(client: httpx.Client, turn_id: str, **body: object) -> httpx.Response:
    return client.post(f"/api/admin/turns/{turn_id}/replay", json=body or None, headers=ADMIN)


def test_replay_reproduces_the_stored_answer(running: Running, migrated: Settings) -> None:
    # the echo answer depends on the whole prompt: a replay only matches with the same prompt
    provider = ScriptedProvider(responder=lambda r: " | ".join(m.content for m in r.messages))
    with running(provider, bot_with_second_endpoint()) as client:
        cid = new_conversation(client)
        send(client, cid, "My first question")
        answer = text_of(send(client, cid, "And a second one?"))
        [_, turn] = turns_of(migrated, cid)
        assert turn.inputs["kind"] == "generative"
        assert [m["role"] for m in turn.inputs["messages"]] == [
            "system",
            "user",
            "assistant",
            "user",
        ]
        assert turn.params["temperature"] == 0.7
        resp = replay(client, turn.id)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["same"] is True, (body["changed"], body["diff"])
        assert body["diff"] == "" and body["changed"] == {}
        assert body["replayed"]["content"] == answer == body["stored"]["content"]
        assert body["endpoint"] == "scripted"
        assert body["config_version"] == {"recorded": "test-1", "current": "test-1"}
        # the provider got the recorded prompt with the recorded parameters
        again = provider.requests[-1]
        assert [m.content for m in again.messages] == [
            m["content"] for m in turn.inputs["messages"]
        ]
        assert (again.temperature, again.max_output_tokens) == (0.7, 300)


def test_replay_with_another_endpoint_shows_the_difference(
    running: Running, migrated: Settings
) -> None:
    with running(ScriptedProvider.from_texts(["Stored answer."]), bot_with_second_endpoint()) as c:
        cid = new_conversation(c)
        send(c, cid, "Hello there")
        [turn] = turns_of(migrated, cid)
        body = replay(c, turn.id, endpoint="other").json()
        assert body["same"] is False
        assert body["endpoint"] == "other"
        assert "-Stored answer.\n" in body["diff"] and "+A different answer.\n" in body["diff"]
        assert body["diff"].startswith("--- stored\n+++ replayed\n")
        assert body["changed"]["model"] == {"stored": "scripted-1", "replayed": "other-2"}
        assert body["changed"]["provider"] == {"stored": "scripted", "replayed": "other"}
        assert set(body["changed"]["usage"]) == {"stored", "replayed"}
        unknown = replay(c, turn.id, endpoint="nope")
        assert unknown.status_code == 404
        assert "has no endpoint 'nope'" in unknown.json()["error"]["message"]


def test_replay_is_scoped_by_tenant_and_needs_recorded_inputs(
    running: Running, migrated: Settings
) -> None:
    other_admin = create_key(
        migrated.resolved_database_url, role="admin", name="x", tenant_id="other"
    ).token
    agent = create_key(migrated.resolved_database_url, role="agent", name="a").token
    with running(ScriptedProvider.from_texts(["Hi."])) as client:
        cid = new_conversation(client)
        send(client, cid, "Hello")
        [turn] = turns_of(migrated, cid)
        url = f"/api/admin/turns/{turn.id}/replay"
        elsewhere = client.post(url, headers={"Authorization": f"Bearer {other_admin}"})
        missing = replay(client, "no-such-turn")
        assert elsewhere.status_code == missing.status_code == 404
        assert elsewhere.json()["error"]["code"] == "not_found"
        assert client.post(url, headers={"Authorization": f"Bearer {agent}"}).status_code == 403
        assert client.post(url).status_code == 401
        too_long = replay(client, turn.id, endpoint="x" * 200)
        assert too_long.status_code == 422
        forget_inputs(migrated, turn.id)
        old = replay(client, turn.id)
        assert old.status_code == 409
        assert "recorded without its inputs" in old.json()["error"]["message"]


def test_inputs_keep_images_as_a_count() -> None:
    from frontdesk.chat.inputs import message_record, messages_of
    from frontdesk.domain import ChatMessage

    message = ChatMessage("user", "see screenshot", images=("data:image/png;base64,AAAA",))
    record = message_record(message)
    assert record == {"role": "user", "content": "see screenshot", "images": 1}
    assert messages_of({"messages": [record]}) == [dataclasses.replace(message, images=())]
