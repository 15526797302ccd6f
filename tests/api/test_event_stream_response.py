"""EventStreamResponse driven as ASGI: a client that leaves cancels the stream."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, MutableMapping
from typing import Any

import pytest

from frontdesk.api.streaming import EventStreamResponse

SCOPE: dict[str, Any] = {"type": "http", "method": "GET", "path": "/"}


class Client:
    """``receive``/``send`` of one connection; ``leave()`` sends ``http.disconnect``."""

    def __init__(self) -> None:
        self.sent: list[MutableMapping[str, Any]] = []
        self._left = asyncio.Event()

    async def receive(self) -> dict[str, Any]:
        await self._left.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)

    def leave(self) -> None:
        self._left.set()

    def bodies(self) -> list[bytes]:
        return [m["body"] for m in self.sent if m["type"] == "http.response.body"]


async def test_streams_the_frames_then_ends_the_body() -> None:
    async def frames() -> AsyncGenerator[str, None]:
        yield "data: 1\n\n"
        yield "data: 2\n\n"

    closed: list[bool] = []
    client = Client()
    response = EventStreamResponse(frames(), on_close=lambda: closed.append(True), cancel_once=True)
    await response(SCOPE, client.receive, client.send)
    assert client.sent[0]["status"] == 200
    assert client.bodies() == [b"data: 1\n\n", b"data: 2\n\n", b""]
    assert client.sent[-1]["more_body"] is False
    assert closed == [True]


async def test_a_client_that_leaves_cancels_a_silent_source() -> None:
    """The source waits (an upstream before its first token): the disconnect cancels that
    wait, the source is closed, and the response returns without leaving the task
    cancelled."""
    cancelled: list[bool] = []
    finished: list[bool] = []

    async def frames() -> AsyncGenerator[str, None]:
        yield "data: first\n\n"
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise
        finally:
            finished.append(True)
        yield "data: never\n\n"

    client = Client()
    closed: list[bool] = []
    response = EventStreamResponse(frames(), on_close=lambda: closed.append(True), cancel_once=True)
    serving = asyncio.ensure_future(response(SCOPE, client.receive, client.send))
    await asyncio.sleep(0.01)
    client.leave()
    await asyncio.wait_for(serving, 5)
    assert cancelled == [True] and finished == [True] and closed == [True]
    assert client.bodies() == [b"data: first\n\n"]  # no end of body for a client that left


async def test_a_source_that_goes_on_after_the_disconnect_sends_no_more() -> None:
    async def stubborn() -> AsyncGenerator[str, None]:
        yield "data: first\n\n"
        # a source that swallows the cancellation (it stores what it had) and goes on
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(30)
        for n in range(5):
            yield f"data: after {n}\n\n"

    client = Client()
    serving = asyncio.ensure_future(
        EventStreamResponse(stubborn(), cancel_once=True)(SCOPE, client.receive, client.send)
    )
    await asyncio.sleep(0.01)
    client.leave()
    await asyncio.wait_for(serving, 5)
    assert client.bodies()[:1] == [b"data: first\n\n"]
    assert len(client.bodies()) <= 2  # at most the frame already on its way
    assert all(m.get("more_body", True) for m in client.sent[1:])


async def test_a_cancel_from_elsewhere_propagates() -> None:
    """A cancellation that is not the client leaving (a server shutting down) is not
    swallowed."""

    async def frames() -> AsyncGenerator[str, None]:
        yield "data: first\n\n"
        await asyncio.sleep(30)
        yield "data: never\n\n"

    client = Client()
    closed: list[bool] = []
    response = EventStreamResponse(frames(), on_close=lambda: closed.append(True), cancel_once=True)
    serving = asyncio.ensure_future(response(SCOPE, client.receive, client.send))
    await asyncio.sleep(0.01)
    serving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await serving
    assert closed == [True]


@pytest.mark.parametrize("cancel_once", [False, True])
async def test_both_ways_end_a_source_that_ends_at_its_cancellation(cancel_once: bool) -> None:
    async def frames() -> AsyncGenerator[str, None]:
        yield "data: first\n\n"
        await asyncio.sleep(30)
        yield "data: never\n\n"

    client = Client()
    response = EventStreamResponse(frames(), cancel_once=cancel_once)
    serving = asyncio.ensure_future(response(SCOPE, client.receive, client.send))
    await asyncio.sleep(0.01)
    client.leave()
    await asyncio.wait_for(serving, 5)
    assert client.bodies() == [b"data: first\n\n"]


async def test_by_default_a_source_that_swallows_one_cancellation_still_ends() -> None:
    """The chat and live streams: a cancellation lost in the source (asyncio.wait_for on
    3.11, a suppressed pump) is delivered again at its next await."""
    ended: list[bool] = []

    async def frames() -> AsyncGenerator[str, None]:
        yield "data: first\n\n"
        try:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(30)
            await asyncio.sleep(30)  # cancelled again
            yield "data: never\n\n"
        finally:
            ended.append(True)

    client = Client()
    serving = asyncio.ensure_future(
        EventStreamResponse(frames())(SCOPE, client.receive, client.send)
    )
    await asyncio.sleep(0.01)
    client.leave()
    await asyncio.wait_for(serving, 5)
    assert ended == [True]
    assert client.bodies() == [b"data: first\n\n"]
