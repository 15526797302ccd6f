"""Request and response models of the native API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from frontdesk.domain import Conversation, StoredMessage
from frontdesk.media.store import Attachment

METADATA_MAX_KEYS = 32
METADATA_MAX_KEY_CHARS = 64
METADATA_MAX_VALUE_CHARS = 1024
MetadataKey = Annotated[str, StringConstraints(min_length=1, max_length=METADATA_MAX_KEY_CHARS)]
MetadataValue = Annotated[str, StringConstraints(max_length=METADATA_MAX_VALUE_CHARS)]


class CreateConversation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metadata: dict[MetadataKey, MetadataValue] = Field(
        default_factory=dict,
        max_length=METADATA_MAX_KEYS,
        description=f"Flat string pairs: at most {METADATA_MAX_KEYS} keys of "
        f"{METADATA_MAX_KEY_CHARS} characters, values of {METADATA_MAX_VALUE_CHARS}",
    )


class SendMessage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: str = Field(description="The customer's message (may be empty with attachments)")
    attachments: list[Annotated[str, StringConstraints(min_length=1, max_length=80)]] = Field(
        default_factory=list,
        max_length=10,
        description="Ids from POST /api/attachments: their transcripts and image text are "
        "added to the message",
    )
    client_message_id: str | None = Field(
        None, min_length=1, max_length=128, description="Idempotency key chosen by the client"
    )
    stream: bool = Field(
        True, description="Server-sent events when true, one JSON answer when false"
    )


class Feedback(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rating: Literal[1, -1] = Field(description="1 = helpful, -1 = not helpful")
    comment: str | None = Field(None, max_length=2000)


class BotInfo(BaseModel):
    name: str
    company: str
    greeting: str
    max_message_chars: int


class MessageOut(BaseModel):
    id: str
    role: str
    content: str
    status: str
    created_at: datetime
    error: str | None = None
    client_message_id: str | None = None
    reply_to: str | None = None
    citations: list[dict[str, Any]] = Field(default_factory=list)
    feedback: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] = Field(default_factory=list)
    action_offer: dict[str, Any] | None = None
    """An action offered for confirmation with its ``state`` (pending: show the buttons)."""

    @classmethod
    def of(cls, m: StoredMessage, offers: dict[str, Any] | None = None) -> MessageOut:
        cites = m.metadata.get("citations", []) if m.metadata else []
        return cls(
            id=m.id,
            role=m.role,
            content=m.content,
            status=m.status,
            created_at=m.created_at,
            error=m.error,
            client_message_id=m.client_message_id,
            reply_to=m.reply_to,
            citations=cites if isinstance(cites, list) else [],
            feedback=m.metadata.get("feedback") if m.metadata else None,
            attachments=_attachments(m.metadata.get("attachments") if m.metadata else None),
            action_offer=_offer(m.metadata.get("action_offer") if m.metadata else None, offers),
        )


class ConversationOut(BaseModel):
    id: str
    status: str
    created_at: datetime
    updated_at: datetime
    greeting: str | None = None
    messages: list[MessageOut] = Field(default_factory=list)

    @classmethod
    def of(
        cls,
        c: Conversation,
        messages: list[StoredMessage] | None = None,
        greeting: str | None = None,
    ) -> ConversationOut:
        return cls(
            id=c.id,
            status=c.status,
            created_at=c.created_at,
            updated_at=c.updated_at,
            greeting=greeting,
            messages=[
                MessageOut.of(m, c.metadata.get("frontdesk_pending_actions"))
                for m in messages or []
                if m.role != "system"
            ],
        )


class AnswerOut(BaseModel):
    conversation_id: str
    user_message_id: str
    message: MessageOut | None
    usage: dict[str, int]
    provider: str
    model: str
    finish_reason: str
    error: dict[str, Any] | None = None


def _attachments(value: Any) -> list[dict[str, Any]]:
    return [a for a in value if isinstance(a, dict)] if isinstance(value, list) else []


class AttachmentOut(BaseModel):
    id: str
    kind: Literal["image", "audio"]
    mime: str
    size: int
    sha256: str
    text: str = Field(description="Text read from the image, or the recording's transcript")
    redacted: bool = Field(False, description="Personal data in the text was masked")
    truncated: bool = False
    width: int | None = None
    height: int | None = None
    seconds: float | None = None
    url: str

    @classmethod
    def of(cls, attachment: Attachment, conversation_id: str) -> AttachmentOut:
        return cls(
            id=attachment.id,
            kind=attachment.kind,
            mime=attachment.mime,
            size=attachment.size,
            sha256=attachment.sha256,
            text=attachment.text,
            redacted=attachment.redacted,
            truncated=attachment.truncated,
            width=attachment.width,
            height=attachment.height,
            seconds=attachment.seconds,
            url=attachment_url(attachment.id, conversation_id),
        )


def attachment_url(attachment_id: str, conversation_id: str) -> str:
    return f"/api/attachments/{quote(attachment_id)}?conversation_id={quote(conversation_id)}"


def _offer(offer: Any, offers: Any) -> dict[str, Any] | None:
    """A stored action offer with its current state from the conversation's offers."""
    if not isinstance(offer, dict) or not isinstance(offer.get("id"), str):
        return None
    record = offers.get(offer["id"]) if isinstance(offers, dict) else None
    state = record.get("state") if isinstance(record, dict) else "unknown"
    return {**offer, "state": state}
