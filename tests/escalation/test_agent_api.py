"""The whole hand-off over HTTP against the real services (wired by tests.escalation.app_setup
until the lead wires app.py): escalate, queue, claim, live reply, notes, hand back, close."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from frontdesk.auth.cli import create_key, revoke_key
from frontdesk.providers.base import ChatRequest
from frontdesk.providers.scripted import ScriptedProvider, Step
from frontdesk.settings import Settings
from tests.apphelpers import new_conversation, send, text_of
from tests.escalation.app_setup import running_app
from tests.escalation.sse_reader import SSEReader


@dataclass
class Recorder:
    requests: list[ChatRequest]
    lock: threading.Lock

    def __call__(self, request: ChatRequest) -> str | Step:
        with self.lock:
            self.requests.append(request)
        return "You can export from Settings → Export [1]."


@dataclass
class Site:
    client: httpx.Client
    provider_requests: list[ChatRequest]
    alice: dict[str, str]
    bob: dict[str, str]
    client_key: dict[str, str]
    admin: dict[str, str]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def site(migrated: Settings) -> Iterator[Site]:
    url = migrated.resolved_database_url
    alice = create_key(url, role="agent", name="alice").token
    bob = create_key(url, role="agent", name="bob").token
    api_client = create_key(url, role="client", name="widget").token
    recorder = Recorder([], threading.Lock())
    provider = ScriptedProvider(responder=recorder)
    # keys are re-read on every request here (the default trusts a key for 10 s)
    fresh = migrated.model_copy(update={"api_key_cache_seconds": 0.0})
    with running_app(fresh, provider) as client:
        yield Site(
            client,
            recorder.requests,
            _bearer(alice),
            _bearer(bob),
            _bearer(api_client),
            _bearer(migrated.admin_token.get_secret_value()),
        )


def _escalate(site: Site) -> tuple[str, str]:
    cid = new_conversation(site.client)
    events = send(site.client, cid, "I want to talk to a person")
    names = [e.event for e in events]
    assert names == ["start", "escalated", "notice", "done"], names
    escalated = next(e for e in events if e.event == "escalated")
    assert escalated.data["reason"] == "customer_request"
    return cid, escalated.data["ticket_id"]


def test_agent_endpoints_need_an_agent_key(site: Site) -> None:
    c = site.client
    missing = c.get("/api/agent/queue")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "unauthorized"
    assert c.get("/api/agent/queue", headers=_bearer("fd_not-a-key")).status_code == 401
    assert c.get("/api/agent/queue", headers={"Authorization": "Basic x"}).status_code == 401
    wrong_role = c.get("/api/agent/queue", headers=site.client_key)
    assert wrong_role.status_code == 403
    assert c.get("/api/agent/queue", headers=site.admin).status_code == 200
    me = c.get("/api/agent/me", headers=site.alice).json()
    assert (me["name"], me["role"]) == ("alice", "agent")


def test_revoked_keys_stop_working(site: Site, migrated: Settings) -> None:
    created = create_key(migrated.resolved_database_url, role="agent", name="temp")
    assert site.client.get("/api/agent/me", headers=_bearer(created.token)).status_code == 200
    assert revoke_key(migrated.resolved_database_url, created.info.id)
    assert site.client.get("/api/agent/me", headers=_bearer(created.token)).status_code == 401


def test_full_hand_off_with_live_reply_and_bot_memory(site: Site) -> None:
    c = site.client
    cid = new_conversation(c)
    first = send(c, cid, "How do I export my data?")
    assert "Settings → Export" in text_of(first)
    asked = len(site.provider_requests)
    events = send(c, cid, "I want to talk to a person")
    assert [e.event for e in events] == ["start", "escalated", "notice", "done"]
    assert "number 1 in the queue" in events[2].data["message"]
    assert len(site.provider_requests) == asked  # the bot did not answer
    ticket_id = events[1].data["ticket_id"]

    queue = c.get("/api/agent/queue", headers=site.alice).json()
    [item] = queue["tickets"]
    assert (item["id"], item["reason"], item["queue_position"]) == (
        ticket_id,
        "customer_request",
        1,
    )
    assert item["reason_label"] == "Customer asked for a person"
    assert item["wait_seconds"] >= 0

    base = str(c.base_url).rstrip("/")
    with SSEReader(base, f"/api/conversations/{cid}/events") as live:
        status = live.next("status")
        assert (status["status"], status["ticket_id"]) == ("waiting_for_agent", ticket_id)
        assert status["queue_position"] == 1
        held = send(c, cid, "Are you there?")
        assert [e.event for e in held] == ["start", "notice", "done"]
        assert live.next("message")["content"] == "Are you there?"

        claim = c.post(f"/api/agent/tickets/{ticket_id}/claim", headers=site.alice)
        assert claim.status_code == 200, claim.text
        assert claim.json()["claimed_by"] == "alice"
        assert live.next("status") == live_status_agent(ticket_id)
        again = c.post(f"/api/agent/tickets/{ticket_id}/claim", headers=site.bob)
        assert again.status_code == 409
        assert "already claimed by alice" in again.json()["error"]["message"]

        reply = c.post(
            f"/api/agent/tickets/{ticket_id}/reply",
            json={"content": "Hi, Alice here. I re-ran your export job; it is in your inbox."},
            headers=site.alice,
        )
        assert reply.status_code == 201, reply.text
        pushed = live.next("message")
        assert (pushed["role"], pushed["author"]) == ("agent", "alice")
        assert pushed["content"].startswith("Hi, Alice here.")
        bob_reply = c.post(
            f"/api/agent/tickets/{ticket_id}/reply", json={"content": "me too"}, headers=site.bob
        )
        assert bob_reply.status_code == 403

        while_agent = send(c, cid, "Great, thank you!")
        assert [e.event for e in while_agent] == ["start", "done"]
        assert live.next("message")["content"] == "Great, thank you!"

        note = c.post(
            f"/api/agent/tickets/{ticket_id}/notes",
            json={"content": "Export job 7 was stuck; re-ran it."},
            headers=site.alice,
        )
        assert note.status_code == 201
        detail = c.get(f"/api/agent/tickets/{ticket_id}", headers=site.alice).json()
        roles = [m["role"] for m in detail["messages"]]
        assert roles == ["user", "assistant", "user", "assistant", "user", "agent", "user"]
        answered = detail["messages"][1]
        assert answered["turn"]["provider"] == "scripted"
        assert answered["turn"]["retrieved_chunk_ids"] == []
        verdicts = answered["turn"]["verdicts"]
        assert {v["stage"] for v in verdicts} == {"input"}  # the guard's checks, recorded
        assert all(v["action"] == "allow" for v in verdicts)
        assert [n["content"] for n in detail["notes"]] == ["Export job 7 was stuck; re-ran it."]

        back = c.post(
            f"/api/agent/tickets/{ticket_id}/hand-back",
            json={"message": "I'm handing you back to our assistant."},
            headers=site.alice,
        )
        assert back.status_code == 200, back.text
        assert live.next("status")["status"] == "bot"

    after = send(c, cid, "Where exactly will the export arrive?")
    assert "Settings → Export" in text_of(after)
    prompt = "\n".join(m.content for m in site.provider_requests[-1].messages)
    assert "I re-ran your export job" in prompt  # the bot resumes knowing what Alice said
    assert (
        c.get(f"/api/agent/tickets/{ticket_id}", headers=site.alice).json()["ticket"]["status"]
        == "handed_back"
    )
    assert c.get("/api/agent/queue", headers=site.alice).json()["tickets"] == []


def live_status_agent(ticket_id: str) -> dict[str, object]:
    return {
        "status": "agent",
        "ticket_id": ticket_id,
        "team": None,
        "agent": "alice",
        "queue_position": 0,
        "estimated_wait_seconds": None,
        "estimate_basis": 0,
    }


def test_errors_are_clear(site: Site) -> None:
    c = site.client
    cid, ticket_id = _escalate(site)
    assert c.post("/api/agent/tickets/nope/claim", headers=site.alice).status_code == 404
    early = c.post(
        f"/api/agent/tickets/{ticket_id}/reply", json={"content": "x"}, headers=site.alice
    )
    assert early.status_code == 409
    assert "claim it first" in early.json()["error"]["message"]
    empty = c.post(
        f"/api/agent/tickets/{ticket_id}/notes", json={"content": ""}, headers=site.alice
    )
    assert empty.status_code == 422
    closed = c.post(f"/api/agent/tickets/{ticket_id}/close", headers=site.alice)
    assert closed.status_code == 200
    assert c.post(f"/api/agent/tickets/{ticket_id}/claim", headers=site.alice).status_code == 409
    assert (
        c.post(f"/api/agent/tickets/{ticket_id}/hand-back", headers=site.alice).status_code == 409
    )
    too_late = c.post(f"/api/conversations/{cid}/messages", json={"content": "hello?"})
    assert too_late.status_code == 409
    assert c.get("/api/conversations/missing/events").status_code == 404


def test_closing_ends_the_customer_stream(site: Site) -> None:
    c = site.client
    cid, ticket_id = _escalate(site)
    base = str(c.base_url).rstrip("/")
    with SSEReader(base, f"/api/conversations/{cid}/events?after_seq=0") as live:
        assert live.next("status")["status"] == "waiting_for_agent"
        c.post(f"/api/agent/tickets/{ticket_id}/claim", headers=site.alice)
        c.post(
            f"/api/agent/tickets/{ticket_id}/close",
            json={"message": "Solved by phone. Goodbye!"},
            headers=site.alice,
        )
        assert live.next("message")["content"] == "Solved by phone. Goodbye!"
        assert live.next("status")["status"] == "closed"
    # a reconnect replays the agent messages after the given seq, then ends
    with SSEReader(base, f"/api/conversations/{cid}/events?after_seq=0") as replay:
        assert replay.next("status")["status"] == "closed"
        assert replay.next("message")["content"] == "Solved by phone. Goodbye!"
