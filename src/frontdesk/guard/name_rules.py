"""Name heuristics that need a common-English-word list: capitalised tokens that are not
dictionary words, in positions where people (not products or places) appear.

The word list is GCIDE (the GNU Collaborative International Dictionary of English, via the
``english-words`` package), lower-cased. It is loaded explicitly by :func:`load_common_words`
(about 0.1 s), never at import. A token counts as a likely name only when its lower-cased
form is *not* in the list, so names that are also words ("Victoria", "Reed") are left to
spaCy and the cue rules; these heuristics add rare and foreign names that spaCy misses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from frontdesk.errors import ConfigError
from frontdesk.guard.pii_patterns import Span

CommonWords = frozenset[str]

#: Upper- and lower-case letters of the Latin, Greek and Cyrillic scripts, as regex classes
#: ("Šárka", "Łucja", "Žofie", "Ørjan", "Αθηνά", "Дмитрий" start with a capital too).
UPPER = "A-ZÀ-ÖØ-Þ" + "".join(ch for ch in map(chr, range(0x100, 0x530)) if ch.isupper())
LOWER = "a-zß-öø-ÿ" + "".join(ch for ch in map(chr, range(0x100, 0x530)) if ch.islower())

# A capitalised word, possibly hyphenated or with an apostrophe ("O'Neill", "Jean-Luc").
_CAP = rf"[{UPPER}][{LOWER}]+(?:[-'’][{UPPER}{LOWER}]+)?"
_INITIAL = r"[A-Z]\.?"
_NAME = rf"{_CAP}(?:[ \t]+{_INITIAL})?(?:[ \t]+{_CAP}){{0,2}}"

# "Vinka: What a wife." / "Alice:"I'm ..." -- a speaker label opening a transcript line;
# lower-case ones ("mika: "who are you?"") only before a quotation.
_SPEAKER = re.compile(rf"(?m)^[ \t]*(?P<name>{_NAME})[ \t]*:[ \t]*(?=\S)")
_SPEAKER_LOWER = re.compile(
    rf"(?m)^[ \t]*(?P<name>[{LOWER}][{LOWER}'’-]{{1,20}})[ \t]*:[ \t]*(?=[\"“])"
)
# "Sofie lives on ...", "Magnus spent a year ..." -- a name as the subject of a verb that
# takes a person.
_PERSON_VERBS = (
    r"lives|lived|said|says|shouted|told|asked|replied|began|spent|wrote|writes|works|worked"
    r"|joined|married|moved|called|emailed|texted|paid|signed|will be (?:talking|speaking)"
    r"|is (?:very )?(?:reliable|late|sick|away|my|our|here)|was born|had given|has given"
    r"|just has to"
)
_SUBJECT = re.compile(rf"(?<![\w'’-])(?P<name>{_NAME})[ \t]+(?:{_PERSON_VERBS})\b")
# "Asya's kid", "Wisława Szczepańska's killers" -- a possessive before a lower-case noun.
_POSSESSIVE = re.compile(rf"(?<![\w'’-])(?P<name>{_NAME})['’]s[ \t]+(?=[a-z])")
# "Billing address: Sara Schwarz" -- a labelled line holding only a name.
_LABELLED_LINE = re.compile(
    rf"(?m)^[ \t]*[A-Za-z][A-Za-z ]{{1,24}}:[ \t]*(?P<name>{_CAP}(?:[ \t]+{_INITIAL})?"
    rf"(?:[ \t]+{_CAP}){{1,2}})[ \t]*$"
)
# "add Irenke Sörös as a beneficiary", "change it to Tristan Dennis", "it's under Miklós Hajdu"
# -- account-holder phrasings of a support chat.
_ACCOUNT_CUE = re.compile(
    rf"(?:\b(?:[Aa]dd|[Rr]emove)[ \t]+(?P<name>{_NAME})[ \t]+(?=as (?:a|an|my|the) )"
    rf"|\b(?:[Cc]hange (?:it|the name|my name) to|(?:it's|it is|booked|registered) under)"
    rf"[ \t]+(?P<name2>{_NAME}))"
)
# "What's your last name? Baba", "Surname: Rose" -- the answer to a name question is a name
# even when it is also a dictionary word.
_NAME_ANSWER = re.compile(
    rf"(?:\b(?:[Ll]ast|[Ff]irst|[Ff]amily|[Gg]iven|[Mm]aiden|[Mm]iddle) ?name|\b[Ss]urname)"
    rf"(?: is)?\??:?[ \t]+(?P<name>{_NAME})"
)
# "Rościsław Dudek of Lexisnexis", "Amadeo Vitorović from Rapid Cycle" -- two or more rare
# capitalised words (a first and last name) anywhere.
_FULL_NAME = re.compile(
    rf"(?<![\w'’.-])(?P<name>{_CAP}(?:[ \t]+{_INITIAL})?(?:[ \t]+{_CAP}){{1,2}})(?![\w'’-])"
)
# Words that look like names in these positions but are not (checked in addition to GCIDE).
_NEVER = frozenset(
    [
        "i",
        "i'm",
        "i've",
        "i'd",
        "i'll",
        "we",
        "you",
        "they",
        "he",
        "she",
        "it",
        "this",
        "that",
        "there",
        "here",
        "who",
        "what",
        "when",
        "where",
        "why",
        "how",
        "hi",
        "hello",
        "hey",
        "dear",
        "thanks",
        "subject",
        "note",
        "re",
        "fwd",
        "cc",
        "bcc",
        "to",
        "from",
        "date",
        "mobile",
        "desk",
        "fax",
        "tel",
        "phone",
        "email",
        "address",
        "user",
        "agent",
        "customer",
        "bot",
        "assistant",
        "support",
        "admin",
        "system",
        "ok",
        "okay",
    ]
)


def load_common_words() -> CommonWords:
    """The lower-cased GCIDE headwords. Raises ``ConfigError`` when the package is missing."""
    try:
        from english_words import get_english_words_set  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ConfigError(
            "name heuristics need the word list: pip install 'english-words>=2.0,<3'"
        ) from exc
    words = get_english_words_set(["gcide"], lower=True)
    return frozenset(str(w) for w in words)


def _tokens(value: str) -> list[str]:
    return [t for t in re.split(r"[ \t]+", value) if t]


def _is_rare(token: str, common: CommonWords) -> bool:
    """A capitalised token that is neither an English word nor one of the never-names."""
    bare = token.rstrip(".").lower()
    if len(bare) < 2 or bare in _NEVER:
        return False
    if len(bare) >= 6 and bare.endswith("ed") and (bare[:-2] in common or bare[:-1] in common):
        return False  # "Awarded", "Changed": GCIDE lists the verb, not its past tense
    parts = re.split(r"[-'’]", bare)
    return bare not in common and not all(p in common for p in parts if p)


def _name_spans(
    pattern: re.Pattern[str], text: str, common: CommonWords, *, all_rare: bool
) -> Iterator[tuple[int, int]]:
    for m in pattern.finditer(text):
        words = [t for t in _tokens(m.group("name")) if not re.fullmatch(_INITIAL, t)]
        rare = [_is_rare(w, common) for w in words]
        if not words or not (all(rare) if all_rare else any(rare)):
            continue
        if words[0].lower() in _NEVER:
            continue
        yield m.start("name"), m.end("name")


def find_rare_names(text: str, common: CommonWords) -> list[Span]:
    """PERSON spans from speaker labels, person-verb subjects, possessives, labelled lines."""
    spans = []
    for pattern, all_rare, score in (
        (_SPEAKER, True, 0.55),
        (_SUBJECT, True, 0.55),
        (_POSSESSIVE, True, 0.5),
        (_LABELLED_LINE, False, 0.55),
        (_FULL_NAME, True, 0.5),
    ):
        for start, end in _name_spans(pattern, text, common, all_rare=all_rare):
            spans.append(Span("PERSON", start, end, score, "name-rule"))
    for pattern in (_SPEAKER_LOWER, _NAME_ANSWER):
        for m in pattern.finditer(text):
            words = _tokens(m.group("name"))
            if (
                words
                and words[0].lower() not in _NEVER
                and (pattern is _NAME_ANSWER or words[0] not in common)
            ):
                spans.append(Span("PERSON", m.start("name"), m.end("name"), 0.6, "name-rule"))
    for m in _ACCOUNT_CUE.finditer(text):
        group = "name" if m.group("name") else "name2"
        words = _tokens(m.group(group))
        if words and words[0].lower() not in _NEVER and words[0].lower() not in common:
            spans.append(Span("PERSON", m.start(group), m.end(group), 0.6, "name-rule"))
    return spans
