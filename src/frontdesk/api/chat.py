"""Native chat API: conversations and streamed messages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request, Response
from fastapi.responses import JSONResponse

from frontdesk.api.attachments import media_of
from frontdesk.api.deps import ClientDep, ServicesDep, with_requester
from frontdesk.api.identity import as_customer, bind_or_refuse, request_identity
from frontdesk.api.schemas import (
    AnswerOut,
    AttachmentOut,
    BotInfo,
    ConversationOut,
    CreateConversation,
    Feedback,
    MessageOut,
    SendMessage,
)
from frontdesk.api.session import set_session_cookie, tokens_for
from frontdesk.api.spend import AnonymousSpend, reserve_anonymous
from frontdesk.api.sse import native_frame, with_heartbeats
from frontdesk.api.streaming import EventStreamResponse
from frontdesk.api.turn_queue import queued_stream, turn_gate
from frontdesk.chat.kinds import Turn, outcome_of
from frontdesk.chat.service import ChatService
from frontdesk.chat.turn import AnswerTurn
from frontdesk.errors import FrontdeskError, NotFound, ValidationFailed
from frontdesk.events import TextDelta
from frontdesk.identity.binding import Bind, without_identity
from frontdesk.media.message import message_text
from frontdesk.providers.tokens import warm
from frontdesk.services import Services

router = APIRouter(prefix="/api", tags=["chat"])


@router.get("/bot", response_model=BotInfo)
async def bot_info(services: ServicesDep) -> BotInfo:
    """What the chat UI shows: the bot's name, company and greeting."""
    bot = services.bot
    return BotInfo(
        name=bot.name,
        company=bot.company,
        greeting=bot.greeting,
        max_message_chars=services.settings.max_message_chars,
    )


@router.post("/messages/{message_id}/feedback", status_code=204)
async def message_feedback(message_id: str, body: Feedback, services: ServicesDep) -> None:
    """Thumbs up/down on an assistant answer (replaces earlier feedback)."""
    message = await services.store.get_message(message_id)
    if message is None or not await _own(services, message.conversation_id):
        raise NotFound(f"message {message_id} not found")
    if message.role != "assistant":
        raise ValidationFailed("feedback is for assistant answers only")
    await services.store.merge_message_metadata(
        message_id,
        {
            "feedback": {
                "rating": body.rating,
                "comment": body.comment,
                "at": datetime.now(UTC).isoformat(),
            }
        },
    )
    services.metrics.feedback.labels("up" if body.rating > 0 else "down").inc()


async def _own(services: Services, conversation_id: str) -> bool:
    """Whether the conversation is the request's tenant's (another's is like a missing one)."""
    try:
        await services.chat.get_conversation(conversation_id)
    except NotFound:
        return False
    return True


class CreatedConversation(ConversationOut):
    session: str | None = None
    """The browser session token (also set as an HttpOnly cookie): send it back as the
    ``X-Frontdesk-Session`` header where cookies do not reach (widget iframe, API clients).
    None when the request already carried a valid session."""
    customer: str | None = None
    """The verified customer's user id (``X-Frontdesk-Identity``), None when anonymous."""


def _warm_once(background: BackgroundTasks, chat: ChatService) -> None:
    """The first new conversation loads its bot's tokenizer, after its response is sent.

    Nothing loads one at start (o200k_base holds the GIL for ~0.45 s of CPU while it loads):
    the web chat opens its conversation before the customer types, so the first turn finds
    it loaded. Once per app; a counter already loaded returns at once."""
    if not chat.tokens_warming:
        chat.tokens_warming = True
        background.add_task(warm, chat.provider.tokens)  # in the thread pool


@router.post("/conversations", status_code=201, response_model=CreatedConversation)
async def create_conversation(
    request: Request,
    response: Response,
    services: ServicesDep,
    client: ClientDep,
    background: BackgroundTasks,
    body: CreateConversation | None = None,
) -> CreatedConversation:
    token = None
    if client.session is None and client.anonymous:
        sid, token = tokens_for(request).issue()
        client = replace(client, session=sid)
        set_session_cookie(response, request, token)
    identity = request_identity(request, services.chat)
    client = as_customer(client, identity)
    if services.chat.admission is not None:
        await services.chat.admission.admit_client("conversation", client)
    metadata = with_requester(without_identity(body.metadata if body else None), client)
    if identity is not None:
        metadata = Bind(identity)(metadata)
    ticket = turn_gate(request).enter()  # its write waits its turn with the turns
    try:
        await ticket.admit()
        conv = await services.chat.start_conversation(metadata)
    finally:
        ticket.release()
    _warm_once(background, services.chat)
    out = ConversationOut.of(conv, [], greeting=services.bot.greeting)
    return CreatedConversation(
        **out.model_dump(), session=token, customer=identity.user_id if identity else None
    )


@router.get("/conversations/{conversation_id}", response_model=ConversationOut)
async def get_conversation(
    conversation_id: str, request: Request, services: ServicesDep
) -> ConversationOut:
    conv = await services.chat.get_conversation(conversation_id)
    conv = await bind_or_refuse(services.chat, conv, request_identity(request, services.chat))
    messages = await services.store.list_messages(conv.id)
    return ConversationOut.of(conv, messages, greeting=services.bot.greeting)


