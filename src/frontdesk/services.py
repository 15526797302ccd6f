"""The service container built once per app in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from frontdesk.chat.deferred import DeferredAnswers
from frontdesk.chat.service import ChatService
from frontdesk.config import BotConfig
from frontdesk.escalation import Escalation
from frontdesk.gateway.service import Gateway
from frontdesk.media.service import MediaService
from frontdesk.memory.base import MemoryStore
from frontdesk.providers.base import ChatProvider
from frontdesk.providers.breaker import BreakerBoard
from frontdesk.providers.factory import SharedModels
from frontdesk.settings import Settings
from frontdesk.telemetry import Metrics, Tracing
from frontdesk.tenants.bot import BotStack
from frontdesk.tenants.registry import TenantBots

if TYPE_CHECKING:
    from redis.asyncio import Redis  # imported only when FRONTDESK_REDIS_URL is set


@dataclass
class Services:
    settings: Settings
    bot: BotConfig
    store: MemoryStore
    provider: ChatProvider
    chat: ChatService
    shared: SharedModels
    breakers: BreakerBoard
    gateway: Gateway | None
    redis: Redis | None
    metrics: Metrics
    deferred: DeferredAnswers
    tracing: Tracing
    escalation: Escalation
    media: MediaService | None = None
    """Images and voice messages (None: the bot accepts text only)."""
    tenants: TenantBots[BotStack] | None = None
    """The bots of tenant records, built on first use (None: only the default tenant)."""
