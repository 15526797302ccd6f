from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from frontdesk.domain import ChatMessage, Usage
from frontdesk.errors import (
    AllProvidersFailed,
    ContentFiltered,
    ProviderAuthFailed,
    ProviderError,
    ProviderUnavailable,
)
from frontdesk.events import AttemptEvent, CallReport, ProviderEvent, TextDelta, UsageReport
from frontdesk.providers.base import ChatProvider, ChatRequest
from frontdesk.providers.breaker import Breakered, CircuitBreaker
from frontdesk.providers.fallback import Fallback
from frontdesk.providers.scripted import ScriptedProvider, Step
from tests.providers.streams import Call, call

REQUEST = ChatRequest(messages=[ChatMessage("user", "where is my parcel")], max_output_tokens=50)


def scripted(name: str, *steps: Step, context: int = 4096) -> ScriptedProvider:
    return ScriptedProvider(
        steps=list(steps), provider_name=name, model_name=f"{name}-m", context_length=context
    )


def down(name: str) -> Step:
    return Step(fail_before=ProviderUnavailable("503 from upstream", provider=name, status=503))


Stream = AsyncIterator[ProviderEvent]


async def drain(stream: Stream) -> str:
    return "".join([e.text async for e in stream if isinstance(e, TextDelta)])


async def read_into(stream: Stream, received: list[str]) -> None:
    async for event in stream:
        if isinstance(event, TextDelta):
            received.append(event.text)


async def test_primary_serves_when_healthy() -> None:
    chain = Fallback([scripted("a", Step("from a")), scripted("b", Step("from b"))])
    seen = await call(chain.stream(REQUEST))
    assert seen.text == "from a"
    assert seen.outcomes == [("a", "served", None)]
    assert seen.report is not None and (seen.report.provider, seen.report.model) == ("a", "a-m")


async def test_falls_back_and_records_why() -> None:
    b = scripted("b", down("b"))
    chain = Fallback([scripted("a", down("a")), b, scripted("c", Step("from c"))])
    seen = await call(chain.stream(REQUEST))
    assert seen.text == "from c"
    assert seen.report is not None
    records = [a.as_dict() for a in seen.report.attempts]
    assert [(r["provider"], r["outcome"], r["error_code"]) for r in records] == [
        ("a", "failed", "provider_unavailable"),
        ("b", "failed", "provider_unavailable"),
        ("c", "served", None),
    ]
    assert records[0]["status"] == 503
    assert records[0]["model"] == "a-m"
    assert records[2]["usage"]["output_tokens"] == 2
    assert seen.report.provider == "c"


async def test_an_open_breaker_is_recorded_as_skipped() -> None:
    a = scripted("a", down("a"))
    breaker = CircuitBreaker("a", failure_threshold=1, cooldown=60)
    guarded = Breakered(a, breaker)
    chain = Fallback([guarded, scripted("b", Step("ok"))])
    await drain(chain.stream(REQUEST))  # a fails, opens the breaker
    seen = await call(chain.stream(REQUEST))
    assert seen.text == "ok"
    assert seen.outcomes == [("a", "skipped", "circuit_open"), ("b", "served", None)]
    assert len(a.requests) == 1


async def test_all_failed_carries_every_error() -> None:
    seen = Call()
    auth = ProviderAuthFailed("bad key", provider="b", status=401)
    chain = Fallback([scripted("a", down("a")), scripted("b", Step(fail_before=auth))])
    with pytest.raises(AllProvidersFailed) as info:
        await seen.read(chain.stream(REQUEST))
    assert [type(e) for e in info.value.attempts] == [ProviderUnavailable, ProviderAuthFailed]
    assert "a: provider_unavailable" in str(info.value)
    assert [a.error_code for a in seen.attempts] == ["provider_unavailable", "provider_auth_failed"]
    assert info.value.retryable is False


async def test_no_switch_after_the_first_token() -> None:
    broken = Step("half an ans wer", fail_after_tokens=2)
    backup = scripted("b", Step("never used"))
    seen = Call()
    with pytest.raises(ProviderError, match="mid-stream"):
        await seen.read(Fallback([scripted("a", broken), backup]).stream(REQUEST))
    assert seen.text == "half an "
    assert backup.requests == []
    assert seen.outcomes == [("a", "served", None)]


async def test_content_filter_does_not_fall_back() -> None:
    flagged = ContentFiltered("blocked by safety", provider="a")
    backup = scripted("b", Step("routed around"))
    with pytest.raises(ContentFiltered):
        await drain(Fallback([scripted("a", Step(fail_before=flagged)), backup]).stream(REQUEST))
    assert backup.requests == []


