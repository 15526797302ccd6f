"""The guard stages of a turn: the input check before anything is stored, and the
streaming output check between the provider and the customer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from frontdesk.chat.answering import Composer
from frontdesk.chat.prompt import Source
from frontdesk.events import Notice, Retracted, TextDelta, TurnEvent
from frontdesk.guard.base import (
    GuardContext,
    InputResult,
    StreamVerdict,
    canary_instruction,
    make_canary,
)

if TYPE_CHECKING:  # the guard stack loads only when a bot's guard is on (wiring._guard)
    from frontdesk.guard.output import OutputGuard
    from frontdesk.guard.pipeline import GuardPipeline

EXTRACTIVE_PREFIX = "Here is what our documentation says: "


@dataclass
class OutputCheck:
    """The output guard of one answer and what it decided."""

    guard: OutputGuard | None
    shown: list[str] = field(default_factory=list)
    replacement: str | None = None
    """Set when the answer shown was retracted and replaced."""
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    groundedness: float | None = None
    escalate_reason: str | None = None

    @property
    def content(self) -> str:
        return self.replacement if self.replacement is not None else "".join(self.shown)

    def _record(self, sv: StreamVerdict) -> None:
        if sv.verdict is not None:
            self.verdicts.append({"stage": "output", **sv.verdict.to_record()})

    def feed(self, text: str) -> list[TurnEvent]:
        """Events to send for one provider delta; a retraction ends the answer."""
        if self.guard is None:
            self.shown.append(text)
            return [TextDelta(text)]
        sv = self.guard.feed(text)
        return self._apply(sv)

    def finish(self, raw: str) -> list[TurnEvent]:
        if self.guard is None:
            return []
        sv = self.guard.finish(raw)
        self.groundedness = sv.grounding
        events = self._apply(sv)
        if sv.action == "flag" and sv.replacement:
            events.append(Notice("low_confidence", sv.replacement))
        elif sv.action == "escalate":
            self.escalate_reason = "guard:ungrounded"
        return events

    def _apply(self, sv: StreamVerdict) -> list[TurnEvent]:
        events: list[TurnEvent] = []
        self._record(sv)
        if sv.emit:
            self.shown.append(sv.emit)
            events.append(TextDelta(sv.emit))
        if sv.action == "retract":
            replacement = sv.replacement
            grounding = sv.verdict is not None and sv.verdict.check == "grounding"
            if grounding and replacement:
                replacement = EXTRACTIVE_PREFIX + tidy_extract(replacement)
            self.replacement = replacement
            reason = sv.verdict.reason if sv.verdict is not None else "retracted"
            events.append(Retracted(reason, replacement))
        return events

    @property
    def retracted(self) -> bool:
        return self.replacement is not None


@dataclass(frozen=True)
class TurnGuard:
    """The bot's guard pipeline, bound to one bot."""

    pipeline: GuardPipeline
    bot_name: str
    composer: Composer | None = None
    """Composes the extractive replacement of an answer that fails the grounding check."""

    async def check_input(self, text: str) -> InputResult:
        return await self.pipeline.run_input(text, GuardContext(bot_name=self.bot_name))

    def canary(self) -> str | None:
        return make_canary() if self.pipeline.config.output.canary else None

    def output(
        self,
        *,
        canary: str | None,
        user_values: frozenset[str],
        sources: Sequence[str],
        question: str,
    ) -> OutputCheck:
        if not self.pipeline.config.enabled:
            return OutputCheck(None)
        context = GuardContext(
            bot_name=self.bot_name,
            canary=canary or "",
            user_values=user_values,
            sources=tuple(sources),
            question=question,
        )
        return OutputCheck(self.pipeline.output_guard(context, extract=self._extract))

    def _extract(self, question: str, sources: Sequence[str]) -> str:
        if self.composer is None:
            return ""
        numbered = [Source(i, "", "", text) for i, text in enumerate(sources, start=1)]
        composed = self.composer.compose(question, numbered)
        return composed.text if composed.answered else ""


_FAQ_QUESTION = re.compile(r"(?:^|(?<=\s))Q:\s[^?\n]*\?\s*(?:\[\d+\]\s*)?")
_FAQ_ANSWER = re.compile(r"(?:^|(?<=\s))A:\s*")


def tidy_extract(text: str) -> str:
    """Quoted FAQ rows read as answers: drop their "Q: ...?" and "A:" labels."""
    return _FAQ_ANSWER.sub("", _FAQ_QUESTION.sub("", text)).strip()


def with_canary(system_prompt: str, canary: str | None) -> str:
    return system_prompt + canary_instruction(canary) if canary else system_prompt
