"""The SQL conversation store: one SQLAlchemy Core implementation for SQLite and PostgreSQL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import bindparam, func, insert, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from frontdesk.domain import (
    Conversation,
    ConversationStatus,
    MessageStatus,
    Role,
    StoredMessage,
    TurnRecord,
)
from frontdesk.errors import Conflict, NotFound
from frontdesk.memory import privacy, rows, sqlite_direct
from frontdesk.memory.base import AddedMessage, Exchange, TurnSignal
from frontdesk.memory.dialects import DEFER, LAST, WRITE_OPTION, create_engine
from frontdesk.memory.schema import conversation_signals, conversations, messages, turns
from frontdesk.memory.sqlite_direct import Rollback, execute

__all__ = ["SqlMemoryStore", "create_engine"]

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return str(uuid.uuid4())


def sortable_id() -> str:
    """36 characters that sort by creation (nanoseconds first), for same-timestamp ties
    (the ids of ``conversation_signals``, as escalation/tickets.py makes them)."""
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:15]}"


class SqlMemoryStore:
    """:class:`~frontdesk.memory.base.MemoryStore` on an :class:`AsyncEngine`.

    Every method runs in its own transaction. Message sequence numbers are
    assigned inside the inserting statement; a concurrent writer that takes
    the same number hits the ``(conversation_id, seq)`` unique constraint and
    the insert is retried.
    """

    def __init__(self, engine: AsyncEngine, *, clock: Clock = utc_now, seq_retries: int = 10):
        self._engine = engine
        self.owner: str | None = None
        """This worker's id, stored on the pending answers it inserts (chat/leases.py)."""
        self._writer = engine.execution_options(**{WRITE_OPTION: True})
        self._clock = clock
        self._seq_retries = seq_retries
        self._direct = sqlite_direct.for_engine(engine)
        """A SQLite file's turn transactions in one hand-off each (None: SQLAlchemy's path)."""

    @classmethod
    def from_url(cls, url: str, *, clock: Clock = utc_now) -> SqlMemoryStore:
        return cls(create_engine(url), clock=clock)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    # --- conversations ---------------------------------------------------

    async def create_conversation(
        self, *, tenant_id: str, bot_id: str, metadata: dict[str, Any] | None = None
    ) -> Conversation:
        now = self._clock()
        values: dict[str, Any] = {
            "id": new_id(),
            "tenant_id": tenant_id,
            "bot_id": bot_id,
            "status": "bot",
            "title": None,
            "summary": None,
            "summary_through_seq": 0,
            "metadata": dict(metadata or {}),
            "created_at": now,
            "updated_at": now,
        }
        async with self._writer.begin() as conn:
            await conn.execute(insert(conversations).values(values))
        return rows.conversation(values)

    async def get_conversation(self, conversation_id: str) -> Conversation | None:
        async with self._engine.connect() as conn:
            row = await self._conversation_row(conn, conversation_id, last=True)
        return None if row is None else rows.conversation(row)

    async def conversation_with_messages(
        self, conversation_id: str
    ) -> tuple[Conversation | None, list[StoredMessage]]:
        """The conversation and its messages (oldest first), read in one transaction."""
        if self._direct is not None:
            return await self._direct_conversation_with_messages(conversation_id)
        async with self._engine.connect() as conn:
            row = await self._conversation_row(conn, conversation_id)
            if row is None:
                return None, []
            result = await conn.execute(
                _MESSAGES_LAST, {"b_conversation": conversation_id, "b_after": 0}
            )
            found = [rows.message(r) for r in result.mappings()]
        return rows.conversation(row), found

    async def _direct_conversation_with_messages(
        self, conversation_id: str
    ) -> tuple[Conversation | None, list[StoredMessage]]:
        direct = self._direct
        assert direct is not None
        conversation, listed = direct.prepare(_CONVERSATION), direct.prepare(_MESSAGES)
        by_id = conversation.bind({"b_id": conversation_id})
        after = listed.bind({"b_conversation": conversation_id, "b_after": 0})

        def read(db: Any) -> Any:
            found = execute(db, conversation, by_id).fetchall()
            if not found:
                return Rollback((None, []))
            return found[0], execute(db, listed, after).fetchall()

        row, found = await direct.read(read)
        if row is None:
            return None, []
        return rows.conversation(conversation.row(row)), [
            rows.message(listed.row(r)) for r in found
        ]

    async def set_summary(self, conversation_id: str, summary: str, through_seq: int) -> None:
        """Store ``summary`` covering messages up to ``through_seq``.

        A summary never moves backwards: an older one (lower ``through_seq``)
        arriving after a newer one is ignored.
        """
        async with self._writer.begin() as conn:
            result = await conn.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id)
                .where(conversations.c.summary_through_seq <= through_seq)
                .values(summary=summary, summary_through_seq=through_seq)
            )
            if result.rowcount == 0 and await self._conversation_row(conn, conversation_id) is None:
                raise NotFound(f"conversation {conversation_id} not found")

    async def set_status(self, conversation_id: str, status: ConversationStatus) -> None:
        async with self._writer.begin() as conn:
            result = await conn.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id)
                .values(status=status, updated_at=self._clock())
            )
            if result.rowcount == 0:
                raise NotFound(f"conversation {conversation_id} not found")

    async def update_conversation_metadata(
        self, conversation_id: str, change: Callable[[dict[str, Any]], dict[str, Any]]
    ) -> Conversation:
        """Replace a conversation's metadata with ``change(current)``, atomically: the row is
        locked from the read to the write (``FOR UPDATE`` on PostgreSQL; SQLite's
        ``BEGIN IMMEDIATE`` writer). ``change`` is pure and may be called once per attempt."""
        async with self._writer.begin() as conn:
            query = select(conversations).where(conversations.c.id == conversation_id)
            row = (await conn.execute(query.with_for_update())).mappings().first()
            if row is None:
                raise NotFound(f"conversation {conversation_id} not found")
            values = dict(row)
            values["metadata"] = change(dict(values["metadata"] or {}))
            values["updated_at"] = self._clock()
            await conn.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id)
                .values(metadata=values["metadata"], updated_at=values["updated_at"])
            )
        return rows.conversation(values)

    async def erase_conversation(self, conversation_id: str) -> None:
        """Delete the conversation with its messages and turns. Erasing twice is fine."""
        await privacy.erase_conversations(self._engine, [conversation_id])

    # --- messages --------------------------------------------------------

    async def list_messages(
        self, conversation_id: str, *, after_seq: int = 0
    ) -> list[StoredMessage]:
        async with self._engine.connect() as conn:
            result = await conn.execute(
                _MESSAGES_LAST, {"b_conversation": conversation_id, "b_after": after_seq}
            )
            return [rows.message(row) for row in result.mappings()]

    async def add_message(
        self,
        conversation_id: str,
        *,
        role: Role,
        content: str,
        status: MessageStatus = "complete",
        client_message_id: str | None = None,
        reply_to: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> AddedMessage:
        """Append a message; a repeated ``client_message_id`` returns the stored one."""
        if client_message_id is not None:
            stored = await self._by_client_id(conversation_id, client_message_id)
            if stored is not None:
                return AddedMessage(stored, created=False)
        values: dict[str, Any] = {
            "conversation_id": conversation_id,
            "role": role,
            "content": content,
            "status": status,
            "error": None,
            "client_message_id": client_message_id,
            "reply_to": reply_to,
            "metadata": dict(metadata or {}),
            "completed_at": None,
        }
        for _ in range(self._seq_retries):
            try:
                return await self._insert_message(values)
            except IntegrityError:
                if client_message_id is not None:
                    stored = await self._by_client_id(conversation_id, client_message_id)
                    if stored is not None:
                        return AddedMessage(stored, created=False)
                # Another writer took the same seq: try again with a fresh one.
        raise Conflict(f"could not append to conversation {conversation_id}: too much contention")

    async def _insert_message(self, values: dict[str, Any]) -> AddedMessage:
        conversation_id = values["conversation_id"]
        now = self._clock()
        async with self._writer.begin() as conn:
            # Touching the conversation first locks its row (PostgreSQL) or
            # the database (SQLite), so concurrent appends queue up here.
            touched = await conn.execute(
                update(conversations)
                .where(conversations.c.id == conversation_id)
                .values(updated_at=now)
            )
            if touched.rowcount == 0:
                raise NotFound(f"conversation {conversation_id} not found")
            client_id = values["client_message_id"]
            if client_id is not None:
                stored = await self._by_client_id(conversation_id, client_id, conn)
                if stored is not None:
                    return AddedMessage(stored, created=False)
            row = {**values, "id": new_id(), "created_at": now}
            row["owner"] = self.owner if values["status"] == "pending" else None
            if values["status"] in ("complete", "failed"):
                row["completed_at"] = now
            result = await conn.execute(_INSERT_NEXT, {**row, "b_conversation": conversation_id})
            row["seq"] = result.scalar_one()
        return AddedMessage(rows.message(row), created=True)

    async def add_exchange(
        self,
        conversation_id: str,
        *,
        content: str,
        client_message_id: str | None = None,
        if_status: ConversationStatus = "bot",
    ) -> Exchange | None:
        """The customer's message and the bot's pending reply in one transaction (one hop to
        the database instead of two appends), while the conversation's status is ``if_status``
        (checked under the row lock, so a hand-off to a person in between is never missed)."""
        for _ in range(self._seq_retries):
            try:
                return await self._insert_exchange(
                    conversation_id, content, client_message_id, if_status
                )
            except IntegrityError:
                pass  # another writer took the same seq (or client id): look again
        raise Conflict(f"could not append to conversation {conversation_id}: too much contention")

    async def _insert_exchange(
        self,
        conversation_id: str,
        content: str,
        client_message_id: str | None,
        if_status: ConversationStatus,
    ) -> Exchange | None:
        now = self._clock()
        user, reply = self._exchange_rows(conversation_id, content, client_message_id, now)
        if self._direct is not None:
            return await self._direct_exchange(conversation_id, if_status, now, user, reply)
        async with self._writer.begin() as conn:
            touched = await conn.execute(
                _TOUCH_IF_STATUS, {"b_id": conversation_id, "b_status": if_status, "b_now": now}
            )
            if touched.rowcount == 0:
                return None
            if client_message_id is not None:
                stored = await self._by_client_id(conversation_id, client_message_id, conn)
                if stored is not None:
                    return Exchange(AddedMessage(stored, created=False), None)
            # both take the next number inside the statement; the conversation's row is
            # locked, so nobody appends between them (SQLite: one hand-off, then committed)
            await conn.execute(_INSERT_NEXT_DEFERRED, {**user, "b_conversation": conversation_id})
            result = await conn.execute(
                _INSERT_NEXT_LAST, {**reply, "b_conversation": conversation_id}
            )
            reply["seq"] = result.scalar_one()
            user["seq"] = reply["seq"] - 1
        return Exchange(AddedMessage(rows.message(user), created=True), rows.message(reply))

    def _exchange_rows(
        self, conversation_id: str, content: str, client_message_id: str | None, now: datetime
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The customer's message and the pending reply, as rows (without their seq)."""
        user: dict[str, Any] = {
            "id": new_id(),
            "conversation_id": conversation_id,
            "role": "user",
            "content": content,
            "status": "complete",
            "error": None,
            "client_message_id": client_message_id,
            "reply_to": None,
            "metadata": {},
            "created_at": now,
            "completed_at": now,
            "owner": None,
        }
        reply = {
            **user,
            "id": new_id(),
            "role": "assistant",
            "content": "",
            "status": "pending",
            "client_message_id": None,
            "reply_to": user["id"],
            "completed_at": None,
            "owner": self.owner,
        }
        return user, reply

    async def _direct_exchange(
        self,
        conversation_id: str,
        if_status: ConversationStatus,
        now: datetime,
        user: dict[str, Any],
        reply: dict[str, Any],
    ) -> Exchange | None:
        """:meth:`_insert_exchange`'s transaction on SQLite's own thread: the same
        statements, checks and order, one hand-off."""
        direct = self._direct
        assert direct is not None
        client_id = user["client_message_id"]
        touch = direct.prepare(_TOUCH_IF_STATUS)
        touch_params = touch.bind({"b_id": conversation_id, "b_status": if_status, "b_now": now})
        by_client = direct.prepare(_BY_CLIENT_ID)
        client_params = by_client.bind({"b_conversation": conversation_id, "b_client": client_id})
        user_values = {**user, "b_conversation": conversation_id}
        reply_values = {**reply, "b_conversation": conversation_id}
        insert_user = direct.prepare(_INSERT_NEXT_DEFERRED, user_values)
        insert_reply = direct.prepare(_INSERT_NEXT_LAST, reply_values)
        user_params, reply_params = insert_user.bind(user_values), insert_reply.bind(reply_values)

        def write(db: Any) -> tuple[str, Any] | None:
            if execute(db, touch, touch_params).rowcount == 0:
                return None
            if client_id is not None:
                stored = execute(db, by_client, client_params).fetchall()
                if stored:
                    return "stored", stored[0]
            execute(db, insert_user, user_params)
            return "added", execute(db, insert_reply, reply_params).fetchall()[0]

        result = await direct.write(write)
        if result is None:
            return None
        kind, row = result
        if kind == "stored":  # the client's id again: the message stored then
            return Exchange(AddedMessage(rows.message(by_client.row(row)), created=False), None)
        reply["seq"] = insert_reply.row(row)["seq"]
        user["seq"] = reply["seq"] - 1
        return Exchange(AddedMessage(rows.message(user), created=True), rows.message(reply))

    async def find_reply(self, user_message_id: str) -> StoredMessage | None:
        query = (
            select(messages)
            .where(messages.c.reply_to == user_message_id)
            .where(messages.c.role == "assistant")
            .order_by(messages.c.seq.desc())
            .limit(1)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else rows.message(row)

    async def get_message(self, message_id: str) -> StoredMessage | None:
        async with self._engine.connect() as conn:
            query = select(messages).where(messages.c.id == message_id)
            row = (await conn.execute(query)).mappings().first()
        return None if row is None else rows.message(row)

    async def list_queued_messages(self, limit: int = 20) -> list[StoredMessage]:
        """Queued answers (every provider was down), oldest first."""
        query = (
            select(messages)
            .where(messages.c.status == "queued")
            .order_by(messages.c.created_at, messages.c.id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            found = (await conn.execute(query)).mappings().all()
        return [rows.message(r) for r in found]

    async def claim_queued_message(self, message_id: str) -> bool:
        """queued → answering, atomically: exactly one worker wins a message.

        The claim's time is kept in ``completed_at`` until the answer finishes, so
        :meth:`requeue_answering` can tell a dead worker's claim from a live one's.
        """
        query = (
            update(messages)
            .where(messages.c.id == message_id, messages.c.status == "queued")
            .values(status="answering", completed_at=self._clock())
        )
        async with self._writer.begin() as conn:
            return bool((await conn.execute(query)).rowcount)

    async def requeue_answering(self, *, claimed_before: datetime | None = None) -> int:
        """answering → queued, for answers a stopped process was working on.

        With ``claimed_before`` only claims older than that (other workers may be
        answering the newer ones); without it every claim (one process owns the database).
        """
        query = update(messages).where(messages.c.status == "answering").values(status="queued")
        if claimed_before is not None:
            query = query.where(
                or_(messages.c.completed_at.is_(None), messages.c.completed_at < claimed_before)
            )
        async with self._writer.begin() as conn:
            return (await conn.execute(query)).rowcount

    async def merge_message_metadata(self, message_id: str, values: dict[str, Any]) -> None:
        """Merge ``values`` into a message's metadata (e.g. customer feedback)."""
        async with self._writer.begin() as conn:
            query = select(messages.c.metadata).where(messages.c.id == message_id)
            row = (await conn.execute(query)).first()
            if row is None:
                raise NotFound(f"message {message_id} not found")
            merged = {**dict(row[0] or {}), **values}
            await conn.execute(
                update(messages).where(messages.c.id == message_id).values(metadata=merged)
            )

    async def fail_pending_messages(
        self, *, error: str, created_before: datetime | None = None, message_id: str | None = None
    ) -> int:
        """Mark messages left ``pending`` (by a crashed process) as ``failed``; with
        ``message_id`` only that one (a turn that never ran)."""
        query = (
            update(messages)
            .where(messages.c.status == "pending")
            .values(status="failed", error=error, completed_at=self._clock())
        )
        if created_before is not None:
            query = query.where(messages.c.created_at < created_before)
        if message_id is not None:
            query = query.where(messages.c.id == message_id)
        async with self._writer.begin() as conn:
            return (await conn.execute(query)).rowcount

    # --- turns -----------------------------------------------------------

    async def complete_turn(
        self,
        *,
        assistant_message_id: str,
        content: str,
        status: MessageStatus,
        error: str | None,
        turn: TurnRecord,
        metadata: dict[str, Any] | None = None,
        signal: TurnSignal | None = None,
    ) -> list[str]:
        """Finish the assistant message and insert ``turn`` in one transaction, with
        ``metadata`` merged into the message's and ``signal`` stored (a
        ``conversation_signals`` row); returns the kinds of the conversation's newest
        ``signal.recent`` signals, this one included, newest first ([] without a signal).

        Raises :class:`NotFound` for an unknown message and :class:`Conflict`
        when the turn cannot be stored (e.g. its id is taken); either way
        nothing is changed.
        """
        if turn.assistant_message_id not in (None, assistant_message_id):
            raise ValueError("turn.assistant_message_id differs from assistant_message_id")
        try:
            return await self._complete_turn(
                assistant_message_id, content, status, error, turn, metadata, signal
            )
        except IntegrityError as exc:
            raise Conflict(f"turn {turn.id} could not be recorded: {exc.orig}") from exc

    async def _complete_turn(
        self,
        assistant_message_id: str,
        content: str,
        status: MessageStatus,
        error: str | None,
        turn: TurnRecord,
        metadata: dict[str, Any] | None,
        signal: TurnSignal | None,
    ) -> list[str]:
        now = self._clock()
        values = {
            "b_id": assistant_message_id,
            "b_conversation": turn.conversation_id,
            "b_content": content,
            "b_status": status,
            "b_error": error,
            "b_now": now,
        }
        if self._direct is not None:
            return await self._direct_complete_turn(values, turn, now, metadata, signal)
        async with self._writer.begin() as conn:
            # SQLite: this statement is one hand-off; the rest travel with the last one
            if metadata:
                row = (await conn.execute(_FINISH_MESSAGE_METADATA, values)).first()
                finished = row is not None
            else:
                finished = bool((await conn.execute(_FINISH_MESSAGE, values)).rowcount)
            if not finished:
                raise NotFound(
                    f"message {assistant_message_id} not found in "
                    f"conversation {turn.conversation_id}"
                )
            if metadata and row is not None:
                merged = {**dict(row[0] or {}), **metadata}
                await conn.execute(
                    _SET_METADATA, {"b_id": assistant_message_id, "b_metadata": merged}
                )
            await conn.execute(_INSERT_TURN, rows.turn_values(turn, now=now))
            await conn.execute(_TOUCH_DEFERRED, {"b_id": turn.conversation_id, "b_now": now})
            if signal is None:
                return []
            signal_row = {
                "id": sortable_id(),
                "conversation_id": turn.conversation_id,
                "kind": signal.kind,
                "detail": signal.detail,
                "created_at": now,
            }
            await conn.execute(_INSERT_SIGNAL, signal_row)
            found = await conn.execute(
                _RECENT_SIGNALS, {"b_conversation": turn.conversation_id, "b_limit": signal.recent}
            )
            return [cast(str, k) for k in found.scalars()]

    async def _direct_complete_turn(
        self,
        values: dict[str, Any],
        turn: TurnRecord,
        now: datetime,
        metadata: dict[str, Any] | None,
        signal: TurnSignal | None,
    ) -> list[str]:
        """:meth:`_complete_turn`'s transaction on SQLite's own thread: the same statements,
        checks and order, one hand-off."""
        direct = self._direct
        assert direct is not None
        finish = direct.prepare(_FINISH_MESSAGE_METADATA if metadata else _FINISH_MESSAGE)
        finish_params = finish.bind(values)
        set_metadata = direct.prepare(_SET_METADATA)
        turn_values = rows.turn_values(turn, now=now)
        insert_turn = direct.prepare(_INSERT_TURN, turn_values)
        turn_params = insert_turn.bind(turn_values)
        touch = direct.prepare(_TOUCH_DEFERRED)
        touch_params = touch.bind({"b_id": turn.conversation_id, "b_now": now})
        if signal is not None:
            signal_row = {
                "id": sortable_id(),
                "conversation_id": turn.conversation_id,
                "kind": signal.kind,
                "detail": signal.detail,
                "created_at": now,
            }
            insert_signal = direct.prepare(_INSERT_SIGNAL, signal_row)
            signal_params = insert_signal.bind(signal_row)
            recent = direct.prepare(_RECENT_SIGNALS)
            recent_params = recent.bind(
                {"b_conversation": turn.conversation_id, "b_limit": signal.recent}
            )
        message_id = values["b_id"]

        def write(db: Any) -> Any:
            if metadata:
                found = execute(db, finish, finish_params).fetchall()
                if not found:
                    return Rollback(None)
                merged = {**dict(finish.row(found[0])["metadata"] or {}), **metadata}
                merge = set_metadata.bind({"b_id": message_id, "b_metadata": merged})
                execute(db, set_metadata, merge)
            elif execute(db, finish, finish_params).rowcount == 0:
                return Rollback(None)
            execute(db, insert_turn, turn_params)
            execute(db, touch, touch_params)
            if signal is None:
                return []
            execute(db, insert_signal, signal_params)
            return [recent.row(r)["kind"] for r in execute(db, recent, recent_params).fetchall()]

        kinds = await direct.write(write)
        if kinds is None:
            raise NotFound(f"message {message_id} not found in conversation {turn.conversation_id}")
        return cast(list[str], kinds)

    async def list_turns(self, conversation_id: str) -> list[TurnRecord]:
        """Turns in the order they happened (time, then the user message's seq)."""
        user_message = messages.alias("user_message")
        query = (
            select(turns)
            .select_from(
                turns.outerjoin(user_message, user_message.c.id == turns.c.user_message_id)
            )
            .where(turns.c.conversation_id == conversation_id)
            .order_by(turns.c.created_at, user_message.c.seq, turns.c.id)
        )
        async with self._engine.connect() as conn:
            result = await conn.execute(query)
            return [rows.turn(row) for row in result.mappings()]

    # --- replay, retention, erasure, export (queries in memory/privacy.py) ---

    async def get_turn(self, turn_id: str) -> TurnRecord | None:
        return await privacy.get_turn(self._engine, turn_id)

    async def tenant_ids(self) -> list[str]:
        return await privacy.tenant_ids(self._engine)

    async def idle_conversations(
        self, tenant_id: str, *, before: datetime, limit: int = 500
    ) -> list[str]:
        return await privacy.idle_conversations(self._engine, tenant_id, before, limit)

    async def user_conversations(self, tenant_id: str, user: privacy.UserRef) -> list[str]:
        return await privacy.user_conversations(self._engine, tenant_id, user)

    async def erase_conversations(self, conversation_ids: Sequence[str]) -> int:
        return await privacy.erase_conversations(self._engine, conversation_ids)

    async def export_conversation(self, conversation_id: str) -> privacy.ConversationExport | None:
        return await privacy.export_conversation(self._engine, conversation_id)

    # --- lifecycle -------------------------------------------------------

    async def ping(self) -> None:
        async with self._engine.connect() as conn:
            await conn.execute(select(literal(1)))

    async def close(self) -> None:
        await self._engine.dispose()

    # --- helpers ---------------------------------------------------------

    @staticmethod
    async def _conversation_row(
        conn: AsyncConnection, conversation_id: str, *, last: bool = False
    ) -> Any:
        query = _CONVERSATION_LAST if last else _CONVERSATION
        return (await conn.execute(query, {"b_id": conversation_id})).mappings().first()

    async def _by_client_id(
        self, conversation_id: str, client_message_id: str, conn: AsyncConnection | None = None
    ) -> StoredMessage | None:
        values = {"b_conversation": conversation_id, "b_client": client_message_id}
        if conn is not None:
            row = (await conn.execute(_BY_CLIENT_ID, values)).mappings().first()
        else:
            async with self._engine.connect() as own:
                row = (await own.execute(_BY_CLIENT_ID, values)).mappings().first()
        return None if row is None else rows.message(row)


# The turn path's statements, built once: a statement object executed again keeps its cache
# key, so SQLAlchemy neither rebuilds nor re-hashes it on every turn (the values are bound).
#
# Marked statements (memory/dialects.py DEFER and LAST) cost SQLite's driver no hand-off of
# their own: a deferred write travels with the next statement, the last statement of a
# transaction carries the commit. PostgreSQL runs them as usual.
_CONVERSATION = select(conversations).where(conversations.c.id == bindparam("b_id"))
_CONVERSATION_LAST = _CONVERSATION.execution_options(**LAST)
_MESSAGES = (
    select(messages)
    .where(messages.c.conversation_id == bindparam("b_conversation"))
    .where(messages.c.seq > bindparam("b_after"))
    .order_by(messages.c.seq)
)
_MESSAGES_LAST = _MESSAGES.execution_options(**LAST)
_BY_CLIENT_ID = (
    select(messages)
    .where(messages.c.conversation_id == bindparam("b_conversation"))
    .where(messages.c.client_message_id == bindparam("b_client"))
)
_TOUCH = (
    update(conversations)
    .where(conversations.c.id == bindparam("b_id"))
    .values(updated_at=bindparam("b_now"))
)
_TOUCH_DEFERRED = _TOUCH.execution_options(**DEFER)
_TOUCH_IF_STATUS = _TOUCH.where(conversations.c.status == bindparam("b_status"))
_NEXT_SEQ = (
    select(func.coalesce(func.max(messages.c.seq), 0) + literal(1))
    .where(messages.c.conversation_id == bindparam("b_conversation"))
    .scalar_subquery()
)
_INSERT_NEXT = insert(messages).values(seq=_NEXT_SEQ).returning(messages.c.seq)
"""Executed with every column's value but ``seq`` (the next number, inside the statement)."""
_INSERT_NEXT_DEFERRED = insert(messages).values(seq=_NEXT_SEQ).execution_options(**DEFER)
_INSERT_NEXT_LAST = _INSERT_NEXT.execution_options(**LAST)
_FINISH_MESSAGE = (
    update(messages)
    .where(messages.c.id == bindparam("b_id"))
    .where(messages.c.conversation_id == bindparam("b_conversation"))
    .values(
        content=bindparam("b_content"),
        status=bindparam("b_status"),
        error=bindparam("b_error"),
        completed_at=bindparam("b_now"),
    )
)
_FINISH_MESSAGE_METADATA = _FINISH_MESSAGE.returning(messages.c.metadata)
_SET_METADATA = (
    update(messages)
    .where(messages.c.id == bindparam("b_id"))
    .values(metadata=bindparam("b_metadata"))
    .execution_options(**DEFER)
)
_INSERT_TURN = insert(turns).execution_options(**DEFER)
_INSERT_SIGNAL = insert(conversation_signals).execution_options(**DEFER)
_RECENT_SIGNALS = (
    select(conversation_signals.c.kind)
    .where(conversation_signals.c.conversation_id == bindparam("b_conversation"))
    .order_by(conversation_signals.c.created_at.desc(), conversation_signals.c.id.desc())
    .limit(bindparam("b_limit"))
    .execution_options(**LAST)
)
