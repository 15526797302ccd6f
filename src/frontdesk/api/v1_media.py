"""``/v1/chat/completions`` with files: ``image_url`` parts (``data:`` URLs, or https URLs
on the bot's allowed hosts) and ``input_audio`` parts (base64 WAV, MP3, OGG, WebM).

The files of the last user message are read like native attachments (sniffed, limited,
cleaned, OCR or transcription, guarded) and their text joins the message. Files in earlier
messages of a client-sent history are not read again: their text parts count.
"""

from __future__ import annotations

from typing import Any

from frontdesk.api.attachments import media_of
from frontdesk.api.openai_wire import MediaPart, media_parts
from frontdesk.errors import ValidationFailed
from frontdesk.media.message import message_text
from frontdesk.media.remote import decode_base64, decode_data_url, fetch_remote
from frontdesk.media.service import MediaService
from frontdesk.media.store import Attachment
from frontdesk.services import Services


async def with_media(
    content: str | list[dict[str, Any]] | None,
    typed: str,
    services: Services,
    conversation_id: str,
) -> tuple[str, list[str]]:
    """The last message's text with its files' transcripts and marked image text, and the
    images as data: URLs when the bot sends them to vision endpoints (``media.vision``)."""
    parts = media_parts(content)
    if not parts:
        return typed, []
    media = media_of(services)
    if len(parts) > media.config.max_attachments:
        raise ValidationFailed(f"at most {media.config.max_attachments} files fit on one message")
    files = [await _bytes(part, media) for part in parts]  # every file fetched before any is kept
    attached: list[Attachment] = []
    try:
        for data in files:
            attached.append(await media.attach(conversation_id, data))
        text = message_text(typed, attached, max_chars=services.settings.max_message_chars)
        return text, await media.data_urls(attached) if media.config.vision else []
    except BaseException:
        await media.discard(attached)
        raise


async def _bytes(part: MediaPart, media: MediaService) -> bytes:
    config = media.config
    if part.kind == "audio":
        return decode_base64(part.data, limit=config.max_audio_bytes)
    if part.url.startswith("data:"):
        return decode_data_url(part.url, limit=config.max_image_bytes)
    return await fetch_remote(part.url, config, limit=config.max_image_bytes)
