"""What a question asks about that the documents never mention.

The nearest passage always scores something: "Is there a discount if I pay in crypto?" finds
the nonprofit discount, "What's included in the Team plan?" finds the plan table. Such a
question is a near miss, and the honest answer says that the documentation does not mention
the thing asked about, then gives the closest facts. :func:`unknown_terms` finds those
things with a part-of-speech tagger and the collection's :class:`Lexicon`:

* nouns and proper nouns that no document uses in any inflection or spelling ("crypto",
  "FedRAMP", "HIPAA", "GraphQL");
* a capitalised name before a noun that heads the documents' own names, when the documents
  never write that pair ("Team plan" where they write "Starter plan" and "Growth plan");
* a tier word before such a noun ("the free plan") when the documents never write that pair;
* a proper noun the documents never write capitalised inside a sentence ("Microsoft
  Teams" where they only write "team").

Left out, because they are the conversation rather than its subject: dates and numbers,
places and nationalities ("I'm in Germany" is where the customer is, and which country a
region covers is world knowledge the lexicon lacks), words for people and problems
("person", "issue"), and the bot's and company's own names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from frontdesk.answer.lexicon import Lexicon
from frontdesk.text.stopwords import STOPWORDS


@dataclass(frozen=True, slots=True)
class Tagged:
    text: str
    pos: str
    """Universal part of speech (NOUN, PROPN, ADJ, VERB, ...)."""
    entity: str
    """Named-entity label ("DATE", "GPE", ...) or ""."""
    sentence_start: bool
    space_after: bool


class Tagger(Protocol):
    def tag(self, text: str) -> list[Tagged]: ...


_TAGGER_PIPES = ("tok2vec", "tagger", "attribute_ruler", "ner")
"""What the tagger runs of en_core_web_sm (no parser: ~3 ms a question)."""


class SpacyTagger:
    """spaCy's packaged en_core_web_sm, tagger and entity recogniser only.

    ``nlp`` is the process's loaded pipeline (``guard.ner.load_english``, shared with the
    PII guard's name detection); only its tagging and entity components run here."""

    def __init__(self, nlp: Any) -> None:
        self._nlp = nlp
        self._pipes = [(name, pipe) for name, pipe in nlp.pipeline if name in _TAGGER_PIPES]

    @classmethod
    def load(cls) -> SpacyTagger:
        """A tagger with its own copy of the model (tests, benchmarks)."""
        from frontdesk.guard.ner import load_english

        return cls(load_english())

    def tag(self, text: str) -> list[Tagged]:
        doc = self._nlp.make_doc(text)
        for _, pipe in self._pipes:
            doc = pipe(doc)
        out: list[Tagged] = []
        for i, token in enumerate(doc):
            prev = doc[i - 1] if i else None
            start = prev is None or prev.text in {".", "!", "?", "\n", ":"} or "\n" in prev.text
            out.append(
                Tagged(token.text, token.pos_, token.ent_type_, start, bool(token.whitespace_))
            )
        return out


