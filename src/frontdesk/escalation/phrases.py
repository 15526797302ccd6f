"""Phrase patterns behind the escalation policy (English and German).

Kept apart from the decision logic so they can be measured on real customer
messages (``tests/escalation/test_policy_banking77.py``).
"""

from __future__ import annotations

import re

_HUMAN_NOUN = (
    r"(?:(?:real|live|actual|human|proper|customer[- ]service|support|service)\s+)?"
    r"(?:human(?:\s+being)?|person|agent|representative|rep|operator|someone|somebody|"
    r"staff(?:\s+member)?|employee|manager|supervisor|advisor|adviser|"
    r"customer\s+service|customer\s+support|support\s+team|live\s+chat)"
)
_ARTICLE = r"(?:(?:a|an|the|one|some|your|of\s+your|with\s+a|to\s+a)\s+)?"

_HUMAN_EN = [
    # "talk to a person", "speak with someone", "chat with a real human"
    rf"\b(?:talk|speak|chat)(?:ing)?\s+(?:to|with)\s+{_ARTICLE}{_HUMAN_NOUN}\b",
    # "connect / transfer / put me through to an agent"
    rf"\b(?:connect|transfer|put)\s+me\s+(?:through\s+)?(?:to|with)\s+{_ARTICLE}{_HUMAN_NOUN}\b",
    # "I want / need / would like a human", "can I get an agent", "give me a person"
    r"\b(?:want|need|like|get(?:\s+me)?|have|give\s+me|prefer)\s+(?:to\s+(?:talk|speak)\s+to\s+)?"
    r"(?:a|an|some|your)\s+(?:real\s+|live\s+|actual\s+)?"
    r"(?:human|person|agent|representative|operator|manager|supervisor)\b"
    r"(?!\s+(?:role|permission|access|account|seat|level|right|view|dashboard)s?\b)",
    r"\breal\s+(?:human|person)\b",
    r"\blive\s+(?:agent|person|human|representative|operator)\b",
    r"\bhuman\s+(?:agent|support|being|representative|help)\b",
    r"\b(?:agent|human|representative|operator|person)[,.!\s]*(?:please|pls|plz|now)\b",
    r"\bis\s+(?:there|this)\s+(?:a\s+)?(?:real\s+)?(?:human|person)\b",
    r"\bare\s+you\s+(?:a\s+)?(?:real\s+)?(?:human|person)\b.*\b(?:talk|speak|want|need)\b",
    r"\bescalate\s+(?:this|my|it|me)\b",
    r"^\s*(?:a\s+)?(?:human|agent|representative|operator|real\s+person|"
    r"customer\s+(?:service|support))\s*(?:please|pls|plz)?\s*[.!?]*\s*$",
    r"\bnot\s+(?:a\s+)?(?:bot|robot|machine|chatbot)\b",
    r"\b(?:stop|no\s+more)\s+(?:the\s+)?(?:bot|robot|chatbot)\b",
]
_HUMAN_DE = [
    r"\bmitarbeiter(?:in|innen)?\b",
    r"\b(?:mit\s+)?(?:einem|einer|nem)\s+(?:echten\s+|richtigen\s+)?menschen\b",
    r"\becht(?:en|er)\s+mensch(?:en)?\b",
    r"\b(?:kundenservice|kundendienst|support)\s+(?:sprechen|anrufen|kontaktieren)\b",
    r"\bmit\s+(?:jemandem|wem)\s+(?:sprechen|reden)\b",
    r"\bberater(?:in)?\b.*\bsprechen\b",
]
_NEGATED = re.compile(
    r"\b(?:do|would|will|must|should)\s+i\s+(?:have|need)\s+to\s+(?:talk|speak)\b|"
    r"\b(?:don'?t|do\s+not|no\s+need\s+to|never|not|kein(?:en)?|nicht)\s+"
    r"(?:\w+\s+){0,3}?(?:talk|speak|want|need|mit)\b",
    re.IGNORECASE,
)

