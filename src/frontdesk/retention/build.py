"""Retention and privacy over one app's services, and the server's periodic job."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from frontdesk.errors import ConfigError
from frontdesk.media.service import MediaService
from frontdesk.memory.base import MemoryStore
from frontdesk.retention.claims import JobClaims
from frontdesk.retention.job import RetentionJob
from frontdesk.retention.policy import GlobalRetention, RetentionPolicy
from frontdesk.retention.service import MediaFiles, Privacy
from frontdesk.settings import Settings


def privacy_for(store: MemoryStore, media: MediaService | None) -> Privacy:
    return Privacy(store, MediaFiles(media.store) if media is not None else None)


def policy_from(settings: Settings) -> RetentionPolicy:
    """The global ``FRONTDESK_RETENTION_DAYS``. Per-tenant values plug in here: wrap it in
    :class:`~frontdesk.retention.policy.Overrides` with a lookup of the tenant records."""
    return GlobalRetention(settings.retention_days)


def retention_job(
    settings: Settings,
    store: MemoryStore,
    media: MediaService | None,
    *,
    policy: RetentionPolicy | None = None,
) -> RetentionJob:
    engine = getattr(store, "engine", None)
    if not isinstance(engine, AsyncEngine):
        raise ConfigError("the retention job needs the SQL conversation store")
    return RetentionJob(
        privacy_for(store, media),
        policy or policy_from(settings),
        JobClaims(engine),
        interval_seconds=settings.retention_interval_seconds,
        media_sweep=media.apply_retention if media is not None else None,
    )
