"""The memory contract's part for replay, retention, erasure and export.

Mixed into the memory store test classes next to
:class:`~tests.contracts.memory_contract.MemoryStoreContract` (same ``store`` fixture).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from frontdesk.domain import Conversation, StoredMessage
from frontdesk.escalation.priority import REQUESTER_FIELD
from frontdesk.memory.base import MemoryStore
from frontdesk.memory.privacy import UserRef
from frontdesk.memory.schema import escalation_outbox, ticket_notes, tickets
from frontdesk.memory.sql import SqlMemoryStore
from tests.contracts.memory_contract import make_turn


def _requester(session: str | None = None, identity: str | None = None) -> dict[str, Any]:
    return {REQUESTER_FIELD: {"session": session, "address": "a1", "identity": identity}}


class MemoryPrivacyContract:
    async def _answered(
        self, store: MemoryStore, conversation: Conversation, text: str = "Hello"
    ) -> tuple[StoredMessage, StoredMessage, str]:
        user = (await store.add_message(conversation.id, role="user", content=text)).message
        pending = (
            await store.add_message(
                conversation.id, role="assistant", content="", status="pending", reply_to=user.id
            )
        ).message
        turn = make_turn(conversation, user, pending, inputs={"kind": "generative", "v": [1]})
        await store.complete_turn(
            assistant_message_id=pending.id, content="Hi", status="complete", error=None, turn=turn
        )
        return user, pending, turn.id

    async def test_get_turn_round_trips_inputs(self, store: MemoryStore) -> None:
        conversation = await store.create_conversation(tenant_id="acme", bot_id="b")
        _, _, turn_id = await self._answered(store, conversation)
        turn = await store.get_turn(turn_id)
        assert turn is not None
        assert turn.inputs == {"kind": "generative", "v": [1]}
        assert turn == (await store.list_turns(conversation.id))[0]
        assert await store.get_turn(str(uuid.uuid4())) is None

    async def test_idle_conversations_by_tenant_and_last_activity(self, store: MemoryStore) -> None:
        tenant = f"t-{uuid.uuid4().hex[:8]}"
        old = await store.create_conversation(tenant_id=tenant, bot_id="b")
        fresh = await store.create_conversation(tenant_id=tenant, bot_id="b")
        other = await store.create_conversation(tenant_id=tenant + "-x", bot_id="b")
        cutoff = datetime.now(UTC) + timedelta(seconds=1)
        assert await store.idle_conversations(tenant, before=cutoff) == [old.id, fresh.id]
        assert await store.idle_conversations(tenant, before=cutoff, limit=1) == [old.id]
        assert await store.idle_conversations(tenant, before=old.created_at) == []
        # activity moves a conversation's clock: a new message keeps it
        await store.add_message(old.id, role="user", content="still here")
        touched = await store.get_conversation(old.id)
        assert touched is not None
        assert await store.idle_conversations(tenant, before=touched.updated_at) == [fresh.id]
        assert other.id not in await store.idle_conversations(tenant, before=cutoff)
        assert {tenant, tenant + "-x"} <= set(await store.tenant_ids())

    async def test_user_conversations_match_user_id_session_or_key(
        self, store: MemoryStore
    ) -> None:
        tenant = f"t-{uuid.uuid4().hex[:8]}"
        by_user = await store.create_conversation(
            tenant_id=tenant, bot_id="b", metadata={"user_id": "u-1", **_requester("s-9")}
        )
        by_session = await store.create_conversation(
            tenant_id=tenant, bot_id="b", metadata=_requester("s-1")
        )
        by_key = await store.create_conversation(
            tenant_id=tenant, bot_id="b", metadata=_requester(identity="key-1")
        )
        elsewhere = await store.create_conversation(
            tenant_id=tenant + "-x", bot_id="b", metadata={"user_id": "u-1"}
        )
        await store.create_conversation(tenant_id=tenant, bot_id="b", metadata={"user_id": "u-2"})
        assert await store.user_conversations(tenant, UserRef(user_id="u-1")) == [by_user.id]
        assert await store.user_conversations(tenant, UserRef(session="s-1")) == [by_session.id]
        assert await store.user_conversations(tenant, UserRef(session="s-9")) == [by_user.id]
        assert await store.user_conversations(tenant, UserRef(key_id="key-1")) == [by_key.id]
        both = await store.user_conversations(tenant, UserRef(user_id="u-1", key_id="key-1"))
        assert set(both) == {by_user.id, by_key.id}
        assert await store.user_conversations(tenant, UserRef(user_id="nobody")) == []
        assert elsewhere.id in await store.user_conversations(tenant + "-x", UserRef(user_id="u-1"))

    def test_user_ref_needs_a_field(self) -> None:
        with pytest.raises(ValueError, match="user_id, session or key_id"):
            UserRef()

    async def test_erase_conversations_takes_everything_and_only_theirs(
        self, store: MemoryStore
    ) -> None:
        keep = await store.create_conversation(tenant_id="acme", bot_id="b")
        gone = [await store.create_conversation(tenant_id="acme", bot_id="b") for _ in range(3)]
        for conversation in (keep, *gone):
            await self._answered(store, conversation)
        assert isinstance(store, SqlMemoryStore)
        kept_ticket = await _ticket_with_delivery(store, keep.id)
        gone_ticket = await _ticket_with_delivery(store, gone[0].id)
        erased = await store.erase_conversations([c.id for c in gone] + [str(uuid.uuid4())])
        assert erased == 3
        for conversation in gone:
            assert await store.get_conversation(conversation.id) is None
            assert await store.list_turns(conversation.id) == []
            assert await store.export_conversation(conversation.id) is None
        assert len(await store.list_messages(keep.id)) == 2
        both = [kept_ticket, gone_ticket]
        async with store.engine.connect() as conn:
            left = await conn.execute(
                select(escalation_outbox.c.ticket_id).where(escalation_outbox.c.ticket_id.in_(both))
            )
            assert [r[0] for r in left] == [kept_ticket]
            notes = await conn.execute(
                select(ticket_notes.c.ticket_id).where(ticket_notes.c.ticket_id.in_(both))
            )
            assert [r[0] for r in notes] == [kept_ticket]
        assert await store.erase_conversations([c.id for c in gone]) == 0

    async def test_export_holds_messages_turns_and_tickets(self, store: MemoryStore) -> None:
        conversation = await store.create_conversation(
            tenant_id="acme", bot_id="b", metadata={"user_id": "u-7"}
        )
        user, answer, turn_id = await self._answered(store, conversation, "Where is my order?")
        assert isinstance(store, SqlMemoryStore)
        ticket_id = await _ticket_with_delivery(store, conversation.id)
        export = await store.export_conversation(conversation.id)
        assert export is not None
        assert export.conversation.id == conversation.id
        assert export.conversation.metadata == {"user_id": "u-7"}
        assert [(m.id, m.content) for m in export.messages] == [
            (user.id, "Where is my order?"),
            (answer.id, "Hi"),
        ]
        assert [t.id for t in export.turns] == [turn_id]
        [ticket] = export.tickets
        assert ticket["id"] == ticket_id
        assert [n["content"] for n in ticket["notes"]] == ["called the customer"]


async def _ticket_with_delivery(store: SqlMemoryStore, conversation_id: str) -> str:
    """A ticket with a note and an outbox delivery whose payload holds the transcript."""
    ticket_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    async with store.engine.begin() as conn:
        await conn.execute(
            insert(tickets).values(
                id=ticket_id,
                tenant_id="acme",
                conversation_id=conversation_id,
                status="waiting",
                reason="user_request",
                detail="wants a person",
                created_at=now,
            )
        )
        await conn.execute(
            insert(ticket_notes).values(
                id=str(uuid.uuid4()),
                ticket_id=ticket_id,
                author="agent",
                content="called the customer",
                created_at=now,
            )
        )
        await conn.execute(
            insert(escalation_outbox).values(
                id=str(uuid.uuid4()),
                ticket_id=ticket_id,
                sink="webhook",
                payload={"transcript": [{"role": "user", "content": "Hello"}]},
                status="delivered",
                attempts=1,
                next_attempt_at=now,
                created_at=now,
            )
        )
    return ticket_id
