"""The summarizer against the scripted provider, and refresh_summary on a real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from frontdesk.domain import MessageStatus, Role, StoredMessage
from frontdesk.errors import ProviderUnavailable
from frontdesk.memory.migrate import upgrade_async
from frontdesk.memory.sql import SqlMemoryStore
from frontdesk.memory.summarizer import INSTRUCTIONS, Summarizer, refresh_summary
from frontdesk.providers.base import ChatRequest
from frontdesk.providers.scripted import ScriptedProvider, Step

T0 = datetime(2026, 11, 30, tzinfo=UTC)


def msg(seq: int, role: Role, content: str, status: MessageStatus = "complete") -> StoredMessage:
    return StoredMessage(
        id=f"m{seq}",
        conversation_id="c",
        seq=seq,
        role=role,
        content=content,
        status=status,
        created_at=T0,
    )


HISTORY = [
    msg(1, "user", "My invoice INV-2211 charged me twice."),
    msg(2, "assistant", "I am sorry about that. Let me check."),
    msg(3, "agent", "I refunded the duplicate charge of $49."),
    msg(4, "assistant", "", status="failed"),
    msg(5, "assistant", "Anything else I can", status="partial"),
]


async def test_summarize_sends_the_transcript_and_returns_the_text() -> None:
    provider = ScriptedProvider.from_texts(["Customer was double charged; refund of $49 done."])
    summarizer = Summarizer(provider, max_tokens=50, timeout_seconds=5)
    summary = await summarizer.summarize("Customer is on the Pro plan.", HISTORY)
    assert summary == "Customer was double charged; refund of $49 done."
    [request] = provider.requests
    assert request.max_output_tokens == 50
    assert request.temperature == 0.0
    system, user = request.messages
    assert (system.role, system.content) == ("system", INSTRUCTIONS)
    assert user.role == "user"
    assert "Previous summary:\nCustomer is on the Pro plan." in user.content
    assert "Customer: My invoice INV-2211 charged me twice." in user.content
    assert "Human agent: I refunded the duplicate charge of $49." in user.content
    assert "Assistant: Anything else I can (interrupted)" in user.content
    assert user.content.count("Assistant:") == 2


async def test_summary_is_bounded_by_max_tokens() -> None:
    provider = ScriptedProvider.from_texts(["word " * 100])
    summary = await Summarizer(provider, max_tokens=7).summarize(None, HISTORY)
    assert summary is not None
    assert provider.tokens.count(summary) == 7


@pytest.mark.parametrize(
    "step",
    [
        Step(fail_before=ProviderUnavailable("down", provider="scripted")),
        Step(text="Customer was charged twice", fail_after_tokens=2),
        Step(text="   "),
    ],
    ids=["fails-before", "fails-mid-stream", "empty"],
)
async def test_provider_failure_returns_none(step: Step) -> None:
    summarizer = Summarizer(ScriptedProvider(steps=[step]), timeout_seconds=5)
    assert await summarizer.summarize("previous", HISTORY) is None


async def test_timeout_returns_none() -> None:
    provider = ScriptedProvider(steps=[Step(text="late", first_token_delay=30)])
    summarizer = Summarizer(provider, timeout_seconds=0.05)
    assert await summarizer.summarize(None, HISTORY) is None


async def test_nothing_to_fold_keeps_the_previous_summary() -> None:
    provider = ScriptedProvider.from_texts(["unused"])
    summarizer = Summarizer(provider)
    assert await summarizer.summarize("kept", [msg(1, "assistant", "", "failed")]) == "kept"
    assert provider.requests == []


async def test_long_transcripts_are_folded_in_batches() -> None:
    def respond(request: ChatRequest) -> str:
        return f"summary{len(provider.requests)}"

    provider = ScriptedProvider(responder=respond, context_length=160)
    history = [msg(i, "user", f"message {i} " + "detail " * 20) for i in range(1, 13)]
    summarizer = Summarizer(provider, max_tokens=20)
    assert await summarizer.summarize(None, history) == f"summary{len(provider.requests)}"
    assert len(provider.requests) > 1
    for request in provider.requests:
        assert provider.tokens.count_messages(request.messages) <= 160 - 20
    second_prompt = provider.requests[1].messages[1].content
    assert second_prompt.startswith("Previous summary:\nsummary1")
    folded = "\n".join(r.messages[1].content for r in provider.requests)
    assert all(f"message {i} " in folded for i in range(1, 13))


def test_invalid_settings() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        Summarizer(ScriptedProvider(), max_tokens=0)
    with pytest.raises(ValueError, match="timeout"):
        Summarizer(ScriptedProvider(), timeout_seconds=0)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqlMemoryStore]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fd.db'}"
    await upgrade_async(url)
    store = SqlMemoryStore.from_url(url)
    yield store
    await store.close()


async def test_refresh_summary_stores_the_folded_range(store: SqlMemoryStore) -> None:
    conversation = await store.create_conversation(tenant_id="t", bot_id="b")
    for i in range(1, 7):
        await store.add_message(conversation.id, role="user", content=f"question {i}")
    provider = ScriptedProvider.from_texts(["Asked questions 1 to 4.", "Asked 1 to 6."])
    summarizer = Summarizer(provider)

    assert await refresh_summary(store, summarizer, conversation.id, 4)
    got = await store.get_conversation(conversation.id)
    assert got is not None
    assert (got.summary, got.summary_through_seq) == ("Asked questions 1 to 4.", 4)
    first = provider.requests[0].messages[1].content
    assert "question 4" in first
    assert "question 5" not in first

    assert not await refresh_summary(store, summarizer, conversation.id, 3)
    assert len(provider.requests) == 1

    assert await refresh_summary(store, summarizer, conversation.id, 6)
    second = provider.requests[1].messages[1].content
    assert "Previous summary:\nAsked questions 1 to 4." in second
    assert "question 4" not in second
    assert "question 6" in second


async def test_refresh_summary_failure_leaves_the_summary(store: SqlMemoryStore) -> None:
    conversation = await store.create_conversation(tenant_id="t", bot_id="b")
    await store.add_message(conversation.id, role="user", content="hello")
    provider = ScriptedProvider(steps=[Step(fail_before=ProviderUnavailable("down"))])
    assert not await refresh_summary(store, Summarizer(provider), conversation.id, 1)
    got = await store.get_conversation(conversation.id)
    assert got is not None
    assert (got.summary, got.summary_through_seq) == (None, 0)
    assert not await refresh_summary(store, Summarizer(provider), "missing", 1)
