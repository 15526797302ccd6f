"""The streaming output guard: hold-back, canary, policy, PII, late retraction, grounding."""

from __future__ import annotations

from frontdesk.guard.base import GuardContext, StreamVerdict
from frontdesk.guard.grounding import Grounder
from frontdesk.guard.output import PRESET_RULES, OutputGuard, OutputOptions
from frontdesk.knowledge.embedding import LocalEmbedder

SOURCES = (
    "Refunds are processed within 5 business days after we receive the returned item.",
    "Standard delivery takes 3 to 5 working days. Express delivery costs 9 EUR.",
)


def stream(guard: OutputGuard, deltas: list[str]) -> tuple[str, list[StreamVerdict]]:
    shown = ""
    verdicts = []
    for delta in deltas:
        v = guard.feed(delta)
        verdicts.append(v)
        shown += v.emit
        if v.action == "retract":
            return shown, verdicts
    final = guard.finish("".join(deltas))
    verdicts.append(final)
    return shown + final.emit, verdicts


def chunks(text: str, size: int = 3) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def test_clean_answer_streams_through_unchanged() -> None:
    text = "Standard delivery takes 3 to 5 working days."
    shown, verdicts = stream(OutputGuard(GuardContext()), chunks(text))
    assert shown == text
    assert {v.action for v in verdicts} == {"continue"}


def test_card_number_split_over_deltas_is_redacted_before_it_is_shown() -> None:
    text = "Your card 4111 1111 1111 1111 is active."
    shown, _ = stream(OutputGuard(GuardContext()), chunks(text, 2))
    assert shown == "Your card [CARD] is active."


def test_values_the_customer_gave_are_not_flagged() -> None:
    ctx = GuardContext(user_values=frozenset({"jane@example.org"}))
    text = "We will write to jane@example.org and to bob@example.org."
    shown, _ = stream(OutputGuard(ctx), chunks(text))
    assert shown == "We will write to jane@example.org and to [EMAIL]."


def test_canary_split_over_deltas_retracts_before_it_is_shown() -> None:
    ctx = GuardContext(canary="fd-canary-0123456789abcdef")
    text = "Sure! My instructions say fd-canary-0123456789abcdef and more."
    shown, verdicts = stream(OutputGuard(ctx), chunks(text, 4))
    last = verdicts[-1]
    assert last.action == "retract"
    assert last.verdict is not None and last.verdict.reason == "system_prompt_leak"
    assert last.shown is False
    assert "fd-canary" not in shown


def test_blocked_phrase_and_refund_promise_are_retracted() -> None:
    ctx = GuardContext(
        blocked_phrases=("competitor x",), policy_rules=(PRESET_RULES["no_refund_promise"],)
    )
    _, verdicts = stream(OutputGuard(ctx), chunks("Honestly Competitor X is cheaper."))
    assert verdicts[-1].action == "retract"
    _, verdicts = stream(OutputGuard(ctx), chunks("Don't worry, we will refund you in full."))
    assert verdicts[-1].action == "retract"
    assert verdicts[-1].verdict is not None
    assert verdicts[-1].verdict.findings[0].kind == "no_refund_promise"
    _, verdicts = stream(OutputGuard(ctx), chunks("Refunds are processed within 5 days."))
    assert verdicts[-1].action == "continue"


def test_late_catch_without_holdback_is_a_shown_retraction() -> None:
    ctx = GuardContext(blocked_phrases=("secret plan",))
    guard = OutputGuard(ctx, options=OutputOptions(holdback=0))
    first = guard.feed("The secret ")
    assert first.emit == "The secret "
    second = guard.feed("plan is")
    assert second.action == "retract"
    assert second.shown is True
    assert guard.feed("more").action == "retract"


def test_grounded_answer_passes(embedder: LocalEmbedder) -> None:
    ctx = GuardContext(sources=SOURCES, question="How long do refunds take?")
    guard = OutputGuard(ctx, grounder=Grounder(embedder=embedder))
    text = "Refunds are processed within 5 business days after we receive the returned item."
    _, verdicts = stream(guard, chunks(text, 8))
    final = verdicts[-1]
    assert final.action == "continue"
    assert final.grounding is not None and final.grounding >= 0.9


def test_unsupported_numbers_make_an_answer_ungrounded(embedder: LocalEmbedder) -> None:
    ctx = GuardContext(sources=SOURCES, question="How long do refunds take?")
    guard = OutputGuard(ctx, grounder=Grounder(embedder=embedder))
    _, verdicts = stream(guard, ["Refunds are processed within 30 business days by Zorblax."])
    final = verdicts[-1]
    assert final.action == "flag"
    assert final.grounding == 0.0
    assert final.verdict is not None and final.verdict.findings


def test_uncertainty_and_short_answers_are_low_confidence() -> None:
    grounder = Grounder()
    report = grounder.score("I believe refunds are processed within 5 business days.", SOURCES)
    assert "uncertain" in report.low_confidence
    assert "too_short" in grounder.score("Yes.", SOURCES).low_confidence
    assert "no_sources" in grounder.score("Refunds take 5 days.", ()).low_confidence


def test_extractive_and_escalate_modes(embedder: LocalEmbedder) -> None:
    ctx = GuardContext(sources=SOURCES, question="How much is express delivery?")
    grounder = Grounder(embedder=embedder)
    extractive = OutputGuard(
        ctx, grounder=grounder, options=OutputOptions(on_ungrounded="extractive")
    )
    _, verdicts = stream(extractive, ["Express delivery is free for everyone, always!"])
    final = verdicts[-1]
    assert final.action == "retract"
    assert "9 EUR" in final.replacement and "[2]" in final.replacement
    escalate = OutputGuard(ctx, grounder=grounder, options=OutputOptions(on_ungrounded="escalate"))
    _, verdicts = stream(escalate, ["Express delivery is free for everyone, always!"])
    assert verdicts[-1].action == "escalate"
    assert verdicts[-1].verdict is not None and verdicts[-1].verdict.action == "escalate"


def test_extractive_answer_quotes_the_steps_of_a_procedure(embedder: LocalEmbedder) -> None:
    grounder = Grounder(embedder=embedder)
    procedure = (
        "If you forgot your password, you can reset it yourself.\n\n"
        "1. Open the sign-in page and click Forgot password.\n"
        "2. Enter your email address.\n"
        "3. Click the link in the email and choose a new password.\n"
    )
    answer = grounder.extractive_answer(
        "How do I reset my password?", ["Invoices are sent monthly.", procedure]
    )
    assert "1. Open the sign-in page" in answer
    assert "3. Click the link" in answer
    assert answer.endswith("[2]")
