"""Attach an image or a recording to a conversation: check, clean, read, guard, store.

Everything that can fail (type, size, pixels, duration, decoding, OCR, transcription) runs
before anything is written, so a refused file leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from frontdesk.config import BotConfig
from frontdesk.errors import ConfigError, PayloadTooLarge, ValidationFailed
from frontdesk.guard.base import InputResult
from frontdesk.media.config import MediaConfig
from frontdesk.media.errors import DamagedMedia, UnsupportedMedia
from frontdesk.media.ocr import TesseractReader, TextReader
from frontdesk.media.sniff import Sniffed, sniff
from frontdesk.media.store import Attachment, FileMediaStore, new_attachment_id
from frontdesk.media.transcribe import LocalWhisper, Transcriber, VendorTranscriber

InputGuard = Callable[[str], Awaitable[InputResult]]
"""The bot's input guard (``TurnGuard.check_input``): PII redaction, injection check."""


@dataclass
class MediaService:
    config: MediaConfig
    store: FileMediaStore
    reader: TextReader
    transcriber: Transcriber | None
    guard: InputGuard | None = None
    swept_at: float = field(default=0.0, init=False)
    """When retention last ran (monotonic seconds)."""

    @classmethod
    def for_bot(
        cls,
        bot: BotConfig,
        data_dir: Path,
        *,
        guard: InputGuard | None = None,
        transcriber: Transcriber | None = None,
    ) -> MediaService:
        """The bot's media service; the local whisper model loads on the first recording."""
        config = bot.media
        if transcriber is None and config.transcription == "local":
            transcriber = LocalWhisper(data_dir / "models", language=config.language)
        elif transcriber is None and config.transcription == "vendor":
            transcriber = vendor_transcriber(bot)
        reader = TesseractReader(config.ocr_languages, config.ocr_timeout_seconds)
        return cls(config, FileMediaStore(data_dir / "media"), reader, transcriber, guard)

    @property
    def max_bytes(self) -> int:
        return max(self.config.max_image_bytes, self.config.max_audio_bytes)

    async def attach(self, conversation_id: str, data: bytes) -> Attachment:
        """Read, guard and store one file; raises a 4xx error (nothing stored) when refused."""
        if not self.config.enabled:
            raise ValidationFailed("this assistant does not accept attachments")
        if not data:
            raise ValidationFailed("the file is empty")
        await self.apply_retention()
        sniffed = sniff(data)
        if sniffed.kind == "image":
            return await self._image(conversation_id, data, sniffed)
        return await self._recording(conversation_id, data, sniffed)

    async def _image(self, conversation_id: str, data: bytes, sniffed: Sniffed) -> Attachment:
        from frontdesk.media.images import clean_image

        limit = self.config.max_image_bytes
        if len(data) > limit:
            raise PayloadTooLarge(f"the image is larger than {limit} bytes", limit=limit)
        clean = await asyncio.to_thread(
            clean_image, data, sniffed, max_pixels=self.config.max_image_pixels
        )
        read = await self.reader.read(clean.pixels)
        text, truncated = read.text, False
        cap = self.config.max_image_text_chars
        if len(text) > cap:
            text, truncated = text[:cap].rsplit(" ", 1)[0] + " …", True
        text, redacted = await self._guarded(text)
        attachment = Attachment(
            id=new_attachment_id(),
            conversation_id=conversation_id,
            kind="image",
            mime=clean.mime,
            sha256=hashlib.sha256(clean.data).hexdigest(),
            size=len(clean.data),
            created_at=datetime.now(UTC).isoformat(),
            text=text,
            redacted=redacted,
            width=clean.width,
            height=clean.height,
            frames=clean.frames,
            truncated=truncated,
        )
        return await asyncio.to_thread(self.store.put, attachment, clean.data)

    async def _recording(self, conversation_id: str, data: bytes, sniffed: Sniffed) -> Attachment:
        from frontdesk.media.audio import decode_recording

        if self.transcriber is None:
            raise UnsupportedMedia("this assistant does not accept voice messages")
        limit = self.config.max_audio_bytes
        if len(data) > limit:
            raise PayloadTooLarge(f"the recording is larger than {limit} bytes", limit=limit)
        recording = await asyncio.to_thread(
            decode_recording, data, sniffed, max_seconds=self.config.max_audio_seconds
        )
        transcript = await self.transcriber.transcribe(recording)
        if not transcript.text:
            raise DamagedMedia("no words could be heard in the recording; please try again")
        text, redacted = await self._guarded(transcript.text)
        attachment = Attachment(
            id=new_attachment_id(),
            conversation_id=conversation_id,
            kind="audio",
            mime=sniffed.mime,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            created_at=datetime.now(UTC).isoformat(),
            text=text,
            redacted=redacted,
            seconds=round(recording.seconds, 2),
        )
        return await asyncio.to_thread(self.store.put, attachment, data)

    async def _guarded(self, text: str) -> tuple[str, bool]:
        """PII and secrets redacted before the text is stored or shown to anyone."""
        if self.guard is None or not text:
            return text, False
        result = await self.guard(text)
        return result.text, result.text != text

    async def resolve(self, conversation_id: str, ids: Sequence[str]) -> list[Attachment]:
        """The attachments of a message, in order; 404 for one not of this conversation."""
        if len(ids) > self.config.max_attachments:
            raise ValidationFailed(
                f"at most {self.config.max_attachments} attachments fit on one message"
            )
        unique = list(dict.fromkeys(ids))
        return [await asyncio.to_thread(self.store.get, conversation_id, i) for i in unique]

    async def read(self, conversation_id: str, attachment_id: str) -> tuple[Attachment, bytes]:
        att = await asyncio.to_thread(self.store.get, conversation_id, attachment_id)
        return att, await asyncio.to_thread(self.store.read, att)

    async def data_urls(self, attachments: Sequence[Attachment]) -> list[str]:
        """The cleaned images as ``data:`` URLs (for vision-capable endpoints)."""
        urls = []
        for att in attachments:
            if att.kind == "image":
                data = await asyncio.to_thread(self.store.read, att)
                urls.append(f"data:{att.mime};base64," + base64.b64encode(data).decode())
        return urls

    async def apply_retention(self, *, every_seconds: float = 3600.0) -> int:
        """Delete attachments past ``media.retention_days`` (at most once per ``every_seconds``)."""
        days = self.config.retention_days
        now = time.monotonic()
        if days is None or (self.swept_at and now - self.swept_at < every_seconds):
            return 0
        self.swept_at = now
        cutoff = datetime.now(UTC) - timedelta(days=days)
        return await asyncio.to_thread(self.store.erase_older_than, cutoff)

    async def discard(self, attachments: Sequence[Attachment]) -> None:
        """Undo attachments of a message that was refused (nothing stays half-way)."""
        for attachment in attachments:
            await asyncio.to_thread(self.store.delete, attachment)

    async def erase_conversation(self, conversation_id: str) -> int:
        return await asyncio.to_thread(self.store.erase_conversation, conversation_id)


def vendor_transcriber(bot: BotConfig) -> VendorTranscriber:
    """``media.transcription: vendor``: the named OpenAI-dialect endpoint's transcription API."""
    name = bot.media.transcription_endpoint
    if not name:
        raise ConfigError("media.transcription: vendor needs media.transcription_endpoint")
    endpoint = bot.endpoint(name)
    if endpoint.dialect != "openai" or not endpoint.base_url or not endpoint.api_key_env:
        raise ConfigError(
            f"media.transcription_endpoint {name!r} must be an openai-dialect endpoint "
            "with base_url and api_key_env"
        )
    key = os.environ.get(endpoint.api_key_env, "")
    if not key:
        raise ConfigError(f"media.transcription: vendor needs ${endpoint.api_key_env} set")
    return VendorTranscriber(
        endpoint.base_url, key, bot.media.transcription_model, endpoint.timeout_seconds
    )
