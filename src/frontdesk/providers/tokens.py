"""Offline token counters for vendor models.

OpenAI models are counted exactly with ``quicktok`` (token ids identical to
``tiktoken``, encodings bundled in the wheel, so nothing is downloaded):
``o200k_base`` for gpt-4o, gpt-4.1, the o-series and gpt-5; ``cl100k_base`` for
gpt-4, gpt-3.5 and the text-embedding-3 / ada-002 models. Chat prompts add
OpenAI's documented per-message overhead (3 tokens per message, 1 more when a
``name`` is set, 3 tokens priming the reply).

Anything else (another vendor's model, an unknown name behind an
OpenAI-compatible server) gets an :class:`EstimatingTokenCounter`: ``o200k_base``
counts plus a safety margin, flagged ``exact = False``. It errs on the high side
so budgets are not overrun, but it is an estimate and says so. The embedded
model counts with its own tokenizer (see ``providers.local``).

Tool calling: an assistant message's ``tool_calls`` count as their names and
JSON arguments plus :data:`TOKENS_PER_TOOL_CALL`; a tool result message as its
content. The tool specs of a request are not messages: :func:`count_request`
adds them (their JSON text plus :data:`TOKENS_PER_TOOL`; vendors render the
specs in their own, undocumented template, so this is an estimate for every
vendor and errs high).
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from typing import Protocol

import quicktok

from frontdesk.domain import ChatMessage, ToolSpec
from frontdesk.providers.base import ChatRequest, TokenCounter

O200K = "o200k_base"
CL100K = "cl100k_base"

# Longest prefix wins; matched against the lower-cased model name without an
# org prefix ("openai/gpt-4o" -> "gpt-4o") and without an Azure-style suffix.
_OPENAI_PREFIXES: tuple[tuple[str, str], ...] = (
    ("gpt-4o", O200K),
    ("chatgpt-4o", O200K),
    ("gpt-4.1", O200K),
    ("gpt-4.5", O200K),
    ("gpt-5", O200K),
    ("o1", O200K),
    ("o3", O200K),
    ("o4", O200K),
    ("gpt-4", CL100K),
    ("gpt-35", CL100K),  # Azure spells it without the dot
    ("gpt-3.5", CL100K),
    ("text-embedding-3", CL100K),
    ("text-embedding-ada-002", CL100K),
)

TOKENS_PER_MESSAGE = 3
REPLY_PRIMING_TOKENS = 3
ESTIMATE_MARGIN = 1.15
TOKENS_PER_TOOL_CALL = 8
"""The call's id and framing around its name and arguments."""
TOKENS_PER_TOOL = 12
"""The template around one tool spec (OpenAI's ``namespace functions`` rendering)."""
TOOLS_OVERHEAD = 16
"""The fixed preamble vendors add when a request carries any tools."""


def tool_spec_json(tool: ToolSpec) -> str:
    """A spec as the compact JSON its tokens are estimated from."""
    payload = {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def tool_call_text(message: ChatMessage) -> str:
    """The names and arguments of a message's tool calls (and a result's call id)."""
    parts = [f"{call.id} {call.name} {call.arguments}" for call in message.tool_calls]
    if message.tool_call_id:
        parts.append(message.tool_call_id)
    return "\n".join(parts)


def _tool_call_tokens(counter: _Encoding, message: ChatMessage) -> int:
    if not message.tool_calls and not message.tool_call_id:
        return 0
    return TOKENS_PER_TOOL_CALL * len(message.tool_calls) + counter.count(tool_call_text(message))


def count_tools(counter: TokenCounter, tools: Sequence[ToolSpec]) -> int:
    """Estimated prompt tokens of a request's tool specs (0 without tools)."""
    if not tools:
        return 0
    return TOOLS_OVERHEAD + sum(TOKENS_PER_TOOL + counter.count(tool_spec_json(t)) for t in tools)


def count_request(counter: TokenCounter, request: ChatRequest) -> int:
    """Prompt tokens of a whole request: its messages and its tool specs."""
    return counter.count_messages(request.messages) + count_tools(counter, request.tools)


class _Encoding(Protocol):
    def count(self, text: str) -> int: ...


def _normalise(model: str) -> str:
    return model.lower().rsplit("/", 1)[-1]


def openai_encoding_name(model: str) -> str | None:
    """The tiktoken encoding of an OpenAI model, or ``None`` when unknown."""
    name = _normalise(model)
    for prefix, encoding in sorted(_OPENAI_PREFIXES, key=lambda p: -len(p[0])):
        if name == prefix or name.startswith((prefix + "-", prefix + ".", prefix + ":")):
            return encoding
    return None


class _LazyEncoding:
    """An encoding loaded on first use (loading o200k_base takes most of a second), once,
    whichever thread asks first; :func:`warm` loads it ahead of time off the event loop."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._enc: _Encoding | None = None
        self._lock = threading.Lock()

    def count(self, text: str) -> int:
        enc = self._enc
        if enc is None:
            with self._lock:
                if self._enc is None:
                    self._enc = quicktok.get_encoding(self.name)
                enc = self._enc
        return int(enc.count(text))


def warm(counter: TokenCounter) -> None:
    """Load ``counter``'s tokenizer now (blocking: call it in a worker thread)."""
    counter.count("")


class OpenAITokenCounter:
    """Exact counts for an OpenAI chat model, chat overhead included."""

    exact = True

    def __init__(self, encoding_name: str) -> None:
        self.encoding_name = encoding_name
        self._enc = _LazyEncoding(encoding_name)

    def count(self, text: str) -> int:
        # Text in a message is ordinary text: "<|endoftext|>" typed by a user
        # is not a special token, which is what ``count`` does.
        return self._enc.count(text)

    def count_messages(self, messages: Sequence[ChatMessage]) -> int:
        total = REPLY_PRIMING_TOKENS
        for message in messages:
            total += TOKENS_PER_MESSAGE + self.count(message.role) + self.count(message.content)
            total += _tool_call_tokens(self, message)
        return total


class EstimatingTokenCounter:
    """An honest estimate for models whose tokenizer is not available offline.

    ``o200k_base`` counts scaled by :data:`ESTIMATE_MARGIN` (rounded up) plus
    OpenAI-style overhead. Tokenizers of other vendors differ by roughly ±15 %
    on English text, so this leans high; ``exact`` is ``False``.
    """

    exact = False

    def __init__(self, margin: float = ESTIMATE_MARGIN) -> None:
        self._enc = _LazyEncoding(O200K)
        self._margin = margin

    def count(self, text: str) -> int:
        return math.ceil(self._enc.count(text) * self._margin)

    def count_messages(self, messages: Sequence[ChatMessage]) -> int:
        total = REPLY_PRIMING_TOKENS
        for message in messages:
            total += TOKENS_PER_MESSAGE + 1 + self.count(message.content)
            total += _tool_call_tokens(self, message)
        return total


def counter_for(dialect: str, model: str) -> TokenCounter:
    """The best offline counter for ``model`` spoken in ``dialect``.

    Exact for OpenAI models (whatever the endpoint, since Azure and proxies keep
    the model's tokenizer); an :class:`EstimatingTokenCounter` otherwise. The
    embedded model is not handled here: use ``LocalProvider.tokens``, which
    counts with the model's own tokenizer.
    """
    if dialect == "local":
        raise ValueError("the local model counts with its own tokenizer: use LocalProvider.tokens")
    encoding = openai_encoding_name(model)
    if encoding is not None:
        return OpenAITokenCounter(encoding)
    return EstimatingTokenCounter()
