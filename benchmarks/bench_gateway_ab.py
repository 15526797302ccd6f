"""Frontdesk's gateway, two source trees side by side in one run (no LiteLLM).

The same fake upstream (benchmarks/upstream.py), one uvicorn worker per tree, both on
``--proxy-core``; rounds alternate direct, tree A and tree B. Per tree: added p50/p99 of a
sequential (concurrency 1) non-stream loop over the direct p50, added time to first token
(p50/p99) of a sequential stream loop, and process CPU ms per request and per stream over
sequential loops (concurrency 1) and a concurrency-16 load.

    nice -n 10 .venv/bin/python benchmarks/bench_gateway_ab.py --a /tmp/wt-base/src --b src

Latency from this is only meaningful on a quiet machine (the first run, at load 19-33, had a
direct p50 of 44 ms); CPU ms per request is the number to compare there.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.gateway_servers import Server, free_port, start_frontdesk, start_upstream
from benchmarks.loadgen import Target, sequential_latency, sequential_ttft, throughput
from benchmarks.procstat import cpu_seconds

ROOT = Path(__file__).resolve().parent.parent


def start_tree(src: Path, work: Path, upstream_url: str, core: int) -> tuple[Server, str]:
    """Frontdesk with ``src`` first on its import path (the editable install is /work/main)."""
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(src.resolve())
    try:
        return start_frontdesk(ROOT, work, upstream_url, free_port(), core)
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


async def one_round(target: Target, pid: int | None, args: argparse.Namespace) -> dict[str, float]:
    lat = await sequential_latency(target, args.requests, args.warmup)
    ttft = await sequential_ttft(target, args.streams, args.warmup)
    out = {"p50": lat.p50_ms, "p99": lat.p99_ms, "ttft50": ttft.p50_ms, "ttft99": ttft.p99_ms}
    if pid is None:
        return out

    def cpu() -> float:
        return cpu_seconds(pid)

    _, used, failed = await throughput(target, args.requests, 1, stream=False, cpu=cpu)
    out["cpu_req_seq"] = used * 1000 / args.requests
    _, used, failed2 = await throughput(target, args.streams, 1, stream=True, cpu=cpu)
    out["cpu_stream_seq"] = used * 1000 / args.streams
    _, used, failed3 = await throughput(target, args.load, 16, stream=False, cpu=cpu)
    out["cpu_req_c16"] = used * 1000 / args.load
    out["failed"] = failed + failed2 + failed3
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--a", type=Path, required=True, help="src/ of tree A (the old one)")
    p.add_argument("--b", type=Path, required=True, help="src/ of tree B (the new one)")
    p.add_argument("--requests", type=int, default=400)
    p.add_argument("--streams", type=int, default=200)
    p.add_argument("--load", type=int, default=1000)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--proxy-core", type=int, default=1)
    p.add_argument("--client-core", type=int, default=0)
    args = p.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.client_core})
    work = Path(tempfile.mkdtemp(prefix="fd-gwab-"))
    upstream = start_upstream(ROOT, free_port(), args.client_core)
    servers = [upstream]
    try:
        base_url = f"http://127.0.0.1:{upstream.port}/v1"
        targets: list[tuple[Target, int | None]] = [(Target("direct", base_url, "m", "x"), None)]
        for name, src in (("A", args.a), ("B", args.b)):
            server, key = start_tree(src, work / name, base_url, args.proxy_core)
            servers.append(server)
            url = f"http://127.0.0.1:{server.port}/v1"
            targets.append((Target(name, url, "upstream", key), server.pid))
        rows: dict[str, list[dict[str, float]]] = {t.name: [] for t, _ in targets}
        for r in range(args.rounds):
            print(f"round {r + 1} of {args.rounds}, load {os.getloadavg()[0]:.1f}", flush=True)
            for target, pid in targets:
                rows[target.name].append(asyncio.run(one_round(target, pid, args)))
        direct = statistics.median(row["p50"] for row in rows["direct"])
        direct99 = statistics.median(row["p99"] for row in rows["direct"])
        ttft50 = statistics.median(row["ttft50"] for row in rows["direct"])
        ttft99 = statistics.median(row["ttft99"] for row in rows["direct"])
        print(
            f"direct p50 {direct:.2f} ms, p99 {direct99:.2f} ms; "
            f"TTFT p50 {ttft50:.2f} ms, p99 {ttft99:.2f} ms"
        )
        meds = {}
        for name in ("A", "B"):
            med = {k: statistics.median(row[k] for row in rows[name]) for k in rows[name][0]}
            med["p50"] -= direct
            med["p99"] -= direct99
            med["ttft50"] -= ttft50
            med["ttft99"] -= ttft99
            meds[name] = med
            print(
                f"{name} ({args.a if name == 'A' else args.b}): added p50 {med['p50']:+.2f} ms, "
                f"p99 {med['p99']:+.2f} ms; TTFT added p50 {med['ttft50']:+.2f} ms, p99 "
                f"{med['ttft99']:+.2f} ms; CPU ms per request {med['cpu_req_seq']:.2f} "
                f"(sequential) / {med['cpu_req_c16']:.2f} (concurrency 16), per stream "
                f"{med['cpu_stream_seq']:.2f}; failed {med['failed']:.0f}; "
                f"rounds p50 {[round(x['p50'] - direct, 2) for x in rows[name]]}"
            )
        a, b = meds["A"], meds["B"]
        ratios = ", ".join(
            f"{k} {b[k] / a[k]:.2f}" if a[k] > 0 else f"{k} n/a"
            for k in ("p50", "p99", "ttft50", "ttft99", "cpu_req_seq", "cpu_req_c16")
        )
        print(f"B/A: {ratios}, cpu_stream_seq {b['cpu_stream_seq'] / a['cpu_stream_seq']:.2f}")
    finally:
        for server in reversed(servers):
            server.stop()


if __name__ == "__main__":
    main()
