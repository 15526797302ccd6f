"""Tesseract reads the error message back from a dialog drawn with Pillow."""

from __future__ import annotations

import shutil

import pytest

from frontdesk.media.images import clean_image
from frontdesk.media.ocr import TesseractReader, tidy
from frontdesk.media.sniff import sniff
from tests.media.samples import error_dialog, png_bytes

pytestmark = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="tesseract missing: make media-deps installs it"
)


async def test_reads_the_error_message_of_a_screenshot() -> None:
    data = png_bytes(error_dialog())
    image = clean_image(data, sniff(data), max_pixels=24_000_000)
    read = await TesseractReader().read(image.pixels)
    assert "Pipeline run failed" in read.text
    assert "Error NW-408: Connection timed out." in read.text
    assert "Could not reach the database orders-db within 30 seconds." in read.text


async def test_an_image_without_text_reads_as_empty() -> None:
    from PIL import Image

    read = await TesseractReader().read(Image.new("RGB", (200, 100), (255, 255, 255)))
    assert read.text == ""


async def test_a_missing_engine_is_a_clear_503() -> None:
    from PIL import Image

    from frontdesk.media.errors import MediaUnavailable

    reader = TesseractReader(binary="tesseract-not-installed")
    with pytest.raises(MediaUnavailable) as info:
        await reader.read(Image.new("RGB", (10, 10)))
    assert info.value.http_status == 503


def test_tidy_collapses_spacing() -> None:
    assert tidy("a   b\f\n\n\n\nc  \n") == "a b\n\nc"
