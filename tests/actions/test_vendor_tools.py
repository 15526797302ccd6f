"""Vendor models call actions through native tool calling (the scripted provider speaks the
same events as the OpenAI/Anthropic/Gemini adapters: ToolCallRequested, Finish("tool_calls"))."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from frontdesk.demo.northwind_data import sample_accounts, usage
from frontdesk.domain import ToolCall
from frontdesk.providers.base import ChatRequest
from frontdesk.providers.scripted import ScriptedProvider, Step
from tests.actions.chatapp import ChatApp, chat_app, identity_env, migrated_settings
from tests.actions.northwind import Northwind
from tests.actions.test_chat_actions import ask, conversation, turns
from tests.apphelpers import text_of
from tests.identity.keys import live_hs256


def model(request: ChatRequest) -> Step:
    """A tool-calling model: asks for the tool the question needs, then answers from the
    result (or tells the truth about a failure)."""
    last = request.messages[-1]
    if last.role == "tool":
        result = json.loads(last.content)
        if result["status"] == "ok" and "rows_synced" in result["result"]:
            r = result["result"]
            return Step(text=f"In {r['month']} your workspace synced {r['rows_synced']:,} rows.")
        if result["status"] == "awaiting_confirmation":
            return Step(text="Please press the button below to confirm.")
        return Step(text="I couldn't do that, so I won't guess. Shall I get you a person?")
    question = last.content.lower()
    names = {t.name for t in request.tools}
    if "rows" in question and "lookup_usage" in names:
        return Step(tool_calls=(ToolCall("call_1", "lookup_usage", '{"month": "2026-11"}'),))
    if "invoice" in question and "resend_invoice" in names:
        return Step(tool_calls=(ToolCall("call_2", "resend_invoice", "{}"),))
    if "broken" in question and names:
        return Step(tool_calls=(ToolCall("call_3", "lookup_usage", '{"month": "soon"}'),))
    return Step(text="I can't see account data here.")


@pytest.fixture(scope="module")
def vendor(tmp_path_factory: pytest.TempPathFactory, company: Northwind) -> Iterator[ChatApp]:
    with pytest.MonkeyPatch.context() as patch:
        identity_env(patch, company.url)
        settings = migrated_settings(tmp_path_factory.mktemp("vendor-tools"))
        provider = ScriptedProvider(responder=model)
        with chat_app(settings, company, provider, mode="generative") as running:
            yield running


@pytest.fixture
def chat(vendor: ChatApp, api: Northwind) -> ChatApp:
    vendor.provider.requests.clear()
    return vendor


def test_the_model_calls_a_read_action_and_answers_from_it(chat: ChatApp, api: Northwind) -> None:
    dana = {"X-Frontdesk-Identity": live_hs256()}
    cid = conversation(chat, dana)
    events = ask(chat, cid, "How many rows did we sync in November?", dana)
    rows = f"{usage(sample_accounts()['u_1001'], '2026-11')['rows_synced']:,}"
    assert rows in text_of(events)
    first, second = chat.provider.requests
    assert {t.name for t in first.tools} >= {"lookup_usage", "resend_invoice"}
    assert "tools given to you" in first.messages[0].content
    tool = second.messages[-1]
    assert tool.role == "tool" and tool.tool_call_id == "call_1"
    assert second.messages[-2].tool_calls[0].name == "lookup_usage"
    assert "acting" not in tool.content.lower()  # the token never reaches the model
    assert [c["user"] for c in api.state.calls] == ["u_1001"]
    citations = next(e for e in events if e.event == "citations").data["citations"]
    assert "Your usage" in [c["title"] for c in citations]
    (turn,) = turns(chat, cid)
    assert [a["action"] for a in turn.params["actions"]] == ["lookup_usage"]
    assert turn.params["actions"][0]["acting_for"] == "u_1001"


def test_an_anonymous_visitor_gets_no_tools(chat: ChatApp, api: Northwind) -> None:
    cid = conversation(chat)
    text = text_of(ask(chat, cid, "How many rows did we sync in November?"))
    assert text == "I can't see account data here."
    (request,) = chat.provider.requests
    assert request.tools == ()
    assert api.state.calls == []


def test_a_change_the_model_asks_for_waits_for_the_button(chat: ChatApp, api: Northwind) -> None:
    dana = {"X-Frontdesk-Identity": live_hs256()}
    cid = conversation(chat, dana)
    events = ask(chat, cid, "Please resend my last invoice", dana)
    (offer,) = [e.data for e in events if e.event == "action_confirm"]
    assert offer["action"] == "resend_invoice"
    assert "press the button" in text_of(events)
    assert api.state.resent == [] and api.state.calls == []
    resp = chat.client.post(
        f"/api/conversations/{cid}/actions/{offer['id']}",
        json={"decision": "confirm"},
        headers=dana,
    )
    assert resp.status_code == 200 and resp.json()["outcome"] == "done"
    assert len(api.state.resent) == 1


def test_bad_arguments_from_the_model_are_refused_honestly(chat: ChatApp, api: Northwind) -> None:
    dana = {"X-Frontdesk-Identity": live_hs256()}
    cid = conversation(chat, dana)
    text = text_of(ask(chat, cid, "my dashboard is broken", dana))
    assert "won't guess" in text
    assert api.state.calls == []
    result = json.loads(chat.provider.requests[-1].messages[-1].content)
    assert result["status"] == "invalid_arguments"
