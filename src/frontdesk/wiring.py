"""Build and close the services of one app (called from the lifespan and the CLI)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis.asyncio import BlockingConnectionPool, Redis

from frontdesk.admission.buckets import Buckets, MemoryBuckets, RedisBuckets
from frontdesk.admission.budgets import Ledger, MemoryLedger, RedisLedger
from frontdesk.admission.gate import Admission
from frontdesk.answer.coverage import Coverage, SpacyTagger
from frontdesk.answer.extractive import ExtractiveComposer
from frontdesk.answer.units import spacy_segmenter
from frontdesk.chat.deferred import CLAIM_LEASE_SECONDS, DeferredAnswers
from frontdesk.chat.guarding import TurnGuard
from frontdesk.chat.knowledge import KnowledgeBase
from frontdesk.chat.service import ChatService
from frontdesk.config import BotConfig
from frontdesk.escalation import EscalationSettings, build_escalation
from frontdesk.escalation.live import LiveBus, RedisBus
from frontdesk.escalation.sinks import EscalationSink
from frontdesk.gateway.recorder import UsageRecorder
from frontdesk.gateway.service import Gateway
from frontdesk.guard.pipeline import GuardPipeline, GuardServices
from frontdesk.knowledge.embedding import LocalEmbedder
from frontdesk.knowledge.retrieval import RetrievalOptions, Retriever
from frontdesk.knowledge.stores.factory import open_store
from frontdesk.media.service import MediaService
from frontdesk.memory.dialects import create_engine
from frontdesk.memory.migrate import check_at_head
from frontdesk.memory.sql import SqlMemoryStore
from frontdesk.memory.summarizer import Summarizer, refresh_summary
from frontdesk.providers.base import ChatProvider, TokenCounter
from frontdesk.providers.chain import (
    build_hardened,
    new_breaker_board,
    usable_endpoints,
)
from frontdesk.providers.factory import SharedModels
from frontdesk.providers.fallback import Fallback
from frontdesk.providers.pricing import load_price_table
from frontdesk.providers.tokens import warm
from frontdesk.services import Services
from frontdesk.settings import Settings
from frontdesk.telemetry import Metrics, Tracing

log = logging.getLogger(__name__)


async def _build(
    stack: AsyncExitStack,
    settings: Settings,
    bot: BotConfig,
    *,
    provider: ChatProvider | None = None,
    metrics: Metrics | None = None,
    tracing: Tracing | None = None,
    escalation_options: EscalationOptions | None = None,
) -> Services:
    metrics = metrics or Metrics()
    tracing = tracing or Tracing()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url
    engine = create_engine(url)
    stack.push_async_callback(engine.dispose)
    await check_at_head(engine)
    store = SqlMemoryStore(engine)
    stack.push_async_callback(store.close)
    # answers left pending by a previous process can never finish: mark them failed
    # (with several workers on PostgreSQL only old ones: the others may be answering)
    lease = None if url.startswith("sqlite") else CLAIM_LEASE_SECONDS
    stale = await store.fail_pending_messages(
        error="interrupted: the server restarted",
        created_before=datetime.now(UTC) - timedelta(seconds=lease or 0),
    )
    if stale:
        log.warning("marked %d interrupted answers as failed", stale)
    shared = SharedModels(settings)
    stack.push_async_callback(shared.aclose)
    board = new_breaker_board()
    redis = _redis(settings)
    if redis is not None:
        stack.push_async_callback(redis.aclose)
    buckets: Buckets = RedisBuckets(redis) if redis is not None else MemoryBuckets()
    ledger: Ledger = RedisLedger(redis) if redis is not None else MemoryLedger()
    endpoints = usable_endpoints(bot, settings)
    cheaper_endpoints = (
        usable_endpoints(bot, settings, bot.cheaper_chain) if bot.over_budget == "cheaper" else []
    )
    cheaper: ChatProvider | None = None
    gateway_endpoints = (
        usable_endpoints(bot, settings, [ep.name for ep in bot.endpoints])
        if settings.gateway_enabled and provider is None
        else []
    )
    hardened: dict[str, ChatProvider] = {}
    if provider is None:
        wanted = {ep.name: ep for ep in [*endpoints, *cheaper_endpoints, *gateway_endpoints]}
        if any(ep.dialect == "local" for ep in wanted.values()):
            await shared.load_local()  # hash check + load, off the event loop
        # one resilient provider per endpoint, shared by the bot chain and the gateway
        hardened = build_hardened(
            settings, list(wanted.values()), shared=shared, board=board, buckets=buckets
        )
        chain: ChatProvider = Fallback([hardened[ep.name] for ep in endpoints])
        if bot.over_budget == "cheaper" and cheaper_endpoints:
            cheaper = Fallback([hardened[ep.name] for ep in cheaper_endpoints])
    else:
        chain = provider
    stack.push_async_callback(chain.aclose)
    # tokenizers load in a worker thread while the app starts serving (the first count waits)
    warming = asyncio.ensure_future(
        asyncio.to_thread(_warm, [p.tokens for p in [chain, *hardened.values()]])
    )
    stack.push_async_callback(_settle, warming)
    prices = load_price_table()
    admission = Admission.for_bot(
        bot, buckets=buckets, ledger=ledger, prices=prices, abuse=settings.abuse
    )
    gateway = None
    if gateway_endpoints:
        gateway = Gateway(
            {ep.name: hardened[ep.name] for ep in gateway_endpoints},
            gateway_endpoints,
            admission=admission,  # tenant/user limits and budgets apply per API key
            recorder=UsageRecorder(engine),
            metrics=metrics,
        )
        stack.push_async_callback(gateway.aclose)
    summarizer = Summarizer(
        chain,
        max_tokens=bot.memory.summary_tokens,
        timeout_seconds=bot.memory.summarize_timeout_seconds,
    )

    async def summarize(conversation_id: str, through_seq: int) -> None:
        await refresh_summary(store, summarizer, conversation_id, through_seq)

    opts = escalation_options or EscalationOptions()
    bus = opts.bus
    if bus is None and settings.redis_url:
        # its own Redis client: every live stream holds a pub/sub connection
        bus = RedisBus.from_url(settings.redis_url)
    embedder = await _embedder(bot)
    knowledge = await _knowledge(settings, bot, embedder)
    if knowledge is not None:
        stack.push_async_callback(asyncio.to_thread, knowledge.store.close)
    composer = await _composer(bot, embedder, knowledge)
    guard = await _guard(bot, embedder, knowledge, composer)
    escalation = build_escalation(
        engine,
        store,
        bot,
        opts.settings or EscalationSettings(),
        bus=bus,
        sinks=opts.sinks,
        key_cache_seconds=settings.api_key_cache_seconds,
    )
    escalation.service.gate = admission.admit_escalation  # escalations per address/session
    escalation.start()  # the outbox drain loop
    stack.push_async_callback(escalation.aclose)
    chat = ChatService(
        store=store,
        escalation=escalation.service,
        knowledge=knowledge,
        guard=guard,
        provider=chain,
        bot=bot,
        max_message_chars=settings.max_message_chars,
        summarize=summarize,
        degraded_mode=bot.degraded_mode,
        admission=admission,
        prices=prices,
        endpoints=endpoints,
        cheaper=cheaper,
        cheaper_endpoints=cheaper_endpoints,
        metrics=metrics,
        tracing=tracing,
        serving_dialect=endpoints[0].dialect if endpoints and provider is None else None,
        composer=composer,
    )
    stack.push_async_callback(chat.background.drain)
    deferred = DeferredAnswers(chat, interval=settings.deferred_interval_seconds, claim_lease=lease)
    stack.push_async_callback(deferred.aclose)
    log.info("services ready", extra={"provider": chain.name, "model": chain.model})
    return Services(
        settings=settings,
        bot=bot,
        store=store,
        provider=chain,
        chat=chat,
        shared=shared,
        breakers=board,
        gateway=gateway,
        redis=redis,
        deferred=deferred,
        metrics=metrics,
        tracing=tracing,
        escalation=escalation,
        media=MediaService.for_bot(
            bot, settings.data_dir, guard=guard.check_input if guard is not None else None
        ),
    )


def _warm(counters: list[TokenCounter]) -> None:
    for counter in counters:
        warm(counter)


async def _settle(task: asyncio.Future[None]) -> None:
    """Wait for a start-up job at shutdown; its failure is logged, not raised."""
    try:
        await task
    except Exception:
        log.exception("a start-up job failed")


async def _embedder(bot: BotConfig) -> LocalEmbedder | None:
    """The local MiniLM embedder, shared by retrieval and the guards, when either needs it."""
    guard = bot.guard
    needs = bot.knowledge.enabled or (
        guard.enabled and (guard.input.injection_classifier or guard.output.on_ungrounded != "off")
    )
    return await asyncio.to_thread(LocalEmbedder.load) if needs else None


async def _composer(
    bot: BotConfig, embedder: LocalEmbedder | None, knowledge: KnowledgeBase | None
) -> ExtractiveComposer | None:
    """Extractive answers need the documents' embedder, a sentence segmenter and, to notice
    near misses, a tagger and the collection's lexicon."""
    if not bot.knowledge.enabled or embedder is None:
        return None
    # one thread: two threads importing spaCy at once race on its module imports
    segment, tagger = await asyncio.to_thread(lambda: (spacy_segmenter(), SpacyTagger.load()))
    coverage = None
    if knowledge is not None:
        kb = knowledge
        coverage = Coverage(tagger, lambda: kb.lexicon, known=(bot.name, bot.company))
    return ExtractiveComposer(embedder, segment, coverage=coverage)


