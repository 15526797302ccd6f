"""Decode an image within a pixel limit and re-encode it with no metadata.

The declared size is checked before any pixel is decoded, so a decompression bomb (a small
file that inflates to gigabytes) is refused without inflating it. Only the sniffed format's
decoder may open the bytes; a GIF or animated WebP keeps its first frame; EXIF (camera, GPS,
time), ICC profiles and text chunks are dropped by building a fresh image from the pixels.
Call it in a worker thread: decoding is CPU work.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from frontdesk.media.errors import DamagedMedia, ImageTooLarge
from frontdesk.media.sniff import Sniffed

_KEEP_MODES = {"RGB", "RGBA", "L", "LA"}


@dataclass(frozen=True, slots=True)
class CleanImage:
    data: bytes
    """The re-encoded image: PNG, or JPEG for photos that came as JPEG."""
    mime: str
    width: int
    height: int
    frames: int
    """Frames in the original (only the first is kept)."""
    pixels: Image.Image
    """The decoded first frame (for OCR); not stored."""


def clean_image(data: bytes, sniffed: Sniffed, *, max_pixels: int) -> CleanImage:
    """The image re-encoded without metadata; raises ImageTooLarge or DamagedMedia."""
    assert sniffed.kind == "image" and sniffed.pil_format is not None
    try:
        img = Image.open(io.BytesIO(data), formats=[sniffed.pil_format])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLarge(
            f"the image has too many pixels; the limit is {max_pixels}", limit=max_pixels
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DamagedMedia("the image could not be read: the file is damaged") from exc
    with img:
        width, height = img.size
        if width <= 0 or height <= 0:
            raise DamagedMedia("the image could not be read: it has no pixels")
        if width * height > max_pixels:
            raise ImageTooLarge(
                f"the image is {width}×{height} pixels; the limit is {max_pixels} pixels",
                limit=max_pixels,
            )
        frames = int(getattr(img, "n_frames", 1) or 1)
        try:
            img.seek(0)
            img.load()
            frame = _upright(img) if sniffed.pil_format in ("JPEG", "WEBP") else img
            frame = _plain_mode(frame)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageTooLarge(
                f"the image has too many pixels; the limit is {max_pixels}", limit=max_pixels
            ) from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise DamagedMedia("the image could not be read: the file is damaged") from exc
    # a fresh image from the pixels alone: no EXIF, ICC profile, comments or text chunks
    bare = Image.frombytes(frame.mode, frame.size, frame.tobytes())
    out = io.BytesIO()
    if sniffed.pil_format == "JPEG" and bare.mode in ("RGB", "L"):
        bare.save(out, format="JPEG", quality=90, optimize=True)
        mime = "image/jpeg"
    else:
        bare.save(out, format="PNG", optimize=False, compress_level=6)
        mime = "image/png"
    return CleanImage(out.getvalue(), mime, bare.width, bare.height, frames, bare)


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation before the EXIF goes (phone photos are stored sideways)."""
    turned = ImageOps.exif_transpose(img)
    return turned if turned is not None else img


def _plain_mode(img: Image.Image) -> Image.Image:
    if img.mode in _KEEP_MODES:
        return img
    has_alpha = img.mode in ("PA", "RGBa", "La") or "transparency" in img.info
    return img.convert("RGBA" if has_alpha else "RGB")
