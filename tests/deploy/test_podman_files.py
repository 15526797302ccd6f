"""deploy/podman/: the local PostgreSQL + pgvector and Redis images and the compose override.

Quick (in ``make test``): hadolint on the Containerfiles, ``sh -n`` on the entry points, and
the override names only services, files and build contexts that exist. ``make test-compose``
(tests/deploy/test_compose.py) builds and runs them.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO

PODMAN_DIR = REPO / "deploy" / "podman"
HADOLINT = Path(sys.executable).with_name("hadolint")
CONTAINERFILES = sorted(PODMAN_DIR.glob("*/Containerfile"))


class _ComposeLoader(yaml.SafeLoader):
    """Compose's merge tags (!override, !reset) read as plain values."""


def _tagged(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)  # type: ignore[arg-type]


_ComposeLoader.add_multi_constructor("!", _tagged)


def test_there_is_a_containerfile_for_postgres_and_redis() -> None:
    assert {p.parent.name for p in CONTAINERFILES} == {"postgres", "redis"}


@pytest.mark.parametrize("containerfile", CONTAINERFILES, ids=lambda p: p.parent.name)
def test_hadolint_passes_the_containerfiles(containerfile: Path) -> None:
    done = subprocess.run(
        [str(HADOLINT), str(containerfile)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "script", [*sorted(PODMAN_DIR.glob("**/*.sh")), REPO / "deploy" / "entrypoint.sh"]
)
def test_the_shell_scripts_parse(script: Path) -> None:
    done = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_the_override_names_what_exists() -> None:
    base = yaml.safe_load((REPO / "compose.yaml").read_text())["services"]
    override = yaml.load((PODMAN_DIR / "compose.yaml").read_text(), Loader=_ComposeLoader)
    services = override["services"]
    assert set(services) <= set(base), set(services) - set(base)
    for name in ("postgres", "redis"):
        build = services[name]["build"]
        context = REPO / build["context"]  # relative to the project directory
        assert (context / "Containerfile").is_file(), context
        assert services[name]["image"].startswith("localhost/"), name
    # the collector has no Debian package: optional here, and nothing waits for it
    assert services["otel-collector"]["profiles"] == ["otel"]
    for name, service in base.items():
        assert "otel-collector" not in service.get("depends_on", {}), name
