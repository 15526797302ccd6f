"""Questions that depend on the conversation.

A follow-up ("And if I pay for a whole year?", "What about Europe?") means little on its
own: :func:`standalone` pairs it with the customer's previous question so retrieval and the
answer composer see both. :func:`recall_fact` answers questions about what the customer
said earlier ("Which plan did I say I'm on?") from the conversation instead of the
documents. Both are deterministic: no model call. With a vendor model serving, a
:class:`QuestionRewriter` (``frontdesk.chat.rewrite``) may then put the follow-up in full.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from frontdesk.answer.paraphrase import search_terms
from frontdesk.domain import ChatMessage, StoredMessage

_FOLLOW_UP_START = re.compile(
    r"^\s*(and|also|but|so|what about|how about|what if|and if|and what|and how|"
    r"same for|same question|then|ok(ay)?,? (and|what|how)|is that|does that|can i also|"
    r"what else|in that case)\b",
    re.IGNORECASE,
)
CONTEXT_MAX_WORDS = 25
_ANAPHORA = re.compile(r"\b(it|that|this|those|these|they|them)\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z0-9][\w'-]*")

_RECALL = re.compile(
    r"\b(what(?:'s| is| was)? my|which \w+(?: \w+)? (?:am i|do i|did i|have i)|"
    r"what \w+(?: \w+)? (?:am i|do i have|did i (?:say|tell|mention|give))|"
    r"did i (?:say|tell|mention)|do you remember|remind me (?:what|which)|"
    r"what did i (?:say|tell|mention|write))\b",
    re.IGNORECASE,
)
_FIRST_PERSON = re.compile(r"\b(i|i'm|im|my|mine|we|we're|our|me)\b", re.IGNORECASE)
_STOP = frozenset(
    [
        "a",
        "an",
        "the",
        "is",
        "are",
        "was",
        "were",
        "am",
        "i",
        "my",
        "me",
        "we",
        "our",
        "you",
        "your",
        "do",
        "did",
        "does",
        "what",
        "which",
        "who",
        "how",
        "when",
        "where",
        "why",
        "to",
        "of",
        "in",
        "on",
        "for",
        "with",
        "and",
        "or",
        "it",
        "that",
        "this",
        "be",
        "have",
        "has",
        "had",
        "say",
        "said",
        "tell",
        "told",
        "mention",
        "mentioned",
        "remember",
        "remind",
        "please",
        "can",
        "could",
        "would",
        "will",
    ]
)


@dataclass(frozen=True, slots=True)
class Question:
    """The customer's question, and the earlier one it depends on (if any)."""

    text: str
    previous: str | None = None
    rewritten: str | None = None
    """The follow-up in full, as the model rewrote it (see :mod:`frontdesk.chat.rewrite`)."""

    @property
    def search_text(self) -> str:
        """What retrieval searches for: the model's standalone question, else the follow-up
        together with the question it follows; and the documents' words for what it asks
        in other words ("get the rest back": "refund")."""
        if self.rewritten:
            text = asked = self.rewritten
        else:
            text = f"{self.previous}\n{self.text}" if self.previous else self.text
            asked = self.text
        terms = search_terms(asked)
        return f"{text}\n({', '.join(terms)})" if terms else text


class QuestionRewriter(Protocol):
    """Makes a follow-up standalone with a model; the question unchanged when it cannot."""

    async def rewrite(
        self, question: Question, earlier: Sequence[ChatMessage | StoredMessage]
    ) -> Question: ...


def is_follow_up(question: str, *, max_words: int) -> bool:
    words = _WORD.findall(question)
    if _FOLLOW_UP_START.match(question):
        return True
    return (len(words) <= max_words and bool(_ANAPHORA.search(question))) or len(words) <= 3


def standalone(
    question: str, earlier: Sequence[ChatMessage | StoredMessage], *, max_words: int = 9
) -> Question:
    """The question paired with the previous customer message when it is a follow-up, or
    when that message told us something about the customer ("Our workspace is in the EU
    region." then "Which IP addresses should our firewall allow?")."""
    if max_words <= 0:
        return Question(question)
    previous = next((m.content for m in reversed(earlier) if m.role == "user"), None)
    if previous is None:
        return Question(question)
    if is_follow_up(question, max_words=max_words) or is_context(previous):
        return Question(question, previous)
    return Question(question)


def is_context(message: str) -> bool:
    """A short statement about the customer's own situation, not a question."""
    words = _WORD.findall(message)
    return (
        "?" not in message
        and 3 <= len(words) <= CONTEXT_MAX_WORDS
        and bool(_FIRST_PERSON.search(message))
        and not _RECALL.search(message)
    )


@dataclass(frozen=True, slots=True)
class RecalledFact:
    quote: str
    """The customer's own earlier sentence that answers the question."""


def recall_fact(
    question: str, earlier: Sequence[ChatMessage | StoredMessage]
) -> RecalledFact | None:
    """An earlier sentence of the customer's that answers a question about themselves."""
    if not _RECALL.search(question):
        return None
    wanted = _content(question)
    if not wanted:
        return None
    best: tuple[int, str] | None = None
    for message in reversed(earlier):
        if message.role != "user":
            continue
        for sentence in re.split(r"(?<=[.!?])\s+|\n+", message.content):
            if not _FIRST_PERSON.search(sentence) or _RECALL.search(sentence):
                continue
            overlap = len(wanted & _content(sentence))
            if overlap and (best is None or overlap > best[0]):
                best = (overlap, sentence.strip())
    return RecalledFact(best[1]) if best else None


def _content(text: str) -> set[str]:
    return {_stem(w.lower()) for w in _WORD.findall(text) if w.lower() not in _STOP}


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def recalled_answer(fact: RecalledFact) -> str:
    return f"Earlier in this conversation you told me: “{fact.quote}”"
