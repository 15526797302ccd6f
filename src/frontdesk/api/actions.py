"""The confirmation button of an action that changes something.

``POST /api/conversations/{id}/actions/{offer_id}`` with ``{"decision": "confirm" | "cancel"}``
and the customer's identity headers: the offered change runs once (a second press is 409),
and the answer comes back as the stored assistant message.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

from frontdesk.api.deps import ServicesDep
from frontdesk.api.identity import bind_or_refuse, request_identity
from frontdesk.api.schemas import MessageOut
from frontdesk.chat.confirm import Confirmations
from frontdesk.errors import Forbidden, NotFound

router = APIRouter(prefix="/api", tags=["actions"])


class ActionDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["confirm", "cancel"]


class ActionDecided(BaseModel):
    outcome: str
    """done | failed | cancelled | expired"""
    message: MessageOut
    audit: dict[str, Any] | None = None


@router.post("/conversations/{conversation_id}/actions/{offer_id}", response_model=ActionDecided)
async def decide_action(
    conversation_id: str,
    offer_id: str,
    body: ActionDecision,
    request: Request,
    services: ServicesDep,
) -> ActionDecided:
    chat = services.chat
    if chat.actions is None or len(offer_id) > 64:
        raise NotFound(f"no action offer {offer_id[:64]} in this conversation")
    conversation = await chat.get_conversation(conversation_id)
    identity = request_identity(request, chat)
    if identity is None:
        raise Forbidden("sign in to confirm an action on your account")
    conversation = await bind_or_refuse(chat, conversation, identity)
    confirmations = Confirmations(chat.store, chat.actions, chat.guard, chat.bot.version)
    decided = await confirmations.decide(conversation, offer_id, body.decision, identity)
    return ActionDecided(
        outcome=decided.outcome, message=MessageOut.of(decided.message), audit=decided.audit
    )
