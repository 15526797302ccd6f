"""Guard configuration: a pydantic model meant to be embedded in ``BotConfig`` as ``guard``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

InputCheckName = Literal["pii", "length", "injection"]


_DEFAULT_CHECKS: tuple[InputCheckName, ...] = ("pii", "length", "injection")
_DEFAULT_RULES: tuple[str, ...] = ("no_refund_promise",)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PolicyRuleConfig(_Strict):
    name: str
    patterns: list[str] = Field(min_length=1, description="Case-insensitive regular expressions")
    message: str = ""


class InputGuardConfig(_Strict):
    checks: list[InputCheckName] = Field(
        default_factory=lambda: list(_DEFAULT_CHECKS),
        description="Checks in the order they run; PII redaction always applies to the text",
    )
    max_chars: int = Field(4000, ge=1)
    pii_names: bool = Field(True, description="Detect names and addresses (loads spaCy)")
    pii_block_kinds: list[str] = Field(
        default_factory=list,
        description="Placeholder kinds that block the message instead of redacting (e.g. CARD)",
    )
    injection_classifier: bool = Field(True, description="Use the embedding classifier")
    injection_threshold: float | None = Field(
        None, ge=0, le=1, description="Override the shipped classifier threshold"
    )
    injection_action: Literal["block", "escalate"] = "block"


class OutputGuardConfig(_Strict):
    holdback_chars: int = Field(48, ge=0, le=2000)
    window_chars: int = Field(400, ge=50)
    blocked_phrases: list[str] = Field(default_factory=list)
    policy_rules: list[str | PolicyRuleConfig] = Field(
        default_factory=lambda: list[str | PolicyRuleConfig](_DEFAULT_RULES),
        description="Preset names (no_refund_promise, no_legal_advice) or custom rules",
    )
    canary: bool = Field(True, description="Put a canary token in the system prompt")
    on_ungrounded: Literal["flag", "extractive", "escalate", "off"] = "flag"
    min_grounding: float = Field(0.5, ge=0, le=1)
    sentence_threshold: float = Field(0.6, ge=0, le=1)
    min_answer_words: int = Field(4, ge=0)


class GuardConfig(_Strict):
    enabled: bool = True
    input: InputGuardConfig = InputGuardConfig()
    output: OutputGuardConfig = OutputGuardConfig()
