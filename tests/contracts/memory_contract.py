"""The contract every :class:`~frontdesk.memory.base.MemoryStore` backend passes.

Subclass :class:`MemoryStoreContract` in a ``Test*`` class and provide a
``store`` fixture yielding a store on a freshly migrated database.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from frontdesk.domain import Conversation, MessageStatus, Role, StoredMessage, TurnRecord, Usage
from frontdesk.errors import Conflict, NotFound
from frontdesk.memory.base import MemoryStore, TurnSignal


def make_turn(
    conversation: Conversation,
    user: StoredMessage,
    assistant: StoredMessage,
    *,
    status: MessageStatus = "complete",
    **overrides: Any,
) -> TurnRecord:
    fields: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "conversation_id": conversation.id,
        "user_message_id": user.id,
        "assistant_message_id": assistant.id,
        "status": status,
        "config_version": "bot-v3",
        "provider": "scripted",
        "model": "scripted-1",
        "params": {"temperature": 0.2, "max_output_tokens": 400, "stop": ["\n\n"]},
        "usage": Usage(input_tokens=120, output_tokens=33, cached_tokens=64),
        "prompt_tokens_counted": 118,
        "ttft_ms": 12.5,
        "total_ms": 340.25,
        "error": None,
        "cost": Decimal("0.00012345"),
        "attempts": [{"provider": "openai", "error": "rate_limited"}, {"provider": "scripted"}],
        "retrieved_chunk_ids": ["chunk-1", "chunk-7"],
        "verdicts": [{"guard": "pii", "action": "redact", "detail": {"kinds": ["email"]}}],
        "created_at": datetime(2026, 11, 30, 2, 30, 15, 123000, tzinfo=UTC),
    }
    fields.update(overrides)
    return TurnRecord(**fields)


class MemoryStoreContract:
    """Shared tests; the subclass supplies the ``store`` fixture."""

    async def _conversation(self, store: MemoryStore) -> Conversation:
        return await store.create_conversation(tenant_id="acme", bot_id="support")

    async def _exchange(
        self, store: MemoryStore, conversation: Conversation, text: str = "Hello"
    ) -> tuple[StoredMessage, StoredMessage]:
        user = (await store.add_message(conversation.id, role="user", content=text)).message
        pending = await store.add_message(
            conversation.id, role="assistant", content="", status="pending", reply_to=user.id
        )
        return user, pending.message

    # --- conversations ---------------------------------------------------

    async def test_create_and_get(self, store: MemoryStore) -> None:
        created = await store.create_conversation(
            tenant_id="acme", bot_id="support", metadata={"channel": "web", "tags": [1, 2]}
        )
        got = await store.get_conversation(created.id)
        assert got == created
        assert got.status == "bot"
        assert got.summary is None
        assert got.summary_through_seq == 0
        assert got.metadata == {"channel": "web", "tags": [1, 2]}
        assert got.created_at.tzinfo is not None
        assert got.created_at.utcoffset() == UTC.utcoffset(None)

    async def test_get_unknown_is_none(self, store: MemoryStore) -> None:
        assert await store.get_conversation(str(uuid.uuid4())) is None

    async def test_conversation_ids_are_unique(self, store: MemoryStore) -> None:
        first, second = await self._conversation(store), await self._conversation(store)
        assert first.id != second.id

    async def test_set_status(self, store: MemoryStore) -> None:
        conversation = await self._conversation(store)
        await store.set_status(conversation.id, "waiting_for_agent")
        got = await store.get_conversation(conversation.id)
        assert got is not None
        assert got.status == "waiting_for_agent"
        assert got.updated_at >= conversation.updated_at

    async def test_set_status_unknown_conversation(self, store: MemoryStore) -> None:
        with pytest.raises(NotFound):
            await store.set_status(str(uuid.uuid4()), "closed")

    async def test_summary_is_stored_and_never_moves_backwards(self, store: MemoryStore) -> None:
        conversation = await self._conversation(store)
        await store.set_summary(conversation.id, "Customer wants a refund.", 4)
        await store.set_summary(conversation.id, "stale summary", 2)
        got = await store.get_conversation(conversation.id)
        assert got is not None
        assert (got.summary, got.summary_through_seq) == ("Customer wants a refund.", 4)
        await store.set_summary(conversation.id, "Refund approved.", 6)
        got = await store.get_conversation(conversation.id)
        assert got is not None
        assert (got.summary, got.summary_through_seq) == ("Refund approved.", 6)

    async def test_summary_unknown_conversation(self, store: MemoryStore) -> None:
        with pytest.raises(NotFound):
            await store.set_summary(str(uuid.uuid4()), "x", 1)

    async def test_update_conversation_metadata_is_atomic(self, store: MemoryStore) -> None:
        conversation = await store.create_conversation(
            tenant_id="acme", bot_id="support", metadata={"channel": "web"}
        )

        def count(metadata: dict[str, Any]) -> dict[str, Any]:
            return {**metadata, "n": int(metadata.get("n", 0)) + 1}

        # concurrent read-modify-writes must not lose an update
        await asyncio.gather(
            *(store.update_conversation_metadata(conversation.id, count) for _ in range(8))
        )
        got = await store.get_conversation(conversation.id)
        assert got is not None
        assert got.metadata == {"channel": "web", "n": 8}
        updated = await store.update_conversation_metadata(
            conversation.id, lambda m: {k: v for k, v in m.items() if k != "n"}
        )
        assert updated.metadata == {"channel": "web"}
        with pytest.raises(NotFound):
            await store.update_conversation_metadata(str(uuid.uuid4()), count)

    # --- messages --------------------------------------------------------

    async def test_messages_are_ordered_by_seq(self, store: MemoryStore) -> None:
        conversation = await self._conversation(store)
        texts = ["one", "two", "three", "four"]
        roles: list[Role] = ["user", "assistant", "agent", "user"]
        for text, role in zip(texts, roles, strict=True):
            added = await store.add_message(conversation.id, role=role, content=text)
            assert added.created
        stored = await store.list_messages(conversation.id)
        assert [m.content for m in stored] == texts
        assert [m.role for m in stored] == roles
        assert [m.seq for m in stored] == [1, 2, 3, 4]
        assert [m.content for m in await store.list_messages(conversation.id, after_seq=2)] == [
            "three",
            "four",
        ]

    async def test_message_fields_round_trip(self, store: MemoryStore) -> None:
        conversation = await self._conversation(store)
        added = await store.add_message(
            conversation.id,
            role="user",
            content="Où est ma facture ? 🧾",
            client_message_id="c-1",
            metadata={"redacted": ["email"]},
        )
        [stored] = await store.list_messages(conversation.id)
        assert stored == added.message
        assert stored.content == "Où est ma facture ? 🧾"
        assert stored.client_message_id == "c-1"
        assert stored.metadata == {"redacted": ["email"]}
        assert stored.status == "complete"
        assert stored.created_at.tzinfo is not None

    async def test_seq_is_per_conversation(self, store: MemoryStore) -> None:
        first, second = await self._conversation(store), await self._conversation(store)
        await store.add_message(first.id, role="user", content="a")
        added = await store.add_message(second.id, role="user", content="b")
        assert added.message.seq == 1

    async def test_add_to_unknown_conversation(self, store: MemoryStore) -> None:
        with pytest.raises(NotFound):
            await store.add_message(str(uuid.uuid4()), role="user", content="hi")

    async def test_client_message_id_is_idempotent(self, store: MemoryStore) -> None:
        conversation = await self._conversation(store)
        first = await store.add_message(
            conversation.id, role="user", content="hi", client_message_id="m-1"
        )
        again = await store.add_message(
            conversation.id, role="user", content="hi (retry)", client_message_id="m-1"
        )
        assert first.created
        assert not again.created
        assert again.message == first.message
        assert len(await store.list_messages(conversation.id)) == 1

    async def test_client_message_id_is_scoped_to_conversation(self, store: MemoryStore) -> None:
        first, second = await self._conversation(store), await self._conversation(store)
        a = await store.add_message(first.id, role="user", content="x", client_message_id="same")
        b = await store.add_message(second.id, role="user", content="x", client_message_id="same")
        assert a.created
        assert b.created
        assert a.message.id != b.message.id

    async def test_concurrent_duplicates_store_one_message(self, store: MemoryStore) -> None:
        conversation = await self._conversation(store)
        results = await asyncio.gather(
            *(
                store.add_message(
                    conversation.id, role="user", content="hi", client_message_id="dup"
                )
                for _ in range(12)
            )
        )
        assert sum(r.created for r in results) == 1
        assert len({r.message.id for r in results}) == 1
        assert len(await store.list_messages(conversation.id)) == 1

    async def test_concurrent_appends_get_distinct_seqs(self, store: MemoryStore) -> None:
        conversation = await self._conversation(store)
        results = await asyncio.gather(
            *(store.add_message(conversation.id, role="user", content=f"m{i}") for i in range(20))
        )
        assert all(r.created for r in results)
        stored = await store.list_messages(conversation.id)
        assert [m.seq for m in stored] == list(range(1, 21))
        assert sorted(m.content for m in stored) == sorted(f"m{i}" for i in range(20))

    # --- turns -----------------------------------------------------------

    async def test_complete_turn(self, store: MemoryStore) -> None:
        conversation = await self._conversation(store)
        user, pending = await self._exchange(store, conversation)
        assert pending.status == "pending"
        turn = make_turn(conversation, user, pending)
        await store.complete_turn(
            assistant_message_id=pending.id,
            content="Hi! How can I help?",
            status="complete",
            error=None,
            turn=turn,
        )
        reply = await store.find_reply(user.id)
        assert reply is not None
        assert (reply.id, reply.content, reply.status, reply.error) == (
            pending.id,
            "Hi! How can I help?",
            "complete",
            None,
        )
        assert reply.seq == pending.seq
        assert await store.list_turns(conversation.id) == [turn]

    async def test_partial_and_failed_answers(self, store: MemoryStore) -> None:
        conversation = await self._conversation(store)
        statuses: list[tuple[MessageStatus, str, str]] = [
            ("partial", "Half an ans", "client disconnected"),
            ("failed", "", "[openai] overloaded (HTTP 529)"),
        ]
        for status, content, error in statuses:
            user, pending = await self._exchange(store, conversation)
            turn = make_turn(conversation, user, pending, status=status, error=error, ttft_ms=None)
            await store.complete_turn(
                assistant_message_id=pending.id,
                content=content,
                status=status,
                error=error,
                turn=turn,
            )
            reply = await store.find_reply(user.id)
            assert reply is not None
            assert (reply.content, reply.status, reply.error) == (content, status, error)
        turns = await store.list_turns(conversation.id)
        assert [(t.status, t.ttft_ms) for t in turns] == [("partial", None), ("failed", None)]

    async def test_complete_turn_is_atomic(self, store: MemoryStore) -> None:
        conversation = await self._conversation(store)
        user, pending = await self._exchange(store, conversation, "first")
        turn = make_turn(conversation, user, pending)
        await store.complete_turn(
            assistant_message_id=pending.id, content="ok", status="complete", error=None, turn=turn
        )
        user2, pending2 = await self._exchange(store, conversation, "second")
        clash = make_turn(conversation, user2, pending2, id=turn.id)
        with pytest.raises(Conflict):
            await store.complete_turn(
                assistant_message_id=pending2.id,
                content="never stored",
                status="complete",
                error=None,
                turn=clash,
            )
        reply = await store.find_reply(user2.id)
        assert reply is not None
        assert (reply.content, reply.status) == ("", "pending")
        assert await store.list_turns(conversation.id) == [turn]

    async def test_complete_turn_with_metadata_and_signal(self, store: MemoryStore) -> None:
        """The answer's metadata (citations) merged into the message's and escalation's
        signal stored in the same transaction; the newest signal kinds come back."""
        conversation = await self._conversation(store)
        kinds: list[list[str]] = []
        for i, kind in enumerate(["answered", "failed_answer", "failed_answer"]):
            user, pending = await self._exchange(store, conversation, f"question {i}")
            await store.merge_message_metadata(pending.id, {"kept": i})
            kinds.append(
                await store.complete_turn(
                    assistant_message_id=pending.id,
                    content=f"answer {i}",
                    status="complete",
                    error=None,
                    turn=make_turn(conversation, user, pending),
                    metadata={"citations": [{"index": 1, "title": "Refunds"}]},
                    signal=TurnSignal(kind, "no answer" if i else "", recent=2),
                )
            )
            reply = await store.find_reply(user.id)
            assert reply is not None and reply.content == f"answer {i}"
            assert reply.metadata == {"kept": i, "citations": [{"index": 1, "title": "Refunds"}]}
        assert kinds == [
            ["answered"],
            ["failed_answer", "answered"],
            ["failed_answer", "failed_answer"],
        ]
        user, pending = await self._exchange(store, conversation, "plain")
        assert (
            await store.complete_turn(
                assistant_message_id=pending.id,
                content="ok",
                status="complete",
                error=None,
                turn=make_turn(conversation, user, pending),
            )
            == []
        )

    async def test_a_turn_that_fails_stores_no_signal(self, store: MemoryStore) -> None:
        conversation = await self._conversation(store)
        user, pending = await self._exchange(store, conversation, "first")
        turn = make_turn(conversation, user, pending)
        signal = TurnSignal("answered", "", recent=5)
        first = await store.complete_turn(
            assistant_message_id=pending.id,
            content="ok",
            status="complete",
            error=None,
            turn=turn,
            signal=signal,
        )
        user2, pending2 = await self._exchange(store, conversation, "second")
        with pytest.raises(Conflict):  # the turn's id is taken: nothing of it is kept
            await store.complete_turn(
                assistant_message_id=pending2.id,
                content="never stored",
                status="complete",
                error=None,
                turn=make_turn(conversation, user2, pending2, id=turn.id),
                metadata={"citations": []},
                signal=TurnSignal("failed_answer", "x", recent=5),
            )
        user3, pending3 = await self._exchange(store, conversation, "third")
        third = await store.complete_turn(
            assistant_message_id=pending3.id,
            content="ok",
            status="complete",
            error=None,
            turn=make_turn(conversation, user3, pending3),
            signal=signal,
        )
        assert (first, third) == (["answered"], ["answered", "answered"])
        reply = await store.find_reply(user2.id)
        assert reply is not None and (reply.status, reply.metadata) == ("pending", {})

    async def test_complete_turn_unknown_message(self, store: MemoryStore) -> None:
        conversation = await self._conversation(store)
        user, pending = await self._exchange(store, conversation)
        ghost = StoredMessage(
            id=str(uuid.uuid4()),
            conversation_id=conversation.id,
            seq=99,
            role="assistant",
            content="",
            status="pending",
            created_at=pending.created_at,
        )
        with pytest.raises(NotFound):
            await store.complete_turn(
                assistant_message_id=ghost.id,
                content="x",
                status="complete",
                error=None,
                turn=make_turn(conversation, user, ghost),
            )
        assert await store.list_turns(conversation.id) == []

    async def test_list_turns_round_trips_every_field(self, store: MemoryStore) -> None:
        conversation = await self._conversation(store)
        user, pending = await self._exchange(store, conversation)
        turn = make_turn(
            conversation,
            user,
            pending,
            cost=Decimal("1234567890.12345678"),
            params={"temperature": 0.7, "nested": {"a": [1, "two", None, True]}},
        )
        await store.complete_turn(
            assistant_message_id=pending.id, content="x", status="complete", error=None, turn=turn
        )
        [stored] = await store.list_turns(conversation.id)
        assert stored == turn
        assert isinstance(stored.cost, Decimal)
        assert stored.cost == Decimal("1234567890.12345678")
        assert stored.created_at == turn.created_at

    async def test_turn_without_created_at_gets_one(self, store: MemoryStore) -> None:
        conversation = await self._conversation(store)
        user, pending = await self._exchange(store, conversation)
        turn = make_turn(conversation, user, pending, created_at=None, cost=Decimal(0))
        await store.complete_turn(
            assistant_message_id=pending.id, content="x", status="complete", error=None, turn=turn
        )
        [stored] = await store.list_turns(conversation.id)
        assert stored.created_at is not None
        assert stored.created_at.tzinfo is not None
        assert stored.cost == Decimal(0)

    async def test_find_reply(self, store: MemoryStore) -> None:
        conversation = await self._conversation(store)
        user, first = await self._exchange(store, conversation)
        second = await store.add_message(
            conversation.id, role="assistant", content="retry", reply_to=user.id
        )
        reply = await store.find_reply(user.id)
        assert reply is not None
        assert reply.id == second.message.id != first.id
        assert await store.find_reply(str(uuid.uuid4())) is None

    async def test_fail_pending_messages(self, store: MemoryStore) -> None:
        conversation = await self._conversation(store)
        user, stale = await self._exchange(store, conversation)
        other = await self._conversation(store)
        _, fresh = await self._exchange(store, other)
        cutoff = fresh.created_at
        marked = await store.fail_pending_messages(error="server restarted", created_before=cutoff)
        assert marked >= 1
        reply = await store.find_reply(user.id)
        assert reply is not None
        assert (reply.id, reply.status, reply.error) == (stale.id, "failed", "server restarted")
        [_, still_pending] = await store.list_messages(other.id)
        assert still_pending.status == "pending"
        assert await store.fail_pending_messages(error="restart") >= 1
        [_, now_failed] = await store.list_messages(other.id)
        assert (now_failed.status, now_failed.error) == ("failed", "restart")

    # --- erase and health ------------------------------------------------

    async def test_erase_cascades(self, store: MemoryStore) -> None:
        keep, erase = await self._conversation(store), await self._conversation(store)
        for conversation in (keep, erase):
            user, pending = await self._exchange(store, conversation)
            await store.complete_turn(
                assistant_message_id=pending.id,
                content="x",
                status="complete",
                error=None,
                turn=make_turn(conversation, user, pending),
            )
        await store.erase_conversation(erase.id)
        assert await store.get_conversation(erase.id) is None
        assert await store.list_messages(erase.id) == []
        assert await store.list_turns(erase.id) == []
        assert len(await store.list_messages(keep.id)) == 2
        assert len(await store.list_turns(keep.id)) == 1
        await store.erase_conversation(erase.id)

    async def test_ping(self, store: MemoryStore) -> None:
        await store.ping()
