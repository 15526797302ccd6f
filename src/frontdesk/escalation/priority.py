"""Who asked for a person, and how urgent their ticket is (pure).

The agent queue is served by priority, then by wait. A flood of anonymous,
content-free "talk to a human" requests must not push real customers out of
sight, so a ticket's priority adds up:

- ``VERIFIED`` (+100): the conversation was opened with an API key (an
  authenticated identity), not anonymously;
- ``SECURITY`` (+50): the conversation is about security (a hacked account,
  fraud, a leaked key) — see :data:`HIGH_TOPICS`;
- ``CONTENT`` (+10): the customer said something beyond asking for a person
  (at least :data:`CONTENT_WORDS` words of their own);
- ``REPEAT`` (−20, once): an anonymous ticket that absorbed repeats. Escalations of
  one requester (API key identity, else browser session) merge into their open
  ticket, and so do anonymous escalations from the same client address (a script
  dropping its cookies gets a new session per conversation); the first merge
  demotes the ticket, so a flood ranks below every first request.

The requester is stored by the server in the conversation's metadata under
:data:`REQUESTER_FIELD` when the conversation is created (a client cannot set
it: the API overwrites that field).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from frontdesk.escalation import phrases

REQUESTER_FIELD = "frontdesk_requester"
VERIFIED = 100
SECURITY = 50
CONTENT = 10
REPEAT = -20
HIGH_TOPICS = frozenset({"security"})
CONTENT_WORDS = 3
"""Words of their own (not in :data:`FILLER`) that make a request 'real content'."""
FILLER = frozenset(
    [
        "i",
        "im",
        "i'm",
        "me",
        "my",
        "we",
        "our",
        "you",
        "your",
        "a",
        "an",
        "the",
        "to",
        "of",
        "for",
        "and",
        "or",
        "is",
        "are",
        "am",
        "be",
        "it",
        "this",
        "that",
        "please",
        "now",
        "can",
        "could",
        "would",
        "will",
        "want",
        "need",
        "like",
        "just",
        "get",
        "let",
        "hi",
        "hello",
        "hey",
        "help",
        "thanks",
        "talk",
        "speak",
        "chat",
        "connect",
        "with",
        "someone",
        "somebody",
        "person",
        "people",
        "human",
        "agent",
        "real",
        "live",
        "operator",
        "representative",
        "staff",
        "support",
        "customer",
        "service",
        "someone's",
        "urgent",
        "asap",
    ]
)
_WORD = re.compile(r"[\w']+")


def address_key(address: str, secret: bytes) -> str:
    """A stable key of a client address, keyed with a server secret (no raw IPs are kept,
    and the key cannot be reversed by trying every address without the secret)."""
    return hmac.new(secret, f"address:{address}".encode(), hashlib.sha256).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Requester:
    """Who opened a conversation: a browser session, a client address, an API key identity."""

    session: str | None = None
    address: str | None = None
    """Already a key (:func:`address_key`), never the raw address."""
    identity: str | None = None
    """The API key id that created the conversation (authenticated), else None."""

    @property
    def verified(self) -> bool:
        return self.identity is not None

    @property
    def key(self) -> str | None:
        """What duplicate escalations merge on: identity, else session, else address."""
        if self.identity is not None:
            return f"k:{self.identity}"
        if self.session is not None:
            return f"s:{self.session}"
        if self.address is not None:
            return f"a:{self.address}"
        return None

    def as_json(self) -> dict[str, str | None]:
        return {"session": self.session, "address": self.address, "identity": self.identity}

    @classmethod
    def of(cls, metadata: Mapping[str, Any]) -> Requester:
        raw = metadata.get(REQUESTER_FIELD)
        if not isinstance(raw, Mapping):
            return cls()

        def text(name: str) -> str | None:
            value = raw.get(name)
            return value if isinstance(value, str) and value else None

        return cls(text("session"), text("address"), text("identity"))


def has_content(user_texts: Sequence[str]) -> bool:
    """The customer wrote something of their own besides asking for a person."""
    for text in user_texts:
        phrase = phrases.asks_for_human(text)
        rest = text.replace(phrase, " ") if phrase else text
        own = [w for w in _WORD.findall(rest.lower()) if w not in FILLER]
        if len(own) >= CONTENT_WORDS:
            return True
    return False


def ticket_priority(
    requester: Requester, *, topic: str | None, content: bool, repeat: bool = False
) -> int:
    score = 0
    if requester.verified:
        score += VERIFIED
    if topic in HIGH_TOPICS:
        score += SECURITY
    if content:
        score += CONTENT
    if repeat and not requester.verified:
        score += REPEAT
    return score
