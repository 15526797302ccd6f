"""The chat turn's three transactions on SQLite, each in one thread hand-off, past SQLAlchemy.

Through SQLAlchemy's async engine a transaction costs a pool checkout, a ``BEGIN`` sent
through the whole execution machinery, a greenlet switch per awaited call and a result
object per statement: ~0.7 ms of CPU for the request's read and ~0.7 ms for its write, most
of a bare turn's work before the provider is called (each still two hand-offs to the
connection's thread). Here each transaction is one function run on a connection's thread:
``BEGIN``, its statements, the checks between them (a rowcount, a row found), ``COMMIT``
or ``ROLLBACK``; the event loop waits for it once.

Nothing about the SQL changes: every statement is the store's own SQLAlchemy statement,
compiled once for this engine's dialect (:class:`Prepared`), and its parameters and rows go
through SQLAlchemy's own bind and result processors (``construct_params``, the types'
processors), so the same text, values and Python objects result. Errors are wrapped as
SQLAlchemy wraps them (``IntegrityError``, ``OperationalError`` ...), so callers and the
API's handlers (503 ``database_busy``) see what they saw before.

Two connections per store (:func:`for_engine`), opened on first use with the engine's own
connect arguments and pragmas (:func:`frontdesk.memory.dialects.configure_sqlite`): one for
reads, one for writes. Transactions on one connection run one after the other on its thread, so the
turns' writes queue there instead of busy-waiting on each other for SQLite's lock. Only
for a database file (an in-memory database is one connection's own: the store then keeps
SQLAlchemy's path); closed with the engine (``dispose``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, cast

from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from frontdesk.memory import sqlite_driver
from frontdesk.memory.dialects import SQLITE_BUSY_TIMEOUT_MS

Row = dict[str, Any]


def for_engine(engine: AsyncEngine) -> Direct | None:
    """Direct connections to ``engine``'s database when it is a SQLite file, opened with the
    URL's own connect arguments and closed when the engine is disposed; None (use
    SQLAlchemy) for another database or an in-memory one. One per store: each store built on
    an engine has its own pair."""
    url = engine.url
    database = url.database
    if url.get_backend_name() != "sqlite" or not database:
        return None
    if database == ":memory:" or database.startswith("file:"):
        return None
    args, kwargs = engine.dialect.create_connect_args(url)
    direct = Direct(engine.dialect, partial(sqlite3.connect, *args, **kwargs))
    # kept after a dispose: the store holds it, and an engine may be used again
    event.listen(engine.sync_engine, "engine_disposed", lambda _engine: direct.close_now())
    return direct


class Prepared:
    """One statement compiled once for the dialect: its SQL, its parameters in order through
    the bind processors, its rows through the result processors (as SQLAlchemy executes it).

    ``keys``: the parameter names an INSERT is executed with (they pick its columns, as
    SQLAlchemy compiles per set of keys)."""

    __slots__ = ("_compiled", "_order", "_processors", "_results", "keys", "sql")

    def __init__(
        self, statement: ClauseElement, dialect: Dialect, keys: Iterable[str] | None = None
    ) -> None:
        compiled = cast(
            SQLCompiler,
            statement.compile(
                dialect=dialect, column_keys=sorted(keys) if keys is not None else None
            ),
        )
        if (
            not compiled.positional
            or compiled.literal_execute_params
            or compiled.post_compile_params
            or compiled.insert_prefetch
            or compiled.update_prefetch
        ):
            raise ValueError(f"not a plain positional statement: {compiled.string}")
        self._compiled = compiled
        self.sql = compiled.string
        self._order = tuple(compiled.positiontup or ())
        self._processors: dict[str, Callable[[Any], Any]] = dict(compiled._bind_processors)  # type: ignore[arg-type]
        columns = compiled._result_columns or []
        self.keys = tuple(c.keyname for c in columns)
        self._results = tuple(c.type._cached_result_processor(dialect, None) for c in columns)

    def bind(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        params = cast(
            Mapping[str, Any], self._compiled.construct_params(values, escape_names=False)
        )
        processors = self._processors
        return tuple(
            processors[key](params[key]) if key in processors else params[key]
            for key in self._order
        )

    def row(self, raw: Sequence[Any]) -> Row:
        return {
            key: value if process is None else process(value)
            for key, process, value in zip(self.keys, self._results, raw, strict=True)
        }


class Direct:
    """A reading and a writing connection of one SQLite file, each with its own thread."""

    def __init__(self, dialect: Dialect, connector: Callable[[], sqlite3.Connection]) -> None:
        self.dialect = dialect
        self._connector = connector
        self._conns: dict[str, sqlite_driver.Connection] = {}
        self._opening: dict[str, asyncio.Future[sqlite_driver.Connection]] = {}
        self._prepared: dict[tuple[int, tuple[str, ...] | None], Prepared] = {}
        self._statements: list[ClauseElement] = []  # kept alive: their ids key the cache

    def prepare(self, statement: ClauseElement, keys: Iterable[str] | None = None) -> Prepared:
        """``statement`` compiled for this engine (once per statement and set of keys)."""
        key = (id(statement), tuple(sorted(keys)) if keys is not None else None)
        found = self._prepared.get(key)
        if found is None:
            found = self._prepared[key] = Prepared(statement, self.dialect, keys)
            self._statements.append(statement)
        return found

    async def read(self, job: Callable[[sqlite3.Connection], Any]) -> Any:
        """``job(db)`` on the reading connection's thread, in a ``BEGIN`` ... ``COMMIT``."""
        return await self._run("read", "BEGIN", job)

    async def write(self, job: Callable[[sqlite3.Connection], Any]) -> Any:
        """``job(db)`` on the writing connection's thread, in ``BEGIN IMMEDIATE`` ...
        ``COMMIT`` (``ROLLBACK`` when it raises, or when it returns :class:`Rollback`: then
        its value is returned)."""
        return await self._run("write", "BEGIN IMMEDIATE", job)

    async def _run(self, role: str, begin: str, job: Callable[[sqlite3.Connection], Any]) -> Any:
        conn = self._conns.get(role) or await self._open(role)
        db = conn._conn
        try:
            return await conn._call(partial(_transaction, db, begin, job))
        except sqlite3.Error as exc:
            raise DBAPIError.instance(
                getattr(exc, "frontdesk_sql", begin), None, exc, sqlite3.Error
            ) from exc

    async def _open(self, role: str) -> sqlite_driver.Connection:
        pending = self._opening.get(role)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[sqlite_driver.Connection] = (
            asyncio.get_running_loop().create_future()
        )
        self._opening[role] = future
        try:
            from frontdesk.memory.dialects import configure_sqlite

            conn = await sqlite_driver.connect(self._connector)
            await conn._call(partial(configure_sqlite, conn._conn))
            if role == "write":  # waits for the lock itself, in short steps (_begin)
                await conn._call(partial(conn._conn.execute, "PRAGMA busy_timeout=0"))
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a later caller opens afresh
            raise
        finally:
            del self._opening[role]
        self._conns[role] = conn
        future.set_result(conn)
        return conn

    def close_now(self) -> None:
        """Close both connections (their threads end after what they were given); the next
        transaction opens them again."""
        conns, self._conns = self._conns, {}
        for conn in conns.values():
            conn.stop_now()


