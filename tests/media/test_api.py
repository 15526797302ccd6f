"""Native API end to end on the real app: a screenshot of an error dialog and a spoken
question are answered from the documents with citations; bad files are clear 4xx errors
and store nothing; erasure removes the attachments."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from frontdesk.media.message import IMAGE_CLOSE, IMAGE_OPEN
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from tests.apphelpers import Running, new_conversation, parse_sse, send, text_of
from tests.media.conftest import sample_bot
from tests.media.samples import (
    encoded,
    error_dialog,
    png_bytes,
    png_declaring,
    silent_wav,
    spoken_wav,
    transcode,
)


def upload(client: httpx.Client, cid: str, data: bytes, name: str = "file.bin") -> httpx.Response:
    return client.post(
        "/api/attachments",
        data={"conversation_id": cid},
        files={"file": (name, data, "application/octet-stream")},
    )


def media_files(settings: Settings) -> list[Path]:
    root = settings.data_dir / "media"
    return [p for p in root.rglob("*") if p.is_file() and p.name != ".lock"]


def test_screenshot_of_an_error_is_answered_with_a_citation(
    kb_settings: Settings, running: Running
) -> None:
    with running(ScriptedProvider(), bot=sample_bot()) as client:
        cid = new_conversation(client)
        resp = upload(client, cid, png_bytes(error_dialog()), name="screenshot.png")
        assert resp.status_code == 201, resp.text
        att = resp.json()
        assert att["kind"] == "image" and att["mime"] == "image/png"
        assert "Error NW-408: Connection timed out." in att["text"]  # what the customer sees
        image = client.get(att["url"])
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert image.headers["x-content-type-options"] == "nosniff"
        events = send(client, cid, "What does this mean?", attachments=[att["id"]])
        answer = text_of(events)
        assert "30 seconds" in answer or "Settings > Network" in answer, answer
        assert "doesn't mention" not in answer  # the dialog's chrome is not the question
        (cites,) = [e.data["citations"] for e in events if e.event == "citations"]
        assert cites[0]["title"] == "Troubleshooting Failed Pipeline Runs"
        assert "[1]" in answer
        stored = client.get(f"/api/conversations/{cid}").json()["messages"]
        question = next(m for m in stored if m["role"] == "user")
        assert question["attachments"][0]["id"] == att["id"]
        assert question["content"].startswith("What does this mean?\n\n" + IMAGE_OPEN)
        assert "NW-408" in question["content"] and question["content"].endswith(IMAGE_CLOSE)


def test_spoken_question_is_transcribed_shown_and_answered(
    kb_settings: Settings, running: Running, tmp_path: Path
) -> None:
    wav = spoken_wav("How do I reset my password?", tmp_path)
    recording = transcode(wav, "webm", "libopus")  # as the web chat's MediaRecorder sends it
    with running(ScriptedProvider(), bot=sample_bot()) as client:
        cid = new_conversation(client)
        resp = upload(client, cid, recording, name="voice.webm")
        assert resp.status_code == 201, resp.text
        att = resp.json()
        assert att["kind"] == "audio" and att["mime"] == "audio/webm"
        assert att["text"].lower().strip(" ?.") == "how do i reset my password"
        events = send(client, cid, "", attachments=[att["id"]])
        answer = text_of(events)
        assert "Forgot password" in answer, answer
        (cites,) = [e.data["citations"] for e in events if e.event == "citations"]
        assert cites[0]["title"] == "Reset Your Password"
        stored = client.get(f"/api/conversations/{cid}").json()["messages"]
        assert [m["content"] for m in stored if m["role"] == "user"] == [att["text"]]


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x07" * 300, 422, "unreadable_media"),
        (png_declaring(40_000, 40_000), 413, "image_too_large"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><text>hi</text></svg>", 415, None),
        (silent_wav(2 * 3600), 413, "recording_too_long"),
        (silent_wav(2, rate=8000, codec=0x9999), 415, "unsupported_media_type"),
    ],
    ids=["corrupt", "bomb", "svg", "two-hours", "codec"],
)
def test_bad_files_are_clear_errors_and_store_nothing(
    migrated: Settings, running: Running, data: bytes, status: int, code: str | None
) -> None:
    with running(ScriptedProvider(), bot=sample_bot()) as client:
        cid = new_conversation(client)
        resp = upload(client, cid, data)
        assert resp.status_code == status, resp.text
        error = resp.json()["error"]
        assert error["code"] == (code or "unsupported_media_type")
        assert error["message"]
        assert media_files(migrated) == []
        msgs = client.get(f"/api/conversations/{cid}").json()["messages"]
        assert msgs == []


def test_limits_ids_and_erasure(migrated: Settings, running: Running) -> None:
    bot = sample_bot()
    small = bot.model_copy(
        update={"media": bot.media.model_copy(update={"max_image_bytes": 50_000})}
    )
    photo = encoded(error_dialog(scale=3), "JPEG", quality=98)
    assert len(photo) > 50_000
    with running(ScriptedProvider(), bot=small) as client:
        cid = new_conversation(client)
        too_big = upload(client, cid, photo)
        assert too_big.status_code == 413 and too_big.json()["error"]["limit"] == 50_000
        huge = upload(client, cid, b"\x89PNG" + b"\x00" * (17 * 1024 * 1024))
        assert huge.status_code == 413  # cut off while reading, past the body ceiling
        missing = client.post("/api/attachments", files={"file": ("a.png", b"x")})
        assert missing.status_code == 422
        unknown = upload(client, "no-such-conversation", png_bytes(error_dialog()))
        assert unknown.status_code == 404
        ok = upload(client, cid, png_bytes(error_dialog()))
        assert ok.status_code == 201
        other = new_conversation(client)
        stolen = client.post(
            f"/api/conversations/{other}/messages",
            json={"content": "hi", "attachments": [ok.json()["id"]], "stream": False},
        )
        assert stolen.status_code == 404  # attachments belong to their conversation
        assert media_files(migrated)
        anonymous = client.delete(f"/api/admin/conversations/{cid}")
        assert anonymous.status_code == 401
        token = migrated.admin_token.get_secret_value()
        erased = client.delete(
            f"/api/admin/conversations/{cid}", headers={"Authorization": f"Bearer {token}"}
        )
        assert erased.status_code == 204
        assert media_files(migrated) == []
        assert client.get(ok.json()["url"]).status_code == 404
        assert client.get(f"/api/conversations/{cid}").status_code == 404


def test_streamed_events_parse() -> None:
    assert parse_sse('event: start\ndata: {"a": 1}\n\n')[0].data == {"a": 1}
