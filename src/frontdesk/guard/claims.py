"""Claim features for groundedness: polarity, quantities with units, names, conditions.

A claim (one answer sentence) and a source sentence are each reduced to :class:`Features`.
:func:`compare` says how a claim differs from one source sentence: ``polarity`` (a word
negated on one side and not the other), ``quantity`` (a value, unit, rate or range the
source does not state, or states for another plan), ``name`` (a plan, product or
integration the source sentence does not mention), ``condition`` (within/after/unless/
only/... added, changed or dropped). Pure functions, no model.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

# --- words ---------------------------------------------------------------------------

_WORD = re.compile(r"[A-Za-z0-9][\w'’-]*")


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_MARKUP = re.compile(r"\*\*|__|`|\[\d+(?:\s*,\s*\d+)*\]")
_FUNCTION = _words(
    "a an the and or but if then so of to in on at by for with from as is are was were be "
    "been being it its this that these those you your we our us i me my they them their "
    "he she his her can could will would should may might must do does did have has had "
    "there here what which who when where why how all any some each more most other such "
    "own same than too very just also about into over up out yes please also get gets got"
)
_SUFFIXES = ("ations", "ation", "ables", "able", "ings", "ing", "ies", "ied", "ed", "es", "s", "ly")


def stem(word: str) -> str:
    """A crude suffix stripper: refunded, refunds, refundable -> refund; charge(d) -> charg."""
    w = word.lower().replace("’", "'")
    if len(w) <= 4:
        return w
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)] + ("y" if suffix in ("ies", "ied") else "")
            break
    if len(w) > 4 and w.endswith("e"):
        w = w[:-1]
    if len(w) > 4 and w[-1] == w[-2] and w[-1] not in "aeiou":  # cancell -> cancel
        w = w[:-1]
    return w


def clean(text: str) -> str:
    """The text without Markdown emphasis, code ticks and ``[n]`` citation markers."""
    return _MARKUP.sub("", text)


def content_stems(text: str) -> set[str]:
    return {
        stem(w) for w in _WORD.findall(text) if w.lower() not in _FUNCTION and not _NEG.match(w)
    }


# --- polarity ------------------------------------------------------------------------

_NEG = re.compile(
    r"^(?:not|no|never|none|nothing|nobody|neither|nor|without|cannot|unable|"
    r"\w+n['’]t)$",
    re.IGNORECASE,
)
_NON = re.compile(r"^non-(\w+)", re.IGNORECASE)
_SCOPE_END = re.compile(
    r"^(?:but|unless|except|because|since|so|although|though|however|while|whereas|and|or|then)$",
    re.IGNORECASE,
)
_CLAUSE_PUNCT = re.compile(r"[,;:.!?()]")
SCOPE_WORDS = 6


@dataclass(frozen=True, slots=True)
class Polarity:
    negated: frozenset[str]
    """content stems inside the scope of a negation"""
    positive: frozenset[str]
    """content stems outside any negation scope"""
    heads: frozenset[str]
    """the first content stem after each negator (what is negated: "not *refunded*")"""
    has_negation: bool


def polarity(text: str) -> Polarity:
    """Which words a sentence negates.

    The scope of a negator runs to the end of its clause (punctuation or a conjunction),
    at most :data:`SCOPE_WORDS` content words. A leading "No," (the answer to a yes/no
    question) is not itself a negation; "non-refundable" negates "refundable".
    """
    negated: set[str] = set()
    positive: set[str] = set()
    heads: set[str] = set()
    found = False
    unbound = _BOUND_NO.sub(lambda m: " " * len(m.group(0)), _LEADING_ANSWER.sub("", text))
    for clause in _CLAUSE_PUNCT.split(unbound):
        active, head = 0, False
        for word in _WORD.findall(clause):
            non = _NON.match(word)
            if non:
                found = True
                negated.add(stem(non.group(1)))
                heads.add(stem(non.group(1)))
                continue
            if _NEG.match(word):
                found, active, head = True, SCOPE_WORDS, True
                continue
            if _SCOPE_END.match(word):
                active, head = 0, False
                continue
            if word.lower() in _FUNCTION:
                continue
            if active:
                negated.add(stem(word))
                if head:
                    heads.add(stem(word))
                    head = False
                active -= 1
            else:
                positive.add(stem(word))
    return Polarity(frozenset(negated), frozenset(positive), frozenset(heads), found)


_LEADING_ANSWER = re.compile(r"^\s*(?:no|yes)\s*[,.!:;—-]\s*", re.IGNORECASE)
_BOUND_NO = re.compile(
    r"\b(?:no|not)\s+(?=(?:more|less|fewer|later|earlier|longer|sooner)\s+than\b)",
    re.IGNORECASE,
)
"""'no more than 200' is a bound (``at_most``), not a negation."""


# --- quantities ----------------------------------------------------------------------

_WORD_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "ninety": 90,
    "hundred": 100,
}
_SECONDS = {
    "second": 1,
    "sec": 1,
    "minute": 60,
    "min": 60,
    "hour": 3600,
    "hr": 3600,
    "day": 86400,
    "business day": 86400,
    "working day": 86400,
    "week": 604800,
    "month": 2592000,
    "year": 31536000,
}
_BYTES = {"kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12}
_MAGNITUDE = {"thousand": 1e3, "k": 1e3, "million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9}
_CURRENCY_SIGN = {"$": "usd", "€": "eur", "£": "gbp"}
_CURRENCY_WORD = {
    "usd": "usd",
    "dollars": "usd",
    "dollar": "usd",
    "eur": "eur",
    "euros": "eur",
    "euro": "eur",
    "gbp": "gbp",
    "pounds": "gbp",
}
_ADVERB_RATE = {
    "monthly": "month",
    "annually": "year",
    "yearly": "year",
    "daily": "day",
    "weekly": "week",
    "hourly": "hour",
}
_NUM = r"\d+(?:,\d{3})*(?:\.\d+)?"
_WNUM = "|".join(_WORD_NUMBERS)
_UNIT = (
    r"business\s+days?|working\s+days?|seconds?|secs?|minutes?|mins?|hours?|hrs?|days?|weeks?|"
    r"months?|years?|kb|mb|gb|tb|percent|usd|eur|gbp|dollars?|euros?|pounds"
)
_QUANTITY = re.compile(
    rf"(?<![\w.:/-])(?P<cur>[$€£])?\s?(?P<a>{_NUM}|(?:{_WNUM})\b)"
    rf"(?:\s?(?:-|–|to)\s?[$€£]?(?P<b>{_NUM}|(?:{_WNUM})\b))?"
    rf"(?P<pct>\s?%)?(?:\s?(?P<mag>million|billion|thousand|bn|[km])\b)?"
    rf"(?:[\s-]?(?P<unit>{_UNIT})\b)?"
    rf"(?:(?:\s*/\s*|\s+(?:per|a|an|each|every)\s+)(?P<per>{_UNIT}|million|billion|thousand|"
    rf"[a-z]+)\b|\s+(?P<adv>monthly|annually|yearly|daily|weekly|hourly)\b)?",
    re.IGNORECASE,
)
_CLOCK = re.compile(r"\b(\d{1,2}):(\d{2})(?:\s?[-–]\s?(\d{1,2}):(\d{2}))?\b")
_CODE = re.compile(
    r"(?<![\w.])(?:\d{1,3}(?:\.\d{1,3}){3}|[A-Za-z]+[-_]?\d[\w.:/-]*|\d+[A-Za-z][\w-]*|"
    r"\d+/\d+)(?![\w])"
)
_LIST_GAP = re.compile(r"^\s*(?:,|and|or|,\s*and|,\s*or)\s*$")


@dataclass(frozen=True, slots=True)
class Quantity:
    low: float
    high: float
    kind: str
    """``duration`` (seconds), ``money:usd``, ``percent``, ``bytes``, ``clock``, or ``count``"""
    per: str | None
    text: str
    start: int
    end: int
    explicit_unit: bool = True

    def same_value(self, other: Quantity) -> bool:
        if not (_close(self.low, other.low) and _close(self.high, other.high)):
            return False
        if self.kind != other.kind:
            return False
        return self.per is None or other.per is None or self.per == other.per


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def _number(token: str) -> float:
    token = token.lower()
    return float(_WORD_NUMBERS[token]) if token in _WORD_NUMBERS else float(token.replace(",", ""))


def _unit_key(unit: str) -> str:
    u = re.sub(r"\s+", " ", unit.lower())
    if u.endswith("s") and u not in ("kb", "mb", "gb", "tb", "pounds", "dollars", "euros"):
        u = u[:-1]
    return {"sec": "second", "min": "minute", "hr": "hour"}.get(u, u)


def _per_key(per: str | None, adv: str | None) -> str | None:
    if adv:
        return _ADVERB_RATE[adv.lower()]
    if not per:
        return None
    p = per.lower()
    if p in _MAGNITUDE:
        return p
    key = _unit_key(p)
    return "day" if key in ("business day", "working day") else key


def quantities(text: str) -> list[Quantity]:
    """Numbers with their units, ranges and rates; codes (NW-422, v2, 2FA, IPs) are skipped."""
    codes = [(m.start(), m.end()) for m in _CODE.finditer(text)]
    clocks = [(m.start(), m.end()) for m in _CLOCK.finditer(text)]
    found: list[Quantity] = []
    for m in _CLOCK.finditer(text):
        begin = float(int(m.group(1)) * 60 + int(m.group(2)))
        until = float(int(m.group(3)) * 60 + int(m.group(4))) if m.group(3) else begin
        found.append(Quantity(begin, until, "clock", None, m.group(0), m.start(), m.end()))
    for m in _QUANTITY.finditer(text):
        a = m.group("a")
        if any(s <= m.start("a") < e for s, e in codes + clocks):
            continue
        unit = m.group("unit")
        is_word = a.lower() in _WORD_NUMBERS
        if is_word and not (unit or m.group("cur") or m.group("pct") or m.group("mag")):
            following = _WORD.match(text, m.end() + 1) if m.end() < len(text) else None
            if following is None or following.group(0).lower() in _FUNCTION:
                continue  # "one of your codes": a word number counts before a noun only
        low = _number(a)
        high = _number(m.group("b")) if m.group("b") else low
        kind, factor, explicit = "count", 1.0, True
        if m.group("mag"):
            factor = _MAGNITUDE[m.group("mag").lower()]
        if m.group("cur"):
            kind = "money:" + _CURRENCY_SIGN[m.group("cur")]
        elif m.group("pct") or (unit and unit.lower() == "percent"):
            kind = "percent"
        elif unit:
            key = _unit_key(unit)
            if key in _SECONDS:
                kind, factor = "duration", factor * _SECONDS[key]
            elif key in _BYTES:
                kind, factor = "bytes", factor * _BYTES[key]
            elif key in _CURRENCY_WORD:
                kind = "money:" + _CURRENCY_WORD[key]
        else:
            explicit = False
        per = _per_key(m.group("per"), m.group("adv"))
        if per is not None and per not in _SECONDS and per not in _MAGNITUDE:
            per = None  # "per workspace", "a day": only time and magnitude rates are compared
        text_ = m.group(0).strip()
        begin = m.start() + len(m.group(0)) - len(m.group(0).lstrip())
        found.append(
            Quantity(
                low * factor, high * factor, kind, per, text_, begin, begin + len(text_), explicit
            )
        )
    found.sort(key=lambda q: q.start)
    return _propagate_units(text, found)


def _propagate_units(text: str, found: list[Quantity]) -> list[Quantity]:
    """ "after 3, 5 and 7 days": 3 and 5 take the unit of 7."""
    out = list(found)
    for i in range(len(out) - 2, -1, -1):
        q, nxt = out[i], out[i + 1]
        if q.explicit_unit or not nxt.explicit_unit or nxt.kind == "count":
            continue
        if not _LIST_GAP.match(text[q.end : nxt.start]):
            continue
        factor = nxt.low / _raw_value(text, nxt) if _raw_value(text, nxt) else 1.0
        out[i] = Quantity(
            q.low * factor, q.high * factor, nxt.kind, nxt.per, q.text, q.start, q.end, True
        )
    return out


def _raw_value(text: str, q: Quantity) -> float:
    m = _QUANTITY.match(text, q.start)
    return _number(m.group("a")) if m else 0.0


# --- names ---------------------------------------------------------------------------

_NAME = re.compile(
    r"\b(?:[A-Z][a-zA-Z0-9]*(?:[-/][A-Za-z0-9]+)*)(?:\s+(?:[A-Z][a-zA-Z0-9]*(?:[-/][A-Za-z0-9]+)*))*"
)
_NOT_NAMES = _words(
    "I A Q No Yes Not If When Then The This That These Those It Its You Your We Our Each "
    "Every All Any Some For Go Open Click Choose Enter Set Use To In On At By Or And But "
    "After Before Once Only With Without From Also So Sorry Please Thanks Hi Hello What "
    "How Why Where Which Who There Here Note Example Sure Unfortunately However Yes "
    "January February March April May June July August September October November December "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday"
)


#: acronyms a correct answer may use though the sources spell them out (or never need to)
ACRONYMS: dict[str, str] = {
    "SSO": "single sign-on",
    "2FA": "two-factor",
    "MFA": "two-factor",
    "SLA": "service level agreement",
    "DPA": "data processing agreement",
    "API": "",
    "URL": "",
    "ID": "",
    "PDF": "",
    "CSV": "",
    "SQL": "",
    "UI": "",
    "IT": "",
}
#: "Starter plans ...", "Enterprise customers ...": a capitalised word before these is a name
_ENTITY_NOUN = re.compile(
    r"\s+(?:plans?|customers?|workspaces?|users?|tiers?|accounts?|connectors?)\b"
)
_COMMON_ADJ = _words(
    "Annual Monthly Yearly New Existing Paid Free Paused Active Other Current Former Many "
    "Most Both Deactivated Deleted Invited Such"
)
#: roles are compared like names: "owners" and "viewers" are not interchangeable
_ROLE = re.compile(r"\b(owner|admin|editor|viewer|billing admin)s?\b", re.IGNORECASE)


def names(text: str, known: frozenset[str] = frozenset()) -> set[str]:
    """Capitalised names and acronyms (Starter, Growth, Microsoft Dynamics 365, SSO), and roles.

    A capitalised word that opens a sentence is a name only when it is in ``known``
    (the names seen mid-sentence in the sources) or is camel-cased (BigQuery, HubSpot).
    Multi-word names are split into their words so "the Growth plan" and "Growth" match.
    Roles are ``role:owner`` and the like.
    """
    out: set[str] = set()
    for m in _NAME.finditer(text):
        first = m.group(0).split()[0]
        words = [w for w in m.group(0).split() if w not in _NOT_NAMES]
        at_start = bool(re.search(r"(?:^|[.!?:;\n]|^\W*)\s*$", text[: m.start()]))
        entity = _ENTITY_NOUN.match(text, m.end()) is not None and first not in _COMMON_ADJ
        for w in words:
            if (
                w == first
                and at_start
                and w not in known
                and not entity
                and not re.search(r".[A-Z0-9]", w)
            ):
                continue
            if not w.isdigit():
                out.add(w)
    for m in _ROLE.finditer(text):
        role = m.group(1).lower()
        if role == "admin" and text[max(0, m.start() - 8) : m.start()].lower().endswith("billing "):
            continue
        out.add("role:" + role)
    return out


_INSTANCE_NOUN = re.compile(r"\s+(?:plans?|tiers?|editions?|packages?)\b")


def instance_names(text: str, candidates: frozenset[str]) -> frozenset[str]:
    """The names of ``candidates`` that ``text`` writes before "plan" or "tier" ("the
    Growth plan"): alternatives of one kind, which a claim must not swap."""
    found = set()
    for name in candidates:
        if name.startswith("role:"):
            continue
        for m in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text):
            if _INSTANCE_NOUN.match(text, m.end()):
                found.add(name)
                break
    return frozenset(found)


