"""An event-stream response that always closes its source.

Starlette's ``StreamingResponse`` may stop iterating on a disconnect without
closing the body iterator, leaving the generation running until garbage
collection. This response listens for ``http.disconnect`` while streaming,
cancels the stream at once, and always ``aclose()``s the source so the turn
pipeline can cancel the provider call and store the partial answer, then calls
``on_close`` (which frees what the stream held, even when it never started).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping

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
            try:
                with anyio.CancelScope(shield=True):
                    await source.aclose()  # type: ignore[attr-defined]
            finally:
                if self.on_close is not None:
                    self.on_close()  # also when the source never started
        if self.background is not None:
            await self.background()
