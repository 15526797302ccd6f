"""Retention, end-user erasure and export on SQLite and PostgreSQL, media included, and
the periodic job run by two workers."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from frontdesk.domain import Conversation
from frontdesk.errors import NotFound
from frontdesk.media.store import Attachment, FileMediaStore, new_attachment_id
from frontdesk.memory.privacy import UserRef
from frontdesk.memory.sql import SqlMemoryStore
from frontdesk.retention.claims import JobClaims
from frontdesk.retention.job import RetentionJob
from frontdesk.retention.policy import GlobalRetention, Overrides, Own
from frontdesk.retention.service import MediaFiles, Privacy
from tests.contracts.memory_contract import make_turn

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlMemoryStore]:
    store = SqlMemoryStore.from_url(database_url, clock=Clock(NOW))
    yield store
    await store.close()


def set_clock(store: SqlMemoryStore, when: datetime) -> None:
    clock = store._clock  # the test's Clock
    assert isinstance(clock, Clock)
    clock.now = when


async def conversation_at(
    store: SqlMemoryStore, tenant: str, when: datetime, **metadata: str
) -> Conversation:
    """A conversation whose last activity (a turn) was at ``when``."""
    set_clock(store, when)
    conversation = await store.create_conversation(tenant_id=tenant, bot_id="b", metadata=metadata)
    user = (await store.add_message(conversation.id, role="user", content="hi")).message
    pending = (
        await store.add_message(conversation.id, role="assistant", content="", status="pending")
    ).message
    await store.complete_turn(
        assistant_message_id=pending.id,
        content="hello",
        status="complete",
        error=None,
        turn=make_turn(conversation, user, pending),
    )
    set_clock(store, NOW)
    return conversation


def attach(media: FileMediaStore, conversation_id: str, data: bytes) -> Attachment:
    attachment = Attachment(
        id=new_attachment_id(),
        conversation_id=conversation_id,
        kind="image",
        mime="image/png",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        created_at=NOW.isoformat(),
        text="read from the image",
    )
    return media.put(attachment, data)


def tenant() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


async def test_retention_deletes_idle_conversations_with_their_media(
    store: SqlMemoryStore, tmp_path: Path
) -> None:
    media = FileMediaStore(tmp_path / "media")
    acme = tenant()
    old = await conversation_at(store, acme, NOW - timedelta(days=31))
    recent = await conversation_at(store, acme, NOW - timedelta(days=29))
    # created long ago but active yesterday: kept (retention counts from the last activity)
    revived = await conversation_at(store, acme, NOW - timedelta(days=90))
    set_clock(store, NOW - timedelta(days=1))
    await store.add_message(revived.id, role="user", content="back again")
    set_clock(store, NOW)
    attach(media, old.id, b"old screenshot")
    shared = attach(media, old.id, b"same bytes")
    kept = attach(media, recent.id, b"same bytes")
    privacy = Privacy(store, MediaFiles(media), clock=lambda: NOW, batch=1)
    only_acme = Overrides(lookup=_only(acme, Own(30)), default=GlobalRetention(None))
    report = await privacy.apply(only_acme)
    assert report.tenants[acme].as_json() == {"conversations": 1, "attachments": 2}
    assert report.as_json()["tenants"][acme]["cutoff"] == (NOW - timedelta(days=30)).isoformat()
    assert await store.get_conversation(old.id) is None
    assert await store.list_turns(old.id) == []
    assert {c.id for c in [recent, revived]} <= set(
        await store.idle_conversations(acme, before=NOW)
    )
    assert media.list(old.id) == []
    # bytes another conversation still uses stay
    assert media.read(kept) == b"same bytes" and shared.sha256 == kept.sha256
    again = await privacy.apply(only_acme)
    assert again.tenants[acme].as_json() == {"conversations": 0, "attachments": 0}


def _only(tenant_id: str, own: Own) -> Callable[[str], Awaitable[Own | None]]:
    async def lookup(candidate: str) -> Own | None:
        return own if candidate == tenant_id else Own(None)

    return lookup


async def test_per_tenant_overrides_fall_back_to_the_global_setting() -> None:
    async def lookup(tenant_id: str) -> Own | None:
        return {"short": Own(1), "forever": Own(None)}.get(tenant_id)

    policy = Overrides(lookup=lookup, default=GlobalRetention(30))
    assert await policy.days_for("short") == 1
    assert await policy.days_for("forever") is None
    assert await policy.days_for("anyone") == 30
    assert await GlobalRetention(None).days_for("anyone") is None


async def test_erase_one_user_and_export(store: SqlMemoryStore, tmp_path: Path) -> None:
    media = FileMediaStore(tmp_path / "media")
    acme = tenant()
    mine = [await conversation_at(store, acme, NOW, user_id="u-1") for _ in range(2)]
    theirs = await conversation_at(store, acme, NOW, user_id="u-2")
    other_tenant = await conversation_at(store, tenant(), NOW, user_id="u-1")
    attach(media, mine[0].id, b"receipt")
    privacy = Privacy(store, MediaFiles(media), clock=lambda: NOW)
    document = await privacy.export(acme, mine[0].id)
    assert document["format"] == "frontdesk.conversation.v1"
    assert document["conversation"]["metadata"] == {"user_id": "u-1"}
    assert [m["content"] for m in document["messages"]] == ["hi", "hello"]
    assert document["turns"][0]["cost"] == "0.00012345"
    assert "inputs" not in document["turns"][0]
    assert [a["text"] for a in document["attachments"]] == ["read from the image"]
    with pytest.raises(NotFound):
        await privacy.export(acme, other_tenant.id)  # another tenant's: as if missing
    erased = await privacy.erase_user(acme, UserRef(user_id="u-1"))
    assert erased.as_json() == {"conversations": 2, "attachments": 1}
    for conversation in mine:
        assert await store.get_conversation(conversation.id) is None
    assert await store.get_conversation(theirs.id) is not None
    assert await store.get_conversation(other_tenant.id) is not None
    assert media.list(mine[0].id) == []


async def test_two_workers_one_run_per_interval(database_url: str) -> None:
    first = SqlMemoryStore.from_url(database_url, clock=Clock(NOW))
    second = SqlMemoryStore.from_url(database_url)
    try:
        acme = tenant()
        await conversation_at(first, acme, NOW - timedelta(days=10))
        policy = Overrides(lookup=_only(acme, Own(7)), default=GlobalRetention(None))
        name = f"retention-{uuid.uuid4().hex[:8]}"
        jobs = [
            RetentionJob(Privacy(s, clock=lambda: NOW), policy, JobClaims(s.engine), name=name)
            for s in (first, second)
        ]
        reports = await asyncio.gather(*(j.run_once() for j in jobs))
        ran = [r for r in reports if r is not None]
        assert len(ran) == 1
        assert ran[0].tenants[acme].conversations == 1
        assert await asyncio.gather(*(j.run_once() for j in jobs)) == [None, None]
        row = await JobClaims(first.engine).last(name)
        assert row is not None and row["finished_at"] is not None
        assert row["result"]["tenants"][acme]["conversations"] == 1
    finally:
        await first.close()
        await second.close()


async def test_the_job_also_applies_the_bots_media_retention(
    database_url: str, tmp_path: Path
) -> None:
    from frontdesk.media.config import MediaConfig
    from frontdesk.media.service import MediaService
    from frontdesk.retention.build import retention_job
    from frontdesk.settings import load_settings
    from tests.conftest import make_bot

    bot = make_bot().model_copy(update={"media": MediaConfig(retention_days=0.5)})
    media = MediaService.for_bot(bot, tmp_path)
    store = SqlMemoryStore.from_url(database_url)
    try:
        conversation = await store.create_conversation(tenant_id=tenant(), bot_id="b")
        attach(media.store, conversation.id, b"a day-old screenshot")  # NOW: hours ago
        settings = load_settings(env="test", home=tmp_path, retention_interval_seconds=1)
        job = retention_job(settings, store, media)
        job.name = f"retention-{uuid.uuid4().hex[:8]}"
        assert await job.run_once() is not None
        assert media.store.list(conversation.id) == []
        assert await store.get_conversation(conversation.id) is not None  # no conversation days
        row = await job.claims.last(job.name)
        assert row is not None and row["result"]["media_expired"] == 1
    finally:
        await store.close()
