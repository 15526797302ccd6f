"""The composer on the sample KB with the real retriever and embedder: the cases issue 8
shows going wrong with the old regex-split, word-overlap extract."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

import pytest

from frontdesk.answer.extractive import ExtractiveComposer
from frontdesk.answer.units import Segmenter
from frontdesk.guard.injection_model import Vectors
from frontdesk.knowledge.embedding import LocalEmbedder
from frontdesk.knowledge.retrieval import Retriever
from tests.answer.conftest import retrieve_sources

_CITATION = re.compile(r"\[(\d+)\]")


async def _compose(composer: ExtractiveComposer, retriever: Retriever, question: str) -> str:
    sources = await retrieve_sources(retriever, question)
    answer = composer.compose(question, sources)
    assert answer.answered, answer.text
    cited = {int(n) for n in _CITATION.findall(answer.text)}
    assert cited and cited <= {s.index for s in sources}
    for unit in answer.units:  # quoted verbatim from the passage it cites
        source = next(s for s in sources if s.index == unit.source)
        assert unit.text.split()[0] in source.text
    return answer.text


async def test_refund_on_annual_plan(composer: ExtractiveComposer, retriever: Retriever) -> None:
    text = await _compose(composer, retriever, "Can I get a refund on my annual plan?")
    assert "14 days" in text
    assert not re.search(r"\bno\b|cannot", text.split(".")[0], re.IGNORECASE)


async def test_bought_ten_days_ago_gets_the_within_14_days_sentence(
    composer: ExtractiveComposer, retriever: Retriever
) -> None:
    text = await _compose(
        composer, retriever, "I bought the annual plan 10 days ago, do I get all my money back?"
    )
    assert "full refund within 14 days" in text


async def test_extra_rows_price_is_whole(
    composer: ExtractiveComposer, retriever: Retriever
) -> None:
    text = await _compose(composer, retriever, "How much are extra rows?")
    assert "$1.50 per million on Starter and $1.00 per million on Growth" in text
    assert not re.search(r"\$1\.(?!\d)", text)


async def test_uptime_sla_is_99_9(composer: ExtractiveComposer, retriever: Retriever) -> None:
    text = await _compose(composer, retriever, "What uptime SLA do you guarantee?")
    assert "99.9%" in text
    assert not re.search(r"(?<![\d.])9%", text)


async def test_support_email_is_the_full_address(
    composer: ExtractiveComposer, retriever: Retriever
) -> None:
    text = await _compose(composer, retriever, "What email address do I write to for support?")
    assert "support@northwinddata.example" in text


async def test_password_reset_quotes_the_numbered_steps(
    composer: ExtractiveComposer, retriever: Retriever
) -> None:
    text = await _compose(composer, retriever, "How do I reset my password?")
    lines = [line for line in text.splitlines() if re.match(r"\d\.\s", line)]
    assert len(lines) >= 3
    assert lines[0].startswith("1. ")


@pytest.mark.parametrize(
    "question",
    ["Do you integrate with Microsoft Dynamics 365?", "Can I pay with Bitcoin?"],
)
async def test_unanswerable_never_leads_with_an_invented_yes(
    composer: ExtractiveComposer, retriever: Retriever, question: str
) -> None:
    sources = await retrieve_sources(retriever, question)
    answer = composer.compose(question, sources)
    assert not answer.text.lower().startswith("yes")


class CountingEmbedder:
    """The real embedder, counting its calls."""

    def __init__(self, inner: LocalEmbedder) -> None:
        self.inner = inner
        self.calls: list[int] = []

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def embed_sync(
        self, texts: Sequence[str], kind: Literal["query", "document"] = "document"
    ) -> Vectors:
        self.calls.append(len(texts))
        return self.inner.embed_sync(texts, kind)


async def test_composing_is_one_embedder_call_and_caches_units(
    embedder: LocalEmbedder, segment: Segmenter, retriever: Retriever
) -> None:
    question = "How much are extra rows?"
    sources = await retrieve_sources(retriever, question)
    counting = CountingEmbedder(embedder)
    composer = ExtractiveComposer(counting, segment)
    first = composer.compose(question, sources)
    assert len(counting.calls) >= 1 and counting.calls[0] > 2
    made = len(counting.calls)
    again = composer.compose(question, sources)
    assert len(counting.calls) == made  # question and units are all cached now
    assert again.text == first.text
