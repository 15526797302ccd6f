"""What kind of answer a question expects, and whether a unit has that kind of content."""

from __future__ import annotations

import re
from typing import Literal

AnswerType = Literal[
    "amount", "duration", "yes_no", "steps", "contact", "network", "condition", "other"
]

_AMOUNT_Q = re.compile(
    r"\b(how much|price|pricing|cost|costs|fee|fees|\$|dollars?|"
    r"euros?|discount|how many|limit|limits|quota|allowance|maximum|minimum|percent)\b",
    re.IGNORECASE,
)
_DURATION_Q = re.compile(
    r"\b(how long|when|how soon|how quickly|how often|how frequent|deadline|days?|hours?|"
    r"minutes?|weeks?|months?|within|until|retention|kept|expire|expires|valid)\b",
    re.IGNORECASE,
)
_STEPS_Q = re.compile(
    r"\b(how (do|can|should) (i|we|you)|how to|steps?|set ?up|configure|enable|connect|"
    r"reset|change|add|remove|install|where (do|can) i)\b",
    re.IGNORECASE,
)
_CONTACT_Q = re.compile(
    r"\b(contact|e-?mail|reach|phone|call|talk to|write to|address|url|link|website|page)\b",
    re.IGNORECASE,
)
_CONDITION_Q = re.compile(
    r"\b(if|what happens|unless|only if|in case|eligible|allowed)\b", re.IGNORECASE
)
_YES_NO_Q = re.compile(
    r"^\s*(can|could|do|does|did|is|are|was|were|will|would|should|may|have|has)\b", re.IGNORECASE
)

_MONEY = re.compile(
    r"(\$|€|£|\b(usd|eur|gbp|dollars?|euros?)\b)\s*\d|\d[\d,.]*\s*(%|percent)", re.IGNORECASE
)
_NUMBER = re.compile(r"\d")
_DURATION = re.compile(
    r"\b\d[\d,.-]*\s*(business\s+)?(seconds?|minutes?|hours?|days?|weeks?|months?|years?)\b|"
    r"\b(daily|hourly|weekly|monthly|annually|every)\b",
    re.IGNORECASE,
)
_CONTACT = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+|https?://|\b(settings|chat|phone)\b", re.IGNORECASE)
_NETWORK_Q = re.compile(
    r"\b(ip|ips|ip address(es)?|ip ranges?|cidr|allow ?list|whitelist|firewall|egress)\b",
    re.IGNORECASE,
)
_IP = re.compile(
    r"\b\d{1,3}(?:\.\d{1,3}){3}(?:/\d{1,2})?\b|\b[0-9a-f]{1,4}(?::[0-9a-f]{0,4}){2,7}\b"
)
_CONDITION = re.compile(
    r"\b(if|within|after|unless|except|only|when|before|until)\b", re.IGNORECASE
)


_LEADING_IF = re.compile(
    r"^\s*(?:if|in case|once)\b[^,?]{3,}?,\s*(?=(?:how|what|when|where|which|who|why|will|would|"
    r"do|does|did|can|could|is|are|should|shall)\b)",
    re.IGNORECASE,
)
"""A leading condition ("If I downgrade, when does it apply?"): the main clause asks."""
_WHEN_TEXT = re.compile(
    r"\b(?:immediately|right away|at once|at the (?:end|start|beginning) of|once you|"
    r"as soon as|from the next|next (?:billing|charge|invoice|month|run)|until|before|after)\b",
    re.IGNORECASE,
)


def answer_type(question: str) -> AnswerType:
    main = _LEADING_IF.sub("", question)
    if main != question:
        typed = answer_type(main)  # "If I downgrade, when does it apply?": a time
        if typed not in ("condition", "yes_no", "other"):
            return typed
    if re.search(r"\bhow (long|soon|quickly|often)\b", question, re.IGNORECASE):
        return "duration"
    if _STEPS_Q.search(question) and not _AMOUNT_Q.search(question):
        return "steps"
    if _AMOUNT_Q.search(question):
        return "amount"
    if re.search(r"\bhow long|how soon|how quickly|how often\b", question, re.IGNORECASE):
        return "duration"
    if _NETWORK_Q.search(question):
        return "network"
    if _CONTACT_Q.search(question):
        return "contact"
    if _YES_NO_Q.search(question):
        return "yes_no"
    if _CONDITION_Q.search(question):
        return "condition"
    if _DURATION_Q.search(question):
        return "duration"
    return "other"


def type_match(kind: AnswerType, text: str, unit_kind: str) -> float:
    """How well a unit's content fits the expected answer type (0..1)."""
    if kind == "amount":
        return 1.0 if _MONEY.search(text) else 0.5 if _NUMBER.search(text) else 0.0
    if kind == "duration":
        return 1.0 if _DURATION.search(text) else 0.6 if _WHEN_TEXT.search(text) else 0.0
    if kind == "steps":
        return (
            1.0
            if unit_kind == "steps"
            else 0.3
            if re.search(r"\bgo to|click|open|settings\b", text, re.IGNORECASE)
            else 0.0
        )
    if kind == "contact":
        return 1.0 if _CONTACT.search(text) else 0.0
    if kind == "network":
        return 1.0 if _IP.search(text) else 0.0
    if kind == "condition":
        return 1.0 if _CONDITION.search(text) else 0.0
    return 0.0