def mentions(name: str, text: str) -> bool:
    """Whether ``text`` mentions ``name`` (a role, an acronym's expansion, or the word)."""
    lowered = text.lower()
    if name.startswith("role:"):
        return f"role:{name[5:]}" in names(text)
    expansion = ACRONYMS.get(name)
    if expansion is not None and (not expansion or expansion in lowered):
        return True
    return name.lower() in lowered


# --- conditions ----------------------------------------------------------------------

_CONDITIONS: tuple[tuple[str, str], ...] = (
    ("within", r"within|in the first|no later than|inside of|at the latest"),
    ("after", r"after|past|later than|beyond|following"),
    ("before", r"before|prior to|ahead|in advance"),
    ("except", r"unless|except|excluding|other than|apart from"),
    ("only", r"only|exclusively|solely"),
    ("until", r"until|till"),
    ("at_least", r"at least|minimum of|no less than|no fewer than|or more|or newer|or later"),
    ("at_most", r"at most|no more than|maximum of|up to|or fewer|or less|limited to|capped at"),
    ("more_than", r"more than|above|over|exceeds?|greater than"),
    ("less_than", r"less than|fewer than|below|under"),
    ("immediately", r"immediately|right away|instantly|at once|as soon as"),
    ("at_end", r"at the end of|end of the"),
)
_CONDITION_RES = tuple(
    (name, re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE)) for name, pattern in _CONDITIONS
)
#: cues whose loss changes what a sentence promises ("full refund within 14 days")
RESTRICTIVE = frozenset(
    {"within", "after", "before", "except", "only", "until", "at_least", "at_most"}
)


