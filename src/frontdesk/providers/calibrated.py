"""Token estimates reconciled with the usage a vendor reports.

Anthropic and Gemini publish no offline tokenizer, so their prompts are counted
with an estimate (``tokens.EstimatingTokenCounter``: ``o200k_base`` plus a margin).
After each call the vendor reports the real input tokens; this counter keeps a
moving correction ratio (reported / estimated) and scales later estimates by it,
so counts converge on the vendor's tokenizer for the traffic actually seen. It
remains an estimate (``exact = False``); the billed numbers always come from the
vendor's usage report.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from frontdesk.domain import ChatMessage
from frontdesk.providers.base import TokenCounter


class CalibratedTokenCounter:
    exact = False

    def __init__(
        self,
        base: TokenCounter,
        *,
        weight: float = 0.2,
        min_ratio: float = 0.5,
        max_ratio: float = 2.0,
    ) -> None:
        if not 0 < weight <= 1:
            raise ValueError("weight must be in (0, 1]")
        self._base = base
        self._weight = weight
        self._min = min_ratio
        self._max = max_ratio
        self._ratio = 1.0
        self.observations = 0

    @property
    def ratio(self) -> float:
        return self._ratio

    def count(self, text: str) -> int:
        return math.ceil(self._base.count(text) * self._ratio)

    def count_messages(self, messages: Sequence[ChatMessage]) -> int:
        return math.ceil(self._base.count_messages(messages) * self._ratio)

    def raw_estimate(self, messages: Sequence[ChatMessage]) -> int:
        """The uncorrected estimate, to pair with a reported count in :meth:`reconcile`."""
        return self._base.count_messages(messages)

    def reconcile(self, estimated: int, reported: int) -> None:
        """Fold one (raw estimate, vendor-reported input tokens) pair into the ratio."""
        if estimated <= 0 or reported <= 0:
            return
        observed = min(self._max, max(self._min, reported / estimated))
        if self.observations == 0:
            self._ratio = observed
        else:
            self._ratio += self._weight * (observed - self._ratio)
        self.observations += 1
