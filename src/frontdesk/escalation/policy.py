"""The escalation policy: pure decisions from a message and its conversation's signals."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from frontdesk.config import Contact
from frontdesk.escalation import phrases

ReasonCode = Literal[
    "customer_request",
    "topic",
    "repeated_failures",
    "frustration",
    "repeated_message",
    "low_groundedness",
    "guard",
    "agent_request",
]

REASON_LABELS: dict[str, str] = {
    "customer_request": "Customer asked for a person",
    "topic": "Topic needs a team",
    "repeated_failures": "Bot failed to answer repeatedly",
    "frustration": "Customer is frustrated",
    "repeated_message": "Customer repeated the same message",
    "low_groundedness": "Answer not supported by sources",
    "guard": "Guardrail asked for a person",
    "agent_request": "Opened by staff",
}


class PolicyConfig(BaseModel):
    """Thresholds of the policy (defaults suit a support bot)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    on_customer_request: bool = True
    on_topics: tuple[str, ...] = ("billing", "refunds", "security", "legal")
    failed_answers: int = Field(2, ge=1, description="Failed answers in a row that escalate")
    repeat_threshold: int = Field(
        3, ge=2, description="The same message this many times among the recent ones escalates"
    )
    negativity_threshold: int = Field(
        3, ge=1, description="Negativity of one message (strong phrase = 2, mild = 1)"
    )
    negativity_window_threshold: int = Field(
        4, ge=1, description="Negativity summed over the last three customer messages"
    )
    low_groundedness: float = Field(0.35, ge=0, le=1)
    escalate_on_low_groundedness: bool = True


@dataclass(frozen=True, slots=True)
class Trigger:
    reason: ReasonCode
    detail: str
    topic: str | None = None

    @property
    def label(self) -> str:
        return REASON_LABELS[self.reason]


@dataclass(frozen=True, slots=True)
class Route:
    """The team a ticket goes to: a bot-config contact, or the general queue."""

    topic: str | None
    contact_key: str | None
    team: str | None
    email: str | None


def detect_on_message(
    text: str,
    previous_user_texts: Sequence[str],
    config: PolicyConfig,
    team_topics: Collection[str] | None = None,
) -> Trigger | None:
    """Decide from a customer's new message (``previous_user_texts`` oldest first).

    ``team_topics`` limits topic escalation to topics a team handles (see
    :func:`team_topics`); None means every topic of ``config.on_topics``.
    """
    topic = phrases.topic_of(text)
    if config.on_customer_request:
        phrase = phrases.asks_for_human(text)
        if phrase is not None:
            return Trigger("customer_request", f"asked: {phrase!r}", topic)
    allowed = config.on_topics if team_topics is None else team_topics
    if topic is not None and topic in allowed:
        return Trigger("topic", f"{topic} request", topic)
    norm = phrases.normalise(text)
    recent = [phrases.normalise(t) for t in previous_user_texts[-5:]]
    if norm and recent.count(norm) + 1 >= config.repeat_threshold:
        return Trigger("repeated_message", f"sent the same message {recent.count(norm) + 1} times")
    score = phrases.negativity(text)
    window = score + sum(phrases.negativity(t) for t in previous_user_texts[-2:])
    if score >= config.negativity_threshold or (
        score > 0 and window >= config.negativity_window_threshold
    ):
        return Trigger("frustration", f"negative wording (score {score}, recent {window})", topic)
    return None


@dataclass(frozen=True, slots=True)
class AnswerSignals:
    """What the pipeline knows about one finished answer."""

    status: str
    """complete | partial | failed (or blocked by a guard)."""
    content: str = ""
    groundedness: float | None = None
    reason_code: str | None = None
    """A guard verdict or other component asking for a person (e.g. ``guard:injection``)."""
    no_answer: bool = False
    """The retrieval found nothing and the bot said so."""


def answer_failed(signals: AnswerSignals, config: PolicyConfig) -> str | None:
    """Why this answer counts as a failure, or None when it helped."""
    if signals.status != "complete":
        return f"answer {signals.status}"
    if signals.no_answer:
        return "no answer in the sources"
    if signals.groundedness is not None and signals.groundedness < config.low_groundedness:
        return f"groundedness {signals.groundedness:.2f}"
    if phrases.NO_ANSWER.search(signals.content):
        return "the bot said it could not answer"
    return None


def detect_after_answer(
    signals: AnswerSignals, failures_in_a_row: int, config: PolicyConfig
) -> Trigger | None:
    """Decide after an answer; ``failures_in_a_row`` includes this answer's failure."""
    if signals.reason_code:
        return Trigger("guard", signals.reason_code)
    if (
        config.escalate_on_low_groundedness
        and signals.groundedness is not None
        and signals.groundedness < config.low_groundedness
        and signals.status == "complete"
    ):
        return Trigger("low_groundedness", f"groundedness {signals.groundedness:.2f}")
    if failures_in_a_row >= config.failed_answers:
        return Trigger("repeated_failures", f"{failures_in_a_row} failed answers in a row")
    return None


def route(topic: str | None, contacts: Mapping[str, Contact]) -> Route:
    """The contact of ``topic`` (or its fallback contact); none for the general queue."""
    if topic is None:
        return Route(None, None, None, None)
    for key in (topic, phrases.FALLBACK_CONTACT.get(topic)):
        if key is not None and key in contacts:
            contact = contacts[key]
            return Route(topic, key, contact.team, contact.email)
    return Route(topic, None, None, None)


def team_topics(config: PolicyConfig, contacts: Mapping[str, Contact]) -> frozenset[str]:
    """Topics of ``config.on_topics`` that a configured contact handles.

    A topic without a team stays with the bot (which explains the policy and
    names the team) instead of opening a ticket nobody is routed to.
    """
    return frozenset(t for t in config.on_topics if route(t, contacts).team is not None)
