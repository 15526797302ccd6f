"""A bot replaced by a config change, or of a deleted tenant, is closed once the requests
holding it end (not at shutdown); a stream that never ends is cut after the grace time."""

from __future__ import annotations

import asyncio
import copy
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import delete

from frontdesk.app import create_app
from frontdesk.memory.dialects import create_engine
from frontdesk.memory.migrate import upgrade_engine
from frontdesk.memory.schema import tenants
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from frontdesk.tenants.leases import BotLeases, hold
from frontdesk.tenants.registry import TenantBots
from frontdesk.tenants.resolve import SITE_HEADER
from frontdesk.tenants.store import TenantRecord, TenantStore
from tests.apphelpers import sse_events, text_of
from tests.conftest import make_bot
from tests.servers import serve
from tests.tenants.world import ACME, create_tenant, in_thread


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _changed(greeting: str) -> dict[str, Any]:
    doc = copy.deepcopy(ACME)
    doc["branding"]["greeting"] = greeting
    return doc


async def _world(tmp_path: Path) -> tuple[Any, TenantStore]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'fd.db'}")
    await upgrade_engine(engine)
    return engine, TenantStore(engine)


def _builder(closed: list[str]) -> Any:
    async def build(stack: AsyncExitStack, record: TenantRecord) -> str:
        name = f"{record.id}@{record.version}"
        stack.callback(closed.append, name)
        return name

    return build


async def test_a_replaced_bot_closes_when_its_last_lease_ends(tmp_path: Path) -> None:
    engine, store = await _world(tmp_path)
    closed: list[str] = []
    clock = Clock()
    bots = TenantBots(store, _builder(closed), cache_seconds=1, clock=clock)
    try:
        first = await store.create("acme", copy.deepcopy(ACME))
        old, release_a = await bots.lease(first)
        _, release_b = await bots.lease(first)
        second = await store.update("acme", _changed("Version two."))
        assert await bots.bot(second) == f"acme@{second.version}"
        await bots.settle()
        assert closed == [] and bots.open_bots == 2  # two requests still stream on it
        release_a()
        release_a()  # a second call is a no-op, not a second release
        await bots.settle()
        assert closed == []
        release_b()
        await bots.settle()
        assert closed == [old] and bots.open_bots == 1
    finally:
        await bots.aclose()
        await engine.dispose()
    assert closed == [old, f"acme@{second.version}"]


async def test_a_stream_that_never_ends_is_cut_after_the_grace_time(tmp_path: Path) -> None:
    engine, store = await _world(tmp_path)
    closed: list[str] = []
    bots = TenantBots(store, _builder(closed), retire_grace_seconds=0.05)
    try:
        first = await store.create("acme", copy.deepcopy(ACME))
        old, _never_released = await bots.lease(first)
        await bots.bot(await store.update("acme", _changed("Version two.")))
        for _ in range(200):
            if closed:
                break
            await asyncio.sleep(0.01)
        assert closed == [old]
    finally:
        await bots.aclose()
        await engine.dispose()


async def test_a_deleted_tenants_bot_is_closed_by_the_sweep(tmp_path: Path) -> None:
    engine, store = await _world(tmp_path)
    closed: list[str] = []
    clock = Clock()
    bots = TenantBots(store, _builder(closed), cache_seconds=5, clock=clock)
    try:
        acme = await store.create("acme", copy.deepcopy(ACME))
        globex = await store.create("globex", {**copy.deepcopy(ACME), "retention_days": 3})
        await bots.bot(acme)
        await bots.bot(globex)
        assert await bots.by_site_key(acme.site_key) == acme  # cached (and swept) at 0
        async with engine.begin() as conn:  # another process deleted it
            await conn.execute(delete(tenants).where(tenants.c.id == "acme"))
        assert await bots.by_site_key(acme.site_key) is not None  # cached record, no sweep yet
        clock.now = 6
        assert await bots.by_site_key(globex.site_key) is not None  # any lookup sweeps
        await bots.settle()
        assert closed == [f"acme@{acme.version}"]
        assert await bots.by_site_key(acme.site_key) is None  # its cached record went too
    finally:
        await bots.aclose()
        await engine.dispose()


