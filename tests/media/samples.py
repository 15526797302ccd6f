"""Real test inputs made on the spot: an error dialog drawn with Pillow, speech by espeak-ng."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont

ERROR_TITLE = "Pipeline run failed"
ERROR_LINES = (
    "Error NW-408: Connection timed out.",
    "Could not reach the database orders-db within 30 seconds.",
)


def error_dialog(
    lines: tuple[str, ...] = ERROR_LINES, *, title: str = ERROR_TITLE, scale: int = 1
) -> Image.Image:
    """A desktop-style error dialog: title bar, icon, message, an OK button."""
    width, height = 640 * scale, 220 * scale
    img = Image.new("RGB", (width, height), (236, 239, 244))
    draw = ImageDraw.Draw(img)
    title_font = ImageFont.load_default(size=18 * scale)
    body_font = ImageFont.load_default(size=16 * scale)
    draw.rectangle((0, 0, width, 40 * scale), fill=(52, 73, 94))
    draw.text((16 * scale, 10 * scale), title, fill=(255, 255, 255), font=title_font)
    draw.ellipse((24 * scale, 70 * scale, 64 * scale, 110 * scale), fill=(200, 40, 40))
    draw.text((39 * scale, 76 * scale), "!", fill=(255, 255, 255), font=title_font)
    y = 70 * scale
    for line in lines:
        draw.text((84 * scale, y), line, fill=(20, 20, 20), font=body_font)
        y += 28 * scale
    draw.rectangle(
        (width - 120 * scale, height - 56 * scale, width - 24 * scale, height - 20 * scale),
        outline=(90, 90, 90),
        fill=(250, 250, 250),
    )
    draw.text((width - 84 * scale, height - 48 * scale), "OK", fill=(0, 0, 0), font=body_font)
    return img


def png_bytes(img: Image.Image, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG", **params)
    return out.getvalue()


def encoded(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, format=fmt, **params)
    return out.getvalue()


def espeak() -> str:
    path = shutil.which("espeak-ng")
    if path is None:
        pytest.skip("espeak-ng is not installed (make media-deps installs it)")
    return path


def spoken_wav(text: str, folder: Path, *, name: str = "speech.wav") -> bytes:
    """``text`` spoken by espeak-ng as a WAV file (22 kHz mono).

    At 135 words a minute: at 150, whisper-base on some CPUs (ctranslate2 picks its kernels by
    the instruction set) heard "How do I risk it, my password?"; at 120-135 it hears the question.
    """
    target = folder / name
    subprocess.run(
        [espeak(), "-v", "en-us", "-s", "135", "-w", str(target), text],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return target.read_bytes()


def transcode(wav: bytes, container: str, codec: str, *, rate: int = 48_000) -> bytes:
    """``wav`` re-encoded with PyAV (OGG/WebM Opus as browsers record, MP3, M4A AAC)."""
    import av

    out = io.BytesIO()
    src: Any = av.open(io.BytesIO(wav))
    dst: Any = av.open(out, mode="w", format=container)
    with src, dst:
        stream = dst.add_stream(codec, rate=rate)
        stream.layout = "mono"
        resampler = av.AudioResampler(format=stream.format.name, layout="mono", rate=rate)
        for frame in src.decode(audio=0):
            frame.pts = None
            for piece in resampler.resample(frame):
                for packet in stream.encode(piece):
                    dst.mux(packet)
        for piece in resampler.resample(None):
            for packet in stream.encode(piece):
                dst.mux(packet)
        for packet in stream.encode(None):
            dst.mux(packet)
    return out.getvalue()


def silent_wav(seconds: float, *, rate: int = 1000, codec: int = 1) -> bytes:
    """A real 8-bit mono WAV of ``seconds`` of silence (2 hours at 1 kHz is 7.2 MB)."""
    import struct

    declared = int(seconds * rate)
    body = b"\x80" * declared
    fmt = struct.pack("<HHIIHH", codec, 1, rate, rate, 1, 8)
    return (
        b"RIFF"
        + struct.pack("<I", 36 + declared)
        + b"WAVEfmt "
        + struct.pack("<I", 16)
        + fmt
        + b"data"
        + struct.pack("<I", declared)
        + body
    )


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` × ``height`` pixels (a decompression bomb)."""
    import struct
    import zlib

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
