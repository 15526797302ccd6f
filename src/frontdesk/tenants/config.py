"""A tenant's configuration document: its bot, branding, widget origins and retention.

Validated with the same models as the main bot config (:class:`frontdesk.config.BotConfig`),
strictly (unknown fields are errors), on write and again on every read: a stored document
that no longer validates makes the tenant unavailable instead of serving something else.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from frontdesk.config import BotConfig, bot_config_from
from frontdesk.errors import ConfigError
from frontdesk.settings import describe_validation_error
from frontdesk.tenants.sink_config import TenantEscalation

DEFAULT_TENANT = "default"
TENANT_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
MAX_LOGO_DATA_URL_CHARS = 64 * 1024
_LOGO_DATA = re.compile(r"^data:image/(png|jpeg|webp|gif|svg\+xml);base64,[A-Za-z0-9+/=]+$")


def _color(value: str) -> str:
    if not _COLOR.match(value):
        raise ValueError("a colour is #rrggbb, e.g. #0f766e")
    return value.lower()


def _origin(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError(f"{value!r} is not an origin like https://www.example.com")
    if parts.path not in ("", "/") or parts.query or parts.fragment or "@" in parts.netloc:
        raise ValueError(f"{value!r} must be an origin only (scheme://host[:port])")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def _logo(value: str) -> str:
    if value.startswith("data:"):
        if len(value) > MAX_LOGO_DATA_URL_CHARS or not _LOGO_DATA.match(value):
            raise ValueError(
                "a logo data: URL is a base64 PNG, JPEG, WebP, GIF or SVG image of at most "
                f"{MAX_LOGO_DATA_URL_CHARS} characters"
            )
        return value
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.netloc or "@" in parts.netloc:
        raise ValueError("logo_url is an https:// URL or a data:image/...;base64 URL")
    return value


Color = Annotated[str, AfterValidator(_color)]
Origin = Annotated[str, AfterValidator(_origin)]
LogoUrl = Annotated[str, AfterValidator(_logo)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Branding(_Strict):
    """What the web chat and widget show for this tenant (all public)."""

    name: str | None = Field(
        None, min_length=1, max_length=80, description="Title of the chat (default: bot name)"
    )
    greeting: str | None = Field(
        None, min_length=1, max_length=2000, description="First message (default: bot greeting)"
    )
    primary_color: Color = Field("#4f46e5", description="Buttons, links and the user's bubbles")
    header_color: Color | None = Field(None, description="Header background (default: primary)")
    logo_url: LogoUrl | None = Field(
        None, description="https:// image URL or a small data:image/...;base64 URL"
    )
    launcher_label: str = Field(
        "Chat with us", min_length=1, max_length=40, description="The widget's button"
    )


class TenantConfig(_Strict):
    """One tenant: its bot (the same schema as config/bot.yaml), branding and limits.

    Everything a bot config holds is per tenant through ``bot`` (prompt, model chain, guard,
    limits, budgets, knowledge collection, and the ``identity`` section naming the
    variables of the tenant's identity secrets, when the bot config has one).
    """

    bot: BotConfig
    branding: Branding = Branding()
    widget_origins: list[Origin] = Field(
        default_factory=list,
        description="Sites allowed to embed this tenant's widget (frame-ancestors) and to "
        "read its branding cross-origin",
    )
    retention_days: int | None = Field(
        None, ge=1, le=36500, description="Delete conversations older than this (None: keep)"
    )
    escalation: TenantEscalation = Field(
        default_factory=TenantEscalation,
        description="The tenant's own hand-off webhook and SMTP (each unset: the operator's)",
    )

    @property
    def display_name(self) -> str:
        return self.branding.name or self.bot.name

    @property
    def greeting(self) -> str:
        return self.branding.greeting or self.bot.greeting

    def served_bot(self) -> BotConfig:
        """The bot as served: the branding's greeting, when set, is the bot's greeting."""
        if self.branding.greeting is None:
            return self.bot
        return self.bot.model_copy(update={"greeting": self.branding.greeting})


def config_version(document: dict[str, Any]) -> str:
    """A short hash of a tenant document (canonical JSON): changes when anything changes."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def parse_tenant_config(document: object, *, source: str) -> TenantConfig:
    """Validate a stored or submitted tenant document; :class:`ConfigError` when it is bad."""
    if not isinstance(document, dict):
        raise ConfigError(f"tenant config {source} must be a mapping at the top level")
    bot_doc = document.get("bot")
    if bot_doc is None:
        raise ConfigError(f"tenant config {source}: 'bot' (the bot config) is required")
    canonical_bot = json.dumps(bot_doc, sort_keys=True, default=str).encode()
    bot = bot_config_from(bot_doc, source=f"{source} bot", digest_of=canonical_bot)
    try:
        return TenantConfig.model_validate({**document, "bot": bot})
    except ValidationError as exc:
        raise ConfigError(f"{source}: " + describe_validation_error(exc)) from exc


def read_tenant_file(path: Path) -> dict[str, Any]:
    """A tenant YAML file as a document; ``bot:`` may name a bot YAML file (relative to it)."""
    try:
        data = yaml.safe_load(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"cannot read tenant config {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"tenant config {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"tenant config {path} must be a mapping at the top level")
    bot = data.get("bot")
    if isinstance(bot, str):
        bot_path = (path.parent / bot).resolve()
        try:
            bot = yaml.safe_load(bot_path.read_bytes())
        except OSError as exc:
            raise ConfigError(f"cannot read bot config {bot_path}: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"bot config {bot_path} is not valid YAML: {exc}") from exc
        data = {**data, "bot": bot}
    document: dict[str, Any] = json.loads(json.dumps(data, default=str))  # JSON-safe
    parse_tenant_config(document, source=str(path))  # fail now, not when serving
    return document
