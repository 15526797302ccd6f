"""What both hand-written asyncio protocols (openai_h1, openai_transport) share: a read
waiter woken by the loop's callbacks, and write flow control (``pause_writing`` /
``resume_writing``) that a writer awaits through ``_drained``."""

from __future__ import annotations

import asyncio


class FlowControlled(asyncio.Protocol):
    def __init__(self) -> None:
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None

    def pause_writing(self) -> None:
        self._drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        self._release_writer()
        self._drained = None

    def _release_writer(self) -> None:
        """A writer waiting for the transport to drain goes on (resumed, or connection lost)."""
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def _wake(self) -> None:
        """A reader waiting for data (or for the end of the stream) goes on."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
