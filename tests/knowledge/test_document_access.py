"""Issue 9, finding 7: knowledge documents are not readable by a guessable id.

Ids are random (re-ingesting finds the document by its source, so ingestion stays
idempotent); an anonymous customer opens a document only through a citation of their own
conversation and then sees only the cited passages; a public collection or an admin key of
the tenant shows the whole document.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import httpx
import pytest

from frontdesk.app import create_app
from frontdesk.auth.cli import create_key
from frontdesk.config import KnowledgeConfig
from frontdesk.knowledge.documents import citation_url
from frontdesk.knowledge.embedding import HashEmbedder
from frontdesk.knowledge.ingest import ingest
from frontdesk.knowledge.stores.sqlite import SqliteKnowledgeStore
from frontdesk.knowledge.types import SearchFilter
from frontdesk.providers.base import ChatRequest
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from tests.apphelpers import new_conversation, send
from tests.conftest import make_bot
from tests.servers import serve

REFUND = (
    b"# Refunds\n\n## Annual plans\n\nAnnual plans get a full refund within 14 days.\n\n"
    b"## Secret escalation codes\n\nThe supervisor override code is ZEBRA-42.\n"
)
PRICING = b"# Internal pricing\n\n## Resellers\n\nResellers get a 40 percent discount.\n"


def _old_guessable_id(tenant: str, collection: str, source: str) -> str:
    return hashlib.sha256(f"{tenant}\x1f{collection}\x1f{source}".encode()).hexdigest()[:32]


def test_ids_are_random_and_reingesting_finds_the_same_document(tmp_path: Path) -> None:
    doc = tmp_path / "refunds.md"
    doc.write_bytes(REFUND)

    async def run(db: Path) -> list[tuple[str, str]]:
        store = SqliteKnowledgeStore.open(db)
        try:
            embedder = HashEmbedder()
            first = await ingest([doc], store=store, embedder=embedder)
            assert first.added == 1
            where_docs = store.list_documents(SearchFilter("default", "default"))
            again = await ingest([doc], store=store, embedder=embedder)
            assert (again.added, again.unchanged) == (0, 1)
            doc.write_bytes(REFUND + b"\n## New\n\nA new section.\n")
            changed = await ingest([doc], store=store, embedder=embedder)
            assert (changed.added, changed.updated) == (0, 1)
            after = store.list_documents(SearchFilter("default", "default"))
            assert [d.id for d in after] == [d.id for d in where_docs]  # same document
            doc.write_bytes(REFUND)
            return [(d.id, d.source) for d in after]
        finally:
            store.close()

    ((one, source),) = asyncio.run(run(tmp_path / "a.db"))
    ((two, _),) = asyncio.run(run(tmp_path / "b.db"))
    assert one != two
    assert one != _old_guessable_id("default", "default", source)
    assert len(one) == 32 and int(one, 16) >= 0


def test_citation_url_carries_the_conversation() -> None:
    url = citation_url("abc123", "annual-plans", "c-1")
    assert url == "/kb/documents/abc123?conversation=c-1#annual-plans"


def _answer(request: ChatRequest) -> str:
    return "Annual plans get a full refund within 14 days [1]."


def _upload(client: httpx.Client, admin: dict[str, str], name: str, data: bytes) -> str:
    resp = client.post("/api/admin/documents", files={"file": (name, data)}, headers=admin)
    assert resp.status_code == 201, resp.text
    docs = client.get("/api/admin/documents", headers=admin).json()["documents"]
    return str(next(d["id"] for d in docs if d["source"] == name))


@pytest.mark.parametrize("public", [False, True])
def test_customers_see_only_passages_cited_to_their_conversation(
    migrated: Settings, public: bool
) -> None:
    key = create_key(migrated.resolved_database_url, role="admin", name="ops").token
    admin = {"Authorization": f"Bearer {key}"}
    bot = make_bot().model_copy(update={"knowledge": KnowledgeConfig(public=public)})
    app = create_app(migrated, bot=bot, provider=ScriptedProvider(responder=_answer))
    with serve(app) as base, httpx.Client(base_url=base, timeout=60) as client:
        refund = _upload(client, admin, "refunds.md", REFUND)
        pricing = _upload(client, admin, "internal-pricing.md", PRICING)
        assert refund != _old_guessable_id("default", "default", "refunds.md")
        cid = new_conversation(client)
        events = send(client, cid, "Can I get a refund on my annual plan?")
        (cites,) = [e.data["citations"] for e in events if e.event == "citations"]
        assert [c["document_id"] for c in cites] == [refund]
        anchor = cites[0]["url"].partition("#")[2]
        stranger = new_conversation(client)

        def view(document_id: str, conversation: str | None, **kw: object) -> httpx.Response:
            url = f"/kb/documents/{document_id}"
            if conversation is not None:
                url = citation_url(document_id, anchor, conversation)
            return client.get(url, **kw)  # type: ignore[arg-type]

        cited = view(refund, cid)
        assert cited.status_code == 200, cited.text
        assert "full refund within 14 days" in cited.text
        assert f'id="{anchor}"' in cited.text
        admin_view = view(pricing, None, headers=admin)
        assert admin_view.status_code == 200 and "40 percent" in admin_view.text
        bad_key = view(pricing, None, headers={"Authorization": "Bearer fd_wrong"})
        assert bad_key.status_code == 401
        if public:
            for resp in (view(pricing, None), view(refund, stranger), view(refund, None)):
                assert resp.status_code == 200, resp.text
            assert "ZEBRA-42" in view(refund, None).text
            return
        assert "ZEBRA-42" not in cited.text  # an uncited section of the cited document
        for document_id, conversation in [
            (pricing, None),  # the attack: a known id, no key
            (pricing, cid),  # a document the conversation never cited
            (refund, None),
            (refund, stranger),  # another customer's citation
            (refund, "no-such-conversation"),
            ("nope", cid),
        ]:
            resp = view(document_id, conversation)
            assert resp.status_code == 404, (document_id, conversation, resp.text)
            assert "40 percent" not in resp.text and "ZEBRA" not in resp.text
