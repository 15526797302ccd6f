"""Two tenants on one deployment, for the tenant tests: documents, bots and branding."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from frontdesk.knowledge.embedding import LocalEmbedder
from frontdesk.knowledge.ingest import ingest
from frontdesk.knowledge.stores.factory import open_store
from frontdesk.memory.dialects import create_engine
from frontdesk.settings import Settings
from frontdesk.tenants.store import TenantRecord, TenantStore

T = TypeVar("T")

ACME_DOCS = {
    "refunds.md": (
        "# Acme refunds\n\n## Annual plans\n\n"
        "Acme refunds annual plans in full within 30 days of purchase. "
        "After 30 days Acme gives no refunds for annual plans.\n"
    ),
    "shipping.md": (
        "# Acme shipping\n\n## Rocket skates\n\n"
        "Acme rocket skates ship from the Tucson warehouse within two business days.\n"
    ),
}
GLOBEX_DOCS = {
    "refunds.md": (
        "# Globex refunds\n\n## Annual plans\n\n"
        "Globex refunds annual plans within 7 days of purchase, minus a 10 percent fee.\n"
    ),
    "office.md": (
        "# Globex office\n\n## Visiting\n\n"
        "The Globex headquarters is in Cypress Creek and opens at eight in the morning.\n"
    ),
}


def tenant_document(
    *,
    name: str,
    company: str,
    collection: str,
    color: str,
    greeting: str,
    origins: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A tenant whose bot answers extractively from its own documents (no model call)."""
    return {
        "bot": {
            "name": name,
            "company": company,
            "system_prompt": "You are {bot_name}, the assistant of {company}.",
            "model": {"chain": ["scripted"]},
            "endpoints": [
                {"name": "scripted", "dialect": "scripted", "model": "scripted-1", "script": []}
            ],
            "knowledge": {"collection": collection},
            "answer": {"mode": "extractive"},
            "guard": {"enabled": False},
            "contacts": {"billing": {"team": f"{company} billing", "email": "b@example.com"}},
        },
        "branding": {"name": f"{name} Help", "primary_color": color, "greeting": greeting},
        "widget_origins": origins or [],
        **extra,
    }


ACME = tenant_document(
    name="Roadrunner",
    company="Acme",
    collection="acme-docs",
    color="#b91c1c",
    greeting="Hi, this is Acme support. Ask about refunds or rocket skates.",
    origins=["https://shop.acme.example"],
)
GLOBEX = tenant_document(
    name="Hank",
    company="Globex",
    collection="globex-docs",
    color="#047857",
    greeting="Welcome to Globex. How can we help?",
    origins=["https://globex.example"],
)


def in_thread(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on its own loop (tests may hold a loop, e.g. sync Playwright)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


def create_tenant(settings: Settings, tenant_id: str, document: dict[str, Any]) -> TenantRecord:
    async def run() -> TenantRecord:
        engine = create_engine(settings.resolved_database_url)
        try:
            return await TenantStore(engine).create(tenant_id, document)
        finally:
            await engine.dispose()

    return in_thread(run)


def ingest_docs(
    settings: Settings, root: Path, docs: dict[str, str], *, tenant: str, collection: str
) -> None:
    folder = root / f"{tenant}-docs"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in docs.items():
        (folder / name).write_text(text, encoding="utf-8")

    async def run() -> None:
        store = open_store(settings.resolved_database_url)
        try:
            summary = await ingest(
                [str(folder)],
                store=store,
                embedder=LocalEmbedder.load(),
                collection=collection,
                tenant=tenant,
            )
            assert not summary.failed, summary.describe()
        finally:
            store.close()

    in_thread(run)
