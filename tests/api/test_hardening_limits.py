"""Issue 9 finding 4: every route has a body size limit, enforced while the body arrives;
conversation metadata is bounded."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

from frontdesk.media.config import media_body_limits
from tests.apphelpers import Running

MIB = 1024 * 1024


def test_a_50_mib_metadata_value_is_refused_with_the_limit(running: Running) -> None:
    with running(None) as client:
        resp = client.post("/api/conversations", json={"metadata": {"note": "x" * (50 * MIB)}})
        assert resp.status_code == 413, resp.text
        error = resp.json()["error"]
        assert error["code"] == "payload_too_large"
        assert error["limit"] == MIB


def test_metadata_is_bounded_in_keys_and_lengths(running: Running) -> None:
    with running(None) as client:
        cases = [
            {f"k{i}": "v" for i in range(33)},
            {"k" * 65: "v"},
            {"note": "x" * 1025},
            {"nested": {"a": "b"}},
        ]
        for metadata in cases:
            resp = client.post("/api/conversations", json={"metadata": metadata})
            assert resp.status_code == 422, (metadata, resp.text)
            assert "metadata" in resp.json()["error"]["message"]
        ok = client.post("/api/conversations", json={"metadata": {"plan": "pro" * 300}})
        assert ok.status_code == 201


def _chunks(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    yield b'{"content": "'
    sent = 0
    while sent < total:
        yield b"a" * size
        sent += size
    yield b'"}'


def test_a_chunked_body_is_cut_off_at_the_limit_on_any_route(running: Running) -> None:
    with running(None, max_body_bytes=256 * 1024) as client:
        cid = client.post("/api/conversations", json={}).json()["id"]
        resp = client.post(
            f"/api/conversations/{cid}/messages",
            content=_chunks(4 * MIB),
            headers={"Content-Type": "application/json"},
        )
        assert resp.status_code == 413, resp.text
        assert resp.json()["error"]["limit"] == 256 * 1024
        # /v1 carries base64 images and audio: its own, larger limit, also cut off
        v1_limit = media_body_limits()["/v1/chat/completions"]
        v1 = client.post(
            "/v1/chat/completions",
            content=_chunks(v1_limit + MIB),
            headers={"Content-Type": "application/json"},
        )
        assert v1.status_code == 413
        assert v1.json()["error"]["limit"] == v1_limit


def test_a_declared_length_over_the_limit_is_answered_before_the_body_is_sent(
    running: Running,
) -> None:
    with running(None) as client:
        url = urlsplit(str(client.base_url))
        with socket.create_connection((url.hostname or "127.0.0.1", url.port or 80)) as sock:
            sock.sendall(
                b"POST /api/conversations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                b"\r\nContent-Length: 104857600\r\n\r\n"
            )
            sock.settimeout(10)
            head = sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 413"), head


def test_per_route_override(running: Running) -> None:
    with running(None, max_body_bytes=4096, body_limits={"/api/conversations": 64 * 1024}) as c:
        assert c.post("/api/conversations", json={"metadata": {"a": "b" * 1000}}).status_code == 201
        resp = c.post("/api/agent/tickets/any/notes", content=b"x" * 8192)
        assert resp.status_code == 413
        assert resp.json()["error"]["limit"] == 4096
