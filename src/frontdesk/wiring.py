"""Build and close the services of one app (called from the lifespan and the CLI)."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncEngine

from frontdesk.admission.buckets import Buckets, MemoryBuckets, RedisBuckets
from frontdesk.admission.budgets import Ledger, MemoryLedger, RedisLedger
from frontdesk.admission.gate import Admission
from frontdesk.chat.deferred import CLAIM_LEASE_SECONDS, DeferredAnswers
from frontdesk.chat.leases import AnswerSweeper, new_worker_id
from frontdesk.chat.service import ChatService
from frontdesk.config import BotConfig, EndpointConfig
from frontdesk.domain import Conversation
from frontdesk.escalation import EscalationService, EscalationSettings, build_escalation
from frontdesk.escalation.build import Escalation
from frontdesk.escalation.live import LiveBus, RedisBus
from frontdesk.escalation.sinks import EscalationSink
from frontdesk.gateway.recorder import UsageRecorder
from frontdesk.gateway.service import Gateway
from frontdesk.identity.config import identity_config_for, unset_variables
from frontdesk.identity.verifier import IdentityVerifier
from frontdesk.media.service import MediaService
from frontdesk.memory.dialects import create_engine
from frontdesk.memory.leases import WorkerLeases
from frontdesk.memory.migrate import check_at_head
from frontdesk.memory.sql import SqlMemoryStore
from frontdesk.memory.summarizer import Summarizer, refresh_summary
from frontdesk.providers.base import ChatProvider
from frontdesk.providers.breaker import BreakerBoard
from frontdesk.providers.chain import (
    build_hardened,
    new_breaker_board,
    usable_endpoints,
)
from frontdesk.providers.factory import SharedModels
from frontdesk.providers.fallback import Fallback
from frontdesk.providers.pricing import PriceTable, load_price_table
from frontdesk.services import Services
from frontdesk.settings import Settings
from frontdesk.telemetry import Metrics, Tracing
from frontdesk.tenants.bot import BotStack
from frontdesk.tenants.config import DEFAULT_TENANT
from frontdesk.tenants.registry import TenantBots, TenantUnavailable
from frontdesk.tenants.sinks import TenantSinks
from frontdesk.tenants.store import TenantStore

if TYPE_CHECKING:  # the knowledge, guard and action stacks load only when configured
    from redis.asyncio import Redis

    from frontdesk.answer.extractive import ExtractiveComposer
    from frontdesk.chat.acting import ActionDeps
    from frontdesk.chat.guarding import TurnGuard
    from frontdesk.chat.knowledge import KnowledgeBase
    from frontdesk.knowledge.embedding import LocalEmbedder
    from frontdesk.knowledge.stores.base import KnowledgeStore

log = logging.getLogger(__name__)


@dataclass
class SharedServices:
    """What every tenant's bot shares: the database, model files, limits and hand-off."""

    settings: Settings
    engine: AsyncEngine
    store: SqlMemoryStore
    shared: SharedModels
    board: BreakerBoard
    buckets: Buckets
    ledger: Ledger
    prices: PriceTable
    metrics: Metrics
    tracing: Tracing
    escalation: Escalation
    models: SharedKnowledge


