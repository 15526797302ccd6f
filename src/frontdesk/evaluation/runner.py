"""Run golden cases through the native chat API over HTTP, concurrency-limited."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from frontdesk.errors import FrontdeskError
from frontdesk.evaluation.cases import EvalCase
from frontdesk.evaluation.observe import SSEDecoder, TurnObservation

Enricher = Callable[[str, str], Awaitable[dict[str, Any]]]
"""(conversation id, assistant message id of the scored turn) -> details from the server side."""

Progress = Callable[[str], None]


class EvalRunError(FrontdeskError):
    """The server under evaluation could not be reached or answered outside the protocol."""


@dataclass
class CaseRun:
    """A case played against the bot: one observation per user turn."""

    case: EvalCase
    conversation_id: str = ""
    turns: list[TurnObservation] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    failure: str | None = None

    @property
    def last(self) -> TurnObservation:
        return self.turns[-1] if self.turns else TurnObservation()


async def send_turn(client: httpx.AsyncClient, conversation_id: str, text: str) -> TurnObservation:
    """Send one user message and read its SSE stream to the end."""
    obs = TurnObservation()
    decoder = SSEDecoder()
    started = time.perf_counter()
    url = f"/api/conversations/{conversation_id}/messages"
    async with client.stream(
        "POST", url, json={"content": text}, headers={"accept": "text/event-stream"}
    ) as resp:
        if resp.status_code != 200:
            body = (await resp.aread()).decode("utf-8", "replace")[:500]
            obs.error = {"code": f"http_{resp.status_code}", "message": body}
            obs.total_ms = (time.perf_counter() - started) * 1000
            return obs
        async for line in resp.aiter_lines():
            item = decoder.line(line)
            if item is not None:
                obs.feed(item[0], item[1], (time.perf_counter() - started) * 1000)
        item = decoder.line("")
        if item is not None:
            obs.feed(item[0], item[1], (time.perf_counter() - started) * 1000)
    obs.total_ms = (time.perf_counter() - started) * 1000
    return obs


async def play_case(
    client: httpx.AsyncClient, case: EvalCase, enrich: Enricher | None = None
) -> CaseRun:
    """Play one case as its own customer: ``client`` carries that customer's cookies only."""
    run = CaseRun(case)
    try:
        resp = await client.post("/api/conversations", json={"metadata": {"eval_case": case.id}})
        if resp.status_code != 201:
            run.failure = f"POST /api/conversations answered {resp.status_code}: {resp.text[:300]}"
            return run
        run.conversation_id = str(resp.json()["id"])
        for text in case.turns:
            run.turns.append(await send_turn(client, run.conversation_id, text))
    except httpx.HTTPError as exc:
        run.failure = f"{type(exc).__name__}: {exc}"
        return run
    if enrich is not None and run.last.message_id:
        run.details = await enrich(run.conversation_id, run.last.message_id)
    return run


async def run_cases(
    base_url: str,
    cases: Sequence[EvalCase],
    *,
    concurrency: int = 2,
    enrich: Enricher | None = None,
    on_done: Progress | None = None,
    request_seconds: float = 180.0,
) -> list[CaseRun]:
    """Play every case (``concurrency`` at a time); results keep the input order."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    limit = asyncio.Semaphore(concurrency)
    timeout = httpx.Timeout(request_seconds)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout) as probe:
        try:
            ready = await probe.get("/api/bot")
        except httpx.HTTPError as exc:
            raise EvalRunError(f"cannot reach {base_url}: {exc}") from exc
    if ready.status_code != 200:
        raise EvalRunError(f"{base_url}/api/bot answered {ready.status_code}: not a Frontdesk")

    async def one(case: EvalCase) -> CaseRun:
        # a client (cookie jar) per case: every case is its own customer with its own
        # browser session, as on the real web chat (one jar would make them one requester)
        async with limit, httpx.AsyncClient(base_url=base_url, timeout=timeout) as client:
            run = await play_case(client, case, enrich)
        if on_done is not None:
            on_done(case.id)
        return run

    return list(await asyncio.gather(*(one(c) for c in cases)))