async def test_skips_a_provider_whose_window_is_too_small() -> None:
    tiny = scripted("tiny", Step("never"), context=20)
    seen = await call(Fallback([tiny, scripted("big", Step("fits"))]).stream(REQUEST))
    assert seen.text == "fits"
    assert seen.outcomes[0] == ("tiny", "skipped", "context_too_long")
    assert tiny.requests == []


async def test_usage_of_the_serving_provider_is_recorded() -> None:
    stream = Fallback([scripted("a", Step("one two three"))]).stream(REQUEST)
    events = [e async for e in stream]
    reported = [e.usage for e in events if isinstance(e, UsageReport)]
    report = events[-1]
    assert isinstance(report, CallReport)
    served = report.attempts[-1]
    assert reported == [served.usage] == [report.usage]
    assert served.usage == Usage(served.usage.input_tokens, 3)


async def test_chain_is_a_chat_provider_and_checks_readiness() -> None:
    chain: ChatProvider = Fallback([scripted("a"), scripted("b")])
    assert isinstance(chain, ChatProvider)
    assert (chain.name, chain.model) == ("a", "a-m")
    await chain.check()
    with pytest.raises(ValueError, match="at least one"):
        Fallback([])


async def test_closing_early_closes_the_serving_stream() -> None:
    stream = Fallback([scripted("a", Step("a b c d"))]).stream(REQUEST)
    served = await anext(stream)
    assert isinstance(served, AttemptEvent)
    assert (served.provider, served.outcome) == ("a", "served")
    first = await anext(stream)
    assert isinstance(first, TextDelta)
    await stream.aclose()
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


async def test_the_chain_describes_itself_in_attempt_events_and_one_report() -> None:
    chain = Fallback(
        [
            scripted("tiny", Step("never"), context=4),
            scripted("a", down("a")),
            scripted("b", Step("from b")),
        ]
    )
    events = [e async for e in chain.stream(REQUEST)]
    kinds = [type(e).__name__ for e in events]
    assert kinds == [
        "AttemptEvent",
        "AttemptEvent",
        "AttemptEvent",
        "TextDelta",
        "TextDelta",
        "UsageReport",
        "Finish",
        "CallReport",
    ]  # the inner providers' own reports are folded in, not passed on
    skipped, failed, served = events[:3]
    assert isinstance(skipped, AttemptEvent) and isinstance(failed, AttemptEvent)
    assert (skipped.provider, skipped.outcome, skipped.error_code) == (
        "tiny",
        "skipped",
        "context_too_long",
    )
    assert (failed.provider, failed.outcome, failed.status) == ("a", "failed", 503)
    assert isinstance(served, AttemptEvent)
    assert (served.provider, served.outcome) == ("b", "served")
    report = events[-1]
    assert isinstance(report, CallReport)
    assert (report.provider, report.model) == ("b", "b-m")
    assert [(a.provider, a.outcome) for a in report.attempts] == [
        ("tiny", "skipped"),
        ("a", "failed"),
        ("b", "served"),
    ]
    usage = events[5]
    assert isinstance(usage, UsageReport)
    assert report.usage == usage.usage == report.attempts[-1].usage
    assert report.ttft_ms is not None and 0 <= report.ttft_ms <= report.duration_ms
    assert report.cost is None  # priced by Metered, not by the chain


async def test_every_failure_is_announced_before_all_providers_failed() -> None:
    stream = Fallback([scripted("a", down("a")), scripted("b", down("b"))]).stream(REQUEST)
    seen: list[AttemptEvent] = []
    with pytest.raises(AllProvidersFailed):
        await collect_attempts(stream, seen)
    assert [(a.provider, a.outcome) for a in seen] == [("a", "failed"), ("b", "failed")]


async def collect_attempts(stream: Stream, seen: list[AttemptEvent]) -> None:
    async for event in stream:
        assert isinstance(event, AttemptEvent)
        seen.append(event)


async def test_an_empty_answer_is_served_and_reported() -> None:
    events = [e async for e in Fallback([scripted("a", Step(""))]).stream(REQUEST)]
    assert [type(e).__name__ for e in events] == [
        "UsageReport",
        "Finish",
        "AttemptEvent",
        "CallReport",
    ]
    report = events[-1]
    assert isinstance(report, CallReport)
    assert report.provider == "a" and report.ttft_ms is None  # no token, no time to it
