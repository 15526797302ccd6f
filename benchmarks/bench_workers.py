"""Many concurrent streaming conversations against ``frontdesk serve --workers 2`` on
PostgreSQL and Redis, with the scripted provider (issue 11).

Each simulated customer opens a conversation (``POST /api/conversations``) and streams one
answer (``POST /api/conversations/{id}/messages``, SSE); all of them start at once. Reported:
errors (any non-2xx, an ``error`` event, a stream without ``done``, a transport error), time
to the first ``delta`` event (p50/p90/p99, measured by the client from sending the message),
total turn time, and each worker's peak resident memory and CPU seconds (sampled from /proc).
Afterwards every answer is checked in the database: stored ``complete`` with its turn record.

    nice -n 10 .venv/bin/python benchmarks/bench_workers.py --conversations 1000

``--kill``: 100 customers (``--conversations``) stream one answer each from a loopback
fake vendor that writes slowly (``--chunk-delay`` s a word); once ``--kill-after``
answers have their first word, one worker is killed with SIGKILL. After the process
manager has started its replacement, the database is read: every customer's message
must be stored, and every one has an answer row that is complete, partial or failed
(pending: still owned by the dead worker). The database is read again until no answer
is pending (the survivors' sweep ends the dead worker's answers once its heartbeat is
``FRONTDESK_ANSWER_LEASES__LEASE_SECONDS`` old) or ``--settle`` seconds have passed.

Needs PostgreSQL on 127.0.0.1:5432 (trust auth; a throw-away database is created and dropped)
and Redis on 127.0.0.1:6379 (database 11). Anonymous-traffic limits are turned off
(``FRONTDESK_ABUSE__*=0``): every customer comes from one address here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil  # type: ignore[import-untyped]
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests' fake vendor

from tests.providers.fake_http import Reply
from tests.providers.fake_openai import API_KEY, FakeOpenAI, stream_reply

from frontdesk.memory.schema import messages, turns

REPO = Path(__file__).resolve().parent.parent
FRONTDESK = str(Path(sys.executable).with_name("frontdesk"))
ADMIN_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
ANSWER = (
    "Our support team is available Monday to Friday from 8:00 to 18:00 CET, and the status "
    "page shows any incident as soon as we know about it. Write to us any time."
)
BOT = f"""
name: Benchbot
company: Acme
system_prompt: "You are {{bot_name}} of {{company}}. Today is {{today}}."
model: {{chain: [scripted]}}
knowledge: {{enabled: false}}
endpoints:
  - name: scripted
    dialect: scripted
    model: scripted-1
    script: [{json.dumps(ANSWER)}]
