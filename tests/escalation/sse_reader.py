"""Read a server-sent event stream in a background thread (for sync tests)."""

from __future__ import annotations

import json
import queue
import threading
from types import TracebackType
from typing import Any

import httpx

from tests.apphelpers import SSEEvent


class SSEReader:
    def __init__(self, base_url: str, path: str) -> None:
        self.events: queue.Queue[SSEEvent] = queue.Queue()
        self._url = base_url + path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.connected = threading.Event()
        self.status = 0

    def _run(self) -> None:
        with (
            httpx.Client(timeout=httpx.Timeout(30, read=60)) as client,
            client.stream("GET", self._url) as response,
        ):
            self.status = response.status_code
            self.connected.set()
            try:
                self._read(response)
            except httpx.HTTPError:
                if not self._stop.is_set():  # closed by __exit__: expected
                    raise

    def _read(self, response: httpx.Response) -> None:
        name, data = "message", None
        for line in response.iter_lines():
            if self._stop.is_set():
                return
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif line == "" and data is not None:
                self.events.put(SSEEvent(name, json.loads(data)))
                name, data = "message", None

    def next(self, name: str, timeout: float = 10) -> dict[str, Any]:
        """The data of the next event called ``name`` (earlier other events are skipped)."""
        while True:
            event = self.events.get(timeout=timeout)
            if event.event == name:
                return event.data

    def __enter__(self) -> SSEReader:
        self._thread.start()
        assert self.connected.wait(10)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # the reader wakes at the next heartbeat comment, stops and disconnects
        # (tests use a short heartbeat interval)
        self._stop.set()
        self._thread.join(10)
