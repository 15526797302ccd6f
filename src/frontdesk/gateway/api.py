"""The gateway branch of ``/v1/chat/completions``: OpenAI wire format in and out.

Tool calling passes through: the client's ``tools`` and ``tool_choice`` (a named
function is ``required`` with only that tool offered), assistant ``tool_calls``
and ``tool`` result messages go upstream in each vendor's own format; the
model's calls come back as ``tool_calls`` (one chunk per call when streaming)
with ``finish_reason: tool_calls``. The gateway runs no tool itself.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from frontdesk.api.auth_deps import authenticate
from frontdesk.api.openai_wire import ChunkEncoder, completion_body, new_completion_id
from frontdesk.api.streaming import EventStreamResponse
from frontdesk.auth.keys import Principal
from frontdesk.domain import ChatMessage, PromptRole, ToolCall, ToolSpec, Usage
from frontdesk.errors import Forbidden, ValidationFailed
from frontdesk.events import (
    CallReport,
    Finish,
    ProviderEvent,
    TextDelta,
    ToolCallRequested,
    UsageReport,
)
from frontdesk.gateway.service import Gateway, GatewayCall
from frontdesk.providers.base import ChatRequest, ToolChoice

if TYPE_CHECKING:
    from frontdesk.api.openai_compat import OAIChatRequest

_ROLES: dict[str, PromptRole] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
    "tool": "tool",
}
DEFAULT_MAX_TOKENS = 1024
_JSON = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


class _JSONResponse(JSONResponse):
    """Rendered as starlette's, by one encoder (its ``json.dumps`` with options builds an
    encoder per response)."""

    def render(self, content: Any) -> bytes:
        return _JSON(content).encode()


def _messages(body: OAIChatRequest) -> list[ChatMessage]:
    out = []
    for m in body.messages:
        role = _ROLES.get(m.role)
        if role is None:
            raise ValidationFailed(f"messages with role {m.role!r} are not supported")
        if isinstance(m.content, list):
            parts = [p for p in m.content if p.get("type") == "text"]
            if len(parts) != len(m.content):
                raise ValidationFailed("only text content parts are supported")
            text = "\n".join(str(p.get("text", "")) for p in parts)
        else:
            text = m.content or ""
        if role == "tool" and not m.tool_call_id:
            raise ValidationFailed("a message with role 'tool' needs tool_call_id")
        calls = tuple(
            ToolCall(c.id, c.function.name, c.function.arguments) for c in m.tool_calls or ()
        )
        if calls and role != "assistant":
            raise ValidationFailed("only assistant messages carry tool_calls")
        tool_call_id = m.tool_call_id if role == "tool" else None
        out.append(ChatMessage(role, text, tool_calls=calls, tool_call_id=tool_call_id))
    return out


def _tools(body: OAIChatRequest) -> tuple[tuple[ToolSpec, ...], ToolChoice]:
    """The client's tools and tool choice (a named function: only it, and required)."""
    tools = tuple(
        ToolSpec(t.function.name, t.function.description, t.function.parameters)
        for t in body.tools or ()
    )
    choice = body.tool_choice
    if choice is None:
        return tools, "auto"
    if isinstance(choice, str):
        if choice == "required" and not tools:
            raise ValidationFailed("tool_choice 'required' needs tools")
        return tools, choice
    name = choice.function.get("name")
    named = tuple(t for t in tools if t.name == name)
    if not named:
        raise ValidationFailed(f"tool_choice names {name!r}, which is not in tools")
    return named, "required"


GATEWAY_ROLES = frozenset({"client", "admin"})


async def gateway_completion(
    body: OAIChatRequest, request: Request, gateway: Gateway
) -> EventStreamResponse | JSONResponse:
    principal = await authenticate(request)
    if principal.role not in GATEWAY_ROLES:
        raise Forbidden("the gateway needs a client or admin API key")
    return await serve_completion(body, principal, request.headers.get("idempotency-key"), gateway)


async def serve_completion(
    body: OAIChatRequest, principal: Principal, idempotency_key: str | None, gateway: Gateway
) -> EventStreamResponse | JSONResponse:
    """One completion for an authenticated ``principal`` with a gateway role."""
    await gateway.admit(principal)
    tools, tool_choice = _tools(body)
    chat_request = ChatRequest(
        messages=_messages(body),
        tools=tools,
        tool_choice=tool_choice,
        temperature=1.0 if body.temperature is None else body.temperature,
        max_output_tokens=body.max_completion_tokens or body.max_tokens or DEFAULT_MAX_TOKENS,
        idempotency_key=idempotency_key,
        streamed=bool(body.stream),  # else the upstream answers in one response
    )
    call = GatewayCall(principal, body.model)
    events = gateway.stream(call, chat_request)
    # up to the first answer event: an outage or refusal is a proper HTTP error
    head = await _head(events)
    completion_id = new_completion_id()
    # the accounting after the CallReport goes after the answer unless a budget reservation
    # waits to be settled (the caller's next request must see the actual cost)
    early = not call.reserved
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        encoder = ChunkEncoder(completion_id, body.model)
        # the provider stream ends at one cancellation (no await in it swallows one)
        return EventStreamResponse(
            _chunks(head, events, encoder, include_usage, early=early), cancel_once=True
        )
    text, calls, usage, finish, report, tail = await _collect(head, events, early=early)
    return _Completion(
        completion_body(completion_id, body.model, text, finish, usage, tool_calls=calls),
        headers={
            "X-Frontdesk-Provider": report.provider if report else "",
            "X-Frontdesk-Cost-Usd": str(report.cost if report and report.cost else Decimal(0)),
        },
        tail=events if tail else None,
    )


