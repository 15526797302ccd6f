"""A :class:`~frontdesk.replay.engine.Replayer` over one app's services (server or CLI)."""

from __future__ import annotations

from frontdesk.errors import ConfigError, Conflict, NotFound
from frontdesk.providers.base import ChatProvider
from frontdesk.providers.factory import build_provider
from frontdesk.replay.engine import Replayer
from frontdesk.services import Services


def replayer_for(services: Services) -> Replayer:
    """Replays with the services' store, bot, chain, guard, composer and prices; another
    endpoint (``--endpoint``) is built from the bot config, unwrapped (one attempt)."""
    bot, settings, shared = services.bot, services.settings, services.shared

    async def endpoint(name: str) -> ChatProvider:
        try:
            config = bot.endpoint(name)
        except ConfigError:
            known = ", ".join(ep.name for ep in bot.endpoints)
            raise NotFound(f"the bot has no endpoint {name!r} (it has: {known})") from None
        try:
            if config.dialect == "local":
                await shared.load_local()
            return build_provider(config, settings, shared=shared)
        except ConfigError as exc:
            raise Conflict(f"endpoint {name!r} cannot be used here: {exc}") from exc

    chat = services.chat
    return Replayer(
        store=services.store,
        bot=bot,
        chain=services.provider,
        endpoint=endpoint,
        guard=chat.guard,
        composer=chat.composer,
        prices=chat.prices,
    )
