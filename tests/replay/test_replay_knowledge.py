"""Replays of answers grounded in documents: a generative answer through the output guard
(canary, groundedness, citations) and an extractive one, each reproduced exactly."""

from __future__ import annotations

import httpx
import pytest

from frontdesk.config import AnswerConfig, EndpointConfig, KnowledgeConfig
from frontdesk.guard.config import GuardConfig
from frontdesk.providers.base import ChatRequest
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from tests.apphelpers import Running, new_conversation, send, text_of
from tests.conftest import make_bot
from tests.rag.test_grounded_answers import DOCS, _ingest
from tests.replay.test_replay_api import replay, turns_of


@pytest.fixture
def kb_settings(migrated: Settings) -> Settings:
    _ingest(migrated, DOCS)
    return migrated


def _answer(request: ChatRequest) -> str:
    if "full refund within 14 days" in request.messages[0].content:
        return "Annual plans get a full refund within 14 days of purchase [1]. Also see [9]."
    return "I do not know."


def _bot(**update: object) -> object:
    other = EndpointConfig(
        name="other", dialect="scripted", model="other-2", script=["Refunds are not possible."]
    )
    bot = make_bot()
    return bot.model_copy(
        update={
            "knowledge": KnowledgeConfig(),
            "endpoints": [*bot.endpoints, other],
            **update,
        }
    )


def _ask(client: httpx.Client) -> str:
    cid = new_conversation(client)
    answer = text_of(send(client, cid, "How do refunds work if I cancel my annual plan?"))
    assert "14 days" in answer
    return cid


def test_generative_answer_with_guard_and_citations(
    kb_settings: Settings, running: Running
) -> None:
    bot = _bot(guard=GuardConfig())
    with running(ScriptedProvider(responder=_answer), bot=bot) as client:
        cid = _ask(client)
        [turn] = turns_of(kb_settings, cid)
        inputs = turn.inputs
        assert inputs["kind"] == "generative"
        assert inputs["canary"] and inputs["canary"] in inputs["messages"][0]["content"]
        assert inputs["sources"][0]["title"] == "Refund Policy"
        assert [c["index"] for c in inputs["citations"]] == [s["index"] for s in inputs["sources"]]
        body = replay(client, turn.id).json()
        assert body["same"] is True, (body["changed"], body["diff"])
        assert body["replayed"]["content"].endswith("[1]. Also see.")
        assert body["replayed"]["citations"][0]["title"] == "Refund Policy"
        assert any(v["stage"] == "output" for v in body["replayed"]["verdicts"])
        other = replay(client, turn.id, endpoint="other").json()
        assert other["same"] is False
        assert other["changed"]["citations"] == {
            "stored": [f"[1] {turn.retrieved_chunk_ids[0]}"],
            "replayed": [],
        }
        assert "+Refunds are not possible." in other["diff"]


def test_extractive_answer_is_composed_again(kb_settings: Settings, running: Running) -> None:
    bot = _bot(answer=AnswerConfig(mode="extractive"))
    provider = ScriptedProvider(responder=_answer)
    with running(provider, bot=bot) as client:
        cid = _ask(client)
        [turn] = turns_of(kb_settings, cid)
        assert turn.inputs["kind"] == "extractive"
        assert turn.provider == "policy"
        body = replay(client, turn.id).json()
        assert body["same"] is True, (body["changed"], body["diff"])
        assert body["endpoint"] == "policy"
        assert "14 days" in body["replayed"]["content"]
        assert body["replayed"]["citations"]
        assert provider.requests == []  # no model was called, then or now
        noted = replay(client, turn.id, endpoint="other").json()
        assert noted["same"] is True
        assert "calls no model" in noted["notes"][0]
