"""Run the ``frontdesk`` CLI in a subprocess, as a user would from a shell."""

from __future__ import annotations

import subprocess
import sys


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
