"""Tool calls assembled from a vendor stream, shared by the vendor adapters.

Vendors stream a tool call as fragments: OpenAI by ``index`` (the id and name in
the first fragment, the JSON arguments split across later ones), Anthropic by
content-block index (``input_json_delta``). :class:`ToolCallAssembler` folds the
fragments and, once the stream has finished with a tool-call finish reason,
gives the complete :class:`~frontdesk.domain.ToolCall` values in order.
Arguments are checked to be one JSON object (an empty string is ``{}``); a call
without a name, or arguments that are not an object, is a
:class:`~frontdesk.errors.ProviderProtocolError` (the adapter has emitted no
:class:`~frontdesk.events.ToolCallRequested` yet, so a retry may still succeed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from frontdesk.domain import ToolCall
from frontdesk.errors import ProviderProtocolError

MAX_ARGUMENT_CHARS = 256_000
"""Assembled arguments longer than this are a broken stream, not a tool call."""


@dataclass(slots=True)
class _Partial:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)
    size: int = 0


def arguments_json(arguments: Mapping[str, Any] | None) -> str:
    """A vendor's parsed arguments (Gemini ``args``, Anthropic ``input``) as JSON text."""
    return json.dumps(dict(arguments or {}), ensure_ascii=False, separators=(",", ":"))


def parse_arguments(text: str, *, provider: str) -> dict[str, Any]:
    """The arguments of a call as an object (a tool result message's call, going out)."""
    try:
        value = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise ProviderProtocolError(
            f"tool call arguments are not JSON: {exc}", provider=provider
        ) from exc
    if not isinstance(value, dict):
        raise ProviderProtocolError(
            f"tool call arguments are {type(value).__name__}, not an object", provider=provider
        )
    return value


class ToolCallAssembler:
    """Fragments of the tool calls of one streamed answer, keyed by the vendor's index."""

    def __init__(self, provider: str, *, id_prefix: str = "call") -> None:
        self._provider = provider
        self._id_prefix = id_prefix
        self._calls: dict[int, _Partial] = {}

    def __bool__(self) -> bool:
        return bool(self._calls)

    def add(
        self, index: int, *, id: str | None = None, name: str | None = None, arguments: str = ""
    ) -> None:
        """One fragment: the id and name (usually the first), and/or more argument text."""
        call = self._calls.setdefault(index, _Partial())
        if id:
            call.id = id
        if name:
            call.name = name
        if arguments:
            call.size += len(arguments)
            if call.size > MAX_ARGUMENT_CHARS:
                raise ProviderProtocolError(
                    f"tool call arguments longer than {MAX_ARGUMENT_CHARS} characters",
                    provider=self._provider,
                )
            call.arguments.append(arguments)

    def calls(self) -> list[ToolCall]:
        """The complete calls in index order (ids made up where the vendor sent none)."""
        out: list[ToolCall] = []
        for position, index in enumerate(sorted(self._calls)):
            partial = self._calls[index]
            if not partial.name:
                raise ProviderProtocolError(
                    "a streamed tool call has no name", provider=self._provider
                )
            text = "".join(partial.arguments)
            parse_arguments(text, provider=self._provider)  # one JSON object, or raise
            arguments = text if text.strip() else "{}"
            call_id = partial.id or f"{self._id_prefix}_{position}"
            out.append(ToolCall(call_id, partial.name, arguments))
        return out