async def build_bot(
    stack: AsyncExitStack,
    shared: SharedServices,
    bot: BotConfig,
    *,
    tenant_id: str,
    provider: ChatProvider | None = None,
    extra_endpoints: Sequence[EndpointConfig] = (),
    escalation: EscalationService | None = None,
) -> BotStack:
    """Build one bot's provider chain, admission, knowledge, guard and chat service.

    Everything opened registers its close on ``stack``. ``extra_endpoints`` get resilient
    providers too (the gateway's); ``escalation`` defaults to a service with this bot's
    contacts on the shared hand-off.
    """
    settings = shared.settings
    endpoints = usable_endpoints(bot, settings)
    cheaper_endpoints = (
        usable_endpoints(bot, settings, bot.cheaper_chain) if bot.over_budget == "cheaper" else []
    )
    cheaper: ChatProvider | None = None
    hardened: dict[str, ChatProvider] = {}
    if provider is None:
        wanted = {ep.name: ep for ep in [*endpoints, *cheaper_endpoints, *extra_endpoints]}
        if any(ep.dialect == "local" for ep in wanted.values()):
            await shared.shared.load_local()  # hash check + load, off the event loop
        # one resilient provider per endpoint, shared by the bot chain and the gateway
        hardened = build_hardened(
            settings,
            list(wanted.values()),
            shared=shared.shared,
            board=shared.board,
            buckets=shared.buckets,
        )
        chain: ChatProvider = Fallback([hardened[ep.name] for ep in endpoints])
        if bot.over_budget == "cheaper" and cheaper_endpoints:
            cheaper = Fallback([hardened[ep.name] for ep in cheaper_endpoints])
    else:
        chain = provider
    stack.push_async_callback(chain.aclose)
    # no tokenizer is loaded here: each loads on its first count, once per process (quicktok
    # holds the GIL while it loads o200k_base, ~0.45 s of CPU, so warming it in a thread at
    # start was start-up time). A gateway request counts only for a budget, a TPM limit or a
    # prompt near the context window; a chat turn always counts (the first one loads it).
    admission = Admission.for_bot(
        bot,
        buckets=shared.buckets,
        ledger=shared.ledger,
        prices=shared.prices,
        abuse=settings.abuse,
    )
    summarizer = Summarizer(
        chain,
        max_tokens=bot.memory.summary_tokens,
        timeout_seconds=bot.memory.summarize_timeout_seconds,
    )
    store = shared.store

    async def summarize(conversation_id: str, through_seq: int) -> None:
        await refresh_summary(store, summarizer, conversation_id, through_seq)

    embedder = await shared.models.embedder() if _needs_embedder(bot) else None
    knowledge = await _knowledge(shared.models, bot, embedder, tenant_id=tenant_id)
    composer = await _composer(bot, embedder, knowledge, shared.models)
    guard = await _guard(bot, embedder, knowledge, composer, shared.models)
    actions = await _actions(stack, shared, bot, embedder)
    if escalation is None:
        escalation = EscalationService(shared.escalation.handoff, bot.contacts)
    escalation.gate = admission.admit_escalation  # escalations per address/session
    chat = ChatService(
        store=store,
        escalation=escalation,
        knowledge=knowledge,
        guard=guard,
        provider=chain,
        bot=bot,
        max_message_chars=settings.max_message_chars,
        tenant_id=tenant_id,
        summarize=summarize,
        degraded_mode=bot.degraded_mode,
        admission=admission,
        prices=shared.prices,
        endpoints=endpoints,
        cheaper=cheaper,
        cheaper_endpoints=cheaper_endpoints,
        metrics=shared.metrics,
        tracing=shared.tracing,
        serving_dialect=endpoints[0].dialect if endpoints and provider is None else None,
        composer=composer,
        identity=_identity(bot, tenant_id),
        actions=actions,
    )
    stack.push_async_callback(chat.background.drain)
    media = MediaService.for_bot(
        bot, settings.data_dir, guard=guard.check_input if guard is not None else None
    )
    return BotStack(
        bot=bot,
        chat=chat,
        provider=chain,
        admission=admission,
        media=media,
        hardened=hardened,
        endpoints=endpoints,
    )


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
    engine = create_engine(url, pool=settings.db_pool)
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
    # this worker's id on the pending answers it stores, its heartbeat, and the sweep
    # that ends a dead worker's pending answers within seconds (chat/leases.py)
    store.owner = new_worker_id()
    sweeper = AnswerSweeper(WorkerLeases(engine), store.owner, settings.answer_leases)
    await sweeper.start()
    stack.push_async_callback(sweeper.aclose)
    shared_models = SharedModels(settings)
    stack.push_async_callback(shared_models.aclose)
    redis = _redis(settings)
    if redis is not None:
        stack.push_async_callback(redis.aclose)
    opts = escalation_options or EscalationOptions()
    bus = opts.bus
    if bus is None and settings.redis_url:
        # its own Redis client: every live stream holds a pub/sub connection
        bus = RedisBus.from_url(settings.redis_url)
    escalation = build_escalation(
        engine,
        store,
        bot,
        opts.settings or EscalationSettings(),
        bus=bus,
        sinks=opts.sinks,
        key_cache_seconds=settings.api_key_cache_seconds,
    )
    escalation.start()  # the outbox drain loop
    stack.push_async_callback(escalation.aclose)
    knowledge_models = SharedKnowledge(url)
    stack.push_async_callback(knowledge_models.aclose)
    shared = SharedServices(
        settings=settings,
        engine=engine,
        store=store,
        shared=shared_models,
        board=new_breaker_board(),
        buckets=RedisBuckets(redis) if redis is not None else MemoryBuckets(),
        ledger=RedisLedger(redis) if redis is not None else MemoryLedger(),
        prices=load_price_table(),
        metrics=metrics,
        tracing=tracing,
        escalation=escalation,
        models=knowledge_models,
    )
    gateway_endpoints = (
        usable_endpoints(bot, settings, [ep.name for ep in bot.endpoints])
        if settings.gateway_enabled and provider is None
        else []
    )
    default = await build_bot(
        stack,
        shared,
        bot,
        tenant_id=DEFAULT_TENANT,
        provider=provider,
        extra_endpoints=gateway_endpoints,
        escalation=escalation.service,
    )
    gateway = None
    if gateway_endpoints:
        gateway = Gateway(
            {ep.name: default.hardened[ep.name] for ep in gateway_endpoints},
            gateway_endpoints,
            admission=default.admission,  # tenant/user limits and budgets apply per API key
            recorder=UsageRecorder(engine),
            metrics=metrics,
        )
        stack.push_async_callback(gateway.aclose)
    tenant_bots = TenantBots(
        TenantStore(engine),
        lambda tenant_stack, record: build_bot(
            tenant_stack, shared, record.config.served_bot(), tenant_id=record.id
        ),
        cache_seconds=settings.api_key_cache_seconds,
    )
    stack.push_async_callback(tenant_bots.aclose)
    escalation.router.tenants = TenantSinks(tenant_bots.by_id).lookup  # their own sinks
    chat = default.chat

    async def chat_for(conversation: Conversation) -> ChatService | None:
        """Queued answers are answered by their conversation's tenant's bot."""
        if conversation.tenant_id == DEFAULT_TENANT:
            return chat
        try:
            record = await tenant_bots.by_id(conversation.tenant_id)
            return None if record is None else (await tenant_bots.bot(record)).chat
        except TenantUnavailable:
            return None

    deferred = DeferredAnswers(
        chat,
        interval=settings.deferred_interval_seconds,
        claim_lease=lease,
        service_for=chat_for,
    )
    stack.push_async_callback(deferred.aclose)
    log.info(
        "services ready", extra={"provider": default.provider.name, "model": default.provider.model}
    )
    return Services(
        settings=settings,
        bot=bot,
        store=store,
        provider=default.provider,
        chat=chat,
        shared=shared_models,
        breakers=shared.board,
        gateway=gateway,
        redis=redis,
        deferred=deferred,
        metrics=metrics,
        tracing=tracing,
        escalation=escalation,
        media=default.media,
        tenants=tenant_bots,
    )


