"""Images: sniffed from the bytes, decoded within the pixel limit, re-encoded bare."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from frontdesk.media.errors import DamagedMedia, ImageTooLarge, UnsupportedMedia
from frontdesk.media.images import clean_image
from frontdesk.media.sniff import sniff
from tests.media.samples import encoded, error_dialog, png_bytes, png_declaring

LIMIT = 24_000_000


def clean(data: bytes, max_pixels: int = LIMIT):  # type: ignore[no-untyped-def]
    return clean_image(data, sniff(data), max_pixels=max_pixels)


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp"), ("GIF", "image/gif")],
)
def test_formats_are_told_from_their_bytes(fmt: str, mime: str) -> None:
    data = encoded(error_dialog(), fmt)
    assert sniff(data).mime == mime
    out = clean(data)
    assert (out.width, out.height) == (640, 220)
    assert out.mime == ("image/jpeg" if fmt == "JPEG" else "image/png")


@pytest.mark.parametrize(
    "data",
    [b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"%PDF-1.7\n", b"BM\x00\x00", b"hello"],
)
def test_other_files_are_unsupported_whatever_their_name(data: bytes) -> None:
    with pytest.raises(UnsupportedMedia):
        sniff(data)


def test_exif_and_text_chunks_are_dropped_and_orientation_applied() -> None:
    photo = Image.new("RGB", (40, 20), (200, 10, 10))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    exif[0x8825] = {2: (51.0, 30.0, 0.0)}  # GPS latitude
    data = encoded(photo, "JPEG", exif=exif.tobytes(), quality=95)
    assert b"PhoneMaker" in data
    out = clean(data)
    assert b"PhoneMaker" not in out.data and b"Exif" not in out.data
    assert (out.width, out.height) == (20, 40)  # displayed upright, then stored upright
    with Image.open(io.BytesIO(out.data)) as stored:
        assert dict(stored.getexif()) == {}
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "secret-author-name")
    png = png_bytes(error_dialog(), pnginfo=info)
    assert b"secret-author-name" in png
    assert b"secret-author-name" not in clean(png).data


def test_gif_keeps_its_first_frame() -> None:
    red = Image.new("RGB", (30, 30), (255, 0, 0))
    blue = Image.new("RGB", (30, 30), (0, 0, 255))
    data = encoded(red, "GIF", save_all=True, append_images=[blue], duration=100)
    out = clean(data)
    assert out.frames == 2
    with Image.open(io.BytesIO(out.data)) as stored:
        r, _g, b = stored.convert("RGB").getpixel((5, 5))  # type: ignore[misc]
    assert r > 200 and b < 50


def test_decompression_bomb_is_refused_before_decoding() -> None:
    bomb = png_declaring(100_000, 100_000)  # 10 gigapixels in a file of ~60 bytes
    assert len(bomb) < 200
    with pytest.raises(ImageTooLarge) as info:
        clean(bomb)
    assert info.value.http_status == 413
    with pytest.raises(ImageTooLarge, match="6000×5000"):
        clean(png_declaring(6000, 5000))  # over our limit, under Pillow's own


def test_corrupt_and_truncated_images_are_damaged() -> None:
    with pytest.raises(DamagedMedia):
        clean(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    whole = png_bytes(error_dialog())
    with pytest.raises(DamagedMedia) as info:
        clean(whole[: len(whole) // 2])
    assert info.value.http_status == 422
    with pytest.raises(DamagedMedia):
        clean(b"\xff\xd8\xff\xe0" + b"\x00" * 64)
