"""Gateway overhead: Frontdesk's /v1 gateway side by side with the LiteLLM proxy.

One run: a fast fake OpenAI-compatible upstream on loopback (benchmarks/upstream.py); the
client talks to it directly (baseline), through Frontdesk (one uvicorn worker) and through
the LiteLLM proxy (one worker, installed into its own virtualenv, never the project's).
Both proxies are pinned to the same core (``--proxy-core``), the load generator and the
upstream to the other (``--client-core``). Both stay up; the rounds alternate direct,
Frontdesk and LiteLLM, so a noisy machine affects both sides alike (medians reported).

    .venv/bin/python benchmarks/bench_gateway.py [--write BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.gateway_servers import (
    Server,
    ensure_litellm,
    free_port,
    start_frontdesk,
    start_litellm,
    start_upstream,
)
from benchmarks.loadgen import Target, sequential_latency, sequential_ttft, throughput
from benchmarks.loadgen import first_answer as loadgen_first_answer
from benchmarks.procstat import cpu_seconds, rss_mib

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    name: str
    startup_s: float | None = None
    startup_samples: list[float] = field(default_factory=list)
    startup_cpu_s: float | None = None
    startup_cpu_samples: list[float] = field(default_factory=list)
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    ttft_p50_ms: float = 0.0
    ttft_p99_ms: float = 0.0
    rps: float = 0.0
    sps: float = 0.0
    cpu_ms_req: float | None = None
    cpu_ms_stream: float | None = None
    rss_mib: float | None = None
    first_answer_s: float | None = None
    """Spawn to the first answered completion (start-up + the first request)."""
    failed: int = 0
    notes: list[str] = field(default_factory=list)


async def measure(target: Target, pid: int | None, args: argparse.Namespace) -> Result:
    result = Result(target.name)
    lat = await sequential_latency(target, args.requests, args.warmup)
    result.p50_ms, result.p99_ms = lat.p50_ms, lat.p99_ms
    ttft = await sequential_ttft(target, args.streams, args.warmup // 5 or 1)
    result.ttft_p50_ms, result.ttft_p99_ms = ttft.p50_ms, ttft.p99_ms

    def cpu() -> float:
        return cpu_seconds(pid) if pid is not None else 0.0

    seconds, used, failed = await throughput(
        target, args.load_requests, args.concurrency, stream=False, cpu=cpu
    )
    result.rps = args.load_requests / seconds
    result.failed += failed
    if pid is not None:
        result.cpu_ms_req = used * 1000 / args.load_requests
    seconds, used, failed = await throughput(
        target, args.load_streams, args.concurrency, stream=True, cpu=cpu
    )
    result.sps = args.load_streams / seconds
    result.failed += failed
    if pid is not None:
        result.cpu_ms_stream = used * 1000 / args.load_streams
        result.rss_mib = rss_mib(pid)
    print(f"  {target.name}: {result}", flush=True)
    return result


def median_of(rounds: list[Result]) -> Result:
    """Each metric's median over the rounds (start-up fields from the first)."""
    first = rounds[0]
    out = Result(first.name, first.startup_s, first.startup_samples)
    out.first_answer_s = first.first_answer_s
    for name in (
        "p50_ms",
        "p99_ms",
        "ttft_p50_ms",
        "ttft_p99_ms",
        "rps",
        "sps",
        "cpu_ms_req",
        "cpu_ms_stream",
        "rss_mib",
    ):
        values = [getattr(r, name) for r in rounds if getattr(r, name) is not None]
        setattr(out, name, statistics.median(values) if values else None)
    out.failed = sum(r.failed for r in rounds)
    out.notes = [f"{len(rounds)} rounds"]
    return out


def started(
    start: Callable[[], tuple[Server, str]],
    target_of: Callable[[Server, str], Target],
    args: argparse.Namespace,
) -> tuple[Server, Target, float]:
    """Start a proxy ``args.startups`` times; keep the last, with the median start-up time.
    Also returns spawn → first answered completion of the first start."""
    times, cpus = [], []
    first_answer = 0.0
    for i in range(args.startups):
        server, key = start()
        times.append(server.startup_s)
        cpus.append(server.startup_cpu_s)
        target = target_of(server, key)
        if i == 0:
            first_answer = server.startup_s + asyncio.run(loadgen_first_answer(target))
        print(
            f"{server.name} start-up {server.startup_s:.2f} s, CPU {server.startup_cpu_s:.2f} s",
            flush=True,
        )
        if i + 1 < args.startups:
            server.stop()
    server.startup_s = statistics.median(times)
    server.startup_samples = times
    server.startup_cpu_s = statistics.median(cpus)
    server.startup_cpu_samples = cpus
    return server, target, first_answer


def _samples(result: Result) -> str:
    return ", ".join(f"{t:.2f}" for t in result.startup_samples)


