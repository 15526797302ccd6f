"""Each tenant's bot, built on first use and kept while its config is unchanged.

Records are read through a short cache (``cache_seconds``, like API keys): a changed
config or a rotated site key takes effect on every worker within that time. A bot is
rebuilt when its record's version changes; the replaced bot stays open (a stream may still
be using it) and is closed with the others at shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Generic, TypeVar

from frontdesk.errors import ConfigError, FrontdeskError
from frontdesk.tenants.store import TenantRecord, TenantStore, is_site_key

log = logging.getLogger(__name__)

Bot = TypeVar("Bot")
Builder = Callable[[AsyncExitStack, TenantRecord], Awaitable[Bot]]
MAX_CACHED_LOOKUPS = 10_000


class TenantUnavailable(FrontdeskError):
    """The tenant's stored config does not validate (or its bot failed to build)."""

    code = "tenant_unavailable"
    http_status = 503


@dataclass
class _Built(Generic[Bot]):
    version: str
    bot: Bot


class TenantBots(Generic[Bot]):
    def __init__(
        self,
        store: TenantStore,
        build: Builder[Bot],
        *,
        cache_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self._build = build
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._by_key: dict[str, tuple[float, TenantRecord | None]] = {}
        self._by_id: dict[str, tuple[float, TenantRecord | None]] = {}
        self._built: dict[str, _Built[Bot]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._stack = AsyncExitStack()
        self._closed = False

    async def by_site_key(self, site_key: str) -> TenantRecord | None:
        """The tenant whose site key this is; None for an unknown (or malformed) key."""
        if not is_site_key(site_key):
            return None
        return await self._cached(self._by_key, site_key, self.store.by_site_key)

    async def by_id(self, tenant_id: str) -> TenantRecord | None:
        return await self._cached(self._by_id, tenant_id, self.store.get)

    async def _cached(
        self,
        cache: dict[str, tuple[float, TenantRecord | None]],
        key: str,
        load: Callable[[str], Awaitable[TenantRecord | None]],
    ) -> TenantRecord | None:
        now = self._clock()
        hit = cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            record = await load(key)
        except ConfigError as exc:
            log.error("tenant config does not validate: %s", exc)
            raise TenantUnavailable("this assistant is not available right now") from exc
        if len(cache) >= MAX_CACHED_LOOKUPS:
            cache.clear()
        cache[key] = (now + self._cache_seconds, record)
        return record

    async def bot(self, record: TenantRecord) -> Bot:
        """The tenant's bot for this version of its record (built once, concurrently safe)."""
        built = self._built.get(record.id)
        if built is not None and built.version == record.version:
            return built.bot
        lock = self._locks.setdefault(record.id, asyncio.Lock())
        async with lock:
            built = self._built.get(record.id)
            if built is not None and built.version == record.version:
                return built.bot
            if self._closed:
                raise TenantUnavailable("the server is shutting down")
            stack = AsyncExitStack()
            try:
                bot = await self._build(stack, record)
            except ConfigError as exc:
                await stack.aclose()
                log.error("tenant %r: its bot cannot be built: %s", record.id, exc)
                raise TenantUnavailable("this assistant is not available right now") from exc
            except BaseException:
                await stack.aclose()
                raise
            self._stack.push_async_callback(stack.aclose)
            self._built[record.id] = _Built(record.version, bot)
            log.info("tenant bot ready", extra={"tenant": record.id, "version": record.version})
            return bot

    def forget(self) -> None:
        """Drop cached records (after a change made by this process)."""
        self._by_key.clear()
        self._by_id.clear()

    async def aclose(self) -> None:
        self._closed = True
        await self._stack.aclose()
        self._built.clear()
