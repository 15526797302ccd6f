"""OpenAI-compatible ``/v1/chat/completions`` and ``/v1/models`` over the bot pipeline.

The last message must come from the user; earlier user/assistant messages are
the conversation history. Client ``system``/``developer`` messages are ignored:
the bot's own system prompt and guardrails govern the answer. Tool calling: the
bot calls its own configured actions (bound to the verified customer), so client
``tools`` (or a ``tool_choice`` that demands a call) are refused (422) for the
``frontdesk`` model, and tool calls and ``tool`` messages in the client's history
are left out of it; gateway models pass tools through (``gateway.api``). Send
``X-Frontdesk-Conversation-Id`` to continue a stored conversation (its stored
memory is then used instead of the client's history); every response carries
that header so a client can continue.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from frontdesk.api import openai_wire as wire
from frontdesk.api.deps import ClientDep, ServicesDep, with_requester
from frontdesk.api.spend import AnonymousSpend, reserve_anonymous
from frontdesk.api.sse import with_heartbeats
from frontdesk.api.streaming import EventStreamResponse
from frontdesk.api.v1_history import check_size, check_tokens, guard_history
from frontdesk.api.v1_media import with_media
from frontdesk.chat.kinds import Turn
from frontdesk.domain import ChatMessage
from frontdesk.errors import NotFound, ValidationFailed
from frontdesk.events import TextDelta, TurnDone, TurnError
from frontdesk.gateway.api import gateway_completion
from frontdesk.services import Services

router = APIRouter(prefix="/v1", tags=["openai-compatible"])

BOT_MODEL_ID = "frontdesk"
CONVERSATION_HEADER = "X-Frontdesk-Conversation-Id"


MAX_TOOLS = 128
"""OpenAI's own limit on ``tools`` per request."""
TOOL_NAME = r"^[a-zA-Z0-9_-]{1,64}$"


