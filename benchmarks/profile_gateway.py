"""Per-request CPU of the gateway route, in process: the ASGI app driven directly.

The fake upstream (benchmarks/upstream.py) runs in its own process; Frontdesk's app is
built in this one (the benchmark's bot config and a fresh SQLite database) and called with
ASGI scopes like uvicorn's, one request at a time, so process CPU per request is the
gateway's own work (the upstream client's socket I/O included, uvicorn's HTTP parsing
not). ``--profile FILE`` writes a cProfile of the timed loop (``--sort`` prints the top).

    PYTHONPATH=src .venv/bin/python benchmarks/profile_gateway.py --requests 3000
    PYTHONPATH=src .venv/bin/python benchmarks/profile_gateway.py --stream --profile /tmp/gw.prof
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.gateway_servers import BOT_YAML, free_port, start_upstream
from benchmarks.loadgen import body as request_body

ROOT = Path(__file__).resolve().parent.parent


def _setup(work: Path, upstream_url: str) -> str:
    """The benchmark's environment (as gateway_servers.start_frontdesk); returns a client key."""
    data = work / "frontdesk"
    data.mkdir(parents=True, exist_ok=True)
    bot = work / "bench-bot.yaml"
    bot.write_text(BOT_YAML % upstream_url)
    os.environ.update(
        {
            "FRONTDESK_DATA_DIR": str(data),
            "FRONTDESK_BOT_CONFIG": str(bot),
            "FRONTDESK_LOG_LEVEL": "WARNING",
            "BENCH_KEY": "sk-upstream",
        }
    )
    os.environ.pop("FRONTDESK_DATABASE_URL", None)
    cli = [sys.executable, "-m", "frontdesk.cli"]
    subprocess.run([*cli, "db", "upgrade"], check=True, capture_output=True, cwd=work)
    created = subprocess.run(
        [*cli, "keys", "create", "--role", "client", "--name", "bench"],
        check=True,
        capture_output=True,
        text=True,
        cwd=work,
    )
    return created.stdout.strip().splitlines()[-1]


class Driver:
    """Calls the app with one request's scope, as uvicorn would, and checks the answer."""

    def __init__(self, app: Any, key: str, *, stream: bool) -> None:
        self.app = app
        self.stream = stream
        self.body = json.dumps(request_body("upstream", stream=stream)).encode()
        self.headers = [
            (b"host", b"127.0.0.1:8000"),
            (b"user-agent", b"python-httpx/0.28.1"),
            (b"accept", b"*/*"),
            (b"accept-encoding", b"gzip, deflate"),
            (b"connection", b"keep-alive"),
            (b"authorization", f"Bearer {key}".encode()),
            (b"content-length", str(len(self.body)).encode()),
            (b"content-type", b"application/json"),
        ]
        self.state: dict[str, Any] = {}

    async def one(self) -> None:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "server": ("127.0.0.1", 8000),
            "client": ("127.0.0.1", 50000),
            "scheme": "http",
            "method": "POST",
            "root_path": "",
            "path": "/v1/chat/completions",
            "raw_path": b"/v1/chat/completions",
            "query_string": b"",
            "headers": list(self.headers),
            "state": self.state.copy(),
        }
        sent = False
        done = asyncio.Event()
        status = 0
        parts: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": self.body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                parts.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        await self.app(scope, receive, send)
        done.set()
        payload = b"".join(parts)
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {payload[:300]!r}")
        if self.stream:
            if b"data: [DONE]" not in payload or b"around the clock" not in payload:
                raise RuntimeError(f"bad stream: {payload[:300]!r}")
        elif not json.loads(payload)["choices"][0]["message"]["content"]:
            raise RuntimeError("empty answer")


CLIENT = """
import asyncio, sys
sys.path.insert(0, {root!r})
from benchmarks.loadgen import Target, throughput
target = Target("frontdesk", {url!r}, "upstream", {key!r})
async def main():
    await throughput(target, {warmup}, 1, stream={stream}, cpu=lambda: 0.0)
    print("go", flush=True)
    sys.stdin.readline()
    _, _, failed = await throughput(target, {requests}, 1, stream={stream}, cpu=lambda: 0.0)
    print("failed", failed, flush=True)
asyncio.run(main())
"""


