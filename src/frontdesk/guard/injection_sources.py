"""Indirect injection at the point documents enter a prompt: retrieved passages (from the
knowledge base, including uploaded documents) are screened by the document model before the
model or the extractive composer sees them; passages carrying hidden instructions are kept
out.

Scores are cached by the passage text's hash (a passage is retrieved again and again), so a
turn pays for the model only on passages it has not seen.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from frontdesk.guard.injection import InjectionDetector, InjectionScore


@dataclass(frozen=True, slots=True)
class Screened:
    """Which passages were flagged as hidden instructions, and their scores."""

    flagged: tuple[bool, ...]
    scores: tuple[float | None, ...]
    rules: tuple[tuple[str, ...], ...]

    @property
    def any(self) -> bool:
        return any(self.flagged)

    def record(self, ids: Sequence[str]) -> dict[str, object]:
        """The turn's verdict record (passage ids, never their text)."""
        dropped = [i for i, f in zip(ids, self.flagged, strict=True) if f]
        return {
            "stage": "retrieval",
            "check": "injection_sources",
            "action": "drop" if dropped else "allow",
            "reason": "hidden_instructions" if dropped else "",
            "dropped": dropped,
            "scores": [None if s is None else round(s, 4) for s in self.scores],
        }


class SourceScreen:
    """Flags passages that carry instructions aimed at the model (thread-safe LRU cache)."""

    def __init__(self, detector: InjectionDetector, *, cache_size: int = 4096) -> None:
        if cache_size < 0:
            raise ValueError("cache_size must be >= 0")
        self._detector = detector
        self._cache: OrderedDict[bytes, InjectionScore] = OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()

    def screen(self, texts: Sequence[str]) -> Screened:
        keys = [hashlib.blake2b(t.encode(), digest_size=16).digest() for t in texts]
        found: dict[bytes, InjectionScore] = {}
        with self._lock:
            for key in keys:
                hit = self._cache.get(key)
                if hit is not None:
                    self._cache.move_to_end(key)
                    found[key] = hit
        todo = {k: t for k, t in zip(keys, texts, strict=True) if k not in found}
        if todo:
            fresh = self._detector.score_documents(list(todo.values()))
            found.update(zip(todo, fresh, strict=True))
            with self._lock:
                for key in todo:
                    self._cache[key] = found[key]
                while len(self._cache) > self._size:
                    self._cache.popitem(last=False)
        scores = [found[k] for k in keys]
        return Screened(
            tuple(s.flagged for s in scores),
            tuple(s.probability for s in scores),
            tuple(tuple(h.rule for h in s.rules) for s in scores),
        )
