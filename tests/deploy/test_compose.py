"""compose.yaml brought up with podman: Frontdesk (2 workers), PostgreSQL + pgvector, Redis.

Builds the images (Frontdesk, and PostgreSQL + pgvector and Redis from Debian's packages,
deploy/podman/), runs ``podman-compose -f compose.yaml -f deploy/podman/compose.yaml up``
and talks to the stack from the host as a customer: /healthz, /readyz, two workers, an answer
streamed as ``text/event-stream`` citing the sample documents, its conversation, messages and
turn record in PostgreSQL, the knowledge chunks in pgvector, rate-limit and allowance keys in
Redis; then a second tenant made with the CLI inside the container (``tenants create``, its
own ``ingest``, ``config check``) answers from its own document with its own branding, and
every cross-tenant request is a 404. Takes minutes, so it runs only with
``FRONTDESK_COMPOSE_TEST=1`` (``make test-compose``), and skips with the reason where podman or
podman-compose is missing. Settings: ``FRONTDESK_PODMAN`` (podman command for the builds),
``FRONTDESK_COMPOSE`` (the compose command, default ``podman-compose``),
``FRONTDESK_BASE_IMAGE`` / ``FRONTDESK_POSTGRES_BASE_IMAGE`` (Debian 12 / Debian 13 bases),
``FRONTDESK_COMPOSE_PREBUILT=1`` (use the images as they are). Timings and image sizes go to
``test-artifacts/compose.json``.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.apphelpers import SSEEvent, sse_events
from tests.conftest import REPO
from tests.deploy.podman import PODMAN, build_image, podman
from tests.servers import free_port

COMPOSE = shlex.split(os.environ.get("FRONTDESK_COMPOSE", "podman-compose"))
BASE_IMAGE = os.environ.get("FRONTDESK_BASE_IMAGE", "localhost/debian-base:bookworm")
POSTGRES_BASE = os.environ.get("FRONTDESK_POSTGRES_BASE_IMAGE", "localhost/debian-base:trixie")
FILES = ["-f", str(REPO / "compose.yaml"), "-f", str(REPO / "deploy/podman/compose.yaml")]
ARTIFACT = REPO / "test-artifacts" / "compose.json"

#: image tag -> (build context, Containerfile or None for the context's own, base image)
IMAGES: dict[str, tuple[Path, Path | None, str]] = {
    "localhost/frontdesk:latest": (REPO, None, BASE_IMAGE),
    "localhost/frontdesk-postgres:17-pgvector": (
        REPO / "deploy/podman/postgres",
        REPO / "deploy/podman/postgres/Containerfile",
        POSTGRES_BASE,
    ),
    "localhost/frontdesk-redis:7": (
        REPO / "deploy/podman/redis",
        REPO / "deploy/podman/redis/Containerfile",
        BASE_IMAGE,
    ),
}

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("FRONTDESK_COMPOSE_TEST") != "1",
        reason="builds three images and starts five containers (minutes): run `make test-compose`"
        " (FRONTDESK_COMPOSE_TEST=1)",
    ),
    pytest.mark.skipif(
        shutil.which(PODMAN[0]) is None,
        reason=f"{PODMAN[0]} is not installed (apt-get install podman runc): cannot run compose",
    ),
    pytest.mark.skipif(
        shutil.which(COMPOSE[0]) is None,
        reason=f"{COMPOSE[0]} is not installed (pip install podman-compose)",
    ),
    pytest.mark.timeout(5400),
]


def run(
    command: list[str],
    *,
    timeout: float = 600,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> str:
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=REPO,
        input=stdin,
        env=None if env is None else {**os.environ, **env},
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{shlex.join(command)} failed ({done.returncode}):\n"
            f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        )
    return done.stdout


@dataclass
class Stack:
    base: str
    project: str
    postgres_password: str
    timings: dict[str, float] = field(default_factory=dict)

    def container(self, service: str) -> str:
        return f"{self.project}_{service}_1"

    def exec(self, service: str, *command: str, stdin: str | None = None) -> str:
        interactive = ["-i"] if stdin is not None else []
        return run(
            [*PODMAN, "exec", *interactive, self.container(service), *command],
            timeout=600,
            stdin=stdin,
        )

    def logs(self, service: str) -> str:
        done = subprocess.run(
            [*PODMAN, "logs", "--tail", "60", self.container(service)],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        return (done.stdout + done.stderr)[-6000:]

    def psql(self, sql: str) -> str:
        return self.exec("postgres", "psql", "-U", "frontdesk", "-d", "frontdesk", "-Atc", sql)


def build_images(timings: dict[str, float]) -> None:
    for tag, (context, containerfile, base) in IMAGES.items():
        started = time.monotonic()
        build_image(tag, context, base, containerfile=containerfile)
        timings[f"build {tag} s"] = round(time.monotonic() - started, 1)


def image_sizes() -> dict[str, int]:
    sizes = {}
    for tag in IMAGES:
        size = podman("image", "inspect", "--format", "{{.Size}}", tag).strip()
        sizes[tag] = int(size)
    return sizes


def wait_for_health(stack: Stack, deadline: float) -> None:
    while True:
        try:
            if httpx.get(f"{stack.base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        state = podman(
            "inspect", "--format", "{{.State.Status}}", stack.container("frontdesk")
        ).strip()
        if state == "exited":  # its entry point migrates and ingests, then serves
            raise AssertionError("the frontdesk container exited")
        if time.monotonic() > deadline:
            raise AssertionError("no /healthz from the frontdesk container in time")
        time.sleep(2)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    timings: dict[str, float] = {}
    if os.environ.get("FRONTDESK_COMPOSE_PREBUILT") != "1":
        build_images(timings)
    project = f"fdcompose{secrets.token_hex(3)}"
    port = free_port()
    env = {
        "FRONTDESK_ADMIN_TOKEN": secrets.token_urlsafe(32),
        "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
        "FRONTDESK_PUBLISH": f"127.0.0.1:{port}",
        "FRONTDESK_WORKERS": "2",
    }
    compose = [*COMPOSE, "-p", project, *FILES]
    stack = Stack(f"http://127.0.0.1:{port}", project, env["POSTGRES_PASSWORD"], timings)
    started = time.monotonic()
    try:
        run([*compose, "up", "-d", "--no-build"], env=env, timeout=900)
        timings["up (compose command) s"] = round(time.monotonic() - started, 1)
        wait_for_health(stack, time.monotonic() + 900)
        timings["up to /healthz s"] = round(time.monotonic() - started, 1)
        yield stack
    except AssertionError as exc:
        logs = subprocess.run(
            [*COMPOSE, "-p", project, *FILES, "logs"],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**os.environ, **env},
            check=False,
            timeout=120,
        )
        raise AssertionError(f"{exc}\n--- logs:\n{(logs.stdout + logs.stderr)[-8000:]}") from exc
    finally:
        ARTIFACT.parent.mkdir(exist_ok=True)
        record = {"timings": timings, "image_sizes": image_sizes()}
        ARTIFACT.write_text(json.dumps(record, indent=2) + "\n")
        subprocess.run(
            [*compose, "down", "-v"],
            capture_output=True,
            cwd=REPO,
            env={**os.environ, **env},
            check=False,
            timeout=300,
        )


def test_the_stack_is_healthy_and_ready(stack: Stack) -> None:
    assert httpx.get(f"{stack.base}/healthz", timeout=5).json() == {"status": "ok"}
    ready = httpx.get(f"{stack.base}/readyz", timeout=30)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"]["ok"] is True


def test_frontdesk_runs_two_workers(stack: Stack) -> None:
    # uvicorn's workers are spawned processes (multiprocessing.spawn) under one supervisor
    script = (
        "import pathlib\n"
        "for p in pathlib.Path('/proc').glob('[0-9]*/cmdline'):\n"
        "    try: print(p.read_bytes().replace(b'\\0', b' ').decode())\n"
        "    except OSError: pass\n"
    )
    processes = stack.exec("frontdesk", "python3", "-c", script).splitlines()
    workers = [p for p in processes if "spawn_main" in p and "resource_tracker" not in p]
    assert len(workers) == 2, processes


SITE = "X-Frontdesk-Site"
STREAM = {"accept": "text/event-stream"}

#: the second tenant: its own bot (embedded model), branding, limits, budget and documents
CONTOSO_YAML = """\
bot:
  name: Cleo
  company: Contoso Travel
  greeting: "Hi, I'm Cleo from Contoso Travel. How can I help?"
  system_prompt: |
    You are {bot_name}, the support assistant of {company}. Today is {today}.
    Answer only from the sources given to you and cite them as [1], [2].
    If the sources do not say it, say so and offer a person from:
    {contacts}
  model:
    chain: [local]
  endpoints:
    - {name: local, dialect: local, model: smollm2-135m-instruct}
  contacts:
    bookings: {team: Bookings desk, email: bookings@contoso.example}
  knowledge:
    collection: contoso
  limits:
    tenant_rpm: 600
  budgets:
    - {scope: tenant, window: month, amount_usd: 200}
