"""``media.vision``: the image itself goes to the provider with the text read from it, and
openai-dialect endpoints get it as an ``image_url`` part; off, providers see text only."""

from __future__ import annotations

import base64
import io

import httpx
import pytest
from PIL import Image

from frontdesk.domain import ChatMessage
from frontdesk.media.config import MediaConfig
from frontdesk.media.message import IMAGE_OPEN
from frontdesk.providers.openai_chat import _wire_messages
from frontdesk.providers.scripted import ScriptedProvider
from tests.apphelpers import Running, new_conversation, send
from tests.conftest import make_bot
from tests.media.samples import error_dialog, png_bytes


def attach(client: httpx.Client, cid: str) -> str:
    resp = client.post(
        "/api/attachments",
        data={"conversation_id": cid},
        files={"file": ("s.png", png_bytes(error_dialog()), "image/png")},
    )
    assert resp.status_code == 201, resp.text
    att_id: str = resp.json()["id"]
    return att_id


@pytest.mark.parametrize("vision", [True, False])
def test_images_reach_the_provider_only_when_the_bot_allows(running: Running, vision: bool) -> None:
    provider = ScriptedProvider.from_texts(["It is a connection timeout."])
    bot = make_bot().model_copy(update={"media": MediaConfig(vision=vision)})
    with running(provider, bot=bot) as client:
        cid = new_conversation(client)
        send(client, cid, "What is this?", attachments=[attach(client, cid)])
    last = provider.requests[-1].messages[-1]
    assert last.role == "user"
    assert last.content.startswith("What is this?\n\n" + IMAGE_OPEN)
    assert "NW-408" in last.content  # the text read from it, either way
    if not vision:
        assert last.images == ()
        return
    (url,) = last.images
    assert url.startswith("data:image/png;base64,")
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as img:
        assert img.size == (640, 220)


def test_v1_image_parts_reach_the_provider_with_vision(running: Running) -> None:
    provider = ScriptedProvider.from_texts(["A timeout."])
    bot = make_bot().model_copy(update={"media": MediaConfig(vision=True)})
    url = "data:image/png;base64," + base64.b64encode(png_bytes(error_dialog())).decode()
    with running(provider, bot=bot) as client:
        resp = client.post(
            "/v1/chat/completions",
            json={
                "model": "frontdesk",
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {"type": "text", "text": "What is this?"},
                            {"type": "image_url", "image_url": {"url": url}},
                        ],
                    }
                ],
            },
        )
        assert resp.status_code == 200, resp.text
    last = provider.requests[-1].messages[-1]
    assert "NW-408" in last.content
    (sent,) = last.images
    assert sent.startswith("data:image/png;base64,")  # the cleaned image, not the upload


def test_openai_dialect_sends_image_url_parts() -> None:
    plain = ChatMessage("user", "hi")
    seen = ChatMessage("user", "what is this?", images=("data:image/png;base64,AAAA",))
    wire = _wire_messages([plain, seen])
    assert wire[0] == {"role": "user", "content": "hi"}
    assert wire[1]["content"] == [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
    ]
