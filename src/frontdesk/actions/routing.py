"""Deterministic action routing for the embedded model (which cannot call tools).

A question goes to an action when a rule says it is about the customer's own account or asks
the bot to do something (first person: "which plan am *I* on", "resend *my* invoice"; or a
request verb: "open a ticket") and is not a how-to question ("how do I reset my password"),
and its embedding is close enough to the action's description and examples
(``actions.route_threshold``, fitted on ``eval/actions/routing.jsonl``:
``benchmarks/action_routing.py``). Everything else is answered from the documents.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import numpy.typing as npt

from frontdesk.actions.config import ActionConfig
from frontdesk.knowledge.embedding import EmbedKind

Vectors = npt.NDArray[np.float32]

_PERSONAL = re.compile(r"\b(i|i'm|im|i've|me|my|mine|we|we're|we've|our|ours|us)\b", re.IGNORECASE)
_ASKS = re.compile(
    r"\?|^\s*(?:hi|hello|hey)?[\s,!]*(what|which|when|since|how many|how much of|how close|"
    r"show|tell|check|look|are|is|did|have|has|was|were|am)\b",
    re.IGNORECASE,
)
_REQUEST = re.compile(
    r"\b((?:open|file|create|raise|log|submit|resend|re-send|send|email|forward)(?:ed|d|s)?|"
    r"sent|resent|check|show|look up|lookup|tell me|pull up)\b",
    re.IGNORECASE,
)
_MONEY = re.compile(
    r"\b(charged?|charges|costs?|price|pricing|refunds?|refunded|paid back|pay back|discount)\b",
    re.IGNORECASE,
)
REQUEST_BONUS = 0.1
"""Added to the similarity when the message asks for something done ("open a ticket")."""
_CAN_YOU = re.compile(r"\b(can|could|would|will) you (please )?(?P<verb>[\w-]+)", re.IGNORECASE)
_POLICY = re.compile(
    r"^\s*(?:hi|hello|hey)?[\s,!]*(how (?:do|does|can|should|would|could|long|often|are|is)\b|"
    r"why\b|if\b|what happens|what if|what's the difference|what is the difference|"
    r"where (?:do|can|is|are)\b|is it possible|(?:do|does) (?!i\b|we\b)|"
    r"(?:do|does) (?:i|we) (?:need|have to|get)\b|how much (?:is|are|does|do|will|would)\b)"
    r"|\b(?:can|could|should|would|will|may|might|must) (?:i|we|my|our|the|a)\b"
    r"|\bif (?:i|we)\b",
    re.IGNORECASE,
)


class SyncEmbedder(Protocol):
    def embed_sync(self, texts: Sequence[str], kind: EmbedKind = "document") -> Vectors: ...


def personal_request(text: str) -> bool:
    """The rule half: the message asks about the customer's own account, or asks the bot to do
    something; not a how-to, policy or what-if question, and not a statement."""
    can_you = _CAN_YOU.search(text)
    if can_you is not None and not _REQUEST.fullmatch(can_you.group("verb")):
        return False  # "can you reissue ... with our new address": not something we do
    if (can_you is None and _POLICY.search(text)) or _MONEY.search(text):
        return False
    if _REQUEST.search(text):
        return True
    return bool(_PERSONAL.search(text) and _ASKS.search(text))


@dataclass(frozen=True, slots=True)
class Routed:
    action: ActionConfig
    score: float
    """Cosine similarity of the question to the action's closest example."""


class ActionRouter:
    def __init__(
        self,
        embedder: SyncEmbedder,
        actions: Mapping[str, ActionConfig],
        *,
        threshold: float,
    ) -> None:
        self.embedder = embedder
        self.threshold = threshold
        self._actions = list(actions.values())
        self._by_name = dict(actions)
        texts: list[str] = []
        owners: list[int] = []
        for i, action in enumerate(self._actions):
            for text in [action.description, *action.examples]:
                texts.append(text)
                owners.append(i)
        self._owners = np.array(owners, dtype=np.int64)
        self._vectors = embedder.embed_sync(texts, "document") if texts else None

    def scores(self, text: str) -> dict[str, float]:
        """Each action's best similarity to ``text``, plus :data:`REQUEST_BONUS` when the
        message asks for something done (no other rule applied)."""
        if self._vectors is None or not self._actions:
            return {}
        query = self.embedder.embed_sync([text], "query")[0]
        sims = self._vectors @ query
        best = np.full(len(self._actions), -1.0, dtype=np.float32)
        np.maximum.at(best, self._owners, sims)
        bonus = REQUEST_BONUS if _REQUEST.search(text) else 0.0
        return {a.name: float(best[i]) + bonus for i, a in enumerate(self._actions)}

    def mentions(self, name: str, text: str) -> bool:
        return self._by_name[name].mentions(text)

    def route(self, text: str) -> Routed | None:
        if not personal_request(text):
            return None
        scores = {n: v for n, v in self.scores(text).items() if self._by_name[n].mentions(text)}
        if not scores:
            return None
        name = max(scores, key=lambda n: scores[n])
        if scores[name] < self.threshold:
            return None
        return Routed(self._by_name[name], scores[name])
