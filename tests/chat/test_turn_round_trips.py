"""How many SQL statements and transactions one bare chat turn costs (issue 14: every
statement is a hop to the SQLite thread, so the count is the turn's largest CPU cost)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from frontdesk.memory import sqlite_driver
from frontdesk.memory.migrate import upgrade
from frontdesk.memory.sql import SqlMemoryStore
from frontdesk.providers.scripted import ScriptedProvider
from tests.apphelpers import Running, new_conversation, send, text_of

BACKGROUND = ("FROM escalation_outbox", "WHERE messages.status = ?")
"""The app's pollers (escalation outbox, queued answers): they run beside any turn."""


@contextmanager
def statements() -> Iterator[list[str]]:
    """Every SQL statement any engine of this process runs while inside (BEGIN and COMMIT
    too), without the transactions of the app's background pollers."""
    seen: list[tuple[int, str]] = []
    lock = threading.Lock()

    def on_execute(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        with lock:
            seen.append((id(conn.connection), " ".join(statement.split())))

    def on_commit(conn: Any) -> None:
        with lock:
            seen.append((id(conn.connection), "COMMIT"))

    out: list[str] = []
    event.listen(Engine, "before_cursor_execute", on_execute)
    event.listen(Engine, "commit", on_commit)
    try:
        yield out
    finally:
        event.remove(Engine, "before_cursor_execute", on_execute)
        event.remove(Engine, "commit", on_commit)
    # a transaction is a BEGIN and what its connection runs until the next BEGIN on it
    open_txn: dict[int, list[str]] = {}
    transactions: list[list[str]] = []
    for conn, statement in seen:
        if statement.startswith("BEGIN") or conn not in open_txn:
            open_txn[conn] = []
            transactions.append(open_txn[conn])
        open_txn[conn].append(statement)
    for txn in transactions:
        if not any(marker in st for st in txn for marker in BACKGROUND):
            out += [st[:120] for st in txn]


def test_a_bare_turn_is_one_read_and_two_writes(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The conversation and its messages in one read; the customer's message and the pending
    answer in one write; the answer with its turn record and the escalation signal (with
    the recent ones) in the other. (Before: 9 transactions, 26 statements; then 4 and 17.)
    On SQLite each transaction is two hand-offs to the connection's thread (14.7 before)."""
    handoffs: list[str] = []
    original = sqlite_driver.Connection._call

    async def counted(self: sqlite_driver.Connection, function: Callable[[], Any]) -> Any:
        handoffs.append(getattr(getattr(function, "func", function), "__name__", "?"))
        return await original(self, function)

    monkeypatch.setattr(sqlite_driver.Connection, "_call", counted)
    provider = ScriptedProvider(responder=lambda request: "Around the clock.")
    with running(provider) as client:
        cid = new_conversation(client)
        send(client, cid, "When are you open?")
        with statements() as seen:
            handoffs.clear()
            events = send(client, cid, "And on Sundays?")
            turn_handoffs = list(handoffs)
        assert text_of(events) == "Around the clock."
    begins = [s for s in seen if s.startswith("BEGIN")]
    assert begins == ["BEGIN", "BEGIN IMMEDIATE", "BEGIN IMMEDIATE"], seen
    assert len(seen) == 15, seen
    assert turn_handoffs == ["_run"] * 6, turn_handoffs
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
