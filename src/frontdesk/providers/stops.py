"""Stop-sequence detection over streamed text, without leaking a stop's prefix."""

from __future__ import annotations

from collections.abc import Sequence


class StopScanner:
    """Feed text pieces; get back what is safe to show and whether a stop matched.

    Text that could be the start of a stop sequence is held back until the next
    piece decides it; ``flush`` releases it when the stream ends otherwise.
    """

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = tuple(s for s in stops if s)
        self._held = ""

    def feed(self, piece: str) -> tuple[str, bool]:
        if not self._stops:
            return piece, False
        text = self._held + piece
        cut = min((i for i in (text.find(s) for s in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            self._held = ""
            return text[:cut], True
        keep = self._longest_pending_prefix(text)
        self._held = text[len(text) - keep :] if keep else ""
        return text[: len(text) - keep], False

    def flush(self) -> str:
        held, self._held = self._held, ""
        return held

    def _longest_pending_prefix(self, text: str) -> int:
        best = 0
        for stop in self._stops:
            for size in range(min(len(stop) - 1, len(text)), best, -1):
                if text.endswith(stop[:size]):
                    best = size
                    break
        return best