_CLAUSE_BREAK = re.compile(r"[.,;:!?]|\s(?:but|aber|just|I\s+want|ich\s+will)\s", re.IGNORECASE)

HUMAN_REQUEST = re.compile("|".join(_HUMAN_EN + _HUMAN_DE), re.IGNORECASE)

# --- frustration -----------------------------------------------------------

STRONG_NEGATIVE = re.compile(
    r"\b(?:useless|pointless|ridiculous|unacceptable|outrageous|pathetic|"
    r"worst|terrible|horrible|awful|disgusting|furious|livid|fed\s+up|sick\s+of|"
    r"waste\s+of\s+(?:my\s+)?time|you(?:'re|\s+are)\s+not\s+(?:helping|listening)|"
    r"(?:not|isn'?t|doesn'?t)\s+help(?:ing|ful)?\s+at\s+all|stupid|idiot(?:ic)?|"
    r"scam|fraudsters?|f+u+c+k\w*|shit\w*|crap|wtf|damn|bloody|"
    r"nutzlos|unverschämt|frechheit|katastrophe|scheiße|scheisse|"
    r"(?:i|we)\s+(?:will|am\s+going\s+to)\s+(?:cancel|leave|close\s+my\s+account))",
    re.IGNORECASE,
)
MILD_NEGATIVE = re.compile(
    r"\b(?:frustrat\w*|annoy\w*|angry|upset|disappoint\w*|again\?|still\s+(?:not|no)\b|"
    r"already\s+(?:told|said|asked)|third\s+time|second\s+time|nobody|no\s+one\s+(?:is\s+)?"
    r"help\w*|ärgerlich|enttäuscht)\b",
    re.IGNORECASE,
)

# --- topics that must go to a team -----------------------------------------
# Only requests a person has to act on; a general question about prices or
# security settings is answered by the bot.

TOPIC_PATTERNS: dict[str, re.Pattern[str]] = {
    # a request for a refund (a person decides); "how do refunds work?" is answered
    "refunds": re.compile(
        r"\b(?:(?:i\s+(?:want|need|demand|expect|would\s+like)|i'?d\s+like|"
        r"(?:please\s+)?(?:give|issue|process|send)\s+(?:me\s+)?)\s+(?:a\s+|my\s+|the\s+)?"
        r"(?:full\s+)?refund|refund\s+me|(?:want|need)\s+my\s+money\s+back|"
        r"request(?:ing)?\s+a\s+refund|where\s+is\s+my\s+refund|"
        r"(?:haven'?t|have\s+not|never)\s+(?:received|got(?:ten)?)\s+(?:my\s+|the\s+)?refund|"
        r"chargeback|charge\s*back|rückerstattung\s+(?:beantragen|bitte)|"
        r"(?:will|möchte|will)\s+(?:mein\s+)?geld\s+zurück)\b",
        re.IGNORECASE,
    ),
    "security": re.compile(
        r"\b(?:hack(?:ed|er|ers)?|breach(?:ed)?|compromised|vulnerabilit(?:y|ies)|"
        r"unauthori[sz]ed\s+(?:access|login|payment|transaction|charge)s?|phishing|"
        r"stolen\s+(?:password|credentials|account|api\s+key)|account\s+takeover|"
        r"data\s+leak|gehackt|sicherheitslücke)\b",
        re.IGNORECASE,
    ),
    "legal": re.compile(
        r"\b(?:lawyer|attorney|solicitor|lawsuit|sue\s+(?:you|your)|legal\s+(?:action|"
        r"department|team|notice)|court|subpoena|gdpr\s+(?:request|complaint)|"
        r"data\s+subject\s+(?:access\s+)?request|dsar|right\s+to\s+(?:be\s+forgotten|erasure)|"
        r"anwalt|klage|rechtlich\w*)\b",
        re.IGNORECASE,
    ),
    "billing": re.compile(
        r"\b(?:(?:charged|billed)\s+(?:me\s+)?(?:twice|double|two\s+times|wrong\w*|"
        r"incorrect\w*|too\s+much)|double\s+(?:charge|charged|billing|billed)|"
        r"wrong\s+(?:invoice|charge|amount\s+(?:charged|billed))|"
        r"(?:invoice|bill)\s+is\s+(?:wrong|incorrect)|dispute\s+(?:a|the|this)\s+"
        r"(?:charge|invoice|payment)|cancel\s+my\s+(?:subscription|plan|account)|"
        r"falsche\s+rechnung|doppelt\s+(?:abgebucht|berechnet))\b",
        re.IGNORECASE,
    ),
}
# A question about the company's security practice ("How quickly would you tell us about a
# breach?", "How fast do you patch vulnerabilities?") is answered from the documents; a report
# of something that happened, or a request to act ("I think we were hacked", "I found a
# vulnerability", "someone posted our key"), goes to the security team.
_PRACTICE_QUESTION = re.compile(
    r"^\W*(?:how\s+(?:quickly|fast|soon|long|often|do\s+you|would\s+you|will\s+you)|"
    r"what\s+(?:is|are|'s)\s+(?:your|the)|(?:do|does|will|would|can|did)\s+(?:you|northwind|"
    r"your\s+(?:company|team|service))|when\s+(?:do|would|will)\s+you|are\s+you|is\s+there)\b",
    re.IGNORECASE,
)
_INCIDENT = re.compile(
    r"\b(?:i|we|i'?ve|we'?ve|i'?m|we'?re|my|our|someone|somebody)\b.*\b(?:hack(?:ed)?|"
    r"breach(?:ed)?|compromised|found|leak(?:ed)?|stolen|posted|exposed|phish\w*|"
    r"unauthori[sz]ed|vulnerabilit(?:y|ies))\b|\b(?:was|were|been|got|is|are)\s+"
    r"(?:hacked|breached|compromised|leaked|stolen|exposed)\b",
    re.IGNORECASE,
)


