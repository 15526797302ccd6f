"""The type of an attachment, told from its first bytes (the name and declared type lie)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from frontdesk.media.errors import UnsupportedMedia

Kind = Literal["image", "audio"]

SUPPORTED = "PNG, JPEG, WebP or GIF images, and WAV, MP3, OGG, WebM or M4A recordings"


@dataclass(frozen=True, slots=True)
class Sniffed:
    kind: Kind
    mime: str
    pil_format: str | None = None
    """Pillow's name of the format (images): decoding is restricted to it."""


def sniff(data: bytes) -> Sniffed:
    """What the bytes are; :class:`UnsupportedMedia` for anything else (SVG, HEIC, PDF...)."""
    head = bytes(data[:64])
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "image/png", "PNG")
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "image/jpeg", "JPEG")
    if head.startswith((b"GIF87a", b"GIF89a")):
        return Sniffed("image", "image/gif", "GIF")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return Sniffed("image", "image/webp", "WEBP")
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return Sniffed("audio", "audio/wav")
    if head.startswith(b"OggS"):
        return Sniffed("audio", "audio/ogg")
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # EBML: WebM, or its parent Matroska
        return Sniffed("audio", "audio/webm")
    if head[4:8] == b"ftyp":
        return Sniffed("audio", "audio/mp4")
    if head.startswith(b"ID3") or _mpeg_frame(head):
        return Sniffed("audio", "audio/mpeg")
    raise UnsupportedMedia(f"this file type is not supported: send {SUPPORTED}")


def _mpeg_frame(head: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, a valid version, layer and bitrate."""
    if len(head) < 4 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return False
    version, layer = (head[1] >> 3) & 0b11, (head[1] >> 1) & 0b11
    bitrate, rate = head[2] >> 4, (head[2] >> 2) & 0b11
    return version != 0b01 and layer != 0b00 and bitrate not in (0b0000, 0b1111) and rate != 0b11
