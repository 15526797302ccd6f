"""Streaming output guard: rolling-window checks on deltas, a hold-back tail, a final check.

One :class:`OutputGuard` per answer. ``feed(delta)`` returns the text that may be shown now;
the last ``holdback`` characters stay pending so a match that spans deltas (a card number
split over tokens, a blocked phrase) is usually caught before it is shown. Checks:

- the system-prompt canary (leak of the system prompt),
- blocked phrases and policy rules from the bot config,
- PII the customer did not provide themselves (redacted in place, not retracted).

A violation in text already shown becomes a retraction (``shown=True``); the web chat
replaces the shown answer with the replacement. ``finish`` runs every check over the whole
answer and then groundedness against the sources.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from frontdesk.guard.base import Finding, GuardContext, PolicyRule, StreamVerdict, Verdict
from frontdesk.guard.grounding import Grounder, GroundingReport
from frontdesk.guard.pii_patterns import PATTERN_DETECTORS, Span, apply_placeholders

RETRACTION = (
    "Sorry, I can't share that answer. Please rephrase your question, or ask to talk to a "
    "person from our team."
)
UNGROUNDED_NOTE = (
    "I couldn't verify this answer against our documentation; please double-check it or ask "
    "for a person from our team."
)

#: Presets usable by name in the bot config's ``policy_rules``.
PRESET_RULES: dict[str, PolicyRule] = {
    "no_refund_promise": PolicyRule(
        name="no_refund_promise",
        patterns=(
            r"\b(we|i)(\s+will|'ll|\s+can|\s+are going to)\s+(\w+\s+)?(refund|reimburse)",
            r"\byou(\s+will|'ll)\s+(\w+\s+)?(get|receive|be given)\s+(a\s+|your\s+)?(full\s+)?"
            r"(refund|money back)",
            r"\b(refund|reimbursement)\s+(is|has been)\s+(guaranteed|approved|issued)",
            r"\bguarantee(d)?\s+(a\s+|you\s+a\s+)?(full\s+)?refund",
        ),
        message="The answer promised a refund.",
    ),
    "no_legal_advice": PolicyRule(
        name="no_legal_advice",
        patterns=(r"\b(you should|you must)\s+(sue|file a lawsuit|take legal action)",),
        message="The answer gave legal advice.",
    ),
}


@dataclass(frozen=True, slots=True)
class OutputOptions:
    holdback: int = 48
    window: int = 400
    on_ungrounded: str = "flag"  # flag | extractive | escalate | off
    min_grounding: float = 0.5


class OutputGuard:
    """Implements :class:`frontdesk.guard.base.StreamGuard` for one answer."""

    def __init__(
        self,
        context: GuardContext,
        *,
        options: OutputOptions | None = None,
        grounder: Grounder | None = None,
        pii_detectors: tuple[str, ...] = ("secrets", "email", "iban", "card", "ssn", "phone"),
        extract: Callable[[str, Sequence[str]], str] | None = None,
    ) -> None:
        """``extract`` composes the extractive replacement of an ungrounded answer (the
        answer composer); without it the grounder's sentence picker is used."""
        self._ctx = context
        self._opt = options or OutputOptions()
        self._grounder = grounder
        self._extract = extract
        self._detectors = [PATTERN_DETECTORS[name] for name in pii_detectors]
        self._rules = [
            (rule, [re.compile(p, re.IGNORECASE) for p in rule.patterns])
            for rule in context.policy_rules
        ]
        self._phrases = [p.lower() for p in context.blocked_phrases if p.strip()]
        self._user_values = {_norm(v) for v in context.user_values}
        self._raw = ""
        self._shown = 0  # characters of ``_raw`` released to the customer
        self._stopped = False

    # --- the protocol -------------------------------------------------------------------

    def feed(self, delta: str) -> StreamVerdict:
        if self._stopped:
            return StreamVerdict(action="retract", replacement=RETRACTION, shown=True)
        self._raw += delta
        base = max(0, self._shown - self._opt.window)
        violation = self._violation(self._raw, base)
        if violation is not None:
            return self._retract(violation)
        release = max(self._shown, len(self._raw) - self._opt.holdback)
        return self._release(release)

    def finish(self, text: str) -> StreamVerdict:
        if self._stopped:
            return StreamVerdict(action="retract", replacement=RETRACTION, shown=True)
        if text and text != self._raw:
            self._raw = text if text.startswith(self._raw) else self._raw
        violation = self._violation(self._raw, 0)
        if violation is not None:
            return self._retract(violation)
        tail = self._release(len(self._raw))
        report = self._ground()
        if report is None:
            return tail
        return self._grounding_verdict(tail, report)

    # --- checks -------------------------------------------------------------------------

    def _violation(self, text: str, base: int) -> Verdict | None:
        region = text[base:]
        lowered = region.lower()
        if self._ctx.canary and self._ctx.canary.lower() in lowered:
            pos = base + lowered.index(self._ctx.canary.lower())
            return _verdict("canary_leak", "system_prompt_leak", pos, pos + len(self._ctx.canary))
        for phrase in self._phrases:
            if phrase in lowered:
                pos = base + lowered.index(phrase)
                return _verdict("blocked_phrase", "blocked_phrase", pos, pos + len(phrase))
        for rule, patterns in self._rules:
            for pattern in patterns:
                m = pattern.search(region)
                if m:
                    return _verdict(rule.name, "policy_violation", base + m.start(), base + m.end())
        return None

    def _pii_spans(self, text: str, base: int) -> list[Span]:
        """PII in ``text[base:]`` (positions in ``text``), minus what the customer said."""
        region = text[base:]
        spans: list[Span] = []
        for detector in self._detectors:
            spans += [
                Span(s.kind, s.start + base, s.end + base, s.score, s.detector)
                for s in detector(region)
                if _norm(region[s.start : s.end]) not in self._user_values
            ]
        return spans

    # --- releasing text -----------------------------------------------------------------

    def _release(self, upto: int) -> StreamVerdict:
        # only a window before the shown boundary: earlier text was checked when released
        spans = self._pii_spans(self._raw, max(0, self._shown - self._opt.window))
        late = [s for s in spans if s.start < self._shown < s.end]
        if late:
            return self._retract(_verdict(late[0].kind, "pii_leak", late[0].start, late[0].end))
        for s in spans:  # never cut a match in two: hold it back until it is complete
            if s.start < upto < s.end and upto < len(self._raw):
                upto = s.start
        if upto <= self._shown:
            return StreamVerdict(action="continue")
        chunk_spans = [
            Span(s.kind, s.start - self._shown, s.end - self._shown, s.score, s.detector)
            for s in spans
            if s.start >= self._shown and s.end <= upto
        ]
        emit = apply_placeholders(self._raw[self._shown : upto], chunk_spans)
        self._shown = upto
        if not chunk_spans:
            return StreamVerdict(action="continue", emit=emit)
        findings = tuple(Finding(s.kind, -1, -1, s.score, s.detector) for s in chunk_spans)
        verdict = Verdict("output_pii", "redact", "pii_redacted", emit, findings=findings)
        return StreamVerdict(action="redact", emit=emit, verdict=verdict)

    def _retract(self, verdict: Verdict) -> StreamVerdict:
        self._stopped = True
        shown = any(f.start < self._shown for f in verdict.findings)
        return StreamVerdict(action="retract", verdict=verdict, replacement=RETRACTION, shown=shown)

    # --- groundedness -------------------------------------------------------------------

    def _ground(self) -> GroundingReport | None:
        if self._grounder is None or self._opt.on_ungrounded == "off" or not self._ctx.sources:
            return None  # nothing retrieved (a bot without documents): nothing to ground on
        return self._grounder.score(self._raw, self._ctx.sources)

    def _grounding_verdict(self, tail: StreamVerdict, report: GroundingReport) -> StreamVerdict:
        low = report.score < self._opt.min_grounding or bool(report.low_confidence)
        verdict = Verdict(
            check="grounding",
            action="escalate" if low and self._opt.on_ungrounded == "escalate" else "allow",
            reason=",".join(report.low_confidence) or ("low_grounding" if low else "grounded"),
            text="",
            findings=tuple(
                Finding("unsupported_sentence", s.start, s.end, s.lexical, "grounding")
                for s in report.sentences
                if not s.supported
            ),
            score=report.score,
        )
        if not low:
            return StreamVerdict(
                action=tail.action, emit=tail.emit, verdict=verdict, grounding=report.score
            )
        mode = self._opt.on_ungrounded
        if mode == "extractive" and self._ctx.sources and (self._extract or self._grounder):
            question = self._ctx.question or self._raw
            if self._extract is not None:
                answer = self._extract(question, self._ctx.sources)
            else:
                assert self._grounder is not None
                answer = self._grounder.extractive_answer(question, self._ctx.sources)
            if answer:
                return StreamVerdict(
                    action="retract",
                    emit=tail.emit,
                    verdict=verdict,
                    replacement=answer,
                    shown=True,
                    grounding=report.score,
                )
        return StreamVerdict(
            action="escalate" if mode == "escalate" else "flag",
            emit=tail.emit,
            verdict=verdict,
            replacement=UNGROUNDED_NOTE,
            grounding=report.score,
        )


def _verdict(kind: str, reason: str, start: int, end: int) -> Verdict:
    return Verdict(
        check="output",
        action="block",
        reason=reason,
        text="",
        message=RETRACTION,
        findings=(Finding(kind, start, end, 1.0, "output"),),
    )


def _norm(value: str) -> str:
    return re.sub(r"[\s()-]", "", value).lower()


def resolve_rules(names_or_rules: list[str | PolicyRule]) -> tuple[PolicyRule, ...]:
    """Turn preset names into rules (custom rules pass through)."""
    out = []
    for item in names_or_rules:
        if isinstance(item, PolicyRule):
            out.append(item)
        elif item in PRESET_RULES:
            out.append(PRESET_RULES[item])
        else:
            raise ValueError(f"unknown policy rule preset {item!r}; known: {sorted(PRESET_RULES)}")
    return tuple(out)