def test_the_middleware_releases_after_the_streamed_body(tmp_path: Path) -> None:
    events: list[str] = []
    app = FastAPI()

    @app.get("/stream")
    async def stream(request: Request) -> StreamingResponse:
        hold(request, lambda: events.append("released"))

        async def body() -> Any:
            for part in ("a", "b"):
                events.append(f"sent {part}")
                yield part

        return StreamingResponse(body())

    app.add_middleware(BotLeases)

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            assert (await http.get("/stream")).text == "ab"

    asyncio.run(run())
    assert events == ["sent a", "sent b", "released"]
    outside: list[str] = []
    bare = FastAPI()

    @bare.get("/")
    async def plain(request: Request) -> dict[str, str]:
        hold(request, lambda: outside.append("released at once"))
        assert outside == ["released at once"]  # no middleware: nothing is held
        return {}

    async def run_bare() -> None:
        transport = httpx.ASGITransport(app=bare)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            assert (await http.get("/")).status_code == 200

    asyncio.run(run_bare())


class SlowModel:
    """A loopback OpenAI-compatible server whose streams wait for ``finish`` half-way."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.finish = threading.Event()

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def complete() -> StreamingResponse:
            async def body() -> Any:
                for i, word in enumerate(("Acme ", "streams ", "on.")):
                    if i == 1:
                        self.started.set()
                        await asyncio.to_thread(self.finish.wait, 60)
                    chunk = {"id": "c", "choices": [{"index": 0, "delta": {"content": word}}]}
                    yield f"data: {json.dumps(chunk)}\n\n"
                done = {"id": "c", "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                usage = {"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}
                yield f"data: {json.dumps(done)}\n\n"
                yield f"data: {json.dumps({'id': 'c', 'choices': [], 'usage': usage})}\n\n"
                yield "data: [DONE]\n\n"

            return StreamingResponse(body(), media_type="text/event-stream")

        return app


def test_a_turn_streaming_during_a_config_change_ends_on_its_bot_then_it_closes(
    migrated: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDESK_TEST_SLOW_KEY", "k")
    model = SlowModel()
    with serve(model.app()) as model_url:
        document = copy.deepcopy(ACME)
        document["bot"].update(
            endpoints=[
                {
                    "name": "slow",
                    "dialect": "openai",
                    "model": "gpt-4o-mini",
                    "base_url": model_url + "/v1",
                    "api_key_env": "FRONTDESK_TEST_SLOW_KEY",
                }
            ],
            model={"chain": ["slow"]},
            knowledge={"enabled": False},
            answer={"mode": "generative"},
        )
        acme = create_tenant(migrated, "acme", document)
        settings = migrated.model_copy(update={"api_key_cache_seconds": 0.0})
        app = create_app(settings, bot=make_bot(), provider=ScriptedProvider.from_texts(["D."]))
        site = {SITE_HEADER: acme.site_key}
        with serve(app) as base, httpx.Client(base_url=base, timeout=60) as http:
            registry = app.state.services.tenants
            cid = http.post("/api/conversations", json={}, headers=site).json()["id"]
            with ThreadPoolExecutor(1) as pool:
                streaming = pool.submit(
                    http.post,
                    f"/api/conversations/{cid}/messages",
                    json={"content": "hello"},
                    headers=site,
                )
                assert model.started.wait(30), streaming.result(timeout=30).text
                changed = copy.deepcopy(document)
                changed["branding"]["greeting"] = "Version two."
                in_thread(lambda: _update(settings, changed))
                greeting = http.post("/api/conversations", json={}, headers=site).json()
                assert greeting["greeting"] == "Version two."  # the new bot serves
                assert registry.open_bots == 2  # the old one still streams the turn
                model.finish.set()
                answer = streaming.result(timeout=60)
            assert text_of(sse_events(answer)) == "Acme streams on."  # whole, on the old bot
            for _ in range(100):
                if registry.open_bots == 1:
                    break
                time.sleep(0.05)
            assert registry.open_bots == 1  # closed once the turn ended, not at shutdown


async def _update(settings: Settings, document: dict[str, Any]) -> None:
    engine = create_engine(settings.resolved_database_url)
    try:
        await TenantStore(engine).update("acme", document)
    finally:
        await engine.dispose()
