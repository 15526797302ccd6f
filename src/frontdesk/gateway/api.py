"""The gateway branch of ``/v1/chat/completions``: OpenAI wire format in and out."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from fastapi import Request
from fastapi.responses import JSONResponse

from frontdesk.api.auth_deps import authenticate
from frontdesk.api.streaming import EventStreamResponse
from frontdesk.domain import ChatMessage, PromptRole, Usage
from frontdesk.errors import Forbidden, ValidationFailed
from frontdesk.events import Finish, ProviderEvent, TextDelta, UsageReport
from frontdesk.gateway.service import Gateway, GatewayCall
from frontdesk.providers.base import ChatRequest

if TYPE_CHECKING:
    from frontdesk.api.openai_compat import OAIChatRequest

_ROLES: dict[str, PromptRole] = {
    "system": "system",
    "developer": "system",
    "user": "user",
    "assistant": "assistant",
}
DEFAULT_MAX_TOKENS = 1024


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
        out.append(ChatMessage(role, text))
    return out


async def gateway_completion(
    body: OAIChatRequest, request: Request, gateway: Gateway
) -> EventStreamResponse | JSONResponse:
    principal = await authenticate(request)
    if principal.role not in ("client", "admin"):
        raise Forbidden("the gateway needs a client or admin API key")
    await gateway.admit(principal)
    chat_request = ChatRequest(
        messages=_messages(body),
        temperature=1.0 if body.temperature is None else body.temperature,
        max_output_tokens=body.max_completion_tokens or body.max_tokens or DEFAULT_MAX_TOKENS,
        idempotency_key=request.headers.get("idempotency-key"),
    )
    call = GatewayCall(principal, body.model)
    events = gateway.stream(call, chat_request)
    # the first event before answering: an outage or refusal is a proper HTTP error
    first: ProviderEvent = await anext(events, Finish("stop"))
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        frames = _chunks(first, events, call, completion_id, body.model, include_usage)
        return EventStreamResponse(frames)
    text, usage, finish = await _collect(first, events)
    return JSONResponse(
        {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish,
                    "logprobs": None,
                }
            ],
            "usage": _usage(usage),
        },
        headers={"X-Frontdesk-Provider": call.provider, "X-Frontdesk-Cost-Usd": str(call.cost)},
    )


async def _collect(
    first: ProviderEvent, rest: AsyncIterator[ProviderEvent]
) -> tuple[str, Usage, str]:
    parts: list[str] = []
    usage, finish = Usage(), "stop"
    for ev in [first, *[e async for e in rest]]:
        if isinstance(ev, TextDelta):
            parts.append(ev.text)
        elif isinstance(ev, UsageReport):
            usage = ev.usage
        elif isinstance(ev, Finish):
            finish = ev.reason if ev.reason in ("stop", "length", "content_filter") else "stop"
    return "".join(parts), usage, finish


def _usage(u: Usage) -> dict[str, int]:
    return {
        "prompt_tokens": u.input_tokens,
        "completion_tokens": u.output_tokens,
        "total_tokens": u.input_tokens + u.output_tokens,
    }


def _data(payload: dict[str, Any]) -> str:
    return "data: " + json.dumps(payload, separators=(",", ":")) + "\n\n"


async def _chunks(
    first: ProviderEvent,
    rest: AsyncIterator[ProviderEvent],
    call: GatewayCall,
    completion_id: str,
    model: str,
    include_usage: bool,
) -> AsyncIterator[str]:
    created = int(time.time())
    head = {"id": completion_id, "object": "chat.completion.chunk", "created": created}

    def chunk(delta: dict[str, Any], finish: str | None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return _data({**head, "model": model, "choices": [choice]})

    yield chunk({"role": "assistant", "content": ""}, None)
    usage = Usage()

    async def all_events() -> AsyncIterator[ProviderEvent]:
        yield first
        async for ev in rest:
            yield ev

    try:
        async for ev in all_events():
            if isinstance(ev, TextDelta):
                yield chunk({"content": ev.text}, None)
            elif isinstance(ev, UsageReport):
                usage = ev.usage
            elif isinstance(ev, Finish):
                reason = ev.reason if ev.reason in ("stop", "length", "content_filter") else "stop"
                yield chunk({}, reason)
    except Exception as exc:  # after the first token: report in-band, as OpenAI does
        code = getattr(exc, "code", "internal_error")
        error = {"message": str(exc), "type": "server_error", "param": None, "code": code}
        yield _data({"error": error})
        return
    finally:
        await rest.aclose()  # type: ignore[attr-defined]
    if include_usage:
        yield _data({**head, "model": model, "choices": [], "usage": _usage(usage)})
    yield "data: [DONE]\n\n"
