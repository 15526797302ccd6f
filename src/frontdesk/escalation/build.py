"""Build and close the escalation components of one app (called from the lifespan)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from frontdesk.auth.keys import ApiKeyStore
from frontdesk.config import BotConfig
from frontdesk.escalation.handoff import Handoff
from frontdesk.escalation.live import InMemoryBus, LiveBus, RedisBus
from frontdesk.escalation.outbox import Backoff, Outbox, OutboxDrainer
from frontdesk.escalation.policy import PolicyConfig
from frontdesk.escalation.routing import SinkRouter
from frontdesk.escalation.service import EscalationService
from frontdesk.escalation.settings import EscalationSettings
from frontdesk.escalation.sinks import EmailSink, EscalationSink, SmtpConfig, WebhookSink
from frontdesk.escalation.tickets import TicketStore
from frontdesk.memory.base import MemoryStore


@dataclass
class Escalation:
    """Everything of the hand-off feature an app holds for its lifetime."""

    service: EscalationService
    handoff: Handoff
    api_keys: ApiKeyStore
    bus: LiveBus
    outbox: Outbox
    drainer: OutboxDrainer
    router: SinkRouter
    """Set ``router.tenants`` to give tenants their own sinks."""

    def start(self) -> None:
        """Start the outbox drain loop (inside the running event loop)."""
        self.drainer.start()

    async def aclose(self) -> None:
        await self.drainer.aclose()
        await self.bus.aclose()


def build_sinks(settings: EscalationSettings) -> Mapping[str, EscalationSink]:
    sinks: dict[str, EscalationSink] = {}
    if settings.webhook_url and settings.webhook_secret:
        sinks["webhook"] = WebhookSink(
            url=settings.webhook_url, secret=settings.webhook_secret.get_secret_value()
        )
    if settings.smtp_host:
        sinks["email"] = EmailSink(
            SmtpConfig(
                host=settings.smtp_host,
                port=settings.resolved_smtp_port,
                sender=settings.smtp_sender,
                username=settings.smtp_username,
                password=(
                    settings.smtp_password.get_secret_value() if settings.smtp_password else None
                ),
                starttls=settings.smtp_starttls,
                use_tls=settings.smtp_tls,
                default_recipients=list(settings.default_recipients),
            )
        )
    return sinks


def build_escalation(
    engine: AsyncEngine,
    store: MemoryStore,
    bot: BotConfig,
    settings: EscalationSettings | None = None,
    *,
    policy: PolicyConfig | None = None,
    bus: LiveBus | None = None,
    sinks: Mapping[str, EscalationSink] | None = None,
    key_cache_seconds: float = 10.0,
) -> Escalation:
    """Wire the escalation feature on the conversation store's engine. No I/O happens here."""
    settings = settings or EscalationSettings()
    if bus is None:
        bus = RedisBus.from_url(settings.redis_url) if settings.redis_url else InMemoryBus()
    sinks = build_sinks(settings) if sinks is None else sinks
    router = SinkRouter(sinks, list(settings.default_recipients))
    outbox = Outbox(
        engine, sinks, backoff=Backoff(max_attempts=settings.max_attempts), router=router
    )
    drainer = OutboxDrainer(outbox, interval_seconds=settings.drain_interval_seconds)
    handoff = Handoff(
        tickets=TicketStore(engine),
        store=store,
        bus=bus,
        sinks=list(sinks),
        default_emails=list(settings.default_recipients),
        console_url=settings.console_url,
        on_opened=drainer.poke,
        route=router.route,
    )
    service = EscalationService(handoff, bot.contacts, policy or PolicyConfig())
    return Escalation(
        service=service,
        handoff=handoff,
        api_keys=ApiKeyStore(engine, cache_seconds=key_cache_seconds),
        bus=bus,
        outbox=outbox,
        drainer=drainer,
        router=router,
    )
