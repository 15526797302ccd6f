"""Build and close the services of one app (called from the lifespan and the CLI)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from frontdesk.chat.deferred import DeferredAnswers
from frontdesk.chat.pipeline import ChatService
from frontdesk.config import BotConfig
from frontdesk.memory.dialects import create_engine
from frontdesk.memory.migrate import check_at_head
from frontdesk.memory.sql import SqlMemoryStore
from frontdesk.memory.summarizer import Summarizer, refresh_summary
from frontdesk.providers.base import ChatProvider
from frontdesk.providers.chain import build_chain, new_breaker_board
from frontdesk.providers.factory import SharedModels, available_chain
from frontdesk.providers.limits import MemoryBuckets
from frontdesk.services import Services
from frontdesk.settings import Settings
from frontdesk.telemetry import Metrics, Tracing

log = logging.getLogger(__name__)


async def build_services(
    settings: Settings,
    bot: BotConfig,
    *,
    provider: ChatProvider | None = None,
    metrics: Metrics | None = None,
    tracing: Tracing | None = None,
) -> Services:
    metrics = metrics or Metrics()
    tracing = tracing or Tracing()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url
    engine = create_engine(url)
    try:
        await check_at_head(engine)
    except BaseException:
        await engine.dispose()
        raise
    store = SqlMemoryStore(engine)
    # answers left pending by a previous process can never finish: mark them failed
    stale = await store.fail_pending_messages(
        error="interrupted: the server restarted", created_before=datetime.now(UTC)
    )
    if stale:
        log.warning("marked %d interrupted answers as failed", stale)
    shared = SharedModels(settings)
    board = new_breaker_board()
    buckets = MemoryBuckets()
    if provider is None:
        if any(ep.dialect == "local" for ep in available_chain(bot, settings)):
            await shared.load_local()  # hash check + load, off the event loop
        chain = build_chain(settings, bot, shared=shared, board=board, buckets=buckets)
    else:
        chain = provider
    summarizer = Summarizer(
        chain,
        max_tokens=bot.memory.summary_tokens,
        timeout_seconds=bot.memory.summarize_timeout_seconds,
    )

    async def summarize(conversation_id: str, through_seq: int) -> None:
        await refresh_summary(store, summarizer, conversation_id, through_seq)

    chat = ChatService(
        store=store,
        provider=chain,
        bot=bot,
        max_message_chars=settings.max_message_chars,
        summarize=summarize,
        degraded_mode=bot.degraded_mode,
        metrics=metrics,
        tracing=tracing,
    )
    log.info("services ready", extra={"provider": chain.name, "model": chain.model})
    return Services(
        settings=settings,
        bot=bot,
        store=store,
        provider=chain,
        chat=chat,
        shared=shared,
        breakers=board,
        deferred=DeferredAnswers(chat, interval=settings.deferred_interval_seconds),
        metrics=metrics,
        tracing=tracing,
    )


async def close_services(services: Services) -> None:
    await services.deferred.aclose()
    await services.chat.background.drain()
    await services.provider.aclose()
    await services.shared.aclose()
    await services.store.close()