branding:
  name: Contoso Travel Help
  primary_color: "#0f766e"
  header_color: "#115e59"
  launcher_label: Questions? Ask Cleo
widget_origins:
  - https://www.contoso.example
"""
CONTOSO_DOC = """\
# Contoso Travel baggage allowance

The baggage allowance of every Contoso Travel ticket is one checked suitcase of up to 23 kg
and one cabin bag of up to 8 kg. A second checked suitcase costs 45 EUR when it is added
online before the trip, and 70 EUR at the airport. Sports equipment such as skis or a
bicycle counts as one checked suitcase if it weighs 23 kg or less.
"""
CONTOSO_QUESTION = "How much checked baggage is included with a Contoso Travel ticket?"


@dataclass
class Answer:
    """One conversation with one streamed answer, as a customer sees it."""

    conversation: dict[str, Any]
    events: list[SSEEvent]
    redis: list[str] = field(default_factory=list)
    """The Redis keys right after the answer (a rate-limit bucket expires once refilled)."""

    @property
    def id(self) -> str:
        cid: str = self.conversation["id"]
        return cid

    @property
    def text(self) -> str:
        return "".join(e.data["text"] for e in self.events if e.event == "delta")

    @property
    def citations(self) -> list[dict[str, Any]]:
        found = [e.data["citations"] for e in self.events if e.event == "citations"]
        return found[-1] if found else []

    @property
    def done(self) -> dict[str, Any]:
        done = [e.data for e in self.events if e.event == "done"]
        assert len(done) == 1, self.events
        return done[0]


def ask(client: httpx.Client, question: str, site_key: str | None = None) -> Answer:
    """A new conversation and one answer streamed as ``text/event-stream``."""
    site = {SITE: site_key} if site_key else {}
    created = client.post("/api/conversations", json={}, headers=site)
    assert created.status_code == 201, created.text
    conversation = created.json()
    reply = client.post(
        f"/api/conversations/{conversation['id']}/messages",
        json={"content": question},
        headers={**site, **STREAM},
    )
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/event-stream"), reply.headers
    return Answer(conversation, sse_events(reply))


def redis_keys(stack: Stack, pattern: str) -> list[str]:
    return stack.exec("redis", "redis-cli", "--scan", "--pattern", pattern).split()


def sql_literal(value: str) -> str:
    assert all(c.isalnum() or c in "-_:" for c in value), value  # ids the server made
    return f"'{value}'"


@pytest.fixture(scope="module")
def customer(stack: Stack) -> Iterator[httpx.Client]:
    """One browser: its session cookie goes with every request (so only the tenant differs)."""
    with httpx.Client(base_url=stack.base, timeout=600) as client:
        yield client


@pytest.fixture(scope="module")
def sample_answer(stack: Stack, customer: httpx.Client) -> Answer:
    started = time.monotonic()
    answer = ask(customer, "Can I get a refund on my annual plan?")
    answer.redis = redis_keys(stack, "frontdesk:*")
    stack.timings["first answer s"] = round(time.monotonic() - started, 1)
    return answer


@pytest.fixture(scope="module")
def contoso(stack: Stack) -> str:
    """The tenant ``contoso`` made with the CLI inside the frontdesk container; its site key."""
    started = time.monotonic()
    stack.exec("frontdesk", "sh", "-c", "mkdir -p /tmp/contoso-docs")
    stack.exec("frontdesk", "sh", "-c", "cat > /tmp/contoso.yaml", stdin=CONTOSO_YAML)
    stack.exec("frontdesk", "sh", "-c", "cat > /tmp/contoso-docs/baggage.md", stdin=CONTOSO_DOC)
    site_key = stack.exec(
        "frontdesk", "frontdesk", "tenants", "create", "contoso", "--file", "/tmp/contoso.yaml"
    ).strip()
    assert site_key.startswith("fdsite_"), site_key
    stack.exec("frontdesk", "frontdesk", "ingest", "/tmp/contoso-docs", "--tenant", "contoso")
    check = stack.exec("frontdesk", "frontdesk", "config", "check", "--tenant", "contoso")
    assert "configuration OK" in check, check
    assert stack.postgres_password not in check, check  # the database URL without its password
    stack.timings["tenant create + ingest s"] = round(time.monotonic() - started, 1)
    return site_key


@pytest.fixture(scope="module")
def contoso_answer(stack: Stack, customer: httpx.Client, contoso: str) -> Answer:
    started = time.monotonic()
    answer = ask(customer, CONTOSO_QUESTION, site_key=contoso)
    answer.redis = redis_keys(stack, "frontdesk:*")
    stack.timings["contoso first answer s"] = round(time.monotonic() - started, 1)
    return answer


def cited_documents(stack: Stack, answer: Answer) -> set[tuple[str, str, str]]:
    """(tenant, collection, source) of every document the answer cites, from PostgreSQL."""
    if not answer.citations:
        return set()
    ids = ",".join(sql_literal(c["document_id"]) for c in answer.citations)
    rows = stack.psql(f"SELECT tenant, collection, source FROM kb_documents WHERE id IN ({ids})")
    found = {tuple(row.split("|")) for row in rows.splitlines()}
    assert len(found) == len({c["document_id"] for c in answer.citations}), rows
    return found  # type: ignore[return-value]


def test_a_streamed_cited_answer_from_the_sample_documents(
    stack: Stack, sample_answer: Answer
) -> None:
    answer = sample_answer
    assert answer.events[0].event == "start", answer.events
    assert answer.done["status"] == "complete", answer.done
    assert "refund" in answer.text.lower(), answer.text
    assert answer.citations, answer.events  # grounded in sample_kb, ingested at start-up
    documents = cited_documents(stack, answer)
    assert all(tenant == "default" for tenant, _, _ in documents), documents
    assert any("sample_kb" in source for _, _, source in documents), documents


def test_the_conversation_messages_and_turn_record_are_in_postgresql(
    stack: Stack, sample_answer: Answer
) -> None:
    cid = sql_literal(sample_answer.id)
    assert stack.psql(f"SELECT tenant_id FROM conversations WHERE id = {cid}") == "default\n"
    messages = stack.psql(
        f"SELECT role, status FROM messages WHERE conversation_id = {cid} ORDER BY seq"
    )
    assert messages.splitlines() == ["user|complete", "assistant|complete"], messages
    stored = stack.psql(
        f"SELECT content FROM messages WHERE conversation_id = {cid} AND role = 'assistant'"
    )
    assert stored.strip() == sample_answer.text.strip()
    turns = stack.psql(
        "SELECT t.status, t.provider, json_array_length(t.retrieved_chunk_ids) > 0, "
        "t.assistant_message_id = m.id FROM turns t JOIN messages m "
        f"ON m.conversation_id = t.conversation_id AND m.role = 'assistant' "
        f"WHERE t.conversation_id = {cid}"
    )
    assert turns.splitlines() == [f"complete|{sample_answer.done['provider']}|t|t"], turns


def test_the_knowledge_base_is_in_pgvector(stack: Stack, sample_answer: Answer) -> None:
    assert stack.psql("SELECT extversion FROM pg_extension WHERE extname = 'vector'").strip()
    column = stack.psql(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = 'kb_chunks'::regclass AND attname = 'embedding'"
    )
    assert column.startswith("vector"), column
    chunks = int(stack.psql("SELECT count(*) FROM kb_chunks WHERE tenant = 'default'"))
    assert chunks > 0
    cited = ",".join(sql_literal(c["chunk_id"]) for c in sample_answer.citations)
    assert int(stack.psql(f"SELECT count(*) FROM kb_chunks WHERE id IN ({cited})")) == len(
        {c["chunk_id"] for c in sample_answer.citations}
    )
    stack.timings["default kb_chunks"] = chunks


def test_rate_limits_and_budgets_are_in_redis(
    stack: Stack, sample_answer: Answer, contoso_answer: Answer
) -> None:
    for tenant, answer in (("default", sample_answer), ("contoso", contoso_answer)):
        limits = [k for k in answer.redis if k.startswith("frontdesk:rl:")]
        budgets = [k for k in answer.redis if k.startswith("frontdesk:budget:")]
        # per conversation and per anonymous session/address, each under its own tenant
        assert f"frontdesk:rl:conversation:{tenant}:{answer.id}" in limits, limits
        assert any(k.startswith(f"frontdesk:rl:anon:message:session:{tenant}:") for k in limits)
        # the anonymous allowance (tokens and USD per day) reserved and settled on Redis
        assert any(k.startswith(f"frontdesk:budget:anon:usd:session:{tenant}:") for k in budgets)
    # its bot's tenant_rpm
    assert "frontdesk:rl:tenant:contoso" in contoso_answer.redis, contoso_answer.redis
    print(f"redis keys: {sorted(sample_answer.redis)} {sorted(contoso_answer.redis)}")


def test_two_tenants_answer_from_their_own_documents_with_their_own_branding(
    stack: Stack,
    customer: httpx.Client,
    contoso: str,
    sample_answer: Answer,
    contoso_answer: Answer,
) -> None:
    # branding by site key: the public record, the bot and the new conversation's greeting
    branding = customer.get(f"/api/site/{contoso}").json()
    assert branding["name"] == "Contoso Travel Help", branding
    assert branding["primary_color"] == "#0f766e", branding
    bot = customer.get("/api/bot", headers={SITE: contoso}).json()
    assert (bot["name"], bot["company"]) == ("Cleo", "Contoso Travel"), bot
    default_bot = customer.get("/api/bot").json()
    assert default_bot["name"] != "Cleo", default_bot
    assert "Contoso" in json.dumps(contoso_answer.conversation), contoso_answer.conversation
    assert "Contoso" not in json.dumps(sample_answer.conversation), sample_answer.conversation

    # contoso answers from its document, in its own collection
    assert contoso_answer.done["status"] == "complete", contoso_answer.done
    assert contoso_answer.citations, contoso_answer.events
    documents = cited_documents(stack, contoso_answer)
    assert {(t, c) for t, c, _ in documents} == {("contoso", "contoso")}, documents
    assert all(source.endswith("baggage.md") for _, _, source in documents), documents
    assert "23 kg" in contoso_answer.text, contoso_answer.text
    assert stack.psql(
        f"SELECT tenant_id FROM conversations WHERE id = {sql_literal(contoso_answer.id)}"
    ) == ("contoso\n")
    # the default tenant, asked the same question, never sees contoso's document
    other = ask(customer, CONTOSO_QUESTION)
    assert all(t == "default" for t, _, _ in cited_documents(stack, other)), other.citations
    assert "23 kg" not in other.text, other.text


def test_a_tenant_cannot_see_another_tenants_anything(
    customer: httpx.Client, contoso: str, sample_answer: Answer, contoso_answer: Answer
) -> None:
    mine, theirs = sample_answer.id, contoso_answer.id
    as_contoso = {SITE: contoso}
    # each tenant reads its own conversation (same browser session both times)
    assert customer.get(f"/api/conversations/{mine}").status_code == 200
    assert customer.get(f"/api/conversations/{theirs}", headers=as_contoso).status_code == 200
    # and never the other's: 404, like a conversation that does not exist
    crossed = [
        customer.get(f"/api/conversations/{theirs}"),
        customer.get(f"/api/conversations/{mine}", headers=as_contoso),
        customer.get(f"/api/conversations/{theirs}/export"),
        customer.get(f"/api/conversations/{mine}/export", headers=as_contoso),
        customer.post(
            f"/api/conversations/{theirs}/messages",
            json={"content": "hello", "stream": False},
        ),
        customer.post(
            f"/api/conversations/{mine}/messages",
            json={"content": "hello", "stream": False},
            headers=as_contoso,
        ),
        customer.post(
            f"/api/messages/{contoso_answer.done['message_id']}/feedback", json={"rating": 1}
        ),
    ]
    assert [r.status_code for r in crossed] == [404] * len(crossed), [
        (r.request.url.path, r.status_code, r.text[:200]) for r in crossed
    ]
    # an unknown site key is a 404 too
    assert customer.get("/api/bot", headers={SITE: "fdsite_nope"}).status_code == 404