async def _guard(
    bot: BotConfig,
    embedder: LocalEmbedder | None,
    knowledge: KnowledgeBase | None,
    composer: ExtractiveComposer | None,
) -> TurnGuard | None:
    if not bot.guard.enabled:
        return None
    services = await asyncio.to_thread(
        GuardServices.load,
        bot.guard,
        embedder=embedder,
        known_term=knowledge.knows_term if knowledge is not None else None,
    )
    pipeline = GuardPipeline(bot.guard, services)
    if knowledge is not None:
        knowledge.screen = pipeline.source_screen  # hidden instructions stay out of prompts
    return TurnGuard(pipeline, bot.name, composer=composer)


async def _knowledge(
    settings: Settings, bot: BotConfig, embedder: LocalEmbedder | None
) -> KnowledgeBase | None:
    """The bot's documents: the local embedder and the knowledge store on the same database."""
    if not bot.knowledge.enabled or embedder is None:
        return None
    store = await asyncio.to_thread(open_store, settings.resolved_database_url)
    options = RetrievalOptions(
        top_k=bot.knowledge.top_k, min_similarity=bot.knowledge.min_similarity
    )
    retriever = Retriever(
        store, embedder, collection=bot.knowledge.collection, tenant="default", options=options
    )
    knowledge = KnowledgeBase(retriever, bot.knowledge)
    if not await knowledge.refresh():
        log.warning(
            "the knowledge collection %r is empty: answering without documents "
            "(run `frontdesk ingest PATH`)",
            bot.knowledge.collection,
        )
    return knowledge


@dataclass(frozen=True)
class EscalationOptions:
    """Escalation overrides for embedding apps and tests (default: from the environment)."""

    settings: EscalationSettings | None = None
    sinks: Mapping[str, EscalationSink] | None = None
    bus: LiveBus | None = None


def _redis(settings: Settings) -> Redis | None:
    if settings.redis_url is None:
        return None
    pool = BlockingConnectionPool.from_url(settings.redis_url, max_connections=64, timeout=5)
    return Redis(connection_pool=pool)


@asynccontextmanager
async def open_services(
    settings: Settings,
    bot: BotConfig,
    *,
    provider: ChatProvider | None = None,
    metrics: Metrics | None = None,
    tracing: Tracing | None = None,
    escalation_options: EscalationOptions | None = None,
) -> AsyncIterator[Services]:
    """The services of one app, open for the ``async with`` block.

    Each resource registers its own close as soon as it is opened, so a start-up that fails
    half-way closes what it had opened, and shutdown closes everything in reverse order.
    """
    async with AsyncExitStack() as stack:
        yield await _build(
            stack,
            settings,
            bot,
            provider=provider,
            metrics=metrics,
            tracing=tracing,
            escalation_options=escalation_options,
        )
