"""Property-based run of every OpenAPI operation: no input gives a 5xx.

schemathesis generates requests from the app's own OpenAPI document; the app runs
in-process on a loopback port with a temp SQLite home (scripted provider).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from frontdesk.app import create_app
from frontdesk.memory.migrate import upgrade
from frontdesk.settings import load_settings
from tests.conftest import REPO, make_bot
from tests.servers import serve

schema = schemathesis.openapi.from_dict(
    create_app(
        load_settings(env="test", bot_config=REPO / "config" / "bot.yaml"), bot=make_bot()
    ).openapi()
)


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home: Path = tmp_path_factory.mktemp("schemathesis") / "home"
    home.mkdir(parents=True)
    app_settings = load_settings(
        env="test", home=home, bot_config=REPO / "config" / "bot.yaml", log_json=False
    )
    upgrade(app_settings.resolved_database_url)
    with serve(create_app(app_settings, bot=make_bot())) as url:
        httpx.post(url + "/api/conversations", json={}).raise_for_status()
        yield url


@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_operation_answers_5xx(case: schemathesis.Case[Any], base_url: str) -> None:
    response = case.call(base_url=base_url, headers={"Authorization": "Bearer dev-admin-token"})
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:300]}\n"
        f"{case.as_curl_command()}"
    )