class Rollback:
    """Returned by a write job: roll back, and hand ``value`` to the caller."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


def _transaction(
    db: sqlite3.Connection, begin: str, job: Callable[[sqlite3.Connection], Any]
) -> Any:
    """On the connection's thread."""
    _begin(db, begin)
    try:
        result = job(db)
    except BaseException:
        if db.in_transaction:
            db.rollback()
        raise
    if isinstance(result, Rollback):
        db.rollback()
        return result.value
    try:
        db.commit()
    except BaseException:
        if db.in_transaction:
            db.rollback()
        raise
    return result


def _begin(db: sqlite3.Connection, begin: str) -> None:
    """``BEGIN IMMEDIATE`` waits for another connection's write to end in steps of at most
    2 ms, up to SQLite's busy timeout. (SQLite's own busy handler sleeps 1, 2, 5, 10 ... ms
    between tries: a write held for a moment by a pooled connection cost this thread 8 ms
    or more, and every turn's write queued behind it.)"""
    if begin != "BEGIN IMMEDIATE":
        db.execute(begin)
        return
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.0001
    while True:
        try:
            db.execute(begin)
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                exc.frontdesk_sql = begin  # type: ignore[attr-defined]
                raise
        time.sleep(pause)  # the GIL is free meanwhile
        pause = min(pause * 2, 0.002)


def execute(db: sqlite3.Connection, statement: Prepared, params: tuple[Any, ...]) -> sqlite3.Cursor:
    """Run one statement (on the thread); an error carries its SQL for the wrapper."""
    try:
        return db.execute(statement.sql, params)
    except sqlite3.Error as exc:
        exc.frontdesk_sql = statement.sql  # type: ignore[attr-defined]
        raise
