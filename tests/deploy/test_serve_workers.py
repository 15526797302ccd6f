"""``frontdesk serve --workers N`` refuses set-ups whose workers could not share state."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from frontdesk.asgi import shared_state_problem
from frontdesk.settings import Settings, load_settings
from tests.conftest import REPO
from tests.deploy.workers import FRONTDESK


def test_several_workers_need_postgresql(settings: Settings) -> None:
    problem = shared_state_problem(settings)
    assert problem is not None and "FRONTDESK_DATABASE_URL" in problem


def test_several_workers_need_redis(settings: Settings) -> None:
    pg = settings.model_copy(update={"database_url": "postgresql://u@db/frontdesk"})
    problem = shared_state_problem(pg)
    assert problem is not None and "FRONTDESK_REDIS_URL" in problem
    both = pg.model_copy(update={"redis_url": "redis://cache:6379/0"})
    assert shared_state_problem(both) is None


@pytest.mark.parametrize("workers", ["--workers=2", "FRONTDESK_WORKERS=2"])
def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path, workers: str) -> None:
    env = {**os.environ, "FRONTDESK_HOME": str(tmp_path), "FRONTDESK_LOG_JSON": "false"}
    args = [FRONTDESK, "serve", "--no-upgrade", "--port", "1"]
    if workers.startswith("--"):
        args.append(workers)
    else:
        env["FRONTDESK_WORKERS"] = "2"
    done = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "several workers need a shared database" in " ".join(done.stderr.split())


def test_the_worker_app_is_built_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from frontdesk.asgi import worker_app

    monkeypatch.setenv("FRONTDESK_HOME", str(tmp_path))
    monkeypatch.setenv("FRONTDESK_BOT_CONFIG", str(REPO / "config" / "bot.yaml"))
    monkeypatch.setenv("FRONTDESK_LOG_JSON", "false")
    app = worker_app()
    assert load_settings().home == tmp_path
    assert "/healthz" in app.openapi()["paths"]
