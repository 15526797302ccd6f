"""Text normalisation and the detectors the scorer uses (facts, must-nots, refusals).

Both sides of every comparison go through :func:`normalise`, so a fact written as
"$2,990" matches an answer saying "2990 dollars", "14-day" matches "14 day" and
"two business days" matches "2 business days".
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

_DASHES = re.compile(r"[\u2010-\u2015\u2212\u2043\ufe58\ufe63\uff0d]")
_QUOTES = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " "}
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}\b)")
_NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
    "seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
    "fifteen": "15", "twenty": "20", "thirty": "30", "forty": "40", "fifty": "50",
    "sixty": "60", "ninety": "90", "hundred": "100",
}  # fmt: skip
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b")
_CURRENCY_PREFIX = re.compile(r"([$€£])\s?(\d+(?:\.\d+)?)")
_CURRENCY_NAMES = re.compile(
    r"(\d+(?:\.\d+)?)\s?(?:us\s?dollars?|dollars?|usd|euros?|eur|pounds?(?:\s+sterling)?|gbp)\b"
)
_CURRENCY_CODE = {"$": "usd", "€": "eur", "£": "gbp"}
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s?(?:%|percent|per\s+cent)")
_MARKUP = re.compile(r"\*\*|__|`|\[\d+\]")
_HYPHEN_JOIN = re.compile(r"(?<=[\w%])-(?=\w)")
_SPACES = re.compile(r"\s+")


def _currency_name(match: re.Match[str]) -> str:
    word = match.group(0)[len(match.group(1)) :].strip()
    code = "eur" if word.startswith("eur") else "gbp" if word[:1] in "pg" else "usd"
    return f"{match.group(1)} {code}"


def normalise(text: str) -> str:
    """Lower-case text with unified dashes, quotes, numbers, currencies and spacing."""
    text = unicodedata.normalize("NFKC", text)
    for src, dst in _QUOTES.items():
        text = text.replace(src, dst)
    text = _DASHES.sub("-", text).lower()
    text = _MARKUP.sub("", text)
    text = _THOUSANDS.sub("", text)
    text = _NUMBER_WORD.sub(lambda m: _NUMBER_WORDS[m.group(1)], text)
    text = _CURRENCY_PREFIX.sub(lambda m: f"{m.group(2)} {_CURRENCY_CODE[m.group(1)]}", text)
    text = _CURRENCY_NAMES.sub(_currency_name, text)
    text = _PERCENT.sub(r"\1%", text)
    text = _HYPHEN_JOIN.sub(" ", text)
    return _SPACES.sub(" ", text).strip()


def _pattern(phrase: str) -> re.Pattern[str]:
    norm = normalise(phrase)
    left = r"(?<![\w.])" if norm[:1].isalnum() else ""
    # never inside a longer token: "$49" is not "$490", "support@northwinddata." is not
    # "support@northwinddata.example"
    return re.compile(left + re.escape(norm) + r"(?!\w)")


def contains(answer: str, phrase: str) -> bool:
    """Whether normalised ``phrase`` occurs in normalised ``answer`` as whole words."""
    if not phrase.strip():
        return False
    return _pattern(phrase).search(normalise(answer)) is not None


def fact_hits(answer: str, facts: Sequence[Sequence[str]]) -> list[bool]:
    """One flag per fact: whether any accepted alternative appears."""
    return [any(contains(answer, alt) for alt in alternatives) for alternatives in facts]


def must_not_hits(answer: str, statements: Iterable[str]) -> list[str]:
    return [s for s in statements if contains(answer, s)]


# --- honest refusal --------------------------------------------------------
# A refusal says the documentation does not cover the question (or that the bot
# could not find it / does not know), in the bot's own voice. Quoting the docs
# ("is not refundable") is not a refusal: the subject must be the bot or the docs.

_DOCS = (
    r"(?:our\s+|the\s+)?(?:documentation|docs|documents|sources|knowledge\s+base|"
    r"help\s+cent(?:er|re)|articles?|pages?)"
)
_REFUSALS = [
    r"\b(?:i|we)\s+(?:couldn't|could\s+not|can't|cannot|can\s+not|wasn't\s+able\s+to|was\s+not\s+able\s+to|didn't|did\s+not)\s+(?:find|locate|see)\b",
    r"\b(?:i'm|i\s+am)\s+(?:not\s+able|unable)\s+to\s+(?:find|locate|confirm)\b",
    rf"\b{_DOCS}\s+(?:doesn't|does\s+not|don't|do\s+not|didn't)\s+(?:\w+\s+)?"
    r"(?:mention|cover|say|list|include|contain|describe|address|specify)\b",
    rf"\b(?:not|isn't|is\s+not|aren't|are\s+not)\s+(?:mentioned|covered|described|listed|documented)\s+(?:in|by)\s+{_DOCS}",
    rf"\bnot\s+in\s+{_DOCS}",
    r"\bno\s+(?:information|details|mention|documentation)\s+(?:about|on|of|regarding)\b",
    r"\b(?:i|we)\s+(?:don't|do\s+not)\s+have\s+(?:any\s+)?(?:information|details|documentation)\b",
    r"\bi\s+(?:don't|do\s+not)\s+know\b",
    r"\bnothing\s+(?:about\s+(?:that|this|it)\s+)?in\s+" + _DOCS,
]
_REFUSAL = re.compile("|".join(_REFUSALS), re.IGNORECASE)
_AFFIRMATIVE_LEAD = re.compile(
    r"^\W*(?:yes|yeah|yep|sure|absolutely|of\s+course|definitely)\b", re.IGNORECASE
)


def refusal_phrase(answer: str) -> str | None:
    """The phrase by which ``answer`` says the documentation does not cover it, if any."""
    text = unicodedata.normalize("NFKC", answer).replace("\u2019", "'")
    match = _REFUSAL.search(text)
    return match.group(0) if match else None


def affirmative_lead(answer: str) -> bool:
    """Whether the answer opens with a "yes" (an invented confirmation on an unanswerable)."""
    text = unicodedata.normalize("NFKC", answer).replace("\u2019", "'")
    return _AFFIRMATIVE_LEAD.search(text) is not None
