"""How a replayed answer differs from the stored one: a unified diff of the text and the
fields that changed (model, citations, verdicts, usage, cost)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from frontdesk.domain import Citation, Usage


@dataclass(frozen=True, slots=True)
class Answer:
    """One answer to compare: the stored one or its replay."""

    content: str
    provider: str
    model: str
    citations: list[Citation] = field(default_factory=list)
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    """The stages a replay re-runs (output guard, answer composition)."""
    usage: Usage = field(default_factory=Usage)
    cost: Decimal = Decimal(0)
    status: str = "complete"
    finish_reason: str = ""

    def fields(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "model": self.model,
            "status": self.status,
            "citations": [f"[{c.index}] {c.chunk_id}" for c in self.citations],
            "verdicts": [_verdict_key(v) for v in self.verdicts],
            "usage": {
                "input_tokens": self.usage.input_tokens,
                "output_tokens": self.usage.output_tokens,
            },
            "cost": f"{self.cost:.8f}",  # stored costs carry 8 decimals
        }


def _verdict_key(verdict: dict[str, Any]) -> str:
    parts = [str(verdict.get(k, "")) for k in ("stage", "check", "action", "reason")]
    return ":".join(parts)


@dataclass(frozen=True, slots=True)
class Comparison:
    stored: Answer
    replayed: Answer

    @property
    def same_text(self) -> bool:
        return self.stored.content == self.replayed.content

    @property
    def changed(self) -> dict[str, dict[str, Any]]:
        """Each field that differs: ``{"stored": ..., "replayed": ...}``."""
        before, after = self.stored.fields(), self.replayed.fields()
        return {
            k: {"stored": before[k], "replayed": after[k]} for k in before if before[k] != after[k]
        }

    def text_diff(self) -> str:
        lines = difflib.unified_diff(
            self.stored.content.splitlines(keepends=True),
            self.replayed.content.splitlines(keepends=True),
            fromfile="stored",
            tofile="replayed",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