"""
ABUSE_OFF = {
    f"FRONTDESK_ABUSE__{name}": "0"
    for name in (
        "CONVERSATIONS_PER_ADDRESS",
        "CONVERSATIONS_PER_SESSION",
        "MESSAGES_PER_ADDRESS",
        "MESSAGES_PER_SESSION",
        "ANONYMOUS_DAILY_TOKENS_PER_SESSION",
        "ANONYMOUS_DAILY_TOKENS_PER_ADDRESS",
        "ANONYMOUS_DAILY_USD_PER_SESSION",
        "ANONYMOUS_DAILY_USD_PER_ADDRESS",
    )
}


@dataclass
class Results:
    ttft_ms: list[float] = field(default_factory=list)
    total_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    conversations: list[str] = field(default_factory=list)


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def admin(statement: str) -> None:
    engine = create_async_engine(ADMIN_PG, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def customer(
    client: httpx.AsyncClient,
    n: int,
    start: asyncio.Event,
    out: Results,
    cid: str | None = None,
    first_words: asyncio.Queue[None] | None = None,
) -> None:
    await start.wait()
    try:
        if cid is None:
            created = await client.post("/api/conversations", json={})
            if created.status_code != 201:
                out.errors.append(f"create {created.status_code}: {created.text[:120]}")
                return
            cid = created.json()["id"]
            out.conversations.append(cid)
        sent = time.perf_counter()
        first: float | None = None
        done = False
        body = {"content": f"Hello, when is your support team available? ({n})"}
        async with client.stream("POST", f"/api/conversations/{cid}/messages", json=body) as resp:
            if resp.status_code != 200:
                out.errors.append(f"message {resp.status_code}: {(await resp.aread())[:120]!r}")
                return
            event = ""
            async for line in resp.aiter_lines():
                if line.startswith("event:"):
                    event = line.removeprefix("event:").strip()
                    if event == "delta" and first is None:
                        first = time.perf_counter()
                        if first_words is not None:
                            first_words.put_nowait(None)
                    elif event == "error":
                        out.errors.append(f"error event in {cid}")
                    elif event == "done":
                        done = True
        if not done or first is None:
            out.errors.append(f"stream of {cid} ended without done/delta")
            return
        out.ttft_ms.append((first - sent) * 1000)
        out.total_ms.append((time.perf_counter() - sent) * 1000)
    except httpx.HTTPError as exc:
        out.errors.append(f"transport {type(exc).__name__}: {exc}")


class Sampler:
    """Peak RSS and CPU seconds of each worker process, sampled every 0.2 s."""

    def __init__(self, pids: list[int]) -> None:
        self.procs = {pid: psutil.Process(pid) for pid in pids}
        self.peak_rss = dict.fromkeys(pids, 0)
        self.cpu_start = {pid: _cpu(p) for pid, p in self.procs.items()}
        self.cpu_end = dict(self.cpu_start)
        self.died: set[int] = set()
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(0.2)

    def sample(self) -> None:
        for pid, proc in self.procs.items():
            if pid in self.died:
                continue
            try:
                self.peak_rss[pid] = max(self.peak_rss[pid], proc.memory_info().rss)
                self.cpu_end[pid] = _cpu(proc)
            except psutil.NoSuchProcess:  # killed (by the process manager's health check?)
                self.died.add(pid)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        self.sample()


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


def worker_pids(root: int) -> list[int]:
    """The uvicorn worker processes (spawned children, not multiprocessing's resource tracker)."""
    pids = []
    for child in psutil.Process(root).children(recursive=False):
        try:
            if "resource_tracker" not in " ".join(child.cmdline()):
                pids.append(child.pid)
        except psutil.NoSuchProcess:  # a killed worker not reaped yet (a zombie)
            continue
    return pids


def start_server(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as sink:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=sink, stderr=subprocess.STDOUT)


async def wait_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 300
    async with httpx.AsyncClient(base_url=base, timeout=5) as probe:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = (await asyncio.to_thread(log.read_text))[-4000:]
                raise RuntimeError("frontdesk serve exited:\n" + tail)
            try:
                if (await probe.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.5)
    raise TimeoutError("the workers did not become ready")


async def check_stored(url: str, conversation_ids: list[str]) -> dict[str, int]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            statuses = await conn.execute(
                select(messages.c.status, func.count())
                .where(messages.c.role == "assistant")
                .group_by(messages.c.status)
            )
            by_status = {str(s): int(n) for s, n in statuses}
            recorded = (await conn.execute(select(func.count()).select_from(turns))).scalar_one()
        return {**by_status, "turn_records": int(recorded), "conversations": len(conversation_ids)}
    finally:
        await engine.dispose()


def server_env(database: str, work: Path) -> dict[str, str]:
    """The workers' environment: a fresh PostgreSQL database, Redis, the bot in ``work``."""
    return {
        **os.environ,
        **ABUSE_OFF,
        "FRONTDESK_DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{database}",
        "FRONTDESK_REDIS_URL": "redis://127.0.0.1:6379/11",
        "FRONTDESK_HOME": str(work / "home"),
        "FRONTDESK_BOT_CONFIG": str(work / "bot.yaml"),
        "FRONTDESK_LOG_LEVEL": "WARNING",
        "FRONTDESK_ADMIN_TOKEN": secrets.token_urlsafe(32),
    }


async def run(args: argparse.Namespace) -> dict[str, object]:
    name = f"frontdesk_bench_{secrets.token_hex(4)}"
    await admin(f'CREATE DATABASE "{name}"')
    work = Path(tempfile.mkdtemp(prefix="frontdesk-bench-workers-"))
    (work / "bot.yaml").write_text(BOT)
    port = free_port()
    env = server_env(name, work)
    log = work / "serve.log"
    command = [FRONTDESK, "serve", "--workers", str(args.workers), "--port", str(port)]
    process = await asyncio.to_thread(start_server, command, env, log)
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_healthy(base, process, log)
        pids = worker_pids(process.pid)
        # each customer is its own browser: no connection reuse between customers (a reused
        # keep-alive connection the server closed after 5 idle seconds is a client artefact)
        limits = httpx.Limits(max_connections=args.conversations, max_keepalive_connections=0)
        timeout = httpx.Timeout(args.timeout, connect=args.timeout)
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:
            warm = Results()
            ready = asyncio.Event()
            ready.set()
            await asyncio.gather(*(customer(client, i, ready, warm) for i in range(20)))
            rss_idle = {pid: psutil.Process(pid).memory_info().rss for pid in pids}
            out = Results()
            start = asyncio.Event()
            tasks = [
                asyncio.create_task(customer(client, i, start, out))
                for i in range(args.conversations)
            ]
            sampler = Sampler(pids)
            sampler.start()
            began = time.perf_counter()
            start.set()
            await asyncio.gather(*tasks)
            wall = time.perf_counter() - began
            await sampler.stop()
        stored = await check_stored(
            env["FRONTDESK_DATABASE_URL"].replace("postgresql://", "postgresql+asyncpg://"),
            out.conversations,
        )
        mib = 1024 * 1024
        return {
            "conversations": args.conversations,
            "workers": len(pids),
            "errors": len(out.errors),
            "error_samples": out.errors[:5],
            "warmup_errors": len(warm.errors),
            "wall_s": round(wall, 1),
            "ttft_ms": {f"p{q}": round(percentile(out.ttft_ms, q / 100), 1) for q in (50, 90, 99)}
            if out.ttft_ms
            else {},
            "total_ms": {f"p{q}": round(percentile(out.total_ms, q / 100), 1) for q in (50, 99)}
            if out.total_ms
            else {},
            "rss_idle_mib": [round(rss_idle[p] / mib) for p in pids],
            "rss_peak_mib": [round(sampler.peak_rss[p] / mib) for p in pids],
            "cpu_s": [round(sampler.cpu_end[p] - sampler.cpu_start[p], 1) for p in pids],
            "workers_died": len(sampler.died),
            "stored": stored,
            "loadavg": os.getloadavg(),
        }
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class SlowVendor(FakeOpenAI):
    """Streams its answer a word every ``chunk_delay`` seconds."""

    chunk_delay = 0.2

    def _completion(self, body: dict[str, object]) -> Reply:
        if body.get("stream"):
            return stream_reply(self.default_text, chunk_delay=self.chunk_delay)
        return super()._completion(body)


def kill_bot(base_url: str) -> str:
    return BOT.replace("model: {chain: [scripted]}", "model: {chain: [vendor]}").split(
        "endpoints:"
    )[0] + (
        "endpoints:\n"
        "  - name: vendor\n"
        "    dialect: openai\n"
        "    model: gpt-4o-mini\n"
        f"    base_url: {base_url}\n"
        "    api_key_env: FAKE_VENDOR_KEY\n"
        "    max_attempts: 1\n"
    )


async def replaced(root: int, dead: int, base: str, within: float = 300) -> int:
    """Wait until the process manager runs a new worker that answers /readyz."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        fresh = [p for p in worker_pids(root) if p != dead]
        if len(fresh) >= 2:
            async with httpx.AsyncClient(base_url=base, timeout=5) as probe:
                try:
                    if (await probe.get("/readyz")).status_code == 200:
                        return max(fresh)
                except httpx.TransportError:
                    pass
        await asyncio.sleep(0.5)
    raise TimeoutError(f"no worker replaced {dead}")


async def check_kill(url: str, conversation_ids: list[str]) -> dict[str, object]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(messages.c.conversation_id, messages.c.role, messages.c.status).where(
                        messages.c.conversation_id.in_(conversation_ids)
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    users = {r.conversation_id for r in rows if r.role == "user"}
    answers: dict[str, list[str]] = {}
    for r in rows:
        if r.role == "assistant":
            answers.setdefault(r.conversation_id, []).append(str(r.status))
    by_status: dict[str, int] = {}
    for statuses in answers.values():
        for status in statuses:
            by_status[status] = by_status.get(status, 0) + 1
    return {
        "customers": len(conversation_ids),
        "user_messages_stored": len(users),
        "answers_by_status": by_status,
        "answers_missing": len(users - answers.keys()),
        "user_messages_missing": len(set(conversation_ids) - users),
    }


def pending_of(stored: dict[str, object]) -> int:
    by_status = stored["answers_by_status"]
    assert isinstance(by_status, dict)
    return int(by_status.get("pending", 0))


async def run_kill(args: argparse.Namespace) -> dict[str, object]:
    name = f"frontdesk_bench_{secrets.token_hex(4)}"
    await admin(f'CREATE DATABASE "{name}"')
    work = Path(tempfile.mkdtemp(prefix="frontdesk-bench-kill-"))
    vendor = SlowVendor(default_text=ANSWER)
    vendor.chunk_delay = args.chunk_delay
    async with vendor:
        (work / "bot.yaml").write_text(kill_bot(vendor.base_url))
        port = free_port()
        env = {**server_env(name, work), "FAKE_VENDOR_KEY": API_KEY}
        log = work / "serve.log"
        command = [FRONTDESK, "serve", "--workers", "2", "--port", str(port)]
        process = await asyncio.to_thread(start_server, command, env, log)
        base = f"http://127.0.0.1:{port}"
        url = env["FRONTDESK_DATABASE_URL"].replace("postgresql://", "postgresql+asyncpg://")
        try:
            await wait_healthy(base, process, log)
            pids = worker_pids(process.pid)
            limits = httpx.Limits(max_connections=args.conversations, max_keepalive_connections=0)
            timeout = httpx.Timeout(args.timeout, connect=args.timeout)
            async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as client:
                ids = []
                for _ in range(args.conversations):
                    created = await client.post("/api/conversations", json={})
                    created.raise_for_status()
                    ids.append(created.json()["id"])
                out = Results(conversations=ids)
                start = asyncio.Event()
                first_words: asyncio.Queue[None] = asyncio.Queue()
                tasks = [
                    asyncio.create_task(customer(client, i, start, out, cid, first_words))
                    for i, cid in enumerate(ids)
                ]
                began = time.perf_counter()
                start.set()
                for _ in range(args.kill_after):
                    await first_words.get()
                victim = pids[0]
                killed_at = time.perf_counter() - began
                os.kill(victim, signal.SIGKILL)
                await asyncio.gather(*tasks)
                replacement = await replaced(process.pid, victim, base)
                restarted_at = time.perf_counter() - began
            at_restart = await check_kill(url, ids)
            # the survivors' sweep ends the dead worker's pending answers (chat/leases.py)
            stored = at_restart
            while pending_of(stored) and time.perf_counter() - began < restarted_at + args.settle:
                await asyncio.sleep(1.0)
                stored = await check_kill(url, ids)
            settled_at = time.perf_counter() - began
            return {
                "mode": "kill",
                "customers": args.conversations,
                "killed_worker_after_first_words": args.kill_after,
                "killed_at_s": round(killed_at, 1),
                "replacement_ready_at_s": round(restarted_at, 1),
                "replacement": replacement,
                "streams_complete": len(out.total_ms),
                "streams_cut_or_failed": len(out.errors),
                "error_kinds": sorted({e.split(":")[0].split(" in ")[0] for e in out.errors}),
                "stored_at_restart": at_restart,
                "stored": stored,
                "no_pending_at_s": None if pending_of(stored) else round(settled_at, 1),
                "loadavg": os.getloadavg(),
            }
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=300.0, help="client timeout, seconds")
    parser.add_argument("--kill", action="store_true", help="kill -9 a worker mid-stream")
    parser.add_argument("--kill-after", type=int, default=30, help="first words seen before")
    parser.add_argument(
        "--settle", type=float, default=120.0, help="s after the restart to wait for no pending"
    )
    parser.add_argument("--chunk-delay", type=float, default=0.2, help="vendor s per word")
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run_kill(args) if args.kill else run(args)), indent=2))


if __name__ == "__main__":
    main()
