"""Issue 9, finding 8: uploads are streamed with the size limit enforced while reading, and
parsed in a worker process with limits on time, memory and decompressed size.

The files are real: a DOCX made by python-docx, a zip bomb whose document.xml inflates to
34 MB, a PDF whose trailer /Info references itself (pypdf raised AttributeError: HTTP 500),
a PDF page tree that lists a billion pages in a few hundred bytes.
"""

from __future__ import annotations

import io
import socket
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import docx
import httpx
import pytest

from frontdesk.app import create_app
from frontdesk.config import KnowledgeConfig
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from tests.conftest import make_bot
from tests.knowledge.pdfs import (
    content_stream_bomb,
    page_tree_bomb,
    self_referencing_info_pdf,
    text_pdf,
)
from tests.servers import serve

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def valid_docx() -> bytes:
    document = docx.Document()
    document.add_heading("Shipping", level=1)
    document.add_paragraph("Orders ship within two business days.")
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def docx_bomb(inflated_bytes: int = 34 * 1024 * 1024) -> bytes:
    """A DOCX whose document.xml is ``inflated_bytes`` of one repeated paragraph."""
    paragraph = b"<w:p><w:r><w:t>aaaaaaaaaaaaaaaa</w:t></w:r></w:p>"
    body = paragraph * (inflated_bytes // len(paragraph))
    xml = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body>" + body + b"</w:body></w:document>"
    )
    out = io.BytesIO()
    template = zipfile.ZipFile(io.BytesIO(valid_docx()))
    bomb = zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9)
    with template as source, bomb as target:
        for item in source.infolist():
            data = xml if item.filename == "word/document.xml" else source.read(item)
            target.writestr(item.filename, data)
    return out.getvalue()


@contextmanager
def app_client(settings: Settings, **overrides: object) -> Iterator[httpx.Client]:
    bot = make_bot().model_copy(update={"knowledge": KnowledgeConfig()})
    app = create_app(
        settings.model_copy(update=overrides),
        bot=bot,
        provider=ScriptedProvider.from_texts(["ok"]),
    )
    token = settings.admin_token.get_secret_value()
    with (
        serve(app) as base,
        httpx.Client(
            base_url=base, timeout=120, headers={"Authorization": f"Bearer {token}"}
        ) as client,
    ):
        yield client


def upload(client: httpx.Client, name: str, data: bytes, mime: str) -> httpx.Response:
    return client.post("/api/admin/documents", files={"file": (name, data, mime)})


def test_bombs_and_broken_files_are_422_and_valid_files_are_ingested(migrated: Settings) -> None:
    bomb = docx_bomb()
    assert len(bomb) < 200_000  # ~100 kB that inflates to 34 MB
    pages = page_tree_bomb()
    with app_client(migrated) as client:
        started = time.monotonic()
        resp = upload(client, "bomb.docx", bomb, DOCX)
        assert resp.status_code == 422, resp.text
        assert "decompression bomb" in resp.json()["error"]["message"]
        assert time.monotonic() - started < 10
        resp = upload(client, "pages.pdf", pages, "application/pdf")
        assert resp.status_code == 422, resp.text
        assert "1000000000 pages" in resp.json()["error"]["message"]
        resp = upload(client, "info.pdf", self_referencing_info_pdf(), "application/pdf")
        assert resp.status_code == 422, resp.text  # was HTTP 500 (pypdf AttributeError)
        assert resp.json()["error"]["message"]
        garbage = b"%PDF-1.4\n" + bytes(range(256)) * 40
        resp = upload(client, "garbage.pdf", garbage, "application/pdf")
        assert resp.status_code == 422, resp.text
        for name, data, mime in [
            ("shipping.docx", valid_docx(), DOCX),
            ("refunds.pdf", text_pdf(), "application/pdf"),
        ]:
            resp = upload(client, name, data, mime)
            assert resp.status_code == 201, resp.text
            assert resp.json()["added"] == 1
        listed = client.get("/api/admin/documents").json()["documents"]
        assert sorted(d["source"] for d in listed) == ["refunds.pdf", "shipping.docx"]


