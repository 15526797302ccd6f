"""``/v1/chat/completions`` with ``image_url`` and ``input_audio`` parts; remote images only
from allowed hosts at public addresses."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import httpx
import pytest

from frontdesk.media.config import MediaConfig
from frontdesk.media.remote import fetch_remote, public_address
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from tests.apphelpers import Running
from tests.media.conftest import sample_bot
from tests.media.samples import error_dialog, png_bytes, spoken_wav

BROKEN_PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 99


def ask(client: httpx.Client, parts: list[dict[str, Any]]) -> httpx.Response:
    return client.post(
        "/v1/chat/completions",
        json={"model": "frontdesk", "messages": [{"role": "user", "content": parts}]},
    )


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def test_image_and_audio_parts_are_read_and_answered(
    kb_settings: Settings, running: Running, tmp_path: Path
) -> None:
    wav = spoken_wav("How do I reset my password?", tmp_path)
    with running(ScriptedProvider(), bot=sample_bot()) as client:
        image = ask(
            client,
            [
                {"type": "text", "text": "I keep getting this"},
                {"type": "image_url", "image_url": {"url": data_url(png_bytes(error_dialog()))}},
            ],
        )
        assert image.status_code == 200, image.text
        answer = image.json()["choices"][0]["message"]["content"]
        assert "30 seconds" in answer or "Settings > Network" in answer, answer
        voice = ask(
            client,
            [
                {
                    "type": "input_audio",
                    "input_audio": {"data": base64.b64encode(wav).decode(), "format": "wav"},
                }
            ],
        )
        assert voice.status_code == 200, voice.text
        assert "Forgot password" in voice.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize(
    ("part", "status"),
    [
        ({"type": "image_url", "image_url": {"url": "https://evil.example/x.png"}}, 422),
        ({"type": "image_url", "image_url": {"url": "http://images.example/x.png"}}, 422),
        ({"type": "image_url", "image_url": {"url": "data:image/png;base64,!!!"}}, 422),
        ({"type": "image_url", "image_url": {"url": data_url(BROKEN_PNG)}}, 422),
        ({"type": "image_url", "image_url": {"url": data_url(b"GIF89a" + b"\x00" * 40)}}, 422),
        ({"type": "image_url", "image_url": {"url": data_url(b"%PDF-1.4 hi")}}, 415),
        ({"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}, 422),
        ({"type": "image_url", "image_url": {}}, 422),
    ],
    ids=["host", "http", "base64", "corrupt", "gif", "pdf", "no-audio", "no-url"],
)  # fmt: skip
def test_bad_parts_are_4xx_and_store_nothing(
    migrated: Settings, running: Running, part: dict[str, Any], status: int
) -> None:
    bot = sample_bot()
    bot = bot.model_copy(
        update={"media": bot.media.model_copy(update={"remote_image_hosts": ["images.example"]})}
    )
    with running(ScriptedProvider(), bot=bot) as client:
        resp = ask(client, [{"type": "text", "text": "look"}, part])
        assert resp.status_code == status, resp.text
        assert resp.json()["error"]["message"]
    media = migrated.data_dir / "media"
    assert [p for p in media.rglob("*") if p.is_file() and p.name != ".lock"] == []


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.9", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("::1", False),
        ("fd00::1", False),
        ("::ffff:10.0.0.1", False),
        ("224.0.0.1", False),
    ],
)
def test_only_public_addresses_are_fetched(address: str, public: bool) -> None:
    assert public_address(address) is public


async def test_an_allowed_host_at_a_private_address_is_refused() -> None:
    config = MediaConfig(remote_image_hosts=["localhost"])
    from frontdesk.errors import ValidationFailed

    with pytest.raises(ValidationFailed, match="private or reserved address"):
        await fetch_remote("https://localhost/logo.png", config, limit=1000)
    with pytest.raises(ValidationFailed, match="not accepted"):
        await fetch_remote("https://127.0.0.1.nip.io/x.png", config, limit=1000)
