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

Vectors = npt.NDArray[np.float32]

_PERSONAL = re.compile(r"\b(i|i'm|im|i've|me|my|mine|we|we're|we've|our|ours|us)\b", re.IGNORECASE)
_REQUEST = re.compile(
    r"^\s*(?:please\s+|can you\s+|could you\s+|would you\s+|pls\s+)?"
    r"(open|file|create|raise|log|submit|start|resend|re-send|send|email|show|check|look up|"
    r"lookup|tell me|get me|give me|pull up|what's|whats)\b",
    re.IGNORECASE,
)
_HOW_TO = re.compile(
    r"^\s*(?:hi|hello|hey)?[\s,!]*(how (?:do|can|should|would|could) (?:i|we|you)|"
    r"(?:can|could|may|should|do|does) (?:i|we)\b(?! see| check| get my| know)|"
    r"is it possible|what happens|what if|where (?:do|can) (?:i|we)|why (?:do|does|is|are))",
    re.IGNORECASE,
)


class SyncEmbedder(Protocol):
    def embed_sync(self, texts: Sequence[str], kind: str = "document") -> Vectors: ...


def personal_request(text: str) -> bool:
    """The rule half: about the customer's own account, or asking for something done,
    and not a how-to question."""
    if _HOW_TO.search(text):
        return False
    return bool(_PERSONAL.search(text) or _REQUEST.search(text))


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
        texts: list[str] = []
        owners: list[int] = []
        for i, action in enumerate(self._actions):
            for text in [action.description, *action.examples]:
                texts.append(text)
                owners.append(i)
        self._owners = np.array(owners, dtype=np.int64)
        self._vectors = embedder.embed_sync(texts, "document") if texts else None

    def scores(self, text: str) -> dict[str, float]:
        """Each action's best similarity to ``text`` (no rules applied)."""
        if self._vectors is None or not self._actions:
            return {}
        query = self.embedder.embed_sync([text], "query")[0]
        sims = self._vectors @ query
        best = np.full(len(self._actions), -1.0, dtype=np.float32)
        np.maximum.at(best, self._owners, sims)
        return {a.name: float(best[i]) for i, a in enumerate(self._actions)}

    def route(self, text: str) -> Routed | None:
        if not personal_request(text):
            return None
        scores = self.scores(text)
        if not scores:
            return None
        name = max(scores, key=lambda n: scores[n])
        if scores[name] < self.threshold:
            return None
        action = next(a for a in self._actions if a.name == name)
        return Routed(action, scores[name])
