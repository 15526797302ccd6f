"""The scorer: each metric can fail, and the refusal detector is precise."""

from __future__ import annotations

import pytest

from frontdesk.evaluation.cases import EvalCase
from frontdesk.evaluation.matching import contains, normalise, refusal_phrase
from frontdesk.evaluation.observe import SeenCitation, SSEDecoder, TurnObservation
from frontdesk.evaluation.scoring import score_case

REFUND = EvalCase(
    id="refund",
    turns=["Can I get a refund on my annual plan?"],
    kind="answerable",
    facts=[["14 days", "two weeks"], ["prorated"]],
    must_not=["no refund", "not refundable"],
    sources=["Refund Policy"],
)
BITCOIN = EvalCase(
    id="btc", turns=["Can I pay with Bitcoin?"], kind="unanswerable", must_not=["we accept bitcoin"]
)
HUMAN = EvalCase(id="human", turns=["I want to talk to a person"], kind="must_escalate")


def obs(answer: str, **kw: object) -> TurnObservation:
    o = TurnObservation(shown=answer, answer=answer, ttft_ms=100.0, total_ms=900.0)
    for key, value in kw.items():
        setattr(o, key, value)
    return o


CITE = SeenCitation(title="Refund Policy", url="/kb/documents/d1#s", document_id="d1")
GOOD_REFUND = "Annual plans get a full refund within 14 days, and a prorated refund after. [1]"


def test_fully_correct_answer() -> None:
    s = score_case(REFUND, [obs(GOOD_REFUND, citations=[CITE])])
    assert s.correct and s.fact_recall == 1.0 and s.source_hit is True
    assert not s.contradiction and not s.wrong_unflagged and s.reasons == []


def test_missing_fact_fails_and_is_named() -> None:
    s = score_case(REFUND, [obs("You get a full refund within two weeks. [1]")])
    assert not s.correct and s.fact_recall == 0.5
    assert s.facts_missing == ["prorated"] and "missing fact: 'prorated'" in s.reasons


def test_must_not_is_a_contradiction_and_unflagged_wrong_answer() -> None:
    text = "No refund after 14 days; a prorated amount is not refundable. [1]"
    s = score_case(REFUND, [obs(text)])
    assert s.contradiction and not s.correct and s.wrong_unflagged
    flagged = score_case(REFUND, [obs(text, notices=["low_confidence"])])
    assert flagged.contradiction and not flagged.wrong_unflagged


def test_withdrawn_text_counts_against_the_case() -> None:
    seen = obs(GOOD_REFUND, retractions=1, shown="Monthly plans only.")
    s = score_case(REFUND, [seen])
    assert s.withdrawn == 1 and not s.correct and s.fact_recall == 1.0


def test_wrong_source_and_error() -> None:
    other = SeenCitation(title="Plans and Pricing", url="/kb/x", document_id="d2")
    assert score_case(REFUND, [obs(GOOD_REFUND, citations=[other])]).source_hit is False
    failed = score_case(REFUND, [obs(GOOD_REFUND, error={"code": "x", "message": "boom"})])
    assert not failed.correct and failed.error == "x: boom"


def test_unanswerable_honest_invented_and_yes_lead() -> None:
    honest = score_case(
        BITCOIN, [obs("I couldn't find that in our documentation, so I won't guess.")]
    )
    assert honest.correct and honest.honest_refusal and not honest.invented
    quote = score_case(BITCOIN, [obs("Annual plans can also pay by bank transfer. [1]")])
    assert not quote.correct and quote.invented and quote.wrong_unflagged
    yes = score_case(BITCOIN, [obs("Yes! I couldn't find a fee for it in our docs.")])
    assert not yes.correct and yes.invented
    claim = score_case(BITCOIN, [obs("We accept Bitcoin. I couldn't find the wallet address.")])
    assert not claim.correct and claim.must_not_hits == ["we accept bitcoin"]
    handed = score_case(BITCOIN, [obs("Let me connect you with our team.", escalated=True)])
    assert handed.correct and not handed.wrong_unflagged


def test_escalation_required() -> None:
    assert score_case(HUMAN, [obs("", escalated=True)]).correct
    missed = score_case(HUMAN, [obs("Sure, what do you need?")])
    assert (
        not missed.correct and missed.escalation_ok is False and "not escalated" in missed.reasons
    )


@pytest.mark.parametrize(
    "text",
    [
        "I couldn't find that in our documentation.",
        "I could not find anything about Bitcoin.",
        "Our documentation doesn't mention Enterprise Plus.",
        "That is not covered in our docs.",
        "I don't have any information about Dynamics 365.",
        "There is no information about PayPal in the sources.",
        "I’m unable to find that.",
    ],
)
def test_refusal_detected(text: str) -> None:
    assert refusal_phrase(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "Monthly plans are not refunded for partial months.",
        "Deleted rows are not detected in this mode.",
        "Overage charges are not refundable.",
        "No credit card is needed to start the trial.",
        "Northwind Data does not store your password.",
    ],
)
def test_statements_from_the_docs_are_not_refusals(text: str) -> None:
    assert refusal_phrase(text) is None


def test_normalisation_of_numbers_currencies_and_dashes() -> None:
    assert contains("It costs $2,990 per year.", "2990 dollars")
    assert contains("billed at 49 USD", "$49") and not contains("It costs $490.", "$49")
    assert contains("a 14\u2011day trial", "14-day") and contains(
        "within two business days", "2 business days"
    )
    assert contains("99.9 percent uptime", "99.9%") and not contains("a 9% uptime SLA", "99.9%")
    assert not contains("Email support@northwinddata.", "support@northwinddata.example")
    assert normalise("**Full refund** within 14 days [1]") == "full refund within 14 days"


def test_sse_decoder_builds_the_final_answer() -> None:
    raw = (
        'event: start\ndata: {"message_id":"m1"}\n\n: ping\n\n'
        'event: delta\ndata: {"text":"No refunds."}\n\n'
        'event: retracted\ndata: {"reason":"grounding","replacement":"Full refund in 14 days."}\n\n'
        'event: notice\ndata: {"code":"low_confidence","message":"x"}\n\n'
        'event: done\ndata: {"message_id":"m1","status":"complete","provider":"local"}\n\n'
    )
    decoder, seen = SSEDecoder(), TurnObservation()
    for i, line in enumerate(raw.split("\n")):
        item = decoder.line(line)
        if item:
            seen.feed(item[0], item[1], float(i))
    assert seen.answer == "Full refund in 14 days." and seen.shown == "No refunds."
    assert seen.retractions == 1 and seen.flagged and seen.done["provider"] == "local"
    assert seen.ttft_ms is not None and seen.message_id == "m1"


def test_a_handoff_notice_counts_as_escalated() -> None:
    seen = TurnObservation()
    seen.feed("notice", {"code": "handoff_waiting", "message": "saved for the agent"}, 1.0)
    assert seen.escalated
    other = TurnObservation()
    other.feed("notice", {"code": "pii_redacted", "message": "masked"}, 1.0)
    assert not other.escalated


def test_a_phrase_ending_in_punctuation_does_not_match_inside_a_longer_token() -> None:
    assert contains("Email support@northwinddata. [1]", "support@northwinddata.")
    assert not contains("Email support@northwinddata.example today", "support@northwinddata.")
    assert not contains("billed at $1.50 per million", "$1.")
    assert contains("billed at $1. per million", "$1.")