async def run_uvicorn(args: argparse.Namespace, key: str, app: Any) -> None:
    """The app under uvicorn in this process (httptools, access log off, as ``serve``),
    the client (benchmarks/loadgen.py, concurrency 1) in a child process on ``--core``."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        ws="none",
        http="httptools",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    serving = asyncio.ensure_future(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn has no started event)
        await asyncio.sleep(0.05)
    code = CLIENT.format(
        root=str(ROOT),
        url=f"http://127.0.0.1:{port}/v1",
        key=key,
        warmup=args.warmup,
        stream=args.stream,
        requests=args.requests,
    )
    client = await asyncio.create_subprocess_exec(
        "taskset",
        "-c",
        str(args.core),
        sys.executable,
        "-c",
        code,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert client.stdout is not None and client.stdin is not None
    line = await client.stdout.readline()
    if line.strip() != b"go":
        raise RuntimeError(f"client: {line!r}")
    profiler = _start_profile(args)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    client.stdin.write(b"\n")
    await client.stdin.drain()
    result = await client.stdout.readline()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    _stop_profile(args, profiler)
    await client.wait()
    server.should_exit = True
    await serving
    kind = "stream" if args.stream else "request"
    print(
        f"uvicorn, {args.requests} x {kind} ({result.decode().strip()}): CPU "
        f"{cpu * 1000 / args.requests:.3f} ms/{kind}, wall {wall * 1000 / args.requests:.3f} "
        f"ms/{kind} (client included)",
        flush=True,
    )


def _start_profile(args: argparse.Namespace) -> Any:
    if args.profile is None:
        return None
    import cProfile

    # CPU time, not wall: a write to the loopback socket may switch to the upstream
    # process inside the syscall, which a wall-clock profile charges to the caller
    profiler = cProfile.Profile(time.thread_time) if args.cpu_timer else cProfile.Profile()
    profiler.enable()
    return profiler


def _stop_profile(args: argparse.Namespace, profiler: Any) -> None:
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)


async def run(args: argparse.Namespace, key: str) -> None:
    from frontdesk.app import create_app
    from frontdesk.config import load_bot_config
    from frontdesk.settings import Settings

    settings = Settings()
    app = create_app(settings, bot=load_bot_config(settings.bot_config))
    if args.uvicorn:
        await run_uvicorn(args, key, app)
        _print_profile(args)
        return
    async with app.router.lifespan_context(app) as state:
        driver = Driver(app, key, stream=args.stream)
        if state:
            driver.state = dict(state)
        for _ in range(args.warmup):
            await driver.one()
        profiler = _start_profile(args)
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for _ in range(args.requests):
            await driver.one()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        _stop_profile(args, profiler)
        kind = "stream" if args.stream else "request"
        print(
            f"{args.requests} x {kind}: CPU {cpu * 1000 / args.requests:.3f} ms/{kind}, "
            f"wall {wall * 1000 / args.requests:.3f} ms/{kind}",
            flush=True,
        )
    _print_profile(args)


def _print_profile(args: argparse.Namespace) -> None:
    if args.profile is not None and args.top:
        stats = pstats.Stats(str(args.profile))
        stats.sort_stats(args.sort).print_stats(args.top)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=200)
    p.add_argument("--stream", action="store_true", help="streamed completions")
    p.add_argument("--profile", type=Path, help="write a cProfile of the timed loop here")
    p.add_argument("--sort", default="tottime", help="pstats sort key for the printed top")
    p.add_argument("--top", type=int, default=40, help="rows of the profile to print")
    p.add_argument(
        "--wall-timer",
        dest="cpu_timer",
        action="store_false",
        help="profile with wall-clock time (default: this thread's CPU time)",
    )
    p.add_argument("--core", type=int, default=0, help="core of the upstream (and client)")
    p.add_argument("--uvicorn", action="store_true", help="serve with uvicorn, client in a child")
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fd-gwprof-"))
    upstream = start_upstream(ROOT, free_port(), args.core)
    try:
        key = _setup(work, f"http://127.0.0.1:{upstream.port}/v1")
        try:
            import uvloop

            uvloop.run(run(args, key))
        except ImportError:
            asyncio.run(run(args, key))
    finally:
        upstream.stop()


if __name__ == "__main__":
    main()