_IGNORED_ENTITIES = frozenset(
    ["DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "PERCENT", "QUANTITY", "GPE", "LOC", "NORP"]
)
_GENERIC = frozenset(
    [
        "person",
        "people",
        "human",
        "humans",
        "agent",
        "someone",
        "somebody",
        "anyone",
        "anybody",
        "everyone",
        "everybody",
        "thing",
        "things",
        "stuff",
        "problem",
        "problems",
        "issue",
        "issues",
        "question",
        "questions",
        "help",
        "way",
        "ways",
        "option",
        "options",
        "guy",
        "guys",
        "folks",
        "bot",
        "chatbot",
        "time",
        "times",
        "lot",
        "bit",
        "kind",
        "sort",
        "example",
        "case",
        "reason",
        "idea",
        "hi",
        "hello",
        "hey",
        "thanks",
        "thank",
        "please",
        "sir",
        "madam",
        "mistake",
        "point",
        "answer",
        "answers",
        "info",
        "information",
        "detail",
        "details",
        "anything",
        "something",
        "everything",
        "nothing",
        "one",
        "ones",
        "today",
        "yesterday",
        "tomorrow",
        "week",
        "weekend",
        "morning",
        "evening",
        "night",
        "moment",
        "minute",
        "second",
        "manager",
        "supervisor",
        "colleague",
        "boss",
        "customer",
        "customers",
        "company",
        "business",
        "team",
        "friend",
    ]
)
_MEASURES = frozenset(
    [
        "length",
        "lengths",
        "size",
        "sizes",
        "number",
        "numbers",
        "amount",
        "amounts",
        "count",
        "total",
        "duration",
        "lifetime",
        "lifespan",
        "frequency",
        "interval",
        "period",
        "timeframe",
        "maximum",
        "minimum",
        "max",
        "min",
        "limit",
        "limits",
        "cap",
        "threshold",
        "version",
        "versions",
        "speed",
        "rate",
        "percentage",
        "quantity",
        "value",
        "level",
        "deadline",
    ]
)
"""Nouns that ask for a value ("the minimum password length", "the lifetime of a link"):
the documents state the value, not the word. Not when they modify a noun ("a lifetime
licence"), which is then the thing asked about."""
_CUSTOMER_WORDS = {
    "subscription": "plan",
    "subscriptions": "plan",
    "membership": "plan",
    "login": "sign",
    "logins": "sign",
    "logon": "sign",
    "signup": "sign",
    "downtime": "uptime",
    "outage": "uptime",
    "outages": "uptime",
}
"""Words customers use for something the documents name otherwise."""
_TIER_WORDS = frozenset(
    [
        "free",
        "basic",
        "pro",
        "premium",
        "team",
        "business",
        "personal",
        "plus",
        "ultimate",
        "standard",
        "professional",
        "lite",
        "individual",
        "student",
        "family",
        "startup",
        "unlimited",
    ]
)
"""Words that name a tier of a product ("the free plan", "a team plan") when the documents'
own tiers have other names."""
_ABBREVIATIONS = {
    "max": "maximum",
    "min": "minimum",
    "info": "information",
    "org": "organization",
    "orgs": "organizations",
    "acct": "account",
    "repo": "repository",
    "config": "configuration",
    "docs": "documentation",
    "doc": "document",
    "app": "application",
    "apps": "applications",
    "admin": "administrator",
    "auth": "authentication",
    "db": "database",
    "pw": "password",
    "pwd": "password",
    "sub": "subscription",
    "msg": "message",
    "req": "request",
    "reqs": "requests",
    "pls": "please",
    "plz": "please",
    "thru": "through",
    "postgres": "postgresql",
}
_SPELLINGS = (
    (re.compile(r"isation"), "ization"),
    (re.compile(r"ization"), "isation"),
    (re.compile(r"ise(d|s)?$"), r"ize\1"),
    (re.compile(r"ize(d|s)?$"), r"ise\1"),
    (re.compile(r"our"), "or"),
    (re.compile(r"ence$"), "ense"),
    (re.compile(r"ense$"), "ence"),
    (re.compile(r"mme$"), "m"),
    (re.compile(r"ll(ed|ing)$"), r"l\1"),
)
_WORDY = re.compile(r"^[A-Za-z][A-Za-z0-9'’-]*$")
_PLACEHOLDERS = frozenset(
    ["PERSON", "EMAIL", "PHONE", "CARD", "IBAN", "SSN", "IP", "ADDRESS", "SECRET"]
)
"""Redaction labels ("[PERSON]"): never a thing the documents should mention."""


def _known(word: str, lexicon: Lexicon) -> bool:
    lower = word.lower()
    candidates = {
        lower,
        _ABBREVIATIONS.get(lower, lower),
        _CUSTOMER_WORDS.get(lower, lower),
        lower.replace("-", ""),
    }
    candidates |= {pattern.sub(repl, lower) for pattern, repl in _SPELLINGS}
    if any(lexicon.knows(c) for c in candidates):
        return True
    parts = [p for p in lower.split("-") if p]
    return len(parts) > 1 and all(lexicon.knows(p) for p in parts)


def unknown_terms(
    question: str, lexicon: Lexicon, tagger: Tagger, *, known: Sequence[str] = ()
) -> list[str]:
    """The things the question names that the documents never mention, as written."""
    tokens = tagger.tag(question)
    own = {w.lower() for name in known for w in name.split()}
    flagged = [False] * len(tokens)
    pairs: list[tuple[int, int]] = []
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok.text.lower() in _MEASURES and (nxt is None or nxt.pos not in ("NOUN", "PROPN")):
            continue  # "the minimum password length": the value is asked for, not the word
        if _candidate(tok, own) and tok.pos in ("NOUN", "PROPN") and not _known(tok.text, lexicon):
            flagged[i] = True
            continue
        if (
            tok.text.lower() in _TIER_WORDS
            and nxt is not None
            and nxt.pos == "NOUN"
            and lexicon.is_head(nxt.text)
            and not lexicon.knows_pair(tok.text, nxt.text)
        ):
            pairs.append((i, i + 1))  # "the free plan" where the plans are Starter, Growth …
            continue
        if not _as_name(tok, own):
            continue
        if (
            nxt is not None
            and nxt.pos == "NOUN"
            and nxt.text.islower()
            and lexicon.is_head(nxt.text)
            and not lexicon.knows_pair(tok.text, nxt.text)
        ):
            pairs.append((i, i + 1))
        elif tok.pos == "PROPN" and not lexicon.knows_name(tok.text):
            # a common word used as a name ("Microsoft Teams"): the documents never name it
            flagged[i] = True
    phrases: list[str] = []
    i = 0
    while i < len(tokens):
        if flagged[i]:
            j = i
            while j + 1 < len(tokens) and flagged[j + 1] and tokens[j].space_after:
                j += 1
            a, b = _whole_name(tokens, i, j, own)
            phrases.append(_join(tokens[a : b + 1]))
            i = j + 1
        else:
            i += 1
    for a, b in pairs:
        if not flagged[a]:
            while a > 0 and _as_name(tokens[a - 1], own) and tokens[a - 1].space_after:
                a -= 1  # the whole name: "Enterprise Plus plan"
            phrases.append(_join(tokens[a : b + 1]))
    return list(dict.fromkeys(phrases))


def _candidate(tok: Tagged, own: set[str]) -> bool:
    text = tok.text
    if not _WORDY.match(text) or tok.entity in _IGNORED_ENTITIES or text in _PLACEHOLDERS:
        return False
    lower = text.lower()
    if lower in STOPWORDS or lower in _GENERIC or lower in own:
        return False
    if _ABBREVIATIONS.get(lower, lower) in STOPWORDS:
        return False
    return len(text) >= 3 or (len(text) == 2 and text.isupper())


def _whole_name(tokens: Sequence[Tagged], i: int, j: int, own: set[str]) -> tuple[int, int]:
    """An unknown proper noun with the name around it: "Microsoft Dynamics 365"."""
    if tokens[i].pos != "PROPN":
        return i, j
    while i > 0 and tokens[i - 1].space_after and _as_name(tokens[i - 1], own):
        i -= 1
    while (
        j + 1 < len(tokens)
        and tokens[j].space_after
        and (tokens[j + 1].text.isdigit() or _as_name(tokens[j + 1], own))
    ):
        j += 1
    return i, j


def _as_name(tok: Tagged, own: set[str]) -> bool:
    """A capitalised word inside the sentence, not a shouted or redacted one."""
    text = tok.text
    return (
        _WORDY.match(text) is not None
        and text[0].isupper()
        and not text.isupper()
        and not tok.sentence_start
        and tok.entity not in _IGNORED_ENTITIES
        and text.lower() not in own
        and text.lower() not in STOPWORDS
    )


def _join(tokens: Sequence[Tagged]) -> str:
    out = ""
    for tok in tokens:
        out += tok.text + (" " if tok.space_after else "")
    return out.strip()


class Coverage:
    """:func:`unknown_terms` against the current lexicon of the bot's documents."""

    def __init__(
        self,
        tagger: Tagger,
        lexicon: Callable[[], Lexicon | None],
        *,
        known: Sequence[str] = (),
    ) -> None:
        self._tagger = tagger
        self._lexicon = lexicon
        self._known = tuple(known)

    def other_instance(self, question: str, answer: str) -> str | None:
        """The plan or product the question asks about, when the answer is about another."""
        lexicon = self._lexicon()
        return lexicon.other_instance(question, answer) if lexicon is not None else None

    def unknown(self, question: str) -> list[str] | None:
        """None when there is no lexicon yet (no documents)."""
        lexicon = self._lexicon()
        if lexicon is None:
            return None
        return unknown_terms(question, lexicon, self._tagger, known=self._known)