def test_parse_deadline_kills_the_worker(migrated: Settings) -> None:
    liar = page_tree_bomb(honest_count=False)  # claims 1 page: only walking it tells
    with app_client(migrated, parse_timeout_seconds=0.3) as client:
        resp = upload(client, "liar.pdf", liar, "application/pdf")
        assert resp.status_code == 422, resp.text
        assert "took longer than 0.3 s" in resp.json()["error"]["message"]
        assert _sandbox_children() == []


def test_the_size_limit_is_enforced_while_the_body_streams_in(migrated: Settings) -> None:
    limit = 100_000
    with app_client(migrated, upload_max_bytes=limit) as client:
        resp = upload(client, "big.md", b"# Big\n\n" + b"word " * 30_000, "text/markdown")
        assert resp.status_code == 413, resp.text
        assert resp.json()["error"]["message"] == f"the file is larger than {limit} bytes"
        host, port = _address(client)
        # a chunked body of 200 MB without Content-Length: refused long before its end
        sent, status = _send_chunked(host, port, client, total=200 * 1024 * 1024)
        assert status == 413
        assert sent < 20 * 1024 * 1024
        # a declared Content-Length over the limit: refused before any body byte is read
        sent, status = _send_chunked(host, port, client, total=0, declared=10**10)
        assert status == 413


def test_client_leaving_kills_the_parse(migrated: Settings) -> None:
    slow = content_stream_bomb()  # 31 kB; ~17 s of pypdf before its token limit trips
    with app_client(migrated, parse_timeout_seconds=60) as client:
        host, port = _address(client)
        boundary = "b0undary"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                f'filename="slow.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
            ).encode()
            + slow
            + f"\r\n--{boundary}--\r\n".encode()
        )
        sock = socket.create_connection((host, port))
        sock.sendall(
            (
                f"POST /api/admin/documents HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: {client.headers['authorization']}\r\n"
                f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
        deadline = time.monotonic() + 10
        while not _sandbox_children() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _sandbox_children(), "the parser worker never started"
        time.sleep(3)  # past the worker's start-up: it is parsing now
        sock.close()  # the client leaves mid-parse
        deadline = time.monotonic() + 1.5
        while _sandbox_children() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _sandbox_children() == [], "the parser kept running after the client left"


def _address(client: httpx.Client) -> tuple[str, int]:
    parts = urlsplit(str(client.base_url))
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def _send_chunked(
    host: str, port: int, client: httpx.Client, *, total: int, declared: int | None = None
) -> tuple[int, int]:
    """Stream a multipart body until the server answers; (bytes sent, HTTP status)."""
    boundary = "b0undary"
    length = f"Content-Length: {declared}" if declared else "Transfer-Encoding: chunked"
    head = (
        f"POST /api/admin/documents HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: {client.headers['authorization']}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n{length}\r\n\r\n"
    ).encode()
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.md"\r\n\r\n'
    ).encode()
    sent = 0
    with socket.create_connection((host, port)) as sock:
        sock.sendall(head)
        sock.settimeout(0.0)
        chunk = b"x" * 65536
        first = True
        try:
            while sent < total:
                data = (part + chunk) if first else chunk
                first = False
                sock.sendall(b"%x\r\n" % len(data) + data + b"\r\n")
                sent += len(data)
                try:
                    if sock.recv(1, socket.MSG_PEEK):
                        break  # the server has answered
                except BlockingIOError:
                    continue
        except (BrokenPipeError, ConnectionResetError, BlockingIOError):
            pass  # the server stopped reading and closed
        sock.settimeout(10)
        reply = b""
        while b"\r\n" not in reply:
            more = sock.recv(4096)
            if not more:
                break
            reply += more
    status = int(reply.split(b" ", 2)[1]) if reply.startswith(b"HTTP/1.1 ") else 0
    return sent, status


def _sandbox_children() -> list[int]:
    """Live worker processes (``python -m frontdesk.knowledge.sandbox``) on this machine
    started by this test process."""
    import os

    found = []
    me = str(os.getpid())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if stat[1] == me and stat[0] != "Z" and b"frontdesk.knowledge.sandbox" in cmdline:
            found.append(int(entry.name))
    return found


@pytest.fixture(autouse=True)
def _no_leftover_workers() -> Iterator[None]:
    yield
    assert _sandbox_children() == []
