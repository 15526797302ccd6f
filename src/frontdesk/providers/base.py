"""The provider seam: protocols every chat backend and wrapper implements."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol, runtime_checkable

from frontdesk.domain import ChatMessage, ToolSpec
from frontdesk.events import ProviderEvent


@dataclass(frozen=True, slots=True)
class Capabilities:
    context_length: int
    streaming: bool = True
    tools: bool = False
    vision: bool = False
    audio: bool = False


ToolChoice = Literal["auto", "none", "required"]


@dataclass(frozen=True, slots=True)
class ChatRequest:
    messages: Sequence[ChatMessage]
    temperature: float = 0.2
    max_output_tokens: int = 400
    stop: Sequence[str] = ()
    idempotency_key: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    tools: tuple[ToolSpec, ...] = ()
    """Tools the model may call; only for providers with ``capabilities.tools``."""
    tool_choice: ToolChoice = "auto"
    """``required``: the model must call a tool; ``none``: it must not (the tools
    still describe the earlier calls in the history)."""
    streamed: bool = True
    """False: the caller uses the answer only once it is complete (a gateway client that
    did not ask for a stream). An adapter may then ask its upstream for one complete
    response: the events still arrive, all at the end, so the call's first-token deadline
    is its total deadline."""


class TokenCounter(Protocol):
    """Exact token counts with one model's tokenizer."""

    def count(self, text: str) -> int: ...

    def count_messages(self, messages: Sequence[ChatMessage]) -> int:
        """Tokens of a whole prompt, including the chat template's overhead."""
        ...


@runtime_checkable
class ChatProvider(Protocol):
    """A streaming chat model behind one endpoint.

    ``stream`` returns an async generator of
    :data:`~frontdesk.events.ProviderEvent` values that ends, when the call
    succeeds, with one :class:`~frontdesk.events.CallReport` (after ``Finish``);
    wrappers may add :class:`~frontdesk.events.AttemptEvent` values before it.
    Consumers ignore event types they do not handle. It raises only
    :class:`~frontdesk.errors.ProviderError` subclasses. Closing the generator
    early (``await stream.aclose()``) cancels the upstream call.
    """

    @property
    def name(self) -> str: ...

    @property
    def model(self) -> str: ...

    @property
    def capabilities(self) -> Capabilities: ...

    @property
    def tokens(self) -> TokenCounter: ...

    def stream(self, request: ChatRequest) -> AsyncGenerator[ProviderEvent, None]: ...

    async def check(self) -> None:
        """Raise a ProviderError when the endpoint is unusable (for /readyz)."""
        ...

    async def aclose(self) -> None: ...
