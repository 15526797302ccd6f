"""Attaching files end to end on disk: read, guarded, stored once, erased with the conversation;
a refused file leaves nothing behind."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from frontdesk.chat.guarding import TurnGuard
from frontdesk.config import BotConfig
from frontdesk.errors import NotFound, PayloadTooLarge, ValidationFailed
from frontdesk.guard.config import GuardConfig
from frontdesk.guard.pipeline import GuardPipeline, GuardServices
from frontdesk.media.audio import Recording
from frontdesk.media.config import MediaConfig
from frontdesk.media.errors import DamagedMedia, ImageTooLarge, UnsupportedMedia
from frontdesk.media.message import IMAGE_CLOSE, IMAGE_OPEN, message_text, typed_part
from frontdesk.media.service import MediaService
from frontdesk.media.store import Attachment
from frontdesk.media.transcribe import Transcript
from tests.media.samples import error_dialog, png_bytes, png_declaring, silent_wav

pytestmark = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="tesseract missing: make media-deps installs it"
)


class HeardWords:
    """A transcriber for the storage tests (real whisper runs in test_audio.py)."""

    def __init__(self, text: str) -> None:
        self.text = text

    async def transcribe(self, recording: Recording) -> Transcript:
        return Transcript(self.text, "en", 0.0)


def service(tmp_path: Path, media: MediaConfig | None = None, words: str = "") -> MediaService:
    config = media or MediaConfig()
    bot = BotConfig(name="Nora", company="Acme", system_prompt="Help.", media=config)
    guard = TurnGuard(GuardPipeline(GuardConfig(), GuardServices()), "Nora")
    return MediaService.for_bot(
        bot, tmp_path, guard=guard.check_input, transcriber=HeardWords(words)
    )


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != ".lock")


async def test_screenshot_is_read_guarded_and_stored_once(tmp_path: Path) -> None:
    media = service(tmp_path)
    lines = ("Error NW-408: Connection timed out.", "Contact: jane.doe@example.com")
    data = png_bytes(error_dialog(lines))
    first = await media.attach("conv-1", data)
    assert first.kind == "image" and first.mime == "image/png"
    assert "Error NW-408: Connection timed out." in first.text
    assert "jane.doe@example.com" not in first.text  # redacted before it is stored
    assert first.redacted
    second = await media.attach("conv-2", data)
    blobs = list((tmp_path / "media" / "blobs").rglob("*"))
    assert len([b for b in blobs if b.is_file()]) == 1  # content-addressed: stored once
    assert second.sha256 == first.sha256
    (got,) = await media.resolve("conv-1", [first.id])
    assert got == first
    _, body = await media.read("conv-1", first.id)
    assert body.startswith(b"\x89PNG")
    with pytest.raises(NotFound):
        await media.resolve("conv-2", [first.id])  # another conversation's attachment
    assert await media.erase_conversation("conv-1") == 1
    with pytest.raises(NotFound):
        await media.read("conv-1", first.id)
    _, still = await media.read("conv-2", second.id)  # the other reference keeps the bytes
    assert still == body
    assert await media.erase_conversation("conv-2") == 1
    assert stored_files(tmp_path / "media") == []


async def test_retention_erases_old_attachments(tmp_path: Path) -> None:
    media = service(tmp_path)
    att = await media.attach("conv-1", png_bytes(error_dialog()))
    assert media.store.erase_older_than(datetime.now(UTC) - timedelta(days=1)) == 0
    assert media.store.erase_older_than(datetime.now(UTC) + timedelta(seconds=1)) == 1
    with pytest.raises(NotFound):
        media.store.get("conv-1", att.id)
    assert stored_files(tmp_path / "media") == []


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (png_declaring(50_000, 50_000), ImageTooLarge),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, DamagedMedia),
        (b"<svg/>", UnsupportedMedia),
        (silent_wav(2 * 3600), PayloadTooLarge),
        (b"", ValidationFailed),
    ],
)
async def test_refused_files_leave_nothing_stored(
    tmp_path: Path, data: bytes, error: type[Exception]
) -> None:
    media = service(tmp_path, MediaConfig(max_audio_bytes=16 * 1024 * 1024), words="hello")
    with pytest.raises(error) as info:
        await media.attach("conv-1", data)
    assert 400 <= getattr(info.value, "http_status", 0) < 500
    assert stored_files(tmp_path / "media") == []


async def test_size_limits_per_kind(tmp_path: Path) -> None:
    media = service(tmp_path, MediaConfig(max_image_bytes=2048))
    with pytest.raises(PayloadTooLarge) as info:
        await media.attach("conv-1", png_bytes(error_dialog()))
    assert info.value.limit == 2048


async def test_voice_message_is_transcribed_and_guarded(tmp_path: Path) -> None:
    media = service(tmp_path, words="My card is 4111 1111 1111 1111, how do I update it?")
    att = await media.attach("conv-1", silent_wav(2, rate=16000))
    assert att.kind == "audio" and att.seconds == pytest.approx(2.0)
    assert "4111 1111 1111 1111" not in att.text and att.redacted
    off = service(tmp_path, MediaConfig(transcription="off"))
    off.transcriber = None
    with pytest.raises(UnsupportedMedia):
        await off.attach("conv-1", silent_wav(2, rate=16000))


def attachment(kind: str, text: str) -> Attachment:
    return Attachment(
        id="att_x", conversation_id="c", kind=kind,  # type: ignore[arg-type]
        mime="image/png", sha256="0" * 64, size=1, created_at="2026-01-01T00:00:00+00:00",
        text=text,
    )  # fmt: skip


def test_message_text_marks_image_text() -> None:
    text = message_text(
        "What does this mean?", [attachment("image", "Error NW-408")], max_chars=5000
    )
    assert text == f"What does this mean?\n\n{IMAGE_OPEN}\nError NW-408\n{IMAGE_CLOSE}"
    assert typed_part(text) == "What does this mean?"
    spoken = message_text("", [attachment("audio", "How do I reset my password?")], max_chars=50)
    assert spoken == "How do I reset my password?"
    cut = message_text("", [attachment("image", "word " * 2000)], max_chars=600)
    assert len(cut) <= 600 and cut.endswith(f"…\n{IMAGE_CLOSE}")
    with pytest.raises(ValidationFailed, match="no text could be read"):
        message_text("", [attachment("image", "")], max_chars=5000)
    with pytest.raises(ValidationFailed):
        message_text("  ", [], max_chars=5000)


async def test_retention_runs_on_upload(tmp_path: Path) -> None:
    import asyncio

    media = service(tmp_path, MediaConfig(retention_days=1e-6))  # 0.09 s
    old = await media.attach("conv-1", png_bytes(error_dialog()))
    await asyncio.sleep(0.2)
    media.swept_at = 0.0  # as if the last sweep was over an hour ago
    new = await media.attach("conv-2", png_bytes(error_dialog(("Error NW-507",))))
    with pytest.raises(NotFound):
        media.store.get("conv-1", old.id)
    assert media.store.get("conv-2", new.id) == new
    assert await media.apply_retention() == 0  # not again within the hour