def _identity(bot: BotConfig, tenant_id: str) -> IdentityVerifier:
    """The tenant's identity verifier. Secrets that are not set leave that kind of identity
    unaccepted (its visitors anonymous: the closed state), with a warning."""
    missing = unset_variables(bot.identity, os.environ)
    if missing:
        log.warning(
            "identity of tenant %r: %s not set; those identities are not accepted",
            tenant_id,
            ", ".join(missing),
        )
    return IdentityVerifier(identity_config_for(tenant_id, bot.identity), tenant=tenant_id)


async def _actions(
    stack: AsyncExitStack, shared: SharedServices, bot: BotConfig, embedder: LocalEmbedder | None
) -> ActionDeps | None:
    """The bot's actions: the runtime (budgets on the shared buckets) and, with the embedder,
    the embedded model's router. None when the bot has none."""
    if not bot.actions.enabled:
        return None  # the action stack (PyJWT, cryptography) loads only when configured
    from frontdesk.actions.setup import resolve_actions

    resolved = resolve_actions(bot.actions, base_dir=shared.settings.bot_config.parent)
    if resolved is None:
        return None
    if resolved.acting_for is None:
        log.warning(
            "actions: %s is not set; every action refuses to run",
            bot.actions.secret_env or "actions.secret_env",
        )
    from frontdesk.actions.routing import ActionRouter
    from frontdesk.actions.runtime import ActionRuntime
    from frontdesk.chat.acting import ActionDeps

    runtime = ActionRuntime(resolved, buckets=shared.buckets)
    stack.push_async_callback(runtime.aclose)
    if embedder is None:
        embedder = await shared.models.embedder()
    threshold = bot.actions.route_threshold
    router = await asyncio.to_thread(
        ActionRouter, embedder, resolved.definitions, threshold=threshold
    )
    return ActionDeps(runtime, router, confirm_ttl_seconds=bot.actions.confirm_ttl_seconds)


