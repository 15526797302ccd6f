"""Everything that differs between SQLite and PostgreSQL lives here.

The store, schema and migrations are plain SQLAlchemy Core; this module
creates engines (SQLite pragmas and transaction mode) and picks per-database
storage for exact decimals.
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Numeric, String, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.types import TypeEngine

if TYPE_CHECKING:
    from frontdesk.settings import DatabasePoolSettings

WRITE_OPTION = "frontdesk_write"
"""Execution option marking a connection whose transaction will write.

On SQLite such transactions start with ``BEGIN IMMEDIATE`` so they take the
write lock up front (waiting up to ``busy_timeout``) instead of failing with
SQLITE_BUSY when a reading transaction later tries to write. Other databases
ignore it.
"""

SQLITE_BUSY_TIMEOUT_MS = 5000

STATEMENT_OPTION = "frontdesk_statement"
"""Execution option of a statement: how SQLite's driver may send it (memory/sqlite_driver.py).
``"defer"``: a write whose result is not read, sent with the next statement or the commit;
``"last"``: the transaction's last statement, committed on the driver's thread right after
it. Other databases ignore it (the statements run as usual)."""
DEFER = {STATEMENT_OPTION: "defer"}
LAST = {STATEMENT_OPTION: "last"}


def create_engine(
    url: str, *, echo: bool = False, pool: DatabasePoolSettings | None = None
) -> AsyncEngine:
    """An async engine for ``url`` (``sqlite+aiosqlite`` or ``postgresql+asyncpg``).

    ``pool`` sizes a PostgreSQL engine's connection pool (the server's settings); without
    it, SQLAlchemy's defaults (5 kept, 10 more under load, 30 s wait) with pre-ping.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, echo=echo)
    if pool is None:
        return create_async_engine(url, echo=echo, pool_pre_ping=True)
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool.size,
        max_overflow=pool.overflow,
        pool_timeout=pool.timeout_seconds,
        pool_recycle=pool.recycle_seconds,
        pool_pre_ping=pool.pre_ping,
    )


def _sqlite_engine(url: str, *, echo: bool) -> AsyncEngine:
    import sqlite3

    from frontdesk.memory import sqlite_driver  # aiosqlite: only for SQLite engines

    parsed = make_url(url)
    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)

    async def connect() -> sqlite_driver.Connection:
        # the URL's own connect arguments (file, uri=, timeout=, ...), as the dialect reads them
        args, kwargs = sync_engine.dialect.create_connect_args(parsed)
        return await sqlite_driver.connect(partial(sqlite3.connect, *args, **kwargs))

    engine = create_async_engine(url, echo=echo, async_creator=connect)
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from the sqlite3 module (SQLAlchemy's
        # documented recipe) so BEGIN is emitted by the "begin" hook below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for pragma in PRAGMAS:
                cursor.execute(pragma)
        finally:
            cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writes = bool(connection.get_execution_options().get(WRITE_OPTION))
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _on_statement(
        connection: Connection, _cursor: Any, _sql: str, _params: Any, context: Any, _many: bool
    ) -> None:
        # a statement marked "defer" or "last" (sqlite_driver): tell the driver how to send it
        mode = context.execution_options.get(STATEMENT_OPTION) if context is not None else None
        driver = connection.connection.driver_connection if mode is not None else None
        if driver is not None:
            driver.mode = mode

    return engine


PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA foreign_keys=ON",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA synchronous=NORMAL",
)
"""Every SQLite connection's settings (the engine's and ``sqlite_direct``'s)."""


def configure_sqlite(db: Any) -> None:
    """A new ``sqlite3`` connection set up as the engine's are (on its own thread)."""
    db.isolation_level = None  # BEGIN is sent explicitly
    for pragma in PRAGMAS:
        db.execute(pragma).close()


def exact_decimal_type(dialect_name: str, precision: int, scale: int) -> TypeEngine[Any]:
    """Storage for an exact decimal: NUMERIC, or text on SQLite.

    SQLite has no decimal type; a NUMERIC column there converts values to
    floating point, so the exact text form is stored instead.
    """
    if dialect_name == "sqlite":
        return String(precision + 2)
    return Numeric(precision, scale, asdecimal=True)


def bind_exact_decimal(dialect_name: str, value: Decimal) -> Decimal | str:
    return str(value) if dialect_name == "sqlite" else value
