"""Tables of the conversation store (SQLAlchemy Core, portable SQL only)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from frontdesk.memory.types import ExactDecimal, UtcDateTime

ID = 36  # uuid4 as text

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("tenant_id", String(128), nullable=False),
    Column("bot_id", String(128), nullable=False),
    Column("status", String(32), nullable=False),
    Column("title", Text, nullable=True),
    Column("summary", Text, nullable=True),
    Column("summary_through_seq", Integer, nullable=False, default=0),
    Column("metadata", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Index(None, "tenant_id", "updated_at"),
    Index(None, "tenant_id", "status"),
)

messages = Table(
    "messages",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column(
        "conversation_id",
        String(ID),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("seq", Integer, nullable=False),
    Column("role", String(16), nullable=False),
    Column("content", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("error", Text, nullable=True),
    Column("client_message_id", String(128), nullable=True),
    Column("reply_to", String(ID), nullable=True),
    Column("metadata", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("completed_at", UtcDateTime, nullable=True),
    Column("owner", String(ID), nullable=True),  # migration 0007: the worker answering it
    UniqueConstraint("conversation_id", "seq"),
    UniqueConstraint("conversation_id", "client_message_id"),
    Index(None, "reply_to"),
    Index(None, "status", "owner"),
)

workers = Table(
    "workers",  # migration 0007: live API workers and their heartbeats (chat/leases.py)
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("started_at", UtcDateTime, nullable=False),
    Column("heartbeat_at", UtcDateTime, nullable=False),
)

turns = Table(
    "turns",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column(
        "conversation_id",
        String(ID),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("user_message_id", String(ID), nullable=False),
    Column("assistant_message_id", String(ID), nullable=True),
    Column("status", String(16), nullable=False),
    Column("config_version", String(128), nullable=False),
    Column("provider", String(128), nullable=False),
    Column("model", String(256), nullable=False),
    Column("params", JSON, nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cached_tokens", Integer, nullable=False),
    Column("prompt_tokens_counted", Integer, nullable=False),
    Column("ttft_ms", Float, nullable=True),
    Column("total_ms", Float, nullable=False),
    Column("error", Text, nullable=True),
    Column("cost", ExactDecimal, nullable=False),
    Column("attempts", JSON, nullable=False),
    Column("retrieved_chunk_ids", JSON, nullable=False),
    Column("verdicts", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("inputs", JSON, nullable=True),  # migration 0005: what a replay re-runs
    Index(None, "conversation_id", "created_at"),
)

# --- escalation, hand-off and auth (migration 0002) -------------------------

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("tenant_id", String(128), nullable=False),
    Column("name", String(128), nullable=False),
    Column("role", String(16), nullable=False),
    Column("prefix", String(16), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_used_at", UtcDateTime, nullable=True),
    Column("revoked_at", UtcDateTime, nullable=True),
    UniqueConstraint("key_hash"),
)

tickets = Table(
    "tickets",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("tenant_id", String(128), nullable=False),
    Column(
        "conversation_id",
        String(ID),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("status", String(16), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("topic", String(64), nullable=True),
    Column("team", String(128), nullable=True),
    Column("team_email", String(256), nullable=True),
    Column("claimed_by", String(ID), nullable=True),
    Column("claimed_by_name", String(128), nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("claimed_at", UtcDateTime, nullable=True),
    Column("handed_back_at", UtcDateTime, nullable=True),
    Column("closed_at", UtcDateTime, nullable=True),
    Column("priority", Integer, nullable=False, server_default="0"),
    Column("requester_key", String(80), nullable=True),
    Column("address_key", String(80), nullable=True),
    Column("merged", Integer, nullable=False, server_default="0"),
    Index(None, "tenant_id", "status", "created_at"),
    Index(None, "conversation_id", "created_at"),
    Index("ix_tickets_queue", "tenant_id", "status", "priority", "created_at", "id"),
    Index("ix_tickets_requester", "tenant_id", "requester_key", "status"),
    Index("ix_tickets_address", "tenant_id", "address_key", "status"),
)

ticket_notes = Table(
    "ticket_notes",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("ticket_id", String(ID), ForeignKey("tickets.id", ondelete="CASCADE"), nullable=False),
    Column("author", String(128), nullable=False),
    Column("content", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "ticket_id", "created_at"),
)

escalation_outbox = Table(
    "escalation_outbox",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("ticket_id", String(ID), nullable=False),
    Column("sink", String(32), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("lease_until", UtcDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("delivered_at", UtcDateTime, nullable=True),
    Index(None, "status", "next_attempt_at"),
)

conversation_signals = Table(
    "conversation_signals",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column(
        "conversation_id",
        String(ID),
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("kind", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "conversation_id", "created_at"),
)

gateway_calls = Table(
    "gateway_calls",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("tenant_id", String(128), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("requested_model", String(256), nullable=False),
    Column("provider", String(128), nullable=False),
    Column("model", String(256), nullable=False),
    Column("status", String(16), nullable=False),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cached_tokens", Integer, nullable=False),
    Column("cost", ExactDecimal, nullable=False),
    Column("ttft_ms", Float, nullable=True),
    Column("total_ms", Float, nullable=False),
    Column("error", Text, nullable=True),
    Column("attempts", JSON, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Index(None, "tenant_id", "created_at"),
)

# --- scheduled jobs (migration 0005) -----------------------------------------

job_runs = Table(
    "job_runs",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("claimed_by", String(128), nullable=True),
    Column("claimed_at", UtcDateTime, nullable=True),
    Column("finished_at", UtcDateTime, nullable=True),
    Column("result", JSON, nullable=True),
)
"""One row per periodic job: the claim that lets one worker of many run it per interval."""

# --- tenants with their own bots (migration 0006) ---------------------------

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("site_key", String(64), nullable=False),
    Column("config", JSON, nullable=False),
    Column("version", String(16), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("site_key"),
)
