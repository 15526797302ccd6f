"""What the customer saw in one turn, rebuilt from the native API's SSE events."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

HANDOFF_NOTICES = frozenset({"handoff_escalated", "handoff_waiting", "handoff_with_agent"})


@dataclass
class SeenCitation:
    title: str
    url: str
    document_id: str
    section: str = ""
    snippet: str = ""
    chunk_id: str = ""

    def to_json(self) -> dict[str, str]:
        return {
            "chunk_id": self.chunk_id,
            "title": self.title,
            "url": self.url,
            "document_id": self.document_id,
            "section": self.section,
            "snippet": self.snippet,
        }


@dataclass
class TurnObservation:
    """One streamed answer: final text, what was withdrawn, flags, and timings."""

    shown: str = ""
    answer: str = ""
    retractions: int = 0
    notices: list[str] = field(default_factory=list)
    citations: list[SeenCitation] = field(default_factory=list)
    escalated: bool = False
    escalation_reason: str = ""
    done: dict[str, Any] = field(default_factory=dict)
    error: dict[str, Any] | None = None
    message_id: str = ""
    ttft_ms: float | None = None
    total_ms: float = 0.0

    def feed(self, event: str, data: dict[str, Any], at_ms: float) -> None:
        """Apply one event received ``at_ms`` after the request was sent."""
        if event == "start":
            self.message_id = str(data.get("message_id") or "")
        elif event == "delta":
            text = str(data.get("text", ""))
            if text and self.ttft_ms is None:
                self.ttft_ms = at_ms
            self.shown += text
            self.answer += text
        elif event == "retracted":
            self.retractions += 1
            self.answer = str(data.get("replacement") or "")
            if self.answer and self.ttft_ms is None:
                self.ttft_ms = at_ms
        elif event == "notice":
            code = str(data.get("code", ""))
            self.notices.append(code)
            if code in HANDOFF_NOTICES:
                # merged into the customer's open ticket, or saved for the agent: a person
                # has the conversation even without a new ``escalated`` event
                self.escalated = True
                self.escalation_reason = self.escalation_reason or code
        elif event == "citations":
            self.citations = [
                SeenCitation(
                    title=str(c.get("title", "")),
                    url=str(c.get("url", "")),
                    document_id=str(c.get("document_id", "")),
                    section=str(c.get("section", "")),
                    snippet=str(c.get("snippet", "")),
                    chunk_id=str(c.get("chunk_id", "")),
                )
                for c in data.get("citations", [])
            ]
        elif event == "escalated":
            self.escalated = True
            self.escalation_reason = str(data.get("reason", ""))
        elif event == "done":
            self.done = dict(data)
            self.message_id = str(data.get("message_id") or self.message_id)
        elif event == "error":
            self.error = dict(data)

    @property
    def flagged(self) -> bool:
        return "low_confidence" in self.notices


class SSEDecoder:
    """Incremental ``text/event-stream`` decoder: feed lines, get (event, data) pairs."""

    def __init__(self) -> None:
        self._event = "message"
        self._data: list[str] = []

    def line(self, line: str) -> tuple[str, dict[str, Any]] | None:
        line = line.rstrip("\r")
        if line == "":
            if not self._data:
                self._event = "message"
                return None
            name, payload = self._event, "\n".join(self._data)
            self._event, self._data = "message", []
            value = json.loads(payload)
            return name, value if isinstance(value, dict) else {"value": value}
        if line.startswith(":"):
            return None
        key, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if key == "event":
            self._event = value
        elif key == "data":
            self._data.append(value)
        return None