_ONLY_ONCE = re.compile(r"\bonly (?=once\b|one\b)", re.IGNORECASE)


def conditions(text: str) -> dict[str, list[int]]:
    """Canonical condition cues and where they occur ("only once" is just "once")."""
    text = _ONLY_ONCE.sub("     ", text)
    found: dict[str, list[int]] = {}
    taken: list[tuple[int, int]] = []
    for name, pattern in _CONDITION_RES:
        for m in pattern.finditer(text):
            if any(s < m.end() and m.start() < e for s, e in taken):
                continue
            taken.append((m.start(), m.end()))
            if name in _TIMED and not _TIMED_BY.match(text, m.end()):
                name += "_event"  # "after a pipeline finishes", not "after 14 days"
            elif name in _COMPARED and not _COMPARED_TO.match(text, m.end()):
                continue  # "handed over to", "rows above your allowance": no bound
            found.setdefault(name, []).append(m.start())
    return found


_TIMED = frozenset({"within", "after", "before"})
_TIMED_BY = re.compile(
    r"\W*(?:the\s+|a\s+|an\s+|about\s+)?(?:[$€£]?\d|(?:" + "|".join(_WORD_NUMBERS) + r")\b|that\b)",
    re.IGNORECASE,
)
_EVENTS = frozenset({"after_event", "before_event", "within_event"})
_COMPARED = frozenset({"more_than", "less_than"})
_COMPARED_TO = re.compile(
    r"\W*(?:\w+\s+){0,2}?(?:[$€£]?\d|(?:" + "|".join(_WORD_NUMBERS) + r")\b)", re.IGNORECASE
)
_EXPIRES = re.compile(r"\b(?:expires?|expiring|runs? out|lapses?)\s+after\b", re.IGNORECASE)
_VALID_FOR = re.compile(
    r"\b(?:valid|good|usable|active|kept|stays?|lasts?)\s+(?:\w+\s+)?for\b", re.IGNORECASE
)
_CLAUSE = re.compile(r"[^;]+")