def _cpu_samples(result: Result) -> str:
    return ", ".join(f"{t:.2f}" for t in result.startup_cpu_samples)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def table(base: Result, fd: Result, ll: Result) -> str:
    def added(r: Result, attr: str) -> str:
        return f"{getattr(r, attr) - getattr(base, attr):+.2f}"

    cpu_ratio = fd.cpu_ms_req / ll.cpu_ms_req if fd.cpu_ms_req and ll.cpu_ms_req else None
    rows = [
        ("Start-up, spawn → first 200 (s), median", "—", _fmt(fd.startup_s), _fmt(ll.startup_s)),
        (
            "Start-up CPU, spawn → first 200 (s), median",
            "—",
            _fmt(fd.startup_cpu_s),
            _fmt(ll.startup_cpu_s),
        ),
        (
            "Spawn → first answered completion (s)",
            "—",
            _fmt(fd.first_answer_s),
            _fmt(ll.first_answer_s),
        ),
        ("Non-stream latency p50 (ms)", _fmt(base.p50_ms), _fmt(fd.p50_ms), _fmt(ll.p50_ms)),
        ("Non-stream latency p99 (ms)", _fmt(base.p99_ms), _fmt(fd.p99_ms), _fmt(ll.p99_ms)),
        ("**Added latency p50 (ms)**", "0", added(fd, "p50_ms"), added(ll, "p50_ms")),
        ("**Added latency p99 (ms)**", "0", added(fd, "p99_ms"), added(ll, "p99_ms")),
        (
            "Stream time to first token p50 (ms)",
            _fmt(base.ttft_p50_ms),
            _fmt(fd.ttft_p50_ms),
            _fmt(ll.ttft_p50_ms),
        ),
        (
            "Stream time to first token p99 (ms)",
            _fmt(base.ttft_p99_ms),
            _fmt(fd.ttft_p99_ms),
            _fmt(ll.ttft_p99_ms),
        ),
        ("Added TTFT p50 (ms)", "0", added(fd, "ttft_p50_ms"), added(ll, "ttft_p50_ms")),
        ("Requests/s (non-stream)", _fmt(base.rps, 0), _fmt(fd.rps, 0), _fmt(ll.rps, 0)),
        ("Streams/s", _fmt(base.sps, 0), _fmt(fd.sps, 0), _fmt(ll.sps, 0)),
        ("**Proxy CPU ms per request**", "—", _fmt(fd.cpu_ms_req), _fmt(ll.cpu_ms_req)),
        ("Proxy CPU ms per stream", "—", _fmt(fd.cpu_ms_stream), _fmt(ll.cpu_ms_stream)),
        ("Proxy RSS after load (MiB)", "—", _fmt(fd.rss_mib, 0), _fmt(ll.rss_mib, 0)),
        ("CPU per request, Frontdesk / LiteLLM", "—", _fmt(cpu_ratio, 3), "1"),
        (
            "Failed requests under load (all rounds)",
            str(base.failed),
            str(fd.failed),
            str(ll.failed),
        ),
    ]
    lines = ["| Metric | Direct (baseline) | Frontdesk | LiteLLM |", "|---|---:|---:|---:|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def verdict(base: Result, fd: Result, ll: Result) -> str:
    added = fd.p50_ms - base.p50_ms
    ratio = fd.cpu_ms_req / ll.cpu_ms_req if fd.cpu_ms_req and ll.cpu_ms_req else None
    checks = [
        (f"added p50 ≤ 1 ms: {added:.2f} ms", added <= 1.0),
        (
            f"CPU/request ≤ 1/5 of LiteLLM's: {_fmt(fd.cpu_ms_req)} vs {_fmt(ll.cpu_ms_req)} ms"
            f" (ratio {_fmt(ratio, 3)})",
            ratio is not None and ratio <= 0.2,
        ),
        (
            f"start-up ≤ 1.5 s: {_fmt(fd.startup_s)} s",
            fd.startup_s is not None and fd.startup_s <= 1.5,
        ),
    ]
    return "\n".join(f"- {'MET' if ok else 'NOT MET'}: {text}" for text, ok in checks)


def litellm_version(venv: Path) -> str:
    out = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import importlib.metadata as m;print(m.version('litellm'))",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return out.stdout.strip() or "unknown"


def section(args: argparse.Namespace, header: str, body: str, verdicts: str) -> str:
    cmd = f"taskset -c {args.client_core} .venv/bin/python benchmarks/bench_gateway.py"
    extra = " ".join(sys.argv[1:])
    return (
        "<!-- gateway:start -->\n## Gateway overhead: Frontdesk vs LiteLLM proxy\n\n"
        f"Command (from the repository root): `{cmd}{' ' + extra if extra else ''}`"
        " (the script pins itself; the `taskset` prefix is optional)\n\n"
        f"{header}\n\n{body}\n\nTargets for Frontdesk's gateway path:\n\n{verdicts}\n"
        "<!-- gateway:end -->\n"
    )


def write_section(path: Path, text: str) -> None:
    old = path.read_text() if path.exists() else "# Benchmarks\n"
    start, end = old.find("<!-- gateway:start -->"), old.find("<!-- gateway:end -->")
    if start != -1 and end != -1:
        new = old[:start] + text + old[end + len("<!-- gateway:end -->\n") :]
    else:
        new = old.rstrip("\n") + "\n\n" + text
    path.write_text(new)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=500, help="sequential non-stream requests")
    p.add_argument("--streams", type=int, default=200, help="sequential streams for TTFT")
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--load-requests", type=int, default=2000)
    p.add_argument("--load-streams", type=int, default=1000)
    p.add_argument("--startups", type=int, default=3, help="start-ups per proxy (median)")
    p.add_argument("--rounds", type=int, default=3, help="alternating measurement rounds")
    p.add_argument("--proxy-core", type=int, default=1)
    p.add_argument("--client-core", type=int, default=0)
    p.add_argument("--litellm-venv", type=Path, default=Path("/tmp/litellm-venv"))
    p.add_argument("--write", type=Path, default=None, help="update this BENCHMARKS.md")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.client_core})
    load_at_start = os.getloadavg()
    measured_at = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    ensure_litellm(args.litellm_venv)
    work = Path(tempfile.mkdtemp(prefix="fd-gwbench-"))
    upstream = start_upstream(ROOT, free_port(), args.client_core)
    servers: list[Server] = []
    try:
        base_url = f"http://127.0.0.1:{upstream.port}/v1"
        print(f"upstream on {base_url}", flush=True)
        direct = Target("direct", base_url, "gpt-4o-mini", "x")

        def fd_target(server: Server, key: str) -> Target:
            return Target("frontdesk", f"http://127.0.0.1:{server.port}/v1", "upstream", key)

        def ll_target(server: Server, key: str) -> Target:
            return Target("litellm", f"http://127.0.0.1:{server.port}/v1", "upstream", key)

        fd_server, fd_tgt, fd_first = started(
            lambda: start_frontdesk(ROOT, work, base_url, free_port(), args.proxy_core),
            fd_target,
            args,
        )
        servers.append(fd_server)
        ll_server, ll_tgt, ll_first = started(
            lambda: start_litellm(args.litellm_venv, work, base_url, free_port(), args.proxy_core),
            ll_target,
            args,
        )
        servers.append(ll_server)
        rounds: dict[str, list[Result]] = {"direct": [], "frontdesk": [], "litellm": []}
        for r in range(args.rounds):  # alternate the sides, so both see the same noise
            print(f"round {r + 1} of {args.rounds}", flush=True)
            rounds["direct"].append(asyncio.run(measure(direct, None, args)))
            rounds["frontdesk"].append(asyncio.run(measure(fd_tgt, fd_server.pid, args)))
            rounds["litellm"].append(asyncio.run(measure(ll_tgt, ll_server.pid, args)))
        base = median_of(rounds["direct"])
        fd, ll = median_of(rounds["frontdesk"]), median_of(rounds["litellm"])
        for result, server, first in ((fd, fd_server, fd_first), (ll, ll_server, ll_first)):
            result.startup_s, result.startup_samples = server.startup_s, server.startup_samples
            result.startup_cpu_s = server.startup_cpu_s
            result.startup_cpu_samples = server.startup_cpu_samples
            result.first_answer_s = first
    finally:
        for server in servers:
            server.stop()
        upstream.stop()
        shutil.rmtree(work, ignore_errors=True)
    load_at_end = os.getloadavg()
    header = (
        f"Measured {measured_at} on {os.cpu_count()} CPUs ({platform_name()}), "
        "load average at start "
        f"{load_at_start[0]:.2f} / {load_at_start[1]:.2f} / {load_at_start[2]:.2f}, at the end "
        f"{load_at_end[0]:.2f} / {load_at_end[1]:.2f} / {load_at_end[2]:.2f}; "
        f"LiteLLM {litellm_version(args.litellm_venv)} (`litellm[proxy]` from PyPI, own venv "
        f"{args.litellm_venv}). Proxies: one worker each, pinned to core {args.proxy_core}, "
        f"measured one at a time; client (httpx, keep-alive) and fake upstream on core "
        f"{args.client_core}. {args.rounds} rounds, each measuring direct, Frontdesk and LiteLLM "
        "in turn (both proxies stay up; the one not measured is idle); every number is the "
        f"median over the rounds. Latency: {args.requests} sequential non-stream requests and "
        f"{args.streams} sequential streams after {args.warmup} warm-up requests; throughput: "
        f"{args.load_requests} requests and {args.load_streams} streams at concurrency "
        f"{args.concurrency}; CPU = utime+stime of the proxy's process tree over the "
        "throughput phase ÷ requests; RSS = VmRSS of the proxy after load. Start-up: median of "
        f"{args.startups} spawns (Frontdesk {_samples(fd)} s, LiteLLM {_samples(ll)} s; "
        f"process CPU Frontdesk {_cpu_samples(fd)} s, LiteLLM {_cpu_samples(ll)} s), "
        "Frontdesk's schema created beforehand by `frontdesk db upgrade`."
    )
    body = table(base, fd, ll)
    verdicts = verdict(base, fd, ll)
    print(header, body, verdicts, sep="\n\n")
    if args.write is not None:
        write_section(args.write, section(args, header, body, verdicts))
        print(f"updated {args.write}")


def platform_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


if __name__ == "__main__":
    main()
