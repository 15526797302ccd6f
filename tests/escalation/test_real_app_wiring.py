"""The hand-off through ``frontdesk.app.create_app`` with the default bot wiring."""

from __future__ import annotations

import threading

from frontdesk.auth.cli import create_key
from frontdesk.providers.base import ChatRequest
from frontdesk.providers.scripted import ScriptedProvider, Step
from frontdesk.settings import Settings
from tests.apphelpers import Running, new_conversation, send, text_of
from tests.escalation.sse_reader import SSEReader


def test_person_request_to_agent_reply_to_bot_resumes(running: Running, migrated: Settings) -> None:
    seen: list[ChatRequest] = []
    lock = threading.Lock()

    def respond(request: ChatRequest) -> str | Step:
        with lock:
            seen.append(request)
        return "Here is what I found [1]."

    key = create_key(migrated.resolved_database_url, role="agent", name="alice").token
    agent = {"Authorization": f"Bearer {key}"}
    with running(ScriptedProvider(responder=respond), heartbeat_seconds=0.5) as client:
        assert client.get("/agent").status_code == 200
        cid = new_conversation(client)
        events = send(client, cid, "I want to talk to a person")
        assert [e.event for e in events] == ["start", "escalated", "notice", "done"]
        assert seen == []
        ticket_id = events[1].data["ticket_id"]
        queue = client.get("/api/agent/queue", headers=agent).json()
        assert [t["id"] for t in queue["tickets"]] == [ticket_id]
        base = str(client.base_url).rstrip("/")
        with SSEReader(base, f"/api/conversations/{cid}/events") as live:
            assert live.next("status")["status"] == "waiting_for_agent"
            assert client.post(f"/api/agent/tickets/{ticket_id}/claim", headers=agent).is_success
            reply = client.post(
                f"/api/agent/tickets/{ticket_id}/reply",
                json={"content": "Alice here: your refund was approved today."},
                headers=agent,
            )
            assert reply.status_code == 201
            assert live.next("message")["content"] == "Alice here: your refund was approved today."
            assert [e.event for e in send(client, cid, "thanks")] == ["start", "done"]
            hand_back = client.post(f"/api/agent/tickets/{ticket_id}/hand-back", headers=agent)
            assert hand_back.is_success
            assert live.next("status")["status"] == "bot"
        answer = send(client, cid, "When will I see the money?")
        assert text_of(answer) == "Here is what I found [1]."
        prompt = "\n".join(m.content for m in seen[-1].messages)
        assert "your refund was approved today" in prompt
        conversation = client.get(f"/api/conversations/{cid}").json()
        assert conversation["status"] == "bot"
        assert "agent" in [m["role"] for m in conversation["messages"]]
