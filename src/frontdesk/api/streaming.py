"""An event-stream response that always closes its source.

Starlette's ``StreamingResponse`` may stop iterating on a disconnect without
closing the body iterator, leaving the generation running until garbage
collection. This response listens for ``http.disconnect`` while streaming,
cancels the stream at once, and always ``aclose()``s the source so the turn
pipeline can cancel the provider call and store the partial answer, then calls
``on_close`` (which frees what the stream held, even when it never started).
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
    ) -> None:
        self.body_iterator = content
        self.on_close = on_close
        self.status_code = 200
        self.background = background
        self.init_headers(
            {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **(headers or {})}
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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
            # a plain task, not an anyio task group: the group's scopes, its spawn and its
            # cancellation delivery were most of this response's own CPU
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
            try:
                with anyio.CancelScope(shield=True):
                    await source.aclose()  # type: ignore[attr-defined]
            finally:
                if self.on_close is not None:
                    self.on_close()  # also when the source never started
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
