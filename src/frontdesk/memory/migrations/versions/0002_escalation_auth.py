"""Escalation tickets, notes, sink outbox, conversation signals and API keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frontdesk.memory.types import UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = 36


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("tenant_id", sa.String(128), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("last_used_at", UtcDateTime(), nullable=True),
        sa.Column("revoked_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("tenant_id", sa.String(128), nullable=False),
        sa.Column("conversation_id", sa.String(ID), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("topic", sa.String(64), nullable=True),
        sa.Column("team", sa.String(128), nullable=True),
        sa.Column("team_email", sa.String(256), nullable=True),
        sa.Column("claimed_by", sa.String(ID), nullable=True),
        sa.Column("claimed_by_name", sa.String(128), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("claimed_at", UtcDateTime(), nullable=True),
        sa.Column("handed_back_at", UtcDateTime(), nullable=True),
        sa.Column("closed_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tickets"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_tickets_conversation_id_conversations",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_tickets_tenant_id_status_created_at", "tickets", ["tenant_id", "status", "created_at"]
    )
    op.create_index(
        "ix_tickets_conversation_id_created_at", "tickets", ["conversation_id", "created_at"]
    )
    op.create_table(
        "ticket_notes",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("ticket_id", sa.String(ID), nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_notes"),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name="fk_ticket_notes_ticket_id_tickets",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_ticket_notes_ticket_id_created_at", "ticket_notes", ["ticket_id", "created_at"]
    )
    op.create_table(
        "escalation_outbox",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("ticket_id", sa.String(ID), nullable=False),
        sa.Column("sink", sa.String(32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=False),
        sa.Column("lease_until", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("delivered_at", UtcDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_escalation_outbox"),
    )
    op.create_index(
        "ix_escalation_outbox_status_next_attempt_at",
        "escalation_outbox",
        ["status", "next_attempt_at"],
    )
    op.create_table(
        "conversation_signals",
        sa.Column("id", sa.String(ID), nullable=False),
        sa.Column("conversation_id", sa.String(ID), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_signals"),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_conversation_signals_conversation_id_conversations",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_conversation_signals_conversation_id_created_at",
        "conversation_signals",
        ["conversation_id", "created_at"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_conversation_signals_conversation_id_created_at", table_name="conversation_signals"
    )
    op.drop_table("conversation_signals")
    op.drop_index("ix_escalation_outbox_status_next_attempt_at", table_name="escalation_outbox")
    op.drop_table("escalation_outbox")
    op.drop_index("ix_ticket_notes_ticket_id_created_at", table_name="ticket_notes")
    op.drop_table("ticket_notes")
    op.drop_index("ix_tickets_conversation_id_created_at", table_name="tickets")
    op.drop_index("ix_tickets_tenant_id_status_created_at", table_name="tickets")
    op.drop_table("tickets")
    op.drop_table("api_keys")
