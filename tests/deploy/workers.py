"""``frontdesk serve --workers N`` as a real process tree, and clients pinned to one worker.

Each worker is a separate process accepting on the one shared port. Which worker
served a connection is read from the kernel: the worker process that holds the
server side of the client's TCP connection (psutil), so a test can say "worker A
streamed, worker B posted" instead of hoping the load spread.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped]

from tests.conftest import REPO

FRONTDESK = str(Path(sys.executable).with_name("frontdesk"))


@dataclass
class Workers:
    base_url: str
    process: subprocess.Popen[bytes]
    log: Path
    pids: set[int] = field(default_factory=set)

    def worker_of(self, client_port: int) -> int | None:
        """The worker process holding the server side of the client's connection."""
        for pid in self.pids:
            with contextlib.suppress(psutil.NoSuchProcess):
                for conn in psutil.Process(pid).net_connections(kind="tcp"):
                    if conn.raddr and conn.raddr.port == client_port:
                        return int(pid)
        return None

    def replaced(self, dead: int, timeout: float = 120) -> int:
        """Wait until the process manager has started a worker in place of ``dead``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            alive = {p.pid for p in psutil.Process(self.process.pid).children(recursive=True)}
            with httpx.Client(timeout=5) as probe:
                try:
                    used = _client_port(probe.get(self.base_url + "/healthz"))
                except httpx.TransportError:
                    continue
                for pid in alive - self.pids:
                    if _holds(pid, used):
                        return int(pid)
            time.sleep(0.2)
        raise AssertionError(f"no worker replaced {dead}:\n{self.log_tail()}")

    def log_tail(self, chars: int = 6000) -> str:
        return self.log.read_text(errors="replace")[-chars:]


def _client_port(response: httpx.Response) -> int:
    stream = response.extensions["network_stream"]
    return int(stream.get_extra_info("client_addr")[1])


def start_workers(
    env: Mapping[str, str], port: int, log: Path, *, count: int = 2, timeout: float = 120
) -> Workers:
    """Start ``frontdesk serve --workers count``; return once every worker answered /healthz."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [FRONTDESK, "serve", "--workers", str(count), "--port", str(port)],
            cwd=REPO,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    workers = Workers(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + timeout
        while len(workers.pids) < count:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    f"{count} workers did not come up (exit {process.poll()}):\n"
                    + workers.log_tail()
                )
            children = {p.pid for p in psutil.Process(process.pid).children(recursive=True)}
            try:
                # a fresh connection each time: the kernel hands it to a waiting worker
                with httpx.Client(timeout=5) as probe:
                    used = _client_port(probe.get(workers.base_url + "/healthz"))
                    workers.pids.update(pid for pid in children if _holds(pid, used))
            except httpx.TransportError:
                time.sleep(0.3)
    except BaseException:
        stop_workers(workers)
        raise
    return workers


def stop_workers(workers: Workers) -> None:
    process = workers.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def serve_workers(
    env: Mapping[str, str], port: int, log: Path, *, count: int = 2
) -> Iterator[Workers]:
    workers = start_workers(env, port, log, count=count)
    try:
        yield workers
    finally:
        stop_workers(workers)


def _holds(pid: int, client_port: int) -> bool:
    with contextlib.suppress(psutil.NoSuchProcess):
        return any(
            c.raddr and c.raddr.port == client_port
            for c in psutil.Process(pid).net_connections(kind="tcp")
        )
    return False


@contextlib.asynccontextmanager
async def pinned(
    workers: Workers,
    pid: int,
    *,
    headers: Mapping[str, str] | None = None,
    tries: int = 60,
    read_timeout: float = 60,
) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose one keep-alive connection is served by worker ``pid``.

    Use it at once: uvicorn closes a connection idle for 5 s, and the next one may
    land on another worker (:func:`served_by` tells where a response came from).
    """
    for _ in range(tries):
        client = httpx.AsyncClient(
            base_url=workers.base_url,
            headers=dict(headers or {}),
            timeout=httpx.Timeout(30, read=read_timeout),
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )
        probe = await client.get("/healthz")
        if workers.worker_of(_client_port(probe)) == pid:
            try:
                yield client
            finally:
                await client.aclose()
            return
        await client.aclose()
    raise AssertionError(f"no connection reached worker {pid} in {tries} tries")


def served_by(workers: Workers, response: httpx.Response) -> int | None:
    """The worker that served ``response`` (call while its connection is open)."""
    return workers.worker_of(_client_port(response))
