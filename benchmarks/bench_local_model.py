"""The embedded model (SmolLM2-135M GGUF on llama-cpp-python): TTFT and tokens per second.

Goes through Frontdesk's own seam: ``SharedModels`` loads the packaged model exactly as the
app does and ``LocalProvider.stream`` generates, so the numbers include the provider's
tokenizing, the worker-thread hand-off and the stop scanner. The prompt is a support
question padded to ``--prompt-tokens`` tokens as counted by the provider's own token
counter (chat template included). Every run starts with a different first line, so
llama.cpp cannot reuse the previous run's KV cache ("cold" prompt); one extra set of runs
repeats one prompt verbatim to show the prefix-cache case ("warm").

    .venv/bin/python benchmarks/bench_local_model.py [--threads 2] [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

from frontdesk.domain import ChatMessage
from frontdesk.events import TextDelta, UsageReport
from frontdesk.providers.base import ChatRequest
from frontdesk.providers.factory import SharedModels
from frontdesk.providers.local import LocalProvider
from frontdesk.settings import load_settings

SYSTEM = (
    "You are Nora, the customer-support assistant of Northwind Data, a SaaS platform for "
    "building and running data pipelines. Be concise, friendly and precise. Never invent "
    "features, prices or policies; if unsure, offer to connect the customer with a person."
)
QUESTION = "Given all of this, how do I reset my password and get my pipelines running again?"
FILLER = (
    "I run three nightly pipelines that copy orders from our Postgres database into the "
    "warehouse. Since Monday the scheduler shows them as queued but they never start. "
    "I changed my password last week and I am not sure the stored connection still works. "
    "Our team has five seats on the Team plan and two of my colleagues cannot log in either. "
)


def build_messages(prefix: str, filler_words: int) -> list[ChatMessage]:
    words = (FILLER * (filler_words // len(FILLER.split()) + 1)).split()[:filler_words]
    user = f"{prefix}\n{' '.join(words)}\n\n{QUESTION}"
    return [ChatMessage("system", SYSTEM), ChatMessage("user", user)]


def fit_prompt(provider: LocalProvider, prefix: str, target: int) -> list[ChatMessage]:
    """The longest padding whose whole prompt is at most ``target`` tokens (binary search)."""
    low, high = 0, target
    while low < high:
        mid = (low + high + 1) // 2
        if provider.tokens.count_messages(build_messages(prefix, mid)) <= target:
            low = mid
        else:
            high = mid - 1
    return build_messages(prefix, low)


@dataclass
class Run:
    prompt_tokens: int
    output_tokens: int
    ttft_s: float
    total_s: float

    @property
    def decode_tps(self) -> float:
        """Tokens per second after the first one (generation speed)."""
        return (self.output_tokens - 1) / max(1e-9, self.total_s - self.ttft_s)

    @property
    def e2e_tps(self) -> float:
        """Output tokens per second over the whole call, prompt processing included."""
        return self.output_tokens / self.total_s

    @property
    def prefill_tps(self) -> float:
        return self.prompt_tokens / self.ttft_s


async def one_run(provider: LocalProvider, messages: list[ChatMessage], max_out: int) -> Run:
    request = ChatRequest(messages=messages, temperature=0.0, max_output_tokens=max_out)
    prompt_tokens = provider.tokens.count_messages(messages)
    start = time.perf_counter()
    first: float | None = None
    output = 0
    async for ev in provider.stream(request):
        if isinstance(ev, TextDelta) and ev.text and first is None:
            first = time.perf_counter()
        elif isinstance(ev, UsageReport):
            output = ev.usage.output_tokens
    end = time.perf_counter()
    if first is None or output < 2:
        raise RuntimeError(f"the model produced {output} tokens; cannot measure speed")
    run = Run(prompt_tokens, output, first - start, end - start)
    print(
        f"  prompt {prompt_tokens} tok, output {output} tok, TTFT {run.ttft_s * 1000:.0f} ms, "
        f"decode {run.decode_tps:.1f} tok/s, load {loadavg()}",
        file=sys.stderr,
        flush=True,
    )
    return run


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def table(title: str, runs: list[Run]) -> list[str]:
    def med(values: list[float]) -> float:
        return statistics.median(values)

    ttft_ms = [r.ttft_s * 1000 for r in runs]
    decode = [r.decode_tps for r in runs]
    cells = [
        title,
        str(len(runs)),
        f"{med([r.prompt_tokens for r in runs]):.0f}",
        f"{med([r.output_tokens for r in runs]):.0f}",
        f"{med(ttft_ms):.0f}",
        f"{min(ttft_ms):.0f}-{max(ttft_ms):.0f}",
        f"{med([r.prefill_tps for r in runs]):.0f}",
        f"{med(decode):.1f}",
        f"{min(decode):.1f}-{max(decode):.1f}",
        f"{med([r.e2e_tps for r in runs]):.1f}",
    ]
    return ["| " + " | ".join(cells) + " |"]


async def measure(args: argparse.Namespace) -> list[str]:
    settings = load_settings(local_threads=args.threads, local_n_ctx=args.n_ctx)
    shared = SharedModels(settings)
    started = time.perf_counter()
    await shared.load_local()
    load_s = time.perf_counter() - started
    model = shared.local_model()
    provider = LocalProvider(model)
    try:
        load_before = loadavg()
        await one_run(provider, fit_prompt(provider, "Warm-up.", args.prompt_tokens), 16)
        cold = []
        for i in range(args.runs):
            messages = fit_prompt(
                provider, f"Ticket {i + 1} from customer {7 * i + 3}:", args.prompt_tokens
            )
            cold.append(await one_run(provider, messages, args.max_tokens))
        same = fit_prompt(provider, "Ticket 0 from customer 0:", args.prompt_tokens)
        warm = [await one_run(provider, same, args.max_tokens) for _ in range(args.runs + 1)][1:]
        load_after = loadavg()
    finally:
        await shared.aclose()
    return [
        f"Machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, llama-cpp-python "
        f"{version('llama-cpp-python')}, model {model.path.name}, n_threads={model.n_threads}, "
        f"n_ctx={model.n_ctx}; model load {load_s:.2f} s. Load average before/after: "
        f"{load_before} / {load_after} (shared, noisy machine).",
        f"Command: `.venv/bin/python benchmarks/bench_local_model.py {' '.join(sys.argv[1:])}`",
        f"Greedy decoding (temperature 0), up to {args.max_tokens} output tokens; prompt tokens "
        "counted by LocalProvider.tokens.count_messages (chat template included).",
        "",
        "| prompt | runs | prompt tokens | output tokens | TTFT median ms | TTFT range ms "
        "| prefill tok/s | decode tok/s median | decode tok/s range | end-to-end tok/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *table("cold (new prefix each run)", cold),
        *table("warm (same prompt repeated)", warm),
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2, help="llama.cpp threads")
    p.add_argument("--n-ctx", type=int, default=2048)
    p.add_argument("--prompt-tokens", type=int, default=500)
    p.add_argument("--max-tokens", type=int, default=128)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--out", type=Path, help="also write the Markdown report here")
    args = p.parse_args()
    report = "\n".join(asyncio.run(measure(args)))
    print(report)
    if args.out:
        args.out.write_text(report + "\n")


if __name__ == "__main__":
    main()
