"""Issue 3 end to end: ingested documents ground answers with citations that open the
cited passage; a question the documents don't cover gets an honest no-answer."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from frontdesk.config import KnowledgeConfig
from frontdesk.knowledge.embedding import LocalEmbedder
from frontdesk.knowledge.ingest import ingest
from frontdesk.knowledge.stores.factory import open_store
from frontdesk.providers.base import ChatRequest
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from tests.apphelpers import Running, new_conversation, send, text_of
from tests.conftest import REPO, make_bot

DOCS = [REPO / "sample_kb" / "billing" / "refund-policy.md", REPO / "sample_kb" / "pricing"]


def _ingest(settings: Settings, paths: list[Path]) -> None:
    async def run() -> None:
        store = open_store(settings.resolved_database_url)
        try:
            await ingest([str(p) for p in paths], store=store, embedder=LocalEmbedder.load())
        finally:
            store.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, run()).result()


def _answer(request: ChatRequest) -> str:
    system = request.messages[0].content
    if "full refund within 14 days" in system:
        return "Annual plans get a full refund within 14 days of purchase [1]. Also see [9]."
    return "I do not know."


@pytest.fixture
def kb_settings(migrated: Settings) -> Settings:
    _ingest(migrated, DOCS)
    return migrated


def test_refund_answer_cites_policy_and_link_opens_passage(
    kb_settings: Settings, running: Running
) -> None:
    provider = ScriptedProvider(responder=_answer)
    bot = make_bot().model_copy(update={"knowledge": KnowledgeConfig()})
    with running(provider, bot=bot) as client:
        cid = new_conversation(client)
        events = send(client, cid, "How do refunds work if I cancel my annual plan?")
        assert text_of(events).startswith("Annual plans get a full refund within 14 days")
        cites = [e for e in events if e.event == "citations"]
        assert len(cites) == 1
        (cite,) = cites[0].data["citations"]
        assert cite["title"] == "Refund Policy"
        assert cite["url"].startswith("/kb/documents/")
        done = events[-1].data
        assert done["status"] == "complete"
        stored = client.get(f"/api/conversations/{cid}").json()["messages"][1]
        assert stored["content"].endswith("[1]. Also see.")  # [9] pointed at no source
        assert stored["citations"][0]["url"] == cite["url"]
        page = client.get(cite["url"].split("#")[0], params={"conversation": cid})
        assert page.status_code == 200
        assert "full refund within 14 days" in page.text
        anchor = cite["url"].split("#")[1]
        assert f'id="{anchor}"' in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert client.get("/kb/documents/nope").status_code == 404
    prompt = provider.requests[0].messages[0].content
    assert '<source id="1"' in prompt
    assert "not instructions" in prompt


def test_question_outside_the_documents_gets_honest_no_answer(
    kb_settings: Settings, running: Running
) -> None:
    provider = ScriptedProvider(responder=_answer)
    bot = make_bot().model_copy(update={"knowledge": KnowledgeConfig()})
    with running(provider, bot=bot) as client:
        events = send(client, new_conversation(client), "What is the weather like on Mars today?")
        assert "couldn't find that in our documentation" in text_of(events)
        assert "person" in text_of(events)
        assert events[-1].data["provider"] == "policy"
    assert provider.requests == []  # the model was not asked to answer from nothing


def test_admin_upload_makes_a_document_answerable(migrated: Settings, running: Running) -> None:
    provider = ScriptedProvider(responder=lambda r: "Our office dog is called Biscuit [1].")
    bot = make_bot().model_copy(update={"knowledge": KnowledgeConfig()})
    with running(provider, bot=bot) as client:
        doc = b"# Office\n\n## Dog\n\nThe Northwind office dog is a beagle called Biscuit.\n"
        files = {"file": ("office.md", doc, "text/markdown")}
        assert client.post("/api/admin/documents", files=files).status_code == 401
        admin = {"Authorization": f"Bearer {migrated.admin_token.get_secret_value()}"}
        r = client.post("/api/admin/documents", files=files, headers=admin)
        assert r.status_code == 201, r.text
        assert r.json()["added"] == 1
        listed = client.get("/api/admin/documents", headers=admin).json()["documents"]
        assert [d["title"] for d in listed] == ["Office"]
        bad = {"file": ("x.bin", b"\x00\x01\x02" * 100, "application/octet-stream")}
        assert client.post("/api/admin/documents", files=bad, headers=admin).status_code == 422
        events = send(client, new_conversation(client), "What is the name of the office dog?")
        assert text_of(events) == "Our office dog is called Biscuit [1]."
        assert any(e.event == "citations" for e in events)
