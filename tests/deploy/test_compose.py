"""compose.yaml brought up with podman: Frontdesk (2 workers), PostgreSQL + pgvector, Redis.

Builds the images (Frontdesk, and PostgreSQL + pgvector and Redis from Debian's packages,
deploy/podman/), runs ``podman-compose -f compose.yaml -f deploy/podman/compose.yaml up``
and talks to the stack from the host: /healthz, /readyz, a cited answer, the conversation in
PostgreSQL and rate-limit keys in Redis. Takes minutes, so it runs only with
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

import httpx
import pytest

from tests.conftest import REPO
from tests.servers import free_port

PODMAN = shlex.split(os.environ.get("FRONTDESK_PODMAN", "podman"))
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


def run(command: list[str], *, timeout: float = 600, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=REPO,
        env=None if env is None else {**os.environ, **env},
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{shlex.join(command)} failed ({done.returncode}):\n"
            f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        )
    return done.stdout


def podman(*args: str, timeout: float = 600) -> str:
    return run([*PODMAN, *args], timeout=timeout)


@dataclass
class Stack:
    base: str
    project: str
    timings: dict[str, float] = field(default_factory=dict)

    def container(self, service: str) -> str:
        return f"{self.project}_{service}_1"

    def exec(self, service: str, *command: str) -> str:
        return podman("exec", self.container(service), *command, timeout=120)

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
        podman(
            "build",
            "--format",
            "docker",  # keeps HEALTHCHECK (the OCI format has none)
            "--layers=false",  # one commit per stage: each layer is a full copy on vfs
            "--network",
            "host",
            "--build-arg",
            f"BASE_IMAGE={base}",
            *(["-f", str(containerfile)] if containerfile else []),
            "-t",
            tag,
            str(context),
            timeout=3000,
        )
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
    stack = Stack(f"http://127.0.0.1:{port}", project, timings)
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


def test_a_cited_answer_from_the_sample_documents(stack: Stack) -> None:
    started = time.monotonic()
    with httpx.Client(base_url=stack.base, timeout=300) as client:
        conversation = client.post("/api/conversations", json={}).json()
        reply = client.post(
            f"/api/conversations/{conversation['id']}/messages",
            json={"content": "Can I get a refund?", "stream": False},
        )
    stack.timings["first answer s"] = round(time.monotonic() - started, 1)
    assert reply.status_code == 200, f"{reply.text}\n{stack.logs('frontdesk')}"
    message = reply.json()["message"]
    assert message["status"] == "complete", message
    assert message["citations"], message  # grounded in sample_kb, ingested at start-up
    assert "refund" in message["content"].lower()
    # the conversation and both messages are in the compose PostgreSQL
    stored = stack.psql(
        "SELECT count(*) FROM messages WHERE conversation_id = "
        f"'{conversation['id']}'"  # an id the server made: [0-9a-f-] only
    )
    assert int(stored.strip()) >= 2
    assert stack.psql(f"SELECT count(*) FROM conversations WHERE id = '{conversation['id']}'") == (
        "1\n"
    )


def test_the_knowledge_base_is_in_pgvector(stack: Stack) -> None:
    assert stack.psql("SELECT extversion FROM pg_extension WHERE extname = 'vector'").strip()
    assert int(stack.psql("SELECT count(*) FROM kb_chunks").strip()) > 0


def test_rate_limit_keys_are_in_redis(stack: Stack) -> None:
    with httpx.Client(base_url=stack.base, timeout=300) as client:
        client.post("/api/conversations", json={}).raise_for_status()
    keys = stack.exec("redis", "redis-cli", "--scan", "--pattern", "frontdesk:rl:*").split()
    assert keys, "no rate-limit bucket in Redis"
