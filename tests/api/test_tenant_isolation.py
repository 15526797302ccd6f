"""Issue 9, finding 6: every admin and knowledge route is scoped by the key's tenant.

Two admin keys (tenants ``default`` and ``acme``). The ``default`` tenant has a document,
a conversation and a turn. With the ``acme`` key, every admin and knowledge route of the
real app either answers 404 (a resource of another tenant, exactly like a missing one) or
shows only acme's own (empty) data. The routes are read from the app, so a new admin or
knowledge route fails this test until it is given a case here. Agent routes
(``/api/agent``) are scoped and tested by the agent console's own suite.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import httpx
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute

from frontdesk.app import create_app
from frontdesk.auth.cli import create_key
from frontdesk.config import KnowledgeConfig
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from tests.apphelpers import new_conversation, send
from tests.conftest import make_bot
from tests.servers import serve

SCOPED_PREFIXES = ("/api/admin", "/kb", "/admin")
OTHER_ENGINEERS = ("/api/agent",)  # agent routes: scoped by the agent console's suite
PAGES = {("GET", "/admin")}  # the static dashboard page: no data, it calls the API


@dataclass
class World:
    client: httpx.Client
    own: dict[str, str]  # the default tenant's admin key
    other: dict[str, str]  # acme's admin key
    document_id: str
    conversation_id: str


def _documents(world: World) -> list[dict[str, object]]:
    resp = world.client.get("/api/admin/documents", headers=world.own)
    assert resp.status_code == 200, resp.text
    docs: list[dict[str, object]] = resp.json()["documents"]
    return docs


def _stats(world: World) -> None:
    own = world.client.get("/api/admin/stats", headers=world.own)
    assert own.status_code == 200, own.text
    assert own.json()["totals"]["conversations"] == 1
    assert own.json()["totals"]["turns"] == 1
    other = world.client.get("/api/admin/stats", headers=world.other)
    assert other.status_code == 200, other.text
    totals = other.json()["totals"]
    assert (totals["conversations"], totals["turns"], totals["escalations"]) == (0, 0, 0)
    assert other.json()["top_providers"] == []


def _list(world: World) -> None:
    resp = world.client.get("/api/admin/documents", headers=world.other)
    assert resp.status_code == 404, resp.text
    assert "internal-pricing" not in resp.text


def _upload(world: World) -> None:
    files = {"file": ("internal-pricing.md", b"# Pricing\n\nOverwritten by acme.\n")}
    resp = world.client.post("/api/admin/documents", files=files, headers=world.other)
    assert resp.status_code == 404, resp.text
    assert [d["id"] for d in _documents(world)] == [world.document_id]
    assert _documents(world)[0]["chunk_count"] == 2  # unchanged


def _delete(world: World) -> None:
    path = f"/api/admin/documents/{world.document_id}"
    resp = world.client.delete(path, headers=world.other)
    assert resp.status_code == 404, resp.text
    assert [d["id"] for d in _documents(world)] == [world.document_id]


def _view(world: World) -> None:
    path = f"/kb/documents/{world.document_id}"
    for headers in (world.other, {}):
        resp = world.client.get(path, headers=headers)
        assert resp.status_code == 404, resp.text
        assert "Enterprise" not in resp.text
    own = world.client.get(path, headers=world.own)
    assert own.status_code == 200, own.text
    assert "Enterprise discount" in own.text


def _erase(world: World) -> None:
    path = f"/api/admin/conversations/{world.conversation_id}"
    resp = world.client.delete(path, headers=world.other)
    assert resp.status_code == 404, resp.text
    kept = world.client.get(f"/api/conversations/{world.conversation_id}")
    assert kept.status_code == 200, kept.text
    assert len(kept.json()["messages"]) == 2  # the question and its answer are still there


def _export(world: World) -> None:
    path = f"/api/admin/conversations/{world.conversation_id}/export"
    resp = world.client.get(path, headers=world.other)
    assert resp.status_code == 404, resp.text
    assert "enterprise discount" not in resp.text.lower()
    own = world.client.get(path, headers=world.own)
    assert own.status_code == 200, own.text
    assert "enterprise discount" in own.text.lower()


def _turn_id(world: World) -> str:
    path = f"/api/admin/conversations/{world.conversation_id}/export"
    exported = world.client.get(path, headers=world.own)
    assert exported.status_code == 200, exported.text
    turns = exported.json()["turns"]
    assert len(turns) == 1, turns
    return str(turns[0]["id"])


def _replay(world: World) -> None:
    path = f"/api/admin/turns/{_turn_id(world)}/replay"
    resp = world.client.post(path, headers=world.other)
    assert resp.status_code == 404, resp.text
    assert "enterprise" not in resp.text.lower()


def _erase_user(world: World) -> None:
    created = world.client.post("/api/conversations", json={"metadata": {"user_id": "visitor-7"}})
    assert created.status_code == 201, created.text
    cid = created.json()["id"]
    body = {"user_id": "visitor-7"}
    resp = world.client.post("/api/admin/users/erase", json=body, headers=world.other)
    assert resp.status_code == 200, resp.text
    assert resp.json()["conversations"] == 0  # acme's key reaches no default-tenant user
    assert world.client.get(f"/api/conversations/{cid}").status_code == 200
    own = world.client.post("/api/admin/users/erase", json=body, headers=world.own)
    assert own.status_code == 200, own.text
    assert own.json()["conversations"] == 1
    assert world.client.get(f"/api/conversations/{cid}").status_code == 404


CASES: dict[tuple[str, str], Callable[[World], None]] = {
    ("GET", "/api/admin/stats"): _stats,
    ("GET", "/api/admin/documents"): _list,
    ("POST", "/api/admin/documents"): _upload,
    ("DELETE", "/api/admin/documents/{document_id}"): _delete,
    ("GET", "/kb/documents/{document_id}"): _view,
    ("DELETE", "/api/admin/conversations/{conversation_id}"): _erase,
    ("GET", "/api/admin/conversations/{conversation_id}/export"): _export,
    ("POST", "/api/admin/turns/{turn_id}/replay"): _replay,
    ("POST", "/api/admin/users/erase"): _erase_user,
}

PRICING = (
    b"# Internal pricing\n\n## Enterprise\n\nEnterprise discount is 40 percent for resellers.\n\n"
    b"## Partners\n\nPartner margin is 25 percent on every renewal.\n"
)


def _scoped_routes(routes: list[BaseRoute]) -> set[tuple[str, str]]:
    """(method, path) of every route under the scoped prefixes, hidden ones included."""
    found = set()
    for route in iter_route_contexts(routes):
        path = route.path or ""
        if not path.startswith(SCOPED_PREFIXES) or path.startswith(OTHER_ENGINEERS):
            continue
        for method in route.methods or ():
            if method != "HEAD" and (method, path) not in PAGES:
                found.add((method, path))
    return found


def test_every_admin_and_knowledge_route_hides_other_tenants(migrated: Settings) -> None:
    url = migrated.resolved_database_url
    own_key = create_key(url, role="admin", name="ops", tenant_id="default").token
    other_key = create_key(url, role="admin", name="acme-ops", tenant_id="acme").token
    bot = make_bot().model_copy(update={"knowledge": KnowledgeConfig()})
    provider = ScriptedProvider.from_texts(["The enterprise discount is 40 percent [1]."])
    app = create_app(migrated, bot=bot, provider=provider)
    routes = _scoped_routes(list(app.routes))
    assert routes == set(CASES), f"give every scoped route a case: {routes ^ set(CASES)}"
    with serve(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        own = {"Authorization": f"Bearer {own_key}"}
        files = {"file": ("internal-pricing.md", PRICING, "text/markdown")}
        uploaded = client.post("/api/admin/documents", files=files, headers=own)
        assert uploaded.status_code == 201, uploaded.text
        cid = new_conversation(client)
        send(client, cid, "What is the enterprise discount?")
        world = World(
            client=client,
            own=own,
            other={"Authorization": f"Bearer {other_key}"},
            document_id=str(_documents_of(client, own)[0]["id"]),
            conversation_id=cid,
        )
        for (method, path), case in sorted(CASES.items()):
            try:
                case(world)
            except AssertionError as exc:
                raise AssertionError(f"{method} {path}: {exc}") from exc


def test_settings_admin_token_is_the_default_tenants_operator(migrated: Settings) -> None:
    """The operator token sees the default tenant, not acme's keys' data."""
    bot = make_bot().model_copy(update={"knowledge": KnowledgeConfig()})
    app = create_app(migrated, bot=bot, provider=ScriptedProvider.from_texts(["Hi."]))
    token = {"Authorization": f"Bearer {migrated.admin_token.get_secret_value()}"}
    with serve(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        files = {"file": ("office.md", b"# Office\n\nThe office opens at nine.\n")}
        assert client.post("/api/admin/documents", files=files, headers=token).status_code == 201
        assert len(_documents_of(client, token)) == 1
        stats = client.get("/api/admin/stats", headers=token)
        assert stats.status_code == 200, stats.text


def _documents_of(client: httpx.Client, headers: dict[str, str]) -> list[dict[str, object]]:
    resp = client.get("/api/admin/documents", headers=headers)
    assert resp.status_code == 200, resp.text
    docs: list[dict[str, object]] = resp.json()["documents"]
    return docs