def _needs_embedder(bot: BotConfig) -> bool:
    """The local MiniLM embedder serves retrieval and the guards, when either needs it."""
    guard = bot.guard
    return bot.knowledge.enabled or (
        guard.enabled and (guard.input.injection_classifier or guard.output.on_ungrounded != "off")
    )


class SharedKnowledge:
    """The embedder and the knowledge store, opened on first use and shared by every bot
    (each bot's retriever filters by its tenant and collection)."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._embedder: LocalEmbedder | None = None
        self._store: KnowledgeStore | None = None
        self._english: Any = None
        self._lock = asyncio.Lock()

    async def embedder(self) -> LocalEmbedder:
        async with self._lock:
            if self._embedder is None:
                from frontdesk.knowledge.embedding import LocalEmbedder

                # one onnxruntime thread: a turn embeds a few short texts, where a second
                # intra-op thread only spins (2 new texts: 16.3 -> 11.1 CPU ms, 24 -> 12 ms
                # wall on the 2-core machine); concurrent turns run in parallel anyway
                self._embedder = await asyncio.to_thread(LocalEmbedder.load, threads=1)
            return self._embedder

    async def english(self) -> Any:
        """spaCy's en_core_web_sm, loaded once: the composer's tagger and the PII guard's
        name detection share it."""
        async with self._lock:
            if self._english is None:
                from frontdesk.guard.ner import load_english

                self._english = await asyncio.to_thread(load_english)
            return self._english

    async def store(self) -> KnowledgeStore:
        async with self._lock:
            if self._store is None:
                from frontdesk.knowledge.stores.factory import open_store

                self._store = await asyncio.to_thread(open_store, self._url)
            return self._store

    async def aclose(self) -> None:
        if self._store is not None:
            await asyncio.to_thread(self._store.close)
            self._store = None


async def _composer(
    bot: BotConfig,
    embedder: LocalEmbedder | None,
    knowledge: KnowledgeBase | None,
    models: SharedKnowledge,
) -> ExtractiveComposer | None:
    """Extractive answers need the documents' embedder, a sentence segmenter and, to notice
    near misses, a tagger (on the shared spaCy pipeline) and the collection's lexicon."""
    if not bot.knowledge.enabled or embedder is None:
        return None
    from frontdesk.answer.coverage import Coverage, SpacyTagger
    from frontdesk.answer.extractive import ExtractiveComposer
    from frontdesk.answer.units import spacy_segmenter

    tagger = SpacyTagger(await models.english())
    segment = await asyncio.to_thread(spacy_segmenter)  # after spaCy's imports (no race)
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
    models: SharedKnowledge,
) -> TurnGuard | None:
    if not bot.guard.enabled:
        return None
    from frontdesk.chat.guarding import TurnGuard
    from frontdesk.guard.pipeline import GuardPipeline, GuardServices

    names = bot.guard.input.pii_names and "pii" in bot.guard.input.checks
    services = await asyncio.to_thread(
        GuardServices.load,
        bot.guard,
        embedder=embedder,
        known_term=knowledge.knows_term if knowledge is not None else None,
        nlp=await models.english() if names else None,
    )
    pipeline = GuardPipeline(bot.guard, services)
    if knowledge is not None:
        knowledge.screen = pipeline.source_screen  # hidden instructions stay out of prompts
    return TurnGuard(pipeline, bot.name, composer=composer)


async def _knowledge(
    models: SharedKnowledge, bot: BotConfig, embedder: LocalEmbedder | None, *, tenant_id: str
) -> KnowledgeBase | None:
    """The bot's documents: its tenant's collection in the shared knowledge store."""
    if not bot.knowledge.enabled or embedder is None:
        return None
    from frontdesk.chat.knowledge import KnowledgeBase
    from frontdesk.knowledge.retrieval import RetrievalOptions, Retriever

    store = await models.store()
    options = RetrievalOptions(
        top_k=bot.knowledge.top_k, min_similarity=bot.knowledge.min_similarity
    )
    retriever = Retriever(
        store, embedder, collection=bot.knowledge.collection, tenant=tenant_id, options=options
    )
    knowledge = KnowledgeBase(retriever, bot.knowledge)
    if not await knowledge.refresh():
        log.warning(
            "the knowledge collection %r of tenant %r is empty: answering without documents "
            "(run `frontdesk ingest PATH%s`)",
            bot.knowledge.collection,
            tenant_id,
            "" if tenant_id == DEFAULT_TENANT else f" --tenant {tenant_id}",
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
    from redis.asyncio import BlockingConnectionPool, Redis  # only when configured

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
