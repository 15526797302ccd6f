"""The native chat API end to end over real HTTP, with a scripted provider."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from httpx_sse import EventSource

from frontdesk.app import create_app
from frontdesk.chat.record import TurnRun
from frontdesk.errors import ProviderUnavailable
from frontdesk.providers.scripted import ScriptedProvider, Step
from frontdesk.settings import Settings
from tests.apphelpers import Running, new_conversation, parse_sse, send, text_of
from tests.conftest import make_bot
from tests.servers import serve


def test_stream_answer_and_history(running: Running) -> None:
    provider = ScriptedProvider.from_texts(["Refunds take **5 days**."])
    with running(provider) as client:
        cid = new_conversation(client)
        events = send(client, cid, "How long do refunds take?")
        names = [e.event for e in events]
        assert names[0] == "start"
        assert names[-1] == "done"
        assert text_of(events) == "Refunds take **5 days**."
        done = events[-1].data
        assert done["status"] == "complete"
        assert done["usage"]["output_tokens"] == 4
        conv = client.get(f"/api/conversations/{cid}").json()
        roles = [(m["role"], m["status"]) for m in conv["messages"]]
        assert roles == [("user", "complete"), ("assistant", "complete")]
        assert conv["messages"][1]["content"] == "Refunds take **5 days**."
        assert conv["messages"][1]["id"] == done["message_id"]
    # the prompt carried the bot's system prompt and the user's message
    sent = provider.requests[0].messages
    assert sent[0].role == "system" and "Testbot" in sent[0].content
    assert sent[-1].content == "How long do refunds take?"


def test_json_answer_when_not_streaming(running: Running) -> None:
    with running(ScriptedProvider.from_texts(["Hello there."])) as client:
        cid = new_conversation(client)
        resp = client.post(
            f"/api/conversations/{cid}/messages", json={"content": "hi", "stream": False}
        )
        assert resp.status_code == 200
        body = resp.json()
        assert body["message"]["content"] == "Hello there."
        assert body["message"]["status"] == "complete"
        assert body["provider"] == "scripted"


def test_client_errors_are_clear(running: Running) -> None:
    with running(ScriptedProvider.from_texts(["x"]), max_message_chars=50) as client:
        cid = new_conversation(client)
        url = f"/api/conversations/{cid}/messages"
        r = client.post(url, json={"content": "   "})
        assert r.status_code == 422
        assert r.json()["error"]["code"] == "validation_error"
        r = client.post(url, json={"content": "x" * 51})
        assert r.status_code == 413
        assert "50" in r.json()["error"]["message"]
        assert r.json()["error"]["details"] == {"limit": 50}
        r = client.post(url, content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 400
        assert "error" in r.json()
        r = client.post(url, json={"text": "wrong field"})
        assert r.status_code == 422
        assert "content" in r.json()["error"]["message"]
        r = client.post("/api/conversations/nope/messages", json={"content": "hi"})
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"
        r = client.get("/api/conversations/nope")
        assert r.status_code == 404
        r = client.get("/no/such/route")
        assert r.status_code == 404
        assert r.json()["error"]["code"] == "not_found"
        # nothing was stored by the bad requests
        assert client.get(f"/api/conversations/{cid}").json()["messages"] == []


def test_provider_failure_keeps_message_and_conversation(running: Running) -> None:
    """With degraded mode off, a provider failure is an error event (see
    tests/gateway/test_degraded_mode.py for the queueing default)."""
    bot = make_bot().model_copy(update={"degraded_mode": False})
    provider = ScriptedProvider(
        steps=[
            Step(fail_before=ProviderUnavailable("down", provider="scripted", status=503)),
            Step(text="Back online."),
        ]
    )
    with running(provider, bot=bot) as client:
        cid = new_conversation(client)
        events = send(client, cid, "first question")
        assert events[-1].event == "error"
        assert events[-1].data["retryable"] is True
        msgs = client.get(f"/api/conversations/{cid}").json()["messages"]
        assert [(m["role"], m["status"]) for m in msgs] == [
            ("user", "complete"),
            ("assistant", "failed"),
        ]
        assert msgs[0]["content"] == "first question"
        events = send(client, cid, "second question")
        assert text_of(events) == "Back online."


def test_failure_mid_stream_stores_partial(running: Running) -> None:
    provider = ScriptedProvider(steps=[Step(text="one two three four", fail_after_tokens=2)])
    with running(provider) as client:
        cid = new_conversation(client)
        events = send(client, cid, "question")
        assert text_of(events) == "one two "
        assert events[-1].event == "error"
        msgs = client.get(f"/api/conversations/{cid}").json()["messages"]
        assert msgs[1]["status"] == "partial"
        assert msgs[1]["content"] == "one two "
        assert msgs[1]["error"]


def test_idempotent_client_message_id(running: Running) -> None:
    provider = ScriptedProvider.from_texts(["First answer.", "Second answer."])
    with running(provider) as client:
        cid = new_conversation(client)
        a = send(client, cid, "same", client_message_id="m-1")
        b = send(client, cid, "same", client_message_id="m-1")
        assert text_of(a) == text_of(b) == "First answer."
        assert b[-1].data["message_id"] == a[-1].data["message_id"]
        msgs = client.get(f"/api/conversations/{cid}").json()["messages"]
        assert len(msgs) == 2
        assert len(provider.requests) == 1


def test_disconnect_cancels_generation_and_stores_partial(running: Running) -> None:
    words = " ".join(f"w{i}" for i in range(200))
    provider = ScriptedProvider(steps=[Step(text=words, token_delay=0.05)])
    with running(provider) as client:
        cid = new_conversation(client)
        with client.stream(
            "POST", f"/api/conversations/{cid}/messages", json={"content": "long please"}
        ) as resp:
            seen = 0
            for sse in EventSource(resp).iter_sse():
                seen += sse.event == "delta"
                if seen >= 3:
                    break
        deadline = time.monotonic() + 10
        status = "pending"
        while time.monotonic() < deadline:
            msgs = client.get(f"/api/conversations/{cid}").json()["messages"]
            status = msgs[1]["status"]
            if status != "pending":
                break
            time.sleep(0.1)
        assert status == "partial"
        assert 0 < len(msgs[1]["content"].split()) < 200


def test_heartbeat_comments_keep_idle_stream_open(running: Running) -> None:
    provider = ScriptedProvider(steps=[Step(text="late", first_token_delay=0.6)])
    with running(provider, heartbeat_seconds=0.1) as client:
        cid = new_conversation(client)
        resp = client.post(f"/api/conversations/{cid}/messages", json={"content": "hi"})
        assert ": ping" in resp.text
        assert text_of(parse_sse(resp.text)) == "late"


def test_health_and_ready(running: Running) -> None:
    with running(ScriptedProvider()) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"]["database"]["ok"] is True
        assert client.get("/openapi.json").json()["info"]["title"] == "Frontdesk"
        assert client.get("/docs").status_code == 200
        assert isinstance(client.get("/healthz").headers["x-request-id"], str)


def test_bot_info_and_feedback(running: Running) -> None:
    with running(ScriptedProvider.from_texts(["Answer."])) as client:
        info = client.get("/api/bot").json()
        assert info["name"] == "Testbot"
        assert info["max_message_chars"] == 5000
        cid = new_conversation(client)
        done = send(client, cid, "q")[-1].data
        mid = done["message_id"]
        r = client.post(f"/api/messages/{mid}/feedback", json={"rating": -1, "comment": "vague"})
        assert r.status_code == 204
        msgs = client.get(f"/api/conversations/{cid}").json()["messages"]
        assert msgs[1]["feedback"]["rating"] == -1
        assert msgs[1]["feedback"]["comment"] == "vague"
        assert client.post(f"/api/messages/{mid}/feedback", json={"rating": 5}).status_code == 422
        user_mid = msgs[0]["id"]
        r = client.post(f"/api/messages/{user_mid}/feedback", json={"rating": 1})
        assert r.status_code == 422
        assert client.post("/api/messages/nope/feedback", json={"rating": 1}).status_code == 404
        assert 'frontdesk_feedback_total{rating="down"} 1.0' in client.get("/metrics").text


def test_locked_database_is_503_with_retry_after(running: Running, migrated: Settings) -> None:
    import sqlite3

    with running(ScriptedProvider.from_texts(["x"])) as client:
        holder = sqlite3.connect(migrated.home / "frontdesk.db", isolation_level=None)
        try:
            holder.execute("BEGIN EXCLUSIVE")  # another writer holds the lock past busy_timeout
            r = client.post("/api/conversations", json={})
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert r.status_code == 503
        assert r.headers["retry-after"] == "1"
        assert r.json()["error"]["code"] == "database_busy"
        assert client.post("/api/conversations", json={}).status_code == 201


def test_the_first_token_is_sent_before_the_rest_of_the_answer_is_handled(
    migrated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An answer that arrives at once (a fast provider, one network read): its first delta
    goes to the client before the rest is framed and the answer stored (with_heartbeats'
    pump would otherwise run on to the persistence before the response sends anything)."""
    order: list[str] = []
    persist = TurnRun.persist

    async def recorded(self: TurnRun, *args: Any, **kwargs: Any) -> list[str] | None:
        order.append("stored")
        return await persist(self, *args, **kwargs)

    monkeypatch.setattr(TurnRun, "persist", recorded)
    provider = ScriptedProvider.from_texts(["Open every day of the week."])
    app = create_app(migrated, bot=make_bot(), provider=provider)

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        async def sent(message: Any) -> None:
            body = message.get("body", b"") if message["type"] == "http.response.body" else b""
            order.extend(["delta"] * body.count(b"event: delta"))
            await send(message)

        await app(scope, receive, sent)

    with serve(recording) as url, httpx.Client(base_url=url, timeout=30) as client:
        events = send(client, new_conversation(client), "When are you open?")
    assert text_of(events) == "Open every day of the week."
    assert order[:2] == ["delta", "stored"], order
