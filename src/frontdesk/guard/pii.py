"""Input check: PII and secrets replaced by typed placeholders before anything else sees them.

The verdict's ``text`` is the redacted text; its findings hold type and position only. The
raw values are returned separately by :meth:`PiiCheck.scan` (for the output guard's
"the customer said this themselves" list) and must stay in memory for the turn only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from frontdesk.guard.base import Finding, GuardContext, Verdict, allow
from frontdesk.guard.ner import NerEngine
from frontdesk.guard.pii_patterns import (
    PATTERN_DETECTORS,
    Span,
    apply_placeholders,
    resolve_overlaps,
)

#: Kinds that are secrets: the customer is told never to share them.
SECRET_KINDS = frozenset({"PASSWORD", "API_KEY", "PRIVATE_KEY"})
#: Kinds that are sensitive financial or identity data.
SENSITIVE_KINDS = frozenset({"CARD", "SSN", "IBAN"})

_LABELS = {
    "CARD": "a card number",
    "SSN": "a social security number",
    "IBAN": "a bank account number (IBAN)",
    "EMAIL": "an email address",
    "PHONE": "a phone number",
    "PASSWORD": "a password",
    "API_KEY": "an access key or token",
    "PRIVATE_KEY": "a private key",
    "PERSON": "a name",
    "ADDRESS": "an address",
    "IP": "an IP address",
}


@dataclass(frozen=True, slots=True)
class PiiScan:
    redacted: str
    spans: tuple[Span, ...]
    values: frozenset[str]
    """The raw matched values: keep for the turn only, never store or log."""


def customer_message(kinds: Iterable[str]) -> str:
    present = sorted(set(kinds), key=list(_LABELS).index)
    if not present:
        return ""
    labels = [_LABELS.get(k, k.lower()) for k in present]
    listed = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    if any(k in SECRET_KINDS for k in present):
        advice = (
            " Never share passwords or keys with anyone, including us; please change it "
            "as soon as you can."
        )
    elif any(k in SENSITIVE_KINDS for k in present):
        advice = " Please don't send card or account numbers in chat; we will never ask for them."
    else:
        advice = ""
    return f"For your safety we removed {listed} from your message before processing it.{advice}"


class PiiCheck:
    """Redacts PII and secrets. ``ner`` (names, addresses) is optional and shared."""

    def __init__(
        self,
        *,
        ner: NerEngine | None = None,
        detectors: Iterable[str] | None = None,
        kinds: Iterable[str] | None = None,
        block_kinds: Iterable[str] = (),
        name: str = "pii",
        known_term: Callable[[str], bool] | None = None,
    ) -> None:
        """``known_term`` tells whether a word is the company's own vocabulary (a plan or
        product name in its documents): a "name" made only of such words is not a person."""
        names = list(PATTERN_DETECTORS) if detectors is None else list(detectors)
        unknown = set(names) - set(PATTERN_DETECTORS)
        if unknown:
            raise ValueError(f"unknown PII detectors: {sorted(unknown)}")
        self._detectors = [PATTERN_DETECTORS[n] for n in names]
        self._ner = ner
        self._kinds = None if kinds is None else frozenset(kinds)
        self._block_kinds = frozenset(block_kinds)
        self._name = name
        self._known_term = known_term

    @property
    def name(self) -> str:
        return self._name

    def spans(self, text: str) -> list[Span]:
        found: list[Span] = []
        for detector in self._detectors:
            found += detector(text)
        if self._ner is not None:
            found += [s for s in self._ner.find(text) if not self._is_known(text[s.start : s.end])]
        if self._kinds is not None:
            found = [s for s in found if s.kind in self._kinds]
        return resolve_overlaps(found)

    def _is_known(self, span_text: str) -> bool:
        words = [w for w in span_text.split() if w.strip(".,")]
        return (
            self._known_term is not None
            and bool(words)
            and all(self._known_term(w.strip(".,")) for w in words)
        )

    def scan(self, text: str) -> PiiScan:
        spans = self.spans(text)
        return PiiScan(
            redacted=apply_placeholders(text, spans),
            spans=tuple(spans),
            values=frozenset(text[s.start : s.end] for s in spans),
        )

    def check(self, text: str, context: GuardContext) -> Verdict:
        del context
        return self.evaluate(text)[0]

    def evaluate(self, text: str) -> tuple[Verdict, PiiScan]:
        """The verdict plus the scan (whose raw ``values`` stay in memory for the turn)."""
        scan = self.scan(text)
        return self._verdict(text, scan), scan

    def _verdict(self, text: str, scan: PiiScan) -> Verdict:
        if not scan.spans:
            return allow(self._name, text)
        findings = tuple(
            Finding(kind=s.kind, start=s.start, end=s.end, score=s.score, detector=s.detector)
            for s in scan.spans
        )
        kinds = [s.kind for s in scan.spans]
        blocked = self._block_kinds.intersection(kinds)
        if blocked:
            return Verdict(
                check=self._name,
                action="block",
                reason="pii_blocked",
                text=scan.redacted,
                message=customer_message(kinds) + " Please send your message again without it.",
                findings=findings,
            )
        return Verdict(
            check=self._name,
            action="redact",
            reason="pii_redacted",
            text=scan.redacted,
            message=customer_message(kinds),
            findings=findings,
        )
