"""podman for the image and compose tests: the command, and building an image the way the
Makefile does (``--format docker --layers=false --network host``)."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

#: the podman command, e.g. ``podman --storage-driver vfs`` (``FRONTDESK_PODMAN``)
PODMAN = shlex.split(os.environ.get("FRONTDESK_PODMAN", "podman"))


def podman(*args: str, timeout: float = 600, check: bool = True, stderr: bool = False) -> str:
    """Run podman; a failure (with ``check``) is an AssertionError carrying its output."""
    done = subprocess.run(
        [*PODMAN, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(
            f"{shlex.join([*PODMAN, *args])} failed ({done.returncode}):\n"
            f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        )
    return done.stdout + (done.stderr if stderr else "")


def build_image(
    tag: str, context: Path, base_image: str, *, containerfile: Path | None = None
) -> None:
    """``podman build`` of ``context`` (its own Containerfile/Dockerfile unless given) with
    ``BASE_IMAGE=base_image``, as ``make image`` and podman-compose build it."""
    podman(
        "build",
        "--format",
        "docker",  # keeps HEALTHCHECK (the OCI format has none)
        "--layers=false",  # one commit per stage: each layer is a full copy on vfs
        "--network",
        "host",
        "--build-arg",
        f"BASE_IMAGE={base_image}",
        *(["-f", str(containerfile)] if containerfile else []),
        "-t",
        tag,
        str(context),
        timeout=3000,
    )
