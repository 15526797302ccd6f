"""Run the ``frontdesk`` CLI in a subprocess, as a user would from a shell."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_cli(
    args: list[str], env: dict[str, str], *, stdin: str = "", timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m frontdesk ARGS`` with ``env``; the caller checks the exit code."""
    return subprocess.run(
        [sys.executable, "-m", "frontdesk", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def upgraded_home_env(tmp_path: Path) -> dict[str, str]:
    """The environment without the caller's ``FRONTDESK_*`` settings, a fresh home under
    ``tmp_path`` and its database migrated (``frontdesk db upgrade``)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("FRONTDESK_")}
    env = {
        **base,
        "FRONTDESK_HOME": str(tmp_path / "home"),
        "FRONTDESK_LOG_JSON": "false",
        "FRONTDESK_LOG_LEVEL": "WARNING",
    }
    upgraded = run_cli(["db", "upgrade"], env, timeout=300)
    assert upgraded.returncode == 0, upgraded.stderr
    return env
