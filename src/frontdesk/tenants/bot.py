"""One bot's services: the default tenant's (from the bot YAML) or a tenant record's."""

from __future__ import annotations

from dataclasses import dataclass

from frontdesk.admission.gate import Admission
from frontdesk.chat.service import ChatService
from frontdesk.config import BotConfig, EndpointConfig
from frontdesk.media.service import MediaService
from frontdesk.providers.base import ChatProvider


@dataclass
class BotStack:
    bot: BotConfig
    chat: ChatService
    provider: ChatProvider
    admission: Admission
    media: MediaService
    hardened: dict[str, ChatProvider]
    """One resilient provider per endpoint (the gateway serves the default bot's)."""
    endpoints: list[EndpointConfig]
