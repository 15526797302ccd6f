"""An event-stream response that always closes its source.

Starlette's ``StreamingResponse`` may stop iterating on a disconnect without
closing the body iterator, leaving the generation running until garbage
collection. This response listens for ``http.disconnect`` while streaming,
cancels the stream at once, and always ``aclose()``s the source so the turn
pipeline can cancel the provider call and store the partial answer, then calls
``on_close`` (which frees what the stream held, even when it never started).

``cancel_once=True`` is for a source that ends when cancelled once (the gateway's provider
stream, the chat stream of ``api/chat.py``): a plain asyncio task watches for the
disconnect and cancels the streaming task one time. The default keeps an anyio task group,
whose cancelled scope cancels every later await of the source too: the live stream
(``api/live.py``) still needs that (with the plain watcher a cancellation is lost somewhere
on its path: tests/api/test_abuse_live_workers.py fails, the stream outliving its client).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import anyio
from starlette.background import BackgroundTask
from starlette.responses import Response
from starlette.types import Receive, Scope, Send


class EventStreamResponse(Response):
    media_type = "text/event-stream"

    def __init__(
        self,
        content: AsyncIterator[str],
        *,
        headers: Mapping[str, str] | None = None,
        background: BackgroundTask | None = None,
        on_close: Callable[[], None] | None = None,
        cancel_once: bool = False,
    ) -> None:
        self.body_iterator = content
        self.on_close = on_close
        self.cancel_once = cancel_once
        self.status_code = 200
        self.background = background
        self.init_headers(
            {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})}
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.cancel_once:
            await self._with_task_group(send, receive)
            return
        source = self.body_iterator
        task = asyncio.current_task()
        assert task is not None
        cancelling = task.cancelling()
        left = _Left(task)
        watcher: asyncio.Task[None] | None = None
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            # cancel_once: a plain task, not an anyio task group (the group's scopes, its
            # spawn and its cancellation delivery were most of this response's own CPU)
            watcher = asyncio.get_running_loop().create_task(_watch_disconnect(receive, left))
            try:
                async for chunk in source:
                    await send(
                        {
                            "type": "http.response.body",
                            "body": chunk.encode(),
                            "more_body": True,
                        }
                    )
                    if left.gone:  # the source went on after its cancellation
                        break
                else:
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
            except OSError:  # the client went away while we were writing
                pass
            except BaseException as exc:
                # the client left: the stream was cancelled for that, which ends it here
                if not (
                    left.gone
                    and task.uncancel() <= cancelling
                    and isinstance(exc, asyncio.CancelledError)
                ):
                    raise
        finally:
            if watcher is not None:
                watcher.cancel()
            await self._close(source)
        if self.background is not None:
            await self.background()

    async def _close(self, source: AsyncIterator[str]) -> None:
        try:
            with anyio.CancelScope(shield=True):
                await source.aclose()  # type: ignore[attr-defined]
        finally:
            if self.on_close is not None:
                self.on_close()  # also when the source never started

    async def _with_task_group(self, send: Send, receive: Receive) -> None:
        """The disconnect cancels an anyio scope: every await of the source is cancelled
        again until it ends (a source may swallow one cancellation, as ``asyncio.wait_for``
        can on Python 3.11 when its inner future finishes at the same moment)."""
        source = self.body_iterator
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": self.status_code,
                    "headers": self.raw_headers,
                }
            )
            async with anyio.create_task_group() as tg:

                async def watch_disconnect() -> None:
                    while True:
                        message = await receive()
                        if message["type"] == "http.disconnect":
                            tg.cancel_scope.cancel()
                            return

                tg.start_soon(watch_disconnect)
                try:
                    async for chunk in source:
                        await send(
                            {
                                "type": "http.response.body",
                                "body": chunk.encode(),
                                "more_body": True,
                            }
                        )
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                except OSError:  # the client went away while we were writing
                    pass
                tg.cancel_scope.cancel()
        finally:
            await self._close(source)
        if self.background is not None:
            await self.background()


class _Left:
    """Whether the client left (``http.disconnect``), and the task streaming to it."""

    __slots__ = ("gone", "task")

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task = task
        self.gone = False


async def _watch_disconnect(receive: Receive, left: _Left) -> None:
    """Cancel the streaming task when the client leaves (a failing ``receive`` counts as
    leaving: nothing more can be told to it)."""
    try:
        while (await receive())["type"] != "http.disconnect":
            pass
    except Exception:
        pass
    left.gone = True
    left.task.cancel()
