"""aiosqlite with one thread round trip per statement.

aiosqlite runs each ``sqlite3`` call on the connection's own thread, and SQLAlchemy's
adapter makes three or four such calls per statement (cursor, execute, fetchall, close),
plus a ``BEGIN`` statement per transaction and a pool reset (``rollback``) per checkout
even when no transaction is open. Each call is a thread hand-off (queue put, thread wake,
``call_soon_threadsafe`` back to the loop): at ~40-60 µs of CPU each it was most of the
database cost of a chat turn (~56 hand-offs per turn). This connection keeps aiosqlite's
thread and queue and sends each statement as one call that executes it, reads up to
:data:`PREFETCH_ROWS` rows and closes the cursor; a ``BEGIN`` travels with the statement
after it; ``commit``/``rollback`` without an open transaction return at once, as
``sqlite3`` itself does (it only tracks the state on its own thread, so the thread reports
it after every call).

The SQL that SQLite runs, and its order, are unchanged: only the number of hand-offs.

A store can also mark a statement (execution option ``dialects.STATEMENT_OPTION``, read by the
engine's ``before_cursor_execute`` hook into :attr:`Connection.mode`):

* ``"defer"``: a write whose result nobody reads (no rows, no rowcount). It is queued and
  runs on the thread just before the next statement or the commit, in the same order; an
  error it raises surfaces there (a rollback drops it unsent, as it would undo it).
* ``"last"``: the transaction's last statement: the thread commits right after it (its rows
  read first), so the ``COMMIT`` costs no hand-off of its own. Nothing after it in the
  transaction may decide to roll back.

So a write transaction whose statements only report at the end (insert, insert, update,
read) is one hand-off, and one that checks a rowcount first is two.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from threading import Thread
from typing import Any, TypeVar

import aiosqlite
from aiosqlite.core import _STOP_RUNNING_SENTINEL as _STOP
from aiosqlite.core import LOG, set_exception, set_result

PREFETCH_ROWS = 1000
"""Rows read with the statement; a larger result (a server-side cursor streaming an
export) keeps its cursor open on the thread and reads the rest in chunks on demand."""

_BEGIN = frozenset({"BEGIN", "BEGIN IMMEDIATE", "BEGIN DEFERRED", "BEGIN EXCLUSIVE"})
_T = TypeVar("_T")


def _worker(conn: Connection) -> None:
    """aiosqlite's connection thread, reporting the transaction state after each call."""
    tx = conn._tx
    while True:
        future, function = tx.get()
        try:
            result = function()
            conn._in_tx = _in_transaction(conn)
            if future:
                future.get_loop().call_soon_threadsafe(set_result, future, result)
            if result is _STOP:
                break
        except BaseException as e:  # handed to the awaiting task, as aiosqlite does
            LOG.debug("returning exception %s", e)
            conn._in_tx = _in_transaction(conn)
            if future:
                future.get_loop().call_soon_threadsafe(set_exception, future, e)


def _in_transaction(conn: Connection) -> bool:
    db = conn._connection
    try:
        return db is not None and db.in_transaction
    except sqlite3.ProgrammingError:  # closed
        return False


def _is_begin(sql: str) -> bool:
    return len(sql) < 24 and sql.strip().upper() in _BEGIN


class Connection(aiosqlite.Connection):
    """An :class:`aiosqlite.Connection` whose cursors cost one hand-off per statement."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._in_tx = False
        """Whether SQLite has a transaction open (as of the last call on the thread)."""
        self._begin: str | None = None
        """A ``BEGIN`` not yet sent: it runs on the thread just before the next statement."""
        self._queued: list[tuple[str, Sequence[Any] | None]] = []
        """Deferred statements not yet sent (they run, in order, before the next one)."""
        self.mode: str | None = None
        """How the next statement runs (``defer``/``last``), set by the engine's hook."""
        self._thread = Thread(target=_worker, args=(self,), daemon=True)

    async def _call(self, function: Callable[[], _T]) -> _T:
        """``function()`` on the connection's thread."""
        result: _T = await self._execute(function)  # type: ignore[no-untyped-call]
        return result

    def _take_pending(self) -> tuple[str | None, list[tuple[str, Sequence[Any] | None]]]:
        """The unsent ``BEGIN`` and deferred statements, to run before the next one."""
        begin, self._begin = self._begin, None
        queued, self._queued = self._queued, []
        return begin, queued

    def stop_now(self) -> None:
        """Close the database and end the thread after the jobs already given, without
        waiting (for a synchronous caller, e.g. the engine's dispose event)."""
        self._running = False

        def close_and_stop() -> object:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
            return _STOP

        self._tx.put_nowait((None, close_and_stop))

    def cursor(self) -> Cursor:  # type: ignore[override]
        return Cursor(self)

    async def commit(self) -> None:
        if self._queued:
            await self._call(partial(_run_pending, self._conn, *self._take_pending(), True))
            return
        if self._begin is not None and not self._in_tx:
            self._begin = None  # BEGIN then COMMIT with nothing between: nothing to send
            return
        if self._in_tx:
            await self._call(self._conn.commit)

    async def rollback(self) -> None:
        self._queued = []  # never sent: nothing to undo
        if self._begin is not None and not self._in_tx:
            self._begin = None
            return
        if self._in_tx:
            await self._call(self._conn.rollback)