# --- features of one sentence --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Features:
    text: str
    stems: frozenset[str]
    polarity: Polarity
    quantities: tuple[Quantity, ...]
    bound: tuple[frozenset[str], ...]
    """for each quantity, the names it is said of (its clause, else the clause before)"""
    names: frozenset[str]
    conditions: dict[str, list[int]] = field(default_factory=dict)


_QTY_CLAUSE = re.compile(
    r"(?:[;(]|,?\s+(?:and|or)\s+|,\s+)(?=\s*(?:[$€£]?\d|(?:" + _WNUM + r")\b))"
)


def features(
    text: str, known: frozenset[str] = frozenset(), inherited: frozenset[str] = frozenset()
) -> Features:
    """``inherited``: names of the sentence before (what "It includes ..." is about)."""
    text = clean(text)
    pol = polarity(text)
    qs = quantities(text)
    all_names = names(text, known)
    cuts = [0] + [m.start() for m in _QTY_CLAUSE.finditer(text)] + [len(text)]
    clause_names = [names(text[a:b], known) & all_names for a, b in itertools.pairwise(cuts)]
    bound: list[frozenset[str]] = []
    for q in qs:
        idx = max(i for i, c in enumerate(cuts[:-1]) if c <= q.start)
        scope: set[str] = set()
        for j in range(idx, -1, -1):
            if clause_names[j]:
                scope = clause_names[j]
                break
        bound.append(frozenset(scope or inherited))
    return Features(
        text=text,
        stems=frozenset(content_stems(text)),
        polarity=pol,
        quantities=tuple(qs),
        bound=tuple(bound),
        names=frozenset(all_names),
        conditions=conditions(text),
    )


