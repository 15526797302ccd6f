"""Build the image with podman, run it and talk to it: /healthz, /readyz and a cited answer.

Takes minutes (an image build), so it runs only with ``FRONTDESK_IMAGE_TEST=1``
(``make test-image``), and skips with the reason where podman is missing.
Settings: ``FRONTDESK_IMAGE`` (tag), ``FRONTDESK_BASE_IMAGE`` (build argument),
``FRONTDESK_PODMAN`` (the podman command, e.g. ``podman --storage-driver vfs``),
``FRONTDESK_IMAGE_PREBUILT=1`` (use the tag as it is instead of building).
"""

from __future__ import annotations

import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import REPO
from tests.deploy.podman import PODMAN, build_image, podman
from tests.servers import free_port

IMAGE = os.environ.get("FRONTDESK_IMAGE", "frontdesk:dev")
BASE_IMAGE = os.environ.get("FRONTDESK_BASE_IMAGE", "python:3.11-slim-bookworm")

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("FRONTDESK_IMAGE_TEST") != "1",
        reason="the image build takes minutes: run `make test-image` (FRONTDESK_IMAGE_TEST=1)",
    ),
    pytest.mark.skipif(
        shutil.which(PODMAN[0]) is None,
        reason=f"{PODMAN[0]} is not installed (apt-get install podman runc): cannot build images",
    ),
    pytest.mark.timeout(3600),
]


@dataclass
class Build:
    tag: str
    failure: str | None = None


@pytest.fixture(scope="module")
def build() -> Build:
    """Build once per module; a failed build fails every test with its log (no rebuilds)."""
    if os.environ.get("FRONTDESK_IMAGE_PREBUILT") == "1":
        return Build(IMAGE)
    try:
        build_image(IMAGE, REPO, BASE_IMAGE)
    except AssertionError as exc:
        return Build(IMAGE, failure=str(exc)[-6000:])
    return Build(IMAGE)


@pytest.fixture
def image(build: Build) -> str:
    if build.failure is not None:
        pytest.fail(f"the image did not build:\n{build.failure}")
    return build.tag


def test_the_image_runs_as_a_non_root_user_with_a_healthcheck(image: str) -> None:
    config = podman("image", "inspect", "--format", "{{.Config.User}}|{{.HealthCheck}}", image)
    user, health = config.strip().split("|", 1)
    assert user == "10001:10001"
    assert "/healthz" in health
    assert podman("run", "--rm", "--network", "none", image, "id", "-u").strip() == "10001"


def test_models_are_inside_the_image_and_work_without_a_network(image: str) -> None:
    # migrations and the sample ingest (embedding model) with no network at all
    out = podman(
        "run",
        "--rm",
        "--network",
        "none",
        "--read-only",
        "--tmpfs",
        "/tmp",
        "--mount",  # U: owned by the image's user (podman ignores a tmpfs mode here)
        "type=tmpfs,destination=/var/lib/frontdesk,U=true",
        "-e",
        f"FRONTDESK_ADMIN_TOKEN={secrets.token_urlsafe(32)}",
        image,
        "migrate",
        timeout=600,
    )
    assert out is not None
    model = podman(
        "run",
        "--rm",
        "--network",
        "none",
        image,
        "python3",
        "-c",
        "from frontdesk.providers.local_model import packaged_model_path as p;"
        "import os; print(os.path.getsize(p()))",
    )
    assert int(model.strip()) > 50_000_000  # the SmolLM2 GGUF, about 98 MB


@pytest.fixture(scope="module")
def container(build: Build) -> Iterator[str]:
    if build.failure is not None:
        pytest.fail(f"the image did not build:\n{build.failure}")
    image = build.tag
    port = free_port()
    name = f"frontdesk-test-{secrets.token_hex(4)}"
    podman(
        "run",
        "-d",
        "--name",
        name,
        "--network",
        "host",
        "--read-only",  # as in deploy/k8s (readOnlyRootFilesystem)
        "--tmpfs",
        "/tmp",
        "--mount",  # U: owned by the image's user (podman ignores a tmpfs mode here)
        "type=tmpfs,destination=/var/lib/frontdesk,U=true",
        "-e",
        f"FRONTDESK_PORT={port}",
        "-e",
        f"FRONTDESK_ADMIN_TOKEN={secrets.token_urlsafe(32)}",
        image,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            state = podman("inspect", "--format", "{{.State.Status}}", name).strip()
            if state != "running" or time.monotonic() > deadline:
                logs = podman("logs", name, check=False, stderr=True)
                raise AssertionError(f"container {state}, no /healthz:\n{logs[-4000:]}")
            time.sleep(1)
        yield base
    finally:
        podman("rm", "-f", name, check=False)


def test_the_running_container_is_healthy_and_ready(container: str) -> None:
    assert httpx.get(f"{container}/healthz", timeout=5).json() == {"status": "ok"}
    ready = httpx.get(f"{container}/readyz", timeout=30)
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["database"]["ok"] is True


def test_the_container_answers_from_the_sample_documents(container: str) -> None:
    with httpx.Client(base_url=container, timeout=120) as client:
        conversation = client.post("/api/conversations", json={}).json()
        reply = client.post(
            f"/api/conversations/{conversation['id']}/messages",
            json={"content": "Can I get a refund on my annual plan?", "stream": False},
        )
    assert reply.status_code == 200, reply.text
    message = reply.json()["message"]
    assert message["status"] == "complete", message
    assert message["citations"], message  # grounded in sample_kb, ingested at start-up
    assert "refund" in message["content"].lower()
