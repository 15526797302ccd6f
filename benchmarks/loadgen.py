"""A bounded keep-alive HTTP load generator for OpenAI-compatible chat completions (httpx)."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

PROMPT = "Hello! When is your support team available?"


def body(model: str, *, stream: bool) -> dict[str, object]:
    payload: dict[str, object] = {
        "model": model,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": 50,
        "temperature": 0,
    }
    if stream:
        payload["stream"] = True
        payload["stream_options"] = {"include_usage": True}
    return payload


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Target:
    """Where to send requests: base URL (ending in /v1), model id and bearer key."""

    name: str
    base_url: str
    model: str
    key: str

    def client(self, connections: int) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Authorization": f"Bearer {self.key}"},
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            timeout=30.0,
        )


class BenchError(RuntimeError):
    pass


async def one_request(client: httpx.AsyncClient, target: Target) -> float:
    """One non-stream completion; seconds."""
    start = time.perf_counter()
    response = await client.post("/chat/completions", json=body(target.model, stream=False))
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise BenchError(f"{target.name}: HTTP {response.status_code}: {response.text[:300]}")
    if not response.json()["choices"][0]["message"]["content"]:
        raise BenchError(f"{target.name}: empty answer")
    return elapsed


async def one_stream(client: httpx.AsyncClient, target: Target) -> tuple[float, float]:
    """One streamed completion; (seconds to first content token, seconds to the end)."""
    start = time.perf_counter()
    first: float | None = None
    text = []
    payload = body(target.model, stream=True)
    async with client.stream("POST", "/chat/completions", json=payload) as response:
        if response.status_code != 200:
            await response.aread()
            raise BenchError(f"{target.name}: HTTP {response.status_code}: {response.text[:300]}")
        async for line in response.aiter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            choices = json.loads(line[6:]).get("choices") or []
            content = choices[0].get("delta", {}).get("content") if choices else None
            if content:
                if first is None:
                    first = time.perf_counter() - start
                text.append(content)
    if first is None or not "".join(text):
        raise BenchError(f"{target.name}: the stream carried no content")
    return first, time.perf_counter() - start


@dataclass
class Sequential:
    p50_ms: float
    p99_ms: float
    mean_ms: float


async def sequential_latency(target: Target, requests: int, warmup: int) -> Sequential:
    async with target.client(1) as client:
        for _ in range(warmup):
            await one_request(client, target)
        samples = [await one_request(client, target) * 1000 for _ in range(requests)]
    return Sequential(
        percentile(samples, 0.5), percentile(samples, 0.99), statistics.fmean(samples)
    )


async def sequential_ttft(target: Target, streams: int, warmup: int) -> Sequential:
    async with target.client(1) as client:
        for _ in range(warmup):
            await one_stream(client, target)
        samples = [(await one_stream(client, target))[0] * 1000 for _ in range(streams)]
    return Sequential(
        percentile(samples, 0.5), percentile(samples, 0.99), statistics.fmean(samples)
    )


async def throughput(
    target: Target, total: int, concurrency: int, *, stream: bool, cpu: Callable[[], float]
) -> tuple[float, float, int]:
    """Run exactly ``total`` requests (or streams) from ``concurrency`` workers.

    Returns (wall seconds, ``cpu()`` difference, failed requests) over the timed phase; a
    failed request is counted, not fatal (the first failure is printed)."""
    remaining = total
    failed = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal remaining, failed
        while remaining > 0:
            remaining -= 1
            try:
                if stream:
                    await one_stream(client, target)
                else:
                    await one_request(client, target)
            except (BenchError, httpx.HTTPError) as exc:
                if not failed:
                    print(f"{target.name}: first failure: {exc}", flush=True)
                failed += 1

    async with target.client(concurrency) as client:
        # open the connections first so that the timed phase is keep-alive only
        await asyncio.gather(*(one_request(client, target) for _ in range(concurrency)))
        cpu_before, start = cpu(), time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
        return elapsed, cpu() - cpu_before, failed


async def first_answer(target: Target) -> float:
    """Seconds one completion takes on a fresh connection (the first after start-up)."""
    async with target.client(1) as client:
        return await one_request(client, target)
