"""Text in images, read locally by Tesseract (Debian's ``tesseract-ocr`` + ``tesseract-ocr-eng``).

Tesseract runs as a child process per image, with a deadline (killed past it) and one thread
(``OMP_THREAD_LIMIT=1``: the machine's cores belong to the chat). Screenshot text is small and
anti-aliased, so the image is made grey on white and enlarged 2x when that keeps it within
:data:`UPSCALE_MAX_PIXELS`, which Tesseract reads far more reliably.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from frontdesk.media.errors import DamagedMedia, MediaUnavailable

if TYPE_CHECKING:
    from PIL import Image

UPSCALE_MAX_PIXELS = 6_000_000


@dataclass(frozen=True, slots=True)
class ReadText:
    text: str
    seconds: float


class TextReader(Protocol):
    """Reads the text in an image."""

    async def read(self, image: Image.Image) -> ReadText: ...


@dataclass(frozen=True)
class TesseractReader:
    languages: str = "eng"
    timeout_seconds: float = 20.0
    binary: str = "tesseract"
    max_parallel: int = 2
    """Images read at once by this process; more wait their turn (each uses one core)."""
    _slots: asyncio.Semaphore = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_slots", asyncio.Semaphore(self.max_parallel))

    def available(self) -> bool:
        return shutil.which(self.binary) is not None

    async def read(self, image: Image.Image) -> ReadText:
        async with self._slots:
            return await self._read(image)

    async def _read(self, image: Image.Image) -> ReadText:
        path = shutil.which(self.binary)
        if path is None:
            raise MediaUnavailable(
                "reading images needs Tesseract (Debian packages tesseract-ocr, tesseract-ocr-eng)"
            )
        started = time.perf_counter()
        png = await asyncio.to_thread(prepare, image)
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        proc = await asyncio.create_subprocess_exec(
            path,
            "stdin",
            "stdout",
            "-l",
            self.languages,
            "--psm",
            "3",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(png), self.timeout_seconds)
        except TimeoutError as exc:
            raise DamagedMedia(
                f"reading the image took longer than {self.timeout_seconds:g} seconds"
            ) from exc
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        if proc.returncode != 0:
            detail = err.decode("utf-8", "replace").strip().splitlines()
            raise MediaUnavailable(
                "Tesseract failed: " + (detail[-1] if detail else f"exit {proc.returncode}")
            )
        return ReadText(tidy(out.decode("utf-8", "replace")), time.perf_counter() - started)


def prepare(image: Image.Image) -> bytes:
    """Grey on white, enlarged 2x when small enough: what Tesseract reads best."""
    from PIL import Image  # Pillow: on the first image, not at start-up

    img = image
    if img.mode in ("RGBA", "LA", "PA"):
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        white.alpha_composite(img.convert("RGBA"))
        img = white
    grey = img.convert("L")
    if grey.width * grey.height * 4 <= UPSCALE_MAX_PIXELS:
        grey = grey.resize((grey.width * 2, grey.height * 2), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    grey.save(out, format="PNG", compress_level=1)
    return out.getvalue()


_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def tidy(text: str) -> str:
    """Tesseract's output without form feeds, runs of spaces or empty-line stacks."""
    lines = [_SPACES.sub(" ", line).strip() for line in text.replace("\f", "\n").splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()
