"""Pattern detectors for structured PII and secrets, with checksums where formats have them.

Each detector is a pure function ``text -> list[Span]``. Placeholders are typed
(``[CARD]``, ``[SSN]``...). Nothing here keeps state or loads anything.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers


@dataclass(frozen=True, slots=True)
class Span:
    kind: str
    start: int
    end: int
    score: float
    detector: str


Detector = Callable[[str], list[Span]]


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def iban_ok(candidate: str) -> bool:
    """ISO 13616 mod-97 check on an IBAN without spaces."""
    value = candidate.upper()
    if not (15 <= len(value) <= 34) or not value[:2].isalpha() or not value[2:4].isdigit():
        return False
    rearranged = value[4:] + value[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


_CARD = re.compile(r"(?<![\w.-])\d(?:[ -]?\d){11,18}(?![\w-])")
_SSN = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}([- ])(?!00)\d{2}\1(?!0000)\d{4}(?![\w-])")
_SSN_BARE = re.compile(r"(?<![\w-])(?!000|666|9\d\d)\d{3}(?!00)\d{2}(?!0000)\d{4}(?![\w-])")
_SSN_CONTEXT = re.compile(r"(?i)\b(ssn|social security|sozialversicherung)")
_IBAN = re.compile(r"(?i)(?<![\w])[a-z]{2}\d{2}(?:[ ]?[a-z0-9]){11,30}(?![\w])")
_EMAIL = re.compile(
    r"(?i)(?<![\w.+-])[a-z0-9][a-z0-9._%+-]*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24}\b"
)
# A phone-shaped run: optional "+country", "(0)" trunk prefix and "(area)", then digit
# groups of any size (national formats differ: "0688 872 49 99", "077 123456", "(602)272-9781",
# "03.93.92.16.85", "030 / 1234 567"), optional extension. Validated in ``find_phones``.
_PHONE = re.compile(
    r"(?<![\w+:./-])(?:\+\d{1,3}[ .-]?)?(?:\(0\)[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{1,15}"
    r"(?:(?:[ .-]|[ ]?/[ ]?)\(?\d{1,10}\)?){0,5}"
    r"(?P<ext>[ \t]?(?:x|ext\.?|extension)[ \t]?\d{1,5})?(?![\w:-]|[.,]\d)"
)
# Amounts: a currency before or after the digits.
_MONEY_BEFORE = re.compile(r"(?i)(?:[$€£¥₹]|\b(?:eur|usd|gbp|chf|sek|nok|dkk|pln|aud|cad))\s*$")
_MONEY_AFTER = re.compile(
    r"(?i)^\s*(?:[$€£¥₹]|(?:eur|euros?|usd|dollars?|gbp|pounds?|chf|francs?|kr|sek|nok|dkk"
    r"|pln|złoty|zloty|yen|rupees?|aud|cad)\b)"
)
# A number right after a phone label or cue: any grouping, optional extension.
_PHONE_CUED = re.compile(
    r"(?i)\b(?:phone|tel(?:ephone)?|mobile|cell(?:phone)?|fax|desk|office|landline|whatsapp"
    r"|hotline|call (?:me |us )?(?:on|at)|reach (?:me |us )?(?:on|at)|text me (?:on|at)"
    r"|answering at|number is)\b[ \t]*(?:number)?[ \t]*[:.]?[ \t]*"
    r"(?P<num>\+?\(?\d[\d ().-]{5,22}\d(?:[ \t]*(?:x|ext\.?|extension)[ \t]*\d{1,5})?)"
    r"(?![\w-]|[.,]\d)"
)
# Context that makes a digit group something other than a phone number.
_NOT_PHONE_CONTEXT = re.compile(
    r"(?i)\b(?:licen[cs]e|zip|postal|post ?code|postcode|order|invoice|account|reference|ref"
    r"|tracking|passport|id|routing|sort code|policy|member(?:ship)?)\b(?:\W+\w+){0,2}\W*$"
)
_DATE_LIKE = re.compile(r"^(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4})$")
_IPV4 = re.compile(
    r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)(?![\w.])"
)
_PASSWORD = re.compile(
    r"(?i)\b(?:password|passwort|passcode|passphrase|pwd|kennwort)"
    r"(?:\s+(?:is|was|ist|would be|=)|\s*[:=])\s*[\"'“]?(?P<value>[^\s\"'”]{3,})"
    r"|\b(?:pin|pin ?code|pin-nummer)(?:\s+(?:is|was|ist|=)|\s*[:=])\s*(?P<pin>\d{4,8})\b"
)
_NOT_A_PASSWORD = frozenset(
    [
        "not",
        "wrong",
        "incorrect",
        "invalid",
        "blocked",
        "expired",
        "correct",
        "the",
        "a",
        "my",
        "still",
        "being",
        "too",
        "also",
        "changed",
        "reset",
        "required",
        "needed",
        "locked",
        "working",
        "entered",
        "different",
        "same",
        "missing",
        "forgotten",
        "denied",
        "rejected",
        "declined",
    ]
)
_SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str], tuple[str, ...]], ...] = (
    # (kind, pattern, literal text every match contains: lower-cased for a case-insensitive
    # pattern; a text holding none of them cannot match and the pattern is not run, since the
    # output guard scans its window at every streamed delta)
    (
        "PRIVATE_KEY",
        re.compile(
            r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----[\s\S]*?"
            r"(?:-----END (?:[A-Z]+ )*PRIVATE KEY-----|$)"
        ),
        ("-----BEGIN ",),
    ),
    ("API_KEY", re.compile(r"\bsk-(?:ant-|proj-|live-|test-)?[A-Za-z0-9_-]{20,}"), ("sk-",)),
    (
        "API_KEY",
        re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}"),
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
    ),
    ("API_KEY", re.compile(r"\bgithub_pat_[A-Za-z0-9_]{40,}"), ("github_pat_",)),
    ("API_KEY", re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), ("glpat-",)),
    ("API_KEY", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), ("AKIA", "ASIA")),
    ("API_KEY", re.compile(r"\bAIza[0-9A-Za-z_-]{35}"), ("AIza",)),
    ("API_KEY", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), ("xox",)),
    (
        "API_KEY",
        re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}"),
        ("_live_", "_test_"),
    ),
    (
        "API_KEY",
        re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
        ("eyJ",),
    ),
    (
        "API_KEY",
        re.compile(r"(?i)\bbearer\s+(?P<value>[A-Za-z0-9._~+/=-]{16,})"),
        ("bearer",),
    ),
    (
        "API_KEY",
        re.compile(
            r"(?i)\b(?:api[_ -]?key|token|secret|access[_ -]?key)(?:\s+is|\s*[:=])\s*"
            r"(?P<value>[A-Za-z0-9._~+/=-]{16,})"
        ),
        ("api", "token", "secret", "access"),
    ),
)


def find_cards(text: str) -> list[Span]:
    """Luhn-valid runs of 12-19 digits; a greedy run that fails is retried at each shorter
    group boundary ("4137 5858 4719 540 193 36 6582" holds a 15-digit card then an SSN)."""
    spans = []
    for m in _CARD.finditer(text):
        run = m.group()
        ends = [
            i + 1
            for i, ch in enumerate(run)
            if ch.isdigit() and (i + 1 == len(run) or not run[i + 1].isdigit())
        ]
        for end in sorted(ends, reverse=True):
            digits = re.sub(r"\D", "", run[:end])
            if 12 <= len(digits) <= 19 and luhn_ok(digits) and len(set(digits)) > 1:
                spans.append(Span("CARD", m.start(), m.start() + end, 1.0, "luhn"))
                break
    return spans


def find_ssns(text: str) -> list[Span]:
    spans = [Span("SSN", m.start(), m.end(), 0.9, "ssn") for m in _SSN.finditer(text)]
    if _SSN_CONTEXT.search(text):
        spans += [Span("SSN", m.start(), m.end(), 0.8, "ssn") for m in _SSN_BARE.finditer(text)]
    return spans


def find_ibans(text: str) -> list[Span]:
    spans = []
    for m in _IBAN.finditer(text):
        raw = m.group()
        # the pattern is greedy over spaced groups: trim trailing groups until the checksum holds
        for end in range(len(raw), 14, -1):
            if raw[end - 1] == " ":
                continue
            if iban_ok(raw[:end].replace(" ", "")):
                spans.append(Span("IBAN", m.start(), m.start() + end, 1.0, "mod97"))
                break
    return spans


def find_emails(text: str) -> list[Span]:
    return [Span("EMAIL", m.start(), m.end(), 1.0, "email") for m in _EMAIL.finditer(text)]


def find_phones(text: str) -> list[Span]:
    """Phone numbers of any country: "+" numbers checked against the country's number
    lengths (libphonenumber metadata), national numbers by shape (7-15 digits in groups),
    any grouping after a phone cue ("Fax: 9498777106")."""
    spans = []
    for m in _PHONE.finditer(text):
        span = _phone_span(text, m)
        if span is not None:
            spans.append(span)
    for m in _PHONE_CUED.finditer(text):
        digits = sum(ch.isdigit() for ch in m.group("num"))
        if 7 <= digits <= 18 and not _DATE_LIKE.match(m.group("num")):
            spans.append(Span("PHONE", m.start("num"), m.end("num"), 0.75, "phone-cue"))
    if spans:  # a digit run inside a card number or an IBAN is not a phone number
        taken = find_cards(text) + find_ibans(text)
        spans = [s for s in spans if not any(t.start <= s.start and s.end <= t.end for t in taken)]
    return [s for s in spans if not _NOT_PHONE_CONTEXT.search(text[max(0, s.start - 40) : s.start])]


def _phone_span(text: str, m: re.Match[str]) -> Span | None:
    raw = m.group()
    number = raw[: m.start("ext") - m.start()] if m.group("ext") else raw
    if _DATE_LIKE.match(number) or _IPV4.fullmatch(number):
        return None
    if _MONEY_BEFORE.search(text[max(0, m.start() - 5) : m.start()]) or _MONEY_AFTER.match(
        text[m.end() : m.end() + 10]
    ):
        return None
    groups = re.findall(r"\d+", number)
    if number.startswith("+"):
        return _international(raw, number, m.start())
    start = m.start()
    if len(set(map(len, groups))) == 1 and sum(map(len, groups)) > 15:
        return None  # "4111 1111 1111 1111": a card or account number, not a phone
    # A postcode run into the number ("Portugal 30971 21 253 109 8211"): after a word, drop
    # the leading group when there are too many digits.
    if (
        sum(map(len, groups)) > 15
        and len(groups) > 2
        and 4 <= len(groups[0]) <= 6
        and re.search(r"[^\W\d_][ \t]$", text[max(0, m.start() - 2) : m.start()])
    ):
        cut = number.index(groups[1], len(groups[0]))
        start += cut
        number, raw = number[cut:], raw[cut:]
        groups = groups[1:]
    digits = sum(map(len, groups))
    if not 7 <= digits <= 15 or len(groups) < 2:
        return None  # a bare run of digits is an account or order number unless cued
    if not number.startswith("(") and len(groups[0]) < 2 and all(len(g) == 3 for g in groups[1:]):
        return None  # "1 000 000" (but "6 71 23 45 67", "9 518 1234" are phones)
    if "." in number and number.count(".") < 2:
        return None  # "3.5 million", "1.2 3": dotted phones have several dots
    if max(map(len, groups)) > 5 and len(groups) > 3:
        return None
    return Span("PHONE", start, start + len(raw), 0.7, "phone")


def _international(raw: str, number: str, start: int) -> Span | None:
    """A "+" number whose length fits its country; a group too many at the end (a postcode
    or reference run into it) is dropped."""
    for _ in range(3):
        try:
            parsed = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            return None
        if phonenumbers.is_possible_number(parsed):
            return Span("PHONE", start, start + len(raw), 0.8, "phone-intl")
        cut = re.search(r"[ .-]+\(?\d+\)?$", number)
        if cut is None or raw != number:
            return None
        number = raw = number[: cut.start()]
    return None


def find_ips(text: str) -> list[Span]:
    return [Span("IP", m.start(), m.end(), 0.9, "ipv4") for m in _IPV4.finditer(text)]


def find_passwords(text: str) -> list[Span]:
    spans = []
    for m in _PASSWORD.finditer(text):
        group = "value" if m.group("value") else "pin"
        if m.group(group).lower().strip(".,!?") in _NOT_A_PASSWORD:
            continue
        spans.append(Span("PASSWORD", m.start(group), m.end(group), 0.9, "password"))
    return spans


def find_secrets(text: str) -> list[Span]:
    spans = []
    # case-insensitive needles only in ASCII text: in Unicode, IGNORECASE also equates
    # letters that str.lower() does not ("ſ" and "s")
    lowered = text.lower() if text.isascii() else None
    for kind, pattern, needles in _SECRET_PATTERNS:
        if pattern.flags & re.IGNORECASE:
            if lowered is not None and not any(n in lowered for n in needles):
                continue
        elif not any(n in text for n in needles):
            continue
        group = "value" if "value" in pattern.groupindex else 0
        spans += [
            Span(kind, m.start(group), m.end(group), 1.0, "secret") for m in pattern.finditer(text)
        ]
    return spans


#: Every pattern detector, strongest (most specific) first.
PATTERN_DETECTORS: dict[str, Detector] = {
    "secrets": find_secrets,
    "password": find_passwords,
    "email": find_emails,
    "iban": find_ibans,
    "card": find_cards,
    "ssn": find_ssns,
    "ip": find_ips,
    "phone": find_phones,
}

#: Placeholder kinds in priority order: when spans overlap the earlier kind wins.
KIND_PRIORITY: tuple[str, ...] = (
    "PRIVATE_KEY",
    "API_KEY",
    "PASSWORD",
    "EMAIL",
    "IBAN",
    "CARD",
    "SSN",
    "IP",
    "ADDRESS",
    "PHONE",
    "PERSON",
)


def resolve_overlaps(spans: list[Span]) -> list[Span]:
    """Keep non-overlapping spans: higher-priority kind first, then the longer span."""

    def rank(span: Span) -> tuple[int, int]:
        prio = KIND_PRIORITY.index(span.kind) if span.kind in KIND_PRIORITY else len(KIND_PRIORITY)
        return (prio, -(span.end - span.start))

    kept: list[Span] = []
    for span in sorted(_addresses_before_phones(spans), key=rank):
        if all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)


def _addresses_before_phones(spans: list[Span]) -> list[Span]:
    """An address ends where a phone number begins ("... Portugal 30971 21 253 109 8211"):
    a long number (10+ characters, international, or after a phone label) inside an address is
    cut off it rather than swallowed. Short runs stay: "3610-114" there is more likely a
    postcode."""
    phones = [
        s
        for s in spans
        if s.kind == "PHONE"
        and (s.end - s.start >= 10 or s.detector in ("phone-intl", "phone-cue"))
    ]
    if not phones:
        return spans
    out = []
    for span in spans:
        if span.kind == "ADDRESS":
            for p in phones:
                if span.start < p.start < span.end:
                    span = Span(span.kind, span.start, p.start, span.score, span.detector)
        out.append(span)
    return out


def apply_placeholders(text: str, spans: list[Span]) -> str:
    out: list[str] = []
    pos = 0
    for span in sorted(spans, key=lambda s: s.start):
        out.append(text[pos : span.start])
        out.append(f"[{span.kind}]")
        pos = span.end
    out.append(text[pos:])
    return "".join(out)
