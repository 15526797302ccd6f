"""Tickets: priority and requester keys (duplicate escalations merge; the queue orders by priority).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("requester_key", sa.String(80), nullable=True))
        batch.add_column(sa.Column("address_key", sa.String(80), nullable=True))
        batch.add_column(sa.Column("merged", sa.Integer(), nullable=False, server_default="0"))
    op.create_index(
        "ix_tickets_queue", "tickets", ["tenant_id", "status", "priority", "created_at", "id"]
    )
    op.create_index("ix_tickets_requester", "tickets", ["tenant_id", "requester_key", "status"])
    op.create_index("ix_tickets_address", "tickets", ["tenant_id", "address_key", "status"])


def downgrade() -> None:
    op.drop_index("ix_tickets_address", "tickets")
    op.drop_index("ix_tickets_requester", "tickets")
    op.drop_index("ix_tickets_queue", "tickets")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("merged")
        batch.drop_column("address_key")
        batch.drop_column("requester_key")
        batch.drop_column("priority")
