"""Attachments of the native API: upload an image or a recording, read it back, erase.

``POST /api/attachments`` (multipart: ``file`` and ``conversation_id``) reads the file at
once and answers with what was read (image text) or heard (transcript), so the customer sees
it before sending; the message then names it: ``{"content": "...", "attachments": [id]}``.
The body is cut off as it streams in past the bot's limit (HTTP 413), and a file that is
refused (415 type or codec, 413 size, pixels or length, 422 damaged) stores nothing.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request, Response

from frontdesk.api.auth_deps import AdminDep
from frontdesk.api.deps import ClientDep, ServicesDep
from frontdesk.api.identity import bind_or_refuse, request_identity
from frontdesk.api.schemas import AttachmentOut
from frontdesk.api.tenancy import tenant_of
from frontdesk.api.uploads import read_upload
from frontdesk.errors import Conflict, NotFound, ValidationFailed
from frontdesk.media.errors import UnsupportedMedia
from frontdesk.media.service import MediaService
from frontdesk.services import Services

router = APIRouter(prefix="/api", tags=["chat"])


def media_of(services: Services) -> MediaService:
    media = services.media
    if media is None or not media.config.enabled:
        raise UnsupportedMedia("this assistant accepts text messages only")
    return media


@router.post("/attachments", status_code=201, response_model=AttachmentOut)
async def upload_attachment(
    request: Request, services: ServicesDep, client: ClientDep
) -> AttachmentOut:
    """Attach an image (PNG, JPEG, WebP, GIF) or a recording (WAV, MP3, OGG, WebM, M4A)."""
    media = media_of(services)
    if services.chat.admission is not None:
        await services.chat.admission.admit_client("message", client)
    upload = await read_upload(request, file_field="file", max_bytes=media.max_bytes)
    conversation_id = upload.fields.get("conversation_id", "").strip()
    if not conversation_id:
        raise ValidationFailed("send the conversation_id form field with the file")
    conv = await services.chat.get_conversation(conversation_id)
    conv = await bind_or_refuse(services.chat, conv, request_identity(request, services.chat))
    if conv.status == "closed":
        raise Conflict("this conversation is closed; start a new one")
    attachment = await media.attach(conv.id, bytes(upload.data))
    return AttachmentOut.of(attachment, conv.id)


@router.get(
    "/attachments/{attachment_id}",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/jpeg": {}, "audio/webm": {}}}},
)
async def read_attachment(
    attachment_id: str,
    services: ServicesDep,
    conversation_id: str = Query(..., min_length=1, max_length=80),
) -> Response:
    """The stored (cleaned) file, for the conversation it belongs to."""
    await services.chat.get_conversation(conversation_id)  # 404: another tenant's
    attachment, data = await media_of(services).read(conversation_id, attachment_id)
    return Response(
        data,
        media_type=attachment.mime,
        headers={
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Content-Disposition": "inline",
        },
    )


@router.delete("/admin/conversations/{conversation_id}", status_code=204)
async def erase_conversation(conversation_id: str, services: ServicesDep, admin: AdminDep) -> None:
    """Erasure: the conversation with its messages, turns and attachments (bytes included).

    Only the key's own tenant's: another tenant's conversation is a 404, like a missing one.
    """
    conversation = await services.chat.get_conversation(conversation_id)
    if conversation.tenant_id != tenant_of(admin):
        raise NotFound(f"conversation {conversation_id} not found")
    if services.media is not None:
        await services.media.erase_conversation(conversation_id)
    await services.store.erase_conversation(conversation_id)
