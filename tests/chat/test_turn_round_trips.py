"""How many SQL statements and transactions one bare chat turn costs (issue 14: every
statement is a hop to the SQLite thread, so the count is the turn's largest CPU cost)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from frontdesk.memory import sqlite_driver
from frontdesk.memory.migrate import upgrade
from frontdesk.memory.sql import SqlMemoryStore
from frontdesk.providers.scripted import ScriptedProvider
from tests.apphelpers import Running, new_conversation, send, text_of

BACKGROUND = ("FROM escalation_outbox", "WHERE messages.status = ?")
"""The app's pollers (escalation outbox, queued answers): they run beside any turn."""


class Statements:
    """Every SQL statement SQLite runs while :meth:`recording` (BEGIN and COMMIT too, as
    SQLite's trace reports them, whichever path sent them), grouped into transactions,
    without those of the app's background pollers. Install before the app opens its
    connections."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._seen: list[tuple[int, str]] = []
        self._lock = threading.Lock()
        self._on = False
        connect = sqlite3.connect

        def traced(*args: Any, **kwargs: Any) -> sqlite3.Connection:
            db: sqlite3.Connection = connect(*args, **kwargs)
            db.set_trace_callback(lambda statement: self._record(id(db), statement))
            return db

        monkeypatch.setattr(sqlite3, "connect", traced)

    def _record(self, conn: int, statement: str) -> None:
        if self._on:
            with self._lock:
                self._seen.append((conn, " ".join(statement.split())))

    @contextmanager
    def recording(self) -> Iterator[None]:
        self._on = True
        try:
            yield
        finally:
            self._on = False

    def transactions(self) -> list[list[str]]:
        """A transaction is a BEGIN and what its connection runs until the next BEGIN."""
        open_txn: dict[int, list[str]] = {}
        found: list[list[str]] = []
        for conn, statement in self._seen:
            if statement.startswith("BEGIN") or conn not in open_txn:
                open_txn[conn] = []
                found.append(open_txn[conn])
            open_txn[conn].append(statement[:120])
        return [
            txn for txn in found if not any(marker in st for st in txn for marker in BACKGROUND)
        ]


def test_a_bare_turn_is_one_read_and_two_writes(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The conversation and its messages in one read; the customer's message and the pending
    answer in one write; the answer with its turn record and the escalation signal (with
    the recent ones) in the other. (Before: 9 transactions, 26 statements; then 4 and 17.)
    On SQLite each transaction is one hand-off to a connection's thread (14.7 before
    sqlite_driver, then 6 through SQLAlchemy: memory/sqlite_direct.py)."""
    handoffs: list[str] = []
    original = sqlite_driver.Connection._call

    async def counted(self: sqlite_driver.Connection, function: Callable[[], Any]) -> Any:
        handoffs.append(getattr(getattr(function, "func", function), "__name__", "?"))
        return await original(self, function)

    monkeypatch.setattr(sqlite_driver.Connection, "_call", counted)
    sql = Statements(monkeypatch)
    provider = ScriptedProvider(responder=lambda request: "Around the clock.")
    with running(provider) as client:
        cid = new_conversation(client)
        send(client, cid, "When are you open?")
        with sql.recording():
            handoffs.clear()
            events = send(client, cid, "And on Sundays?")
            turn_handoffs = list(handoffs)
        assert text_of(events) == "Around the clock."
    shapes = [[" ".join(st.split()[:2]) for st in txn] for txn in sql.transactions()]
    read = ["BEGIN", "SELECT conversations.id,", "SELECT messages.id,", "COMMIT"]
    exchange = ["BEGIN IMMEDIATE", "UPDATE conversations", "INSERT INTO", "INSERT INTO", "COMMIT"]
    answer = ["BEGIN IMMEDIATE", "UPDATE messages", "INSERT INTO", "UPDATE conversations"]
    answer += ["INSERT INTO", "SELECT conversation_signals.kind", "COMMIT"]
    assert shapes == [read, exchange, answer], sql.transactions()
    assert turn_handoffs == ["_transaction"] * 3, turn_handoffs
    # the memory of the turn is the read of the request: the second message saw the first
    prompt = provider.requests[-1].messages
    assert [m.content for m in prompt if m.role == "user"][-2:] == [
        "When are you open?",
        "And on Sundays?",
    ]


async def test_an_exchange_waits_for_the_bot_status(tmp_path: Path) -> None:
    """Handed to a person between the request's read and its write: nothing is stored, and
    the caller takes the general path (which holds the message for the agent)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    await asyncio.to_thread(upgrade, url)
    store = SqlMemoryStore.from_url(url)
    try:
        conv = await store.create_conversation(tenant_id="t", bot_id="b")
        made = await store.add_exchange(conv.id, content="hi", client_message_id="c1")
        assert made is not None and made.reply is not None and made.user.created
        assert (made.user.message.seq, made.reply.seq) == (1, 2)
        assert made.reply.reply_to == made.user.message.id and made.reply.status == "pending"
        again = await store.add_exchange(conv.id, content="hi", client_message_id="c1")
        assert again is not None and again.reply is None and not again.user.created
        assert again.user.message.id == made.user.message.id
        await store.set_status(conv.id, "agent")
        assert await store.add_exchange(conv.id, content="are you there?") is None
        assert await store.add_exchange("no-such-conversation", content="hi") is None
        assert [m.content for m in await store.list_messages(conv.id)] == ["hi", ""]
        found, listed = await store.conversation_with_messages(conv.id)
        assert found is not None and found.status == "agent" and len(listed) == 2
    finally:
        await store.close()
