"""The deployment files: hadolint on the Dockerfile, Kubernetes manifests rendered by
kustomize and checked against the packaged Kubernetes schemas, and compose.yaml's wiring."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml

from tests.conftest import REPO

K8S = REPO / "deploy" / "k8s"
KUBERNETES_VERSION = "1.30.0"  # the oldest version the manifests promise to work on
HADOLINT = Path(sys.executable).with_name("hadolint")
KUBECTL = shutil.which("kubectl")


def test_hadolint_passes_the_dockerfile() -> None:
    done = subprocess.run(
        [str(HADOLINT), "--failure-threshold", "info", str(REPO / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_would_catch_a_bad_dockerfile(tmp_path: Path) -> None:
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN cd /tmp && pip install requests\n")
    done = subprocess.run([str(HADOLINT), str(bad)], capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "DL3007" in done.stdout  # the :latest tag


def test_the_final_stage_runs_as_a_numeric_non_root_user_with_a_healthcheck() -> None:
    text = (REPO / "Dockerfile").read_text()
    final = text[text.rindex("\nFROM ") :]
    assert "\nUSER 10001:10001\n" in final
    assert "HEALTHCHECK" in final and "/healthz" in final
    assert "ARG BASE_IMAGE=python:3.11-slim-bookworm" in text
    assert "build-essential" not in final  # no compilers in the image that runs


def render(overlay: Path) -> list[dict[str, Any]]:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed: `kubectl kustomize` cannot render the overlays")
    done = subprocess.run(
        [KUBECTL, "kustomize", str(overlay)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def base_resources() -> list[dict[str, Any]]:
    """The base's files as written (checked even where kubectl is missing)."""
    kustomization = yaml.safe_load((K8S / "base" / "kustomization.yaml").read_text())
    docs = []
    for name in kustomization["resources"]:
        docs += [d for d in yaml.safe_load_all((K8S / "base" / name).read_text()) if d]
    return docs


def validate(docs: list[dict[str, Any]]) -> None:
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_base_resources_match_the_kubernetes_schemas() -> None:
    docs = base_resources()
    assert {d["kind"] for d in docs} >= {
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "Job",
        "ConfigMap",
    }
    validate(docs)


def test_the_schema_check_refuses_an_unknown_field() -> None:
    [deployment] = [d for d in base_resources() if d["kind"] == "Deployment"]
    deployment["spec"]["replicaz"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        validate([deployment])


@pytest.mark.parametrize("overlay", ["base", "overlays/production"])
def test_kustomize_renders_valid_manifests(overlay: str) -> None:
    docs = render(K8S / overlay)
    validate(docs)
    by_kind = {d["kind"]: d for d in docs}
    pod = by_kind["Deployment"]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["args"] == ["serve-only"]  # the Job migrates, the pods only serve
    job = by_kind["Job"]["spec"]["template"]["spec"]
    assert job["containers"][0]["args"] == ["migrate"]
    assert job["containers"][0]["image"] == container["image"]
    hpa = by_kind["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == by_kind["Deployment"]["metadata"]["name"]
    selector = by_kind["Service"]["spec"]["selector"]
    labels = by_kind["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items()  # the Service reaches the pods


def test_compose_wires_frontdesk_to_postgres_redis_and_the_collector() -> None:
    compose = yaml.safe_load((REPO / "compose.yaml").read_text())
    services = compose["services"]
    assert set(services) == {"postgres", "redis", "otel-collector", "migrate", "frontdesk"}
    for name, service in services.items():
        image = service["image"]
        if name not in {"migrate", "frontdesk"}:  # the others: a pinned upstream tag
            assert ":" in image and not image.endswith(":latest"), f"{name}: pin {image}"
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on unknown {needed}"
    assert "pgvector" in services["postgres"]["image"]
    env = services["frontdesk"]["environment"]
    assert env["FRONTDESK_DATABASE_URL"].startswith("postgresql://")
    assert env["FRONTDESK_REDIS_URL"].startswith("redis://redis:")
    assert env["FRONTDESK_OTEL_EXPORTER"] == "otlp"
    assert "otel-collector" in env["OTEL_EXPORTER_OTLP_ENDPOINT"]
    assert "?" in env["FRONTDESK_ADMIN_TOKEN"]  # compose refuses to start without one
    waits = services["frontdesk"]["depends_on"]
    assert waits["migrate"]["condition"] == "service_completed_successfully"
    for volume in services["otel-collector"].get("volumes", []):
        source = volume.split(":", 1)[0]
        assert (REPO / source).is_file(), source
