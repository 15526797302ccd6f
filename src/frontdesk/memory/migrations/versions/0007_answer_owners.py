"""Answer owners: the worker answering a pending message, and the workers' heartbeats.

A pending answer whose owner stopped heart-beating (a worker killed mid-stream) is ended
by a live worker as partial or failed within seconds instead of a 600 s lease.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frontdesk.memory.types import UtcDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("owner", sa.String(36), nullable=True))
    op.create_index("ix_messages_status_owner", "messages", ["status", "owner"])
    op.create_table(
        "workers",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("heartbeat_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_workers"),
    )


def downgrade() -> None:
    op.drop_table("workers")
    op.drop_index("ix_messages_status_owner", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("owner")
