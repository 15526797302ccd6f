"""The runner over the real app on a loopback port (scripted provider), and export."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from frontdesk.evaluation.cases import EvalCase
from frontdesk.evaluation.export import export_candidates
from frontdesk.evaluation.results import result_of
from frontdesk.evaluation.runner import CaseRun, EvalRunError, run_cases
from frontdesk.memory.dialects import create_engine
from frontdesk.providers.base import ChatRequest
from frontdesk.providers.scripted import ScriptedProvider
from frontdesk.settings import Settings
from tests.apphelpers import Running
from tests.servers import free_port

CASES = [
    EvalCase(
        id="refund", turns=["Can I get a refund?"], kind="answerable", facts=[["14 days"]],
        must_not=["no refund"],
    ),
    EvalCase(id="btc", turns=["Can I pay with Bitcoin?"], kind="unanswerable", split="holdout"),
    EvalCase(
        id="follow", turns=["How much is Growth per month?", "And per year?"], kind="answerable",
        facts=[["$2,990"]],
    ),
    EvalCase(id="human", turns=["I want to talk to a person"], kind="must_escalate"),
    EvalCase(id="human2", turns=["Can I speak to a real human?"], kind="must_escalate"),
]  # fmt: skip


def _answer(request: ChatRequest) -> str:
    last = request.messages[-1].content
    if "refund" in last:
        return "Annual plans get a full refund within 14 days."
    if "Bitcoin" in last:
        return "Yes, we accept Bitcoin."
    if "per year" in last:
        earlier = " ".join(m.content for m in request.messages[:-1])
        return "Growth is $2,990 per year." if "Growth" in earlier else "Which plan?"
    return "Growth is $299 per month."


def _play(url: str) -> list[CaseRun]:
    async def go() -> list[CaseRun]:
        return await run_cases(url, CASES, concurrency=2)

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


def test_runner_scores_real_streams_and_export_finds_them(
    running: Running, migrated: Settings
) -> None:
    with running(ScriptedProvider(responder=_answer)) as client:
        runs = _play(str(client.base_url))
        assert [r.case.id for r in runs] == [c.id for c in CASES]
        results = {r.case.id: result_of(r) for r in runs}
        refund = results["refund"]
        assert refund.answer == "Annual plans get a full refund within 14 days."
        assert refund.score.correct and refund.score.ttft_ms is not None
        assert refund.done["status"] == "complete" and refund.done["provider"] == "scripted"
        btc = results["btc"].score
        assert not btc.correct and btc.invented and btc.wrong_unflagged
        follow = results["follow"]
        assert follow.earlier_answers == ["Growth is $299 per month."]
        assert follow.score.correct, follow.score.reasons
        assert results["human"].score.escalated and results["human"].score.correct
        # a second anonymous customer from the same address is merged into the open
        # ticket ("handoff_waiting"): a person has it, so it counts as escalated
        assert results["human2"].score.correct
        assert results["human2"].notices in (["handoff_escalated"], ["handoff_waiting"])
        message_id = runs[0].last.message_id
        resp = client.post(f"/api/messages/{message_id}/feedback", json={"rating": -1})
        assert resp.status_code == 204

    async def export() -> list[dict[str, object]]:
        engine = create_engine(migrated.resolved_database_url)
        try:
            return await export_candidates(engine)
        finally:
            await engine.dispose()

    with ThreadPoolExecutor(1) as pool:
        candidates = pool.submit(asyncio.run, export()).result()
    by_kind = {str(c["kind"]): c for c in candidates}
    assert by_kind["answerable"]["turns"] == ["Can I get a refund?"]
    assert "thumbs-down" in str(by_kind["answerable"]["note"])
    escalated = sorted(str(c["turns"]) for c in candidates if c["kind"] == "must_escalate")
    assert escalated == ["['I want to talk to a person']"]  # one ticket: merged by address
    assert all(c["review"] is True and c["facts"] == [] for c in candidates)


def test_unreachable_server_is_a_clear_error() -> None:
    with pytest.raises(EvalRunError, match="cannot reach"):
        _play(f"http://127.0.0.1:{free_port()}")


def test_a_refused_conversation_is_that_case_s_error_not_the_run_s(
    running: Running, migrated: Settings
) -> None:
    from frontdesk.settings import AbuseSettings

    limits = AbuseSettings(conversations_per_address=1)
    with running(ScriptedProvider(responder=_answer), abuse=limits) as client:
        runs = _play(str(client.base_url))
    results = [result_of(r) for r in runs]
    assert len(results) == len(CASES)
    refused = [r for r in results if r.score.error and "429" in r.score.error]
    assert len(refused) == len(CASES) - 1
    assert all(not r.score.correct for r in refused)