class OAIFunctionCall(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = Field(pattern=TOOL_NAME)
    arguments: str = Field("", max_length=256_000)


class OAIToolCall(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1, max_length=200)
    type: Literal["function"] = "function"
    function: OAIFunctionCall


class OAIFunction(BaseModel):
    model_config = ConfigDict(extra="allow")
    name: str = Field(pattern=TOOL_NAME)
    description: str = Field("", max_length=10_000)
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object"})


class OAITool(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["function"]
    function: OAIFunction


class OAINamedToolChoice(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["function"]
    function: dict[str, str]


class OAIMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None
    name: str | None = None
    tool_calls: list[OAIToolCall] | None = Field(None, max_length=MAX_TOOLS)
    tool_call_id: str | None = Field(None, max_length=200)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class OAIChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[OAIMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    user: str | None = None
    tools: list[OAITool] | None = Field(None, max_length=MAX_TOOLS)
    tool_choice: Literal["auto", "none", "required"] | OAINamedToolChoice | None = None
    parallel_tool_calls: bool | None = None


def _text_of(msg: OAIMessage) -> str:
    if msg.content is None:
        return ""
    if isinstance(msg.content, str):
        return msg.content
    texts: list[str] = []
    for part in msg.content:
        kind = part.get("type")
        if kind == "text":
            texts.append(str(part.get("text", "")))
        elif kind not in wire.MEDIA_PARTS:  # files: read by api.v1_media (last message only)
            raise ValidationFailed(f"content part type {kind!r} is not supported by this model")
    return "\n".join(texts)


def _model_ids(services: Services) -> list[str]:
    gateway = services.gateway.models() if services.gateway is not None else []
    return [BOT_MODEL_ID, *gateway]


@router.get("/models")
async def list_models(services: ServicesDep) -> dict[str, Any]:
    created = int(time.time())
    return {
        "object": "list",
        "data": [
            {"id": mid, "object": "model", "created": created, "owned_by": "frontdesk"}
            for mid in _model_ids(services)
        ],
    }


@router.post("/chat/completions", response_model=None)
async def chat_completions(
    body: OAIChatRequest,
    request: Request,
    services: ServicesDep,
    client: ClientDep,
    conversation_id: str | None = Header(None, alias=CONVERSATION_HEADER),
) -> EventStreamResponse | JSONResponse:
    if services.gateway is not None and services.gateway.has(body.model):
        return await gateway_completion(body, request, services.gateway)
    if body.model not in _model_ids(services):
        raise NotFound(
            f"model {body.model!r} not found; available: {', '.join(_model_ids(services))}"
        )
    if body.tools or (body.tool_choice is not None and body.tool_choice not in ("auto", "none")):
        raise ValidationFailed(
            f"model {BOT_MODEL_ID!r} does not take client tools: the bot calls its own "
            "configured actions; send tools to a gateway model"
        )
    last = body.messages[-1]
    if last.role != "user":
        raise ValidationFailed("the last message must have role 'user'")
    history = [
        ChatMessage("user" if m.role == "user" else "assistant", _text_of(m))
        for m in body.messages[:-1]
        if m.role in ("user", "assistant") and _text_of(m)
    ]
    abuse = services.settings.abuse
    sized = [*history, ChatMessage("user", _text_of(last))]
    check_size(
        sized, max_messages=abuse.v1_max_history_messages, max_tokens=abuse.v1_max_history_tokens
    )
    await check_tokens(sized, services.provider.tokens, max_tokens=abuse.v1_max_history_tokens)
    admission = services.chat.admission
    override = None
    refused = None
    if conversation_id is None:
        if admission is not None:
            await admission.admit_client("conversation", client)
        # every message the client sends is guarded, not only the last one
        checked = await guard_history(history, services.chat.guard)
        override, refused = checked.messages, checked.refused
        conv = await services.chat.start_conversation(
            with_requester({"channel": "openai-compatible"}, client)
        )
        conversation_id = conv.id
    if admission is not None:
        await admission.admit_client("message", client)
    content, images = await with_media(last.content, _text_of(last), services, conversation_id)
    spend = await reserve_anonymous(services, client, len(content))
    try:
        turn = await services.chat.prepare_turn(
            conversation_id, content, history=override, history_checked=refused, images=images
        )
    except BaseException:
        await spend.settle(None, 0.0, produced=False)
        raise
    headers = {CONVERSATION_HEADER: conversation_id}
    completion_id = wire.new_completion_id()
    if body.stream:
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return EventStreamResponse(
            with_heartbeats(
                _chunks(turn, completion_id, body.model, include_usage, spend),
                services.settings.heartbeat_seconds,
            ),
            headers=headers,
        )
    return await _completion(turn, completion_id, body.model, headers, spend)


async def _completion(
    turn: Turn, completion_id: str, model: str, headers: dict[str, str], spend: AnonymousSpend
) -> JSONResponse:
    parts: list[str] = []
    done: TurnDone | None = None
    error: TurnError | None = None
    events = spend.watch(turn.events())
    try:
        async for ev in events:
            if isinstance(ev, TextDelta):
                parts.append(ev.text)
            elif isinstance(ev, TurnDone):
                done = ev
            elif isinstance(ev, TurnError):
                error = ev
    finally:
        await events.aclose()
    if error is not None:
        status = 503 if error.retryable else 502
        return JSONResponse(
            wire.error_body(error.message, error.code), status_code=status, headers=headers
        )
    body = wire.completion_body(
        completion_id,
        model,
        "".join(parts),
        done.finish_reason if done else "stop",
        done.usage if done else None,
    )
    return JSONResponse(body, headers=headers)


async def _chunks(
    turn: Turn, completion_id: str, model: str, include_usage: bool, spend: AnonymousSpend
) -> AsyncIterator[str]:
    encoder = wire.ChunkEncoder(completion_id, model)
    yield encoder.role()
    events = spend.watch(turn.events())
    try:
        async for ev in events:
            if isinstance(ev, TextDelta):
                yield encoder.text(ev.text)
            elif isinstance(ev, TurnDone):
                yield encoder.finish(ev.finish_reason)
                if include_usage:
                    yield encoder.usage(ev.usage)
            elif isinstance(ev, TurnError):
                yield encoder.error(ev.message, ev.code)
                return
    finally:
        await events.aclose()
    yield encoder.done
