"""The SSE splitter of the thin OpenAI client, fed as the socket hands out pieces."""

from __future__ import annotations

import pytest

from frontdesk.providers.openai_http import _EventSplitter

BODY = (
    b": a comment\n"
    b"event: message\n"
    b'data: {"a":1}\n'
    b"\n"
    b"data: first line\n"
    b"data:second line\n"
    b"id: 7\n"
    b"\n"
    b"data: caf\xc3\xa9\n"
    b"\n"
    b"data: [DONE]\n"
    b"\n"
)
EVENTS = ['{"a":1}', "first line\nsecond line", "café", "[DONE]"]


def split(pieces: list[bytes]) -> list[str]:
    splitter = _EventSplitter()
    out: list[str] = []
    for piece in pieces:
        out += splitter.feed(piece)
    return out + splitter.end()


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_every_line_ending_and_every_split(ending: bytes) -> None:
    body = BODY.replace(b"\n", ending)
    assert split([body]) == EVENTS
    assert split([body[i : i + 1] for i in range(len(body))]) == EVENTS  # one byte a piece
    for cut in range(1, len(body)):
        assert split([body[:cut], body[cut:]]) == EVENTS


def test_a_last_event_without_its_blank_line() -> None:
    assert split([b"data: one\n\ndata: two"]) == ["one", "two"]
    assert split([b"data: one\n\ndata: two\r"]) == ["one", "two"]
    assert split([b"data: one\n\n: only a comment"]) == ["one"]


def test_bad_utf8_is_replaced() -> None:
    assert split([b"data: \xff\n\n"]) == ["\ufffd"]
