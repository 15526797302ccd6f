"""Actions for a verified customer through the native chat API (embedded-model routing)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from collections.abc import Iterator
from datetime import date

import pytest
from PIL import Image

from frontdesk.demo.northwind_data import sample_accounts, usage
from frontdesk.domain import TurnRecord
from frontdesk.identity.user_hash import user_hash
from frontdesk.memory.sql import SqlMemoryStore
from tests.actions.chatapp import ChatApp, chat_app, identity_env, migrated_settings
from tests.actions.northwind import Northwind
from tests.apphelpers import sse_events, text_of
from tests.identity.keys import HMAC_SECRET, hs256, live_hs256

DANA = {"X-Frontdesk-Identity": live_hs256()}
SAM = {"X-Frontdesk-Identity": live_hs256(sub="u_2002", email="sam@globex.example")}


@pytest.fixture(scope="module")
def chat_module(tmp_path_factory: pytest.TempPathFactory, company: Northwind) -> Iterator[ChatApp]:
    """One app for the module (start-up loads the guard models): tests use new conversations."""
    with pytest.MonkeyPatch.context() as patch:
        identity_env(patch, company.url)
        settings = migrated_settings(tmp_path_factory.mktemp("chat-actions"))
        with chat_app(settings, company) as running:
            yield running


@pytest.fixture
def chat(chat_module: ChatApp, api: Northwind) -> ChatApp:
    return chat_module


def conversation(chat: ChatApp, headers: dict[str, str] | None = None) -> str:
    resp = chat.client.post("/api/conversations", json={}, headers=headers or {})
    assert resp.status_code == 201, resp.text
    cid: str = resp.json()["id"]
    return cid


def ask(chat: ChatApp, cid: str, text: str, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    resp = chat.client.post(
        f"/api/conversations/{cid}/messages", json={"content": text}, headers=headers or {}
    )
    assert resp.status_code == 200, resp.text
    return sse_events(resp)


def turns(chat: ChatApp, cid: str) -> list[TurnRecord]:
    """The stored turn records, read with a store of our own on the same database."""
    url = chat.app.state.services.settings.resolved_database_url

    async def read() -> list[TurnRecord]:
        store = SqlMemoryStore.from_url(url)
        try:
            return await store.list_turns(cid)
        finally:
            await store.close()
            await store.engine.dispose()

    return asyncio.run(read())


def tampered(token: str) -> str:
    head, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = "u_2002"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{head}.{forged}.{sig}"


def rows_of(user: str) -> str:
    month = date.today().strftime("%Y-%m")
    return f"{usage(sample_accounts()[user], month)['rows_synced']:,}"


def test_a_signed_in_customer_gets_their_own_numbers(chat: ChatApp, api: Northwind) -> None:
    created = chat.client.post("/api/conversations", json={}, headers=DANA).json()
    assert created["customer"] == "u_1001"
    events = ask(chat, created["id"], "How many rows did we sync this month?", DANA)
    text = text_of(events)
    assert rows_of("u_1001") in text and "Acme Analytics" in text
    assert rows_of("u_2002") not in text
    (cited,) = [e for e in events if e.event == "citations"]
    assert cited.data["citations"][0]["title"] == "Your usage"
    assert [c["user"] for c in api.state.calls] == ["u_1001"]
    done = next(e for e in events if e.event == "done")
    assert done.data["provider"] == "policy" and done.data["finish_reason"] == "action"
    assert chat.provider.requests == []  # no model call
    # the audit: in the turn record, acting for Dana, never the token
    (turn,) = turns(chat, created["id"])
    (audit,) = turn.params["actions"]
    assert audit["action"] == "lookup_usage" and audit["status"] == "ok"
    assert audit["acting_for"] == "u_1001" and audit["arguments"] == {
        "month": date.today().strftime("%Y-%m")
    }
    assert DANA["X-Frontdesk-Identity"] not in json.dumps(turn.params)
    assert isinstance(audit["latency_ms"], float)
    assert turn.inputs["kind"] == "action"  # replay says it won't call the company API again


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Frontdesk-Identity": tampered(live_hs256())},
        {"X-Frontdesk-Identity": hs256(iat=1_000, exp=1_600)},
        {"X-Frontdesk-Identity": "not-a-token"},
        {"X-Frontdesk-User-Id": "u_1001", "X-Frontdesk-User-Hash": "0" * 64},
    ],
    ids=["missing", "tampered", "expired", "garbage", "bad-user-hash"],
)
def test_without_a_valid_identity_nobody_s_data_is_shown(
    chat: ChatApp, api: Northwind, headers: dict[str, str]
) -> None:
    created = chat.client.post("/api/conversations", json={}, headers=headers).json()
    assert created["customer"] is None
    text = text_of(ask(chat, created["id"], "How many rows did we sync this month?", headers))
    assert "signed in" in text
    for user in sample_accounts():
        assert rows_of(user) not in text
    assert api.state.calls == []


def test_the_hmac_user_hash_identifies_too(chat: ChatApp, api: Northwind) -> None:
    headers = {
        "X-Frontdesk-User-Id": "u_2002",
        "X-Frontdesk-User-Hash": user_hash(HMAC_SECRET, "u_2002"),
    }
    cid = conversation(chat, headers)
    text = text_of(ask(chat, cid, "Which plan am I on?", headers))
    assert "Starter plan (since 19 August 2025)" in text
    assert [c["user"] for c in api.state.calls] == ["u_2002"]


def test_a_bound_conversation_refuses_anyone_else(chat: ChatApp, api: Northwind) -> None:
    cid = conversation(chat, DANA)
    ask(chat, cid, "Which plan am I on?", DANA)
    for headers in ({}, SAM, {"X-Frontdesk-Identity": tampered(live_hs256())}):
        resp = chat.client.post(
            f"/api/conversations/{cid}/messages", json={"content": "and my usage?"}, headers=headers
        )
        assert resp.status_code == 403, resp.text
        assert chat.client.get(f"/api/conversations/{cid}", headers=headers).status_code == 403
    assert chat.client.get(f"/api/conversations/{cid}", headers=DANA).status_code == 200
    assert len(api.state.calls) == 1
    image = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(image, format="PNG")
    for headers in ({}, SAM):  # nor can anyone else add a screenshot to it
        files = {"file": ("shot.png", image.getvalue(), "image/png")}
        resp = chat.client.post(
            "/api/attachments", data={"conversation_id": cid}, files=files, headers=headers
        )
        assert resp.status_code == 403, resp.text
    files = {"file": ("shot.png", image.getvalue(), "image/png")}
    own = chat.client.post(
        "/api/attachments", data={"conversation_id": cid}, files=files, headers=DANA
    )
    assert own.status_code == 201, own.text


def test_an_anonymous_visitor_who_signs_in_keeps_the_conversation(
    chat: ChatApp, api: Northwind
) -> None:
    cid = conversation(chat)
    first = text_of(ask(chat, cid, "Which plan am I on?"))
    assert "signed in" in first
    second = text_of(ask(chat, cid, "Which plan am I on?", DANA))
    assert "Growth plan (since 3 March 2026)" in second
    history = chat.client.get(f"/api/conversations/{cid}", headers=DANA).json()["messages"]
    assert [m["role"] for m in history] == ["user", "assistant", "user", "assistant"]


def test_resend_my_last_invoice_asks_then_calls_the_api_once(chat: ChatApp, api: Northwind) -> None:
    cid = conversation(chat, DANA)
    events = ask(chat, cid, "resend my last invoice", DANA)
    (offer,) = [e.data for e in events if e.event == "action_confirm"]
    assert offer["action"] == "resend_invoice"
    assert "email your most recent invoice" in text_of(events)
    assert api.state.resent == []  # nothing runs on free text
    # "yes" typed in the chat is not a confirmation
    ask(chat, cid, "yes", DANA)
    assert api.state.resent == []
    url = f"/api/conversations/{cid}/actions/{offer['id']}"
    assert chat.client.post(url, json={"decision": "confirm"}).status_code == 403
    assert chat.client.post(url, json={"decision": "confirm"}, headers=SAM).status_code == 403
    resp = chat.client.post(url, json={"decision": "confirm"}, headers=DANA)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["outcome"] == "done"
    assert "INV-2026-0311" in body["message"]["content"]
    assert "dana@acme.example" in body["message"]["content"]
    again = chat.client.post(url, json={"decision": "confirm"}, headers=DANA)
    assert again.status_code == 409
    assert len(api.state.resent) == 1
    assert [c["path"] for c in api.state.calls] == ["/v1/me/invoices/last/resend"]


def test_a_cancelled_change_never_runs(chat: ChatApp, api: Northwind) -> None:
    cid = conversation(chat, DANA)
    events = ask(chat, cid, "Open a ticket for run_8812, it failed again", DANA)
    (offer,) = [e.data for e in events if e.event == "action_confirm"]
    url = f"/api/conversations/{cid}/actions/{offer['id']}"
    resp = chat.client.post(url, json={"decision": "cancel"}, headers=DANA)
    assert resp.status_code == 200 and resp.json()["outcome"] == "cancelled"
    assert chat.client.post(url, json={"decision": "confirm"}, headers=DANA).status_code == 409
    assert api.state.tickets == [] and api.state.calls == []
    bad = chat.client.post(url, json={"decision": "maybe"}, headers=DANA)
    assert bad.status_code == 422
    unknown = f"/api/conversations/{cid}/actions/act_nope"
    assert chat.client.post(unknown, json={"decision": "confirm"}, headers=DANA).status_code == 404


def test_a_failing_api_gets_an_honest_answer(chat: ChatApp, api: Northwind) -> None:
    api.state.failures[:] = [503, 503, 503]
    cid = conversation(chat, DANA)
    text = text_of(ask(chat, cid, "Which plan am I on?", DANA))
    assert "won't guess" in text and "person" in text
    assert "Growth" not in text
    assert len(api.state.calls) == 3  # a read is retried twice, then given up


def test_a_knowledge_question_is_not_an_action(chat: ChatApp, api: Northwind) -> None:
    cid = conversation(chat, DANA)
    events = ask(chat, cid, "How do I reset my password?", DANA)
    done = next(e for e in events if e.event == "done")
    assert done.data["finish_reason"] != "action"
    assert api.state.calls == []


def test_a_verified_customer_is_limited_by_their_id_across_conversations(
    tmp_path_factory: pytest.TempPathFactory, company: Northwind
) -> None:
    """Per-user limits count the verified customer, whichever conversation or browser."""
    from frontdesk.config import LimitsConfig

    with pytest.MonkeyPatch.context() as patch:
        identity_env(patch, company.url)
        settings = migrated_settings(tmp_path_factory.mktemp("user-limits"))
        limits = LimitsConfig(user_rpm=2, conversation_rpm=None)
        with chat_app(settings, company, limits=limits) as chat:
            dana = {"X-Frontdesk-Identity": live_hs256()}
            first, second = conversation(chat, dana), conversation(chat, dana)
            ask(chat, first, "Which plan am I on?", dana)
            ask(chat, second, "Which plan am I on?", dana)
            third = chat.client.post(
                f"/api/conversations/{second}/messages",
                json={"content": "and my usage?"},
                headers=dana,
            )
            assert third.status_code == 429, third.text
            # another customer has their own allowance
            sam = {"X-Frontdesk-Identity": live_hs256(sub="u_2002")}
            ask(chat, conversation(chat, sam), "Which plan am I on?", sam)