# --- comparing a claim with one source sentence --------------------------------------


@dataclass(frozen=True, slots=True)
class Mismatch:
    reason: str
    """``polarity``, ``quantity``, ``name`` or ``condition``"""
    detail: str


def compare(
    claim: Features,
    source: Features,
    *,
    context_names: frozenset[str],
    context_text: str,
    source_text: str,
    generic_names: frozenset[str],
    instances: frozenset[str] = frozenset(),
) -> Mismatch | None:
    """How ``claim`` differs from ``source`` (None when it does not).

    ``context_names``: names of the source sentence and the sentences just before it, and
    ``context_text`` their text; ``source_text``: all the sources; ``generic_names``: names
    present in most sources (the company), which are never a rival plan or product;
    ``instances``: plan and tier names (:func:`instance_names`), whose rivals are only
    other plans and tiers (a time zone or month is no rival of "Growth").
    """
    rivals = context_names - claim.names - generic_names
    # a role is never generic: account pages name several in every passage
    generic_plans = frozenset(n for n in generic_names if not n.startswith("role:"))
    sentence_rivals = source.names - claim.names - generic_plans
    for name in sorted(claim.names - generic_plans):
        # the aligned sentence itself names another plan or role ("Owners can ..." for
        # "Admins can ..."), though the next sentence may mention the claim's
        if mentions(name, source.text):
            continue
        same_kind = _same_kind(name, sentence_rivals, instances)
        if same_kind:
            return Mismatch("name", f"the source says this of {same_kind[0]}, not {name}")
    for name in sorted(claim.names):
        if mentions(name, context_text):
            continue
        if not name.startswith("role:") and not mentions(name, source_text):
            return Mismatch("name", f"{name} is not in the sources")
        if rivals and (name not in instances or _same_kind(name, rivals, instances)):
            # the sentence is about another plan or product
            return Mismatch("name", f"the source says this of {sorted(rivals)[0]}, not {name}")
    shared = claim.stems & source.stems
    c, s = claim.polarity, source.polarity
    only_neg_c, only_neg_s = c.negated - c.positive, s.negated - s.positive
    only_pos_c, only_pos_s = c.positive - c.negated, s.positive - s.negated
    flipped = sorted(
        ((only_neg_c & only_pos_s) | (only_neg_s & only_pos_c)) & shared & (c.heads | s.heads)
    )
    if flipped:
        return Mismatch("polarity", f"'{flipped[0]}' is negated on one side only")
    if c.has_negation and not s.has_negation and only_neg_c & shared:
        return Mismatch("polarity", "the claim negates what the source states")
    if s.has_negation and not c.has_negation and only_neg_s & shared:
        return Mismatch("polarity", "the source negates what the claim states")
    for q, names_q in zip(claim.quantities, claim.bound, strict=True):
        matches = [
            b for s_q, b in zip(source.quantities, source.bound, strict=True) if q.same_value(s_q)
        ]
        if not matches:
            return Mismatch("quantity", f"'{q.text}' is not what the source states")
        wanted = names_q - generic_names
        other_bound = {n for b in source.bound for n in b}
        if wanted and not any(all(n in b or n not in other_bound for n in wanted) for b in matches):
            return Mismatch("quantity", f"'{q.text}' is stated for another plan")
    return _condition_mismatch(claim, source, shared)