def _run_pending(
    db: sqlite3.Connection,
    begin: str | None,
    queued: list[tuple[str, Sequence[Any] | None]],
    commit: bool = False,
) -> None:
    """On the connection's thread: the unsent BEGIN and deferred statements, in order."""
    if begin is not None:
        db.execute(begin)
    for sql, parameters in queued:
        (db.execute(sql) if parameters is None else db.execute(sql, parameters)).close()
    if commit:
        db.commit()


class Cursor:
    """The DB-API cursor SQLAlchemy's aiosqlite adapter drives (``execute``, then
    ``description`` and the ``fetch*`` calls, then ``close``)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._rows: deque[Any] = deque()
        self._cursor: sqlite3.Cursor | None = None
        """The open sqlite3 cursor of a result larger than the prefetch (thread-owned)."""
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> Cursor:
        conn = self._connection
        mode, conn.mode = conn.mode, None
        if not parameters and conn._begin is None and not conn._in_tx and _is_begin(sql):
            conn._begin = sql  # sent with the next statement (same SQL, same order)
            self.description, self.rowcount = None, -1
            return self
        await self._close_open()
        if mode == "defer":
            conn._queued.append((sql, parameters))
            self.description, self.rowcount, self.lastrowid = None, -1, None
            self._rows = deque()
            return self
        pending = conn._take_pending()
        await conn._call(partial(self._run, pending, sql, parameters, mode == "last"))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> Cursor:
        conn = self._connection
        conn.mode = None
        await self._close_open()
        pending = conn._take_pending()
        await conn._call(partial(self._run_many, pending, sql, list(parameters)))
        return self

    def _run(
        self,
        pending: tuple[str | None, list[tuple[str, Sequence[Any] | None]]],
        sql: str,
        parameters: Sequence[Any] | None,
        last: bool,
    ) -> None:
        """On the connection's thread: the pending BEGIN and deferred statements, the
        statement, its first rows (all of them, and the commit, when it is the last)."""
        db = self._connection._conn
        _run_pending(db, *pending)
        cursor = db.execute(sql) if parameters is None else db.execute(sql, parameters)
        self._keep(cursor, everything=last)
        if last:
            db.commit()

    def _run_many(
        self,
        pending: tuple[str | None, list[tuple[str, Sequence[Any] | None]]],
        sql: str,
        parameters: list[Sequence[Any]],
    ) -> None:
        db = self._connection._conn
        _run_pending(db, *pending)
        self._keep(db.executemany(sql, parameters))

    def _keep(self, cursor: sqlite3.Cursor, *, everything: bool = False) -> None:
        self.description, self.rowcount, self.lastrowid = (
            cursor.description,
            cursor.rowcount,
            cursor.lastrowid,
        )
        if cursor.description is None:
            cursor.close()
            self._rows = deque()
            return
        if everything:
            self._rows = deque(cursor.fetchall())
            cursor.close()
            return
        rows = cursor.fetchmany(PREFETCH_ROWS)
        self._rows = deque(rows)
        if len(rows) < PREFETCH_ROWS:
            cursor.close()
        else:
            self._cursor = cursor

    async def _more(self, size: int | None) -> None:
        """Read up to ``size`` more rows (all: None) from the open cursor into the buffer."""
        cursor = self._cursor
        if cursor is None:
            return

        def read() -> list[Any]:
            rows = cursor.fetchall() if size is None else cursor.fetchmany(size)
            if size is None or len(rows) < size:
                cursor.close()
                self._cursor = None
            return rows

        self._rows.extend(await self._connection._call(read))

    async def fetchone(self) -> Any:
        if not self._rows:
            await self._more(max(self.arraysize, 64))
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        want = self.arraysize if size is None else size
        if len(self._rows) < want:
            await self._more(want - len(self._rows))
        return [self._rows.popleft() for _ in range(min(want, len(self._rows)))]

    async def fetchall(self) -> list[Any]:
        await self._more(None)
        rows, self._rows = list(self._rows), deque()
        return rows

    async def close(self) -> None:
        self._rows = deque()
        await self._close_open()

    async def _close_open(self) -> None:
        cursor, self._cursor = self._cursor, None
        if cursor is not None:
            await self._connection._call(cursor.close)


async def connect(connector: Callable[[], sqlite3.Connection]) -> Connection:
    """A started connection (what SQLAlchemy's ``async_creator`` returns)."""
    connection = Connection(connector)
    await connection  # starts its thread and opens the database there
    return connection