class _Completion(_JSONResponse):
    """A complete answer; ``tail``, the provider events left after the CallReport (reading
    them to their end runs the call's accounting), is read once the answer is written."""

    def __init__(
        self,
        content: Any,
        *,
        headers: dict[str, str],
        tail: AsyncGenerator[ProviderEvent, None] | None,
    ) -> None:
        super().__init__(content, headers=headers)
        self._tail = tail

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            if self._tail is not None:
                await _drain(self._tail)


async def _drain(rest: AsyncGenerator[ProviderEvent, None]) -> None:
    """Read ``rest`` to its end (the gateway's accounting runs there), then close it."""
    try:
        async for _ev in rest:
            pass
    finally:
        await rest.aclose()


_HEAD_ENDS = (TextDelta, ToolCallRequested, Finish, CallReport)


async def _head(events: AsyncGenerator[ProviderEvent, None]) -> list[ProviderEvent]:
    """Events up to and including the first text delta, tool call or finish (attempt
    events come before them); closes ``events`` when reading them fails."""
    head: list[ProviderEvent] = []
    try:
        async for ev in events:
            head.append(ev)
            if isinstance(ev, _HEAD_ENDS):
                break
    except BaseException:
        await events.aclose()
        raise
    return head


class _Answer:
    """What a completion collects from its events (the text only when not streamed)."""

    __slots__ = ("calls", "finish", "parts", "report", "usage")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.calls: list[ToolCall] = []
        self.usage = Usage()
        self.finish = "stop"
        self.report: CallReport | None = None

    def add(self, ev: ProviderEvent) -> None:
        if isinstance(ev, TextDelta):
            self.parts.append(ev.text)
        elif isinstance(ev, ToolCallRequested):
            self.calls.append(ev.call)
        elif isinstance(ev, UsageReport):
            self.usage = ev.usage
        elif isinstance(ev, Finish):
            self.finish = ev.reason
        elif isinstance(ev, CallReport):
            self.report = ev

    def frame(self, ev: ProviderEvent, encoder: ChunkEncoder) -> str | None:
        """The SSE frame of ``ev`` in a stream (usage is kept for the last frame)."""
        if isinstance(ev, TextDelta):
            return encoder.text(ev.text)
        if isinstance(ev, ToolCallRequested):
            self.calls.append(ev.call)
            return encoder.tool_call(len(self.calls) - 1, ev.call)
        if isinstance(ev, UsageReport):
            self.usage = ev.usage
        elif isinstance(ev, Finish):
            return encoder.finish(ev.reason, called=bool(self.calls))
        return None


async def _collect(
    head: list[ProviderEvent], rest: AsyncGenerator[ProviderEvent, None], *, early: bool
) -> tuple[str, list[ToolCall], Usage, str, CallReport | None, bool]:
    """The answer in ``head`` and ``rest``; ``rest`` is closed, except with ``early`` once its
    CallReport was read (the last flag is then true, and the caller reads the tail)."""
    answer = _Answer()
    tail = False
    try:
        for ev in head:
            answer.add(ev)
        async for ev in rest:
            answer.add(ev)
            if early and isinstance(ev, CallReport):
                tail = True
                break
    finally:
        if not tail:
            await rest.aclose()
    return "".join(answer.parts), answer.calls, answer.usage, answer.finish, answer.report, tail


async def _chunks(
    head: list[ProviderEvent],
    rest: AsyncGenerator[ProviderEvent, None],
    encoder: ChunkEncoder,
    include_usage: bool,
    *,
    early: bool,
) -> AsyncGenerator[str, None]:
    """The SSE frames; with ``early``, the events after the CallReport (the accounting) are
    read after the last frame."""
    answer = _Answer()
    tail = False
    try:
        # the role frame and the head's frames in one write: the first token goes with them
        first = [encoder.role()]
        for ev in head:
            frame = answer.frame(ev, encoder)
            if frame is not None:
                first.append(frame)
        yield "".join(first)
        async for ev in rest:
            if early and isinstance(ev, CallReport):
                tail = True
                break
            frame = answer.frame(ev, encoder)
            if frame is not None:
                yield frame
    except Exception as exc:  # after the first token: report in-band, as OpenAI does
        yield encoder.error(str(exc), getattr(exc, "code", "internal_error"))
        return
    finally:
        if not tail:
            await rest.aclose()
    try:
        if include_usage:
            yield encoder.usage(answer.usage)
        yield encoder.done
    finally:
        if tail:
            await _drain(rest)
