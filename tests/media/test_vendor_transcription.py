"""``media.transcription: vendor``: an OpenAI-compatible /audio/transcriptions over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from frontdesk.config import BotConfig, EndpointConfig
from frontdesk.errors import ConfigError
from frontdesk.media.audio import decode_recording
from frontdesk.media.config import MediaConfig
from frontdesk.media.errors import MediaUnavailable
from frontdesk.media.service import vendor_transcriber
from frontdesk.media.sniff import sniff
from frontdesk.media.transcribe import VendorTranscriber
from tests.media.samples import silent_wav
from tests.servers import serve


def vendor_app(seen: list[dict[str, object]]) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/audio/transcriptions")
    async def transcribe(request: Request) -> JSONResponse:
        if request.headers.get("authorization") != "Bearer sk-test":
            return JSONResponse({"error": {"message": "bad key"}}, status_code=401)
        async with request.form() as form:
            upload = form["file"]
            assert not isinstance(upload, str)
            data = await upload.read()
            seen.append({"model": form["model"], "name": upload.filename, "size": len(data)})
        return JSONResponse({"text": " How do I reset my password? "})

    return app


@pytest.fixture
def vendor() -> Iterator[tuple[str, list[dict[str, object]]]]:
    seen: list[dict[str, object]] = []
    with serve(vendor_app(seen)) as url:
        yield url + "/v1", seen


async def test_vendor_transcription_posts_the_recording(
    vendor: tuple[str, list[dict[str, object]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    base_url, seen = vendor
    monkeypatch.setenv("FD_TEST_VENDOR_KEY", "sk-test")
    bot = BotConfig(
        name="Nora",
        company="Acme",
        system_prompt="Help.",
        endpoints=[
            EndpointConfig(
                name="vendor",
                dialect="openai",
                model="gpt-4o-mini",
                base_url=base_url,
                api_key_env="FD_TEST_VENDOR_KEY",
            )
        ],
        media=MediaConfig(transcription="vendor", transcription_endpoint="vendor"),
    )
    transcriber = vendor_transcriber(bot)
    wav = silent_wav(2, rate=16000)
    transcript = await transcriber.transcribe(decode_recording(wav, sniff(wav), max_seconds=60))
    assert transcript.text == "How do I reset my password?"
    assert seen == [{"model": "whisper-1", "name": "recording.wav", "size": len(wav)}]
    wrong = VendorTranscriber(base_url, "sk-wrong")
    with pytest.raises(MediaUnavailable, match="HTTP 401"):
        await wrong.transcribe(decode_recording(wav, sniff(wav), max_seconds=60))


def test_vendor_transcription_needs_a_keyed_openai_endpoint() -> None:
    bot = BotConfig(
        name="Nora",
        company="Acme",
        system_prompt="Help.",
        media=MediaConfig(transcription="vendor", transcription_endpoint="local"),
    )
    with pytest.raises(ConfigError, match="openai-dialect"):
        vendor_transcriber(bot)
