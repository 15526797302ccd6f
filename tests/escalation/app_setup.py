"""The real app configured for escalation tests: a bot with contacts, escalation
settings, sinks and bus passed through ``create_app``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import httpx
from fastapi import FastAPI

from frontdesk.app import create_app
from frontdesk.config import BotConfig, Contact, EndpointConfig, MemoryConfig, ModelConfig
from frontdesk.escalation.live import LiveBus
from frontdesk.escalation.settings import EscalationSettings
from frontdesk.escalation.sinks import EscalationSink
from frontdesk.providers.base import ChatProvider
from frontdesk.settings import Settings
from frontdesk.wiring import EscalationOptions
from tests.servers import serve

CONTACTS = {
    "billing": Contact(team="Billing team", email="billing@acme.example"),
    "security": Contact(team="Security team", email="security@acme.example"),
}


def escalation_bot() -> BotConfig:
    return BotConfig(
        name="Testbot",
        company="Acme",
        system_prompt="You are {bot_name} of {company}. Today is {today}.\n{contacts}",
        model=ModelConfig(chain=["scripted"]),
        memory=MemoryConfig(window_tokens=400, summary_tokens=32),
        endpoints=[EndpointConfig(name="scripted", dialect="scripted", model="scripted-1")],
        contacts=CONTACTS,
        version="esc-test",
    )


def build_app(
    settings: Settings,
    provider: ChatProvider,
    *,
    bot: BotConfig | None = None,
    escalation_settings: EscalationSettings | None = None,
    sinks: Mapping[str, EscalationSink] | None = None,
    bus: LiveBus | None = None,
) -> FastAPI:
    """The real app with escalation test doubles-free overrides (settings, loopback sinks, bus)."""
    return create_app(
        settings,
        bot=bot or escalation_bot(),
        provider=provider,
        escalation=EscalationOptions(
            settings=escalation_settings or EscalationSettings(_env_file=None),
            sinks=sinks,
            bus=bus,
        ),
    )


@contextmanager
def running_app(
    settings: Settings, provider: ChatProvider, **kwargs: object
) -> Iterator[httpx.Client]:
    fast = settings.model_copy(update={"heartbeat_seconds": 0.5})  # SSE readers stop promptly
    app = build_app(fast, provider, **kwargs)  # type: ignore[arg-type]
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        yield client