@router.post(
    "/conversations/{conversation_id}/messages",
    response_model=None,
    responses={200: {"content": {"text/event-stream": {}, "application/json": {}}}},
)
async def send_message(
    conversation_id: str,
    body: SendMessage,
    request: Request,
    services: ServicesDep,
    client: ClientDep,
) -> EventStreamResponse | JSONResponse:
    identity = request_identity(request, services.chat)
    client = as_customer(client, identity)
    if services.chat.admission is not None:
        await services.chat.admission.admit_client("message", client)
    # the worker's turn gate: a full queue is 503 before anything is read or stored
    ticket = turn_gate(request).enter()
    spend: AnonymousSpend | None = None

    async def prepare() -> tuple[Turn, AnonymousSpend]:
        """Guard and store the message and its pending answer (before the turn waits)."""
        nonlocal spend
        try:
            stored, earlier = await services.chat.conversation_with_messages(conversation_id)
            conversation = await bind_or_refuse(services.chat, stored, identity)
            content, attachments, images = await _with_attachments(services, conversation_id, body)
            spend = await reserve_anonymous(services, client, len(content))
            turn = await services.chat.prepare_turn(
                conversation,  # read once: binding it to the customer needed it already
                content,
                client_message_id=body.client_message_id,
                images=images,
                identity=identity,
                messages=earlier,
            )
            if attachments:
                await services.store.merge_message_metadata(
                    turn.user_message.id, {"attachments": attachments}
                )
        except BaseException:
            ticket.release()
            if spend is not None:
                await spend.settle(None, 0.0, produced=False)
            raise
        return turn, spend

    # stored first (redacted by the input guard), so a worker killed while the turn waits
    # for its slot loses nothing: its pending answer is failed by a live worker's sweep
    try:
        async with ticket.gate.storing:  # a burst waits here, not for a pooled connection
            turn, spent = await prepare()
    except BaseException:  # cancelled while waiting to store: the ticket goes too
        ticket.release()
        raise

    async def abandon(error: str) -> None:
        """The turn never ran (its wait ran out, or the client left): end its answer."""
        await spent.settle(None, 0.0, produced=False)
        if isinstance(turn, AnswerTurn):
            await services.store.fail_pending_messages(
                error=error, message_id=turn.assistant_message_id
            )

    wants_json = not body.stream or request.headers.get("accept", "").startswith("application/json")
    heartbeat = services.settings.heartbeat_seconds
    if wants_json:
        try:
            try:
                await ticket.admit()  # at once, or after waiting in the queue
            except BaseException as exc:
                await abandon(
                    f"{exc.code}: {exc}"
                    if isinstance(exc, FrontdeskError)
                    else "client disconnected while queued"
                )
                raise
            return await _answer_json(turn, services, spent)
        finally:
            ticket.release()
    frames = _frames(turn, spent)
    if not ticket.admitted:  # answer now; the stream tells its place in the queue
        queued = queued_stream(
            ticket,
            frames,
            user_message_id=turn.user_message.id,
            message_id=turn.assistant_message_id,
            abandon=abandon,
            update_seconds=heartbeat,
        )
        return EventStreamResponse(
            with_heartbeats(queued, heartbeat), on_close=ticket.release, cancel_once=True
        )
    return EventStreamResponse(
        with_heartbeats(frames, heartbeat), on_close=ticket.release, cancel_once=True
    )


async def _with_attachments(
    services: Services, conversation_id: str, body: SendMessage
) -> tuple[str, list[dict[str, Any]], list[str]]:
    """The message with its attachments' transcripts and marked image text, their records,
    and the images themselves as data: URLs when the bot sends them to vision endpoints."""
    if not body.attachments:
        return body.content, [], []
    media = media_of(services)
    found = await media.resolve(conversation_id, body.attachments)
    text = message_text(body.content, found, max_chars=services.settings.max_message_chars)
    records = [AttachmentOut.of(a, conversation_id).model_dump(mode="json") for a in found]
    images = await media.data_urls(found) if media.config.vision else []
    return text, records, images


async def _frames(turn: Turn, spend: AnonymousSpend) -> AsyncGenerator[str, None]:
    events = spend.watch(turn.events())
    first_text = True
    try:
        async for ev in events:
            frame = native_frame(ev)
            if frame is not None:
                yield frame
                if first_text and isinstance(ev, TextDelta):
                    first_text = False
                    # with_heartbeats' pump runs ahead of the response until it waits: let
                    # the first token go out before what arrived with it is processed (the
                    # rest of a fast answer, its persistence)
                    await asyncio.sleep(0)
    finally:
        await events.aclose()


async def _answer_json(turn: Turn, services: Services, spend: AnonymousSpend) -> JSONResponse:
    try:
        outcome = await outcome_of(turn)
    except BaseException:
        await spend.settle(None, 0.0, produced=True)
        raise
    await spend.settle(outcome.usage, outcome.cost_usd, produced=bool(outcome.content))
    stored = await services.store.get_message(outcome.message_id) if outcome.message_id else None
    error = outcome.error
    out = AnswerOut(
        conversation_id=turn.conversation_id,
        user_message_id=turn.user_message.id,
        message=MessageOut.of(stored) if stored else None,
        usage={
            "input_tokens": outcome.usage.input_tokens,
            "output_tokens": outcome.usage.output_tokens,
            "cached_tokens": outcome.usage.cached_tokens,
        },
        provider=outcome.provider,
        model=outcome.model,
        finish_reason=outcome.finish_reason,
        error=(
            {"code": error.code, "message": error.message, "retryable": error.retryable}
            if error
            else None
        ),
    )
    status = 200 if error is None else 503 if error.retryable else 502
    return JSONResponse(out.model_dump(mode="json"), status_code=status)
