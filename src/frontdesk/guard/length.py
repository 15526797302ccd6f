"""Input check: empty and over-long messages."""

from __future__ import annotations

from frontdesk.guard.base import GuardContext, Verdict, allow


class LengthCheck:
    def __init__(self, *, max_chars: int = 4000, name: str = "length") -> None:
        if max_chars < 1:
            raise ValueError("max_chars must be positive")
        self._max = max_chars
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    def check(self, text: str, context: GuardContext) -> Verdict:
        del context
        if not text.strip():
            return Verdict(
                check=self._name,
                action="block",
                reason="empty",
                text=text,
                message="Your message is empty. Please type your question.",
            )
        if len(text) > self._max:
            return Verdict(
                check=self._name,
                action="block",
                reason="too_long",
                text=text[: self._max],
                message=(
                    f"Your message is {len(text):,} characters long; the limit is "
                    f"{self._max:,}. Please shorten it or split it into several messages."
                ),
            )
        return allow(self._name, text)
