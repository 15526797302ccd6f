"""Build a bot's hardened providers from configuration: ``harden(endpoint)`` per
endpoint, shared by the bot's chains (``Fallback([...])``, built in ``wiring``) and
the gateway."""

from __future__ import annotations

from frontdesk.admission.buckets import Buckets
from frontdesk.config import BotConfig, EndpointConfig
from frontdesk.providers.base import ChatProvider
from frontdesk.providers.breaker import BreakerBoard, CircuitBreaker
from frontdesk.providers.factory import SharedModels, available_chain, build_provider
from frontdesk.providers.resilience import Resilience, harden
from frontdesk.providers.retry import RetryPolicy
from frontdesk.providers.timeouts import Timeouts
from frontdesk.settings import Settings

LOCAL_FIRST_TOKEN_SECONDS = 120.0
REMOTE_FIRST_TOKEN_SECONDS = 20.0


def resilience_for(endpoint: EndpointConfig) -> Resilience:
    local = endpoint.dialect == "local"
    first = endpoint.first_token_timeout_seconds or (
        LOCAL_FIRST_TOKEN_SECONDS if local else REMOTE_FIRST_TOKEN_SECONDS
    )
    total = max(endpoint.timeout_seconds, first)
    from frontdesk.providers.limits import ProviderLimits

    return Resilience(
        policy=RetryPolicy(max_attempts=1 if local else endpoint.max_attempts),
        timeouts=Timeouts(
            connect=min(5.0, total),
            first_token=first,
            idle=endpoint.idle_timeout_seconds,
            total=total,
        ),
        limits=ProviderLimits(rpm=endpoint.rpm, tpm=endpoint.tpm),
    )


def new_breaker_board() -> BreakerBoard:
    return BreakerBoard(lambda name: CircuitBreaker(name, failure_threshold=5, cooldown=30.0))


def usable_endpoints(
    bot: BotConfig, settings: Settings, names: list[str] | None = None
) -> list[EndpointConfig]:
    """The endpoints of ``names`` (default: the bot's chain) that have their keys."""
    if names is None:
        return available_chain(bot, settings)
    return available_chain(
        bot.model_copy(update={"model": bot.model.model_copy(update={"chain": names})}), settings
    )


def build_hardened(
    settings: Settings,
    endpoints: list[EndpointConfig],
    *,
    shared: SharedModels,
    board: BreakerBoard,
    buckets: Buckets | None,
) -> dict[str, ChatProvider]:
    """One resilient provider per endpoint (breakers and limits shared through board/buckets)."""
    return {
        ep.name: harden(
            build_provider(ep, settings, shared=shared),
            breaker=board.get(ep.name),
            buckets=buckets,
            config=resilience_for(ep),
        )
        for ep in endpoints
    }
