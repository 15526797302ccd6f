"""More names from names already found, and from how people are addressed.

* Coordination: "They had 6: Matheus, Janet, Nicholas and Terri." When one member of a
  coordinated list is a person, the other capitalised proper nouns in it are people too
  (spaCy's parse gives the list: ``Token.conjuncts``). Lists with an organisation in them
  ("Davis, Reynolds and Williamson Orchestra") are left alone.
* Repetition: a name found once is a name wherever else it appears in the message
  ("Magnus Poulsen ... Magnus spent a year ..."), word by word for full names.
* Address: "Aloisia, can I please speak to your boss?", "Don't go to town, Nicholas!" -- a
  proper noun set off by a comma at the start or the end of a sentence spoken to someone.

Each function reads a parsed spaCy ``Doc`` or the text and returns new spans only.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from typing import Any

from frontdesk.guard.pii_patterns import Span

_NON_PERSON_ENTS = frozenset(
    ["ORG", "GPE", "LOC", "FAC", "NORP", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE",
     "DATE", "TIME", "MONEY", "QUANTITY", "PERCENT", "CARDINAL", "ORDINAL"]
)  # fmt: skip
_ORG_TAIL = re.compile(
    r"(?i)^(?:inc|llc|ltd|gmbh|corp|co|company|group|partners|orchestra|band|bank|university"
    r"|institute|foundation|technologies|investments|holdings|associates|systems|solutions)$"
)
_WORD = re.compile(r"^[A-ZÀ-ÖØ-Þ][\wÀ-ÿ'’-]*$")
# Sentences that speak to someone: a request, a question, an exclamation.
_ADDRESSED = re.compile(
    r"(?i)\b(?:you|your|yours|please|can|could|would|will|let|tell|give|help|come|go|look|stop"
    r"|don't|do|are|is|have|did)\b|[!?]"
)


def _person_like(
    token: Any,
    common: Collection[str],
    not_names: Collection[str],
    *,
    allow_org: bool = False,
    allow_any: bool = False,
) -> bool:
    text = str(token.text)
    if not _WORD.match(text) or len(text) < 2 or sum(ch.isupper() for ch in text) > 1:
        return False
    if text.lower() in not_names:
        return False
    if (
        token.ent_type_ in _NON_PERSON_ENTS
        and not allow_any
        and not (allow_org and token.ent_type_ == "ORG")
    ):
        return False
    if text.lower() in common or text.lower().endswith("ly"):
        return False  # "Standard", "Cool", "Unfortunately"
    return bool(token.pos_ == "PROPN" or token.ent_type_ == "PERSON")


def _inside(start: int, end: int, spans: Iterable[Span]) -> bool:
    return any(start < s.end and s.start < end for s in spans)


def _name_extent(token: Any) -> tuple[int, int]:
    """The token with the proper-noun compounds before it ("Mary" in "Mary Smith")."""
    first = token
    for left in reversed(list(token.lefts)):
        if left.dep_ in ("compound", "flat") and left.pos_ == "PROPN" and left.i == first.i - 1:
            first = left
    return int(first.idx), int(token.idx) + len(token.text)


def coordinated_names(
    doc: Any, persons: list[Span], common: Collection[str] = (), not_names: Collection[str] = ()
) -> list[Span]:
    found: list[Span] = []
    seen: set[int] = set()
    for token in doc:
        if token.i in seen or not _inside(token.idx, token.idx + len(token.text), persons):
            continue
        members = [token, *token.conjuncts]
        seen.update(m.i for m in members)
        if len(members) < 2 or any(
            _ORG_TAIL.match(m.text) or m.ent_type_ == "ORG" for m in members
        ):
            continue
        named = sum(_inside(m.idx, m.idx + len(m.text), persons) for m in members)
        for member in members:
            start, end = _name_extent(member)
            if _inside(start, end, persons) or _inside(start, end, found):
                continue
            # spaCy's own label loses to the list's: "Tariku" (GPE) among Janet, Kevin, Brittany
            if _person_like(member, common, not_names, allow_any=2 * named >= len(members)):
                found.append(Span("PERSON", start, end, 0.5, "coordination"))
    return found


def repeated_names(text: str, persons: list[Span], common: Collection[str] = ()) -> list[Span]:
    values: set[str] = set()
    for s in persons:
        value = text[s.start : s.end]
        if len(value) >= 3 and value[:1].isupper():
            values.add(value)
        for word in value.split():
            if len(word) >= 3 and _WORD.match(word) and word.lower() not in common:
                values.add(word)
    found: list[Span] = []
    for value in sorted(values, key=len, reverse=True):
        for m in re.finditer(rf"(?<![\w'’-]){re.escape(value)}(?![\w'’-])", text):
            if not _inside(m.start(), m.end(), persons) and not _inside(m.start(), m.end(), found):
                found.append(Span("PERSON", m.start(), m.end(), 0.5, "repetition"))
    return found


def vocative_names(doc: Any, common: Collection[str], not_names: Collection[str]) -> list[Span]:
    found = []
    for sent in doc.sents:
        tokens = [t for t in sent if not t.is_space]
        if len(tokens) < 3 or not _ADDRESSED.search(sent.text):
            continue
        first, second = tokens[0], tokens[1]
        if second.text == "," and _person_like(first, common, not_names, allow_org=True):
            found.append(Span("PERSON", int(first.idx), int(first.idx) + len(first.text), 0.5,
                              "vocative"))  # fmt: skip
        last, before = tokens[-1], tokens[-2]
        if (
            last.is_punct
            and len(tokens) >= 4
            and tokens[-3].text == ","
            and _person_like(before, common, not_names, allow_org=True)
        ):
            start = int(before.idx)
            found.append(Span("PERSON", start, start + len(before.text), 0.5, "vocative"))
    return found
