"""In a turn, retrieval searches the follow-up as the vendor model rewrote it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from frontdesk.admission.budgets import Subject
from frontdesk.chat.background import BackgroundTasks
from frontdesk.chat.deps import TurnDeps, TurnRequest
from frontdesk.chat.kinds import outcome_of
from frontdesk.chat.knowledge import Grounding, KnowledgeBase
from frontdesk.chat.rewrite import ModelRewriter
from frontdesk.chat.turn import AnswerTurn
from frontdesk.config import EndpointConfig, KnowledgeConfig
from frontdesk.domain import StoredMessage
from frontdesk.knowledge.embedding import LocalEmbedder
from frontdesk.knowledge.ingest import ingest
from frontdesk.knowledge.retrieval import Retriever
from frontdesk.knowledge.stores.sqlite import SqliteKnowledgeStore
from frontdesk.memory.dialects import create_engine
from frontdesk.memory.sql import SqlMemoryStore
from frontdesk.providers.base import ChatRequest
from frontdesk.providers.metered import Metered, Route
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from frontdesk.telemetry import Metrics
from tests.conftest import make_bot

SAMPLE_KB = Path(__file__).resolve().parents[2] / "sample_kb"
REWRITE = "What does the Growth plan cost per year if I pay annually?"


class RecordingKnowledge(KnowledgeBase):
    """The real knowledge base, noting what each turn searched for."""

    searched: list[str]

    async def ground(self, question: str, earlier: Sequence[StoredMessage] = ()) -> Grounding:
        self.searched.append(question)
        return await super().ground(question, earlier)


async def _searched(migrated: Settings, tmp_path: Path, *, rewrites: bool) -> list[str]:
    embedder = LocalEmbedder.load()
    kb_store = SqliteKnowledgeStore.open(tmp_path / "kb.db")
    engine = create_engine(migrated.resolved_database_url)
    store = SqlMemoryStore(engine)
    try:
        await ingest(
            [SAMPLE_KB / "billing" / "plans-and-pricing.md"], store=kb_store, embedder=embedder
        )
        knowledge = RecordingKnowledge(Retriever(kb_store, embedder), KnowledgeConfig())
        knowledge.searched = []
        assert await knowledge.refresh()

        def responder(request: ChatRequest) -> str:
            if request.metadata.get("purpose") == "follow_up_rewrite":
                return REWRITE
            return "Growth is $2,990 per year billed annually [1]."

        provider = ScriptedProvider(responder=responder)
        bot = make_bot()
        conv = await store.create_conversation(tenant_id="acme", bot_id=bot.name)
        await store.add_message(conv.id, role="user", content="How much is Growth per month?")
        await store.add_message(conv.id, role="assistant", content="Growth is $299 a month [1].")
        user = await store.add_message(
            conv.id, role="user", content="And if I pay for a whole year?"
        )
        pending = await store.add_message(
            conv.id, role="assistant", content="", status="pending", reply_to=user.message.id
        )
        deps = TurnDeps(
            store=store,
            provider=provider,
            bot=bot,
            metered=Metered(metrics=Metrics()),
            route=Route(provider, [EndpointConfig(name="v", dialect="openai", model="gpt-4o")]),
            background=BackgroundTasks(),
            knowledge=knowledge,
            rewriter=ModelRewriter(provider) if rewrites else None,
        )
        request = TurnRequest(
            conversation=conv,
            user_message=user.message,
            assistant_message_id=pending.message.id,
            subject=Subject("acme", conversation=conv.id),
        )
        outcome = await outcome_of(AnswerTurn(deps, request))
        assert outcome.status == "complete"
        return knowledge.searched
    finally:
        kb_store.close()
        await store.close()
        await engine.dispose()


async def test_retrieval_searches_the_rewritten_follow_up(
    migrated: Settings, tmp_path: Path
) -> None:
    assert await _searched(migrated, tmp_path, rewrites=True) == [REWRITE]


async def test_without_a_rewriter_the_follow_up_goes_with_the_question_before_it(
    migrated: Settings, tmp_path: Path
) -> None:
    assert await _searched(migrated, tmp_path, rewrites=False) == [
        "How much is Growth per month?\nAnd if I pay for a whole year?"
    ]
