"""Two workers behind one port behave as one (real PostgreSQL, real Redis, real processes).

``frontdesk serve --workers 2`` on a throw-away PostgreSQL database and its own Redis
database; each check sends its requests through connections pinned to different
worker processes and expects what one process would do: one rate limit, one budget,
agent messages reaching a customer streaming from the other worker, one queue, and
a queued answer answered exactly once.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import psutil  # type: ignore[import-untyped]
import pytest
import pytest_asyncio
import yaml
from redis.asyncio import Redis

from frontdesk.api.spend import SYSTEM_AND_SOURCES_TOKENS
from frontdesk.auth.cli import create_key_async
from tests.deploy.workers import Workers, pinned, served_by, start_workers, stop_workers
from tests.memory.pg import temporary_database
from tests.providers.fake_http import Reply, Request
from tests.providers.fake_openai import API_KEY, FakeOpenAI, error_reply, stream_reply
from tests.servers import free_port

# one pair of workers for the module (start-up loads the models twice: ~30 s)
pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.timeout(600),
    pytest.mark.asyncio(loop_scope="module"),
]

REDIS_DB = 13  # its own database: tenant-wide keys of other tests cannot meet these
MAX_OUTPUT = 20_000
WINDOW = 1024
ANSWER = "Shared state works."


class SwitchableOpenAI(FakeOpenAI):
    """The fake vendor, which answers 503 to every completion while ``down``."""

    down = False

    def _handle(self, request: Request) -> Reply:
        if self.down and request.path.endswith("/chat/completions"):
            return error_reply(503, "fake outage")
        return super()._handle(request)

    def completions_with(self, text: str, *, succeeded_after: int = 0) -> int:
        return sum(
            1
            for r in self.requests[succeeded_after:]
            if r.path.endswith("/chat/completions") and text in r.body.decode()
        )


def bot_yaml(base_url: str) -> dict[str, Any]:
    return {
        "name": "Testbot",
        "company": "Acme",
        "system_prompt": "You are {bot_name} of {company}.\n{contacts}",
        "model": {"chain": ["vendor"], "max_output_tokens": MAX_OUTPUT},
        "memory": {"window_tokens": WINDOW, "summary_tokens": 64},
        "endpoints": [
            {
                "name": "vendor",
                "dialect": "openai",
                "model": "gpt-4o-mini",
                "base_url": base_url,
                "api_key_env": "FAKE_VENDOR_KEY",
                "max_attempts": 1,
                "first_token_timeout_seconds": 120,
                "timeout_seconds": 180,
            }
        ],
        "contacts": {"support": {"team": "Support", "email": "support@acme.example"}},
        "knowledge": {"enabled": False},
        "guard": {"enabled": False},
        "answer": {"mode": "generative"},
        "limits": {"conversation_rpm": 3},
    }


def reservation_tokens(question: str) -> int:
    """What the anonymous budget holds for one turn (api/spend.worst_case_tokens)."""
    return WINDOW + SYSTEM_AND_SOURCES_TOKENS + len(question) // 2 + MAX_OUTPUT


BUDGET_QUESTION = "What does the budget allow?"
SESSION_ALLOWANCE = reservation_tokens(BUDGET_QUESTION) * 3 // 2  # one turn held at a time


@dataclass
class Site:
    workers: Workers
    fake: SwitchableOpenAI
    database_url: str

    @property
    def a(self) -> int:
        return sorted(self.workers.pids)[0]

    @property
    def b(self) -> int:
        return sorted(self.workers.pids)[1]


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with temporary_database("frontdesk_workers") as url:
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(pg_url: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    tmp_path = tmp_path_factory.mktemp("workers")
    fake = SwitchableOpenAI(default_text=ANSWER)
    async with fake:
        config = tmp_path / "bot.yaml"
        config.write_text(yaml.safe_dump(bot_yaml(fake.base_url)))
        redis_url = f"redis://127.0.0.1:6379/{REDIS_DB}"
        env = {
            "FRONTDESK_ENV": "test",
            "FRONTDESK_HOME": str(tmp_path / "home"),
            "FRONTDESK_BOT_CONFIG": str(config),
            "FRONTDESK_DATABASE_URL": pg_url.replace("+asyncpg", ""),
            "FRONTDESK_REDIS_URL": redis_url,
            "FRONTDESK_LOG_JSON": "false",
            "FRONTDESK_DEFERRED_INTERVAL_SECONDS": "0.5",
            "FRONTDESK_HEARTBEAT_SECONDS": "2",
            "FRONTDESK_ABUSE__ANONYMOUS_DAILY_TOKENS_PER_SESSION": str(SESSION_ALLOWANCE),
            "FRONTDESK_ABUSE__ANONYMOUS_DAILY_TOKENS_PER_ADDRESS": "0",
            "FRONTDESK_ABUSE__ANONYMOUS_DAILY_USD_PER_SESSION": "0",
            "FRONTDESK_ABUSE__ANONYMOUS_DAILY_USD_PER_ADDRESS": "0",
            "FRONTDESK_TRUSTED_PROXIES": '["127.0.0.1/32"]',
            "FAKE_VENDOR_KEY": API_KEY,
        }
        redis = Redis.from_url(redis_url)
        await redis.flushdb()
        log = tmp_path / "serve.log"
        # in a thread: this event loop keeps serving the fake vendor meanwhile
        workers = await asyncio.to_thread(start_workers, env, free_port(), log)
        try:
            assert len(workers.pids) == 2
            yield Site(workers, fake, pg_url)
        finally:
            await asyncio.to_thread(stop_workers, workers)
            await redis.flushdb()
            await redis.aclose()


async def new_conversation(client: httpx.AsyncClient) -> tuple[str, str]:
    created = await client.post("/api/conversations", json={})
    assert created.status_code in (200, 201), created.text
    body = created.json()
    return body["id"], body["session"]


async def say(client: httpx.AsyncClient, cid: str, text: str) -> httpx.Response:
    return await client.post(
        f"/api/conversations/{cid}/messages", json={"content": text, "stream": False}
    )


SESSION = "X-Frontdesk-Session"


def customer(n: int) -> dict[str, str]:
    """A customer at their own address (the workers trust 127.0.0.1 as the proxy)."""
    return {"X-Forwarded-For": f"203.0.113.{n}"}


async def on(site: Site, pid: int, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """Send one request through worker ``pid`` and check that it served it."""
    headers = kwargs.pop("headers", {})
    async with pinned(site.workers, pid, headers=headers) as client:
        response = await client.request(method, url, **kwargs)
        assert served_by(site.workers, response) == pid
    return response


async def events(response: httpx.Response) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    name, data = "message", None
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif line == "" and data is not None:
            yield name, json.loads(data)
            name, data = "message", None


async def next_event(
    stream: AsyncIterator[tuple[str, dict[str, Any]]], name: str
) -> dict[str, Any]:
    async with asyncio.timeout(20):
        async for event, data in stream:
            if event == name:
                return data
    raise AssertionError(f"the stream ended before a {name!r} event")


async def test_one_rate_limit_across_workers(site: Site) -> None:
    who = customer(1)
    created = await on(site, site.a, "POST", "/api/conversations", json={}, headers=who)
    cid, session = created.json()["id"], created.json()["session"]
    who = {**who, SESSION: session}
    statuses = []
    for n, pid in enumerate([site.a, site.b, site.a, site.b]):
        reply = await on(
            site,
            pid,
            "POST",
            f"/api/conversations/{cid}/messages",
            json={"content": f"Question number {n}?", "stream": False},
            headers=who,
        )
        statuses.append(reply.status_code)
    # conversation_rpm 3: one bucket in Redis, not one per worker (which would admit all 4)
    assert statuses == [200, 200, 200, 429], site.workers.log_tail()
    assert reply.json()["error"]["code"] == "rate_limited"
    assert "retry-after" in reply.headers


async def test_one_budget_across_workers(site: Site) -> None:
    who = customer(2)
    created = await on(site, site.a, "POST", "/api/conversations", json={}, headers=who)
    first, session = created.json()["id"], created.json()["session"]
    who = {**who, SESSION: session}
    second = (await on(site, site.b, "POST", "/api/conversations", json={}, headers=who)).json()
    assert second["session"] in (None, session)  # the session it came with
    site.fake.push(stream_reply("A slow answer.", first_delay=4.0))
    asked = len(site.fake.requests)
    async with pinned(site.workers, site.a, headers=who) as a:
        held = asyncio.ensure_future(
            a.post(
                f"/api/conversations/{first}/messages",
                json={"content": BUDGET_QUESTION, "stream": False},
            )
        )
        # the fake records requests in a list: poll it until worker A holds its reservation
        while len(site.fake.requests) == asked:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        # worker B sees A's reservation: 1.5 turns of allowance leave no room for a second
        refused = await on(
            site,
            site.b,
            "POST",
            f"/api/conversations/{second['id']}/messages",
            json={"content": BUDGET_QUESTION, "stream": False},
            headers=who,
        )
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "budget_exceeded"
        answered = await held
        assert served_by(site.workers, answered) == site.a
    assert answered.status_code == 200, answered.text
    assert answered.json()["message"]["content"] == "A slow answer."
    # settled at what A really used (a few tokens): B has room again
    again = await on(
        site,
        site.b,
        "POST",
        f"/api/conversations/{second['id']}/messages",
        json={"content": BUDGET_QUESTION, "stream": False},
        headers=who,
    )
    assert again.status_code == 200, again.text
    assert again.json()["message"]["content"] == ANSWER


async def _escalate(site: Site, pid: int, who: dict[str, str], text: str) -> str:
    created = await on(site, pid, "POST", "/api/conversations", json={}, headers=who)
    cid = created.json()["id"]
    who[SESSION] = created.json()["session"]
    held = await on(
        site,
        pid,
        "POST",
        f"/api/conversations/{cid}/messages",
        json={"content": text, "stream": False},
        headers=who,
    )
    assert held.status_code == 200, held.text
    return str(cid)


async def _agent(site: Site) -> dict[str, str]:
    key = await create_key_async(site.database_url, role="agent", name="alice")
    return {"Authorization": f"Bearer {key.token}"}


async def test_live_agent_messages_and_queue_positions_cross_workers(site: Site) -> None:
    agent = await _agent(site)
    first = await _escalate(site, site.a, customer(3), "I want to talk to a person")
    second_who = customer(4)
    second = await _escalate(site, site.b, second_who, "Please connect me with a human")
    queues = [
        (await on(site, pid, "GET", "/api/agent/queue", headers=agent)).json()
        for pid in (site.a, site.b)
    ]
    seen = [[(t["id"], t["queue_position"], t["reason"]) for t in q["tickets"]] for q in queues]
    assert seen[0] == seen[1]  # one queue, whoever asks
    order = [(t["conversation_id"], t["queue_position"]) for t in queues[0]["tickets"]]
    assert sorted(order, key=lambda item: item[1]) == order
    assert {cid for cid, _ in order} == {first, second}
    [(ahead, _), (behind, _)] = order
    ticket = {t["conversation_id"]: t["id"] for t in queues[0]["tickets"]}
    behind_who = second_who if behind == second else customer(3)

    # the customer behind streams from worker A; the agent works on worker B
    async with (
        pinned(site.workers, site.a, headers=behind_who) as live,
        live.stream("GET", f"/api/conversations/{behind}/events") as response,
    ):
        assert served_by(site.workers, response) == site.a
        stream = events(response)
        status = await next_event(stream, "status")
        assert (status["status"], status["queue_position"]) == ("waiting_for_agent", 2)
        claim = await on(
            site, site.b, "POST", f"/api/agent/tickets/{ticket[ahead]}/claim", headers=agent
        )
        assert claim.status_code == 200, claim.text
        moved = await next_event(stream, "queue")
        assert moved["queue_position"] == 1
        claim = await on(
            site, site.b, "POST", f"/api/agent/tickets/{ticket[behind]}/claim", headers=agent
        )
        assert claim.status_code == 200, claim.text
        assert (await next_event(stream, "status"))["status"] == "agent"
        words = f"Hi, Alice here ({secrets.token_hex(3)})."
        reply = await on(
            site,
            site.b,
            "POST",
            f"/api/agent/tickets/{ticket[behind]}/reply",
            json={"content": words},
            headers=agent,
        )
        assert reply.status_code == 201, reply.text
        pushed = await next_event(stream, "message")
        assert (pushed["role"], pushed["author"], pushed["content"]) == ("agent", "alice", words)


def _final_user_text(request: Request) -> str | None:
    try:
        messages = request.json()["messages"]
    except (ValueError, KeyError, TypeError):
        return None
    last = messages[-1] if messages else {}
    return str(last.get("content")) if last.get("role") == "user" else None


async def test_a_queued_answer_is_answered_once_by_one_worker(site: Site) -> None:
    who = customer(5)
    created = await on(site, site.a, "POST", "/api/conversations", json={}, headers=who)
    cid = created.json()["id"]
    who[SESSION] = created.json()["session"]
    question = f"Is my export ready? (ticket {secrets.token_hex(3)})"
    site.fake.down = True
    queued = await on(
        site,
        site.a,
        "POST",
        f"/api/conversations/{cid}/messages",
        json={"content": question, "stream": False},
        headers=who,
    )
    assert queued.status_code == 200, queued.text
    assert queued.json()["message"]["status"] == "queued"
    outage_ends = len(site.fake.requests)
    site.fake.down = False
    deadline = asyncio.get_running_loop().time() + 90
    while True:
        conversation = (
            await on(site, site.b, "GET", f"/api/conversations/{cid}", headers=who)
        ).json()
        replies = [m for m in conversation["messages"] if m["role"] == "assistant"]
        if replies and replies[-1]["status"] == "complete":
            break
        assert asyncio.get_running_loop().time() < deadline, (replies, site.workers.log_tail())
        await asyncio.sleep(0.5)
    await asyncio.sleep(3)  # rounds of both workers' loops: nobody answers it again
    asked = [r for r in site.fake.requests[outage_ends:] if _final_user_text(r) == question]
    assert len(asked) == 1
    conversation = (await on(site, site.a, "GET", f"/api/conversations/{cid}", headers=who)).json()
    replies = [m for m in conversation["messages"] if m["role"] == "assistant"]
    assert [(m["status"], m["content"]) for m in replies] == [("complete", ANSWER)]


async def test_a_killed_worker_is_replaced_without_touching_the_others_answers(
    site: Site,
) -> None:
    """kill -9 of one worker: uvicorn starts another; its start-up leaves the answer the
    surviving worker is streaming alone (it used to mark every pending answer failed)."""
    workers = site.workers
    survivor, victim = site.a, site.b
    who = customer(6)
    created = await on(site, survivor, "POST", "/api/conversations", json={}, headers=who)
    cid = created.json()["id"]
    who[SESSION] = created.json()["session"]
    site.fake.push(stream_reply("Worth the wait.", first_delay=60.0))  # > a start-up
    asked = len(site.fake.requests)
    async with pinned(workers, survivor, headers=who, read_timeout=150) as client:
        slow = asyncio.ensure_future(
            client.post(
                f"/api/conversations/{cid}/messages",
                json={"content": "Will this survive?", "stream": False},
            )
        )
        while len(site.fake.requests) == asked:  # noqa: ASYNC110 (the fake keeps a list)
            await asyncio.sleep(0.05)
        psutil.Process(victim).send_signal(signal.SIGKILL)
        replacement = await asyncio.to_thread(workers.replaced, victim)
        site.workers.pids = {survivor, replacement}
        # the new worker is up and the slow answer is still being written
        assert not slow.done()
        conversation = (
            await on(site, replacement, "GET", f"/api/conversations/{cid}", headers=who)
        ).json()
        [pending] = [m for m in conversation["messages"] if m["role"] == "assistant"]
        assert pending["status"] == "pending", pending
        answered = await slow
    assert answered.status_code == 200, answered.text
    assert answered.json()["message"]["content"] == "Worth the wait."
    assert answered.json()["message"]["status"] == "complete"
