"""Alembic environment for the conversation store.

Frontdesk runs Alembic programmatically (see :mod:`frontdesk.memory.migrate`):
the caller opens a connection and passes it in ``config.attributes``. There is
no alembic.ini and no offline mode.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from frontdesk.errors import ConfigError
from frontdesk.memory.schema import metadata


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise ConfigError(
            "Frontdesk migrations run through frontdesk.memory.migrate "
            "(`frontdesk db upgrade`), which supplies the database connection"
        )
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise ConfigError("offline (SQL script) migrations are not supported")
_run_online()
