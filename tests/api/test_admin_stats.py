"""``GET /api/admin/stats`` against the real app on a migrated SQLite file."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import httpx
import pytest

from frontdesk.api import admin_stats
from frontdesk.app import create_app
from frontdesk.memory.migrate import upgrade
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from tests.apphelpers import SSEEvent, new_conversation, send
from tests.conftest import make_bot
from tests.memory.pg import temporary_database
from tests.servers import serve


def _answer_id(events: list[SSEEvent]) -> str:
    for event in events:
        if event.event == "done" and "message_id" in event.data:
            return str(event.data["message_id"])
    raise AssertionError(f"no done event with a message id in {events}")


def test_stats_count_turns_feedback_and_escalations(migrated: Settings) -> None:
    _check_scenario(migrated)


@pytest.mark.postgres
def test_stats_on_postgresql(settings: Settings) -> None:
    with temporary_database() as url:
        with ThreadPoolExecutor(1) as pool:
            pool.submit(upgrade, url).result()
        _check_scenario(settings.model_copy(update={"database_url": url.replace("+asyncpg", "")}))


def _check_scenario(migrated: Settings) -> None:
    app = create_app(
        migrated,
        bot=make_bot(),
        provider=ScriptedProvider.from_texts(["One.", "Two.", "Three."]),
    )
    app.include_router(admin_stats.router)
    admin = migrated.admin_token.get_secret_value()
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/api/admin/stats").status_code == 401
        bad = client.get("/api/admin/stats", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401
        first = new_conversation(client)
        answer = _answer_id(send(client, first, "Hello"))
        send(client, first, "How are you?")
        rated = client.post(f"/api/messages/{answer}/feedback", json={"rating": 1})
        assert rated.status_code == 204, rated.text
        second = new_conversation(client)
        send(client, second, "I want to talk to a person")
        resp = client.get(
            "/api/admin/stats", params={"days": 7}, headers={"Authorization": f"Bearer {admin}"}
        )
        assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["range_days"] == 7
    assert len(body["days"]) == 7
    totals = body["totals"]
    assert totals["conversations"] == 2
    assert totals["escalations"] == 1
    assert totals["turns"] >= 2
    assert totals["failed"] == 0
    assert totals["turns"] == sum(d["turns"] for d in body["days"])
    assert body["days"][-1]["turns"] == totals["turns"]
    assert body["days"][-1]["escalations"] == 1
    assert Decimal(totals["cost"]) == sum(Decimal(d["cost"]) for d in body["days"])
    assert totals["input_tokens"] > 0
    assert body["feedback"] == {"up": 1, "down": 0, "up_percent": 100.0}
    top = {p["provider"]: p["turns"] for p in body["top_providers"]}
    assert sum(top.values()) == totals["turns"]
    assert top.get("scripted", 0) >= 2
    assert totals["ttft_p50_ms"] is not None
    assert totals["ttft_p95_ms"] >= totals["ttft_p50_ms"]


def test_days_is_validated(migrated: Settings) -> None:
    app = create_app(migrated, bot=make_bot(), provider=ScriptedProvider.from_texts(["x"]))
    app.include_router(admin_stats.router)
    admin = {"Authorization": f"Bearer {migrated.admin_token.get_secret_value()}"}
    with serve(app) as url, httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/api/admin/stats?days=0", headers=admin).status_code in (400, 422)
        empty = client.get("/api/admin/stats?days=1", headers=admin).json()
    assert empty["totals"]["turns"] == 0
    assert empty["totals"]["cost"] == "0"
    assert empty["feedback"]["up_percent"] is None


def test_percentile_nearest_rank() -> None:
    assert admin_stats.percentile([], 50) is None
    assert admin_stats.percentile([3.0, 1.0, 2.0, 4.0], 50) == 2.0
    assert admin_stats.percentile([float(i) for i in range(1, 101)], 95) == 95.0
