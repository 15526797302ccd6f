"""How customers say what the documents say in other words.

"Do I get the rest back?" asks about a refund; "Do you warn me before …?" about a
notification; "When does it kick in?" about when a change takes effect. The documents use
the second wording, the customer the first, and the question then shares no content word
with the sentence that answers it. A :class:`Concept` pairs the customer's phrasings with
the documents' own: a question that asks with one and a unit that states the other share
the concept, which the composer counts like a shared word.

The concepts are support-domain vocabulary (money back, being told, taking effect,
breaking, frequency, lifetime, what is left), not facts of any one knowledge base.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Concept:
    name: str
    asked: re.Pattern[str]
    """How a customer asks about it."""
    stated: re.Pattern[str]
    """How a document states it."""
    search: str
    """The documents' words for it, added to the search when the customer used others."""


def _re(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


CONCEPTS: tuple[Concept, ...] = (
    Concept(
        "refund",
        _re(
            r"\b(?:money back|compensat\w*|"
            r"(?:get|getting|got|give|giving|paid|pay|paying|send|sent)\s+"
            r"(?:(?:it|any|some|all|the|my|our|of|that|this|rest|money|part|unused|"
            r"remaining|remainder|difference)\s+){0,4}back)\b"
        ),
        _re(r"\b(?:refund\w*|reimburs\w*|credit(?:s|ed)?)\b"),
        "refund",
    ),
    Concept(
        "notify",
        _re(
            r"\b(?:warn\w*|notif\w*|alert\w*|inform\w*|heads[- ]up|remind\w*|"
            r"(?:tell|told|let)\s+(?:me|us|you|them|somebody|someone)(?:\s+know)?|"
            r"(?:somebody|someone|anyone)\s+tell|hear about|find out|be told|get told|"
            r"e-?mail (?:me|us))\b"
        ),
        _re(
            r"\b(?:notif\w*|alerts?|announce\w*|e-?mails?|e-?mailed|"
            r"receive (?:an? )?(?:message|e-?mail)s?)\b"
        ),
        "notification email",
    ),
    Concept(
        "takes_effect",
        _re(
            r"\b(?:kicks? in|kicking in|takes? effect|taking effect|go(?:es)? live|"
            r"comes? into (?:effect|force)|start(?:s)? (?:working|applying|to apply)|"
            r"become(?:s)? (?:active|effective)|effective|be applied|get applied)\b"
        ),
        _re(
            r"\b(?:takes? effect|applies|applied|effective|immediately|at the end of|"
            r"from the next)\b"
        ),
        "takes effect",
    ),
    Concept(
        "failure",
        _re(
            r"\b(?:break\w*|broke|broken|crash\w*|fail\w*|go(?:es)? down|goes wrong|"
            r"stops? working|(?:does ?n[o']?t|did ?n[o']?t|do ?n[o']?t|won'?t) "
            r"(?:go through|work)|bounce[sd]?|declined?)\b"
        ),
        _re(r"\b(?:fail\w*|declin\w*|errors?|outages?|incidents?)\b"),
        "failure",
    ),
    Concept(
        "frequency",
        _re(
            r"\b(?:most frequent\w*|how (?:often|frequently)|fastest|quickest|"
            r"shortest (?:interval|schedule)|minimum interval|max(?:imum)? frequency)\b"
        ),
        _re(
            r"\b(?:at the fastest|as frequent as|as often as|every \d+ (?:minutes?|hours?)|"
            r"hourly|every hour|daily|weekly)\b"
        ),
        "at the fastest",
    ),
    Concept(
        "lifetime",
        _re(r"\b(?:lifetime|lifespan|life span|expir\w*|good for|last(?:s)? for|valid\w*)\b"),
        _re(r"\b(?:valid|expires?|expired|expiry|can be used once)\b"),
        "valid",
    ),
    Concept(
        "leftover",
        _re(
            r"\b(?:what'?s left|what is left|the rest|remaining|remainder|unused|"
            r"left ?over|lose)\b"
        ),
        _re(r"\b(?:unused|remaining|rest of|credited|prorated|pro-rated)\b"),
        "unused",
    ),
)


def asked(text: str | None) -> frozenset[str]:
    """The concepts a question asks about in a customer's words."""
    if not text:
        return frozenset()
    return frozenset(c.name for c in CONCEPTS if c.asked.search(text))


def rephrased(text: str) -> tuple[str, frozenset[str]]:
    """The concepts ``text`` asks about in a customer's words, and the text with those words
    blanked out (they are matched as the concept, not word by word)."""
    found: set[str] = set()
    for concept in CONCEPTS:
        text, n = concept.asked.subn(lambda m: " " * len(m.group(0)), text)
        if n:
            found.add(concept.name)
    return text, frozenset(found)


def stated(text: str) -> frozenset[str]:
    """The concepts a unit of a document states."""
    return frozenset(c.name for c in CONCEPTS if c.stated.search(text))


def search_terms(text: str) -> list[str]:
    """The documents' words for what ``text`` asks in other words ("get the rest back":
    "refund"), for retrieval; none for a concept the text already names as documents do."""
    return [c.search for c in CONCEPTS if c.asked.search(text) and not c.stated.search(text)]


CONTRASTS: tuple[tuple[re.Pattern[str], ...], ...] = (
    (_re(r"\b(?:monthly|month-to-month)\b"), _re(r"\b(?:annual(?:ly)?|yearly)\b")),
    (_re(r"\bupgrad\w*"), _re(r"\bdowngrad\w*")),
    (  # case-sensitive: "let us know" is not the US
        re.compile(r"\b(?:US|U\.S\.|United States|America|American)\b"),
        re.compile(r"\b(?:EU|Europe|European(?: Union)?)\b"),
    ),
    (_re(r"\bsources?\b"), _re(r"\bdestinations?\b")),
)
"""Alternatives a question picks one of: a unit that speaks only of another answers another
question ("monthly" asked, "annual plans get …" stated)."""


def contradicts(question: str, unit: str, context: str = "") -> bool:
    """Whether ``unit`` names only other alternatives than the one ``question`` picks (or,
    when the unit names none, its ``context``: the section it is in)."""
    for group in CONTRASTS:
        picked = [p for p in group if p.search(question)]
        if len(picked) != 1:
            continue
        named = [p for p in group if p.search(unit)] or [p for p in group if p.search(context)]
        if named and picked[0] not in named:
            return True
    return False
