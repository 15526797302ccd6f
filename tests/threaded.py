"""Run an async context manager (e.g. a vendor fake server) on its own loop in a thread,
so synchronous tests (browser, HTTP client) can use it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from typing import TypeVar

T = TypeVar("T")


@contextmanager
def threaded(cm: AbstractAsyncContextManager[T]) -> Iterator[T]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        value = asyncio.run_coroutine_threadsafe(cm.__aenter__(), loop).result(timeout=30)
        try:
            yield value
        finally:
            asyncio.run_coroutine_threadsafe(cm.__aexit__(None, None, None), loop).result(30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
