"""The ``media:`` section of a bot config: what customers may attach, and the limits."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MiB = 1024 * 1024
BODY_CEILING = 16 * MiB
"""The largest attachment any bot may allow (the app's body limit of the upload routes)."""


class MediaConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Customers may attach images and voice recordings")
    max_image_bytes: int = Field(8 * MiB, ge=1024, le=BODY_CEILING)
    max_image_pixels: int = Field(
        24_000_000,
        ge=10_000,
        le=100_000_000,
        description="Width × height limit, checked before decoding (decompression bombs)",
    )
    max_audio_bytes: int = Field(8 * MiB, ge=1024, le=BODY_CEILING)
    max_audio_seconds: float = Field(
        180.0, gt=0, le=1800, description="Longest recording transcribed"
    )
    max_attachments: int = Field(4, ge=1, le=10, description="Attachments on one message")
    max_image_text_chars: int = Field(
        2000, ge=100, le=4000, description="Text read from one image, cut beyond this"
    )
    ocr_languages: str = Field("eng", pattern=r"^[a-z_]{3,16}(\+[a-z_]{3,16})*$")
    ocr_timeout_seconds: float = Field(20.0, gt=0, le=120)
    transcription: Literal["local", "vendor", "off"] = Field(
        "local",
        description="local: faster-whisper with the packaged whisper-base model; vendor: the "
        "OpenAI-compatible /audio/transcriptions of transcription_endpoint",
    )
    transcription_endpoint: str | None = Field(
        None, description="Endpoint (openai dialect) whose /audio/transcriptions is called"
    )
    transcription_model: str = "whisper-1"
    language: str | None = Field(
        "en", description="Spoken language (ISO code) for the local model; None: detect"
    )
    vision: bool = Field(
        False,
        description="Send the image itself with the text read from it (native API); for "
        "endpoints whose model sees images: openai-dialect endpoints get image_url parts, "
        "other dialects the text only. Off: providers only see the text read from it",
    )
    remote_image_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts /v1 image_url parts may be fetched from (https only); empty: "
        "data: URLs only",
    )
    remote_timeout_seconds: float = Field(10.0, gt=0, le=60)
    retention_days: float | None = Field(
        None,
        gt=0,
        description="Attachments older than this are deleted (checked hourly, on upload); "
        "None: kept until their conversation is erased",
    )


def media_body_limits() -> dict[str, int]:
    """Request body ceilings of the routes that carry files (each bot's limits are lower)."""
    framing = 256 * 1024
    return {
        "/api/attachments": BODY_CEILING + framing,
        # base64 data: URLs in image_url / input_audio parts grow the bytes by a third
        "/v1/chat/completions": BODY_CEILING * 4 // 3 + framing,
    }
