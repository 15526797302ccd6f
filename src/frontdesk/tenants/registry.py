"""Each tenant's bot, built on first use and kept while its config is unchanged.

Records are read through a short cache (``cache_seconds``, like API keys): a changed
config or a rotated site key takes effect on every worker within that time. A bot is
rebuilt when its record's version changes. The replaced bot is *retired*: requests that
hold it (a :meth:`TenantBots.lease`, taken for the whole request, stream included) finish
on it, and it is closed when the last one ends, or after ``retire_grace_seconds`` if a
long-lived stream still holds it. A tenant whose record is gone (deleted) has its bot
retired the same way when a lookup or the periodic sweep notices.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from frontdesk.errors import ConfigError, FrontdeskError
from frontdesk.tenants.store import TenantRecord, TenantStore, is_site_key

log = logging.getLogger(__name__)

Bot = TypeVar("Bot")
Builder = Callable[[AsyncExitStack, TenantRecord], Awaitable[Bot]]
Release = Callable[[], None]
MAX_CACHED_LOOKUPS = 10_000
RETIRE_GRACE_SECONDS = 300.0


class TenantUnavailable(FrontdeskError):
    """The tenant's stored config does not validate (or its bot failed to build)."""

    code = "tenant_unavailable"
    http_status = 503


@dataclass(eq=False)
class _Built(Generic[Bot]):
    tenant_id: str
    version: str
    bot: Bot
    stack: AsyncExitStack
    leases: int = 0
    retired: bool = False
    closed: bool = False
    timer: asyncio.Task[None] | None = field(default=None, repr=False)
    """The grace timer of a retired bot some request still holds."""


class TenantBots(Generic[Bot]):
    def __init__(
        self,
        store: TenantStore,
        build: Builder[Bot],
        *,
        cache_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        retire_grace_seconds: float = RETIRE_GRACE_SECONDS,
    ) -> None:
        self.store = store
        self._build = build
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._grace = retire_grace_seconds
        self._by_key: dict[str, tuple[float, TenantRecord | None]] = {}
        self._by_id: dict[str, tuple[float, TenantRecord | None]] = {}
        self._built: dict[str, _Built[Bot]] = {}
        self._retired: set[_Built[Bot]] = set()
        self._tasks: set[asyncio.Future[None]] = set()
        self._locks: dict[str, asyncio.Lock] = {}
        self._next_sweep = 0.0
        self._closed = False

    async def by_site_key(self, site_key: str) -> TenantRecord | None:
        """The tenant whose site key this is; None for an unknown (or malformed) key."""
        if not is_site_key(site_key):
            return None
        return await self._cached(self._by_key, site_key, self.store.by_site_key)

    async def by_id(self, tenant_id: str) -> TenantRecord | None:
        record = await self._cached(self._by_id, tenant_id, self.store.get)
        if record is None and tenant_id in self._built:
            self.drop(tenant_id)  # deleted: its bot closes once its requests end
        return record

    async def _cached(
        self,
        cache: dict[str, tuple[float, TenantRecord | None]],
        key: str,
        load: Callable[[str], Awaitable[TenantRecord | None]],
    ) -> TenantRecord | None:
        now = self._clock()
        await self._maybe_sweep(now)
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

    async def _maybe_sweep(self, now: float) -> None:
        """At most once per ``cache_seconds``: retire the bots of tenants deleted by
        another process (one query of the ids, no config is parsed)."""
        if not self._built or now < self._next_sweep:
            return
        self._next_sweep = now + self._cache_seconds
        live = await self.store.ids()
        for tenant_id in [t for t in self._built if t not in live]:
            self.drop(tenant_id)

    async def bot(self, record: TenantRecord) -> Bot:
        """The tenant's bot for this version of its record (built once, concurrently safe).

        Without a :meth:`lease` the bot may be closed under the caller once it is replaced;
        a request or job that uses it for a while should lease it."""
        return (await self._current(record)).bot

    async def lease(self, record: TenantRecord) -> tuple[Bot, Release]:
        """The tenant's bot, held open until ``release()`` (call it once, when done)."""
        built = await self._current(record)
        built.leases += 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            built.leases -= 1
            if built.retired and built.leases == 0:
                self._close_now(built)

        return built.bot, release

    async def _current(self, record: TenantRecord) -> _Built[Bot]:
        built = self._built.get(record.id)
        if built is not None and built.version == record.version:
            return built
        lock = self._locks.setdefault(record.id, asyncio.Lock())
        async with lock:
            built = self._built.get(record.id)
            if built is not None and built.version == record.version:
                return built
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
            fresh = _Built(record.id, record.version, bot, stack)
            self._built[record.id] = fresh
            if built is not None:
                self._retire(built)
            log.info("tenant bot ready", extra={"tenant": record.id, "version": record.version})
            return fresh

    def drop(self, tenant_id: str) -> None:
        """Forget the tenant (deleted): its cached records go now, its bot is closed when
        the requests holding it end."""
        self._by_id.pop(tenant_id, None)
        for key, (_, record) in list(self._by_key.items()):
            if record is not None and record.id == tenant_id:
                del self._by_key[key]
        built = self._built.pop(tenant_id, None)
        if built is not None:
            self._retire(built)

    def _retire(self, built: _Built[Bot]) -> None:
        built.retired = True
        self._retired.add(built)
        log.info(
            "tenant bot retired",
            extra={"tenant": built.tenant_id, "version": built.version, "leases": built.leases},
        )
        if built.leases == 0:
            self._close_now(built)
        else:
            built.timer = asyncio.ensure_future(self._close_after_grace(built))

    def _close_now(self, built: _Built[Bot]) -> None:
        if built.timer is not None:
            built.timer.cancel()
            built.timer = None
        task = asyncio.ensure_future(self._close(built))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _close_after_grace(self, built: _Built[Bot]) -> None:
        await asyncio.sleep(self._grace)
        built.timer = None
        log.warning(
            "tenant bot closed with %d requests still holding it",
            built.leases,
            extra={"tenant": built.tenant_id, "version": built.version},
        )
        await self._close(built)

    async def _close(self, built: _Built[Bot]) -> None:
        if built.closed:
            return
        built.closed = True
        self._retired.discard(built)
        try:
            await built.stack.aclose()
        except Exception:
            log.exception("closing the retired bot of tenant %r failed", built.tenant_id)
        log.info("tenant bot closed", extra={"tenant": built.tenant_id, "version": built.version})

    async def settle(self) -> None:
        """Wait for the closes already due (retired bots that no request holds)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    @property
    def open_bots(self) -> int:
        """Bots built and not yet closed (current and retired)."""
        return len(self._built) + len(self._retired)

    def forget(self) -> None:
        """Drop cached records (after a change made by this process)."""
        self._by_key.clear()
        self._by_id.clear()

    async def aclose(self) -> None:
        self._closed = True
        await self.settle()
        stacks = []
        timers = [b.timer for b in self._retired if b.timer is not None]
        for timer in timers:
            timer.cancel()
        await asyncio.gather(*timers, return_exceptions=True)
        for built in [*self._built.values(), *self._retired]:
            if not built.closed:
                built.closed = True
                stacks.append(built.stack)
        self._built.clear()
        self._retired.clear()
        for stack in reversed(stacks):
            try:
                await stack.aclose()
            except Exception:
                log.exception("closing a tenant bot failed")