def asks_about_practice(text: str) -> bool:
    """True when ``text`` asks how the company handles security, reporting no incident."""
    return bool(_PRACTICE_QUESTION.search(text)) and not _INCIDENT.search(text)


TOPIC_ORDER = ("security", "legal", "refunds", "billing")
"""When several topics match, the first in this order wins (most urgent first)."""

FALLBACK_CONTACT = {"refunds": "billing", "legal": "legal"}
"""A topic without its own contact goes to this contact key when configured."""

NO_ANSWER = re.compile(
    r"\b(?:i\s+couldn'?t\s+find\s+(?:that|this|anything)|i\s+(?:don'?t|do\s+not)\s+know|"
    r"i'?m\s+not\s+sure|i\s+am\s+not\s+sure|i\s+(?:can(?:no|')t|am\s+unable\s+to)\s+help|"
    r"no\s+information\s+(?:about|on))\b",
    re.IGNORECASE,
)


def normalise(text: str) -> str:
    return re.sub(r"[\W_]+", " ", text.lower()).strip()


def asks_for_human(text: str) -> str | None:
    """The matched phrase when ``text`` asks for a person, else None."""
    match = HUMAN_REQUEST.search(text)
    if match is None:
        return None
    clause_start = max((m.end() for m in _CLAUSE_BREAK.finditer(text, 0, match.start())), default=0)
    clause = text[clause_start : match.end()]
    if _NEGATED.search(clause) and not re.search(r"\b(?:bot|robot|machine)\b", match.group(0)):
        return None
    return match.group(0)


def topic_of(text: str) -> str | None:
    for topic in TOPIC_ORDER:
        if TOPIC_PATTERNS[topic].search(text):
            if topic == "security" and asks_about_practice(text):
                continue
            return topic
    return None


def negativity(text: str) -> int:
    """0 for neutral text; 2 per strong, 1 per mild negative phrase; shouting adds 1."""
    score = 2 * len(STRONG_NEGATIVE.findall(text)) + len(MILD_NEGATIVE.findall(text))
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 12 and sum(c.isupper() for c in letters) / len(letters) > 0.7:
        score += 1
    if "!!!" in text or "???" in text:
        score += 1
    return score