def _same_kind(name: str, rivals: frozenset[str], instances: frozenset[str]) -> list[str]:
    """The rivals of ``name``'s kind: roles for a role, plans for a plan, else non-roles."""
    role = name.startswith("role:")
    out = sorted(r for r in rivals if r.startswith("role:") == role)
    return [r for r in out if r in instances] if name in instances else out


def _condition_mismatch(
    claim: Features, source: Features, shared: frozenset[str]
) -> Mismatch | None:
    source_events = set(source.conditions) & _EVENTS
    for cue in sorted(set(claim.conditions) - set(source.conditions)):
        if cue == "after" and _EXPIRES.search(claim.text) and _VALID_FOR.search(source.text):
            continue  # "expires after 30 minutes" is "valid for 30 minutes"
        # "after a pipeline finishes" may be added freely, unless the source says "before"
        if cue not in _EVENTS or source_events:
            return Mismatch("condition", f"'{cue}' is not a condition in the source")
    for cue in sorted(set(source.conditions) - set(claim.conditions)):
        if cue not in RESTRICTIVE and cue not in _EVENTS:
            continue
        for pos in source.conditions[cue]:  # dropped, if its clause (to a ";") is restated
            clause = next(m for m in _CLAUSE.finditer(source.text + " ") if m.end() > pos)
            if len(content_stems(clause.group(0)) & shared) >= 2:
                return Mismatch("condition", f"the source's '{cue}' condition is missing")
    return None
