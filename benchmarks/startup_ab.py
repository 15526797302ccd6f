"""`frontdesk serve` start-up of two (or three) source trees, spawns interleaved (A, B, A, B, ...).

Start-up is spawn -> first HTTP 200 on ``/healthz`` (as in ``bench_gateway.py``) and the CPU
(user + system) the process used until then; ``--first-answer`` also times spawn -> the first
answered gateway completion (against ``benchmarks/upstream.py``), ``--turns`` the time to first
token of the first two chat turns of a new conversation (``--think`` seconds after creating it,
as a customer typing). Two configurations:

* ``gateway``: the gateway benchmark's bot (one OpenAI endpoint; knowledge, guard off);
* ``default``: ``config/bot.yaml`` (embedded model, knowledge and guard on) over a home where
  ``sample_kb`` was ingested (``--default-home``, prepared once by ``frontdesk ingest``).

    nice -n 5 .venv/bin/python benchmarks/startup_ab.py --a /tmp/wt-base/src --b src --spawns 7
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.gateway_servers import BOT_YAML, free_port, start_upstream
from benchmarks.procstat import cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
CLI = ROOT / ".venv" / "bin" / "frontdesk"


def _prepare_gateway(work: Path, upstream_url: str) -> tuple[dict[str, str], str]:
    home = work / "gateway"
    home.mkdir(parents=True, exist_ok=True)
    bot = work / "gateway-bot.yaml"
    bot.write_text(BOT_YAML % upstream_url)
    env = {
        **os.environ,
        "FRONTDESK_DATA_DIR": str(home),
        "FRONTDESK_BOT_CONFIG": str(bot),
        "FRONTDESK_LOG_LEVEL": "WARNING",
        "BENCH_KEY": "sk-upstream",
    }
    env.pop("FRONTDESK_DATABASE_URL", None)
    subprocess.run([CLI, "db", "upgrade"], env=env, check=True, capture_output=True)
    created = subprocess.run(
        [CLI, "keys", "create", "--role", "client", "--name", "bench"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return env, created.stdout.strip().splitlines()[-1]


def _default_env(home: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "FRONTDESK_DATA_DIR": str(home),
        "FRONTDESK_BOT_CONFIG": str(ROOT / "config" / "bot.yaml"),
        "FRONTDESK_LOG_LEVEL": "WARNING",
    }
    for name in ("FRONTDESK_DATABASE_URL", "OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        env.pop(name, None)
    return env


def _turn_ttft(client: httpx.Client, base: str, conversation: str) -> float:
    """Seconds from sending a chat message to its first ``delta`` event."""
    start = time.perf_counter()
    url = f"{base}/api/conversations/{conversation}/messages"
    first = None
    with client.stream("POST", url, json={"content": "How do I reset my password?"}) as resp:
        resp.raise_for_status()
        for line in resp.iter_lines():  # read to the end of the turn
            if first is None and line == "event: delta":
                first = time.perf_counter() - start
    if first is not None:
        return first
    raise RuntimeError("the turn sent no delta")


def spawn(
    src: Path,
    env: dict[str, str],
    core: int,
    key: str | None,
    log: Path,
    *,
    turns: bool = False,
    think: float = 0.0,
) -> tuple[float, float, float | None, tuple[float, float] | None]:
    """(seconds to the first /healthz 200, CPU seconds by then, seconds to a first answer,
    time to first token of the first and the second chat turn)."""
    port = free_port()
    env = {**env, "PYTHONPATH": str(src.resolve())}
    cmd = ["taskset", "-c", str(core), str(CLI), "serve", "--port", str(port), "--no-upgrade"]
    with open(log, "wb") as out:
        start = time.perf_counter()
        process = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(timeout=5.0) as client:
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"exited {process.returncode}: {log.read_text()[-2000:]}")
                try:
                    if client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                        ready = time.perf_counter() - start
                        cpu = cpu_seconds(process.pid)
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.01)
            answered = None
            if key is not None:
                reply = client.post(
                    f"http://127.0.0.1:{port}/v1/chat/completions",
                    headers={"Authorization": f"Bearer {key}"},
                    json={"model": "upstream", "messages": [{"role": "user", "content": "hi"}]},
                )
                reply.raise_for_status()
                answered = time.perf_counter() - start
            ttfts = None
            if turns:
                base = f"http://127.0.0.1:{port}"
                created = client.post(f"{base}/api/conversations", json={})
                created.raise_for_status()
                conversation = str(created.json()["id"])
                time.sleep(think)  # a customer typing the first message
                ttfts = (
                    _turn_ttft(client, base, conversation),
                    _turn_ttft(client, base, conversation),
                )
        return ready, cpu, answered, ttfts
    finally:
        process.terminate()
        process.wait(timeout=20)


def _fmt(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} ({', '.join(f'{v:.2f}' for v in values)})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--a", type=Path, required=True, help="src directory of tree A")
    p.add_argument("--b", type=Path, required=True, help="src directory of tree B")
    p.add_argument("--c", type=Path, help="src directory of a third tree C (optional)")
    p.add_argument("--spawns", type=int, default=5, help="spawns per tree and configuration")
    p.add_argument("--config", choices=["gateway", "default", "both"], default="gateway")
    p.add_argument("--default-home", type=Path, help="home with sample_kb ingested (default)")
    p.add_argument("--core", type=int, default=1, help="core the server is pinned to")
    p.add_argument("--first-answer", action="store_true", help="also time a first completion")
    p.add_argument(
        "--turns", action="store_true", help="gateway: also time the first two chat turns (TTFT)"
    )
    p.add_argument(
        "--think", type=float, default=0.0, help="seconds between the new conversation and turn 1"
    )
    args = p.parse_args()
    trees = {"A": args.a, "B": args.b, **({"C": args.c} if args.c else {})}
    with tempfile.TemporaryDirectory(prefix="startup-ab-") as tmp:
        work = Path(tmp)
        upstream = start_upstream(ROOT, free_port(), 0)
        try:
            configs: list[tuple[str, dict[str, str], str | None]] = []
            if args.config in ("gateway", "both"):
                env, client_key = _prepare_gateway(work, f"http://127.0.0.1:{upstream.port}/v1")
                configs.append(("gateway", env, client_key if args.first_answer else None))
            if args.config in ("default", "both"):
                if args.default_home is None:
                    p.error("--config default needs --default-home")
                configs.append(("default", _default_env(args.default_home), None))
            for name, env, key in configs:
                results: dict[str, dict[str, list[float]]] = {
                    t: {"ready": [], "cpu": [], "answer": [], "turn1": [], "turn2": []}
                    for t in trees
                }
                turns = args.turns and name == "gateway"
                for i in range(args.spawns):
                    for tree, src in trees.items():
                        ready, cpu, answered, ttfts = spawn(
                            src,
                            env,
                            args.core,
                            key,
                            work / f"{name}-{tree}-{i}.log",
                            turns=turns,
                            think=args.think,
                        )
                        r = results[tree]
                        r["ready"].append(ready)
                        r["cpu"].append(cpu)
                        if answered is not None:
                            r["answer"].append(answered)
                        if ttfts is not None:
                            r["turn1"].append(ttfts[0])
                            r["turn2"].append(ttfts[1])
                        print(f"{name} {tree} #{i}: {ready:.3f} s, CPU {cpu:.2f} s", flush=True)
                for tree in trees:
                    r = results[tree]
                    print(f"{name} {tree}: start-up {_fmt(r['ready'])}; CPU {_fmt(r['cpu'])}")
                    if r["answer"]:
                        print(f"{name} {tree}: first answer {_fmt(r['answer'])}")
                    if r["turn1"]:
                        print(f"{name} {tree}: TTFT first turn {_fmt(r['turn1'])}")
                        print(f"{name} {tree}: TTFT second turn {_fmt(r['turn2'])}")
        finally:
            upstream.stop()


if __name__ == "__main__":
    main()
