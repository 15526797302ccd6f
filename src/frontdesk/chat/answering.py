"""Extractive answers in a turn: what the customer is told when the bot quotes its documents.

The composer (``frontdesk.answer``) picks the passages' units that answer the question; this
module turns its result into the customer's text. An answered question is the quoted,
cited units. A question the documents do not answer gets an honest reply: the documentation
does not mention it (naming what is missing when the question names something the sources
do not contain), the closest facts with their citations, and the offer of a person. No text
is ever invented here, so nothing needs retracting later.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from frontdesk.chat.prompt import Source
from frontdesk.media.message import has_image_text, typed_part

NOT_DOCUMENTED = "Our documentation doesn't mention {what}, so I can't confirm it."
NOT_ANSWERED = "I couldn't find a direct answer to that in our documentation."
CLOSEST = "The closest information I found:"
OFFER = "Would you like me to connect you with a person from our team?"


class Composition(Protocol):
    """What the composer returns (see ``frontdesk.answer.types.ComposedAnswer``)."""

    @property
    def text(self) -> str: ...

    @property
    def answered(self) -> bool: ...

    @property
    def unknown(self) -> tuple[str, ...] | None:
        """What the question names that the documents never mention (None: not checked)."""
        ...


class Composer(Protocol):
    def compose(
        self, question: str, sources: Sequence[Source], *, history_hint: str | None = None
    ) -> Composition: ...


@dataclass(frozen=True, slots=True)
class ExtractiveReply:
    text: str
    answered: bool
    missing: tuple[str, ...] = ()
    """Names the question mentions that no source contains."""


# capitalised words not at a sentence start, or tokens with digits ("Dynamics 365", "Bitcoin")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][\w+-]*(?:\s+(?:[A-Z][\w+-]*|\d+))*)")
_PLACEHOLDER = re.compile(r"\[[A-Z_]+\]")
"""Redacted PII (``[PERSON]``): never a name to report as missing."""
_SHOUTED_STARTERS = frozenset(
    [
        "I",
        "I'm",
        "I've",
        "I'd",
        "I'll",
        "Can",
        "Could",
        "Do",
        "Does",
        "Did",
        "Is",
        "Are",
        "Was",
        "Were",
        "What",
        "Which",
        "Who",
        "How",
        "When",
        "Where",
        "Why",
        "Will",
        "Would",
        "Should",
        "Hi",
        "Hello",
        "Hey",
        "Thanks",
        "Please",
        "OK",
        "Ok",
        "And",
        "But",
        "So",
        "If",
        "My",
        "Our",
    ]
)


def missing_names(
    question: str, sources: Sequence[Source], *, known: Sequence[str] = ()
) -> list[str]:
    """Names in the question (products, plans, payment methods) that no source mentions.

    ``known`` are names the bot itself goes by (its name and company), never "missing".
    """
    haystack = "\n".join(f"{s.title}\n{s.section}\n{s.text}" for s in sources)
    known_lower = {k.lower() for k in known}
    out: list[str] = []
    for match in _NAME.finditer(_PLACEHOLDER.sub(" ", question)):
        words = [w for w in match.group(1).split() if w not in _SHOUTED_STARTERS]
        if not words:
            continue
        name = " ".join(words)
        if any(k in name.lower() for k in known_lower if k):
            continue
        # a capitalised word the sources never write (case-sensitive: "Plus" in "Enterprise
        # Plus" is not "plus" in "plus tax")
        if any(
            not re.search(rf"(?<!\w){re.escape(w)}(?!\w)", haystack)
            for w in words
            if not w.isdigit()
        ):
            out.append(name)
    return out


def extractive_reply(
    question: str,
    sources: Sequence[Source],
    composition: Composition,
    *,
    known_names: Sequence[str] = (),
) -> ExtractiveReply:
    unknown = composition.unknown
    if unknown is None:  # no lexicon of the whole collection: compare with the sources
        unknown = tuple(missing_names(question, sources, known=known_names))
    if has_image_text(question):  # a screenshot's window chrome is context, not the question
        typed = typed_part(question)
        unknown = tuple(u for u in unknown if u in typed)
    missing = tuple(unknown)
    if composition.answered and not missing:
        return ExtractiveReply(composition.text, True)
    lead = NOT_DOCUMENTED.format(what=_join(missing)) if missing else NOT_ANSWERED
    parts = [lead]
    if composition.text.strip():
        parts += [CLOSEST, composition.text.strip()]
    parts.append(OFFER)
    return ExtractiveReply("\n\n".join(parts), False, missing)


def _join(names: Sequence[str]) -> str:
    quoted = [f"“{n}”" for n in names]
    if len(quoted) == 1:
        return quoted[0]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1]
