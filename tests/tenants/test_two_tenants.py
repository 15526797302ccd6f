"""Two tenants on one deployment (issue 11): each answers from its own documents with its
own branding, and neither can see anything of the other's.

Tenants ``acme`` and ``globex`` each have documents, a conversation with an answer, an
escalated conversation (a ticket), admin and agent keys; the ``default`` tenant (the bot
YAML) has its own document. Every route of the real app is tried with the other tenant's
site key or keys and answers 404 (or shows only the caller's own data). The routes are
read from the app: a new route fails this test until it is given a case here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute

from frontdesk.app import create_app
from frontdesk.auth.cli import create_key
from frontdesk.config import KnowledgeConfig
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from frontdesk.tenants.resolve import SITE_HEADER
from tests.apphelpers import SSEEvent, sse_events, text_of
from tests.conftest import make_bot
from tests.servers import serve
from tests.tenants.world import (
    ACME,
    ACME_DOCS,
    GLOBEX,
    GLOBEX_DOCS,
    create_tenant,
    ingest_docs,
)

REFUND_QUESTION = "How many days do I have to get a refund on an annual plan?"
NOT_TENANT_SCOPED = {
    ("GET", "/openapi.json"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/docs"),
    ("GET", "/redoc"),
    ("GET", "/metrics"),  # operator metrics: its own token, no customer data
    ("GET", "/widget.js"),  # static script
    ("GET", "/agent"),  # static console page: no data, it calls the API
    ("GET", "/admin"),  # static dashboard page: no data, it calls the API
}


@dataclass
class Tenant:
    id: str
    site: dict[str, str]
    admin: dict[str, str]
    agent: dict[str, str]
    client: dict[str, str]
    conversation_id: str = ""
    answer_id: str = ""
    document_id: str = ""
    ticket_id: str = ""
    escalated_id: str = ""
    turn_id: str = ""
    messages: int = 0


@dataclass
class World:
    http: httpx.Client
    acme: Tenant
    globex: Tenant
    default_document: str = ""
    seen: set[str] = field(default_factory=set)

    def pairs(self) -> Iterator[tuple[Tenant, Tenant]]:
        """(owner, intruder) both ways."""
        yield self.acme, self.globex
        yield self.globex, self.acme


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _tenant(settings: Settings, tenant_id: str, document: dict[str, object]) -> Tenant:
    record = create_tenant(settings, tenant_id, copy.deepcopy(document))
    url = settings.resolved_database_url
    return Tenant(
        id=tenant_id,
        site={SITE_HEADER: record.site_key},
        admin=_bearer(create_key(url, role="admin", name="ops", tenant_id=tenant_id).token),
        agent=_bearer(create_key(url, role="agent", name="Ann", tenant_id=tenant_id).token),
        client=_bearer(create_key(url, role="client", name="app", tenant_id=tenant_id).token),
    )


def _ask(http: httpx.Client, tenant: Tenant, cid: str, text: str) -> list[SSEEvent]:
    resp = http.post(
        f"/api/conversations/{cid}/messages", json={"content": text}, headers=tenant.site
    )
    assert resp.status_code == 200, resp.text
    return sse_events(resp)


def _setup(world: World) -> None:
    http = world.http
    for tenant in (world.acme, world.globex):
        created = http.post("/api/conversations", json={}, headers=tenant.site)
        assert created.status_code == 201, created.text
        tenant.conversation_id = created.json()["id"]
        _ask(http, tenant, tenant.conversation_id, REFUND_QUESTION)
        messages = http.get(f"/api/conversations/{tenant.conversation_id}", headers=tenant.site)
        stored = messages.json()["messages"]
        tenant.messages = len(stored)
        tenant.answer_id = stored[-1]["id"]
        tenant.document_id = stored[-1]["citations"][0]["document_id"]
        escalated = http.post("/api/conversations", json={}, headers=tenant.site).json()["id"]
        _ask(http, tenant, escalated, "I want to talk to a person please")
        tenant.escalated_id = escalated
        queue = http.get("/api/agent/queue", headers=tenant.agent)
        assert queue.status_code == 200, queue.text
        (ticket,) = queue.json()["tickets"]
        assert ticket["conversation_id"] == escalated
        tenant.ticket_id = ticket["id"]


# --- the cases: one per route -------------------------------------------------------


def _bot(world: World) -> None:
    assert world.http.get("/api/bot", headers=world.acme.site).json()["name"] == "Roadrunner"
    assert world.http.get("/api/bot", headers=world.globex.site).json()["name"] == "Hank"
    assert world.http.get("/api/bot").json()["name"] == "Testbot"  # the default tenant


def _site(world: World) -> None:
    for tenant, other in world.pairs():
        key = tenant.site[SITE_HEADER]
        resp = world.http.get(f"/api/site/{key}")
        assert resp.status_code == 200, resp.text
        info = resp.json()
        assert set(info) == {
            "site_key", "name", "company", "greeting", "primary_color", "header_color",
            "contrast_color", "logo_url", "launcher_label", "max_message_chars",
        }  # fmt: skip
        assert info["site_key"] == key
        assert other.id not in resp.text and "system_prompt" not in resp.text
    assert world.http.get("/api/site/fdsite_unknownunknownunknown").status_code == 404
    assert world.http.get("/api/site/../admin").status_code == 404


def _create(world: World) -> None:
    for tenant, other in world.pairs():
        resp = world.http.post("/api/conversations", json={}, headers=tenant.site)
        assert resp.status_code == 201, resp.text
        cid = resp.json()["id"]
        assert (
            resp.json()["greeting"]
            == (ACME if tenant.id == "acme" else GLOBEX)["branding"]["greeting"]
        )
        assert world.http.get(f"/api/conversations/{cid}", headers=other.site).status_code == 404
        # a site key with the other tenant's API key: refused, not mixed
        mixed = world.http.post("/api/conversations", json={}, headers=tenant.site | other.client)
        assert mixed.status_code == 404, mixed.text
    bad = world.http.post("/api/conversations", json={}, headers={SITE_HEADER: "fdsite_nope"})
    assert bad.status_code == 404
    # a browser page of another site may not use the key; the tenant's own sites may
    acme_from_globex = world.acme.site | {"Origin": "https://globex.example"}
    assert (
        world.http.post("/api/conversations", json={}, headers=acme_from_globex).status_code == 403
    )
    acme_from_shop = world.acme.site | {"Origin": "https://shop.acme.example"}
    assert world.http.post("/api/conversations", json={}, headers=acme_from_shop).status_code == 201
    # the chat page's own calls behind a proxy that rewrites Host: the browser says same-origin
    proxied = world.acme.site | {"Origin": "https://support.acme.example"}
    refused = world.http.post("/api/conversations", json={}, headers=proxied)
    assert refused.status_code == 403, refused.text
    same = proxied | {"Sec-Fetch-Site": "same-origin"}
    assert world.http.post("/api/conversations", json={}, headers=same).status_code == 201
    cross = acme_from_globex | {"Sec-Fetch-Site": "cross-site"}
    assert world.http.post("/api/conversations", json={}, headers=cross).status_code == 403


def _read(world: World) -> None:
    for tenant, other in world.pairs():
        path = f"/api/conversations/{tenant.conversation_id}"
        for headers in (other.site, {}, other.client):
            resp = world.http.get(path, headers=headers)
            assert resp.status_code == 404, resp.text
            assert "refund" not in resp.text.lower()
        assert world.http.get(path, headers=tenant.site).status_code == 200


def _send(world: World) -> None:
    for tenant, other in world.pairs():
        path = f"/api/conversations/{tenant.conversation_id}/messages"
        for headers in (other.site, {}):
            resp = world.http.post(path, json={"content": "hello?"}, headers=headers)
            assert resp.status_code == 404, resp.text
        kept = world.http.get(f"/api/conversations/{tenant.conversation_id}", headers=tenant.site)
        assert len(kept.json()["messages"]) == tenant.messages  # nothing was added


def _feedback(world: World) -> None:
    for tenant, other in world.pairs():
        path = f"/api/messages/{tenant.answer_id}/feedback"
        for headers in (other.site, {}):
            assert world.http.post(path, json={"rating": -1}, headers=headers).status_code == 404
        assert world.http.post(path, json={"rating": 1}, headers=tenant.site).status_code == 204


def _events(world: World) -> None:
    for tenant, other in world.pairs():
        path = f"/api/conversations/{tenant.escalated_id}/events"
        for headers in (other.site, {}):
            assert world.http.get(path, headers=headers).status_code == 404


def _upload(world: World) -> None:
    for tenant, other in world.pairs():
        files = {"file": ("shot.png", b"\x89PNG\r\n\x1a\n", "image/png")}
        data = {"conversation_id": tenant.conversation_id}
        for headers in (other.site, {}):
            resp = world.http.post("/api/attachments", files=files, data=data, headers=headers)
            assert resp.status_code == 404, resp.text


def _attachment(world: World) -> None:
    for tenant, other in world.pairs():
        params = {"conversation_id": tenant.conversation_id}
        for headers in (other.site, {}):
            resp = world.http.get("/api/attachments/some-id", params=params, headers=headers)
            assert resp.status_code == 404, resp.text


def _erase(world: World) -> None:
    for tenant, other in world.pairs():
        path = f"/api/admin/conversations/{tenant.conversation_id}"
        assert world.http.delete(path, headers=other.admin).status_code == 404
        kept = world.http.get(f"/api/conversations/{tenant.conversation_id}", headers=tenant.site)
        assert kept.status_code == 200


def _export(world: World) -> None:
    for tenant, other in world.pairs():
        path = f"/api/admin/conversations/{tenant.conversation_id}/export"
        assert world.http.get(path, headers=other.admin).status_code == 404
        own = world.http.get(path, headers=tenant.admin)
        assert own.status_code == 200, own.text
        tenant.turn_id = own.json()["turns"][0]["id"]  # for the replay case


def _replay(world: World) -> None:
    for tenant, other in world.pairs():
        path = f"/api/admin/turns/{tenant.turn_id}/replay"
        assert world.http.post(path, headers=other.admin).status_code == 404
        own = world.http.post(path, headers=tenant.admin)
        assert own.status_code == 200, own.text


def _erase_user(world: World) -> None:
    """Both tenants' conversations come from one browser session: globex's operator erases
    that session's data, and only globex's goes."""
    session = world.http.cookies["frontdesk_session"].split(".")[0]
    erased = world.http.post(
        "/api/admin/users/erase", json={"session": session}, headers=world.globex.admin
    )
    assert erased.status_code == 200, erased.text
    assert erased.json()["conversations"] >= 2
    gone = f"/api/conversations/{world.globex.conversation_id}"
    assert world.http.get(gone, headers=world.globex.site).status_code == 404
    kept = f"/api/conversations/{world.acme.conversation_id}"
    assert world.http.get(kept, headers=world.acme.site).status_code == 200


def _action(world: World) -> None:
    for tenant, other in world.pairs():
        path = f"/api/conversations/{tenant.conversation_id}/actions/offer-1"
        for headers in (other.site, {}):
            resp = world.http.post(path, json={"decision": "confirm"}, headers=headers)
            assert resp.status_code == 404, resp.text


def _models(world: World) -> None:
    for tenant in (world.acme, world.globex):
        resp = world.http.get("/v1/models", headers=tenant.client)
        assert resp.status_code == 200, resp.text
        # the operator's endpoints (the gateway) are not served to a tenant's key
        assert [m["id"] for m in resp.json()["data"]] == ["frontdesk"]


def _completions(world: World) -> None:
    body = {"model": "frontdesk", "messages": [{"role": "user", "content": REFUND_QUESTION}]}
    for tenant, other in world.pairs():
        header = {"X-Frontdesk-Conversation-Id": tenant.conversation_id}
        resp = world.http.post("/v1/chat/completions", json=body, headers=other.client | header)
        assert resp.status_code == 404, resp.text
        own = world.http.post("/v1/chat/completions", json=body, headers=tenant.client)
        assert own.status_code == 200, own.text
        answer = own.json()["choices"][0]["message"]["content"]
        assert ("30 days" in answer) == (tenant.id == "acme"), answer
        assert ("7 days" in answer) == (tenant.id == "globex"), answer


def _queue(world: World) -> None:
    for tenant, other in world.pairs():
        tickets = world.http.get("/api/agent/queue", headers=other.agent).json()["tickets"]
        assert tenant.ticket_id not in [t["id"] for t in tickets]
        assert [t["id"] for t in tickets] == [other.ticket_id]


def _ticket_route(action: str) -> Callable[[World], None]:
    def case(world: World) -> None:
        for tenant, other in world.pairs():
            path = f"/api/agent/tickets/{tenant.ticket_id}" + (f"/{action}" if action else "")
            body = {"content": "from the wrong tenant"} if action in ("reply", "notes") else None
            if action == "":
                resp = world.http.get(path, headers=other.agent)
            else:
                resp = world.http.post(path, json=body, headers=other.agent)
            assert resp.status_code == 404, f"{action}: {resp.status_code} {resp.text}"
        own = world.http.get(f"/api/agent/tickets/{world.acme.ticket_id}", headers=world.acme.agent)
        assert own.status_code == 200, own.text
        assert "wrong tenant" not in own.text

    return case


def _me(world: World) -> None:
    for tenant in (world.acme, world.globex):
        assert (
            world.http.get("/api/agent/me", headers=tenant.agent).json()["tenant_id"] == tenant.id
        )


def _view(world: World) -> None:
    for tenant, other in world.pairs():
        path = f"/kb/documents/{tenant.document_id}"
        params = {"conversation": tenant.conversation_id}
        for headers in (other.site, {}, other.admin):
            resp = world.http.get(path, params=params, headers=headers)
            assert resp.status_code == 404, resp.text
        own = world.http.get(path, params=params, headers=tenant.site)
        assert own.status_code == 200, own.text
        assert ("Acme refunds" in own.text) == (tenant.id == "acme")
        with_query = world.http.get(path, params=params | {"site": tenant.site[SITE_HEADER]})
        assert with_query.status_code == 200  # links opened from the chat carry ?site=


def _documents(world: World) -> None:
    for tenant, other in world.pairs():
        resp = world.http.get("/api/admin/documents", headers=other.admin)
        assert resp.status_code == 200, resp.text
        ids = [d["id"] for d in resp.json()["documents"]]
        assert tenant.document_id not in ids and other.document_id in ids
        assert world.default_document not in ids


def _upload_document(world: World) -> None:
    files = {"file": ("hours.md", b"# Hours\n\nGlobex answers the phone from nine to five.\n")}
    resp = world.http.post("/api/admin/documents", files=files, headers=world.globex.admin)
    assert resp.status_code == 201, resp.text
    acme = world.http.get("/api/admin/documents", headers=world.acme.admin).json()["documents"]
    assert "hours.md" not in str(acme)


def _delete_document(world: World) -> None:
    for tenant, other in world.pairs():
        path = f"/api/admin/documents/{tenant.document_id}"
        assert world.http.delete(path, headers=other.admin).status_code == 404
        docs = world.http.get("/api/admin/documents", headers=tenant.admin).json()["documents"]
        assert tenant.document_id in [d["id"] for d in docs]


def _stats(world: World) -> None:
    for tenant in (world.acme, world.globex):
        resp = world.http.get("/api/admin/stats", headers=tenant.admin)
        assert resp.status_code == 200, resp.text
        totals = resp.json()["totals"]
        assert totals["escalations"] == 1  # its own ticket only


def _page(world: World) -> None:
    for tenant, _other in world.pairs():
        resp = world.http.get("/", params={"site": tenant.site[SITE_HEADER]})
        assert resp.status_code == 200
        name = "Roadrunner Help" if tenant.id == "acme" else "Hank Help"
        assert f"<title>{name} · Chat</title>" in resp.text
        assert f'data-site-key="{tenant.site[SITE_HEADER]}"' in resp.text
        csp = resp.headers["content-security-policy"]
        own_origin = (ACME if tenant.id == "acme" else GLOBEX)["widget_origins"]
        other_origin = (GLOBEX if tenant.id == "acme" else ACME)["widget_origins"]
        assert f"frame-ancestors 'self' {own_origin[0]}" in csp
        assert other_origin[0] not in csp
    assert world.http.get("/", params={"site": "fdsite_nopenopenopenope"}).status_code == 404
    default = world.http.get("/")
    assert "<title>Testbot · Chat</title>" in default.text and 'data-site-key=""' in default.text


CASES: dict[tuple[str, str], Callable[[World], None]] = {
    ("GET", "/api/bot"): _bot,
    ("GET", "/api/site/{site_key}"): _site,
    ("POST", "/api/conversations"): _create,
    ("GET", "/api/conversations/{conversation_id}"): _read,
    ("POST", "/api/conversations/{conversation_id}/messages"): _send,
    ("POST", "/api/messages/{message_id}/feedback"): _feedback,
    ("GET", "/api/conversations/{conversation_id}/events"): _events,
    ("POST", "/api/attachments"): _upload,
    ("GET", "/api/attachments/{attachment_id}"): _attachment,
    ("DELETE", "/api/admin/conversations/{conversation_id}"): _erase,
    ("GET", "/v1/models"): _models,
    ("POST", "/v1/chat/completions"): _completions,
    ("GET", "/api/agent/queue"): _queue,
    ("GET", "/api/agent/tickets/{ticket_id}"): _ticket_route(""),
    ("POST", "/api/agent/tickets/{ticket_id}/claim"): _ticket_route("claim"),
    ("POST", "/api/agent/tickets/{ticket_id}/reply"): _ticket_route("reply"),
    ("POST", "/api/agent/tickets/{ticket_id}/notes"): _ticket_route("notes"),
    ("POST", "/api/agent/tickets/{ticket_id}/hand-back"): _ticket_route("hand-back"),
    ("POST", "/api/agent/tickets/{ticket_id}/close"): _ticket_route("close"),
    ("GET", "/api/agent/me"): _me,
    ("GET", "/kb/documents/{document_id}"): _view,
    ("GET", "/api/admin/documents"): _documents,
    ("POST", "/api/admin/documents"): _upload_document,
    ("DELETE", "/api/admin/documents/{document_id}"): _delete_document,
    ("GET", "/api/admin/stats"): _stats,
    ("GET", "/"): _page,
    ("GET", "/api/admin/conversations/{conversation_id}/export"): _export,
    ("POST", "/api/admin/turns/{turn_id}/replay"): _replay,
    ("POST", "/api/admin/users/erase"): _erase_user,
    ("POST", "/api/conversations/{conversation_id}/actions/{offer_id}"): _action,
}
LAST = ("/close", "/hand-back", "/users/erase")  # they change what the other cases read


def _routes(app_routes: list[BaseRoute]) -> set[tuple[str, str]]:
    found = set()
    for route in iter_route_contexts(app_routes):
        for method in route.methods or ():
            if method != "HEAD" and (method, route.path) not in NOT_TENANT_SCOPED:
                found.add((method, route.path or ""))
    return found


@pytest.fixture
def world_settings(migrated: Settings, tmp_path: Path) -> Settings:
    ingest_docs(migrated, tmp_path, ACME_DOCS, tenant="acme", collection="acme-docs")
    ingest_docs(migrated, tmp_path, GLOBEX_DOCS, tenant="globex", collection="globex-docs")
    ingest_docs(
        migrated,
        tmp_path,
        {"refunds.md": "# Refunds\n\n## Plans\n\nWe refund annual plans within 90 days.\n"},
        tenant="default",
        collection="default",
    )
    return migrated


def test_two_tenants_answer_from_their_own_documents(world_settings: Settings) -> None:
    acme = _tenant(world_settings, "acme", ACME)
    globex = _tenant(world_settings, "globex", GLOBEX)
    bot = make_bot().model_copy(update={"knowledge": KnowledgeConfig()})
    default_provider = ScriptedProvider.from_texts(["The default bot answers [1]."] * 10)
    app = create_app(world_settings, bot=bot, provider=default_provider)
    with serve(app) as base, httpx.Client(base_url=base, timeout=120) as http:
        for tenant, days, not_days in ((acme, "30 days", "7 days"), (globex, "7 days", "30 days")):
            cid = http.post("/api/conversations", json={}, headers=tenant.site).json()["id"]
            events = _ask(http, tenant, cid, REFUND_QUESTION)
            text = text_of(events)
            assert days in text and not_days not in text and "90 days" not in text, text
            cites = [e for e in events if e.event == "citations"]
            titles = {c["title"] for c in cites[0].data["citations"]}
            company = "Acme" if tenant is acme else "Globex"
            assert titles == {f"{company} refunds"}, titles
            other_place = "Cypress Creek" if tenant is acme else "Tucson"
            where = text_of(_ask(http, tenant, cid, f"Is your office in {other_place}?"))
            assert other_place not in where, where
        # the default tenant answers from its own document through its own provider
        cid = http.post("/api/conversations", json={}).json()["id"]
        resp = http.post(f"/api/conversations/{cid}/messages", json={"content": REFUND_QUESTION})
        assert text_of(sse_events(resp)) == "The default bot answers [1]."
        assert "90 days" in default_provider.requests[0].messages[0].content
        assert "30 days" not in default_provider.requests[0].messages[0].content


def test_every_route_hides_the_other_tenant(world_settings: Settings) -> None:
    acme = _tenant(world_settings, "acme", ACME)
    globex = _tenant(world_settings, "globex", GLOBEX)
    bot = make_bot().model_copy(update={"knowledge": KnowledgeConfig()})
    app = create_app(world_settings, bot=bot, provider=ScriptedProvider.from_texts(["Hi."] * 20))
    routes = _routes(list(app.routes))
    assert not routes - set(CASES), f"give every route a tenant case: {routes - set(CASES)}"
    with serve(app) as base, httpx.Client(base_url=base, timeout=120) as http:
        world = World(http=http, acme=acme, globex=globex)
        _setup(world)
        default_docs = http.get(
            "/api/admin/documents",
            headers=_bearer(world_settings.admin_token.get_secret_value()),
        ).json()["documents"]
        world.default_document = default_docs[0]["id"]
        order = sorted(routes, key=lambda k: (k[1].endswith(LAST), k))
        for key in order:
            try:
                CASES[key](world)
            except AssertionError as exc:
                raise AssertionError(f"{key[0]} {key[1]}: {exc}") from exc
