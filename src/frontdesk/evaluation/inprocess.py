"""A throwaway Frontdesk for one evaluation run: temp home, migrated, documents ingested,
served by uvicorn on a free loopback port so streaming and time to first token are real."""

from __future__ import annotations

import asyncio
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frontdesk.config import BotConfig
from frontdesk.errors import FrontdeskError
from frontdesk.settings import Settings, load_settings

if TYPE_CHECKING:
    from frontdesk.knowledge.chunking import ChunkingOptions
    from frontdesk.knowledge.stores.base import KnowledgeStore


@dataclass(frozen=True)
class LocalServer:
    """The served bot, and one knowledge store opened before the server started.

    Opening a SQLite knowledge store rewrites its FTS5 configuration, which makes searches
    on the server's connections fail ("SQL logic error"), so the run opens exactly one.
    """

    base_url: str
    database_url: str
    tenant: str
    collection: str
    knowledge: KnowledgeStore

    async def details(self, conversation_id: str, message_id: str) -> dict[str, Any]:
        """The scored turn's record (retrieved passages, verdicts, groundedness, cost, ttft)."""
        from frontdesk.knowledge.types import SearchFilter
        from frontdesk.memory.sql import SqlMemoryStore

        store = SqlMemoryStore.from_url(self.database_url)
        try:
            turns = await store.list_turns(conversation_id)
        finally:
            await store.close()
        record = next((t for t in turns if t.assistant_message_id == message_id), None)
        if record is None:
            return {}

        def passages() -> list[dict[str, str]]:
            where = SearchFilter(tenant=self.tenant, collection=self.collection)
            chunks = self.knowledge.get_chunks(where, record.retrieved_chunk_ids)
            found = {c.id: c for c in chunks}
            return [
                {"id": cid, "title": found[cid].title, "section": found[cid].section,
                 "source": found[cid].source, "text": found[cid].text}
                for cid in record.retrieved_chunk_ids if cid in found
            ]  # fmt: skip

        return {
            "retrieved": await asyncio.to_thread(passages),
            "verdicts": record.verdicts,
            "groundedness": groundedness_of(record.verdicts),
            "cost_usd": str(record.cost),
            "server_ttft_ms": record.ttft_ms,
            "server_total_ms": record.total_ms,
            "provider": record.provider,
            "model": record.model,
        }


def groundedness_of(verdicts: Sequence[dict[str, Any]]) -> str | None:
    """``grounded`` / ``ungrounded`` from the turn's grounding verdict, None without one."""
    for v in verdicts:
        if v.get("check") == "grounding":
            action = str(v.get("action", ""))
            return "grounded" if action in {"allow", "pass", ""} else "ungrounded"
    return None


def _trusted_caller_limits() -> Any:
    """The evaluation is one trusted caller sending many conversations from 127.0.0.1:
    the per-address and per-session abuse limits (and anonymous budgets) are off."""
    from frontdesk.settings import AbuseSettings

    off = {
        name: 0
        for name in AbuseSettings.model_fields
        if name.endswith(("_per_address", "_per_session", "_per_conversation"))
    }
    return AbuseSettings(**off)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _ingest(
    settings: Settings, paths: Sequence[Path], bot: BotConfig, chunk_tokens: int | None
) -> None:
    from frontdesk.knowledge.embedding import LocalEmbedder
    from frontdesk.knowledge.ingest import ingest
    from frontdesk.knowledge.stores.factory import open_store

    store = open_store(settings.resolved_database_url)
    try:
        summary = await ingest(
            [str(p) for p in paths],
            store=store,
            embedder=LocalEmbedder.load(),
            collection=bot.knowledge.collection,
            options=chunking(chunk_tokens),
        )
    finally:
        store.close()
    if summary.failed:
        raise FrontdeskError(f"ingesting the knowledge failed: {summary.describe()}")


def chunking(chunk_tokens: int | None) -> ChunkingOptions | None:
    """Chunks of ``chunk_tokens`` (overlap scaled down with them), or the default."""
    from frontdesk.knowledge.chunking import ChunkingOptions

    if chunk_tokens is None:
        return None
    overlap = min(ChunkingOptions().overlap_tokens, max(0, chunk_tokens // 2 - 1))
    return ChunkingOptions(max_tokens=chunk_tokens, overlap_tokens=overlap)


@contextmanager
def local_server(
    bot: BotConfig,
    knowledge: Sequence[Path],
    *,
    bot_config: Path,
    startup_timeout: float = 120,
    chunk_tokens: int | None = None,
) -> Iterator[LocalServer]:
    """Serve ``bot`` with ``knowledge`` ingested in a fresh temporary home."""
    from frontdesk.knowledge.stores.factory import open_store
    from frontdesk.memory.migrate import upgrade

    missing = [str(p) for p in knowledge if not p.exists()]
    if missing:
        raise FrontdeskError(f"knowledge path not found: {', '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="frontdesk-eval-") as home:
        settings = load_settings(
            home=Path(home),
            database_url=f"sqlite:///{Path(home, 'frontdesk.db')}",
            bot_config=bot_config,
            redis_url=None,
            abuse=_trusted_caller_limits(),
        )
        url = settings.resolved_database_url
        upgrade(url)
        if knowledge:
            asyncio.run(_ingest(settings, knowledge, bot, chunk_tokens))
        kb = open_store(url)
        try:
            with _serve(settings, bot, startup_timeout) as base_url:
                yield LocalServer(base_url, url, "default", bot.knowledge.collection, kb)
        finally:
            kb.close()


@contextmanager
def _serve(settings: Settings, bot: BotConfig, startup_timeout: float) -> Iterator[str]:
    """Run the app with uvicorn in a thread on a free loopback port; yield its base URL."""
    import uvicorn

    from frontdesk.app import create_app

    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, bot=bot), host="127.0.0.1", port=port,
        log_config=None, access_log=False, lifespan="on",
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="frontdesk-eval", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    try:
        while not server.started:
            if not thread.is_alive():
                raise FrontdeskError("the evaluation server stopped during start-up")
            if time.monotonic() > deadline:
                raise FrontdeskError("the evaluation server did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
