"""The answer-quality golden set for actions (``eval/actions/answers.jsonl``), played through
the chat API with the embedded-model routing: each answer must carry the signed-in
customer's facts and nobody else's, changes must wait for the button, and visitors who are
not verified (none, tampered, expired, wrong hash) get no account data at all."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from frontdesk.demo.identities import sample_token
from frontdesk.identity.user_hash import user_hash
from tests.actions.chatapp import ChatApp, chat_app, identity_env, migrated_settings
from tests.actions.northwind import ROOT, Northwind
from tests.actions.test_chat_actions import ask, conversation, tampered
from tests.apphelpers import SSEEvent, text_of
from tests.identity.keys import HMAC_SECRET, SECRET

CASES = [
    json.loads(line) for line in (ROOT / "eval/actions/answers.jsonl").read_text().splitlines()
]


def headers_for(identity: str) -> dict[str, str]:
    if identity == "none":
        return {}
    if identity == "tampered":
        return {"X-Frontdesk-Identity": tampered(sample_token(SECRET, "u_1001"))}
    if identity == "expired":
        return {"X-Frontdesk-Identity": sample_token(SECRET, "u_1001", now=1_000_000)}
    if identity == "bad_hash":
        return {
            "X-Frontdesk-User-Id": "u_1001",
            "X-Frontdesk-User-Hash": user_hash("x" * 40, "u_1001"),
        }
    return {"X-Frontdesk-Identity": sample_token(SECRET, identity)}


def problems(case: dict[str, Any], events: list[SSEEvent], calls: int) -> list[str]:
    text = text_of(events)
    done = next(e.data for e in events if e.event == "done")
    offers = [e.data for e in events if e.event == "action_confirm"]
    cited = [c["title"] for e in events if e.event == "citations" for c in e.data["citations"]]
    found = [f"missing {f!r}" for f in case["facts"] if f not in text]
    found += [f"must not say {m!r}" for m in case["must_not"] if m in text]
    expect = case["expect"]
    if expect == "answer" and (done["finish_reason"] != "action" or not cited):
        found.append(f"not answered from the action ({done['finish_reason']})")
    if expect == "confirm" and [o["action"] for o in offers] != [case["action"]]:
        found.append(f"no confirmation button for {case['action']}")
    if expect == "sign_in" and (done["finish_reason"] != "needs_identity" or calls):
        found.append(f"not refused for lack of identity ({done['finish_reason']}, {calls} calls)")
    if expect == "documents" and (done["finish_reason"].startswith("action") or offers):
        found.append(f"routed to an action ({done['finish_reason']})")
    if expect in ("confirm", "documents", "sign_in") and calls:
        found.append(f"the company API was called {calls} times")
    return found


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory, company: Northwind) -> Iterator[ChatApp]:
    with pytest.MonkeyPatch.context() as patch:
        identity_env(patch, company.url)
        patch.setenv("NORTHWIND_USER_HASH_SECRET", HMAC_SECRET)
        settings = migrated_settings(tmp_path_factory.mktemp("action-answers"))
        with chat_app(settings, company) as running:
            yield running


def test_the_action_golden_set(chat: ChatApp, api: Northwind) -> None:
    failures: dict[str, list[str]] = {}
    for case in CASES:
        api.state.calls.clear()
        headers = headers_for(case["identity"])
        cid = conversation(chat, headers)
        events: list[SSEEvent] = []
        for turn in case["turns"]:
            events = ask(chat, cid, turn, headers)
        found = problems(case, events, len(api.state.calls))
        if found:
            failures[case["id"]] = found
    passed = len(CASES) - len(failures)
    print(f"action answers: {passed}/{len(CASES)} cases fully correct")
    assert not failures, failures
    assert api.state.resent == [] and api.state.tickets == []  # nothing changed unconfirmed
