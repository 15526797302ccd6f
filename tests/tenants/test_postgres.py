"""Two tenants on PostgreSQL: each conversation is answered by its tenant's own model chain
(scripted endpoints with different replies) and is a 404 for the other tenant."""

from __future__ import annotations

import copy
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from frontdesk.app import create_app
from frontdesk.memory.migrate import upgrade
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from frontdesk.tenants.resolve import SITE_HEADER
from tests.apphelpers import sse_events, text_of
from tests.conftest import make_bot
from tests.memory.pg import temporary_database
from tests.servers import serve
from tests.tenants.world import ACME, GLOBEX, create_tenant

pytestmark = pytest.mark.postgres


def _generative(document: dict[str, object], reply: str) -> dict[str, object]:
    doc = copy.deepcopy(document)
    bot = doc["bot"]
    assert isinstance(bot, dict)
    bot["endpoints"][0]["script"] = [reply] * 3
    bot["knowledge"] = {"enabled": False}
    bot["answer"] = {"mode": "generative"}
    return doc


def test_two_tenants_on_postgresql(settings: Settings) -> None:
    with temporary_database("frontdesk_tenants_app") as url, ThreadPoolExecutor(1) as pool:
        pool.submit(upgrade, url).result()
        pg = settings.model_copy(update={"database_url": url.replace("+asyncpg", "")})
        acme = create_tenant(pg, "acme", _generative(ACME, "Acme's own model answers."))
        globex = create_tenant(pg, "globex", _generative(GLOBEX, "Globex's own model answers."))
        app = create_app(pg, bot=make_bot(), provider=ScriptedProvider.from_texts(["Default."]))
        with serve(app) as base, httpx.Client(base_url=base, timeout=60) as http:
            ids = {}
            for record, expected in ((acme, "Acme's"), (globex, "Globex's")):
                site = {SITE_HEADER: record.site_key}
                cid = http.post("/api/conversations", json={}, headers=site).json()["id"]
                resp = http.post(
                    f"/api/conversations/{cid}/messages", json={"content": "hi"}, headers=site
                )
                assert text_of(sse_events(resp)).startswith(expected)
                ids[record.id] = cid
            other = {SITE_HEADER: globex.site_key}
            assert http.get(f"/api/conversations/{ids['acme']}", headers=other).status_code == 404
            assert http.get(f"/api/conversations/{ids['acme']}").status_code == 404
            own = http.get(
                f"/api/conversations/{ids['acme']}", headers={SITE_HEADER: acme.site_key}
            )
            assert own.status_code == 200
            assert [m["content"] for m in own.json()["messages"]][-1].startswith("Acme's")
