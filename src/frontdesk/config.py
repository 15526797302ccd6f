"""The bot configuration: a YAML file describing one support bot."""

from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from frontdesk.actions.config import ActionsConfig
from frontdesk.errors import ConfigError
from frontdesk.guard.config import GuardConfig
from frontdesk.identity.config import IdentitySection
from frontdesk.media.config import MediaConfig
from frontdesk.settings import describe_validation_error

Dialect = Literal["openai", "anthropic", "gemini", "local", "scripted"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EndpointConfig(_Strict):
    """One provider endpoint: an API dialect at a URL with a key and a model."""

    name: str
    dialect: Dialect
    model: str
    base_url: str | None = None
    api_key_env: str | None = Field(
        None, description="Name of the environment variable holding the key (never the key)"
    )
    context_length: int | None = Field(None, ge=256)
    timeout_seconds: float = Field(60.0, gt=0, description="Total deadline of one call")
    first_token_timeout_seconds: float | None = Field(
        None, gt=0, description="Deadline for the first token (default 20 s; local 120 s)"
    )
    idle_timeout_seconds: float = Field(15.0, gt=0, description="Longest gap between tokens")
    max_attempts: int = Field(3, ge=1, le=10, description="Tries per call, with backoff")
    rpm: int | None = Field(None, ge=1, description="Requests per minute allowed to this endpoint")
    tpm: int | None = Field(None, ge=1, description="Tokens per minute allowed to this endpoint")
    tools: bool = Field(
        True,
        description="The model calls tools natively (set false for an OpenAI-compatible "
        "server or model without tool calling; the local model never does)",
    )
    # scripted dialect only: replies to replay in order
    script: list[str] = Field(default_factory=list)


class ModelConfig(_Strict):
    chain: list[str] = Field(
        default_factory=lambda: ["local"],
        description="Endpoint names in fallback order; endpoints without a key are skipped",
    )
    temperature: float = Field(0.2, ge=0, le=2)
    max_output_tokens: int = Field(400, ge=1, le=32000)


class MemoryConfig(_Strict):
    window_tokens: int = Field(1024, ge=64, description="Token budget for verbatim history")
    summary_tokens: int = Field(200, ge=16, description="Longest stored summary")
    summarize_timeout_seconds: float = Field(20.0, gt=0)


class LimitsConfig(_Strict):
    """Requests per minute admitted per tenant, user and conversation (None: no limit)."""

    tenant_rpm: float | None = Field(None, gt=0)
    user_rpm: float | None = Field(None, gt=0)
    conversation_rpm: float | None = Field(20, gt=0)


class BudgetConfig(_Strict):
    scope: Literal["tenant", "user", "conversation"]
    window: Literal["day", "month", "total"]
    amount_usd: Decimal = Field(gt=0)


class KnowledgeConfig(_Strict):
    enabled: bool = True
    collection: str = "default"
    public: bool = Field(
        False,
        description="Customers may open whole documents of this collection; otherwise only "
        "the passages cited to their own conversation",
    )
    top_k: int = Field(4, ge=1, le=20, description="Sources put in the prompt")
    min_similarity: float = Field(
        0.3, ge=0, le=1, description="Below this, a question has no answer in the documents"
    )
    no_answer: Literal["say", "handoff"] = Field(
        "say", description="Nothing relevant found: say so (offering a person), or hand off"
    )
    no_answer_message: str = (
        "I couldn't find that in our documentation, so I won't guess. "
        "Would you like me to connect you with a person from our team?"
    )


class AnswerConfig(_Strict):
    """How answers are composed."""

    mode: Literal["generative", "extractive", "auto"] = Field(
        "auto",
        description=(
            "generative: the model writes the answer; extractive: quote the passages that "
            "answer, cited, with no model call; auto: extractive when the serving endpoint is "
            "the embedded model (or the model's answer fails the grounding check)"
        ),
    )
    follow_up_words: int = Field(
        9, ge=0, le=40, description="A question this short may depend on the previous turn"
    )


class Contact(_Strict):
    team: str
    email: str
    description: str = ""


class BotConfig(_Strict):
    name: str
    company: str
    system_prompt: str
    model: ModelConfig = ModelConfig()
    memory: MemoryConfig = MemoryConfig()
    endpoints: list[EndpointConfig] = Field(
        default_factory=lambda: [EndpointConfig(name="local", dialect="local", model="smollm2")]
    )
    contacts: dict[str, Contact] = Field(default_factory=dict)
    knowledge: KnowledgeConfig = KnowledgeConfig()
    answer: AnswerConfig = AnswerConfig()
    guard: GuardConfig = GuardConfig()
    media: MediaConfig = MediaConfig()
    limits: LimitsConfig = LimitsConfig()
    budgets: list[BudgetConfig] = Field(default_factory=list)
    identity: IdentitySection | None = Field(
        None, description="How the company's backend signs who the visitor is (None: anonymous)"
    )
    actions: ActionsConfig = ActionsConfig()
    over_budget: Literal["refuse", "cheaper"] = Field(
        "refuse", description="Over a budget: refuse clearly, or answer with cheaper_chain"
    )
    cheaper_chain: list[str] = Field(
        default_factory=list, description="Endpoints used over budget (over_budget: cheaper)"
    )
    greeting: str = "Hi! How can I help you today?"
    degraded_mode: bool = Field(
        True, description="Queue questions when every provider is down (else: an error)"
    )
    degraded_reply: str = Field(
        "I can't reach our answer service right now. Your question is saved, and the answer "
        "will appear right here as soon as the service is back.",
        description="Told to the customer when every provider is down",
    )
    version: str = Field("", description="Filled with a hash of the file when empty")

    def endpoint(self, name: str) -> EndpointConfig:
        for ep in self.endpoints:
            if ep.name == name:
                return ep
        raise ConfigError(f"model.chain names unknown endpoint {name!r}")

    def render_system_prompt(self, today: date) -> str:
        contacts = "\n".join(
            f"- {topic}: {c.team} <{c.email}>" + (f" ({c.description})" if c.description else "")
            for topic, c in self.contacts.items()
        )
        values = {
            "bot_name": self.name,
            "company": self.company,
            "today": today.isoformat(),
            "contacts": contacts or "- (none configured)",
        }
        try:
            return self.system_prompt.format_map(values)
        except (KeyError, ValueError) as exc:
            raise ConfigError(f"system_prompt has a bad placeholder: {exc}") from exc


def load_bot_config(path: Path) -> BotConfig:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read bot config {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        raise ConfigError(f"bot config {path} is not valid YAML: {exc}") from exc
    return bot_config_from(data, source=str(path), digest_of=raw)


def bot_config_from(data: object, *, source: str, digest_of: bytes) -> BotConfig:
    """Validate a bot config document (a YAML file's or a tenant's stored one).

    ``digest_of`` is hashed into ``version`` when the document sets none.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"bot config {source} must be a mapping at the top level")
    try:
        config = BotConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: " + describe_validation_error(exc)) from exc
    for name in [*config.model.chain, *config.cheaper_chain]:
        config.endpoint(name)
    if not config.version:
        config = config.model_copy(update={"version": hashlib.sha256(digest_of).hexdigest()[:12]})
    # validate placeholders early
    config.render_system_prompt(date.today())
    return config
